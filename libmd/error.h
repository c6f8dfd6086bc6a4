/* error.h - building md_error values as failures travel up the stack. */
#ifndef MD_ERROR_H
#define MD_ERROR_H

#include "mdrun.h"

#define MD_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set *err to "<message>: <strerror(errnum)>" (or just the message when
 * errnum is 0) and return -1.  Replaces any message already there. */
int md_fail(md_error *err, int errnum, const char *fmt, ...) MD_PRINTF(3, 4);

/* The same without the strerror() suffix, for failures whose message says
 * it all; errnum is still recorded for callers that test it. */
int md_failx(md_error *err, int errnum, const char *fmt, ...) MD_PRINTF(3, 4);

/* Prefix the message in *err with context: "<context>: <old message>".
 * Returns -1 so that `return md_wrap(err, "...")` reads naturally. */
int md_wrap(md_error *err, const char *fmt, ...) MD_PRINTF(2, 3);

/* Append one formatted line to a problem list.  Always returns -1. */
int md_errors_add(md_errors *list, const char *fmt, ...) MD_PRINTF(2, 3);

/* Move the message of err onto the list, leaving err cleared. */
void md_errors_take(md_errors *list, md_error *err);

#endif
