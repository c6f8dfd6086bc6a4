/* devices.h - the device nodes and links of the container's /dev. */
#ifndef MD_DEVICES_H
#define MD_DEVICES_H

#include <stdbool.h>

#include "rootfs.h"

/* Inside rootfd (the rootfs, before pivot_root): when defaults, the
 * default devices of the runtime-spec (null zero full random urandom tty)
 * and the links of /dev (fd, stdin, stdout, stderr, ptmx, core); then every
 * device of linux.devices (without defaults, when /dev is a bind mount of
 * some other /dev, those under /dev are left out, as runc does).  Nodes are made with mknod(2), or
 * bound from the host's node of the same path when plan->rootless or when mknod(2) is refused (a
 * user namespace). */
int md_rootfs_devices(int rootfd, const struct md_rootfs_plan *plan, bool defaults, md_error *err);

#endif
