/* test-resources-v2.c - resource limits and the cgroup commands through
 * the mdrun CLI on a pure cgroup v2 host: make check runs it in a guest VM
 * (tests/vm/check.sh) when this host has v1 or hybrid cgroups.  As root:
 * the limits reach the files (memory, pids, cpu, cpuset, io, hugetlb) and
 * hold (OOM with its event, fork bomb, eBPF device rules), pause, resume,
 * update, ps, events, kill --all through cgroup.kill, nothing left after
 * delete or a failed create.  As the test user: a container in a cgroup
 * delegated to it (made here by root, as a systemd user session would).
 *
 * Emulated CPUs are slow: each test drives one or two containers and asks
 * as much of each as it can. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup.h"
#include "integration/cgt.h"

/* ---------------------------------------------------------------- helpers */

static struct hx_ctx *v2_ctx(enum hx_who who)
{
    if (!cgt_pure_v2())
        hx_skip("needs a pure cgroup v2 host at " CGT_ROOT " (make check runs this test in a "
                "cgroup v2 guest VM, tests/vm/check.sh)");
    hx_require_root(); /* root makes the delegated cgroup for the user too */
    return hx_ctx_new(who);
}

static char *dir_of(pid_t pid)
{
    char *d = cgt_dir(pid, "");
    cr_assert(d, "pid %d is in no cgroup2 cgroup", (int)pid);
    return d;
}

/* A number from a "key value" file (cgroup.events, memory.events,
 * cpu.stat); -1 when missing. */
static long long keyed(const char *dir, const char *file, const char *key)
{
    char *text = cgt_read(dir, file);
    long long v = -1;
    size_t len = strlen(key);
    for (char *line = text; line && *line;) {
        if (strncmp(line, key, len) == 0 && line[len] == ' ')
            v = strtoll(line + len + 1, NULL, 10);
        char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return v;
}

static bool cpu_moves(pid_t pid)
{
    uint64_t before = cgt_cpu_ticks(pid);
    cgt_nap_ms(500);
    return cgt_cpu_ticks(pid) != before;
}

/* The pids `ps --format json` prints. */
static size_t ps_json(struct hx_ctx *c, const char *id, pid_t *out, size_t max)
{
    struct fx_result r = hx_mdrun(c, NULL, "ps", "--format", "json", id, NULL);
    cr_assert_eq(r.status, 0, "ps --format json: %s", r.err);
    yajl_val v = cgt_json(r.out);
    cr_assert(YAJL_IS_ARRAY(v), "ps --format json: not an array: %s", r.out);
    size_t n = YAJL_GET_ARRAY(v)->len;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = (pid_t)YAJL_GET_INTEGER(YAJL_GET_ARRAY(v)->values[i]);
    yajl_tree_free(v);
    fx_result_free(&r);
    return n;
}

/* "major:minor" of the guest's disk, NULL without one. */
static char *disk(void)
{
    struct stat st;
    if (stat("/dev/vda", &st) < 0 || !S_ISBLK(st.st_mode))
        return NULL;
    return fx_fmt("%u:%u", major(st.st_rdev), minor(st.st_rdev));
}

static bool has_controller(const char *name)
{
    char *all = cgt_read(CGT_ROOT, "cgroup.controllers");
    bool found = false;
    for (char *save = NULL, *w = all ? strtok_r(all, " ", &save) : NULL; w && !found;
         w = strtok_r(NULL, " ", &save))
        found = strcmp(w, name) == 0;
    free(all);
    return found;
}

TestSuite(resources_v2);

/* ------------------------------------------------- one container, many asks */

/* The script: the device rules first (`true`, not `:`: a redirection
 * error on a special builtin would end the shell), then a fork bomb in a subshell
 * (its sleeps keep the pids it got), then a busy loop that cpu.max
 * throttles and pause stops. */
static const char main_script[] =
    "echo x > /dev/null && echo null-ok > /shared/dev; "
    "true 2>> /shared/dev > /dev/kmsg && echo kmsg-opened >> /shared/dev; "
    "(for i in $(seq 50); do sleep 1000 & done; echo survived) > /shared/bomb 2>&1; "
    "echo done > /shared/ready; "
    "while :; do :; done";

Test(resources_v2, limits_hold_and_the_commands_act_on_the_cgroup)
{
    struct hx_ctx *c = v2_ctx(HX_ROOT);
    char *dev = disk();
    bool hugetlb =
        has_controller("hugetlb") && access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0;
    unsigned maj = 0, min = 0;
    if (dev)
        cr_assert_eq(sscanf(dev, "%u:%u", &maj, &min), 2);
    char *io = dev ? fx_fmt(",\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,"
                            "\"rate\":1048576}]}",
                            maj, min)
                   : strdup("");
    char *json =
        fx_fmt("{\"memory\":{\"limit\":67108864,\"swap\":67108864,\"reservation\":33554432},"
               "\"pids\":{\"limit\":8},\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
               "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,"
               "\"cpus\":\"0\",\"mems\":\"0\"}%s%s}",
               io, hugetlb ? ",\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]" : "");
    char *shared;
    const char *b = cgt_bundle(c, json, main_script, &shared);
    cgt_add_kmsg(b);
    char *id = hx_id("main");
    pid_t pid = cgt_start(c, b, id, NULL);
    char *dir = dir_of(pid);
    char *want_dir = fx_fmt(CGT_ROOT "/%s", id);
    cr_expect_str_eq(dir, want_dir, "the container's cgroup");
    char *ready = fx_fmt("%s/ready", shared);
    char *text = ct_wait_file(ready, 60);
    cr_assert(text, "the container never got to its loop");
    free(text);

    /* The files. */
    cgt_expect_file(dir, "memory.max", "67108864");
    cgt_expect_file(dir, "memory.swap.max", "0");
    cgt_expect_file(dir, "memory.low", "33554432");
    cgt_expect_file(dir, "pids.max", "8");
    cgt_expect_file(dir, "cpu.max", "50000 100000");
    char *weight = fx_fmt("%llu", (unsigned long long)md_cgroup_shares_to_weight(512));
    cgt_expect_file(dir, "cpu.weight", weight);
    free(weight);
    cgt_expect_file(dir, "cpuset.cpus", "0");
    cgt_expect_file(dir, "cpuset.mems", "0");
    if (dev) {
        char *want = fx_fmt("%s rbps=1048576 wbps=max riops=max wiops=max", dev);
        cgt_expect_file(dir, "io.max", want);
        free(want);
    }
    if (hugetlb)
        cgt_expect_file(dir, "hugetlb.2MB.max", "4194304");

    /* The limits held: the eBPF program refused /dev/kmsg, the fork bomb
     * stopped at pids.max, cpu.max throttles the loop. */
    char *path = fx_fmt("%s/dev", shared);
    char *devs = ct_read(path);
    cr_expect(devs && strstr(devs, "null-ok") && strstr(devs, "Operation not permitted") &&
                  !strstr(devs, "kmsg-opened"),
              "device rules: %s", devs);
    free(devs);
    free(path);
    path = fx_fmt("%s/bomb", shared);
    char *bomb = ct_read(path);
    cr_expect(bomb && strstr(bomb, "can't fork") && !strstr(bomb, "survived"), "fork bomb: %s",
              bomb);
    free(bomb);
    free(path);
    /* sh and the sleeps: all 8 but the subshell, gone since. */
    cr_expect_geq(keyed(dir, "pids.events", "max"), 1, "pids.events: the limit was never hit");
    cgt_expect_file(dir, "pids.current", "7");
    for (int i = 0; i < 40 && keyed(dir, "cpu.stat", "nr_throttled") < 1; i++)
        cgt_nap_ms(100);
    cr_expect_geq(keyed(dir, "cpu.stat", "nr_throttled"), 1, "cpu.max never throttled");

    /* ps and events. */
    pid_t pids[16];
    size_t n = ps_json(c, id, pids, 16);
    cr_expect_eq(n, 7, "ps --format json: %zu processes, want 7", n);
    struct fx_result r = hx_mdrun(c, NULL, "events", "--stats", id, NULL);
    ct_expect_ok(&r, "events --stats");
    yajl_val v = cgt_json(r.out);
    cr_expect_str_eq(cgt_json_str(v, "type"), "stats");
    cr_expect_eq(cgt_json_u64(v, "data", "memory", "usage", "limit", NULL), 67108864);
    cr_expect_gt(cgt_json_u64(v, "data", "memory", "usage", "usage", NULL), 0);
    cr_expect_eq(cgt_json_u64(v, "data", "pids", "current", NULL), 7);
    cr_expect_eq(cgt_json_u64(v, "data", "pids", "limit", NULL), 8);
    cr_expect_gt(cgt_json_u64(v, "data", "cpu", "usage", "total", NULL), 0);
    cr_expect_gt(cgt_json_u64(v, "data", "cpu", "throttling", "throttledPeriods", NULL), 0);
    yajl_tree_free(v);
    fx_result_free(&r);

    /* pause and resume. */
    ct_ok("pause", hx_mdrun(c, NULL, "pause", id, NULL));
    ct_expect_status(c, id, "paused");
    cr_expect_eq(keyed(dir, "cgroup.events", "frozen"), 1, "cgroup.events: not frozen");
    cgt_expect_file(dir, "cgroup.freeze", "1");
    cr_expect_not(cpu_moves(pid), "the loop ran while paused");
    ct_ok("resume", hx_mdrun(c, NULL, "resume", id, NULL));
    ct_expect_status(c, id, "running");
    cr_expect_eq(keyed(dir, "cgroup.events", "frozen"), 0, "cgroup.events: still frozen");
    cr_expect(cpu_moves(pid), "the loop did not resume");

    /* update. */
    ct_ok("update", hx_mdrun(c, NULL, "update", "--memory", "128m", "--memory-swap", "128m",
                             "--pids-limit", "40", id, NULL));
    cgt_expect_file(dir, "memory.max", "134217728");
    cgt_expect_file(dir, "pids.max", "40");
    char *file = fx_fmt("%s/res.json", c->dir);
    fx_write(file, "{\"cpu\":{\"quota\":20000,\"period\":100000},\"pids\":{\"limit\":-1}}");
    ct_ok("update -r", hx_mdrun(c, NULL, "update", "-r", file, id, NULL));
    cgt_expect_file(dir, "cpu.max", "20000 100000");
    cgt_expect_file(dir, "pids.max", "max");
    r = hx_mdrun(c, NULL, "update", "--memory", "lots", id, NULL);
    cr_expect_eq(r.status, 1, "update --memory lots: exit %d", r.status);
    fx_result_free(&r);
    cgt_expect_file(dir, "memory.max", "134217728");
    free(file);

    /* kill --all: every process, also one moved into a child cgroup. */
    pid_t other = pids[0] == pid ? pids[1] : pids[0];
    char *nested = fx_fmt("%s/nested", dir);
    cr_assert(mkdir(nested, 0755) == 0, "mkdir %s: %s", nested, strerror(errno));
    char *procs = fx_fmt("%s/cgroup.procs", nested), *spid = fx_fmt("%d", (int)other);
    fx_write(procs, spid);
    free(procs);
    free(spid);
    ct_ok("kill --all", hx_mdrun(c, NULL, "kill", "--all", id, "KILL", NULL));
    for (size_t i = 0; i < n && i < 16; i++)
        cr_expect(ct_wait_dead(pids[i], 10), "pid %d survived kill --all", (int)pids[i]);
    cr_expect(cgt_wait_file_is(dir, "cgroup.procs", "", 10), "processes left after kill --all");
    ct_delete(c, id);
    cr_expect_neq(access(nested, F_OK), 0, "%s left after delete", nested);
    cr_expect_neq(access(dir, F_OK), 0, "%s left after delete", dir);
    cr_expect_not(hx_state_exists(c, id));

    free(nested);
    free(ready);
    free(want_dir);
    free(dir);
    free(shared);
    free(json);
    free(io);
    free(dev);
    free(id);
}

/* --------------------------------------------------------------------- OOM */

Test(resources_v2, memory_max_oom_kills_and_events_reports_it)
{
    struct hx_ctx *c = v2_ctx(HX_ROOT);
    char *id = hx_id("oom");
    char *text = cgt_run_oom(c, "{\"memory\":{\"limit\":33554432,\"swap\":33554432}}", id, 30);
    char *dir = fx_fmt(CGT_ROOT "/%s", id);
    cr_expect_geq(keyed(dir, "memory.events", "oom_kill"), 1, "memory.events: no oom_kill");
    ct_delete(c, id);
    cr_expect_neq(access(dir, F_OK), 0, "%s left after delete", dir);
    free(dir);
    free(text);
    free(id);
}

Test(resources_v2, a_refused_unified_key_leaves_nothing)
{
    struct hx_ctx *c = v2_ctx(HX_ROOT);
    /* Valid as JSON; the kernel has no such file. */
    const char *b = cgt_bundle(c, "{\"unified\":{\"memory.bogus\":\"1\"}}", "true", NULL);
    char *id = hx_id("bogus");
    cgt_claim(c, id, NULL);
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", b, id, NULL);
    ct_expect_error(&r, "create", "memory.bogus");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect_not(hx_state_exists(c, id));
    cgt_expect_gone(id);
    free(id);
}

/* --------------------------------------------------------------- rootless */

/* Put this test process into dir (so that what it starts is in the
 * delegated subtree, as in a user's session), and back to the root at
 * exit, before the claimed directories are removed. */
static void enter_cgroup(const char *dir)
{
    char *procs = fx_fmt("%s/cgroup.procs", dir), *self = fx_fmt("%d", (int)getpid());
    fx_write(procs, self);
    free(procs);
    free(self);
}

static void back_to_root(void)
{
    int fd = open(CGT_ROOT "/cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dprintf(fd, "%d", (int)getpid());
        close(fd);
    }
}

static void chown_to(const char *dir, const char *file, uid_t uid, gid_t gid)
{
    char *path = file ? fx_fmt("%s/%s", dir, file) : strdup(dir);
    cr_assert(chown(path, uid, gid) == 0, "chown %s: %s", path, strerror(errno));
    free(path);
}

Test(resources_v2, rootless_in_a_delegated_cgroup)
{
    struct hx_ctx *c = v2_ctx(HX_USER);
    /* What systemd does for a user session with Delegate=yes: a subtree
     * the user owns, with the controllers enabled down to it. */
    char *top = fx_fmt("/mdrun-deleg-%d", (int)getpid());
    cgt_claim(c, NULL, top);
    atexit(back_to_root);
    char *deleg = fx_fmt(CGT_ROOT "%s", top);
    char *runner = fx_fmt("%s/runner", deleg);
    cr_assert(mkdir(deleg, 0755) == 0, "mkdir %s: %s", deleg, strerror(errno));
    fx_write(CGT_ROOT "/cgroup.subtree_control", "+memory +pids +cpu");
    char *control = fx_fmt("%s/cgroup.subtree_control", deleg);
    fx_write(control, "+memory +pids +cpu");
    free(control);
    cr_assert(mkdir(runner, 0755) == 0, "mkdir %s: %s", runner, strerror(errno));
    static const char *const owned[] = {NULL, "cgroup.procs", "cgroup.subtree_control",
                                        "cgroup.threads"};
    for (size_t i = 0; i < 4; i++) {
        chown_to(deleg, owned[i], c->uid, c->gid);
        chown_to(runner, owned[i], c->uid, c->gid);
    }
    enter_cgroup(runner);

    const char *b = cgt_bundle(c, "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":20}}",
                               "exec sleep 1000", NULL);
    char *path = fx_fmt("%s/ctr", top);
    md_spec *s = hx_spec_load(b);
    free(ct_linux(s)->cgroups_path);
    ct_linux(s)->cgroups_path = strdup(path);
    hx_spec_save(b, s);
    md_spec_free(s);
    char *id = hx_id("deleg");
    pid_t pid = cgt_start(c, b, id, path);
    char *dir = dir_of(pid);
    char *want = fx_fmt(CGT_ROOT "%s", path);
    cr_expect_str_eq(dir, want, "the rootless container's cgroup");
    cgt_expect_file(dir, "memory.max", "67108864");
    cgt_expect_file(dir, "pids.max", "20");
    struct stat st;
    cr_expect(stat(dir, &st) == 0 && st.st_uid == c->uid, "%s is not the user's", dir);

    ct_ok("pause", hx_mdrun(c, NULL, "pause", id, NULL));
    cr_expect_eq(keyed(dir, "cgroup.events", "frozen"), 1, "cgroup.events: not frozen");
    ct_ok("resume", hx_mdrun(c, NULL, "resume", id, NULL));
    ct_ok("update", hx_mdrun(c, NULL, "update", "--pids-limit", "30", id, NULL));
    cgt_expect_file(dir, "pids.max", "30");
    ct_delete(c, id);
    cr_expect(ct_wait_dead(pid, 10), "pid %d survived delete", (int)pid);
    cr_expect_neq(access(dir, F_OK), 0, "%s left after delete", dir);

    free(want);
    free(dir);
    free(id);
    free(path);
    free(runner);
    free(deleg);
    free(top);
}
