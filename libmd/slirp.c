/* slirp.c - rootless networking with slirp4netns (see slirp.h): what the
 * container asks for, starting slirp4netns on its network namespace,
 * publishing ports through the API socket, and stopping it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "slirp.h"
#include "state.h"

#define SLIRP_NAME "slirp4netns"
#define TUN_PATH   "/dev/net/tun"
/* The tap device's MTU: slirp4netns's maximum, much faster than 1500. */
#define SLIRP_MTU "65520"
/* How long slirp4netns may take to come up, or to answer a request; the
 * machine may be slow and busy. */
#define READY_TIMEOUT_MS 30000
#define API_TIMEOUT_MS   10000
/* slirp4netns reads at most 4096 bytes of a request. */
#define API_MAX 4096

extern char **environ;

/* ------------------------------------------------------------ the plan */

static const char *annotation(const md_spec *spec, const char *key)
{
    for (size_t i = 0; i < spec->n_annotations; i++)
        if (spec->annotations[i].key && strcmp(spec->annotations[i].key, key) == 0)
            return spec->annotations[i].value;
    return NULL;
}

static bool parse_port_number(const char *s, size_t len, uint16_t *out)
{
    if (len == 0 || len > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

int md_port_parse(const char *text, const char *what, struct md_port *port, md_error *err)
{
    memset(port, 0, sizeof(*port));
    md_autofree char *copy = strdup(text);
    if (!copy)
        return md_fail(err, ENOMEM, "%s", what);
    char *proto = strchr(copy, '/');
    if (proto) {
        *proto++ = '\0';
        if (strcmp(proto, "udp") == 0)
            port->udp = true;
        else if (strcmp(proto, "tcp") != 0)
            return md_failx(err, EINVAL, "%s \"%s\": the protocol must be tcp or udp", what, text);
    }
    /* From the right: CONTAINERPORT, HOSTPORT, then an optional address. */
    char *last = strrchr(copy, ':');
    if (!last)
        goto syntax;
    *last = '\0';
    char *host_port = strrchr(copy, ':');
    const char *addr = "0.0.0.0";
    if (host_port) {
        *host_port++ = '\0';
        addr = copy;
    } else {
        host_port = copy;
    }
    if (!parse_port_number(host_port, strlen(host_port), &port->host_port) ||
        !parse_port_number(last + 1, strlen(last + 1), &port->container_port))
        goto syntax;
    struct in_addr in;
    if (inet_pton(AF_INET, addr, &in) != 1)
        return md_failx(err, EINVAL, "%s \"%s\": \"%s\" is not an IPv4 address", what, text, addr);
    inet_ntop(AF_INET, &in, port->host_addr, sizeof(port->host_addr));
    return 0;
syntax:
    return md_failx(err, EINVAL,
                    "%s \"%s\": want [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp] with ports 1 "
                    "to 65535",
                    what, text);
}

static int add_port(struct md_net_plan *plan, const char *text, const char *what, md_error *err)
{
    struct md_port port;
    if (md_port_parse(text, what, &port, err) < 0)
        return -1;
    for (size_t i = 0; i < plan->n_ports; i++) {
        const struct md_port *p = &plan->ports[i];
        if (p->host_port == port.host_port && p->udp == port.udp)
            return md_failx(err, EINVAL, "%s: host port %u/%s is published twice", what,
                            port.host_port, port.udp ? "udp" : "tcp");
    }
    struct md_port *grown = realloc(plan->ports, (plan->n_ports + 1) * sizeof(*grown));
    if (!grown)
        return md_fail(err, ENOMEM, "%s", what);
    plan->ports = grown;
    plan->ports[plan->n_ports++] = port;
    return 0;
}

/* The comma-separated list of the annotation. */
static int add_port_list(struct md_net_plan *plan, const char *list, md_error *err)
{
    const char *what = "annotation " MD_PUBLISH_ANNOTATION;
    md_autofree char *copy = strdup(list);
    if (!copy)
        return md_fail(err, ENOMEM, "%s", what);
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        if (*item && add_port(plan, item, what, err) < 0)
            return -1;
    }
    return 0;
}

/* slirp4netns, looked up in PATH as a shell would. */
static char *find_slirp(md_error *err)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    md_autofree char *dirs = strdup(path);
    if (!dirs)
        return md_fail(err, ENOMEM, SLIRP_NAME), NULL;
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        if (d[0] != '/')
            continue; /* a relative PATH entry would depend on the cwd */
        char *exe = NULL;
        if (asprintf(&exe, "%s/%s", d, SLIRP_NAME) < 0)
            return md_fail(err, ENOMEM, SLIRP_NAME), NULL;
        struct stat st;
        if (stat(exe, &st) == 0 && S_ISREG(st.st_mode) && access(exe, X_OK) == 0)
            return exe;
        free(exe);
    }
    md_failx(err, ENOENT,
             "--net slirp4netns: slirp4netns is not found in PATH (install the slirp4netns "
             "package)");
    return NULL;
}

/* slirp4netns brings up a tap device in a network namespace of the
 * container's own: not the host's, not one shared with others. */
static int check_namespace(const md_spec *spec, const struct md_ns_plan *ns, const char *what,
                           md_error *err)
{
    const md_linux *lx = spec->linux_;
    for (size_t i = 0; lx && i < lx->n_namespaces; i++) {
        const md_namespace *n = &lx->namespaces[i];
        if (n->type && strcmp(n->type, "network") == 0 && n->path && *n->path)
            return md_failx(err, EINVAL,
                            "%s: linux.namespaces[%zu] joins the network namespace %s; "
                            "slirp4netns needs a new one (remove its path)",
                            what, i, n->path);
    }
    if (!(ns->unshare_flags & CLONE_NEWNET))
        return md_failx(err, EINVAL,
                        "%s: the config has no network namespace (add {\"type\": \"network\"} "
                        "to linux.namespaces)",
                        what);
    return 0;
}

/* slirp4netns opens /dev/net/tun as the caller: udev makes it 0666, a
 * bare /dev may leave it root's alone. */
static int check_tun(md_error *err)
{
    if (access(TUN_PATH, R_OK | W_OK) == 0)
        return 0;
    int saved = errno;
    return md_failx(err, saved,
                    "--net slirp4netns: " TUN_PATH ": %s (slirp4netns opens it as the caller: "
                    "it needs mode 0666, as udev sets it)",
                    strerror(saved));
}

int md_net_plan_make(const char *net, char *const *publish, size_t n_publish, const md_spec *spec,
                     const struct md_ns_plan *ns, struct md_net_plan *plan, md_error *err)
{
    memset(plan, 0, sizeof(*plan));
    const char *net_what = "--net";
    if (!net && (net = annotation(spec, MD_NET_ANNOTATION)))
        net_what = "annotation " MD_NET_ANNOTATION;
    if (net && strcmp(net, SLIRP_NAME) == 0)
        plan->slirp = true;
    else if (net && *net && strcmp(net, "none") != 0)
        return md_failx(err, EINVAL, "%s \"%s\": unknown network (slirp4netns or none)", net_what,
                        net);

    int rc = 0;
    const char *pub_what = "--publish";
    if (n_publish > 0) {
        for (size_t i = 0; rc == 0 && i < n_publish; i++)
            rc = add_port(plan, publish[i], pub_what, err);
    } else {
        const char *list = annotation(spec, MD_PUBLISH_ANNOTATION);
        pub_what = "annotation " MD_PUBLISH_ANNOTATION;
        if (list)
            rc = add_port_list(plan, list, err);
    }
    if (rc == 0 && plan->n_ports > 0 && !plan->slirp)
        rc = md_failx(err, EINVAL, "%s: ports are published only with --net slirp4netns (or %s=%s)",
                      pub_what, MD_NET_ANNOTATION, SLIRP_NAME);
    if (rc == 0 && plan->slirp) {
        rc = check_namespace(spec, ns,
                             strcmp(net_what, "--net") == 0 ? "--net slirp4netns" : net_what, err);
        if (rc == 0 && !(plan->exe = find_slirp(err)))
            rc = -1;
        if (rc == 0)
            rc = check_tun(err);
    }
    if (rc < 0)
        md_net_plan_free(plan);
    return rc;
}

void md_net_plan_free(struct md_net_plan *plan)
{
    free(plan->exe);
    free(plan->ports);
    memset(plan, 0, sizeof(*plan));
}

/* ------------------------------------------------------------- starting */

/* The fds slirp4netns gets, at 3, 4, ... in this order. */
enum { FD_READY, FD_EXIT, FD_NETNS, FD_USERNS, N_FDS };

/* In the child, between fork and exec: only async-signal-safe calls.
 * Nothing of mdrun's reaches slirp4netns: not its fds (the container
 * directory's lock among them), not its blocked signals (run blocks the
 * ones it forwards), not its session (a ^C meant for mdrun). */
__attribute__((noreturn)) static void exec_slirp(const char *exe, char *const argv[], int dir_fd,
                                                 int devnull, int log_fd, const int fds[N_FDS])
{
    sigset_t none;
    sigemptyset(&none);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    /* Its API socket is named relative to its cwd, the container
     * directory: a sockaddr_un holds only 108 bytes of path. */
    if (fchdir(dir_fd) < 0)
        _exit(126);
    int high[N_FDS];
    for (int i = 0; i < N_FDS; i++) {
        high[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD, 3 + N_FDS);
        if (fds[i] >= 0 && high[i] < 0)
            _exit(126);
    }
    if (dup2(devnull, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(126);
    for (int i = 0; i < N_FDS; i++)
        if (high[i] >= 0 && dup2(high[i], 3 + i) < 0)
            _exit(126);
    syscall(SYS_close_range, 3 + N_FDS, ~0U, 0);
    execve(exe, argv, environ);
    _exit(127);
}

/* The last line slirp4netns wrote to its log, to say why it failed. */
static void last_log_line(int dir_fd, char *buf, size_t size)
{
    buf[0] = '\0';
    md_autofd fd = openat(dir_fd, MD_SLIRP_LOG, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char text[4096];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(text) - 1 ? end - (off_t)sizeof(text) + 1 : 0;
    ssize_t n = pread(fd, text, sizeof(text) - 1, from);
    if (n <= 0)
        return;
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    const char *line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    size_t len = strnlen(line, size - 1);
    memcpy(buf, line, len);
    buf[len] = '\0';
}

static int not_ready(int dir_fd, const char *why, md_error *err)
{
    char line[512];
    last_log_line(dir_fd, line, sizeof(line));
    return md_failx(err, EIO, "slirp4netns %s%s%s", why, line[0] ? ": " : "", line);
}

/* slirp4netns writes "1" on the ready fd once the tap device is configured
 * and the API socket listens; it may die first instead. */
static int wait_ready(int ready, int pidfd, int dir_fd, md_error *err)
{
    struct pollfd p[2] = {{.fd = ready, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    int n;
    while ((n = poll(p, 2, READY_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return md_fail(err, errno, "wait for slirp4netns");
    if (n == 0)
        return not_ready(dir_fd, "did not get ready in time", err);
    char byte = 0;
    if ((p[0].revents & POLLIN) && read(ready, &byte, 1) == 1 && byte == '1')
        return 0;
    return not_ready(dir_fd, "exited before it was ready", err);
}

/* The namespace files of the init, opened by mdrun: slirp4netns gets them
 * as /proc/self/fd/N, so that it acts on that very namespace. */
static int open_ns(pid_t init, const char *name, md_error *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)init, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return md_fail(err, errno, "open %s", path);
    return fd;
}

static int spawn_slirp(const struct md_net_plan *plan, pid_t init, int init_pidfd, int dir_fd,
                       bool rootless, int ready_out, struct md_slirp *out, md_error *err)
{
    md_autofd netns = open_ns(init, "net", err);
    if (netns < 0)
        return -1;
    md_autofd userns = rootless ? open_ns(init, "user", err) : -1;
    if (rootless && userns < 0)
        return -1;
    md_autofd log_fd =
        openat(dir_fd, MD_SLIRP_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (log_fd < 0)
        return md_fail(err, errno, "create %s", MD_SLIRP_LOG);
    md_autofd devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return md_fail(err, errno, "open /dev/null");

    char ready_arg[32], exit_arg[32], userns_arg[64], netns_path[32];
    snprintf(ready_arg, sizeof(ready_arg), "--ready-fd=%d", 3 + FD_READY);
    snprintf(exit_arg, sizeof(exit_arg), "--exit-fd=%d", 3 + FD_EXIT);
    snprintf(userns_arg, sizeof(userns_arg), "--userns-path=/proc/self/fd/%d", 3 + FD_USERNS);
    snprintf(netns_path, sizeof(netns_path), "/proc/self/fd/%d", 3 + FD_NETNS);
    const char *argv[16];
    size_t n = 0;
    argv[n++] = SLIRP_NAME;
    argv[n++] = "--configure";
    argv[n++] = "--mtu=" SLIRP_MTU;
    argv[n++] = "--disable-host-loopback";
    argv[n++] = "--api-socket=" MD_SLIRP_SOCKET;
    argv[n++] = ready_arg;
    if (init_pidfd >= 0) /* slirp4netns exits once the init is gone */
        argv[n++] = exit_arg;
    argv[n++] = "--netns-type=path";
    if (userns >= 0)
        argv[n++] = userns_arg;
    argv[n++] = netns_path;
    argv[n++] = "tap0";
    argv[n] = NULL;
    const int fds[N_FDS] = {ready_out, init_pidfd, netns, userns};

    pid_t pid = fork();
    if (pid < 0)
        return md_fail(err, errno, "fork slirp4netns");
    if (pid == 0)
        exec_slirp(plan->exe, (char *const *)argv, dir_fd, devnull, log_fd, fds);
    out->pid = pid;
    /* Our child, not reaped yet: its pid cannot have been reused. */
    out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (out->pidfd < 0)
        return md_fail(err, errno, "pidfd_open slirp4netns");
    char state;
    if (md_proc_stat(pid, &state, &out->start_time) < 0)
        return md_fail(err, errno, "read /proc/%d/stat", (int)pid);
    md_debug("started slirp4netns, pid %d", (int)pid);
    return 0;
}

/* ----------------------------------------------------------- publishing */

/* One request on the API socket, one reply (until end of file). */
static int api_call(int dir_fd, const char *request, char *reply, size_t size, md_error *err)
{
    md_autofd s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return md_fail(err, errno, "socket");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/%s", dir_fd, MD_SLIRP_SOCKET);
    if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        return md_fail(err, errno, "connect to the slirp4netns API socket");
    size_t len = strlen(request);
    for (size_t done = 0; done < len;) {
        ssize_t w = send(s, request + done, len - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return md_fail(err, errno, "send to slirp4netns");
        done += (size_t)w;
    }
    /* The end of the request, for slirp4netns. */
    shutdown(s, SHUT_WR);
    size_t got = 0;
    for (;;) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        int n = poll(&p, 1, API_TIMEOUT_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return md_failx(err, ETIMEDOUT, "slirp4netns did not answer");
        ssize_t r = read(s, reply + got, size - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return md_fail(err, errno, "read from slirp4netns");
        if (r == 0 || (got += (size_t)r) == size - 1)
            break;
    }
    reply[got] = '\0';
    return 0;
}

/* Why a port could not be published: slirp4netns only says that it
 * failed, so try the same bind to name the reason (in use, privileged). */
static int explain(const struct md_port *p, const char *spec_text, const char *desc, md_error *err)
{
    md_autofd s = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
    inet_pton(AF_INET, p->host_addr, &a.sin_addr);
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return md_fail(err, errno, "publish %s: host port %s:%u/%s", spec_text, p->host_addr,
                       p->host_port, p->udp ? "udp" : "tcp");
    return md_failx(err, EIO, "publish %s: slirp4netns: %s", spec_text, desc);
}

static int publish(int dir_fd, const struct md_port *p, md_error *err)
{
    char text[64];
    snprintf(text, sizeof(text), "%s:%u:%u/%s", p->host_addr, p->host_port, p->container_port,
             p->udp ? "udp" : "tcp");
    char request[512];
    snprintf(request, sizeof(request),
             "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"%s\", \"host_addr\": "
             "\"%s\", \"host_port\": %u, \"guest_port\": %u}}",
             p->udp ? "udp" : "tcp", p->host_addr, p->host_port, p->container_port);
    char reply[API_MAX];
    if (api_call(dir_fd, request, reply, sizeof(reply), err) < 0)
        return md_wrap(err, "publish %s", text);
    char why[128];
    yajl_val tree = yajl_tree_parse(reply, why, sizeof(why));
    if (!tree)
        return md_failx(err, EPROTO, "publish %s: slirp4netns answered no JSON: %s", text, why);
    static const char *ok_path[] = {"return", NULL};
    static const char *desc_path[] = {"error", "desc", NULL};
    int rc = 0;
    if (!yajl_tree_get(tree, ok_path, yajl_t_object)) {
        yajl_val desc = yajl_tree_get(tree, desc_path, yajl_t_string);
        rc = explain(p, text, desc ? YAJL_GET_STRING(desc) : "the request failed", err);
    }
    yajl_tree_free(tree);
    if (rc == 0)
        md_debug("published %s", text);
    return rc;
}

int md_slirp_start(const struct md_net_plan *plan, pid_t init, int init_pidfd, int dir_fd,
                   bool rootless, struct md_slirp *out, md_error *err)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0)
        return md_fail(err, errno, "pipe");
    md_autofd ready_in = pipe_fds[0];
    md_autofd ready_out = pipe_fds[1];
    if (spawn_slirp(plan, init, init_pidfd, dir_fd, rootless, ready_out, out, err) < 0)
        return md_wrap(err, "--net slirp4netns");
    /* Only slirp4netns holds the write end now: its exit is end of file. */
    md_close_fd(&ready_out);
    if (wait_ready(ready_in, out->pidfd, dir_fd, err) < 0)
        return -1;
    for (size_t i = 0; i < plan->n_ports; i++)
        if (publish(dir_fd, &plan->ports[i], err) < 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------- stopping */

/* SIGKILL through the pidfd, wait until it has exited, and reap it when
 * it is our child (run's delete, or create's undo). */
static int kill_wait(int pidfd, md_error *err)
{
    if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
        return md_fail(err, errno, "kill slirp4netns");
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, 10000)) < 0 && errno == EINTR)
        ;
    if (n <= 0)
        return md_failx(err, ETIMEDOUT, "slirp4netns did not die after SIGKILL");
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) < 0 && errno == EINTR)
        ;
    return 0;
}

void md_slirp_kill(struct md_slirp *s)
{
    if (s->pid > 0 && s->pidfd >= 0) {
        md_error ignored = {0};
        if (kill_wait(s->pidfd, &ignored) < 0)
            md_warn("%s", ignored.msg);
        md_error_clear(&ignored);
    }
    md_close_fd(&s->pidfd);
    s->pid = 0;
}

/* Whether /proc/PID/comm names slirp4netns. */
static bool is_slirp(pid_t pid)
{
    char path[64], comm[32];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    md_autofd fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, comm, sizeof(comm) - 1);
    if (n <= 0)
        return false;
    comm[n] = '\0';
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, SLIRP_NAME) == 0;
}

int md_slirp_stop(pid_t pid, uint64_t start_time, md_error *err)
{
    if (pid <= 0)
        return 0;
    md_autofd pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0 && errno == ESRCH)
        return 0; /* gone already, with the container */
    if (pidfd < 0)
        return md_fail(err, errno, "pidfd_open slirp4netns %d", (int)pid);
    /* The pidfd pins one process: check that it is the one recorded, not
     * another that took its pid since. */
    char state;
    uint64_t start;
    if (md_proc_stat(pid, &state, &start) < 0 || start != start_time || !is_slirp(pid)) {
        md_debug("slirp4netns %d: gone, its pid now names another process", (int)pid);
        return 0;
    }
    return kill_wait(pidfd, err);
}
