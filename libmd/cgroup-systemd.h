/* cgroup-systemd.h - the parts of the systemd cgroup driver that need no
 * systemd: what the unit is called (from linux.cgroupsPath) and which unit
 * properties carry the resources.  cgroup-systemd.c uses them to talk to
 * systemd; the unit tests check them on any host. */
#ifndef MD_CGROUP_SYSTEMD_H
#define MD_CGROUP_SYSTEMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* The cgroup under the unit's own that holds the container's processes:
 * with Delegate=yes the unit's cgroup is ours to divide, and a cgroup v2
 * cgroup with processes cannot give controllers to child cgroups, so the
 * container lives one level down, leaving room for the cgroups it makes. */
#define MD_CG_SD_LEAF "container"

/* The unit for linux.cgroupsPath, read as runc and crun read it for the
 * systemd cgroup manager: "slice:prefix:name" names the unit
 * "prefix-name.scope" in the slice "slice".  An empty slice is
 * "system.slice" (root) or "user.slice" (rootless, the user's own systemd
 * instance); "-" is the root slice "-.slice"; an empty prefix gives
 * "name.scope"; an empty name is the container id; a name ending in
 * ".slice" makes the unit that slice (the prefix is then unused).  An
 * unset or empty cgroupsPath is ":mdrun:" (unit "mdrun-ID.scope").
 * Characters systemd does not allow in unit names (a '+' in an id) are
 * escaped as systemd-escape does ("\x2b"). */
struct md_cg_sd_name {
    char *slice; /* the parent slice, e.g. "machine.slice"; "-.slice" for the root */
    char *unit;  /* "libpod-ID.scope", or "name.slice" when is_slice */
    bool is_slice;
};

int md_cg_sd_name_parse(const char *cgroups_path, const char *id, bool rootless,
                        struct md_cg_sd_name *out, md_error *err);
void md_cg_sd_name_free(struct md_cg_sd_name *n);

/* A recorded container cgroup ("/machine.slice/libpod-ID.scope/container")
 * back to the unit's cgroup ("/machine.slice/libpod-ID.scope") and the
 * unit's name ("libpod-ID.scope"), for records that lack them.  Caller
 * frees both. */
int md_cg_sd_split_leaf(const char *leaf, char **scope, char **unit, md_error *err);

/* The cgroup v2 controllers r asks limits of, as a space-separated list
 * ("memory pids", "" for none), to check them against what a rootless
 * caller's systemd was delegated. */
void md_cg_sd_controllers(const md_resources *r, char *buf, size_t size);

/* ------------------------------------------------------------ properties */

#define MD_CG_SD_INFINITY UINT64_MAX /* systemd's "infinity" for limits */

/* One unit property: a number (D-Bus "t") or, when mask is set, a CPU or
 * memory node set (D-Bus "ay": bit i % 8 of byte i / 8 stands for i). */
struct md_cg_sd_prop {
    const char *name; /* static, e.g. "MemoryMax" */
    uint64_t value;
    uint8_t *mask;
    size_t mask_len;
};

struct md_cg_sd_props {
    struct md_cg_sd_prop *v;
    size_t n;
};

/* The unit properties systemd knows for r (NULL: none), so that its idea
 * of the limits agrees with what mdrun writes to the cgroup files and a
 * daemon-reload does not undo them:
 *   memory.limit/reservation/swap  MemoryMax, MemoryLow, MemorySwapMax
 *                                  (swap is memory+swap in the spec)
 *   cpu.shares                     CPUWeight (md_cgroup_shares_to_weight)
 *   cpu.quota/period               CPUQuotaPerSecUSec (rounded up to whole
 *                                  percents), CPUQuotaPeriodUSec
 *   cpu.cpus/mems                  AllowedCPUs, AllowedMemoryNodes
 *   pids.limit                     TasksMax
 *   blockIO.weight                 IOWeight (md_cgroup_blkio_to_io_weight)
 *   unified memory.max/high/low/min/swap.max, pids.max, cpu.weight,
 *   cpu.max, io.weight, cpuset.cpus/mems  the same properties, overriding.
 * -1 is MD_CG_SD_INFINITY.  Values systemd refuses (a limit of 0, which
 * the cgroup files take) and settings it has no property for are left to
 * the cgroup files.  Fails only on an unreadable cpu list or ENOMEM. */
int md_cg_sd_props(const md_resources *r, struct md_cg_sd_props *out, md_error *err);
/* The property called name, NULL when absent. */
const struct md_cg_sd_prop *md_cg_sd_props_get(const struct md_cg_sd_props *p, const char *name);
void md_cg_sd_props_free(struct md_cg_sd_props *p);

/* A cpu or memory node list ("0-3,7") as a mask (see md_cg_sd_prop);
 * "" gives an empty mask (NULL, 0).  Caller frees *mask. */
int md_cg_sd_cpu_mask(const char *list, uint8_t **mask, size_t *len, md_error *err);

#endif
