/* create.c - mdrun's side of creating a container: check everything,
 * fork the container process, walk it through its stages (sync.h), record
 * the container, and undo it all when anything fails. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "clone.h"
#include "container.h"
#include "error.h"
#include "fileio.h"
#include "hooks.h"
#include "log.h"
#include "procattr.h"
#include "protect.h"
#include "rlimit.h"
#include "seccomp.h"
#include "slirp.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "validate.h"

/* What create holds while it works, released by cleanup(). */
struct creating {
    struct md_container c;
    char *config_text; /* config.json as read, for the state directory's copy */
    size_t config_len;
    char *last_record; /* the status record as last written */
    char *root_path;
    int root_fd;
    int dir_fd; /* the container directory, locked */
    bool dir_made;
    int sync_fd;      /* mdrun's end */
    pid_t helper_pid; /* the first container process, when it forks the init */
    int helper_pidfd;
    pid_t pid; /* the init */
    int pidfd;
    int master;            /* pty master received from the container */
    bool hooks_started;    /* prestart/createRuntime ran: poststop is owed on failure */
    char created[64];      /* when, RFC 3339 */
    struct md_cgroup *cg;  /* NULL: the container runs without a cgroup */
    md_state_record cgrec; /* only its cgroup fields, for the record */
    /* What cgroup check, plan and make read of the host, read once. */
    struct md_cgroup_host *cg_host;
    struct md_net_plan net;
    struct md_slirp slirp; /* slirp4netns, when net.slirp */
};

/* ------------------------------------------------------------- preparing */

static int load_bundle(struct creating *cr, md_error *err)
{
    struct md_container *c = &cr->c;
    md_errors problems = {0};
    if (md_bundle_load_text(c->opts->bundle, &c->spec, &cr->config_text, &cr->config_len,
                            &problems) < 0) {
        /* Every problem is reported, one line each; the last is the error. */
        for (size_t i = 0; i + 1 < problems.n; i++)
            md_log_error(problems.msgs[i]);
        md_failx(err, EINVAL, "%s", problems.n ? problems.msgs[problems.n - 1] : "invalid bundle");
        md_errors_clear(&problems);
        return -1;
    }
    c->bundle = realpath(c->opts->bundle ? c->opts->bundle : ".", NULL);
    if (!c->bundle)
        return md_fail(err, errno, "bundle %s", c->opts->bundle ? c->opts->bundle : ".");
    const char *root = c->spec->root->path;
    md_autofree char *joined = NULL;
    if (root[0] != '/' && asprintf(&joined, "%s/%s", c->bundle, root) < 0)
        return md_fail(err, ENOMEM, "root.path");
    /* Canonicalized once, here: the container process uses this path. */
    c->rootfs = realpath(joined ? joined : root, NULL);
    if (!c->rootfs)
        return md_fail(err, errno, "root.path %s", joined ? joined : root);
    return 0;
}

/* LISTEN_FDS/LISTEN_PID meant for us (socket activation) are passed on
 * to the container as fds 3.., before the --preserve-fds ones. */
static unsigned listen_fds(void)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    if (!fds || !pid || atol(pid) != (long)getpid())
        return 0;
    long n = atol(fds);
    return n > 0 && n < 1024 ? (unsigned)n : 0;
}

static int build_argv_env(struct creating *cr, md_error *err)
{
    struct md_container *c = &cr->c;
    const md_process *p = c->spec->process;
    unsigned listen = listen_fds();
    c->keep_fds = listen + c->opts->preserve_fds;
    c->argv = calloc(p->n_args + 1, sizeof(char *));
    c->env = calloc(p->n_env + 3, sizeof(char *));
    if (!c->argv || !c->env)
        return md_fail(err, ENOMEM, "process");
    memcpy(c->argv, p->args, p->n_args * sizeof(char *));
    if (p->n_env) /* env may be NULL: no process.env */
        memcpy(c->env, p->env, p->n_env * sizeof(char *));
    c->n_env = p->n_env;
    c->listen_pid_var = -1;
    if (listen > 0) {
        /* LISTEN_PID is filled in by the container process before exec:
         * only it knows its pid as its program will see it. */
        static char fds_var[32];
        snprintf(fds_var, sizeof(fds_var), "LISTEN_FDS=%u", listen);
        c->env[c->n_env++] = fds_var;
        c->listen_pid_var = (int)c->n_env;
        c->env[c->n_env++] = "LISTEN_PID=1";
    }
    return 0;
}

/* The root filesystem is built in the container's mount namespace: in
 * mdrun's own it would pivot the host's root and mount over it. */
static bool has_mount_ns(const struct md_ns_plan *ns)
{
    if (ns->unshare_flags & CLONE_NEWNS)
        return true;
    for (size_t i = 0; i < ns->n_joins; i++)
        if (ns->joins[i].type == CLONE_NEWNS)
            return true;
    return false;
}

/* ---------------------------------------------------------------- cgroup */

/* The host id that container id maps to: through the new user
 * namespace's maps, or itself without one. */
static uint32_t host_id(const md_idmap *maps, size_t n, bool mapped, uint32_t id)
{
    for (size_t i = 0; mapped && i < n; i++)
        if (id >= maps[i].container_id && id - maps[i].container_id < maps[i].size)
            return maps[i].host_id + (id - maps[i].container_id);
    return id;
}

/* Whether the config mounts the cgroup filesystem writable at
 * /sys/fs/cgroup: with a cgroup namespace, the container then gets its
 * cgroup delegated (runtime-spec "Cgroup ownership"). */
static bool writable_cgroup_mount(const md_spec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++) {
        const md_mount *m = &spec->mounts[i];
        if (!m->type || strcmp(m->type, "cgroup") != 0 || !m->destination ||
            strcmp(m->destination, "/sys/fs/cgroup") != 0)
            continue;
        for (size_t j = 0; j < m->n_options; j++)
            if (strcmp(m->options[j], "ro") == 0)
                return false;
        return true;
    }
    return false;
}

static int cgroup_request(struct creating *cr, struct md_cgroup_request *req, md_error *err)
{
    const struct md_container *c = &cr->c;
    const md_linux *lx = c->spec->linux_;
    const md_user *user = c->spec->process->user;
    memset(req, 0, sizeof(*req));
    if (md_cgroup_manager_parse(c->opts->cgroup_manager, &req->manager, err) < 0)
        return -1;
    if (!cr->cg_host && !(cr->cg_host = md_cgroup_host_new()))
        return md_fail(err, ENOMEM, "cgroup");
    req->host = cr->cg_host;
    req->id = c->opts->id;
    req->cgroups_path = lx ? lx->cgroups_path : NULL;
    req->resources = lx ? lx->resources : NULL;
    req->rootless = c->rootless;
    req->cgroup_ns = (c->ns.unshare_flags & CLONE_NEWCGROUP) != 0;
    req->writable_mount = writable_cgroup_mount(c->spec);
    req->root_uid = host_id(c->maps.uid, c->maps.n_uid, c->ns.new_user, user ? user->uid : 0);
    req->root_gid = host_id(c->maps.gid, c->maps.n_gid, c->ns.new_user, user ? user->gid : 0);
    return 0;
}

static int record(struct creating *cr, md_error *err);

/* Made before the container process, so that a cgroup v2 can take it at
 * birth (clone3 CLONE_INTO_CGROUP); its paths are recorded before any is
 * made, so that a create killed from now on leaves a cgroup that delete
 * finds, and recorded again once made (a systemd unit is named then). */
static int make_cgroup(struct creating *cr, md_error *err)
{
    struct md_cgroup_request req;
    if (cgroup_request(cr, &req, err) < 0 || md_cgroup_plan(&req, &cr->cg, err) < 0)
        return -1;
    if (cr->cg && (md_cgroup_record(cr->cg, &cr->cgrec, err) < 0 || record(cr, err) < 0))
        return -1;
    if (md_cgroup_make(cr->cg, &req, err) < 0 || md_cgroup_record(cr->cg, &cr->cgrec, err) < 0 ||
        record(cr, err) < 0)
        return -1;
    md_debug("create: cgroup recorded");
    return 0;
}

static int prepare(struct creating *cr, md_error *err)
{
    struct md_container *c = &cr->c;
    if (md_id_validate(c->opts->id, err) < 0 || load_bundle(cr, err) < 0 ||
        build_argv_env(cr, err) < 0)
        return -1;
    c->rootless = geteuid() != 0 || !md_in_initial_userns();
    if (md_ns_plan_open(c->spec->linux_, &c->ns, err) < 0)
        return -1;
    /* Root of a user namespace (Podman's rootless one) may make the other
     * namespaces in it: only a non-root caller needs a new one. */
    if (geteuid() != 0 && !c->ns.new_user && !c->ns.join_user)
        return md_failx(err, EPERM,
                        "linux.namespaces: running without root needs a user namespace "
                        "(add {\"type\": \"user\"}; `mdrun spec --rootless` does)");
    if (!has_mount_ns(&c->ns))
        return md_failx(err, EINVAL,
                        "linux.namespaces: mdrun needs a mount namespace to build the root "
                        "filesystem in (add {\"type\": \"mount\"})");
    if (c->spec->process->terminal && !c->opts->console_socket && !c->opts->foreground_tty)
        return md_failx(err, EINVAL,
                        "process.terminal is true: --console-socket is needed to receive the "
                        "terminal (or use `mdrun run` in the foreground)");
    if (c->ns.new_user) {
        struct md_id_caller caller;
        md_id_caller_ids(&caller);
        if (md_userns_plan(c->spec, &caller, &c->maps, err) < 0)
            return -1;
    }
    /* Limits the host cannot apply are refused before anything exists. */
    struct md_cgroup_request req;
    if (cgroup_request(cr, &req, err) < 0 || md_cgroup_check(&req, err) < 0)
        return -1;
    /* Compiled here, before the fork: the container process only loads it. */
    const md_linux *lx = c->spec->linux_;
    if (lx && lx->seccomp && md_seccomp_prepare(lx->seccomp, NULL, &c->seccomp, err) < 0)
        return -1;
    return md_net_plan_make(c->opts->net, c->opts->publish, c->opts->n_publish, c->spec, &c->ns,
                            &cr->net, err);
}

/* The container directory: locked, with a copy of the config (later
 * changes to config.json must not affect the container) and exec.fifo. */
static int make_state(struct creating *cr, md_error *err)
{
    if (md_state_root_open(cr->c.opts->root, true, &cr->root_path, &cr->root_fd, err) < 0)
        return -1;
    cr->dir_fd = md_state_create(cr->root_fd, cr->c.opts->id, err);
    if (cr->dir_fd < 0)
        return -1;
    cr->dir_made = true;
    /* The bytes read, not the spec encoded again: nothing changed it. */
    if (md_write_file_atomic(cr->dir_fd, "config.json", cr->config_text, cr->config_len, 0600,
                             err) < 0 ||
        md_state_fifo_create(cr->dir_fd, err) < 0)
        return -1;
    free(cr->config_text);
    cr->config_text = NULL;
    /* Opened for reading without blocking: the container process waits on
     * it for `start`, which writes one byte. */
    cr->c.fifo_fd = openat(cr->dir_fd, MD_STATE_EXEC_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (cr->c.fifo_fd < 0)
        return md_fail(err, errno, "open %s", MD_STATE_EXEC_FIFO);
    md_debug("create: state directory ready");
    return 0;
}

/* -------------------------------------------------------------- spawning */

static int spawn(struct creating *cr, md_error *err)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return md_fail(err, errno, "socketpair");
    cr->sync_fd = pair[0];
    cr->c.sync_fd = pair[1];
    cr->c.parent = getpid();
    cr->c.state_fds[0] = cr->root_fd;
    cr->c.state_fds[1] = cr->dir_fd;
    int pidfd = -1;
    int cgroup_fd = md_cgroup_clone_fd(cr->cg);
    /* What loading the config freed goes back to the system first: the
     * container process is a copy of this one, and mdrun waits on through
     * `run` (the smallest memory.max a container runs under). */
    malloc_trim(0);
    struct md_ns_plan *ns = &cr->c.ns;
    /* Born in its namespaces, when it can be: no second process to fork
     * the init, and fewer steps with the container process. */
    ns->at_birth = md_ns_birth_flags(ns, cgroup_fd >= 0 || !cr->cg);
    struct clone_args args = {
        .flags = CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0) | (uint64_t)ns->at_birth,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
        .cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0,
    };
    long pid = md_clone3(&args);
    if (pid < 0 && ns->at_birth) {
        /* The container process makes them then, and says what fails. */
        md_debug("clone3 with the namespaces: %s; making them in the process", strerror(errno));
        args.flags &= ~(uint64_t)ns->at_birth;
        ns->at_birth = 0;
        pid = md_clone3(&args);
    }
    if (pid < 0 && cgroup_fd >= 0) {
        /* Born elsewhere and moved: an older kernel, or a cgroup the
         * kernel will not let us clone into. */
        md_debug("clone3 into the cgroup: %s; moving the process instead", strerror(errno));
        args.flags &= ~(uint64_t)CLONE_INTO_CGROUP;
        args.cgroup = 0;
        cgroup_fd = -1;
        pid = md_clone3(&args);
    }
    if (pid < 0)
        return md_fail(err, errno, "fork the container process");
    if (pid == 0) {
        close(cr->sync_fd);
        md_init_main(&cr->c);
    }
    close(cr->c.sync_fd);
    cr->c.sync_fd = -1;
    cr->helper_pid = (pid_t)pid;
    cr->helper_pidfd = pidfd;
    /* Before the process goes on: it unshares its cgroup namespace and
     * forks the init, which must both happen inside the cgroup. */
    if (cgroup_fd < 0 && md_cgroup_enter(cr->cg, cr->helper_pid, err) < 0)
        return -1;
    md_debug("create: container process %d forked", (int)cr->helper_pid);
    return 0;
}

/* ------------------------------------------------------------ the stages */

static void state_info(struct creating *cr, enum md_status status, md_state_info *info)
{
    memset(info, 0, sizeof(*info));
    info->rec.id = (char *)cr->c.opts->id;
    info->rec.bundle = cr->c.bundle;
    info->rec.rootfs = cr->c.rootfs;
    info->rec.pid = cr->pid;
    info->rec.owner = geteuid();
    info->rec.rootless = cr->c.rootless;
    info->rec.annotations = cr->c.spec->annotations;
    info->rec.n_annotations = cr->c.spec->n_annotations;
    info->rec.config = "config.json";
    info->rec.console_socket = (char *)cr->c.opts->console_socket;
    info->rec.pid_file = (char *)cr->c.opts->pid_file;
    info->rec.created = cr->created;
    info->rec.cgroup_path = cr->cgrec.cgroup_path;
    info->rec.cgroup_manager = cr->cgrec.cgroup_manager;
    info->rec.systemd_cgroup = cr->cgrec.systemd_cgroup;
    info->rec.cgroup_unit = cr->cgrec.cgroup_unit;
    info->rec.cgroup_scope = cr->cgrec.cgroup_scope;
    info->rec.cgroup_paths = cr->cgrec.cgroup_paths;
    info->rec.n_cgroup_paths = cr->cgrec.n_cgroup_paths;
    info->rec.has_net_helper_pid = info->rec.has_net_helper_start_time = cr->slirp.pid > 0;
    info->rec.net_helper_pid = cr->slirp.pid;
    info->rec.net_helper_start_time = cr->slirp.start_time;
    const md_hooks *h = cr->c.spec->hooks;
    info->rec.has_post_hooks = true;
    info->rec.post_hooks = h ? (uint32_t)(h->n_poststart + h->n_poststop) : 0;
    info->has_record = true;
    info->status = status;
}

static int hook_state(struct creating *cr, enum md_status status, char **json, md_error *err)
{
    md_state_info info;
    state_info(cr, status, &info);
    return md_state_json(&info, json, NULL, err);
}

/* Record the container: as soon as its cgroup exists (no pid yet), again
 * once the init's pid is known, so that `delete --force` can clean up
 * after a create that was killed halfway. */
static int record(struct creating *cr, md_error *err)
{
    if (!cr->created[0])
        md_state_timestamp(cr->created, sizeof(cr->created));
    md_state_info info;
    state_info(cr, MD_STATUS_CREATING, &info);
    char st;
    if (cr->pid > 0 && md_proc_stat(cr->pid, &st, &info.rec.start_time) < 0)
        return md_fail(err, errno, "read /proc/%d/stat", (int)cr->pid);
    return md_state_record_write(cr->dir_fd, &info.rec, &cr->last_record, err);
}

/* slirp4netns, on the namespaces the init now has; recorded at once so
 * that delete stops it whatever happens to this create. */
static int start_network(struct creating *cr, md_error *err)
{
    if (!cr->net.slirp)
        return 0;
    int rc =
        md_slirp_start(&cr->net, cr->pid, cr->pidfd, cr->dir_fd, cr->c.rootless, &cr->slirp, err);
    return rc < 0 ? rc : record(cr, err);
}

static int runtime_hooks(struct creating *cr, md_error *err)
{
    const md_hooks *h = cr->c.spec->hooks;
    if (!h || (!h->n_prestart && !h->n_create_runtime))
        return 0;
    md_autofree char *json = NULL;
    if (hook_state(cr, MD_STATUS_CREATING, &json, err) < 0)
        return -1;
    cr->hooks_started = true;
    if (md_hooks_run("prestart", h->prestart, h->n_prestart, json, err) < 0 ||
        md_hooks_run("createRuntime", h->create_runtime, h->n_create_runtime, json, err) < 0)
        return -1;
    return 0;
}

static int write_maps(struct creating *cr, md_error *err)
{
    if (md_userns_write(cr->helper_pid, &cr->c.maps, err) < 0)
        return -1;
    md_debug("create: id maps written");
    return 0;
}

/* From the namespaces to the init's pid: the user namespace's maps are
 * written here (before START when the process was born in it), and the
 * init may be a second process (fork_init). */
static int stage_namespaces(struct creating *cr, md_error *err)
{
    struct md_container *c = &cr->c;
    struct md_sync_msg msg;
    const md_process *p = c->spec->process;
    bool born_mapped = (c->ns.at_birth & CLONE_NEWUSER) != 0;
    /* oom_score_adj too is inherited by the init the process may fork;
     * written now, while its /proc files are still ours to write (it turns
     * non-dumpable when it joins namespaces, see init.c). */
    if (md_rlimits_apply(cr->helper_pid, p->rlimits, p->n_rlimits, err) < 0 ||
        (p->has_oom_score_adj &&
         md_oom_score_adj_apply(cr->helper_pid, p->oom_score_adj, err) < 0) ||
        (born_mapped && write_maps(cr, err) < 0) ||
        md_sync_send(cr->sync_fd, MD_SYNC_START, 0, NULL, -1, err) < 0)
        return -1;
    if (c->ns.new_user && !born_mapped) {
        if (md_sync_expect(cr->sync_fd, MD_SYNC_USERNS, &msg, NULL, err) < 0 ||
            write_maps(cr, err) < 0 ||
            md_sync_send(cr->sync_fd, MD_SYNC_MAPPED, 0, NULL, -1, err) < 0)
            return -1;
    }
    if (md_ns_needs_fork(&c->ns)) {
        if (md_sync_expect(cr->sync_fd, MD_SYNC_INIT_PID, &msg, NULL, err) < 0)
            return -1;
        cr->pid = msg.value;
        md_reap(cr->helper_pid);
        cr->helper_pid = 0;
        md_close_fd(&cr->helper_pidfd);
        cr->pidfd = md_pidfd_open(cr->pid);
        if (cr->pidfd < 0 && errno != ENOSYS)
            return md_fail(err, errno, "pidfd_open %d", (int)cr->pid);
    } else {
        cr->pid = cr->helper_pid;
        cr->pidfd = md_take_fd(&cr->helper_pidfd);
        cr->helper_pid = 0;
    }
    /* Without pidfds (clone.h) run waits as the init's parent, but its
     * terminal relay needs the pidfd: refused before any hook has run. */
    if (cr->pidfd < 0 && cr->c.opts->foreground_tty && cr->c.spec->process->terminal)
        return md_failx(err, ENOSYS, "run with a terminal needs pidfd_open(2) (Linux 5.3)");
    if (md_sync_expect(cr->sync_fd, MD_SYNC_NS_READY, &msg, NULL, err) < 0)
        return -1;
    md_debug("create: init %d in its namespaces", (int)cr->pid);
    return 0;
}

/* The container process loaded a filter with SCMP_ACT_NOTIFY: pass its
 * listener on to the agent at linux.seccomp.listenerPath. */
static int seccomp_listener(struct creating *cr, md_error *err)
{
    struct md_sync_msg msg;
    md_autofd listener = -1;
    if (md_sync_expect(cr->sync_fd, MD_SYNC_SECCOMP, &msg, &listener, err) < 0)
        return -1;
    if (listener < 0)
        return md_failx(err, EPROTO, "sync: the seccomp message carried no listener");
    md_state_info info;
    state_info(cr, MD_STATUS_CREATING, &info);
    return md_seccomp_send_listener(cr->c.spec->linux_->seccomp, listener, cr->pid, &info, err);
}

static int stage_build(struct creating *cr, md_error *err)
{
    struct md_sync_msg msg;
    const md_process *p = cr->c.spec->process;
    if (record(cr, err) < 0 || start_network(cr, err) < 0)
        return -1;
    md_debug("create: recorded init %d", (int)cr->pid);
    if (runtime_hooks(cr, err) < 0 ||
        md_sync_send(cr->sync_fd, MD_SYNC_SETUP, 0, NULL, -1, err) < 0)
        return -1;
    md_debug("create: setup sent");
    if (p->terminal) {
        int master = -1;
        if (md_sync_expect(cr->sync_fd, MD_SYNC_CONSOLE, &msg, &master, err) < 0)
            return -1;
        if (master < 0)
            return md_failx(err, EPROTO, "sync: the console message carried no terminal");
        cr->master = master;
        if (cr->c.console_fd >= 0) {
            int rc = md_console_socket_send(cr->c.console_fd, master, msg.text, err);
            md_close_fd(&cr->master);
            if (rc < 0)
                return -1;
        }
    }
    if (cr->c.seccomp && cr->c.seccomp->notify && seccomp_listener(cr, err) < 0)
        return -1;
    if (md_sync_expect(cr->sync_fd, MD_SYNC_CREATED, &msg, NULL, err) < 0)
        return -1;
    md_debug("create: the init reports created");
    return 0;
}

int md_pid_file_write(const char *path, pid_t pid, md_error *err)
{
    md_autofree char *copy = strdup(path);
    md_autofree char *dir_copy = strdup(path);
    if (!copy || !dir_copy)
        return md_fail(err, ENOMEM, "--pid-file");
    char *slash = strrchr(dir_copy, '/');
    const char *name = slash ? slash + 1 : dir_copy;
    if (slash)
        *slash = '\0';
    md_autofd dir =
        open(slash ? (*dir_copy ? dir_copy : "/") : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return md_fail(err, errno, "--pid-file %s", path);
    char text[32];
    int n = snprintf(text, sizeof(text), "%d", (int)pid);
    if (md_write_file_atomic(dir, name, text, (size_t)n, 0644, err) < 0)
        return md_wrap(err, "--pid-file %s", path);
    return 0;
}

/* ------------------------------------------------------------- undoing */

static void cleanup(struct creating *cr, bool failed)
{
    struct md_container *c = &cr->c;
    if (failed) {
        md_kill_and_reap(cr->helper_pid, cr->helper_pidfd);
        md_kill_and_reap(cr->pid, cr->pidfd);
        const md_hooks *h = c->spec ? c->spec->hooks : NULL;
        if (cr->hooks_started && h && h->n_poststop) {
            /* A failed hook stops the container and runs poststop (runtime.md). */
            md_error hook_err = {0};
            md_autofree char *json = NULL;
            if (hook_state(cr, MD_STATUS_STOPPED, &json, &hook_err) < 0)
                md_warn("%s", hook_err.msg);
            else
                md_hooks_run_warn("poststop", h->poststop, h->n_poststop, json);
            md_error_clear(&hook_err);
        }
        md_slirp_kill(&cr->slirp);
        md_close_fd(&cr->pidfd);
        md_close_fd(&cr->master);
        md_error cg_err = {0};
        if (md_cgroup_destroy(cr->cg, &cg_err) < 0)
            md_warn("%s", cg_err.msg);
        md_error_clear(&cg_err);
        if (cr->dir_made) {
            md_error ignored = {0};
            md_state_remove(cr->root_fd, c->opts->id, &ignored);
            md_error_clear(&ignored);
        }
    }
    md_close_fd(&cr->helper_pidfd);
    md_close_fd(&cr->slirp.pidfd);
    md_net_plan_free(&cr->net);
    md_close_fd(&cr->sync_fd);
    md_close_fd(&c->fifo_fd);
    md_close_fd(&c->console_fd);
    md_close_fd(&cr->dir_fd);
    md_close_fd(&cr->root_fd);
    md_cgroup_free(cr->cg);
    md_cgroup_host_free(cr->cg_host);
    md_state_record_free(&cr->cgrec);
    md_ns_plan_close(&c->ns);
    md_idmaps_free(&c->maps);
    free(c->argv);
    free(c->env);
    free(c->bundle);
    free(c->rootfs);
    free(cr->root_path);
    free(cr->config_text);
    free(cr->last_record);
    md_seccomp_program_free(c->seccomp);
    md_spec_free(c->spec);
}

int md_container_create(const struct md_create_opts *opts, struct md_created *out, md_error *err)
{
    struct creating cr = {
        .c = {.opts = opts, .sync_fd = -1, .fifo_fd = -1, .console_fd = -1},
        .root_fd = -1,
        .dir_fd = -1,
        .sync_fd = -1,
        .helper_pidfd = -1,
        .pidfd = -1,
        .master = -1,
        .slirp = {.pidfd = -1},
    };
    int rc = prepare(&cr, err);
    /* Root's container process leaves mdrun's binary through the exec
     * step (protect.h); create applies no LSM label. */
    if (rc == 0)
        rc = md_protect_exec_step(false, err);
    if (rc == 0 && opts->console_socket && cr.c.spec->process->terminal) {
        cr.c.console_fd = md_console_socket_connect(opts->console_socket, err);
        rc = cr.c.console_fd < 0 ? -1 : 0;
    }
    if (rc == 0)
        rc = make_state(&cr, err);
    if (rc == 0)
        rc = make_cgroup(&cr, err);
    if (rc == 0)
        rc = spawn(&cr, err);
    if (rc == 0)
        rc = stage_namespaces(&cr, err);
    if (rc == 0)
        rc = stage_build(&cr, err);
    if (rc == 0 && opts->pid_file)
        rc = md_pid_file_write(opts->pid_file, cr.pid, err);
    if (rc == 0 && out) {
        out->pid = cr.pid;
        out->pidfd = md_take_fd(&cr.pidfd);
        out->master = md_take_fd(&cr.master);
    }
    if (rc == 0) {
        md_close_fd(&cr.pidfd);
        md_close_fd(&cr.master);
        md_debug("create: done");
    }
    cleanup(&cr, rc < 0);
    return rc;
}
