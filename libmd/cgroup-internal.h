/* cgroup-internal.h - what cgroup.c and its drivers (cgroup-v1.c,
 * cgroup-v2.c, cgroup-systemd.c, cgroup-bpf.c) share; nothing outside the
 * cgroup files includes it. */
#ifndef MD_CGROUP_INTERNAL_H
#define MD_CGROUP_INTERNAL_H

#include "cgroup.h"

struct md_cg_driver;
struct md_cg_hiers; /* cgroup-v1.c: the hierarchies mounted under MD_CGROUP_ROOT */

struct md_cgroup_host {
    enum md_cg_layout layout;
    char *self_cgroup;         /* the text of /proc/self/cgroup, NULL until read */
    struct md_cg_hiers *hiers; /* v1 and hybrid, NULL until scanned; one block */
};

struct md_cgroup {
    struct md_cgroup_host *host; /* never NULL */
    bool own_host;               /* host is ours to free (else the request's) */
    enum md_cg_layout layout;
    enum md_cg_manager manager;
    const struct md_cg_driver *driver;
    char *path;   /* the container's cgroup relative to the hierarchy roots, e.g.
                     "/mdrun/ID" (the same path under every v1 controller) */
    int v2_fd;    /* O_DIRECTORY fd of path in the cgroup2 hierarchy (v2, or the
                     unified one of a hybrid host), -1 when none */
    char *unit;   /* systemd: the transient scope's name, else NULL */
    char *scope;  /* systemd: the scope's cgroup path; path is a leaf under it */
    pid_t holder; /* systemd: our child that holds the scope from create until
                     the first enter, 0 when none (see cgroup-systemd.c) */
    bool rootless;
    /* v1 and hybrid: the container's cgroup in each hierarchy, keyed by the
     * hierarchy's directory under /sys/fs/cgroup ("memory", "cpu,cpuacct",
     * "systemd", "unified").  They differ when cgroupsPath is relative (or
     * unset) and this process sits in different cgroups of different
     * hierarchies.  A hierarchy missing here has no cgroup of the container
     * (a create stopped half way); none at all means path everywhere. */
    md_kv *paths;
    size_t n_paths;
};

/* One driver's operations; each returns -1 with err set on failure.
 * When create (or the apply that follows it) fails, cgroup.c calls destroy
 * to undo what was made: destroy must accept a half-made cgroup (missing
 * directories, v2_fd -1, no unit). */
struct md_cg_driver {
    const char *name;
    int (*check)(const struct md_cgroup_request *req, struct md_cgroup_host *host, md_error *err);
    /* Optional: decide what create will make, beyond cg->path, without
     * making anything (md_cgroup_plan). */
    int (*plan)(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err);
    /* cg->path is decided (cgroupfs) or NULL (systemd decides it). */
    int (*create)(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err);
    int (*enter)(struct md_cgroup *cg, pid_t pid, md_error *err);
    int (*apply)(struct md_cgroup *cg, const md_resources *r, md_error *err);
    int (*freeze)(struct md_cgroup *cg, bool frozen, md_error *err);
    bool (*is_frozen)(struct md_cgroup *cg);
    int (*pids)(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err);
    int (*signal_all)(struct md_cgroup *cg, int sig, md_error *err);
    int (*stats)(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err);
    int (*oom_fd)(struct md_cgroup *cg, md_error *err);
    int (*destroy)(struct md_cgroup *cg, md_error *err);
    /* Optional.  Whether a rootless caller can have a cgroup here; NULL:
     * cgroup.c decides (cgroupfs on v2: the deepest existing directory of
     * the container's path is writable by us; systemd: yes). */
    bool (*delegated)(const struct md_cgroup_request *req, struct md_cgroup_host *host);
    /* Optional: finish md_cgroup_open() after cgroup.c filled layout,
     * manager, path, unit, scope, paths, rootless, and v2_fd (-1 when the
     * cgroup2 directory is gone). */
    int (*open)(struct md_cgroup *cg, md_error *err);
};

extern const struct md_cg_driver md_cg_v1_driver; /* v1 and hybrid */
extern const struct md_cg_driver md_cg_v2_driver;
extern const struct md_cg_driver md_cg_systemd_driver;

/* --- cgroup-v2.c, for cgroup-systemd.c's leaf under its scope (the other
 * md_cg_v2_driver operations only use cg->v2_fd and cg->path, relative to
 * MD_CGROUP_ROOT, so they can be called as they are) --- */

/* Enable in cgroup.subtree_control of rootfd and of every directory of
 * path below it except the last (path's ancestors; the leaf stays a leaf)
 * the controllers r needs (an error names one that is missing) plus cpu,
 * memory, pids and io where they can be had. */
int md_cg_v2_enable(int rootfd, const char *path, const md_resources *r, md_error *err);
/* Write r into the cgroup dirfd (O_RDONLY directory fd): memory, cpu,
 * cpuset, io, pids, hugetlb, rdma, unified, and devices as an eBPF program. */
int md_cg_v2_apply(int dirfd, const md_resources *r, md_error *err);
/* Chown the cgroup dirfd and the files of /sys/kernel/cgroup/delegate to
 * uid:gid (runtime-spec "Cgroup ownership"). */
int md_cg_v2_delegate(int dirfd, uid_t uid, gid_t gid, md_error *err);

/* --- helpers in cgroup.c, shared by the drivers --- */

/* Write value to dirfd/file; the error names the file and the value:
 * `cgroup memory.max = "1048576": Device or resource busy`. */
int md_cg_write(int dirfd, const char *file, const char *value, md_error *err);
/* Read dirfd/file into buf (NUL-terminated, trailing newline cut). */
int md_cg_read(int dirfd, const char *file, char *buf, size_t size, md_error *err);
/* Make every directory of path under rootfd (mkdir -p), returning an
 * O_DIRECTORY fd of the last. */
int md_cg_mkdirs(int rootfd, const char *path, md_error *err);
/* Remove path under rootfd and its (empty) child cgroups, deepest first. */
int md_cg_rmdirs(int rootfd, const char *path, md_error *err);
/* md_cg_own_path() from host's copy of /proc/self/cgroup. */
char *md_cg_host_own_path(struct md_cgroup_host *host, const char *controller, md_error *err);
/* Parse a list of pids (cgroup.procs); caller frees *pids. */
int md_cg_read_pids(int dirfd, const char *file, pid_t **pids, size_t *n, md_error *err);

/* The cgroupfs manager's rule for linux.cgroupsPath, as runc's: an
 * absolute path is taken as is (relative to the hierarchy root); a relative
 * one goes under base; unset means base/<id>.  base is this process's own
 * cgroup in the hierarchy (v1), or its parent on v2 (our own cgroup holds
 * processes, so no controllers could be enabled below it).  The result is
 * normalized ("/a/b": one leading slash, no empty or "." components); a
 * ".." component is refused.  Caller frees *out. */
int md_cg_path_resolve(const char *cgroups_path, const char *id, const char *base, char **out,
                       md_error *err);

/* Whether r asks for any limit (memory, cpu, blockIO, hugepages, network,
 * pids, rdma, unified); device rules do not count. */
bool md_cg_wants_limits(const md_resources *r);

/* The device rules to enforce at create: linux.resources.devices in order,
 * then the devices every container may use whatever the config says, as
 * runc appends them (mknod of any block or char device; /dev/null, zero,
 * full, random, urandom, tty, ptmx, pts/<any>, net/tun).  Nothing (*rules
 * NULL, *n 0) when the config has no device rules: nothing to restrict.
 * Caller frees *rules (an array; its strings are static or borrowed from r). */
int md_cg_device_rules(const md_resources *r, md_device_rule **rules, size_t *n, md_error *err);

#endif
