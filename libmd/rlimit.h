/* rlimit.h - process.rlimits, applied with prlimit(2) by the parent to the
 * container process before it enters its user namespace's restrictions:
 * raising a hard limit needs CAP_SYS_RESOURCE in the initial namespace. */
#ifndef MD_RLIMIT_H
#define MD_RLIMIT_H

#include <sys/types.h>

#include "spec.h"

int md_rlimits_apply(pid_t pid, const md_rlimit *rlimits, size_t n, md_error *err);

#endif
