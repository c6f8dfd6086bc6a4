/* test-json.c - the JSON front door: syntax errors with their position,
 * limits on size and nesting, and hostile bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fixture.h"
#include "json.h"
#include "spec.h"

/* Parse text as a config and return the problems; *ok tells whether the
 * document was accepted as JSON. */
static md_errors parse(const char *text, size_t len, bool *ok)
{
    md_errors problems = {0};
    struct md_jdoc *doc = NULL;
    *ok = md_json_parse(text, len, "config.json", &doc, &problems) == 0;
    md_jdoc_free(doc);
    return problems;
}

static void expect_one_error(const char *text, size_t len, const char *needle)
{
    bool ok;
    md_errors p = parse(text, len, &ok);
    cr_assert_not(ok, "accepted: %.60s", text);
    cr_assert_eq(p.n, 1, "expected exactly one error, got %zu", p.n);
    cr_assert(strstr(p.msgs[0], needle), "\"%s\" does not contain \"%s\"", p.msgs[0], needle);
    cr_assert(strncmp(p.msgs[0], "config.json: ", 13) == 0, "no file prefix: %s", p.msgs[0]);
    cr_assert_null(strchr(p.msgs[0], '\n'), "message is not one line: %s", p.msgs[0]);
    md_errors_clear(&p);
}

Test(json, accepts_plain_document)
{
    bool ok;
    const char *doc = "{\"ociVersion\": \"1.0.0\", \"x\": [1, 2, {\"y\": null}]}";
    md_errors p = parse(doc, strlen(doc), &ok);
    cr_assert(ok);
    cr_assert_eq(p.n, 0);
}

Test(json, truncated_document_names_end_position)
{
    const char *doc = "{\"ociVersion\": \"1.0.0\",\n  \"root\": ";
    expect_one_error(doc, strlen(doc), "line 2, column 11: parse error: premature EOF");
}

Test(json, syntax_error_names_line_and_column)
{
    const char *doc = "{\n  \"a\": 1,\n  \"b\" 2\n}";
    expect_one_error(doc, strlen(doc), "invalid JSON at line 3, column");
}

Test(json, trailing_garbage_is_refused)
{
    const char *doc = "{\"ociVersion\": \"1.0.0\"} {}";
    expect_one_error(doc, strlen(doc), "trailing garbage");
}

Test(json, comments_are_not_json)
{
    const char *doc = "{\"ociVersion\": \"1.0.0\" /* no */}";
    expect_one_error(doc, strlen(doc), "comment");
}

Test(json, empty_input_is_refused)
{
    expect_one_error("", 0, "invalid JSON");
    expect_one_error("   \n", 4, "invalid JSON");
}

Test(json, nul_byte_in_text_is_refused)
{
    const char doc[] = "{\"ociVersion\": \"1.0.0\"}\0{}";
    expect_one_error(doc, sizeof(doc) - 1, "NUL byte at offset 23");
}

Test(json, escaped_nul_in_string_is_refused)
{
    const char *doc = "{\"root\": {\"path\": \"/a\\u0000b\"}}";
    expect_one_error(doc, strlen(doc), "\\u0000");
    const char *key = "{\"annotations\": {\"a\\u0000\": \"x\"}}";
    expect_one_error(key, strlen(key), "\\u0000");
}

Test(json, invalid_utf8_is_refused)
{
    const char *doc = "{\"hostname\": \"caf\xc3\"}";
    expect_one_error(doc, strlen(doc), "UTF8");
    const char *cut = "{\"hostname\": \"\xe2\x82\"}";
    expect_one_error(cut, strlen(cut), "UTF8");
}

static char *nested(size_t depth)
{
    char *s = malloc(depth * 2 + 1);
    cr_assert(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[depth * 2] = '\0';
    return s;
}

Test(json, nesting_limit)
{
    bool ok;
    char *at_limit = nested(MD_JSON_MAX_DEPTH);
    md_errors p = parse(at_limit, strlen(at_limit), &ok);
    cr_assert(ok, "%zu levels should be accepted", (size_t)MD_JSON_MAX_DEPTH);
    md_errors_clear(&p);
    free(at_limit);

    char *deep = nested(100000);
    expect_one_error(deep, strlen(deep), "nested deeper than 128 levels");
    free(deep);
}

Test(json, size_limit)
{
    size_t len = MD_JSON_MAX_BYTES + 1;
    char *big = malloc(len + 1);
    cr_assert(big);
    memset(big, ' ', len);
    big[0] = '{';
    big[len - 1] = '}';
    big[len] = '\0';
    expect_one_error(big, len, "larger than");
    free(big);
}

Test(json, huge_string_and_array_decode)
{
    /* 4 MiB hostname and a 200,000-entry env: slow inputs, not fatal ones. */
    size_t n = 4u << 20;
    char *doc = malloc(n + 4096);
    cr_assert(doc);
    size_t off = (size_t)sprintf(doc, "{\"ociVersion\":\"1.0.0\",\"hostname\":\"");
    memset(doc + off, 'h', n);
    off += n;
    off += (size_t)sprintf(doc + off, "\",\"process\":{\"cwd\":\"/\",\"env\":[");
    char *big = malloc(200000 * 8 + 64);
    cr_assert(big);
    size_t boff = 0;
    for (int i = 0; i < 200000; i++)
        boff += (size_t)sprintf(big + boff, "%s\"E=%d\"", i ? "," : "", i % 10);
    doc = realloc(doc, off + boff + 16);
    memcpy(doc + off, big, boff);
    off += boff;
    off += (size_t)sprintf(doc + off, "]}}");
    free(big);

    md_spec *spec = NULL;
    md_errors p = {0};
    cr_assert_eq(md_spec_load_string(doc, off, "config.json", &spec, &p), 0);
    cr_assert_eq(strlen(spec->hostname), n);
    cr_assert_eq(spec->process->n_env, 200000);
    md_spec_free(spec);
    free(doc);
}

Test(json, error_list_is_capped)
{
    /* 100,000 wrongly typed entries: the list keeps MD_ERRORS_MAX messages
     * and counts the rest, instead of growing without bound. */
    size_t n = 100000;
    char *doc = malloc(n * 2 + 128);
    cr_assert(doc);
    size_t off =
        (size_t)sprintf(doc, "{\"ociVersion\":\"1.0.0\",\"process\":{\"cwd\":\"/\",\"env\":[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)sprintf(doc + off, "%s1", i ? "," : "");
    off += (size_t)sprintf(doc + off, "]}}");
    md_spec *spec = NULL;
    md_errors p = {0};
    cr_assert_eq(md_spec_load_string(doc, off, "config.json", &spec, &p), -1);
    cr_assert_eq(p.n, MD_ERRORS_MAX);
    cr_assert_eq(p.n + p.dropped, n);
    cr_assert_str_eq(p.msgs[0], "config.json: process.env[0]: must be a string");
    md_errors_clear(&p);
    md_spec_free(spec);
    free(doc);
}
