/* test-state.c - the state root, container ids and directories, the status
 * record, the derived status with real processes, and the state JSON. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "error.h"
#include "fixture.h"
#include "state.h"

/* ------------------------------------------------------------- helpers */

static char *tmp; /* a fresh directory for each test */
static int rootfd = -1;

static void setup(void)
{
    tmp = fx_tmpdir();
    rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert(rootfd >= 0);
}

static void teardown(void)
{
    if (rootfd >= 0)
        close(rootfd);
    fx_rmtree(tmp);
    free(tmp);
}

/* tmp/rel, in one of a few rotating buffers (no allocation to leak). */
static const char *at(const char *rel)
{
    static char bufs[4][4096];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof(bufs[0]), "%s/%s", tmp, rel);
    return buf;
}

static void expect_error(int rc, md_error *err, const char *needle)
{
    cr_assert_lt(rc, 0, "expected a failure containing \"%s\"", needle);
    cr_assert(err->msg && strstr(err->msg, needle), "\"%s\" does not contain \"%s\"",
              err->msg ? err->msg : "(null)", needle);
    cr_assert_null(strchr(err->msg, '\n'), "message is not one line: %s", err->msg);
    md_error_clear(err);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    cr_assert(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

/* A child that sleeps until killed, or until this test process dies. */
static pid_t spawn_sleeper(void)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(60);
        for (;;)
            pause();
    }
    return pid;
}

static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* Wait until pid is a zombie (killed, not reaped). */
static void wait_zombie(pid_t pid)
{
    for (int i = 0; i < 500; i++) {
        char state;
        uint64_t start;
        if (md_proc_stat(pid, &state, &start) == 0 && state == 'Z')
            return;
        usleep(10000);
    }
    cr_assert_fail("process %d did not become a zombie", (int)pid);
}

/* Make <root>/<id> with a record for pid (its real start time plus skew). */
static int make_container(const char *id, pid_t pid, int64_t skew)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, id, &err);
    cr_assert_geq(cfd, 0, "%s", err.msg);
    md_state_record rec = {0};
    rec.id = (char *)id;
    rec.bundle = "/b";
    rec.pid = pid;
    if (pid > 0) {
        char state;
        cr_assert_eq(md_proc_stat(pid, &state, &rec.start_time), 0);
        rec.start_time += (uint64_t)skew;
    }
    rec.owner = geteuid();
    cr_assert_eq(md_state_record_write(cfd, &rec, NULL, &err), 0, "%s", err.msg);
    return cfd;
}

static enum md_status status_of(const char *id)
{
    md_error err = {0};
    md_state_info info;
    cr_assert_eq(md_state_load(rootfd, id, &info, &err), 0, "%s", err.msg);
    enum md_status st = info.status;
    md_state_info_free(&info);
    return st;
}

#define assert_status(id, want) \
    cr_assert_str_eq(md_status_name(status_of(id)), md_status_name(want))

/* ------------------------------------------------------------------ ids */

Test(state_id, accepts_good_ids)
{
    md_error err = {0};
    const char *good[] = {
        "a",  "abc-DEF_1.2+3", "...",
        ".a", "a..b",          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert_eq(md_id_validate(good[i], &err), 0, "%s: %s", good[i], err.msg);
    char *max = calloc(1, MD_ID_MAX + 1);
    memset(max, 'x', MD_ID_MAX);
    cr_assert_eq(md_id_validate(max, &err), 0, "1024 bytes: %s", err.msg);
    free(max);
}

Test(state_id, refuses_bad_ids)
{
    md_error err = {0};
    expect_error(md_id_validate("", &err), &err, "must not be empty");
    expect_error(md_id_validate(NULL, &err), &err, "must not be empty");
    expect_error(md_id_validate(".", &err), &err, "\".\" and \"..\" are not allowed");
    expect_error(md_id_validate("..", &err), &err, "\".\" and \"..\" are not allowed");
    expect_error(md_id_validate("a/b", &err), &err,
                 "invalid container id \"a/b\": only letters, digits and _+-. are allowed");
    expect_error(md_id_validate("/", &err), &err, "only letters");
    expect_error(md_id_validate("a b", &err), &err, "only letters");
    expect_error(md_id_validate("caf\xc3\xa9", &err), &err, "\"caf\\xc3\\xa9\"");
    expect_error(md_id_validate("a\nb", &err), &err, "\"a\\x0ab\"");
    expect_error(md_id_validate("a~b", &err), &err, "only letters");
    char *long_id = calloc(1, MD_ID_MAX + 2);
    memset(long_id, 'x', MD_ID_MAX + 1);
    expect_error(md_id_validate(long_id, &err), &err, "longer than 1024 bytes");
    free(long_id);
}

Test(state_id, error_carries_einval)
{
    md_error err = {0};
    cr_assert_lt(md_id_validate("a/b", &err), 0);
    cr_assert_eq(err.errnum, EINVAL);
    cr_assert_null(strstr(err.msg, "Invalid argument"), "strerror in message: %s", err.msg);
    md_error_clear(&err);
}

/* ----------------------------------------------------------------- root */

/* An environment whose directories all live under tmp. */
static struct md_root_env test_env(uid_t euid)
{
    struct md_root_env env = {
        .euid = euid,
        .in_userns = false,
        .user = "someone",
        .xdg_runtime_dir = NULL,
        .system_root = fx_fmt("%s/run/mdrun", tmp),
        .run_user = fx_fmt("%s/run/user", tmp),
        .tmp = fx_fmt("%s/tmp", tmp),
    };
    cr_assert(mkdir(env.tmp, 01777) == 0);
    return env;
}

static void free_env(struct md_root_env *env)
{
    free((char *)env->system_root);
    free((char *)env->run_user);
    free((char *)env->tmp);
}

/* Open the root (creating it) and check where it is and its mode. */
static void expect_root(const struct md_root_env *env, const char *override, const char *want)
{
    md_error err = {0};
    char *path = NULL;
    int fd = -1;
    cr_assert_eq(md_state_root_open_env(env, override, true, &path, &fd, &err), 0, "%s", err.msg);
    cr_assert_str_eq(path, want);
    cr_assert_geq(fd, 0);
    cr_assert_eq(mode_of(want), 0700, "mode of %s is %o", want, mode_of(want));
    struct stat a, b;
    cr_assert(fstat(fd, &a) == 0 && stat(want, &b) == 0);
    cr_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "fd is not %s", want);
    close(fd);
    free(path);
}

Test(state_root, override_wins_and_parents_are_made_0700, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(1000);
    env.xdg_runtime_dir = tmp;
    const char *want = at("a/b/c");
    expect_root(&env, want, want);
    cr_assert_eq(mode_of(at("a/b")), 0700);
    free_env(&env);
}

Test(state_root, relative_override_is_made_absolute, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(0);
    cr_assert(chdir(tmp) == 0);
    const char *want = at("rel");
    expect_root(&env, "rel", want);
    free_env(&env);
}

Test(state_root, real_root_uses_system_root, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(0);
    env.xdg_runtime_dir = tmp; /* ignored as real root */
    expect_root(&env, NULL, env.system_root);
    free_env(&env);
}

Test(state_root, rootless_uses_xdg_runtime_dir, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(1000);
    const char *xdg = at("xdg");
    cr_assert(mkdir(xdg, 0700) == 0);
    env.xdg_runtime_dir = xdg;
    char *want = fx_fmt("%s/mdrun", xdg);
    expect_root(&env, NULL, want);
    free(want);
    free_env(&env);
}

Test(state_root, root_in_user_namespace_counts_as_rootless, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(0);
    env.in_userns = true;
    env.user = "alice";
    cr_assert(md_state_root_env_rootless(&env));
    env.xdg_runtime_dir = tmp;
    const char *want = at("mdrun");
    expect_root(&env, NULL, want);
    /* `sudo` into a namespace keeps USER=root: that is real root's view. */
    env.user = "root";
    cr_assert_not(md_state_root_env_rootless(&env));
    env.user = NULL;
    cr_assert(md_state_root_env_rootless(&env));
    free_env(&env);
}

/* An env that is rootless for the uid we really have, so that ownership
 * checks against files we create hold (as root and as a user). */
static struct md_root_env rootless_env_for_us(void)
{
    struct md_root_env env = test_env(geteuid());
    env.in_userns = geteuid() == 0;
    env.user = "alice";
    cr_assert(md_state_root_env_rootless(&env));
    return env;
}

Test(state_root, no_xdg_uses_run_user_when_ours, .init = setup, .fini = teardown)
{
    struct md_root_env env = rootless_env_for_us();
    env.xdg_runtime_dir = "";
    char *dir = fx_fmt("%s/%u", env.run_user, (unsigned)geteuid());
    cr_assert(mkdir(at("run"), 0755) == 0);
    cr_assert(mkdir(env.run_user, 0755) == 0);
    cr_assert(mkdir(dir, 0700) == 0);
    char *want = fx_fmt("%s/mdrun", dir);
    expect_root(&env, NULL, want);
    free(want);
    free(dir);
    free_env(&env);
}

Test(state_root, no_xdg_no_run_user_falls_back_to_tmp, .init = setup, .fini = teardown)
{
    struct md_root_env env = rootless_env_for_us();
    char *want = fx_fmt("%s/mdrun-%u", env.tmp, (unsigned)geteuid());
    expect_root(&env, NULL, want);
    /* Again, now that it exists. */
    expect_root(&env, NULL, want);
    free(want);
    free_env(&env);
}

Test(state_root, tmp_fallback_tightens_our_own_loose_dir, .init = setup, .fini = teardown)
{
    struct md_root_env env = rootless_env_for_us();
    char *dir = fx_fmt("%s/mdrun-%u", env.tmp, (unsigned)geteuid());
    cr_assert(mkdir(dir, 0755) == 0);
    cr_assert(chmod(dir, 0777) == 0);
    expect_root(&env, NULL, dir);
    free(dir);
    free_env(&env);
}

Test(state_root, tmp_fallback_refuses_a_symlink, .init = setup, .fini = teardown)
{
    struct md_root_env env = rootless_env_for_us();
    const char *target = at("elsewhere");
    char *link = fx_fmt("%s/mdrun-%u", env.tmp, (unsigned)geteuid());
    cr_assert(mkdir(target, 0700) == 0);
    cr_assert(symlink(target, link) == 0);
    md_error err = {0};
    char *path = NULL;
    int fd = -1;
    expect_error(md_state_root_open_env(&env, NULL, true, &path, &fd, &err), &err,
                 "is not a directory (a symlink or a file)");
    cr_assert_eq(fd, -1);
    cr_assert_null(path);
    /* Without create too. */
    expect_error(md_state_root_open_env(&env, NULL, false, &path, &fd, &err), &err, "symlink");
    free(link);
    free_env(&env);
}

Test(state_root, tmp_fallback_refuses_a_file, .init = setup, .fini = teardown)
{
    struct md_root_env env = rootless_env_for_us();
    char *file = fx_fmt("%s/mdrun-%u", env.tmp, (unsigned)geteuid());
    fx_write(file, "x");
    md_error err = {0};
    char *path = NULL;
    int fd = -1;
    expect_error(md_state_root_open_env(&env, NULL, true, &path, &fd, &err), &err,
                 "is not a directory");
    free(file);
    free_env(&env);
}

Test(state_root, tmp_fallback_refuses_someone_elses_dir, .init = setup, .fini = teardown)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to make a directory owned by another user");
    struct md_root_env env = rootless_env_for_us();
    char *dir = fx_fmt("%s/mdrun-%u", env.tmp, (unsigned)geteuid());
    cr_assert(mkdir(dir, 0700) == 0);
    cr_assert(chown(dir, 4242, 4242) == 0);
    md_error err = {0};
    char *path = NULL;
    int fd = -1;
    expect_error(md_state_root_open_env(&env, NULL, true, &path, &fd, &err), &err,
                 "belongs to uid 4242, not to us");
    free(dir);
    free_env(&env);
}

Test(state_root, missing_root_without_create_reads_as_empty, .init = setup, .fini = teardown)
{
    struct md_root_env env = test_env(0);
    md_error err = {0};
    char *path = NULL;
    int fd = 0;
    const char *want = at("none");
    cr_assert_eq(md_state_root_open_env(&env, want, false, &path, &fd, &err), 0, "%s", err.msg);
    cr_assert_eq(fd, -1);
    cr_assert_str_eq(path, want);
    cr_assert_eq(access(want, F_OK), -1, "created without create");
    char **ids = NULL;
    size_t n = 1;
    cr_assert_eq(md_state_list(fd, &ids, &n, &err), 0);
    cr_assert_eq(n, 0);
    md_state_info info;
    expect_error(md_state_load(fd, "x", &info, &err), &err, "container \"x\" does not exist");
    free(path);
    free_env(&env);
}

/* --------------------------------------------------------- container dirs */

Test(state_dir, create_is_exclusive, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, "c1", &err);
    cr_assert_geq(cfd, 0, "%s", err.msg);
    cr_assert_eq(mode_of(at("c1")), 0700);
    cr_assert_lt(md_state_create(rootfd, "c1", &err), 0);
    cr_assert_eq(err.errnum, EEXIST);
    expect_error(-1, &err, "container \"c1\" already exists");
    close(cfd);
    /* Still refused once nobody holds it. */
    expect_error(md_state_create(rootfd, "c1", &err), &err, "already exists");
    /* Nothing but c1 was left behind in the root. */
    struct fx_result r = fx_run((char *[]){"ls", "-A", tmp, NULL}, NULL, NULL);
    cr_assert_str_eq(r.out, "c1\n");
    fx_result_free(&r);
}

Test(state_dir, create_refuses_bad_and_overlong_ids, .init = setup, .fini = teardown)
{
    md_error err = {0};
    expect_error(md_state_create(rootfd, "..", &err), &err, "invalid container id");
    char id[300];
    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    cr_assert_lt(md_state_create(rootfd, id, &err), 0);
    cr_assert_eq(err.errnum, ENAMETOOLONG);
    expect_error(-1, &err, "more than a file name can hold");
}

Test(state_dir, open_missing_says_does_not_exist, .init = setup, .fini = teardown)
{
    md_error err = {0};
    cr_assert_lt(md_state_open(rootfd, "nope", &err), 0);
    cr_assert_eq(err.errnum, ENOENT);
    expect_error(-1, &err, "container \"nope\" does not exist");
    fx_write(at("file"), "");
    expect_error(md_state_open(rootfd, "file", &err), &err, "does not exist");
}

Test(state_dir, lock_is_exclusive_between_opens, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int a = md_state_create(rootfd, "c", &err);
    cr_assert_geq(a, 0);
    int b = md_state_open(rootfd, "c", &err);
    cr_assert_geq(b, 0);
    cr_assert_lt(md_state_lock(b, MD_LOCK_SHARED, false, &err), 0);
    cr_assert_eq(err.errnum, EWOULDBLOCK);
    expect_error(-1, &err, "container is busy");
    md_state_unlock(a);
    cr_assert_eq(md_state_lock(b, MD_LOCK_SHARED, false, &err), 0, "%s", err.msg);
    cr_assert_lt(md_state_lock(a, MD_LOCK_EXCLUSIVE, false, &err), 0);
    md_error_clear(&err);
    close(a);
    close(b);
}

Test(state_dir, remove_deletes_everything, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = make_container("gone", 0, 0);
    cr_assert_eq(md_state_fifo_create(cfd, &err), 0, "%s", err.msg);
    cr_assert(mkdirat(cfd, "sub", 0700) == 0);
    cr_assert(mkdirat(cfd, "sub/deeper", 0700) == 0);
    fx_write(at("gone/sub/deeper/f"), "x");
    cr_assert(symlinkat("/etc", cfd, "link") == 0);
    close(cfd);
    cr_assert_eq(md_state_remove(rootfd, "gone", &err), 0, "%s", err.msg);
    cr_assert_eq(access(at("gone"), F_OK), -1);
    cr_assert_eq(access("/etc/passwd", F_OK), 0, "followed the symlink");
    /* Removing again is fine, and the root holds nothing else. */
    cr_assert_eq(md_state_remove(rootfd, "gone", &err), 0, "%s", err.msg);
    struct fx_result r = fx_run((char *[]){"ls", "-A", tmp, NULL}, NULL, NULL);
    cr_assert_str_eq(r.out, "");
    fx_result_free(&r);
    expect_error(md_state_remove(rootfd, "a/b", &err), &err, "invalid container id");
}

Test(state_dir, list_skips_junk_and_sorts, .init = setup, .fini = teardown)
{
    md_error err = {0};
    const char *ids[] = {"zeta", "alpha",
                         "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
                         "89abcdef",
                         "m.1"};
    for (size_t i = 0; i < 4; i++)
        close(make_container(ids[i], 0, 0));
    fx_write(at("file-not-dir"), "x");
    cr_assert(mkdir(at("bad id"), 0700) == 0);
    cr_assert(mkdir(at("~new-1-2"), 0700) == 0);
    cr_assert(symlink(tmp, at("link-to-dir")) == 0);
    char **got = NULL;
    size_t n = 0;
    cr_assert_eq(md_state_list(rootfd, &got, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(got[0], ids[2]);
    cr_assert_str_eq(got[1], "alpha");
    cr_assert_str_eq(got[2], "m.1");
    cr_assert_str_eq(got[3], "zeta");
    md_strv_free(got, n);
}

Test(state_dir, fifo_is_a_fifo, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = make_container("f", 0, 0);
    umask(022);
    cr_assert_eq(md_state_fifo_create(cfd, &err), 0, "%s", err.msg);
    struct stat st;
    cr_assert(fstatat(cfd, MD_STATE_EXEC_FIFO, &st, 0) == 0);
    cr_assert(S_ISFIFO(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0622);
    expect_error(md_state_fifo_create(cfd, &err), &err, "create exec.fifo");
    close(cfd);
}

/* ------------------------------------------------------------ the record */

Test(state_record, round_trip, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, "rt", &err);
    cr_assert_geq(cfd, 0);
    md_kv ann[] = {{"org.example/key", "value \"quoted\""}, {"b", ""}};
    char created[64];
    md_state_timestamp(created, sizeof(created));
    md_state_record in = {
        .id = "rt",
        .bundle = "/srv/bundle",
        .rootfs = "/srv/bundle/rootfs",
        .pid = 4321,
        .start_time = 18446744073709551615ULL,
        .created = created,
        .owner = 1000,
        .rootless = true,
        .annotations = ann,
        .n_annotations = 2,
        .cgroup_path = "/mdrun/rt",
        .cgroup_manager = "cgroupfs",
        .config = "config.json",
        .console_socket = "/tmp/sock",
        .pid_file = "/tmp/pid",
        .systemd_cgroup = true,
        .has_net_helper_pid = true,
        .net_helper_pid = 77,
        .has_post_hooks = true,
        .post_hooks = 2,
    };
    cr_assert_eq(md_state_record_write(cfd, &in, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(mode_of(at("rt/status")), 0600);
    md_state_record out;
    cr_assert_eq(md_state_record_read(cfd, &out, &err), 0, "%s", err.msg);
    cr_assert_str_eq(out.id, "rt");
    cr_assert_str_eq(out.bundle, in.bundle);
    cr_assert_str_eq(out.rootfs, in.rootfs);
    cr_assert_eq(out.pid, 4321);
    cr_assert_eq(out.start_time, in.start_time);
    cr_assert_str_eq(out.created, created);
    cr_assert_eq(out.owner, 1000);
    cr_assert(out.rootless);
    cr_assert_eq(out.n_annotations, 2);
    cr_assert_str_eq(out.annotations[0].key, "org.example/key");
    cr_assert_str_eq(out.annotations[0].value, "value \"quoted\"");
    cr_assert_str_eq(out.annotations[1].value, "");
    cr_assert_str_eq(out.cgroup_path, "/mdrun/rt");
    cr_assert_str_eq(out.cgroup_manager, "cgroupfs");
    cr_assert_str_eq(out.config, "config.json");
    cr_assert_str_eq(out.console_socket, "/tmp/sock");
    cr_assert_str_eq(out.pid_file, "/tmp/pid");
    cr_assert(out.systemd_cgroup);
    cr_assert(out.has_net_helper_pid);
    cr_assert_eq(out.net_helper_pid, 77);
    cr_assert(out.has_post_hooks);
    cr_assert_eq(out.post_hooks, 2);
    md_state_record_free(&out);
    /* Optional members stay absent. */
    md_state_record bare = {.id = "rt", .bundle = "/b", .pid = 1};
    cr_assert_eq(md_state_record_write(cfd, &bare, NULL, &err), 0);
    cr_assert_eq(md_state_record_read(cfd, &out, &err), 0, "%s", err.msg);
    cr_assert_null(out.rootfs);
    cr_assert_null(out.cgroup_path);
    cr_assert_not(out.has_net_helper_pid);
    /* An older record: the hooks are unknown, start and delete read the config. */
    cr_assert_not(out.has_post_hooks);
    cr_assert_eq(out.n_annotations, 0);
    md_state_record_free(&out);
    close(cfd);
}

static ino_t inode_of(const char *path)
{
    struct stat st;
    cr_assert(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
    return st.st_ino;
}

/* create records as it goes; what has not changed is not written again
 * (the file is replaced by rename, so a write shows as a new inode). */
Test(state_record, unchanged_record_is_not_written_again, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, "same", &err);
    cr_assert_geq(cfd, 0);
    char *last = NULL;
    md_state_record rec = {.id = "same", .bundle = "/b", .pid = 0};
    cr_assert_eq(md_state_record_write(cfd, &rec, &last, &err), 0, "%s", err.msg);
    cr_assert_not_null(last);
    ino_t first = inode_of(at("same/status"));
    cr_assert_eq(md_state_record_write(cfd, &rec, &last, &err), 0, "%s", err.msg);
    cr_assert_eq(inode_of(at("same/status")), first, "the same record was written again");
    rec.pid = 42;
    cr_assert_eq(md_state_record_write(cfd, &rec, &last, &err), 0, "%s", err.msg);
    cr_assert_neq(inode_of(at("same/status")), first, "a changed record was not written");
    md_state_record out;
    cr_assert_eq(md_state_record_read(cfd, &out, &err), 0, "%s", err.msg);
    cr_assert_eq(out.pid, 42);
    md_state_record_free(&out);
    free(last);
    close(cfd);
}

Test(state_record, bad_records_are_refused_in_one_line, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, "bad", &err);
    cr_assert_geq(cfd, 0);
    md_state_record out;
    cr_assert_lt(md_state_record_read(cfd, &out, &err), 0);
    cr_assert_eq(err.errnum, ENOENT);
    md_error_clear(&err);
    const char *status = at("bad/status");
    fx_write(status, "{\"id\": \"bad\", \"bun");
    expect_error(md_state_record_read(cfd, &out, &err), &err, "status: invalid JSON");
    fx_write(status, "{\"id\": \"bad\", \"bundle\": \"/b\", \"pid\": \"12\", \"startTime\": 1, "
                     "\"owner\": 0}");
    expect_error(md_state_record_read(cfd, &out, &err), &err, "status: pid: must be an integer");
    fx_write(status, "{\"id\": \"bad\", \"pid\": 1, \"startTime\": 1, \"owner\": 0}");
    expect_error(md_state_record_read(cfd, &out, &err), &err,
                 "status: bundle: required property is missing");
    fx_write(status,
             "{\"id\": \"bad\", \"bundle\": \"/b\", \"pid\": -5, \"startTime\": 1, \"owner\": 0}");
    expect_error(md_state_record_read(cfd, &out, &err), &err, "must not be negative");
    close(cfd);
}

Test(state_record, timestamp_is_rfc3339_utc_with_nanoseconds)
{
    char buf[64];
    md_state_timestamp(buf, sizeof(buf));
    cr_assert_eq(strlen(buf), 30, "%s", buf);
    int y, mo, d, h, mi, s;
    long ns;
    char z;
    cr_assert_eq(sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%9ld%c", &y, &mo, &d, &h, &mi, &s, &ns, &z),
                 8, "%s", buf);
    cr_assert_eq(z, 'Z');
    cr_assert(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
}

/* ------------------------------------------------------------ the status */

Test(state_status, decision_table)
{
    struct {
        struct md_status_facts f;
        enum md_status want;
    } cases[] = {
        {{.locked = true}, MD_STATUS_CREATING},
        {{.locked = false}, MD_STATUS_STOPPED},
        {{.locked = true, .has_pid = true}, MD_STATUS_STOPPED},
        {{.has_pid = true, .pid_alive = true, .same_start = true}, MD_STATUS_RUNNING},
        {{.has_pid = true, .pid_alive = true, .same_start = true, .fifo = true}, MD_STATUS_CREATED},
        {{.has_pid = true, .pid_alive = true, .same_start = false, .fifo = true},
         MD_STATUS_STOPPED},
        {{.has_pid = true, .pid_alive = false, .same_start = true}, MD_STATUS_STOPPED},
        {{.locked = true, .has_pid = true, .pid_alive = true, .same_start = true},
         MD_STATUS_RUNNING},
        {{.fifo = true}, MD_STATUS_STOPPED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_str_eq(md_status_name(md_status_decide(&cases[i].f)),
                         md_status_name(cases[i].want), "case %zu", i);
}

Test(state_status, names)
{
    cr_assert_str_eq(md_status_name(MD_STATUS_CREATING), "creating");
    cr_assert_str_eq(md_status_name(MD_STATUS_CREATED), "created");
    cr_assert_str_eq(md_status_name(MD_STATUS_RUNNING), "running");
    cr_assert_str_eq(md_status_name(MD_STATUS_STOPPED), "stopped");
}

Test(state_status, proc_stat_parse_survives_odd_command_names)
{
    char state = 0;
    uint64_t start = 0;
    const char *text = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
                       "987654321 1000 100 18446744073709551615 1 1 0 0 0\n";
    cr_assert_eq(md_proc_stat_parse(text, &state, &start), 0);
    cr_assert_eq(state, 'S');
    cr_assert_eq(start, 987654321ULL);
    cr_assert_lt(md_proc_stat_parse("1234 (sleep) S 1 2 3", &state, &start), 0);
    cr_assert_lt(md_proc_stat_parse("no parenthesis at all", &state, &start), 0);
    cr_assert_lt(md_proc_stat_parse("", &state, &start), 0);
    cr_assert_lt(
        md_proc_stat_parse("1 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12ab 1", &state, &start),
        0);
}

Test(state_status, proc_stat_of_ourselves)
{
    char state = 0;
    uint64_t start = 0;
    cr_assert_eq(md_proc_stat(getpid(), &state, &start), 0);
    cr_assert_eq(state, 'R');
    cr_assert_gt(start, 0);
    cr_assert_lt(md_proc_stat(0, &state, &start), 0);
    cr_assert_eq(errno, ESRCH);
}

Test(state_status, running_created_stopped_with_a_real_process, .init = setup, .fini = teardown)
{
    md_error err = {0};
    pid_t child = spawn_sleeper();
    int cfd = make_container("live", child, 0);
    close(cfd);
    assert_status("live", MD_STATUS_RUNNING);

    cfd = md_state_open(rootfd, "live", &err);
    cr_assert_geq(cfd, 0);
    cr_assert_eq(md_state_fifo_create(cfd, &err), 0, "%s", err.msg);
    assert_status("live", MD_STATUS_CREATED);
    cr_assert(unlinkat(cfd, MD_STATE_EXEC_FIFO, 0) == 0);
    assert_status("live", MD_STATUS_RUNNING);
    close(cfd);

    kill(child, SIGKILL);
    wait_zombie(child);
    assert_status("live", MD_STATUS_STOPPED); /* a zombie is not running */
    kill_and_reap(child);
    assert_status("live", MD_STATUS_STOPPED);
}

Test(state_status, reused_pid_is_stopped, .init = setup, .fini = teardown)
{
    /* Our own pid is alive, but it started at another time than recorded. */
    close(make_container("reused", getpid(), 1));
    assert_status("reused", MD_STATUS_STOPPED);
    close(make_container("same", getpid(), 0));
    assert_status("same", MD_STATUS_RUNNING);
}

Test(state_status, abandoned_create_is_stopped, .init = setup, .fini = teardown)
{
    md_error err = {0};
    cr_assert(mkdir(at("crashed"), 0700) == 0);
    md_state_info info;
    cr_assert_eq(md_state_load(rootfd, "crashed", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.status, MD_STATUS_STOPPED);
    cr_assert_not(info.has_record);
    cr_assert_str_eq(info.rec.id, "crashed");
    cr_assert_eq(info.rec.owner, geteuid());
    md_state_info_free(&info);
    /* A corrupt record reads the same. */
    fx_write(at("crashed/status"), "{garbage");
    assert_status("crashed", MD_STATUS_STOPPED);
}

/* A child that holds the exclusive lock on <tmp>/<id> until the pipe
 * closes; returns its pid and the write end to close. */
static pid_t lock_in_child(const char *id, int *release)
{
    int ready[2], hold[2];
    cr_assert(pipe(ready) == 0 && pipe(hold) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(ready[0]);
        close(hold[1]);
        int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || flock(fd, LOCK_EX) < 0)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        char c;
        while (read(hold[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "child could not lock %s", id);
    close(ready[0]);
    *release = hold[1];
    return pid;
}

Test(state_status, locked_without_record_is_creating, .init = setup, .fini = teardown)
{
    cr_assert(mkdir(at("busy"), 0700) == 0);
    int release;
    pid_t locker = lock_in_child("busy", &release);
    assert_status("busy", MD_STATUS_CREATING);
    /* A record without a pid yet is still a create at work. */
    fx_write(at("busy/status"),
             "{\"id\": \"busy\", \"bundle\": \"/b\", \"pid\": 0, \"startTime\": 0, \"owner\": 0}");
    assert_status("busy", MD_STATUS_CREATING);
    close(release);
    cr_assert_eq(waitpid(locker, NULL, 0), locker);
    assert_status("busy", MD_STATUS_STOPPED);
}

Test(state_status, own_create_reads_as_creating_until_closed, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = md_state_create(rootfd, "mine", &err);
    cr_assert_geq(cfd, 0);
    assert_status("mine", MD_STATUS_CREATING);
    /* The creator itself, holding the lock, sees past it. */
    md_state_info info;
    cr_assert_eq(md_state_inspect(cfd, "mine", true, &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.status, MD_STATUS_STOPPED);
    md_state_info_free(&info);
    close(cfd);
    assert_status("mine", MD_STATUS_STOPPED);
}

Test(state_status, pidfd_checks_start_time, .init = setup, .fini = teardown)
{
    md_error err = {0};
    pid_t child = spawn_sleeper();
    md_state_record rec = {.pid = child};
    char state;
    cr_assert_eq(md_proc_stat(child, &state, &rec.start_time), 0);
    int fd = md_state_pidfd(&rec, &err);
    if (fd < 0 && err.errnum == ENOSYS) {
        kill_and_reap(child);
        cr_skip_test("no pidfd_open on this kernel");
    }
    cr_assert_geq(fd, 0, "%s", err.msg);
    close(fd);
    rec.start_time++;
    cr_assert_lt(md_state_pidfd(&rec, &err), 0);
    cr_assert_eq(err.errnum, ESRCH);
    expect_error(-1, &err, "has exited");
    rec.start_time--;
    kill_and_reap(child);
    cr_assert_lt(md_state_pidfd(&rec, &err), 0);
    cr_assert_eq(err.errnum, ESRCH);
    md_error_clear(&err);
}

/* ------------------------------------------------------- the state JSON */

static yajl_val state_json_of(const md_state_info *info, char **text)
{
    md_error err = {0};
    cr_assert_eq(md_state_json(info, text, NULL, &err), 0, "%s", err.msg);
    char errbuf[256];
    yajl_val tree = yajl_tree_parse(*text, errbuf, sizeof(errbuf));
    cr_assert(tree, "%s: %s", errbuf, *text);
    return tree;
}

static const char *get_str(yajl_val tree, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(tree, path, yajl_t_string);
    cr_assert(v, "no string \"%s\"", key);
    return YAJL_GET_STRING(v);
}

static long long get_int(yajl_val tree, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(tree, path, yajl_t_number);
    cr_assert(v && YAJL_IS_INTEGER(v), "no integer \"%s\"", key);
    return YAJL_GET_INTEGER(v);
}

/* The checks of runtime-spec schema/state-schema.json. */
static void assert_schema_valid(yajl_val tree)
{
    const char *required[] = {"ociVersion", "id", "status", "bundle"};
    for (size_t i = 0; i < 4; i++)
        get_str(tree, required[i]);
    const char *status = get_str(tree, "status");
    cr_assert(strcmp(status, "creating") == 0 || strcmp(status, "created") == 0 ||
                  strcmp(status, "running") == 0 || strcmp(status, "stopped") == 0,
              "status %s", status);
    cr_assert_geq(get_int(tree, "pid"), 0);
    const char *path[] = {"annotations", NULL};
    yajl_val ann = yajl_tree_get(tree, path, yajl_t_any);
    if (ann) {
        cr_assert(YAJL_IS_OBJECT(ann));
        for (size_t i = 0; i < ann->u.object.len; i++)
            cr_assert(YAJL_IS_STRING(ann->u.object.values[i]));
    }
}

Test(state_json, running_container, .init = setup, .fini = teardown)
{
    md_error err = {0};
    int cfd = make_container("js", getpid(), 0);
    md_state_record rec;
    cr_assert_eq(md_state_record_read(cfd, &rec, &err), 0);
    rec.rootfs = strdup("/b/rootfs");
    rec.created = strdup("2024-05-01T10:11:12.123456789Z");
    rec.annotations = calloc(1, sizeof(md_kv));
    rec.annotations[0] = (md_kv){strdup("k"), strdup("v")};
    rec.n_annotations = 1;
    cr_assert_eq(md_state_record_write(cfd, &rec, NULL, &err), 0);
    md_state_record_free(&rec);
    close(cfd);

    md_state_info info;
    cr_assert_eq(md_state_load(rootfd, "js", &info, &err), 0, "%s", err.msg);
    char *text = NULL;
    yajl_val tree = state_json_of(&info, &text);
    assert_schema_valid(tree);
    cr_assert_str_eq(get_str(tree, "ociVersion"), md_oci_version());
    cr_assert_str_eq(get_str(tree, "id"), "js");
    cr_assert_str_eq(get_str(tree, "status"), "running");
    cr_assert_eq(get_int(tree, "pid"), getpid());
    cr_assert_str_eq(get_str(tree, "bundle"), "/b");
    cr_assert_str_eq(get_str(tree, "rootfs"), "/b/rootfs");
    cr_assert_str_eq(get_str(tree, "created"), "2024-05-01T10:11:12.123456789Z");
    char owner[256];
    md_state_owner_name(geteuid(), owner, sizeof(owner));
    cr_assert_str_eq(get_str(tree, "owner"), owner);
    const char *kpath[] = {"annotations", "k", NULL};
    cr_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(tree, kpath, yajl_t_string)), "v");
    /* Indented by two spaces, like runc state, ending in a newline. */
    cr_assert(strncmp(text, "{\n  \"ociVersion\": ", 18) == 0, "%s", text);
    cr_assert_eq(text[strlen(text) - 1], '\n');
    yajl_tree_free(tree);
    free(text);
    md_state_info_free(&info);
}

Test(state_json, stopped_shows_pid_zero_and_broken_has_a_bundle, .init = setup, .fini = teardown)
{
    md_error err = {0};
    pid_t child = spawn_sleeper();
    close(make_container("dead", child, 0));
    kill_and_reap(child);
    md_state_info info;
    cr_assert_eq(md_state_load(rootfd, "dead", &info, &err), 0);
    char *text = NULL;
    yajl_val tree = state_json_of(&info, &text);
    assert_schema_valid(tree);
    cr_assert_str_eq(get_str(tree, "status"), "stopped");
    cr_assert_eq(get_int(tree, "pid"), 0);
    const char *path[] = {"annotations", NULL};
    cr_assert_null(yajl_tree_get(tree, path, yajl_t_any), "empty annotations written");
    yajl_tree_free(tree);
    free(text);
    md_state_info_free(&info);

    cr_assert(mkdir(at("broken"), 0700) == 0);
    cr_assert_eq(md_state_load(rootfd, "broken", &info, &err), 0);
    tree = state_json_of(&info, &text);
    assert_schema_valid(tree);
    cr_assert_str_eq(get_str(tree, "bundle"), "");
    yajl_tree_free(tree);
    free(text);
    md_state_info_free(&info);
}

Test(state_json, owner_name_falls_back_to_the_number)
{
    char buf[64];
    md_state_owner_name(0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "root");
    md_state_owner_name(3999999, buf, sizeof(buf));
    cr_assert_str_eq(buf, "3999999");
}

/* ------------------------------------------------------------- the CLI */

static struct fx_result run_mdrun(const char *root, const char *a, const char *b, const char *c)
{
    const char *bin = getenv("MDRUN_BIN");
    cr_assert(bin, "MDRUN_BIN is not set: run the tests through `make check`");
    char *argv[] = {(char *)bin, "--root", (char *)root, (char *)a, (char *)b, (char *)c, NULL};
    return fx_run(argv, NULL, NULL);
}

Test(state_cli, list_of_an_empty_root, .init = setup, .fini = teardown)
{
    struct fx_result r = run_mdrun(tmp, "list", NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
    fx_result_free(&r);
    r = run_mdrun(tmp, "list", "--format", "json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "[]\n");
    fx_result_free(&r);
    r = run_mdrun(tmp, "list", "-q", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "");
    fx_result_free(&r);
    /* A root that does not exist yet lists as empty and is not created. */
    const char *none = at("none");
    r = run_mdrun(none, "list", "-q", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(access(none, F_OK), -1);
    fx_result_free(&r);
}

Test(state_cli, state_of_unknown_container, .init = setup, .fini = teardown)
{
    struct fx_result r = run_mdrun(tmp, "state", "nope", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "mdrun: container \"nope\" does not exist\n");
    cr_assert_str_eq(r.out, "");
    fx_result_free(&r);
    r = run_mdrun(tmp, "state", "../etc", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "invalid container id \"../etc\""), "%s", r.err);
    fx_result_free(&r);
    r = run_mdrun(tmp, "state", NULL, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "mdrun state: expects exactly one argument"), "%s", r.err);
    fx_result_free(&r);
}

Test(state_cli, list_and_state_of_live_containers, .init = setup, .fini = teardown)
{
    pid_t child = spawn_sleeper();
    int cfd = make_container("web", child, 0);
    md_error err = {0};
    cr_assert_eq(md_state_fifo_create(cfd, &err), 0);
    close(cfd);
    close(make_container("a-long-container-name", getpid(), 0));

    struct fx_result r = run_mdrun(tmp, "list", NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(fx_count_lines(r.out), 3, "%s", r.out);
    /* Sorted, aligned: the id column is as wide as the longest id + 3. */
    char *line = fx_fmt("%-24s%-12d%-12s%-12s", "web", (int)child, "created", "/b");
    cr_assert(strstr(r.out, line), "no \"%s\" in:\n%s", line, r.out);
    cr_assert(strncmp(r.out, "ID                      PID ", 28) == 0, "%s", r.out);
    cr_assert(strstr(r.out, "\na-long-container-name   "), "%s", r.out);
    free(line);
    fx_result_free(&r);

    r = run_mdrun(tmp, "list", "-q", NULL);
    cr_assert_str_eq(r.out, "a-long-container-name\nweb\n");
    fx_result_free(&r);

    r = run_mdrun(tmp, "list", "-f", "json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    char errbuf[128];
    yajl_val tree = yajl_tree_parse(r.out, errbuf, sizeof(errbuf));
    cr_assert(tree && YAJL_IS_ARRAY(tree), "%s", r.out);
    cr_assert_eq(tree->u.array.len, 2);
    assert_schema_valid(tree->u.array.values[0]);
    cr_assert_str_eq(get_str(tree->u.array.values[1], "status"), "created");
    yajl_tree_free(tree);
    fx_result_free(&r);

    r = run_mdrun(tmp, "state", "web", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    tree = yajl_tree_parse(r.out, errbuf, sizeof(errbuf));
    cr_assert(tree, "%s", r.out);
    cr_assert_eq(get_int(tree, "pid"), child);
    cr_assert_str_eq(get_str(tree, "status"), "created");
    yajl_tree_free(tree);
    fx_result_free(&r);

    r = run_mdrun(tmp, "list", "--format", "yaml");
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "\"yaml\" is not table or json"), "%s", r.err);
    fx_result_free(&r);
    kill_and_reap(child);
}

Test(state_cli, help)
{
    const char *bin = getenv("MDRUN_BIN");
    cr_assert(bin);
    struct fx_result r = fx_run((char *[]){(char *)bin, "state", "--help", NULL}, NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "Usage: mdrun state ID", 21) == 0, "%s", r.out);
    fx_result_free(&r);
    r = fx_run((char *[]){(char *)bin, "list", "--help", NULL}, NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "--quiet"), "%s", r.out);
    fx_result_free(&r);
}
