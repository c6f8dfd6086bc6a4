/* clone.c - clone3(2), with the classic clone(2) as its fallback. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clone.h"

long md_clone3(struct clone_args *args)
{
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
        *(int *)(uintptr_t)args->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
        errno = saved;
    }
    return pid;
}
