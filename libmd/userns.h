/* userns.h - the id maps of a new user namespace: which ones, and how they
 * are written (directly, or through the setuid newuidmap/newgidmap). */
#ifndef MD_USERNS_H
#define MD_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "spec.h"

struct md_idmaps {
    md_idmap *uid;
    size_t n_uid;
    md_idmap *gid;
    size_t n_gid;
    bool helper; /* written by newuidmap/newgidmap, not by mdrun */
};

/* Who is asking, and where their subordinate ids are listed; tests stand
 * in for the system with their own files. */
struct md_id_caller {
    uid_t uid;
    gid_t gid;
    const char *name;        /* user name of uid, NULL when it has none */
    bool named;              /* name looked up (md_id_caller_ids() does not) */
    const char *subuid_file; /* "/etc/subuid" */
    const char *subgid_file; /* "/etc/subgid" */
};

void md_id_caller_current(struct md_id_caller *caller);
/* The same without the user name, which md_userns_plan() looks up when it
 * needs it. */
void md_id_caller_ids(struct md_id_caller *caller);

/* Whether we run in the host's user namespace, which maps every id to
 * itself in one range (true too when /proc cannot tell).  Read once: the
 * answer for the process as it started (a process that joins another user
 * namespace must not rely on it afterwards). */
bool md_in_initial_userns(void);

/* Decide the maps: the config's linux.uidMappings/gidMappings when given,
 * else crun's default (the process's uid/gid to the caller's, every other
 * id from the caller's subordinate range).  Root writes any map directly;
 * an unprivileged caller writes only the single own-id map, everything else
 * goes through newuidmap/newgidmap, after checking here that /etc/subuid
 * and /etc/subgid allow it, so the error names the file and the range. */
int md_userns_plan(const md_spec *spec, struct md_id_caller *caller, struct md_idmaps *out,
                   md_error *err);
void md_idmaps_free(struct md_idmaps *maps);

/* Write the maps of process pid's user namespace: gid before uid, and
 * "deny" to setgroups first when an unprivileged caller writes directly
 * (the kernel requires it). */
int md_userns_write(pid_t pid, const struct md_idmaps *maps, md_error *err);

/* The subordinate ranges of a user in an /etc/subuid-style file, as
 * md_idmap entries (host_id = first id, size = count, container_id 0). */
int md_subid_ranges(const char *file, const char *name, uid_t uid, md_idmap **out, size_t *n,
                    md_error *err);

#endif
