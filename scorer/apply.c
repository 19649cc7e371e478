/*
 * apply.c - vigil-scorer: apply one event to history, the one path that
 *           live events, query operations and journal replay share
 *
 * scorer_apply() answers a repeated event id with its first reply (or
 * refuses it when the id was first used for another event), otherwise
 * swaps the event's pseudonyms for vault tokens, scores an order against
 * history as it stood before it, applies the event and stores its reply,
 * all in the overlay's current generation. Live and local events are
 * queued for the group's journal append (group.c); replayed ones are in
 * the journal already (recover.c). Replay goes through this same code,
 * so a recovered history and its replies equal the live ones.
 *
 * See also: group.c (the collector groups), recover.c (journal replay),
 * scorer.h (the invariants)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/event.h"
#include "common/reply.h"
#include "scorer/history.h"
#include "scorer/modelsvc.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/vault.h"

/*
 * Answer a repeat of a stored event id: the stored reply when the event
 * is the same one (same digest), after an audit record of that read;
 * ERR_CONFLICT when the id was first used for a different event (an
 * idempotency key cannot be hijacked to read or suppress an order).
 * Returns 0 with `r` filled, or ERR_CONFLICT / ERR_AUDIT / ERR_INVAL.
 */
static int
scorer_repeat(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t digest[HISTORY_DIGEST_BYTES],
    const uint8_t first[HISTORY_DIGEST_BYTES], enum scorer_mode mode,
    struct reply *r)
{
    bool same = sodium_memcmp(digest, first, HISTORY_DIGEST_BYTES) == 0;
    struct event tev;
    uint32_t named;
    int rc;

    if (mode == SCORER_LIVE) {
        /* The record names the subjects that have a token; a repeat
         * makes no salt (nothing of it is stored). */
        rc = vault_tokenize(s->vault, ev, false, &tev, &named, NULL);
        if (rc == 0)
            rc =
                record_event(s, actor, same ? "event.resend" : "event.conflict",
                    same ? AUDIT_OUTCOME_ALLOWED : AUDIT_OUTCOME_DENIED, &tev,
                    named, NULL);
        memset(&tev, 0, sizeof(tev));
        if (rc != 0)
            return rc;
    }
    if (!same) {
        s->stats.conflicts++;
        reply_error(r, NULL, ERR_CONFLICT,
            "id: already used for a different event; not stored");
        return ERR_CONFLICT;
    }
    s->stats.duplicates++;
    return 0;
}

/*
 * The digest a repeated event id is compared by: of the event's bytes;
 * for a label (made by a query op at the scorer's clock) of the event
 * with its time zeroed, so that resending the same label request is a
 * repeat, not a conflict. Returns 0 or ERR_INVAL.
 */
static int
scorer_digest(const struct event *ev, const uint8_t *raw, size_t rawlen,
    uint8_t digest[HISTORY_DIGEST_BYTES])
{
    static struct event copy;
    struct buf b;
    int rc;

    if (ev->type != EVENT_LABEL) {
        crypto_generichash(digest, HISTORY_DIGEST_BYTES, raw, rawlen, NULL, 0);
        return 0;
    }
    copy = *ev;
    copy.ts = 0;
    buf_init(&b, EVENT_MAX_ENCODED);
    rc = event_encode(&b, &copy);
    if (rc == 0)
        crypto_generichash(
            digest, HISTORY_DIGEST_BYTES, b.data, b.len, NULL, 0);
    buf_release(&b);
    return rc == 0 ? 0 : ERR_INVAL;
}

/*
 * The entity kinds (HISTORY_FRESH) of the subjects whose salts `made`
 * lists: their tokens are new, so history need not look up their keys.
 */
static uint32_t
fresh_entities(const struct vault_made *made)
{
    static const struct {
        enum vault_kind v;
        enum entity_kind e;
    } map[] = {
        { VAULT_KIND_ACCOUNT, ENT_ACCOUNT },
        { VAULT_KIND_DEVICE, ENT_DEVICE },
        { VAULT_KIND_IP, ENT_IP },
        { VAULT_KIND_IP24, ENT_IP24 },
        { VAULT_KIND_IP16, ENT_IP16 },
        { VAULT_KIND_CARD, ENT_CARD },
        { VAULT_KIND_EMAIL, ENT_EMAIL },
    };
    uint32_t fresh = 0;
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (made->kinds & (1u << map[i].v))
            fresh |= HISTORY_FRESH(map[i].e);
    return fresh;
}

/*
 * Apply one event whose internal encoding is raw[0..rawlen), taken at
 * `arrival_ms`: answer a repeat with its first reply (scorer_repeat),
 * otherwise swap its pseudonyms for tokens (vault_tokenize(), making
 * salts for new subjects), score it (orders), apply it to history and
 * store its reply with its digest, all in the overlay's current
 * generation. SCORER_LIVE: the event's audit record is buffered and the
 * event queued for the journal append that follows the group's audit
 * sync. SCORER_LOCAL: queued for the journal only (the caller wrote the
 * audit record of the operation). SCORER_REPLAY (`seq`): it is already
 * in the journal (its salts were restored from it).
 *
 * Returns 0 with `r` filled; ERR_CONFLICT with `r` the error reply (not
 * a failure of the group); or an ERR_* from the store or the audit log,
 * after which the overlay may hold part of the event (the caller then
 * recovers it from the journal).
 */
int
scorer_apply(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t *raw, size_t rawlen, enum scorer_mode mode, uint64_t seq,
    uint64_t arrival_ms, struct reply *r)
{
    uint8_t digest[HISTORY_DIGEST_BYTES], first[HISTORY_DIGEST_BYTES];
    struct vault_made made;
    struct features f;
    struct event tev;
    uint32_t named, fresh;
    int rc;

    rc = scorer_digest(ev, raw, rawlen, digest);
    if (rc != 0)
        return rc;
    rc = history_reply_get(s->hist, s->otxn, actor, &ev->id, first, r);
    if (rc == 0)
        return scorer_repeat(s, actor, ev, digest, first, mode, r);
    if (rc != ERR_NOTFOUND)
        return rc;

    /* From here on the event's subjects are tokens (vault.h). */
    rc = vault_tokenize(s->vault, ev, true, &tev, &named, &made);
    if (rc != 0)
        return rc;
    fresh = fresh_entities(&made);
    memset(r, 0, sizeof(*r));
    if (tev.type == EVENT_ORDER_PLACED) {
        rc = history_features(s->hist, s->otxn, actor, &tev, fresh, &f);
        if (rc != 0)
            goto out;
        rc = modelsvc_score(s, actor, &tev, &f, mode != SCORER_REPLAY, r);
        if (rc != 0)
            goto out;
        s->stats.orders++;
    } else if (tev.type == EVENT_LABEL && mode != SCORER_REPLAY) {
        modelsvc_log_label(s, actor, &tev);
    }
    rc = history_apply(s->hist, s->otxn, actor, &tev, fresh, r);
    if (rc == 0)
        rc = history_reply_put(
            s->hist, s->otxn, actor, &ev->id, digest, arrival_ms, r);
    if (rc != 0)
        goto out;

    if (mode != SCORER_REPLAY) {
        struct scorer_jent *je;

        /* Write-ahead audit: the record goes first; the journal append
         * waits until the group's records are durable. */
#ifndef VIGIL_BENCH_NO_EVENT_AUDIT
        if (mode == SCORER_LIVE) {
            /* An order's names the model that scored it (r->model). */
            rc = record_event(s, actor, "event.store", AUDIT_OUTCOME_ALLOWED,
                &tev, named, r->model);
            if (rc != 0)
                goto out;
        }
#else
        /* Benchmark build (CMakeLists.txt): no record; scorer.c's main()
         * refused to start without the acknowledgement. */
        (void)named;
#endif
        je = &s->jpend[s->njpend++];
        je->actor = actor;
        je->raw = raw;
        je->rawlen = rawlen;
        je->arrival_ms = arrival_ms;
        je->made = made;
    } else {
        s->applied_seq = seq;
    }
    if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms();
    s->stats.events++;
out:
    memset(&tev, 0, sizeof(tev));
    return rc;
}
