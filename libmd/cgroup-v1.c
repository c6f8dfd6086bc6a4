/* cgroup-v1.c - the cgroup v1 driver, for v1 hosts and for hybrid ones
 * (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified).
 *
 * As runc does, the container gets a directory in every hierarchy mounted
 * under /sys/fs/cgroup: each controller's, the named ones (name=systemd)
 * and, on a hybrid host, the unified one, so that /proc/PID/cgroup names
 * the container's cgroup on every line.  Resources go to the v1
 * controllers; the unified directory only holds the processes (and gives
 * kill --all its cgroup.kill).
 *
 * Each hierarchy is known by its directory under /sys/fs/cgroup ("memory",
 * "cpu,cpuacct", "systemd", "unified"); cg->paths maps it to the
 * container's cgroup there, relative to what is mounted (the mount's root
 * is usually the hierarchy's root, but not inside another container).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"

#define MAX_HIER 32

struct hier {
    char name[64];   /* directory under /sys/fs/cgroup */
    char ctrls[160]; /* as /proc/self/cgroup lists them; "" for the unified one */
    char root[512];  /* the hierarchy's cgroup mounted there, "/" normally */
};

struct md_cg_hiers {
    struct hier h[MAX_HIER];
    size_t n;
};

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

/* ------------------------------------------------------ the hierarchies */

/* mountinfo writes a space as \040 and so on. */
static void unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

/* Whether word is a subsystem name in /proc/cgroups. */
static bool is_subsys(const char *subsys, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = subsys; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, word, len) == 0 && (p[len] == '\t' || p[len] == ' '))
            return true;
    }
    return false;
}

/* The controllers of a cgroup v1 mount, from its superblock options. */
static void mount_ctrls(const char *subsys, char *opts, char *out, size_t size)
{
    out[0] = '\0';
    char *save = NULL;
    for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (strncmp(o, "name=", 5) != 0 && !is_subsys(subsys, o))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", used ? "," : "", o);
    }
}

/* One line of mountinfo: a hierarchy mounted directly under
 * /sys/fs/cgroup, added to hs. */
static void scan_line(char *line, const char *subsys, struct md_cg_hiers *hs)
{
    char *f[64];
    size_t n = 0, sep = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " ", &save); w && n < 64; w = strtok_r(NULL, " ", &save)) {
        if (strcmp(w, "-") == 0 && !sep)
            sep = n;
        f[n++] = w;
    }
    if (!sep || sep < 6 || n < sep + 4 || hs->n == MAX_HIER)
        return;
    const char *type = f[sep + 1], *prefix = MD_CGROUP_ROOT "/";
    char *mnt = f[4];
    unescape(mnt);
    if (strncmp(mnt, prefix, strlen(prefix)) != 0 || strchr(mnt + strlen(prefix), '/'))
        return;
    struct hier h = {0};
    if (strcmp(type, "cgroup2") == 0) {
        if (strcmp(mnt, MD_CGROUP_UNIFIED) != 0)
            return;
    } else if (strcmp(type, "cgroup") == 0) {
        mount_ctrls(subsys, f[sep + 3], h.ctrls, sizeof(h.ctrls));
        if (!h.ctrls[0])
            return;
    } else {
        return;
    }
    unescape(f[3]);
    snprintf(h.name, sizeof(h.name), "%s", mnt + strlen(prefix));
    snprintf(h.root, sizeof(h.root), "%s", f[3]);
    for (size_t i = 0; i < hs->n; i++) {
        if (strcmp(hs->h[i].ctrls, h.ctrls) == 0)
            return; /* the same hierarchy twice */
    }
    hs->h[hs->n++] = h;
}

/* The hierarchies, scanned on the host's first call and kept there. */
static const struct md_cg_hiers *scan(struct md_cgroup_host *host, md_error *err)
{
    if (host->hiers)
        return host->hiers;
    md_autofree char *subsys = NULL, *info = NULL;
    if (md_read_file_at(AT_FDCWD, "/proc/cgroups", 1 << 20, &subsys, NULL, err) < 0 ||
        md_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16 << 20, &info, NULL, err) < 0)
        return NULL;
    struct md_cg_hiers *hs = calloc(1, sizeof(*hs));
    if (!hs) {
        md_fail(err, ENOMEM, "cgroup hierarchies");
        return NULL;
    }
    char *save = NULL;
    for (char *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        scan_line(line, subsys, hs);
    return host->hiers = hs;
}

static bool has_ctrl(const struct hier *h, const char *ctrl)
{
    if (strcmp(ctrl, "unified") == 0)
        return !h->ctrls[0];
    size_t len = strlen(ctrl);
    for (const char *p = h->ctrls; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, ctrl, n) == 0)
            return true;
        p += comma ? n + 1 : n;
    }
    return false;
}

static const struct hier *find(const struct md_cg_hiers *hs, const char *ctrl)
{
    for (size_t i = 0; i < hs->n; i++) {
        if (has_ctrl(&hs->h[i], ctrl))
            return &hs->h[i];
    }
    return NULL;
}

/* Whether the hierarchy's mounted root has file: what the kernel offers. */
static bool root_has(const struct hier *h, const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), MD_CGROUP_ROOT "/%s/%s", h->name, file);
    return access(path, F_OK) == 0;
}

/* The container's cgroup in h; NULL when it has none there (a create that
 * stopped half way).  Records from before cg->paths existed use cg->path. */
static const char *hier_path(const struct md_cgroup *cg, const struct hier *h)
{
    if (cg->n_paths)
        return md_kv_get(cg->paths, cg->n_paths, h->name);
    return cg->path;
}

static int open_mount(const struct hier *h, md_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), MD_CGROUP_ROOT "/%s", h->name);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : md_fail(err, errno, "open %s", path);
}

/* An O_DIRECTORY fd of the container's cgroup in h. */
static int hier_open(const struct md_cgroup *cg, const struct hier *h, md_error *err)
{
    const char *path = hier_path(cg, h);
    if (!path)
        return md_failx(err, ENOENT, "the container has no cgroup in " MD_CGROUP_ROOT "/%s",
                        h->name);
    md_autofd mfd = open_mount(h, err);
    if (mfd < 0)
        return -1;
    const char *rel = path + strspn(path, "/");
    int fd = openat(mfd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : md_fail(err, errno, "open cgroup " MD_CGROUP_ROOT "/%s%s", h->name, path);
}

static int ctrl_open(const struct md_cgroup *cg, const struct md_cg_hiers *hs, const char *ctrl,
                     md_error *err)
{
    const struct hier *h = find(hs, ctrl);
    if (!h)
        return md_failx(err, ENOENT, "no %s cgroup controller is mounted on this host", ctrl);
    return hier_open(cg, h, err);
}

/* Our own cgroup in h, relative to what is mounted of it. */
static char *own_rel(struct md_cgroup_host *host, const struct hier *h, md_error *err)
{
    char first[64];
    snprintf(first, sizeof(first), "%.*s", (int)strcspn(h->ctrls, ","), h->ctrls);
    md_autofree char *own = md_cg_host_own_path(host, first[0] ? first : NULL, err);
    if (!own)
        return NULL;
    size_t len = strcmp(h->root, "/") == 0 ? 0 : strlen(h->root);
    if (len && (strncmp(own, h->root, len) != 0 || (own[len] && own[len] != '/'))) {
        md_failx(err, EINVAL,
                 "our %s cgroup %s is outside the part mounted at " MD_CGROUP_ROOT "/%s (%s)",
                 h->name, own, h->name, h->root);
        return NULL;
    }
    char *rel = strdup(own[len] ? own + len : "/");
    if (!rel)
        md_fail(err, ENOMEM, "cgroup path");
    return rel;
}

/* The container's cgroup in h, from linux.cgroupsPath. */
static char *place(const struct md_cgroup_request *req, struct md_cgroup_host *host,
                   const struct hier *h, md_error *err)
{
    md_autofree char *base = NULL;
    bool relative = !req->cgroups_path || req->cgroups_path[0] != '/';
    if (relative && !(base = own_rel(host, h, err)))
        return NULL;
    char *path = NULL;
    md_cg_path_resolve(req->cgroups_path, req->id, base, &path, err);
    return path;
}

/* ------------------------------------------------------------- checking */

static bool memory_asked(const md_memory *m)
{
    return m &&
           (m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
            m->has_kernel_tcp || m->has_swappiness || m->disable_oom_killer || m->use_hierarchy);
}

static bool cpu_asked(const md_cpu *c)
{
    return c && (c->has_shares || c->has_quota || c->has_burst || c->has_period ||
                 c->has_realtime_runtime || c->has_realtime_period || c->has_idle);
}

static bool cpuset_asked(const md_cpu *c)
{
    return c && ((c->cpus && *c->cpus) || (c->mems && *c->mems));
}

static bool blkio_asked(const md_block_io *b)
{
    return b && (b->has_weight || b->has_leaf_weight || b->n_weight_device ||
                 b->n_throttle_read_bps_device || b->n_throttle_write_bps_device ||
                 b->n_throttle_read_iops_device || b->n_throttle_write_iops_device);
}

/* The hierarchy of ctrl, or NULL with a message naming what needs it. */
static const struct hier *need(const struct md_cg_hiers *hs, const char *ctrl, const char *what,
                               md_error *err)
{
    const struct hier *h = find(hs, ctrl);
    if (!h)
        md_failx(err, ENOTSUP,
                 "linux.resources.%s: no %s cgroup controller is mounted on this host", what, ctrl);
    return h;
}

static int check_memory(const struct md_cg_hiers *hs, const md_memory *m, md_error *err)
{
    const struct hier *h = memory_asked(m) ? need(hs, "memory", "memory", err) : NULL;
    if (memory_asked(m) && !h)
        return -1;
    if (h && m->has_swap && m->swap != -1 && !root_has(h, "memory.memsw.limit_in_bytes"))
        return md_failx(err, ENOTSUP,
                        "linux.resources.memory.swap: this kernel does not account swap (no "
                        "memory.memsw.limit_in_bytes; boot it with swapaccount=1), so the "
                        "memory+swap limit cannot be set");
    return 0;
}

static int check_cpu(const struct md_cg_hiers *hs, const md_cpu *c, md_error *err)
{
    if (cpuset_asked(c) && !need(hs, "cpuset", "cpu.cpus", err))
        return -1;
    if (!cpu_asked(c))
        return 0;
    const struct hier *h = need(hs, "cpu", "cpu", err);
    if (!h)
        return -1;
    if (c->has_burst && !root_has(h, "cpu.cfs_burst_us"))
        return md_failx(err, ENOTSUP,
                        "linux.resources.cpu.burst: this kernel has no "
                        "cpu.cfs_burst_us (Linux 5.14 or later has)");
    if (c->has_idle && !root_has(h, "cpu.idle"))
        return md_failx(err, ENOTSUP,
                        "linux.resources.cpu.idle: this kernel has no cpu.idle "
                        "(Linux 5.15 or later has)");
    if ((c->has_realtime_runtime || c->has_realtime_period) && !root_has(h, "cpu.rt_runtime_us"))
        return md_failx(err, ENOTSUP,
                        "linux.resources.cpu.realtimeRuntime: this kernel has no real-time "
                        "group scheduling (cpu.rt_runtime_us, CONFIG_RT_GROUP_SCHED)");
    return 0;
}

static int check_blkio(const struct md_cg_hiers *hs, const md_block_io *b, md_error *err)
{
    const struct hier *h = blkio_asked(b) ? need(hs, "blkio", "blockIO", err) : NULL;
    if (!h)
        return blkio_asked(b) ? -1 : 0;
    bool leaf = b->has_leaf_weight;
    for (size_t i = 0; i < b->n_weight_device; i++)
        leaf = leaf || b->weight_device[i].has_leaf_weight;
    /* cfq had blkio.weight (on the root too); bfq's weight files are only
     * in child cgroups, its statistics show it is there. */
    bool weights = root_has(h, "blkio.weight") || root_has(h, "blkio.bfq.io_service_bytes");
    if ((b->has_weight || b->n_weight_device) && !weights)
        return md_failx(err, ENOTSUP,
                        "linux.resources.blockIO: this kernel has no proportional block I/O "
                        "weights (neither blkio.weight of cfq nor blkio.bfq.weight of bfq)");
    if (leaf && !root_has(h, "blkio.leaf_weight"))
        return md_failx(err, ENOTSUP,
                        "linux.resources.blockIO.leafWeight: this kernel has no leaf weights "
                        "(blkio.leaf_weight went with the cfq scheduler)");
    return 0;
}

static int check_hugetlb(const struct md_cg_hiers *hs, const md_resources *r, md_error *err)
{
    if (r->n_hugepage_limits == 0)
        return 0;
    const struct hier *h = need(hs, "hugetlb", "hugepageLimits", err);
    if (!h)
        return -1;
    for (size_t i = 0; i < r->n_hugepage_limits; i++) {
        char file[128];
        const char *size = r->hugepage_limits[i].page_size;
        snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", size ? size : "");
        if (!size || !root_has(h, file))
            return md_failx(err, ENOTSUP,
                            "linux.resources.hugepageLimits[%zu].pageSize: this host has no "
                            "huge page size \"%s\" (no %s)",
                            i, size ? size : "", file);
    }
    return 0;
}

static int v1_check(const struct md_cgroup_request *req, struct md_cgroup_host *host, md_error *err)
{
    const md_resources *r = req->resources;
    if (!r)
        return 0;
    if (r->n_unified)
        return md_failx(err, ENOTSUP,
                        "linux.resources.unified needs cgroup v2: this host has cgroup v1 "
                        "controllers");
    const struct md_cg_hiers *hs = scan(host, err);
    if (!hs || check_memory(hs, r->memory, err) < 0 || check_cpu(hs, r->cpu, err) < 0 ||
        check_blkio(hs, r->block_io, err) < 0 || check_hugetlb(hs, r, err) < 0)
        return -1;
    const md_network *net = r->network;
    if ((r->pids && r->pids->has_limit && !need(hs, "pids", "pids", err)) ||
        (net && net->has_class_id && !need(hs, "net_cls", "network.classID", err)) ||
        (net && net->n_priorities && !need(hs, "net_prio", "network.priorities", err)) ||
        (r->n_rdma && !need(hs, "rdma", "rdma", err)) ||
        (r->n_devices && !req->rootless && !need(hs, "devices", "devices", err)))
        return -1;
    return 0;
}

/* ------------------------------------------------------------- creating */

/* A new cpuset cgroup starts with no cpus and no mems, and the kernel
 * refuses tasks there: give each level its parent's. */
static int cpuset_fill(int mfd, const char *path, md_error *err)
{
    md_autofd cur = openat(mfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    md_autofree char *copy = strdup(path);
    if (cur < 0 || !copy)
        return md_fail(err, errno ? errno : ENOMEM, "cpuset %s", path);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        md_autofd next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return md_fail(err, errno, "open cpuset cgroup %s", c);
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < 2; i++) {
            char mine[4096], parents[4096];
            if (md_cg_read(next, files[i], mine, sizeof(mine), err) < 0)
                return -1;
            if (mine[0])
                continue;
            if (md_cg_read(cur, files[i], parents, sizeof(parents), err) < 0 ||
                md_cg_write(next, files[i], parents, err) < 0)
                return -1;
        }
        close(cur);
        cur = md_take_fd(&next);
    }
    return 0;
}

/* Refuse a cgroup that exists and holds processes: it belongs to someone
 * else, and undoing a failed create would kill them. */
static int check_unused(const struct hier *h, const char *path, md_error *err)
{
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof(dir), MD_CGROUP_ROOT "/%s%s", h->name, path) >= sizeof(dir))
        return md_failx(err, ENAMETOOLONG, "cgroup " MD_CGROUP_ROOT "/%s%s: path too long", h->name,
                        path);
    md_autofd fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[64];
    md_error sub = {0};
    int r = md_cg_read(fd, "cgroup.procs", buf, sizeof(buf), &sub);
    md_error_clear(&sub);
    if (r == 0 && buf[0])
        return md_failx(err, EBUSY, "cgroup %s already exists and has processes", dir);
    return 0;
}

static int add_path(struct md_cgroup *cg, const char *name, char *path)
{
    md_kv *grown = realloc(cg->paths, (cg->n_paths + 1) * sizeof(*grown));
    char *key = strdup(name);
    if (grown)
        cg->paths = grown;
    if (!grown || !key) {
        free(key);
        free(path);
        return -1;
    }
    cg->paths[cg->n_paths++] = (md_kv){key, path};
    return 0;
}

/* The container's cgroup in every hierarchy, into cg->paths: known (and
 * recorded by the caller) before any is made, so that whatever a failure
 * or a kill leaves of them can be found and removed. */
static int v1_plan(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    if (hs->n == 0)
        return md_failx(err, ENOENT, "no cgroup hierarchy is mounted under " MD_CGROUP_ROOT);
    for (size_t i = 0; i < hs->n; i++) {
        const struct hier *h = &hs->h[i];
        char *path = place(req, cg->host, h, err);
        if (!path)
            return md_wrap(err, MD_CGROUP_ROOT "/%s", h->name);
        if (check_unused(h, path, err) < 0) {
            free(path);
            return -1;
        }
        if (add_path(cg, h->name, path) < 0)
            return md_fail(err, ENOMEM, "cgroup");
    }
    return 0;
}

static int make_one(struct md_cgroup *cg, const struct hier *h, const char *path, md_error *err)
{
    md_autofd mfd = open_mount(h, err);
    if (mfd < 0)
        return -1;
    md_autofd fd = md_cg_mkdirs(mfd, path, err);
    if (fd < 0)
        return md_wrap(err, MD_CGROUP_ROOT "/%s", h->name);
    md_debug("cgroup: made " MD_CGROUP_ROOT "/%s%s", h->name, path);
    if (has_ctrl(h, "cpuset") && cpuset_fill(mfd, path, err) < 0)
        return -1;
    if (!h->ctrls[0]) {
        if (cg->v2_fd >= 0)
            close(cg->v2_fd);
        cg->v2_fd = md_take_fd(&fd);
    }
    return 0;
}

/* Make what v1_plan decided (the systemd driver calls this unplanned). */
static int v1_create(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    if (cg->n_paths == 0 && v1_plan(cg, req, err) < 0)
        return -1;
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    for (size_t i = 0; i < hs->n; i++) {
        const char *path = hier_path(cg, &hs->h[i]);
        if (path && make_one(cg, &hs->h[i], path, err) < 0)
            return -1;
    }
    return 0;
}

static bool v1_delegated(const struct md_cgroup_request *req, struct md_cgroup_host *host)
{
    md_error ignored = {0};
    const struct md_cg_hiers *hs = scan(host, &ignored);
    bool ok = hs && hs->n > 0;
    for (size_t i = 0; ok && i < hs->n; i++) {
        md_autofree char *path = place(req, host, &hs->h[i], &ignored);
        char mount[128];
        snprintf(mount, sizeof(mount), MD_CGROUP_ROOT "/%s", hs->h[i].name);
        ok = path && md_cg_delegated_at(mount, path);
    }
    md_error_clear(&ignored);
    return ok;
}

static int v1_enter(struct md_cgroup *cg, pid_t pid, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    char value[32];
    snprintf(value, sizeof(value), "%d", (int)pid);
    for (size_t i = 0; i < hs->n; i++) {
        if (!hier_path(cg, &hs->h[i]))
            continue;
        md_autofd fd = hier_open(cg, &hs->h[i], err);
        if (fd < 0 || md_cg_write(fd, "cgroup.procs", value, err) < 0)
            return md_wrap(err, "join " MD_CGROUP_ROOT "/%s%s", hs->h[i].name,
                           hier_path(cg, &hs->h[i]));
    }
    return 0;
}

/* ------------------------------------------------------------ resources */

static int put_i64(int fd, const char *file, int64_t v, md_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return md_cg_write(fd, file, buf, err);
}

static int put_u64(int fd, const char *file, uint64_t v, md_error *err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return md_cg_write(fd, file, buf, err);
}

static bool has_file(int fd, const char *file)
{
    return faccessat(fd, file, F_OK, 0) == 0;
}

static int get_u64(int fd, const char *file, uint64_t *v, md_error *err)
{
    char buf[64];
    if (md_cg_read(fd, file, buf, sizeof(buf), err) < 0)
        return -1;
    if (strcmp(buf, "max") == 0) {
        *v = 0;
        return 0;
    }
    char *end;
    errno = 0;
    *v = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return md_failx(err, EINVAL, "cgroup %s: \"%s\" is not a number", file, buf);
    return 0;
}

#define LIMIT "memory.limit_in_bytes"
#define MEMSW "memory.memsw.limit_in_bytes"

/* memory.limit_in_bytes can never exceed memory.memsw.limit_in_bytes: when
 * both change, the one that makes room goes first. */
static int set_memory_limits(int fd, const md_memory *m, md_error *err)
{
    bool memsw = has_file(fd, MEMSW);
    bool has_swap = m->has_swap;
    int64_t swap = m->swap;
    if (m->has_limit && m->limit == -1 && !has_swap && memsw) {
        has_swap = true; /* unlimited memory means unlimited swap, as runc has it */
        swap = -1;
    }
    if (has_swap && !memsw) {
        if (swap != -1)
            return md_failx(err, ENOTSUP,
                            "linux.resources.memory.swap: this kernel does not "
                            "account swap (no memory.memsw.limit_in_bytes)");
        has_swap = false;
    }
    if (m->has_limit && has_swap) {
        uint64_t cur;
        if (get_u64(fd, MEMSW, &cur, err) < 0)
            return -1;
        bool raise = m->limit == -1 || (uint64_t)m->limit > cur;
        if (put_i64(fd, raise ? MEMSW : LIMIT, raise ? swap : m->limit, err) < 0)
            return -1;
        return put_i64(fd, raise ? LIMIT : MEMSW, raise ? m->limit : swap, err);
    }
    if (m->has_limit)
        return put_i64(fd, LIMIT, m->limit, err);
    return has_swap ? put_i64(fd, MEMSW, swap, err) : 0;
}

/* Kernel memory limits are deprecated: newer kernels lack the files or
 * accept and ignore the value.  runc ignores memory.kernel; so do we when
 * the kernel cannot take it. */
static int set_kmem(int fd, const char *file, const char *what, int64_t v, bool strict,
                    md_error *err)
{
    if (!has_file(fd, file)) {
        md_debug("linux.resources.memory.%s: ignored, this kernel has no %s", what, file);
        return 0;
    }
    md_error sub = {0};
    if (put_i64(fd, file, v, &sub) == 0)
        return 0;
    if (strict) {
        *err = sub;
        return -1;
    }
    md_debug("linux.resources.memory.%s: ignored: %s", what, sub.msg);
    md_error_clear(&sub);
    return 0;
}

static int set_memory(int fd, const md_memory *m, md_error *err)
{
    if (set_memory_limits(fd, m, err) < 0)
        return -1;
    if (m->has_reservation && put_i64(fd, "memory.soft_limit_in_bytes", m->reservation, err) < 0)
        return -1;
    if (m->has_kernel &&
        set_kmem(fd, "memory.kmem.limit_in_bytes", "kernel", m->kernel, false, err) < 0)
        return -1;
    if (m->has_kernel_tcp &&
        set_kmem(fd, "memory.kmem.tcp.limit_in_bytes", "kernelTCP", m->kernel_tcp, true, err) < 0)
        return -1;
    if (m->has_swappiness && put_u64(fd, "memory.swappiness", m->swappiness, err) < 0)
        return -1;
    if (m->disable_oom_killer && md_cg_write(fd, "memory.oom_control", "1", err) < 0)
        return -1;
    if (m->use_hierarchy && md_cg_write(fd, "memory.use_hierarchy", "1", err) < 0)
        return -1;
    return 0;
}

static int set_cpu(int fd, const md_cpu *c, md_error *err)
{
    if (c->has_shares) {
        uint64_t got;
        if (put_u64(fd, "cpu.shares", c->shares, err) < 0 ||
            get_u64(fd, "cpu.shares", &got, err) < 0)
            return -1;
        /* The kernel clamps silently; say so rather than run otherwise. */
        if (got != c->shares)
            return md_failx(err, ERANGE,
                            "linux.resources.cpu.shares: %" PRIu64 " is out of the kernel's range "
                            "(it set %" PRIu64 "; 2 to 262144)",
                            c->shares, got);
    }
    /* The burst must stay below the quota at every step. */
    if (c->has_burst && md_cg_write(fd, "cpu.cfs_burst_us", "0", err) < 0)
        return -1;
    if (c->has_period && put_u64(fd, "cpu.cfs_period_us", c->period, err) < 0)
        return -1;
    if (c->has_quota && put_i64(fd, "cpu.cfs_quota_us", c->quota, err) < 0)
        return -1;
    if (c->has_burst && put_u64(fd, "cpu.cfs_burst_us", c->burst, err) < 0)
        return -1;
    if (c->has_realtime_period && put_u64(fd, "cpu.rt_period_us", c->realtime_period, err) < 0)
        return -1;
    if (c->has_realtime_runtime && put_i64(fd, "cpu.rt_runtime_us", c->realtime_runtime, err) < 0)
        return -1;
    if (c->has_idle && put_i64(fd, "cpu.idle", c->idle, err) < 0)
        return -1;
    return 0;
}

static int set_cpuset(int fd, const md_cpu *c, md_error *err)
{
    if (c->cpus && *c->cpus && md_cg_write(fd, "cpuset.cpus", c->cpus, err) < 0)
        return -1;
    if (c->mems && *c->mems && md_cg_write(fd, "cpuset.mems", c->mems, err) < 0)
        return -1;
    return 0;
}

static int put_devices(int fd, const char *file, const md_throttle_device *d, size_t n,
                       md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d[i].major, d[i].minor,
                 d[i].rate);
        if (md_cg_write(fd, file, buf, err) < 0)
            return -1;
    }
    return 0;
}

static int set_blkio(int fd, const md_block_io *b, md_error *err)
{
    /* cfq names them blkio.weight*, bfq blkio.bfq.weight*. */
    bool cfq = has_file(fd, "blkio.weight");
    const char *weight = cfq ? "blkio.weight" : "blkio.bfq.weight";
    const char *weight_dev = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
    if (b->has_weight && put_u64(fd, weight, b->weight, err) < 0)
        return -1;
    if (b->has_leaf_weight && put_u64(fd, "blkio.leaf_weight", b->leaf_weight, err) < 0)
        return -1;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const md_weight_device *d = &b->weight_device[i];
        char buf[96];
        if (d->has_weight) {
            snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
                     (unsigned)d->weight);
            if (md_cg_write(fd, weight_dev, buf, err) < 0)
                return -1;
        }
        if (d->has_leaf_weight) {
            snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %u", d->major, d->minor,
                     (unsigned)d->leaf_weight);
            if (md_cg_write(fd, "blkio.leaf_weight_device", buf, err) < 0)
                return -1;
        }
    }
    if (put_devices(fd, "blkio.throttle.read_bps_device", b->throttle_read_bps_device,
                    b->n_throttle_read_bps_device, err) < 0 ||
        put_devices(fd, "blkio.throttle.write_bps_device", b->throttle_write_bps_device,
                    b->n_throttle_write_bps_device, err) < 0 ||
        put_devices(fd, "blkio.throttle.read_iops_device", b->throttle_read_iops_device,
                    b->n_throttle_read_iops_device, err) < 0 ||
        put_devices(fd, "blkio.throttle.write_iops_device", b->throttle_write_iops_device,
                    b->n_throttle_write_iops_device, err) < 0)
        return -1;
    return 0;
}

static int set_hugetlb(int fd, const md_hugepage_limit *h, size_t n, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char file[128];
        snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", h[i].page_size);
        if (put_u64(fd, file, h[i].limit, err) < 0)
            return -1;
        /* Reservations count too where the kernel has them (5.7+). */
        snprintf(file, sizeof(file), "hugetlb.%s.rsvd.limit_in_bytes", h[i].page_size);
        if (has_file(fd, file) && put_u64(fd, file, h[i].limit, err) < 0)
            return -1;
    }
    return 0;
}

static int set_rdma(int fd, const md_rdma *r, size_t n, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        int len = snprintf(buf, sizeof(buf), "%s", r[i].device);
        if (r[i].has_hca_handles)
            len +=
                snprintf(buf + len, sizeof(buf) - (size_t)len, " hca_handle=%u", r[i].hca_handles);
        if (r[i].has_hca_objects)
            snprintf(buf + len, sizeof(buf) - (size_t)len, " hca_object=%u", r[i].hca_objects);
        if (md_cg_write(fd, "rdma.max", buf, err) < 0)
            return -1;
    }
    return 0;
}

/* "c 1:3 rwm"; a rule of type "a" (or none) means every device. */
static void device_line(const md_device_rule *r, char *buf, size_t size)
{
    const char *type = r->type && *r->type ? r->type : "a";
    if (type[0] == 'a') {
        snprintf(buf, size, "a");
        return;
    }
    char major[24] = "*", minor[24] = "*";
    if (r->has_major && r->major >= 0)
        snprintf(major, sizeof(major), "%" PRId64, r->major);
    if (r->has_minor && r->minor >= 0)
        snprintf(minor, sizeof(minor), "%" PRId64, r->minor);
    snprintf(buf, size, "%s %s:%s %s", type, major, minor, r->access ? r->access : "rwm");
}

/* Deny everything, then the rules in order: each allow or deny changes
 * what the ones before it left, so the last rule matching a device wins. */
static int set_devices(int fd, const md_device_rule *rules, size_t n, md_error *err)
{
    if (md_cg_write(fd, "devices.deny", "a", err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char line[96];
        device_line(&rules[i], line, sizeof(line));
        if (md_cg_write(fd, rules[i].allow ? "devices.allow" : "devices.deny", line, err) < 0)
            return -1;
    }
    return 0;
}

/* Open the controller's directory and run one setter on it. */
#define WITH_CTRL(ctrl, call)                         \
    do {                                              \
        md_autofd fd_ = ctrl_open(cg, hs, ctrl, err); \
        if (fd_ < 0 || (call) < 0)                    \
            return -1;                                \
    } while (0)

static int v1_apply(struct md_cgroup *cg, const md_resources *r, md_error *err)
{
    if (r->n_unified)
        return md_failx(err, ENOTSUP,
                        "linux.resources.unified needs cgroup v2: this host has "
                        "cgroup v1 controllers");
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    if (memory_asked(r->memory))
        WITH_CTRL("memory", set_memory(fd_, r->memory, err));
    if (cpu_asked(r->cpu))
        WITH_CTRL("cpu", set_cpu(fd_, r->cpu, err));
    if (cpuset_asked(r->cpu))
        WITH_CTRL("cpuset", set_cpuset(fd_, r->cpu, err));
    if (r->pids && r->pids->has_limit) {
        int64_t limit = r->pids->limit;
        WITH_CTRL("pids", limit < 0 ? md_cg_write(fd_, "pids.max", "max", err)
                                    : put_i64(fd_, "pids.max", limit, err));
    }
    if (blkio_asked(r->block_io))
        WITH_CTRL("blkio", set_blkio(fd_, r->block_io, err));
    if (r->n_hugepage_limits)
        WITH_CTRL("hugetlb", set_hugetlb(fd_, r->hugepage_limits, r->n_hugepage_limits, err));
    if (r->network && r->network->has_class_id)
        WITH_CTRL("net_cls", put_u64(fd_, "net_cls.classid", r->network->class_id, err));
    for (size_t i = 0; r->network && i < r->network->n_priorities; i++) {
        char buf[128];
        const md_net_priority *p = &r->network->priorities[i];
        snprintf(buf, sizeof(buf), "%s %u", p->name, p->priority);
        WITH_CTRL("net_prio", md_cg_write(fd_, "net_prio.ifpriomap", buf, err));
    }
    if (r->n_rdma)
        WITH_CTRL("rdma", set_rdma(fd_, r->rdma, r->n_rdma, err));
    if (r->n_devices)
        WITH_CTRL("devices", set_devices(fd_, r->devices, r->n_devices, err));
    return 0;
}

/* ------------------------------------------------------------ operations */

static int v1_freeze(struct md_cgroup *cg, bool frozen, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    md_autofd fd = ctrl_open(cg, hs, "freezer", err);
    if (fd < 0)
        return -1;
    const char *want = frozen ? "FROZEN" : "THAWED";
    char state[32] = "";
    /* FREEZING until every task stopped; a task stuck in the kernel can
     * hold that up, and thawing and freezing again gets it moving. */
    for (int i = 0; i < 500; i++) {
        if (frozen && i > 0 && i % 100 == 0 && md_cg_write(fd, "freezer.state", "THAWED", err) < 0)
            return -1;
        if ((i % 10 == 0 && md_cg_write(fd, "freezer.state", want, err) < 0) ||
            md_cg_read(fd, "freezer.state", state, sizeof(state), err) < 0)
            return -1;
        if (strcmp(state, want) == 0)
            return 0;
        sleep_ms(10);
    }
    if (frozen) {
        md_error ignored = {0};
        md_cg_write(fd, "freezer.state", "THAWED", &ignored);
        md_error_clear(&ignored);
    }
    return md_failx(err, ETIMEDOUT, "cgroup freezer.state: still %s after 5 s, gave up", state);
}

static bool v1_is_frozen(struct md_cgroup *cg)
{
    md_error ignored = {0};
    const struct md_cg_hiers *hs = scan(cg->host, &ignored);
    md_autofd fd = hs ? ctrl_open(cg, hs, "freezer", &ignored) : -1;
    char state[32] = "";
    if (fd >= 0)
        md_cg_read(fd, "freezer.state", state, sizeof(state), &ignored);
    md_error_clear(&ignored);
    return strcmp(state, "FROZEN") == 0;
}

static int collect(int dirfd, pid_t **pids, size_t *n, int depth, md_error *err)
{
    pid_t *more;
    size_t k;
    if (md_cg_read_pids(dirfd, "cgroup.procs", &more, &k, err) < 0)
        return -1;
    if (k) {
        pid_t *grown = realloc(*pids, (*n + k) * sizeof(pid_t));
        if (!grown) {
            free(more);
            return md_fail(err, ENOMEM, "cgroup pids");
        }
        memcpy(grown + *n, more, k * sizeof(pid_t));
        *pids = grown;
        *n += k;
    }
    free(more);
    int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    md_autodir dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return md_fail(err, errno, "list cgroup");
    }
    rewinddir(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.' || depth > 64)
            continue;
        md_autofd sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0 && collect(sub, pids, n, depth + 1, err) < 0)
            return -1;
    }
    return 0;
}

/* The hierarchy whose cgroup.procs lists the container's processes. */
static const struct hier *procs_hier(const struct md_cgroup *cg, const struct md_cg_hiers *hs)
{
    static const char *const order[] = {"freezer", "pids", "memory", "name=systemd", "unified"};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct hier *h = find(hs, order[i]);
        if (h && hier_path(cg, h))
            return h;
    }
    for (size_t i = 0; i < hs->n; i++) {
        if (hier_path(cg, &hs->h[i]))
            return &hs->h[i];
    }
    return NULL;
}

static int list_pids(struct md_cgroup *cg, const struct md_cg_hiers *hs, pid_t **pids, size_t *n,
                     md_error *err)
{
    *pids = NULL;
    *n = 0;
    const struct hier *h = procs_hier(cg, hs);
    if (!h)
        return 0;
    md_autofd fd = hier_open(cg, h, err);
    if (fd < 0 || collect(fd, pids, n, 0, err) < 0) {
        free(*pids);
        *pids = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

static int v1_pids(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    return hs ? list_pids(cg, hs, pids, n, err) : -1;
}

/* SIGKILL through the unified cgroup's cgroup.kill (hybrid, Linux 5.14+):
 * one write, and nothing can fork away from it.  1 when done that way. */
static int kill_unified(struct md_cgroup *cg, const struct md_cg_hiers *hs, md_error *err)
{
    const struct hier *h = find(hs, "unified");
    if (!h || !hier_path(cg, h))
        return 0;
    md_error sub = {0};
    md_autofd fd = hier_open(cg, h, &sub);
    md_error_clear(&sub);
    if (fd < 0 || !has_file(fd, "cgroup.kill"))
        return 0;
    return md_cg_write(fd, "cgroup.kill", "1", err) < 0 ? -1 : 1;
}

static int v1_signal_all(struct md_cgroup *cg, int sig, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    /* After cgroup.kill nothing can fork any more: no need to freeze for
     * the pass that catches whatever was not in the unified cgroup. */
    int killed = sig == SIGKILL ? kill_unified(cg, hs, err) : 0;
    if (killed < 0)
        return -1;
    /* Frozen, nothing forks between listing and signalling. */
    const struct hier *fz = find(hs, "freezer");
    bool was_frozen = fz && hier_path(cg, fz) && v1_is_frozen(cg), froze = false;
    if (fz && hier_path(cg, fz) && !was_frozen && !killed) {
        md_error sub = {0};
        froze = v1_freeze(cg, true, &sub) == 0;
        if (!froze)
            md_debug("kill --all without freezing: %s", sub.msg);
        md_error_clear(&sub);
    }
    md_autofree pid_t *pids = NULL;
    size_t n = 0;
    int rc = list_pids(cg, hs, &pids, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (kill(pids[i], sig) < 0 && errno != ESRCH)
            rc = md_fail(err, errno, "kill %d", (int)pids[i]);
    }
    /* A frozen task dies of SIGKILL only once thawed; a container that was
     * paused stays paused for any other signal. */
    if (froze || (was_frozen && sig == SIGKILL)) {
        md_error sub = {0};
        if (v1_freeze(cg, false, &sub) < 0 && rc == 0) {
            *err = sub;
            return -1;
        }
        md_error_clear(&sub);
    }
    return rc;
}

/* ----------------------------------------------------------------- stats */

/* The number after "key " in a flat keyed file's text, 0 when absent. */
static uint64_t keyed(const char *text, const char *key)
{
    size_t len = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, len) == 0 && p[len] == ' ')
            return strtoull(p + len + 1, NULL, 10);
    }
    return 0;
}

/* Stats are best effort: a file this kernel lacks reads as 0. */
static uint64_t stat_u64(int fd, const char *file)
{
    uint64_t v = 0;
    md_error ignored = {0};
    if (fd >= 0 && has_file(fd, file))
        get_u64(fd, file, &v, &ignored);
    md_error_clear(&ignored);
    return v;
}

static void stat_keyed(int fd, const char *file, const char *key1, uint64_t *v1, const char *key2,
                       uint64_t *v2)
{
    char buf[4096];
    md_error ignored = {0};
    if (fd >= 0 && has_file(fd, file) && md_cg_read(fd, file, buf, sizeof(buf), &ignored) == 0) {
        *v1 = keyed(buf, key1);
        if (key2)
            *v2 = keyed(buf, key2);
    }
    md_error_clear(&ignored);
}

static int stat_open(struct md_cgroup *cg, const struct md_cg_hiers *hs, const char *ctrl)
{
    md_error ignored = {0};
    int fd = find(hs, ctrl) ? ctrl_open(cg, hs, ctrl, &ignored) : -1;
    md_error_clear(&ignored);
    return fd;
}

static int v1_stats(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    md_autofd mem = stat_open(cg, hs, "memory");
    st->memory_usage = stat_u64(mem, "memory.usage_in_bytes");
    st->memory_max_usage = stat_u64(mem, "memory.max_usage_in_bytes");
    st->memory_limit = stat_u64(mem, "memory.limit_in_bytes");
    st->memory_swap_usage = stat_u64(mem, "memory.memsw.usage_in_bytes");
    uint64_t unused = 0;
    stat_keyed(mem, "memory.oom_control", "oom_kill", &st->oom_kills, NULL, &unused);

    md_autofd acct = stat_open(cg, hs, "cpuacct");
    st->cpu_usage_ns = stat_u64(acct, "cpuacct.usage");
    if (acct >= 0 && has_file(acct, "cpuacct.usage_user")) {
        st->cpu_user_ns = stat_u64(acct, "cpuacct.usage_user");
        st->cpu_system_ns = stat_u64(acct, "cpuacct.usage_sys");
    } else {
        /* Older kernels: cpuacct.stat, in USER_HZ ticks. */
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t tick = hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;
        stat_keyed(acct, "cpuacct.stat", "user", &st->cpu_user_ns, "system", &st->cpu_system_ns);
        st->cpu_user_ns *= tick;
        st->cpu_system_ns *= tick;
    }
    md_autofd cpu = stat_open(cg, hs, "cpu");
    stat_keyed(cpu, "cpu.stat", "nr_throttled", &st->cpu_throttled_periods, "throttled_time",
               &st->cpu_throttled_ns);

    md_autofd pids = stat_open(cg, hs, "pids");
    st->pids_current = stat_u64(pids, "pids.current");
    st->pids_limit = stat_u64(pids, "pids.max");
    return 0;
}

/* An eventfd the kernel signals on each OOM in the cgroup (and once more
 * when the cgroup is removed). */
static int v1_oom_fd(struct md_cgroup *cg, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    md_autofd mem = ctrl_open(cg, hs, "memory", err);
    if (mem < 0)
        return -1;
    md_autofd efd = eventfd(0, EFD_CLOEXEC);
    if (efd < 0)
        return md_fail(err, errno, "eventfd");
    md_autofd ofd = openat(mem, "memory.oom_control", O_RDONLY | O_CLOEXEC);
    if (ofd < 0)
        return md_fail(err, errno, "cgroup memory.oom_control");
    char buf[32];
    snprintf(buf, sizeof(buf), "%d %d", efd, ofd);
    if (md_cg_write(mem, "cgroup.event_control", buf, err) < 0)
        return -1;
    return md_take_fd(&efd);
}

/* --------------------------------------------------------------- destroy */

/* SIGKILL whatever is left and wait (5 s at most) until it has gone. */
static int kill_rest(struct md_cgroup *cg, const struct md_cg_hiers *hs, md_error *err)
{
    for (int i = 0; i < 500; i++) {
        md_autofree pid_t *pids = NULL;
        size_t n = 0;
        md_error sub = {0};
        int r = list_pids(cg, hs, &pids, &n, &sub);
        int gone = sub.errnum == ENOENT;
        md_error_clear(&sub);
        if ((r < 0 && gone) || (r == 0 && n == 0))
            return 0;
        if (i % 50 == 0 && v1_signal_all(cg, SIGKILL, err) < 0)
            return -1;
        sleep_ms(10);
    }
    return md_failx(err, EBUSY, "the container's cgroup still has processes after SIGKILL and 5 s");
}

static int v1_destroy(struct md_cgroup *cg, md_error *err)
{
    const struct md_cg_hiers *hs = scan(cg->host, err);
    if (!hs)
        return -1;
    md_error first = {0};
    if (kill_rest(cg, hs, &first) < 0)
        md_debug("destroy cgroup: %s", first.msg);
    /* Every hierarchy, even after a failure, so that as little as possible
     * is left behind; the first error is reported. */
    for (size_t i = 0; i < hs->n; i++) {
        const char *path = hier_path(cg, &hs->h[i]);
        if (!path)
            continue;
        md_error sub = {0};
        md_autofd mfd = open_mount(&hs->h[i], &sub);
        if ((mfd < 0 || md_cg_rmdirs(mfd, path, &sub) < 0) && !first.msg) {
            md_wrap(&sub, MD_CGROUP_ROOT "/%s", hs->h[i].name);
            first = sub;
            continue;
        }
        md_error_clear(&sub);
    }
    if (first.msg) {
        md_error_clear(err);
        *err = first;
        return -1;
    }
    return 0;
}

const struct md_cg_driver md_cg_v1_driver = {
    .name = "cgroupfs v1",
    .check = v1_check,
    .plan = v1_plan,
    .create = v1_create,
    .enter = v1_enter,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .pids = v1_pids,
    .signal_all = v1_signal_all,
    .stats = v1_stats,
    .oom_fd = v1_oom_fd,
    .destroy = v1_destroy,
    .delegated = v1_delegated,
};
