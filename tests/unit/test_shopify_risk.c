/*
 * test_shopify_risk.c - unit tests of tools/vigil-shopify/risk.c's
 *                       request body: the documented
 *                       orderRiskAssessmentCreate mutation
 *
 * risk_body() against the shape of the Admin GraphQL API (2026-10):
 * the mutation and its argument name, orderId, riskLevel (LOW, MEDIUM,
 * HIGH for allow, review, block), facts of {description, sentiment}
 * with sentiment in RiskFactSentiment, at most 20 facts, nothing else.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/compiler.h"
#include "common/reply.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/shopify.h"
#include "tools/vigil-shopify/topics.h"

static struct reply
scored(enum reply_decision d, uint8_t score, unsigned nreasons)
{
    struct reply r;
    unsigned i;

    memset(&r, 0, sizeof(r));
    r.has_score = true;
    r.score = score;
    r.decision = d;
    r.nreasons = (uint8_t)nreasons;
    for (i = 0; i < nreasons; i++) {
        snprintf(r.reasons[i].code, sizeof(r.reasons[i].code), "reason_%u", i);
        snprintf(r.reasons[i].text, sizeof(r.reasons[i].text),
            "Reason number %u applies.", i);
        r.reasons[i].value = i + 0.5;
    }
    return r;
}

static json_t *
body_of(const struct reply *r)
{
    char *s = risk_body("gid://shopify/Order/820982911946154508", r);
    json_error_t jerr;
    json_t *root = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);

    risk_body_free(s);
    if (root == NULL)
        TEST_FAIL("body is not JSON: %s", jerr.text);
    return root;
}

static void
test_shape(void)
{
    static const struct {
        enum reply_decision d;
        const char *level, *sentiment;
    } cases[] = {
        { REPLY_DECISION_ALLOW, "LOW", "POSITIVE" },
        { REPLY_DECISION_REVIEW, "MEDIUM", "NEUTRAL" },
        { REPLY_DECISION_BLOCK, "HIGH", "NEGATIVE" },
    };
    size_t i, j;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        struct reply r = scored(cases[i].d, 73, 2);
        json_t *root = body_of(&r), *input, *facts, *f;
        const char *q;

        ASSERT_EQ(json_object_size(root), 2);
        q = json_string_value(json_object_get(root, "query"));
        ASSERT(q != NULL);
        ASSERT(strstr(q,
                   "mutation OrderRiskAssessmentCreate($input: "
                   "OrderRiskAssessmentCreateInput!)") != NULL);
        ASSERT(strstr(q,
                   "orderRiskAssessmentCreate(orderRiskAssessmentInput:"
                   " $input)") != NULL);
        ASSERT(strstr(q, "userErrors") != NULL);
        input = json_object_get(json_object_get(root, "variables"), "input");
        ASSERT(json_is_object(input));
        ASSERT_EQ(json_object_size(input), 3);
        ASSERT_STR_EQ(json_string_value(json_object_get(input, "orderId")),
            "gid://shopify/Order/820982911946154508");
        ASSERT_STR_EQ(json_string_value(json_object_get(input, "riskLevel")),
            cases[i].level);
        facts = json_object_get(input, "facts");
        ASSERT_EQ(json_array_size(facts), 3);
        for (j = 0; j < json_array_size(facts); j++) {
            const char *s;

            f = json_array_get(facts, j);
            ASSERT_EQ(json_object_size(f), 2);
            ASSERT(json_is_string(json_object_get(f, "description")));
            s = json_string_value(json_object_get(f, "sentiment"));
            ASSERT(strcmp(s, "NEGATIVE") == 0 || strcmp(s, "NEUTRAL") == 0 ||
                strcmp(s, "POSITIVE") == 0);
        }
        f = json_array_get(facts, 0);
        ASSERT(strstr(json_string_value(json_object_get(f, "description")),
                   "Vigil fraud score 73/100") != NULL);
        ASSERT_STR_EQ(json_string_value(json_object_get(f, "sentiment")),
            cases[i].sentiment);
        f = json_array_get(facts, 2);
        ASSERT_STR_EQ(json_string_value(json_object_get(f, "description")),
            "Reason number 1 applies. (reason_1 = 1.5)");
        ASSERT_STR_EQ(
            json_string_value(json_object_get(f, "sentiment")), "NEGATIVE");
        json_decref(root);
    }
}

static void
test_fact_limit(void)
{
    struct reply r = scored(REPLY_DECISION_BLOCK, 99, REPLY_MAX_REASONS);
    json_t *root = body_of(&r);
    json_t *facts = json_object_get(
        json_object_get(json_object_get(root, "variables"), "input"), "facts");

    /* One score fact and every reason: within Shopify's 20. */
    ASSERT_EQ(json_array_size(facts), 1 + REPLY_MAX_REASONS);
    ASSERT(json_array_size(facts) <= 20);
    json_decref(root);
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init");
    topics_json_init();
    RUN(test_shape);
    RUN(test_fact_limit);
    return 0;
}
