/* cgroup.h - the container's control group, behind one interface with a
 * driver for each kind of host:
 *
 *   cgroup v2 (pure unified)    cgroup-v2.c, cgroupfs, or systemd (a transient
 *                               scope through sd-bus, cgroup-systemd.c)
 *   cgroup v1                   cgroup-v1.c, one directory per controller
 *   hybrid (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified,
 *           like this project's CI host): cgroup-v1.c for resources, with
 *           membership kept consistent in the unified tree
 *
 * Lifecycle: md_cgroup_create() before the container process exists (so a
 * v2 cgroup can take it at birth with clone3 CLONE_INTO_CGROUP), or its
 * two halves md_cgroup_plan() and md_cgroup_make() with the plan recorded
 * in between;
 * md_cgroup_enter() for the processes that could not be born into it;
 * md_cgroup_apply() at create and for `update`; md_cgroup_open() from the
 * state record for pause, resume, update, ps, events, kill --all and
 * delete; md_cgroup_destroy() at delete or when create fails.
 *
 * A NULL struct md_cgroup * means "no cgroup" everywhere: enter, destroy
 * and free do nothing, clone_fd gives -1, is_frozen false, oom_fd -1, and
 * the others fail with errnum ENODEV, "the container has no cgroup".
 */
#ifndef MD_CGROUP_H
#define MD_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spec.h"
#include "state.h"

#define MD_CGROUP_ROOT    "/sys/fs/cgroup"
#define MD_CGROUP_UNIFIED "/sys/fs/cgroup/unified" /* hybrid hosts */

enum md_cg_layout { MD_CG_NONE, MD_CG_V1, MD_CG_HYBRID, MD_CG_V2 };
enum md_cg_manager { MD_CGM_CGROUPFS, MD_CGM_SYSTEMD, MD_CGM_DISABLED };

/* What the host has, from statfs(2) of /sys/fs/cgroup (and .../unified). */
enum md_cg_layout md_cgroup_layout(void);
const char *md_cgroup_layout_name(enum md_cg_layout layout); /* "v1", "hybrid", "v2", "none" */

/* "cgroupfs", "systemd", "disabled"; NULL means the default (cgroupfs). */
int md_cgroup_manager_parse(const char *name, enum md_cg_manager *out, md_error *err);

/* What this process sees of the host's cgroups: the layout, its own
 * cgroups (/proc/self/cgroup) and, on v1 and hybrid hosts, the mounted
 * hierarchies (/proc/self/mountinfo, /proc/cgroups).  Each is read when
 * first needed and kept, so the calls of one command that share a host
 * (md_cgroup_request.host) read each file once.  It describes the process
 * that made it, as long as that process stays in its cgroups and mounts:
 * a child in other cgroups or namespaces must not use it.  NULL from new:
 * out of memory. */
struct md_cgroup_host;
struct md_cgroup_host *md_cgroup_host_new(void);
void md_cgroup_host_free(struct md_cgroup_host *host);

/* This process's cgroup in the unified hierarchy ("0::/path" of
 * /proc/self/cgroup, controller NULL or "") or in the v1 hierarchy of
 * controller (read anew on each call); caller frees. */
char *md_cg_own_path(const char *controller, md_error *err);
/* Whether a rootless caller can make mount+path (a hierarchy's mount
 * point, e.g. "/sys/fs/cgroup", and the container's cgroup in it) and move
 * its processes there: the deepest existing directory of it and its
 * cgroup.procs are writable by us. */
bool md_cg_delegated_at(const char *mount, const char *path);

struct md_cgroup_request {
    const char *id;                /* the container id */
    const char *cgroups_path;      /* linux.cgroupsPath, NULL when unset */
    const md_resources *resources; /* NULL when unset */
    enum md_cg_manager manager;
    bool rootless;       /* mdrun runs without real root */
    bool cgroup_ns;      /* the container gets a new cgroup namespace */
    bool writable_mount; /* config mounts cgroup at /sys/fs/cgroup without "ro" */
    uid_t root_uid;      /* host uid of the container's process user, for */
    gid_t root_gid;      /* the delegation chown (runtime-spec "Cgroup ownership") */
    /* Borrowed, and kept by the cgroup that plan or create returns (free
     * the host after it); NULL: each call reads the host for itself. */
    struct md_cgroup_host *host;
};

struct md_cgroup;

/* Check what can be checked without creating anything: resources the host
 * cannot apply (e.g. `unified` on a v1 host, hugetlb sizes it lacks) are
 * refused here, before the container exists, with a message that says why.
 * A rootless caller without a delegated cgroup asking for limits is refused
 * with how to get delegation. */
int md_cgroup_check(const struct md_cgroup_request *req, md_error *err);

/* Create the container's cgroup and apply req->resources.  *out is NULL
 * (and 0 is returned) when the container runs without a cgroup: manager
 * "disabled", or rootless without delegation and no resources asked (said
 * at debug level). */
int md_cgroup_create(const struct md_cgroup_request *req, struct md_cgroup **out, md_error *err);
/* md_cgroup_create in two halves, so that a create killed half way leaves
 * nothing that delete cannot find: plan decides the cgroup (its driver and
 * paths; *out NULL and 0 when there is none) and makes nothing, the caller
 * records it (md_cgroup_record), then make creates it and applies
 * req->resources (the same req); record again after it (the systemd
 * driver names its unit only then).  After a failed make (or a killed
 * one, through the record), md_cgroup_destroy removes what was made:
 * whatever the plan names and does not exist is skipped. */
int md_cgroup_plan(const struct md_cgroup_request *req, struct md_cgroup **out, md_error *err);
int md_cgroup_make(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err);

/* An O_PATH|O_DIRECTORY fd of the cgroup2 directory the process can be
 * born into (clone3 CLONE_INTO_CGROUP), or -1 when it must be moved with
 * md_cgroup_enter() (v1, hybrid, no cgroup). */
int md_cgroup_clone_fd(const struct md_cgroup *cg);
/* Move pid into the cgroup, in every hierarchy. */
int md_cgroup_enter(struct md_cgroup *cg, pid_t pid, md_error *err);
/* Write resources for `update` (create applies req->resources itself).
 * Device rules are left as they are, as runc update does. */
int md_cgroup_apply(struct md_cgroup *cg, const md_resources *r, md_error *err);

/* The state record's cgroup fields (cgroup_path, cgroup_manager,
 * systemd_cgroup, cgroup_unit, cgroup_scope, cgroup_paths; copies the
 * record owns), and back.  cg NULL records "no cgroup". */
int md_cgroup_record(const struct md_cgroup *cg, md_state_record *rec, md_error *err);
/* *out NULL when the record has no cgroup. */
int md_cgroup_open(const md_state_record *rec, struct md_cgroup **out, md_error *err);

/* pause/resume: v2 cgroup.freeze, v1 freezer.state; waits until done. */
int md_cgroup_freeze(struct md_cgroup *cg, bool frozen, md_error *err);
/* Whether the cgroup is frozen (status "paused"). */
bool md_cgroup_is_frozen(struct md_cgroup *cg);
/* Every process of the cgroup (and its descendants); caller frees. */
int md_cgroup_pids(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err);
/* kill --all: SIGKILL through cgroup.kill where the kernel has it. */
int md_cgroup_signal_all(struct md_cgroup *cg, int sig, md_error *err);

/* Usage numbers for `events --stats` (0 when unknown). */
struct md_cgroup_stats {
    /* memory_swap_usage is memory + swap, as runc reports it on both
     * versions (v1 memory.memsw.usage_in_bytes; v2 memory.swap.current +
     * memory.current). */
    uint64_t memory_usage, memory_max_usage, memory_limit, memory_swap_usage;
    uint64_t oom_kills; /* OOM kills since creation */
    uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
    uint64_t cpu_throttled_periods, cpu_throttled_ns;
    uint64_t pids_current, pids_limit;
};
int md_cgroup_stats(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err);
/* An fd that polls readable when the OOM counters may have changed
 * (inotify on v2 memory.events, an eventfd on v1 memory.oom_control); -1
 * when the host cannot tell. */
int md_cgroup_oom_fd(struct md_cgroup *cg, md_error *err);

/* Remove the cgroup (killing what is left in it) and, with systemd, stop
 * the scope.  Frees nothing: call md_cgroup_free() after. */
int md_cgroup_destroy(struct md_cgroup *cg, md_error *err);
void md_cgroup_free(struct md_cgroup *cg);

/* Conversions runc and crun share, for v2: cpu.shares (2..262144) to
 * cpu.weight (1..10000), blkio weight (10..1000) to io.weight (1..10000). */
uint64_t md_cgroup_shares_to_weight(uint64_t shares);
uint64_t md_cgroup_blkio_to_io_weight(uint64_t weight);

#endif
