/* test-container-seccomp.c - linux.seccomp on real containers, seen from
 * inside them and from mdrun's exit status: the errno of SCMP_ACT_ERRNO
 * rules and of the default action, argument conditions, the kill actions,
 * the default profile of `mdrun spec`, SCMP_ACT_NOTIFY with an agent at
 * listenerPath (for run and for exec), a bad section refused before
 * anything exists, and the cache of compiled programs; as root and as an
 * unprivileged user.  `mdrun exec` under an ERRNO filter is test-exec's. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"

TestSuite(seccomp);

/* ------------------------------------------------------------ configs */

/* The bundle's config with linux.seccomp replaced by the profile given as
 * JSON text (NULL: no linux.seccomp at all), for the caller to edit further
 * and save(). */
static md_spec *with_profile(const char *bundle, const char *profile)
{
    char *text = fx_fmt("{\"ociVersion\": \"1.2.0\", \"linux\": {%s%s}}",
                        profile ? "\"seccomp\": " : "", profile ? profile : "");
    md_spec *parsed = NULL;
    md_errors problems = {0};
    int rc = md_spec_load_string(text, strlen(text), "profile", &parsed, &problems);
    cr_assert_eq(rc, 0, "profile: %s", problems.n ? problems.msgs[0] : "unparsable");
    md_errors_clear(&problems);
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    md_linux *from = ct_linux(parsed);
    md_seccomp *old = l->seccomp;
    l->seccomp = from->seccomp;
    from->seccomp = old;
    md_spec_free(parsed);
    free(text);
    return s;
}

static void save(const char *bundle, md_spec *s)
{
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

static void set_profile(const char *bundle, const char *profile)
{
    save(bundle, with_profile(bundle, profile));
}

/* A core dump of a killed container would land in its rootfs. */
static void no_core_dumps(md_spec *s)
{
    md_process *p = s->process;
    for (size_t i = 0; i < p->n_rlimits; i++)
        if (strcmp(p->rlimits[i].type, "RLIMIT_CORE") == 0) {
            p->rlimits[i].soft = p->rlimits[i].hard = 0;
            return;
        }
    p->rlimits = realloc(p->rlimits, (p->n_rlimits + 1) * sizeof(*p->rlimits));
    cr_assert(p->rlimits);
    p->rlimits[p->n_rlimits++] = (md_rlimit){strdup("RLIMIT_CORE"), 0, 0};
}

/* `mdrun run` the bundle with args `sh -c script`. */
static struct fx_result run_sh(struct hx_ctx *c, const char *bundle, const char *script)
{
    return ct_run(c, bundle, "sh", "-c", script, NULL);
}

static void expect_output(const struct fx_result *r, int status, const char *out, const char *what)
{
    cr_expect_eq(r->status, status, "%s: exit %d, want %d; stderr: %s", what, r->status, status,
                 r->err);
    cr_expect_str_eq(r->out, out, "%s: printed\n%s\nwant\n%s\nstderr: %s", what, r->out, out,
                     r->err);
}

static void expect_err(const struct fx_result *r, const char *needle, const char *what)
{
    cr_expect(strstr(r->err, needle), "%s: stderr does not mention \"%s\": %s", what, needle,
              r->err);
}

/* ------------------------------------------------------ errno actions */

CT_BOTH(seccomp, errno_ret_is_the_errno_inside)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    /* errnoRet 38 is ENOSYS; without errnoRet, EPERM. */
    set_profile(b, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\","
                   " \"errnoRet\": 38},"
                   "{\"names\": [\"rmdir\", \"unlinkat\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
    struct fx_result r = run_sh(c, b,
                                "echo running; mkdir /tmp/new; echo mkdir=$?; "
                                "rmdir /proc; echo rmdir=$?; ls -d /tmp/new 2>/dev/null; "
                                "grep '^Seccomp:' /proc/self/status");
    expect_output(&r, 0, "running\nmkdir=1\nrmdir=1\nSeccomp:\t2\n", "errnoRet");
    expect_err(&r, "can't create directory '/tmp/new': Function not implemented", "errnoRet 38");
    expect_err(&r, "Operation not permitted", "no errnoRet: EPERM");
    fx_result_free(&r);
    hx_assert_clean(c);
}

/* What busybox's sh, echo, cat and mkdir need, and execve, the only call
 * mdrun makes after loading the filter when noNewPrivileges is true. */
#define BUSYBOX_CALLS                                                                            \
    "\"access\", \"arch_prctl\", \"brk\", \"clone\", \"clone3\", \"close\", \"dup\", \"dup2\", " \
    "\"dup3\", \"execve\", \"exit\", \"exit_group\", \"fcntl\", \"fork\", \"fstat\", "           \
    "\"futex\", \"getcwd\", \"getdents64\", \"getegid\", \"geteuid\", \"getgid\", "              \
    "\"getgroups\", \"getpgrp\", \"getpid\", \"getppid\", \"getrandom\", \"getuid\", "           \
    "\"ioctl\", \"lseek\", \"lstat\", \"mmap\", \"mprotect\", \"munmap\", \"newfstatat\", "      \
    "\"open\", \"openat\", \"pipe\", \"pipe2\", \"prctl\", \"prlimit64\", \"read\", "            \
    "\"readlink\", \"rseq\", \"rt_sigaction\", \"rt_sigprocmask\", \"rt_sigreturn\", "           \
    "\"sendfile\", \"set_robust_list\", \"set_tid_address\", \"setpgid\", \"sigaltstack\", "     \
    "\"stat\", \"statx\", \"uname\", \"vfork\", \"wait4\", \"write\", \"writev\""

CT_BOTH(seccomp, default_errno_ret_with_an_allow_list)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    /* Everything but the allowed calls fails with EOPNOTSUPP (95). */
    set_profile(b, "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 95,"
                   " \"syscalls\": [{\"names\": [" BUSYBOX_CALLS "],"
                   " \"action\": \"SCMP_ACT_ALLOW\"}]}");
    struct fx_result r = run_sh(c, b,
                                "echo running; cat /etc/passwd >/dev/null && echo read; "
                                "mkdir /tmp/new; echo mkdir=$?");
    expect_output(&r, 0, "running\nread\nmkdir=1\n", "defaultErrnoRet");
    expect_err(&r, "can't create directory '/tmp/new': Operation not supported",
               "defaultErrnoRet 95");
    fx_result_free(&r);
    hx_assert_clean(c);
}

/* personality(2) takes the persona in its only argument; busybox's linux32
 * asks for PER_LINUX32 (0x8), linux64 for PER_LINUX (0), and -R adds
 * ADDR_NO_RANDOMIZE (0x40000). */
CT_BOTH(seccomp, argument_conditions)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    /* EQ: exactly PER_LINUX32 gets EACCES (13).  MASKED_EQ: value is the
     * mask, valueTwo what the masked argument equals; mask and datum differ
     * so that swapping them would change which calls match: with
     * ADDR_NO_RANDOMIZE and without the PER_LINUX32 bit gets EXDEV (18). */
    set_profile(b, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                   "{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\","
                   " \"errnoRet\": 13,"
                   " \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},"
                   "{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\","
                   " \"errnoRet\": 18,"
                   " \"args\": [{\"index\": 0, \"value\": 262152, \"valueTwo\": 262144,"
                   " \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}");
    struct fx_result r = run_sh(c, b,
                                "linux32 true; echo linux32=$?; linux32 -R true; "
                                "echo linux32-R=$?; linux64 true; echo linux64=$?; "
                                "linux64 -R true; echo linux64-R=$?");
    expect_output(&r, 0, "linux32=1\nlinux32-R=0\nlinux64=0\nlinux64-R=1\n", "conditions");
    expect_err(&r, "Permission denied", "SCMP_CMP_EQ");
    expect_err(&r, "Invalid cross-device link", "SCMP_CMP_MASKED_EQ");
    cr_expect_eq(fx_count_lines(r.err), 2, "one error per refused call: %s", r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

/* ------------------------------------------------------- kill actions */

/* Each action kills the process at its mkdir: `mdrun run` exits 128 +
 * SIGSYS.  With noNewPrivileges false the filter is loaded before the
 * identity is applied rather than just before execve. */
static void expect_killed(struct hx_ctx *c, const char *bundle, const char *action, bool nnp)
{
    char *profile = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                           "{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"%s\"}]}",
                           action);
    md_spec *s = with_profile(bundle, profile);
    s->process->no_new_privileges = nnp;
    no_core_dumps(s);
    save(bundle, s);
    struct fx_result r = run_sh(c, bundle, "echo before; exec mkdir /tmp/new");
    expect_output(&r, 128 + SIGSYS, "before\n", action);
    char *dir = fx_fmt("%s/rootfs/tmp/new", bundle);
    cr_expect(access(dir, F_OK) < 0, "%s: the directory was made", action);
    free(dir);
    fx_result_free(&r);
    free(profile);
}

CT_BOTH(seccomp, kill_actions_kill_the_process)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    expect_killed(c, b, "SCMP_ACT_KILL", true);
    expect_killed(c, b, "SCMP_ACT_KILL_PROCESS", false);
    expect_killed(c, b, "SCMP_ACT_TRAP", true);
    hx_assert_clean(c);
}

/* ---------------------------------------------------- default profile */

/* What an ordinary program does works (the rootfs is read-only in the
 * default config, /dev/shm is not); making a user namespace, which the
 * default capabilities would allow, is refused by the profile alone. */
#define REALISTIC_SCRIPT                                                         \
    "mkdir -p /dev/shm/a/b && echo data >/dev/shm/a/b/f && cat /dev/shm/a/b/f; " \
    "ls /dev/shm/a/b; sleep 30 & ps -o pid | grep -cw $!; "                      \
    "kill $!; wait $!; echo killed=$?; echo $(echo sub | cat) shell; "           \
    "grep -E '^Seccomp(_filters)?:' /proc/self/status; "                         \
    "unshare -U true; echo unshare=$?"

static unsigned long status_number(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    return at ? strtoul(at + strlen(key), NULL, 10) : 0;
}

CT_BOTH(seccomp, default_profile)
{
    struct hx_ctx *c = hx_ctx_new(who);
    /* `mdrun spec` for root, `mdrun spec --rootless` for the user. */
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    cr_assert(s->linux_ && s->linux_->seccomp, "mdrun spec wrote no linux.seccomp");
    md_spec_free(s);
    struct fx_result r = run_sh(c, b, REALISTIC_SCRIPT);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    const char *want = "data\nf\n1\nkilled=143\nsub shell\nSeccomp:\t2\n";
    cr_expect(strncmp(r.out, want, strlen(want)) == 0, "printed %s", r.out);
    cr_expect_geq(status_number(r.out, "Seccomp_filters:\t"), 1, "printed %s", r.out);
    cr_expect(strstr(r.out, "unshare=1\n"), "unshare -U was allowed: %s", r.out);
    expect_err(&r, "Operation not permitted", "unshare -U");
    fx_result_free(&r);

    /* The same without linux.seccomp: the refusal was the profile's. */
    set_profile(b, NULL);
    r = run_sh(c, b, REALISTIC_SCRIPT);
    cr_expect_eq(r.status, 0, "without seccomp: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "Seccomp:\t0\n"), "without seccomp: %s", r.out);
    cr_expect(strstr(r.out, "unshare=0\n"), "without seccomp, unshare -U failed: %s %s", r.out,
              r.err);
    fx_result_free(&r);
    hx_assert_clean(c);
}

/* -------------------------------------------------- a bad linux.seccomp */

struct bad_profile {
    const char *profile;
    const char *needle;
};

static const struct bad_profile bad_profiles[] = {
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
     " \"action\": \"SCMP_ACT_BOGUS\"}]}",
     "linux.seccomp.syscalls[0].action"},
    {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "linux.seccomp.defaultAction"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
     " \"action\": \"SCMP_ACT_ERRNO\"}, {\"names\": [\"rmdir\"], \"action\": \"SCMP_ACT_KILL\","
     " \"errnoRet\": 1}]}",
     "linux.seccomp.syscalls[1].errnoRet"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"],"
     " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1,"
     " \"op\": \"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].index"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"kill\"],"
     " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 1, \"value\": 1,"
     " \"op\": \"SCMP_CMP_ALMOST\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].op"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\","
     " \"SCMP_ARCH_PDP11\"]}",
     "linux.seccomp.architectures[1]"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NOPE\"]}",
     "linux.seccomp.flags[0]"},
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
     " \"action\": \"SCMP_ACT_NOTIFY\"}]}",
     "linux.seccomp.syscalls[0].action"},
    /* Beyond the 16 bits of SECCOMP_RET_DATA: found by the compilation. */
    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
     " \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 70000}]}",
     "linux.seccomp.syscalls[0].errnoRet"},
};

CT_BOTH(seccomp, bad_section_refused_before_anything_exists)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    hx_bundle_set_args(b, "true", NULL);
    for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
        set_profile(b, bad_profiles[i].profile);
        char *id = hx_id("bad");
        const char *cmd = i % 2 ? "create" : "run";
        struct fx_result r = hx_mdrun(c, NULL, cmd, "--bundle", b, id, NULL);
        ct_undo_create(c, &r, id);
        char *what = fx_fmt("%s with %s", cmd, bad_profiles[i].profile);
        ct_expect_error(&r, what, bad_profiles[i].needle);
        cr_expect(!hx_state_exists(c, id), "%s: left a state directory", what);
        fx_result_free(&r);
        free(what);
        free(id);
    }
    hx_assert_clean(c);
}

/* ------------------------------------------------------- SCMP_ACT_NOTIFY */

/* A seccomp agent: a unix socket server in a thread of the test.  For
 * each connection it keeps the container process state and the fd it
 * received; it answers every notification on those fds: getppid returns
 * AGENT_PPID, mkdir fails with EDQUOT, anything else goes on unchanged. */
#define AGENT_PPID 4242
#define AGENT_MAX  4

struct agent {
    char *path;
    int sock;
    int stop[2];
    pthread_t thread;
    int fds[AGENT_MAX];
    /* What it saw, to read after agent_stop(). */
    size_t n_conns;
    char *states[AGENT_MAX];
    int n_fds[AGENT_MAX];      /* fds in each connection's SCM_RIGHTS */
    char kinds[AGENT_MAX][64]; /* what /proc/self/fd says each fd is */
    unsigned answered;
    char problem[256]; /* the first thing that went wrong in the agent */
};

static void agent_problem(struct agent *a, const char *what)
{
    if (!a->problem[0])
        snprintf(a->problem, sizeof(a->problem), "%s: %s", what, strerror(errno));
}

/* One connection: the fd comes with the first bytes, the state up to EOF
 * (the runtime sends one state per connection, then closes it). */
static void agent_accept(struct agent *a)
{
    int conn = accept4(a->sock, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return agent_problem(a, "accept");
    struct timeval tv = {.tv_sec = 20};
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t k = a->n_conns++;
    if (k >= AGENT_MAX) {
        close(conn);
        errno = E2BIG;
        return agent_problem(a, "too many connections");
    }
    char *text = calloc(1, 65536);
    size_t len = 0;
    union {
        char buf[CMSG_SPACE(sizeof(int) * AGENT_MAX)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = text, .iov_len = 65535};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            if (count <= 0)
                continue;
            int fds[AGENT_MAX];
            memcpy(fds, CMSG_DATA(cm), (size_t)count * sizeof(int));
            a->n_fds[k] += count;
            for (int i = 1; i < count; i++)
                close(fds[i]);
            a->fds[k] = fds[0];
            char link[64];
            snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[0]);
            ssize_t m = readlink(link, a->kinds[k], sizeof(a->kinds[k]) - 1);
            a->kinds[k][m > 0 ? m : 0] = '\0';
        }
    while (n > 0 && (len += (size_t)n) < 65535)
        n = read(conn, text + len, 65535 - len);
    if (n < 0)
        agent_problem(a, "read the container process state");
    a->states[k] = text;
    close(conn);
}

static bool is_mkdir(int nr)
{
#ifdef SYS_mkdir
    if (nr == SYS_mkdir)
        return true;
#endif
    return nr == SYS_mkdirat;
}

static void agent_answer(struct agent *a, int fd, const struct seccomp_notif_sizes *sizes)
{
    /* The kernel's structures may be larger than these headers'. */
    struct seccomp_notif *req = calloc(1, sizes->seccomp_notif + sizeof(*req));
    struct seccomp_notif_resp *resp = calloc(1, sizes->seccomp_notif_resp + sizeof(*resp));
    /* ENOENT: the caller went away before we read its call. */
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
        if (errno != ENOENT)
            agent_problem(a, "SECCOMP_IOCTL_NOTIF_RECV");
        goto out;
    }
    resp->id = req->id;
    if (req->data.nr == SYS_getppid)
        resp->val = AGENT_PPID;
    else if (is_mkdir(req->data.nr))
        resp->error = -EDQUOT;
    else
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) == 0)
        a->answered++;
    else if (errno != ENOENT)
        agent_problem(a, "SECCOMP_IOCTL_NOTIF_SEND");
out:
    free(req);
    free(resp);
}

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    struct seccomp_notif_sizes sizes;
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) {
        agent_problem(a, "SECCOMP_GET_NOTIF_SIZES");
        return NULL;
    }
    for (;;) {
        struct pollfd pfd[2 + AGENT_MAX] = {{.fd = a->stop[0], .events = POLLIN},
                                            {.fd = a->sock, .events = POLLIN}};
        for (size_t i = 0; i < AGENT_MAX; i++)
            pfd[2 + i] = (struct pollfd){.fd = a->fds[i], .events = POLLIN};
        if (poll(pfd, 2 + AGENT_MAX, -1) < 0) {
            if (errno == EINTR)
                continue;
            agent_problem(a, "poll");
            return NULL;
        }
        if (pfd[0].revents)
            return NULL;
        if (pfd[1].revents & POLLIN)
            agent_accept(a);
        for (size_t i = 0; i < AGENT_MAX; i++) {
            if (pfd[2 + i].revents & POLLIN)
                agent_answer(a, a->fds[i], &sizes);
            else if (pfd[2 + i].revents & (POLLHUP | POLLERR)) {
                /* Every process of that filter is gone. */
                close(a->fds[i]);
                a->fds[i] = -1;
            }
        }
    }
}

static struct agent *agent_start(struct hx_ctx *c)
{
    struct agent *a = calloc(1, sizeof(*a));
    cr_assert(a);
    for (size_t i = 0; i < AGENT_MAX; i++)
        a->fds[i] = -1;
    a->path = fx_fmt("%s/agent.sock", c->dir);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cr_assert(strlen(a->path) < sizeof(addr.sun_path), "socket path too long: %s", a->path);
    strcpy(addr.sun_path, a->path);
    a->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(a->sock >= 0);
    cr_assert(bind(a->sock, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind %s: %s", a->path,
              strerror(errno));
    /* The unprivileged mdrun connects too. */
    cr_assert(chmod(a->path, 0666) == 0);
    cr_assert(listen(a->sock, 8) == 0);
    cr_assert(pipe2(a->stop, O_CLOEXEC) == 0);
    cr_assert(pthread_create(&a->thread, NULL, agent_main, a) == 0);
    return a;
}

static void agent_stop(struct agent *a)
{
    cr_assert(write(a->stop[1], "x", 1) == 1);
    pthread_join(a->thread, NULL);
    for (size_t i = 0; i < AGENT_MAX; i++)
        if (a->fds[i] >= 0)
            close(a->fds[i]);
    close(a->sock);
    close(a->stop[0]);
    close(a->stop[1]);
    unlink(a->path);
}

static void agent_free(struct agent *a)
{
    for (size_t i = 0; i < AGENT_MAX; i++)
        free(a->states[i]);
    free(a->path);
    free(a);
}

/* The profile: getppid and mkdir go to the agent. */
static char *notify_profile(const struct agent *a)
{
    return fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\","
                  " \"listenerMetadata\": \"agent=test;level=1\", \"syscalls\": ["
                  "{\"names\": [\"getppid\", \"mkdir\", \"mkdirat\"],"
                  " \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                  a->path);
}

/* The string at path, "" when there is none. */
static const char *str_at(yajl_val root, const char **path)
{
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : "";
}

static long long int_at(yajl_val root, const char **path)
{
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);
    return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

/* Whether the fds array is ["seccompFd"]. */
static bool names_seccomp_fd(yajl_val fds)
{
    if (!fds || YAJL_GET_ARRAY(fds)->len != 1)
        return false;
    const char *name = YAJL_GET_STRING(YAJL_GET_ARRAY(fds)->values[0]);
    return name && strcmp(name, "seccompFd") == 0;
}

/* The container process state of connection k (runtime-spec
 * config-linux.md): one fd named seccompFd, the metadata, and the state
 * of the container (runtime.md).  Returns the process's pid. */
static long long expect_process_state(const struct agent *a, size_t k, const char *id,
                                      const char *bundle, const char *status)
{
    cr_assert(a->states[k], "connection %zu: no state", k);
    cr_expect_eq(a->n_fds[k], 1, "connection %zu: %d fds, want 1", k, a->n_fds[k]);
    cr_expect_str_eq(a->kinds[k], "anon_inode:seccomp notify", "connection %zu: the fd", k);
    char why[256] = "";
    yajl_val root = yajl_tree_parse(a->states[k], why, sizeof(why));
    cr_assert(root, "connection %zu: not JSON (%s): %s", k, why, a->states[k]);
    const char *oci[] = {"ociVersion", NULL};
    const char *meta[] = {"metadata", NULL};
    const char *fds[] = {"fds", NULL};
    const char *pid[] = {"pid", NULL};
    const char *st_oci[] = {"state", "ociVersion", NULL};
    const char *st_id[] = {"state", "id", NULL};
    const char *st_status[] = {"state", "status", NULL};
    const char *st_pid[] = {"state", "pid", NULL};
    const char *st_bundle[] = {"state", "bundle", NULL};
    const char *st_note[] = {"state", "annotations", "org.mdrun.test", NULL};
    cr_expect(*str_at(root, oci), "no ociVersion: %s", a->states[k]);
    cr_expect(*str_at(root, st_oci), "no state.ociVersion: %s", a->states[k]);
    cr_expect_str_eq(str_at(root, meta), "agent=test;level=1");
    cr_expect(names_seccomp_fd(yajl_tree_get(root, fds, yajl_t_array)),
              "fds is not [\"seccompFd\"]: %s", a->states[k]);
    cr_expect_str_eq(str_at(root, st_id), id);
    cr_expect_str_eq(str_at(root, st_status), status, "%s", a->states[k]);
    cr_expect_str_eq(str_at(root, st_bundle), bundle);
    cr_expect_str_eq(str_at(root, st_note), "seccomp", "%s", a->states[k]);
    long long process = int_at(root, pid);
    cr_expect_gt(process, 0, "pid: %s", a->states[k]);
    cr_expect_gt(int_at(root, st_pid), 0, "state.pid: %s", a->states[k]);
    if (strcmp(status, "creating") == 0)
        cr_expect_eq(process, int_at(root, st_pid), "the container's process is its init");
    else
        cr_expect_neq(process, int_at(root, st_pid), "an exec'd process is not the init");
    yajl_tree_free(root);
    return process;
}

static md_spec *notify_config(const char *bundle, const struct agent *a)
{
    char *profile = notify_profile(a);
    md_spec *s = with_profile(bundle, profile);
    ct_set_kv(&s->annotations, &s->n_annotations, "org.mdrun.test", "seccomp");
    free(profile);
    return s;
}

#define NOTIFY_SCRIPT                                  \
    "echo ppid=$PPID; mkdir /tmp/new; echo mkdir=$?; " \
    "[ -d /tmp/new ] && echo made || echo absent; "    \
    "readlink /proc/self/exe >/dev/null && echo still-working"

CT_BOTH(seccomp, notify_agent_answers)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    struct agent *a = agent_start(c);
    save(b, notify_config(b, a));
    hx_bundle_set_args(b, "sh", "-c", NOTIFY_SCRIPT, NULL);
    char *id = hx_id("notify");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    agent_stop(a);
    cr_expect_str_eq(a->problem, "", "agent: %s", a->problem);
    /* The init's getppid gets the agent's value (it is 0 in a new pid
     * namespace), its mkdir the agent's errno. */
    expect_output(&r, 0, "ppid=4242\nmkdir=1\nabsent\nstill-working\n", "notify");
    expect_err(&r, "Disk quota exceeded", "the agent's errno");
    cr_expect_eq(a->n_conns, 1, "connections: %zu", a->n_conns);
    cr_expect_geq(a->answered, 2, "the agent answered %u calls", a->answered);
    if (a->n_conns >= 1)
        expect_process_state(a, 0, id, b, "creating");
    fx_result_free(&r);
    agent_free(a);
    free(id);
    hx_assert_clean(c);
}

/* The exec'd process has the config's filter with its own listener, which
 * reaches the agent too; noNewPrivileges false loads the filters before
 * the identity is applied. */
CT_BOTH(seccomp, notify_agent_gets_exec_processes)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    struct agent *a = agent_start(c);
    md_spec *s = notify_config(b, a);
    s->process->no_new_privileges = false;
    save(b, s);
    hx_bundle_set_args(b, "sleep", "1000", NULL);
    char *id = hx_id("notexec");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--detach", "--bundle", b, id, NULL);
    cr_assert_eq(r.status, 0, "run --detach: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
    int init = 0;
    free(ct_status(c, id, &init, NULL));
    r = hx_mdrun(c, NULL, "exec", id, "sh", "-c", "echo ppid=$PPID; mkdir /tmp/new", NULL);
    ct_delete(c, id);
    agent_stop(a);
    cr_expect_str_eq(a->problem, "", "agent: %s", a->problem);
    expect_output(&r, 1, "ppid=4242\n", "exec under notify");
    expect_err(&r, "Disk quota exceeded", "exec: the agent's errno");
    cr_expect_eq(a->n_conns, 2, "connections: %zu", a->n_conns);
    if (a->n_conns >= 1)
        cr_expect_eq(expect_process_state(a, 0, id, b, "creating"), init);
    if (a->n_conns >= 2)
        expect_process_state(a, 1, id, b, "running");
    fx_result_free(&r);
    agent_free(a);
    free(id);
    hx_assert_clean(c);
}

/* Nobody listens at listenerPath: the container is not created, and
 * nothing of it stays. */
CT_BOTH(seccomp, notify_without_agent_refused)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    char *absent = fx_fmt("%s/nobody.sock", c->dir);
    char *profile = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"listenerPath\": \"%s\","
                           " \"syscalls\": [{\"names\": [\"mkdir\"],"
                           " \"action\": \"SCMP_ACT_NOTIFY\"}]}",
                           absent);
    set_profile(b, profile);
    hx_bundle_set_args(b, "sh", "-c", "echo started", NULL);
    char *id = hx_id("noagent");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", b, id, NULL);
    ct_undo_create(c, &r, id);
    ct_expect_error(&r, "no agent", "linux.seccomp.listenerPath");
    expect_err(&r, absent, "no agent");
    cr_expect_str_eq(r.out, "", "the container ran");
    cr_expect(!hx_state_exists(c, id), "left a state directory");
    fx_result_free(&r);
    hx_assert_clean(c);
    free(id);
    free(profile);
    free(absent);
}

/* ---------------------------------------------------------------- cache */

/* `mdrun --log-level debug run` of the bundle (deny_mkdir) with ENV_VAR
 * in its environment: mkdir is denied, with MESSAGE; the run for the
 * caller to look further at (what: for the messages). */
static struct fx_result run_mkdir(struct hx_ctx *c, const char *bundle, const char *env_var,
                                  const char *message, const char *what)
{
    char *id = hx_id("cache");
    const char *env[] = {env_var, NULL};
    const char *argv[] = {hx_mdrun_bin(), "--root", c->root, "--log-level", "debug", "run",
                          "--bundle",     bundle,   id,      NULL};
    struct fx_result r = hx_run(c, &(struct hx_cmd){.env = env}, argv);
    free(id);
    cr_expect_eq(r.status, 1, "%s: exit %d: %s", what, r.status, r.err);
    expect_err(&r, message, what);
    return r;
}

/* The entries of dir (up to 8), sorted; returns their count. */
static size_t list_dir(const char *dir, char names[8][64])
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < 8;)
        if (e->d_name[0] != '.')
            snprintf(names[n++], 64, "%.63s", e->d_name);
    closedir(d);
    qsort(names, n, 64, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* The bundle runs `mkdir /tmp/new` under a profile that denies mkdir(2)
 * with errno ERRNO_RET. */
static void deny_mkdir(const char *bundle, int errno_ret)
{
    char *profile = fx_fmt("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
                           "{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\","
                           " \"errnoRet\": %d}]}",
                           errno_ret);
    set_profile(bundle, profile);
    hx_bundle_set_args(bundle, "mkdir", "/tmp/new", NULL);
    free(profile);
}

CT_BOTH(seccomp, compiled_programs_are_cached)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    deny_mkdir(b, ENOSYS);
    char *home = fx_fmt("%s/cache", c->home);
    char *env = fx_fmt("XDG_CACHE_HOME=%s", home);
    char *dir = fx_fmt("%s/mdrun/seccomp", home);
    char names[8][64];

    /* First run: compiled, then stored under a name from the content. */
    struct fx_result r = run_mkdir(c, b, env, "Function not implemented", "first run");
    expect_err(&r, "compiled", "first run");
    cr_expect(!strstr(r.err, "from the cache"), "first run: %s", r.err);
    fx_result_free(&r);
    cr_assert_eq(list_dir(dir, names), 1, "cache entries after one run");
    char *entry = fx_fmt("%s/%s", dir, names[0]);
    struct stat st;
    cr_assert(stat(entry, &st) == 0);
    cr_expect_eq(st.st_uid, c->uid, "the entry belongs to who ran mdrun");
    cr_expect_eq(st.st_mode & 07777, 0600);
    cr_assert(stat(dir, &st) == 0);
    cr_expect_eq(st.st_mode & 07777, 0700, "cache directory mode %o", st.st_mode & 07777);

    /* Second run of the same config: from the cache, and it still works. */
    r = run_mkdir(c, b, env, "Function not implemented", "second run");
    char *hit = fx_fmt("from the cache (%s)", names[0]);
    expect_err(&r, hit, "second run");
    cr_expect(!strstr(r.err, "compiled"), "second run compiled again: %s", r.err);
    fx_result_free(&r);

    /* Another profile is another entry. */
    deny_mkdir(b, EPERM);
    r = run_mkdir(c, b, env, "Operation not permitted", "another profile");
    expect_err(&r, "compiled", "another profile");
    fx_result_free(&r);
    char names2[8][64];
    cr_expect_eq(list_dir(dir, names2), 2, "cache entries after two profiles");

    /* A corrupt entry is compiled again and replaced. */
    deny_mkdir(b, ENOSYS);
    cr_assert(truncate(entry, 100) == 0);
    r = run_mkdir(c, b, env, "Function not implemented", "corrupt entry");
    expect_err(&r, "corrupt", "corrupt entry");
    expect_err(&r, "compiled", "corrupt entry");
    fx_result_free(&r);
    r = run_mkdir(c, b, env, "Function not implemented", "after the corrupt entry was replaced");
    expect_err(&r, hit, "after the corrupt entry was replaced");
    fx_result_free(&r);

    free(hit);
    free(entry);
    free(dir);
    free(env);
    free(home);
    hx_assert_clean(c);
}

/* A user whose home cannot hold a cache (a service account with
 * HOME=/nonexistent, as the test user has) caches in
 * /var/tmp/mdrun-UID/seccomp: the second run loads the program (the
 * directory is removed afterwards if this test made it). */
Test(seccomp, homeless_user_caches_in_var_tmp)
{
    struct hx_ctx *c = hx_ctx_new(HX_USER);
    const char *b = ct_bundle(c, 0);
    deny_mkdir(b, ENOSYS);
    char *top = fx_fmt("/var/tmp/mdrun-%u", (unsigned)c->uid);
    char *dir = fx_fmt("%s/seccomp", top);
    struct stat st;
    bool existed = stat(top, &st) == 0;
    for (int i = 0; i < 2; i++) {
        const char *what = i ? "second run" : "first run";
        struct fx_result r = run_mkdir(c, b, "HOME=/nonexistent", "Function not implemented", what);
        expect_err(&r, "trying /var/tmp/mdrun-", what);
        if (i) /* the first run may find what an earlier one left */
            expect_err(&r, "from the cache", what);
        fx_result_free(&r);
    }
    cr_assert(stat(dir, &st) == 0, "no cache in %s", dir);
    cr_expect(st.st_uid == c->uid && (st.st_mode & 07777) == 0700, "%s: uid %u mode %o", dir,
              (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    if (!existed)
        fx_rmtree(top);
    free(dir);
    free(top);
    hx_assert_clean(c);
}

/* A cache directory others may write to could choose our filters: it is
 * not used, and the container runs all the same. */
CT_BOTH(seccomp, cache_open_to_others_not_used)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = ct_bundle(c, 0);
    deny_mkdir(b, ENOSYS);
    char *home = fx_fmt("%s/open-cache", c->dir);
    char *env = fx_fmt("XDG_CACHE_HOME=%s", home);
    char *mdrun_dir = fx_fmt("%s/mdrun", home);
    char *dir = fx_fmt("%s/seccomp", mdrun_dir);
    cr_assert(mkdir(home, 0755) == 0 && mkdir(mdrun_dir, 0755) == 0 && mkdir(dir, 0777) == 0);
    cr_assert(chmod(dir, 0777) == 0);
    for (int i = 0; i < 2; i++) {
        struct fx_result r = run_mkdir(c, b, env, "Function not implemented", "open cache");
        expect_err(&r, "compiling without a cache", "open cache");
        expect_err(&r, "compiled", "open cache");
        fx_result_free(&r);
    }
    char names[8][64];
    cr_expect_eq(list_dir(dir, names), 0, "an entry was written to a directory open to others");
    free(dir);
    free(mdrun_dir);
    free(env);
    free(home);
    hx_assert_clean(c);
}
