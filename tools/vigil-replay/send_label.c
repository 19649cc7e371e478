/*
 * send_label.c - vigil-replay's labels: the label requests on the
 *                analyst's query connection
 *
 * Each label goes as one label request (common/qproto.h) on the query
 * connection, with up to o->label_inflight in flight; the scorer makes
 * a batch of them durable together. A label goes in its turn
 * (build_label, from send.c's build_request), inline while a storefront
 * batch is being built (label_inline), or ahead of its turn
 * (send_ahead, up to REPLAY_LABEL_AHEAD_DAYS days ahead of the oldest
 * unanswered event, holding no keys). handle_label_reply matches the
 * replies: a label request's id is its event's id.
 *
 * Invariants:
 *  - labels travel only on the query connection, other events never.
 *  - a label goes only after its own order was answered (send_ahead)
 *    or in its turn in the stream (after the order, and the day barrier
 *    of send_keys.c holds the events after it).
 *
 * See also: send_int.h, send.c (the ordering rules), scorer/query.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "common/sig.h"
#include "tools/vigil-replay/send_int.h"

/*
 * Build the label request of stream event s->next for the query
 * connection c into s->body and hold its keys for `sl`.
 */
size_t
build_label(struct sender *s, unsigned c, struct slot *sl, struct buf *out,
    const uint8_t **data)
{
    unsigned nk;
    int rc;

    buf_reset(out);
    sl->nholds = 0;
    sl->first = s->next;
    stream_label(s->d, s->o, s->next, &s->q);
    rc = qproto_request_encode(out, &s->q);
    if (rc != 0)
        fatalx("%s: invariant: a label request does not encode: %s", __func__,
            err_str(rc));
    snprintf(sl->first_id, sizeof(sl->first_id), "%s", s->q.id);
    sl->evi[0] = s->next;
    nk = event_keys(s, s->next, sl->holds);
    for (unsigned k = 0; k < nk; k++)
        khold(s, &sl->holds[k], (int32_t)c);
    sl->nholds = nk;
    trace_event(s, s->next, c);
    s->next++;
    s->st->sent++;
    s->st->tick_sent++;
    sl->n = 1;
    *data = out->data;
    return out->len;
}

/*
 * While a storefront batch is being built: send the label at s->next on
 * the query connection now, if it may go (no key of it held by another
 * connection, a free slot), so that labels do not cut the batches into
 * the few events between two labels. Returns true when it was sent (or
 * lost to a full queue: either way s->next moved on), false to end the
 * batch there.
 */
bool
label_inline(struct sender *s, uint64_t now)
{
    struct conn *q;
    struct slot *sl;
    const uint8_t *data;
    size_t len;
    int p;

    if (s->qc < 0)
        return false;
    q = &s->conns[s->qc];
    p = placement(s, s->next);
    if ((p != -1 && p != s->qc) || q->blocked || q->inflight >= q->limit ||
        q->retrying > 0)
        return false;
    sl = free_slot(q);
    len = build_label(s, (unsigned)s->qc, sl, &s->lbody, &data);
    if (s->o->dry_run) {
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        s->st->requests++;
        return true;
    }
    return dispatch(s, (unsigned)s->qc, sl, data, len, now) != ERR_IO;
}

/*
 * The earliest UTC day of a storefront event in flight or waiting to be
 * resent, or UINT64_MAX when none is.
 */
static uint64_t
inflight_min_day(const struct sender *s)
{
    uint64_t day = UINT64_MAX;

    for (unsigned i = 0; i < s->nconns; i++) {
        const struct conn *c = &s->conns[i];

        if (c->query)
            continue;
        for (unsigned k = 0; k < c->nslots && c->inflight > 0; k++)
            if (c->slots[k].used && c->slots[k].n > 0 &&
                ev_day(s, c->slots[k].evi[0]) < day)
                day = ev_day(s, c->slots[k].evi[0]);
    }
    return day;
}

/*
 * Send labels ahead of their turn in the stream: a label of UTC day L
 * once no event of day L - REPLAY_LABEL_AHEAD_DAYS - 1 or earlier is
 * unanswered (in flight or still to send), after its own order was
 * answered, in stream order among labels. Such a label counts for no
 * order of day L or earlier (history.h: labels count from the next UTC
 * day, by day; the country counters keep the last 16 days apart,
 * history_model.c), so the events it skips over may be applied before
 * or after it alike, and it holds no keys. What it buys: by the time
 * the stream reaches day L + 1, whose events must wait for every label
 * of day L (the day barrier, placement()), those labels were answered
 * long before, and the stream does not stop at every day.
 */
int
send_ahead(struct sender *s, uint64_t now)
{
    struct conn *q;
    uint64_t head, lowest;

    if (s->qc < 0 || s->next >= s->d->nevs)
        return 0;
    q = &s->conns[s->qc];
    head = ev_day(s, s->next);
    lowest = inflight_min_day(s);
    if (head < lowest)
        lowest = head;
    if (s->lnext < s->next)
        s->lnext = s->next;
    while (s->lnext < s->d->nevs && !sig_stop) {
        size_t j = s->lnext;
        const struct replay_ev *e = &s->d->evs[j];
        struct slot *sl;
        const uint8_t *data;
        size_t len, saved;
        uint64_t day = ev_day(s, j);
        int rc;

        if (e->kind != RK_LABEL || s->ahead[j]) {
            if (day > head + REPLAY_LABEL_AHEAD_DAYS)
                break;
            s->lnext++;
            continue;
        }
        if (day > lowest + REPLAY_LABEL_AHEAD_DAYS ||
            !s->d->rows[e->row].answered || q->blocked ||
            q->inflight >= q->limit || q->retrying > 0)
            break;
        /* build_label() sends stream event s->next: point it here. */
        saved = s->next;
        s->next = j;
        sl = free_slot(q);
        len = build_label(s, (unsigned)s->qc, sl, &s->lbody, &data);
        s->next = saved;
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        sl->nholds = 0;
        s->ahead[j] = 1;
        s->lnext = j + 1;
        rc = dispatch(s, (unsigned)s->qc, sl, data, len, now);
        if (rc == ERR_IO)
            return rc;
    }
    return 0;
}

/* The reply to a label request on the query connection. */
void
handle_label_reply(
    struct sender *s, struct conn *c, const uint8_t *p, size_t len)
{
    struct qproto_reply qr;
    struct reply rep;
    struct slot *sl;

    if (qproto_reply_decode(&s->dec, &qr, p, len, NULL, 0) != 0 ||
        qr.id[0] == '\0') {
        sl = find_slot(c, "");
        s->st->malformed++;
        if (sl != NULL) {
            s->st->lost += sl->n;
            slot_done(s, c, sl);
        }
        return;
    }
    sl = find_slot(c, qr.id);
    if (sl == NULL || sl->retry_at != 0) {
        s->st->late++;
        return;
    }
    if (retryable(qr.code) &&
        retry_keep(s, c, sl, qr.retry_after_ms, clock_mono_ns()))
        return;
    if (c->retrying > 0)
        count_overtaken(s, c, sl);
    memset(&rep, 0, sizeof(rep));
    rep.code = qr.code;
    snprintf(rep.msg, sizeof(rep.msg), "%s", qr.msg);
    note_reply(s, sl->evi[0], &rep, qr.code);
    slot_done(s, c, sl);
}
