/* harness.h - what the integration tests share: a busybox root filesystem,
 * fresh bundles, and running mdrun (or runc) as root or as an unprivileged
 * user, each test with its own state directory.
 *
 * Life of a test run (one test binary):
 * - before the first test, the runner builds a busybox rootfs once under
 *   $MDRUN_TEST_TMPDIR (default /tmp)/mdrun-hx.XXXXXX, world-readable, and
 *   when it runs as root makes sure the user mdrun-test exists with
 *   subordinate ids (tests/setup-test-user.sh; the user stays installed);
 * - each test makes a context with hx_ctx_new(): a private directory inside
 *   that one, holding its state root (--root), HOME, XDG_RUNTIME_DIR and
 *   bundles; it is removed when the test process exits, even after a
 *   failed assertion;
 * - after the last test the runner unmounts and removes whatever is left,
 *   and lists the skipped tests with their reason.
 *
 * Who runs the commands:
 * - HX_ROOT: real root.  When the tests are not run as root, a test asking
 *   for it is reported as skipped, never as passed.
 * - HX_USER: an unprivileged user: mdrun-test when the tests run as root,
 *   otherwise the developer running them (who is unprivileged already).
 *
 * Functions here fail the current test (cr_assert) on a setup error, so a
 * test only checks what it is about.  Every command hx_run() starts has a
 * timeout; do not give suites Criterion's own .timeout: with several tests
 * in parallel its runner leaks memory, which LeakSanitizer turns into a
 * failure of the whole test program in the sanitizer build.  This file defines Criterion report
 * hooks (PRE_ALL, POST_TEST, POST_ALL): test files must not define their
 * own hooks of those kinds.
 */
#ifndef MD_TEST_HARNESS_H
#define MD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fixture.h"
#include "spec.h"

enum hx_who {
    HX_ROOT,
    HX_USER,
};

/* The name of the unprivileged user the harness uses when run as root. */
#define HX_TEST_USER "mdrun-test"

/* One test's private world.  Every path is absolute; all are removed when
 * the test ends. */
struct hx_ctx {
    enum hx_who who;
    uid_t uid; /* who's ids */
    gid_t gid;
    char *dir;  /* the private directory (mode 0755, owned by root) */
    char *root; /* the state root passed as --root: dir/state, 0700, owned by who */
    char *home; /* HOME: dir/home, 0700, owned by who */
    char *xdg;  /* XDG_RUNTIME_DIR for HX_USER: dir/xdg, 0700, owned by who */
    char *bundles[16];
    size_t n_bundles;
};

/* Make a context for running commands as who; skips the test (with a reason
 * in the log) when HX_ROOT is asked for and the tests are not root. */
struct hx_ctx *hx_ctx_new(enum hx_who who);
/* Unmount anything left under the context, then remove it.  Called for
 * every live context when the test process exits; calling it earlier is
 * fine. */
void hx_ctx_free(struct hx_ctx *c);

/* Skip the current test unless it runs as root. */
void hx_require_root(void);
/* Skip the current test, printing the reason to the log as well. */
void hx_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Absolute path of the mdrun under test ($MDRUN_BIN). */
const char *hx_mdrun_bin(void);
/* The cached busybox rootfs (read-only for the tests: copy it). */
const char *hx_rootfs(void);

/* How to run a command; every field may be left zero. */
struct hx_cmd {
    const char *cwd;        /* working directory; NULL: the context's dir */
    const char *input;      /* text fed on stdin; NULL: empty stdin */
    const char *const *env; /* NULL-terminated: "NAME=value" to set, "NAME" to unset */
    unsigned timeout;       /* seconds before the process group is killed; 0: 60 */
};

/* Run argv (argv[0] searched in PATH) as c->who.  The child gets a clean
 * environment: PATH, HOME=c->home, USER/LOGNAME, XDG_RUNTIME_DIR=c->xdg for
 * HX_USER, the sanitizer options if set, then cmd->env.  As the test user it
 * has no supplementary groups.  The call returns when the child exits (not
 * when everything holding its stdout does), with what it wrote; after the
 * timeout its process group gets SIGKILL and status is 128 + 9. */
struct fx_result hx_run(struct hx_ctx *c, const struct hx_cmd *cmd, const char *const argv[]);
/* Run `$MDRUN_BIN --root c->root ARGS...` as c->who in cwd (NULL: c->dir).
 * The argument list ends with NULL. */
struct fx_result hx_mdrun(struct hx_ctx *c, const char *cwd, ...) __attribute__((sentinel));

/* Bundles: a directory owned by c->who holding a copy of the busybox
 * rootfs (owned by c->who too, unless HX_BUNDLE_ROOT_ROOTFS) and the
 * config.json `mdrun spec` writes, run as c->who. */
enum {
    HX_BUNDLE_ROOTLESS = 1 << 0,    /* mdrun spec --rootless */
    HX_BUNDLE_NO_CONFIG = 1 << 1,   /* no config.json at all */
    HX_BUNDLE_NO_ROOTFS = 1 << 2,   /* no rootfs directory */
    HX_BUNDLE_ROOT_ROOTFS = 1 << 3, /* the rootfs stays root's, like a system-wide
                                       image shared with users (all readable) */
};
/* Returns the bundle's path, owned by the context. */
const char *hx_bundle_new(struct hx_ctx *c, unsigned flags);
/* bundle/name; caller frees. */
char *hx_bundle_file(const char *bundle, const char *name);

/* Load bundle/config.json, failing the test on any problem. */
md_spec *hx_spec_load(const char *bundle);
/* Write spec to bundle/config.json, owned by the bundle's owner. */
void hx_spec_save(const char *bundle, const md_spec *spec);
/* Replace process.args (NULL-terminated list). */
void hx_spec_set_args(md_spec *spec, ...) __attribute__((sentinel));
/* Replace process.env (NULL-terminated list of "NAME=value"). */
void hx_spec_set_env(md_spec *spec, ...) __attribute__((sentinel));
/* Load, set process.args, terminal false, save: the common edit. */
void hx_bundle_set_args(const char *bundle, ...) __attribute__((sentinel));

/* Checks for what a test leaves behind. */
/* The mount points at or under path, from /proc/self/mountinfo, deepest
 * last; returns the count, *out is NULL-terminated (free with
 * hx_strv_free). */
size_t hx_mounts_under(const char *path, char ***out);
void hx_strv_free(char **v);
/* True while pid exists and is not a zombie. */
bool hx_pid_alive(pid_t pid);
/* CLOCK_MONOTONIC in milliseconds. */
long long hx_now_ms(void);
/* True when the context's state root has an entry for the container id. */
bool hx_state_exists(struct hx_ctx *c, const char *id);
/* Fail the test if anything is mounted under the context's directory or
 * the state root holds any container. */
void hx_assert_clean(struct hx_ctx *c);

/* A container id unique to this test process: "<prefix>-<pid>". */
char *hx_id(const char *prefix);

#endif
