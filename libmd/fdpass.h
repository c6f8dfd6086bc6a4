/* fdpass.h - sending and receiving file descriptors with SCM_RIGHTS. */
#ifndef MD_FDPASS_H
#define MD_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes of data (at least 1) with up to 8 fds.  -1/errno on failure. */
ssize_t md_send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t nfds);
/* Receive up to len bytes and up to max_fds fds (*nfds set; extra fds are
 * closed).  Received fds are O_CLOEXEC.  Returns the byte count, 0 at EOF. */
ssize_t md_recv_with_fds(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *nfds);

#endif
