/* cmd-validate.c - STUB, to be written. */
#include "config.h"

#include "cli.h"

int cmd_validate(const struct md_globals *g, int argc, char **argv)
{
    return 1;
}
