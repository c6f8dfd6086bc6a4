/* cli.c - error and help printing shared by the command files. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "log.h"

int cli_fail(md_error *err)
{
    md_log_error(err->msg ? err->msg : "unknown error");
    md_error_clear(err);
    return 1;
}

int cli_fail_all(const md_errors *problems, bool prefix)
{
    for (size_t i = 0; i < problems->n; i++) {
        if (prefix)
            md_log_error(problems->msgs[i]);
        else
            fprintf(stderr, "%s\n", problems->msgs[i]);
    }
    if (problems->dropped > 0)
        fprintf(stderr, "%s%zu more errors not shown\n", prefix ? "mdrun: " : "",
                problems->dropped);
    return 1;
}

int cli_usage_error(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", name);
    return 1;
}

int cli_bad_option(const char *name)
{
    fprintf(stderr, "Try '%s --help'.\n", name);
    return 1;
}

int cli_help(const char *text)
{
    fputs(text, stdout);
    return 0;
}

char *cli_bundle_path(const char *bundle, md_error *err)
{
    char *abs = realpath(bundle ? bundle : ".", NULL);
    if (!abs)
        md_fail(err, errno, "bundle %s", bundle ? bundle : ".");
    return abs;
}
