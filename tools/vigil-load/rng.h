/*
 * rng.h - vigil-load's random numbers: a seeded stream and stable hashes
 *
 * The generator (gen.c, world.c) draws every choice from one xoshiro256**
 * stream seeded from --seed, and derives every stable attribute of a
 * shopper (country, devices, card, address) from a stateless hash of
 * the shopper's key, so the same seed plays the same population. Header
 * only: these run several times per generated event and must inline.
 *
 * Invariants:
 *  - the same seed and the same sequence of calls give the same values
 *    on every build: nothing here reads a clock or the environment.
 *
 * See also: gen.h, world.h, https://prng.di.unimi.it/
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_RNG_H
#define VIGIL_LOAD_RNG_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* xoshiro256** state; seeded through splitmix64. */
struct rng {
    uint64_t s[4];
};

/* Advance `*x` and return the next splitmix64 output. */
static inline uint64_t
rng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stateless hash of two words: derives stable attributes. */
static inline uint64_t
rng_mix64(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);

    return rng_splitmix64(&x);
}

/* Seed `r` from one word. */
static inline void
rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&seed);
}

static inline uint64_t
rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Return the next 64 random bits. */
static inline uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return res;
}

/* Uniform in [0, n); n > 0. */
static inline uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* True with probability p. */
static inline bool
rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Standard normal (Box-Muller, one value per call). */
static inline double
rng_normal(struct rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);

    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
