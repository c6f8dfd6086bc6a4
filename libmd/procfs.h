/* procfs.h - making sure that a /proc the runtime writes to, or mounts
 * through (/proc/self/fd/N), is a real procfs and not something put there
 * by a container: a tmpfs or bind mount over it, or the directory of an
 * image whose config mounts no proc at /proc. */
#ifndef MD_PROCFS_H
#define MD_PROCFS_H

#include <stdbool.h>

#include "mdrun.h"

/* Whether fd is on a procfs (fstatfs(2) says PROC_SUPER_MAGIC). */
bool md_on_procfs(int fd);

/* open(2) path under /proc with flags (O_CLOEXEC and O_NOFOLLOW added)
 * and check that what was opened is on a procfs: "PATH is not on a
 * procfs" (errno EXDEV) otherwise.  Returns the fd or -1. */
int md_proc_open(const char *path, int flags, md_error *err);

/* Check that /proc/self/fd is on a procfs and lists this process's own
 * fds, before mounting onto /proc/self/fd/N paths: "/proc/self/fd is not
 * on a procfs" (errno EXDEV) otherwise. */
int md_procfs_check_fds(md_error *err);

#endif
