/*
 * test_shopify_rfc3339.c - unit tests of tools/vigil-shopify/rfc3339:
 *                          RFC 3339 times with offsets to ms UTC
 *
 * Known answers (computed with Python's datetime.fromisoformat), every
 * refusal rule of rfc3339.h, and 200,000 random instants in 2000..2100
 * written in random offsets with the C library's gmtime_r() (the slow,
 * obviously correct reference) that must parse back to the instant.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/compiler.h"
#include "common/err.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/rfc3339.h"

static void
test_known_answers(void)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } ok[] = {
        /* Shopify's documented example times. */
        { "2021-12-31T19:00:00-05:00", 1640995200000ull },
        { "2023-03-29T18:00:27.877041743Z", 1680112827877ull },
        { "2023-03-29T18:00:27.877Z", 1680112827877ull },
        { "2023-03-29T18:00:27.8Z", 1680112827800ull },
        { "2022-01-01T00:00:00Z", 1640995200000ull },
        { "2022-01-01t00:00:00z", 1640995200000ull },
        { "2022-01-01 00:00:00+00:00", 1640995200000ull },
        { "2022-01-01T05:30:00+05:30", 1640995200000ull },
        { "2021-12-31T23:59:59.999-00:00", 1640995199999ull },
        { "2024-02-29T12:00:00+14:00", 1709157600000ull },
        { "1970-01-01T00:00:00Z", 0 },
        { "1970-01-01T00:00:00-00:01", 60000 },
    };
    static const char *const bad[] = {
        "",
        "2021-12-31",
        "2021-12-31T19:00",
        "2021-12-31T19:00:00",
        "2021-12-31T19:00:00.Z",
        "2021-12-31T19:00:00.1234567890Z",
        "2021-12-31T19:00:00+0500",
        "2021-12-31T19:00:00+05",
        "2021-12-31T19:00:00+05:0",
        "2021-12-31T19:00:00+24:00",
        "2021-12-31T19:00:00+05:60",
        "2021-12-31T19:00:00Z ",
        "2021-12-31T19:00:00ZZ",
        "2021-12-31X19:00:00Z",
        "2021-02-29T00:00:00Z",
        "2021-04-31T00:00:00Z",
        "2021-13-01T00:00:00Z",
        "2021-12-31T24:00:00Z",
        "2021-12-31T23:60:00Z",
        "2016-12-31T23:59:60Z", /* a real leap second: POSIX has none */
        "21-12-31T19:00:00Z",
        "2021-1-31T19:00:00Z",
        "1970-01-01T00:00:00+00:01", /* before the epoch */
        "1969-12-31T23:59:59Z",
        "1969-12-31T23:59:00-00:01", /* the epoch, but a 1969 local date */
        "2021-12-31T19:00:00-05:00\n",
    };
    uint64_t ms;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ok); i++) {
        ms = 7;
        if (rfc3339_parse(ok[i].text, &ms) != 0)
            TEST_FAIL("'%s' refused", ok[i].text);
        if (ms != ok[i].ms)
            TEST_FAIL(
                "'%s': %" PRIu64 ", want %" PRIu64, ok[i].text, ms, ok[i].ms);
    }
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        ms = 7;
        if (rfc3339_parse(bad[i], &ms) != ERR_INVAL)
            TEST_FAIL("'%s' accepted", bad[i]);
        ASSERT_EQ(ms, 7);
    }
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void
test_random_against_gmtime(void)
{
    const uint64_t lo = 946684800000ull, hi = 4102444800000ull;
    char text[64];
    struct tm tm;
    uint64_t ms, got;
    time_t local;
    int i, off, n;

    for (i = 0; i < 200000; i++) {
        ms = lo + rng() % (hi - lo);
        /* Offsets of whole quarter hours, -12:00 .. +14:00. */
        off = (int)(rng() % 105) * 15 - 12 * 60;
        local = (time_t)(ms / 1000) + (time_t)off * 60;
        if (gmtime_r(&local, &tm) == NULL)
            TEST_FAIL("gmtime_r");
        n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec);
        if (i % 2 == 0)
            n += snprintf(text + n, sizeof(text) - (size_t)n, ".%03u%s",
                (unsigned)(ms % 1000), i % 4 == 0 ? "999999" : "");
        else
            ms -= ms % 1000;
        if (off == 0 && i % 3 == 0)
            snprintf(text + n, sizeof(text) - (size_t)n, "Z");
        else
            snprintf(text + n, sizeof(text) - (size_t)n, "%c%02d:%02d",
                off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
                (off < 0 ? -off : off) % 60);
        if (rfc3339_parse(text, &got) != 0)
            TEST_FAIL("'%s' refused", text);
        if (got != ms)
            TEST_FAIL("'%s': %" PRIu64 ", want %" PRIu64, text, got, ms);
    }
}

int
main(void)
{
    RUN(test_known_answers);
    RUN(test_random_against_gmtime);
    return 0;
}
