/* test-cgroup-systemd.c - the systemd cgroup driver.
 *
 * name_*, leaf_*, mask_*, props_*: the unit's name from linux.cgroupsPath
 * and the unit properties from linux.resources; they run anywhere.
 *
 * live_*: the real thing, through the public md_cgroup_* interface, on a
 * host whose PID 1 is systemd with cgroup v2 (elsewhere they skip and say
 * why).  As root they use the system instance; as any other user the
 * user's own (XDG_RUNTIME_DIR/bus), which must delegate cpu, memory and
 * pids.  tests/vm/check-systemd.sh runs them both ways in a guest VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "cgroup-systemd.h"
#include "fixture.h"

/* ------------------------------------------------------------- names */

static struct md_cg_sd_name parse_ok(const char *path, const char *id, bool rootless)
{
    struct md_cg_sd_name n;
    md_error err = {0};
    int r = md_cg_sd_name_parse(path, id, rootless, &n, &err);
    cr_assert_eq(r, 0, "\"%s\": %s", path ? path : "(unset)", err.msg);
    return n;
}

static void expect_name(const char *path, const char *id, bool rootless, const char *slice,
                        const char *unit)
{
    struct md_cg_sd_name n = parse_ok(path, id, rootless);
    cr_expect_str_eq(n.slice, slice, "\"%s\": slice", path ? path : "(unset)");
    cr_expect_str_eq(n.unit, unit, "\"%s\": unit", path ? path : "(unset)");
    cr_expect_not(n.is_slice);
    md_cg_sd_name_free(&n);
}

static void expect_bad_name(const char *path, const char *id, const char *needle)
{
    struct md_cg_sd_name n;
    md_error err = {0};
    cr_expect_eq(md_cg_sd_name_parse(path, id, false, &n, &err), -1, "\"%s\" was taken", path);
    cr_expect(err.msg && strstr(err.msg, needle), "\"%s\": message \"%s\" lacks \"%s\"", path,
              err.msg, needle);
    cr_expect(err.msg && !strchr(err.msg, '\n'), "not one line: %s", err.msg);
    cr_expect_null(n.unit);
    md_error_clear(&err);
}

Test(name, slice_prefix_name_as_podman_passes_it)
{
    expect_name("machine.slice:libpod:abc123", "ignored", false, "machine.slice",
                "libpod-abc123.scope");
    expect_name("user.slice:libpod:abc123", "ignored", true, "user.slice", "libpod-abc123.scope");
}

Test(name, unset_is_mdrun_prefix_and_the_id)
{
    expect_name(NULL, "web-1", false, "system.slice", "mdrun-web-1.scope");
    expect_name("", "web-1", false, "system.slice", "mdrun-web-1.scope");
    expect_name(NULL, "web-1", true, "user.slice", "mdrun-web-1.scope");
}

Test(name, empty_parts_take_the_defaults)
{
    expect_name(":docker:abc", "ID", false, "system.slice", "docker-abc.scope");
    expect_name(":docker:abc", "ID", true, "user.slice", "docker-abc.scope");
    expect_name("machine.slice:docker:", "ID", false, "machine.slice", "docker-ID.scope");
    expect_name("machine.slice::abc", "ID", false, "machine.slice", "abc.scope");
    expect_name("::", "ID", false, "system.slice", "ID.scope");
}

Test(name, dash_is_the_root_slice)
{
    expect_name("-:p:n", "ID", false, "-.slice", "p-n.scope");
}

Test(name, nested_slices_are_named_with_dashes)
{
    expect_name("machine-pods.slice:p:n", "ID", false, "machine-pods.slice", "p-n.scope");
}

Test(name, a_name_ending_in_slice_makes_a_slice_unit)
{
    struct md_cg_sd_name n = parse_ok("machine.slice:ignored:pod-1.slice", "ID", false);
    cr_expect(n.is_slice);
    cr_expect_str_eq(n.unit, "pod-1.slice");
    cr_expect_str_eq(n.slice, "machine.slice");
    md_cg_sd_name_free(&n);
}

Test(name, characters_systemd_refuses_are_escaped)
{
    expect_name(NULL, "a+b", false, "system.slice", "mdrun-a\\x2bb.scope");
    expect_name("::.hidden", "ID", false, "system.slice", "\\x2ehidden.scope");
    expect_name("::a.b_c-d", "ID", false, "system.slice", "a.b_c-d.scope");
    expect_name("x.slice:p:back\\slash", "ID", false, "x.slice", "p-back\\x5cslash.scope");
}

Test(name, not_three_parts_is_refused_with_the_form)
{
    expect_bad_name("machine.slice:abc", "ID", "\"slice:prefix:name\"");
    expect_bad_name("a.slice:b:c:d", "ID", "\"slice:prefix:name\"");
    /* A cgroupfs path given to the systemd manager. */
    expect_bad_name("/machine/abc", "ID", "linux.cgroupsPath \"/machine/abc\"");
}

Test(name, bad_slices_are_refused)
{
    expect_bad_name("machine:p:n", "ID", "\"machine\" is not a systemd slice name");
    expect_bad_name("a/b.slice:p:n", "ID", "not a systemd slice name");
    expect_bad_name("a--b.slice:p:n", "ID", "not a systemd slice name");
    expect_bad_name("-a.slice:p:n", "ID", "not a systemd slice name");
    expect_bad_name("a-.slice:p:n", "ID", "not a systemd slice name");
    expect_bad_name(".slice:p:n", "ID", "not a systemd slice name");
    expect_bad_name("x.slice:p:a--b.slice", "ID", "\"a--b.slice\" is not a slice name");
}

Test(name, too_long_is_refused)
{
    char name[300];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    expect_bad_name(NULL, name, "longer than systemd's 255 characters");
    /* Escaping counts: 64 '+' become 256 characters. */
    expect_bad_name("::++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++", "ID",
                    "longer than systemd's");
}

Test(name, no_name_and_no_id_is_refused)
{
    expect_bad_name("a.slice:p:", NULL, "no unit name and no container id");
}

/* ----------------------------------------------------------------- leaf */

Test(leaf, splits_into_the_scope_and_the_unit)
{
    char *scope, *unit;
    md_error err = {0};
    cr_assert_eq(
        md_cg_sd_split_leaf("/machine.slice/libpod-x.scope/container", &scope, &unit, &err), 0,
        "%s", err.msg);
    cr_expect_str_eq(scope, "/machine.slice/libpod-x.scope");
    cr_expect_str_eq(unit, "libpod-x.scope");
    free(scope);
    free(unit);
    cr_assert_eq(md_cg_sd_split_leaf("/user.slice/user-1000.slice/user@1000.service/user.slice/"
                                     "pod.slice/container",
                                     &scope, &unit, &err),
                 0, "%s", err.msg);
    cr_expect_str_eq(unit, "pod.slice");
    free(scope);
    free(unit);
}

Test(leaf, other_cgroups_are_refused)
{
    static const char *const bad[] = {
        "/mdrun/abc", "/machine.slice/x.scope", "/machine.slice/x.service/container", "container",
        "/container", "/x.scope/notcontainer"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *scope = (char *)"x", *unit = (char *)"x";
        md_error err = {0};
        cr_expect_eq(md_cg_sd_split_leaf(bad[i], &scope, &unit, &err), -1, "%s", bad[i]);
        cr_expect_null(scope);
        cr_expect_null(unit);
        cr_expect(err.msg && strstr(err.msg, bad[i]), "%s: %s", bad[i], err.msg);
        md_error_clear(&err);
    }
}

/* ----------------------------------------------------------------- masks */

static void expect_mask(const char *list, const uint8_t *bytes, size_t len)
{
    uint8_t *mask;
    size_t n;
    md_error err = {0};
    cr_assert_eq(md_cg_sd_cpu_mask(list, &mask, &n, &err), 0, "\"%s\": %s", list, err.msg);
    cr_expect_eq(n, len, "\"%s\": %zu bytes", list, n);
    if (n == len && len)
        cr_expect_arr_eq(mask, bytes, len, "\"%s\"", list);
    free(mask);
}

Test(mask, lists_and_ranges)
{
    expect_mask("0-3,7", (const uint8_t[]){0x8f}, 1);
    expect_mask("8", (const uint8_t[]){0x00, 0x01}, 2);
    expect_mask("1,1,0-1", (const uint8_t[]){0x03}, 1);
    expect_mask("9-10,2", (const uint8_t[]){0x04, 0x06}, 2);
    expect_mask("", NULL, 0);
}

Test(mask, bad_lists_are_refused)
{
    static const char *const bad[] = {"3-1", "a", "1,", ",1", "1-", "-1", "1 2", "70000", "1-2-3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *mask = (uint8_t *)"x";
        size_t n = 9;
        md_error err = {0};
        cr_expect_eq(md_cg_sd_cpu_mask(bad[i], &mask, &n, &err), -1, "\"%s\" was taken", bad[i]);
        cr_expect_null(mask);
        cr_expect_eq(n, 0);
        cr_expect(err.msg && strstr(err.msg, "is not a list like"), "%s", err.msg);
        md_error_clear(&err);
    }
}

/* ----------------------------------------------------------- controllers */

Test(controllers, what_the_resources_ask_for)
{
    md_memory m = {.has_limit = true, .limit = 1 << 20};
    md_cpu c = {.cpus = (char *)"0"};
    md_block_io b = {.n_throttle_read_bps_device = 1};
    md_pids p = {.has_limit = true, .limit = 0};
    md_kv u[] = {{(char *)"memory.high", (char *)"1"},
                 {(char *)"misc.max", (char *)"x 1"},
                 {(char *)"cgroup.max.depth", (char *)"3"}};
    md_resources r = {
        .memory = &m, .cpu = &c, .block_io = &b, .pids = &p, .unified = u, .n_unified = 3};
    char buf[128];
    md_cg_sd_controllers(&r, buf, sizeof(buf));
    cr_expect_str_eq(buf, "memory cpuset io pids misc");
    md_cg_sd_controllers(NULL, buf, sizeof(buf));
    cr_expect_str_eq(buf, "");
    /* Zero means unset for these: nothing to limit. */
    md_memory zero = {.has_limit = true, .limit = 0};
    md_cpu none = {.has_shares = true, .shares = 0, .cpus = (char *)""};
    md_resources unset = {.memory = &zero, .cpu = &none};
    md_cg_sd_controllers(&unset, buf, sizeof(buf));
    cr_expect_str_eq(buf, "");
}

/* ------------------------------------------------------------ properties */

static struct md_cg_sd_props props_of(const md_resources *r)
{
    struct md_cg_sd_props p;
    md_error err = {0};
    cr_assert_eq(md_cg_sd_props(r, &p, &err), 0, "%s", err.msg);
    return p;
}

static void expect_prop(const struct md_cg_sd_props *p, const char *name, uint64_t value)
{
    const struct md_cg_sd_prop *prop = md_cg_sd_props_get(p, name);
    cr_assert_not_null(prop, "no %s", name);
    cr_expect_null(prop->mask, "%s is a number", name);
    cr_expect_eq(prop->value, value, "%s = %llu, expected %llu", name,
                 (unsigned long long)prop->value, (unsigned long long)value);
}

static void expect_no_prop(const struct md_cg_sd_props *p, const char *name)
{
    cr_expect_null(md_cg_sd_props_get(p, name), "unexpected %s", name);
}

Test(props, none_without_resources)
{
    struct md_cg_sd_props p = props_of(NULL);
    cr_expect_eq(p.n, 0);
    md_cg_sd_props_free(&p);
    md_resources empty = {0};
    p = props_of(&empty);
    cr_expect_eq(p.n, 0);
    md_cg_sd_props_free(&p);
}

Test(props, memory)
{
    md_memory m = {.has_limit = true,
                   .limit = 64 << 20,
                   .has_reservation = true,
                   .reservation = 32 << 20,
                   .has_swap = true,
                   .swap = 96 << 20};
    md_resources r = {.memory = &m};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "MemoryMax", 64 << 20);
    expect_prop(&p, "MemoryLow", 32 << 20);
    /* The spec's swap is memory+swap; systemd's is the swap alone. */
    expect_prop(&p, "MemorySwapMax", 32 << 20);
    cr_expect_eq(p.n, 3);
    md_cg_sd_props_free(&p);
}

Test(props, memory_unlimited_and_unrepresentable)
{
    md_memory m = {.has_limit = true, .limit = -1, .has_swap = true, .swap = -1};
    md_resources r = {.memory = &m};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "MemoryMax", MD_CG_SD_INFINITY);
    expect_prop(&p, "MemorySwapMax", MD_CG_SD_INFINITY);
    md_cg_sd_props_free(&p);

    /* systemd refuses MemoryMax=0; a swap without the limit at hand is
     * left to the cgroup files. */
    md_memory zero = {.has_limit = true, .limit = 0, .has_swap = true, .swap = 1 << 20};
    r.memory = &zero;
    p = props_of(&r);
    cr_expect_eq(p.n, 0);
    md_cg_sd_props_free(&p);
}

Test(props, cpu_weight_quota_and_sets)
{
    md_cpu c = {.has_shares = true,
                .shares = 1024,
                .has_quota = true,
                .quota = 50000,
                .has_period = true,
                .period = 100000,
                .cpus = (char *)"0-1",
                .mems = (char *)"0"};
    md_resources r = {.cpu = &c};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "CPUWeight", 100); /* the default shares give the default weight */
    expect_prop(&p, "CPUQuotaPerSecUSec", 500000);
    expect_prop(&p, "CPUQuotaPeriodUSec", 100000);
    const struct md_cg_sd_prop *cpus = md_cg_sd_props_get(&p, "AllowedCPUs");
    cr_assert_not_null(cpus);
    cr_expect_eq(cpus->mask_len, 1);
    cr_expect_eq(cpus->mask[0], 0x03);
    const struct md_cg_sd_prop *mems = md_cg_sd_props_get(&p, "AllowedMemoryNodes");
    cr_assert_not_null(mems);
    cr_expect_eq(mems->mask[0], 0x01);
    md_cg_sd_props_free(&p);
}

Test(props, cpu_quota_is_rounded_up_to_whole_percents)
{
    md_cpu c = {.has_quota = true, .quota = 33333, .has_period = true, .period = 100000};
    md_resources r = {.cpu = &c};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "CPUQuotaPerSecUSec", 340000);
    md_cg_sd_props_free(&p);

    /* No period: the kernel's default, 100 ms, and no period property. */
    md_cpu q = {.has_quota = true, .quota = 20000};
    r.cpu = &q;
    p = props_of(&r);
    expect_prop(&p, "CPUQuotaPerSecUSec", 200000);
    expect_no_prop(&p, "CPUQuotaPeriodUSec");
    md_cg_sd_props_free(&p);
}

Test(props, cpu_unlimited_quota_and_period_alone)
{
    md_cpu c = {.has_quota = true, .quota = -1};
    md_resources r = {.cpu = &c};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "CPUQuotaPerSecUSec", MD_CG_SD_INFINITY);
    md_cg_sd_props_free(&p);

    /* A period alone keeps the quota in place. */
    md_cpu per = {.has_period = true, .period = 50000};
    r.cpu = &per;
    p = props_of(&r);
    expect_prop(&p, "CPUQuotaPeriodUSec", 50000);
    expect_no_prop(&p, "CPUQuotaPerSecUSec");
    md_cg_sd_props_free(&p);
}

Test(props, bad_cpu_list_names_the_field)
{
    md_cpu c = {.cpus = (char *)"0-"};
    md_resources r = {.cpu = &c};
    struct md_cg_sd_props p;
    md_error err = {0};
    cr_expect_eq(md_cg_sd_props(&r, &p, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "linux.resources.cpu.cpus: \"0-\""), "%s", err.msg);
    cr_expect_eq(p.n, 0);
    md_error_clear(&err);
}

Test(props, pids_and_io)
{
    md_pids pids = {.has_limit = true, .limit = 50};
    md_block_io io = {.has_weight = true, .weight = 500};
    md_resources r = {.pids = &pids, .block_io = &io};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "TasksMax", 50);
    expect_prop(&p, "IOWeight", md_cgroup_blkio_to_io_weight(500));
    md_cg_sd_props_free(&p);

    pids.limit = -1;
    p = props_of(&r);
    expect_prop(&p, "TasksMax", MD_CG_SD_INFINITY);
    md_cg_sd_props_free(&p);

    /* pids.max 0 is a valid limit that systemd's TasksMax cannot say. */
    pids.limit = 0;
    p = props_of(&r);
    expect_no_prop(&p, "TasksMax");
    md_cg_sd_props_free(&p);
}

Test(props, unified_keys_override)
{
    md_memory m = {.has_limit = true, .limit = 64 << 20};
    md_kv unified[] = {
        {(char *)"memory.max", (char *)"max"},     {(char *)"memory.high", (char *)"1048576"},
        {(char *)"memory.min", (char *)"0"},       {(char *)"cpu.max", (char *)"25000 50000"},
        {(char *)"cpu.weight", (char *)"200"},     {(char *)"io.weight", (char *)"default 300"},
        {(char *)"pids.max", (char *)"0"},         {(char *)"cpuset.cpus", (char *)"bad"},
        {(char *)"memory.oom.group", (char *)"1"}, {(char *)"cpu.weight.nice", (char *)"5"},
    };
    md_resources r = {.memory = &m, .unified = unified, .n_unified = 10};
    struct md_cg_sd_props p = props_of(&r);
    expect_prop(&p, "MemoryMax", MD_CG_SD_INFINITY);
    expect_prop(&p, "MemoryHigh", 1048576);
    expect_prop(&p, "MemoryMin", 0);
    expect_prop(&p, "CPUQuotaPerSecUSec", 500000);
    expect_prop(&p, "CPUQuotaPeriodUSec", 50000);
    expect_prop(&p, "CPUWeight", 200);
    expect_prop(&p, "IOWeight", 300);
    expect_no_prop(&p, "TasksMax");
    expect_no_prop(&p, "AllowedCPUs");
    cr_expect_eq(p.n, 7);
    md_cg_sd_props_free(&p);
}

/* ------------------------------------------------------------------ live */

static bool rootless;
static char id[64];

/* Skip unless systemd (PID 1) manages a cgroup v2 host and its bus (the
 * user's, when not root) can be reached. */
static void live_init(void)
{
    if (sd_booted() <= 0)
        cr_skip_test("systemd is not PID 1 here (tests/vm/check-systemd.sh runs these in a guest)");
    if (md_cgroup_layout() != MD_CG_V2)
        cr_skip_test("not a cgroup v2 host (tests/vm/check-systemd.sh runs these in a guest)");
    rootless = geteuid() != 0;
    const char *rt = getenv("XDG_RUNTIME_DIR");
    char bus[4096];
    snprintf(bus, sizeof(bus), "%s/bus", rt ? rt : "");
    if (rootless && (!rt || access(bus, F_OK) < 0))
        cr_skip_test("no systemd user session (%s not found)", rt ? bus : "XDG_RUNTIME_DIR unset");
    if (!rootless && access("/run/dbus/system_bus_socket", F_OK) < 0 &&
        access("/run/systemd/private", F_OK) < 0)
        cr_skip_test("the system bus cannot be reached");
    snprintf(id, sizeof(id), "sdtest-%d-%ld", (int)getpid(), (long)time(NULL));
}

/* `systemctl [--user] show -p PROP --value UNIT`, without the newline. */
static char *show(const char *unit, const char *prop)
{
    char *argv[] = {"systemctl", "show", "-p", (char *)prop, "--value", (char *)unit, NULL, NULL};
    if (rootless) {
        memmove(argv + 2, argv + 1, 6 * sizeof(argv[0]));
        argv[1] = "--user";
    }
    struct fx_result r = fx_run(argv, NULL, NULL);
    cr_assert_eq(r.status, 0, "systemctl show %s: %s", unit, r.err);
    char *out = strdup(r.out);
    out[strcspn(out, "\n")] = '\0';
    fx_result_free(&r);
    return out;
}

static void expect_show(const char *unit, const char *prop, const char *want)
{
    char *got = show(unit, prop);
    cr_expect_str_eq(got, want, "%s %s is \"%s\", not \"%s\"", unit, prop, got, want);
    free(got);
}

static char *cg_file(const char *cgroup, const char *file)
{
    char *path = fx_fmt("/sys/fs/cgroup%s/%s", cgroup, file);
    char *text = NULL;
    size_t n = 0;
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f, "open %s: %s", path, strerror(errno));
    ssize_t len = getline(&text, &n, f);
    fclose(f);
    free(path);
    if (len < 0)
        text[0] = '\0';
    text[strcspn(text, "\n")] = '\0';
    return text;
}

static bool cg_exists(const char *cgroup)
{
    char *path = fx_fmt("/sys/fs/cgroup%s", cgroup);
    bool there = access(path, F_OK) == 0;
    free(path);
    return there;
}

/* This process's line "0::PATH" of /proc/PID/cgroup. */
static char *cgroup_of(pid_t pid)
{
    char *path = fx_fmt("/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    cr_assert_not_null(f);
    char *line = NULL;
    size_t n = 0;
    ssize_t len = getline(&line, &n, f);
    fclose(f);
    free(path);
    cr_assert_gt(len, 3);
    line[strcspn(line, "\n")] = '\0';
    char *out = strdup(line + 3);
    free(line);
    return out;
}

/* Wait until the unit's prop is want (and its cgroup, when given, is
 * gone): systemd collects a stopped unit a moment after its job ends. */
static void wait_for(const char *unit, const char *prop, const char *want, const char *cgroup)
{
    bool done = false;
    char *state = NULL;
    for (int i = 0; i < 20 && !done; i++) {
        if (i)
            usleep(200 * 1000);
        free(state);
        state = show(unit, prop);
        done = strcmp(state, want) == 0 && !(cgroup && cg_exists(cgroup));
    }
    cr_expect(done, "%s: %s is still %s (cgroup %s %s)", unit, prop, state, cgroup ? cgroup : "-",
              cgroup && cg_exists(cgroup) ? "left" : "gone");
    free(state);
}

static void wait_gone(const char *unit, const char *cgroup)
{
    wait_for(unit, "LoadState", "not-found", cgroup);
}

static pid_t idle_child(void)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static int reap(pid_t pid)
{
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static struct md_cgroup *create(const char *cgroups_path, const md_resources *res)
{
    struct md_cgroup_request req = {.id = id,
                                    .cgroups_path = cgroups_path,
                                    .resources = res,
                                    .manager = MD_CGM_SYSTEMD,
                                    .rootless = rootless,
                                    .root_uid = geteuid(),
                                    .root_gid = getegid()};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_assert_eq(md_cgroup_create(&req, &cg, &err), 0, "create: %s", err.msg);
    cr_assert_not_null(cg);
    return cg;
}

static md_state_record record_of(const struct md_cgroup *cg)
{
    md_state_record rec = {0};
    md_error err = {0};
    cr_assert_eq(md_cgroup_record(cg, &rec, &err), 0, "%s", err.msg);
    cr_assert_not_null(rec.cgroup_unit);
    cr_assert_not_null(rec.cgroup_scope);
    cr_assert_not_null(rec.cgroup_path);
    rec.rootless = rootless; /* as the lifecycle records it */
    return rec;
}

static void destroy(struct md_cgroup *cg)
{
    md_error err = {0};
    cr_expect_eq(md_cgroup_destroy(cg, &err), 0, "destroy: %s", err.msg);
    md_error_clear(&err);
    md_cgroup_free(cg);
}

Test(live, scope_holds_the_container_in_its_leaf_with_the_limits, .init = live_init)
{
    md_memory mem = {.has_limit = true, .limit = 64 << 20};
    md_pids pids = {.has_limit = true, .limit = 50};
    md_resources res = {.memory = &mem, .pids = &pids};
    char *path = fx_fmt("%s:mdtest:%s", rootless ? "" : "machine.slice", id);
    struct md_cgroup *cg = create(path, &res);
    md_state_record rec = record_of(cg);
    char *unit = fx_fmt("mdtest-%s.scope", id);
    cr_expect_str_eq(rec.cgroup_unit, unit);
    cr_expect(rec.systemd_cgroup);
    char *leaf = fx_fmt("%s/container", rec.cgroup_scope);
    cr_expect_str_eq(rec.cgroup_path, leaf);
    const char *slice = rootless ? "/user.slice/" : "/machine.slice/";
    cr_expect(strstr(rec.cgroup_scope, slice), "%s is not in %s", rec.cgroup_scope, slice);
    /* Not born into it: the caller must enter, so the holder can go. */
    cr_expect_eq(md_cgroup_clone_fd(cg), -1);

    pid_t child = idle_child();
    md_error err = {0};
    cr_assert_eq(md_cgroup_enter(cg, child, &err), 0, "enter: %s", err.msg);
    char *now = cgroup_of(child);
    cr_expect_str_eq(now, leaf);
    free(now);
    /* The child alone: the holder is gone. */
    char *procs = cg_file(leaf, "cgroup.procs");
    char *want = fx_fmt("%d", (int)child);
    cr_expect_str_eq(procs, want);
    free(procs);
    free(want);

    expect_show(unit, "ActiveState", "active");
    expect_show(unit, "MemoryMax", "67108864");
    expect_show(unit, "TasksMax", "50");
    expect_show(unit, "Delegate", "yes");
    char *v = cg_file(rec.cgroup_scope, "memory.max");
    cr_expect_str_eq(v, "67108864");
    free(v);
    v = cg_file(rec.cgroup_scope, "pids.max");
    cr_expect_str_eq(v, "50");
    free(v);
    /* The leaf got the controllers, for the container's own cgroups. */
    v = cg_file(leaf, "cgroup.controllers");
    cr_expect(strstr(v, "memory") && strstr(v, "pids"), "leaf controllers: %s", v);
    free(v);

    pid_t *list = NULL;
    size_t n = 0;
    cr_assert_eq(md_cgroup_pids(cg, &list, &n, &err), 0, "pids: %s", err.msg);
    cr_expect_eq(n, 1);
    cr_expect_eq(list[0], child);
    free(list);

    destroy(cg);
    int status = reap(child);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
    wait_gone(unit, NULL);
    cr_expect_not(cg_exists(rec.cgroup_scope), "%s is left", rec.cgroup_scope);
    md_state_record_free(&rec);
    free(unit);
    free(leaf);
    free(path);
}

Test(live, reopened_from_the_record_pause_update_and_delete, .init = live_init)
{
    struct md_cgroup *cg = create(NULL, NULL);
    pid_t child = idle_child();
    md_error err = {0};
    cr_assert_eq(md_cgroup_enter(cg, child, &err), 0, "enter: %s", err.msg);
    md_state_record rec = record_of(cg);
    md_cgroup_free(cg);
    char *unit = fx_fmt("mdrun-%s.scope", id);
    cr_expect_str_eq(rec.cgroup_unit, unit);
    const char *slice = rootless ? "/user.slice/" : "/system.slice/";
    cr_expect(strstr(rec.cgroup_scope, slice), "%s is not in %s", rec.cgroup_scope, slice);

    cr_assert_eq(md_cgroup_open(&rec, &cg, &err), 0, "open: %s", err.msg);
    cr_assert_not_null(cg);
    cr_assert_eq(md_cgroup_freeze(cg, true, &err), 0, "freeze: %s", err.msg);
    cr_expect(md_cgroup_is_frozen(cg));
    char *v = cg_file(rec.cgroup_scope, "cgroup.freeze");
    cr_expect_str_eq(v, "1");
    free(v);
    cr_assert_eq(md_cgroup_freeze(cg, false, &err), 0, "thaw: %s", err.msg);
    cr_expect_not(md_cgroup_is_frozen(cg));

    /* update: systemd and the scope's files agree on the new limit. */
    md_memory mem = {.has_limit = true, .limit = 32 << 20};
    md_cpu cpu = {.has_quota = true, .quota = 50000, .has_period = true, .period = 100000};
    md_resources res = {.memory = &mem, .cpu = &cpu};
    cr_assert_eq(md_cgroup_apply(cg, &res, &err), 0, "update: %s", err.msg);
    expect_show(unit, "MemoryMax", "33554432");
    expect_show(unit, "CPUQuotaPerSecUSec", "500ms");
    v = cg_file(rec.cgroup_scope, "memory.max");
    cr_expect_str_eq(v, "33554432");
    free(v);
    v = cg_file(rec.cgroup_scope, "cpu.max");
    cr_expect_str_eq(v, "50000 100000");
    free(v);

    struct md_cgroup_stats st;
    cr_assert_eq(md_cgroup_stats(cg, &st, &err), 0, "stats: %s", err.msg);
    cr_expect_eq(st.memory_limit, 32 << 20);
    cr_expect_eq(st.pids_current, 1);

    cr_assert_eq(md_cgroup_signal_all(cg, SIGKILL, &err), 0, "kill --all: %s", err.msg);
    int status = reap(child);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
    destroy(cg);
    wait_gone(unit, NULL);
    cr_expect_not(cg_exists(rec.cgroup_scope), "%s is left", rec.cgroup_scope);
    md_state_record_free(&rec);
    free(unit);
}

Test(live, destroy_before_enter_leaves_nothing, .init = live_init)
{
    struct md_cgroup *cg = create(NULL, NULL);
    md_state_record rec = record_of(cg);
    cr_expect(cg_exists(rec.cgroup_path));
    destroy(cg);
    wait_gone(rec.cgroup_unit, NULL);
    cr_expect_not(cg_exists(rec.cgroup_scope), "%s is left", rec.cgroup_scope);
    md_state_record_free(&rec);
}

/* mdrun killed between create and enter: its holder dies with it, and
 * systemd removes the empty scope. */
Test(live, a_crash_before_enter_leaves_nothing, .init = live_init)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t mdrun = fork();
    cr_assert_geq(mdrun, 0);
    if (mdrun == 0) {
        close(fds[0]);
        struct md_cgroup *cg = create(NULL, NULL);
        md_state_record rec = record_of(cg);
        dprintf(fds[1], "%s\n", rec.cgroup_scope);
        _exit(0); /* no destroy */
    }
    close(fds[1]);
    char scope[1024] = "";
    FILE *f = fdopen(fds[0], "r");
    cr_assert(fgets(scope, sizeof(scope), f), "the child made no scope");
    fclose(f);
    scope[strcspn(scope, "\n")] = '\0';
    cr_expect_eq(reap(mdrun), 0);
    char *unit = fx_fmt("mdrun-%s.scope", id);
    wait_gone(unit, scope);
    free(unit);
}

Test(live, a_unit_in_use_is_refused_and_left_alone, .init = live_init)
{
    struct md_cgroup *cg = create("::taken", NULL);
    struct md_cgroup_request req = {
        .id = id, .cgroups_path = "::taken", .manager = MD_CGM_SYSTEMD, .rootless = rootless};
    struct md_cgroup *second = NULL;
    md_error err = {0};
    cr_expect_eq(md_cgroup_create(&req, &second, &err), -1);
    cr_expect_null(second);
    cr_expect(err.msg && strstr(err.msg, "taken.scope already exists"), "%s", err.msg);
    md_error_clear(&err);
    expect_show("taken.scope", "ActiveState", "active");
    destroy(cg);
    wait_gone("taken.scope", NULL);
}

Test(live, check_refuses_what_systemd_would_not_take, .init = live_init)
{
    struct md_cgroup_request req = {
        .id = id, .cgroups_path = "/not/a/unit", .manager = MD_CGM_SYSTEMD, .rootless = rootless};
    md_error err = {0};
    cr_expect_eq(md_cgroup_check(&req, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "\"slice:prefix:name\""), "%s", err.msg);
    md_error_clear(&err);
}

/* The user's systemd delegates cpu, memory and pids only (by default): a
 * rootless io limit is refused before the container exists, saying so. */
Test(live, io_weight_as_root_and_refused_without_io_delegation, .init = live_init)
{
    md_block_io io = {.has_weight = true, .weight = 500};
    md_resources res = {.block_io = &io};
    char *unit = fx_fmt("mdrun-%s.scope", id);
    if (!rootless) {
        struct md_cgroup *cg = create(NULL, &res);
        md_state_record rec = record_of(cg);
        char *want = fx_fmt("%llu", (unsigned long long)md_cgroup_blkio_to_io_weight(500));
        expect_show(unit, "IOWeight", want);
        char *v = cg_file(rec.cgroup_scope, "io.weight");
        char *line = fx_fmt("default %s", want);
        cr_expect_str_eq(v, line);
        free(v);
        free(line);
        free(want);
        destroy(cg);
        md_state_record_free(&rec);
        free(unit);
        return;
    }
    struct md_cgroup_request req = {
        .id = id, .resources = &res, .manager = MD_CGM_SYSTEMD, .rootless = true};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    cr_expect_eq(md_cgroup_create(&req, &cg, &err), -1);
    cr_expect_null(cg);
    cr_expect(err.msg && strstr(err.msg, "io controller"), "%s", err.msg);
    cr_expect(err.msg && strstr(err.msg, "Delegate="), "%s", err.msg);
    md_error_clear(&err);
    wait_gone(unit, NULL);
    free(unit);
}

/* A cgroupsPath name ending in ".slice" makes the unit a slice, as runc
 * does; its name alone places it (no '-': no parent slices to leave). */
Test(live, a_slice_unit, .init = live_init)
{
    char *unit = fx_fmt("mdtest_%d.slice", (int)getpid());
    char *path = fx_fmt("machine.slice:ignored:%s", unit);
    md_pids pids = {.has_limit = true, .limit = 20};
    md_resources res = {.pids = &pids};
    struct md_cgroup_request req = {.id = id,
                                    .cgroups_path = path,
                                    .resources = &res,
                                    .manager = MD_CGM_SYSTEMD,
                                    .rootless = rootless};
    struct md_cgroup *cg = NULL;
    md_error err = {0};
    int r = md_cgroup_create(&req, &cg, &err);
    if (r < 0 && rootless) {
        /* Outside the user's systemd tree (as under runuser) systemd will
         * not move the holder into a slice. */
        cr_expect(strstr(err.msg, "a slice unit takes no process"), "%s", err.msg);
        md_error_clear(&err);
        wait_for(unit, "ActiveState", "inactive", NULL);
        free(unit);
        free(path);
        return;
    }
    cr_assert_eq(r, 0, "create: %s", err.msg);
    md_state_record rec = record_of(cg);
    cr_expect_str_eq(rec.cgroup_unit, unit);
    char *scope = fx_fmt("/%s", unit);
    cr_expect(strstr(rec.cgroup_scope, scope), "%s", rec.cgroup_scope);
    free(scope);
    pid_t child = idle_child();
    cr_assert_eq(md_cgroup_enter(cg, child, &err), 0, "enter: %s", err.msg);
    char *now = cgroup_of(child);
    cr_expect_str_eq(now, rec.cgroup_path);
    free(now);
    expect_show(unit, "TasksMax", "20");
    char *v = cg_file(rec.cgroup_scope, "pids.max");
    cr_expect_str_eq(v, "20");
    free(v);
    destroy(cg);
    reap(child);
    /* A stopped transient slice may stay loaded a while. */
    wait_for(unit, "ActiveState", "inactive", rec.cgroup_scope);
    md_state_record_free(&rec);
    free(unit);
    free(path);
}
