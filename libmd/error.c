/* error.c - the md_error and md_errors types. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Out of memory while reporting an error: fall back to a static string that
 * md_error_clear() knows not to free. */
static char oom_msg[] = "out of memory";

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

static void set_msg(md_error *err, char *msg)
{
    if (err->msg != oom_msg)
        free(err->msg);
    err->msg = msg ? msg : oom_msg;
}

int md_fail(md_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *base = vformat(fmt, ap);
    va_end(ap);
    char *msg = base;
    if (base && errnum != 0) {
        if (asprintf(&msg, "%s: %s", base, strerror(errnum)) < 0)
            msg = NULL;
        free(base);
    }
    set_msg(err, msg);
    err->errnum = errnum;
    return -1;
}

int md_failx(md_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_msg(err, vformat(fmt, ap));
    va_end(ap);
    err->errnum = errnum;
    return -1;
}

int md_wrap(md_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *ctx = vformat(fmt, ap);
    va_end(ap);
    char *msg = NULL;
    if (ctx && asprintf(&msg, "%s: %s", ctx, err->msg ? err->msg : "unknown error") < 0)
        msg = NULL;
    free(ctx);
    set_msg(err, msg);
    return -1;
}

void md_error_clear(md_error *err)
{
    if (!err)
        return;
    set_msg(err, NULL);
    err->msg = NULL;
    err->errnum = 0;
}

const char *md_error_message(const md_error *err)
{
    return err && err->msg ? err->msg : "";
}

int md_error_errno(const md_error *err)
{
    return err ? err->errnum : 0;
}

static void push(md_errors *list, char *msg)
{
    if (list->n >= MD_ERRORS_MAX) {
        list->dropped++;
        free(msg);
        return;
    }
    char **grown = realloc(list->msgs, (list->n + 1) * sizeof(*grown));
    if (!grown) {
        /* Keep what we have; the caller still sees that something failed. */
        free(msg);
        return;
    }
    list->msgs = grown;
    list->msgs[list->n++] = msg ? msg : strdup(oom_msg);
}

int md_errors_add(md_errors *list, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    push(list, msg);
    return -1;
}

void md_errors_take(md_errors *list, md_error *err)
{
    char *msg = err->msg == oom_msg ? strdup(oom_msg) : err->msg;
    err->msg = NULL;
    err->errnum = 0;
    push(list, msg);
}

void md_errors_clear(md_errors *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        free(list->msgs[i]);
    free(list->msgs);
    list->msgs = NULL;
    list->n = 0;
    list->dropped = 0;
}
