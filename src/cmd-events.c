/* cmd-events.c - `mdrun events [--stats] [--interval T] ID`. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "container.h"

static const char help[] =
    "Usage: mdrun events [OPTIONS] CONTAINER-ID\n"
    "\n"
    "Print the container's events as JSON lines: its resource usage (\"stats\")\n"
    "every interval and an \"oom\" event for every process the kernel's OOM\n"
    "killer ends in it, until the container exits.\n"
    "\n"
    "Options:\n"
    "      --stats          print the usage once and exit\n"
    "      --interval T     seconds between stats (default 5; also 500ms, 2s, 1m)\n"
    "  -h, --help           print this help\n";

/* "5", "5s", "500ms", "1m" -> milliseconds; 0 when invalid. */
static unsigned parse_interval(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || v <= 0)
        return 0;
    double ms = strcmp(end, "ms") == 0                    ? v
                : (strcmp(end, "s") == 0 || *end == '\0') ? v * 1000
                : strcmp(end, "m") == 0                   ? v * 60000
                                                          : -1;
    return ms >= 1 && ms < 86400000.0 ? (unsigned)ms : 0;
}

int cmd_events(const struct md_globals *g, int argc, char **argv)
{
    enum { OPT_STATS = 256, OPT_INTERVAL };
    static const struct option options[] = {{"stats", no_argument, NULL, OPT_STATS},
                                            {"interval", required_argument, NULL, OPT_INTERVAL},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    bool once = false;
    unsigned interval = 5000;
    int c;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (c == OPT_STATS) {
            once = true;
        } else if (c == OPT_INTERVAL) {
            interval = parse_interval(optarg);
            if (!interval)
                return cli_usage_error(argv[0], "--interval: \"%s\" is not a duration", optarg);
        } else {
            return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "exactly one container id is required");
    md_error err = {0};
    if (md_container_events(g->root, argv[optind], once, interval, stdout, &err) < 0)
        return cli_fail(&err);
    return 0;
}
