/* cmd-state.c - `mdrun state ID`: print a container's state as JSON. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "state.h"

static const char help[] = "Usage: mdrun state ID\n"
                           "\n"
                           "Print the state of container ID as JSON: ociVersion, id, pid, status\n"
                           "(creating, created, running or stopped), bundle, rootfs, created,\n"
                           "annotations and owner.\n"
                           "\n"
                           "Options:\n"
                           "  -h, --help  print this help and exit\n";

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_state(const struct md_globals *g, int argc, char **argv)
{
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        return cli_usage_error(argv[0], "unknown option %s", argv[optind - 1]);
    }
    if (argc - optind != 1)
        return cli_usage_error(argv[0], "expects exactly one argument, the container id");
    const char *id = argv[optind];

    md_error err = {0};
    md_autofree char *root = NULL;
    md_autofd rootfd = -1;
    if (md_state_root_open(g->root, false, &root, &rootfd, &err) < 0)
        return cli_fail(&err);
    md_state_info info;
    if (md_state_load(rootfd, id, &info, &err) < 0)
        return cli_fail(&err);
    md_autofree char *json = NULL;
    int rc = md_state_json(&info, &json, NULL, &err);
    md_state_info_free(&info);
    if (rc < 0)
        return cli_fail(&err);
    fputs(json, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
