/* harness.h - STUB */
