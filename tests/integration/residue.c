/* residue.c - counting what containers could leave behind (residue.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/residue.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

size_t rs_mounts_with(const char *needle, char **first)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0, n = 0;
    if (first)
        *first = NULL;
    while (f && getline(&line, &cap, f) > 0) {
        if (needle && !strstr(line, needle))
            continue;
        if (first && !*first)
            *first = strdup(line);
        n++;
    }
    free(line);
    if (f)
        fclose(f);
    return n;
}

size_t rs_mount_count(void)
{
    return rs_mounts_with(NULL, NULL);
}

/* nftw has no argument for its callback: one walk at a time. */
static struct {
    const char *prefix;
    size_t count;
    char *first;
} walk;

static int visit_cgroup(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    if (flag != FTW_D || ftw->level == 0)
        return 0;
    const char *name = path + ftw->base;
    if (walk.prefix && strncmp(name, walk.prefix, strlen(walk.prefix)) != 0)
        return 0;
    if (!walk.first)
        walk.first = strdup(path);
    walk.count++;
    return 0;
}

static void walk_hierarchy(const char *path)
{
    nftw(path, visit_cgroup, 32, FTW_PHYS | FTW_MOUNT);
}

size_t rs_cgroup_dirs(const char *prefix, char **first)
{
    walk.prefix = prefix;
    walk.count = 0;
    walk.first = NULL;
    struct statfs sfs;
    if (statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        walk_hierarchy(CGROUP_ROOT); /* pure v2: the root is the hierarchy */
    } else {
        /* v1 or hybrid: one mount per controller (the cpu -> cpu,cpuacct
         * symlinks are skipped), and unified. */
        DIR *d = opendir(CGROUP_ROOT);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char *path = fx_fmt(CGROUP_ROOT "/%s", e->d_name);
            struct stat st;
            if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                walk_hierarchy(path);
            free(path);
        }
        if (d)
            closedir(d);
    }
    if (first)
        *first = walk.first;
    else
        free(walk.first);
    return walk.count;
}

/* The hierarchies' mount points: the root on pure v2, else each directory
 * under it (the cpu -> cpu,cpuacct symlinks skipped); NULL-terminated,
 * caller frees each and the array. */
static char **hierarchies(void)
{
    char **out = calloc(64, sizeof(*out));
    size_t n = 0;
    struct statfs sfs;
    if (statfs(CGROUP_ROOT, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
        out[n++] = strdup(CGROUP_ROOT);
        return out;
    }
    DIR *d = opendir(CGROUP_ROOT);
    struct dirent *e;
    while (d && n < 63 && (e = readdir(d)) != NULL) {
        char *path = fx_fmt(CGROUP_ROOT "/%s", e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            out[n++] = path;
        else
            free(path);
    }
    if (d)
        closedir(d);
    return out;
}

/* Kill what is in dir and below, and remove them, deepest first. */
static void remove_cgroup_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char *sub = fx_fmt("%s/%s", dir, e->d_name);
            remove_cgroup_tree(sub);
            free(sub);
        }
    }
    if (d)
        closedir(d);
    for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++) {
        char *procs = fx_fmt("%s/cgroup.procs", dir);
        FILE *f = fopen(procs, "re");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
            kill(pid, SIGKILL);
        if (f)
            fclose(f);
        free(procs);
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

static char *delegated[8];

static void undelegate_all(void)
{
    char **hs = hierarchies();
    for (size_t i = 0; i < sizeof(delegated) / sizeof(delegated[0]) && delegated[i]; i++) {
        for (char **h = hs; *h; h++) {
            char *dir = fx_fmt("%s/%s", *h, delegated[i]);
            remove_cgroup_tree(dir);
            free(dir);
        }
        free(delegated[i]);
        delegated[i] = NULL;
    }
    for (char **h = hs; *h; h++)
        free(*h);
    free(hs);
}

/* A new cpuset cgroup has no cpus and no mems: give it the parent's. */
static void cpuset_from(const char *parent, const char *dir)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (size_t i = 0; i < 2; i++) {
        char *from = fx_fmt("%s/%s", parent, files[i]), *to = fx_fmt("%s/%s", dir, files[i]);
        char buf[4096];
        int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CLOEXEC);
        ssize_t n = in >= 0 ? read(in, buf, sizeof(buf)) : -1;
        if (n > 0 && out >= 0 && write(out, buf, (size_t)n) < 0)
            fprintf(stderr, "residue: %s: %s\n", to, strerror(errno));
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
        free(from);
        free(to);
    }
}

bool rs_cgroup_delegate(const char *name, uid_t uid, gid_t gid)
{
    size_t slot = 0;
    while (slot < sizeof(delegated) / sizeof(delegated[0]) && delegated[slot])
        slot++;
    if (slot == sizeof(delegated) / sizeof(delegated[0])) {
        errno = ENOSPC;
        return false;
    }
    if (slot == 0)
        atexit(undelegate_all);
    delegated[slot] = strdup(name);
    char **hs = hierarchies();
    bool ok = hs[0] != NULL;
    for (char **h = hs; ok && *h; h++) {
        char *dir = fx_fmt("%s/%s", *h, name);
        char *procs = fx_fmt("%s/cgroup.procs", dir), *tasks = fx_fmt("%s/tasks", dir);
        char *cpus = fx_fmt("%s/cpuset.cpus", dir);
        ok = (mkdir(dir, 0755) == 0 || errno == EEXIST) && chown(dir, uid, gid) == 0 &&
             chown(procs, uid, gid) == 0 && (chown(tasks, uid, gid) == 0 || errno == ENOENT);
        if (ok && access(cpus, F_OK) == 0)
            cpuset_from(*h, dir);
        free(dir);
        free(procs);
        free(tasks);
        free(cpus);
    }
    int saved = errno;
    for (char **h = hs; *h; h++)
        free(*h);
    free(hs);
    errno = saved;
    return ok;
}

/* The whole of /proc/PID/name (NUL bytes kept); NULL when unreadable. */
static char *read_proc(const char *pid, const char *name, size_t *len)
{
    char *path = fx_fmt("/proc/%s/%s", pid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)r;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    *len = n;
    return buf;
}

static bool proc_has(const char *pid, const char *name, const char *needle)
{
    size_t len = 0;
    char *buf = read_proc(pid, name, &len);
    bool found = buf && memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static bool is_zombie(const char *pid)
{
    size_t len = 0;
    char *stat = read_proc(pid, "stat", &len);
    bool zombie = true; /* gone counts as dead */
    if (stat) {
        char *paren = memrchr(stat, ')', len);
        zombie = !paren || paren + 2 >= stat + len || paren[2] == 'Z' || paren[2] == 'X';
    }
    free(stat);
    return zombie;
}

size_t rs_procs_with(const char *needle, pid_t *first)
{
    size_t n = 0;
    if (first)
        *first = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid())
            continue;
        if (!proc_has(e->d_name, "cmdline", needle) && !proc_has(e->d_name, "environ", needle))
            continue;
        if (is_zombie(e->d_name))
            continue;
        if (first && !*first)
            *first = (pid_t)pid;
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

size_t rs_wait_procs(const char *needle, size_t max, unsigned secs, pid_t *first)
{
    struct timespec tick = {0, 20 * 1000 * 1000};
    for (unsigned i = 0;; i++) {
        size_t n = rs_procs_with(needle, first);
        if (n <= max || i >= secs * 50)
            return n;
        nanosleep(&tick, NULL);
    }
}

size_t rs_dir_entries(const char *dir, char **first)
{
    size_t n = 0;
    if (first)
        *first = NULL;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (first && !*first)
            *first = strdup(e->d_name);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

size_t rs_fd_count(void)
{
    /* opendir's own fd is among the entries: not counted. */
    size_t n = rs_dir_entries("/proc/self/fd", NULL);
    return n ? n - 1 : 0;
}

/* The flags field of /proc/PID/fdinfo/FD, octal; -1 when unreadable. */
static long fd_flags(const char *pid, const char *fd)
{
    char *name = fx_fmt("fdinfo/%s", fd);
    size_t len = 0;
    char *info = read_proc(pid, name, &len);
    free(name);
    long flags = -1;
    if (info) {
        info = realloc(info, len + 1);
        info[len] = '\0';
        char *f = strstr(info, "flags:");
        if (f)
            flags = strtol(f + 6, NULL, 8);
    }
    free(info);
    return flags;
}

long rs_fds_of(pid_t pid, size_t *inheritable, char **first)
{
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
    char *dir = fx_fmt("/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    free(dir);
    *inheritable = 0;
    if (first)
        *first = NULL;
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        if (atoi(e->d_name) <= 2 || fd_flags(pidtext, e->d_name) & O_CLOEXEC)
            continue;
        (*inheritable)++;
        if (first && !*first) {
            char *link = fx_fmt("/proc/%d/fd/%s", (int)pid, e->d_name);
            char target[512] = "";
            ssize_t len = readlink(link, target, sizeof(target) - 1);
            target[len > 0 ? len : 0] = '\0';
            *first = fx_fmt("fd %s -> %s", e->d_name, target);
            free(link);
        }
    }
    closedir(d);
    return n;
}
