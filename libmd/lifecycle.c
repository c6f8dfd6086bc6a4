/* lifecycle.c - start, kill and delete: what acts on a container that
 * create left behind. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "hooks.h"
#include "log.h"
#include "slirp.h"
#include "state.h"

/* ----------------------------------------------------------------- common */

/* An open, locked container: its directory, record and derived status. */
struct held {
    int root_fd;
    int dir_fd;
    md_state_info info;
};

static void release(struct held *h)
{
    md_state_info_free(&h->info);
    md_close_fd(&h->dir_fd);
    md_close_fd(&h->root_fd);
}

static int hold(const char *root, const char *id, struct held *h, md_error *err)
{
    memset(h, 0, sizeof(*h));
    h->root_fd = h->dir_fd = -1;
    md_autofree char *root_path = NULL;
    if (md_id_validate(id, err) < 0 ||
        md_state_root_open(root, false, &root_path, &h->root_fd, err) < 0)
        return -1;
    h->dir_fd = md_state_open(h->root_fd, id, err);
    if (h->dir_fd < 0 || md_state_lock(h->dir_fd, MD_LOCK_EXCLUSIVE, true, err) < 0 ||
        md_state_inspect(h->dir_fd, id, true, &h->info, err) < 0) {
        release(h);
        return -1;
    }
    return 0;
}

static int wrong_status(const char *what, const char *id, enum md_status st, md_error *err)
{
    return md_failx(err, EINVAL, "cannot %s container \"%s\": it is %s", what, id,
                    md_status_name(st));
}

/* The config copy kept in the container directory, for its poststart and
 * poststop hooks; NULL when the record says it has none. */
static md_spec *saved_config(const struct held *h)
{
    if (h->info.rec.has_post_hooks && h->info.rec.post_hooks == 0)
        return NULL;
    md_spec *spec = NULL;
    md_errors problems = {0};
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/config.json", h->dir_fd);
    if (md_spec_load_file(path, &spec, &problems) < 0) {
        md_warn("container \"%s\": cannot read its saved config.json%s%s", h->info.rec.id,
                problems.n ? ": " : "", problems.n ? problems.msgs[0] : "");
        md_spec_free(spec);
        spec = NULL;
    }
    md_errors_clear(&problems);
    return spec;
}

static int run_hooks(const struct held *h, const char *kind, enum md_status status,
                     const md_hook *hooks, size_t n, md_error *err)
{
    md_state_info info = h->info;
    info.status = status;
    md_autofree char *json = NULL;
    if (md_state_json(&info, &json, NULL, err) < 0)
        return -1;
    return md_hooks_run(kind, hooks, n, json, err);
}

/* ------------------------------------------------------------------ start */

/* Wake the container process through exec.fifo, then wait until it has
 * let go of the fifo: at execve(2) (close-on-exec) or when it died. */
static int release_init(struct held *h, md_error *err)
{
    md_autofd fd = openat(h->dir_fd, MD_STATE_EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENXIO)
        return md_failx(err, ESRCH, "container \"%s\": its process is not waiting for start",
                        h->info.rec.id);
    if (fd < 0)
        return md_fail(err, errno, "open %s", MD_STATE_EXEC_FIFO);
    if (write(fd, "0", 1) != 1)
        return md_fail(err, errno, "write %s", MD_STATE_EXEC_FIFO);
    struct pollfd pfd = {.fd = fd, .events = 0};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    unlinkat(h->dir_fd, MD_STATE_EXEC_FIFO, 0);
    return 0;
}

int md_container_start(const char *root, const char *id, md_error *err)
{
    struct held h;
    if (hold(root, id, &h, err) < 0)
        return -1;
    int rc = 0;
    if (h.info.status != MD_STATUS_CREATED)
        rc = wrong_status("start", id, h.info.status, err);
    if (rc == 0)
        rc = release_init(&h, err);
    if (rc == 0) {
        md_spec *spec = saved_config(&h);
        const md_hooks *hk = spec ? spec->hooks : NULL;
        if (hk && hk->n_poststart) {
            rc = run_hooks(&h, "poststart", MD_STATUS_RUNNING, hk->poststart, hk->n_poststart, err);
            /* A failed poststart hook stops the container (runtime.md). */
            if (rc < 0) {
                md_error gone = {0};
                md_autofd pidfd = md_state_pidfd(&h.info.rec, &gone);
                if (pidfd >= 0)
                    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                md_error_clear(&gone);
            }
        }
        md_spec_free(spec);
    }
    release(&h);
    return rc;
}

/* ------------------------------------------------------------------- kill */

int md_signal_parse(const char *name)
{
    if (!name || !*name)
        return -1;
    if (isdigit((unsigned char)name[0])) {
        char *end;
        long n = strtol(name, &end, 10);
        return *end || n <= 0 || n >= NSIG ? -1 : (int)n;
    }
    if (strncasecmp(name, "SIG", 3) == 0)
        name += 3;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev && strcasecmp(abbrev, name) == 0)
            return sig;
    }
    if (strncasecmp(name, "RTMIN+", 6) == 0 || strncasecmp(name, "RTMAX-", 6) == 0) {
        char *end;
        long off = strtol(name + 6, &end, 10);
        int sig = name[5] == '+' ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
        return *end || off < 0 || sig < SIGRTMIN || sig > SIGRTMAX ? -1 : sig;
    }
    return -1;
}

/* The pid namespace of a process, as its /proc/PID/ns/pid link text. */
static int pid_ns_of(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
    ssize_t n = readlink(path, buf, size - 1);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* kill --all: every process in the container's pid namespace. */
static int signal_all(const struct held *h, int sig, md_error *err)
{
    char ns[64], mine[64];
    if (pid_ns_of(h->info.rec.pid, ns, sizeof(ns)) < 0)
        return md_fail(err, errno, "read the pid namespace of %d", h->info.rec.pid);
    if (pid_ns_of(getpid(), mine, sizeof(mine)) == 0 && strcmp(ns, mine) == 0)
        return md_failx(err, EINVAL,
                        "kill --all: container \"%s\" shares mdrun's pid namespace and has no "
                        "cgroup to find its processes by",
                        h->info.rec.id);
    md_autodir d = opendir("/proc");
    if (!d)
        return md_fail(err, errno, "open /proc");
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        char theirs[64];
        if (*end || pid <= 0 || pid_ns_of((pid_t)pid, theirs, sizeof(theirs)) < 0 ||
            strcmp(theirs, ns) != 0)
            continue;
        if (kill((pid_t)pid, sig) < 0 && errno != ESRCH)
            md_debug("kill %ld: %s", pid, strerror(errno));
    }
    return 0;
}

/* kill --all: through the cgroup when the container has one (it holds
 * every process, whatever their pid namespace), else by pid namespace. */
static int signal_everyone(const struct held *h, int sig, md_error *err)
{
    struct md_cgroup *cg = NULL;
    if (md_cgroup_open(&h->info.rec, &cg, err) < 0)
        return -1;
    int rc = cg ? md_cgroup_signal_all(cg, sig, err) : signal_all(h, sig, err);
    md_cgroup_free(cg);
    return rc;
}

int md_container_kill(const char *root, const char *id, int sig, bool all, md_error *err)
{
    struct held h;
    if (hold(root, id, &h, err) < 0)
        return -1;
    int rc = 0;
    enum md_status st = h.info.status;
    if (st != MD_STATUS_CREATED && st != MD_STATUS_RUNNING && st != MD_STATUS_PAUSED) {
        rc = wrong_status("signal", id, st, err);
    } else {
        md_autofd pidfd = md_state_pidfd(&h.info.rec, err);
        if (pidfd < 0)
            rc = -1;
        else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
            rc = md_fail(err, errno, "send signal %d to container \"%s\"", sig, id);
        if (rc == 0 && all)
            rc = signal_everyone(&h, sig, err);
    }
    release(&h);
    return rc;
}

/* ----------------------------------------------------------------- delete */

/* SIGKILL the init and wait until it is gone; with a pid namespace the
 * kernel then kills every other process in it. */
static int stop(struct held *h, md_error *err)
{
    md_error gone = {0};
    md_autofd pidfd = md_state_pidfd(&h->info.rec, &gone);
    if (pidfd < 0) {
        md_error_clear(&gone); /* already exited */
        return 0;
    }
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return md_fail(err, errno, "kill container \"%s\"", h->info.rec.id);
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    while (poll(&pfd, 1, 10000) < 0 && errno == EINTR)
        ;
    if (!(pfd.revents & POLLIN))
        return md_failx(err, ETIMEDOUT, "container \"%s\" did not die after SIGKILL",
                        h->info.rec.id);
    return 0;
}

int md_container_delete(const char *root, const char *id, bool force, md_error *err)
{
    struct held h;
    if (hold(root, id, &h, err) < 0) {
        /* --force deletes what is there; nothing there is done already, as
         * with runc and crun (Podman deletes after a create that failed). */
        if (force && err->errnum == ENOENT) {
            md_error_clear(err);
            return 0;
        }
        return -1;
    }
    int rc = 0;
    enum md_status st = h.info.status;
    struct md_cgroup *cg = NULL;
    if ((st == MD_STATUS_RUNNING || st == MD_STATUS_PAUSED) && !force)
        rc = md_failx(err, EBUSY,
                      "cannot delete container \"%s\": it is %s (stop it first, or use "
                      "--force)",
                      id, md_status_name(st));
    if (rc == 0 && h.info.has_record)
        rc = md_cgroup_open(&h.info.rec, &cg, err);
    /* A frozen process would take SIGKILL only once thawed. */
    if (rc == 0 && st == MD_STATUS_PAUSED)
        rc = md_cgroup_freeze(cg, false, err);
    if (rc == 0 && st != MD_STATUS_STOPPED && st != MD_STATUS_CREATING)
        rc = stop(&h, err);
    /* Recorded before the container could crash: stopped whatever its state. */
    if (rc == 0 && h.info.has_record && h.info.rec.has_net_helper_pid)
        rc = md_slirp_stop(h.info.rec.net_helper_pid, h.info.rec.net_helper_start_time, err);
    if (rc == 0)
        rc = md_cgroup_destroy(cg, err);
    md_cgroup_free(cg);
    if (rc == 0) {
        md_spec *spec = h.info.has_record ? saved_config(&h) : NULL;
        rc = md_state_remove(h.root_fd, id, err);
        const md_hooks *hk = spec ? spec->hooks : NULL;
        if (rc == 0 && hk && hk->n_poststop) {
            md_error hook_err = {0};
            md_state_info info = h.info;
            info.status = MD_STATUS_STOPPED;
            md_autofree char *json = NULL;
            /* A failed poststop hook is only a warning (runtime.md). */
            if (md_state_json(&info, &json, NULL, &hook_err) < 0)
                md_warn("%s", hook_err.msg);
            else
                md_hooks_run_warn("poststop", hk->poststop, hk->n_poststop, json);
            md_error_clear(&hook_err);
        }
        md_spec_free(spec);
    }
    release(&h);
    return rc;
}
