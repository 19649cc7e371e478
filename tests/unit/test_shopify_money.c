/*
 * test_shopify_money.c - unit tests of tools/vigil-shopify/money:
 *                        Shopify's decimal strings to minor units
 *
 * A table of known answers and refusals (every rule of money.h), the
 * ISO 4217 exponents of money.c's table, and 200,000 random amounts in
 * random currencies formatted the way Shopify formats them (with and
 * without trailing zeros) that must parse back exactly: the slow,
 * obviously correct reference is snprintf's decimal formatting.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/compiler.h"
#include "common/err.h"
#include "common/event.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/money.h"

static void
test_known_answers(void)
{
    static const struct {
        const char *text, *cur;
        uint64_t minor;
    } ok[] = {
        { "403.00", "USD", 40300 },
        { "0.00", "USD", 0 },
        { "0", "USD", 0 },
        { "0.1", "EUR", 10 },
        { "12.340", "USD", 1234 },
        { "12.3400000", "USD", 1234 },
        { "007.50", "GBP", 750 },
        { "1500", "JPY", 1500 },
        { "1500.0", "JPY", 1500 },
        { "1500.000", "KRW", 1500 },
        { "1.5", "KWD", 1500 },
        { "0.001", "BHD", 1 },
        { "2.0001", "CLF", 20001 },
        { "19.99", "XYZ", 1999 }, /* unknown codes take 2 */
        { "10000000000.00", "USD", EVENT_MAX_AMOUNT },
        { "1000000000000", "JPY", EVENT_MAX_AMOUNT },
    };
    static const struct {
        const char *text, *cur;
    } bad[] = {
        { "", "USD" },
        { ".5", "USD" },
        { "5.", "USD" },
        { "-1.00", "USD" },
        { "+1.00", "USD" },
        { " 1.00", "USD" },
        { "1.00 ", "USD" },
        { "1,000.00", "USD" },
        { "1e3", "USD" },
        { "0x10", "USD" },
        { "1..0", "USD" },
        { "12.345", "USD" },
        { "1500.5", "JPY" },
        { "0.0001", "KWD" },
        { "10000000000.01", "USD" },
        { "1000000000001", "JPY" },
        { "99999999999999999999999", "USD" },
        { "18446744073709551616", "JPY" },
        { "1.0000000000000000000", "USD" }, /* 19 fraction digits */
        { "1.00", "usd" },
        { "1.00", "US" },
        { "1.00", "USDX" },
        { "1.00", "U$D" },
        { "1.00", "" },
    };
    uint64_t m;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ok); i++) {
        m = 7;
        if (money_parse(ok[i].text, ok[i].cur, EVENT_MAX_AMOUNT, &m) != 0)
            TEST_FAIL("'%s' %s refused", ok[i].text, ok[i].cur);
        if (m != ok[i].minor)
            TEST_FAIL("'%s' %s: %" PRIu64 ", want %" PRIu64, ok[i].text,
                ok[i].cur, m, ok[i].minor);
    }
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        m = 7;
        if (money_parse(bad[i].text, bad[i].cur, EVENT_MAX_AMOUNT, &m) !=
            ERR_INVAL)
            TEST_FAIL("'%s' %s accepted", bad[i].text, bad[i].cur);
        ASSERT_EQ(m, 7); /* untouched */
    }
}

static void
test_exponents(void)
{
    static const struct {
        const char *cur;
        int exp;
    } cases[] = {
        { "USD", 2 },
        { "EUR", 2 },
        { "GBP", 2 },
        { "CAD", 2 },
        { "JPY", 0 },
        { "KRW", 0 },
        { "ISK", 0 },
        { "CLP", 0 },
        { "VND", 0 },
        { "XOF", 0 },
        { "KWD", 3 },
        { "BHD", 3 },
        { "JOD", 3 },
        { "OMR", 3 },
        { "TND", 3 },
        { "IQD", 3 },
        { "LYD", 3 },
        { "CLF", 4 },
        { "UYW", 4 },
        { "HUF", 2 },
        { "ZZZ", 2 },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        if (money_exponent(cases[i].cur) != cases[i].exp)
            TEST_FAIL("%s: exponent %d, want %d", cases[i].cur,
                money_exponent(cases[i].cur), cases[i].exp);
    ASSERT(money_currency_ok("USD"));
    ASSERT(!money_currency_ok("usd"));
    ASSERT(!money_currency_ok("US"));
    ASSERT(!money_currency_ok("USDD"));
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void
test_random_round_trip(void)
{
    static const char *const curs[] = { "USD", "JPY", "KWD", "CLF", "EUR" };
    static const uint64_t pow10[] = { 1, 10, 100, 1000, 10000 };
    char text[64];
    uint64_t minor, got, scale;
    int i, exp, pad;

    for (i = 0; i < 200000; i++) {
        const char *cur = curs[rng() % ARRAY_LEN(curs)];

        exp = money_exponent(cur);
        scale = pow10[exp];
        minor = rng() % (EVENT_MAX_AMOUNT + 1);
        if (i % 3 == 0)
            minor %= 100000;    /* small amounts too */
        pad = (int)(rng() % 3); /* trailing zeros Shopify may write */
        if (exp == 0)
            snprintf(text, sizeof(text), "%" PRIu64 "%s%.*s", minor,
                pad > 0 ? "." : "", pad, "00");
        else
            snprintf(text, sizeof(text), "%" PRIu64 ".%0*" PRIu64 "%.*s",
                minor / scale, exp, minor % scale, pad, "00");
        if (money_parse(text, cur, EVENT_MAX_AMOUNT, &got) != 0)
            TEST_FAIL("'%s' %s refused", text, cur);
        if (got != minor)
            TEST_FAIL(
                "'%s' %s: %" PRIu64 ", want %" PRIu64, text, cur, got, minor);
    }
}

int
main(void)
{
    RUN(test_known_answers);
    RUN(test_exponents);
    RUN(test_random_round_trip);
    return 0;
}
