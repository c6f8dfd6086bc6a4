/* log.c - text and JSON-lines logging to stderr or a log file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "fileio.h"
#include "log.h"

static struct {
    int fd;        /* the --log file, or -1 */
    int stderr_fd; /* where "mdrun: ..." lines go */
    bool json;
    enum md_log_level level;
} logcfg = {.fd = -1, .stderr_fd = STDERR_FILENO, .json = false, .level = MD_LOG_WARNING};

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int md_log_level_parse(const char *name)
{
    static const struct {
        const char *name;
        enum md_log_level level;
    } names[] = {
        {"panic", MD_LOG_ERROR},  {"fatal", MD_LOG_ERROR},     {"error", MD_LOG_ERROR},
        {"warn", MD_LOG_WARNING}, {"warning", MD_LOG_WARNING}, {"info", MD_LOG_INFO},
        {"debug", MD_LOG_DEBUG},  {"trace", MD_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i].name) == 0)
            return (int)names[i].level;
    return -1;
}

int md_log_setup(const char *path, bool json, enum md_log_level level, md_error *err)
{
    logcfg.json = json;
    logcfg.level = level;
    if (path && *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return md_fail(err, errno, "open log file %s", path);
        md_log_close();
        logcfg.fd = fd;
    }
    return 0;
}

enum md_log_level md_log_get_level(void)
{
    return logcfg.level;
}

void md_log_set_stderr(int fd)
{
    logcfg.stderr_fd = fd;
}

int md_log_fd(void)
{
    return logcfg.fd;
}

void md_log_close(void)
{
    if (logcfg.fd >= 0)
        close(logcfg.fd);
    logcfg.fd = -1;
}

/* Not strftime(3): it calls tzset(), which reads /etc/localtime (six
 * system calls on every `create`) for a time printed in UTC anyway. */
void md_timestamp_now(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* One JSON line {"msg":..., "level":..., "time":...}, escaped by yajl. */
static void write_json(int fd, enum md_log_level level, const char *msg)
{
    char when[64];
    md_timestamp_now(when, sizeof(when));
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return;
    yajl_gen_map_open(g);
    yajl_gen_string(g, (const unsigned char *)"msg", 3);
    yajl_gen_string(g, (const unsigned char *)msg, strlen(msg));
    yajl_gen_string(g, (const unsigned char *)"level", 5);
    yajl_gen_string(g, (const unsigned char *)level_names[level], strlen(level_names[level]));
    yajl_gen_string(g, (const unsigned char *)"time", 4);
    yajl_gen_string(g, (const unsigned char *)when, strlen(when));
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t len;
    if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        md_write_all(fd, buf, len);
        md_write_all(fd, "\n", 1);
    }
    yajl_gen_free(g);
}

static void write_text(int fd, enum md_log_level level, const char *msg, bool with_time)
{
    char line[4096];
    char when[64] = "";
    if (with_time)
        md_timestamp_now(when, sizeof(when));
    int n = snprintf(line, sizeof(line), "%s%s%s: %s\n", when, with_time ? " " : "mdrun ",
                     level_names[level], msg);
    if (n > 0)
        md_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void emit(enum md_log_level level, const char *msg, bool also_stderr)
{
    int saved = errno;
    if (logcfg.fd >= 0) {
        if (logcfg.json)
            write_json(logcfg.fd, level, msg);
        else
            write_text(logcfg.fd, level, msg, true);
    }
    if (also_stderr)
        write_text(logcfg.stderr_fd, level, msg, false);
    errno = saved;
}

void md_log(enum md_log_level level, const char *fmt, ...)
{
    if (level > logcfg.level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Warnings and debug output go to the log file when there is one, so
     * that a caller parsing our stderr only ever sees errors there. */
    emit(level, msg, logcfg.fd < 0);
}

void md_log_error(const char *msg)
{
    int saved = errno;
    if (logcfg.fd >= 0) {
        if (logcfg.json)
            write_json(logcfg.fd, MD_LOG_ERROR, msg);
        else
            write_text(logcfg.fd, MD_LOG_ERROR, msg, true);
    }
    char line[4096];
    int n = snprintf(line, sizeof(line), "mdrun: %s\n", msg);
    if (n > 0)
        md_write_all(logcfg.stderr_fd, line,
                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    errno = saved;
}
