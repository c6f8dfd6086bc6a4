/* fixture.h - helpers shared by the unit and integration tests: fixture
 * files, temporary directories and running programs. */
#ifndef MD_TEST_FIXTURE_H
#define MD_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

/* $MDRUN_FIXTURES/rel (tests/fixtures in the source tree); caller frees. */
char *fx_path(const char *rel);
/* The whole content of a fixture file, NUL-terminated; caller frees.
 * Fails the current test when it cannot be read. */
char *fx_read(const char *rel, size_t *len);

/* A new empty directory under $TMPDIR (or /tmp), mode 0755; caller frees
 * the name and removes the tree with fx_rmtree(). */
char *fx_tmpdir(void);
/* Remove a tree, not crossing into mounts and not following symlinks. */
void fx_rmtree(const char *path);
/* Write a file (mode 0644), failing the test on error. */
void fx_write(const char *path, const char *content);
/* printf into a new string; caller frees. */
char *fx_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The result of running a program. */
struct fx_result {
    int status; /* exit code, or 128 + signal */
    char *out;  /* everything written to stdout */
    char *err;  /* everything written to stderr */
};

/* Run argv (argv[0] is searched in PATH) with optional stdin text and an
 * optional environment addition ("NAME=value" entries, NULL-terminated). */
struct fx_result fx_run(char *const argv[], const char *input, char *const extra_env[]);
void fx_result_free(struct fx_result *r);

/* Number of lines in s. */
size_t fx_count_lines(const char *s);

/* How fx_in_userns() makes the child's namespaces. */
struct fx_userns {
    int flags;           /* CLONE_NEW* flags to unshare with CLONE_NEWUSER */
    const char *uid_map; /* NULL: "0 <own uid> 1" */
    const char *gid_map; /* NULL: "0 <own gid> 1", with setgroups denied */
};

/* Run fn(arg) in a forked child that unshares a new user namespace (and
 * ns->flags) whose id maps the parent writes, as a runtime does: the child
 * is root there, with every capability of that namespace.  Its stdout and
 * stderr go to the returned string (caller frees) and it _exits with fn's
 * return value, stored in *status (128 + signal if killed).  Skips the test
 * when user namespaces are not available. */
char *fx_in_userns(const struct fx_userns *ns, int (*fn)(void *arg), void *arg, int *status);

#endif
