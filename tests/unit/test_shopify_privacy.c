/*
 * test_shopify_privacy.c - unit tests of tools/vigil-shopify/privacy.c's
 *                          parser of the three mandatory privacy topics
 *
 * privacy_parse() on Shopify's documented payloads
 * (shopify.dev/docs/apps/build/compliance/privacy-law-compliance):
 * customers/data_request gives the customer, orders_requested and the
 * case reference "shopify-data-request-<data_request.id>";
 * customers/redact the customer, orders_to_redact and the case
 * "shopify-webhook-<webhook id>"; shop/redact nothing to erase by id.
 * Refusals: another shop's domain (422), wrong types and missing
 * required fields (400), too many orders (422), each naming the field
 * and never a value.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/err.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/privacy.h"
#include "tools/vigil-shopify/topics.h"

#define SHOP "example-shop.myshopify.com"
#define WID  "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"

static int
parse(enum topics_kind k, const char *text, struct privacy_job **job)
{
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    int rc;

    if (root == NULL)
        TEST_FAIL("bad test JSON: %s", e.text);
    rc = privacy_parse(k, root, SHOP, WID, job);
    json_decref(root);
    return rc;
}

static void
test_documented(void)
{
    struct privacy_job *j;

    ASSERT_OK(parse(TOPICS_CUSTOMERS_DATA_REQUEST,
        "{\"shop_id\":954889,\"shop_domain\":\"" SHOP "\","
        "\"orders_requested\":[299938,280263,220458],"
        "\"customer\":{\"id\":191167,\"email\":\"john@example.com\","
        "\"phone\":\"555-625-1199\"},\"data_request\":{\"id\":9999}}",
        &j));
    ASSERT_STR_EQ(j->customer, "191167");
    ASSERT_STR_EQ(j->email, "john@example.com");
    ASSERT_STR_EQ(j->phone, "555-625-1199");
    ASSERT_EQ(j->norders, 3u);
    ASSERT_STR_EQ(j->orders[0], "299938");
    ASSERT_STR_EQ(j->orders[2], "220458");
    ASSERT_STR_EQ(j->case_ref, "shopify-data-request-9999");
    privacy_job_free(j);

    ASSERT_OK(parse(TOPICS_CUSTOMERS_REDACT,
        "{\"shop_id\":954889,\"shop_domain\":\"" SHOP "\","
        "\"customer\":{\"id\":191167,\"email\":\"john@example.com\","
        "\"phone\":\"555-625-1199\"},\"orders_to_redact\":[299938,280263]}",
        &j));
    ASSERT_STR_EQ(j->customer, "191167");
    ASSERT_EQ(j->norders, 2u);
    ASSERT_STR_EQ(j->case_ref, "shopify-webhook-" WID);
    privacy_job_free(j);

    /* A webhook id qproto's case rule would refuse: its hash instead. */
    {
        json_t *root = json_pack("{s:{s:i}}", "customer", "id", 1);

        ASSERT_OK(
            privacy_parse(TOPICS_CUSTOMERS_REDACT, root, SHOP, "a:b/c", &j));
        ASSERT_EQ(strlen(j->case_ref), strlen("shopify-webhook-") + 32);
        ASSERT(strstr(j->case_ref, "a:b") == NULL);
        privacy_job_free(j);
        json_decref(root);
    }

    ASSERT_OK(parse(TOPICS_SHOP_REDACT,
        "{\"shop_id\":954889,\"shop_domain\":\"" SHOP "\"}", &j));
    ASSERT_STR_EQ(j->customer, "");
    ASSERT_EQ(j->norders, 0u);
    privacy_job_free(j);

    /* A customer without orders, and orders without a customer. */
    ASSERT_OK(parse(TOPICS_CUSTOMERS_REDACT,
        "{\"customer\":{\"id\":5},\"orders_to_redact\":[]}", &j));
    ASSERT_EQ(j->norders, 0u);
    privacy_job_free(j);
    ASSERT_OK(parse(TOPICS_CUSTOMERS_REDACT,
        "{\"customer\":null,\"orders_to_redact\":[7]}", &j));
    ASSERT_STR_EQ(j->customer, "");
    ASSERT_STR_EQ(j->orders[0], "7");
    privacy_job_free(j);
}

static void
test_refused(void)
{
    static const struct {
        enum topics_kind k;
        const char *body;
        int rc;
        const char *field;
    } cases[] = {
        { TOPICS_CUSTOMERS_REDACT,
            "{\"shop_domain\":\"other.myshopify.com\",\"customer\":{\"id\":1}}",
            ERR_INVAL, "shop_domain" },
        { TOPICS_SHOP_REDACT, "{\"shop_domain\":7}", ERR_INVAL, "shop_domain" },
        { TOPICS_CUSTOMERS_DATA_REQUEST, "{\"customer\":{\"id\":1}}",
            ERR_MALFORMED, "data_request.id" },
        { TOPICS_CUSTOMERS_DATA_REQUEST,
            "{\"customer\":{\"id\":\"1\"},\"data_request\":{\"id\":2}}",
            ERR_MALFORMED, "customer.id" },
        { TOPICS_CUSTOMERS_REDACT, "{\"customer\":{\"id\":-4}}", ERR_MALFORMED,
            "customer.id" },
        { TOPICS_CUSTOMERS_REDACT, "{\"orders_to_redact\":[1]}", 0, "" },
        { TOPICS_CUSTOMERS_REDACT, "{}", ERR_MALFORMED, "customer.id" },
        { TOPICS_CUSTOMERS_REDACT,
            "{\"customer\":{\"id\":1},\"orders_to_redact\":\"1\"}",
            ERR_MALFORMED, "orders_to_redact" },
        { TOPICS_CUSTOMERS_REDACT,
            "{\"customer\":{\"id\":1},\"orders_to_redact\":[1,\"2\"]}",
            ERR_MALFORMED, "orders_to_redact" },
        { TOPICS_CUSTOMERS_REDACT, "[1]", ERR_MALFORMED, "body" },
        { TOPICS_CUSTOMERS_REDACT, "{\"customer\":{\"id\":1,\"email\":5}}",
            ERR_MALFORMED, "customer.email" },
        { TOPICS_CUSTOMERS_REDACT, "{\"customer\":7}", ERR_MALFORMED,
            "customer" },
        { TOPICS_ORDERS_CREATE, "{}", ERR_INVAL, "topic" },
    };
    struct privacy_job *j;
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        rc = parse(cases[i].k, cases[i].body, &j);
        if (rc != cases[i].rc ||
            strncmp(j->why, cases[i].field, strlen(cases[i].field)) != 0)
            TEST_FAIL("case %zu: rc %d, why '%s'", i, rc, j->why);
        privacy_job_free(j);
    }
}

static void
test_too_many_orders(void)
{
    char body[16 * 1024];
    struct privacy_job *j;
    size_t n = 0, i;

    n += (size_t)snprintf(body + n, sizeof(body) - n,
        "{\"customer\":{\"id\":1},\"orders_to_redact\":[");
    for (i = 0; i <= PRIVACY_MAX_ORDERS; i++)
        n += (size_t)snprintf(
            body + n, sizeof(body) - n, "%s%zu", i > 0 ? "," : "", i + 1);
    (void)snprintf(body + n, sizeof(body) - n, "]}");
    ASSERT_EQ(parse(TOPICS_CUSTOMERS_REDACT, body, &j), ERR_INVAL);
    ASSERT(strstr(j->why, "orders_to_redact") != NULL);
    ASSERT(strstr(j->why, "1001") == NULL); /* names no value */
    privacy_job_free(j);
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init");
    topics_json_init();
    RUN(test_documented);
    RUN(test_refused);
    RUN(test_too_many_orders);
    return 0;
}
