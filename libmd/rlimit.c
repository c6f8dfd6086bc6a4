/* rlimit.c - process.rlimits, set by the parent on the container process. */
#include "config.h"

#include <errno.h>
#include <sys/resource.h>

#include "error.h"
#include "names.h"
#include "rlimit.h"

int md_rlimits_apply(pid_t pid, const md_rlimit *rlimits, size_t n, md_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const md_rlimit *r = &rlimits[i];
        uint64_t resource;
        if (md_name_lookup(&md_rlimit_names, r->type, &resource) < 0)
            return md_fail(err, 0, "unknown rlimit \"%s\"", r->type ? r->type : "");
        /* rlim_t is 64 bits and RLIM_INFINITY is its all-ones value, the
         * spec's 18446744073709551615. */
        struct rlimit lim = {.rlim_cur = (rlim_t)r->soft, .rlim_max = (rlim_t)r->hard};
        if (prlimit(pid, (int)resource, &lim, NULL) < 0)
            return md_fail(err, errno, "rlimit %s %llu/%llu", r->type, (unsigned long long)r->soft,
                           (unsigned long long)r->hard);
    }
    return 0;
}
