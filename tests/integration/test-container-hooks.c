/* test-container-hooks.c - the six kinds of hooks as a user sees them run:
 * their order, the state on their stdin, the namespaces they run in, and
 * what their failure or timeout does; as root and as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* Each hook runs `hook DIR KIND`: it saves its stdin to DIR/KIND.json, its
 * mount and uts namespaces and hostname to DIR/KIND.info and appends KIND
 * to DIR/order.  The copy on the host runs under dash, the one in the
 * rootfs under busybox sh. */
static const char hook_script[] =
    "#!/bin/sh\n"
    "cat > \"$1/$2.json\"\n"
    "echo \"$(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts) "
    "$(cat /proc/sys/kernel/hostname)\" > \"$1/$2.info\"\n"
    "echo \"$2\" >> \"$1/order\"\n"
    "exit ${HOOK_EXIT:-0}\n";

struct hooked {
    const char *bundle;
    char *dir;  /* on the host, at /shared in the container */
    char *hook; /* the script on the host */
};

static void put_script(const char *path, const char *text, uid_t uid, gid_t gid)
{
    fx_write(path, text);
    cr_assert(chmod(path, 0755) == 0 && lchown(path, uid, gid) == 0);
}

/* A bundle whose program writes /shared/program, with hostname "hooked". */
static struct hooked hooked_bundle(struct hx_ctx *c)
{
    struct hooked h = {.bundle = ct_bundle(c, 0)};
    md_spec *s = hx_spec_load(h.bundle);
    h.dir = ct_shared_dir(c, s, "shared");
    h.hook = fx_fmt("%s/hook", h.dir);
    put_script(h.hook, hook_script, c->uid, c->gid);
    char *in_rootfs = fx_fmt("%s/rootfs/hook-in-rootfs", h.bundle);
    struct stat st;
    cr_assert(stat(h.bundle, &st) == 0);
    put_script(in_rootfs, hook_script, st.st_uid, st.st_gid);
    free(in_rootfs);
    free(s->hostname);
    s->hostname = strdup("hooked");
    hx_spec_set_args(s, "sh", "-c", "echo ran > /shared/program; exec sleep 1000", NULL);
    hx_spec_save(h.bundle, s);
    md_spec_free(s);
    return h;
}

static void free_hooked(struct hooked *h)
{
    free(h->dir);
    free(h->hook);
}

/* Add hook kind to the list, running the host script, or the rootfs one
 * (startContainer resolves its path in the container). */
static md_hook *add(md_hook **v, size_t *n, const struct hooked *h, const char *kind)
{
    if (strcmp(kind, "startContainer") == 0)
        return ct_add_hook(v, n, "/hook-in-rootfs", "hook", "/shared", kind, NULL);
    return ct_add_hook(v, n, h->hook, "hook", h->dir, kind, NULL);
}

static void add_all(const struct hooked *h)
{
    md_spec *s = hx_spec_load(h->bundle);
    md_hooks *k = ct_hooks(s);
    add(&k->prestart, &k->n_prestart, h, "prestart");
    add(&k->create_runtime, &k->n_create_runtime, h, "createRuntime");
    add(&k->create_container, &k->n_create_container, h, "createContainer");
    add(&k->start_container, &k->n_start_container, h, "startContainer");
    add(&k->poststart, &k->n_poststart, h, "poststart");
    add(&k->poststop, &k->n_poststop, h, "poststop");
    hx_spec_save(h->bundle, s);
    md_spec_free(s);
}

static char *hook_file(const struct hooked *h, const char *kind, const char *ext)
{
    char *path = fx_fmt("%s/%s.%s", h->dir, kind, ext);
    char *text = ct_read(path);
    cr_expect(text, "the %s hook did not run (no %s)", kind, path);
    free(path);
    return text;
}

static const char *jstr(yajl_val v)
{
    const char *s = YAJL_GET_STRING(v);
    return s ? s : "";
}

/* The state a hook got: status and pid must be as given (pid 0: any). */
static void expect_state(const struct hooked *h, const char *kind, const char *id,
                         const char *status, int pid)
{
    char *text = hook_file(h, kind, "json");
    if (!text)
        return;
    char errbuf[128];
    yajl_val doc = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    cr_assert(doc, "%s: stdin is not JSON (%s): %s", kind, errbuf, text);
    const char *sp[] = {"status", NULL}, *pp[] = {"pid", NULL}, *ip[] = {"id", NULL},
               *bp[] = {"bundle", NULL}, *vp[] = {"ociVersion", NULL};
    yajl_val st = yajl_tree_get(doc, sp, yajl_t_string);
    yajl_val p = yajl_tree_get(doc, pp, yajl_t_number);
    yajl_val i = yajl_tree_get(doc, ip, yajl_t_string);
    yajl_val bu = yajl_tree_get(doc, bp, yajl_t_string);
    cr_expect(yajl_tree_get(doc, vp, yajl_t_string), "%s: no ociVersion: %s", kind, text);
    cr_expect(st && strcmp(jstr(st), status) == 0, "%s: status is not %s: %s", kind, status, text);
    cr_expect(i && strcmp(jstr(i), id) == 0, "%s: id is not %s: %s", kind, id, text);
    cr_expect(bu && strcmp(jstr(bu), h->bundle) == 0, "%s: bundle is not %s: %s", kind, h->bundle,
              text);
    if (pid)
        cr_expect(p && YAJL_GET_INTEGER(p) == pid, "%s: pid is not %d: %s", kind, pid, text);
    yajl_tree_free(doc);
    free(text);
}

static char *ns_of(pid_t pid)
{
    char *mnt = fx_fmt("/proc/%d/ns/mnt", (int)pid), *uts = fx_fmt("/proc/%d/ns/uts", (int)pid);
    char a[64] = "", b[64] = "";
    cr_assert(readlink(mnt, a, sizeof(a) - 1) > 0 && readlink(uts, b, sizeof(b) - 1) > 0);
    free(mnt);
    free(uts);
    return fx_fmt("%s %s ", a, b);
}

/* A hook ran in the namespaces ns ("mnt:[..] uts:[..] "), hostname too
 * when not NULL. */
static void expect_ran_in(const struct hooked *h, const char *kind, const char *ns,
                          const char *where, const char *hostname)
{
    char *info = hook_file(h, kind, "info");
    if (!info)
        return;
    cr_expect(strncmp(info, ns, strlen(ns)) == 0, "%s did not run in %s: %s (want %s)", kind, where,
              info, ns);
    if (hostname) {
        char *want = fx_fmt(" %s\n", hostname);
        cr_expect(strstr(info, want), "%s saw hostname %s", kind, info);
        free(want);
    }
    free(info);
}

TestSuite(hooks);

CT_BOTH(hooks, all_six_in_order)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    add_all(&h);
    char *order_path = fx_fmt("%s/order", h.dir), *program = fx_fmt("%s/program", h.dir);
    char *id = hx_id("hooks");
    char *host_ns = ns_of(getpid());

    ct_create(c, h.bundle, id);
    int pid = 0;
    free(ct_status(c, id, &pid, NULL));
    char *order = ct_read(order_path);
    cr_expect(order && strcmp(order, "prestart\ncreateRuntime\ncreateContainer\n") == 0,
              "hooks run by create: %s", order);
    free(order);
    expect_state(&h, "prestart", id, "creating", pid);
    expect_state(&h, "createRuntime", id, "creating", pid);
    expect_state(&h, "createContainer", id, "creating", 0);
    char *container_ns = ns_of(pid);
    cr_assert_str_neq(container_ns, host_ns);
    expect_ran_in(&h, "prestart", host_ns, "the runtime's namespaces", NULL);
    expect_ran_in(&h, "createRuntime", host_ns, "the runtime's namespaces", NULL);
    expect_ran_in(&h, "createContainer", container_ns, "the container's namespaces", NULL);

    struct fx_result r = hx_mdrun(c, NULL, "start", id, NULL);
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    free(ct_wait_file(program, 10));
    expect_state(&h, "startContainer", id, "created", 0);
    expect_state(&h, "poststart", id, "running", pid);
    expect_ran_in(&h, "startContainer", container_ns, "the container's namespaces", "hooked");
    expect_ran_in(&h, "poststart", host_ns, "the runtime's namespaces", NULL);

    r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    ct_expect_ok(&r, "delete --force");
    cr_expect_str_empty(r.err);
    fx_result_free(&r);
    expect_state(&h, "poststop", id, "stopped", 0);
    expect_ran_in(&h, "poststop", host_ns, "the runtime's namespaces", NULL);
    order = ct_read(order_path);
    cr_expect(order && strcmp(order, "prestart\ncreateRuntime\ncreateContainer\nstartContainer\n"
                                     "poststart\npoststop\n") == 0,
              "hooks in order: %s", order);
    free(order);
    cr_expect(ct_wait_dead(pid, 5));
    hx_assert_clean(c);
    free(container_ns);
    free(host_ns);
    free(order_path);
    free(program);
    free(id);
    free_hooked(&h);
}

/* A failing hook of kind (its script exits 3, or sleeps past a timeout
 * of 1 s): create fails with the hook's error, runs poststop, and leaves
 * nothing; prestart recorded the pid to check. */
static void create_fails_by_hook(enum hx_who who, const char *kind, bool timeout)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    md_spec *s = hx_spec_load(h.bundle);
    md_hooks *k = ct_hooks(s);
    md_hook **lists[] = {&k->create_runtime, &k->create_container};
    size_t *counts[] = {&k->n_create_runtime, &k->n_create_container};
    size_t which = strcmp(kind, "createRuntime") == 0 ? 0 : 1;
    add(&k->prestart, &k->n_prestart, &h, "prestart");
    md_hook *bad = ct_add_hook(lists[which], counts[which], "/bin/sh", "sh", "-c",
                               timeout ? "exec sleep 30" : "exit 3", NULL);
    if (timeout) {
        bad->has_timeout = true;
        bad->timeout = 1;
    }
    add(lists[which], counts[which], &h, kind); /* never reached */
    add(&k->poststop, &k->n_poststop, &h, "poststop");
    hx_spec_save(h.bundle, s);
    md_spec_free(s);

    char *id = hx_id("badhook");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", h.bundle, id, NULL);
    char *what = fx_fmt("%s hook", kind);
    ct_expect_error(&r, "create with a failing hook", what);
    ct_undo_create(c, &r, id);
    cr_expect(strstr(r.err, timeout ? "timed out after 1 second" : "exited with status 3"),
              "the error does not say how the hook failed: %s", r.err);
    fx_result_free(&r);
    free(what);

    char *order_path = fx_fmt("%s/order", h.dir);
    char *order = ct_read(order_path);
    cr_expect(order && strcmp(order, "prestart\npoststop\n") == 0,
              "hooks run by a failed create: %s", order);
    free(order);
    char *text = hook_file(&h, "prestart", "json");
    yajl_val doc = text ? yajl_tree_parse(text, NULL, 0) : NULL;
    const char *pp[] = {"pid", NULL};
    yajl_val p = doc ? yajl_tree_get(doc, pp, yajl_t_number) : NULL;
    cr_expect(p && ct_wait_dead((pid_t)YAJL_GET_INTEGER(p), 5),
              "the container process outlived the failed create: %s", text);
    yajl_tree_free(doc);
    free(text);
    char *program = fx_fmt("%s/program", h.dir);
    cr_expect(access(program, F_OK) != 0, "the program ran");
    free(program);
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(order_path);
    free(id);
    free_hooked(&h);
}

CT_BOTH(hooks, failing_create_runtime)
{
    create_fails_by_hook(who, "createRuntime", false);
}

CT_BOTH(hooks, failing_create_container)
{
    create_fails_by_hook(who, "createContainer", false);
}

CT_BOTH(hooks, create_runtime_timeout)
{
    create_fails_by_hook(who, "createRuntime", true);
}

/* A failing hook of kind run by start (poststart or startContainer):
 * the container does not run on; a poststart hook fails start itself, a
 * startContainer one fails before the program runs. */
static void start_fails_by_hook(enum hx_who who, const char *kind)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    bool poststart = strcmp(kind, "poststart") == 0;
    md_spec *s = hx_spec_load(h.bundle);
    md_hooks *k = ct_hooks(s);
    ct_add_hook(poststart ? &k->poststart : &k->start_container,
                poststart ? &k->n_poststart : &k->n_start_container, "/bin/sh", "sh", "-c",
                "exit 4", NULL);
    hx_spec_save(h.bundle, s);
    md_spec_free(s);
    char *id = hx_id("starthook");
    ct_create(c, h.bundle, id);
    int pid = 0;
    free(ct_status(c, id, &pid, NULL));
    struct fx_result r = hx_mdrun(c, NULL, "start", id, NULL);
    if (poststart)
        ct_expect_error(&r, "start with a failing poststart hook", "poststart hook");
    fx_result_free(&r);
    cr_expect(ct_wait_dead(pid, 10), "the container runs on after its %s hook failed", kind);
    char *program = fx_fmt("%s/program", h.dir);
    if (!poststart)
        cr_expect(access(program, F_OK) != 0, "the program ran after startContainer failed");
    free(program);
    ct_delete(c, id);
    hx_assert_clean(c);
    free(id);
    free_hooked(&h);
}

CT_BOTH(hooks, failing_poststart)
{
    start_fails_by_hook(who, "poststart");
}

CT_BOTH(hooks, failing_start_container)
{
    start_fails_by_hook(who, "startContainer");
}

/* A failed poststop hook is only a warning: delete succeeds, the next
 * poststop hook still runs. */
CT_BOTH(hooks, failing_poststop_warns)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    md_spec *s = hx_spec_load(h.bundle);
    md_hooks *k = ct_hooks(s);
    ct_add_hook(&k->poststop, &k->n_poststop, "/bin/sh", "sh", "-c", "exit 6", NULL);
    add(&k->poststop, &k->n_poststop, &h, "poststop");
    hx_spec_save(h.bundle, s);
    md_spec_free(s);
    char *id = hx_id("poststop");
    ct_create(c, h.bundle, id);
    int pid = 0;
    free(ct_status(c, id, &pid, NULL));
    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete with a failing poststop hook: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "poststop hook") && strstr(r.err, "exited with status 6"),
              "no warning about the poststop hook: %s", r.err);
    fx_result_free(&r);
    char *text = hook_file(&h, "poststop", "json");
    free(text);
    cr_expect(ct_wait_dead(pid, 5));
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(id);
    free_hooked(&h);
}

/* Drop "postHooks" from a container's record, as an mdrun that did not
 * write it left it. */
static void forget_post_hooks(const struct hx_ctx *c, const char *id)
{
    char *path = fx_fmt("%s/%s/status", c->root, id);
    char *text = ct_read(path);
    cr_assert(text, "no record at %s", path);
    char *field = strstr(text, ",\n\t\"postHooks\"");
    cr_assert(field, "no postHooks in the record: %s", text);
    char *line_end = strchr(field + 2, '\n');
    memmove(field, line_end ? line_end : field + strlen(field),
            strlen(line_end ? line_end : "") + 1);
    fx_write(path, text);
    free(text);
    free(path);
}

/* The record tells start and delete whether the saved config has
 * poststart/poststop hooks; one without that (an older mdrun's) still
 * gets them run. */
CT_BOTH(hooks, record_without_hook_count_still_runs_poststop)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    md_spec *s = hx_spec_load(h.bundle);
    md_hooks *k = ct_hooks(s);
    add(&k->poststop, &k->n_poststop, &h, "poststop");
    hx_spec_save(h.bundle, s);
    md_spec_free(s);
    char *id = hx_id("oldrec");
    ct_create(c, h.bundle, id);
    forget_post_hooks(c, id);
    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *text = hook_file(&h, "poststop", "json");
    free(text);
    cr_expect(!hx_state_exists(c, id));
    hx_assert_clean(c);
    free(id);
    free_hooked(&h);
}

/* `run` runs every hook too, poststop included. */
CT_BOTH(hooks, run_runs_them_all)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct hooked h = hooked_bundle(c);
    hx_bundle_set_args(h.bundle, "true", NULL);
    add_all(&h);
    struct fx_result r = ct_run_bundle(c, h.bundle);
    cr_expect_eq(r.status, 0, "run: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    char *order_path = fx_fmt("%s/order", h.dir);
    char *order = ct_read(order_path);
    cr_expect(order && strcmp(order, "prestart\ncreateRuntime\ncreateContainer\nstartContainer\n"
                                     "poststart\npoststop\n") == 0,
              "hooks run by run: %s", order);
    free(order);
    free(order_path);
    hx_assert_clean(c);
    free_hooked(&h);
}
