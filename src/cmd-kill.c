/* cmd-kill.c - `mdrun kill ID [SIGNAL]`. */
#include "config.h"

#include <getopt.h>
#include <signal.h>

#include "cli.h"
#include "container.h"

static const char help[] =
    "Usage: mdrun kill [OPTIONS] CONTAINER-ID [SIGNAL]\n"
    "\n"
    "Send SIGNAL (default SIGTERM) to the container's process: a name with or\n"
    "without SIG (KILL, SIGKILL) or a number (9).\n"
    "\n"
    "Options:\n"
    "  -a, --all     send it to every process of the container\n"
    "  -h, --help    print this help\n";

int cmd_kill(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {
        {"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool all = false;
    int c;
    while ((c = getopt_long(argc, argv, "+ah", options, NULL)) != -1) {
        if (c == 'a')
            all = true;
        else
            return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
    }
    if (optind >= argc || argc - optind > 2)
        return cli_usage_error(argv[0], "usage: CONTAINER-ID [SIGNAL]");
    int sig = SIGTERM;
    if (argc - optind == 2) {
        sig = md_signal_parse(argv[optind + 1]);
        if (sig < 0)
            return cli_usage_error(argv[0], "unknown signal \"%s\"", argv[optind + 1]);
    }
    md_error err = {0};
    if (md_container_kill(g->root, argv[optind], sig, all, &err) < 0)
        return cli_fail(&err);
    return 0;
}
