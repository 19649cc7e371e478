/*
 * send_open.c - vigil-replay's sender life cycle: allocate, open the
 *               connections, probe them, free
 *
 * sender_new sizes the key table for every key that can be in flight
 * and makes the slots (so a dry run can use them without sockets);
 * sender_open opens the --trace file and the DEALER connections
 * (common/zclient.h); sender_probe proves each way with one uncounted
 * request; sender_free closes and wipes.
 *
 * See also: send_int.h, replay.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "common/sfproto.h"
#include "common/sig.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "common/zclient.h"
#include "common/zsock.h"
#include "tools/vigil-replay/send_int.h"

/* Encode the probe of connection i into s->body. */
static void
probe_build(struct sender *s, unsigned i)
{
    struct wire_enc e;

    buf_reset(&s->body);
    wire_enc_begin(&e, &s->body);
    if (s->conns[i].query) {
        /* A request of no operation: any reply map proves the way. */
        wire_put_map(&e, 4);
        wire_put_str(&e, "v");
        wire_put_uint(&e, QPROTO_VERSION);
        wire_put_str(&e, "op");
        wire_put_str(&e, "vigil-replay.probe");
        wire_put_str(&e, "id");
        wire_put_str(&e, "vigil-replay-probe-q");
        wire_put_str(&e, "purpose");
        wire_put_str(&e, "fraud-prevention");
    } else {
        memset(&s->ev, 0, sizeof(s->ev));
        memset(&s->pii, 0, sizeof(s->pii));
        s->ev.type = EVENT_DEVICE_SEEN;
        s->ev.ts = s->d->nevs > 0 ? s->d->evs[0].ts : EVENT_MIN_TS;
        snprintf(s->pii.id, sizeof(s->pii.id), "vigil-replay-probe-%u", i);
        sfproto_event_pack(&e, &s->ev, &s->pii);
    }
    if (wire_enc_end(&e) != 0)
        fatalx("%s: invariant: the probe does not fit", __func__);
}

/* Does frame p[0..len) answer connection c's probe? */
static bool
probe_answered(
    struct sender *s, const struct conn *c, const void *p, size_t len)
{
    struct qproto_reply qr;
    uint32_t n = 0;

    if (c->query)
        return qproto_reply_decode(&s->dec, &qr, p, len, NULL, 0) == 0;
    return sfproto_replies_decode(&s->dec, p, len, s->replies, 1, &n) == 0 &&
        n == 1;
}

static const char *
conn_endpoint(const struct sender *s, const struct conn *c)
{
    return c->query ? s->o->qconn.endpoint : s->o->conn.endpoint;
}

int
sender_probe(struct sender *s)
{
    struct zsock_pollitem items[REPLAY_MAX_CONNECTIONS + 1];
    bool done[REPLAY_MAX_CONNECTIONS + 1] = { false };
    uint64_t deadline = clock_mono_ns() + PROBE_WAIT_S * REPLAY_NS_PER_S;
    unsigned ndone = 0;

    for (unsigned i = 0; i < s->nconns; i++) {
        struct iovec iov;

        memset(&items[i], 0, sizeof(items[i]));
        items[i].sock = s->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
        probe_build(s, i);
        iov.iov_base = s->body.data;
        iov.iov_len = s->body.len;
        if (zsock_send_parts(s->conns[i].sock, &iov, 1, 0) != 0) {
            fprintf(stderr, REPLAY_PROGNAME ": cannot send to '%s'\n",
                conn_endpoint(s, &s->conns[i]));
            return ERR_UNAVAIL;
        }
    }
    while (ndone < s->nconns) {
        uint64_t now = clock_mono_ns();
        int rc;

        if (now >= deadline || sig_stop) {
            for (unsigned i = 0; i < s->nconns; i++) {
                if (done[i])
                    continue;
                fprintf(stderr,
                    REPLAY_PROGNAME ": no reply from '%s' within %d s; is "
                                    "%s running there%s?\n",
                    conn_endpoint(s, &s->conns[i]), PROBE_WAIT_S,
                    s->conns[i].query ? "vigil-scorer (query_endpoint)" :
                                        "vigil-collector",
                    s->o->conn.insecure ?
                        "" :
                        s->conns[i].query ?
                        ", and does it know --analyst-cert (role analyst)" :
                        ", and does it know this certificate");
                break;
            }
            return ERR_UNAVAIL;
        }
        rc = zsock_poll(items, (int)s->nconns,
            (long)((deadline - now) / 1000000 + 1), NULL);
        if (rc != 0 && rc != ERR_AGAIN)
            return ERR_UNAVAIL;
        for (unsigned i = 0; i < s->nconns; i++) {
            struct zsock_msg m;
            bool ok;

            if (done[i] || !(items[i].revents & ZSOCK_POLLIN))
                continue;
            if (zsock_recv_msg(s->conns[i].sock, &m, ZSOCK_DONTWAIT) != 0)
                continue;
            ok = probe_answered(s, &s->conns[i],
                zsock_msg_data(&m, m.nparts - 1),
                zsock_msg_size(&m, m.nparts - 1));
            zsock_msg_close(&m);
            if (!ok) {
                fprintf(stderr,
                    REPLAY_PROGNAME ": the reply to the probe from '%s' is "
                                    "not a reply map\n",
                    conn_endpoint(s, &s->conns[i]));
                return ERR_MALFORMED;
            }
            done[i] = true;
            ndone++;
        }
    }
    return 0;
}

static bool
stream_has_labels(const struct replay_data *d)
{
    for (size_t i = 0; i < d->nevs; i++)
        if (d->evs[i].kind == RK_LABEL)
            return true;
    return false;
}

struct sender *
sender_new(
    const struct replay_opts *o, struct replay_data *d, struct replay_stats *st)
{
    struct sender *s = xcalloc(1, sizeof(*s));
    size_t need = ((size_t)o->connections * o->inflight * o->batch +
                      o->label_inflight) *
        KEYS_PER_EVENT * 2,
           cap = 1024;

    s->o = o;
    s->d = d;
    s->st = st;
    while (cap < need)
        cap *= 2;
    s->keys = xcalloc(cap, sizeof(*s->keys));
    s->keymask = cap - 1;
    s->ahead = xcalloc(d->nevs > 0 ? d->nevs : 1, 1);
    buf_init(&s->body,
        wire_batch_body_cap(
            SFPROTO_MAX_MSG_BYTES, o->batch > 1 ? SFPROTO_MAX_BATCH : 1));
    buf_init(&s->frame, SFPROTO_MAX_MSG_BYTES);
    buf_init(&s->lbody, QPROTO_MAX_BYTES);
    wire_dec_init(&s->dec, REPLY_ZONE);
    s->replies = xcalloc(SFPROTO_MAX_BATCH, sizeof(*s->replies));
    /* Slots exist before the connections so a dry run can use them. */
    s->qc = stream_has_labels(d) ? (int)o->connections : -1;
    s->nalloc = o->connections + (s->qc >= 0 ? 1 : 0);
    s->conns = xcalloc(s->nalloc, sizeof(*s->conns));
    for (unsigned i = 0; i < s->nalloc; i++) {
        struct conn *c = &s->conns[i];
        unsigned per = (int)i == s->qc ? 1 : o->batch;

        c->query = (int)i == s->qc;
        c->nslots = c->query ? o->label_inflight : o->inflight;
        c->limit = c->nslots;
        c->slots = xcalloc(c->nslots, sizeof(struct slot));
        for (unsigned k = 0; k < c->nslots; k++) {
            c->slots[k].holds =
                xcalloc((size_t)per * KEYS_PER_EVENT, sizeof(struct hold));
            c->slots[k].evi = xcalloc(per, sizeof(size_t));
        }
    }
    return s;
}

int
sender_open(struct sender *s)
{
    const struct replay_opts *o = s->o;
    char err[512];
    int rc;

    if (o->trace != NULL) {
        s->trace = fopen(o->trace, "w");
        if (s->trace == NULL) {
            fprintf(stderr, REPLAY_PROGNAME ": cannot create '%s': %s\n",
                o->trace, strerror(errno));
            return ERR_IO;
        }
        fprintf(s->trace, "seq,conn,type,ts_ms,id,source,ip_country\n");
    }
    if (o->dry_run)
        return 0;
    s->ctx = zsock_ctx_new();
    if (s->ctx == NULL)
        return ERR_IO;
    for (unsigned i = 0; i < s->nalloc; i++) {
        struct conn *c = &s->conns[i];

        rc = zclient_connect(s->ctx, ZSOCK_DEALER,
            c->query ? &o->qconn : &o->conn, &c->sock, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, REPLAY_PROGNAME ": %s%s\n",
                c->query ? "query endpoint: " : "", err);
            return rc;
        }
        s->nconns++;
    }
    return 0;
}

void
sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->nconns; i++)
        zsock_close(s->conns[i].sock);
    for (unsigned i = 0; i < s->nalloc; i++) {
        for (unsigned k = 0; k < s->conns[i].nslots; k++) {
            free(s->conns[i].slots[k].holds);
            free(s->conns[i].slots[k].evi);
        }
        free(s->conns[i].slots);
    }
    free(s->conns);
    zsock_ctx_term(s->ctx);
    if (s->trace != NULL && fclose(s->trace) != 0)
        fprintf(stderr, REPLAY_PROGNAME ": cannot write '%s': %s\n",
            s->o->trace, strerror(errno));
    buf_wipe_release(&s->body);
    buf_wipe_release(&s->frame);
    buf_wipe_release(&s->lbody);
    sodium_memzero(&s->pii, sizeof(s->pii));
    sodium_memzero(&s->q, sizeof(s->q));
    wire_dec_release(&s->dec);
    free(s->replies);
    free(s->keys);
    free(s->ahead);
    free(s);
}
