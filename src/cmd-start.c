/* cmd-start.c - `mdrun start ID`: run the created container's program. */
#include "config.h"

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char help[] = "Usage: mdrun start CONTAINER-ID\n"
                           "\n"
                           "Start a created container: its process execs the program of\n"
                           "config.json, and the poststart hooks run.\n";

int cmd_start(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1)
        return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "exactly one container id is required");
    md_error err = {0};
    if (md_container_start(g->root, argv[optind], &err) < 0)
        return cli_fail(&err);
    return 0;
}
