/* state.c - the state root, container directories, the status record and
 * the status derived from it.  See state.h for the layout and the rules. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "check.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "userns.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Largest status file we read: records are a few hundred bytes, plus the
 * annotations. */
#define STATUS_MAX (4u << 20)

/* An error that carries errnum for callers to test, without strerror's
 * text in the message (md_fail would append it). */
static int refuse(md_error *err, int errnum, const char *fmt, ...) MD_PRINTF(3, 4);

static int refuse(md_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    md_fail(err, 0, "%s", n < 0 ? "out of memory" : msg);
    free(msg);
    err->errnum = errnum;
    return -1;
}

/* ---------------------------------------------------------------- the root */

void md_state_root_env_current(struct md_root_env *env)
{
    env->euid = geteuid();
    env->in_userns = !md_in_initial_userns();
    env->user = getenv("USER");
    env->xdg_runtime_dir = getenv("XDG_RUNTIME_DIR");
    env->system_root = "/run/mdrun";
    env->run_user = "/run/user";
    env->tmp = "/tmp";
}

bool md_state_root_env_rootless(const struct md_root_env *env)
{
    if (env->euid != 0)
        return true;
    /* Root in a user namespace that is not root's own, e.g. Podman's
     * rootless namespace: /run/mdrun is not ours to write there. */
    return env->in_userns && (!env->user || strcmp(env->user, "root") != 0);
}

/* mkdir -p with mode 0700 for every directory it makes. */
static int mkdir_parents(const char *path, md_error *err)
{
    md_autofree char *copy = strdup(path);
    if (!copy)
        return md_fail(err, ENOMEM, "create %s", path);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            return md_fail(err, errno, "create state root %s", copy);
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

/* Open path as the root; a missing one is fine without create. */
static int open_root_dir(const char *path, bool create, int *dirfd_out, md_error *err)
{
    if (create && mkdir_parents(path, err) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !create) {
        *dirfd_out = -1;
        return 0;
    }
    if (fd < 0)
        return md_fail(err, errno, "open state root %s", path);
    *dirfd_out = fd;
    return 0;
}

/* /tmp is writable by everyone: someone else may have put a symlink or a
 * directory of theirs where ours should be.  Only a real directory that we
 * own will do, checked on the opened fd so that it cannot be swapped. */
static int open_tmp_root(const char *path, uid_t euid, bool create, int *dirfd_out, md_error *err)
{
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
        return md_fail(err, errno, "create state root %s", path);
    md_autofd fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !create) {
        *dirfd_out = -1;
        return 0;
    }
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
        return md_fail(err, 0,
                       "state root %s is not a directory (a symlink or a file): "
                       "remove it, or set XDG_RUNTIME_DIR or --root",
                       path);
    if (fd < 0)
        return md_fail(err, errno, "open state root %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return md_fail(err, errno, "stat state root %s", path);
    if (st.st_uid != euid)
        return md_fail(err, 0,
                       "state root %s belongs to uid %u, not to us (uid %u): "
                       "set XDG_RUNTIME_DIR or --root",
                       path, (unsigned)st.st_uid, (unsigned)euid);
    if ((st.st_mode & 077) && fchmod(fd, 0700) < 0)
        return md_fail(err, errno, "chmod state root %s", path);
    *dirfd_out = md_take_fd(&fd);
    return 0;
}

static char *absolute_path(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    md_autofree char *cwd = getcwd(NULL, 0);
    char *abs = NULL;
    if (!cwd || asprintf(&abs, "%s/%s", cwd, path) < 0)
        return NULL;
    return abs;
}

/* The default root of a rootless user without XDG_RUNTIME_DIR. */
static int rootless_fallback(const struct md_root_env *env, bool create, char **path,
                             int *dirfd_out, md_error *err)
{
    md_autofree char *run_user = NULL;
    if (asprintf(&run_user, "%s/%u", env->run_user, (unsigned)env->euid) < 0)
        return md_fail(err, ENOMEM, "state root");
    struct stat st;
    if (stat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == env->euid) {
        if (asprintf(path, "%s/mdrun", run_user) < 0)
            return md_fail(err, ENOMEM, "state root");
        return open_root_dir(*path, create, dirfd_out, err);
    }
    if (asprintf(path, "%s/mdrun-%u", env->tmp, (unsigned)env->euid) < 0)
        return md_fail(err, ENOMEM, "state root");
    return open_tmp_root(*path, env->euid, create, dirfd_out, err);
}

int md_state_root_open_env(const struct md_root_env *env, const char *override, bool create,
                           char **path_out, int *dirfd_out, md_error *err)
{
    md_autofree char *path = NULL;
    int rc;
    *path_out = NULL;
    *dirfd_out = -1;
    if (override && *override) {
        path = absolute_path(override);
        if (!path)
            return md_fail(err, errno ? errno : ENOMEM, "state root %s", override);
        rc = open_root_dir(path, create, dirfd_out, err);
    } else if (!md_state_root_env_rootless(env)) {
        path = strdup(env->system_root);
        if (!path)
            return md_fail(err, ENOMEM, "state root");
        rc = open_root_dir(path, create, dirfd_out, err);
    } else if (env->xdg_runtime_dir && *env->xdg_runtime_dir) {
        if (asprintf(&path, "%s/mdrun", env->xdg_runtime_dir) < 0)
            return md_fail(err, ENOMEM, "state root");
        rc = open_root_dir(path, create, dirfd_out, err);
    } else {
        rc = rootless_fallback(env, create, &path, dirfd_out, err);
    }
    if (rc < 0)
        return md_check_state_root_error(err);
    *path_out = md_take_ptr(&path);
    return 0;
}

int md_state_root_open(const char *override, bool create, char **path_out, int *dirfd_out,
                       md_error *err)
{
    struct md_root_env env;
    md_state_root_env_current(&env);
    return md_state_root_open_env(&env, override, create, path_out, dirfd_out, err);
}

/* -------------------------------------------------------------------- ids */

static bool id_char(unsigned char c)
{
    return isascii(c) && (isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.');
}

/* The id as it may appear in a one-line message: bounded, with bytes that
 * are not printable ASCII shown as \xNN. */
static void quote_id(const char *id, char *buf, size_t size)
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)id; *p && used + 8 < size; p++) {
        if (used >= 64) {
            used += (size_t)snprintf(buf + used, size - used, "...");
            break;
        }
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            buf[used++] = (char)*p;
        else
            used += (size_t)snprintf(buf + used, size - used, "\\x%02x", *p);
    }
    buf[used] = '\0';
}

int md_id_validate(const char *id, md_error *err)
{
    char shown[128];
    if (!id || !*id)
        return refuse(err, EINVAL, "invalid container id \"\": must not be empty");
    quote_id(id, shown, sizeof(shown));
    size_t len = strnlen(id, MD_ID_MAX + 1);
    if (len > MD_ID_MAX)
        return refuse(err, EINVAL, "invalid container id \"%s\": longer than %d bytes", shown,
                      MD_ID_MAX);
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return refuse(err, EINVAL, "invalid container id \"%s\": \".\" and \"..\" are not allowed",
                      shown);
    for (size_t i = 0; i < len; i++)
        if (!id_char((unsigned char)id[i]))
            return refuse(err, EINVAL,
                          "invalid container id \"%s\": only letters, digits and _+-. are allowed",
                          shown);
    return 0;
}

/* ------------------------------------------------------- container dirs */

/* Names of directories on their way in or out of the root.  '~' is not
 * allowed in ids, so md_state_list() never shows them. */
static int temp_name(char *buf, size_t size, const char *what)
{
    static unsigned counter;
    return snprintf(buf, size, "~%s-%d-%u", what, (int)getpid(), counter++) < (int)size ? 0 : -1;
}

/* Rename without replacing; filesystems that lack RENAME_NOREPLACE fall
 * back to the caller's plan (errno EINVAL or ENOSYS). */
static int rename_noreplace(int dirfd, const char *from, const char *to)
{
    return renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE);
}

static int open_dir_at(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int already_exists(const char *id, md_error *err)
{
    return refuse(err, EEXIST, "container \"%s\" already exists", id);
}

/* mkdir + lock in place, for filesystems without RENAME_NOREPLACE: a
 * reader may see the directory unlocked for an instant. */
static int create_in_place(int rootfd, const char *id, md_error *err)
{
    if (mkdirat(rootfd, id, 0700) < 0) {
        if (errno == EEXIST)
            return already_exists(id, err);
        return md_fail(err, errno, "create container \"%s\"", id);
    }
    md_autofd fd = open_dir_at(rootfd, id);
    if (fd < 0)
        return md_fail(err, errno, "open container \"%s\"", id);
    if (md_state_lock(fd, MD_LOCK_EXCLUSIVE, false, err) < 0)
        return md_wrap(err, "container \"%s\"", id);
    return md_take_fd(&fd);
}

int md_state_create(int rootfd, const char *id, md_error *err)
{
    if (md_id_validate(id, err) < 0)
        return -1;
    if (strlen(id) > NAME_MAX)
        return refuse(err, ENAMETOOLONG,
                      "container id is %zu bytes long, more than a file name can hold (%d)",
                      strlen(id), NAME_MAX);
    struct stat st;
    if (fstatat(rootfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return already_exists(id, err);

    char tmp[64];
    for (int tries = 0;; tries++) {
        if (temp_name(tmp, sizeof(tmp), "new") < 0)
            return md_fail(err, ENAMETOOLONG, "create container \"%s\"", id);
        if (mkdirat(rootfd, tmp, 0700) == 0)
            break;
        if (errno != EEXIST || tries > 100) {
            md_fail(err, errno, "create container \"%s\"", id);
            return md_check_state_root_error(err);
        }
    }
    md_autofd fd = open_dir_at(rootfd, tmp);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        unlinkat(rootfd, tmp, AT_REMOVEDIR);
        return md_fail(err, e, "create container \"%s\"", id);
    }
    if (rename_noreplace(rootfd, tmp, id) == 0)
        return md_take_fd(&fd);
    int e = errno;
    unlinkat(rootfd, tmp, AT_REMOVEDIR);
    if (e == EEXIST)
        return already_exists(id, err);
    if (e == EINVAL || e == ENOSYS)
        return create_in_place(rootfd, id, err);
    return md_fail(err, e, "create container \"%s\"", id);
}

static int does_not_exist(const char *id, md_error *err)
{
    return refuse(err, ENOENT, "container \"%s\" does not exist", id);
}

int md_state_open(int rootfd, const char *id, md_error *err)
{
    if (md_id_validate(id, err) < 0)
        return -1;
    if (rootfd < 0)
        return does_not_exist(id, err);
    int fd = open_dir_at(rootfd, id);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENAMETOOLONG))
        return does_not_exist(id, err);
    if (fd < 0)
        return md_fail(err, errno, "open container \"%s\"", id);
    return fd;
}

int md_state_lock(int cfd, enum md_lock how, bool wait, md_error *err)
{
    int op = (how == MD_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
    int rc;
    while ((rc = flock(cfd, op)) < 0 && errno == EINTR)
        ;
    if (rc == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        return refuse(err, EWOULDBLOCK,
                      "container is busy: another mdrun command is working on it");
    return md_fail(err, errno, "lock container state");
}

void md_state_unlock(int cfd)
{
    flock(cfd, LOCK_UN);
}

/* Remove dirfd/name and everything below it, without following symlinks. */
static int rmtree_at(int dirfd, const char *name, int depth, md_error *err)
{
    if (depth > 32)
        return md_fail(err, ELOOP, "remove %s", name);
    int fd = open_dir_at(dirfd, name);
    if (fd < 0)
        return errno == ENOENT ? 0 : md_fail(err, errno, "open %s", name);
    md_autodir dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return md_fail(err, errno, "read %s", name);
    }
    struct dirent *e;
    while ((errno = 0, e = readdir(dir))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT)
            continue;
        if (errno != EISDIR)
            return md_fail(err, errno, "remove %s/%s", name, e->d_name);
        if (rmtree_at(fd, e->d_name, depth + 1, err) < 0)
            return md_wrap(err, "%s", name);
    }
    if (errno)
        return md_fail(err, errno, "read %s", name);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return md_fail(err, errno, "remove %s", name);
    return 0;
}

int md_state_remove(int rootfd, const char *id, md_error *err)
{
    if (md_id_validate(id, err) < 0)
        return -1;
    if (rootfd < 0)
        return 0;
    char tmp[64];
    const char *victim = id;
    /* Out of sight first: readers see the whole container or nothing. */
    if (temp_name(tmp, sizeof(tmp), "del") == 0 && rename_noreplace(rootfd, id, tmp) == 0)
        victim = tmp;
    else if (errno == ENOENT)
        return 0;
    if (rmtree_at(rootfd, victim, 0, err) < 0)
        return md_wrap(err, "delete container \"%s\"", id);
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_container_dir(int rootfd, const struct dirent *e)
{
    md_error ignored = {0};
    if (md_id_validate(e->d_name, &ignored) < 0) {
        md_error_clear(&ignored);
        return false;
    }
    if (e->d_type == DT_DIR)
        return true;
    struct stat st;
    return e->d_type == DT_UNKNOWN && fstatat(rootfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISDIR(st.st_mode);
}

int md_state_list(int rootfd, char ***ids, size_t *n, md_error *err)
{
    *ids = NULL;
    *n = 0;
    if (rootfd < 0)
        return 0;
    /* A new open file: readdir must not move the caller's fd offset. */
    int fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "open state root");
    md_autodir dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return md_fail(err, errno, "read state root");
    }
    char **found = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((errno = 0, e = readdir(dir))) {
        if (!is_container_dir(fd, e))
            continue;
        if (md_strv_push(&found, &count, e->d_name) < 0) {
            md_strv_free(found, count);
            return md_fail(err, ENOMEM, "list containers");
        }
    }
    if (errno) {
        int saved = errno;
        md_strv_free(found, count);
        return md_fail(err, saved, "read state root");
    }
    if (count > 1)
        qsort(found, count, sizeof(char *), compare_strings);
    *ids = found;
    *n = count;
    return 0;
}

int md_state_fifo_create(int cfd, md_error *err)
{
    if (mkfifoat(cfd, MD_STATE_EXEC_FIFO, 0600) < 0)
        return md_fail(err, errno, "create %s", MD_STATE_EXEC_FIFO);
    /* Set the mode after mkfifoat, which the umask would trim. */
    if (fchmodat(cfd, MD_STATE_EXEC_FIFO, 0622, 0) < 0)
        return md_fail(err, errno, "chmod %s", MD_STATE_EXEC_FIFO);
    return 0;
}

/* ------------------------------------------------------------- the record */

/* Field descriptions, as in spec.c; T is the struct being described. */
#define STR(m, k)                                           \
    {                                                       \
        k, MD_J_STRING, 0, offsetof(T, m), MD_J_NOAUX, NULL \
    }
#define STR_REQ(m, k)                                                   \
    {                                                                   \
        k, MD_J_STRING, MD_J_REQUIRED, offsetof(T, m), MD_J_NOAUX, NULL \
    }
#define BOOL(m, k)                                        \
    {                                                     \
        k, MD_J_BOOL, 0, offsetof(T, m), MD_J_NOAUX, NULL \
    }
#define NUM(kind, m, k)                                               \
    {                                                                 \
        k, MD_J_##kind, 0, offsetof(T, m), offsetof(T, has_##m), NULL \
    }
#define NUM_REQ(kind, m, k)                                             \
    {                                                                   \
        k, MD_J_##kind, MD_J_REQUIRED, offsetof(T, m), MD_J_NOAUX, NULL \
    }
#define SMAP(m, k)                                                      \
    {                                                                   \
        k, MD_J_STRING_MAP, 0, offsetof(T, m), offsetof(T, n_##m), NULL \
    }
#define TYPE(name, fields) static const struct md_jtype name = {sizeof(T), fields, N(fields)}

#define T md_state_record
static const struct md_jfield record_fields[] = {
    STR_REQ(id, "id"),
    STR_REQ(bundle, "bundle"),
    STR(rootfs, "rootfs"),
    NUM_REQ(INT32, pid, "pid"),
    NUM_REQ(UINT64, start_time, "startTime"),
    STR(created, "created"),
    NUM_REQ(UINT32, owner, "owner"),
    BOOL(rootless, "rootless"),
    SMAP(annotations, "annotations"),
    STR(cgroup_path, "cgroupPath"),
    STR(cgroup_manager, "cgroupManager"),
    STR(config, "config"),
    STR(console_socket, "consoleSocket"),
    STR(pid_file, "pidFile"),
    BOOL(systemd_cgroup, "systemdCgroup"),
    STR(cgroup_unit, "cgroupUnit"),
    STR(cgroup_scope, "cgroupScope"),
    SMAP(cgroup_paths, "cgroupPaths"),
    NUM(INT32, net_helper_pid, "netHelperPid"),
    NUM(UINT64, net_helper_start_time, "netHelperStartTime"),
    NUM(UINT32, post_hooks, "postHooks"),
};
TYPE(record_type, record_fields);
#undef T

int md_state_record_write(int cfd, const md_state_record *rec, char **last, md_error *err)
{
    md_autofree char *text = NULL;
    size_t len = 0;
    if (md_json_to_text(&record_type, rec, &text, &len, err) < 0)
        return md_wrap(err, "write %s", MD_STATE_STATUS);
    if (last && *last && strcmp(*last, text) == 0)
        return 0;
    if (md_write_file_atomic(cfd, MD_STATE_STATUS, text, len, 0600, err) < 0)
        return -1;
    if (last) {
        free(*last);
        *last = text;
        text = NULL;
    }
    return 0;
}

int md_state_record_read(int cfd, md_state_record *rec, md_error *err)
{
    memset(rec, 0, sizeof(*rec));
    md_autofree char *text = NULL;
    size_t len = 0;
    if (md_read_file_at(cfd, MD_STATE_STATUS, STATUS_MAX, &text, &len, err) < 0)
        return -1;
    md_errors problems = {0};
    struct md_jdoc *doc = NULL;
    if (md_json_parse(text, len, MD_STATE_STATUS, &doc, &problems) == 0) {
        md_json_decode(md_jdoc_root(doc), &record_type, rec, MD_STATE_STATUS, &problems);
        if (problems.n == 0 && rec->pid < 0)
            md_errors_add(&problems, "%s: pid: must not be negative", MD_STATE_STATUS);
    }
    md_jdoc_free(doc);
    if (problems.n > 0) {
        refuse(err, EINVAL, "%s", problems.msgs[0]);
        md_errors_clear(&problems);
        md_state_record_free(rec);
        return -1;
    }
    return 0;
}

void md_state_record_free(md_state_record *rec)
{
    if (!rec)
        return;
    md_json_free(&record_type, rec);
    memset(rec, 0, sizeof(*rec));
}

void md_state_timestamp(char *buf, size_t size)
{
    md_timestamp_now(buf, size);
}

/* ------------------------------------------------------------- the status */

const char *md_status_name(enum md_status status)
{
    switch (status) {
    case MD_STATUS_CREATING:
        return "creating";
    case MD_STATUS_CREATED:
        return "created";
    case MD_STATUS_RUNNING:
        return "running";
    case MD_STATUS_PAUSED:
        return "paused";
    default:
        return "stopped";
    }
}

enum md_status md_status_decide(const struct md_status_facts *f)
{
    /* No process yet: either a create is at work (it holds the lock) or
     * one died half-way, which is as good as stopped. */
    if (!f->has_pid)
        return f->locked ? MD_STATUS_CREATING : MD_STATUS_STOPPED;
    /* A pid alone proves nothing: it may have been reused. */
    if (!f->pid_alive || !f->same_start)
        return MD_STATUS_STOPPED;
    return f->fifo ? MD_STATUS_CREATED : MD_STATUS_RUNNING;
}

/* Move p past one space-separated field. */
static const char *next_field(const char *p)
{
    while (*p == ' ')
        p++;
    if (!*p || *p == '\n')
        return NULL;
    while (*p && *p != ' ' && *p != '\n')
        p++;
    return p;
}

int md_proc_stat_parse(const char *text, char *state, uint64_t *start_time)
{
    /* comm (field 2) is the only field that may hold ' ' or ')'. */
    const char *p = strrchr(text, ')');
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    p += 2;
    *state = *p;
    /* Fields 3 to 21 come before the start time. */
    for (int field = 3; field < 22; field++)
        if (!(p = next_field(p)))
            return -1;
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -1;
    *start_time = v;
    return 0;
}

int md_proc_stat(pid_t pid, char *state, uint64_t *start_time)
{
    if (pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    md_autofd fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            errno = ESRCH;
        return -1;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
        ;
    if (n < 0) {
        /* Reading the stat of a process that just exited fails with ESRCH. */
        return -1;
    }
    buf[n] = '\0';
    if (md_proc_stat_parse(buf, state, start_time) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* Whether another open file holds the directory's exclusive lock.  The
 * probe uses a new open file so that it never touches the caller's lock. */
static bool locked_elsewhere(int cfd)
{
    md_autofd probe = openat(cfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (probe < 0)
        return false;
    return flock(probe, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* Paused is read from the cgroup's freezer, like every status: derived. */
static bool frozen(const md_state_record *rec)
{
    struct md_cgroup *cg = NULL;
    md_error ignored = {0};
    if (!rec->cgroup_path || md_cgroup_open(rec, &cg, &ignored) < 0) {
        md_error_clear(&ignored);
        return false;
    }
    bool is = md_cgroup_is_frozen(cg);
    md_cgroup_free(cg);
    return is;
}

int md_state_inspect(int cfd, const char *id, bool lock_held, md_state_info *out, md_error *err)
{
    memset(out, 0, sizeof(*out));
    struct md_status_facts facts = {0};
    /* The lock first, then the record: create writes the record before it
     * unlocks, so "locked, then no record" is surely a create at work. */
    facts.locked = !lock_held && locked_elsewhere(cfd);

    md_error why = {0};
    if (md_state_record_read(cfd, &out->rec, &why) == 0) {
        out->has_record = true;
    } else {
        md_debug("container %s: %s", id, why.msg);
        md_error_clear(&why);
        /* The owner is the directory's; other fields stay unknown. */
        struct stat st;
        if (fstat(cfd, &st) == 0)
            out->rec.owner = st.st_uid;
    }
    free(out->rec.id);
    out->rec.id = strdup(id);
    if (!out->rec.id) {
        md_state_info_free(out);
        return md_fail(err, ENOMEM, "container \"%s\"", id);
    }

    if (out->has_record && out->rec.pid > 0) {
        facts.has_pid = true;
        char state;
        uint64_t start;
        if (md_proc_stat(out->rec.pid, &state, &start) == 0) {
            facts.pid_alive = state != 'Z' && state != 'X';
            facts.same_start = start == out->rec.start_time;
        }
    }
    struct stat st;
    facts.fifo = fstatat(cfd, MD_STATE_EXEC_FIFO, &st, AT_SYMLINK_NOFOLLOW) == 0;
    out->status = md_status_decide(&facts);
    if ((out->status == MD_STATUS_RUNNING || out->status == MD_STATUS_CREATED) && frozen(&out->rec))
        out->status = MD_STATUS_PAUSED;
    return 0;
}

int md_state_load(int rootfd, const char *id, md_state_info *out, md_error *err)
{
    memset(out, 0, sizeof(*out));
    md_autofd cfd = md_state_open(rootfd, id, err);
    if (cfd < 0)
        return -1;
    return md_state_inspect(cfd, id, false, out, err);
}

void md_state_info_free(md_state_info *info)
{
    if (info)
        md_state_record_free(&info->rec);
}

static int process_gone(const md_state_record *rec, md_error *err)
{
    return refuse(err, ESRCH, "container process %d has exited", (int)rec->pid);
}

int md_state_pidfd(const md_state_record *rec, md_error *err)
{
    if (rec->pid <= 0)
        return process_gone(rec, err);
#ifdef SYS_pidfd_open
    md_autofd fd = (int)syscall(SYS_pidfd_open, (pid_t)rec->pid, 0);
    if (fd < 0 && errno == ESRCH)
        return process_gone(rec, err);
    if (fd < 0)
        return md_fail(err, errno, "pidfd_open %d", (int)rec->pid);
    /* The pidfd now pins one process; check that it is ours. */
    char state;
    uint64_t start;
    if (md_proc_stat(rec->pid, &state, &start) < 0 || start != rec->start_time || state == 'Z' ||
        state == 'X')
        return process_gone(rec, err);
    return md_take_fd(&fd);
#else
    return md_fail(err, ENOSYS, "pidfd_open");
#endif
}

/* ------------------------------------------------------- the state JSON */

/* The document `mdrun state` prints; strings point into an md_state_info. */
typedef struct state_doc {
    char *oci_version;
    char *id;
    int32_t pid;
    char *status;
    char *bundle;
    char *rootfs;
    char *created;
    md_kv *annotations;
    size_t n_annotations;
    char *owner;
} state_doc;

#define T state_doc
static const struct md_jfield state_doc_fields[] = {
    STR_REQ(oci_version, "ociVersion"),
    STR_REQ(id, "id"),
    NUM_REQ(INT32, pid, "pid"),
    STR_REQ(status, "status"),
    STR_REQ(bundle, "bundle"),
    STR(rootfs, "rootfs"),
    STR(created, "created"),
    SMAP(annotations, "annotations"),
    STR(owner, "owner"),
};
TYPE(state_doc_type, state_doc_fields);
#undef T

void md_state_owner_name(uid_t uid, char *buf, size_t size)
{
    struct passwd pw, *found = NULL;
    char scratch[4096];
    if (getpwuid_r(uid, &pw, scratch, sizeof(scratch), &found) == 0 && found)
        snprintf(buf, size, "%s", found->pw_name);
    else
        snprintf(buf, size, "%u", (unsigned)uid);
}

int32_t md_state_info_pid(const md_state_info *info)
{
    return info->status == MD_STATUS_STOPPED ? 0 : info->rec.pid;
}

int md_state_json_gen(yajl_gen g, const md_state_info *info)
{
    char owner[256];
    md_state_owner_name(info->rec.owner, owner, sizeof(owner));
    const md_state_record *rec = &info->rec;
    state_doc doc = {
        .oci_version = (char *)md_oci_version(),
        .id = rec->id,
        .pid = md_state_info_pid(info),
        .status = (char *)md_status_name(info->status),
        .bundle = rec->bundle ? rec->bundle : "",
        .rootfs = rec->rootfs,
        .created = rec->created,
        .annotations = rec->annotations,
        .n_annotations = rec->n_annotations,
        .owner = owner,
    };
    return md_json_encode(g, &state_doc_type, &doc);
}

int md_state_json(const md_state_info *info, char **out, size_t *len, md_error *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return md_fail(err, ENOMEM, "state JSON");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
    int rc = md_state_json_gen(g, info);
    const unsigned char *buf;
    size_t n;
    if (rc == 0 && yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok) {
        *out = strndup((const char *)buf, n);
        if (len)
            *len = n;
        rc = *out ? 0 : md_fail(err, ENOMEM, "state JSON");
    } else {
        rc = md_fail(err, EINVAL, "state JSON: invalid document");
    }
    yajl_gen_free(g);
    return rc;
}
