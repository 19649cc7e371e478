/*
 * utctime.h - ISO 8601 UTC times with milliseconds: parse and format
 *
 * The audit records carry wall-clock times as milliseconds since
 * 1970-01-01T00:00:00Z (POSIX time: no leap seconds). `vigilctl` prints
 * them as "YYYY-MM-DDTHH:MM:SS.mmmZ" and takes --from/--to either as
 * milliseconds or as ISO 8601 UTC text. This module is the one place
 * that reads and writes that text, so the calendar rules are checked
 * once. Pure functions, no allocation, any thread.
 *
 * Accepted text (utctime_parse):
 *     MS                       decimal milliseconds since the epoch
 *     YYYY-MM-DD               midnight UTC
 *     YYYY-MM-DD(T| )hh:mm[:ss[.f{1,3}]][Z]
 * with 1970 <= YYYY <= 9999, a day that exists in that month of that
 * year (Gregorian leap years), hh 00..23, mm 00..59, ss 00..59 (no leap
 * second: POSIX time has none), and exactly 2 or 4 digits per field.
 *
 * Invariants:
 *  - utctime_parse() accepts only real instants: "2026-02-31" or
 *    "2026-11-26T24:00" are errors, never normalized into another day.
 *  - utctime_format(utctime_parse(s)) == s for every full-form s.
 *
 * See also: tools/vigilctl.1 (--from, --to), common/audit.h ("ts")
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_UTCTIME_H
#define COMMON_UTCTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* Room for "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL, or for a raw u64. */
#define UTCTIME_TEXT_MAX 32

/* True when year `y` is a Gregorian leap year. */
bool utctime_is_leap(int y);

/* Return the days in month `mo` (1..12) of year `y`, or 0 if `mo` is
 * out of range. */
int utctime_days_in_month(int y, int mo);

/*
 * Parse `s` (the forms above) into milliseconds since the epoch.
 * `*out` is unchanged on error.
 * Returns 0, or ERR_INVAL (syntax, an impossible date or time, a year
 * before 1970, or a number that does not fit 64 bits).
 */
int utctime_parse(const char *s, uint64_t *out) WARN_UNUSED NONNULL(1, 2);

/*
 * Write `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (or, beyond what the C
 * library can break down, as the decimal number) into out[0..outlen),
 * always NUL-terminated; UTCTIME_TEXT_MAX bytes are always enough.
 */
void utctime_format(uint64_t ms, char *out, size_t outlen) NONNULL(2);

#endif
