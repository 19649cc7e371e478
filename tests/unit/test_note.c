/*
 * test_note.c - unit tests of common/note (C2SP signed notes, checkpoints)
 *
 * Published vectors are copied here (no file is read at run time):
 *  - the PeterNeumann / EnochRoot keys and notes of Go's sumdb note
 *    package (golang.org/x/mod/sumdb/note), TestSign and TestOpen of
 *    https://github.com/golang/mod/blob/fe2ec04/sumdb/note/note_test.go;
 *  - the example of c2sp.org/signed-note, section "Example" of
 *    https://github.com/C2SP/C2SP/blob/5ba5ee8/signed-note.md;
 *  - a real sum.golang.org checkpoint and its witness cosigners from
 *    https://github.com/transparency-dev/formats/blob/0b850f1/log/note_test.go;
 *  - checkpoint bodies of
 *    https://github.com/transparency-dev/formats/blob/0b850f1/log/checkpoint_test.go
 *    and https://github.com/golang/mod/blob/fe2ec04/sumdb/tlog/note_test.go.
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

#include "common/err.h"
#include "common/merkle.h"
#include "common/note.h"
#include "tests/harness/test.h"

#define EM "\xe2\x80\x94" /* U+2014 EM DASH in UTF-8 */

/* --- golang/mod sumdb/note note_test.go @fe2ec04 --- */
static const char peter_vkey[] =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char peter_skey[] =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
static const char peter_pk_hex[] =
    "1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6";
static const char peter_text[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
static const char peter_sigline[] = EM
    " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_vkey[] =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char enoch_sigline[] = EM
    " EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/* --- C2SP signed-note.md example --- */
static const char c2sp_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char c2sp_note[] =
    "This is an example message.\n"
    "\n" EM
    " example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/* --- transparency-dev/formats log/note_test.go @0b850f1 --- */
static const char sumdb_vkey[] =
    "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
static const char sumdb_body[] =
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n";
static const char sumdb_sigline[] = EM
    " sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";
static const char *const witness_vkeys[3] = {
    "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT",
    "bananas+cf639f13+AaPjhFnPCQnid/Ql32KWhmh+uk72FVRfK+2DLmO3BI3M",
    "witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN",
};
static const char *const witness_lines[3] = {
    EM
    " monkeys 202ffh9ve46Mqbhuyb4wnC2Pwdan5EsXQym/tF1ggXJqhjGosU4T5intH4iKMRgDLxrnXuIjRaU2NbvAnaepM6Y+8ww=\n",
    EM
    " bananas z2OfE+2bbsBZ7NLgfuslc0v7NFW2QyexJ7fhePpoL2N/P7N/COd5S+JNHbQEAlYzz2C5sg0E+x/MggS1mDR6t3/9rQw=\n",
    EM
    " witness 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n",
};

/* A growing message buffer for building notes. */
static char msg[NOTE_MAX_BYTES + 64];
static size_t msg_len;

static void
msg_reset(void)
{
    msg_len = 0;
    msg[0] = '\0';
}

static void
msg_add(const char *s)
{
    size_t n = strlen(s);

    ASSERT(msg_len + n < sizeof(msg));
    memcpy(msg + msg_len, s, n);
    msg_len += n;
    msg[msg_len] = '\0';
}

/* The Peter note: text, blank line, signature line. */
static void
msg_peter(void)
{
    msg_reset();
    msg_add(peter_text);
    msg_add("\n");
    msg_add(peter_sigline);
}

static int
open1(const struct note_verifier *v, size_t *text_len)
{
    return note_open(msg, msg_len, v, 1, text_len, NULL);
}

/* ------------------------------------------------------------------ */

static void
test_keys(void)
{
    struct note_verifier v;
    struct note_signer s;
    uint8_t pk[32];
    char buf[NOTE_MAX_KEY];

    ASSERT_OK(note_verifier_parse(peter_vkey, &v));
    ASSERT_STR_EQ(v.name, "PeterNeumann");
    ASSERT_EQ(v.key_id, 0xc74f20a3u);
    ASSERT_OK(sodium_hex2bin(
        pk, sizeof(pk), peter_pk_hex, strlen(peter_pk_hex), NULL, NULL, NULL));
    ASSERT_MEM_EQ(v.pk, pk, 32);
    ASSERT_EQ(note_key_id("PeterNeumann", pk), 0xc74f20a3u);

    ASSERT_OK(note_signer_parse(peter_skey, &s));
    ASSERT_STR_EQ(s.name, "PeterNeumann");
    ASSERT_EQ(s.key_id, 0xc74f20a3u);
    ASSERT_OK(note_signer_vkey(&s, buf, sizeof(buf)));
    ASSERT_STR_EQ(buf, peter_vkey);
    ASSERT_EQ(note_signer_vkey(&s, buf, strlen(peter_vkey)), ERR_TOOBIG);
    note_signer_wipe(&s);
    ASSERT_EQ(s.key_id, 0);

    /* A key file read as is, with its newline. */
    snprintf(buf, sizeof(buf), "%s\n", peter_skey);
    ASSERT_OK(note_signer_parse(buf, &s));
    note_signer_wipe(&s);
    snprintf(buf, sizeof(buf), "%s\n", peter_vkey);
    ASSERT_OK(note_verifier_parse(buf, &v));

    /*
     * The private key quoted in the brief differs from Go's test key in
     * its last 12 characters; its seed does not give key ID c74f20a3.
     */
    ASSERT_EQ(
        note_signer_parse(
            "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxEXUKr8k",
            &s),
        ERR_MALFORMED);

    ASSERT_OK(note_verifier_parse(enoch_vkey, &v));
    ASSERT_EQ(v.key_id, 0xaf0cfe78u);
    ASSERT_OK(note_verifier_parse(c2sp_vkey, &v));
    ASSERT_STR_EQ(v.name, "example.com/foo");
    ASSERT_OK(note_verifier_parse(sumdb_vkey, &v));
    ASSERT_STR_EQ(v.name, "sum.golang.org");
}

static void
test_key_rejections(void)
{
    static const char *const bad_vkeys[] = {
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumanX+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        /* Algorithm byte 0x02 instead of 0x01. */
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        /* Truncated, extended, garbage base64. */
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA==",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n\n",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ",
        " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        /* A signer key is not a verifier key. */
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
    };
    static const char *const bad_skeys[] = {
        "",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
        "private+key+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumanX+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDF",
    };
    struct note_verifier v;
    struct note_signer s;
    char big[NOTE_MAX_KEY + 16];
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad_vkeys); i++) {
        if (note_verifier_parse(bad_vkeys[i], &v) != ERR_MALFORMED)
            TEST_FAIL("vkey accepted: '%s'", bad_vkeys[i]);
    }
    for (i = 0; i < ARRAY_LEN(bad_skeys); i++) {
        memset(&s, 0xaa, sizeof(s));
        if (note_signer_parse(bad_skeys[i], &s) != ERR_MALFORMED)
            TEST_FAIL("skey accepted: '%s'", bad_skeys[i]);
        /* Nothing of the key is left behind on failure. */
        ASSERT_EQ(s.key_id, 0);
        ASSERT_EQ(s.sk[0] | s.sk[31] | s.sk[63], 0);
    }
    /* An over-long string is refused without reading past the cap. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(note_verifier_parse(big, &v), ERR_MALFORMED);
    ASSERT_EQ(note_signer_parse(big, &s), ERR_MALFORMED);
}

static void
test_names(void)
{
    static const char *const good[] = { "a", "example.com/log42",
        "PeterNeumann", "caf\xc3\xa9", "x-y_z.1/2:3" };
    static const char *const bad[] = { "", "a b", "a+b", "+", "a\tb", "a\nb",
        "\x01",
        "a\xc2\xa0"
        "b" /* NBSP */,
        "a\xe3\x80\x80"
        "b" /* ideographic space */,
        "a\xe2\x80\x89"
        "b" /* thin space */,
        "\xff", "\xc0\xaf", "\xed\xa0\x80" /* surrogate */,
        "\xe2\x80" /* truncated */ };
    char longname[NOTE_MAX_NAME + 2];
    size_t i;

    for (i = 0; i < ARRAY_LEN(good); i++)
        ASSERT(note_name_is_valid(good[i]));
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        if (note_name_is_valid(bad[i]))
            TEST_FAIL("name %zu accepted", i);
    }
    memset(longname, 'n', sizeof(longname) - 1);
    longname[NOTE_MAX_NAME] = '\0';
    ASSERT(note_name_is_valid(longname));
    longname[NOTE_MAX_NAME] = 'n';
    longname[NOTE_MAX_NAME + 1] = '\0';
    ASSERT(!note_name_is_valid(longname));
}

/* Go's TestSign: Ed25519 is deterministic, so the bytes must match. */
static void
test_sign_go_vector(void)
{
    struct note_signer s;
    char out[1024];
    size_t n;

    ASSERT_OK(note_signer_parse(peter_skey, &s));
    ASSERT_OK(
        note_sign(&s, peter_text, strlen(peter_text), out, sizeof(out), &n));
    msg_peter();
    ASSERT_EQ(n, msg_len);
    ASSERT_MEM_EQ(out, msg, n);
    ASSERT_EQ(out[n], '\0');
    /* Exactly the needed size (with the NUL) works; one less does not. */
    ASSERT_OK(note_sign(&s, peter_text, strlen(peter_text), out, n + 1, &n));
    ASSERT_EQ(
        note_sign(&s, peter_text, strlen(peter_text), out, n, &n), ERR_TOOBIG);
    ASSERT_EQ(n, 0);
    /* Shorter than the text; the text and its newline but no line. */
    n = 1;
    ASSERT_EQ(
        note_sign(&s, peter_text, strlen(peter_text), out, 4, &n), ERR_TOOBIG);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(note_sign(&s, peter_text, strlen(peter_text), out,
                  strlen(peter_text) + 1, &n),
        ERR_TOOBIG);
    note_signer_wipe(&s);
}

/* Go's TestOpen and the C2SP example. */
static void
test_open_vectors(void)
{
    struct note_verifier v[4];
    bool ok[4];
    size_t tl;

    ASSERT_OK(note_verifier_parse(peter_vkey, &v[0]));
    ASSERT_OK(note_verifier_parse(enoch_vkey, &v[1]));

    msg_peter();
    ASSERT_OK(open1(&v[0], &tl));
    ASSERT_EQ(tl, strlen(peter_text));
    ASSERT_MEM_EQ(msg, peter_text, tl);

    /* Both signatures, both keys known: both verified. */
    msg_add(enoch_sigline);
    ASSERT_OK(note_open(msg, msg_len, v, 2, &tl, ok));
    ASSERT(ok[0] && ok[1]);
    ASSERT_EQ(tl, strlen(peter_text));
    /* Only Enoch known: Peter's signature is ignored. */
    ASSERT_OK(note_open(msg, msg_len, &v[1], 1, &tl, ok));
    ASSERT(ok[0]);
    /* A repeated good signature line of a key is fine... */
    msg_add(peter_sigline);
    ASSERT_OK(note_open(msg, msg_len, v, 2, &tl, ok));
    ASSERT(ok[0] && ok[1]);
    /*
     * ...but a repeated bad one rejects the note: every signature of a
     * known key is verified (C2SP MUST; Go's note would skip it).
     */
    msg_add(EM
        " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAA=\n");
    ASSERT_EQ(note_open(msg, msg_len, v, 2, &tl, ok), ERR_CORRUPT);
    ASSERT(!ok[0] && !ok[1]);
    ASSERT_EQ(tl, 0);

    /* Peter only, Enoch only known: no known signature. */
    msg_peter();
    ASSERT_EQ(note_open(msg, msg_len, &v[1], 1, &tl, ok), ERR_NOTFOUND);
    ASSERT(!ok[0]);
    ASSERT_EQ(tl, 0);
    ASSERT_EQ(note_open(msg, msg_len, v, 0, &tl, NULL), ERR_NOTFOUND);

    ASSERT_OK(note_verifier_parse(c2sp_vkey, &v[2]));
    msg_reset();
    msg_add(c2sp_note);
    ASSERT_OK(open1(&v[2], &tl));
    ASSERT_EQ(tl, strlen("This is an example message.\n"));
    ASSERT_EQ(open1(&v[0], &tl), ERR_NOTFOUND);
}

/* Go's TestOpen negative cases and more tampering. */
static void
test_open_rejections(void)
{
    struct note_verifier v, other;
    char line[256];
    size_t tl, i, pos;

    ASSERT_OK(note_verifier_parse(peter_vkey, &v));

    /* Any changed byte of the text. */
    for (i = 0; i < strlen(peter_text); i++) {
        msg_peter();
        if (msg[i] == '\n')
            continue;
        msg[i] ^= 0x01;
        ASSERT_EQ(open1(&v, &tl), ERR_CORRUPT);
    }
    /* Any changed base64 character of the signature: bad or unknown. */
    pos = strlen(peter_text) + 1 + strlen(EM " PeterNeumann ");
    for (i = pos; i < pos + 91; i++) {
        int rc;

        msg_peter();
        msg[i] = msg[i] == 'A' ? 'B' : 'A';
        rc = open1(&v, &tl);
        if (i < pos + 6)
            ASSERT(rc == ERR_NOTFOUND || rc == ERR_CORRUPT);
        else
            ASSERT_EQ(rc, ERR_CORRUPT);
    }
    /* Go: "ABCD" inserted at char 60 of the Peter line. */
    memcpy(line, peter_sigline, 60);
    memcpy(line + 60, "ABCD", 4);
    snprintf(line + 64, sizeof(line) - 64, "%s", peter_sigline + 60);
    msg_reset();
    msg_add(peter_text);
    msg_add("\n");
    msg_add(line);
    ASSERT_EQ(open1(&v, &tl), ERR_CORRUPT);
    /* Go: same name, different key ID: unknown key, ignored. */
    snprintf(line, sizeof(line), "%s", peter_sigline);
    pos = strlen(EM " PeterNeumann ");
    line[pos] = 'y'; /* "x08g" -> "y08g": first ID byte changes */
    msg_reset();
    msg_add(peter_text);
    msg_add("\n");
    msg_add(line);
    ASSERT_EQ(open1(&v, &tl), ERR_NOTFOUND);
    /* Another name with Peter's ID and signature: unknown, ignored. */
    msg_reset();
    msg_add(peter_text);
    msg_add(
        "\n" EM
        " PeterNeumanX x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
    ASSERT_EQ(open1(&v, &tl), ERR_NOTFOUND);
    /* The right name and ID with the wrong public key: bad signature. */
    other = v;
    other.pk[0] ^= 1;
    msg_peter();
    ASSERT_EQ(open1(&other, &tl), ERR_CORRUPT);

    /* Malformed notes (Go TestOpen). */
    {
        static const char *const bad[] = {
            /* no blank line + signature */
            "If you think cryptography is the answer to your problem,\n",
            "\n",
            "",
            "x\n\n",
            /* missing final newline */
            "x\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
            /* leading 0x01 / 0xff */
            "\x01x\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "\xffx\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            /* name with a space */
            "x\n\n" EM
            " Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            /* trailing non-signature line */
            "x\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\nhello\n",
            /* hyphen instead of em dash; no space after the dash */
            "x\n\n- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "x\n\n" EM
            "PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            /* empty name, no signature, short signature, bad base64 */
            "x\n\n" EM
            "  x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "x\n\n" EM " PeterNeumann \n",
            "x\n\n" EM " PeterNeumann\n",
            "x\n\n" EM " PeterNeumann x08go/Y=\n",
            "x\n\n" EM
            " PeterNeumann x08go/ZJ*uBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "x\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM\n",
            /* CR, tab in the text; control char in the signature area */
            "x\r\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "x\tx\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
            "x\n\n" EM
            " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\r\n",
        };

        for (i = 0; i < ARRAY_LEN(bad); i++) {
            if (note_open(bad[i], strlen(bad[i]), &v, 1, &tl, NULL) !=
                ERR_CORRUPT)
                TEST_FAIL("malformed note %zu accepted", i);
            ASSERT_EQ(tl, 0);
        }
    }
    /* An embedded NUL is a control character. */
    msg_peter();
    msg[3] = '\0';
    ASSERT_EQ(open1(&v, &tl), ERR_CORRUPT);
}

/* Up to NOTE_MAX_SIGS signatures are accepted (C2SP: at least 16). */
static void
test_open_many_signatures(void)
{
    struct note_verifier v;
    size_t tl, i;

    ASSERT_OK(note_verifier_parse(peter_vkey, &v));
    /* 99 unknown-key lines (witness bytes under other names) + Peter. */
    msg_reset();
    msg_add(peter_text);
    msg_add("\n");
    for (i = 0; i < NOTE_MAX_SIGS - 1; i++) {
        char line[256];

        snprintf(line, sizeof(line), EM " random%zu%s", i,
            witness_lines[2] + strlen(EM " witness"));
        msg_add(line);
    }
    msg_add(peter_sigline);
    ASSERT_OK(open1(&v, &tl));
    ASSERT_EQ(tl, strlen(peter_text));
    /* Go: 101 copies of the Peter line -> refused. */
    msg_peter();
    for (i = 1; i < NOTE_MAX_SIGS + 1; i++)
        msg_add(peter_sigline);
    ASSERT_EQ(open1(&v, &tl), ERR_TOOBIG);
    /* Over the size cap. */
    ASSERT_EQ(note_open(msg, NOTE_MAX_BYTES + 1, &v, 1, &tl, NULL), ERR_TOOBIG);
}

/* A real sum.golang.org checkpoint with three witness cosignatures. */
static void
test_sumdb_checkpoint(void)
{
    struct note_verifier v[4];
    uint8_t root[32], want[32];
    char origin[64];
    uint64_t size;
    bool ok[4];
    size_t tl, i;

    ASSERT_OK(note_verifier_parse(sumdb_vkey, &v[0]));
    for (i = 0; i < 3; i++)
        ASSERT_OK(note_verifier_parse(witness_vkeys[i], &v[1 + i]));
    msg_reset();
    msg_add(sumdb_body);
    msg_add("\n");
    msg_add(sumdb_sigline);
    ASSERT_OK(open1(&v[0], &tl));
    ASSERT_EQ(tl, strlen(sumdb_body));
    ASSERT_OK(
        note_checkpoint_parse(msg, tl, origin, sizeof(origin), &size, root));
    ASSERT_STR_EQ(origin, "go.sum database tree");
    ASSERT_EQ(size, 6476701);
    ASSERT_OK(sodium_base642bin(want, sizeof(want),
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=", 44, NULL, NULL, NULL,
        sodium_base64_VARIANT_ORIGINAL));
    ASSERT_MEM_EQ(root, want, 32);

    for (i = 0; i < 3; i++)
        msg_add(witness_lines[i]);
    /* random1/random2: witness bytes under unknown names: ignored. */
    msg_add(EM
        " random1 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n");
    msg_add(EM
        " random2 8TqG25yWGFLdT7WPf/WoyeG3LwqtkXP+8S3yykOVm6EMh4hPgCke6eSVPU4BdtXNMPJBXKF+UpDbGgCdcpR8SVSoqAU=\n");
    ASSERT_OK(note_open(msg, msg_len, v, 4, &tl, ok));
    ASSERT(ok[0] && ok[1] && ok[2] && ok[3]);
    /* A witness alone is enough for note_open (policy is the caller's). */
    ASSERT_OK(note_open(msg, msg_len, &v[2], 1, &tl, ok));
    /* Change the tree size: every known signature fails. */
    msg[strlen("go.sum database tree\n")] = '7';
    ASSERT_EQ(note_open(msg, msg_len, v, 4, &tl, ok), ERR_CORRUPT);
    ASSERT(!ok[0] && !ok[1]);
}

/* Generated keys: sign, open, and the text rules of note_sign. */
static void
test_generate_sign_open(void)
{
    char skey[NOTE_MAX_KEY], vkey[NOTE_MAX_KEY], out[2048];
    struct note_signer s;
    struct note_verifier v, v2;
    size_t n, tl, i;
    static const char *const texts[] = { "hello\n", "\n", "a\n\nb\n", "a\n\n\n",
        "x\n\n" EM " fake line\n", "caf\xc3\xa9 \xf0\x9f\x94\x91\n",
        "DEL \x7f is not a C0 control\n" };
    static const char *const bad_texts[] = { "", "no newline", "a\tb\n",
        "a\rb\n", "a\x01\n", "\xff\n", "\xc3\n", "\xed\xa0\x80\n" };

    ASSERT_OK(note_key_generate(
        "vigil.example/audit", skey, sizeof(skey), vkey, sizeof(vkey)));
    ASSERT(strncmp(skey, "PRIVATE+KEY+vigil.example/audit+", 32) == 0);
    ASSERT(strncmp(vkey, "vigil.example/audit+", 20) == 0);
    ASSERT_OK(note_signer_parse(skey, &s));
    ASSERT_OK(note_verifier_parse(vkey, &v));
    ASSERT_EQ(s.key_id, v.key_id);
    ASSERT_EQ(note_key_id(v.name, v.pk), v.key_id);
    ASSERT_OK(note_signer_vkey(&s, out, sizeof(out)));
    ASSERT_STR_EQ(out, vkey);
    sodium_memzero(skey, sizeof(skey));

    for (i = 0; i < ARRAY_LEN(texts); i++) {
        size_t len = strlen(texts[i]);

        ASSERT_OK(note_sign(&s, texts[i], len, out, sizeof(out), &n));
        ASSERT_EQ(strlen(out), n);
        ASSERT_OK(note_open(out, n, &v, 1, &tl, NULL));
        ASSERT_EQ(tl, len);
        ASSERT_MEM_EQ(out, texts[i], len);
    }
    for (i = 0; i < ARRAY_LEN(bad_texts); i++) {
        if (note_sign(&s, bad_texts[i], strlen(bad_texts[i]), out, sizeof(out),
                &n) != ERR_INVAL)
            TEST_FAIL("bad text %zu signed", i);
    }
    ASSERT_EQ(note_sign(&s, "a\0b\n", 4, out, sizeof(out), &n), ERR_INVAL);

    /* Two fresh keys differ; the other one does not open this note. */
    ASSERT_OK(note_key_generate(
        "vigil.example/audit", skey, sizeof(skey), vkey, sizeof(vkey)));
    ASSERT_OK(note_verifier_parse(vkey, &v2));
    ASSERT(memcmp(v.pk, v2.pk, 32) != 0);
    ASSERT_OK(note_sign(&s, "hello\n", 6, out, sizeof(out), &n));
    ASSERT(v2.key_id == v.key_id ||
        note_open(out, n, &v2, 1, &tl, NULL) == ERR_NOTFOUND);
    sodium_memzero(skey, sizeof(skey));
    note_signer_wipe(&s);

    /* Bad names, small buffers. */
    ASSERT_EQ(
        note_key_generate("bad name", skey, sizeof(skey), vkey, sizeof(vkey)),
        ERR_INVAL);
    ASSERT_EQ(note_key_generate("a+b", skey, sizeof(skey), vkey, sizeof(vkey)),
        ERR_INVAL);
    ASSERT_EQ(note_key_generate("", skey, sizeof(skey), vkey, sizeof(vkey)),
        ERR_INVAL);
    ASSERT_EQ(
        note_key_generate("name", skey, 20, vkey, sizeof(vkey)), ERR_TOOBIG);
    ASSERT_EQ(skey[0], '\0');
    ASSERT_EQ(
        note_key_generate("name", skey, sizeof(skey), vkey, 20), ERR_TOOBIG);
    ASSERT_EQ(skey[0], '\0');
    ASSERT_EQ(vkey[0], '\0');
}

/* ------------------------------------------------------------------ */

static void
test_checkpoint_format_parse(void)
{
    uint8_t root[32], got[32];
    char out[512], origin[NOTE_MAX_ORIGIN + 1];
    static const uint64_t sizes[] = { 0, 1, 9, 10, 6476701, 123456789012ULL,
        UINT64_MAX };
    uint64_t size;
    size_t n, i;

    /* golang/mod sumdb/tlog note_test.go: root = leaf hash("hello world"). */
    merkle_leaf_hash("hello world", 11, root);
    ASSERT_OK(note_checkpoint_format(
        "go.sum database tree", 123456789012ULL, root, out, sizeof(out), &n));
    ASSERT_STR_EQ(out,
        "go.sum database tree\n123456789012\n"
        "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n");
    ASSERT_EQ(n, strlen(out));
    ASSERT_OK(
        note_checkpoint_parse(out, n, origin, sizeof(origin), &size, got));
    ASSERT_STR_EQ(origin, "go.sum database tree");
    ASSERT_EQ(size, 123456789012ULL);
    ASSERT_MEM_EQ(got, root, 32);

    for (i = 0; i < ARRAY_LEN(sizes); i++) {
        randombytes_buf(root, sizeof(root));
        ASSERT_OK(note_checkpoint_format(
            "example.com/log42", sizes[i], root, out, sizeof(out), &n));
        ASSERT_OK(
            note_checkpoint_parse(out, n, origin, sizeof(origin), &size, got));
        ASSERT(size == sizes[i]);
        ASSERT_MEM_EQ(got, root, 32);
        ASSERT_STR_EQ(origin, "example.com/log42");
        /* Extension lines are allowed and ignored. */
        snprintf(out + n, sizeof(out) - n, "ext one\next+two\n");
        ASSERT_OK(note_checkpoint_parse(
            out, strlen(out), origin, sizeof(origin), &size, got));
        ASSERT(size == sizes[i]);
    }
    /* The exact buffer size. */
    ASSERT_OK(note_checkpoint_format("o", 5, root, out, sizeof(out), &n));
    ASSERT_OK(note_checkpoint_format("o", 5, root, out, n + 1, &n));
    ASSERT_EQ(note_checkpoint_format("o", 5, root, out, n, &n), ERR_TOOBIG);
    /* Origins: the spec's SHOULD (no space, no '+') is not enforced. */
    ASSERT_OK(note_checkpoint_format("a b+c", 5, root, out, sizeof(out), &n));
    ASSERT_EQ(
        note_checkpoint_format("", 5, root, out, sizeof(out), &n), ERR_INVAL);
    ASSERT_EQ(note_checkpoint_format("a\nb", 5, root, out, sizeof(out), &n),
        ERR_INVAL);
    ASSERT_EQ(note_checkpoint_format("a\xff", 5, root, out, sizeof(out), &n),
        ERR_INVAL);
    /* Origin longer than the caller's buffer. */
    ASSERT_OK(note_checkpoint_format(
        "example.com/log42", 5, root, out, sizeof(out), &n));
    ASSERT_EQ(
        note_checkpoint_parse(out, n, origin, 17, &size, got), ERR_TOOBIG);
    ASSERT_OK(note_checkpoint_parse(out, n, origin, 18, &size, got));
}

static void
test_checkpoint_rejections(void)
{
    static const char *const bad[] = {
        /* transparency-dev/formats checkpoint_test.go must-reject cases */
        "Head\n9944\n",
        "\n9944\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n123\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=",
        "Log\nbananas\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n-34\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n3438945738945739845734895735\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n123\nThisIsn'tBase64\n",
        /* their bodies with non-32-byte "hashes": a strict parser refuses */
        "Log\n123\nYmFuYW5hcw==\n",
        "Banana\n9944\ndGhlIHZpZXcgZnJvbSB0aGUgdHJlZSB0b3BzIGlzIGdyZWF0IQ==\n",
        /* size: 2^64, leading zero, sign, space, empty, hex */
        "Log\n18446744073709551616\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n0123\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n00\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n+5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n 5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n5 \nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n0x10\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        /* root: no padding, non-zero pad bits, extra, URL alphabet */
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk\n",
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wl=\n",
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk==\n",
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=A\n",
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9W-=\n",
        "Log\n5\n mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "Log\n5\n\n",
        /* fuzz.note: bytes 0x80-0xff, which libsodium 1.0.18 decodes as
         * '/' (here U+2028 in place of "///"; the valid root parses) */
        ("fuzz.vigil.test/audit\n12\nAAkSGyQtNj9IUVpjbHV+h5CZoqu0vcbP2"
         "\xe2\x80\xa8++wGDhc=\n"),
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9W\xff=\n",
        /* empty extension line, CR, control char, bad UTF-8 */
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n",
        "Log\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\next\n\n",
        "Log\r\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "L\x01og\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "L\xffog\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        "",
        "\n",
    };
    uint8_t root[32];
    char origin[64];
    uint64_t size;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        if (note_checkpoint_parse(bad[i], strlen(bad[i]), origin,
                sizeof(origin), &size, root) != ERR_MALFORMED)
            TEST_FAIL("bad checkpoint %zu accepted", i);
    }
    /* The largest size parses; a NUL inside is refused. */
    ASSERT_OK(note_checkpoint_parse(
        "Log\n18446744073709551615\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n",
        strlen(
            "Log\n18446744073709551615\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"),
        origin, sizeof(origin), &size, root));
    ASSERT(size == UINT64_MAX);
    ASSERT_EQ(note_checkpoint_parse(
                  "L\0g\n5\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n", 50,
                  origin, sizeof(origin), &size, root),
        ERR_MALFORMED);
}

/* A checkpoint signed and opened end to end, with a Merkle root. */
static void
test_signed_checkpoint(void)
{
    char skey[NOTE_MAX_KEY], vkey[NOTE_MAX_KEY], body[256], note[1024];
    struct note_signer s;
    struct note_verifier v;
    struct merkle_frontier f;
    uint8_t root[32], got[32];
    char origin[64];
    uint64_t size;
    size_t bn, nn, tl;
    int i;

    merkle_frontier_init(&f);
    for (i = 0; i < 10; i++) {
        uint8_t lh[32];

        merkle_leaf_hash(&i, sizeof(i), lh);
        merkle_frontier_append(&f, lh);
    }
    merkle_frontier_root(&f, root);
    ASSERT_OK(note_key_generate(
        "vigil.example/audit", skey, sizeof(skey), vkey, sizeof(vkey)));
    ASSERT_OK(note_signer_parse(skey, &s));
    sodium_memzero(skey, sizeof(skey));
    ASSERT_OK(note_verifier_parse(vkey, &v));
    ASSERT_OK(note_checkpoint_format(
        "vigil.example/audit", f.size, root, body, sizeof(body), &bn));
    ASSERT_OK(note_sign(&s, body, bn, note, sizeof(note), &nn));
    note_signer_wipe(&s);
    ASSERT_OK(note_open(note, nn, &v, 1, &tl, NULL));
    ASSERT_EQ(tl, bn);
    ASSERT_OK(
        note_checkpoint_parse(note, tl, origin, sizeof(origin), &size, got));
    ASSERT_EQ(size, 10);
    ASSERT_MEM_EQ(got, root, 32);
    ASSERT_STR_EQ(origin, "vigil.example/audit");
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init failed");
    RUN(test_keys);
    RUN(test_key_rejections);
    RUN(test_names);
    RUN(test_sign_go_vector);
    RUN(test_open_vectors);
    RUN(test_open_rejections);
    RUN(test_open_many_signatures);
    RUN(test_sumdb_checkpoint);
    RUN(test_generate_sign_open);
    RUN(test_checkpoint_format_parse);
    RUN(test_checkpoint_rejections);
    RUN(test_signed_checkpoint);
    return 0;
}
