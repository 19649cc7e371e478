/*
 * utctime.c - ISO 8601 UTC times with milliseconds: parse and format
 *
 * Used by vigilctl for --from/--to and for every time it prints. The
 * parser checks each field against the calendar itself and converts with
 * a closed-form day count, so it does not depend on timegm() (a GNU/BSD
 * extension that silently normalizes "February 31" into March).
 *
 * Invariants:
 *  - a date is accepted only if the day exists in that month of that
 *    year; nothing is normalized.
 *
 * See also: utctime.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/utctime.h"

#define UTCTIME_MIN_YEAR 1970

bool
utctime_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
utctime_days_in_month(int y, int mo)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
        31 };

    if (mo < 1 || mo > 12)
        return 0;
    if (mo == 2 && utctime_is_leap(y))
        return 29;
    return days[mo - 1];
}

/* Days from 1970-01-01 to y-mo-d of the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil); the date must be valid and y >= 1970. */
static uint64_t
utctime_days_from_civil(int y, int mo, int d)
{
    int era, yoe, doy, doe;

    y -= mo <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (uint64_t)era * 146097 + (uint64_t)doe - 719468;
}

/* Read exactly `n` decimal digits at *s into *out and advance *s. */
static int
utctime_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return ERR_INVAL;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int
utctime_parse_ms(const char *s, uint64_t *out)
{
    uint64_t v;
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return ERR_INVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return ERR_INVAL;
    *out = v;
    return 0;
}

/* Expect character `c` at *s and step over it. */
static int
utctime_expect(const char **s, char c)
{
    if (**s != c)
        return ERR_INVAL;
    (*s)++;
    return 0;
}

int
utctime_parse(const char *s, uint64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;

    if (strchr(s, '-') == NULL)
        return utctime_parse_ms(s, out);
    if (utctime_digits(&s, 4, &y) != 0 || utctime_expect(&s, '-') != 0 ||
        utctime_digits(&s, 2, &mo) != 0 || utctime_expect(&s, '-') != 0 ||
        utctime_digits(&s, 2, &d) != 0)
        return ERR_INVAL;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (utctime_digits(&s, 2, &h) != 0 || utctime_expect(&s, ':') != 0 ||
            utctime_digits(&s, 2, &mi) != 0)
            return ERR_INVAL;
        if (*s == ':') {
            s++;
            if (utctime_digits(&s, 2, &sec) != 0)
                return ERR_INVAL;
            if (*s == '.') {
                int k = 0;

                s++;
                while (*s >= '0' && *s <= '9' && k < 3) {
                    ms = ms * 10 + (*s++ - '0');
                    k++;
                }
                if (k == 0)
                    return ERR_INVAL;
                while (k++ < 3)
                    ms *= 10;
            }
        }
        if (*s == 'Z')
            s++;
    }
    if (*s != '\0')
        return ERR_INVAL;
    if (y < UTCTIME_MIN_YEAR || d < 1 || d > utctime_days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 59)
        return ERR_INVAL;
    *out = ((utctime_days_from_civil(y, mo, d) * 24 + (uint64_t)h) * 60 +
               (uint64_t)mi) *
            60000 +
        (uint64_t)sec * 1000 + (uint64_t)ms;
    return 0;
}

void
utctime_format(uint64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if ((uint64_t)t != ms / 1000 || gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "%" PRIu64, ms);
        return;
    }
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, (unsigned)(ms % 1000));
}
