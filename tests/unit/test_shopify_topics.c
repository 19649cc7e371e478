/*
 * test_shopify_topics.c - unit tests of tools/vigil-shopify/topics:
 *                         Shopify webhook payloads to Vigil events
 *
 * The payloads are Shopify's documented webhook examples (shopify.dev/
 * docs/api/webhooks, API 2026-10: orders/create, customers/create,
 * refunds/create, disputes/create), with the browser fields an online
 * store order carries filled in. Each mapped delivery is packed and then
 * decoded by the collector's own decoder (sfproto_batch_decode), so
 * the checks read what Vigil would receive; every event must pass it.
 * Then the strict-type refusals, the values left out by Vigil's rules,
 * and the topic mapping table of tools/vigil-shopify.8.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/event.h"
#include "common/sfproto.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/topics.h"

#define WID    "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
#define T_2022 1640995200000ull /* 2021-12-31T19:00:00-05:00 */
#define T_TRIG 1680112827877ull /* 2023-03-29T18:00:27.877Z */

/* orders/create, Shopify's example with a storefront visit's details. */
static const char order_json[] =
    "{\"id\":820982911946154508,"
    "\"admin_graphql_api_id\":\"gid://shopify/Order/820982911946154508\","
    "\"app_id\":null,\"browser_ip\":\"216.191.105.146\","
    "\"buyer_accepts_marketing\":true,\"cancel_reason\":null,"
    "\"cancelled_at\":null,\"cart_token\":\"68778783ad298f1c80c3bafcddeea02f\","
    "\"checkout_id\":901414060,"
    "\"checkout_token\":\"bd5a8aa1ecd019dd3520ff791ee3a24c\","
    "\"client_details\":{\"accept_language\":\"en-US,en;q=0.9\","
    "\"browser_height\":1080,\"browser_ip\":\"216.191.105.146\","
    "\"browser_width\":1920,\"session_hash\":null,"
    "\"user_agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\"},"
    "\"closed_at\":null,\"confirmation_number\":\"PQ1AV3YRH\","
    "\"confirmed\":true,\"contact_email\":\"jon@example.com\","
    "\"created_at\":\"2021-12-31T19:00:00-05:00\",\"currency\":\"USD\","
    "\"current_subtotal_price\":\"398.00\",\"current_total_price\":\"403.00\","
    "\"customer_locale\":\"en\",\"email\":\"jon@example.com\","
    "\"financial_status\":\"paid\",\"name\":\"#9999\",\"order_number\":1234,"
    "\"payment_gateway_names\":[\"visa\",\"bogus\"],\"phone\":null,"
    "\"presentment_currency\":\"USD\","
    "\"processed_at\":\"2021-12-31T19:00:00-05:00\","
    "\"subtotal_price\":\"388.00\",\"tags\":\"tag1, tag2\",\"test\":true,"
    "\"token\":\"123456abcd\",\"total_price\":\"403.00\","
    "\"total_tax\":\"0.00\",\"updated_at\":\"2021-12-31T19:00:00-05:00\","
    "\"billing_address\":{\"first_name\":\"Steve\","
    "\"address1\":\"123 Shipping Street\",\"phone\":\"555-555-SHIP\","
    "\"city\":\"Shippington\",\"zip\":\"40003\",\"province\":\"Kentucky\","
    "\"country\":\"United States\",\"last_name\":\"Shipper\","
    "\"address2\":null,\"company\":\"Shipping Company\",\"latitude\":null,"
    "\"longitude\":null,\"name\":\"Steve Shipper\",\"country_code\":\"US\","
    "\"province_code\":\"KY\"},"
    "\"customer\":{\"id\":603851970716743426,\"email\":\"john@example.com\","
    "\"created_at\":null,\"updated_at\":null,\"first_name\":\"John\","
    "\"last_name\":\"Smith\",\"state\":\"disabled\",\"note\":null,"
    "\"verified_email\":true,\"multipass_identifier\":null,"
    "\"tax_exempt\":false,\"phone\":null,\"currency\":\"USD\","
    "\"admin_graphql_api_id\":\"gid://shopify/Customer/603851970716743426\"},"
    "\"line_items\":[{\"id\":866550311766439020,\"quantity\":1,"
    "\"price\":\"199.00\",\"title\":\"IPod Nano - 8GB\"},"
    "{\"id\":141249953214522974,\"quantity\":1,\"price\":\"199.00\","
    "\"title\":\"IPod Nano - 8GB\"}],"
    "\"payment_details\":{\"credit_card_bin\":\"424242\","
    "\"avs_result_code\":\"Y\",\"cvv_result_code\":\"M\","
    "\"credit_card_number\":\"\\u2022\\u2022\\u2022\\u2022 4242\","
    "\"credit_card_company\":\"Visa\"},"
    "\"shipping_address\":{\"first_name\":\"Steve\","
    "\"address1\":\"123 Shipping Street\",\"phone\":\"555-555-SHIP\","
    "\"city\":\"Shippington\",\"zip\":\"40003\",\"province\":\"Kentucky\","
    "\"country\":\"United States\",\"last_name\":\"Shipper\","
    "\"address2\":\"Suite 4\",\"company\":\"Shipping Company\","
    "\"name\":\"Steve Shipper\",\"country_code\":\"us\","
    "\"province_code\":\"KY\"}}";

/* customers/create, Shopify's example. */
static const char customer_json[] =
    "{\"id\":706405506930370084,\"email\":\"bob@biller.com\","
    "\"created_at\":\"2021-12-31T19:00:00-05:00\","
    "\"updated_at\":\"2021-12-31T19:00:00-05:00\",\"first_name\":\"Bob\","
    "\"last_name\":\"Biller\",\"orders_count\":0,\"state\":\"disabled\","
    "\"total_spent\":\"0.00\",\"last_order_id\":null,"
    "\"note\":\"This customer loves ice cream\",\"verified_email\":true,"
    "\"multipass_identifier\":null,\"tax_exempt\":false,\"tags\":\"\","
    "\"last_order_name\":null,\"currency\":\"USD\",\"phone\":null,"
    "\"addresses\":[],\"tax_exemptions\":[],"
    "\"email_marketing_consent\":null,\"sms_marketing_consent\":null,"
    "\"admin_graphql_api_id\":\"gid://shopify/Customer/706405506930370084\"}";

/* disputes/create, Shopify's example. */
static const char dispute_json[] =
    "{\"id\":285332461850802063,\"order_id\":820982911946154508,"
    "\"type\":\"chargeback\",\"amount\":\"11.50\",\"currency\":\"CAD\","
    "\"reason\":\"fraudulent\",\"network_reason_code\":\"4837\","
    "\"status\":\"under_review\","
    "\"evidence_due_by\":\"2021-12-30T19:00:00-05:00\","
    "\"evidence_sent_on\":null,\"finalized_on\":null,"
    "\"initiated_at\":\"2021-12-31T19:00:00-05:00\"}";

/* refunds/create, Shopify's example (shortened line items). */
static const char refund_json[] =
    "{\"id\":890088186047892319,\"order_id\":820982911946154508,"
    "\"created_at\":\"2021-12-31T19:00:00-05:00\","
    "\"note\":\"Things were damaged\",\"user_id\":548380009,"
    "\"processed_at\":\"2021-12-31T19:00:00-05:00\",\"restock\":false,"
    "\"duties\":[],\"return\":null,"
    "\"admin_graphql_api_id\":\"gid://shopify/Refund/890088186047892319\","
    "\"refund_line_items\":[],\"transactions\":[{\"id\":245135271310201109,"
    "\"order_id\":820982911946154508,\"kind\":\"refund\","
    "\"gateway\":\"bogus\",\"status\":\"success\",\"amount\":\"0.00\","
    "\"currency\":\"USD\"}],\"order_adjustments\":[]}";

static json_t *
parse(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL)
        TEST_FAIL(
            "test payload does not parse: %s (line %d)", jerr.text, jerr.line);
    return root;
}

/* Map `text` as topic `k`; returns topics_map's rc. */
static int
map(enum topics_kind k, const char *text, uint64_t trig, struct topics_out *out)
{
    struct topics_in in = { WID, trig };
    json_t *root = parse(text);
    int rc = topics_map(k, root, &in, out);

    json_decref(root);
    return rc;
}

/* Pack `out` and decode it as the collector does; every event must be
 * accepted. The caller releases `b`. */
static void
collector_view(const struct topics_out *out, struct sfproto_batch *b)
{
    struct buf frame;
    char msg[256];
    size_t i;

    buf_init(&frame, TOPICS_FRAME_MAX);
    ASSERT_OK(topics_pack(out, &frame));
    sfproto_batch_init(b);
    if (sfproto_batch_decode(b, frame.data, frame.len, msg, sizeof(msg)) != 0)
        TEST_FAIL("frame refused: %s", msg);
    ASSERT_EQ(b->n, out->n);
    ASSERT(b->is_array);
    for (i = 0; i < b->n; i++)
        if (b->items[i].rc != 0)
            TEST_FAIL("event %zu refused: %s", i + 1, b->items[i].msg);
    buf_wipe_release(&frame);
}

static void
test_orders_create(void)
{
    struct topics_out out;
    struct sfproto_batch b;
    const struct sfproto_item *v, *o;

    ASSERT_OK(map(TOPICS_ORDERS_CREATE, order_json, T_TRIG, &out));
    ASSERT_EQ(out.n, 2);
    ASSERT(out.is_order);
    ASSERT_STR_EQ(out.order_gid, "gid://shopify/Order/820982911946154508");
    ASSERT_EQ(out.dropped, 0);
    collector_view(&out, &b);
    v = &b.items[0];
    o = &b.items[1];

    ASSERT_EQ(v->ev.type, EVENT_DEVICE_SEEN);
    ASSERT_STR_EQ(v->id, WID ":1");
    ASSERT_EQ(v->ev.ts, T_2022); /* created_at, not the trigger time */
    ASSERT_STR_EQ(v->pii.account, "603851970716743426");
    ASSERT_STR_EQ(v->pii.ip, "216.191.105.146");
    ASSERT_STR_EQ(v->pii.session, "68778783ad298f1c80c3bafcddeea02f");
    ASSERT_STR_EQ(v->ev.lang, "en-US");
    ASSERT_STR_EQ(v->ev.browser, o->ev.browser);

    ASSERT_EQ(o->ev.type, EVENT_ORDER_PLACED);
    ASSERT_STR_EQ(o->id, WID ":2");
    ASSERT_EQ(o->ev.ts, T_2022);
    ASSERT_STR_EQ(o->pii.order, "820982911946154508");
    ASSERT_STR_EQ(o->pii.account, "603851970716743426");
    ASSERT_EQ(o->ev.amount, 40300);
    ASSERT_STR_EQ(o->ev.currency, "USD");
    ASSERT_EQ(o->ev.items, 2);
    ASSERT_STR_EQ(o->pii.email, "jon@example.com");
    ASSERT_STR_EQ(o->pii.ip, "216.191.105.146");
    ASSERT_STR_EQ(o->ev.card_bin, "424242");
    ASSERT(o->ev.has & EVENT_HAS_CARD_BIN);
    ASSERT_STR_EQ(o->pii.card_fingerprint, ""); /* Shopify sends none */
    ASSERT_STR_EQ(o->pii.billing.name, "Steve Shipper");
    ASSERT_STR_EQ(o->pii.billing.street, "123 Shipping Street");
    ASSERT_STR_EQ(o->pii.billing.city, "Shippington");
    ASSERT_STR_EQ(o->pii.billing.postal, "40003");
    ASSERT_STR_EQ(o->ev.billing_country, "US");
    ASSERT_STR_EQ(o->pii.shipping.street, "123 Shipping Street, Suite 4");
    ASSERT_STR_EQ(o->ev.shipping_country, "US"); /* "us" upper-cased */
    sfproto_batch_release(&b);
    topics_wipe(&out);
}

static void
test_orders_create_variants(void)
{
    struct topics_out out;
    struct sfproto_batch b;
    const struct sfproto_item *o;

    /* A guest checkout in yen, no browser details, names split. */
    ASSERT_OK(map(TOPICS_ORDERS_CREATE,
        "{\"id\":1,\"total_price\":\"1500\",\"currency\":\"JPY\","
        "\"created_at\":\"2024-05-01T09:00:00+09:00\",\"customer\":null,"
        "\"client_details\":null,\"billing_address\":{\"first_name\":"
        "\"Hanako\",\"last_name\":\"Yamada\",\"country_code\":\"JP\"}}",
        0, &out));
    collector_view(&out, &b);
    o = &b.items[1];
    ASSERT_EQ(o->ev.amount, 1500);
    ASSERT_STR_EQ(o->pii.account, "");
    ASSERT(!(o->ev.has & EVENT_HAS_ACCOUNT));
    ASSERT_STR_EQ(o->pii.billing.name, "Hanako Yamada");
    ASSERT_STR_EQ(o->pii.ip, "");
    ASSERT(!(o->ev.has & EVENT_HAS_ITEMS));
    ASSERT_STR_EQ(out.order_gid, "gid://shopify/Order/1");
    sfproto_batch_release(&b);

    /* Values Vigil would refuse are left out, not fatal: the bogus
     * gateway's 1-digit BIN, an IP that is not one, a city with a
     * control character, a 3-letter country, a bad email. */
    ASSERT_OK(map(TOPICS_ORDERS_CREATE,
        "{\"id\":2,\"total_price\":\"9.99\",\"currency\":\"EUR\","
        "\"created_at\":\"2024-05-01T09:00:00Z\",\"browser_ip\":\"not-an-ip\","
        "\"email\":\"no-at-sign\",\"payment_details\":{\"credit_card_bin\":"
        "\"1\"},\"billing_address\":{\"city\":\"Ber\\nlin\","
        "\"country_code\":\"DEU\",\"zip\":\"10115\"}}",
        0, &out));
    ASSERT_EQ(out.dropped, 5);
    collector_view(&out, &b);
    o = &b.items[1];
    ASSERT_STR_EQ(o->pii.ip, "");
    ASSERT_STR_EQ(o->pii.email, "");
    ASSERT(!(o->ev.has & EVENT_HAS_CARD_BIN));
    ASSERT_STR_EQ(o->pii.billing.city, "");
    ASSERT_STR_EQ(o->pii.billing.postal, "10115");
    ASSERT_STR_EQ(o->ev.billing_country, "");
    sfproto_batch_release(&b);
    topics_wipe(&out);
}

#define AT "\"created_at\":\"2024-05-01T09:00:00Z\""

static void
test_strict_types(void)
{
    static const struct {
        const char *json;
        int rc;
        const char *field;
    } cases[] = {
        { "[]", ERR_MALFORMED, "(body)" },
        { "{\"total_price\":\"1.00\",\"currency\":\"USD\"}", ERR_MALFORMED,
            "'id'" },
        { "{\"id\":\"820982911946154508\",\"total_price\":\"1.00\","
          "\"currency\":\"USD\"}",
            ERR_MALFORMED, "'id'" },
        { "{\"id\":-5,\"total_price\":\"1.00\",\"currency\":\"USD\"}",
            ERR_MALFORMED, "'id'" },
        { "{\"id\":1,\"total_price\":403.0,\"currency\":\"USD\"}",
            ERR_MALFORMED, "'total_price'" },
        { "{\"id\":1,\"currency\":\"USD\"," AT "}", ERR_MALFORMED,
            "'total_price'" },
        { "{\"id\":1,\"total_price\":\"1.00\"," AT "}", ERR_MALFORMED,
            "'currency'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"customer\":\"x\"}",
            ERR_MALFORMED, "'customer'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"customer\":{\"id\":1.5}}",
            ERR_MALFORMED, "'customer.id'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"line_items\":{}," AT "}",
            ERR_MALFORMED, "'line_items'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"client_details\":{\"user_agent\":7}," AT "}",
            ERR_MALFORMED, "'client_details.user_agent'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"billing_address\":{\"zip\":40003}," AT "}",
            ERR_MALFORMED, "'billing_address.zip'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"created_at\":\"yesterday\"}",
            ERR_MALFORMED, "'created_at'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\"}",
            ERR_MALFORMED, "'created_at'" }, /* and no trigger time */
        { "{\"id\":1,\"total_price\":\"1.005\",\"currency\":\"USD\","
          "\"created_at\":\"2024-05-01T09:00:00Z\"}",
            ERR_INVAL, "'total_price'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"usd\","
          "\"created_at\":\"2024-05-01T09:00:00Z\"}",
            ERR_INVAL, "'currency'" },
        { "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
          "\"created_at\":\"1999-12-31T23:59:59Z\"}",
            ERR_INVAL, "'created_at'" },
    };
    struct topics_out out;
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        rc = map(TOPICS_ORDERS_CREATE, cases[i].json, 0, &out);
        if (rc != cases[i].rc)
            TEST_FAIL(
                "case %zu: rc %d, want %d (%s)", i, rc, cases[i].rc, out.why);
        if (strstr(out.why, cases[i].field) == NULL)
            TEST_FAIL(
                "case %zu: '%s' does not name %s", i, out.why, cases[i].field);
        ASSERT_EQ(out.n, 0);
    }
    /* Unknown fields are ignored; JSON null is absent. */
    ASSERT_OK(map(TOPICS_ORDERS_CREATE,
        "{\"id\":1,\"total_price\":\"1.00\",\"currency\":\"USD\","
        "\"created_at\":\"2024-05-01T09:00:00Z\",\"brand_new_field\":[1,{}],"
        "\"email\":null,\"browser_ip\":null}",
        0, &out));
    ASSERT_EQ(out.n, 2);
    topics_wipe(&out);
}

static void
test_customers(void)
{
    struct topics_out out;
    struct sfproto_batch b;
    const struct sfproto_item *e;

    ASSERT_OK(map(TOPICS_CUSTOMERS_CREATE, customer_json, T_TRIG, &out));
    ASSERT_EQ(out.n, 1);
    collector_view(&out, &b);
    e = &b.items[0];
    ASSERT_EQ(e->ev.type, EVENT_ACCOUNT_SIGNUP);
    ASSERT_STR_EQ(e->id, WID ":1");
    ASSERT_EQ(e->ev.ts, T_2022);
    ASSERT_STR_EQ(e->pii.account, "706405506930370084");
    ASSERT_STR_EQ(e->pii.email, "bob@biller.com");
    ASSERT_STR_EQ(e->pii.name, "Bob Biller");
    ASSERT_STR_EQ(e->pii.phone, "");
    sfproto_batch_release(&b);

    /* Shopify's test payloads may carry "created_at": null: the trigger
     * time stands in; with neither, the delivery is refused. */
    ASSERT_OK(map(TOPICS_CUSTOMERS_CREATE,
        "{\"id\":5,\"created_at\":null,\"phone\":\"+16135551111\"}", T_TRIG,
        &out));
    ASSERT_EQ(out.ev[0].ev.ts, T_TRIG);
    ASSERT_STR_EQ(out.ev[0].pii.phone, "+16135551111");
    ASSERT_EQ(
        map(TOPICS_CUSTOMERS_CREATE, "{\"id\":5}", 0, &out), ERR_MALFORMED);

    /* customers/update: one account.update per identifier present. */
    ASSERT_OK(map(TOPICS_CUSTOMERS_UPDATE, customer_json, T_TRIG, &out));
    ASSERT_EQ(out.n, 2);
    collector_view(&out, &b);
    ASSERT_EQ(b.items[0].ev.type, EVENT_ACCOUNT_UPDATE);
    ASSERT_EQ(b.items[0].ev.field, EVENT_UPDATE_EMAIL);
    ASSERT_STR_EQ(b.items[0].pii.value, "bob@biller.com");
    ASSERT_EQ(b.items[1].ev.field, EVENT_UPDATE_NAME);
    ASSERT_STR_EQ(b.items[1].pii.value, "Bob Biller");
    ASSERT_STR_EQ(b.items[1].id, WID ":2");
    ASSERT_STR_EQ(b.items[1].pii.account, "706405506930370084");
    ASSERT_EQ(b.items[1].ev.ts, T_2022); /* updated_at */
    sfproto_batch_release(&b);
    ASSERT_OK(map(TOPICS_CUSTOMERS_UPDATE,
        "{\"id\":5,\"updated_at\":\"2024-05-01T09:00:00Z\"}", 0, &out));
    ASSERT_EQ(out.n, 0);
    topics_wipe(&out);
}

static void
test_order_status(void)
{
    static const char paid[] =
        "{\"id\":820982911946154508,\"customer\":{\"id\":603851970716743426},"
        "\"processed_at\":\"2021-12-31T19:00:00-05:00\","
        "\"financial_status\":\"paid\"}";
    struct topics_out out;
    struct sfproto_batch b;
    char json[512];

    ASSERT_OK(map(TOPICS_ORDERS_PAID, paid, T_TRIG, &out));
    ASSERT_EQ(out.n, 1);
    collector_view(&out, &b);
    ASSERT_EQ(b.items[0].ev.type, EVENT_PAYMENT_RESULT);
    ASSERT(b.items[0].ev.ok);
    ASSERT_STR_EQ(b.items[0].pii.order, "820982911946154508");
    ASSERT_EQ(b.items[0].ev.ts, T_TRIG); /* when it was paid */
    sfproto_batch_release(&b);
    /* Without the header, the payload's time. */
    ASSERT_OK(map(TOPICS_ORDERS_PAID, paid, 0, &out));
    ASSERT_EQ(out.ev[0].ev.ts, T_2022);

    snprintf(json, sizeof(json),
        "{\"id\":820982911946154508,\"customer\":{\"id\":7},"
        "\"cancel_reason\":\"%s\","
        "\"cancelled_at\":\"2021-12-31T19:00:00-05:00\"}",
        "fraud");
    ASSERT_OK(map(TOPICS_ORDERS_CANCELLED, json, T_TRIG, &out));
    ASSERT_EQ(out.n, 1);
    collector_view(&out, &b);
    ASSERT_EQ(b.items[0].ev.type, EVENT_LABEL);
    ASSERT(b.items[0].ev.ok); /* fraud */
    ASSERT_STR_EQ(b.items[0].ev.source, "shopify.cancel");
    ASSERT_STR_EQ(b.items[0].pii.order, "820982911946154508");
    ASSERT_STR_EQ(b.items[0].pii.account, "7");
    sfproto_batch_release(&b);

    snprintf(json, sizeof(json),
        "{\"id\":9,\"cancel_reason\":\"declined\","
        "\"cancelled_at\":\"2021-12-31T19:00:00-05:00\"}");
    ASSERT_OK(map(TOPICS_ORDERS_CANCELLED, json, 0, &out));
    collector_view(&out, &b);
    ASSERT_EQ(b.items[0].ev.type, EVENT_PAYMENT_RESULT);
    ASSERT(!b.items[0].ev.ok);
    ASSERT_STR_EQ(b.items[0].ev.method, "declined");
    sfproto_batch_release(&b);

    snprintf(json, sizeof(json),
        "{\"id\":9,\"cancel_reason\":\"customer\","
        "\"cancelled_at\":\"2021-12-31T19:00:00-05:00\"}");
    ASSERT_OK(map(TOPICS_ORDERS_CANCELLED, json, 0, &out));
    ASSERT_EQ(out.n, 0);
    topics_wipe(&out);
}

static void
test_disputes_refunds(void)
{
    struct topics_out out;
    struct sfproto_batch b;

    ASSERT_OK(map(TOPICS_DISPUTES_CREATE, dispute_json, 0, &out));
    ASSERT_EQ(out.n, 1);
    collector_view(&out, &b);
    ASSERT_EQ(b.items[0].ev.type, EVENT_LABEL);
    ASSERT(b.items[0].ev.ok);
    ASSERT_STR_EQ(b.items[0].ev.source, "chargeback");
    ASSERT_STR_EQ(b.items[0].pii.order, "820982911946154508");
    ASSERT_EQ(b.items[0].ev.ts, T_2022); /* initiated_at */
    sfproto_batch_release(&b);

    ASSERT_OK(map(TOPICS_DISPUTES_UPDATE,
        "{\"order_id\":820982911946154508,\"type\":\"chargeback\","
        "\"reason\":\"fraudulent\",\"status\":\"won\"}",
        T_TRIG, &out));
    collector_view(&out, &b);
    ASSERT(!b.items[0].ev.ok); /* won: not fraud */
    ASSERT_STR_EQ(b.items[0].ev.source, "shopify.chargeback.won");
    sfproto_batch_release(&b);

    ASSERT_OK(map(TOPICS_DISPUTES_CREATE,
        "{\"order_id\":1,\"type\":\"chargeback\","
        "\"reason\":\"product_not_received\",\"status\":\"needs_response\"}",
        T_TRIG, &out));
    ASSERT_EQ(out.n, 0);
    ASSERT_OK(map(TOPICS_DISPUTES_CREATE,
        "{\"order_id\":1,\"type\":\"inquiry\",\"reason\":\"fraudulent\"}",
        T_TRIG, &out));
    ASSERT_EQ(out.n, 0);
    ASSERT_OK(map(TOPICS_DISPUTES_CREATE,
        "{\"order_id\":null,\"type\":\"chargeback\",\"reason\":\"fraudulent\"}",
        T_TRIG, &out));
    ASSERT_EQ(out.n, 0);

    ASSERT_OK(map(TOPICS_REFUNDS_CREATE, refund_json, T_TRIG, &out));
    ASSERT_EQ(out.n, 0);
    ASSERT(strstr(out.why, "refund") != NULL);
    topics_wipe(&out);
}

static void
test_topic_table(void)
{
    static const struct {
        const char *name;
        enum topics_kind k;
        bool privacy;
    } cases[] = {
        { "customers/create", TOPICS_CUSTOMERS_CREATE, false },
        { "customers/update", TOPICS_CUSTOMERS_UPDATE, false },
        { "orders/create", TOPICS_ORDERS_CREATE, false },
        { "orders/paid", TOPICS_ORDERS_PAID, false },
        { "orders/cancelled", TOPICS_ORDERS_CANCELLED, false },
        { "refunds/create", TOPICS_REFUNDS_CREATE, false },
        { "disputes/create", TOPICS_DISPUTES_CREATE, false },
        { "disputes/update", TOPICS_DISPUTES_UPDATE, false },
        { "customers/data_request", TOPICS_CUSTOMERS_DATA_REQUEST, true },
        { "customers/redact", TOPICS_CUSTOMERS_REDACT, true },
        { "shop/redact", TOPICS_SHOP_REDACT, true },
        { "app/uninstalled", TOPICS_UNKNOWN, false },
        { "ORDERS/CREATE", TOPICS_UNKNOWN, false },
    };
    struct topics_out out;
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        ASSERT_EQ(topics_kind_parse(cases[i].name), cases[i].k);
        ASSERT_EQ(topics_is_privacy(cases[i].k), cases[i].privacy);
    }
    /* Privacy and unknown topics map to nothing here (http.c answers
     * the privacy ones 501 before mapping). */
    ASSERT_OK(map(TOPICS_SHOP_REDACT, "{\"shop_id\":954889}", 0, &out));
    ASSERT_EQ(out.n, 0);
    ASSERT_OK(map(TOPICS_UNKNOWN, "{}", 0, &out));
    ASSERT_EQ(out.n, 0);

    ASSERT(topics_token_ok(WID, TOPICS_WEBHOOK_ID_MAX));
    ASSERT(topics_token_ok("orders/create", TOPICS_TOPIC_MAX));
    ASSERT(!topics_token_ok("", TOPICS_TOPIC_MAX));
    ASSERT(!topics_token_ok("a b", TOPICS_TOPIC_MAX));
    ASSERT(!topics_token_ok("a\nb", TOPICS_TOPIC_MAX));
    ASSERT(!topics_token_ok("abcd", 3));
    ASSERT(topics_token_ok("abc", 3));
}

/* Every field at the longest the rules keep: the batch still fits
 * TOPICS_FRAME_MAX (http.c allocates exactly that). */
static void
test_worst_case_size(void)
{
    static char json[16384];
    char ua[700], name[257], street[257], email[255], city[65], tok[129];
    struct topics_out out;
    struct sfproto_batch b;

    memset(ua, 'a', sizeof(ua) - 1);
    ua[sizeof(ua) - 1] = '\0';
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memset(street, 's', sizeof(street) - 1);
    street[sizeof(street) - 1] = '\0';
    memset(email, 'e', sizeof(email) - 1);
    memcpy(email + sizeof(email) - 1 - 12, "@example.com", 12);
    email[sizeof(email) - 1] = '\0';
    memset(city, 'c', sizeof(city) - 1);
    city[sizeof(city) - 1] = '\0';
    memset(tok, 't', sizeof(tok) - 1);
    tok[sizeof(tok) - 1] = '\0';
    snprintf(json, sizeof(json),
        "{\"id\":9223372036854775807,\"total_price\":\"10000000000.00\","
        "\"currency\":\"USD\",\"created_at\":\"2024-05-01T09:00:00Z\","
        "\"browser_ip\":\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255\","
        "\"cart_token\":\"%s\",\"email\":\"%s\",\"customer\":{\"id\":"
        "9223372036854775807},\"client_details\":{\"user_agent\":\"%s\","
        "\"accept_language\":\"abcdefghijklmnopqrstuvwxyz-abcdefgh\"},"
        "\"line_items\":[{\"quantity\":10000}],"
        "\"payment_details\":{\"credit_card_bin\":\"12345678\"},"
        "\"billing_address\":{\"name\":\"%s\",\"address1\":\"%s\","
        "\"city\":\"%s\",\"zip\":\"1234567890123456\","
        "\"country_code\":\"US\"},\"shipping_address\":{\"name\":\"%s\","
        "\"address1\":\"%s\",\"city\":\"%s\",\"zip\":"
        "\"1234567890123456\",\"country_code\":\"US\"}}",
        tok, email, ua, name, street, city, name, street, city);
    ASSERT_OK(map(TOPICS_ORDERS_CREATE, json, 0, &out));
    ASSERT_EQ(out.dropped, 0);
    ASSERT_EQ(strlen(out.ev[1].pii.ua), EVENT_UA_MAX);
    collector_view(&out, &b); /* packs into TOPICS_FRAME_MAX */
    sfproto_batch_release(&b);

    snprintf(json, sizeof(json),
        "{\"id\":9223372036854775807,\"email\":\"%s\",\"phone\":"
        "\"+123456789012345678901234567890\",\"first_name\":\"%.127s\","
        "\"last_name\":\"%.128s\",\"updated_at\":\"2024-05-01T09:00:00Z\"}",
        email, name, name);
    ASSERT_OK(map(TOPICS_CUSTOMERS_UPDATE, json, 0, &out));
    ASSERT_EQ(out.n, 3);
    collector_view(&out, &b);
    sfproto_batch_release(&b);
    topics_wipe(&out);
}

/* topics_wipe leaves no byte of a raw identifier. */
static void
test_wipe(void)
{
    static const uint8_t zero[sizeof(struct topics_out)];
    struct topics_out out;

    ASSERT_OK(map(TOPICS_ORDERS_CREATE, order_json, 0, &out));
    topics_wipe(&out);
    ASSERT_MEM_EQ(&out, zero, sizeof(out));
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init");
    topics_json_init();
    RUN(test_orders_create);
    RUN(test_orders_create_variants);
    RUN(test_strict_types);
    RUN(test_customers);
    RUN(test_order_status);
    RUN(test_disputes_refunds);
    RUN(test_topic_table);
    RUN(test_worst_case_size);
    RUN(test_wipe);
    return 0;
}
