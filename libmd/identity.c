/* identity.c - switching the container process to process.user, keeping the
 * capabilities the spec asks for across the switch. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"
#include "error.h"
#include "fileio.h"
#include "identity.h"

/* EINVAL from set*id and setgroups means the id has no mapping in the
 * user namespace: say so, it is the usual mistake with rootless bundles. */
static int id_fail(md_error *err, int errnum, const char *call, const char *ids, const char *kind)
{
    if (errnum != EINVAL)
        return md_fail(err, errnum, "%s %s", call, ids);
    md_fail(err, 0, "%s %s: %s (%s not mapped in the container's user namespace?)", call, ids,
            strerror(errnum), kind);
    err->errnum = errnum;
    return -1;
}

static bool setgroups_denied(void)
{
    md_autofree char *text = NULL;
    md_error ignored = {0};
    if (md_read_file_at(AT_FDCWD, "/proc/self/setgroups", 64, &text, NULL, &ignored) < 0) {
        md_error_clear(&ignored);
        return false;
    }
    return strncmp(text, "deny", 4) == 0;
}

/* "5,6,7" for messages, shortened past a few entries. */
static void format_gids(const gid_t *gids, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        if (i == 8) {
            snprintf(buf + used, size - used, ",...");
            return;
        }
        int w = snprintf(buf + used, size - used, "%s%u", i ? "," : "", (unsigned)gids[i]);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

/* The supplementary groups become exactly additionalGids (none when
 * absent), so the container never keeps mdrun's own groups.  The kernel
 * is asked first and /proc/self/setgroups read only to explain a refusal:
 * a /proc the container controls must not be able to make us skip it. */
static int set_groups(const md_user *user, md_error *err)
{
    size_t n = user ? user->n_additional_gids : 0;
    const gid_t *gids = n ? (const gid_t *)user->additional_gids : NULL;
    _Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
    if (setgroups(n, gids) == 0)
        return 0;
    int saved = errno;
    if (saved == EPERM && setgroups_denied()) {
        if (n == 0)
            return 0; /* nothing asked for, and nothing we may change */
        md_fail(err, 0,
                "process.user.additionalGids: setgroups is denied in this user namespace (it "
                "maps a single gid, written without newgidmap)");
        err->errnum = EPERM;
        return -1;
    }
    char ids[128];
    format_gids(gids, n, ids, sizeof(ids));
    return id_fail(err, saved, "setgroups", n ? ids : "[]", "gid");
}

int md_identity_apply(const md_process *process, md_error *err)
{
    const md_user *user = process->user;
    uid_t uid = user ? user->uid : 0;
    gid_t gid = user ? user->gid : 0;
    char ids[16];

    /* Keep the permitted set across setresuid so that md_caps_apply can
     * still grant capabilities to a non-root user; cleared again after. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return md_fail(err, errno, "prctl PR_SET_KEEPCAPS");
    if (md_caps_drop_bounding(process->capabilities, err) < 0)
        return -1;
    if (set_groups(user, err) < 0)
        return -1;
    snprintf(ids, sizeof(ids), "%u", (unsigned)gid);
    if (setresgid(gid, gid, gid) < 0)
        return id_fail(err, errno, "setresgid", ids, "gid");
    snprintf(ids, sizeof(ids), "%u", (unsigned)uid);
    if (setresuid(uid, uid, uid) < 0)
        return id_fail(err, errno, "setresuid", ids, "uid");
    if (md_caps_apply(process->capabilities, err) < 0)
        return -1;
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return md_fail(err, errno, "prctl PR_SET_KEEPCAPS");
    if (user && user->has_umask)
        umask((mode_t)(user->umask & 0777));
    return 0;
}
