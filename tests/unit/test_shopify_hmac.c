/*
 * test_shopify_hmac.c - unit tests of tools/vigil-shopify/hmac: Shopify's
 *                       X-Shopify-Hmac-SHA256 check
 *
 * Known answers: RFC 4231 test case 2 (key "Jefe"), and two computed
 * independently with Python's hmac/base64 modules, as Shopify's own
 * examples compute them (base64 of HMAC-SHA256 of the raw body keyed
 * with the client secret). Then the rotation (either of two secrets),
 * and every malformed header refused without a MAC computed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/compiler.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/hmac.h"

static struct hmac_key
key(const char *s)
{
    struct hmac_key k = { (const uint8_t *)s, strlen(s) };

    return k;
}

static void
test_known_answers(void)
{
    static const struct {
        const char *secret, *body, *b64;
    } cases[] = {
        /* RFC 4231 section 4.3, HMAC-SHA-256 */
        { "Jefe", "what do ya want for nothing?",
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=" },
        { "shpss_0123456789abcdef",
            "{\"id\":820982911946154508,\"total_price\":\"403.00\"}",
            "JiQcx4rEivNptFxvntcLKckPn0+iqcBSNgr6G2DFrbQ=" },
        { "k", "", "i7mQxAp9YcuXWXqUISUCW+UKyL63RDbjc1uYiTp/ZiA=" },
    };
    char out[HMAC_B64_LEN + 1];
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct hmac_key k = key(cases[i].secret);
        size_t n = strlen(cases[i].body);

        hmac_sign(cases[i].body, n, &k, out);
        ASSERT_STR_EQ(out, cases[i].b64);
        ASSERT(hmac_verify(cases[i].body, n, cases[i].b64, &k, 1));
    }
}

static void
test_rotation(void)
{
    const char *body = "{\"id\":1}";
    struct hmac_key both[2] = { key("new-secret"), key("old-secret") };
    struct hmac_key other = key("someone-else");
    char sig_new[HMAC_B64_LEN + 1], sig_old[HMAC_B64_LEN + 1];
    char sig_other[HMAC_B64_LEN + 1];

    hmac_sign(body, strlen(body), &both[0], sig_new);
    hmac_sign(body, strlen(body), &both[1], sig_old);
    hmac_sign(body, strlen(body), &other, sig_other);
    ASSERT(hmac_verify(body, strlen(body), sig_new, both, 2));
    ASSERT(hmac_verify(body, strlen(body), sig_old, both, 2));
    ASSERT(!hmac_verify(body, strlen(body), sig_other, both, 2));
    /* Only the first secret given: the old one no longer verifies. */
    ASSERT(!hmac_verify(body, strlen(body), sig_old, both, 1));
    /* No secret at all verifies nothing. */
    ASSERT(!hmac_verify(body, strlen(body), sig_new, both, 0));
}

static void
test_body_is_exact(void)
{
    const char *body = "{\"total_price\":\"403.00\"}";
    const char *spaced = "{\"total_price\": \"403.00\"}";
    struct hmac_key k = key("secret");
    char sig[HMAC_B64_LEN + 1];
    size_t n = strlen(body);

    hmac_sign(body, n, &k, sig);
    /* One byte more, one byte less, one byte changed: refused. */
    ASSERT(!hmac_verify(body, n - 1, sig, &k, 1));
    ASSERT(!hmac_verify(spaced, strlen(spaced), sig, &k, 1));
    ASSERT(hmac_verify(body, n, sig, &k, 1));
}

static void
test_malformed_headers(void)
{
    const char *body = "{}";
    struct hmac_key k = key("secret");
    char sig[HMAC_B64_LEN + 1], bad[HMAC_B64_LEN + 8];
    size_t i;

    hmac_sign(body, 2, &k, sig);
    ASSERT(hmac_verify(body, 2, sig, &k, 1));
    ASSERT(!hmac_verify(body, 2, "", &k, 1));
    /* Without its padding, with extra padding, one short, one long. */
    memcpy(bad, sig, HMAC_B64_LEN - 1);
    bad[HMAC_B64_LEN - 1] = '\0';
    ASSERT(!hmac_verify(body, 2, bad, &k, 1));
    memcpy(bad, sig, HMAC_B64_LEN + 1);
    strcat(bad, "=");
    ASSERT(!hmac_verify(body, 2, bad, &k, 1));
    /* Hex of the MAC, the URL-safe alphabet, a space inside. */
    ASSERT(!hmac_verify(body, 2,
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &k,
        1));
    for (i = 0; i < HMAC_B64_LEN; i++) {
        memcpy(bad, sig, HMAC_B64_LEN + 1);
        if (bad[i] == '+' || bad[i] == '/') {
            bad[i] = bad[i] == '+' ? '-' : '_';
            ASSERT(!hmac_verify(body, 2, bad, &k, 1));
        }
    }
    memcpy(bad, sig, HMAC_B64_LEN + 1);
    bad[10] = ' ';
    ASSERT(!hmac_verify(body, 2, bad, &k, 1));
    /* Every single-character change is refused. */
    for (i = 0; i < HMAC_B64_LEN - 1; i++) {
        memcpy(bad, sig, HMAC_B64_LEN + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        ASSERT(!hmac_verify(body, 2, bad, &k, 1));
    }
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init");
    RUN(test_known_answers);
    RUN(test_rotation);
    RUN(test_body_is_exact);
    RUN(test_malformed_headers);
    return 0;
}
