/* sync.c - typed, ordered messages between mdrun and the container. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fdpass.h"
#include "sync.h"

const char *md_sync_name(enum md_sync_type type)
{
    static const char *const names[] = {
        [MD_SYNC_START] = "start",       [MD_SYNC_USERNS] = "userns",
        [MD_SYNC_MAPPED] = "mapped",     [MD_SYNC_INIT_PID] = "init-pid",
        [MD_SYNC_NS_READY] = "ns-ready", [MD_SYNC_SETUP] = "setup",
        [MD_SYNC_CONSOLE] = "console",   [MD_SYNC_SECCOMP] = "seccomp",
        [MD_SYNC_CREATED] = "created",   [MD_SYNC_ERROR] = "error",
    };
    if (type < MD_SYNC_START || type > MD_SYNC_ERROR)
        return "unknown";
    return names[type];
}

int md_sync_send(int sock, enum md_sync_type type, int32_t value, const char *text, int fd,
                 md_error *err)
{
    /* Only what is sent is written: zeroing the whole message would touch
     * its 3.8 KB of stack in every process that sends one. */
    struct md_sync_msg msg;
    msg.type = type;
    msg.value = value;
    size_t len = offsetof(struct md_sync_msg, text);
    if (text) {
        size_t n = strnlen(text, MD_SYNC_TEXT_MAX - 1);
        memcpy(msg.text, text, n);
        msg.text[n] = '\0';
        len += n + 1;
    }
    if (md_send_with_fds(sock, &msg, len, &fd, fd >= 0 ? 1 : 0) < 0)
        return md_fail(err, errno, "sync: send %s", md_sync_name(type));
    return 0;
}

int md_sync_expect(int sock, enum md_sync_type expected, struct md_sync_msg *msg, int *fd,
                   md_error *err)
{
    int fds[1] = {-1};
    size_t nfds = 0;
    /* The header only: the text is terminated after what came (see send). */
    memset(msg, 0, offsetof(struct md_sync_msg, text));
    msg->text[0] = '\0';
    if (fd)
        *fd = -1;
    ssize_t n = md_recv_with_fds(sock, msg, sizeof(*msg) - 1, fds, 1, &nfds);
    if (n < 0)
        return md_fail(err, errno, "sync: waiting for %s", md_sync_name(expected));
    if (n == 0)
        return md_failx(err, 0, "container process exited while mdrun waited for %s",
                        md_sync_name(expected));
    if ((size_t)n < offsetof(struct md_sync_msg, text)) {
        if (nfds)
            close(fds[0]);
        return md_failx(err, EPROTO, "sync: short message while waiting for %s",
                        md_sync_name(expected));
    }
    msg->text[(size_t)n - offsetof(struct md_sync_msg, text)] = '\0';
    if (msg->type == MD_SYNC_ERROR) {
        if (nfds)
            close(fds[0]);
        /* The text already carries the strerror() of value. */
        return md_failx(err, msg->value, "%s", msg->text);
    }
    if (msg->type != (uint32_t)expected) {
        if (nfds)
            close(fds[0]);
        return md_failx(err, EPROTO, "sync: expected %s, got %s", md_sync_name(expected),
                        md_sync_name(msg->type));
    }
    if (fd)
        *fd = nfds ? fds[0] : -1;
    else if (nfds)
        close(fds[0]);
    return 0;
}

void md_sync_send_error(int sock, const md_error *err)
{
    md_error ignored = {0};
    md_sync_send(sock, MD_SYNC_ERROR, err->errnum, err->msg ? err->msg : "unknown error", -1,
                 &ignored);
    md_error_clear(&ignored);
}
