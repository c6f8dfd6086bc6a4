/* test-resources.c - resource limits and the commands that act on a
 * container's cgroup (pause, resume, update, ps, events, kill --all,
 * delete), through the mdrun CLI on a cgroup v1 or hybrid host: as root
 * the limits are in the container's cgroup files and seen inside it, and
 * they hold (OOM, fork bomb, devices); as an unprivileged user without
 * delegation a container runs without a cgroup, or is refused when it
 * asks for limits.  The same on cgroup v2 is test-resources-v2.c.
 *
 * Every test claims its container and cgroup paths first (cgt_claim), so
 * that a failed test still deletes the container and removes its cgroup
 * directories at exit. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "integration/cgt.h"

/* ---------------------------------------------------------------- helpers */

/* A root context on a v1 or hybrid host; skips elsewhere. */
static struct hx_ctx *v1_ctx(enum hx_who who)
{
    enum md_cg_layout l = md_cgroup_layout();
    if (l != MD_CG_V1 && l != MD_CG_HYBRID)
        hx_skip("needs a cgroup v1 or hybrid host, this one is %s (test-resources-v2 covers v2)",
                md_cgroup_layout_name(l));
    return hx_ctx_new(who);
}

/* Delete, then expect no state and no cgroup directory left. */
static void delete_and_expect_nothing(struct hx_ctx *c, const char *id)
{
    ct_delete(c, id);
    cr_expect_not(hx_state_exists(c, id), "the state of %s is left", id);
    cgt_expect_gone(id);
}

/* The container's cgroup must be the id under our own cgroup in every
 * hierarchy this host mounts (the memory one is nested on this CI host). */
static void expect_placed(pid_t pid, const char *id)
{
    char **got = cgt_dirs_of(pid), **want = cgt_dirs_for(id);
    size_t n = 0;
    for (; got[n] && want[n]; n++)
        cr_expect_str_eq(got[n], want[n], "pid %d is not in its cgroup", (int)pid);
    cr_expect(!got[n] && !want[n] && n > 1, "pid %d: %zu hierarchies", (int)pid, n);
    hx_strv_free(got);
    hx_strv_free(want);
}

static char *dir_of(pid_t pid, const char *ctrl)
{
    char *d = cgt_dir(pid, ctrl);
    cr_assert(d, "pid %d is in no %s cgroup", (int)pid, ctrl);
    return d;
}

/* A block device of this host for the throttles: a disk, not a loop or
 * zram device, if there is one. */
static char *block_device(void)
{
    DIR *d = opendir("/sys/block");
    struct dirent *e;
    char *found = NULL;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = fx_fmt("/sys/block/%s", e->d_name);
        char *dev = cgt_read(path, "dev");
        bool disk = strncmp(e->d_name, "loop", 4) && strncmp(e->d_name, "zram", 4) &&
                    strncmp(e->d_name, "ram", 3);
        if (dev && (!found || disk)) {
            free(found);
            found = strdup(dev);
        }
        free(path);
        free(dev);
        if (found && disk)
            break;
    }
    if (d)
        closedir(d);
    return found;
}

TestSuite(resources);

/* ------------------------------------------------------- limits in place */

Test(resources, limits_are_in_the_cgroup_files_and_inside_the_container)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    char *disk = block_device();
    long major = 0, minor = 0;
    if (disk && sscanf(disk, "%ld:%ld", &major, &minor) != 2) {
        free(disk);
        disk = NULL;
    }
    char *blkio = disk ? fx_fmt(",\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%ld,"
                                "\"minor\":%ld,\"rate\":1048576}]}",
                                major, minor)
                       : strdup("");
    char *json = fx_fmt("{\"memory\":{\"limit\":67108864,\"reservation\":33554432},"
                        "\"pids\":{\"limit\":32},"
                        "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000}%s}",
                        blkio);
    char *shared;
    const char *b =
        cgt_bundle(c, json,
                   "cd /sys/fs/cgroup && cat memory/memory.limit_in_bytes "
                   "pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us > /shared/in.tmp; "
                   "mv /shared/in.tmp /shared/in; "
                   "exec sleep 1000",
                   &shared);
    char *id = hx_id("lim");
    pid_t pid = cgt_start(c, b, id, NULL);
    expect_placed(pid, id);

    char *mem = dir_of(pid, "memory"), *pids = dir_of(pid, "pids"), *cpu = dir_of(pid, "cpu");
    cgt_expect_file(mem, "memory.limit_in_bytes", "67108864");
    cgt_expect_file(mem, "memory.soft_limit_in_bytes", "33554432");
    cgt_expect_file(pids, "pids.max", "32");
    cgt_expect_file(cpu, "cpu.shares", "512");
    cgt_expect_file(cpu, "cpu.cfs_quota_us", "50000");
    cgt_expect_file(cpu, "cpu.cfs_period_us", "100000");
    if (disk) {
        char *blk = dir_of(pid, "blkio");
        char *want = fx_fmt("%s 1048576", disk);
        cgt_expect_file(blk, "blkio.throttle.read_bps_device", want);
        free(want);
        free(blk);
    }

    /* Inside: /sys/fs/cgroup shows the container's own cgroups. */
    char *path = fx_fmt("%s/in", shared);
    char *inside = ct_wait_file(path, 10);
    cr_expect_str_eq(inside ? inside : "(nothing)", "67108864\n32\n512\n50000\n");

    delete_and_expect_nothing(c, id);
    cr_expect(ct_wait_dead(pid, 5), "pid %d survived delete", (int)pid);
    free(inside);
    free(path);
    free(mem);
    free(pids);
    free(cpu);
    free(json);
    free(blkio);
    free(disk);
    free(shared);
    free(id);
}

/* ------------------------------------------------------------ limits hold */

Test(resources, memory_limit_oom_kills_and_events_reports_it)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    bool memsw = access(CGT_ROOT "/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    char *id = hx_id("oom");
    /* With swap accounting, memory + swap too: no swap to escape to. */
    char *text = cgt_run_oom(c,
                             memsw ? "{\"memory\":{\"limit\":33554432,\"swap\":33554432}}"
                                   : "{\"memory\":{\"limit\":33554432}}",
                             id, 10);
    cr_expect_geq(cgt_count_events(text, "stats", id), 1, "no stats event: %s", text);
    delete_and_expect_nothing(c, id);
    free(text);
    free(id);
}

Test(resources, pids_limit_stops_a_fork_bomb)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, "{\"pids\":{\"limit\":8}}",
                               "for i in $(seq 50); do sleep 5 & done; echo survived", NULL);
    char *id = hx_id("bomb");
    cgt_claim(c, id, NULL);
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    cr_expect_neq(r.status, 0, "the fork bomb was not stopped: %s", r.out);
    cr_expect_not(strstr(r.out, "survived"), "stdout: %s", r.out);
    cr_expect(strstr(r.err, "can't fork"), "stderr: %s", r.err);
    fx_result_free(&r);
    /* run deleted it. */
    cr_expect_not(hx_state_exists(c, id), "the state of %s is left", id);
    cgt_expect_gone(id);
    free(id);
}

/* /dev/kmsg exists in the container (linux.devices); the device rules
 * decide whether it can be opened.  Opening it write-only writes nothing
 * and needs no capability. */
static struct fx_result run_kmsg(struct hx_ctx *c, const char *prefix, const char *rules)
{
    char *json = fx_fmt("{\"devices\":%s}", rules);
    const char *b = cgt_bundle(c, json,
                               "echo x > /dev/null && echo null-ok; "
                               "true > /dev/kmsg && echo kmsg-opened",
                               NULL);
    cgt_add_kmsg(b);
    char *id = hx_id(prefix);
    cgt_claim(c, id, NULL);
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    cgt_expect_gone(id);
    free(id);
    free(json);
    return r;
}

Test(resources, device_rules_deny_what_they_do_not_allow)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    struct fx_result r = run_kmsg(c, "devdeny", "[{\"allow\":false,\"access\":\"rwm\"}]");
    cr_expect(strstr(r.out, "null-ok"), "/dev/null refused: %s", r.err);
    cr_expect_not(strstr(r.out, "kmsg-opened"), "/dev/kmsg opened despite deny-all");
    cr_expect(strstr(r.err, "Operation not permitted"), "stderr: %s", r.err);
    fx_result_free(&r);

    /* The same node, allowed: it was the rules that refused it. */
    r = run_kmsg(c, "devallow",
                 "[{\"allow\":false,\"access\":\"rwm\"},"
                 "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":11,\"access\":\"w\"}]");
    cr_expect(strstr(r.out, "kmsg-opened"), "/dev/kmsg refused although allowed: %s", r.err);
    fx_result_free(&r);
}

/* ------------------------------------------------------- pause and resume */

/* utime + stime must not move over 300 ms (frozen) or must (running). */
static bool cpu_moves(pid_t pid)
{
    uint64_t before = cgt_cpu_ticks(pid);
    cgt_nap_ms(300);
    return cgt_cpu_ticks(pid) != before;
}

static bool list_says(struct hx_ctx *c, const char *id, const char *status)
{
    struct fx_result r = hx_mdrun(c, NULL, "list", NULL);
    bool found = false;
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[256], st[64];
        if (sscanf(line, "%255s %*s %63s", name, st) == 2 && strcmp(name, id) == 0)
            found = strcmp(st, status) == 0;
    }
    fx_result_free(&r);
    return found;
}

Test(resources, pause_freezes_and_resume_thaws)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, NULL, "while :; do :; done", NULL);
    char *id = hx_id("pause");
    pid_t pid = cgt_start(c, b, id, NULL);
    cr_expect(cpu_moves(pid), "the busy loop does not run");
    char *freezer = dir_of(pid, "freezer");

    ct_ok("pause", hx_mdrun(c, NULL, "pause", id, NULL));
    ct_expect_status(c, id, "paused");
    cr_expect(list_says(c, id, "paused"), "list does not say paused");
    cgt_expect_file(freezer, "freezer.state", "FROZEN");
    cr_expect_eq(cgt_proc_state(pid), 'D', "a frozen task shows as D");
    cr_expect_not(cpu_moves(pid), "the container ran while paused");
    struct fx_result r = hx_mdrun(c, NULL, "pause", id, NULL);
    ct_expect_error(&r, "pause twice", "paused");
    fx_result_free(&r);

    ct_ok("resume", hx_mdrun(c, NULL, "resume", id, NULL));
    ct_expect_status(c, id, "running");
    cr_expect(list_says(c, id, "running"), "list does not say running");
    cgt_expect_file(freezer, "freezer.state", "THAWED");
    cr_expect(cpu_moves(pid), "the container did not resume");
    r = hx_mdrun(c, NULL, "resume", id, NULL);
    ct_expect_error(&r, "resume a running container", "running");
    fx_result_free(&r);

    /* delete --force takes a paused container too. */
    ct_ok("pause again", hx_mdrun(c, NULL, "pause", id, NULL));
    delete_and_expect_nothing(c, id);
    cr_expect(ct_wait_dead(pid, 5), "the paused container survived delete --force");
    free(freezer);
    free(id);
}

/* ------------------------------------------------------------------ update */

Test(resources, update_changes_the_limits_of_a_running_container)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":20}}",
                               "exec sleep 1000", NULL);
    char *id = hx_id("upd");
    pid_t pid = cgt_start(c, b, id, NULL);
    char *mem = dir_of(pid, "memory"), *pids = dir_of(pid, "pids"), *cpu = dir_of(pid, "cpu");

    ct_ok("update flags",
          hx_mdrun(c, NULL, "update", "--memory", "128m", "--pids-limit", "40", id, NULL));
    cgt_expect_file(mem, "memory.limit_in_bytes", "134217728");
    cgt_expect_file(pids, "pids.max", "40");

    char *file = fx_fmt("%s/res.json", c->dir);
    fx_write(file, "{\"memory\":{\"limit\":100663296},\"pids\":{\"limit\":-1},"
                   "\"cpu\":{\"quota\":20000,\"period\":100000}}");
    ct_ok("update -r", hx_mdrun(c, NULL, "update", "-r", file, id, NULL));
    cgt_expect_file(mem, "memory.limit_in_bytes", "100663296");
    cgt_expect_file(pids, "pids.max", "max");
    cgt_expect_file(cpu, "cpu.cfs_quota_us", "20000");

    /* Refused values change nothing. */
    static const char *const bad[][2] = {
        {"--memory", "lots"}, {"--pids-limit", "-5"}, {"--cpu-period", "-1"}, {"--memory", "12x"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fx_result r = hx_mdrun(c, NULL, "update", bad[i][0], bad[i][1], id, NULL);
        cr_expect_eq(r.status, 1, "update %s %s: exit %d", bad[i][0], bad[i][1], r.status);
        cr_expect(strstr(r.err, bad[i][1]), "update %s %s: %s", bad[i][0], bad[i][1], r.err);
        fx_result_free(&r);
    }
    fx_write(file, "{\"memory\":{\"limit\":\"big\"}}");
    struct fx_result r = hx_mdrun(c, NULL, "update", "-r", file, id, NULL);
    ct_expect_error(&r, "update -r with a string limit", "limit");
    fx_result_free(&r);
    cgt_expect_file(mem, "memory.limit_in_bytes", "100663296");
    cgt_expect_file(pids, "pids.max", "max");

    delete_and_expect_nothing(c, id);
    r = hx_mdrun(c, NULL, "update", "--memory", "64m", id, NULL);
    ct_expect_error(&r, "update a deleted container", "does not exist");
    fx_result_free(&r);
    free(file);
    free(mem);
    free(pids);
    free(cpu);
    free(id);
}

/* ----------------------------------------------------- ps, events, kill */

/* The pids `ps --format json` prints. */
static size_t ps_json(struct hx_ctx *c, const char *id, pid_t *out, size_t max)
{
    struct fx_result r = hx_mdrun(c, NULL, "ps", "--format", "json", id, NULL);
    cr_assert_eq(r.status, 0, "ps --format json: %s", r.err);
    yajl_val v = cgt_json(r.out);
    cr_assert(YAJL_IS_ARRAY(v), "ps --format json: not an array: %s", r.out);
    size_t n = YAJL_GET_ARRAY(v)->len;
    for (size_t i = 0; i < n && i < max; i++) {
        yajl_val x = YAJL_GET_ARRAY(v)->values[i];
        cr_assert(YAJL_IS_INTEGER(x), "ps --format json: %s", r.out);
        out[i] = (pid_t)YAJL_GET_INTEGER(x);
    }
    yajl_tree_free(v);
    fx_result_free(&r);
    return n;
}

static bool has(const pid_t *v, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == pid)
            return true;
    return false;
}

Test(resources, ps_lists_the_container_processes)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, NULL, "sleep 1001 & sleep 1002 & wait", NULL);
    char *id = hx_id("ps");
    pid_t pid = cgt_start(c, b, id, NULL);
    pid_t pids[16];
    size_t n = 0;
    for (int i = 0; i < 100 && (n = ps_json(c, id, pids, 16)) < 3; i++)
        cgt_nap_ms(50);
    cr_expect_eq(n, 3, "ps --format json: %zu pids, want sh and two sleeps", n);
    cr_expect(has(pids, n, pid), "ps --format json misses the init %d", (int)pid);

    struct fx_result r = hx_mdrun(c, NULL, "ps", id, NULL);
    ct_expect_ok(&r, "ps");
    cr_expect_eq(fx_count_lines(r.out), 4, "ps: a header and three processes: %s", r.out);
    cr_expect(strstr(r.out, "PID") && strstr(r.out, "sleep 1001") && strstr(r.out, "sleep 1002"),
              "ps: %s", r.out);
    char *spid = fx_fmt(" %d ", (int)pid);
    cr_expect(strstr(r.out, spid), "ps does not show the init %d: %s", (int)pid, r.out);
    free(spid);
    fx_result_free(&r);

    r = hx_mdrun(c, NULL, "ps", "--format", "yaml", id, NULL);
    cr_expect_eq(r.status, 1, "ps --format yaml: exit %d", r.status);
    cr_expect(strstr(r.err, "yaml"), "ps --format yaml: %s", r.err);
    fx_result_free(&r);
    delete_and_expect_nothing(c, id);
    free(id);
}

Test(resources, events_stats_prints_one_json_line_with_the_usage)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b =
        cgt_bundle(c, "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":20}}",
                   "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 1000", NULL);
    char *id = hx_id("stats");
    pid_t pid = cgt_start(c, b, id, NULL);
    /* Until the loop is over and the sleep alone remains. */
    for (int i = 0; i < 200; i++) {
        char *comm = fx_fmt("/proc/%d/comm", (int)pid);
        char *name = ct_read(comm);
        bool slept = name && strcmp(name, "sleep\n") == 0;
        free(comm);
        free(name);
        if (slept)
            break;
        cgt_nap_ms(50);
    }
    struct fx_result r = hx_mdrun(c, NULL, "events", "--stats", id, NULL);
    ct_expect_ok(&r, "events --stats");
    cr_expect_eq(fx_count_lines(r.out), 1, "events --stats: %s", r.out);
    yajl_val v = cgt_json(r.out);
    cr_expect_str_eq(cgt_json_str(v, "type"), "stats", "type: %s", r.out);
    cr_expect_str_eq(cgt_json_str(v, "id"), id, "id: %s", r.out);
    cr_expect_eq(cgt_json_u64(v, "data", "memory", "usage", "limit", NULL), 67108864);
    cr_expect_gt(cgt_json_u64(v, "data", "memory", "usage", "usage", NULL), 0);
    cr_expect_eq(cgt_json_u64(v, "data", "pids", "current", NULL), 1);
    cr_expect_eq(cgt_json_u64(v, "data", "pids", "limit", NULL), 20);
    cr_expect_gt(cgt_json_u64(v, "data", "cpu", "usage", "total", NULL), 0);
    yajl_tree_free(v);
    fx_result_free(&r);

    r = hx_mdrun(c, NULL, "events", "--interval", "soon", id, NULL);
    cr_expect_eq(r.status, 1, "events --interval soon: exit %d", r.status);
    fx_result_free(&r);
    delete_and_expect_nothing(c, id);
    free(id);
}

/* Move pid into a child cgroup "nested" of its cgroup in every hierarchy,
 * as a tool inside the container would. */
static void move_to_child_cgroup(pid_t pid)
{
    char **dirs = cgt_dirs_of(pid);
    for (char **d = dirs; *d; d++) {
        char *child = fx_fmt("%s/nested", *d);
        cr_assert(mkdir(child, 0755) == 0, "mkdir %s: %s", child, strerror(errno));
        /* A new v1 cpuset has no cpus or mems until given some. */
        static const char *const inherit[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < 2; i++) {
            char *value = cgt_read(*d, inherit[i]);
            char *file = fx_fmt("%s/%s", child, inherit[i]);
            if (value)
                fx_write(file, value);
            free(value);
            free(file);
        }
        char *procs = fx_fmt("%s/cgroup.procs", child);
        char *spid = fx_fmt("%d", (int)pid);
        fx_write(procs, spid);
        free(child);
        free(procs);
        free(spid);
    }
    hx_strv_free(dirs);
}

Test(resources, kill_all_reaches_every_process_and_delete_every_cgroup)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, "{\"pids\":{\"limit\":20}}",
                               "sleep 1001 & sleep 1002 & exec sleep 1003", NULL);
    /* No pid namespace: the processes outlive the init, so only the
     * cgroup finds them all. */
    md_spec *s = hx_spec_load(b);
    ct_del_ns(s, "pid");
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("killall");
    pid_t pid = cgt_start(c, b, id, NULL);
    pid_t pids[16];
    size_t n = 0;
    for (int i = 0; i < 100 && (n = ps_json(c, id, pids, 16)) < 3; i++)
        cgt_nap_ms(50);
    cr_assert_eq(n, 3, "ps: %zu processes", n);
    pid_t other = pids[0] == pid ? pids[1] : pids[0];
    move_to_child_cgroup(other);
    char *nested = fx_fmt("%s/nested", id);
    cr_expect(has(pids, ps_json(c, id, pids, 16), other), "ps misses the nested process");

    ct_ok("kill --all", hx_mdrun(c, NULL, "kill", "--all", id, "KILL", NULL));
    for (size_t i = 0; i < n; i++)
        cr_expect(ct_wait_dead(pids[i], 5), "pid %d survived kill --all", (int)pids[i]);
    for (int i = 0; i < 100 && !list_says(c, id, "stopped"); i++)
        cgt_nap_ms(50);
    ct_expect_status(c, id, "stopped");

    struct fx_result r = hx_mdrun(c, NULL, "delete", id, NULL);
    ct_expect_ok(&r, "delete");
    fx_result_free(&r);
    cgt_expect_gone(nested);
    cgt_expect_gone(id);
    free(nested);
    free(id);
}

/* ----------------------------------------------------- refusals, failures */

/* After a create that must fail: exit 1, one line naming needle, and
 * neither state nor a cgroup directory left. */
static void expect_refused(struct hx_ctx *c, const char *bundle, const char *id, const char *needle,
                           const char *const *globals)
{
    cgt_claim(c, id, NULL);
    const char *full[20] = {hx_mdrun_bin(), "--root", c->root};
    size_t n = 3;
    for (; globals && *globals && n < 14; globals++)
        full[n++] = *globals;
    const char *tail[] = {"create", "--bundle", bundle, id, NULL};
    for (size_t i = 0; tail[i]; i++)
        full[n++] = tail[i];
    full[n] = NULL;
    struct hx_cmd cmd = {0};
    struct fx_result r = hx_run(c, &cmd, full);
    ct_expect_error(&r, id, needle);
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect_not(hx_state_exists(c, id), "the state of %s is left", id);
    cgt_expect_gone(id);
}

Test(resources, a_failed_create_leaves_no_cgroup)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    /* A value validation accepts and the kernel refuses. */
    const char *b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864},\"cpu\":{\"cpus\":\"4095\"}}",
                               "true", NULL);
    char *id = hx_id("badcpus");
    expect_refused(c, b, id, "cpuset.cpus", NULL);
    free(id);

    /* A createRuntime hook that fails, after the cgroup was made. */
    b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":10}}", "true", NULL);
    md_spec *s = hx_spec_load(b);
    md_hooks *h = ct_hooks(s);
    ct_add_hook(&h->create_runtime, &h->n_create_runtime, "/bin/false", "false", NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    id = hx_id("badhook");
    expect_refused(c, b, id, "hook", NULL);
    free(id);
}

Test(resources, unified_is_refused_on_cgroup_v1)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    const char *b = cgt_bundle(c, "{\"unified\":{\"memory.max\":\"67108864\"}}", "true", NULL);
    char *id = hx_id("unified");
    expect_refused(c, b, id, "unified", NULL);
    free(id);
}

Test(resources, systemd_manager_without_systemd_is_refused)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    if (access("/run/systemd/system", F_OK) == 0)
        hx_skip("this host runs systemd: the systemd driver is tested in the guest VM");
    const char *b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864}}", "true", NULL);
    char *id = hx_id("nosd");
    const char *globals[] = {"--systemd-cgroup", NULL};
    expect_refused(c, b, id, "systemd", globals);
    free(id);
}

/* The container's /proc/self/cgroup, written to /shared/cg. */
static char *cgroup_inside(struct hx_ctx *c, const char *manager, const char *json, char **err)
{
    char *shared;
    const char *b = cgt_bundle(c, json, "cat /proc/self/cgroup > /shared/cg", &shared);
    char *id = hx_id(c->who == HX_ROOT ? "nocg" : "unocg");
    cgt_claim(c, id, NULL);
    struct fx_result r = manager ? hx_mdrun(c, NULL, "--debug", "--cgroup-manager", manager, "run",
                                            "--bundle", b, id, NULL)
                                 : hx_mdrun(c, NULL, "--debug", "run", "--bundle", b, id, NULL);
    ct_expect_ok(&r, "run");
    *err = strdup(r.err);
    fx_result_free(&r);
    char *path = fx_fmt("%s/cg", shared);
    char *text = ct_read(path);
    cr_assert(text, "the container wrote no /shared/cg");
    cgt_expect_gone(id);
    free(path);
    free(shared);
    free(id);
    return text;
}

Test(resources, cgroup_manager_disabled_runs_without_a_cgroup)
{
    struct hx_ctx *c = v1_ctx(HX_ROOT);
    char *err;
    char *inside = cgroup_inside(c, "disabled", NULL, &err);
    char *own = ct_read("/proc/self/cgroup");
    cr_expect_str_eq(inside, own, "the container is not in mdrun's (our) cgroups");
    cr_expect(strstr(err, "no cgroup"), "no debug message: %s", err);
    free(inside);
    free(err);

    /* Limits cannot be applied: a warning, not silence. */
    inside = cgroup_inside(c, "disabled", "{\"memory\":{\"limit\":67108864}}", &err);
    cr_expect_str_eq(inside, own);
    cr_expect(strstr(err, "not applied"), "no warning: %s", err);
    free(inside);
    free(err);
    free(own);
}

/* ------------------------------------------------------------- rootless */

Test(resources, rootless_without_limits_runs_without_a_cgroup)
{
    struct hx_ctx *c = v1_ctx(HX_USER);
    char *err;
    /* `mdrun spec --rootless` asks for no limits. */
    char *inside = cgroup_inside(c, NULL, NULL, &err);
    char *own = ct_read("/proc/self/cgroup");
    cr_expect_str_eq(inside, own, "the rootless container is not in mdrun's cgroups");
    cr_expect(strstr(err, "without a delegated cgroup"), "no debug message: %s", err);
    free(inside);
    free(own);
    free(err);
}

Test(resources, rootless_limits_are_refused_with_how_to_get_delegation)
{
    struct hx_ctx *c = v1_ctx(HX_USER);
    const char *b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864}}", "true", NULL);
    char *id = hx_id("ulimit");
    expect_refused(c, b, id, "Delegate=yes", NULL);
    free(id);
}

Test(resources, rootless_cgroup_commands_fail_clearly_without_a_cgroup)
{
    struct hx_ctx *c = v1_ctx(HX_USER);
    const char *b = cgt_bundle(c, NULL, "exec sleep 1000", NULL);
    char *id = hx_id("ucmds");
    pid_t pid = cgt_start(c, b, id, NULL);
    static const char *const cmds[][3] = {{"pause", NULL, NULL},
                                          {"resume", NULL, NULL},
                                          {"update", "--memory", "64m"},
                                          {"ps", NULL, NULL},
                                          {"events", "--stats", NULL}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        struct fx_result r = cmds[i][2]
                                 ? hx_mdrun(c, NULL, cmds[i][0], cmds[i][1], cmds[i][2], id, NULL)
                             : cmds[i][1] ? hx_mdrun(c, NULL, cmds[i][0], cmds[i][1], id, NULL)
                                          : hx_mdrun(c, NULL, cmds[i][0], id, NULL);
        ct_expect_error(&r, cmds[i][0], "has no cgroup");
        fx_result_free(&r);
    }
    ct_expect_status(c, id, "running");
    /* kill --all finds the processes by their pid namespace instead. */
    ct_ok("kill --all", hx_mdrun(c, NULL, "kill", "--all", id, "KILL", NULL));
    cr_expect(ct_wait_dead(pid, 5), "kill --all left the init");
    ct_delete(c, id);
    free(id);
}
