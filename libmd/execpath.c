/* execpath.c - resolving process.args[0] the way runc and crun do, with
 * their error messages, which users and tools already recognise. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "error.h"
#include "execpath.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* `exec: "NAME": no such file or directory`: strerror in lower case. */
static char *exec_fail(md_error *err, int errnum, const char *arg0)
{
    char what[128];
    snprintf(what, sizeof(what), "%s", strerror(errnum));
    what[0] = (char)tolower((unsigned char)what[0]);
    md_fail(err, 0, "exec: \"%s\": %s", arg0, what);
    err->errnum = errnum;
    return NULL;
}

/* 0 when path is a regular file with an execute bit, else an errno. */
static int check_executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
        return EACCES;
    return 0;
}

/* The container's PATH: the last PATH= wins, as when each entry is set in
 * turn into the environment. */
static const char *env_path(char *const *env, size_t n_env)
{
    const char *path = NULL;
    for (size_t i = 0; i < n_env; i++)
        if (env[i] && strncmp(env[i], "PATH=", 5) == 0)
            path = env[i] + 5;
    return path ? path : DEFAULT_PATH;
}

static char *search_path(const char *name, const char *path)
{
    for (const char *dir = path;;) {
        const char *end = strchrnul(dir, ':');
        int len = (int)(end - dir);
        char *candidate = NULL;
        /* An empty element is the current directory, as in execvp(3). */
        if (asprintf(&candidate, "%.*s/%s", len ? len : 1, len ? dir : ".", name) < 0)
            return NULL;
        if (check_executable(candidate) == 0)
            return candidate;
        free(candidate);
        if (!*end)
            return NULL;
        dir = end + 1;
    }
}

char *md_find_executable(const char *arg0, char *const *env, size_t n_env, md_error *err)
{
    if (!arg0)
        arg0 = "";
    if (strchr(arg0, '/')) {
        /* Relative names are the kernel's to resolve against the cwd. */
        int e = check_executable(arg0);
        if (e)
            return exec_fail(err, e, arg0);
        char *copy = strdup(arg0);
        if (!copy)
            md_fail(err, ENOMEM, "exec: \"%s\"", arg0);
        return copy;
    }
    char *found = *arg0 ? search_path(arg0, env_path(env, n_env)) : NULL;
    if (!found) {
        md_fail(err, 0, "exec: \"%s\": executable file not found in $PATH", arg0);
        err->errnum = ENOENT;
    }
    return found;
}
