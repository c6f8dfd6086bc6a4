/* terminal.h - the container's pseudo-terminal: created inside the
 * container, its master handed to the caller over --console-socket (as
 * runc and crun do) or relayed to the user's own terminal by `run`. */
#ifndef MD_TERMINAL_H
#define MD_TERMINAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

/* In the container, after pivot_root with the container's devpts mounted
 * on /dev/pts (and /dev/ptmx a symlink to pts/ptmx or its device): open
 * /dev/ptmx, get the slave with TIOCGPTPEER (no path lookup), apply size
 * (consoleSize; NULL for none).  *slave_path is the slave's name inside the
 * container ("/dev/pts/0"; caller frees).  Both fds are O_CLOEXEC. */
int md_pty_open(const md_console_size *size, int *master, int *slave, char **slave_path,
                md_error *err);
/* Start a new session with slave as its controlling terminal and make it
 * stdin, stdout and stderr of this process (without O_CLOEXEC); closes
 * slave unless it is one of 0-2.  Fails when this process already leads a
 * process group (setsid: EPERM). */
int md_pty_attach(int slave, md_error *err);
/* The terminal set-up of a container process (the init, or exec's
 * process), after it entered the container's root: md_pty_open(), the
 * slave bound onto /dev/console when console is true, the master sent to
 * mdrun over sync_fd (a console message), then md_pty_attach().  Our own
 * warnings keep going to mdrun's stderr through a close-on-exec copy of
 * it, stored in *saved_stderr when not NULL (-1 when none). */
int md_terminal_setup(int sync_fd, const md_console_size *size, bool console, int *saved_stderr,
                      md_error *err);

/* Connect to the --console-socket (AF_UNIX, SOCK_STREAM, O_CLOEXEC).  A
 * path longer than sun_path is reached through its directory's fd. */
int md_console_socket_connect(const char *path, md_error *err);
/* Send master over the console socket with SCM_RIGHTS in one sendmsg, the
 * payload being slave_path (or "/dev/ptmx" when NULL).  Receivers use only
 * the fd: conmon and containerd ignore the payload (runc sends "/dev/ptmx",
 * crun a single space). */
int md_console_socket_send(int sock, int master, const char *slave_path, md_error *err);

/* What md_tty_relay works with; it owns none of these fds. */
struct md_relay {
    int master;    /* pty master (made O_NONBLOCK during the relay) */
    int pidfd;     /* the container's init process */
    int signal_fd; /* signalfd with SIGWINCH and the signals to forward, or -1 */
};
/* `run` with a terminal, in the foreground: put stdin in raw mode when it
 * is a terminal, copy the window size (of the first of stdin, stdout,
 * stderr that is a terminal) to master now and on each SIGWINCH read from
 * signal_fd, forward every other signal read there (but SIGCHLD) to the
 * container with pidfd_send_signal, and relay stdin -> master and
 * master -> stdout.  When stdin is not a terminal and reaches EOF, the
 * terminal's EOF character (^D) is sent, as a user would type it, so that
 * a program reading its input sees the end.  Returns 0 once the pidfd is
 * readable and master is drained (EIO: no slave left, or quiet for 100 ms);
 * the caller reaps.  stdin's terminal mode is restored on every return. */
int md_tty_relay(const struct md_relay *relay, md_error *err);

#endif
