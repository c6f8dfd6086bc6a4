/* test-seccomp.c - linux.seccomp compiled (md_seccomp_compile), cached
 * (md_seccomp_prepare), loaded in a forked child that then makes the
 * system call under test, and the listener hand-over to an agent. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "defaults.h"
#include "fdpass.h"
#include "fixture.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"

/* ---------------------------------------------------------------- helpers */

/* A spec whose linux.seccomp is the given JSON object. */
static md_spec *spec_with(const char *seccomp_json)
{
    char *json = fx_fmt("{\"ociVersion\": \"1.2.0\", \"linux\": {\"seccomp\": %s}}", seccomp_json);
    md_spec *spec = NULL;
    md_errors problems = {0};
    int rc = md_spec_load_string(json, strlen(json), "config.json", &spec, &problems);
    cr_assert_eq(rc, 0, "%s: %s", json, problems.n ? problems.msgs[0] : "?");
    md_errors_clear(&problems);
    free(json);
    return spec;
}

static struct md_seccomp_program *compile_ok(const char *seccomp_json)
{
    md_spec *spec = spec_with(seccomp_json);
    struct md_seccomp_program *prog = NULL;
    md_error err = {0};
    cr_assert_eq(md_seccomp_compile(spec->linux_->seccomp, &prog, &err), 0, "%s: %s", seccomp_json,
                 err.msg);
    cr_assert_gt(prog->len, 0);
    md_spec_free(spec);
    return prog;
}

/* The error message of a compilation that must fail. */
static char *compile_fails(const char *seccomp_json)
{
    md_spec *spec = spec_with(seccomp_json);
    struct md_seccomp_program *prog = NULL;
    md_error err = {0};
    cr_assert_lt(md_seccomp_compile(spec->linux_->seccomp, &prog, &err), 0, "%s compiled",
                 seccomp_json);
    cr_assert_null(prog);
    md_spec_free(spec);
    return err.msg;
}

/* Load prog in a forked child, then call syscall nr with arg0 there.
 * Returns the child's wait status; the child exits with 0 when the call
 * succeeded and with its errno otherwise. */
static int call_filtered(const struct md_seccomp_program *prog, long nr, long arg0)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* No core file from the SIGSYS of a trap. */
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        md_error err = {0};
        int listener;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            md_seccomp_load(prog, &listener, &err) < 0)
            _exit(200);
        long rc = syscall(nr, arg0, 0, 0, 0, 0, 0);
        /* Straight to the kernel: the sanitizers' _exit runs a leak check
         * whose system calls the filter may deny. */
        syscall(SYS_exit_group, rc < 0 ? errno : 0);
        _exit(201);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

/* The outcome of call_filtered as text: "ok", "errno N" or "signal N". */
static char *outcome(const struct md_seccomp_program *prog, long nr, long arg0)
{
    int status = call_filtered(prog, nr, arg0);
    cr_assert_neq(WIFEXITED(status) && WEXITSTATUS(status) == 200, true,
                  "the child could not load the filter");
    if (WIFSIGNALED(status))
        return fx_fmt("signal %d", WTERMSIG(status));
    return WEXITSTATUS(status) ? fx_fmt("errno %d", WEXITSTATUS(status)) : strdup("ok");
}

#define EXPECT_OUTCOME(prog, nr, arg0, expected)                          \
    do {                                                                  \
        char *got_ = outcome((prog), (nr), (arg0));                       \
        cr_expect_str_eq(got_, (expected), "%s(%ld)", #nr, (long)(arg0)); \
        free(got_);                                                       \
    } while (0)

/* getpgid(0) succeeds unfiltered; getpgid of a pid above any pid_max
 * fails with ESRCH (errno 3): the conditions below compare arguments
 * from B on. */
#define B 0x10000000L

/* ---------------------------------------------------------------- actions */

Test(seccomp, errno_action_returns_errno_ret)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpgid\"], "
        "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 42");
    EXPECT_OUTCOME(prog, SYS_getppid, 0, "ok");
    cr_expect_not(prog->notify);
    md_seccomp_program_free(prog);
}

Test(seccomp, errno_without_errno_ret_is_eperm)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpgid\"], "
        "\"action\": \"SCMP_ACT_ERRNO\"}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 1");
    md_seccomp_program_free(prog);
}

/* The default action applies to every call no rule names; exit and
 * exit_group stay allowed so the child can report. */
Test(seccomp, default_errno_ret)
{
    struct md_seccomp_program *prog =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 77, "
                   "\"syscalls\": [{\"names\": [\"exit\", \"exit_group\", \"getppid\"], "
                   "\"action\": \"SCMP_ACT_ALLOW\"}]}");
    cr_expect_eq(prog->default_errno, 77);
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 77");
    EXPECT_OUTCOME(prog, SYS_getppid, 0, "ok");
    md_seccomp_program_free(prog);
}

static void expect_action(const char *action, const char *expected)
{
    char *json = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                        "[\"getpgid\"], \"action\": \"%s\"}]}",
                        action);
    struct md_seccomp_program *prog = compile_ok(json);
    char *got = outcome(prog, SYS_getpgid, 0);
    cr_expect_str_eq(got, expected, "%s", action);
    free(got);
    free(json);
    md_seccomp_program_free(prog);
}

Test(seccomp, kill_actions_kill_with_sigsys)
{
    expect_action("SCMP_ACT_KILL", "signal 31");
    expect_action("SCMP_ACT_KILL_THREAD", "signal 31");
    expect_action("SCMP_ACT_KILL_PROCESS", "signal 31");
    /* A trap delivers SIGSYS, which kills a process without a handler. */
    expect_action("SCMP_ACT_TRAP", "signal 31");
}

Test(seccomp, log_and_allow_let_the_call_through)
{
    expect_action("SCMP_ACT_LOG", "ok");
    struct md_seccomp_program *prog =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
                   "[\"getpgid\", \"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "ok");
    EXPECT_OUTCOME(prog, SYS_getppid, 0, "errno 1");
    md_seccomp_program_free(prog);
}

/* Without a tracer, a traced call fails with ENOSYS (seccomp(2)). */
Test(seccomp, trace_without_tracer_is_enosys)
{
    expect_action("SCMP_ACT_TRACE", "errno 38");
}

/* ------------------------------------------------------------- notify */

/* The child loads a filter sending getpgid to a listener, hands the
 * listener to us, and reports the errno its getpgid got: the one we
 * answer. */
Test(seccomp, notify_listener_answers_the_call)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/x\", \"syscalls\": "
        "[{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}");
    cr_assert(prog->notify);
    int pair[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(pair[0]);
        md_error err = {0};
        int listener = -1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            md_seccomp_load(prog, &listener, &err) < 0 || listener < 0 ||
            md_send_with_fds(pair[1], "L", 1, &listener, 1) != 1)
            _exit(200);
        close(listener);
        long rc = syscall(SYS_getpgid, 0);
        _exit(rc < 0 ? errno : 0);
    }
    close(pair[1]);
    char byte;
    int listener = -1;
    size_t nfds = 0;
    cr_assert_eq(md_recv_with_fds(pair[0], &byte, 1, &listener, 1, &nfds), 1);
    cr_assert_eq(nfds, 1);
    struct seccomp_notif req;
    memset(&req, 0, sizeof(req));
    cr_assert_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0, "%s", strerror(errno));
    cr_expect_eq(req.data.nr, SYS_getpgid);
    cr_expect_eq(req.pid, (uint32_t)pid);
    struct seccomp_notif_resp resp = {.id = req.id, .error = -EXDEV};
    cr_assert_eq(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0, "%s", strerror(errno));
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == EXDEV, "status 0x%x", status);
    close(listener);
    close(pair[0]);
    md_seccomp_program_free(prog);
}

/* ---------------------------------------------------------- conditions */

struct op_case {
    const char *op;
    const char *value; /* value, and valueTwo when needed */
    long denied[3];    /* arguments the rule matches, 0-terminated */
    long allowed[3];
};

/* Each operator of the spec on getpgid's argument, around B + 100. */
static const struct op_case op_cases[] = {
    {"SCMP_CMP_NE", "\"value\": 268435556", {B + 50, B + 150}, {B + 100}},
    {"SCMP_CMP_LT", "\"value\": 268435556", {B + 50}, {B + 100, B + 150}},
    {"SCMP_CMP_LE", "\"value\": 268435556", {B + 50, B + 100}, {B + 150}},
    {"SCMP_CMP_EQ", "\"value\": 268435556", {B + 100}, {B + 50, B + 150}},
    {"SCMP_CMP_GE", "\"value\": 268435556", {B + 100, B + 150}, {B + 50}},
    {"SCMP_CMP_GT", "\"value\": 268435556", {B + 150}, {B + 50, B + 100}},
    /* value is the mask, valueTwo what the masked argument must equal:
     * swapping them would match nothing here. */
    {"SCMP_CMP_MASKED_EQ",
     "\"value\": 240, \"valueTwo\": 96",
     {B + 0x60, B + 0x65},
     {B + 0x56, B + 0xf0}},
};

Test(seccomp, every_operator)
{
    for (size_t i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
        const struct op_case *c = &op_cases[i];
        char *json = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                            "[\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, "
                            "\"args\": [{\"index\": 0, %s, \"op\": \"%s\"}]}]}",
                            c->value, c->op);
        struct md_seccomp_program *prog = compile_ok(json);
        for (size_t j = 0; j < 3 && c->denied[j]; j++) {
            char *got = outcome(prog, SYS_getpgid, c->denied[j]);
            cr_expect_str_eq(got, "errno 99", "%s: %ld must be denied", c->op, c->denied[j]);
            free(got);
        }
        for (size_t j = 0; j < 3 && c->allowed[j]; j++) {
            char *got = outcome(prog, SYS_getpgid, c->allowed[j]);
            cr_expect_str_eq(got, "errno 3", "%s: %ld must reach the kernel (ESRCH)", c->op,
                             c->allowed[j]);
            free(got);
        }
        free(json);
        md_seccomp_program_free(prog);
    }
}

/* Two conditions on different arguments: both must hold. */
Test(seccomp, conditions_on_different_arguments_all_hold)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpgid\"], "
        "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, \"args\": [{\"index\": 0, \"value\": "
        "268435556, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 1, \"value\": 0, \"op\": "
        "\"SCMP_CMP_EQ\"}]}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, B + 100, "errno 99");
    EXPECT_OUTCOME(prog, SYS_getpgid, B + 101, "errno 3");
    md_seccomp_program_free(prog);
}

/* Two conditions on one argument: either matches (libseccomp cannot AND
 * them; runc makes them separate rules too). */
Test(seccomp, conditions_on_one_argument_any_matches)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpgid\"], "
        "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, \"args\": [{\"index\": 0, \"value\": "
        "268435506, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 0, \"value\": 268435516, "
        "\"op\": \"SCMP_CMP_EQ\"}]}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, B + 50, "errno 99");
    EXPECT_OUTCOME(prog, SYS_getpgid, B + 60, "errno 99");
    EXPECT_OUTCOME(prog, SYS_getpgid, B + 70, "errno 3");
    md_seccomp_program_free(prog);
}

/* ------------------------------------------------- names, archs, flags */

Test(seccomp, unknown_syscall_names_are_skipped)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
        "[\"mdrun_no_such_call\", \"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}, "
        "{\"names\": [\"another_unknown_call\"], \"action\": \"SCMP_ACT_KILL\"}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 42");
    EXPECT_OUTCOME(prog, SYS_getppid, 0, "ok");
    md_seccomp_program_free(prog);
}

/* A rule with the default action changes nothing (libseccomp would refuse
 * it). */
Test(seccomp, rule_with_the_default_action_is_skipped)
{
    struct md_seccomp_program *prog =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                   "[\"getpgid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "ok");
    md_seccomp_program_free(prog);
}

Test(seccomp, architectures)
{
#if defined(__x86_64__)
#define RULE "\"syscalls\": [{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\"}]"
    struct md_seccomp_program *native =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", " RULE "}");
    struct md_seccomp_program *three = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\", "
        "\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], " RULE "}");
#undef RULE
    /* Each architecture adds its own check to the program. */
    cr_expect_gt(three->len, native->len);
    md_seccomp_program_free(native);
    md_seccomp_program_free(three);
#endif
    char *msg = compile_fails(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}");
    cr_expect(strstr(msg, "linux.seccomp.architectures[0]") && strstr(msg, "SCMP_ARCH_VAX"), "%s",
              msg);
    free(msg);
}

/* Validation refuses an unknown architecture before compilation. */
Test(seccomp, unknown_arch_refused_by_validation)
{
    md_spec *spec = spec_with(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_VAX\"]}");
    md_errors problems = {0};
    cr_expect_neq(md_spec_validate(spec, "config.json", &problems), 0);
    bool named = false;
    for (size_t i = 0; i < problems.n; i++)
        named = named || strstr(problems.msgs[i], "SCMP_ARCH_VAX");
    cr_expect(named);
    md_errors_clear(&problems);
    md_spec_free(spec);
}

Test(seccomp, errno_ret_on_an_action_without_errno_fails)
{
    char *msg = compile_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": "
                              "[\"getpgid\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}");
    cr_expect(strstr(msg, "linux.seccomp.syscalls[0].errnoRet") && strstr(msg, "SCMP_ACT_KILL"),
              "%s", msg);
    free(msg);
}

Test(seccomp, flags_are_passed_to_the_kernel)
{
    struct md_seccomp_program *prog = compile_ok(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_TSYNC\", "
        "\"SECCOMP_FILTER_FLAG_LOG\", \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"], \"syscalls\": "
        "[{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
    cr_expect_eq(prog->flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG |
                                  SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 42");
    md_seccomp_program_free(prog);
}

/* The kernel takes WAIT_KILLABLE_RECV only with a listener: skipped
 * without one (and by a libseccomp that does not know it). */
Test(seccomp, wait_killable_recv_without_listener_is_skipped)
{
    struct md_seccomp_program *prog =
        compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
                   "[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"], \"syscalls\": [{\"names\": "
                   "[\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
    cr_expect_eq(prog->flags, 0);
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "errno 42");
    md_seccomp_program_free(prog);
}

/* ------------------------------------------------------ default profile */

/* The profile of `mdrun spec` compiles, and under it a dynamically linked
 * program runs while privileged calls get EPERM and unlisted ones ENOSYS. */
Test(seccomp, default_profile)
{
    md_spec *spec = md_spec_default(false);
    cr_assert_not_null(spec);
    struct md_seccomp_program *prog = NULL;
    md_error err = {0};
    cr_assert_eq(md_seccomp_compile(spec->linux_->seccomp, &prog, &err), 0, "%s", err.msg);
    md_spec_free(spec);
    EXPECT_OUTCOME(prog, SYS_getpgid, 0, "ok");
    EXPECT_OUTCOME(prog, SYS_unshare, 0, "errno 1");
    EXPECT_OUTCOME(prog, SYS_clone3, 0, "errno 38");
    EXPECT_OUTCOME(prog, SYS_personality, 0xffffffff, "ok");
    EXPECT_OUTCOME(prog, SYS_personality, 0x0400000, "errno 38");
#ifdef SYS_io_uring_setup
    EXPECT_OUTCOME(prog, SYS_io_uring_setup, 0, "errno 38");
#endif
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int listener;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            md_seccomp_load(prog, &listener, &err) < 0)
            _exit(200);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execlp("sh", "sh", "-c", "ls / && id && cat /proc/self/status", (char *)NULL);
        _exit(201);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    md_seccomp_program_free(prog);
}

/* ---------------------------------------------------------------- cache */

static const char *const cached_json =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], "
    "\"syscalls\": [{\"names\": [\"getpgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": "
    "42}]}";

static struct md_seccomp_program *prepare(const char *json, const char *dir)
{
    md_spec *spec = spec_with(json);
    struct md_seccomp_program *prog = NULL;
    md_error err = {0};
    cr_assert_eq(md_seccomp_prepare(spec->linux_->seccomp, dir, &prog, &err), 0, "%s", err.msg);
    md_spec_free(spec);
    return prog;
}

static void expect_same(const struct md_seccomp_program *a, const struct md_seccomp_program *b)
{
    cr_assert_eq(a->len, b->len);
    cr_expect_eq(memcmp(a->filter, b->filter, a->len * sizeof(*a->filter)), 0);
    cr_expect_eq(a->flags, b->flags);
    cr_expect_eq(a->notify, b->notify);
    cr_expect_eq(a->default_errno, b->default_errno);
}

/* The one file of the cache directory; caller frees. */
static char *only_entry(const char *dir)
{
    char *cmd = fx_fmt("ls -A %s", dir);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    cr_assert_not_null(fgets(line, sizeof(line), p), "%s is empty", dir);
    char extra[256];
    cr_expect_null(fgets(extra, sizeof(extra), p), "%s holds more than one entry", dir);
    pclose(p);
    free(cmd);
    line[strcspn(line, "\n")] = '\0';
    return fx_fmt("%s/%s", dir, line);
}

static size_t count_entries(const char *dir)
{
    char *cmd = fx_fmt("ls -A %s 2>/dev/null | wc -l", dir);
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    cr_assert_eq(fscanf(p, "%zu", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

Test(seccomp, cache_hit_gives_the_same_program)
{
    char *tmp = fx_tmpdir();
    char *dir = fx_fmt("%s/cache/mdrun/seccomp", tmp);
    struct md_seccomp_program *first = prepare(cached_json, dir);
    cr_expect_not(first->from_cache);
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0, "the cache directory was not made");
    cr_expect_eq(st.st_mode & 0777, 0700);
    char *entry = only_entry(dir);
    cr_assert_eq(stat(entry, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0600);

    struct md_seccomp_program *second = prepare(cached_json, dir);
    cr_expect(second->from_cache, "compiled again instead of read from the cache");
    expect_same(first, second);
    EXPECT_OUTCOME(second, SYS_getpgid, 0, "errno 42");

    /* Another config has an entry of its own. */
    struct md_seccomp_program *other = prepare("{\"defaultAction\": \"SCMP_ACT_LOG\"}", dir);
    cr_expect_not(other->from_cache);
    cr_expect_eq(count_entries(dir), 2);
    md_seccomp_program_free(first);
    md_seccomp_program_free(second);
    md_seccomp_program_free(other);
    free(entry);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* The listener's path and metadata do not shape the program. */
Test(seccomp, cache_ignores_listener_fields)
{
    char *tmp = fx_tmpdir();
    const char *a = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/a\", "
                    "\"listenerMetadata\": \"one\", \"syscalls\": [{\"names\": [\"getpgid\"], "
                    "\"action\": \"SCMP_ACT_NOTIFY\"}]}";
    const char *b = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"/b\", "
                    "\"listenerMetadata\": \"two\", \"syscalls\": [{\"names\": [\"getpgid\"], "
                    "\"action\": \"SCMP_ACT_NOTIFY\"}]}";
    struct md_seccomp_program *first = prepare(a, tmp);
    struct md_seccomp_program *second = prepare(b, tmp);
    cr_expect(second->from_cache);
    cr_expect(second->notify);
    expect_same(first, second);
    md_seccomp_program_free(first);
    md_seccomp_program_free(second);
    fx_rmtree(tmp);
    free(tmp);
}

static void corrupt_and_check(void (*damage)(const char *path))
{
    char *dir = fx_tmpdir();
    struct md_seccomp_program *good = prepare(cached_json, dir);
    char *entry = only_entry(dir);
    damage(entry);
    struct md_seccomp_program *again = prepare(cached_json, dir);
    cr_expect_not(again->from_cache, "a damaged entry was used");
    expect_same(good, again);
    /* ... and rewritten: the next run reads it. */
    struct md_seccomp_program *third = prepare(cached_json, dir);
    cr_expect(third->from_cache, "the damaged entry was not replaced");
    expect_same(good, third);
    md_seccomp_program_free(good);
    md_seccomp_program_free(again);
    md_seccomp_program_free(third);
    free(entry);
    fx_rmtree(dir);
    free(dir);
}

static void truncate_half(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
}

static void flip_last_byte(const char *path)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t end = lseek(fd, -1, SEEK_END);
    unsigned char byte;
    cr_assert_eq(pread(fd, &byte, 1, end), 1);
    byte ^= 0x40;
    cr_assert_eq(pwrite(fd, &byte, 1, end), 1);
    close(fd);
}

static void empty(const char *path)
{
    cr_assert_eq(truncate(path, 0), 0);
}

static void garbage(const char *path)
{
    fx_write(path, "MDSECCMP but nothing that makes sense after the magic, not even the sizes");
    chmod(path, 0600);
}

Test(seccomp, cache_corrupt_entries_are_recompiled)
{
    corrupt_and_check(truncate_half);
    corrupt_and_check(flip_last_byte);
    corrupt_and_check(empty);
    corrupt_and_check(garbage);
}

/* A directory others may write to could hand us their filter: unused. */
Test(seccomp, cache_open_to_others_is_not_used)
{
    char *dir = fx_tmpdir();
    cr_assert_eq(chmod(dir, 0777), 0);
    struct md_seccomp_program *first = prepare(cached_json, dir);
    struct md_seccomp_program *second = prepare(cached_json, dir);
    cr_expect_not(second->from_cache);
    cr_expect_eq(count_entries(dir), 0, "a program was written to a shared directory");
    md_seccomp_program_free(first);
    md_seccomp_program_free(second);
    fx_rmtree(dir);
    free(dir);
}

/* A symlink in place of the cache directory is not followed. */
Test(seccomp, cache_symlink_is_not_followed)
{
    char *tmp = fx_tmpdir();
    char *real = fx_fmt("%s/real", tmp);
    char *link = fx_fmt("%s/link", tmp);
    cr_assert_eq(mkdir(real, 0700), 0);
    cr_assert_eq(symlink(real, link), 0);
    struct md_seccomp_program *prog = prepare(cached_json, link);
    cr_expect_not(prog->from_cache);
    cr_expect_eq(count_entries(real), 0);
    md_seccomp_program_free(prog);
    free(real);
    free(link);
    fx_rmtree(tmp);
    free(tmp);
}

/* An entry that is not ours (put there by root, say) is not trusted. */
Test(seccomp, cache_entry_of_another_user_is_replaced)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to give a file away");
    char *dir = fx_tmpdir();
    cr_assert_eq(chmod(dir, 0700), 0);
    md_seccomp_program_free(prepare(cached_json, dir));
    char *entry = only_entry(dir);
    cr_assert_eq(chown(entry, 12345, 12345), 0);
    struct md_seccomp_program *again = prepare(cached_json, dir);
    cr_expect_not(again->from_cache);
    struct stat st;
    cr_assert_eq(stat(entry, &st), 0);
    cr_expect_eq(st.st_uid, geteuid(), "the foreign entry was not replaced");
    md_seccomp_program_free(again);
    free(entry);
    fx_rmtree(dir);
    free(dir);
}

Test(seccomp, cache_dir_follows_xdg_cache_home)
{
    char *tmp = fx_tmpdir();
    setenv("XDG_CACHE_HOME", tmp, 1);
    char *dir = NULL;
    md_error err = {0};
    cr_assert_eq(md_seccomp_cache_dir(&dir, &err), 0, "%s", err.msg);
    char *expected = fx_fmt("%s/mdrun/seccomp", tmp);
    cr_expect_str_eq(dir, expected);
    /* NULL: the default location, here the one above. */
    struct md_seccomp_program *first = prepare(cached_json, NULL);
    struct md_seccomp_program *second = prepare(cached_json, NULL);
    cr_expect(second->from_cache);
    cr_expect_eq(count_entries(expected), 1);
    md_seccomp_program_free(first);
    md_seccomp_program_free(second);
    free(expected);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* ------------------------------------------------------------- listener */

/* What the agent at listenerPath receives: the fd and the container
 * process state, in one message. */
Test(seccomp, listener_gets_fd_and_process_state)
{
    char *dir = fx_tmpdir();
    char *path = fx_fmt("%s/agent.sock", dir);
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    cr_assert_eq(bind(srv, (struct sockaddr *)&addr, sizeof(addr)), 0);
    cr_assert_eq(listen(srv, 1), 0);

    char *seccomp_json = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\", "
                                "\"listenerMetadata\": \"MKNOD=/dev/null\"}",
                                path);
    md_spec *spec = spec_with(seccomp_json);
    md_kv note = {"k", "v"};
    md_state_info info = {0};
    info.rec.id = "ctr";
    info.rec.bundle = "/bundle";
    info.rec.pid = 4422;
    info.rec.annotations = &note;
    info.rec.n_annotations = 1;
    info.has_record = true;
    info.status = MD_STATUS_CREATING;
    int pipefd[2];
    cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
    md_error err = {0};
    cr_assert_eq(md_seccomp_send_listener(spec->linux_->seccomp, pipefd[1], 4422, &info, &err), 0,
                 "%s", err.msg);

    int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(conn, 0);
    char buf[8192] = "";
    int fd = -1;
    size_t nfds = 0;
    ssize_t n = md_recv_with_fds(conn, buf, sizeof(buf) - 1, &fd, 1, &nfds);
    cr_assert_gt(n, 0);
    cr_assert_eq(nfds, 1, "no fd came with the state");
    /* The fd is the one we sent: what goes in comes out of our pipe. */
    cr_assert_eq(write(fd, "x", 1), 1);
    char byte;
    cr_expect_eq(read(pipefd[0], &byte, 1), 1);
    /* One connection, one state: mdrun closed its end. */
    char more;
    cr_expect_eq(recv(conn, &more, 1, 0), 0);

    char why[128];
    yajl_val doc = yajl_tree_parse(buf, why, sizeof(why));
    cr_assert_not_null(doc, "%s: %s", why, buf);
    const char *fds_path[] = {"fds", NULL};
    yajl_val fds = yajl_tree_get(doc, fds_path, yajl_t_array);
    cr_assert(fds && fds->u.array.len == 1, "%s", buf);
    cr_expect_str_eq(YAJL_GET_STRING(fds->u.array.values[0]), "seccompFd");
    const char *pid_path[] = {"pid", NULL};
    cr_expect_eq(YAJL_GET_INTEGER(yajl_tree_get(doc, pid_path, yajl_t_number)), 4422);
    const char *meta_path[] = {"metadata", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(doc, meta_path, yajl_t_string)),
                     "MKNOD=/dev/null");
    const char *ver_path[] = {"ociVersion", NULL};
    cr_expect_not_null(YAJL_GET_STRING(yajl_tree_get(doc, ver_path, yajl_t_string)));
    const char *id_path[] = {"state", "id", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(doc, id_path, yajl_t_string)), "ctr");
    const char *status_path[] = {"state", "status", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(doc, status_path, yajl_t_string)), "creating");
    const char *note_path[] = {"state", "annotations", "k", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(doc, note_path, yajl_t_string)), "v");
    yajl_tree_free(doc);

    close(fd);
    close(conn);
    close(srv);
    close(pipefd[0]);
    close(pipefd[1]);
    md_spec_free(spec);
    free(seccomp_json);
    free(path);
    fx_rmtree(dir);
    free(dir);
}

Test(seccomp, listener_that_is_not_there_is_an_error)
{
    char *dir = fx_tmpdir();
    char *json = fx_fmt(
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s/nobody.sock\"}", dir);
    md_spec *spec = spec_with(json);
    md_state_info info = {.rec = {.id = "ctr", .pid = 1}, .has_record = true};
    md_error err = {0};
    cr_expect_lt(md_seccomp_send_listener(spec->linux_->seccomp, 0, 1, &info, &err), 0);
    cr_expect(err.msg && strstr(err.msg, "listenerPath") && strstr(err.msg, "nobody.sock"), "%s",
              err.msg);
    md_error_clear(&err);
    md_spec_free(spec);
    free(json);
    fx_rmtree(dir);
    free(dir);
}
