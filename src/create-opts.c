/* create-opts.c - parsing the options `create` and `run` share. */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "create-opts.h"

enum {
    OPT_CONSOLE = 256,
    OPT_PID_FILE,
    OPT_PRESERVE,
    OPT_NO_PIVOT,
    OPT_NO_KEYRING,
    OPT_KEEP,
    OPT_NO_SUBREAPER,
    OPT_NET
};

static const struct option options[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"console-socket", required_argument, NULL, OPT_CONSOLE},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE},
    {"no-pivot", no_argument, NULL, OPT_NO_PIVOT},
    {"no-new-keyring", no_argument, NULL, OPT_NO_KEYRING},
    {"detach", no_argument, NULL, 'd'},
    {"keep", no_argument, NULL, OPT_KEEP},
    {"no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER},
    {"net", required_argument, NULL, OPT_NET},
    {"publish", required_argument, NULL, 'p'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The --publish values, pointing into argv; static, so that they live
 * (and are not a leak) as long as the command. */
static char **publish;

int md_create_opts_parse(int argc, char **argv, struct md_create_opts *opts, bool run, bool *detach)
{
    free(publish);
    publish = calloc((size_t)argc, sizeof(char *));
    if (!publish)
        return cli_usage_error(argv[0], "out of memory");
    opts->publish = publish;
    opts->n_publish = 0;
    int c;
    while ((c = getopt_long(argc, argv, run ? "b:dp:h" : "b:p:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            opts->bundle = optarg;
            break;
        case OPT_CONSOLE:
            opts->console_socket = optarg;
            break;
        case OPT_PID_FILE:
            opts->pid_file = optarg;
            break;
        case OPT_PRESERVE: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 0 || n > 65536)
                return cli_usage_error(argv[0], "--preserve-fds: \"%s\" is not a count", optarg);
            opts->preserve_fds = (unsigned)n;
            break;
        }
        case OPT_NO_PIVOT:
            opts->no_pivot = true;
            break;
        case OPT_NO_KEYRING:
            opts->no_new_keyring = true;
            break;
        case 'd':
            if (!run)
                return cli_usage_error(argv[0], "-d: only `mdrun run` detaches");
            *detach = true;
            break;
        case OPT_NET:
            opts->net = optarg;
            break;
        case 'p':
            publish[opts->n_publish++] = optarg;
            break;
        case OPT_KEEP:
        case OPT_NO_SUBREAPER:
            /* runc's options with nothing to do here: accepted. */
            break;
        case 'h':
            return 2;
        default:
            return cli_bad_option(argv[0]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(argv[0], optind >= argc ? "a container id is required"
                                                       : "only one container id is allowed");
    opts->id = argv[optind];
    return -1;
}
