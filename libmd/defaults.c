/* defaults.c - STUB, to be written. */
#include "config.h"

#include "defaults.h"
