/* state.c - STUB, to be written. */
#include "config.h"

#include "state.h"
