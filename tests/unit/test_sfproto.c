/*
 * test_sfproto.c - unit tests of the storefront protocol (common/sfproto.c)
 *
 * Frames are built with msgpack-c's packer from small field tables
 * (tests/harness/msgframe.h), so each test states the event it sends.
 * Covers every event type, every rule of sfproto.h, hostile frames
 * (truncated, random, oversized, huge declared counts, too deep), and
 * the client side: sfproto_event_pack() output decodes back to the same
 * event, and reply frames decode.
 *
 * Invariants:
 *  - deterministic: random inputs come from a fixed-seed generator.
 *
 * See also: common/sfproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "tests/harness/msgframe.h"
#include "tests/harness/test.h"

static struct sfproto_batch batch;

static char fmsg[256];

/* Decode one event table as a single-event frame; returns the item. */
static const struct sfproto_item *
decode_one(const struct tf *f)
{
    msgpack_sbuffer sb;
    int rc;

    frame_of(&sb, f);
    rc = sfproto_batch_decode(&batch, sb.data, sb.size, fmsg, sizeof(fmsg));
    msgpack_sbuffer_destroy(&sb);
    ASSERT_OK(rc);
    ASSERT_EQ(batch.n, 1);
    ASSERT(!batch.is_array);
    return &batch.items[0];
}

static const struct sfproto_item *
decode_with(const struct tf *base, const struct tf *chg)
{
    struct tf f[MAXF];

    tf_with(f, base, chg);
    return decode_one(f);
}

static void
expect_item(
    const struct sfproto_item *it, int code, const char *needle, int line)
{
    if (it->rc != code) {
        fprintf(stderr, "%s:%d: rc %d (%s), expected %d; msg '%s'\n", __FILE__,
            line, it->rc, err_name(it->rc), code, it->msg);
        exit(1);
    }
    if (needle != NULL && strstr(it->msg, needle) == NULL) {
        fprintf(stderr, "%s:%d: msg '%s' lacks '%s'\n", __FILE__, line, it->msg,
            needle);
        exit(1);
    }
}

#define EXPECT_ITEM(it, code, needle)                                          \
    expect_item((it), (code), (needle), __LINE__)

static int
decode_raw(const void *p, size_t n)
{
    return sfproto_batch_decode(&batch, p, n, fmsg, sizeof(fmsg));
}

/* --------------------------------------------------------- the events */


static const struct tf card_num[] = { S("number", "4111111111111111"), END };
static const struct tf bill[] = { S("name", "Ann Lee"),
    S("street", "1 Main St"), S("city", "Springfield"), S("postal", "12345"),
    S("country", "US"), END };
static const struct tf ship_country_only[] = { S("country", "CA"), END };

static const struct tf ev_seen[] = { U("v", 1), S("type", "device.seen"),
    S("id", "e-seen-1"), U("ts", TSV), S("device", "dev-abc"),
    S("ip", "203.0.113.77"), S("ip_country", "FR"),
    S("ua",
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0 Safari/537.36"),
    S("tz", "Europe/Paris"), S("lang", "fr-FR"), S("carrier", "Orange"),
    S("session", "s-1"), END };

static const struct tf ev_signup[] = { U("v", 1), S("type", "account.signup"),
    S("id", "e-su-1"), U("ts", TSV), S("account", "acc-1"),
    S("email", "Ann.Lee@Example.COM"), S("phone", "+1 (555) 010-9999"),
    S("name", "Ann Lee"), S("source", "seo"), U("age", 33),
    S("referrer", "https://x.test/"), END };

static const struct tf ev_login[] = { U("v", 1), S("type", "account.login"),
    S("id", "e-li-1"), U("ts", TSV), S("account", "acc-1"), B("ok", 0),
    S("method", "password"), END };

static const struct tf ev_update[] = { U("v", 1), S("type", "account.update"),
    S("id", "e-up-1"), U("ts", TSV), S("account", "acc-1"), S("field", "email"),
    S("value", "new@example.org"), END };

static const struct tf ev_order[] = { U("v", 1), S("type", "order.placed"),
    S("id", "e-or-1"), U("ts", TSV), S("account", "acc-1"),
    S("device", "dev-abc"), S("ip", "2001:db8:1:2::5"), S("order", "o-1"),
    U("amount", 12999), S("currency", "EUR"), U("items", 3),
    M("card", card_num), M("billing", bill), M("shipping", ship_country_only),
    S("email", "ann@example.com"), END };

static const struct tf ev_payment[] = { U("v", 1), S("type", "payment.result"),
    S("id", "e-pr-1"), U("ts", TSV), S("order", "o-1"), B("ok", 1),
    S("reason", "approved"), END };

static const struct tf ev_label[] = { U("v", 1), S("type", "label"),
    S("id", "e-la-1"), U("ts", TSV), S("order", "o-1"), B("fraud", 1),
    S("source", "chargeback"), END };

static void
test_valid_each_type(void)
{
    const struct sfproto_item *it;

    it = decode_one(ev_seen);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT_EQ(it->ev.type, EVENT_DEVICE_SEEN);
    ASSERT_STR_EQ(it->id, "e-seen-1");
    ASSERT_STR_EQ(it->pii.id, "e-seen-1");
    ASSERT_EQ(it->ev.ts, TSV);
    ASSERT_STR_EQ(it->pii.device, "dev-abc");
    ASSERT_STR_EQ(it->pii.ip, "203.0.113.77");
    ASSERT_STR_EQ(it->pii.ip24, "203.0.113.0/24");
    ASSERT_STR_EQ(it->pii.ip16, "203.0.0.0/16");
    ASSERT_STR_EQ(it->ev.ip_country, "FR");
    ASSERT_STR_EQ(it->ev.browser, "chrome");
    ASSERT_STR_EQ(it->ev.tz, "Europe/Paris");
    ASSERT_STR_EQ(it->ev.lang, "fr-FR");
    ASSERT_STR_EQ(it->ev.carrier, "Orange");
    ASSERT_STR_EQ(it->pii.session, "s-1");
    ASSERT_EQ(it->ev.has,
        EVENT_HAS_DEVICE | EVENT_HAS_IP | EVENT_HAS_IP_COUNTRY |
            EVENT_HAS_SESSION);
    /* Pseudonyms are pseudo_apply's job: still zero. */
    {
        static const struct pseudo zero;

        ASSERT_MEM_EQ(&it->ev.device, &zero, sizeof(zero));
        ASSERT_MEM_EQ(&it->ev.ip, &zero, sizeof(zero));
    }

    it = decode_one(ev_signup);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT_EQ(it->ev.type, EVENT_ACCOUNT_SIGNUP);
    ASSERT_STR_EQ(it->pii.email, "Ann.Lee@Example.COM");
    ASSERT_STR_EQ(it->pii.account, "acc-1");
    ASSERT_STR_EQ(it->pii.phone, "+1 (555) 010-9999");
    ASSERT_STR_EQ(it->pii.name, "Ann Lee");
    ASSERT_STR_EQ(it->ev.source, "seo");
    ASSERT_EQ(it->ev.age, 33);
    /* Only the referrer's origin is kept. */
    ASSERT_STR_EQ(it->ev.referrer, "https://x.test");
    ASSERT_EQ(it->ev.has,
        EVENT_HAS_ACCOUNT | EVENT_HAS_EMAIL | EVENT_HAS_PHONE | EVENT_HAS_NAME |
            EVENT_HAS_AGE);

    it = decode_one(ev_login);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT_EQ(it->ev.type, EVENT_ACCOUNT_LOGIN);
    ASSERT(!it->ev.ok);
    ASSERT_STR_EQ(it->ev.method, "password");
    ASSERT_EQ(it->ev.has, EVENT_HAS_ACCOUNT | EVENT_HAS_OK);

    it = decode_one(ev_update);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT_EQ(it->ev.field, EVENT_UPDATE_EMAIL);
    ASSERT_STR_EQ(it->pii.value, "new@example.org");
    ASSERT_EQ(it->ev.has, EVENT_HAS_ACCOUNT | EVENT_HAS_VALUE);

    it = decode_one(ev_order);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT_EQ(it->ev.type, EVENT_ORDER_PLACED);
    ASSERT_STR_EQ(it->pii.order, "o-1");
    ASSERT_EQ(it->ev.amount, 12999);
    ASSERT_STR_EQ(it->ev.currency, "EUR");
    ASSERT_EQ(it->ev.items, 3);
    ASSERT_STR_EQ(it->pii.card_number, "4111111111111111");
    /* A full number: its pseudonym only, no part of it in clear. */
    ASSERT_STR_EQ(it->ev.card_bin, "");
    ASSERT_STR_EQ(it->pii.billing.name, "Ann Lee");
    ASSERT_STR_EQ(it->pii.billing.street, "1 Main St");
    ASSERT_STR_EQ(it->pii.billing.city, "Springfield");
    ASSERT_STR_EQ(it->pii.billing.postal, "12345");
    ASSERT_STR_EQ(it->ev.billing_country, "US");
    ASSERT_STR_EQ(it->ev.shipping_country, "CA");
    ASSERT_STR_EQ(it->pii.ip, "2001:db8:1:2::5");
    ASSERT_STR_EQ(it->pii.ip24, "2001:db8:1::/48");
    ASSERT_STR_EQ(it->pii.ip16, "2001:db8::/32");
    ASSERT_EQ(it->ev.has,
        EVENT_HAS_ACCOUNT | EVENT_HAS_DEVICE | EVENT_HAS_IP | EVENT_HAS_ORDER |
            EVENT_HAS_ITEMS | EVENT_HAS_CARD | EVENT_HAS_BILLING |
            EVENT_HAS_EMAIL);

    it = decode_one(ev_payment);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT(it->ev.ok);
    ASSERT_STR_EQ(it->ev.method, "approved");
    ASSERT_EQ(it->ev.has, EVENT_HAS_ORDER | EVENT_HAS_OK);

    it = decode_one(ev_label);
    EXPECT_ITEM(it, 0, NULL);
    ASSERT(it->ev.ok);
    ASSERT_STR_EQ(it->ev.source, "chargeback");
    ASSERT_EQ(it->ev.has, EVENT_HAS_ORDER | EVENT_HAS_OK);
    {
        static const struct tf chg[] = { DEL("order"), S("account", "a"), END };

        EXPECT_ITEM(decode_with(ev_label, chg), 0, NULL);
    }
}

static void
test_derived(void)
{
    static const struct {
        const char *ua, *family;
    } uas[] = {
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
          "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0",
            "edge" },
        { "Mozilla/5.0 AppleWebKit/537.36 Chrome/120.0 Safari/537.36 "
          "OPR/105.0",
            "opera" },
        { "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
          "Firefox/121.0",
            "firefox" },
        { "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/17.1 "
          "Safari/605.1.15",
            "safari" },
        { "Mozilla/5.0 (compatible; Googlebot/2.1)", "bot" },
        { "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0)", "ie" },
        { "curl-ish thing", "other" },
        { "", "other" },
    };
    static const struct {
        const char *ip, *canon, *prefix;
    } ips[] = {
        { "10.1.2.3", "10.1.2.3", "10.1.2.0/24" },
        { "::ffff:198.51.100.9", "198.51.100.9", "198.51.100.0/24" },
        { "2001:DB8:aaaa:bbbb:0:0:0:1", "2001:db8:aaaa:bbbb::1",
            "2001:db8:aaaa::/48" },
        { "::1", "::1", "::/48" },
        { "203.0.113.200", "203.0.113.200", "203.0.113.0/24" },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(uas); i++) {
        chg[0] = (struct tf)S("ua", uas[i].ua);
        it = decode_with(ev_seen, chg);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_STR_EQ(it->ev.browser, uas[i].family);
        ASSERT_STR_EQ(it->pii.ua, uas[i].ua);
    }
    for (i = 0; i < ARRAY_LEN(ips); i++) {
        chg[0] = (struct tf)S("ip", ips[i].ip);
        it = decode_with(ev_seen, chg);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_STR_EQ(it->pii.ip, ips[i].canon);
        ASSERT_STR_EQ(it->pii.ip24, ips[i].prefix);
    }

    /* Card by fingerprint + bin, and by fingerprint only. */
    {
        static const struct tf c1[] = { S("bin", "41111111"),
            S("fingerprint", "tok_9"), END };
        static const struct tf c2[] = { S("fingerprint", "fp-1"), END };
        static const struct tf a1[] = { S("country", "DE"), END };

        chg[0] = (struct tf)M("card", c1);
        it = decode_with(ev_order, chg);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_STR_EQ(it->ev.card_bin, "41111111");
        ASSERT_STR_EQ(it->pii.card_fingerprint, "tok_9");
        ASSERT(
            (it->ev.has & EVENT_HAS_CARD_BIN) && (it->ev.has & EVENT_HAS_CARD));
        chg[0] = (struct tf)M("card", c2);
        it = decode_with(ev_order, chg);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_STR_EQ(it->pii.card_fingerprint, "fp-1");
        ASSERT((it->ev.has & EVENT_HAS_CARD) &&
            !(it->ev.has & EVENT_HAS_CARD_BIN));
        /* A billing map with only a country sets no EVENT_HAS_BILLING. */
        chg[0] = (struct tf)M("billing", a1);
        it = decode_with(ev_order, chg);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_STR_EQ(it->ev.billing_country, "DE");
        ASSERT(!(it->ev.has & EVENT_HAS_BILLING));
    }
    /* update of the password itself without a value is fine. */
    {
        static const struct tf c[] = { S("field", "password"), DEL("value"),
            END };

        it = decode_with(ev_update, c);
        EXPECT_ITEM(it, 0, NULL);
        ASSERT_EQ(it->ev.field, EVENT_UPDATE_PASSWORD);
        ASSERT(!(it->ev.has & EVENT_HAS_VALUE));
    }
}

static void
test_required(void)
{
    static const struct {
        const struct tf *ev;
        const char *key;
    } req[] = {
        { ev_seen, "v" },
        { ev_seen, "type" },
        { ev_seen, "id" },
        { ev_seen, "ts" },
        { ev_login, "ok" },
        { ev_update, "field" },
        { ev_order, "order" },
        { ev_order, "amount" },
        { ev_order, "currency" },
        { ev_payment, "order" },
        { ev_payment, "ok" },
        { ev_label, "fraud" },
        { ev_label, "order" },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    char needle[64];
    size_t i;

    for (i = 0; i < ARRAY_LEN(req); i++) {
        chg[0] = (struct tf)DEL(req[i].key);
        it = decode_with(req[i].ev, chg);
        snprintf(needle, sizeof(needle), "'%s'", req[i].key);
        EXPECT_ITEM(it, ERR_INVAL, "missing required field");
        ASSERT(strstr(it->msg, needle) != NULL);
        /* The id is still reported (unless it is what is missing). */
        if (strcmp(req[i].key, "id") != 0)
            ASSERT(it->id[0] != '\0');
    }
}

static void
test_wrong_types(void)
{
    static const struct tf bad[] = {
        U("type", 3),
        U("id", 7),
        S("ts", TS),
        S("v", "1"),
        U("account", 1),
        U("device", 1),
        U("ip", 1),
        U("tz", 1),
        B("ua", 1),
        S("amount", "12"),
        U("currency", 978),
        S("items", "3"),
        S("card", "4111111111111111"),
        S("billing", "x"),
        U("order", 9),
        { "amount", K_FLOAT, NULL, 0, NULL },
        { "order", K_NIL, NULL, 0, NULL },
        { "order", K_BIN, "o-1", 0, NULL },
        { "email", K_BIN, "a@b.c", 0, NULL },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        chg[0] = bad[i];
        it = decode_with(ev_order, chg);
        if (it->rc != ERR_INVAL)
            TEST_FAIL("field '%s' of a wrong type: rc %d msg '%s'", bad[i].key,
                it->rc, it->msg);
        ASSERT(strstr(it->msg, bad[i].key) != NULL);
    }
    chg[0] = (struct tf)U("ok", 1);
    EXPECT_ITEM(
        decode_with(ev_login, chg), ERR_INVAL, "field 'ok': must be a boolean");
}

static void
test_ranges(void)
{
    static const struct {
        const struct tf *ev;
        struct tf f;
        int rc;
        const char *needle;
    } cases[] = {
        { ev_seen, U("ts", EVENT_MIN_TS - 1), ERR_INVAL, "field 'ts'" },
        { ev_seen, U("ts", EVENT_MAX_TS), ERR_INVAL, "field 'ts'" },
        { ev_seen, U("ts", EVENT_MIN_TS), 0, NULL },
        { ev_seen, U("ts", EVENT_MAX_TS - 1), 0, NULL },
        { ev_seen, N("ts", 5), ERR_INVAL, "field 'ts'" },
        { ev_seen, U("v", 2), ERR_INVAL, "field 'v': must be 1" },
        { ev_order, U("amount", EVENT_MAX_AMOUNT + 1), ERR_INVAL,
            "field 'amount': must be an unsigned integer 0..1000000000000" },
        { ev_order, U("amount", EVENT_MAX_AMOUNT), 0, NULL },
        { ev_order, U("amount", 0), 0, NULL },
        { ev_order, N("amount", 1), ERR_INVAL, "field 'amount'" },
        { ev_order, U("items", 0), ERR_INVAL, "field 'items'" },
        { ev_order, U("items", 10001), ERR_INVAL, "field 'items'" },
        { ev_order, U("items", 10000), 0, NULL },
        { ev_signup, U("age", 151), ERR_INVAL, "field 'age'" },
        { ev_signup, U("age", 0), 0, NULL },
        { ev_signup, U("age", 150), 0, NULL },
        { ev_seen, S("id", ""), ERR_INVAL, "field 'id'" },
        { ev_seen,
            S("id",
                "0123456789012345678901234567890123456789012345678901234567890"
                "1234567890123456789012345678901234567890123456789012345678901"
                "2345678"),
            ERR_INVAL, "field 'id'" },
        { ev_seen, S("tz", "Europe/\x01Paris"), ERR_INVAL,
            "field 'tz': must be valid UTF-8" },
        { ev_seen, S("lang", "fr\xc3"), ERR_INVAL, "field 'lang'" },
        { ev_seen, S("lang", "\xc0\xaf"), ERR_INVAL, "field 'lang'" },
        { ev_seen, S("lang", "\xed\xa0\x80"), ERR_INVAL, "field 'lang'" },
        { ev_seen,
            S("lang",
                "fran\xc3\xa7"
                "ais"),
            0, NULL },
        { ev_seen, S("ip", "300.1.1.1"), ERR_INVAL, "field 'ip'" },
        { ev_seen, S("ip", "fe80::1%eth0"), ERR_INVAL, "field 'ip'" },
        { ev_seen, S("ip_country", "fr"), ERR_INVAL, "field 'ip_country'" },
        { ev_seen, S("ip_country", "FRA"), ERR_INVAL, "field 'ip_country'" },
        { ev_order, S("currency", "eur"), ERR_INVAL, "field 'currency'" },
        { ev_order, S("currency", "EURO"), ERR_INVAL, "field 'currency'" },
        { ev_order, S("email", "nobody"), ERR_INVAL, "field 'email'" },
        { ev_order, S("email", "@x.com"), ERR_INVAL, "field 'email'" },
        { ev_order, S("email", "a@b@c.com"), ERR_INVAL, "field 'email'" },
        { ev_order, S("email", "a@exa_mple.com"), ERR_INVAL, "field 'email'" },
        { ev_signup, S("phone", "12345"), ERR_INVAL, "field 'phone'" },
        { ev_signup, S("phone", "555-0100 ext"), ERR_INVAL, "field 'phone'" },
        { ev_update, S("field", "shoe size"), ERR_INVAL, "field 'field'" },
        { ev_seen, S("type", "order.cancelled"), ERR_INVAL,
            "field 'type': unknown event type" },
        { ev_seen, U("foo", 1), ERR_INVAL, "unknown field 'foo'" },
        { ev_seen, S("order", "o-1"), ERR_INVAL,
            "field 'order': not allowed for type 'device.seen'" },
        { ev_login, B("fraud", 1), ERR_INVAL,
            "field 'fraud': not allowed for type 'account.login'" },
        { ev_seen, S("password", "hunter2"), ERR_DENIED,
            "field 'password': passwords are never accepted" },
        { ev_update, S("field", "password"), ERR_DENIED, "field 'value'" },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        chg[0] = cases[i].f;
        it = decode_with(cases[i].ev, chg);
        if (it->rc != cases[i].rc)
            TEST_FAIL("case %zu (%s): rc %d expected %d, msg '%s'", i,
                cases[i].f.key, it->rc, cases[i].rc, it->msg);
        if (cases[i].needle != NULL && strstr(it->msg, cases[i].needle) == NULL)
            TEST_FAIL(
                "case %zu: msg '%s' lacks '%s'", i, it->msg, cases[i].needle);
        /* Never the value in the message. */
        if (cases[i].f.kind == K_STR && strlen(cases[i].f.s) > 3 &&
            cases[i].rc != ERR_DENIED)
            ASSERT(strstr(it->msg, cases[i].f.s) == NULL);
        if (cases[i].rc != 0) {
            static const struct event_pii zero;

            ASSERT_MEM_EQ(&it->pii, &zero, sizeof(zero));
            ASSERT(it->id[0] != '\0' || strcmp(cases[i].f.key, "id") == 0);
        }
    }
}

static void
test_cards_and_addresses(void)
{
    static const struct tf luhn_bad[] = { S("number", "4111111111111112"),
        END };
    static const struct tf short_num[] = { S("number", "41111111111"), END };
    static const struct tf letters[] = { S("number", "4111-1111-1111-1111"),
        END };
    static const struct tf both[] = { S("number", "4111111111111111"),
        S("bin", "411111"), END };
    static const struct tf last4[] = { S("fingerprint", "tok_1"),
        S("last4", "1111"), END };
    static const struct tf empty[] = { END };
    static const struct tf card_pw[] = { S("fingerprint", "x"),
        S("password", "p"), END };
    static const struct tf bill_pw[] = { S("name", "A"), S("password", "p"),
        END };
    static const struct tf bill_bad[] = { S("name", "A"), S("zip", "1"), END };
    static const struct tf bill_cc[] = { S("country", "usa"), END };
    static const struct tf card_dup_keys[] = { S("fingerprint", "x"),
        S("fingerprint", "y"), END };
    static const struct {
        struct tf f;
        int rc;
        const char *needle;
    } cases[] = {
        { M("card", luhn_bad), ERR_INVAL, "Luhn" },
        { M("card", short_num), ERR_INVAL, "card.number" },
        { M("card", letters), ERR_INVAL, "card.number" },
        { M("card", both), ERR_INVAL, "field 'card'" },
        { M("card", last4), ERR_INVAL, "card.last4" },
        { M("card", empty), ERR_INVAL, "field 'card'" },
        { M("card", card_pw), ERR_DENIED, "passwords are never accepted" },
        { M("billing", bill_pw), ERR_DENIED, "billing.password" },
        { M("billing", bill_bad), ERR_INVAL, "unknown field 'billing.zip'" },
        { M("shipping", bill_cc), ERR_INVAL, "shipping.country" },
        { M("card", card_dup_keys), ERR_MALFORMED, "duplicate" },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        chg[0] = cases[i].f;
        it = decode_with(ev_order, chg);
        if (it->rc != cases[i].rc || strstr(it->msg, cases[i].needle) == NULL)
            TEST_FAIL(
                "card/address case %zu: rc %d msg '%s'", i, it->rc, it->msg);
        ASSERT_STR_EQ(it->id, "e-or-1");
        ASSERT(strstr(it->msg, "4111") == NULL);
    }
}

/* Raw frames that no pack call can make. */
static void
test_frames(void)
{
    static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'v',
        0x01 };
    static const uint8_t huge_str[] = { 0x81, 0xa2, 'i', 'd', 0xdb, 0xff, 0xff,
        0xff, 0xf0, 'x' };
    static const uint8_t huge_bin[] = { 0x81, 0xa2, 'i', 'd', 0xc6, 0x7f, 0xff,
        0xff, 0xff };
    static const uint8_t huge_arr16[] = { 0x91, 0xdc, 0xff, 0xff, 0x00 };
    static const uint8_t deep[] = { 0x91, 0x91, 0x91, 0x91, 0x80 };
    static const uint8_t deep_map[] = { 0x91, 0x81, 0xa1, 'c', 0x81, 0xa1, 'x',
        0x80 };
    static const uint8_t ext[] = { 0x81, 0xa1, 'x', 0xd4, 0x01, 0x00 };
    static const uint8_t ext8[] = { 0x81, 0xa1, 'x', 0xc7, 0x01, 0x05, 0x00 };
    static const uint8_t c1[] = { 0x81, 0xa1, 'x', 0xc1 };
    static const uint8_t scalar[] = { 0x05 };
    static const uint8_t str[] = { 0xa1, 'x' };
    static const uint8_t empty_arr[] = { 0x90 };
    static const uint8_t arr_of_int[] = { 0x91, 0x01 };
    static const struct {
        const uint8_t *p;
        size_t n;
        int rc;
    } cases[] = {
        { huge_array, sizeof(huge_array), ERR_MALFORMED },
        { huge_map, sizeof(huge_map), ERR_MALFORMED },
        { huge_str, sizeof(huge_str), ERR_MALFORMED },
        { huge_bin, sizeof(huge_bin), ERR_MALFORMED },
        { huge_arr16, sizeof(huge_arr16), ERR_MALFORMED },
        { deep, sizeof(deep), ERR_MALFORMED },
        { deep_map, sizeof(deep_map), ERR_MALFORMED },
        { ext, sizeof(ext), ERR_MALFORMED },
        { ext8, sizeof(ext8), ERR_MALFORMED },
        { c1, sizeof(c1), ERR_MALFORMED },
        { scalar, sizeof(scalar), ERR_MALFORMED },
        { str, sizeof(str), ERR_MALFORMED },
        { empty_arr, sizeof(empty_arr), ERR_MALFORMED },
    };
    msgpack_sbuffer sb;
    uint8_t *big;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        int rc = decode_raw(cases[i].p, cases[i].n);

        if (rc != cases[i].rc)
            TEST_FAIL("frame case %zu: rc %d msg '%s'", i, rc, fmsg);
        ASSERT_EQ(batch.n, 0);
    }
    /* An array holding a non-map: the item is refused, not the frame. */
    ASSERT_OK(decode_raw(arr_of_int, sizeof(arr_of_int)));
    ASSERT_EQ(batch.n, 1);
    ASSERT(batch.is_array);
    EXPECT_ITEM(&batch.items[0], ERR_MALFORMED, "event must be a map");

    ASSERT_EQ(decode_raw(NULL, 0), ERR_MALFORMED);
    ASSERT(strstr(fmsg, "empty") != NULL);
    ASSERT_EQ(decode_raw("", 0), ERR_MALFORMED);

    /* Trailing bytes after a valid event. */
    frame_of(&sb, ev_order);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    ASSERT_EQ(decode_raw(sb.data, sb.size), ERR_MALFORMED);
    ASSERT(strstr(fmsg, "trailing") != NULL);
    msgpack_sbuffer_destroy(&sb);

    /* Oversized: a valid-looking frame one byte over the cap. */
    big = calloc(1, SFPROTO_MAX_MSG_BYTES + 1);
    ASSERT(big != NULL);
    big[0] = 0x81;
    ASSERT_EQ(decode_raw(big, SFPROTO_MAX_MSG_BYTES + 1), ERR_TOOBIG);
    ASSERT_EQ(batch.n, 0);
    free(big);

    /* Duplicate key and non-string key inside an event. */
    {
        static const struct tf dup[] = { U("v", 1), S("type", "device.seen"),
            S("id", "d1"), U("ts", TSV), S("tz", "a"), S("tz", "b"), END };
        static const uint8_t intkey[] = { 0x81, 0x01, 0x01 };

        EXPECT_ITEM(decode_one(dup), ERR_MALFORMED, "duplicate field 'tz'");
        ASSERT_STR_EQ(batch.items[0].id, "d1");
        ASSERT_OK(decode_raw(intkey, sizeof(intkey)));
        EXPECT_ITEM(&batch.items[0], ERR_MALFORMED, "strings");
    }
}

static void
test_truncated(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t n;
    uint8_t *copy;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    pack_tf(&pk, ev_order);
    pack_tf(&pk, ev_signup);
    pack_tf(&pk, ev_seen);
    ASSERT_OK(decode_raw(sb.data, sb.size));
    ASSERT_EQ(batch.n, 3);
    for (n = 0; n < sb.size; n++) {
        /* An exact-size heap copy, so ASan sees any over-read. */
        copy = malloc(n > 0 ? n : 1);
        ASSERT(copy != NULL);
        memcpy(copy, sb.data, n);
        if (decode_raw(copy, n) == 0)
            TEST_FAIL("prefix of %zu of %zu bytes accepted", n, sb.size);
        ASSERT_EQ(batch.n, 0);
        free(copy);
    }
    msgpack_sbuffer_destroy(&sb);
}

static size_t frames_ok, events_ok;

static void
check_batch_sane(int rc)
{
    size_t i;

    if (rc == 0)
        frames_ok++;
    if (rc != 0) {
        ASSERT(rc == ERR_MALFORMED || rc == ERR_TOOBIG);
        ASSERT_EQ(batch.n, 0);
        return;
    }
    ASSERT(batch.n >= 1 && batch.n <= SFPROTO_MAX_BATCH);
    for (i = 0; i < batch.n; i++) {
        ASSERT(batch.items[i].rc <= 0 && batch.items[i].rc >= ERR_MIN);
        ASSERT(strlen(batch.items[i].id) <= EVENT_ID_MAX);
        if (batch.items[i].rc == 0)
            events_ok++;
    }
}

static void
test_random(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint8_t buf[512], *copy;
    size_t i, j, n;

    /* 10,000 frames of random bytes, biased toward container headers. */
    for (i = 0; i < 10000; i++) {
        n = (size_t)(rng() % sizeof(buf));
        for (j = 0; j < n; j++)
            buf[j] = (uint8_t)rng();
        if (n > 0 && (i & 1))
            buf[0] = (uint8_t)(0x80 | (rng() & 0x1f));
        copy = malloc(n > 0 ? n : 1);
        ASSERT(copy != NULL);
        memcpy(copy, buf, n);
        check_batch_sane(decode_raw(copy, n));
        free(copy);
    }
    /* 10,000 mutations of a valid batch frame. */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    pack_tf(&pk, ev_order);
    pack_tf(&pk, ev_signup);
    pack_tf(&pk, ev_update);
    pack_tf(&pk, ev_seen);
    copy = malloc(sb.size);
    ASSERT(copy != NULL);
    for (i = 0; i < 10000; i++) {
        memcpy(copy, sb.data, sb.size);
        for (j = 0; j < 1 + rng() % 4; j++)
            copy[rng() % sb.size] ^= (uint8_t)(1u << (rng() % 8));
        check_batch_sane(decode_raw(copy, sb.size));
    }
    free(copy);
    msgpack_sbuffer_destroy(&sb);
    printf("# random and mutated: %zu frames decoded, %zu events valid\n",
        frames_ok, events_ok);
    /* The mutations must reach the event decoder, not just the scanner. */
    ASSERT(frames_ok > 1000 && events_ok > 100);
}

static void
test_batches(void)
{
    static const struct tf bad[] = { U("v", 1), S("type", "order.placed"),
        S("id", "bad-1"), U("ts", TSV), S("order", "o"), U("amount", 1),
        S("currency", "usd"), END };
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char id[32];
    size_t i;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    pack_tf(&pk, ev_order);
    pack_tf(&pk, bad);
    pack_tf(&pk, ev_label);
    ASSERT_OK(decode_raw(sb.data, sb.size));
    ASSERT(batch.is_array);
    ASSERT_EQ(batch.n, 3);
    EXPECT_ITEM(&batch.items[0], 0, NULL);
    EXPECT_ITEM(&batch.items[1], ERR_INVAL, "field 'currency'");
    ASSERT_STR_EQ(batch.items[1].id, "bad-1");
    EXPECT_ITEM(&batch.items[2], 0, NULL);
    ASSERT_STR_EQ(batch.items[2].id, "e-la-1");
    msgpack_sbuffer_destroy(&sb);

    /* 1000 events fit; 1001 are too many. */
    for (i = SFPROTO_MAX_BATCH; i <= SFPROTO_MAX_BATCH + 1; i++) {
        size_t k;
        int rc;

        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, i);
        for (k = 0; k < i; k++) {
            struct tf ev[5] = { U("v", 1), S("type", "device.seen"),
                S("id", id), U("ts", TSV), END };

            snprintf(id, sizeof(id), "e%zu", k);
            pack_tf(&pk, ev);
        }
        ASSERT(sb.size <= SFPROTO_MAX_MSG_BYTES);
        rc = decode_raw(sb.data, sb.size);
        if (i == SFPROTO_MAX_BATCH) {
            ASSERT_OK(rc);
            ASSERT_EQ(batch.n, SFPROTO_MAX_BATCH);
            EXPECT_ITEM(&batch.items[999], 0, NULL);
            ASSERT_STR_EQ(batch.items[999].id, "e999");
        } else {
            ASSERT_EQ(rc, ERR_TOOBIG);
            ASSERT_EQ(batch.n, 0);
        }
        msgpack_sbuffer_destroy(&sb);
    }
}


/* Only a referrer's origin is kept: paths and queries carry data. */
static void
test_referrer_origin(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "https://Shop.Example:8443/p/1?email=ann@x.test&t=4477",
            "https://shop.example:8443" },
        { "http://x.test", "http://x.test" },
        { "https://[2001:db8::1]:443/a", "https://[2001:db8::1]:443" },
        { "https://user:pw@x.test/", "" },
        { "not a url", "" },
        { "mailto:ann@x.test", "" },
        { "://x.test/", "" },
        { "", "" },
    };
    struct tf chg[2] = { END, END };
    const struct sfproto_item *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        chg[0] = (struct tf)S("referrer", cases[i].in);
        it = decode_with(ev_signup, chg);
        EXPECT_ITEM(it, 0, NULL);
        if (strcmp(it->ev.referrer, cases[i].out) != 0)
            TEST_FAIL("referrer %zu: '%s', want '%s'", i, it->ev.referrer,
                cases[i].out);
    }
}

/* The client encoder: what it packs decodes back to the same event. */
static void
test_client_roundtrip(void)
{
    static const struct tf *const evs[] = { ev_seen, ev_signup, ev_login,
        ev_update, ev_order, ev_payment, ev_label };
    struct sfproto_item *want;
    struct wire_enc e;
    struct buf out;
    size_t i;

    want = malloc(sizeof(*want));
    ASSERT(want != NULL);
    buf_init(&out, SFPROTO_MAX_MSG_BYTES);
    for (i = 0; i < ARRAY_LEN(evs); i++) {
        memcpy(want, decode_one(evs[i]), sizeof(*want));
        ASSERT_OK(want->rc);
        buf_reset(&out);
        wire_enc_begin(&e, &out);
        sfproto_event_pack(&e, &want->ev, &want->pii);
        ASSERT_OK(wire_enc_end(&e));
        ASSERT_OK(decode_raw(out.data, out.len));
        ASSERT_EQ(batch.n, 1);
        ASSERT_OK(batch.items[0].rc);
        ASSERT_MEM_EQ(&batch.items[0].ev, &want->ev, sizeof(want->ev));
        ASSERT_MEM_EQ(&batch.items[0].pii, &want->pii, sizeof(want->pii));
    }
    /* A card given as fingerprint and bin goes out the same way. */
    {
        static const struct tf card_bin[] = { S("bin", "411111"),
            S("fingerprint", "fp-1"), END };
        static const struct tf chg[] = { M("card", card_bin), END };

        memcpy(want, decode_with(ev_order, chg), sizeof(*want));
        ASSERT_OK(want->rc);
        buf_reset(&out);
        wire_enc_begin(&e, &out);
        sfproto_event_pack(&e, &want->ev, &want->pii);
        ASSERT_OK(wire_enc_end(&e));
        ASSERT_OK(decode_raw(out.data, out.len));
        ASSERT_MEM_EQ(&batch.items[0].ev, &want->ev, sizeof(want->ev));
    }
    buf_release(&out);
    free(want);
}

/* Reply frames as a storefront receives them: one map or an array. */
static void
test_replies_decode(void)
{
    struct reply in[2], got[3];
    struct wire_dec d;
    struct buf out;
    uint32_t n;

    wire_dec_init(&d, 4096);
    buf_init(&out, SFPROTO_MAX_REPLY_BYTES);
    reply_error(&in[0], "e-1", ERR_INVAL, "field 'ts': out of range");
    memset(&in[1], 0, sizeof(in[1]));
    memcpy(in[1].id, "o-1", 4);
    in[1].has_score = true;
    in[1].score = 12;
    in[1].decision = REPLY_DECISION_ALLOW;
    ASSERT_OK(reply_encode(&out, &in[0]));
    ASSERT_OK(sfproto_replies_decode(&d, out.data, out.len, got, 3, &n));
    ASSERT_EQ(n, 1);
    ASSERT_MEM_EQ(&got[0], &in[0], sizeof(in[0]));
    buf_reset(&out);
    ASSERT_OK(wire_array_header(&out, 2));
    ASSERT_OK(reply_encode(&out, &in[0]));
    ASSERT_OK(reply_encode(&out, &in[1]));
    ASSERT_OK(sfproto_replies_decode(&d, out.data, out.len, got, 3, &n));
    ASSERT_EQ(n, 2);
    ASSERT_MEM_EQ(&got[1], &in[1], sizeof(in[1]));
    ASSERT_EQ(sfproto_replies_decode(&d, out.data, out.len, got, 1, &n),
        ERR_MALFORMED);
    ASSERT_EQ(sfproto_replies_decode(&d, out.data, out.len - 1, got, 3, &n),
        ERR_MALFORMED);
    buf_release(&out);
    wire_dec_release(&d);
}

int
main(void)
{
    sfproto_batch_init(&batch);
    RUN(test_valid_each_type);
    RUN(test_derived);
    RUN(test_required);
    RUN(test_wrong_types);
    RUN(test_ranges);
    RUN(test_cards_and_addresses);
    RUN(test_frames);
    RUN(test_truncated);
    RUN(test_random);
    RUN(test_batches);
    RUN(test_referrer_origin);
    RUN(test_client_roundtrip);
    RUN(test_replies_decode);
    sfproto_batch_release(&batch);
    ASSERT(batch.items == NULL);
    return 0;
}
