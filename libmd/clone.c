/* clone.c - clone3(2) with the classic clone(2) as its fallback, the fork
 * into a new pid namespace, pidfds or their absence, reaping (see
 * clone.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clone.h"
#include "sync.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* The test-only switch: act as where pidfd_open(2) is missing. */
#define NO_PIDFD_SWITCH "_MDRUN_NO_PIDFD"

static bool pidfds_off(void)
{
    const char *v = getenv(NO_PIDFD_SWITCH);
    return v && v[0] == '1';
}

int md_pidfd_open(pid_t pid)
{
    if (pidfds_off()) {
        errno = ENOSYS;
        return -1;
    }
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int md_child_signal(pid_t pid, int pidfd, int sig)
{
    if (pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
    return kill(pid, sig);
}

long md_clone3(struct clone_args *args)
{
    if ((args->flags & CLONE_PIDFD) && pidfds_off()) {
        args->flags &= ~(uint64_t)CLONE_PIDFD;
        *(int *)(uintptr_t)args->pidfd = -1;
    }
    long pid = syscall(SYS_clone3, args, sizeof(*args));
    if (pid >= 0 || errno != ENOSYS || (args->flags & CLONE_INTO_CGROUP))
        return pid;
    /* The classic call puts the exit signal in the flags' low byte; with
     * CLONE_PARENT the kernel ignores it and gives the child ours. */
    unsigned long flags = (unsigned long)(args->flags & ~(uint64_t)CLONE_PIDFD);
    flags |= (unsigned long)args->exit_signal & CSIGNAL;
    /* No new stack: the child returns here on a copy of ours, like fork. */
    pid = syscall(SYS_clone, flags, NULL, NULL, NULL, 0UL);
    if (pid > 0 && (args->flags & CLONE_PIDFD)) {
        int saved = errno;
        *(int *)(uintptr_t)args->pidfd = md_pidfd_open((pid_t)pid);
        errno = saved;
    }
    return pid;
}

int md_fork_in_pidns(int sync_fd, const char *what, md_error *err)
{
    /* The child speaks on the channel only after its pid is reported: it
     * waits for our end of this pipe to close, when we exit. */
    int gate[2];
    if (pipe2(gate, O_CLOEXEC) < 0)
        return md_fail(err, errno, "pipe");
    /* clone3 refuses an exit_signal with CLONE_PARENT: the child takes
     * ours, SIGCHLD, as mdrun's child. */
    struct clone_args args = {.flags = CLONE_PARENT};
    long pid = md_clone3(&args);
    if (pid < 0) {
        int e = errno;
        close(gate[0]);
        close(gate[1]);
        return md_fail(err, e, "fork %s", what);
    }
    if (pid > 0) {
        md_error ignored = {0};
        md_sync_send(sync_fd, MD_SYNC_INIT_PID, (int32_t)pid, NULL, -1, &ignored);
        _exit(0);
    }
    close(gate[1]);
    char byte;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
        ;
    close(gate[0]);
    return 0;
}

int md_reap(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

void md_kill_and_reap(pid_t pid, int pidfd)
{
    if (pid <= 0)
        return;
    md_child_signal(pid, pidfd, SIGKILL);
    md_reap(pid);
}

void md_hand_over_fds(unsigned keep)
{
    for (unsigned fd = 3; fd < 3 + keep; fd++)
        fcntl((int)fd, F_SETFD, 0);
    syscall(SYS_close_range, 3 + keep, ~0U, CLOSE_RANGE_CLOEXEC);
}
