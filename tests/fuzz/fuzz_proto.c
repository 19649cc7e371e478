/*
 * fuzz_proto.c - libFuzzer harness for the event-path decoders
 *
 * Feeds the same bytes to the storefront frame decoder (sfproto.h), the
 * internal event decoder (event.h), the IPCPROTO_EVENTS envelope and the
 * IPCPROTO_REPLIES decoder (ipcproto.h). An accepted internal event must
 * re-encode to bytes that decode to the same struct. Built by the fuzz
 * preset (`cmake --preset fuzz`); `ctest -L fuzz` runs it over
 * tests/fuzz/corpus/proto/.
 *
 * See also: common/wire.h, tests/fuzz/CMakeLists.txt
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ipcproto.h"
#include "common/sfproto.h"
#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sfproto_batch batch;
static struct wire_dec dec, edec;
static int batch_ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ipcproto_events view;
    static struct reply replies[SFPROTO_MAX_BATCH];
    struct event ev, back;
    char msg[REPLY_MSG_MAX + 1];
    struct buf out;
    uint64_t tag;
    uint32_t n;
    size_t i;

    if (!batch_ready) {
        sfproto_batch_init(&batch);
        wire_dec_init(&dec, 64 * 1024);
        wire_dec_init(&edec, 8 * 1024);
        batch_ready = 1;
    }
    if (sfproto_batch_decode(&batch, data, size, msg, sizeof(msg)) == 0) {
        if (batch.n < 1 || batch.n > SFPROTO_MAX_BATCH)
            abort();
        for (i = 0; i < batch.n; i++)
            if (batch.items[i].rc > 0 || batch.items[i].rc < ERR_MIN)
                abort();
    } else if (batch.n != 0) {
        abort();
    }

    if (event_decode(&edec, &ev, data, size) == 0) {
        buf_init(&out, IPCPROTO_MAX_BYTES);
        if (event_encode(&out, &ev) != 0 ||
            event_decode(&edec, &back, out.data, out.len) != 0 ||
            memcmp(&ev, &back, sizeof(ev)) != 0)
            abort();
        buf_release(&out);
    }

    if (ipcproto_events_decode(&dec, &view, data, size) == 0)
        for (i = 0; i < view.n; i++)
            (void)event_decode(&edec, &ev, view.raw[i], view.rawlen[i]);

    (void)ipcproto_replies_decode(
        &dec, data, size, &tag, replies, SFPROTO_MAX_BATCH, &n);
    return 0;
}
