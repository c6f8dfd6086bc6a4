/* seccomp.h - linux.seccomp: compiled with libseccomp by mdrun before the
 * fork, loaded by the container process with one seccomp(2) call.
 *
 * The container process does no libseccomp work: it gets a ready classic
 * BPF program and the filter flags, and only calls md_seccomp_load().  The
 * compiled program is cached by content (see md_seccomp_prepare), so that
 * repeated runs of one config skip the compilation.
 *
 * When the filter is loaded (init.c, DESIGN.md stage 7):
 *   - noNewPrivileges false: before the capabilities are dropped, while the
 *     process still has CAP_SYS_ADMIN in its user namespace, which loading
 *     a filter needs without no_new_privs;
 *   - noNewPrivileges true: as late as possible, just before execve(2),
 *     so that mdrun's own system calls are not filtered;
 *   - a filter with SCMP_ACT_NOTIFY and noNewPrivileges true: before the
 *     container reports "created", because its listener fd must reach mdrun
 *     over the sync socket, which is closed after that.
 * Whatever runs after the filter (the exec fifo wait, startContainer hooks,
 * close_range, execve) must be allowed by the profile, as with runc/crun.
 */
#ifndef MD_SECCOMP_H
#define MD_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

#include "spec.h"
#include "state.h"

struct md_seccomp_program {
    struct sock_filter *filter;
    unsigned short len; /* instructions */
    unsigned flags;     /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
    bool notify;        /* some rule is SCMP_ACT_NOTIFY: the load makes a listener */
    bool from_cache;    /* read from the cache rather than compiled */
    int default_errno;  /* the errno of an SCMP_ACT_ERRNO default action, else 0 */
};

/* Compile s with libseccomp.  Names of system calls this libseccomp does
 * not know are skipped (debug message); anything else it refuses is an
 * error naming the JSON path under linux.seccomp. */
int md_seccomp_compile(const md_seccomp *s, struct md_seccomp_program **out, md_error *err);

/* The same through the cache in cache_dir (NULL: md_seccomp_cache_dir(),
 * or for a user whose home cannot hold it, /var/tmp/mdrun-UID/seccomp).
 * A cache that cannot be used (not ours, open to others, unwritable) is
 * skipped with a debug message; a corrupt entry is compiled again and
 * replaced. */
int md_seccomp_prepare(const md_seccomp *s, const char *cache_dir, struct md_seccomp_program **out,
                       md_error *err);

/* The default cache directory: $XDG_CACHE_HOME/mdrun/seccomp when set;
 * else $HOME/.cache/mdrun/seccomp when rootless; else
 * /var/cache/mdrun/seccomp.  Caller frees. */
int md_seccomp_cache_dir(char **out, md_error *err);

void md_seccomp_program_free(struct md_seccomp_program *p);

/* In the container process: load the program (no_new_privs or
 * CAP_SYS_ADMIN needed, as the kernel requires).  *listener gets the
 * SCMP_ACT_NOTIFY fd, or -1 when the program has no such rule. */
int md_seccomp_load(const struct md_seccomp_program *p, int *listener, md_error *err);

/* Whether an execve(2) that failed with errnum after p was loaded may
 * have been refused by p: for the hint in the error message. */
bool md_seccomp_may_deny(const struct md_seccomp_program *p, int errnum);
/* The same errnos as a comma-separated list ("1,38"; "" without p), for
 * the exec step (exec-step.h). */
void md_seccomp_deny_list(const struct md_seccomp_program *p, char *buf, size_t size);

/* In mdrun: connect to s->listenerPath and send, in one sendmsg(2), the
 * listener fd (SCM_RIGHTS) and the container process state (runtime-spec
 * config-linux.md) for the container process pid with the given state. */
int md_seccomp_send_listener(const md_seccomp *s, int listener, pid_t pid,
                             const md_state_info *state, md_error *err);

#endif
