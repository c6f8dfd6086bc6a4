/* test-spec.c - `mdrun spec` and `mdrun features` as a user runs them. */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/harness.h"
#include "spec.h"

/* An empty directory owned by the context's user. */
static char *empty_dir(struct hx_ctx *c, const char *name)
{
    char *dir = fx_fmt("%s/%s", c->dir, name);
    cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s", dir);
    cr_assert_eq(chown(dir, c->uid, c->gid), 0, "chown %s", dir);
    return dir;
}

static md_spec *load(const char *dir)
{
    char *path = fx_fmt("%s/config.json", dir);
    md_spec *spec = NULL;
    md_errors problems = {0};
    cr_assert_eq(md_spec_load_file(path, &spec, &problems), 0, "%s: %s", path,
                 problems.n ? problems.msgs[0] : "?");
    free(path);
    return spec;
}

static bool has_namespace(const md_spec *spec, const char *type)
{
    for (size_t i = 0; i < spec->linux_->n_namespaces; i++)
        if (strcmp(spec->linux_->namespaces[i].type, type) == 0)
            return true;
    return false;
}

Test(spec_cmd, writes_config_in_cwd)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "b");
    umask(022); /* inherited by mdrun, which creates the file 0644 less it */
    struct fx_result r = hx_mdrun(c, dir, "spec", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_empty(r.out);
    cr_expect_str_empty(r.err);
    char *path = fx_fmt("%s/config.json", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect(S_ISREG(st.st_mode));
    cr_expect_eq(st.st_mode & 07777, 0644, "mode %o", st.st_mode & 07777);
    cr_expect_eq(st.st_uid, c->uid);
    md_spec *spec = load(dir);
    cr_expect_str_eq(spec->oci_version, MD_OCI_VERSION);
    cr_expect(has_namespace(spec, "network"));
    cr_expect_eq(spec->linux_->n_uid_mappings, 0);
    md_spec_free(spec);
    fx_result_free(&r);
    free(path);
    free(dir);
}

Test(spec_cmd, bundle_option)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "long");
    char *dir2 = empty_dir(c, "short");
    struct fx_result r = hx_mdrun(c, NULL, "spec", "--bundle", dir, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "spec", "-b", dir2, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    fx_result_free(&r);
    md_spec_free(load(dir));
    md_spec_free(load(dir2));
    char *stray = fx_fmt("%s/config.json", c->dir);
    cr_expect_neq(access(stray, F_OK), 0, "wrote into the working directory too");
    free(stray);
    free(dir);
    free(dir2);
}

Test(spec_cmd, rootless_maps_the_caller)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "b");
    /* The global --rootless must not decide: the command's flag does. */
    const char *argv[] = {hx_mdrun_bin(), "--rootless", "false", "spec", "--rootless", NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.cwd = dir}, argv);
    cr_assert_eq(r.status, 0, "%s", r.err);
    fx_result_free(&r);
    md_spec *spec = load(dir);
    cr_expect(has_namespace(spec, "user"));
    cr_expect_not(has_namespace(spec, "network"));
    cr_assert_eq(spec->linux_->n_uid_mappings, 1);
    cr_assert_eq(spec->linux_->n_gid_mappings, 1);
    cr_expect_eq(spec->linux_->uid_mappings[0].host_id, c->uid);
    cr_expect_eq(spec->linux_->gid_mappings[0].host_id, c->gid);
    cr_expect_null(spec->linux_->resources);
    md_spec_free(spec);
    free(dir);
}

Test(spec_cmd, global_rootless_alone_changes_nothing)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "b");
    const char *argv[] = {hx_mdrun_bin(), "--rootless", "true", "spec", NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.cwd = dir}, argv);
    cr_assert_eq(r.status, 0, "%s", r.err);
    fx_result_free(&r);
    md_spec *spec = load(dir);
    cr_expect_not(has_namespace(spec, "user"));
    md_spec_free(spec);
    free(dir);
}

Test(spec_cmd, refuses_to_overwrite)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "b");
    char *path = fx_fmt("%s/config.json", dir);
    fx_write(path, "mine\n");
    struct fx_result r = hx_mdrun(c, NULL, "spec", "--bundle", dir, NULL);
    cr_expect_eq(r.status, 1);
    char *msg = fx_fmt("config.json already exists in %s", dir);
    cr_expect_not_null(strstr(r.err, msg), "stderr: %s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "one line: %s", r.err);
    fx_result_free(&r);
    char buf[16] = "";
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_expect_not_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    cr_expect_str_eq(buf, "mine\n", "the existing file was changed");
    free(msg);
    free(path);
    free(dir);
}

/* A dangling symlink named config.json must not be followed. */
Test(spec_cmd, refuses_symlink)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    char *dir = empty_dir(c, "b");
    char *link = fx_fmt("%s/config.json", dir);
    char *target = fx_fmt("%s/elsewhere", c->dir);
    cr_assert_eq(symlink(target, link), 0);
    struct fx_result r = hx_mdrun(c, dir, "spec", NULL);
    cr_expect_eq(r.status, 1);
    cr_expect_not_null(strstr(r.err, "already exists"), "%s", r.err);
    cr_expect_neq(access(target, F_OK), 0, "followed the symlink");
    fx_result_free(&r);
    free(link);
    free(target);
    free(dir);
}

Test(spec_cmd, usage_errors)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *const cases[][3] = {
        {"spec", "extra", NULL},
        {"spec", "--bogus", NULL},
        {"spec", "--bundle", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fx_result r = hx_mdrun(c, NULL, cases[i][0], cases[i][1], NULL);
        cr_expect_eq(r.status, 1, "%s %s", cases[i][0], cases[i][1]);
        cr_expect_not_null(strstr(r.err, "mdrun spec: "), "%s", r.err);
        cr_expect_not_null(strstr(r.err, "--help"), "%s", r.err);
        fx_result_free(&r);
    }
    char *missing = fx_fmt("%s/missing", c->dir);
    struct fx_result r = hx_mdrun(c, NULL, "spec", "-b", missing, NULL);
    cr_expect_eq(r.status, 1);
    cr_expect_not_null(strstr(r.err, "No such file or directory"), "%s", r.err);
    fx_result_free(&r);
    free(missing);
}

Test(spec_cmd, help)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = hx_mdrun(c, NULL, "spec", "--help", NULL);
    cr_expect_eq(r.status, 0);
    cr_expect_not_null(strstr(r.out, "--rootless"));
    cr_expect_not_null(strstr(r.out, "--bundle"));
    char *stray = fx_fmt("%s/config.json", c->dir);
    cr_expect_neq(access(stray, F_OK), 0, "--help wrote a config.json");
    free(stray);
    fx_result_free(&r);
}

Test(features_cmd, prints_features_json)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = hx_mdrun(c, NULL, "features", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char msg[256];
    yajl_val tree = yajl_tree_parse(r.out, msg, sizeof(msg));
    cr_assert_not_null(tree, "%s", msg);
    const char *min[] = {"ociVersionMin", NULL};
    const char *max[] = {"ociVersionMax", NULL};
    yajl_val vmin = yajl_tree_get(tree, min, yajl_t_string);
    yajl_val vmax = yajl_tree_get(tree, max, yajl_t_string);
    cr_assert(vmin && vmax, "%s", r.out);
    cr_expect_str_eq(YAJL_GET_STRING(vmin), MD_OCI_VERSION_MIN);
    cr_expect_str_eq(YAJL_GET_STRING(vmax), MD_OCI_VERSION);
    yajl_tree_free(tree);
    fx_result_free(&r);

    r = hx_mdrun(c, NULL, "features", "extra", NULL);
    cr_expect_eq(r.status, 1);
    fx_result_free(&r);
}
