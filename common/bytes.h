/*
 * bytes.h - fixed-width integers to and from byte strings, in either order
 *
 * The on-disk formats (journal and audit frames, vault records, journal
 * record salts, the scorer's history records) are little-endian; the
 * signed-note and cosignature formats of C2SP are big-endian. Every module
 * reads and writes its integers through these inline helpers, so there is one
 * definition of each byte order. `p` always points at enough bytes: 2, 4 or 8
 * for the 16-, 32- and 64-bit forms; nothing here checks a length.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_BYTES_H
#define COMMON_BYTES_H

#include <stdint.h>

static inline void
bytes_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint16_t
bytes_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void
bytes_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t
bytes_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static inline void
bytes_put_le64(uint8_t *p, uint64_t v)
{
    bytes_put_le32(p, (uint32_t)v);
    bytes_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t
bytes_get_le64(const uint8_t *p)
{
    return (uint64_t)bytes_get_le32(p) | (uint64_t)bytes_get_le32(p + 4) << 32;
}

static inline void
bytes_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t
bytes_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
        (uint32_t)p[3];
}

static inline void
bytes_put_be64(uint8_t *p, uint64_t v)
{
    bytes_put_be32(p, (uint32_t)(v >> 32));
    bytes_put_be32(p + 4, (uint32_t)v);
}

static inline uint64_t
bytes_get_be64(const uint8_t *p)
{
    return (uint64_t)bytes_get_be32(p) << 32 | (uint64_t)bytes_get_be32(p + 4);
}

#endif /* COMMON_BYTES_H */
