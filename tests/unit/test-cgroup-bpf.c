/* test-cgroup-bpf.c - the cgroup v2 device program: what it decides, found
 * by running the generated instructions in a small interpreter (on every
 * host), and the kernel enforcing it once loaded and attached (as root,
 * wherever a cgroup2 hierarchy is mounted: v2, or a hybrid host's unified
 * one, where device programs apply too). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup-bpf.h"
#include "error.h"

/* ------------------------------------------------------- interpreter */

#define ANY -1

static md_device_rule rule(bool allow, const char *type, int64_t major, int64_t minor,
                           const char *access)
{
    return (md_device_rule){.allow = allow,
                            .type = (char *)type,
                            .has_major = major != ANY,
                            .major = major,
                            .has_minor = minor != ANY,
                            .minor = minor,
                            .access = (char *)access};
}

/* What the verifier insists on and the interpreter relies on: every jump
 * lands inside the program, every instruction is reachable, and the
 * program cannot run off its end. */
static void check_shape(const struct bpf_insn *p, size_t n)
{
    bool seen[4096] = {0};
    size_t todo[4096], n_todo = 0;
    cr_assert(n > 0 && n < 4096);
    todo[n_todo++] = 0;
    while (n_todo) {
        size_t pc = todo[--n_todo];
        cr_assert(pc < n, "a path leaves the program at %zu", pc);
        if (seen[pc])
            continue;
        seen[pc] = true;
        uint8_t code = p[pc].code;
        if (code == (BPF_JMP | BPF_EXIT))
            continue;
        if (BPF_CLASS(code) == BPF_JMP) {
            todo[n_todo++] = pc + 1 + (size_t)p[pc].off;
            cr_assert(p[pc].off >= 0, "backward jump at %zu", pc);
        }
        todo[n_todo++] = pc + 1;
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(seen[i], "instruction %zu is unreachable (the verifier refuses that)", i);
}

/* Run the program on one device access; returns its r0. */
static int run(const struct bpf_insn *p, size_t n, int type, int access, uint32_t major,
               uint32_t minor)
{
    struct bpf_cgroup_dev_ctx ctx = {
        .access_type = (uint32_t)(access << 16 | type), .major = major, .minor = minor};
    uint64_t r[11] = {0};
    unsigned set = 1u << 1; /* r1 (the context) is all that is set at entry */
    for (size_t pc = 0, steps = 0; steps < 100000; steps++) {
        cr_assert(pc < n, "ran off the program");
        const struct bpf_insn *i = &p[pc++];
        uint8_t code = i->code;
        bool reads_dst = BPF_CLASS(code) == BPF_ALU ||
                         (BPF_CLASS(code) == BPF_JMP && code != (BPF_JMP | BPF_EXIT));
        if (reads_dst)
            cr_assert(set & (1u << i->dst_reg), "r%d read before set at %zu", i->dst_reg, pc - 1);
        switch (code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            cr_assert(i->src_reg == 1 && i->off >= 0 && i->off + 4 <= (int)sizeof(ctx));
            uint32_t v;
            memcpy(&v, (char *)&ctx + i->off, 4);
            r[i->dst_reg] = v;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_X:
            cr_assert(i->src_reg != 1 && (set & (1u << i->src_reg)));
            r[i->dst_reg] = r[i->src_reg];
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            pc += r[i->dst_reg] != (uint64_t)(int64_t)i->imm ? (size_t)i->off : 0;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += r[i->dst_reg] == (uint64_t)(int64_t)i->imm ? (size_t)i->off : 0;
            break;
        case BPF_JMP | BPF_EXIT:
            cr_assert(set & 1u, "exit with r0 unset");
            return (int)r[0];
        default:
            cr_assert_fail("unexpected opcode 0x%02x at %zu", code, pc - 1);
        }
        set |= 1u << i->dst_reg;
        cr_assert(i->dst_reg != 1, "the context pointer is overwritten");
    }
    cr_assert_fail("the program does not end");
    return -1;
}

struct prog {
    struct bpf_insn *insns;
    size_t n;
};

static struct prog build(const md_device_rule *rules, size_t n)
{
    struct prog p;
    md_error err = {0};
    cr_assert_eq(md_cgroup_bpf_build(rules, n, &p.insns, &p.n, &err), 0, "%s", err.msg);
    check_shape(p.insns, p.n);
    return p;
}

/* Whether access ("rw", "m", ...) to the device is allowed. */
static bool allowed(struct prog p, char type, const char *access, uint32_t major, uint32_t minor)
{
    int t = type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
    int a = 0;
    for (const char *c = access; *c; c++)
        a |= *c == 'r' ? BPF_DEVCG_ACC_READ : *c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    int ret = run(p.insns, p.n, t, a, major, minor);
    cr_assert(ret == 0 || ret == 1, "r0 = %d", ret);
    return ret == 1;
}

/* ---------------------------------------------------------- semantics */

Test(cgroup_bpf, oci_default_list)
{
    md_device_rule rules[] = {
        rule(false, NULL, ANY, ANY, "rwm"), rule(true, "c", 1, 3, "rwm"),
        rule(true, "c", 1, 5, "rwm"),       rule(true, "c", 136, ANY, "rwm"),
        rule(true, "c", ANY, ANY, "m"),     rule(true, "b", ANY, ANY, "m"),
    };
    struct prog p = build(rules, 6);
    cr_expect(allowed(p, 'c', "rw", 1, 3));  /* /dev/null */
    cr_expect(allowed(p, 'c', "rwm", 1, 5)); /* /dev/zero */
    cr_expect(allowed(p, 'c', "w", 136, 7)); /* a pty */
    cr_expect(!allowed(p, 'c', "r", 1, 1));  /* /dev/mem */
    cr_expect(!allowed(p, 'b', "r", 8, 0));  /* /dev/sda */
    cr_expect(allowed(p, 'b', "m", 8, 0));   /* but mknod of it */
    cr_expect(!allowed(p, 'b', "rm", 8, 0));
    cr_expect(!allowed(p, 'c', "r", 4, 1));
    free(p.insns);
}

Test(cgroup_bpf, later_rule_overrides_earlier)
{
    md_device_rule rules[] = {
        rule(true, "a", ANY, ANY, "rwm"),
        rule(false, "c", 1, 5, "w"),
        rule(true, "c", 1, 5, "rwm"),
        rule(false, "c", 1, 3, NULL),
    };
    struct prog p = build(rules, 4);
    cr_expect(allowed(p, 'c', "rw", 1, 5), "the last rule for 1:5 allows");
    cr_expect(!allowed(p, 'c', "r", 1, 3), "the last rule for 1:3 denies");
    cr_expect(allowed(p, 'b', "rw", 8, 0));
    free(p.insns);

    md_device_rule deny_write[] = {rule(true, "a", ANY, ANY, "rwm"), rule(false, "c", 1, 5, "w")};
    p = build(deny_write, 2);
    cr_expect(allowed(p, 'c', "r", 1, 5));
    cr_expect(!allowed(p, 'c', "w", 1, 5));
    cr_expect(!allowed(p, 'c', "rw", 1, 5), "a request is denied if any of its bits is");
    cr_expect(allowed(p, 'c', "rw", 1, 3));
    free(p.insns);
}

Test(cgroup_bpf, access_is_decided_per_bit)
{
    md_device_rule rules[] = {
        rule(false, "a", ANY, ANY, "rwm"),
        rule(true, "c", 1, 3, "r"),
        rule(true, "c", 1, 3, "w"),
    };
    struct prog p = build(rules, 3);
    cr_expect(allowed(p, 'c', "rw", 1, 3), "r and w come from two rules");
    cr_expect(!allowed(p, 'c', "m", 1, 3));
    cr_expect(!allowed(p, 'c', "rwm", 1, 3));
    cr_expect(!allowed(p, 'b', "r", 1, 3), "type is matched");
    cr_expect(!allowed(p, 'c', "r", 1, 4), "minor is matched");
    cr_expect(!allowed(p, 'c', "r", 2, 3), "major is matched");
    free(p.insns);
}

Test(cgroup_bpf, unmatched_access_is_denied)
{
    md_device_rule rules[] = {rule(true, "c", 1, 3, "rwm")};
    struct prog p = build(rules, 1);
    cr_expect(allowed(p, 'c', "rw", 1, 3));
    cr_expect(!allowed(p, 'c', "r", 1, 5));
    free(p.insns);
}

Test(cgroup_bpf, absent_fields_match_everything)
{
    md_device_rule rules[] = {
        rule(false, NULL, ANY, ANY, NULL),
        rule(true, NULL, 1, ANY, ""),
        {.allow = true, .type = "b", .has_major = true, .major = -1, .has_minor = true, .minor = 3},
    };
    struct prog p = build(rules, 3);
    cr_expect(allowed(p, 'c', "rwm", 1, 99), "no type is all types, empty access is rwm");
    cr_expect(allowed(p, 'b', "rwm", 1, 0));
    cr_expect(allowed(p, 'b', "r", 77, 3), "a negative major is any");
    cr_expect(!allowed(p, 'c', "r", 77, 3));
    free(p.insns);
}

Test(cgroup_bpf, impossible_numbers_match_nothing)
{
    md_device_rule rules[] = {
        rule(false, "a", ANY, ANY, "rwm"),
        rule(true, "c", 4294967296LL + 1, 3, "rwm"),
    };
    struct prog p = build(rules, 2);
    cr_expect(!allowed(p, 'c', "r", 1, 3), "a major above 2^32 must not wrap to 1");
    free(p.insns);
}

/* ------------------------------------------------------------- shape */

Test(cgroup_bpf, instruction_counts)
{
    /* 6 to load the context; a rule with type, major and minor and every
     * access: 3 tests + return; the first rule, deny-all, ends the program
     * with its return: nothing after it. */
    md_device_rule two[] = {rule(false, "a", ANY, ANY, "rwm"), rule(true, "c", 1, 3, "rwm")};
    struct prog p = build(two, 2);
    cr_expect_eq(p.n, 6 + 5 + 2);
    cr_expect_eq(p.insns[p.n - 1].code, BPF_JMP | BPF_EXIT);
    free(p.insns);

    /* Without a catch-all the program ends with the default deny; a rule
     * with some access takes 3 more (mask, test, and the return). */
    md_device_rule partial[] = {rule(true, "c", 1, 3, "r")};
    p = build(partial, 1);
    cr_expect_eq(p.n, 6 + (3 + 2 + 2) + 2);
    cr_expect(!allowed(p, 'c', "w", 1, 3));
    free(p.insns);
}

Test(cgroup_bpf, catch_all_hides_earlier_rules)
{
    md_device_rule rules[] = {
        rule(false, "c", 1, 3, "rwm"),
        rule(true, "b", 8, ANY, "r"),
        rule(true, "a", ANY, ANY, "rwm"),
    };
    struct prog p = build(rules, 3);
    cr_expect_eq(p.n, 6 + 2, "the rules before an allow-all are dead code, and left out");
    cr_expect(allowed(p, 'c', "rw", 1, 3));
    free(p.insns);
}

Test(cgroup_bpf, bad_rules_are_named)
{
    md_device_rule rules[] = {rule(true, "c", 1, 3, "rwm"), rule(true, "x", 1, 3, "rwm")};
    struct bpf_insn *insns = NULL;
    size_t n = 0;
    md_error err = {0};
    cr_assert_eq(md_cgroup_bpf_build(rules, 2, &insns, &n, &err), -1);
    cr_expect(strstr(err.msg, "devices[1]") && strstr(err.msg, "\"x\""), "%s", err.msg);
    md_error_clear(&err);
    rules[1] = rule(true, "c", 1, 3, "rwx");
    cr_assert_eq(md_cgroup_bpf_build(rules, 2, &insns, &n, &err), -1);
    cr_expect(strstr(err.msg, "devices[1]") && strstr(err.msg, "rwx"), "%s", err.msg);
    md_error_clear(&err);
}

/* ------------------------------------------------------- the kernel */

static char cg_dir[256];
static int cg_fd = -1;

/* A fresh cgroup in whichever cgroup2 hierarchy the host has; skips the
 * test without root or cgroup2. */
static void make_cgroup(void)
{
    if (geteuid() != 0)
        cr_skip_test("loading a device program needs root");
    const char *mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    const char *mount = NULL;
    for (size_t i = 0; i < 2 && !mount; i++) {
        struct statfs st;
        if (statfs(mounts[i], &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC)
            mount = mounts[i];
    }
    if (!mount)
        cr_skip_test("no cgroup2 hierarchy mounted");
    snprintf(cg_dir, sizeof(cg_dir), "%s/mdrun-bpf-test-%d", mount, (int)getpid());
    cr_assert_eq(mkdir(cg_dir, 0755), 0, "mkdir %s: %s", cg_dir, strerror(errno));
    cg_fd = open(cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert(cg_fd >= 0);
}

static void remove_cgroup(void)
{
    if (cg_fd >= 0)
        close(cg_fd);
    if (cg_dir[0])
        rmdir(cg_dir);
}

/* Open path from a child inside the cgroup; returns 0 or the errno. */
static int open_inside(const char *path)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        char procs[300];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg_dir);
        int fd = open(procs, O_WRONLY);
        if (fd < 0 || write(fd, "0", 1) != 1)
            _exit(100);
        close(fd);
        fd = open(path, O_RDONLY);
        _exit(fd >= 0 ? 0 : errno);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 100, "could not join %s", cg_dir);
    return WEXITSTATUS(status);
}

static uint32_t attached(void)
{
    uint32_t ids[8];
    union bpf_attr attr = {0};
    attr.query.target_fd = (uint32_t)cg_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = (uintptr_t)ids;
    attr.query.prog_cnt = 8;
    cr_assert_eq(syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)), 0, "%s", strerror(errno));
    return attr.query.prog_cnt;
}

Test(cgroup_bpf, kernel_enforces_and_update_replaces, .init = make_cgroup, .fini = remove_cgroup)
{
    md_device_rule rules[] = {rule(false, "a", ANY, ANY, "rwm"), rule(true, "c", 1, 3, "rwm")};
    md_error err = {0};
    cr_assert_eq(md_cgroup_bpf_devices(cg_fd, rules, 2, &err), 0, "%s", err.msg);
    cr_expect_eq(attached(), 1);
    cr_expect_eq(open_inside("/dev/null"), 0);
    cr_expect_eq(open_inside("/dev/zero"), EPERM);

    md_device_rule more[] = {rule(false, "a", ANY, ANY, "rwm"), rule(true, "c", 1, 3, "rwm"),
                             rule(true, "c", 1, 5, "r")};
    cr_assert_eq(md_cgroup_bpf_devices(cg_fd, more, 3, &err), 0, "%s", err.msg);
    cr_expect_eq(attached(), 1, "the old program is detached");
    cr_expect_eq(open_inside("/dev/zero"), 0);

    cr_assert_eq(md_cgroup_bpf_devices(cg_fd, NULL, 0, &err), 0, "%s", err.msg);
    cr_expect_eq(attached(), 0);
    cr_expect_eq(open_inside("/dev/full"), 0);
}
