/*
 * fuzz_note.c - libFuzzer harness: C2SP signed notes, checkpoints and
 *               key strings
 *
 * The bytes go to note_open() with the two fixed verifier keys of
 * fuzzutil.h (the seeds hold notes they signed, so mutations reach the
 * signature lines and the text), to note_checkpoint_parse() directly
 * and on a verified note's text, to audit_checkpoint_open() (what the
 * verifier and check-proof call), and, cut at the first NUL, to the key
 * string parsers note_verifier_parse() and note_signer_parse().
 * Checked: a verified note's text is a prefix ending in "\n"; a parsed
 * checkpoint without extension lines formats back to the same text;
 * parsed keys print back to the same string.
 *
 * See also: common/note.h, common/audit.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/note.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct note_verifier keys[2];
static int ready;

static void
setup(void)
{
    if (note_verifier_parse(FUZZ_VKEY, &keys[0]) != 0 ||
        note_verifier_parse(FUZZ_WITNESS_VKEY, &keys[1]) != 0)
        fuzzutil_fail("the fixed verifier keys do not parse");
    ready = 1;
}

/* Parse a checkpoint body; if it has no extension line, it must format
 * back to the same bytes. */
static void
check_checkpoint(const char *text, size_t len)
{
    char origin[NOTE_MAX_ORIGIN + 1], again[NOTE_MAX_ORIGIN + 128];
    uint8_t root[32];
    uint64_t size;
    size_t n, lines = 0;

    if (note_checkpoint_parse(text, len, origin, sizeof(origin), &size, root) !=
        0)
        return;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (lines != 3)
        return;
    if (note_checkpoint_format(origin, size, root, again, sizeof(again), &n) !=
            0 ||
        n != len || memcmp(again, text, len) != 0)
        fuzzutil_fail("format(parse(checkpoint)) != checkpoint");
}

static void
check_keys(const uint8_t *data, size_t size)
{
    char s[NOTE_MAX_KEY + 8], back[NOTE_MAX_KEY];
    struct note_verifier v;
    struct note_signer sg;
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

    memcpy(s, data, n);
    s[n] = '\0';
    if (n > 0 && s[n - 1] == '\n')
        s[n - 1] = '\0'; /* the one newline both parsers tolerate */
    (void)note_name_is_valid(s);
    if (note_verifier_parse(s, &v) == 0) {
        if (!note_name_is_valid(v.name) ||
            note_key_id(v.name, v.pk) != v.key_id)
            fuzzutil_fail("a parsed verifier key is inconsistent");
    }
    if (note_signer_parse(s, &sg) == 0) {
        if (note_signer_vkey(&sg, back, sizeof(back)) != 0 ||
            note_verifier_parse(back, &v) != 0 || v.key_id != sg.key_id ||
            strcmp(v.name, sg.name) != 0)
            fuzzutil_fail("a parsed signer key is inconsistent");
        note_signer_wipe(&sg);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[32];
    bool verified[2] = { false, false };
    const char *msg = (const char *)data, *why;
    size_t text_len = 0;
    uint64_t csize;
    int rc;

    if (!ready)
        setup();
    rc = note_open(msg, size, keys, 2, &text_len, verified);
    if (rc == 0) {
        if (text_len == 0 || text_len >= size || msg[text_len - 1] != '\n')
            fuzzutil_fail("note_open: a text that is not a proper prefix");
        if (!verified[0] && !verified[1])
            fuzzutil_fail("note_open: ok without a verified signature");
        check_checkpoint(msg, text_len);
    } else if (rc != ERR_TOOBIG && rc != ERR_CORRUPT && rc != ERR_NOTFOUND) {
        fuzzutil_fail("note_open: unexpected code");
    }
    check_checkpoint(msg, size);
    rc = audit_checkpoint_open(
        FUZZ_VKEY, data, size, origin, &csize, root, &why);
    if (rc == 0 && strcmp(origin, FUZZ_ORIGIN) != 0)
        fuzzutil_fail("audit_checkpoint_open: a foreign origin accepted");
    if (rc != 0 && rc != ERR_CORRUPT)
        fuzzutil_fail("audit_checkpoint_open: unexpected code");
    check_keys(data, size);
    return 0;
}
