/* test-procattr.c - rlimits, the one-syscall process attributes and the
 * lookup of process.args[0], each checked by its effect on a real process:
 * a child for what the parent sets (rlimits, oom_score_adj), a child that
 * is root of a new user namespace for what the container process sets. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/ioprio.h>
#include <linux/keyctl.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "execpath.h"
#include "fixture.h"
#include "procattr.h"
#include "rlimit.h"

/* ---------------------------------------------------------------- helpers */

static bool have_cap(cap_value_t cap)
{
    cap_t caps = cap_get_proc();
    cap_flag_value_t v = CAP_CLEAR;
    cr_assert(caps && cap_get_flag(caps, cap, CAP_EFFECTIVE, &v) == 0);
    cap_free(caps);
    return v == CAP_SET;
}

/* A child that waits until *wake is closed, for the parent to act on. */
static pid_t sleeper(int *wake)
{
    int p[2];
    cr_assert(pipe2(p, O_CLOEXEC) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        while (read(p[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(p[0]);
    *wake = p[1];
    return pid;
}

static void reap(pid_t pid, int wake)
{
    close(wake);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

/* Run fn in a new user namespace (plus flags); its output, exit status 0. */
static char *in_userns(int flags, int (*fn)(void *), void *arg)
{
    struct fx_userns ns = {.flags = flags};
    int status;
    char *out = fx_in_userns(&ns, fn, arg, &status);
    cr_assert_eq(status, 0, "child failed (%d): %s", status, out);
    return out;
}

/* Print "ok" or the error of an md_* call, for the parent to compare. */
static void result(int r, md_error *err)
{
    printf("%s\n", r == 0 ? "ok" : err->msg);
    md_error_clear(err);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fx_fmt("(%s)", strerror(errno));
    char buf[256] = "";
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return strdup(buf);
}

/* ----------------------------------------------------------------- rlimits */

Test(rlimit, parent_sets_soft_and_hard_limits_of_a_child)
{
    int wake;
    pid_t pid = sleeper(&wake);
    md_rlimit limits[] = {
        {.type = "RLIMIT_NOFILE", .soft = 64, .hard = 128},
        {.type = "RLIMIT_CORE", .soft = 0, .hard = 0},
    };
    md_error err = {0};
    cr_assert_eq(md_rlimits_apply(pid, limits, 2, &err), 0, "%s", err.msg);
    struct rlimit got;
    cr_assert_eq(prlimit(pid, RLIMIT_NOFILE, NULL, &got), 0);
    cr_expect_eq(got.rlim_cur, 64);
    cr_expect_eq(got.rlim_max, 128);
    cr_assert_eq(prlimit(pid, RLIMIT_CORE, NULL, &got), 0);
    cr_expect_eq(got.rlim_cur, 0);
    cr_expect_eq(got.rlim_max, 0);
    reap(pid, wake);
}

Test(rlimit, unknown_name_is_refused)
{
    md_rlimit limit = {.type = "RLIMIT_FOO", .soft = 1, .hard = 1};
    md_error err = {0};
    cr_assert_lt(md_rlimits_apply(getpid(), &limit, 1, &err), 0);
    cr_expect_str_eq(err.msg, "unknown rlimit \"RLIMIT_FOO\"");
    md_error_clear(&err);
}

Test(rlimit, raising_the_hard_limit_without_cap_sys_resource_names_the_limit)
{
    if (have_cap(CAP_SYS_RESOURCE))
        cr_skip_test("mdrun has CAP_SYS_RESOURCE here, so raising succeeds");
    int wake;
    pid_t pid = sleeper(&wake);
    struct rlimit cur;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &cur), 0);
    md_rlimit limit = {.type = "RLIMIT_NOFILE", .soft = cur.rlim_max, .hard = cur.rlim_max + 1};
    md_error err = {0};
    cr_assert_lt(md_rlimits_apply(pid, &limit, 1, &err), 0);
    char *want = fx_fmt("rlimit RLIMIT_NOFILE %llu/%llu: Operation not permitted",
                        (unsigned long long)limit.soft, (unsigned long long)limit.hard);
    cr_expect_str_eq(err.msg, want);
    free(want);
    md_error_clear(&err);
    reap(pid, wake);
}

Test(rlimit, raising_the_hard_limit_with_cap_sys_resource)
{
    if (!have_cap(CAP_SYS_RESOURCE))
        cr_skip_test("needs root with CAP_SYS_RESOURCE to raise a hard limit");
    int wake;
    pid_t pid = sleeper(&wake);
    struct rlimit cur, got;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &cur), 0);
    md_rlimit limit = {.type = "RLIMIT_NOFILE", .soft = cur.rlim_max + 1, .hard = cur.rlim_max + 1};
    md_error err = {0};
    cr_assert_eq(md_rlimits_apply(pid, &limit, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(prlimit(pid, RLIMIT_NOFILE, NULL, &got), 0);
    cr_expect_eq(got.rlim_max, cur.rlim_max + 1);
    reap(pid, wake);
}

/* ----------------------------------------------------------- oom_score_adj */

Test(oom, parent_raises_the_score_of_a_child)
{
    int wake;
    pid_t pid = sleeper(&wake);
    md_error err = {0};
    cr_assert_eq(md_oom_score_adj_apply(pid, 789, &err), 0, "%s", err.msg);
    char *path = fx_fmt("/proc/%d/oom_score_adj", (int)pid);
    char *text = read_text(path);
    cr_expect_str_eq(text, "789");
    free(text);
    free(path);
    reap(pid, wake);
}

Test(oom, lowering_needs_cap_sys_resource)
{
    if (!have_cap(CAP_SYS_RESOURCE))
        cr_skip_test("needs root with CAP_SYS_RESOURCE to lower oom_score_adj");
    int wake;
    pid_t pid = sleeper(&wake);
    md_error err = {0};
    cr_assert_eq(md_oom_score_adj_apply(pid, -999, &err), 0, "%s", err.msg);
    char *path = fx_fmt("/proc/%d/oom_score_adj", (int)pid);
    char *text = read_text(path);
    cr_expect_str_eq(text, "-999");
    free(text);
    free(path);
    reap(pid, wake);
}

Test(oom, missing_process_is_an_error)
{
    md_error err = {0};
    cr_assert_lt(md_oom_score_adj_apply(-1, 100, &err), 0);
    cr_expect_str_eq(err.msg, "oom_score_adj 100: No such file or directory");
    md_error_clear(&err);
}

/* ---------------------------------------------------------------- hostname */

static int set_names(void *arg)
{
    struct utsname before, after;
    uname(&before);
    md_error err = {0};
    result(md_hostname_apply(arg, &err), &err);
    uname(&after);
    printf("%s\n%s\n%s\n", after.nodename, after.domainname,
           strcmp(before.nodename, after.nodename) == 0 ? "unchanged" : "changed");
    return 0;
}

Test(hostname, sets_hostname_and_domainname)
{
    md_spec spec = {.hostname = "mdrun-test", .domainname = "example.test"};
    char *out = in_userns(CLONE_NEWUTS, set_names, &spec);
    cr_expect_str_eq(out, "ok\nmdrun-test\nexample.test\nchanged\n");
    free(out);
}

Test(hostname, absent_names_are_left_alone)
{
    struct utsname host;
    uname(&host);
    md_spec spec = {0};
    char *out = in_userns(CLONE_NEWUTS, set_names, &spec);
    char *want = fx_fmt("ok\n%s\n%s\nunchanged\n", host.nodename, host.domainname);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

/* ------------------------------------------------------------------ sysctl */

static int set_sysctls(void *arg)
{
    md_error err = {0};
    result(md_sysctl_apply(arg, &err), &err);
    const char *paths[] = {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/core/somaxconn",
                           "/proc/sys/net/ipv4/conf/lo/forwarding"};
    for (size_t i = 0; i < 3; i++) {
        char *text = read_text(paths[i]);
        printf("%s\n", text);
        free(text);
    }
    return 0;
}

Test(sysctl, writes_dotted_and_slashed_keys)
{
    md_kv kv[] = {
        {"net.ipv4.ip_forward", "1"},
        {"net/core/somaxconn", "321"},
        {"net.ipv4.conf.lo.forwarding", "1"},
    };
    md_linux lx = {.sysctl = kv, .n_sysctl = 3};
    char *out = in_userns(CLONE_NEWNET, set_sysctls, &lx);
    cr_expect_str_eq(out, "ok\n1\n321\n1\n");
    free(out);
}

static void expect_sysctl_error(const char *key, const char *want)
{
    md_kv kv = {(char *)key, "1"};
    md_linux lx = {.sysctl = &kv, .n_sysctl = 1};
    md_error err = {0};
    cr_assert_lt(md_sysctl_apply(&lx, &err), 0, "%s", key);
    cr_expect_str_eq(err.msg, want);
    md_error_clear(&err);
}

Test(sysctl, dots_and_slashes_swap_as_in_sysctl_8)
{
    /* "eth0/100" in a dotted key is the interface eth0.100. */
    expect_sysctl_error("net.ipv4.conf.no/such.forwarding",
                        "sysctl net.ipv4.conf.no/such.forwarding: open "
                        "/proc/sys/net/ipv4/conf/no.such/forwarding: No such file or directory");
    expect_sysctl_error("net/ipv4/conf/no.such/forwarding",
                        "sysctl net/ipv4/conf/no.such/forwarding: open "
                        "/proc/sys/net/ipv4/conf/no.such/forwarding: No such file or directory");
}

Test(sysctl, keys_that_are_not_plain_paths_are_refused)
{
    const char *bad[] = {"", "net..ipv4", "../../etc/passwd", "net/../kernel/x", ".net", "net."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *want = fx_fmt("sysctl \"%s\": not a valid key", bad[i]);
        expect_sysctl_error(bad[i], want);
        free(want);
    }
}

/* Play a container whose /proc/sys is not the kernel's: a tmpfs over it,
 * or over one directory below it holding a look-alike file. */
static int sysctl_on_tmpfs(void *arg)
{
    const char *where = arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", where, "tmpfs", 0, NULL) < 0) {
        printf("mount tmpfs on %s: %s\n", where, strerror(errno));
        return 1;
    }
    if (strcmp(where, "/proc/sys") != 0) {
        mkdir("/proc/sys/net/ipv4", 0755);
        FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "w");
        if (f)
            fclose(f);
    }
    md_kv kv = {"net.ipv4.ip_forward", "1"};
    md_linux lx = {.sysctl = &kv, .n_sysctl = 1};
    md_error err = {0};
    result(md_sysctl_apply(&lx, &err), &err);
    return 0;
}

Test(sysctl, refuses_a_proc_sys_that_is_not_procfs)
{
    char *out = in_userns(CLONE_NEWNS, sysctl_on_tmpfs, "/proc/sys");
    cr_expect_str_eq(out, "sysctl: /proc/sys is not on a procfs\n");
    free(out);
    out = in_userns(CLONE_NEWNS, sysctl_on_tmpfs, "/proc/sys/net");
    cr_expect_str_eq(out, "sysctl net.ipv4.ip_forward: /proc/sys/net/ipv4/ip_forward is not on a "
                          "procfs\n");
    free(out);
}

/* ------------------------------------------------------------- personality */

static int set_personality(void *arg)
{
    md_error err = {0};
    result(md_personality_apply(arg, &err), &err);
    struct utsname u;
    uname(&u);
    printf("%#x %s\n", (unsigned)personality(0xffffffff), u.machine);
    return 0;
}

Test(personality, linux32_changes_uname_machine)
{
    struct utsname host;
    uname(&host);
    if (strcmp(host.machine, "x86_64") != 0)
        cr_skip_test("the i686 check is for x86_64 hosts, this is %s", host.machine);
    md_personality p = {.domain = "LINUX32"};
    char *out = in_userns(0, set_personality, &p);
    cr_expect_str_eq(out, "ok\n0x8 i686\n");
    free(out);
}

Test(personality, linux_is_the_default_persona)
{
    md_personality p = {.domain = "LINUX"};
    char *out = in_userns(0, set_personality, &p);
    struct utsname host;
    uname(&host);
    char *want = fx_fmt("ok\n0 %s\n", host.machine);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

Test(personality, unknown_domain_and_flags_are_refused)
{
    md_error err = {0};
    md_personality p = {.domain = "BSD"};
    cr_assert_lt(md_personality_apply(&p, &err), 0);
    cr_expect_str_eq(err.msg, "unknown personality domain \"BSD\"");
    md_personality q = {.domain = "LINUX", .flags = (char *[]){"ADDR_NO_RANDOMIZE"}, .n_flags = 1};
    cr_assert_lt(md_personality_apply(&q, &err), 0);
    cr_expect_str_eq(err.msg, "personality flag \"ADDR_NO_RANDOMIZE\": not supported");
    md_error_clear(&err);
}

/* ----------------------------------------------------------------- keyring */

static long session_keyring(void)
{
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}

static int join_keyring(void *arg)
{
    md_error err = {0};
    result(md_session_keyring_new(arg, &err), &err);
    char desc[256] = "";
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, desc, sizeof(desc));
    if (n < 0)
        printf("describe: %s\n", strerror(errno));
    /* type;uid;gid;perm;name: the ids depend on the namespace, drop them. */
    char *perm = strchr(desc, ';');
    for (int i = 0; perm && i < 2; i++)
        perm = strchr(perm + 1, ';');
    printf("%s\n", perm ? perm + 1 : desc);

    /* What `exec` into the container does: a process of the same user with
     * another session keyring joins this one by name. */
    long mine = session_keyring();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
        long other = session_keyring();
        result(md_session_keyring_new(arg, &err), &err);
        printf("%s\n", other != mine && session_keyring() == mine ? "same keyring" : "another");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}

Test(keyring, joins_a_named_session_keyring_others_can_join)
{
    char *name = fx_fmt("mdrun-test-%d", (int)getpid());
    char *out = in_userns(0, join_keyring, name);
    char *want = fx_fmt("ok\n3f1b0000;%s\nok\nsame keyring\n", name);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
    free(name);
}

/* ------------------------------------------------------------- io priority */

static int set_ioprio(void *arg)
{
    md_error err = {0};
    result(md_io_priority_apply(arg, &err), &err);
    printf("%ld\n", syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0));
    return 0;
}

Test(ioprio, best_effort_and_idle_classes)
{
    md_io_priority be = {.class_ = "IOPRIO_CLASS_BE", .priority = 6};
    char *out = in_userns(0, set_ioprio, &be);
    char *want = fx_fmt("ok\n%d\n", (int)IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6));
    cr_expect_str_eq(out, want);
    free(want);
    free(out);

    md_io_priority idle = {.class_ = "IOPRIO_CLASS_IDLE", .priority = 0};
    out = in_userns(0, set_ioprio, &idle);
    want = fx_fmt("ok\n%d\n", (int)IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

Test(ioprio, realtime_class_needs_host_privilege)
{
    /* The child is root only in its own user namespace. */
    md_io_priority rt = {.class_ = "IOPRIO_CLASS_RT", .priority = 0};
    char *out = in_userns(0, set_ioprio, &rt);
    const char *want = "ioprio_set IOPRIO_CLASS_RT 0: Operation not permitted\n";
    cr_expect(strncmp(out, want, strlen(want)) == 0, "%s", out);
    free(out);
}

Test(ioprio, bad_class_and_level_are_refused)
{
    md_error err = {0};
    md_io_priority bad = {.class_ = "IOPRIO_CLASS_NONE", .priority = 0};
    cr_assert_lt(md_io_priority_apply(&bad, &err), 0);
    cr_expect_str_eq(err.msg, "unknown I/O priority class \"IOPRIO_CLASS_NONE\"");
    md_io_priority high = {.class_ = "IOPRIO_CLASS_BE", .priority = 8};
    cr_assert_lt(md_io_priority_apply(&high, &err), 0);
    cr_expect_str_eq(err.msg, "I/O priority 8: must be 0 to 7");
    md_error_clear(&err);
}

/* --------------------------------------------------------------- scheduler */

static int set_scheduler(void *arg)
{
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_RTPRIO, &none); /* no real-time without privilege */
    md_error err = {0};
    result(md_scheduler_apply(arg, &err), &err);
    printf("%#x %d\n", (unsigned)sched_getscheduler(0), getpriority(PRIO_PROCESS, 0));
    return 0;
}

Test(scheduler, batch_with_nice_and_flags)
{
    md_scheduler s = {.policy = "SCHED_BATCH", .has_nice = true, .nice = 7};
    char *out = in_userns(0, set_scheduler, &s);
    cr_expect_str_eq(out, "ok\n0x3 7\n");
    free(out);

    md_scheduler f = {
        .policy = "SCHED_IDLE",
        .flags = (char *[]){"SCHED_FLAG_RESET_ON_FORK"},
        .n_flags = 1,
    };
    out = in_userns(0, set_scheduler, &f);
    char *want = fx_fmt("ok\n%#x 0\n", SCHED_IDLE | SCHED_RESET_ON_FORK);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

Test(scheduler, realtime_without_privilege_names_the_policy)
{
    md_scheduler s = {.policy = "SCHED_FIFO", .has_priority = true, .priority = 10};
    char *out = in_userns(0, set_scheduler, &s);
    cr_expect_str_eq(out, "sched_setattr SCHED_FIFO: Operation not permitted\n0 0\n");
    free(out);
}

Test(scheduler, unsupported_names_are_refused)
{
    md_error err = {0};
    md_scheduler iso = {.policy = "SCHED_ISO"};
    cr_assert_lt(md_scheduler_apply(&iso, &err), 0);
    cr_expect_str_eq(err.msg, "scheduler policy \"SCHED_ISO\": not supported");
    md_scheduler flag = {
        .policy = "SCHED_OTHER", .flags = (char *[]){"SCHED_FLAG_X"}, .n_flags = 1};
    cr_assert_lt(md_scheduler_apply(&flag, &err), 0);
    cr_expect_str_eq(err.msg, "scheduler flag \"SCHED_FLAG_X\": not supported");
    md_error_clear(&err);
}

/* ----------------------------------------------------------- memory policy */

static int set_mempolicy_child(void *arg)
{
    md_error err = {0};
    result(md_memory_policy_apply(arg, &err), &err);
    int mode = -1;
    unsigned long mask[16] = {0};
    if (syscall(SYS_get_mempolicy, &mode, mask, sizeof(mask) * 8, NULL, 0) < 0)
        printf("get_mempolicy: %s\n", strerror(errno));
    printf("%#x %#lx\n", (unsigned)mode, mask[0]);
    return 0;
}

static void need_numa(void)
{
    if (syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0) < 0 && errno == ENOSYS)
        cr_skip_test("this kernel has no NUMA support (CONFIG_NUMA)");
}

Test(mempolicy, bind_to_node_zero_with_a_flag)
{
    need_numa();
    md_memory_policy p = {
        .mode = "MPOL_BIND",
        .nodes = "0",
        .flags = (char *[]){"MPOL_F_STATIC_NODES"},
        .n_flags = 1,
    };
    char *out = in_userns(0, set_mempolicy_child, &p);
    char *want = fx_fmt("ok\n%#x 0x1\n", MPOL_BIND | MPOL_F_STATIC_NODES);
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

Test(mempolicy, default_has_no_nodes)
{
    need_numa();
    md_memory_policy p = {.mode = "MPOL_DEFAULT"};
    char *out = in_userns(0, set_mempolicy_child, &p);
    cr_expect_str_eq(out, "ok\n0 0\n");
    free(out);
}

Test(mempolicy, bad_node_lists_are_refused)
{
    const char *bad[] = {"0-", "3-1", "1,,2", "a", "0,", "99999", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_memory_policy p = {.mode = "MPOL_BIND", .nodes = (char *)bad[i]};
        md_error err = {0};
        cr_assert_lt(md_memory_policy_apply(&p, &err), 0, "%s", bad[i]);
        char *want = fx_fmt("memory policy nodes \"%s\": not a list such as 0-3,7", bad[i]);
        cr_expect_str_eq(err.msg, want);
        free(want);
        md_error_clear(&err);
    }
}

Test(mempolicy, node_the_kernel_lacks_is_named)
{
    need_numa();
    md_memory_policy p = {.mode = "MPOL_BIND", .nodes = "1000"};
    char *out = in_userns(0, set_mempolicy_child, &p);
    cr_expect_str_eq(out, "set_mempolicy MPOL_BIND 1000: Invalid argument\n0 0\n");
    free(out);
}

/* ------------------------------------------------- affinity, no_new_privs */

static int set_affinity(void *arg)
{
    md_error err = {0};
    result(md_cpu_affinity_apply(0, arg, &err), &err);
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    printf("%d %d\n", CPU_COUNT(&set), CPU_ISSET(0, &set));
    return 0;
}

Test(affinity, pins_the_process_to_a_cpu_list)
{
    char *out = in_userns(0, set_affinity, "0");
    cr_expect_str_eq(out, "ok\n1 1\n");
    free(out);

    cpu_set_t mine;
    cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
    char *want = fx_fmt("ok\n%d %d\n", CPU_COUNT(&mine), CPU_ISSET(0, &mine) ? 1 : 0);
    out = in_userns(0, set_affinity, ""); /* empty: left alone */
    cr_expect_str_eq(out, want);
    free(want);
    free(out);
}

Test(affinity, parent_sets_a_child_and_bad_lists_are_refused)
{
    int wake;
    pid_t pid = sleeper(&wake);
    md_error err = {0};
    cr_assert_eq(md_cpu_affinity_apply(pid, "0", &err), 0, "%s", err.msg);
    cpu_set_t set;
    cr_assert_eq(sched_getaffinity(pid, sizeof(set), &set), 0);
    cr_expect_eq(CPU_COUNT(&set), 1);
    cr_expect(CPU_ISSET(0, &set));
    reap(pid, wake);

    cr_assert_lt(md_cpu_affinity_apply(0, "0-x", &err), 0);
    cr_expect_str_eq(err.msg, "cpu affinity \"0-x\": not a list such as 0-3,7");
    md_error_clear(&err);
}

static int set_nnp(void *arg)
{
    md_error err = {0};
    result(md_no_new_privs_apply(*(bool *)arg, &err), &err);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "NoNewPrivs:", 11) == 0)
            fputs(line, stdout);
    if (f)
        fclose(f);
    return 0;
}

Test(nnp, sets_no_new_privs_only_when_asked)
{
    bool on = true, off = false;
    char *out = in_userns(0, set_nnp, &on);
    cr_expect_str_eq(out, "ok\nNoNewPrivs:\t1\n");
    free(out);
    out = in_userns(0, set_nnp, &off);
    cr_expect_str_eq(out, "ok\nNoNewPrivs:\t0\n");
    free(out);
}

/* ---------------------------------------------------------------- execpath */

static char *tree;

static void make_tree(void)
{
    tree = fx_tmpdir();
    const char *dirs[] = {"empty", "bin", "bin/sub", "other"};
    for (size_t i = 0; i < 4; i++) {
        char *d = fx_fmt("%s/%s", tree, dirs[i]);
        cr_assert_eq(mkdir(d, 0755), 0);
        free(d);
    }
    const struct {
        const char *name;
        mode_t mode;
    } files[] = {
        {"bin/tool", 0755},     {"bin/noexec", 0644}, {"other/tool", 0755},
        {"other/noexec", 0700}, {"other/sub", 0755},  {"other/only", 0100},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char *f = fx_fmt("%s/%s", tree, files[i].name);
        fx_write(f, "#!/bin/sh\n");
        cr_assert_eq(chmod(f, files[i].mode), 0);
        free(f);
    }
}

static void remove_tree(void)
{
    fx_rmtree(tree);
    free(tree);
}

TestSuite(execpath, .init = make_tree, .fini = remove_tree);

/* Look name up with PATH set to the given directories of the tree. */
static char *find_in(const char *name, const char *dirs, md_error *err)
{
    char *path = fx_fmt("PATH=%s", dirs);
    char *env[] = {"HOME=/root", path};
    char *found = md_find_executable(name, env, 2, err);
    free(path);
    return found;
}

static void expect_found(const char *name, const char *dirs, const char *want_rel)
{
    md_error err = {0};
    char *found = find_in(name, dirs, &err);
    char *want = want_rel[0] == '.' ? strdup(want_rel) : fx_fmt("%s/%s", tree, want_rel);
    cr_assert(found, "%s: %s", name, err.msg);
    cr_expect_str_eq(found, want);
    free(want);
    free(found);
}

Test(execpath, bare_name_takes_the_first_executable_in_path)
{
    char *dirs = fx_fmt("%s/empty:%s/bin:%s/other", tree, tree, tree);
    expect_found("tool", dirs, "bin/tool");
    /* Not executable, or a directory: the search goes on. */
    expect_found("noexec", dirs, "other/noexec");
    expect_found("sub", dirs, "other/sub");
    /* Any execute bit will do, the kernel judges the rest. */
    expect_found("only", dirs, "other/only");
    free(dirs);
}

Test(execpath, not_found_in_path)
{
    char *dirs = fx_fmt("%s/empty:%s/bin", tree, tree);
    md_error err = {0};
    cr_assert_null(find_in("nothere", dirs, &err));
    cr_expect_str_eq(err.msg, "exec: \"nothere\": executable file not found in $PATH");
    cr_expect_eq(err.errnum, ENOENT);
    cr_assert_null(find_in("", dirs, &err));
    cr_expect_str_eq(err.msg, "exec: \"\": executable file not found in $PATH");
    md_error_clear(&err);
    free(dirs);
}

Test(execpath, last_path_in_env_wins)
{
    char *first = fx_fmt("PATH=%s/other", tree);
    char *last = fx_fmt("PATH=%s/bin", tree);
    char *env[] = {first, last};
    md_error err = {0};
    char *found = md_find_executable("tool", env, 2, &err);
    char *want = fx_fmt("%s/bin/tool", tree);
    cr_expect_str_eq(found, want);
    free(found);
    free(want);
    free(first);
    free(last);
}

Test(execpath, empty_path_element_is_the_cwd)
{
    char *bin = fx_fmt("%s/bin", tree);
    cr_assert_eq(chdir(bin), 0);
    expect_found("tool", "", "./tool");
    char *dirs = fx_fmt("%s/empty::%s/other", tree, tree);
    expect_found("tool", dirs, "./tool");
    free(dirs);
    free(bin);
}

Test(execpath, without_path_the_default_is_searched)
{
    char *env[] = {"HOME=/root"};
    md_error err = {0};
    char *found = md_find_executable("sh", env, 1, &err);
    cr_assert(found, "%s", err.msg);
    const char *dirs[] = {"/usr/local/sbin/", "/usr/local/bin/", "/usr/sbin/",
                          "/usr/bin/",        "/sbin/",          "/bin/"};
    bool in_default = false;
    for (size_t i = 0; i < 6; i++)
        in_default |=
            strlen(found) == strlen(dirs[i]) + 2 && strncmp(found, dirs[i], strlen(dirs[i])) == 0;
    cr_expect(in_default, "%s", found);
    free(found);
    cr_assert_null(md_find_executable("tool", env, 0, &err));
    md_error_clear(&err);
}

static void expect_path_error(const char *rel, const char *what, int errnum)
{
    char *path = rel[0] == '.' ? strdup(rel) : fx_fmt("%s/%s", tree, rel);
    md_error err = {0};
    cr_assert_null(md_find_executable(path, NULL, 0, &err), "%s", path);
    char *want = fx_fmt("exec: \"%s\": %s", path, what);
    cr_expect_str_eq(err.msg, want);
    cr_expect_eq(err.errnum, errnum);
    free(want);
    free(path);
    md_error_clear(&err);
}

Test(execpath, names_with_a_slash_are_taken_as_they_are)
{
    md_error err = {0};
    char *path = fx_fmt("%s/bin/tool", tree);
    char *found = md_find_executable(path, NULL, 0, &err);
    cr_expect_str_eq(found, path);
    free(found);
    free(path);

    expect_path_error("bin/missing", "no such file or directory", ENOENT);
    expect_path_error("bin/sub", "is a directory", EISDIR);
    expect_path_error("bin/noexec", "permission denied", EACCES);
    expect_path_error("bin/tool/x", "not a directory", ENOTDIR);

    char *other = fx_fmt("%s/other", tree);
    cr_assert_eq(chdir(other), 0);
    found = md_find_executable("./tool", NULL, 0, &err);
    cr_expect_str_eq(found, "./tool");
    free(found);
    expect_path_error("./missing", "no such file or directory", ENOENT);
    free(other);
}
