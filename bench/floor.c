/* floor.c - the least a container runtime can do, for bench/bench.sh to
 * measure mdrun against.
 *
 * usage: floor ROOTFS PROGRAM [ARG...]
 *        floor --spec ROOTFS PROGRAM [ARG...]
 *
 * The first form: one clone(2) into new namespaces, the rootfs
 * bind-mounted and pivoted into, execve(2) of the program, and a wait for
 * it.  No config, no state directory, no cgroup, no /proc or /dev, no
 * capabilities or seccomp: what is left is the cost of the system calls
 * every runtime has to make, on this machine.
 *
 * The second form ("floor-spec" in the bench) also does, from lists
 * written here rather than a config, the kernel work that the bundle of
 * `mdrun spec` (as root) or `mdrun spec --rootless` (as another user)
 * requires of any runtime: its mounts in its order and with its options,
 * the default devices and the links of /dev, the masked and read-only
 * paths, the read-only root, the hostname, RLIMIT_NOFILE, a cgroup per
 * hierarchy made for the container and removed after it (as root), the
 * default capabilities, no_new_privs and a seccomp filter of the default
 * profile's size.  Nothing else: no state, no checks a runtime makes for
 * its safety (paths resolved inside the rootfs, /proc verified), no
 * synchronisation with a parent.  It is the limit for that bundle.
 *
 * As root the namespaces are those of `mdrun spec` (mount, pid, network,
 * ipc, uts); as another user those of `mdrun spec --rootless` (user,
 * mount, pid, ipc, uts), with the caller's uid and gid mapped to root by
 * a direct write of the child's own maps.  Exit status: the program's,
 * 128 + N when killed by signal N, 125 when the floor itself failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void cleanup(void);

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    cleanup();
    _exit(125);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die(path);
    close(fd);
}

/* In the new user namespace, map the creator's ids to root: allowed to
 * the process itself for its own single uid and gid, setgroups denied. */
static void map_self(uid_t uid, gid_t gid)
{
    char map[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    write_file("/proc/self/uid_map", map);
}

/* The rootfs becomes a mount point of a private tree, for pivot_root. */
static void bind_rootfs(const char *rootfs)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind the rootfs");
}

static void pivot(const char *rootfs)
{
    if (chdir(rootfs) < 0)
        die("chdir to the rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        die("detach the old root");
    if (chdir("/") < 0)
        die("chdir /");
}

static void wait_for(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
}

static int exit_status(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static long namespaces(uid_t uid)
{
    long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    return flags | (uid == 0 ? CLONE_NEWNET : CLONE_NEWUSER);
}

static int bare(char **argv)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    /* fork(2) semantics (no new stack), the child is pid 1 of its pid
     * namespace and already in all the others. */
    pid_t pid = (pid_t)syscall(SYS_clone, namespaces(uid) | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0)
        die("clone");
    if (pid == 0) {
        if (uid != 0)
            map_self(uid, gid);
        bind_rootfs(argv[0]);
        pivot(argv[0]);
        execv(argv[1], argv + 1);
        die(argv[1]);
    }
    int status;
    wait_for(pid, &status);
    return exit_status(status);
}

/* ------------------------------------------------------------ --spec */

static bool rootless;

/* Mount, or die naming the destination. */
static void mnt(const char *src, const char *dest, const char *type, unsigned long flags,
                const char *data)
{
    if (mount(src, dest, type, flags, data) < 0)
        die(dest);
}

/* Remount a bind mount with flags, keeping those the mount has (in a
 * user namespace nosuid, nodev, noexec and the atime mode of a mount
 * from the host are locked). */
static void remount(const char *path, unsigned long flags)
{
    static const struct {
        unsigned long st, ms;
    } map[] = {
        {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
    };
    struct statvfs sv;
    if (statvfs(path, &sv) < 0)
        die(path);
    for (size_t i = 0; i < N(map); i++)
        if (sv.f_flag & map[i].st)
            flags |= map[i].ms;
    mnt(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die(path);
}

/* "ROOTFS/PATH" into buf. */
static char *in_root(char *buf, const char *rootfs, const char *path)
{
    snprintf(buf, PATH_MAX, "%s%s", rootfs, path);
    return buf;
}

/* The container's cgroups: the host's directory of each, its name under
 * the container's /sys/fs/cgroup ("" on cgroup v2). */
struct cg {
    char dir[PATH_MAX];
    char name[64];
};
static struct cg cgs[16];
static size_t n_cgs, n_made; /* found, made (as root) */
static pid_t cg_owner;       /* the process that removes them */
static bool cg_v2;

/* One line of /proc/self/cgroup ("ID:CONTROLLERS:PATH") as a cgroup: the
 * process's own, or as root one made below it for the container. */
static void add_cgroup(char *line)
{
    char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
    if (!path || n_cgs == N(cgs))
        return;
    *ctrls++ = *path++ = '\0';
    path[strcspn(path, "\n")] = '\0';
    /* On a hybrid host the empty cgroup2 holds no controller: skipped. */
    if (!*ctrls != cg_v2)
        return;
    struct cg *c = &cgs[n_cgs];
    snprintf(c->name, sizeof(c->name), "%s", strncmp(ctrls, "name=", 5) ? ctrls : ctrls + 5);
    char root[128];
    snprintf(root, sizeof(root), "/sys/fs/cgroup%s%s", cg_v2 ? "" : "/", c->name);
    if (access(root, F_OK) < 0)
        return;
    snprintf(c->dir, sizeof(c->dir), "%s%s", root, strcmp(path, "/") ? path : "");
    if (!rootless) {
        size_t len = strlen(c->dir);
        snprintf(c->dir + len, sizeof(c->dir) - len, "/floor-%d", (int)getpid());
    }
    n_cgs++;
}

static void find_cgroups(void)
{
    struct statfs sfs;
    cg_v2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        die("/proc/self/cgroup");
    char line[PATH_MAX + 128];
    while (fgets(line, sizeof(line), f))
        add_cgroup(line);
    fclose(f);
}

static void read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
    if (n < 0)
        die(path);
    buf[n] = '\0';
    close(fd);
}

static void write_in(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    write_file(path, text);
}

/* A v1 cpuset takes no process before it has cpus and mems: its
 * parent's. */
static void copy_from_parent(const char *dir, const char *file)
{
    char path[PATH_MAX + 32], value[4096];
    snprintf(path, sizeof(path), "%s/../%s", dir, file);
    read_file(path, value, sizeof(value));
    write_in(dir, file, value);
}

/* linux.resources.devices of the spec (deny everything), then the
 * default devices and /dev/pts/ptmx allowed, as every runtime adds. */
static void devices_v1(const char *dir)
{
    static const char *const allow[] = {
        "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
        "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm",
    };
    write_in(dir, "devices.deny", "a");
    for (size_t i = 0; i < N(allow); i++)
        write_in(dir, "devices.allow", allow[i]);
}

/* As root, the container's cgroups made.  On cgroup v2 the device rules
 * would be a BPF program attached to the cgroup: not done here. */
static void make_cgroups(void)
{
    for (size_t i = 0; i < n_cgs; i++) {
        if (mkdir(cgs[i].dir, 0755) < 0)
            die(cgs[i].dir);
        n_made = i + 1;
        if (strcmp(cgs[i].name, "cpuset") == 0) {
            copy_from_parent(cgs[i].dir, "cpuset.cpus");
            copy_from_parent(cgs[i].dir, "cpuset.mems");
        } else if (strcmp(cgs[i].name, "devices") == 0) {
            devices_v1(cgs[i].dir);
        }
    }
}

static void remove_cgroups(void)
{
    for (size_t i = n_made; i-- > 0;)
        if (rmdir(cgs[i].dir) < 0)
            fprintf(stderr, "floor: rmdir %s: %s\n", cgs[i].dir, strerror(errno));
    n_made = 0;
}

/* On failure, the parent removes the cgroups it made (not the child). */
static void cleanup(void)
{
    if (n_made && getpid() == cg_owner)
        remove_cgroups();
}

/* v1: the child moves itself into each hierarchy's cgroup. */
static void join_cgroups(void)
{
    for (size_t i = 0; i < n_cgs; i++)
        write_in(cgs[i].dir, "cgroup.procs", "0");
}

/* The spec's "cgroup" mount: the container's own cgroups, read-only; on
 * v1 one directory per hierarchy in a tmpfs, made read-only last. */
static void mount_cgroupfs(const char *rootfs)
{
    const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    char top[PATH_MAX], sub[PATH_MAX + 64];
    in_root(top, rootfs, "/sys/fs/cgroup");
    if (!cg_v2)
        mnt("tmpfs", top, "tmpfs", safe, "mode=755");
    for (size_t i = 0; i < n_cgs; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", top, cgs[i].name);
        make_dir(sub);
        mnt(cgs[i].dir, sub, NULL, MS_BIND | MS_REC, NULL);
        remount(sub, MS_RDONLY | safe);
    }
    if (!cg_v2)
        mnt(NULL, top, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | safe, NULL);
}

#define ROOTFUL  1
#define ROOTLESS 2
#define BOTH     3

/* config.json's mounts of `mdrun spec [--rootless]`, in its order;
 * the last one, "cgroup", is mount_cgroupfs(). */
static const struct {
    const char *dest, *type, *src;
    unsigned long flags;
    const char *data;
    int modes;
} spec_mounts[] = {
    {"/proc", "proc", "proc", 0, NULL, BOTH},
    {"/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", BOTH},
    {"/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
     "newinstance,ptmxmode=0666,mode=0620,gid=5", ROOTFUL},
    {"/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620",
     ROOTLESS},
    {"/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", BOTH},
    {"/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, BOTH},
    {"/sys", "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, ROOTFUL},
    /* A user namespace may not mount sysfs without its own network one. */
    {"/sys", NULL, "/sys", MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, ROOTLESS},
};

static void mount_all(const char *rootfs)
{
    char dest[PATH_MAX];
    for (size_t i = 0; i < N(spec_mounts); i++) {
        if (!(spec_mounts[i].modes & (rootless ? ROOTLESS : ROOTFUL)))
            continue;
        in_root(dest, rootfs, spec_mounts[i].dest);
        make_dir(dest);
        unsigned long flags = spec_mounts[i].flags;
        if (!(flags & MS_BIND)) {
            mnt(spec_mounts[i].src, dest, spec_mounts[i].type, flags, spec_mounts[i].data);
            continue;
        }
        mnt(spec_mounts[i].src, dest, NULL, MS_BIND | MS_REC, NULL);
        remount(dest, flags & ~MS_BIND);
    }
    mount_cgroupfs(rootfs);
}

/* The spec's default devices: made as root, the host's bound as a user
 * (mknod needs CAP_MKNOD in the initial user namespace). */
static void make_devices(const char *rootfs)
{
    static const struct {
        const char *path;
        unsigned major, minor;
    } devs[] = {
        {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
        {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
    };
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
        {"pts/ptmx", "/dev/ptmx"},
    };
    char path[PATH_MAX];
    mode_t mask = umask(0);
    for (size_t i = 0; i < N(devs); i++) {
        in_root(path, rootfs, devs[i].path);
        if (!rootless) {
            if (mknod(path, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
                die(path);
            continue;
        }
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            die(path);
        close(fd);
        mnt(devs[i].path, path, NULL, MS_BIND, NULL);
    }
    umask(mask);
    for (size_t i = 0; i < N(links); i++)
        if (symlink(links[i][0], in_root(path, rootfs, links[i][1])) < 0)
            die(path);
}

/* After the pivot: the masked paths (a directory under an empty
 * read-only tmpfs, anything else under /dev/null), the read-only paths,
 * then the read-only root.  Paths missing here are skipped. */
static void protect_paths(void)
{
    static const char *const masked[] = {
        "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
        "/sys/firmware",       "/proc/scsi",
    };
    static const char *const readonly[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    };
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    struct stat st;
    for (size_t i = 0; i < N(masked); i++) {
        if (stat(masked[i], &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            mnt("tmpfs", masked[i], "tmpfs", ro, "size=0k,mode=555");
        else
            mnt("/dev/null", masked[i], NULL, MS_BIND, NULL);
    }
    for (size_t i = 0; i < N(readonly); i++) {
        if (stat(readonly[i], &st) < 0)
            continue;
        mnt(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL);
        remount(readonly[i], MS_RDONLY);
    }
    remount("/", MS_RDONLY);
}

/* process.capabilities of the default spec: bounding, effective and
 * permitted hold these, inheritable and ambient nothing. */
static void set_caps(void)
{
    const uint64_t keep = 1ULL << CAP_AUDIT_WRITE | 1ULL << CAP_KILL | 1ULL << CAP_NET_BIND_SERVICE;
    /* Up to the last capability the kernel knows: EINVAL past it. */
    for (int cap = 0;; cap++) {
        if (keep & 1ULL << cap)
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break;
            die("drop from the bounding set");
        }
    }
    struct __user_cap_header_struct head = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)keep, .permitted = (uint32_t)keep},
        {.effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32)},
    };
    if (syscall(SYS_capset, &head, data) < 0)
        die("capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        die("clear the ambient set");
}

/* Stands for linux.seccomp of the default profile: mdrun's compiles to
 * 1455 BPF instructions, and what the kernel does when it is installed
 * (checking the program, translating it to eBPF, the JIT) grows with the
 * length alone.  So: the same length, every system call allowed, a
 * number compared at each step as the profile's list does. */
#define FILTER_LEN 1455
static struct sock_filter filter[FILTER_LEN];

static void build_filter(void)
{
    size_t n = 0;
    filter[n++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (unsigned nr = 0; n + 2 < FILTER_LEN; nr++) {
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    while (n < FILTER_LEN)
        filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
}

static void load_filter(void)
{
    struct sock_fprog prog = {.len = FILTER_LEN, .filter = filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        die("seccomp");
}

static _Noreturn void spec_child(char **argv, uid_t uid, gid_t gid)
{
    static char *const env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "TERM=xterm",
        NULL,
    };
    const char *rootfs = argv[0];
    if (rootless)
        map_self(uid, gid);
    else if (!cg_v2)
        join_cgroups();
    bind_rootfs(rootfs);
    mount_all(rootfs);
    make_devices(rootfs);
    pivot(rootfs);
    if (sethostname("mdrun", 5) < 0)
        die("sethostname");
    protect_paths();
    struct rlimit nofile = {1024, 1024};
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
        die("setrlimit");
    set_caps();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("no_new_privs");
    load_filter();
    execve(argv[1], argv + 1, env);
    die(argv[1]);
}

/* clone3, for CLONE_INTO_CGROUP on cgroup v2 (fork semantics). */
static pid_t clone_into(long flags, int cgfd)
{
    struct clone_args args = {.flags = (uint64_t)flags, .exit_signal = SIGCHLD};
    if (cgfd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)cgfd;
    }
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int spec(char **argv)
{
    uid_t uid = getuid();
    gid_t gid = getgid();
    rootless = uid != 0;
    build_filter();
    find_cgroups();
    int cgfd = -1;
    if (!rootless) {
        cg_owner = getpid();
        make_cgroups();
        if (cg_v2 && n_cgs && (cgfd = open(cgs[0].dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            die(cgs[0].dir);
    }
    pid_t pid = clone_into(namespaces(uid), cgfd);
    if (pid == 0)
        spec_child(argv, uid, gid);
    int status = 125 << 8;
    if (pid < 0)
        perror("floor: clone3");
    else
        wait_for(pid, &status);
    remove_cgroups();
    return exit_status(status);
}

int main(int argc, char **argv)
{
    bool with_spec = argc > 1 && strcmp(argv[1], "--spec") == 0;
    if (argc < 3 + with_spec) {
        fputs("usage: floor [--spec] ROOTFS PROGRAM [ARG...]\n", stderr);
        return 125;
    }
    return with_spec ? spec(argv + 2) : bare(argv + 1);
}
