/* mountopt.h - the mount(8) option strings of config.json turned into
 * mount(2) flags, mount_setattr(2) attributes, propagation and data. */
#ifndef MD_MOUNTOPT_H
#define MD_MOUNTOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdrun.h"

struct md_mount_opts {
    unsigned long flags;       /* MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...) */
    unsigned long cleared;     /* MS_* an option explicitly turned off (rw, suid, dev, exec, ...) */
    unsigned long propagation; /* MS_SHARED / MS_SLAVE / MS_PRIVATE / MS_UNBINDABLE, | MS_REC */
    uint64_t attr_set;         /* MOUNT_ATTR_* of the recursive r* options (rro, rnosuid, ...) */
    uint64_t attr_clr;         /* MOUNT_ATTR_* the recursive options clear (rrw, rsuid, ...) */
    bool bind;                 /* bind or rbind */
    bool tmpcopyup;            /* copy the directory's content into the new tmpfs */
    bool idmap;                /* idmap or ridmap: apply the mount's id mappings */
    bool idmap_recursive;      /* ridmap: to every mount of an rbind */
    char *data;                /* every unknown option, comma-joined, for mount(2)'s data */
};

/* Parse an options array.  Never fails on unknown options (they become
 * filesystem data, as the spec says); returns -1 only on ENOMEM. */
int md_mount_opts_parse(char *const *options, size_t n, struct md_mount_opts *out, md_error *err);
void md_mount_opts_free(struct md_mount_opts *opts);

/* The option names mdrun recognizes, NULL-terminated (for `features`). */
const char *const *md_mount_option_names(void);

#endif
