/* test-defaults.c - md_spec_default(): the config.json of `mdrun spec`,
 * its rootless variant, and how both compare with `runc spec`. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "spec.h"

/* ---------------------------------------------------------------- helpers */

/* Build the default spec, write it as JSON and parse that back: the
 * assertions below read what a user would find in config.json. */
static md_spec *default_via_json(bool rootless, char **json_out)
{
    md_spec *built = md_spec_default(rootless);
    cr_assert_not_null(built);
    md_error err = {0};
    char *json = NULL;
    size_t len = 0;
    cr_assert_eq(md_spec_to_json(built, &json, &len, &err), 0, "%s", err.msg);
    md_spec_free(built);
    md_spec *spec = NULL;
    md_errors problems = {0};
    int rc = md_spec_load_string(json, len, "config.json", &spec, &problems);
    cr_assert_eq(rc, 0, "reparse: %s", problems.n ? problems.msgs[0] : "?");
    md_errors_clear(&problems);
    if (json_out)
        *json_out = json;
    else
        free(json);
    return spec;
}

static void assert_strv(char **v, size_t n, const char *const *expected, size_t n_expected,
                        const char *what)
{
    cr_assert_eq(n, n_expected, "%s: %zu entries, expected %zu", what, n, n_expected);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(v[i], expected[i], "%s[%zu]", what, i);
}

#define ASSERT_STRV(v, n, what, ...)                                                        \
    do {                                                                                    \
        static const char *const expected_[] = {__VA_ARGS__};                               \
        assert_strv((v), (n), expected_, sizeof(expected_) / sizeof(expected_[0]), (what)); \
    } while (0)

static const md_mount *find_mount(const md_spec *spec, const char *destination)
{
    for (size_t i = 0; i < spec->n_mounts; i++)
        if (strcmp(spec->mounts[i].destination, destination) == 0)
            return &spec->mounts[i];
    return NULL;
}

static bool has_option(const md_mount *m, const char *option)
{
    for (size_t i = 0; i < m->n_options; i++)
        if (strcmp(m->options[i], option) == 0)
            return true;
    return false;
}

static void assert_process(const md_process *p)
{
    cr_assert_not_null(p);
    cr_expect(p->terminal);
    cr_assert_not_null(p->user);
    cr_expect_eq(p->user->uid, 0);
    cr_expect_eq(p->user->gid, 0);
    ASSERT_STRV(p->args, p->n_args, "args", "sh");
    ASSERT_STRV(p->env, p->n_env, "env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm");
    cr_expect_str_eq(p->cwd, "/");
    const md_capabilities *c = p->capabilities;
    cr_assert_not_null(c);
#define CAPS "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"
    ASSERT_STRV(c->bounding, c->n_bounding, "bounding", CAPS);
    ASSERT_STRV(c->effective, c->n_effective, "effective", CAPS);
    ASSERT_STRV(c->permitted, c->n_permitted, "permitted", CAPS);
#undef CAPS
    /* No ambient set: it cannot be granted without an inheritable one. */
    cr_expect_eq(c->n_ambient, 0);
    cr_expect_eq(c->n_inheritable, 0);
    cr_assert_eq(p->n_rlimits, 1);
    cr_expect_str_eq(p->rlimits[0].type, "RLIMIT_NOFILE");
    cr_expect_eq(p->rlimits[0].soft, 1024);
    cr_expect_eq(p->rlimits[0].hard, 1024);
    cr_expect(p->no_new_privileges);
}

static const md_syscall *find_rule(const md_seccomp *sc, const char *name, const char *action)
{
    for (size_t i = 0; i < sc->n_syscalls; i++)
        for (size_t j = 0; j < sc->syscalls[i].n_names; j++)
            if (strcmp(sc->syscalls[i].names[j], name) == 0 &&
                strcmp(sc->syscalls[i].action, action) == 0)
                return &sc->syscalls[i];
    return NULL;
}

/* A Docker-like profile: deny by default (ENOSYS, so that C libraries
 * fall back from newer calls), allow the ordinary calls, EPERM for the
 * privileged ones.  What it lets run is tested in test-seccomp.c and the
 * integration tests. */
static void assert_seccomp(const md_seccomp *sc)
{
    cr_assert_not_null(sc);
    cr_expect_str_eq(sc->default_action, "SCMP_ACT_ERRNO");
    cr_expect(sc->has_default_errno_ret);
    cr_expect_eq(sc->default_errno_ret, 38);
#if defined(__x86_64__)
    ASSERT_STRV(sc->architectures, sc->n_architectures, "architectures", "SCMP_ARCH_X86_64",
                "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#endif
    cr_expect_null(sc->listener_path);
    const char *const allowed[] = {"read",       "write",      "execve", "openat",
                                   "mmap",       "exit_group", "wait4",  "rt_sigaction",
                                   "getdents64", "socketpair"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        const md_syscall *rule = find_rule(sc, allowed[i], "SCMP_ACT_ALLOW");
        cr_expect(rule && rule->n_args == 0, "%s is not allowed unconditionally", allowed[i]);
    }
    const char *const denied[] = {"mount", "unshare", "setns", "kexec_load", "bpf", "keyctl"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        const md_syscall *rule = find_rule(sc, denied[i], "SCMP_ACT_ERRNO");
        cr_expect(rule && rule->has_errno_ret && rule->errno_ret == 1, "%s does not get EPERM",
                  denied[i]);
        cr_expect_null(find_rule(sc, denied[i], "SCMP_ACT_ALLOW"), "%s is allowed", denied[i]);
    }
    const md_syscall *clone = find_rule(sc, "clone", "SCMP_ACT_ALLOW");
    cr_assert_not_null(clone);
    cr_assert_eq(clone->n_args, 1);
    cr_expect_str_eq(clone->args[0].op, "SCMP_CMP_MASKED_EQ");
    cr_expect_eq(clone->args[0].value, 0x7E020000);
    cr_expect_eq(clone->args[0].value_two, 0);
    const md_syscall *clone3 = find_rule(sc, "clone3", "SCMP_ACT_ERRNO");
    cr_expect(clone3 && clone3->errno_ret == 38, "clone3 must fail with ENOSYS");
}

/* What the rootful and rootless specs share. */
static void assert_common(const md_spec *spec)
{
    cr_expect_str_eq(spec->oci_version, MD_OCI_VERSION);
    cr_expect_str_eq(spec->hostname, "mdrun");
    cr_assert_not_null(spec->root);
    cr_expect_str_eq(spec->root->path, "rootfs");
    cr_expect(spec->root->readonly);
    assert_process(spec->process);

    const char *const destinations[] = {"/proc",       "/dev", "/dev/pts",      "/dev/shm",
                                        "/dev/mqueue", "/sys", "/sys/fs/cgroup"};
    cr_assert_eq(spec->n_mounts, 7);
    for (size_t i = 0; i < spec->n_mounts; i++)
        cr_expect_str_eq(spec->mounts[i].destination, destinations[i]);
    const md_mount *proc = find_mount(spec, "/proc");
    cr_expect_str_eq(proc->type, "proc");
    cr_expect_eq(proc->n_options, 0);
    const md_mount *shm = find_mount(spec, "/dev/shm");
    ASSERT_STRV(shm->options, shm->n_options, "/dev/shm options", "nosuid", "noexec", "nodev",
                "mode=1777", "size=65536k");
    const md_mount *cgroup = find_mount(spec, "/sys/fs/cgroup");
    cr_expect_str_eq(cgroup->type, "cgroup");
    cr_expect(has_option(cgroup, "ro"));

    const md_linux *l = spec->linux_;
    cr_assert_not_null(l);
    cr_expect_eq(l->n_masked_paths, 10);
    cr_expect_str_eq(l->masked_paths[2], "/proc/kcore");
    ASSERT_STRV(l->readonly_paths, l->n_readonly_paths, "readonlyPaths", "/proc/bus", "/proc/fs",
                "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
    assert_seccomp(l->seccomp);
    cr_expect_null(spec->hooks);
}

/* ------------------------------------------------------- content, rootful */

Test(defaults, rootful_content)
{
    md_spec *spec = default_via_json(false, NULL);
    assert_common(spec);

    const md_mount *pts = find_mount(spec, "/dev/pts");
    ASSERT_STRV(pts->options, pts->n_options, "/dev/pts options", "nosuid", "noexec", "newinstance",
                "ptmxmode=0666", "mode=0620", "gid=5");
    const md_mount *sys = find_mount(spec, "/sys");
    cr_expect_str_eq(sys->type, "sysfs");
    cr_expect_str_eq(sys->source, "sysfs");
    ASSERT_STRV(sys->options, sys->n_options, "/sys options", "nosuid", "noexec", "nodev", "ro");

    const md_linux *l = spec->linux_;
    cr_assert_eq(l->n_namespaces, 5);
    const char *const types[] = {"pid", "network", "ipc", "uts", "mount"};
    for (size_t i = 0; i < 5; i++) {
        cr_expect_str_eq(l->namespaces[i].type, types[i]);
        cr_expect_null(l->namespaces[i].path);
    }
    cr_expect_eq(l->n_uid_mappings, 0);
    cr_expect_eq(l->n_gid_mappings, 0);
    cr_assert_not_null(l->resources);
    cr_assert_eq(l->resources->n_devices, 1);
    const md_device_rule *rule = &l->resources->devices[0];
    cr_expect_not(rule->allow);
    cr_expect_str_eq(rule->access, "rwm");
    cr_expect_null(rule->type);
    cr_expect_not(rule->has_major || rule->has_minor);
    md_spec_free(spec);
}

/* ------------------------------------------------------ content, rootless */

/* Build the rootless spec as some user, and tell which ids it must map.
 * Run as root, it pretends to be another user for the call (and then
 * comes back, so the sanitizers can still read /proc/self): the mappings
 * must follow the effective ids, not merely say 0. */
static md_spec *rootless_as_someone(uid_t *uid, gid_t *gid)
{
    bool root = geteuid() == 0;
    if (root) {
        cr_assert_eq(setegid(23456), 0);
        cr_assert_eq(seteuid(12345), 0);
    }
    *uid = geteuid();
    *gid = getegid();
    md_spec *spec = default_via_json(true, NULL);
    if (root) {
        cr_assert_eq(seteuid(0), 0);
        cr_assert_eq(setegid(0), 0);
    }
    return spec;
}

Test(defaults, rootless_content)
{
    uid_t uid;
    gid_t gid;
    md_spec *spec = rootless_as_someone(&uid, &gid);
    assert_common(spec);

    const md_mount *pts = find_mount(spec, "/dev/pts");
    cr_expect_not(has_option(pts, "gid=5"));
    ASSERT_STRV(pts->options, pts->n_options, "/dev/pts options", "nosuid", "noexec", "newinstance",
                "ptmxmode=0666", "mode=0620");
    const md_mount *sys = find_mount(spec, "/sys");
    cr_expect_str_eq(sys->type, "none");
    cr_expect_str_eq(sys->source, "/sys");
    ASSERT_STRV(sys->options, sys->n_options, "/sys options", "rbind", "nosuid", "noexec", "nodev",
                "ro");

    const md_linux *l = spec->linux_;
    cr_assert_eq(l->n_namespaces, 5);
    const char *const types[] = {"pid", "ipc", "uts", "mount", "user"};
    for (size_t i = 0; i < 5; i++)
        cr_expect_str_eq(l->namespaces[i].type, types[i]);
    cr_assert_eq(l->n_uid_mappings, 1);
    cr_assert_eq(l->n_gid_mappings, 1);
    cr_expect_eq(l->uid_mappings[0].container_id, 0);
    cr_expect_eq(l->uid_mappings[0].host_id, uid);
    cr_expect_eq(l->uid_mappings[0].size, 1);
    cr_expect_eq(l->gid_mappings[0].container_id, 0);
    cr_expect_eq(l->gid_mappings[0].host_id, gid);
    cr_expect_eq(l->gid_mappings[0].size, 1);
    cr_expect_null(l->resources);
    md_spec_free(spec);
}

Test(defaults, rootful_and_rootless_differ)
{
    char *a = NULL, *b = NULL;
    md_spec_free(default_via_json(false, &a));
    md_spec_free(default_via_json(true, &b));
    cr_expect_str_neq(a, b);
    cr_expect_null(strstr(b, "\"network\""));
    cr_expect_not_null(strstr(a, "\"network\""));
    free(a);
    free(b);
}

/* Serializing twice gives the same text: the model keeps everything. */
Test(defaults, json_round_trip_is_stable)
{
    for (int rootless = 0; rootless <= 1; rootless++) {
        char *first = NULL;
        md_spec *spec = default_via_json(rootless, &first);
        md_error err = {0};
        char *second = NULL;
        cr_assert_eq(md_spec_to_json(spec, &second, NULL, &err), 0, "%s", err.msg);
        cr_expect_str_eq(first, second);
        free(first);
        free(second);
        md_spec_free(spec);
    }
}

/* ------------------------------------------------------------- validation */

static void assert_valid(bool rootless)
{
    md_spec *spec = default_via_json(rootless, NULL);
    md_errors problems = {0};
    int rc = md_spec_validate(spec, "config.json", &problems);
    for (size_t i = 0; i < problems.n; i++)
        cr_log_error("%s", problems.msgs[i]);
    cr_expect_eq(rc, 0, "the default spec (rootless=%d) fails validation", rootless);
    cr_expect_eq(problems.n, 0);
    md_errors_clear(&problems);
    md_spec_free(spec);
}

Test(defaults, rootful_passes_validation)
{
    assert_valid(false);
}

Test(defaults, rootless_passes_validation)
{
    assert_valid(true);
}

/* ------------------------------------------------------ same as runc spec */

static bool in_path(const char *program)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = strdup(path);
    bool found = false;
    for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char *candidate = fx_fmt("%s/%s", *dir ? dir : ".", program);
        found = access(candidate, X_OK) == 0;
        free(candidate);
    }
    free(copy);
    return found;
}

/* Compare two JSON values: objects by key regardless of order, arrays in
 * order.  Returns false and fills where with the JSON path of the first
 * difference. */
static bool json_equal(yajl_val a, yajl_val b, char *where, size_t size);

static bool object_equal(yajl_val a, yajl_val b, char *where, size_t size)
{
    size_t base = strlen(where);
    if (a->u.object.len != b->u.object.len) {
        snprintf(where + base, size - base, " (%zu vs %zu properties)", a->u.object.len,
                 b->u.object.len);
        return false;
    }
    for (size_t i = 0; i < a->u.object.len; i++) {
        const char *key = a->u.object.keys[i];
        snprintf(where + base, size - base, ".%s", key);
        const char *path[] = {key, NULL};
        yajl_val other = yajl_tree_get(b, path, yajl_t_any);
        if (!other || !json_equal(a->u.object.values[i], other, where, size))
            return false;
    }
    where[base] = '\0';
    return true;
}

static bool json_equal(yajl_val a, yajl_val b, char *where, size_t size)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;
    case yajl_t_number:
        return strcmp(a->u.number.r, b->u.number.r) == 0;
    case yajl_t_object:
        return object_equal(a, b, where, size);
    case yajl_t_array: {
        if (a->u.array.len != b->u.array.len)
            return false;
        size_t base = strlen(where);
        for (size_t i = 0; i < a->u.array.len; i++) {
            snprintf(where + base, size - base, "[%zu]", i);
            if (!json_equal(a->u.array.values[i], b->u.array.values[i], where, size))
                return false;
        }
        where[base] = '\0';
        return true;
    }
    default: /* true, false, null: the type says it all */
        return true;
    }
}

static yajl_val parse(const char *text, const char *what)
{
    char msg[256];
    yajl_val tree = yajl_tree_parse(text, msg, sizeof(msg));
    cr_assert_not_null(tree, "%s: %s", what, msg);
    return tree;
}

/* Drop a top-level property from a parsed document. */
static void drop(yajl_val tree, const char *key)
{
    for (size_t i = 0; i < tree->u.object.len; i++) {
        if (strcmp(tree->u.object.keys[i], key) != 0)
            continue;
        free((char *)tree->u.object.keys[i]);
        yajl_tree_free(tree->u.object.values[i]);
        tree->u.object.len--;
        memmove(&tree->u.object.keys[i], &tree->u.object.keys[i + 1],
                (tree->u.object.len - i) * sizeof(char *));
        memmove(&tree->u.object.values[i], &tree->u.object.values[i + 1],
                (tree->u.object.len - i) * sizeof(yajl_val));
        return;
    }
}

static void compare_with_runc(bool rootless)
{
    if (!in_path("runc"))
        cr_skip_test("runc is not in PATH");
    char *dir = fx_tmpdir();
    char *argv[] = {"runc", "spec", "--bundle", dir, rootless ? "--rootless" : NULL, NULL};
    struct fx_result r = fx_run(argv, NULL, NULL);
    cr_assert_eq(r.status, 0, "runc spec: %s", r.err);
    fx_result_free(&r);
    char *path = fx_fmt("%s/config.json", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    static char runc_text[1 << 16];
    size_t n = fread(runc_text, 1, sizeof(runc_text) - 1, f);
    fclose(f);
    runc_text[n] = '\0';

    char *ours_text = NULL;
    md_spec_free(default_via_json(rootless, &ours_text));
    yajl_val ours = parse(ours_text, "mdrun spec");
    yajl_val theirs = parse(runc_text, "runc spec");

    /* The deliberate differences: the spec version each implements, the
     * hostname, which names the runtime, and the ambient set. */
    const char *host[] = {"hostname", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(theirs, host, yajl_t_string)), "runc");
    drop(ours, "ociVersion");
    drop(theirs, "ociVersion");
    drop(ours, "hostname");
    drop(theirs, "hostname");
    /* runc spec has no seccomp profile; ours has a Docker-like one,
     * checked by assert_seccomp above. */
    const char *linux_path[] = {"linux", NULL};
    yajl_val our_linux = yajl_tree_get(ours, linux_path, yajl_t_object);
    cr_assert_not_null(our_linux);
    drop(our_linux, "seccomp");
    /* And no ambient capabilities (see defaults.c). */
    const char *caps_path[] = {"process", "capabilities", NULL};
    yajl_val their_caps = yajl_tree_get(theirs, caps_path, yajl_t_object);
    cr_assert_not_null(their_caps);
    drop(their_caps, "ambient");

    char where[512] = "";
    cr_expect(json_equal(ours, theirs, where, sizeof(where)), "differs from runc at %s",
              *where ? where : "(top level)");
    yajl_tree_free(ours);
    yajl_tree_free(theirs);
    free(ours_text);
    free(path);
    fx_rmtree(dir);
    free(dir);
}

Test(defaults, same_as_runc_spec)
{
    compare_with_runc(false);
}

Test(defaults, same_as_runc_spec_rootless)
{
    compare_with_runc(true);
}
