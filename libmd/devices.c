/* devices.c - device nodes of the container (the runtime-spec's default
 * devices and linux.devices) and the links of /dev.
 *
 * Each node is made in its parent directory, opened inside the rootfs
 * with safepath.c, under a plain name: nothing in the image can redirect
 * it.  mknod(2) needs CAP_MKNOD in the initial user namespace; where that
 * is missing the host's node of the same path is bound onto an empty
 * file instead (fifos need no privilege and are always made). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "devices.h"
#include "error.h"
#include "safepath.h"

struct node {
    const char *path;
    mode_t type; /* S_IFCHR, S_IFBLK or S_IFIFO */
    dev_t rdev;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

static const struct {
    const char *path;
    unsigned major, minor;
} default_devices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

static const struct {
    const char *name, *target;
} dev_links[] = {
    {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool matches(const struct stat *st, const struct node *n)
{
    return (st->st_mode & S_IFMT) == n->type && (n->type == S_IFIFO || st->st_rdev == n->rdev);
}

static int set_owner_mode(int parentfd, const char *name, const struct node *n, md_error *err)
{
    if (fchownat(parentfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return md_fail(err, errno, "device %s: chown", n->path);
    if (fchmodat(parentfd, name, n->mode, 0) < 0)
        return md_fail(err, errno, "device %s: chmod", n->path);
    return 0;
}

/* Bind the host's node of the same path onto an empty file. */
static int bind_node(int parentfd, const char *name, const struct node *n, md_error *err)
{
    struct stat st;
    if (stat(n->path, &st) < 0)
        return md_fail(err, errno, "device %s: bind from the host", n->path);
    if (!matches(&st, n))
        return md_fail(err, 0, "device %s: the host's %s is another device", n->path, n->path);
    int made = openat(parentfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (made < 0 && errno != EEXIST)
        return md_fail(err, errno, "device %s: create", n->path);
    if (made >= 0)
        close(made);
    md_autofd fd = openat(parentfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return md_fail(err, errno, "device %s: open", n->path);
    if (!S_ISREG(st.st_mode))
        return md_fail(err, EEXIST, "device %s: a file of another kind is in the way", n->path);
    char path[32];
    if (mount(n->path, md_fd_path(fd, path), NULL, MS_BIND, NULL) < 0)
        return md_fail(err, errno, "device %s: bind from the host", n->path);
    return 0;
}

static int make_node(int rootfd, const struct node *n, bool rootless, md_error *err)
{
    const char *slash = strrchr(n->path, '/');
    const char *name = slash ? slash + 1 : n->path;
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "/%.*s", slash ? (int)(slash - n->path) : 0, n->path);
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return md_fail(err, EINVAL, "device %s: not a file name", n->path);
    md_autofd pfd = md_mkpath_in_root(rootfd, parent, MD_PATH_DIR, err);
    if (pfd < 0)
        return md_wrap(err, "device %s", n->path);

    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (matches(&st, n))
            return rootless ? 0 : set_owner_mode(pfd, name, n, err);
        /* An empty file is a bind target (made by an earlier run). */
        if (!S_ISREG(st.st_mode) || st.st_size != 0)
            return md_fail(err, EEXIST, "device %s: a file of another kind is in the way", n->path);
        return bind_node(pfd, name, n, err);
    }
    if (errno != ENOENT)
        return md_fail(err, errno, "device %s", n->path);
    if (!rootless || n->type == S_IFIFO) {
        if (mknodat(pfd, name, n->type | n->mode, n->rdev) == 0)
            return set_owner_mode(pfd, name, n, err);
        /* EPERM: a user namespace, where only binds work. */
        if (errno != EPERM || n->type == S_IFIFO)
            return md_fail(err, errno, "device %s: mknod", n->path);
    }
    return bind_node(pfd, name, n, err);
}

static int node_of(const md_device *d, struct node *n, md_error *err)
{
    if (!d->path)
        return md_fail(err, EINVAL, "device: no path");
    const char *t = d->type ? d->type : "";
    if (strcmp(t, "c") == 0 || strcmp(t, "u") == 0)
        n->type = S_IFCHR;
    else if (strcmp(t, "b") == 0)
        n->type = S_IFBLK;
    else if (strcmp(t, "p") == 0)
        n->type = S_IFIFO;
    else
        return md_fail(err, EINVAL, "device %s: unknown type \"%s\"", d->path, t);
    n->path = d->path;
    n->rdev = n->type == S_IFIFO ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
    n->mode = d->has_file_mode ? d->file_mode & 07777 : 0666;
    n->uid = d->has_uid ? d->uid : 0;
    n->gid = d->has_gid ? d->gid : 0;
    return 0;
}

static bool in_spec(const md_linux *linux_, const char *path)
{
    for (size_t i = 0; linux_ && i < linux_->n_devices; i++)
        if (linux_->devices[i].path && strcmp(linux_->devices[i].path, path) == 0)
            return true;
    return false;
}

static bool under_dev(const char *path)
{
    return path && strncmp(path + strspn(path, "/"), "dev/", 4) == 0;
}

static int make_links(int rootfd, md_error *err)
{
    md_autofd devfd = md_mkpath_in_root(rootfd, "/dev", MD_PATH_DIR, err);
    if (devfd < 0)
        return -1;
    for (size_t i = 0; i < N(dev_links); i++) {
        const char *name = dev_links[i].name;
        if (strcmp(name, "core") == 0 && access("/proc/kcore", F_OK) < 0)
            continue;
        struct stat st;
        /* An image's ptmx node would be the host's devpts instance. */
        if (strcmp(name, "ptmx") == 0 && fstatat(devfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !S_ISLNK(st.st_mode) && unlinkat(devfd, name, 0) < 0)
            return md_fail(err, errno, "remove /dev/ptmx");
        if (symlinkat(dev_links[i].target, devfd, name) < 0 && errno != EEXIST)
            return md_fail(err, errno, "link /dev/%s", name);
    }
    return 0;
}

int md_rootfs_devices(int rootfd, const struct md_rootfs_plan *plan, bool defaults, md_error *err)
{
    const md_linux *linux_ = plan->spec->linux_;
    for (size_t i = 0; defaults && i < N(default_devices); i++) {
        if (in_spec(linux_, default_devices[i].path))
            continue;
        struct node n = {
            .path = default_devices[i].path,
            .type = S_IFCHR,
            .rdev = makedev(default_devices[i].major, default_devices[i].minor),
            .mode = 0666,
        };
        if (make_node(rootfd, &n, plan->rootless, err) < 0)
            return -1;
    }
    if (defaults && make_links(rootfd, err) < 0)
        return -1;
    for (size_t i = 0; linux_ && i < linux_->n_devices; i++) {
        /* A /dev bound from elsewhere (the host's) is not ours to change. */
        if (!defaults && under_dev(linux_->devices[i].path))
            continue;
        struct node n;
        if (node_of(&linux_->devices[i], &n, err) < 0 ||
            make_node(rootfd, &n, plan->rootless, err) < 0)
            return -1;
    }
    return 0;
}
