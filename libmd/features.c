/* features.c - the runtime-spec Features structure (`mdrun features`) and
 * the version lines of `mdrun --version`.
 *
 * The Features structure is a promise to callers such as Podman and
 * containerd: whatever it lists, they may put in a config.json and expect
 * to work.  So it claims only what mdrun implements, and each claim is one
 * flag in md_features_implemented below; the code that prints every
 * section already exists, so implementing a capability means flipping its
 * flag in the same change. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_version.h>

#include "error.h"
#include "features.h"
#include "json.h"
#include "mountopt.h"
#include "names.h"

/* Turn a flag on when the capability is implemented, not before. */
const struct md_feature_set md_features_implemented = {
    .hooks = true,                 /* all six kinds of hooks_names[] run */
    .mount_options = true,         /* the names of mountopt.c are applied by the mounts */
    .namespaces = true,            /* every type of md_ns_names[] is created/joined */
    .capabilities = true,          /* process.capabilities is applied */
    .cgroup_v1 = true,             /* cgroupfs driver, v1 hierarchy */
    .cgroup_v2 = true,             /* cgroupfs driver, unified hierarchy */
    .cgroup_systemd = true,        /* --systemd-cgroup, system instance */
    .cgroup_systemd_user = true,   /* --systemd-cgroup, user instance (rootless) */
    .cgroup_rdma = true,           /* linux.resources.rdma */
    .seccomp = true,               /* linux.seccomp is loaded */
    .apparmor = false,             /* process.apparmorProfile */
    .selinux = false,              /* process.selinuxLabel, linux.mountLabel */
    .memory_policy = true,         /* linux.memoryPolicy */
    .intel_rdt = false,            /* linux.intelRdt */
    .intel_rdt_schemata = false,   /* linux.intelRdt.schemata */
    .intel_rdt_monitoring = false, /* linux.intelRdt.enableMonitoring */
    .idmap_mounts = false,         /* mounts[].uidMappings / gidMappings */
    .net_devices = false,          /* linux.netDevices */
};

/* Annotations of config.json that change what mdrun does.  Empty while
 * mdrun reads none; add a key (or a prefix ending in ".") with the code
 * that reads it. */
static const char *const unsafe_annotations[] = {NULL};

static const char *const hooks_names[] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop", NULL,
};

/* ------------------------------------------------------------- emitters */

static void gen_strings(yajl_gen g, const char *key, const char *const *list)
{
    md_jgen_string(g, key);
    yajl_gen_array_open(g);
    for (; *list; list++)
        md_jgen_string(g, *list);
    yajl_gen_array_close(g);
}

/* idmap and ridmap are recognized by the parser but refused by the mounts
 * until idmapped mounts are implemented: not listed before then. */
static void gen_mount_options(yajl_gen g, const struct md_feature_set *set)
{
    md_jgen_string(g, "mountOptions");
    yajl_gen_array_open(g);
    for (const char *const *name = md_mount_option_names(); *name; name++)
        if (set->idmap_mounts || (strcmp(*name, "idmap") != 0 && strcmp(*name, "ridmap") != 0))
            md_jgen_string(g, *name);
    yajl_gen_array_close(g);
}

/* The names of a table of names.c that this build can apply: the same
 * names validation accepts and the runtime turns into numbers. */
static void gen_names(yajl_gen g, const char *key, const struct md_name_table *table,
                      bool with_unsupported)
{
    md_jgen_string(g, key);
    yajl_gen_array_open(g);
    for (size_t i = 0; i < table->n; i++)
        if (with_unsupported || !(table->names[i].flags & MD_NAME_UNSUPPORTED))
            md_jgen_string(g, table->names[i].name);
    yajl_gen_array_close(g);
}

static void gen_namespaces(yajl_gen g)
{
    md_jgen_string(g, "namespaces");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < MD_NS_COUNT; i++)
        md_jgen_string(g, md_ns_names[i].type);
    yajl_gen_array_close(g);
}

static void gen_bool(yajl_gen g, const char *key, bool value)
{
    md_jgen_string(g, key);
    yajl_gen_bool(g, value);
}

/* {"enabled": value}, the shape of several Linux sections. */
static void gen_enabled(yajl_gen g, const char *key, bool value)
{
    md_jgen_string(g, key);
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", value);
    yajl_gen_map_close(g);
}

/* libcap spells "cap_chown"; the spec spells "CAP_CHOWN".  Numbers libcap
 * has no name for are left out: a config.json could not name them. */
static int gen_capabilities(yajl_gen g)
{
    md_jgen_string(g, "capabilities");
    yajl_gen_array_open(g);
    for (cap_value_t cap = 0; cap <= CAP_LAST_CAP; cap++) {
        char *name = cap_to_name(cap);
        if (!name)
            return -1;
        if (strncmp(name, "cap_", 4) == 0) {
            for (char *p = name; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            md_jgen_string(g, name);
        }
        cap_free(name);
    }
    yajl_gen_array_close(g);
    return 0;
}

static void gen_cgroup(yajl_gen g, const struct md_feature_set *set)
{
    md_jgen_string(g, "cgroup");
    yajl_gen_map_open(g);
    gen_bool(g, "v1", set->cgroup_v1);
    gen_bool(g, "v2", set->cgroup_v2);
    gen_bool(g, "systemd", set->cgroup_systemd);
    gen_bool(g, "systemdUser", set->cgroup_systemd_user);
    gen_bool(g, "rdma", set->cgroup_rdma);
    yajl_gen_map_close(g);
}

static void gen_seccomp(yajl_gen g, bool enabled)
{
    md_jgen_string(g, "seccomp");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", enabled);
    if (enabled) {
        gen_names(g, "actions", &md_seccomp_action_names, false);
        gen_names(g, "operators", &md_seccomp_op_names, false);
        gen_names(g, "archs", &md_seccomp_arch_names, false);
        /* Known: every flag a config.json may name; supported: those the
         * libseccomp mdrun was built with can set. */
        gen_names(g, "knownFlags", &md_seccomp_flag_names, true);
        gen_names(g, "supportedFlags", &md_seccomp_flag_names, false);
    }
    yajl_gen_map_close(g);
}

static void gen_memory_policy(yajl_gen g)
{
    md_jgen_string(g, "memoryPolicy");
    yajl_gen_map_open(g);
    gen_names(g, "modes", &md_mpol_mode_names, false);
    gen_names(g, "flags", &md_mpol_flag_names, false);
    yajl_gen_map_close(g);
}

static void gen_intel_rdt(yajl_gen g, const struct md_feature_set *set)
{
    md_jgen_string(g, "intelRdt");
    yajl_gen_map_open(g);
    gen_bool(g, "enabled", set->intel_rdt);
    gen_bool(g, "schemata", set->intel_rdt_schemata);
    gen_bool(g, "monitoring", set->intel_rdt_monitoring);
    yajl_gen_map_close(g);
}

static void gen_mount_extensions(yajl_gen g, bool idmap)
{
    md_jgen_string(g, "mountExtensions");
    yajl_gen_map_open(g);
    gen_enabled(g, "idmap", idmap);
    yajl_gen_map_close(g);
}

static int gen_linux(yajl_gen g, const struct md_feature_set *set)
{
    md_jgen_string(g, "linux");
    yajl_gen_map_open(g);
    if (set->namespaces)
        gen_namespaces(g);
    if (set->capabilities && gen_capabilities(g) < 0)
        return -1;
    gen_cgroup(g, set);
    gen_seccomp(g, set->seccomp);
    gen_enabled(g, "apparmor", set->apparmor);
    gen_enabled(g, "selinux", set->selinux);
    if (set->memory_policy)
        gen_memory_policy(g);
    gen_intel_rdt(g, set);
    gen_mount_extensions(g, set->idmap_mounts);
    gen_enabled(g, "netDevices", set->net_devices);
    yajl_gen_map_close(g);
    return 0;
}

/* The libseccomp version tells a caller which filters can be loaded; it is
 * worth printing only once mdrun loads them. */
static void gen_annotations(yajl_gen g, const struct md_feature_set *set)
{
    if (!set->seccomp)
        return;
    const struct scmp_version *v = seccomp_version();
    char version[32];
    snprintf(version, sizeof(version), "%u.%u.%u", v->major, v->minor, v->micro);
    md_jgen_string(g, "annotations");
    yajl_gen_map_open(g);
    md_jgen_kv(g, "io.github.seccomp.libseccomp.version", version);
    yajl_gen_map_close(g);
}

static int gen_features(yajl_gen g, const struct md_feature_set *set)
{
    yajl_gen_map_open(g);
    md_jgen_kv(g, "ociVersionMin", MD_OCI_VERSION_MIN);
    md_jgen_kv(g, "ociVersionMax", MD_OCI_VERSION);
    if (set->hooks)
        gen_strings(g, "hooks", hooks_names);
    if (set->mount_options)
        gen_mount_options(g, set);
    /* Absent rather than empty: yajl prints an empty array across three
     * lines, and absent claims nothing either way. */
    if (unsafe_annotations[0])
        gen_strings(g, "potentiallyUnsafeConfigAnnotations", unsafe_annotations);
    if (gen_linux(g, set) < 0)
        return -1;
    gen_annotations(g, set);
    yajl_gen_map_close(g);
    return 0;
}

/* ---------------------------------------------------------- entry points */

int md_features_json_for(const struct md_feature_set *set, char **json, size_t *len, md_error *err)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return md_fail(err, ENOMEM, "features");
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "\t");
    const unsigned char *buf;
    size_t n;
    int rc = -1;
    if (gen_features(g, set) < 0)
        md_fail(err, ENOMEM, "features: capability names");
    else if (yajl_gen_get_buf(g, &buf, &n) != yajl_gen_status_ok ||
             !(*json = strndup((const char *)buf, n)))
        md_fail(err, ENOMEM, "features");
    else
        rc = 0;
    if (rc == 0 && len)
        *len = n;
    yajl_gen_free(g);
    return rc;
}

int md_features_json(char **json, size_t *len, md_error *err)
{
    return md_features_json_for(&md_features_implemented, json, len, err);
}

const char *md_version(void)
{
    return PACKAGE_VERSION;
}

const char *md_oci_version(void)
{
    return MD_OCI_VERSION;
}

/* libseccomp and yajl report the version actually loaded; libcap has no
 * such call, so its line is the version of the headers mdrun was built
 * with. */
const char *md_compiled_features(void)
{
    static char line[128];
    const struct scmp_version *sv = seccomp_version();
    int yv = yajl_version();
    int n = snprintf(line, sizeof(line), "libseccomp: %u.%u.%u\nyajl: %d.%d.%d", sv->major,
                     sv->minor, sv->micro, yv / 10000, yv / 100 % 100, yv % 100);
    (void)n;
#ifdef LIBCAP_MAJOR
    if (n > 0 && (size_t)n < sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n, "\nlibcap: %d.%d", LIBCAP_MAJOR, LIBCAP_MINOR);
#endif
    return line;
}
