/* cgroup-mount.c - the container's view of the host's cgroup hierarchies (the
 * "cgroup" mount type of config.json).  See cgroup-mount.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-mount.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "mounts.h"
#include "safepath.h"

#define HOST_CGROUP "/sys/fs/cgroup"
#define SAFE_FLAGS  (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* One cgroup filesystem of the host, from its mountinfo line: the
 * strings point into that line.  (The container process runs this: a
 * fork of mdrun, whose every stack page written is a copied page, so no
 * large buffers here.) */
struct hierarchy {
    const char *root;  /* the mount's root inside the hierarchy */
    const char *point; /* where it is mounted: /sys/fs/cgroup/NAME */
    const char *super; /* its superblock options: rw,cpu,cpuacct */
    bool v2;
};

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* Is the item [t, t + len) in the comma-separated list have? */
static bool has_item(const char *t, size_t len, const char *have)
{
    while (*have) {
        const char *end = strchrnul(have, ',');
        if ((size_t)(end - have) == len && strncmp(have, t, len) == 0)
            return true;
        have = *end ? end + 1 : end;
    }
    return false;
}

/* Is every comma-separated item of want, len bytes long, in have? */
static bool has_all(const char *want, size_t len, const char *have)
{
    const char *end = want + len;
    while (want < end) {
        const char *comma = memchr(want, ',', (size_t)(end - want));
        size_t n = (size_t)((comma ? comma : end) - want);
        if (n && !has_item(want, n, have))
            return false;
        want += n + 1;
    }
    return true;
}

/* Our line for h in self (the text of /proc/self/cgroup, read once per
 * mount: it is the same for every hierarchy): our cgroup's path in it and
 * the hierarchy's controllers ("cpu,cpuacct", "name=systemd", "" for v2),
 * both allocated.  Path "/" when there is none. */
static int own_cgroup(const char *self, const struct hierarchy *h, char **path, char **ctrls)
{
    const char *p = "/", *c = "";
    size_t plen = 1, clen = 0;
    for (const char *next = self ? self : ""; *next;) {
        size_t n = strcspn(next, "\n");
        const char *line = next, *eol = next + n;
        next = eol + (*eol == '\n');
        const char *c1 = memchr(line, ':', n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (!c2)
            continue;
        size_t len = (size_t)(c2 - c1 - 1);
        if (h->v2 ? len == 0 : len != 0 && has_all(c1 + 1, len, h->super)) {
            p = c2 + 1;
            plen = (size_t)(eol - p);
            c = c1 + 1;
            clen = len;
            break;
        }
    }
    *path = strndup(p, plen);
    *ctrls = strndup(c, clen);
    return *path && *ctrls ? 0 : -1;
}

/* The host's directory of our own cgroup own in h, allocated. */
static char *own_source(const struct hierarchy *h, const char *own)
{
    /* Where the host's mount shows only a subtree, paths start below it. */
    const char *rel = own;
    size_t rlen = strlen(h->root);
    if (strcmp(h->root, "/") != 0 && strncmp(own, h->root, rlen) == 0 &&
        (own[rlen] == '/' || own[rlen] == '\0'))
        rel = own + rlen;
    char *out = NULL;
    if (asprintf(&out, "%s%s", h->point, strcmp(rel, "/") == 0 ? "" : rel) < 0)
        return NULL;
    return out;
}

static int set_readonly_tree(int fd)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                        sizeof(attr));
}

/* Bind our own cgroup of h onto the directory at path inside rootfd, then
 * apply flags. */
static int bind_own(int rootfd, const char *path, const struct hierarchy *h, const char *own,
                    unsigned long flags, md_error *err)
{
    char fdpath[32];
    md_autofree char *src = own_source(h, own);
    if (!src)
        return md_fail(err, ENOMEM, "bind %s", h->point);
    md_autofd fd = md_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);
    if (fd < 0)
        return -1;
    if (mount(src, md_fd_path(fd, fdpath), NULL, MS_BIND | MS_REC, NULL) < 0)
        return md_fail(err, errno, "bind %s", src);
    md_autofd top = md_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);
    if (top < 0)
        return -1;
    if (md_remount(md_fd_path(top, fdpath), flags, false) < 0)
        return md_fail(err, errno, "remount %s", src);
    if ((flags & MS_RDONLY) && set_readonly_tree(top) < 0 && errno != ENOSYS)
        return md_fail(err, errno, "make %s read-only", src);
    return 0;
}

/* Mount h anew on the directory at path inside rootfd (in a cgroup
 * namespace: its view); when the kernel refuses, bind our own cgroup. */
static int mount_one(int rootfd, const char *path, const struct hierarchy *h, const char *self,
                     unsigned long flags, bool cgroupns, md_error *err)
{
    char fdpath[32];
    md_autofree char *own = NULL, *ctrls = NULL;
    if (own_cgroup(self, h, &own, &ctrls) < 0)
        return md_fail(err, ENOMEM, "mount %s", h->point);
    /* A v1 hierarchy we are not in (no line in /proc/self/cgroup) cannot
     * be named to mount(2): bind it. */
    if (cgroupns && (h->v2 || ctrls[0])) {
        md_autofd fd = md_open_in_root(rootfd, path, O_PATH | O_DIRECTORY, err);
        if (fd < 0)
            return -1;
        const char *type = h->v2 ? "cgroup2" : "cgroup";
        if (mount(type, md_fd_path(fd, fdpath), type, flags, h->v2 ? NULL : ctrls) == 0)
            return 0;
        if (errno != EPERM && errno != EBUSY)
            return md_fail(err, errno, "mount %s %s", type, ctrls);
    }
    return bind_own(rootfd, path, h, own, flags, err);
}

/* Split off the next space-separated field of *line, NUL-terminated in
 * place; NULL when there is none. */
static char *field(char **line)
{
    char *p = *line + strspn(*line, " \n");
    if (!*p)
        return NULL;
    char *end = p + strcspn(p, " \n");
    *line = *end ? end + 1 : end;
    *end = '\0';
    return p;
}

/* The next cgroup filesystem mounted directly under /sys/fs/cgroup; h
 * points into *line (getline's buffer). */
static bool next_hierarchy(FILE *f, char **line, size_t *cap, struct hierarchy *h)
{
    while (getline(line, cap, f) > 0) {
        char *rest = *line, *sep = strstr(rest, " - ");
        if (!sep)
            continue;
        *sep = '\0';
        char *tail = sep + 3;
        for (int i = 0; i < 3; i++) /* id, parent, major:minor */
            field(&rest);
        char *root = field(&rest), *point = field(&rest);
        char *fstype = field(&tail), *source = field(&tail), *super = field(&tail);
        if (!point || !super || !source)
            continue;
        unescape(root);
        unescape(point);
        *h = (struct hierarchy){.root = root, .point = point, .super = super};
        h->v2 = strcmp(fstype, "cgroup2") == 0;
        const char *name = point + strlen(HOST_CGROUP "/");
        if ((h->v2 || strcmp(fstype, "cgroup") == 0) &&
            strncmp(point, HOST_CGROUP "/", strlen(HOST_CGROUP "/")) == 0 && *name &&
            !strchr(name, '/'))
            return true;
    }
    return false;
}

/* The co-mounted controllers' links of the host (cpu -> cpu,cpuacct). */
static int copy_links(int tmpfd, md_error *err)
{
    md_autodir dir = opendir(HOST_CGROUP);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        char target[256];
        if (e->d_type != DT_LNK)
            continue;
        ssize_t n = readlinkat(dirfd(dir), e->d_name, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (!strchr(target, '/') && symlinkat(target, tmpfd, e->d_name) < 0 && errno != EEXIST)
            return md_fail(err, errno, "link %s", e->d_name);
    }
    return 0;
}

/* cgroup v1 or hybrid host: a tmpfs with one directory per hierarchy. */
static int mount_v1(int rootfd, const char *dest, const char *self, unsigned long flags,
                    bool cgroupns, md_error *err)
{
    char fdpath[32];
    md_autofd fd = md_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY, err);
    if (fd < 0)
        return -1;
    if (mount("tmpfs", md_fd_path(fd, fdpath), "tmpfs", SAFE_FLAGS, "mode=755") < 0)
        return md_fail(err, errno, "mount tmpfs");
    md_autofd tmpfd = md_open_in_root(rootfd, dest, O_PATH | O_DIRECTORY, err);
    if (tmpfd < 0)
        return -1;
    md_autofile f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return md_fail(err, errno, "open /proc/self/mountinfo");
    struct hierarchy h;
    md_autofree char *line = NULL;
    size_t cap = 0;
    while (next_hierarchy(f, &line, &cap, &h)) {
        const char *name = strrchr(h.point, '/') + 1;
        md_autofree char *sub = NULL;
        if (asprintf(&sub, "%s/%s", dest, name) < 0)
            return md_fail(err, ENOMEM, "mount %s", h.point);
        if (mkdirat(tmpfd, name, 0755) < 0 && errno != EEXIST)
            return md_fail(err, errno, "create %s", name);
        if (mount_one(rootfd, sub, &h, self, flags, cgroupns, err) < 0)
            return -1;
    }
    if (copy_links(tmpfd, err) < 0)
        return -1;
    if (md_remount(md_fd_path(tmpfd, fdpath), flags, false) < 0)
        return md_fail(err, errno, "remount tmpfs");
    return 0;
}

/* cgroup v2 host: the unified hierarchy alone. */
static int mount_v2(int rootfd, const char *dest, const char *self, unsigned long flags,
                    bool cgroupns, md_error *err)
{
    struct hierarchy h = {.root = "/", .point = HOST_CGROUP, .super = "", .v2 = true};
    return mount_one(rootfd, dest, &h, self, flags, cgroupns, err);
}

int md_cgroupfs_mount(int rootfd, const char *dest, unsigned long flags, bool cgroupns,
                      md_error *err)
{
    md_autofd fd = md_mkpath_in_root(rootfd, dest, MD_PATH_DIR, err);
    if (fd < 0)
        return -1;
    flags |= SAFE_FLAGS;
    /* Ours as the container process sees it (its cgroup namespace), not
     * mdrun's: read here.  Unreadable, every hierarchy is bound from the root. */
    md_autofree char *self = NULL;
    md_error ignored = {0};
    if (md_read_file_at(AT_FDCWD, "/proc/self/cgroup", 1 << 20, &self, NULL, &ignored) < 0)
        md_error_clear(&ignored);
    struct statfs sfs;
    if (statfs(HOST_CGROUP, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
        return mount_v2(rootfd, dest, self, flags, cgroupns, err);
    return mount_v1(rootfd, dest, self, flags, cgroupns, err);
}
