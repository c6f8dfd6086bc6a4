/* create-opts.h - the options `create` and `run` share. */
#ifndef MD_CREATE_OPTS_H
#define MD_CREATE_OPTS_H

#include <stdbool.h>

#include "container.h"

#define MD_CREATE_OPTIONS_HELP                                                         \
    "  -b, --bundle DIR           the bundle directory (default: the current one)\n"   \
    "      --console-socket PATH  send the terminal's master to this AF_UNIX socket\n" \
    "      --pid-file FILE        write the container's pid to FILE\n"                 \
    "      --preserve-fds N       pass N more fds (3 .. 3+N-1) to the container\n"     \
    "      --no-pivot             use MS_MOVE and chroot instead of pivot_root\n"      \
    "      --no-new-keyring       keep mdrun's session keyring\n"                      \
    "      --net NETWORK          slirp4netns (a user-mode network) or none\n"         \
    "  -p, --publish [IP:]HOSTPORT:PORT[/tcp|udp]\n"                                   \
    "                             publish a container port on the host (repeatable)\n"

/* Parse argv into opts.  Returns -1 to go on, 2 for --help, or an exit
 * status (1) after printing a usage error.  With run true, -d/--detach is
 * accepted and stored in *detach. */
int md_create_opts_parse(int argc, char **argv, struct md_create_opts *opts, bool run,
                         bool *detach);

#endif
