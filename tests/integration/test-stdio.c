/* test-stdio.c - what the container's process gets to read and write: a
 * terminal handed over --console-socket or relayed by `run` in the
 * foreground, the fds passed with --preserve-fds and LISTEN_FDS, and no
 * other fd; as root and as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* ------------------------------------------------------ console socket */

TestSuite(terminal);

/* Everything the terminal shows until its last slave closes. */
static char *drain_terminal(int master, unsigned secs)
{
    char *buf = strdup("");
    size_t len = 0;
    long long deadline = hx_now_ms() + 1000LL * secs;
    for (;;) {
        long long left = deadline - hx_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0 || !ct_read_some(master, &buf, &len))
            break;
    }
    return buf;
}

static const char *terminal_bundle(struct hx_ctx *c, const char *script)
{
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    s->process->terminal = true;
    s->process->console_size = calloc(1, sizeof(*s->process->console_size));
    s->process->console_size->height = 30;
    s->process->console_size->width = 100;
    hx_spec_set_args(s, "sh", "-c", script, NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    return b;
}

CT_BOTH(terminal, console_socket)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = terminal_bundle(c, "tty; stty size; [ -t 0 ] && echo stdin-is-a-tty; exit 0");
    char *path = fx_fmt("%s/console.sock", c->home);
    int listener = ct_console_listen(c, path);
    char *id = hx_id("console");
    struct fx_result r =
        hx_mdrun(c, NULL, "create", "--bundle", b, "--console-socket", path, id, NULL);
    cr_assert_eq(r.status, 0, "create: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
    int master = ct_console_receive(listener);
    cr_expect(isatty(master), "the fd received is not a terminal");
    int pid = 0;
    free(ct_status(c, id, &pid, NULL));

    r = hx_mdrun(c, NULL, "start", id, NULL);
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    char *out = drain_terminal(master, 10);
    cr_expect(strstr(out, "/dev/pts/0\r\n"), "tty in the container printed: %s", out);
    cr_expect(strstr(out, "30 100\r\n"), "stty size does not show consoleSize 30x100: %s", out);
    cr_expect(strstr(out, "stdin-is-a-tty"), "stdin is not the terminal: %s", out);
    cr_expect(ct_wait_dead(pid, 10));
    ct_delete(c, id);
    hx_assert_clean(c);
    free(out);
    close(master);
    close(listener);
    free(path);
    free(id);
}

CT_BOTH(terminal, needs_console_socket)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = terminal_bundle(c, "true");
    char *id = hx_id("noconsole");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL);
    ct_expect_error(&r, "terminal without --console-socket", "--console-socket");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", b, id, NULL);
    ct_expect_error(&r, "detached run with a terminal and no --console-socket", "--console-socket");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    char *missing = fx_fmt("%s/no-such.sock", c->home);
    r = hx_mdrun(c, NULL, "create", "--bundle", b, "--console-socket", missing, id, NULL);
    ct_expect_error(&r, "a --console-socket nobody listens on", "no-such.sock");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(missing);
    free(id);
}

/* -------------------------------------------- run in the foreground */

struct on_pty {
    int status;
    char *out;
    struct termios before, after;
};

static char **pty_env(struct hx_ctx *c)
{
    static const char *const kept[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    char **env = calloc(8, sizeof(char *));
    size_t n = 0;
    env[n++] = fx_fmt("PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    env[n++] = fx_fmt("HOME=%s", c->home);
    if (c->xdg)
        env[n++] = fx_fmt("XDG_RUNTIME_DIR=%s", c->xdg);
    for (size_t i = 0; i < 3; i++)
        if (getenv(kept[i]))
            env[n++] = fx_fmt("%s=%s", kept[i], getenv(kept[i]));
    return env;
}

/* What the test does on the outer terminal once the container printed
 * "ready": type input, and resize the terminal when rows is not 0. */
struct pty_act {
    const char *input;
    unsigned short rows, cols;
};

static void act_on_pty(int master, int slave, const struct pty_act *act)
{
    if (act->rows) {
        /* The kernel sends SIGWINCH to mdrun, the terminal's foreground. */
        struct winsize ws = {.ws_row = act->rows, .ws_col = act->cols};
        cr_assert(ioctl(slave, TIOCSWINSZ, &ws) == 0);
    }
    if (act->input)
        cr_assert(write(master, act->input, strlen(act->input)) == (ssize_t)strlen(act->input));
}

/* `mdrun run` as c->who with a terminal the test made as its controlling
 * terminal and stdio; once the container printed "ready", act. */
static struct on_pty run_on_pty(struct hx_ctx *c, const char *bundle, const char *id,
                                const struct pty_act *act)
{
    struct on_pty res = {0};
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    cr_assert(slave >= 0, "open %s: %s", ptsname(master), strerror(errno));
    cr_assert(fchown(slave, c->uid, (gid_t)-1) == 0);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    ioctl(slave, TIOCSWINSZ, &ws);
    cr_assert(tcgetattr(slave, &res.before) == 0);
    char **env = pty_env(c);
    const char *argv[] = {hx_mdrun_bin(), "--root", c->root, "run", "--bundle", bundle, id, NULL};

    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        for (int fd = 0; fd < 3; fd++)
            dup2(slave, fd);
        if (c->uid != geteuid() &&
            (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0))
            _exit(126);
        if (chdir(c->dir) < 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        execve(argv[0], (char *const *)argv, env);
        _exit(127);
    }
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);

    char *buf = strdup("");
    size_t len = 0;
    bool typed = false;
    long long deadline = hx_now_ms() + 30000;
    int status = 0;
    fcntl(master, F_SETFL, O_NONBLOCK);
    bool timed_out = false;
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (!timed_out && hx_now_ms() > deadline) {
            kill(pid, SIGKILL);
            timed_out = true;
        }
        struct pollfd p = {.fd = master, .events = POLLIN};
        poll(&p, 1, 50);
        ct_read_some(master, &buf, &len);
        if (!typed && strstr(buf, "ready")) {
            act_on_pty(master, slave, act);
            typed = true;
        }
    }
    while (ct_read_some(master, &buf, &len) && len < 1 << 20) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            break;
    }
    res.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    res.out = buf;
    /* A killed mdrun leaves its container (in a session of its own). */
    if (timed_out && hx_state_exists(c, id)) {
        ct_track(c, id);
        ct_delete(c, id);
    }
    cr_assert(tcgetattr(slave, &res.after) == 0);
    close(slave);
    close(master);
    return res;
}

CT_BOTH(terminal, foreground_run)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = terminal_bundle(c, "tty; stty size; echo ready; read line; "
                                       "echo \"got $line\"; exit 3");
    char *id = hx_id("fg");
    struct on_pty r = run_on_pty(c, b, id, &(struct pty_act){.input = "hello\r"});
    cr_expect_eq(r.status, 3, "mdrun run on a terminal: exit %d: %s", r.status, r.out);
    cr_expect(strstr(r.out, "/dev/pts/0"), "no tty in the container: %s", r.out);
    cr_expect(strstr(r.out, "got hello"), "the typed line did not arrive: %s", r.out);
    /* The outer terminal's size, not consoleSize, in the foreground. */
    cr_expect(strstr(r.out, "24 80"), "the outer terminal's size was not copied: %s", r.out);
    cr_expect(r.before.c_lflag == r.after.c_lflag && r.before.c_iflag == r.after.c_iflag &&
                  r.before.c_oflag == r.after.c_oflag && r.before.c_cflag == r.after.c_cflag,
              "the terminal's mode was not restored (lflag %#x -> %#x, iflag %#x -> %#x)",
              r.before.c_lflag, r.after.c_lflag, r.before.c_iflag, r.after.c_iflag);
    cr_expect(!hx_state_exists(c, id), "a foreground run left its state");
    hx_assert_clean(c);
    free(r.out);
    free(id);
}

/* With a terminal but run from a pipe: the output arrives, and the end
 * of mdrun's stdin reaches the program as the end of its input. */
CT_BOTH(terminal, foreground_from_a_pipe)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = terminal_bundle(c, "tty; while read line; do echo \"got $line\"; done; "
                                       "echo eof; exit 4");
    char *id = hx_id("pipe");
    const char *argv[] = {hx_mdrun_bin(), "--root", c->root, "run", "--bundle", b, id, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.input = "one\ntwo\n"}, argv);
    cr_expect_eq(r.status, 4, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "/dev/pts/0"), "%s", r.out);
    cr_expect(strstr(r.out, "got one") && strstr(r.out, "got two") && strstr(r.out, "eof"),
              "the input did not arrive, or its end: %s", r.out);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
}

/* ^C typed on the outer terminal interrupts the container's program:
 * the relay passes it on as a byte, the container's terminal signals. */
CT_BOTH(terminal, foreground_interrupt)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = terminal_bundle(c, "trap 'echo interrupted; exit 9' INT; echo ready; "
                                       "while :; do sleep 0.05; done");
    char *id = hx_id("intr");
    struct on_pty r = run_on_pty(c, b, id, &(struct pty_act){.input = "\003"});
    cr_expect_eq(r.status, 9, "exit %d: %s", r.status, r.out);
    cr_expect(strstr(r.out, "interrupted"), "%s", r.out);
    hx_assert_clean(c);
    free(r.out);
    free(id);
}

/* A resized outer terminal resizes the container's. */
CT_BOTH(terminal, foreground_resize)
{
    struct hx_ctx *c = hx_ctx_new(who);
    /* mdrun copies the outer size when it starts relaying, which the
     * program may see as a first SIGWINCH: wait for the size typed. */
    const char *b = terminal_bundle(c, "trap '[ \"$(stty size)\" = \"33 111\" ] && "
                                       "{ echo resized; exit 0; }' WINCH; echo ready; "
                                       "while :; do sleep 0.05; done");
    char *id = hx_id("winch");
    struct on_pty r = run_on_pty(c, b, id, &(struct pty_act){.rows = 33, .cols = 111});
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.out);
    cr_expect(strstr(r.out, "resized"), "the container's terminal was not resized: %s", r.out);
    hx_assert_clean(c);
    free(r.out);
    free(id);
}

/* ------------------------------------------------------------------ fds */

TestSuite(fds);

/* A file in the context's directory holding text, readable by anyone. */
static char *text_file(struct hx_ctx *c, const char *name, const char *text)
{
    char *path = fx_fmt("%s/%s", c->dir, name);
    fx_write(path, text);
    return path;
}

/* Run `sh -c wrapper` as c->who, wrapper ending in an exec of mdrun. */
static struct fx_result wrapped(struct hx_ctx *c, const char *wrapper)
{
    const char *argv[] = {"sh", "-c", wrapper, NULL};
    return hx_run(c, NULL, argv);
}

CT_BOTH(fds, preserve_fds)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "sh", "-c", "ls /proc/self/fd; cat <&3; cat <&4", NULL);
    char *f3 = text_file(c, "three", "fd three\n"), *f4 = text_file(c, "four", "fd four\n");
    char *id = hx_id("preserve");
    char *w = fx_fmt("exec 3<%s 4<%s 5<%s; exec %s --root %s run --preserve-fds 2 --bundle %s %s",
                     f3, f4, f3, hx_mdrun_bin(), c->root, b, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    /* fd 5 is not passed on; ls itself opens one (the 5 listed). */
    cr_expect_str_eq(r.out, "0\n1\n2\n3\n4\n5\nfd three\nfd four\n");
    fx_result_free(&r);
    hx_assert_clean(c);
    free(w);
    free(f3);
    free(f4);
    free(id);
}

/* Whatever mdrun had open, the program gets 0, 1 and 2 only. */
CT_BOTH(fds, nothing_leaks)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    /* Written whole (tmp + mv): the test never reads half of it. */
    hx_spec_set_args(s, "sh", "-c",
                     "ls /proc/self/fd > /shared/fds.tmp; mv /shared/fds.tmp /shared/fds", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *f3 = text_file(c, "three", "x\n");
    char *fds = fx_fmt("%s/fds", shared);

    /* run, with fds 3 and 4 open in mdrun. */
    char *id = hx_id("leak");
    char *w = fx_fmt("exec 3<%s 4<%s; exec %s --root %s run --bundle %s %s", f3, f3, hx_mdrun_bin(),
                     c->root, b, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *text = ct_read(fds);
    cr_expect(text && strcmp(text, "0\n1\n2\n3\n") == 0, "run: the program had fds\n%s", text);
    free(text);
    unlink(fds);

    /* create + start: what create holds (state, fifo, sync socket) must
     * not reach the program either. */
    char *id2 = hx_id("leak2");
    char *w2 = fx_fmt("exec 3<%s 4<%s; exec %s --root %s create --bundle %s %s", f3, f3,
                      hx_mdrun_bin(), c->root, b, id2);
    r = wrapped(c, w2);
    cr_assert_eq(r.status, 0, "create: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id2);
    int pid = 0;
    free(ct_status(c, id2, &pid, NULL));
    r = hx_mdrun(c, NULL, "start", id2, NULL);
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    text = ct_wait_file(fds, 10);
    cr_expect(text && strcmp(text, "0\n1\n2\n3\n") == 0, "create+start: the program had fds\n%s",
              text);
    free(text);
    cr_expect(ct_wait_dead(pid, 10));
    ct_delete(c, id2);
    hx_assert_clean(c);
    free(w);
    free(w2);
    free(fds);
    free(f3);
    free(shared);
    free(id);
    free(id2);
}

CT_BOTH(fds, listen_fds)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "sh", "-c",
                       "echo \"LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID pid=$$\"; "
                       "cat <&3; ls /proc/self/fd",
                       NULL);
    char *f3 = text_file(c, "socket", "listening\n");
    char *id = hx_id("listen");
    char *w =
        fx_fmt("exec 3<%s; exec env LISTEN_FDS=1 LISTEN_PID=$$ %s --root %s run --bundle %s %s", f3,
               hx_mdrun_bin(), c->root, b, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "LISTEN_FDS=1 LISTEN_PID=1 pid=1\nlistening\n0\n1\n2\n3\n4\n");
    fx_result_free(&r);

    /* With --preserve-fds: the listening fds come first. */
    char *id2 = hx_id("listen2");
    char *w2 = fx_fmt("exec 3<%s 4<%s; exec env LISTEN_FDS=1 LISTEN_PID=$$ %s --root %s run "
                      "--preserve-fds 1 --bundle %s %s",
                      f3, f3, hx_mdrun_bin(), c->root, b, id2);
    r = wrapped(c, w2);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "LISTEN_FDS=1 LISTEN_PID=1 pid=1\nlistening\n0\n1\n2\n3\n4\n5\n");
    fx_result_free(&r);

    /* Meant for another process: neither the variables nor the fd. */
    char *id3 = hx_id("listen3");
    char *w3 =
        fx_fmt("exec 3<%s; exec env LISTEN_FDS=1 LISTEN_PID=1 %s --root %s run --bundle %s %s", f3,
               hx_mdrun_bin(), c->root, b, id3);
    r = wrapped(c, w3);
    cr_expect_str_eq(r.out, "LISTEN_FDS= LISTEN_PID= pid=1\n0\n1\n2\n3\n", "stderr: %s", r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(w);
    free(w2);
    free(w3);
    free(f3);
    free(id);
    free(id2);
    free(id3);
}
