/* cmd-check.c - `mdrun check`: can this user run containers here, and if
 * not, what fixes it. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cleanup.h"
#include "cli.h"
#include "error.h"

static const char help[] =
    "Usage: mdrun check [--format text|json]\n"
    "\n"
    "Check what running containers needs from this host, for the calling user:\n"
    "user namespaces (and the sysctls that restrict them), newuidmap and newgidmap,\n"
    "the subordinate ids of /etc/subuid and /etc/subgid, the cgroup layout and\n"
    "what is delegated, a systemd user session, seccomp, openat2, slirp4netns and\n"
    "the state root (--root, else the default).  Prints one line per check:\n"
    "\"ok\", \"warning\" or \"error\", the check, what was found and, for a\n"
    "problem, the command that fixes it.  As root, says what applies to root.\n"
    "\n"
    "Exits 0 when `mdrun run` has what it needs (warnings name what some bundles\n"
    "or options lack), 1 when something is missing.\n"
    "\n"
    "Options:\n"
    "  -f, --format FORMAT  text (default) or json\n"
    "  -h, --help           print this help and exit\n";

static int parse_args(int argc, char **argv, bool *json)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0)
                return cli_usage_error(argv[0], "--format: \"%s\" is not text or json", optarg);
            *json = strcmp(optarg, "json") == 0;
            break;
        case 'h':
            cli_help(help);
            return 0;
        default:
            return cli_bad_option(argv[0]);
        }
    }
    if (optind < argc)
        return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);
    return -1;
}

static void print_text(const struct md_check_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct md_check_item *it = &r->items[i];
        printf("%-7s %s: %s%s%s\n", md_check_level_name(it->level), it->name, it->msg,
               it->fix ? "; fix: " : "", it->fix ? it->fix : "");
    }
}

int cmd_check(const struct md_globals *g, int argc, char **argv)
{
    bool json = false;
    int rc = parse_args(argc, argv, &json);
    if (rc >= 0)
        return rc;

    struct md_check_env env;
    md_check_env_current(&env);
    env.root_override = g->root;
    env.need_systemd = g->cgroup_manager && strcmp(g->cgroup_manager, "systemd") == 0;

    md_error err = {0};
    struct md_check_report report;
    if (md_check_run(&env, &report, &err) < 0)
        return cli_fail(&err);
    bool ok = md_check_report_ok(&report);
    if (json) {
        md_autofree char *text = NULL;
        size_t len = 0;
        if (md_check_report_json(&env, &report, &text, &len, &err) < 0) {
            md_check_report_free(&report);
            return cli_fail(&err);
        }
        fwrite(text, 1, len, stdout);
    } else {
        print_text(&report);
    }
    md_check_report_free(&report);
    if (fflush(stdout) != 0) {
        md_fail(&err, errno, "write to standard output");
        return cli_fail(&err);
    }
    return ok ? 0 : 1;
}
