/* state.h - STUB, to be written. */
#ifndef MD_STATE_H
#define MD_STATE_H
#endif
