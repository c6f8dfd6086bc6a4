/* procattr.h - the process attributes that are one system call each. */
#ifndef MD_PROCATTR_H
#define MD_PROCATTR_H

#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"

/* Written by the parent to /proc/PID/oom_score_adj (lowering it needs
 * CAP_SYS_RESOURCE in the initial namespace). */
int md_oom_score_adj_apply(pid_t pid, int value, md_error *err);
/* Everything below runs in the container process. */
int md_hostname_apply(const md_spec *spec, md_error *err); /* hostname, domainname */
int md_sysctl_apply(const md_linux *lx, md_error *err);    /* via the container's /proc/sys */
int md_personality_apply(const md_personality *p, md_error *err);
int md_session_keyring_new(const char *id, md_error *err); /* KEYCTL_JOIN_SESSION_KEYRING */
int md_io_priority_apply(const md_io_priority *p, md_error *err);
int md_scheduler_apply(const md_scheduler *s, md_error *err); /* sched_setattr(2) */
int md_memory_policy_apply(const md_memory_policy *p, md_error *err);
int md_no_new_privs_apply(bool on, md_error *err);
/* process.execCPUAffinity: set pid's (0: the caller's) affinity to a list
 * such as "0-3,7"; NULL or "" leaves it alone, as the spec asks.  `exec`
 * calls it with .initial before joining the cgroup, .final after. */
int md_cpu_affinity_apply(pid_t pid, const char *cpus, md_error *err);

#endif
