/* test-exec.c - `mdrun exec`: a process started in a running container
 * shares its namespaces and cgroup, takes its defaults from the config and
 * its overrides from the command line or a process.json, gets a terminal,
 * its exit code and signals back, and nothing of mdrun's fds; as root and
 * as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

/* `mdrun --root ROOT exec ARGS...` as c->who. */
#define EXEC(c, ...) hx_mdrun((c), NULL, "exec", __VA_ARGS__, NULL)

/* The default capabilities of `mdrun spec`: AUDIT_WRITE, KILL,
 * NET_BIND_SERVICE. */
#define DEFAULT_CAPS    ((1ULL << 29) | (1ULL << 5) | (1ULL << 10))
#define CAP_NET_RAW_BIT (1ULL << 13)

/* Start the bundle's config with `sleep 1000` detached: a running
 * container to exec into.  Returns its id (caller frees). */
static char *start_sleeper(struct hx_ctx *c, const char *bundle, const char *prefix)
{
    hx_bundle_set_args(bundle, "sleep", "1000", NULL);
    char *id = hx_id(prefix);
    struct fx_result r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", bundle, id, NULL);
    cr_assert_eq(r.status, 0, "run --detach %s: exit %d: %s", id, r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
    return id;
}

/* A bundle of c->who, edited by edit (may be NULL), with a sleeper
 * running in it. */
static char *running(struct hx_ctx *c, const char *prefix, void (*edit)(md_spec *))
{
    const char *b = ct_bundle(c, 0);
    if (edit) {
        md_spec *s = hx_spec_load(b);
        edit(s);
        hx_spec_save(b, s);
        md_spec_free(s);
    }
    return start_sleeper(c, b, prefix);
}

static void finish(struct hx_ctx *c, char *id)
{
    ct_delete(c, id);
    hx_assert_clean(c);
    free(id);
}

/* What mdrun itself refuses: exit 255, one line naming needle. */
static void expect_refusal(const struct fx_result *r, const char *what, const char *needle)
{
    cr_expect_eq(r->status, 255, "%s: exit %d, want 255; stderr: %s", what, r->status, r->err);
    cr_expect_eq(fx_count_lines(r->err), 1, "%s: want one error line: %s", what, r->err);
    cr_expect(strstr(r->err, needle), "%s: error does not mention \"%s\": %s", what, needle,
              r->err);
}

/* `exec ID sh -c script`: its stdout (caller frees); it must succeed. */
static char *exec_sh(struct hx_ctx *c, const char *id, const char *script)
{
    struct fx_result r = EXEC(c, id, "sh", "-c", script);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", script, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    fx_result_free(&r);
    return out;
}

/* A file in the context's directory, readable by anyone. */
static char *text_file(struct hx_ctx *c, const char *name, const char *text)
{
    char *path = fx_fmt("%s/%s", c->dir, name);
    fx_write(path, text);
    cr_assert(chmod(path, 0644) == 0);
    return path;
}

/* Run `sh -c wrapper` as c->who. */
static struct fx_result wrapped(struct hx_ctx *c, const char *wrapper)
{
    const char *argv[] = {"sh", "-c", wrapper, NULL};
    return hx_run(c, NULL, argv);
}

/* ------------------------------------------------------------- basics */

TestSuite(exec);

CT_BOTH(exec, output_and_exit_code)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "basic", NULL);
    struct fx_result r = EXEC(c, id, "sh", "-c", "echo hello; echo oops >&2; exit 7");
    cr_expect_eq(r.status, 7, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "hello\n");
    cr_expect_str_eq(r.err, "oops\n");
    fx_result_free(&r);
    /* The command's own options stay the command's. */
    r = EXEC(c, id, "ls", "-d", "/proc");
    cr_expect_eq(r.status, 0, "ls -d: exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "/proc\n");
    fx_result_free(&r);
    /* Killed by a signal: 128 + its number. */
    r = EXEC(c, id, "sh", "-c", "kill -USR1 $$");
    cr_expect_eq(r.status, 128 + SIGUSR1, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    /* The container goes on running. */
    char *st = ct_status(c, id, NULL, NULL);
    cr_expect_str_eq(st, "running");
    free(st);
    finish(c, id);
}

static void set_hostname(md_spec *s)
{
    free(s->hostname);
    s->hostname = strdup("exec-host");
}

CT_BOTH(exec, joins_every_namespace_and_the_cgroup)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    set_hostname(s);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *marker = fx_fmt("%s/rootfs/marker", b);
    fx_write(marker, "in the rootfs\n");
    char *id = start_sleeper(c, b, "ns");
    char *out = exec_sh(c, id,
                        "for n in mnt uts ipc net pid user cgroup; do "
                        "[ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] "
                        "|| echo \"$n differs\"; done; "
                        "[ \"$(cat /proc/self/cgroup)\" = \"$(cat /proc/1/cgroup)\" ] "
                        "|| echo cgroup differs; "
                        "[ \"$(cat /proc/self/uid_map)\" = \"$(cat /proc/1/uid_map)\" ] "
                        "|| echo uid_map differs; "
                        "hostname; cat /marker; [ $$ -ne 1 ] && echo not-pid-1; "
                        "ps -o pid,args | grep -c '^ *1 sleep 1000'");
    cr_expect_str_eq(out, "exec-host\nin the rootfs\nnot-pid-1\n1\n");
    free(out);

    /* The cgroups the host sees the init in. */
    int pid = 0;
    free(ct_status(c, id, &pid, NULL));
    char *init_path = fx_fmt("/proc/%d/cgroup", pid);
    char *init_cg = ct_read(init_path);
    cr_assert(init_cg);
    struct fx_result r = EXEC(c, id, "cat", "/proc/self/cgroup");
    cr_expect_str_eq(r.out, init_cg, "the exec'd process's cgroups differ from the init's");
    fx_result_free(&r);
    if (who == HX_ROOT)
        cr_expect(strstr(init_cg, id), "as root the container has its own cgroup: %s", init_cg);
    free(init_cg);
    free(init_path);
    free(marker);
    finish(c, id);
}

/* ------------------------------------------------------------ process */

static void expect_exec(struct hx_ctx *c, const char *what, const char *want, ...)
{
    const char *argv[32] = {hx_mdrun_bin(), "--root", c->root, "exec"};
    size_t n = 4;
    va_list ap;
    va_start(ap, want);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 31;)
        argv[n++] = a;
    va_end(ap);
    struct fx_result r = hx_run(c, NULL, argv);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", what, r.status, r.err);
    cr_expect_str_eq(r.out, want, "%s: printed\n%s\nwant\n%s", what, r.out, want);
    fx_result_free(&r);
}

/* No uidMappings: the rootless default maps, which have uid 1000 and gid
 * 10 (through /etc/subuid), as root has without a user namespace. */
static void default_maps(md_spec *s)
{
    md_linux *l = ct_linux(s);
    free(l->uid_mappings);
    free(l->gid_mappings);
    l->uid_mappings = NULL;
    l->gid_mappings = NULL;
    l->n_uid_mappings = l->n_gid_mappings = 0;
}

CT_BOTH(exec, user_env_cwd_options)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "opts", who == HX_USER ? default_maps : NULL);
    expect_exec(c, "-u -g -e --cwd", "1000\n1000\n1000 10\nbar\ndumb 1\n/tmp\n", "-u", "1000:1000",
                "-g", "10", "-e", "FOO=bar", "-e", "TERM=dumb", "--cwd", "/tmp", id, "sh", "-c",
                "id -u; id -g; id -G; echo $FOO; echo $TERM $(env | grep -c ^TERM=); pwd", NULL);
    /* The config's defaults: root, in /, its environment. */
    expect_exec(c, "defaults", "0\n/\nxterm\n", id, "sh", "-c", "id -u; pwd; echo $TERM", NULL);
    /* -u UID alone keeps the config's gid. */
    expect_exec(c, "-u without gid", "1000 0\n", "--user", "1000", id, "sh", "-c",
                "echo $(id -u) $(id -g)", NULL);
    struct fx_result r = EXEC(c, "--cwd", "/no/such/dir", id, "true");
    expect_refusal(&r, "a missing cwd", "/no/such/dir");
    fx_result_free(&r);
    r = EXEC(c, id, "no-such-program");
    expect_refusal(&r, "a missing program", "executable file not found");
    fx_result_free(&r);
    r = EXEC(c, "-u", "bob", id, "true");
    cr_expect_eq(r.status, 1, "a user name: exit %d", r.status);
    fx_result_free(&r);
    finish(c, id);
}

/* As Podman writes it for `podman exec`. */
static const char process_json[] =
    "{\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0, \"additionalGids\": [10]},\n"
    " \"args\": [\"sh\", \"-c\", \"echo $FOO; pwd; id -G; ulimit -n; "
    "grep NoNewPrivs /proc/self/status\"],\n"
    " \"env\": [\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\", \"FOO=from-file\", \"HOSTNAME=x\"],\n"
    " \"cwd\": \"/etc\",\n"
    " \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],\n"
    "                  \"permitted\": [\"CAP_KILL\"]},\n"
    " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 321, \"hard\": 321}],\n"
    " \"noNewPrivileges\": true}\n";

CT_BOTH(exec, process_file)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "procfile", who == HX_USER ? default_maps : NULL);
    char *file = text_file(c, "process.json", process_json);
    expect_exec(c, "--process", "from-file\n/etc\n0 10\n321\nNoNewPrivs:\t1\n", "--process", file,
                id, NULL);
    /* Options still apply over the file. */
    expect_exec(c, "--process with -e", "override\n/etc\n0 10\n321\nNoNewPrivs:\t1\n", "-p", file,
                "-e", "FOO=override", id, NULL);
    struct fx_result r = EXEC(c, "--process", file, id, "true");
    cr_expect_eq(r.status, 1, "--process and a command: exit %d", r.status);
    fx_result_free(&r);
    char *bad = text_file(c, "bad.json", "{\"args\": [\"true\"], \"cwd\": \"relative\"}");
    r = EXEC(c, "--process", bad, id);
    expect_refusal(&r, "a relative cwd", "cwd");
    fx_result_free(&r);
    free(bad);
    free(file);
    finish(c, id);
}

static void no_nnp(md_spec *s)
{
    s->process->no_new_privileges = false;
}

CT_BOTH(exec, capabilities_and_no_new_privs)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "caps", no_nnp);
    char *st = exec_sh(c, id, "cat /proc/self/status");
    cr_expect_eq(ct_status_hex(st, "CapEff"), DEFAULT_CAPS, "CapEff %#llx",
                 (unsigned long long)ct_status_hex(st, "CapEff"));
    cr_expect_eq(ct_status_hex(st, "CapBnd"), DEFAULT_CAPS);
    cr_expect(strstr(st, "NoNewPrivs:\t0\n"), "the config has noNewPrivileges false:\n%s", st);
    free(st);
    struct fx_result r =
        EXEC(c, "--cap", "CAP_NET_RAW", "--no-new-privs", id, "cat", "/proc/self/status");
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(ct_status_hex(r.out, "CapEff"), DEFAULT_CAPS | CAP_NET_RAW_BIT);
    cr_expect_eq(ct_status_hex(r.out, "CapBnd"), DEFAULT_CAPS | CAP_NET_RAW_BIT);
    cr_expect(strstr(r.out, "NoNewPrivs:\t1\n"), "--no-new-privs:\n%s", r.out);
    fx_result_free(&r);
    /* As Podman's --cap-add spells them too. */
    r = EXEC(c, "--cap", "net_raw", id, "grep", "CapEff", "/proc/self/status");
    cr_expect_eq(ct_status_hex(r.out, "CapEff"), DEFAULT_CAPS | CAP_NET_RAW_BIT, "%s", r.err);
    fx_result_free(&r);
    r = EXEC(c, "--cap", "net raw", id, "true");
    expect_refusal(&r, "a bad capability name", "net raw");
    fx_result_free(&r);
    finish(c, id);
}

static void limits(md_spec *s)
{
    md_process *p = s->process;
    for (size_t i = 0; i < p->n_rlimits; i++)
        free(p->rlimits[i].type);
    free(p->rlimits);
    p->rlimits = calloc(2, sizeof(md_rlimit));
    p->rlimits[0] = (md_rlimit){strdup("RLIMIT_NOFILE"), 200, 300};
    p->rlimits[1] = (md_rlimit){strdup("RLIMIT_NPROC"), 4000, 5000};
    p->n_rlimits = 2;
}

CT_BOTH(exec, rlimits_of_the_config)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "rlim", limits);
    char *out = exec_sh(c, id, "ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu");
    cr_expect_str_eq(out, "200\n300\n4000\n5000\n");
    free(out);
    finish(c, id);
}

/* ------------------------------------------------------------ detached */

CT_BOTH(exec, detach_with_pid_file)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "detach", NULL);
    char *pid_file = fx_fmt("%s/exec.pid", c->home);
    struct fx_result r = EXEC(c, "--detach", "--pid-file", pid_file, id, "sleep", "77");
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *text = ct_read(pid_file);
    cr_assert(text, "no pid file");
    pid_t pid = (pid_t)atoi(text);
    cr_expect(pid > 0 && hx_pid_alive(pid), "the pid file holds no live pid: %s", text);
    char *cmd_path = fx_fmt("/proc/%d/cmdline", (int)pid);
    char *cmd = ct_read(cmd_path);
    cr_expect(cmd && strcmp(cmd, "sleep") == 0, "pid %d is not the exec'd sleep", (int)pid);
    int init = 0;
    free(ct_status(c, id, &init, NULL));
    char a[64] = "", b[64] = "";
    char *pa = fx_fmt("/proc/%d/ns/pid", (int)pid), *pb = fx_fmt("/proc/%d/ns/pid", init);
    cr_expect(readlink(pa, a, sizeof(a) - 1) > 0 && readlink(pb, b, sizeof(b) - 1) > 0);
    cr_expect_str_eq(a, b, "the detached process is not in the container's pid namespace");
    /* delete --force kills the pid namespace, the exec'd process with it. */
    ct_delete(c, id);
    cr_expect(ct_wait_dead(pid, 10), "the exec'd process outlived its container");
    hx_assert_clean(c);
    free(pa);
    free(pb);
    free(cmd);
    free(cmd_path);
    free(text);
    free(pid_file);
    free(id);
}

/* ------------------------------------------------------------ terminals */

/* Read master until needle shows (then write input, when not NULL) and
 * on until the terminal closes or secs pass. */
static char *talk(int master, const char *needle, const char *input, unsigned secs)
{
    char *buf = strdup("");
    size_t len = 0;
    bool said = false;
    long long deadline = hx_now_ms() + 1000LL * secs;
    for (;;) {
        long long left = deadline - hx_now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0 || !ct_read_some(master, &buf, &len))
            break;
        if (!said && input && strstr(buf, needle)) {
            cr_assert(write(master, input, strlen(input)) == (ssize_t)strlen(input));
            said = true;
        }
    }
    return buf;
}

CT_BOTH(exec, console_socket)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "console", NULL);
    char *path = fx_fmt("%s/console.sock", c->home);
    int listener = ct_console_listen(c, path);
    char *pid_file = fx_fmt("%s/exec.pid", c->home);
    struct fx_result r =
        EXEC(c, "-t", "-d", "--console-socket", path, "--pid-file", pid_file, id, "sh", "-c",
             "tty; [ -t 0 ] && echo stdin-is-a-tty; echo ready; read line; echo \"got $line\"");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    int master = ct_console_receive(listener);
    cr_expect(isatty(master), "the fd received is not a terminal");
    char *out = talk(master, "ready", "hello\n", 10);
    cr_expect(strstr(out, "/dev/pts/"), "tty printed: %s", out);
    cr_expect(strstr(out, "stdin-is-a-tty"), "stdin is not the terminal: %s", out);
    cr_expect(strstr(out, "got hello"), "the input did not arrive: %s", out);
    char *text = ct_read(pid_file);
    cr_expect(text && ct_wait_dead(atoi(text), 10));
    free(text);
    free(out);
    close(master);

    /* Detached, a terminal needs somewhere to go. */
    r = EXEC(c, "-t", "-d", id, "true");
    expect_refusal(&r, "-t -d without --console-socket", "--console-socket");
    fx_result_free(&r);
    close(listener);
    free(pid_file);
    free(path);
    finish(c, id);
}

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

/* mdrun with a terminal the test made as its controlling terminal and
 * stdio: input is typed once "ready" shows.  The exit status. */
static int on_pty(struct hx_ctx *c, const char *const *argv, const char *input, char **out)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    cr_assert(slave >= 0);
    cr_assert(fchown(slave, c->uid, (gid_t)-1) == 0);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    ioctl(slave, TIOCSWINSZ, &ws);
    char **env = pty_env(c);
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
    while (waitpid(pid, &status, WNOHANG) != pid) {
        if (hx_now_ms() > deadline)
            kill(pid, SIGKILL);
        struct pollfd p = {.fd = master, .events = POLLIN};
        poll(&p, 1, 50);
        ct_read_some(master, &buf, &len);
        if (!typed && strstr(buf, "ready")) {
            cr_assert(write(master, input, strlen(input)) == (ssize_t)strlen(input));
            typed = true;
        }
    }
    while (ct_read_some(master, &buf, &len) && len < 1 << 20) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            break;
    }
    close(slave);
    close(master);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CT_BOTH(exec, relayed_terminal)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "relay", NULL);
    const char *argv[] = {hx_mdrun_bin(),
                          "--root",
                          c->root,
                          "exec",
                          "-t",
                          id,
                          "sh",
                          "-c",
                          "tty; stty size; echo ready; read line; echo \"got $line\"; exit 3",
                          NULL};
    char *out = NULL;
    int status = on_pty(c, argv, "hello\r", &out);
    cr_expect_eq(status, 3, "exit %d: %s", status, out);
    cr_expect(strstr(out, "/dev/pts/"), "no terminal in the container: %s", out);
    cr_expect(strstr(out, "24 80"), "the outer terminal's size was not copied: %s", out);
    cr_expect(strstr(out, "got hello"), "the typed line did not arrive: %s", out);
    free(out);
    finish(c, id);
}

/* ------------------------------------------------------------- signals */

CT_BOTH(exec, signals_forwarded)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "signals", NULL);
    const char *m = hx_mdrun_bin();
    char *w = fx_fmt(
        "M='%s --root %s'; "
        "$M exec %s sh -c 'trap \"echo got-term; exit 5\" TERM; touch /dev/shm/ready; "
        "while :; do sleep 0.05; done' & p=$!; "
        "i=0; until $M exec %s test -e /dev/shm/ready; do i=$((i+1)); [ $i -gt 200 ] && break; "
        "sleep 0.05; done; kill -TERM $p; wait $p; echo status=$?",
        m, c->root, id, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "got-term\nstatus=5\n", "stderr: %s", r.err);
    fx_result_free(&r);
    free(w);
    finish(c, id);
}

/* ------------------------------------------------------------ refusals */

CT_BOTH(exec, only_running_containers)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "true", NULL);
    char *id = hx_id("created");
    ct_create(c, b, id);
    struct fx_result r = EXEC(c, id, "true");
    expect_refusal(&r, "a created container", "it is created");
    cr_expect(strstr(r.err, id), "the error does not name the container: %s", r.err);
    fx_result_free(&r);
    /* Started, `true` exits at once: stopped. */
    r = hx_mdrun(c, NULL, "start", id, NULL);
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    int pid = 0;
    char *st = ct_status(c, id, &pid, NULL);
    free(st);
    for (int i = 0; i < 100; i++) {
        st = ct_status(c, id, NULL, NULL);
        bool stopped = st && strcmp(st, "stopped") == 0;
        free(st);
        if (stopped)
            break;
        usleep(50000);
    }
    r = EXEC(c, id, "true");
    expect_refusal(&r, "a stopped container", "cannot exec in container");
    cr_expect(strstr(r.err, "it is stopped"), "%s", r.err);
    fx_result_free(&r);
    ct_delete(c, id);
    r = EXEC(c, id, "true");
    expect_refusal(&r, "no such container", "does not exist");
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
}

Test(exec, paused_container_refused)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    char *id = running(c, "paused", NULL);
    struct fx_result r = hx_mdrun(c, NULL, "pause", id, NULL);
    if (r.status != 0)
        hx_skip("pause: %s", r.err);
    fx_result_free(&r);
    r = EXEC(c, id, "true");
    expect_refusal(&r, "a paused container", "it is paused");
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "resume", id, NULL);
    ct_expect_ok(&r, "resume");
    fx_result_free(&r);
    finish(c, id);
}

/* ----------------------------------------------------------------- fds */

CT_BOTH(exec, no_fd_leaks)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "leak", NULL);
    char *f = text_file(c, "three", "x\n");
    char *w = fx_fmt("exec 3<%s 4<%s; exec %s --root %s exec %s ls /proc/self/fd", f, f,
                     hx_mdrun_bin(), c->root, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    /* ls opens one itself: the 3. */
    cr_expect_str_eq(r.out, "0\n1\n2\n3\n", "the process had fds of mdrun's");
    fx_result_free(&r);
    free(w);
    free(f);
    finish(c, id);
}

CT_BOTH(exec, preserve_fds)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "preserve", NULL);
    char *f3 = text_file(c, "three", "fd three\n"), *f4 = text_file(c, "four", "fd four\n");
    char *w = fx_fmt("exec 3<%s 4<%s 5<%s; exec %s --root %s exec --preserve-fds 2 %s sh -c "
                     "'ls /proc/self/fd; cat <&3; cat <&4'",
                     f3, f4, f3, hx_mdrun_bin(), c->root, id);
    struct fx_result r = wrapped(c, w);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    /* fd 5 is not passed on; ls itself opens one (the 5 listed). */
    cr_expect_str_eq(r.out, "0\n1\n2\n3\n4\n5\nfd three\nfd four\n");
    fx_result_free(&r);
    /* A count past the fds mdrun has is refused. */
    char *w2 = fx_fmt("exec 3<%s; exec %s --root %s exec --preserve-fds 2 %s true", f3,
                      hx_mdrun_bin(), c->root, id);
    r = wrapped(c, w2);
    expect_refusal(&r, "--preserve-fds past the open fds", "fd 4 is not open");
    fx_result_free(&r);
    free(w);
    free(w2);
    free(f3);
    free(f4);
    finish(c, id);
}

/* ------------------------------------------------------------- seccomp */

/* mkdir(2) and mkdirat(2) fail with EPERM; everything else is allowed. */
static void deny_mkdir(md_spec *s)
{
    md_linux *l = ct_linux(s);
    md_seccomp *sc = calloc(1, sizeof(*sc));
    sc->default_action = strdup("SCMP_ACT_ALLOW");
    sc->syscalls = calloc(1, sizeof(md_syscall));
    sc->n_syscalls = 1;
    md_syscall *sys = &sc->syscalls[0];
    md_strv_push(&sys->names, &sys->n_names, "mkdir");
    md_strv_push(&sys->names, &sys->n_names, "mkdirat");
    sys->action = strdup("SCMP_ACT_ERRNO");
    sys->has_errno_ret = true;
    sys->errno_ret = EPERM;
    l->seccomp = sc;
}

CT_BOTH(exec, seccomp_of_the_config)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *id = running(c, "seccomp", deny_mkdir);
    struct fx_result r = EXEC(c, id, "mkdir", "/tmp/denied");
    cr_expect_neq(r.status, 0, "mkdir was allowed under the container's seccomp filter");
    cr_expect(strstr(r.err, "Operation not permitted"), "%s", r.err);
    fx_result_free(&r);
    r = EXEC(c, id, "grep", "Seccomp:", "/proc/self/status");
    cr_expect_str_eq(r.out, "Seccomp:\t2\n", "%s", r.err);
    fx_result_free(&r);
    finish(c, id);
}
