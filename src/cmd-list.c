/* cmd-list.c - `mdrun list`: the containers in the state root, as a
 * table (like runc's), as ids only, or as a JSON array. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "spec.h"
#include "state.h"

static const char help[] = "Usage: mdrun list [OPTIONS]\n"
                           "\n"
                           "List the containers in the state root.\n"
                           "\n"
                           "Options:\n"
                           "  -q, --quiet          print the container ids only\n"
                           "  -f, --format FORMAT  table (default) or json\n"
                           "  -h, --help           print this help and exit\n";

static const struct option options[] = {
    {"quiet", no_argument, NULL, 'q'},
    {"format", required_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

enum format { TABLE, JSON, QUIET };

/* Every container that still exists once read; one that vanished (deleted
 * meanwhile) is left out. */
static int load_all(int rootfd, md_state_info **out, size_t *n, md_error *err)
{
    char **ids = NULL;
    size_t n_ids = 0;
    if (md_state_list(rootfd, &ids, &n_ids, err) < 0)
        return -1;
    md_state_info *infos = n_ids ? calloc(n_ids, sizeof(*infos)) : NULL;
    if (n_ids && !infos) {
        md_strv_free(ids, n_ids);
        return md_fail(err, ENOMEM, "list containers");
    }
    size_t kept = 0;
    for (size_t i = 0; i < n_ids; i++) {
        md_error skip = {0};
        if (md_state_load(rootfd, ids[i], &infos[kept], &skip) == 0)
            kept++;
        else
            md_debug("list: skipping %s: %s", ids[i], skip.msg);
        md_error_clear(&skip);
    }
    md_strv_free(ids, n_ids);
    *out = infos;
    *n = kept;
    return 0;
}

static void free_all(md_state_info *infos, size_t n)
{
    for (size_t i = 0; i < n; i++)
        md_state_info_free(&infos[i]);
    free(infos);
}

static int print_json(const md_state_info *infos, size_t n)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return -1;
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        md_state_json_gen(g, &infos[i]);
    yajl_gen_array_close(g);
    const unsigned char *buf;
    size_t len;
    int rc = -1;
    if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        fwrite(buf, 1, len, stdout);
        fputc('\n', stdout);
        rc = 0;
    }
    yajl_gen_free(g);
    return rc;
}

#define COLUMNS 6

/* The cells of one row; owner is the user name or the uid. */
struct row {
    char pid[16];
    char owner[256];
    const char *cell[COLUMNS];
};

static void fill_row(const md_state_info *info, struct row *r)
{
    snprintf(r->pid, sizeof(r->pid), "%d", (int)md_state_info_pid(info));
    md_state_owner_name(info->rec.owner, r->owner, sizeof(r->owner));
    r->cell[0] = info->rec.id;
    r->cell[1] = r->pid;
    r->cell[2] = md_status_name(info->status);
    r->cell[3] = info->rec.bundle ? info->rec.bundle : "";
    r->cell[4] = info->rec.created ? info->rec.created : "";
    r->cell[5] = r->owner;
}

static void print_row(const char *const *cells, const size_t *width)
{
    for (int c = 0; c < COLUMNS - 1; c++)
        printf("%-*s", (int)width[c], cells[c]);
    printf("%s\n", cells[COLUMNS - 1]);
}

/* Columns as runc aligns them: at least 12 wide, 3 spaces of padding. */
static int print_table(const md_state_info *infos, size_t n)
{
    static const char *const header[COLUMNS] = {"ID",     "PID",     "STATUS",
                                                "BUNDLE", "CREATED", "OWNER"};
    struct row *rows = n ? calloc(n, sizeof(*rows)) : NULL;
    if (n && !rows)
        return -1;
    size_t width[COLUMNS];
    for (int c = 0; c < COLUMNS; c++)
        width[c] = strlen(header[c]);
    for (size_t i = 0; i < n; i++) {
        fill_row(&infos[i], &rows[i]);
        for (int c = 0; c < COLUMNS; c++)
            if (strlen(rows[i].cell[c]) > width[c])
                width[c] = strlen(rows[i].cell[c]);
    }
    for (int c = 0; c < COLUMNS; c++)
        width[c] = width[c] + 3 < 12 ? 12 : width[c] + 3;
    print_row(header, width);
    for (size_t i = 0; i < n; i++)
        print_row(rows[i].cell, width);
    free(rows);
    return 0;
}

static int parse_args(int argc, char **argv, enum format *format)
{
    int c;
    bool quiet = false;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+qf:h", options, NULL)) != -1) {
        switch (c) {
        case 'q':
            quiet = true;
            break;
        case 'f':
            if (strcmp(optarg, "table") == 0)
                *format = TABLE;
            else if (strcmp(optarg, "json") == 0)
                *format = JSON;
            else
                return cli_usage_error(argv[0], "--format: \"%s\" is not table or json", optarg);
            break;
        case 'h':
            cli_help(help);
            return 0;
        default:
            return cli_usage_error(argv[0], "unknown or incomplete option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(argv[0], "unexpected argument \"%s\"", argv[optind]);
    if (quiet)
        *format = QUIET;
    return -1;
}

int cmd_list(const struct md_globals *g, int argc, char **argv)
{
    enum format format = TABLE;
    int rc = parse_args(argc, argv, &format);
    if (rc >= 0)
        return rc;

    md_error err = {0};
    md_autofree char *root = NULL;
    md_autofd rootfd = -1;
    if (md_state_root_open(g->root, false, &root, &rootfd, &err) < 0)
        return cli_fail(&err);
    md_state_info *infos = NULL;
    size_t n = 0;
    if (load_all(rootfd, &infos, &n, &err) < 0)
        return cli_fail(&err);
    if (format == QUIET) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", infos[i].rec.id);
        rc = 0;
    } else {
        rc = format == JSON ? print_json(infos, n) : print_table(infos, n);
    }
    free_all(infos, n);
    if (rc < 0) {
        fputs("mdrun: list: out of memory\n", stderr);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
