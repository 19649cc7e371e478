/*
 * crc32c.h - CRC32C (Castagnoli), the checksum of every journal and audit
 *            frame
 *
 * Reflected polynomial 0x82F63B78, initial value and final xor
 * 0xFFFFFFFF, as in iSCSI (RFC 3720) and ext4. On x86-64 with SSE4.2 the
 * crc32 instruction does 8 bytes per step; elsewhere a byte-wise table.
 * Called per record by journal.c (scorer main loop) and per frame by the
 * audit writer and verifier (two threads): pure, any thread.
 *
 * Invariants:
 *  - both paths give the same value for every input: the value is part of
 *    the journal and audit formats (journal.h, audit.h).
 *
 * See also: journal.h, audit.h (frame formats), RFC 3720 appendix B.4
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CRC32C_H
#define COMMON_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/*
 * Return the CRC32C of `len` bytes at `p`, continuing from `crc` (pass 0
 * to start): crc32c(0, "123456789", 9) == 0xE3069283, and
 * crc32c(crc32c(0, a, n), b, m) is the CRC of a then b. Uses the
 * hardware path when the CPU has one. Pure; any thread.
 */
uint32_t crc32c(uint32_t crc, const void *p, size_t len) NONNULL(2);

/*
 * Return the same value as crc32c() computed with the portable byte-wise
 * table, whatever the CPU. For tests that compare the two paths.
 */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t len) NONNULL(2);

/* Return true when crc32c() uses the hardware (SSE4.2) path. */
bool crc32c_is_hw(void);

#endif
