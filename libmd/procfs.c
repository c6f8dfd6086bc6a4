/* procfs.c - checks that /proc is the kernel's procfs (see procfs.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "procfs.h"

bool md_on_procfs(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

int md_proc_open(const char *path, int flags, md_error *err)
{
    /* The file itself is checked: a mount over part of /proc would not
     * show on /proc. */
    md_autofd fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return md_fail(err, errno, "open %s", path);
    if (!md_on_procfs(fd))
        return md_failx(err, EXDEV, "%s is not on a procfs", path);
    return md_take_fd(&fd);
}

int md_procfs_check_fds(md_error *err)
{
    md_autofd dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return md_fail(err, errno, "open /proc/self/fd");
    if (!md_on_procfs(dir))
        return md_failx(err, EXDEV, "/proc/self/fd is not on a procfs");
    /* Its entry for the fd just opened must lead back to that directory:
     * then the entries are our fds, not those of a procfs whose "self" is
     * someone else, nor symlinks made to look like them. */
    char name[16];
    snprintf(name, sizeof(name), "%d", dir);
    struct stat a, b;
    if (fstat(dir, &a) < 0 || fstatat(dir, name, &b, 0) < 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return md_failx(err, EXDEV, "/proc/self/fd does not list mdrun's own file descriptors");
    return 0;
}
