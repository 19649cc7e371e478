/*
 * log.h - logging to stderr or syslog
 *
 * The only global state in libcommon. Messages start lower-case, have no
 * trailing full stop and quote their subject: "cannot open '%s'".
 * Personal data never reaches a log line: log opaque ids or hashes.
 * Audit records are not log lines (see audit.h).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>

#include "common/compiler.h"

/*
 * Start logging as `progname`: to stderr when `foreground`, else to
 * syslog (LOG_DAEMON). `progname` must be static.
 */
void log_init(const char *progname, bool foreground);

/* Set verbosity: 0 warnings and info, 1 adds debug. */
void log_setverbose(int level);

/* Log a warning with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Log a warning. */
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Log an informational message. */
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Log a debug message (only when verbose). */
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Log with strerror(errno) and exit(1). */
NORETURN void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Log and exit(1). */
NORETURN void fatalx(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
