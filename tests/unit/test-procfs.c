/* test-procfs.c - the checks that /proc is the kernel's procfs before the
 * runtime writes to it or mounts through /proc/self/fd (procfs.c), run
 * against the real /proc and, in a private mount namespace, against a
 * tmpfs or a wrong procfs directory put where the runtime looks; and the
 * dumpable switch of protect.c. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fixture.h"
#include "procattr.h"
#include "procfs.h"
#include "protect.h"

/* Print "ok" or the error of an md_* call, for the parent to compare. */
static void result(int r, md_error *err)
{
    printf("%s\n", r >= 0 ? "ok" : err->msg);
    md_error_clear(err);
}

static char *in_userns(int (*fn)(void *), void *arg)
{
    struct fx_userns ns = {.flags = CLONE_NEWNS};
    int status;
    char *out = fx_in_userns(&ns, fn, arg, &status);
    cr_assert_eq(status, 0, "child failed (%d): %s", status, out);
    return out;
}

/* ----------------------------------------------------------- real procfs */

Test(procfs, the_real_proc_passes)
{
    md_error err = {0};
    cr_expect_eq(md_procfs_check_fds(&err), 0, "%s", err.msg);
    int fd = md_proc_open("/proc/self/status", O_RDONLY, &err);
    cr_expect(fd >= 0, "%s", err.msg);
    cr_expect(md_on_procfs(fd));
    close(fd);
    md_error_clear(&err);
}

Test(procfs, a_file_elsewhere_is_refused)
{
    char *dir = fx_tmpdir();
    char *path = fx_fmt("%s/uid_map", dir);
    fx_write(path, "");
    md_error err = {0};
    cr_expect_lt(md_proc_open(path, O_WRONLY, &err), 0);
    cr_expect_eq(err.errnum, EXDEV);
    char *want = fx_fmt("%s is not on a procfs", path);
    cr_expect_str_eq(err.msg, want);
    md_error_clear(&err);
    fx_rmtree(dir);
    free(want);
    free(path);
    free(dir);
}

/* A symlink where the file should be is not followed. */
Test(procfs, a_symlink_is_not_followed)
{
    char *dir = fx_tmpdir();
    char *link = fx_fmt("%s/link", dir);
    cr_assert(symlink("/proc/self/status", link) == 0);
    md_error err = {0};
    cr_expect_lt(md_proc_open(link, O_RDONLY, &err), 0);
    cr_expect_eq(err.errnum, ELOOP, "%s", err.msg);
    md_error_clear(&err);
    fx_rmtree(dir);
    free(link);
    free(dir);
}

/* --------------------------------------------- a /proc that is not one */

/* tmpfs over /proc, with the files the runtime would write made in it. */
static int tmpfs_over_proc(void *arg)
{
    (void)arg;
    char pid_dir[64], oom[96];
    snprintf(pid_dir, sizeof(pid_dir), "/proc/%d", (int)getpid());
    snprintf(oom, sizeof(oom), "%s/oom_score_adj", pid_dir);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", "/proc", "tmpfs", 0, NULL) < 0) {
        printf("mount tmpfs on /proc: %s\n", strerror(errno));
        return 1;
    }
    mkdir(pid_dir, 0755);
    mkdir("/proc/self", 0755);
    mkdir("/proc/self/fd", 0755);
    close(open(oom, O_WRONLY | O_CREAT, 0644));
    md_error err = {0};
    result(md_procfs_check_fds(&err), &err);
    result(md_proc_open(oom, O_WRONLY, &err), &err);
    result(md_oom_score_adj_apply(getpid(), 500, &err), &err);
    return 0;
}

Test(procfs, tmpfs_over_proc_is_refused)
{
    char *out = in_userns(tmpfs_over_proc, NULL);
    char *want = NULL;
    int n = 0;
    /* The pid in the messages is the child's: compare around it. */
    cr_assert(sscanf(out, "/proc/self/fd is not on a procfs\n/proc/%d/", &n) == 1, "%s", out);
    want = fx_fmt("/proc/self/fd is not on a procfs\n"
                  "/proc/%d/oom_score_adj is not on a procfs\n"
                  "oom_score_adj 500: /proc/%d/oom_score_adj is not on a procfs\n",
                  n, n);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

/* A procfs directory that is not ours at /proc/self/fd: the parent's fd
 * directory bound over it.  It is on a procfs, but its entries are
 * another process's fds: refused too. */
static int others_fds(void *arg)
{
    const char *parent_fds = arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(parent_fds, "/proc/self/fd", NULL, MS_BIND, NULL) < 0) {
        printf("bind %s: %s\n", parent_fds, strerror(errno));
        return 1;
    }
    md_error err = {0};
    result(md_procfs_check_fds(&err), &err);
    return 0;
}

Test(procfs, another_process_fds_are_refused)
{
    char *parent_fds = fx_fmt("/proc/%d/fd", (int)getpid());
    char *out = in_userns(others_fds, parent_fds);
    cr_expect_str_eq(out, "/proc/self/fd does not list mdrun's own file descriptors\n");
    free(out);
    free(parent_fds);
}

/* --------------------------------------------------------------- protect */

Test(protect, a_binary_on_disk_is_not_sealed)
{
    cr_expect(!md_exe_is_sealed(), "the test program runs from a sealed memfd?");
}

Test(protect, dumpable_switches_both_ways)
{
    md_error err = {0};
    cr_assert_eq(md_protect_dumpable(false, &err), 0, "%s", err.msg);
    cr_expect_eq(prctl(PR_GET_DUMPABLE), 0);
    /* Non-dumpable: our /proc files now belong to root. */
    struct stat st;
    cr_expect(stat("/proc/self/status", &st) == 0 && st.st_uid == 0);
    cr_assert_eq(md_protect_dumpable(true, &err), 0, "%s", err.msg);
    cr_expect_eq(prctl(PR_GET_DUMPABLE), 1);
}
