/*
 * test_qproto.c - unit tests of the query protocol (common/qproto.c)
 *
 * Requests built with msgpack-c's packer are decoded with the right
 * code and a message naming the key for every rule of qproto.h section
 * 1; the id is echoed when it could be read, trailing bytes included.
 * Requests and replies round-trip through the encoders; hostile reply
 * frames are refused.
 *
 * See also: common/qproto.h
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
#include "common/qproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "tests/harness/msgframe.h"
#include "tests/harness/test.h"

static struct wire_dec dec;

static const struct tf base[] = { U("v", 2), S("op", "score.get"),
    S("id", "q-1"), S("purpose", "fraud-prevention"), S("order", "o-1"), END };

/* Decode `base` changed by `chg`; check the code, message and id. */
static void
expect(const struct tf *chg, int code, const char *needle, const char *id,
    int line)
{
    struct qproto_request q;
    struct tf f[MAXF];
    msgpack_sbuffer sb;
    char msg[REPLY_MSG_MAX + 1];
    int rc;

    tf_with(f, base, chg);
    frame_of(&sb, f);
    rc = qproto_request_decode(&dec, &q, sb.data, sb.size, msg, sizeof(msg));
    msgpack_sbuffer_destroy(&sb);
    if (rc != code || (needle != NULL && strstr(msg, needle) == NULL) ||
        strcmp(q.id, id) != 0) {
        fprintf(stderr, "%s:%d: rc %d msg '%s' id '%s'\n", __FILE__, line, rc,
            msg, q.id);
        exit(1);
    }
}

#define EXPECT(chg, code, needle, id)                                          \
    expect((chg), (code), (needle), (id), __LINE__)

static void
test_requests(void)
{
    static const struct tf ok_acct[] = { S("op", "account.get"), DEL("order"),
        S("account", "a-1"), S("storefront", "shop-b"), END };
    static const struct tf v2[] = { U("v", 1), END };
    static const struct tf ok_label[] = { S("op", "label"),
        S("storefront", "shop-a"), B("fraud", true), S("source", "chargeback"),
        S("case", "CB-1"), END };
    static const struct tf label_both[] = { S("op", "label"),
        S("account", "a-1"), B("fraud", true), END };
    static const struct tf label_none[] = { S("op", "label"), DEL("order"),
        B("fraud", true), END };
    static const struct tf label_nofraud[] = { S("op", "label"), END };
    static const struct tf label_src[] = { S("op", "label"), B("fraud", false),
        S("source", "Charge Back"), END };
    static const struct tf sf_space[] = { S("storefront", "shop a"), END };
    static const struct tf case_long[] = {
        S("case",
            "0123456789012345678901234567890123456789012345678901234567890123456789"),
        END
    };
    static const struct tf fraud_score[] = { B("fraud", true), END };
    static const struct tf nov[] = { DEL("v"), END };
    static const struct tf noop[] = { DEL("op"), END };
    static const struct tf badop[] = { S("op", "order.delete"), END };
    static const struct tf nopurpose[] = { DEL("purpose"), END };
    static const struct tf badpurpose[] = { S("purpose", "Fraud Prevention"),
        END };
    static const struct tf colour[] = { S("colour", "blue"), END };
    static const struct tf ordint[] = { U("order", 42), END };
    static const struct tf noorder[] = { DEL("order"), END };
    static const struct tf wrongarg[] = { S("op", "account.get"), END };
    static const struct tf idint[] = { U("id", 7), END };
    static const struct tf idrlo[] = { S("id", "q\xe2\x80\xae"), END };
    static const struct tf c1[] = { S("order", "o\xc2\x85"), END };
    static const struct tf label_ts[] = { S("op", "label"), B("fraud", true),
        U("ts", 1420070400000ULL), END };
    static const struct tf label_ts_old[] = { S("op", "label"),
        B("fraud", true), U("ts", 1000), END };
    static const struct tf ts_score[] = { U("ts", 1420070400000ULL), END };
    static const struct tf rl_ok[] = { S("op", "review.list"), DEL("order"),
        U("limit", 8), S("after", "00ab"), END };
    static const struct tf rl_big[] = { S("op", "review.list"), DEL("order"),
        U("limit", 9), END };
    static const struct tf rl_zero[] = { S("op", "review.list"), DEL("order"),
        U("limit", 0), END };
    static const struct tf rd_ref[] = { S("op", "review.decide"), DEL("order"),
        S("ref", "0123456789abcdef0123456789abcdef"), B("fraud", false), END };
    static const struct tf rd_both[] = { S("op", "review.decide"),
        S("ref", "0123456789abcdef0123456789abcdef"), B("fraud", false), END };
    static const struct tf rd_badref[] = { S("op", "review.decide"),
        DEL("order"), S("ref", "0123456789ABCDEF0123456789ABCDEF"),
        B("fraud", false), END };
    static const struct tf linked[] = { S("op", "linked.get"), DEL("order"),
        S("account", "a-1"), END };
    static const struct tf exp_ok[] = { S("op", "export"), DEL("order"),
        U("limit", 1000), END };
    static const struct tf exp_big[] = { S("op", "export"), DEL("order"),
        U("limit", 1001), END };
    static const struct tf ls_ok[] = { S("op", "list.set"), DEL("order"),
        S("entity", "device"), S("value", "dev 1"), S("list", "block"), END };
    static const struct tf ls_kind[] = { S("op", "list.set"), DEL("order"),
        S("entity", "phone"), S("value", "x"), S("list", "block"), END };
    static const struct tf ls_list[] = { S("op", "list.set"), DEL("order"),
        S("entity", "ip"), S("value", "x"), S("list", "grey"), END };
    static const struct tf ls_novalue[] = { S("op", "list.set"), DEL("order"),
        S("entity", "ip"), S("list", "none"), END };
    static const struct tf lg_ok[] = { S("op", "list.get"), DEL("order"),
        S("entity", "card"), S("value", "fp-1"), END };
    static const struct tf lg_list[] = { S("op", "list.get"), DEL("order"),
        S("entity", "card"), S("value", "fp-1"), S("list", "block"), END };
    struct qproto_request q;
    struct buf out;
    msgpack_sbuffer sb;

    EXPECT(NULL, 0, NULL, "q-1");
    EXPECT(ok_acct, 0, NULL, "q-1");
    EXPECT(v2, ERR_INVAL, "v:", "q-1");
    EXPECT(nov, ERR_INVAL, "v: required", "q-1");
    EXPECT(noop, ERR_INVAL, "op: required", "q-1");
    EXPECT(badop, ERR_INVAL, "op: unknown operation", "q-1");
    EXPECT(nopurpose, ERR_INVAL, "purpose: required", "q-1");
    EXPECT(badpurpose, ERR_INVAL, "purpose", "q-1");
    EXPECT(colour, ERR_INVAL, "colour", "q-1");
    EXPECT(ordint, ERR_INVAL, "order", "q-1");
    EXPECT(noorder, ERR_INVAL, "order: required by score.get", "q-1");
    EXPECT(wrongarg, ERR_INVAL, "order: not an argument of account.get", "q-1");
    EXPECT(idint, ERR_INVAL, "id", "");
    EXPECT(idrlo, ERR_INVAL, "id", "");
    EXPECT(c1, ERR_INVAL, "order", "q-1");
    EXPECT(ok_label, 0, NULL, "q-1");
    EXPECT(label_both, ERR_INVAL, "exactly one of order and account", "q-1");
    EXPECT(label_none, ERR_INVAL, "exactly one of order and account", "q-1");
    EXPECT(label_nofraud, ERR_INVAL, "fraud: required by label", "q-1");
    EXPECT(label_src, ERR_INVAL, "source", "q-1");
    EXPECT(sf_space, ERR_INVAL, "storefront", "q-1");
    EXPECT(case_long, ERR_INVAL, "case", "q-1");
    EXPECT(
        fraud_score, ERR_INVAL, "fraud: not an argument of score.get", "q-1");
    EXPECT(label_ts, 0, NULL, "q-1");
    EXPECT(label_ts_old, ERR_INVAL, "ts:", "q-1");
    EXPECT(ts_score, ERR_INVAL, "ts: not an argument of score.get", "q-1");
    EXPECT(rl_ok, 0, NULL, "q-1");
    EXPECT(rl_big, ERR_INVAL, "limit: at most 8", "q-1");
    EXPECT(rl_zero, ERR_INVAL, "limit:", "q-1");
    EXPECT(rd_ref, 0, NULL, "q-1");
    EXPECT(rd_both, ERR_INVAL, "exactly one of order and ref", "q-1");
    EXPECT(rd_badref, ERR_INVAL, "ref:", "q-1");
    EXPECT(linked, 0, NULL, "q-1");
    EXPECT(exp_ok, 0, NULL, "q-1");
    EXPECT(exp_big, ERR_INVAL, "limit:", "q-1");
    EXPECT(ls_ok, 0, NULL, "q-1");
    EXPECT(ls_kind, ERR_INVAL, "entity:", "q-1");
    EXPECT(ls_list, ERR_INVAL, "list:", "q-1");
    EXPECT(ls_novalue, ERR_INVAL, "value: required by list.set", "q-1");
    EXPECT(lg_ok, 0, NULL, "q-1");
    EXPECT(lg_list, ERR_INVAL, "list: not an argument of list.get", "q-1");

    /* Frame-level: trailing bytes (id still echoed), not a map, junk. */
    {
        char msg[REPLY_MSG_MAX + 1];
        uint8_t junk[] = { 0xc1, 0x00 };

        frame_of(&sb, base);
        msgpack_sbuffer_write(&sb, "\xc0", 1);
        ASSERT_EQ(
            qproto_request_decode(&dec, &q, sb.data, sb.size, msg, sizeof(msg)),
            ERR_MALFORMED);
        ASSERT(strstr(msg, "trailing") != NULL);
        ASSERT_STR_EQ(q.id, "q-1");
        msgpack_sbuffer_destroy(&sb);
        ASSERT_EQ(qproto_request_decode(
                      &dec, &q, "\x92\x01\x02", 3, msg, sizeof(msg)),
            ERR_MALFORMED);
        ASSERT(strstr(msg, "map") != NULL);
        ASSERT_EQ(qproto_request_decode(
                      &dec, &q, junk, sizeof(junk), msg, sizeof(msg)),
            ERR_MALFORMED);
        ASSERT(strstr(msg, "request") != NULL);
        ASSERT_EQ(qproto_request_decode(
                      &dec, &q, junk, QPROTO_MAX_BYTES + 1, msg, sizeof(msg)),
            ERR_TOOBIG);
    }

    /* Encode, decode: the same request (no storefront: left ""). */
    buf_init(&out, QPROTO_MAX_BYTES);
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_ACCOUNT_GET;
    q.args = QPROTO_ARG_ACCOUNT;
    TEXT_COPY(q.id, "q-9");
    TEXT_COPY(q.purpose, "chargeback-review");
    TEXT_COPY(q.case_ref, "CB-2026-0042");
    TEXT_COPY(q.account, "acct-\xc3\xa9");
    ASSERT_OK(qproto_request_encode(&out, &q));
    {
        struct qproto_request back;

        ASSERT_OK(
            qproto_request_decode(&dec, &back, out.data, out.len, NULL, 0));
        ASSERT_MEM_EQ(&back, &q, sizeof(q));
    }
    /* A label round-trips with all its arguments. */
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_LABEL;
    q.args =
        QPROTO_ARG_ORDER | QPROTO_ARG_FRAUD | QPROTO_ARG_SOURCE | QPROTO_ARG_TS;
    q.ts = 1420070400123ULL;
    TEXT_COPY(q.id, "q-10");
    TEXT_COPY(q.purpose, "fraud-prevention");
    TEXT_COPY(q.storefront, "shop-a");
    TEXT_COPY(q.order, "ORD-1");
    q.fraud = true;
    TEXT_COPY(q.source, "chargeback");
    buf_reset(&out);
    ASSERT_OK(qproto_request_encode(&out, &q));
    {
        struct qproto_request back;

        ASSERT_OK(
            qproto_request_decode(&dec, &back, out.data, out.len, NULL, 0));
        ASSERT_MEM_EQ(&back, &q, sizeof(q));
    }
    /* So do the review, export and list arguments. */
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_LIST_SET;
    q.args = QPROTO_ARG_ENTITY | QPROTO_ARG_VALUE | QPROTO_ARG_LIST;
    TEXT_COPY(q.id, "q-11");
    TEXT_COPY(q.purpose, "fraud-prevention");
    TEXT_COPY(q.entity, "email");
    TEXT_COPY(q.value, "Mia.Berg@example.com");
    TEXT_COPY(q.list, "allow");
    buf_reset(&out);
    ASSERT_OK(qproto_request_encode(&out, &q));
    {
        struct qproto_request back;

        ASSERT_OK(
            qproto_request_decode(&dec, &back, out.data, out.len, NULL, 0));
        ASSERT_MEM_EQ(&back, &q, sizeof(q));
    }
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_REVIEW_DECIDE;
    q.args = QPROTO_ARG_REF | QPROTO_ARG_FRAUD;
    TEXT_COPY(q.id, "q-12");
    TEXT_COPY(q.purpose, "fraud-prevention");
    TEXT_COPY(q.ref, "00112233445566778899aabbccddeeff");
    buf_reset(&out);
    ASSERT_OK(qproto_request_encode(&out, &q));
    {
        struct qproto_request back;

        ASSERT_OK(
            qproto_request_decode(&dec, &back, out.data, out.len, NULL, 0));
        ASSERT_MEM_EQ(&back, &q, sizeof(q));
    }
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_EXPORT;
    q.args = QPROTO_ARG_LIMIT | QPROTO_ARG_AFTER;
    q.limit = 250;
    TEXT_COPY(q.id, "q-13");
    TEXT_COPY(q.purpose, "fraud-prevention");
    TEXT_COPY(q.after, "41736865");
    buf_reset(&out);
    ASSERT_OK(qproto_request_encode(&out, &q));
    {
        struct qproto_request back;

        ASSERT_OK(
            qproto_request_decode(&dec, &back, out.data, out.len, NULL, 0));
        ASSERT_MEM_EQ(&back, &q, sizeof(q));
    }
    /* The encoder refuses what the decoder would. */
    q.op = QPROTO_OP_LABEL;
    q.args = QPROTO_ARG_ORDER | QPROTO_ARG_ACCOUNT | QPROTO_ARG_FRAUD;
    buf_reset(&out);
    ASSERT_EQ(qproto_request_encode(&out, &q), ERR_INVAL);
    q.args = QPROTO_ARG_ORDER | QPROTO_ARG_FRAUD;
    q.id[0] = '\0';
    ASSERT_EQ(qproto_request_encode(&out, &q), ERR_INVAL);
    buf_release(&out);
}

static void
test_replies(void)
{
    struct qproto_reply back;
    struct wire_enc e;
    struct buf out;
    char msg[REPLY_MSG_MAX + 1];
    size_t k;

    buf_init(&out, QPROTO_REPLY_MAX);
    /* A result map of the handler's choosing comes back as it was. */
    qproto_reply_begin(&e, &out, "q-1");
    wire_put_map(&e, 2);
    wire_put_str(&e, "order");
    wire_put_str(&e, "o-1");
    wire_put_str(&e, "score");
    wire_put_uint(&e, 64);
    ASSERT_OK(wire_enc_end(&e));
    ASSERT_OK(
        qproto_reply_decode(&dec, &back, out.data, out.len, msg, sizeof(msg)));
    ASSERT_STR_EQ(back.id, "q-1");
    ASSERT_EQ(back.code, 0);
    ASSERT(back.result != NULL);
    ASSERT_EQ(back.result->type, MSGPACK_OBJECT_MAP);
    ASSERT_EQ(back.result->via.map.size, 2);
    ASSERT(wire_is_str(&back.result->via.map.ptr[0].key, "order"));
    ASSERT_EQ(back.result->via.map.ptr[1].val.via.u64, 64);
    /* Every prefix is refused. */
    for (k = 0; k < out.len; k++)
        ASSERT_EQ(
            qproto_reply_decode(&dec, &back, out.data, k, msg, sizeof(msg)),
            ERR_MALFORMED);

    /* An error reply carries no result; ok and code must agree. */
    buf_reset(&out);
    ASSERT_OK(qproto_reply_error_encode(
        &out, "q-3", ERR_DENIED, "purpose: not allowed"));
    ASSERT_OK(
        qproto_reply_decode(&dec, &back, out.data, out.len, msg, sizeof(msg)));
    ASSERT_EQ(back.code, ERR_DENIED);
    ASSERT_STR_EQ(back.msg, "purpose: not allowed");
    ASSERT(back.result == NULL);
    {
        /* {id, ok: true, code: "denied", msg} */
        static const uint8_t bad[] = { 0x84, 0xa2, 'i', 'd', 0xa0, 0xa2, 'o',
            'k', 0xc3, 0xa4, 'c', 'o', 'd', 'e', 0xa6, 'd', 'e', 'n', 'i', 'e',
            'd', 0xa3, 'm', 's', 'g', 0xa0 };
        /* {id, ok: true, code: "ok", msg, result: [1]}: not a map */
        static const uint8_t arr[] = { 0x85, 0xa2, 'i', 'd', 0xa0, 0xa2, 'o',
            'k', 0xc3, 0xa4, 'c', 'o', 'd', 'e', 0xa2, 'o', 'k', 0xa3, 'm', 's',
            'g', 0xa0, 0xa6, 'r', 'e', 's', 'u', 'l', 't', 0x91, 0x01 };
        /* ... result: {1: 2}: a key that is not a string */
        static const uint8_t intkey[] = { 0x85, 0xa2, 'i', 'd', 0xa0, 0xa2, 'o',
            'k', 0xc3, 0xa4, 'c', 'o', 'd', 'e', 0xa2, 'o', 'k', 0xa3, 'm', 's',
            'g', 0xa0, 0xa6, 'r', 'e', 's', 'u', 'l', 't', 0x81, 0x01, 0x02 };

        ASSERT_EQ(qproto_reply_decode(
                      &dec, &back, bad, sizeof(bad), msg, sizeof(msg)),
            ERR_MALFORMED);
        ASSERT_EQ(qproto_reply_decode(
                      &dec, &back, arr, sizeof(arr), msg, sizeof(msg)),
            ERR_MALFORMED);
        ASSERT(strstr(msg, "not a map") != NULL);
        ASSERT_EQ(qproto_reply_decode(
                      &dec, &back, intkey, sizeof(intkey), msg, sizeof(msg)),
            ERR_MALFORMED);
    }
    buf_release(&out);
}

static void
test_ops(void)
{
    int op;

    for (op = QPROTO_OP_NONE + 1; op < QPROTO_OP_COUNT; op++)
        ASSERT_EQ(qproto_op_parse(qproto_op_name((enum qproto_op)op)), op);
    ASSERT_EQ(qproto_op_parse("score"), QPROTO_OP_NONE);
    ASSERT_STR_EQ(qproto_op_name(QPROTO_OP_COUNT), "");
}

int
main(void)
{
    wire_dec_init(&dec, 4096);
    RUN(test_ops);
    RUN(test_requests);
    RUN(test_replies);
    wire_dec_release(&dec);
    return 0;
}
