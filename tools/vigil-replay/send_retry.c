/*
 * send_retry.c - vigil-replay's resends: requests answered busy,
 *                full or unavailable
 *
 * Such a request is kept (retry_keep): its keys stay held, so nothing
 * that must follow its events goes anywhere meanwhile, and its
 * connection takes no other request until it is resent after the
 * reply's hint (resend_due), or until o->timeout since it was first
 * sent. Each busy reply halves the connection's window (send.c
 * slot_done grows it back). count_overtaken counts the events answered
 * while an earlier one they share a key with waited to be resent.
 *
 * See also: send_int.h, send.c, integ.replay_busy
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "common/zsock.h"
#include "tools/vigil-replay/send_int.h"

#define RETRY_DEFAULT_MS 100

/* a busy reply without a hint */
#define RETRY_AGAIN_MS 10 /* the resend met a full socket */
#define NS_PER_MS      1000000ULL

/*
 * Reply codes that ask for the same request again later: "busy" (the
 * collector's queue bound or wait bound, a quota), "full" (the scorer
 * out of room) and "unavailable" (the scorer's queue full, recovering).
 */
bool
retryable(int code)
{
    return code == ERR_BUSY || code == ERR_FULL || code == ERR_UNAVAIL;
}

/*
 * Keep slot `sl` of connection c (its keys still held, so nothing that
 * must follow its events goes anywhere meanwhile, and c takes no other
 * request: conn_ready) to be resent `hint_ms` from now (0: the
 * default). Returns false, keeping nothing, once it has waited
 * o->timeout since it was first sent: then its replies count as given.
 */
bool
retry_keep(struct sender *s, struct conn *c, struct slot *sl, uint32_t hint_ms,
    uint64_t now)
{
    uint64_t limit = (uint64_t)(s->o->timeout * (double)REPLAY_NS_PER_S);

    if (now < sl->first_t0 || now - sl->first_t0 > limit)
        return false;
    sl->retry_at =
        now + (uint64_t)(hint_ms > 0 ? hint_ms : RETRY_DEFAULT_MS) * NS_PER_MS;
    c->retrying++;
    /* Fewer in flight: the service is saturated (fewer busy replies,
     * fewer requests taken behind one waiting to be resent). */
    c->limit = c->limit > 1 ? c->limit / 2 : 1;
    c->credit = 0;
    s->st->busy++;
    return true;
}

/*
 * Slot `b` of connection c was answered while a request sent before it
 * on c waits to be resent: count b's events that share a key with one
 * of those (they overtook an event they should follow; the collector
 * answered the first busy and took the later). Rare: only when busy
 * replies come while several requests are in flight.
 */
void
count_overtaken(struct sender *s, const struct conn *c, const struct slot *b)
{
    for (uint32_t k = 0; k < b->n && k * KEYS_PER_EVENT < b->nholds; k++) {
        const struct hold *hb = &b->holds[k * KEYS_PER_EVENT];

        for (unsigned i = 0; i < c->nslots; i++) {
            const struct slot *a = &c->slots[i];

            if (!a->used || a == b || a->retry_at == 0 ||
                a->first_t0 > b->first_t0 ||
                !keys_meet(a->holds, a->nholds, hb, KEYS_PER_EVENT))
                continue;
            s->st->overtaken++;
            break;
        }
    }
}

/* Encode slot sl's events again (a resend) into a frame. */
static size_t
rebuild_request(struct sender *s, const struct conn *c, struct slot *sl,
    const uint8_t **data)
{
    int rc;

    if (c->query) {
        buf_reset(&s->lbody);
        stream_label(s->d, s->o, sl->evi[0], &s->q);
        if (qproto_request_encode(&s->lbody, &s->q) != 0)
            fatalx("%s: invariant: a label request does not encode", __func__);
        *data = s->lbody.data;
        return s->lbody.len;
    }
    buf_reset(&s->body);
    for (uint32_t k = 0; k < sl->n; k++) {
        struct wire_enc e;

        stream_fill(s->d, sl->evi[k], &s->ev, &s->pii);
        wire_enc_begin(&e, &s->body);
        sfproto_event_pack(&e, &s->ev, &s->pii);
        if (wire_enc_end(&e) != 0)
            fatalx("%s: invariant: a resent batch does not fit", __func__);
    }
    sodium_memzero(&s->pii, sizeof(s->pii));
    if (s->o->batch == 1) {
        *data = s->body.data;
        return s->body.len;
    }
    buf_reset(&s->frame);
    rc = wire_array_header(&s->frame, sl->n);
    if (rc == 0)
        rc = buf_append(&s->frame, s->body.data, s->body.len);
    if (rc != 0)
        fatalx("%s: invariant: a resent batch does not fit", __func__);
    *data = s->frame.data;
    return s->frame.len;
}

/*
 * Resend every request whose retry time has come; `*next_due` gets the
 * earliest retry time still ahead (unchanged when none). Returns 0 or
 * ERR_IO.
 */
int
resend_due(struct sender *s, uint64_t now, uint64_t *next_due)
{
    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];

        for (unsigned j = 0; j < c->nslots && c->retrying > 0; j++) {
            struct slot *sl = &c->slots[j];
            const uint8_t *data;
            struct iovec iov;
            int rc;

            if (!sl->used || sl->retry_at == 0)
                continue;
            if (now < sl->retry_at) {
                if (sl->retry_at < *next_due)
                    *next_due = sl->retry_at;
                continue;
            }
            iov.iov_len = rebuild_request(s, c, sl, &data);
            iov.iov_base = (void *)(uintptr_t)data;
            rc = zsock_send_parts(c->sock, &iov, 1, ZSOCK_DONTWAIT);
            if (rc == ERR_AGAIN) {
                sl->retry_at = now + RETRY_AGAIN_MS * NS_PER_MS;
                if (sl->retry_at < *next_due)
                    *next_due = sl->retry_at;
                continue;
            }
            if (rc != 0) {
                fprintf(
                    stderr, REPLAY_PROGNAME ": send failed: %s\n", err_str(rc));
                return ERR_IO;
            }
            sl->retry_at = 0;
            sl->t0 = now;
            c->retrying--;
            s->st->retried += sl->n;
            s->st->requests++;
        }
    }
    return 0;
}
