/* container.h - the container lifecycle: create, start, run, kill, delete.
 *
 * create.c is mdrun's side of creating (the parent), init.c the container
 * process's side; both walk the stages of sync.h in order.  lifecycle.c
 * holds start, kill and delete; run.c is create + start + wait.
 */
#ifndef MD_CONTAINER_H
#define MD_CONTAINER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ns.h"
#include "spec.h"
#include "userns.h"

struct md_seccomp_program;

struct md_create_opts {
    const char *root; /* --root, NULL for the default state root */
    const char *id;
    const char *bundle;         /* NULL: the current directory */
    const char *pid_file;       /* --pid-file */
    const char *console_socket; /* --console-socket */
    unsigned preserve_fds;      /* --preserve-fds */
    bool no_pivot;              /* --no-pivot */
    bool no_new_keyring;        /* --no-new-keyring */
    bool foreground_tty;        /* run: a terminal relayed by mdrun itself */
    const char *cgroup_manager; /* --cgroup-manager: NULL for the default (cgroupfs) */
    const char *net;            /* --net: "slirp4netns" or "none"; NULL: as annotated (slirp.h) */
    char *const *publish;       /* -p/--publish, n_publish of them */
    size_t n_publish;
};

/* What create hands to run. */
struct md_created {
    pid_t pid;  /* the container's init, as seen by mdrun */
    int pidfd;  /* on it, or -1 without pidfds (clone.h) */
    int master; /* the pty master when run relays the terminal, else -1 */
};

/* Everything the container process needs, prepared by mdrun before the
 * fork and read by the child in its copy of this memory. */
struct md_container {
    const struct md_create_opts *opts;
    md_spec *spec;
    char *bundle;  /* absolute */
    char *rootfs;  /* canonical absolute path of root.path */
    bool rootless; /* no real root: no mknod, helper-written id maps */
    struct md_ns_plan ns;
    struct md_idmaps maps;
    pid_t parent;      /* mdrun's pid, for the death signal check */
    int sync_fd;       /* the container process's end of the channel */
    int fifo_fd;       /* exec.fifo opened for reading */
    int console_fd;    /* --console-socket, connected, or -1 */
    int state_fds[2];  /* the state root and container dir: closed in the child,
                          which must not hold the directory's lock */
    unsigned keep_fds; /* fds 3 .. 3+keep_fds-1 go to the container */
    char **argv;       /* process.args, NULL-terminated */
    char **env;        /* process.env plus LISTEN_FDS/LISTEN_PID, NULL-terminated */
    size_t n_env;
    int listen_pid_var;                 /* index of LISTEN_PID in env, or -1 */
    struct md_seccomp_program *seccomp; /* linux.seccomp compiled by mdrun, or NULL */
};

/* The container process: walks its stages, never returns. */
__attribute__((noreturn)) void md_init_main(struct md_container *c);

int md_container_create(const struct md_create_opts *opts, struct md_created *out, md_error *err);
int md_container_start(const char *root, const char *id, md_error *err);
int md_container_kill(const char *root, const char *id, int sig, bool all, md_error *err);
int md_container_delete(const char *root, const char *id, bool force, md_error *err);
/* create + start; in the foreground, wait and return the exit code
 * (128 + signal when killed) in *exit_code, then delete. */
int md_container_run(const struct md_create_opts *opts, bool detach, int *exit_code, md_error *err);

/* `mdrun exec` (exec.c): a process in a running container. */
struct md_exec_opts {
    const char *root; /* --root, NULL for the default state root */
    const char *id;
    const char *process_file;   /* --process: process.json; NULL: from the saved config */
    char *const *args;          /* COMMAND [ARG...], NULL-terminated; NULL with --process */
    bool tty;                   /* -t */
    bool detach;                /* -d */
    const char *console_socket; /* --console-socket */
    const char *pid_file;       /* --pid-file */
    unsigned preserve_fds;      /* --preserve-fds */
    char *const *env;           /* -e NAME=VALUE, n_env of them */
    size_t n_env;
    const char *cwd; /* --cwd */
    bool has_uid;    /* -u UID[:GID] */
    uint32_t uid;
    bool has_gid;
    uint32_t gid;
    const uint32_t *gids; /* -g, added to additionalGids */
    size_t n_gids;
    char *const *caps; /* -c, added to the capability sets */
    size_t n_caps;
    bool no_new_privs;         /* --no-new-privs */
    const char *apparmor;      /* --apparmor */
    const char *process_label; /* --process-label */
};
/* Run a process in the running container.  In the foreground, wait for it
 * (forwarding signals, relaying the terminal) and return its exit code
 * (128 + signal when killed) in *exit_code; detached, return once it runs. */
int md_container_exec(const struct md_exec_opts *opts, int *exit_code, md_error *err);

/* What run and exec share (run.c): the signals forwarded to the
 * container's process, waiting for that process (our child pid; through
 * pidfd, or without one when it is -1) while forwarding them, and its exit
 * code (128 + signal when killed) once it has exited, reaping it. */
void md_forwarded_signals(sigset_t *set);
int md_wait_forwarding(int signal_fd, pid_t pid, int pidfd, md_error *err);
int md_exit_code(pid_t pid, md_error *err);
/* --pid-file of create and exec: pid as text, replaced atomically (create.c). */
int md_pid_file_write(const char *path, pid_t pid, md_error *err);

/* Through the container's cgroup (control.c). */
int md_container_pause(const char *root, const char *id, md_error *err);
int md_container_resume(const char *root, const char *id, md_error *err);
/* Apply what changes sets, and record it in the saved config; changes is
 * left holding nothing it gave. */
int md_container_update(const char *root, const char *id, md_resources *changes, md_error *err);
int md_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, md_error *err);
/* JSON lines on out: one "stats" event and return (stats_once), or stats
 * every interval and an "oom" event per OOM kill until the container exits. */
int md_container_events(const char *root, const char *id, bool stats_once, unsigned interval_ms,
                        FILE *out, md_error *err);

/* "SIGTERM", "TERM", "15" -> 15; -1 when unknown. */
int md_signal_parse(const char *name);

#endif
