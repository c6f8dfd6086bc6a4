/* defaults.h - the default config.json of `mdrun spec`.
 *
 * The one entry point, md_spec_default(), is public and declared in
 * mdrun.h; this header only gathers what defaults.c needs. */
#ifndef MD_DEFAULTS_H
#define MD_DEFAULTS_H

#include "mdrun.h"

#endif
