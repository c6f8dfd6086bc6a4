/* validate.h - checking a config.json before any system call, and loading a
 * bundle the way create, run and validate all do.
 *
 * md_spec_validate() and md_bundle_load() are public, declared in mdrun.h.
 * Every problem is one line "<name>: <json.path>: <what is wrong>", with
 * paths spelled as the parser spells them (process.rlimits[2].type,
 * linux.sysctl["net.x"]).  What follows is shared by the validate*.c files
 * only.
 */
#ifndef MD_VALIDATE_H
#define MD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "mdrun.h"
#include "names.h"
#include "spec.h"

/* md_bundle_load that also hands over config.json's text as read (*text,
 * *len; the caller frees it): create saves that copy, with no need to
 * encode the spec again. */
int md_bundle_load_text(const char *bundle_dir, md_spec **out, char **text, size_t *len,
                        md_errors *problems);

/* Where the walk is: the spec, the name for messages and the JSON path of
 * the value being checked. */
struct md_vctx {
    const md_spec *spec;
    const char *name;
    md_errors *problems;
    char path[512];
    size_t len;
};

/* Extend the path by ".key" (nothing for ""), "[i]" or "[\"key\"]"; each
 * returns the length to give back to md_vpath_pop(). */
size_t md_vpath_key(struct md_vctx *v, const char *key);
size_t md_vpath_index(struct md_vctx *v, size_t i);
size_t md_vpath_map(struct md_vctx *v, const char *key);
void md_vpath_pop(struct md_vctx *v, size_t saved);

/* Report a problem at the current path, or at its member key ("" for the
 * current path itself). */
void md_vbad(struct md_vctx *v, const char *fmt, ...) MD_PRINTF(2, 3);
void md_vbad_at(struct md_vctx *v, const char *key, const char *fmt, ...) MD_PRINTF(3, 4);

/* Report `unknown <what> "value"` at member key unless value is in table
 * (an MD_NAME_UNSUPPORTED name is valid).  Returns the entry or NULL. */
const struct md_name *md_vname(struct md_vctx *v, const char *key,
                               const struct md_name_table *table, const char *value);
/* Check that every entry of a string array is in table. */
void md_vnames(struct md_vctx *v, const char *key, const struct md_name_table *table,
               char *const *values, size_t n);
/* Report "must be an absolute path" at member key unless path starts with
 * '/' (a NULL path is left to the parser). */
void md_vabsolute(struct md_vctx *v, const char *key, const char *path);
/* Check a "0-3,7" list of CPUs or memory nodes at member key. */
void md_vlist(struct md_vctx *v, const char *key, const char *list);
/* Whether linux.namespaces has an entry of this type. */
bool md_vhas_ns(const md_spec *spec, const char *type);

/* A bare process object (`exec --process FILE`), with paths relative to
 * it: "process.json: cwd: ...".  Returns 0 when it is valid. */
int md_process_validate(const md_process *p, const char *name, md_errors *problems);

/* Each area's checks, on the context's spec. */
void md_validate_idmaps(struct md_vctx *v, const char *key, const md_idmap *maps, size_t n);
void md_validate_linux(struct md_vctx *v, const md_linux *l);
void md_validate_resources(struct md_vctx *v, const md_resources *r);

#endif
