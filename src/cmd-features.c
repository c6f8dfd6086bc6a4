/* cmd-features.c - STUB, to be written. */
#include "config.h"

#include "cli.h"

int cmd_features(const struct md_globals *g, int argc, char **argv)
{
    return 1;
}
