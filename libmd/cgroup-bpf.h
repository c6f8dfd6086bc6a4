/* cgroup-bpf.h - linux.resources.devices on cgroup v2: an eBPF program of
 * type BPF_PROG_TYPE_CGROUP_DEVICE, built instruction by instruction from
 * the rules (no libbpf), attached to the container's cgroup.
 *
 * Semantics are those of the v1 devices lists, decided per access bit:
 * for each of r, w and m asked for, the last rule that matches the device
 * and names that access decides; a bit no rule decides is denied (so a list
 * that does not start with a deny-all rule still denies what it does not
 * allow).  Type "a" (or none) and absent (or negative) major/minor match
 * any device; an absent or empty access means "rwm". */
#ifndef MD_CGROUP_BPF_H
#define MD_CGROUP_BPF_H

#include <linux/bpf.h>
#include <stddef.h>

#include "spec.h"

/* Replace the device programs attached to the cgroup dirfd (an O_RDONLY
 * directory fd, not O_PATH) with one implementing rules.  n == 0: detach
 * them and attach none, which allows every device the ancestors allow.
 * Needs CAP_SYS_ADMIN; fails with errno EPERM without it. */
int md_cgroup_bpf_devices(int cgroup_fd, const md_device_rule *rules, size_t n, md_error *err);

/* The program md_cgroup_bpf_devices() loads (n > 0), for tests: *insns is
 * malloc'd, *count instructions long. */
int md_cgroup_bpf_build(const md_device_rule *rules, size_t n, struct bpf_insn **insns,
                        size_t *count, md_error *err);

#endif
