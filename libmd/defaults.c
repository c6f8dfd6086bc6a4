/* defaults.c - the config.json that `mdrun spec` writes.
 *
 * The content follows what `runc spec` writes, so that a bundle made with
 * either runtime behaves the same under both: a busybox-style shell as the
 * process, a read-only "rootfs", the usual pseudo-filesystems and a
 * minimal set of capabilities.  One deliberate addition: a default seccomp
 * profile, as Docker and Podman give their containers.  The rootless
 * variant changes only what an unprivileged user cannot have (see the
 * `when` column of the tables).
 *
 * The data lives in the tables below; the functions only copy it into the
 * owned structures of spec.h, so md_spec_free() releases the result. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "spec.h"

#define N(a)   (sizeof(a) / sizeof((a)[0]))
#define NEW(p) ((p) = calloc(1, sizeof(*(p))))

/* Which variant of the spec a table row belongs to. */
enum when { ALWAYS, ROOTFUL, ROOTLESS };

static bool applies(enum when when, bool rootless)
{
    return when == ALWAYS || (when == ROOTLESS) == rootless;
}

/* ---------------------------------------------------------------- tables */

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
};

/* Enough for a shell and its jobs; everything else is dropped.  No
 * inheritable set: it would let file capabilities of programs in the image
 * grow the set again. */
static const char *const default_caps[] = {
    "CAP_AUDIT_WRITE",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
};

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct mount_row {
    const char *destination;
    const char *type;
    const char *source;
    const char *const *options; /* NULL-terminated, NULL for none */
    enum when when;
};

static const struct mount_row default_mounts[] = {
    {"/proc", "proc", "proc", NULL, ALWAYS},
    {"/dev", "tmpfs", "tmpfs", OPTS("nosuid", "strictatime", "mode=755", "size=65536k"), ALWAYS},
    /* gid=5 is the "tty" group of most images; a rootless user namespace
     * maps only the caller's own gid, so the kernel would refuse it. */
    {"/dev/pts", "devpts", "devpts",
     OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"), ROOTFUL},
    {"/dev/pts", "devpts", "devpts",
     OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"), ROOTLESS},
    {"/dev/shm", "tmpfs", "shm", OPTS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
     ALWAYS},
    {"/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev"), ALWAYS},
    {"/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro"), ROOTFUL},
    /* A fresh sysfs needs a network namespace owned by the container's user
     * namespace; the rootless spec keeps the host's network, so it borrows
     * the host's /sys instead, read-only. */
    {"/sys", "none", "/sys", OPTS("rbind", "nosuid", "noexec", "nodev", "ro"), ROOTLESS},
    {"/sys/fs/cgroup", "cgroup", "cgroup", OPTS("nosuid", "noexec", "nodev", "relatime", "ro"),
     ALWAYS},
};

struct namespace_row {
    const char *type;
    enum when when;
};

/* The rootless container shares the caller's network: in a namespace of
 * its own it would have only a loopback device, as an unprivileged user
 * cannot connect it to anything (slirp4netns is the opt-in for that). */
static const struct namespace_row default_namespaces[] = {
    {"pid", ALWAYS}, {"network", ROOTFUL}, {"ipc", ALWAYS},
    {"uts", ALWAYS}, {"mount", ALWAYS},    {"user", ROOTLESS},
};

/* Files in /proc and /sys that leak host information or reach the kernel. */
static const char *const default_masked[] = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",       "/proc/scsi",
};

static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* ------------------------------------------------------ seccomp profile */

/* The default seccomp profile, in the spirit of Docker's and Podman's:
 * deny by default, allow what ordinary programs use, and refuse outright
 * what reaches the kernel's privileged or unnamespaced parts.
 *
 * A system call on no list fails with ENOSYS, as in Podman's profile, not
 * EPERM: C libraries fall back to an older call on ENOSYS (faccessat2,
 * fchmodat2, clone3, ...), so a newer image keeps working on this
 * profile.  The calls that need a privilege the default capabilities do
 * not grant fail with EPERM instead, the answer programs expect.  Names a
 * libseccomp does not know are skipped when the profile is loaded. */
#define SCMP_ENOSYS 38
#define SCMP_EPERM  1

/* clang-format off */
static const char *const seccomp_allowed[] = {
    /* files, directories, extended attributes */
    "access", "chdir", "chmod", "chown", "chown32", "chroot", "close", "close_range",
    "copy_file_range", "creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
    "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents", "getdents64", "getxattr",
    "lchown", "lchown32", "lgetxattr", "link", "linkat", "listxattr", "llistxattr", "_llseek",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod",
    "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "pread64", "preadv",
    "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
    "readv", "removexattr", "rename", "renameat", "renameat2", "rmdir", "sendfile", "sendfile64",
    "setxattr", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat",
    "sync", "sync_file_range", "syncfs", "tee", "truncate", "truncate64", "umask", "unlink",
    "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vmsplice", "write", "writev",
    "cachestat", "ioctl",
    /* waiting on many fds, asynchronous I/O */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
    "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "poll", "ppoll",
    "ppoll_time64", "pselect6", "pselect6_time64", "select", "_newselect", "signalfd", "signalfd4",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    /* memory */
    "brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "mincore", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync", "munlock", "munlockall",
    "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect", "remap_file_pages",
    /* processes and threads (clone is below, with a condition) */
    "capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "get_robust_list",
    "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrlimit", "getrusage", "getsid",
    "gettid", "ioprio_get", "ioprio_set", "kill", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "pidfd_open", "pidfd_send_signal", "prctl", "prlimit64",
    "process_mrelease", "process_vm_readv", "process_vm_writev", "ptrace", "restart_syscall",
    "rseq", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "set_robust_list", "set_tid_address",
    "setpgid", "setpriority", "setrlimit", "setsid", "tgkill", "times", "tkill", "ugetrlimit",
    "vfork", "wait4", "waitid", "waitpid",
    /* user and group ids */
    "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
    "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid", "getuid32",
    "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
    "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    /* signals, timers, clocks, futexes */
    "alarm", "getitimer", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
    "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "setitimer", "sigaltstack", "sigprocmask",
    "sigreturn", "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "gettimeofday", "nanosleep", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake",
    /* sockets (socket itself is below, with a condition), pipes, System V and POSIX IPC */
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
    "sendto", "setsockopt", "shutdown", "socketcall", "socketpair", "pipe", "pipe2", "ipc",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget",
    /* the system as a process sees it */
    "getcpu", "getrandom", "sysinfo", "uname",
    /* architecture-specific calls of the C libraries and runtimes */
    "arch_prctl", "get_thread_area", "modify_ldt", "set_thread_area", "arm_fadvise64_64",
    "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "sync_file_range2",
    "riscv_flush_icache",
};
/* clang-format on */

/* Privileged, or reaching what namespaces do not isolate (modules, keys,
 * the clock, mounts, new namespaces, tracing the kernel): EPERM. */
/* clang-format off */
static const char *const seccomp_denied[] = {
    "acct", "add_key", "bpf", "clock_settime", "clock_settime64", "create_module",
    "delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
    "get_kernel_syms", "get_mempolicy", "init_module", "ioperm", "iopl", "kcmp",
    "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount",
    "mount_setattr", "move_mount", "move_pages", "nfsservctl", "open_by_handle_at", "open_tree",
    "perf_event_open", "pidfd_getfd", "pivot_root", "query_module", "quotactl", "quotactl_fd",
    "reboot", "request_key", "set_mempolicy", "setdomainname", "sethostname", "setns",
    "settimeofday", "stime", "swapoff", "swapon", "syslog", "_sysctl", "sysfs", "umount",
    "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup", "vm86", "vm86old",
};
/* clang-format on */

/* The namespace flags of clone(2): new namespaces need CAP_SYS_ADMIN,
 * which the default capabilities leave out. */
#define CLONE_NS_FLAGS 0x7E020000u /* NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET */
static const uint32_t clone_ns_flags[] = {
    0x00020000u, 0x02000000u, 0x04000000u, 0x08000000u, 0x10000000u, 0x20000000u, 0x40000000u,
};

/* One system call with one condition on its first argument (op NULL:
 * none). */
struct seccomp_row {
    const char *name;
    const char *action;
    uint32_t errno_ret; /* 0: none */
    const char *op;
    uint64_t value, value_two;
};

#define AF_VSOCK_FAMILY 40
static const struct seccomp_row seccomp_conditional[] = {
    /* Linux and the 32-bit personality, each with or without
     * ADDR_NO_RANDOMIZE, and the query (0xffffffff) that changes nothing. */
    {"personality", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_EQ", 0x0, 0},
    {"personality", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_EQ", 0x8, 0},
    {"personality", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_EQ", 0x20000, 0},
    {"personality", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_EQ", 0x20008, 0},
    {"personality", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_EQ", 0xffffffff, 0},
    /* fork and threads; clone with namespace flags gets EPERM (below). */
    {"clone", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_MASKED_EQ", CLONE_NS_FLAGS, 0},
    /* clone3 passes its flags in memory, out of a filter's reach: ENOSYS
     * makes the C library fall back to clone. */
    {"clone3", "SCMP_ACT_ERRNO", SCMP_ENOSYS, NULL, 0, 0},
    /* Every socket family but vsock, which reaches the host's hypervisor
     * interfaces without a network namespace in between. */
    {"socket", "SCMP_ACT_ALLOW", 0, "SCMP_CMP_NE", AF_VSOCK_FAMILY, 0},
    {"socket", "SCMP_ACT_ERRNO", SCMP_EPERM, "SCMP_CMP_EQ", AF_VSOCK_FAMILY, 0},
};

/* The architectures a binary of this machine may use: 64-bit and the
 * 32-bit ABIs the kernel runs next to it. */
static const char *const seccomp_archs[] = {
#if defined(__x86_64__)
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
#elif defined(__aarch64__)
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
#endif
    NULL,
};

/* --------------------------------------------------------------- helpers */

/* Append copies of the n strings of src to (*v, *count). */
static int push_all(char ***v, size_t *count, const char *const *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (md_strv_push(v, count, src[i]) < 0)
            return -1;
    return 0;
}

/* The same, for a NULL-terminated list (NULL itself is an empty list). */
static int push_list(char ***v, size_t *count, const char *const *src)
{
    for (; src && *src; src++)
        if (md_strv_push(v, count, *src) < 0)
            return -1;
    return 0;
}

/* Set *dst to a copy of s. */
static int set_str(char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

/* Grow an array of structs by one zeroed element; the count is updated
 * only once the memory is there, so md_spec_free() always sees a
 * consistent array. */
static void *grow(void *array, size_t *n, size_t size)
{
    char *grown = realloc(array, (*n + 1) * size);
    if (!grown)
        return NULL;
    memset(grown + *n * size, 0, size);
    (*n)++;
    return grown;
}

#define APPEND(array, n)                                                  \
    ({                                                                    \
        __typeof__(array) grown_ = grow((array), &(n), sizeof(*(array))); \
        if (grown_)                                                       \
            (array) = grown_;                                             \
        grown_ ? &(array)[(n)-1] : NULL;                                  \
    })

/* --------------------------------------------------------------- process */

/* Unlike `runc spec`, no ambient set: ambient capabilities must also be
 * inheritable, which runc's default leaves empty, so they could never be
 * granted and every run would warn about them (as the spec asks). */
static int build_capabilities(md_capabilities *caps)
{
    size_t n = N(default_caps);
    if (push_all(&caps->bounding, &caps->n_bounding, default_caps, n) < 0 ||
        push_all(&caps->effective, &caps->n_effective, default_caps, n) < 0 ||
        push_all(&caps->permitted, &caps->n_permitted, default_caps, n) < 0)
        return -1;
    return 0;
}

static int build_rlimits(md_process *process)
{
    md_rlimit *nofile = APPEND(process->rlimits, process->n_rlimits);
    if (!nofile)
        return -1;
    nofile->soft = 1024;
    nofile->hard = 1024;
    return set_str(&nofile->type, "RLIMIT_NOFILE");
}

static md_process *build_process(void)
{
    md_process *process;
    if (!NEW(process))
        return NULL;
    process->terminal = true;
    process->no_new_privileges = true;
    /* uid and gid 0: calloc's zero is the container's root. */
    if (!NEW(process->user) || !NEW(process->capabilities) ||
        md_strv_push(&process->args, &process->n_args, "sh") < 0 ||
        push_all(&process->env, &process->n_env, default_env, N(default_env)) < 0 ||
        set_str(&process->cwd, "/") < 0 || build_capabilities(process->capabilities) < 0 ||
        build_rlimits(process) < 0) {
        md_process_free(process);
        return NULL;
    }
    return process;
}

/* ---------------------------------------------------------- root, mounts */

static int build_root(md_spec *spec)
{
    if (!NEW(spec->root))
        return -1;
    spec->root->readonly = true;
    return set_str(&spec->root->path, "rootfs");
}

static int add_mount(md_spec *spec, const struct mount_row *row)
{
    md_mount *m = APPEND(spec->mounts, spec->n_mounts);
    if (!m || set_str(&m->destination, row->destination) < 0 || set_str(&m->type, row->type) < 0 ||
        set_str(&m->source, row->source) < 0)
        return -1;
    return push_list(&m->options, &m->n_options, row->options);
}

static int build_mounts(md_spec *spec, bool rootless)
{
    for (size_t i = 0; i < N(default_mounts); i++)
        if (applies(default_mounts[i].when, rootless) && add_mount(spec, &default_mounts[i]) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ linux */

static int build_namespaces(md_linux *linux_, bool rootless)
{
    for (size_t i = 0; i < N(default_namespaces); i++) {
        if (!applies(default_namespaces[i].when, rootless))
            continue;
        md_namespace *ns = APPEND(linux_->namespaces, linux_->n_namespaces);
        if (!ns || set_str(&ns->type, default_namespaces[i].type) < 0)
            return -1;
    }
    return 0;
}

/* Deny every device in the cgroup; the runtime's own default devices are
 * allowed on top of this.  The rootless spec has no resources at all: an
 * unprivileged user usually has no cgroup it may write to, and a user
 * namespace cannot create device nodes anyway. */
static int build_resources(md_linux *linux_)
{
    if (!NEW(linux_->resources))
        return -1;
    md_resources *res = linux_->resources;
    md_device_rule *deny_all = APPEND(res->devices, res->n_devices);
    if (!deny_all)
        return -1;
    deny_all->allow = false;
    return set_str(&deny_all->access, "rwm");
}

/* Map the container's root, and nothing else, to the calling user: the one
 * mapping an unprivileged process may write without newuidmap(1). */
static int build_id_maps(md_linux *linux_)
{
    md_idmap *uid = APPEND(linux_->uid_mappings, linux_->n_uid_mappings);
    md_idmap *gid = uid ? APPEND(linux_->gid_mappings, linux_->n_gid_mappings) : NULL;
    if (!gid)
        return -1;
    *uid = (md_idmap){.container_id = 0, .host_id = geteuid(), .size = 1};
    *gid = (md_idmap){.container_id = 0, .host_id = getegid(), .size = 1};
    return 0;
}

/* ---------------------------------------------------------------- seccomp */

static md_syscall *add_syscall(md_seccomp *sc, const char *action, uint32_t errno_ret)
{
    md_syscall *call = APPEND(sc->syscalls, sc->n_syscalls);
    if (!call || set_str(&call->action, action) < 0)
        return NULL;
    call->has_errno_ret = errno_ret != 0;
    call->errno_ret = errno_ret;
    return call;
}

static int add_condition(md_syscall *call, const char *op, uint64_t value, uint64_t value_two)
{
    md_seccomp_arg *arg = APPEND(call->args, call->n_args);
    if (!arg)
        return -1;
    arg->index = 0;
    arg->value = value;
    /* valueTwo only where it means something, as other profiles write it. */
    arg->has_value_two = strcmp(op, "SCMP_CMP_MASKED_EQ") == 0;
    arg->value_two = value_two;
    return set_str(&arg->op, op);
}

static int add_conditional(md_seccomp *sc, const struct seccomp_row *row)
{
    md_syscall *call = add_syscall(sc, row->action, row->errno_ret);
    if (!call || md_strv_push(&call->names, &call->n_names, row->name) < 0)
        return -1;
    return row->op ? add_condition(call, row->op, row->value, row->value_two) : 0;
}

static int build_seccomp(md_linux *linux_)
{
    if (!NEW(linux_->seccomp))
        return -1;
    md_seccomp *sc = linux_->seccomp;
    sc->has_default_errno_ret = true;
    sc->default_errno_ret = SCMP_ENOSYS;
    md_syscall *allowed = NULL, *denied = NULL;
    if (set_str(&sc->default_action, "SCMP_ACT_ERRNO") < 0 ||
        push_list(&sc->architectures, &sc->n_architectures, seccomp_archs) < 0 ||
        !(allowed = add_syscall(sc, "SCMP_ACT_ALLOW", 0)) ||
        push_all(&allowed->names, &allowed->n_names, seccomp_allowed, N(seccomp_allowed)) < 0)
        return -1;
    for (size_t i = 0; i < N(seccomp_conditional); i++)
        if (add_conditional(sc, &seccomp_conditional[i]) < 0)
            return -1;
    for (size_t i = 0; i < N(clone_ns_flags); i++) {
        const struct seccomp_row row = {"clone",           "SCMP_ACT_ERRNO",
                                        SCMP_EPERM,        "SCMP_CMP_MASKED_EQ",
                                        clone_ns_flags[i], clone_ns_flags[i]};
        if (add_conditional(sc, &row) < 0)
            return -1;
    }
    if (!(denied = add_syscall(sc, "SCMP_ACT_ERRNO", SCMP_EPERM)) ||
        push_all(&denied->names, &denied->n_names, seccomp_denied, N(seccomp_denied)) < 0)
        return -1;
    return 0;
}

static int build_linux(md_spec *spec, bool rootless)
{
    if (!NEW(spec->linux_))
        return -1;
    md_linux *linux_ = spec->linux_;
    if (build_namespaces(linux_, rootless) < 0 ||
        push_all(&linux_->masked_paths, &linux_->n_masked_paths, default_masked,
                 N(default_masked)) < 0 ||
        push_all(&linux_->readonly_paths, &linux_->n_readonly_paths, default_readonly,
                 N(default_readonly)) < 0 ||
        build_seccomp(linux_) < 0)
        return -1;
    return rootless ? build_id_maps(linux_) : build_resources(linux_);
}

/* ------------------------------------------------------------------- spec */

md_spec *md_spec_default(bool rootless)
{
    md_spec *spec;
    if (!NEW(spec))
        return NULL;
    if (set_str(&spec->oci_version, MD_OCI_VERSION) < 0 || set_str(&spec->hostname, "mdrun") < 0 ||
        build_root(spec) < 0 || !(spec->process = build_process()) ||
        build_mounts(spec, rootless) < 0 || build_linux(spec, rootless) < 0) {
        md_spec_free(spec);
        errno = ENOMEM;
        return NULL;
    }
    return spec;
}
