/*
 * record.c - the scorer's audit records (record.h)
 *
 * Builds each record from what the access touched, appends it, and
 * keeps the subject index in step. Main thread only.
 *
 * See also: record.h, common/audit.h, common/subjidx.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/log.h"
#include "common/subjidx.h"
#include "common/text.h"
#include "scorer/record.h"
#include "scorer/scorer.h"

/* Index the subjects of record `index` (through the overlay). */
static int
record_index(struct scorer *s, const struct audit_record *r, uint64_t index)
{
    unsigned i;
    int rc;

    for (i = 0; i < r->nsubj; i++) {
        rc = subjidx_put(s->otxn, s->dbi_subject, r->subj[i], index);
        if (rc != 0)
            return rc;
    }
    s->indexed = index + 1;
    return 0;
}

/* After appending record `index`: index its subjects; if that fails, the
 * index is rebuilt from the log (recovery). */
static void
record_indexed(struct scorer *s, const struct audit_record *r, uint64_t index)
{
    if (record_index(s, r, index) != 0)
        s->needs_recovery = true;
    else if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms(); /* the index entries need a flush */
}

int
record_now(struct scorer *s, struct audit_record *r)
{
    uint64_t index;
    int rc;

    r->ts_ms = clock_wall_ms();
    rc = audit_append(s->audit, r, &index);
    if (rc == 0)
        rc = audit_commit(s->audit, NULL, NULL);
    if (rc != 0) {
        log_warnx("audit record for '%s' not written: %s", r->op, err_str(rc));
        return ERR_AUDIT;
    }
    record_indexed(s, r, index);
    return 0;
}

int
record_append(struct scorer *s, struct audit_record *r)
{
    uint64_t index;
    int rc;

    r->ts_ms = clock_wall_ms();
    rc = audit_append(s->audit, r, &index);
    if (rc != 0) {
        log_warnx("audit record for '%s' not appended: %s", r->op, err_str(rc));
        return rc == ERR_INVAL ? ERR_INVAL : ERR_AUDIT;
    }
    record_indexed(s, r, index);
    return 0;
}

/* Add subject `p` to `r` unless it is full or already there. */
static void
record_add_subject(struct audit_record *r, const uint8_t *p)
{
    unsigned i;

    if (r->nsubj >= AUDIT_MAX_SUBJECTS)
        return;
    for (i = 0; i < r->nsubj; i++)
        if (memcmp(r->subj[i], p, AUDIT_SUBJECT_BYTES) == 0)
            return;
    memcpy(r->subj[r->nsubj++], p, AUDIT_SUBJECT_BYTES);
}

/*
 * The audit record of operation `op` on event `ev` for `actor` (storing
 * it, answering a resend from the stored reply, refusing a conflicting
 * resend): the data categories it carries, the tokens of the subjects
 * in `named` (vault.h), and as `ref` the hex of the event id's
 * pseudonym (never the id itself: a storefront may put anything in an
 * id).
 */
static void
record_fill_event(const char *actor, const char *op, enum audit_outcome outcome,
    const struct event *ev, uint32_t named, struct audit_record *r)
{
    static const struct {
        uint32_t has;
        uint32_t cat;
        size_t off; /* of the struct pseudo in struct event, or 0 */
    } map[] = {
        { EVENT_HAS_DEVICE, AUDIT_CAT_DEVICE, offsetof(struct event, device) },
        { EVENT_HAS_IP, AUDIT_CAT_IP, offsetof(struct event, ip) },
        { EVENT_HAS_EMAIL, AUDIT_CAT_CONTACT, offsetof(struct event, email) },
        { EVENT_HAS_PHONE, AUDIT_CAT_CONTACT, offsetof(struct event, phone) },
        { EVENT_HAS_NAME, AUDIT_CAT_CONTACT, offsetof(struct event, name) },
        { EVENT_HAS_CARD, AUDIT_CAT_PAYMENT, offsetof(struct event, card) },
        { EVENT_HAS_CARD_BIN, AUDIT_CAT_PAYMENT, 0 },
        { EVENT_HAS_BILLING, AUDIT_CAT_ADDRESS,
            offsetof(struct event, billing) },
        { EVENT_HAS_SHIPPING, AUDIT_CAT_ADDRESS,
            offsetof(struct event, shipping) },
        { EVENT_HAS_VALUE, AUDIT_CAT_CONTACT, offsetof(struct event, value) },
        { EVENT_HAS_ORDER, AUDIT_CAT_ORDER, offsetof(struct event, order) },
        { EVENT_HAS_ACCOUNT, AUDIT_CAT_ACCOUNT,
            offsetof(struct event, account) },
    };
    size_t i;

    memset(r, 0, sizeof(*r));
    r->ts_ms = clock_wall_ms();
    text_copy(r->actor, sizeof(r->actor), actor);
    r->role = AUDIT_ROLE_STOREFRONT;
    text_copy(r->op, sizeof(r->op), op);
    text_copy(r->purpose, sizeof(r->purpose), "fraud-prevention");
    r->outcome = outcome;
    pseudo_hex(&ev->id, r->ref);
    for (i = 0; i < ARRAY_LEN(map); i++) {
        if (!(ev->has & map[i].has))
            continue;
        r->cats |= map[i].cat;
        if (map[i].off != 0 && (named & map[i].has))
            record_add_subject(r, (const uint8_t *)ev + map[i].off);
    }
    if (ev->type == EVENT_ORDER_PLACED)
        r->cats |= AUDIT_CAT_ORDER | AUDIT_CAT_SCORE;
    if (ev->type == EVENT_PAYMENT_RESULT)
        r->cats |= AUDIT_CAT_PAYMENT | AUDIT_CAT_ORDER;
}

/* Due: checkpoint_records records or checkpoint_interval_ms since the
 * last checkpoint (record.h). */
bool
record_checkpoint_due(const struct scorer *s, uint64_t now)
{
    uint64_t size = audit_size(s->audit);
    uint64_t last = audit_checkpoint_size(s->audit);

    if (size == last)
        return false;
    return size - last >= (uint64_t)s->cfg.checkpoint_records ||
        now >= s->ckpt_ms + (uint64_t)s->cfg.checkpoint_interval_ms;
}

bool
record_checkpoint_deferred(const struct scorer *s, uint64_t now)
{
    if (s->flushing && s->flush_audit.ckpt)
        return true; /* one is on its way */
    /* A commit starts within commit_interval_ms while events wait for
     * one (after the one running, if any); one stuck for want of room
     * must not hold the checkpoint for ever. */
    return s->gen_events > 0 && !s->needs_recovery && !s->space.flush_retry &&
        now < s->ckpt_ms + 2 * (uint64_t)s->cfg.checkpoint_interval_ms;
}

void
record_checkpoint_ride(struct scorer *s)
{
    uint64_t now = clock_mono_ms();
    int rc;

    /* Not on the commit of the journal tail replayed at start: start-up
     * signs its own checkpoint (startup_catch_up), which would wait for
     * that commit, and the commit costs more as the database grows. */
    if (s->sclock.ready_us == 0)
        return;
    if (!record_checkpoint_due(s, now))
        return;
    rc = audit_checkpoint_begin(s->audit, &s->flush_audit);
    if (rc != 0) {
        log_warnx("cannot write an audit checkpoint: %s", err_str(rc));
        return;
    }
    if (s->flush_audit.ckpt)
        s->ckpt_ms = now;
}

/*
 * Sign a checkpoint when one is due and not left to the next commit (or
 * always, with `force`). A failure is logged: the records stay durable
 * and the next checkpoint covers them.
 */
void
record_checkpoint(struct scorer *s, bool force)
{
    uint64_t now = clock_mono_ms();
    int rc;

    if (force && s->flushing && s->flush_audit.ckpt)
        scorer_flush_wait(s); /* the checkpoint in flight first */
    if (audit_size(s->audit) == audit_checkpoint_size(s->audit))
        return;
    if (!force &&
        (!record_checkpoint_due(s, now) || record_checkpoint_deferred(s, now)))
        return;
    crashpoint("checkpoint");
    rc = audit_checkpoint(s->audit, clock_wall_ms());
    if (rc != 0)
        log_warnx("cannot write an audit checkpoint: %s", err_str(rc));
    else
        crashpoint("checkpoint.after");
    s->ckpt_ms = now;
}

void
record_head(struct scorer *s)
{
    int rc;

    if (audit_head_due(s->audit) > clock_mono_ms())
        return;
    rc = audit_head_update(s->audit);
    if (rc != 0)
        log_warnx("cannot sign the audit log's head: %s", err_str(rc));
}

/* Index the records past `indexed` again (audit_replay callback). */
static int
record_reindex_cb(void *arg, const struct audit_entry *e)
{
    struct scorer *s = arg;

    if (e->rec->index < s->indexed)
        return 0;
    return record_index(s, e->rec, e->rec->index);
}

/*
 * Bring the subject index up to the audit log: after a crash the log may
 * hold records whose index entries were in an overlay generation that
 * never reached LMDB. Reads only the records past the index.
 */
int
record_reindex(struct scorer *s)
{
    int rc;

    rc = subjidx_indexed_get(s->otxn, s->dbi_subject, &s->indexed);
    if (rc != 0)
        return rc;
    if (s->indexed >= audit_size(s->audit))
        return 0;
    log_info("indexing audit records %" PRIu64 "..%" PRIu64 " by subject",
        s->indexed, audit_size(s->audit) - 1);
    /* Only the records past the index, read back from the writer's
     * segments: a verified pass over the whole log (as this once was)
     * made every start after a crash cost as much as the history. */
    rc = audit_log_read(s->audit, s->indexed, record_reindex_cb, s);
    if (rc != 0)
        log_warnx("cannot index the audit log: %s", err_str(rc));
    return rc;
}

/*
 * Buffer the audit record of `op` on `ev` in the group (made durable by
 * the group commit, before any reply leaves) and index it.
 * Returns 0, ERR_INVAL or ERR_AUDIT.
 */
int
record_event(struct scorer *s, const char *actor, const char *op,
    enum audit_outcome outcome, const struct event *ev, uint32_t named,
    const char *model)
{
    struct audit_record ar;
    uint64_t index;
    size_t len;
    int rc;

    record_fill_event(actor, op, outcome, ev, named, &ar);
    /* Which model scored it (REPLY_MODEL_MAX: fits after the 32 hex). */
    _Static_assert(2 * PSEUDO_BYTES + 7 + REPLY_MODEL_MAX <= AUDIT_MAX_REF,
        "the model version fits in an event record's ref");
    if (model != NULL && model[0] != '\0') {
        len = strlen(ar.ref);
        snprintf(ar.ref + len, sizeof(ar.ref) - len, " model %s", model);
    }
    rc = audit_append(s->audit, &ar, &index);
    if (rc != 0)
        return rc == ERR_INVAL ? rc : ERR_AUDIT;
    return record_index(s, &ar, index);
}

/*
 * If opening the audit log cut a torn tail, say so in the log itself
 * (a "log.repair" record), then sign a checkpoint.
 */
void
record_repair(struct scorer *s)
{
    const struct audit_repair *rep = audit_log_repair(s->audit);
    struct audit_record r;
    int rc;

    if (rep->bytes_cut == 0 && rep->note_bytes_cut == 0 && rep->healed == 0)
        return;
    record_fill_system(&r, RECORD_SYSTEM_ACTOR, "log.repair", "audit", "");
    if (rep->healed > 0)
        snprintf(r.ref, sizeof(r.ref),
            "restored %" PRIu64 " records from the journal after record "
            "%" PRIu64 " (cut %" PRIu64 " bytes, %" PRIu64 " of "
            "checkpoints.log)",
            rep->healed, rep->at_index, rep->bytes_cut, rep->note_bytes_cut);
    else
        snprintf(r.ref, sizeof(r.ref),
            "cut %" PRIu64 " bytes of '%s' after record %" PRIu64 ", %" PRIu64
            " bytes of checkpoints.log",
            rep->bytes_cut, rep->segment, rep->at_index, rep->note_bytes_cut);
    log_warnx("audit log repaired: %s", r.ref);
    rc = record_now(s, &r);
    if (rc != 0)
        fatalx("cannot record the audit log repair: %s", err_str(rc));
    record_checkpoint(s, true);
}

void
record_fill_system(struct audit_record *r, const char *actor, const char *op,
    const char *purpose, const char *ref)
{
    memset(r, 0, sizeof(*r));
    text_copy(r->actor, sizeof(r->actor), actor);
    r->role = AUDIT_ROLE_SYSTEM;
    text_copy(r->op, sizeof(r->op), op);
    text_copy(r->purpose, sizeof(r->purpose), purpose);
    r->outcome = AUDIT_OUTCOME_ALLOWED;
    text_copy(r->ref, sizeof(r->ref), ref);
}

void
record_config_fp(const struct vigil_config *cfg, char out[RECORD_CONFIG_FP])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char *text = NULL;
    size_t len = 0;
    FILE *fp;

    fp = open_memstream(&text, &len);
    if (fp == NULL)
        fatal("open_memstream");
    cfg_print(cfg, fp);
    if (fclose(fp) != 0)
        fatal("open_memstream");
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    free(text); /* open_memstream's buffer */
    snprintf(out, RECORD_CONFIG_FP, "sha256:%02x%02x%02x%02x%02x%02x%02x%02x",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
}

int
record_system(struct scorer *s, const char *op, const char *ref)
{
    struct audit_record r;

    record_fill_system(&r, RECORD_SYSTEM_ACTOR, op, "security", ref);
    return record_now(s, &r);
}

void
record_refusals(struct scorer *s, const char *where,
    const struct zauth_refusal *r, size_t n)
{
    struct audit_record ar;
    char actor[AUDIT_MAX_ACTOR + 1], ref[AUDIT_MAX_REF + 1];
    uint64_t index;
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++) {
        if (r[i].key[0] != '\0')
            snprintf(actor, sizeof(actor), "unknown-key:%s", r[i].key);
        else
            text_copy(actor, sizeof(actor), "no-key");
        text_fmt(ref, sizeof(ref), "%s %s %s: %s x%" PRIu64, where,
            r[i].address, r[i].domain, r[i].reason, r[i].count);
        record_fill_system(&ar, actor, "auth.refused", "security", ref);
        ar.outcome = AUDIT_OUTCOME_DENIED;
        ar.ts_ms = r[i].last_ms != 0 ? r[i].last_ms : clock_wall_ms();
        rc = audit_append(s->audit, &ar, &index);
        if (rc == 0)
            rc = record_index(s, &ar, index);
    }
    if (rc == 0)
        rc = audit_commit(s->audit, NULL, NULL);
    if (rc != 0)
        log_warnx("%zu refused peers not recorded: %s", n, err_str(rc));
}

int
record_bind_key(struct scorer *s)
{
    char have[PSEUDO_KEY_ID_HEX + 1], want[PSEUDO_KEY_ID_HEX + 1];
    char ref[AUDIT_MAX_REF + 1];
    int rc;

    pseudo_key_id(s->pkey, have);
    rc = subjidx_key_id_get(s->otxn, s->dbi_subject, want);
    if (rc != 0) {
        log_warnx(
            "cannot read the pseudonym key id of this data: %s", err_str(rc));
        return rc;
    }
    if (want[0] != '\0') {
        if (strcmp(want, have) == 0)
            return 0;
        log_warnx("the pseudonym key in the keys directory (id %s) is not "
                  "the key this data was made with (id %s): restore that "
                  "key; refusing to start",
            have, want);
        return ERR_DENIED;
    }
    rc = subjidx_key_id_put(s->otxn, s->dbi_subject, have);
    if (rc != 0)
        return rc;
    snprintf(ref, sizeof(ref), "key-id %s", have);
    rc = record_system(s, "key.pseudonym", ref);
    if (rc == 0 && s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms();
    return rc;
}
