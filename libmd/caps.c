/* caps.c - the five capability sets of process.capabilities.
 *
 * The sets are worked out as 64-bit masks first (the kernel's capability
 * numbers are below 64), so that every name the kernel cannot grant is
 * found, warned about and left out before a single system call changes the
 * process: the spec asks runtimes to warn rather than fail there.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"
#include "error.h"
#include "log.h"
#include "names.h"

#define BIT(c) (UINT64_C(1) << (c))

/* The highest capability this kernel knows.  Asked of the kernel itself
 * rather than read from /proc/sys/kernel/cap_last_cap: this runs after
 * pivot_root, where /proc is whatever the container mounted, if anything,
 * and a wrong answer would leave capabilities in the bounding set. */
static int last_cap(void)
{
    static int found = -1; /* the kernel's answer does not change */
    if (found >= 0)
        return found;
    /* PR_CAPBSET_READ fails (EINVAL) above the last one: bisect, six
     * calls instead of forty-odd. */
    int known = 0, unknown = 64;
    while (unknown - known > 1) {
        int mid = (known + unknown) / 2;
        if (prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0)
            known = mid;
        else
            unknown = mid;
    }
    return found = known;
}

/* The spec's spelling of a capability number, for messages. */
static void cap_name(int cap, char buf[static 48])
{
    char *name = cap_to_name((cap_value_t)cap);
    if (!name) {
        snprintf(buf, 48, "capability %d", cap);
        return;
    }
    snprintf(buf, 48, "%s", name);
    cap_free(name);
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* The mask of the names in one set; names libcap or the kernel does not
 * know are warned about and skipped. */
static uint64_t names_mask(char *const *names, size_t n, const char *set, int last)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        int cap;
        if (md_cap_from_name(names[i], &cap) < 0 || cap > last) {
            md_warn("process.capabilities.%s: capability \"%s\" is unknown to this kernel: "
                    "skipped",
                    set, names[i]);
            continue;
        }
        mask |= BIT(cap);
    }
    return mask;
}

/* Leave out of want, with a message at level, what is not in can. */
static uint64_t grantable(uint64_t want, uint64_t can, const char *set, const char *why,
                          enum md_log_level level)
{
    for (int c = 0; c < 64; c++) {
        if ((want & BIT(c)) && !(can & BIT(c))) {
            char name[48];
            cap_name(c, name);
            md_log(level, "process.capabilities.%s: %s cannot be granted (%s): skipped", set, name,
                   why);
        }
    }
    return want & can;
}

static uint64_t flag_mask(cap_t caps, cap_flag_t flag, int last)
{
    uint64_t mask = 0;
    for (int c = 0; c <= last; c++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (cap_get_flag(caps, (cap_value_t)c, flag, &v) == 0 && v == CAP_SET)
            mask |= BIT(c);
    }
    return mask;
}

/* The bounding set as this process last left it (md_caps_drop_bounding),
 * so that md_caps_apply need not read it again, one prctl per capability. */
static bool bounding_known;
static uint64_t bounding_now;

static uint64_t bounding_mask(int last)
{
    if (bounding_known)
        return bounding_now;
    uint64_t mask = 0;
    for (int c = 0; c <= last; c++)
        if (cap_get_bound((cap_value_t)c) > 0)
            mask |= BIT(c);
    return mask;
}

int md_caps_drop_bounding(const md_capabilities *caps, md_error *err)
{
    if (!caps)
        return 0;
    int last = last_cap();
    uint64_t have = bounding_mask(last);
    uint64_t keep = names_mask(caps->bounding, caps->n_bounding, "bounding", last);
    grantable(keep, have, "bounding", "not in mdrun's own bounding set", MD_LOG_WARNING);
    for (int c = 0; c <= last; c++) {
        if ((have & BIT(c)) && !(keep & BIT(c)) && cap_drop_bound((cap_value_t)c) < 0) {
            char name[48];
            cap_name(c, name);
            return md_fail(err, errno, "drop %s from the bounding set", name);
        }
    }
    bounding_now = have & keep;
    bounding_known = true;
    return 0;
}

static int set_flags(cap_t caps, cap_flag_t flag, uint64_t mask)
{
    for (int c = 0; c < 64; c++) {
        cap_value_t v = (cap_value_t)c;
        if ((mask & BIT(c)) && cap_set_flag(caps, flag, 1, &v, CAP_SET) < 0)
            return -1;
    }
    return 0;
}

static int set_proc(uint64_t eff, uint64_t prm, uint64_t inh, md_error *err)
{
    cap_t caps = cap_init();
    if (!caps)
        return md_fail(err, errno, "set capabilities");
    int r = set_flags(caps, CAP_EFFECTIVE, eff);
    if (r == 0)
        r = set_flags(caps, CAP_PERMITTED, prm);
    if (r == 0)
        r = set_flags(caps, CAP_INHERITABLE, inh);
    if (r == 0)
        r = cap_set_proc(caps);
    int saved = errno;
    cap_free(caps);
    return r < 0 ? md_fail(err, saved, "set capabilities") : 0;
}

static void raise_ambient(uint64_t amb)
{
    /* Fails only on kernels without ambient capabilities, which have none
     * to clear. */
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int c = 0; c < 64; c++) {
        if (!(amb & BIT(c)))
            continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)c, 0, 0) < 0) {
            char name[48];
            cap_name(c, name);
            /* Old kernels (EINVAL) and SECBIT_NO_CAP_AMBIENT_RAISE (EPERM):
             * a capability that cannot be granted is a warning. */
            md_warn("process.capabilities.ambient: %s cannot be granted: %s", name,
                    strerror(errno));
        }
    }
}

int md_caps_apply(const md_capabilities *caps, md_error *err)
{
    if (!caps)
        return 0;
    int last = last_cap();
    cap_t cur = cap_get_proc();
    if (!cur)
        return md_fail(err, errno, "read capabilities");
    uint64_t cur_prm = flag_mask(cur, CAP_PERMITTED, last);
    uint64_t cur_inh = flag_mask(cur, CAP_INHERITABLE, last);
    cap_free(cur);
    uint64_t bnd = bounding_mask(last);

    /* capset(2)'s rules: permitted can only shrink, effective lies within
     * the new permitted, and (without CAP_SETPCAP in effective, which the
     * user switch may have cleared) inheritable lies within the old
     * inheritable plus the old permitted and the bounding set. */
    uint64_t prm = names_mask(caps->permitted, caps->n_permitted, "permitted", last);
    prm = grantable(prm, cur_prm, "permitted", "not permitted to mdrun", MD_LOG_WARNING);
    uint64_t eff = names_mask(caps->effective, caps->n_effective, "effective", last);
    eff = grantable(eff, prm, "effective", "not in the permitted set", MD_LOG_WARNING);
    uint64_t inh = names_mask(caps->inheritable, caps->n_inheritable, "inheritable", last);
    inh = grantable(inh, cur_inh | (cur_prm & bnd), "inheritable",
                    "not in the bounding and permitted sets", MD_LOG_WARNING);
    uint64_t amb = names_mask(caps->ambient, caps->n_ambient, "ambient", last);
    /* A debug message only: `runc spec` writes ambient capabilities
     * without inheritable ones, and runc and crun skip them silently. */
    amb = grantable(amb, prm & inh, "ambient", "not in the permitted and inheritable sets",
                    MD_LOG_DEBUG);

    if (set_proc(eff, prm, inh, err) < 0)
        return -1;
    raise_ambient(amb);
    return 0;
}
