/* cmd-delete.c - `mdrun delete [--force] ID`. */
#include "config.h"

#include <getopt.h>

#include "cli.h"
#include "container.h"

static const char help[] =
    "Usage: mdrun delete [OPTIONS] CONTAINER-ID\n"
    "\n"
    "Delete a created or stopped container and everything create made for it;\n"
    "the poststop hooks run.\n"
    "\n"
    "Options:\n"
    "  -f, --force   kill a running container first; no error when it does not exist\n"
    "  -h, --help    print this help\n";

int cmd_delete(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {
        {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool force = false;
    int c;
    while ((c = getopt_long(argc, argv, "+fh", options, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else
            return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
    }
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "exactly one container id is required");
    md_error err = {0};
    if (md_container_delete(g->root, argv[optind], force, &err) < 0)
        return cli_fail(&err);
    return 0;
}
