/*
 * crc32c.c - CRC32C with an SSE4.2 path and a portable table fallback
 *
 * The path and the table are chosen and built once, thread-safely, by
 * pthread_once on the first call. Both paths keep the running value
 * inverted (init and final xor 0xFFFFFFFF are applied at the edges), so
 * a CRC may be continued across calls and across paths.
 *
 * Invariants:
 *  - crc32c_sse42() and crc32c_sw() agree on every input (checked by
 *    tests/unit/test_crc32c.c on every length 0..300 and unaligned
 *    starts).
 *
 * See also: crc32c.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/crc32c.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define CRC32C_HAVE_SSE42 1
#else
#define CRC32C_HAVE_SSE42 0
#endif

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

static void
crc32c_init(void)
{
    uint32_t c;
    unsigned i, k;

    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc32c_table[i] = c;
    }
#if CRC32C_HAVE_SSE42
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

/* `crc` is the running (inverted) value. */
static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        crc = crc32c_table[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

#if CRC32C_HAVE_SSE42
/* `crc` is the running (inverted) value, as in crc32c_sw(). */
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const uint8_t *s, size_t len)
{
    uint64_t c = crc, w;

    while (len > 0 && ((uintptr_t)s & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *s++);
        len--;
    }
    while (len >= 8) {
        memcpy(&w, s, sizeof(w));
        c = _mm_crc32_u64(c, w);
        s += 8;
        len -= 8;
    }
    while (len > 0) {
        c = _mm_crc32_u8((uint32_t)c, *s++);
        len--;
    }
    return (uint32_t)c;
}
#endif

uint32_t
crc32c(uint32_t crc, const void *p, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    crc = ~crc;
#if CRC32C_HAVE_SSE42
    if (crc32c_hw)
        return ~crc32c_sse42(crc, p, len);
#endif
    return ~crc32c_sw(crc, p, len);
}

uint32_t
crc32c_portable(uint32_t crc, const void *p, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_sw(~crc, p, len);
}

bool
crc32c_is_hw(void)
{
    pthread_once(&crc32c_once, crc32c_init);
    return crc32c_hw;
}
