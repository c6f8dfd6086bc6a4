/* mounts.h - one entry of config.json's mounts, made inside the rootfs,
 * and the remount that keeps what the kernel locked. */
#ifndef MD_MOUNTS_H
#define MD_MOUNTS_H

#include <stdbool.h>

#include "rootfs.h"

/* Mount m at its destination inside rootfd (the rootfs, before
 * pivot_root).  Errors name the mount: "mount /proc (proc): ...". */
int md_mount_entry(int rootfd, const struct md_rootfs_plan *plan, const md_mount *m, md_error *err);

/* A bind mount: "bind" or "rbind" in the options, or type "bind". */
bool md_mount_is_bind(const md_mount *m);

/* Remount the mount at path (a /proc/self/fd/N path works) with
 * MS_BIND|MS_REMOUNT and the per-mount flags of flags.  add: flags are
 * added to the mount's current ones (a read-only remount changes nothing
 * else).  Otherwise they replace them, except that a refusal (EPERM, the
 * kernel locks the flags of mounts inherited by a user namespace) is
 * retried keeping the mount's nosuid, nodev, noexec, ro and atime flags.
 * Returns 0, or -1 with errno set. */
int md_remount(const char *path, unsigned long flags, bool add);

#endif
