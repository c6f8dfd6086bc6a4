/* validate-linux.c - checks of the linux object: namespaces and what depends
 * on them, id mappings, devices, sysctl, seccomp and the smaller settings.
 * Its resources are checked in validate-resources.c. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "validate.h"

/* ------------------------------------------------------------- namespaces */

static void check_namespace(struct md_vctx *v, const md_namespace *ns, size_t i,
                            const md_namespace *all)
{
    if (!ns->type)
        return;
    if (!md_ns_find(ns->type)) {
        md_vbad_at(v, "type", "unknown namespace type \"%s\"", ns->type);
    } else {
        for (size_t j = 0; j < i; j++) {
            if (all[j].type && strcmp(all[j].type, ns->type) == 0) {
                md_vbad_at(v, "type", "duplicate namespace \"%s\" (first at index %zu)", ns->type,
                           j);
                break;
            }
        }
    }
    md_vabsolute(v, "path", ns->path);
}

static void check_namespaces(struct md_vctx *v, const md_namespace *ns, size_t n)
{
    size_t saved = md_vpath_key(v, "namespaces");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_namespace(v, &ns[i], i, ns);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static const char *article(const char *type)
{
    return type[0] == 'i' ? "an" : "a";
}

/* Report at key ("" for the current path) unless linux.namespaces has a
 * namespace of this type. */
static void need_ns(struct md_vctx *v, const char *key, const char *type)
{
    if (!md_vhas_ns(v->spec, type))
        md_vbad_at(v, key, "needs %s %s namespace in linux.namespaces", article(type), type);
}

/* ------------------------------------------------------------ id mappings */

/* The kernel takes at most this many lines in uid_map and gid_map. */
#define IDMAP_MAX 340
#define ID_LIMIT  ((uint64_t)1 << 32)

static bool overlap(uint32_t a, uint32_t b, uint32_t size_a, uint32_t size_b)
{
    return (uint64_t)a < (uint64_t)b + size_b && (uint64_t)b < (uint64_t)a + size_a;
}

static bool idmap_in_range(const md_idmap *m)
{
    return m->size > 0 && (uint64_t)m->container_id + m->size <= ID_LIMIT &&
           (uint64_t)m->host_id + m->size <= ID_LIMIT;
}

static void check_idmap_overlaps(struct md_vctx *v, const md_idmap *maps, size_t i)
{
    const md_idmap *m = &maps[i];
    for (size_t j = 0; j < i; j++) {
        if (!idmap_in_range(&maps[j]))
            continue;
        if (overlap(m->container_id, maps[j].container_id, m->size, maps[j].size)) {
            md_vbad(v, "container IDs %" PRIu32 "-%" PRIu64 " overlap those of entry %zu",
                    m->container_id, (uint64_t)m->container_id + m->size - 1, j);
            return;
        }
        if (overlap(m->host_id, maps[j].host_id, m->size, maps[j].size)) {
            md_vbad(v, "host IDs %" PRIu32 "-%" PRIu64 " overlap those of entry %zu", m->host_id,
                    (uint64_t)m->host_id + m->size - 1, j);
            return;
        }
    }
}

static void check_idmap(struct md_vctx *v, const md_idmap *maps, size_t i)
{
    const md_idmap *m = &maps[i];
    if (m->size == 0)
        md_vbad_at(v, "size", "must be greater than 0");
    else if ((uint64_t)m->container_id + m->size > ID_LIMIT)
        md_vbad_at(v, "size", "containerID %" PRIu32 " + size %" PRIu32 " goes beyond 2^32",
                   m->container_id, m->size);
    else if ((uint64_t)m->host_id + m->size > ID_LIMIT)
        md_vbad_at(v, "size", "hostID %" PRIu32 " + size %" PRIu32 " goes beyond 2^32", m->host_id,
                   m->size);
    else
        check_idmap_overlaps(v, maps, i);
}

void md_validate_idmaps(struct md_vctx *v, const char *key, const md_idmap *maps, size_t n)
{
    size_t saved = md_vpath_key(v, key);
    if (n > IDMAP_MAX)
        md_vbad(v, "%zu entries, the kernel takes at most %d", n, IDMAP_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_idmap(v, maps, i);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_user_mappings(struct md_vctx *v, const md_linux *l)
{
    if (l->n_uid_mappings > 0)
        need_ns(v, "uidMappings", "user");
    else if (l->n_gid_mappings > 0)
        need_ns(v, "gidMappings", "user");
    md_validate_idmaps(v, "uidMappings", l->uid_mappings, l->n_uid_mappings);
    md_validate_idmaps(v, "gidMappings", l->gid_mappings, l->n_gid_mappings);
}

/* ----------------------------------------------------- clocks and devices */

static void check_time_offsets(struct md_vctx *v, const md_time_offset *t, size_t n)
{
    if (n > 0)
        need_ns(v, "timeOffsets", "time");
    size_t saved = md_vpath_key(v, "timeOffsets");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_map(v, t[i].clock);
        if (strcmp(t[i].clock, "monotonic") != 0 && strcmp(t[i].clock, "boottime") != 0)
            md_vbad(v, "unknown clock, must be \"monotonic\" or \"boottime\"");
        if (t[i].has_nanosecs && t[i].nanosecs >= 1000000000)
            md_vbad_at(v, "nanosecs", "must be below 1000000000");
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_device(struct md_vctx *v, const md_device *d)
{
    md_vabsolute(v, "path", d->path);
    if (!d->type)
        return;
    if (strlen(d->type) != 1 || !strchr("cbup", d->type[0])) {
        md_vbad_at(v, "type", "unknown device type \"%s\", must be c, b, u or p", d->type);
        return;
    }
    if (d->type[0] != 'p' && !d->has_major)
        md_vbad_at(v, "major", "required for a \"%s\" device", d->type);
    if (d->type[0] != 'p' && !d->has_minor)
        md_vbad_at(v, "minor", "required for a \"%s\" device", d->type);
}

static void check_devices(struct md_vctx *v, const md_device *d, size_t n)
{
    size_t saved = md_vpath_key(v, "devices");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_device(v, &d[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

/* ---------------------------------------------------------------- network */

/* What the kernel's dev_valid_name() refuses, or NULL. */
static const char *ifname_problem(const char *name)
{
    if (!name[0])
        return "empty";
    if (strlen(name) > 15)
        return "longer than 15 bytes";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "\".\" and \"..\" are reserved";
    for (const char *c = name; *c; c++)
        if (*c == '/' || *c == ':' || isspace((unsigned char)*c))
            return "contains '/', ':' or a blank";
    return NULL;
}

static void check_net_devices(struct md_vctx *v, const md_net_device *d, size_t n)
{
    if (n > 0)
        need_ns(v, "netDevices", "network");
    size_t saved = md_vpath_key(v, "netDevices");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_map(v, d[i].host_name);
        const char *why = ifname_problem(d[i].host_name);
        if (why)
            md_vbad(v, "invalid interface name: %s", why);
        /* An empty name means the host's name, as an absent one does. */
        why = d[i].name && d[i].name[0] ? ifname_problem(d[i].name) : NULL;
        if (why)
            md_vbad_at(v, "name", "invalid interface name \"%s\": %s", d[i].name, why);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

/* ----------------------------------------------------------------- sysctl */

static bool has_component(const char *path, const char *seps, const char *component)
{
    size_t len = strlen(component);
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, seps);
        if (n == len && strncmp(p, component, n) == 0)
            return true;
        p += n;
        p += *p != '\0';
    }
    return false;
}

/* Components separated by '.' or '/' (sysctl(8) takes both), none empty,
 * nothing that could not be a file name under /proc/sys. */
static bool sysctl_name_ok(const char *key)
{
    if (!key[0] || has_component(key, "./", ""))
        return false;
    if (key[strlen(key) - 1] == '.' || key[strlen(key) - 1] == '/')
        return false;
    for (const char *c = key; *c; c++)
        if (*c == '=' || isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
            return false;
    return true;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The namespace a sysctl belongs to, NULL for the ones that are global.  As
 * runc does, those of a namespace are only allowed with that namespace and
 * global ones not at all: otherwise they would change the host's. */
static const char *sysctl_namespace(const char *key)
{
    char name[256];
    snprintf(name, sizeof(name), "%s", key);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '.';
    if (starts_with(name, "net."))
        return "network";
    if (strcmp(name, "kernel.hostname") == 0 || strcmp(name, "kernel.domainname") == 0)
        return "uts";
    if (starts_with(name, "kernel.msg") || starts_with(name, "kernel.sem") ||
        starts_with(name, "kernel.shm") || starts_with(name, "fs.mqueue."))
        return "ipc";
    return NULL;
}

static void check_sysctl(struct md_vctx *v, const md_kv *sysctl, size_t n)
{
    size_t saved = md_vpath_key(v, "sysctl");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_map(v, sysctl[i].key);
        const char *ns = sysctl_namespace(sysctl[i].key);
        if (!sysctl_name_ok(sysctl[i].key))
            md_vbad(v, "malformed sysctl name");
        else if (ns)
            need_ns(v, "", ns);
        else /* as runc: writing it would change the host's value */
            md_vbad(v, "not in a separate kernel namespace: it would change the host's value");
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

/* ------------------------------------------------------------ the others */

static void check_absolute_list(struct md_vctx *v, const char *key, char *const *paths, size_t n)
{
    size_t saved = md_vpath_key(v, key);
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        md_vabsolute(v, "", paths[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_personality(struct md_vctx *v, const md_personality *p)
{
    if (!p)
        return;
    size_t saved = md_vpath_key(v, "personality");
    md_vname(v, "domain", &md_personality_names, p->domain);
    if (p->n_flags > 0)
        md_vbad_at(v, "flags", "no personality flags are supported");
    md_vpath_pop(v, saved);
}

static bool mode_is(const struct md_name *mode, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(mode->name, *names) == 0)
            return true;
    return false;
}

/* set_mempolicy(2): some modes need nodes, some refuse them. */
static void check_memory_policy(struct md_vctx *v, const md_memory_policy *mp)
{
    static const char *const need_nodes[] = {
        "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED_MANY", NULL};
    static const char *const no_nodes[] = {"MPOL_DEFAULT", "MPOL_LOCAL", NULL};
    if (!mp)
        return;
    size_t saved = md_vpath_key(v, "memoryPolicy");
    const struct md_name *mode = md_vname(v, "mode", &md_mpol_mode_names, mp->mode);
    md_vnames(v, "flags", &md_mpol_flag_names, mp->flags, mp->n_flags);
    md_vlist(v, "nodes", mp->nodes);
    bool nodes = mp->nodes && mp->nodes[0];
    if (mode && !nodes && mode_is(mode, need_nodes))
        md_vbad_at(v, "nodes", "required for %s", mode->name);
    if (mode && nodes && mode_is(mode, no_nodes))
        md_vbad_at(v, "nodes", "must be empty for %s", mode->name);
    bool has_static = false, has_relative = false;
    for (size_t i = 0; i < mp->n_flags; i++) {
        has_static |= strcmp(mp->flags[i], "MPOL_F_STATIC_NODES") == 0;
        has_relative |= strcmp(mp->flags[i], "MPOL_F_RELATIVE_NODES") == 0;
    }
    if (has_static && has_relative)
        md_vbad_at(v, "flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other");
    md_vpath_pop(v, saved);
}

static void no_newline(struct md_vctx *v, const char *key, const char *value)
{
    if (value && strchr(value, '\n'))
        md_vbad_at(v, key, "must not contain a newline");
}

/* closID names a directory of the resctrl filesystem ("/" is its root). */
static void check_intel_rdt(struct md_vctx *v, const md_intel_rdt *rdt)
{
    if (!rdt)
        return;
    size_t saved = md_vpath_key(v, "intelRdt");
    const char *clos = rdt->clos_id;
    if (clos && strcmp(clos, "/") != 0 &&
        (!clos[0] || strchr(clos, '/') || strchr(clos, '\n') || strcmp(clos, ".") == 0 ||
         strcmp(clos, "..") == 0))
        md_vbad_at(v, "closID", "must be \"/\" or a plain directory name");
    no_newline(v, "l3CacheSchema", rdt->l3_cache_schema);
    if (rdt->mem_bw_schema && strncmp(rdt->mem_bw_schema, "MB:", 3) != 0)
        md_vbad_at(v, "memBwSchema", "must start with \"MB:\"");
    no_newline(v, "memBwSchema", rdt->mem_bw_schema);
    size_t list = md_vpath_key(v, "schemata");
    for (size_t i = 0; i < rdt->n_schemata; i++) {
        size_t item = md_vpath_index(v, i);
        no_newline(v, "", rdt->schemata[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, list);
    md_vpath_pop(v, saved);
}

/* ---------------------------------------------------------------- seccomp */

/* An action, the errno it may carry and the listener it may need. */
static const struct md_name *check_action(struct md_vctx *v, const md_seccomp *s, const char *key,
                                          const char *action, bool has_errno, uint32_t errno_value,
                                          const char *errno_key)
{
    const struct md_name *act = md_vname(v, key, &md_seccomp_action_names, action);
    if (act && has_errno && !(act->flags & MD_NAME_ERRNO))
        md_vbad_at(v, errno_key, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s",
                   act->name);
    /* The filter's return value has 16 bits for it. */
    if (has_errno && errno_value > 65535)
        md_vbad_at(v, errno_key, "must be at most 65535, not %u", (unsigned)errno_value);
    if (act && act->value == SCMP_ACT_NOTIFY && !s->listener_path)
        md_vbad_at(v, key, "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
    return act;
}

static void check_syscall_args(struct md_vctx *v, const md_seccomp_arg *args, size_t n)
{
    size_t saved = md_vpath_key(v, "args");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        /* A system call has six argument registers. */
        if (args[i].index > 5)
            md_vbad_at(v, "index", "must be from 0 to 5");
        md_vname(v, "op", &md_seccomp_op_names, args[i].op);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_syscall(struct md_vctx *v, const md_seccomp *s, const md_syscall *sc)
{
    if (sc->n_names == 0)
        md_vbad_at(v, "names", "must have at least one entry");
    size_t saved = md_vpath_key(v, "names");
    for (size_t i = 0; i < sc->n_names; i++) {
        if (!sc->names[i][0]) {
            size_t item = md_vpath_index(v, i);
            md_vbad(v, "must not be empty");
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
    check_action(v, s, "action", sc->action, sc->has_errno_ret, sc->errno_ret, "errnoRet");
    check_syscall_args(v, sc->args, sc->n_args);
}

static void check_seccomp(struct md_vctx *v, const md_seccomp *s)
{
    const struct md_name *def =
        check_action(v, s, "defaultAction", s->default_action, s->has_default_errno_ret,
                     s->default_errno_ret, "defaultErrnoRet");
    /* Every system call the container's init makes between loading the
     * filter and exec would wait for an agent that has no fd yet. */
    if (def && def->value == SCMP_ACT_NOTIFY)
        md_vbad_at(v, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
    md_vnames(v, "architectures", &md_seccomp_arch_names, s->architectures, s->n_architectures);
    md_vnames(v, "flags", &md_seccomp_flag_names, s->flags, s->n_flags);
    if (s->listener_metadata && !s->listener_path)
        md_vbad_at(v, "listenerMetadata", "needs listenerPath");
    size_t saved = md_vpath_key(v, "syscalls");
    for (size_t i = 0; i < s->n_syscalls; i++) {
        size_t item = md_vpath_index(v, i);
        check_syscall(v, s, &s->syscalls[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

void md_validate_linux(struct md_vctx *v, const md_linux *l)
{
    check_namespaces(v, l->namespaces, l->n_namespaces);
    check_user_mappings(v, l);
    check_time_offsets(v, l->time_offsets, l->n_time_offsets);
    check_devices(v, l->devices, l->n_devices);
    check_net_devices(v, l->net_devices, l->n_net_devices);
    if (l->cgroups_path && has_component(l->cgroups_path, "/", ".."))
        md_vbad_at(v, "cgroupsPath", "must not contain \"..\"");
    if (l->resources) {
        size_t saved = md_vpath_key(v, "resources");
        md_validate_resources(v, l->resources);
        md_vpath_pop(v, saved);
    }
    check_intel_rdt(v, l->intel_rdt);
    check_memory_policy(v, l->memory_policy);
    check_sysctl(v, l->sysctl, l->n_sysctl);
    if (l->seccomp) {
        size_t saved = md_vpath_key(v, "seccomp");
        check_seccomp(v, l->seccomp);
        md_vpath_pop(v, saved);
    }
    md_vname(v, "rootfsPropagation", &md_propagation_names, l->rootfs_propagation);
    check_absolute_list(v, "maskedPaths", l->masked_paths, l->n_masked_paths);
    check_absolute_list(v, "readonlyPaths", l->readonly_paths, l->n_readonly_paths);
    check_personality(v, l->personality);
}
