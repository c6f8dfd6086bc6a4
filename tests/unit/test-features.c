/* test-features.c - the Features structure of `mdrun features` and the
 * library lines of `mdrun --version`. */
#include "config.h"

#include <criterion/criterion.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "features.h"
#include "fixture.h"

static const struct md_feature_set everything = {
    .hooks = true,
    .mount_options = true,
    .namespaces = true,
    .capabilities = true,
    .cgroup_v1 = true,
    .cgroup_v2 = true,
    .cgroup_systemd = true,
    .cgroup_systemd_user = true,
    .cgroup_rdma = true,
    .seccomp = true,
    .apparmor = true,
    .selinux = true,
    .memory_policy = true,
    .intel_rdt = true,
    .intel_rdt_schemata = true,
    .intel_rdt_monitoring = true,
    .idmap_mounts = true,
    .net_devices = true,
};
static const struct md_feature_set nothing = {0};

static yajl_val features_tree(const struct md_feature_set *set)
{
    md_error err = {0};
    char *json = NULL;
    size_t len = 0;
    cr_assert_eq(md_features_json_for(set, &json, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(strlen(json), len);
    cr_assert(len > 0 && json[len - 1] == '\n', "output must end in a newline");
    char msg[256];
    yajl_val tree = yajl_tree_parse(json, msg, sizeof(msg));
    cr_assert_not_null(tree, "features JSON does not parse: %s\n%s", msg, json);
    free(json);
    return tree;
}

static yajl_val get(yajl_val tree, const char *dotted)
{
    const char *path[8];
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", dotted);
    size_t n = 0;
    for (char *save = NULL, *p = strtok_r(copy, ".", &save); p && n < 7;
         p = strtok_r(NULL, ".", &save))
        path[n++] = p;
    path[n] = NULL;
    return yajl_tree_get(tree, path, yajl_t_any);
}

static bool array_has(yajl_val array, const char *s)
{
    for (size_t i = 0; array && i < array->u.array.len; i++) {
        const char *item = YAJL_GET_STRING(array->u.array.values[i]);
        if (item && strcmp(item, s) == 0)
            return true;
    }
    return false;
}

/* -------------------------------------- features-schema.json, as rules */

enum kind { STRING, BOOL, OBJECT, STRINGS, STRING_MAP };

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Every property the Features structure of runtime-spec 1.3 defines (the
 * schema plus features-linux.md), with its type and allowed values. */
static const struct rule {
    const char *path;
    enum kind kind;
    const char *const *allowed; /* items of STRINGS; NULL for any string */
    bool cap_pattern;           /* items match ^CAP_[A-Z_]+$ */
} rules[] = {
    {"ociVersionMin", STRING, NULL, false},
    {"ociVersionMax", STRING, NULL, false},
    {"hooks", STRINGS, NULL, false},
    {"mountOptions", STRINGS, NULL, false},
    {"annotations", STRING_MAP, NULL, false},
    {"potentiallyUnsafeConfigAnnotations", STRINGS, NULL, false},
    {"linux", OBJECT, NULL, false},
    {"linux.namespaces", STRINGS,
     LIST("mount", "pid", "network", "uts", "ipc", "user", "cgroup", "time"), false},
    {"linux.capabilities", STRINGS, NULL, true},
    {"linux.cgroup", OBJECT, NULL, false},
    {"linux.cgroup.v1", BOOL, NULL, false},
    {"linux.cgroup.v2", BOOL, NULL, false},
    {"linux.cgroup.systemd", BOOL, NULL, false},
    {"linux.cgroup.systemdUser", BOOL, NULL, false},
    {"linux.cgroup.rdma", BOOL, NULL, false},
    {"linux.seccomp", OBJECT, NULL, false},
    {"linux.seccomp.enabled", BOOL, NULL, false},
    {"linux.seccomp.actions", STRINGS,
     LIST("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
          "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"),
     false},
    {"linux.seccomp.operators", STRINGS,
     LIST("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
          "SCMP_CMP_MASKED_EQ"),
     false},
    {"linux.seccomp.archs", STRINGS,
     LIST("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
          "SCMP_ARCH_AARCH64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_MIPS",
          "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
          "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE",
          "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB", "SCMP_ARCH_PARISC",
          "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"),
     false},
#define SECCOMP_FLAGS                                                                              \
    LIST("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", \
         "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
    {"linux.seccomp.knownFlags", STRINGS, SECCOMP_FLAGS, false},
    {"linux.seccomp.supportedFlags", STRINGS, SECCOMP_FLAGS, false},
    {"linux.apparmor", OBJECT, NULL, false},
    {"linux.apparmor.enabled", BOOL, NULL, false},
    {"linux.selinux", OBJECT, NULL, false},
    {"linux.selinux.enabled", BOOL, NULL, false},
    {"linux.memoryPolicy", OBJECT, NULL, false},
    {"linux.memoryPolicy.modes", STRINGS, NULL, false},
    {"linux.memoryPolicy.flags", STRINGS, NULL, false},
    {"linux.intelRdt", OBJECT, NULL, false},
    {"linux.intelRdt.enabled", BOOL, NULL, false},
    {"linux.intelRdt.schemata", BOOL, NULL, false},
    {"linux.intelRdt.monitoring", BOOL, NULL, false},
    {"linux.mountExtensions", OBJECT, NULL, false},
    {"linux.mountExtensions.idmap", OBJECT, NULL, false},
    {"linux.mountExtensions.idmap.enabled", BOOL, NULL, false},
    {"linux.netDevices", OBJECT, NULL, false},
    {"linux.netDevices.enabled", BOOL, NULL, false},
};

static const struct rule *rule_for(const char *path)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strcmp(rules[i].path, path) == 0)
            return &rules[i];
    return NULL;
}

static bool is_cap_name(const char *s)
{
    if (strncmp(s, "CAP_", 4) != 0 || !s[4])
        return false;
    for (s += 4; *s; s++)
        if (!(*s >= 'A' && *s <= 'Z') && *s != '_')
            return false;
    return true;
}

static void check_strings(yajl_val v, const struct rule *r)
{
    cr_assert(YAJL_IS_ARRAY(v), "%s: must be an array", r->path);
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val item = v->u.array.values[i];
        cr_assert(YAJL_IS_STRING(item), "%s[%zu]: must be a string", r->path, i);
        const char *s = YAJL_GET_STRING(item);
        if (r->cap_pattern)
            cr_expect(is_cap_name(s), "%s[%zu]: \"%s\" is not a capability name", r->path, i, s);
        bool known = !r->allowed;
        for (const char *const *a = r->allowed; a && *a && !known; a++)
            known = strcmp(*a, s) == 0;
        cr_expect(known, "%s[%zu]: \"%s\" is not allowed by the schema", r->path, i, s);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(s, YAJL_GET_STRING(v->u.array.values[j]), "%s: \"%s\" twice", r->path,
                              s);
    }
}

static void check_object(yajl_val obj, const char *prefix);

static void check_value(yajl_val v, const struct rule *r)
{
    switch (r->kind) {
    case STRING:
        cr_expect(YAJL_IS_STRING(v), "%s: must be a string", r->path);
        break;
    case BOOL:
        cr_expect(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v), "%s: must be a boolean", r->path);
        break;
    case STRINGS:
        check_strings(v, r);
        break;
    case STRING_MAP:
        cr_assert(YAJL_IS_OBJECT(v), "%s: must be an object", r->path);
        for (size_t i = 0; i < v->u.object.len; i++)
            cr_expect(YAJL_IS_STRING(v->u.object.values[i]), "%s.%s: must be a string", r->path,
                      v->u.object.keys[i]);
        break;
    case OBJECT:
        cr_assert(YAJL_IS_OBJECT(v), "%s: must be an object", r->path);
        check_object(v, r->path);
        break;
    }
}

/* Every property must be one the spec defines ("MUST NOT contain
 * properties that are not defined"), with the type it defines. */
static void check_object(yajl_val obj, const char *prefix)
{
    for (size_t i = 0; i < obj->u.object.len; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", obj->u.object.keys[i]);
        const struct rule *r = rule_for(path);
        cr_expect_not_null(r, "%s: not a property of the Features structure", path);
        if (r)
            check_value(obj->u.object.values[i], r);
    }
}

static void assert_schema(const struct md_feature_set *set)
{
    yajl_val tree = features_tree(set);
    cr_assert(YAJL_IS_OBJECT(tree));
    cr_expect_not_null(get(tree, "ociVersionMin"), "ociVersionMin is required");
    cr_expect_not_null(get(tree, "ociVersionMax"), "ociVersionMax is required");
    check_object(tree, "");
    yajl_tree_free(tree);
}

Test(features, implemented_passes_schema)
{
    assert_schema(&md_features_implemented);
}

Test(features, everything_on_passes_schema)
{
    assert_schema(&everything);
}

Test(features, nothing_on_passes_schema)
{
    assert_schema(&nothing);
}

/* The rule checker itself must reject what the schema rejects. */
Test(features, schema_rules_catch_unknown_values)
{
    cr_expect(is_cap_name("CAP_SYS_ADMIN"));
    cr_expect_not(is_cap_name("cap_sys_admin"));
    cr_expect_not(is_cap_name("CAP_"));
    cr_expect_null(rule_for("linux.bogus"));
    cr_expect_not_null(rule_for("linux.seccomp.archs"));
}

/* ---------------------------------------------------------------- versions */

static void parse_version(const char *s, unsigned v[3])
{
    cr_assert_eq(sscanf(s, "%u.%u.%u", &v[0], &v[1], &v[2]), 3, "\"%s\" is not X.Y.Z", s);
}

Test(features, oci_versions)
{
    yajl_val tree = features_tree(&md_features_implemented);
    const char *min = YAJL_GET_STRING(get(tree, "ociVersionMin"));
    const char *max = YAJL_GET_STRING(get(tree, "ociVersionMax"));
    cr_assert_not_null(min);
    cr_assert_not_null(max);
    cr_expect_str_eq(min, MD_OCI_VERSION_MIN);
    cr_expect_str_eq(max, MD_OCI_VERSION);
    cr_expect_str_eq(max, md_oci_version());
    unsigned a[3], b[3];
    parse_version(min, a);
    parse_version(max, b);
    int order = 0;
    for (int i = 0; i < 3 && order == 0; i++)
        order = (a[i] > b[i]) - (a[i] < b[i]);
    cr_expect_leq(order, 0, "ociVersionMin %s is above ociVersionMax %s", min, max);
    yajl_tree_free(tree);
}

/* ------------------------------------------------ sections follow the flags */

struct flag_view {
    size_t off;       /* the flag in struct md_feature_set */
    const char *path; /* where it shows in the JSON */
    bool boolean;     /* printed as its value, else a list present or not */
};

#define FLAG(m, p, b)                            \
    {                                            \
        offsetof(struct md_feature_set, m), p, b \
    }
static const struct flag_view views[] = {
    FLAG(hooks, "hooks", false),
    FLAG(mount_options, "mountOptions", false),
    FLAG(namespaces, "linux.namespaces", false),
    FLAG(capabilities, "linux.capabilities", false),
    FLAG(cgroup_v1, "linux.cgroup.v1", true),
    FLAG(cgroup_v2, "linux.cgroup.v2", true),
    FLAG(cgroup_systemd, "linux.cgroup.systemd", true),
    FLAG(cgroup_systemd_user, "linux.cgroup.systemdUser", true),
    FLAG(cgroup_rdma, "linux.cgroup.rdma", true),
    FLAG(seccomp, "linux.seccomp.enabled", true),
    FLAG(seccomp, "linux.seccomp.actions", false),
    FLAG(seccomp, "linux.seccomp.operators", false),
    FLAG(seccomp, "linux.seccomp.archs", false),
    FLAG(seccomp, "linux.seccomp.knownFlags", false),
    FLAG(seccomp, "linux.seccomp.supportedFlags", false),
    FLAG(seccomp, "annotations", false),
    FLAG(apparmor, "linux.apparmor.enabled", true),
    FLAG(selinux, "linux.selinux.enabled", true),
    FLAG(memory_policy, "linux.memoryPolicy", false),
    FLAG(intel_rdt, "linux.intelRdt.enabled", true),
    FLAG(intel_rdt_schemata, "linux.intelRdt.schemata", true),
    FLAG(intel_rdt_monitoring, "linux.intelRdt.monitoring", true),
    FLAG(idmap_mounts, "linux.mountExtensions.idmap.enabled", true),
    FLAG(net_devices, "linux.netDevices.enabled", true),
};

static void assert_follows(const struct md_feature_set *set)
{
    yajl_val tree = features_tree(set);
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        bool on = *(const bool *)((const char *)set + views[i].off);
        yajl_val v = get(tree, views[i].path);
        if (views[i].boolean) {
            cr_expect(on ? YAJL_IS_TRUE(v) : YAJL_IS_FALSE(v), "%s must be %s", views[i].path,
                      on ? "true" : "false");
        } else if (on) {
            cr_expect_not_null(v, "%s is on but not printed", views[i].path);
            if (v && YAJL_IS_ARRAY(v))
                cr_expect_gt(v->u.array.len, 0, "%s is on but empty", views[i].path);
        } else {
            cr_expect_null(v, "%s is printed but not implemented", views[i].path);
        }
    }
    yajl_tree_free(tree);
}

Test(features, implemented_sections_follow_flags)
{
    assert_follows(&md_features_implemented);
}

Test(features, all_sections_follow_flags)
{
    assert_follows(&everything);
    assert_follows(&nothing);
}

/* Each flag, alone, turns on its own sections and nothing else. */
Test(features, one_flag_one_section)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        struct md_feature_set set = {0};
        *(bool *)((char *)&set + views[i].off) = true;
        assert_follows(&set);
    }
}

/* ---------------------------------------------- content once switched on */

Test(features, capabilities_from_libcap)
{
    yajl_val tree = features_tree(&everything);
    yajl_val caps = get(tree, "linux.capabilities");
    cr_assert(YAJL_IS_ARRAY(caps));
    cr_expect_str_eq(YAJL_GET_STRING(caps->u.array.values[0]), "CAP_CHOWN");
    cr_expect(array_has(caps, "CAP_SYS_ADMIN"));
    cr_expect(array_has(caps, "CAP_NET_BIND_SERVICE"));
    /* CAP_AUDIT_READ (37) exists in every kernel this runtime supports. */
    cr_expect_geq(caps->u.array.len, 38);
    yajl_tree_free(tree);
}

Test(features, seccomp_from_libseccomp)
{
    yajl_val tree = features_tree(&everything);
    yajl_val archs = get(tree, "linux.seccomp.archs");
#if defined(__x86_64__)
    cr_expect(array_has(archs, "SCMP_ARCH_X86_64"));
    cr_expect(array_has(archs, "SCMP_ARCH_X86"));
#elif defined(__aarch64__)
    cr_expect(array_has(archs, "SCMP_ARCH_AARCH64"));
#endif
    cr_expect(array_has(get(tree, "linux.seccomp.actions"), "SCMP_ACT_ERRNO"));
    cr_expect(array_has(get(tree, "linux.seccomp.operators"), "SCMP_CMP_MASKED_EQ"));
    yajl_val known = get(tree, "linux.seccomp.knownFlags");
    yajl_val supported = get(tree, "linux.seccomp.supportedFlags");
    cr_assert(YAJL_IS_ARRAY(known) && YAJL_IS_ARRAY(supported));
    for (size_t i = 0; i < supported->u.array.len; i++)
        cr_expect(array_has(known, YAJL_GET_STRING(supported->u.array.values[i])),
                  "supportedFlags must be a subset of knownFlags");

    const struct scmp_version *v = seccomp_version();
    char *expected = fx_fmt("%u.%u.%u", v->major, v->minor, v->micro);
    const char *path[] = {"annotations", "io.github.seccomp.libseccomp.version", NULL};
    yajl_val version = yajl_tree_get(tree, path, yajl_t_string);
    cr_assert_not_null(version);
    cr_expect_str_eq(YAJL_GET_STRING(version), expected);
    free(expected);
    yajl_tree_free(tree);
}

/* -------------------------------------------------------- --version lines */

Test(features, compiled_features_name_the_libraries)
{
    const char *lines = md_compiled_features();
    const struct scmp_version *v = seccomp_version();
    char *seccomp = fx_fmt("libseccomp: %u.%u.%u", v->major, v->minor, v->micro);
    cr_expect_not_null(strstr(lines, seccomp), "\"%s\" lacks \"%s\"", lines, seccomp);
    cr_expect_not_null(strstr(lines, "yajl: 2."), "%s", lines);
    cr_expect_neq(lines[strlen(lines) - 1], '\n', "main() adds the final newline");
    free(seccomp);
}
