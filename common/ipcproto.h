/*
 * ipcproto.h - the collector <-> scorer protocol
 *
 * Over ipc://DATA_DIR/scorer.ipc: the scorer binds a ROUTER, each
 * collector connects a DEALER. Every frame is one msgpack array that
 * starts [version, type, ...]; both ends are built from the same tree,
 * but the scorer still decodes every frame strictly (wire.h) since the
 * socket is a local attack surface.
 *
 *   collector -> scorer   [1, IPCPROTO_EVENTS, tag uint64, actor str,
 *                          [bin, ...]]
 *       each bin is one event's internal encoding (event.h), byte for
 *       byte what the scorer journals; 1..SFPROTO_MAX_BATCH of them.
 *   scorer -> collector   [1, IPCPROTO_REPLIES, tag, [reply, ...]]
 *       one reply map (reply.h) per forwarded event, in order.
 *   collector -> scorer   [1, IPCPROTO_REFUSALS, 0, [refusal, ...]]
 *       peers the collector's ZAP handler refused (zauth.h), for the
 *       scorer to record in the audit log; no reply. A refusal is a map
 *       {"k": the peer's CURVE key in Z85 or "", "a": its address, "d":
 *       the ZAP domain, "r": the reason, "n": refusals merged, "f", "l":
 *       first and last, wall clock ms}.
 *
 * `tag` is the collector's own number for the request, echoed so it can
 * match replies to waiting storefronts; the scorer does not interpret it.
 *
 * The order fast lane (issue 11 item 3): each collector connects a
 * second DEALER whose routing id starts with IPCPROTO_FAST_ID (the
 * scorer's automatic ids start with 0) and sends only its fast-lane
 * requests (a few orders) on it. The ROUTER fair-queues the two pipes,
 * so an order is read after at most one bulk batch already waiting;
 * the scorer tells it by the id (ipcproto_fast_id) and ends the group
 * commit soon after it (scorer/group.c). Replies go back on the pipe the
 * request came on; the frames are the same on both.
 *
 * Invariants:
 *  - a decoded events frame borrows the frame's bytes: each raw event
 *    points into it (no copy on the scorer's hot path).
 *
 * See also: event.h, reply.h, scorer/scorer.h (the group commit),
 *           collector/ingest.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_IPCPROTO_H
#define COMMON_IPCPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "common/zauth.h"

#define IPCPROTO_VERSION    1
#define IPCPROTO_MAX_BYTES  (4 * 1024 * 1024) /* one frame, either way */
#define IPCPROTO_MAX_EVENTS SFPROTO_MAX_BATCH

/* Every collector<->scorer message type (the frame's second element). */
enum ipcproto_msg {
    IPCPROTO_EVENTS = 1,   /* collector -> scorer: tag, actor, events[] */
    IPCPROTO_REPLIES = 2,  /* scorer -> collector: tag, replies[] */
    IPCPROTO_REFUSALS = 3, /* collector -> scorer: refused peers[] */
};

/* The fast lane DEALER's routing id: IPCPROTO_FAST_ID, then
 * IPCPROTO_FAST_ID_BYTES - 1 random bytes (unique per collector). */
#define IPCPROTO_FAST_ID       'F'
#define IPCPROTO_FAST_ID_BYTES 9

/* True when a ROUTER identity `id` (`len` bytes) is a fast lane's. */
static inline bool
ipcproto_fast_id(const void *id, size_t len)
{
    return len == IPCPROTO_FAST_ID_BYTES &&
        ((const uint8_t *)id)[0] == IPCPROTO_FAST_ID;
}

/* Refusals in one IPCPROTO_REFUSALS frame, at most. */
#define IPCPROTO_MAX_REFUSALS 256

/*
 * Append the start of an IPCPROTO_EVENTS frame for `nevents` events;
 * then append each with ipcproto_events_add().
 * Returns 0 or ERR_TOOBIG.
 */
int ipcproto_events_begin(struct buf *out, uint64_t tag, const char *actor,
    uint32_t nevents) WARN_UNUSED NONNULL(1, 3);

/* Append one event of the frame. Returns 0 or ERR_TOOBIG. */
int ipcproto_events_add(struct buf *out, const struct event *ev) WARN_UNUSED
    NONNULL(1, 2);

/*
 * A decoded IPCPROTO_EVENTS frame. raw[i][0..rawlen[i]) are the exact
 * internal-event bytes of event i (decode each with event_decode()).
 * Borrowed from the frame; valid while the frame is.
 */
struct ipcproto_events {
    uint64_t tag;
    char actor[EVENT_ID_MAX + 1];
    uint32_t n;
    const uint8_t *raw[IPCPROTO_MAX_EVENTS];
    size_t rawlen[IPCPROTO_MAX_EVENTS];
};

/*
 * Decode the envelope of an IPCPROTO_EVENTS frame with decoder `d`.
 * Returns 0 or ERR_MALFORMED (v is then emptied).
 */
int ipcproto_events_decode(struct wire_dec *d, struct ipcproto_events *v,
    const void *data, size_t len) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Append the start of an IPCPROTO_REPLIES frame for `n` replies; then
 * append each with reply_encode(). Returns 0 or ERR_TOOBIG.
 */
int ipcproto_replies_begin(
    struct buf *out, uint64_t tag, uint32_t n) WARN_UNUSED NONNULL(1);

/*
 * Decode an IPCPROTO_REPLIES frame into `tag` and up to `max` replies;
 * `*n` receives the count. Returns 0 or ERR_MALFORMED.
 */
int ipcproto_replies_decode(struct wire_dec *d, const void *data, size_t len,
    uint64_t *tag, struct reply *replies, uint32_t max, uint32_t *n) WARN_UNUSED
    NONNULL(1, 2, 4, 5, 7);

/*
 * Append a whole IPCPROTO_REFUSALS frame of refusals r[0..n) (n at most
 * IPCPROTO_MAX_REFUSALS) to `out`. Returns 0, ERR_INVAL or ERR_TOOBIG.
 */
int ipcproto_refusals_encode(struct buf *out, const struct zauth_refusal *r,
    size_t n) WARN_UNUSED NONNULL(1, 2);

/*
 * Return the message type of a collector frame (its second element:
 * IPCPROTO_EVENTS or IPCPROTO_REFUSALS), or 0 when it has none.
 */
int ipcproto_msg_type(const void *data, size_t len) NONNULL(1);

/*
 * Decode an IPCPROTO_REFUSALS frame into r[0..max); `*n` gets the count.
 * Strings are checked as text. Returns 0 or ERR_MALFORMED.
 */
int ipcproto_refusals_decode(struct wire_dec *d, const void *data, size_t len,
    struct zauth_refusal *r, size_t max, size_t *n) WARN_UNUSED
    NONNULL(1, 2, 4, 6);

#endif
