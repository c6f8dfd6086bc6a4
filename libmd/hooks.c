/* hooks.c - running the config's hooks: fork + execve with the container
 * state fed to stdin, waited for through a pidfd so that a timeout needs no
 * SIGCHLD handler and no other child can be mistaken for the hook. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "exec-step.h"
#include "fileio.h"
#include "hooks.h"
#include "log.h"
#include "protect.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Without a pidfd (kernel < 5.3, or a seccomp filter refusing it) the
 * hook's exit is polled for at this interval. */
#define POLL_SLICE_MS 10
/* Bytes written to the hook's stdin per write(2). */
#define FEED_CHUNK 65536

/* What the child sends back through a close-on-exec pipe when it could
 * not exec the hook (struct md_exec_failure, which the exec step writes
 * too); nothing arrives when execve succeeded. */
enum { STEP_STDIN = MD_EXEC_STEP_STDIN, STEP_EXEC = MD_EXEC_STEP_EXEC };

struct hook_proc {
    pid_t pid;
    int pidfd; /* -1 when pidfd_open is not available */
    siginfo_t status;
};

/* ---- the child ------------------------------------------------------- */

static _Noreturn void child_fail(int report, int step)
{
    struct md_exec_failure f = {.step = step, .errnum = errno};
    ssize_t ignored = write(report, &f, sizeof(f));
    (void)ignored;
    _exit(127);
}

/* execve keeps the signal mask and ignored signals: undo what mdrun set
 * (blocked signals for its signalfd, an ignored SIGPIPE) so the hook
 * starts as if from a shell. */
static void reset_signals(void)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP */
}

/* Mark every fd from 3 up close-on-exec, the slow way. */
static void cloexec_from_3(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20)
        max = 1 << 20;
    for (int fd = 3; fd < max; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static _Noreturn void exec_hook(const char *path, char *const argv[], char *const envp[], int in,
                                int report)
{
    reset_signals();
    setpgid(0, 0);
    /* dup2 clears FD_CLOEXEC on fd 0, except when in is already 0. */
    if ((in == 0 ? fcntl(0, F_SETFD, 0) : dup2(in, 0)) < 0)
        child_fail(report, STEP_STDIN);
    dup2(2, 1); /* nothing better to do when mdrun has no stderr */
    /* Close-on-exec rather than close, so that report survives to execve. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        cloexec_from_3();
    /* In the container (startContainer hooks, whose path the image
     * resolves), root's hooks too go through the exec step. */
    md_error err = {0};
    md_exec(&(struct md_exec_call){.path = path,
                                   .argv = argv,
                                   .envp = envp,
                                   .report_kind = 'h',
                                   .report_fd = report,
                                   .status = 127},
            &err);
    errno = err.errnum;
    child_fail(report, STEP_EXEC);
}

/* ---- the parent ------------------------------------------------------ */

static char **vector(char *const *items, size_t n, const char *fallback)
{
    size_t count = n > 0 ? n : (fallback ? 1 : 0);
    char **v = calloc(count + 1, sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = items[i];
    if (n == 0 && fallback)
        v[0] = (char *)fallback;
    return v;
}

static int now_ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
                   (deadline->tv_nsec - now.tv_nsec) / 1000000;
    if (ms < 0)
        return 0;
    return ms > 1000000 ? 1000000 : (int)ms;
}

static bool has_exited(const struct hook_proc *p)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
}

static int reap(struct hook_proc *p, md_error *err)
{
    memset(&p->status, 0, sizeof(p->status));
    while (waitid(P_PID, (id_t)p->pid, &p->status, WEXITED) < 0)
        if (errno != EINTR)
            return md_fail(err, errno, "wait");
    return 0;
}

/* Kill the hook's whole process group (and the hook itself, should it
 * have left the group) and reap it. */
static void kill_and_reap(struct hook_proc *p)
{
    kill(-p->pid, SIGKILL);
    if (p->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    else
        kill(p->pid, SIGKILL);
    md_error ignored = {0};
    reap(p, &ignored);
    md_error_clear(&ignored);
}

/* Write what the pipe takes now; close it when everything is written or
 * the hook closed its end.  Returns -1 only for an unexpected error. */
static int feed(int *in, const char *data, size_t len, size_t *off, md_error *err)
{
    size_t chunk = len - *off < FEED_CHUNK ? len - *off : FEED_CHUNK;
    ssize_t n = chunk > 0 ? write(*in, data + *off, chunk) : 0;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0 && errno != EPIPE)
        return md_fail(err, errno, "write state to stdin");
    if (n > 0)
        *off += (size_t)n;
    if (n < 0 || *off == len) {
        close(*in);
        *in = -1;
    }
    return 0;
}

/* Feed the state and wait for the hook's exit.  Returns 0 once it exited
 * (reaped), 1 when it timed out (killed and reaped), -1 on error (killed
 * and reaped too). */
static int feed_and_wait(struct hook_proc *p, int *in, const char *data, const md_hook *hook,
                         md_error *err)
{
    bool limited = hook->has_timeout && hook->timeout > 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += limited ? hook->timeout : 0;
    size_t len = strlen(data), off = 0;

    for (;;) {
        int wait_ms = limited ? now_ms_until(&deadline) : -1;
        if (limited && wait_ms == 0) {
            kill_and_reap(p);
            return 1;
        }
        if (p->pidfd < 0 && (wait_ms < 0 || wait_ms > POLL_SLICE_MS))
            wait_ms = POLL_SLICE_MS;
        struct pollfd fds[2] = {
            {.fd = p->pidfd, .events = POLLIN},
            {.fd = *in, .events = POLLOUT},
        };
        int r = poll(fds, 2, wait_ms);
        if (r < 0 && errno != EINTR) {
            int saved = errno;
            kill_and_reap(p);
            return md_fail(err, saved, "poll");
        }
        if (r > 0 && fds[1].revents && feed(in, data, len, &off, err) < 0) {
            kill_and_reap(p);
            return -1;
        }
        if (p->pidfd >= 0 ? (r > 0 && fds[0].revents) : has_exited(p))
            break;
    }
    if (reap(p, err) < 0)
        return -1;
    return 0;
}

static int describe_exit(const siginfo_t *si, md_error *err)
{
    if (si->si_code == CLD_EXITED)
        return si->si_status == 0 ? 0 : md_fail(err, 0, "exited with status %d", si->si_status);
    return md_fail(err, 0, "killed by signal %d (%s)", si->si_status, strsignal(si->si_status));
}

static int run_hook(const md_hook *hook, const char *state, md_error *err)
{
    if (!hook->path)
        return md_fail(err, EINVAL, "no path");
    md_autofree char **argv = vector(hook->args, hook->n_args, hook->path);
    md_autofree char **envp = vector(hook->env, hook->n_env, NULL);
    if (!argv || !envp)
        return md_fail(err, ENOMEM, "prepare");

    int in_pipe[2], report_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) < 0)
        return md_fail(err, errno, "pipe");
    md_autofd in_rd = in_pipe[0];
    md_autofd in_wr = in_pipe[1];
    if (pipe2(report_pipe, O_CLOEXEC) < 0)
        return md_fail(err, errno, "pipe");
    md_autofd report_rd = report_pipe[0];
    md_autofd report_wr = report_pipe[1];
    if (fcntl(in_wr, F_SETFL, O_NONBLOCK) < 0)
        return md_fail(err, errno, "pipe");

    struct hook_proc p = {.pidfd = -1};
    p.pid = fork();
    if (p.pid < 0)
        return md_fail(err, errno, "fork");
    if (p.pid == 0)
        exec_hook(hook->path, argv, envp, in_rd, report_wr);
    /* From this side too, so that a timeout finds the group even when the
     * child has not got as far as its own setpgid. */
    setpgid(p.pid, p.pid);
    close(md_take_fd(&in_rd));
    close(md_take_fd(&report_wr));
    md_autofd pidfd = (int)syscall(SYS_pidfd_open, p.pid, 0);
    p.pidfd = pidfd;

    /* A hook may not read its stdin: the write then fails with EPIPE. */
    struct md_sigpipe_guard guard;
    md_sigpipe_block(&guard);
    int r = feed_and_wait(&p, &in_wr, state, hook, err);
    md_sigpipe_restore(&guard);
    if (r < 0)
        return -1;
    if (r > 0)
        return md_fail(err, 0, "timed out after %d second%s", hook->timeout,
                       hook->timeout == 1 ? "" : "s");

    struct md_exec_failure f;
    if (read(report_rd, &f, sizeof(f)) == (ssize_t)sizeof(f))
        return md_fail(err, f.errnum, f.step == STEP_EXEC ? "exec" : "set up stdin");
    return describe_exit(&p.status, err);
}

int md_hook_run(const char *kind, size_t index, const md_hook *hook, const char *state_json,
                md_error *err)
{
    md_debug("running %s hook %zu: %s", kind, index, hook->path ? hook->path : "(none)");
    if (run_hook(hook, state_json ? state_json : "", err) < 0)
        return md_wrap(err, "%s hook %zu (%s)", kind, index, hook->path ? hook->path : "");
    return 0;
}

int md_hooks_run(const char *kind, const md_hook *hooks, size_t n, const char *state_json,
                 md_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (md_hook_run(kind, i, &hooks[i], state_json, err) < 0)
            return -1;
    return 0;
}

void md_hooks_run_warn(const char *kind, const md_hook *hooks, size_t n, const char *state_json)
{
    for (size_t i = 0; i < n; i++) {
        md_error err = {0};
        if (md_hook_run(kind, i, &hooks[i], state_json, &err) < 0)
            md_warn("%s", err.msg);
        md_error_clear(&err);
    }
}
