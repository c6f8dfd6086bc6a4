/* cmd-ps.c - `mdrun ps [--format table|json] ID [PS-ARGS...]`. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "container.h"
#include "error.h"

static const char help[] =
    "Usage: mdrun ps [OPTIONS] CONTAINER-ID [PS-OPTIONS...]\n"
    "\n"
    "List the processes of a container: as a JSON array of pids, or as ps(1)\n"
    "prints them (PS-OPTIONS, default -ef), keeping the container's lines only.\n"
    "\n"
    "Options:\n"
    "  -f, --format table|json   output format (default table)\n"
    "  -h, --help                print this help\n";

static int print_json(const pid_t *pids, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)pids[i]);
    puts("]");
    return 0;
}

static bool listed(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

/* Run ps with the given options and keep the header and the lines whose
 * PID column names one of pids, as runc does. */
static int print_table(const pid_t *pids, size_t n, int argc, char **argv)
{
    char **args = calloc((size_t)argc + 3, sizeof(char *));
    if (!args)
        return 1;
    args[0] = "ps";
    int k = 1;
    if (argc == 0)
        args[k++] = "-ef";
    for (int i = 0; i < argc; i++)
        args[k++] = argv[i];
    int fds[2];
    if (pipe(fds) < 0) {
        free(args);
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp("ps", args);
        fprintf(stderr, "mdrun: exec ps: %s\n", strerror(errno));
        _exit(127);
    }
    free(args);
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char line[4096];
    int pid_column = -1;
    while (in && fgets(line, sizeof(line), in)) {
        if (pid_column < 0) {
            /* The header tells which column is PID. */
            char copy[4096];
            snprintf(copy, sizeof(copy), "%s", line);
            int col = 0;
            for (char *tok = strtok(copy, " \t\n"); tok; tok = strtok(NULL, " \t\n"), col++)
                if (strcmp(tok, "PID") == 0)
                    pid_column = col;
            fputs(line, stdout);
            if (pid_column < 0)
                pid_column = 1;
            continue;
        }
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", line);
        char *tok = strtok(copy, " \t\n");
        for (int col = 0; tok && col < pid_column; col++)
            tok = strtok(NULL, " \t\n");
        if (tok && listed(pids, n, strtol(tok, NULL, 10)))
            fputs(line, stdout);
    }
    if (in)
        fclose(in);
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int cmd_ps(const struct md_globals *g, int argc, char **argv)
{
    static const struct option options[] = {{"format", required_argument, NULL, 'f'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "+f:h", options, NULL)) != -1) {
        if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
            json = strcmp(optarg, "json") == 0;
        else if (c == 'f')
            return cli_usage_error(argv[0], "--format: \"%s\" is not table or json", optarg);
        else
            return c == 'h' ? cli_help(help) : cli_bad_option(argv[0]);
    }
    if (optind >= argc)
        return cli_usage_error(argv[0], "a container id is required");
    const char *id = argv[optind++];
    if (json && optind < argc)
        return cli_usage_error(argv[0], "ps options only go with --format table");
    md_error err = {0};
    pid_t *pids = NULL;
    size_t n = 0;
    if (md_container_pids(g->root, id, &pids, &n, &err) < 0)
        return cli_fail(&err);
    int rc = json ? print_json(pids, n) : print_table(pids, n, argc - optind, argv + optind);
    free(pids);
    return rc;
}
