/*
 * fuzzutil.h - what the libFuzzer harnesses share: fixed keys, a private
 *              temp directory, files written from fuzz bytes
 *
 * Each tests/fuzz/fuzz_<target>.c is one libFuzzer binary (one process,
 * one thread calling LLVMFuzzerTestOneInput over and over). Harnesses of
 * parsers that read files (certificates, configuration, the audit log)
 * write the fuzz bytes into a directory of their own, made once per
 * process and removed at exit. The signing keys are fixed so that the
 * seed corpus (tests/fuzz/make_corpus.c) can hold checkpoints and notes
 * whose signatures verify, and the fuzzer can reach past the signature
 * checks by mutating around them.
 *
 * Invariants:
 *  - the keys below are test keys, public in this repository: they sign
 *    nothing but fuzz seeds.
 *
 * See also: tests/fuzz/CMakeLists.txt, tests/fuzz/make_corpus.c,
 *           tests/README.md "fuzz.<target>"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TESTS_FUZZ_FUZZUTIL_H
#define TESTS_FUZZ_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The audit log's signer (origin and key name "fuzz.vigil.test/audit"). */
#define FUZZ_ORIGIN "fuzz.vigil.test/audit"
#define FUZZ_SKEY                                                              \
    "PRIVATE+KEY+fuzz.vigil.test/audit+43e8545a+"                              \
    "AfJPZb6zNV4ItWN+vPyr+8aEh4WkikcSfOaUtADEiiZg"
#define FUZZ_VKEY                                                              \
    "fuzz.vigil.test/audit+43e8545a+"                                          \
    "Acn9jN+vtBJTKFAmbtCDfqTys47WcAscoruuDiDFsl7P"

/* A second key, a witness that cosigns checkpoints. */
#define FUZZ_WITNESS_SKEY                                                      \
    "PRIVATE+KEY+fuzz.witness.test+0bb0b4bf+"                                  \
    "AYt2sI0OO3GzLqLwm0uqwrDz/2asWdwnOo5kx20NRTRJ"
#define FUZZ_WITNESS_VKEY                                                      \
    "fuzz.witness.test+0bb0b4bf+"                                              \
    "Aa5R6nxF2Ue4Ovxs0Sj1UpwZ1B0BTTNjvGqAGD1RxaWO"

/*
 * Return this process's private directory (0700, made on first call
 * under $TMPDIR, else /dev/shm when it exists, else /tmp; removed with
 * everything in it at exit). Static string. Aborts when it cannot be
 * made: a harness without its directory would test nothing.
 */
const char *fuzzutil_dir(void);

/*
 * Write "<fuzzutil_dir()>/<name>" (a plain name, or "sub/name" under a
 * subdirectory made with fuzzutil_mkdir()) from data[0..len), replacing
 * it, with mode `mode`; `path` (size `cap`) gets the full path. Aborts
 * on failure.
 */
void fuzzutil_write(const char *name, const void *data, size_t len, mode_t mode,
    char *path, size_t cap);

/*
 * Make "<fuzzutil_dir()>/<name>" an empty directory (0700), removing
 * what it held; `path` (size `cap`) gets its path. Aborts on failure.
 */
void fuzzutil_mkdir(const char *name, char *path, size_t cap);

/* Abort (the finding libFuzzer reports) with a message on stderr. */
void fuzzutil_fail(const char *what) __attribute__((noreturn));

#endif
