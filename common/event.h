/*
 * event.h - the event model: what one storefront event is once validated,
 *           and its internal encoding (the journaled form)
 *
 * The collector decodes a storefront frame (sfproto.h) into struct event
 * plus the raw identifiers in struct event_pii, replaces the identifiers
 * by keyed pseudonyms (pseudo_apply, pseudo.h), and forwards the event's
 * internal encoding (event_encode) to the scorer, which journals exactly
 * those bytes and decodes them (event_decode) to score and store.
 *
 * The internal form is one flat msgpack map with short keys (see
 * event.c's key table): "v" the form's version (2), "t" type, "s" ts,
 * "i" the event id's pseudonym, "h" the EVENT_HAS_* bits, then one key
 * per present field. Keys gated by a bit are present exactly when the
 * bit is set; the others when the field is non-empty. Version 1 (raw
 * account, session, order and event ids, the IP prefix and email domain
 * in clear, card last 4) is refused: its journals hold what Vigil
 * promises not to keep.
 *
 * Invariants:
 *  - no raw direct identifier (email, phone, name, street, postal, card
 *    number, device id, IP address) is ever in struct event: raw values
 *    live only in struct event_pii until pseudo_apply() wipes them, and
 *    nothing from struct event_pii is ever encoded.
 *  - every string field is NUL-terminated within its array.
 *
 * See also: sfproto.h (the storefront wire form), pseudo.h, DESIGN.md
 *           "Events"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_EVENT_H
#define COMMON_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "common/wire.h"

/* ------------------------------------------------------- field limits */

#define EVENT_ID_MAX       128 /* id, account, session, order, device */
#define EVENT_SHORT_MAX    32  /* source, method, reason, browser */
#define EVENT_TZ_MAX       64
#define EVENT_LANG_MAX     35
#define EVENT_UA_MAX       512
#define EVENT_TEXT_MAX     256 /* name, street, referrer, update value */
#define EVENT_EMAIL_MAX    254
#define EVENT_DOMAIN_MAX   253
#define EVENT_PHONE_MAX    32
#define EVENT_IP_MAX       45 /* longest IPv6 text */
#define EVENT_PREFIX_MAX   50 /* "ffff:ffff:ffff::/48" or "a.b.c.0/24" */
#define EVENT_CITY_MAX     64
#define EVENT_POSTAL_MAX   16
#define EVENT_MAX_AMOUNT   1000000000000ULL /* minor units */
#define EVENT_MAX_ITEMS    10000
#define EVENT_MIN_TS       946684800000ULL  /* 2000-01-01 */
#define EVENT_MAX_TS       4102444800000ULL /* 2100-01-01 */
#define EVENT_MAX_ENCODED  4096 /* internal encoding of one event, at most */
#define EVENT_FORM_VERSION 2    /* "v" of the internal form */

/* --------------------------------------------------------------- types */

enum event_type {
    EVENT_NONE = 0,
    EVENT_DEVICE_SEEN,
    EVENT_ACCOUNT_SIGNUP,
    EVENT_ACCOUNT_LOGIN,
    EVENT_ACCOUNT_UPDATE,
    EVENT_ORDER_PLACED,
    EVENT_PAYMENT_RESULT,
    EVENT_LABEL,
    EVENT_TYPE_COUNT
};

/* The field an account.update changes. */
enum event_update {
    EVENT_UPDATE_NONE = 0,
    EVENT_UPDATE_EMAIL,
    EVENT_UPDATE_PHONE,
    EVENT_UPDATE_NAME,
    EVENT_UPDATE_ADDRESS,
    EVENT_UPDATE_PASSWORD,
};

/* Which optional fields of struct event are present (bits of `has`). */
enum event_has {
    EVENT_HAS_ACCOUNT = 1u << 0,
    EVENT_HAS_SESSION = 1u << 1,
    EVENT_HAS_DEVICE = 1u << 2, /* device pseudonym */
    EVENT_HAS_IP = 1u << 3,     /* ip, ip24 and ip16 pseudonyms */
    EVENT_HAS_IP_COUNTRY = 1u << 4,
    EVENT_HAS_EMAIL = 1u << 5, /* email pseudonym */
    EVENT_HAS_PHONE = 1u << 6,
    EVENT_HAS_NAME = 1u << 7,
    EVENT_HAS_AGE = 1u << 8,
    EVENT_HAS_CARD_BIN = 1u << 9,  /* card_bin */
    EVENT_HAS_CARD = 1u << 10,     /* card pseudonym (fingerprint or number) */
    EVENT_HAS_BILLING = 1u << 11,  /* billing address pseudonym */
    EVENT_HAS_SHIPPING = 1u << 12, /* shipping address pseudonym */
    EVENT_HAS_ITEMS = 1u << 13,
    EVENT_HAS_VALUE = 1u << 14, /* account.update new value pseudonym */
    EVENT_HAS_ORDER = 1u << 15,
    EVENT_HAS_OK = 1u << 16, /* login / payment.result / label: ok/fraud */
};
#define EVENT_HAS_ALL ((EVENT_HAS_OK << 1) - 1)

/*
 * One event after validation and pseudonymization. Only pseudonyms and
 * coarse attributes: this struct is what is journaled, stored and
 * scored. Strings are NUL-terminated and never longer than their array
 * minus one. Identifiers a storefront chooses (event, account, session
 * and order ids) are pseudonyms scoped to the storefront (pseudo.h), so
 * no raw id reaches the scorer, LMDB, the journal or the audit log.
 */
struct event {
    enum event_type type;
    uint32_t has;     /* EVENT_HAS_* bits */
    uint64_t ts;      /* event time, ms since epoch */
    struct pseudo id; /* the storefront's event id: the dedup key */
    struct pseudo account;
    struct pseudo session;
    struct pseudo order;
    struct pseudo device;
    struct pseudo ip;
    struct pseudo ip24; /* the IPv4 /24 or IPv6 /48 of `ip` */
    struct pseudo ip16; /* the IPv4 /16 or IPv6 /32 of `ip` */
    char ip_country[3];
    char browser[EVENT_SHORT_MAX + 1]; /* family derived from ua */
    char tz[EVENT_TZ_MAX + 1];
    char lang[EVENT_LANG_MAX + 1];
    char carrier[EVENT_TZ_MAX + 1];
    /* account.signup, order.placed */
    struct pseudo email;
    struct pseudo phone;
    struct pseudo name;
    char source[EVENT_SHORT_MAX + 1]; /* signup source / label source */
    uint32_t age;
    char referrer[EVENT_TEXT_MAX + 1]; /* origin only: scheme://host[:port] */
    /* account.login, payment.result, label */
    bool ok;                          /* login ok, payment ok, label fraud */
    char method[EVENT_SHORT_MAX + 1]; /* login method / payment reason */
    /* account.update */
    enum event_update field;
    struct pseudo value;
    /* order.placed */
    uint64_t amount;
    char currency[4];
    uint32_t items;
    char card_bin[9];      /* only beside a fingerprint, never a number */
    struct pseudo card;    /* of the fingerprint, else of the number */
    struct pseudo billing; /* whole billing address */
    char billing_country[3];
    struct pseudo shipping;
    char shipping_country[3];
};

/*
 * The raw direct identifiers of one storefront event, held only between
 * decoding and pseudo_apply(), which wipes this struct. Never logged,
 * never stored; encoded only by a storefront client (sfproto.h).
 */
struct event_address_pii {
    char name[EVENT_TEXT_MAX + 1];
    char street[EVENT_TEXT_MAX + 1];
    char city[EVENT_CITY_MAX + 1];
    char postal[EVENT_POSTAL_MAX + 1];
};

struct event_pii {
    char id[EVENT_ID_MAX + 1]; /* the storefront's event id */
    char account[EVENT_ID_MAX + 1];
    char session[EVENT_ID_MAX + 1];
    char order[EVENT_ID_MAX + 1];
    char device[EVENT_ID_MAX + 1];
    char ip[EVENT_IP_MAX + 1];
    char ip24[EVENT_PREFIX_MAX + 1]; /* "203.0.113.0/24", "2001:db8:1::/48" */
    char ip16[EVENT_PREFIX_MAX + 1]; /* "203.0.0.0/16", "2001:db8::/32" */
    char ua[EVENT_UA_MAX + 1];
    char email[EVENT_EMAIL_MAX + 1];
    char phone[EVENT_PHONE_MAX + 1];
    char name[EVENT_TEXT_MAX + 1];
    char value[EVENT_TEXT_MAX + 1]; /* account.update new value */
    char card_number[20];
    char card_fingerprint[EVENT_ID_MAX + 1];
    struct event_address_pii billing;
    struct event_address_pii shipping;
};

/* "device.seen" etc. for a type; static; "unknown" for a bad value. */
const char *event_type_name(enum event_type t);

/* Parse a type name; EVENT_NONE when unknown. */
enum event_type event_type_parse(const char *name) NONNULL(1);

/* "email", "phone", "name", "address", "password"; static; "" for none. */
const char *event_update_name(enum event_update f);

/* --------------------------------------------------- internal encoding */

/*
 * Append the internal encoding of `ev` (pseudonymized fields only) to
 * `out`. Returns 0 or ERR_TOOBIG (out unchanged).
 */
int event_encode(struct buf *out, const struct event *ev) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Strictly decode one internal event from exactly data[0..len) into
 * `*ev`, using decoder `d` (its earlier objects die). Unknown, repeated
 * or mistyped keys, out-of-range values and trailing bytes are refused;
 * `*ev` is zeroed on failure. Returns 0, ERR_MALFORMED or ERR_INVAL (a
 * gated key disagrees with its EVENT_HAS_* bit).
 */
int event_decode(struct wire_dec *d, struct event *ev, const void *data,
    size_t len) WARN_UNUSED NONNULL(1, 2, 3);

#endif
