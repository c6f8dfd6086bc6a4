/* ns.c - creating and joining namespaces. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "ns.h"
#include "procfs.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
    const char *spec; /* config.json's name */
    const char *proc; /* /proc/PID/ns/ name */
    int type;
} kinds[] = {
    {"user", "user", CLONE_NEWUSER},       {"pid", "pid", CLONE_NEWPID},
    {"mount", "mnt", CLONE_NEWNS},         {"network", "net", CLONE_NEWNET},
    {"ipc", "ipc", CLONE_NEWIPC},          {"uts", "uts", CLONE_NEWUTS},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static int kind_of(const char *spec_name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].spec, spec_name) == 0)
            return kinds[i].type;
    return 0;
}

const char *md_ns_proc_name(int type)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].type == type)
            return kinds[i].proc;
    return "?";
}

const char *md_ns_spec_name(int type)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].type == type)
            return kinds[i].spec;
    return "?";
}

void md_ns_plan_close(struct md_ns_plan *plan)
{
    for (size_t i = 0; i < plan->n_joins; i++)
        md_close_fd(&plan->joins[i].fd);
    plan->n_joins = 0;
}

static int open_join(const md_namespace *ns, size_t index, int type, struct md_ns_join *join,
                     md_error *err)
{
    md_autofd fd = open(ns->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "linux.namespaces[%zu].path: open %s", index, ns->path);
    int actual = ioctl(fd, NS_GET_NSTYPE);
    if (actual < 0)
        return md_fail(err, errno == ENOTTY ? EINVAL : errno,
                       "linux.namespaces[%zu].path: %s is not a namespace", index, ns->path);
    if (actual != type)
        return md_failx(err, EINVAL, "linux.namespaces[%zu].path: %s is a %s namespace, not %s",
                        index, ns->path, md_ns_spec_name(actual), ns->type);
    join->type = type;
    join->fd = md_take_fd(&fd);
    return 0;
}

int md_ns_plan_open(const md_linux *lx, struct md_ns_plan *plan, md_error *err)
{
    memset(plan, 0, sizeof(*plan));
    size_t n = lx ? lx->n_namespaces : 0;
    /* The user namespace is joined first: the others may belong to it. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const md_namespace *ns = &lx->namespaces[i];
            int type = kind_of(ns->type);
            if (type == 0)
                return md_failx(err, EINVAL, "linux.namespaces[%zu].type: unknown namespace \"%s\"",
                                i, ns->type);
            if ((type == CLONE_NEWUSER) != (pass == 0))
                continue;
            if (!ns->path || !*ns->path) {
                if (type == CLONE_NEWUSER)
                    plan->new_user = true;
                else if (type == CLONE_NEWPID)
                    plan->new_pid = true;
                else if (type == CLONE_NEWTIME)
                    plan->new_time = true;
                else
                    plan->unshare_flags |= type;
                continue;
            }
            if (plan->n_joins == sizeof(plan->joins) / sizeof(plan->joins[0]) ||
                open_join(ns, i, type, &plan->joins[plan->n_joins], err) < 0) {
                md_ns_plan_close(plan);
                return err->msg ? -1 : md_failx(err, EINVAL, "linux.namespaces: too many paths");
            }
            plan->n_joins++;
            plan->join_user |= type == CLONE_NEWUSER;
            plan->join_pid |= type == CLONE_NEWPID;
            plan->join_time |= type == CLONE_NEWTIME;
        }
    }
    return 0;
}

int md_ns_birth_flags(const struct md_ns_plan *plan, bool born_in_cgroup)
{
    if (plan->n_joins > 0 || plan->new_time)
        return 0;
    int flags = plan->unshare_flags | (plan->new_user ? CLONE_NEWUSER : 0) |
                (plan->new_pid ? CLONE_NEWPID : 0);
    return born_in_cgroup ? flags : flags & ~CLONE_NEWCGROUP;
}

bool md_ns_needs_fork(const struct md_ns_plan *plan)
{
    bool pid_made = (plan->at_birth & CLONE_NEWPID) != 0;
    return (plan->new_pid && !pid_made) || plan->join_pid || plan->new_time || plan->join_time;
}

static int join(const struct md_ns_join *j, md_error *err)
{
    if (setns(j->fd, j->type) < 0)
        return md_fail(err, errno, "join %s namespace", md_ns_spec_name(j->type));
    return 0;
}

int md_ns_join_user(const struct md_ns_plan *plan, md_error *err)
{
    for (size_t i = 0; i < plan->n_joins; i++)
        if (plan->joins[i].type == CLONE_NEWUSER)
            return join(&plan->joins[i], err);
    return 0;
}

int md_ns_join_others(const struct md_ns_plan *plan, md_error *err)
{
    for (size_t i = 0; i < plan->n_joins; i++)
        if (plan->joins[i].type != CLONE_NEWUSER && join(&plan->joins[i], err) < 0)
            return -1;
    return 0;
}

/* Offsets are written once, before the first process enters the new time
 * namespace (the one forked next). */
static int write_time_offsets(const md_linux *lx, md_error *err)
{
    char text[256] = "";
    size_t off = 0;
    for (size_t i = 0; lx && i < lx->n_time_offsets; i++) {
        const md_time_offset *t = &lx->time_offsets[i];
        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s %lld %u\n", t->clock,
                                (long long)(t->has_secs ? t->secs : 0),
                                t->has_nanosecs ? t->nanosecs : 0u);
        if (off >= sizeof(text))
            return md_failx(err, E2BIG, "linux.timeOffsets: too many clocks");
    }
    if (off == 0)
        return 0;
    /* A joined mount namespace's /proc is not necessarily a procfs. */
    md_autofd fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && !md_on_procfs(fd))
        return md_failx(err, EXDEV,
                        "linux.timeOffsets: /proc/self/timens_offsets is not on a procfs");
    if (fd < 0 || md_write_all(fd, text, off) < 0)
        return md_fail(err, errno, "linux.timeOffsets: write /proc/self/timens_offsets");
    return 0;
}

int md_ns_create(const struct md_ns_plan *plan, const md_linux *lx, md_error *err)
{
    int flags = (plan->unshare_flags | (plan->new_pid ? CLONE_NEWPID : 0)) & ~plan->at_birth;
    if (flags && unshare(flags) < 0) {
        int e = errno;
        char names[128] = "";
        for (size_t i = 0; i < N_KINDS; i++)
            if (flags & kinds[i].type)
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                         names[0] ? ", " : "", kinds[i].spec);
        return md_fail(err, e, "create namespaces (%s)", names);
    }
    if (plan->new_time) {
        if (unshare(CLONE_NEWTIME) < 0)
            return md_fail(err, errno, "create time namespace");
        if (write_time_offsets(lx, err) < 0)
            return -1;
    }
    return 0;
}
