/* residue.c - counting what containers could leave behind (residue.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
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
