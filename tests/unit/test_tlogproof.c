/*
 * test_tlogproof.c - unit tests of common/tlogproof: C2SP tlog-proof@v1
 *                    text, format and strict parse
 *
 * Vectors:
 *  - the example proof of the spec, C2SP tlog-proof.md (c2sp.org/
 *    tlog-proof, section "Transparency Log Proofs"), parsed field by
 *    field (its signatures are elided with "[...]" in the spec, so only
 *    the format is checked; the hashes' bytes were decoded independently
 *    with Python's base64 module);
 *  - the 8-leaf tree of transparency-dev/merkle testonly/constants.go
 *    @417fb0c (leaves, roots) and the inclusion proofs of
 *    transparency-dev/merkle proof/verify_test.go @9ca563d
 *    (inclusionProofs), as collected in the project's reference vectors:
 *    a tlog-proof is written with the leaf as `extra` and a checkpoint of
 *    that tree signed with a test key, read back, and its proof checked
 *    against the extracted root; altered proofs fail.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/tlogproof.h"
#include "tests/harness/test.h"

/* C2SP tlog-proof.md, the example, verbatim. */
static const char spec_example[] =
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n"
    "example.com/fancylog\n"
    "109482\n"
    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    "\n"
    "\xe2\x80\x94 example.com/fancylog hI2DJw[...]1roloI=\n"
    "\xe2\x80\x94 witness1.example mJirIklj[...]qY9v2B/5bg==\n"
    "\xe2\x80\x94 witness2.example TnKKVHLX[...]xwYwrSjgow==\n"
    "\xe2\x80\x94 witness3.example S4X82uH5[...]3oEcROGLFQ==\n";

static void
unhex(const char *h, uint8_t *out, size_t n)
{
    ASSERT_EQ(strlen(h), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        ASSERT_EQ(sscanf(h + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void
test_spec_example(void)
{
    static struct tlogproof p;
    const char *why = NULL;
    uint8_t h[MERKLE_HASH_BYTES];

    ASSERT(tlogproof_is(spec_example, sizeof(spec_example) - 1));
    ASSERT_OK(
        tlogproof_parse(spec_example, sizeof(spec_example) - 1, &p, &why));
    ASSERT(p.has_extra);
    ASSERT_EQ(p.extra_len, 39u);
    ASSERT_MEM_EQ(p.extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
    ASSERT_EQ(p.index, 73894u);
    ASSERT_EQ(p.n, 5u);
    unhex("8122b25e861952067a8ddb9662b9033804629ce30626f7978e032405371d3e54", h,
        sizeof(h));
    ASSERT_MEM_EQ(p.hashes[0], h, sizeof(h));
    unhex("0070a2a17f672e3b2bb1ee988634519a4d565048ab54e2cb468390eaf7cee6f9", h,
        sizeof(h));
    ASSERT_MEM_EQ(p.hashes[4], h, sizeof(h));
    ASSERT(p.checkpoint_len > 0);
    ASSERT_MEM_EQ(p.checkpoint, "example.com/fancylog\n109482\n", 28);
    ASSERT_EQ((size_t)(p.checkpoint + p.checkpoint_len - spec_example),
        sizeof(spec_example) - 1);
}

/* Parse `text` and expect ERR_MALFORMED. */
static void
bad(const char *text)
{
    static struct tlogproof p;
    const char *why = NULL;

    if (tlogproof_parse(text, strlen(text), &p, &why) != ERR_MALFORMED)
        TEST_FAIL("accepted: %s", text);
    ASSERT(why != NULL);
}

static void
test_malformed(void)
{
    const char *ck = "\n\nexample.com/log\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2h"
                     "RGjBhevoB0=\n\n\xe2\x80\x94 example.com/log AAAA\n";
    char text[512];

    bad("");
    bad("c2sp.org/tlog-proof@v2\nindex 0\n\nx\n");
    bad("c2sp.org/tlog-proof@v1");
    bad("c2sp.org/tlog-proof@v1\r\nindex 0\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex 01\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex -1\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex \n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nextra !!!!\nindex 0\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nextra AAAA\n\nx\n");
    /* 31 bytes, 33 bytes, unpadded */
    bad("c2sp.org/tlog-proof@v1\nindex 3\n"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex 3\n"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n\nx\n");
    bad("c2sp.org/tlog-proof@v1\nindex 3\n"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\nx\n");
    /* no empty line, no checkpoint, a checkpoint without its newline */
    bad("c2sp.org/tlog-proof@v1\nindex 0\n");
    bad("c2sp.org/tlog-proof@v1\nindex 0\n\n");
    bad("c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log");
    /* 64 hashes: more than any tree of 2^63 leaves needs */
    {
        struct buf b;

        buf_init(&b, 1 << 16);
        ASSERT_OK(buf_append(&b, "c2sp.org/tlog-proof@v1\nindex 1\n", 31));
        for (int i = 0; i < 64; i++)
            ASSERT_OK(buf_append(
                &b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45));
        ASSERT_OK(buf_append(&b, "\nx\n\0", 4));
        bad((const char *)b.data);
        buf_release(&b);
    }
    /* and the good one these are variations of */
    snprintf(text, sizeof(text), "c2sp.org/tlog-proof@v1\nindex 0%s", ck);
    {
        static struct tlogproof p;
        const char *why;

        ASSERT_OK(tlogproof_parse(text, strlen(text), &p, &why));
        ASSERT_EQ(p.n, 0u);
        ASSERT(!p.has_extra);
    }
}

/* The transparency-dev tree: leaves and roots (constants.go). */
static const char *const leaves_hex[] = { "", "00", "10", "2021", "3031",
    "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f" };

struct incl_case {
    uint64_t index, size;
    const char *root;
    const char *path[3];
    size_t n;
};

/* inclusionProofs of verify_test.go (0-based), with the roots. */
static const struct incl_case cases[] = {
    { 0, 8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" },
        3 },
    { 5, 8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" },
        3 },
    { 2, 3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" },
        1 },
    { 1, 5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" },
        3 },
};

static void
test_transparency_dev_tree(void)
{
    char skey[NOTE_MAX_KEY], vkey[NOTE_MAX_KEY], body[256], note[1024];
    struct note_signer s;
    struct note_verifier v;

    ASSERT_OK(note_key_generate(
        "example.com/tree", skey, sizeof(skey), vkey, sizeof(vkey)));
    ASSERT_OK(note_signer_parse(skey, &s));
    ASSERT_OK(note_verifier_parse(vkey, &v));
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct incl_case *k = &cases[c];
        static struct tlogproof p;
        uint8_t leaf[16], lh[MERKLE_HASH_BYTES], root[MERKLE_HASH_BYTES];
        uint8_t path[3][MERKLE_HASH_BYTES], got_root[MERKLE_HASH_BYTES];
        char b64[64], origin[64];
        size_t leaf_len = strlen(leaves_hex[k->index]) / 2, nlen, tl;
        uint64_t size;
        const char *why;
        struct buf out;

        unhex(leaves_hex[k->index], leaf, leaf_len);
        unhex(k->root, root, sizeof(root));
        for (size_t i = 0; i < k->n; i++)
            unhex(k->path[i], path[i], MERKLE_HASH_BYTES);
        sodium_bin2base64(b64, sizeof(b64), root, sizeof(root),
            sodium_base64_VARIANT_ORIGINAL);
        snprintf(body, sizeof(body), "example.com/tree\n%llu\n%s\n",
            (unsigned long long)k->size, b64);
        ASSERT_OK(note_sign(&s, body, strlen(body), note, sizeof(note), &nlen));

        buf_init(&out, 1 << 16);
        ASSERT_OK(tlogproof_format(&out, leaf, leaf_len, k->index,
            (const uint8_t(*)[MERKLE_HASH_BYTES])path, k->n, note, nlen));
        ASSERT_OK(buf_append(&out, "", 0));
        ASSERT_OK(tlogproof_parse((const char *)out.data, out.len, &p, &why));
        /* What was written is what is read back. */
        ASSERT_EQ(p.index, k->index);
        ASSERT_EQ(p.n, k->n);
        ASSERT_EQ(p.extra_len, leaf_len);
        ASSERT_MEM_EQ(p.extra, leaf, leaf_len);
        ASSERT_EQ(p.checkpoint_len, nlen);
        ASSERT_MEM_EQ(p.checkpoint, note, nlen);
        /* The verification steps of the spec: leaf hash, checkpoint
         * signature, inclusion against its root. */
        merkle_leaf_hash(p.extra, p.extra_len, lh);
        ASSERT_OK(note_open(p.checkpoint, p.checkpoint_len, &v, 1, &tl, NULL));
        ASSERT_OK(note_checkpoint_parse(
            p.checkpoint, tl, origin, sizeof(origin), &size, got_root));
        ASSERT_EQ(size, k->size);
        ASSERT_MEM_EQ(got_root, root, sizeof(root));
        ASSERT_OK(merkle_verify_inclusion(p.index, size, lh,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p.hashes, p.n, got_root));
        /* Altered: another leaf, another index, a flipped hash. */
        ASSERT(merkle_verify_inclusion(p.index ^ 1, size, lh,
                   (const uint8_t(*)[MERKLE_HASH_BYTES])p.hashes, p.n,
                   got_root) != 0);
        p.hashes[0][7] ^= 0x20;
        ASSERT(merkle_verify_inclusion(p.index, size, lh,
                   (const uint8_t(*)[MERKLE_HASH_BYTES])p.hashes, p.n,
                   got_root) != 0);
        buf_release(&out);
    }
    note_signer_wipe(&s);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_spec_example);
    RUN(test_malformed);
    RUN(test_transparency_dev_tree);
    return 0;
}
