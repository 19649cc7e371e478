/*
 * fuzz_sfproto.c - libFuzzer harness: the storefront protocol, the
 *                  collector's whole decode-and-pseudonymize path
 *
 * The bytes are one storefront frame (common/sfproto.h section 1) given
 * to sfproto_batch_decode(), as the collector receives it. Checked:
 *  - the batch invariants (1..SFPROTO_MAX_BATCH items on success, none
 *    on a frame-level error, every item rc 0 or an ERR_* code);
 *  - encode/decode agree: every accepted event, packed back with the
 *    client encoder (sfproto_event_pack), decodes again, and packing
 *    that gives the same bytes (a fixpoint);
 *  - the collector path: pseudo_apply() then event_encode() of every
 *    accepted event succeeds and event_decode() takes it back (what
 *    the collector forwards, the scorer must accept);
 *  - the same bytes as a reply frame (sfproto_replies_decode), whose
 *    replies re-encode to a fixpoint too;
 *  - the same bytes, cut at the first NUL, as a raw identifier of each
 *    kind for pseudo_identifier() (vigilctl's subject report).
 *
 * See also: common/sfproto.h, common/pseudo.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/pseudo.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sfproto_batch batch, again;
static struct wire_dec dec, edec;
static struct pseudo_key *key;
static int ready;

static void
setup(void)
{
    uint8_t raw[32];
    char path[512];

    sfproto_batch_init(&batch);
    sfproto_batch_init(&again);
    wire_dec_init(&dec, 64 * 1024);
    wire_dec_init(&edec, 8 * 1024);
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 7 + 1);
    fuzzutil_write("pseudonym.key", raw, sizeof(raw), 0600, path, sizeof(path));
    if (pseudo_key_open(path, false, &key) != 0)
        fuzzutil_fail("cannot open the pseudonym key");
    ready = 1;
}

/* Pack item `it` as a client would into `out` (emptied first). */
static void
pack(struct buf *out, const struct sfproto_item *it)
{
    struct wire_enc e;

    buf_truncate(out, 0);
    wire_enc_begin(&e, out);
    sfproto_event_pack(&e, &it->ev, &it->pii);
    if (wire_enc_end(&e) != 0)
        fuzzutil_fail("an accepted event does not pack within the cap");
}

static void
check_item(struct sfproto_item *it, struct buf *b1, struct buf *b2)
{
    char msg[REPLY_MSG_MAX + 1];
    struct event back;
    struct buf enc;

    /* Client encoder and decoder agree. */
    pack(b1, it);
    if (sfproto_batch_decode(&again, b1->data, b1->len, msg, sizeof(msg)) !=
            0 ||
        again.n != 1 || again.is_array)
        fuzzutil_fail("a packed event is not one event frame");
    if (again.items[0].rc != 0)
        fuzzutil_fail("a packed accepted event is refused");
    pack(b2, &again.items[0]);
    if (b1->len != b2->len || memcmp(b1->data, b2->data, b1->len) != 0)
        fuzzutil_fail("pack(decode(pack(ev))) differs from pack(ev)");
    if (strcmp(it->id, again.items[0].id) != 0)
        fuzzutil_fail("the event id changed in a round trip");

    /* What the collector forwards, the scorer accepts. */
    pseudo_apply(key, "storefront", &it->ev, &it->pii);
    buf_init(&enc, EVENT_MAX_ENCODED);
    if (event_encode(&enc, &it->ev) != 0)
        fuzzutil_fail("an accepted event does not encode");
    if (event_decode(&edec, &back, enc.data, enc.len) != 0)
        fuzzutil_fail("the scorer refuses an event the collector accepted");
    if (back.type != it->ev.type || back.has != it->ev.has ||
        back.ts != it->ev.ts ||
        memcmp(&back.id, &it->ev.id, sizeof(back.id)) != 0)
        fuzzutil_fail("the internal form changed the event");
    buf_release(&enc);
}

static void
check_replies(const uint8_t *data, size_t size)
{
    static struct reply r1[SFPROTO_MAX_BATCH], r2[SFPROTO_MAX_BATCH];
    struct buf b1, b2;
    uint32_t n1 = 0, n2 = 0, i;

    if (sfproto_replies_decode(&dec, data, size, r1, SFPROTO_MAX_BATCH, &n1) !=
        0)
        return;
    buf_init(&b1, SFPROTO_MAX_REPLY_BYTES);
    buf_init(&b2, SFPROTO_MAX_REPLY_BYTES);
    if (wire_array_header(&b1, n1) != 0)
        fuzzutil_fail("reply array header");
    for (i = 0; i < n1; i++)
        if (reply_encode(&b1, &r1[i]) != 0)
            fuzzutil_fail("a decoded reply does not encode");
    if (sfproto_replies_decode(
            &dec, b1.data, b1.len, r2, SFPROTO_MAX_BATCH, &n2) != 0 ||
        n2 != n1)
        fuzzutil_fail("encoded replies do not decode");
    if (wire_array_header(&b2, n2) != 0)
        fuzzutil_fail("reply array header");
    for (i = 0; i < n2; i++)
        if (reply_encode(&b2, &r2[i]) != 0)
            fuzzutil_fail("a decoded reply does not encode");
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        fuzzutil_fail("replies: encode(decode(encode(r))) differs");
    buf_release(&b1);
    buf_release(&b2);
}

static void
check_identifier(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = { "email", "phone", "name", "address",
        "card", "device", "ip", "bogus" };
    char raw[2048];
    struct pseudo p;
    size_t n = size < sizeof(raw) - 1 ? size : sizeof(raw) - 1;
    int rc;

    memcpy(raw, data, n);
    raw[n] = '\0';
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        rc = pseudo_identifier(key, kinds[k], raw, &p);
        if (rc != 0 && rc != ERR_INVAL && rc != ERR_TOOBIG)
            fuzzutil_fail("pseudo_identifier: unexpected code");
    }
    (void)pseudo_scoped(key, "account", "storefront", raw, &p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[REPLY_MSG_MAX + 1];
    struct buf b1, b2;
    size_t i;
    int rc;

    if (!ready)
        setup();
    rc = sfproto_batch_decode(&batch, data, size, msg, sizeof(msg));
    if (rc == 0) {
        if (batch.n < 1 || batch.n > SFPROTO_MAX_BATCH)
            fuzzutil_fail("a decoded batch of a bad size");
        buf_init(&b1, SFPROTO_MAX_MSG_BYTES);
        buf_init(&b2, SFPROTO_MAX_MSG_BYTES);
        for (i = 0; i < batch.n; i++) {
            if (batch.items[i].rc > 0 || batch.items[i].rc < ERR_MIN)
                fuzzutil_fail("an item rc that is no ERR_* code");
            if (batch.items[i].rc == 0)
                check_item(&batch.items[i], &b1, &b2);
        }
        buf_release(&b1);
        buf_release(&b2);
    } else if (batch.n != 0 || (rc != ERR_MALFORMED && rc != ERR_TOOBIG)) {
        fuzzutil_fail("a refused frame left items or an unexpected code");
    }
    check_replies(data, size);
    check_identifier(data, size);
    return 0;
}
