/* execpath.h - resolving process.args[0] in the container as runc and crun
 * do: a name with a '/' is taken as is (relative ones against the cwd), a
 * bare name is searched in the PATH of the container's environment. */
#ifndef MD_EXECPATH_H
#define MD_EXECPATH_H

#include <stddef.h>

#include "mdrun.h"

/* Returns a new string with the path to execve(2), or NULL with err set:
 * `exec: "NAME": executable file not found in $PATH` and the like. */
char *md_find_executable(const char *arg0, char *const *env, size_t n_env, md_error *err);

#endif
