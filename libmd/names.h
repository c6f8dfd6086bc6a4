/* names.h - the symbolic names config.json uses (RLIMIT_NOFILE,
 * SCMP_ACT_ERRNO, MPOL_BIND, ...) and the numbers the kernel or libseccomp
 * knows them by.  Validation uses the tables to accept or refuse a name; the
 * runtime uses the same tables to turn the name into the number it passes
 * to the system call, so the two never disagree on what a name means.
 */
#ifndef MD_NAMES_H
#define MD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name is valid in the spec but this build cannot apply it (e.g. a
 * seccomp architecture newer than the libseccomp mdrun was built with, or a
 * policy the kernel reserves without implementing).  Validation accepts it;
 * the runtime refuses it when it is asked to apply it. */
#define MD_NAME_UNSUPPORTED 0x1u
/* A seccomp action that carries an errno (errnoRet, defaultErrnoRet). */
#define MD_NAME_ERRNO 0x2u

struct md_name {
    const char *name;
    uint64_t value;
    unsigned flags;
};

struct md_name_table {
    const char *what; /* a noun for messages: unknown rlimit "RLIMIT_FOO" */
    const struct md_name *names;
    size_t n;
};

/* process.rlimits[].type -> RLIMIT_* resource number (getrlimit(2)). */
extern const struct md_name_table md_rlimit_names;
/* process.scheduler.policy -> SCHED_* policy; .flags -> SCHED_FLAG_* bits. */
extern const struct md_name_table md_sched_policy_names;
extern const struct md_name_table md_sched_flag_names;
/* process.ioPriority.class -> IOPRIO_CLASS_* (ioprio_set(2)). */
extern const struct md_name_table md_ioprio_class_names;
/* Propagation, for linux.rootfsPropagation and mount options -> the
 * mount(2) flags (MS_SHARED, MS_SLAVE|MS_REC, ...). */
extern const struct md_name_table md_propagation_names;
/* linux.memoryPolicy.mode -> MPOL_* mode; .flags -> MPOL_F_* bits. */
extern const struct md_name_table md_mpol_mode_names;
extern const struct md_name_table md_mpol_flag_names;
/* linux.personality.domain -> PER_* persona (personality(2)). */
extern const struct md_name_table md_personality_names;
/* linux.seccomp: actions -> SCMP_ACT_* (the errno-carrying ones with errno
 * 0, to be or-ed with the errno), architectures -> SCMP_ARCH_*, operators ->
 * enum scmp_compare, flags -> the kernel's SECCOMP_FILTER_FLAG_* bits. */
extern const struct md_name_table md_seccomp_action_names;
extern const struct md_name_table md_seccomp_arch_names;
extern const struct md_name_table md_seccomp_op_names;
extern const struct md_name_table md_seccomp_flag_names;

/* The entry for name, or NULL when the table has none. */
const struct md_name *md_name_find(const struct md_name_table *table, const char *name);
/* Store the value of name in *value and return 0; return -1 when the name
 * is unknown or MD_NAME_UNSUPPORTED. */
int md_name_lookup(const struct md_name_table *table, const char *name, uint64_t *value);

/* Namespaces: linux.namespaces[].type, its clone(2) flag and the name of
 * its file in /proc/PID/ns/. */
struct md_ns_name {
    const char *type;
    int clone_flag;
    const char *proc_name;
};

#define MD_NS_COUNT 8
extern const struct md_ns_name md_ns_names[MD_NS_COUNT];

/* The entry for a namespace type ("network"), or NULL. */
const struct md_ns_name *md_ns_find(const char *type);

/* Capabilities: only the spec's spelling ("CAP_" and upper case, e.g.
 * "CAP_CHOWN") is accepted, and libcap must know it.  Returns 0 and the
 * capability number, or -1. */
int md_cap_from_name(const char *name, int *cap);

#endif
