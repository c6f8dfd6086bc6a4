/* fileio.h - whole-file reads, atomic writes, writes to a reader that may
 * be gone. */
#ifndef MD_FILEIO_H
#define MD_FILEIO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mdrun.h"

/* Read a whole regular file (relative to dirfd, AT_FDCWD for none) into a
 * NUL-terminated buffer.  Refuses directories and files over max bytes. */
int md_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len,
                    md_error *err);

/* Write data to dirfd/name through a temporary file and rename(2), so that
 * readers see the old or the new content, never a mix. */
int md_write_file_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                         md_error *err);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int md_write_all(int fd, const void *buf, size_t len);

/* SIGPIPE blocked around writes to a pipe or terminal whose reader may be
 * gone, so that they fail with EPIPE instead of killing mdrun.  Restoring
 * swallows the SIGPIPE those writes raised (not one pending before) and
 * puts the signal mask back. */
struct md_sigpipe_guard {
    sigset_t old;
    bool was_pending;
};
void md_sigpipe_block(struct md_sigpipe_guard *g);
void md_sigpipe_restore(struct md_sigpipe_guard *g);

#endif
