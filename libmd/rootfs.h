/* rootfs.h - the container's filesystem, built by the container process in
 * its new mount namespace: mounts in config order, /dev and its devices,
 * pivot_root, then masked and read-only paths.
 *
 * Sequence (run by the container process, as root of its user namespace):
 *   md_rootfs_prepare()   propagation, rootfs bind, every mount, /dev
 *   (createContainer hooks run here, by the caller)
 *   md_rootfs_enter()     pivot_root (or move + chroot with no_pivot)
 *   (terminal set-up here: /dev/console is bound by md_rootfs_console())
 *   md_rootfs_finish()    masked paths, readonly paths, read-only root, then a
 *                         shared or unbindable rootfsPropagation
 */
#ifndef MD_ROOTFS_H
#define MD_ROOTFS_H

#include <stdbool.h>

#include "spec.h"

struct md_rootfs_plan {
    const md_spec *spec;
    const char *bundle; /* absolute bundle directory: base of relative bind sources */
    const char *rootfs; /* absolute, canonical path of the root filesystem on the host */
    bool rootless;      /* no mknod(2): device nodes are bind-mounted from the host */
    bool no_pivot;      /* --no-pivot: MS_MOVE + chroot instead of pivot_root(2) */
};

int md_rootfs_prepare(const struct md_rootfs_plan *plan, md_error *err);
int md_rootfs_enter(const struct md_rootfs_plan *plan, md_error *err);
/* Bind the terminal's slave (a path in the container) onto /dev/console. */
int md_rootfs_console(const char *slave_path, md_error *err);
int md_rootfs_finish(const struct md_rootfs_plan *plan, md_error *err);

#endif
