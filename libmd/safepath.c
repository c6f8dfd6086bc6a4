/* safepath.c - resolving paths inside a root filesystem as if it were "/".
 *
 * openat2(2) with RESOLVE_IN_ROOT does this in the kernel.  Where it is
 * missing (ENOSYS, before Linux 5.6), and whenever something must be
 * created on the way, a userspace walker does the same one component at a
 * time: each component is opened with O_PATH|O_NOFOLLOW relative to the
 * directory fd reached so far, symlinks are read and their text resolved
 * again inside the root, and ".." is clamped at the root.  ".." never goes
 * through the kernel: the walker re-walks the (symlink-free) path it has
 * taken from the root fd, so a directory moved out of the root by a
 * concurrent rename cannot lead outside.
 *
 * Magic links (/proc/self/fd/N, exe, cwd...): refused (ELOOP) by both,
 * openat2 with RESOLVE_NO_MAGICLINKS and the walker by looking at the
 * filesystem of every symlink it meets, so that a path such as a
 * process.cwd of /proc/self/fd/7 fails the same way on every kernel. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "procfs.h"
#include "safepath.h"

/* As the kernel: at most 40 symlinks in one resolution. */
#define MAX_LINKS 40
/* How often a resolution that lost a race (EAGAIN) is tried again. */
#define MAX_RETRIES 32
/* Creations attempted in one walk before giving up on a racing remover. */
#define MAX_CREATES 256

/* The flags the kernel accepts together with O_PATH. */
#define PATH_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* procfs's root directory (fs/proc/internal.h). */
#define PROC_ROOT_INO 1

static bool force_fallback;
static bool no_openat2;

void md_safepath_force_fallback(bool on)
{
    force_fallback = on;
}

/* The test hook of safepath.h, read once. */
static bool fallback_forced(void)
{
    static int env = -1;
    if (env < 0) {
        const char *v = getenv("MDRUN_TEST_NO_OPENAT2");
        env = v && strcmp(v, "1") == 0;
    }
    return force_fallback || env;
}

char *md_fd_path(int fd, char *buf)
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
    return buf;
}

/* ------------------------------------------------------------ the walker */

struct walk {
    int rootfd;
    int cur;             /* O_PATH fd of the directory reached so far */
    char done[PATH_MAX]; /* its symlink-free path below the root: "" or "a/b" */
    char *rest;          /* what remains to resolve (owned) */
    char *p;             /* position in rest */
    int links;
    int creates;
    int flags;              /* open(2) flags of the result */
    bool create;            /* create what is missing (mkpath) */
    enum md_path_kind kind; /* what to create last */
};

static int open_root(int rootfd)
{
    return openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int set_cur(struct walk *w, int fd)
{
    if (fd < 0)
        return -errno;
    if (w->cur >= 0)
        close(w->cur);
    w->cur = fd;
    return 0;
}

/* ".." of the directory reached: drop the last component of done and walk
 * what is left again from the root.  Every component of done was a real
 * directory; one that no longer is means a concurrent change (EAGAIN). */
__attribute__((noinline)) /* rare: its buffer stays off the common frame */
static int
go_up(struct walk *w)
{
    char *slash = strrchr(w->done, '/');
    if (slash)
        *slash = '\0';
    else
        w->done[0] = '\0';
    md_autofd fd = open_root(w->rootfd);
    if (fd < 0)
        return -errno;
    char copy[PATH_MAX];
    memcpy(copy, w->done, sizeof(copy));
    for (char *save = NULL, *name = strtok_r(copy, "/", &save); name;
         name = strtok_r(NULL, "/", &save)) {
        int next = openat(fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (next < 0)
            return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -EAGAIN : -errno;
        close(fd);
        fd = next;
    }
    return set_cur(w, md_take_fd(&fd));
}

static int go_down(struct walk *w, int fd, const char *name)
{
    size_t used = strlen(w->done);
    size_t need = used + (used ? 1 : 0) + strlen(name) + 1;
    if (need > sizeof(w->done)) {
        close(fd);
        return -ENAMETOOLONG;
    }
    if (used)
        w->done[used++] = '/';
    strcpy(w->done + used, name);
    return set_cur(w, fd);
}

/* A symlink on procfs below its root (/proc/PID/fd/N, exe, cwd, root,
 * ns/...) is a magic link, which the kernel follows to the object itself,
 * wherever it is; procfs's own top-level links (self, thread-self, mounts,
 * net) are plain ones. */
static bool magic_link(const struct walk *w, int linkfd)
{
    struct stat st;
    if (!md_on_procfs(linkfd))
        return false;
    return fstat(w->cur, &st) < 0 || st.st_ino != PROC_ROOT_INO;
}

/* Replace what remains with target + "/" + what remains after the link. */
__attribute__((noinline)) /* as go_up() */
static int
follow_link(struct walk *w, int linkfd)
{
    if (++w->links > MAX_LINKS)
        return -ELOOP;
    char target[PATH_MAX];
    ssize_t n = readlinkat(linkfd, "", target, sizeof(target));
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ENOENT;
    if ((size_t)n >= sizeof(target))
        return -ENAMETOOLONG;
    target[n] = '\0';
    char *rest = NULL;
    if (asprintf(&rest, "%s%s%s", target, *w->p ? "/" : "", w->p) < 0)
        return -ENOMEM;
    free(w->rest);
    w->rest = w->p = rest;
    if (target[0] == '/') {
        w->done[0] = '\0';
        return set_cur(w, open_root(w->rootfd));
    }
    return 0;
}

/* Create the missing component name: an empty file or a directory.  EEXIST means someone else made
 * it: the caller resolves it again either way. */
static int create_missing(struct walk *w, const char *name, bool file)
{
    if (++w->creates > MAX_CREATES)
        return -EAGAIN;
    if (file) {
        int fd = openat(w->cur, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            return errno == EEXIST ? 0 : -errno;
        close(fd);
        return 0;
    }
    if (mkdirat(w->cur, name, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Is everything after p slashes only? */
static bool only_slashes(const char *p)
{
    return p[strspn(p, "/")] == '\0';
}

/* The walk is over at name (NULL: the directory reached itself), whose
 * O_PATH fd is pathfd: open it with the caller's flags.  Reopening the
 * name can race with a rename, so the inode must be the one resolved. */
static int finish(struct walk *w, int pathfd, const char *name, int *out)
{
    if (w->flags & O_PATH) {
        *out = pathfd;
        return 1;
    }
    md_autofd owned = pathfd;
    int fd = openat(name ? w->cur : pathfd, name ? name : ".", w->flags | O_NOFOLLOW);
    if (fd < 0)
        return errno == ELOOP ? -EAGAIN : -errno;
    struct stat a, b;
    if (fstat(pathfd, &a) < 0 || fstat(fd, &b) < 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        close(fd);
        return -EAGAIN;
    }
    *out = fd;
    return 1;
}

/* Resolve the next component.  Returns 1 when the walk is over with *out
 * set, 0 to go on, or -errno. */
static int step(struct walk *w, int *out)
{
    w->p += strspn(w->p, "/");
    if (*w->p == '\0') {
        /* Nothing left: the directory reached is the result. */
        int fd = fcntl(w->cur, F_DUPFD_CLOEXEC, 0);
        return fd < 0 ? -errno : finish(w, fd, NULL, out);
    }
    char *start = w->p;
    size_t len = strcspn(start, "/");
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    char name[NAME_MAX + 1];
    memcpy(name, start, len);
    name[len] = '\0';
    w->p = start + len;
    bool last = only_slashes(w->p);
    bool want_dir = !last || *w->p == '/' || (w->flags & O_DIRECTORY);

    if (strcmp(name, ".") == 0)
        return 0;
    if (strcmp(name, "..") == 0)
        return go_up(w);

    md_autofd fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && w->create) {
        int r = create_missing(w, name, last && w->kind == MD_PATH_FILE);
        if (r < 0)
            return r;
        w->p = start; /* resolve it again, whatever it is now */
        return 0;
    }
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISLNK(st.st_mode) && last && (w->flags & O_NOFOLLOW) && !want_dir)
        return (w->flags & O_PATH) ? finish(w, md_take_fd(&fd), name, out) : -ELOOP;
    if (S_ISLNK(st.st_mode))
        return magic_link(w, fd) ? -ELOOP : follow_link(w, fd);
    if (S_ISDIR(st.st_mode) && !last)
        return go_down(w, md_take_fd(&fd), name);
    if (!S_ISDIR(st.st_mode) && want_dir)
        return -ENOTDIR;
    return finish(w, md_take_fd(&fd), name, out);
}

/* Walk path from rootfd; returns an fd opened with flags, or -errno. */
static int walk_once(int rootfd, const char *path, int flags, bool create, enum md_path_kind kind)
{
    struct walk w = {.rootfd = rootfd, .cur = -1, .flags = flags, .create = create, .kind = kind};
    w.rest = strdup(path);
    if (!w.rest)
        return -ENOMEM;
    w.p = w.rest;
    int r = set_cur(&w, open_root(rootfd));
    int out = -1;
    while (r == 0)
        r = step(&w, &out);
    free(w.rest);
    if (w.cur >= 0)
        close(w.cur);
    return r < 0 ? r : out;
}

static int walk(int rootfd, const char *path, int flags, bool create, enum md_path_kind kind)
{
    int r = -EAGAIN;
    for (int i = 0; i < MAX_RETRIES && r == -EAGAIN; i++)
        r = walk_once(rootfd, path, flags, create, kind);
    return r;
}

/* ---------------------------------------------------------------- open */

static int kernel_open(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)flags,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    for (int i = 0; i < MAX_RETRIES; i++) {
        int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
        if (fd >= 0)
            return fd;
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
    }
    return -EAGAIN;
}

static int open_in_root(int rootfd, const char *path, int flags)
{
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        return -EINVAL; /* creation goes through md_mkpath_in_root() */
    if (!*path)
        path = "."; /* the root itself, as "/" */
    flags |= O_CLOEXEC;
    if (flags & O_PATH)
        flags &= PATH_FLAGS; /* openat2 refuses anything else with O_PATH */
    else
        flags |= O_NOCTTY;
    if (!fallback_forced() && !no_openat2) {
        int fd = kernel_open(rootfd, path, flags);
        if (fd != -ENOSYS)
            return fd;
        no_openat2 = true;
    }
    return walk(rootfd, path, flags, false, MD_PATH_DIR);
}

int md_open_in_root(int rootfd, const char *path, int flags, md_error *err)
{
    int fd = open_in_root(rootfd, path, flags);
    if (fd < 0)
        return md_fail(err, -fd, "open %s", path);
    return fd;
}

/* -------------------------------------------------------------- mkpath */

static int check_kind(int fd, enum md_path_kind kind)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (kind == MD_PATH_DIR && !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (kind == MD_PATH_FILE && S_ISDIR(st.st_mode))
        return -EISDIR;
    return 0;
}

int md_mkpath_in_root(int rootfd, const char *path, enum md_path_kind kind, md_error *err)
{
    /* The common case is a path that exists: resolve it the fast way. */
    md_autofd fd = open_in_root(rootfd, path, O_PATH);
    if (fd == -ENOENT)
        fd = walk(rootfd, path, O_PATH | O_CLOEXEC, true, kind);
    if (fd < 0)
        return md_fail(err, -fd, "create %s", path);
    int r = check_kind(fd, kind);
    if (r < 0)
        return md_fail(err, -r, "create %s", path);
    return md_take_fd(&fd);
}
