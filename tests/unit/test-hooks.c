/* test-hooks.c - running hooks: stdin, argv, env, fds, order, failures,
 * timeouts. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fixture.h"
#include "hooks.h"

static char *dir;

static void setup(void)
{
    dir = fx_tmpdir();
}

static void teardown(void)
{
    fx_rmtree(dir);
    free(dir);
}

TestSuite(hooks, .init = setup, .fini = teardown, .timeout = 30);

/* A /bin/sh script in the temp dir; returns its path. */
static char *script(const char *name, const char *body)
{
    char *path = fx_fmt("%s/%s", dir, name);
    char *text = fx_fmt("#!/bin/sh\n%s\n", body);
    fx_write(path, text);
    cr_assert_eq(chmod(path, 0755), 0);
    free(text);
    return path;
}

static char *in_dir(const char *name)
{
    return fx_fmt("%s/%s", dir, name);
}

static char *read_in_dir(const char *name)
{
    char *path = in_dir(name);
    char *text = fx_read(path, NULL);
    free(path);
    return text;
}

/* The shell's own PWD, the one variable dash adds to an empty env. */
static char *pwd_line(void)
{
    char *cwd = getcwd(NULL, 0);
    cr_assert(cwd);
    char *line = fx_fmt("PWD=%s\n", cwd);
    free(cwd);
    return line;
}

/* Run one hook; on failure return the message (caller frees), else NULL. */
static char *run1(const char *kind, md_hook *h, const char *state)
{
    md_error err = {0};
    if (md_hooks_run(kind, h, 1, state, &err) == 0) {
        cr_assert_null(err.msg);
        return NULL;
    }
    cr_assert(err.msg);
    return err.msg;
}

/* Run one hook that must fail; return the message (caller frees). */
static char *run_fail(const char *kind, md_hook *h, const char *state)
{
    char *msg = run1(kind, h, state);
    cr_assert_not_null(msg, "the %s hook succeeded", kind);
    return msg;
}

Test(hooks, state_arrives_exactly_on_stdin)
{
    char *out = in_dir("stdin");
    char *body = fx_fmt("/bin/cat > '%s'", out);
    md_hook h = {.path = script("copy", body)};
    const char *state = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\","
                        "\"pid\":42,\"bundle\":\"/b\"}";
    cr_assert_null(run1("prestart", &h, state));
    char *got = read_in_dir("stdin");
    cr_assert_str_eq(got, state);
    free(got);
    free(body);
    free(out);
    free(h.path);
}

Test(hooks, argv_and_env_exactly_as_given)
{
    char *cmd = fx_fmt("/usr/bin/tr '\\0' '\\n' < /proc/$$/cmdline > '%s/argv'; "
                       "/usr/bin/env | /usr/bin/sort > '%s/env'",
                       dir, dir);
    char *args[] = {"my-hook", "-c", cmd, "first", "two words"};
    char *env[] = {"A=1", "B=two words", "EMPTY="};
    md_hook h = {.path = "/bin/sh", .args = args, .n_args = 5, .env = env, .n_env = 3};
    cr_assert_null(run1("createRuntime", &h, "{}"));

    char *argv_text = read_in_dir("argv");
    char *want_argv = fx_fmt("my-hook\n-c\n%s\nfirst\ntwo words\n", cmd);
    cr_assert_str_eq(argv_text, want_argv);
    /* dash adds PWD (and keeps the variables in its own order). */
    char *env_text = read_in_dir("env");
    char *pwd = pwd_line();
    char *want_env = fx_fmt("A=1\nB=two words\nEMPTY=\n%s", pwd);
    cr_assert_str_eq(env_text, want_env);
    free(want_env);
    free(pwd);
    free(env_text);
    free(want_argv);
    free(argv_text);
    free(cmd);
}

Test(hooks, without_args_argv_is_path_and_env_is_empty)
{
    /* sh without arguments runs the commands it reads on stdin: here the
     * "state" itself, which records the shell's argv and env. */
    char *state = fx_fmt("/usr/bin/tr '\\0' '\\n' < /proc/$$/cmdline > '%s/argv'\n"
                         "/usr/bin/env > '%s/env'\n",
                         dir, dir);
    md_hook h = {.path = "/bin/sh"};
    cr_assert_null(run1("poststart", &h, state));
    char *argv_text = read_in_dir("argv");
    cr_assert_str_eq(argv_text, "/bin/sh\n");
    char *env_text = read_in_dir("env");
    char *pwd = pwd_line();
    cr_assert_str_eq(env_text, pwd);
    free(pwd);
    free(env_text);
    free(argv_text);
    free(state);
}

Test(hooks, only_stdio_fds_reach_the_hook)
{
    /* A descriptor mdrun left open without O_CLOEXEC must not leak. */
    int leak = open("/dev/null", O_RDONLY);
    cr_assert(leak >= 3);
    char *path = in_dir("stderr");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    char *args[] = {"ls", "-1", "/proc/self/fd"};
    md_hook h = {.path = "/bin/ls", .args = args, .n_args = 3};
    char *msg = run1("prestart", &h, "{}");
    dup2(saved, 2);
    close(saved);
    close(fd);
    cr_assert_null(msg, "%s", msg);
    /* 3 is the directory ls itself opened to list /proc/self/fd. */
    char *text = fx_read(path, NULL);
    cr_assert_str_eq(text, "0\n1\n2\n3\n");
    free(text);
    free(path);
    close(leak);
}

Test(hooks, stdout_and_stderr_go_to_our_stderr)
{
    char *path = in_dir("stderr");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    md_hook h = {.path = script("talk", "echo to-stdout; echo to-stderr >&2")};
    char *msg = run1("prestart", &h, "{}");
    dup2(saved, 2);
    close(saved);
    close(fd);
    cr_assert_null(msg, "%s", msg);
    char *text = fx_read(path, NULL);
    cr_assert_str_eq(text, "to-stdout\nto-stderr\n");
    free(text);
    free(path);
    free(h.path);
}

Test(hooks, run_in_order_and_stop_at_first_failure)
{
    char *log = in_dir("log");
    char *b0 = fx_fmt("echo 0 >> '%s'", log);
    char *b1 = fx_fmt("echo 1 >> '%s'; exit 3", log);
    char *b2 = fx_fmt("echo 2 >> '%s'", log);
    md_hook hooks[3] = {
        {.path = script("h0", b0)}, {.path = script("h1", b1)}, {.path = script("h2", b2)}};
    md_error err = {0};
    cr_assert_eq(md_hooks_run("createRuntime", hooks, 3, "{}", &err), -1);
    char *want = fx_fmt("createRuntime hook 1 (%s): exited with status 3", hooks[1].path);
    cr_assert_str_eq(err.msg, want);
    char *text = read_in_dir("log");
    cr_assert_str_eq(text, "0\n1\n");
    free(text);
    free(want);
    md_error_clear(&err);
    for (int i = 0; i < 3; i++)
        free(hooks[i].path);
    free(b0);
    free(b1);
    free(b2);
    free(log);
}

Test(hooks, all_succeed)
{
    char *log = in_dir("log");
    char *b0 = fx_fmt("echo a >> '%s'", log);
    char *b1 = fx_fmt("echo b >> '%s'", log);
    md_hook hooks[2] = {{.path = script("h0", b0)}, {.path = script("h1", b1)}};
    md_error err = {0};
    cr_assert_eq(md_hooks_run("poststart", hooks, 2, "{}", &err), 0);
    char *text = read_in_dir("log");
    cr_assert_str_eq(text, "a\nb\n");
    free(text);
    free(hooks[0].path);
    free(hooks[1].path);
    free(b0);
    free(b1);
    free(log);
}

Test(hooks, killed_by_a_signal)
{
    md_hook h = {.path = script("die", "kill -9 $$")};
    char *msg = run_fail("startContainer", &h, "{}");
    char *want = fx_fmt("startContainer hook 0 (%s): killed by signal 9 (Killed)", h.path);
    cr_assert_str_eq(msg, want);
    free(want);
    free(msg);
    free(h.path);
}

Test(hooks, signal_mask_is_reset)
{
    /* mdrun blocks the signals it reads from a signalfd; a hook must not
     * inherit that. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    md_hook h = {.path = script("term", "kill -TERM $$; exit 0")};
    char *msg = run_fail("prestart", &h, "{}");
    char *want = fx_fmt("prestart hook 0 (%s): killed by signal 15 (Terminated)", h.path);
    cr_assert_str_eq(msg, want);
    free(want);
    free(msg);
    free(h.path);
}

static bool process_gone(pid_t pid)
{
    char *stat_path = fx_fmt("/proc/%d/stat", (int)pid);
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(stat_path, "r");
        if (!f) {
            free(stat_path);
            return true;
        }
        char state = '?';
        int matched = fscanf(f, "%*d (%*[^)]) %c", &state);
        fclose(f);
        if (matched == 1 && (state == 'Z' || state == 'X')) {
            free(stat_path);
            return true;
        }
        usleep(10000);
    }
    free(stat_path);
    return false;
}

Test(hooks, timeout_kills_the_hook_and_its_children)
{
    char *pidfile = in_dir("child");
    char *body = fx_fmt("/bin/sleep 1000 &\necho $! > '%s'\nwait", pidfile);
    md_hook h = {.path = script("slow", body), .has_timeout = true, .timeout = 1};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *msg = run_fail("createContainer", &h, "{}");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char *want = fx_fmt("createContainer hook 0 (%s): timed out after 1 second", h.path);
    cr_assert_str_eq(msg, want);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_assert(took >= 0.9 && took < 5, "took %.2f s", took);

    char *text = read_in_dir("child");
    pid_t child = (pid_t)atoi(text);
    cr_assert(child > 0);
    bool gone = process_gone(child);
    if (!gone)
        kill(child, SIGKILL); /* do not leave it behind holding our stderr */
    cr_assert(gone, "the hook's child %d survived", (int)child);
    free(text);
    free(want);
    free(msg);
    free(body);
    free(pidfile);
    free(h.path);
}

Test(hooks, timeout_not_reached)
{
    md_hook h = {.path = script("quick", "exit 0"), .has_timeout = true, .timeout = 10};
    cr_assert_null(run1("prestart", &h, "{}"));
    free(h.path);
}

Test(hooks, missing_path_is_an_exec_error)
{
    md_hook h = {.path = "/nonexistent/hook"};
    char *msg = run_fail("poststop", &h, "{}");
    cr_assert_str_eq(msg, "poststop hook 0 (/nonexistent/hook): exec: No such file or directory");
    free(msg);
}

Test(hooks, not_executable_is_an_exec_error)
{
    char *path = in_dir("plain");
    fx_write(path, "#!/bin/sh\nexit 0\n");
    md_hook h = {.path = path};
    char *msg = run_fail("prestart", &h, "{}");
    char *want = fx_fmt("prestart hook 0 (%s): exec: Permission denied", path);
    cr_assert_str_eq(msg, want);
    free(want);
    free(msg);
    free(path);
}

static char *big_state(void)
{
    size_t len = 1 << 20;
    char *s = malloc(len + 1);
    cr_assert(s);
    memset(s, 'x', len);
    memcpy(s, "{\"id\":\"", 7);
    memcpy(s + len - 2, "\"}", 2);
    s[len] = '\0';
    return s;
}

static void assert_sigpipe_untouched(void)
{
    sigset_t mask, pending;
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pending);
    cr_assert_not(sigismember(&mask, SIGPIPE), "SIGPIPE left blocked");
    cr_assert_not(sigismember(&pending, SIGPIPE), "SIGPIPE left pending");
}

Test(hooks, hook_ignoring_a_large_state_does_not_hang)
{
    char *state = big_state();
    md_hook quick = {.path = script("quick", "exit 0")};
    cr_assert_null(run1("prestart", &quick, state));
    assert_sigpipe_untouched();
    /* Exits while mdrun is blocked on a full pipe, without closing it
     * first: the pidfd must wake mdrun up. */
    md_hook slow = {.path = script("slow", "/bin/sleep 0.3; exit 4")};
    char *msg = run_fail("prestart", &slow, state);
    char *want = fx_fmt("prestart hook 0 (%s): exited with status 4", slow.path);
    cr_assert_str_eq(msg, want);
    assert_sigpipe_untouched();
    free(want);
    free(msg);
    free(slow.path);
    free(quick.path);
    free(state);
}

Test(hooks, large_state_is_delivered_whole)
{
    char *state = big_state();
    char *out = in_dir("stdin");
    char *body = fx_fmt("/bin/cat > '%s'", out);
    md_hook h = {.path = script("copy", body)};
    cr_assert_null(run1("prestart", &h, state));
    size_t len = 0;
    char *got = fx_read(out, &len);
    cr_assert_eq(len, strlen(state));
    cr_assert(memcmp(got, state, len) == 0);
    free(got);
    free(body);
    free(out);
    free(h.path);
    free(state);
}

Test(hooks, no_hooks_is_success)
{
    md_error err = {0};
    cr_assert_eq(md_hooks_run("prestart", NULL, 0, "{}", &err), 0);
    cr_assert_null(err.msg);
}
