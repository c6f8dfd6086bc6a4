/* state.h - where containers live between mdrun invocations.
 *
 * Layout: a state root (0700) holds one directory per container, named by
 * its id, also 0700:
 *
 *   <root>/<id>/status      the record below, as JSON, replaced atomically
 *   <root>/<id>/exec.fifo   while the container is "created"
 *   <root>/<id>/...         anything else that container needs
 *
 * The status is derived each time, never stored:
 *   creating  someone holds the directory's exclusive lock and no record
 *             names a pid yet (a create in progress);
 *   created   the recorded pid lives, with the recorded start time, and
 *             exec.fifo exists;
 *   running   the recorded pid lives, with the recorded start time;
 *   stopped   anything else: the pid is gone, a zombie, or reused by another
 *             process, or the record is missing or corrupt (a create that
 *             crashed), so `list` and `delete` always work.
 *
 * Locking: each container directory carries an flock(2).  create and delete
 * hold it exclusively for their whole operation; readers only probe it.
 * flock belongs to the open file description: a forked child that keeps
 * the directory fd keeps the lock, so close it in children (the fds here
 * are O_CLOEXEC, which only helps across exec).
 *
 * Usage by a lifecycle command:
 *
 *   create: md_state_root_open(g->root, true, &root, &rfd, &err);
 *           cfd = md_state_create(rfd, id, &err);      -- new dir, locked
 *           md_state_fifo_create(cfd, &err); spawn ...; fill a record;
 *           md_state_record_write(cfd, &rec, NULL, &err);
 *           close(cfd);                                -- unlocks
 *           on failure: md_state_remove(rfd, id, &err)
 *   kill:   md_state_load(rfd, id, &info, &err); check info.status;
 *           pidfd = md_state_pidfd(&info.rec, &err); pidfd_send_signal(...)
 *   delete: cfd = md_state_open(rfd, id, &err);
 *           md_state_lock(cfd, MD_LOCK_EXCLUSIVE, true, &err);
 *           md_state_inspect(cfd, id, true, &info, &err); ...
 *           md_state_remove(rfd, id, &err);
 */
#ifndef MD_STATE_H
#define MD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>

#include "mdrun.h"
#include "spec.h"

/* Longest container id accepted.  Note that a file name holds at most 255
 * bytes, so md_state_create() refuses longer ids with ENAMETOOLONG. */
#define MD_ID_MAX 1024

/* File names inside a container directory. */
#define MD_STATE_STATUS    "status"
#define MD_STATE_EXEC_FIFO "exec.fifo"

/* ------------------------------------------------------------- the root */

/* What selecting the state root depends on, so that tests can stand in
 * for the system.  md_state_root_env_current() fills it from this process. */
struct md_root_env {
    uid_t euid;
    bool in_userns;              /* not in the initial user namespace */
    const char *user;            /* $USER, NULL when unset */
    const char *xdg_runtime_dir; /* $XDG_RUNTIME_DIR, NULL or "" when unset */
    const char *system_root;     /* "/run/mdrun" */
    const char *run_user;        /* "/run/user" */
    const char *tmp;             /* "/tmp" */
};

void md_state_root_env_current(struct md_root_env *env);

/* Whether the default root is the per-user one: euid is not 0, or we are
 * root inside a user namespace that is not root's own ($USER is not
 * "root"), as when Podman runs us in its rootless user namespace. */
bool md_state_root_env_rootless(const struct md_root_env *env);

/* Find and open the state root:
 *   override (--root) when given, made absolute against the cwd;
 *   else $XDG_RUNTIME_DIR/mdrun when rootless;
 *   else /run/mdrun;
 *   rootless without XDG_RUNTIME_DIR: /run/user/<uid>/mdrun when that
 *   directory exists and is ours, else /tmp/mdrun-<uid>, which must be a
 *   real directory owned by us (/tmp is shared; a symlink is refused).
 * With create, missing directories are made with mode 0700.  Without it, a
 * missing root is not an error: *dirfd_out is -1, which md_state_list()
 * and md_state_open() read as an empty root.  *path_out (caller frees) is
 * set in both cases. */
int md_state_root_open(const char *override, bool create, char **path_out, int *dirfd_out,
                       md_error *err);
int md_state_root_open_env(const struct md_root_env *env, const char *override, bool create,
                           char **path_out, int *dirfd_out, md_error *err);

/* ------------------------------------------------------------------ ids */

/* Non-empty, at most MD_ID_MAX bytes of [A-Za-z0-9_+-.], not "." or "..".
 * The message names the id: `invalid container id "a/b": ...`. */
int md_id_validate(const char *id, md_error *err);

/* ----------------------------------------------------- container dirs */

/* Create <root>/<id> (0700) and return its fd, already holding the
 * exclusive lock: readers see "creating" from the moment the id appears.
 * The directory is built under a temporary name and renamed into place
 * without replacing anything, so the id never shows unlocked.  An existing
 * id fails with errnum EEXIST: `container "ID" already exists`. */
int md_state_create(int rootfd, const char *id, md_error *err);

/* Open an existing container directory.  A missing one (or rootfd -1)
 * fails with errnum ENOENT: `container "ID" does not exist`. */
int md_state_open(int rootfd, const char *id, md_error *err);

enum md_lock { MD_LOCK_SHARED, MD_LOCK_EXCLUSIVE };

/* flock(2) the container directory.  Without wait, a lock held elsewhere
 * fails with errnum EWOULDBLOCK.  Closing cfd also unlocks. */
int md_state_lock(int cfd, enum md_lock how, bool wait, md_error *err);
void md_state_unlock(int cfd);

/* Remove <root>/<id> and everything in it.  It is first renamed out of
 * the way so that readers see the whole container or none of it.  Removing
 * a container that is already gone succeeds. */
int md_state_remove(int rootfd, const char *id, md_error *err);

/* The valid ids of the directories in the root, sorted; entries that are
 * not directories or not valid ids are skipped.  Free with md_strv_free().
 * rootfd -1 gives an empty list. */
int md_state_list(int rootfd, char ***ids, size_t *n, md_error *err);

/* Make exec.fifo (mode 0622: the container's init may open it for writing
 * after dropping to its own user; the 0700 directory keeps others out). */
int md_state_fifo_create(int cfd, md_error *err);

/* ------------------------------------------------------------ the record */

/* What `status` holds.  Same conventions as spec.h: strings NULL when
 * absent, optional numbers with a has_ flag.  To add a field, add a member
 * here and one line to the table in state.c; older records simply lack it. */
typedef struct md_state_record {
    char *id;
    char *bundle;        /* absolute */
    char *rootfs;        /* absolute path of root.path */
    int32_t pid;         /* the container's init as seen from the host; 0 until known */
    uint64_t start_time; /* its start time, field 22 of /proc/PID/stat */
    char *created;       /* RFC 3339 UTC with nanoseconds, md_state_timestamp() */
    uint32_t owner;      /* euid of the creator */
    bool rootless;       /* created without real root privileges */
    md_kv *annotations;  /* from config.json */
    size_t n_annotations;
    /* For the lifecycle commands; NULL/false when unused. */
    char *cgroup_path;    /* the container's cgroup, as the cgroup driver names it */
    char *cgroup_manager; /* "cgroupfs", "systemd" or "disabled" */
    char *config;         /* name of the config.json copy in the container dir */
    char *console_socket; /* --console-socket given to create */
    char *pid_file;       /* --pid-file given to create */
    bool systemd_cgroup;  /* the cgroup is a systemd unit (stop it on delete) */
    char *cgroup_unit;    /* systemd: the transient unit's name */
    char *cgroup_scope;   /* systemd: the unit's cgroup (cgroup_path is a leaf in it) */
    md_kv *cgroup_paths;  /* v1/hybrid: hierarchy -> the container's cgroup there */
    size_t n_cgroup_paths;
    bool has_net_helper_pid;
    int32_t net_helper_pid; /* slirp4netns, to stop on delete */
    bool has_net_helper_start_time;
    uint64_t net_helper_start_time; /* its start time: delete checks the pid is still it */
    /* How many poststart and poststop hooks the saved config holds, so that
     * start and delete read it only for them; unknown in older records. */
    bool has_post_hooks;
    uint32_t post_hooks;
} md_state_record;

/* Write the record to <cfd>/status atomically (mode 0600).  With last
 * not NULL, *last holds the text written before (NULL at first; the
 * caller frees it): a record that has not changed is not written again. */
int md_state_record_write(int cfd, const md_state_record *rec, char **last, md_error *err);
/* Read <cfd>/status into *rec (zeroed first).  Missing: errnum ENOENT;
 * unreadable or invalid JSON: one-line message naming the problem. */
int md_state_record_read(int cfd, md_state_record *rec, md_error *err);
void md_state_record_free(md_state_record *rec);

/* Now as RFC 3339 UTC with nanoseconds: "2024-05-01T10:11:12.123456789Z"
 * (buf of at least 40 bytes). */
void md_state_timestamp(char *buf, size_t size);

/* ------------------------------------------------------------ the status */

/* PAUSED: running, with its cgroup frozen (`mdrun pause`). */
enum md_status {
    MD_STATUS_CREATING,
    MD_STATUS_CREATED,
    MD_STATUS_RUNNING,
    MD_STATUS_PAUSED,
    MD_STATUS_STOPPED
};

/* "creating", "created", "running", "paused", "stopped". */
const char *md_status_name(enum md_status status);

/* What the status is derived from. */
struct md_status_facts {
    bool locked;     /* another open file holds the directory's exclusive lock */
    bool has_pid;    /* a record was read and names a pid > 0 */
    bool pid_alive;  /* that pid exists and is not a zombie */
    bool same_start; /* its start time is the recorded one */
    bool fifo;       /* exec.fifo exists */
};

/* The pure decision, see the top of this file. */
enum md_status md_status_decide(const struct md_status_facts *facts);

/* Parse the text of /proc/PID/stat: its state letter (field 3) and start
 * time (field 22), counted after the last ')' since the command name may
 * hold spaces and parentheses.  Returns -1 on malformed text. */
int md_proc_stat_parse(const char *text, char *state, uint64_t *start_time);
/* The same for a live pid; -1 with errno ESRCH when it does not exist. */
int md_proc_stat(pid_t pid, char *state, uint64_t *start_time);

/* One container as the commands see it. */
typedef struct md_state_info {
    md_state_record rec; /* rec.id is always the directory's name; the rest
                            is zero when has_record is false */
    bool has_record;
    enum md_status status;
} md_state_info;

/* Gather the facts for the container directory cfd and decide.  Pass
 * lock_held when the caller itself holds the directory's lock (its own
 * lock would otherwise read as a create in progress).  A missing or
 * corrupt record is not an error (has_record false, reason logged at
 * debug level). */
int md_state_inspect(int cfd, const char *id, bool lock_held, md_state_info *out, md_error *err);
/* md_state_open() + md_state_inspect(); fails only when the container
 * does not exist or its directory cannot be opened. */
int md_state_load(int rootfd, const char *id, md_state_info *out, md_error *err);
void md_state_info_free(md_state_info *info);

/* Open a pidfd on the container's process, checking after opening that it
 * is still the recorded process (so a later signal cannot reach a reused
 * pid).  Fails with errnum ESRCH when the process is gone. */
int md_state_pidfd(const md_state_record *rec, md_error *err);

/* The pid to show: the recorded one unless stopped (0 then, as runc). */
int32_t md_state_info_pid(const md_state_info *info);

/* ------------------------------------------------------ the state JSON */

/* The runtime-spec state object, plus runc's "rootfs", "created" and
 * "owner" (a user name, or the uid as a string):
 * {ociVersion, id, pid, status, bundle, rootfs, created, annotations,
 * owner}; pid as md_state_info_pid(); bundle is "" when unknown.  A
 * create can fill an md_state_info by hand (status "creating", the pid
 * known) to give hooks their state. */
int md_state_json_gen(yajl_gen g, const md_state_info *info);
/* The same as text indented by two spaces, ending in a newline (what
 * `mdrun state` prints and hooks read); caller frees. */
int md_state_json(const md_state_info *info, char **out, size_t *len, md_error *err);

/* The user name of uid, or the number when it has none. */
void md_state_owner_name(uid_t uid, char *buf, size_t size);

#endif
