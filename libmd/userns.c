/* userns.c - deciding and writing the id maps of a new user namespace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <pwd.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "userns.h"

extern char **environ;

void md_id_caller_ids(struct md_id_caller *caller)
{
    caller->uid = geteuid();
    caller->gid = getegid();
    caller->name = NULL;
    caller->named = false;
    caller->subuid_file = "/etc/subuid";
    caller->subgid_file = "/etc/subgid";
}

/* The user database is asked only here: through NSS that is a connection
 * to nscd tried twice, nsswitch.conf and /etc/passwd read. */
static void look_up_name(struct md_id_caller *caller)
{
    static char name[256];
    struct passwd pw, *found = NULL;
    char buf[1024];
    caller->named = true;
    if (getpwuid_r(caller->uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
        snprintf(name, sizeof(name), "%s", found->pw_name);
        caller->name = name;
    }
}

void md_id_caller_current(struct md_id_caller *caller)
{
    md_id_caller_ids(caller);
    look_up_name(caller);
}

void md_idmaps_free(struct md_idmaps *maps)
{
    free(maps->uid);
    free(maps->gid);
    maps->uid = maps->gid = NULL;
    maps->n_uid = maps->n_gid = 0;
}

/* ------------------------------------------------------ subordinate ids */

static bool read_in_initial_userns(void)
{
    char buf[128];
    md_autofd fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    unsigned long inside, outside, count;
    char extra;
    int fields = sscanf(buf, "%lu %lu %lu %c", &inside, &outside, &count, &extra);
    return fields == 3 && inside == 0 && outside == 0 && count == 4294967295UL;
}

bool md_in_initial_userns(void)
{
    /* Asked up to three times per create (protect, create, state); mdrun's
     * process never changes its user namespace. */
    static int known = -1;
    if (known < 0)
        known = read_in_initial_userns();
    return known;
}

static bool owner_matches(const char *field, const char *name, uid_t uid)
{
    if (name && strcmp(field, name) == 0)
        return true;
    char *end;
    errno = 0;
    unsigned long n = strtoul(field, &end, 10);
    return *field && !*end && errno == 0 && n == uid;
}

int md_subid_ranges(const char *file, const char *name, uid_t uid, md_idmap **out, size_t *n,
                    md_error *err)
{
    *out = NULL;
    *n = 0;
    md_autofile f = fopen(file, "re");
    if (!f)
        return errno == ENOENT ? 0 : md_fail(err, errno, "open %s", file);
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char owner[256];
        unsigned long long start, count;
        if (line[0] == '#' || sscanf(line, "%255[^:]:%llu:%llu", owner, &start, &count) != 3)
            continue;
        if (!owner_matches(owner, name, uid) || count == 0 || start + count > UINT32_MAX + 1ULL)
            continue;
        md_idmap *grown = realloc(*out, (*n + 1) * sizeof(**out));
        if (!grown)
            return md_fail(err, ENOMEM, "read %s", file);
        grown[*n] =
            (md_idmap){.container_id = 0, .host_id = (uint32_t)start, .size = (uint32_t)count};
        *out = grown;
        (*n)++;
    }
    return 0;
}

/* ------------------------------------------------------------- planning */

static int push(md_idmap **v, size_t *n, uint32_t cid, uint32_t hid, uint32_t size)
{
    md_idmap *grown = realloc(*v, (*n + 1) * sizeof(**v));
    if (!grown)
        return -1;
    grown[*n] = (md_idmap){.container_id = cid, .host_id = hid, .size = size};
    *v = grown;
    (*n)++;
    return 0;
}

/* crun's default: the process's id maps to the caller's, and the container
 * ids from 0 upwards, skipping that one, take the subordinate ranges. */
static int default_map(uint32_t proc_id, uint32_t own, const md_idmap *ranges, size_t n_ranges,
                       md_idmap **out, size_t *n)
{
    if (push(out, n, proc_id, own, 1) < 0)
        return -1;
    uint32_t next = 0; /* next container id to hand out */
    for (size_t i = 0; i < n_ranges; i++) {
        uint32_t host = ranges[i].host_id, left = ranges[i].size;
        while (left > 0) {
            if (next == proc_id)
                next++;
            /* Give a run of container ids up to the process's own id. */
            uint32_t run = left;
            if (next < proc_id && proc_id - next < run)
                run = proc_id - next;
            if (push(out, n, next, host, run) < 0)
                return -1;
            next += run;
            host += run;
            left -= run;
        }
    }
    return 0;
}

static int copy_maps(const md_idmap *from, size_t n, md_idmap **out, size_t *n_out)
{
    for (size_t i = 0; i < n; i++)
        if (push(out, n_out, from[i].container_id, from[i].host_id, from[i].size) < 0)
            return -1;
    return 0;
}

/* Whether host ids [start, start+size) are the caller's own id or inside
 * the subordinate ranges. */
static bool allowed(uint64_t start, uint64_t size, uint32_t own, const md_idmap *ranges,
                    size_t n_ranges)
{
    while (size > 0) {
        if (start == own) {
            start++;
            size--;
            continue;
        }
        bool found = false;
        for (size_t i = 0; i < n_ranges && !found; i++) {
            uint64_t lo = ranges[i].host_id, hi = lo + ranges[i].size;
            if (start >= lo && start < hi) {
                uint64_t take = hi - start < size ? hi - start : size;
                start += take;
                size -= take;
                found = true;
            }
        }
        if (!found)
            return false;
    }
    return true;
}

static int check_allowed(const char *what, const md_idmap *maps, size_t n, uint32_t own,
                         const md_idmap *ranges, size_t n_ranges, const char *file,
                         const char *user, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (allowed(maps[i].host_id, maps[i].size, own, ranges, n_ranges))
            continue;
        return md_failx(err, EPERM,
                        "%s mapping %" PRIu32 "-%" PRIu64 " to host ids %" PRIu32 "-%" PRIu64
                        " is not allowed: %s grants %s %s",
                        what, maps[i].container_id,
                        (uint64_t)maps[i].container_id + maps[i].size - 1, maps[i].host_id,
                        (uint64_t)maps[i].host_id + maps[i].size - 1, file, user,
                        n_ranges ? "other ranges" : "no range");
    }
    return 0;
}

static bool only_own(const md_idmap *maps, size_t n, uint32_t own)
{
    return n == 1 && maps[0].host_id == own && maps[0].size == 1;
}

/* The caller's subordinate uid and gid ranges, by name and by uid. */
static int read_subids(struct md_id_caller *caller, md_idmap **subuid, size_t *n_subuid,
                       md_idmap **subgid, size_t *n_subgid, md_error *err)
{
    if (!caller->named)
        look_up_name(caller);
    return md_subid_ranges(caller->subuid_file, caller->name, caller->uid, subuid, n_subuid, err) <
                       0 ||
                   md_subid_ranges(caller->subgid_file, caller->name, caller->uid, subgid, n_subgid,
                                   err) < 0
               ? -1
               : 0;
}

int md_userns_plan(const md_spec *spec, struct md_id_caller *caller, struct md_idmaps *out,
                   md_error *err)
{
    memset(out, 0, sizeof(*out));
    const md_linux *lx = spec->linux_;
    const md_user *user = spec->process ? spec->process->user : NULL;
    bool given = lx && (lx->n_uid_mappings || lx->n_gid_mappings);
    if (given && (!lx->n_uid_mappings || !lx->n_gid_mappings))
        return md_failx(err, EINVAL, "linux.%s: required together with linux.%s",
                        lx->n_uid_mappings ? "gidMappings" : "uidMappings",
                        lx->n_uid_mappings ? "uidMappings" : "gidMappings");

    /* The subordinate ids are read only when the maps are to be made from
     * them or checked against them: not for root, nor for the caller's own
     * ids alone (what `mdrun spec --rootless` writes). */
    md_autofree md_idmap *subuid = NULL, *subgid = NULL;
    size_t n_subuid = 0, n_subgid = 0;
    int rc;
    if (given) {
        rc = copy_maps(lx->uid_mappings, lx->n_uid_mappings, &out->uid, &out->n_uid) |
             copy_maps(lx->gid_mappings, lx->n_gid_mappings, &out->gid, &out->n_gid);
    } else {
        if (read_subids(caller, &subuid, &n_subuid, &subgid, &n_subgid, err) < 0)
            return -1;
        rc = default_map(user ? user->uid : 0, caller->uid, subuid, n_subuid, &out->uid,
                         &out->n_uid) |
             default_map(user ? user->gid : 0, caller->gid, subgid, n_subgid, &out->gid,
                         &out->n_gid);
    }
    if (rc < 0) {
        md_idmaps_free(out);
        return md_fail(err, ENOMEM, "user namespace maps");
    }
    if (caller->uid == 0)
        return 0;
    if (only_own(out->uid, out->n_uid, caller->uid) && only_own(out->gid, out->n_gid, caller->gid))
        return 0;
    out->helper = true;
    if (given && read_subids(caller, &subuid, &n_subuid, &subgid, &n_subgid, err) < 0) {
        md_idmaps_free(out);
        return -1;
    }
    const char *who = caller->name ? caller->name : "this user";
    bool uid_ok = check_allowed("uid", out->uid, out->n_uid, caller->uid, subuid, n_subuid,
                                caller->subuid_file, who, err) == 0;
    if (!uid_ok || check_allowed("gid", out->gid, out->n_gid, caller->gid, subgid, n_subgid,
                                 caller->subgid_file, who, err) < 0) {
        md_idmaps_free(out);
        /* No range at all: say how to get one (the text of `mdrun check`). */
        char fix[512];
        if ((uid_ok ? n_subgid : n_subuid) == 0)
            return md_check_add_fix(err, md_check_subid_fix(caller, fix, sizeof(fix)));
        return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- writing */

/* Open /proc/PID/name for writing and check it really is procfs: a bind
 * mount over /proc must not redirect what we write. */
static int open_proc_file(pid_t pid, const char *name, md_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return md_fail(err, errno, "open %s", path);
    struct statfs sfs;
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
        close(fd);
        return md_failx(err, EXDEV, "%s is not on procfs", path);
    }
    return fd;
}

static int write_proc_file(pid_t pid, const char *name, const char *text, md_error *err)
{
    md_autofd fd = open_proc_file(pid, name, err);
    if (fd < 0)
        return -1;
    /* One write: the kernel takes a map in a single write(2) only. */
    ssize_t n = write(fd, text, strlen(text));
    if (n < 0)
        return md_fail(err, errno, "write /proc/%d/%s", (int)pid, name);
    return 0;
}

static char *format_map(const md_idmap *maps, size_t n)
{
    size_t cap = n * 34 + 1;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    size_t off = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(text + off, cap - off, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                                maps[i].container_id, maps[i].host_id, maps[i].size);
    return text;
}

static int write_direct(pid_t pid, const char *file, const md_idmap *maps, size_t n, md_error *err)
{
    md_autofree char *text = format_map(maps, n);
    if (!text)
        return md_fail(err, ENOMEM, "write %s", file);
    if (write_proc_file(pid, file, text, err) < 0)
        return md_wrap(err, "user namespace");
    return 0;
}

/* Run newuidmap/newgidmap PID cid hid size..., with its stderr captured so
 * its complaint can be part of our one-line error. */
static int run_helper(const char *tool, pid_t pid, const md_idmap *maps, size_t n, md_error *err)
{
    size_t argc = 2 + 3 * n + 1;
    md_autofree char **argv = calloc(argc, sizeof(char *));
    md_autofree char *numbers = malloc((3 * n + 1) * 12);
    if (!argv || !numbers)
        return md_fail(err, ENOMEM, "%s", tool);
    char *p = numbers;
    argv[0] = (char *)tool;
    argv[1] = p;
    p += sprintf(p, "%d", (int)pid) + 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t v[3] = {maps[i].container_id, maps[i].host_id, maps[i].size};
        for (int j = 0; j < 3; j++) {
            argv[2 + 3 * i + (size_t)j] = p;
            p += sprintf(p, "%" PRIu32, v[j]) + 1;
        }
    }

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return md_fail(err, errno, "%s: pipe", tool);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    pid_t child;
    int rc = posix_spawnp(&child, tool, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        if (rc == ENOENT) {
            md_fail(err, rc, "%s not found", tool);
            return md_check_helper_error(err, tool);
        }
        return md_fail(err, rc, "run %s", tool);
    }
    char out[512];
    size_t used = 0;
    ssize_t got;
    while ((got = read(pipefd[0], out + used, sizeof(out) - 1 - used)) > 0 ||
           (got < 0 && errno == EINTR))
        if (got > 0)
            used += (size_t)got;
    close(pipefd[0]);
    out[used] = '\0';
    out[strcspn(out, "\n")] = '\0';
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    md_failx(err, EPERM, "%s failed%s%s", tool, used ? ": " : "", out);
    return md_check_helper_error(err, tool);
}

int md_userns_write(pid_t pid, const struct md_idmaps *maps, md_error *err)
{
    if (maps->helper) {
        md_debug("writing id maps of %d with newgidmap/newuidmap", (int)pid);
        if (run_helper("newgidmap", pid, maps->gid, maps->n_gid, err) < 0 ||
            run_helper("newuidmap", pid, maps->uid, maps->n_uid, err) < 0)
            return -1;
        return 0;
    }
    /* An unprivileged writer must deny setgroups before writing gid_map. */
    if (geteuid() != 0 && write_proc_file(pid, "setgroups", "deny", err) < 0)
        return md_wrap(err, "user namespace");
    if (write_direct(pid, "gid_map", maps->gid, maps->n_gid, err) < 0 ||
        write_direct(pid, "uid_map", maps->uid, maps->n_uid, err) < 0)
        return -1;
    return 0;
}
