/*
 * reply.h - the answer to one event: code, message, and for an order its
 *           score, decision and reasons
 *
 * The scorer fills a struct reply for every event it receives; the same
 * map goes to the collector (ipcproto.h) and on to the storefront
 * (sfproto.h), so its msgpack form is defined once, here:
 *
 *   id str ("" when the event's id could not be read), ok bool, code str
 *   (err_name(): "ok", "invalid", "malformed", ...), msg str (names the
 *   field and the rule, never the value), and for a scored order.placed
 *   also: score uint 0..100, decision str ("allow", "review", "block"),
 *   reasons array of {code str, text str, value float64}, and when a
 *   model made the score, model str (its version, "<id>@<8 hex>",
 *   scorer/model.h). An error
 *   reply that may succeed later ("busy": over the client's quota or
 *   share; "full": the scorer is out of room) also carries
 *   retry_after_ms uint 1..REPLY_RETRY_MAX_MS, a hint of how long to wait
 *   before resending.
 *
 * Invariants:
 *  - ok == (code == 0); a reply with a score has exactly the 7 keys (8
 *    with model), an error reply 4, or 5 with retry_after_ms.
 *
 * See also: sfproto.h, ipcproto.h, score.h (what fills the score)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_REPLY_H
#define COMMON_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/wire.h"

#define REPLY_MAX_REASONS     8
#define REPLY_REASON_CODE_MAX 32
#define REPLY_REASON_TEXT_MAX 160
#define REPLY_MSG_MAX         160     /* a reply's msg */
#define REPLY_RETRY_MAX_MS    3600000 /* longest retry_after_ms */
#define REPLY_MODEL_MAX       80      /* a model version's text */

enum reply_decision {
    REPLY_DECISION_NONE = 0, /* not an order */
    REPLY_DECISION_ALLOW,
    REPLY_DECISION_REVIEW,
    REPLY_DECISION_BLOCK,
};

/* One reason behind a score. */
struct reply_reason {
    char code[REPLY_REASON_CODE_MAX + 1]; /* e.g. "device_many_accounts" */
    char text[REPLY_REASON_TEXT_MAX + 1]; /* one human sentence */
    double value;                         /* the feature's value */
};

/* One reply, storefront-visible. Plain data: copy it with `=`. */
struct reply {
    char id[EVENT_ID_MAX + 1];
    int code; /* 0 or ERR_*; ok == (code == 0) */
    char msg[REPLY_MSG_MAX + 1];
    bool has_score; /* order.placed accepted */
    uint8_t score;  /* 0..100 */
    enum reply_decision decision;
    uint8_t nreasons;
    struct reply_reason reasons[REPLY_MAX_REASONS];
    char model[REPLY_MODEL_MAX + 1]; /* scored by this model; "": rules */
    uint32_t retry_after_ms;         /* error replies: 0 (none) or the hint */
};

/* "allow", "review", "block" or "" (static). */
const char *reply_decision_name(enum reply_decision d);

/* Parse a decision name; REPLY_DECISION_NONE when unknown or "". */
enum reply_decision reply_decision_parse(const char *name) NONNULL(1);

/*
 * Return the ERR_* code whose err_name() is `name` (0 for "ok"), or 1
 * when no code has that name.
 */
int reply_code_parse(const char *name) NONNULL(1);

/* Fill `r` as an error reply for event `id` (NULL for ""). */
void reply_error(struct reply *r, const char *id, int code, const char *msg)
    NONNULL(1, 4);

/* Pack `r` as one reply map into `e` (wire.h: errors are sticky). */
void reply_pack(struct wire_enc *e, const struct reply *r) NONNULL(1, 2);

/* Append one reply map to `out`. Returns 0 or ERR_TOOBIG. */
int reply_encode(struct buf *out, const struct reply *r) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Strictly read one reply map `o` into `*r` (zeroed first): the four
 * keys, the four and retry_after_ms (an error), or the seven of a
 * score, each once, each of its type and range.
 * Returns 0 or ERR_MALFORMED.
 */
int reply_read(const msgpack_object *o, struct reply *r) WARN_UNUSED
    NONNULL(1, 2);

/* Pack reason list reasons[0..n) (n capped at REPLY_MAX_REASONS). */
void reply_pack_reasons(struct wire_enc *e, const struct reply_reason *reasons,
    unsigned n) NONNULL(1);

/*
 * Read an array of reason maps into reasons[0..REPLY_MAX_REASONS) and
 * its length into `*n`. Returns 0 or ERR_MALFORMED.
 */
int reply_read_reasons(const msgpack_object *o, struct reply_reason *reasons,
    uint8_t *n) WARN_UNUSED NONNULL(1, 2, 3);

#endif
