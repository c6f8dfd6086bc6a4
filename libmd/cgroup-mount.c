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

/* One cgroup filesystem of the host, from its mountinfo line. */
struct hierarchy {
    char root[4096];  /* the mount's root inside the hierarchy */
    char point[4096]; /* where it is mounted: /sys/fs/cgroup/NAME */
    char super[1024]; /* its superblock options: rw,cpu,cpuacct */
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

/* Is every comma-separated item of want in the list have? */
static bool has_all(const char *want, const char *have)
{
    char w[256];
    snprintf(w, sizeof(w), "%s", want);
    for (char *save = NULL, *t = strtok_r(w, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(t);
        const char *h = have;
        bool found = false;
        while (!found && *h) {
            const char *end = strchrnul(h, ',');
            found = (size_t)(end - h) == len && strncmp(h, t, len) == 0;
            h = *end ? end + 1 : end;
        }
        if (!found)
            return false;
    }
    return true;
}

/* Our line for h in self (the text of /proc/self/cgroup, read once per
 * mount: it is the same for every hierarchy): our cgroup's path in it and
 * the hierarchy's controllers ("cpu,cpuacct", "name=systemd", "" for v2).
 * Path "/" when there is none. */
static void own_cgroup(const char *self, const struct hierarchy *h, char *path, size_t psize,
                       char *ctrls, size_t csize)
{
    snprintf(path, psize, "/");
    snprintf(ctrls, csize, "%s", "");
    for (const char *next = self ? self : ""; *next;) {
        char line[8192];
        size_t n = strcspn(next, "\n");
        snprintf(line, sizeof(line), "%.*s", (int)n, next);
        next += n + (next[n] == '\n');
        char *c = strchr(line, ':');
        char *p = c ? strchr(c + 1, ':') : NULL;
        if (!p)
            continue;
        *p++ = '\0';
        c++;
        if (h->v2 ? c[0] == '\0' : c[0] != '\0' && has_all(c, h->super)) {
            snprintf(path, psize, "%s", p);
            snprintf(ctrls, csize, "%s", c);
            return;
        }
    }
}

/* The host's directory of our own cgroup own in h. */
static void own_source(const struct hierarchy *h, const char *own, char *out, size_t size)
{
    /* Where the host's mount shows only a subtree, paths start below it. */
    const char *rel = own;
    size_t rlen = strlen(h->root);
    if (strcmp(h->root, "/") != 0 && strncmp(own, h->root, rlen) == 0 &&
        (own[rlen] == '/' || own[rlen] == '\0'))
        rel = own + rlen;
    snprintf(out, size, "%s%s", h->point, strcmp(rel, "/") == 0 ? "" : rel);
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
    char src[8192], fdpath[32];
    own_source(h, own, src, sizeof(src));
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
    char own[4096], ctrls[256], fdpath[32];
    own_cgroup(self, h, own, sizeof(own), ctrls, sizeof(ctrls));
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

/* The next cgroup filesystem mounted directly under /sys/fs/cgroup. */
static bool next_hierarchy(FILE *f, struct hierarchy *h)
{
    char line[16384], fstype[64];
    while (fgets(line, sizeof(line), f)) {
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", h->root, h->point) != 2 ||
            sscanf(sep + 3, "%63s %*s %1023s", fstype, h->super) != 2)
            continue;
        unescape(h->root);
        unescape(h->point);
        h->v2 = strcmp(fstype, "cgroup2") == 0;
        const char *name = h->point + strlen(HOST_CGROUP "/");
        if ((h->v2 || strcmp(fstype, "cgroup") == 0) &&
            strncmp(h->point, HOST_CGROUP "/", strlen(HOST_CGROUP "/")) == 0 && *name &&
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
    while (next_hierarchy(f, &h)) {
        const char *name = strrchr(h.point, '/') + 1;
        char sub[4200];
        snprintf(sub, sizeof(sub), "%s/%s", dest, name);
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
