/*
 * world.h - the simulated world of vigil-load: countries, browsers,
 *           names, and the shoppers, cards and addresses made from them
 *
 * Static tables (15 shopping countries weighted by their share of
 * shoppers, 5 origins of fraud traffic, real user agents, names, mail
 * providers) and the functions that derive one person's stable
 * attributes from a 64-bit hash: country, one or two devices with their
 * user agents, home IP address (IPv4 from the country's blocks, one in
 * ten IPv6), e-mail, phone, name, address and a card with a valid Luhn
 * digit. gen.c plays events with these people. Pure functions.
 *
 * Invariants:
 *  - every string made here fits the struct event / struct event_pii
 *    field it is sent in (event.h), so nothing is ever truncated there.
 *  - the same hash gives the same person on every run and build.
 *
 * See also: gen.h, rng.h, tools/vigil-load.1 (DESCRIPTION)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_WORLD_H
#define VIGIL_LOAD_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define WORLD_SHOP_COUNTRIES 15 /* countries with shoppers (weight > 0) */

/* One country: its money, clocks, networks, places and carriers. */
struct world_country {
    const char *cc;       /* ISO 3166 alpha-2 */
    const char *currency; /* ISO 4217 */
    unsigned minor;       /* minor units per major unit */
    double fx;            /* major units per euro, rough */
    unsigned weight;      /* share of shoppers, per mille; 0: fraud origin */
    const char *tz[3];
    const char *lang;
    const char *phone; /* calling code */
    uint8_t v4[4];     /* first octets of this country's IPv4 blocks */
    const char *v6;    /* two leading hextets of an IPv6 block */
    const char *cities[4];
    const char *streets[2];
    const char *postal; /* pattern: 9 a digit, A a letter */
    const char *carriers[2];
    const char *mail; /* a national mail provider */
};

/* A user agent string and whether it is a phone or tablet. */
struct world_ua {
    const char *s;
    bool mobile;
};

/* A postal address. */
struct world_addr {
    char name[48];
    char street[64];
    char city[40];
    char postal[16];
    const char *country; /* static */
};

/* A payment card, sent either as its number or as bin/last4/fp. */
struct world_card {
    bool full; /* send the number, else bin/last4/fingerprint */
    char number[20];
    char bin[9];
    char last4[5];
    char fp[24];
};

/* A simulated shopper or fraudster, derived from one hash. */
struct world_person {
    uint64_t h;
    bool fraud;
    const struct world_country *c; /* static */
    char account[48];
    char email[96];
    char phone[24];
    char name[48];
    char device[2][32];
    const struct world_ua *ua[2]; /* static */
    unsigned ndev;
    char ip[48];
    bool ipv6;
    struct world_addr home;
    struct world_card card;
    unsigned age;
};

/* The cumulative country weights, for drawing a shopper's country. */
struct world {
    unsigned cum_weight[WORLD_SHOP_COUNTRIES];
};

/* Prepare `w`. Never fails. */
void world_init(struct world *w) NONNULL(1);

/* Return a shopping country drawn by weight from hash h; static. */
const struct world_country *world_country_by_weight(
    const struct world *w, uint64_t h) NONNULL(1);

/*
 * Return a country other than `c`, from hash h: a usual origin of fraud
 * traffic when `fraud_origin`, else a shopping country; static.
 */
const struct world_country *world_country_other(
    const struct world_country *c, uint64_t h, bool fraud_origin) NONNULL(1);

/* Return one of the time zones of `c`, from hash h; static. */
const char *world_country_tz(const struct world_country *c, uint64_t h)
    NONNULL(1);

/* Write an IPv4 address from one of the blocks of `c` into out. */
void world_ipv4(char *out, size_t outlen, const struct world_country *c,
    uint64_t h) NONNULL(1, 3);

/* Write an address in `c` for `name` (copied) from hash h into `a`. */
void world_addr_make(struct world_addr *a, const struct world_country *c,
    const char *name, uint64_t h) NONNULL(1, 2, 3);

/*
 * Derive person `p`'s country, devices, user agents and home IP from
 * hash h (not the account: the caller names it). `c` forces the
 * country when not NULL; `fraud` gives fraud user agents (and, in
 * world_person_details, a disposable e-mail domain).
 */
void world_person_make(const struct world *w, struct world_person *p,
    uint64_t h, const struct world_country *c, bool fraud) NONNULL(1, 2);

/*
 * Derive the contact, address, card and age of a person made by
 * world_person_make: only signups and orders need them, so visits and
 * logins skip the cost.
 */
void world_person_details(struct world_person *p) NONNULL(1);

/* The static word lists of the world. */
enum world_words {
    WORLD_FIRST_NAME,
    WORLD_SIGNUP_SOURCE,
    WORLD_REFERRER, /* "" for none */
    WORLD_LOGIN_METHOD,
    WORLD_DECLINE_REASON,
};

/* Pick a word of `list` by hash `h`; every result is static. */
const char *world_word(enum world_words list, uint64_t h);
const struct world_ua *world_fraud_ua(uint64_t h);

#endif
