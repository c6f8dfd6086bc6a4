/* cmd-exec.c - `mdrun exec`: run one more process in a running container. */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"

static const char help[] =
    "Usage: mdrun exec [OPTIONS] CONTAINER-ID COMMAND [ARG...]\n"
    "       mdrun exec [OPTIONS] --process FILE CONTAINER-ID\n"
    "\n"
    "Run a process in a running container, in all of its namespaces and its cgroup.\n"
    "Its defaults come from the container's config (env, cwd, user, capabilities,\n"
    "rlimits, noNewPrivileges, apparmorProfile); the options below override them.\n"
    "In the foreground mdrun forwards signals and exits with the process's exit\n"
    "code (128 + N when killed by signal N); 255 when mdrun itself fails.\n"
    "\n"
    "Options:\n"
    "  -p, --process FILE         the process as a JSON object (process.json)\n"
    "  -t, --tty                  give the process a terminal\n"
    "      --console-socket PATH  send the terminal's master to this AF_UNIX socket\n"
    "  -d, --detach               return once the process runs\n"
    "      --pid-file FILE        write the process's pid to FILE\n"
    "      --preserve-fds N       pass N more fds (3 .. 3+N-1) to the process\n"
    "  -e, --env NAME=VALUE       set an environment variable (repeatable)\n"
    "      --cwd DIR              the working directory in the container\n"
    "  -u, --user UID[:GID]       the user (and group) ids to run as\n"
    "  -g, --additional-gids GID  add a supplementary group (repeatable)\n"
    "  -c, --cap CAP              add a capability, e.g. CAP_NET_ADMIN (repeatable)\n"
    "      --no-new-privs         set no_new_privs for the process\n"
    "      --apparmor PROFILE     the AppArmor profile to run under\n"
    "      --process-label LABEL  the SELinux label to run under\n"
    "  -h, --help                 print this help\n";

enum {
    OPT_CONSOLE = 256,
    OPT_PID_FILE,
    OPT_PRESERVE,
    OPT_CWD,
    OPT_NO_NEW_PRIVS,
    OPT_APPARMOR,
    OPT_LABEL,
};

static const struct option options[] = {
    {"process", required_argument, NULL, 'p'},
    {"tty", no_argument, NULL, 't'},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"detach", no_argument, NULL, 'd'},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"env", required_argument, NULL, 'e'},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"user", required_argument, NULL, 'u'},
    {"additional-gids", required_argument, NULL, 'g'},
    {"cap", required_argument, NULL, 'c'},
    {"no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS},
    {"apparmor", required_argument, NULL, OPT_APPARMOR},
    {"process-label", required_argument, NULL, OPT_LABEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Lists of option values, kept until the command ends. */
struct lists {
    char **env, **caps;
    size_t n_env, n_caps;
    uint32_t *gids;
    size_t n_gids;
};

static void lists_free(struct lists *l)
{
    free(l->env);
    free(l->caps);
    free(l->gids);
}

static bool push(char ***v, size_t *n, char *s)
{
    char **grown = realloc(*v, (*n + 1) * sizeof(char *));
    if (!grown)
        return false;
    grown[(*n)++] = s;
    *v = grown;
    return true;
}

/* A decimal id: 0 .. 2^32 - 2 (-1 means "unchanged" to the kernel). */
static bool parse_id(const char *s, const char *end, uint32_t *out)
{
    if (s == end || end - s > 10)
        return false;
    uint64_t v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v >= UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_user(const char *arg, struct md_exec_opts *o)
{
    const char *colon = strchr(arg, ':');
    const char *end = colon ? colon : arg + strlen(arg);
    if (!parse_id(arg, end, &o->uid))
        return false;
    o->has_uid = true;
    if (!colon)
        return true;
    o->has_gid = true;
    return parse_id(colon + 1, colon + 1 + strlen(colon + 1), &o->gid);
}

static bool push_gid(struct lists *l, const char *arg)
{
    uint32_t gid;
    if (!parse_id(arg, arg + strlen(arg), &gid))
        return false;
    uint32_t *grown = realloc(l->gids, (l->n_gids + 1) * sizeof(uint32_t));
    if (!grown)
        return false;
    grown[l->n_gids++] = gid;
    l->gids = grown;
    return true;
}

/* Returns -1 to go on, 2 for --help, or an exit status. */
static int parse_option(int c, char *name, struct md_exec_opts *o, struct lists *l)
{
    switch (c) {
    case 'p':
        o->process_file = optarg;
        return -1;
    case 't':
        o->tty = true;
        return -1;
    case OPT_CONSOLE:
        o->console_socket = optarg;
        return -1;
    case 'd':
        o->detach = true;
        return -1;
    case OPT_PID_FILE:
        o->pid_file = optarg;
        return -1;
    case OPT_PRESERVE: {
        char *end;
        long n = strtol(optarg, &end, 10);
        if (!*optarg || *end || n < 0 || n > 65536)
            return cli_usage_error(name, "--preserve-fds: \"%s\" is not a count", optarg);
        o->preserve_fds = (unsigned)n;
        return -1;
    }
    case 'e':
        return push(&l->env, &l->n_env, optarg) ? -1 : cli_usage_error(name, "out of memory");
    case OPT_CWD:
        o->cwd = optarg;
        return -1;
    case 'u':
        return parse_user(optarg, o)
                   ? -1
                   : cli_usage_error(name, "--user: \"%s\" is not UID[:GID] in numbers", optarg);
    case 'g':
        return push_gid(l, optarg)
                   ? -1
                   : cli_usage_error(name, "--additional-gids: \"%s\" is not a gid", optarg);
    case 'c':
        return push(&l->caps, &l->n_caps, optarg) ? -1 : cli_usage_error(name, "out of memory");
    case OPT_NO_NEW_PRIVS:
        o->no_new_privs = true;
        return -1;
    case OPT_APPARMOR:
        o->apparmor = optarg;
        return -1;
    case OPT_LABEL:
        o->process_label = optarg;
        return -1;
    case 'h':
        return 2;
    default:
        return cli_bad_option(name);
    }
}

static int parse(int argc, char **argv, struct md_exec_opts *o, struct lists *l)
{
    int c;
    /* '+': stop at the container id, so that the command's own options
     * stay the command's. */
    while ((c = getopt_long(argc, argv, "+p:tde:u:g:c:h", options, NULL)) != -1) {
        int rc = parse_option(c, argv[0], o, l);
        if (rc >= 0)
            return rc;
    }
    if (optind >= argc)
        return cli_usage_error(argv[0], "a container id is required");
    o->id = argv[optind];
    bool has_command = optind + 1 < argc;
    if (o->process_file && has_command)
        return cli_usage_error(argv[0], "a command and --process cannot be combined");
    if (!o->process_file && !has_command)
        return cli_usage_error(argv[0], "a command to run is required (or --process FILE)");
    if (has_command)
        o->args = argv + optind + 1; /* argv ends with NULL */
    o->env = l->env;
    o->n_env = l->n_env;
    o->caps = l->caps;
    o->n_caps = l->n_caps;
    o->gids = l->gids;
    o->n_gids = l->n_gids;
    return -1;
}

int cmd_exec(const struct md_globals *g, int argc, char **argv)
{
    struct md_exec_opts opts = {.root = g->root};
    struct lists lists = {0};
    int rc = parse(argc, argv, &opts, &lists);
    if (rc >= 0) {
        lists_free(&lists);
        return rc == 2 ? cli_help(help) : rc;
    }
    md_error err = {0};
    int code = 0;
    if (md_container_exec(&opts, &code, &err) < 0) {
        cli_fail(&err);
        code = 255; /* as runc: apart from the process's own exit codes */
    }
    lists_free(&lists);
    return code;
}
