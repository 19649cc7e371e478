/*
 * clock.c - the monotonic and wall clocks (see clock.h)
 *
 * clock_gettime() cannot fail for these two clocks on Linux, so the
 * functions return values, not error codes.
 *
 * SPDX-License-Identifier: MIT
 */
#include <time.h>

#include "common/clock.h"

static uint64_t
read_ns(clockid_t id)
{
    struct timespec ts;

    (void)clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000u;
}

uint64_t
clock_mono_us(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000u;
}

uint64_t
clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

uint64_t
clock_wall_ms(void)
{
    return read_ns(CLOCK_REALTIME) / 1000000u;
}
