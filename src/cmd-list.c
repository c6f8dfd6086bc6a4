/* cmd-list.c - STUB, to be written. */
#include "config.h"

#include "cli.h"

int cmd_list(const struct md_globals *g, int argc, char **argv)
{
    return 1;
}
