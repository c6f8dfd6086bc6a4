/* cli.h - what the mdrun command files share: the global options, the
 * command table and the few helpers that print errors and help. */
#ifndef MD_CLI_H
#define MD_CLI_H

#include <stdbool.h>

#include "mdrun.h"

/* The options given before the command, as runc and crun accept them. */
struct md_globals {
    const char *root;           /* --root: state directory, NULL for the default */
    const char *log_path;       /* --log */
    bool log_json;              /* --log-format json */
    int log_level;              /* --log-level / --debug, an enum md_log_level */
    const char *cgroup_manager; /* --cgroup-manager / --systemd-cgroup, NULL if unset */
    const char *rootless;       /* --rootless true|false|auto, NULL if unset */
};

/* A command gets argv starting at its own name (argv[0] is "mdrun NAME",
 * so getopt's messages read naturally) and returns the exit status. */
typedef int md_command_fn(const struct md_globals *g, int argc, char **argv);

struct md_command {
    const char *name;
    const char *summary;
    md_command_fn *run;
};

md_command_fn cmd_check;
md_command_fn cmd_create;
md_command_fn cmd_delete;
md_command_fn cmd_events;
md_command_fn cmd_exec;
md_command_fn cmd_features;
md_command_fn cmd_kill;
md_command_fn cmd_list;
md_command_fn cmd_pause;
md_command_fn cmd_ps;
md_command_fn cmd_resume;
md_command_fn cmd_run;
md_command_fn cmd_spec;
md_command_fn cmd_start;
md_command_fn cmd_state;
md_command_fn cmd_update;
md_command_fn cmd_validate;

/* Print "mdrun: <message>" (and log it), clear err, return exit status 1. */
int cli_fail(md_error *err);
/* Print every problem, one per line, then a count of the ones dropped;
 * prefixed with "mdrun: " when prefix is true.  Returns 1. */
int cli_fail_all(const md_errors *problems, bool prefix);
/* Print "mdrun NAME: <message>" and a pointer to --help; return 1. */
int cli_usage_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt has printed its complaint: point to --help; return 1. */
int cli_bad_option(const char *name);
/* Print a command's help text to stdout; return 0. */
int cli_help(const char *text);

/* Resolve --bundle (NULL means the current directory) to an absolute
 * path; the caller frees it. */
char *cli_bundle_path(const char *bundle, md_error *err);

#endif
