/* features.h - what this build of mdrun implements: `mdrun features` and
 * the library lines of `mdrun --version`. */
#ifndef MD_FEATURES_H
#define MD_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include "mdrun.h"

/* One flag per claim the Features structure (runtime-spec features.md and
 * features-linux.md) can make.  A list section (hooks, mountOptions,
 * namespaces, capabilities, memoryPolicy, the seccomp lists) is printed
 * only when its flag is on; a boolean ("enabled", cgroup "v2"...) is
 * always printed, with the flag's value. */
struct md_feature_set {
    bool hooks;
    bool mount_options;
    bool namespaces;
    bool capabilities;
    bool cgroup_v1;
    bool cgroup_v2;
    bool cgroup_systemd;
    bool cgroup_systemd_user;
    bool cgroup_rdma;
    bool seccomp;
    bool apparmor;
    bool selinux;
    bool memory_policy;
    bool intel_rdt;
    bool intel_rdt_schemata;
    bool intel_rdt_monitoring;
    bool idmap_mounts;
    bool net_devices;
};

/* What mdrun implements today (the table at the top of features.c). */
extern const struct md_feature_set md_features_implemented;

/* The Features structure for md_features_implemented, as indented JSON
 * ending in a newline; the caller frees *json. */
int md_features_json(char **json, size_t *len, md_error *err);
/* The same for any set of claims (the tests turn everything on). */
int md_features_json_for(const struct md_feature_set *set, char **json, size_t *len, md_error *err);

/* The libraries compiled in, with their versions, one "name: version" per
 * line and no final newline, e.g. "libseccomp: 2.5.4\nyajl: 2.1.0". */
const char *md_compiled_features(void);

#endif
