/* test-cgroup.c - the cgroup core without touching a cgroup: where the
 * container's cgroup goes, the v1 -> v2 conversions, what the host has,
 * manager names, the state record, and the file helpers on plain files. */
#include <criterion/criterion.h>
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "fixture.h"

/* ------------------------------------------------------------ the path */

static char *resolve(const char *cgroups_path, const char *id, const char *base)
{
    md_error err = {0};
    char *out = NULL;
    int r = md_cg_path_resolve(cgroups_path, id, base, &out, &err);
    cr_assert_eq(r, 0, "resolve \"%s\": %s", cgroups_path ? cgroups_path : "(unset)", err.msg);
    return out;
}

Test(cgroup_path, absolute_is_taken_from_the_hierarchy_root)
{
    char *p = resolve("/machine/ctr", "ID", "/user.slice/session-1.scope");
    cr_expect_str_eq(p, "/machine/ctr");
    free(p);
}

Test(cgroup_path, relative_goes_under_the_base)
{
    char *p = resolve("pods/ctr", "ID", "/process_api/abc");
    cr_expect_str_eq(p, "/process_api/abc/pods/ctr");
    free(p);
}

Test(cgroup_path, unset_is_the_id_under_the_base_as_runc)
{
    char *p = resolve(NULL, "web-1", "/process_api/abc");
    cr_expect_str_eq(p, "/process_api/abc/web-1");
    free(p);
    p = resolve("", "web-1", "/");
    cr_expect_str_eq(p, "/web-1");
    free(p);
}

Test(cgroup_path, is_normalized)
{
    char *p = resolve("//a/./b//c/", "ID", "/");
    cr_expect_str_eq(p, "/a/b/c");
    free(p);
    p = resolve("x/", "ID", "/");
    cr_expect_str_eq(p, "/x");
    free(p);
}

Test(cgroup_path, dotdot_is_refused)
{
    static const char *const bad[] = {"/a/../b", "../escape", "a/..", ".."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_error err = {0};
        char *out = (char *)"untouched";
        cr_expect_eq(md_cg_path_resolve(bad[i], "ID", "/base", &out, &err), -1, "%s", bad[i]);
        cr_expect_null(out);
        cr_expect_eq(err.errnum, EINVAL);
        cr_expect(err.msg && strstr(err.msg, "linux.cgroupsPath") && strstr(err.msg, "\"..\""),
                  "message: %s", err.msg);
        md_error_clear(&err);
    }
}

Test(cgroup_path, the_root_itself_is_refused)
{
    md_error err = {0};
    char *out = NULL;
    cr_expect_eq(md_cg_path_resolve("/", "ID", "/", &out, &err), -1);
    cr_expect(err.msg && strstr(err.msg, "root cgroup"), "message: %s", err.msg);
    md_error_clear(&err);
    cr_expect_eq(md_cg_path_resolve("/./", "ID", "/", &out, &err), -1);
    md_error_clear(&err);
}

/* ------------------------------------------------------ the conversions */

Test(cgroup_convert, shares_to_weight_follows_the_formula)
{
    /* ceil(10^((L^2 + 125 L) / 612 - 7/34)), L = log2(shares), worked out
     * by hand (and by python's math module) for these. */
    static const struct {
        uint64_t shares, weight;
    } table[] = {
        {0, 0},         {1, 1},          {2, 1},          {3, 2},
        {10, 4},        {100, 17},       {512, 59},       {1000, 99},
        {1024, 100},    {2048, 174},     {4096, 303},     {10000, 627},
        {100000, 4340}, {262143, 10000}, {262144, 10000}, {1000000, 10000},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        cr_expect_eq(md_cgroup_shares_to_weight(table[i].shares), table[i].weight,
                     "shares %lu: got %lu, want %lu", (unsigned long)table[i].shares,
                     (unsigned long)md_cgroup_shares_to_weight(table[i].shares),
                     (unsigned long)table[i].weight);
}

/* mdrun computes the curve without libm; every possible shares value must
 * give what libm's log2, pow and ceil give. */
Test(cgroup_convert, shares_to_weight_matches_libm_everywhere)
{
    for (uint64_t s = 3; s < 262144; s++) {
        double l = log2((double)s);
        double w = ceil(pow(10.0, (l * l + 125.0 * l - 126.0) / 612.0));
        uint64_t want = w < 1 ? 1 : w > 10000 ? 10000 : (uint64_t)w;
        cr_assert_eq(md_cgroup_shares_to_weight(s), want, "shares %lu: got %lu, libm gives %lu",
                     (unsigned long)s, (unsigned long)md_cgroup_shares_to_weight(s),
                     (unsigned long)want);
    }
}

Test(cgroup_convert, shares_to_weight_is_monotonic_and_in_range)
{
    uint64_t prev = 1;
    for (uint64_t s = 2; s <= 262144; s += 97) {
        uint64_t w = md_cgroup_shares_to_weight(s);
        cr_assert(w >= prev && w >= 1 && w <= 10000, "shares %lu -> %lu after %lu",
                  (unsigned long)s, (unsigned long)w, (unsigned long)prev);
        prev = w;
    }
}

Test(cgroup_convert, blkio_weight_to_io_weight_is_linear)
{
    static const struct {
        uint64_t blkio, io;
    } table[] = {
        {0, 0}, {10, 1}, {11, 11}, {100, 910}, {500, 4950}, {999, 9989}, {1000, 10000},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        cr_expect_eq(md_cgroup_blkio_to_io_weight(table[i].blkio), table[i].io, "blkio %lu",
                     (unsigned long)table[i].blkio);
    for (uint64_t w = 10; w <= 1000; w++)
        cr_assert_eq(md_cgroup_blkio_to_io_weight(w), 1 + (w - 10) * 9999 / 990);
}

/* ------------------------------------------------------------- the host */

/* The file system type mounted at path, from mountinfo (the last mount
 * there is the visible one); NULL when nothing is. */
static char *mount_type(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    cr_assert_not_null(f);
    char *line = NULL, *type = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char mnt[4096], fstype[256];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(dash + 3, "%255s", fstype) != 1)
            continue;
        if (strcmp(mnt, path) == 0) {
            free(type);
            type = strdup(fstype);
        }
    }
    free(line);
    fclose(f);
    return type;
}

Test(cgroup_host, layout_matches_the_mounts)
{
    char *root = mount_type("/sys/fs/cgroup"), *unified = mount_type("/sys/fs/cgroup/unified");
    enum md_cg_layout want = MD_CG_NONE;
    if (root && strcmp(root, "cgroup2") == 0)
        want = MD_CG_V2;
    else if (root && strcmp(root, "tmpfs") == 0)
        want = unified && strcmp(unified, "cgroup2") == 0 ? MD_CG_HYBRID : MD_CG_V1;
    cr_expect_eq(md_cgroup_layout(), want, "detected %s, the mounts say %s",
                 md_cgroup_layout_name(md_cgroup_layout()), md_cgroup_layout_name(want));
    free(root);
    free(unified);
}

Test(cgroup_host, layout_names)
{
    cr_expect_str_eq(md_cgroup_layout_name(MD_CG_V1), "v1");
    cr_expect_str_eq(md_cgroup_layout_name(MD_CG_HYBRID), "hybrid");
    cr_expect_str_eq(md_cgroup_layout_name(MD_CG_V2), "v2");
    cr_expect_str_eq(md_cgroup_layout_name(MD_CG_NONE), "none");
}

Test(cgroup_host, own_path_is_the_line_of_proc_self_cgroup)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    cr_assert_not_null(f);
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        cr_assert_not_null(c2);
        *c2 = '\0';
        char first[256];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(c1 + 1, ","), c1 + 1);
        md_error err = {0};
        char *own = md_cg_own_path(first[0] ? first : NULL, &err);
        cr_assert_not_null(own, "%s: %s", first, err.msg);
        cr_expect_str_eq(own, c2 + 1, "hierarchy \"%s\"", c1 + 1);
        free(own);
    }
    fclose(f);
    md_error err = {0};
    cr_expect_null(md_cg_own_path("no_such_controller", &err));
    cr_expect_eq(err.errnum, ENOENT);
    md_error_clear(&err);
}

/* ------------------------------------------------------------ managers */

Test(cgroup_manager, names_parse)
{
    static const struct {
        const char *name;
        enum md_cg_manager m;
    } table[] = {
        {NULL, MD_CGM_CGROUPFS},
        {"cgroupfs", MD_CGM_CGROUPFS},
        {"systemd", MD_CGM_SYSTEMD},
        {"disabled", MD_CGM_DISABLED},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        md_error err = {0};
        enum md_cg_manager m = (enum md_cg_manager) - 1;
        cr_expect_eq(md_cgroup_manager_parse(table[i].name, &m, &err), 0);
        cr_expect_eq(m, table[i].m, "%s", table[i].name ? table[i].name : "(default)");
    }
}

Test(cgroup_manager, unknown_names_are_refused)
{
    static const char *const bad[] = {"", "Systemd", "cgroupfs2", "none"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        md_error err = {0};
        enum md_cg_manager m;
        cr_expect_eq(md_cgroup_manager_parse(bad[i], &m, &err), -1, "\"%s\"", bad[i]);
        cr_expect(err.msg && strstr(err.msg, "unknown cgroup manager") &&
                      strstr(err.msg, "cgroupfs, systemd or disabled"),
                  "message: %s", err.msg);
        md_error_clear(&err);
    }
}

Test(cgroup_manager, disabled_gives_no_cgroup_even_with_limits)
{
    md_memory mem = {.has_limit = true, .limit = 1 << 20};
    md_resources res = {.memory = &mem};
    struct md_cgroup_request req = {.id = "x", .resources = &res, .manager = MD_CGM_DISABLED};
    md_error err = {0};
    struct md_cgroup *cg = (struct md_cgroup *)&req;
    cr_expect_eq(md_cgroup_check(&req, &err), 0, "%s", err.msg);
    cr_expect_eq(md_cgroup_create(&req, &cg, &err), 0, "%s", err.msg);
    cr_expect_null(cg);
}

/* --------------------------------------------------------- the request */

Test(cgroup_request, limits_are_what_resources_set)
{
    cr_expect_not(md_cg_wants_limits(NULL));
    md_resources empty = {0};
    cr_expect_not(md_cg_wants_limits(&empty));
    md_memory no_mem = {0};
    md_cpu no_cpu = {.cpus = (char *)""};
    md_device_rule deny = {.allow = false, .access = (char *)"rwm"};
    md_resources devices_only = {
        .devices = &deny, .n_devices = 1, .memory = &no_mem, .cpu = &no_cpu};
    cr_expect_not(md_cg_wants_limits(&devices_only), "device rules are not limits");
    md_pids pids = {.has_limit = true, .limit = 0};
    md_resources with_pids = {.pids = &pids};
    cr_expect(md_cg_wants_limits(&with_pids));
    md_cpu cpus = {.cpus = (char *)"0"};
    md_resources with_cpus = {.cpu = &cpus};
    cr_expect(md_cg_wants_limits(&with_cpus));
    md_kv kv = {(char *)"memory.max", (char *)"1M"};
    md_resources with_unified = {.unified = &kv, .n_unified = 1};
    cr_expect(md_cg_wants_limits(&with_unified));
}

Test(cgroup_request, device_rules_append_runc_defaults)
{
    md_device_rule mine[] = {
        {.allow = false, .access = (char *)"rwm"},
        {.allow = false,
         .type = (char *)"c",
         .has_major = true,
         .major = 1,
         .has_minor = true,
         .minor = 3,
         .access = (char *)"rwm"},
    };
    md_resources res = {.devices = mine, .n_devices = 2};
    md_device_rule *rules;
    size_t n;
    md_error err = {0};
    cr_assert_eq(md_cg_device_rules(&res, &rules, &n, &err), 0);
    cr_assert_gt(n, 2);
    cr_expect_not(rules[0].allow);
    cr_expect_eq(rules[1].minor, 3);
    bool null = false, pts = false, mknod_c = false;
    for (size_t i = 2; i < n; i++) {
        cr_expect(rules[i].allow, "defaults only allow");
        if (rules[i].has_major && rules[i].major == 1 && rules[i].has_minor && rules[i].minor == 3)
            null = strcmp(rules[i].access, "rwm") == 0;
        if (rules[i].has_major && rules[i].major == 136 && !rules[i].has_minor)
            pts = true;
        if (!rules[i].has_major && strcmp(rules[i].type, "c") == 0)
            mknod_c = strcmp(rules[i].access, "m") == 0;
    }
    cr_expect(null && pts && mknod_c, "/dev/null, /dev/pts/*, mknod c");
    free(rules);

    md_resources none = {0};
    cr_expect_eq(md_cg_device_rules(&none, &rules, &n, &err), 0);
    cr_expect_null(rules);
    cr_expect_eq(n, 0);
}

/* ------------------------------------------------------------ the record */

Test(cgroup_record, no_cgroup_records_nothing)
{
    md_state_record rec = {0};
    rec.cgroup_path = strdup("/stale");
    rec.systemd_cgroup = true;
    md_error err = {0};
    cr_assert_eq(md_cgroup_record(NULL, &rec, &err), 0);
    cr_expect_null(rec.cgroup_path);
    cr_expect_null(rec.cgroup_manager);
    cr_expect_not(rec.systemd_cgroup);
    struct md_cgroup *cg = (struct md_cgroup *)&rec;
    cr_expect_eq(md_cgroup_open(&rec, &cg, &err), 0);
    cr_expect_null(cg);
    md_state_record_free(&rec);
}

Test(cgroup_record, null_cgroup_operations)
{
    md_error err = {0};
    cr_expect_eq(md_cgroup_enter(NULL, 1, &err), 0);
    cr_expect_eq(md_cgroup_destroy(NULL, &err), 0);
    cr_expect_eq(md_cgroup_clone_fd(NULL), -1);
    cr_expect_not(md_cgroup_is_frozen(NULL));
    cr_expect_eq(md_cgroup_oom_fd(NULL, &err), -1);
    cr_expect_eq(md_cgroup_freeze(NULL, true, &err), -1);
    cr_expect_eq(err.errnum, ENODEV);
    cr_expect_str_eq(err.msg, "the container has no cgroup");
    md_error_clear(&err);
    md_cgroup_free(NULL);
}

/* ----------------------------------------------- helpers on plain files */

Test(cgroup_files, write_and_read_name_the_file_and_value)
{
    char *dir = fx_tmpdir();
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    cr_assert_geq(fd, 0);
    char *file = fx_fmt("%s/memory.limit_in_bytes", dir);
    fx_write(file, "");
    md_error err = {0};
    cr_assert_eq(md_cg_write(fd, "memory.limit_in_bytes", "1048576", &err), 0, "%s", err.msg);
    char buf[64];
    cr_assert_eq(md_cg_read(fd, "memory.limit_in_bytes", buf, sizeof(buf), &err), 0);
    cr_expect_str_eq(buf, "1048576");

    cr_expect_eq(md_cg_write(fd, "memory.missing", "1048576", &err), -1);
    cr_expect_str_eq(err.msg, "cgroup memory.missing = \"1048576\": No such file or directory");
    md_error_clear(&err);

    fx_write(file, "0123456789\n");
    char small[8];
    cr_expect_eq(md_cg_read(fd, "memory.limit_in_bytes", small, sizeof(small), &err), -1);
    cr_expect_eq(err.errnum, EFBIG);
    md_error_clear(&err);

    close(fd);
    fx_rmtree(dir);
    free(file);
    free(dir);
}

Test(cgroup_files, read_pids_parses_cgroup_procs)
{
    char *dir = fx_tmpdir();
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char *file = fx_fmt("%s/cgroup.procs", dir);
    fx_write(file, "12\n345\n6\n");
    md_error err = {0};
    pid_t *pids;
    size_t n;
    cr_assert_eq(md_cg_read_pids(fd, "cgroup.procs", &pids, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_expect_eq(pids[0], 12);
    cr_expect_eq(pids[1], 345);
    cr_expect_eq(pids[2], 6);
    free(pids);

    fx_write(file, "");
    cr_assert_eq(md_cg_read_pids(fd, "cgroup.procs", &pids, &n, &err), 0);
    cr_expect_eq(n, 0);
    free(pids);

    fx_write(file, "12\nabc\n");
    cr_expect_eq(md_cg_read_pids(fd, "cgroup.procs", &pids, &n, &err), -1);
    cr_expect(strstr(err.msg, "not a list of pids"), "%s", err.msg);
    md_error_clear(&err);
    close(fd);
    fx_rmtree(dir);
    free(file);
    free(dir);
}

Test(cgroup_files, mkdirs_then_rmdirs_deepest_first)
{
    char *dir = fx_tmpdir();
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    md_error err = {0};
    int leaf = md_cg_mkdirs(fd, "/a/b/c", &err);
    cr_assert_geq(leaf, 0, "%s", err.msg);
    close(leaf);
    /* Existing levels are fine, a child cgroup below the leaf goes too. */
    leaf = md_cg_mkdirs(fd, "a/b/c/child", &err);
    cr_assert_geq(leaf, 0, "%s", err.msg);
    close(leaf);
    struct stat st;
    char *c = fx_fmt("%s/a/b/c/child", dir), *b = fx_fmt("%s/a/b", dir);
    cr_expect_eq(stat(c, &st), 0);

    cr_expect_eq(md_cg_mkdirs(fd, "a/../x", &err), -1);
    md_error_clear(&err);

    cr_assert_eq(md_cg_rmdirs(fd, "/a/b/c", &err), 0, "%s", err.msg);
    cr_expect_neq(stat(c, &st), 0);
    cr_expect_eq(stat(b, &st), 0, "the parents stay, as runc leaves them");
    cr_expect_eq(md_cg_rmdirs(fd, "/a/b/c", &err), 0, "already gone is fine");
    cr_expect_eq(md_cg_rmdirs(fd, "/", &err), -1, "never the root");
    md_error_clear(&err);

    close(fd);
    fx_rmtree(dir);
    free(c);
    free(b);
    free(dir);
}
