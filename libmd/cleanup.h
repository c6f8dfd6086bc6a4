/* cleanup.h - scope-bound release of fds, memory and directories, so that
 * every early return is clean.  Use md_take_fd()/md_take_ptr() to hand a
 * resource out of the scope that owns it. */
#ifndef MD_CLEANUP_H
#define MD_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Close *fd if open and mark it closed, so that a second call (or the
 * cleanup attribute after an explicit close) is harmless. */
static inline void md_close_fd(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}

static inline void md_free_ptr(void *p)
{
    int saved = errno;
    free(*(void **)p);
    errno = saved;
}

static inline void md_close_file(FILE **f)
{
    if (*f)
        fclose(*f);
}

static inline void md_close_dir(DIR **d)
{
    if (*d)
        closedir(*d);
}

#define md_autofd   __attribute__((cleanup(md_close_fd))) int
#define md_autofree __attribute__((cleanup(md_free_ptr)))
#define md_autofile __attribute__((cleanup(md_close_file))) FILE *
#define md_autodir  __attribute__((cleanup(md_close_dir))) DIR *

static inline int md_take_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#define md_take_ptr(pp)                    \
    ({                                     \
        __typeof__(*(pp)) md_tmp_ = *(pp); \
        *(pp) = NULL;                      \
        md_tmp_;                           \
    })

#endif
