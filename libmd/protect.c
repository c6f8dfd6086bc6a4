/* protect.c - running from a sealed in-memory copy of our own binary, and
 * being non-dumpable while others can see us (see protect.h).
 *
 * The copy costs one read of the binary from the page cache and a second
 * execve(2) with its dynamic linking, per command that starts a container
 * process; nothing is cached between runs because a memfd lives only as
 * long as something holds it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "log.h"
#include "protect.h"

/* Linux 6.3: ask for an executable memfd where vm.memfd_noexec = 1 would
 * make it non-executable by default. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* No write, no resize, and no one may lift or add a seal. */
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Set across our own re-execution only, and removed at once: should the
 * kernel not show the copy as sealed (an emulator such as valgrind serves
 * /proc/self/exe itself), we warn once instead of copying forever. */
#define REEXEC_MARK "_MDRUN_SEALED_REEXEC"

extern char **environ;

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

static int sealed_copy(md_error *err)
{
    md_autofd exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (exe < 0)
        return md_fail(err, errno, "protect the mdrun binary: open /proc/self/exe");
    struct stat st;
    if (fstat(exe, &st) < 0)
        return md_fail(err, errno, "protect the mdrun binary: stat /proc/self/exe");
    int fd = memfd_create("mdrun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create("mdrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        int e = errno;
        return md_fail(err, e, "protect the mdrun binary: memfd_create%s",
                       e == EACCES ? " (vm.memfd_noexec forbids executable memfds)" : "");
    }
    md_autofd copy = fd;
    if (copy_file(exe, copy, st.st_size) < 0)
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

int md_protect_exe(char *const argv[], md_error *err)
{
    bool reexecuted = getenv(REEXEC_MARK) != NULL;
    unsetenv(REEXEC_MARK); /* never passed on to hooks or helpers */
    if (md_exe_is_sealed()) {
        restore_comm(argv[0]);
        return 0;
    }
    if (reexecuted) {
        md_warn("the mdrun binary runs from a copy the kernel does not show as sealed");
        return 0;
    }
    md_autofd copy = sealed_copy(err);
    if (copy < 0)
        return -1;
    if (setenv(REEXEC_MARK, "1", 1) < 0)
        return md_fail(err, errno, "protect the mdrun binary: setenv");
    md_debug("re-executing from a sealed copy of the mdrun binary");
    /* execveat(AT_EMPTY_PATH), or /proc/self/fd/N before Linux 3.19. */
    fexecve(copy, argv, environ);
    int e = errno;
    unsetenv(REEXEC_MARK);
    return md_fail(err, e, "protect the mdrun binary: execute the sealed copy");
}

int md_protect_dumpable(bool dumpable, md_error *err)
{
    if (prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) < 0)
        return md_fail(err, errno, "prctl(PR_SET_DUMPABLE, %d)", dumpable ? 1 : 0);
    return 0;
}
