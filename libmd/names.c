/* names.c - STUB, to be written. */
#include "config.h"

#include "names.h"
