/* test-namespaces.c - the namespaces of config.json as the container sees
 * them: each type created, each one left out (then it is the host's), joined
 * by path, refused paths; and the user namespace's id maps, rootless and as
 * root.  Each behaviour that differs between root and an unprivileged user
 * runs as both. */
#define _GNU_SOURCE
#include "config.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

/* ------------------------------------------------------------- helpers */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Add the namespace, or change the path of the one already there. */
static void ns_set(md_spec *s, const char *type, const char *path)
{
    md_linux *l = ct_linux(s);
    for (size_t i = 0; i < l->n_namespaces; i++)
        if (strcmp(l->namespaces[i].type, type) == 0) {
            free(l->namespaces[i].path);
            l->namespaces[i].path = dup_or_null(path);
            return;
        }
    l->namespaces = realloc(l->namespaces, (l->n_namespaces + 1) * sizeof(*l->namespaces));
    cr_assert(l->namespaces);
    l->namespaces[l->n_namespaces++] = (md_namespace){strdup(type), dup_or_null(path)};
}

static void set_maps(md_idmap **maps, size_t *n, const md_idmap *from, size_t count)
{
    free(*maps);
    *maps = NULL;
    *n = count;
    if (count == 0)
        return;
    *maps = calloc(count, sizeof(**maps));
    cr_assert(*maps);
    memcpy(*maps, from, count * sizeof(**maps));
}

/* Replace both id maps (count 0: none, the default maps apply). */
static void set_id_maps(md_spec *s, const md_idmap *maps, size_t count)
{
    md_linux *l = ct_linux(s);
    set_maps(&l->uid_mappings, &l->n_uid_mappings, maps, count);
    set_maps(&l->gid_mappings, &l->n_gid_mappings, maps, count);
}

static void set_user(md_spec *s, uint32_t uid, uint32_t gid)
{
    s->process->user->uid = uid;
    s->process->user->gid = gid;
}

static void set_hostname(md_spec *s, const char *name)
{
    free(s->hostname);
    s->hostname = dup_or_null(name);
}

/* The target of /proc/PID/ns/NAME ("self" for this process). */
static char *ns_link(const char *pid, const char *name)
{
    char *path = fx_fmt("/proc/%s/ns/%s", pid, name);
    char buf[128];
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    cr_assert(n > 0, "readlink %s", path);
    buf[n] = '\0';
    free(path);
    return strdup(buf);
}

static char *slurp(const char *path)
{
    char *text = ct_read(path);
    cr_assert(text, "open %s", path);
    return text;
}

/* The container's output line starting with prefix, without it. */
static char *line_after(const char *out, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, len) == 0)
            return strndup(p + len, strcspn(p + len, "\n"));
    return NULL;
}

/* Collapse the padding of /proc/PID/uid_map: "0 1000 1\n..." */
static char *squeeze(const char *text)
{
    char *out = calloc(1, strlen(text) + 2), *w = out;
    cr_assert(out);
    for (const char *p = text; *p;) {
        if (*p == ' ' || *p == '\t') {
            while (*p == ' ' || *p == '\t')
                p++;
            if (w > out && w[-1] != '\n' && *p != '\n' && *p)
                *w++ = ' ';
            continue;
        }
        *w++ = *p++;
    }
    *w = '\0';
    return out;
}

static double uptime_now(void)
{
    char *text = slurp("/proc/uptime");
    double up = strtod(text, NULL);
    free(text);
    return up;
}

static bool have_time_ns(void)
{
    return access("/proc/self/ns/time", F_OK) == 0;
}

/* A container left running in the background (`run --detach`): its pid. */
static pid_t start_holder(struct hx_ctx *c, const char *bundle, const char *id)
{
    struct fx_result r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", bundle, id, NULL);
    cr_assert_eq(r.status, 0, "run --detach %s: exit %d: %s", id, r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
    pid_t pid = ct_expect_status(c, id, "running");
    cr_assert(pid > 0, "state %s: no pid", id);
    return pid;
}

/* delete --force: the container's init must be gone. */
static void delete_container(struct hx_ctx *c, const char *id, pid_t pid)
{
    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete --force %s: %s", id, r.err);
    fx_result_free(&r);
    for (int i = 0; i < 100 && hx_pid_alive(pid); i++)
        usleep(20000);
    cr_expect(!hx_pid_alive(pid), "the container's init %d outlived delete", (int)pid);
}

/* The first subordinate range of user name in an /etc/subuid-style file;
 * false when it has none. */
static bool subid_range(const char *file, const char *name, uint32_t *start, uint32_t *count)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return false;
    char line[512], owner[256];
    unsigned long long a, b;
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = sscanf(line, "%255[^:]:%llu:%llu", owner, &a, &b) == 3 &&
                strcmp(owner, name) == 0 && b >= 65536;
    fclose(f);
    if (found) {
        *start = (uint32_t)a;
        *count = (uint32_t)b;
    }
    return found;
}

static const char *user_name(uid_t uid)
{
    static char name[256];
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fopen("/etc/passwd", "re");
    cr_assert(f);
    name[0] = '\0';
    while (!name[0] && getline(&line, &cap, f) > 0) {
        char who[256];
        unsigned id;
        if (sscanf(line, "%255[^:]:%*[^:]:%u:", who, &id) == 2 && id == uid)
            snprintf(name, sizeof(name), "%s", who);
    }
    free(line);
    fclose(f);
    return name;
}

/* Both ranges of the unprivileged user, or skip: the test needs them. */
static void user_ranges(struct hx_ctx *c, md_idmap *uid, md_idmap *gid)
{
    const char *name = user_name(c->uid);
    if (!subid_range("/etc/subuid", name, &uid->host_id, &uid->size) ||
        !subid_range("/etc/subgid", name, &gid->host_id, &gid->size))
        hx_skip("user %s has no subordinate ids of 65536 or more in /etc/subuid and /etc/subgid",
                name);
}

/* The tests name_root and name_user: fn(who, ...) as root and as the user. */
#define BOTH(name, fn, ...)       \
    Test(namespaces, name##_root) \
    {                             \
        fn(HX_ROOT, __VA_ARGS__); \
    }                             \
    Test(namespaces, name##_user) \
    {                             \
        fn(HX_USER, __VA_ARGS__); \
    }

/* The same, for a helper taking only who. */
#define BOTH0(name, fn)           \
    Test(namespaces, name##_root) \
    {                             \
        fn(HX_ROOT);              \
    }                             \
    Test(namespaces, name##_user) \
    {                             \
        fn(HX_USER);              \
    }

/* ------------------------------------------------- each namespace, new */

TestSuite(namespaces);

/* Run script in a container that has a new namespace of type; the
 * container's link to it must differ from ours.  Returns stdout. */
static char *run_new(struct hx_ctx *c, const char *type, const char *proc, md_spec **edit,
                     const char *bundle, const char *script)
{
    md_spec *s = *edit;
    ns_set(s, type, NULL);
    char *full = fx_fmt("echo link=$(readlink /proc/self/ns/%s); %s", proc, script);
    char *out = ct_run_script(c, bundle, s, full);
    *edit = NULL;
    free(full);
    char *host = ns_link("self", proc);
    char *inside = line_after(out, "link=");
    cr_expect(inside && *inside, "no %s link in the output: %s", proc, out);
    cr_expect(inside && strcmp(inside, host) != 0, "%s namespace is the host's (%s)", type, host);
    free(host);
    free(inside);
    return out;
}

static void new_ns(enum hx_who who, const char *type, const char *proc)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    free(run_new(c, type, proc, &s, bundle, "true"));
    hx_assert_clean(c);
}

BOTH(new_mount, new_ns, "mount", "mnt")
BOTH(new_ipc, new_ns, "ipc", "ipc")
BOTH(new_user, new_ns, "user", "user")

static void new_pid(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    /* The glob runs in the shell itself: it is the only process. */
    char *out = run_new(c, "pid", "pid", &s, bundle,
                        "echo pid=$$; for p in /proc/[0-9]*; do echo proc=$p; done; "
                        "ps -o pid,comm | sed 1d | sed 's/^ */ps=/'");
    cr_expect(ct_has_line(out, "pid=1"), "the shell is not pid 1: %s", out);
    cr_expect(ct_has_line(out, "proc=/proc/1"), "/proc/1 missing: %s", out);
    /* ps, and the two seds of its pipeline, run beside the shell. */
    cr_expect(ct_has_line(out, "ps=1 sh"), "ps does not show the shell as 1: %s", out);
    size_t procs = 0, ps_lines = 0;
    for (const char *p = out; (p = strstr(p, "proc=")); p++)
        procs++;
    for (const char *p = out; (p = strstr(p, "ps=")); p++)
        ps_lines++;
    cr_expect_eq(procs, 1, "the container sees other processes: %s", out);
    cr_expect(ps_lines >= 2 && ps_lines <= 4, "ps shows other processes: %s", out);
    free(out);
    hx_assert_clean(c);
}

BOTH0(new_pid, new_pid)

static void new_uts(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    char before[256] = "", after[256] = "";
    gethostname(before, sizeof(before));
    set_hostname(s, "itest-uts");
    char *out = run_new(c, "uts", "uts", &s, bundle, "echo host=$(hostname)");
    gethostname(after, sizeof(after));
    cr_expect(ct_has_line(out, "host=itest-uts"), "hostname not set: %s", out);
    cr_expect_str_eq(after, before, "the host's hostname changed");
    free(out);
    hx_assert_clean(c);
}

BOTH0(new_uts, new_uts)

/* Interface names of a /proc/net/dev text, "lo,eth0,". */
static char *interfaces(const char *dev)
{
    char *names = calloc(1, strlen(dev) + 1);
    cr_assert(names);
    for (const char *p = dev; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *colon = strchr(p, ':'), *end = strchr(p, '\n');
        const char *name = p + strspn(p, " ");
        if (!colon || (end && colon > end) || colon == name ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@") !=
                (size_t)(colon - name))
            continue;
        strncat(names, name, (size_t)(colon - name));
        strcat(names, ",");
    }
    return names;
}

static void new_network(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    char *out = run_new(c, "network", "net", &s, bundle, "cat /proc/net/dev");
    char *names = interfaces(out);
    cr_expect_str_eq(names, "lo,", "interfaces in the container: %s", out);
    char *host_dev = slurp("/proc/net/dev");
    char *host = interfaces(host_dev);
    cr_expect_str_neq(host, "lo,", "the host has only lo: the test proves nothing");
    free(host);
    free(host_dev);
    free(names);
    free(out);
    hx_assert_clean(c);
}

BOTH0(new_network, new_network)

static void new_cgroup(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    char *out = run_new(c, "cgroup", "cgroup", &s, bundle, "cat /proc/self/cgroup");
    size_t lines = 0;
    for (const char *p = out; (p = strchr(p, '\n')); p++) {
        const char *start = p;
        while (start > out && start[-1] != '\n')
            start--;
        if (strncmp(start, "link=", 5) == 0)
            continue;
        lines++;
        cr_expect(p - start >= 2 && p[-1] == '/' && p[-2] == ':', "not the root cgroup: %.*s",
                  (int)(p - start), start);
    }
    cr_expect(lines > 0, "no /proc/self/cgroup lines: %s", out);
    free(out);
    hx_assert_clean(c);
}

BOTH0(new_cgroup, new_cgroup)

static void add_offset(md_spec *s, const char *clock, int64_t secs)
{
    md_linux *l = ct_linux(s);
    l->time_offsets = realloc(l->time_offsets, (l->n_time_offsets + 1) * sizeof(*l->time_offsets));
    cr_assert(l->time_offsets);
    l->time_offsets[l->n_time_offsets++] = (md_time_offset){
        .clock = strdup(clock), .has_secs = true, .secs = secs, .has_nanosecs = true};
}

#define MONOTONIC_OFFSET (7 * 86400)
#define BOOTTIME_OFFSET  (3 * 86400)

static void new_time(enum hx_who who)
{
    if (!have_time_ns())
        hx_skip("this kernel has no time namespaces");
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    add_offset(s, "monotonic", MONOTONIC_OFFSET);
    add_offset(s, "boottime", BOOTTIME_OFFSET);
    double before = uptime_now();
    char *out = run_new(c, "time", "time", &s, bundle,
                        "echo up=$(cat /proc/uptime); cat /proc/self/timens_offsets");
    double after = uptime_now();
    char *offsets = squeeze(out);
    cr_expect(strstr(offsets, "monotonic 604800 0\n"), "monotonic offset: %s", out);
    cr_expect(strstr(offsets, "boottime 259200 0\n"), "boottime offset: %s", out);
    char *up = line_after(out, "up=");
    cr_assert(up, "no uptime: %s", out);
    double inside = strtod(up, NULL) - BOOTTIME_OFFSET;
    cr_expect(inside >= before - 1 && inside <= after + 1,
              "uptime inside %s is not the host's %.2f..%.2f + %d", up, before, after,
              BOOTTIME_OFFSET);
    free(up);
    free(offsets);
    free(out);
    hx_assert_clean(c);
}

BOTH0(new_time, new_time)

/* ------------------------------------------- each namespace, left out */

/* Without the namespace in config.json the container has the host's. */
static void absent_ns(enum hx_who who, const char *type, const char *proc)
{
    if (strcmp(proc, "time") == 0 && !have_time_ns())
        hx_skip("this kernel has no time namespaces");
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_del_ns(s, type);
    if (strcmp(type, "uts") == 0)
        set_hostname(s, NULL);
    /* Without an IPC namespace of its own an unprivileged user cannot
     * mount mqueue (and this host has no /dev/mqueue to bind instead). */
    if (strcmp(type, "ipc") == 0 && who == HX_USER)
        ct_del_mount(s, "/dev/mqueue");
    char *script = fx_fmt("echo link=$(readlink /proc/self/ns/%s)", proc);
    char *out = ct_run_script(c, bundle, s, script);
    char *inside = line_after(out, "link=");
    char *host = ns_link("self", proc);
    cr_expect(inside && strcmp(inside, host) == 0, "%s namespace: container %s, host %s", type,
              inside, host);
    free(host);
    free(inside);
    free(out);
    free(script);
    hx_assert_clean(c);
}

BOTH(absent_pid, absent_ns, "pid", "pid")
BOTH(absent_ipc, absent_ns, "ipc", "ipc")
BOTH(absent_uts, absent_ns, "uts", "uts")
BOTH(absent_network, absent_ns, "network", "net")
BOTH(absent_cgroup, absent_ns, "cgroup", "cgroup")
BOTH(absent_time, absent_ns, "time", "time")

Test(namespaces, absent_user_root)
{
    absent_ns(HX_ROOT, "user", "user");
}

/* mdrun builds the root filesystem in the container's mount namespace:
 * without one it would pivot the host's.  It must refuse, and leave the
 * host's mounts alone.  As root the attempt runs in a throwaway mount
 * namespace, so that a regression cannot damage the machine. */
static void absent_mount(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ct_del_ns(s, "mount");
    ct_save_script(bundle, s, "echo ran");
    char *id = hx_id("nomnt");
    const char *argv[] = {"unshare", "-m",    "--propagation", "private",  hx_mdrun_bin(),
                          "--root",  c->root, "run",           "--bundle", bundle,
                          id,        NULL};
    struct fx_result r = who == HX_ROOT ? hx_run(c, NULL, argv)
                                        : hx_mdrun(c, NULL, "run", "--bundle", bundle, id, NULL);
    cr_expect_eq(r.status, 1, "exit %d; stdout %s; stderr %s", r.status, r.out, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran: %s", r.out);
    cr_expect(strstr(r.err, "mount namespace"), "the error does not name the mount namespace: %s",
              r.err);
    fx_result_free(&r);
    free(id);
    hx_assert_clean(c);
}

BOTH0(absent_mount_refused, absent_mount)

/* ------------------------------------------------------ joined by path */

/* A second container joins the network, uts, ipc, pid and time namespaces of a
 * running one (and, rootless, its user namespace) by /proc/PID/ns/X. */
static void join_by_path(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *holder = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(holder);
    ns_set(s, "network", NULL);
    set_hostname(s, "itest-holder");
    bool time = have_time_ns();
    if (time) {
        ns_set(s, "time", NULL);
        add_offset(s, "boottime", BOOTTIME_OFFSET);
    }
    hx_spec_set_args(s, "sleep", "600", NULL);
    s->process->terminal = false;
    hx_spec_save(holder, s);
    md_spec_free(s);
    char *holder_id = hx_id("holder");
    pid_t pid = start_holder(c, holder, holder_id);

    static const char *const joined[][2] = {{"network", "net"}, {"uts", "uts"},   {"ipc", "ipc"},
                                            {"pid", "pid"},     {"time", "time"}, {"user", "user"}};
    size_t n_joined = sizeof(joined) / sizeof(joined[0]);
    bool skip[sizeof(joined) / sizeof(joined[0])] = {[4] = !time, [5] = who != HX_USER};
    const char *bundle = ct_bundle(c, 0);
    s = hx_spec_load(bundle);
    char pidtext[32];
    snprintf(pidtext, sizeof(pidtext), "%d", (int)pid);
    for (size_t i = 0; i < n_joined; i++) {
        if (skip[i])
            continue;
        char *path = fx_fmt("/proc/%d/ns/%s", (int)pid, joined[i][1]);
        ns_set(s, joined[i][0], path);
        free(path);
    }
    /* The hostname is the holder's: setting one would change it. */
    set_hostname(s, NULL);
    if (who == HX_USER)
        set_id_maps(s, NULL, 0);
    char *out =
        ct_run_script(c, bundle, s,
                      "echo host=$(hostname); echo self=$$; for p in /proc/[0-9]*; do echo "
                      "proc=$p; done; for n in net uts ipc pid time user; do echo $n=$(readlink "
                      "/proc/self/ns/$n); done; cat /proc/net/dev /proc/self/timens_offsets");
    cr_expect(ct_has_line(out, "host=itest-holder"), "not the holder's hostname: %s", out);
    cr_expect(!ct_has_line(out, "self=1"), "a new pid namespace (the shell is pid 1): %s", out);
    cr_expect(ct_has_line(out, "proc=/proc/1"), "the holder's init is not visible: %s", out);
    for (size_t i = 0; i < n_joined; i++) {
        if (skip[i])
            continue;
        char *want = ns_link(pidtext, joined[i][1]);
        char *prefix = fx_fmt("%s=", joined[i][1]);
        char *got = line_after(out, prefix);
        cr_expect(got && strcmp(got, want) == 0, "%s namespace %s, the holder's is %s",
                  joined[i][0], got, want);
        free(got);
        free(prefix);
        free(want);
    }
    char *names = interfaces(out);
    cr_expect_str_eq(names, "lo,", "interfaces: %s", out);
    char *flat = squeeze(out);
    cr_expect(!time || strstr(flat, "boottime 259200 0\n"), "not the holder's clocks: %s", out);
    free(flat);
    free(names);
    free(out);
    cr_expect(hx_pid_alive(pid), "the holder died");
    delete_container(c, holder_id, pid);
    free(holder_id);
    hx_assert_clean(c);
}

BOTH0(join_by_path, join_by_path)

static size_t ns_index(const md_spec *s, const char *type)
{
    for (size_t i = 0; i < s->linux_->n_namespaces; i++)
        if (strcmp(s->linux_->namespaces[i].type, type) == 0)
            return i;
    cr_assert_fail("no %s namespace in the spec", type);
    return 0;
}

/* A bad path is refused by name, with one line, before anything is made. */
static void bad_path(enum hx_who who, const char *path, const char *why)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    size_t index = ns_index(s, "ipc");
    ns_set(s, "ipc", path);
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    char *want = fx_fmt("linux.namespaces[%zu].path: %s", index, why);
    cr_expect_eq(r.status, 1, "exit %d; stderr %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran: %s", r.out);
    cr_expect(strstr(r.err, want), "error %s does not say: %s", r.err, want);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
    free(want);
    fx_result_free(&r);
    hx_assert_clean(c);
}

static void wrong_type(enum hx_who who)
{
    bad_path(who, "/proc/self/ns/uts", "/proc/self/ns/uts is a uts namespace, not ipc");
}

static void missing_path(enum hx_who who)
{
    char *path = fx_fmt("/nonexistent-%d/ns/ipc", (int)getpid());
    char *why = fx_fmt("open %s: No such file or directory", path);
    bad_path(who, path, why);
    free(why);
    free(path);
}

static void not_a_namespace(enum hx_who who)
{
    bad_path(who, "/etc/hostname", "/etc/hostname is not a namespace");
}

BOTH0(join_wrong_type, wrong_type)

BOTH0(join_missing_path, missing_path)

BOTH0(join_not_a_namespace, not_a_namespace)

/* create with every namespace, then delete: the init is gone, and so are
 * its state and mounts. */
static void delete_leaves_nothing(enum hx_who who)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    static const char *const all[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        ns_set(s, all[i], NULL);
    if (who == HX_USER || have_time_ns())
        ns_set(s, who == HX_USER ? "user" : "time", NULL);
    hx_spec_set_args(s, "sleep", "600", NULL);
    s->process->terminal = false;
    hx_spec_save(bundle, s);
    md_spec_free(s);
    char *id = hx_id("all");
    ct_create(c, bundle, id);
    pid_t pid = ct_expect_status(c, id, "created");
    cr_assert(pid > 0, "state %s: no pid", id);
    cr_expect(hx_pid_alive(pid), "no init after create");
    delete_container(c, id, pid);
    cr_expect(!hx_state_exists(c, id), "state left behind");
    free(id);
    hx_assert_clean(c);
}

BOTH0(delete_leaves_nothing, delete_leaves_nothing)

/* --------------------------------------------------------- id mappings */

TestSuite(userns);

/* The container's uid_map, gid_map and setgroups, padding collapsed. */
static char *id_files(struct hx_ctx *c, const char *bundle, md_spec *s, const char *extra)
{
    char *script = fx_fmt("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
                          "cat /proc/self/setgroups; %s",
                          extra ? extra : "");
    char *out = ct_run_script(c, bundle, s, script);
    char *flat = squeeze(out);
    free(out);
    free(script);
    return flat;
}

Test(userns, rootless_own_id_written_directly)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = ct_bundle(c, 0);
    char *got = id_files(c, bundle, hx_spec_load(bundle), NULL);
    char *want = fx_fmt("0 %u 1\n--\n0 %u 1\n--\ndeny\n", (unsigned)c->uid, (unsigned)c->gid);
    cr_expect_str_eq(got, want);
    free(want);
    free(got);
    hx_assert_clean(c);
}

/* Several ranges from /etc/subuid go through newuidmap/newgidmap; the
 * container's uid 1000 really is the matching subordinate id: a file it
 * makes in a bind-mounted directory belongs to it on the host. */
Test(userns, rootless_subuid_ranges)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    md_idmap sub_u = {0}, sub_g = {0};
    user_ranges(c, &sub_u, &sub_g);
    const char *bundle = ct_bundle(c, 0);
    char *shared = fx_fmt("%s/shared", c->dir);
    cr_assert(mkdir(shared, 0777) == 0 && chmod(shared, 0777) == 0);
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    md_idmap u[] = {{0, c->uid, 1}, {1, sub_u.host_id, sub_u.size}};
    md_idmap g[] = {{0, c->gid, 1}, {1, sub_g.host_id, sub_g.size}};
    set_maps(&l->uid_mappings, &l->n_uid_mappings, u, 2);
    set_maps(&l->gid_mappings, &l->n_gid_mappings, g, 2);
    set_user(s, 1000, 1000);
    s->mounts = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
    cr_assert(s->mounts);
    s->mounts[s->n_mounts] = (md_mount){
        .destination = strdup("/shared"), .type = strdup("bind"), .source = strdup(shared)};
    md_strv_push(&s->mounts[s->n_mounts].options, &s->mounts[s->n_mounts].n_options, "bind");
    s->n_mounts++;
    char *got = id_files(c, bundle, s, "echo id=$(id -u):$(id -g); touch /shared/made");
    char *want = fx_fmt("0 %u 1\n1 %u %u\n--\n0 %u 1\n1 %u %u\n--\n", (unsigned)c->uid,
                        sub_u.host_id, sub_u.size, (unsigned)c->gid, sub_g.host_id, sub_g.size);
    cr_expect(strncmp(got, want, strlen(want)) == 0, "maps:\n%s\nwant:\n%s", got, want);
    cr_expect(ct_has_line(got, "id=1000:1000"), "ids in the container: %s", got);
    char *made = fx_fmt("%s/made", shared);
    struct stat st;
    cr_expect(stat(made, &st) == 0, "no %s", made);
    cr_expect_eq(st.st_uid, sub_u.host_id + 999, "owner %u, want %u", (unsigned)st.st_uid,
                 sub_u.host_id + 999);
    cr_expect_eq(st.st_gid, sub_g.host_id + 999, "group %u, want %u", (unsigned)st.st_gid,
                 sub_g.host_id + 999);
    free(made);
    free(want);
    free(got);
    free(shared);
    hx_assert_clean(c);
}

/* No maps in config.json: the process's own id is the user's, every other
 * id from 0 up comes from the subordinate range. */
static void default_maps(uint32_t id)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    md_idmap sub_u = {0}, sub_g = {0};
    user_ranges(c, &sub_u, &sub_g);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    set_id_maps(s, NULL, 0);
    set_user(s, id, id);
    char *got = id_files(c, bundle, s, "echo id=$(id -u):$(id -g)");
    char *want;
    if (id == 0)
        want = fx_fmt("0 %u 1\n1 %u %u\n--\n0 %u 1\n1 %u %u\n--\n", (unsigned)c->uid, sub_u.host_id,
                      sub_u.size, (unsigned)c->gid, sub_g.host_id, sub_g.size);
    else
        want = fx_fmt("%u %u 1\n0 %u %u\n%u %u %u\n--\n%u %u 1\n0 %u %u\n%u %u %u\n--\n", id,
                      (unsigned)c->uid, sub_u.host_id, id, id + 1, sub_u.host_id + id,
                      sub_u.size - id, id, (unsigned)c->gid, sub_g.host_id, id, id + 1,
                      sub_g.host_id + id, sub_g.size - id);
    cr_expect(strncmp(got, want, strlen(want)) == 0, "maps:\n%s\nwant:\n%s", got, want);
    char *ids = fx_fmt("id=%u:%u", id, id);
    cr_expect(ct_has_line(got, ids), "ids in the container: %s", got);
    free(ids);
    free(want);
    free(got);
    hx_assert_clean(c);
}

Test(userns, rootless_default_maps_uid_0)
{
    default_maps(0);
}

Test(userns, rootless_default_maps_uid_1000)
{
    default_maps(1000);
}

/* Host ids that /etc/subuid (or subgid) does not grant: refused by name,
 * and nothing is left. */
static void not_allowed(bool uid)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    md_idmap own_u[] = {{0, c->uid, 1}, {1, 300000, 1000}};
    md_idmap own_g[] = {{0, c->gid, 1}, {1, 300000, 1000}};
    set_maps(&l->uid_mappings, &l->n_uid_mappings, own_u, uid ? 2 : 1);
    set_maps(&l->gid_mappings, &l->n_gid_mappings, own_g, uid ? 1 : 2);
    ct_save_script(bundle, s, "echo ran");
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_expect_eq(r.status, 1, "exit %d: %s", r.status, r.err);
    cr_expect(!strstr(r.out, "ran"), "the container ran");
    cr_expect(strstr(r.err, uid ? "/etc/subuid" : "/etc/subgid"), "file not named: %s", r.err);
    cr_expect(strstr(r.err, "300000-300999"), "range not named: %s", r.err);
    cr_expect_eq(fx_count_lines(r.err), 1, "want one line: %s", r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

Test(userns, rootless_uid_range_not_allowed)
{
    not_allowed(true);
}

Test(userns, rootless_gid_range_not_allowed)
{
    not_allowed(false);
}

/* Root writes any map itself, /etc/subuid or not. */
Test(userns, root_any_mapping)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ns_set(s, "user", NULL);
    md_idmap m[] = {{0, 300000, 65536}};
    set_id_maps(s, m, 1);
    char *got = id_files(c, bundle, s, "echo id=$(id -u):$(id -g)");
    cr_expect(strncmp(got, "0 300000 65536\n--\n0 300000 65536\n--\n", 36) == 0, "maps: %s", got);
    cr_expect(ct_has_line(got, "id=0:0"), "ids: %s", got);
    free(got);
    hx_assert_clean(c);
}

/* Root without maps: its own id, and nothing else (root has no range). */
Test(userns, root_default_maps)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    uint32_t start, count;
    if (subid_range("/etc/subuid", "root", &start, &count))
        hx_skip("root has subordinate ids here: the default maps differ");
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    ns_set(s, "user", NULL);
    char *got = id_files(c, bundle, s, NULL);
    cr_expect(strncmp(got, "0 0 1\n--\n0 0 1\n--\n", 18) == 0, "maps: %s", got);
    free(got);
    hx_assert_clean(c);
}

/* ------------------------------------------- when the kernel says no */

struct refused_run {
    const char *mdrun, *root, *bundle, *id;
};

/* In a user namespace of the test's own: no user namespace may be made
 * below it, then `mdrun run` (root there, so mdrun runs rootless). */
static int run_with_no_userns_left(void *arg)
{
    const struct refused_run *r = arg;
    FILE *f = fopen("/proc/sys/user/max_user_namespaces", "w");
    if (!f || fputs("0\n", f) < 0 || fclose(f) != 0) {
        perror("max_user_namespaces");
        return 125;
    }
    execl(r->mdrun, r->mdrun, "--root", r->root, "run", "--bundle", r->bundle, r->id, (char *)NULL);
    perror("exec mdrun");
    return 126;
}

/* mdrun first tries to clone the container process in all its namespaces
 * at once; when the kernel refuses, the process makes them one by one so
 * that the user learns which one failed, and how to fix it. */
Test(userns, refused_user_namespace_is_named_with_its_fix)
{
    struct hx_ctx *c = hx_ctx_new(HX_ROOT);
    const char *bundle = ct_bundle(c, HX_BUNDLE_ROOTLESS); /* maps root's own id */
    char *id = hx_id("nouserns");
    struct refused_run r = {hx_mdrun_bin(), c->root, bundle, id};
    static const struct fx_userns as_root = {0};
    int status;
    char *out = fx_in_userns(&as_root, run_with_no_userns_left, &r, &status);
    cr_expect_eq(status, 1, "run without user namespaces left: exit %d: %s", status, out);
    cr_expect(strstr(out, "mdrun: create user namespace: No space left on device") &&
                  strstr(out, "max_user_namespaces"),
              "not the user namespace's error and fix: %s", out);
    free(out);
    cr_expect(!hx_state_exists(c, id), "a failed run left its state");
    hx_assert_clean(c);
    free(id);
}
