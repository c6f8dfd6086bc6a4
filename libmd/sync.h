/* sync.h - the one channel between mdrun and the container process: a
 * SOCK_SEQPACKET socketpair carrying typed messages in a fixed order.  Each
 * side says which message it expects next; anything else becomes an error
 * naming both, and an error in the container process travels here as a
 * message so that the user sees one line from the parent. */
#ifndef MD_SYNC_H
#define MD_SYNC_H

#include <stdint.h>

#include "mdrun.h"

/* In the order they are exchanged (P = mdrun, C = container process). */
enum md_sync_type {
    MD_SYNC_START = 1, /* P->C  rlimits (and cgroup) in place: join and create namespaces */
    MD_SYNC_USERNS,    /* C->P  the user namespace exists: write its id maps */
    MD_SYNC_MAPPED,    /* P->C  the id maps are written */
    MD_SYNC_INIT_PID,  /* C->P  value: pid of the init forked into the new pid namespace */
    MD_SYNC_NS_READY,  /* C->P  every namespace exists */
    MD_SYNC_SETUP,     /* P->C  prestart/createRuntime hooks ran: build the container */
    MD_SYNC_CONSOLE,   /* C->P  carries the pty master; text: the slave's name */
    MD_SYNC_SECCOMP,   /* C->P  carries the seccomp listener fd (SCMP_ACT_NOTIFY) */
    MD_SYNC_CREATED,   /* C->P  ready to exec, waiting for start */
    MD_SYNC_ERROR,     /* C->P  text: what failed; the container process exits */
};

#define MD_SYNC_TEXT_MAX 3800

struct md_sync_msg {
    uint32_t type;
    int32_t value;
    char text[MD_SYNC_TEXT_MAX];
};

const char *md_sync_name(enum md_sync_type type);

/* Send a message, with fd attached when fd >= 0. */
int md_sync_send(int sock, enum md_sync_type type, int32_t value, const char *text, int fd,
                 md_error *err);
/* Receive the next message and check it is the expected one.  An
 * MD_SYNC_ERROR becomes err (the container's own message); end of file
 * becomes `container process exited while mdrun waited for X`.  *fd (when
 * not NULL) gets an attached fd, or -1. */
int md_sync_expect(int sock, enum md_sync_type expected, struct md_sync_msg *msg, int *fd,
                   md_error *err);
/* From the container process: report err to the parent (best effort). */
void md_sync_send_error(int sock, const md_error *err);

#endif
