/* main.c - mdrun's global options and command dispatch. */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "features.h"
#include "log.h"
#include "protect.h"

/* Only commands that work are listed: one that is not built yet does not
 * appear at all. */
static const struct md_command commands[] = {
    {"check", "check what this host gives containers, with a fix for each problem", cmd_check},
    {"create", "create a container; its process waits for start", cmd_create},
    {"delete", "delete a container and what create made for it", cmd_delete},
    {"events", "print a container's resource usage and OOM events", cmd_events},
    {"exec", "run a process in a running container", cmd_exec},
    {"features", "print the features this runtime implements, as JSON", cmd_features},
    {"kill", "send a signal to a container", cmd_kill},
    {"list", "list the containers", cmd_list},
    {"pause", "freeze every process of a container", cmd_pause},
    {"ps", "list the processes of a container", cmd_ps},
    {"resume", "thaw a paused container", cmd_resume},
    {"run", "create and start a container, and wait for it", cmd_run},
    {"spec", "write a default config.json", cmd_spec},
    {"start", "start a created container", cmd_start},
    {"state", "print the state of a container", cmd_state},
    {"update", "change the resource limits of a container", cmd_update},
    {"validate", "check a bundle's config.json and rootfs", cmd_validate},
};

static void usage(FILE *out)
{
    fputs("Usage: mdrun [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "mdrun is a rootless-first OCI container runtime.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Global options:\n"
          "  --root DIR              state directory (default: /run/mdrun as root,\n"
          "                          $XDG_RUNTIME_DIR/mdrun otherwise)\n"
          "  --log FILE              also write diagnostics to FILE\n"
          "  --log-format text|json  format of the --log file (default text)\n"
          "  --log-level LEVEL       error, warning, info or debug (default warning)\n"
          "  --debug                 same as --log-level debug\n"
          "  --cgroup-manager M      cgroupfs, systemd or disabled\n"
          "  --systemd-cgroup        same as --cgroup-manager systemd\n"
          "  --rootless true|false|auto\n"
          "                          accepted for compatibility with runc\n"
          "  -v, --version           print the version and exit\n"
          "  -h, --help              print this help and exit\n"
          "\n"
          "Run 'mdrun COMMAND --help' for the options of a command.\n",
          out);
}

static void version(void)
{
    printf("mdrun version %s\nspec: %s\n%s\n", md_version(), md_oci_version(),
           md_compiled_features());
}

enum {
    OPT_ROOT = 256,
    OPT_LOG,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    OPT_DEBUG,
    OPT_CGROUP_MANAGER,
    OPT_SYSTEMD_CGROUP,
    OPT_ROOTLESS
};

static const struct option global_options[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"log", required_argument, NULL, OPT_LOG},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"cgroup-manager", required_argument, NULL, OPT_CGROUP_MANAGER},
    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP},
    {"rootless", required_argument, NULL, OPT_ROOTLESS},
    {"version", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int global_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int global_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mdrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'mdrun --help'.\n", stderr);
    va_end(ap);
    return 1;
}

static bool one_of(const char *value, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(value, *allowed) == 0)
            return true;
    return false;
}

/* Parse the options before the command; returns -1 to go on, or an exit
 * status. */
static int parse_globals(int argc, char **argv, struct md_globals *g)
{
    static const char *const formats[] = {"text", "json", NULL};
    static const char *const managers[] = {"cgroupfs", "systemd", "disabled", NULL};
    static const char *const rootless[] = {"true", "false", "auto", NULL};
    int c;
    opterr = 0;
    /* '+': stop at the command name; its options are its own. */
    while ((c = getopt_long(argc, argv, "+vh", global_options, NULL)) != -1) {
        switch (c) {
        case OPT_ROOT:
            g->root = optarg;
            break;
        case OPT_LOG:
            g->log_path = optarg;
            break;
        case OPT_LOG_FORMAT:
            if (!one_of(optarg, formats))
                return global_error("--log-format: \"%s\" is not text or json", optarg);
            g->log_json = strcmp(optarg, "json") == 0;
            break;
        case OPT_LOG_LEVEL:
            g->log_level = md_log_level_parse(optarg);
            if (g->log_level < 0)
                return global_error("--log-level: unknown level \"%s\"", optarg);
            break;
        case OPT_DEBUG:
            g->log_level = MD_LOG_DEBUG;
            break;
        case OPT_CGROUP_MANAGER:
            if (!one_of(optarg, managers))
                return global_error("--cgroup-manager: \"%s\" is not cgroupfs, systemd or disabled",
                                    optarg);
            g->cgroup_manager = optarg;
            break;
        case OPT_SYSTEMD_CGROUP:
            g->cgroup_manager = "systemd";
            break;
        case OPT_ROOTLESS:
            if (!one_of(optarg, rootless))
                return global_error("--rootless: \"%s\" is not true, false or auto", optarg);
            g->rootless = optarg;
            break;
        case 'v':
            version();
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return global_error("unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    return -1;
}

/* The commands that start a process in a container run from a sealed copy
 * of the mdrun binary (protect.h): the container must never reach the
 * host's file through /proc/PID/exe. */
static bool starts_container(const char *name)
{
    static const char *const names[] = {"create", "run", "exec", NULL};
    return one_of(name, names);
}

int main(int argc, char **argv)
{
    struct md_globals g = {.log_level = MD_LOG_WARNING};
    int rc = parse_globals(argc, argv, &g);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        fputs("mdrun: no command given\n", stderr);
        usage(stderr);
        return 1;
    }

    md_error err = {0};
    if (md_log_setup(g.log_path, g.log_json, (enum md_log_level)g.log_level, &err) < 0)
        return cli_fail(&err);

    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        /* Before anything else: the re-execution starts main() again. */
        if (starts_container(name) && md_protect_exe(argv, &err) < 0)
            return cli_fail(&err);
        /* argv[0] of the command reads "mdrun NAME" in getopt messages. */
        char label[64];
        snprintf(label, sizeof(label), "mdrun %s", name);
        int cmd_argc = argc - optind;
        char **cmd_argv = argv + optind;
        cmd_argv[0] = label;
        optind = 0; /* glibc: restart getopt for the command's own options */
        opterr = 1; /* and let it name a bad option itself */
        rc = commands[i].run(&g, cmd_argc, cmd_argv);
        md_log_close();
        return rc;
    }
    fprintf(stderr, "mdrun: unknown command \"%s\"\nTry 'mdrun --help'.\n", name);
    return 1;
}
