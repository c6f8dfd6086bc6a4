/* test-filesystem.c - the container's root filesystem as it sees it:
 * root.path and root.readonly, rootfsPropagation, the mounts of config.json
 * with their options, /dev and linux.devices, masked and read-only paths,
 * --no-pivot; and that neither a delete nor a failed create leaves a mount
 * or state behind.  Behaviours that differ between root and an
 * unprivileged user run as both. */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"

/* ------------------------------------------------------------- helpers */

static void add_device(md_spec *s, const char *path, const char *type, int64_t major, int64_t minor,
                       uint32_t mode, uint32_t uid, uint32_t gid)
{
    md_linux *l = ct_linux(s);
    l->devices = realloc(l->devices, (l->n_devices + 1) * sizeof(*l->devices));
    cr_assert(l->devices);
    l->devices[l->n_devices++] = (md_device){.type = strdup(type),
                                             .path = strdup(path),
                                             .has_major = true,
                                             .major = major,
                                             .has_minor = true,
                                             .minor = minor,
                                             .has_file_mode = true,
                                             .file_mode = mode,
                                             .has_uid = true,
                                             .uid = uid,
                                             .has_gid = true,
                                             .gid = gid};
}

/* From /proc/mounts text: the options of the last mount at dest ("" when
 * none; caller frees). */
static char *mount_options(const char *mounts, const char *dest)
{
    char *found = strdup("");
    char *copy = strdup(mounts), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char src[512], point[512], type[64], opts[1024];
        if (sscanf(line, "%511s %511s %63s %1023s", src, point, type, opts) == 4 &&
            strcmp(point, dest) == 0) {
            free(found);
            found = fx_fmt("%s %s", type, opts);
        }
    }
    free(copy);
    return found;
}

/* Is opt one of the comma-separated options? */
static bool has_opt(const char *opts, const char *opt)
{
    const char *p = strchr(opts, ' ');
    p = p ? p + 1 : opts;
    size_t len = strlen(opt);
    for (; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] ? 1 : 0))
        if (strncmp(p, opt, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return true;
    return false;
}

static void write_owned(struct hx_ctx *c, const char *path, const char *text)
{
    fx_write(path, text);
    cr_assert(chown(path, c->uid, c->gid) == 0);
}

/* ------------------------------------------------------------- root */

TestSuite(rootfs);

static void root_path(enum hx_who who, bool absolute)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    if (absolute) {
        free(s->root->path);
        s->root->path = hx_bundle_file(bundle, "rootfs");
    }
    char *out = ct_run_script(c, bundle, s, "echo host=$(cat /etc/hostname); ls /");
    cr_expect(ct_has_line(out, "host=mdrun-test"), "not the bundle's rootfs: %s", out);
    cr_expect(ct_has_line(out, "bin") && !ct_has_line(out, "work"), "/ of the container: %s", out);
    free(out);
    hx_assert_clean(c);
}

CT_BOTH(rootfs, path_relative)
{
    root_path(who, false);
}

CT_BOTH(rootfs, path_absolute)
{
    root_path(who, true);
}

/* A read-only root refuses writes; a tmpfs mounted on it does not. */
CT_BOTH(rootfs, readonly)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    s->root->readonly = true;
    ct_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    char *out =
        ct_run_script(c, bundle, s, "touch /made 2>&1; echo rc=$?; touch /tmp/made && echo tmp=ok");
    cr_expect(strstr(out, "Read-only file system"), "no EROFS: %s", out);
    cr_expect(!ct_has_line(out, "rc=0"), "touch / succeeded: %s", out);
    cr_expect(ct_has_line(out, "tmp=ok"), "/tmp not writable: %s", out);
    char *made = fx_fmt("%s/rootfs/made", bundle);
    cr_expect(!ct_exists(made), "%s exists", made);
    free(made);
    free(out);
    hx_assert_clean(c);
}

CT_BOTH(rootfs, writable)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    s->root->readonly = false;
    char *out = ct_run_script(c, bundle, s, "touch /made && echo made");
    cr_expect(ct_has_line(out, "made"), "%s", out);
    char *made = fx_fmt("%s/rootfs/made", bundle);
    struct stat st;
    cr_expect(stat(made, &st) == 0, "%s missing", made);
    cr_expect_eq(st.st_uid, c->uid, "made by %u, want %u", (unsigned)st.st_uid, (unsigned)c->uid);
    free(made);
    free(out);
    hx_assert_clean(c);
}

/* The optional fields of "/" in the container's mountinfo. */
static char *root_propagation(struct hx_ctx *c, const char *bundle, const char *prop)
{
    md_spec *s = hx_spec_load(bundle);
    free(ct_linux(s)->rootfs_propagation);
    s->linux_->rootfs_propagation = strdup(prop);
    char *out =
        ct_run_script(c, bundle, s, "grep '^[0-9]* [0-9]* [^ ]* [^ ]* / ' /proc/self/mountinfo");
    /* id parent dev root point options OPTIONAL... - type ... */
    char *fields = strdup("");
    char *copy = strdup(out), *save = NULL;
    int i = 0;
    for (char *f = strtok_r(copy, " \n", &save); f && strcmp(f, "-") != 0;
         f = strtok_r(NULL, " \n", &save), i++)
        if (i >= 6) {
            char *more = fx_fmt("%s%s ", fields, f);
            free(fields);
            fields = more;
        }
    cr_expect(i >= 6, "no root line in mountinfo: %s", out);
    free(copy);
    free(out);
    return fields;
}

CT_BOTH(rootfs, propagation)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *f = root_propagation(c, bundle, "shared");
    cr_expect(strstr(f, "shared:"), "shared: %s", f);
    free(f);
    f = root_propagation(c, bundle, "unbindable");
    cr_expect(strstr(f, "unbindable"), "unbindable: %s", f);
    free(f);
    f = root_propagation(c, bundle, "private");
    cr_expect(!strstr(f, "shared:") && !strstr(f, "master:") && !strstr(f, "unbindable"),
              "private: %s", f);
    free(f);
    f = root_propagation(c, bundle, "slave");
    cr_expect(!strstr(f, "shared:") && !strstr(f, "unbindable"), "slave: %s", f);
    free(f);
    /* Nothing of the container reached the host, even when shared. */
    hx_assert_clean(c);
}

/* ----------------------------------------------------------- mounts */

TestSuite(mounts);

CT_BOTH(mounts, flags)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    static const char *const opts[] = {"ro",       "nosuid",  "nodev",       "noexec",
                                       "relatime", "noatime", "strictatime", "exec"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char *dest = fx_fmt("/m/%s", opts[i]);
        ct_add_mount(s, dest, "tmpfs", "tmpfs", opts[i], NULL);
        free(dest);
    }
    char *out =
        ct_run_script(c, bundle, s,
                      "cat /proc/mounts; touch /m/ro/x 2>/dev/null || echo ro=refused; "
                      "for d in noexec exec; do printf '#!/bin/sh\\necho ran\\n' > /m/$d/s; "
                      "chmod +x /m/$d/s; /m/$d/s >/dev/null 2>&1 && echo $d=ran || "
                      "echo $d=refused; done");
    for (size_t i = 0; i < 6; i++) {
        char *dest = fx_fmt("/m/%s", opts[i]);
        char *o = mount_options(out, dest);
        cr_expect(has_opt(o, opts[i]), "%s: options %s", dest, o);
        free(o);
        free(dest);
    }
    char *o = mount_options(out, "/m/strictatime");
    cr_expect(*o && !has_opt(o, "relatime") && !has_opt(o, "noatime"), "strictatime: %s", o);
    free(o);
    o = mount_options(out, "/m/exec");
    cr_expect(*o && !has_opt(o, "noexec") && !has_opt(o, "ro"), "exec: %s", o);
    free(o);
    cr_expect(ct_has_line(out, "ro=refused"), "wrote on the ro mount: %s", out);
    cr_expect(ct_has_line(out, "noexec=refused"), "ran a script on noexec: %s", out);
    cr_expect(ct_has_line(out, "exec=ran"), "could not run a script on exec: %s", out);
    free(out);
    cr_expect(!ct_exists("/m/ro"), "/m/ro was made on the host");
    hx_assert_clean(c);
}

/* Mounts are made in config order: the second lands inside the first, and
 * the third covers both. */
CT_BOTH(mounts, in_order)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/o", "tmpfs", "tmpfs", "mode=755", NULL);
    ct_add_mount(s, "/o/inner", "tmpfs", "tmpfs", "mode=711", NULL);
    ct_add_mount(s, "/o", "tmpfs", "tmpfs", "mode=700", NULL);
    ct_add_mount(s, "/o/top", "tmpfs", "tmpfs", "mode=701", NULL);
    char *out =
        ct_run_script(c, bundle, s,
                      "echo o=$(stat -c %a /o); echo ls=$(ls /o); echo top=$(stat -c %a /o/top); "
                      "echo n=$(grep -c ' /o' /proc/mounts)");
    cr_expect(ct_has_line(out, "o=700"), "/o is not the last mount: %s", out);
    cr_expect(ct_has_line(out, "ls=top"), "/o/inner is not covered: %s", out);
    cr_expect(ct_has_line(out, "top=701"), "%s", out);
    cr_expect(ct_has_line(out, "n=4"), "%s", out);
    free(out);
    hx_assert_clean(c);
}

/* tmpfs options that are not flags reach the filesystem. */
CT_BOTH(mounts, tmpfs_data)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/sized", "tmpfs", "tmpfs", "size=1m", "mode=750", "nosuid", NULL);
    char *out = ct_run_script(c, bundle, s, "cat /proc/mounts; echo mode=$(stat -c %a /sized)");
    char *o = mount_options(out, "/sized");
    cr_expect(has_opt(o, "size=1024k") && has_opt(o, "mode=750") && has_opt(o, "nosuid"),
              "/sized options: %s", o);
    cr_expect(ct_has_line(out, "mode=750"), "%s", out);
    free(o);
    free(out);
    hx_assert_clean(c);
}

/* A host directory bound read-write, and read-only. */
CT_BOTH(mounts, bind_host_dir)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *dir = ct_shared_dir(c, NULL, "hostdir");
    char *from_host = fx_fmt("%s/from-host", dir);
    write_owned(c, from_host, "host text\n");
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/data", "bind", dir, "bind", NULL);
    ct_add_mount(s, "/data-ro", "bind", dir, "rbind", "ro", NULL);
    char *out = ct_run_script(c, bundle, s,
                              "echo seen=$(cat /data/from-host); echo ctr > /data/from-ctr; "
                              "touch /data-ro/x 2>/dev/null || echo ro=refused");
    cr_expect(ct_has_line(out, "seen=host text"), "%s", out);
    cr_expect(ct_has_line(out, "ro=refused"), "%s", out);
    char *from_ctr = fx_fmt("%s/from-ctr", dir);
    char *text = ct_read(from_ctr);
    cr_expect(text && strcmp(text, "ctr\n") == 0, "%s: %s", from_ctr, text);
    free(text);
    char *x = fx_fmt("%s/x", dir);
    cr_expect(!ct_exists(x), "the read-only bind was written");
    free(x);
    free(from_ctr);
    free(from_host);
    free(dir);
    free(out);
    hx_assert_clean(c);
}

/* bind takes the directory alone, rbind the mounts under it too. */
CT_BOTH(mounts, rbind_takes_submounts)
{
    hx_require_root(); /* the host-side mount below */
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *dir = ct_shared_dir(c, NULL, "tree");
    char *sub = fx_fmt("%s/sub", dir);
    cr_assert(mkdir(sub, 0755) == 0);
    cr_assert(mount("tmpfs", sub, "tmpfs", 0, "mode=755") == 0, "mount %s: %s", sub,
              strerror(errno));
    char *marker = fx_fmt("%s/in-tmpfs", sub);
    fx_write(marker, "x");
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/deep", "bind", dir, "rbind", NULL);
    ct_add_mount(s, "/flat", "bind", dir, "bind", NULL);
    const char *script = "echo flat=$(ls /flat/sub); echo deep=$(ls /deep/sub)";
    if (who == HX_USER) {
        /* The kernel does not let a user namespace uncover what the host's
         * mounts hide: a plain bind is refused, with a hint. */
        ct_save_script(bundle, s, script);
        struct fx_result r = ct_run_bundle(c, bundle);
        cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
        cr_expect(strstr(r.err, "mount /flat (bind)") && strstr(r.err, "rbind"), "%s", r.err);
        fx_result_free(&r);
        s = hx_spec_load(bundle);
        s->n_mounts--; /* /flat, the last: freed with the spec's copy below */
        md_mount flat = s->mounts[s->n_mounts];
        free(flat.destination);
        free(flat.type);
        free(flat.source);
        md_strv_free(flat.options, flat.n_options);
    }
    char *out = ct_run_script(c, bundle, s, script);
    if (who == HX_ROOT)
        cr_expect(ct_has_line(out, "flat="), "bind carried the submount: %s", out);
    cr_expect(ct_has_line(out, "deep=in-tmpfs"), "rbind lost the submount: %s", out);
    umount2(sub, MNT_DETACH);
    free(marker);
    free(sub);
    free(dir);
    free(out);
    hx_assert_clean(c);
}

/* A read-only bind of a host mount with nosuid, nodev and noexec: a user
 * namespace cannot drop those (the kernel locks them), so they stay. */
CT_BOTH(mounts, bind_keeps_locked_flags)
{
    hx_require_root(); /* the host-side mount below */
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *dir = ct_shared_dir(c, NULL, "locked");
    cr_assert(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") == 0,
              "mount %s: %s", dir, strerror(errno));
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/locked", "bind", dir, "bind", "ro", NULL);
    char *out = ct_run_script(c, bundle, s, "cat /proc/mounts");
    char *o = mount_options(out, "/locked");
    cr_expect(has_opt(o, "ro"), "/locked: %s", o);
    if (who == HX_USER)
        cr_expect(has_opt(o, "nosuid") && has_opt(o, "nodev") && has_opt(o, "noexec"),
                  "/locked lost its locked flags: %s", o);
    umount2(dir, MNT_DETACH);
    free(o);
    free(out);
    free(dir);
    hx_assert_clean(c);
}

/* A single file, bound at a path the image lacks: made inside the rootfs. */
CT_BOTH(mounts, bind_file)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *file = fx_fmt("%s/hostfile", c->dir);
    write_owned(c, file, "from host\n");
    chmod(file, 0666);
    char *dest = fx_fmt("/etc/itest-injected-%d", (int)getpid());
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, dest, "none", file, "bind", NULL);
    char *script = fx_fmt("echo seen=$(cat %s); echo more >> %s; echo type=$(stat -c %%F %s)", dest,
                          dest, dest);
    char *out = ct_run_script(c, bundle, s, script);
    cr_expect(ct_has_line(out, "seen=from host"), "%s", out);
    cr_expect(ct_has_line(out, "type=regular file"), "%s", out);
    char *text = ct_read(file);
    cr_expect(text && strcmp(text, "from host\nmore\n") == 0, "host file: %s", text);
    char *inside = fx_fmt("%s/rootfs%s", bundle, dest);
    cr_expect(ct_exists(inside), "%s was not made in the rootfs", inside);
    cr_expect(!ct_exists(dest), "%s was made on the host", dest);
    free(inside);
    free(text);
    free(out);
    free(script);
    free(dest);
    free(file);
    hx_assert_clean(c);
}

/* Destinations that do not exist are made inside the rootfs only. */
CT_BOTH(mounts, destination_created_inside)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *top = fx_fmt("/itest-new-%d", (int)getpid());
    char *dest = fx_fmt("%s/deep/dir", top);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, dest, "tmpfs", "tmpfs", NULL);
    char *out = ct_run_script(c, bundle, s, "cat /proc/mounts");
    char *o = mount_options(out, dest);
    cr_expect(strncmp(o, "tmpfs ", 6) == 0, "%s: %s", dest, o);
    char *inside = fx_fmt("%s/rootfs%s", bundle, dest);
    cr_expect(ct_exists(inside), "%s missing", inside);
    cr_expect(!ct_exists(top), "%s was made on the host", top);
    free(inside);
    free(o);
    free(out);
    free(dest);
    free(top);
    hx_assert_clean(c);
}

/* The optional fields of mountinfo for the mount at point. */
static char *mount_fields(const char *mountinfo, const char *point)
{
    char *found = NULL;
    char *copy = strdup(mountinfo), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char pt[512];
        int off = 0;
        if (sscanf(line, "%*s %*s %*s %*s %511s %*s %n", pt, &off) < 1 || strcmp(pt, point) != 0)
            continue;
        free(found);
        const char *dash = strstr(line, " - ");
        found = strndup(line + off, dash && dash >= line + off ? (size_t)(dash - line - off) : 0);
    }
    free(copy);
    return found ? found : strdup("(none)");
}

CT_BOTH(mounts, propagation_options)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/p/shared", "tmpfs", "tmpfs", "shared", NULL);
    ct_add_mount(s, "/p/private", "tmpfs", "tmpfs", "private", NULL);
    ct_add_mount(s, "/p/unbindable", "tmpfs", "tmpfs", "runbindable", NULL);
    char *out = ct_run_script(c, bundle, s, "cat /proc/self/mountinfo");
    char *f = mount_fields(out, "/p/shared");
    cr_expect(strstr(f, "shared:"), "/p/shared: %s", f);
    free(f);
    f = mount_fields(out, "/p/private");
    cr_expect(strcmp(f, "(none)") != 0 && !strstr(f, "shared:") && !strstr(f, "master:"),
              "/p/private: %s", f);
    free(f);
    f = mount_fields(out, "/p/unbindable");
    cr_expect(strstr(f, "unbindable"), "/p/unbindable: %s", f);
    free(f);
    free(out);
    hx_assert_clean(c);
}

/* A host mount made after the container started reaches it through an
 * rslave bind of a shared host directory, and not through rprivate. */
CT_BOTH(mounts, slave_receives_host_mounts)
{
    hx_require_root(); /* the host-side mounts */
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *shared = ct_shared_dir(c, NULL, "shared");
    char *out_dir = ct_shared_dir(c, NULL, "out");
    cr_assert(mount("tmpfs", shared, "tmpfs", 0, "mode=755") == 0, "mount: %s", strerror(errno));
    cr_assert(mount(NULL, shared, NULL, MS_SHARED, NULL) == 0, "make shared: %s", strerror(errno));
    char *late = fx_fmt("%s/late", shared);
    cr_assert(mkdir(late, 0755) == 0);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/slave", "bind", shared, "rbind", "rslave", NULL);
    ct_add_mount(s, "/private", "bind", shared, "rbind", "rprivate", NULL);
    ct_add_mount(s, "/out", "bind", out_dir, "bind", NULL);
    /* Written whole (tmp + mv): the test never reads half of it. */
    ct_save_script(bundle, s,
                   "{ echo slave=$(ls /slave/late); echo private=$(ls /private/late); } "
                   "> /out/result.tmp; mv /out/result.tmp /out/result");
    char *id = hx_id("slave");
    ct_create(c, bundle, id);
    cr_assert(mount("tmpfs", late, "tmpfs", 0, "mode=755") == 0);
    char *marker = fx_fmt("%s/marker", late);
    fx_write(marker, "x");
    struct fx_result r = hx_mdrun(c, NULL, "start", id, NULL);
    cr_expect_eq(r.status, 0, "start: %s", r.err);
    fx_result_free(&r);
    char *result = fx_fmt("%s/result", out_dir);
    char *text = ct_wait_file(result, 5);
    cr_expect(text && strstr(text, "slave=marker\n"), "rslave did not receive: %s", text);
    cr_expect(text && strstr(text, "private=\n"), "rprivate received: %s", text);
    r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    fx_result_free(&r);
    umount2(late, MNT_DETACH);
    umount2(shared, MNT_DETACH);
    free(text);
    free(result);
    free(marker);
    free(id);
    free(late);
    free(out_dir);
    free(shared);
    hx_assert_clean(c);
}

/* A bind source that does not exist: refused by name, nothing left. */
CT_BOTH(mounts, failed_create_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *missing = fx_fmt("%s/no-such-dir", c->dir);
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    ct_add_mount(s, "/data", "bind", missing, "bind", NULL);
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran");
    cr_expect(strstr(r.err, "/data") && strstr(r.err, missing), "error: %s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
    fx_result_free(&r);
    free(missing);
    hx_assert_clean(c);
}

/* create with mounts, delete: no mount and no state remain. */
CT_BOTH(mounts, delete_leaves_nothing)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *dir = ct_shared_dir(c, NULL, "hostdir");
    md_spec *s = hx_spec_load(bundle);
    ct_add_mount(s, "/tmp", "tmpfs", "tmpfs", NULL);
    ct_add_mount(s, "/data", "bind", dir, "rbind", NULL);
    ct_save_script(bundle, s, "sleep 600");
    char *id = hx_id("del");
    ct_create(c, bundle, id);
    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete: %s", r.err);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id));
    char *rootfs = hx_bundle_file(bundle, "rootfs");
    char **mounts;
    cr_expect_eq(hx_mounts_under(rootfs, &mounts), 0, "mounts left on the rootfs: %s", mounts[0]);
    hx_strv_free(mounts);
    free(rootfs);
    free(id);
    free(dir);
    hx_assert_clean(c);
}

/* -------------------------------------------------------------- /dev */

TestSuite(dev);

/* The default devices exist and work, with the links and filesystems of
 * /dev. */
CT_BOTH(dev, defaults)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    char *out = ct_run_script(
        c, bundle, s,
        "echo x > /dev/null && echo null=ok; echo zero=$(head -c 4 /dev/zero | od -An -tx1 | tr -d "
        "' '); "
        "echo urandom=$(head -c 8 /dev/urandom | wc -c); "
        "(echo x > /dev/full) 2>/dev/null || echo full=refused; "
        "for d in null zero full random urandom tty; do echo $d=$(stat -c '%F %t %T' /dev/$d); "
        "done; for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done; "
        "echo stdin-works | cat /dev/stdin; echo fds=$(ls /dev/fd/ | wc -l); "
        "echo x > /dev/shm/f && echo shm=ok; cat /proc/mounts");
    static const char *const expect[] = {
        "null=ok",
        "zero=00000000",
        "urandom=8",
        "full=refused",
        "null=character special file 1 3",
        "zero=character special file 1 5",
        "full=character special file 1 7",
        "random=character special file 1 8",
        "urandom=character special file 1 9",
        "tty=character special file 5 0",
        "fd=/proc/self/fd",
        "stdin=/proc/self/fd/0",
        "stdout=/proc/self/fd/1",
        "stderr=/proc/self/fd/2",
        "ptmx=pts/ptmx",
        "stdin-works",
        "shm=ok",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        cr_expect(ct_has_line(out, expect[i]), "no line \"%s\" in:\n%s", expect[i], out);
    cr_expect(!ct_has_line(out, "fds=0"), "/dev/fd is empty: %s", out);
    static const char *const fs[][2] = {{"/dev", "tmpfs "},
                                        {"/dev/pts", "devpts "},
                                        {"/dev/shm", "tmpfs "},
                                        {"/dev/mqueue", "mqueue "}};
    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
        char *o = mount_options(out, fs[i][0]);
        cr_expect(strncmp(o, fs[i][1], strlen(fs[i][1])) == 0, "%s: %s", fs[i][0], o);
        free(o);
    }
    free(out);
    hx_assert_clean(c);
}

/* As root, linux.devices are made with mknod, with their mode and owner. */
Test(dev, linux_devices_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    add_device(s, "/dev/mynull", "c", 1, 3, 0640, 1, 2);
    add_device(s, "/dev/fuse", "c", 10, 229, 0666, 0, 0);
    add_device(s, "/dev/myfifo", "p", 0, 0, 0600, 0, 0);
    char *out =
        ct_run_script(c, bundle, s,
                      "for d in mynull fuse myfifo; do echo $d=$(stat -c '%F %t %T %a %u %g' "
                      "/dev/$d); done");
    cr_expect(ct_has_line(out, "mynull=character special file 1 3 640 1 2"), "%s", out);
    cr_expect(ct_has_line(out, "fuse=character special file a e5 666 0 0"), "%s", out);
    cr_expect(ct_has_line(out, "myfifo=fifo 0 0 600 0 0"), "%s", out);
    free(out);
    hx_assert_clean(c);
}

/* Rootless, a device is the host's node bound in (fifos are made). */
Test(dev, linux_devices_user)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct stat st;
    if (stat("/dev/fuse", &st) < 0 || !S_ISCHR(st.st_mode))
        hx_skip("the host has no /dev/fuse to bind");
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    add_device(s, "/dev/fuse", "c", 10, 229, 0666, 0, 0);
    add_device(s, "/dev/myfifo", "p", 0, 0, 0600, 0, 0);
    char *out = ct_run_script(
        c, bundle, s, "for d in fuse myfifo; do echo $d=$(stat -c '%F %t %T' /dev/$d); done");
    cr_expect(ct_has_line(out, "fuse=character special file a e5"), "%s", out);
    cr_expect(ct_has_line(out, "myfifo=fifo 0 0"), "%s", out);
    free(out);
    hx_assert_clean(c);
}

/* ------------------------------------------------- masked and readonly */

TestSuite(paths);

CT_BOTH(paths, masked_paths)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    char *secret = fx_fmt("%s/rootfs/etc/secret", bundle);
    char *dir = fx_fmt("%s/rootfs/etc/secretdir", bundle);
    char *inner = fx_fmt("%s/file", dir);
    write_owned(c, secret, "top secret\n");
    cr_assert(mkdir(dir, 0755) == 0 && chown(dir, c->uid, c->gid) == 0);
    write_owned(c, inner, "inner\n");
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    md_strv_push(&l->masked_paths, &l->n_masked_paths, "/etc/secret");
    md_strv_push(&l->masked_paths, &l->n_masked_paths, "/etc/secretdir");
    md_strv_push(&l->masked_paths, &l->n_masked_paths, "/etc/not-there");
    char *out =
        ct_run_script(c, bundle, s,
                      "echo file=$(cat /etc/secret); echo dir=$(ls -A /etc/secretdir | wc -l); "
                      "echo keys=$(cat /proc/keys | wc -c); "
                      "touch /etc/secretdir/x 2>/dev/null || echo dir=refused; "
                      "echo x > /etc/secret && echo discarded=$(cat /etc/secret)");
    cr_expect(ct_has_line(out, "file="), "the masked file is readable: %s", out);
    cr_expect(ct_has_line(out, "dir=0"), "the masked directory is not empty: %s", out);
    cr_expect(ct_has_line(out, "keys=0"), "/proc/keys is not masked: %s", out);
    cr_expect(ct_has_line(out, "dir=refused"), "the masked directory is writable: %s", out);
    cr_expect(ct_has_line(out, "discarded="), "%s", out);
    char *text = ct_read(secret);
    cr_expect(text && strcmp(text, "top secret\n") == 0, "the image's file changed: %s", text);
    free(text);
    free(out);
    free(inner);
    free(dir);
    free(secret);
    hx_assert_clean(c);
}

CT_BOTH(paths, readonly_paths)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    s->root->readonly = false;
    md_linux *l = ct_linux(s);
    md_strv_push(&l->readonly_paths, &l->n_readonly_paths, "/etc");
    md_strv_push(&l->readonly_paths, &l->n_readonly_paths, "/not-there");
    char *out = ct_run_script(c, bundle, s,
                              "touch /etc/x 2>&1; touch /made && echo root=writable; "
                              "(echo itest > /proc/sys/kernel/hostname) 2>&1; cat /proc/mounts");
    cr_expect(strstr(out, "touch: /etc/x: Read-only file system"), "/etc is writable: %s", out);
    cr_expect(ct_has_line(out, "root=writable"), "%s", out);
    char *o = mount_options(out, "/proc/sys");
    cr_expect(has_opt(o, "ro"), "/proc/sys: %s", o);
    /* The user's container root may not write there anyway (EACCES). */
    if (who == HX_ROOT)
        cr_expect(strstr(out, "hostname: Read-only file system"), "/proc/sys: %s", out);
    free(o);
    free(out);
    hx_assert_clean(c);
}

/* --------------------------------------------------------- --no-pivot */

TestSuite(nopivot);

CT_BOTH(nopivot, sees_its_rootfs)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_save_script(bundle, s,
                   "echo host=$(cat /etc/hostname); cd /../../..; echo cwd=$(pwd); ls; "
                   "echo work=$(ls /proc/1/root/ | grep -c '^work$')");
    char *id = hx_id("nopivot");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--no-pivot", "--bundle", bundle, id, NULL);
    free(id);
    cr_assert_eq(r.status, 0, "run --no-pivot: exit %d: %s", r.status, r.err);
    cr_expect(ct_has_line(r.out, "host=mdrun-test"), "%s", r.out);
    cr_expect(ct_has_line(r.out, "cwd=/"), "%s", r.out);
    cr_expect(ct_has_line(r.out, "bin") && !ct_has_line(r.out, "work"), "the host's root: %s",
              r.out);
    cr_expect(ct_has_line(r.out, "work=0"), "the host's root through /proc/1/root: %s", r.out);
    fx_result_free(&r);
    hx_assert_clean(c);
}
