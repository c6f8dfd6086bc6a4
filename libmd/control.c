/* control.c - what acts on a running container through its cgroup:
 * pause, resume, update, ps, events. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "error.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "state.h"

/* A loaded container with its cgroup; release with drop(). */
struct target {
    int root_fd;
    int dir_fd;
    md_state_info info;
    struct md_cgroup *cg;
};

static void drop(struct target *t)
{
    md_cgroup_free(t->cg);
    md_state_info_free(&t->info);
    md_close_fd(&t->dir_fd);
    md_close_fd(&t->root_fd);
}

/* Open id, lock it when asked, and open its cgroup; a container without
 * a cgroup cannot be paused, updated, or inspected through one. */
static int take(const char *root, const char *id, bool lock, struct target *t, md_error *err)
{
    memset(t, 0, sizeof(*t));
    t->root_fd = t->dir_fd = -1;
    md_autofree char *root_path = NULL;
    if (md_id_validate(id, err) < 0 ||
        md_state_root_open(root, false, &root_path, &t->root_fd, err) < 0)
        return -1;
    t->dir_fd = md_state_open(t->root_fd, id, err);
    if (t->dir_fd < 0 || (lock && md_state_lock(t->dir_fd, MD_LOCK_EXCLUSIVE, true, err) < 0) ||
        md_state_inspect(t->dir_fd, id, lock, &t->info, err) < 0 ||
        md_cgroup_open(&t->info.rec, &t->cg, err) < 0) {
        drop(t);
        return -1;
    }
    if (!t->cg) {
        drop(t);
        return md_failx(err, EOPNOTSUPP,
                        "container \"%s\" has no cgroup (created without one: no delegation, "
                        "or --cgroup-manager disabled)",
                        id);
    }
    return 0;
}

static int need_status(const struct target *t, const char *what, enum md_status a, enum md_status b,
                       md_error *err)
{
    if (t->info.status == a || t->info.status == b)
        return 0;
    return md_failx(err, EINVAL, "cannot %s container \"%s\": it is %s", what, t->info.rec.id,
                    md_status_name(t->info.status));
}

/* ----------------------------------------------------- pause and resume */

static int set_frozen(const char *root, const char *id, bool frozen, md_error *err)
{
    struct target t;
    if (take(root, id, true, &t, err) < 0)
        return -1;
    int rc = frozen ? need_status(&t, "pause", MD_STATUS_RUNNING, MD_STATUS_CREATED, err)
                    : need_status(&t, "resume", MD_STATUS_PAUSED, MD_STATUS_PAUSED, err);
    if (rc == 0)
        rc = md_cgroup_freeze(t.cg, frozen, err);
    drop(&t);
    return rc;
}

int md_container_pause(const char *root, const char *id, md_error *err)
{
    return set_frozen(root, id, true, err);
}

int md_container_resume(const char *root, const char *id, md_error *err)
{
    return set_frozen(root, id, false, err);
}

/* ----------------------------------------------------------------- update */

/* The saved config.json of the container: update keeps it true, so that
 * what it says is what the container has. */
static int save_resources(const struct target *t, md_resources *changes, md_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d/config.json", t->dir_fd);
    md_spec *spec = NULL;
    md_errors problems = {0};
    if (md_spec_load_file(path, &spec, &problems) < 0) {
        md_failx(err, EINVAL, "read the saved config.json: %s",
                 problems.n ? problems.msgs[0] : "invalid");
        md_errors_clear(&problems);
        md_spec_free(spec);
        return -1;
    }
    int rc = 0;
    if (!spec->linux_)
        spec->linux_ = calloc(1, sizeof(*spec->linux_));
    if (spec->linux_ && !spec->linux_->resources)
        spec->linux_->resources = calloc(1, sizeof(*spec->linux_->resources));
    if (!spec->linux_ || !spec->linux_->resources)
        rc = md_fail(err, ENOMEM, "update");
    md_autofree char *json = NULL;
    size_t len = 0;
    if (rc == 0) {
        md_resources_merge(spec->linux_->resources, changes);
        rc = md_spec_to_json(spec, &json, &len, err);
    }
    if (rc == 0)
        rc = md_write_file_atomic(t->dir_fd, "config.json", json, len, 0600, err);
    md_spec_free(spec);
    return rc;
}

int md_container_update(const char *root, const char *id, md_resources *changes, md_error *err)
{
    struct target t;
    if (take(root, id, true, &t, err) < 0)
        return -1;
    int rc = 0;
    if (t.info.status == MD_STATUS_STOPPED)
        rc = md_failx(err, EINVAL, "cannot update container \"%s\": it is stopped", id);
    if (rc == 0)
        rc = md_cgroup_apply(t.cg, changes, err);
    if (rc == 0)
        rc = save_resources(&t, changes, err);
    drop(&t);
    return rc;
}

/* --------------------------------------------------------------------- ps */

int md_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, md_error *err)
{
    struct target t;
    if (take(root, id, false, &t, err) < 0)
        return -1;
    int rc = md_cgroup_pids(t.cg, pids, n, err);
    drop(&t);
    return rc;
}

/* ----------------------------------------------------------------- events */

static void gen_number(yajl_gen g, const char *key, uint64_t value)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
    md_jgen_string(g, key);
    yajl_gen_number(g, buf, (size_t)n);
}

/* The "data" of runc's stats event, with the numbers mdrun reads. */
static void gen_stats(yajl_gen g, const struct md_cgroup_stats *s)
{
    yajl_gen_map_open(g);
    md_jgen_string(g, "cpu");
    yajl_gen_map_open(g);
    md_jgen_string(g, "usage");
    yajl_gen_map_open(g);
    gen_number(g, "total", s->cpu_usage_ns);
    gen_number(g, "kernel", s->cpu_system_ns);
    gen_number(g, "user", s->cpu_user_ns);
    yajl_gen_map_close(g);
    md_jgen_string(g, "throttling");
    yajl_gen_map_open(g);
    gen_number(g, "throttledPeriods", s->cpu_throttled_periods);
    gen_number(g, "throttledTime", s->cpu_throttled_ns);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    md_jgen_string(g, "memory");
    yajl_gen_map_open(g);
    md_jgen_string(g, "usage");
    yajl_gen_map_open(g);
    gen_number(g, "limit", s->memory_limit);
    gen_number(g, "usage", s->memory_usage);
    gen_number(g, "max", s->memory_max_usage);
    yajl_gen_map_close(g);
    md_jgen_string(g, "swap");
    yajl_gen_map_open(g);
    gen_number(g, "usage", s->memory_swap_usage);
    yajl_gen_map_close(g);
    gen_number(g, "oomKills", s->oom_kills);
    yajl_gen_map_close(g);
    md_jgen_string(g, "pids");
    yajl_gen_map_open(g);
    gen_number(g, "current", s->pids_current);
    gen_number(g, "limit", s->pids_limit);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* One event as a JSON line: {"type": ..., "id": ..., "data": ...}. */
static int emit(FILE *out, const char *type, const char *id, const struct md_cgroup_stats *s)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    yajl_gen_map_open(g);
    md_jgen_kv(g, "type", type);
    md_jgen_kv(g, "id", id);
    if (s) {
        md_jgen_string(g, "data");
        gen_stats(g, s);
    }
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t len;
    int rc = -1;
    if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        fwrite(buf, 1, len, out);
        fputc('\n', out);
        rc = fflush(out) == 0 ? 0 : -1;
    }
    yajl_gen_free(g);
    return rc;
}

/* Report an "oom" event for every OOM kill counted since the last look. */
static int report_ooms(struct target *t, uint64_t *seen, FILE *out, md_error *err)
{
    struct md_cgroup_stats s;
    if (md_cgroup_stats(t->cg, &s, err) < 0)
        return -1;
    for (; *seen < s.oom_kills; (*seen)++)
        if (emit(out, "oom", t->info.rec.id, NULL) < 0)
            return md_fail(err, errno, "write event");
    return 0;
}

int md_container_events(const char *root, const char *id, bool stats_once, unsigned interval_ms,
                        FILE *out, md_error *err)
{
    struct target t;
    if (take(root, id, false, &t, err) < 0)
        return -1;
    struct md_cgroup_stats s;
    int rc = md_cgroup_stats(t.cg, &s, err);
    if (rc == 0 && stats_once) {
        if (emit(out, "stats", id, &s) < 0)
            rc = md_fail(err, errno, "write event");
        drop(&t);
        return rc;
    }
    uint64_t seen = s.oom_kills;
    md_autofd oom = rc == 0 ? md_cgroup_oom_fd(t.cg, err) : -1;
    md_autofd pidfd = rc == 0 ? md_state_pidfd(&t.info.rec, err) : -1;
    if (rc == 0 && pidfd < 0)
        rc = -1;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (rc == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long wait_ms =
            (next.tv_sec - now.tv_sec) * 1000LL + (next.tv_nsec - now.tv_nsec) / 1000000;
        if (wait_ms <= 0) {
            if (md_cgroup_stats(t.cg, &s, err) < 0 || report_ooms(&t, &seen, out, err) < 0 ||
                emit(out, "stats", id, &s) < 0) {
                rc = err->msg ? -1 : md_fail(err, errno, "write event");
                break;
            }
            next.tv_sec += interval_ms / 1000;
            next.tv_nsec += (long)(interval_ms % 1000) * 1000000;
            if (next.tv_nsec >= 1000000000) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000;
            }
            continue;
        }
        struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = oom, .events = POLLIN}};
        int n = poll(p, oom >= 0 ? 2 : 1, (int)wait_ms);
        if (n < 0 && errno != EINTR) {
            rc = md_fail(err, errno, "events: poll");
        } else if (n > 0 && (p[1].revents & POLLIN)) {
            char drain[4096];
            ssize_t ignored = read(oom, drain, sizeof(drain));
            (void)ignored;
            rc = report_ooms(&t, &seen, out, err);
        } else if (n > 0 && (p[0].revents & POLLIN)) {
            /* The container exited: a last OOM may be why. */
            md_error late = {0};
            report_ooms(&t, &seen, out, &late);
            md_error_clear(&late);
            break;
        }
    }
    drop(&t);
    return rc;
}
