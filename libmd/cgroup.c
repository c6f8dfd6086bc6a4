/* cgroup.c - the one cgroup interface: what the host has, which driver
 * serves it, where the container's cgroup goes, whether a rootless caller
 * may have one, the state record, and the helpers the drivers share. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"

/* ------------------------------------------------------ shared helpers */

int md_cg_write(int dirfd, const char *file, const char *value, md_error *err)
{
    md_autofd fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return md_fail(err, errno, "cgroup %s = \"%s\"", file, value);
    /* A cgroup file takes its value in one write(2). */
    size_t len = strlen(value);
    ssize_t n;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return md_fail(err, errno, "cgroup %s = \"%s\"", file, value);
    if ((size_t)n != len)
        return md_failx(err, EIO, "cgroup %s = \"%s\": short write", file, value);
    return 0;
}

int md_cg_read(int dirfd, const char *file, char *buf, size_t size, md_error *err)
{
    md_autofd fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return md_fail(err, errno, "cgroup %s", file);
    size_t used = 0;
    for (;;) {
        if (used + 1 >= size)
            return md_failx(err, EFBIG, "cgroup %s: longer than %zu bytes", file, size - 1);
        ssize_t n = read(fd, buf + used, size - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return md_fail(err, errno, "cgroup %s", file);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    while (used > 0 && buf[used - 1] == '\n')
        used--;
    buf[used] = '\0';
    return 0;
}

/* Open path under rootfd one component at a time (making each when make
 * is set), never following a symlink; "." and empty components are
 * skipped, ".." refused.  Returns an O_DIRECTORY fd of the last. */
static int walk_path(int rootfd, const char *path, bool make, md_error *err)
{
    md_autofd cur = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cur < 0)
        return md_fail(err, errno, "open cgroup root");
    md_autofree char *copy = strdup(path);
    if (!copy)
        return md_fail(err, ENOMEM, "cgroup %s", path);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0)
            return md_failx(err, EINVAL, "cgroup %s: \"..\" is not allowed", path);
        if (make && mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
            return md_fail(err, errno, "make cgroup %s", path);
        int next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return md_fail(err, errno, "open cgroup %s", path);
        close(cur);
        cur = next;
    }
    return md_take_fd(&cur);
}

int md_cg_mkdirs(int rootfd, const char *path, md_error *err)
{
    return walk_path(rootfd, path, true, err);
}

/* A process that was just killed leaves its cgroup a moment after it is
 * gone from cgroup.procs: rmdir says EBUSY until then. */
static int rmdir_retry(int dirfd, const char *name)
{
    for (int i = 0;; i++) {
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || i >= 200)
            return -1;
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
}

static int rm_tree(int parentfd, const char *name, const char *shown, int depth, md_error *err)
{
    md_autofd fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : md_fail(err, errno, "remove cgroup %s", shown);
    if (depth > 64)
        return md_failx(err, ELOOP, "remove cgroup %s: nested too deep", shown);
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    md_autodir dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return md_fail(err, errno, "remove cgroup %s", shown);
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        md_autofree char *sub = NULL;
        if (asprintf(&sub, "%s/%s", shown, e->d_name) < 0)
            return md_fail(err, ENOMEM, "remove cgroup %s", shown);
        if (rm_tree(fd, e->d_name, sub, depth + 1, err) < 0)
            return -1;
    }
    if (rmdir_retry(parentfd, name) < 0)
        return md_fail(err, errno, "remove cgroup %s", shown);
    return 0;
}

int md_cg_rmdirs(int rootfd, const char *path, md_error *err)
{
    md_autofree char *copy = strdup(path);
    if (!copy)
        return md_fail(err, ENOMEM, "remove cgroup %s", path);
    size_t len = strlen(copy);
    while (len > 0 && copy[len - 1] == '/')
        copy[--len] = '\0';
    char *slash = strrchr(copy, '/');
    const char *name = slash ? slash + 1 : copy;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return md_failx(err, EINVAL, "remove cgroup \"%s\": not a cgroup below the root", path);
    if (slash)
        *slash = '\0';
    md_error sub = {0};
    md_autofd parent = walk_path(rootfd, slash ? copy : ".", false, &sub);
    if (parent < 0) {
        int e = sub.errnum;
        md_error_clear(&sub);
        return e == ENOENT ? 0 : md_fail(err, e, "remove cgroup %s", path);
    }
    return rm_tree(parent, name, path, 0, err);
}

/* Whether the element word is in the comma-separated list. */
static bool in_list(const char *list, size_t len, const char *word)
{
    size_t wl = strlen(word);
    const char *p = list, *end = list + len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (n == wl && memcmp(p, word, n) == 0)
            return true;
        p += n + 1;
    }
    return false;
}

/* The path of controller's line (the unified one's: controller NULL or
 * "") in text, the contents of /proc/self/cgroup; a copy. */
static char *own_path_in(const char *text, const char *controller, md_error *err)
{
    bool unified = !controller || !*controller;
    for (const char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        const char *c1 = memchr(line, ':', n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;
        if (c2) {
            const char *ctrls = c1 + 1;
            size_t len = (size_t)(c2 - ctrls);
            bool match = unified ? (strncmp(line, "0:", 2) == 0 && len == 0)
                                 : in_list(ctrls, len, controller);
            if (match) {
                char *path = strndup(c2 + 1, n - (size_t)(c2 + 1 - line));
                if (!path)
                    md_fail(err, ENOMEM, "/proc/self/cgroup");
                return path;
            }
        }
        line += n + (line[n] == '\n');
    }
    md_failx(err, ENOENT, "/proc/self/cgroup: no %s hierarchy", unified ? "unified" : controller);
    return NULL;
}

char *md_cg_own_path(const char *controller, md_error *err)
{
    md_autofree char *text = NULL;
    if (md_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &text, NULL, err) < 0)
        return NULL;
    return own_path_in(text, controller, err);
}

char *md_cg_host_own_path(struct md_cgroup_host *host, const char *controller, md_error *err)
{
    if (!host->self_cgroup &&
        md_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &host->self_cgroup, NULL, err) < 0)
        return NULL;
    return own_path_in(host->self_cgroup, controller, err);
}

int md_cg_read_pids(int dirfd, const char *file, pid_t **pids, size_t *n, md_error *err)
{
    *pids = NULL;
    *n = 0;
    md_autofree char *text = NULL;
    if (md_read_file_at(dirfd, file, 64 << 20, &text, NULL, err) < 0)
        return md_wrap(err, "cgroup");
    size_t cap = 0, count = 0;
    md_autofree pid_t *list = NULL;
    for (char *p = text; *p;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > INT_MAX || (*end && *end != '\n'))
            return md_failx(err, EINVAL, "cgroup %s: not a list of pids", file);
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            pid_t *grown = realloc(list, cap * sizeof(*list));
            if (!grown)
                return md_fail(err, ENOMEM, "cgroup %s", file);
            list = grown;
        }
        list[count++] = (pid_t)v;
        p = *end ? end + 1 : end;
    }
    *pids = md_take_ptr(&list);
    *n = count;
    return 0;
}

int md_cg_path_resolve(const char *cgroups_path, const char *id, const char *base, char **out,
                       md_error *err)
{
    *out = NULL;
    const char *rel = cgroups_path && *cgroups_path ? cgroups_path : id;
    if (!rel || !*rel)
        return md_failx(err, EINVAL, "linux.cgroupsPath: unset, and no container id");
    md_autofree char *joined = NULL;
    if (asprintf(&joined, "%s/%s", rel[0] == '/' ? "" : (base ? base : ""), rel) < 0)
        return md_fail(err, ENOMEM, "linux.cgroupsPath");
    md_autofree char *norm = malloc(strlen(joined) + 2);
    if (!norm)
        return md_fail(err, ENOMEM, "linux.cgroupsPath");
    size_t used = 0;
    char *save = NULL;
    for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0)
            return md_failx(err, EINVAL, "linux.cgroupsPath \"%s\": \"..\" is not allowed", rel);
        norm[used++] = '/';
        memcpy(norm + used, c, strlen(c));
        used += strlen(c);
    }
    if (used == 0)
        return md_failx(err, EINVAL, "linux.cgroupsPath \"%s\": names the root cgroup", rel);
    norm[used] = '\0';
    *out = md_take_ptr(&norm);
    return 0;
}

bool md_cg_wants_limits(const md_resources *r)
{
    if (!r)
        return false;
    const md_memory *m = r->memory;
    if (m && (m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
              m->has_kernel_tcp || m->has_swappiness || m->disable_oom_killer))
        return true;
    const md_cpu *c = r->cpu;
    if (c && (c->has_shares || c->has_quota || c->has_burst || c->has_period ||
              c->has_realtime_runtime || c->has_realtime_period || (c->cpus && *c->cpus) ||
              (c->mems && *c->mems) || c->has_idle))
        return true;
    const md_block_io *b = r->block_io;
    if (b && (b->has_weight || b->has_leaf_weight || b->n_weight_device ||
              b->n_throttle_read_bps_device || b->n_throttle_write_bps_device ||
              b->n_throttle_read_iops_device || b->n_throttle_write_iops_device))
        return true;
    if (r->network && (r->network->has_class_id || r->network->n_priorities))
        return true;
    if (r->pids && r->pids->has_limit)
        return true;
    return r->n_hugepage_limits || r->n_rdma || r->n_unified;
}

#define DEV_ANY(t)                                         \
    {                                                      \
        true, (char *)(t), false, 0, false, 0, (char *)"m" \
    }
#define DEV(t, maj, min)                                           \
    {                                                              \
        true, (char *)(t), true, maj, min >= 0, min, (char *)"rwm" \
    }

/* What runc allows after the config's own rules. */
static const md_device_rule default_devices[] = {
    DEV_ANY("c"),   DEV_ANY("b"),      DEV("c", 1, 3),    DEV("c", 1, 5),
    DEV("c", 1, 7), DEV("c", 1, 8),    DEV("c", 1, 9),    DEV("c", 5, 0),
    DEV("c", 5, 2), DEV("c", 10, 200), DEV("c", 136, -1),
};

int md_cg_device_rules(const md_resources *r, md_device_rule **rules, size_t *n, md_error *err)
{
    *rules = NULL;
    *n = 0;
    if (!r || r->n_devices == 0)
        return 0;
    size_t nd = sizeof(default_devices) / sizeof(default_devices[0]);
    md_device_rule *all = calloc(r->n_devices + nd, sizeof(*all));
    if (!all)
        return md_fail(err, ENOMEM, "device rules");
    memcpy(all, r->devices, r->n_devices * sizeof(*all));
    memcpy(all + r->n_devices, default_devices, sizeof(default_devices));
    *rules = all;
    *n = r->n_devices + nd;
    return 0;
}

/* ------------------------------------------------------------ the host */

enum md_cg_layout md_cgroup_layout(void)
{
    struct statfs fs;
    if (statfs(MD_CGROUP_ROOT, &fs) < 0)
        return MD_CG_NONE;
    if (fs.f_type == CGROUP2_SUPER_MAGIC)
        return MD_CG_V2;
    if (fs.f_type != TMPFS_MAGIC)
        return MD_CG_NONE;
    if (statfs(MD_CGROUP_UNIFIED, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return MD_CG_HYBRID;
    return MD_CG_V1;
}

struct md_cgroup_host *md_cgroup_host_new(void)
{
    struct md_cgroup_host *host = calloc(1, sizeof(*host));
    if (host)
        host->layout = md_cgroup_layout();
    return host;
}

void md_cgroup_host_free(struct md_cgroup_host *host)
{
    if (!host)
        return;
    free(host->self_cgroup);
    free(host->hiers);
    free(host);
}

const char *md_cgroup_layout_name(enum md_cg_layout layout)
{
    switch (layout) {
    case MD_CG_V1:
        return "v1";
    case MD_CG_HYBRID:
        return "hybrid";
    case MD_CG_V2:
        return "v2";
    default:
        return "none";
    }
}

static const char *const manager_names[] = {
    [MD_CGM_CGROUPFS] = "cgroupfs",
    [MD_CGM_SYSTEMD] = "systemd",
    [MD_CGM_DISABLED] = "disabled",
};

int md_cgroup_manager_parse(const char *name, enum md_cg_manager *out, md_error *err)
{
    if (!name) {
        *out = MD_CGM_CGROUPFS;
        return 0;
    }
    for (size_t i = 0; i < sizeof(manager_names) / sizeof(manager_names[0]); i++) {
        if (strcmp(name, manager_names[i]) == 0) {
            *out = (enum md_cg_manager)i;
            return 0;
        }
    }
    return md_failx(err, EINVAL,
                    "unknown cgroup manager \"%s\", must be cgroupfs, systemd or disabled", name);
}

static const struct md_cg_driver *pick_driver(enum md_cg_layout layout, enum md_cg_manager m)
{
    if (m == MD_CGM_DISABLED || layout == MD_CG_NONE)
        return NULL;
    if (m == MD_CGM_SYSTEMD)
        return &md_cg_systemd_driver;
    return layout == MD_CG_V2 ? &md_cg_v2_driver : &md_cg_v1_driver;
}

/* ------------------------------------------------------------ the path */

/* The cgroup a relative cgroupsPath hangs from: on v2 the parent of our
 * own (see md_cg_path_resolve); on v1 our own cgroup of the hierarchy that
 * names the container's cgroup (name=systemd, or the unified one). */
static char *path_base(struct md_cgroup_host *host, md_error *err)
{
    enum md_cg_layout layout = host->layout;
    if (layout == MD_CG_V2) {
        char *own = md_cg_host_own_path(host, NULL, err);
        if (own) {
            char *slash = strrchr(own, '/');
            if (slash)
                slash[slash == own ? 1 : 0] = '\0';
        }
        return own;
    }
    md_error ignored = {0};
    char *own = md_cg_host_own_path(host, "name=systemd", &ignored);
    if (!own && layout == MD_CG_HYBRID)
        own = md_cg_host_own_path(host, NULL, &ignored);
    md_error_clear(&ignored);
    if (!own && !(own = strdup("/")))
        md_fail(err, ENOMEM, "cgroup path");
    return own;
}

static int container_path(const struct md_cgroup_request *req, struct md_cgroup_host *host,
                          char **out, md_error *err)
{
    md_autofree char *base = NULL;
    bool relative = !req->cgroups_path || req->cgroups_path[0] != '/';
    if (relative && !(base = path_base(host, err)))
        return -1;
    return md_cg_path_resolve(req->cgroups_path, req->id, base, out, err);
}

/* ------------------------------------------------------------ rootless */

bool md_cg_delegated_at(const char *mount, const char *path)
{
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, path) >= sizeof(dir))
        return false;
    /* The deepest directory that exists decides: we must be able to make
     * the rest below it and move our processes into it. */
    for (;;) {
        struct stat st;
        if (stat(dir, &st) == 0) {
            char procs[PATH_MAX + 16];
            snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
            return faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0 &&
                   faccessat(AT_FDCWD, procs, W_OK, AT_EACCESS) == 0;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < strlen(mount))
            return false;
        *slash = '\0';
    }
}

static bool delegated(const struct md_cg_driver *d, const struct md_cgroup_request *req,
                      struct md_cgroup_host *host)
{
    if (d->delegated)
        return d->delegated(req, host);
    if (req->manager == MD_CGM_SYSTEMD)
        return true;
    md_error ignored = {0};
    md_autofree char *path = NULL;
    bool ok =
        container_path(req, host, &path, &ignored) == 0 && md_cg_delegated_at(MD_CGROUP_ROOT, path);
    md_error_clear(&ignored);
    return ok;
}

static int no_delegation(enum md_cg_layout layout, md_error *err)
{
    if (layout == MD_CG_V2)
        return md_failx(err, EPERM,
                        "linux.resources: limits need a cgroup, and mdrun runs without root and "
                        "has no delegated cgroup to make one in; run it inside a systemd user "
                        "session with Delegate=yes (e.g. `systemd-run --user --scope -p "
                        "Delegate=yes mdrun ...` or --cgroup-manager systemd), or as root");
    return md_failx(err, EPERM,
                    "linux.resources: limits need a cgroup, and on this cgroup %s host only root "
                    "can make one (the controller directories under " MD_CGROUP_ROOT
                    " are root's); run mdrun as root, or on a cgroup v2 host inside a systemd "
                    "user session with Delegate=yes",
                    layout == MD_CG_HYBRID ? "v1 (hybrid)" : "v1");
}

/* --------------------------------------------------------- the decision */

/* Which driver will make the container's cgroup; NULL when it runs
 * without one.  say: log why (create), or stay quiet (check). */
static int pick(const struct md_cgroup_request *req, struct md_cgroup_host *host, bool say,
                const struct md_cg_driver **out, md_error *err)
{
    *out = NULL;
    enum md_cg_layout layout = host->layout;
    bool limits = md_cg_wants_limits(req->resources);
    if (req->manager == MD_CGM_DISABLED) {
        if (say && limits)
            md_warn("cgroup manager \"disabled\": linux.resources are not applied");
        else if (say)
            md_debug("cgroup manager \"disabled\": the container gets no cgroup");
        return 0;
    }
    if (layout == MD_CG_NONE) {
        if (limits)
            return md_failx(err, ENOTSUP,
                            "linux.resources: no cgroup filesystem is mounted at " MD_CGROUP_ROOT);
        if (say)
            md_debug("no cgroup filesystem at " MD_CGROUP_ROOT ": the container gets no cgroup");
        return 0;
    }
    if (req->manager == MD_CGM_CGROUPFS && req->cgroups_path) {
        md_autofree char *checked = NULL;
        if (md_cg_path_resolve(req->cgroups_path, req->id, "/", &checked, err) < 0)
            return -1;
    }
    const struct md_cg_driver *d = pick_driver(layout, req->manager);
    if (req->rootless && !delegated(d, req, host)) {
        if (limits)
            return no_delegation(layout, err);
        if (say)
            md_debug("rootless without a delegated cgroup (cgroup %s): the container stays in "
                     "mdrun's cgroup",
                     md_cgroup_layout_name(layout));
        return 0;
    }
    if (d->check && d->check(req, host, err) < 0)
        return -1;
    *out = d;
    return 0;
}

static void host_free_p(struct md_cgroup_host **host)
{
    md_cgroup_host_free(*host);
}

int md_cgroup_check(const struct md_cgroup_request *req, md_error *err)
{
    __attribute__((cleanup(host_free_p))) struct md_cgroup_host *own = NULL;
    struct md_cgroup_host *host = req->host ? req->host : (own = md_cgroup_host_new());
    if (!host)
        return md_fail(err, ENOMEM, "cgroup");
    const struct md_cg_driver *d;
    return pick(req, host, false, &d, err);
}

/* A cgroup on host (borrowed), or on a host of its own when NULL. */
static struct md_cgroup *cgroup_new(struct md_cgroup_host *host, enum md_cg_manager manager,
                                    const struct md_cg_driver *d, bool rootless)
{
    struct md_cgroup *cg = calloc(1, sizeof(*cg));
    if (!cg)
        return NULL;
    cg->own_host = !host;
    cg->host = host ? host : md_cgroup_host_new();
    if (!cg->host) {
        free(cg);
        return NULL;
    }
    cg->layout = cg->host->layout;
    cg->manager = manager;
    cg->driver = d;
    cg->rootless = rootless;
    cg->v2_fd = -1;
    return cg;
}

/* create's own apply: the device rules are the config's plus the devices
 * every container gets; a rootless caller cannot set them (and cannot make
 * device nodes either), so they are left out. */
static int apply_created(struct md_cgroup *cg, const md_resources *r, md_error *err)
{
    md_resources eff = *r;
    md_autofree md_device_rule *rules = NULL;
    size_t n = 0;
    if (cg->rootless) {
        if (r->n_devices)
            md_debug("rootless: linux.resources.devices not applied");
    } else if (md_cg_device_rules(r, &rules, &n, err) < 0) {
        return -1;
    }
    eff.devices = rules;
    eff.n_devices = n;
    return cg->driver->apply(cg, &eff, err);
}

int md_cgroup_plan(const struct md_cgroup_request *req, struct md_cgroup **out, md_error *err)
{
    *out = NULL;
    struct md_cgroup *cg = cgroup_new(req->host, req->manager, NULL, req->rootless);
    if (!cg)
        return md_fail(err, ENOMEM, "cgroup");
    int rc = pick(req, cg->host, true, &cg->driver, err);
    if (rc == 0 && cg->driver && req->manager == MD_CGM_CGROUPFS)
        rc = container_path(req, cg->host, &cg->path, err);
    if (rc == 0 && cg->driver && cg->driver->plan)
        rc = cg->driver->plan(cg, req, err);
    if (rc < 0 || !cg->driver) {
        md_cgroup_free(cg);
        return rc;
    }
    *out = cg;
    return 0;
}

int md_cgroup_make(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    if (!cg)
        return 0;
    if (cg->driver->create(cg, req, err) < 0 ||
        (req->resources && apply_created(cg, req->resources, err) < 0))
        return -1;
    md_debug("cgroup %s (%s, %s)", cg->path ? cg->path : "?", cg->driver->name,
             md_cgroup_layout_name(cg->layout));
    return 0;
}

int md_cgroup_create(const struct md_cgroup_request *req, struct md_cgroup **out, md_error *err)
{
    *out = NULL;
    struct md_cgroup *cg;
    if (md_cgroup_plan(req, &cg, err) < 0)
        return -1;
    if (md_cgroup_make(cg, req, err) < 0) {
        md_error ignored = {0};
        if (md_cgroup_destroy(cg, &ignored) < 0)
            md_debug("undo cgroup: %s", ignored.msg);
        md_error_clear(&ignored);
        md_cgroup_free(cg);
        return -1;
    }
    *out = cg;
    return 0;
}

/* ------------------------------------------------------------ the record */

static int replace_str(char **dst, const char *src)
{
    free(*dst);
    *dst = NULL;
    return src && !(*dst = strdup(src)) ? -1 : 0;
}

static void free_kv(md_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static int copy_kv(const md_kv *src, size_t n, md_kv **dst, size_t *dn)
{
    *dst = NULL;
    *dn = 0;
    if (n == 0)
        return 0;
    md_kv *kv = calloc(n, sizeof(*kv));
    if (!kv)
        return -1;
    for (size_t i = 0; i < n; i++) {
        kv[i].key = strdup(src[i].key);
        kv[i].value = strdup(src[i].value);
        if (!kv[i].key || !kv[i].value) {
            free_kv(kv, n);
            return -1;
        }
    }
    *dst = kv;
    *dn = n;
    return 0;
}

int md_cgroup_record(const struct md_cgroup *cg, md_state_record *rec, md_error *err)
{
    free_kv(rec->cgroup_paths, rec->n_cgroup_paths);
    rec->cgroup_paths = NULL;
    rec->n_cgroup_paths = 0;
    rec->systemd_cgroup = cg && cg->manager == MD_CGM_SYSTEMD;
    if (replace_str(&rec->cgroup_path, cg ? cg->path : NULL) < 0 ||
        replace_str(&rec->cgroup_manager, cg ? manager_names[cg->manager] : NULL) < 0 ||
        replace_str(&rec->cgroup_unit, cg ? cg->unit : NULL) < 0 ||
        replace_str(&rec->cgroup_scope, cg ? cg->scope : NULL) < 0 ||
        (cg && copy_kv(cg->paths, cg->n_paths, &rec->cgroup_paths, &rec->n_cgroup_paths) < 0))
        return md_fail(err, ENOMEM, "cgroup record");
    return 0;
}

static int open_v2_dir(struct md_cgroup *cg, md_error *err)
{
    const char *mount = cg->layout == MD_CG_V2 ? MD_CGROUP_ROOT : MD_CGROUP_UNIFIED;
    const char *path = cg->path;
    if (cg->layout == MD_CG_HYBRID) {
        const char *p = md_kv_get(cg->paths, cg->n_paths, "unified");
        path = p ? p : path;
    }
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, path) >= sizeof(dir))
        return md_failx(err, ENAMETOOLONG, "cgroup %s: path too long", path);
    cg->v2_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg->v2_fd < 0 && errno != ENOENT)
        return md_fail(err, errno, "open cgroup %s", dir);
    if (cg->v2_fd < 0)
        md_debug("cgroup %s is gone", dir);
    return 0;
}

int md_cgroup_open(const md_state_record *rec, struct md_cgroup **out, md_error *err)
{
    *out = NULL;
    if (!rec->cgroup_path || !*rec->cgroup_path)
        return 0;
    enum md_cg_manager manager = rec->systemd_cgroup ? MD_CGM_SYSTEMD : MD_CGM_CGROUPFS;
    if (rec->cgroup_manager && md_cgroup_manager_parse(rec->cgroup_manager, &manager, err) < 0)
        return md_wrap(err, "state record");
    struct md_cgroup *cg = cgroup_new(NULL, manager, NULL, rec->rootless);
    if (!cg)
        return md_fail(err, ENOMEM, "cgroup");
    enum md_cg_layout layout = cg->layout;
    const struct md_cg_driver *d = cg->driver = pick_driver(layout, manager);
    if (!d) {
        md_cgroup_free(cg);
        return manager == MD_CGM_DISABLED
                   ? 0
                   : md_failx(err, ENOENT, "cgroup %s: no cgroup filesystem at " MD_CGROUP_ROOT,
                              rec->cgroup_path);
    }
    if (replace_str(&cg->path, rec->cgroup_path) < 0 ||
        replace_str(&cg->unit, rec->cgroup_unit) < 0 ||
        replace_str(&cg->scope, rec->cgroup_scope) < 0 ||
        copy_kv(rec->cgroup_paths, rec->n_cgroup_paths, &cg->paths, &cg->n_paths) < 0) {
        md_cgroup_free(cg);
        return md_fail(err, ENOMEM, "cgroup");
    }
    if (((layout == MD_CG_V2 || layout == MD_CG_HYBRID) && open_v2_dir(cg, err) < 0) ||
        (d->open && d->open(cg, err) < 0)) {
        md_cgroup_free(cg);
        return -1;
    }
    *out = cg;
    return 0;
}

/* ------------------------------------------------------------ dispatch */

static int no_cgroup(md_error *err)
{
    return md_failx(err, ENODEV, "the container has no cgroup");
}

int md_cgroup_clone_fd(const struct md_cgroup *cg)
{
    return cg && cg->layout == MD_CG_V2 ? cg->v2_fd : -1;
}

int md_cgroup_enter(struct md_cgroup *cg, pid_t pid, md_error *err)
{
    return cg ? cg->driver->enter(cg, pid, err) : 0;
}

int md_cgroup_apply(struct md_cgroup *cg, const md_resources *r, md_error *err)
{
    if (!cg)
        return no_cgroup(err);
    if (!r)
        return 0;
    md_resources eff = *r;
    eff.devices = NULL;
    eff.n_devices = 0;
    return cg->driver->apply(cg, &eff, err);
}

int md_cgroup_freeze(struct md_cgroup *cg, bool frozen, md_error *err)
{
    return cg ? cg->driver->freeze(cg, frozen, err) : no_cgroup(err);
}

bool md_cgroup_is_frozen(struct md_cgroup *cg)
{
    return cg && cg->driver->is_frozen(cg);
}

int md_cgroup_pids(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err)
{
    *pids = NULL;
    *n = 0;
    return cg ? cg->driver->pids(cg, pids, n, err) : no_cgroup(err);
}

int md_cgroup_signal_all(struct md_cgroup *cg, int sig, md_error *err)
{
    return cg ? cg->driver->signal_all(cg, sig, err) : no_cgroup(err);
}

int md_cgroup_stats(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err)
{
    memset(st, 0, sizeof(*st));
    return cg ? cg->driver->stats(cg, st, err) : no_cgroup(err);
}

int md_cgroup_oom_fd(struct md_cgroup *cg, md_error *err)
{
    return cg && cg->driver->oom_fd ? cg->driver->oom_fd(cg, err) : -1;
}

int md_cgroup_destroy(struct md_cgroup *cg, md_error *err)
{
    return cg ? cg->driver->destroy(cg, err) : 0;
}

void md_cgroup_free(struct md_cgroup *cg)
{
    if (!cg)
        return;
    if (cg->v2_fd >= 0)
        close(cg->v2_fd);
    free(cg->path);
    free(cg->unit);
    free(cg->scope);
    free_kv(cg->paths, cg->n_paths);
    if (cg->own_host)
        md_cgroup_host_free(cg->host);
    free(cg);
}

/* --------------------------------------------------------- conversions */

/* log2 and a power of ten without libm, which mdrun would load at every
 * start for this one formula.  Exact where the curve must be exact (powers
 * of two, integer exponents); tests/unit/test-cgroup.c checks every input
 * against libm. */
static const double ln2 = 0.69314718055994530942, ln10 = 2.30258509299404568402;

/* x = m 2^e, m in [1, 2): log2 x = e + ln m / ln 2, with
 * ln m = 2 atanh z = 2 (z + z^3/3 + z^5/5 + ...), z = (m - 1)/(m + 1) <= 1/3. */
static double log2_of(uint64_t x)
{
    int e = 0;
    double m = (double)x;
    while (m >= 2.0) {
        m /= 2.0;
        e++;
    }
    double z = (m - 1.0) / (m + 1.0), z2 = z * z, term = z, sum = 0.0;
    for (int k = 1; k < 60; k += 2) {
        sum += term / k;
        term *= z2;
    }
    return e + 2.0 * sum / ln2;
}

/* 10^y for 0 <= y < 5: 10^n exactly for the integer part, times
 * e^(f ln 10) for the fraction by its Taylor series. */
static double pow10_of(double y)
{
    int n = (int)y;
    double r = (y - n) * ln10, term = 1.0, sum = 1.0;
    for (int k = 1; k < 40; k++) {
        term *= r / k;
        sum += term;
    }
    for (; n > 0; n--)
        sum *= 10.0;
    return sum;
}

uint64_t md_cgroup_shares_to_weight(uint64_t shares)
{
    if (shares == 0)
        return 0; /* unset */
    if (shares <= 2)
        return 1;
    if (shares >= 262144)
        return 10000;
    /* The curve runc (1.3.2+) and crun (1.23+) use: a parabola in log
     * space through (2, 1), (1024, 100) and (262144, 10000), so that the
     * default shares give the default weight:
     *     weight = ceil(10^((L^2 + 125 L) / 612 - 7/34)),  L = log2(shares)
     * 7/34 is written 126/612 so that the three points come out exact. */
    double l = log2_of(shares);
    double w = pow10_of((l * l + 125.0 * l - 126.0) / 612.0);
    uint64_t up = (uint64_t)w; /* w is positive and below 2^53 */
    if ((double)up < w)
        up++;
    if (up < 1)
        return 1;
    return up > 10000 ? 10000 : up;
}

uint64_t md_cgroup_blkio_to_io_weight(uint64_t weight)
{
    if (weight == 0)
        return 0; /* unset */
    if (weight <= 10)
        return 1;
    if (weight >= 1000)
        return 10000;
    /* Linear from blkio's 10..1000 onto io.weight's 1..10000. */
    return 1 + (weight - 10) * 9999 / 990;
}
