/* floor.c - the least a container runtime can do, for bench/bench.sh to
 * measure mdrun against: one clone(2) into new namespaces, the rootfs
 * bind-mounted and pivoted into, execve(2) of the program, and a wait for
 * it.  No config, no state directory, no cgroup, no /proc or /dev, no
 * capabilities or seccomp: what is left is the cost of the system calls
 * every runtime has to make, on this machine.
 *
 * usage: floor ROOTFS PROGRAM [ARG...]
 *
 * As root it creates the namespaces of `mdrun spec` (mount, pid, network,
 * ipc, uts); as another user those of `mdrun spec --rootless` (user,
 * mount, pid, ipc, uts), with the caller's uid and gid mapped to root by
 * a direct write of the child's own maps.  Exit status: the program's,
 * 128 + N when killed by signal N, 125 when the floor itself failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
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

static void enter_rootfs(const char *rootfs)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        die("make / private");
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind the rootfs");
    if (chdir(rootfs) < 0)
        die("chdir to the rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        die("detach the old root");
    if (chdir("/") < 0)
        die("chdir /");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: floor ROOTFS PROGRAM [ARG...]\n", stderr);
        return 125;
    }
    uid_t uid = getuid();
    gid_t gid = getgid();
    long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
    flags |= uid == 0 ? CLONE_NEWNET : CLONE_NEWUSER;

    /* fork(2) semantics (no new stack), the child is pid 1 of its pid
     * namespace and already in all the others. */
    pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0)
        die("clone");
    if (pid == 0) {
        if (uid != 0)
            map_self(uid, gid);
        enter_rootfs(argv[1]);
        execv(argv[2], argv + 2);
        die(argv[2]);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
