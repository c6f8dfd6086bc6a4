/* cmd-create.c - `mdrun create` and the options it shares with `run`. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"
#include "create-opts.h"

static const char help[] =
    "Usage: mdrun create [OPTIONS] CONTAINER-ID\n"
    "\n"
    "Create a container from a bundle: its process waits for `mdrun start`.\n"
    "\n"
    "Options:\n" MD_CREATE_OPTIONS_HELP "  -h, --help                 print this help\n";

int cmd_create(const struct md_globals *g, int argc, char **argv)
{
    struct md_create_opts opts = {.root = g->root, .cgroup_manager = g->cgroup_manager};
    int rc = md_create_opts_parse(argc, argv, &opts, false, NULL);
    if (rc >= 0)
        return rc == 2 ? cli_help(help) : rc;
    md_error err = {0};
    if (md_container_create(&opts, NULL, &err) < 0)
        return cli_fail(&err);
    return 0;
}
