/*
 * test.h - the assertion macros of Vigil's C unit tests
 *
 * Each tests/unit/test_<module>.c is one executable. A failed assertion
 * prints file:line and both values, then exits 1 at once, so ctest sees
 * the first failure. RUN(fn) runs one test function and names it.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TESTS_HARNESS_TEST_H
#define TESTS_HARNESS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_FAIL(...)                                                         \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n");                                                 \
        exit(1);                                                               \
    } while (0)

#define ASSERT(cond)                                                           \
    do {                                                                       \
        if (!(cond))                                                           \
            TEST_FAIL("assertion failed: %s", #cond);                          \
    } while (0)

#define ASSERT_EQ(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            TEST_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);               \
    } while (0)

#define ASSERT_NE(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ == b_)                                                          \
            TEST_FAIL("%s != %s: both %lld", #a, #b, a_);                      \
    } while (0)

#define ASSERT_OK(rc)                                                          \
    do {                                                                       \
        int rc_ = (rc);                                                        \
        if (rc_ != 0)                                                          \
            TEST_FAIL("%s returned %d, expected 0", #rc, rc_);                 \
    } while (0)

#define ASSERT_STR_EQ(a, b)                                                    \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (strcmp(a_, b_) != 0)                                               \
            TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_);           \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                 \
    do {                                                                       \
        if (memcmp((a), (b), (n)) != 0)                                        \
            TEST_FAIL("%s and %s differ in their first %zu bytes", #a, #b,     \
                (size_t)(n));                                                  \
    } while (0)

#define RUN(fn)                                                                \
    do {                                                                       \
        fn();                                                                  \
        printf("ok %s\n", #fn);                                                \
    } while (0)

#endif
