/* spec.c - the description of config.json that json.c walks, and the
 * bundle model's load / serialize / free entry points. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "spec.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Field descriptions; T is the struct type being described. */
/* clang-format off */
#define STR(m, k)     {k, MD_J_STRING, 0, offsetof(T, m), MD_J_NOAUX, NULL}
#define STR_REQ(m, k) {k, MD_J_STRING, MD_J_REQUIRED, offsetof(T, m), MD_J_NOAUX, NULL}
#define BOOL(m, k)    {k, MD_J_BOOL, 0, offsetof(T, m), MD_J_NOAUX, NULL}
#define NUM(kind, m, k)                                                                            \
    {k, MD_J_##kind, 0, offsetof(T, m), offsetof(T, has_##m), NULL}
#define NUM_REQ(kind, m, k) {k, MD_J_##kind, MD_J_REQUIRED, offsetof(T, m), MD_J_NOAUX, NULL}
#define OBJ(m, k, type)     {k, MD_J_OBJECT, 0, offsetof(T, m), MD_J_NOAUX, &type}
#define STRS(m, k)          {k, MD_J_STRINGS, 0, offsetof(T, m), offsetof(T, n_##m), NULL}
#define STRS_REQ(m, k)      {k, MD_J_STRINGS, MD_J_REQUIRED, offsetof(T, m), offsetof(T, n_##m), NULL}
#define U32S(m, k)          {k, MD_J_UINT32S, 0, offsetof(T, m), offsetof(T, n_##m), NULL}
#define OBJS(m, k, type)    {k, MD_J_OBJECTS, 0, offsetof(T, m), offsetof(T, n_##m), &type}
#define SMAP(m, k)          {k, MD_J_STRING_MAP, 0, offsetof(T, m), offsetof(T, n_##m), NULL}
#define OMAP(m, k, type)    {k, MD_J_OBJECT_MAP, 0, offsetof(T, m), offsetof(T, n_##m), &type}
#define TYPE(name, fields)  static const struct md_jtype name = {sizeof(T), fields, N(fields)}
/* clang-format on */

/* ------------------------------------------------------------ shared parts */

#define T md_idmap
static const struct md_jfield idmap_fields[] = {
    NUM_REQ(UINT32, container_id, "containerID"),
    NUM_REQ(UINT32, host_id, "hostID"),
    NUM_REQ(UINT32, size, "size"),
};
TYPE(idmap_type, idmap_fields);
#undef T

/* ------------------------------------------------------------ root, mounts */

#define T md_root
static const struct md_jfield root_fields[] = {
    STR_REQ(path, "path"),
    BOOL(readonly, "readonly"),
};
TYPE(root_type, root_fields);
#undef T

#define T md_mount
static const struct md_jfield mount_fields[] = {
    STR_REQ(destination, "destination"),
    STR(type, "type"),
    STR(source, "source"),
    STRS(options, "options"),
    OBJS(uid_mappings, "uidMappings", idmap_type),
    OBJS(gid_mappings, "gidMappings", idmap_type),
};
TYPE(mount_type, mount_fields);
#undef T

/* ---------------------------------------------------------------- process */

#define T md_console_size
static const struct md_jfield console_size_fields[] = {
    NUM_REQ(UINT32, height, "height"),
    NUM_REQ(UINT32, width, "width"),
};
TYPE(console_size_type, console_size_fields);
#undef T

#define T md_user
static const struct md_jfield user_fields[] = {
    NUM_REQ(UINT32, uid, "uid"),
    NUM_REQ(UINT32, gid, "gid"),
    NUM(UINT32, umask, "umask"),
    U32S(additional_gids, "additionalGids"),
};
TYPE(user_type, user_fields);
#undef T

#define T md_capabilities
static const struct md_jfield capabilities_fields[] = {
    STRS(bounding, "bounding"),   STRS(effective, "effective"), STRS(inheritable, "inheritable"),
    STRS(permitted, "permitted"), STRS(ambient, "ambient"),
};
TYPE(capabilities_type, capabilities_fields);
#undef T

#define T md_rlimit
static const struct md_jfield rlimit_fields[] = {
    STR_REQ(type, "type"),
    NUM_REQ(UINT64, soft, "soft"),
    NUM_REQ(UINT64, hard, "hard"),
};
TYPE(rlimit_type, rlimit_fields);
#undef T

#define T md_io_priority
static const struct md_jfield io_priority_fields[] = {
    STR_REQ(class_, "class"),
    NUM_REQ(INT32, priority, "priority"),
};
TYPE(io_priority_type, io_priority_fields);
#undef T

#define T md_scheduler
static const struct md_jfield scheduler_fields[] = {
    STR_REQ(policy, "policy"),        NUM(INT32, nice, "nice"),
    NUM(INT32, priority, "priority"), STRS(flags, "flags"),
    NUM(UINT64, runtime, "runtime"),  NUM(UINT64, deadline, "deadline"),
    NUM(UINT64, period, "period"),
};
TYPE(scheduler_type, scheduler_fields);
#undef T

#define T md_cpu_affinity
static const struct md_jfield cpu_affinity_fields[] = {
    STR(initial, "initial"),
    STR(final, "final"),
};
TYPE(cpu_affinity_type, cpu_affinity_fields);
#undef T

#define T md_process
static const struct md_jfield process_fields[] = {
    BOOL(terminal, "terminal"),
    OBJ(console_size, "consoleSize", console_size_type),
    OBJ(user, "user", user_type),
    STRS(args, "args"),
    STR(command_line, "commandLine"),
    STRS(env, "env"),
    STR_REQ(cwd, "cwd"),
    OBJ(capabilities, "capabilities", capabilities_type),
    OBJS(rlimits, "rlimits", rlimit_type),
    BOOL(no_new_privileges, "noNewPrivileges"),
    STR(apparmor_profile, "apparmorProfile"),
    STR(selinux_label, "selinuxLabel"),
    NUM(INT32, oom_score_adj, "oomScoreAdj"),
    OBJ(io_priority, "ioPriority", io_priority_type),
    OBJ(scheduler, "scheduler", scheduler_type),
    OBJ(exec_cpu_affinity, "execCPUAffinity", cpu_affinity_type),
};
TYPE(process_type, process_fields);
#undef T

/* ------------------------------------------------------------------ hooks */

#define T md_hook
static const struct md_jfield hook_fields[] = {
    STR_REQ(path, "path"),
    STRS(args, "args"),
    STRS(env, "env"),
    NUM(INT32, timeout, "timeout"),
};
TYPE(hook_type, hook_fields);
#undef T

#define T md_hooks
static const struct md_jfield hooks_fields[] = {
    OBJS(prestart, "prestart", hook_type),
    OBJS(create_runtime, "createRuntime", hook_type),
    OBJS(create_container, "createContainer", hook_type),
    OBJS(start_container, "startContainer", hook_type),
    OBJS(poststart, "poststart", hook_type),
    OBJS(poststop, "poststop", hook_type),
};
TYPE(hooks_type, hooks_fields);
#undef T

/* ------------------------------------------------------------------ linux */

#define T md_namespace
static const struct md_jfield namespace_fields[] = {
    STR_REQ(type, "type"),
    STR(path, "path"),
};
TYPE(namespace_type, namespace_fields);
#undef T

#define T md_time_offset
static const struct md_jfield time_offset_fields[] = {
    NUM(INT64, secs, "secs"),
    NUM(UINT32, nanosecs, "nanosecs"),
};
TYPE(time_offset_type, time_offset_fields);
#undef T

#define T md_device
static const struct md_jfield device_fields[] = {
    STR_REQ(type, "type"),
    STR_REQ(path, "path"),
    NUM(INT64, major, "major"),
    NUM(INT64, minor, "minor"),
    NUM(UINT32, file_mode, "fileMode"),
    NUM(UINT32, uid, "uid"),
    NUM(UINT32, gid, "gid"),
};
TYPE(device_type, device_fields);
#undef T

#define T md_net_device
static const struct md_jfield net_device_fields[] = {
    STR(name, "name"),
};
TYPE(net_device_type, net_device_fields);
#undef T

#define T md_device_rule
static const struct md_jfield device_rule_fields[] = {
    {"allow", MD_J_BOOL, MD_J_REQUIRED, offsetof(T, allow), MD_J_NOAUX, NULL},
    STR(type, "type"),
    NUM(INT64, major, "major"),
    NUM(INT64, minor, "minor"),
    STR(access, "access"),
};
TYPE(device_rule_type, device_rule_fields);
#undef T

#define T md_memory
static const struct md_jfield memory_fields[] = {
    NUM(INT64, limit, "limit"),
    NUM(INT64, reservation, "reservation"),
    NUM(INT64, swap, "swap"),
    NUM(INT64, kernel, "kernel"),
    NUM(INT64, kernel_tcp, "kernelTCP"),
    NUM(UINT64, swappiness, "swappiness"),
    BOOL(disable_oom_killer, "disableOOMKiller"),
    BOOL(use_hierarchy, "useHierarchy"),
    BOOL(check_before_update, "checkBeforeUpdate"),
};
TYPE(memory_type, memory_fields);
#undef T

#define T md_cpu
static const struct md_jfield cpu_fields[] = {
    NUM(UINT64, shares, "shares"),
    NUM(INT64, quota, "quota"),
    NUM(UINT64, burst, "burst"),
    NUM(UINT64, period, "period"),
    NUM(INT64, realtime_runtime, "realtimeRuntime"),
    NUM(UINT64, realtime_period, "realtimePeriod"),
    STR(cpus, "cpus"),
    STR(mems, "mems"),
    NUM(INT64, idle, "idle"),
};
TYPE(cpu_type, cpu_fields);
#undef T

#define T md_weight_device
static const struct md_jfield weight_device_fields[] = {
    NUM_REQ(INT64, major, "major"),
    NUM_REQ(INT64, minor, "minor"),
    NUM(UINT16, weight, "weight"),
    NUM(UINT16, leaf_weight, "leafWeight"),
};
TYPE(weight_device_type, weight_device_fields);
#undef T

#define T md_throttle_device
static const struct md_jfield throttle_device_fields[] = {
    NUM_REQ(INT64, major, "major"),
    NUM_REQ(INT64, minor, "minor"),
    NUM_REQ(UINT64, rate, "rate"),
};
TYPE(throttle_device_type, throttle_device_fields);
#undef T

#define T md_block_io
static const struct md_jfield block_io_fields[] = {
    NUM(UINT16, weight, "weight"),
    NUM(UINT16, leaf_weight, "leafWeight"),
    OBJS(weight_device, "weightDevice", weight_device_type),
    OBJS(throttle_read_bps_device, "throttleReadBpsDevice", throttle_device_type),
    OBJS(throttle_write_bps_device, "throttleWriteBpsDevice", throttle_device_type),
    OBJS(throttle_read_iops_device, "throttleReadIOPSDevice", throttle_device_type),
    OBJS(throttle_write_iops_device, "throttleWriteIOPSDevice", throttle_device_type),
};
TYPE(block_io_type, block_io_fields);
#undef T

#define T md_hugepage_limit
static const struct md_jfield hugepage_limit_fields[] = {
    STR_REQ(page_size, "pageSize"),
    NUM_REQ(UINT64, limit, "limit"),
};
TYPE(hugepage_limit_type, hugepage_limit_fields);
#undef T

#define T md_net_priority
static const struct md_jfield net_priority_fields[] = {
    STR_REQ(name, "name"),
    NUM_REQ(UINT32, priority, "priority"),
};
TYPE(net_priority_type, net_priority_fields);
#undef T

#define T md_network
static const struct md_jfield network_fields[] = {
    NUM(UINT32, class_id, "classID"),
    OBJS(priorities, "priorities", net_priority_type),
};
TYPE(network_type, network_fields);
#undef T

#define T md_pids
static const struct md_jfield pids_fields[] = {
    NUM(INT64, limit, "limit"),
};
TYPE(pids_type, pids_fields);
#undef T

#define T md_rdma
static const struct md_jfield rdma_fields[] = {
    NUM(UINT32, hca_handles, "hcaHandles"),
    NUM(UINT32, hca_objects, "hcaObjects"),
};
TYPE(rdma_type, rdma_fields);
#undef T

#define T md_resources
static const struct md_jfield resources_fields[] = {
    OBJS(devices, "devices", device_rule_type),
    OBJ(memory, "memory", memory_type),
    OBJ(cpu, "cpu", cpu_type),
    OBJ(block_io, "blockIO", block_io_type),
    OBJS(hugepage_limits, "hugepageLimits", hugepage_limit_type),
    OBJ(network, "network", network_type),
    OBJ(pids, "pids", pids_type),
    OMAP(rdma, "rdma", rdma_type),
    SMAP(unified, "unified"),
};
TYPE(resources_type, resources_fields);
#undef T

#define T md_intel_rdt
static const struct md_jfield intel_rdt_fields[] = {
    STR(clos_id, "closID"),
    STR(l3_cache_schema, "l3CacheSchema"),
    STR(mem_bw_schema, "memBwSchema"),
    STRS(schemata, "schemata"),
    BOOL(enable_monitoring, "enableMonitoring"),
};
TYPE(intel_rdt_type, intel_rdt_fields);
#undef T

#define T md_memory_policy
static const struct md_jfield memory_policy_fields[] = {
    STR_REQ(mode, "mode"),
    STR(nodes, "nodes"),
    STRS(flags, "flags"),
};
TYPE(memory_policy_type, memory_policy_fields);
#undef T

#define T md_seccomp_arg
static const struct md_jfield seccomp_arg_fields[] = {
    NUM_REQ(UINT32, index, "index"),
    NUM_REQ(UINT64, value, "value"),
    NUM(UINT64, value_two, "valueTwo"),
    STR_REQ(op, "op"),
};
TYPE(seccomp_arg_type, seccomp_arg_fields);
#undef T

#define T md_syscall
static const struct md_jfield syscall_fields[] = {
    STRS_REQ(names, "names"),
    STR_REQ(action, "action"),
    NUM(UINT32, errno_ret, "errnoRet"),
    OBJS(args, "args", seccomp_arg_type),
};
TYPE(syscall_type, syscall_fields);
#undef T

#define T md_seccomp
static const struct md_jfield seccomp_fields[] = {
    STR_REQ(default_action, "defaultAction"), NUM(UINT32, default_errno_ret, "defaultErrnoRet"),
    STRS(architectures, "architectures"),     STRS(flags, "flags"),
    STR(listener_path, "listenerPath"),       STR(listener_metadata, "listenerMetadata"),
    OBJS(syscalls, "syscalls", syscall_type),
};
TYPE(seccomp_type, seccomp_fields);
#undef T

#define T md_personality
static const struct md_jfield personality_fields[] = {
    STR_REQ(domain, "domain"),
    STRS(flags, "flags"),
};
TYPE(personality_type, personality_fields);
#undef T

#define T md_linux
static const struct md_jfield linux_fields[] = {
    OBJS(namespaces, "namespaces", namespace_type),
    OBJS(uid_mappings, "uidMappings", idmap_type),
    OBJS(gid_mappings, "gidMappings", idmap_type),
    OMAP(time_offsets, "timeOffsets", time_offset_type),
    OBJS(devices, "devices", device_type),
    OMAP(net_devices, "netDevices", net_device_type),
    STR(cgroups_path, "cgroupsPath"),
    OBJ(resources, "resources", resources_type),
    OBJ(intel_rdt, "intelRdt", intel_rdt_type),
    OBJ(memory_policy, "memoryPolicy", memory_policy_type),
    SMAP(sysctl, "sysctl"),
    OBJ(seccomp, "seccomp", seccomp_type),
    STR(rootfs_propagation, "rootfsPropagation"),
    STRS(masked_paths, "maskedPaths"),
    STRS(readonly_paths, "readonlyPaths"),
    STR(mount_label, "mountLabel"),
    OBJ(personality, "personality", personality_type),
};
TYPE(linux_type, linux_fields);
#undef T

/* ------------------------------------------------------------------- spec */

#define T md_spec
static const struct md_jfield spec_fields[] = {
    STR_REQ(oci_version, "ociVersion"), OBJ(root, "root", root_type),
    OBJS(mounts, "mounts", mount_type), OBJ(process, "process", process_type),
    STR(hostname, "hostname"),          STR(domainname, "domainname"),
    OBJ(hooks, "hooks", hooks_type),    SMAP(annotations, "annotations"),
    OBJ(linux_, "linux", linux_type),
};
TYPE(spec_type, spec_fields);
#undef T

/* -------------------------------------------------------------- entry points */

/* Parse text as one object of type; on success *out is a new struct. */
static int load(const struct md_jtype *type, const char *text, size_t len, const char *name,
                void **out, md_errors *problems)
{
    *out = NULL;
    size_t before = problems->n + problems->dropped;
    struct md_jdoc *doc;
    if (md_json_parse(text, len, name, &doc, problems) < 0)
        return -1;
    void *obj = calloc(1, type->size);
    if (!obj) {
        md_jdoc_free(doc);
        return md_errors_add(problems, "%s: out of memory", name);
    }
    md_json_decode(md_jdoc_root(doc), type, obj, name, problems);
    md_jdoc_free(doc);
    *out = obj;
    return problems->n + problems->dropped == before ? 0 : -1;
}

int md_spec_load_string(const char *json, size_t len, const char *name, md_spec **out,
                        md_errors *problems)
{
    return load(&spec_type, json, len, name, (void **)out, problems);
}

int md_spec_load_file_text(const char *path, md_spec **out, char **text_out, size_t *len_out,
                           md_errors *problems)
{
    *out = NULL;
    md_error err = {0};
    md_autofree char *text = NULL;
    size_t len = 0;
    if (md_read_file_at(AT_FDCWD, path, MD_JSON_MAX_BYTES, &text, &len, &err) < 0) {
        md_errors_take(problems, &err);
        return -1;
    }
    md_autofree char *copy = strdup(path);
    if (!copy)
        return md_errors_add(problems, "%s: out of memory", path);
    int rc = md_spec_load_string(text, len, basename(copy), out, problems);
    if (rc == 0 && text_out) {
        *text_out = text;
        *len_out = len;
        text = NULL;
    }
    return rc;
}

int md_spec_load_file(const char *path, md_spec **out, md_errors *problems)
{
    return md_spec_load_file_text(path, out, NULL, NULL, problems);
}

int md_spec_to_json(const md_spec *spec, char **json, size_t *len, md_error *err)
{
    return md_json_to_text(&spec_type, spec, json, len, err);
}

void md_spec_free(md_spec *spec)
{
    md_json_free(&spec_type, spec);
    free(spec);
}

int md_process_load_string(const char *json, size_t len, const char *name, md_process **out,
                           md_errors *problems)
{
    return load(&process_type, json, len, name, (void **)out, problems);
}

int md_process_to_json(const md_process *process, char **json, size_t *len, md_error *err)
{
    return md_json_to_text(&process_type, process, json, len, err);
}

void md_process_free(md_process *process)
{
    md_json_free(&process_type, process);
    free(process);
}

int md_resources_load_string(const char *json, size_t len, const char *name, md_resources **out,
                             md_errors *problems)
{
    return load(&resources_type, json, len, name, (void **)out, problems);
}

int md_resources_to_json(const md_resources *r, char **json, size_t *len, md_error *err)
{
    return md_json_to_text(&resources_type, r, json, len, err);
}

void md_resources_merge(md_resources *dst, md_resources *src)
{
    md_json_merge(&resources_type, dst, src);
}

void md_resources_free(md_resources *r)
{
    md_json_free(&resources_type, r);
    free(r);
}

void md_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int md_strv_push(char ***v, size_t *n, const char *s)
{
    char *copy = strdup(s);
    char **grown = copy ? realloc(*v, (*n + 1) * sizeof(char *)) : NULL;
    if (!grown) {
        free(copy);
        errno = ENOMEM;
        return -1;
    }
    grown[(*n)++] = copy;
    *v = grown;
    return 0;
}

const char *md_kv_get(const md_kv *map, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(map[i].key, key) == 0)
            return map[i].value;
    return NULL;
}
