/* test-hostile.c - bundles that try to make mdrun act outside the root
 * filesystem: symlinks in the image pointing at "/" or up with "..", in
 * mount destinations, process.cwd, masked and read-only paths, /proc and
 * /dev; a symlinked root.path; device nodes in the image.  Every mount must
 * land inside the rootfs: after each test the host has no new mount and no
 * new file outside the rootfs. */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"

/* ------------------------------------------------------------- helpers */

/* path inside the bundle's rootfs, as the host sees it (caller frees). */
static char *in_rootfs(const char *bundle, const char *path)
{
    return fx_fmt("%s/rootfs%s", bundle, path);
}

/* A symlink in the image, owned like the rest of it. */
static void image_link(struct hx_ctx *c, const char *bundle, const char *path, const char *target)
{
    char *link = in_rootfs(bundle, path);
    cr_assert(symlink(target, link) == 0, "symlink %s -> %s", link, target);
    cr_assert(lchown(link, c->uid, c->gid) == 0);
    free(link);
}

/* Where every harness run keeps its contexts: mounts there belong to the
 * tests running in parallel, not to an escape. */
static char *harness_prefix(void)
{
    char *rootfs = strdup(hx_rootfs());
    char *run = dirname(rootfs);
    char *base = strdup(run);
    char *prefix = fx_fmt("%s/mdrun-hx.", dirname(base));
    free(base);
    free(rootfs);
    return prefix;
}

/* The host's mount points outside the harness's directories. */
static char **host_mounts(void)
{
    char **all;
    size_t n = hx_mounts_under("/", &all);
    char *prefix = harness_prefix();
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(all[i], prefix, strlen(prefix)) == 0)
            free(all[i]);
        else
            all[kept++] = all[i];
    }
    all[kept] = NULL;
    free(prefix);
    return all;
}

static bool listed(char **v, const char *s)
{
    for (size_t i = 0; v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* What the host had before the test; checked by host_unchanged(). */
struct host_view {
    char **mounts;
    char *escapes[4]; /* host paths an escape would create */
};

static void host_watch(struct host_view *h, ...)
{
    h->mounts = host_mounts();
    va_list ap;
    va_start(ap, h);
    size_t n = 0;
    const char *path;
    while ((path = va_arg(ap, const char *)) != NULL && n < 4) {
        cr_assert(!ct_exists(path), "%s exists before the test", path);
        h->escapes[n++] = strdup(path);
    }
    va_end(ap);
}

/* No new mount on the host, no file where an escape would put one (removed
 * again if there is, so that the machine stays clean). */
static void host_unchanged(struct host_view *h)
{
    char **now = host_mounts();
    size_t n_before = 0, n_now = 0;
    while (h->mounts[n_before])
        n_before++;
    for (; now[n_now]; n_now++)
        cr_expect(listed(h->mounts, now[n_now]), "new mount on the host: %s", now[n_now]);
    cr_expect(n_now <= n_before, "the host has %zu mounts, had %zu", n_now, n_before);
    for (size_t i = 0; i < 4 && h->escapes[i]; i++) {
        cr_expect(!ct_exists(h->escapes[i]), "%s was made on the host", h->escapes[i]);
        if (ct_exists(h->escapes[i]) && rmdir(h->escapes[i]) < 0)
            unlink(h->escapes[i]);
        free(h->escapes[i]);
    }
    hx_strv_free(now);
    hx_strv_free(h->mounts);
}

/* ------------------------------------------------- mount destinations */

/* Runs the bundle with a tmpfs at DEST: the container prints how many
 * tmpfs mounts its /proc/mounts has at SEEN, where the tmpfs must land. */
static struct fx_result run_tmpfs_at(struct hx_ctx *c, const char *bundle, const char *dest,
                                     const char *seen)
{
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, dest, "tmpfs", "tmpfs", NULL);
    char *script = fx_fmt("grep -c ' %s tmpfs ' /proc/mounts", seen);
    ct_save_script(bundle, s, script);
    free(script);
    return ct_run_bundle(c, bundle);
}

static void expect_tmpfs_at(const struct fx_result *r, const char *seen)
{
    cr_expect_eq(r->status, 0, "mdrun run: exit %d; stderr: %s", r->status, r->err);
    cr_expect(ct_has_line(r->out, "1"), "the tmpfs is not at the container's %s: %s", seen, r->out);
}

TestSuite(hostile);

/* rootfs/evil -> "/": a tmpfs at /evil/NAME lands at the container's
 * /NAME, not the host's. */
CT_BOTH(hostile, dest_symlink_to_root)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *name = fx_fmt("/itest-escape-%d", (int)getpid());
    char *dest = fx_fmt("/evil%s", name);
    struct host_view h = {0};
    host_watch(&h, name, NULL);
    image_link(c, bundle, "/evil", "/");
    struct fx_result r = run_tmpfs_at(c, bundle, dest, name);
    expect_tmpfs_at(&r, name);
    char *inside = in_rootfs(bundle, name);
    cr_expect(ct_exists(inside), "%s was not made inside the rootfs", inside);
    host_unchanged(&h);
    free(inside);
    fx_result_free(&r);
    free(dest);
    free(name);
    hx_assert_clean(c);
}

/* rootfs/a/b -> ../../../../../../tmp: clamped at the container's root. */
CT_BOTH(hostile, dest_dotdot_symlink)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *name = fx_fmt("itest-escape-%d", (int)getpid());
    char *host_path = fx_fmt("/tmp/%s", name);
    struct host_view h = {0};
    host_watch(&h, host_path, NULL);
    char *a = in_rootfs(bundle, "/a");
    cr_assert(mkdir(a, 0755) == 0 && chown(a, c->uid, c->gid) == 0);
    image_link(c, bundle, "/a/b", "../../../../../../../../tmp");
    char *dest = fx_fmt("/a/b/%s", name);
    struct fx_result r = run_tmpfs_at(c, bundle, dest, host_path);
    expect_tmpfs_at(&r, host_path);
    host_unchanged(&h);
    fx_result_free(&r);
    free(dest);
    free(a);
    free(host_path);
    free(name);
    hx_assert_clean(c);
}

/* A destination with ".." in it: refused, or clamped inside. */
CT_BOTH(hostile, dest_with_dotdot)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *name = fx_fmt("/itest-escape-%d", (int)getpid());
    char *dest = fx_fmt("/../../..%s", name);
    struct host_view h = {0};
    host_watch(&h, name, NULL);
    struct fx_result r = run_tmpfs_at(c, bundle, dest, name);
    if (r.status == 0)
        expect_tmpfs_at(&r, name);
    else
        cr_expect(strstr(r.err, dest), "exit %d, the error does not name %s: %s", r.status, dest,
                  r.err);
    host_unchanged(&h);
    fx_result_free(&r);
    free(dest);
    free(name);
    hx_assert_clean(c);
}

/* A bind onto an image symlink to a host file lands on the image's file. */
CT_BOTH(hostile, bind_onto_symlink_to_host_file)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *source = fx_fmt("%s/injected", c->dir);
    fx_write(source, "injected\n");
    chmod(source, 0644);
    struct host_view h = {0};
    host_watch(&h, NULL);
    image_link(c, bundle, "/etc/evilfile", "/etc/shadow");
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/etc/evilfile", "bind", source, "bind", "ro", NULL);
    char *out = ct_run_script(c, bundle, s, "cat /etc/shadow");
    cr_expect(ct_has_line(out, "injected"), "not bound on the image's /etc/shadow: %s", out);
    char *inside = in_rootfs(bundle, "/etc/shadow");
    cr_expect(ct_exists(inside), "%s was not made", inside);
    host_unchanged(&h);
    free(inside);
    free(out);
    free(source);
    hx_assert_clean(c);
}

/* A destination that is a file where a directory is needed fails by name
 * and leaves nothing. */
CT_BOTH(hostile, failed_create_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    image_link(c, bundle, "/evil", "/");
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    ct_add_mount(s, "/evil/etc/hostname", "tmpfs", "tmpfs", NULL);
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran");
    cr_expect(strstr(r.err, "/evil/etc/hostname"), "the error does not name the mount: %s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
    fx_result_free(&r);
    host_unchanged(&h);
    hx_assert_clean(c);
}

/* ---------------------------------------------------------- process.cwd */

static char *run_in_cwd(struct hx_ctx *c, const char *bundle, const char *cwd, bool writable)
{
    md_spec *s = hx_spec_load(bundle);
    free(s->process->cwd);
    s->process->cwd = strdup(cwd);
    s->root->readonly = !writable;
    return ct_run_script(c, bundle, s, "echo cwd=$(pwd); echo host=$(cat /etc/hostname); ls");
}

CT_BOTH(hostile, cwd_dotdot)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    char *out = run_in_cwd(c, bundle, "/../../..", false);
    cr_expect(ct_has_line(out, "cwd=/"), "%s", out);
    cr_expect(ct_has_line(out, "host=mdrun-test") && ct_has_line(out, "bin") &&
                  !ct_has_line(out, "work"),
              "not the container's root: %s", out);
    host_unchanged(&h);
    free(out);
    hx_assert_clean(c);
}

/* cwd through a symlink pointing up: it stays at the container's root. */
CT_BOTH(hostile, cwd_symlink_up)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    image_link(c, bundle, "/up", "../../../../../..");
    char *out = run_in_cwd(c, bundle, "/up", false);
    cr_expect(ct_has_line(out, "cwd=/"), "%s", out);
    cr_expect(ct_has_line(out, "bin") && !ct_has_line(out, "work"), "not the container's root: %s",
              out);
    host_unchanged(&h);
    free(out);
    hx_assert_clean(c);
}

/* cwd through an absolute symlink to a host path that does not exist: it
 * is made inside the rootfs. */
CT_BOTH(hostile, cwd_symlink_absolute)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *target = fx_fmt("/tmp/itest-escape-%d", (int)getpid());
    struct host_view h = {0};
    host_watch(&h, target, NULL);
    image_link(c, bundle, "/hostlink", target);
    char *out = run_in_cwd(c, bundle, "/hostlink/sub", true);
    char *want = fx_fmt("cwd=%s/sub", target);
    cr_expect(ct_has_line(out, want), "%s", out);
    char *sub = fx_fmt("%s/rootfs%s/sub", bundle, target);
    cr_expect(ct_exists(sub), "%s was not made inside the rootfs", sub);
    host_unchanged(&h);
    free(sub);
    free(want);
    free(out);
    free(target);
    hx_assert_clean(c);
}

/* A cwd through a symlink loop fails late, after every mount is made: the
 * error names it, and the half-built container leaves nothing. */
CT_BOTH(hostile, cwd_symlink_loop)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    image_link(c, bundle, "/loop", "/loop/again");
    md_spec *s = hx_spec_load(bundle);
    free(s->process->cwd);
    s->process->cwd = strdup("/loop");
    ct_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran");
    cr_expect(strstr(r.err, "process.cwd /loop") && strstr(r.err, "symbolic links"), "%s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
    fx_result_free(&r);
    host_unchanged(&h);
    hx_assert_clean(c);
}

/* ------------------------------------------------------------ the root */

/* root.path a symlink: resolved once, at create; state shows the real path. */
CT_BOTH(hostile, root_path_symlink)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *link = hx_bundle_file(bundle, "rootlink");
    cr_assert(symlink("rootfs", link) == 0 && lchown(link, c->uid, c->gid) == 0);
    md_spec *s = hx_spec_load(bundle);
    free(s->root->path);
    s->root->path = strdup("rootlink");
    ct_save_script(bundle, s, "cat /etc/hostname");
    char *id = hx_id("rootlink");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", bundle, id, NULL);
    cr_assert_eq(r.status, 0, "create: %s", r.err);
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "state", id, NULL);
    char *real = realpath(link, NULL);
    char *want = fx_fmt("\"rootfs\": \"%s\"", real);
    cr_expect(strstr(r.out, want), "state does not show %s: %s", real, r.out);
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete: %s", r.err);
    fx_result_free(&r);
    char *out = ct_run_script(c, bundle, hx_spec_load(bundle), "cat /etc/hostname");
    cr_expect(ct_has_line(out, "mdrun-test"), "%s", out);
    free(out);
    free(want);
    free(real);
    free(id);
    free(link);
    hx_assert_clean(c);
}

/* An image /dev (no tmpfs over it) holding a fake /dev/null (the zero
 * device): refused by name, since masked paths rely on /dev/null. */
CT_BOTH(hostile, image_fake_dev_null)
{
    hx_require_root(); /* mknod in the image */
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    char *null = in_rootfs(bundle, "/dev/null");
    cr_assert(mknod(null, S_IFCHR | 0666, makedev(1, 5)) == 0, "mknod %s", null);
    md_spec *s = hx_spec_load(bundle);
    ct_del_mount(s, "/dev");
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "ran with a fake /dev/null");
    cr_expect(strstr(r.err, "/dev/null"), "the error does not name /dev/null: %s", r.err);
    fx_result_free(&r);
    host_unchanged(&h);
    free(null);
    hx_assert_clean(c);
}

/* An image /dev/ptmx device node is replaced by the link into the
 * container's own devpts. */
CT_BOTH(hostile, image_ptmx_node)
{
    hx_require_root(); /* mknod in the image */
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    char *ptmx = in_rootfs(bundle, "/dev/ptmx");
    cr_assert(mknod(ptmx, S_IFCHR | 0666, makedev(5, 2)) == 0, "mknod %s", ptmx);
    md_spec *s = hx_spec_load(bundle);
    ct_del_mount(s, "/dev");
    s->root->readonly = false;
    char *out = ct_run_script(c, bundle, s, "echo ptmx=$(readlink /dev/ptmx)");
    cr_expect(ct_has_line(out, "ptmx=pts/ptmx"), "%s", out);
    host_unchanged(&h);
    free(out);
    free(ptmx);
    hx_assert_clean(c);
}

/* ------------------------------------------------- symlinked /proc, /dev */

/* The image's /proc is a symlink up and out: proc is mounted where it
 * leads inside the rootfs, and the masked paths are masked there. */
CT_BOTH(hostile, proc_symlink)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *name = fx_fmt("itest-fakeproc-%d", (int)getpid());
    char *host_path = fx_fmt("/tmp/%s", name);
    struct host_view h = {0};
    host_watch(&h, host_path, NULL);
    char *proc = in_rootfs(bundle, "/proc");
    cr_assert(rmdir(proc) == 0);
    char *target = fx_fmt("../../../../../tmp/%s", name);
    image_link(c, bundle, "/proc", target);
    char *script = fx_fmt("echo keys=$(cat /proc/keys | wc -c); echo self=$(readlink "
                          "/proc/self/ns/pid | cut -c1-4); grep ' /tmp/%s' /proc/mounts",
                          name);
    char *out = ct_run_script(c, bundle, hx_spec_load(bundle), script);
    cr_expect(ct_has_line(out, "keys=0"), "/proc/keys is not masked: %s", out);
    cr_expect(ct_has_line(out, "self=pid:"), "no procfs at /proc: %s", out);
    char *sys = fx_fmt("proc /tmp/%s/sys proc ro,", name);
    cr_expect(strstr(out, sys), "/proc/sys is not read-only: %s", out);
    host_unchanged(&h);
    free(sys);
    free(out);
    free(script);
    free(target);
    free(proc);
    free(host_path);
    free(name);
    hx_assert_clean(c);
}

/* The image's /dev is a symlink up and out: /dev is built where it leads
 * inside the rootfs. */
CT_BOTH(hostile, dev_symlink)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *name = fx_fmt("itest-fakedev-%d", (int)getpid());
    char *host_path = fx_fmt("/tmp/%s", name);
    struct host_view h = {0};
    host_watch(&h, host_path, NULL);
    char *dev = in_rootfs(bundle, "/dev");
    cr_assert(rmdir(dev) == 0);
    char *target = fx_fmt("../../../../../tmp/%s", name);
    image_link(c, bundle, "/dev", target);
    char *out =
        ct_run_script(c, bundle, hx_spec_load(bundle),
                      "echo x > /dev/null && echo null=ok; echo zero=$(head -c 2 /dev/zero | "
                      "od -An -tx1 | tr -d ' '); echo pts=$(ls -d /dev/pts)");
    cr_expect(ct_has_line(out, "null=ok") && ct_has_line(out, "zero=0000"), "%s", out);
    cr_expect(ct_has_line(out, "pts=/dev/pts"), "%s", out);
    host_unchanged(&h);
    free(out);
    free(target);
    free(dev);
    free(host_path);
    free(name);
    hx_assert_clean(c);
}

/* ----------------------------------------- masked and read-only paths */

/* maskedPaths and readonlyPaths entries that are symlinks to host paths
 * act on the container's files of those paths. */
CT_BOTH(hostile, masked_symlinks)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    struct host_view h = {0};
    host_watch(&h, NULL);
    char *rootfile = in_rootfs(bundle, "/root/rootfile");
    fx_write(rootfile, "image\n");
    cr_assert(chown(rootfile, c->uid, c->gid) == 0);
    image_link(c, bundle, "/etc/maskme", "/etc/passwd");
    image_link(c, bundle, "/etc/maskdir", "../../../../../../root");
    image_link(c, bundle, "/etc/rolink", "/tmp");
    md_spec *s = hx_spec_load(bundle);
    s->root->readonly = false;
    md_linux *l = ct_linux(s);
    md_strv_push(&l->masked_paths, &l->n_masked_paths, "/etc/maskme");
    md_strv_push(&l->masked_paths, &l->n_masked_paths, "/etc/maskdir");
    md_strv_push(&l->readonly_paths, &l->n_readonly_paths, "/etc/rolink");
    char *out =
        ct_run_script(c, bundle, s,
                      "echo passwd=$(wc -c < /etc/passwd); echo root=$(ls -A /root | wc -l); "
                      "touch /tmp/x 2>/dev/null || echo tmp=ro; touch /made && echo root=rw");
    cr_expect(ct_has_line(out, "passwd=0"), "the container's /etc/passwd is not masked: %s", out);
    cr_expect(ct_has_line(out, "root=0"), "the container's /root is not masked: %s", out);
    cr_expect(ct_has_line(out, "tmp=ro"), "the container's /tmp is writable: %s", out);
    cr_expect(ct_has_line(out, "root=rw"), "%s", out);
    host_unchanged(&h);
    free(out);
    free(rootfile);
    hx_assert_clean(c);
}
