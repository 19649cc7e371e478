/*
 * fuzz_cert.c - libFuzzer harness: CURVE certificate files (ZPL)
 *
 * The daemons read the allow-list directory and their own secret
 * certificates with cert_load(); vigilctl reads clients' files. The
 * bytes are written to a 0600 file of this process's directory and
 * loaded both ways: as a public certificate and as a secret one.
 * Checked: the codes are the documented ones, a loaded name passes
 * cert_name_ok() or is empty, strings are terminated, and a secret
 * load gives the same public half as the public load.
 *
 * See also: common/cert.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/cert.h"
#include "common/err.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_code(int rc)
{
    if (rc != 0 && rc != ERR_TOOBIG && rc != ERR_MALFORMED && rc != ERR_DENIED)
        fuzzutil_fail("cert_load: unexpected code");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cert c, c2;
    struct cert_secret *sk = NULL;
    char path[512], err[512];
    int rc, rc2;

    fuzzutil_write("fuzz.key_secret", data, size, 0600, path, sizeof(path));
    memset(&c, 0, sizeof(c));
    rc = cert_load(path, &c, NULL, err, sizeof(err));
    check_code(rc);
    if (rc == 0) {
        if (memchr(c.name, '\0', sizeof(c.name)) == NULL ||
            memchr(c.role, '\0', sizeof(c.role)) == NULL)
            fuzzutil_fail("cert_load: a string not terminated");
        if (c.name[0] != '\0' && !cert_name_ok(c.name))
            fuzzutil_fail("cert_load: a name cert_name_ok() refuses");
    } else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0') {
        fuzzutil_fail("cert_load: a failure without a reason");
    }
    memset(&c2, 0, sizeof(c2));
    rc2 = cert_load(path, &c2, &sk, err, sizeof(err));
    check_code(rc2);
    if (rc2 == 0) {
        if (rc != 0 || memcmp(c.pub, c2.pub, sizeof(c.pub)) != 0)
            fuzzutil_fail("secret and public loads disagree");
        if (sk == NULL || cert_secret_key(sk) == NULL)
            fuzzutil_fail("a secret load without the secret");
        cert_secret_free(sk);
    }
    return 0;
}
