/* test-rootfs.c - the container's filesystem, built for real in a child
 * process that unshares a user and a mount namespace (this works as root
 * and as an ordinary user), or only a mount namespace when run as root.
 *
 * The child builds a rootfs with md_rootfs_prepare/enter/console/finish,
 * checks what it sees from inside (its mountinfo, /dev, masked and
 * read-only paths) and reports failures over a pipe; it always _exits.
 * The parent then checks that the host saw nothing: no mount and no file
 * outside the temporary rootfs. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "rootfs.h"

/* ------------------------------------------------------ child reporting */

static int report_fd = -1;

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void child_fail(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dprintf(report_fd, "test-rootfs.c:%d: ", line);
    vdprintf(report_fd, fmt, ap);
    dprintf(report_fd, "\n");
    va_end(ap);
    _exit(1);
}

#define CHECK(cond, ...)                                           \
    do {                                                           \
        if (!(cond))                                               \
            child_fail(__LINE__, "CHECK(" #cond ") " __VA_ARGS__); \
    } while (0)

#define STEP(call)                                           \
    do {                                                     \
        md_error err_ = {0};                                 \
        if ((call) < 0)                                      \
            child_fail(__LINE__, "%s: %s", #call, err_.msg); \
    } while (0)
#define ERR (&err_)

/* ------------------------------------------------------------- the rootfs */

struct env {
    char *base;   /* the temporary directory: also the bundle */
    char *rootfs; /* base/rootfs */
    char escape[64], escape2[64];
    bool have_fuse, have_proc_keys, have_proc_acpi;
    char own_cgroup[512]; /* our memory (v1) or unified (v2) cgroup */
};

static void mkdir_p(struct env *e, const char *rel)
{
    char *p = fx_fmt("%s/%s", e->base, rel);
    cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
    free(p);
}

static void write_rel(struct env *e, const char *rel, const char *content)
{
    char *p = fx_fmt("%s/%s", e->base, rel);
    fx_write(p, content);
    free(p);
}

static void symlink_rel(struct env *e, const char *rel, const char *target)
{
    char *p = fx_fmt("%s/%s", e->base, rel);
    cr_assert(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
    free(p);
}

static bool exists_rel(struct env *e, const char *rel)
{
    char *p = fx_fmt("%s/%s", e->base, rel);
    struct stat st;
    bool r = lstat(p, &st) == 0;
    free(p);
    return r;
}

static bool cgroup2_host(void)
{
    struct statfs sfs;
    return statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270;
}

static void own_cgroup(char *out, size_t size)
{
    char *text = fx_read("/proc/self/cgroup", NULL);
    const char *key = cgroup2_host() ? "\n0::" : ":memory:";
    char *line = strstr(text, key);
    if (!line && cgroup2_host() && strncmp(text, "0::", 3) == 0)
        line = text - 1;
    cr_assert(line, "no %s in /proc/self/cgroup", key);
    line += strlen(key);
    snprintf(out, size, "%.*s", (int)strcspn(line, "\n"), line);
    free(text);
}

static void make_env(struct env *e)
{
    e->base = fx_tmpdir();
    e->rootfs = fx_fmt("%s/rootfs", e->base);
    snprintf(e->escape, sizeof(e->escape), "mdrun-escape-%d", (int)getpid());
    snprintf(e->escape2, sizeof(e->escape2), "mdrun-escape2-%d", (int)getpid());
    e->have_fuse = access("/dev/fuse", F_OK) == 0;
    e->have_proc_keys = access("/proc/keys", F_OK) == 0;
    e->have_proc_acpi = access("/proc/acpi", F_OK) == 0;
    own_cgroup(e->own_cgroup, sizeof(e->own_cgroup));
    const char *dirs[] = {"rootfs",           "rootfs/proc",          "rootfs/sys",
                          "rootfs/dev",       "rootfs/tmp",           "rootfs/etc",
                          "rootfs/etc/rodir", "rootfs/etc/secretdir", "rootfs/opt",
                          "rootfs/opt/copy",  "rootfs/opt/copy/sub",  "vol"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        mkdir_p(e, dirs[i]);
    write_rel(e, "rootfs/etc/hostname", "container\n");
    write_rel(e, "rootfs/etc/writable", "");
    write_rel(e, "rootfs/etc/secret", "secret");
    write_rel(e, "rootfs/etc/secretdir/inner", "inner");
    write_rel(e, "rootfs/etc/rodir/file", "ro");
    write_rel(e, "rootfs/opt/copy/a.txt", "copied");
    write_rel(e, "rootfs/opt/copy/sub/b.txt", "deep");
    symlink_rel(e, "rootfs/opt/copy/link", "a.txt");
    char *a = fx_fmt("%s/rootfs/opt/copy/a.txt", e->base);
    cr_assert(chmod(a, 0640) == 0);
    free(a);
    /* Hostile links: mounts through them must land inside the rootfs. */
    symlink_rel(e, "rootfs/evil", "/");
    symlink_rel(e, "rootfs/up", "../../..");
    write_rel(e, "vol/hello", "hello");
}

static void free_env(struct env *e)
{
    fx_rmtree(e->base);
    free(e->base);
    free(e->rootfs);
    e->base = e->rootfs = NULL;
}

/* Every test gets a fresh rootfs, removed even when the test fails. */
static struct env env;

static void setup(void)
{
    make_env(&env);
}

static void teardown(void)
{
    free_env(&env);
}

TestSuite(rootfs, .init = setup, .fini = teardown);

#define OPTS(...) (char *[]){__VA_ARGS__}, sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)
#define MNT(dest, type_, src, ...)                                                      \
    {                                                                                   \
        .destination = dest, .type = type_, .source = src, .options = OPTS(__VA_ARGS__) \
    }

/* ------------------------------------------------------------- mountinfo */

struct minfo {
    char root[512], point[512], opts[256], optional[256], fstype[64], super[512];
};

/* The topmost mount at point in our mountinfo. */
static bool find_mount(const char *point, struct minfo *out)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (fgets(line, sizeof(line), f)) {
        struct minfo m = {0};
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        *sep = '\0';
        int used = 0;
        if (sscanf(line, "%*s %*s %*s %511s %511s %255s %n", m.root, m.point, m.opts, &used) < 3)
            continue;
        snprintf(m.optional, sizeof(m.optional), "%s", line + used);
        if (sscanf(sep + 3, "%63s %*s %511s", m.fstype, m.super) < 2)
            continue;
        if (strcmp(m.point, point) == 0) {
            *out = m;
            found = true;
        }
    }
    fclose(f);
    return found;
}

static bool has_opt(const char *list, const char *opt);

/* Every mount at or below point (hidden ones too) is read-only. */
static const char *writable_under(const char *point)
{
    static char found[512];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    size_t len = strlen(point);
    found[0] = '\0';
    while (f && !found[0] && fgets(line, sizeof(line), f)) {
        char mp[512], opts[256];
        if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mp, opts) == 2 &&
            strncmp(mp, point, len) == 0 && (mp[len] == '/' || mp[len] == '\0') &&
            !has_opt(opts, "ro"))
            snprintf(found, sizeof(found), "%s", mp);
    }
    if (f)
        fclose(f);
    return found[0] ? found : NULL;
}

static bool has_opt(const char *list, const char *opt)
{
    size_t len = strlen(opt);
    for (const char *p = list; p && *p;) {
        const char *end = strchrnul(p, ',');
        if ((size_t)(end - p) == len && strncmp(p, opt, len) == 0)
            return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

#define CHECK_MOUNT(point, type, ...)                                                         \
    do {                                                                                      \
        struct minfo m_;                                                                      \
        CHECK(find_mount(point, &m_), "no mount at %s", point);                               \
        CHECK(strcmp(m_.fstype, type) == 0, "%s is %s, not %s", point, m_.fstype, type);      \
        const char *want_[] = {__VA_ARGS__};                                                  \
        for (size_t i_ = 0; i_ < sizeof(want_) / sizeof(want_[0]); i_++)                      \
            CHECK(has_opt(m_.opts, want_[i_]), "%s: no %s in %s", point, want_[i_], m_.opts); \
    } while (0)

/* ------------------------------------------------------------- the child */

enum mode {
    USERNS,      /* user + mount namespaces: proc, sysfs fall back to binds */
    USERNS_FULL, /* user, mount, pid, net, ipc, uts, cgroup namespaces */
    REAL_ROOT,   /* a mount namespace only, as real root: mknod works */
};

static void write_proc(const char *file, const char *text)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write %s: %s", file,
          strerror(errno));
    close(fd);
}

/* Enter the namespaces of mode; in a new pid namespace, fork so that the
 * rest runs as its pid 1 (the caller's process waits and passes on the
 * status). */
static void enter_namespaces(enum mode mode)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int flags = CLONE_NEWNS;
    if (mode != REAL_ROOT)
        flags |= CLONE_NEWUSER;
    if (mode == USERNS_FULL)
        flags |= CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
    CHECK(unshare(flags) == 0, "unshare: %s", strerror(errno));
    if (mode != REAL_ROOT) {
        char map[64];
        write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        write_proc("/proc/self/gid_map", map);
    }
    if (mode == USERNS_FULL) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid > 0) {
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            if (WIFSIGNALED(status))
                child_fail(__LINE__, "killed by signal %d", WTERMSIG(status));
            _exit(WEXITSTATUS(status));
        }
    }
}

typedef void (*child_fn)(struct env *e, enum mode mode);

/* Run fn in a child in the namespaces of mode; fail with its report. */
static void run_child(struct env *e, enum mode mode, child_fn fn)
{
    int p[2];
    cr_assert(pipe2(p, O_CLOEXEC) == 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        report_fd = p[1];
        enter_namespaces(mode);
        fn(e, mode);
        _exit(0);
    }
    close(p[1]);
    char buf[4096] = {0};
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(buf) - 1 && (n = read(p[0], buf + used, sizeof(buf) - 1 - used)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        used += (size_t)n;
    }
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (%s %d): %s",
              WIFEXITED(status) ? "exit" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
}

/* The start of a file's content, or "(error)" when it cannot be read. */
static const char *read_text(const char *path)
{
    static char buf[256];
    memset(buf, 0, sizeof(buf));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        snprintf(buf, sizeof(buf), "(%s)", strerror(errno));
    return buf;
}

/* Creating a file in dir fails with errnum. */
static int create_errno(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(path);
        return 0;
    }
    return errno;
}

/* The mounts of the main test: the default mounts of `runc spec`, binds,
 * tmpcopyup, hostile destinations (set by main_spec) and mqueue. */
static md_mount main_mounts[] = {
    MNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
    MNT("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
    MNT("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
        "mode=0620", "gid=5"),
    MNT("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
    MNT("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
    MNT("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"),
    MNT("/data", "none", "vol", "rbind", "ro", "nosuid"),
    MNT("/etc/hello-file", "none", "vol/hello", "bind", "ro"),
    MNT("/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "size=1m"),
    MNT("/opt/copy", "tmpfs", "tmpfs", "tmpcopyup"),
    MNT("escape", "tmpfs", "tmpfs", "nodev"),
    MNT("escape2", "tmpfs", "tmpfs", "nodev"),
    MNT("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
};

#define N_MAIN_MOUNTS (sizeof(main_mounts) / sizeof(main_mounts[0]))

/* The spec of the main test: main_mounts, devices, masked and read-only
 * paths. */
static void main_spec(struct env *e, enum mode mode, md_spec *spec, md_linux *lx)
{
    static char escape[128], escape2[128];
    snprintf(escape, sizeof(escape), "/evil/%s", e->escape);
    snprintf(escape2, sizeof(escape2), "/up/%s", e->escape2);
    main_mounts[N_MAIN_MOUNTS - 3].destination = escape;
    main_mounts[N_MAIN_MOUNTS - 2].destination = escape2;
    static md_device devices[] = {
        {.type = "c",
         .path = "/dev/fuse",
         .has_major = true,
         .major = 10,
         .has_minor = true,
         .minor = 229,
         .has_file_mode = true,
         .file_mode = 0600},
        {.type = "p", .path = "/run/fifo", .has_file_mode = true, .file_mode = 0640},
    };
    static char *masked[] = {"/proc/kcore", "/proc/keys",     "/proc/acpi",
                             "/etc/secret", "/etc/secretdir", "/no/such/path"};
    static char *readonly[] = {"/etc/rodir", "/proc/sys", "/no/such/dir"};
    static md_root root = {.path = "rootfs"};
    spec->root = &root;
    spec->mounts = main_mounts;
    /* An IPC namespace of our own is needed for mqueue (the last one). */
    spec->n_mounts = N_MAIN_MOUNTS - (mode == USERNS_FULL ? 0 : 1);
    spec->linux_ = lx;
    static md_namespace cgroupns[] = {{.type = "cgroup"}};
    if (mode == USERNS_FULL) {
        lx->namespaces = cgroupns;
        lx->n_namespaces = 1;
    }
    lx->devices = e->have_fuse ? devices : devices + 1;
    lx->n_devices = e->have_fuse ? 2 : 1;
    lx->masked_paths = masked;
    lx->n_masked_paths = sizeof(masked) / sizeof(masked[0]);
    lx->readonly_paths = readonly;
    lx->n_readonly_paths = 3;
}

static struct md_rootfs_plan plan_for(struct env *e, const md_spec *spec)
{
    return (struct md_rootfs_plan){
        .spec = spec,
        .bundle = e->base,
        .rootfs = e->rootfs,
        .rootless = geteuid() != 0,
    };
}

static void check_devices(struct env *e, enum mode mode)
{
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    const char *devs[] = {"/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"};
    for (size_t i = 0; i < 5; i++)
        CHECK(stat(devs[i], &st) == 0 && S_ISCHR(st.st_mode), "%s", devs[i]);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write /dev/null: %s", strerror(errno));
    close(fd);
    struct minfo m;
    if (mode == REAL_ROOT) {
        /* Made with mknod(2): not a mount, with the mode asked. */
        CHECK(!find_mount("/dev/null", &m), "/dev/null should be a node, not a bind");
        CHECK((st.st_mode & 07777) == 0666, "/dev/null mode %o", st.st_mode & 07777);
        CHECK(stat("/dev/fuse", &st) == 0 && (st.st_mode & 07777) == 0600 &&
              st.st_rdev == makedev(10, 229));
    } else {
        /* No mknod(2) in a user namespace: bound from the host. */
        CHECK(find_mount("/dev/null", &m), "/dev/null should be bound from the host");
        if (e->have_fuse)
            CHECK(stat("/dev/fuse", &st) == 0 && S_ISCHR(st.st_mode) &&
                  st.st_rdev == makedev(10, 229));
    }
    CHECK(stat("/run/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0640,
          "mode %o", st.st_mode);
    char link[64] = {0};
    CHECK(readlink("/dev/fd", link, sizeof(link) - 1) > 0 && strcmp(link, "/proc/self/fd") == 0);
    memset(link, 0, sizeof(link));
    CHECK(readlink("/dev/ptmx", link, sizeof(link) - 1) > 0 && strcmp(link, "pts/ptmx") == 0);
    memset(link, 0, sizeof(link));
    CHECK(readlink("/dev/stderr", link, sizeof(link) - 1) > 0 &&
          strcmp(link, "/proc/self/fd/2") == 0);
}

/* A pty of the container's devpts becomes /dev/console. */
static void check_console(void)
{
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    CHECK(master >= 0, "open /dev/ptmx: %s", strerror(errno));
    CHECK(grantpt(master) == 0 && unlockpt(master) == 0);
    char *name = ptsname(master);
    CHECK(name && strncmp(name, "/dev/pts/", 9) == 0, "%s", name ? name : "(null)");
    STEP(md_rootfs_console(name, ERR));
    struct stat a, b;
    CHECK(stat(name, &a) == 0 && stat("/dev/console", &b) == 0 && a.st_rdev == b.st_rdev);
    struct minfo m;
    CHECK(find_mount("/dev/console", &m) && strcmp(m.fstype, "devpts") == 0);
}

static void check_inside(struct env *e, enum mode mode)
{
    CHECK(strcmp(read_text("/etc/hostname"), "container\n") == 0, "not in the rootfs");
    CHECK_MOUNT("/proc", "proc", "nosuid", "nodev", "noexec");
    CHECK_MOUNT("/dev", "tmpfs", "nosuid");
    CHECK_MOUNT("/dev/pts", "devpts", "nosuid", "noexec");
    CHECK_MOUNT("/dev/shm", "tmpfs", "nosuid", "nodev", "noexec");
    CHECK_MOUNT("/sys", "sysfs", "ro", "nosuid", "nodev", "noexec");
    CHECK(!writable_under("/sys"), "%s is writable", writable_under("/sys"));
    const char *cg = cgroup2_host() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    if (cgroup2_host()) {
        CHECK_MOUNT("/sys/fs/cgroup", "cgroup2", "ro", "nosuid", "nodev", "noexec");
    } else {
        CHECK_MOUNT("/sys/fs/cgroup", "tmpfs", "ro", "nosuid", "nodev", "noexec");
        CHECK_MOUNT(cg, "cgroup", "ro", "nosuid", "nodev", "noexec");
        CHECK(access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0);
    }
    /* Our own cgroup, never the host's tree above it: in a cgroup
     * namespace as its root, otherwise bound from the host. */
    struct minfo m;
    CHECK(find_mount(cg, &m));
    if (mode == USERNS_FULL)
        CHECK(strcmp(m.root, "/") == 0, "%s shows %s", cg, m.root);
    else
        CHECK(strcmp(m.root, e->own_cgroup) == 0, "%s shows %s, not %s", cg, m.root, e->own_cgroup);
    CHECK_MOUNT("/data", "ext4", "ro", "nosuid");
    CHECK(strcmp(read_text("/data/hello"), "hello") == 0);
    CHECK(create_errno("/data/new") == EROFS);
    CHECK_MOUNT("/etc/hello-file", "ext4", "ro");
    CHECK(strcmp(read_text("/etc/hello-file"), "hello") == 0);
    CHECK_MOUNT("/tmp", "tmpfs", "nosuid", "nodev", "noexec");
    CHECK(find_mount("/tmp", &m) && has_opt(m.super, "size=1024k"), "%s", m.super);

    /* tmpcopyup: the content, its mode and links, on a tmpfs. */
    CHECK_MOUNT("/opt/copy", "tmpfs", "rw");
    CHECK(strcmp(read_text("/opt/copy/a.txt"), "copied") == 0);
    CHECK(strcmp(read_text("/opt/copy/sub/b.txt"), "deep") == 0);
    CHECK(strcmp(read_text("/opt/copy/link"), "copied") == 0);
    struct stat st;
    CHECK(lstat("/opt/copy/a.txt", &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK(lstat("/opt/copy/link", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(create_errno("/opt/copy/written-in-tmpfs") == 0);

    /* Hostile destinations landed inside. */
    char path[128];
    snprintf(path, sizeof(path), "/%s", e->escape);
    CHECK_MOUNT(path, "tmpfs", "nodev");
    snprintf(path, sizeof(path), "/%s", e->escape2);
    CHECK_MOUNT(path, "tmpfs", "nodev");

    if (mode == USERNS_FULL) {
        CHECK_MOUNT("/dev/mqueue", "mqueue", "nosuid");
        char self[16] = {0};
        CHECK(readlink("/proc/self", self, sizeof(self) - 1) > 0 && strcmp(self, "1") == 0,
              "/proc is not the pid namespace's: self is %s", self);
    }
    check_devices(e, mode);
    check_console();

    /* Masked paths: empty. */
    CHECK(strcmp(read_text("/etc/secret"), "") == 0, "/etc/secret is not masked");
    if (e->have_proc_keys)
        CHECK(strcmp(read_text("/proc/keys"), "") == 0, "/proc/keys is not masked");
    if (e->have_proc_acpi)
        CHECK_MOUNT("/proc/acpi", "tmpfs", "ro");
    CHECK(access("/etc/secretdir/inner", F_OK) < 0 && errno == ENOENT);
    CHECK_MOUNT("/etc/secretdir", "tmpfs", "ro");
    CHECK(create_errno("/etc/secretdir/x") == EROFS);

    /* Read-only paths refuse writes; the rest of the root does not. */
    CHECK_MOUNT("/etc/rodir", "ext4", "ro");
    CHECK(create_errno("/etc/rodir/new") == EROFS);
    CHECK(open("/etc/rodir/file", O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
    CHECK_MOUNT("/proc/sys", "proc", "ro", "nosuid", "nodev", "noexec");
    CHECK(create_errno("/etc/new-in-root") == 0, "the root should stay writable");
}

static void build_and_check(struct env *e, enum mode mode)
{
    md_spec spec = {0};
    md_linux lx = {0};
    main_spec(e, mode, &spec, &lx);
    struct md_rootfs_plan plan = plan_for(e, &spec);
    STEP(md_rootfs_prepare(&plan, ERR));
    STEP(md_rootfs_enter(&plan, ERR));
    STEP(md_rootfs_finish(&plan, ERR));
    check_inside(e, mode);
}

/* The host sees none of it. */
static void check_host(struct env *e, const char *mountinfo_before)
{
    char *after = fx_read("/proc/self/mountinfo", NULL);
    cr_assert(!strstr(after, e->base), "a mount leaked to the host:\n%s", after);
    cr_assert(!strstr(after, "mdrun-escape"), "a mount escaped to the host:\n%s", after);
    cr_assert_eq(fx_count_lines(after), fx_count_lines(mountinfo_before),
                 "the host's mount table changed:\n%s", after);
    free(after);
    char *p = fx_fmt("/%s", e->escape);
    cr_assert(access(p, F_OK) < 0, "%s was made outside the rootfs", p);
    free(p);
    p = fx_fmt("/%s", e->escape2);
    cr_assert(access(p, F_OK) < 0, "%s was made outside the rootfs", p);
    free(p);
    p = fx_fmt("rootfs/%s", e->escape);
    cr_assert(exists_rel(e, p), "%s should have been made in the rootfs", p);
    free(p);
    cr_assert(!exists_rel(e, "rootfs/opt/copy/written-in-tmpfs"));
}

static void run_main(enum mode mode)
{
    char *before = fx_read("/proc/self/mountinfo", NULL);
    run_child(&env, mode, build_and_check);
    check_host(&env, before);
    free(before);
}

Test(rootfs, user_namespace)
{
    run_main(USERNS);
}

Test(rootfs, user_namespace_with_pid_net_ipc)
{
    run_main(USERNS_FULL);
}

Test(rootfs, real_root_mknod)
{
    if (geteuid() != 0) {
        teardown(); /* a skipped test does not reach .fini */
        cr_skip_test("needs real root (mknod outside a user namespace)");
    }
    run_main(REAL_ROOT);
}

/* ------------------------------------------------- root.readonly, no_pivot */

static md_mount ro_mounts[] = {
    MNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
    MNT("/tmp", "tmpfs", "tmpfs", "nosuid"),
};

static void readonly_root(struct env *e, enum mode mode)
{
    md_root root = {.path = "rootfs", .readonly = true};
    md_linux lx = {.rootfs_propagation = "shared"};
    md_spec spec = {.root = &root, .mounts = ro_mounts, .n_mounts = 2, .linux_ = &lx};
    struct md_rootfs_plan plan = plan_for(e, &spec);
    plan.no_pivot = true;
    STEP(md_rootfs_prepare(&plan, ERR));
    STEP(md_rootfs_enter(&plan, ERR));
    STEP(md_rootfs_finish(&plan, ERR));
    CHECK(strcmp(read_text("/etc/hostname"), "container\n") == 0, "not in the rootfs");
    CHECK(create_errno("/etc/new") == EROFS, "the root should be read-only");
    CHECK(create_errno("/tmp/new") == 0, "/tmp should stay writable");
    struct minfo m;
    CHECK(find_mount("/", &m) && has_opt(m.opts, "ro"), "%s", m.opts);
    CHECK(strstr(m.optional, "shared:"), "rootfsPropagation shared: %s", m.optional);
    /* The default devices, without a tmpfs /dev, in the image's /dev. */
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
}

Test(rootfs, readonly_root_no_pivot_shared)
{
    char *before = fx_read("/proc/self/mountinfo", NULL);
    run_child(&env, USERNS, readonly_root);
    char *after = fx_read("/proc/self/mountinfo", NULL);
    cr_assert(!strstr(after, env.base), "a mount leaked to the host:\n%s", after);
    cr_assert_eq(fx_count_lines(after), fx_count_lines(before));
    free(before);
    free(after);
}

/* ----------------------------------------------------------- a bound /dev */

static md_mount hostdev_mounts[] = {
    MNT("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
    MNT("/dev", "bind", "/dev", "rbind", "nosuid"),
};

static void bound_dev(struct env *e, enum mode mode)
{
    md_root root = {.path = "rootfs"};
    md_device fifo = {.type = "p", .path = "/dev/mdrun-test-fifo"};
    md_linux lx = {.devices = &fifo, .n_devices = 1};
    md_spec spec = {.root = &root, .mounts = hostdev_mounts, .n_mounts = 2, .linux_ = &lx};
    struct md_rootfs_plan plan = plan_for(e, &spec);
    STEP(md_rootfs_prepare(&plan, ERR));
    STEP(md_rootfs_enter(&plan, ERR));
    STEP(md_rootfs_finish(&plan, ERR));
    CHECK_MOUNT("/dev", "devtmpfs", "nosuid");
    CHECK(access("/dev/mdrun-test-fifo", F_OK) < 0, "a device was made in the host's /dev");
}

/* The host's /dev, bound in, is not changed: no device, no link. */
Test(rootfs, bound_host_dev_is_left_alone)
{
    struct stat st;
    cr_assert(lstat("/dev/ptmx", &st) == 0);
    bool ptmx_node = S_ISCHR(st.st_mode);
    char *ls[] = {"ls", "-A", "/dev", NULL};
    struct fx_result before = fx_run(ls, NULL, NULL);
    run_child(&env, USERNS, bound_dev);
    struct fx_result after = fx_run(ls, NULL, NULL);
    cr_assert_str_eq(after.out, before.out, "the host's /dev changed");
    cr_assert(lstat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode) == ptmx_node);
    fx_result_free(&before);
    fx_result_free(&after);
}

/* ---------------------------------------------------------------- errors */

static void expect_error(struct env *e, md_spec *spec, const char *want)
{
    struct md_rootfs_plan plan = plan_for(e, spec);
    md_error err = {0};
    CHECK(md_rootfs_prepare(&plan, &err) < 0, "should fail with %s", want);
    CHECK(err.msg && strstr(err.msg, want), "message \"%s\", want \"%s\"", err.msg, want);
    md_error_clear(&err);
}

static void errors(struct env *e, enum mode mode)
{
    md_root root = {.path = "rootfs"};
    md_mount nofs[] = {MNT("/x", "mdrun-nofs", "none", "ro")};
    md_spec spec = {.root = &root, .mounts = nofs, .n_mounts = 1};
    expect_error(e, &spec, "mount /x (mdrun-nofs): No such device");

    md_mount nosrc[] = {MNT("/y", "none", "no-such-dir", "bind")};
    spec.mounts = nosrc;
    expect_error(e, &spec, "mount /y (bind): source ");

    /* A file where a directory is expected. */
    md_mount notdir[] = {MNT("/etc/hostname/sub", "tmpfs", "tmpfs", "ro")};
    spec.mounts = notdir;
    expect_error(e, &spec, "mount /etc/hostname/sub (tmpfs): create /etc/hostname/sub: Not a");

    /* A device where another kind of file is. */
    md_device dev = {.type = "c",
                     .path = "/etc/hostname",
                     .has_major = true,
                     .major = 1,
                     .has_minor = true,
                     .minor = 3};
    md_linux lx = {.devices = &dev, .n_devices = 1};
    spec.n_mounts = 0;
    spec.linux_ = &lx;
    expect_error(e, &spec, "device /etc/hostname: a file of another kind is in the way");
}

Test(rootfs, errors_name_what_failed)
{
    run_child(&env, USERNS, errors);
}
