/* ct.h - what the container tests (lifecycle, process, stdio, hooks,
 * filesystem, ...) share on top of harness.h: bundles for a context, config
 * edits, a container's state as `mdrun state` reports it, running one
 * command or script in a container, and killing at exit whatever container
 * a failed test left running. */
#ifndef MD_TEST_CT_H
#define MD_TEST_CT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "integration/harness.h"

/* One behaviour, tested as root and as the unprivileged user:
 *   CT_BOTH(suite, name) { struct hx_ctx *c = hx_ctx_new(who); ... }
 * defines the tests suite::name_root and suite::name_user. */
#define CT_BOTH(suite, name)           \
    static void name(enum hx_who who); \
    Test(suite, name##_root)           \
    {                                  \
        name(HX_ROOT);                 \
    }                                  \
    Test(suite, name##_user)           \
    {                                  \
        name(HX_USER);                 \
    }                                  \
    static void name(enum hx_who who)

/* A bundle that c->who can run: `mdrun spec --rootless` for the user,
 * `mdrun spec` for root (or --rootless with HX_BUNDLE_ROOTLESS in flags);
 * process.terminal false. */
const char *ct_bundle(struct hx_ctx *c, unsigned flags);
/* A ct_bundle() whose program is `sh -c script`, with a host directory at
 * /shared (its path in *shared, caller frees; none when shared is NULL)
 * through which the test sees what the program did. */
const char *ct_script_bundle(struct hx_ctx *c, const char *script, char **shared);

/* Config edits on a loaded spec. */
void ct_add_mount(md_spec *s, const char *dest, const char *type, const char *source, ...)
    __attribute__((sentinel));
/* Remove the first mount at dest (none: nothing changes). */
void ct_del_mount(md_spec *s, const char *dest);
/* Append a hook (path, then its args, NULL-terminated) to (*v, *n). */
md_hook *ct_add_hook(md_hook **v, size_t *n, const char *path, ...) __attribute__((sentinel));
md_hooks *ct_hooks(md_spec *s);
void ct_set_kv(md_kv **v, size_t *n, const char *key, const char *value);
bool ct_has_ns(const md_spec *s, const char *type);
void ct_add_ns(md_spec *s, const char *type);
void ct_del_ns(md_spec *s, const char *type);
md_user *ct_user(md_spec *s);
md_linux *ct_linux(md_spec *s);

/* A directory dir/name on the host owned by c->who (mode 0777 so that
 * any container user may write), bind-mounted read-write at /shared when
 * spec is given.  Returns its path (caller frees). */
char *ct_shared_dir(struct hx_ctx *c, md_spec *spec, const char *name);

/* `mdrun state id`: the status ("created", "running", "stopped"; caller
 * frees) and pid, or NULL when state fails (its stderr in *why when not
 * NULL, caller frees). */
char *ct_status(struct hx_ctx *c, const char *id, int *pid, char **why);
/* `mdrun state id` must say want (expect); the pid it reports. */
int ct_expect_status(struct hx_ctx *c, const char *id, const char *want);
/* Remember the container's init (from `mdrun state`) to SIGKILL it when
 * the test process exits, should the test end before deleting it. */
void ct_track(struct hx_ctx *c, const char *id);
/* `mdrun create --bundle bundle id`, which must succeed; tracked. */
void ct_create(struct hx_ctx *c, const char *bundle, const char *id);
/* After a create or run that should have failed: when it succeeded
 * anyway, delete --force the container so that nothing stays running
 * (the test fails on the exit status already). */
void ct_undo_create(struct hx_ctx *c, const struct fx_result *r, const char *id);
/* `mdrun delete --force id`, which must succeed. */
void ct_delete(struct hx_ctx *c, const char *id);

/* Set process.args (NULL-terminated) and `mdrun run` the bundle in the
 * foreground under a fresh id. */
struct fx_result ct_run(struct hx_ctx *c, const char *bundle, ...) __attribute__((sentinel));
/* `mdrun run` the bundle as it is, under a fresh id. */
struct fx_result ct_run_bundle(struct hx_ctx *c, const char *bundle);
/* Set process.args of s to `sh -c script` (process.terminal false), save
 * it to the bundle and free it. */
void ct_save_script(const char *bundle, md_spec *s, const char *script);
/* ct_save_script(), then `mdrun run` the bundle, which must succeed: its
 * stdout (caller frees). */
char *ct_run_script(struct hx_ctx *c, const char *bundle, md_spec *s, const char *script);

/* A refusal: exit status 1, one line on stderr, mentioning needle. */
void ct_expect_error(const struct fx_result *r, const char *what, const char *needle);
/* Exit status 0; stderr shown on failure. */
void ct_expect_ok(const struct fx_result *r, const char *what);
/* ct_expect_ok(), then free r: ct_ok("start", hx_mdrun(c, NULL, "start", id, NULL)). */
void ct_ok(const char *what, struct fx_result r);

/* The whole file (caller frees), NULL when it cannot be opened. */
char *ct_read(const char *path);
/* Whether line is one of the lines of text. */
bool ct_has_line(const char *text, const char *line);
/* Whether path exists (lstat: a dangling symlink does). */
bool ct_exists(const char *path);
/* Wait up to secs for path to exist with a complete line in it; its
 * content (caller frees) or NULL.  A container writing the file in more
 * than one write (several lines, several commands) must write it whole,
 * to path.tmp then `mv`, or this may return a part of it. */
char *ct_wait_file(const char *path, unsigned secs);
/* Wait up to secs for pid to be gone (or a zombie). */
bool ct_wait_dead(pid_t pid, unsigned secs);
/* The hex value of a "Name:\t..." line of /proc/.../status text. */
uint64_t ct_status_hex(const char *status, const char *name);

/* A listening unix socket at path that c->who may connect to, for
 * --console-socket. */
int ct_console_listen(struct hx_ctx *c, const char *path);
/* Accept one connection on listener and receive the fd it carries
 * (SCM_RIGHTS): the terminal's master.  Fails the test after 10 s. */
int ct_console_receive(int listener);

/* Append what fd has now to *buf (NUL-terminated, *len bytes); false at
 * end of file (or EIO: a pty whose other side is gone). */
bool ct_read_some(int fd, char **buf, size_t *len);

#endif
