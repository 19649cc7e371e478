/*
 * cosig.c - C2SP tlog-cosignature/v1 (Ed25519) keys, signing, checking
 *
 * Built on note.c's key and line helpers: this file owns only what is
 * specific to cosignatures (type byte 0x04, the timestamped signature and
 * the "cosignature/v1" message). All input is untrusted and bounded.
 *
 * Invariants:
 *  - seeds, secret keys and skey strings being built are wiped with
 *    sodium_memzero before their storage goes out of scope.
 *  - the signed message is built in a buffer of NOTE_MAX_BYTES + 64, so
 *    any text note_split() accepts fits.
 *
 * See also: cosig.h, note.h, c2sp.org/tlog-cosignature
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
#include "common/cosig.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define COSIG_HEADER "cosignature/v1\n"
#define MSG_EXTRA    64 /* header + "time <20 digits>\n" */

int
cosig_key_generate(
    const char *name, char *skey, size_t skey_len, char *vkey, size_t vkey_len)
{
    return note_key_generate_alg(
        COSIG_ALG_ED25519, name, skey, skey_len, vkey, vkey_len);
}

int
cosig_signer_parse(const char *skey, struct cosig_signer *out)
{
    sodium_memzero(out, sizeof(*out));
    return note_signer_parse_alg(
        skey, COSIG_ALG_ED25519, out->name, &out->key_id, out->sk);
}

void
cosig_signer_wipe(struct cosig_signer *s)
{
    sodium_memzero(s, sizeof(*s));
}

int
cosig_signer_vkey(const struct cosig_signer *s, char *out, size_t len)
{
    return note_signer_vkey_alg(
        COSIG_ALG_ED25519, s->name, s->key_id, s->sk, out, len);
}

int
cosig_verifier_parse(const char *vkey, struct cosig_verifier *out)
{
    memset(out, 0, sizeof(*out));
    return note_verifier_parse_alg(
        vkey, COSIG_ALG_ED25519, out->name, &out->key_id, out->pk);
}

/*
 * Build "cosignature/v1\ntime <ts>\n" || text into a heap buffer; the
 * caller frees it. *mlen gets its length.
 */
static uint8_t *
cosig_message(const char *text, size_t len, uint64_t ts, size_t *mlen)
{
    uint8_t *m = xmalloc(len + MSG_EXTRA);
    int n;

    n = snprintf((char *)m, MSG_EXTRA, COSIG_HEADER "time %" PRIu64 "\n", ts);
    /* MSG_EXTRA holds the header and 20 digits: n always fits. */
    if (n < 0 || n >= MSG_EXTRA)
        fatalx("%s: invariant: header of %d bytes", __func__, n);
    memcpy(m + n, text, len);
    *mlen = (size_t)n + len;
    return m;
}

int
cosig_sign(const struct cosig_signer *s, const char *text, size_t len,
    uint64_t ts, char *line, size_t cap, size_t *linen)
{
    uint8_t sig[COSIG_SIG_BYTES];
    uint8_t *m, root[32];
    char origin[NOTE_MAX_ORIGIN + 1];
    uint64_t size;
    size_t mlen;

    *linen = 0;
    if (ts == 0 || ts > (uint64_t)COSIG_MAX_TS || len == 0 ||
        len > NOTE_MAX_BYTES)
        return ERR_INVAL;
    /* Only checkpoints are cosigned (cosignature/v1's statement). */
    if (note_checkpoint_parse(text, len, origin, sizeof(origin), &size, root) !=
        0)
        return ERR_INVAL;
    m = cosig_message(text, len, ts, &mlen);
    bytes_put_be64(sig, ts);
    crypto_sign_ed25519_detached(sig + 8, NULL, m, mlen, s->sk);
    free(m);
    return note_sig_line(
        s->name, s->key_id, sig, sizeof(sig), line, cap, linen);
}

/* What cosig_verify() passes through note_split() to verify_line(). */
struct verify_ctx {
    const char *text;
    size_t text_len;
    const struct cosig_verifier *v;
    size_t nv;
    uint64_t max_ts;
    uint64_t *ts;
    bool *seen;
};

static int
verify_line(void *arg, const char *name, size_t name_len, uint32_t id,
    const uint8_t *sig, size_t siglen)
{
    struct verify_ctx *c = arg;
    uint8_t *m;
    size_t i, mlen;
    uint64_t ts;
    int bad;

    for (i = 0; i < c->nv; i++) {
        if (c->v[i].key_id == id && strlen(c->v[i].name) == name_len &&
            memcmp(c->v[i].name, name, name_len) == 0)
            break;
    }
    if (i == c->nv)
        return 0; /* not a configured cosigner: ignored */
    if (siglen != COSIG_SIG_BYTES)
        return ERR_CORRUPT;
    ts = bytes_get_be64(sig);
    if (ts > (uint64_t)COSIG_MAX_TS || (c->max_ts != 0 && ts > c->max_ts))
        return ERR_CORRUPT;
    m = cosig_message(c->text, c->text_len, ts, &mlen);
    bad = crypto_sign_ed25519_verify_detached(sig + 8, m, mlen, c->v[i].pk);
    free(m);
    if (bad != 0)
        return ERR_CORRUPT;
    c->seen[i] = true;
    if (c->ts != NULL)
        c->ts[i] = ts;
    return 0;
}

int
cosig_verify(const char *msg, size_t len, const struct cosig_verifier *v,
    size_t nv, uint64_t max_ts, bool *ok, uint64_t *ts, size_t *nok)
{
    struct verify_ctx c;
    size_t text_len, i;
    int rc;

    *nok = 0;
    if (ok != NULL)
        memset(ok, 0, nv * sizeof(*ok));
    /* First pass: the frame and where the text ends. */
    rc = note_split(msg, len, &text_len, NULL, NULL);
    if (rc != 0)
        return rc;
    memset(&c, 0, sizeof(c));
    c.text = msg;
    c.text_len = text_len;
    c.v = v;
    c.nv = nv;
    c.max_ts = max_ts;
    c.ts = ts;
    c.seen = xcalloc(nv + 1, sizeof(bool));
    rc = note_split(msg, len, &text_len, verify_line, &c);
    if (rc == 0) {
        for (i = 0; i < nv; i++) {
            if (ok != NULL)
                ok[i] = c.seen[i];
            if (c.seen[i])
                (*nok)++;
        }
    }
    free(c.seen);
    return rc;
}
