/* test-harness.c - the integration harness checks itself: who the commands
 * run as, what they see, the busybox rootfs, and the leftovers helpers.
 * runc runs its own spec here, so a broken rootfs or user switch shows up
 * even while mdrun's commands are incomplete. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/harness.h"

TestSuite(harness);

static struct fx_result sh(struct hx_ctx *c, const char *script)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    return hx_run(c, NULL, argv);
}

Test(harness, runs_as_the_unprivileged_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    if (geteuid() == 0)
        cr_assert_neq(c->uid, 0, "the test user is root");
    struct fx_result r = sh(c, "id -u; id -g; id -G; pwd");
    char *want =
        fx_fmt("%u\n%u\n%u\n%s\n", (unsigned)c->uid, (unsigned)c->gid, (unsigned)c->gid, c->dir);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, want);
    free(want);
    fx_result_free(&r);
}

Test(harness, runs_as_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    struct fx_result r = sh(c, "id -u");
    cr_expect_str_eq(r.out, "0\n");
    fx_result_free(&r);
}

Test(harness, clean_environment)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *env[] = {"HX_EXTRA=1", "USER", NULL};
    const char *argv[] = {"env", NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.env = env}, argv);
    char *xdg = fx_fmt("XDG_RUNTIME_DIR=%s\n", c->xdg);
    char *home = fx_fmt("HOME=%s\n", c->home);
    cr_expect(strstr(r.out, xdg), "%s", r.out);
    cr_expect(strstr(r.out, home), "%s", r.out);
    cr_expect(strstr(r.out, "HX_EXTRA=1\n"), "%s", r.out);
    cr_expect(strstr(r.out, "PATH="), "%s", r.out);
    cr_expect(!strstr(r.out, "USER="), "USER was not removed: %s", r.out);
    cr_expect(!strstr(r.out, "MDRUN_BIN="), "the test environment leaked: %s", r.out);
    free(xdg);
    free(home);
    fx_result_free(&r);

    /* The private directories belong to the user, closed to others. */
    struct stat st;
    cr_assert(stat(c->xdg, &st) == 0);
    cr_expect(st.st_uid == c->uid && (st.st_mode & 0777) == 0700);
    cr_assert(stat(c->root, &st) == 0);
    cr_expect(st.st_uid == c->uid && (st.st_mode & 0777) == 0700);
}

Test(harness, stdin_and_exit_status)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *argv[] = {"sh", "-c", "cat; echo oops >&2; exit 3", NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.input = "line 1\nline 2\n"}, argv);
    cr_expect_eq(r.status, 3);
    cr_expect_str_eq(r.out, "line 1\nline 2\n");
    cr_expect_str_eq(r.err, "oops\n");
    fx_result_free(&r);

    r = sh(c, "kill -TERM $$");
    cr_expect_eq(r.status, 128 + SIGTERM);
    fx_result_free(&r);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

Test(harness, timeout_kills_the_process_group)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const char *argv[] = {"sh", "-c", "sleep 30; echo not killed", NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.timeout = 1}, argv);
    cr_expect_eq(r.status, 128 + SIGKILL);
    cr_expect(strstr(r.err, "killed after 1 s"), "%s", r.err);
    cr_expect(seconds_since(&t0) < 10);
    fx_result_free(&r);
}

/* A process left holding stdout (as a detached container would) does not
 * keep hx_run waiting. */
Test(harness, returns_when_the_child_exits)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct fx_result r = sh(c, "sleep 20 & echo $!");
    cr_expect(seconds_since(&t0) < 10);
    pid_t pid = (pid_t)atoi(r.out);
    cr_assert_gt(pid, 0, "%s", r.out);
    cr_expect(hx_pid_alive(pid));
    kill(pid, SIGKILL);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; i++) {
        gone = !hx_pid_alive(pid);
        usleep(10000);
    }
    cr_expect(gone, "pid %d still alive after SIGKILL", (int)pid);
    fx_result_free(&r);
}

Test(harness, rootfs_is_busybox)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char *busybox = hx_bundle_file(bundle, "rootfs/bin/busybox");
    struct stat st;
    cr_assert(lstat(busybox, &st) == 0 && S_ISREG(st.st_mode), "%s is not a file", busybox);
    cr_expect_eq(st.st_uid, c->uid, "the rootfs copy is not the user's");
    free(busybox);
    char *script = fx_fmt("%s/rootfs/bin/sh -c 'echo $((6 * 7))'; "
                          "grep -c '^root:x:0:0:' %s/rootfs/etc/passwd; "
                          "readlink %s/rootfs/bin/ls",
                          bundle, bundle, bundle);
    struct fx_result r = sh(c, script);
    cr_expect_str_eq(r.out, "42\n1\nbusybox\n", "%s", r.err);
    fx_result_free(&r);
    free(script);
}

Test(harness, mounts_are_listed_and_removed)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    char *from = fx_fmt("%s/from", c->dir);
    char *to = fx_fmt("%s/to here", c->dir);
    cr_assert(mkdir(from, 0755) == 0 && mkdir(to, 0755) == 0);
    cr_assert(mount(from, to, NULL, MS_BIND, NULL) == 0, "bind mount");
    char **mounts;
    size_t n = hx_mounts_under(c->dir, &mounts);
    cr_expect_eq(n, 1);
    cr_expect_str_eq(mounts[0], to);
    hx_strv_free(mounts);
    char *dir = strdup(c->dir);
    hx_ctx_free(c);
    cr_expect_eq(hx_mounts_under(dir, &mounts), 0, "the context's mount survived");
    hx_strv_free(mounts);
    cr_expect(access(dir, F_OK) != 0, "%s was not removed", dir);
    free(dir);
    free(from);
    free(to);
}

Test(harness, state_helpers)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *id = hx_id("hx");
    cr_expect(!hx_state_exists(c, id));
    char *dir = fx_fmt("%s/%s", c->root, id);
    cr_assert(mkdir(dir, 0700) == 0);
    cr_expect(hx_state_exists(c, id));
    cr_expect(hx_pid_alive(getpid()));
    cr_expect(!hx_pid_alive(0));
    cr_assert(rmdir(dir) == 0);
    hx_assert_clean(c);
    free(dir);
    free(id);
}

/* runc with its own spec proves the rootfs, the user switch and the
 * private directories good enough for a real container. */
static void runc_own_spec(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    const char *spec[] = {"runc", "spec", who == HX_USER ? "--rootless" : NULL, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.cwd = bundle}, spec);
    cr_assert_eq(r.status, 0, "runc spec: %s", r.err);
    fx_result_free(&r);
    hx_bundle_set_args(bundle, "sh", "-c", "echo in $(hostname) as $(id -u)", NULL);
    char *id = hx_id("hx-self");
    const char *run[] = {"runc", "--root", c->root, "run", id, NULL};
    r = hx_run(c, &(struct hx_cmd){.cwd = bundle}, run);
    cr_expect_eq(r.status, 0, "runc run: %s", r.err);
    cr_expect_str_eq(r.out, "in runc as 0\n", "%s", r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
}

Test(harness, runc_runs_its_rootless_spec_as_user)
{
    runc_own_spec(HX_USER);
}

Test(harness, runc_runs_its_spec_as_root)
{
    runc_own_spec(HX_ROOT);
}
