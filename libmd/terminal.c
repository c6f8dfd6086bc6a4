/* terminal.c - the container's pseudo-terminal: opening it inside the
 * container and making it the terminal of the init or of exec's process,
 * handing its master over --console-socket, and relaying it to
 * the user's terminal for a foreground `run`. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fdpass.h"
#include "fileio.h"
#include "log.h"
#include "rootfs.h"
#include "sync.h"
#include "terminal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* After the container exits, master is read until the slave is gone (EIO)
 * or nothing came for this long, and never for longer than DRAIN_MAX_MS
 * (a process outside the container's pid namespace may keep the slave). */
#define DRAIN_QUIET_MS 100
#define DRAIN_MAX_MS   1000
#define RELAY_BUF      16384

/* ---- opening and attaching ------------------------------------------- */

static unsigned short clamp_dim(uint32_t v)
{
    return v > USHRT_MAX ? USHRT_MAX : (unsigned short)v;
}

int md_pty_open(const md_console_size *size, int *master, int *slave, char **slave_path,
                md_error *err)
{
    md_autofd m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return md_fail(err, errno, "open /dev/ptmx");
    if (unlockpt(m) < 0)
        return md_fail(err, errno, "unlock pty");
    unsigned int n;
    if (ioctl(m, TIOCGPTN, &n) < 0)
        return md_fail(err, errno, "get pty number");
    /* The slave through the master itself: a path lookup in /dev/pts could
     * be raced by the container. */
    md_autofd s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0)
        return md_fail(err, errno, "open pty slave");
    if (size) {
        struct winsize ws = {.ws_row = clamp_dim(size->height), .ws_col = clamp_dim(size->width)};
        if (ioctl(m, TIOCSWINSZ, &ws) < 0)
            return md_fail(err, errno, "set terminal size");
    }
    char *name = NULL;
    if (asprintf(&name, "/dev/pts/%u", n) < 0)
        return md_fail(err, ENOMEM, "pty name");
    *slave_path = name;
    *master = md_take_fd(&m);
    *slave = md_take_fd(&s);
    return 0;
}

int md_pty_attach(int slave, md_error *err)
{
    if (setsid() < 0)
        return md_fail(err, errno, "setsid");
    if (ioctl(slave, TIOCSCTTY, 0) < 0)
        return md_fail(err, errno, "set controlling terminal");
    for (int fd = 0; fd <= 2; fd++) {
        int r = fd == slave ? fcntl(fd, F_SETFD, 0) : dup2(slave, fd);
        if (r < 0)
            return md_fail(err, errno, "terminal as fd %d", fd);
    }
    if (slave > 2)
        close(slave);
    return 0;
}

int md_terminal_setup(int sync_fd, const md_console_size *size, bool console, int *saved_stderr,
                      md_error *err)
{
    if (saved_stderr)
        *saved_stderr = -1;
    int master = -1, slave = -1;
    md_autofree char *slave_path = NULL;
    if (md_pty_open(size, &master, &slave, &slave_path, err) < 0)
        return -1;
    md_autofd m = master;
    md_autofd s = slave;
    if ((console && md_rootfs_console(slave_path, err) < 0) ||
        md_sync_send(sync_fd, MD_SYNC_CONSOLE, 0, slave_path, m, err) < 0)
        return -1;
    /* Our own warnings keep going to mdrun's stderr, not the terminal. */
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved >= 0)
        md_log_set_stderr(saved);
    if (saved_stderr)
        *saved_stderr = saved;
    return md_pty_attach(md_take_fd(&s), err);
}

/* ---- the console socket ---------------------------------------------- */

int md_console_socket_connect(const char *path, md_error *err)
{
    md_autofd sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return md_fail(err, errno, "console socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    md_autofd dir = -1;
    if (strlen(path) < sizeof(addr.sun_path)) {
        strcpy(addr.sun_path, path);
    } else {
        /* Too long for sun_path: go through the directory's fd. */
        const char *slash = strrchr(path, '/');
        md_autofree char *dname = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
        if (!dname)
            return md_fail(err, ENOMEM, "console socket %s", path);
        dir = open(*dname ? dname : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            return md_fail(err, errno, "console socket %s", path);
        int len = snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dir,
                           slash ? slash + 1 : path);
        if (len < 0 || (size_t)len >= sizeof(addr.sun_path))
            return md_fail(err, ENAMETOOLONG, "console socket %s", path);
    }
    int r;
    do
        r = connect(sock, (struct sockaddr *)&addr, sizeof(addr));
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return md_fail(err, errno, "connect to console socket %s", path);
    return md_take_fd(&sock);
}

int md_console_socket_send(int sock, int master, const char *slave_path, md_error *err)
{
    const char *payload = slave_path ? slave_path : "/dev/ptmx";
    size_t len = strlen(payload);
    ssize_t n = md_send_with_fds(sock, payload, len, &master, 1);
    if (n < 0)
        return md_fail(err, errno, "send terminal to console socket");
    if ((size_t)n != len)
        return md_fail(err, EPIPE, "send terminal to console socket");
    return 0;
}

/* ---- the foreground relay -------------------------------------------- */

struct saved_tty {
    int fd; /* -1 when nothing to restore */
    struct termios mode;
};

static void restore_tty(struct saved_tty *t)
{
    if (t->fd >= 0)
        tcsetattr(t->fd, TCSANOW, &t->mode);
}

struct saved_flags {
    int fd;
    int flags; /* -1 when nothing to restore */
};

static void restore_flags(struct saved_flags *f)
{
    if (f->flags >= 0)
        fcntl(f->fd, F_SETFL, f->flags);
}

struct relay {
    const struct md_relay *cfg;
    bool in_open; /* still reading stdin */
    bool in_is_tty;
    bool master_open; /* false once master read EIO: no slave left */
    bool out_open;    /* false once writing stdout failed */
    char in_buf[RELAY_BUF];
    size_t in_len, in_off;
    int eofs_to_send;   /* ^D still to write after in_buf */
    bool at_line_start; /* the last byte sent to master ended a line */
};

static void copy_winsize(int master)
{
    struct winsize ws;
    for (int fd = 0; fd <= 2; fd++) {
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            if (ioctl(master, TIOCSWINSZ, &ws) < 0)
                md_debug("set terminal size: %s", strerror(errno));
            return;
        }
    }
}

static void on_signal(struct relay *r)
{
    struct signalfd_siginfo si;
    if (read(r->cfg->signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    int sig = (int)si.ssi_signo;
    if (sig == SIGWINCH)
        copy_winsize(r->cfg->master);
    else if (sig != SIGCHLD && syscall(SYS_pidfd_send_signal, r->cfg->pidfd, sig, NULL, 0) < 0 &&
             errno != ESRCH)
        md_warn("forward signal %d to the container: %s", sig, strerror(errno));
}

/* stdin reached its end: a pipe or file ends the container's input as ^D
 * would (twice when a partial line is pending: the first ^D only delivers
 * it); a terminal that hung up just stops being read. */
static void stdin_ended(struct relay *r, bool eof)
{
    r->in_open = false;
    if (!eof || r->in_is_tty)
        return;
    r->eofs_to_send = r->at_line_start ? 1 : 2;
}

static void read_stdin(struct relay *r, short revents)
{
    if (revents & POLLNVAL) {
        stdin_ended(r, false);
        return;
    }
    ssize_t n = read(STDIN_FILENO, r->in_buf, sizeof(r->in_buf));
    if (n > 0) {
        r->in_len = (size_t)n;
        r->in_off = 0;
    } else if (n == 0) {
        stdin_ended(r, true);
    } else if (errno != EINTR && errno != EAGAIN) {
        stdin_ended(r, false);
    }
}

static void write_master(struct relay *r)
{
    char eof_seq[2];
    const char *data = r->in_buf + r->in_off;
    size_t len = r->in_len - r->in_off;
    if (len == 0) {
        struct termios mode;
        char veof = tcgetattr(r->cfg->master, &mode) == 0 ? (char)mode.c_cc[VEOF] : 4;
        eof_seq[0] = eof_seq[1] = veof;
        data = eof_seq;
        len = (size_t)r->eofs_to_send;
    }
    ssize_t n = write(r->cfg->master, data, len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) { /* no slave left: drop the input */
        r->in_off = r->in_len = 0;
        r->eofs_to_send = 0;
        return;
    }
    if (data == eof_seq) {
        r->eofs_to_send -= (int)n;
        return;
    }
    r->in_off += (size_t)n;
    r->at_line_start = data[n - 1] == '\n';
    if (r->in_off == r->in_len)
        r->in_off = r->in_len = 0;
}

/* One read from master to stdout.  Returns the byte count, 0 when there
 * was nothing to read, -1 once master has no slave left. */
static ssize_t read_master(struct relay *r)
{
    char buf[RELAY_BUF];
    ssize_t n = read(r->cfg->master, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) { /* EIO: every slave fd is closed */
        r->master_open = false;
        return -1;
    }
    if (r->out_open && md_write_all(STDOUT_FILENO, buf, (size_t)n) < 0) {
        md_debug("write container output: %s", strerror(errno));
        r->out_open = false; /* keep reading so the container never blocks */
    }
    return n;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* The container exited: what it wrote last may still be in master. */
static void drain_master(struct relay *r)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (r->master_open && elapsed_ms(&start) < DRAIN_MAX_MS) {
        struct pollfd p = {.fd = r->cfg->master, .events = POLLIN};
        int n = poll(&p, 1, DRAIN_QUIET_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        read_master(r);
    }
}

enum { FD_PID, FD_SIG, FD_IN, FD_MASTER, N_FDS };

static int relay_loop(struct relay *r, md_error *err)
{
    for (;;) {
        bool pending = r->in_len > 0 || r->eofs_to_send > 0;
        if (!r->master_open)
            pending = false;
        struct pollfd fds[N_FDS] = {
            [FD_PID] = {.fd = r->cfg->pidfd, .events = POLLIN},
            [FD_SIG] = {.fd = r->cfg->signal_fd, .events = POLLIN},
            [FD_IN] = {.fd = r->in_open && !pending ? STDIN_FILENO : -1, .events = POLLIN},
            [FD_MASTER] = {.fd = r->master_open ? r->cfg->master : -1,
                           .events = POLLIN | (pending ? POLLOUT : 0)},
        };
        if (poll(fds, N_FDS, -1) < 0) {
            if (errno == EINTR)
                continue;
            return md_fail(err, errno, "poll");
        }
        if (fds[FD_SIG].revents)
            on_signal(r);
        if (fds[FD_IN].revents)
            read_stdin(r, fds[FD_IN].revents);
        if (fds[FD_MASTER].revents & POLLOUT)
            write_master(r);
        if (fds[FD_MASTER].revents & (POLLIN | POLLHUP | POLLERR))
            read_master(r);
        if (fds[FD_PID].revents)
            return 0;
    }
}

int md_tty_relay(const struct md_relay *relay, md_error *err)
{
    __attribute__((cleanup(restore_tty))) struct saved_tty tty = {.fd = -1};
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &tty.mode) == 0) {
        struct termios raw = tty.mode;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            tty.fd = STDIN_FILENO;
        else
            md_warn("set the terminal to raw mode: %s", strerror(errno));
    }
    __attribute__((cleanup(restore_flags))) struct saved_flags flags = {
        .fd = relay->master,
        .flags = fcntl(relay->master, F_GETFL),
    };
    if (flags.flags < 0 || fcntl(relay->master, F_SETFL, flags.flags | O_NONBLOCK) < 0)
        return md_fail(err, errno, "pty master");
    copy_winsize(relay->master);

    struct relay r = {
        .cfg = relay,
        .in_open = true,
        .in_is_tty = tty.fd >= 0 || isatty(STDIN_FILENO),
        .master_open = true,
        .out_open = true,
        .at_line_start = true,
    };
    /* A closed stdout ends the output relay (EPIPE) instead of killing
     * mdrun with stdin left in raw mode. */
    struct md_sigpipe_guard guard;
    md_sigpipe_block(&guard);
    int ret = relay_loop(&r, err);
    if (ret == 0)
        drain_master(&r);
    md_sigpipe_restore(&guard);
    return ret;
}
