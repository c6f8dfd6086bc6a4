/* test-check.c - `mdrun check` against a fixture host: fake sysctls,
 * /proc/self/status, subuid files, PATH directories and probes; each
 * problem must give its line with the fix, and create's errors the same
 * fix text. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "check.h"
#include "error.h"
#include "fixture.h"
#include "spec.h"
#include "userns.h"

/* ------------------------------------------------------------- fixture */

static char *tmp;
static struct md_check_env env;
static struct md_check_report report;
static struct md_check_cgroup fake_cg;
static int fake_userns_errno, fake_openat2_errno;

static int fake_userns(void)
{
    return fake_userns_errno;
}

static int fake_openat2(void)
{
    return fake_openat2_errno;
}

static void fake_cgroup(const struct md_check_env *e, struct md_check_cgroup *out)
{
    (void)e;
    *out = fake_cg;
}

/* tmp/rel in one of a few rotating buffers. */
static const char *at(const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *buf = bufs[next++ % 8];
    snprintf(buf, sizeof(bufs[0]), "%s/%s", tmp, rel);
    return buf;
}

static void mkdirs(const char *rel)
{
    char *path = strdup(at(rel));
    for (char *p = path + strlen(tmp) + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
        *p = saved;
        if (!saved)
            break;
    }
    free(path);
}

static void write_at(const char *rel, const char *content)
{
    fx_write(at(rel), content);
}

/* A program file in tmp/bin with the given mode. */
static void program(const char *name, mode_t mode)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "bin/%s", name);
    write_at(rel, "#!/bin/sh\nexit 0\n");
    cr_assert(chmod(at(rel), mode) == 0);
}

/* A healthy unprivileged user's host: everything in place but newuidmap,
 * newgidmap (tests add them as they need). */
static void setup(void)
{
    tmp = fx_tmpdir();
    mkdirs("proc/sys/user");
    mkdirs("proc/sys/kernel");
    mkdirs("bin");
    mkdirs("xdg");
    write_at("proc/sys/user/max_user_namespaces", "15000\n");
    write_at("status", "Name:\tcat\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    write_at("subuid", "alice:100000:65536\nbob:165536:65536\n");
    write_at("subgid", "alice:100000:65536\nbob:165536:65536\n");
    program("slirp4netns", 0755);

    memset(&env, 0, sizeof(env));
    env.caller = (struct md_id_caller){
        .uid = 1234,
        .gid = 1234,
        .name = "bob",
        .subuid_file = strdup(at("subuid")),
        .subgid_file = strdup(at("subgid")),
    };
    env.rootless = true;
    env.root = (struct md_root_env){
        .euid = 1234,
        .user = "bob",
        .xdg_runtime_dir = strdup(at("xdg")),
        .system_root = strdup(at("run/mdrun")),
        .run_user = strdup(at("run/user")),
        .tmp = strdup(at("tmp")),
    };
    env.proc_sys = strdup(at("proc/sys"));
    env.proc_status = strdup(at("status"));
    env.path = strdup(at("bin"));
    env.system_bus = strdup(at("run/dbus/system_bus_socket"));
    env.systemd_private = strdup(at("run/systemd/private"));
    env.probe_userns = fake_userns;
    env.probe_openat2 = fake_openat2;
    env.probe_cgroup = fake_cgroup;
    fake_userns_errno = 0;
    fake_openat2_errno = 0;
    fake_cg = (struct md_check_cgroup){.layout = MD_CG_V2, .delegated = true};
    snprintf(fake_cg.controllers, sizeof(fake_cg.controllers), "cpuset cpu io memory pids");
    memset(&report, 0, sizeof(report));
}

static void teardown(void)
{
    md_check_report_free(&report);
    free((char *)env.caller.subuid_file);
    free((char *)env.caller.subgid_file);
    free((char *)env.root.xdg_runtime_dir);
    free((char *)env.root.system_root);
    free((char *)env.root.run_user);
    free((char *)env.root.tmp);
    free((char *)env.proc_sys);
    free((char *)env.proc_status);
    free((char *)env.path);
    free((char *)env.system_bus);
    free((char *)env.systemd_private);
    fx_rmtree(tmp);
    free(tmp);
}

static void run_checks(void)
{
    md_check_report_free(&report);
    md_error err = {0};
    cr_assert_eq(md_check_run(&env, &report, &err), 0, "%s", err.msg);
}

static const struct md_check_item *item(const char *name)
{
    for (size_t i = 0; i < report.n; i++)
        if (strcmp(report.items[i].name, name) == 0)
            return &report.items[i];
    return NULL;
}

/* The check's line: level, a word of the message, and a word of the fix
 * (NULL: there must be no fix).  An error fails the whole report. */
static void expect(const char *name, enum md_check_level level, const char *in_msg,
                   const char *in_fix)
{
    const struct md_check_item *it = item(name);
    cr_assert(it, "no line for check %s", name);
    cr_expect_eq(it->level, level, "%s: level %s, want %s: %s", name,
                 md_check_level_name(it->level), md_check_level_name(level), it->msg);
    if (level == MD_CHECK_ERROR)
        cr_expect_not(md_check_report_ok(&report), "%s is an error, yet the report is ok", name);
    cr_expect(strstr(it->msg, in_msg), "%s: \"%s\" does not mention \"%s\"", name, it->msg, in_msg);
    cr_expect_null(strchr(it->msg, '\n'), "%s: message is not one line", name);
    if (!in_fix) {
        cr_expect_null(it->fix, "%s: unexpected fix \"%s\"", name, it->fix);
        return;
    }
    cr_assert(it->fix, "%s: no fix: %s", name, it->msg);
    cr_expect(strstr(it->fix, in_fix), "%s: fix \"%s\" does not mention \"%s\"", name, it->fix,
              in_fix);
}

/* A host where the helpers are fine: setuid-root copies in tmp/bin.
 * Needs root to make them. */
static void good_helpers(void)
{
    struct statvfs vfs;
    if (geteuid() != 0)
        cr_skip_test("making setuid-root programs needs root");
    if (statvfs(tmp, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
        cr_skip_test("%s is on a nosuid filesystem", tmp);
    program("newuidmap", 04755);
    program("newgidmap", 04755);
}

TestSuite(check, .init = setup, .fini = teardown);

/* ------------------------------------------------------------- overall */

Test(check, healthy_host_passes_with_every_line)
{
    good_helpers();
    run_checks();
    cr_expect(md_check_report_ok(&report));
    static const char *const names[] = {"user.max_user_namespaces",
                                        "userns",
                                        "newuidmap",
                                        "newgidmap",
                                        "subuid",
                                        "subgid",
                                        "cgroup",
                                        "seccomp",
                                        "openat2",
                                        "slirp4netns",
                                        "state-root"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        cr_expect(item(names[i]) && item(names[i])->level == MD_CHECK_OK, "%s not ok: %s", names[i],
                  item(names[i]) ? item(names[i])->msg : "missing");
    /* The sysctls the kernel lacks give no line. */
    cr_expect_null(item("kernel.unprivileged_userns_clone"));
    cr_expect_null(item("kernel.apparmor_restrict_unprivileged_userns"));
    expect("subuid", MD_CHECK_OK, "165536:65536", NULL);
    expect("newuidmap", MD_CHECK_OK, "setuid root", NULL);
}

Test(check, warnings_do_not_fail)
{
    good_helpers();
    fake_openat2_errno = ENOSYS;
    run_checks();
    expect("openat2", MD_CHECK_WARNING, "no openat2", "Linux 5.6");
    expect("systemd", MD_CHECK_WARNING, "no systemd user session", "loginctl enable-linger bob");
    cr_expect(md_check_report_ok(&report));
}

/* ------------------------------------------------------ user namespaces */

Test(check, max_user_namespaces_zero)
{
    write_at("proc/sys/user/max_user_namespaces", "0\n");
    fake_userns_errno = ENOSPC;
    run_checks();
    expect("user.max_user_namespaces", MD_CHECK_ERROR, "is 0",
           "sysctl -w user.max_user_namespaces=15000");
    /* The live test names the same fix, as create's error does. */
    char fix[512];
    cr_assert(md_check_userns_fix(env.proc_sys, false, ENOSPC, fix, sizeof(fix)));
    expect("userns", MD_CHECK_ERROR, strerror(ENOSPC), fix);
}

Test(check, max_user_namespaces_zero_warns_root)
{
    write_at("proc/sys/user/max_user_namespaces", "0\n");
    env.rootless = false;
    env.root.euid = 0;
    run_checks();
    expect("user.max_user_namespaces", MD_CHECK_WARNING, "is 0", "user.max_user_namespaces=15000");
}

Test(check, unprivileged_userns_clone_off)
{
    write_at("proc/sys/kernel/unprivileged_userns_clone", "0\n");
    fake_userns_errno = EPERM;
    run_checks();
    expect("kernel.unprivileged_userns_clone", MD_CHECK_ERROR, "only root",
           "sysctl -w kernel.unprivileged_userns_clone=1");
    expect("userns", MD_CHECK_ERROR, strerror(EPERM), "kernel.unprivileged_userns_clone=1");
}

Test(check, unprivileged_userns_clone_on_and_root)
{
    write_at("proc/sys/kernel/unprivileged_userns_clone", "1\n");
    run_checks();
    expect("kernel.unprivileged_userns_clone", MD_CHECK_OK, "is 1", NULL);
    write_at("proc/sys/kernel/unprivileged_userns_clone", "0\n");
    env.rootless = false;
    run_checks();
    expect("kernel.unprivileged_userns_clone", MD_CHECK_OK, "only unprivileged", NULL);
}

Test(check, apparmor_restriction)
{
    write_at("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n");
    fake_userns_errno = EACCES;
    run_checks();
    expect("kernel.apparmor_restrict_unprivileged_userns", MD_CHECK_ERROR, "AppArmor",
           "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
    expect("userns", MD_CHECK_ERROR, strerror(EACCES), "apparmor_restrict_unprivileged_userns=0");
    write_at("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0\n");
    fake_userns_errno = 0;
    run_checks();
    expect("kernel.apparmor_restrict_unprivileged_userns", MD_CHECK_OK, "is 0", NULL);
}

Test(check, userns_refused_for_another_reason)
{
    fake_userns_errno = EPERM;
    run_checks();
    expect("userns", MD_CHECK_ERROR, strerror(EPERM), "unshare(2)");
    char fix[512];
    cr_expect_null(md_check_userns_fix(env.proc_sys, false, EPERM, fix, sizeof(fix)));
}

Test(check, userns_fix_for_root_ignores_unprivileged_sysctls)
{
    char fix[512];
    write_at("proc/sys/kernel/unprivileged_userns_clone", "0\n");
    cr_expect_null(md_check_userns_fix(env.proc_sys, true, EPERM, fix, sizeof(fix)));
    cr_expect(md_check_userns_fix(env.proc_sys, false, EPERM, fix, sizeof(fix)));
    /* The count, exhausted, stops root too. */
    const char *f = md_check_userns_fix(env.proc_sys, true, ENOSPC, fix, sizeof(fix));
    cr_assert(f);
    cr_expect(strstr(f, "user.max_user_namespaces"));
}

Test(check, userns_error_of_create_ends_with_the_fix)
{
    /* md_check_userns_error reads the real /proc/sys: compare it with the
     * fix computed from there. */
    char fix[512];
    md_error err = {0};
    const char *f = md_check_userns_fix("/proc/sys", false, ENOSPC, fix, sizeof(fix));
    cr_assert_eq(md_check_userns_error(&err, ENOSPC, false), -1);
    cr_expect(strncmp(err.msg, "create user namespace: ", 23) == 0, "%s", err.msg);
    if (f) {
        char *tail = NULL;
        cr_assert(asprintf(&tail, "; fix: %s", f) > 0);
        size_t n = strlen(err.msg), t = strlen(tail);
        cr_expect(n > t && strcmp(err.msg + n - t, tail) == 0, "%s", err.msg);
        free(tail);
    }
    md_error_clear(&err);
}

/* ------------------------------------------------ newuidmap, newgidmap */

Test(check, helpers_missing)
{
    run_checks();
    expect("newuidmap", MD_CHECK_ERROR, "not in PATH", "apt-get install uidmap");
    expect("newgidmap", MD_CHECK_ERROR, "not in PATH", "apt-get install uidmap");
}

Test(check, helpers_not_privileged)
{
    program("newuidmap", 0755);
    program("newgidmap", 0755);
    run_checks();
    char want[4200];
    snprintf(want, sizeof(want), "chmod u+s %s", at("bin/newuidmap"));
    expect("newuidmap", MD_CHECK_ERROR, "neither setuid root nor has cap_setuid", want);
    expect("newgidmap", MD_CHECK_ERROR, "cap_setgid", "setcap cap_setgid+ep");
    /* The same text create appends when the helper fails. */
    char fix[512];
    cr_assert(md_check_helper_fix(env.path, "newuidmap", fix, sizeof(fix)));
    cr_expect_str_eq(item("newuidmap")->fix, fix);
}

Test(check, helpers_as_root)
{
    env.rootless = false;
    run_checks();
    expect("newuidmap", MD_CHECK_OK, "not needed as root", NULL);
}

Test(check, helper_fix_none_when_privileged)
{
    good_helpers();
    char fix[512];
    cr_expect_null(md_check_helper_fix(env.path, "newuidmap", fix, sizeof(fix)));
}

/* ---------------------------------------------------- subordinate ids */

Test(check, no_subordinate_ids)
{
    env.caller.name = "carol";
    env.caller.uid = env.root.euid = 2000;
    run_checks();
    /* Above every granted range (bob's ends at 231072), 65536-aligned. */
    const char *fix = "usermod --add-subuids 262144-327679 --add-subgids 262144-327679 carol";
    expect("subuid", MD_CHECK_ERROR, "grants carol (uid 2000) no range", fix);
    expect("subgid", MD_CHECK_ERROR, "no range", fix);
}

Test(check, no_subid_files)
{
    unlink(at("subuid"));
    unlink(at("subgid"));
    run_checks();
    expect("subuid", MD_CHECK_ERROR, "no range", "usermod --add-subuids 131072-196607");
}

Test(check, subordinate_ids_by_uid)
{
    write_at("subuid", "1234:300000:65536\n");
    write_at("subgid", "1234:300000:65536\n");
    env.caller.name = NULL;
    run_checks();
    expect("subuid", MD_CHECK_OK, "300000:65536", NULL);
    write_at("subuid", "");
    run_checks();
    expect("subuid", MD_CHECK_ERROR, "no range", "add the line 1234:393216:65536");
}

Test(check, small_range_warns)
{
    write_at("subuid", "bob:100000:1000\n");
    run_checks();
    expect("subuid", MD_CHECK_WARNING, "1000 ids", "usermod --add-subuids 262144-327679 bob");
}

Test(check, subids_not_needed_as_root)
{
    env.rootless = false;
    unlink(at("subuid"));
    run_checks();
    expect("subuid", MD_CHECK_OK, "not needed as root", NULL);
}

/* create refuses maps /etc/subuid does not grant with the check's fix. */
Test(check, userns_plan_error_ends_with_the_fix)
{
    static const char json[] = "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"},"
                               " \"process\": {\"cwd\": \"/\", \"args\": [\"sh\"],"
                               " \"user\": {\"uid\": 0, \"gid\": 0}},"
                               " \"linux\": {\"uidMappings\": [{\"containerID\": 0, \"hostID\": "
                               "2000, \"size\": 1}, {\"containerID\": 1, \"hostID\": 500000, "
                               "\"size\": 100}], \"gidMappings\": [{\"containerID\": 0, "
                               "\"hostID\": 2000, \"size\": 1}]}}";
    md_spec *spec = NULL;
    md_errors problems = {0};
    cr_assert_eq(md_spec_load_string(json, strlen(json), "config.json", &spec, &problems), 0);
    env.caller.name = "carol";
    env.caller.uid = env.caller.gid = 2000;
    struct md_idmaps maps;
    md_error err = {0};
    cr_assert_lt(md_userns_plan(spec, &env.caller, &maps, &err), 0);
    char fix[512], tail[600];
    snprintf(tail, sizeof(tail), "; fix: %s", md_check_subid_fix(&env.caller, fix, sizeof(fix)));
    size_t n = strlen(err.msg), t = strlen(tail);
    cr_expect(n > t && strcmp(err.msg + n - t, tail) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "no range"), "%s", err.msg);
    /* The check prints the same text. */
    run_checks();
    cr_expect_str_eq(item("subuid")->fix, fix);
    md_error_clear(&err);
    md_spec_free(spec);
}

/* -------------------------------------------------------------- cgroups */

Test(check, cgroup_hybrid_rootless)
{
    fake_cg = (struct md_check_cgroup){.layout = MD_CG_HYBRID};
    run_checks();
    expect("cgroup", MD_CHECK_WARNING, "hybrid", "systemd.unified_cgroup_hierarchy=1");
}

Test(check, cgroup_v2_undelegated_and_partly)
{
    fake_cg = (struct md_check_cgroup){.layout = MD_CG_V2};
    run_checks();
    expect("cgroup", MD_CHECK_WARNING, "no cgroup is delegated to bob", "Delegate=yes");
    fake_cg.delegated = true;
    snprintf(fake_cg.controllers, sizeof(fake_cg.controllers), "cpuset memory pids");
    run_checks();
    expect("cgroup", MD_CHECK_WARNING, "limits on cpu io are refused", "Delegate=cpu cpuset io");
    snprintf(fake_cg.controllers, sizeof(fake_cg.controllers), "cpu io memory pids");
    run_checks();
    expect("cgroup", MD_CHECK_OK, "delegated to bob: cpu io memory pids", NULL);
}

Test(check, cgroup_as_root_and_none)
{
    env.rootless = false;
    fake_cg = (struct md_check_cgroup){.layout = MD_CG_HYBRID, .delegated = true};
    snprintf(fake_cg.controllers, sizeof(fake_cg.controllers), "cpu memory pids");
    run_checks();
    expect("cgroup", MD_CHECK_OK, "root uses every controller: cpu memory pids", NULL);
    fake_cg = (struct md_check_cgroup){.layout = MD_CG_NONE};
    run_checks();
    expect("cgroup", MD_CHECK_WARNING, "no cgroup filesystem", "mount -t cgroup2");
}

/* -------------------------------------------------------------- systemd */

static int listen_at(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s", path);
    cr_assert(listen(fd, 4) == 0);
    return fd;
}

Test(check, systemd_user_bus)
{
    int fd = listen_at(at("xdg/bus"));
    run_checks();
    expect("systemd", MD_CHECK_OK, "user bus at", NULL);
    close(fd);
    unlink(at("xdg/bus"));
    env.need_systemd = true;
    run_checks();
    expect("systemd", MD_CHECK_ERROR, "xdg/bus", "--cgroup-manager cgroupfs");
}

Test(check, systemd_for_root)
{
    env.rootless = false;
    run_checks();
    expect("systemd", MD_CHECK_WARNING, "system_bus_socket", "--cgroup-manager cgroupfs");
    mkdirs("run/systemd");
    int fd = listen_at(at("run/systemd/private"));
    run_checks();
    expect("systemd", MD_CHECK_OK, "run/systemd/private", NULL);
    close(fd);
}

/* ------------------------------------------------ seccomp, openat2, net */

Test(check, seccomp_missing_in_kernel)
{
    write_at("status", "Name:\tcat\n");
    run_checks();
    expect("seccomp", MD_CHECK_ERROR, "no Seccomp field", "CONFIG_SECCOMP_FILTER");
    write_at("status", "Seccomp:\t2\n");
    run_checks();
    expect("seccomp", MD_CHECK_OK, "already runs under a filter", NULL);
}

Test(check, openat2_blocked)
{
    fake_openat2_errno = EPERM;
    run_checks();
    expect("openat2", MD_CHECK_WARNING, strerror(EPERM), "seccomp policy");
}

Test(check, slirp4netns_missing)
{
    unlink(at("bin/slirp4netns"));
    run_checks();
    expect("slirp4netns", MD_CHECK_WARNING, "not in PATH", "apt-get install slirp4netns");
    env.rootless = false;
    run_checks();
    expect("slirp4netns", MD_CHECK_OK, "root connects", NULL);
}

/* ----------------------------------------------------------- state root */

Test(check, state_root_made_later_or_present)
{
    run_checks();
    expect("state-root", MD_CHECK_OK, "will be made in", NULL);
    mkdirs("xdg/mdrun");
    run_checks();
    expect("state-root", MD_CHECK_OK, "xdg/mdrun is writable", NULL);
}

Test(check, state_root_impossible)
{
    /* XDG_RUNTIME_DIR is a file: nothing can be made under it, whoever we are. */
    write_at("notadir", "x");
    free((char *)env.root.xdg_runtime_dir);
    env.root.xdg_runtime_dir = strdup(at("notadir"));
    run_checks();
    expect("state-root", MD_CHECK_ERROR, "notadir", "set XDG_RUNTIME_DIR to a directory of yours");
    const char *fix = item("state-root")->fix;
    cr_expect_null(strstr(item("state-root")->msg, "; fix:"), "fix twice: %s",
                   item("state-root")->msg);
    char want[512];
    cr_expect_str_eq(fix, md_check_state_root_fix(true, 1234, want, sizeof(want)));
}

Test(check, state_root_override)
{
    write_at("notadir", "x");
    env.root_override = at("notadir/state");
    run_checks();
    expect("state-root", MD_CHECK_ERROR, "notadir/state", "--root DIR");
}

Test(check, state_root_error_of_create_ends_with_the_fix)
{
    write_at("notadir", "x");
    char *path = NULL, fix[512];
    int fd = -1;
    md_error err = {0};
    cr_assert_lt(md_state_root_open_env(&env.root, at("notadir/state"), true, &path, &fd, &err), 0);
    struct md_root_env me;
    md_state_root_env_current(&me);
    md_check_state_root_fix(md_state_root_env_rootless(&me), me.euid, fix, sizeof(fix));
    char tail[600];
    snprintf(tail, sizeof(tail), "; fix: %s", fix);
    size_t n = strlen(err.msg), t = strlen(tail);
    cr_expect(n > t && strcmp(err.msg + n - t, tail) == 0, "%s", err.msg);
    md_error_clear(&err);
}

/* ------------------------------------------------------------- output */

Test(check, add_fix)
{
    md_error err = {0};
    md_fail(&err, EPERM, "do it");
    cr_expect_eq(md_check_add_fix(&err, NULL), -1);
    cr_expect_str_eq(err.msg, "do it: Operation not permitted");
    cr_expect_eq(md_check_add_fix(&err, "try harder"), -1);
    cr_expect_str_eq(err.msg, "do it: Operation not permitted; fix: try harder");
    cr_expect_eq(err.errnum, EPERM);
    md_error_clear(&err);
}

Test(check, json_report)
{
    run_checks(); /* newuidmap is missing: not ok */
    char *text = NULL;
    size_t len = 0;
    md_error err = {0};
    cr_assert_eq(md_check_report_json(&env, &report, &text, &len, &err), 0);
    cr_expect_eq(text[len - 1], '\n');
    char errbuf[256];
    yajl_val root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    cr_assert(root, "%s: %s", errbuf, text);
    const char *p_user[] = {"user", NULL}, *p_ok[] = {"ok", NULL}, *p_checks[] = {"checks", NULL};
    cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(root, p_user, yajl_t_string)), "bob");
    cr_expect(YAJL_IS_FALSE(yajl_tree_get(root, p_ok, yajl_t_any)));
    yajl_val checks = yajl_tree_get(root, p_checks, yajl_t_array);
    cr_assert(checks);
    cr_assert_eq(YAJL_GET_ARRAY(checks)->len, report.n);
    bool saw_fix = false;
    for (size_t i = 0; i < report.n; i++) {
        yajl_val c = YAJL_GET_ARRAY(checks)->values[i];
        const char *p_name[] = {"name", NULL}, *p_status[] = {"status", NULL},
                   *p_fix[] = {"fix", NULL};
        cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(c, p_name, yajl_t_string)),
                         report.items[i].name);
        cr_expect_str_eq(YAJL_GET_STRING(yajl_tree_get(c, p_status, yajl_t_string)),
                         md_check_level_name(report.items[i].level));
        yajl_val fix = yajl_tree_get(c, p_fix, yajl_t_string);
        cr_expect_eq(fix != NULL, report.items[i].fix != NULL);
        if (strcmp(report.items[i].name, "newuidmap") == 0) {
            const char *text_fix = fix ? fix->u.string : "";
            cr_expect(strstr(text_fix, "uidmap"), "%s", text_fix);
            saw_fix = true;
        }
    }
    cr_expect(saw_fix);
    yajl_tree_free(root);
    free(text);
}
