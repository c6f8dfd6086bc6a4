/* identity.h - who the container process is: groups, gid, uid, umask, with
 * capabilities kept across the switch. */
#ifndef MD_IDENTITY_H
#define MD_IDENTITY_H

#include "spec.h"

/* In order: drop the bounding set, set the supplementary groups (when
 * /proc/self/setgroups allows it; additionalGids with setgroups denied is
 * an error naming the cause), setresgid, setresuid keeping capabilities,
 * apply the capability sets, set the umask when given.  process->user may
 * be NULL (uid 0, gid 0). */
int md_identity_apply(const md_process *process, md_error *err);

#endif
