/*
 * money.h - Shopify's decimal money strings to integer minor units
 *
 * Shopify's REST-shaped webhook payloads carry amounts as decimal
 * strings in the shop's currency ("total_price": "403.00", "currency":
 * "USD"); Vigil's order.placed wants an integer number of minor units
 * (sfproto.h). The conversion is exact: no floating point, and a string
 * with more precision than the currency has (non-zero digits past its
 * minor unit) is refused rather than rounded. The exponent comes from
 * ISO 4217's minor-unit column (table in money.c). Pure functions; any
 * thread; called by topics.c for orders/create.
 *
 * Invariants:
 *  - money_parse() accepts only ^[0-9]+(\.[0-9]+)?$: no sign, no
 *    exponent, no spaces, no thousands separators, no leading '.'.
 *
 * See also: topics.h, tools/vigil-shopify.8 "FIELDS",
 *           https://www.iso.org/iso-4217-currency-codes.html
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_MONEY_H
#define VIGIL_SHOPIFY_MONEY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

/* Most digits after the point money_parse() reads before giving up. */
#define MONEY_MAX_FRACTION 18

/* True when `code` is exactly three upper-case ASCII letters. */
bool money_currency_ok(const char *code) NONNULL(1);

/*
 * Return the ISO 4217 minor-unit exponent of `code` (three upper-case
 * letters): 0 for JPY, KRW and the other whole-unit currencies, 3 for
 * BHD, IQD, JOD, KWD, LYD, OMR and TND, 4 for CLF and UYW, and 2 for
 * every other code, listed or not (most currencies have 2).
 */
int money_exponent(const char *code) NONNULL(1);

/*
 * Convert the decimal string `text` in currency `code` into minor
 * units, exactly, in `*minor` (unchanged on error): "403.00" USD is
 * 40300, "1500" JPY is 1500, "1.5" KWD is 1500. Digits past the
 * currency's exponent must be zeros ("12.340" USD is 1234; "12.345" USD
 * is refused). Amounts over `max` are refused.
 * Returns 0 or ERR_INVAL (syntax, bad currency code, lost precision,
 * over `max`).
 */
int money_parse(const char *text, const char *code, uint64_t max,
    uint64_t *minor) WARN_UNUSED NONNULL(1, 2, 4);

#endif
