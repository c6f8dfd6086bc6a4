/* safepath.h - opening and creating paths inside a root filesystem so
 * that no symlink, "..", or magic link in a hostile image can lead
 * outside it (CVE-2018-15664-style escapes).  Every mount target is opened
 * here and mounted onto /proc/self/fd/N. */
#ifndef MD_SAFEPATH_H
#define MD_SAFEPATH_H

#include <stdbool.h>

#include "mdrun.h"

/* What md_mkpath_in_root() creates for the last component when missing. */
enum md_path_kind { MD_PATH_DIR, MD_PATH_FILE };

/* Open path (absolute or not, always taken inside the root) relative to
 * rootfd, resolving symlinks as if rootfd were "/".  flags are open(2)
 * flags (O_PATH for a mount target); O_CLOEXEC and O_NOCTTY are added.
 * Returns the new fd, or -1 with err set (errnum ENOENT when missing). */
int md_open_in_root(int rootfd, const char *path, int flags, md_error *err);

/* As md_open_in_root(), creating what is missing: directories (mode 0755)
 * for every component but the last, which becomes kind.  An existing last
 * component of another kind is an error.  Returns an O_PATH fd. */
int md_mkpath_in_root(int rootfd, const char *path, enum md_path_kind kind, md_error *err);

/* "/proc/self/fd/N" for fd, in buf (at least 32 bytes); returns buf. */
char *md_fd_path(int fd, char *buf);

/* Tests only: resolve without openat2(2) even where the kernel has it,
 * so the fallback resolver is exercised.
 *
 * Test hook: the environment variable MDRUN_TEST_NO_OPENAT2=1 does the
 * same for a whole mdrun process and the container processes it forks,
 * so that the integration tests run the hostile bundles through the
 * fallback too.  It only makes resolution slower, never less strict; it
 * is not meant for users and is not documented elsewhere. */
void md_safepath_force_fallback(bool on);

#endif
