/*
 * jheal.c - the audit records the journal holds (see jheal.h)
 *
 * One pass of journal_replay() over the records not yet covered by an
 * LMDB commit, keeping the JREC_AUDIT ones' frames. Start-up only, main
 * thread.
 *
 * Invariants:
 *  - out->heal.frames / len describe out->frames exactly once collected.
 *
 * See also: jheal.h, jrec.h, common/journal.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "scorer/jheal.h"
#include "scorer/jrec.h"

/* journal_replay callback: keep an audit record's frames. */
static int
collect_one(void *arg, uint64_t seq, const void *payload, size_t len)
{
    struct jheal *h = arg;
    const uint8_t *frames;
    const char *why;
    uint64_t floor;
    size_t flen;
    int rc;

    if (!jrec_is_audit(payload, len))
        return 0;
    rc = jrec_audit_decode(payload, len, &floor, &frames, &flen, &why);
    if (rc != 0) {
        log_warnx("journal record %" PRIu64 ": %s", seq, why);
        return ERR_CORRUPT;
    }
    if (floor > h->heal.floor)
        h->heal.floor = floor;
    h->records++;
    return buf_append(&h->frames, frames, flen) == 0 ? 0 : ERR_TOOBIG;
}

int
jheal_collect(struct journal *j, uint64_t from_seq, struct jheal *out)
{
    int rc = 0;

    memset(out, 0, sizeof(*out));
    buf_init(&out->frames, SIZE_MAX);
    if (from_seq < journal_first_seq(j))
        from_seq = journal_first_seq(j);
    if (from_seq < journal_next_seq(j))
        rc = journal_replay(j, from_seq, collect_one, out);
    out->heal.frames = out->frames.data;
    out->heal.len = out->frames.len;
    return rc;
}

void
jheal_release(struct jheal *h)
{
    buf_release(&h->frames);
    memset(h, 0, sizeof(*h));
}
