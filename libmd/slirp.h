/* slirp.h - rootless networking: slirp4netns on the container's new
 * network namespace, and host ports published through its API socket.
 *
 * Asked for with `--net slirp4netns` (and `-p/--publish`) on create and
 * run, or in the bundle with the annotations below; the command line wins
 * over the annotations.  create starts slirp4netns once the init has its
 * namespaces, waits until it is ready, publishes the ports, and records its
 * pid and start time; delete stops it by that record.  slirp4netns also
 * exits by itself once the container's init is gone: its --exit-fd is a
 * pidfd of the init. */
#ifndef MD_SLIRP_H
#define MD_SLIRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mdrun.h"
#include "ns.h"
#include "spec.h"

/* "slirp4netns" or "none" (the default: the namespace keeps only lo). */
#define MD_NET_ANNOTATION "run.mdrun.net"
/* Comma-separated --publish values: "8080:80/tcp,127.0.0.1:5353:53/udp". */
#define MD_PUBLISH_ANNOTATION "run.mdrun.publish"

/* In the container directory. */
#define MD_SLIRP_SOCKET "slirp4netns.sock"
#define MD_SLIRP_LOG    "slirp4netns.log"

/* One [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]. */
struct md_port {
    char host_addr[INET_ADDRSTRLEN]; /* "0.0.0.0" unless given */
    uint16_t host_port;
    uint16_t container_port;
    bool udp;
};

struct md_net_plan {
    bool slirp; /* start slirp4netns */
    char *exe;  /* its absolute path, found in PATH */
    struct md_port *ports;
    size_t n_ports;
};

/* What the container asks for, from the command line (net, publish: NULL
 * and 0 when not given) or else the annotations; checked against the
 * namespaces (slirp4netns needs a new network namespace) and the presence
 * of slirp4netns, so that create refuses before anything exists. */
int md_net_plan_make(const char *net, char *const *publish, size_t n_publish, const md_spec *spec,
                     const struct md_ns_plan *ns, struct md_net_plan *plan, md_error *err);
void md_net_plan_free(struct md_net_plan *plan);

/* Parse one port; what names the source in the message ("--publish"). */
int md_port_parse(const char *text, const char *what, struct md_port *port, md_error *err);

/* A slirp4netns started by create. */
struct md_slirp {
    pid_t pid; /* 0: none */
    int pidfd;
    uint64_t start_time; /* field 22 of /proc/PID/stat */
};

/* Start slirp4netns on the network namespace of init (pinned by
 * init_pidfd, which becomes its exit fd), in the container directory
 * dir_fd (its API socket and log are there), entering the init's user
 * namespace when rootless; wait until it is ready and publish the ports.
 * out is filled as soon as the process exists, so that a failure later on
 * leaves it for md_slirp_kill(). */
int md_slirp_start(const struct md_net_plan *plan, pid_t init, int init_pidfd, int dir_fd,
                   bool rootless, struct md_slirp *out, md_error *err);
/* Undo md_slirp_start(): SIGKILL, reap, close. */
void md_slirp_kill(struct md_slirp *s);
/* delete: stop the slirp4netns recorded as pid with start_time, if that
 * process still exists (not another one that reused the pid), and wait
 * until it is gone. */
int md_slirp_stop(pid_t pid, uint64_t start_time, md_error *err);

#endif
