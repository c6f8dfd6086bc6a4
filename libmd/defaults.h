/* defaults.h - STUB, to be written. */
#ifndef MD_DEFAULTS_H
#define MD_DEFAULTS_H
#endif
