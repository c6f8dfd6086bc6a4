/* test-validate.c - md_spec_validate(), md_bundle_load(), the name tables
 * and `mdrun validate`. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <dirent.h>

#include "fixture.h"
#include "names.h"
#include "spec.h"
#include "validate.h"

/* ---------------------------------------------------------------- helpers */

/* Parse and validate a config.json text, as "config.json". */
static md_errors check_text(const char *json)
{
    md_errors problems = {0};
    md_spec *spec = NULL;
    md_spec_load_string(json, strlen(json), "config.json", &spec, &problems);
    cr_assert(spec, "the test's JSON does not parse: %s", problems.n ? problems.msgs[0] : "?");
    md_spec_validate(spec, "config.json", &problems);
    md_spec_free(spec);
    return problems;
}

static md_errors check_fixture(const char *rel)
{
    char *json = fx_read(rel, NULL);
    md_errors problems = check_text(json);
    free(json);
    return problems;
}

static char *joined(const md_errors *p)
{
    size_t len = 1;
    for (size_t i = 0; i < p->n; i++)
        len += strlen(p->msgs[i]) + 3;
    char *s = calloc(1, len);
    for (size_t i = 0; i < p->n; i++) {
        strcat(s, "\n  ");
        strcat(s, p->msgs[i]);
    }
    return s;
}

static void expect_clean(md_errors *p, const char *what)
{
    char *all = joined(p);
    cr_expect_eq(p->n, 0, "%s: expected no problem, got:%s", what, all);
    free(all);
    md_errors_clear(p);
}

/* Exactly one problem, and it starts with want. */
static void expect_only(md_errors *p, const char *want, const char *what)
{
    char *all = joined(p);
    cr_expect_eq(p->n, 1, "%s: expected only \"%s\", got:%s", what, want, all);
    if (p->n == 1)
        cr_expect_eq(strncmp(p->msgs[0], want, strlen(want)), 0, "%s: expected \"%s...\", got:%s",
                     what, want, all);
    free(all);
    md_errors_clear(p);
}

/* A valid config with more members at the top level and in linux, both
 * given as JSON text ("" for none). */
static md_errors check_with(const char *top, const char *linux_members)
{
    char *json = fx_fmt("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
                        " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}%s%s,"
                        " \"linux\": {%s}}",
                        top[0] ? ", " : "", top, linux_members);
    md_errors p = check_text(json);
    free(json);
    return p;
}

/* ------------------------------------------------- one fixture pair a check */

#define CASES(X)                                                      \
    X(oci_version_semver, "oci-version-semver")                       \
    X(oci_version_major, "oci-version-major")                         \
    X(root_missing, "root-missing")                                   \
    X(root_path_empty, "root-path-empty")                             \
    X(mount_destination_empty, "mount-destination-empty")             \
    X(mount_bind_source, "mount-bind-source")                         \
    X(mount_bind_type_source, "mount-bind-type-source")               \
    X(mount_uid_without_gid, "mount-uid-without-gid")                 \
    X(mount_gid_without_uid, "mount-gid-without-uid")                 \
    X(mount_idmap_unmapped, "mount-idmap-unmapped")                   \
    X(mount_idmap_size, "mount-idmap-size")                           \
    X(mount_propagation_conflict, "mount-propagation-conflict")       \
    X(process_args_empty, "process-args-empty")                       \
    X(process_args_first_empty, "process-args-first-empty")           \
    X(process_cwd_relative, "process-cwd-relative")                   \
    X(process_env_no_equals, "process-env-no-equals")                 \
    X(process_env_empty_name, "process-env-empty-name")               \
    X(console_size_height, "console-size-height")                     \
    X(console_size_width, "console-size-width")                       \
    X(capability_bounding, "capability-bounding")                     \
    X(capability_effective, "capability-effective")                   \
    X(capability_inheritable, "capability-inheritable")               \
    X(capability_permitted, "capability-permitted")                   \
    X(capability_ambient, "capability-ambient")                       \
    X(rlimit_unknown, "rlimit-unknown")                               \
    X(rlimit_duplicate, "rlimit-duplicate")                           \
    X(rlimit_soft_above_hard, "rlimit-soft-above-hard")               \
    X(oom_score_adj_high, "oom-score-adj-high")                       \
    X(oom_score_adj_low, "oom-score-adj-low")                         \
    X(ioprio_class, "ioprio-class")                                   \
    X(ioprio_priority, "ioprio-priority")                             \
    X(sched_policy, "sched-policy")                                   \
    X(sched_flag, "sched-flag")                                       \
    X(sched_nice, "sched-nice")                                       \
    X(sched_priority_realtime, "sched-priority-realtime")             \
    X(sched_priority_other, "sched-priority-other")                   \
    X(sched_deadline_params, "sched-deadline-params")                 \
    X(sched_deadline_runtime, "sched-deadline-runtime")               \
    X(sched_deadline_period, "sched-deadline-period")                 \
    X(exec_cpu_affinity_initial, "exec-cpu-affinity-initial")         \
    X(exec_cpu_affinity_final, "exec-cpu-affinity-final")             \
    X(hostname_no_uts, "hostname-no-uts")                             \
    X(hostname_empty_needs_no_uts, "hostname-empty-needs-no-uts")     \
    X(hostname_long, "hostname-long")                                 \
    X(hostname_slash, "hostname-slash")                               \
    X(domainname_no_uts, "domainname-no-uts")                         \
    X(domainname_long, "domainname-long")                             \
    X(hook_path_prestart, "hook-path-prestart")                       \
    X(hook_path_createruntime, "hook-path-createruntime")             \
    X(hook_path_createcontainer, "hook-path-createcontainer")         \
    X(hook_path_startcontainer, "hook-path-startcontainer")           \
    X(hook_path_poststart, "hook-path-poststart")                     \
    X(hook_path_poststop, "hook-path-poststop")                       \
    X(hook_timeout, "hook-timeout")                                   \
    X(hook_timeout_negative, "hook-timeout-negative")                 \
    X(hook_env, "hook-env")                                           \
    X(annotation_empty_key, "annotation-empty-key")                   \
    X(namespace_unknown, "namespace-unknown")                         \
    X(namespace_duplicate, "namespace-duplicate")                     \
    X(namespace_path_relative, "namespace-path-relative")             \
    X(uid_mappings_no_userns, "uid-mappings-no-userns")               \
    X(gid_mappings_no_userns, "gid-mappings-no-userns")               \
    X(idmap_size_zero, "idmap-size-zero")                             \
    X(idmap_container_range, "idmap-container-range")                 \
    X(idmap_host_range, "idmap-host-range")                           \
    X(idmap_container_overlap, "idmap-container-overlap")             \
    X(idmap_host_overlap, "idmap-host-overlap")                       \
    X(idmap_too_many, "idmap-too-many")                               \
    X(time_offset_clock, "time-offset-clock")                         \
    X(time_offset_nanosecs, "time-offset-nanosecs")                   \
    X(time_offset_no_timens, "time-offset-no-timens")                 \
    X(device_type, "device-type")                                     \
    X(device_path_relative, "device-path-relative")                   \
    X(device_major_missing, "device-major-missing")                   \
    X(device_minor_missing, "device-minor-missing")                   \
    X(net_device_no_netns, "net-device-no-netns")                     \
    X(net_device_long, "net-device-long")                             \
    X(net_device_slash, "net-device-slash")                           \
    X(net_device_name, "net-device-name")                             \
    X(cgroups_path_dotdot, "cgroups-path-dotdot")                     \
    X(sysctl_malformed, "sysctl-malformed")                           \
    X(sysctl_net_no_netns, "sysctl-net-no-netns")                     \
    X(sysctl_uts_no_utsns, "sysctl-uts-no-utsns")                     \
    X(sysctl_ipc_no_ipcns, "sysctl-ipc-no-ipcns")                     \
    X(sysctl_shm_no_ipcns, "sysctl-shm-no-ipcns")                     \
    X(sysctl_global, "sysctl-global")                                 \
    X(rootfs_propagation, "rootfs-propagation")                       \
    X(masked_path_relative, "masked-path-relative")                   \
    X(readonly_path_relative, "readonly-path-relative")               \
    X(personality_domain, "personality-domain")                       \
    X(personality_flags, "personality-flags")                         \
    X(mempolicy_mode, "mempolicy-mode")                               \
    X(mempolicy_flag, "mempolicy-flag")                               \
    X(mempolicy_nodes_malformed, "mempolicy-nodes-malformed")         \
    X(mempolicy_nodes_required, "mempolicy-nodes-required")           \
    X(mempolicy_nodes_forbidden, "mempolicy-nodes-forbidden")         \
    X(mempolicy_flags_exclusive, "mempolicy-flags-exclusive")         \
    X(intel_rdt_mem_bw_prefix, "intel-rdt-mem-bw-prefix")             \
    X(intel_rdt_newline, "intel-rdt-newline")                         \
    X(intel_rdt_mem_bw_newline, "intel-rdt-mem-bw-newline")           \
    X(intel_rdt_schemata_newline, "intel-rdt-schemata-newline")       \
    X(intel_rdt_clos_id, "intel-rdt-clos-id")                         \
    X(res_device_type, "res-device-type")                             \
    X(res_device_access, "res-device-access")                         \
    X(res_device_access_empty, "res-device-access-empty")             \
    X(res_memory_limit, "res-memory-limit")                           \
    X(res_memory_kernel_tcp, "res-memory-kernel-tcp")                 \
    X(res_memory_swap, "res-memory-swap")                             \
    X(res_memory_swappiness, "res-memory-swappiness")                 \
    X(res_cpu_burst, "res-cpu-burst")                                 \
    X(res_cpu_cpus, "res-cpu-cpus")                                   \
    X(res_cpu_mems, "res-cpu-mems")                                   \
    X(res_cpu_idle, "res-cpu-idle")                                   \
    X(res_blkio_weight, "res-blkio-weight")                           \
    X(res_blkio_leaf_weight, "res-blkio-leaf-weight")                 \
    X(res_blkio_weight_device, "res-blkio-weight-device")             \
    X(res_blkio_weight_device_range, "res-blkio-weight-device-range") \
    X(res_hugepage_size, "res-hugepage-size")                         \
    X(res_pids_limit, "res-pids-limit")                               \
    X(res_rdma, "res-rdma")                                           \
    X(res_unified_key, "res-unified-key")                             \
    X(seccomp_default_action, "seccomp-default-action")               \
    X(seccomp_default_notify, "seccomp-default-notify")               \
    X(seccomp_default_errno, "seccomp-default-errno")                 \
    X(seccomp_errno_range, "seccomp-errno-range")                     \
    X(seccomp_arch, "seccomp-arch")                                   \
    X(seccomp_flag, "seccomp-flag")                                   \
    X(seccomp_listener_metadata, "seccomp-listener-metadata")         \
    X(seccomp_notify_no_listener, "seccomp-notify-no-listener")       \
    X(seccomp_names_empty, "seccomp-names-empty")                     \
    X(seccomp_name_empty, "seccomp-name-empty")                       \
    X(seccomp_action, "seccomp-action")                               \
    X(seccomp_errno_ret, "seccomp-errno-ret")                         \
    X(seccomp_arg_index, "seccomp-arg-index")                         \
    X(seccomp_arg_op, "seccomp-arg-op")

static void check_bad(const char *name)
{
    char *rel = fx_fmt("validate/bad/%s.json", name);
    char *expect_rel = fx_fmt("validate/bad/%s.expect", name);
    char *want = fx_read(expect_rel, NULL);
    want[strcspn(want, "\n")] = '\0';
    cr_assert(want[0], "%s is empty", expect_rel);
    md_errors p = check_fixture(rel);
    expect_only(&p, want, rel);
    free(want);
    free(expect_rel);
    free(rel);
}

static void check_good(const char *name)
{
    char *rel = fx_fmt("validate/good/%s.json", name);
    md_errors p = check_fixture(rel);
    expect_clean(&p, rel);
    free(rel);
}

#define DEFINE_CASE(id, file) \
    Test(bad, id)             \
    {                         \
        check_bad(file);      \
    }                         \
    Test(good, id)            \
    {                         \
        check_good(file);     \
    }
CASES(DEFINE_CASE)

#define CASE_NAME(id, file) file,
static const char *const case_names[] = {CASES(CASE_NAME)};
#define N_CASES (sizeof(case_names) / sizeof(case_names[0]))

static bool listed(const char *file, const char *suffix)
{
    for (size_t i = 0; i < N_CASES; i++) {
        char *name = fx_fmt("%s%s", case_names[i], suffix);
        bool same = strcmp(name, file) == 0;
        free(name);
        if (same)
            return true;
    }
    return false;
}

/* A fixture nobody runs is a check nobody tests. */
static void expect_all_listed(const char *dir, const char *suffix)
{
    char *path = fx_path(dir);
    DIR *d = opendir(path);
    cr_assert(d, "opendir %s: %s", path, strerror(errno));
    size_t seen = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (len <= slen || strcmp(e->d_name + len - slen, suffix) != 0)
            continue;
        seen++;
        cr_expect(listed(e->d_name, suffix), "%s/%s is not in CASES", dir, e->d_name);
    }
    closedir(d);
    cr_expect_eq(seen, N_CASES, "%s: %zu %s files for %zu cases", dir, seen, suffix, N_CASES);
    free(path);
}

Test(fixtures, every_file_is_a_case)
{
    expect_all_listed("validate/bad", ".json");
    expect_all_listed("validate/bad", ".expect");
    expect_all_listed("validate/good", ".json");
}

/* --------------------------------------------------------- checks in depth */

Test(version, semver_forms)
{
    static const char *const good[] = {"1.0.0",        "1.0.2-dev",          "1.3.0+dev",
                                       "1.10.100",     "1.0.0-rc.1+build.5", "1.0.0-alpha-1",
                                       "1.0.0+001.02", "1.0.0-0.3.7",        "1.2.3-x.7.z.92"};
    static const char *const bad[] = {"1.0",     "v1.0.0",    "1.0.0-", "1.0.0+",    "01.0.0",
                                      "1.00.0",  "1.0.0-01",  "1.0.0 ", "",          "1.0.0-a..b",
                                      "1.0.0.0", "1.0.0+a+b", "1..0",   "1.0.0-a_b", " 1.0.0"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *json = fx_fmt("{\"ociVersion\": \"%s\", \"root\": {\"path\": \"r\"}}", good[i]);
        md_errors p = check_text(json);
        expect_clean(&p, good[i]);
        free(json);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *json = fx_fmt("{\"ociVersion\": \"%s\", \"root\": {\"path\": \"r\"}}", bad[i]);
        char *want =
            fx_fmt("config.json: ociVersion: \"%s\" is not a SemVer 2.0.0 version", bad[i]);
        md_errors p = check_text(json);
        expect_only(&p, want, bad[i]);
        free(want);
        free(json);
    }
}

Test(version, other_major_versions)
{
    static const char *const bad[] = {"0.5.0-dev", "2.0.0", "10.0.0", "0.0.1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *json = fx_fmt("{\"ociVersion\": \"%s\", \"root\": {\"path\": \"r\"}}", bad[i]);
        char *want = fx_fmt("config.json: ociVersion: version \"%s\" is not supported", bad[i]);
        md_errors p = check_text(json);
        expect_only(&p, want, bad[i]);
        free(want);
        free(json);
    }
}

Test(lists, cpu_and_node_lists)
{
    static const char *const good[] = {"", "0", "0-3,7", "0-3, 7", " 1 ", "8191", "2-2"};
    static const struct {
        const char *list, *why;
    } bad[] = {
        {",", "empty entry"},        {"0,", "empty entry"},
        {"-1", "expected a number"}, {"1-", "empty entry"},
        {"3-1", "range ends below"}, {"a", "expected a number"},
        {"0-3:2", "expected ','"},   {"8192", "number too large"},
        {"1 2", "expected ','"},     {"99999999999999999999999", "number too large"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *cpu = fx_fmt("\"resources\": {\"cpu\": {\"cpus\": \"%s\"}}", good[i]);
        md_errors p = check_with("", cpu);
        expect_clean(&p, good[i]);
        free(cpu);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *cpu = fx_fmt("\"resources\": {\"cpu\": {\"cpus\": \"%s\"}}", bad[i].list);
        char *want = fx_fmt("config.json: linux.resources.cpu.cpus: \"%s\" is not a list like "
                            "\"0-3,7\": %s",
                            bad[i].list, bad[i].why);
        md_errors p = check_with("", cpu);
        expect_only(&p, want, bad[i].list);
        free(want);
        free(cpu);
    }
}

Test(netdevices, interface_names)
{
    static const char *const good[] = {"eth0", "veth%d", "abcdefghijklmno", "br-1.100", "a"};
    static const char *const bad[] = {".", "..", "a:b", "a b", "a\\tb", "abcdefghijklmnop", "x/y"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *nd = fx_fmt("\"namespaces\": [{\"type\": \"network\"}], \"netDevices\": "
                          "{\"%s\": {\"name\": \"%s\"}}",
                          good[i], good[i]);
        md_errors p = check_with("", nd);
        expect_clean(&p, good[i]);
        free(nd);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *nd = fx_fmt("\"namespaces\": [{\"type\": \"network\"}], \"netDevices\": "
                          "{\"eth0\": {\"name\": \"%s\"}}",
                          bad[i]);
        md_errors p = check_with("", nd);
        expect_only(&p, "config.json: linux.netDevices[\"eth0\"].name: invalid interface name",
                    bad[i]);
        free(nd);
    }
}

Test(resources, unified_keys)
{
    static const char *const good[] = {"memory.max", "io.bfq.weight", "hugetlb.1GB.max",
                                       "cpu.weight.nice"};
    static const char *const bad[] = {".",       "..",    "memory",      ".max",
                                      "memory.", "a/b.c", "./memory.max"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *r = fx_fmt("\"resources\": {\"unified\": {\"%s\": \"1\"}}", good[i]);
        md_errors p = check_with("", r);
        expect_clean(&p, good[i]);
        free(r);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *r = fx_fmt("\"resources\": {\"unified\": {\"%s\": \"1\"}}", bad[i]);
        char *want =
            fx_fmt("config.json: linux.resources.unified[\"%s\"]: not a cgroup file", bad[i]);
        md_errors p = check_with("", r);
        expect_only(&p, want, bad[i]);
        free(want);
        free(r);
    }
}

Test(sysctl, names)
{
    static const char *const good[] = {"net.core.somaxconn", "net/ipv4/ip_forward", "kernel.shmmax",
                                       "fs.mqueue.msg_max", "kernel/sem"};
    static const char *const bad[] = {"",        ".",         "net.",      ".net",
                                      "vm..x",   "vm//x",     "vm.a b",    "vm.x=1",
                                      "kernel/", "/kernel.x", "vm.\\u0001"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *s = fx_fmt("\"sysctl\": {\"%s\": \"1\"}, \"namespaces\": [{\"type\": "
                         "\"network\"}, {\"type\": \"ipc\"}]",
                         good[i]);
        md_errors p = check_with("", s);
        expect_clean(&p, good[i]);
        free(s);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *s = fx_fmt("\"sysctl\": {\"%s\": \"1\"}", bad[i]);
        md_errors p = check_with("", s);
        cr_expect_eq(p.n, 1, "%s: %zu problems", bad[i], p.n);
        if (p.n == 1)
            cr_expect(strstr(p.msgs[0], "]: malformed sysctl name"), "%s: %s", bad[i], p.msgs[0]);
        md_errors_clear(&p);
        free(s);
    }
}

/* No namespace holds them: writing one would change the host's value. */
Test(sysctl, global_ones_are_refused)
{
    static const char *const global[] = {"vm.overcommit_memory", "kernel/pid_max", "a",
                                         "user.max_user_namespaces", "fs.file-max"};
    for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
        char *s = fx_fmt("\"sysctl\": {\"%s\": \"1\"}", global[i]);
        char *want = fx_fmt("config.json: linux.sysctl[\"%s\"]: not in a separate kernel namespace",
                            global[i]);
        md_errors p = check_with("", s);
        expect_only(&p, want, global[i]);
        free(want);
        free(s);
    }
}

Test(sysctl, namespaced_ones_need_their_namespace)
{
    static const struct {
        const char *key, *ns;
    } cases[] = {
        {"net.core.somaxconn", "network"},
        {"net/ipv4/ip_forward", "network"},
        {"kernel.hostname", "uts"},
        {"kernel.domainname", "uts"},
        {"kernel.msgmax", "ipc"},
        {"kernel.msgmnb", "ipc"},
        {"kernel.sem", "ipc"},
        {"kernel.shmall", "ipc"},
        {"kernel.shm_rmid_forced", "ipc"},
        {"fs.mqueue.queues_max", "ipc"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *without = fx_fmt("\"sysctl\": {\"%s\": \"1\"}", cases[i].key);
        char *with = fx_fmt("\"sysctl\": {\"%s\": \"1\"}, \"namespaces\": [{\"type\": \"%s\", "
                            "\"path\": \"/proc/1/ns/x\"}]",
                            cases[i].key, cases[i].ns);
        char *want =
            fx_fmt("config.json: linux.sysctl[\"%s\"]: needs %s %s namespace", cases[i].key,
                   strcmp(cases[i].ns, "ipc") == 0 ? "an" : "a", cases[i].ns);
        md_errors p = check_with("", without);
        expect_only(&p, want, cases[i].key);
        p = check_with("", with);
        expect_clean(&p, cases[i].key);
        free(want);
        free(with);
        free(without);
    }
}

Test(hostname, joined_uts_namespace_is_enough)
{
    /* As runc: a uts namespace entry with a path counts too. */
    md_errors p = check_text("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
                             "\"hostname\": \"pod\", \"linux\": {\"namespaces\": "
                             "[{\"type\": \"uts\", \"path\": \"/run/uts/pod\"}]}}");
    expect_clean(&p, "joined uts");
}

Test(mounts, mapped_mount_needs_no_user_namespace)
{
    md_errors p = check_text(
        "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, \"mounts\": [{\"destination\": "
        "\"/d\", \"source\": \"/s\", \"options\": [\"bind\", \"idmap\"], \"uidMappings\": "
        "[{\"containerID\": 0, \"hostID\": 1, \"size\": 1}], \"gidMappings\": [{\"containerID\": "
        "0, \"hostID\": 1, \"size\": 1}]}]}");
    expect_clean(&p, "mapped mount");
}

Test(idmaps, adjacent_ranges_do_not_overlap_but_contained_ones_do)
{
    md_errors p = check_with("", "\"namespaces\": [{\"type\": \"user\"}], \"uidMappings\": ["
                                 "{\"containerID\": 0, \"hostID\": 100, \"size\": 10},"
                                 "{\"containerID\": 10, \"hostID\": 110, \"size\": 10}]");
    expect_clean(&p, "adjacent");
    p = check_with("", "\"namespaces\": [{\"type\": \"user\"}], \"uidMappings\": ["
                       "{\"containerID\": 0, \"hostID\": 100, \"size\": 10},"
                       "{\"containerID\": 20, \"hostID\": 102, \"size\": 2}]");
    expect_only(&p, "config.json: linux.uidMappings[1]: host IDs 102-103 overlap those of entry 0",
                "contained");
}

Test(process, every_problem_is_reported)
{
    /* Checks go on after the first problem, each with its own line. */
    md_errors p = check_text("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, "
                             "\"process\": {\"args\": [\"sh\"], \"cwd\": \"x\", "
                             "\"oomScoreAdj\": 5000, \"rlimits\": [{\"type\": \"RLIMIT_X\", "
                             "\"soft\": 2, \"hard\": 1}]}}");
    cr_assert_eq(p.n, 4);
    cr_expect_str_eq(p.msgs[0], "config.json: process.cwd: \"x\" is not an absolute path");
    cr_expect_str_eq(p.msgs[1],
                     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_X\"");
    cr_expect_str_eq(p.msgs[2],
                     "config.json: process.rlimits[0].soft: 2 is above the hard limit 1");
    cr_expect_str_eq(p.msgs[3], "config.json: process.oomScoreAdj: must be from -1000 to 1000");
    md_errors_clear(&p);
}

Test(process, every_rlimit_name_is_known)
{
    static const char *const names[] = {
        "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
        "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
        "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *r = fx_fmt("\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", \"rlimits\": "
                         "[{\"type\": \"%s\", \"soft\": 1, \"hard\": 1}]}",
                         names[i]);
        char *json = fx_fmt("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"r\"}, %s}", r);
        md_errors p = check_text(json);
        expect_clean(&p, names[i]);
        free(json);
        free(r);
    }
}

Test(validate, partial_spec_from_a_failed_parse_is_safe)
{
    /* Type errors leave required members NULL; validation must cope. */
    static const char json[] =
        "{\"ociVersion\": 1, \"root\": {\"path\": 2}, \"mounts\": [{\"destination\": 3}],"
        " \"process\": {\"cwd\": 4, \"args\": [5], \"rlimits\": [{\"type\": 6}],"
        " \"capabilities\": {\"bounding\": [7]}, \"scheduler\": {\"policy\": 8},"
        " \"ioPriority\": {\"class\": 9, \"priority\": 0}},"
        " \"hooks\": {\"prestart\": [{\"path\": 10}]},"
        " \"linux\": {\"namespaces\": [{\"type\": 11}], \"devices\": [{\"type\": 12}],"
        " \"seccomp\": {\"defaultAction\": 13, \"syscalls\": [{\"names\": [14], \"action\": 15,"
        " \"args\": [{\"index\": 0, \"value\": 0, \"op\": 16}]}]},"
        " \"memoryPolicy\": {\"mode\": 17}, \"personality\": {\"domain\": 18},"
        " \"resources\": {\"hugepageLimits\": [{\"pageSize\": 19, \"limit\": 1}]}}}";
    md_errors p = {0};
    md_spec *spec = NULL;
    cr_assert_lt(md_spec_load_string(json, sizeof(json) - 1, "config.json", &spec, &p), 0);
    cr_assert(spec);
    size_t parse_problems = p.n;
    md_spec_validate(spec, "config.json", &p);
    md_spec_free(spec);
    cr_expect_gt(parse_problems, 10);
    for (size_t i = parse_problems; i < p.n; i++)
        cr_expect(strncmp(p.msgs[i], "config.json: ", 13) == 0, "%s", p.msgs[i]);
    md_errors_clear(&p);
}

/* --------------------------------------------- the runtime-spec's configs */

Test(runtime_spec, umoci_rootless_config_is_valid)
{
    md_errors p = check_fixture("umoci-rootless-httpd.json");
    expect_clean(&p, "umoci-rootless-httpd.json");
}

Test(runtime_spec, spec_example_has_an_old_version)
{
    /* Every other value of the example is valid, including its sysctls,
     * hostname and time offsets (it creates all eight namespaces); the
     * resources' misplaced oomScoreAdj is an unknown property, ignored. */
    md_errors p = check_fixture("runtime-spec/good/spec-example.json");
    cr_assert_eq(p.n, 1);
    cr_expect_str_eq(p.msgs[0], "config.json: ociVersion: version \"0.5.0-dev\" is not "
                                "supported: mdrun implements 1.x");
    md_errors_clear(&p);
}

Test(runtime_spec, good_linux_configs)
{
    static const char *const clean[] = {"minimal.json", "minimal-for-start.json",
                                        "linux-rdma.json"};
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        char *rel = fx_fmt("runtime-spec/good/%s", clean[i]);
        md_errors p = check_fixture(rel);
        expect_clean(&p, rel);
        free(rel);
    }
    /* The schema allows netDevices without a network namespace; moving the
     * host's devices into the host's namespace means nothing, and runc
     * refuses it too. */
    md_errors p = check_fixture("runtime-spec/good/linux-netdevice.json");
    expect_only(&p, "config.json: linux.netDevices: needs a network namespace in linux.namespaces",
                "linux-netdevice.json");
}

static md_errors load_fixture(const char *rel)
{
    size_t len;
    char *json = fx_read(rel, &len);
    md_errors p = {0};
    md_spec *spec = NULL;
    if (md_spec_load_string(json, len, "config.json", &spec, &p) == 0)
        md_spec_validate(spec, "config.json", &p);
    if (spec)
        md_spec_free(spec);
    free(json);
    return p;
}

Test(runtime_spec, bad_linux_configs_are_refused)
{
    md_errors p = load_fixture("runtime-spec/bad/linux-hugepage.json");
    expect_only(&p,
                "config.json: linux.resources.hugepageLimits[0].pageSize: \"64kB\" is not a size",
                "linux-hugepage.json");
    p = load_fixture("runtime-spec/bad/linux-netdevice.json");
    expect_only(&p, "config.json: linux.netDevices[\"eth0\"].name: must be a string",
                "linux-netdevice.json");
    p = load_fixture("runtime-spec/bad/linux-rdma.json");
    expect_only(&p, "config.json: linux.resources.rdma[\"mlx5_1\"].hcaHandles: must be an integer",
                "linux-rdma.json");
}

/* ------------------------------------------------------------ the bundle */

static const char minimal_config[] = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
                                     " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}}";

/* A bundle directory with config as its config.json and, when rootfs is
 * true, an empty rootfs/. */
static char *make_bundle(const char *config, bool rootfs)
{
    char *dir = fx_tmpdir();
    char *path = fx_fmt("%s/config.json", dir);
    fx_write(path, config);
    free(path);
    if (rootfs) {
        char *r = fx_fmt("%s/rootfs", dir);
        cr_assert_eq(mkdir(r, 0755), 0);
        free(r);
    }
    return dir;
}

Test(bundle, valid_bundle_loads)
{
    char *dir = make_bundle(minimal_config, true);
    md_errors p = {0};
    md_spec *spec = NULL;
    cr_expect_eq(md_bundle_load(dir, &spec, &p), 0);
    cr_expect_eq(p.n, 0, "%s", p.n ? p.msgs[0] : "");
    cr_assert(spec);
    md_spec_free(spec);
    md_errors_clear(&p);
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, umoci_rootless_bundle_loads)
{
    char *config = fx_read("umoci-rootless-httpd.json", NULL);
    char *dir = make_bundle(config, true);
    md_errors p = {0};
    md_spec *spec = NULL;
    cr_expect_eq(md_bundle_load(dir, &spec, &p), 0);
    cr_expect_eq(p.n, 0, "%s", p.n ? p.msgs[0] : "");
    if (spec)
        md_spec_free(spec);
    md_errors_clear(&p);
    fx_rmtree(dir);
    free(dir);
    free(config);
}

/* md_bundle_load() on dir must fail with exactly one problem, want. */
static void expect_bundle_problem(const char *dir, const char *want)
{
    md_errors p = {0};
    md_spec *spec = (md_spec *)&p; /* must be reset to NULL */
    cr_expect_eq(md_bundle_load(dir, &spec, &p), -1);
    cr_expect_null(spec);
    char *all = joined(&p);
    cr_expect_eq(p.n, 1, "expected \"%s\", got:%s", want, all);
    if (p.n == 1)
        cr_expect_str_eq(p.msgs[0], want);
    free(all);
    md_errors_clear(&p);
}

Test(bundle, missing_config)
{
    char *dir = fx_tmpdir();
    char *want = fx_fmt("open %s/config.json: No such file or directory", dir);
    expect_bundle_problem(dir, want);
    free(want);
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, config_is_a_directory)
{
    char *dir = fx_tmpdir();
    char *config = fx_fmt("%s/config.json", dir);
    cr_assert_eq(mkdir(config, 0755), 0);
    char *want = fx_fmt("read %s: Is a directory", config);
    expect_bundle_problem(dir, want);
    free(want);
    free(config);
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, rootfs_missing)
{
    char *dir = make_bundle(minimal_config, false);
    char *want = fx_fmt("config.json: root.path: %s/rootfs: No such file or directory", dir);
    expect_bundle_problem(dir, want);
    free(want);
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, rootfs_is_a_file)
{
    char *dir = make_bundle(minimal_config, false);
    char *rootfs = fx_fmt("%s/rootfs", dir);
    fx_write(rootfs, "");
    char *want = fx_fmt("config.json: root.path: %s: not a directory", rootfs);
    expect_bundle_problem(dir, want);
    free(want);
    free(rootfs);
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, absolute_rootfs)
{
    char *elsewhere = fx_tmpdir();
    char *config = fx_fmt("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"%s\"},"
                          " \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\"}}",
                          elsewhere);
    char *dir = make_bundle(config, false);
    md_errors p = {0};
    md_spec *spec = NULL;
    cr_expect_eq(md_bundle_load(dir, &spec, &p), 0);
    cr_expect_eq(p.n, 0, "%s", p.n ? p.msgs[0] : "");
    if (spec)
        md_spec_free(spec);
    md_errors_clear(&p);
    fx_rmtree(dir);
    fx_rmtree(elsewhere);
    free(dir);
    free(elsewhere);
    free(config);
}

Test(bundle, process_missing)
{
    char *dir = make_bundle("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}}", true);
    expect_bundle_problem(dir, "config.json: process: required to run a container");
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, type_errors_stop_before_the_checks)
{
    /* cwd "x" would be a second problem; a parse error comes alone. */
    char *dir = make_bundle("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
                            " \"process\": {\"args\": \"sh\", \"cwd\": \"x\"}}",
                            true);
    expect_bundle_problem(dir, "config.json: process.args: must be an array of strings");
    fx_rmtree(dir);
    free(dir);
}

Test(bundle, every_problem_at_once)
{
    char *dir = make_bundle("{\"ociVersion\": \"2.0.0\", \"root\": {\"path\": \"rootfs\"}}", false);
    md_errors p = {0};
    md_spec *spec = NULL;
    cr_expect_eq(md_bundle_load(dir, &spec, &p), -1);
    cr_assert_eq(p.n, 3);
    cr_expect(strstr(p.msgs[0], "ociVersion"));
    cr_expect(strstr(p.msgs[1], "process: required"));
    cr_expect(strstr(p.msgs[2], "root.path"));
    md_errors_clear(&p);
    fx_rmtree(dir);
    free(dir);
}

/* ---------------------------------------------------------- name tables */

Test(names, lookup_gives_the_kernel_numbers)
{
    uint64_t v = 99;
    cr_expect_eq(md_name_lookup(&md_rlimit_names, "RLIMIT_NOFILE", &v), 0);
    cr_expect_eq(v, RLIMIT_NOFILE);
    cr_expect_eq(md_name_lookup(&md_rlimit_names, "RLIMIT_RTTIME", &v), 0);
    cr_expect_eq(v, RLIMIT_RTTIME);
    cr_expect_eq(md_name_lookup(&md_rlimit_names, "rlimit_nofile", &v), -1);
    cr_expect_eq(md_name_lookup(&md_propagation_names, "rslave", &v), 0);
    cr_expect_eq(v, MS_SLAVE | MS_REC);
    cr_expect_eq(md_name_lookup(&md_sched_policy_names, "SCHED_DEADLINE", &v), 0);
    cr_expect_eq(v, SCHED_DEADLINE);
    cr_expect_eq(md_name_lookup(&md_seccomp_action_names, "SCMP_ACT_ERRNO", &v), 0);
    cr_expect_eq(v, SCMP_ACT_ERRNO(0));
    cr_expect(md_name_find(&md_seccomp_action_names, "SCMP_ACT_TRACE")->flags & MD_NAME_ERRNO);
    cr_expect_not(md_name_find(&md_seccomp_action_names, "SCMP_ACT_LOG")->flags & MD_NAME_ERRNO);
    cr_expect_eq(md_name_lookup(&md_seccomp_arch_names, "SCMP_ARCH_X86_64", &v), 0);
    cr_expect_eq(v, SCMP_ARCH_X86_64);
    cr_expect_eq(md_name_lookup(&md_seccomp_op_names, "SCMP_CMP_MASKED_EQ", &v), 0);
    cr_expect_eq(v, SCMP_CMP_MASKED_EQ);
    cr_expect_eq(md_name_lookup(&md_seccomp_flag_names, "SECCOMP_FILTER_FLAG_LOG", &v), 0);
    cr_expect_eq(v, SECCOMP_FILTER_FLAG_LOG);
    cr_expect_null(md_name_find(&md_rlimit_names, NULL));
}

Test(names, unsupported_names_are_found_but_not_looked_up)
{
    uint64_t v = 99;
    const struct md_name *iso = md_name_find(&md_sched_policy_names, "SCHED_ISO");
    cr_assert(iso);
    cr_expect(iso->flags & MD_NAME_UNSUPPORTED);
    cr_expect_eq(md_name_lookup(&md_sched_policy_names, "SCHED_ISO", &v), -1);
    cr_expect_eq(v, 99);
#ifndef SCMP_ARCH_LOONGARCH64
    cr_expect_eq(md_name_lookup(&md_seccomp_arch_names, "SCMP_ARCH_LOONGARCH64", &v), -1);
    cr_expect(md_name_find(&md_seccomp_arch_names, "SCMP_ARCH_LOONGARCH64"));
#endif
}

Test(names, namespaces)
{
    const struct md_ns_name *net = md_ns_find("network");
    cr_assert(net);
    cr_expect_eq(net->clone_flag, CLONE_NEWNET);
    cr_expect_str_eq(net->proc_name, "net");
    cr_expect_str_eq(md_ns_find("mount")->proc_name, "mnt");
    cr_expect_eq(md_ns_find("time")->clone_flag, CLONE_NEWTIME);
    cr_expect_null(md_ns_find("net"));
    cr_expect_null(md_ns_find(NULL));
    int all = 0;
    for (size_t i = 0; i < MD_NS_COUNT; i++)
        all |= md_ns_names[i].clone_flag;
    cr_expect_eq(all, CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
                          CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME);
}

Test(names, capabilities_in_the_spec_spelling_only)
{
    int cap = -1;
    cr_expect_eq(md_cap_from_name("CAP_CHOWN", &cap), 0);
    cr_expect_eq(cap, 0);
    cr_expect_eq(md_cap_from_name("CAP_SYS_ADMIN", &cap), 0);
    cr_expect_eq(cap, 21);
    cr_expect_eq(md_cap_from_name("CAP_CHECKPOINT_RESTORE", &cap), 0);
    cr_expect_eq(cap, 40);
    static const char *const bad[] = {"cap_chown", "CAP_chown",  "CHOWN", "0",    "CAP_",
                                      "CAP_FOO",   "CAP_CHOWN ", "",      "CAP_1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(md_cap_from_name(bad[i], &cap), -1, "%s", bad[i]);
}

/* ------------------------------------------------------- mdrun validate */

static struct fx_result run_validate(const char *a1, const char *a2)
{
    const char *bin = getenv("MDRUN_BIN");
    cr_assert(bin, "MDRUN_BIN is not set: run the tests through `make check`");
    char *argv[] = {(char *)bin, "validate", (char *)a1, (char *)a2, NULL};
    return fx_run(argv, NULL, NULL);
}

Test(cli, ok_for_a_valid_bundle)
{
    char *dir = make_bundle(minimal_config, true);
    struct fx_result r = run_validate("--bundle", dir);
    cr_expect_eq(r.status, 0, "stderr: %s", r.err);
    cr_expect_str_eq(r.out, "ok\n");
    cr_expect_str_eq(r.err, "");
    fx_result_free(&r);
    r = run_validate("-b", dir);
    cr_expect_eq(r.status, 0);
    fx_result_free(&r);
    fx_rmtree(dir);
    free(dir);
}

Test(cli, every_problem_on_stderr)
{
    char *dir = make_bundle("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
                            " \"process\": {\"args\": [\"sh\"], \"cwd\": \"x\", \"env\": [\"A\"]}}",
                            true);
    struct fx_result r = run_validate("-b", dir);
    cr_expect_eq(r.status, 1);
    cr_expect_str_eq(r.out, "");
    cr_expect_str_eq(r.err, "config.json: process.cwd: \"x\" is not an absolute path\n"
                            "config.json: process.env[0]: \"A\" is not of the form NAME=value\n");
    fx_result_free(&r);
    fx_rmtree(dir);
    free(dir);
}

Test(cli, bad_fixture_is_refused_with_its_path)
{
    char *config = fx_read("validate/bad/rlimit-duplicate.json", NULL);
    char *dir = make_bundle(config, true);
    struct fx_result r = run_validate("--bundle", dir);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "config.json: process.rlimits[2].type: duplicate rlimit"), "%s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "%s", r.err);
    fx_result_free(&r);
    fx_rmtree(dir);
    free(dir);
    free(config);
}

Test(cli, help_and_usage_errors)
{
    struct fx_result r = run_validate("--help", NULL);
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "Usage: mdrun validate"), "%s", r.out);
    fx_result_free(&r);
    r = run_validate("--frobnicate", NULL);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "mdrun validate: unrecognized option '--frobnicate'"), "%s", r.err);
    cr_expect(strstr(r.err, "Try 'mdrun validate --help'"), "%s", r.err);
    fx_result_free(&r);
    r = run_validate("extra", NULL);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "unexpected argument \"extra\""), "%s", r.err);
    fx_result_free(&r);
}
