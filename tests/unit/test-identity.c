/* test-identity.c - md_identity_apply and the capability sets, checked in a
 * child that is root of a new user namespace, through /proc/self/status. */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "error.h"
#include "fixture.h"
#include "identity.h"

#define CAPS(...) (char *[]){__VA_ARGS__}, sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)

/* What the child does: optionally drop one capability from its bounding
 * set first (to play a runtime that lacks it), then apply, then report. */
struct job {
    md_process process;
    int predrop;   /* a capability number, 0 for none */
    bool pregroup; /* join group 7 first, as if mdrun had groups of its own */
};

/* The rest of the line after "key:" in /proc/self/status text, inner tabs
 * and all, without the newline and trailing spaces.  Empty when the line is missing. */
static char *field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            const char *v = line + klen + 1;
            v += strspn(v, " \t");
            size_t n = strcspn(v, "\n");
            while (n > 0 && v[n - 1] == ' ')
                n--; /* the kernel ends the Groups line with a space */
            return strndup(v, n);
        }
    }
    return strdup("");
}

static int apply_and_report(void *arg)
{
    struct job *job = arg;
    if (job->predrop && prctl(PR_CAPBSET_DROP, job->predrop, 0, 0, 0) < 0) {
        printf("result: predrop: %s\n", strerror(errno));
        return 1;
    }
    gid_t seven = 7;
    if (job->pregroup && setgroups(1, &seven) < 0) {
        printf("result: pregroup: %s\n", strerror(errno));
        return 1;
    }
    md_error err = {0};
    int r = md_identity_apply(&job->process, &err);
    printf("result: %s\n", r == 0 ? "ok" : err.msg);
    printf("Keepcaps: %d\n", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    FILE *f = fopen("/proc/self/status", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        fputs(line, stdout);
    if (f)
        fclose(f);
    return 0;
}

/* Run job in a new user namespace mapping 0 to our own ids (ns NULL) or as
 * ns says; returns the child's report. */
static char *run(struct job *job, const struct fx_userns *ns)
{
    static const struct fx_userns single = {0};
    int status;
    char *report = fx_in_userns(ns ? ns : &single, apply_and_report, job, &status);
    cr_assert_eq(status, 0, "child failed (%d): %s", status, report);
    return report;
}

static void expect(const char *report, const char *key, const char *want)
{
    char *got = field(report, key);
    cr_expect_str_eq(got, want, "%s: got \"%s\", want \"%s\"\n%s", key, got, want, report);
    free(got);
}

static uint64_t all_caps(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    int last = 0;
    cr_assert(f && fscanf(f, "%d", &last) == 1);
    fclose(f);
    return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

static void need_root(const char *why)
{
    if (geteuid() != 0)
        cr_skip_test("needs root: %s", why);
}

Test(identity, sets_every_capability_set_exactly)
{
    md_capabilities caps = {
        .bounding = CAPS("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"),
        .effective = CAPS("CAP_CHOWN", "CAP_KILL"),
        .permitted = CAPS("CAP_CHOWN", "CAP_KILL"),
        .inheritable = CAPS("CAP_KILL"),
        .ambient = CAPS("CAP_KILL"),
    };
    md_user user = {.uid = 0, .gid = 0};
    struct job job = {.process = {.user = &user, .capabilities = &caps}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapBnd", "0000000000000421");
    expect(report, "CapPrm", "0000000000000021");
    expect(report, "CapEff", "0000000000000021");
    expect(report, "CapInh", "0000000000000020");
    expect(report, "CapAmb", "0000000000000020");
    expect(report, "Keepcaps", "0");
    free(report);
}

Test(identity, empty_sets_drop_everything)
{
    md_capabilities caps = {0};
    struct job job = {.process = {.capabilities = &caps}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapBnd", "0000000000000000");
    expect(report, "CapPrm", "0000000000000000");
    expect(report, "CapEff", "0000000000000000");
    free(report);
}

Test(identity, no_capabilities_object_leaves_them_alone)
{
    struct job job = {.process = {.capabilities = NULL}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    char *want = fx_fmt("%016llx", (unsigned long long)all_caps());
    expect(report, "CapEff", want);
    expect(report, "CapBnd", want);
    free(want);
    free(report);
}

Test(identity, unknown_capability_is_a_warning)
{
    md_capabilities caps = {
        .bounding = CAPS("CAP_CHOWN", "CAP_NOT_A_THING"),
        .effective = CAPS("CAP_NOT_A_THING", "CAP_CHOWN"),
        .permitted = CAPS("CAP_CHOWN", "CAP_NOT_A_THING"),
    };
    struct job job = {.process = {.capabilities = &caps}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapEff", "0000000000000001");
    expect(report, "CapBnd", "0000000000000001");
    cr_expect(strstr(report, "process.capabilities.effective: capability \"CAP_NOT_A_THING\" "
                             "is unknown to this kernel: skipped"),
              "%s", report);
    free(report);
}

/* Skipped without a warning (runc's and crun's way: `runc spec` writes
 * such sets); only --debug says so. */
Test(identity, ambient_outside_inheritable_is_skipped_quietly)
{
    md_capabilities caps = {
        .bounding = CAPS("CAP_KILL"),
        .effective = CAPS("CAP_KILL"),
        .permitted = CAPS("CAP_KILL"),
        .ambient = CAPS("CAP_KILL"),
    };
    struct job job = {.process = {.capabilities = &caps}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapAmb", "0000000000000000");
    expect(report, "CapEff", "0000000000000020");
    cr_expect(!strstr(report, "cannot be granted"), "%s", report);
    free(report);
}

Test(identity, effective_outside_permitted_is_a_warning)
{
    md_capabilities caps = {
        .bounding = CAPS("CAP_KILL", "CAP_SYS_ADMIN"),
        .effective = CAPS("CAP_KILL", "CAP_SYS_ADMIN"),
        .permitted = CAPS("CAP_KILL"),
    };
    struct job job = {.process = {.capabilities = &caps}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapEff", "0000000000000020");
    cr_expect(strstr(report, "process.capabilities.effective: CAP_SYS_ADMIN cannot be granted"),
              "%s", report);
    free(report);
}

Test(identity, bounding_capability_mdrun_lacks_is_a_warning)
{
    md_capabilities caps = {
        .bounding = CAPS("CAP_KILL", "CAP_SETGID"),
        .permitted = CAPS("CAP_KILL"),
    };
    struct job job = {.process = {.capabilities = &caps}, .predrop = 6 /* CAP_SETGID */};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "CapBnd", "0000000000000020");
    cr_expect(strstr(report, "process.capabilities.bounding: CAP_SETGID cannot be granted (not "
                             "in mdrun's own bounding set): skipped"),
              "%s", report);
    free(report);
}

Test(identity, absent_user_is_root)
{
    struct job job = {.process = {.user = NULL}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "Uid", "0\t0\t0\t0");
    expect(report, "Gid", "0\t0\t0\t0");
    free(report);
}

Test(identity, umask_is_set_when_given)
{
    md_user user = {.has_umask = true, .umask = 027};
    struct job job = {.process = {.user = &user}};
    char *report = run(&job, NULL);
    expect(report, "result", "ok");
    expect(report, "Umask", "0027");
    free(report);
}

Test(identity, additional_gids_with_setgroups_denied_is_an_error)
{
    md_user user = {.additional_gids = (uint32_t[]){0}, .n_additional_gids = 1};
    struct job job = {.process = {.user = &user}};
    char *report = run(&job, NULL);
    expect(report, "result",
           "process.user.additionalGids: setgroups is denied in this user namespace (it maps "
           "a single gid, written without newgidmap)");
    free(report);
}

Test(identity, unmapped_gid_is_named)
{
    md_user user = {.uid = 0, .gid = 1000};
    struct job job = {.process = {.user = &user}};
    char *report = run(&job, NULL);
    expect(report, "result",
           "setresgid 1000: Invalid argument (gid not mapped in the container's user namespace?)");
    free(report);
}

Test(identity, unmapped_uid_is_named)
{
    md_user user = {.uid = 1000, .gid = 0};
    struct job job = {.process = {.user = &user}};
    char *report = run(&job, NULL);
    expect(report, "result",
           "setresuid 1000: Invalid argument (uid not mapped in the container's user namespace?)");
    free(report);
}

/* The rootless case of a real runtime: newuidmap maps a range, the process
 * becomes an ordinary user and keeps only what the spec grants it. */
static const struct fx_userns range = {
    .uid_map = "0 100000 65536",
    .gid_map = "0 100000 65536",
};

Test(identity, switches_to_a_user_with_groups_and_capabilities)
{
    need_root("writing a multi-id mapping takes CAP_SETUID and CAP_SETGID in the host");
    md_capabilities caps = {
        .bounding = CAPS("CAP_CHOWN", "CAP_KILL"),
        .effective = CAPS("CAP_KILL"),
        .permitted = CAPS("CAP_KILL"),
    };
    md_user user = {
        .uid = 1000,
        .gid = 1001,
        .additional_gids = (uint32_t[]){5, 6},
        .n_additional_gids = 2,
    };
    struct job job = {.process = {.user = &user, .capabilities = &caps}};
    char *report = run(&job, &range);
    expect(report, "result", "ok");
    expect(report, "Uid", "1000\t1000\t1000\t1000");
    expect(report, "Gid", "1001\t1001\t1001\t1001");
    expect(report, "Groups", "5 6");
    expect(report, "CapEff", "0000000000000020");
    expect(report, "CapPrm", "0000000000000020");
    expect(report, "CapBnd", "0000000000000021");
    expect(report, "Keepcaps", "0");
    free(report);
}

Test(identity, user_without_capabilities_has_none)
{
    need_root("writing a multi-id mapping takes CAP_SETUID and CAP_SETGID in the host");
    md_capabilities caps = {.bounding = CAPS("CAP_KILL")};
    md_user user = {.uid = 1000, .gid = 1000};
    struct job job = {.process = {.user = &user, .capabilities = &caps}, .pregroup = true};
    char *report = run(&job, &range);
    expect(report, "result", "ok");
    expect(report, "Uid", "1000\t1000\t1000\t1000");
    expect(report, "Groups", ""); /* not mdrun's 7 */
    expect(report, "CapEff", "0000000000000000");
    expect(report, "CapPrm", "0000000000000000");
    free(report);
}
