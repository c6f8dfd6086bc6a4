/* test-cli.c - STUB, to be written. */
#include <criterion/criterion.h>

#include "fixture.h"
#include "integration/harness.h"
