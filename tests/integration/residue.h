/* residue.h - what containers could leave behind on the host, counted so
 * that a test can compare before and after: mounts, cgroup directories,
 * processes, open fds, state directory entries.
 *
 * Other test programs run at the same time (make -j check), so the global
 * counts move for reasons of theirs: the functions that count "ours" take
 * a needle (a path or an id prefix unique to the test) and only count what
 * carries it; the global counts are for the test's report. */
#ifndef MD_TEST_RESIDUE_H
#define MD_TEST_RESIDUE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Lines of /proc/self/mountinfo. */
size_t rs_mount_count(void);
/* Lines of /proc/self/mountinfo that contain needle (the mount point,
 * root or source); the first one in *first when not NULL (caller frees). */
size_t rs_mounts_with(const char *needle, char **first);

/* Cgroup directories in every hierarchy under /sys/fs/cgroup (each v1
 * controller's and the unified one, or the v2 root), counted below the
 * hierarchy's root, whose name starts with prefix (NULL: all of them);
 * the first one's path in *first when not NULL (caller frees). */
size_t rs_cgroup_dirs(const char *prefix, char **first);

/* Give uid:gid a cgroup of its own, named name, right below the root of
 * every hierarchy under /sys/fs/cgroup (the directory and its
 * cgroup.procs and tasks chowned, as a delegation does; a v1 cpuset one
 * gets the root's cpus and mems), so that an unprivileged mdrun can make
 * the container's cgroup in it (linux.cgroupsPath "/name/...").  Removed
 * with what is below it when the process exits.  false (errno set) when
 * a hierarchy refuses. */
bool rs_cgroup_delegate(const char *name, uid_t uid, gid_t gid);

/* Live processes (not zombies), other than this one, whose command line
 * or environment contains needle; the first one's pid in *first. */
size_t rs_procs_with(const char *needle, pid_t *first);
/* Wait up to secs for rs_procs_with(needle) to be at most max; returns
 * the count left. */
size_t rs_wait_procs(const char *needle, size_t max, unsigned secs, pid_t *first);

/* Entries of /proc/self/fd (this process's open fds). */
size_t rs_fd_count(void);
/* Open fds of pid, and how many of those above 2 lack close-on-exec (the
 * first one's target in *first when not NULL, caller frees); -1 when its
 * /proc cannot be read. */
long rs_fds_of(pid_t pid, size_t *inheritable, char **first);

/* Entries in dir besides "." and ".." (0 when it does not exist); the
 * first one's name in *first when not NULL (caller frees). */
size_t rs_dir_entries(const char *dir, char **first);

#endif
