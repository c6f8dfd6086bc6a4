/* validate.h - STUB, to be written. */
#ifndef MD_VALIDATE_H
#define MD_VALIDATE_H
#endif
