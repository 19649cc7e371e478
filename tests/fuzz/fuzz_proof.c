/*
 * fuzz_proof.c - libFuzzer harness: vigilctl's proof-file reader and
 *                check (`vigilctl audit check-proof FILE --key KEY`)
 *
 * The bytes are a proof file for proof_parse() (tools/vigilctl/proof.h:
 * size cap, jansson, the member table), or for proof_parse_tlog() when
 * they start as a C2SP tlog-proof does (common/tlogproof.h); a file that parses
 * has its embedded checkpoints verified with the fixed key of fuzzutil.h
 * (proof_trust_note) and is then checked (proof_check), exactly as
 * cmd_audit.c does but without printing. The seeds are real `vigilctl
 * audit prove --json` output over a log signed with that key.
 * Checked: the codes are the documented ones and every reason is one
 * printable line; a parsed proof has its required members; and a proof
 * that holds stops holding when its leaf changes (inclusion).
 *
 * See also: tools/vigilctl/proof.h, tests/fuzz/make_corpus.sh,
 *           tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/merkle.h"
#include "common/tlogproof.h"
#include "tests/fuzz/fuzzutil.h"
#include "tools/vigilctl/proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reason must be one non-empty line of printable ASCII. */
static void
check_why(const char *why, size_t cap)
{
    size_t n = strnlen(why, cap);

    if (n == 0 || n == cap)
        fuzzutil_fail("a reason that is empty or not terminated");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)why[i] < 0x20 || (unsigned char)why[i] > 0x7e)
            fuzzutil_fail("a reason with a non-printable byte");
}

static void
check_holds(struct proof_file *p, struct proof_trust *k)
{
    struct audit_record rec;
    char why[PROOF_WHY_MAX];
    bool has_rec;
    int rc;

    rc = proof_check(p, k, &rec, &has_rec, why, sizeof(why));
    if (rc != 0) {
        if (rc != ERR_CORRUPT && rc != ERR_NOTFOUND)
            fuzzutil_fail("proof_check: unexpected code");
        check_why(why, sizeof(why));
        return;
    }
    if (p->type != PROOF_INCLUSION)
        return;
    if ((p->found & (1u << PROOF_M_RECORD)) && !has_rec)
        fuzzutil_fail("an inclusion proof held without its record");
    /* The same proof for another leaf must not hold. */
    p->found &= ~(1u << PROOF_M_RECORD);
    p->found |= 1u << PROOF_M_LEAF_HASH;
    if (has_rec)
        merkle_leaf_hash(p->record, p->record_len, p->leaf_hash);
    p->leaf_hash[0] ^= 1;
    if (proof_check(p, k, &rec, &has_rec, why, sizeof(why)) == 0)
        fuzzutil_fail("an inclusion proof holds for a changed leaf");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proof_file p;
    struct proof_trust k = { FUZZ_VKEY, NULL, 0, false };
    char why[PROOF_WHY_MAX], origin[AUDIT_MAX_ORIGIN + 1];
    const char *bad;
    json_t *doc = NULL;
    uint64_t csize;
    bool tlog = tlogproof_is((const char *)data, size);
    int rc;

    rc = tlog ?
        proof_parse_tlog((const char *)data, size, &p, why, sizeof(why)) :
        proof_parse((const char *)data, size, &p, &doc, why, sizeof(why));
    if (rc != 0) {
        if ((rc != ERR_MALFORMED && rc != ERR_TOOBIG) || doc != NULL)
            fuzzutil_fail("proof_parse: unexpected code, or a document");
        check_why(why, sizeof(why));
        return 0;
    }
    if ((!tlog && doc == NULL) || !(p.found & (1u << PROOF_M_TYPE)) ||
        !(p.found & (1u << PROOF_M_SIZE)) || !(p.found & (1u << PROOF_M_PROOF)))
        fuzzutil_fail("a parsed proof without its required members");
    for (int i = 0; i < 2; i++) {
        if (p.note[i] == NULL)
            continue;
        rc = proof_trust_note(
            &k, p.note[i], p.note_len[i], origin, &csize, &bad);
        if (rc != 0 && rc != ERR_CORRUPT)
            fuzzutil_fail("proof_trust_note: unexpected code");
    }
    check_holds(&p, &k);
    proof_trust_release(&k);
    json_decref(doc);
    return 0;
}
