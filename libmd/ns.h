/* ns.h - which namespaces the container creates and which it joins. */
#ifndef MD_NS_H
#define MD_NS_H

#include <stdbool.h>
#include <stddef.h>

#include "spec.h"

/* A namespace joined by path, opened by mdrun before the container
 * process exists, so that a wrong path fails early and by name. */
struct md_ns_join {
    int type; /* CLONE_NEW* */
    int fd;
};

struct md_ns_plan {
    bool new_user;
    bool new_pid;
    bool new_time;
    int unshare_flags;          /* new mount, uts, ipc, net, cgroup namespaces */
    struct md_ns_join joins[8]; /* the user namespace first */
    size_t n_joins;
    bool join_user;
    bool join_pid;
    bool join_time;
    int at_birth; /* CLONE_NEW* flags the container process was cloned with */
};

/* Read linux.namespaces; open and check every path (its type must match:
 * `linux.namespaces[1].path: /proc/1/ns/uts is not a network namespace`). */
int md_ns_plan_open(const md_linux *lx, struct md_ns_plan *plan, md_error *err);
void md_ns_plan_close(struct md_ns_plan *plan);

/* The namespaces the container process can be cloned with, all in one
 * step (md_ns_plan.at_birth), or 0: when any namespace is joined, or a
 * time namespace is made (its offsets are written before a process enters
 * it), the process makes them itself (md_ns_create).  The cgroup namespace
 * only when the process is born in its cgroup: the namespace's root is the
 * cgroup it is in when the namespace is made. */
int md_ns_birth_flags(const struct md_ns_plan *plan, bool born_in_cgroup);

/* Whether the init process must be forked after the namespaces are made:
 * a pid or time namespace takes effect only for children. */
bool md_ns_needs_fork(const struct md_ns_plan *plan);

/* In the container process: join the user namespace of the plan, if any. */
int md_ns_join_user(const struct md_ns_plan *plan, md_error *err);
/* Join every other namespace of the plan. */
int md_ns_join_others(const struct md_ns_plan *plan, md_error *err);
/* Create the new namespaces other than user and those made at birth
 * (unshare), and write the time
 * namespace's offsets before any process enters it. */
int md_ns_create(const struct md_ns_plan *plan, const md_linux *lx, md_error *err);

/* The namespace's name in /proc/PID/ns ("net"), and in config.json
 * ("network"), for a CLONE_NEW* flag. */
const char *md_ns_proc_name(int type);
const char *md_ns_spec_name(int type);

#endif
