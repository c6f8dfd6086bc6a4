/* cmd-spec.c - `mdrun spec`: write a default config.json into a bundle. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "fileio.h"

static const char help[] =
    "Usage: mdrun spec [--bundle DIR] [--rootless]\n"
    "\n"
    "Write a default config.json into DIR (the current directory by default).\n"
    "An existing config.json is never overwritten.\n"
    "\n"
    "Options:\n"
    "  -b, --bundle DIR  write DIR/config.json\n"
    "      --rootless    make it for the calling unprivileged user: a user namespace\n"
    "                    mapping the container's root to you, the host's network\n"
    "                    and /sys, no cgroup resources\n"
    "  -h, --help        print this help and exit\n";

/* Create dir/config.json, failing if it exists: O_EXCL makes the check and
 * the creation one step, so two runs cannot both write it. */
static int write_config(const char *dir, const char *json, size_t len, md_error *err)
{
    md_autofd dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return md_fail(err, errno, "bundle %s", dir);
    md_autofd fd = openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
        return md_fail(err, 0, "config.json already exists in %s", dir);
    if (fd < 0)
        return md_fail(err, errno, "create %s/config.json", dir);
    if (md_write_all(fd, json, len) < 0 || close(md_take_fd(&fd)) < 0) {
        int saved = errno;
        /* Ours since O_EXCL: do not leave half a config behind. */
        unlinkat(dfd, "config.json", 0);
        return md_fail(err, saved, "write %s/config.json", dir);
    }
    return 0;
}

int cmd_spec(const struct md_globals *g, int argc, char **argv)
{
    enum { OPT_ROOTLESS = 256 };
    static const struct option options[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"rootless", no_argument, NULL, OPT_ROOTLESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bundle = NULL;
    /* Only this flag decides; the global --rootless is about how mdrun
     * itself runs, not about the config it writes. */
    bool rootless = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:b:h", options, NULL)) != -1) {
        switch (c) {
        case 'b':
            bundle = optarg;
            break;
        case OPT_ROOTLESS:
            rootless = true;
            break;
        case 'h':
            return cli_help(help);
        case ':':
            return cli_usage_error(argv[0], "option %s needs an argument", argv[optind - 1]);
        default:
            return cli_usage_error(argv[0], "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);

    md_error err = {0};
    md_autofree char *dir = cli_bundle_path(bundle, &err);
    if (!dir)
        return cli_fail(&err);
    md_spec *spec = md_spec_default(rootless);
    if (!spec) {
        md_fail(&err, ENOMEM, "default config");
        return cli_fail(&err);
    }
    md_autofree char *json = NULL;
    size_t len = 0;
    int rc = md_spec_to_json(spec, &json, &len, &err);
    md_spec_free(spec);
    if (rc < 0 || write_config(dir, json, len, &err) < 0)
        return cli_fail(&err);
    return 0;
}
