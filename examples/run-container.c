/* run-container.c - run a container with libmdrun and print its exit code.
 *
 * Usage: run-container [--root DIR] BUNDLE ID
 *
 * The same as `mdrun [--root DIR] run --bundle BUNDLE ID`, written against
 * the installed library only:
 *
 *   cc run-container.c $(pkg-config --cflags --libs mdrun) -o run-container
 *
 * It prints "ID exited with N" on stdout and exits with the container's
 * exit code, or prints the error and exits with 125 when the container
 * could not be run.
 */
#include <stdio.h>
#include <string.h>

/* Quoted, so that make check finds the source tree's (installed, it is
 * found through pkg-config's -I as well). */
#include "mdrun.h"

int main(int argc, char **argv)
{
    struct md_run_opts opts = {0};
    int arg = 1;
    if (argc > 2 && strcmp(argv[1], "--root") == 0) {
        opts.root = argv[2];
        arg = 3;
    }
    if (argc - arg != 2) {
        fprintf(stderr, "usage: %s [--root DIR] BUNDLE ID\n", argv[0]);
        return 125;
    }
    opts.bundle = argv[arg];
    opts.id = argv[arg + 1];

    md_error err = {0};
    /* Before anything else: this re-executes the program from a sealed
     * copy, and main() starts again. */
    if (md_protect_exe(argv, &err) < 0) {
        fprintf(stderr, "run-container: %s\n", md_error_message(&err));
        md_error_clear(&err);
        return 125;
    }

    int code = 0;
    if (md_run(&opts, &code, &err) < 0) {
        fprintf(stderr, "run-container: %s\n", md_error_message(&err));
        md_error_clear(&err);
        return 125;
    }
    printf("%s exited with %d\n", opts.id, code);
    return code;
}
