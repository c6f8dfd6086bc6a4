/* check.h - `mdrun check`: whether this host lets the calling user run
 * containers, one finding per thing rootless set-up needs, each problem
 * with the command that fixes it.
 *
 * The fix texts live here and only here: create and run end their errors
 * with the same text when they fail for one of these reasons (a user
 * namespace the kernel refuses, newuidmap missing or unprivileged, no
 * subordinate ids, a state root that cannot be written), so the user reads
 * one fix whichever command met the problem first.
 *
 * Everything a check reads from the system is named in struct
 * md_check_env, so tests point it at a directory of fake sysctl and subuid
 * files and replace the live probes. */
#ifndef MD_CHECK_H
#define MD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup.h"
#include "mdrun.h"
#include "state.h"
#include "userns.h"

/* What the cgroup check learns from the host (md_check_cgroup_probe()). */
struct md_check_cgroup {
    enum md_cg_layout layout;
    bool delegated;        /* the caller can make a cgroup (always true for root) */
    char controllers[256]; /* space-separated: the ones the caller can use */
};

struct md_check_env {
    struct md_id_caller caller;  /* who, and where the subordinate ids are */
    bool rootless;               /* not real root (euid 0 in the initial user namespace) */
    struct md_root_env root;     /* the default state root (and $XDG_RUNTIME_DIR) */
    const char *root_override;   /* --root, NULL for the default */
    const char *proc_sys;        /* "/proc/sys" */
    const char *proc_status;     /* "/proc/self/status" */
    const char *path;            /* the $PATH newuidmap, newgidmap, slirp4netns are looked up in */
    const char *dbus_address;    /* $DBUS_SESSION_BUS_ADDRESS, NULL when unset */
    const char *system_bus;      /* "/run/dbus/system_bus_socket" */
    const char *systemd_private; /* "/run/systemd/private" */
    bool need_systemd;           /* --cgroup-manager systemd: the bus is required */
    /* Live probes.  Each returns 0, or the errno that stopped it. */
    int (*probe_userns)(void); /* a user namespace, and a mount namespace inside it */
    int (*probe_openat2)(void);
    void (*probe_cgroup)(const struct md_check_env *env, struct md_check_cgroup *out);
};

/* Fill env for this process: the real paths and probes, $PATH, the
 * caller's ids; root_override and need_systemd from the command line. */
void md_check_env_current(struct md_check_env *env);

enum md_check_level { MD_CHECK_OK, MD_CHECK_WARNING, MD_CHECK_ERROR };

/* "ok", "warning", "error". */
const char *md_check_level_name(enum md_check_level level);

struct md_check_item {
    const char *name; /* static: "userns", "newuidmap", "subuid", "cgroup", ... */
    enum md_check_level level;
    char *msg; /* what was found, one line */
    char *fix; /* the command that fixes it; NULL when level is ok */
};

struct md_check_report {
    struct md_check_item *items;
    size_t n;
};

/* Run every check, in a fixed order.  Fails only on ENOMEM. */
int md_check_run(const struct md_check_env *env, struct md_check_report *out, md_error *err);
void md_check_report_free(struct md_check_report *r);
/* No error: what `mdrun run` needs is in place (warnings allowed). */
bool md_check_report_ok(const struct md_check_report *r);
/* {"user", "uid", "rootless", "ok", "checks": [{"name", "status",
 * "message", "fix"}]}, ending in a newline; caller frees *out. */
int md_check_report_json(const struct md_check_env *env, const struct md_check_report *r,
                         char **out, size_t *len, md_error *err);

/* The real probes and the cgroup facts of this host (md_check_env_current
 * puts them in env). */
int md_check_probe_userns(void);
int md_check_probe_openat2(void);
void md_check_cgroup_probe(const struct md_check_env *env, struct md_check_cgroup *out);

/* ---------------------------------------------------------- fix texts */

/* Why the kernel refuses a user namespace (errnum from unshare(2)), read
 * from the sysctls under proc_sys: the fix, or NULL when they do not
 * explain it.  privileged: real root, whom only the count limit stops. */
const char *md_check_userns_fix(const char *proc_sys, bool privileged, int errnum, char *buf,
                                size_t size);
/* The fix when newuidmap or newgidmap (tool) cannot map ids: missing from
 * path, or neither setuid root nor holding cap_setuid/cap_setgid.  NULL
 * when it looks fine (it failed for another reason). */
const char *md_check_helper_fix(const char *path, const char *tool, char *buf, size_t size);
/* The fix for a caller without subordinate ids: a usermod command giving
 * 65536 uids and gids above every range already granted. */
const char *md_check_subid_fix(const struct md_id_caller *caller, char *buf, size_t size);
/* The fix for a state root that cannot be made or written. */
const char *md_check_state_root_fix(bool rootless, uid_t uid, char *buf, size_t size);

/* Append "; fix: <fix>" to err's message (nothing when fix is NULL);
 * returns -1, for `return md_check_add_fix(err, ...)`. */
int md_check_add_fix(md_error *err, const char *fix);

/* The errors of create and run, with the fix above when the host explains
 * them; each returns -1.  unshare(CLONE_NEWUSER) failed with errnum:
 * "create user namespace: <strerror>[; fix: ...]". */
int md_check_userns_error(md_error *err, int errnum, bool privileged);
/* newuidmap or newgidmap (tool) failed (err is set): add the fix when the
 * program is missing or unprivileged. */
int md_check_helper_error(md_error *err, const char *tool);
/* The state root could not be made, opened or written (err is set): add
 * the fix when errnum says so (EACCES, EPERM, EROFS, ENOTDIR). */
int md_check_state_root_error(md_error *err);

#endif
