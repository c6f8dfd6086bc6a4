/* cmd-run.c - `mdrun run`: create, start, and wait in the foreground. */
#include "config.h"

#include "cli.h"
#include "container.h"
#include "create-opts.h"

static const char help[] =
    "Usage: mdrun run [OPTIONS] CONTAINER-ID\n"
    "\n"
    "Create and start a container and wait for it: mdrun forwards signals to it\n"
    "and exits with its exit code (128 + N when killed by signal N), then deletes it.\n"
    "\n"
    "Options:\n" MD_CREATE_OPTIONS_HELP
    "  -d, --detach               return once the container runs; do not delete it\n"
    "  -h, --help                 print this help\n";

int cmd_run(const struct md_globals *g, int argc, char **argv)
{
    struct md_create_opts opts = {.root = g->root, .cgroup_manager = g->cgroup_manager};
    bool detach = false;
    int rc = md_create_opts_parse(argc, argv, &opts, true, &detach);
    if (rc >= 0)
        return rc == 2 ? cli_help(help) : rc;
    md_error err = {0};
    int code = 0;
    if (md_container_run(&opts, detach, &code, &err) < 0)
        return cli_fail(&err);
    return code;
}
