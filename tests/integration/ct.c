/* ct.c - helpers of the container tests (see ct.h). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "integration/ct.h"

const char *ct_bundle(struct hx_ctx *c, unsigned flags)
{
    if (c->who == HX_USER)
        flags |= HX_BUNDLE_ROOTLESS;
    const char *bundle = hx_bundle_new(c, flags);
    md_spec *s = hx_spec_load(bundle);
    s->process->terminal = false;
    hx_spec_save(bundle, s);
    md_spec_free(s);
    return bundle;
}

const char *ct_script_bundle(struct hx_ctx *c, const char *script, char **shared)
{
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    if (shared) {
        char *name = fx_fmt("shared%zu", c->n_bundles);
        *shared = ct_shared_dir(c, s, name);
        free(name);
    }
    hx_spec_set_args(s, "sh", "-c", script, NULL);
    hx_spec_save(b, s);
    md_spec_free(s);
    return b;
}

/* ---------------------------------------------------------- config edits */

static void push_all(char ***v, size_t *n, va_list ap)
{
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL)
        cr_assert(md_strv_push(v, n, arg) == 0);
}

static char *dup_or_null(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    cr_assert(!s || d);
    return d;
}

void ct_add_mount(md_spec *s, const char *dest, const char *type, const char *source, ...)
{
    s->mounts = realloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
    cr_assert(s->mounts);
    md_mount *m = &s->mounts[s->n_mounts++];
    memset(m, 0, sizeof(*m));
    m->destination = dup_or_null(dest);
    m->type = dup_or_null(type);
    m->source = dup_or_null(source);
    va_list ap;
    va_start(ap, source);
    push_all(&m->options, &m->n_options, ap);
    va_end(ap);
}

void ct_del_mount(md_spec *s, const char *dest)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].destination, dest) == 0) {
            md_mount *m = &s->mounts[i];
            free(m->destination);
            free(m->type);
            free(m->source);
            md_strv_free(m->options, m->n_options);
            free(m->uid_mappings);
            free(m->gid_mappings);
            memmove(m, m + 1, (s->n_mounts - i - 1) * sizeof(*m));
            s->n_mounts--;
            return;
        }
}

md_hooks *ct_hooks(md_spec *s)
{
    if (!s->hooks)
        s->hooks = calloc(1, sizeof(*s->hooks));
    cr_assert(s->hooks);
    return s->hooks;
}

md_hook *ct_add_hook(md_hook **v, size_t *n, const char *path, ...)
{
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    cr_assert(*v);
    md_hook *h = &(*v)[(*n)++];
    memset(h, 0, sizeof(*h));
    h->path = dup_or_null(path);
    va_list ap;
    va_start(ap, path);
    push_all(&h->args, &h->n_args, ap);
    va_end(ap);
    return h;
}

void ct_set_kv(md_kv **v, size_t *n, const char *key, const char *value)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].key, key) == 0) {
            free((*v)[i].value);
            (*v)[i].value = dup_or_null(value);
            return;
        }
    *v = realloc(*v, (*n + 1) * sizeof(**v));
    cr_assert(*v);
    (*v)[*n].key = dup_or_null(key);
    (*v)[*n].value = dup_or_null(value);
    (*n)++;
}

md_linux *ct_linux(md_spec *s)
{
    if (!s->linux_)
        s->linux_ = calloc(1, sizeof(*s->linux_));
    cr_assert(s->linux_);
    return s->linux_;
}

md_user *ct_user(md_spec *s)
{
    if (!s->process->user)
        s->process->user = calloc(1, sizeof(*s->process->user));
    cr_assert(s->process->user);
    return s->process->user;
}

bool ct_has_ns(const md_spec *s, const char *type)
{
    for (size_t i = 0; s->linux_ && i < s->linux_->n_namespaces; i++)
        if (strcmp(s->linux_->namespaces[i].type, type) == 0)
            return true;
    return false;
}

void ct_add_ns(md_spec *s, const char *type)
{
    if (ct_has_ns(s, type))
        return;
    md_linux *l = ct_linux(s);
    l->namespaces = realloc(l->namespaces, (l->n_namespaces + 1) * sizeof(*l->namespaces));
    cr_assert(l->namespaces);
    l->namespaces[l->n_namespaces++] = (md_namespace){.type = dup_or_null(type)};
}

void ct_del_ns(md_spec *s, const char *type)
{
    md_linux *l = s->linux_;
    for (size_t i = 0; l && i < l->n_namespaces; i++)
        if (strcmp(l->namespaces[i].type, type) == 0) {
            free(l->namespaces[i].type);
            free(l->namespaces[i].path);
            l->namespaces[i] = l->namespaces[--l->n_namespaces];
            return;
        }
}

char *ct_shared_dir(struct hx_ctx *c, md_spec *spec, const char *name)
{
    char *dir = fx_fmt("%s/%s", c->dir, name);
    cr_assert(mkdir(dir, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
    cr_assert(chmod(dir, 0777) == 0 && chown(dir, c->uid, c->gid) == 0, "chown %s", dir);
    if (spec)
        ct_add_mount(spec, "/shared", "bind", dir, "rbind", "rw", NULL);
    return dir;
}

/* ---------------------------------------------------------------- state */

char *ct_status(struct hx_ctx *c, const char *id, int *pid, char **why)
{
    struct fx_result r = hx_mdrun(c, NULL, "state", id, NULL);
    char *status = NULL;
    if (pid)
        *pid = 0;
    if (why)
        *why = NULL;
    if (r.status != 0) {
        if (why)
            *why = strdup(r.err);
        fx_result_free(&r);
        return NULL;
    }
    char errbuf[256];
    yajl_val doc = yajl_tree_parse(r.out, errbuf, sizeof(errbuf));
    cr_assert(doc, "mdrun state %s: not JSON (%s): %s", id, errbuf, r.out);
    const char *status_path[] = {"status", NULL}, *pid_path[] = {"pid", NULL};
    yajl_val st = yajl_tree_get(doc, status_path, yajl_t_string);
    yajl_val p = yajl_tree_get(doc, pid_path, yajl_t_number);
    cr_assert(st, "mdrun state %s: no status: %s", id, r.out);
    const char *text = YAJL_GET_STRING(st);
    status = strdup(text ? text : "");
    if (pid && p)
        *pid = (int)YAJL_GET_INTEGER(p);
    yajl_tree_free(doc);
    fx_result_free(&r);
    return status;
}

int ct_expect_status(struct hx_ctx *c, const char *id, const char *want)
{
    int pid = 0;
    char *why = NULL;
    char *status = ct_status(c, id, &pid, &why);
    cr_expect(status && strcmp(status, want) == 0, "state %s: status %s, want %s (%s)", id,
              status ? status : "(none)", want, why ? why : "");
    free(status);
    free(why);
    return pid;
}

/* Containers to kill at exit: pid and start time (not another process
 * that got the pid later). */
static struct {
    pid_t pid;
    unsigned long long start;
} tracked[16];

static unsigned long long start_time(pid_t pid)
{
    char *path = fx_fmt("/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    free(path);
    if (!f)
        return 0;
    char buf[1024] = "";
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    /* Field 22; the first after ")" is field 3. */
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p)
        start = strtoull(p + 1, NULL, 10);
    return start;
}

static void kill_tracked(void)
{
    for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
        if (tracked[i].pid > 0 && start_time(tracked[i].pid) == tracked[i].start)
            kill(tracked[i].pid, SIGKILL);
}

void ct_track(struct hx_ctx *c, const char *id)
{
    static bool registered;
    int pid = 0;
    char *st = ct_status(c, id, &pid, NULL);
    free(st);
    if (pid <= 0)
        return;
    if (!registered) {
        atexit(kill_tracked);
        registered = true;
    }
    for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
        if (tracked[i].pid == 0) {
            tracked[i].pid = pid;
            tracked[i].start = start_time(pid);
            return;
        }
}

void ct_create(struct hx_ctx *c, const char *bundle, const char *id)
{
    struct fx_result r = hx_mdrun(c, NULL, "create", "--bundle", bundle, id, NULL);
    cr_assert_eq(r.status, 0, "create %s: exit %d: %s", id, r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
}

void ct_delete(struct hx_ctx *c, const char *id)
{
    struct fx_result r = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    cr_expect_eq(r.status, 0, "delete --force %s: exit %d: %s", id, r.status, r.err);
    fx_result_free(&r);
}

void ct_undo_create(struct hx_ctx *c, const struct fx_result *r, const char *id)
{
    if (r->status != 0 || !hx_state_exists(c, id))
        return;
    ct_track(c, id);
    struct fx_result d = hx_mdrun(c, NULL, "delete", "--force", id, NULL);
    fx_result_free(&d);
}

/* ------------------------------------------------------------------ run */

struct fx_result ct_run_bundle(struct hx_ctx *c, const char *bundle)
{
    static unsigned count;
    char *prefix = fx_fmt("run%u", count++);
    char *id = hx_id(prefix);
    struct fx_result r = hx_mdrun(c, NULL, "run", "--bundle", bundle, id, NULL);
    free(id);
    free(prefix);
    return r;
}

struct fx_result ct_run(struct hx_ctx *c, const char *bundle, ...)
{
    md_spec *s = hx_spec_load(bundle);
    md_strv_free(s->process->args, s->process->n_args);
    s->process->args = NULL;
    s->process->n_args = 0;
    va_list ap;
    va_start(ap, bundle);
    push_all(&s->process->args, &s->process->n_args, ap);
    va_end(ap);
    hx_spec_save(bundle, s);
    md_spec_free(s);
    return ct_run_bundle(c, bundle);
}

void ct_save_script(const char *bundle, md_spec *s, const char *script)
{
    hx_spec_set_args(s, "sh", "-c", script, NULL);
    s->process->terminal = false;
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

char *ct_run_script(struct hx_ctx *c, const char *bundle, md_spec *s, const char *script)
{
    ct_save_script(bundle, s, script);
    struct fx_result r = ct_run_bundle(c, bundle);
    cr_assert_eq(r.status, 0, "mdrun run: exit %d; stderr: %s; stdout: %s", r.status, r.err, r.out);
    free(r.err);
    return r.out;
}

void ct_expect_error(const struct fx_result *r, const char *what, const char *needle)
{
    cr_expect_eq(r->status, 1, "%s: exit status %d, want 1; stderr: %s", what, r->status, r->err);
    cr_expect_eq(fx_count_lines(r->err), 1, "%s: want one error line, got: %s", what, r->err);
    if (needle)
        cr_expect(strstr(r->err, needle), "%s: error does not mention \"%s\": %s", what, needle,
                  r->err);
}

void ct_expect_ok(const struct fx_result *r, const char *what)
{
    cr_expect_eq(r->status, 0, "%s: exit status %d; stderr: %s; stdout: %s", what, r->status,
                 r->err, r->out);
}

void ct_ok(const char *what, struct fx_result r)
{
    ct_expect_ok(&r, what);
    fx_result_free(&r);
}

/* ------------------------------------------------------------- waiting */

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

char *ct_read(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        return strdup("");
    }
    return text;
}

bool ct_has_line(const char *text, const char *line)
{
    size_t len = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
            return true;
    return false;
}

bool ct_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

char *ct_wait_file(const char *path, unsigned secs)
{
    for (unsigned i = 0; i <= secs * 50; i++) {
        char *text = ct_read(path);
        size_t len = text ? strlen(text) : 0;
        if (len > 0 && text[len - 1] == '\n')
            return text;
        free(text);
        if (i < secs * 50)
            nap();
    }
    return NULL;
}

bool ct_wait_dead(pid_t pid, unsigned secs)
{
    for (unsigned i = 0; i < secs * 50; i++) {
        if (!hx_pid_alive(pid))
            return true;
        nap();
    }
    return !hx_pid_alive(pid);
}

uint64_t ct_status_hex(const char *status, const char *name)
{
    char *needle = fx_fmt("%s:", name);
    const char *line = strstr(status, needle);
    cr_assert(line, "no %s in: %s", needle, status);
    uint64_t v = strtoull(line + strlen(needle), NULL, 16);
    free(needle);
    return v;
}

int ct_console_listen(struct hx_ctx *c, const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    cr_assert(strlen(path) < sizeof(addr.sun_path), "socket path too long: %s", path);
    strcpy(addr.sun_path, path);
    cr_assert(bind(s, (struct sockaddr *)&addr, sizeof(addr)) == 0, "bind %s: %s", path,
              strerror(errno));
    cr_assert(listen(s, 4) == 0);
    cr_assert(chown(path, c->uid, c->gid) == 0);
    return s;
}

int ct_console_receive(int listener)
{
    struct pollfd p = {.fd = listener, .events = POLLIN};
    cr_assert(poll(&p, 1, 10000) == 1, "nobody connected to the console socket");
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    cr_assert(conn >= 0, "accept: %s", strerror(errno));
    char data[256];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    close(conn);
    cr_assert(n >= 0, "recvmsg: %s", strerror(errno));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cr_assert(cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS,
              "the console socket message carries no fd");
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
    return fd;
}

bool ct_read_some(int fd, char **buf, size_t *len)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return true;
    if (n <= 0)
        return false;
    *buf = realloc(*buf, *len + (size_t)n + 1);
    cr_assert(*buf);
    memcpy(*buf + *len, chunk, (size_t)n);
    *len += (size_t)n;
    (*buf)[*len] = '\0';
    return true;
}
