/* fileio.c - whole-file reads and atomic writes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"

int md_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len, md_error *err)
{
    md_autofd fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return md_fail(err, errno, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return md_fail(err, errno, "stat %s", path);
    if (S_ISDIR(st.st_mode))
        return md_fail(err, EISDIR, "read %s", path);
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > max)
        return md_fail(err, EFBIG, "read %s: larger than %zu bytes", path, max);

    /* A regular file's size, plus its NUL and one byte for the read that
     * finds its end: no growth (config.json would take twice its size). */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 2 : 4096;
    size_t used = 0;
    md_autofree char *buf = malloc(cap);
    if (!buf)
        return md_fail(err, ENOMEM, "read %s", path);
    for (;;) {
        if (used + 1 >= cap) {
            if (cap > max)
                return md_fail(err, EFBIG, "read %s: larger than %zu bytes", path, max);
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                return md_fail(err, ENOMEM, "read %s", path);
            buf = grown;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return md_fail(err, errno, "read %s", path);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used > max)
        return md_fail(err, EFBIG, "read %s: larger than %zu bytes", path, max);
    buf[used] = '\0';
    if (len)
        *len = used;
    *out = md_take_ptr(&buf);
    return 0;
}

int md_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int md_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         md_error *err)
{
    md_autofree char *tmp = NULL;
    if (asprintf(&tmp, ".%s.tmp%d", name, (int)getpid()) < 0)
        return md_fail(err, ENOMEM, "write %s", name);
    md_autofd fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return md_fail(err, errno, "create %s", tmp);
    /* No fsync: the state lives on a tmpfs (/run) that a crash empties anyway. */
    if (md_write_all(fd, data, len) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return md_fail(err, e, "write %s", tmp);
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        int e = errno;
        unlinkat(dirfd, tmp, 0);
        return md_fail(err, e, "rename %s to %s", tmp, name);
    }
    return 0;
}

void md_sigpipe_block(struct md_sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE);
}

void md_sigpipe_restore(struct md_sigpipe_guard *g)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    /* Swallow the SIGPIPE our own writes raised, not one that was there. */
    if (!g->was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
