/* cmd-resume.c - `mdrun resume ID`. */
#include "config.h"

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char help[] = "Usage: mdrun resume CONTAINER-ID\n"
                           "\n"
                           "Thaw a paused container.\n";

int cmd_resume(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1)
        return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "exactly one container id is required");
    md_error err = {0};
    if (md_container_resume(g->root, argv[optind], &err) < 0)
        return cli_fail(&err);
    return 0;
}
