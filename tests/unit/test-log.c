/* test-log.c - log levels, text and JSON lines, and the error line. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "error.h"
#include "fixture.h"
#include "log.h"

static char *dir;
static char *logfile;

static void setup(void)
{
    dir = fx_tmpdir();
    logfile = fx_fmt("%s/log", dir);
}

static void teardown(void)
{
    md_log_close();
    fx_rmtree(dir);
    free(logfile);
    free(dir);
}

/* Run fn with stderr sent to a file; return what it wrote there. */
static char *capture_stderr(void (*fn)(void))
{
    char *path = fx_fmt("%s/stderr", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(fd);
    char *text = fx_read(path, NULL);
    free(path);
    return text;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, level_names)
{
    cr_assert_eq(md_log_level_parse("debug"), MD_LOG_DEBUG);
    cr_assert_eq(md_log_level_parse("INFO"), MD_LOG_INFO);
    cr_assert_eq(md_log_level_parse("warn"), MD_LOG_WARNING);
    cr_assert_eq(md_log_level_parse("warning"), MD_LOG_WARNING);
    cr_assert_eq(md_log_level_parse("error"), MD_LOG_ERROR);
    cr_assert_eq(md_log_level_parse("fatal"), MD_LOG_ERROR);
    cr_assert_eq(md_log_level_parse("loud"), -1);
    cr_assert_eq(md_log_level_parse(""), -1);
}

static void log_three(void)
{
    md_debug("debug %d", 1);
    md_warn("careful: %s", "\"quoted\"\ttab");
    md_log_error("it broke");
}

Test(log, json_lines_in_the_log_file)
{
    md_error err = {0};
    cr_assert_eq(md_log_setup(logfile, true, MD_LOG_DEBUG, &err), 0);
    char *stderr_text = capture_stderr(log_three);
    /* With a log file, only the error reaches stderr. */
    cr_assert_str_eq(stderr_text, "mdrun: it broke\n");
    free(stderr_text);
    md_log_close();

    char *text = fx_read(logfile, NULL);
    cr_assert_eq(fx_count_lines(text), 3, "%s", text);
    const char *levels[] = {"debug", "warning", "error"};
    const char *msgs[] = {"debug 1", "careful: \"quoted\"\ttab", "it broke"};
    char *line = text;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        char errbuf[128];
        yajl_val v = yajl_tree_parse(line, errbuf, sizeof(errbuf));
        cr_assert_not_null(v, "not JSON: %s", line);
        const char *msg_path[] = {"msg", NULL}, *level_path[] = {"level", NULL},
                   *time_path[] = {"time", NULL};
        cr_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(v, msg_path, yajl_t_string)), msgs[i]);
        cr_assert_str_eq(YAJL_GET_STRING(yajl_tree_get(v, level_path, yajl_t_string)), levels[i]);
        const char *when = YAJL_GET_STRING(yajl_tree_get(v, time_path, yajl_t_string));
        cr_assert(when && strlen(when) == 30 && when[10] == 'T' && when[29] == 'Z', "%s", when);
        yajl_tree_free(v);
        line = nl + 1;
    }
    free(text);
}

Test(log, text_lines_and_level_filter)
{
    md_error err = {0};
    cr_assert_eq(md_log_setup(logfile, false, MD_LOG_WARNING, &err), 0);
    char *stderr_text = capture_stderr(log_three);
    free(stderr_text);
    md_log_close();
    char *text = fx_read(logfile, NULL);
    cr_assert_eq(fx_count_lines(text), 2, "debug must be filtered out: %s", text);
    cr_assert(strstr(text, " warning: careful: \"quoted\"\ttab\n"), "%s", text);
    cr_assert(strstr(text, " error: it broke\n"), "%s", text);
    free(text);
}

static void warn_only(void)
{
    md_warn("no log file");
}

Test(log, without_a_log_file_warnings_go_to_stderr)
{
    md_error err = {0};
    cr_assert_eq(md_log_setup(NULL, false, MD_LOG_WARNING, &err), 0);
    char *text = capture_stderr(warn_only);
    cr_assert_str_eq(text, "mdrun warning: no log file\n");
    free(text);
}

Test(log, unwritable_log_path_is_an_error)
{
    md_error err = {0};
    char *bad = fx_fmt("%s/missing/dir/log", dir);
    cr_assert_eq(md_log_setup(bad, true, MD_LOG_DEBUG, &err), -1);
    cr_assert(strstr(err.msg, "open log file"), "%s", err.msg);
    cr_assert(strstr(err.msg, "No such file or directory"), "%s", err.msg);
    md_error_clear(&err);
    free(bad);
}

Test(log, errors_wrap_with_context)
{
    md_error err = {0};
    cr_assert_eq(md_fail(&err, 2, "open %s", "/x"), -1);
    cr_assert_eq(md_wrap(&err, "mount %s", "/proc"), -1);
    cr_assert_str_eq(err.msg, "mount /proc: open /x: No such file or directory");
    cr_assert_eq(err.errnum, 2);
    md_error_clear(&err);
    cr_assert_null(err.msg);
    cr_assert_eq(md_fail(&err, 0, "plain"), -1);
    cr_assert_str_eq(err.msg, "plain");
    md_error_clear(&err);
}
