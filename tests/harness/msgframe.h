/*
 * msgframe.h - shared helpers of the codec unit tests: msgpack frames
 *              built from field tables, a fixed-seed generator and
 *              random valid events
 *
 * Each test states the map it sends as a table of fields (S("id",
 * "e-1"), U("ts", TSV), M("card", card_num), ...), packed with
 * msgpack-c's own packer, so the codec under test is never its own
 * oracle. Included by test_sfproto.c, test_event.c and test_ipcproto.c;
 * everything is static (unused functions are allowed).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TESTS_HARNESS_MSGFRAME_H
#define TESTS_HARNESS_MSGFRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/compiler.h"
#include "common/event.h"
#include "tests/harness/test.h"

enum tk {
    K_END,
    K_STR,
    K_UINT,
    K_NINT,
    K_BOOL,
    K_NIL,
    K_FLOAT,
    K_BIN,
    K_MAP,
    K_DEL
};

/* One field of a test event; a table ends with kind K_END. */
struct tf {
    const char *key;
    enum tk kind;
    const char *s;        /* K_STR, K_BIN */
    uint64_t u;           /* K_UINT, K_BOOL */
    const struct tf *sub; /* K_MAP */
};

#define S(k, v)                                                                \
    {                                                                          \
        (k), K_STR, (v), 0, NULL                                               \
    }
#define U(k, v)                                                                \
    {                                                                          \
        (k), K_UINT, NULL, (v), NULL                                           \
    }
#define B(k, v)                                                                \
    {                                                                          \
        (k), K_BOOL, NULL, (v), NULL                                           \
    }
#define M(k, v)                                                                \
    {                                                                          \
        (k), K_MAP, NULL, 0, (v)                                               \
    }
#define N(k, v)                                                                \
    {                                                                          \
        (k), K_NINT, NULL, (v), NULL                                           \
    }
#define DEL(k)                                                                 \
    {                                                                          \
        (k), K_DEL, NULL, 0, NULL                                              \
    }
#define END                                                                    \
    {                                                                          \
        NULL, K_END, NULL, 0, NULL                                             \
    }

#define MAXF 48

UNUSED static size_t
tf_len(const struct tf *f)
{
    size_t n = 0;

    while (f[n].kind != K_END)
        n++;
    return n;
}

UNUSED static void
pack_tf(msgpack_packer *pk, const struct tf *f)
{
    size_t i, n = tf_len(f);

    msgpack_pack_map(pk, n);
    for (i = 0; i < n; i++) {
        msgpack_pack_str_with_body(pk, f[i].key, strlen(f[i].key));
        switch (f[i].kind) {
        case K_STR:
            msgpack_pack_str_with_body(pk, f[i].s, strlen(f[i].s));
            break;
        case K_BIN:
            msgpack_pack_bin_with_body(pk, f[i].s, strlen(f[i].s));
            break;
        case K_UINT:
            msgpack_pack_uint64(pk, f[i].u);
            break;
        case K_NINT:
            msgpack_pack_int64(pk, -(int64_t)f[i].u);
            break;
        case K_BOOL:
            if (f[i].u)
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            break;
        case K_NIL:
            msgpack_pack_nil(pk);
            break;
        case K_FLOAT:
            msgpack_pack_double(pk, 1.5);
            break;
        case K_MAP:
            pack_tf(pk, f[i].sub);
            break;
        default:
            TEST_FAIL("bad test field kind");
        }
    }
}

/* dst = base with each field of `chg` replaced, deleted or appended. */
UNUSED static void
tf_with(struct tf *dst, const struct tf *base, const struct tf *chg)
{
    size_t i, j, n = tf_len(base);

    ASSERT(n < MAXF);
    memcpy(dst, base, (n + 1) * sizeof(*dst));
    for (; chg != NULL && chg->kind != K_END; chg++) {
        for (i = 0; i < n; i++)
            if (strcmp(dst[i].key, chg->key) == 0)
                break;
        if (chg->kind == K_DEL) {
            if (i < n) {
                for (j = i; j < n; j++)
                    dst[j] = dst[j + 1];
                n--;
            }
            continue;
        }
        if (i == n) {
            ASSERT(n + 1 < MAXF);
            dst[n + 1] = dst[n];
            n++;
        }
        dst[i] = *chg;
    }
}

UNUSED static void
frame_of(msgpack_sbuffer *sb, const struct tf *f)
{
    msgpack_packer pk;

    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    pack_tf(&pk, f);
}

/* True when needle occurs in hay (memmem is a GNU extension). */
UNUSED static bool
mem_has(const void *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle), i;

    for (i = 0; i + m <= n; i++)
        if (memcmp((const char *)hay + i, needle, m) == 0)
            return true;
    return false;
}
/* xorshift64*: fixed seed, reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

UNUSED static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

UNUSED static void
rand_str(char *dst, size_t size, bool nonempty)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEF0123456789"
                                "-_./:@ ";
    size_t n = (size_t)(rng() % size), i;

    if (nonempty && n == 0)
        n = 1;
    for (i = 0; i < n; i++) {
        /* Now and then a two-byte character (U+00E9), kept whole. */
        if (i + 2 <= n && rng() % 16 == 0) {
            dst[i++] = (char)0xc3;
            dst[i] = (char)0xa9;
            continue;
        }
        dst[i] = alpha[rng() % (sizeof(alpha) - 1)];
    }
    dst[n] = '\0';
}

#define RAND_STR(dst, ne) rand_str((dst), sizeof(dst), (ne))

UNUSED static void
rand_pseudo(struct pseudo *p)
{
    size_t i;

    for (i = 0; i < PSEUDO_BYTES; i++)
        p->b[i] = (uint8_t)rng();
}

UNUSED static void rand_pseudo(struct pseudo *p);

UNUSED static void
rand_event(struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = (enum event_type)(1 + rng() % (EVENT_TYPE_COUNT - 1));
    ev->has = (uint32_t)(rng() & ((EVENT_HAS_OK << 1) - 1));
    ev->ts = EVENT_MIN_TS + rng() % (EVENT_MAX_TS - EVENT_MIN_TS);
    rand_pseudo(&ev->id);
    if (ev->has & EVENT_HAS_ACCOUNT)
        rand_pseudo(&ev->account);
    if (ev->has & EVENT_HAS_SESSION)
        rand_pseudo(&ev->session);
    if (ev->has & EVENT_HAS_ORDER)
        rand_pseudo(&ev->order);
    if (ev->has & EVENT_HAS_DEVICE)
        rand_pseudo(&ev->device);
    if (ev->has & EVENT_HAS_IP) {
        rand_pseudo(&ev->ip);
        rand_pseudo(&ev->ip24);
        rand_pseudo(&ev->ip16);
    }
    if (ev->has & EVENT_HAS_IP_COUNTRY)
        memcpy(ev->ip_country, "NL", 3);
    if (rng() & 1)
        RAND_STR(ev->browser, false);
    if (rng() & 1)
        RAND_STR(ev->tz, false);
    if (rng() & 1)
        RAND_STR(ev->lang, false);
    if (rng() & 1)
        RAND_STR(ev->carrier, false);
    if (ev->has & EVENT_HAS_EMAIL)
        rand_pseudo(&ev->email);
    if (ev->has & EVENT_HAS_PHONE)
        rand_pseudo(&ev->phone);
    if (ev->has & EVENT_HAS_NAME)
        rand_pseudo(&ev->name);
    if (rng() & 1)
        RAND_STR(ev->source, false);
    if (ev->has & EVENT_HAS_AGE)
        ev->age = (uint32_t)(rng() % 151);
    if (rng() & 1)
        RAND_STR(ev->referrer, false);
    if (ev->has & EVENT_HAS_OK)
        ev->ok = rng() & 1;
    if (rng() & 1)
        RAND_STR(ev->method, false);
    if (rng() & 1)
        ev->field = (enum event_update)(rng() % 6);
    if (ev->has & EVENT_HAS_VALUE)
        rand_pseudo(&ev->value);
    if (rng() & 1)
        ev->amount = rng() % (EVENT_MAX_AMOUNT + 1);
    if (rng() & 1)
        memcpy(ev->currency, "JPY", 4);
    if (ev->has & EVENT_HAS_ITEMS)
        ev->items = (uint32_t)(1 + rng() % EVENT_MAX_ITEMS);
    if (ev->has & EVENT_HAS_CARD_BIN)
        memcpy(ev->card_bin, "12345678", 9);
    if (ev->has & EVENT_HAS_CARD)
        rand_pseudo(&ev->card);
    if (ev->has & EVENT_HAS_BILLING)
        rand_pseudo(&ev->billing);
    if (rng() & 1)
        memcpy(ev->billing_country, "GB", 3);
    if (ev->has & EVENT_HAS_SHIPPING)
        rand_pseudo(&ev->shipping);
    if (rng() & 1)
        memcpy(ev->shipping_country, "IE", 3);
}

#define TS  "1700000000000"
#define TSV 1700000000000ULL

#endif
