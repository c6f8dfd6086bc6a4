/* test-lifecycle.c - a container's life as a user drives it: create,
 * state, start, kill, delete, list, run in the foreground and detached,
 * and what is left after a failure, as root and as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

static void expect_gone(struct hx_ctx *c, const char *id, int pid)
{
    char *why = NULL;
    char *status = ct_status(c, id, NULL, &why);
    cr_expect(!status, "state %s after delete: %s", id, status);
    cr_expect(why && strstr(why, "does not exist"), "state %s after delete: %s", id, why);
    free(status);
    free(why);
    cr_expect(!hx_state_exists(c, id), "the state directory of %s is still there", id);
    if (pid > 0)
        cr_expect(ct_wait_dead(pid, 5), "pid %d of %s still alive", pid, id);
    hx_assert_clean(c);
}

static char *file_in(const char *dir, const char *name)
{
    return fx_fmt("%s/%s", dir, name);
}

/* r must be a refusal naming needle (ct_expect_error); freed. */
static void refused(const char *what, const char *needle, struct fx_result r)
{
    ct_expect_error(&r, what, needle);
    fx_result_free(&r);
}

/* A test's container: its program is `sh -c script`, with a host
 * directory at /shared through which the test sees what it did. */
struct life {
    struct hx_ctx *c;
    const char *bundle;
    char *shared; /* on the host */
    char *id;
    int pid; /* its init */
};

/* Create it under a fresh id from prefix: it must be created. */
static struct life life_create(enum hx_who who, const char *prefix, const char *script)
{
    struct life l = {.c = hx_ctx_new(who)};
    l.bundle = ct_script_bundle(l.c, script, &l.shared);
    l.id = hx_id(prefix);
    ct_create(l.c, l.bundle, l.id);
    l.pid = ct_expect_status(l.c, l.id, "created");
    return l;
}

/* `mdrun start`, which must succeed. */
static void life_start(const struct life *l)
{
    ct_ok("start", hx_mdrun(l->c, NULL, "start", l->id, NULL));
}

/* Once deleted: nothing of it is left (expect_gone); frees l. */
static void life_gone(struct life *l)
{
    expect_gone(l->c, l->id, l->pid);
    free(l->shared);
    free(l->id);
}

/* ----------------------------------------------------------- lifecycle */

TestSuite(lifecycle);

CT_BOTH(lifecycle, create_start_kill_delete)
{
    struct life l = life_create(who, "life", "echo started > /shared/out; exec sleep 1000");
    char *out = file_in(l.shared, "out");
    cr_assert_gt(l.pid, 0, "created container without a pid");
    cr_expect(hx_pid_alive(l.pid), "created container's pid %d is not alive", l.pid);
    usleep(200 * 1000);
    cr_expect(access(out, F_OK) != 0, "the program ran before start");

    life_start(&l);
    char *text = ct_wait_file(out, 10);
    cr_expect(text && strcmp(text, "started\n") == 0, "program output after start: %s", text);
    free(text);
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid, "the pid changed at start");

    ct_ok("kill KILL", hx_mdrun(l.c, NULL, "kill", l.id, "KILL", NULL));
    cr_expect(ct_wait_dead(l.pid, 10), "pid %d alive after kill", l.pid);
    ct_expect_status(l.c, l.id, "stopped");

    ct_ok("delete", hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    life_gone(&l);
    free(out);
}

CT_BOTH(lifecycle, start_only_once)
{
    struct life l = life_create(who, "twice", "exec sleep 1000");
    life_start(&l);
    struct fx_result r = hx_mdrun(l.c, NULL, "start", l.id, NULL);
    ct_expect_error(&r, "start of a running container", "running");
    cr_expect(strstr(r.err, l.id), "the error does not name the container: %s", r.err);
    fx_result_free(&r);
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid);

    ct_ok("kill", hx_mdrun(l.c, NULL, "kill", l.id, "9", NULL));
    cr_expect(ct_wait_dead(l.pid, 10));
    refused("start of a stopped container", "stopped", hx_mdrun(l.c, NULL, "start", l.id, NULL));

    ct_ok("delete", hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    refused("start of a deleted container", "does not exist",
            hx_mdrun(l.c, NULL, "start", l.id, NULL));
    life_gone(&l);
}

/* A program that ends by itself leaves a stopped container to delete. */
CT_BOTH(lifecycle, program_exits_by_itself)
{
    struct life l = life_create(who, "exits", "echo done > /shared/out; exit 3");
    char *out = file_in(l.shared, "out");
    life_start(&l);
    free(ct_wait_file(out, 10));
    cr_expect(ct_wait_dead(l.pid, 10), "the program did not end");
    ct_expect_status(l.c, l.id, "stopped");
    refused("kill of a stopped container", "stopped",
            hx_mdrun(l.c, NULL, "kill", l.id, "KILL", NULL));
    ct_ok("delete", hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    life_gone(&l);
    free(out);
}

CT_BOTH(lifecycle, delete_running_needs_force)
{
    struct life l = life_create(who, "busy", "exec sleep 1000");
    life_start(&l);
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid);

    struct fx_result r = hx_mdrun(l.c, NULL, "delete", l.id, NULL);
    ct_expect_error(&r, "delete of a running container", "running");
    cr_expect(strstr(r.err, "--force"), "the error does not suggest --force: %s", r.err);
    fx_result_free(&r);
    cr_expect(hx_pid_alive(l.pid), "delete without --force killed the container");
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid);

    ct_ok("delete --force", hx_mdrun(l.c, NULL, "delete", "--force", l.id, NULL));
    life_gone(&l);
}

CT_BOTH(lifecycle, delete_created)
{
    struct life l = life_create(who, "fresh", "echo ran > /shared/out");
    char *out = file_in(l.shared, "out");
    ct_ok("delete", hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    refused("delete of a deleted container", "does not exist",
            hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    life_gone(&l);
    cr_expect(access(out, F_OK) != 0, "deleting a created container ran its program");
    free(out);
}

/* The program records each signal it gets in /shared/sig; TERM ends it. */
static const char trap_script[] = "trap 'echo USR1 >> /shared/sig' USR1; "
                                  "trap 'echo USR2 >> /shared/sig' USR2; "
                                  "trap 'echo TERM >> /shared/sig; exit 3' TERM; "
                                  "echo ready > /shared/ready; "
                                  "while :; do sleep 0.05; done";

/* Send sig and wait for the program to have written want into sig. */
static void expect_signal_seen(struct hx_ctx *c, const char *id, const char *sig, const char *file,
                               const char *want)
{
    ct_ok(sig, hx_mdrun(c, NULL, "kill", id, sig, NULL));
    char *text = NULL;
    for (int i = 0; i < 250; i++) {
        free(text);
        text = ct_wait_file(file, 1);
        if (text && strcmp(text, want) == 0)
            break;
        usleep(20 * 1000);
    }
    cr_expect(text && strcmp(text, want) == 0, "after kill %s the program saw:\n%s\nwant:\n%s", sig,
              text, want);
    free(text);
}

CT_BOTH(lifecycle, kill_signal_names)
{
    struct life l = life_create(who, "sigs", trap_script);
    char *ready = file_in(l.shared, "ready"), *sig = file_in(l.shared, "sig");
    life_start(&l);
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid);
    free(ct_wait_file(ready, 10));

    expect_signal_seen(l.c, l.id, "USR1", sig, "USR1\n");
    expect_signal_seen(l.c, l.id, "SIGUSR2", sig, "USR1\nUSR2\n");
    char *usr1 = fx_fmt("%d", SIGUSR1);
    expect_signal_seen(l.c, l.id, usr1, sig, "USR1\nUSR2\nUSR1\n");
    free(usr1);

    static const char *const bad[] = {"SIGFOO", "FOO", "0", "-1", "999", "9x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fx_result r = hx_mdrun(l.c, NULL, "kill", l.id, bad[i], NULL);
        cr_expect_eq(r.status, 1, "kill %s: exit %d", bad[i], r.status);
        cr_expect(strstr(r.err, bad[i]), "kill %s: error does not name it: %s", bad[i], r.err);
        fx_result_free(&r);
    }
    cr_expect(hx_pid_alive(l.pid), "a refused kill hurt the container");

    /* No signal named: SIGTERM, which the program traps to exit. */
    ct_ok("kill (TERM)", hx_mdrun(l.c, NULL, "kill", l.id, NULL));
    cr_expect(ct_wait_dead(l.pid, 10), "the default signal did not end the program");
    char *text = ct_wait_file(sig, 1);
    cr_expect(text && strstr(text, "TERM\n"), "the program saw: %s", text);
    free(text);
    ct_expect_status(l.c, l.id, "stopped");
    ct_delete(l.c, l.id);
    life_gone(&l);
    free(ready);
    free(sig);
}

/* A created container can be killed: it stops without running. */
CT_BOTH(lifecycle, kill_created)
{
    struct life l = life_create(who, "killc", "echo ran > /shared/out");
    char *out = file_in(l.shared, "out");
    ct_ok("kill", hx_mdrun(l.c, NULL, "kill", l.id, "SIGKILL", NULL));
    cr_expect(ct_wait_dead(l.pid, 10), "created container alive after SIGKILL");
    ct_expect_status(l.c, l.id, "stopped");
    cr_expect(access(out, F_OK) != 0, "the killed container's program ran");
    ct_ok("delete", hx_mdrun(l.c, NULL, "delete", l.id, NULL));
    life_gone(&l);
    free(out);
}

/* The init (pid 1 of its namespace, which ignores an untrapped TERM)
 * waits for two children: only kill --all reaches them. */
CT_BOTH(lifecycle, kill_all)
{
    struct life l = life_create(who, "all",
                                "sleep 1000 & sleep 1000 & echo ready > /shared/ready; wait; "
                                "echo children-gone > /shared/done; exec sleep 1000");
    char *ready = file_in(l.shared, "ready"), *done = file_in(l.shared, "done");
    life_start(&l);
    cr_expect_eq(ct_expect_status(l.c, l.id, "running"), l.pid);
    free(ct_wait_file(ready, 10));

    ct_ok("kill TERM", hx_mdrun(l.c, NULL, "kill", l.id, "TERM", NULL));
    usleep(300 * 1000);
    cr_expect(access(done, F_OK) != 0, "kill without --all reached the children");
    ct_ok("kill --all TERM", hx_mdrun(l.c, NULL, "kill", "--all", l.id, "TERM", NULL));
    char *text = ct_wait_file(done, 10);
    cr_expect(text, "kill --all did not reach the children");
    free(text);
    cr_expect(hx_pid_alive(l.pid), "the init died of an untrapped TERM");

    ct_ok("kill --all KILL", hx_mdrun(l.c, NULL, "kill", "-a", l.id, "KILL", NULL));
    cr_expect(ct_wait_dead(l.pid, 10));
    ct_delete(l.c, l.id);
    life_gone(&l);
    free(ready);
    free(done);
}

/* The row of id in `mdrun list`, or NULL. */
static char *list_row(const char *table, const char *id)
{
    char *copy = strdup(table), *save = NULL, *row = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (strncmp(line, id, strlen(id)) == 0 && line[strlen(id)] == ' ')
            row = strdup(line);
    free(copy);
    return row;
}

static void expect_listed(const char *table, const char *id, const char *status, int pid)
{
    char *row = list_row(table, id);
    cr_expect(row, "%s is not listed:\n%s", id, table);
    if (!row)
        return;
    char *want_status = fx_fmt(" %s ", status), *want_pid = fx_fmt(" %d ", pid);
    cr_expect(strstr(row, want_status), "%s: not %s: %s", id, status, row);
    cr_expect(strstr(row, want_pid), "%s: pid %d not listed: %s", id, pid, row);
    free(want_status);
    free(want_pid);
    free(row);
}

CT_BOTH(lifecycle, list_shows_status)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_script_bundle(c, "exec sleep 1000", NULL);
    const char *b2 = ct_script_bundle(c, "exit 0", NULL);
    char *created = hx_id("l-created"), *running = hx_id("l-running"), *stopped = hx_id("l-stop");
    ct_create(c, b, created);
    ct_create(c, b, running);
    ct_create(c, b2, stopped);
    ct_ok("start", hx_mdrun(c, NULL, "start", running, NULL));
    int stopped_pid = ct_expect_status(c, stopped, "created");
    ct_ok("start", hx_mdrun(c, NULL, "start", stopped, NULL));
    cr_expect(ct_wait_dead(stopped_pid, 10));
    int created_pid = ct_expect_status(c, created, "created");
    int running_pid = ct_expect_status(c, running, "running");

    struct fx_result r = hx_mdrun(c, NULL, "list", NULL);
    ct_expect_ok(&r, "list");
    cr_expect(strncmp(r.out, "ID ", 3) == 0, "no header: %s", r.out);
    expect_listed(r.out, created, "created", created_pid);
    expect_listed(r.out, running, "running", running_pid);
    expect_listed(r.out, stopped, "stopped", 0);
    char *row = list_row(r.out, running);
    cr_expect(row && strstr(row, b), "the bundle is not listed: %s", row);
    free(row);
    fx_result_free(&r);

    r = hx_mdrun(c, NULL, "list", "-q", NULL);
    ct_expect_ok(&r, "list -q");
    for (const char *const *id = (const char *const[]){created, running, stopped, NULL}; *id;
         id++) {
        char *line = fx_fmt("%s\n", *id);
        cr_expect(strstr(r.out, line), "list -q lacks %s: %s", *id, r.out);
        free(line);
    }
    cr_expect_eq(fx_count_lines(r.out), 3, "list -q: %s", r.out);
    fx_result_free(&r);

    r = hx_mdrun(c, NULL, "list", "--format", "json", NULL);
    ct_expect_ok(&r, "list --format json");
    yajl_val doc = yajl_tree_parse(r.out, NULL, 0);
    cr_expect(doc && YAJL_IS_ARRAY(doc) && doc->u.array.len == 3, "list json: %s", r.out);
    yajl_tree_free(doc);
    fx_result_free(&r);

    for (const char *const *id = (const char *const[]){created, running, stopped, NULL}; *id; id++)
        ct_delete(c, *id);
    r = hx_mdrun(c, NULL, "list", "-q", NULL);
    cr_expect(r.status == 0 && r.out[0] == '\0', "list after delete: %s", r.out);
    fx_result_free(&r);
    expect_gone(c, running, running_pid);
    expect_gone(c, created, created_pid);
    free(created);
    free(running);
    free(stopped);
}

CT_BOTH(lifecycle, pid_file)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_script_bundle(c, "exec sleep 1000", NULL);
    char *id = hx_id("pidf"), *id2 = hx_id("pidf2");
    char *abs = fx_fmt("%s/init.pid", b);
    ct_ok("create --pid-file",
          hx_mdrun(c, NULL, "create", "--bundle", b, "--pid-file", abs, id, NULL));
    ct_track(c, id);
    /* Relative to mdrun's working directory. */
    ct_ok("create --pid-file (relative)",
          hx_mdrun(c, b, "create", "--pid-file", "rel.pid", id2, NULL));
    ct_track(c, id2);

    int pid = ct_expect_status(c, id, "created"), pid2 = ct_expect_status(c, id2, "created");
    char *rel = fx_fmt("%s/rel.pid", b);
    char *text = ct_read(abs), *text2 = ct_read(rel);
    int in_file = 0, in_file2 = 0;
    cr_expect(text && sscanf(text, "%d", &in_file) == 1, "no pid in %s: %s", abs, text);
    cr_expect(text2 && sscanf(text2, "%d", &in_file2) == 1, "no pid in %s: %s", rel, text2);
    cr_expect_eq(in_file, pid, "--pid-file holds %d, state says %d", in_file, pid);
    cr_expect_eq(in_file2, pid2, "--pid-file holds %d, state says %d", in_file2, pid2);
    cr_expect(hx_pid_alive(in_file));
    ct_delete(c, id);
    ct_delete(c, id2);
    expect_gone(c, id, pid);
    expect_gone(c, id2, pid2);
    free(text);
    free(text2);
    free(rel);
    free(abs);
    free(id);
    free(id2);
}

CT_BOTH(lifecycle, existing_id_refused)
{
    struct life l = life_create(who, "dup", "echo first > /shared/out; exec sleep 1000");
    char *shared2;
    const char *b2 = ct_script_bundle(l.c, "echo second > /shared/out; exec sleep 1000", &shared2);
    char *out = file_in(l.shared, "out"), *out2 = file_in(shared2, "out");
    refused("create with an existing id", "already exists",
            hx_mdrun(l.c, NULL, "create", "--bundle", b2, l.id, NULL));
    refused("run with an existing id", "already exists",
            hx_mdrun(l.c, NULL, "run", "--bundle", b2, l.id, NULL));

    /* The first container is intact: same pid, still startable. */
    cr_expect_eq(ct_expect_status(l.c, l.id, "created"), l.pid);
    cr_expect(hx_pid_alive(l.pid));
    life_start(&l);
    char *text = ct_wait_file(out, 10);
    cr_expect(text && strcmp(text, "first\n") == 0, "the first container printed %s", text);
    free(text);
    cr_expect(access(out2, F_OK) != 0, "the refused container ran");
    ct_delete(l.c, l.id);
    life_gone(&l);
    free(out);
    free(out2);
    free(shared2);
}

Test(lifecycle, invalid_ids_refused)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *b = ct_bundle(c, 0);
    char *long_id = calloc(1, 1100);
    memset(long_id, 'a', 1099);
    const char *const ids[] = {"",     ".",      "..",   "../escape", "a/b",
                               "/abs", "sp ace", "x\ny", long_id};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, ids[i], NULL);
        ct_expect_error(&r, "create with an invalid id", "invalid container id");
        fx_result_free(&r);
    }
    struct fx_result r = hx_mdrun(c, NULL, "list", "-q", NULL);
    cr_expect(r.status == 0 && r.out[0] == '\0', "list after refused ids: %s", r.out);
    fx_result_free(&r);
    char *escape = fx_fmt("%s/escape", c->dir);
    cr_expect(access(escape, F_OK) != 0, "../escape made a directory outside the state root");
    free(escape);
    hx_assert_clean(c);
    free(long_id);
}

/* ----------------------------------------------------------------- run */

TestSuite(run);

CT_BOTH(run, exit_code_passes_through)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    struct fx_result r = ct_run(c, b, "sh", "-c", "echo out; echo err >&2; exit 7", NULL);
    cr_expect_eq(r.status, 7, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "out\n");
    cr_expect_str_eq(r.err, "err\n");
    fx_result_free(&r);
    r = ct_run(c, b, "true", NULL);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

CT_BOTH(run, stdin_reaches_the_program)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    hx_spec_set_args(s, "sh", "-c", "read line; echo \"got $line\"", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("stdin");
    const char *argv[] = {hx_mdrun_bin(), "--root", c->root, "run", "--bundle", b, id, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.input = "hello\n"}, argv);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "got hello\n");
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
}

/* pid 1 of a pid namespace cannot kill itself: this needs the program
 * to run in mdrun's pid namespace (and the host's /proc, rootless). */
CT_BOTH(run, killed_by_signal_gives_128_plus)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    ct_del_ns(s, "pid");
    if (who == HX_USER) {
        for (size_t i = 0; i < s->n_mounts; i++)
            if (strcmp(s->mounts[i].destination, "/proc") == 0) {
                free(s->mounts[i].type);
                free(s->mounts[i].source);
                s->mounts[i].type = strdup("bind");
                s->mounts[i].source = strdup("/proc");
                md_strv_push(&s->mounts[i].options, &s->mounts[i].n_options, "rbind");
            }
    }
    hx_spec_save(b, s);
    md_spec_free(s);
    struct fx_result r = ct_run(c, b, "sh", "-c", "kill -9 $$; sleep 5", NULL);
    cr_expect_eq(r.status, 128 + SIGKILL, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    r = ct_run(c, b, "sh", "-c", "kill -SEGV $$; sleep 5", NULL);
    cr_expect_eq(r.status, 128 + SIGSEGV, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

/* The script run as c->who: start `mdrun run` in the background, wait for
 * the container to be ready, act, then print mdrun's exit status. */
static struct fx_result run_in_background(struct hx_ctx *c, const char *bundle, const char *id,
                                          const char *ready, const char *act)
{
    char *script = fx_fmt("%s --root %s run --bundle %s %s & m=$!; "
                          "i=0; while [ ! -s %s ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); "
                          "done; %s; wait $m; echo \"exit=$?\"",
                          hx_mdrun_bin(), c->root, bundle, id, ready, act);
    const char *argv[] = {"sh", "-c", script, NULL};
    struct fx_result r = hx_run(c, NULL, argv);
    free(script);
    return r;
}

CT_BOTH(run, forwards_signals)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *shared;
    const char *b = ct_script_bundle(c,
                                     "trap 'exit 42' TERM; echo ready > /shared/ready; "
                                     "while :; do sleep 0.05; done",
                                     &shared);
    char *ready = file_in(shared, "ready");
    char *id = hx_id("fwd");
    struct fx_result r = run_in_background(c, b, id, ready, "kill -TERM $m");
    cr_expect(strstr(r.out, "exit=42\n"), "mdrun run after SIGTERM: %s (stderr %s)", r.out, r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(ready);
    free(shared);
    free(id);
}

/* Killed from outside while run waits: 128 + 9, and nothing is left. */
CT_BOTH(run, killed_from_outside)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *shared;
    const char *b = ct_script_bundle(c, "echo ready > /shared/ready; exec sleep 1000", &shared);
    char *ready = file_in(shared, "ready");
    char *id = hx_id("outside");
    char *act = fx_fmt("%s --root %s kill %s KILL", hx_mdrun_bin(), c->root, id);
    struct fx_result r = run_in_background(c, b, id, ready, act);
    cr_expect(strstr(r.out, "exit=137\n"), "mdrun run after kill: %s (stderr %s)", r.out, r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(act);
    free(ready);
    free(shared);
    free(id);
}

CT_BOTH(run, detach)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *shared;
    const char *b = ct_script_bundle(c, "echo up > /shared/up; exec sleep 1000", &shared);
    char *up = file_in(shared, "up");
    char *id = hx_id("detach");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", b, id, NULL);
    ct_expect_ok(&r, "run --detach");
    fx_result_free(&r);
    ct_track(c, id);
    char *text = ct_wait_file(up, 10);
    cr_expect(text && strcmp(text, "up\n") == 0, "the detached program wrote %s", text);
    free(text);
    int pid = ct_expect_status(c, id, "running");
    cr_expect(hx_pid_alive(pid));
    ct_ok("kill", hx_mdrun(c, NULL, "kill", id, "KILL", NULL));
    cr_expect(ct_wait_dead(pid, 10));
    ct_expect_status(c, id, "stopped");
    ct_ok("delete", hx_mdrun(c, NULL, "delete", id, NULL));
    expect_gone(c, id, pid);
    free(up);
    free(shared);
    free(id);
}

/* ------------------------------------------------------------ failures */

TestSuite(failure);

/* A bundle with a createRuntime hook that saves the state (with the
 * container's pid) to host file *state, so that after a failed create the
 * test can check that the process is gone. */
static const char *recording_bundle(struct hx_ctx *c, char **state)
{
    const char *b = ct_bundle(c, 0);
    char *shared;
    md_spec *s = hx_spec_load(b);
    shared = ct_shared_dir(c, NULL, "rec");
    *state = fx_fmt("%s/state.json", shared);
    char *cmd = fx_fmt("cat > %s", *state);
    ct_add_hook(&ct_hooks(s)->create_runtime, &ct_hooks(s)->n_create_runtime, "/bin/sh", "sh", "-c",
                cmd, NULL);
    hx_spec_set_args(s, "sh", "-c", "exit 0", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    free(cmd);
    free(shared);
    return b;
}

static int pid_in(const char *state_file)
{
    char *text = ct_read(state_file);
    int pid = 0;
    yajl_val doc = text ? yajl_tree_parse(text, NULL, 0) : NULL;
    const char *path[] = {"pid", NULL};
    yajl_val v = doc ? yajl_tree_get(doc, path, yajl_t_number) : NULL;
    if (v)
        pid = (int)YAJL_GET_INTEGER(v);
    yajl_tree_free(doc);
    free(text);
    return pid;
}

static void expect_nothing_left(struct hx_ctx *c, const char *id, const char *state_file)
{
    int pid = pid_in(state_file);
    cr_expect_gt(pid, 0, "the createRuntime hook did not record a pid");
    cr_expect(ct_wait_dead(pid, 5), "the container process %d outlived its failed create", pid);
    cr_expect(!hx_state_exists(c, id), "a failed create left its state directory");
    hx_assert_clean(c);
}

/* What goes wrong in the container process. */
CT_BOTH(failure, bad_mount_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *state;
    const char *b = recording_bundle(c, &state);
    md_spec *s = hx_spec_load(b);
    char *missing = fx_fmt("%s/no-such-dir", c->dir);
    ct_add_mount(s, "/mnt/x", "bind", missing, "rbind", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("badmount");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL);
    ct_expect_error(&r, "create with a missing mount source", "no-such-dir");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    expect_nothing_left(c, id, state);
    r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    ct_expect_error(&r, "run with a missing mount source", "no-such-dir");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    expect_nothing_left(c, id, state);
    free(missing);
    free(state);
    free(id);
}

CT_BOTH(failure, missing_program_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *state;
    const char *b = recording_bundle(c, &state);
    md_spec *s = hx_spec_load(b);
    hx_spec_set_args(s, "no-such-program", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("noprog");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL);
    ct_expect_error(&r, "create of a missing program", "executable file not found");
    ct_undo_create(c, &r, id);
    cr_expect(strstr(r.err, "no-such-program"), "%s", r.err);
    fx_result_free(&r);
    expect_nothing_left(c, id, state);
    free(state);
    free(id);
}

/* What goes wrong in mdrun itself, after the container process exists. */
CT_BOTH(failure, bad_pid_file_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *state;
    const char *b = recording_bundle(c, &state);
    char *id = hx_id("badpidf");
    char *pidfile = fx_fmt("%s/no-such-dir/pid", c->dir);
    struct fx_result r =
        hx_mdrun(c, NULL, "create", "--bundle", b, "--pid-file", pidfile, id, NULL);
    ct_expect_error(&r, "create with an impossible --pid-file", "pid-file");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    expect_nothing_left(c, id, state);
    free(pidfile);
    free(state);
    free(id);
}

CT_BOTH(failure, invalid_config_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    free(s->process->cwd);
    s->process->cwd = strdup("relative/dir");
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("invalid");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL);
    ct_expect_error(&r, "create with a relative cwd", "process.cwd");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(id);
}

CT_BOTH(failure, json_log)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    hx_spec_set_args(s, "no-such-program", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("log");
    char *log = fx_fmt("%s/mdrun.log", c->home);
    struct fx_result r =
        hx_mdrun(c, NULL, "--log", log, "--log-format", "json", "create", "--bundle", b, id, NULL);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *text = ct_wait_file(log, 1);
    cr_assert(text, "no log line in %s", log);
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char errbuf[128];
        yajl_val doc = yajl_tree_parse(line, errbuf, sizeof(errbuf));
        cr_expect(doc && YAJL_IS_OBJECT(doc), "not a JSON object: %s", line);
        const char *mp[] = {"msg", NULL}, *lp[] = {"level", NULL}, *tp[] = {"time", NULL};
        yajl_val msg = doc ? yajl_tree_get(doc, mp, yajl_t_string) : NULL;
        yajl_val level = doc ? yajl_tree_get(doc, lp, yajl_t_string) : NULL;
        yajl_val time = doc ? yajl_tree_get(doc, tp, yajl_t_string) : NULL;
        cr_expect(msg && level && time, "log line without msg, level or time: %s", line);
        const char *m = msg ? YAJL_GET_STRING(msg) : NULL;
        const char *lv = level ? YAJL_GET_STRING(level) : NULL;
        if (m && lv && strcmp(lv, "error") == 0 && strstr(m, "executable file not found"))
            found = true;
        yajl_tree_free(doc);
    }
    cr_expect(found, "no error line about the missing program in the log");
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(text);
    free(log);
    free(id);
}
