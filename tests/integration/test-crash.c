/* test-crash.c - `mdrun create` killed with SIGKILL at each of its stages
 * leaves a container that `list` and `state` show without failing and
 * that `delete --force` removes entirely: state directory, cgroup, mounts,
 * processes; as root and as an unprivileged user.
 *
 * How a stage is hit deterministically: create logs one debug line per
 * stage (create.c, "create: ...") with one write(2) each, to a --log FIFO
 * that the test keeps full.  Every log write therefore blocks; the test
 * reads the blocked write's buffer from mdrun's memory (the arguments in
 * /proc/PID/syscall, the bytes through process_vm_readv) and either
 * SIGKILLs mdrun there, with everything before that line done and nothing
 * after it, or frees exactly that many bytes of the pipe and waits for the
 * next write.  Reading another process's syscall and memory needs root
 * (or the same user and a dumpable mdrun), so the test runs as root and
 * makes mdrun run as the test user for the _user variants.  Rootless
 * mdrun makes a cgroup only where it was given one: for the stage that
 * needs one, the test delegates a cgroup to the user (residue.c). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"
#include "integration/residue.h"

#define PIPE_SIZE 4096

/* A `mdrun create` running in a thread (hx_run waits for it), its log
 * going to a FIFO this process keeps full. */
struct victim {
    struct hx_ctx *c;
    const char *bundle;
    const char *id;
    char *fifo;
    int pipe; /* our end of the FIFO, O_RDWR: it also fills it */
    pthread_t thread;
    atomic_bool done;
    struct fx_result result;
};

static void *run_create(void *arg)
{
    struct victim *v = arg;
    v->result = hx_mdrun(v->c, NULL, "--log", v->fifo, "--log-level", "debug", "create", "--bundle",
                         v->bundle, v->id, NULL);
    atomic_store(&v->done, true);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void open_log_fifo(struct victim *v)
{
    v->fifo = fx_fmt("%s/log-%s.fifo", v->c->dir, v->id);
    cr_assert(mkfifo(v->fifo, 0600) == 0, "mkfifo %s: %s", v->fifo, strerror(errno));
    cr_assert(chown(v->fifo, v->c->uid, v->c->gid) == 0, "chown %s: %s", v->fifo, strerror(errno));
    v->pipe = open(v->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    cr_assert(v->pipe >= 0, "open %s: %s", v->fifo, strerror(errno));
    cr_assert(fcntl(v->pipe, F_SETPIPE_SZ, PIPE_SIZE) == PIPE_SIZE, "F_SETPIPE_SZ: %s",
              strerror(errno));
    static const char fill[PIPE_SIZE];
    cr_assert(write(v->pipe, fill, sizeof(fill)) == PIPE_SIZE, "fill the log FIFO: %s",
              strerror(errno));
}

/* The parent pid in /proc/PID/stat text, counted after the last ')'
 * since the command name may hold anything. */
static pid_t ppid_of(const char *pid)
{
    char *path = fx_fmt("/proc/%s/stat", pid);
    char *text = ct_read(path);
    free(path);
    char *paren = text ? strrchr(text, ')') : NULL;
    char state;
    int ppid = 0;
    if (!paren || sscanf(paren + 1, " %c %d", &state, &ppid) != 2)
        ppid = 0;
    free(text);
    return (pid_t)ppid;
}

/* Our only child: the process hx_run forked to run mdrun. */
static pid_t find_child(void)
{
    for (int i = 0; i < 10000; i++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        pid_t found = 0;
        while (d && !found && (e = readdir(d)) != NULL)
            if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && ppid_of(e->d_name) == getpid())
                found = atoi(e->d_name);
        if (d)
            closedir(d);
        if (found)
            return found;
        sleep_ms(1);
    }
    cr_assert_fail("the mdrun create process did not appear");
    return 0;
}

/* What pid is blocked in: a write(2) to the FIFO gives its buffer and
 * length; anything else gives 0. */
static size_t blocked_write(struct victim *v, pid_t pid, unsigned long *buf)
{
    char path[64], text[512];
    snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    long nr;
    unsigned long wfd, len;
    if (sscanf(text, "%ld 0x%lx 0x%lx 0x%lx", &nr, &wfd, buf, &len) != 4 || nr != SYS_write)
        return 0;
    char link[64], target[4096];
    snprintf(link, sizeof(link), "/proc/%d/fd/%lu", (int)pid, wfd);
    ssize_t t = readlink(link, target, sizeof(target) - 1);
    if (t < 0)
        return 0;
    target[t] = '\0';
    return strcmp(target, v->fifo) == 0 ? len : 0;
}

static char state_of(pid_t pid)
{
    char *path = fx_fmt("/proc/%d/stat", (int)pid);
    char *text = ct_read(path);
    free(path);
    char *paren = text ? strrchr(text, ')') : NULL;
    char state = paren && paren[1] == ' ' ? paren[2] : 'X';
    free(text);
    return state;
}

/* Let mdrun's blocked write of len bytes through, and see that it blocks
 * at the next one.  The pipe is one page, one buffer of the kernel's, and
 * full.  A write is appended to the last buffer when it fits there, but
 * only when it starts: once blocked, it waits for a free buffer.  So mdrun
 * is stopped (its write then restarts from the beginning when it goes on),
 * the pipe emptied and given a page less len bytes of ours, and mdrun let
 * go: its write is appended to ours, the pipe is full again, and mdrun's
 * next write blocks in turn. */
static void let_through(struct victim *v, pid_t pid, size_t len)
{
    static char sink[PIPE_SIZE];
    static const char fill[PIPE_SIZE];
    cr_assert(kill(pid, SIGSTOP) == 0, "stop mdrun: %s", strerror(errno));
    for (int i = 0; i < 10000 && state_of(pid) != 'T' && state_of(pid) != 'X'; i++)
        sleep_ms(1);
    cr_assert(read(v->pipe, sink, sizeof(sink)) == PIPE_SIZE, "empty the log FIFO: %s",
              strerror(errno));
    cr_assert(write(v->pipe, fill, PIPE_SIZE - len) == (ssize_t)(PIPE_SIZE - len),
              "refill the log FIFO: %s", strerror(errno));
    kill(pid, SIGCONT);
    for (int i = 0; i < 10000 && !atomic_load(&v->done); i++) {
        int queued = 0;
        if (ioctl(v->pipe, FIONREAD, &queued) == 0 && queued == PIPE_SIZE)
            return;
        sleep_ms(1);
    }
}

/* Run create and SIGKILL it while it writes the log line containing
 * marker.  Returns false when create ended without writing it. */
static bool kill_create_at(struct victim *v, const char *marker, char **seen)
{
    open_log_fifo(v);
    cr_assert(pthread_create(&v->thread, NULL, run_create, v) == 0);
    pid_t pid = find_child();
    size_t cap = 1, len = 0;
    *seen = calloc(1, cap);
    bool hit = false;
    for (int waited = 0; !hit && !atomic_load(&v->done) && waited < 20000;) {
        unsigned long buf = 0;
        size_t n = blocked_write(v, pid, &buf);
        if (n == 0 || n > PIPE_SIZE) {
            sleep_ms(1);
            waited++;
            continue;
        }
        char line[PIPE_SIZE + 1];
        struct iovec local = {line, n}, remote = {(void *)buf, n};
        ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        cr_assert(got == (ssize_t)n, "read mdrun's log line from its memory: %s", strerror(errno));
        line[n] = '\0';
        *seen = realloc(*seen, cap += n);
        memcpy(*seen + len, line, n + 1);
        len += n;
        if (strstr(line, marker)) {
            cr_assert(kill(pid, SIGKILL) == 0, "kill %d: %s", (int)pid, strerror(errno));
            hit = true;
        } else {
            let_through(v, pid, n);
        }
    }
    if (!hit && !atomic_load(&v->done))
        kill(pid, SIGKILL); /* stuck: the test fails below */
    /* Whatever else the container process writes must not block it. */
    fcntl(v->pipe, F_SETPIPE_SZ, 1 << 20);
    pthread_join(v->thread, NULL);
    close(v->pipe);
    unlink(v->fifo);
    return hit;
}

/* The status `list` shows for id; NULL when the container is not listed.
 * list must succeed. */
static char *listed_status(struct hx_ctx *c, const char *id)
{
    struct fx_result r = hx_mdrun(c, NULL, "list", NULL);
    cr_assert_eq(r.status, 0, "list after a killed create: exit %d: %s", r.status, r.err);
    char *status = NULL;
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[256], pid[32], st[32];
        if (sscanf(line, "%255s %31s %31s", name, pid, st) == 3 && strcmp(name, id) == 0)
            status = strdup(st);
    }
    fx_result_free(&r);
    return status;
}

struct stage {
    const char *marker;    /* create is killed while logging the line holding it */
    const char *status;    /* then the status, once what dies with mdrun is dead;
                              NULL: no container at all */
    bool needs_userns;     /* the stage exists only with a new user namespace: root
                              runs `mdrun spec --rootless`'s config */
    const char *or_status; /* the init works on meanwhile without waiting for
                              mdrun, and may reach this status first */
    bool made_cgroup;      /* killed with a cgroup directory made: the user's
                              mdrun gets a delegated cgroup to make it in */
};

static bool is_status(const char *got, const struct stage *stage)
{
    return got && ((stage->status && strcmp(got, stage->status) == 0) ||
                   (stage->or_status && strcmp(got, stage->or_status) == 0));
}

/* An init on its way out (PF_EXITING) has let go of its memory, so that
 * rs_wait_procs no longer finds it by its command line, but it is not a
 * zombie yet (a pid namespace's init waits there for its namespace): list
 * and state still read it alive.  Wait until it is one or the other. */
static void wait_exit_settled(pid_t pid)
{
    for (int i = 0; pid > 0 && i < 500; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
            return;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *after = strrchr(buf, ')');
        char state;
        unsigned long flags;
        /* state is field 3, flags field 9 */
        if (!after || sscanf(after + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2 ||
            state == 'Z' || state == 'X' || !(flags & 0x4 /* PF_EXITING */))
            return;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
}

static void crash_at(enum hx_who who, const struct stage *stage)
{
    struct hx_ctx *c = hx_ctx_new(who);
    hx_require_root(); /* to read mdrun's syscall and memory */
    /* Root's own config has no user namespace: the rootless one has. */
    const char *b = ct_bundle(c, stage->needs_userns ? HX_BUNDLE_ROOTLESS : 0);
    md_spec *s = hx_spec_load(b);
    cr_assert(!stage->needs_userns || ct_has_ns(s, "user"), "no user namespace in the config");
    /* Marked: every process of this container, and of mdrun (its --root
     * argument), carries the context's directory. */
    char *mark = fx_fmt("MDRUN_TEST_MARK=%s", c->dir);
    hx_spec_set_args(s, "sleep", "1000", NULL);
    hx_spec_set_env(s, "PATH=/bin", mark, NULL);
    char *id = hx_id("crash");
    if (stage->made_cgroup && who == HX_USER) {
        char *name = fx_fmt("deleg-%s", id); /* not named like the container */
        cr_assert(rs_cgroup_delegate(name, c->uid, c->gid), "delegate a cgroup to %s: %s",
                  HX_TEST_USER, strerror(errno));
        cr_assert(s->linux_, "no linux object in the config");
        free(s->linux_->cgroups_path);
        s->linux_->cgroups_path = fx_fmt("/%s/%s", name, id);
        free(name);
    }
    hx_spec_save(b, s);
    md_spec_free(s);
    size_t fds_before = rs_fd_count();

    struct victim v = {.c = c, .bundle = b, .id = id, .pipe = -1};
    char *seen = NULL;
    bool hit = kill_create_at(&v, stage->marker, &seen);
    if (!hit) { /* a whole container, which the test must not leave behind */
        struct fx_result gone = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
        fx_result_free(&gone);
    }
    cr_assert(hit, "create never logged \"%s\" (exit %d: %s); its log:\n%s", stage->marker,
              v.result.status, v.result.err, seen);
    cr_expect_eq(v.result.status, 128 + SIGKILL, "create was not killed: exit %d: %s",
                 v.result.status, v.result.err);

    /* What dies with mdrun dies: every process but a created init. */
    pid_t left = 0;
    bool created = (stage->status && strcmp(stage->status, "created") == 0) ||
                   (stage->or_status && strcmp(stage->or_status, "created") == 0);
    size_t n = rs_wait_procs(c->dir, created ? 1 : 0, 10, &left);
    cr_expect(created ? n <= 1 : n == 0, "%zu process(es) of the killed create alive, pid %d", n,
              (int)left);
    int init = 0;
    free(ct_status(c, id, &init, NULL));
    wait_exit_settled(init);

    char *listed = listed_status(c, id);
    char *why = NULL;
    char *state = ct_status(c, id, NULL, &why);
    if (stage->status) {
        cr_expect(is_status(listed, stage), "list shows %s as %s, want %s", id,
                  listed ? listed : "(absent)", stage->status);
        cr_expect(is_status(state, stage), "state %s: %s, want %s (%s)", id,
                  state ? state : "(failed)", stage->status, why ? why : "");
        cr_expect(listed && state && strcmp(listed, state) == 0, "list says %s, state %s", listed,
                  state);
    } else {
        cr_expect(!listed, "list shows %s as %s before its state directory exists", id, listed);
        cr_expect(!state && why && strstr(why, "does not exist"), "state %s: %s%s", id,
                  state ? state : "", why ? why : "");
    }
    free(listed);
    free(state);
    free(why);
    if (stage->made_cgroup)
        cr_expect_gt(rs_cgroup_dirs(id, NULL), 0, "the killed create left no cgroup to delete");

    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete --force after a killed create: exit %d: %s", r.status, r.err);
    fx_result_free(&r);

    n = rs_wait_procs(c->dir, 0, 10, &left);
    cr_expect_eq(n, 0, "%zu process(es) left after delete --force, pid %d", n, (int)left);
    char *first = NULL;
    n = rs_dir_entries(c->root, &first);
    cr_expect_eq(n, 0, "%zu entries left in the state root, first %s", n, first);
    free(first);
    n = rs_cgroup_dirs(id, &first);
    cr_expect_eq(n, 0, "%zu cgroup(s) left, first %s", n, first);
    free(first);
    n = rs_mounts_with(c->dir, &first);
    cr_expect_eq(n, 0, "%zu mount(s) left, first %s", n, first);
    free(first);
    cr_expect_eq(rs_fd_count(), fds_before, "the test's own fds: %zu before, %zu after", fds_before,
                 rs_fd_count());
    fx_result_free(&v.result);
    free(v.fifo);
    free(seen);
    free(mark);
    free(id);
}

TestSuite(crash);

/* One stage, as root and as the user. */
#define CRASH_AT(name, ...)                                 \
    static const struct stage name##_stage = {__VA_ARGS__}; \
    CT_BOTH(crash, name)                                    \
    {                                                       \
        crash_at(who, &name##_stage);                       \
    }

/* Before anything exists (main's protection of the binary: "... no
 * re-execution", for root and for a user). */
CRASH_AT(before_anything, "re-execut", NULL, false, NULL, false)
/* The state directory with config.json and exec.fifo, no record. */
CRASH_AT(state_dir, "create: state directory ready", "stopped", false, NULL, false)
/* The container's cgroup directory made in the first hierarchy (on v1 the
 * others not yet), recorded only as planned: delete removes what exists. */
CRASH_AT(cgroup_made, "cgroup: made", "stopped", false, NULL, true)
/* The cgroup made (as root) and recorded. */
CRASH_AT(cgroup, "create: cgroup recorded", "stopped", false, NULL, false)
/* The container process forked, in the cgroup, before its namespaces. */
CRASH_AT(forked, "create: container process", "stopped", false, NULL, false)
/* Its user namespace mapped. */
CRASH_AT(mapped, "create: id maps written", "stopped", true, NULL, false)
/* The init in all its namespaces, its pid known but not yet recorded. */
CRASH_AT(namespaces, "in its namespaces", "stopped", false, NULL, false)
/* The init recorded. */
CRASH_AT(recorded, "create: recorded init", "stopped", false, NULL, false)
/* The init building the root filesystem: it may finish, report created
 * and stop dying with mdrun before the kill lands (a slow mdrun, as under
 * the sanitizers), which is a whole created container. */
CRASH_AT(building, "create: setup sent", "stopped", false, "created", false)
/* The init created and waiting for start: it outlives mdrun now. */
CRASH_AT(created, "create: the init reports created", "created", false, NULL, false)
/* Everything written; only the exit left. */
CRASH_AT(done, "create: done", "created", false, NULL, false)
