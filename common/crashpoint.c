/*
 * crashpoint.c - named points where a test may have the process killed
 *                or paused (crashpoint.h)
 *
 * SPDX-License-Identifier: MIT
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/crashpoint.h"
#include "common/log.h"

static char crash_name[CRASHPOINT_NAME_MAX + 1];
static unsigned long crash_at;
static unsigned long crash_seen;
static unsigned long crash_pause_ms; /* 0: SIGKILL; else pause this long */

void
crashpoint_init(void)
{
    const char *v = getenv("VIGIL_CRASHPOINT");
    const char *colon;
    size_t n;

    if (v == NULL || v[0] == '\0')
        return;
    colon = strchr(v, ':');
    n = colon != NULL ? (size_t)(colon - v) : strlen(v);
    if (n == 0 || n > CRASHPOINT_NAME_MAX) {
        log_warnx("VIGIL_CRASHPOINT ignored: expected NAME[:N[:MS]]");
        return;
    }
    memcpy(crash_name, v, n);
    crash_name[n] = '\0';
    crash_at = colon != NULL ? strtoul(colon + 1, NULL, 10) : 1;
    if (crash_at == 0)
        crash_at = 1;
    if (colon != NULL && (colon = strchr(colon + 1, ':')) != NULL)
        crash_pause_ms = strtoul(colon + 1, NULL, 10);
    if (crash_pause_ms > 0)
        log_warnx("VIGIL_CRASHPOINT: this process pauses %lu ms at crash "
                  "point '%s' (time %lu): for tests only",
            crash_pause_ms, crash_name, crash_at);
    else
        log_warnx("VIGIL_CRASHPOINT: this process kills itself at crash "
                  "point '%s' (time %lu): for crash tests only",
            crash_name, crash_at);
}

void
crashpoint(const char *name)
{
    if (crash_name[0] == '\0' || strcmp(name, crash_name) != 0)
        return;
    if (__atomic_add_fetch(&crash_seen, 1, __ATOMIC_SEQ_CST) != crash_at)
        return;
    if (crash_pause_ms == 0)
        (void)raise(SIGKILL);
    else {
        struct timespec ts = { .tv_sec = (time_t)(crash_pause_ms / 1000),
            .tv_nsec = (long)(crash_pause_ms % 1000) * 1000000L };

        log_warnx("crash point '%s': pausing %lu ms", name, crash_pause_ms);
        while (nanosleep(&ts, &ts) == -1)
            ;
    }
}
