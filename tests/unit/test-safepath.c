/* test-safepath.c - paths resolved inside a root full of hostile symlinks
 * stay inside it, with openat2(2) and with the userspace fallback. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "safepath.h"

static char *base; /* the temporary directory */
static char *root; /* base/root: the root filesystem */
static int rootfd = -1;

static void mkdir_at(const char *rel)
{
    char *p = fx_fmt("%s/%s", base, rel);
    cr_assert(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
    free(p);
}

static void link_at(const char *rel, const char *target)
{
    char *p = fx_fmt("%s/%s", base, rel);
    cr_assert(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
    free(p);
}

static void write_at(const char *rel, const char *content)
{
    char *p = fx_fmt("%s/%s", base, rel);
    fx_write(p, content);
    free(p);
}

static bool exists_at(const char *rel)
{
    char *p = fx_fmt("%s/%s", base, rel);
    struct stat st;
    bool r = lstat(p, &st) == 0;
    free(p);
    return r;
}

/* A root full of traps, and a sibling "outside" that escapes would reach:
 *   root/x/             the target every escape should land on
 *   root/etc/hostname   "inside"
 *   root/d1/d2/         nested directories; d1/d2/rel -> ../../x
 *   root/f              a regular file
 *   root/evil -> /    root/up -> ../../..    root/abs -> /etc
 *   root/a -> b   root/b -> a
 *   root/out -> ../outside     root/dang -> /outside/deep   root/dangf -> ../outside/file
 *   outside/x/ outside/etc/hostname ("outside") */
static void setup(void)
{
    base = fx_tmpdir();
    root = fx_fmt("%s/root", base);
    mkdir_at("root");
    mkdir_at("root/x");
    mkdir_at("root/etc");
    write_at("root/etc/hostname", "inside");
    mkdir_at("root/d1");
    mkdir_at("root/d1/d2");
    link_at("root/d1/d2/rel", "../../x");
    write_at("root/f", "file");
    link_at("root/evil", "/");
    link_at("root/up", "../../..");
    link_at("root/abs", "/etc");
    link_at("root/a", "b");
    link_at("root/b", "a");
    link_at("root/out", "../outside");
    link_at("root/dang", "/outside/deep");
    link_at("root/dangf", "../outside/file");
    mkdir_at("outside");
    mkdir_at("outside/x");
    mkdir_at("outside/etc");
    write_at("outside/etc/hostname", "outside");
    rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(rootfd >= 0);
}

static void teardown(void)
{
    if (rootfd >= 0)
        close(rootfd);
    fx_rmtree(base);
    free(base);
    free(root);
}

/* fd is the inode at base/rel. */
static void assert_is(int fd, const char *rel)
{
    struct stat a, b;
    char *p = fx_fmt("%s/%s", base, rel);
    cr_assert(fstat(fd, &a) == 0);
    cr_assert(lstat(p, &b) == 0, "lstat %s: %s", p, strerror(errno));
    cr_assert(a.st_dev == b.st_dev && a.st_ino == b.st_ino, "resolved to another inode than %s", p);
    free(p);
}

static void assert_opens_to(const char *path, const char *rel)
{
    md_error err = {0};
    int fd = md_open_in_root(rootfd, path, O_PATH, &err);
    cr_assert(fd >= 0, "open %s: %s", path, err.msg);
    assert_is(fd, rel);
    close(fd);
}

static void assert_open_fails(const char *path, int errnum)
{
    md_error err = {0};
    int fd = md_open_in_root(rootfd, path, O_PATH, &err);
    cr_assert(fd < 0, "open %s should fail", path);
    cr_assert_eq(err.errnum, errnum, "open %s: %s (want %s)", path, err.msg, strerror(errnum));
    cr_assert(strstr(err.msg, path), "the message names the path: %s", err.msg);
    md_error_clear(&err);
}

static void escapes_stay_inside(void)
{
    assert_opens_to("evil/x", "root/x");
    assert_opens_to("/evil/x", "root/x");
    assert_opens_to("up/x", "root/x");
    assert_opens_to("up/up/evil/up/x", "root/x");
    assert_opens_to("abs/hostname", "root/etc/hostname");
    assert_opens_to("../../../x", "root/x");
    assert_opens_to("d1/../../../x", "root/x");
    assert_opens_to("d1/d2/../../x", "root/x");
    assert_opens_to("d1/d2/rel", "root/x");
    assert_opens_to("d1/d2/rel/../etc/hostname", "root/etc/hostname");
    assert_opens_to("evil", "root");
    assert_opens_to("/", "root");
    assert_opens_to("", "root");
    assert_opens_to("evil/..", "root");
    /* "out" is ../outside from the root: ".." stops at the root. */
    assert_open_fails("out", ENOENT);
    assert_open_fails("out/x", ENOENT);
}

static void reads_the_inside_file(void)
{
    md_error err = {0};
    int fd = md_open_in_root(rootfd, "/abs/../evil/etc/hostname", O_RDONLY, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    char buf[32] = {0};
    cr_assert(read(fd, buf, sizeof(buf) - 1) > 0);
    cr_assert_str_eq(buf, "inside");
    close(fd);
}

static void errors(void)
{
    assert_open_fails("a", ELOOP);
    assert_open_fails("a/x", ELOOP);
    assert_open_fails("f/x", ENOTDIR);
    assert_open_fails("f/", ENOTDIR);
    assert_open_fails("missing", ENOENT);
    assert_open_fails("x/missing/y", ENOENT);
    md_error err = {0};
    cr_assert(md_open_in_root(rootfd, "f", O_PATH | O_DIRECTORY, &err) < 0);
    cr_assert_eq(err.errnum, ENOTDIR, "%s", err.msg);
    md_error_clear(&err);
}

static int mkpath(const char *path, enum md_path_kind kind, md_error *err)
{
    return md_mkpath_in_root(rootfd, path, kind, err);
}

static void mkpath_stays_inside(void)
{
    md_error err = {0};
    int fd = mkpath("out/made/deeper", MD_PATH_DIR, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/outside/made/deeper");
    close(fd);
    cr_assert(!exists_at("outside/made"), "mkpath escaped the root");

    fd = mkpath("dang/z", MD_PATH_DIR, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/outside/deep/z");
    close(fd);
    cr_assert(!exists_at("outside/deep"), "mkpath escaped the root");

    fd = mkpath("up/evil/../new/file", MD_PATH_FILE, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/new/file");
    struct stat st;
    cr_assert(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    mode_t mask = umask(0);
    umask(mask);
    cr_assert_eq(st.st_mode & 07777, 0644 & ~mask);
    close(fd);
    cr_assert(!exists_at("new"), "mkpath escaped the root");

    /* A dangling symlink as the last component: its target is made. */
    fd = mkpath("/dangf", MD_PATH_FILE, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/outside/file");
    close(fd);
    cr_assert(!exists_at("outside/file"), "mkpath escaped the root");
}

static void mkpath_existing(void)
{
    md_error err = {0};
    int fd = mkpath("evil/x", MD_PATH_DIR, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/x");
    close(fd);
    fd = mkpath("abs/hostname", MD_PATH_FILE, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    assert_is(fd, "root/etc/hostname");
    close(fd);

    cr_assert(mkpath("f", MD_PATH_DIR, &err) < 0);
    cr_assert_eq(err.errnum, ENOTDIR, "%s", err.msg);
    cr_assert(mkpath("x", MD_PATH_FILE, &err) < 0);
    cr_assert_eq(err.errnum, EISDIR, "%s", err.msg);
    cr_assert(mkpath("f/sub", MD_PATH_DIR, &err) < 0);
    cr_assert_eq(err.errnum, ENOTDIR, "%s", err.msg);
    cr_assert(!exists_at("root/f/sub"));
    cr_assert(mkpath("a/sub", MD_PATH_DIR, &err) < 0);
    cr_assert_eq(err.errnum, ELOOP, "%s", err.msg);
    cr_assert(strstr(err.msg, "a/sub"), "%s", err.msg);
    md_error_clear(&err);
}

#define BOTH(name, body)                                           \
    Test(safepath_kernel, name, .init = setup, .fini = teardown)   \
    {                                                              \
        body();                                                    \
    }                                                              \
    Test(safepath_fallback, name, .init = setup, .fini = teardown) \
    {                                                              \
        md_safepath_force_fallback(true);                          \
        body();                                                    \
    }

BOTH(escapes_stay_inside, escapes_stay_inside)
BOTH(reads_the_inside_file, reads_the_inside_file)
BOTH(errors, errors)
BOTH(mkpath_stays_inside, mkpath_stays_inside)
BOTH(mkpath_existing, mkpath_existing)

/* Magic links of /proc lead to the object itself, wherever it is (the
 * CVE-2024-21626 cwd of /proc/self/fd/N): refused by both resolvers, while
 * procfs's plain "self" link still works.  The root here is the real "/",
 * the only one with a procfs in it. */
static void magic_links_are_refused(void)
{
    md_error err = {0};
    int slash = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(slash >= 0);
    char *fd_link = fx_fmt("/proc/self/fd/%d", rootfd);
    const char *const links[] = {fd_link, "/proc/self/cwd", "/proc/self/root/etc",
                                 "/proc/thread-self/fd/0"};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        cr_expect_lt(md_open_in_root(slash, links[i], O_PATH, &err), 0, "%s was followed",
                     links[i]);
        cr_expect_eq(err.errnum, ELOOP, "%s: %s", links[i], err.msg);
        md_error_clear(&err);
    }
    char *made = fx_fmt("%s/made", fd_link);
    cr_expect_lt(md_mkpath_in_root(slash, made, MD_PATH_DIR, &err), 0);
    cr_expect_eq(err.errnum, ELOOP, "%s", err.msg);
    md_error_clear(&err);
    cr_expect(!exists_at("root/made"), "made through the magic link");
    int fd = md_open_in_root(slash, "/proc/self/status", O_RDONLY, &err);
    cr_expect(fd >= 0, "%s", err.msg);
    if (fd >= 0)
        close(fd);
    md_error_clear(&err);
    free(made);
    free(fd_link);
    close(slash);
}

BOTH(magic_links_are_refused, magic_links_are_refused)

Test(safepath, fd_path)
{
    char buf[32];
    cr_assert_str_eq(md_fd_path(7, buf), "/proc/self/fd/7");
}
