/*
 * money.c - Shopify's decimal money strings to integer minor units
 *
 * A table of the ISO 4217 currencies whose minor unit is not 2, and a
 * digit-by-digit parser with overflow checks. Called by topics.c once
 * per orders/create delivery; a few hundred nanoseconds.
 *
 * Invariants:
 *  - the result is exact or an error: nothing is rounded, no double.
 *
 * See also: money.h, ISO 4217 (list one, column "Minor unit")
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/compiler.h"
#include "common/err.h"
#include "tools/vigil-shopify/money.h"

/*
 * The ISO 4217 codes with a minor unit other than 2 (list one, 2024).
 * Funds and metals without a minor unit ("N.A.") are not currencies a
 * shop sells in and take the default of 2.
 */
static const struct {
    char code[4];
    int exp;
} money_table[] = {
    { "BHD", 3 },
    { "BIF", 0 },
    { "CLF", 4 },
    { "CLP", 0 },
    { "DJF", 0 },
    { "GNF", 0 },
    { "IQD", 3 },
    { "ISK", 0 },
    { "JOD", 3 },
    { "JPY", 0 },
    { "KMF", 0 },
    { "KRW", 0 },
    { "KWD", 3 },
    { "LYD", 3 },
    { "OMR", 3 },
    { "PYG", 0 },
    { "RWF", 0 },
    { "TND", 3 },
    { "UGX", 0 },
    { "UYI", 0 },
    { "UYW", 4 },
    { "VND", 0 },
    { "VUV", 0 },
    { "XAF", 0 },
    { "XOF", 0 },
    { "XPF", 0 },
};

bool
money_currency_ok(const char *code)
{
    int i;

    for (i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return false;
    return code[3] == '\0';
}

int
money_exponent(const char *code)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(money_table); i++)
        if (memcmp(money_table[i].code, code, 4) == 0)
            return money_table[i].exp;
    return 2;
}

/* *acc = *acc * 10 + digit, refusing anything over `max`. */
static bool
money_push(uint64_t *acc, int digit, uint64_t max)
{
    if (*acc > (max - (uint64_t)digit) / 10)
        return false;
    *acc = *acc * 10 + (uint64_t)digit;
    return true;
}

int
money_parse(const char *text, const char *code, uint64_t max, uint64_t *minor)
{
    const char *p = text;
    uint64_t acc = 0;
    int exp, used = 0;

    if (!money_currency_ok(code))
        return ERR_INVAL;
    exp = money_exponent(code);
    if (*p < '0' || *p > '9')
        return ERR_INVAL;
    for (; *p >= '0' && *p <= '9'; p++)
        if (!money_push(&acc, *p - '0', max))
            return ERR_INVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return ERR_INVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++used > MONEY_MAX_FRACTION)
                return ERR_INVAL;
            if (used <= exp) {
                if (!money_push(&acc, *p - '0', max))
                    return ERR_INVAL;
            } else if (*p != '0') {
                /* More precision than the currency has: refuse, never
                 * round (a shop cannot charge a tenth of a cent). */
                return ERR_INVAL;
            }
        }
    }
    if (*p != '\0')
        return ERR_INVAL;
    for (; used < exp; used++)
        if (!money_push(&acc, 0, max))
            return ERR_INVAL;
    *minor = acc;
    return 0;
}
