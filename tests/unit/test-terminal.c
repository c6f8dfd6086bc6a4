/* test-terminal.c - the pty, the console socket and the foreground relay. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fdpass.h"
#include "fixture.h"
#include "terminal.h"

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

TestSuite(terminal, .init = setup, .fini = teardown, .timeout = 30);

struct pty {
    int master;
    int slave;
    char *name;
};

static struct pty open_pty(const md_console_size *size)
{
    struct pty p;
    md_error err = {0};
    cr_assert_eq(md_pty_open(size, &p.master, &p.slave, &p.name, &err), 0, "%s", err.msg);
    return p;
}

static void close_pty(struct pty *p)
{
    if (p->master >= 0)
        close(p->master);
    if (p->slave >= 0)
        close(p->slave);
    free(p->name);
}

/* Everything the master gives until the slave side is gone (EIO). */
static char *read_until_eio(int master)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    cr_assert(buf);
    for (;;) {
        struct pollfd p = {.fd = master, .events = POLLIN};
        cr_assert(poll(&p, 1, 10000) == 1, "no output from the pty for 10 s");
        if (used + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(master, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return buf;
}

static char *read_all(int fd)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    cr_assert(buf);
    for (;;) {
        if (used + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    return buf;
}

static int pidfd_of(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    cr_assert(fd >= 0, "pidfd_open: %s", strerror(errno));
    return fd;
}

/* Fork a "container": attached to the pty's slave, it runs body and exits
 * with its return value.  The parent keeps only the master. */
static pid_t spawn_container(struct pty *p, int (*body)(void *), void *arg)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p->master);
        md_error err = {0};
        if (md_pty_attach(p->slave, &err) < 0)
            _exit(100);
        _exit(body(arg));
    }
    close(p->slave);
    p->slave = -1;
    return pid;
}

static siginfo_t reap(pid_t pid)
{
    siginfo_t si = {0};
    cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED), 0);
    return si;
}

/* ---- md_pty_open, md_pty_attach -------------------------------------- */

static int say_attached(void *arg)
{
    (void)arg;
    bool ok =
        isatty(0) && isatty(1) && isatty(2) && getsid(0) == getpid() && tcgetpgrp(0) == getpgrp();
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC); /* only with a controlling tty */
    ok = ok && tty >= 0;
    dprintf(1, ok ? "attached\n" : "not attached\n");
    return 0;
}

Test(terminal, open_attach_and_write)
{
    struct pty p = open_pty(NULL);
    char want_name[64];
    cr_assert_eq(ptsname_r(p.master, want_name, sizeof(want_name)), 0);
    cr_assert_str_eq(p.name, want_name);
    cr_assert(fcntl(p.master, F_GETFD) & FD_CLOEXEC);
    cr_assert(fcntl(p.slave, F_GETFD) & FD_CLOEXEC);

    pid_t pid = spawn_container(&p, say_attached, NULL);
    char *out = read_until_eio(p.master);
    cr_assert_str_eq(out, "attached\r\n");
    siginfo_t si = reap(pid);
    cr_assert_eq(si.si_code, CLD_EXITED);
    cr_assert_eq(si.si_status, 0);
    free(out);
    close_pty(&p);
}

Test(terminal, console_size_is_applied)
{
    md_console_size size = {.height = 24, .width = 132};
    struct pty p = open_pty(&size);
    struct winsize ws;
    cr_assert_eq(ioctl(p.slave, TIOCGWINSZ, &ws), 0);
    cr_assert_eq(ws.ws_row, 24);
    cr_assert_eq(ws.ws_col, 132);
    close_pty(&p);
}

/* ---- the console socket ---------------------------------------------- */

static int listen_at(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    /* A long path is bound from inside its directory. */
    const char *slash = strrchr(path, '/');
    char *dname = strndup(path, (size_t)(slash - path));
    int cwd = open(".", O_PATH | O_CLOEXEC);
    cr_assert_eq(chdir(dname), 0);
    strcpy(addr.sun_path, slash + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0, "bind: %s", strerror(errno));
    cr_assert_eq(fchdir(cwd), 0);
    close(cwd);
    free(dname);
    cr_assert_eq(listen(fd, 1), 0);
    return fd;
}

static void console_socket_round_trip(const char *sock_path)
{
    int server = listen_at(sock_path);
    md_error err = {0};
    int client = md_console_socket_connect(sock_path, &err);
    cr_assert(client >= 0, "%s", err.msg);
    int conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(conn >= 0);

    struct pty p = open_pty(NULL);
    cr_assert_eq(md_console_socket_send(client, p.master, p.name, &err), 0, "%s", err.msg);
    char payload[256] = {0};
    int fds[1] = {-1};
    size_t nfds = 0;
    ssize_t n = md_recv_with_fds(conn, payload, sizeof(payload) - 1, fds, 1, &nfds);
    cr_assert_eq(n, (ssize_t)strlen(p.name));
    cr_assert_str_eq(payload, p.name);
    cr_assert_eq(nfds, 1);

    /* The received fd is that pty's master: what is written there is read
     * on our slave. */
    unsigned int num_sent, num_got;
    cr_assert_eq(ioctl(p.master, TIOCGPTN, &num_sent), 0);
    cr_assert_eq(ioctl(fds[0], TIOCGPTN, &num_got), 0);
    cr_assert_eq(num_got, num_sent);
    cr_assert_eq(write(fds[0], "ping\n", 5), 5);
    char line[16] = {0};
    cr_assert_eq(read(p.slave, line, sizeof(line) - 1), 5);
    cr_assert_str_eq(line, "ping\n");

    close(fds[0]);
    close(conn);
    close(client);
    close(server);
    close_pty(&p);
}

Test(terminal, console_socket_carries_the_master)
{
    char *path = fx_fmt("%s/console.sock", dir);
    console_socket_round_trip(path);
    free(path);
}

Test(terminal, console_socket_path_longer_than_sun_path)
{
    char long_name[120];
    memset(long_name, 'd', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    char *sub = fx_fmt("%s/%s", dir, long_name);
    cr_assert_eq(mkdir(sub, 0700), 0);
    char *path = fx_fmt("%s/console.sock", sub);
    cr_assert_gt(strlen(path), sizeof(((struct sockaddr_un *)0)->sun_path));
    console_socket_round_trip(path);
    free(path);
    free(sub);
}

Test(terminal, console_socket_missing)
{
    char *path = fx_fmt("%s/nothing.sock", dir);
    md_error err = {0};
    cr_assert_eq(md_console_socket_connect(path, &err), -1);
    char *want = fx_fmt("connect to console socket %s: No such file or directory", path);
    cr_assert_str_eq(err.msg, want);
    free(want);
    md_error_clear(&err);
    free(path);
}

/* ---- md_tty_relay ---------------------------------------------------- */

/* The test process's stdin and stdout, put back after a relay. */
struct stdio_save {
    int in, out;
};

static struct stdio_save redirect_stdio(int in, int out)
{
    struct stdio_save s = {dup(0), dup(1)};
    cr_assert(s.in >= 0 && s.out >= 0);
    cr_assert_eq(dup2(in, 0), 0);
    cr_assert_eq(dup2(out, 1), 1);
    return s;
}

static void restore_stdio(struct stdio_save *s)
{
    dup2(s->in, 0);
    dup2(s->out, 1);
    close(s->in);
    close(s->out);
}

/* Read until EOF, then report what was read; exit 7. */
static int read_to_eof(void *arg)
{
    (void)arg;
    char buf[256];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(0, buf + used, sizeof(buf) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    dprintf(1, "read:%s|eof\n", buf);
    return 7;
}

Test(terminal, relay_with_a_pipe_as_stdin)
{
    struct pty p = open_pty(NULL);
    pid_t pid = spawn_container(&p, read_to_eof, NULL);
    int pidfd = pidfd_of(pid);

    int in[2], out[2];
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    /* A last line without newline: it must still arrive, then the end. */
    cr_assert_eq(write(in[1], "hello\nabc", 9), 9);
    close(in[1]);

    struct stdio_save saved = redirect_stdio(in[0], out[1]);
    struct md_relay relay = {.master = p.master, .pidfd = pidfd, .signal_fd = -1};
    md_error err = {0};
    int r = md_tty_relay(&relay, &err);
    restore_stdio(&saved);
    cr_assert_eq(r, 0, "%s", err.msg);

    close(out[1]);
    char *text = read_all(out[0]);
    cr_assert(strstr(text, "read:hello\r\nabc|eof\r\n"), "relayed: %s", text);
    siginfo_t si = reap(pid);
    cr_assert_eq(si.si_code, CLD_EXITED);
    cr_assert_eq(si.si_status, 7);
    cr_assert_eq(fcntl(p.master, F_GETFL) & O_NONBLOCK, 0, "master left non-blocking");
    free(text);
    close(in[0]);
    close(out[0]);
    close(pidfd);
    close_pty(&p);
}

/* The "user's terminal" for the relay tests: its slave is our stdin, its
 * master is where the user types. */
struct outer {
    struct pty pty;
    struct termios before;
};

static struct outer open_outer(unsigned short rows, unsigned short cols)
{
    struct outer o = {.pty = open_pty(NULL)};
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    cr_assert_eq(ioctl(o.pty.master, TIOCSWINSZ, &ws), 0);
    cr_assert_eq(tcgetattr(o.pty.slave, &o.before), 0);
    cr_assert(o.before.c_lflag & ICANON, "a new pty starts in canonical mode");
    return o;
}

static void assert_mode_restored(const struct outer *o)
{
    struct termios now;
    cr_assert_eq(tcgetattr(o->pty.slave, &now), 0);
    cr_assert_eq(now.c_iflag, o->before.c_iflag);
    cr_assert_eq(now.c_oflag, o->before.c_oflag);
    cr_assert_eq(now.c_cflag, o->before.c_cflag);
    cr_assert_eq(now.c_lflag, o->before.c_lflag);
    cr_assert(memcmp(now.c_cc, o->before.c_cc, sizeof(now.c_cc)) == 0);
}

static int signal_fd_for(int a, int b)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, a);
    sigaddset(&set, b);
    cr_assert_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    cr_assert(fd >= 0);
    return fd;
}

static bool wait_size(unsigned short rows, unsigned short cols)
{
    for (int i = 0; i < 300; i++) {
        struct winsize ws;
        if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row == rows && ws.ws_col == cols)
            return true;
        usleep(10000);
    }
    return false;
}

/* The container side of the interactive test; arg is the outer slave fd,
 * inherited, through which it looks at and resizes the user's terminal. */
static int interactive(void *arg)
{
    int outer = *(int *)arg;
    char line[16];
    ssize_t n = read(0, line, sizeof(line)); /* "go", once the relay runs */
    if (n <= 0)
        return 1;
    struct termios mode;
    tcgetattr(outer, &mode);
    bool raw = !(mode.c_lflag & (ICANON | ECHO | ISIG)) && !(mode.c_oflag & OPOST);
    dprintf(1, "%s\n", raw ? "raw" : "cooked");

    struct winsize ws = {0};
    ioctl(0, TIOCGWINSZ, &ws);
    dprintf(1, "size %d %d\n", ws.ws_row, ws.ws_col);

    /* The user resizes the window: SIGWINCH reaches mdrun. */
    struct winsize bigger = {.ws_row = 44, .ws_col = 122};
    ioctl(outer, TIOCSWINSZ, &bigger);
    kill(getppid(), SIGWINCH);
    dprintf(1, wait_size(44, 122) ? "winch 44 122\n" : "winch lost\n");

    /* A signal sent to mdrun is forwarded to the container. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1); /* blocked, inherited from the test */
    kill(getppid(), SIGUSR1);
    struct timespec limit = {5, 0};
    dprintf(1, sigtimedwait(&usr1, NULL, &limit) == SIGUSR1 ? "usr1 forwarded\n" : "usr1 lost\n");
    return 0;
}

Test(terminal, relay_with_a_terminal_as_stdin)
{
    struct outer o = open_outer(33, 111);
    int sfd = signal_fd_for(SIGWINCH, SIGUSR1);
    struct pty p = open_pty(NULL);
    pid_t pid = spawn_container(&p, interactive, &o.pty.slave);
    int pidfd = pidfd_of(pid);

    /* Typed before the relay starts: delivered only once it runs, that is
     * once stdin is in raw mode. */
    cr_assert_eq(write(o.pty.master, "go\n", 3), 3);
    int out[2];
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    struct stdio_save saved = redirect_stdio(o.pty.slave, out[1]);
    struct md_relay relay = {.master = p.master, .pidfd = pidfd, .signal_fd = sfd};
    md_error err = {0};
    int r = md_tty_relay(&relay, &err);
    restore_stdio(&saved);
    cr_assert_eq(r, 0, "%s", err.msg);
    assert_mode_restored(&o);

    close(out[1]);
    char *text = read_all(out[0]);
    cr_assert(strstr(text, "raw\r\n"), "relayed: %s", text);
    cr_assert(strstr(text, "size 33 111\r\n"), "relayed: %s", text);
    cr_assert(strstr(text, "winch 44 122\r\n"), "relayed: %s", text);
    cr_assert(strstr(text, "usr1 forwarded\r\n"), "relayed: %s", text);
    siginfo_t si = reap(pid);
    cr_assert_eq(si.si_code, CLD_EXITED);
    cr_assert_eq(si.si_status, 0);
    free(text);
    close(out[0]);
    close(pidfd);
    close(sfd);
    close_pty(&p);
    close_pty(&o.pty);
}

#define FLOOD_BYTES (256 * 1024)

static int flood(void *arg)
{
    (void)arg;
    static char block[4096];
    memset(block, 'x', sizeof(block));
    for (size_t sent = 0; sent < FLOOD_BYTES; sent += sizeof(block))
        if (write(1, block, sizeof(block)) != (ssize_t)sizeof(block))
            return 1;
    return 0;
}

Test(terminal, relay_drains_output_left_at_exit)
{
    struct pty p = open_pty(NULL);
    pid_t pid = spawn_container(&p, flood, NULL);
    int pidfd = pidfd_of(pid);
    /* A file as stdout, so the relay never waits on us. */
    char *path = fx_fmt("%s/out", dir);
    int out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(out >= 0);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct stdio_save saved = redirect_stdio(null, out);
    struct md_relay relay = {.master = p.master, .pidfd = pidfd, .signal_fd = -1};
    md_error err = {0};
    int r = md_tty_relay(&relay, &err);
    restore_stdio(&saved);
    cr_assert_eq(r, 0, "%s", err.msg);
    siginfo_t si = reap(pid);
    cr_assert_eq(si.si_status, 0);
    size_t len = 0;
    char *text = fx_read(path, &len);
    cr_assert_eq(len, FLOOD_BYTES);
    cr_assert_eq(strspn(text, "x"), (size_t)FLOOD_BYTES);
    free(text);
    close(null);
    close(out);
    free(path);
    close(pidfd);
    close_pty(&p);
}

static int die(void *arg)
{
    (void)arg;
    dprintf(1, "dying\n");
    raise(SIGKILL);
    return 0;
}

Test(terminal, relay_restores_the_terminal_when_the_container_is_killed)
{
    struct outer o = open_outer(25, 80);
    struct pty p = open_pty(NULL);
    pid_t pid = spawn_container(&p, die, NULL);
    int pidfd = pidfd_of(pid);
    int out[2];
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    struct stdio_save saved = redirect_stdio(o.pty.slave, out[1]);
    struct md_relay relay = {.master = p.master, .pidfd = pidfd, .signal_fd = -1};
    md_error err = {0};
    int r = md_tty_relay(&relay, &err);
    restore_stdio(&saved);
    cr_assert_eq(r, 0, "%s", err.msg);
    assert_mode_restored(&o);
    close(out[1]);
    char *text = read_all(out[0]);
    cr_assert_str_eq(text, "dying\r\n");
    siginfo_t si = reap(pid);
    cr_assert_eq(si.si_code, CLD_KILLED);
    cr_assert_eq(si.si_status, SIGKILL);
    free(text);
    close(out[0]);
    close(pidfd);
    close_pty(&p);
    close_pty(&o.pty);
}
