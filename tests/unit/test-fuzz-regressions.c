/* test-fuzz-regressions.c - replay, in every make check, each input the
 * fuzzer ever broke (tests/fuzz/regressions/) and the seed corpus
 * (tests/fuzz/corpus/) through the fuzz target's own function, built here
 * with the ordinary compiler and, in the sanitizer build, ASan and UBSan.
 *
 * Each file is its own test: a crash, a sanitizer report or a broken
 * round-trip invariant (fuzz-config.c prints which, then aborts) fails
 * that test and names the file.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    char path[512];
};

static const char *srcdir(void)
{
    const char *s = getenv("MDRUN_SRCDIR");
    return s && *s ? s : ".";
}

/* Every regular file of srcdir/rel, appended to v (Criterion's memory). */
static size_t list_dir(const char *rel, struct input *v, size_t max)
{
    char dir[400];
    snprintf(dir, sizeof(dir), "%s/%s", srcdir(), rel);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] == '.' || e->d_type == DT_DIR)
            continue;
        snprintf(v[n++].path, sizeof(v[0].path), "%s/%s", rel, e->d_name);
    }
    closedir(d);
    return n;
}

#define MAX_INPUTS 1024

ParameterizedTestParameters(fuzz, replay)
{
    struct input *v = cr_calloc(MAX_INPUTS, sizeof(*v));
    size_t n = list_dir("tests/fuzz/regressions", v, MAX_INPUTS);
    n += list_dir("tests/fuzz/corpus", v + n, MAX_INPUTS - n);
    return cr_make_param_array(struct input, v, n, NULL);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        if (got == 0)
            break;
        *len += got;
    }
    fclose(f);
    return buf;
}

ParameterizedTest(struct input *in, fuzz, replay)
{
    char *path = fx_fmt("%s/%s", srcdir(), in->path);
    size_t len;
    char *data = slurp(path, &len);
    fprintf(stderr, "replaying %s (%zu bytes)\n", in->path, len);
    cr_expect_eq(LLVMFuzzerTestOneInput((const uint8_t *)data, len), 0, "%s", in->path);
    free(data);
    free(path);
}

/* The replay above would pass vacuously if the directories went missing. */
Test(fuzz, inputs_are_there)
{
    struct input v[4];
    cr_assert_gt(list_dir("tests/fuzz/regressions", v, 4), 0,
                 "no file in $MDRUN_SRCDIR/tests/fuzz/regressions");
    cr_assert_gt(list_dir("tests/fuzz/corpus", v, 4), 0,
                 "no file in $MDRUN_SRCDIR/tests/fuzz/corpus");
}
