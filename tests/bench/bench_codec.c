/*
 * bench_codec.c - the msgpack codec on the hot path, beside its floor
 *
 * Times, per event, what the collector and the scorer do with one order:
 * the storefront decode (sfproto_batch_decode of a 100-order batch), the
 * internal encode into an IPC frame (ipcproto_events_add), and the
 * scorer's decode (ipcproto_events_decode of the frame, then
 * event_decode of each event). The floor is msgpack-c alone doing the
 * least any decoder must: msgpack_unpack of the same internal event
 * bytes into a cleared zone. Prints one line per figure; not a ctest
 * test (timings are not tests on a shared machine).
 *
 *   build/bin/bench-codec [rounds]      (default 2000 rounds of 100)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/ipcproto.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/sfproto.h"
#include "common/wire.h"

#define BATCH 100

/* One realistic order as a storefront sends it (about 480 bytes). */
static void
make_order(struct event *ev, struct event_pii *pii, unsigned i)
{
    memset(ev, 0, sizeof(*ev));
    memset(pii, 0, sizeof(*pii));
    ev->type = EVENT_ORDER_PLACED;
    ev->ts = 1733300000000ULL + i * 1000ULL;
    snprintf(pii->id, sizeof(pii->id), "evt-%08u", i);
    snprintf(pii->account, sizeof(pii->account), "acct-%06u", i % 5000);
    snprintf(pii->session, sizeof(pii->session), "sess-%08u", i);
    snprintf(pii->order, sizeof(pii->order), "ord-%08u", i);
    ev->has = EVENT_HAS_ACCOUNT | EVENT_HAS_SESSION | EVENT_HAS_ORDER |
        EVENT_HAS_IP_COUNTRY | EVENT_HAS_ITEMS;
    snprintf(pii->device, sizeof(pii->device), "dev-%016x", i * 2654435761u);
    snprintf(pii->ip, sizeof(pii->ip), "203.0.%u.%u", (i >> 8) & 255, i & 255);
    snprintf(pii->ua, sizeof(pii->ua),
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36");
    memcpy(ev->ip_country, "GB", 3);
    memcpy(ev->tz, "Europe/London", 14);
    memcpy(ev->lang, "en-GB", 6);
    snprintf(pii->email, sizeof(pii->email), "shopper%u@example.com", i);
    ev->amount = 4999 + i % 20000;
    memcpy(ev->currency, "GBP", 4);
    ev->items = 1 + i % 5;
    memcpy(pii->card_fingerprint, "tok_4111abcd", 13);
    memcpy(ev->card_bin, "411111", 7);
    ev->has |= EVENT_HAS_CARD_BIN;
    memcpy(pii->billing.name, "Ann Lee", 8);
    memcpy(pii->billing.street, "1 High Street", 14);
    memcpy(pii->billing.city, "London", 7);
    memcpy(pii->billing.postal, "SW1A 1AA", 9);
    memcpy(ev->billing_country, "GB", 3);
}

static double
ns_per(uint64_t ns, uint64_t n)
{
    return (double)ns / (double)n;
}

int
main(int argc, char **argv)
{
    static struct event ev[BATCH], back;
    static struct event_pii pii[BATCH];
    static struct ipcproto_events view;
    struct sfproto_batch batch;
    struct wire_dec envd, evd;
    struct buf front, ipc;
    struct wire_enc e;
    struct pseudo_key *key = NULL;
    msgpack_zone zone;
    unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
    uint64_t t0, n = (uint64_t)rounds * BATCH;
    unsigned r, i;
    char tmpl[] = "/tmp/bench-codec-XXXXXX", path[64];

    log_init("bench-codec", 1);
    if (mkdtemp(tmpl) == NULL || rounds == 0)
        return 2;
    snprintf(path, sizeof(path), "%s/pseudonym.key", tmpl);
    if (pseudo_key_open(path, true, &key) != 0)
        return 2;

    /* The storefront frame: a batch of BATCH orders. */
    buf_init(&front, SFPROTO_MAX_MSG_BYTES);
    wire_enc_begin(&e, &front);
    wire_put_array(&e, BATCH);
    for (i = 0; i < BATCH; i++) {
        make_order(&ev[i], &pii[i], i);
        sfproto_event_pack(&e, &ev[i], &pii[i]);
    }
    if (wire_enc_end(&e) != 0)
        return 1;
    sfproto_batch_init(&batch);
    t0 = clock_mono_ns();
    for (r = 0; r < rounds; r++)
        if (sfproto_batch_decode(&batch, front.data, front.len, NULL, 0) != 0)
            return 1;
    printf("storefront decode  %7.0f ns/event  (%zu-byte frame of %d "
           "orders)\n",
        ns_per(clock_mono_ns() - t0, n), front.len, BATCH);
    for (i = 0; i < BATCH; i++) {
        if (batch.items[i].rc != 0)
            return 1;
        ev[i] = batch.items[i].ev;
        pseudo_apply(key, "storefront", &ev[i], &batch.items[i].pii);
    }

    /* The collector's encode of the IPC frame. */
    buf_init(&ipc, IPCPROTO_MAX_BYTES);
    t0 = clock_mono_ns();
    for (r = 0; r < rounds; r++) {
        buf_reset(&ipc);
        if (ipcproto_events_begin(&ipc, r, "storefront", BATCH) != 0)
            return 1;
        for (i = 0; i < BATCH; i++)
            if (ipcproto_events_add(&ipc, &ev[i]) != 0)
                return 1;
    }
    printf("internal encode    %7.0f ns/event  (%zu-byte IPC frame)\n",
        ns_per(clock_mono_ns() - t0, n), ipc.len);

    /* The scorer's decode: envelope, then every event. */
    wire_dec_init(&envd, 64 * 1024);
    wire_dec_init(&evd, 8 * 1024);
    t0 = clock_mono_ns();
    for (r = 0; r < rounds; r++) {
        if (ipcproto_events_decode(&envd, &view, ipc.data, ipc.len) != 0)
            return 1;
        for (i = 0; i < view.n; i++)
            if (event_decode(&evd, &back, view.raw[i], view.rawlen[i]) != 0)
                return 1;
    }
    printf("scorer decode      %7.0f ns/event  (envelope + event_decode)\n",
        ns_per(clock_mono_ns() - t0, n));
    if (memcmp(&back, &ev[BATCH - 1], sizeof(back)) != 0)
        return 1;

    /* Floor: msgpack_unpack alone of the same event bytes. */
    if (!msgpack_zone_init(&zone, 8 * 1024))
        return 2;
    t0 = clock_mono_ns();
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < view.n; i++) {
            msgpack_object o;
            size_t off = 0;

            msgpack_zone_clear(&zone);
            if (msgpack_unpack((const char *)view.raw[i], view.rawlen[i], &off,
                    &zone, &o) != MSGPACK_UNPACK_SUCCESS)
                return 1;
        }
    }
    printf("floor: unpack only %7.0f ns/event  (msgpack-c, no checks)\n",
        ns_per(clock_mono_ns() - t0, n));

    msgpack_zone_destroy(&zone);
    wire_dec_release(&envd);
    wire_dec_release(&evd);
    sfproto_batch_release(&batch);
    buf_release(&front);
    buf_release(&ipc);
    pseudo_key_close(key);
    (void)unlink(path);
    (void)rmdir(tmpl);
    return 0;
}
