/* protect.c - keeping the binary we run from out of the container's reach,
 * and being non-dumpable while others can see us (see protect.h).
 *
 * Three cases, cheapest first:
 * - an unprivileged caller whose binary only root may write: nothing to
 *   do, since its containers never hold the host's root id;
 * - root: the exec step (exec-step.h), a 3 KB program in a sealed memfd
 *   that makes the container process's last execve(2); should no such
 *   memfd be allowed (vm.memfd_noexec), or an SELinux or AppArmor label
 *   be due at that execve, a second execve(2) of mdrun itself, through a
 *   read-only bind mount of the binary that belongs to no mount namespace;
 * - anyone else (a user running a binary of their own): a second execve(2)
 *   from a sealed memfd copy, one read of the binary from the page cache
 *   whose pages are charged to the caller's memory cgroup. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "exec-step.h"
#include "protect.h"
#include "safepath.h"
#include "seccomp.h"
#include "sync.h"
#include "userns.h"

/* Linux 6.3: ask for an executable memfd where vm.memfd_noexec = 1 would
 * make it non-executable by default. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* No write, no resize, and no one may lift or add a seal. */
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Set across our own re-execution only, and removed at once: should the
 * kernel not show what we run from as sealed or read-only (an emulator such
 * as valgrind serves /proc/self/exe itself), we warn once instead of
 * re-executing forever. */
#define REEXEC_MARK "_MDRUN_SEALED_REEXEC"

extern char **environ;

_Static_assert(MD_EXEC_STEP_SYNC_ERROR == MD_SYNC_ERROR, "exec-step.h: the sync error type");
_Static_assert(MD_EXEC_STEP_TEXT_MAX == MD_SYNC_TEXT_MAX, "exec-step.h: the sync text size");

static char *const *main_argv; /* for a late re-execution */
static bool runs_protected;    /* from a sealed copy or a read-only view */
static int step_fd = -1;       /* the sealed exec step, inherited by children */

static bool fd_is_sealed(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 && (seals & SEALS) == SEALS;
}

bool md_exe_is_sealed(void)
{
    md_autofd fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    return fd >= 0 && fd_is_sealed(fd);
}

/* sendfile(2) where the kernel can, read/write otherwise. */
static int copy_file(int from, int to, off_t size)
{
    char buf[65536];
    bool plain = false;
    for (off_t done = 0; done < size;) {
        ssize_t n;
        if (!plain) {
            n = sendfile(to, from, NULL, (size_t)(size - done));
            if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
                plain = true;
                continue;
            }
        } else {
            n = read(from, buf, sizeof(buf));
            if (n > 0 && md_write_all(to, buf, (size_t)n) < 0)
                return -1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0) {
            errno = EIO; /* the binary shrank under us */
            return -1;
        }
        done += n;
    }
    return 0;
}

static int sealed_copy(int exe, const struct stat *st, md_error *err)
{
    int fd = memfd_create("mdrun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create("mdrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        int e = errno;
        return md_fail(err, e, "protect the mdrun binary: memfd_create%s",
                       e == EACCES ? " (vm.memfd_noexec forbids executable memfds)" : "");
    }
    md_autofd copy = fd;
    if (copy_file(exe, copy, st->st_size) < 0)
        return md_fail(err, errno, "protect the mdrun binary: copy /proc/self/exe");
    if (fcntl(copy, F_ADD_SEALS, SEALS) < 0)
        return md_fail(err, errno, "protect the mdrun binary: seal the copy");
    return md_take_fd(&copy);
}

/* comm would read as the fd number the copy was executed from: show the
 * name we were started as, for ps, top and the kernel's messages. */
static void restore_comm(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    const char *name = slash ? slash + 1 : argv0;
    if (name && *name)
        prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* Whether no container of this caller can ever write the binary: the
 * caller is an unprivileged user of the host, whose containers hold only
 * its own ids and its subordinate ones (newuidmap maps nothing else), and
 * the file is writable by its owner, root, alone, with no ACL that could
 * grant more.  Root's own DAC override does not count: the container's
 * root is another host id. */
static bool out_of_reach(int exe, const struct stat *st)
{
    if (geteuid() == 0 || st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)))
        return false;
    if (fgetxattr(exe, "system.posix_acl_access", NULL, 0) >= 0)
        return false;
    if (errno != ENODATA && errno != ENOTSUP)
        return false;
    return md_in_initial_userns();
}

/* The binary through a read-only bind mount that is in no mount namespace
 * (open_tree(2), Linux 5.2; needs CAP_SYS_ADMIN over our mount namespace):
 * the kernel refuses any write through /proc/PID/exe with EROFS, and the
 * mount cannot be made writable again by anyone without CAP_SYS_ADMIN in
 * our user namespace, since no namespace holds it.  -1 when unavailable. */
static int readonly_view(void)
{
    if (geteuid() != 0)
        return -1;
    md_autofd tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (tree < 0)
        return -1;
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
        return -1;
    return md_take_fd(&tree);
}

static bool on_readonly_mount(int fd)
{
    struct statvfs sv;
    return fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

/* Execute ourselves again from a view of the binary no one can write. */
static int reexecute(int exe, const struct stat *st, md_error *err)
{
    md_autofd view = readonly_view();
    if (view < 0)
        view = sealed_copy(exe, st, err);
    if (view < 0)
        return -1;
    char *const *argv = main_argv;
    if (setenv(REEXEC_MARK, "1", 1) < 0)
        return md_fail(err, errno, "protect the mdrun binary: setenv");
    md_debug("re-executing from a %s", fd_is_sealed(view) ? "sealed copy of the mdrun binary"
                                                          : "read-only view of the mdrun binary");
    /* execveat(AT_EMPTY_PATH), or /proc/self/fd/N before Linux 3.19. */
    fexecve(view, argv, environ);
    int e = errno;
    unsetenv(REEXEC_MARK);
    return md_fail(err, e, "protect the mdrun binary: execute %s",
                   fd_is_sealed(view) ? "the sealed copy" : "the read-only view");
}

int md_protect_exe(char *const argv[], md_error *err)
{
    main_argv = argv;
    bool reexecuted = getenv(REEXEC_MARK) != NULL;
    unsetenv(REEXEC_MARK); /* never passed on to hooks or helpers */
    md_autofd exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0)
        return md_fail(err, errno, "protect the mdrun binary: open /proc/self/exe");
    if (fd_is_sealed(exe) || (reexecuted && on_readonly_mount(exe))) {
        runs_protected = true;
        restore_comm(argv[0]);
        return 0;
    }
    if (reexecuted) {
        /* An emulator: trusted as protected, no exec step either. */
        md_warn("the mdrun binary runs from a copy the kernel does not show as sealed");
        runs_protected = true;
        return 0;
    }
    struct stat st;
    if (fstat(exe, &st) < 0)
        return md_fail(err, errno, "protect the mdrun binary: stat /proc/self/exe");
    if (out_of_reach(exe, &st)) {
        md_debug("the mdrun binary is writable by root alone: no re-execution");
        return 0;
    }
    if (geteuid() == 0) { /* md_protect_exec_step(), once the command knows what it starts */
        md_debug("root: no re-execution, the container process will leave the binary through "
                 "the exec step");
        return 0;
    }
    return reexecute(exe, &st, err);
}

/* The exec step in a sealed memfd; -1 with errno when none can be made. */
static int step_memfd(void)
{
    int fd = memfd_create(MD_EXEC_STEP_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create(MD_EXEC_STEP_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    md_autofd step = fd;
    if (md_write_all(step, md_exec_step_blob, md_exec_step_size) < 0 ||
        fcntl(step, F_ADD_SEALS, SEALS) < 0)
        return -1;
    return md_take_fd(&step);
}

int md_protect_exec_step(bool labelled, md_error *err)
{
    if (geteuid() != 0 || runs_protected || step_fd >= 0)
        return 0;
    if (!labelled) {
        step_fd = step_memfd();
        if (step_fd >= 0)
            return 0;
        md_debug("no exec step (memfd: %s): mdrun executes itself again", strerror(errno));
    }
    md_autofd exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (exe < 0 || fstat(exe, &st) < 0)
        return md_fail(err, errno, "protect the mdrun binary: open /proc/self/exe");
    if (!main_argv)
        return md_failx(err, EINVAL, "protect the mdrun binary: no command line to execute");
    return reexecute(exe, &st, err);
}

bool md_protect_has_exec_step(void)
{
    return step_fd >= 0;
}

/* "s7", "h9" or "-": where the step reports a failed execve. */
static void report_arg(char *buf, size_t size, char kind, int fd)
{
    if (fd < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%c%d", kind, fd);
}

/* Through the exec step; returns with errno when even that exec failed. */
static void exec_through_step(const struct md_exec_call *call)
{
    size_t argc = 0;
    while (call->argv[argc])
        argc++;
    char **v = calloc(argc + 6, sizeof(*v));
    if (!v) {
        errno = ENOMEM;
        return;
    }
    char where[24], status[16], hints[48];
    report_arg(where, sizeof(where), call->report_kind, call->report_fd);
    snprintf(status, sizeof(status), "%d", call->status);
    md_seccomp_deny_list(call->seccomp, hints, sizeof(hints));
    v[0] = MD_EXEC_STEP_NAME;
    v[1] = where;
    v[2] = status;
    v[3] = hints;
    v[4] = (char *)call->path;
    memcpy(v + 5, call->argv, argc * sizeof(*v));
    /* The report channel survives the step's execve; the step closes it
     * on the next one. */
    if (call->report_fd >= 0 && fcntl(call->report_fd, F_SETFD, 0) < 0) {
        free(v);
        return;
    }
    syscall(SYS_execveat, step_fd, "", v, call->envp, AT_EMPTY_PATH);
    /* A seccomp filter may allow execve but not execveat. */
    char path[32];
    execve(md_fd_path(step_fd, path), v, call->envp);
    int e = errno;
    if (call->report_fd >= 0)
        fcntl(call->report_fd, F_SETFD, FD_CLOEXEC);
    free(v);
    errno = e;
}

void md_exec(const struct md_exec_call *call, md_error *err)
{
    if (step_fd < 0)
        execve(call->path, call->argv, call->envp);
    else
        exec_through_step(call);
    int e = errno;
    if (md_seccomp_may_deny(call->seccomp, e))
        md_failx(err, e, "exec %s: %s (does linux.seccomp allow execve?)", call->path, strerror(e));
    else
        md_fail(err, e, "exec %s", call->path);
}

int md_protect_dumpable(bool dumpable, md_error *err)
{
    if (prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) < 0)
        return md_fail(err, errno, "prctl(PR_SET_DUMPABLE, %d)", dumpable ? 1 : 0);
    return 0;
}
