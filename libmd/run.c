/* run.c - `mdrun run`: create and start in one process that stays the
 * container's parent, forwards signals, and exits with its exit code. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
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

static void forward(int sfd, int pidfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH)
            continue; /* only meaningful with a terminal */
        if (syscall(SYS_pidfd_send_signal, pidfd, (int)si.ssi_signo, NULL, 0) < 0)
            md_debug("forward signal %u: %s", si.ssi_signo, strerror(errno));
    }
}

/* Without a terminal the container shares our stdio: only signals. */
int md_wait_forwarding(int sfd, int pidfd, md_error *err)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return md_fail(err, errno, "wait for the container");
        }
        if (p[1].revents & POLLIN)
            forward(sfd, pidfd);
        if (p[0].revents & POLLIN)
            return 0;
    }
}

int md_exit_code(int pidfd, md_error *err)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0)
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
    if (rc == 0 && !detach) {
        sfd = signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sfd < 0)
            rc = md_fail(err, errno, "signalfd");
    }
    if (rc == 0)
        rc = md_container_start(opts->root, opts->id, err);
    if (rc == 0 && !detach) {
        if (master >= 0) {
            struct md_relay relay = {.master = master, .pidfd = pidfd, .signal_fd = sfd};
            rc = md_tty_relay(&relay, err);
        } else {
            rc = md_wait_forwarding(sfd, pidfd, err);
        }
        int code = md_exit_code(pidfd, err);
        if (code < 0)
            rc = -1;
        else
            *exit_code = code;
    }
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
