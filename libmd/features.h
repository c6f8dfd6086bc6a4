/* features.h - what this build of mdrun implements: `mdrun features` and
 * the feature line of `mdrun --version`. */
#ifndef MD_FEATURES_H
#define MD_FEATURES_H

#include "mdrun.h"

/* The runtime-spec features JSON (features.md); caller frees. */
int md_features_json(char **json, size_t *len, md_error *err);
/* One line such as "+YAJL +CAP", naming the features compiled in. */
const char *md_compiled_features(void);

#endif
