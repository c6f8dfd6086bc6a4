/* run.c - `mdrun run`: create and start in one process that stays the
 * container's parent, forwards signals, and exits with its exit code. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "clone.h"
#include "container.h"
#include "error.h"
#include "log.h"
#include "terminal.h"

/* Every signal a user may send to mdrun goes to the container instead;
 * not the ones mdrun itself depends on. */
void md_forwarded_signals(sigset_t *set)
{
    sigfillset(set);
    sigdelset(set, SIGKILL);
    sigdelset(set, SIGSTOP);
    sigdelset(set, SIGCHLD);
    sigdelset(set, SIGSEGV);
    sigdelset(set, SIGBUS);
    sigdelset(set, SIGILL);
    sigdelset(set, SIGFPE);
    sigdelset(set, SIGTTIN);
    sigdelset(set, SIGTTOU);
    sigdelset(set, SIGTSTP);
    sigdelset(set, SIGPIPE);
}

static void forward(int sfd, pid_t pid, int pidfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH)
            continue; /* only meaningful with a terminal */
        if (md_child_signal(pid, pidfd, (int)si.ssi_signo) < 0)
            md_debug("forward signal %u: %s", si.ssi_signo, strerror(errno));
    }
}

/* Whether our child pid has exited; it stays to be reaped.  An error
 * (not our child) counts as exited, for md_exit_code() to report. */
static bool exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int rc;
    while ((rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT)) < 0 &&
           errno == EINTR)
        ;
    return rc < 0 || info.si_pid == pid;
}

/* Poll until exit_fd says that pid has exited: readable pidfd, or
 * (pidfd < 0) a SIGCHLD, after which exited() tells whether it was pid. */
static int wait_loop(int sfd, pid_t pid, int pidfd, int exit_fd, md_error *err)
{
    for (;;) {
        if (pidfd < 0 && exited(pid))
            return 0;
        struct pollfd p[2] = {{.fd = exit_fd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return md_fail(err, errno, "wait for the container");
        }
        if (p[1].revents & POLLIN)
            forward(sfd, pid, pidfd);
        if ((p[0].revents & POLLIN) && pidfd >= 0)
            return 0;
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(exit_fd, &si, sizeof(si)) > 0)
                ;
        }
    }
}

/* Without a terminal the container shares our stdio: only signals.
 * Without a pidfd, mdrun being the parent, SIGCHLD is what wakes it: read
 * from a signalfd of its own, blocked meanwhile (a SIGCHLD left pending is
 * discarded when unblocked: its default action is to ignore it). */
int md_wait_forwarding(int sfd, pid_t pid, int pidfd, md_error *err)
{
    if (pidfd >= 0)
        return wait_loop(sfd, pid, pidfd, pidfd, err);
    md_debug("waiting for process %d without a pidfd", (int)pid);
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int rc;
    md_autofd cfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (cfd < 0)
        rc = md_fail(err, errno, "signalfd");
    else
        rc = wait_loop(sfd, pid, -1, cfd, err);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Reaps pid, our child: waitid(2) needs no pidfd. */
int md_exit_code(pid_t pid, md_error *err)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid(P_PID, (id_t)pid, &info, WEXITED) < 0)
        if (errno != EINTR)
            return md_fail(err, errno, "wait for the container");
    if (info.si_code == CLD_EXITED)
        return info.si_status;
    return 128 + info.si_status;
}

int md_container_run(const struct md_create_opts *opts, bool detach, int *exit_code, md_error *err)
{
    struct md_create_opts o = *opts;
    o.foreground_tty = !detach && !opts->console_socket;
    sigset_t fwd, old;
    md_forwarded_signals(&fwd);
    /* Blocked from before the fork, so that no signal is lost or kills
     * mdrun halfway; the container process unblocks them before exec. */
    sigprocmask(SIG_BLOCK, &fwd, &old);
    struct md_created made = {.pidfd = -1, .master = -1};
    int rc = md_container_create(&o, &made, err);
    md_autofd pidfd = made.pidfd;
    md_autofd master = made.master;
    md_autofd sfd = -1;
    bool reaped = false;
    if (rc == 0 && !detach) {
        sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
            rc = md_fail(err, errno, "signalfd");
    }
    if (rc == 0)
        rc = md_container_start(opts->root, opts->id, err);
    if (rc == 0 && !detach) {
        if (master >= 0) { /* create refuses a relayed terminal without a pidfd */
            struct md_relay relay = {.master = master, .pidfd = pidfd, .signal_fd = sfd};
            rc = md_tty_relay(&relay, err);
        } else {
            rc = md_wait_forwarding(sfd, made.pid, pidfd, err);
        }
        int code = md_exit_code(made.pid, err);
        reaped = code >= 0;
        if (code < 0)
            rc = -1;
        else
            *exit_code = code;
    }
    /* delete --force kills through a pidfd, which it may lack: the
     * container's process is our child, ended here in either case. */
    if (made.pid > 0 && rc < 0 && !reaped)
        md_kill_and_reap(made.pid, pidfd);
    if (made.pid > 0 && (!detach || rc < 0)) {
        md_error del_err = {0};
        if (md_container_delete(opts->root, opts->id, true, &del_err) < 0)
            rc = rc < 0 ? rc : (md_fail(err, 0, "%s", del_err.msg), -1);
        md_error_clear(&del_err);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* The public entry point (mdrun.h): `mdrun run` in the foreground. */
int md_run(const struct md_run_opts *opts, int *exit_code, md_error *err)
{
    if (!opts || !opts->id || !exit_code)
        return md_failx(err, EINVAL,
                        "md_run: the options, a container id and exit_code are required");
    struct md_create_opts o = {
        .root = opts->root,
        .id = opts->id,
        .bundle = opts->bundle,
        .cgroup_manager = opts->cgroup_manager,
    };
    return md_container_run(&o, false, exit_code, err);
}
