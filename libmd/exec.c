/* exec.c - `mdrun exec`: one more process in a running container.
 *
 * Process model (P = mdrun, H = helper, X = the exec'd process):
 *
 *   P  loads the container's state and saved config, builds the process
 *      (config defaults, command-line overrides, or --process FILE), opens
 *      a pidfd on the container's init, its /proc/PID/ns files and root,
 *      and forks H.
 *   P  moves H into the container's cgroup and sets H's rlimits (prlimit)
 *      and oom_score_adj while H is still outside every namespace, then
 *      says START.
 *   H  joins every namespace the init has and mdrun has not, all at once
 *      with setns(pidfd, flags) (Linux 5.8), else one at a time through
 *      the /proc/PID/ns fds, user namespace first; the cgroup namespace is
 *      joined after the cgroup.  A pid (and time) namespace takes effect
 *      only for children: H forks X with CLONE_PARENT, so that X is P's
 *      child and P can wait for it, reports X's pid (INIT_PID) and exits.
 *   X  takes the init's root (fchdir to the /proc/PID/root fd P opened,
 *      chroot), opens its terminal there and sends the master (CONSOLE),
 *      joins the container's session keyring, sets its LSM labels, enters
 *      its cwd, switches to its user with its capabilities, sets
 *      no_new_privs, loads the container's seccomp filter (a notify
 *      listener goes to P over SECCOMP), marks every fd above
 *      2 + --preserve-fds close-on-exec, says CREATED and execs.  The sync
 *      socket closing at execve(2) tells P that it ran; a failed execve
 *      comes as an ERROR message instead.
 *   P  writes --pid-file; detached, it returns; in the foreground it
 *      forwards signals (or relays the terminal) until X exits, and
 *      returns X's exit code (128 + signal when killed), as `run` does.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "clone.h"
#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "execpath.h"
#include "fileio.h"
#include "identity.h"
#include "log.h"
#include "procattr.h"
#include "protect.h"
#include "rlimit.h"
#include "seccomp.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"
#include "validate.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

/* Largest process.json accepted. */
#define PROCESS_FILE_MAX (4 << 20)

/* What exec holds while it works, released by cleanup(). */
struct execing {
    const struct md_exec_opts *opts;
    md_state_info info;
    md_spec *config;  /* the container's saved config.json */
    md_process *proc; /* what to run */
    char **argv;      /* its args and env, NULL-terminated (pointing into proc) */
    char **envp;
    struct md_seccomp_program *seccomp; /* the config's linux.seccomp, compiled */
    struct md_cgroup *cg;
    pid_t init_pid;
    int init_pidfd;
    int ns_flags;         /* CLONE_NEW* of the namespaces to join */
    struct md_ns_plan ns; /* the same as /proc/PID/ns fds, for older kernels */
    int root_fd;          /* the init's root, /proc/PID/root */
    int proc_fd;          /* mdrun's own /proc, for the LSM attr files */
    int console_fd;       /* --console-socket, connected, or -1 */
    int sync_fd;          /* mdrun's end of the channel */
    int child_sync;       /* the children's end */
    pid_t parent;         /* mdrun's pid */
    pid_t helper;         /* H, until it has exited and been reaped */
    pid_t pid;            /* X */
    int pidfd;            /* on X */
    int master;           /* X's pty master, when mdrun relays it */
};

/* ============================================================ the process */

static int process_copy(const md_process *src, md_process **out, md_error *err)
{
    md_autofree char *json = NULL;
    size_t len = 0;
    if (md_process_to_json(src, &json, &len, err) < 0)
        return -1;
    md_errors problems = {0};
    int rc = md_process_load_string(json, len, "config.json", out, &problems);
    if (rc < 0)
        md_failx(err, EINVAL, "%s", problems.n ? problems.msgs[0] : "config.json: process");
    md_errors_clear(&problems);
    return rc;
}

static int process_from_file(const char *path, md_process **out, md_error *err)
{
    md_autofree char *json = NULL;
    size_t len = 0;
    if (md_read_file_at(AT_FDCWD, path, PROCESS_FILE_MAX, &json, &len, err) < 0)
        return md_wrap(err, "--process");
    const char *slash = strrchr(path, '/');
    md_errors problems = {0};
    int rc = md_process_load_string(json, len, slash ? slash + 1 : path, out, &problems);
    if (rc < 0) {
        for (size_t i = 0; i + 1 < problems.n; i++)
            md_log_error(problems.msgs[i]);
        md_failx(err, EINVAL, "%s", problems.n ? problems.msgs[problems.n - 1] : path);
    }
    md_errors_clear(&problems);
    return rc;
}

/* Replace the entry of the same name, else append: the command line
 * overrides the config, and the program sees each name once. */
static int set_env(md_process *p, const char *entry, md_error *err)
{
    const char *eq = strchr(entry, '=');
    if (!eq || eq == entry)
        return md_failx(err, EINVAL, "--env: \"%s\" is not of the form NAME=VALUE", entry);
    size_t name_len = (size_t)(eq - entry) + 1;
    for (size_t i = 0; i < p->n_env; i++) {
        if (strncmp(p->env[i], entry, name_len) == 0) {
            char *copy = strdup(entry);
            if (!copy)
                return md_fail(err, ENOMEM, "--env");
            free(p->env[i]);
            p->env[i] = copy;
            return 0;
        }
    }
    return md_strv_push(&p->env, &p->n_env, entry) < 0 ? md_fail(err, ENOMEM, "--env") : 0;
}

static bool has_name(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static int push_cap(char ***v, size_t *n, const char *cap, md_error *err)
{
    if (has_name(*v, *n, cap) || md_strv_push(v, n, cap) == 0)
        return 0;
    return md_fail(err, ENOMEM, "--cap");
}

/* "net_raw", "NET_RAW" and "CAP_NET_RAW" all name CAP_NET_RAW. */
static int cap_name(const char *arg, char *out, size_t size, md_error *err)
{
    bool prefixed = strncasecmp(arg, "CAP_", 4) == 0;
    int n = snprintf(out, size, "%s%s", prefixed ? "" : "CAP_", arg);
    if (n < 0 || (size_t)n >= size || !arg[prefixed ? 4 : 0])
        return md_failx(err, EINVAL, "--cap: invalid capability name \"%s\"", arg);
    for (char *c = out; *c; c++) {
        *c = (char)toupper((unsigned char)*c);
        if (!(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9') && *c != '_')
            return md_failx(err, EINVAL, "--cap: invalid capability name \"%s\" (e.g. CAP_NET_RAW)",
                            arg);
    }
    return 0;
}

/* As runc: into bounding, effective and permitted; into ambient only when
 * the process has inheritable capabilities (ambient needs inheritable). */
static int add_cap(md_process *p, const char *arg, md_error *err)
{
    char cap[64];
    if (cap_name(arg, cap, sizeof(cap), err) < 0)
        return -1;
    if (!p->capabilities && !(p->capabilities = calloc(1, sizeof(*p->capabilities))))
        return md_fail(err, ENOMEM, "--cap");
    md_capabilities *c = p->capabilities;
    if (push_cap(&c->bounding, &c->n_bounding, cap, err) < 0 ||
        push_cap(&c->effective, &c->n_effective, cap, err) < 0 ||
        push_cap(&c->permitted, &c->n_permitted, cap, err) < 0)
        return -1;
    if (c->n_inheritable && push_cap(&c->ambient, &c->n_ambient, cap, err) < 0)
        return -1;
    return 0;
}

static int set_user(md_process *p, const struct md_exec_opts *o, md_error *err)
{
    if (!o->has_uid && !o->n_gids)
        return 0;
    if (!p->user && !(p->user = calloc(1, sizeof(*p->user))))
        return md_fail(err, ENOMEM, "--user");
    md_user *u = p->user;
    if (o->has_uid)
        u->uid = o->uid;
    if (o->has_gid)
        u->gid = o->gid;
    if (o->n_gids) {
        uint32_t *gids =
            realloc(u->additional_gids, (u->n_additional_gids + o->n_gids) * sizeof(uint32_t));
        if (!gids)
            return md_fail(err, ENOMEM, "--additional-gids");
        memcpy(gids + u->n_additional_gids, o->gids, o->n_gids * sizeof(uint32_t));
        u->additional_gids = gids;
        u->n_additional_gids += o->n_gids;
    }
    return 0;
}

static int replace_str(char **dst, const char *src, md_error *err)
{
    char *copy = strdup(src);
    if (!copy)
        return md_fail(err, ENOMEM, "exec");
    free(*dst);
    *dst = copy;
    return 0;
}

static int set_args(md_process *p, char *const *args, md_error *err)
{
    md_strv_free(p->args, p->n_args);
    p->args = NULL;
    p->n_args = 0;
    free(p->command_line);
    p->command_line = NULL;
    for (size_t i = 0; args[i]; i++)
        if (md_strv_push(&p->args, &p->n_args, args[i]) < 0)
            return md_fail(err, ENOMEM, "exec");
    return 0;
}

/* The command line over the process: what runc's exec options change. */
static int apply_options(md_process *p, const struct md_exec_opts *o, md_error *err)
{
    if (o->args && set_args(p, o->args, err) < 0)
        return -1;
    if (!o->process_file)
        p->terminal = o->tty;
    else if (o->tty)
        p->terminal = true;
    for (size_t i = 0; i < o->n_env; i++)
        if (set_env(p, o->env[i], err) < 0)
            return -1;
    if (o->cwd && replace_str(&p->cwd, o->cwd, err) < 0)
        return -1;
    if (set_user(p, o, err) < 0)
        return -1;
    for (size_t i = 0; i < o->n_caps; i++)
        if (add_cap(p, o->caps[i], err) < 0)
            return -1;
    if (o->no_new_privs)
        p->no_new_privileges = true;
    if (o->apparmor && replace_str(&p->apparmor_profile, o->apparmor, err) < 0)
        return -1;
    if (o->process_label && replace_str(&p->selinux_label, o->process_label, err) < 0)
        return -1;
    return 0;
}

static bool apparmor_enabled(void)
{
    md_autofree char *text = NULL;
    md_error ignored = {0};
    if (md_read_file_at(AT_FDCWD, "/sys/module/apparmor/parameters/enabled", 64, &text, NULL,
                        &ignored) < 0) {
        md_error_clear(&ignored);
        return false;
    }
    return text[0] == 'Y';
}

static bool selinux_enabled(void)
{
    struct statfs sf;
    return statfs("/sys/fs/selinux", &sf) == 0 && (unsigned long)sf.f_type == SELINUX_MAGIC;
}

/* A label asked for by name (an option, or the process file) that this
 * host cannot apply is an error; one only inherited from the container's
 * config is dropped, as create itself could not apply it either. */
static int check_labels(struct execing *ex, md_error *err)
{
    md_process *p = ex->proc;
    bool named = ex->opts->process_file != NULL;
    if (p->apparmor_profile && !apparmor_enabled()) {
        if (named || ex->opts->apparmor)
            return md_failx(err, EINVAL,
                            "apparmor profile \"%s\": AppArmor is not enabled on this host",
                            p->apparmor_profile);
        md_debug("apparmorProfile \"%s\" ignored: AppArmor is not enabled", p->apparmor_profile);
        free(p->apparmor_profile);
        p->apparmor_profile = NULL;
    }
    if (p->selinux_label && !selinux_enabled()) {
        if (named || ex->opts->process_label)
            return md_failx(err, EINVAL,
                            "process label \"%s\": SELinux is not enabled on this host",
                            p->selinux_label);
        md_debug("selinuxLabel \"%s\" ignored: SELinux is not enabled", p->selinux_label);
        free(p->selinux_label);
        p->selinux_label = NULL;
    }
    return 0;
}

static int build_process(struct execing *ex, md_error *err)
{
    const struct md_exec_opts *o = ex->opts;
    if (o->process_file) {
        if (process_from_file(o->process_file, &ex->proc, err) < 0)
            return -1;
    } else {
        if (!ex->config->process)
            return md_failx(err, EINVAL, "container \"%s\": its config has no process", o->id);
        if (process_copy(ex->config->process, &ex->proc, err) < 0)
            return -1;
    }
    if (apply_options(ex->proc, o, err) < 0)
        return -1;
    md_errors problems = {0};
    if (md_process_validate(ex->proc, o->process_file ? "process.json" : "exec", &problems) < 0) {
        for (size_t i = 0; i + 1 < problems.n; i++)
            md_log_error(problems.msgs[i]);
        md_failx(err, EINVAL, "%s", problems.msgs[problems.n - 1]);
        md_errors_clear(&problems);
        return -1;
    }
    const md_process *p = ex->proc;
    ex->argv = calloc(p->n_args + 1, sizeof(char *));
    ex->envp = calloc(p->n_env + 1, sizeof(char *));
    if (!ex->argv || !ex->envp)
        return md_fail(err, ENOMEM, "exec");
    if (p->n_args)
        memcpy(ex->argv, p->args, p->n_args * sizeof(char *));
    if (p->n_env)
        memcpy(ex->envp, p->env, p->n_env * sizeof(char *));
    if (p->terminal && o->detach && !o->console_socket)
        return md_failx(err, EINVAL,
                        "a terminal for a detached process needs --console-socket to receive it");
    return check_labels(ex, err);
}

/* ========================================================== the container */

static int load_config(struct execing *ex, int dir_fd, md_error *err)
{
    const char *name = ex->info.rec.config ? ex->info.rec.config : "config.json";
    if (strchr(name, '/'))
        return md_failx(err, EINVAL, "container \"%s\": bad config name in its state",
                        ex->opts->id);
    md_autofree char *json = NULL;
    size_t len = 0;
    if (md_read_file_at(dir_fd, name, PROCESS_FILE_MAX, &json, &len, err) < 0)
        return md_wrap(err, "container \"%s\": its saved config", ex->opts->id);
    md_errors problems = {0};
    int rc = md_spec_load_string(json, len, "config.json", &ex->config, &problems);
    if (rc < 0)
        md_failx(err, EINVAL, "container \"%s\": its saved %s", ex->opts->id,
                 problems.n ? problems.msgs[0] : "config.json is invalid");
    md_errors_clear(&problems);
    return rc;
}

static int load_container(struct execing *ex, md_error *err)
{
    const char *id = ex->opts->id;
    md_autofree char *root_path = NULL;
    md_autofd root_fd = -1;
    if (md_id_validate(id, err) < 0 ||
        md_state_root_open(ex->opts->root, false, &root_path, &root_fd, err) < 0)
        return -1;
    /* No lock: the init's pidfd, checked below, is what pins the container. */
    md_autofd dir_fd = md_state_open(root_fd, id, err);
    if (dir_fd < 0 || md_state_inspect(dir_fd, id, false, &ex->info, err) < 0)
        return -1;
    if (ex->info.status != MD_STATUS_RUNNING)
        return md_failx(err, EINVAL, "cannot exec in container \"%s\": it is %s", id,
                        md_status_name(ex->info.status));
    return load_config(ex, dir_fd, err);
}

static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Every namespace of the init that is not already ours. */
static int open_namespaces(struct execing *ex, md_error *err)
{
    static const int types[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,    CLONE_NEWNET,
                                CLONE_NEWIPC,  CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *name = md_ns_proc_name(types[i]);
        char theirs[64], ours[64];
        snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", (int)ex->init_pid, name);
        snprintf(ours, sizeof(ours), "/proc/self/ns/%s", name);
        md_autofd fd = open(theirs, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && access(ours, F_OK) < 0)
            continue; /* this kernel lacks the kind */
        if (fd < 0)
            return md_fail(err, errno, "open %s", theirs);
        if (same_file(fd, ours))
            continue;
        ex->ns.joins[ex->ns.n_joins].type = types[i];
        ex->ns.joins[ex->ns.n_joins++].fd = md_take_fd(&fd);
        ex->ns_flags |= types[i];
    }
    ex->ns.join_user = (ex->ns_flags & CLONE_NEWUSER) != 0;
    ex->ns.join_pid = (ex->ns_flags & CLONE_NEWPID) != 0;
    ex->ns.join_time = (ex->ns_flags & CLONE_NEWTIME) != 0;
    return 0;
}

static bool still_running(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

static int open_target(struct execing *ex, md_error *err)
{
    ex->init_pidfd = md_state_pidfd(&ex->info.rec, err);
    if (ex->init_pidfd < 0)
        return md_wrap(err, "cannot exec in container \"%s\"", ex->opts->id);
    ex->init_pid = ex->info.rec.pid;
    if (open_namespaces(ex, err) < 0)
        return -1;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/root", (int)ex->init_pid);
    ex->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex->root_fd < 0)
        return md_fail(err, errno, "open %s", path);
    ex->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ex->proc_fd < 0)
        return md_fail(err, errno, "open /proc");
    /* The /proc/PID files opened above are the init's only if it still
     * lives: its pid cannot be reused while the pidfd says so. */
    if (!still_running(ex->init_pidfd))
        return md_failx(err, ESRCH, "cannot exec in container \"%s\": its process has exited",
                        ex->opts->id);
    return 0;
}

/* Everything from 3 to 3 + n - 1 must be open: an fd mdrun opens itself
 * could otherwise land there and be handed to the process. */
static int check_preserved(unsigned n, md_error *err)
{
    for (unsigned fd = 3; fd < 3 + n; fd++)
        if (fcntl((int)fd, F_GETFD) < 0)
            return md_failx(err, EBADF, "--preserve-fds %u: fd %u is not open", n, fd);
    return 0;
}

/* ======================================================== the children */

static int join_namespaces(const struct execing *ex, md_error *err)
{
    if (!ex->ns_flags)
        return 0;
    /* All at once: the kernel enters the user namespace first and checks
     * the others against the credentials it gives. */
    errno = EINVAL;
    if (0)
        return 0;
    if (errno != EINVAL)
        return md_fail(err, errno, "join the namespaces of container process %d",
                       (int)ex->init_pid);
    md_debug("setns through a pidfd: %s; joining the namespaces one by one", strerror(errno));
    if (md_ns_join_user(&ex->ns, err) < 0 || md_ns_join_others(&ex->ns, err) < 0)
        return -1;
    return 0;
}

/* After setns a pid (or time) namespace holds only our children: fork X
 * as a child of mdrun.  Returns 0 in X, never in H. */
static int fork_process(struct execing *ex, md_error *err)
{
    if (md_fork_in_pidns(ex->child_sync, "the process in the container", err) < 0)
        return -1;
    /* Our parent is mdrun now; die with it until we exec. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return md_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
    return 0;
}

/* The init's root, whichever way the container entered it (pivot_root or
 * --no-pivot's chroot); after that no path leads outside it. */
static int enter_root(const struct execing *ex, md_error *err)
{
    if (fchdir(ex->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
        return md_fail(err, errno, "enter the container's root");
    return 0;
}

static int setup_terminal(const struct execing *ex, md_error *err)
{
    const md_process *p = ex->proc;
    if (!p->terminal)
        return 0;
    return md_terminal_setup(ex->child_sync, p->console_size, false, NULL, err);
}

/* Through mdrun's own /proc: the container's could lie. */
static int write_attr(const struct execing *ex, const char *rel, const char *text, md_error *err)
{
    md_autofd fd = openat(ex->proc_fd, rel, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (md_write_all(fd, text, strlen(text)) < 0)
        return md_fail(err, errno, "write /proc/%s", rel);
    return 0;
}

/* Labels for the exec to come; check_labels() made sure the LSM is on. */
static int apply_labels(const struct execing *ex, md_error *err)
{
    const md_process *p = ex->proc;
    if (p->apparmor_profile) {
        md_autofree char *text = NULL;
        if (asprintf(&text, "exec %s", p->apparmor_profile) < 0)
            return md_fail(err, ENOMEM, "apparmor");
        int rc = write_attr(ex, "thread-self/attr/apparmor/exec", text, err);
        if (rc < 0 && !err->msg && errno == ENOENT)
            rc = write_attr(ex, "thread-self/attr/exec", text, err);
        if (rc < 0)
            return err->msg ? md_wrap(err, "apparmor profile \"%s\"", p->apparmor_profile)
                            : md_fail(err, errno, "apparmor profile \"%s\"", p->apparmor_profile);
    }
    if (p->selinux_label && write_attr(ex, "thread-self/attr/exec", p->selinux_label, err) < 0)
        return err->msg ? -1 : md_fail(err, errno, "process label \"%s\"", p->selinux_label);
    return 0;
}

static int apply_attributes(const struct execing *ex, md_error *err)
{
    const md_process *p = ex->proc;
    /* The keyring the init made (by the container's id), or a new one:
     * never the caller's. */
    if (md_session_keyring_new(ex->opts->id, err) < 0)
        return -1;
    if (p->io_priority && md_io_priority_apply(p->io_priority, err) < 0)
        return -1;
    if (p->scheduler && md_scheduler_apply(p->scheduler, err) < 0)
        return -1;
    return apply_labels(ex, err);
}

static int enter_cwd(const char *cwd, md_error *err)
{
    if (chdir(cwd) < 0)
        return md_fail(err, errno, "process.cwd: chdir %s", cwd);
    return 0;
}

static int load_seccomp(const struct execing *ex, md_error *err)
{
    if (!ex->seccomp)
        return 0;
    int listener = -1;
    if (md_seccomp_load(ex->seccomp, &listener, err) < 0)
        return -1;
    if (listener < 0)
        return 0;
    md_autofd fd = listener;
    return md_sync_send(ex->child_sync, MD_SYNC_SECCOMP, 0, NULL, fd, err);
}

/* Everything in X from the fork to the moment it could exec. */
static int prepare_process(struct execing *ex, char **exec_path, md_error *err)
{
    const md_process *p = ex->proc;
    if (enter_root(ex, err) < 0 || setup_terminal(ex, err) < 0 || apply_attributes(ex, err) < 0)
        return -1;
    /* The cwd as root of the container when allowed (runc does the same),
     * else once the user may be the only one with access to it. */
    bool cwd_done = chdir(p->cwd) == 0;
    int cwd_errno = errno;
    if (!cwd_done && cwd_errno != EACCES && cwd_errno != EPERM)
        return md_fail(err, cwd_errno, "process.cwd: chdir %s", p->cwd);
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: before
     * the identity switch drops it. */
    if (!p->no_new_privileges && load_seccomp(ex, err) < 0)
        return -1;
    if (md_identity_apply(p, err) < 0)
        return -1;
    if (!cwd_done && enter_cwd(p->cwd, err) < 0)
        return -1;
    *exec_path = md_find_executable(p->args[0], p->env, p->n_env, err);
    if (!*exec_path)
        return -1;
    if (md_no_new_privs_apply(p->no_new_privileges, err) < 0)
        return -1;
    /* With it, as late as possible: fewer of our own calls filtered. */
    if (p->no_new_privileges && load_seccomp(ex, err) < 0)
        return -1;
    return 0;
}

/* X: prepare, say CREATED, exec.  Never returns. */
__attribute__((noreturn)) static void process_main(struct execing *ex)
{
    md_error err = {0};
    md_autofree char *exec_path = NULL;
    if (prepare_process(ex, &exec_path, &err) < 0)
        goto fail;
    md_hand_over_fds(ex->opts->preserve_fds);
    if (md_sync_send(ex->child_sync, MD_SYNC_CREATED, 0, NULL, -1, &err) < 0)
        goto fail;
    /* A foreground exec outlives a killed mdrun, as a container does. */
    prctl(PR_SET_PDEATHSIG, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    md_exec(&(struct md_exec_call){.path = exec_path,
                                   .argv = ex->argv,
                                   .envp = ex->envp,
                                   .report_kind = 's',
                                   .report_fd = ex->child_sync,
                                   .status = 127,
                                   .seccomp = ex->seccomp},
            &err);
fail:
    md_sync_send_error(ex->child_sync, &err);
    _exit(127);
}

/* H: join, fork X, report.  Never returns. */
__attribute__((noreturn)) static void helper_main(struct execing *ex)
{
    md_error err = {0};
    struct md_sync_msg msg;
    close(ex->sync_fd);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != ex->parent) {
        md_failx(&err, ESRCH, "mdrun exited during exec");
        goto fail;
    }
    /* With the exec step (root), /proc/OUR_PID/exe is the host's binary
     * until the last execve: out of reach of the container's processes,
     * which can see us from the moment we join its pid namespace. */
    if ((md_protect_has_exec_step() && md_protect_dumpable(false, &err) < 0) ||
        md_sync_expect(ex->child_sync, MD_SYNC_START, &msg, NULL, &err) < 0 ||
        join_namespaces(ex, &err) < 0 || fork_process(ex, &err) < 0)
        goto fail;
    process_main(ex);
fail:
    md_sync_send_error(ex->child_sync, &err);
    _exit(1);
}

/* ============================================================ the parent */

static int spawn(struct execing *ex, md_error *err)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return md_fail(err, errno, "socketpair");
    ex->sync_fd = pair[0];
    ex->child_sync = pair[1];
    ex->parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return md_fail(err, errno, "fork");
    if (pid == 0)
        helper_main(ex);
    md_close_fd(&ex->child_sync);
    ex->helper = pid;
    return 0;
}

/* While H is still outside every namespace: cgroup, CPUs, limits. */
static int stage_start(struct execing *ex, md_error *err)
{
    const md_process *p = ex->proc;
    const md_cpu_affinity *aff = p->exec_cpu_affinity;
    if (aff && md_cpu_affinity_apply(ex->helper, aff->initial, err) < 0)
        return -1;
    if (md_cgroup_enter(ex->cg, ex->helper, err) < 0)
        return md_wrap(err, "join the cgroup of container \"%s\"", ex->opts->id);
    if (aff && md_cpu_affinity_apply(ex->helper, aff->final, err) < 0)
        return -1;
    if (md_rlimits_apply(ex->helper, p->rlimits, p->n_rlimits, err) < 0)
        return -1;
    if (p->has_oom_score_adj && md_oom_score_adj_apply(ex->helper, p->oom_score_adj, err) < 0)
        return -1;
    struct md_sync_msg msg;
    if (md_sync_send(ex->sync_fd, MD_SYNC_START, 0, NULL, -1, err) < 0 ||
        md_sync_expect(ex->sync_fd, MD_SYNC_INIT_PID, &msg, NULL, err) < 0)
        return -1;
    ex->pid = msg.value;
    md_reap(ex->helper);
    ex->helper = 0;
    ex->pidfd = (int)syscall(SYS_pidfd_open, ex->pid, 0);
    if (ex->pidfd < 0)
        return md_fail(err, errno, "pidfd_open %d", (int)ex->pid);
    return 0;
}

/* After CREATED: the socket closes at a successful execve(2), or X tells
 * why it failed. */
static int wait_exec(int sock, md_error *err)
{
    struct md_sync_msg msg;
    memset(&msg, 0, sizeof(msg));
    ssize_t n;
    do
        n = recv(sock, &msg, sizeof(msg) - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return md_fail(err, errno, "sync: waiting for exec");
    if (n == 0)
        return 0;
    if (msg.type == MD_SYNC_ERROR)
        return md_failx(err, msg.value, "%s", msg.text);
    return md_failx(err, EPROTO, "sync: expected the exec, got %s", md_sync_name(msg.type));
}

/* SCMP_ACT_NOTIFY: the listener goes to linux.seccomp.listenerPath. */
static int send_listener(struct execing *ex, md_error *err)
{
    struct md_sync_msg msg;
    int fd = -1;
    if (md_sync_expect(ex->sync_fd, MD_SYNC_SECCOMP, &msg, &fd, err) < 0)
        return -1;
    if (fd < 0)
        return md_failx(err, EPROTO, "sync: the seccomp message carried no listener");
    md_autofd listener = fd;
    return md_seccomp_send_listener(ex->config->linux_->seccomp, listener, ex->pid, &ex->info, err);
}

static int stage_exec(struct execing *ex, md_error *err)
{
    struct md_sync_msg msg;
    if (ex->proc->terminal) {
        int master = -1;
        if (md_sync_expect(ex->sync_fd, MD_SYNC_CONSOLE, &msg, &master, err) < 0)
            return -1;
        if (master < 0)
            return md_failx(err, EPROTO, "sync: the console message carried no terminal");
        ex->master = master;
        if (ex->console_fd >= 0) {
            int rc = md_console_socket_send(ex->console_fd, master, msg.text, err);
            md_close_fd(&ex->master);
            if (rc < 0)
                return -1;
        }
    }
    if (ex->seccomp && ex->seccomp->notify && send_listener(ex, err) < 0)
        return -1;
    if (md_sync_expect(ex->sync_fd, MD_SYNC_CREATED, &msg, NULL, err) < 0 ||
        wait_exec(ex->sync_fd, err) < 0)
        return -1;
    if (ex->opts->pid_file && md_pid_file_write(ex->opts->pid_file, ex->pid, err) < 0)
        return -1;
    return 0;
}

/* In the foreground: until X exits, then its exit code. */
static int wait_process(struct execing *ex, const sigset_t *fwd, int *exit_code, md_error *err)
{
    md_autofd sfd = signalfd(-1, fwd, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        return md_fail(err, errno, "signalfd");
    int rc;
    if (ex->master >= 0) {
        struct md_relay relay = {.master = ex->master, .pidfd = ex->pidfd, .signal_fd = sfd};
        rc = md_tty_relay(&relay, err);
    } else {
        rc = md_wait_forwarding(sfd, ex->pid, ex->pidfd, err);
    }
    if (rc < 0)
        return -1;
    int code = md_exit_code(ex->pid, err);
    if (code < 0)
        return -1;
    ex->pid = 0; /* reaped */
    *exit_code = code;
    return 0;
}

static void cleanup(struct execing *ex, bool failed)
{
    if (failed) {
        md_kill_and_reap(ex->helper, -1);
        md_kill_and_reap(ex->pid, ex->pidfd);
    }
    md_close_fd(&ex->pidfd);
    md_close_fd(&ex->master);
    md_close_fd(&ex->sync_fd);
    md_close_fd(&ex->child_sync);
    md_close_fd(&ex->console_fd);
    md_close_fd(&ex->proc_fd);
    md_close_fd(&ex->root_fd);
    md_close_fd(&ex->init_pidfd);
    md_ns_plan_close(&ex->ns);
    md_cgroup_free(ex->cg);
    md_seccomp_program_free(ex->seccomp);
    free(ex->argv);
    free(ex->envp);
    if (ex->proc)
        md_process_free(ex->proc);
    md_spec_free(ex->config);
    md_state_info_free(&ex->info);
}

static int prepare(struct execing *ex, md_error *err)
{
    const struct md_exec_opts *o = ex->opts;
    if (check_preserved(o->preserve_fds, err) < 0 || load_container(ex, err) < 0 ||
        build_process(ex, err) < 0 || open_target(ex, err) < 0 ||
        md_cgroup_open(&ex->info.rec, &ex->cg, err) < 0)
        return -1;
    const md_seccomp *sc = ex->config->linux_ ? ex->config->linux_->seccomp : NULL;
    if (sc && md_seccomp_prepare(sc, NULL, &ex->seccomp, err) < 0)
        return -1;
    /* Before the console socket: this may execute mdrun again.  A label
     * due at the last execve would be the exec step's. */
    if (md_protect_exec_step(ex->proc->apparmor_profile || ex->proc->selinux_label, err) < 0)
        return -1;
    if (ex->proc->terminal && o->console_socket) {
        ex->console_fd = md_console_socket_connect(o->console_socket, err);
        if (ex->console_fd < 0)
            return -1;
    }
    return 0;
}

int md_container_exec(const struct md_exec_opts *opts, int *exit_code, md_error *err)
{
    struct execing ex = {
        .opts = opts,
        .init_pidfd = -1,
        .root_fd = -1,
        .proc_fd = -1,
        .console_fd = -1,
        .sync_fd = -1,
        .child_sync = -1,
        .pidfd = -1,
        .master = -1,
    };
    *exit_code = 0;
    sigset_t fwd, old;
    md_forwarded_signals(&fwd);
    /* Blocked from before the fork, so that no signal is lost or kills
     * mdrun halfway; the process unblocks them before exec. */
    sigprocmask(SIG_BLOCK, &fwd, &old);
    int rc = prepare(&ex, err);
    if (rc == 0)
        rc = spawn(&ex, err);
    if (rc == 0)
        rc = stage_start(&ex, err);
    if (rc == 0)
        rc = stage_exec(&ex, err);
    if (rc == 0 && !opts->detach)
        rc = wait_process(&ex, &fwd, exit_code, err);
    cleanup(&ex, rc < 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
