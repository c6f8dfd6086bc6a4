/* defaults.c - the config.json that `mdrun spec` writes.
 *
 * The content follows what `runc spec` writes, so that a bundle made with
 * either runtime behaves the same under both: a busybox-style shell as the
 * process, a read-only "rootfs", the usual pseudo-filesystems and a
 * minimal set of capabilities.  The rootless variant changes only what an
 * unprivileged user cannot have (see the `when` column of the tables).
 *
 * The data lives in the tables below; the functions only copy it into the
 * owned structures of spec.h, so md_spec_free() releases the result. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "spec.h"

#define N(a)   (sizeof(a) / sizeof((a)[0]))
#define NEW(p) ((p) = calloc(1, sizeof(*(p))))

/* Which variant of the spec a table row belongs to. */
enum when { ALWAYS, ROOTFUL, ROOTLESS };

static bool applies(enum when when, bool rootless)
{
    return when == ALWAYS || (when == ROOTLESS) == rootless;
}

/* ---------------------------------------------------------------- tables */

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
};

/* Enough for a shell and its jobs; everything else is dropped.  No
 * inheritable set: it would let file capabilities of programs in the image
 * grow the set again. */
static const char *const default_caps[] = {
    "CAP_AUDIT_WRITE",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
};

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

struct mount_row {
    const char *destination;
    const char *type;
    const char *source;
    const char *const *options; /* NULL-terminated, NULL for none */
    enum when when;
};

static const struct mount_row default_mounts[] = {
    {"/proc", "proc", "proc", NULL, ALWAYS},
    {"/dev", "tmpfs", "tmpfs", OPTS("nosuid", "strictatime", "mode=755", "size=65536k"), ALWAYS},
    /* gid=5 is the "tty" group of most images; a rootless user namespace
     * maps only the caller's own gid, so the kernel would refuse it. */
    {"/dev/pts", "devpts", "devpts",
     OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"), ROOTFUL},
    {"/dev/pts", "devpts", "devpts",
     OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"), ROOTLESS},
    {"/dev/shm", "tmpfs", "shm", OPTS("nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
     ALWAYS},
    {"/dev/mqueue", "mqueue", "mqueue", OPTS("nosuid", "noexec", "nodev"), ALWAYS},
    {"/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro"), ROOTFUL},
    /* A fresh sysfs needs a network namespace owned by the container's user
     * namespace; the rootless spec keeps the host's network, so it borrows
     * the host's /sys instead, read-only. */
    {"/sys", "none", "/sys", OPTS("rbind", "nosuid", "noexec", "nodev", "ro"), ROOTLESS},
    {"/sys/fs/cgroup", "cgroup", "cgroup", OPTS("nosuid", "noexec", "nodev", "relatime", "ro"),
     ALWAYS},
};

struct namespace_row {
    const char *type;
    enum when when;
};

/* The rootless container shares the caller's network: in a namespace of
 * its own it would have only a loopback device, as an unprivileged user
 * cannot connect it to anything (slirp4netns is the opt-in for that). */
static const struct namespace_row default_namespaces[] = {
    {"pid", ALWAYS}, {"network", ROOTFUL}, {"ipc", ALWAYS},
    {"uts", ALWAYS}, {"mount", ALWAYS},    {"user", ROOTLESS},
};

/* Files in /proc and /sys that leak host information or reach the kernel. */
static const char *const default_masked[] = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",       "/proc/scsi",
};

static const char *const default_readonly[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* --------------------------------------------------------------- helpers */

/* Append copies of the n strings of src to (*v, *count). */
static int push_all(char ***v, size_t *count, const char *const *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (md_strv_push(v, count, src[i]) < 0)
            return -1;
    return 0;
}

/* The same, for a NULL-terminated list (NULL itself is an empty list). */
static int push_list(char ***v, size_t *count, const char *const *src)
{
    for (; src && *src; src++)
        if (md_strv_push(v, count, *src) < 0)
            return -1;
    return 0;
}

/* Set *dst to a copy of s. */
static int set_str(char **dst, const char *s)
{
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

/* Grow an array of structs by one zeroed element; the count is updated
 * only once the memory is there, so md_spec_free() always sees a
 * consistent array. */
static void *grow(void *array, size_t *n, size_t size)
{
    char *grown = realloc(array, (*n + 1) * size);
    if (!grown)
        return NULL;
    memset(grown + *n * size, 0, size);
    (*n)++;
    return grown;
}

#define APPEND(array, n)                                                  \
    ({                                                                    \
        __typeof__(array) grown_ = grow((array), &(n), sizeof(*(array))); \
        if (grown_)                                                       \
            (array) = grown_;                                             \
        grown_ ? &(array)[(n)-1] : NULL;                                  \
    })

/* --------------------------------------------------------------- process */

/* Unlike `runc spec`, no ambient set: ambient capabilities must also be
 * inheritable, which runc's default leaves empty, so they could never be
 * granted and every run would warn about them (as the spec asks). */
static int build_capabilities(md_capabilities *caps)
{
    size_t n = N(default_caps);
    if (push_all(&caps->bounding, &caps->n_bounding, default_caps, n) < 0 ||
        push_all(&caps->effective, &caps->n_effective, default_caps, n) < 0 ||
        push_all(&caps->permitted, &caps->n_permitted, default_caps, n) < 0)
        return -1;
    return 0;
}

static int build_rlimits(md_process *process)
{
    md_rlimit *nofile = APPEND(process->rlimits, process->n_rlimits);
    if (!nofile)
        return -1;
    nofile->soft = 1024;
    nofile->hard = 1024;
    return set_str(&nofile->type, "RLIMIT_NOFILE");
}

static md_process *build_process(void)
{
    md_process *process;
    if (!NEW(process))
        return NULL;
    process->terminal = true;
    process->no_new_privileges = true;
    /* uid and gid 0: calloc's zero is the container's root. */
    if (!NEW(process->user) || !NEW(process->capabilities) ||
        md_strv_push(&process->args, &process->n_args, "sh") < 0 ||
        push_all(&process->env, &process->n_env, default_env, N(default_env)) < 0 ||
        set_str(&process->cwd, "/") < 0 || build_capabilities(process->capabilities) < 0 ||
        build_rlimits(process) < 0) {
        md_process_free(process);
        return NULL;
    }
    return process;
}

/* ---------------------------------------------------------- root, mounts */

static int build_root(md_spec *spec)
{
    if (!NEW(spec->root))
        return -1;
    spec->root->readonly = true;
    return set_str(&spec->root->path, "rootfs");
}

static int add_mount(md_spec *spec, const struct mount_row *row)
{
    md_mount *m = APPEND(spec->mounts, spec->n_mounts);
    if (!m || set_str(&m->destination, row->destination) < 0 || set_str(&m->type, row->type) < 0 ||
        set_str(&m->source, row->source) < 0)
        return -1;
    return push_list(&m->options, &m->n_options, row->options);
}

static int build_mounts(md_spec *spec, bool rootless)
{
    for (size_t i = 0; i < N(default_mounts); i++)
        if (applies(default_mounts[i].when, rootless) && add_mount(spec, &default_mounts[i]) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------------ linux */

static int build_namespaces(md_linux *linux_, bool rootless)
{
    for (size_t i = 0; i < N(default_namespaces); i++) {
        if (!applies(default_namespaces[i].when, rootless))
            continue;
        md_namespace *ns = APPEND(linux_->namespaces, linux_->n_namespaces);
        if (!ns || set_str(&ns->type, default_namespaces[i].type) < 0)
            return -1;
    }
    return 0;
}

/* Deny every device in the cgroup; the runtime's own default devices are
 * allowed on top of this.  The rootless spec has no resources at all: an
 * unprivileged user usually has no cgroup it may write to, and a user
 * namespace cannot create device nodes anyway. */
static int build_resources(md_linux *linux_)
{
    if (!NEW(linux_->resources))
        return -1;
    md_resources *res = linux_->resources;
    md_device_rule *deny_all = APPEND(res->devices, res->n_devices);
    if (!deny_all)
        return -1;
    deny_all->allow = false;
    return set_str(&deny_all->access, "rwm");
}

/* Map the container's root, and nothing else, to the calling user: the one
 * mapping an unprivileged process may write without newuidmap(1). */
static int build_id_maps(md_linux *linux_)
{
    md_idmap *uid = APPEND(linux_->uid_mappings, linux_->n_uid_mappings);
    md_idmap *gid = uid ? APPEND(linux_->gid_mappings, linux_->n_gid_mappings) : NULL;
    if (!gid)
        return -1;
    *uid = (md_idmap){.container_id = 0, .host_id = geteuid(), .size = 1};
    *gid = (md_idmap){.container_id = 0, .host_id = getegid(), .size = 1};
    return 0;
}

static int build_linux(md_spec *spec, bool rootless)
{
    if (!NEW(spec->linux_))
        return -1;
    md_linux *linux_ = spec->linux_;
    if (build_namespaces(linux_, rootless) < 0 ||
        push_all(&linux_->masked_paths, &linux_->n_masked_paths, default_masked,
                 N(default_masked)) < 0 ||
        push_all(&linux_->readonly_paths, &linux_->n_readonly_paths, default_readonly,
                 N(default_readonly)) < 0)
        return -1;
    return rootless ? build_id_maps(linux_) : build_resources(linux_);
}

/* ------------------------------------------------------------------- spec */

md_spec *md_spec_default(bool rootless)
{
    md_spec *spec;
    if (!NEW(spec))
        return NULL;
    if (set_str(&spec->oci_version, MD_OCI_VERSION) < 0 || set_str(&spec->hostname, "mdrun") < 0 ||
        build_root(spec) < 0 || !(spec->process = build_process()) ||
        build_mounts(spec, rootless) < 0 || build_linux(spec, rootless) < 0) {
        md_spec_free(spec);
        errno = ENOMEM;
        return NULL;
    }
    return spec;
}
