/*
 * rfc3339.h - RFC 3339 timestamps with an offset to milliseconds UTC
 *
 * Shopify writes times as RFC 3339 "date-time" with a numeric offset
 * ("created_at": "2021-12-31T19:00:00-05:00") and its delivery header
 * X-Shopify-Triggered-At in UTC with a fraction
 * ("2023-03-29T18:00:27.877041743Z"). Vigil's events carry ms since the
 * Unix epoch (sfproto.h "ts"). The calendar checks are common/utctime's
 * (one implementation of "does this day exist"); this module adds the
 * RFC 3339 syntax and the offset. Pure; any thread.
 *
 * Accepted (RFC 3339 section 5.6):
 *     YYYY-MM-DD("T"|"t"|" ")hh:mm:ss["." 1*9DIGIT]("Z"|"z"|("+"|"-")hh:mm)
 * with a real date (utctime.h), hh 00..23, mm 00..59, ss 00..59 (a leap
 * second is refused: POSIX time has none), offset hours 00..23. The
 * fraction is truncated to milliseconds.
 *
 * Invariants:
 *  - nothing is normalized: "2026-02-29T..." or "24:00:00" is an error.
 *
 * See also: common/utctime.h, https://www.rfc-editor.org/rfc/rfc3339
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_RFC3339_H
#define VIGIL_SHOPIFY_RFC3339_H

#include <stdint.h>

#include "common/compiler.h"

/*
 * Parse the RFC 3339 date-time `s` into milliseconds since the epoch,
 * UTC, in `*ms` (unchanged on error).
 * Returns 0, or ERR_INVAL (syntax, an impossible date or time, a local
 * date before 1970 (utctime's range), or an instant before
 * 1970-01-01T00:00:00Z).
 */
int rfc3339_parse(const char *s, uint64_t *ms) WARN_UNUSED NONNULL(1, 2);

#endif
