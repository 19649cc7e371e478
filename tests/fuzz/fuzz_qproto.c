/*
 * fuzz_qproto.c - libFuzzer harness: the query protocol, both ways
 *
 * The bytes go to qproto_request_decode() (what the scorer's query
 * endpoint does with every frame, before any authorization) and to
 * qproto_reply_decode() (what vigilctl does with the scorer's answer).
 * Checked: a decoded request encodes again (qproto_request_encode),
 * decodes to the identical struct and encodes to the same bytes; a
 * decoded error reply, encoded again, decodes to the same id, code and
 * message; a reply with a result is never an error and the reverse.
 *
 * See also: common/qproto.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/qproto.h"
#include "common/wire.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire_dec dec;

static void
check_request(const uint8_t *data, size_t size)
{
    struct qproto_request q, q2;
    char msg[REPLY_MSG_MAX + 1];
    struct buf b1, b2;
    int rc;

    rc = qproto_request_decode(&dec, &q, data, size, msg, sizeof(msg));
    if (rc != 0) {
        if (rc != ERR_MALFORMED && rc != ERR_INVAL && rc != ERR_TOOBIG)
            fuzzutil_fail("request: unexpected code");
        if (memchr(msg, '\0', sizeof(msg)) == NULL)
            fuzzutil_fail("request: message not terminated");
        return;
    }
    buf_init(&b1, QPROTO_MAX_BYTES);
    buf_init(&b2, QPROTO_MAX_BYTES);
    if (qproto_request_encode(&b1, &q) != 0)
        fuzzutil_fail("request: a decoded request does not encode");
    if (qproto_request_decode(&dec, &q2, b1.data, b1.len, msg, sizeof(msg)) !=
        0)
        fuzzutil_fail("request: an encoded request does not decode");
    if (memcmp(&q, &q2, sizeof(q)) != 0)
        fuzzutil_fail("request: decode(encode(q)) != q");
    if (qproto_request_encode(&b2, &q2) != 0 || b1.len != b2.len ||
        memcmp(b1.data, b2.data, b1.len) != 0)
        fuzzutil_fail("request: encode(decode(encode(q))) != encode(q)");
    buf_release(&b1);
    buf_release(&b2);
}

static void
check_reply(const uint8_t *data, size_t size)
{
    struct qproto_reply r, r2;
    char msg[REPLY_MSG_MAX + 1];
    struct buf b;

    if (qproto_reply_decode(&dec, &r, data, size, msg, sizeof(msg)) != 0)
        return;
    if ((r.code == 0) != (r.result != NULL))
        fuzzutil_fail("reply: a result without ok, or ok without one");
    if (r.result != NULL && r.result->type != MSGPACK_OBJECT_MAP)
        fuzzutil_fail("reply: a result that is not a map");
    if (r.code == 0)
        return;
    buf_init(&b, QPROTO_REPLY_MAX);
    if (qproto_reply_error_encode(&b, r.id, r.code, r.msg) != 0)
        fuzzutil_fail("reply: a decoded error does not encode");
    if (qproto_reply_decode(&dec, &r2, b.data, b.len, msg, sizeof(msg)) != 0 ||
        r2.code != r.code || strcmp(r2.id, r.id) != 0 ||
        strcmp(r2.msg, r.msg) != 0 || r2.result != NULL)
        fuzzutil_fail("reply: an error changed in a round trip");
    buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready) {
        wire_dec_init(&dec, 64 * 1024);
        ready = 1;
    }
    check_request(data, size);
    check_reply(data, size);
    return 0;
}
