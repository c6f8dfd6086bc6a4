/* fuzz-config.c - the libFuzzer target over everything that reads a
 * hostile JSON document: config.json (parse, validate, serialize), a bare
 * process object (exec --process) and a bare linux.resources object
 * (update -r).
 *
 * Besides "no crash, no leak, no undefined behaviour" it checks one
 * invariant per parser: a document that loads without problems serializes,
 * and what we serialize loads back without problems, validates with the
 * same messages and serializes to the same text.  A broken invariant is
 * reported on stderr and abort()s, which libFuzzer records as a crash.
 *
 * tests/unit/test-fuzz-regressions.c links this file too and replays every
 * file of tests/fuzz/regressions/ through LLVMFuzzerTestOneInput().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdrun.h"
#include "spec.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz-config: invariant broken: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* The first message of a problem list, for the report. */
static const char *first(const md_errors *e)
{
    return e->n ? e->msgs[0] : NULL;
}

static bool same_errors(const md_errors *a, const md_errors *b)
{
    if (a->n != b->n || a->dropped != b->dropped)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->msgs[i], b->msgs[i]) != 0)
            return false;
    return true;
}

/* One parser, its serializer, its validator (may be NULL) and its free,
 * seen through void pointers so that one round trip serves all three. */
struct kind {
    const char *name;
    int (*load)(const char *, size_t, const char *, void **, md_errors *);
    int (*to_json)(const void *, char **, size_t *, md_error *);
    int (*validate)(const void *, const char *, md_errors *);
    void (*free)(void *);
};

static int spec_load(const char *t, size_t n, const char *name, void **out, md_errors *p)
{
    return md_spec_load_string(t, n, name, (md_spec **)out, p);
}
static int spec_json(const void *o, char **j, size_t *n, md_error *e)
{
    return md_spec_to_json(o, j, n, e);
}
static int spec_validate(const void *o, const char *name, md_errors *p)
{
    return md_spec_validate(o, name, p);
}
static void spec_free(void *o)
{
    md_spec_free(o);
}

static int process_load(const char *t, size_t n, const char *name, void **out, md_errors *p)
{
    return md_process_load_string(t, n, name, (md_process **)out, p);
}
static int process_json(const void *o, char **j, size_t *n, md_error *e)
{
    return md_process_to_json(o, j, n, e);
}
static int process_validate(const void *o, const char *name, md_errors *p)
{
    return md_process_validate(o, name, p);
}
static void process_free(void *o)
{
    md_process_free(o);
}

static int resources_load(const char *t, size_t n, const char *name, void **out, md_errors *p)
{
    return md_resources_load_string(t, n, name, (md_resources **)out, p);
}
static int resources_json(const void *o, char **j, size_t *n, md_error *e)
{
    return md_resources_to_json(o, j, n, e);
}
static void resources_free(void *o)
{
    md_resources_free(o);
}

static const struct kind kinds[] = {
    {"config.json", spec_load, spec_json, spec_validate, spec_free},
    {"process.json", process_load, process_json, process_validate, process_free},
    {"resources.json", resources_load, resources_json, NULL, resources_free},
};

/* Serialize obj; the text must load back cleanly and validate the same. */
static char *round_trip(const struct kind *k, const void *obj, const md_errors *verdict)
{
    char *text = NULL;
    size_t len = 0;
    md_error err = {0};
    if (k->to_json(obj, &text, &len, &err) < 0)
        broken("serializing a loaded document failed", err.msg);
    if (strlen(text) != len)
        broken("serialized length differs from the text", k->name);

    void *again = NULL;
    md_errors problems = {0};
    if (k->load(text, len, k->name, &again, &problems) < 0)
        broken("the serialized document does not load back", first(&problems));
    if (k->validate) {
        md_errors second = {0};
        k->validate(again, k->name, &second);
        if (!same_errors(verdict, &second))
            broken("validation differs after a round trip", first(&second));
        md_errors_clear(&second);
    }
    k->free(again);
    md_errors_clear(&problems);
    return text;
}

static void check(const struct kind *k, const char *text, size_t len)
{
    void *obj = NULL;
    md_errors problems = {0};
    int rc = k->load(text, len, k->name, &obj, &problems);
    if (rc < 0 && problems.n == 0 && problems.dropped == 0)
        broken("load failed without a message", k->name);
    if (rc == 0) {
        if (!obj)
            broken("load succeeded without an object", k->name);
        md_errors verdict = {0};
        if (k->validate) {
            int vrc = k->validate(obj, k->name, &verdict);
            if ((vrc == 0) != (verdict.n == 0 && verdict.dropped == 0))
                broken("validation status and messages disagree", k->name);
        }
        char *once = round_trip(k, obj, &verdict);
        /* The text of the round trip is itself stable. */
        void *reloaded = NULL;
        md_errors ignored = {0};
        if (k->load(once, strlen(once), k->name, &reloaded, &ignored) == 0) {
            char *twice = NULL;
            size_t n = 0;
            md_error err = {0};
            if (k->to_json(reloaded, &twice, &n, &err) < 0)
                broken("serializing a reloaded document failed", err.msg);
            if (strcmp(once, twice) != 0)
                broken("serialization is not stable across a round trip", k->name);
            free(twice);
        }
        if (reloaded)
            k->free(reloaded);
        md_errors_clear(&ignored);
        free(once);
        md_errors_clear(&verdict);
    }
    if (obj)
        k->free(obj);
    md_errors_clear(&problems);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        check(&kinds[i], (const char *)data, size);
    return 0;
}
