/* test-userns.c - md_in_initial_userns(), which makes uid 0 of any other
 * user namespace (rootless Podman's, rootlesskit's under rootless
 * containerd) rootless for mdrun.  The kernel is the referee: the initial
 * user namespace is the one whose inode is PROC_USER_INIT_INO
 * (include/linux/proc_ns.h), a constant of the kernel's ABI. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "userns.h"

#define PROC_USER_INIT_INO 0xEFFFFFFDU

/* Whether the kernel says this process's user namespace is the initial
 * one. */
static bool kernel_says_initial(void)
{
    struct stat st;
    cr_assert_eq(stat("/proc/self/ns/user", &st), 0, "stat /proc/self/ns/user: %s",
                 strerror(errno));
    return st.st_ino == PROC_USER_INIT_INO;
}

Test(userns, matches_the_kernel_here)
{
    cr_expect_eq(md_in_initial_userns(), kernel_says_initial(),
                 "md_in_initial_userns() says %d, the namespace's inode %d", md_in_initial_userns(),
                 kernel_says_initial());
}

/* In the child: 0 when both say "not the initial namespace". */
static int report(void *arg)
{
    (void)arg;
    bool ours = md_in_initial_userns(), kernel = kernel_says_initial();
    printf("md_in_initial_userns %d, kernel %d\n", ours, kernel);
    return ours || kernel ? 1 : 0;
}

/* As root of a new user namespace (uid 0 mapped to our own uid), as mdrun
 * runs under rootless Podman or rootlesskit. */
Test(userns, root_of_a_new_user_namespace_is_not_initial)
{
    static const struct fx_userns single = {0};
    int status;
    char *out = fx_in_userns(&single, report, NULL, &status);
    cr_expect_eq(status, 0, "in a new user namespace: %s", out);
    free(out);
}
