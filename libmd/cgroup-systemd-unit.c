/* cgroup-systemd-unit.c - the systemd unit's name from linux.cgroupsPath,
 * and linux.resources as unit properties (see cgroup-systemd.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"
#include "cgroup-systemd.h"
#include "cleanup.h"
#include "error.h"

/* systemd's UNIT_NAME_MAX less the NUL. */
#define UNIT_NAME_MAX 255

/* ----------------------------------------------------------------- names */

static bool unit_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(":-_.\\", c));
}

/* Append s to buf, escaping what a unit name cannot hold; a leading '.'
 * (at the start of the unit name) is escaped as systemd-escape does. */
static void escape_into(char *buf, size_t *used, const char *s, bool at_start)
{
    for (const char *p = s; *p; p++) {
        bool first = at_start && p == s;
        if (unit_char(*p) && *p != '\\' && !(first && *p == '.'))
            buf[(*used)++] = *p;
        else
            *used += (size_t)sprintf(buf + *used, "\\x%02x", (unsigned char)*p);
    }
    buf[*used] = '\0';
}

/* "name.slice": a slice is named by its path of parents joined with '-'
 * ("machine-libpod.slice" is in "machine.slice"), so no empty parts. */
static bool slice_name_ok(const char *s)
{
    if (strcmp(s, "-.slice") == 0)
        return true;
    size_t n = strlen(s);
    if (n <= 6 || n > UNIT_NAME_MAX || strcmp(s + n - 6, ".slice") != 0)
        return false;
    size_t len = n - 6;
    if (s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!unit_char(s[i]) || (s[i] == '-' && s[i + 1] == '-'))
            return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Split "slice:prefix:name" into its three parts (pointing into copy). */
static int split3(const char *shown, char *copy, char *parts[3], md_error *err)
{
    char *a = strchr(copy, ':');
    char *b = a ? strchr(a + 1, ':') : NULL;
    if (!b || strchr(b + 1, ':'))
        return md_failx(err, EINVAL,
                        "linux.cgroupsPath \"%s\": the systemd cgroup manager takes "
                        "\"slice:prefix:name\" (e.g. \"machine.slice:mdrun:ID\")",
                        shown);
    *a = *b = '\0';
    parts[0] = copy;
    parts[1] = a + 1;
    parts[2] = b + 1;
    return 0;
}

static int scope_name(const char *prefix, const char *name, char **out, md_error *err)
{
    /* Every byte may grow to "\xNN". */
    size_t cap = 4 * (strlen(prefix) + strlen(name)) + sizeof("-.scope");
    md_autofree char *buf = malloc(cap);
    if (!buf)
        return md_fail(err, ENOMEM, "systemd unit name");
    size_t used = 0;
    buf[0] = '\0';
    if (*prefix) {
        escape_into(buf, &used, prefix, true);
        buf[used++] = '-';
    }
    escape_into(buf, &used, name, !*prefix);
    strcpy(buf + used, ".scope");
    if (used + 6 > UNIT_NAME_MAX)
        return md_failx(err, ENAMETOOLONG,
                        "systemd unit name \"%.40s...\" is longer than systemd's %d characters",
                        buf, UNIT_NAME_MAX);
    *out = md_take_ptr(&buf);
    return 0;
}

int md_cg_sd_name_parse(const char *cgroups_path, const char *id, bool rootless,
                        struct md_cg_sd_name *out, md_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *shown = cgroups_path ? cgroups_path : "";
    md_autofree char *copy = strdup(shown);
    if (!copy)
        return md_fail(err, ENOMEM, "linux.cgroupsPath");
    char *parts[3] = {(char *)"", (char *)"mdrun", (char *)""};
    if (*copy && split3(shown, copy, parts, err) < 0)
        return -1;
    const char *slice = parts[0], *prefix = parts[1], *name = parts[2];
    if (!*name)
        name = id;
    if (!name || !*name)
        return md_failx(err, EINVAL, "linux.cgroupsPath \"%s\": no unit name and no container id",
                        shown);
    if (!*slice)
        slice = rootless ? "user.slice" : "system.slice";
    else if (strcmp(slice, "-") == 0)
        slice = "-.slice";
    if (!slice_name_ok(slice))
        return md_failx(err, EINVAL,
                        "linux.cgroupsPath \"%s\": \"%s\" is not a systemd slice name "
                        "(like \"machine.slice\", with '-' for nesting and no '/')",
                        shown, slice);
    if (ends_with(name, ".slice")) {
        if (!slice_name_ok(name))
            return md_failx(err, EINVAL, "linux.cgroupsPath \"%s\": \"%s\" is not a slice name",
                            shown, name);
        out->unit = strdup(name);
        out->is_slice = true;
    } else if (scope_name(prefix, name, &out->unit, err) < 0) {
        return md_wrap(err, "linux.cgroupsPath \"%s\"", shown);
    }
    out->slice = strdup(slice);
    if (!out->unit || !out->slice) {
        md_cg_sd_name_free(out);
        return md_fail(err, ENOMEM, "linux.cgroupsPath");
    }
    return 0;
}

void md_cg_sd_name_free(struct md_cg_sd_name *n)
{
    free(n->slice);
    free(n->unit);
    memset(n, 0, sizeof(*n));
}

int md_cg_sd_split_leaf(const char *leaf, char **scope, char **unit, md_error *err)
{
    *scope = *unit = NULL;
    const char *tail = "/" MD_CG_SD_LEAF;
    size_t n = strlen(leaf), k = strlen(tail);
    md_autofree char *dir =
        n > k && leaf[0] == '/' && ends_with(leaf, tail) ? strndup(leaf, n - k) : NULL;
    const char *name = dir ? strrchr(dir, '/') + 1 : NULL;
    if (!name || !(ends_with(name, ".scope") || ends_with(name, ".slice")))
        return md_failx(
            err, EINVAL,
            "cgroup %s: not the \"" MD_CG_SD_LEAF "\" cgroup of a systemd scope or slice", leaf);
    if (!(*unit = strdup(name)))
        return md_fail(err, ENOMEM, "cgroup %s", leaf);
    *scope = md_take_ptr(&dir);
    return 0;
}

/* ----------------------------------------------------------- controllers */

static void add_word(char *buf, size_t size, const char *word, size_t len)
{
    for (const char *p = buf; *p;) {
        size_t n = strcspn(p, " ");
        if (n == len && strncmp(p, word, len) == 0)
            return;
        p += n + strspn(p + n, " ");
    }
    size_t used = strlen(buf);
    if (used + len + 2 > size)
        return;
    snprintf(buf + used, size - used, "%s%.*s", used ? " " : "", (int)len, word);
}

static void want(char *buf, size_t size, bool needed, const char *name)
{
    if (needed)
        add_word(buf, size, name, strlen(name));
}

void md_cg_sd_controllers(const md_resources *r, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!r)
        return;
    const md_memory *m = r->memory;
    want(buf, size,
         m && ((m->has_limit && m->limit) || (m->has_reservation && m->reservation) ||
               (m->has_swap && m->swap)),
         "memory");
    const md_cpu *c = r->cpu;
    want(buf, size,
         c && ((c->has_shares && c->shares) || (c->has_quota && c->quota) ||
               (c->has_period && c->period) || c->has_burst || c->has_idle),
         "cpu");
    want(buf, size, c && ((c->cpus && *c->cpus) || (c->mems && *c->mems)), "cpuset");
    const md_block_io *b = r->block_io;
    want(buf, size,
         b && ((b->has_weight && b->weight) || b->n_weight_device ||
               b->n_throttle_read_bps_device || b->n_throttle_write_bps_device ||
               b->n_throttle_read_iops_device || b->n_throttle_write_iops_device),
         "io");
    want(buf, size, r->pids && r->pids->has_limit, "pids");
    want(buf, size, r->n_hugepage_limits, "hugetlb");
    want(buf, size, r->n_rdma, "rdma");
    for (size_t i = 0; i < r->n_unified; i++) {
        const char *key = r->unified[i].key;
        size_t len = strcspn(key, ".");
        if (key[len] && strncmp(key, "cgroup.", 7) != 0)
            add_word(buf, size, key, len);
    }
}

/* ------------------------------------------------------------ properties */

static struct md_cg_sd_prop *find(const struct md_cg_sd_props *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}

const struct md_cg_sd_prop *md_cg_sd_props_get(const struct md_cg_sd_props *p, const char *name)
{
    return find(p, name);
}

/* Set a property, replacing an earlier value; takes mask. */
static int put(struct md_cg_sd_props *p, const char *name, uint64_t value, uint8_t *mask,
               size_t mask_len, md_error *err)
{
    struct md_cg_sd_prop *prop = find(p, name);
    if (!prop) {
        struct md_cg_sd_prop *grown = realloc(p->v, (p->n + 1) * sizeof(*grown));
        if (!grown) {
            free(mask);
            return md_fail(err, ENOMEM, "systemd properties");
        }
        p->v = grown;
        prop = &p->v[p->n++];
    } else {
        free(prop->mask);
    }
    *prop = (struct md_cg_sd_prop){name, value, mask, mask_len};
    return 0;
}

static int put_num(struct md_cg_sd_props *p, const char *name, uint64_t value, md_error *err)
{
    return put(p, name, value, NULL, 0, err);
}

/* A limit where -1 (any negative) is no limit. */
static uint64_t limit_value(int64_t v)
{
    return v < 0 ? MD_CG_SD_INFINITY : (uint64_t)v;
}

/* One "N" or "N-M" of a list, N <= M < 65536. */
static int parse_range(const char *s, size_t len, unsigned *lo, unsigned *hi)
{
    char item[32];
    if (len == 0 || len >= sizeof(item))
        return -1;
    memcpy(item, s, len);
    item[len] = '\0';
    char *end;
    errno = 0;
    unsigned long a = strtoul(item, &end, 10), b = a;
    if (end == item || item[0] == '-' || errno)
        return -1;
    if (*end == '-') {
        const char *second = end + 1;
        if (*second < '0' || *second > '9')
            return -1;
        b = strtoul(second, &end, 10);
        if (errno)
            return -1;
    }
    if (*end || a > b || b >= 65536)
        return -1;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return 0;
}

/* Go through the ranges of list, growing *len to fit the highest number
 * and, when mask is given, setting their bits. */
static int walk_list(const char *list, uint8_t *mask, size_t *len)
{
    for (const char *p = list;; p++) {
        size_t n = strcspn(p, ",");
        unsigned lo, hi;
        if (parse_range(p, n, &lo, &hi) < 0)
            return -1;
        if (hi / 8 + 1 > *len)
            *len = hi / 8 + 1;
        for (unsigned i = lo; mask && i <= hi; i++)
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
        p += n;
        if (!*p)
            return 0;
    }
}

int md_cg_sd_cpu_mask(const char *list, uint8_t **mask, size_t *len, md_error *err)
{
    *mask = NULL;
    *len = 0;
    if (!*list)
        return 0;
    size_t need = 0;
    if (walk_list(list, NULL, &need) < 0)
        return md_failx(err, EINVAL, "\"%s\" is not a list like \"0-3,7\"", list);
    uint8_t *m = calloc(need, 1);
    if (!m)
        return md_fail(err, ENOMEM, "cpu list");
    walk_list(list, m, &need);
    *mask = m;
    *len = need;
    return 0;
}

static int put_mask(struct md_cg_sd_props *p, const char *name, const char *list, md_error *err)
{
    uint8_t *mask;
    size_t len;
    if (md_cg_sd_cpu_mask(list, &mask, &len, err) < 0)
        return -1;
    return put(p, name, 0, mask, len, err);
}

/* systemd keeps a quota per second of CPU time; rounding it up to whole
 * percents (10 ms) keeps the cpu.max systemd writes from being tighter
 * than the one mdrun writes after it, whatever systemd's precision. */
static int put_quota(struct md_cg_sd_props *p, int64_t quota, uint64_t period, md_error *err)
{
    uint64_t per_sec = MD_CG_SD_INFINITY;
    if (quota > 0) {
        unsigned __int128 us = (unsigned __int128)quota * 1000000 / (period ? period : 100000);
        us = (us + 9999) / 10000 * 10000;
        per_sec = us >= MD_CG_SD_INFINITY ? MD_CG_SD_INFINITY - 1 : (uint64_t)us;
    }
    if (put_num(p, "CPUQuotaPerSecUSec", per_sec, err) < 0)
        return -1;
    return period ? put_num(p, "CPUQuotaPeriodUSec", period, err) : 0;
}

static int memory_props(struct md_cg_sd_props *p, const md_memory *m, md_error *err)
{
    /* systemd refuses MemoryMax=0, which memory.max takes. */
    if (m->has_limit && m->limit && put_num(p, "MemoryMax", limit_value(m->limit), err) < 0)
        return -1;
    if (m->has_reservation && m->reservation &&
        put_num(p, "MemoryLow", limit_value(m->reservation), err) < 0)
        return -1;
    if (m->has_swap && m->swap < 0)
        return put_num(p, "MemorySwapMax", MD_CG_SD_INFINITY, err);
    /* Without the limit at hand (an update of swap alone) the cgroup
     * files decide it from the limit in place. */
    if (m->has_swap && m->swap > 0 && m->has_limit && m->limit > 0 && m->swap >= m->limit)
        return put_num(p, "MemorySwapMax", (uint64_t)(m->swap - m->limit), err);
    return 0;
}

static int cpu_props(struct md_cg_sd_props *p, const md_cpu *c, md_error *err)
{
    if (c->has_shares && c->shares &&
        put_num(p, "CPUWeight", md_cgroup_shares_to_weight(c->shares), err) < 0)
        return -1;
    uint64_t period = c->has_period ? c->period : 0;
    if (c->has_quota && c->quota && put_quota(p, c->quota, period, err) < 0)
        return -1;
    /* A period alone keeps the quota in place. */
    if (!(c->has_quota && c->quota) && period && put_num(p, "CPUQuotaPeriodUSec", period, err) < 0)
        return -1;
    if (c->cpus && *c->cpus && put_mask(p, "AllowedCPUs", c->cpus, err) < 0)
        return md_wrap(err, "linux.resources.cpu.cpus");
    if (c->mems && *c->mems && put_mask(p, "AllowedMemoryNodes", c->mems, err) < 0)
        return md_wrap(err, "linux.resources.cpu.mems");
    return 0;
}

/* ---------------------------------------------------------- unified keys */

enum unified_kind {
    U_LIMIT,  /* "max" or a number >= 1 */
    U_LIMIT0, /* "max" or a number >= 0 */
    U_WEIGHT, /* 1..10000, or io.weight's "default N" */
    U_CPUMAX, /* "QUOTA PERIOD", QUOTA "max" or a number */
    U_MASK,   /* a cpu or node list */
};

static const struct {
    const char *key, *prop;
    enum unified_kind kind;
} unified_props[] = {
    {"memory.max", "MemoryMax", U_LIMIT},
    {"memory.high", "MemoryHigh", U_LIMIT},
    {"memory.low", "MemoryLow", U_LIMIT0},
    {"memory.min", "MemoryMin", U_LIMIT0},
    {"memory.swap.max", "MemorySwapMax", U_LIMIT0},
    {"pids.max", "TasksMax", U_LIMIT},
    {"cpu.weight", "CPUWeight", U_WEIGHT},
    {"io.weight", "IOWeight", U_WEIGHT},
    {"cpu.max", NULL, U_CPUMAX},
    {"cpuset.cpus", "AllowedCPUs", U_MASK},
    {"cpuset.mems", "AllowedMemoryNodes", U_MASK},
};

/* A whole decimal number (surrounding blanks allowed). */
static bool number(const char *s, uint64_t *out)
{
    s += strspn(s, " \t\n");
    if (*s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end[strspn(end, " \t\n")])
        return false;
    *out = v;
    return true;
}

static bool is_max(const char *s)
{
    s += strspn(s, " \t\n");
    return strncmp(s, "max", 3) == 0 && !s[3 + strspn(s + 3, " \t\n")];
}

static int unified_cpu_max(struct md_cg_sd_props *p, const char *value, md_error *err)
{
    char quota[32];
    uint64_t period = 0, q;
    int n = sscanf(value, "%31s %" SCNu64, quota, &period);
    if (n < 1)
        return 0;
    if (strcmp(quota, "max") == 0)
        return put_quota(p, -1, period, err);
    if (!number(quota, &q) || q == 0 || q > INT64_MAX)
        return 0;
    return put_quota(p, (int64_t)q, period, err);
}

/* What systemd cannot take is skipped: the cgroup file write that follows
 * reports a bad value. */
static int unified_prop(struct md_cg_sd_props *p, const md_kv *kv, md_error *err)
{
    const char *v = kv->value ? kv->value : "";
    for (size_t i = 0; i < sizeof(unified_props) / sizeof(unified_props[0]); i++) {
        if (strcmp(kv->key, unified_props[i].key) != 0)
            continue;
        const char *prop = unified_props[i].prop;
        uint64_t n;
        switch (unified_props[i].kind) {
        case U_LIMIT:
        case U_LIMIT0:
            if (is_max(v))
                return put_num(p, prop, MD_CG_SD_INFINITY, err);
            if (number(v, &n) && (n > 0 || unified_props[i].kind == U_LIMIT0))
                return put_num(p, prop, n, err);
            return 0;
        case U_WEIGHT:
            if (strncmp(v, "default ", 8) == 0)
                v += 8;
            if (number(v, &n) && n >= 1 && n <= 10000)
                return put_num(p, prop, n, err);
            return 0;
        case U_CPUMAX:
            return unified_cpu_max(p, v, err);
        case U_MASK: {
            md_error ignored = {0};
            if (*v && put_mask(p, prop, v, &ignored) < 0)
                md_error_clear(&ignored);
            return 0;
        }
        }
    }
    return 0;
}

int md_cg_sd_props(const md_resources *r, struct md_cg_sd_props *out, md_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!r)
        return 0;
    int rc = 0;
    if (r->memory)
        rc = memory_props(out, r->memory, err);
    if (rc == 0 && r->cpu)
        rc = cpu_props(out, r->cpu, err);
    if (rc == 0 && r->pids && r->pids->has_limit && r->pids->limit)
        rc = put_num(out, "TasksMax", limit_value(r->pids->limit), err);
    if (rc == 0 && r->block_io && r->block_io->has_weight && r->block_io->weight)
        rc = put_num(out, "IOWeight", md_cgroup_blkio_to_io_weight(r->block_io->weight), err);
    for (size_t i = 0; rc == 0 && i < r->n_unified; i++)
        rc = unified_prop(out, &r->unified[i], err);
    if (rc < 0)
        md_cg_sd_props_free(out);
    return rc;
}

void md_cg_sd_props_free(struct md_cg_sd_props *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].mask);
    free(p->v);
    memset(p, 0, sizeof(*p));
}
