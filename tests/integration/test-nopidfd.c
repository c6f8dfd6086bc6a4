/* test-nopidfd.c - `mdrun run` where pidfd_open(2) is missing (kernels
 * before 5.3, valgrind 3.19), forced by the test-only switch
 * _MDRUN_NO_PIDFD=1 (libmd/clone.h): run waits for the container as its
 * parent, forwards signals by pid and exits with the container's code, as
 * with a pidfd, and leaves nothing behind.  As root and as the user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

static const char *const no_pidfd_env[] = {"_MDRUN_NO_PIDFD=1", NULL};

/* What --debug says when run waits without a pidfd (run.c): proof that
 * the fallback, not the pidfd, was what the test went through. */
#define FALLBACK_NOTE "without a pidfd"

/* `mdrun [--debug] run [option] --bundle bundle id` under the switch. */
static struct fx_result run_nopidfd(struct hx_ctx *c, bool debug, const char *option,
                                    const char *bundle, const char *id)
{
    const char *argv[10];
    size_t n = 0;
    argv[n++] = hx_mdrun_bin();
    argv[n++] = "--root";
    argv[n++] = c->root;
    if (debug)
        argv[n++] = "--debug";
    argv[n++] = "run";
    if (option)
        argv[n++] = option;
    argv[n++] = "--bundle";
    argv[n++] = bundle;
    argv[n++] = id;
    argv[n] = NULL;
    return hx_run(c, &(struct hx_cmd){.env = no_pidfd_env}, argv);
}

/* A bundle whose program is `sh -c script`; /shared is a host directory
 * (its path in *shared, caller frees) when shared is not NULL.  Without a
 * pid namespace when no_pidns, so that the program may kill itself (the
 * user then bind-mounts the host's /proc). */
static const char *script_bundle(struct hx_ctx *c, const char *script, bool no_pidns, char **shared)
{
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    if (shared)
        *shared = ct_shared_dir(c, s, "shared");
    for (size_t i = 0; no_pidns && i < s->n_mounts; i++) {
        md_mount *m = &s->mounts[i];
        if (c->who != HX_USER || strcmp(m->destination, "/proc") != 0)
            continue;
        free(m->type);
        free(m->source);
        m->type = strdup("bind");
        m->source = strdup("/proc");
        cr_assert(m->type && m->source);
        cr_assert(md_strv_push(&m->options, &m->n_options, "rbind") == 0);
    }
    if (no_pidns)
        ct_del_ns(s, "pid");
    hx_spec_set_args(s, "sh", "-c", script, NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    return b;
}

/* Run the bundle under the switch with --debug: its exit status must be
 * want, and the fallback must have been taken. */
static void expect_exit(struct hx_ctx *c, const char *bundle, int want, const char *out)
{
    char *id = hx_id("nopidfd");
    struct fx_result r = run_nopidfd(c, true, NULL, bundle, id);
    cr_expect_eq(r.status, want, "run: exit %d, want %d; stderr: %s", r.status, want, r.err);
    cr_expect(strstr(r.err, FALLBACK_NOTE), "run did not wait without a pidfd: %s", r.err);
    if (out)
        cr_expect_str_eq(r.out, out);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id), "run left the state of %s", id);
    free(id);
}

TestSuite(nopidfd);

/* The init forked into a pid namespace (pidfd_open after the fork). */
CT_BOTH(nopidfd, exit_code_passes_through)
{
    struct hx_ctx *c = hx_ctx_new(who);
    expect_exit(c, script_bundle(c, "echo out; exit 7", false, NULL), 7, "out\n");
    expect_exit(c, script_bundle(c, "true", false, NULL), 0, "");
    hx_assert_clean(c);
}

/* No pid namespace: the init is the first child (CLONE_PIDFD dropped),
 * and it can die of a signal: 128 + N. */
CT_BOTH(nopidfd, killed_by_signal_gives_128_plus)
{
    struct hx_ctx *c = hx_ctx_new(who);
    expect_exit(c, script_bundle(c, "exit 5", true, NULL), 5, NULL);
    expect_exit(c, script_bundle(c, "kill -9 $$; sleep 5", true, NULL), 128 + SIGKILL, NULL);
    expect_exit(c, script_bundle(c, "kill -SEGV $$; sleep 5", true, NULL), 128 + SIGSEGV, NULL);
    hx_assert_clean(c);
}

/* SIGTERM to mdrun run reaches the container, whose trap exits 3; the
 * init (from --pid-file) is gone once run has returned. */
CT_BOTH(nopidfd, forwards_signals)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *shared;
    const char *b = script_bundle(c,
                                  "trap 'exit 3' TERM; echo ready > /shared/ready; "
                                  "while :; do sleep 0.05; done",
                                  false, &shared);
    char *id = hx_id("nopidfd-fwd");
    char *pid_file = fx_fmt("%s/pid", shared);
    char *script = fx_fmt("%s --root %s --debug run --pid-file %s --bundle %s %s & m=$!; "
                          "i=0; while [ ! -s %s/ready ] && [ $i -lt 500 ]; do sleep 0.02; "
                          "i=$((i+1)); done; kill -TERM $m; wait $m; echo \"exit=$?\"",
                          hx_mdrun_bin(), c->root, pid_file, b, id, shared);
    const char *argv[] = {"sh", "-c", script, NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.env = no_pidfd_env}, argv);
    cr_expect(strstr(r.out, "exit=3\n"), "mdrun run after SIGTERM: %s (stderr %s)", r.out, r.err);
    cr_expect(strstr(r.err, FALLBACK_NOTE), "run did not wait without a pidfd: %s", r.err);
    fx_result_free(&r);
    char *pid_text = ct_read(pid_file);
    int pid = pid_text ? atoi(pid_text) : 0;
    cr_expect(pid > 0, "no --pid-file from run");
    if (pid > 0)
        cr_expect(!hx_pid_alive(pid), "the container's init %d outlived run", pid);
    cr_expect(!hx_state_exists(c, id), "run left the state of %s", id);
    hx_assert_clean(c);
    free(pid_text);
    free(script);
    free(pid_file);
    free(id);
    free(shared);
}

/* --detach needs no waiting: the container runs on, and is deleted as
 * any other. */
CT_BOTH(nopidfd, detach)
{
    struct hx_ctx *c = hx_ctx_new(who);
    char *shared;
    const char *b = script_bundle(c, "echo up > /shared/up; exec sleep 1000", false, &shared);
    char *up = fx_fmt("%s/up", shared);
    char *id = hx_id("nopidfd-detach");
    struct fx_result r = run_nopidfd(c, false, "--detach", b, id);
    ct_expect_ok(&r, "run --detach");
    fx_result_free(&r);
    ct_track(c, id);
    char *text = ct_wait_file(up, 10);
    cr_expect(text && strcmp(text, "up\n") == 0, "the detached program wrote %s", text);
    int pid = 0;
    char *status = ct_status(c, id, &pid, NULL);
    cr_expect(status && strcmp(status, "running") == 0, "status %s after run -d", status);
    ct_delete(c, id);
    cr_expect(pid <= 0 || ct_wait_dead(pid, 10), "the init %d outlived delete", pid);
    hx_assert_clean(c);
    free(status);
    free(text);
    free(id);
    free(up);
    free(shared);
}

/* The terminal relay needs the pidfd: refused, one line, nothing left. */
CT_BOTH(nopidfd, terminal_refused)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = script_bundle(c, "true", false, NULL);
    md_spec *s = hx_spec_load(b);
    s->process->terminal = true;
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("nopidfd-tty");
    struct fx_result r = run_nopidfd(c, false, NULL, b, id);
    ct_expect_error(&r, "run with a terminal", "pidfd_open");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id), "the refused run left the state of %s", id);
    hx_assert_clean(c);
    free(id);
}
