/*
 * history_reply.c - stored replies: the dedup of resent events
 *
 * The "reply" database (history.h) indexes the reply to every event by
 * (storefront, event id pseudonym): a version-5 entry holds only the
 * reply's arrival time, and the reply itself, with the digest of the
 * event it answered, is the value of its "reply_time" entry (arrival ||
 * reply key). Event id pseudonyms are random keys: each commit of a
 * few thousand events dirtied most leaf pages of "reply" while its
 * entries held whole replies (~215 bytes); the 9-byte entries fill a
 * third of the pages, and the replies themselves go to the end of the
 * time-ordered "reply_time" (a replay of the shared data set wrote 25-30%
 * of its LMDB bytes for "reply"). Entries written before 2026-12-05
 * (versions 3 and 4: the whole reply in "reply", an empty "reply_time"
 * value) are still read.
 *
 * See also: history.h, history_impl.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "scorer/history_impl.h"
#include "scorer/history_int.h"

/* ----------------------------------------------------------- replies */

/* A version-5 index entry: u8 version, u64 little-endian arrival ms. */
#define REPLY_INDEX_VERSION 5
#define REPLY_INDEX_BYTES   9

/* Size of the longest encoded reply. */
#define REPLY_MAX_BYTES                                                        \
    (19 + HISTORY_DIGEST_BYTES + REPLY_MSG_MAX + REPLY_MODEL_MAX +             \
        REPLY_MAX_REASONS *                                                    \
            (2 + REPLY_REASON_CODE_MAX + REPLY_REASON_TEXT_MAX + 8))

/*
 * A stored reply, version 4: u8 version, the event's digest, u64 its
 * arrival time (the scorer's wall clock, ms), i32 code, u8 has_score,
 * score, decision, nreasons, then the message and each reason (code,
 * text: u8 length and bytes; value: the double's bits as u64), then the
 * model version (u8 length and bytes). Version 3 (no model) is read.
 */
static size_t
stored_reply_encode(const uint8_t digest[HISTORY_DIGEST_BYTES],
    uint64_t arrival_ms, const struct reply *r, uint8_t *out)
{
    size_t n = 0, l;
    uint64_t bits;
    unsigned i, nr;

    out[n++] = REPLY_VERSION;
    memcpy(out + n, digest, HISTORY_DIGEST_BYTES);
    n += HISTORY_DIGEST_BYTES;
    bytes_put_le64(out + n, arrival_ms);
    n += 8;
    bytes_put_le32(out + n, (uint32_t)r->code);
    n += 4;
    out[n++] = r->has_score ? 1 : 0;
    out[n++] = r->score;
    out[n++] = (uint8_t)r->decision;
    nr = r->nreasons > REPLY_MAX_REASONS ? REPLY_MAX_REASONS : r->nreasons;
    out[n++] = (uint8_t)nr;
    l = strnlen(r->msg, REPLY_MSG_MAX);
    out[n++] = (uint8_t)l;
    memcpy(out + n, r->msg, l);
    n += l;
    for (i = 0; i < nr; i++) {
        l = strnlen(r->reasons[i].code, REPLY_REASON_CODE_MAX);
        out[n++] = (uint8_t)l;
        memcpy(out + n, r->reasons[i].code, l);
        n += l;
        l = strnlen(r->reasons[i].text, REPLY_REASON_TEXT_MAX);
        out[n++] = (uint8_t)l;
        memcpy(out + n, r->reasons[i].text, l);
        n += l;
        memcpy(&bits, &r->reasons[i].value, sizeof(bits));
        bytes_put_le64(out + n, bits);
        n += 8;
    }
    l = strnlen(r->model, REPLY_MODEL_MAX);
    out[n++] = (uint8_t)l;
    memcpy(out + n, r->model, l);
    n += l;
    return n;
}

/* Copy a length-prefixed string of at most `max` bytes into `dst`. */
static int
take_str(const uint8_t *in, size_t len, size_t *n, char *dst, size_t max)
{
    size_t l;

    if (*n >= len)
        return ERR_CORRUPT;
    l = in[(*n)++];
    if (l > max || l > len - *n || memchr(in + *n, 0, l) != NULL)
        return ERR_CORRUPT;
    memcpy(dst, in + *n, l);
    dst[l] = '\0';
    *n += l;
    return 0;
}

static int
stored_reply_decode(const uint8_t *in, size_t len,
    uint8_t digest[HISTORY_DIGEST_BYTES], uint64_t *arrival_ms, struct reply *r)
{
    const size_t d = HISTORY_DIGEST_BYTES + 8; /* digest, arrival */
    uint64_t bits;
    size_t n;
    unsigned i;
    int32_t code;

    if (len < 10 + d || (in[0] != REPLY_VERSION && in[0] != 3) ||
        in[5 + d] > 1 || in[7 + d] > REPLY_DECISION_BLOCK ||
        in[8 + d] > REPLY_MAX_REASONS)
        return ERR_CORRUPT;
    memcpy(digest, in + 1, HISTORY_DIGEST_BYTES);
    *arrival_ms = bytes_get_le64(in + 1 + HISTORY_DIGEST_BYTES);
    code = (int32_t)bytes_get_le32(in + 1 + d);
    if (code > 0)
        return ERR_CORRUPT;
    r->code = code;
    r->has_score = in[5 + d] != 0;
    r->score = in[6 + d];
    r->decision = (enum reply_decision)in[7 + d];
    r->nreasons = in[8 + d];
    n = 9 + d;
    if (take_str(in, len, &n, r->msg, REPLY_MSG_MAX) != 0)
        return ERR_CORRUPT;
    for (i = 0; i < r->nreasons; i++) {
        if (take_str(in, len, &n, r->reasons[i].code, REPLY_REASON_CODE_MAX) !=
                0 ||
            take_str(in, len, &n, r->reasons[i].text, REPLY_REASON_TEXT_MAX) !=
                0 ||
            len - n < 8)
            return ERR_CORRUPT;
        bits = bytes_get_le64(in + n);
        memcpy(&r->reasons[i].value, &bits, sizeof(bits));
        n += 8;
    }
    if (in[0] >= 4 && take_str(in, len, &n, r->model, REPLY_MODEL_MAX) != 0)
        return ERR_CORRUPT;
    return n == len ? 0 : ERR_CORRUPT;
}

/* True when stored value v is a version-5 index entry; sets *arrival. */
static bool
reply_index_decode(const void *v, size_t vlen, uint64_t *arrival_ms)
{
    const uint8_t *p = v;

    if (vlen != REPLY_INDEX_BYTES || p[0] != REPLY_INDEX_VERSION)
        return false;
    *arrival_ms = bytes_get_le64(p + 1);
    return true;
}

int
history_reply_get(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *event_id, uint8_t digest[HISTORY_DIGEST_BYTES],
    struct reply *out)
{
    uint8_t d[HISTORY_DIGEST_BYTES], tk[HISTORY_REPLY_TIME_KEY_MAX];
    uint64_t arrival, indexed = 0;
    bool via_index;
    struct ekey k;
    const void *v;
    size_t vlen;
    int rc;

    history_cache_drop(h, txn);
    rc = history_key_actor(&k, -1, actor, event_id);
    if (rc != 0)
        return rc;
    rc = store_get_view(txn, h->dbi_reply, k.b, k.len, &v, &vlen);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    via_index = reply_index_decode(v, vlen, &indexed);
    if (via_index) {
        size_t n = history_reply_time_key(indexed, k.b, k.len, tk);

        rc = store_get_view(txn, h->dbi_reply_time, tk, n, &v, &vlen);
        if (rc == ERR_NOTFOUND) {
            log_warnx("%s: a reply index entry without its reply", __func__);
            return ERR_CORRUPT;
        }
        if (rc != 0)
            return rc;
    }
    rc = stored_reply_decode(
        v, vlen, digest != NULL ? digest : d, &arrival, out);
    /* The reply under the index's time is that time's. */
    if (rc == 0 && via_index && arrival != indexed)
        rc = ERR_CORRUPT;
    if (rc != 0) {
        log_warnx("%s: undecodable stored reply", __func__);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return 0;
}

int
history_reply_put(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *event_id, const uint8_t digest[HISTORY_DIGEST_BYTES],
    uint64_t arrival_ms, const struct reply *r)
{
    uint8_t buf[REPLY_MAX_BYTES], tk[HISTORY_REPLY_TIME_KEY_MAX];
    uint8_t idx[REPLY_INDEX_BYTES];
    struct ekey k;
    size_t n, tn;
    int rc;

    history_cache_drop(h, txn);
    if (r->code > 0 || r->decision > REPLY_DECISION_BLOCK ||
        r->nreasons > REPLY_MAX_REASONS)
        return ERR_INVAL;
    rc = history_key_actor(&k, -1, actor, event_id);
    if (rc != 0)
        return rc;
    idx[0] = REPLY_INDEX_VERSION;
    bytes_put_le64(idx + 1, arrival_ms);
    rc = store_put(txn, h->dbi_reply, k.b, k.len, idx, sizeof(idx));
    if (rc != 0)
        return rc;
    n = stored_reply_encode(digest, arrival_ms, r, buf);
    tn = history_reply_time_key(arrival_ms, k.b, k.len, tk);
    return store_put(txn, h->dbi_reply_time, tk, tn, buf, n);
}

size_t
history_reply_time_key(uint64_t arrival_ms, const uint8_t *reply_key,
    size_t klen, uint8_t out[HISTORY_REPLY_TIME_KEY_MAX])
{
    for (unsigned b = 0; b < 8; b++)
        out[b] = (uint8_t)(arrival_ms >> (56 - 8 * b));
    memcpy(out + 8, reply_key, klen);
    return 8 + klen;
}

int
history_reply_arrival(const void *v, size_t vlen, uint64_t *arrival_ms)
{
    const uint8_t *p = v;

    if (reply_index_decode(v, vlen, arrival_ms))
        return 0;
    if (vlen < 1 + HISTORY_DIGEST_BYTES + 8 ||
        (p[0] != REPLY_VERSION && p[0] != 3))
        return ERR_CORRUPT;
    *arrival_ms = bytes_get_le64(p + 1 + HISTORY_DIGEST_BYTES);
    return 0;
}
