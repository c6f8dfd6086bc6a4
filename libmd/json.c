/* json.c - the table-driven walk between yajl trees and C structures. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "error.h"
#include "json.h"
#include "spec.h"

#define MEMBER(obj, off, type)  ((type *)((char *)(obj) + (off)))
#define CMEMBER(obj, off, type) ((const type *)((const char *)(obj) + (off)))

/* ------------------------------------------------------------- parsing */

/* The tree is built here from yajl's events rather than by
 * yajl_tree_parse(), which grows arrays one element at a time (quadratic on
 * a large array) and has no depth limit (its recursive free would exhaust
 * the stack on a million '[').  The nodes are yajl's own type, so yajl's
 * accessors read them, but they live in one arena with their strings and
 * arrays, freed at once (md_jdoc_free): freeing a config's thousands of
 * nodes one by one was a third of loading it.  Strings and keys holding
 * "\u0000" are refused: a C string would silently end there ("/a\u0000b"
 * read as "/a").  Comments are refused: not JSON. */
struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct md_jdoc {
    struct chunk *chunks; /* the newest first */
    yajl_val root;
};

void md_jdoc_free(struct md_jdoc *doc)
{
    if (!doc)
        return;
    for (struct chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc);
}

yajl_val md_jdoc_root(const struct md_jdoc *doc)
{
    return doc ? doc->root : NULL;
}

/* size bytes, aligned for any type; NULL when out of memory.  Chunks
 * double up to 1 MiB, so that a large document takes few of them. */
static void *arena_alloc(struct md_jdoc *doc, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct chunk *c = doc->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = c ? c->cap * 2 : 16384;
        if (cap > (1u << 20))
            cap = 1u << 20;
        if (cap < size)
            cap = size;
        struct chunk *fresh = malloc(sizeof(*fresh) + cap);
        if (!fresh)
            return NULL;
        *fresh = (struct chunk){.next = c, .cap = cap};
        doc->chunks = c = fresh;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

/* The tree of a config takes about six and a half times its text (nodes,
 * strings, arrays).  The first chunk is made that large, and its pages are
 * faulted in by one madvise(2) rather than one page fault each: a fault is
 * a trap into the kernel, and under virtualisation an expensive one (about
 * 15 us on the machine of docs/performance.md, for 23 pages a config). */
#define TREE_PER_TEXT_BYTE 7

static void arena_reserve(struct md_jdoc *doc, size_t text_len)
{
    size_t want = text_len * TREE_PER_TEXT_BYTE;
    if (!arena_alloc(doc, want < 16384 ? 16384 : want))
        return;
    struct chunk *c = doc->chunks;
    c->used = 0;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)c->data + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)c->data + want) & ~(uintptr_t)(page - 1);
    /* Best effort: before Linux 5.14 the pages are faulted as they are used. */
    if (end > start)
        madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

struct frame {
    yajl_val node;
    size_t cap; /* allocated slots of node's values (and keys) */
};

struct builder {
    struct md_jdoc *doc;
    struct frame stack[MD_JSON_MAX_DEPTH];
    size_t depth;
    bool too_deep;
    bool nul_in_string;
    bool no_memory;
};

static void *alloc(struct builder *b, size_t size)
{
    void *p = arena_alloc(b->doc, size);
    if (!p)
        b->no_memory = true;
    return p;
}

static yajl_val new_node(struct builder *b, yajl_type type)
{
    yajl_val v = alloc(b, sizeof(*v));
    if (v) {
        memset(v, 0, sizeof(*v));
        v->type = type;
    }
    return v;
}

/* A new array of cap slots of size bytes, holding the first n of old;
 * old stays in the arena until the document is freed. */
static void *regrow(struct builder *b, const void *old, size_t n, size_t cap, size_t size)
{
    void *grown = alloc(b, cap * size);
    if (grown && n)
        memcpy(grown, old, n * size);
    return grown;
}

static bool grow(struct builder *b, struct frame *f, bool keys)
{
    size_t len = keys ? f->node->u.object.len : f->node->u.array.len;
    if (len < f->cap)
        return true;
    size_t cap = f->cap ? f->cap * 2 : 8;
    yajl_val *values = regrow(b, keys ? f->node->u.object.values : f->node->u.array.values, len,
                              cap, sizeof(yajl_val));
    if (!values)
        return false;
    if (keys) {
        f->node->u.object.values = values;
        const char **names = regrow(b, f->node->u.object.keys, len, cap, sizeof(char *));
        if (!names)
            return false;
        f->node->u.object.keys = names;
    } else {
        f->node->u.array.values = values;
    }
    f->cap = cap;
    return true;
}

/* Attach a finished value to the open container (or make it the root). */
static int attach(struct builder *b, yajl_val v)
{
    if (!v)
        return 0;
    if (b->depth == 0) {
        b->doc->root = v;
        return 1;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->node->type == yajl_t_object) {
        /* on_key made the slot. */
        f->node->u.object.values[f->node->u.object.len - 1] = v;
        return 1;
    }
    if (!grow(b, f, false))
        return 0;
    f->node->u.array.values[f->node->u.array.len++] = v;
    return 1;
}

static int on_open(struct builder *b, yajl_type type)
{
    if (b->depth == MD_JSON_MAX_DEPTH) {
        b->too_deep = true;
        return 0;
    }
    yajl_val v = new_node(b, type);
    if (!attach(b, v))
        return 0;
    b->stack[b->depth++] = (struct frame){v, 0};
    return 1;
}

static int on_start_map(void *ctx)
{
    return on_open(ctx, yajl_t_object);
}

static int on_start_array(void *ctx)
{
    return on_open(ctx, yajl_t_array);
}

static int on_close(void *ctx)
{
    struct builder *b = ctx;
    b->depth--;
    return 1;
}

static char *copy_text(struct builder *b, const unsigned char *s, size_t len)
{
    if (memchr(s, '\0', len)) {
        b->nul_in_string = true;
        return NULL;
    }
    char *copy = alloc(b, len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = '\0';
    }
    return copy;
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    struct frame *f = &b->stack[b->depth - 1];
    char *key = copy_text(b, s, len);
    if (!key || !grow(b, f, true))
        return 0;
    size_t i = f->node->u.object.len++;
    f->node->u.object.keys[i] = key;
    f->node->u.object.values[i] = NULL;
    return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    struct builder *b = ctx;
    char *text = copy_text(b, s, len);
    yajl_val v = text ? new_node(b, yajl_t_string) : NULL;
    if (!v)
        return 0;
    v->u.string = text;
    return attach(b, v);
}

static int on_number(void *ctx, const char *s, size_t len)
{
    struct builder *b = ctx;
    yajl_val v = new_node(b, yajl_t_number);
    char *raw = v ? alloc(b, len + 1) : NULL;
    if (!raw)
        return 0;
    memcpy(raw, s, len);
    raw[len] = '\0';
    v->u.number.r = raw;
    /* The decoder reads integers from the raw text; the flags are kept
     * right for anyone using yajl's accessors. */
    char *end;
    errno = 0;
    v->u.number.i = strtoll(raw, &end, 10);
    if (errno == 0 && *end == '\0')
        v->u.number.flags |= YAJL_NUMBER_INT_VALID;
    errno = 0;
    v->u.number.d = strtod(raw, &end);
    if (errno == 0 && *end == '\0')
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    return attach(b, v);
}

static int on_bool(void *ctx, int value)
{
    struct builder *b = ctx;
    return attach(b, new_node(b, value ? yajl_t_true : yajl_t_false));
}

static int on_null(void *ctx)
{
    struct builder *b = ctx;
    return attach(b, new_node(b, yajl_t_null));
}

static const yajl_callbacks build_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_close,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_close,
};

static void position(const char *text, size_t offset, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int parse_error(yajl_handle h, const struct builder *b, const char *text, size_t offset,
                       const char *name, md_errors *problems)
{
    size_t line, col;
    position(text, offset, &line, &col);
    if (b->no_memory)
        return md_errors_add(problems, "%s: out of memory", name);
    if (b->too_deep)
        return md_errors_add(problems, "%s: invalid JSON: nested deeper than %d levels", name,
                             MD_JSON_MAX_DEPTH);
    if (b->nul_in_string)
        return md_errors_add(problems,
                             "%s: invalid JSON at line %zu, column %zu: string contains \\u0000",
                             name, line, col);
    unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
    /* yajl's message ends in a newline; keep the first line only. */
    if (msg)
        msg[strcspn((char *)msg, "\n")] = '\0';
    md_errors_add(problems, "%s: invalid JSON at line %zu, column %zu: %s", name, line, col,
                  msg ? (char *)msg : "syntax error");
    yajl_free_error(h, msg);
    return -1;
}

int md_json_parse(const char *text, size_t len, const char *name, struct md_jdoc **out,
                  md_errors *problems)
{
    *out = NULL;
    if (len > MD_JSON_MAX_BYTES)
        return md_errors_add(problems, "%s: larger than %u bytes", name, MD_JSON_MAX_BYTES);
    const char *nul = memchr(text, '\0', len);
    if (nul)
        return md_errors_add(problems, "%s: invalid JSON: NUL byte at offset %zu", name,
                             (size_t)(nul - text));
    struct builder *b = calloc(1, sizeof(*b));
    struct md_jdoc *doc = b ? calloc(1, sizeof(*doc)) : NULL;
    yajl_handle h = doc ? yajl_alloc(&build_callbacks, NULL, b) : NULL;
    if (!h) {
        free(doc);
        free(b);
        return md_errors_add(problems, "%s: out of memory", name);
    }
    b->doc = doc;
    arena_reserve(doc, len);
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    size_t offset = yajl_get_bytes_consumed(h);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        offset = len; /* an error now means the text ended too early */
    }
    int rc = 0;
    if (st != yajl_status_ok) {
        rc = parse_error(h, b, text, offset, name, problems);
        md_jdoc_free(doc);
    } else {
        *out = doc;
    }
    yajl_free(h);
    free(b);
    return rc;
}

/* ---------------------------------------------------------------- decoding */

/* The JSON path of the value being decoded, e.g. process.rlimits[2].type. */
struct jpath {
    char buf[512];
    size_t len;
};

static size_t path_push(struct jpath *p, const char *fmt, ...) MD_PRINTF(2, 3);

static size_t path_push(struct jpath *p, const char *fmt, ...)
{
    size_t saved = p->len;
    if (p->len < sizeof(p->buf) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
        va_end(ap);
        if (n > 0)
            p->len += (size_t)n < sizeof(p->buf) - p->len ? (size_t)n : sizeof(p->buf) - p->len - 1;
    }
    return saved;
}

static void path_pop(struct jpath *p, size_t saved)
{
    p->len = saved;
    p->buf[saved] = '\0';
}

/* The common steps without vsnprintf: every value decoded takes one, and
 * they were a fifth of loading a config. */
static void path_append(struct jpath *p, const char *text, size_t n)
{
    size_t room = sizeof(p->buf) - 1 - p->len;
    if (n > room)
        n = room;
    memcpy(p->buf + p->len, text, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static size_t path_key(struct jpath *p, const char *key)
{
    size_t saved = p->len;
    if (p->len)
        path_append(p, ".", 1);
    path_append(p, key, strlen(key));
    return saved;
}

static size_t path_index(struct jpath *p, size_t i)
{
    size_t saved = p->len;
    char digits[24];
    char *d = digits + sizeof(digits);
    *--d = ']';
    do
        *--d = (char)('0' + i % 10);
    while ((i /= 10) > 0);
    *--d = '[';
    path_append(p, d, (size_t)(digits + sizeof(digits) - d));
    return saved;
}

/* Map keys are arbitrary strings ("net.ipv4.ip_forward"), so they are
 * quoted; very long ones are shortened to keep the message one line. */
static size_t path_map_key(struct jpath *p, const char *key)
{
    return path_push(p, "[\"%.64s%s\"]", key, strlen(key) > 64 ? "..." : "");
}

struct decoder {
    const char *name;
    md_errors *problems;
    struct jpath path;
};

static void problem(struct decoder *d, const char *what)
{
    md_errors_add(d->problems, "%s: %s: %s", d->name, d->path.len ? d->path.buf : "(document)",
                  what);
}

static void decode_object(struct decoder *d, yajl_val node, const struct md_jtype *type, void *obj);

static char *decode_string(struct decoder *d, yajl_val v)
{
    if (!YAJL_IS_STRING(v)) {
        problem(d, "must be a string");
        return NULL;
    }
    char *s = strdup(v->u.string);
    if (!s)
        problem(d, "out of memory");
    return s;
}

/* The problem of an integer out of [min, max] or not an integer at all. */
static bool integer_problem(struct decoder *d, int64_t min, uint64_t max)
{
    char what[96];
    if (min < 0)
        snprintf(what, sizeof(what), "must be an integer from %" PRId64 " to %" PRIu64, min, max);
    else
        snprintf(what, sizeof(what), "must be an integer from 0 to %" PRIu64, max);
    problem(d, what);
    return false;
}

/* Integers are read from yajl's raw text, so that uint64 values above
 * INT64_MAX and fractions ("1.5", "1e3") are told apart exactly. */
static bool decode_integer(struct decoder *d, yajl_val v, int64_t min, uint64_t max, void *out,
                           enum md_jkind kind)
{
    if (!YAJL_IS_NUMBER(v))
        return integer_problem(d, min, max);
    const char *raw = YAJL_GET_NUMBER(v);
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    if (!*digits || strspn(digits, "0123456789") != strlen(digits))
        return integer_problem(d, min, max);
    errno = 0;
    if (raw[0] == '-') {
        long long n = strtoll(raw, NULL, 10);
        if (errno || n < min)
            return integer_problem(d, min, max);
        /* Negative values only reach signed kinds, whose max fits. */
        if (kind == MD_J_INT32)
            *(int32_t *)out = (int32_t)n;
        else
            *(int64_t *)out = n;
        return true;
    }
    unsigned long long n = strtoull(raw, NULL, 10);
    if (errno || n > max)
        return integer_problem(d, min, max);
    switch (kind) {
    case MD_J_INT32:
        *(int32_t *)out = (int32_t)n;
        break;
    case MD_J_INT64:
        *(int64_t *)out = (int64_t)n;
        break;
    case MD_J_UINT16:
        *(uint16_t *)out = (uint16_t)n;
        break;
    case MD_J_UINT32:
        *(uint32_t *)out = (uint32_t)n;
        break;
    default:
        *(uint64_t *)out = n;
        break;
    }
    return true;
}

static bool decode_number(struct decoder *d, yajl_val v, enum md_jkind kind, void *out)
{
    switch (kind) {
    case MD_J_INT32:
        return decode_integer(d, v, INT32_MIN, INT32_MAX, out, kind);
    case MD_J_INT64:
        return decode_integer(d, v, INT64_MIN, INT64_MAX, out, kind);
    case MD_J_UINT16:
        return decode_integer(d, v, 0, UINT16_MAX, out, kind);
    case MD_J_UINT32:
        return decode_integer(d, v, 0, UINT32_MAX, out, kind);
    default:
        return decode_integer(d, v, 0, UINT64_MAX, out, kind);
    }
}

static void *alloc_array(struct decoder *d, size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *p = calloc(n, size);
    if (!p)
        problem(d, "out of memory");
    return p;
}

static void decode_strings(struct decoder *d, yajl_val v, char ***out, size_t *count)
{
    if (!YAJL_IS_ARRAY(v)) {
        problem(d, "must be an array of strings");
        return;
    }
    size_t n = v->u.array.len;
    char **items = alloc_array(d, n, sizeof(char *));
    if (!items)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t saved = path_index(&d->path, i);
        char *s = decode_string(d, v->u.array.values[i]);
        if (s)
            items[kept++] = s;
        path_pop(&d->path, saved);
    }
    *out = items;
    *count = kept;
}

static void decode_uint32s(struct decoder *d, yajl_val v, uint32_t **out, size_t *count)
{
    if (!YAJL_IS_ARRAY(v)) {
        problem(d, "must be an array of integers");
        return;
    }
    size_t n = v->u.array.len;
    uint32_t *items = alloc_array(d, n, sizeof(uint32_t));
    if (!items)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        size_t saved = path_index(&d->path, i);
        if (decode_number(d, v->u.array.values[i], MD_J_UINT32, &items[kept]))
            kept++;
        path_pop(&d->path, saved);
    }
    *out = items;
    *count = kept;
}

static void decode_objects(struct decoder *d, yajl_val v, const struct md_jtype *type, void **out,
                           size_t *count)
{
    if (!YAJL_IS_ARRAY(v)) {
        problem(d, "must be an array of objects");
        return;
    }
    size_t n = v->u.array.len;
    char *items = alloc_array(d, n, type->size);
    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t saved = path_index(&d->path, i);
        decode_object(d, v->u.array.values[i], type, items + i * type->size);
        path_pop(&d->path, saved);
    }
    *out = items;
    *count = n;
}

static void decode_string_map(struct decoder *d, yajl_val v, md_kv **out, size_t *count)
{
    if (!YAJL_IS_OBJECT(v)) {
        problem(d, "must be an object of strings");
        return;
    }
    size_t n = v->u.object.len;
    md_kv *items = alloc_array(d, n, sizeof(md_kv));
    if (!items)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = v->u.object.keys[i];
        size_t saved = path_map_key(&d->path, key);
        char *value = decode_string(d, v->u.object.values[i]);
        if (value) {
            items[kept].key = strdup(key);
            items[kept].value = value;
            if (!items[kept].key) {
                free(value);
                problem(d, "out of memory");
            } else {
                kept++;
            }
        }
        path_pop(&d->path, saved);
    }
    *out = items;
    *count = kept;
}

static void decode_object_map(struct decoder *d, yajl_val v, const struct md_jtype *type,
                              void **out, size_t *count)
{
    if (!YAJL_IS_OBJECT(v)) {
        problem(d, "must be an object");
        return;
    }
    size_t n = v->u.object.len;
    char *items = alloc_array(d, n, type->size);
    if (!items)
        return;
    for (size_t i = 0; i < n; i++) {
        char *item = items + i * type->size;
        size_t saved = path_map_key(&d->path, v->u.object.keys[i]);
        /* By convention the key is the struct's first member. */
        *(char **)item = strdup(v->u.object.keys[i]);
        decode_object(d, v->u.object.values[i], type, item);
        path_pop(&d->path, saved);
    }
    *out = items;
    *count = n;
}

static yajl_val lookup(yajl_val obj, const char *key)
{
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

static void decode_field(struct decoder *d, yajl_val v, const struct md_jfield *f, void *obj)
{
    void *member = MEMBER(obj, f->off, void);
    switch (f->kind) {
    case MD_J_STRING:
        *(char **)member = decode_string(d, v);
        break;
    case MD_J_BOOL:
        if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
            *(bool *)member = YAJL_IS_TRUE(v);
        else
            problem(d, "must be true or false");
        break;
    case MD_J_INT32:
    case MD_J_INT64:
    case MD_J_UINT16:
    case MD_J_UINT32:
    case MD_J_UINT64:
        if (decode_number(d, v, f->kind, member) && f->aux != MD_J_NOAUX)
            *MEMBER(obj, f->aux, bool) = true;
        break;
    case MD_J_OBJECT: {
        void *sub = calloc(1, f->type->size);
        if (!sub) {
            problem(d, "out of memory");
            break;
        }
        *(void **)member = sub;
        decode_object(d, v, f->type, sub);
        break;
    }
    case MD_J_STRINGS:
        decode_strings(d, v, (char ***)member, MEMBER(obj, f->aux, size_t));
        break;
    case MD_J_UINT32S:
        decode_uint32s(d, v, (uint32_t **)member, MEMBER(obj, f->aux, size_t));
        break;
    case MD_J_OBJECTS:
        decode_objects(d, v, f->type, (void **)member, MEMBER(obj, f->aux, size_t));
        break;
    case MD_J_STRING_MAP:
        decode_string_map(d, v, (md_kv **)member, MEMBER(obj, f->aux, size_t));
        break;
    case MD_J_OBJECT_MAP:
        decode_object_map(d, v, f->type, (void **)member, MEMBER(obj, f->aux, size_t));
        break;
    }
}

static void decode_object(struct decoder *d, yajl_val node, const struct md_jtype *type, void *obj)
{
    if (!YAJL_IS_OBJECT(node)) {
        problem(d, "must be an object");
        return;
    }
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct md_jfield *f = &type->fields[i];
        yajl_val v = lookup(node, f->key);
        /* null reads as absent, as Go's encoding/json (runc) reads it. */
        bool absent = !v || YAJL_IS_NULL(v);
        if (absent && !(f->flags & MD_J_REQUIRED))
            continue;
        size_t saved = path_key(&d->path, f->key);
        if (absent)
            problem(d, "required property is missing");
        else
            decode_field(d, v, f, obj);
        path_pop(&d->path, saved);
    }
}

void md_json_decode(yajl_val node, const struct md_jtype *type, void *obj, const char *name,
                    md_errors *problems)
{
    struct decoder d = {.name = name, .problems = problems};
    d.path.buf[0] = '\0';
    decode_object(&d, node, type, obj);
}

/* ---------------------------------------------------------------- freeing */

static void free_items(const struct md_jtype *type, char *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        md_json_free(type, items + i * type->size);
    free(items);
}

void md_json_free(const struct md_jtype *type, void *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct md_jfield *f = &type->fields[i];
        void *member = MEMBER(obj, f->off, void);
        switch (f->kind) {
        case MD_J_STRING:
        case MD_J_UINT32S:
            free(*(void **)member);
            break;
        case MD_J_OBJECT:
            md_json_free(f->type, *(void **)member);
            free(*(void **)member);
            break;
        case MD_J_STRINGS:
            md_strv_free(*(char ***)member, *MEMBER(obj, f->aux, size_t));
            break;
        case MD_J_OBJECTS:
            free_items(f->type, *(char **)member, *MEMBER(obj, f->aux, size_t));
            break;
        case MD_J_OBJECT_MAP: {
            char *items = *(char **)member;
            size_t n = *MEMBER(obj, f->aux, size_t);
            for (size_t j = 0; j < n; j++)
                free(*(char **)(items + j * f->type->size));
            free_items(f->type, items, n);
            break;
        }
        case MD_J_STRING_MAP: {
            md_kv *kv = *(md_kv **)member;
            size_t n = *MEMBER(obj, f->aux, size_t);
            for (size_t j = 0; j < n; j++) {
                free(kv[j].key);
                free(kv[j].value);
            }
            free(kv);
            break;
        }
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------- merging */

static size_t number_size(enum md_jkind kind)
{
    switch (kind) {
    case MD_J_UINT16:
        return sizeof(uint16_t);
    case MD_J_INT32:
    case MD_J_UINT32:
        return sizeof(uint32_t);
    default:
        return sizeof(uint64_t);
    }
}

/* Move what src holds into dst, field by field: a present scalar replaces
 * dst's, a present string, array or map replaces dst's whole, an object is
 * merged the same way.  src is left holding nothing of what it gave. */
void md_json_merge(const struct md_jtype *type, void *dst, void *src)
{
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct md_jfield *f = &type->fields[i];
        void *d = MEMBER(dst, f->off, void), *s = MEMBER(src, f->off, void);
        switch (f->kind) {
        case MD_J_BOOL:
            *(bool *)d |= *(bool *)s;
            break;
        case MD_J_INT32:
        case MD_J_INT64:
        case MD_J_UINT16:
        case MD_J_UINT32:
        case MD_J_UINT64:
            if (f->aux != MD_J_NOAUX && *MEMBER(src, f->aux, bool)) {
                memcpy(d, s, number_size(f->kind));
                *MEMBER(dst, f->aux, bool) = true;
            }
            break;
        case MD_J_OBJECT:
            if (!*(void **)s)
                break;
            if (!*(void **)d) {
                *(void **)d = *(void **)s;
                *(void **)s = NULL;
            } else {
                md_json_merge(f->type, *(void **)d, *(void **)s);
            }
            break;
        default: /* a string, or an array or map with its count at aux */
            if (!*(void **)s)
                break;
            {
                struct md_jfield one = *f;
                struct md_jtype holder = {type->size, &one, 1};
                md_json_free(&holder, dst);
            }
            *(void **)d = *(void **)s;
            *(void **)s = NULL;
            if (f->kind != MD_J_STRING) {
                *MEMBER(dst, f->aux, size_t) = *MEMBER(src, f->aux, size_t);
                *MEMBER(src, f->aux, size_t) = 0;
            }
            break;
        }
    }
}

/* ---------------------------------------------------------------- encoding */

void md_jgen_string(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void md_jgen_kv(yajl_gen g, const char *key, const char *value)
{
    md_jgen_string(g, key);
    md_jgen_string(g, value);
}

static void encode_number(yajl_gen g, enum md_jkind kind, const void *member)
{
    char buf[32];
    switch (kind) {
    case MD_J_INT32:
        snprintf(buf, sizeof(buf), "%" PRId32, *(const int32_t *)member);
        break;
    case MD_J_INT64:
        snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)member);
        break;
    case MD_J_UINT16:
        snprintf(buf, sizeof(buf), "%" PRIu16, *(const uint16_t *)member);
        break;
    case MD_J_UINT32:
        snprintf(buf, sizeof(buf), "%" PRIu32, *(const uint32_t *)member);
        break;
    default:
        snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)member);
        break;
    }
    yajl_gen_number(g, buf, strlen(buf));
}

/* Whether a member holds a value worth writing; absent ones are omitted. */
static bool present(const struct md_jfield *f, const void *obj)
{
    const void *member = CMEMBER(obj, f->off, void);
    switch (f->kind) {
    case MD_J_STRING:
    case MD_J_OBJECT:
        return *(void *const *)member != NULL;
    case MD_J_BOOL:
        return *(const bool *)member || (f->flags & MD_J_REQUIRED);
    case MD_J_INT32:
    case MD_J_INT64:
    case MD_J_UINT16:
    case MD_J_UINT32:
    case MD_J_UINT64:
        return f->aux == MD_J_NOAUX || *CMEMBER(obj, f->aux, bool);
    default:
        /* A required array stays, even empty: the parser insists on it. */
        return *CMEMBER(obj, f->aux, size_t) > 0 || (f->flags & MD_J_REQUIRED);
    }
}

static void encode_field(yajl_gen g, const struct md_jfield *f, const void *obj)
{
    const void *member = CMEMBER(obj, f->off, void);
    bool counted = f->kind >= MD_J_STRINGS; /* arrays and maps keep a count at aux */
    size_t n = counted ? *CMEMBER(obj, f->aux, size_t) : 0;
    switch (f->kind) {
    case MD_J_STRING:
        md_jgen_string(g, *(char *const *)member);
        break;
    case MD_J_BOOL:
        yajl_gen_bool(g, *(const bool *)member);
        break;
    case MD_J_INT32:
    case MD_J_INT64:
    case MD_J_UINT16:
    case MD_J_UINT32:
    case MD_J_UINT64:
        encode_number(g, f->kind, member);
        break;
    case MD_J_OBJECT:
        md_json_encode(g, f->type, *(void *const *)member);
        break;
    case MD_J_STRINGS: {
        char *const *v = *(char **const *)member;
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
            md_jgen_string(g, v[i]);
        yajl_gen_array_close(g);
        break;
    }
    case MD_J_UINT32S: {
        const uint32_t *v = *(uint32_t *const *)member;
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
            encode_number(g, MD_J_UINT32, &v[i]);
        yajl_gen_array_close(g);
        break;
    }
    case MD_J_OBJECTS: {
        const char *items = *(char *const *)member;
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
            md_json_encode(g, f->type, items + i * f->type->size);
        yajl_gen_array_close(g);
        break;
    }
    case MD_J_STRING_MAP: {
        const md_kv *kv = *(md_kv *const *)member;
        yajl_gen_map_open(g);
        for (size_t i = 0; i < n; i++)
            md_jgen_kv(g, kv[i].key, kv[i].value);
        yajl_gen_map_close(g);
        break;
    }
    case MD_J_OBJECT_MAP: {
        const char *items = *(char *const *)member;
        yajl_gen_map_open(g);
        for (size_t i = 0; i < n; i++) {
            const char *item = items + i * f->type->size;
            md_jgen_string(g, *(char *const *)item);
            md_json_encode(g, f->type, item);
        }
        yajl_gen_map_close(g);
        break;
    }
    }
}

int md_json_encode(yajl_gen g, const struct md_jtype *type, const void *obj)
{
    yajl_gen_map_open(g);
    for (size_t i = 0; i < type->n_fields; i++) {
        const struct md_jfield *f = &type->fields[i];
        if (!present(f, obj))
            continue;
        md_jgen_string(g, f->key);
        encode_field(g, f, obj);
    }
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
}

int md_json_to_text(const struct md_jtype *type, const void *obj, char **out, size_t *len,
                    md_error *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return md_fail(err, ENOMEM, "serialize JSON");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "\t");
    int rc = md_json_encode(g, type, obj);
    const unsigned char *buf;
    size_t n;
    if (rc == 0 && yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok) {
        /* yajl's beautified output already ends in a newline. */
        *out = strndup((const char *)buf, n);
        if (len)
            *len = n;
        rc = *out ? 0 : md_fail(err, ENOMEM, "serialize JSON");
    } else {
        rc = md_fail(err, EINVAL, "serialize JSON: invalid document");
    }
    yajl_gen_free(g);
    return rc;
}
