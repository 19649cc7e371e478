/*
 * witness.c - vigil-witness: add-checkpoint checks, cosigning and state
 *
 * The order of the checks is the order of c2sp.org/tlog-witness's
 * add-checkpoint section: the request's syntax (400), the origin (404),
 * the log's signature (403), old size above the new size (400), the
 * stored size (409), the empty tree and the proof (422), then the state
 * is updated and the cosignature returned (200). Rejections of a known,
 * validly signed log are logged (origin and sizes): they may be evidence
 * of a misbehaving log.
 *
 * Invariants:
 *  - see witness.h: cosign only after commit; the check and the update
 *    are one write transaction.
 *
 * See also: witness.h, tools/vigil-witness.1
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/store.h"
#include "common/xmalloc.h"
#include "tools/vigil-witness/witness.h"

#define STATE_HDR 40 /* u64 BE size || root */

static void
reply(struct witness_reply *r, unsigned status, const char *msg)
{
    int n;

    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    n = snprintf(r->body, sizeof(r->body), "%s\n", msg);
    r->len = n > 0 ? (size_t)n : 0;
}

/* Parse "old <decimal>\n" strictly (no sign, no leading zero). */
static int
parse_old(const char *p, size_t len, uint64_t *old, size_t *used)
{
    const char *nl = memchr(p, '\n', len);
    uint64_t v = 0;
    size_t i, n;

    if (nl == NULL || len < 6 || memcmp(p, "old ", 4) != 0)
        return ERR_MALFORMED;
    n = (size_t)(nl - p) - 4;
    if (n == 0 || n > 20 || (n > 1 && p[4] == '0'))
        return ERR_MALFORMED;
    for (i = 0; i < n; i++) {
        char c = p[4 + i];

        if (c < '0' || c > '9' || v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
            return ERR_MALFORMED;
        v = v * 10 + (uint64_t)(c - '0');
    }
    *old = v;
    *used = (size_t)(nl - p) + 1;
    return 0;
}

static int
b64_32(const char *s, size_t len, uint8_t out[32])
{
    size_t got = 0;
    const char *end = NULL;

    if (len != 44 ||
        sodium_base642bin(out, 32, s, len, NULL, &got, &end,
            sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != 32 || end != s + len)
        return ERR_MALFORMED;
    return 0;
}

static struct witness_log *
find_log(struct witness *w, const char *origin, size_t olen)
{
    size_t i;

    for (i = 0; i < w->nlogs; i++) {
        if (strlen(w->logs[i].origin) == olen &&
            memcmp(w->logs[i].origin, origin, olen) == 0)
            return &w->logs[i];
    }
    return NULL;
}

/* The parsed request. */
struct request {
    uint64_t old;
    uint8_t proof[WITNESS_MAX_PROOF][MERKLE_HASH_BYTES];
    size_t nproof;
    const char *note; /* the checkpoint note, inside the body */
    size_t note_len;
};

static int
parse_request(const char *body, size_t len, struct request *q)
{
    size_t off, used;
    int rc;

    rc = parse_old(body, len, &q->old, &used);
    if (rc != 0)
        return rc;
    off = used;
    q->nproof = 0;
    for (;;) {
        const char *p = body + off;
        const char *nl = memchr(p, '\n', len - off);

        if (nl == NULL)
            return ERR_MALFORMED;
        if (nl == p) {
            off++;
            break;
        }
        if (q->nproof == WITNESS_MAX_PROOF)
            return ERR_TOOBIG;
        rc = b64_32(p, (size_t)(nl - p), q->proof[q->nproof]);
        if (rc != 0)
            return rc;
        q->nproof++;
        off = (size_t)(nl - body) + 1;
    }
    q->note = body + off;
    q->note_len = len - off;
    return 0;
}

void
witness_add_checkpoint(struct witness *w, const char *body, size_t len,
    uint64_t now, struct witness_reply *r)
{
    struct request q;
    struct witness_log *lg;
    struct store_txn *txn = NULL;
    char origin[NOTE_MAX_ORIGIN + 1], line[COSIG_LINE_MAX];
    uint8_t root[MERKLE_HASH_BYTES], old_root[MERKLE_HASH_BYTES];
    uint8_t key[crypto_hash_sha256_BYTES], *val = NULL;
    uint64_t size, stored = 0;
    const void *v;
    size_t vlen, text_len, line_len;
    const char *nl, *why = "";
    int rc;

    memset(r, 0, sizeof(*r));
    if (len > WITNESS_MAX_BODY) {
        reply(r, 400, "request too large");
        return;
    }
    rc = parse_request(body, len, &q);
    if (rc != 0) {
        reply(r, 400,
            rc == ERR_TOOBIG ? "more than 63 proof lines" :
                               "malformed request");
        return;
    }
    rc = note_split(q.note, q.note_len, &text_len, NULL, NULL);
    if (rc != 0) {
        reply(r, 400, "malformed checkpoint note");
        return;
    }
    nl = memchr(q.note, '\n', text_len);
    lg = find_log(w, q.note, (size_t)(nl - q.note));
    if (lg == NULL) {
        reply(r, 404, "unknown log origin");
        return;
    }
    rc = note_open(q.note, q.note_len, lg->keys, lg->nkeys, &text_len, NULL);
    if (rc != 0) {
        log_warnx("add-checkpoint for '%s': %s", lg->origin,
            rc == ERR_NOTFOUND ? "no signature by a trusted key" :
                                 "a trusted key's signature does not verify");
        reply(r, 403,
            rc == ERR_NOTFOUND ? "no signature by a trusted key" :
                                 "bad signature by a trusted key");
        return;
    }
    rc = note_checkpoint_parse(
        q.note, text_len, origin, sizeof(origin), &size, root);
    if (rc != 0) {
        reply(r, 400, "malformed checkpoint");
        return;
    }
    if (q.old > size) {
        reply(r, 400, "old size is larger than the checkpoint size");
        return;
    }
    crypto_hash_sha256(key, (const unsigned char *)origin, strlen(origin));

    rc = store_txn_begin(w->st, true, &txn);
    if (rc != 0)
        goto fail;
    rc = store_get_view(txn, w->dbi, key, sizeof(key), &v, &vlen);
    if (rc == 0 && vlen >= STATE_HDR) {
        stored = bytes_get_be64(v);
        memcpy(old_root, (const uint8_t *)v + 8, MERKLE_HASH_BYTES);
    } else if (rc == 0) {
        rc = ERR_CORRUPT;
        goto fail;
    } else if (rc != ERR_NOTFOUND) {
        goto fail;
    }
    if (q.old != stored) {
        store_txn_abort(txn);
        log_info("add-checkpoint for '%s': old size %" PRIu64 ", mine %" PRIu64
                 " (409)",
            origin, q.old, stored);
        r->status = 409;
        r->content_type = "text/x.tlog.size";
        r->len =
            (size_t)snprintf(r->body, sizeof(r->body), "%" PRIu64 "\n", stored);
        return;
    }
    if (size == 0) {
        uint8_t empty[MERKLE_HASH_BYTES];

        merkle_empty_root(empty);
        if (memcmp(root, empty, sizeof(empty)) != 0) {
            why = "size 0 without the empty tree's root";
            goto refuse;
        }
    }
    if (q.old == 0) {
        if (q.nproof != 0) {
            why = "a proof from size 0";
            goto refuse;
        }
    } else if (merkle_verify_consistency(q.old, size, old_root, root,
                   (const uint8_t(*)[MERKLE_HASH_BYTES])q.proof,
                   q.nproof) != 0) {
        why = q.old == size ? "same size, another root" :
                              "the consistency proof does not verify";
        goto refuse;
    }

    rc = cosig_sign(
        &w->key, q.note, text_len, now, line, sizeof(line), &line_len);
    if (rc != 0)
        goto fail;
    vlen = STATE_HDR + q.note_len + line_len;
    val = xmalloc(vlen);
    bytes_put_be64(val, size);
    memcpy(val + 8, root, MERKLE_HASH_BYTES);
    memcpy(val + STATE_HDR, q.note, q.note_len);
    memcpy(val + STATE_HDR + q.note_len, line, line_len);
    rc = store_put(txn, w->dbi, key, sizeof(key), val, vlen);
    free(val);
    if (rc != 0)
        goto fail;
    rc = store_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        goto fail;
    log_info("cosigned '%s' at size %" PRIu64 " (was %" PRIu64 ")", origin,
        size, stored);
    r->status = 200;
    r->content_type = "text/plain; charset=utf-8";
    memcpy(r->body, line, line_len);
    r->len = line_len;
    return;

refuse:
    store_txn_abort(txn);
    log_warnx("add-checkpoint for '%s' refused: %s (old %" PRIu64
              ", new %" PRIu64 ", proof of %zu hashes)",
        origin, why, q.old, size, q.nproof);
    reply(r, 422, "inconsistent with the checkpoint I cosigned last");
    return;

fail:
    store_txn_abort(txn);
    log_warnx("add-checkpoint: cannot update the state: %s", err_str(rc));
    reply(r, 500, "witness state error");
}

void
witness_get_checkpoint(
    struct witness *w, const char *hexhash, struct witness_reply *r)
{
    struct store_txn *txn = NULL;
    uint8_t key[crypto_hash_sha256_BYTES];
    const void *v;
    size_t vlen, bin_len = 0;
    const char *end = NULL;
    int rc;

    memset(r, 0, sizeof(*r));
    if (strlen(hexhash) != 64 ||
        sodium_hex2bin(key, sizeof(key), hexhash, 64, NULL, &bin_len, &end) !=
            0 ||
        bin_len != sizeof(key) || strspn(hexhash, "0123456789abcdef") != 64) {
        reply(r, 404, "not found");
        return;
    }
    rc = store_txn_begin(w->st, false, &txn);
    if (rc == 0)
        rc = store_get_view(txn, w->dbi, key, sizeof(key), &v, &vlen);
    if (rc == 0 && vlen > STATE_HDR && vlen - STATE_HDR <= sizeof(r->body)) {
        r->status = 200;
        r->content_type = "text/plain; charset=utf-8";
        memcpy(r->body, (const uint8_t *)v + STATE_HDR, vlen - STATE_HDR);
        r->len = vlen - STATE_HDR;
    } else if (rc == 0 || rc == ERR_NOTFOUND) {
        reply(r, 404, "never cosigned a checkpoint of this log");
    } else {
        reply(r, 500, "witness state error");
    }
    store_txn_abort(txn);
}
