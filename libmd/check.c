/* check.c - `mdrun check`: what rootless containers need from the host,
 * each finding with its fix, and the fix texts that create and run reuse
 * in their errors. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroup.h"
#include "check.h"
#include "cleanup.h"
#include "error.h"

/* Enough subordinate ids for the images people run (uid 65534, nobody). */
#define SUBID_WANTED 65536u
/* Where usermod's ranges start, as useradd's SUB_UID_MIN. */
#define SUBID_FIRST 100000u

/* ------------------------------------------------------------- helpers */

/* A sysctl as a number; -1 (errno ENOENT) when the kernel lacks it. */
static int read_sysctl(const char *proc_sys, const char *rel, long *value)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", proc_sys, rel);
    md_autofile f = fopen(path, "re");
    if (!f)
        return -1;
    if (fscanf(f, "%ld", value) != 1) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* The first executable tool in the colon-separated path (an empty entry
 * is the current directory, as execvp reads it). */
static bool find_in_path(const char *path, const char *tool, char *out, size_t size)
{
    const char *p = path && *path ? path : "/bin:/usr/bin";
    for (;;) {
        size_t len = strcspn(p, ":");
        int n = snprintf(out, size, "%.*s/%s", (int)len, len ? p : ".", tool);
        if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
            return true;
        if (!p[len])
            return false;
        p += len + 1;
    }
}

/* ------------------------------------------------------------ fix texts */

static const char *sysctl_fix(char *buf, size_t size, const char *name, const char *value)
{
    snprintf(buf, size,
             "as root: sysctl -w %s=%s, and add \"%s = %s\" to /etc/sysctl.d/50-mdrun.conf to "
             "keep it",
             name, value, name, value);
    return buf;
}

const char *md_check_userns_fix(const char *proc_sys, bool privileged, int errnum, char *buf,
                                size_t size)
{
    long v;
    /* The count limit stops root too; ENOSPC is also what its exhaustion gives. */
    if (read_sysctl(proc_sys, "user/max_user_namespaces", &v) == 0 && (v == 0 || errnum == ENOSPC))
        return sysctl_fix(buf, size, "user.max_user_namespaces", "15000");
    if (privileged)
        return NULL;
    if (read_sysctl(proc_sys, "kernel/unprivileged_userns_clone", &v) == 0 && v == 0)
        return sysctl_fix(buf, size, "kernel.unprivileged_userns_clone", "1");
    if (read_sysctl(proc_sys, "kernel/apparmor_restrict_unprivileged_userns", &v) == 0 && v != 0) {
        snprintf(buf, size,
                 "as root: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or give "
                 "mdrun an AppArmor profile with the \"userns,\" rule), and add it to "
                 "/etc/sysctl.d/50-mdrun.conf to keep it");
        return buf;
    }
    return NULL;
}

enum helper_state { HELPER_MISSING, HELPER_SETUID, HELPER_CAPS, HELPER_NOSUID, HELPER_PLAIN };

/* Whether file may map ids other than its caller's: setuid root, or the
 * capability (cap_setuid, cap_setgid) in its permitted and effective sets;
 * neither counts on a filesystem mounted nosuid. */
static enum helper_state helper_state(const char *file, cap_value_t cap)
{
    struct stat st;
    if (stat(file, &st) < 0)
        return HELPER_MISSING;
    struct statvfs vfs;
    bool nosuid = statvfs(file, &vfs) == 0 && (vfs.f_flag & ST_NOSUID);
    bool setuid_root = st.st_uid == 0 && (st.st_mode & S_ISUID);
    bool has_cap = false;
    cap_t caps = cap_get_file(file);
    if (caps) {
        cap_flag_value_t perm = CAP_CLEAR, eff = CAP_CLEAR;
        has_cap = cap_get_flag(caps, cap, CAP_PERMITTED, &perm) == 0 &&
                  cap_get_flag(caps, cap, CAP_EFFECTIVE, &eff) == 0 && perm == CAP_SET &&
                  eff == CAP_SET;
        cap_free(caps);
    }
    if ((setuid_root || has_cap) && nosuid)
        return HELPER_NOSUID;
    return setuid_root ? HELPER_SETUID : has_cap ? HELPER_CAPS : HELPER_PLAIN;
}

static cap_value_t helper_cap(const char *tool)
{
    return strcmp(tool, "newgidmap") == 0 ? CAP_SETGID : CAP_SETUID;
}

static const char *helper_fix(enum helper_state state, const char *tool, const char *file,
                              char *buf, size_t size)
{
    const char *cap = helper_cap(tool) == CAP_SETGID ? "cap_setgid" : "cap_setuid";
    switch (state) {
    case HELPER_MISSING:
        snprintf(buf, size, "as root: apt-get install uidmap (it provides %s)", tool);
        return buf;
    case HELPER_NOSUID:
        snprintf(buf, size,
                 "as root: remount the filesystem of %s without nosuid, or put %s first in "
                 "PATH from a filesystem without it",
                 file, tool);
        return buf;
    case HELPER_PLAIN:
        snprintf(buf, size, "as root: chmod u+s %s (or setcap %s+ep %s)", file, cap, file);
        return buf;
    default:
        return NULL;
    }
}

const char *md_check_helper_fix(const char *path, const char *tool, char *buf, size_t size)
{
    char file[PATH_MAX];
    if (!find_in_path(path, tool, file, sizeof(file)))
        return helper_fix(HELPER_MISSING, tool, tool, buf, size);
    return helper_fix(helper_state(file, helper_cap(tool)), tool, file, buf, size);
}

/* The end of the highest range any user has in file (0 when none). */
static uint64_t subid_top(const char *file)
{
    uint64_t top = 0;
    md_autofile f = fopen(file, "re");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long long start, count;
        if (line[0] != '#' && sscanf(line, "%*[^:]:%llu:%llu", &start, &count) == 2 &&
            start + count > top)
            top = start + count;
    }
    return top;
}

/* A fresh range above every granted one in both files, so it overlaps no
 * one's (the rule of tests/setup-test-user.sh). */
static uint64_t subid_free_start(const struct md_id_caller *caller)
{
    uint64_t top = subid_top(caller->subuid_file), top_g = subid_top(caller->subgid_file);
    if (top_g > top)
        top = top_g;
    if (top < SUBID_FIRST)
        top = SUBID_FIRST;
    return (top + SUBID_WANTED - 1) / SUBID_WANTED * SUBID_WANTED;
}

const char *md_check_subid_fix(const struct md_id_caller *caller, char *buf, size_t size)
{
    uint64_t start = subid_free_start(caller), end = start + SUBID_WANTED - 1;
    if (caller->name)
        snprintf(buf, size,
                 "as root: usermod --add-subuids %" PRIu64 "-%" PRIu64 " --add-subgids %" PRIu64
                 "-%" PRIu64 " %s",
                 start, end, start, end, caller->name);
    else
        snprintf(buf, size, "as root: add the line %u:%" PRIu64 ":%u to %s and to %s",
                 (unsigned)caller->uid, start, SUBID_WANTED, caller->subuid_file,
                 caller->subgid_file);
    return buf;
}

const char *md_check_state_root_fix(bool rootless, uid_t uid, char *buf, size_t size)
{
    if (rootless)
        snprintf(buf, size,
                 "set XDG_RUNTIME_DIR to a directory of yours (such as /run/user/%u) or pass "
                 "--root DIR",
                 (unsigned)uid);
    else
        snprintf(buf, size, "pass --root DIR with a DIR on a writable filesystem");
    return buf;
}

int md_check_add_fix(md_error *err, const char *fix)
{
    if (!fix)
        return -1;
    /* md_failx formats from the old message before replacing it. */
    return md_failx(err, err->errnum, "%s; fix: %s", err->msg ? err->msg : "error", fix);
}

int md_check_userns_error(md_error *err, int errnum, bool privileged)
{
    char fix[512];
    md_fail(err, errnum, "create user namespace");
    return md_check_add_fix(err,
                            md_check_userns_fix("/proc/sys", privileged, errnum, fix, sizeof(fix)));
}

int md_check_helper_error(md_error *err, const char *tool)
{
    char fix[512];
    return md_check_add_fix(err, md_check_helper_fix(getenv("PATH"), tool, fix, sizeof(fix)));
}

int md_check_state_root_error(md_error *err)
{
    int e = err->errnum;
    if (e != EACCES && e != EPERM && e != EROFS && e != ENOTDIR)
        return -1;
    struct md_root_env env;
    md_state_root_env_current(&env);
    char fix[512];
    return md_check_add_fix(
        err, md_check_state_root_fix(md_state_root_env_rootless(&env), env.euid, fix, sizeof(fix)));
}

/* -------------------------------------------------------------- report */

const char *md_check_level_name(enum md_check_level level)
{
    switch (level) {
    case MD_CHECK_OK:
        return "ok";
    case MD_CHECK_WARNING:
        return "warning";
    default:
        return "error";
    }
}

struct adder {
    struct md_check_report *r;
    bool failed; /* out of memory */
};

static void add(struct adder *a, const char *name, enum md_check_level level, const char *fix,
                const char *fmt, ...) MD_PRINTF(5, 6);

static void add(struct adder *a, const char *name, enum md_check_level level, const char *fix,
                const char *fmt, ...)
{
    struct md_check_item *grown = realloc(a->r->items, (a->r->n + 1) * sizeof(*grown));
    if (!grown) {
        a->failed = true;
        return;
    }
    a->r->items = grown;
    struct md_check_item *it = &grown[a->r->n];
    *it = (struct md_check_item){.name = name, .level = level};
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&it->msg, fmt, ap) < 0)
        it->msg = NULL;
    va_end(ap);
    if (level != MD_CHECK_OK && fix)
        it->fix = strdup(fix);
    if (!it->msg || (level != MD_CHECK_OK && fix && !it->fix)) {
        free(it->msg);
        free(it->fix);
        a->failed = true;
        return;
    }
    a->r->n++;
}

void md_check_report_free(struct md_check_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].msg);
        free(r->items[i].fix);
    }
    free(r->items);
    r->items = NULL;
    r->n = 0;
}

bool md_check_report_ok(const struct md_check_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].level == MD_CHECK_ERROR)
            return false;
    return true;
}

/* ------------------------------------------------------ user namespaces */

/* A problem that stops rootless containers only warns root, whom it
 * stops only for bundles with a user namespace. */
static enum md_check_level needed(const struct md_check_env *env)
{
    return env->rootless ? MD_CHECK_ERROR : MD_CHECK_WARNING;
}

static void check_userns_sysctls(const struct md_check_env *env, struct adder *a)
{
    char fix[512];
    long v;
    const char *name = "user.max_user_namespaces";
    if (read_sysctl(env->proc_sys, "user/max_user_namespaces", &v) < 0)
        add(a, name, needed(env), "use a kernel built with CONFIG_USER_NS",
            "%s/user/max_user_namespaces is missing: this kernel has no user namespaces",
            env->proc_sys);
    else if (v == 0)
        add(a, name, needed(env), sysctl_fix(fix, sizeof(fix), name, "15000"),
            "%s is 0: no user namespace can be created", name);
    else
        add(a, name, MD_CHECK_OK, NULL, "%s is %ld", name, v);

    name = "kernel.unprivileged_userns_clone"; /* Debian's patch, before Debian 11 */
    if (read_sysctl(env->proc_sys, "kernel/unprivileged_userns_clone", &v) == 0) {
        if (v != 0)
            add(a, name, MD_CHECK_OK, NULL, "%s is %ld", name, v);
        else if (env->rootless)
            add(a, name, MD_CHECK_ERROR, sysctl_fix(fix, sizeof(fix), name, "1"),
                "%s is 0: only root may create user namespaces", name);
        else
            add(a, name, MD_CHECK_OK, NULL, "%s is 0, which stops only unprivileged users", name);
    }

    name = "kernel.apparmor_restrict_unprivileged_userns"; /* Ubuntu 23.10 and later */
    if (read_sysctl(env->proc_sys, "kernel/apparmor_restrict_unprivileged_userns", &v) == 0) {
        if (v == 0)
            add(a, name, MD_CHECK_OK, NULL, "%s is 0", name);
        else if (env->rootless)
            add(a, name, MD_CHECK_ERROR,
                md_check_userns_fix(env->proc_sys, false, EPERM, fix, sizeof(fix)),
                "%s is %ld: AppArmor takes every capability away in a user namespace that an "
                "unconfined program makes",
                name, v);
        else
            add(a, name, MD_CHECK_OK, NULL, "%s is %ld, which stops only unprivileged users", name,
                v);
    }
}

static void check_userns_probe(const struct md_check_env *env, struct adder *a)
{
    int e = env->probe_userns();
    if (e == 0) {
        add(a, "userns", MD_CHECK_OK, NULL,
            "creating a user namespace, and a mount namespace in it, works");
        return;
    }
    char fix[512];
    const char *why = md_check_userns_fix(env->proc_sys, !env->rootless, e, fix, sizeof(fix));
    if (!why)
        why = "run mdrun where user namespaces are allowed (not inside a container or sandbox "
              "whose seccomp or LSM policy refuses unshare(2)), or as root";
    add(a, "userns", needed(env), why, "creating a user namespace fails: %s", strerror(e));
}

/* Fork a child that unshares a user namespace, then a mount namespace in
 * it (which an AppArmor restriction refuses); its exit status is the
 * errno. */
int md_check_probe_userns(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER) < 0 || unshare(CLONE_NEWNS) < 0)
            _exit(errno);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
}

/* ------------------------------------------------ newuidmap, newgidmap */

static void check_helper(const struct md_check_env *env, struct adder *a, const char *tool)
{
    char file[PATH_MAX], fix[512];
    bool found = find_in_path(env->path, tool, file, sizeof(file));
    enum helper_state st = found ? helper_state(file, helper_cap(tool)) : HELPER_MISSING;
    const char *fixtext = helper_fix(st, tool, found ? file : tool, fix, sizeof(fix));
    const char *cap = helper_cap(tool) == CAP_SETGID ? "cap_setgid" : "cap_setuid";
    if (!env->rootless) {
        add(a, tool, MD_CHECK_OK, NULL, "%s%s; not needed as root, who writes id maps itself",
            found ? file : "not installed",
            st == HELPER_SETUID ? " is setuid root"
            : st == HELPER_CAPS ? " has file capabilities"
            : found             ? " found"
                                : "");
        return;
    }
    switch (st) {
    case HELPER_MISSING:
        add(a, tool, MD_CHECK_ERROR, fixtext,
            "%s is not in PATH: bundles mapping more than your own id cannot run", tool);
        break;
    case HELPER_SETUID:
        add(a, tool, MD_CHECK_OK, NULL, "%s is setuid root", file);
        break;
    case HELPER_CAPS:
        add(a, tool, MD_CHECK_OK, NULL, "%s has %s", file, cap);
        break;
    case HELPER_NOSUID:
        add(a, tool, MD_CHECK_ERROR, fixtext, "%s is on a filesystem mounted nosuid", file);
        break;
    case HELPER_PLAIN:
        add(a, tool, MD_CHECK_ERROR, fixtext, "%s is neither setuid root nor has %s", file, cap);
        break;
    }
}

/* ---------------------------------------------------- subordinate ids */

static void check_subids(const struct md_check_env *env, struct adder *a, const char *name,
                         const char *file)
{
    const struct md_id_caller *c = &env->caller;
    const char *who = c->name ? c->name : "this user";
    if (!env->rootless) {
        add(a, name, MD_CHECK_OK, NULL,
            "not needed as root: a container's id maps come from config.json");
        return;
    }
    md_error err = {0};
    md_autofree md_idmap *ranges = NULL;
    size_t n = 0;
    if (md_subid_ranges(file, c->name, c->uid, &ranges, &n, &err) < 0) {
        char fix[PATH_MAX + 32];
        snprintf(fix, sizeof(fix), "as root: chmod 644 %s", file);
        add(a, name, MD_CHECK_ERROR, fix, "%s", err.msg);
        md_error_clear(&err);
        return;
    }
    char fix[512], list[256] = "";
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += ranges[i].size;
        size_t used = strlen(list);
        snprintf(list + used, sizeof(list) - used, "%s%" PRIu32 ":%" PRIu32, i ? ", " : "",
                 ranges[i].host_id, ranges[i].size);
    }
    if (n == 0) {
        add(a, name, MD_CHECK_ERROR, md_check_subid_fix(c, fix, sizeof(fix)),
            "%s grants %s (uid %u) no range: bundles mapping more than your own id cannot run",
            file, who, (unsigned)c->uid);
    } else if (total < SUBID_WANTED) {
        uint64_t start = subid_free_start(c);
        if (c->name)
            snprintf(fix, sizeof(fix), "as root: usermod --add-%ss %" PRIu64 "-%" PRIu64 " %s",
                     name, start, start + SUBID_WANTED - 1, c->name);
        else
            snprintf(fix, sizeof(fix), "as root: add the line %u:%" PRIu64 ":%u to %s",
                     (unsigned)c->uid, start, SUBID_WANTED, file);
        add(a, name, MD_CHECK_WARNING, fix,
            "%s grants %s %s, %" PRIu64 " ids: images with ids above %" PRIu64 " fail", file, who,
            list, total, total - 1);
    } else {
        add(a, name, MD_CHECK_OK, NULL, "%s grants %s %s", file, who, list);
    }
}

/* -------------------------------------------------------------- cgroups */

static const char *layout_text(enum md_cg_layout layout)
{
    switch (layout) {
    case MD_CG_V1:
        return "cgroup v1";
    case MD_CG_HYBRID:
        return "hybrid cgroups (v1 controllers, an empty cgroup2 at " MD_CGROUP_UNIFIED ")";
    case MD_CG_V2:
        return "cgroup v2";
    default:
        return "no cgroup filesystem at " MD_CGROUP_ROOT;
    }
}

static void append_word(char *buf, size_t size, const char *word)
{
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s%s", used ? " " : "", word);
}

/* v1: the enabled controllers of /proc/cgroups, those the caller may make
 * cgroups in when rootless (an administrator may have chowned some). */
static void v1_controllers(bool rootless, char *buf, size_t size)
{
    md_autofile f = fopen("/proc/cgroups", "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        char name[64];
        int hier, num, enabled;
        /* Hierarchy 0: enabled, but mounted nowhere. */
        if (sscanf(line, "%63s %d %d %d", name, &hier, &num, &enabled) != 4 || !enabled || !hier ||
            name[0] == '#')
            continue;
        if (rootless) {
            char mount[128];
            md_error ignored = {0};
            md_autofree char *own = md_cg_own_path(name, &ignored);
            md_error_clear(&ignored);
            snprintf(mount, sizeof(mount), MD_CGROUP_ROOT "/%s", name);
            if (!own || !md_cg_delegated_at(mount, own))
                continue;
        }
        append_word(buf, size, name);
    }
}

/* v2: cgroup.controllers where the container's cgroup would go (the
 * parent of our own, see cgroup.c), or of the root for root. */
static void v2_controllers(bool rootless, char *buf, size_t size)
{
    md_error ignored = {0};
    md_autofree char *own = rootless ? md_cg_own_path(NULL, &ignored) : strdup("/");
    md_error_clear(&ignored);
    if (!own)
        return;
    char *slash = strrchr(own, '/');
    if (rootless && slash)
        slash[slash == own ? 1 : 0] = '\0';
    char path[PATH_MAX];
    snprintf(path, sizeof(path), MD_CGROUP_ROOT "%s/cgroup.controllers", own);
    md_autofile f = fopen(path, "re");
    if (f && fgets(buf, (int)size, f))
        buf[strcspn(buf, "\n")] = '\0';
}

void md_check_cgroup_probe(const struct md_check_env *env, struct md_check_cgroup *out)
{
    memset(out, 0, sizeof(*out));
    out->layout = md_cgroup_layout();
    if (out->layout == MD_CG_NONE)
        return;
    /* The decision create makes for a rootless container with a limit. */
    md_pids pids = {.has_limit = true, .limit = 100};
    md_resources res = {.pids = &pids};
    struct md_cgroup_request req = {
        .id = "mdrun-check",
        .resources = &res,
        .manager = MD_CGM_CGROUPFS,
        .rootless = env->rootless,
        .root_uid = env->caller.uid,
        .root_gid = env->caller.gid,
    };
    md_error err = {0};
    out->delegated = md_cgroup_check(&req, &err) == 0;
    md_error_clear(&err);
    if (!out->delegated)
        return;
    if (out->layout == MD_CG_V2)
        v2_controllers(env->rootless, out->controllers, sizeof(out->controllers));
    else
        v1_controllers(env->rootless, out->controllers, sizeof(out->controllers));
}

/* The controllers missing from have, of those rootless limits mostly use. */
static void missing_controllers(const char *have, char *buf, size_t size)
{
    static const char *const wanted[] = {"cpu", "memory", "pids", "io"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
        size_t len = strlen(wanted[i]);
        bool found = false;
        for (const char *p = have; (p = strstr(p, wanted[i])); p += len)
            if ((p == have || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
                found = true;
        if (!found)
            append_word(buf, size, wanted[i]);
    }
}

static void check_cgroup(const struct md_check_env *env, struct adder *a)
{
    struct md_check_cgroup cg;
    env->probe_cgroup(env, &cg);
    const char *layout = layout_text(cg.layout);
    const char *who = env->caller.name ? env->caller.name : "this user";
    if (cg.layout == MD_CG_NONE) {
        add(a, "cgroup", MD_CHECK_WARNING, "as root: mount -t cgroup2 none " MD_CGROUP_ROOT,
            "%s: containers run without a cgroup and linux.resources limits are refused", layout);
    } else if (!env->rootless) {
        add(a, "cgroup", MD_CHECK_OK, NULL, "%s; root uses every controller: %s", layout,
            cg.controllers[0] ? cg.controllers : "(none enabled)");
    } else if (!cg.delegated && cg.layout != MD_CG_V2) {
        add(a, "cgroup", MD_CHECK_WARNING,
            "boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2) and run mdrun in a systemd "
            "user session, or run containers with limits as root",
            "%s: no controller is delegated to %s, so containers run without a cgroup and "
            "linux.resources limits are refused (only root can make v1 cgroups)",
            layout, who);
    } else if (!cg.delegated) {
        char fix[512];
        snprintf(fix, sizeof(fix),
                 "run mdrun in a systemd user session (as root: loginctl enable-linger %s), e.g. "
                 "systemd-run --user --scope -p Delegate=yes mdrun ...",
                 env->caller.name ? env->caller.name : "USER");
        add(a, "cgroup", MD_CHECK_WARNING, fix,
            "%s: no cgroup is delegated to %s here, so containers run without a cgroup and "
            "linux.resources limits are refused",
            layout, who);
    } else {
        char missing[64];
        missing_controllers(cg.controllers, missing, sizeof(missing));
        if (cg.layout == MD_CG_V2 && missing[0])
            add(a, "cgroup", MD_CHECK_WARNING,
                "as root: add \"[Service]\" and \"Delegate=cpu cpuset io memory pids\" to "
                "/etc/systemd/system/user@.service.d/delegate.conf, then systemctl "
                "daemon-reload and log in again",
                "%s; delegated to %s: %s; limits on %s are refused", layout, who,
                cg.controllers[0] ? cg.controllers : "(none)", missing);
        else
            add(a, "cgroup", MD_CHECK_OK, NULL, "%s; delegated to %s: %s", layout, who,
                cg.controllers[0] ? cg.controllers : "(none)");
    }
}

/* -------------------------------------------------------------- systemd */

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    md_autofd fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
}

/* The first of the candidate sockets that accepts a connection: 0 and its
 * path in where, or the errno of the first candidate (where names it). */
static int first_reachable(const char *const *cands, size_t n, char *where, size_t size)
{
    int first = ENOENT;
    where[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!cands[i] || !*cands[i])
            continue;
        int e = connect_unix(cands[i]);
        if (e == 0) {
            snprintf(where, size, "%s", cands[i]);
            return 0;
        }
        if (!where[0]) {
            snprintf(where, size, "%s", cands[i]);
            first = e;
        }
    }
    return first;
}

static void check_systemd(const struct md_check_env *env, struct adder *a)
{
    enum md_check_level level = env->need_systemd ? MD_CHECK_ERROR : MD_CHECK_WARNING;
    char where[PATH_MAX];
    if (!env->rootless) {
        const char *cands[] = {env->system_bus, env->systemd_private};
        int e = first_reachable(cands, 2, where, sizeof(where));
        if (e == 0)
            add(a, "systemd", MD_CHECK_OK, NULL, "the system bus at %s answers", where);
        else
            add(a, "systemd", level,
                "boot with systemd as PID 1, or use --cgroup-manager cgroupfs (the default)",
                "no systemd: %s: %s, so --systemd-cgroup cannot work", where, strerror(e));
        return;
    }
    char bus[PATH_MAX] = "", priv[PATH_MAX] = "";
    const char *addr = env->dbus_address;
    const char *xdg = env->root.xdg_runtime_dir;
    if (addr && strncmp(addr, "unix:path=", 10) == 0)
        snprintf(bus, sizeof(bus), "%.*s", (int)strcspn(addr + 10, ","), addr + 10);
    else if (xdg && *xdg)
        snprintf(bus, sizeof(bus), "%s/bus", xdg);
    if (xdg && *xdg)
        snprintf(priv, sizeof(priv), "%s/systemd/private", xdg);
    const char *cands[] = {bus, priv};
    int e = first_reachable(cands, 2, where, sizeof(where));
    char fix[512];
    snprintf(fix, sizeof(fix),
             "log in through a systemd session (as root: loginctl enable-linger %s) so that "
             "systemd --user runs; meanwhile use --cgroup-manager cgroupfs (the default)",
             env->caller.name ? env->caller.name : "USER");
    if (e == 0)
        add(a, "systemd", MD_CHECK_OK, NULL, "the user bus at %s answers", where);
    else if (!where[0])
        add(a, "systemd", level, fix,
            "no systemd user session: XDG_RUNTIME_DIR is not set, so --systemd-cgroup cannot "
            "work");
    else
        add(a, "systemd", level, fix,
            "no systemd user session: %s: %s, so --systemd-cgroup cannot work", where, strerror(e));
}

/* ------------------------------------------------ seccomp, openat2, net */

static void check_seccomp(const struct md_check_env *env, struct adder *a)
{
    md_autofile f = fopen(env->proc_status, "re");
    char line[256];
    int mode = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    const struct scmp_version *v = seccomp_version();
    char lib[64];
    snprintf(lib, sizeof(lib), "libseccomp %u.%u.%u (API level %u)", v ? v->major : 0,
             v ? v->minor : 0, v ? v->micro : 0, seccomp_api_get());
    if (mode < 0)
        add(a, "seccomp", MD_CHECK_ERROR,
            "use a kernel built with CONFIG_SECCOMP_FILTER, or remove linux.seccomp from "
            "config.json (mdrun spec writes one)",
            "%s has no Seccomp field: the kernel cannot filter system calls (%s)", env->proc_status,
            lib);
    else if (mode == 2)
        add(a, "seccomp", MD_CHECK_OK, NULL,
            "supported, %s; mdrun itself already runs under a filter, which containers inherit",
            lib);
    else
        add(a, "seccomp", MD_CHECK_OK, NULL, "supported, %s", lib);
}

int md_check_probe_openat2(void)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
    if (fd < 0)
        return errno;
    close((int)fd);
    return 0;
}

static void check_openat2(const struct md_check_env *env, struct adder *a)
{
    int e = env->probe_openat2();
    if (e == 0)
        add(a, "openat2", MD_CHECK_OK, NULL, "openat2(2) with RESOLVE_IN_ROOT works");
    else if (e == ENOSYS)
        add(a, "openat2", MD_CHECK_WARNING,
            "use Linux 5.6 or later (mdrun works without it, more slowly)",
            "the kernel has no openat2(2): mdrun resolves paths in the rootfs itself");
    else
        add(a, "openat2", MD_CHECK_WARNING,
            "allow openat2 in the seccomp policy mdrun runs under (mdrun works without it)",
            "openat2(2) fails: %s: mdrun resolves paths in the rootfs itself", strerror(e));
}

static void check_slirp(const struct md_check_env *env, struct adder *a)
{
    char file[PATH_MAX];
    if (find_in_path(env->path, "slirp4netns", file, sizeof(file)))
        add(a, "slirp4netns", MD_CHECK_OK, NULL, "%s found", file);
    else if (!env->rootless)
        add(a, "slirp4netns", MD_CHECK_OK, NULL,
            "not installed; root connects network namespaces itself");
    else
        add(a, "slirp4netns", MD_CHECK_WARNING, "as root: apt-get install slirp4netns",
            "slirp4netns is not in PATH: a rootless container with a network namespace of its "
            "own has no network");
}

/* ----------------------------------------------------------- state root */

/* The nearest existing ancestor of path (path itself included), in buf. */
static void existing_ancestor(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    struct stat st;
    while (lstat(buf, &st) < 0) {
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf) {
            snprintf(buf, size, "/");
            return;
        }
        *slash = '\0';
    }
}

static void check_state_root(const struct md_check_env *env, struct adder *a)
{
    char fix[512], dir[PATH_MAX];
    md_check_state_root_fix(md_state_root_env_rootless(&env->root), env->root.euid, fix,
                            sizeof(fix));
    md_error err = {0};
    md_autofree char *path = NULL;
    md_autofd fd = -1;
    if (md_state_root_open_env(&env->root, env->root_override, false, &path, &fd, &err) < 0) {
        /* Without the fix state.c adds: the line carries its own. */
        char *own_fix = strstr(err.msg, "; fix: ");
        if (own_fix)
            *own_fix = '\0';
        add(a, "state-root", MD_CHECK_ERROR, fix, "%s", err.msg);
        md_error_clear(&err);
        return;
    }
    if (fd >= 0) {
        if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0)
            add(a, "state-root", MD_CHECK_OK, NULL, "%s is writable", path);
        else
            add(a, "state-root", MD_CHECK_ERROR, fix, "%s is not writable: %s", path,
                strerror(errno));
        return;
    }
    existing_ancestor(path, dir, sizeof(dir));
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
        add(a, "state-root", MD_CHECK_OK, NULL, "%s will be made in %s, which is writable", path,
            dir);
    else
        add(a, "state-root", MD_CHECK_ERROR, fix,
            "%s cannot be made: %s is not a writable "
            "directory",
            path, dir);
}

/* ------------------------------------------------------------ the run */

void md_check_env_current(struct md_check_env *env)
{
    memset(env, 0, sizeof(*env));
    md_id_caller_current(&env->caller);
    md_state_root_env_current(&env->root);
    env->rootless = env->root.euid != 0 || env->root.in_userns;
    env->proc_sys = "/proc/sys";
    env->proc_status = "/proc/self/status";
    env->path = getenv("PATH");
    env->dbus_address = getenv("DBUS_SESSION_BUS_ADDRESS");
    env->system_bus = "/run/dbus/system_bus_socket";
    env->systemd_private = "/run/systemd/private";
    env->probe_userns = md_check_probe_userns;
    env->probe_openat2 = md_check_probe_openat2;
    env->probe_cgroup = md_check_cgroup_probe;
}

int md_check_run(const struct md_check_env *env, struct md_check_report *out, md_error *err)
{
    memset(out, 0, sizeof(*out));
    struct adder a = {.r = out};
    check_userns_sysctls(env, &a);
    check_userns_probe(env, &a);
    check_helper(env, &a, "newuidmap");
    check_helper(env, &a, "newgidmap");
    check_subids(env, &a, "subuid", env->caller.subuid_file);
    check_subids(env, &a, "subgid", env->caller.subgid_file);
    check_cgroup(env, &a);
    check_systemd(env, &a);
    check_seccomp(env, &a);
    check_openat2(env, &a);
    check_slirp(env, &a);
    check_state_root(env, &a);
    if (a.failed) {
        md_check_report_free(out);
        return md_fail(err, ENOMEM, "check");
    }
    return 0;
}

/* ----------------------------------------------------------------- JSON */

static void gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

int md_check_report_json(const struct md_check_env *env, const struct md_check_report *r,
                         char **out, size_t *len, md_error *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return md_fail(err, ENOMEM, "check JSON");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
    yajl_gen_map_open(g);
    gen_str(g, "user");
    if (env->caller.name)
        gen_str(g, env->caller.name);
    else
        yajl_gen_null(g);
    gen_str(g, "uid");
    yajl_gen_integer(g, env->caller.uid);
    gen_str(g, "rootless");
    yajl_gen_bool(g, env->rootless);
    gen_str(g, "ok");
    yajl_gen_bool(g, md_check_report_ok(r));
    gen_str(g, "checks");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < r->n; i++) {
        const struct md_check_item *it = &r->items[i];
        yajl_gen_map_open(g);
        gen_str(g, "name");
        gen_str(g, it->name);
        gen_str(g, "status");
        gen_str(g, md_check_level_name(it->level));
        gen_str(g, "message");
        gen_str(g, it->msg);
        if (it->fix) {
            gen_str(g, "fix");
            gen_str(g, it->fix);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t n;
    int rc = 0;
    if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok || !(*out = malloc(n + 2))) {
        rc = md_fail(err, ENOMEM, "check JSON");
    } else {
        memcpy(*out, buf, n);
        if (n == 0 || buf[n - 1] != '\n')
            (*out)[n++] = '\n';
        (*out)[n] = '\0';
        *len = n;
    }
    yajl_gen_free(g);
    return rc;
}
