/* procattr.c - the process attributes that are one system call each. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "names.h"
#include "procattr.h"
#include "procfs.h"

int md_oom_score_adj_apply(pid_t pid, int value, md_error *err)
{
    char path[64], text[16];
    snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
    int len = snprintf(text, sizeof(text), "%d", value);
    md_autofd fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && !md_on_procfs(fd))
        return md_failx(err, EXDEV, "oom_score_adj %d: %s is not on a procfs", value, path);
    if (fd < 0 || md_write_all(fd, text, (size_t)len) < 0)
        return md_fail(err, errno, "oom_score_adj %d", value);
    return 0;
}

int md_hostname_apply(const md_spec *spec, md_error *err)
{
    if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
        return md_fail(err, errno, "sethostname \"%s\"", spec->hostname);
    if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
        return md_fail(err, errno, "setdomainname \"%s\"", spec->domainname);
    return 0;
}

/* ------------------------------------------------------------------ sysctl */

/* The path under /proc/sys of a sysctl key, as sysctl(8) reads keys: when
 * the first separator is a dot, dots and slashes swap, so that
 * "net.ipv4.conf.eth0/100.forwarding" names the interface "eth0.100"; when
 * it is a slash, the key is already a path.  Returns -1 for keys that are
 * not a plain relative path (empty parts, ".", "..", too long). */
static int sysctl_path(const char *key, char *path, size_t size)
{
    size_t len = strlen(key);
    if (len == 0 || len >= size)
        return -1;
    const char *first = strpbrk(key, "./");
    bool swap = first && *first == '.';
    for (size_t i = 0; i <= len; i++) {
        char c = key[i];
        if (swap && (c == '.' || c == '/'))
            c = c == '.' ? '/' : '.';
        path[i] = c;
    }
    for (const char *part = path; part;) {
        const char *end = strchr(part, '/');
        size_t n = end ? (size_t)(end - part) : strlen(part);
        if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && strncmp(part, "..", 2) == 0))
            return -1;
        part = end ? end + 1 : NULL;
    }
    return 0;
}

static bool on_procfs(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

static int sysctl_write(int sysdir, const md_kv *kv, md_error *err)
{
    char path[PATH_MAX];
    if (sysctl_path(kv->key, path, sizeof(path)) < 0)
        return md_fail(err, 0, "sysctl \"%s\": not a valid key", kv->key);
    /* Checked again on the file itself: a mount over part of /proc/sys
     * (a masked path is /dev/null bound over it) is not the kernel's. */
    md_autofd fd = openat(sysdir, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "sysctl %s: open /proc/sys/%s", kv->key, path);
    if (!on_procfs(fd))
        return md_fail(err, 0, "sysctl %s: /proc/sys/%s is not on a procfs", kv->key, path);
    const char *value = kv->value ? kv->value : "";
    if (md_write_all(fd, value, strlen(value)) < 0)
        return md_fail(err, errno, "sysctl %s: write \"%s\" to /proc/sys/%s", kv->key, value, path);
    return 0;
}

int md_sysctl_apply(const md_linux *lx, md_error *err)
{
    if (!lx || lx->n_sysctl == 0)
        return 0;
    md_autofd sysdir = open("/proc/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sysdir < 0)
        return md_fail(err, errno, "sysctl: open /proc/sys");
    if (!on_procfs(sysdir))
        return md_fail(err, 0, "sysctl: /proc/sys is not on a procfs");
    for (size_t i = 0; i < lx->n_sysctl; i++)
        if (sysctl_write(sysdir, &lx->sysctl[i], err) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------- personality */

int md_personality_apply(const md_personality *p, md_error *err)
{
    if (!p)
        return 0;
    uint64_t persona;
    if (md_name_lookup(&md_personality_names, p->domain, &persona) < 0)
        return md_fail(err, 0, "unknown personality domain \"%s\"", p->domain ? p->domain : "");
    if (p->n_flags > 0)
        return md_fail(err, 0, "personality flag \"%s\": not supported", p->flags[0]);
    if (personality((unsigned long)persona) < 0)
        return md_fail(err, errno, "personality %s", p->domain);
    return 0;
}

/* ----------------------------------------------------------------- keyring */

/* keyctl(2) permission bits (keyutils.h, which mdrun does not need). */
#define KEY_POS_ALL    0x3f000000u
#define KEY_USR_VIEW   0x00010000u
#define KEY_USR_READ   0x00020000u
#define KEY_USR_SEARCH 0x00080000u
#define KEY_USR_LINK   0x00100000u

int md_session_keyring_new(const char *id, md_error *err)
{
    /* A session keyring of its own, so the container cannot see or use the
     * keys of the session mdrun was started from. */
    long serial = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, id);
    if (serial < 0 && errno == ENOSYS) {
        md_warn("session keyring: not supported by this kernel, keeping the caller's");
        return 0;
    }
    if (serial < 0)
        return md_fail(err, errno, "join session keyring \"%s\"", id ? id : "_ses");
    /* The process possesses its session keyring whatever user it becomes,
     * so possessor rights are all it needs.  The owning user (container
     * root, who joins it here) also gets view, read, link and search:
     * search is what lets a later `exec` into this container, joining by
     * the same name as the same user, find and join this keyring instead
     * of making another.  No write or setattr for a non-possessor, and
     * nothing for group and other. */
    unsigned long perm = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH | KEY_USR_LINK;
    if (syscall(SYS_keyctl, KEYCTL_SETPERM, serial, perm) < 0)
        return md_fail(err, errno, "set permissions of session keyring \"%s\"", id ? id : "_ses");
    return 0;
}

/* ------------------------------------------------------------- io priority */

int md_io_priority_apply(const md_io_priority *p, md_error *err)
{
    if (!p)
        return 0;
    uint64_t class;
    if (md_name_lookup(&md_ioprio_class_names, p->class_, &class) < 0)
        return md_fail(err, 0, "unknown I/O priority class \"%s\"", p->class_ ? p->class_ : "");
    if (p->priority < 0 || p->priority >= IOPRIO_NR_LEVELS)
        return md_fail(err, 0, "I/O priority %d: must be 0 to %d", (int)p->priority,
                       IOPRIO_NR_LEVELS - 1);
    int value = (int)IOPRIO_PRIO_VALUE(class, (unsigned)p->priority);
    if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) < 0)
        return md_fail(err, errno, "ioprio_set %s %d", p->class_, (int)p->priority);
    return 0;
}

/* --------------------------------------------------------------- scheduler */

/* sched_setattr(2)'s argument, declared here: glibc before 2.41 has no
 * wrapper, and <linux/sched/types.h> would clash with newer <sched.h>. */
struct md_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

int md_scheduler_apply(const md_scheduler *s, md_error *err)
{
    if (!s)
        return 0;
    uint64_t policy, flags = 0;
    if (md_name_lookup(&md_sched_policy_names, s->policy, &policy) < 0)
        return md_fail(err, 0, "scheduler policy \"%s\": not supported",
                       s->policy ? s->policy : "");
    for (size_t i = 0; i < s->n_flags; i++) {
        uint64_t flag;
        if (md_name_lookup(&md_sched_flag_names, s->flags[i], &flag) < 0)
            return md_fail(err, 0, "scheduler flag \"%s\": not supported", s->flags[i]);
        flags |= flag;
    }
    /* Absent numbers are 0, as the spec says. */
    struct md_sched_attr attr = {
        .size = sizeof(attr),
        .sched_policy = (uint32_t)policy,
        .sched_flags = flags,
        .sched_nice = s->has_nice ? s->nice : 0,
        .sched_priority = s->has_priority ? (uint32_t)s->priority : 0,
        .sched_runtime = s->has_runtime ? s->runtime : 0,
        .sched_deadline = s->has_deadline ? s->deadline : 0,
        .sched_period = s->has_period ? s->period : 0,
    };
    if (syscall(SYS_sched_setattr, 0, &attr, 0) < 0)
        return md_fail(err, errno, "sched_setattr %s", s->policy);
    return 0;
}

/* ------------------------------------------------- node and cpu lists */

#define LIST_MAX      65536 /* above any NR_CPUS or MAX_NUMNODES */
#define LONG_BITS     (sizeof(unsigned long) * CHAR_BIT)
#define MASK_LONGS(n) (((n) + LONG_BITS - 1) / LONG_BITS)

static bool parse_index(const char **p, unsigned long *out)
{
    if (**p < '0' || **p > '9')
        return false;
    char *end;
    errno = 0;
    *out = strtoul(*p, &end, 10);
    *p = end;
    return errno == 0 && *out < LIST_MAX;
}

/* A list such as "0-3,7" (cpuset(7)'s list format) as a bitmap of *nbits
 * bits, a multiple of the bits in a long.  An empty list is an empty
 * bitmap. */
static int parse_list(const char *list, unsigned long **mask, size_t *nbits)
{
    unsigned long high = 0;
    size_t longs = MASK_LONGS(LIST_MAX);
    md_autofree unsigned long *bits = calloc(longs, sizeof(*bits));
    if (!bits)
        return -1;
    for (const char *p = list; *p;) {
        unsigned long a, b;
        if (!parse_index(&p, &a))
            return -1;
        b = a;
        if (*p == '-') {
            p++;
            if (!parse_index(&p, &b) || b < a)
                return -1;
        }
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            return -1;
        for (unsigned long i = a; i <= b; i++)
            bits[i / LONG_BITS] |= 1UL << (i % LONG_BITS);
        high = b > high ? b : high;
    }
    *nbits = MASK_LONGS(high + 1) * LONG_BITS;
    *mask = md_take_ptr(&bits);
    return 0;
}

int md_memory_policy_apply(const md_memory_policy *p, md_error *err)
{
    if (!p)
        return 0;
    uint64_t mode, flags = 0;
    if (md_name_lookup(&md_mpol_mode_names, p->mode, &mode) < 0)
        return md_fail(err, 0, "memory policy mode \"%s\": not supported", p->mode ? p->mode : "");
    for (size_t i = 0; i < p->n_flags; i++) {
        uint64_t flag;
        if (md_name_lookup(&md_mpol_flag_names, p->flags[i], &flag) < 0)
            return md_fail(err, 0, "memory policy flag \"%s\": not supported", p->flags[i]);
        flags |= flag;
    }
    md_autofree unsigned long *nodes = NULL;
    size_t nbits = 0;
    if (p->nodes && parse_list(p->nodes, &nodes, &nbits) < 0)
        return md_fail(err, 0, "memory policy nodes \"%s\": not a list such as 0-3,7", p->nodes);
    /* The kernel reads maxnode - 1 bits, an off-by-one kept for ABI's sake. */
    if (syscall(SYS_set_mempolicy, (int)(mode | flags), nodes, nodes ? nbits + 1 : 0) < 0)
        return md_fail(err, errno, "set_mempolicy %s%s%s", p->mode, p->nodes ? " " : "",
                       p->nodes ? p->nodes : "");
    return 0;
}

int md_cpu_affinity_apply(pid_t pid, const char *cpus, md_error *err)
{
    if (!cpus || !*cpus)
        return 0; /* the spec: omitted or empty leaves the affinity alone */
    md_autofree unsigned long *mask = NULL;
    size_t nbits = 0;
    if (parse_list(cpus, &mask, &nbits) < 0)
        return md_fail(err, 0, "cpu affinity \"%s\": not a list such as 0-3,7", cpus);
    if (sched_setaffinity(pid, nbits / CHAR_BIT, (cpu_set_t *)mask) < 0)
        return md_fail(err, errno, "cpu affinity \"%s\"", cpus);
    return 0;
}

int md_no_new_privs_apply(bool on, md_error *err)
{
    if (on && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return md_fail(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
    return 0;
}
