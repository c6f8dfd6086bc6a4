/* fixture.c - helpers shared by the unit and integration tests. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

char *fx_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        cr_assert_fail("out of memory");
    va_end(ap);
    return s;
}

char *fx_path(const char *rel)
{
    const char *dir = getenv("MDRUN_FIXTURES");
    cr_assert(dir, "MDRUN_FIXTURES is not set: run the tests through `make check`");
    return fx_fmt("%s/%s", dir, rel);
}

static char *read_all_fd(int fd, size_t *len)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    cr_assert(buf);
    for (;;) {
        if (used + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

char *fx_read(const char *rel, size_t *len)
{
    char *path = rel[0] == '/' ? strdup(rel) : fx_path(rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "cannot open fixture %s: %s", path, strerror(errno));
    char *buf = read_all_fd(fd, len);
    close(fd);
    free(path);
    return buf;
}

char *fx_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = fx_fmt("%s/mdrun-test.XXXXXX", base && *base ? base : "/tmp");
    cr_assert(mkdtemp(tmpl), "mkdtemp: %s", strerror(errno));
    chmod(tmpl, 0755);
    return tmpl;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void fx_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void fx_write(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(content);
    cr_assert(write(fd, content, len) == (ssize_t)len, "write %s", path);
    close(fd);
}

/* Drain the child's stdout and stderr together so neither pipe fills up. */
static void drain(int out_fd, int err_fd, char **out, char **err)
{
    struct {
        int fd;
        char *buf;
        size_t len, cap;
    } s[2] = {{out_fd, NULL, 0, 0}, {err_fd, NULL, 0, 0}};
    for (int i = 0; i < 2; i++) {
        s[i].cap = 4096;
        s[i].buf = malloc(s[i].cap);
        cr_assert(s[i].buf);
    }
    int open_fds = 2;
    while (open_fds > 0) {
        struct pollfd p[2] = {{s[0].fd, POLLIN, 0}, {s[1].fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (s[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (s[i].len + 4096 >= s[i].cap) {
                s[i].cap *= 2;
                s[i].buf = realloc(s[i].buf, s[i].cap);
                cr_assert(s[i].buf);
            }
            ssize_t n = read(s[i].fd, s[i].buf + s[i].len, s[i].cap - s[i].len - 1);
            if (n > 0) {
                s[i].len += (size_t)n;
            } else if (n == 0 || errno != EINTR) {
                close(s[i].fd);
                s[i].fd = -1;
                p[i].fd = -1;
                open_fds--;
            }
        }
    }
    s[0].buf[s[0].len] = '\0';
    s[1].buf[s[1].len] = '\0';
    *out = s[0].buf;
    *err = s[1].buf;
}

struct fx_result fx_run(char *const argv[], const char *input, char *const extra_env[])
{
    int in[2], out[2], err[2];
    cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0 &&
              pipe2(err, O_CLOEXEC) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (size_t i = 0; extra_env && extra_env[i]; i++)
            putenv(extra_env[i]);
        execvp(argv[0], argv);
        dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (input) {
        /* Inputs in the tests are small: they fit in the pipe buffer. */
        signal(SIGPIPE, SIG_IGN);
        ssize_t ignored = write(in[1], input, strlen(input));
        (void)ignored;
    }
    close(in[1]);
    struct fx_result r = {0};
    drain(out[0], err[0], &r.out, &r.err);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

void fx_result_free(struct fx_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

size_t fx_count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '\n')
            n++;
    return n;
}

/* Write text to /proc/PID/NAME, as the parent of a new user namespace. */
static int write_proc(pid_t pid, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void child_in_userns(const struct fx_userns *ns, int ready, int go, int out,
                            int (*fn)(void *), void *arg)
{
    dup2(out, 1);
    dup2(out, 2);
    int e = unshare(CLONE_NEWUSER | ns->flags) == 0 ? 0 : errno;
    if (write(ready, &e, sizeof(e)) != sizeof(e) || e)
        _exit(125);
    char c;
    if (read(go, &c, 1) != 1)
        _exit(125);
    /* Become root of the namespace, as a runtime's child does: with a range
     * mapping our own ids are not in it. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
        printf("fx_in_userns: becoming root: %s\n", strerror(errno));
        fflush(stdout);
        _exit(125);
    }
    int rc = fn(arg);
    fflush(NULL);
    _exit(rc);
}

char *fx_in_userns(const struct fx_userns *ns, int (*fn)(void *arg), void *arg, int *status)
{
    int ready[2], go[2], out[2];
    cr_assert(pipe2(ready, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0 &&
              pipe2(out, O_CLOEXEC) == 0);
    fflush(NULL); /* or the child would print the parent's buffers again */
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0)
        child_in_userns(ns, ready[1], go[0], out[1], fn, arg);
    close(ready[1]);
    close(go[0]);
    close(out[1]);

    int e = -1;
    ssize_t n = read(ready[0], &e, sizeof(e));
    close(ready[0]);
    char *uid_map = ns->uid_map ? strdup(ns->uid_map) : fx_fmt("0 %u 1", (unsigned)geteuid());
    char *gid_map = ns->gid_map ? strdup(ns->gid_map) : fx_fmt("0 %u 1", (unsigned)getegid());
    int map_errno = 0;
    if (n == sizeof(e) && e == 0 &&
        ((!ns->gid_map && write_proc(pid, "setgroups", "deny") < 0) ||
         write_proc(pid, "uid_map", uid_map) < 0 || write_proc(pid, "gid_map", gid_map) < 0))
        map_errno = errno;
    if (n == sizeof(e) && e == 0 && map_errno == 0)
        cr_assert(write(go[1], "g", 1) == 1);
    close(go[1]);

    char *text = read_all_fd(out[0], NULL);
    close(out[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (n == sizeof(e) && e != 0)
        cr_skip_test("cannot create a user namespace here: unshare: %s", strerror(e));
    cr_assert(n == sizeof(e), "the child died before unsharing: %s", text);
    cr_assert(map_errno == 0, "writing the id maps \"%s\" / \"%s\": %s", uid_map, gid_map,
              strerror(map_errno));
    free(uid_map);
    free(gid_map);
    return text;
}
