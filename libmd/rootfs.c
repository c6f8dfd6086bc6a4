/* rootfs.c - the sequence that builds the container's filesystem: the
 * propagation of "/", the rootfs bind, the mounts of config.json (one at a
 * time in mounts.c), /dev (devices.c), pivot_root, then the masked and
 * read-only paths.
 *
 * Nothing mounted here may propagate back to the host: "/" is made a
 * slave (or private) recursively first, and a "shared" or "unbindable"
 * rootfsPropagation is applied to the new root only once it is the root
 * and every mount is made. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices.h"
#include "error.h"
#include "mounts.h"
#include "names.h"
#include "procfs.h"
#include "rootfs.h"
#include "safepath.h"

/* linux.rootfsPropagation as MS_* flags (without MS_REC); MS_SLAVE when
 * absent. */
static int root_propagation(const md_spec *spec, unsigned long *out, md_error *err)
{
    const char *name = spec->linux_ ? spec->linux_->rootfs_propagation : NULL;
    uint64_t value = MS_SLAVE;
    if (name && md_name_lookup(&md_propagation_names, name, &value) < 0)
        return md_fail(err, EINVAL, "linux.rootfsPropagation: unknown propagation \"%s\"", name);
    *out = (unsigned long)value & ~(unsigned long)MS_REC;
    return 0;
}

/* Is the lexically cleaned destination exactly "/dev"? */
static bool is_dev(const char *dest)
{
    const char *p = dest + strspn(dest, "/");
    if (strncmp(p, "dev", 3) != 0)
        return false;
    p += 3;
    while (*p == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
        p++;
    return *p == '\0';
}

/* runc's rule: the default devices are made unless /dev itself is bound
 * from somewhere (the host's /dev, say). */
static bool dev_is_bound(const md_spec *spec)
{
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (spec->mounts[i].destination && is_dev(spec->mounts[i].destination) &&
            md_mount_is_bind(&spec->mounts[i]))
            return true;
    return false;
}

int md_rootfs_prepare(const struct md_rootfs_plan *plan, md_error *err)
{
    const md_spec *spec = plan->spec;
    unsigned long prop;
    if (root_propagation(spec, &prop, err) < 0)
        return -1;
    /* Every mount below is made onto /proc/self/fd/N, resolved through the
     * /proc of the namespace we are in (the host's, or a joined one's). */
    if (md_procfs_check_fds(err) < 0)
        return md_wrap(err, "mounts");
    /* Shared and unbindable wait for the pivot: a shared "/" would carry
     * our mounts to the host, and an unbindable rootfs cannot be bound. */
    unsigned long now = prop == MS_PRIVATE ? MS_PRIVATE : MS_SLAVE;
    if (mount(NULL, "/", NULL, now | MS_REC, NULL) < 0)
        return md_fail(err, errno, "make / %s", now == MS_PRIVATE ? "private" : "slave");
    /* pivot_root(2) needs the new root to be a mount point. */
    if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return md_fail(err, errno, "bind the rootfs %s", plan->rootfs);
    md_autofd rootfd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open the rootfs %s", plan->rootfs);
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (md_mount_entry(rootfd, plan, &spec->mounts[i], err) < 0)
            return -1;
    return md_rootfs_devices(rootfd, plan, !dev_is_bound(spec), err);
}

/* pivot_root(".", ".") stacks the old root on top of the new one, at the
 * same place; unmounting "." then drops it.  No directory for the old root
 * is needed in the image. */
static int pivot(md_error *err)
{
    /* After pivot_root "." is the new root (our cwd), not the old one on
     * top of it: making that a slave would undo the propagation of every
     * container mount.  Act on the old root through an fd of it. */
    md_autofd old = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (old < 0)
        return md_fail(err, errno, "open the old root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return md_fail(err, errno, "pivot_root");
    if (fchdir(old) < 0)
        return md_fail(err, errno, "enter the old root");
    /* The old root's unmount must not propagate to the host. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return md_fail(err, errno, "make the old root slave");
    if (umount2(".", MNT_DETACH) < 0)
        return md_fail(err, errno, "unmount the old root");
    return 0;
}

/* --no-pivot: the rootfs is moved onto "/" and chroot'ed into; the old
 * root stays underneath. */
static int move_root(const char *rootfs, md_error *err)
{
    if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
        return md_fail(err, errno, "move the rootfs to /");
    if (chroot(".") < 0)
        return md_fail(err, errno, "chroot");
    return 0;
}

int md_rootfs_enter(const struct md_rootfs_plan *plan, md_error *err)
{
    md_autofd fd = open(plan->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fchdir(fd) < 0)
        return md_fail(err, errno, "enter the rootfs %s", plan->rootfs);
    if ((plan->no_pivot ? move_root(plan->rootfs, err) : pivot(err)) < 0)
        return -1;
    if (chdir("/") < 0)
        return md_fail(err, errno, "chdir /");
    return 0;
}

int md_rootfs_console(const char *slave_path, md_error *err)
{
    md_autofd rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open /");
    /* From here on /proc is the container's: it must be a procfs. */
    if (md_procfs_check_fds(err) < 0)
        return md_wrap(err, "console");
    md_autofd fd = md_mkpath_in_root(rootfd, "/dev/console", MD_PATH_FILE, err);
    if (fd < 0)
        return md_wrap(err, "console");
    char path[32];
    if (mount(slave_path, md_fd_path(fd, path), NULL, MS_BIND, NULL) < 0)
        return md_fail(err, errno, "bind %s to /dev/console", slave_path);
    return 0;
}

/* ------------------------------------------------------ masked, readonly */

/* Open path inside the root; 1 when missing (skipped, as runc does). */
static int open_existing(int rootfd, const char *path, int *fd, md_error *err)
{
    *fd = md_open_in_root(rootfd, path, O_PATH, err);
    if (*fd >= 0)
        return 0;
    if (err->errnum != ENOENT)
        return -1;
    md_error_clear(err);
    return 1;
}

/* The container's /dev/null, checked to be the null device. */
static int open_null(int rootfd, md_error *err)
{
    md_autofd fd = md_open_in_root(rootfd, "/dev/null", O_PATH, err);
    if (fd < 0)
        return md_wrap(err, "masked paths");
    struct stat st;
    if (fstat(fd, &st) < 0)
        return md_fail(err, errno, "masked paths: /dev/null");
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        return md_fail(err, 0, "masked paths: /dev/null is not the null device");
    return md_take_fd(&fd);
}

/* Directories get an empty read-only tmpfs, anything else /dev/null. */
static int mask(int rootfd, int *nullfd, const char *path, md_error *err)
{
    md_autofd fd = -1;
    int r = open_existing(rootfd, path, &fd, err);
    if (r != 0)
        return r < 0 ? md_wrap(err, "masked path") : 0;
    struct stat st;
    char target[32];
    md_fd_path(fd, target);
    if (fstat(fd, &st) < 0)
        return md_fail(err, errno, "masked path %s", path);
    if (S_ISDIR(st.st_mode)) {
        unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (mount("tmpfs", target, "tmpfs", flags, "size=0k,mode=555") < 0)
            return md_fail(err, errno, "masked path %s", path);
        return 0;
    }
    if (*nullfd < 0 && (*nullfd = open_null(rootfd, err)) < 0)
        return -1;
    char null[32];
    if (mount(md_fd_path(*nullfd, null), target, NULL, MS_BIND, NULL) < 0)
        return md_fail(err, errno, "masked path %s", path);
    return 0;
}

/* Bind the path onto itself, then make that mount read-only. */
static int make_readonly(int rootfd, const char *path, md_error *err)
{
    md_autofd fd = -1;
    int r = open_existing(rootfd, path, &fd, err);
    if (r != 0)
        return r < 0 ? md_wrap(err, "readonly path") : 0;
    char target[32];
    md_fd_path(fd, target);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return md_fail(err, errno, "readonly path %s", path);
    md_autofd top = md_open_in_root(rootfd, path, O_PATH, err);
    if (top < 0)
        return md_wrap(err, "readonly path");
    if (md_remount(md_fd_path(top, target), MS_RDONLY, true) < 0)
        return md_fail(err, errno, "readonly path %s", path);
    return 0;
}

int md_rootfs_finish(const struct md_rootfs_plan *plan, md_error *err)
{
    const md_spec *spec = plan->spec;
    const md_linux *linux_ = spec->linux_;
    md_autofd rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return md_fail(err, errno, "open /");
    /* The masks are mounted through the container's /proc: without a
     * procfs there, an image's fake /proc/self/fd would steer them. */
    if (linux_ && (linux_->n_masked_paths || linux_->n_readonly_paths) &&
        md_procfs_check_fds(err) < 0)
        return md_wrap(err, "masked and read-only paths");
    md_autofd nullfd = -1;
    for (size_t i = 0; linux_ && i < linux_->n_masked_paths; i++)
        if (mask(rootfd, &nullfd, linux_->masked_paths[i], err) < 0)
            return -1;
    for (size_t i = 0; linux_ && i < linux_->n_readonly_paths; i++)
        if (make_readonly(rootfd, linux_->readonly_paths[i], err) < 0)
            return -1;
    if (spec->root && spec->root->readonly && md_remount("/", MS_RDONLY, true) < 0)
        return md_fail(err, errno, "remount / read-only");
    /* Last: the binds above (masks, read-only paths, the console) are
     * refused from an unbindable tree. */
    unsigned long prop;
    if (root_propagation(spec, &prop, err) < 0)
        return -1;
    if ((prop == MS_SHARED || prop == MS_UNBINDABLE) &&
        mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
        return md_fail(err, errno, "set the propagation of /");
    return 0;
}
