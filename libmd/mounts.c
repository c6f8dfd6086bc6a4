/* mounts.c - one entry of config.json's mounts.
 *
 * Every destination is resolved (and created) inside the rootfs with
 * safepath.c, and the mount is made onto /proc/self/fd/N of the fd found,
 * so a symlink in the image cannot send it outside.  After the mount the
 * destination is opened again: the new fd refers to the new mount, on
 * which the remount, the propagation change and mount_setattr(2) act. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-mount.h"
#include "cleanup.h"
#include "error.h"
#include "mounts.h"
#include "mountopt.h"
#include "safepath.h"

/* The flags that belong to a mount rather than to its filesystem: the
 * only ones a bind remount changes. */
#define MNT_FLAGS                                                                              \
    (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | \
     MS_STRICTATIME | MS_NOSYMFOLLOW)
#define ATIME_FLAGS (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

/* Older glibc lacks it (the kernel reports it since Linux 5.10). */
#ifndef ST_NOSYMFOLLOW
#define ST_NOSYMFOLLOW 0x2000
#endif

/* A tmpcopyup tree deeper than this is refused rather than followed. */
#define COPY_DEPTH 64

/* ---------------------------------------------------------------- remount */

static unsigned long statvfs_flags(const struct statvfs *sv)
{
    static const struct {
        unsigned long st, ms;
    } map[] = {
        {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
        {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME}, {ST_NOSYMFOLLOW, MS_NOSYMFOLLOW},
    };
    unsigned long flags = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (sv->f_flag & map[i].st)
            flags |= map[i].ms;
    /* Neither noatime nor relatime: strictatime. */
    if (!(flags & (MS_NOATIME | MS_RELATIME)))
        flags |= MS_STRICTATIME;
    return flags;
}

int md_remount(const char *path, unsigned long flags, bool add)
{
    struct statvfs sv;
    flags &= MNT_FLAGS;
    if (add) {
        if (statvfs(path, &sv) < 0)
            return -1;
        unsigned long cur = statvfs_flags(&sv);
        if (flags & ATIME_FLAGS)
            cur &= ~ATIME_FLAGS;
        flags |= cur;
    }
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) == 0)
        return 0;
    if (errno != EPERM || add || statvfs(path, &sv) < 0)
        return -1;
    unsigned long locked = statvfs_flags(&sv);
    flags = (flags & ~ATIME_FLAGS) | (locked & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) |
            (locked & ATIME_FLAGS);
    return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL);
}

/* -------------------------------------------------------------- one mount */

/* One mount being made. */
struct one {
    int rootfd;
    const struct md_rootfs_plan *plan;
    const md_mount *m;
    const char *type; /* for messages: "bind" for bind mounts */
    struct md_mount_opts o;
    bool tree_ro; /* attr_set holds only our own MOUNT_ATTR_RDONLY: optional */
    md_error *err;
};

static int fail(struct one *x, int errnum, const char *what)
{
    const char *dest = x->m->destination;
    if (what)
        return md_fail(x->err, errnum, "mount %s (%s): %s", dest, x->type, what);
    return md_fail(x->err, errnum, "mount %s (%s)", dest, x->type);
}

static int wrap(struct one *x)
{
    return md_wrap(x->err, "mount %s (%s)", x->m->destination, x->type);
}

bool md_mount_is_bind(const md_mount *m)
{
    if (m->type && strcmp(m->type, "bind") == 0)
        return true;
    for (size_t i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i], "bind") == 0 || strcmp(m->options[i], "rbind") == 0)
            return true;
    return false;
}

static int mount_setattr_fd(int fd, const struct md_mount_opts *o)
{
    struct mount_attr attr = {.attr_set = o->attr_set, .attr_clr = o->attr_clr};
    return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                        sizeof(attr));
}

/* After the mount itself: the remount of a bind (remount true), the
 * propagation, the recursive attributes.  All act on the new mount. */
static int finish_mount(struct one *x, bool remount)
{
    md_autofd fd = md_open_in_root(x->rootfd, x->m->destination, O_PATH, x->err);
    if (fd < 0)
        return wrap(x);
    char path[32];
    md_fd_path(fd, path);
    if (remount && (x->o.flags & MNT_FLAGS) && md_remount(path, x->o.flags, false) < 0)
        return fail(x, errno, "remount");
    if (x->o.propagation && mount(NULL, path, NULL, x->o.propagation, NULL) < 0)
        return fail(x, errno, "set propagation");
    if ((x->o.attr_set || x->o.attr_clr) && mount_setattr_fd(fd, &x->o) < 0) {
        if (errno == ENOSYS && x->tree_ro)
            return 0; /* before Linux 5.12: the top mount alone is read-only */
        if (errno == ENOSYS)
            return fail(x, errno, "recursive options need mount_setattr(2), Linux 5.12");
        return fail(x, errno, "mount_setattr");
    }
    return 0;
}

/* Bind host_path onto the destination (created as kind) and apply the
 * options.  rec adds MS_REC. */
static int bind_onto(struct one *x, const char *host_path, enum md_path_kind kind, bool rec)
{
    md_autofd fd = md_mkpath_in_root(x->rootfd, x->m->destination, kind, x->err);
    if (fd < 0)
        return wrap(x);
    char path[32];
    if (mount(host_path, md_fd_path(fd, path), NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0) {
        /* The kernel's refusal to uncover what a user namespace's
         * inherited mounts hide: only the whole tree may be bound. */
        if (errno == EINVAL && !rec)
            return fail(x, errno, "a source with mounts under it needs rbind in a user namespace");
        return fail(x, errno, NULL);
    }
    return finish_mount(x, true);
}

static int do_bind(struct one *x)
{
    const char *src = x->m->source;
    if (!src)
        return fail(x, EINVAL, "no source");
    md_autofree char *abs = NULL;
    if (src[0] != '/') {
        if (asprintf(&abs, "%s/%s", x->plan->bundle, src) < 0)
            return fail(x, ENOMEM, NULL);
        src = abs;
    }
    struct stat st;
    if (stat(src, &st) < 0) {
        char what[64 + 4096];
        snprintf(what, sizeof(what), "source %s", src);
        return fail(x, errno, what);
    }
    enum md_path_kind kind = S_ISDIR(st.st_mode) ? MD_PATH_DIR : MD_PATH_FILE;
    return bind_onto(x, src, kind, x->o.flags & MS_REC);
}

/* ---------------------------------------------------------------- tmpcopyup */

static int copy_tree(int src, int dst, int depth);

static int copy_file(int src, int dst, const char *name, const struct stat *st)
{
    md_autofd in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -1;
    md_autofd out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                           st->st_mode & 07777);
    if (out < 0)
        return -1;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno != EINTR)
                return -1;
            off += w > 0 ? w : 0;
        }
    }
}

static int copy_entry(int src, int dst, const char *name, int depth)
{
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(dst, name, st.st_mode & 07777) < 0)
            return -1;
        md_autofd s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        md_autofd d = openat(dst, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0 || copy_tree(s, d, depth + 1) < 0)
            return -1;
    } else if (S_ISREG(st.st_mode)) {
        if (copy_file(src, dst, name, &st) < 0)
            return -1;
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(src, name, target, sizeof(target) - 1);
        if (n < 0)
            return -1;
        target[n] = '\0';
        if (symlinkat(target, dst, name) < 0)
            return -1;
    } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
        /* Device nodes cannot be made in a user namespace: leave them out. */
        return errno == EPERM ? 0 : -1;
    }
    /* Owners outside the user namespace's map cannot be given: keep ours. */
    if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != EPERM)
        return -1;
    if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
        return -1;
    return 0;
}

/* Copy the content of directory src (readable fd) into dst. */
static int copy_tree(int src, int dst, int depth)
{
    if (depth > COPY_DEPTH) {
        errno = ELOOP;
        return -1;
    }
    int dupfd = fcntl(src, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0)
        return -1;
    md_autodir dir = fdopendir(dupfd);
    if (!dir) {
        close(dupfd);
        return -1;
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (copy_entry(src, dst, e->d_name, depth) < 0)
            return -1;
    }
    return errno ? -1 : 0;
}

/* The new tmpfs takes the content, mode and owner of the directory it
 * covers (srcfd, opened before the mount). */
static int copy_up(struct one *x, int srcfd)
{
    md_autofd dst = md_open_in_root(x->rootfd, x->m->destination, O_PATH | O_DIRECTORY, x->err);
    if (dst < 0)
        return wrap(x);
    struct stat st;
    char path[32];
    md_fd_path(dst, path);
    if (fstat(srcfd, &st) < 0 || chmod(path, st.st_mode & 07777) < 0)
        return fail(x, errno, "tmpcopyup");
    if (chown(path, st.st_uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
        return fail(x, errno, "tmpcopyup");
    if (copy_tree(srcfd, dst, 0) < 0)
        return fail(x, errno, "tmpcopyup");
    return 0;
}

/* ---------------------------------------------------------------- cgroup */

static bool has_cgroupns(const md_spec *spec)
{
    const md_linux *lx = spec->linux_;
    for (size_t i = 0; lx && i < lx->n_namespaces; i++)
        if (lx->namespaces[i].type && strcmp(lx->namespaces[i].type, "cgroup") == 0)
            return true;
    return false;
}

static int do_cgroup(struct one *x)
{
    bool ns = has_cgroupns(x->plan->spec);
    if (md_cgroupfs_mount(x->rootfd, x->m->destination, x->o.flags & MNT_FLAGS, ns, x->err) < 0)
        return wrap(x);
    return finish_mount(x, false);
}

/* ----------------------------------------------------- other filesystems */

/* Remove "gid=N" from the devpts data: the group must be mapped in the
 * user namespace, and often is not (rootless). */
static bool drop_gid_option(char *data)
{
    bool dropped = false;
    char *out = data;
    for (char *save = NULL, *t = strtok_r(data, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strncmp(t, "gid=", 4) == 0) {
            dropped = true;
            continue;
        }
        if (out != data)
            *out++ = ',';
        memmove(out, t, strlen(t));
        out += strlen(t);
    }
    *out = '\0';
    return dropped;
}

static bool type_is(struct one *x, const char *type)
{
    return strcmp(x->type, type) == 0;
}

/* A kernel refusal a bind of the host's filesystem can stand in for: proc
 * without a pid namespace of ours, sysfs without a network namespace,
 * mqueue without an IPC namespace (runc and crun do the same). */
static const char *bind_instead(struct one *x, int errnum)
{
    if (errnum != EPERM && errnum != EBUSY)
        return NULL;
    if (type_is(x, "proc"))
        return "/proc";
    if (type_is(x, "sysfs"))
        return "/sys";
    if (type_is(x, "mqueue") && access("/dev/mqueue", F_OK) == 0)
        return "/dev/mqueue";
    return NULL;
}

static int do_filesystem(struct one *x)
{
    md_autofd fd = md_mkpath_in_root(x->rootfd, x->m->destination, MD_PATH_DIR, x->err);
    if (fd < 0)
        return wrap(x);
    md_autofd copyfd = -1;
    if (x->o.tmpcopyup) {
        copyfd = md_open_in_root(x->rootfd, x->m->destination, O_RDONLY | O_DIRECTORY, x->err);
        if (copyfd < 0)
            return wrap(x);
    }
    char path[32];
    md_fd_path(fd, path);
    const char *source = x->m->source ? x->m->source : x->type;
    int r = mount(source, path, x->type, x->o.flags, x->o.data);
    if (r < 0 && errno == EINVAL && type_is(x, "devpts") && x->o.data && drop_gid_option(x->o.data))
        r = mount(source, path, x->type, x->o.flags, x->o.data);
    if (r < 0) {
        int saved = errno;
        const char *host = bind_instead(x, saved);
        if (!host)
            return fail(x, saved, NULL);
        /* The host's sysfs is shown read-only, with every mount under it. */
        if (type_is(x, "sysfs"))
            x->o.flags |= MS_RDONLY;
        if ((x->o.flags & MS_RDONLY) && !x->o.attr_set && !x->o.attr_clr) {
            x->o.attr_set = MOUNT_ATTR_RDONLY;
            x->tree_ro = true;
        }
        return bind_onto(x, host, MD_PATH_DIR, true);
    }
    if (copyfd >= 0 && copy_up(x, copyfd) < 0)
        return -1;
    return finish_mount(x, false);
}

int md_mount_entry(int rootfd, const struct md_rootfs_plan *plan, const md_mount *m, md_error *err)
{
    struct one x = {.rootfd = rootfd, .plan = plan, .m = m, .err = err};
    bool bind = md_mount_is_bind(m);
    x.type = bind ? "bind" : m->type ? m->type : "none";
    if (!m->destination)
        return md_fail(err, EINVAL, "mount: no destination");
    if (md_mount_opts_parse(m->options, m->n_options, &x.o, err) < 0)
        return wrap(&x);
    int r;
    if (x.o.idmap || m->n_uid_mappings || m->n_gid_mappings)
        r = fail(&x, EOPNOTSUPP, "idmapped mounts");
    else if (bind)
        r = do_bind(&x);
    else if (type_is(&x, "cgroup"))
        r = do_cgroup(&x);
    else
        r = do_filesystem(&x);
    md_mount_opts_free(&x.o);
    return r;
}
