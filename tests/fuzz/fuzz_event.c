/*
 * fuzz_event.c - libFuzzer harness: the internal event form (event.h),
 *                what the scorer journals and decodes from the collector
 *
 * The bytes go to event_decode(). An accepted event must encode again
 * (event_encode), decode to the identical struct, and encode to the
 * same bytes (a fixpoint). The scorer also decodes every journaled
 * event at recovery, so this is the journal's record parser too.
 *
 * See also: common/event.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/wire.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wire_dec dec;
    static int ready;
    struct event ev, back;
    struct buf b1, b2;
    int rc;

    if (!ready) {
        wire_dec_init(&dec, 8 * 1024);
        ready = 1;
    }
    rc = event_decode(&dec, &ev, data, size);
    if (rc != 0) {
        if (rc != ERR_MALFORMED && rc != ERR_INVAL)
            fuzzutil_fail("event_decode: unexpected code");
        return 0;
    }
    buf_init(&b1, EVENT_MAX_ENCODED);
    buf_init(&b2, EVENT_MAX_ENCODED);
    if (event_encode(&b1, &ev) != 0)
        fuzzutil_fail("a decoded event does not encode");
    if (event_decode(&dec, &back, b1.data, b1.len) != 0)
        fuzzutil_fail("an encoded event does not decode");
    if (memcmp(&ev, &back, sizeof(ev)) != 0)
        fuzzutil_fail("decode(encode(ev)) != ev");
    if (event_encode(&b2, &back) != 0 || b1.len != b2.len ||
        memcmp(b1.data, b2.data, b1.len) != 0)
        fuzzutil_fail("encode(decode(encode(ev))) != encode(ev)");
    buf_release(&b1);
    buf_release(&b2);
    return 0;
}
