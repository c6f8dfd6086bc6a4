/* mountopt.c - config.json's mount options as mount(2) and
 * mount_setattr(2) arguments.
 *
 * Options apply in order, so a later option overrides an earlier one
 * ("ro","rw" is read-write), as with mount(8).  The access-time options
 * are one setting with three values (relatime, noatime, strictatime):
 * choosing one drops the other two.  The recursive r* options become
 * MOUNT_ATTR_* bits, applied with mount_setattr(AT_RECURSIVE) after the
 * mount; for their atime values MOUNT_ATTR__ATIME goes into attr_clr, as
 * the kernel requires for any change of the atime setting. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "error.h"
#include "mountopt.h"

enum kind {
    SET,    /* flags |= value */
    CLEAR,  /* flags &= ~value, cleared |= value */
    ATIME,  /* one of MS_RELATIME, MS_NOATIME, MS_STRICTATIME */
    PROP,   /* propagation = value */
    RSET,   /* attr_set |= value */
    RCLEAR, /* attr_clr |= value */
    RATIME, /* the recursive atime setting = value */
    BIND,   /* bind (value MS_BIND) or rbind (MS_BIND|MS_REC) */
    COPYUP, /* tmpcopyup */
    IDMAP,  /* idmap (value 0) or ridmap (value 1) */
    IGNORE, /* accepted, no effect (defaults) */
};

struct option {
    const char *name;
    enum kind kind;
    unsigned long value;
};

#define MS_ATIME_ALL (MS_RELATIME | MS_NOATIME | MS_STRICTATIME)

/* Every option of the runtime-spec's "Linux mount options" table. */
static const struct option options[] = {
    {"async", CLEAR, MS_SYNCHRONOUS},
    {"atime", CLEAR, MS_NOATIME},
    {"bind", BIND, MS_BIND},
    {"defaults", IGNORE, 0},
    {"dev", CLEAR, MS_NODEV},
    {"diratime", CLEAR, MS_NODIRATIME},
    {"dirsync", SET, MS_DIRSYNC},
    {"exec", CLEAR, MS_NOEXEC},
    {"iversion", SET, MS_I_VERSION},
    {"lazytime", SET, MS_LAZYTIME},
    {"loud", CLEAR, MS_SILENT},
    {"mand", SET, MS_MANDLOCK},
    {"noatime", ATIME, MS_NOATIME},
    {"nodev", SET, MS_NODEV},
    {"nodiratime", SET, MS_NODIRATIME},
    {"noexec", SET, MS_NOEXEC},
    {"noiversion", CLEAR, MS_I_VERSION},
    {"nolazytime", CLEAR, MS_LAZYTIME},
    {"nomand", CLEAR, MS_MANDLOCK},
    {"norelatime", CLEAR, MS_RELATIME},
    {"nostrictatime", CLEAR, MS_STRICTATIME},
    {"nosuid", SET, MS_NOSUID},
    {"nosymfollow", SET, MS_NOSYMFOLLOW},
    {"private", PROP, MS_PRIVATE},
    {"ratime", RATIME, MOUNT_ATTR_RELATIME},
    {"rbind", BIND, MS_BIND | MS_REC},
    {"rdev", RCLEAR, MOUNT_ATTR_NODEV},
    {"rdiratime", RCLEAR, MOUNT_ATTR_NODIRATIME},
    {"relatime", ATIME, MS_RELATIME},
    {"remount", SET, MS_REMOUNT},
    {"rexec", RCLEAR, MOUNT_ATTR_NOEXEC},
    {"rnoatime", RATIME, MOUNT_ATTR_NOATIME},
    {"rnodev", RSET, MOUNT_ATTR_NODEV},
    {"rnodiratime", RSET, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", RSET, MOUNT_ATTR_NOEXEC},
    /* Not relatime and not noatime: strictatime. */
    {"rnorelatime", RATIME, MOUNT_ATTR_STRICTATIME},
    /* Not strictatime: the kernel's default, relatime. */
    {"rnostrictatime", RATIME, MOUNT_ATTR_RELATIME},
    {"rnosuid", RSET, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", RSET, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", SET, MS_RDONLY},
    {"rprivate", PROP, MS_PRIVATE | MS_REC},
    {"rrelatime", RATIME, MOUNT_ATTR_RELATIME},
    {"rro", RSET, MOUNT_ATTR_RDONLY},
    {"rrw", RCLEAR, MOUNT_ATTR_RDONLY},
    {"rshared", PROP, MS_SHARED | MS_REC},
    {"rslave", PROP, MS_SLAVE | MS_REC},
    {"rstrictatime", RATIME, MOUNT_ATTR_STRICTATIME},
    {"rsuid", RCLEAR, MOUNT_ATTR_NOSUID},
    {"rsymfollow", RCLEAR, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", PROP, MS_UNBINDABLE | MS_REC},
    {"rw", CLEAR, MS_RDONLY},
    {"shared", PROP, MS_SHARED},
    {"silent", SET, MS_SILENT},
    {"slave", PROP, MS_SLAVE},
    {"strictatime", ATIME, MS_STRICTATIME},
    {"suid", CLEAR, MS_NOSUID},
    {"symfollow", CLEAR, MS_NOSYMFOLLOW},
    {"sync", SET, MS_SYNCHRONOUS},
    {"tmpcopyup", COPYUP, 0},
    {"unbindable", PROP, MS_UNBINDABLE},
    {"idmap", IDMAP, 0},
    {"ridmap", IDMAP, 1},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const struct option *find(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return &options[i];
    return NULL;
}

/* A bit an option sets is no longer cleared, and the other way round. */
static void set_flags(struct md_mount_opts *o, unsigned long bits)
{
    o->flags |= bits;
    o->cleared &= ~bits;
}

static void clear_flags(struct md_mount_opts *o, unsigned long bits)
{
    o->flags &= ~bits;
    o->cleared |= bits;
}

static void apply(struct md_mount_opts *o, const struct option *opt)
{
    switch (opt->kind) {
    case SET:
        set_flags(o, opt->value);
        break;
    case CLEAR:
        clear_flags(o, opt->value);
        break;
    case ATIME:
        clear_flags(o, MS_ATIME_ALL & ~opt->value);
        set_flags(o, opt->value);
        break;
    case PROP:
        o->propagation = opt->value;
        break;
    case RSET:
        o->attr_set |= opt->value;
        o->attr_clr &= ~(uint64_t)opt->value;
        break;
    case RCLEAR:
        o->attr_clr |= opt->value;
        o->attr_set &= ~(uint64_t)opt->value;
        break;
    case RATIME:
        o->attr_clr |= MOUNT_ATTR__ATIME;
        o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | opt->value;
        break;
    case BIND:
        o->bind = true;
        set_flags(o, opt->value);
        break;
    case COPYUP:
        o->tmpcopyup = true;
        break;
    case IDMAP:
        o->idmap = true;
        o->idmap_recursive = opt->value != 0;
        break;
    case IGNORE:
        break;
    }
}

/* Append one filesystem-specific option to o->data. */
static int add_data(struct md_mount_opts *o, const char *opt)
{
    size_t old = o->data ? strlen(o->data) : 0;
    size_t add = strlen(opt);
    char *grown = realloc(o->data, old + add + 2);
    if (!grown)
        return -1;
    if (old)
        grown[old++] = ',';
    memcpy(grown + old, opt, add + 1);
    o->data = grown;
    return 0;
}

int md_mount_opts_parse(char *const *opts, size_t n, struct md_mount_opts *out, md_error *err)
{
    *out = (struct md_mount_opts){0};
    for (size_t i = 0; i < n; i++) {
        const struct option *opt = find(opts[i]);
        if (opt) {
            apply(out, opt);
        } else if (opts[i][0] != '\0' && add_data(out, opts[i]) < 0) {
            md_mount_opts_free(out);
            return md_fail(err, ENOMEM, "mount options");
        }
    }
    return 0;
}

void md_mount_opts_free(struct md_mount_opts *opts)
{
    free(opts->data);
    opts->data = NULL;
}

const char *const *md_mount_option_names(void)
{
    static const char *names[N_OPTIONS + 1];
    if (!names[0])
        for (size_t i = 0; i < N_OPTIONS; i++)
            names[i] = options[i].name;
    return names;
}
