/*
 * clock.h - the two clocks Vigil reads: monotonic and wall
 *
 * Durations, timeouts and rate windows use the monotonic clock (never
 * jumps); audit records, checkpoints and "as of" answers use the wall
 * clock. Event time is neither: it is the `ts` a storefront sent, and
 * scoring uses only that (score.h). Any thread.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

/* Return CLOCK_MONOTONIC in milliseconds. */
uint64_t clock_mono_ms(void);

/* Return CLOCK_MONOTONIC in microseconds. */
uint64_t clock_mono_us(void);

/* Return CLOCK_MONOTONIC in nanoseconds. */
uint64_t clock_mono_ns(void);

/* Return CLOCK_REALTIME in milliseconds since the Unix epoch. */
uint64_t clock_wall_ms(void);

#endif
