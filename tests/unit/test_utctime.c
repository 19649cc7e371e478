/*
 * test_utctime.c - unit tests of common/utctime: ISO 8601 UTC parsing
 *                  with calendar checks, and formatting
 *
 * Known answers were computed independently with Python's datetime.
 * Validity of every (year, month, day) from 1970 to 2400 is compared
 * with a slow reference: the C library's timegm() followed by gmtime_r()
 * gives back the same fields exactly when the date exists.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/utctime.h"
#include "tests/harness/test.h"

static void
test_known_answers(void)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } cases[] = {
        { "0", 0 },
        { "1795685400000", 1795685400000ull },
        { "18446744073709551615", UINT64_MAX },
        { "1970-01-01", 0 },
        { "1970-01-01T00:00:00.001Z", 1 },
        { "2026-11-26T09:30:00Z", 1795685400000ull },
        { "2026-11-26 09:30", 1795685400000ull },
        { "2026-11-26T09:30Z", 1795685400000ull },
        { "2024-02-29T23:59:59.999Z", 1709251199999ull },
        { "2024-02-29T23:59:59.9", 1709251199900ull },
        { "2024-02-29T23:59:59.99Z", 1709251199990ull },
        { "2000-02-29", 951782400000ull },
        { "9999-12-31T23:59:59.999Z", 253402300799999ull },
    };
    uint64_t ms;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ms = 42;
        if (utctime_parse(cases[i].text, &ms) != 0)
            TEST_FAIL("'%s' rejected", cases[i].text);
        if (ms != cases[i].ms)
            TEST_FAIL("'%s' -> %" PRIu64 ", want %" PRIu64, cases[i].text, ms,
                cases[i].ms);
    }
}

static void
test_rejects(void)
{
    static const char *const bad[] = {
        "",
        "x",
        "12a",
        "-5",
        "18446744073709551616", /* 2^64 */
        "2026-02-31",           /* the security review's example */
        "2026-02-30",
        "2026-02-29", /* not a leap year */
        "2100-02-29", /* divisible by 100, not by 400 */
        "2026-04-31",
        "2026-06-31",
        "2026-09-31",
        "2026-11-31",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-01-32",
        "1969-12-31",
        "0000-01-01",
        "2026-1-01",
        "2026-01-1",
        "26-01-01",
        "2026/01/01",
        "2026-01-01T",
        "2026-01-01T24:00",
        "2026-01-01T23:60",
        "2026-01-01T23:59:60", /* no leap seconds in POSIX time */
        "2026-01-01T23:59:99",
        "2026-01-01T9:30",
        "2026-01-01T09:30:5",
        "2026-01-01T09:30:00.",
        "2026-01-01T09:30:00.1234",
        "2026-01-01T09:30:00Zjunk",
        "2026-01-01Z",
        "2026-01-01T09:30:00+01:00",
        "2026-01-01x",
    };
    uint64_t ms;

    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        ms = 42;
        if (utctime_parse(bad[i], &ms) != ERR_INVAL)
            TEST_FAIL("'%s' accepted as %" PRIu64, bad[i], ms);
        ASSERT_EQ(ms, 42);
    }
}

/* The reference: does y-mo-d exist? timegm() normalizes impossible dates
 * into another day, which gmtime_r() then reveals. */
static bool
ref_valid(int y, int mo, int d)
{
    struct tm tm, back;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    t = timegm(&tm);
    if (gmtime_r(&t, &back) == NULL)
        return false;
    return back.tm_year == y - 1900 && back.tm_mon == mo - 1 &&
        back.tm_mday == d;
}

static void
test_every_day_against_reference(void)
{
    char text[32];
    int valid = 0;

    for (int y = 1970; y <= 2400; y++) {
        for (int mo = 1; mo <= 12; mo++) {
            for (int d = 1; d <= 31; d++) {
                bool want = ref_valid(y, mo, d);
                uint64_t ms;
                int rc;

                snprintf(text, sizeof(text), "%04d-%02d-%02dT12:34:56.789Z", y,
                    mo, d);
                rc = utctime_parse(text, &ms);
                if ((rc == 0) != want)
                    TEST_FAIL("'%s': parse %d, reference says %s", text, rc,
                        want ? "valid" : "invalid");
                ASSERT_EQ(utctime_days_in_month(y, mo) >= d, want);
                if (rc != 0)
                    continue;
                valid++;
                {
                    char back[UTCTIME_TEXT_MAX];

                    utctime_format(ms, back, sizeof(back));
                    ASSERT_STR_EQ(back, text);
                }
            }
        }
    }
    /* 431 years, 105 of them leap years (2100, 2200, 2300 are not). */
    ASSERT_EQ(valid, 431 * 365 + 105);
}

static void
test_leap_years(void)
{
    ASSERT(utctime_is_leap(2000));
    ASSERT(utctime_is_leap(2024));
    ASSERT(!utctime_is_leap(2026));
    ASSERT(!utctime_is_leap(2100));
    ASSERT(utctime_is_leap(2400));
    ASSERT_EQ(utctime_days_in_month(2024, 2), 29);
    ASSERT_EQ(utctime_days_in_month(2026, 2), 28);
    ASSERT_EQ(utctime_days_in_month(2026, 0), 0);
    ASSERT_EQ(utctime_days_in_month(2026, 13), 0);
}

static void
test_format(void)
{
    char t[UTCTIME_TEXT_MAX];

    utctime_format(0, t, sizeof(t));
    ASSERT_STR_EQ(t, "1970-01-01T00:00:00.000Z");
    utctime_format(1795685400123ull, t, sizeof(t));
    ASSERT_STR_EQ(t, "2026-11-26T09:30:00.123Z");
    /* The largest value still fits the documented room. */
    utctime_format(UINT64_MAX, t, sizeof(t));
    ASSERT(strlen(t) > 0 && strlen(t) < sizeof(t));
}

int
main(void)
{
    RUN(test_known_answers);
    RUN(test_rejects);
    RUN(test_leap_years);
    RUN(test_every_day_against_reference);
    RUN(test_format);
    return 0;
}
