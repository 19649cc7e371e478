/*
 * fuzz_proto.c - libFuzzer harness for every proto.c decoder
 *
 * Feeds the same bytes to the storefront frame decoder, the internal
 * event decoder, the PROTO_MSG_EVENTS view and the PROTO_MSG_REPLIES
 * decoder. An accepted internal event must re-encode to bytes that
 * decode to the same struct. Not built by the default CMake; build with
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/fuzz/fuzz_proto.c common/{proto,buf,err,log,xmalloc}.c \
 *     $(pkg-config --cflags --libs msgpack libsodium) -o fuzz_proto
 *
 * See also: common/proto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proto_batch batch;
static int batch_ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_events_view view;
    static struct reply replies[PROTO_MAX_BATCH];
    struct event ev, back;
    char msg[PROTO_MSG_MAX + 1];
    struct buf out;
    uint64_t tag;
    uint32_t n;
    size_t i;

    if (!batch_ready) {
        proto_batch_init(&batch);
        batch_ready = 1;
    }
    if (proto_batch_decode(&batch, data, size, msg, sizeof(msg)) == 0) {
        if (batch.n < 1 || batch.n > PROTO_MAX_BATCH)
            abort();
        for (i = 0; i < batch.n; i++)
            if (batch.items[i].rc > 0 || batch.items[i].rc < ERR_MIN)
                abort();
    } else if (batch.n != 0) {
        abort();
    }

    if (proto_event_decode(&ev, data, size) == 0) {
        buf_init(&out, PROTO_MAX_IPC_BYTES);
        if (proto_event_encode(&out, &ev) != 0 ||
            proto_event_decode(&back, out.data, out.len) != 0 ||
            memcmp(&ev, &back, sizeof(ev)) != 0)
            abort();
        buf_release(&out);
    }

    if (proto_events_view(&view, data, size) == 0)
        for (i = 0; i < view.n; i++)
            (void)proto_event_decode(&ev, view.raw[i], view.rawlen[i]);

    (void)proto_replies_decode(data, size, &tag, replies, PROTO_MAX_BATCH, &n);
    return 0;
}
