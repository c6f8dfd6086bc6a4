/* mdrun.h - the public interface of libmdrun, the library behind mdrun(1).
 *
 * Every fallible function returns a negative value on failure and fills the
 * md_error it was given; the caller owns the message and frees it with
 * md_error_clear().  Everything not declared here is private to the library.
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

MD_API void md_error_clear(md_error *err);

/* Many problems at once, e.g. every error found in a config.json.  Past
 * MD_ERRORS_MAX messages only the count of further ones is kept. */
#define MD_ERRORS_MAX 200
typedef struct md_errors {
    char **msgs;
    size_t n;
    size_t dropped;
} md_errors;

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
MD_API void md_spec_free(md_spec *spec);

/* The default config.json of `mdrun spec`; rootless adapts it to the
 * calling user (see mdrun-spec(1)). */
MD_API md_spec *md_spec_default(bool rootless);

/* Library version, e.g. "0.1.0", and the runtime-spec version implemented. */
MD_API const char *md_version(void);
MD_API const char *md_oci_version(void);

#ifdef __cplusplus
}
#endif

#endif
