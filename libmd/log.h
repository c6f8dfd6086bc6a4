/* log.h - diagnostics as text lines or JSON lines ({"msg","level","time"}),
 * the format Podman and conmon read from `--log FILE --log-format json`. */
#ifndef MD_LOG_H
#define MD_LOG_H

#include <stdbool.h>

#include "error.h"

enum md_log_level { MD_LOG_ERROR, MD_LOG_WARNING, MD_LOG_INFO, MD_LOG_DEBUG };

/* Parse "error", "warn", "warning", "info", "debug" (and runc's "fatal",
 * "panic", which mean error).  Returns -1 for anything else. */
int md_log_level_parse(const char *name);

/* Configure logging.  path NULL logs to stderr only; json selects JSON
 * lines.  Messages above level are dropped. */
int md_log_setup(const char *path, bool json, enum md_log_level level, md_error *err);
enum md_log_level md_log_get_level(void);

void md_log(enum md_log_level level, const char *fmt, ...) MD_PRINTF(2, 3);

#define md_debug(...) md_log(MD_LOG_DEBUG, __VA_ARGS__)
#define md_info(...)  md_log(MD_LOG_INFO, __VA_ARGS__)
#define md_warn(...)  md_log(MD_LOG_WARNING, __VA_ARGS__)

/* Report a fatal error: one line "mdrun: <msg>" on stderr and, when a log
 * file is configured, an error record there too. */
void md_log_error(const char *msg);

/* Send what would go to stderr to fd instead: the container process does
 * so before its stderr becomes the container's terminal. */
void md_log_set_stderr(int fd);

/* Close the log file (before exec, or at exit). */
void md_log_close(void);
/* The log file's fd, -1 when none (children keep it to report errors). */
int md_log_fd(void);

/* Now in RFC 3339, UTC, with nanoseconds: 2026-11-23T09:15:21.123456789Z. */
void md_timestamp_now(char *buf, size_t size);

#endif
