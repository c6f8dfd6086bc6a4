/* cmd-validate.c - mdrun validate: check a bundle without running it. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "validate.h"

static const char usage[] = "Usage: mdrun validate [--bundle DIR]\n"
                            "\n"
                            "Check a bundle's config.json and root filesystem as create and run\n"
                            "would, without starting anything.  Prints \"ok\", or every problem\n"
                            "found, one per line, and exits 1.\n"
                            "\n"
                            "Options:\n"
                            "  -b, --bundle DIR  the bundle directory (default: the current one)\n"
                            "  -h, --help        show this help\n";

int cmd_validate(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bundle = ".";
    int c;
    (void)g;
    opterr = 1; /* let getopt name the bad option; main() turns it off for its own */
    while ((c = getopt_long(argc, argv, "b:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            bundle = optarg;
            break;
        case 'h':
            return cli_help(usage);
        default:
            /* getopt has already said what was wrong. */
            return cli_usage_error(argv[0], "invalid option");
        }
    }
    if (optind < argc)
        return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);

    md_errors problems = {0};
    md_spec *spec = NULL;
    if (md_bundle_load(bundle, &spec, &problems) < 0) {
        cli_fail_all(&problems, false);
        md_errors_clear(&problems);
        return 1;
    }
    md_spec_free(spec);
    puts("ok");
    return 0;
}
