/*
 * test_crc32c.c - unit tests of common/crc32c
 *
 * Known vectors ("123456789" and RFC 3720 appendix B.4), continuation
 * across calls, and agreement of the hardware and portable paths on
 * pseudo-random buffers of every length 0..300 at every start offset
 * 0..7 (so both the aligned 8-byte loop and the byte-wise edges run).
 * On a CPU without SSE4.2 both calls take the portable path; the test
 * says so and still checks the vectors.
 *
 * See also: common/crc32c.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/crc32c.h"
#include "tests/harness/test.h"

#define MAX_LEN 300

static void
test_vectors(void)
{
    uint8_t b[32];

    ASSERT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(crc32c_portable(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(crc32c(0, "", 0), 0);
    ASSERT_EQ(crc32c_portable(0, "", 0), 0);

    /* RFC 3720 B.4: 32 bytes of zeros, of ones, ascending, descending. */
    memset(b, 0, sizeof(b));
    ASSERT_EQ(crc32c(0, b, sizeof(b)), 0x8A9136AAu);
    ASSERT_EQ(crc32c_portable(0, b, sizeof(b)), 0x8A9136AAu);
    memset(b, 0xff, sizeof(b));
    ASSERT_EQ(crc32c(0, b, sizeof(b)), 0x62A8AB43u);
    ASSERT_EQ(crc32c_portable(0, b, sizeof(b)), 0x62A8AB43u);
    for (unsigned i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)i;
    ASSERT_EQ(crc32c(0, b, sizeof(b)), 0x46DD794Eu);
    ASSERT_EQ(crc32c_portable(0, b, sizeof(b)), 0x46DD794Eu);
    for (unsigned i = 0; i < sizeof(b); i++)
        b[i] = (uint8_t)(31 - i);
    ASSERT_EQ(crc32c(0, b, sizeof(b)), 0x113FDB5Cu);
    ASSERT_EQ(crc32c_portable(0, b, sizeof(b)), 0x113FDB5Cu);
}

static void
test_continuation(void)
{
    /* Incremental equals one-shot, on either path and across them. */
    ASSERT_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    ASSERT_EQ(crc32c_portable(crc32c_portable(0, "1234", 4), "56789", 5),
        0xE3069283u);
    ASSERT_EQ(crc32c_portable(crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    ASSERT_EQ(crc32c(crc32c_portable(0, "12345", 5), "6789", 4), 0xE3069283u);
}

/* xorshift64: a fixed, reproducible byte stream. */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void
test_paths_agree(void)
{
    /* 8-aligned storage, so `start` below is the misalignment. */
    static uint64_t store[(MAX_LEN + 8) / 8 + 1];
    uint8_t *buf = (uint8_t *)store;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    unsigned checked = 0;

    printf("crc32c: %s path\n",
        crc32c_is_hw() ? "hardware (SSE4.2)" :
                         "portable (no SSE4.2: the paths are the same)");
    for (size_t len = 0; len <= MAX_LEN; len++) {
        for (size_t start = 0; start < 8; start++) {
            for (size_t i = 0; i < len; i++)
                buf[start + i] = (uint8_t)next_rand(&seed);
            ASSERT_EQ(crc32c(0, buf + start, len),
                crc32c_portable(0, buf + start, len));
            /* And when continuing from a nonzero CRC. */
            ASSERT_EQ(crc32c(0xDEADBEEFu, buf + start, len),
                crc32c_portable(0xDEADBEEFu, buf + start, len));
            checked++;
        }
    }
    ASSERT_EQ(checked, (MAX_LEN + 1) * 8);
}

int
main(void)
{
    RUN(test_vectors);
    RUN(test_continuation);
    RUN(test_paths_agree);
    return 0;
}
