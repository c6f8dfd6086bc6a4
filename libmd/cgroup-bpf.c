/* cgroup-bpf.c - the v2 device filter: an eBPF program generated from the
 * devices rules, loaded with bpf(2) and attached to the container's cgroup.
 *
 * The program sees struct bpf_cgroup_dev_ctx: access_type holds the device
 * type (BPF_DEVCG_DEV_*) in its low 16 bits and the access asked for
 * (BPF_DEVCG_ACC_*) in its high 16, then major and minor.  It returns 1 to
 * allow, 0 to deny.  Shape:
 *
 *     r2 = type, r3 = access bits still undecided, r4 = major, r5 = minor
 *     for each rule, last to first:
 *         if type/major/minor differ: skip to the next rule
 *         deny:  if r3 & rule access: return 0
 *         allow: r3 &= ~rule access; if r3 == 0: return 1
 *     return 0
 *
 * A rule covering every access returns at once (allow) or always (deny),
 * and one that also matches every device ends the program: the verifier
 * refuses unreachable instructions, so nothing is emitted after it. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-bpf.h"
#include "cleanup.h"
#include "error.h"
#include "log.h"

#define REG_RET    0
#define REG_CTX    1
#define REG_TYPE   2
#define REG_ACCESS 3
#define REG_MAJOR  4
#define REG_MINOR  5

#define ACC_ALL (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* A growing instruction array; a failed allocation is reported once, at
 * the end, so the emitters stay one line each. */
struct prog {
    struct bpf_insn *insns;
    size_t n, cap;
    bool failed;
};

static size_t emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct bpf_insn *grown = realloc(p->insns, cap * sizeof(*grown));
        if (!grown) {
            p->failed = true;
            return p->n;
        }
        p->insns = grown;
        p->cap = cap;
    }
    p->insns[p->n] =
        (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
    return p->n++;
}

/* dst = *(u32 *)(src + off) */
static void load32(struct prog *p, uint8_t dst, uint8_t src, int16_t off)
{
    emit(p, BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

/* 32-bit dst op= imm (the upper half of dst becomes 0) */
static void alu32(struct prog *p, uint8_t op, uint8_t dst, int32_t imm)
{
    emit(p, BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static void mov_imm(struct prog *p, uint8_t dst, int32_t imm)
{
    emit(p, BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

static void mov_reg(struct prog *p, uint8_t dst, uint8_t src)
{
    emit(p, BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}

/* A conditional jump whose target is patched later; returns its index. */
static size_t jump_if(struct prog *p, uint8_t op, uint8_t dst, int32_t imm)
{
    return emit(p, BPF_JMP | op | BPF_K, dst, 0, 0, imm);
}

static void ret(struct prog *p, int32_t value)
{
    mov_imm(p, REG_RET, value);
    emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int access_bits(const char *access)
{
    if (!access || !access[0])
        return ACC_ALL;
    int bits = 0;
    for (const char *c = access; *c; c++) {
        switch (*c) {
        case 'r':
            bits |= BPF_DEVCG_ACC_READ;
            break;
        case 'w':
            bits |= BPF_DEVCG_ACC_WRITE;
            break;
        case 'm':
            bits |= BPF_DEVCG_ACC_MKNOD;
            break;
        default:
            return -1;
        }
    }
    return bits;
}

/* 0 for "a" (any type), else BPF_DEVCG_DEV_*; -1 when unknown. */
static int type_bits(const char *type)
{
    if (!type || !strcmp(type, "a"))
        return 0;
    if (!strcmp(type, "c"))
        return BPF_DEVCG_DEV_CHAR;
    if (!strcmp(type, "b"))
        return BPF_DEVCG_DEV_BLOCK;
    return -1;
}

/* A major or minor the rule tests: -1 for "any", -2 when the number cannot
 * be a device's (the rule then matches nothing). */
static int64_t device_number(bool has, int64_t value)
{
    if (!has || value < 0)
        return -1;
    return value <= INT32_MAX ? value : -2;
}

/* Emit one rule's block.  Returns 1 when the rule matches everything (no
 * earlier rule can be reached), 0 otherwise, -1 on a malformed rule. */
static int emit_rule(struct prog *p, const md_device_rule *rule, size_t index, md_error *err)
{
    int type = type_bits(rule->type);
    if (type < 0)
        return md_failx(err, EINVAL, "devices[%zu]: unknown device type \"%s\"", index, rule->type);
    int access = access_bits(rule->access);
    if (access < 0)
        return md_failx(err, EINVAL, "devices[%zu]: access \"%s\" is not made of r, w and m", index,
                        rule->access);
    int64_t major = device_number(rule->has_major, rule->major);
    int64_t minor = device_number(rule->has_minor, rule->minor);
    if (major == -2 || minor == -2)
        return 0;

    size_t skips[4], n_skips = 0;
    if (type)
        skips[n_skips++] = jump_if(p, BPF_JNE, REG_TYPE, type);
    if (major >= 0)
        skips[n_skips++] = jump_if(p, BPF_JNE, REG_MAJOR, (int32_t)major);
    if (minor >= 0)
        skips[n_skips++] = jump_if(p, BPF_JNE, REG_MINOR, (int32_t)minor);

    if (access == ACC_ALL) {
        ret(p, rule->allow);
    } else if (rule->allow) {
        alu32(p, BPF_AND, REG_ACCESS, ~access);
        skips[n_skips++] = jump_if(p, BPF_JNE, REG_ACCESS, 0);
        ret(p, 1);
    } else {
        mov_reg(p, REG_RET, REG_ACCESS);
        alu32(p, BPF_AND, REG_RET, access);
        skips[n_skips++] = jump_if(p, BPF_JEQ, REG_RET, 0);
        ret(p, 0);
    }
    if (p->failed)
        return 0;
    for (size_t i = 0; i < n_skips; i++)
        p->insns[skips[i]].off = (int16_t)(p->n - skips[i] - 1);
    return n_skips == 0;
}

int md_cgroup_bpf_build(const md_device_rule *rules, size_t n, struct bpf_insn **insns,
                        size_t *count, md_error *err)
{
    struct prog p = {0};
    load32(&p, REG_TYPE, REG_CTX, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    mov_reg(&p, REG_ACCESS, REG_TYPE);
    alu32(&p, BPF_AND, REG_TYPE, 0xffff);
    alu32(&p, BPF_RSH, REG_ACCESS, 16);
    load32(&p, REG_MAJOR, REG_CTX, offsetof(struct bpf_cgroup_dev_ctx, major));
    load32(&p, REG_MINOR, REG_CTX, offsetof(struct bpf_cgroup_dev_ctx, minor));

    int final = 0;
    for (size_t i = n; i-- > 0 && !final;) {
        final = emit_rule(&p, &rules[i], i, err);
        if (final < 0) {
            free(p.insns);
            return -1;
        }
    }
    if (!final)
        ret(&p, 0);
    if (p.failed) {
        free(p.insns);
        return md_fail(err, ENOMEM, "device program");
    }
    *insns = p.insns;
    *count = p.n;
    return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* The verifier's last complaint, for the error message. */
static const char *last_line(char *log)
{
    size_t len = strlen(log);
    while (len && log[len - 1] == '\n')
        log[--len] = '\0';
    char *nl = strrchr(log, '\n');
    return nl ? nl + 1 : log;
}

static int load(const struct bpf_insn *insns, size_t count, md_error *err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uintptr_t)insns;
    attr.insn_cnt = (uint32_t)count;
    /* The license only gates GPL-only helpers; the program calls none. */
    attr.license = (uintptr_t) "";
    int fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    int saved = errno;
    if (saved != EINVAL && saved != EACCES)
        return md_fail(err, saved, "load device program");
    /* Load again with the verifier's log to say what it refused. */
    md_autofree char *log = calloc(1, 65536);
    if (!log)
        return md_fail(err, saved, "load device program");
    attr.log_buf = (uintptr_t)log;
    attr.log_size = 65536;
    attr.log_level = 1;
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0)
        return fd;
    return md_failx(err, saved, "load device program: %s: %s", strerror(saved),
                    log[0] ? last_line(log) : "no verifier log");
}

/* The ids of the device programs attached to the cgroup itself. */
static int query(int cgroup_fd, uint32_t *ids, uint32_t *n, md_error *err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (uint32_t)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uintptr_t)ids;
    attr.query.prog_cnt = *n;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return md_fail(err, errno, "query the cgroup's device programs");
    *n = attr.query.prog_cnt;
    return 0;
}

static int detach(int cgroup_fd, uint32_t id, md_error *err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    md_autofd fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (fd < 0) {
        if (errno == ENOENT) /* gone meanwhile */
            return 0;
        return md_fail(err, errno, "device program %u", id);
    }
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
        return md_fail(err, errno, "detach device program %u", id);
    return 0;
}

static int attach(int cgroup_fd, int prog_fd, md_error *err)
{
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
        return md_fail(err, errno, "attach device program");
    return 0;
}

int md_cgroup_bpf_devices(int cgroup_fd, const md_device_rule *rules, size_t n, md_error *err)
{
    uint32_t old[64];
    uint32_t n_old = sizeof(old) / sizeof(old[0]);
    if (query(cgroup_fd, old, &n_old, err) < 0)
        return -1;

    /* The new program goes in before the old ones leave: in between both
     * apply and a device needs both to allow it, so no moment is looser
     * than either set of rules. */
    if (n > 0) {
        md_autofree struct bpf_insn *insns = NULL;
        size_t count;
        if (md_cgroup_bpf_build(rules, n, &insns, &count, err) < 0)
            return -1;
        md_autofd fd = load(insns, count, err);
        if (fd < 0 || attach(cgroup_fd, fd, err) < 0)
            return -1;
        md_debug("cgroup: device program of %zu instructions for %zu rules attached", count, n);
    }
    for (uint32_t i = 0; i < n_old; i++)
        if (detach(cgroup_fd, old[i], err) < 0)
            return -1;
    return 0;
}
