/* clone.h - clone3(2), with a fallback where it is missing.
 *
 * clone3 answers ENOSYS on kernels before 5.3, under seccomp profiles that
 * refuse it so that a runtime falls back (Docker's default, and the one
 * `mdrun spec` writes: mdrun itself may run in such a container), and
 * under valgrind.  The fallback is the classic clone system call, which
 * takes the same flags but cannot place the child in a cgroup. */
#ifndef MD_CLONE_H
#define MD_CLONE_H

#include <linux/sched.h>

/* Like syscall(SYS_clone3, args, sizeof(*args)), used without a new stack
 * (fork-like): the child's pid in the parent, 0 in the child, -1 with
 * errno on failure.  When clone3 is missing, the flags are passed to the
 * classic clone, except that CLONE_PIDFD becomes a pidfd_open() of the
 * child (-1 in *args->pidfd when that is missing too) and
 * CLONE_INTO_CGROUP cannot be had: that call fails with ENOSYS, and the
 * caller retries without it and moves the child itself. */
long md_clone3(struct clone_args *args);

#endif
