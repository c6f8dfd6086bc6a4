/* mdrun.h - the public interface of libmdrun, the library behind mdrun(1).
 *
 * Every fallible function returns a negative value on failure and fills the
 * md_error it was given; the caller owns the message and frees it with
 * md_error_clear().  Everything not declared here is private to the library.
 *
 * Build against it with `pkg-config --cflags --libs mdrun`;
 * examples/run-container.c in the source tree runs a container with it.
 */
#ifndef MDRUN_H
#define MDRUN_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MD_API __attribute__((visibility("default")))

/* One failure: an errno value (0 when there is none) and a message that
 * already carries the context, e.g. "mount /proc: Permission denied". */
typedef struct md_error {
    int errnum;
    char *msg;
} md_error;

/* Free the message and zero *err, so that it can be reused; NULL is fine. */
MD_API void md_error_clear(md_error *err);
/* The message ("" when there is none) and the errno value (0 when none):
 * the same as err->msg and err->errnum, for bindings that would rather not
 * know the structure's layout. */
MD_API const char *md_error_message(const md_error *err);
MD_API int md_error_errno(const md_error *err);

/* Many problems at once, e.g. every error found in a config.json.  Past
 * MD_ERRORS_MAX messages only the count of further ones is kept. */
#define MD_ERRORS_MAX 200
typedef struct md_errors {
    char **msgs;
    size_t n;
    size_t dropped;
} md_errors;

/* Free every message and zero *list; NULL is fine. */
MD_API void md_errors_clear(md_errors *list);

/* The bundle model: config.json as owned C structures. */
typedef struct md_spec md_spec;

/* Parse a config.json.  Problems are appended to *problems, one line each,
 * prefixed with the file's base name and the JSON path; returns 0 when
 * there were none.  *out is NULL unless the document parsed as JSON. */
MD_API int md_spec_load_file(const char *path, md_spec **out, md_errors *problems);
MD_API int md_spec_load_string(const char *json, size_t len, const char *name, md_spec **out,
                               md_errors *problems);
/* Every check that needs no system call.  Returns 0 when the spec is valid. */
MD_API int md_spec_validate(const md_spec *spec, const char *name, md_errors *problems);
/* What create, run and validate do first: load <bundle_dir>/config.json
 * (NULL: the current directory), validate it, require a process and an
 * existing root directory.  Returns 0 with *out set, or -1 with *out NULL
 * and every problem appended to *problems. */
MD_API int md_bundle_load(const char *bundle_dir, md_spec **out, md_errors *problems);
/* Serialize to indented JSON; the caller frees *json. */
MD_API int md_spec_to_json(const md_spec *spec, char **json, size_t *len, md_error *err);
/* Free a spec from md_spec_load_*, md_bundle_load or md_spec_default;
 * NULL is fine. */
MD_API void md_spec_free(md_spec *spec);

/* The default config.json of `mdrun spec`; rootless adapts it to the
 * calling user (see mdrun-spec(1)). */
MD_API md_spec *md_spec_default(bool rootless);

/* Library version, e.g. "0.1.0", and the runtime-spec version implemented. */
MD_API const char *md_version(void);
MD_API const char *md_oci_version(void);

/* Running a container, as `mdrun run` does.  Zero-initialize the options
 * and set what you need; a field left NULL takes the default.  The layout
 * is part of the ABI: it changes only with the library's soname. */
struct md_run_opts {
    const char *root;           /* the state directory; NULL: /run/mdrun for root,
                                   $XDG_RUNTIME_DIR/mdrun for a user (see mdrun(1)) */
    const char *id;             /* the container id, required (see mdrun-create(1)) */
    const char *bundle;         /* the bundle directory; NULL: the current directory */
    const char *cgroup_manager; /* "cgroupfs" (NULL), "systemd" or "disabled" */
};

/* Create the container from the bundle, start it, wait for it and delete
 * it.  Returns 0 with its exit code in *exit_code (128 + N when signal N
 * killed it), or -1 with *err set when it could not be run (it is then
 * deleted again).  Meanwhile the signals a user may send (SIGINT, SIGTERM,
 * SIGHUP, ...) are blocked in the calling thread (until md_run returns)
 * and forwarded to the container; with process.terminal true, the caller's stdin and stdout are
 * relayed to the container's terminal, otherwise the container shares the
 * caller's stdio.  Call it from a single-threaded process: it forks.
 *
 * The container's process is a fork of the caller until it executes the
 * container's program: call md_protect_exe() first thing in main(), as the
 * mdrun command does, so that the container cannot reach the caller's
 * binary file through /proc/PID/exe. */
MD_API int md_run(const struct md_run_opts *opts, int *exit_code, md_error *err);

/* Make sure no container can write the calling process's binary through
 * /proc/PID/exe (the CVE-2019-5736 defence).  Nothing to do when the
 * binary is out of the containers' reach (an unprivileged caller, a binary
 * only root may write).  For root, the container's process will leave the
 * binary through a small sealed program of the library's own (the exec
 * step), and is not dumpable until then; argv is kept in case that cannot
 * be, when md_run() executes the binary again through a read-only bind
 * mount that no mount namespace holds.  Otherwise the first call executes
 * the binary again, with argv (main's, untouched) and the environment,
 * from a sealed memfd copy, so main() starts again and its second call
 * returns 0.  Returns -1 with *err set only when that fails. */
MD_API int md_protect_exe(char *const argv[], md_error *err);

#ifdef __cplusplus
}
#endif

#endif
