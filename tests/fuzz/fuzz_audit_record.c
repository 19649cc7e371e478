/*
 * fuzz_audit_record.c - libFuzzer harness: the audit record codec
 *
 * The bytes are one record payload (common/audit.h, format section 1)
 * for audit_record_decode(), the strict reader under the verifier, the
 * replay, the subject report and check-proof. The format promises one
 * valid byte string per record, so: a decoded record passes
 * audit_record_check() and encodes back to exactly the input bytes.
 * The bytes, cut at the first NUL, also go to the name parsers (roles,
 * outcomes, categories), whose results must name back to the input.
 *
 * Only the public API of common/audit.h is used, so the harness follows
 * the format wherever audit.h takes it.
 *
 * See also: common/audit.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/audit.h"
#include "common/err.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_names(const uint8_t *data, size_t size)
{
    char s[64];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
    enum audit_outcome oc;
    enum audit_role role;
    const char *back;
    uint32_t cat;

    memcpy(s, data, n);
    s[n] = '\0';
    if (audit_role_parse(s, &role) == 0) {
        back = audit_role_name(role);
        if (back == NULL || strcmp(back, s) != 0)
            fuzzutil_fail("audit_role_name(audit_role_parse(s)) != s");
    }
    if (audit_outcome_parse(s, &oc) == 0) {
        back = audit_outcome_name(oc);
        if (back == NULL || strcmp(back, s) != 0)
            fuzzutil_fail("audit_outcome_name(audit_outcome_parse(s)) != s");
    }
    if (audit_cat_parse(s, &cat) == 0) {
        back = audit_cat_name(cat);
        if (back == NULL || strcmp(back, s) != 0)
            fuzzutil_fail("audit_cat_name(audit_cat_parse(s)) != s");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r;
    const char *why = NULL;
    size_t outlen = 0;

    check_names(data, size);
    if (size == 0)
        return 0;
    if (audit_record_decode(data, size, &r, &why) != 0) {
        if (why == NULL)
            fuzzutil_fail("a refused record without a reason");
        return 0;
    }
    if (size > AUDIT_MAX_RECORD_BYTES)
        fuzzutil_fail("a record over AUDIT_MAX_RECORD_BYTES decoded");
    if (audit_record_check(&r) != 0)
        fuzzutil_fail("a decoded record fails audit_record_check()");
    if (audit_record_encode(&r, out, sizeof(out), &outlen) != 0)
        fuzzutil_fail("a decoded record does not encode");
    if (outlen != size || memcmp(out, data, size) != 0)
        fuzzutil_fail("encode(decode(bytes)) != bytes: not canonical");
    return 0;
}
