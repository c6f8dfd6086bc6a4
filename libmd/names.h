/* names.h - STUB, to be written. */
#ifndef MD_NAMES_H
#define MD_NAMES_H
#endif
