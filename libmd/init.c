/* init.c - the container process: from the fork to the execve(2) of the
 * user's program, one stage at a time, in step with mdrun (sync.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "clone.h"
#include "container.h"
#include "error.h"
#include "execpath.h"
#include "hooks.h"
#include "identity.h"
#include "log.h"
#include "procattr.h"
#include "protect.h"
#include "rootfs.h"
#include "safepath.h"
#include "seccomp.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"

/* Die with our parent until the container is created: a killed mdrun
 * must not leave a half-built container behind. */
static int die_with_parent(pid_t parent, md_error *err)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return md_fail(err, errno, "prctl(PR_SET_PDEATHSIG)");
    /* In a new pid namespace the parent is outside it: getppid() is 0
     * there, and a parent that died already shows as end of file on the
     * sync socket at the next message. */
    pid_t ppid = getppid();
    if (ppid != 0 && ppid != parent)
        return md_failx(err, ESRCH, "mdrun exited during create");
    return 0;
}

/* In a user namespace, become its root when 0 is mapped: files made while
 * building the rootfs belong to the container's root. */
static void become_root(void)
{
    if (setresgid(0, 0, 0) == 0)
        setresuid(0, 0, 0);
}

static int enter_user_namespace(struct md_container *c, md_error *err)
{
    struct md_sync_msg msg;
    if (c->ns.join_user) {
        if (md_ns_join_user(&c->ns, err) < 0 || md_ns_join_others(&c->ns, err) < 0)
            return -1;
    } else {
        /* Other namespaces are joined with the privileges we have now,
         * before a new user namespace takes them away. */
        if (md_ns_join_others(&c->ns, err) < 0)
            return -1;
        if (!c->ns.new_user)
            return 0;
        if (c->ns.at_birth & CLONE_NEWUSER) {
            /* Born in it: mdrun wrote the maps before START. */
            become_root();
            return 0;
        }
        if (unshare(CLONE_NEWUSER) < 0)
            return md_check_userns_error(err, errno, !c->rootless);
        if (md_sync_send(c->sync_fd, MD_SYNC_USERNS, 0, NULL, -1, err) < 0 ||
            md_sync_expect(c->sync_fd, MD_SYNC_MAPPED, &msg, NULL, err) < 0)
            return -1;
    }
    become_root();
    return 0;
}

/* A new pid (or time) namespace holds only the children of whoever made
 * it: fork the init there.  Returns 0 in the init, never in the forker. */
static int fork_init(struct md_container *c, md_error *err)
{
    if (md_fork_in_pidns(c->sync_fd, "the container's init", err) < 0)
        return -1;
    return die_with_parent(c->parent, err);
}

static int state_json(struct md_container *c, const char *status, char **out, md_error *err)
{
    md_state_info info = {0};
    info.rec.id = (char *)c->opts->id;
    info.rec.bundle = c->bundle;
    info.rec.rootfs = c->rootfs;
    info.rec.pid = (int32_t)getpid();
    info.rec.annotations = c->spec->annotations;
    info.rec.n_annotations = c->spec->n_annotations;
    info.has_record = true;
    info.status = strcmp(status, "created") == 0 ? MD_STATUS_CREATED : MD_STATUS_CREATING;
    return md_state_json(&info, out, NULL, err);
}

static int run_container_hooks(struct md_container *c, const char *kind, const md_hook *hooks,
                               size_t n, const char *status, md_error *err)
{
    if (n == 0)
        return 0;
    md_autofree char *json = NULL;
    if (state_json(c, status, &json, err) < 0)
        return -1;
    return md_hooks_run(kind, hooks, n, json, err);
}

/* mdrun's stderr, duplicated when the terminal takes the init's; -1 if not. */
static int mdrun_stderr = -1;

static int setup_terminal(struct md_container *c, md_error *err)
{
    const md_process *p = c->spec->process;
    if (!p->terminal)
        return 0;
    return md_terminal_setup(c->sync_fd, p->console_size, true, &mdrun_stderr, err);
}

/* Once created, let go of `mdrun create`'s stderr: containerd's shim reads
 * a terminal container's create output to its end before it calls start,
 * so holding it until exec would wait forever.  `run` stays to relay the
 * terminal: its stderr is kept. */
static void release_mdrun_stderr(const struct md_container *c)
{
    if (mdrun_stderr < 0 || c->opts->foreground_tty)
        return;
    md_log_set_stderr(STDERR_FILENO);
    close(mdrun_stderr);
    mdrun_stderr = -1;
}

/* process.cwd is created when missing, as runc and crun do; after
 * pivot_root nothing can lead outside the container's root. */
static int enter_cwd(const char *cwd, md_error *err)
{
    md_autofd root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return md_fail(err, errno, "open /");
    md_autofd dir = md_mkpath_in_root(root, cwd, MD_PATH_DIR, err);
    if (dir < 0)
        return md_wrap(err, "process.cwd %s", cwd);
    if (fchdir(dir) < 0)
        return md_fail(err, errno, "process.cwd: chdir %s", cwd);
    return 0;
}

static int apply_process_attributes(struct md_container *c, md_error *err)
{
    const md_spec *s = c->spec;
    const md_process *p = s->process;
    if (md_hostname_apply(s, err) < 0 || md_sysctl_apply(s->linux_, err) < 0)
        return -1;
    if (s->linux_ && s->linux_->personality &&
        md_personality_apply(s->linux_->personality, err) < 0)
        return -1;
    if (!c->opts->no_new_keyring && md_session_keyring_new(c->opts->id, err) < 0)
        return -1;
    if (p->io_priority && md_io_priority_apply(p->io_priority, err) < 0)
        return -1;
    if (p->scheduler && md_scheduler_apply(p->scheduler, err) < 0)
        return -1;
    if (s->linux_ && s->linux_->memory_policy &&
        md_memory_policy_apply(s->linux_->memory_policy, err) < 0)
        return -1;
    return 0;
}

/* When linux.seccomp is loaded (see seccomp.h): without no_new_privs the
 * kernel wants CAP_SYS_ADMIN, so before the capabilities are dropped;
 * with it, as late as possible, just before execve, so that our own
 * system calls are not filtered; but a filter with a listener before
 * "created", while the sync socket can still carry the fd to mdrun. */
enum seccomp_stage { SECCOMP_BEFORE_IDENTITY, SECCOMP_BEFORE_CREATED, SECCOMP_BEFORE_EXEC };

static bool seccomp_at(const struct md_container *c, enum seccomp_stage stage)
{
    if (!c->seccomp)
        return false;
    if (!c->spec->process->no_new_privileges)
        return stage == SECCOMP_BEFORE_IDENTITY;
    return stage == (c->seccomp->notify ? SECCOMP_BEFORE_CREATED : SECCOMP_BEFORE_EXEC);
}

static int load_seccomp(struct md_container *c, md_error *err)
{
    int listener = -1;
    if (md_seccomp_load(c->seccomp, &listener, err) < 0)
        return -1;
    if (listener < 0)
        return 0;
    int rc = md_sync_send(c->sync_fd, MD_SYNC_SECCOMP, 0, NULL, listener, err);
    close(listener);
    return rc;
}

/* Everything from the namespaces to the moment the process could exec. */
static int build(struct md_container *c, char **exec_path, md_error *err)
{
    struct md_sync_msg msg;
    const md_process *p = c->spec->process;
    struct md_rootfs_plan plan = {
        .spec = c->spec,
        .bundle = c->bundle,
        .rootfs = c->rootfs,
        .rootless = c->rootless,
        .no_pivot = c->opts->no_pivot,
    };

    if (md_sync_expect(c->sync_fd, MD_SYNC_START, &msg, NULL, err) < 0 ||
        enter_user_namespace(c, err) < 0 || md_ns_create(&c->ns, c->spec->linux_, err) < 0)
        return -1;
    /* In namespaces others already live in, they must not ptrace us nor
     * open /proc/OUR_PID/{exe,fd,mem} (protect.h); as runc, only then, since
     * a non-dumpable process's /proc files belong to root, out of reach of
     * a rootless mdrun and its hooks.  Not earlier: the id maps written by
     * mdrun and the time offsets written above need a dumpable owner.  The
     * init forked below inherits it; its execve() resets it.  With the
     * exec step (root), always: until that execve /proc/OUR_PID/exe is the
     * host's binary. */
    if ((c->ns.n_joins > 0 || c->ns.join_user || md_protect_has_exec_step()) &&
        md_protect_dumpable(false, err) < 0)
        return -1;
    if (md_ns_needs_fork(&c->ns) && fork_init(c, err) < 0)
        return -1;
    if (md_sync_send(c->sync_fd, MD_SYNC_NS_READY, 0, NULL, -1, err) < 0 ||
        md_sync_expect(c->sync_fd, MD_SYNC_SETUP, &msg, NULL, err) < 0)
        return -1;

    const md_hooks *h = c->spec->hooks;
    /* sysctl writes go through the container's /proc/sys, before
     * readonlyPaths (usually /proc/sys itself) makes it read-only. */
    if (md_rootfs_prepare(&plan, err) < 0 ||
        (h && run_container_hooks(c, "createContainer", h->create_container, h->n_create_container,
                                  "creating", err) < 0) ||
        md_rootfs_enter(&plan, err) < 0 || setup_terminal(c, err) < 0 ||
        apply_process_attributes(c, err) < 0 ||
        /* Twice: a missing cwd is made while the root is still writable,
         * and entered again once masked paths are in place. */
        enter_cwd(p->cwd, err) < 0 || md_rootfs_finish(&plan, err) < 0 ||
        enter_cwd(p->cwd, err) < 0)
        return -1;
    *exec_path = md_find_executable(p->args[0], c->env, c->n_env, err);
    if (!*exec_path)
        return -1;
    if ((seccomp_at(c, SECCOMP_BEFORE_IDENTITY) && load_seccomp(c, err) < 0) ||
        md_identity_apply(p, err) < 0 || md_no_new_privs_apply(p->no_new_privileges, err) < 0)
        return -1;
    return 0;
}

/* Block until `start` writes to exec.fifo.  A writer that left without
 * writing (a killed `start`) is waited out by reopening our end. */
static int wait_for_start(struct md_container *c, md_error *err)
{
    for (;;) {
        struct pollfd pfd = {.fd = c->fifo_fd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return md_fail(err, errno, "wait for start");
        }
        char byte;
        ssize_t n = read(c->fifo_fd, &byte, 1);
        if (n == 1)
            return 0;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        char path[32];
        int again = open(md_fd_path(c->fifo_fd, path), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (again < 0)
            return md_fail(err, errno, "exec.fifo closed before start");
        dup3(again, c->fifo_fd, O_CLOEXEC);
        close(again);
    }
}

__attribute__((noreturn)) void md_init_main(struct md_container *c)
{
    md_error err = {0};
    md_autofree char *exec_path = NULL;
    close(c->state_fds[0]);
    close(c->state_fds[1]);
    if (die_with_parent(c->parent, &err) < 0 || build(c, &exec_path, &err) < 0)
        goto fail;
    /* Created: from now on the container outlives `mdrun create` (which
     * exits as soon as it reads the message below, hence the order), and
     * problems can only be told on the container's own stderr. */
    if (seccomp_at(c, SECCOMP_BEFORE_CREATED) && load_seccomp(c, &err) < 0)
        goto fail;
    prctl(PR_SET_PDEATHSIG, 0);
    if (md_sync_send(c->sync_fd, MD_SYNC_CREATED, 0, NULL, -1, &err) < 0)
        goto fail;
    close(c->sync_fd);
    c->sync_fd = -1;
    release_mdrun_stderr(c);
    if (wait_for_start(c, &err) < 0)
        goto fail;
    const md_hooks *h = c->spec->hooks;
    if (h && run_container_hooks(c, "startContainer", h->start_container, h->n_start_container,
                                 "created", &err) < 0)
        goto fail;
    md_hand_over_fds(c->keep_fds);
    char listen_pid[32];
    if (c->listen_pid_var >= 0) {
        snprintf(listen_pid, sizeof(listen_pid), "LISTEN_PID=%d", (int)getpid());
        c->env[c->listen_pid_var] = listen_pid;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (seccomp_at(c, SECCOMP_BEFORE_EXEC) && load_seccomp(c, &err) < 0)
        goto fail;
    /* No sync socket any more: a failure goes to the container's stderr. */
    md_exec(&(struct md_exec_call){.path = exec_path,
                                   .argv = c->argv,
                                   .envp = c->env,
                                   .report_fd = -1,
                                   .status = 1,
                                   .seccomp = c->seccomp},
            &err);
fail:
    if (c->sync_fd >= 0)
        md_sync_send_error(c->sync_fd, &err);
    else
        dprintf(STDERR_FILENO, "mdrun: %s\n", err.msg ? err.msg : "unknown error");
    _exit(1);
}
