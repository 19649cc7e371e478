/*
 * fuzz_cfg.c - libFuzzer harness: the daemons' configuration file
 *
 * The bytes are written to a file and read with cfg_load_file() over
 * the defaults, then checked with cfg_check() and printed with
 * cfg_print(), as `vigil-scorer -n -v -f FILE` does; each line of the
 * bytes also goes to cfg_set() (the -o overrides) on a fresh config.
 * Checked: the codes are the documented ones, a failure always says
 * why, and a configuration that loads prints back to text that loads
 * again to the same printout (cfg_print is a fixpoint).
 *
 * See also: common/cfg.h, scorer/scorer.conf.5, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/err.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cfg_print() of `c` into a malloc'd string; caller frees. */
static char *
print_cfg(const struct vigil_config *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    if (f == NULL)
        fuzzutil_fail("open_memstream");
    cfg_print(c, f);
    if (fclose(f) != 0)
        fuzzutil_fail("fclose");
    return text;
}

static void
check_overrides(const uint8_t *data, size_t size)
{
    char line[CFG_LINE_MAX + 2], err[512];
    struct vigil_config c;
    size_t start = 0, n;
    int rc;

    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        n = i - start;
        if (n < sizeof(line) && memchr(data + start, '\0', n) == NULL) {
            memcpy(line, data + start, n);
            line[n] = '\0';
            cfg_defaults(&c);
            rc = cfg_set(&c, line, err, sizeof(err));
            if (rc != 0 && rc != ERR_INVAL)
                fuzzutil_fail("cfg_set: unexpected code");
            if (rc == 0)
                (void)cfg_check(&c, err, sizeof(err));
            cfg_release(&c);
        }
        start = i + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vigil_config c, c2;
    char path[512], err[512];
    char *t1, *t2;
    size_t n1, n2;
    int rc;

    fuzzutil_write("vigil.conf", data, size, 0600, path, sizeof(path));
    cfg_defaults(&c);
    err[0] = '\0';
    rc = cfg_load_file(&c, path, err, sizeof(err));
    if (rc != 0 && rc != ERR_INVAL)
        fuzzutil_fail("cfg_load_file: unexpected code");
    if (rc != 0 && err[0] == '\0')
        fuzzutil_fail("cfg_load_file: a failure without a reason");
    if (rc == 0) {
        rc = cfg_check(&c, err, sizeof(err));
        if (rc != 0 && rc != ERR_INVAL && rc != ERR_DENIED)
            fuzzutil_fail("cfg_check: unexpected code");
        /* What loads, printed and loaded again, prints the same. */
        t1 = print_cfg(&c, &n1);
        fuzzutil_write("again.conf", t1, n1, 0600, path, sizeof(path));
        cfg_defaults(&c2);
        if (cfg_load_file(&c2, path, err, sizeof(err)) != 0)
            fuzzutil_fail("cfg_print output does not load again");
        t2 = print_cfg(&c2, &n2);
        if (n1 != n2 || memcmp(t1, t2, n1) != 0)
            fuzzutil_fail("cfg_print(load(cfg_print(c))) != cfg_print(c)");
        free(t1);
        free(t2);
        cfg_release(&c2);
    }
    cfg_release(&c);
    check_overrides(data, size);
    return 0;
}
