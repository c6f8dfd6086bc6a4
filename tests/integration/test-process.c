/* test-process.c - the container's process as config.json describes it,
 * seen from inside: args and PATH, env, cwd, user and groups, umask,
 * capabilities, rlimits, noNewPrivileges, oomScoreAdj, hostname,
 * domainname, sysctl, personality and the session keyring; as root and
 * as an unprivileged user. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* Write rel (inside the bundle's rootfs, parents made) owned by the
 * rootfs's owner. */
static void put_file(const char *bundle, const char *rel, const char *text, mode_t mode)
{
    char *rootfs = fx_fmt("%s/rootfs", bundle);
    struct stat st;
    cr_assert(stat(rootfs, &st) == 0);
    char *path = fx_fmt("%s/%s", rootfs, rel);
    for (char *slash = strchr(path + strlen(rootfs) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
        cr_assert(lchown(path, st.st_uid, st.st_gid) == 0);
        *slash = '/';
    }
    fx_write(path, text);
    cr_assert(chmod(path, mode) == 0 && lchown(path, st.st_uid, st.st_gid) == 0);
    free(path);
    free(rootfs);
}

/* Run `sh -c script` in the bundle; it must succeed.  Its stdout (caller
 * frees). */
static char *output_of(struct hx_ctx *c, const char *bundle, const char *script)
{
    struct fx_result r = ct_run(c, bundle, "sh", "-c", script, NULL);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", script, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    fx_result_free(&r);
    return out;
}

static void expect_output(struct hx_ctx *c, const char *bundle, const char *script,
                          const char *want)
{
    char *out = output_of(c, bundle, script);
    cr_expect_str_eq(out, want, "%s: printed\n%s\nwant\n%s", script, out, want);
    free(out);
}

/* A failed create, which must leave nothing behind. */
static void expect_refused(struct hx_ctx *c, const char *bundle, const char *what,
                           const char *needle)
{
    char *id = hx_id("refused");
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", bundle, id, NULL);
    ct_expect_error(&r, what, needle);
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect(!hx_state_exists(c, id), "%s: state left behind", what);
    hx_assert_clean(c);
    free(id);
}

/* ----------------------------------------------------------------- args */

TestSuite(process);

CT_BOTH(process, args_found_through_path)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    put_file(b, "opt/tools/hello", "#!/bin/sh\necho \"hello $*\"\n", 0755);
    md_spec *s = hx_spec_load(b);
    hx_spec_set_env(s, "PATH=/opt/tools:/bin", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    struct fx_result r = ct_run(c, b, "hello", "world", NULL);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "hello world\n");
    fx_result_free(&r);

    /* The container's PATH decides, not mdrun's. */
    s = hx_spec_load(b);
    hx_spec_set_env(s, "PATH=/bin", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    hx_bundle_set_args(b, "hello", NULL);
    expect_refused(c, b, "a program not in the container's PATH", "executable file not found");
}

CT_BOTH(process, relative_args_from_cwd)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    put_file(b, "opt/tools/hello", "#!/bin/sh\necho \"hi from $PWD\"\n", 0755);
    md_spec *s = hx_spec_load(b);
    free(s->process->cwd);
    s->process->cwd = strdup("/opt");
    hx_spec_save(b, s);
    md_spec_free(s);
    struct fx_result r = ct_run(c, b, "tools/hello", NULL);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "hi from /opt\n");
    fx_result_free(&r);
    r = ct_run(c, b, "./tools/hello", NULL);
    cr_expect_str_eq(r.out, "hi from /opt\n", "%s", r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

CT_BOTH(process, missing_or_unusable_executable)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    put_file(b, "opt/not-executable", "#!/bin/sh\necho no\n", 0644);
    hx_bundle_set_args(b, "no-such-program", NULL);
    expect_refused(c, b, "a bare name not found",
                   "exec: \"no-such-program\": executable file not found in $PATH");
    hx_bundle_set_args(b, "/bin/no-such-program", NULL);
    expect_refused(c, b, "an absolute path not found", "no such file or directory");
    hx_bundle_set_args(b, "/opt/not-executable", NULL);
    expect_refused(c, b, "a file without execute permission", "permission denied");
    hx_bundle_set_args(b, "/opt", NULL);
    expect_refused(c, b, "a directory", "is a directory");
}

/* ------------------------------------------------------------ env, cwd */

CT_BOTH(process, env_exactly_as_given)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    hx_spec_set_env(s, "PATH=/bin", "A=1", "SPACED=two words", "EMPTY=", "EQ=a=b", NULL);
    hx_spec_set_args(s, "env", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    struct fx_result r = ct_run_bundle(c, b);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_eq(r.out, "PATH=/bin\nA=1\nSPACED=two words\nEMPTY=\nEQ=a=b\n");
    fx_result_free(&r);

    /* No env at all: an empty environment, not mdrun's. */
    s = hx_spec_load(b);
    md_strv_free(s->process->env, s->process->n_env);
    s->process->env = NULL;
    s->process->n_env = 0;
    hx_spec_set_args(s, "/bin/env", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    r = ct_run_bundle(c, b);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_str_empty(r.out, "environment without process.env: %s", r.out);
    fx_result_free(&r);
}

CT_BOTH(process, cwd)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    free(s->process->cwd);
    s->process->cwd = strdup("/tmp");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "pwd", "/tmp\n");

    s = hx_spec_load(b);
    free(s->process->cwd);
    s->process->cwd = strdup("/does/not/exist");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "pwd; ls -d /does/not/exist", "/does/not/exist\n/does/not/exist\n");
}

/* ------------------------------------------------------ user and groups */

static void set_user(const char *bundle, unsigned uid, unsigned gid, const unsigned *groups,
                     size_t n_groups, int umask_value)
{
    md_spec *s = hx_spec_load(bundle);
    md_user *u = ct_user(s);
    u->uid = uid;
    u->gid = gid;
    free(u->additional_gids);
    u->additional_gids = n_groups ? calloc(n_groups, sizeof(*u->additional_gids)) : NULL;
    for (size_t i = 0; i < n_groups; i++)
        u->additional_gids[i] = groups[i];
    u->n_additional_gids = n_groups;
    u->has_umask = umask_value >= 0;
    u->umask = umask_value >= 0 ? (uint32_t)umask_value : 0;
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

static void set_maps(md_spec *s, unsigned host, unsigned size)
{
    md_linux *l = ct_linux(s);
    free(l->uid_mappings);
    free(l->gid_mappings);
    l->uid_mappings = calloc(1, sizeof(md_idmap));
    l->gid_mappings = calloc(1, sizeof(md_idmap));
    *l->uid_mappings = *l->gid_mappings = (md_idmap){0, host, size};
    l->n_uid_mappings = l->n_gid_mappings = 1;
}

/* No uidMappings/gidMappings: the rootless default maps. */
static void drop_maps(md_spec *s)
{
    md_linux *l = ct_linux(s);
    free(l->uid_mappings);
    free(l->gid_mappings);
    l->uid_mappings = NULL;
    l->gid_mappings = NULL;
    l->n_uid_mappings = l->n_gid_mappings = 0;
}

/* The ids, groups and umask a process sees, and the owner on the host of
 * a file it writes to /shared. */
static const char id_script[] = "id -u; id -g; id -G; umask; touch /shared/f; ls -ln /shared/f";

static void expect_identity(struct hx_ctx *c, const char *bundle, const char *shared,
                            const char *want, unsigned host_uid, unsigned host_gid)
{
    char *f = fx_fmt("%s/f", shared);
    unlink(f);
    char *out = output_of(c, bundle, id_script);
    cr_expect(strncmp(out, want, strlen(want)) == 0, "id printed\n%s\nwant\n%s", out, want);
    struct stat st;
    cr_expect(stat(f, &st) == 0, "the process did not create %s: %s", f, out);
    cr_expect(st.st_uid == host_uid && st.st_gid == host_gid,
              "a file the process made is owned by %u:%u on the host, want %u:%u",
              (unsigned)st.st_uid, (unsigned)st.st_gid, host_uid, host_gid);
    /* umask 027 leaves no permission for others. */
    cr_expect((st.st_mode & 0777) == 0640, "mode %o under umask 027", st.st_mode & 0777);
    free(out);
    free(f);
}

Test(process, user_as_root)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    hx_spec_save(b, s);
    md_spec_free(s);
    set_user(b, 1000, 1000, (const unsigned[]){10, 100}, 2, 027);
    expect_identity(c, b, shared, "1000\n1000\n1000 10 100\n0027\n", 1000, 1000);
    free(shared);
}

/* Root with a user namespace mapping 65536 ids from 200000. */
Test(process, user_as_root_in_user_namespace)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    ct_add_ns(s, "user");
    set_maps(s, 200000, 65536);
    hx_spec_save(b, s);
    md_spec_free(s);
    /* The container's root must own its rootfs. */
    char *const chown_argv[] = {"chown", "-R", "200000:200000", (char *)b, NULL};
    struct fx_result r = fx_run(chown_argv, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    fx_result_free(&r);
    set_user(b, 1000, 1000, (const unsigned[]){10, 100}, 2, 027);
    expect_identity(c, b, shared, "1000\n1000\n1000 10 100\n0027\n", 201000, 201000);
    expect_output(c, b, "cat /proc/self/uid_map | tr -s ' '", " 0 200000 65536\n");
    free(shared);
}

/* Rootless without uidMappings/gidMappings: the process's own ids map to
 * the user's, the others come from /etc/subuid through newuidmap. */
Test(process, user_rootless_default_maps)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    char *shared = ct_shared_dir(c, s, "shared");
    drop_maps(s);
    hx_spec_save(b, s);
    md_spec_free(s);
    set_user(b, 1000, 1000, (const unsigned[]){10, 100}, 2, 027);
    expect_identity(c, b, shared, "1000\n1000\n1000 10 100\n0027\n", c->uid, c->gid);
    char *maps = output_of(c, b, "cat /proc/self/uid_map");
    cr_expect(fx_count_lines(maps) >= 2, "a single mapping, not the subordinate ids: %s", maps);
    char *own = fx_fmt(" %u ", (unsigned)c->uid);
    cr_expect(strstr(maps, own), "the user's uid %u is not mapped: %s", (unsigned)c->uid, maps);
    free(own);
    free(maps);

    /* An id mapped from the subordinate range, not to the user. */
    set_user(b, 0, 0, NULL, 0, 027);
    expect_output(c, b, "id -u; id -G", "0\n0\n");
    free(shared);
}

/* With `mdrun spec --rootless`'s single mapping, setgroups is denied: an
 * additionalGids entry is refused clearly. */
Test(process, user_rootless_single_map_refuses_groups)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *b = ct_bundle(c, 0);
    set_user(b, 0, 0, (const unsigned[]){0}, 1, -1);
    hx_bundle_set_args(b, "true", NULL);
    expect_refused(c, b, "additionalGids with one mapping", "additionalGids");
}

/* A uid the user namespace does not map is refused, naming it. */
Test(process, user_rootless_unmapped_uid)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *b = ct_bundle(c, 0);
    set_user(b, 1000, 0, NULL, 0, -1);
    hx_bundle_set_args(b, "true", NULL);
    expect_refused(c, b, "a uid the single mapping lacks", "1000");
}

/* ------------------------------------------------------- capabilities */

static void set_caps(const char *bundle, const char *const *bnd, const char *const *set,
                     bool ambient, bool nnp)
{
    md_spec *s = hx_spec_load(bundle);
    md_capabilities *caps = s->process->capabilities;
    if (!caps)
        caps = s->process->capabilities = calloc(1, sizeof(*caps));
    char ***lists[] = {&caps->bounding, &caps->effective, &caps->permitted, &caps->inheritable,
                       &caps->ambient};
    size_t *counts[] = {&caps->n_bounding, &caps->n_effective, &caps->n_permitted,
                        &caps->n_inheritable, &caps->n_ambient};
    for (size_t i = 0; i < 5; i++) {
        md_strv_free(*lists[i], *counts[i]);
        *lists[i] = NULL;
        *counts[i] = 0;
        const char *const *from = i == 0 ? bnd : (i >= 3 && !ambient) ? NULL : set;
        for (size_t j = 0; from && from[j]; j++)
            md_strv_push(lists[i], counts[i], from[j]);
    }
    s->process->no_new_privileges = nnp;
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

static void expect_caps(struct hx_ctx *c, const char *bundle, uint64_t eff, uint64_t prm,
                        uint64_t bnd, uint64_t amb)
{
    char *status = output_of(c, bundle, "exec cat /proc/self/status");
    cr_expect_eq(ct_status_hex(status, "CapEff"), eff, "CapEff %#llx, want %#llx",
                 (unsigned long long)ct_status_hex(status, "CapEff"), (unsigned long long)eff);
    cr_expect_eq(ct_status_hex(status, "CapPrm"), prm, "CapPrm %#llx, want %#llx",
                 (unsigned long long)ct_status_hex(status, "CapPrm"), (unsigned long long)prm);
    cr_expect_eq(ct_status_hex(status, "CapBnd"), bnd, "CapBnd %#llx, want %#llx",
                 (unsigned long long)ct_status_hex(status, "CapBnd"), (unsigned long long)bnd);
    cr_expect_eq(ct_status_hex(status, "CapAmb"), amb, "CapAmb %#llx, want %#llx",
                 (unsigned long long)ct_status_hex(status, "CapAmb"), (unsigned long long)amb);
    free(status);
}

#define BIT(n) (1ULL << (n))
enum { CHOWN = 0, KILL = 5, NET_BIND_SERVICE = 10, SYS_ADMIN = 21 };

CT_BOTH(process, capabilities)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    const char *const bnd[] = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};
    const char *const set[] = {"CAP_CHOWN", "CAP_KILL", NULL};
    const uint64_t bnd_mask = BIT(CHOWN) | BIT(KILL) | BIT(NET_BIND_SERVICE);
    const uint64_t set_mask = BIT(CHOWN) | BIT(KILL);

    /* Root with noNewPrivileges keeps exactly the permitted set across
     * execve (without it, execve as root grants the bounding set). */
    set_caps(b, bnd, set, false, true);
    expect_caps(c, b, set_mask, set_mask, bnd_mask, 0);

    /* A non-root user keeps capabilities only through the ambient set. */
    set_user(b, 1000, 1000, NULL, 0, -1);
    if (who == HX_USER) {
        /* The single mapping of `spec --rootless` has no uid 1000. */
        md_spec *s = hx_spec_load(b);
        drop_maps(s);
        hx_spec_save(b, s);
        md_spec_free(s);
    }
    set_caps(b, bnd, set, true, false);
    expect_caps(c, b, set_mask, set_mask, bnd_mask, set_mask);
    set_caps(b, bnd, set, false, false);
    expect_caps(c, b, 0, 0, bnd_mask, 0);

    /* Every list empty: nothing, not even in the bounding set. */
    set_caps(b, NULL, NULL, false, false);
    expect_caps(c, b, 0, 0, 0, 0);
}

/* ------------------------------------------------- limits and attributes */

static void set_rlimit(md_spec *s, const char *type, uint64_t soft, uint64_t hard)
{
    md_process *p = s->process;
    for (size_t i = 0; i < p->n_rlimits; i++)
        if (strcmp(p->rlimits[i].type, type) == 0) {
            p->rlimits[i].soft = soft;
            p->rlimits[i].hard = hard;
            return;
        }
    p->rlimits = realloc(p->rlimits, (p->n_rlimits + 1) * sizeof(*p->rlimits));
    p->rlimits[p->n_rlimits++] = (md_rlimit){strdup(type), soft, hard};
}

CT_BOTH(process, rlimits)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    set_rlimit(s, "RLIMIT_NOFILE", 100, 200);
    set_rlimit(s, "RLIMIT_CORE", 0, 0);
    set_rlimit(s, "RLIMIT_STACK", 4 << 20, 8 << 20);
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "ulimit -Sn; ulimit -Hn; ulimit -c; ulimit -Ss; ulimit -Hs",
                  "100\n200\n0\n4096\n8192\n");

    if (who == HX_USER) {
        /* Above the user's hard limit: refused, not silently lowered. */
        s = hx_spec_load(b);
        set_rlimit(s, "RLIMIT_NOFILE", 100, 1ULL << 40);
        hx_spec_save(b, s);
        md_spec_free(s);
        expect_refused(c, b, "an rlimit above the hard limit", "RLIMIT_NOFILE");
    }
}

CT_BOTH(process, no_new_privileges)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    for (int on = 0; on <= 1; on++) {
        md_spec *s = hx_spec_load(b);
        s->process->no_new_privileges = on;
        hx_spec_save(b, s);
        md_spec_free(s);
        expect_output(c, b, "grep NoNewPrivs /proc/self/status",
                      on ? "NoNewPrivs:\t1\n" : "NoNewPrivs:\t0\n");
    }
}

static void set_oom_score_adj(const char *bundle, int value)
{
    md_spec *s = hx_spec_load(bundle);
    s->process->has_oom_score_adj = true;
    s->process->oom_score_adj = value;
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

/* Lowering it takes CAP_SYS_RESOURCE, which even root may lack (in a
 * container running these tests). */
static bool have_sys_resource(void)
{
    char *status = ct_read("/proc/self/status");
    cr_assert(status);
    bool have = ct_status_hex(status, "CapEff") & (1ULL << 24);
    free(status);
    return have;
}

CT_BOTH(process, oom_score_adj)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    const int values[] = {500, 1000};
    for (size_t i = 0; i < 2; i++) {
        set_oom_score_adj(b, values[i]);
        char *want = fx_fmt("%d\n", values[i]);
        expect_output(c, b, "cat /proc/self/oom_score_adj", want);
        free(want);
    }
    set_oom_score_adj(b, -500);
    if (who == HX_ROOT && have_sys_resource())
        expect_output(c, b, "cat /proc/self/oom_score_adj", "-500\n");
    else
        expect_refused(c, b, "lowering oom_score_adj without CAP_SYS_RESOURCE", "oom_score_adj");
}

CT_BOTH(process, hostname_and_domainname)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    free(s->hostname);
    free(s->domainname);
    s->hostname = strdup("box-one");
    s->domainname = strdup("example.org");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "hostname; cat /proc/sys/kernel/domainname", "box-one\nexample.org\n");

    /* Without a uts namespace the host's name must not be changed. */
    s = hx_spec_load(b);
    ct_del_ns(s, "uts");
    free(s->domainname);
    s->domainname = NULL;
    hx_spec_save(b, s);
    md_spec_free(s);
    hx_bundle_set_args(b, "true", NULL);
    expect_refused(c, b, "hostname without a uts namespace", "hostname");
}

CT_BOTH(process, sysctl)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    md_linux *l = ct_linux(s);
    ct_set_kv(&l->sysctl, &l->n_sysctl, "kernel.shm_rmid_forced", "1");
    ct_set_kv(&l->sysctl, &l->n_sysctl, "kernel.msgmax", "4242");
    if (who == HX_ROOT) {
        ct_add_ns(s, "network");
        ct_set_kv(&l->sysctl, &l->n_sysctl, "net.ipv4.ip_forward", "1");
    }
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "cat /proc/sys/kernel/shm_rmid_forced /proc/sys/kernel/msgmax",
                  "1\n4242\n");
    if (who == HX_ROOT)
        expect_output(c, b, "cat /proc/sys/net/ipv4/ip_forward", "1\n");
    /* The host's values are untouched. */
    char *host = ct_read("/proc/sys/kernel/shm_rmid_forced");
    cr_expect(host && strcmp(host, "0\n") == 0, "the host's shm_rmid_forced is %s", host);
    free(host);

    /* A network sysctl without a network namespace would change the host. */
    s = hx_spec_load(b);
    ct_del_ns(s, "network");
    l = ct_linux(s);
    ct_set_kv(&l->sysctl, &l->n_sysctl, "net.ipv4.ip_forward", "1");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_refused(c, b, "a network sysctl without a network namespace", "net.ipv4.ip_forward");
    /* Nor a global one.  The host's own value, so that a broken mdrun
     * changes nothing. */
    char *swappiness = ct_read("/proc/sys/vm/swappiness");
    cr_assert(swappiness);
    swappiness[strcspn(swappiness, "\n")] = '\0';
    s = hx_spec_load(b);
    l = ct_linux(s);
    for (size_t i = 0; i < l->n_sysctl; i++) {
        free(l->sysctl[i].key);
        free(l->sysctl[i].value);
    }
    l->n_sysctl = 0;
    ct_set_kv(&l->sysctl, &l->n_sysctl, "vm.swappiness", swappiness);
    free(swappiness);
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_refused(c, b, "a sysctl no namespace holds", "vm.swappiness");
}

CT_BOTH(process, personality_linux32)
{
    struct utsname u;
    cr_assert(uname(&u) == 0);
    if (strcmp(u.machine, "x86_64") != 0)
        hx_skip("LINUX32 shows as i686 only on x86_64 (this is %s)", u.machine);
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    md_linux *l = ct_linux(s);
    l->personality = calloc(1, sizeof(*l->personality));
    l->personality->domain = strdup("LINUX32");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "uname -m", "i686\n");
    s = hx_spec_load(b);
    free(s->linux_->personality->domain);
    s->linux_->personality->domain = strdup("LINUX");
    hx_spec_save(b, s);
    md_spec_free(s);
    expect_output(c, b, "uname -m", "x86_64\n");
}

/* The session keyring, named after the container, shows in /proc/keys
 * (masked by default: unmasked here); --no-new-keyring keeps mdrun's. */
CT_BOTH(process, session_keyring)
{
    if (access("/proc/keys", R_OK) != 0)
        hx_skip("no /proc/keys: the kernel has no keys support");
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    md_linux *l = ct_linux(s);
    for (size_t i = 0; i < l->n_masked_paths; i++)
        if (strcmp(l->masked_paths[i], "/proc/keys") == 0) {
            free(l->masked_paths[i]);
            l->masked_paths[i] = l->masked_paths[--l->n_masked_paths];
            break;
        }
    hx_spec_set_args(s, "cat", "/proc/keys", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);

    char *id = hx_id("keyring");
    char *name = fx_fmt(" %s: ", id);
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, name), "no keyring named %s in /proc/keys:\n%s", id, r.out);
    fx_result_free(&r);

    /* Another id: the first keyring may outlive its container a while. */
    char *id2 = hx_id("nokeyring");
    char *name2 = fx_fmt(" %s: ", id2);
    r = hx_mdrun(c, NULL, "run", "--no-new-keyring", "--bundle", b, id2, NULL);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, name2), "--no-new-keyring made a keyring:\n%s", r.out);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(name2);
    free(id2);
    free(name);
    free(id);
}
