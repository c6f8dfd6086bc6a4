/* cgroup-v2.c - the cgroupfs driver of the unified hierarchy (cgroup v2).
 *
 * The container's cgroup is a leaf: the controllers its resources need are
 * enabled in cgroup.subtree_control of every ancestor, from the hierarchy
 * root down to its parent, never in the leaf itself, so that the kernel's
 * "no internal processes" rule never gets in the way of the process that
 * is born into it (clone3 CLONE_INTO_CGROUP with cg->v2_fd).
 *
 * Every operation works on cg->v2_fd and cg->path (relative to
 * MD_CGROUP_ROOT) only, so cgroup-systemd.c reuses them for the leaf under
 * its scope. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-bpf.h"
#include "cgroup-internal.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"

/* How long freezing, thawing and emptying may take before we give up. */
#define WAIT_MS 10000

/* The controllers enabled even when the resources do not ask for them, so
 * that `update` and `events --stats` find their files. */
static const char *const basic_controllers[] = {"cpu", "memory", "pids", "io"};

/* -------------------------------------------------------------- files */

/* A file of the cgroup: the message of a missing one says which controller
 * it needs, the only usual reason for it to be missing. */
static int set(int dirfd, const char *file, const char *value, md_error *err)
{
    if (md_cg_write(dirfd, file, value, err) == 0)
        return 0;
    if (err->errnum == ENOENT) {
        int len = (int)strcspn(file, ".");
        return md_failx(err, ENOENT, "cgroup %s: no such file (is the %.*s controller enabled?)",
                        file, len, file);
    }
    return -1;
}

static int set_num(int dirfd, const char *file, int64_t value, md_error *err)
{
    char buf[32];
    if (value < 0)
        snprintf(buf, sizeof(buf), "max");
    else
        snprintf(buf, sizeof(buf), "%" PRId64, value);
    return set(dirfd, file, buf, err);
}

static bool has_file(int dirfd, const char *file)
{
    return faccessat(dirfd, file, F_OK, 0) == 0;
}

/* The number of a "key value" line of a flat keyed file (cgroup.events,
 * memory.events, cpu.stat). */
static bool keyed(const char *text, const char *key, uint64_t *out)
{
    size_t len = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
        if (!strncmp(line, key, len) && line[len] == ' ') {
            *out = strtoull(line + len + 1, NULL, 10);
            return true;
        }
    }
    return false;
}

/* A single-number file; "max" reads as UINT64_MAX.  False when unreadable. */
static bool read_num(int dirfd, const char *file, uint64_t *out)
{
    char buf[64];
    md_error err = {0};
    int r = md_cg_read(dirfd, file, buf, sizeof(buf), &err);
    md_error_clear(&err);
    if (r < 0)
        return false;
    *out = strcmp(buf, "max") ? strtoull(buf, NULL, 10) : UINT64_MAX;
    return true;
}

static bool read_key(int dirfd, const char *file, const char *key, uint64_t *out)
{
    char buf[4096];
    md_error err = {0};
    int r = md_cg_read(dirfd, file, buf, sizeof(buf), &err);
    md_error_clear(&err);
    return r >= 0 && keyed(buf, key, out);
}

/* Whether name is a word of a space-separated list (cgroup.controllers). */
static bool in_list(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        p += strspn(p, " \n");
        size_t n = strcspn(p, " \n");
        if (n == len && !strncmp(p, name, len))
            return true;
        p += n;
    }
    return false;
}

/* ---------------------------------------------------------- controllers */

#define MAX_CONTROLLERS 16

/* The controllers to enable above the leaf; needed ones must be there. */
struct wanted {
    char name[MAX_CONTROLLERS][32];
    bool needed[MAX_CONTROLLERS];
    size_t n;
};

static void want(struct wanted *w, const char *name, size_t len, bool needed)
{
    /* "cgroup.*" files are the core's, no controller's. */
    if (len == 0 || len >= sizeof(w->name[0]) || (len == 6 && !strncmp(name, "cgroup", 6)))
        return;
    for (size_t i = 0; i < w->n; i++) {
        if (strlen(w->name[i]) == len && !strncmp(w->name[i], name, len)) {
            w->needed[i] |= needed;
            return;
        }
    }
    if (w->n == MAX_CONTROLLERS)
        return;
    memcpy(w->name[w->n], name, len);
    w->name[w->n][len] = '\0';
    w->needed[w->n++] = needed;
}

static void want_name(struct wanted *w, const char *name, bool needed)
{
    want(w, name, strlen(name), needed);
}

static bool memory_needed(const md_memory *m)
{
    return m && ((m->has_limit && m->limit) || (m->has_reservation && m->reservation) ||
                 (m->has_swap && m->swap));
}

static bool cpu_needed(const md_cpu *c)
{
    return c && ((c->has_shares && c->shares) || (c->has_quota && c->quota) ||
                 (c->has_period && c->period) || c->has_burst || c->has_idle);
}

static bool io_needed(const md_block_io *b)
{
    return b && ((b->has_weight && b->weight) || b->n_weight_device ||
                 b->n_throttle_read_bps_device || b->n_throttle_write_bps_device ||
                 b->n_throttle_read_iops_device || b->n_throttle_write_iops_device);
}

static void wanted_controllers(const md_resources *r, struct wanted *w)
{
    if (r) {
        if (memory_needed(r->memory))
            want_name(w, "memory", true);
        if (cpu_needed(r->cpu))
            want_name(w, "cpu", true);
        if (r->cpu && (r->cpu->cpus || r->cpu->mems))
            want_name(w, "cpuset", true);
        if (io_needed(r->block_io))
            want_name(w, "io", true);
        if (r->pids && r->pids->has_limit)
            want_name(w, "pids", true);
        if (r->n_hugepage_limits)
            want_name(w, "hugetlb", true);
        if (r->n_rdma)
            want_name(w, "rdma", true);
        for (size_t i = 0; i < r->n_unified; i++)
            want(w, r->unified[i].key, strcspn(r->unified[i].key, "."), true);
    }
    for (size_t i = 0; i < sizeof(basic_controllers) / sizeof(basic_controllers[0]); i++)
        want_name(w, basic_controllers[i], false);
}

/* Enable the wanted controllers in one ancestor (shown as where). */
static int enable_in(int dirfd, const char *where, const struct wanted *w, md_error *err)
{
    char available[512], enabled[512];
    if (md_cg_read(dirfd, "cgroup.controllers", available, sizeof(available), err) < 0 ||
        md_cg_read(dirfd, "cgroup.subtree_control", enabled, sizeof(enabled), err) < 0)
        return md_wrap(err, "cgroup %s", where);
    for (size_t i = 0; i < w->n; i++) {
        const char *name = w->name[i];
        if (in_list(enabled, name, strlen(name)))
            continue;
        if (!in_list(available, name, strlen(name))) {
            if (!w->needed[i])
                continue;
            return md_failx(err, ENOTSUP,
                            "cgroup %s: the %s controller is not available there "
                            "(cgroup.controllers: %s)",
                            where, name, available[0] ? available : "none");
        }
        char op[40];
        snprintf(op, sizeof(op), "+%s", name);
        if (md_cg_write(dirfd, "cgroup.subtree_control", op, err) < 0) {
            if (!w->needed[i]) {
                md_debug("cgroup: %s: %s not enabled: %s", where, name, err->msg);
                md_error_clear(err);
                continue;
            }
            if (err->errnum == EBUSY) /* the no-internal-processes rule */
                return md_failx(err, EBUSY,
                                "cgroup %s: cannot enable the %s controller: the cgroup has "
                                "processes of its own (cgroup.procs)",
                                where, name);
            return md_wrap(err, "cgroup %s: enable the %s controller", where, name);
        }
    }
    return 0;
}

int md_cg_v2_enable(int rootfd, const char *path, const md_resources *r, md_error *err)
{
    struct wanted w = {0};
    wanted_controllers(r, &w);

    md_autofree char *copy = strdup(path);
    md_autofree char *where = malloc(strlen(path) + 2);
    if (!copy || !where)
        return md_fail(err, ENOMEM, "cgroup %s", path);
    strcpy(where, "/");
    md_autofd dirfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return md_fail(err, errno, "cgroup /");

    /* Every component but the last is an ancestor of the leaf. */
    char *save = NULL;
    char *part = strtok_r(copy, "/", &save);
    while (part) {
        char *next = strtok_r(NULL, "/", &save);
        if (enable_in(dirfd, where, &w, err) < 0)
            return -1;
        if (!next)
            break;
        int child = openat(dirfd, part, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (child < 0)
            return md_fail(err, errno, "cgroup %s%s%s", where, where[1] ? "/" : "", part);
        close(dirfd);
        dirfd = child;
        if (where[1])
            strcat(where, "/");
        strcat(where, part);
        part = next;
    }
    return 0;
}

/* ------------------------------------------------------------ memory */

/* swappiness has no v2 file; 60 is the kernel's default, and UINT64_MAX
 * is how a -1 ("leave it") reaches us. */
static void memory_unsupported(const md_memory *m)
{
    if (m->has_swappiness && m->swappiness != 60 && m->swappiness != UINT64_MAX)
        md_warn("cgroup v2 has no memory.swappiness: linux.resources.memory.swappiness %" PRIu64
                " is ignored",
                m->swappiness);
    else if (m->has_swappiness)
        md_debug("cgroup: memory.swappiness ignored on cgroup v2");
    if (m->disable_oom_killer)
        md_warn("cgroup v2 cannot disable the OOM killer: "
                "linux.resources.memory.disableOOMKiller is ignored");
    if ((m->has_kernel && m->kernel) || (m->has_kernel_tcp && m->kernel_tcp))
        md_warn("cgroup v2 has no kernel memory limits: linux.resources.memory.kernel and "
                "kernelTCP are ignored");
}

/* The spec's swap is memory+swap; memory.swap.max is the swap alone. */
static int memory_swap(int dirfd, const md_memory *m, md_error *err)
{
    if (!has_file(dirfd, "memory.swap.max")) {
        if (m->swap != -1)
            md_warn("the kernel does not account swap (no memory.swap.max): "
                    "linux.resources.memory.swap is ignored");
        return 0;
    }
    if (m->swap < 0)
        return set(dirfd, "memory.swap.max", "max", err);
    /* An update of swap alone counts from the limit in place. */
    uint64_t limit = UINT64_MAX;
    if (m->has_limit && m->limit > 0)
        limit = (uint64_t)m->limit;
    else if (!(m->has_limit && m->limit < 0))
        read_num(dirfd, "memory.max", &limit);
    if (limit == UINT64_MAX)
        return md_failx(err, EINVAL,
                        "linux.resources.memory.swap: a swap limit needs a memory limit");
    if ((uint64_t)m->swap < limit)
        return md_failx(err, EINVAL,
                        "linux.resources.memory.swap: memory+swap limit %" PRId64
                        " is below the memory limit %" PRIu64,
                        m->swap, limit);
    return set_num(dirfd, "memory.swap.max", m->swap - (int64_t)limit, err);
}

static int apply_memory(int dirfd, const md_memory *m, md_error *err)
{
    memory_unsupported(m);
    if (m->has_limit && m->limit) {
        uint64_t usage;
        if (m->check_before_update && m->limit > 0 && read_num(dirfd, "memory.current", &usage) &&
            (uint64_t)m->limit < usage)
            return md_failx(err, EBUSY,
                            "linux.resources.memory.limit: %" PRId64
                            " is below the current usage %" PRIu64 " (checkBeforeUpdate)",
                            m->limit, usage);
        if (set_num(dirfd, "memory.max", m->limit, err) < 0)
            return -1;
    }
    if (m->has_reservation && m->reservation &&
        set_num(dirfd, "memory.low", m->reservation, err) < 0)
        return -1;
    if (m->has_swap && m->swap && memory_swap(dirfd, m, err) < 0)
        return -1;
    return 0;
}

/* --------------------------------------------------------------- cpu */

/* cpu.max is "QUOTA PERIOD": a change of one keeps the other. */
static int cpu_max(int dirfd, const md_cpu *c, md_error *err)
{
    char cur[64] = "max 100000";
    md_error ignored = {0};
    if (md_cg_read(dirfd, "cpu.max", cur, sizeof(cur), &ignored) < 0)
        md_error_clear(&ignored);
    char quota[32];
    uint64_t period = 100000;
    if (sscanf(cur, "%31s %" SCNu64, quota, &period) < 1)
        snprintf(quota, sizeof(quota), "max");
    if (c->has_quota && c->quota) {
        if (c->quota < 0)
            snprintf(quota, sizeof(quota), "max");
        else
            snprintf(quota, sizeof(quota), "%" PRId64, c->quota);
    }
    if (c->has_period && c->period)
        period = c->period;
    char value[64];
    snprintf(value, sizeof(value), "%s %" PRIu64, quota, period);
    return set(dirfd, "cpu.max", value, err);
}

static int apply_cpu(int dirfd, const md_cpu *c, md_error *err)
{
    if ((c->has_realtime_runtime && c->realtime_runtime) ||
        (c->has_realtime_period && c->realtime_period))
        return md_failx(err, ENOTSUP,
                        "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                        "real-time scheduling limits");
    if (c->has_shares && c->shares &&
        set_num(dirfd, "cpu.weight", (int64_t)md_cgroup_shares_to_weight(c->shares), err) < 0)
        return -1;
    if (((c->has_quota && c->quota) || (c->has_period && c->period)) && cpu_max(dirfd, c, err) < 0)
        return -1;
    if (c->has_burst && set_num(dirfd, "cpu.max.burst", (int64_t)c->burst, err) < 0)
        return -1;
    if (c->has_idle && set_num(dirfd, "cpu.idle", c->idle, err) < 0)
        return -1;
    if (c->cpus && set(dirfd, "cpuset.cpus", c->cpus, err) < 0)
        return -1;
    if (c->mems && set(dirfd, "cpuset.mems", c->mems, err) < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- io */

/* "default W" or "MAJ:MIN W" into io.weight (io.cost's, 1..10000), or
 * into the BFQ scheduler's io.bfq.weight (blkio's 10..1000, unconverted)
 * when io.weight is missing or the device is not under io.cost. */
static int io_weight(int dirfd, const char *device, uint16_t blkio_weight, md_error *err)
{
    char value[64];
    bool bfq = has_file(dirfd, "io.bfq.weight");
    if (has_file(dirfd, "io.weight") || !bfq) {
        snprintf(value, sizeof(value), "%s %" PRIu64, device,
                 md_cgroup_blkio_to_io_weight(blkio_weight));
        if (set(dirfd, "io.weight", value, err) == 0)
            return 0;
        if (err->errnum != EOPNOTSUPP)
            return -1;
        if (!bfq)
            return md_failx(err, EOPNOTSUPP,
                            "linux.resources.blockIO: a weight for %s needs io.cost enabled for "
                            "the device (%s/io.cost.qos) or the BFQ scheduler",
                            device, MD_CGROUP_ROOT);
        md_error_clear(err);
    }
    snprintf(value, sizeof(value), "%s %u", device, blkio_weight);
    return set(dirfd, "io.bfq.weight", value, err);
}

struct io_limit {
    int64_t major, minor;
    char text[160];
};

/* Add "key=rate" to the line of the device, adding the device if new. */
static int io_add(struct io_limit **limits, size_t *n, const md_throttle_device *d, const char *key,
                  md_error *err)
{
    struct io_limit *l = NULL;
    for (size_t i = 0; i < *n && !l; i++)
        if ((*limits)[i].major == d->major && (*limits)[i].minor == d->minor)
            l = &(*limits)[i];
    if (!l) {
        struct io_limit *grown = realloc(*limits, (*n + 1) * sizeof(*grown));
        if (!grown)
            return md_fail(err, ENOMEM, "io.max");
        *limits = grown;
        l = &grown[(*n)++];
        l->major = d->major;
        l->minor = d->minor;
        snprintf(l->text, sizeof(l->text), "%" PRId64 ":%" PRId64, d->major, d->minor);
    }
    size_t used = strlen(l->text);
    /* A rate of 0 means "no limit", as blkio's throttle files take it. */
    if (d->rate)
        snprintf(l->text + used, sizeof(l->text) - used, " %s=%" PRIu64, key, d->rate);
    else
        snprintf(l->text + used, sizeof(l->text) - used, " %s=max", key);
    return 0;
}

static int io_max(int dirfd, const md_block_io *b, md_error *err)
{
    const struct {
        const md_throttle_device *list;
        size_t n;
        const char *key;
    } lists[] = {
        {b->throttle_read_bps_device, b->n_throttle_read_bps_device, "rbps"},
        {b->throttle_write_bps_device, b->n_throttle_write_bps_device, "wbps"},
        {b->throttle_read_iops_device, b->n_throttle_read_iops_device, "riops"},
        {b->throttle_write_iops_device, b->n_throttle_write_iops_device, "wiops"},
    };
    md_autofree struct io_limit *limits = NULL;
    size_t n = 0;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        for (size_t j = 0; j < lists[i].n; j++)
            if (io_add(&limits, &n, &lists[i].list[j], lists[i].key, err) < 0)
                return -1;
    /* The kernel takes one device per write. */
    for (size_t i = 0; i < n; i++)
        if (set(dirfd, "io.max", limits[i].text, err) < 0)
            return -1;
    return 0;
}

static int apply_io(int dirfd, const md_block_io *b, md_error *err)
{
    if (b->has_leaf_weight)
        md_warn("cgroup v2 has no leaf weight: linux.resources.blockIO.leafWeight is ignored");
    if (b->has_weight && b->weight && io_weight(dirfd, "default", b->weight, err) < 0)
        return -1;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const md_weight_device *d = &b->weight_device[i];
        char device[48];
        snprintf(device, sizeof(device), "%" PRId64 ":%" PRId64, d->major, d->minor);
        if (d->has_weight && io_weight(dirfd, device, d->weight, err) < 0)
            return -1;
    }
    return io_max(dirfd, b, err);
}

/* ------------------------------------------------------ other limits */

static int apply_hugetlb(int dirfd, const md_hugepage_limit *h, size_t n, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!h[i].page_size)
            return md_failx(err, EINVAL, "linux.resources.hugepageLimits[%zu]: no pageSize", i);
        char file[64], rsvd[64];
        snprintf(file, sizeof(file), "hugetlb.%s.max", h[i].page_size);
        snprintf(rsvd, sizeof(rsvd), "hugetlb.%s.rsvd.max", h[i].page_size);
        if (!has_file(dirfd, file))
            return md_failx(err, ENOTSUP,
                            "linux.resources.hugepageLimits[%zu]: page size %s is not supported "
                            "(no %s)",
                            i, h[i].page_size, file);
        if (set_num(dirfd, file, (int64_t)h[i].limit, err) < 0)
            return -1;
        /* Reservations count too, so mmap() fails instead of a fault. */
        if (has_file(dirfd, rsvd) && set_num(dirfd, rsvd, (int64_t)h[i].limit, err) < 0)
            return -1;
    }
    return 0;
}

static int apply_rdma(int dirfd, const md_rdma *r, size_t n, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char value[256];
        int len = snprintf(value, sizeof(value), "%s", r[i].device);
        if (r[i].has_hca_handles)
            len += snprintf(value + len, sizeof(value) - (size_t)len, " hca_handle=%u",
                            r[i].hca_handles);
        if (r[i].has_hca_objects)
            snprintf(value + len, sizeof(value) - (size_t)len, " hca_object=%u", r[i].hca_objects);
        if (set(dirfd, "rdma.max", value, err) < 0)
            return -1;
    }
    return 0;
}

/* Raw keys, written last so they override what was converted; a value of
 * several lines (io.max for two devices) is written a line at a time. */
static int apply_unified(int dirfd, const md_kv *kv, size_t n, md_error *err)
{
    char enabled[512];
    if (n && md_cg_read(dirfd, "cgroup.controllers", enabled, sizeof(enabled), err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *key = kv[i].key;
        size_t len = strcspn(key, ".");
        if (strncmp(key, "cgroup.", 7) && !in_list(enabled, key, len))
            return md_failx(err, ENOTSUP,
                            "linux.resources.unified: \"%s\": the %.*s controller is not "
                            "enabled for this cgroup",
                            key, (int)len, key);
        if (!has_file(dirfd, key))
            return md_failx(err, ENOENT, "linux.resources.unified: \"%s\": no such cgroup file",
                            key);
        md_autofree char *value = strdup(kv[i].value ? kv[i].value : "");
        if (!value)
            return md_fail(err, ENOMEM, "linux.resources.unified");
        char *save = NULL;
        char *line = strtok_r(value, "\n", &save);
        if (!line && md_cg_write(dirfd, key, "", err) < 0)
            return md_wrap(err, "linux.resources.unified");
        for (; line; line = strtok_r(NULL, "\n", &save))
            if (md_cg_write(dirfd, key, line, err) < 0)
                return md_wrap(err, "linux.resources.unified");
    }
    return 0;
}

static int apply_devices(int dirfd, const md_resources *r, md_error *err)
{
    if (md_cgroup_bpf_devices(dirfd, r->devices, r->n_devices, err) == 0)
        return 0;
    /* Without CAP_SYS_ADMIN no device program can be loaded; a rootless
     * container cannot make device nodes anyway, only bind the host's. */
    if (err->errnum == EPERM && geteuid() != 0) {
        md_debug("cgroup: linux.resources.devices not applied (rootless): %s", err->msg);
        md_error_clear(err);
        return 0;
    }
    return md_wrap(err, "linux.resources.devices");
}

int md_cg_v2_apply(int dirfd, const md_resources *r, md_error *err)
{
    if (!r)
        return 0;
    if (r->memory && apply_memory(dirfd, r->memory, err) < 0)
        return -1;
    if (r->cpu && apply_cpu(dirfd, r->cpu, err) < 0)
        return -1;
    if (r->block_io && apply_io(dirfd, r->block_io, err) < 0)
        return -1;
    if (r->pids && r->pids->has_limit && set_num(dirfd, "pids.max", r->pids->limit, err) < 0)
        return -1;
    if (apply_hugetlb(dirfd, r->hugepage_limits, r->n_hugepage_limits, err) < 0 ||
        apply_rdma(dirfd, r->rdma, r->n_rdma, err) < 0)
        return -1;
    if (r->network && (r->network->has_class_id || r->network->n_priorities))
        md_warn("cgroup v2 has no net_cls/net_prio: linux.resources.network is ignored");
    if (apply_unified(dirfd, r->unified, r->n_unified, err) < 0)
        return -1;
    if (r->n_devices && apply_devices(dirfd, r, err) < 0)
        return -1;
    return 0;
}

/* -------------------------------------------------------- delegation */

/* Give the container's root the cgroup (runtime-spec "Cgroup ownership"):
 * the directory and the files /sys/kernel/cgroup/delegate lists. */
int md_cg_v2_delegate(int dirfd, uid_t uid, gid_t gid, md_error *err)
{
    if (fchown(dirfd, uid, gid) < 0)
        return md_fail(err, errno, "cgroup: chown to %u:%u", (unsigned)uid, (unsigned)gid);
    md_autofree char *list = NULL;
    md_error ignored = {0};
    if (md_read_file_at(AT_FDCWD, "/sys/kernel/cgroup/delegate", 65536, &list, NULL, &ignored) <
        0) {
        md_error_clear(&ignored);
        list = strdup("cgroup.procs\ncgroup.subtree_control\ncgroup.threads\n");
        if (!list)
            return md_fail(err, ENOMEM, "cgroup: delegate");
    }
    char *save = NULL;
    for (char *f = strtok_r(list, "\n", &save); f; f = strtok_r(NULL, "\n", &save))
        if (fchownat(dirfd, f, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
            return md_fail(err, errno, "cgroup: chown %s to %u:%u", f, (unsigned)uid,
                           (unsigned)gid);
    return 0;
}

/* ------------------------------------------------------------ driver */

static int v2_check(const struct md_cgroup_request *req, struct md_cgroup_host *host, md_error *err)
{
    (void)host;
    const md_resources *r = req->resources;
    if (!r)
        return 0;
    const md_cpu *c = r->cpu;
    if (c && ((c->has_realtime_runtime && c->realtime_runtime) ||
              (c->has_realtime_period && c->realtime_period)))
        return md_failx(err, ENOTSUP,
                        "linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                        "real-time scheduling limits");
    const md_memory *m = r->memory;
    if (m && m->has_swap && m->swap > 0 && !(m->has_limit && m->limit > 0))
        return md_failx(err, EINVAL,
                        "linux.resources.memory.swap: a swap limit needs a memory limit");

    /* What the hierarchy has at all; what the container's ancestors have
     * is only known when creating. */
    char available[512];
    md_autofd rootfd = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0 ||
        md_cg_read(rootfd, "cgroup.controllers", available, sizeof(available), err) < 0)
        return rootfd < 0 ? md_fail(err, errno, "open %s", MD_CGROUP_ROOT) : -1;
    struct wanted w = {0};
    wanted_controllers(r, &w);
    for (size_t i = 0; i < w.n; i++)
        if (w.needed[i] && !in_list(available, w.name[i], strlen(w.name[i])))
            return md_failx(err, ENOTSUP,
                            "linux.resources: the %s controller is not available on this host "
                            "(%s/cgroup.controllers: %s)",
                            w.name[i], MD_CGROUP_ROOT, available);
    /* The root has no hugetlb.*.max files: ask the kernel's page sizes. */
    for (size_t i = 0; i < r->n_hugepage_limits; i++) {
        if (!r->hugepage_limits[i].page_size)
            continue;
        unsigned long long size = strtoull(r->hugepage_limits[i].page_size, NULL, 10);
        char unit =
            r->hugepage_limits[i].page_size[strspn(r->hugepage_limits[i].page_size, "0123456789")];
        size <<= unit == 'G' ? 20 : unit == 'M' ? 10 : 0;
        char dir[96];
        snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%llukB", size);
        if (access(dir, F_OK) < 0)
            return md_failx(err, ENOTSUP,
                            "linux.resources.hugepageLimits[%zu]: the kernel has no %s pages", i,
                            r->hugepage_limits[i].page_size);
    }
    return 0;
}

static int v2_create(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    md_autofd rootfd = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open %s", MD_CGROUP_ROOT);
    /* On failure cgroup.c calls destroy, which removes what was made. */
    cg->v2_fd = md_cg_mkdirs(rootfd, cg->path, err);
    if (cg->v2_fd < 0)
        return -1;
    md_debug("cgroup: made " MD_CGROUP_ROOT "%s", cg->path);
    if (md_cg_v2_enable(rootfd, cg->path, req->resources, err) < 0)
        return -1;
    if (req->cgroup_ns && req->writable_mount &&
        md_cg_v2_delegate(cg->v2_fd, req->root_uid, req->root_gid, err) < 0) {
        if (!req->rootless)
            return -1;
        md_warn("%s (the container cannot manage its cgroup)", err->msg);
        md_error_clear(err);
    }
    return 0;
}

static int v2_enter(struct md_cgroup *cg, pid_t pid, md_error *err)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    return md_cg_write(cg->v2_fd, "cgroup.procs", buf, err);
}

static int v2_apply(struct md_cgroup *cg, const md_resources *r, md_error *err)
{
    /* `update` may ask for a controller that create did not need. */
    md_autofd rootfd = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open %s", MD_CGROUP_ROOT);
    if (md_cg_v2_enable(rootfd, cg->path, r, err) < 0)
        return -1;
    return md_cg_v2_apply(cg->v2_fd, r, err);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until cgroup.events says "key want".  The kernel flags the file for
 * poll(2) (POLLPRI) on every change; a short timeout covers a missed one. */
static int wait_event(int dirfd, const char *key, uint64_t want, md_error *err)
{
    md_autofd fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "cgroup cgroup.events");
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        char buf[256];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            return md_fail(err, errno, "cgroup cgroup.events");
        buf[n] = '\0';
        uint64_t value;
        if (keyed(buf, key, &value) && value == want)
            return 0;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return md_failx(err, ETIMEDOUT, "cgroup: still not \"%s %" PRIu64 "\" after %d s", key,
                            want, WAIT_MS / 1000);
        struct pollfd p = {.fd = fd, .events = POLLPRI};
        if (poll(&p, 1, left < 100 ? (int)left : 100) < 0 && errno != EINTR)
            return md_fail(err, errno, "poll cgroup.events");
    }
}

static int v2_freeze(struct md_cgroup *cg, bool frozen, md_error *err)
{
    if (md_cg_write(cg->v2_fd, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
        return -1;
    return wait_event(cg->v2_fd, "frozen", frozen, err);
}

static bool v2_is_frozen(struct md_cgroup *cg)
{
    uint64_t frozen;
    return read_key(cg->v2_fd, "cgroup.events", "frozen", &frozen) && frozen == 1;
}

/* Append the processes of dirfd and of every cgroup below it. */
static int collect_pids(int dirfd, pid_t **pids, size_t *n, md_error *err)
{
    md_autofree pid_t *mine = NULL;
    size_t k = 0;
    if (md_cg_read_pids(dirfd, "cgroup.procs", &mine, &k, err) < 0)
        return -1;
    if (k) {
        pid_t *grown = realloc(*pids, (*n + k) * sizeof(pid_t));
        if (!grown)
            return md_fail(err, ENOMEM, "cgroup.procs");
        memcpy(grown + *n, mine, k * sizeof(pid_t));
        *pids = grown;
        *n += k;
    }
    int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    md_autodir d = dup < 0 ? NULL : fdopendir(dup);
    if (!d) {
        if (dup >= 0)
            close(dup);
        return md_fail(err, errno, "cgroup: list children");
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        md_autofd child = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (child < 0) {
            if (errno == ENOENT) /* removed meanwhile */
                continue;
            return md_fail(err, errno, "cgroup: open %s", e->d_name);
        }
        if (collect_pids(child, pids, n, err) < 0)
            return -1;
    }
    return 0;
}

static int v2_pids(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err)
{
    *pids = NULL;
    *n = 0;
    if (collect_pids(cg->v2_fd, pids, n, err) < 0) {
        free(*pids);
        *pids = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* Signal every process, with the cgroup frozen so that none forks a
 * child the list misses (a frozen process gets the signal on thaw). */
static int signal_each(struct md_cgroup *cg, int sig, md_error *err)
{
    bool was_frozen = v2_is_frozen(cg);
    bool froze = false;
    if (!was_frozen) {
        md_error ignored = {0};
        froze = v2_freeze(cg, true, &ignored) == 0;
        if (!froze) {
            md_debug("cgroup: signalling without freezing: %s", ignored.msg);
            md_error_clear(&ignored);
        }
    }
    md_autofree pid_t *pids = NULL;
    size_t n = 0;
    int r = v2_pids(cg, &pids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++)
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            r = md_fail(err, errno, "kill %d", (int)pids[i]);
    if (froze) {
        md_error thaw = {0};
        if (v2_freeze(cg, false, r < 0 ? &thaw : err) < 0 && r == 0)
            r = -1;
        md_error_clear(&thaw);
    }
    return r;
}

static int v2_signal_all(struct md_cgroup *cg, int sig, md_error *err)
{
    if (sig == SIGKILL && has_file(cg->v2_fd, "cgroup.kill"))
        return md_cg_write(cg->v2_fd, "cgroup.kill", "1", err);
    return signal_each(cg, sig, err);
}

static int v2_stats(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err)
{
    (void)err;
    int fd = cg->v2_fd;
    *st = (struct md_cgroup_stats){0};
    read_num(fd, "memory.current", &st->memory_usage);
    read_num(fd, "memory.peak", &st->memory_max_usage);
    read_num(fd, "memory.max", &st->memory_limit); /* "max": UINT64_MAX */
    read_num(fd, "memory.swap.current", &st->memory_swap_usage);
    read_key(fd, "memory.events", "oom_kill", &st->oom_kills);
    char cpu[1024];
    md_error ignored = {0};
    if (md_cg_read(fd, "cpu.stat", cpu, sizeof(cpu), &ignored) == 0) {
        uint64_t v;
        if (keyed(cpu, "usage_usec", &v))
            st->cpu_usage_ns = v * 1000;
        if (keyed(cpu, "user_usec", &v))
            st->cpu_user_ns = v * 1000;
        if (keyed(cpu, "system_usec", &v))
            st->cpu_system_ns = v * 1000;
        keyed(cpu, "nr_throttled", &st->cpu_throttled_periods);
        if (keyed(cpu, "throttled_usec", &v))
            st->cpu_throttled_ns = v * 1000;
    }
    md_error_clear(&ignored);
    read_num(fd, "pids.current", &st->pids_current);
    /* runc reports an unlimited pids.max as 0 */
    if (read_num(fd, "pids.max", &st->pids_limit) && st->pids_limit == UINT64_MAX)
        st->pids_limit = 0;
    return 0;
}

static int v2_oom_fd(struct md_cgroup *cg, md_error *err)
{
    if (!has_file(cg->v2_fd, "memory.events"))
        return md_failx(err, ENOTSUP, "cgroup: no memory.events (memory controller not enabled)");
    md_autofd fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "inotify");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/memory.events", cg->v2_fd);
    if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
        return md_fail(err, errno, "inotify memory.events");
    return md_take_fd(&fd);
}

static int v2_destroy(struct md_cgroup *cg, md_error *err)
{
    if (!cg->path)
        return 0;
    md_autofd rootfd = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open %s", MD_CGROUP_ROOT);
    const char *rel = cg->path + strspn(cg->path, "/");
    if (cg->v2_fd < 0) {
        cg->v2_fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg->v2_fd < 0)
            return errno == ENOENT ? 0 : md_fail(err, errno, "cgroup %s", cg->path);
    }
    uint64_t populated;
    if (read_key(cg->v2_fd, "cgroup.events", "populated", &populated) && populated) {
        if (v2_signal_all(cg, SIGKILL, err) < 0 || wait_event(cg->v2_fd, "populated", 0, err) < 0)
            return md_wrap(err, "cgroup %s: kill its processes", cg->path);
    }
    return md_cg_rmdirs(rootfd, cg->path, err);
}

const struct md_cg_driver md_cg_v2_driver = {
    .name = "cgroupfs (v2)",
    .check = v2_check,
    .create = v2_create,
    .enter = v2_enter,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .pids = v2_pids,
    .signal_all = v2_signal_all,
    .stats = v2_stats,
    .oom_fd = v2_oom_fd,
    .destroy = v2_destroy,
};
