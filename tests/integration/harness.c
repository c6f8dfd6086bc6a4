/* harness.c - busybox rootfs, bundles, contexts and running commands as
 * root or as the unprivileged test user (see harness.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <criterion/options.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "integration/harness.h"

/* What the runner process hands to the test processes it starts, through
 * their environment. */
#define ENV_RUN_DIR    "MDRUN_HX_DIR"        /* the per-run directory */
#define ENV_RUN_ERROR  "MDRUN_HX_ERROR"      /* why it could not be built */
#define ENV_USER_ERROR "MDRUN_HX_USER_ERROR" /* why the test user is missing */

#define DEFAULT_TIMEOUT 60

/* ------------------------------------------------------------------------
 * The runner side: build the rootfs once, report skips, clean up at the end.
 * These run in Criterion's runner process, outside any test, so they report
 * errors through the environment instead of failing assertions. */

static int setup_error(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int setup_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* mkdirat with an exact mode, whatever the umask. */
static int make_dir_at(int dirfd, const char *path, mode_t mode)
{
    if (mkdirat(dirfd, path, mode) < 0 && errno != EEXIST)
        return -1;
    return fchmodat(dirfd, path, mode, 0);
}

static int make_dir(const char *path, mode_t mode)
{
    return make_dir_at(AT_FDCWD, path, mode);
}

static const char *find_busybox(void)
{
    static const char *const candidates[] = {"/bin/busybox", "/usr/bin/busybox"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

/* A dynamically linked busybox cannot run in a rootfs without its libc:
 * refuse it here with a clear reason rather than let every container fail
 * with "no such file". */
static bool is_static_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    Elf64_Ehdr eh;
    bool ok = pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
              memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64;
    for (unsigned i = 0; ok && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t off = (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize);
        if (pread(fd, &ph, sizeof(ph), off) != (ssize_t)sizeof(ph) || ph.p_type == PT_INTERP)
            ok = false;
    }
    close(fd);
    return ok;
}

static int copy_file_at(const char *from, int dirfd, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = openat(dirfd, to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    if (n < 0)
        rc = -1;
    close(in);
    if (close(out) < 0)
        rc = -1;
    return rc < 0 ? -1 : fchmodat(dirfd, to, mode, 0);
}

static int write_text_at(int dirfd, const char *path, const char *text)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (close(fd) < 0 || n != (ssize_t)len)
        return -1;
    return fchmodat(dirfd, path, 0644, 0);
}

/* One symlink per applet in bin/, as `busybox --install -s` would make,
 * but relative so that they resolve inside the container. */
static int link_applets(const char *busybox, int rootfd, char *err, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s --list", busybox);
    FILE *p = popen(cmd, "re");
    if (!p)
        return setup_error(err, size, "%s: %s", cmd, strerror(errno));
    char name[200], link[256];
    int count = 0, rc = 0;
    while (fgets(name, sizeof(name), p)) {
        name[strcspn(name, "\n")] = '\0';
        /* "busybox" itself is in the list: linking it would replace the
         * binary with a symlink to itself. */
        if (!name[0] || strcmp(name, "busybox") == 0 || strchr(name, '/'))
            continue;
        snprintf(link, sizeof(link), "bin/%s", name);
        if (symlinkat("busybox", rootfd, link) < 0 && errno != EEXIST)
            rc = setup_error(err, size, "symlink %s: %s", link, strerror(errno));
        count++;
    }
    if (pclose(p) != 0 || count == 0)
        return setup_error(err, size, "%s gave no applets", cmd);
    return rc;
}

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/:/bin/false\n"
                                  "user:x:1000:1000:user:/tmp:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group_text[] = "root:x:0:\n"
                                 "daemon:x:1:\n"
                                 "users:x:100:user\n"
                                 "user:x:1000:\n"
                                 "nogroup:x:65534:\n";

/* The cached rootfs, filled through rootfd.  Every directory is
 * world-readable (even /root) so that a copy owned by root is usable by
 * the test user's containers too. */
static int fill_rootfs(int rootfd, char *err, size_t size)
{
    static const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {
        {"bin", 0755}, {"dev", 0755},      {"etc", 0755},  {"proc", 0755},
        {"sys", 0755}, {"tmp", 01777},     {"root", 0755}, {"run", 0755},
        {"var", 0755}, {"var/tmp", 01777}, {"home", 0755}, {"usr", 0755},
    };
    static const struct {
        const char *path, *target;
    } links[] = {
        {"sbin", "bin"},
        {"usr/bin", "../bin"},
        {"usr/sbin", "../bin"},
    };
    static const struct {
        const char *path, *text;
    } files[] = {
        {"etc/passwd", passwd_text},
        {"etc/group", group_text},
        {"etc/hostname", "mdrun-test\n"},
        {"etc/hosts", "127.0.0.1 localhost\n::1 localhost\n"},
    };
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (make_dir_at(rootfd, dirs[i].path, dirs[i].mode) < 0)
            return setup_error(err, size, "mkdir %s: %s", dirs[i].path, strerror(errno));
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlinkat(links[i].target, rootfd, links[i].path) < 0)
            return setup_error(err, size, "symlink %s: %s", links[i].path, strerror(errno));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (write_text_at(rootfd, files[i].path, files[i].text) < 0)
            return setup_error(err, size, "write %s: %s", files[i].path, strerror(errno));

    const char *busybox = find_busybox();
    if (!busybox)
        return setup_error(err, size, "busybox not found: apt-get install busybox-static");
    if (!is_static_elf(busybox))
        return setup_error(err, size, "%s is not statically linked: apt-get install busybox-static",
                           busybox);
    if (copy_file_at(busybox, rootfd, "bin/busybox", 0755) < 0)
        return setup_error(err, size, "copy %s: %s", busybox, strerror(errno));
    return link_applets(busybox, rootfd, err, size);
}

static const char *tmp_base(void)
{
    /* Not $TMPDIR: a developer's may sit in a 0700 home the test user
     * cannot enter. */
    const char *base = getenv("MDRUN_TEST_TMPDIR");
    return base && *base ? base : "/tmp";
}

static int build_run_dir(char *err, size_t size)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/mdrun-hx.XXXXXX", tmp_base());
    if (!mkdtemp(dir))
        return setup_error(err, size, "mkdtemp %s: %s", dir, strerror(errno));
    setenv(ENV_RUN_DIR, dir, 1);
    if (chmod(dir, 0755) < 0)
        return setup_error(err, size, "chmod %s: %s", dir, strerror(errno));
    int dirfd = open(dir, O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || make_dir_at(dirfd, "rootfs", 0755) < 0)
        return setup_error(err, size, "mkdir %s/rootfs: %s", dir, strerror(errno));
    int rootfd = openat(dirfd, "rootfs", O_DIRECTORY | O_CLOEXEC);
    close(dirfd);
    if (rootfd < 0)
        return setup_error(err, size, "open %s/rootfs: %s", dir, strerror(errno));
    int rc = fill_rootfs(rootfd, err, size);
    close(rootfd);
    return rc;
}

/* tests/setup-test-user.sh: create mdrun-test with subordinate ids. */
static int setup_test_user(char *err, size_t size)
{
    const char *src = getenv("MDRUN_SRCDIR");
    if (!src)
        return setup_error(err, size, "MDRUN_SRCDIR is not set: run the tests with make check");
    char script[4200];
    snprintf(script, sizeof(script), "%s/tests/setup-test-user.sh", src);
    pid_t pid = fork();
    if (pid < 0)
        return setup_error(err, size, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Its one line of success goes nowhere; its errors to the log. */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execl("/bin/sh", "sh", script, HX_TEST_USER, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return setup_error(err, size, "%s failed (status %d): see its message above", script,
                           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

static size_t skipped_tests;

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    char err[1024];
    if (build_run_dir(err, sizeof(err)) < 0)
        setenv(ENV_RUN_ERROR, err, 1);
    if (geteuid() == 0 && setup_test_user(err, sizeof(err)) < 0)
        setenv(ENV_USER_ERROR, err, 1);
}

/* Criterion names skipped tests only at --verbose: name them always, with
 * the reason, so that a log never hides what did not run. */
ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
    if (stats->test_status != CR_STATUS_SKIPPED)
        return;
    skipped_tests++;
    if (criterion_options.logging_threshold > CRITERION_INFO)
        fprintf(stderr, "[SKIP] %s::%s: %s\n", stats->test->category, stats->test->name,
                stats->message ? stats->message : "skipped");
}

static void detach_mounts_under(const char *path);

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    const char *dir = getenv(ENV_RUN_DIR);
    if (dir) {
        detach_mounts_under(dir);
        fx_rmtree(dir);
        if (access(dir, F_OK) == 0)
            fprintf(stderr, "[WARN] harness: could not remove %s\n", dir);
    }
    if (skipped_tests > 0)
        fprintf(stderr, "[====] Skipped: %zu test%s (reasons above)\n", skipped_tests,
                skipped_tests == 1 ? "" : "s");
}

/* ------------------------------------------------------------------------
 * The test side. */

void hx_skip(const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    criterion_skip_test("%s", reason);
}

void hx_require_root(void)
{
    if (geteuid() != 0)
        hx_skip("needs root: run the integration tests as root (sudo make check)");
}

static const char *run_dir(void)
{
    const char *err = getenv(ENV_RUN_ERROR);
    cr_assert(!err, "harness setup failed: %s", err);
    const char *dir = getenv(ENV_RUN_DIR);
    cr_assert(dir, "harness: %s is not set (the PRE_ALL hook did not run)", ENV_RUN_DIR);
    return dir;
}

const char *hx_rootfs(void)
{
    static char *rootfs;
    if (!rootfs)
        rootfs = fx_fmt("%s/rootfs", run_dir());
    return rootfs;
}

const char *hx_mdrun_bin(void)
{
    const char *bin = getenv("MDRUN_BIN");
    cr_assert(bin && *bin, "MDRUN_BIN is not set: run the tests through `make check`");
    return bin;
}

/* Contexts still alive in this test process, freed at exit so that a
 * failed assertion (which ends the test early) leaves nothing behind. */
static struct hx_ctx *live[8];

static void free_live_contexts(void)
{
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (live[i])
            hx_ctx_free(live[i]);
}

static void track(struct hx_ctx *c)
{
    static bool registered;
    if (!registered) {
        atexit(free_live_contexts);
        registered = true;
    }
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (!live[i]) {
            live[i] = c;
            return;
        }
    cr_assert_fail("harness: more than %zu contexts in one test", sizeof(live) / sizeof(live[0]));
}

static char *owned_dir(const struct hx_ctx *c, const char *name, mode_t mode)
{
    char *path = fx_fmt("%s/%s", c->dir, name);
    cr_assert(make_dir(path, mode) == 0, "mkdir %s: %s", path, strerror(errno));
    cr_assert(lchown(path, c->uid, c->gid) == 0, "chown %s: %s", path, strerror(errno));
    return path;
}

struct hx_ctx *hx_ctx_new(enum hx_who who)
{
    if (who == HX_ROOT)
        hx_require_root();
    const char *base = run_dir();
    struct hx_ctx *c = calloc(1, sizeof(*c));
    cr_assert(c);
    c->who = who;
    c->uid = geteuid();
    c->gid = getegid();
    if (who == HX_USER && geteuid() == 0) {
        const char *err = getenv(ENV_USER_ERROR);
        cr_assert(!err, "test user: %s", err);
        struct passwd *pw = getpwnam(HX_TEST_USER);
        cr_assert(pw, "user %s does not exist: run tests/setup-test-user.sh as root", HX_TEST_USER);
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
    }
    c->dir = fx_fmt("%s/t.XXXXXX", base);
    cr_assert(mkdtemp(c->dir), "mkdtemp %s: %s", c->dir, strerror(errno));
    cr_assert(chmod(c->dir, 0755) == 0);
    track(c);
    c->root = owned_dir(c, "state", 0700);
    c->home = owned_dir(c, "home", 0700);
    if (who == HX_USER)
        c->xdg = owned_dir(c, "xdg", 0700);
    return c;
}

static void detach_mounts_under(const char *path)
{
    char **mounts;
    size_t n = hx_mounts_under(path, &mounts);
    /* Deepest (latest) first. */
    while (n > 0)
        if (umount2(mounts[--n], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            fprintf(stderr, "[WARN] harness: umount %s: %s\n", mounts[n], strerror(errno));
    hx_strv_free(mounts);
}

void hx_ctx_free(struct hx_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
        if (live[i] == c)
            live[i] = NULL;
    if (c->dir) {
        detach_mounts_under(c->dir);
        fx_rmtree(c->dir);
    }
    for (size_t i = 0; i < c->n_bundles; i++)
        free(c->bundles[i]);
    free(c->dir);
    free(c->root);
    free(c->home);
    free(c->xdg);
    free(c);
}

/* ------------------------------------------------------------------------
 * Running commands. */

static void env_push(char ***env, size_t *n, char *entry)
{
    *env = realloc(*env, (*n + 2) * sizeof(**env));
    cr_assert(*env);
    (*env)[(*n)++] = entry;
    (*env)[*n] = NULL;
}

/* Set or unset ("NAME" alone) one variable in a built environment. */
static void env_apply(char ***env, size_t *n, const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t name_len = eq ? (size_t)(eq - entry) : strlen(entry);
    for (size_t i = 0; i < *n; i++) {
        if (strncmp((*env)[i], entry, name_len) != 0 || (*env)[i][name_len] != '=')
            continue;
        free((*env)[i]);
        (*env)[i] = (*env)[--*n];
        (*env)[*n] = NULL;
        break;
    }
    if (eq)
        env_push(env, n, strdup(entry));
}

/* PATH with the sbin directories (runc is /usr/sbin/runc), which a user's
 * own PATH often lacks. */
static char *child_path(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    char *full = fx_fmt("PATH=%s", path);
    static const char *const sbins[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};
    for (size_t i = 0; i < sizeof(sbins) / sizeof(sbins[0]); i++) {
        char *padded = fx_fmt(":%s:", full + strlen("PATH="));
        char *needle = fx_fmt(":%s:", sbins[i]);
        if (!strstr(padded, needle)) {
            char *longer = fx_fmt("%s:%s", full, sbins[i]);
            free(full);
            full = longer;
        }
        free(padded);
        free(needle);
    }
    return full;
}

static char **child_env(const struct hx_ctx *c, const char *const *extra)
{
    /* The sanitizer options reach an instrumented mdrun. */
    static const char *const kept[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **env = calloc(1, sizeof(*env));
    size_t n = 0;
    cr_assert(env);
    env_push(&env, &n, child_path());
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        const char *v = getenv(kept[i]);
        if (v)
            env_push(&env, &n, fx_fmt("%s=%s", kept[i], v));
    }
    struct passwd *pw = getpwuid(c->uid);
    const char *name = pw ? pw->pw_name : "unknown";
    env_push(&env, &n, fx_fmt("HOME=%s", c->home));
    env_push(&env, &n, fx_fmt("USER=%s", name));
    env_push(&env, &n, fx_fmt("LOGNAME=%s", name));
    if (c->xdg)
        env_push(&env, &n, fx_fmt("XDG_RUNTIME_DIR=%s", c->xdg));
    for (size_t i = 0; extra && extra[i]; i++)
        env_apply(&env, &n, extra[i]);
    return env;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* argv0 searched in path (the child's), as execvp would; a name not found
 * is returned as is, for exec to report. */
static char *find_program(const char *argv0, const char *path)
{
    if (strchr(argv0, '/'))
        return strdup(argv0);
    char *dirs = strdup(path), *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *candidate = fx_fmt("%s/%s", *dir ? dir : ".", argv0);
        if (access(candidate, X_OK) == 0) {
            free(dirs);
            return candidate;
        }
        free(candidate);
    }
    free(dirs);
    return strdup(argv0);
}

/* In the child, after fork: become who and exec.  Only async-signal-safe
 * calls and plain writes to stderr (fd 2 is the capture pipe). */
static void __attribute__((noreturn))
child_exec(const struct hx_ctx *c, const char *cwd, char **env, const char *program,
           const char *const argv[])
{
    setpgid(0, 0);
    if (c->who == HX_USER && geteuid() == 0) {
        if (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0) {
            dprintf(2, "hx_run: become uid %u: %s\n", (unsigned)c->uid, strerror(errno));
            _exit(126);
        }
    }
    /* Set after the credential change, which clears it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (chdir(cwd) < 0) {
        dprintf(2, "hx_run: chdir %s: %s\n", cwd, strerror(errno));
        _exit(126);
    }
    /* Criterion's own descriptors must not reach mdrun or a container. */
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    signal(SIGPIPE, SIG_DFL);
    execve(program, (char *const *)argv, env);
    dprintf(2, "hx_run: exec %s: %s\n", program, strerror(errno));
    _exit(127);
}

struct sink {
    int fd;
    char *buf;
    size_t len, cap;
};

static void sink_init(struct sink *s, int fd)
{
    s->fd = fd;
    s->cap = 4096;
    s->len = 0;
    s->buf = malloc(s->cap);
    cr_assert(s->buf);
    s->buf[0] = '\0';
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Read what is there now; close at end of file. */
static void sink_read(struct sink *s)
{
    while (s->fd >= 0) {
        if (s->cap - s->len < 4096) {
            s->cap *= 2;
            s->buf = realloc(s->buf, s->cap);
            cr_assert(s->buf);
        }
        ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
        if (n > 0) {
            s->len += (size_t)n;
            s->buf[s->len] = '\0';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || errno != EAGAIN) {
            close(s->fd);
            s->fd = -1;
        }
        return;
    }
}

long long hx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Feeds the child's stdin without blocking. */
struct feed {
    int fd;
    const char *data;
    size_t left;
};

static void feed_write(struct feed *f)
{
    ssize_t n = write(f->fd, f->data, f->left);
    if (n > 0) {
        f->data += n;
        f->left -= (size_t)n;
    }
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || f->left == 0) {
        close(f->fd);
        f->fd = -1;
    }
}

/* Fork the child with its three pipes; returns its pid. */
static pid_t spawn(struct hx_ctx *c, const struct hx_cmd *cmd, const char *const argv[],
                   struct feed *in, struct sink *out, struct sink *err)
{
    char **env = child_env(c, cmd->env);
    const char *path = "";
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            path = env[i] + 5;
    char *program = find_program(argv[0], path);
    int pin[2], pout[2], perr[2];
    cr_assert(pipe2(pin, O_CLOEXEC) == 0 && pipe2(pout, O_CLOEXEC) == 0 &&
              pipe2(perr, O_CLOEXEC) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        child_exec(c, cmd->cwd ? cmd->cwd : c->dir, env, program, argv);
    }
    free_strv(env);
    free(program);
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    in->fd = pin[1];
    in->data = cmd->input ? cmd->input : "";
    in->left = strlen(in->data);
    if (in->left == 0) {
        close(in->fd);
        in->fd = -1;
    } else {
        fcntl(in->fd, F_SETFL, fcntl(in->fd, F_GETFL) | O_NONBLOCK);
    }
    sink_init(out, pout[0]);
    sink_init(err, perr[0]);
    return pid;
}

/* Pump the pipes until the child exits (not until its output ends: a
 * container it started may keep stdout open); kill its process group at
 * the deadline.  Returns the wait status. */
static int pump(pid_t pid, unsigned timeout, struct feed *in, struct sink *out, struct sink *err,
                bool *timed_out)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    long long deadline = hx_now_ms() + 1000LL * timeout;
    int status = 0;
    *timed_out = false;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        long long left = deadline - hx_now_ms();
        if (left <= 0 && !*timed_out) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            *timed_out = true;
        }
        /* The pidfd wakes us when the child exits; without one, or once
         * it was killed, look every 20 ms. */
        long long wait = pidfd >= 0 && !*timed_out ? 1000 : 20;
        if (!*timed_out && left < wait)
            wait = left;
        struct pollfd p[4] = {
            {out->fd, POLLIN, 0}, {err->fd, POLLIN, 0}, {pidfd, POLLIN, 0}, {in->fd, POLLOUT, 0}};
        if (poll(p, 4, (int)wait) < 0 && errno != EINTR)
            cr_assert_fail("poll: %s", strerror(errno));
        if (p[3].revents & (POLLOUT | POLLERR | POLLHUP))
            feed_write(in);
        sink_read(out);
        sink_read(err);
    }
    /* What the child wrote before it exited is in the pipes now. */
    sink_read(out);
    sink_read(err);
    int fds[] = {out->fd, err->fd, in->fd, pidfd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return status;
}

struct fx_result hx_run(struct hx_ctx *c, const struct hx_cmd *cmd, const char *const argv[])
{
    static const struct hx_cmd none = {0};
    if (!cmd)
        cmd = &none;
    cr_assert(c && argv && argv[0]);
    unsigned timeout = cmd->timeout ? cmd->timeout : DEFAULT_TIMEOUT;
    struct feed in;
    struct sink out, err;
    pid_t pid = spawn(c, cmd, argv, &in, &out, &err);
    bool timed_out;
    int status = pump(pid, timeout, &in, &out, &err, &timed_out);

    struct fx_result r = {0};
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = out.buf;
    r.err = err.buf;
    if (timed_out) {
        r.err = fx_fmt("%shx_run: %s killed after %u s\n", err.buf, argv[0], timeout);
        free(err.buf);
    }
    return r;
}

struct fx_result hx_mdrun(struct hx_ctx *c, const char *cwd, ...)
{
    const char *argv[64] = {hx_mdrun_bin(), "--root", c->root};
    size_t n = 3;
    va_list ap;
    va_start(ap, cwd);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        cr_assert(n < sizeof(argv) / sizeof(argv[0]) - 1, "hx_mdrun: too many arguments");
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n] = NULL;
    return hx_run(c, &(struct hx_cmd){.cwd = cwd}, argv);
}

/* ------------------------------------------------------------------------
 * Bundles and their config.json. */

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

static void chown_tree(const char *path, uid_t uid, gid_t gid)
{
    chown_uid = uid;
    chown_gid = gid;
    cr_assert(nftw(path, chown_one, 32, FTW_PHYS | FTW_MOUNT) == 0, "chown -R %s: %s", path,
              strerror(errno));
}

char *hx_bundle_file(const char *bundle, const char *name)
{
    return fx_fmt("%s/%s", bundle, name);
}

const char *hx_bundle_new(struct hx_ctx *c, unsigned flags)
{
    cr_assert(c->n_bundles < sizeof(c->bundles) / sizeof(c->bundles[0]), "too many bundles");
    char *name = fx_fmt("bundle-%zu", c->n_bundles);
    char *bundle = owned_dir(c, name, 0755);
    free(name);
    c->bundles[c->n_bundles++] = bundle;

    if (!(flags & HX_BUNDLE_NO_ROOTFS)) {
        /* Copied by the harness itself (as root the cache's /root would
         * otherwise need to be readable), then given to who. */
        char *rootfs = hx_bundle_file(bundle, "rootfs");
        char *const cp[] = {"cp", "-a", (char *)hx_rootfs(), rootfs, NULL};
        struct fx_result r = fx_run(cp, NULL, NULL);
        cr_assert(r.status == 0, "cp -a %s %s: %s", hx_rootfs(), rootfs, r.err);
        fx_result_free(&r);
        if (!(flags & HX_BUNDLE_ROOT_ROOTFS) && (c->uid != geteuid() || c->gid != getegid()))
            chown_tree(rootfs, c->uid, c->gid);
        free(rootfs);
    }
    if (!(flags & HX_BUNDLE_NO_CONFIG)) {
        struct fx_result r = flags & HX_BUNDLE_ROOTLESS
                                 ? hx_mdrun(c, bundle, "spec", "--rootless", NULL)
                                 : hx_mdrun(c, bundle, "spec", NULL);
        cr_assert(r.status == 0, "mdrun spec%s in %s failed (exit %d): %s",
                  flags & HX_BUNDLE_ROOTLESS ? " --rootless" : "", bundle, r.status, r.err);
        fx_result_free(&r);
        char *config = hx_bundle_file(bundle, "config.json");
        cr_assert(access(config, F_OK) == 0, "mdrun spec wrote no %s", config);
        free(config);
    }
    return bundle;
}

md_spec *hx_spec_load(const char *bundle)
{
    char *path = hx_bundle_file(bundle, "config.json");
    md_spec *spec = NULL;
    md_errors problems = {0};
    int rc = md_spec_load_file(path, &spec, &problems);
    cr_assert(rc == 0 && spec, "load %s: %s%s", path, problems.n ? problems.msgs[0] : "failed",
              problems.n > 1 ? " (and more)" : "");
    md_errors_clear(&problems);
    free(path);
    return spec;
}

void hx_spec_save(const char *bundle, const md_spec *spec)
{
    char *json = NULL;
    size_t len = 0;
    md_error err = {0};
    cr_assert(md_spec_to_json(spec, &json, &len, &err) == 0, "serialize config.json: %s", err.msg);
    char *path = hx_bundle_file(bundle, "config.json");
    fx_write(path, json);
    struct stat st;
    cr_assert(stat(bundle, &st) == 0 && lchown(path, st.st_uid, st.st_gid) == 0, "chown %s", path);
    free(path);
    free(json);
}

static md_process *process_of(md_spec *spec)
{
    if (!spec->process) {
        spec->process = calloc(1, sizeof(*spec->process));
        cr_assert(spec->process);
    }
    return spec->process;
}

static void set_strv(char ***v, size_t *n, va_list ap)
{
    md_strv_free(*v, *n);
    *v = NULL;
    *n = 0;
    const char *s;
    while ((s = va_arg(ap, const char *)) != NULL)
        cr_assert(md_strv_push(v, n, s) == 0, "out of memory");
}

void hx_spec_set_args(md_spec *spec, ...)
{
    md_process *p = process_of(spec);
    va_list ap;
    va_start(ap, spec);
    set_strv(&p->args, &p->n_args, ap);
    va_end(ap);
}

void hx_spec_set_env(md_spec *spec, ...)
{
    md_process *p = process_of(spec);
    va_list ap;
    va_start(ap, spec);
    set_strv(&p->env, &p->n_env, ap);
    va_end(ap);
}

void hx_bundle_set_args(const char *bundle, ...)
{
    md_spec *spec = hx_spec_load(bundle);
    md_process *p = process_of(spec);
    va_list ap;
    va_start(ap, bundle);
    set_strv(&p->args, &p->n_args, ap);
    va_end(ap);
    p->terminal = false;
    hx_spec_save(bundle, spec);
    md_spec_free(spec);
}

/* ------------------------------------------------------------------------
 * What a test leaves behind. */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

size_t hx_mounts_under(const char *path, char ***out)
{
    char *real = realpath(path, NULL);
    const char *base = real ? real : path;
    size_t base_len = strlen(base);
    char **v = calloc(1, sizeof(*v));
    size_t n = 0;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        /* id parent major:minor root MOUNTPOINT options ... */
        char *save = NULL, *field = strtok_r(line, " ", &save);
        for (int i = 0; field && i < 4; i++)
            field = strtok_r(NULL, " ", &save);
        if (!field)
            continue;
        unescape_octal(field);
        if (strncmp(field, base, base_len) != 0 ||
            (field[base_len] != '\0' && field[base_len] != '/'))
            continue;
        v = realloc(v, (n + 2) * sizeof(*v));
        v[n++] = strdup(field);
        v[n] = NULL;
    }
    free(line);
    if (f)
        fclose(f);
    free(real);
    *out = v;
    return n;
}

void hx_strv_free(char **v)
{
    free_strv(v);
}

bool hx_pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    char buf[512] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold spaces and parentheses. */
    char *paren = strrchr(buf, ')');
    if (!paren || paren[1] != ' ')
        return false;
    return paren[2] != 'Z' && paren[2] != 'X';
}

bool hx_state_exists(struct hx_ctx *c, const char *id)
{
    char *path = fx_fmt("%s/%s", c->root, id);
    struct stat st;
    bool exists = lstat(path, &st) == 0;
    free(path);
    return exists;
}

void hx_assert_clean(struct hx_ctx *c)
{
    char **mounts;
    size_t n = hx_mounts_under(c->dir, &mounts);
    cr_expect(n == 0, "%zu mount(s) left under %s, first %s", n, c->dir, n ? mounts[0] : "");
    hx_strv_free(mounts);

    DIR *d = opendir(c->root);
    if (!d)
        return; /* no state root at all: nothing in it */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        cr_expect_fail("container state left behind: %s/%s", c->root, e->d_name);
    }
    closedir(d);
}

char *hx_id(const char *prefix)
{
    return fx_fmt("%s-%d", prefix, (int)getpid());
}
