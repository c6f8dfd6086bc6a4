/* cmd-state.c - STUB, to be written. */
#include "config.h"

#include "cli.h"

int cmd_state(const struct md_globals *g, int argc, char **argv)
{
    return 1;
}
