/* test-mountopt.c - every option of the runtime-spec's "Linux mount
 * options" table, and how options combine. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <string.h>
#include <sys/mount.h>

#include "fixture.h"
#include "mountopt.h"

/* What one option alone parses to. */
struct expect {
    const char *name;
    unsigned long flags, cleared, propagation;
    uint64_t attr_set, attr_clr;
    bool bind, tmpcopyup, idmap, idmap_recursive;
};

#define ATIME_ALL (MS_RELATIME | MS_NOATIME | MS_STRICTATIME)
#define RATIME    MOUNT_ATTR__ATIME

/* The spec's table, in its order. */
static const struct expect table[] = {
    {.name = "async", .cleared = MS_SYNCHRONOUS},
    {.name = "atime", .cleared = MS_NOATIME},
    {.name = "bind", .flags = MS_BIND, .bind = true},
    {.name = "defaults"},
    {.name = "dev", .cleared = MS_NODEV},
    {.name = "diratime", .cleared = MS_NODIRATIME},
    {.name = "dirsync", .flags = MS_DIRSYNC},
    {.name = "exec", .cleared = MS_NOEXEC},
    {.name = "iversion", .flags = MS_I_VERSION},
    {.name = "lazytime", .flags = MS_LAZYTIME},
    {.name = "loud", .cleared = MS_SILENT},
    {.name = "mand", .flags = MS_MANDLOCK},
    {.name = "noatime", .flags = MS_NOATIME, .cleared = MS_RELATIME | MS_STRICTATIME},
    {.name = "nodev", .flags = MS_NODEV},
    {.name = "nodiratime", .flags = MS_NODIRATIME},
    {.name = "noexec", .flags = MS_NOEXEC},
    {.name = "noiversion", .cleared = MS_I_VERSION},
    {.name = "nolazytime", .cleared = MS_LAZYTIME},
    {.name = "nomand", .cleared = MS_MANDLOCK},
    {.name = "norelatime", .cleared = MS_RELATIME},
    {.name = "nostrictatime", .cleared = MS_STRICTATIME},
    {.name = "nosuid", .flags = MS_NOSUID},
    {.name = "nosymfollow", .flags = MS_NOSYMFOLLOW},
    {.name = "private", .propagation = MS_PRIVATE},
    {.name = "ratime", .attr_set = MOUNT_ATTR_RELATIME, .attr_clr = RATIME},
    {.name = "rbind", .flags = MS_BIND | MS_REC, .bind = true},
    {.name = "rdev", .attr_clr = MOUNT_ATTR_NODEV},
    {.name = "rdiratime", .attr_clr = MOUNT_ATTR_NODIRATIME},
    {.name = "relatime", .flags = MS_RELATIME, .cleared = MS_NOATIME | MS_STRICTATIME},
    {.name = "remount", .flags = MS_REMOUNT},
    {.name = "rexec", .attr_clr = MOUNT_ATTR_NOEXEC},
    {.name = "rnoatime", .attr_set = MOUNT_ATTR_NOATIME, .attr_clr = RATIME},
    {.name = "rnodev", .attr_set = MOUNT_ATTR_NODEV},
    {.name = "rnodiratime", .attr_set = MOUNT_ATTR_NODIRATIME},
    {.name = "rnoexec", .attr_set = MOUNT_ATTR_NOEXEC},
    {.name = "rnorelatime", .attr_set = MOUNT_ATTR_STRICTATIME, .attr_clr = RATIME},
    {.name = "rnostrictatime", .attr_set = MOUNT_ATTR_RELATIME, .attr_clr = RATIME},
    {.name = "rnosuid", .attr_set = MOUNT_ATTR_NOSUID},
    {.name = "rnosymfollow", .attr_set = MOUNT_ATTR_NOSYMFOLLOW},
    {.name = "ro", .flags = MS_RDONLY},
    {.name = "rprivate", .propagation = MS_PRIVATE | MS_REC},
    {.name = "rrelatime", .attr_set = MOUNT_ATTR_RELATIME, .attr_clr = RATIME},
    {.name = "rro", .attr_set = MOUNT_ATTR_RDONLY},
    {.name = "rrw", .attr_clr = MOUNT_ATTR_RDONLY},
    {.name = "rshared", .propagation = MS_SHARED | MS_REC},
    {.name = "rslave", .propagation = MS_SLAVE | MS_REC},
    {.name = "rstrictatime", .attr_set = MOUNT_ATTR_STRICTATIME, .attr_clr = RATIME},
    {.name = "rsuid", .attr_clr = MOUNT_ATTR_NOSUID},
    {.name = "rsymfollow", .attr_clr = MOUNT_ATTR_NOSYMFOLLOW},
    {.name = "runbindable", .propagation = MS_UNBINDABLE | MS_REC},
    {.name = "rw", .cleared = MS_RDONLY},
    {.name = "shared", .propagation = MS_SHARED},
    {.name = "silent", .flags = MS_SILENT},
    {.name = "slave", .propagation = MS_SLAVE},
    {.name = "strictatime", .flags = MS_STRICTATIME, .cleared = MS_NOATIME | MS_RELATIME},
    {.name = "suid", .cleared = MS_NOSUID},
    {.name = "symfollow", .cleared = MS_NOSYMFOLLOW},
    {.name = "sync", .flags = MS_SYNCHRONOUS},
    {.name = "tmpcopyup", .tmpcopyup = true},
    {.name = "unbindable", .propagation = MS_UNBINDABLE},
    {.name = "idmap", .idmap = true},
    {.name = "ridmap", .idmap = true, .idmap_recursive = true},
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

static struct md_mount_opts parse(char **opts, size_t n)
{
    struct md_mount_opts o;
    md_error err = {0};
    cr_assert(md_mount_opts_parse(opts, n, &o, &err) == 0, "%s", err.msg);
    return o;
}

Test(mountopt, every_option_of_the_spec)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        const struct expect *e = &table[i];
        char *opts[] = {(char *)e->name};
        struct md_mount_opts o = parse(opts, 1);
        cr_expect_eq(o.flags, e->flags, "%s: flags %#lx, want %#lx", e->name, o.flags, e->flags);
        cr_expect_eq(o.cleared, e->cleared, "%s: cleared %#lx, want %#lx", e->name, o.cleared,
                     e->cleared);
        cr_expect_eq(o.propagation, e->propagation, "%s: propagation", e->name);
        cr_expect_eq(o.attr_set, e->attr_set, "%s: attr_set %#llx", e->name,
                     (unsigned long long)o.attr_set);
        cr_expect_eq(o.attr_clr, e->attr_clr, "%s: attr_clr %#llx", e->name,
                     (unsigned long long)o.attr_clr);
        cr_expect_eq(o.bind, e->bind, "%s: bind", e->name);
        cr_expect_eq(o.tmpcopyup, e->tmpcopyup, "%s: tmpcopyup", e->name);
        cr_expect_eq(o.idmap, e->idmap, "%s: idmap", e->name);
        cr_expect_eq(o.idmap_recursive, e->idmap_recursive, "%s: idmap_recursive", e->name);
        cr_expect_null(o.data, "%s is a known option, not filesystem data", e->name);
        md_mount_opts_free(&o);
    }
}

Test(mountopt, names_are_the_table)
{
    const char *const *names = md_mount_option_names();
    size_t n = 0;
    for (; names[n]; n++) {
        bool found = false;
        for (size_t i = 0; i < N_TABLE && !found; i++)
            found = strcmp(names[n], table[i].name) == 0;
        cr_expect(found, "%s is not in the spec's table", names[n]);
    }
    cr_assert_eq(n, N_TABLE, "%zu names, the spec lists %zu", n, N_TABLE);
}

Test(mountopt, unknown_options_are_data_in_order)
{
    char *opts[] = {"nosuid", "mode=755", "", "size=65536k", "ro", "uid=5"};
    struct md_mount_opts o = parse(opts, 6);
    cr_assert_str_eq(o.data, "mode=755,size=65536k,uid=5");
    cr_assert_eq(o.flags, MS_NOSUID | MS_RDONLY);
    md_mount_opts_free(&o);
    cr_assert_null(o.data);
}

Test(mountopt, later_options_win)
{
    char *opts[] = {"ro", "nosuid", "rw", "suid", "nodev"};
    struct md_mount_opts o = parse(opts, 5);
    cr_assert_eq(o.flags, MS_NODEV);
    cr_assert_eq(o.cleared, MS_RDONLY | MS_NOSUID);
    md_mount_opts_free(&o);

    char *props[] = {"rshared", "private"};
    o = parse(props, 2);
    cr_assert_eq(o.propagation, MS_PRIVATE);
    md_mount_opts_free(&o);

    char *recs[] = {"rro", "rrw", "rnosuid"};
    o = parse(recs, 3);
    cr_assert_eq(o.attr_set, MOUNT_ATTR_NOSUID);
    cr_assert_eq(o.attr_clr, MOUNT_ATTR_RDONLY);
    md_mount_opts_free(&o);
}

/* relatime, noatime and strictatime are one setting, as in mount(8). */
Test(mountopt, atime_is_one_setting)
{
    char *a[] = {"noatime", "strictatime"};
    struct md_mount_opts o = parse(a, 2);
    cr_assert_eq(o.flags & ATIME_ALL, MS_STRICTATIME);
    md_mount_opts_free(&o);

    char *b[] = {"strictatime", "nodiratime", "relatime"};
    o = parse(b, 3);
    cr_assert_eq(o.flags, MS_RELATIME | MS_NODIRATIME);
    md_mount_opts_free(&o);

    char *c[] = {"rnoatime", "rstrictatime"};
    o = parse(c, 2);
    cr_assert_eq(o.attr_set, MOUNT_ATTR_STRICTATIME);
    cr_assert_eq(o.attr_clr, MOUNT_ATTR__ATIME);
    md_mount_opts_free(&o);
}

Test(mountopt, spec_example)
{
    char *opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    struct md_mount_opts o = parse(opts, 4);
    cr_assert_eq(o.flags, MS_NOSUID | MS_STRICTATIME);
    cr_assert_str_eq(o.data, "mode=755,size=65536k");
    cr_assert(!o.bind);
    md_mount_opts_free(&o);

    char *bind[] = {"rbind", "rw"};
    o = parse(bind, 2);
    cr_assert_eq(o.flags, MS_BIND | MS_REC);
    cr_assert(o.bind);
    md_mount_opts_free(&o);
}

Test(mountopt, no_options)
{
    struct md_mount_opts o = parse(NULL, 0);
    cr_assert_eq(o.flags, 0);
    cr_assert_null(o.data);
    md_mount_opts_free(&o);
}
