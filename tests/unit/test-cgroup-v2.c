/* test-cgroup-v2.c - the cgroup v2 (cgroupfs) driver against a real
 * unified hierarchy: the files it writes, and what the kernel then does to
 * processes in the cgroup (OOM kills, fork limits, throttling, freezing,
 * device denial).  It needs root on a pure cgroup v2 host and skips
 * elsewhere; tests/vm/check.sh (make check) runs it in a guest VM on other
 * hosts. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-bpf.h"
#include "cgroup-internal.h"
#include "error.h"
#include "spec.h"

/* ------------------------------------------------------------ helpers */

static char parent[64]; /* this test's parent cgroup, "/mdrun-test-PID" */

static void setup(void)
{
    if (md_cgroup_layout() != MD_CG_V2)
        cr_skip_test("needs a pure cgroup v2 host; make check runs it in a guest VM "
                     "(tests/vm/check.sh)");
    if (geteuid() != 0)
        cr_skip_test("needs root");
    snprintf(parent, sizeof(parent), "/mdrun-test-%d", (int)getpid());
}

static void teardown(void)
{
    if (!parent[0])
        return;
    int root = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    md_error err = {0};
    md_cg_rmdirs(root, parent, &err);
    md_error_clear(&err);
    close(root);
}

TestSuite(cgroup_v2, .init = setup, .fini = teardown, .timeout = 120);

static md_resources *res(const char *json)
{
    md_resources *r = NULL;
    md_errors problems = {0};
    int rc = md_resources_load_string(json, strlen(json), "test", &r, &problems);
    cr_assert_eq(rc, 0, "%s", problems.n ? problems.msgs[0] : "?");
    md_errors_clear(&problems);
    return r;
}

static char *cg_path(const char *name)
{
    static char path[128];
    snprintf(path, sizeof(path), "%s/%s", parent, name);
    return path;
}

static int create_err(const char *name, const md_resources *r, struct md_cgroup **cg, md_error *err)
{
    struct md_cgroup_request req = {
        .id = name, .cgroups_path = cg_path(name), .resources = r, .manager = MD_CGM_CGROUPFS};
    return md_cgroup_create(&req, cg, err);
}

static struct md_cgroup *create(const char *name, const char *json)
{
    md_resources *r = json ? res(json) : NULL;
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_assert_eq(create_err(name, r, &cg, &err), 0, "%s", err.msg);
    md_resources_free(r);
    cr_assert(cg && cg->v2_fd >= 0);
    cr_assert_str_eq(cg->path, cg_path(name));
    return cg;
}

static void destroy(struct md_cgroup *cg)
{
    md_error err = {0};
    cr_assert_eq(md_cgroup_destroy(cg, &err), 0, "%s", err.msg);
    md_cgroup_free(cg);
}

/* A cgroup file of dirfd ("" when missing); a few calls' results live at
 * once. */
static const char *get_at(int dirfd, const char *file)
{
    static char bufs[8][4096];
    static int next;
    char *buf = bufs[next++ % 8];
    md_error err = {0};
    if (md_cg_read(dirfd, file, buf, sizeof(bufs[0]), &err) < 0)
        buf[0] = '\0';
    md_error_clear(&err);
    return buf;
}

static const char *get(struct md_cgroup *cg, const char *file)
{
    return get_at(cg->v2_fd, file);
}

static bool has(struct md_cgroup *cg, const char *file)
{
    return faccessat(cg->v2_fd, file, F_OK, 0) == 0;
}

/* The number after key in a flat keyed file. */
static uint64_t keyed(struct md_cgroup *cg, const char *file, const char *key)
{
    const char *text = get(cg, file);
    size_t len = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l += !!l)
        if (!strncmp(l, key, len) && l[len] == ' ')
            return strtoull(l + len + 1, NULL, 10);
    return UINT64_MAX;
}

static bool in_words(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/* A child that runs fn once the parent has put it in the cgroup. */
static pid_t spawn_in(struct md_cgroup *cg, int (*fn)(void *), void *arg)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        char c;
        if (read(p[0], &c, 1) != 1)
            _exit(100);
        _exit(fn(arg));
    }
    close(p[0]);
    md_error err = {0};
    cr_assert_eq(md_cgroup_enter(cg, pid, &err), 0, "%s", err.msg);
    cr_assert_eq(write(p[1], "x", 1), 1);
    close(p[1]);
    return pid;
}

/* The wait status of pid, failing the test if it takes over secs. */
static int reap(pid_t pid, int secs)
{
    int status;
    for (int i = 0; i < secs * 20; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        cr_assert(r >= 0, "waitpid: %s", strerror(errno));
        if (r == pid)
            return status;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    cr_assert_fail("process %d still runs after %d s", (int)pid, secs);
    return -1;
}

static bool alive(pid_t pid)
{
    int status;
    return waitpid(pid, &status, WNOHANG) == 0;
}

static int sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

/* Two processes: this one and a child it forks. */
static int sleeper_pair(void *arg)
{
    (void)arg;
    if (fork() == 0)
        sleeper(NULL);
    sleeper(NULL);
    return 0;
}

/* Allocate and touch size bytes (through a volatile pointer, so that the
 * compiler cannot drop stores to memory nobody reads). */
static bool touch(size_t size)
{
    volatile char *p = malloc(size);
    if (!p)
        return false;
    for (size_t i = 0; i < size; i += 4096)
        p[i] = 1;
    return true;
}

static volatile uint64_t *shared_counter(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(p != MAP_FAILED);
    return p;
}

static int counting(void *arg)
{
    volatile uint64_t *counter = arg;
    for (;;)
        (*counter)++;
    return 0;
}

static uint64_t wait_count_above(volatile uint64_t *counter, uint64_t above)
{
    for (int i = 0; i < 200 && *counter <= above; i++)
        usleep(20000);
    return *counter;
}

/* --------------------------------------------------- files and errors */

Test(cgroup_v2, create_writes_the_resources)
{
    struct md_cgroup *cg = create(
        "files", "{\"memory\":{\"limit\":67108864,\"reservation\":16777216,\"swap\":100663296},"
                 "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"burst\":1000,"
                 "\"cpus\":\"0\",\"mems\":\"0\"},"
                 "\"pids\":{\"limit\":64},\"blockIO\":{\"weight\":500},"
                 "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
                 "\"unified\":{\"memory.high\":\"50331648\"}}");
    cr_expect_str_eq(get(cg, "memory.max"), "67108864");
    cr_expect_str_eq(get(cg, "memory.low"), "16777216");
    if (has(cg, "memory.swap.max"))
        cr_expect_str_eq(get(cg, "memory.swap.max"), "33554432", "swap is memory+swap");
    cr_expect_str_eq(get(cg, "memory.high"), "50331648");
    char weight[32];
    snprintf(weight, sizeof(weight), "%" PRIu64, md_cgroup_shares_to_weight(1024));
    cr_expect_str_eq(get(cg, "cpu.weight"), weight);
    cr_expect_str_eq(get(cg, "cpu.max"), "50000 100000");
    cr_expect_str_eq(get(cg, "cpu.max.burst"), "1000");
    cr_expect_str_eq(get(cg, "cpuset.cpus"), "0");
    cr_expect_str_eq(get(cg, "cpuset.mems"), "0");
    cr_expect_str_eq(get(cg, "pids.max"), "64");
    char io[32];
    snprintf(io, sizeof(io), "default %" PRIu64, md_cgroup_blkio_to_io_weight(500));
    if (has(cg, "io.weight"))
        cr_expect_str_eq(get(cg, "io.weight"), io);
    else
        cr_expect_str_eq(get(cg, "io.bfq.weight"), "default 500");
    cr_expect_str_eq(get(cg, "hugetlb.2MB.max"), "4194304");
    if (has(cg, "hugetlb.2MB.rsvd.max"))
        cr_expect_str_eq(get(cg, "hugetlb.2MB.rsvd.max"), "4194304");

    /* The controllers are enabled above the leaf, and not in it. */
    int parent_fd = openat(cg->v2_fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char *above = get_at(parent_fd, "cgroup.subtree_control");
    const char *wanted[] = {"cpu", "cpuset", "memory", "pids", "io", "hugetlb"};
    for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
        cr_expect(in_words(above, wanted[i]), "%s not enabled in the parent: \"%s\"", wanted[i],
                  above);
    cr_expect_str_eq(get(cg, "cgroup.subtree_control"), "", "the leaf stays a leaf");
    close(parent_fd);
    destroy(cg);
}

static bool virtio_disk(unsigned *maj, unsigned *min)
{
    struct stat st;
    if (stat("/dev/vda", &st) < 0 || !S_ISBLK(st.st_mode))
        return false;
    *maj = major(st.st_rdev);
    *min = minor(st.st_rdev);
    return true;
}

Test(cgroup_v2, throttles_into_io_max)
{
    unsigned maj, min;
    if (!virtio_disk(&maj, &min))
        cr_skip_test("no /dev/vda to throttle (the guest VM has one)");
    char json[512];
    snprintf(
        json, sizeof(json),
        "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,\"rate\":1048576}],"
        "\"throttleWriteIOPSDevice\":[{\"major\":%u,\"minor\":%u,\"rate\":100}]}}",
        maj, min, maj, min);
    struct md_cgroup *cg = create("io", json);
    char want[128];
    snprintf(want, sizeof(want), "%u:%u rbps=1048576 wbps=max riops=max wiops=100", maj, min);
    cr_expect_str_eq(get(cg, "io.max"), want);

    /* A rate of 0 lifts the limit, as blkio's files take it. */
    snprintf(json, sizeof(json),
             "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,\"rate\":0}]}}",
             maj, min);
    md_resources *r = res(json);
    md_error err = {0};
    cr_assert_eq(md_cgroup_apply(cg, r, &err), 0, "%s", err.msg);
    snprintf(want, sizeof(want), "%u:%u rbps=max wbps=max riops=max wiops=100", maj, min);
    cr_expect_str_eq(get(cg, "io.max"), want);
    md_resources_free(r);
    destroy(cg);
}

Test(cgroup_v2, per_device_weight_needs_io_cost)
{
    unsigned maj, min;
    int root = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!virtio_disk(&maj, &min) || faccessat(root, "io.cost.qos", F_OK, 0) < 0)
        cr_skip_test("needs /dev/vda and io.cost (the guest VM has both)");
    char json[256], qos[64], want[64];
    snprintf(json, sizeof(json),
             "{\"blockIO\":{\"weightDevice\":[{\"major\":%u,\"minor\":%u,\"weight\":200}]}}", maj,
             min);
    md_resources *r = res(json);
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_expect_eq(create_err("weight", r, &cg, &err), -1, "a weight io.cost does not apply");
    cr_expect(err.msg && strstr(err.msg, "io.cost"), "%s", err.msg);
    md_error_clear(&err);

    snprintf(qos, sizeof(qos), "%u:%u enable=1", maj, min);
    cr_assert_eq(md_cg_write(root, "io.cost.qos", qos, &err), 0, "%s", err.msg);
    int rc = create_err("weight", r, &cg, &err);
    snprintf(qos, sizeof(qos), "%u:%u enable=0", maj, min);
    md_cg_write(root, "io.cost.qos", qos, &err);
    md_error_clear(&err);
    cr_assert_eq(rc, 0, "with io.cost enabled: %s", err.msg);
    snprintf(want, sizeof(want), "%u:%u %" PRIu64, maj, min, md_cgroup_blkio_to_io_weight(200));
    cr_expect(strstr(get(cg, "io.weight"), want), "io.weight: %s", get(cg, "io.weight"));
    md_resources_free(r);
    destroy(cg);
    close(root);
}

Test(cgroup_v2, refused_before_anything_is_made)
{
    struct {
        const char *json, *says;
    } cases[] = {
        {"{\"unified\":{\"nosuch.max\":\"1\"}}", "nosuch"},
        {"{\"cpu\":{\"realtimeRuntime\":1000}}", "real-time"},
        {"{\"memory\":{\"swap\":1048576}}", "needs a memory limit"},
        {"{\"hugepageLimits\":[{\"pageSize\":\"64GB\",\"limit\":1}]}", "64GB"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        md_resources *r = res(cases[i].json);
        struct md_cgroup *cg = NULL;
        md_error err = {0};
        cr_expect_eq(create_err("refused", r, &cg, &err), -1, "%s accepted", cases[i].json);
        cr_expect(err.msg && strstr(err.msg, cases[i].says), "%s: %s", cases[i].json, err.msg);
        char dir[160];
        snprintf(dir, sizeof(dir), "%s%s", MD_CGROUP_ROOT, cg_path("refused"));
        cr_expect(access(dir, F_OK) < 0, "%s: %s was left behind", cases[i].json, dir);
        md_error_clear(&err);
        md_resources_free(r);
    }
}

Test(cgroup_v2, missing_controller_is_named)
{
    /* A parent that does not pass rdma down (nobody enables it above). */
    int root = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (in_words(get_at(root, "cgroup.subtree_control"), "rdma"))
        cr_skip_test("rdma is enabled at the root already");
    md_error err = {0};
    int dir = md_cg_mkdirs(root, parent, &err);
    cr_assert(dir >= 0, "%s", err.msg);
    md_resources *r = res("{\"rdma\":{\"mlx5_0\":{\"hcaHandles\":3}}}");
    cr_expect_eq(md_cg_v2_enable(dir, "leaf", r, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "rdma controller is not available"), "%s", err.msg);
    md_error_clear(&err);
    md_resources_free(r);
    close(dir);
    close(root);
}

Test(cgroup_v2, no_controller_above_a_cgroup_with_processes)
{
    /* The parent holds a process: the kernel refuses to enable controllers
     * for its children (no internal processes). */
    int root = open(MD_CGROUP_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    md_error err = {0};
    int dir = md_cg_mkdirs(root, parent, &err);
    cr_assert(dir >= 0, "%s", err.msg);
    pid_t pid = fork();
    if (pid == 0)
        sleeper(NULL);
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    cr_assert_eq(md_cg_write(dir, "cgroup.procs", buf, &err), 0, "%s", err.msg);
    char path[96];
    snprintf(path, sizeof(path), "%s/leaf", parent);
    /* memory: a domain controller (threaded ones like pids are allowed). */
    md_resources *r = res("{\"memory\":{\"limit\":33554432}}");
    cr_expect_eq(md_cg_v2_enable(root, path, r, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "memory controller") && strstr(err.msg, "processes"), "%s",
              err.msg);
    md_error_clear(&err);
    kill(pid, SIGKILL);
    reap(pid, 10);
    md_resources_free(r);
    close(dir);
    close(root);
}

Test(cgroup_v2, delegated_to_the_container_root)
{
    struct md_cgroup_request req = {.id = "owned",
                                    .cgroups_path = cg_path("owned"),
                                    .manager = MD_CGM_CGROUPFS,
                                    .cgroup_ns = true,
                                    .writable_mount = true,
                                    .root_uid = 12345,
                                    .root_gid = 23456};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_assert_eq(md_cgroup_create(&req, &cg, &err), 0, "%s", err.msg);
    struct stat st;
    cr_assert_eq(fstat(cg->v2_fd, &st), 0);
    cr_expect(st.st_uid == 12345 && st.st_gid == 23456, "the directory is %u:%u", st.st_uid,
              st.st_gid);
    cr_assert_eq(fstatat(cg->v2_fd, "cgroup.procs", &st, 0), 0);
    cr_expect_eq(st.st_uid, 12345, "cgroup.procs is delegated");
    cr_assert_eq(fstatat(cg->v2_fd, "memory.max", &st, 0), 0);
    cr_expect_eq(st.st_uid, 0, "memory.max is the runtime's, not the container's");
    destroy(cg);

    req.writable_mount = false; /* a read-only cgroup mount: no delegation */
    cr_assert_eq(md_cgroup_create(&req, &cg, &err), 0, "%s", err.msg);
    cr_assert_eq(fstat(cg->v2_fd, &st), 0);
    cr_expect_eq(st.st_uid, 0);
    destroy(cg);
}

Test(cgroup_v2, unified_key_of_a_disabled_controller)
{
    struct md_cgroup *cg = create("unified", NULL);
    md_resources *r = res("{\"unified\":{\"rdma.max\":\"mlx5_0 hca_handle=1\"}}");
    md_error err = {0};
    /* Straight to the files, as the systemd driver does for its leaf:
     * nothing enables rdma on the way. */
    cr_assert(!in_words(get(cg, "cgroup.controllers"), "rdma"), "rdma is enabled above");
    cr_expect_eq(md_cg_v2_apply(cg->v2_fd, r, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "rdma.max") && strstr(err.msg, "not enabled"), "%s",
              err.msg);
    md_error_clear(&err);
    md_resources_free(r);
    destroy(cg);
}

Test(cgroup_v2, update_changes_limits)
{
    struct md_cgroup *cg =
        create("update", "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":5}}");
    md_resources *r = res("{\"memory\":{\"limit\":33554432},\"pids\":{\"limit\":-1},"
                          "\"cpu\":{\"period\":50000}}");
    md_error err = {0};
    cr_assert_eq(md_cgroup_apply(cg, r, &err), 0, "%s", err.msg);
    cr_expect_str_eq(get(cg, "memory.max"), "33554432");
    cr_expect_str_eq(get(cg, "pids.max"), "max");
    cr_expect_str_eq(get(cg, "cpu.max"), "max 50000", "a new period keeps the quota");
    md_resources_free(r);

    if (has(cg, "memory.swap.max")) {
        r = res("{\"memory\":{\"swap\":67108864}}");
        cr_assert_eq(md_cgroup_apply(cg, r, &err), 0, "%s", err.msg);
        cr_expect_str_eq(get(cg, "memory.swap.max"), "33554432", "from the limit in place");
        md_resources_free(r);
    }
    destroy(cg);
}

static int touch_16m(void *arg)
{
    (void)arg;
    if (!touch(16 << 20))
        return 1;
    sleeper(NULL);
    return 0;
}

Test(cgroup_v2, check_before_update_refuses_a_limit_below_usage)
{
    struct md_cgroup *cg = create("check", "{\"memory\":{\"limit\":134217728}}");
    pid_t pid = spawn_in(cg, touch_16m, NULL);
    for (int i = 0; i < 200 && strtoull(get(cg, "memory.current"), NULL, 10) < (16 << 20); i++)
        usleep(20000);
    md_resources *r = res("{\"memory\":{\"limit\":8388608,\"checkBeforeUpdate\":true}}");
    md_error err = {0};
    cr_expect_eq(md_cgroup_apply(cg, r, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "below the current usage"), "%s", err.msg);
    md_error_clear(&err);
    cr_expect_str_eq(get(cg, "memory.max"), "134217728");
    cr_expect(alive(pid));
    md_resources_free(r);
    destroy(cg);
    cr_expect(WIFSIGNALED(reap(pid, 10)));
}

/* --------------------------------------------------------- processes */

Test(cgroup_v2, enter_and_pids)
{
    struct md_cgroup *cg = create("pids", NULL);
    pid_t pid = spawn_in(cg, sleeper_pair, NULL);
    pid_t *pids = NULL;
    size_t n = 0;
    md_error err = {0};
    for (int i = 0; i < 100 && n < 2; i++) {
        free(pids);
        cr_assert_eq(md_cgroup_pids(cg, &pids, &n, &err), 0, "%s", err.msg);
        if (n < 2)
            usleep(20000);
    }
    cr_expect_eq(n, 2, "the process and its child");
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= pids[i] == pid;
    cr_expect(found);
    free(pids);

    char file[64], want[160];
    snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(file, "r");
    cr_assert(f);
    char line[256] = "";
    cr_assert(fgets(line, sizeof(line), f));
    fclose(f);
    snprintf(want, sizeof(want), "0::%s\n", cg->path);
    cr_expect_str_eq(line, want);
    destroy(cg);
    cr_expect(WIFSIGNALED(reap(pid, 10)));
}

/* clone3's arguments, up to the cgroup field (kernel 5.7). */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

Test(cgroup_v2, born_into_the_cgroup_with_clone3)
{
    struct md_cgroup *cg = create("clone3", NULL);
    int fd = md_cgroup_clone_fd(cg);
    cr_assert(fd >= 0);
    struct clone_args_v2 args = {
        .flags = CLONE_INTO_CGROUP_FLAG, .exit_signal = SIGCHLD, .cgroup = (uint64_t)fd};
    char want[160];
    snprintf(want, sizeof(want), "0::%s\n", cg->path);
    long pid = syscall(SYS_clone3, &args, sizeof(args));
    cr_assert(pid >= 0, "clone3: %s", strerror(errno));
    if (pid == 0) {
        char line[256] = "";
        FILE *f = fopen("/proc/self/cgroup", "r");
        _exit(f && fgets(line, sizeof(line), f) && !strcmp(line, want) ? 0 : 1);
    }
    int status = reap((pid_t)pid, 10);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child started elsewhere");
    destroy(cg);
}

Test(cgroup_v2, freeze_stops_and_thaw_resumes)
{
    struct md_cgroup *cg = create("freeze", NULL);
    volatile uint64_t *counter = shared_counter();
    pid_t pid = spawn_in(cg, counting, (void *)counter);
    cr_assert(wait_count_above(counter, 0) > 0, "the child never ran");
    md_error err = {0};
    cr_assert_eq(md_cgroup_freeze(cg, true, &err), 0, "%s", err.msg);
    cr_expect(md_cgroup_is_frozen(cg));
    cr_expect(strstr(get(cg, "cgroup.events"), "frozen 1"));
    uint64_t before = *counter;
    usleep(300000);
    cr_expect_eq(*counter, before, "a frozen process made progress");

    cr_assert_eq(md_cgroup_freeze(cg, false, &err), 0, "%s", err.msg);
    cr_expect(!md_cgroup_is_frozen(cg));
    cr_expect(wait_count_above(counter, before) > before, "no progress after thaw");
    destroy(cg);
    cr_expect(WIFSIGNALED(reap(pid, 10)));
}

Test(cgroup_v2, kill_all_with_cgroup_kill)
{
    struct md_cgroup *cg = create("killall", NULL);
    pid_t a = spawn_in(cg, sleeper_pair, NULL);
    pid_t b = spawn_in(cg, sleeper, NULL);
    md_error err = {0};
    cr_assert_eq(md_cgroup_signal_all(cg, SIGKILL, &err), 0, "%s", err.msg);
    int sa = reap(a, 10), sb = reap(b, 10);
    cr_expect(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGKILL);
    cr_expect(WIFSIGNALED(sb) && WTERMSIG(sb) == SIGKILL);
    for (int i = 0; i < 100 && !strstr(get(cg, "cgroup.events"), "populated 0"); i++)
        usleep(20000);
    cr_expect(strstr(get(cg, "cgroup.events"), "populated 0"), "the grandchild is left");
    destroy(cg);
}

static void exit_42(int sig)
{
    (void)sig;
    _exit(42);
}

/* SIGTERM handled (exit 42), so that it is no fatal signal, which the
 * kernel delivers even to a frozen process. */
static int handles_term(void *arg)
{
    (void)arg;
    signal(SIGTERM, exit_42);
    sleeper(NULL);
    return 0;
}

Test(cgroup_v2, other_signals_keep_a_pause)
{
    struct md_cgroup *cg = create("term", NULL);
    pid_t pid = spawn_in(cg, handles_term, NULL);
    usleep(200000); /* let it install the handler */
    md_error err = {0};
    cr_assert_eq(md_cgroup_signal_all(cg, SIGTERM, &err), 0, "%s", err.msg);
    int status = reap(pid, 10);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status %#x", status);
    cr_expect(!md_cgroup_is_frozen(cg), "left frozen after signalling");

    pid = spawn_in(cg, handles_term, NULL);
    usleep(200000);
    cr_assert_eq(md_cgroup_freeze(cg, true, &err), 0, "%s", err.msg);
    cr_assert_eq(md_cgroup_signal_all(cg, SIGTERM, &err), 0, "%s", err.msg);
    cr_expect(md_cgroup_is_frozen(cg), "a paused container was thawed");
    usleep(200000);
    cr_expect(alive(pid), "a frozen process handled a signal");
    cr_assert_eq(md_cgroup_freeze(cg, false, &err), 0, "%s", err.msg);
    status = reap(pid, 10);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status %#x", status);
    destroy(cg);
}

static int busy_then_sleep(void *arg)
{
    long ms = (long)(intptr_t)arg;
    if (!touch(8 << 20))
        return 1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
    sleeper(NULL);
    return 0;
}

Test(cgroup_v2, stats)
{
    struct md_cgroup *cg =
        create("stats", "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":32}}");
    pid_t pid = spawn_in(cg, busy_then_sleep, (void *)(intptr_t)300);
    for (int i = 0; i < 250 && strtoull(get(cg, "memory.current"), NULL, 10) < (8 << 20); i++)
        usleep(20000);
    usleep(400000);
    struct md_cgroup_stats st;
    md_error err = {0};
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "%s", err.msg);
    cr_expect_geq(st.memory_usage, 8 << 20, "usage %" PRIu64, st.memory_usage);
    cr_expect_eq(st.memory_limit, 67108864);
    if (has(cg, "memory.peak"))
        cr_expect_geq(st.memory_max_usage, st.memory_usage);
    cr_expect_eq(st.pids_current, 1);
    cr_expect_eq(st.pids_limit, 32);
    cr_expect_gt(st.cpu_usage_ns, 100 * 1000 * 1000ULL, "usage %" PRIu64 " ns", st.cpu_usage_ns);
    cr_expect_gt(st.cpu_user_ns + st.cpu_system_ns, 0);
    cr_expect_eq(st.oom_kills, 0);
    destroy(cg);
    reap(pid, 10);
}

/* ------------------------------------------------- the kernel enforces */

static int allocate_forever(void *arg)
{
    (void)arg;
    for (;;)
        if (!touch(1 << 20))
            return 1;
}

Test(cgroup_v2, memory_limit_oom_kills)
{
    struct md_cgroup *cg = create("oom", "{\"memory\":{\"limit\":33554432,\"swap\":33554432}}");
    md_error err = {0};
    int fd = md_cgroup_oom_fd(cg, &err);
    cr_assert(fd >= 0, "%s", err.msg);
    pid_t pid = spawn_in(cg, allocate_forever, NULL);
    int status = reap(pid, 60);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %#x", status);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_expect_eq(poll(&p, 1, 5000), 1, "the OOM fd did not fire");
    close(fd);
    struct md_cgroup_stats st;
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "%s", err.msg);
    cr_expect_geq(st.oom_kills, 1);
    destroy(cg);
}

static int fork_bomb(void *arg)
{
    (void)arg;
    for (int n = 0; n < 100; n++) {
        pid_t pid = fork();
        if (pid == 0)
            sleeper(NULL);
        if (pid < 0)
            return errno == EAGAIN ? n : 200;
    }
    return 201;
}

Test(cgroup_v2, pids_limit_stops_a_fork_bomb)
{
    struct md_cgroup *cg = create("forkbomb", "{\"pids\":{\"limit\":8}}");
    pid_t pid = spawn_in(cg, fork_bomb, NULL);
    int status = reap(pid, 30);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 7,
              "the bomb made %d children (status %#x); 7 and itself fit in pids.max 8",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1, status);
    cr_expect_neq(keyed(cg, "pids.events", "max"), 0, "pids.events counts no refusal");
    destroy(cg);
}

Test(cgroup_v2, cpu_max_throttles)
{
    struct md_cgroup *cg = create("throttle", "{\"cpu\":{\"quota\":10000,\"period\":100000}}");
    cr_expect_str_eq(get(cg, "cpu.max"), "10000 100000");
    pid_t pid = spawn_in(cg, busy_then_sleep, (void *)(intptr_t)1000);
    usleep(1500000);
    struct md_cgroup_stats st;
    md_error err = {0};
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "%s", err.msg);
    cr_expect_gt(st.cpu_throttled_periods, 0);
    cr_expect_gt(st.cpu_throttled_ns, 0);
    destroy(cg);
    reap(pid, 10);
}

static int report_cpus(void *arg)
{
    (void)arg;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 100;
    return CPU_COUNT(&set) == 1 && CPU_ISSET(1, &set) ? 0 : 1;
}

Test(cgroup_v2, cpuset_confines)
{
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        cr_skip_test("needs two CPUs");
    struct md_cgroup *cg = create("cpuset", "{\"cpu\":{\"cpus\":\"1\",\"mems\":\"0\"}}");
    cr_expect_str_eq(get(cg, "cpuset.cpus.effective"), "1");
    int status = reap(spawn_in(cg, report_cpus, NULL), 10);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child may run elsewhere");
    destroy(cg);
}

static int open_device(void *arg)
{
    int fd = open(arg, O_RDONLY);
    return fd >= 0 ? 0 : errno;
}

static int open_in(struct md_cgroup *cg, const char *path)
{
    int status = reap(spawn_in(cg, open_device, (void *)path), 10);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

Test(cgroup_v2, devices_are_denied)
{
    /* The config denies everything; create adds what every container may
     * use (/dev/null among them), not /dev/kmsg. */
    struct md_cgroup *cg =
        create("devices", "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}");
    cr_expect_eq(open_in(cg, "/dev/null"), 0);
    cr_expect_eq(open_in(cg, "/dev/kmsg"), EPERM);

    md_device_rule rules[] = {{.allow = false, .access = "rwm"},
                              {.allow = true,
                               .type = "c",
                               .has_major = true,
                               .major = 1,
                               .has_minor = true,
                               .minor = 3,
                               .access = "rwm"}};
    md_error err = {0};
    cr_assert_eq(md_cgroup_bpf_devices(cg->v2_fd, rules, 2, &err), 0, "%s", err.msg);
    cr_expect_eq(open_in(cg, "/dev/null"), 0);
    cr_expect_eq(open_in(cg, "/dev/zero"), EPERM);
    destroy(cg);
}

/* ----------------------------------------------------------- the end */

Test(cgroup_v2, destroy_leaves_nothing)
{
    struct md_cgroup *cg = create("destroy", "{\"pids\":{\"limit\":20}}");
    pid_t a = spawn_in(cg, sleeper_pair, NULL);
    /* A nested cgroup with a process, as a container's own tools make. */
    cr_assert_eq(mkdirat(cg->v2_fd, "nested", 0755), 0);
    int nested = openat(cg->v2_fd, "nested", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    pid_t b = fork();
    if (b == 0)
        sleeper(NULL);
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", (int)b);
    md_error err = {0};
    cr_assert_eq(md_cg_write(nested, "cgroup.procs", buf, &err), 0, "%s", err.msg);
    close(nested);

    char dir[160];
    snprintf(dir, sizeof(dir), "%s%s", MD_CGROUP_ROOT, cg->path);
    destroy(cg);
    cr_expect(access(dir, F_OK) < 0 && errno == ENOENT, "%s is left", dir);
    cr_expect(WIFSIGNALED(reap(a, 10)));
    cr_expect(WIFSIGNALED(reap(b, 10)));

    /* Destroying what is gone is no error. */
    cg = create("destroy", NULL);
    cr_assert_eq(rmdir(dir), 0);
    destroy(cg);
}

Test(cgroup_v2, reopened_from_the_state_record)
{
    struct md_cgroup *cg = create("record", NULL);
    pid_t pid = spawn_in(cg, sleeper, NULL);
    md_state_record rec = {0};
    md_error err = {0};
    cr_assert_eq(md_cgroup_record(cg, &rec, &err), 0, "%s", err.msg);
    struct md_cgroup *again = NULL;
    cr_assert_eq(md_cgroup_open(&rec, &again, &err), 0, "%s", err.msg);
    cr_assert(again);
    cr_assert_eq(md_cgroup_freeze(again, true, &err), 0, "%s", err.msg);
    cr_expect(md_cgroup_is_frozen(cg), "the other handle sees it frozen");
    pid_t *pids = NULL;
    size_t n = 0;
    cr_assert_eq(md_cgroup_pids(again, &pids, &n, &err), 0, "%s", err.msg);
    cr_expect(n == 1 && pids[0] == pid);
    free(pids);
    destroy(again);
    md_cgroup_free(cg);
    cr_expect(WIFSIGNALED(reap(pid, 10)));
    md_state_record_free(&rec);
}
