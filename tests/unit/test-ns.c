/* test-ns.c - md_ns_birth_flags(): which namespaces the container process
 * is cloned in at once (create.c), and md_ns_needs_fork(), whether it must
 * then fork the init.  The plans come from linux.namespaces as
 * md_ns_plan_open() reads them; a joined namespace is one of this test's
 * own (/proc/self/ns/...). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "ns.h"
#include "spec.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The plan of these namespaces: "type" or "type=path". */
static struct md_ns_plan plan_of(const char *const *types)
{
    md_linux lx;
    memset(&lx, 0, sizeof(lx));
    md_namespace ns[8];
    size_t n = 0;
    for (; types[n]; n++) {
        char *copy = strdup(types[n]);
        char *eq = strchr(copy, '=');
        if (eq)
            *eq++ = '\0';
        ns[n] = (md_namespace){.type = copy, .path = eq};
    }
    lx.namespaces = ns;
    lx.n_namespaces = n;
    struct md_ns_plan plan;
    md_error err = {0};
    cr_assert_eq(md_ns_plan_open(&lx, &plan, &err), 0, "plan: %s", err.msg);
    for (size_t i = 0; i < n; i++)
        free(ns[i].type);
    return plan;
}

/* `mdrun spec --rootless`: every namespace at birth, and the process is
 * the init (nothing to fork). */
Test(ns_birth, all_new_namespaces_at_once)
{
    struct md_ns_plan p =
        plan_of((const char *const[]){"pid", "ipc", "uts", "mount", "user", "cgroup", NULL});
    int want =
        CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWCGROUP;
    cr_expect_eq(md_ns_birth_flags(&p, true), want, "flags %#x, want %#x",
                 md_ns_birth_flags(&p, true), want);
    p.at_birth = md_ns_birth_flags(&p, true);
    cr_expect(!md_ns_needs_fork(&p), "born in its pid namespace: it is the init");
    md_ns_plan_close(&p);
}

/* Not born in its cgroup (moved there after the fork, cgroup v1): the
 * cgroup namespace is made later, once it is in it. */
Test(ns_birth, cgroup_namespace_only_when_born_in_the_cgroup)
{
    struct md_ns_plan p = plan_of((const char *const[]){"pid", "mount", "cgroup", NULL});
    cr_expect_eq(md_ns_birth_flags(&p, false), CLONE_NEWPID | CLONE_NEWNS);
    md_ns_plan_close(&p);
}

/* A joined namespace (here, our own network namespace): the process joins
 * and makes its namespaces itself, and forks the init of its new pid
 * namespace. */
Test(ns_birth, nothing_at_birth_when_joining)
{
    struct md_ns_plan p =
        plan_of((const char *const[]){"pid", "mount", "network=/proc/self/ns/net", NULL});
    cr_expect_eq(md_ns_birth_flags(&p, true), 0);
    cr_expect(md_ns_needs_fork(&p), "a pid namespace made after the clone holds only children");
    md_ns_plan_close(&p);
}

/* A time namespace gets its offsets before a process enters it. */
Test(ns_birth, nothing_at_birth_with_a_time_namespace)
{
    struct md_ns_plan p = plan_of((const char *const[]){"mount", "time", NULL});
    cr_expect_eq(md_ns_birth_flags(&p, true), 0);
    cr_expect(md_ns_needs_fork(&p), "a time namespace takes effect for children only");
    md_ns_plan_close(&p);
}
