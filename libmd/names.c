/* names.c - the spec's name tables and their lookups. */
#include "config.h"

#include <linux/ioprio.h>
#include <linux/mempolicy.h>
#include <linux/sched.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "names.h"

#define N(a)                     (sizeof(a) / sizeof((a)[0]))
#define TABLE(id, noun, entries) const struct md_name_table id = {noun, entries, N(entries)}

/* Kernel ABI numbers newer than the headers this may be built against. */
#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6
#endif
/* Reserved by the kernel, never implemented: valid in the spec, unusable. */
#define MD_SCHED_ISO 4
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static const struct md_name rlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS, 0},
    {"RLIMIT_CORE", RLIMIT_CORE, 0},
    {"RLIMIT_CPU", RLIMIT_CPU, 0},
    {"RLIMIT_DATA", RLIMIT_DATA, 0},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE, 0},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS, 0},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK, 0},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE, 0},
    {"RLIMIT_NICE", RLIMIT_NICE, 0},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE, 0},
    {"RLIMIT_NPROC", RLIMIT_NPROC, 0},
    {"RLIMIT_RSS", RLIMIT_RSS, 0},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO, 0},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME, 0},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING, 0},
    {"RLIMIT_STACK", RLIMIT_STACK, 0},
};
TABLE(md_rlimit_names, "rlimit", rlimits);

static const struct md_name sched_policies[] = {
    {"SCHED_OTHER", SCHED_OTHER, 0},
    {"SCHED_FIFO", SCHED_FIFO, 0},
    {"SCHED_RR", SCHED_RR, 0},
    {"SCHED_BATCH", SCHED_BATCH, 0},
    {"SCHED_ISO", MD_SCHED_ISO, MD_NAME_UNSUPPORTED},
    {"SCHED_IDLE", SCHED_IDLE, 0},
    {"SCHED_DEADLINE", SCHED_DEADLINE, 0},
};
TABLE(md_sched_policy_names, "scheduler policy", sched_policies);

static const struct md_name sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", SCHED_FLAG_RESET_ON_FORK, 0},
    {"SCHED_FLAG_RECLAIM", SCHED_FLAG_RECLAIM, 0},
    {"SCHED_FLAG_DL_OVERRUN", SCHED_FLAG_DL_OVERRUN, 0},
    {"SCHED_FLAG_KEEP_POLICY", SCHED_FLAG_KEEP_POLICY, 0},
    {"SCHED_FLAG_KEEP_PARAMS", SCHED_FLAG_KEEP_PARAMS, 0},
    {"SCHED_FLAG_UTIL_CLAMP_MIN", SCHED_FLAG_UTIL_CLAMP_MIN, 0},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", SCHED_FLAG_UTIL_CLAMP_MAX, 0},
};
TABLE(md_sched_flag_names, "scheduler flag", sched_flags);

static const struct md_name ioprio_classes[] = {
    {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT, 0},
    {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE, 0},
    {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE, 0},
};
TABLE(md_ioprio_class_names, "I/O priority class", ioprio_classes);

/* The spec names the four rootfsPropagation values; the "r" forms are the
 * recursive mount options, which runc also takes for rootfsPropagation. */
static const struct md_name propagations[] = {
    {"shared", MS_SHARED, 0},
    {"slave", MS_SLAVE, 0},
    {"private", MS_PRIVATE, 0},
    {"unbindable", MS_UNBINDABLE, 0},
    {"rshared", MS_SHARED | MS_REC, 0},
    {"rslave", MS_SLAVE | MS_REC, 0},
    {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"runbindable", MS_UNBINDABLE | MS_REC, 0},
};
TABLE(md_propagation_names, "propagation", propagations);

static const struct md_name mpol_modes[] = {
    {"MPOL_DEFAULT", MPOL_DEFAULT, 0},
    {"MPOL_BIND", MPOL_BIND, 0},
    {"MPOL_INTERLEAVE", MPOL_INTERLEAVE, 0},
    {"MPOL_WEIGHTED_INTERLEAVE", MPOL_WEIGHTED_INTERLEAVE, 0},
    {"MPOL_PREFERRED", MPOL_PREFERRED, 0},
    {"MPOL_PREFERRED_MANY", MPOL_PREFERRED_MANY, 0},
    {"MPOL_LOCAL", MPOL_LOCAL, 0},
};
TABLE(md_mpol_mode_names, "memory policy mode", mpol_modes);

static const struct md_name mpol_flags[] = {
    {"MPOL_F_NUMA_BALANCING", MPOL_F_NUMA_BALANCING, 0},
    {"MPOL_F_RELATIVE_NODES", MPOL_F_RELATIVE_NODES, 0},
    {"MPOL_F_STATIC_NODES", MPOL_F_STATIC_NODES, 0},
};
TABLE(md_mpol_flag_names, "memory policy flag", mpol_flags);

static const struct md_name personalities[] = {
    {"LINUX", PER_LINUX, 0},
    {"LINUX32", PER_LINUX32, 0},
};
TABLE(md_personality_names, "personality domain", personalities);

static const struct md_name seccomp_actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, 0},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), MD_NAME_ERRNO},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), MD_NAME_ERRNO},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, 0},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, 0},
};
TABLE(md_seccomp_action_names, "seccomp action", seccomp_actions);

/* libseccomp defines an architecture as a macro, so an older one simply
 * lacks the newer names. */
/* clang-format off */
#define ARCH(a)    {"SCMP_ARCH_" #a, SCMP_ARCH_##a, 0}
#define NO_ARCH(a) {"SCMP_ARCH_" #a, 0, MD_NAME_UNSUPPORTED}
/* clang-format on */
static const struct md_name seccomp_archs[] = {
    ARCH(X86),         ARCH(X86_64), ARCH(X32),       ARCH(ARM),     ARCH(AARCH64),
    ARCH(MIPS),        ARCH(MIPS64), ARCH(MIPS64N32), ARCH(MIPSEL),  ARCH(MIPSEL64),
    ARCH(MIPSEL64N32), ARCH(PPC),    ARCH(PPC64),     ARCH(PPC64LE), ARCH(S390),
    ARCH(S390X),       ARCH(PARISC), ARCH(PARISC64),  ARCH(RISCV64),
#ifdef SCMP_ARCH_LOONGARCH64
    ARCH(LOONGARCH64),
#else
    NO_ARCH(LOONGARCH64),
#endif
#ifdef SCMP_ARCH_M68K
    ARCH(M68K),
#else
    NO_ARCH(M68K),
#endif
#ifdef SCMP_ARCH_SH
    ARCH(SH),
#else
    NO_ARCH(SH),
#endif
#ifdef SCMP_ARCH_SHEB
    ARCH(SHEB),
#else
    NO_ARCH(SHEB),
#endif
};
TABLE(md_seccomp_arch_names, "seccomp architecture", seccomp_archs);

static const struct md_name seccomp_ops[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE, 0},
    {"SCMP_CMP_LT", SCMP_CMP_LT, 0},
    {"SCMP_CMP_LE", SCMP_CMP_LE, 0},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ, 0},
    {"SCMP_CMP_GE", SCMP_CMP_GE, 0},
    {"SCMP_CMP_GT", SCMP_CMP_GT, 0},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ, 0},
};
TABLE(md_seccomp_op_names, "seccomp operator", seccomp_ops);

/* libseccomp 2.5 has a filter attribute for the first three flags; the
 * fourth (SCMP_FLTATR_CTL_WAITKILL) arrived in 2.6. */
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
#define WAITKILL_FLAGS 0
#else
#define WAITKILL_FLAGS MD_NAME_UNSUPPORTED
#endif
static const struct md_name seccomp_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, 0},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, 0},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, 0},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
     WAITKILL_FLAGS},
};
TABLE(md_seccomp_flag_names, "seccomp flag", seccomp_flags);

const struct md_name *md_name_find(const struct md_name_table *table, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < table->n; i++)
        if (strcmp(table->names[i].name, name) == 0)
            return &table->names[i];
    return NULL;
}

int md_name_lookup(const struct md_name_table *table, const char *name, uint64_t *value)
{
    const struct md_name *entry = md_name_find(table, name);
    if (!entry || (entry->flags & MD_NAME_UNSUPPORTED))
        return -1;
    *value = entry->value;
    return 0;
}

const struct md_ns_name md_ns_names[MD_NS_COUNT] = {
    {"pid", CLONE_NEWPID, "pid"},          {"network", CLONE_NEWNET, "net"},
    {"mount", CLONE_NEWNS, "mnt"},         {"ipc", CLONE_NEWIPC, "ipc"},
    {"uts", CLONE_NEWUTS, "uts"},          {"user", CLONE_NEWUSER, "user"},
    {"cgroup", CLONE_NEWCGROUP, "cgroup"}, {"time", CLONE_NEWTIME, "time"},
};

const struct md_ns_name *md_ns_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < MD_NS_COUNT; i++)
        if (strcmp(md_ns_names[i].type, type) == 0)
            return &md_ns_names[i];
    return NULL;
}

int md_cap_from_name(const char *name, int *cap)
{
    /* libcap also takes "cap_chown", "chown" and "7"; the spec does not. */
    if (!name || strncmp(name, "CAP_", 4) != 0 || !name[4])
        return -1;
    if (strspn(name + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(name + 4))
        return -1;
    cap_value_t value;
    if (cap_from_name(name, &value) < 0)
        return -1;
    *cap = (int)value;
    return 0;
}
