/* test-net.c - rootless networking with slirp4netns: a busybox httpd in
 * the container answers on 127.0.0.1:HOSTPORT of the host, published with
 * --net slirp4netns -p or with the bundle's annotations; the container sees
 * tap0 with 10.0.2.100; slirp4netns inherits nothing of mdrun's and is
 * gone after delete, even after the container's init was killed; what
 * cannot work is refused before anything exists.  As root and as an
 * unprivileged user.  Nothing connects anywhere but 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "integration/ct.h"
#include "integration/harness.h"
#include "state.h"

#define PAGE "<h1>served by mdrun's net test</h1>\n"

/* ------------------------------------------------------------- helpers */

/* slirp4netns processes started by the tests, killed at exit should a
 * test end before deleting its container (checked by start time). */
static struct {
    pid_t pid;
    uint64_t start;
} started[16];

static void kill_started(void)
{
    for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++) {
        char st;
        uint64_t start;
        if (started[i].pid > 0 && md_proc_stat(started[i].pid, &st, &start) == 0 &&
            start == started[i].start)
            kill(started[i].pid, SIGKILL);
    }
}

static void track_slirp(pid_t pid, uint64_t start)
{
    static bool registered;
    if (!registered) {
        atexit(kill_started);
        registered = true;
    }
    for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
        if (started[i].pid == 0) {
            started[i].pid = pid;
            started[i].start = start;
            return;
        }
}

/* Skip without slirp4netns; for the user, check that a /dev/net/tun it
 * cannot open is refused clearly, then skip: nothing more can run. */
static void need_slirp(struct hx_ctx *c, const char *bundle)
{
    if (access("/usr/bin/slirp4netns", X_OK) != 0 && access("/bin/slirp4netns", X_OK) != 0)
        hx_skip("slirp4netns is not installed (apt-get install slirp4netns)");
    struct stat st;
    if (c->who != HX_USER || (stat("/dev/net/tun", &st) == 0 && (st.st_mode & 06) == 06))
        return;
    char *id = hx_id("notun");
    struct fx_result r =
        hx_mdrun(c, NULL, "run", "--net", "slirp4netns", "--bundle", bundle, id, NULL);
    ct_expect_error(&r, "run without access to /dev/net/tun", "/dev/net/tun");
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    free(id);
    hx_skip("/dev/net/tun is not readable and writable by users (mode %o): rootless "
            "slirp4netns cannot open it",
            (unsigned)(st.st_mode & 0777));
}

/* A port nobody listens on now. */
static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    cr_assert(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    return ntohs(a.sin_port);
}

/* A listening socket on 127.0.0.1:port, or -1 with errno. */
static int listen_on(unsigned port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
        int saved = errno;
        close(s);
        errno = saved;
        return -1;
    }
    return s;
}

/* Whether the port can be listened on again (TIME_WAIT left aside). */
static bool port_free(unsigned port)
{
    int s = listen_on(port);
    if (s < 0)
        return false;
    close(s);
    return true;
}

/* One HTTP/1.0 GET of / on 127.0.0.1:port: the whole response, or NULL. */
static char *get_once(unsigned port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    static const char req[] = "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
        close(s);
        return NULL;
    }
    size_t size = 65536, got = 0;
    char *buf = malloc(size);
    cr_assert(buf);
    for (;;) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = read(s, buf + got, size - 1 - got);
        if (n <= 0 || (got += (size_t)n) == size - 1)
            break;
    }
    close(s);
    buf[got] = '\0';
    if (got == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The page, retried while httpd starts (slirp4netns accepts at once and
 * closes the connection while nothing listens in the container yet). */
static char *fetch(unsigned port)
{
    for (int i = 0; i < 100; i++) {
        char *r = get_once(port);
        if (r && strstr(r, " 200 "))
            return r;
        free(r);
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* The record of a container, as mdrun wrote it. */
static void read_record(struct hx_ctx *c, const char *id, md_state_record *rec)
{
    char *dir = fx_fmt("%s/%s", c->root, id);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert(fd >= 0, "open %s: %s", dir, strerror(errno));
    md_error err = {0};
    cr_assert_eq(md_state_record_read(fd, rec, &err), 0, "%s: %s", dir, err.msg);
    close(fd);
    free(dir);
}

/* The slirp4netns of a running container: alive, recorded with its start
 * time, in a session of its own, holding none of mdrun's fds. */
static pid_t check_slirp(struct hx_ctx *c, const char *id, uint64_t *start)
{
    md_state_record rec;
    read_record(c, id, &rec);
    cr_assert(rec.has_net_helper_pid && rec.net_helper_pid > 0, "no slirp4netns recorded");
    pid_t pid = rec.net_helper_pid;
    *start = rec.net_helper_start_time;
    md_state_record_free(&rec);
    track_slirp(pid, *start);
    char st;
    uint64_t now;
    cr_assert_eq(md_proc_stat(pid, &st, &now), 0, "slirp4netns %d is gone", (int)pid);
    cr_expect_eq(now, *start, "the recorded start time is not slirp4netns's");
    char *path = fx_fmt("/proc/%d/comm", (int)pid);
    char *comm = ct_read(path);
    cr_expect_str_eq(comm, "slirp4netns\n");
    free(comm);
    free(path);
    cr_expect_eq(getsid(pid), pid, "slirp4netns shares a session with mdrun's caller");

    char *fds = fx_fmt("/proc/%d/fd", (int)pid);
    DIR *d = opendir(fds);
    cr_assert(d, "open %s: %s", fds, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char link[4096];
        ssize_t n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
        if (n < 0)
            continue;
        link[n] = '\0';
        size_t len = strlen(link);
        bool ours = strcmp(link, "/dev/null") == 0 || strcmp(link, "/dev/net/tun") == 0 ||
                    strcmp(link, "anon_inode:[pidfd]") == 0 || strncmp(link, "socket:[", 8) == 0 ||
                    strncmp(link, "net:[", 5) == 0 || strncmp(link, "user:[", 6) == 0 ||
                    (len > 16 && strcmp(link + len - 16, "/slirp4netns.log") == 0);
        cr_expect(ours, "slirp4netns holds fd %s -> %s, not one of its own", e->d_name, link);
    }
    closedir(d);
    free(fds);
    return pid;
}

/* After delete: slirp4netns gone, no state, the port free again.  Gone
 * when delete returns, not later: slirp4netns would also exit by itself
 * once the init is reaped (its exit fd), which must not hide a delete that
 * forgot it. */
static void check_gone(struct hx_ctx *c, const char *id, pid_t slirp, unsigned port)
{
    cr_expect_not(hx_pid_alive(slirp), "slirp4netns %d outlived delete", (int)slirp);
    cr_expect_not(hx_state_exists(c, id), "the state of %s is left", id);
    cr_expect(port_free(port), "port %u is still taken after delete", port);
    hx_assert_clean(c);
}

/* No slirp4netns of the context is left running, whatever its pid: its
 * cwd was a container directory in the context's state root. */
static void no_slirp_left(struct hx_ctx *c)
{
    DIR *d = opendir("/proc");
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || !hx_pid_alive(atoi(e->d_name)))
            continue;
        char *path = fx_fmt("/proc/%s/comm", e->d_name);
        char *comm = ct_read(path);
        free(path);
        if (comm && strcmp(comm, "slirp4netns\n") == 0) {
            char cwd[4096];
            path = fx_fmt("/proc/%s/cwd", e->d_name);
            ssize_t n = readlink(path, cwd, sizeof(cwd) - 1);
            free(path);
            cwd[n > 0 ? n : 0] = '\0';
            cr_expect(strncmp(cwd, c->root, strlen(c->root)) != 0,
                      "slirp4netns %s of the context is left (cwd %s)", e->d_name, cwd);
        }
        free(comm);
    }
    closedir(d);
}

/* A bundle of c->who running busybox httpd on port 80 in a network
 * namespace of its own, serving PAGE. */
static const char *web_bundle(struct hx_ctx *c, const char *const *args)
{
    const char *b = ct_bundle(c, 0);
    md_spec *s = hx_spec_load(b);
    if (!ct_has_ns(s, "network"))
        ct_add_ns(s, "network");
    if (args) {
        for (size_t i = 0; i < s->process->n_args; i++)
            free(s->process->args[i]);
        free(s->process->args);
        size_t n = 0;
        while (args[n])
            n++;
        s->process->args = calloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            s->process->args[i] = strdup(args[i]);
        s->process->n_args = n;
    } else {
        hx_spec_set_args(s, "httpd", "-f", "-p", "80", "-h", "/www", NULL);
    }
    hx_spec_save(b, s);
    md_spec_free(s);
    char *www = fx_fmt("%s/rootfs/www", b);
    cr_assert(mkdir(www, 0755) == 0 || errno == EEXIST);
    char *page = fx_fmt("%s/index.html", www);
    fx_write(page, PAGE);
    cr_assert(chmod(page, 0644) == 0);
    free(page);
    free(www);
    return b;
}

/* ---------------------------------------------------------- the option */

TestSuite(net);

CT_BOTH(net, published_port_serves_the_page)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = web_bundle(c, NULL);
    need_slirp(c, b);
    unsigned port = free_port();
    char *publish = fx_fmt("127.0.0.1:%u:80/tcp", port);
    char *id = hx_id("web");
    struct fx_result r = hx_mdrun(c, NULL, "run", "-d", "--net", "slirp4netns", "-p", publish,
                                  "--bundle", b, id, NULL);
    cr_assert_eq(r.status, 0, "run: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    ct_track(c, id);
    uint64_t start;
    pid_t slirp = check_slirp(c, id, &start);

    char *page = fetch(port);
    cr_expect(page, "no page on 127.0.0.1:%u", port);
    cr_expect(page && strstr(page, PAGE), "not the page served: %s", page);
    free(page);

    ct_delete(c, id);
    check_gone(c, id, slirp, port);
    free(id);
    free(publish);
}

/* `run` in the foreground: the container sees its tap0, and run's own
 * delete stops (and reaps) slirp4netns. */
CT_BOTH(net, container_sees_tap0)
{
    struct hx_ctx *c = hx_ctx_new(who);
    static const char *const args[] = {"ip", "addr", "show", "tap0", NULL};
    const char *b = web_bundle(c, args);
    need_slirp(c, b);
    char *id = hx_id("tap");
    struct fx_result r = hx_mdrun(c, NULL, "run", "--net", "slirp4netns", "--bundle", b, id, NULL);
    cr_expect_eq(r.status, 0, "run: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.out, "inet 10.0.2.100/24"), "tap0 without 10.0.2.100: %s", r.out);
    cr_expect(strstr(r.out, "mtu 65520"), "tap0 without the MTU: %s", r.out);
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    hx_assert_clean(c);
    no_slirp_left(c);
    free(id);
}

/* ----------------------------------------------------- the annotations */

/* examples/httpd-bundle.sh: the annotations ask for slirp4netns and the
 * port; create + start serve the page; once the init is SIGKILLed, delete
 * still stops slirp4netns. */
CT_BOTH(net, annotated_bundle_and_killed_init)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *src = getenv("MDRUN_SRCDIR");
    cr_assert(src, "MDRUN_SRCDIR is not set: run the tests with make check");
    char *dir = ct_shared_dir(c, NULL, "example");
    char *b = fx_fmt("%s/bundle", dir);
    unsigned port = free_port();
    char *script = fx_fmt("%s/examples/httpd-bundle.sh", src);
    char *port_s = fx_fmt("%u", port);
    const char *argv[] = {"sh", script, b, port_s, hx_mdrun_bin(), NULL};
    struct fx_result r = hx_run(c, NULL, argv);
    cr_assert_eq(r.status, 0, "httpd-bundle.sh: exit %d: %s", r.status, r.err);
    fx_result_free(&r);
    need_slirp(c, b);

    char *id = hx_id("annotated");
    ct_create(c, b, id);
    uint64_t start;
    pid_t slirp = check_slirp(c, id, &start);
    r = hx_mdrun(c, NULL, "start", id, NULL);
    ct_expect_ok(&r, "start");
    fx_result_free(&r);
    char *page = fetch(port);
    cr_expect(page && strstr(page, "Hello from mdrun"), "no page on 127.0.0.1:%u: %s", port, page);
    free(page);

    int init = 0;
    free(ct_status(c, id, &init, NULL));
    cr_assert(init > 0);
    cr_assert(kill(init, SIGKILL) == 0);
    cr_expect(ct_wait_dead(init, 10), "the init outlived SIGKILL");
    r = hx_mdrun(c, NULL, "delete", id, NULL);
    ct_expect_ok(&r, "delete after the init was killed");
    fx_result_free(&r);
    check_gone(c, id, slirp, port);
    free(id);
    free(port_s);
    free(script);
    free(b);
    free(dir);
}

/* ---------------------------------------------------------- refusals */

/* A run that must be refused before anything exists. */
static void refused(struct hx_ctx *c, const char *bundle, const char *needle, ...)
{
    const char *args[16] = {"run"};
    size_t n = 1;
    va_list ap;
    va_start(ap, needle);
    for (const char *a; (a = va_arg(ap, const char *)) && n < 12;)
        args[n++] = a;
    va_end(ap);
    char *id = hx_id("refused");
    args[n++] = "--bundle";
    args[n++] = bundle;
    args[n++] = id;
    args[n] = NULL;
    const char *argv[20] = {hx_mdrun_bin(), "--root", c->root};
    for (size_t i = 0; i <= n; i++)
        argv[3 + i] = args[i];
    struct fx_result r = hx_run(c, NULL, argv);
    ct_expect_error(&r, needle, needle);
    ct_undo_create(c, &r, id);
    fx_result_free(&r);
    cr_expect_not(hx_state_exists(c, id), "%s: state left", needle);
    free(id);
}

static void edit(const char *bundle, const char *ann_key, const char *ann_value, bool network,
                 const char *net_path)
{
    md_spec *s = hx_spec_load(bundle);
    if (ann_key)
        ct_set_kv(&s->annotations, &s->n_annotations, ann_key, ann_value);
    ct_del_ns(s, "network");
    if (network)
        ct_add_ns(s, "network");
    if (net_path) {
        md_linux *lx = ct_linux(s);
        lx->namespaces[lx->n_namespaces - 1].path = strdup(net_path);
    }
    hx_spec_save(bundle, s);
    md_spec_free(s);
}

CT_BOTH(net, refusals)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = web_bundle(c, NULL);
    edit(b, NULL, NULL, false, NULL);
    refused(c, b, "the config has no network namespace", "--net", "slirp4netns", NULL);
    edit(b, "run.mdrun.net", "slirp4netns", false, NULL);
    refused(c, b, "annotation run.mdrun.net: the config has no network namespace", NULL);
    edit(b, NULL, NULL, true, "/proc/self/ns/net");
    refused(c, b, "joins the network namespace /proc/self/ns/net", "--net", "slirp4netns", NULL);
    edit(b, "run.mdrun.net", "bogus", true, NULL);
    refused(c, b, "annotation run.mdrun.net \"bogus\": unknown network", NULL);
    refused(c, b, "--net \"tap\": unknown network", "--net", "tap", NULL);
    /* --net none overrides the annotation, and then no port is published. */
    refused(c, b, "--publish: ports are published only with --net slirp4netns", "--net", "none",
            "-p", "8080:80", NULL);
    refused(c, b, "--publish \"80\": want [HOSTIP:]HOSTPORT:CONTAINERPORT", "--net", "slirp4netns",
            "-p", "80", NULL);
    refused(c, b, "--publish \"1:70000\"", "--net", "slirp4netns", "-p", "1:70000", NULL);
    refused(c, b, "the protocol must be tcp or udp", "--net", "slirp4netns", "-p", "1:2/sctp",
            NULL);
    refused(c, b, "\"::1\" is not an IPv4 address", "--net", "slirp4netns", "-p", "::1:1:2", NULL);
    refused(c, b, "host port 9/tcp is published twice", "--net", "slirp4netns", "-p", "9:1", "-p",
            "127.0.0.1:9:2", NULL);
    edit(b, "run.mdrun.publish", "8080:80, x", true, NULL);
    refused(c, b, "annotation run.mdrun.publish \"x\"", "--net", "slirp4netns", NULL);
    hx_assert_clean(c);
}

/* A host port already taken: refused, naming the reason, and slirp4netns
 * does not stay. */
CT_BOTH(net, port_in_use)
{
    struct hx_ctx *c = hx_ctx_new(who);
    const char *b = web_bundle(c, NULL);
    need_slirp(c, b);
    unsigned port = free_port();
    int taken = listen_on(port);
    cr_assert(taken >= 0, "listen on %u: %s", port, strerror(errno));
    char *publish = fx_fmt("127.0.0.1:%u:80", port);
    refused(c, b, "Address already in use", "--net", "slirp4netns", "-p", publish, NULL);
    close(taken);
    hx_assert_clean(c);
    no_slirp_left(c);
    free(publish);
}
