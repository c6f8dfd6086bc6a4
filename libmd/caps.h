/* caps.h - the five capability sets of process.capabilities, through
 * libcap. */
#ifndef MD_CAPS_H
#define MD_CAPS_H

#include "spec.h"

/* Drop from the bounding set every capability not in caps->bounding.
 * Needs CAP_SETPCAP, so it runs before the user switch.  caps NULL: keep
 * them all.  Asking for one mdrun's own bounding set lacks is a warning. */
int md_caps_drop_bounding(const md_capabilities *caps, md_error *err);

/* Set effective, permitted and inheritable to exactly caps' lists, then
 * raise the ambient ones.  Runs after the user switch (with PR_SET_KEEPCAPS
 * so permitted survives it).  caps NULL: leave them as they are.  Names this
 * kernel or libcap does not know, and capabilities that cannot be granted
 * (not in mdrun's own permitted set, effective outside permitted, ambient
 * outside permitted and inheritable), are skipped with a warning, as the
 * spec asks. */
int md_caps_apply(const md_capabilities *caps, md_error *err);

#endif
