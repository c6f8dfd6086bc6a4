/* validate.c - STUB, to be written. */
#include "config.h"

#include "validate.h"
