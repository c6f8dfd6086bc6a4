/* cmd-update.c - `mdrun update [OPTIONS] ID`: change a running container's
 * resource limits, from a linux.resources JSON file or runc's flags. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "container.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "spec.h"

static const char help[] =
    "Usage: mdrun update [OPTIONS] CONTAINER-ID\n"
    "\n"
    "Change the resource limits of a running container.  Sizes take a k, m or g\n"
    "suffix; -1 means unlimited where the kernel allows it.\n"
    "\n"
    "Options:\n"
    "  -r, --resources FILE       a linux.resources object as JSON (- for stdin)\n"
    "      --memory N             memory limit\n"
    "      --memory-reservation N soft memory limit\n"
    "      --memory-swap N        memory + swap limit\n"
    "      --kernel-memory N      (cgroup v1 kernels that still have it)\n"
    "      --kernel-memory-tcp N\n"
    "      --cpu-shares N         relative CPU weight\n"
    "      --cpu-quota N          microseconds per period (-1: no limit)\n"
    "      --cpu-period N         period in microseconds\n"
    "      --cpu-rt-runtime N     realtime microseconds per period\n"
    "      --cpu-rt-period N\n"
    "      --cpuset-cpus LIST     e.g. 0-2,4\n"
    "      --cpuset-mems LIST\n"
    "      --pids-limit N         most tasks at once (-1: no limit)\n"
    "      --blkio-weight N       10..1000\n"
    "  -h, --help                 print this help\n";

enum {
    OPT_MEMORY = 256,
    OPT_MEMORY_RESERVATION,
    OPT_MEMORY_SWAP,
    OPT_KERNEL_MEMORY,
    OPT_KERNEL_TCP,
    OPT_CPU_SHARES,
    OPT_CPU_QUOTA,
    OPT_CPU_PERIOD,
    OPT_CPU_RT_RUNTIME,
    OPT_CPU_RT_PERIOD,
    OPT_CPUSET_CPUS,
    OPT_CPUSET_MEMS,
    OPT_PIDS_LIMIT,
    OPT_BLKIO_WEIGHT,
};

static const struct option options[] = {
    {"resources", required_argument, NULL, 'r'},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
    {"kernel-memory", required_argument, NULL, OPT_KERNEL_MEMORY},
    {"kernel-memory-tcp", required_argument, NULL, OPT_KERNEL_TCP},
    {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
    {"cpu-share", required_argument, NULL, OPT_CPU_SHARES},
    {"cpu-quota", required_argument, NULL, OPT_CPU_QUOTA},
    {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
    {"cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME},
    {"cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD},
    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
    {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
    {"blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* A number with an optional k/m/g (binary) suffix; -1 allowed. */
static bool parse_size(const char *text, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || errno)
        return false;
    long long mult = 1;
    switch (tolower((unsigned char)*end)) {
    case 'k':
        mult = 1LL << 10;
        break;
    case 'm':
        mult = 1LL << 20;
        break;
    case 'g':
        mult = 1LL << 30;
        break;
    case '\0':
        break;
    default:
        return false;
    }
    if (*end && end[1] && !(tolower((unsigned char)end[1]) == 'b' && !end[2]))
        return false;
    if (v < -1 || (v > 0 && v > INT64_MAX / mult))
        return false;
    *out = v < 0 ? v : v * mult;
    return true;
}

static md_resources *load_file(const char *path, md_error *err)
{
    md_autofree char *text = NULL;
    size_t len = 0;
    const char *from = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
    if (md_read_file_at(AT_FDCWD, from, MD_JSON_MAX_BYTES, &text, &len, err) < 0)
        return NULL;
    md_resources *r = NULL;
    md_errors problems = {0};
    const char *slash = strrchr(path, '/');
    if (md_resources_load_string(text, len, slash ? slash + 1 : path, &r, &problems) < 0) {
        md_failx(err, EINVAL, "%s", problems.n ? problems.msgs[0] : "invalid resources");
        md_errors_clear(&problems);
        md_resources_free(r);
        return NULL;
    }
    return r;
}

/* The objects a flag writes into, made on first use. */
static md_memory *memory(md_resources *r)
{
    return r->memory ? r->memory : (r->memory = calloc(1, sizeof(md_memory)));
}

static md_cpu *cpu(md_resources *r)
{
    return r->cpu ? r->cpu : (r->cpu = calloc(1, sizeof(md_cpu)));
}

/* Apply one flag to r; false when its value is not valid. */
static bool set_flag(md_resources *r, int opt, const char *value)
{
    int64_t n = 0;
    bool is_list = opt == OPT_CPUSET_CPUS || opt == OPT_CPUSET_MEMS;
    if (!is_list && !parse_size(value, &n))
        return false;
    md_memory *m = opt <= OPT_KERNEL_TCP ? memory(r) : NULL;
    md_cpu *c = opt >= OPT_CPU_SHARES && opt <= OPT_CPUSET_MEMS ? cpu(r) : NULL;
    if ((opt <= OPT_KERNEL_TCP && !m) || (opt >= OPT_CPU_SHARES && opt <= OPT_CPUSET_MEMS && !c))
        return false;
    switch (opt) {
    case OPT_MEMORY:
        m->has_limit = true, m->limit = n;
        break;
    case OPT_MEMORY_RESERVATION:
        m->has_reservation = true, m->reservation = n;
        break;
    case OPT_MEMORY_SWAP:
        m->has_swap = true, m->swap = n;
        break;
    case OPT_KERNEL_MEMORY:
        m->has_kernel = true, m->kernel = n;
        break;
    case OPT_KERNEL_TCP:
        m->has_kernel_tcp = true, m->kernel_tcp = n;
        break;
    case OPT_CPU_SHARES:
        c->has_shares = n >= 0, c->shares = (uint64_t)n;
        return n >= 0;
    case OPT_CPU_QUOTA:
        c->has_quota = true, c->quota = n;
        break;
    case OPT_CPU_PERIOD:
        c->has_period = n >= 0, c->period = (uint64_t)n;
        return n >= 0;
    case OPT_CPU_RT_RUNTIME:
        c->has_realtime_runtime = true, c->realtime_runtime = n;
        break;
    case OPT_CPU_RT_PERIOD:
        c->has_realtime_period = n >= 0, c->realtime_period = (uint64_t)n;
        return n >= 0;
    case OPT_CPUSET_CPUS:
        free(c->cpus);
        return (c->cpus = strdup(value)) != NULL;
    case OPT_CPUSET_MEMS:
        free(c->mems);
        return (c->mems = strdup(value)) != NULL;
    case OPT_PIDS_LIMIT:
        if (!r->pids && !(r->pids = calloc(1, sizeof(md_pids))))
            return false;
        r->pids->has_limit = true, r->pids->limit = n;
        break;
    case OPT_BLKIO_WEIGHT:
        if (n < 0 || n > UINT16_MAX ||
            (!r->block_io && !(r->block_io = calloc(1, sizeof(md_block_io)))))
            return false;
        r->block_io->has_weight = true, r->block_io->weight = (uint16_t)n;
        break;
    }
    return true;
}

int cmd_update(const struct md_globals *g, int argc, char **argv)
{
    const char *file = NULL;
    md_resources *flags = calloc(1, sizeof(md_resources));
    if (!flags)
        return 1;
    int c, rc = -1;
    while (rc < 0 && (c = getopt_long(argc, argv, "+r:h", options, NULL)) != -1) {
        if (c == 'r')
            file = optarg;
        else if (c == 'h')
            rc = cli_help(help);
        else if (c == '?')
            rc = cli_bad_option(argv[0]);
        else if (!set_flag(flags, c, optarg))
            rc = cli_usage_error(argv[0], "invalid value \"%s\"", optarg);
    }
    if (rc < 0 && optind != argc - 1)
        rc = cli_usage_error(argv[0], "exactly one container id is required");
    md_error err = {0};
    md_resources *changes = NULL;
    if (rc < 0 && file) {
        changes = load_file(file, &err);
        if (!changes)
            rc = cli_fail(&err);
    }
    if (rc < 0) {
        /* Flags win over the file, as with runc. */
        if (changes)
            md_resources_merge(changes, flags);
        rc = md_container_update(g->root, argv[optind], changes ? changes : flags, &err) < 0
                 ? cli_fail(&err)
                 : 0;
    }
    md_resources_free(changes);
    md_resources_free(flags);
    return rc;
}
