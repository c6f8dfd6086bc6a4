/* test-state.c - STUB, to be written. */
#include <criterion/criterion.h>

#include "fixture.h"
