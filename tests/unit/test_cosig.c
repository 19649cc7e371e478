/*
 * test_cosig.c - unit tests of common/cosig (C2SP tlog-cosignature/v1)
 *
 * Facts used (no file is read at run time):
 *  - the checkpoint body and timestamp 1679315147 of the example in
 *    c2sp.org/tlog-cosignature, section "Ed25519 signed message";
 *  - the cosignature of transparency-dev/formats note/note_cosigv1_test.go
 *    (TestCoSigV1Timestamp): key ID 646846b9, timestamp 1727964367, layout
 *    keyID(4) || u64 BE timestamp || Ed25519 signature(64);
 *  - a known answer computed with independent code (Python's
 *    cryptography package, Ed25519, following the spec's message rules)
 *    from the seed 01 02 .. 20 and the name witness.example/w1: its vkey,
 *    skey and the cosignature line of the example checkpoint at that time.
 * Source files use ASCII only: U+2014 (em dash) is written EM below.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/cosig.h"
#include "common/err.h"
#include "common/note.h"
#include "tests/harness/test.h"

#define EM "\xe2\x80\x94" /* U+2014 EM DASH in UTF-8 */

static const char body[] = "example.com/behind-the-sofa\n"
                           "20852163\n"
                           "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
static const uint64_t body_ts = 1679315147;

/* Known answer (see the header). */
static const char kat_vkey[] =
    "witness.example/w1+468d99bb+BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk";
static const char kat_skey[] = "PRIVATE+KEY+witness.example/w1+468d99bb+"
                               "BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g";
static const char kat_line[] =
    EM " witness.example/w1 Ro2ZuwAAAABkGFDLQB2dbiQ7rPMIDjq/twq5Ixt42T+awjiYS4+"
       "fxrnLnI31x5abVjZlhDVvZAcRRLyAiG4oQlhTgi4DsxiPwiDaDg==\n";

/* A log's own (type 0x01) signature line on `body`: any bytes will do
 * for cosig_verify(), which ignores keys it was not given. */
static const char log_line[] =
    EM " example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+"
       "ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

/* note = body "\n" lines... into buf; returns its length. */
static size_t
make_note(char *buf, size_t cap, const char *l1, const char *l2)
{
    int n = snprintf(buf, cap, "%s\n%s%s", body, l1, l2 ? l2 : "");

    ASSERT(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void
test_known_answer(void)
{
    struct cosig_signer s;
    struct cosig_verifier v;
    char line[COSIG_LINE_MAX], vkey[NOTE_MAX_KEY];
    size_t n;

    ASSERT_OK(cosig_signer_parse(kat_skey, &s));
    ASSERT_STR_EQ(s.name, "witness.example/w1");
    ASSERT_EQ(s.key_id, 0x468d99bbu);
    ASSERT_OK(cosig_signer_vkey(&s, vkey, sizeof(vkey)));
    ASSERT_STR_EQ(vkey, kat_vkey);
    ASSERT_OK(cosig_verifier_parse(kat_vkey, &v));
    ASSERT_EQ(v.key_id, 0x468d99bbu);
    ASSERT_EQ(note_key_id_alg(v.name, COSIG_ALG_ED25519, v.pk), 0x468d99bbu);
    /* The same key under type 0x01 has another ID (domain separation). */
    ASSERT_NE(note_key_id(v.name, v.pk), 0x468d99bbu);
    ASSERT_OK(
        cosig_sign(&s, body, strlen(body), body_ts, line, sizeof(line), &n));
    ASSERT_STR_EQ(line, kat_line);
    ASSERT_EQ(n, strlen(kat_line));
    cosig_signer_wipe(&s);
}

/* note_split callback: record the one cosignature line's fields. */
struct seen {
    uint32_t id;
    uint64_t ts;
    size_t siglen;
    int lines;
};

static int
seen_cb(void *arg, const char *name, size_t name_len, uint32_t id,
    const uint8_t *sig, size_t siglen)
{
    struct seen *s = arg;
    uint64_t ts = 0;
    size_t i;

    (void)name;
    (void)name_len;
    s->lines++;
    s->id = id;
    s->siglen = siglen;
    for (i = 0; i < 8 && i < siglen; i++)
        ts = (ts << 8) | sig[i];
    s->ts = ts;
    return 0;
}

static void
test_layout_vector(void)
{
    /* transparency-dev/formats TestCoSigV1Timestamp "works". */
    char note[1024];
    struct seen s = { 0 };
    size_t tl, n;

    n = make_note(note, sizeof(note),
        EM " w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97"
           "w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==\n",
        NULL);
    ASSERT_OK(note_split(note, n, &tl, seen_cb, &s));
    ASSERT_EQ(tl, strlen(body));
    ASSERT_EQ(s.lines, 1);
    ASSERT_EQ(s.id, 0x646846b9u);
    ASSERT_EQ(s.siglen, COSIG_SIG_BYTES);
    ASSERT_EQ(s.ts, 1727964367);
}

static void
test_verify(void)
{
    struct cosig_verifier v[2];
    struct cosig_signer other;
    char note[2048], line[COSIG_LINE_MAX], skey[NOTE_MAX_KEY];
    char vkey[NOTE_MAX_KEY], bad[sizeof(kat_line)];
    uint64_t ts[2];
    bool ok[2];
    size_t n, nok, ln;

    ASSERT_OK(cosig_verifier_parse(kat_vkey, &v[0]));
    ASSERT_OK(cosig_key_generate(
        "witness.example/w2", skey, sizeof(skey), vkey, sizeof(vkey)));
    ASSERT_OK(cosig_verifier_parse(vkey, &v[1]));
    ASSERT_OK(cosig_signer_parse(skey, &other));
    sodium_memzero(skey, sizeof(skey));

    /* The log's line is ignored; the known-answer line verifies. */
    n = make_note(note, sizeof(note), log_line, kat_line);
    ASSERT_OK(cosig_verify(note, n, v, 2, 0, ok, ts, &nok));
    ASSERT_EQ(nok, 1);
    ASSERT(ok[0] && !ok[1]);
    ASSERT_EQ(ts[0], body_ts);

    /* Both cosigners. */
    ASSERT_OK(cosig_sign(
        &other, body, strlen(body), 1700000000, line, sizeof(line), &ln));
    n = make_note(note, sizeof(note), kat_line, line);
    ASSERT_OK(cosig_verify(note, n, v, 2, 0, ok, ts, &nok));
    ASSERT_EQ(nok, 2);
    ASSERT_EQ(ts[1], 1700000000);

    /* A future timestamp is refused when the caller sets a bound. */
    ASSERT_EQ(
        cosig_verify(note, n, v, 2, 1690000000, ok, ts, &nok), ERR_CORRUPT);

    /* Only the configured keys count: no verifier, no cosignature. */
    ASSERT_OK(cosig_verify(note, n, v + 1, 1, 0, ok, NULL, &nok));
    ASSERT_EQ(nok, 1);

    /* A flipped timestamp bit: the signature no longer verifies. */
    memcpy(bad, kat_line, sizeof(bad));
    {
        char *c = &bad[strlen(EM " witness.example/w1 ") + 8];

        *c = *c == 'A' ? 'B' : 'A';
    }
    n = make_note(note, sizeof(note), log_line, bad);
    ASSERT_EQ(cosig_verify(note, n, v, 2, 0, ok, ts, &nok), ERR_CORRUPT);
    ASSERT_EQ(nok, 0);

    /* Another checkpoint (size + 1) with the same line: refused. */
    {
        char other_note[2048];
        int m = snprintf(other_note, sizeof(other_note),
            "example.com/behind-the-sofa\n20852164\n"
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n%s",
            kat_line);

        ASSERT_EQ(cosig_verify(other_note, (size_t)m, v, 2, 0, ok, ts, &nok),
            ERR_CORRUPT);
    }

    /* The right key under another name: ignored (name and ID both
     * identify the key). */
    {
        char renamed[sizeof(kat_line) + 8];
        const char *b64 = strrchr(kat_line, ' ');

        snprintf(renamed, sizeof(renamed), EM " witness.example/w9%s", b64);
        n = make_note(note, sizeof(note), log_line, renamed);
        ASSERT_OK(cosig_verify(note, n, v, 2, 0, ok, ts, &nok));
        ASSERT_EQ(nok, 0);
    }

    /* A type 0x01 signature of the same key is not a cosignature. */
    cosig_signer_wipe(&other);
}

static void
test_rejections(void)
{
    struct cosig_signer s;
    struct cosig_verifier v;
    char line[COSIG_LINE_MAX];
    size_t n;

    /* A signed-note (type 0x01) key is not a cosignature key. */
    ASSERT_EQ(
        cosig_verifier_parse("PeterNeumann+c74f20a3+"
                             "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            &v),
        ERR_MALFORMED);
    /* A wrong key ID. */
    ASSERT_EQ(
        cosig_verifier_parse("witness.example/w1+468d99bc+"
                             "BHm1Vi6P5lT5QHixEuipi6eQH4U65pW+1+DjkQutBJZk",
            &v),
        ERR_MALFORMED);
    ASSERT_EQ(cosig_signer_parse(kat_vkey, &s), ERR_MALFORMED);

    ASSERT_OK(cosig_signer_parse(kat_skey, &s));
    /* Timestamps 0 and above 2^63 - 1 are refused (tlog-witness,
     * tlog-cosignature). */
    ASSERT_EQ(cosig_sign(&s, body, strlen(body), 0, line, sizeof(line), &n),
        ERR_INVAL);
    ASSERT_EQ(cosig_sign(&s, body, strlen(body), (uint64_t)INT64_MAX + 1, line,
                  sizeof(line), &n),
        ERR_INVAL);
    /* Only checkpoints are cosigned. */
    ASSERT_EQ(
        cosig_sign(&s, "hello\n", 6, 1, line, sizeof(line), &n), ERR_INVAL);
    ASSERT_EQ(cosig_sign(&s, body, strlen(body) - 1, 1, line, sizeof(line), &n),
        ERR_INVAL);
    /* Too small a buffer. */
    ASSERT_EQ(cosig_sign(&s, body, strlen(body), 1, line, 20, &n), ERR_TOOBIG);
    /* Extension lines are part of the signed message. */
    {
        char ext[256];
        int m = snprintf(ext, sizeof(ext), "%sext line\n", body);

        ASSERT_OK(
            cosig_sign(&s, ext, (size_t)m, body_ts, line, sizeof(line), &n));
        ASSERT(strcmp(line, kat_line) != 0);
    }
    cosig_signer_wipe(&s);
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init failed");
    RUN(test_known_answer);
    RUN(test_layout_vector);
    RUN(test_verify);
    RUN(test_rejections);
    return 0;
}
