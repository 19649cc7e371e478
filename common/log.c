/*
 * log.c - logging to stderr or syslog
 *
 * Called from every process; not thread-safe beyond what stdio and
 * syslog give (Vigil's daemons are single-threaded).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "common/log.h"

static const char *log_progname = "vigil";
static bool log_foreground = true;
static int log_verbose;

void
log_init(const char *progname, bool foreground)
{
    log_progname = progname;
    log_foreground = foreground;
    if (!foreground)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int level)
{
    log_verbose = level;
}

PRINTF_LIKE(3, 0)
static void
log_vwrite(int pri, const char *errstr, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (log_foreground) {
        struct timespec ts;
        struct tm tm;
        char when[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        (void)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
        if (errstr != NULL)
            fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", when,
                ts.tv_nsec / 1000000, log_progname, msg, errstr);
        else
            fprintf(stderr, "%s.%03ldZ %s: %s\n", when, ts.tv_nsec / 1000000,
                log_progname, msg);
        (void)fflush(stderr);
    } else if (errstr != NULL) {
        syslog(pri, "%s: %s", msg, errstr);
    } else {
        syslog(pri, "%s", msg);
    }
}

#define LOG_BODY(pri, errstr)                                                  \
    do {                                                                       \
        va_list ap;                                                            \
        va_start(ap, fmt);                                                     \
        log_vwrite((pri), (errstr), fmt, ap);                                  \
        va_end(ap);                                                            \
    } while (0)

void
log_warn(const char *fmt, ...)
{
    const char *e = strerror(errno);

    LOG_BODY(LOG_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
    LOG_BODY(LOG_WARNING, NULL);
}

void
log_info(const char *fmt, ...)
{
    LOG_BODY(LOG_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
    if (log_verbose < 1)
        return;
    LOG_BODY(LOG_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
    const char *e = strerror(errno);

    LOG_BODY(LOG_CRIT, e);
    exit(1);
}

void
fatalx(const char *fmt, ...)
{
    LOG_BODY(LOG_CRIT, NULL);
    exit(1);
}
