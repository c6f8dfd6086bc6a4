/* test-stress.c - many containers leave nothing behind: a thousand
 * create/start/delete cycles one after the other, and fifty containers
 * created (then deleted) at the same time, as root and as an
 * unprivileged user.  Counted before and after (residue.h): state
 * entries, mounts, processes, cgroup directories, the test's own fds; and
 * along the way, no fd of mdrun's reaches a container.
 *
 * The numbers: MDRUN_STRESS_CYCLES overrides the cycle count.  Otherwise
 * root and the user do 1000 cycles each (the two variants run in parallel
 * on the same cores); the sanitizer build, several times slower, does 100
 * and 50, and says so in the test's output.  A machine
 * too slow (or too busy) to do them within BUDGET_S seconds stops there,
 * after MIN_CYCLES at least, and the output says how many it did. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"
#include "integration/residue.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED true
#else
#define SANITIZED false
#endif

#define CONCURRENT  50
#define BUDGET_S    300
#define MIN_CYCLES  100
#define FULL_CYCLES 1000

/* A line in the test's output whatever Criterion's verbosity (its warning
 * level would make the program's exit status 1). */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[NOTE] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static unsigned cycles_for(enum hx_who who)
{
    const char *env = getenv("MDRUN_STRESS_CYCLES");
    if (env && atoi(env) > 0)
        return (unsigned)atoi(env);
    if (SANITIZED)
        return who == HX_ROOT ? 100 : 50;
    return FULL_CYCLES;
}

static const char *who_name(enum hx_who who)
{
    return who == HX_ROOT ? "root" : "user";
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What is counted before and compared after. */
struct counts {
    size_t fds;     /* this process's */
    size_t mounts;  /* all of /proc/self/mountinfo, for the report */
    size_t cgroups; /* every cgroup directory, for the report */
};

static void count(struct counts *n)
{
    n->fds = rs_fd_count();
    n->mounts = rs_mount_count();
    n->cgroups = rs_cgroup_dirs(NULL, NULL);
}

/* A bundle running `sleep 1000` whose processes carry the context's
 * directory in their environment (mdrun's carry it in their arguments). */
static const char *sleeper_bundle(struct hx_ctx *c)
{
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *mark = fx_fmt("MDRUN_TEST_MARK=%s", c->dir);
    hx_spec_set_args(s, "sleep", "1000", NULL);
    hx_spec_set_env(s, "PATH=/bin", mark, NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    free(mark);
    return b;
}

/* Nothing of ours is left: what carries the context's directory or the
 * ids' prefix, and the test's fds are what they were.  The global counts
 * move with the other test programs running alongside: reported only. */
static void expect_nothing_left(struct hx_ctx *c, const char *prefix, const struct counts *before,
                                const char *what)
{
    pid_t pid = 0;
    size_t n = rs_wait_procs(c->dir, 0, 10, &pid);
    cr_expect_eq(n, 0, "%s: %zu process(es) left, pid %d", what, n, (int)pid);
    char *first = NULL;
    n = rs_dir_entries(c->root, &first);
    cr_expect_eq(n, 0, "%s: %zu entries left in the state root, first %s", what, n, first);
    free(first);
    n = rs_cgroup_dirs(prefix, &first);
    cr_expect_eq(n, 0, "%s: %zu cgroup(s) left, first %s", what, n, first);
    free(first);
    n = rs_mounts_with(c->dir, &first);
    cr_expect_eq(n, 0, "%s: %zu mount(s) left, first %s", what, n, first);
    free(first);
    struct counts after;
    count(&after);
    cr_expect_eq(after.fds, before->fds, "%s: the test's fds: %zu before, %zu after", what,
                 before->fds, after.fds);
    note("%s: mountinfo lines %zu -> %zu, cgroup directories %zu -> %zu (all of the "
         "host's; other tests run alongside)",
         what, before->mounts, after.mounts, before->cgroups, after.cgroups);
}

static void mdrun_ok(struct hx_ctx *c, const char *what, const char *id, struct fx_result r)
{
    cr_assert_eq(r.status, 0, "%s %s: exit %d: %s", what, id, r.status, r.err);
    fx_result_free(&r);
}

/* The fds of the container's process (its pid from `mdrun state`): their
 * count; how many lack close-on-exec, and the first of those (caller
 * frees). */
static long fds_of_container(struct hx_ctx *c, const char *id, size_t *inheritable, char **first)
{
    int pid = 0;
    char *st = ct_status(c, id, &pid, NULL);
    free(st);
    cr_assert_gt(pid, 0, "state %s: no pid", id);
    long n = rs_fds_of(pid, inheritable, first);
    cr_assert_geq(n, 0, "cannot read the fds of %s's process %d", id, pid);
    return n;
}

/* The created init is still mdrun: every fd of it above 2 must be
 * close-on-exec, so that the container's program gets none. */
static void expect_no_inherited_fds(struct hx_ctx *c, const char *id)
{
    size_t inheritable = 0;
    char *first = NULL;
    fds_of_container(c, id, &inheritable, &first);
    cr_expect_eq(inheritable, 0, "%s: the created init has %zu fd(s) without close-on-exec: %s", id,
                 inheritable, first);
    free(first);
}

/* After start: the program has its three stdio fds and nothing else. */
static void expect_stdio_only(struct hx_ctx *c, const char *id)
{
    size_t inheritable = 0;
    char *first = NULL;
    long n = fds_of_container(c, id, &inheritable, &first);
    cr_expect_eq(n, 3, "%s: the program has %ld fds, want 0-2 (%s)", id, n,
                 first ? first : "all close-on-exec");
    free(first);
}

CT_BOTH(stress, sequential_cycles)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = sleeper_bundle(c);
    unsigned cycles = cycles_for(who);
    if (SANITIZED)
        note("stress (%s): sanitizer build: %u cycles instead of %u", who_name(who), cycles,
             FULL_CYCLES);
    char *prefix = hx_id("stress");
    struct counts before;
    count(&before);
    double start = now_s();
    unsigned done = 0;
    for (unsigned i = 0; i < cycles; i++, done++) {
        if (i >= MIN_CYCLES && now_s() - start > BUDGET_S) {
            note("stress (%s): time budget of %d s spent: %u of %u cycles done", who_name(who),
                 BUDGET_S, i, cycles);
            break;
        }
        char *id = fx_fmt("%s-%u", prefix, i);
        mdrun_ok(c, "create", id, hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL));
        bool look = i % 100 == 0;
        if (look)
            expect_no_inherited_fds(c, id);
        mdrun_ok(c, "start", id, hx_mdrun(c, NULL, "start", id, NULL));
        if (look)
            expect_stdio_only(c, id);
        mdrun_ok(c, "delete --force", id, hx_mdrun(c, NULL, "delete", "--force", id, NULL));
        free(id);
    }
    double took = now_s() - start;
    note("stress (%s): %u create/start/delete cycles in %.1f s (%.0f ms each)", who_name(who), done,
         took, took * 1000 / done);
    char *what = fx_fmt("after %u cycles (%s)", done, who_name(who));
    expect_nothing_left(c, prefix, &before, what);
    free(what);
    free(prefix);
}

/* Run `mdrun --root ROOT COMMAND... PREFIX-i` for i in 0..CONCURRENT-1 all
 * at once; each failure is one line of the output. */
static char *all_at_once(struct hx_ctx *c, const char *prefix, const char *command)
{
    static const char script[] =
        "m=$1 root=$2 prefix=$3 n=$4 log=$5; shift 5\n"
        "i=0\n"
        "while [ $i -lt $n ]; do\n"
        "    ( \"$m\" --root \"$root\" \"$@\" \"$prefix-$i\" >/dev/null 2>\"$log-$i\" ||\n"
        "      echo \"$prefix-$i: exit $?: $(cat \"$log-$i\")\" ) &\n"
        "    i=$((i + 1))\n"
        "done\n"
        "wait\n"
        "rm -f \"$log\"-*\n";
    char *n = fx_fmt("%d", CONCURRENT);
    char *log = fx_fmt("%s/err", c->home);
    char *cmd = strdup(command);
    const char *argv[16] = {"sh", "-c", script, "sh", hx_mdrun_bin(), c->root, prefix, n, log};
    size_t k = 9;
    for (char *save = NULL, *w = strtok_r(cmd, " ", &save); w && k < 15;
         w = strtok_r(NULL, " ", &save))
        argv[k++] = w;
    argv[k] = NULL;
    struct fx_result r = hx_run(c, &(struct hx_cmd){.timeout = 300}, argv);
    cr_assert_eq(r.status, 0, "%s all at once: exit %d: %s", command, r.status, r.err);
    free(r.err);
    free(n);
    free(log);
    free(cmd);
    return r.out;
}

CT_BOTH(stress, concurrent_creates)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = sleeper_bundle(c);
    char *prefix = hx_id("conc");
    struct counts before;
    count(&before);
    double start = now_s();
    char *create = fx_fmt("create --bundle %s", b);
    char *failed = all_at_once(c, prefix, create);
    cr_expect(!*failed, "concurrent creates failed:\n%s", failed);
    free(failed);
    free(create);

    struct fx_result r = hx_mdrun(c, NULL, "list", NULL);
    cr_assert_eq(r.status, 0, "list: exit %d: %s", r.status, r.err);
    size_t created = 0;
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, prefix, strlen(prefix)) == 0 && strstr(line, " created "))
            created++;
    fx_result_free(&r);
    cr_expect_eq(created, CONCURRENT, "list shows %zu of the %d containers created", created,
                 CONCURRENT);
    char *id0 = fx_fmt("%s-0", prefix);
    expect_no_inherited_fds(c, id0);
    free(id0);

    failed = all_at_once(c, prefix, "delete --force");
    cr_expect(!*failed, "concurrent deletes failed:\n%s", failed);
    free(failed);
    note("stress (%s): %d containers created and deleted at once in %.1f s", who_name(who),
         CONCURRENT, now_s() - start);
    char *what = fx_fmt("after %d concurrent containers (%s)", CONCURRENT, who_name(who));
    expect_nothing_left(c, prefix, &before, what);
    free(what);
    free(prefix);
}
