/* cgroup-systemd.c - the systemd cgroup manager (--systemd-cgroup,
 * --cgroup-manager systemd): the container's cgroup belongs to a transient
 * systemd unit, made and stopped over D-Bus with sd-bus.
 *
 * The unit.  A scope "prefix-name.scope" in the slice of linux.cgroupsPath
 * (naming in cgroup-systemd.h), started with StartTransientUnit (mode
 * "replace") and the properties
 *     Description=mdrun container ID   Slice=SLICE         Delegate=yes
 *     PIDs=[holder]                    DefaultDependencies=no
 *     CollectMode=inactive-or-failed   (a failed unit does not keep the name)
 * then, at each apply, the resource properties systemd knows
 * (md_cg_sd_props: MemoryMax, CPUWeight, TasksMax, ...) with
 * SetUnitProperties.  A name ending in ".slice" makes a slice unit instead
 * (Wants=SLICE, no PIDs or Delegate; systemd cannot delegate a slice).
 * Every job is waited for (JobRemoved, 30 s).
 *
 * When.  md_cgroup_create() runs before the container's process exists
 * and cgroup.c applies the resources right after it, but systemd refuses a
 * scope without a process.  So create forks a holder: a child that only
 * waits to be killed (and dies with mdrun, PR_SET_PDEATHSIG).  The scope
 * starts with the holder in it; create makes the leaf, moves the holder
 * there, and apply writes the limits before the container exists, as with
 * the cgroupfs drivers.  md_cgroup_clone_fd() stays -1, so the caller
 * moves the container's first process with md_cgroup_enter(), which puts
 * it in the leaf and then kills and reaps the holder.  Should mdrun die in
 * between, the holder dies too, the scope empties, and systemd removes it.
 *
 * The leaf.  With Delegate=yes the scope's cgroup is ours to divide; the
 * container runs in "<scope>/container" (cg->path), so that it can make
 * cgroups of its own (cgroup v2 gives no controllers to the children of a
 * cgroup that holds processes).  The limits are on the scope: written by
 * systemd from the properties and by mdrun to the scope's cgroup files
 * (md_cg_v2_apply), so that what systemd has no property for holds too;
 * and written again on the leaf, where the container can read them.
 * pause/resume, ps, kill --all, stats and OOM events act on the scope with
 * the v2 driver's operations (which cover the leaf and what is below it).
 *
 * The bus: the system bus as root, or systemd's private socket
 * /run/systemd/private when no D-Bus daemon runs; the user's bus when
 * rootless ($DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus, or
 * $XDG_RUNTIME_DIR/systemd/private).  Each operation opens its own
 * connection: mdrun forks, and sd-bus connections do not survive a fork.
 * A rootless process outside the user's systemd tree cannot write the
 * leaf's cgroup.procs (the common ancestor is root's): enter then asks
 * systemd (AttachProcessesToUnit, systemd 248+), which asks PID 1.
 *
 * cgroup v1 and hybrid hosts (as root; rootless needs cgroup v2): systemd
 * makes the scope in the hierarchies it manages; the v1 driver makes the
 * leaf in every hierarchy, and every operation is the v1 driver's on the
 * leaf.  Needs systemd 244 or later (AllowedCPUs, CPUQuotaPeriodUSec).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup-systemd.h"
#include "cleanup.h"
#include "error.h"
#include "log.h"

#define SD_DEST    "org.freedesktop.systemd1"
#define SD_PATH    "/org/freedesktop/systemd1"
#define SD_MANAGER SD_DEST ".Manager"
#define SD_TIMEOUT (30ULL * 1000 * 1000) /* usec, for calls and for jobs */

#define md_autobus    __attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *
#define md_automsg    __attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *
#define md_autobuserr __attribute__((cleanup(sd_bus_error_free))) sd_bus_error

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* "context: what systemd said", or the errno of r when it said nothing. */
MD_PRINTF(4, 5)
static int bus_fail(md_error *err, int r, const sd_bus_error *e, const char *fmt, ...)
{
    char ctx[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    if (e && sd_bus_error_is_set(e)) {
        int errnum = sd_bus_error_get_errno(e);
        return md_failx(err, errnum ? errnum : -r, "%s: %s", ctx,
                        e->message ? e->message : e->name);
    }
    return md_fail(err, r < 0 ? -r : EIO, "%s", ctx);
}

/* ------------------------------------------------------------ the bus */

static int open_private(const char *socket, sd_bus **out)
{
    sd_bus *bus = NULL;
    char address[PATH_MAX + 16];
    snprintf(address, sizeof(address), "unix:path=%s", socket);
    int r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_address(bus, address);
    if (r >= 0)
        r = sd_bus_start(bus);
    if (r < 0) {
        sd_bus_unref(bus);
        return r;
    }
    *out = bus;
    return 0;
}

/* Where the user's systemd listens, for a rootless caller; NULL (and why
 * in err) when there is no user session to talk to. */
static const char *user_socket(char *buf, size_t size, md_error *err)
{
    const char *address = getenv("DBUS_SESSION_BUS_ADDRESS");
    if (address && *address)
        return address;
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt) {
        snprintf(buf, size, "%s/bus", rt);
        if (access(buf, F_OK) == 0)
            return buf;
        snprintf(buf, size, "%s/systemd/private", rt);
        if (access(buf, F_OK) == 0)
            return buf;
        snprintf(buf, size, "%s/bus", rt);
    }
    md_failx(err, ENOENT,
             "the systemd cgroup manager needs a systemd user session (%s%s); use "
             "--cgroup-manager cgroupfs",
             rt && *rt ? buf : "XDG_RUNTIME_DIR is not set", rt && *rt ? " not found" : "");
    return NULL;
}

static int bus_open(bool user, sd_bus **out, md_error *err)
{
    *out = NULL;
    int r;
    if (!user) {
        r = sd_bus_open_system(out);
        if (r < 0 && open_private("/run/systemd/private", out) == 0)
            r = 0;
        return r < 0 ? md_fail(err, -r, "systemd: connect to the system bus") : 0;
    }
    char buf[PATH_MAX];
    const char *where = user_socket(buf, sizeof(buf), err);
    if (!where)
        return -1;
    if (ends_with(where, "/systemd/private"))
        r = open_private(where, out);
    else
        r = sd_bus_open_user(out);
    return r < 0 ? md_fail(err, -r, "systemd: connect to the user bus at %s", where) : 0;
}

/* Whether systemd answered with its error org.freedesktop.systemd1.NAME. */
static bool has_error(const sd_bus_error *e, const char *name)
{
    char full[128];
    snprintf(full, sizeof(full), SD_DEST ".%s", name);
    return sd_bus_error_has_name(e, full) > 0;
}

/* --------------------------------------------------------------- jobs */

struct job {
    const char *path; /* the job's object path, once the call returned it */
    char result[32];  /* "done", "failed", "canceled", ... */
    bool done;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    (void)ret_error;
    struct job *job = userdata;
    uint32_t id;
    const char *path, *unit, *result;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0 || !job->path ||
        strcmp(path, job->path) != 0)
        return 0;
    snprintf(job->result, sizeof(job->result), "%s", result);
    job->done = true;
    return 0;
}

/* Listen for JobRemoved before the call that makes the job, so that its
 * end cannot be missed.  A direct connection (private socket) carries no
 * sender names. */
static int job_listen(sd_bus *bus, struct job *job, sd_bus_slot **slot, md_error *err)
{
    const char *sender = sd_bus_is_bus_client(bus) > 0 ? SD_DEST : NULL;
    int r = sd_bus_match_signal(bus, slot, sender, SD_PATH, SD_MANAGER, "JobRemoved",
                                on_job_removed, job);
    return r < 0 ? md_fail(err, -r, "systemd: listen for job results") : 0;
}

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int job_wait(sd_bus *bus, struct job *job, const char *what, const char *unit, md_error *err)
{
    uint64_t deadline = now_usec() + SD_TIMEOUT;
    while (!job->done) {
        int r = sd_bus_process(bus, NULL);
        if (r < 0)
            return md_fail(err, -r, "systemd: %s %s", what, unit);
        if (r > 0)
            continue;
        uint64_t now = now_usec();
        if (now >= deadline)
            return md_failx(err, ETIMEDOUT, "systemd: %s %s: no result after %llu s", what, unit,
                            SD_TIMEOUT / 1000000);
        r = sd_bus_wait(bus, deadline - now);
        if (r < 0)
            return md_fail(err, -r, "systemd: %s %s", what, unit);
    }
    if (strcmp(job->result, "done") != 0)
        return md_failx(err, EIO, "systemd: %s %s: the job ended \"%s\" (see `journalctl -u %s`)",
                        what, unit, job->result, unit);
    return 0;
}

/* Call a method that returns a job ("o") and wait for the job.  *missing
 * (when given) is set instead of failing when the unit does not exist. */
static int call_job(sd_bus *bus, sd_bus_message *m, const char *what, const char *unit,
                    bool *missing, sd_bus_error *e, md_error *err)
{
    __attribute__((cleanup(sd_bus_slot_unrefp))) sd_bus_slot *slot = NULL;
    struct job job = {0};
    if (job_listen(bus, &job, &slot, err) < 0)
        return -1;
    md_automsg reply = NULL;
    int r = sd_bus_call(bus, m, SD_TIMEOUT, e, &reply);
    if (r < 0 && missing && has_error(e, "NoSuchUnit")) {
        *missing = true;
        return 0;
    }
    if (r < 0)
        return bus_fail(err, r, e, "systemd: %s %s", what, unit);
    r = sd_bus_message_read(reply, "o", &job.path);
    if (r < 0)
        return md_fail(err, -r, "systemd: %s %s: reply", what, unit);
    return job_wait(bus, &job, what, unit, err);
}

/* ---------------------------------------------------------- properties */

static int append_props(sd_bus_message *m, const struct md_cg_sd_props *p)
{
    int r = 0;
    for (size_t i = 0; r >= 0 && i < p->n; i++) {
        const struct md_cg_sd_prop *prop = &p->v[i];
        if (!prop->mask) {
            r = sd_bus_message_append(m, "(sv)", prop->name, "t", prop->value);
            continue;
        }
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
            r = sd_bus_message_append(m, "s", prop->name);
        if (r >= 0)
            r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
            r = sd_bus_message_append_array(m, 'y', prop->mask, prop->mask_len);
        if (r >= 0)
            r = sd_bus_message_close_container(m);
        if (r >= 0)
            r = sd_bus_message_close_container(m);
    }
    return r;
}

static int append_unit_props(sd_bus_message *m, const struct md_cg_sd_name *n, const char *id,
                             pid_t holder)
{
    char description[256];
    snprintf(description, sizeof(description), "mdrun container %s", id ? id : "");
    int r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Description", "s", description,
                                  "DefaultDependencies", "b", 0, "CollectMode", "s",
                                  "inactive-or-failed");
    if (r >= 0 && n->is_slice)
        r = sd_bus_message_append(m, "(sv)", "Wants", "as", 1, n->slice);
    else if (r >= 0)
        r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Slice", "s", n->slice, "Delegate", "b", 1,
                                  "PIDs", "au", 1, (uint32_t)holder);
    return r;
}

/* ---------------------------------------------------------- unit calls */

static int new_call(sd_bus *bus, sd_bus_message **m, const char *method, md_error *err)
{
    int r = sd_bus_message_new_method_call(bus, m, SD_DEST, SD_PATH, SD_MANAGER, method);
    return r < 0 ? md_fail(err, -r, "systemd: %s", method) : 0;
}

static int start_once(sd_bus *bus, const struct md_cg_sd_name *n, const char *id, pid_t holder,
                      sd_bus_error *e, md_error *err)
{
    md_automsg m = NULL;
    if (new_call(bus, &m, "StartTransientUnit", err) < 0)
        return -1;
    int r = sd_bus_message_append(m, "ss", n->unit, "replace");
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0)
        r = append_unit_props(m, n, id, holder);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r >= 0)
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
    if (r < 0)
        return md_fail(err, -r, "systemd: start %s", n->unit);
    return call_job(bus, m, "start", n->unit, NULL, e, err);
}

/* The unit's ActiveState ("active", "failed", ...), "" when it is not
 * loaded. */
static int unit_state(sd_bus *bus, const char *unit, char *state, size_t size, md_error *err)
{
    md_autobuserr e = SD_BUS_ERROR_NULL;
    md_automsg reply = NULL;
    const char *path;
    int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
    if (r < 0 && has_error(&e, "NoSuchUnit")) {
        state[0] = '\0';
        return 0;
    }
    if (r < 0 || (r = sd_bus_message_read(reply, "o", &path)) < 0)
        return bus_fail(err, r, &e, "systemd: unit %s", unit);
    md_autofree char *value = NULL;
    r = sd_bus_get_property_string(bus, SD_DEST, path, SD_DEST ".Unit", "ActiveState", &e, &value);
    if (r < 0)
        return bus_fail(err, r, &e, "systemd: unit %s", unit);
    snprintf(state, size, "%s", value);
    return 0;
}

/* Start the unit; one that exists but is over (inactive or failed, left by
 * a container that was not deleted) is reset and started again. */
static int start_unit(sd_bus *bus, const struct md_cg_sd_name *n, const char *id, pid_t holder,
                      md_error *err)
{
    for (int attempt = 0;; attempt++) {
        md_autobuserr e = SD_BUS_ERROR_NULL;
        if (start_once(bus, n, id, holder, &e, err) == 0)
            return 0;
        if (attempt > 0 || !has_error(&e, "UnitExists"))
            return -1;
        char state[32];
        md_error sub = {0};
        if (unit_state(bus, n->unit, state, sizeof(state), &sub) < 0) {
            md_error_clear(&sub);
            return -1;
        }
        if (strcmp(state, "inactive") != 0 && strcmp(state, "failed") != 0)
            return md_failx(err, EEXIST,
                            "systemd unit %s already exists and is %s: is another container "
                            "using linux.cgroupsPath with this name?",
                            n->unit, state[0] ? state : "loaded");
        md_debug("systemd: unit %s is %s, resetting it", n->unit, state);
        md_autobuserr ignored = SD_BUS_ERROR_NULL;
        sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "ResetFailedUnit", &ignored, NULL,
                           "s", n->unit);
        md_error_clear(err);
    }
}

static int stop_unit(sd_bus *bus, const char *unit, md_error *err)
{
    md_automsg m = NULL;
    if (new_call(bus, &m, "StopUnit", err) < 0)
        return -1;
    int r = sd_bus_message_append(m, "ss", unit, "replace");
    if (r < 0)
        return md_fail(err, -r, "systemd: stop %s", unit);
    md_autobuserr e = SD_BUS_ERROR_NULL;
    bool missing = false;
    if (call_job(bus, m, "stop", unit, &missing, &e, err) < 0)
        return -1;
    if (missing)
        md_debug("systemd: unit %s is already gone", unit);
    return 0;
}

static int set_props(sd_bus *bus, const char *unit, const struct md_cg_sd_props *p, md_error *err)
{
    md_automsg m = NULL;
    if (new_call(bus, &m, "SetUnitProperties", err) < 0)
        return -1;
    int r = sd_bus_message_append(m, "sb", unit, 1);
    if (r >= 0)
        r = sd_bus_message_open_container(m, 'a', "(sv)");
    if (r >= 0)
        r = append_props(m, p);
    if (r >= 0)
        r = sd_bus_message_close_container(m);
    if (r < 0)
        return md_fail(err, -r, "systemd: set properties of %s", unit);
    md_autobuserr e = SD_BUS_ERROR_NULL;
    r = sd_bus_call(bus, m, SD_TIMEOUT, &e, NULL);
    return r < 0 ? bus_fail(err, r, &e, "systemd: set properties of %s", unit) : 0;
}

/* The unit's cgroup, as systemd has it ("/machine.slice/x.scope"). */
static int unit_cgroup(sd_bus *bus, const char *unit, char **out, md_error *err)
{
    md_autofree char *path = NULL;
    int r = sd_bus_path_encode(SD_PATH "/unit", unit, &path);
    if (r < 0)
        return md_fail(err, -r, "systemd: unit %s", unit);
    const char *iface = ends_with(unit, ".slice") ? SD_DEST ".Slice" : SD_DEST ".Scope";
    md_autobuserr e = SD_BUS_ERROR_NULL;
    r = sd_bus_get_property_string(bus, SD_DEST, path, iface, "ControlGroup", &e, out);
    if (r < 0)
        return bus_fail(err, r, &e, "systemd: the cgroup of %s", unit);
    if ((*out)[0] != '/') {
        free(*out);
        *out = NULL;
        return md_failx(err, ENOENT, "systemd: unit %s has no cgroup", unit);
    }
    return 0;
}

static int attach(sd_bus *bus, const char *unit, pid_t pid, md_error *err)
{
    md_autobuserr e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "AttachProcessesToUnit", &e, NULL,
                               "ssau", unit, "/" MD_CG_SD_LEAF, 1, (uint32_t)pid);
    return r < 0 ? bus_fail(err, r, &e, "systemd: move process %d into %s", (int)pid, unit) : 0;
}

/* ------------------------------------------------------------- holder */

/* A child that waits to be killed, to keep the scope alive until the
 * container's process is in it. */
static pid_t holder_start(md_error *err)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return md_fail(err, errno, "fork");
    if (pid > 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0);
    /* Nothing of mdrun's: no state directory lock, no pipe kept open. */
    if (syscall(SYS_close_range, 0U, ~0U, 0U) < 0)
        for (int fd = 0; fd < 1024; fd++)
            close(fd);
    prctl(PR_SET_NAME, "mdrun-holder");
    for (;;)
        pause();
}

static void holder_stop(struct md_cgroup *cg)
{
    if (cg->holder <= 0)
        return;
    kill(cg->holder, SIGKILL);
    while (waitpid(cg->holder, NULL, 0) < 0 && errno == EINTR)
        ;
    cg->holder = 0;
}

/* -------------------------------------------------------------- cgroup */

/* unit and scope from the leaf, for an opened cgroup whose record lacks them. */
static int names(struct md_cgroup *cg, md_error *err)
{
    if (cg->unit && cg->scope)
        return 0;
    if (!cg->path)
        return md_failx(err, ENOENT, "the container's systemd unit is not known");
    char *scope, *unit;
    if (md_cg_sd_split_leaf(cg->path, &scope, &unit, err) < 0)
        return -1;
    if (!cg->scope)
        cg->scope = scope;
    else
        free(scope);
    if (!cg->unit)
        cg->unit = unit;
    else
        free(unit);
    return 0;
}

static int open_root(md_error *err)
{
    int fd = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : md_fail(err, errno, "open %s", MD_CGROUP_ROOT);
}

static int open_cgroup(const char *path, md_error *err)
{
    md_autofd root = open_root(err);
    if (root < 0)
        return -1;
    int fd = openat(root, path + strspn(path, "/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd >= 0 ? fd : md_fail(err, errno, "cgroup %s", path);
}

static void view_close(struct md_cgroup *view)
{
    md_close_fd(&view->v2_fd);
}

#define md_autoview __attribute__((cleanup(view_close))) struct md_cgroup

/* The scope as a plain v2 cgroup, for the v2 driver's operations. */
static int scope_view(struct md_cgroup *cg, struct md_cgroup *view, md_error *err)
{
    *view = (struct md_cgroup){.host = cg->host,
                               .layout = cg->layout,
                               .manager = MD_CGM_CGROUPFS,
                               .driver = &md_cg_v2_driver,
                               .v2_fd = -1,
                               .rootless = cg->rootless};
    if (names(cg, err) < 0)
        return -1;
    view->path = cg->scope;
    view->v2_fd = open_cgroup(cg->scope, err);
    return view->v2_fd < 0 ? -1 : 0;
}

/* Whether name is a word of the space-separated list. */
static bool has_word(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        p += strspn(p, " \n");
        size_t n = strcspn(p, " \n");
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

/* A rootless caller gets the controllers its systemd was delegated (cpu,
 * memory and pids by default): refuse limits of others before anything
 * is made, saying how to get them. */
static int check_delegated(sd_bus *bus, const md_resources *r, md_error *err)
{
    char wanted[256], available[512];
    md_cg_sd_controllers(r, wanted, sizeof(wanted));
    if (!wanted[0])
        return 0;
    md_autofree char *root = NULL;
    md_autobuserr e = SD_BUS_ERROR_NULL;
    int rc =
        sd_bus_get_property_string(bus, SD_DEST, SD_PATH, SD_MANAGER, "ControlGroup", &e, &root);
    if (rc < 0)
        return bus_fail(err, rc, &e, "systemd: the user manager's cgroup");
    md_autofd fd = open_cgroup(root, err);
    if (fd < 0 || md_cg_read(fd, "cgroup.controllers", available, sizeof(available), err) < 0)
        return -1;
    for (const char *p = wanted; *p;) {
        size_t n = strcspn(p, " ");
        if (!has_word(available, p, n))
            return md_failx(err, ENOTSUP,
                            "linux.resources: the %.*s controller is not delegated to the user's "
                            "systemd (%s has \"%s\"); delegate it (`systemctl edit user@.service`: "
                            "[Service] Delegate=cpu cpuset io memory pids) or run as root",
                            (int)n, p, root, available);
        p += n + strspn(p + n, " ");
    }
    return 0;
}

/* Move pid into the leaf (leaf: its fd): by its cgroup.procs, or through
 * systemd when the kernel says we may not (a rootless caller outside the
 * user's systemd tree, or a slice unit, which systemd puts no pid in). */
static int move_to_leaf(struct md_cgroup *cg, int leaf, pid_t pid, md_error *err)
{
    char value[24];
    snprintf(value, sizeof(value), "%d", (int)pid);
    if (md_cg_write(leaf, "cgroup.procs", value, err) == 0)
        return 0;
    if (err->errnum != EACCES && err->errnum != EPERM)
        return -1;
    md_debug("%s; asking systemd", err->msg);
    md_error_clear(err);
    md_autobus bus = NULL;
    if (bus_open(cg->rootless, &bus, err) < 0)
        return -1;
    if (attach(bus, cg->unit, pid, err) == 0)
        return 0;
    if (!ends_with(cg->unit, ".slice"))
        return -1;
    /* systemd moves processes into delegated units only. */
    md_autofree char *why = md_take_ptr(&err->msg);
    return md_failx(err, err->errnum,
                    "%s (a slice unit takes no process from outside the user's systemd: run "
                    "mdrun inside the user's session, or name a scope in linux.cgroupsPath)",
                    why);
}

/* Make the leaf under the scope systemd made, and put the holder in it. */
static int make_leaf(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    if (asprintf(&cg->path, "%s/" MD_CG_SD_LEAF, cg->scope) < 0) {
        cg->path = NULL;
        return md_fail(err, ENOMEM, "cgroup");
    }
    if (cg->layout != MD_CG_V2) {
        struct md_cgroup_request leaf = *req;
        leaf.cgroups_path = cg->path; /* absolute: the same in every hierarchy */
        leaf.resources = NULL;        /* apply follows */
        if (md_cg_v1_driver.create(cg, &leaf, err) < 0)
            return -1;
        return md_cg_v1_driver.enter(cg, cg->holder, err);
    }
    md_autofd root = open_root(err);
    if (root < 0)
        return -1;
    md_autofd leaf = md_cg_mkdirs(root, cg->path, err);
    if (leaf < 0)
        return -1;
    /* The holder has left the scope itself: the scope can now give
     * controllers to the leaf. */
    if (move_to_leaf(cg, leaf, cg->holder, err) < 0 ||
        md_cg_v2_enable(root, cg->path, req->resources, err) < 0)
        return -1;
    if (req->cgroup_ns && req->writable_mount &&
        md_cg_v2_delegate(leaf, req->root_uid, req->root_gid, err) < 0) {
        if (!req->rootless)
            return -1;
        md_warn("%s (the container cannot manage its cgroup)", err->msg);
        md_error_clear(err);
    }
    return 0;
}

/* -------------------------------------------------------------- driver */

static int sd_check(const struct md_cgroup_request *req, struct md_cgroup_host *host, md_error *err)
{
    enum md_cg_layout layout = host->layout;
    if (sd_booted() <= 0)
        return md_failx(err, ENOTSUP,
                        "the systemd cgroup manager needs systemd as init (/run/systemd/system "
                        "not found); use --cgroup-manager cgroupfs");
    if (layout == MD_CG_NONE)
        return md_failx(err, ENOTSUP, "no cgroup filesystem is mounted at " MD_CGROUP_ROOT);
    if (req->rootless && layout != MD_CG_V2)
        return md_failx(err, ENOTSUP,
                        "the systemd cgroup manager needs cgroup v2 without root (this host has "
                        "cgroup %s); use --cgroup-manager cgroupfs",
                        md_cgroup_layout_name(layout));
    struct md_cg_sd_name n;
    if (md_cg_sd_name_parse(req->cgroups_path, req->id, req->rootless, &n, err) < 0)
        return -1;
    md_cg_sd_name_free(&n);
    char buf[PATH_MAX];
    if (req->rootless && !user_socket(buf, sizeof(buf), err))
        return -1;
    const struct md_cg_driver *d = layout == MD_CG_V2 ? &md_cg_v2_driver : &md_cg_v1_driver;
    return d->check ? d->check(req, host, err) : 0;
}

static int sd_create(struct md_cgroup *cg, const struct md_cgroup_request *req, md_error *err)
{
    __attribute__((cleanup(md_cg_sd_name_free))) struct md_cg_sd_name n = {0};
    if (md_cg_sd_name_parse(req->cgroups_path, req->id, req->rootless, &n, err) < 0)
        return -1;
    md_autobus bus = NULL;
    if (bus_open(req->rootless, &bus, err) < 0)
        return -1;
    if (req->rootless && cg->layout == MD_CG_V2 && check_delegated(bus, req->resources, err) < 0)
        return -1;
    /* On failure cgroup.c calls destroy, which stops what was started:
     * cg->unit is set only once the unit is ours (not someone else's unit
     * of the same name). */
    if ((cg->holder = holder_start(err)) < 0) {
        cg->holder = 0;
        return -1;
    }
    if (start_unit(bus, &n, req->id, cg->holder, err) < 0)
        return -1;
    if (!(cg->unit = strdup(n.unit)))
        return md_fail(err, ENOMEM, "cgroup");
    if (unit_cgroup(bus, n.unit, &cg->scope, err) < 0)
        return -1;
    if (make_leaf(cg, req, err) < 0)
        return md_wrap(err, "systemd unit %s", n.unit);
    md_debug("systemd: unit %s, cgroup %s", n.unit, cg->path);
    return 0;
}

static int sd_enter(struct md_cgroup *cg, pid_t pid, md_error *err)
{
    if (names(cg, err) < 0)
        return -1;
    int r;
    if (cg->layout != MD_CG_V2)
        r = md_cg_v1_driver.enter(cg, pid, err);
    else if (cg->v2_fd < 0 && (cg->v2_fd = open_cgroup(cg->path, err)) < 0)
        r = -1;
    else
        r = move_to_leaf(cg, cg->v2_fd, pid, err);
    if (r == 0)
        holder_stop(cg);
    return r;
}

static int sd_apply(struct md_cgroup *cg, const md_resources *r, md_error *err)
{
    if (names(cg, err) < 0)
        return -1;
    __attribute__((cleanup(md_cg_sd_props_free))) struct md_cg_sd_props props = {0};
    if (md_cg_sd_props(r, &props, err) < 0)
        return -1;
    /* systemd first: the exact values mdrun writes then win. */
    if (props.n) {
        md_autobus bus = NULL;
        if (bus_open(cg->rootless, &bus, err) < 0 || set_props(bus, cg->unit, &props, err) < 0)
            return -1;
    }
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.apply(cg, r, err);
    md_autofd root = open_root(err);
    if (root < 0 || md_cg_v2_enable(root, cg->path, r, err) < 0)
        return -1;
    md_autofd scope = open_cgroup(cg->scope, err);
    if (scope < 0 || md_cg_v2_apply(scope, r, err) < 0)
        return -1;
    /* And on the leaf: a container with a cgroup namespace sees only its
     * leaf, and programs that size themselves from memory.max or cpu.max
     * (JVMs, Go) must find the limits there, as they would under runc or
     * crun. */
    md_autofd leaf = open_cgroup(cg->path, err);
    return leaf < 0 ? -1 : md_cg_v2_apply(leaf, r, err);
}

static int sd_freeze(struct md_cgroup *cg, bool frozen, md_error *err)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.freeze(cg, frozen, err);
    md_autoview v;
    return scope_view(cg, &v, err) < 0 ? -1 : md_cg_v2_driver.freeze(&v, frozen, err);
}

static bool sd_is_frozen(struct md_cgroup *cg)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.is_frozen(cg);
    md_error ignored = {0};
    md_autoview v;
    bool frozen = scope_view(cg, &v, &ignored) == 0 && md_cg_v2_driver.is_frozen(&v);
    md_error_clear(&ignored);
    return frozen;
}

static int sd_pids(struct md_cgroup *cg, pid_t **pids, size_t *n, md_error *err)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.pids(cg, pids, n, err);
    md_autoview v;
    return scope_view(cg, &v, err) < 0 ? -1 : md_cg_v2_driver.pids(&v, pids, n, err);
}

static int sd_signal_all(struct md_cgroup *cg, int sig, md_error *err)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.signal_all(cg, sig, err);
    md_autoview v;
    return scope_view(cg, &v, err) < 0 ? -1 : md_cg_v2_driver.signal_all(&v, sig, err);
}

static int sd_stats(struct md_cgroup *cg, struct md_cgroup_stats *st, md_error *err)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.stats(cg, st, err);
    md_autoview v;
    return scope_view(cg, &v, err) < 0 ? -1 : md_cg_v2_driver.stats(&v, st, err);
}

static int sd_oom_fd(struct md_cgroup *cg, md_error *err)
{
    if (cg->layout != MD_CG_V2)
        return md_cg_v1_driver.oom_fd(cg, err);
    md_autoview v;
    return scope_view(cg, &v, err) < 0 ? -1 : md_cg_v2_driver.oom_fd(&v, err);
}

static int sd_open(struct md_cgroup *cg, md_error *err)
{
    return names(cg, err);
}

/* What systemd leaves of the scope in the v1 hierarchies it does not
 * manage (cpuset, freezer, ...), where the v1 driver made the leaf. */
static void remove_v1_scope(const char *scope)
{
    md_autodir d = opendir(MD_CGROUP_ROOT);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        md_autofd mount = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        md_error ignored = {0};
        if (mount >= 0 && md_cg_rmdirs(mount, scope, &ignored) < 0)
            md_debug("%s", ignored.msg);
        md_error_clear(&ignored);
    }
}

/* Keep the first error of several steps. */
static void keep_first(md_error *first, md_error *sub)
{
    if (!first->msg) {
        *first = *sub;
        *sub = (md_error){0};
    }
    md_error_clear(sub);
}

/* Kill what is left (so that systemd's stop, SIGTERM first, is quick),
 * stop the unit, and remove what systemd leaves behind.  Each step runs
 * even when one before failed; the first error is reported. */
static int sd_destroy(struct md_cgroup *cg, md_error *err)
{
    holder_stop(cg);
    md_error first = {0}, sub = {0};
    if (cg->path && names(cg, &sub) < 0)
        keep_first(&first, &sub);
    md_autoview v = {.v2_fd = -1};
    bool have_scope = cg->scope && cg->layout == MD_CG_V2 && scope_view(cg, &v, &sub) == 0;
    md_error_clear(&sub);
    if (have_scope && md_cg_v2_driver.signal_all(&v, SIGKILL, &sub) < 0)
        md_debug("%s", sub.msg);
    else if (cg->scope && cg->layout != MD_CG_V2 &&
             md_cg_v1_driver.signal_all(cg, SIGKILL, &sub) < 0)
        md_debug("%s", sub.msg);
    md_error_clear(&sub);
    if (cg->unit) {
        md_autobus bus = NULL;
        if (bus_open(cg->rootless, &bus, &sub) < 0 || stop_unit(bus, cg->unit, &sub) < 0)
            keep_first(&first, &sub);
    }
    if (have_scope && md_cg_v2_driver.destroy(&v, &sub) < 0)
        keep_first(&first, &sub);
    if (cg->scope && cg->layout != MD_CG_V2) {
        if (md_cg_v1_driver.destroy(cg, &sub) < 0)
            keep_first(&first, &sub);
        remove_v1_scope(cg->scope);
    }
    md_error_clear(&sub);
    if (!first.msg)
        return 0;
    md_error_clear(err);
    *err = first;
    return -1;
}

const struct md_cg_driver md_cg_systemd_driver = {
    .name = "systemd",
    .check = sd_check,
    .create = sd_create,
    .enter = sd_enter,
    .apply = sd_apply,
    .freeze = sd_freeze,
    .is_frozen = sd_is_frozen,
    .pids = sd_pids,
    .signal_all = sd_signal_all,
    .stats = sd_stats,
    .oom_fd = sd_oom_fd,
    .destroy = sd_destroy,
    .open = sd_open,
};
