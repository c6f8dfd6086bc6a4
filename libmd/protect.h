/* protect.h - keeping the container away from the host's mdrun binary
 * (the CVE-2019-5736 class).
 *
 * A process that enters a container runs mdrun's code until it execs the
 * container's program.  Through /proc/PID/exe (its own, as an entrypoint
 * that is a symlink to /proc/self/exe, or another process's in a shared
 * pid namespace) the container could reach the binary file and, once no
 * process executes it any more, reopen it for writing.  Unless the file is
 * out of the container's reach anyway (root alone may write it and the
 * caller is an unprivileged user, whose containers never hold root's id),
 * mdrun therefore runs those commands from a read-only view of itself (a
 * bind mount in no mount namespace, for root) or from a sealed in-memory
 * copy: what /proc/PID/exe leads to is a file nothing can modify.  And a
 * process entering namespaces that others already live in is made
 * non-dumpable, so that they cannot ptrace it or open its /proc files. */
#ifndef MD_PROTECT_H
#define MD_PROTECT_H

#include <stdbool.h>

#include "mdrun.h"

struct md_seccomp_program;

/* Make sure this process runs from a binary no container can write, or
 * will leave it through the exec step.  Returns 0 when it already does
 * (the binary is out of reach, or this is the re-execution), and for root,
 * which md_protect_exec_step() protects later.  Otherwise it executes
 * /proc/self/exe again from a memfd copy sealed against any write, resize
 * or further sealing, with argv (main's, untouched, also kept for
 * md_protect_exec_step()) and the current environment: the process keeps
 * its pid, fds without FD_CLOEXEC and signal mask, and this call returns
 * only on failure (-1, err set).  Call it at the start of every command
 * that starts a container process: create, run, exec. */
int md_protect_exe(char *const argv[], md_error *err);

/* Root, before anything of the container exists: make the exec step
 * (exec-step.h) that md_exec() then goes through, in this process and the
 * processes it forks.  When it cannot be made, or when labelled (an LSM
 * label is due at the last execve: the step would take it instead of the
 * program), execute mdrun again, through a read-only bind mount of its
 * binary that no mount namespace holds (open_tree(2)), as
 * md_protect_exe() does; this returns only on failure then.  0 and
 * nothing to do for anyone else, or when already protected. */
int md_protect_exec_step(bool labelled, md_error *err);

/* Whether md_exec() goes through the exec step: the process must then be
 * non-dumpable until it execs (md_protect_dumpable). */
bool md_protect_has_exec_step(void);

/* The last execve(2) of a process in a container. */
struct md_exec_call {
    const char *path;
    char *const *argv;
    char *const *envp;
    char report_kind; /* 's': report_fd is the sync socket, 'h': a hook's report pipe */
    int report_fd;    /* -1: a failure is told on stderr */
    int status;       /* the exit status after a failed execve */
    /* The filter loaded before, for the hint a failure gets; or NULL. */
    const struct md_seccomp_program *seccomp;
};

/* Exec call's program, through the exec step when there is one (which
 * then reports a failure of the program's execve as report_kind says and
 * exits with status).  Returns only when the exec failed, with err set:
 * "exec PATH: reason", and a hint when the filter may have denied it. */
void md_exec(const struct md_exec_call *call, md_error *err);

/* Whether the running binary is a memfd copy sealed by md_protect_exe(). */
bool md_exe_is_sealed(void);

/* prctl(PR_SET_DUMPABLE): off before entering namespaces whose processes
 * could otherwise ptrace us or open /proc/OUR_PID/{exe,fd,mem}; on again
 * only for the moments the parent writes our /proc files (uid_map), which
 * a non-dumpable process's owner cannot.  execve(2) of the container's
 * program makes it dumpable again as usual. */
int md_protect_dumpable(bool dumpable, md_error *err);

#endif
