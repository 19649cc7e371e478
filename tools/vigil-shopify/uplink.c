/*
 * uplink.c - the bridge's side of the storefront protocol: deliveries
 *            to the collector, replies back to the HTTP connections
 *
 * Runs on the main thread. The HTTP threads queue mapped deliveries
 * (uplink_submit: a mutex-guarded ring and an eventfd); this loop sends
 * each one's storefront batch on the DEALER of its shop's Vigil
 * identity, keeps it on a waiting list (oldest first, so the first
 * entry holds the nearest deadline) and in an index by its first event
 * id, and matches every reply frame to its delivery by that id, as
 * vigil-load does. The answer follows from the replies (reply.h codes):
 *   every event ok                                   200
 *   any unavailable, audit, again, shutdown, io, full, busy (over the
 *   shop's quota)                                    503 (Shopify retries)
 *   any conflict                                     409
 *   any other refusal (invalid, denied, ...)         422
 *   no reply within request_budget_ms                503
 * Sockets are opened with ZMQ_IMMEDIATE, so with no collector connected
 * a send fails at once and the delivery gets its 503 at once instead of
 * at the end of its budget.
 *
 * Identities: one DEALER per shop, a CURVE client with the shop's own
 * certificate (name = the shop's domain, role storefront, made by
 * `vigilctl client add`), so the collector records each shop's events
 * under the shop's name; with insecure_dev one plain DEALER for all.
 *
 * Invariants:
 *  - every submitted delivery is answered exactly once: by a reply, by
 *    its deadline, by a failed send, or by uplink_shutdown().
 *  - a frame is wiped as soon as libzmq has copied it.
 *
 * See also: shopify.h, common/sfproto.h, common/zsock.h, http.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cert.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "tools/vigil-shopify/shopify.h"

#define UPLINK_SYNC_MS   1000  /* dedup file sync, at most this often */
#define UPLINK_STATS_MS  10000 /* debug summary of the counters */
#define UPLINK_POLL_MS   1000  /* longest poll wait */
#define UPLINK_RECV_MAX  256   /* frames read per socket per wake-up */
#define UPLINK_REPLY_MAX (64 * 1024)
#define UPLINK_WARN_MS   10000 /* 503 warnings, at most this often */

struct ident {
    void *sock;
    char name[CERT_NAME_MAX + 1]; /* certificate name, or "plain" */
};

/* One entry of the submission ring or the index (a struct, not a bare
 * pointer, so the arrays are sized by their element). */
struct slot {
    struct req *r;
};

struct uplink {
    struct shopify *sh;
    void *ctx;
    struct ident *ids; /* nids, owned */
    unsigned nids;
    unsigned *ident_of; /* per shop index */
    /* Submissions, from the HTTP threads. */
    pthread_mutex_t mu;
    struct slot *q; /* ring of qcap */
    size_t qcap, qhead, qlen;
    size_t total; /* queued + waiting, under mu */
    bool closed;
    int efd;
    /* Waiting for replies (main thread only). */
    struct req *head, *tail;
    struct slot *index; /* open addressing by first event id */
    uint32_t imask;
    struct wire_dec dec;
    struct reply replies[TOPICS_MAX_EVENTS];
    uint64_t unavail_since_warn; /* 503s not yet logged */
    uint64_t next_unavail_warn;  /* monotonic ms */
};

/* --------------------------------------------------------- the index */

static uint32_t
id_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void
index_put(struct uplink *u, struct req *r)
{
    uint32_t i = id_hash(r->first_id) & u->imask;

    while (u->index[i].r != NULL)
        i = (i + 1) & u->imask;
    u->index[i].r = r;
}

static uint32_t
index_find(const struct uplink *u, const char *id)
{
    uint32_t i = id_hash(id) & u->imask;

    while (u->index[i].r != NULL) {
        if (strcmp(u->index[i].r->first_id, id) == 0)
            return i;
        i = (i + 1) & u->imask;
    }
    return UINT32_MAX;
}

/* Remove `r` (which is in the index), shifting back later probes. */
static void
index_del(struct uplink *u, const struct req *r)
{
    uint32_t i = id_hash(r->first_id) & u->imask, j, k;

    while (u->index[i].r != r)
        i = (i + 1) & u->imask;
    j = i;
    for (;;) {
        j = (j + 1) & u->imask;
        if (u->index[j].r == NULL)
            break;
        k = id_hash(u->index[j].r->first_id) & u->imask;
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        u->index[i] = u->index[j];
        i = j;
    }
    u->index[i].r = NULL;
}

/* ----------------------------------------------------------- answers */

/* Take `r` off the waiting list and the index. */
static void
unwait(struct uplink *u, struct req *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        u->head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        u->tail = r->prev;
    r->prev = r->next = NULL;
    index_del(u, r);
}

/* Answer `r` (no longer queued or waiting) and resume its connection. */
static void
answer(struct uplink *u, struct req *r, int status, const char *why)
{
    buf_wipe_release(&r->frame);
    r->status = status;
    r->why = why;
    pthread_mutex_lock(&u->mu);
    u->total--;
    pthread_mutex_unlock(&u->mu);
    http_resume(r);
}

static void
answer_unavailable(struct uplink *u, struct req *r, const char *why)
{
    uint64_t now = clock_mono_ms();

    STAT_INC(u->sh, unavailable);
    /* Say so at the default verbosity, at most once per interval. */
    u->unavail_since_warn++;
    if (now >= u->next_unavail_warn) {
        log_warnx("%llu deliveries answered 503 in the last %d s: %.*s",
            (unsigned long long)u->unavail_since_warn, UPLINK_WARN_MS / 1000,
            (int)strcspn(why, "\n"), why);
        u->unavail_since_warn = 0;
        u->next_unavail_warn = now + UPLINK_WARN_MS;
    }
    answer(u, r, 503, why);
}

static bool
code_is_transient(int code)
{
    return code == ERR_UNAVAIL || code == ERR_AUDIT || code == ERR_AGAIN ||
        code == ERR_SHUTDOWN || code == ERR_IO || code == ERR_FULL ||
        code == ERR_BUSY;
}

/* Decide the answer of `r` from its n replies, and act on a 200. */
static void
conclude(struct uplink *u, struct req *r, const struct reply *rep, uint32_t n)
{
    struct shopify *sh = u->sh;
    bool transient = false, conflict = false, refused = false;
    uint64_t now;
    uint32_t i;
    int rc;

    for (i = 0; i < n; i++) {
        if (rep[i].code == 0)
            continue;
        if (code_is_transient(rep[i].code)) {
            transient = true;
        } else if (rep[i].code == ERR_CONFLICT) {
            conflict = true;
        } else {
            refused = true;
            /* Vigil's messages name the field and the rule, never a
             * value (sfproto.h), so they may be logged. */
            log_warnx("shop '%s' topic '%s' webhook '%s': Vigil refused "
                      "event %u: %s: %s",
                r->shop->domain, r->topic, r->webhook_id, i + 1,
                err_name(rep[i].code), rep[i].msg);
        }
    }
    if (transient) {
        answer_unavailable(u, r, "Vigil is unavailable; retry\n");
        return;
    }
    if (conflict || refused) {
        STAT_INC(sh, refused);
        answer(u, r, conflict ? 409 : 422,
            conflict ? "Vigil holds other events under this webhook's ids\n" :
                       "Vigil refused the events\n");
        return;
    }
    STAT_INC(sh, ok);
    STAT_ADD(sh, events_acked, n);
    now = clock_wall_ms();
    for (i = 0; i < r->nkeys; i++)
        if (seen_add(sh->seen, r->keys[i], now) != 0)
            break; /* logged; Vigil's dedup still holds */
    if (r->is_order && n > 0 && rep[n - 1].has_score) {
        STAT_INC(sh, orders_scored);
        if (sh->risk != NULL) {
            rc = risk_enqueue(sh->risk, r->shop, r->order_gid, &rep[n - 1]);
            if (rc == ERR_FULL)
                STAT_INC(sh, risk_dropped);
        }
    }
    answer(u, r, 200, "ok\n");
}

/* ------------------------------------------------------------ sending */

/* Send a dequeued delivery, or answer it when that cannot be done. */
static void
send_one(struct uplink *u, struct req *r, uint64_t now)
{
    struct ident *id = &u->ids[u->ident_of[r->shop->index]];
    struct iovec iov;
    int rc;

    if (now >= r->deadline_ms) {
        STAT_INC(u->sh, timeouts);
        answer_unavailable(u, r, "Vigil did not answer in time; retry\n");
        return;
    }
    iov.iov_base = r->frame.data;
    iov.iov_len = r->frame.len;
    rc = zsock_send_parts(id->sock, &iov, 1, ZSOCK_DONTWAIT);
    /* libzmq copied the frame: the raw identifiers go now. */
    buf_wipe_release(&r->frame);
    if (rc != 0) {
        log_debug("shop '%s': cannot send to Vigil (%s)", r->shop->domain,
            err_str(rc));
        answer_unavailable(u, r, "Vigil is unavailable; retry\n");
        return;
    }
    STAT_ADD(u->sh, events_sent, r->nevents);
    r->prev = u->tail;
    r->next = NULL;
    if (u->tail != NULL)
        u->tail->next = r;
    else
        u->head = r;
    u->tail = r;
    index_put(u, r);
}

/* Take the oldest request the HTTP threads queued; NULL when none. */
static struct req *
queue_pop(struct uplink *u)
{
    struct req *r = NULL;

    pthread_mutex_lock(&u->mu);
    if (u->qlen > 0) {
        r = u->q[u->qhead].r;
        u->qhead = (u->qhead + 1) % u->qcap;
        u->qlen--;
    }
    pthread_mutex_unlock(&u->mu);
    return r;
}

/* Send everything the HTTP threads queued. */
static void
drain_queue(struct uplink *u)
{
    uint64_t count;
    struct req *r;

    if (read(u->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn("%s: eventfd read", __func__);
    while ((r = queue_pop(u)) != NULL)
        send_one(u, r, clock_mono_ms());
}

/* ---------------------------------------------------------- replies */

static void
on_frame(struct uplink *u, const void *data, size_t len)
{
    uint32_t n = 0, i, slot;
    char want[EVENT_ID_MAX + 1];
    struct req *r;
    int rc;

    rc = sfproto_replies_decode(
        &u->dec, data, len, u->replies, TOPICS_MAX_EVENTS, &n);
    if (rc != 0 || n == 0) {
        STAT_INC(u->sh, malformed_replies);
        return;
    }
    slot = index_find(u, u->replies[0].id);
    if (slot == UINT32_MAX) {
        STAT_INC(u->sh, late_replies);
        return;
    }
    r = u->index[slot].r;
    if (n != r->nevents) {
        STAT_INC(u->sh, malformed_replies);
        return; /* its deadline answers it */
    }
    for (i = 1; i < n; i++) {
        (void)snprintf(want, sizeof(want), "%s:%u", r->webhook_id, i + 1);
        if (strcmp(u->replies[i].id, want) != 0) {
            STAT_INC(u->sh, malformed_replies);
            return;
        }
    }
    unwait(u, r);
    conclude(u, r, u->replies, n);
}

static int
recv_all(struct uplink *u, struct ident *id)
{
    struct zsock_msg m;
    int k, rc;

    for (k = 0; k < UPLINK_RECV_MAX; k++) {
        rc = zsock_recv_msg(id->sock, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return rc;
        if (m.nparts >= 1 && !m.overflow)
            on_frame(u, zsock_msg_data(&m, m.nparts - 1),
                zsock_msg_size(&m, m.nparts - 1));
        else
            STAT_INC(u->sh, malformed_replies);
        zsock_msg_close(&m);
    }
    return 0;
}

/* Answer 503 to every waiting delivery past its deadline. */
static void
expire(struct uplink *u, uint64_t now)
{
    struct req *r;

    while (u->head != NULL && u->head->deadline_ms <= now) {
        r = u->head;
        unwait(u, r);
        STAT_INC(u->sh, timeouts);
        log_debug("shop '%s' webhook '%s': no answer from Vigil in time",
            r->shop->domain, r->webhook_id);
        answer_unavailable(u, r, "Vigil did not answer in time; retry\n");
    }
}

void
uplink_log_stats(struct shopify *sh, bool final)
{
#define S(f) (unsigned long long)atomic_load(&sh->stats.f)
    char line[640];

    (void)snprintf(line, sizeof(line),
        "deliveries=%llu ok=%llu ok_no_events=%llu duplicates=%llu "
        "bad_signature=%llu refused=%llu unavailable=%llu timeouts=%llu "
        "events_sent=%llu events_acked=%llu orders_scored=%llu "
        "fields_dropped=%llu labels_withheld=%llu labels_sent=%llu "
        "labels_unknown=%llu labels_failed=%llu late_replies=%llu "
        "malformed_replies=%llu "
        "risk_posted=%llu risk_failed=%llu risk_dropped=%llu "
        "risk_retries=%llu privacy_ok=%llu privacy_failed=%llu",
        S(deliveries), S(ok), S(ok_no_events), S(duplicates), S(bad_signature),
        S(refused), S(unavailable), S(timeouts), S(events_sent),
        S(events_acked), S(orders_scored), S(fields_dropped),
        S(labels_withheld), S(labels_sent), S(labels_unknown), S(labels_failed),
        S(late_replies), S(malformed_replies), S(risk_posted), S(risk_failed),
        S(risk_dropped), S(risk_retries), S(privacy_ok), S(privacy_failed));
#undef S
    if (final)
        log_info("stats: %s", line);
    else
        log_debug("stats: %s", line);
}

int
uplink_run(struct uplink *u, const volatile sig_atomic_t *stop)
{
    struct zsock_pollitem items[ZSOCK_MAX_POLL];
    uint64_t now = clock_mono_ms(), next_sync = now + UPLINK_SYNC_MS;
    uint64_t next_stats = now + UPLINK_STATS_MS;
    long wait;
    unsigned i;
    int rc = 0;

    memset(items, 0, sizeof(items));
    items[0].fd = u->efd;
    items[0].events = ZSOCK_POLLIN;
    for (i = 0; i < u->nids; i++) {
        items[1 + i].sock = u->ids[i].sock;
        items[1 + i].events = ZSOCK_POLLIN;
    }
    while (!*stop) {
        now = clock_mono_ms();
        wait = (long)(next_sync - now);
        if (u->head != NULL && u->head->deadline_ms < next_sync)
            wait = u->head->deadline_ms > now ?
                (long)(u->head->deadline_ms - now) :
                0;
        if (wait > UPLINK_POLL_MS)
            wait = UPLINK_POLL_MS;
        if (wait < 0)
            wait = 0;
        rc = zsock_poll(items, (int)(1 + u->nids), wait, NULL);
        if (rc == ERR_AGAIN) {
            rc = 0;
            continue; /* a signal: the loop condition decides */
        }
        if (rc != 0)
            break;
        /* Replies first: they free room for new deliveries. */
        for (i = 0; i < u->nids && rc == 0; i++)
            if (items[1 + i].revents & ZSOCK_POLLIN)
                rc = recv_all(u, &u->ids[i]);
        if (rc != 0)
            break;
        if (items[0].revents & ZSOCK_POLLIN)
            drain_queue(u);
        now = clock_mono_ms();
        expire(u, now);
        if (now >= next_sync) {
            /* A failure is logged; Vigil's dedup still holds. */
            if (seen_sync(u->sh->seen) != 0)
                log_debug("dedup file not synced");
            next_sync = now + UPLINK_SYNC_MS;
        }
        if (now >= next_stats) {
            uplink_log_stats(u->sh, false);
            next_stats = now + UPLINK_STATS_MS;
        }
    }
    if (rc == ERR_SHUTDOWN)
        rc = 0;
    return rc;
}

int
uplink_submit(struct uplink *u, struct req *r)
{
    uint64_t one = 1;
    bool wake = false;
    int rc = 0;

    pthread_mutex_lock(&u->mu);
    if (u->closed)
        rc = ERR_SHUTDOWN;
    else if (u->total >= (size_t)u->sh->cfg.max_inflight || u->qlen == u->qcap)
        rc = ERR_FULL;
    if (rc == 0) {
        /* Only the first of a burst wakes the uplink, which drains the
         * queue until it finds it empty (under the lock). */
        wake = u->qlen == 0;
        u->q[(u->qhead + u->qlen) % u->qcap].r = r;
        u->qlen++;
        u->total++;
    }
    pthread_mutex_unlock(&u->mu);
    if (wake && write(u->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_warn("%s: eventfd write", __func__);
    return rc;
}

void
uplink_shutdown(struct uplink *u)
{
    struct req *r;

    pthread_mutex_lock(&u->mu);
    u->closed = true;
    pthread_mutex_unlock(&u->mu);
    while ((r = queue_pop(u)) != NULL)
        answer_unavailable(u, r, "shutting down; retry\n");
    while (u->head != NULL) {
        r = u->head;
        unwait(u, r);
        answer_unavailable(u, r, "shutting down; retry\n");
    }
}

/* ------------------------------------------------------------- open */

/* Open one DEALER; with `cert_path` a CURVE client of `server` as the
 * shop `name`, whose certificate must carry that name and the
 * storefront role (the collector records its events under that name). */
static int
open_ident(struct uplink *u, struct ident *id, const char *name,
    const uint8_t *server, const char *cert_path)
{
    struct cert_secret *secret = NULL;
    struct cert c;
    char err[512];
    int rc;

    TEXT_COPY(id->name, name);
    rc = zsock_open(u->ctx, ZSOCK_DEALER, &id->sock);
    if (rc == 0)
        rc = zsock_setopt_int(id->sock, ZSOCK_OPT_IMMEDIATE, 1);
    if (rc == 0)
        rc = zsock_setopt_i64(id->sock, ZSOCK_OPT_MAXMSGSIZE, UPLINK_REPLY_MAX);
    if (rc != 0)
        return rc;
    if (cert_path != NULL) {
        rc = cert_load(cert_path, &c, &secret, err, sizeof(err));
        if (rc != 0) {
            log_warnx("shop '%s': %s (make it with `vigilctl client add %s "
                      "--role storefront`)",
                name, err, name);
            return rc == ERR_NOTFOUND ? ERR_INVAL : rc;
        }
        if (strcmp(c.name, name) != 0 || strcmp(c.role, "storefront") != 0) {
            log_warnx("shop '%s': certificate '%s' is named '%s' with role "
                      "'%s'; it must be the shop's own, role storefront",
                name, cert_path, c.name, c.role);
            cert_secret_free(secret);
            return ERR_INVAL;
        }
        rc = zsock_curve_client(
            id->sock, server, c.pub, cert_secret_key(secret));
        cert_secret_free(secret);
        if (rc != 0)
            return rc;
    }
    return zsock_connect(id->sock, u->sh->cfg.collector_endpoint);
}

/* The collector's public key: server_key as Z85 or a certificate file,
 * else <keys_dir>/server.key. */
static int
load_server_key(const struct config *c, uint8_t key[ZSOCK_KEY_BYTES])
{
    char path[PATH_MAX], err[512];
    const char *v = c->server_key;
    struct cert srv;
    int rc;

    if (strlen(v) == ZSOCK_Z85_KEY && zsock_z85_decode(key, v) == 0)
        return 0;
    if (v[0] == '\0') {
        if (snprintf(path, sizeof(path), "%s/%s.key", c->keys_dir,
                KEYS_SERVER) >= (int)sizeof(path))
            return ERR_INVAL;
        v = path;
    }
    rc = cert_load(v, &srv, NULL, err, sizeof(err));
    if (rc != 0) {
        log_warnx("server_key: %s (the collector's server.key, or the "
                  "output of `vigilctl server-key`)",
            err);
        return ERR_INVAL;
    }
    memcpy(key, srv.pub, ZSOCK_KEY_BYTES);
    return 0;
}

/* Give every shop its own identity: its certificate under CURVE, or
 * (insecure_dev) the one plain socket for all. */
static int
open_idents(struct uplink *u)
{
    const struct config *c = &u->sh->cfg;
    size_t nshops = shops_count(u->sh->shops), i;
    uint8_t server[ZSOCK_KEY_BYTES];
    char path[PATH_MAX];
    int rc;

    u->ids = xcalloc(nshops + 1, sizeof(*u->ids));
    u->ident_of = xcalloc(nshops, sizeof(*u->ident_of));
    if (!config_has_curve(c)) {
        u->nids = 1;
        return open_ident(u, &u->ids[0], "plain", NULL, NULL);
    }
    if (nshops + 1 >= ZSOCK_MAX_POLL) {
        log_warnx("%zu shops: at most %d Vigil identities", nshops,
            ZSOCK_MAX_POLL - 2);
        return ERR_INVAL;
    }
    rc = load_server_key(c, server);
    if (rc != 0)
        return rc;
    for (i = 0; i < nshops; i++) {
        const struct shop *s = shops_get(u->sh->shops, i);
        int n;

        if (!cert_name_ok(s->domain)) {
            log_warnx("shop '%s': not a valid Vigil client name", s->domain);
            return ERR_INVAL;
        }
        if (c->cert_dir[0] != '\0')
            n = snprintf(
                path, sizeof(path), "%s/%s.key_secret", c->cert_dir, s->domain);
        else
            n = snprintf(path, sizeof(path), "%s/%s/%s.key_secret", c->keys_dir,
                KEYS_SECRETS, s->domain);
        if (n < 0 || n >= (int)sizeof(path))
            return ERR_INVAL;
        rc = open_ident(u, &u->ids[u->nids], s->domain, server, path);
        if (rc != 0)
            return rc;
        u->ident_of[i] = u->nids++;
    }
    sodium_memzero(server, sizeof(server));
    return 0;
}

int
uplink_wait_connected(struct uplink *u, long timeout_ms)
{
    struct zsock_pollitem items[ZSOCK_MAX_POLL];
    uint64_t deadline = clock_mono_ms() + (uint64_t)timeout_ms, now;
    unsigned i, left;
    int rc;

    /* With ZMQ_IMMEDIATE a DEALER is writable only once a connection is
     * up: poll for that, socket by socket. */
    memset(items, 0, sizeof(items));
    for (i = 0; i < u->nids; i++) {
        items[i].sock = u->ids[i].sock;
        items[i].events = ZSOCK_POLLOUT;
    }
    for (;;) {
        rc = zsock_poll(items, (int)u->nids, 0, NULL);
        if (rc != 0 && rc != ERR_AGAIN)
            return rc;
        left = 0;
        for (i = 0; i < u->nids; i++)
            if (!(items[i].revents & ZSOCK_POLLOUT))
                left++;
        now = clock_mono_ms();
        if (left == 0)
            return 0;
        if (now >= deadline) {
            log_warnx("%u of %u Vigil connections not up yet at '%s': "
                      "their deliveries get 503 until they are",
                left, u->nids, u->sh->cfg.collector_endpoint);
            return ERR_UNAVAIL;
        }
        rc = zsock_poll(items, (int)u->nids, (long)(deadline - now), NULL);
        if (rc != 0 && rc != ERR_AGAIN)
            return rc;
    }
}

int
uplink_open(struct shopify *sh, struct uplink **out)
{
    struct uplink *u;
    uint32_t slots = 2;
    int rc;

    *out = NULL;
    u = xcalloc(1, sizeof(*u));
    u->sh = sh;
    u->efd = -1;
    if (pthread_mutex_init(&u->mu, NULL) != 0)
        fatalx("%s: pthread_mutex_init failed", __func__);
    u->qcap = (size_t)sh->cfg.max_inflight;
    u->q = xcalloc(u->qcap, sizeof(*u->q));
    while (slots < 2 * (uint32_t)sh->cfg.max_inflight)
        slots *= 2;
    u->imask = slots - 1;
    u->index = xcalloc(slots, sizeof(*u->index));
    wire_dec_init(&u->dec, UPLINK_REPLY_MAX);
    *out = u; /* uplink_close() undoes a partial open */
    u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->efd < 0) {
        log_warn("%s: eventfd", __func__);
        return ERR_IO;
    }
    u->ctx = zsock_ctx_new();
    if (u->ctx == NULL)
        return ERR_IO;
    rc = open_idents(u);
    if (rc != 0)
        return rc;
    log_info("uplink: %u Vigil %s to '%s'%s", u->nids,
        u->nids == 1 ? "identity" : "identities", sh->cfg.collector_endpoint,
        config_has_curve(&sh->cfg) ? " (CURVE)" :
                                     " (plain: no CURVE configured)");
    return 0;
}

void
uplink_close(struct uplink *u)
{
    unsigned i;

    if (u == NULL)
        return;
    if (u->ids != NULL)
        for (i = 0; i < u->nids + 1; i++)
            zsock_close(u->ids[i].sock);
    zsock_ctx_term(u->ctx);
    if (u->efd >= 0)
        close(u->efd);
    wire_dec_release(&u->dec);
    pthread_mutex_destroy(&u->mu);
    free(u->index);
    free(u->q);
    free(u->ident_of);
    free(u->ids);
    free(u);
}
