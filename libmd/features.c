/* features.c - STUB, to be written. */
#include "config.h"

#include <errno.h>

#include "error.h"
#include "features.h"

const char *md_version(void)
{
    return PACKAGE_VERSION;
}

const char *md_oci_version(void)
{
    return MD_OCI_VERSION;
}

const char *md_compiled_features(void)
{
    return "";
}

int md_features_json(char **json, size_t *len, md_error *err)
{
    return md_fail(err, ENOSYS, "features");
}
