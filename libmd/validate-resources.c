/* validate-resources.c - checks of linux.resources, the cgroup settings:
 * values the cgroup files would refuse, or that contradict each other. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "validate.h"

static void check_device_rule(struct md_vctx *v, const md_device_rule *r)
{
    const char *type = r->type;
    if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
        md_vbad_at(v, "type", "unknown device type \"%s\", must be a, c or b", type);
    const char *access = r->access;
    if (access && (!access[0] || strspn(access, "rwm") != strlen(access)))
        md_vbad_at(v, "access", "\"%s\" is not a combination of r, w and m", access);
}

static void check_device_rules(struct md_vctx *v, const md_device_rule *rules, size_t n)
{
    size_t saved = md_vpath_key(v, "devices");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        check_device_rule(v, &rules[i]);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

/* Limits where -1 means "unlimited" and other negatives mean nothing. */
static void limit_ok(struct md_vctx *v, const char *key, bool has, int64_t value)
{
    if (has && value < -1)
        md_vbad_at(v, key, "must be -1 (unlimited) or at least 0");
}

static void check_memory(struct md_vctx *v, const md_memory *m)
{
    if (!m)
        return;
    size_t saved = md_vpath_key(v, "memory");
    limit_ok(v, "limit", m->has_limit, m->limit);
    limit_ok(v, "reservation", m->has_reservation, m->reservation);
    limit_ok(v, "swap", m->has_swap, m->swap);
    limit_ok(v, "kernel", m->has_kernel, m->kernel);
    limit_ok(v, "kernelTCP", m->has_kernel_tcp, m->kernel_tcp);
    /* swap is memory+swap, so it cannot be below the memory limit. */
    if (m->has_limit && m->has_swap && m->limit > 0 && m->swap > 0 && m->swap < m->limit)
        md_vbad_at(v, "swap", "memory+swap limit %" PRId64 " is below the memory limit %" PRId64,
                   m->swap, m->limit);
    if (m->has_swappiness && m->swappiness > 100)
        md_vbad_at(v, "swappiness", "must be at most 100");
    md_vpath_pop(v, saved);
}

static void check_cpu(struct md_vctx *v, const md_cpu *c)
{
    if (!c)
        return;
    size_t saved = md_vpath_key(v, "cpu");
    if (c->has_burst && c->has_quota && c->quota > 0 && c->burst > (uint64_t)c->quota)
        md_vbad_at(v, "burst", "%" PRIu64 " is above the quota %" PRId64, c->burst, c->quota);
    md_vlist(v, "cpus", c->cpus);
    md_vlist(v, "mems", c->mems);
    if (c->has_idle && c->idle != 0 && c->idle != 1)
        md_vbad_at(v, "idle", "must be 0 or 1");
    md_vpath_pop(v, saved);
}

/* blkio.weight and blkio.leaf_weight take 10 to 1000. */
static void weight_ok(struct md_vctx *v, const char *key, bool has, uint16_t weight)
{
    if (has && (weight < 10 || weight > 1000))
        md_vbad_at(v, key, "must be from 10 to 1000");
}

static void check_block_io(struct md_vctx *v, const md_block_io *b)
{
    if (!b)
        return;
    size_t saved = md_vpath_key(v, "blockIO");
    weight_ok(v, "weight", b->has_weight, b->weight);
    weight_ok(v, "leafWeight", b->has_leaf_weight, b->leaf_weight);
    size_t list = md_vpath_key(v, "weightDevice");
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const md_weight_device *d = &b->weight_device[i];
        size_t item = md_vpath_index(v, i);
        if (!d->has_weight && !d->has_leaf_weight)
            md_vbad(v, "needs weight or leafWeight");
        weight_ok(v, "weight", d->has_weight, d->weight);
        weight_ok(v, "leafWeight", d->has_leaf_weight, d->leaf_weight);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, list);
    md_vpath_pop(v, saved);
}

/* ^[1-9][0-9]*[KMG]B$, as the schema has it. */
static bool page_size_ok(const char *s)
{
    if (*s < '1' || *s > '9')
        return false;
    s += strspn(s, "0123456789");
    return s[0] && strchr("KMG", s[0]) && s[1] == 'B' && s[2] == '\0';
}

static void check_hugepages(struct md_vctx *v, const md_hugepage_limit *h, size_t n)
{
    size_t saved = md_vpath_key(v, "hugepageLimits");
    for (size_t i = 0; i < n; i++) {
        size_t item = md_vpath_index(v, i);
        if (h[i].page_size && !page_size_ok(h[i].page_size))
            md_vbad_at(v, "pageSize", "\"%s\" is not a size like \"2MB\" (KB, MB or GB)",
                       h[i].page_size);
        md_vpath_pop(v, item);
    }
    md_vpath_pop(v, saved);
}

static void check_rdma(struct md_vctx *v, const md_rdma *r, size_t n)
{
    size_t saved = md_vpath_key(v, "rdma");
    for (size_t i = 0; i < n; i++) {
        if (!r[i].has_hca_handles && !r[i].has_hca_objects) {
            size_t item = md_vpath_map(v, r[i].device);
            md_vbad(v, "needs hcaHandles or hcaObjects");
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
}

/* A file of the container's own cgroup directory, "<controller>.<name>":
 * a key must not reach any other file. */
static bool unified_key_ok(const char *key)
{
    const char *dot = strchr(key, '.');
    return dot && dot != key && dot[1] && !strchr(key, '/');
}

static void check_unified(struct md_vctx *v, const md_kv *unified, size_t n)
{
    size_t saved = md_vpath_key(v, "unified");
    for (size_t i = 0; i < n; i++) {
        if (!unified_key_ok(unified[i].key)) {
            size_t item = md_vpath_map(v, unified[i].key);
            md_vbad(v, "not a cgroup file name like \"memory.max\"");
            md_vpath_pop(v, item);
        }
    }
    md_vpath_pop(v, saved);
}

void md_validate_resources(struct md_vctx *v, const md_resources *r)
{
    check_device_rules(v, r->devices, r->n_devices);
    check_memory(v, r->memory);
    check_cpu(v, r->cpu);
    check_block_io(v, r->block_io);
    check_hugepages(v, r->hugepage_limits, r->n_hugepage_limits);
    if (r->pids)
        limit_ok(v, "pids.limit", r->pids->has_limit, r->pids->limit);
    check_rdma(v, r->rdma, r->n_rdma);
    check_unified(v, r->unified, r->n_unified);
}
