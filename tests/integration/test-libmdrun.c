/* test-libmdrun.c - the library used from C: examples/run-container, built
 * against libmdrun.so and the public mdrun.h only, runs a busybox container
 * with md_run(), reports its exit code and leaves nothing behind; as root
 * and as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* examples/run-container next to the mdrun under test (the build dir). */
static char *example_bin(void)
{
    char *copy = strdup(hx_mdrun_bin());
    cr_assert(copy);
    char *path = NULL;
    cr_assert(asprintf(&path, "%s/examples/run-container", dirname(copy)) > 0);
    free(copy);
    cr_assert(access(path, X_OK) == 0, "%s is not built: run the tests through make check", path);
    return path;
}

/* `run-container --root ROOT BUNDLE ID` as c->who. */
static struct fx_result run_example(struct hx_ctx *c, const char *bundle, const char *id)
{
    char *bin = example_bin();
    const char *argv[] = {bin, "--root", c->root, bundle, id, NULL};
    struct fx_result r = hx_run(c, NULL, argv);
    free(bin);
    return r;
}

/* The container's output reaches the caller's stdout, its exit code
 * comes back, and md_run deleted it. */
CT_BOTH(libmdrun, exit_code)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "sh", "-c", "echo hello from $(hostname); exit 7", NULL);
    char *id = hx_id("lib");
    struct fx_result r = run_example(c, b, id);
    cr_expect_eq(r.status, 7, "run-container: exit %d, want 7; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "hello from "), "no output from the container: %s", r.out);
    char *want = NULL;
    cr_assert(asprintf(&want, "%s exited with 7\n", id) > 0);
    cr_expect(strstr(r.out, want), "no \"%s\" line: %s", id, r.out);
    cr_expect_eq(r.err[0], '\0', "unexpected stderr: %s", r.err);
    free(want);
    fx_result_free(&r);
    free(id);
    hx_assert_clean(c);
}

/* A container that cannot be run: md_run's one-line error, no state. */
CT_BOTH(libmdrun, no_bundle)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *missing = NULL;
    cr_assert(asprintf(&missing, "%s/no-such-bundle", c->dir) > 0);
    char *id = hx_id("libnone");
    struct fx_result r = run_example(c, missing, id);
    cr_expect_eq(r.status, 125, "run-container: exit %d, want 125; stderr: %s", r.status, r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one error line: %s", r.err);
    cr_expect(strncmp(r.err, "run-container: ", 15) == 0 && strstr(r.err, "no-such-bundle"),
              "the error does not name the bundle: %s", r.err);
    fx_result_free(&r);
    free(id);
    free(missing);
    hx_assert_clean(c);
}
