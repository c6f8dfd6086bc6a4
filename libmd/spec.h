/* spec.h - config.json (OCI runtime-spec 1.3, the Linux part) as owned C
 * structures.
 *
 * Conventions, so that every consumer reads the model the same way:
 * - strings are malloc'd and NULL when the property is absent;
 * - arrays are a pointer and an n_ count (0 when absent or empty);
 * - optional objects are pointers, NULL when absent;
 * - optional numbers come with a has_ flag; required numbers have none;
 * - booleans are false when absent;
 * - string maps (annotations, sysctl, unified) keep the document's order.
 * The parser, the serializer and md_spec_free() all walk one description of
 * these structures (spec.c), so a field added here is added there once.
 */
#ifndef MD_SPEC_H
#define MD_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdrun.h"

typedef struct md_kv {
    char *key;
    char *value;
} md_kv;

typedef struct md_idmap {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
} md_idmap;

typedef struct md_root {
    char *path;
    bool readonly;
} md_root;

typedef struct md_mount {
    char *destination;
    char *type;
    char *source;
    char **options;
    size_t n_options;
    md_idmap *uid_mappings;
    size_t n_uid_mappings;
    md_idmap *gid_mappings;
    size_t n_gid_mappings;
} md_mount;

typedef struct md_console_size {
    uint32_t height;
    uint32_t width;
} md_console_size;

typedef struct md_user {
    uint32_t uid;
    uint32_t gid;
    bool has_umask;
    uint32_t umask;
    uint32_t *additional_gids;
    size_t n_additional_gids;
} md_user;

typedef struct md_capabilities {
    char **bounding;
    size_t n_bounding;
    char **effective;
    size_t n_effective;
    char **inheritable;
    size_t n_inheritable;
    char **permitted;
    size_t n_permitted;
    char **ambient;
    size_t n_ambient;
} md_capabilities;

typedef struct md_rlimit {
    char *type;
    uint64_t soft;
    uint64_t hard;
} md_rlimit;

typedef struct md_io_priority {
    char *class_;
    int32_t priority;
} md_io_priority;

typedef struct md_scheduler {
    char *policy;
    bool has_nice;
    int32_t nice;
    bool has_priority;
    int32_t priority;
    char **flags;
    size_t n_flags;
    bool has_runtime;
    uint64_t runtime;
    bool has_deadline;
    uint64_t deadline;
    bool has_period;
    uint64_t period;
} md_scheduler;

typedef struct md_cpu_affinity {
    char *initial;
    char *final;
} md_cpu_affinity;

typedef struct md_process {
    bool terminal;
    md_console_size *console_size;
    md_user *user;
    char **args;
    size_t n_args;
    char *command_line;
    char **env;
    size_t n_env;
    char *cwd;
    md_capabilities *capabilities;
    md_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privileges;
    char *apparmor_profile;
    char *selinux_label;
    bool has_oom_score_adj;
    int32_t oom_score_adj;
    md_io_priority *io_priority;
    md_scheduler *scheduler;
    md_cpu_affinity *exec_cpu_affinity;
} md_process;

typedef struct md_hook {
    char *path;
    char **args;
    size_t n_args;
    char **env;
    size_t n_env;
    bool has_timeout;
    int32_t timeout;
} md_hook;

typedef struct md_hooks {
    md_hook *prestart;
    size_t n_prestart;
    md_hook *create_runtime;
    size_t n_create_runtime;
    md_hook *create_container;
    size_t n_create_container;
    md_hook *start_container;
    size_t n_start_container;
    md_hook *poststart;
    size_t n_poststart;
    md_hook *poststop;
    size_t n_poststop;
} md_hooks;

typedef struct md_namespace {
    char *type;
    char *path;
} md_namespace;

typedef struct md_time_offset {
    char *clock; /* the map key: "monotonic" or "boottime" */
    bool has_secs;
    int64_t secs;
    bool has_nanosecs;
    uint32_t nanosecs;
} md_time_offset;

typedef struct md_device {
    char *type;
    char *path;
    bool has_major;
    int64_t major;
    bool has_minor;
    int64_t minor;
    bool has_file_mode;
    uint32_t file_mode;
    bool has_uid;
    uint32_t uid;
    bool has_gid;
    uint32_t gid;
} md_device;

typedef struct md_net_device {
    char *host_name; /* the map key */
    char *name;
} md_net_device;

typedef struct md_device_rule {
    bool allow;
    char *type;
    bool has_major;
    int64_t major;
    bool has_minor;
    int64_t minor;
    char *access;
} md_device_rule;

typedef struct md_memory {
    bool has_limit;
    int64_t limit;
    bool has_reservation;
    int64_t reservation;
    bool has_swap;
    int64_t swap;
    bool has_kernel;
    int64_t kernel;
    bool has_kernel_tcp;
    int64_t kernel_tcp;
    bool has_swappiness;
    uint64_t swappiness;
    bool disable_oom_killer;
    bool use_hierarchy;
    bool check_before_update;
} md_memory;

typedef struct md_cpu {
    bool has_shares;
    uint64_t shares;
    bool has_quota;
    int64_t quota;
    bool has_burst;
    uint64_t burst;
    bool has_period;
    uint64_t period;
    bool has_realtime_runtime;
    int64_t realtime_runtime;
    bool has_realtime_period;
    uint64_t realtime_period;
    char *cpus;
    char *mems;
    bool has_idle;
    int64_t idle;
} md_cpu;

typedef struct md_weight_device {
    int64_t major;
    int64_t minor;
    bool has_weight;
    uint16_t weight;
    bool has_leaf_weight;
    uint16_t leaf_weight;
} md_weight_device;

typedef struct md_throttle_device {
    int64_t major;
    int64_t minor;
    uint64_t rate;
} md_throttle_device;

typedef struct md_block_io {
    bool has_weight;
    uint16_t weight;
    bool has_leaf_weight;
    uint16_t leaf_weight;
    md_weight_device *weight_device;
    size_t n_weight_device;
    md_throttle_device *throttle_read_bps_device;
    size_t n_throttle_read_bps_device;
    md_throttle_device *throttle_write_bps_device;
    size_t n_throttle_write_bps_device;
    md_throttle_device *throttle_read_iops_device;
    size_t n_throttle_read_iops_device;
    md_throttle_device *throttle_write_iops_device;
    size_t n_throttle_write_iops_device;
} md_block_io;

typedef struct md_hugepage_limit {
    char *page_size;
    uint64_t limit;
} md_hugepage_limit;

typedef struct md_net_priority {
    char *name;
    uint32_t priority;
} md_net_priority;

typedef struct md_network {
    bool has_class_id;
    uint32_t class_id;
    md_net_priority *priorities;
    size_t n_priorities;
} md_network;

typedef struct md_pids {
    bool has_limit;
    int64_t limit;
} md_pids;

typedef struct md_rdma {
    char *device; /* the map key */
    bool has_hca_handles;
    uint32_t hca_handles;
    bool has_hca_objects;
    uint32_t hca_objects;
} md_rdma;

typedef struct md_resources {
    md_device_rule *devices;
    size_t n_devices;
    md_memory *memory;
    md_cpu *cpu;
    md_block_io *block_io;
    md_hugepage_limit *hugepage_limits;
    size_t n_hugepage_limits;
    md_network *network;
    md_pids *pids;
    md_rdma *rdma;
    size_t n_rdma;
    md_kv *unified;
    size_t n_unified;
} md_resources;

typedef struct md_intel_rdt {
    char *clos_id;
    char *l3_cache_schema;
    char *mem_bw_schema;
    char **schemata;
    size_t n_schemata;
    bool enable_monitoring;
} md_intel_rdt;

typedef struct md_memory_policy {
    char *mode;
    char *nodes;
    char **flags;
    size_t n_flags;
} md_memory_policy;

typedef struct md_seccomp_arg {
    uint32_t index;
    uint64_t value;
    bool has_value_two;
    uint64_t value_two;
    char *op;
} md_seccomp_arg;

typedef struct md_syscall {
    char **names;
    size_t n_names;
    char *action;
    bool has_errno_ret;
    uint32_t errno_ret;
    md_seccomp_arg *args;
    size_t n_args;
} md_syscall;

typedef struct md_seccomp {
    char *default_action;
    bool has_default_errno_ret;
    uint32_t default_errno_ret;
    char **architectures;
    size_t n_architectures;
    char **flags;
    size_t n_flags;
    char *listener_path;
    char *listener_metadata;
    md_syscall *syscalls;
    size_t n_syscalls;
} md_seccomp;

typedef struct md_personality {
    char *domain;
    char **flags;
    size_t n_flags;
} md_personality;

typedef struct md_linux {
    md_namespace *namespaces;
    size_t n_namespaces;
    md_idmap *uid_mappings;
    size_t n_uid_mappings;
    md_idmap *gid_mappings;
    size_t n_gid_mappings;
    md_time_offset *time_offsets;
    size_t n_time_offsets;
    md_device *devices;
    size_t n_devices;
    md_net_device *net_devices;
    size_t n_net_devices;
    char *cgroups_path;
    md_resources *resources;
    md_intel_rdt *intel_rdt;
    md_memory_policy *memory_policy;
    md_kv *sysctl;
    size_t n_sysctl;
    md_seccomp *seccomp;
    char *rootfs_propagation;
    char **masked_paths;
    size_t n_masked_paths;
    char **readonly_paths;
    size_t n_readonly_paths;
    char *mount_label;
    md_personality *personality;
} md_linux;

struct md_spec {
    char *oci_version;
    md_root *root;
    md_mount *mounts;
    size_t n_mounts;
    md_process *process;
    char *hostname;
    char *domainname;
    md_hooks *hooks;
    md_kv *annotations;
    size_t n_annotations;
    /* "linux" is a predefined macro under -std=gnu11, hence the underscore. */
    md_linux *linux_;
};

/* md_spec_load_file that also hands over the text it parsed (*text, *len;
 * the caller frees it) when text is not NULL. */
int md_spec_load_file_text(const char *path, md_spec **out, char **text, size_t *len,
                           md_errors *problems);

/* Parse / serialize a bare process object (exec --process FILE). */
int md_process_load_string(const char *json, size_t len, const char *name, md_process **out,
                           md_errors *problems);
int md_process_to_json(const md_process *process, char **json, size_t *len, md_error *err);
void md_process_free(md_process *process);

/* Parse / serialize a bare linux.resources object (`update -r FILE`). */
int md_resources_load_string(const char *json, size_t len, const char *name, md_resources **out,
                             md_errors *problems);
int md_resources_to_json(const md_resources *r, char **json, size_t *len, md_error *err);
void md_resources_free(md_resources *r);
/* Move every value src sets into dst (what `update` changes). */
void md_resources_merge(md_resources *dst, md_resources *src);

/* Small helpers for code that builds or edits a spec. */
void md_strv_free(char **v, size_t n);
/* Append a copy of s to the string array (*v, *n).  Returns 0 or -1 (ENOMEM). */
int md_strv_push(char ***v, size_t *n, const char *s);
/* The value of key in a string map, NULL when absent. */
const char *md_kv_get(const md_kv *map, size_t n, const char *key);

#endif
