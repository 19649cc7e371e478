/*
 * hmac.h - Shopify's webhook signature: X-Shopify-Hmac-SHA256
 *
 * Shopify signs every HTTPS delivery with the base64 (standard alphabet,
 * padded) HMAC-SHA256 of the raw request body, keyed with the app's
 * client secret, and sends it in X-Shopify-Hmac-SHA256. http.c checks it
 * over the exact bytes received, before anything parses them, against
 * each secret the shop has (two during a rotation), comparing in
 * constant time (libsodium). Any thread; no state.
 *
 * Sources: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
 * ("a base64-encoded HMAC signature in the X-Shopify-Hmac-SHA256 header,
 * generated using your app's client secret and the raw request body";
 * after a rotation "it can take up to an hour for the HMAC digest to be
 * generated using the new secret": hence two secrets per shop), and
 * https://shopify.dev/docs/apps/build/webhooks/delivery-structure.
 *
 * Invariants:
 *  - the comparison of a computed and a presented MAC never branches on
 *    their bytes (crypto_verify_32).
 *
 * See also: http.c, shops.h (where the secrets live)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_HMAC_H
#define VIGIL_SHOPIFY_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define HMAC_BYTES   32 /* HMAC-SHA256 */
#define HMAC_B64_LEN 44 /* its padded base64, without the NUL */

/* One client secret: borrowed bytes. */
struct hmac_key {
    const uint8_t *key;
    size_t len;
};

/*
 * Return true when `header` (the X-Shopify-Hmac-SHA256 value, NUL-
 * terminated) is the padded base64 of HMAC-SHA256(body[0..len), key)
 * for one of keys[0..nkeys). A header that is not exactly 44 characters
 * of padded standard base64 decoding to 32 bytes is false without any
 * HMAC computed.
 */
bool hmac_verify(const void *body, size_t len, const char *header,
    const struct hmac_key *keys, unsigned nkeys) NONNULL(3, 4);

/*
 * Write the header value Shopify would send for body[0..len) signed
 * with `key`: 44 characters and a NUL into `out` (for tests, the
 * replay script's twin in C, and the load sender).
 */
void hmac_sign(const void *body, size_t len, const struct hmac_key *key,
    char out[HMAC_B64_LEN + 1]) NONNULL(3, 4);

#endif
