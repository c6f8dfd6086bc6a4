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

/* Make sure this process runs from a binary no container can write.
 * Returns 0 when it already does (the binary is out of reach, or this is
 * the re-execution).  Otherwise it executes /proc/self/exe again through a
 * read-only bind mount that no mount namespace holds (root; open_tree(2))
 * or from a memfd copy sealed against any write, resize or further
 * sealing, with argv (main's, untouched) and the current environment:
 * the process keeps its pid, fds without FD_CLOEXEC and signal mask, and
 * this call returns only on failure (-1, err set).  Call it at the start
 * of every command that starts a container process: create, run, exec. */
int md_protect_exe(char *const argv[], md_error *err);

/* Whether the running binary is a memfd copy sealed by md_protect_exe(). */
bool md_exe_is_sealed(void);

/* prctl(PR_SET_DUMPABLE): off before entering namespaces whose processes
 * could otherwise ptrace us or open /proc/OUR_PID/{exe,fd,mem}; on again
 * only for the moments the parent writes our /proc files (uid_map), which
 * a non-dumpable process's owner cannot.  execve(2) of the container's
 * program makes it dumpable again as usual. */
int md_protect_dumpable(bool dumpable, md_error *err);

#endif
