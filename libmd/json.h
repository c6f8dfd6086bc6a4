/* json.h - one table-driven walk between yajl trees and C structures.
 *
 * A struct is described by an md_jtype: its size and one md_jfield per JSON
 * property, naming the member's kind and offset.  md_json_decode() fills a
 * struct from a yajl tree, reporting every type error with its JSON path;
 * md_json_encode() writes it back; md_json_free() releases what decode
 * allocated.  Unknown properties are ignored, as the runtime-spec requires.
 */
#ifndef MD_JSON_H
#define MD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "mdrun.h"

enum md_jkind {
    MD_J_STRING, /* char * */
    MD_J_BOOL,   /* bool, false when absent */
    MD_J_INT32,  /* numbers: aux is the offset of their has_ flag, */
    MD_J_INT64,  /* or MD_J_NOAUX when the property is required */
    MD_J_UINT16,
    MD_J_UINT32,
    MD_J_UINT64,
    MD_J_OBJECT,     /* pointer to a struct described by .type */
    MD_J_STRINGS,    /* char **, count at aux */
    MD_J_UINT32S,    /* uint32_t *, count at aux */
    MD_J_OBJECTS,    /* array of .type structs, count at aux */
    MD_J_STRING_MAP, /* md_kv *, count at aux */
    MD_J_OBJECT_MAP, /* array of .type structs whose first member is the char *key */
};

#define MD_J_REQUIRED 1u
#define MD_J_NOAUX    SIZE_MAX

struct md_jtype;

struct md_jfield {
    const char *key;
    enum md_jkind kind;
    unsigned flags;
    size_t off;
    size_t aux;
    const struct md_jtype *type;
};

struct md_jtype {
    size_t size;
    const struct md_jfield *fields;
    size_t n_fields;
};

/* Limits applied before the document is turned into a tree. */
#define MD_JSON_MAX_BYTES (32u << 20)
#define MD_JSON_MAX_DEPTH 128

/* A parsed document: yajl's nodes, all in one arena. */
struct md_jdoc;

/* Check and parse a JSON text into *out (free it with md_jdoc_free).  A
 * syntax error, a NUL byte or excessive nesting adds one problem
 * ("<name>: invalid JSON at line L, column C: ...") and returns -1. */
int md_json_parse(const char *text, size_t len, const char *name, struct md_jdoc **out,
                  md_errors *problems);
/* The document's value, read with yajl's accessors (never yajl_tree_free). */
yajl_val md_jdoc_root(const struct md_jdoc *doc);
/* Free the document and every node in it; NULL is fine. */
void md_jdoc_free(struct md_jdoc *doc);

/* Fill obj (zeroed, type->size bytes) from node.  Problems are prefixed
 * with name and the JSON path built from path_prefix ("" at the root). */
void md_json_decode(yajl_val node, const struct md_jtype *type, void *obj, const char *name,
                    md_errors *problems);

/* Write obj as a JSON object to g. */
int md_json_encode(yajl_gen g, const struct md_jtype *type, const void *obj);

/* Move every field present in src into dst (see json.c); then free src
 * as usual: it holds nothing it gave away. */
void md_json_merge(const struct md_jtype *type, void *dst, void *src);

/* Free every member decode allocated (not obj itself). */
void md_json_free(const struct md_jtype *type, void *obj);

/* Encode obj as indented JSON text ending in a newline; caller frees. */
int md_json_to_text(const struct md_jtype *type, const void *obj, char **out, size_t *len,
                    md_error *err);

/* Helpers for writing small documents by hand with yajl_gen. */
void md_jgen_string(yajl_gen g, const char *s);
void md_jgen_kv(yajl_gen g, const char *key, const char *value);

#endif
