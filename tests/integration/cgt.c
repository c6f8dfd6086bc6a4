/* cgt.c - helpers of the resource tests (see cgt.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "integration/cgt.h"

void cgt_nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

bool cgt_pure_v2(void)
{
    struct statfs fs;
    return statfs(CGT_ROOT, &fs) == 0 && fs.f_type == 0x63677270; /* CGROUP2_SUPER_MAGIC */
}

/* ------------------------------------------------------------ hierarchies */

/* Whether every name of the comma list want is among the comma list opts. */
static bool all_in(const char *want, const char *opts)
{
    char *copy = strdup(want), *save = NULL;
    bool ok = copy != NULL;
    for (char *w = strtok_r(copy, ",", &save); ok && w; w = strtok_r(NULL, ",", &save)) {
        size_t len = strlen(w);
        const char *p = opts;
        bool found = false;
        while (!found && (p = strstr(p, w))) {
            found = (p == opts || p[-1] == ',') && (p[len] == ',' || p[len] == '\0');
            p += len;
        }
        ok = found;
    }
    free(copy);
    return ok;
}

/* The mount point under CGT_ROOT of the hierarchy a /proc/PID/cgroup line
 * names by its controllers (ctrls: "memory", "cpu,cpuacct", "name=systemd",
 * "" for cgroup2); NULL when it is not mounted there. */
static char *mount_of(const char *ctrls)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    while (f && !found && getline(&line, &cap, f) > 0) {
        char mnt[4096], fstype[64], opts[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
            continue;
        if (strncmp(mnt, CGT_ROOT, strlen(CGT_ROOT)) != 0)
            continue;
        bool v2 = strcmp(fstype, "cgroup2") == 0;
        if ((ctrls[0] == '\0' && v2) ||
            (ctrls[0] && !v2 && strcmp(fstype, "cgroup") == 0 && all_in(ctrls, opts)))
            found = strdup(mnt);
    }
    free(line);
    if (f)
        fclose(f);
    return found;
}

/* The lines of /proc/PID/cgroup as (controllers, path) pairs. */
struct cg_line {
    char *ctrls, *path;
};

static size_t read_lines(pid_t pid, struct cg_line *out, size_t max)
{
    char *file = fx_fmt("/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(file, "re");
    free(file);
    char *line = NULL;
    size_t cap = 0, n = 0;
    while (f && n < max && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        out[n].ctrls = strdup(c1 + 1);
        out[n].path = strdup(c2 + 1);
        n++;
    }
    free(line);
    if (f)
        fclose(f);
    return n;
}

static void free_lines(struct cg_line *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].ctrls);
        free(v[i].path);
    }
}

static char *join(const char *mnt, const char *path)
{
    return fx_fmt("%s%s", mnt, strcmp(path, "/") == 0 ? "" : path);
}

char *cgt_dir(pid_t pid, const char *ctrl)
{
    struct cg_line lines[32];
    size_t n = read_lines(pid, lines, 32);
    char *dir = NULL;
    for (size_t i = 0; i < n && !dir; i++) {
        bool match =
            ctrl[0] ? lines[i].ctrls[0] && all_in(ctrl, lines[i].ctrls) : lines[i].ctrls[0] == '\0';
        char *mnt = match ? mount_of(lines[i].ctrls) : NULL;
        if (mnt)
            dir = join(mnt, lines[i].path);
        free(mnt);
    }
    free_lines(lines, n);
    return dir;
}

/* The dirs of every mounted hierarchy of pid, with path (NULL: pid's own)
 * placed as cgt_dirs_for() says. */
static char **dirs(pid_t pid, const char *path)
{
    struct cg_line lines[32];
    size_t n = read_lines(pid, lines, 32), k = 0;
    char **out = calloc(n + 1, sizeof(char *));
    cr_assert(out);
    for (size_t i = 0; i < n; i++) {
        char *mnt = mount_of(lines[i].ctrls);
        if (!mnt)
            continue;
        if (!path) {
            out[k++] = join(mnt, lines[i].path);
        } else if (path[0] == '/') {
            out[k++] = fx_fmt("%s%s", mnt, path);
        } else {
            char *own = join(mnt, lines[i].path);
            out[k++] = fx_fmt("%s/%s", own, path);
            free(own);
        }
        free(mnt);
    }
    free_lines(lines, n);
    return out;
}

char **cgt_dirs_of(pid_t pid)
{
    return dirs(pid, NULL);
}

char **cgt_dirs_for(const char *path)
{
    return dirs(getpid(), path);
}

void cgt_expect_gone(const char *path)
{
    char **v = cgt_dirs_for(path);
    for (char **d = v; *d; d++)
        cr_expect_neq(access(*d, F_OK), 0, "cgroup %s is left behind", *d);
    hx_strv_free(v);
}

/* ------------------------------------------------------------------ files */

char *cgt_read(const char *dir, const char *file)
{
    char *path = fx_fmt("%s/%s", dir, file);
    char *text = ct_read(path);
    free(path);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    return text;
}

void cgt_expect_file(const char *dir, const char *file, const char *want)
{
    char *got = cgt_read(dir, file);
    cr_expect(got && strcmp(got, want) == 0, "%s/%s: \"%s\", want \"%s\"", dir, file,
              got ? got : "(unreadable)", want);
    free(got);
}

bool cgt_wait_file_is(const char *dir, const char *file, const char *want, unsigned secs)
{
    for (unsigned i = 0; i <= secs * 20; i++) {
        char *got = cgt_read(dir, file);
        bool ok = got && strcmp(got, want) == 0;
        free(got);
        if (ok)
            return true;
        cgt_nap_ms(50);
    }
    return false;
}

/* -------------------------------------------------------------- cleanup */

static void write_quietly(const char *dir, const char *file, const char *text)
{
    char *path = fx_fmt("%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t ignored = write(fd, text, strlen(text));
        (void)ignored;
        close(fd);
    }
    free(path);
}

static void kill_tree(const char *dir)
{
    write_quietly(dir, "freezer.state", "THAWED");
    write_quietly(dir, "cgroup.freeze", "0");
    char *procs = cgt_read(dir, "cgroup.procs");
    for (char *p = procs, *end; p && *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
    }
    free(procs);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char *sub = fx_fmt("%s/%s", dir, e->d_name);
            kill_tree(sub);
            free(sub);
        }
    }
    if (d)
        closedir(d);
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char *sub = fx_fmt("%s/%s", dir, e->d_name);
            rm_tree(sub);
            free(sub);
        }
    }
    if (d)
        closedir(d);
    /* Killed processes leave their cgroup a moment after the signal. */
    for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++)
        cgt_nap_ms(10);
}

void cgt_remove_tree(const char *dir)
{
    if (access(dir, F_OK) != 0)
        return;
    kill_tree(dir);
    rm_tree(dir);
}

static struct claim {
    char *root, *id, *path;
} claims[16];
static pid_t background[8];

static void run_quietly(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    for (int i = 0; pid > 0 && i < 1000; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return;
        cgt_nap_ms(20);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
}

static void undo_claims(void)
{
    for (size_t i = 0; i < sizeof(background) / sizeof(background[0]); i++)
        if (background[i] > 0 && waitpid(background[i], NULL, WNOHANG) == 0) {
            kill(background[i], SIGKILL);
            waitpid(background[i], NULL, 0);
        }
    const char *bin = getenv("MDRUN_BIN");
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        struct claim *cl = &claims[i];
        if (!cl->path)
            continue;
        if (cl->id && bin) {
            char *argv[] = {(char *)bin, "--root", cl->root, "delete", "--force", cl->id, NULL};
            run_quietly(argv);
        }
        char **v = cgt_dirs_for(cl->path);
        for (char **d = v; *d; d++)
            cgt_remove_tree(*d);
        hx_strv_free(v);
    }
}

static void at_exit_once(void)
{
    static bool registered;
    if (!registered) {
        atexit(undo_claims);
        registered = true;
    }
}

void cgt_claim(struct hx_ctx *c, const char *id, const char *path)
{
    at_exit_once();
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
        if (!claims[i].path) {
            claims[i].root = strdup(c->root);
            claims[i].id = id ? strdup(id) : NULL;
            claims[i].path = strdup(path ? path : id);
            return;
        }
    cr_assert_fail("cgt_claim: too many claims in one test");
}

/* ------------------------------------------------------------- resources */

void cgt_set_resources(md_spec *s, const char *json)
{
    md_resources *r = NULL;
    md_errors problems = {0};
    int rc = md_resources_load_string(json, strlen(json), "resources", &r, &problems);
    cr_assert_eq(rc, 0, "resources %s: %s", json, problems.n ? problems.msgs[0] : "invalid");
    md_errors_clear(&problems);
    md_linux *l = ct_linux(s);
    md_resources_free(l->resources);
    l->resources = r;
}

const char *cgt_bundle(struct hx_ctx *c, const char *json, const char *script, char **shared)
{
    const char *b = ct_script_bundle(c, script, shared);
    if (json) {
        md_spec *s = hx_spec_load(b);
        cgt_set_resources(s, json);
        hx_spec_save(b, s);
        md_spec_free(s);
    }
    return b;
}

void cgt_add_kmsg(const char *bundle)
{
    md_spec *s = hx_spec_load(bundle);
    md_linux *l = ct_linux(s);
    l->devices = realloc(l->devices, (l->n_devices + 1) * sizeof(*l->devices));
    cr_assert(l->devices);
    l->devices[l->n_devices++] = (md_device){.type = strdup("c"),
                                             .path = strdup("/dev/kmsg"),
                                             .has_major = true,
                                             .major = 1,
                                             .has_minor = true,
                                             .minor = 11,
                                             .has_file_mode = true,
                                             .file_mode = 0644};
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

int cgt_start(struct hx_ctx *c, const char *bundle, const char *id, const char *path)
{
    cgt_claim(c, id, path);
    ct_create(c, bundle, id);
    struct fx_result r = hx_mdrun(c, NULL, "start", id, NULL);
    cr_assert_eq(r.status, 0, "start %s: %s", id, r.err);
    fx_result_free(&r);
    int pid = 0;
    char *st = ct_status(c, id, &pid, NULL);
    cr_assert(st && strcmp(st, "running") == 0 && pid > 0, "%s: status %s", id, st);
    free(st);
    return pid;
}

/* ------------------------------------------------------------ background */

pid_t cgt_mdrun_bg(struct hx_ctx *c, const char *out_path, ...)
{
    const char *argv[32] = {hx_mdrun_bin(), "--root", c->root};
    size_t n = 3;
    va_list ap;
    va_start(ap, out_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *err_path = fx_fmt("%s.err", out_path);
    at_exit_once();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || err < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(err_path);
    for (size_t i = 0; i < sizeof(background) / sizeof(background[0]); i++)
        if (background[i] == 0) {
            background[i] = pid;
            break;
        }
    return pid;
}

int cgt_wait_child(pid_t pid, unsigned secs)
{
    int status;
    for (unsigned i = 0; i <= secs * 50; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            for (size_t k = 0; k < sizeof(background) / sizeof(background[0]); k++)
                if (background[k] == pid)
                    background[k] = 0;
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        }
        if (r < 0)
            return -1;
        cgt_nap_ms(20);
    }
    return -1;
}

/* An awk that doubles a string until something stops it: busybox has no
 * allocator, and this memory is the process's own (not page cache). */
#define ALLOCATE "awk 'BEGIN { s = \"0123456789abcdef\"; while (1) s = s s }'"

char *cgt_run_oom(struct hx_ctx *c, const char *json, const char *id, unsigned secs)
{
    char *shared;
    const char *b = cgt_bundle(c, json, ALLOCATE "; echo $? > /shared/status", &shared);
    cgt_claim(c, id, NULL);
    ct_create(c, b, id);
    char *events = fx_fmt("%s/events", c->dir);
    pid_t ev = cgt_mdrun_bg(c, events, "events", "--interval", "10m", id, NULL);
    /* Its first stats line says it is watching. */
    char *first = ct_wait_file(events, secs);
    cr_assert(first, "events printed nothing");
    ct_ok("start", hx_mdrun(c, NULL, "start", id, NULL));
    char *path = fx_fmt("%s/status", shared);
    char *status = ct_wait_file(path, 2 * secs);
    cr_expect_str_eq(status ? status : "(nothing)", "137\n", "the allocator was not SIGKILLed");
    cr_expect_eq(cgt_wait_child(ev, 2 * secs), 0, "events did not end with the container");
    char *text = ct_read(events);
    cr_expect_geq(cgt_count_events(text, "oom", id), 1, "no oom event: %s", text);
    free(status);
    free(path);
    free(first);
    free(events);
    free(shared);
    return text;
}

/* ------------------------------------------------------------------ JSON */

yajl_val cgt_json(const char *text)
{
    char errbuf[256] = "";
    yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));
    cr_assert(v, "not JSON (%s): %s", errbuf, text);
    return v;
}

const char *cgt_json_str(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val x = yajl_tree_get(v, path, yajl_t_string);
    const char *s = x ? YAJL_GET_STRING(x) : NULL;
    return s ? s : "";
}

uint64_t cgt_json_u64(yajl_val v, ...)
{
    const char *path[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, v);
    const char *k;
    while ((k = va_arg(ap, const char *)) && n < 15)
        path[n++] = k;
    va_end(ap);
    path[n] = NULL;
    yajl_val x = yajl_tree_get(v, path, yajl_t_number);
    cr_assert(x && YAJL_IS_INTEGER(x), "no integer at %s%s%s...", path[0], n > 1 ? "." : "",
              n > 1 ? path[1] : "");
    return (uint64_t)YAJL_GET_INTEGER(x);
}

size_t cgt_count_events(const char *text, const char *type, const char *id)
{
    size_t count = 0;
    char *copy = strdup(text ? text : ""), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        yajl_val v = yajl_tree_parse(line, NULL, 0);
        const char *tp[] = {"type", NULL}, *ip[] = {"id", NULL};
        yajl_val t = v ? yajl_tree_get(v, tp, yajl_t_string) : NULL;
        yajl_val i = v ? yajl_tree_get(v, ip, yajl_t_string) : NULL;
        const char *ts = t ? YAJL_GET_STRING(t) : NULL, *is = i ? YAJL_GET_STRING(i) : NULL;
        if (ts && is && strcmp(ts, type) == 0 && strcmp(is, id) == 0)
            count++;
        yajl_tree_free(v);
    }
    free(copy);
    return count;
}

/* ------------------------------------------------------------------ /proc */

/* /proc/PID/stat after the ")" of the command name, NULL if gone. */
static char *stat_tail(pid_t pid, char *buf, size_t size)
{
    char *path = fx_fmt("/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    free(path);
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p ? p + 2 : NULL;
}

uint64_t cgt_cpu_ticks(pid_t pid)
{
    char buf[1024];
    char *p = stat_tail(pid, buf, sizeof(buf));
    unsigned long long ut = 0, st = 0;
    /* Fields 14 and 15; p starts at field 3. */
    cr_assert(p &&
                  sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2,
              "/proc/%d/stat: unreadable", (int)pid);
    return ut + st;
}

char cgt_proc_state(pid_t pid)
{
    char buf[1024];
    char *p = stat_tail(pid, buf, sizeof(buf));
    return p ? p[0] : '?';
}
