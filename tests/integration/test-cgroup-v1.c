/* test-cgroup-v1.c - the cgroup v1 (and hybrid) driver on this host, as
 * root, driven through the library: the files hold what the config asks,
 * processes land in every hierarchy, freezing, killing, statistics, OOM,
 * fork bombs and devices behave, nothing is left behind.  As the test user:
 * no cgroup without limits, a clear refusal with them.
 *
 * Each test works under its own cgroup path and removes it (killing what is
 * inside) in .fini, whatever happened in the test. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "integration/cgt.h"

#define CG "/sys/fs/cgroup"

/* ---------------------------------------------------------- bookkeeping */

/* What this test made: absolute paths (the same in every hierarchy) and
 * relative ones (under this process's own cgroup of each hierarchy). */
static char test_path[128];
static char *made[8];
static size_t n_made;

static void remember(const char *path)
{
    cr_assert_lt(n_made, sizeof(made) / sizeof(made[0]));
    made[n_made++] = strdup(path);
}

/* This process's cgroup in the hierarchy mounted at CG/name. */
static char *own_in(const char *name)
{
    char want[128];
    if (strcmp(name, "unified") == 0)
        snprintf(want, sizeof(want), "%s", "");
    else if (strcmp(name, "systemd") == 0)
        snprintf(want, sizeof(want), "name=systemd");
    else
        snprintf(want, sizeof(want), "%s", name);
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[4096], *found = NULL;
    while (f && !found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 && (size_t)(c2 - c1 - 1) == strlen(want) && strncmp(c1 + 1, want, strlen(want)) == 0)
            found = strdup(c2 + 1);
    }
    if (f)
        fclose(f);
    return found;
}

/* The directory of path (absolute, or relative to our own cgroup) in the
 * hierarchy mounted at CG/name. */
static char *dir_in(const char *name, const char *path)
{
    if (path[0] == '/')
        return fx_fmt(CG "/%s%s", name, path);
    char *own = own_in(name);
    char *dir = fx_fmt(CG "/%s%s/%s", name, own && strcmp(own, "/") ? own : "", path);
    free(own);
    return dir;
}

/* Calls fn on CG/<hierarchy> for every hierarchy directory. */
static void each_hierarchy(void (*fn)(const char *name, void *arg), void *arg)
{
    DIR *d = opendir(CG);
    cr_assert_not_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        char *p = fx_fmt(CG "/%s", e->d_name);
        if (e->d_name[0] != '.' && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            fn(e->d_name, arg);
        free(p);
    }
    closedir(d);
}

static void clean_one(const char *name, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n_made; i++) {
        char *dir = dir_in(name, made[i]);
        cgt_remove_tree(dir);
        free(dir);
    }
}

static void setup(void)
{
    snprintf(test_path, sizeof(test_path), "/mdrun-cg1test-%d", (int)getpid());
    remember(test_path);
}

static void teardown(void)
{
    each_hierarchy(clean_one, NULL);
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    for (size_t i = 0; i < n_made; i++)
        free(made[i]);
    n_made = 0;
}

static void require_v1_root(void)
{
    hx_require_root();
    enum md_cg_layout l = md_cgroup_layout();
    if (l != MD_CG_V1 && l != MD_CG_HYBRID)
        hx_skip("needs a cgroup v1 or hybrid host, this one is %s", md_cgroup_layout_name(l));
}

TestSuite(cgroup_v1, .init = setup, .fini = teardown);

/* ------------------------------------------------------------- helpers */

static struct md_cgroup *make_at(const char *path, const md_resources *r)
{
    struct md_cgroup_request req = {
        .id = "cg1test", .cgroups_path = path, .resources = r, .manager = MD_CGM_CGROUPFS};
    md_error err = {0};
    cr_assert_eq(md_cgroup_check(&req, &err), 0, "check: %s", err.msg);
    struct md_cgroup *cg = NULL;
    cr_assert_eq(md_cgroup_create(&req, &cg, &err), 0, "create: %s", err.msg);
    cr_assert_not_null(cg);
    return cg;
}

static struct md_cgroup *make(const md_resources *r)
{
    return make_at(test_path, r);
}

static void destroy(struct md_cgroup *cg)
{
    md_error err = {0};
    cr_expect_eq(md_cgroup_destroy(cg, &err), 0, "destroy: %s", err.msg);
    md_cgroup_free(cg);
}

/* The content of a file, trailing newlines cut. */
static char *slurp_path(char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    free(path);
    return strdup(buf);
}

/* The content of CG/ctrl<test_path>/file. */
static char *cgfile(const char *ctrl, const char *file)
{
    char *dir = fx_fmt(CG "/%s%s", ctrl, test_path);
    char *text = slurp_path(fx_fmt("%s/%s", dir, file));
    free(dir);
    return text;
}

static void expect_file(const char *ctrl, const char *file, const char *want)
{
    char *got = cgfile(ctrl, file);
    cr_expect_str_eq(got, want, "%s/%s", ctrl, file);
    free(got);
}

struct exists_arg {
    const char *path;
    bool want;
};

static void expect_exists(const char *name, void *arg)
{
    struct exists_arg *a = arg;
    char *dir = dir_in(name, a->path);
    cr_expect_eq(access(dir, F_OK) == 0, a->want, "%s %s", dir, a->want ? "missing" : "left");
    free(dir);
}

static void expect_everywhere(const char *path, bool want)
{
    struct exists_arg a = {path, want};
    each_hierarchy(expect_exists, &a);
}

/* A child process that waits until it was put in the cgroup, runs fn,
 * and _exits with its result; fn may say it is ready with kid_ready(). */
struct kid {
    pid_t pid;
    int go, ready;
};

static int ready_fd = -1;

static void kid_ready(void)
{
    if (write(ready_fd, "r", 1) < 0)
        _exit(120);
}

static struct kid spawn_in(struct md_cgroup *cg, int (*fn)(void *), void *arg)
{
    int go[2], ready[2];
    cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        close(ready[0]);
        ready_fd = ready[1];
        if (read(go[0], &c, 1) != 1)
            _exit(121);
        _exit(fn(arg));
    }
    close(go[0]);
    close(ready[1]);
    struct kid k = {pid, go[1], ready[0]};
    md_error err = {0};
    cr_assert_eq(md_cgroup_enter(cg, pid, &err), 0, "enter: %s", err.msg);
    cr_assert_eq(write(k.go, "g", 1), 1);
    close(k.go);
    return k;
}

static void kid_wait_ready(struct kid *k)
{
    struct pollfd p = {k->ready, POLLIN, 0};
    cr_assert_eq(poll(&p, 1, 20000), 1, "the child never got ready");
    char c;
    cr_assert_eq(read(k->ready, &c, 1), 1, "the child died before it was ready");
}

/* Exit code, or 128 + signal; a child still there after 20 s is killed
 * and fails the test. */
static int kid_wait(struct kid *k)
{
    int status;
    close(k->ready);
    for (int i = 0; i < 2000; i++) {
        pid_t r = waitpid(k->pid, &status, WNOHANG);
        cr_assert_geq(r, 0);
        if (r == k->pid)
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        usleep(10000);
    }
    kill(k->pid, SIGKILL);
    waitpid(k->pid, &status, 0);
    cr_assert_fail("child %d still running after 20 s", (int)k->pid);
    return -1;
}

static __attribute__((noreturn)) void sleep_forever(void)
{
    for (;;)
        pause();
}

static int sleeper(void *arg)
{
    (void)arg;
    kid_ready();
    sleep_forever();
}

static bool has_pid(struct md_cgroup *cg, pid_t pid)
{
    pid_t *pids;
    size_t n;
    md_error err = {0};
    cr_assert_eq(md_cgroup_pids(cg, &pids, &n, &err), 0, "pids: %s", err.msg);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || pids[i] == pid;
    free(pids);
    return found;
}

/* ---------------------------------------------------------- the files */

/* major:minor of a block device of this host, for the throttles. */
static bool block_device(int64_t *major, int64_t *minor)
{
    DIR *d = opendir("/sys/block");
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = fx_fmt("/sys/block/%s/dev", e->d_name);
        FILE *f = fopen(path, "r");
        long a, b;
        found = f && fscanf(f, "%ld:%ld", &a, &b) == 2;
        if (found) {
            *major = a;
            *minor = b;
        }
        if (f)
            fclose(f);
        free(path);
    }
    if (d)
        closedir(d);
    return found;
}

Test(cgroup_v1, resources_reach_the_files_and_destroy_removes_every_dir)
{
    require_v1_root();
    md_memory mem = {.has_limit = true,
                     .limit = 64 << 20,
                     .has_reservation = true,
                     .reservation = 32 << 20,
                     .has_swappiness = true,
                     .swappiness = 10};
    bool memsw = access(CG "/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    if (memsw) {
        mem.has_swap = true;
        mem.swap = 128 << 20;
    }
    md_cpu cpu = {.has_shares = true,
                  .shares = 512,
                  .has_quota = true,
                  .quota = 50000,
                  .has_period = true,
                  .period = 100000,
                  .cpus = (char *)"0",
                  .mems = (char *)"0"};
    bool burst = access(CG "/cpu/cpu.cfs_burst_us", F_OK) == 0;
    if (burst) {
        cpu.has_burst = true;
        cpu.burst = 1000;
    }
    md_pids pids = {.has_limit = true, .limit = 100};
    md_throttle_device rbps = {.rate = 1048576};
    md_block_io blkio = {.throttle_read_bps_device = &rbps, .n_throttle_read_bps_device = 1};
    bool disk = block_device(&rbps.major, &rbps.minor);
    md_resources res = {
        .memory = &mem, .cpu = &cpu, .pids = &pids, .block_io = disk ? &blkio : NULL};
    struct md_cgroup *cg = make(&res);
    expect_everywhere(test_path, true);

    expect_file("memory", "memory.limit_in_bytes", "67108864");
    expect_file("memory", "memory.soft_limit_in_bytes", "33554432");
    expect_file("memory", "memory.swappiness", "10");
    if (memsw)
        expect_file("memory", "memory.memsw.limit_in_bytes", "134217728");
    expect_file("cpu", "cpu.shares", "512");
    expect_file("cpu", "cpu.cfs_quota_us", "50000");
    expect_file("cpu", "cpu.cfs_period_us", "100000");
    if (burst)
        expect_file("cpu", "cpu.cfs_burst_us", "1000");
    expect_file("cpuset", "cpuset.cpus", "0");
    expect_file("cpuset", "cpuset.mems", "0");
    expect_file("pids", "pids.max", "100");
    if (disk) {
        char *want = fx_fmt("%ld:%ld 1048576", (long)rbps.major, (long)rbps.minor);
        expect_file("blkio", "blkio.throttle.read_bps_device", want);
        free(want);
    }

    destroy(cg);
    expect_everywhere(test_path, false);
}

Test(cgroup_v1, pids_minus_one_is_max_and_zero_is_a_limit)
{
    require_v1_root();
    md_pids pids = {.has_limit = true, .limit = -1};
    md_resources res = {.pids = &pids};
    struct md_cgroup *cg = make(&res);
    expect_file("pids", "pids.max", "max");
    pids.limit = 0;
    md_error err = {0};
    cr_assert_eq(md_cgroup_apply(cg, &res, &err), 0, "%s", err.msg);
    expect_file("pids", "pids.max", "0");
    destroy(cg);
}

Test(cgroup_v1, blkio_weight_uses_the_file_this_kernel_has)
{
    require_v1_root();
    md_block_io blkio = {.has_weight = true, .weight = 300};
    md_resources res = {.block_io = &blkio};
    struct md_cgroup_request req = {.id = "x", .cgroups_path = test_path, .resources = &res};
    md_error err = {0};
    if (md_cgroup_check(&req, &err) < 0) {
        cr_expect(strstr(err.msg, "blkio.bfq.weight"), "%s", err.msg);
        md_error_clear(&err);
        return;
    }
    struct md_cgroup *cg = make(&res);
    bool cfq = access(CG "/blkio/blkio.weight", F_OK) == 0;
    char *w = cgfile("blkio", cfq ? "blkio.weight" : "blkio.bfq.weight");
    /* bfq prints "default 300". */
    cr_expect(strstr(w, "300"), "weight file says %s", w);
    free(w);
    destroy(cg);
}

Test(cgroup_v1, cpu_shares_out_of_range_are_refused)
{
    require_v1_root();
    md_cpu cpu = {.has_shares = true, .shares = 1};
    md_resources res = {.cpu = &cpu};
    struct md_cgroup_request req = {.id = "x", .cgroups_path = test_path, .resources = &res};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_expect_eq(md_cgroup_create(&req, &cg, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "cpu.shares") && strstr(err.msg, "range"), "%s", err.msg);
    md_error_clear(&err);
    expect_everywhere(test_path, false);
}

Test(cgroup_v1, cpu_idle)
{
    require_v1_root();
    if (access(CG "/cpu/cpu.idle", F_OK) != 0)
        hx_skip("this kernel has no cpu.idle");
    md_cpu cpu = {.has_idle = true, .idle = 1};
    md_resources res = {.cpu = &cpu};
    struct md_cgroup *cg = make(&res);
    expect_file("cpu", "cpu.idle", "1");
    destroy(cg);
}

Test(cgroup_v1, memory_update_raises_limit_and_swap_in_the_right_order)
{
    require_v1_root();
    if (access(CG "/memory/memory.memsw.limit_in_bytes", F_OK) != 0)
        hx_skip("this kernel does not account swap");
    md_memory mem = {.has_limit = true, .limit = 32 << 20, .has_swap = true, .swap = 64 << 20};
    md_resources res = {.memory = &mem};
    struct md_cgroup *cg = make(&res);
    /* Above the current memory+swap limit: memsw must go first. */
    mem.limit = 128 << 20;
    mem.swap = 256 << 20;
    md_error err = {0};
    cr_assert_eq(md_cgroup_apply(cg, &res, &err), 0, "%s", err.msg);
    expect_file("memory", "memory.limit_in_bytes", "134217728");
    expect_file("memory", "memory.memsw.limit_in_bytes", "268435456");
    /* Down again: the memory limit first. */
    mem.limit = 16 << 20;
    mem.swap = 16 << 20;
    cr_assert_eq(md_cgroup_apply(cg, &res, &err), 0, "%s", err.msg);
    expect_file("memory", "memory.limit_in_bytes", "16777216");
    expect_file("memory", "memory.memsw.limit_in_bytes", "16777216");
    /* Unlimited memory without a swap value: swap unlimited too. */
    md_memory unlimited = {.has_limit = true, .limit = -1};
    md_resources res2 = {.memory = &unlimited};
    cr_assert_eq(md_cgroup_apply(cg, &res2, &err), 0, "%s", err.msg);
    char *lim = cgfile("memory", "memory.limit_in_bytes");
    char *sw = cgfile("memory", "memory.memsw.limit_in_bytes");
    cr_expect_gt(strtoull(lim, NULL, 10), 1ULL << 60, "%s", lim);
    cr_expect_gt(strtoull(sw, NULL, 10), 1ULL << 60, "%s", sw);
    free(lim);
    free(sw);
    destroy(cg);
}

Test(cgroup_v1, unified_is_refused_before_anything_is_made)
{
    require_v1_root();
    md_kv kv = {(char *)"memory.max", (char *)"1000000"};
    md_resources res = {.unified = &kv, .n_unified = 1};
    struct md_cgroup_request req = {.id = "x", .cgroups_path = test_path, .resources = &res};
    md_error err = {0};
    cr_expect_eq(md_cgroup_check(&req, &err), -1);
    cr_expect_str_eq(err.msg, "linux.resources.unified needs cgroup v2: this host has cgroup v1 "
                              "controllers");
    md_error_clear(&err);
    struct md_cgroup *cg = NULL;
    cr_expect_eq(md_cgroup_create(&req, &cg, &err), -1);
    cr_expect_null(cg);
    md_error_clear(&err);
    expect_everywhere(test_path, false);
}

Test(cgroup_v1, controllers_this_host_lacks_are_refused)
{
    require_v1_root();
    if (access(CG "/hugetlb", F_OK) == 0)
        hx_skip("this host has the hugetlb controller");
    md_hugepage_limit h = {.page_size = (char *)"2MB", .limit = 1 << 21};
    md_resources res = {.hugepage_limits = &h, .n_hugepage_limits = 1};
    struct md_cgroup_request req = {.id = "x", .cgroups_path = test_path, .resources = &res};
    md_error err = {0};
    cr_expect_eq(md_cgroup_check(&req, &err), -1);
    cr_expect_str_eq(err.msg, "linux.resources.hugepageLimits: no hugetlb cgroup controller is "
                              "mounted on this host");
    md_error_clear(&err);
}

Test(cgroup_v1, a_populated_cgroup_is_not_taken_over)
{
    require_v1_root();
    char *dir = fx_fmt(CG "/pids%s", test_path);
    cr_assert_eq(mkdir(dir, 0755), 0);
    pid_t pid = fork();
    if (pid == 0)
        sleep_forever();
    char *procs = fx_fmt("%s/cgroup.procs", dir), *spid = fx_fmt("%d", (int)pid);
    fx_write(procs, spid);
    struct md_cgroup_request req = {.id = "x", .cgroups_path = test_path};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_expect_eq(md_cgroup_create(&req, &cg, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "already exists and has processes"), "%s", err.msg);
    md_error_clear(&err);
    cr_expect(hx_pid_alive(pid), "the other cgroup's process was killed");
    cr_expect_eq(access(dir, F_OK), 0, "the other cgroup was removed");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    free(dir);
    free(procs);
    free(spid);
}

/* ------------------------------------------------------------ processes */

static void expect_proc_cgroup(pid_t pid, const char *path)
{
    char *file = fx_fmt("/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(file, "r");
    cr_assert_not_null(f);
    char line[4096];
    size_t lines = 0;
    bool unified = false;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c2 = strchr(strchr(line, ':') + 1, ':');
        cr_expect_str_eq(c2 + 1, path, "line \"%s\"", line);
        unified = unified || strncmp(line, "0::", 3) == 0;
        lines++;
    }
    fclose(f);
    cr_expect_gt(lines, 1);
    if (md_cgroup_layout() == MD_CG_HYBRID)
        cr_expect(unified, "no unified line");
    free(file);
}

Test(cgroup_v1, enter_puts_the_process_in_every_hierarchy)
{
    require_v1_root();
    struct md_cgroup *cg = make(NULL);
    struct kid k = spawn_in(cg, sleeper, NULL);
    kid_wait_ready(&k);
    expect_proc_cgroup(k.pid, test_path);
    cr_expect(has_pid(cg, k.pid));
    destroy(cg); /* kills what is left */
    cr_expect_eq(kid_wait(&k), 128 + SIGKILL);
    expect_everywhere(test_path, false);
}

struct rel_arg {
    pid_t pid;
    const char *rel;
};

static void expect_rel_line(const char *name, void *arg)
{
    struct rel_arg *a = arg;
    char *dir = dir_in(name, a->rel);
    char *procs = fx_fmt("%s/cgroup.procs", dir);
    char *text = slurp_path(strdup(procs));
    char *spid = fx_fmt("%d", (int)a->pid);
    cr_expect(strstr(text, spid), "%s does not list %s", procs, spid);
    free(dir);
    free(procs);
    free(text);
    free(spid);
}

Test(cgroup_v1, relative_and_unset_paths_go_under_our_own_cgroups)
{
    require_v1_root();
    char *rel = fx_fmt("mdrun-cg1rel-%d/ctr", (int)getpid());
    char *top = fx_fmt("mdrun-cg1rel-%d", (int)getpid());
    remember(top);
    struct md_cgroup *cg = make_at(rel, NULL);
    struct kid k = spawn_in(cg, sleeper, NULL);
    kid_wait_ready(&k);
    struct rel_arg a = {k.pid, rel};
    each_hierarchy(expect_rel_line, &a);
    destroy(cg);
    kid_wait(&k);
    expect_everywhere(rel, false);

    /* Unset: the id, under our own cgroups, as runc does. */
    char *id = fx_fmt("mdrun-cg1id-%d", (int)getpid());
    remember(id);
    struct md_cgroup_request req = {.id = id};
    md_error err = {0};
    cr_assert_eq(md_cgroup_create(&req, &cg, &err), 0, "%s", err.msg);
    expect_everywhere(id, true);
    destroy(cg);
    expect_everywhere(id, false);
    free(rel);
    free(top);
    free(id);
}

Test(cgroup_v1, cpuset_levels_get_their_parents_cpus_and_mems)
{
    require_v1_root();
    char *nested = fx_fmt("%s/a/b", test_path);
    struct md_cgroup *cg = make_at(nested, NULL);
    char *root_cpus = slurp_path(fx_fmt("%s/%s", CG "/cpuset", "cpuset.cpus"));
    char *mid = fx_fmt(CG "/cpuset%s/a", test_path);
    char *leaf = fx_fmt(CG "/cpuset%s", nested);
    char *mid_cpus = slurp_path(fx_fmt("%s/%s", mid, "cpuset.cpus"));
    char *leaf_cpus = slurp_path(fx_fmt("%s/%s", leaf, "cpuset.cpus"));
    char *leaf_mems = slurp_path(fx_fmt("%s/%s", leaf, "cpuset.mems"));
    cr_expect_str_eq(mid_cpus, root_cpus);
    cr_expect_str_eq(leaf_cpus, root_cpus);
    cr_expect_neq(leaf_mems[0], '\0');
    struct kid k = spawn_in(cg, sleeper, NULL); /* the kernel would refuse it otherwise */
    kid_wait_ready(&k);
    destroy(cg);
    kid_wait(&k);
    free(nested);
    free(root_cpus);
    free(mid);
    free(leaf);
    free(mid_cpus);
    free(leaf_cpus);
    free(leaf_mems);
}

static int counter(void *arg)
{
    volatile unsigned long *n = arg;
    kid_ready();
    for (;;) {
        (*n)++;
        usleep(1000);
    }
    return 0;
}

Test(cgroup_v1, freeze_stops_the_processes_and_thaw_resumes_them)
{
    require_v1_root();
    volatile unsigned long *n =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq((void *)n, MAP_FAILED);
    struct md_cgroup *cg = make(NULL);
    struct kid k = spawn_in(cg, counter, (void *)n);
    kid_wait_ready(&k);
    md_error err = {0};
    cr_assert_eq(md_cgroup_freeze(cg, true, &err), 0, "%s", err.msg);
    cr_expect(md_cgroup_is_frozen(cg));
    expect_file("freezer", "freezer.state", "FROZEN");
    unsigned long before = *n;
    usleep(200000);
    cr_expect_eq(*n, before, "the process ran while frozen");
    cr_assert_eq(md_cgroup_freeze(cg, false, &err), 0, "%s", err.msg);
    cr_expect_not(md_cgroup_is_frozen(cg));
    usleep(200000);
    cr_expect_gt(*n, before, "the process did not resume");
    destroy(cg);
    kid_wait(&k);
    munmap((void *)n, 4096);
}

static int parent_of_two(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        if (fork() == 0)
            sleep_forever();
    }
    kid_ready();
    sleep_forever();
}

static void signal_all_kills(int sig)
{
    struct md_cgroup *cg = make(NULL);
    struct kid k = spawn_in(cg, parent_of_two, NULL);
    kid_wait_ready(&k);
    pid_t *pids;
    size_t n;
    md_error err = {0};
    cr_assert_eq(md_cgroup_pids(cg, &pids, &n, &err), 0);
    cr_expect_eq(n, 3, "the child and its two children");
    free(pids);
    cr_assert_eq(md_cgroup_signal_all(cg, sig, &err), 0, "%s", err.msg);
    cr_expect_eq(kid_wait(&k), 128 + sig);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(md_cgroup_pids(cg, &pids, &n, &err), 0);
        free(pids);
        if (n == 0)
            break;
        usleep(10000);
    }
    cr_expect_eq(n, 0, "processes left after kill --all");
    cr_expect_not(md_cgroup_is_frozen(cg), "left frozen");
    destroy(cg);
}

Test(cgroup_v1, signal_all_sigkill)
{
    require_v1_root();
    signal_all_kills(SIGKILL);
}

Test(cgroup_v1, signal_all_sigterm_through_the_freezer)
{
    require_v1_root();
    signal_all_kills(SIGTERM);
}

static int allocator(void *arg)
{
    size_t size = (size_t)arg;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 3;
    for (size_t i = 0; i < size; i += 4096)
        p[i] = 1;
    kid_ready();
    for (volatile unsigned long i = 0; i < 50000000UL; i++)
        ; /* some CPU time to account */
    sleep_forever();
}

Test(cgroup_v1, stats_count_memory_cpu_and_pids)
{
    require_v1_root();
    md_memory mem = {.has_limit = true, .limit = 256 << 20};
    md_pids pids = {.has_limit = true, .limit = 50};
    md_resources res = {.memory = &mem, .pids = &pids};
    struct md_cgroup *cg = make(&res);
    struct kid k = spawn_in(cg, allocator, (void *)(size_t)(32 << 20));
    kid_wait_ready(&k);
    usleep(300000);
    struct md_cgroup_stats st;
    md_error err = {0};
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "%s", err.msg);
    cr_expect_geq(st.memory_usage, 32u << 20, "usage %lu", (unsigned long)st.memory_usage);
    cr_expect_geq(st.memory_max_usage, st.memory_usage);
    cr_expect_eq(st.memory_limit, 256u << 20);
    cr_expect_gt(st.cpu_usage_ns, 0);
    cr_expect_gt(st.cpu_user_ns + st.cpu_system_ns, 0);
    cr_expect_eq(st.pids_current, 1);
    cr_expect_eq(st.pids_limit, 50);
    cr_expect_eq(st.oom_kills, 0);
    destroy(cg);
    kid_wait(&k);
}

Test(cgroup_v1, a_low_memory_limit_oom_kills_and_is_reported)
{
    require_v1_root();
    md_memory mem = {.has_limit = true, .limit = 16 << 20};
    if (access(CG "/memory/memory.memsw.limit_in_bytes", F_OK) == 0) {
        mem.has_swap = true; /* no swap to escape to */
        mem.swap = 16 << 20;
    }
    md_resources res = {.memory = &mem};
    struct md_cgroup *cg = make(&res);
    md_error err = {0};
    int efd = md_cgroup_oom_fd(cg, &err);
    cr_assert_geq(efd, 0, "%s", err.msg);
    struct kid k = spawn_in(cg, allocator, (void *)(size_t)(128 << 20));
    cr_expect_eq(kid_wait(&k), 128 + SIGKILL, "the allocator was not OOM-killed");
    struct pollfd p = {efd, POLLIN, 0};
    cr_expect_eq(poll(&p, 1, 5000), 1, "the OOM fd did not become readable");
    uint64_t count = 0;
    cr_expect_eq(read(efd, &count, sizeof(count)), (ssize_t)sizeof(count));
    cr_expect_geq(count, 1);
    struct md_cgroup_stats st;
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "%s", err.msg);
    cr_expect_geq(st.oom_kills, 1);
    close(efd);
    destroy(cg);
}

static int fork_bomb(void *arg)
{
    (void)arg;
    int made_ok = 0;
    for (int i = 0; i < 64; i++) {
        pid_t pid = fork();
        if (pid == 0)
            sleep_forever();
        if (pid < 0)
            return errno == EAGAIN ? made_ok : 100 + made_ok;
        made_ok++;
    }
    return 99; /* never stopped */
}

Test(cgroup_v1, pids_max_stops_a_fork_bomb)
{
    require_v1_root();
    md_pids pids = {.has_limit = true, .limit = 5};
    md_resources res = {.pids = &pids};
    struct md_cgroup *cg = make(&res);
    struct kid k = spawn_in(cg, fork_bomb, NULL);
    /* The bomb itself is one of the 5. */
    cr_expect_eq(kid_wait(&k), 4, "forks before EAGAIN (99: never stopped, 10x: other error)");
    destroy(cg);
}

static int open_devices(void *arg)
{
    (void)arg;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return 1;
    close(fd);
    fd = open("/dev/kmsg", O_RDONLY);
    if (fd >= 0)
        return 2;
    return errno == EPERM ? 0 : 3;
}

Test(cgroup_v1, devices_deny_all_keeps_the_default_devices_only)
{
    require_v1_root();
    md_device_rule rules[] = {{.allow = false, .access = (char *)"rwm"}};
    md_resources res = {.devices = rules, .n_devices = 1};
    struct md_cgroup *cg = make(&res);
    char *list = cgfile("devices", "devices.list");
    cr_expect(strstr(list, "c 1:3 rwm"), "devices.list: %s", list);
    cr_expect_not(strstr(list, "a *:*"), "devices.list: %s", list);
    free(list);
    struct kid k = spawn_in(cg, open_devices, NULL);
    cr_expect_eq(kid_wait(&k), 0, "1: /dev/null refused, 2: /dev/kmsg opened, 3: not EPERM");
    destroy(cg);
}

static int open_kmsg(void *arg)
{
    (void)arg;
    int fd = open("/dev/kmsg", O_RDONLY);
    if (fd < 0)
        return 1;
    close(fd);
    return open("/dev/kmsg", O_WRONLY) < 0 && errno == EPERM ? 0 : 2;
}

/* A rule for /dev/kmsg (c 1:11). */
static md_device_rule kmsg_rule(bool allow, const char *access)
{
    return (md_device_rule){.allow = allow,
                            .type = (char *)"c",
                            .has_major = true,
                            .major = 1,
                            .has_minor = true,
                            .minor = 11,
                            .access = (char *)access};
}

/* Under rules, a process may read /dev/kmsg but not write it. */
static void expect_kmsg_read_only(md_device_rule *rules, size_t n)
{
    md_resources res = {.devices = rules, .n_devices = n};
    struct md_cgroup *cg = make(&res);
    struct kid k = spawn_in(cg, open_kmsg, NULL);
    cr_expect_eq(kid_wait(&k), 0, "1: read refused, 2: write allowed");
    destroy(cg);
}

Test(cgroup_v1, device_rules_apply_in_order)
{
    require_v1_root();
    md_device_rule rules[] = {
        {.allow = false, .access = (char *)"rwm"},
        kmsg_rule(true, "rw"),
        kmsg_rule(false, "w"),
    };
    expect_kmsg_read_only(rules, 3);
}

Test(cgroup_v1, device_rules_start_from_deny_all)
{
    require_v1_root();
    md_device_rule rules[] = {kmsg_rule(true, "r")};
    expect_kmsg_read_only(rules, 1);
}

Test(cgroup_v1, no_device_rules_leave_devices_alone)
{
    require_v1_root();
    struct md_cgroup *cg = make(NULL);
    expect_file("devices", "devices.list", "a *:* rwm");
    destroy(cg);
}

/* ---------------------------------------------------------- the record */

Test(cgroup_v1, the_record_reopens_the_same_cgroup)
{
    require_v1_root();
    char *rel = fx_fmt("mdrun-cg1rec-%d", (int)getpid());
    remember(rel);
    struct md_cgroup *cg = make_at(rel, NULL);
    md_state_record rec = {0};
    md_error err = {0};
    cr_assert_eq(md_cgroup_record(cg, &rec, &err), 0);
    cr_expect_str_eq(rec.cgroup_manager, "cgroupfs");
    cr_expect_not(rec.systemd_cgroup);
    cr_expect_gt(rec.n_cgroup_paths, 1);
    char *own_mem = own_in("memory");
    char *want_mem = fx_fmt("%s/%s", strcmp(own_mem, "/") ? own_mem : "", rel);
    cr_expect_str_eq(md_kv_get(rec.cgroup_paths, rec.n_cgroup_paths, "memory"), want_mem);
    struct kid k = spawn_in(cg, sleeper, NULL);
    kid_wait_ready(&k);
    md_cgroup_free(cg);

    struct md_cgroup *again = NULL;
    cr_assert_eq(md_cgroup_open(&rec, &again, &err), 0, "%s", err.msg);
    cr_assert_not_null(again);
    cr_expect(has_pid(again, k.pid));
    cr_expect_eq(md_cgroup_clone_fd(again), -1, "v1: moved, not born into it");
    destroy(again);
    cr_expect_eq(kid_wait(&k), 128 + SIGKILL);
    expect_everywhere(rel, false);
    md_state_record_free(&rec);
    free(rel);
    free(own_mem);
    free(want_mem);
}

/* ------------------------------------------------------------- rootless */

/* In a child running as the test user: 0 when both expectations hold. */
static int as_user(uid_t uid, gid_t gid, const char *path, int report)
{
    if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return 10;
    struct md_cgroup_request req = {.id = "x", .cgroups_path = path, .rootless = true};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    /* Device rules are not limits: a rootless default config runs. */
    md_device_rule deny = {.allow = false, .access = (char *)"rwm"};
    md_resources devices = {.devices = &deny, .n_devices = 1};
    req.resources = &devices;
    if (md_cgroup_create(&req, &cg, &err) < 0 || cg)
        return 11;
    md_memory mem = {.has_limit = true, .limit = 1 << 24};
    md_resources res = {.memory = &mem};
    req.resources = &res;
    if (md_cgroup_check(&req, &err) == 0 || err.errnum != EPERM)
        return 12;
    dprintf(report, "%s", err.msg);
    if (md_cgroup_create(&req, &cg, &err) == 0)
        return 13;
    return 0;
}

Test(cgroup_v1, rootless_runs_without_a_cgroup_or_says_how_to_get_one)
{
    require_v1_root();
    struct passwd *pw = getpwnam(HX_TEST_USER);
    if (!pw)
        hx_skip("no user %s", HX_TEST_USER);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(as_user(pw->pw_uid, pw->pw_gid, test_path, p[1]));
    }
    close(p[1]);
    char msg[2048] = "";
    ssize_t n = read(p[0], msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "as %s: status %d (11: got a cgroup, 12: check passed, 13: create passed)",
              HX_TEST_USER, WEXITSTATUS(status));
    cr_expect(strstr(msg, "Delegate=yes") && strstr(msg, "as root"), "message: %s", msg);
    expect_everywhere(test_path, false);
}
