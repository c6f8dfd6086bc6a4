/* harness.c - STUB */
