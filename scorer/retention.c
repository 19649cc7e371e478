/*
 * retention.c - the retention sweep's driver (see retention.h): steps,
 *               the audit record of each purge, the pass timer
 *
 * Invariants:
 *  - a batch is applied only after its "retention.purge" record is
 *    durable; a batch that could not be recorded is dropped.
 *
 * See also: retention.h, history_purge.c, scorer.c (the loop)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "scorer/record.h"
#include "scorer/retention.h"
#include "scorer/scorer.h"

#define DAY_MS ((uint64_t)24 * 3600 * 1000)

void
retention_init(struct retention *r, const struct vigil_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->keep.keep_ms[HISTORY_CAT_ACCOUNT] =
        (uint64_t)cfg->retention_days_account * DAY_MS;
    r->keep.keep_ms[HISTORY_CAT_DEVICE] =
        (uint64_t)cfg->retention_days_device * DAY_MS;
    r->keep.keep_ms[HISTORY_CAT_IP] = (uint64_t)cfg->retention_days_ip * DAY_MS;
    r->keep.keep_ms[HISTORY_CAT_PAYMENT] =
        (uint64_t)cfg->retention_days_payment * DAY_MS;
    r->keep.keep_ms[HISTORY_CAT_CONTACT] =
        (uint64_t)cfg->retention_days_contact * DAY_MS;
    r->keep.keep_ms[HISTORY_CAT_ORDER] =
        (uint64_t)cfg->retention_days_order * DAY_MS;
    r->keep.dedup_ms = (uint64_t)cfg->dedup_window_s * 1000;
    r->step_keys = (unsigned)cfg->retention_step_keys;
    r->step_ms = (uint64_t)cfg->retention_step_ms;
    r->pass_ms = (uint64_t)cfg->retention_pass_ms;
    history_batch_init(&r->batch);
    r->next_ms = clock_mono_ms() + r->step_ms;
}

void
retention_release(struct retention *r)
{
    history_batch_release(&r->batch);
}

/* The audit categories of what a batch deletes. */
static uint32_t
batch_cats(const struct history_batch *b)
{
    static const uint32_t of[HISTORY_CAT_COUNT] = {
        [HISTORY_CAT_ACCOUNT] = AUDIT_CAT_ACCOUNT,
        [HISTORY_CAT_DEVICE] = AUDIT_CAT_DEVICE,
        [HISTORY_CAT_IP] = AUDIT_CAT_IP,
        [HISTORY_CAT_PAYMENT] = AUDIT_CAT_PAYMENT,
        [HISTORY_CAT_CONTACT] = AUDIT_CAT_CONTACT,
        [HISTORY_CAT_ORDER] = AUDIT_CAT_ORDER,
    };
    uint32_t cats = 0;

    for (unsigned c = 0; c < HISTORY_CAT_COUNT; c++)
        if (b->cats[c] > 0)
            cats |= of[c];
    if (b->rows[HISTORY_ROW_REPLY] > 0)
        cats |= AUDIT_CAT_SCORE;
    return cats;
}

/* Record the batch, then apply it. Returns 0 or the ERR_* that stopped. */
static int
retention_purge(struct scorer *s, struct retention *r)
{
    const struct history_batch *b = &r->batch;
    struct audit_record rec;
    uint64_t rows[HISTORY_ROW_COUNT];
    int rc;

    record_fill_system(
        &rec, RECORD_SYSTEM_ACTOR, "retention.purge", "retention", "");
    rec.cats = batch_cats(b);
    snprintf(rec.ref, sizeof(rec.ref),
        "e%" PRIu64 " l%" PRIu64 " o%" PRIu64 " r%" PRIu64 " a%" PRIu64
        " d%" PRIu64 " i%" PRIu64 " p%" PRIu64 " c%" PRIu64,
        b->rows[HISTORY_ROW_ENTITY], b->rows[HISTORY_ROW_LINK],
        b->rows[HISTORY_ROW_ORDER], b->rows[HISTORY_ROW_REPLY],
        b->cats[HISTORY_CAT_ACCOUNT], b->cats[HISTORY_CAT_DEVICE],
        b->cats[HISTORY_CAT_IP], b->cats[HISTORY_CAT_PAYMENT],
        b->cats[HISTORY_CAT_CONTACT]);
    rc = record_now(s, &rec);
    if (rc != 0) {
        log_warnx("retention: the purge could not be recorded (%s): "
                  "nothing deleted, retried next pass",
            err_str(rc));
        history_batch_release(&r->batch);
        history_batch_init(&r->batch);
        return rc;
    }
    memcpy(rows, b->rows, sizeof(rows));
    rc = history_batch_apply(s->hist, s->otxn, &r->batch);
    if (rc != 0) {
        log_warnx("retention: cannot delete: %s", err_str(rc));
        s->needs_recovery = true;
        return rc;
    }
    for (unsigned k = 0; k < HISTORY_ROW_COUNT; k++)
        r->purged[k] += rows[k];
    r->purges++;
    /* Deletions count as writes of the generation: commit them. */
    if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms();
    return 0;
}

uint64_t
retention_tick(struct scorer *s)
{
    struct retention *r = &s->retention;
    uint64_t now = clock_mono_ms();
    bool pass_done = false;
    int rc;

    if (now < r->next_ms)
        return r->next_ms - now;
    if (s->needs_recovery || s->otxn == NULL || s->hist == NULL) {
        r->next_ms = now + r->step_ms;
        return r->step_ms;
    }
    rc = history_sweep_step(s->hist, s->otxn, &r->keep, clock_wall_ms(), &r->sw,
        r->step_keys, &r->batch, &pass_done);
    if (rc != 0 && rc != ERR_CORRUPT) {
        log_warnx("retention: sweep step failed: %s", err_str(rc));
        history_batch_release(&r->batch);
        history_batch_init(&r->batch);
        pass_done = true;
    } else if (history_batch_rows(&r->batch) > 0) {
        (void)retention_purge(s, r);
    }
    if (pass_done) {
        log_debug("retention: pass %" PRIu64 " done (%" PRIu64
                  " entities, %" PRIu64 " orders, %" PRIu64
                  " replies purged since start)",
            r->sw.passes, r->purged[HISTORY_ROW_ENTITY],
            r->purged[HISTORY_ROW_ORDER], r->purged[HISTORY_ROW_REPLY]);
        r->next_ms = clock_mono_ms() + r->pass_ms;
    } else {
        r->next_ms = clock_mono_ms() + r->step_ms;
    }
    return r->next_ms - clock_mono_ms();
}
