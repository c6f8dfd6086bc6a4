/* clone.h - making and ending the processes of mdrun: clone3(2) with a
 * fallback where it is missing, the fork into a new pid namespace that
 * create and exec share, pidfds or their absence, and reaping.
 *
 * clone3 answers ENOSYS on kernels before 5.3, under seccomp profiles that
 * refuse it so that a runtime falls back (Docker's default, and the one
 * `mdrun spec` writes: mdrun itself may run in such a container), and
 * under valgrind.  The fallback is the classic clone system call, which
 * takes the same flags but cannot place the child in a cgroup. */
#ifndef MD_CLONE_H
#define MD_CLONE_H

#include <linux/sched.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* pidfd_open(pid): the one place that decides whether mdrun has pidfds.
 * They are missing before Linux 5.3 and under valgrind 3.19 (ENOSYS), and
 * the test-only switch _MDRUN_NO_PIDFD=1 in the environment makes mdrun
 * act as there (tests/integration/test-nopidfd.c, tests/valgrind/).
 * Without one, mdrun still waits for the container's process as its
 * parent (run.c), and signals it by pid with md_child_signal().  -1 with
 * errno on failure. */
int md_pidfd_open(pid_t pid);

/* Send sig to a child of ours that is not reaped yet: through its pidfd
 * when pidfd >= 0, else by pid, which the kernel cannot give to another
 * process before we reap this one.  0, or -1 with errno. */
int md_child_signal(pid_t pid, int pidfd, int sig);

/* Like syscall(SYS_clone3, args, sizeof(*args)), used without a new stack
 * (fork-like): the child's pid in the parent, 0 in the child, -1 with
 * errno on failure.  CLONE_PIDFD is dropped (-1 in *args->pidfd) under
 * _MDRUN_NO_PIDFD.  When clone3 is missing, the flags are passed to the
 * classic clone, except that CLONE_PIDFD becomes md_pidfd_open() of the
 * child (-1 in *args->pidfd when that is missing too) and
 * CLONE_INTO_CGROUP cannot be had: that call fails with ENOSYS, and the
 * caller retries without it and moves the child itself. */
long md_clone3(struct clone_args *args);

/* After unsharing or joining a pid (or time) namespace only the caller's
 * children are in it: fork one as a child of mdrun (CLONE_PARENT), so that
 * mdrun can wait for it.  The caller reports the child's pid to mdrun on
 * sync_fd (MD_SYNC_INIT_PID) and exits; the child goes on only once that
 * report is out.  Returns 0 in the child, -1 on failure (what names the
 * child in the error); never returns in the caller otherwise. */
int md_fork_in_pidns(int sync_fd, const char *what, md_error *err);

/* waitpid(2) until pid is reaped; its wait status. */
int md_reap(pid_t pid);

/* SIGKILL pid (through pidfd when it is >= 0) and reap it; nothing for a
 * pid <= 0. */
void md_kill_and_reap(pid_t pid, int pidfd);

/* Only 0, 1, 2 and the keep fds after them may reach a program that is
 * executed: the rest become close-on-exec. */
void md_hand_over_fds(unsigned keep);

#endif
