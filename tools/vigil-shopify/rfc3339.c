/*
 * rfc3339.c - RFC 3339 timestamps with an offset to milliseconds UTC
 *
 * Checks the syntax position by position, rewrites the local date and
 * time as the UTC form common/utctime parses (which checks the calendar),
 * then subtracts the offset. Called for every time field topics.c reads
 * and for X-Shopify-Triggered-At.
 *
 * Invariants:
 *  - every accepted string has exactly the shape of rfc3339.h.
 *
 * See also: rfc3339.h, common/utctime.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/utctime.h"
#include "tools/vigil-shopify/rfc3339.h"

#define RFC3339_MAX_FRACTION 9

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Two digits at s[0..2) as a number, or -1. */
static int
two(const char *s)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int
rfc3339_parse(const char *s, uint64_t *ms)
{
    /* "YYYY-MM-DDThh:mm:ss": every position checked below. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    char utc[UTCTIME_TEXT_MAX];
    char frac[4] = "000";
    const char *p;
    uint64_t local, off_ms = 0;
    bool east = true;
    int i, n = 0, oh, om;

    for (i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd') {
            if (!is_digit(s[i]))
                return ERR_INVAL;
        } else if (shape[i] == 'T') {
            if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
                return ERR_INVAL;
        } else if (s[i] != shape[i]) {
            return ERR_INVAL;
        }
    }
    p = s + i;
    if (*p == '.') {
        for (p++; is_digit(*p); p++, n++) {
            if (n >= RFC3339_MAX_FRACTION)
                return ERR_INVAL;
            if (n < 3)
                frac[n] = *p;
        }
        if (n == 0)
            return ERR_INVAL;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        east = *p == '+';
        oh = two(p + 1);
        om = two(p + 4);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return ERR_INVAL;
        off_ms = ((uint64_t)oh * 60 + (uint64_t)om) * 60000;
    } else {
        return ERR_INVAL;
    }
    /* The local time as utctime's own UTC form: it checks the day, the
     * hour, the minute and the second (no 60: POSIX time has no leap
     * second) and converts. */
    (void)snprintf(utc, sizeof(utc), "%.10sT%.8s.%sZ", s, s + 11, frac);
    if (utctime_parse(utc, &local) != 0)
        return ERR_INVAL;
    if (east) {
        if (local < off_ms)
            return ERR_INVAL;
        *ms = local - off_ms;
    } else {
        *ms = local + off_ms;
    }
    return 0;
}
