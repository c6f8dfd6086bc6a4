/* test-check.c - `mdrun check` on this machine, as root and as the test
 * user, and as a throwaway user without subordinate ids, whose `mdrun run`
 * of a bundle that needs them must fail with the fix check printed. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"
#include "spec.h"

/* ------------------------------------------------------------- helpers */

/* The line of check name in text output (caller frees), NULL if none. */
static char *line_of(const char *out, const char *name)
{
    for (const char *p = out; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        /* "LEVEL   NAME: ..." */
        const char *sp = memchr(p, ' ', len);
        if (sp) {
            while (*sp == ' ')
                sp++;
            size_t nl = strlen(name);
            if (strncmp(sp, name, nl) == 0 && sp[nl] == ':')
                return strndup(p, len);
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The line must exist, start with level (NULL: any) and contain needle. */
static void expect_line(const struct fx_result *r, const char *name, const char *level,
                        const char *needle)
{
    char *line = line_of(r->out, name);
    cr_assert(line, "no %s line in:\n%s", name, r->out);
    if (level)
        cr_expect(strncmp(line, level, strlen(level)) == 0 && line[strlen(level)] == ' ',
                  "%s is not %s: %s", name, level, line);
    if (needle)
        cr_expect(strstr(line, needle), "%s line does not mention \"%s\": %s", name, needle, line);
    free(line);
}

/* What this host's cgroup layout is called in the cgroup line, found
 * without libmd. */
static const char *host_layout(void)
{
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) < 0)
        return "no cgroup filesystem";
    if (fs.f_type == CGROUP2_SUPER_MAGIC)
        return "cgroup v2";
    if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return "hybrid";
    return "cgroup v1";
}

/* "START:COUNT" of user's first line in file, NULL when it has none. */
static char *first_range(const char *file, const char *user)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return NULL;
    char line[256], *found = NULL;
    size_t ul = strlen(user);
    while (!found && fgets(line, sizeof(line), f))
        if (strncmp(line, user, ul) == 0 && line[ul] == ':') {
            line[strcspn(line, "\n")] = '\0';
            found = strdup(line + ul + 1);
        }
    fclose(f);
    return found;
}

/* --------------------------------------------------------- this machine */

CT_BOTH(check, this_machine_is_ready)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct fx_result r = hx_mdrun(c, NULL, "check", NULL);
    cr_expect_eq(r.status, 0, "exit %d; stdout:\n%s\nstderr: %s", r.status, r.out, r.err);
    cr_expect_str_empty(r.err);

    expect_line(&r, "userns", "ok", NULL);
    expect_line(&r, "seccomp", "ok", "libseccomp");
    /* Rootless, v1 controllers are root's; on v2 it depends on systemd. */
    bool v2 = strcmp(host_layout(), "cgroup v2") == 0;
    expect_line(&r, "cgroup", who == HX_ROOT ? "ok" : v2 ? NULL : "warning", host_layout());
    char *root_line = fx_fmt("%s is writable", c->root);
    expect_line(&r, "state-root", "ok", root_line);
    free(root_line);

    struct stat st;
    bool setuid_helper =
        stat("/usr/bin/newuidmap", &st) == 0 && st.st_uid == 0 && (st.st_mode & S_ISUID);
    if (setuid_helper)
        expect_line(&r, "newuidmap", "ok", "/usr/bin/newuidmap is setuid root");
    if (who == HX_ROOT) {
        expect_line(&r, "newuidmap", "ok", "not needed as root");
        expect_line(&r, "subuid", "ok", "not needed as root");
    } else {
        struct passwd *pw = getpwuid(c->uid);
        cr_assert(pw);
        char *range = first_range("/etc/subuid", pw->pw_name);
        cr_assert(range, "%s has no range in /etc/subuid", pw->pw_name);
        char *want = fx_fmt("grants %s %s", pw->pw_name, range);
        expect_line(&r, "subuid", "ok", want);
        free(want);
        free(range);
    }
    fx_result_free(&r);
}

CT_BOTH(check, json_says_the_same)
{
    struct hx_ctx *c = hx_ctx_new(who);
    struct fx_result r = hx_mdrun(c, NULL, "check", "--format", "json", NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char errbuf[256];
    yajl_val root = yajl_tree_parse(r.out, errbuf, sizeof(errbuf));
    cr_assert(root, "%s: %s", errbuf, r.out);
    const char *p_ok[] = {"ok", NULL}, *p_rootless[] = {"rootless", NULL}, *p_uid[] = {"uid", NULL},
               *p_checks[] = {"checks", NULL};
    cr_expect(YAJL_IS_TRUE(yajl_tree_get(root, p_ok, yajl_t_any)));
    cr_expect_eq(YAJL_IS_TRUE(yajl_tree_get(root, p_rootless, yajl_t_any)), who == HX_USER);
    yajl_val uid = yajl_tree_get(root, p_uid, yajl_t_number);
    cr_expect(uid && YAJL_GET_INTEGER(uid) == (long long)c->uid);
    yajl_val checks = yajl_tree_get(root, p_checks, yajl_t_array);
    cr_assert(checks && YAJL_GET_ARRAY(checks)->len >= 10, "%s", r.out);
    bool saw_cgroup = false;
    for (size_t i = 0; i < YAJL_GET_ARRAY(checks)->len; i++) {
        yajl_val item = YAJL_GET_ARRAY(checks)->values[i];
        const char *p_name[] = {"name", NULL}, *p_msg[] = {"message", NULL};
        yajl_val name = yajl_tree_get(item, p_name, yajl_t_string);
        yajl_val msg = yajl_tree_get(item, p_msg, yajl_t_string);
        cr_assert(name && msg);
        if (strcmp(name->u.string, "cgroup") == 0) {
            saw_cgroup = true;
            cr_expect(strstr(msg->u.string, host_layout()), "%s", msg->u.string);
        }
    }
    cr_expect(saw_cgroup);
    yajl_tree_free(root);
    fx_result_free(&r);
}

Test(check, bad_usage)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    struct fx_result r = hx_mdrun(c, NULL, "check", "--format", "yaml", NULL);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.err, "--format"), "%s", r.err);
    fx_result_free(&r);
    r = hx_mdrun(c, NULL, "check", "--help", NULL);
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "Usage: mdrun check"), "%s", r.out);
    fx_result_free(&r);
}

/* ---------------------------------------------- a user without subids */

static char throwaway[32];

static void remove_throwaway(void)
{
    if (!throwaway[0])
        return;
    char *const argv[] = {"userdel", throwaway, NULL};
    struct fx_result r = fx_run(argv, NULL, NULL);
    if (r.status != 0)
        fprintf(stderr, "[WARN] userdel %s: %s", throwaway, r.err);
    fx_result_free(&r);
    throwaway[0] = '\0';
}

/* A new user with no subordinate ids (useradd would otherwise grant some
 * from /etc/login.defs), removed when the test process exits. */
static struct passwd make_throwaway(void)
{
    hx_require_root();
    snprintf(throwaway, sizeof(throwaway), "mdck%d", (int)getpid());
    atexit(remove_throwaway);
    char *const argv[] = {
        "useradd", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",    "--shell",
        "/bin/sh", "-K",           "SUB_UID_COUNT=0",  "-K",         "SUB_GID_COUNT=0", throwaway,
        NULL};
    struct fx_result r = fx_run(argv, NULL, NULL);
    cr_assert_eq(r.status, 0, "useradd %s: %s", throwaway, r.err);
    fx_result_free(&r);
    struct passwd *pw = getpwnam(throwaway);
    cr_assert(pw, "getpwnam %s", throwaway);
    char *range = first_range("/etc/subuid", throwaway);
    cr_assert_null(range, "useradd granted %s subordinate uids %s", throwaway, range);
    /* A copy: getpwnam's result is overwritten by the next lookup. */
    return (struct passwd){.pw_uid = pw->pw_uid, .pw_gid = pw->pw_gid};
}

/* A context for the throwaway user: the test user's, handed over. */
static struct hx_ctx *throwaway_ctx(const struct passwd *pw)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    c->uid = pw->pw_uid;
    c->gid = pw->pw_gid;
    const char *dirs[] = {c->root, c->home, c->xdg};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(chown(dirs[i], c->uid, c->gid), 0, "chown %s: %s", dirs[i], strerror(errno));
    return c;
}

/* The text after "; fix: " in line (caller frees). */
static char *fix_of(const char *line)
{
    const char *p = strstr(line, "; fix: ");
    cr_assert(p, "no fix in: %s", line);
    return strdup(p + 7);
}

Test(check, no_subordinate_ids_fail_check_and_run_with_one_fix)
{
    struct passwd user = make_throwaway(), *pw = &user;
    struct hx_ctx *c = throwaway_ctx(pw);

    struct fx_result r = hx_mdrun(c, NULL, "check", NULL);
    cr_expect_eq(r.status, 1, "exit %d; stdout:\n%s", r.status, r.out);
    char *want = fx_fmt("grants %s (uid %u) no range", throwaway, (unsigned)pw->pw_uid);
    expect_line(&r, "subuid", "error", want);
    expect_line(&r, "subgid", "error", "no range");
    free(want);
    char *line = line_of(r.out, "subuid");
    cr_assert(line);
    char *fix = fix_of(line);
    cr_expect(strstr(fix, "usermod --add-subuids ") && strstr(fix, throwaway), "%s", fix);
    free(line);
    fx_result_free(&r);

    /* A bundle whose root is the user and whose other ids come from a
     * range /etc/subuid does not grant them. */
    const char *bundle = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    md_idmap *maps = calloc(2, sizeof(*maps));
    cr_assert(maps);
    maps[0] = (md_idmap){.container_id = 0, .host_id = pw->pw_uid, .size = 1};
    maps[1] = (md_idmap){.container_id = 1, .host_id = 100000, .size = 1000};
    free(l->uid_mappings);
    l->uid_mappings = maps;
    l->n_uid_mappings = 2;
    md_idmap *gmaps = calloc(1, sizeof(*gmaps));
    cr_assert(gmaps);
    gmaps[0] = (md_idmap){.container_id = 0, .host_id = pw->pw_gid, .size = 1};
    free(l->gid_mappings);
    l->gid_mappings = gmaps;
    l->n_gid_mappings = 1;
    hx_spec_save(bundle, s);
    md_spec_free(s);

    char *id = hx_id("nosubid");
    r = hx_mdrun(c, NULL, "run", "--bundle", bundle, id, NULL);
    ct_undo_create(c, &r, id);
    ct_expect_error(&r, "run without subordinate ids", "is not allowed");
    char *tail = fx_fmt("; fix: %s\n", fix);
    size_t n = strlen(r.err), t = strlen(tail);
    cr_expect(n > t && strcmp(r.err + n - t, tail) == 0, "run's error does not end with \"%s\": %s",
              tail, r.err);
    free(tail);
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
    free(fix);
    hx_ctx_free(c);
    remove_throwaway();
}
