/* cgroup-mount.h - the "cgroup" mount of config.json: the container's view of
 * the host's cgroup hierarchies. */
#ifndef MD_CGROUP_MOUNT_H
#define MD_CGROUP_MOUNT_H

#include <stdbool.h>

#include "mdrun.h"

/* Mount the cgroup filesystem on the directory dest inside rootfd (made
 * when missing).  flags are the MS_* flags of the mount's options.
 *
 * A cgroup v2 host gets cgroup2; a v1 or hybrid host a tmpfs holding one
 * directory per hierarchy (and the v2 one of a hybrid host), with the
 * links of co-mounted controllers (cpu -> cpu,cpuacct).  With a cgroup
 * namespace of the container's own (cgroupns) each filesystem is mounted
 * anew, showing the namespace's root; otherwise, or when the kernel
 * refuses, our own cgroup of each host hierarchy is bound instead, so the
 * container never sees the host's tree above it.  Every mount gets
 * nosuid, nodev and noexec.  The message of an error names the part that
 * failed; the caller adds the mount. */
int md_cgroupfs_mount(int rootfd, const char *dest, unsigned long flags, bool cgroupns,
                      md_error *err);

#endif
