/*
 * jrec.c - the scorer's journal record codec (format in jrec.h)
 *
 * Encoded in the group commit (main thread), decoded when the journal
 * is replayed at start-up or after a failed group. Pure: no I/O.
 *
 * Invariants:
 *  - jrec_decode() and jrec_audit_decode() read no byte past `len` and
 *    accept only what jrec_encode() / jrec_audit_encode() can write.
 *
 * See also: jrec.h, scorer/group.c (encode), scorer/recover.c (replay)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/audit.h"
#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "scorer/jrec.h"

bool
jrec_is_audit(const uint8_t *p, size_t len)
{
    return len >= 2 && p[0] == 0 && p[1] == JREC_AUDIT;
}

/* The length of the whole, CRC-valid audit frame at f (avail bytes), or 0. */
static size_t
audit_frame(const uint8_t *f, size_t avail)
{
    uint32_t len;

    if (avail < AUDIT_FRAME_BYTES)
        return 0;
    len = bytes_get_le32(f);
    if (len == 0 || len > AUDIT_MAX_RECORD_BYTES ||
        len > avail - AUDIT_FRAME_BYTES ||
        crc32c(0, f + AUDIT_FRAME_BYTES, len) != bytes_get_le32(f + 4))
        return 0;
    return AUDIT_FRAME_BYTES + (size_t)len;
}

size_t
jrec_audit_chunk(const uint8_t *frames, size_t len)
{
    size_t off = 0, flen;

    while (off < len) {
        flen = AUDIT_FRAME_BYTES + (size_t)bytes_get_le32(frames + off);
        if (off + flen > JREC_AUDIT_MAX_FRAMES)
            break;
        off += flen;
    }
    return off;
}

int
jrec_audit_encode(
    struct buf *out, uint64_t floor, const uint8_t *frames, size_t len)
{
    uint8_t head[JREC_AUDIT_HEAD];
    int rc;

    if (len == 0 || len > JREC_AUDIT_MAX_FRAMES)
        return ERR_INVAL;
    head[0] = 0;
    head[1] = JREC_AUDIT;
    bytes_put_le64(head + 2, floor);
    buf_reset(out);
    rc = buf_append(out, head, sizeof(head));
    if (rc == 0)
        rc = buf_append(out, frames, len);
    return rc;
}

int
jrec_audit_decode(const uint8_t *p, size_t len, uint64_t *floor,
    const uint8_t **frames, size_t *flen, const char **why)
{
    size_t off, n;

    *why = NULL;
    if (len <= JREC_AUDIT_HEAD || !jrec_is_audit(p, len)) {
        *why = "not an audit record";
        return ERR_CORRUPT;
    }
    for (off = JREC_AUDIT_HEAD; off < len; off += n) {
        n = audit_frame(p + off, len - off);
        if (n == 0) {
            *why = "a bad audit frame";
            return ERR_CORRUPT;
        }
    }
    *floor = bytes_get_le64(p + 2);
    *frames = p + JREC_AUDIT_HEAD;
    *flen = len - JREC_AUDIT_HEAD;
    return 0;
}

int
jrec_encode(struct buf *out, const char *actor, uint64_t arrival_ms,
    const struct jrec_salt *salts, unsigned nsalts, const uint8_t *raw,
    size_t rawlen)
{
    uint8_t head[2 + 8 + 1];
    size_t alen = strlen(actor);
    uint8_t b;
    int rc;

    if (alen == 0 || alen > JREC_ACTOR_MAX || nsalts > VAULT_EVENT_SUBJECTS ||
        (nsalts > 0 && salts == NULL) || rawlen == 0)
        return ERR_INVAL;
    head[0] = 0;
    head[1] = JREC_VERSION;
    bytes_put_le64(head + 2, arrival_ms);
    head[10] = (uint8_t)alen;
    buf_reset(out);
    rc = buf_append(out, head, sizeof(head));
    if (rc == 0)
        rc = buf_append(out, actor, alen);
    b = (uint8_t)nsalts;
    if (rc == 0)
        rc = buf_append(out, &b, 1);
    for (unsigned i = 0; rc == 0 && i < nsalts; i++) {
        b = (uint8_t)salts[i].kind;
        rc = buf_append(out, &b, 1);
        if (rc == 0)
            rc = buf_append(out, salts[i].p.b, PSEUDO_BYTES);
        if (rc == 0)
            rc = buf_append(out, salts[i].salt, VAULT_SALT_BYTES);
    }
    if (rc == 0)
        rc = buf_append(out, raw, rawlen);
    return rc;
}

int
jrec_decode(const uint8_t *p, size_t len, struct jrec *r, const char **why)
{
    const size_t per_salt = 1 + PSEUDO_BYTES + VAULT_SALT_BYTES;
    size_t n = 0, alen;

    memset(r, 0, sizeof(*r));
    *why = NULL;
    if (len >= 1 && p[0] != 0) {
        *why = "a version 1 record (a journal without per-subject tokens)";
        return ERR_INVAL;
    }
    if (len < 2 + 8 + 1 || p[1] != JREC_VERSION) {
        *why = "not a version 2 record";
        return ERR_CORRUPT;
    }
    r->arrival_ms = bytes_get_le64(p + 2);
    n = 10;
    alen = p[n++];
    if (alen == 0 || alen > len - n) {
        *why = "bad actor length";
        return ERR_CORRUPT;
    }
    memcpy(r->actor, p + n, alen);
    r->actor[alen] = '\0';
    if (memchr(r->actor, 0, alen) != NULL) {
        *why = "a NUL in the actor";
        return ERR_CORRUPT;
    }
    n += alen;
    if (n >= len || p[n] > VAULT_EVENT_SUBJECTS) {
        *why = "bad salt count";
        return ERR_CORRUPT;
    }
    r->nsalts = p[n++];
    if ((len - n) / per_salt < r->nsalts) {
        *why = "salts cut short";
        return ERR_CORRUPT;
    }
    for (unsigned i = 0; i < r->nsalts; i++) {
        struct jrec_salt *s = &r->salts[i];

        if (p[n] == VAULT_KIND_NONE || p[n] >= VAULT_KIND_COUNT) {
            *why = "bad salt kind";
            return ERR_CORRUPT;
        }
        s->kind = (enum vault_kind)p[n];
        memcpy(s->p.b, p + n + 1, PSEUDO_BYTES);
        memcpy(s->salt, p + n + 1 + PSEUDO_BYTES, VAULT_SALT_BYTES);
        n += per_salt;
    }
    if (n >= len) {
        *why = "no event";
        return ERR_CORRUPT;
    }
    r->event = p + n;
    r->event_len = len - n;
    return 0;
}
