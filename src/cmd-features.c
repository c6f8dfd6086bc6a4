/* cmd-features.c - `mdrun features`: print the runtime-spec Features
 * structure. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "features.h"

static const char help[] =
    "Usage: mdrun features\n"
    "\n"
    "Print, as JSON, the OCI runtime-spec features this build of mdrun implements:\n"
    "the config.json versions it accepts and each capability it supports.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit\n";

int cmd_features(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
        if (c == 'h')
            return cli_help(help);
        return cli_usage_error(argv[0], "unknown option %s", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);

    md_error err = {0};
    md_autofree char *json = NULL;
    size_t len = 0;
    if (md_features_json(&json, &len, &err) < 0)
        return cli_fail(&err);
    if (fwrite(json, 1, len, stdout) != len || fflush(stdout) != 0) {
        md_fail(&err, errno, "write to standard output");
        return cli_fail(&err);
    }
    return 0;
}
