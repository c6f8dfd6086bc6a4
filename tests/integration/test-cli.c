/* test-cli.c - the mdrun command line as a user meets it: global options,
 * help, spec, validate, state, list and features, as root and as an
 * unprivileged user, and runc accepting what `mdrun spec` writes. */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/harness.h"
#include "json.h"

static const char *const commands[] = {"spec", "validate", "state", "list", "features"};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Run mdrun with exactly these arguments (no --root added). */
static struct fx_result mdrun_argv(struct hx_ctx *c, const char *cwd, const char *const args[])
{
    const char *argv[16] = {hx_mdrun_bin()};
    size_t n = 1;
    for (; args[n - 1]; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    return hx_run(c, &(struct hx_cmd){.cwd = cwd}, argv);
}

#define MDRUN(c, cwd, ...) mdrun_argv((c), (cwd), (const char *const[]){__VA_ARGS__, NULL})

/* A refusal: exit status exactly 1 (not a signal, not a crash), nothing
 * that looks like success on stdout, and one line on stderr naming what is
 * wrong. */
static void expect_one_error(const struct fx_result *r, const char *what, const char *needle)
{
    cr_expect_eq(r->status, 1, "%s: exit status %d, want 1; stderr: %s", what, r->status, r->err);
    cr_expect(!strstr(r->out, "ok"), "%s: stdout says %s", what, r->out);
    cr_expect_eq(fx_count_lines(r->err), 1, "%s: want one error line, got: %s", what, r->err);
    if (needle)
        cr_expect(strstr(r->err, needle), "%s: error does not mention %s: %s", what, needle,
                  r->err);
}

static void expect_ok(const struct fx_result *r, const char *what)
{
    cr_expect_eq(r->status, 0, "%s: exit status %d; stderr: %s", what, r->status, r->err);
    cr_expect_str_eq(r->out, "ok\n", "%s: stdout %s", what, r->out);
    cr_expect_str_empty(r->err, "%s: stderr %s", what, r->err);
}

static struct fx_result validate(struct hx_ctx *c, const char *bundle)
{
    return hx_mdrun(c, NULL, "validate", "--bundle", bundle, NULL);
}

/* ------------------------------------------------------------ global CLI */

TestSuite(cli);

Test(cli, version)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *flags[] = {"--version", "-v"};
    for (size_t i = 0; i < 2; i++) {
        struct fx_result r = MDRUN(c, NULL, flags[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d: %s", flags[i], r.status, r.err);
        cr_expect(strstr(r.out, "mdrun version " PACKAGE_VERSION "\n"), "%s: %s", flags[i], r.out);
        cr_expect(strstr(r.out, "spec: " MD_OCI_VERSION "\n"), "%s: %s", flags[i], r.out);
        fx_result_free(&r);
    }
}

Test(cli, help)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = MDRUN(c, NULL, "--help");
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "Usage: mdrun"), "%s", r.out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        cr_expect(strstr(r.out, commands[i]), "--help does not list %s", commands[i]);
    cr_expect_str_empty(r.err);
    fx_result_free(&r);
}

Test(cli, every_command_has_help)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        struct fx_result r = MDRUN(c, NULL, commands[i], "--help");
        cr_expect_eq(r.status, 0, "%s --help: exit %d: %s", commands[i], r.status, r.err);
        cr_expect(strcasestr(r.out, "usage") && strstr(r.out, commands[i]),
                  "%s --help prints no usage on stdout: %s", commands[i], r.out);
        cr_expect_str_empty(r.err, "%s --help: stderr %s", commands[i], r.err);
        fx_result_free(&r);
    }
}

Test(cli, unknown_command)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = MDRUN(c, NULL, "frobnicate");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "frobnicate"), "%s", r.err);
    cr_expect_str_empty(r.out);
    fx_result_free(&r);

    r = MDRUN(c, NULL, "--frobnicate", "list");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "--frobnicate"), "%s", r.err);
    fx_result_free(&r);

    r = MDRUN(c, NULL, "--log-format", "xml", "list");
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "xml"), "%s", r.err);
    fx_result_free(&r);
}

Test(cli, no_command)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *argv[] = {hx_mdrun_bin(), NULL};
    struct fx_result r = hx_run(c, NULL, argv);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "no command"), "%s", r.err);
    fx_result_free(&r);
}

Test(cli, unknown_command_option)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        struct fx_result r = hx_mdrun(c, NULL, commands[i], "--frobnicate", NULL);
        cr_expect_eq(r.status, 1, "%s --frobnicate: exit %d", commands[i], r.status);
        cr_expect(strstr(r.err, "frobnicate"), "%s --frobnicate: message %s", commands[i], r.err);
        fx_result_free(&r);
    }
}

/* --------------------------------------------------------------- features */

TestSuite(features);

static const char *json_string(yajl_val doc, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(doc, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

Test(features, prints_version_range_as_json)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = hx_mdrun(c, NULL, "features", NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    char errbuf[256];
    yajl_val doc = yajl_tree_parse(r.out, errbuf, sizeof(errbuf));
    cr_assert(doc && YAJL_IS_OBJECT(doc), "not a JSON object (%s): %s", errbuf, r.out);
    const char *min = json_string(doc, "ociVersionMin");
    const char *max = json_string(doc, "ociVersionMax");
    cr_expect(min && strcmp(min, MD_OCI_VERSION_MIN) == 0, "ociVersionMin %s", min);
    cr_expect(max && strcmp(max, MD_OCI_VERSION) == 0, "ociVersionMax %s", max);
    yajl_tree_free(doc);
    fx_result_free(&r);
}

/* ------------------------------------------------------------------- spec */

TestSuite(spec);

static bool has_namespace(const md_spec *s, const char *type)
{
    for (size_t i = 0; s->linux_ && i < s->linux_->n_namespaces; i++)
        if (strcmp(s->linux_->namespaces[i].type, type) == 0)
            return true;
    return false;
}

static bool has_option(const md_mount *m, const char *opt)
{
    for (size_t i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i], opt) == 0)
            return true;
    return false;
}

static void expect_single_map(const md_idmap *maps, size_t n, unsigned host, const char *what)
{
    cr_assert_eq(n, 1, "%s: %zu mappings, want 1", what, n);
    cr_expect_eq(maps[0].container_id, 0, "%s containerID %u", what, maps[0].container_id);
    cr_expect_eq(maps[0].host_id, host, "%s hostID %u, want %u", what, maps[0].host_id, host);
    cr_expect_eq(maps[0].size, 1, "%s size %u", what, maps[0].size);
}

/* What `mdrun spec --rootless` must give the user who ran it. */
static void check_rootless_spec(const char *bundle, uid_t uid, gid_t gid)
{
    md_spec *s = hx_spec_load(bundle);
    cr_assert(s->linux_, "no linux section");
    expect_single_map(s->linux_->uid_mappings, s->linux_->n_uid_mappings, uid, "uidMappings");
    expect_single_map(s->linux_->gid_mappings, s->linux_->n_gid_mappings, gid, "gidMappings");
    cr_expect(has_namespace(s, "user"), "no user namespace");
    cr_expect(!has_namespace(s, "network"), "a network namespace, which rootless cannot set up");
    const md_mount *sys = NULL;
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].destination, "/sys") == 0)
            sys = &s->mounts[i];
    cr_assert(sys, "no /sys mount");
    cr_expect(has_option(sys, "rbind") && has_option(sys, "ro"),
              "/sys is not a read-only rbind (type %s)", sys->type ? sys->type : "none");
    md_spec_free(s);
}

Test(spec, writes_default_config_as_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    struct fx_result r = hx_mdrun(c, bundle, "spec", NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_empty(r.err);
    fx_result_free(&r);
    md_spec *s = hx_spec_load(bundle);
    cr_expect(s->oci_version && *s->oci_version, "no ociVersion");
    cr_expect(s->root && s->root->path && strcmp(s->root->path, "rootfs") == 0,
              "root.path is not rootfs");
    cr_expect(s->process && s->process->n_args > 0, "no process.args");
    cr_expect(!s->linux_ || s->linux_->n_uid_mappings == 0, "uidMappings in the root spec");
    md_spec_free(s);
}

Test(spec, refuses_to_overwrite)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_ROOTFS | HX_BUNDLE_NO_CONFIG);
    char *config = hx_bundle_file(bundle, "config.json");
    const char *mine = "{\"ociVersion\": \"1.0.0\", \"mine\": true}\n";
    fx_write(config, mine);
    chown(config, c->uid, c->gid);
    const char *variants[][2] = {{"spec", NULL}, {"spec", "--rootless"}};
    for (size_t i = 0; i < 2; i++) {
        struct fx_result r = hx_mdrun(c, bundle, variants[i][0], variants[i][1], NULL);
        cr_expect_eq(r.status, 1, "spec %s: exit %d", variants[i][1] ? variants[i][1] : "",
                     r.status);
        cr_expect(strstr(r.err, "config.json"), "message does not name config.json: %s", r.err);
        fx_result_free(&r);
    }
    char *now = fx_read(config, NULL);
    cr_expect_str_eq(now, mine, "config.json was changed");
    free(now);
    free(config);
}

Test(spec, bundle_option)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_ROOTFS | HX_BUNDLE_NO_CONFIG);
    const char *other = hx_bundle_new(c, HX_BUNDLE_NO_ROOTFS | HX_BUNDLE_NO_CONFIG);
    struct fx_result r = hx_mdrun(c, other, "spec", "--bundle", bundle, NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *there = hx_bundle_file(bundle, "config.json");
    char *here = hx_bundle_file(other, "config.json");
    cr_expect(access(there, F_OK) == 0, "no %s", there);
    cr_expect(access(here, F_OK) != 0, "spec --bundle also wrote %s", here);
    free(there);
    free(here);
}

Test(spec, rootless_maps_the_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    if (geteuid() == 0)
        cr_assert_neq(c->uid, 0, "the test user must not be root");
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    struct fx_result r = hx_mdrun(c, bundle, "spec", "--rootless", NULL);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    check_rootless_spec(bundle, c->uid, c->gid);
}

Test(spec, rootless_as_root_maps_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS);
    check_rootless_spec(bundle, 0, 0);
}

/* --------------------------------------------------------------- validate */

TestSuite(validate);

Test(validate, default_spec_is_ok_as_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = hx_bundle_new(c, 0);
    struct fx_result r = validate(c, bundle);
    expect_ok(&r, "mdrun spec");
    fx_result_free(&r);
    /* The current directory is the default bundle. */
    r = hx_mdrun(c, bundle, "validate", NULL);
    expect_ok(&r, "mdrun validate in the bundle");
    fx_result_free(&r);
}

Test(validate, rootless_spec_is_ok_as_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS);
    struct fx_result r = validate(c, bundle);
    expect_ok(&r, "mdrun spec --rootless");
    fx_result_free(&r);
}

/* The fixture files of one kind, sorted, without the .expect sidecars. */
static size_t list_fixtures(const char *kind, char ***out)
{
    char *rel = fx_fmt("validate/%s", kind);
    char *dir = fx_path(rel);
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort);
    cr_assert(n >= 0, "cannot list %s", dir);
    char **names = calloc((size_t)n + 1, sizeof(*names));
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        size_t len = strlen(name);
        if (name[0] != '.' && !(len > 7 && strcmp(name + len - 7, ".expect") == 0))
            names[count++] = fx_fmt("%s/%s", dir, name);
        free(entries[i]);
    }
    free(entries);
    free(dir);
    free(rel);
    cr_assert(count > 0, "no fixtures in tests/fixtures/validate/%s", kind);
    *out = names;
    return count;
}

/* The expected message of a bad fixture, from NAME.expect, or NULL. */
static char *fixture_expect(const char *path)
{
    char *sidecar = fx_fmt("%s.expect", path);
    char *text = NULL;
    if (access(sidecar, F_OK) == 0) {
        text = fx_read(sidecar, NULL);
        text[strcspn(text, "\n")] = '\0';
    }
    free(sidecar);
    return text;
}

static void install_config(const char *bundle, const char *fixture, uid_t uid, gid_t gid)
{
    size_t len;
    char *text = fx_read(fixture, &len);
    char *config = hx_bundle_file(bundle, "config.json");
    FILE *f = fopen(config, "we");
    cr_assert(f && fwrite(text, 1, len, f) == len && fclose(f) == 0, "write %s", config);
    chown(config, uid, gid);
    free(config);
    free(text);
}

Test(validate, good_fixtures_are_ok)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char **files;
    size_t n = list_fixtures("good", &files);
    for (size_t i = 0; i < n; i++) {
        install_config(bundle, files[i], c->uid, c->gid);
        struct fx_result r = validate(c, bundle);
        expect_ok(&r, strrchr(files[i], '/') + 1);
        fx_result_free(&r);
    }
    hx_strv_free(files);
}

Test(validate, bad_fixtures_are_refused)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char **files;
    size_t n = list_fixtures("bad", &files);
    for (size_t i = 0; i < n; i++) {
        const char *name = strrchr(files[i], '/') + 1;
        install_config(bundle, files[i], c->uid, c->gid);
        struct fx_result r = validate(c, bundle);
        /* Each bad fixture has exactly one problem, named with its path. */
        expect_one_error(&r, name, "config.json: ");
        char *expect = fixture_expect(files[i]);
        if (expect)
            cr_expect(strstr(r.err, expect), "%s: want \"%s\", got: %s", name, expect, r.err);
        free(expect);
        fx_result_free(&r);
    }
    hx_strv_free(files);
}

/* A bundle whose config.json is the given bytes. */
static const char *bundle_with(struct hx_ctx *c, const char *text, size_t len)
{
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char *config = hx_bundle_file(bundle, "config.json");
    FILE *f = fopen(config, "we");
    cr_assert(f && fwrite(text, 1, len, f) == len && fclose(f) == 0, "write %s", config);
    chown(config, c->uid, c->gid);
    free(config);
    return bundle;
}

#define MARK "HX-MARK"

static void mark_annotation(md_spec *s)
{
    for (size_t i = 0; i < s->n_annotations; i++) {
        free(s->annotations[i].key);
        free(s->annotations[i].value);
    }
    free(s->annotations);
    s->annotations = calloc(1, sizeof(*s->annotations));
    cr_assert(s->annotations);
    s->annotations[0].key = strdup("org.mdrun.test");
    s->annotations[0].value = strdup(MARK);
    s->n_annotations = 1;
}

static void mark_env(md_spec *s)
{
    hx_spec_set_env(s, MARK, NULL);
}

/* A bundle made by `mdrun spec --rootless` where mark() put the string
 * MARK in one place, then replaced by the raw JSON text value: the document
 * is valid except for that value. */
static const char *spec_with_raw(struct hx_ctx *c, void (*mark)(md_spec *), const char *value,
                                 size_t len)
{
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS);
    md_spec *s = hx_spec_load(bundle);
    mark(s);
    hx_spec_save(bundle, s);
    md_spec_free(s);
    char *config = hx_bundle_file(bundle, "config.json");
    size_t old_len;
    char *old = fx_read(config, &old_len);
    const char *quoted = "\"" MARK "\"";
    char *at = strstr(old, quoted);
    cr_assert(at, "no %s in %s", quoted, config);
    size_t head = (size_t)(at - old), tail = old_len - head - strlen(quoted);
    FILE *f = fopen(config, "we");
    cr_assert(f);
    cr_assert(fwrite(old, 1, head, f) == head && fwrite(value, 1, len, f) == len &&
              fwrite(at + strlen(quoted), 1, tail, f) == tail && fclose(f) == 0);
    free(old);
    free(config);
    return bundle;
}

static const char minimal[] = "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"}, "
                              "\"process\": {\"cwd\": \"/\", \"args\": [\"true\"]}}\n";

Test(validate, truncated_json)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = bundle_with(c, minimal, sizeof(minimal) / 2);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "truncated", "config.json");
    fx_result_free(&r);
}

Test(validate, config_is_a_directory)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    char *config = hx_bundle_file(bundle, "config.json");
    cr_assert(mkdir(config, 0755) == 0);
    chown(config, c->uid, c->gid);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "directory", "config.json");
    fx_result_free(&r);
    free(config);
}

Test(validate, missing_config)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_NO_CONFIG);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "missing config.json", "config.json");
    fx_result_free(&r);
}

Test(validate, missing_rootfs)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS | HX_BUNDLE_NO_ROOTFS);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "missing rootfs", "rootfs");
    fx_result_free(&r);
}

/* A document over the size limit, made of one huge string or array. */
static char *oversized(bool array, size_t *len)
{
    size_t body = MD_JSON_MAX_BYTES + (1u << 20);
    char *text = malloc(body + 64);
    cr_assert(text);
    size_t n =
        (size_t)sprintf(text, "{\"ociVersion\": \"1.0.0\", \"hostname\": %s", array ? "[" : "\"");
    if (array) {
        for (; n < body; n += 4)
            memcpy(text + n, "\"a\",", 4);
        memcpy(text + n, "\"a\"]}\n", 6);
        n += 6;
    } else {
        memset(text + n, 'a', body - n);
        n = body;
        memcpy(text + n, "\"}\n", 3);
        n += 3;
    }
    *len = n;
    return text;
}

Test(validate, huge_string)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    size_t len;
    char *text = oversized(false, &len);
    const char *bundle = bundle_with(c, text, len);
    free(text);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "huge string", "config.json");
    fx_result_free(&r);
}

Test(validate, huge_array)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    size_t len;
    char *text = oversized(true, &len);
    const char *bundle = bundle_with(c, text, len);
    free(text);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "huge array", "config.json");
    fx_result_free(&r);
}

Test(validate, deep_nesting)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    size_t depth = 100000;
    char *text = malloc(depth + 1);
    memset(text, '[', depth);
    const char *bundle = bundle_with(c, text, depth);
    free(text);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "100000 [", "config.json");
    fx_result_free(&r);

    /* Balanced, inside an otherwise valid document. */
    text = malloc(2 * depth);
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    bundle = spec_with_raw(c, mark_annotation, text, 2 * depth);
    free(text);
    r = validate(c, bundle);
    expect_one_error(&r, "nested annotation", "config.json");
    fx_result_free(&r);
}

Test(validate, invalid_utf8)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    static const char value[] = "\"host\xff\xfename\"";
    const char *bundle = spec_with_raw(c, mark_annotation, value, sizeof(value) - 1);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "non-UTF-8 bytes", "config.json");
    fx_result_free(&r);
}

Test(validate, nul_escape_in_string)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    static const char value[] = "\"host\\u0000name\"";
    const char *bundle = spec_with_raw(c, mark_annotation, value, sizeof(value) - 1);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "\\u0000", "config.json");
    cr_expect(strstr(r.err, "\\u0000"), "%s", r.err);
    fx_result_free(&r);
}

Test(validate, nul_byte)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    static const char value[] = "\"host\0name\"";
    const char *bundle = spec_with_raw(c, mark_annotation, value, sizeof(value) - 1);
    struct fx_result r = validate(c, bundle);
    expect_one_error(&r, "NUL byte", "config.json");
    fx_result_free(&r);
}

/* Many wrong values: every one is reported up to a bound, then a count. */
Test(validate, many_problems_are_capped)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    size_t n = 100000;
    char *value = malloc(2 * n);
    for (size_t i = 0; i < n; i++)
        memcpy(value + 2 * i, "1,", 2);
    const char *bundle = spec_with_raw(c, mark_env, value, 2 * n - 1);
    free(value);
    struct fx_result r = validate(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d", r.status);
    size_t lines = fx_count_lines(r.err);
    cr_expect(lines > 1 && lines <= 210, "%zu error lines", lines);
    cr_expect(strstr(r.err, "process.env["), "errors do not name process.env[N]: %.300s", r.err);
    fx_result_free(&r);
}

/* ------------------------------------------------------------ state, list */

TestSuite(state);

static void check_state_missing(struct hx_ctx *c, bool default_root)
{
    struct fx_result r =
        default_root ? MDRUN(c, NULL, "state", "NOPE") : hx_mdrun(c, NULL, "state", "NOPE", NULL);
    cr_expect_eq(r.status, 1, "exit %d", r.status);
    cr_expect(strstr(r.err, "container \"NOPE\" does not exist"), "%s", r.err);
    cr_expect_str_empty(r.out);
    fx_result_free(&r);
}

Test(state, missing_container_as_root)
{
    check_state_missing(hx_ctx_new(HX_ROOT), false);
}

Test(state, missing_container_as_user_default_root)
{
    check_state_missing(hx_ctx_new(HX_USER), true);
}

Test(state, invalid_ids_are_refused)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *ids[] = {"../escape", "a/b", ".", ".."};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct fx_result r = hx_mdrun(c, NULL, "state", ids[i], NULL);
        cr_expect_eq(r.status, 1, "state %s: exit %d", ids[i], r.status);
        cr_expect_str_empty(r.out, "state %s: %s", ids[i], r.out);
        cr_expect(r.err[0], "state %s: no message", ids[i]);
        fx_result_free(&r);
    }
}

static void check_empty_list(struct hx_ctx *c, bool default_root)
{
    static const char *const formats[][2] = {
        {NULL, NULL}, {"-q", NULL}, {"--format", "json"}, {"--format", "table"}};
    for (size_t i = 0; i < 4; i++) {
        const char *a = formats[i][0], *b = formats[i][1];
        struct fx_result r =
            default_root ? MDRUN(c, NULL, "list", a, b) : hx_mdrun(c, NULL, "list", a, b, NULL);
        const char *what = a ? a : "list";
        cr_expect_eq(r.status, 0, "%s: exit %d: %s", what, r.status, r.err);
        cr_expect_str_empty(r.err, "%s: %s", what, r.err);
        if (!a || (b && strcmp(b, "table") == 0)) {
            cr_expect_eq(fx_count_lines(r.out), 1, "%s: want only the header: %s", what, r.out);
            cr_expect(strncmp(r.out, "ID", 2) == 0, "%s: header %s", what, r.out);
        } else if (strcmp(a, "-q") == 0) {
            cr_expect_str_empty(r.out, "-q: %s", r.out);
        } else {
            char *trimmed = r.out + strspn(r.out, " \n");
            trimmed[strcspn(trimmed, " \n")] = '\0';
            cr_expect_str_eq(trimmed, "[]", "--format json: %s", r.out);
        }
        fx_result_free(&r);
    }
}

Test(state, empty_list_as_root)
{
    check_empty_list(hx_ctx_new(HX_ROOT), false);
}

Test(state, empty_list_as_user_default_root)
{
    check_empty_list(hx_ctx_new(HX_USER), true);
}

Test(state, list_unknown_format)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = hx_mdrun(c, NULL, "list", "--format", "yaml", NULL);
    cr_expect_eq(r.status, 1, "exit %d", r.status);
    cr_expect(strstr(r.err, "yaml"), "%s", r.err);
    fx_result_free(&r);
}

/* -------------------------------------------------------------------- runc */

TestSuite(runc);

/* runc runs the bundle's process and exits with its status. */
static void runc_run(struct hx_ctx *c, const char *bundle, const char *expect_out)
{
    char *id = hx_id("hx-runc");
    const char *argv[] = {"runc", "--root", c->root, "run", id, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.cwd = bundle}, argv);
    cr_expect_eq(r.status, 0, "runc run: exit %d: %s", r.status, r.err);
    if (expect_out)
        cr_expect_str_eq(r.out, expect_out);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id), "runc left its state behind");
    hx_assert_clean(c);
    free(id);
}

Test(runc, runs_rootless_spec_as_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS);
    hx_bundle_set_args(bundle, "true", NULL);
    runc_run(c, bundle, NULL);
}

/* A rootfs owned by root, as a system-wide image would be, serves the
 * user's container too. */
Test(runc, runs_rootless_spec_on_a_root_owned_rootfs)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = hx_bundle_new(c, HX_BUNDLE_ROOTLESS | HX_BUNDLE_ROOT_ROOTFS);
    hx_bundle_set_args(bundle, "sh", "-c",
                       "echo hello from $(id -u); ls -a /root | wc -l; head -n1 /etc/passwd", NULL);
    runc_run(c, bundle, "hello from 0\n2\nroot:x:0:0:root:/root:/bin/sh\n");
}

Test(runc, runs_default_spec_as_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = hx_bundle_new(c, 0);
    hx_bundle_set_args(bundle, "true", NULL);
    runc_run(c, bundle, NULL);
}
