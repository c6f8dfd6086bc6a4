/* seccomp.c - linux.seccomp compiled to classic BPF with libseccomp, the
 * cache of compiled programs, the load in the container process, and the
 * hand-over of an SCMP_ACT_NOTIFY listener to the agent.
 *
 * Compilation happens in mdrun before the fork and its result is plain
 * memory: the container process inherits it and makes one seccomp(2) call,
 * so nothing of libseccomp (allocation, kernel probing) runs once the
 * container is being built. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cleanup.h"
#include "error.h"
#include "fdpass.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "seccomp.h"

/* Kernel ABI newer than some headers. */
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define WHERE "linux.seccomp"

/* The data of SECCOMP_RET_ERRNO and SECCOMP_RET_TRACE is 16 bits. */
#define MAX_ERRNO_RET 0xffffu

/* ----------------------------------------------------------- compiling */

struct compiler {
    scmp_filter_ctx ctx;
    uint32_t default_action;
    bool wait_killable; /* asked for, and known to this build */
    struct md_seccomp_program *prog;
};

/* An action name (and the errno it may carry, EPERM when absent, as the
 * spec says) to libseccomp's action value.  where names the action's
 * property, errno_where the errno's. */
static int action_value(const char *where, const char *errno_where, const char *name,
                        bool has_errno, uint32_t errno_ret, uint32_t *out, md_error *err)
{
    const struct md_name *entry = md_name_find(&md_seccomp_action_names, name);
    if (!entry || (entry->flags & MD_NAME_UNSUPPORTED))
        return md_failx(err, EINVAL, "%s: unknown seccomp action \"%s\"", where, name ? name : "");
    if (!(entry->flags & MD_NAME_ERRNO)) {
        if (has_errno)
            return md_failx(err, EINVAL,
                            "%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s",
                            errno_where, name);
        *out = (uint32_t)entry->value;
        return 0;
    }
    if (has_errno && errno_ret > MAX_ERRNO_RET)
        return md_failx(err, ERANGE, "%s: errno %" PRIu32 " of %s is above %u", errno_where,
                        errno_ret, name, MAX_ERRNO_RET);
    *out = (uint32_t)entry->value | (has_errno ? errno_ret : (uint32_t)EPERM);
    return 0;
}

static bool is_errno_action(uint32_t action)
{
    return (action & ~MAX_ERRNO_RET) == SCMP_ACT_ERRNO(0);
}

static int add_architectures(struct compiler *cc, const md_seccomp *s, md_error *err)
{
    /* The native architecture is in every filter seccomp_init makes. */
    for (size_t i = 0; i < s->n_architectures; i++) {
        const char *name = s->architectures[i];
        uint64_t arch;
        if (md_name_lookup(&md_seccomp_arch_names, name, &arch) < 0)
            return md_failx(err, EINVAL,
                            WHERE ".architectures[%zu]: %s is unknown to this libseccomp", i, name);
        int rc = seccomp_arch_add(cc->ctx, (uint32_t)arch);
        if (rc < 0 && rc != -EEXIST)
            return md_fail(err, -rc, WHERE ".architectures[%zu]: %s", i, name);
    }
    return 0;
}

/* The filter flags are passed to seccomp(2) by md_seccomp_load; setting
 * libseccomp's matching attribute as well makes it check, here in mdrun,
 * that the kernel has the feature. */
static int set_flags(struct compiler *cc, const md_seccomp *s, md_error *err)
{
    static const struct {
        uint64_t flag;
        enum scmp_filter_attr attr;
    } attrs[] = {
        {SECCOMP_FILTER_FLAG_TSYNC, SCMP_FLTATR_CTL_TSYNC},
        {SECCOMP_FILTER_FLAG_LOG, SCMP_FLTATR_CTL_LOG},
        {SECCOMP_FILTER_FLAG_SPEC_ALLOW, SCMP_FLTATR_CTL_SSB},
    };
    for (size_t i = 0; i < s->n_flags; i++) {
        const struct md_name *entry = md_name_find(&md_seccomp_flag_names, s->flags[i]);
        if (!entry)
            return md_failx(err, EINVAL, WHERE ".flags[%zu]: unknown seccomp flag \"%s\"", i,
                            s->flags[i]);
        if (entry->flags & MD_NAME_UNSUPPORTED) {
            md_debug(WHERE ".flags[%zu]: %s needs a newer libseccomp: skipped", i, entry->name);
            continue;
        }
        if (entry->value == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
            cc->wait_killable = true; /* decided once the rules are known */
            continue;
        }
        for (size_t j = 0; j < sizeof(attrs) / sizeof(attrs[0]); j++) {
            if (attrs[j].flag != entry->value)
                continue;
            int rc = seccomp_attr_set(cc->ctx, attrs[j].attr, 1);
            if (rc < 0)
                return md_fail(err, -rc, WHERE ".flags[%zu]: %s", i, entry->name);
        }
        cc->prog->flags |= (unsigned)entry->value;
    }
    return 0;
}

static int arg_cmp(const char *where, size_t i, const md_seccomp_arg *a, struct scmp_arg_cmp *out,
                   md_error *err)
{
    uint64_t op;
    if (md_name_lookup(&md_seccomp_op_names, a->op, &op) < 0)
        return md_failx(err, EINVAL, "%s.args[%zu].op: unknown seccomp operator \"%s\"", where, i,
                        a->op ? a->op : "");
    if (a->index > 5)
        return md_failx(err, EINVAL, "%s.args[%zu].index: must be from 0 to 5", where, i);
    /* For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the datum the
     * masked argument must equal, libseccomp's own order (and runc's). */
    *out = (struct scmp_arg_cmp){
        .arg = a->index,
        .op = (enum scmp_compare)op,
        .datum_a = a->value,
        .datum_b = a->has_value_two ? a->value_two : 0,
    };
    return 0;
}

/* libseccomp refuses two comparisons of one argument in a rule; such an
 * entry becomes one rule per comparison (any of them matching), as runc
 * makes it. */
static bool repeats_an_index(const md_seccomp_arg *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (args[i].index == args[j].index)
                return true;
    return false;
}

static int add_rule(struct compiler *cc, const char *where, const char *name, int nr,
                    uint32_t action, unsigned n, const struct scmp_arg_cmp *cmp, md_error *err)
{
    int rc = seccomp_rule_add_array(cc->ctx, action, nr, n, cmp);
    if (rc < 0)
        return md_fail(err, -rc, "%s: rule for %s", where, name);
    return 0;
}

static int add_syscall_name(struct compiler *cc, const char *where, const md_syscall *sc,
                            const char *name, uint32_t action, const struct scmp_arg_cmp *cmp,
                            md_error *err)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
        /* A newer profile on an older libseccomp: crun skips these too. */
        md_debug("%s: system call \"%s\" unknown to libseccomp %u.%u: skipped", where, name,
                 seccomp_version()->major, seccomp_version()->minor);
        return 0;
    }
    if (sc->n_args == 0 || !repeats_an_index(sc->args, sc->n_args))
        return add_rule(cc, where, name, nr, action, (unsigned)sc->n_args, cmp, err);
    for (size_t i = 0; i < sc->n_args; i++)
        if (add_rule(cc, where, name, nr, action, 1, &cmp[i], err) < 0)
            return -1;
    return 0;
}

static int add_syscall(struct compiler *cc, size_t index, const md_syscall *sc, md_error *err)
{
    char where[64];
    snprintf(where, sizeof(where), WHERE ".syscalls[%zu]", index);
    char key[80];
    snprintf(key, sizeof(key), "%s.action", where);
    char errno_key[80];
    snprintf(errno_key, sizeof(errno_key), "%s.errnoRet", where);
    uint32_t action;
    int rc =
        action_value(key, errno_key, sc->action, sc->has_errno_ret, sc->errno_ret, &action, err);
    if (rc < 0)
        return -1;
    /* libseccomp refuses a rule that only repeats the default. */
    if (action == cc->default_action) {
        md_debug("%s: the default action already: skipped", where);
        return 0;
    }
    if (action == SCMP_ACT_NOTIFY)
        cc->prog->notify = true;
    md_autofree struct scmp_arg_cmp *cmp = calloc(sc->n_args + 1, sizeof(*cmp));
    if (!cmp)
        return md_fail(err, ENOMEM, "%s", where);
    for (size_t i = 0; i < sc->n_args; i++)
        if (arg_cmp(where, i, &sc->args[i], &cmp[i], err) < 0)
            return -1;
    for (size_t i = 0; i < sc->n_names; i++)
        if (add_syscall_name(cc, where, sc, sc->names[i], action, cmp, err) < 0)
            return -1;
    return 0;
}

static int read_full(int fd, void *buf, size_t len, off_t offset)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return 0;
}

/* libseccomp 2.5 writes the program to an fd only: a memfd holds it. */
static int export_program(struct compiler *cc, md_error *err)
{
    md_autofd fd = memfd_create("mdrun-seccomp", MFD_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, WHERE ": memfd_create");
    int rc = seccomp_export_bpf(cc->ctx, fd);
    if (rc < 0)
        return md_fail(err, -rc, WHERE ": export the filter");
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0)
        return md_failx(err, EPROTO, WHERE ": libseccomp exported %lld bytes, not a program",
                        (long long)size);
    size_t n = (size_t)size / sizeof(struct sock_filter);
    if (n > BPF_MAXINSNS)
        return md_failx(err, E2BIG,
                        WHERE ": the filter has %zu instructions, the kernel takes at most %d", n,
                        BPF_MAXINSNS);
    struct md_seccomp_program *prog = cc->prog;
    prog->filter = malloc((size_t)size);
    if (!prog->filter)
        return md_fail(err, ENOMEM, WHERE);
    if (read_full(fd, prog->filter, (size_t)size, 0) < 0)
        return md_fail(err, errno ? errno : EIO, WHERE ": read the exported filter");
    prog->len = (unsigned short)n;
    return 0;
}

static int compile(struct compiler *cc, const md_seccomp *s, md_error *err)
{
    if (action_value(WHERE ".defaultAction", WHERE ".defaultErrnoRet", s->default_action,
                     s->has_default_errno_ret, s->default_errno_ret, &cc->default_action, err) < 0)
        return -1;
    if (is_errno_action(cc->default_action))
        cc->prog->default_errno = (int)(cc->default_action & MAX_ERRNO_RET);
    cc->ctx = seccomp_init(cc->default_action);
    if (!cc->ctx)
        return md_failx(err, EINVAL, WHERE ".defaultAction: libseccomp refuses %s",
                        s->default_action);
    /* A binary tree rather than a list of system calls: profiles allow
     * hundreds of them, each checked on every system call. */
    if (seccomp_attr_set(cc->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
        md_debug(WHERE ": libseccomp cannot build a binary tree filter");
    if (add_architectures(cc, s, err) < 0 || set_flags(cc, s, err) < 0)
        return -1;
    for (size_t i = 0; i < s->n_syscalls; i++)
        if (add_syscall(cc, i, &s->syscalls[i], err) < 0)
            return -1;
    /* The kernel takes WAIT_KILLABLE_RECV only with a listener. */
    if (cc->wait_killable && cc->prog->notify)
        cc->prog->flags |= (unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    else if (cc->wait_killable)
        md_debug(WHERE ".flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY: "
                       "skipped");
    return export_program(cc, err);
}

int md_seccomp_compile(const md_seccomp *s, struct md_seccomp_program **out, md_error *err)
{
    struct compiler cc = {.prog = calloc(1, sizeof(struct md_seccomp_program))};
    if (!cc.prog)
        return md_fail(err, ENOMEM, WHERE);
    int rc = compile(&cc, s, err);
    if (cc.ctx)
        seccomp_release(cc.ctx);
    if (rc < 0) {
        md_seccomp_program_free(cc.prog);
        return -1;
    }
    *out = cc.prog;
    return 0;
}

void md_seccomp_program_free(struct md_seccomp_program *p)
{
    if (!p)
        return;
    free(p->filter);
    free(p);
}

/* ------------------------------------------------------------ the cache */

/* Bump when the compilation or the file layout changes meaning. */
#define CACHE_FORMAT 1
#define CACHE_MAGIC  "MDSECCMP"

/* A cache file: this header, the key, then the instructions. */
struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t flags;
    uint32_t notify;
    int32_t default_errno;
    uint32_t key_len;
    uint32_t n_insns;
    uint64_t checksum; /* of the key and the instructions */
};

/* Limits on what a cache file may hold before it is even read. */
#define CACHE_KEY_MAX  (4u << 20)
#define CACHE_FILE_MAX (sizeof(struct cache_header) + CACHE_KEY_MAX + BPF_MAXINSNS * 8u)

/* 64-bit FNV-1a: a file name for the key, and a check of the content.
 * Neither needs to resist an attacker: the key itself is compared, and the
 * directory admits only files of its owner. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_OFFSET 0xcbf29ce484222325ULL

static void gen_u64(yajl_gen g, const char *key, uint64_t value)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64, value);
    md_jgen_string(g, key);
    yajl_gen_number(g, buf, (size_t)n);
}

static void gen_strv(yajl_gen g, const char *key, char **v, size_t n)
{
    md_jgen_string(g, key);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        md_jgen_string(g, v[i]);
    yajl_gen_array_close(g);
}

static void gen_syscall(yajl_gen g, const md_syscall *sc)
{
    yajl_gen_map_open(g);
    gen_strv(g, "names", sc->names, sc->n_names);
    md_jgen_kv(g, "action", sc->action);
    if (sc->has_errno_ret)
        gen_u64(g, "errnoRet", sc->errno_ret);
    md_jgen_string(g, "args");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < sc->n_args; i++) {
        const md_seccomp_arg *a = &sc->args[i];
        yajl_gen_map_open(g);
        gen_u64(g, "index", a->index);
        gen_u64(g, "value", a->value);
        if (a->has_value_two)
            gen_u64(g, "valueTwo", a->value_two);
        md_jgen_kv(g, "op", a->op);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

/* Everything the program depends on, as compact JSON in a fixed order:
 * the parts of linux.seccomp that shape the filter (not the listener's
 * path or metadata), and what compiles it (this mdrun, the libseccomp
 * version and the kernel API level it detected, the native arch). */
static int cache_key(const md_seccomp *s, char **out, size_t *len)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    const struct scmp_version *v = seccomp_version();
    char lib[32];
    snprintf(lib, sizeof(lib), "%u.%u.%u", v->major, v->minor, v->micro);
    yajl_gen_map_open(g);
    gen_u64(g, "format", CACHE_FORMAT);
    md_jgen_kv(g, "mdrun", PACKAGE_VERSION);
    md_jgen_kv(g, "libseccomp", lib);
    gen_u64(g, "api", seccomp_api_get());
    gen_u64(g, "native", seccomp_arch_native());
    md_jgen_kv(g, "defaultAction", s->default_action);
    if (s->has_default_errno_ret)
        gen_u64(g, "defaultErrnoRet", s->default_errno_ret);
    gen_strv(g, "architectures", s->architectures, s->n_architectures);
    gen_strv(g, "flags", s->flags, s->n_flags);
    md_jgen_string(g, "syscalls");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < s->n_syscalls; i++)
        gen_syscall(g, &s->syscalls[i]);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t n;
    int rc = -1;
    if (yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok && n <= CACHE_KEY_MAX &&
        (*out = strndup((const char *)buf, n)) != NULL) {
        *len = n;
        rc = 0;
    }
    yajl_gen_free(g);
    return rc;
}

/* mkdir -p for the directories above path, 0700 where they are made. */
static void make_parents(const char *path)
{
    md_autofree char *copy = strdup(path);
    if (!copy)
        return;
    for (char *p = strchr(copy + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        mkdir(copy, 0700);
        *p = '/';
    }
}

/* Open the cache directory, made 0700 if missing.  Only a directory that
 * is ours and that nobody else may write to can hold programs this
 * process will load: anyone able to add a file there could choose the
 * filter of our containers.  It is checked through the fd it is then used
 * by, and its last component is never a symlink. */
static int cache_open(const char *path, md_error *err)
{
    if (path[0] != '/')
        return md_failx(err, EINVAL, "seccomp cache %s: not an absolute path", path);
    make_parents(path);
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return md_fail(err, errno, "seccomp cache: mkdir %s", path);
    md_autofd fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "seccomp cache: open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return md_fail(err, errno, "seccomp cache: stat %s", path);
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return md_failx(err, EPERM,
                        "seccomp cache %s: not used: owned by uid %u with mode %04o (must be "
                        "uid %u and not writable by group or others)",
                        path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
                        (unsigned)geteuid());
    return md_take_fd(&fd);
}

static uint64_t content_checksum(const char *key, size_t key_len, const void *insns, size_t size)
{
    return fnv1a(fnv1a(FNV_OFFSET, key, key_len), insns, size);
}

/* Read a cached program into prog; any problem is a miss, with the reason
 * in *why. */
static int cache_read(int dirfd, const char *name, const char *key, size_t key_len,
                      struct md_seccomp_program *prog, const char **why)
{
    md_autofd fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    *why = "absent";
    if (fd < 0 || fstat(fd, &st) < 0)
        return -1;
    *why = "not a regular file of ours";
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return -1;
    struct cache_header h;
    *why = "corrupt";
    if ((size_t)st.st_size < sizeof(h) || (size_t)st.st_size > CACHE_FILE_MAX ||
        read_full(fd, &h, sizeof(h), 0) < 0)
        return -1;
    size_t size = (size_t)h.n_insns * sizeof(struct sock_filter);
    if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.format != CACHE_FORMAT || h.n_insns == 0 ||
        h.n_insns > BPF_MAXINSNS || h.key_len > CACHE_KEY_MAX ||
        (size_t)st.st_size != sizeof(h) + h.key_len + size)
        return -1;
    md_autofree char *stored = malloc(h.key_len + size + 1);
    if (!stored || read_full(fd, stored, h.key_len + size, sizeof(h)) < 0)
        return -1;
    if (content_checksum(stored, h.key_len, stored + h.key_len, size) != h.checksum)
        return -1;
    *why = "for another config (hash collision)";
    if (h.key_len != key_len || memcmp(stored, key, key_len) != 0)
        return -1;
    prog->filter = malloc(size);
    if (!prog->filter)
        return -1;
    memcpy(prog->filter, stored + h.key_len, size);
    prog->len = (unsigned short)h.n_insns;
    prog->flags = h.flags;
    prog->notify = h.notify != 0;
    prog->default_errno = h.default_errno;
    return 0;
}

static void cache_write(int dirfd, const char *name, const char *key, size_t key_len,
                        const struct md_seccomp_program *prog)
{
    size_t size = (size_t)prog->len * sizeof(struct sock_filter);
    struct cache_header h = {
        .format = CACHE_FORMAT,
        .flags = prog->flags,
        .notify = prog->notify,
        .default_errno = prog->default_errno,
        .key_len = (uint32_t)key_len,
        .n_insns = prog->len,
        .checksum = content_checksum(key, key_len, prog->filter, size),
    };
    memcpy(h.magic, CACHE_MAGIC, 8);
    md_autofree char *buf = malloc(sizeof(h) + key_len + size);
    if (!buf)
        return;
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), key, key_len);
    memcpy(buf + sizeof(h) + key_len, prog->filter, size);
    md_error err = {0};
    if (md_write_file_atomic(dirfd, name, buf, sizeof(h) + key_len + size, 0600, &err) < 0)
        md_debug("seccomp cache: %s", err.msg);
    md_error_clear(&err);
}

int md_seccomp_cache_dir(char **out, md_error *err)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    /* The XDG spec ignores a relative $XDG_CACHE_HOME. */
    if (xdg && xdg[0] == '/') {
        n = asprintf(out, "%s/mdrun/seccomp", xdg);
    } else {
        struct md_root_env env;
        md_state_root_env_current(&env);
        if (md_state_root_env_rootless(&env)) {
            const char *home = getenv("HOME");
            if (!home || home[0] != '/')
                return md_failx(err, ENOENT, "seccomp cache: neither $XDG_CACHE_HOME nor $HOME");
            n = asprintf(out, "%s/.cache/mdrun/seccomp", home);
        } else {
            n = asprintf(out, "/var/cache/mdrun/seccomp");
        }
    }
    return n < 0 ? md_fail(err, ENOMEM, "seccomp cache") : 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A user without a usable home (a service account, HOME=/nonexistent)
 * still gets a cache of its own: /var/tmp/mdrun-UID/seccomp, which
 * cache_open() uses only if that user owns it and no one else may write
 * to it. */
static int fallback_cache(md_error *why)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (geteuid() == 0 || (xdg && xdg[0] == '/'))
        return -1; /* root has /var/cache; a chosen cache is that or none */
    char path[64];
    snprintf(path, sizeof(path), "/var/tmp/mdrun-%u/seccomp", (unsigned)geteuid());
    md_debug("%s: trying %s", why->msg ? why->msg : "seccomp cache", path);
    md_error_clear(why);
    return cache_open(path, why);
}

/* The cache directory's fd, or -1 when there is none to use. */
static int usable_cache(const char *cache_dir)
{
    md_error why = {0};
    md_autofree char *dflt = NULL;
    int fd = -1;
    if (cache_dir) {
        fd = cache_open(cache_dir, &why);
    } else {
        if (md_seccomp_cache_dir(&dflt, &why) == 0)
            fd = cache_open(dflt, &why);
        if (fd < 0)
            fd = fallback_cache(&why);
    }
    if (fd < 0)
        md_debug("%s: compiling without a cache", why.msg ? why.msg : "seccomp cache");
    md_error_clear(&why);
    return fd;
}

int md_seccomp_prepare(const md_seccomp *s, const char *cache_dir, struct md_seccomp_program **out,
                       md_error *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    md_autofree char *key = NULL;
    size_t key_len = 0;
    md_autofd dirfd = cache_key(s, &key, &key_len) < 0 ? -1 : usable_cache(cache_dir);
    char name[32] = "";
    if (dirfd >= 0) {
        snprintf(name, sizeof(name), "%016" PRIx64, fnv1a(FNV_OFFSET, key, key_len));
        struct md_seccomp_program *prog = calloc(1, sizeof(*prog));
        const char *why = "out of memory";
        if (prog && cache_read(dirfd, name, key, key_len, prog, &why) == 0) {
            prog->from_cache = true;
            md_debug(WHERE ": %u instructions from the cache (%s) in %.2f ms", prog->len, name,
                     ms_since(&t0));
            *out = prog;
            return 0;
        }
        md_debug(WHERE ": cache entry %s %s", name, why);
        md_seccomp_program_free(prog);
    }
    if (md_seccomp_compile(s, out, err) < 0)
        return -1;
    md_debug(WHERE ": compiled %u instructions in %.2f ms", (*out)->len, ms_since(&t0));
    if (dirfd >= 0)
        cache_write(dirfd, name, key, key_len, *out);
    return 0;
}

/* ------------------------------------------------------------- loading */

int md_seccomp_load(const struct md_seccomp_program *p, int *listener, md_error *err)
{
    struct sock_fprog prog = {.len = p->len, .filter = p->filter};
    unsigned long flags = p->flags;
    *listener = -1;
    if (p->notify) {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* With a listener, the kernel needs a failed thread sync to be
         * reported as ESRCH: the return value is the listener's fd. */
        if (flags & SECCOMP_FILTER_FLAG_TSYNC)
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc < 0 && errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)) {
        md_debug(WHERE ": the kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: skipped");
        flags &= ~(unsigned long)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
    if (rc < 0)
        return md_fail(err, errno, "load the seccomp filter (" WHERE ")");
    if (p->notify)
        *listener = (int)rc;
    else if (rc > 0) /* TSYNC: the thread that could not take the filter */
        return md_failx(err, EBUSY, WHERE ": thread %ld could not be synchronized", rc);
    return 0;
}

bool md_seccomp_may_deny(const struct md_seccomp_program *p, int errnum)
{
    return p && (errnum == EPERM || errnum == ENOSYS || errnum == p->default_errno);
}

void md_seccomp_deny_list(const struct md_seccomp_program *p, char *buf, size_t size)
{
    if (!p)
        snprintf(buf, size, "%s", "");
    else if (p->default_errno)
        snprintf(buf, size, "%d,%d,%d", EPERM, ENOSYS, p->default_errno);
    else
        snprintf(buf, size, "%d,%d", EPERM, ENOSYS);
}

/* ------------------------------------------------------ the listener */

static int listener_connect(const char *path, md_error *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return md_failx(err, ENAMETOOLONG,
                        WHERE ".listenerPath: %s: too long for a unix socket (%zu bytes at most)",
                        path, sizeof(addr.sun_path) - 1);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    md_autofd fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return md_fail(err, errno, WHERE ".listenerPath: socket");
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return md_fail(err, errno, WHERE ".listenerPath: connect to %s", path);
    return md_take_fd(&fd);
}

/* The container process state of runtime-spec config-linux.md. */
static int process_state(const md_seccomp *s, pid_t pid, const md_state_info *state, char **out,
                         size_t *len, md_error *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return md_fail(err, ENOMEM, "container process state");
    yajl_gen_map_open(g);
    md_jgen_kv(g, "ociVersion", md_oci_version());
    md_jgen_string(g, "fds");
    yajl_gen_array_open(g);
    md_jgen_string(g, "seccompFd");
    yajl_gen_array_close(g);
    md_jgen_string(g, "pid");
    yajl_gen_integer(g, pid);
    if (s->listener_metadata)
        md_jgen_kv(g, "metadata", s->listener_metadata);
    md_jgen_string(g, "state");
    int rc = md_state_json_gen(g, state);
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t n;
    if (rc == 0 && yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok &&
        (*out = strndup((const char *)buf, n)) != NULL)
        *len = n;
    else
        rc = md_fail(err, ENOMEM, "container process state");
    yajl_gen_free(g);
    return rc < 0 ? -1 : 0;
}

int md_seccomp_send_listener(const md_seccomp *s, int listener, pid_t pid,
                             const md_state_info *state, md_error *err)
{
    md_autofree char *json = NULL;
    size_t len = 0;
    if (process_state(s, pid, state, &json, &len, err) < 0)
        return -1;
    md_autofd fd = listener_connect(s->listener_path, err);
    if (fd < 0)
        return -1;
    /* One sendmsg carries the fd and, unless the socket's buffer is
     * smaller than the text, all of it; the rest follows without fds. */
    ssize_t n = md_send_with_fds(fd, json, len, &listener, 1);
    size_t sent = n > 0 ? (size_t)n : 0;
    while (n >= 0 && sent < len) {
        n = send(fd, json + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            n = 0;
        else if (n > 0)
            sent += (size_t)n;
    }
    if (n < 0)
        return md_fail(err, errno, WHERE ".listenerPath: send to %s", s->listener_path);
    return 0;
}
