/*
 * sfproto.c - the storefront protocol's codec (see sfproto.h)
 *
 * Decoding runs in the collector for every frame a storefront sends:
 * wire_decode() (the guard, then msgpack-c into the batch's zone), then
 * each event map is checked field by field against the table below and
 * the per-field decoders, into struct event (coarse fields) and struct
 * event_pii (raw identifiers, until pseudo_apply()). Encoding is for
 * storefront clients written in C.
 *
 * Invariants:
 *  - error messages name the field and the rule, never the value;
 *  - a rejected event's raw identifiers are wiped before returning.
 *
 * See also: sfproto.h (the specification), event.h, pseudo.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sfproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmalloc.h"

/* Zone chunk: a full batch of 1,000 orders unpacks into about 1 MiB. */
#define SFPROTO_ZONE_CHUNK (64 * 1024)

void
sfproto_batch_init(struct sfproto_batch *b)
{
    b->n = 0;
    b->is_array = false;
    b->items = xcalloc(SFPROTO_MAX_BATCH, sizeof(*b->items));
    wire_dec_init(&b->dec, SFPROTO_ZONE_CHUNK);
}

void
sfproto_batch_release(struct sfproto_batch *b)
{
    if (b->items != NULL) {
        sodium_memzero(b->items, SFPROTO_MAX_BATCH * sizeof(*b->items));
        free(b->items);
        b->items = NULL;
        wire_dec_release(&b->dec);
    }
    b->n = 0;
    b->is_array = false;
}

static int item_fail(struct sfproto_item *it, int rc, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Record why an event is rejected; returns rc. */
static int
item_fail(struct sfproto_item *it, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
    va_end(ap);
    it->rc = rc;
    return rc;
}

/*
 * Copy a text value of min..max bytes into dst (size > max), or reject
 * the event naming `name` and the rule that failed.
 */
static int
get_text(struct sfproto_item *it, const char *name, const msgpack_object *o,
    size_t min, size_t max, char *dst)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < min ||
        o->via.str.size > max)
        return item_fail(it, ERR_INVAL,
            "field '%s': must be a string of %zu..%zu bytes", name, min, max);
    if (wire_get_str(o, WIRE_TEXT, min, max, dst) != 0)
        return item_fail(it, ERR_INVAL,
            "field '%s': must be valid UTF-8 without control characters", name);
    return 0;
}

/* get_text() bounded by the destination array's size. */
#define GET_TEXT(it, name, o, min, dst)                                        \
    get_text((it), (name), (o), (min), sizeof(dst) - 1, (dst))

static int
get_uint(struct sfproto_item *it, const char *name, const msgpack_object *o,
    uint64_t min, uint64_t max, uint64_t *v)
{
    if (wire_get_uint(o, min, max, v) != 0)
        return item_fail(it, ERR_INVAL,
            "field '%s': must be an unsigned integer %llu..%llu", name,
            (unsigned long long)min, (unsigned long long)max);
    return 0;
}

static int
get_bool(
    struct sfproto_item *it, const char *name, const msgpack_object *o, bool *v)
{
    if (wire_get_bool(o, v) != 0)
        return item_fail(it, ERR_INVAL, "field '%s': must be a boolean", name);
    return 0;
}

static bool
all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool
upper_letters(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

static bool
luhn_ok(const char *s)
{
    size_t i, n = strlen(s);
    unsigned sum = 0;

    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[n - 1 - i] - '0');

        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* Whether lower-cased `hay` contains any of `needles` (lower case). */
static bool
has_any(const char *hay, const char *const *needles)
{
    for (; *needles != NULL; needles++)
        if (strstr(hay, *needles) != NULL)
            return true;
    return false;
}

/*
 * The browser family of a user agent (needles are lower case). The agent
 * is lower-cased once, then searched with strstr: this runs for every
 * event, and a byte-by-byte case-insensitive search per needle was the
 * collector's hottest function.
 */
static const char *
ua_family(const char *ua)
{
    /* In order: the first family with a mark in the agent is its family
     * (Edge and Opera agents also say chrome/ and safari/). */
    static const struct {
        const char *name;
        const char *const marks[6]; /* NULL-terminated */
    } families[] = {
        { "bot", { "bot", "crawl", "spider", "slurp", "headless", NULL } },
        { "edge", { "edg/", "edge/", "edga/", "edgios/", NULL } },
        { "opera", { "opr/", "opera", NULL } },
        { "firefox", { "firefox/", "fxios/", NULL } },
        { "chrome", { "chrome/", "crios/", "chromium/", NULL } },
        { "safari", { "safari/", NULL } },
        { "ie", { "msie ", "trident/", NULL } },
    };
    char lc[EVENT_UA_MAX + 1];
    size_t i;

    for (i = 0; i < EVENT_UA_MAX && ua[i] != '\0'; i++)
        lc[i] = (ua[i] >= 'A' && ua[i] <= 'Z') ? (char)(ua[i] + 32) : ua[i];
    lc[i] = '\0';
    for (i = 0; i < ARRAY_LEN(families); i++)
        if (has_any(lc, families[i].marks))
            return families[i].name;
    return "other";
}

/* ------------------------------------------------- the field table */

enum fid {
    F_V,
    F_TYPE,
    F_ID,
    F_TS,
    F_ACCOUNT,
    F_SESSION,
    F_DEVICE,
    F_IP,
    F_IP_COUNTRY,
    F_UA,
    F_TZ,
    F_LANG,
    F_CARRIER,
    F_EMAIL,
    F_PHONE,
    F_NAME,
    F_SOURCE,
    F_AGE,
    F_REFERRER,
    F_OKAY,
    F_METHOD,
    F_FIELD,
    F_VALUE,
    F_ORDER,
    F_AMOUNT,
    F_CURRENCY,
    F_ITEMS,
    F_CARD,
    F_BILLING,
    F_SHIPPING,
    F_REASON,
    F_FRAUD,
    F_COUNT
};

#define T(x) (1u << (x))
#define T_ALL                                                                  \
    (T(EVENT_DEVICE_SEEN) | T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_ACCOUNT_LOGIN) | \
        T(EVENT_ACCOUNT_UPDATE) | T(EVENT_ORDER_PLACED) |                      \
        T(EVENT_PAYMENT_RESULT) | T(EVENT_LABEL))

/* The event types that may carry each field. */
static const unsigned field_types[F_COUNT] = {
    [F_V] = T_ALL,
    [F_TYPE] = T_ALL,
    [F_ID] = T_ALL,
    [F_TS] = T_ALL,
    [F_ACCOUNT] = T_ALL,
    [F_SESSION] = T_ALL,
    [F_DEVICE] = T_ALL,
    [F_IP] = T_ALL,
    [F_IP_COUNTRY] = T_ALL,
    [F_UA] = T_ALL,
    [F_TZ] = T_ALL,
    [F_LANG] = T_ALL,
    [F_CARRIER] = T_ALL,
    [F_EMAIL] = T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_ORDER_PLACED),
    [F_PHONE] = T(EVENT_ACCOUNT_SIGNUP),
    [F_NAME] = T(EVENT_ACCOUNT_SIGNUP),
    [F_SOURCE] = T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_LABEL),
    [F_AGE] = T(EVENT_ACCOUNT_SIGNUP),
    [F_REFERRER] = T(EVENT_ACCOUNT_SIGNUP),
    [F_OKAY] = T(EVENT_ACCOUNT_LOGIN) | T(EVENT_PAYMENT_RESULT),
    [F_METHOD] = T(EVENT_ACCOUNT_LOGIN),
    [F_FIELD] = T(EVENT_ACCOUNT_UPDATE),
    [F_VALUE] = T(EVENT_ACCOUNT_UPDATE),
    [F_ORDER] =
        T(EVENT_ORDER_PLACED) | T(EVENT_PAYMENT_RESULT) | T(EVENT_LABEL),
    [F_AMOUNT] = T(EVENT_ORDER_PLACED),
    [F_CURRENCY] = T(EVENT_ORDER_PLACED),
    [F_ITEMS] = T(EVENT_ORDER_PLACED),
    [F_CARD] = T(EVENT_ORDER_PLACED),
    [F_BILLING] = T(EVENT_ORDER_PLACED),
    [F_SHIPPING] = T(EVENT_ORDER_PLACED),
    [F_REASON] = T(EVENT_PAYMENT_RESULT),
    [F_FRAUD] = T(EVENT_LABEL),
};

static const struct wire_key field_names[F_COUNT] = { WIRE_KEY("v"),
    WIRE_KEY("type"), WIRE_KEY("id"), WIRE_KEY("ts"), WIRE_KEY("account"),
    WIRE_KEY("session"), WIRE_KEY("device"), WIRE_KEY("ip"),
    WIRE_KEY("ip_country"), WIRE_KEY("ua"), WIRE_KEY("tz"), WIRE_KEY("lang"),
    WIRE_KEY("carrier"), WIRE_KEY("email"), WIRE_KEY("phone"), WIRE_KEY("name"),
    WIRE_KEY("source"), WIRE_KEY("age"), WIRE_KEY("referrer"), WIRE_KEY("ok"),
    WIRE_KEY("method"), WIRE_KEY("field"), WIRE_KEY("value"), WIRE_KEY("order"),
    WIRE_KEY("amount"), WIRE_KEY("currency"), WIRE_KEY("items"),
    WIRE_KEY("card"), WIRE_KEY("billing"), WIRE_KEY("shipping"),
    WIRE_KEY("reason"), WIRE_KEY("fraud") };

/* True when a key named "password" appears anywhere inside `o`. */
static bool
has_password(const msgpack_object *o)
{
    uint32_t i;

    if (o->type == MSGPACK_OBJECT_MAP) {
        for (i = 0; i < o->via.map.size; i++) {
            if (wire_is_str(&o->via.map.ptr[i].key, "password") ||
                has_password(&o->via.map.ptr[i].key) ||
                has_password(&o->via.map.ptr[i].val))
                return true;
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (i = 0; i < o->via.array.size; i++)
            if (has_password(&o->via.array.ptr[i]))
                return true;
    }
    return false;
}

/* wire_collect() with the outcome recorded in the item. */
static int
collect(struct sfproto_item *it, const msgpack_object *map,
    const struct wire_key *names, unsigned n, const char *prefix,
    const msgpack_object **vals)
{
    int rc;

    rc = wire_collect(map, names, n, prefix, vals, it->msg, sizeof(it->msg));
    if (rc != 0)
        it->rc = rc;
    return rc;
}

/* ----------------------------------------------- per-field decoders */

static int
dec_ip(struct sfproto_item *it, const msgpack_object *o)
{
    char text[EVENT_IP_MAX + 1], masked[INET6_ADDRSTRLEN];
    struct in_addr a4;
    struct in6_addr a6;
    const uint8_t *q;
    int rc;

    rc = GET_TEXT(it, "ip", o, 1, text);
    if (rc != 0)
        return rc;
    if (inet_pton(AF_INET, text, &a4) == 1)
        goto v4;
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return item_fail(
            it, ERR_INVAL, "field 'ip': must be an IPv4 or IPv6 address");
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        /* One address, one pseudonym: ::ffff:a.b.c.d is a.b.c.d. */
        memcpy(&a4, &a6.s6_addr[12], 4);
        goto v4;
    }
    if (inet_ntop(AF_INET6, &a6, it->pii.ip, sizeof(it->pii.ip)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    /* The /48 and the /32: what one site and one provider usually hold. */
    memset(&a6.s6_addr[6], 0, 10);
    if (inet_ntop(AF_INET6, &a6, masked, sizeof(masked)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    (void)snprintf(it->pii.ip24, sizeof(it->pii.ip24), "%s/48", masked);
    memset(&a6.s6_addr[4], 0, 2);
    if (inet_ntop(AF_INET6, &a6, masked, sizeof(masked)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    (void)snprintf(it->pii.ip16, sizeof(it->pii.ip16), "%s/32", masked);
    it->ev.has |= EVENT_HAS_IP;
    return 0;
v4:
    if (inet_ntop(AF_INET, &a4, it->pii.ip, sizeof(it->pii.ip)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    q = (const uint8_t *)&a4;
    (void)snprintf(
        it->pii.ip24, sizeof(it->pii.ip24), "%u.%u.%u.0/24", q[0], q[1], q[2]);
    (void)snprintf(
        it->pii.ip16, sizeof(it->pii.ip16), "%u.%u.0.0/16", q[0], q[1]);
    it->ev.has |= EVENT_HAS_IP;
    return 0;
}

static bool
domain_ok(const char *d)
{
    size_t i, n = strlen(d);

    if (n == 0 || n > EVENT_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++) {
        char ch = d[i];

        if (ch == '.' && d[i + 1] == '.')
            return false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

bool
sfproto_email_ok(const char *s)
{
    const char *at, *p;

    at = strchr(s, '@');
    if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
        !domain_ok(at + 1))
        return false;
    for (p = s; p < at; p++)
        if (*p == ' ')
            return false;
    return true;
}

bool
sfproto_phone_ok(const char *s)
{
    const char *p;

    for (p = s; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || *p == ' ' || *p == '+' || *p == '-' ||
                *p == '(' || *p == ')'))
            return false;
    return true;
}

static int
dec_email(struct sfproto_item *it, const msgpack_object *o)
{
    int rc;

    rc = GET_TEXT(it, "email", o, 3, it->pii.email);
    if (rc != 0)
        return rc;
    if (sfproto_email_ok(it->pii.email)) {
        it->ev.has |= EVENT_HAS_EMAIL;
        return 0;
    }
    return item_fail(it, ERR_INVAL,
        "field 'email': must be local@domain, the domain of letters, "
        "digits, '-' and '.'");
}

static int
dec_phone(struct sfproto_item *it, const msgpack_object *o)
{
    int rc;

    rc = GET_TEXT(it, "phone", o, 6, it->pii.phone);
    if (rc != 0)
        return rc;
    if (!sfproto_phone_ok(it->pii.phone))
        return item_fail(it, ERR_INVAL,
            "field 'phone': only digits, spaces, '+', '-', '(' and ')'");
    it->ev.has |= EVENT_HAS_PHONE;
    return 0;
}

static int
get_country(struct sfproto_item *it, const char *name, const msgpack_object *o,
    char *dst)
{
    char tmp[3] = "";
    int rc;

    rc = GET_TEXT(it, name, o, 2, tmp);
    if (rc != 0)
        return rc;
    if (!upper_letters(tmp, 2))
        return item_fail(it, ERR_INVAL,
            "field '%s': must be 2 upper-case letters (ISO 3166 alpha-2)",
            name);
    memcpy(dst, tmp, 3);
    return 0;
}

enum { C_NUMBER, C_BIN, C_FINGERPRINT, C_LAST4, C_COUNT };
static const struct wire_key card_names[C_COUNT] = { WIRE_KEY("number"),
    WIRE_KEY("bin"), WIRE_KEY("fingerprint"), WIRE_KEY("last4") };

/*
 * A card: a fingerprint (the payment provider's token) with an optional
 * BIN, or a full number. Whatever is pseudonymized, no part of the same
 * value is kept beside its pseudonym: so no BIN beside a number, and no
 * last 4 ever (DESIGN.md promise 3; PCI DSS 3.5).
 */
static int
dec_card(struct sfproto_item *it, const msgpack_object *o)
{
    const msgpack_object *v[C_COUNT] = { NULL };
    struct event *ev = &it->ev;
    char bin[9] = "";
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_INVAL, "field 'card': must be a map");
    rc = collect(it, o, card_names, C_COUNT, "card.", v);
    if (rc != 0)
        return rc;
    if (v[C_LAST4] != NULL)
        return item_fail(it, ERR_INVAL,
            "field 'card.last4': not accepted: Vigil keeps no digits of a "
            "card number; send card.fingerprint");
    if (v[C_NUMBER] != NULL && v[C_BIN] != NULL)
        return item_fail(it, ERR_INVAL,
            "field 'card': give either number, or fingerprint and bin");
    if (v[C_NUMBER] == NULL && v[C_BIN] == NULL && v[C_FINGERPRINT] == NULL)
        return item_fail(it, ERR_INVAL,
            "field 'card': needs fingerprint (and bin), or number");
    if (v[C_NUMBER] != NULL) {
        rc = GET_TEXT(it, "card.number", v[C_NUMBER], 12, it->pii.card_number);
        if (rc != 0)
            return rc;
        if (!all_digits(it->pii.card_number) || !luhn_ok(it->pii.card_number))
            return item_fail(it, ERR_INVAL,
                "field 'card.number': must be 12..19 digits passing the "
                "Luhn check");
        ev->has |= EVENT_HAS_CARD;
    }
    if (v[C_BIN] != NULL) {
        rc = GET_TEXT(it, "card.bin", v[C_BIN], 6, bin);
        if (rc != 0)
            return rc;
        if (!all_digits(bin))
            return item_fail(
                it, ERR_INVAL, "field 'card.bin': must be 6..8 digits");
        TEXT_COPY(ev->card_bin, bin);
        ev->has |= EVENT_HAS_CARD_BIN;
    }
    if (v[C_FINGERPRINT] != NULL) {
        rc = GET_TEXT(it, "card.fingerprint", v[C_FINGERPRINT], 1,
            it->pii.card_fingerprint);
        if (rc != 0)
            return rc;
        ev->has |= EVENT_HAS_CARD;
    }
    return 0;
}

enum { A_NAME, A_STREET, A_CITY, A_POSTAL, A_COUNTRY, A_COUNT };
static const struct wire_key addr_names[A_COUNT] = { WIRE_KEY("name"),
    WIRE_KEY("street"), WIRE_KEY("city"), WIRE_KEY("postal"),
    WIRE_KEY("country") };

/* The full names of an address's parts, for messages: [shipping][part]. */
static const char *const addr_full[2][A_COUNT] = {
    { "billing.name", "billing.street", "billing.city", "billing.postal",
        "billing.country" },
    { "shipping.name", "shipping.street", "shipping.city", "shipping.postal",
        "shipping.country" },
};

/* A billing (shipping false) or shipping address map. */
static int
dec_address(struct sfproto_item *it, const msgpack_object *o, bool shipping,
    struct event_address_pii *pa, char *country, uint32_t bit)
{
    const msgpack_object *v[A_COUNT] = { NULL };
    const char *const *full = addr_full[shipping];
    const struct {
        char *dst;
        size_t max;
    } part[A_COUNTRY] = {
        [A_NAME] = { pa->name, sizeof(pa->name) - 1 },
        [A_STREET] = { pa->street, sizeof(pa->street) - 1 },
        [A_CITY] = { pa->city, sizeof(pa->city) - 1 },
        [A_POSTAL] = { pa->postal, sizeof(pa->postal) - 1 },
    };
    const char *which = shipping ? "shipping" : "billing";
    int i, rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_INVAL, "field '%s': must be a map", which);
    rc = collect(
        it, o, addr_names, A_COUNT, shipping ? "shipping." : "billing.", v);
    if (rc != 0)
        return rc;
    for (i = A_NAME; i <= A_POSTAL; i++) {
        if (v[i] == NULL)
            continue;
        rc = get_text(it, full[i], v[i], 1, part[i].max, part[i].dst);
        if (rc != 0)
            return rc;
        it->ev.has |= bit;
    }
    if (v[A_COUNTRY] != NULL) {
        rc = get_country(it, full[A_COUNTRY], v[A_COUNTRY], country);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * Keep only the origin of a referrer URL: "https://Shop.Example:8443/p?
 * email=..." becomes "https://shop.example:8443". Paths and queries
 * often carry personal data (one seen carried an email and a phone);
 * the origin is what says where a visitor came from. Anything that is
 * not scheme://host[:port]... gives "".
 */
static void
url_origin(const char *url, char *out, size_t cap)
{
    const char *p = url, *host;
    size_t n = 0;

    out[0] = '\0';
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (p == url || strncmp(p, "://", 3) != 0)
        return;
    host = p + 3;
    for (p = host; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++) {
        if (*p == '@')
            return; /* user:password@host: refuse rather than parse */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
                *p == ':' || *p == '[' || *p == ']'))
            return;
    }
    if (p == host || (size_t)(p - url) >= cap)
        return;
    for (n = 0; url + n < p; n++) {
        char ch = url[n];

        out[n] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    out[n] = '\0';
}

/* Decode one optional field `f` (allowed for the type) into the item. */
static int
dec_field(struct sfproto_item *it, int f, const msgpack_object *o)
{
    struct event *ev = &it->ev;
    const char *name = field_names[f].name;
    uint64_t u = 0;
    int rc = 0;
    char tmp[16];

    switch (f) {
    case F_ACCOUNT:
        rc = GET_TEXT(it, name, o, 1, it->pii.account);
        ev->has |= EVENT_HAS_ACCOUNT;
        break;
    case F_SESSION:
        rc = GET_TEXT(it, name, o, 1, it->pii.session);
        ev->has |= EVENT_HAS_SESSION;
        break;
    case F_DEVICE:
        rc = GET_TEXT(it, name, o, 1, it->pii.device);
        ev->has |= EVENT_HAS_DEVICE;
        break;
    case F_IP:
        rc = dec_ip(it, o);
        break;
    case F_IP_COUNTRY:
        rc = get_country(it, name, o, ev->ip_country);
        ev->has |= EVENT_HAS_IP_COUNTRY;
        break;
    case F_UA:
        rc = GET_TEXT(it, name, o, 0, it->pii.ua);
        if (rc == 0)
            TEXT_COPY(ev->browser, ua_family(it->pii.ua));
        break;
    case F_TZ:
        rc = GET_TEXT(it, name, o, 0, ev->tz);
        break;
    case F_LANG:
        rc = GET_TEXT(it, name, o, 0, ev->lang);
        break;
    case F_CARRIER:
        rc = GET_TEXT(it, name, o, 0, ev->carrier);
        break;
    case F_EMAIL:
        rc = dec_email(it, o);
        break;
    case F_PHONE:
        rc = dec_phone(it, o);
        break;
    case F_NAME:
        rc = GET_TEXT(it, name, o, 1, it->pii.name);
        ev->has |= EVENT_HAS_NAME;
        break;
    case F_SOURCE:
        rc = GET_TEXT(it, name, o, 0, ev->source);
        break;
    case F_AGE:
        rc = get_uint(it, name, o, 0, 150, &u);
        ev->age = (uint32_t)u;
        ev->has |= EVENT_HAS_AGE;
        break;
    case F_REFERRER: {
        char url[EVENT_TEXT_MAX + 1] = "";

        rc = GET_TEXT(it, name, o, 0, url);
        if (rc == 0)
            url_origin(url, ev->referrer, sizeof(ev->referrer));
        sodium_memzero(url, sizeof(url));
        break;
    }
    case F_OKAY:
    case F_FRAUD:
        rc = get_bool(it, name, o, &ev->ok);
        ev->has |= EVENT_HAS_OK;
        break;
    case F_METHOD:
    case F_REASON:
        rc = GET_TEXT(it, name, o, 0, ev->method);
        break;
    case F_FIELD:
        rc = GET_TEXT(it, name, o, 1, tmp);
        if (rc != 0)
            break;
        for (u = EVENT_UPDATE_EMAIL; u <= EVENT_UPDATE_PASSWORD; u++)
            if (strcmp(tmp, event_update_name((enum event_update)u)) == 0)
                ev->field = (enum event_update)u;
        if (ev->field == EVENT_UPDATE_NONE)
            rc = item_fail(it, ERR_INVAL,
                "field 'field': must be one of email, phone, name, "
                "address, password");
        break;
    case F_VALUE:
        /* F_FIELD precedes F_VALUE, so ev->field is known here. */
        if (ev->field == EVENT_UPDATE_PASSWORD)
            return item_fail(
                it, ERR_DENIED, "field 'value': passwords are never accepted");
        rc = GET_TEXT(it, name, o, 0, it->pii.value);
        ev->has |= EVENT_HAS_VALUE;
        break;
    case F_ORDER:
        rc = GET_TEXT(it, name, o, 1, it->pii.order);
        ev->has |= EVENT_HAS_ORDER;
        break;
    case F_AMOUNT:
        rc = get_uint(it, name, o, 0, EVENT_MAX_AMOUNT, &ev->amount);
        break;
    case F_CURRENCY:
        rc = GET_TEXT(it, name, o, 3, ev->currency);
        if (rc == 0 && !upper_letters(ev->currency, 3))
            rc = item_fail(it, ERR_INVAL,
                "field 'currency': must be 3 upper-case letters (ISO 4217)");
        break;
    case F_ITEMS:
        rc = get_uint(it, name, o, 1, EVENT_MAX_ITEMS, &u);
        ev->items = (uint32_t)u;
        ev->has |= EVENT_HAS_ITEMS;
        break;
    case F_CARD:
        rc = dec_card(it, o);
        break;
    case F_BILLING:
        rc = dec_address(it, o, false, &it->pii.billing, ev->billing_country,
            EVENT_HAS_BILLING);
        break;
    case F_SHIPPING:
        rc = dec_address(it, o, true, &it->pii.shipping, ev->shipping_country,
            EVENT_HAS_SHIPPING);
        break;
    default:
        fatalx("%s: invariant: field %d has no decoder", __func__, f);
    }
    return rc;
}

/* The fields an event type cannot do without, beyond v/type/id/ts. */
static int
check_required(struct sfproto_item *it, const msgpack_object **v)
{
    static const struct {
        enum event_type type;
        int f;
    } req[] = {
        { EVENT_ACCOUNT_LOGIN, F_OKAY },
        { EVENT_ACCOUNT_UPDATE, F_FIELD },
        { EVENT_ORDER_PLACED, F_ORDER },
        { EVENT_ORDER_PLACED, F_AMOUNT },
        { EVENT_ORDER_PLACED, F_CURRENCY },
        { EVENT_PAYMENT_RESULT, F_ORDER },
        { EVENT_PAYMENT_RESULT, F_OKAY },
        { EVENT_LABEL, F_FRAUD },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(req); i++)
        if (req[i].type == it->ev.type && v[req[i].f] == NULL)
            return item_fail(it, ERR_INVAL, "missing required field '%s'",
                field_names[req[i].f].name);
    if (it->ev.type == EVENT_LABEL && v[F_ACCOUNT] == NULL &&
        v[F_ORDER] == NULL)
        return item_fail(
            it, ERR_INVAL, "missing required field 'account' or 'order'");
    return 0;
}

/* Fill it->id from the map's "id" when it is valid, for the reply. */
static void
early_id(struct sfproto_item *it, const msgpack_object *o)
{
    uint32_t i;

    for (i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];

        if (wire_is_str(&kv->key, "id")) {
            if (WIRE_GET_STR(&kv->val, WIRE_TEXT, 1, it->id) != 0)
                it->id[0] = '\0';
            return;
        }
    }
}

/* Decode one storefront event map into `it` (already zeroed). */
static int
decode_event(struct sfproto_item *it, const msgpack_object *o)
{
    const msgpack_object *v[F_COUNT] = { NULL };
    const msgpack_object_kv *kv;
    uint64_t u = 0;
    uint32_t i;
    int f, rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_MALFORMED, "event must be a map");

    /* The id first, so that even a rejected event can be answered. */
    early_id(it, o);

    /* A password is refused before anything else is looked at. */
    for (i = 0; i < o->via.map.size; i++) {
        kv = &o->via.map.ptr[i];
        if (wire_is_str(&kv->key, "password"))
            return item_fail(it, ERR_DENIED,
                "field 'password': passwords are never accepted");
        if (has_password(&kv->key) || has_password(&kv->val)) {
            f = wire_key_index(&kv->key, field_names, F_COUNT, 0);
            return item_fail(it, ERR_DENIED,
                "field '%s.password': passwords are never accepted",
                f >= 0 ? field_names[f].name : "?");
        }
    }

    rc = collect(it, o, field_names, F_COUNT, "", v);
    if (rc != 0)
        return rc;

    if (v[F_V] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'v'");
    if (wire_get_uint(v[F_V], SFPROTO_VERSION, SFPROTO_VERSION, &u) != 0)
        return item_fail(
            it, ERR_INVAL, "field 'v': must be %d", SFPROTO_VERSION);
    if (v[F_TYPE] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'type'");
    if (v[F_TYPE]->type != MSGPACK_OBJECT_STR)
        return item_fail(it, ERR_INVAL, "field 'type': must be a string");
    for (f = EVENT_NONE + 1; f < EVENT_TYPE_COUNT; f++)
        if (wire_is_str(v[F_TYPE], event_type_name((enum event_type)f)))
            it->ev.type = (enum event_type)f;
    if (it->ev.type == EVENT_NONE)
        return item_fail(it, ERR_INVAL, "field 'type': unknown event type");
    if (v[F_ID] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'id'");
    rc = GET_TEXT(it, "id", v[F_ID], 1, it->id);
    if (rc != 0)
        return rc;
    TEXT_COPY(it->pii.id, it->id);
    if (v[F_TS] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'ts'");
    rc = get_uint(it, "ts", v[F_TS], EVENT_MIN_TS, EVENT_MAX_TS - 1, &u);
    if (rc != 0)
        return rc;
    it->ev.ts = u;

    for (f = F_TS + 1; f < F_COUNT; f++) {
        if (v[f] == NULL)
            continue;
        if (!(field_types[f] & T(it->ev.type)))
            return item_fail(it, ERR_INVAL,
                "field '%s': not allowed for type '%s'", field_names[f].name,
                event_type_name(it->ev.type));
        rc = dec_field(it, f, v[f]);
        if (rc != 0)
            return rc;
    }
    return check_required(it, v);
}

int
sfproto_batch_decode(struct sfproto_batch *b, const void *data, size_t len,
    char *msg, size_t msglen)
{
    msgpack_object top;
    const char *why;
    size_t i;
    int rc;

    if (b->n > 0)
        sodium_memzero(b->items, b->n * sizeof(*b->items));
    b->n = 0;
    b->is_array = false;
    text_fmt(msg, msglen, "ok");

    if (len == 0 || data == NULL) {
        text_fmt(msg, msglen, "empty frame");
        return ERR_MALFORMED;
    }
    if (len > SFPROTO_MAX_MSG_BYTES) {
        text_fmt(
            msg, msglen, "frame larger than %d bytes", SFPROTO_MAX_MSG_BYTES);
        return ERR_TOOBIG;
    }
    rc = wire_decode(&b->dec, data, len, SFPROTO_MAX_DEPTH, &top, &why);
    if (rc != 0) {
        if (strncmp(why, "trailing", 8) == 0)
            text_fmt(msg, msglen, "%s", why);
        else
            text_fmt(msg, msglen, "not a valid message: %s", why);
        return ERR_MALFORMED;
    }

    if (top.type == MSGPACK_OBJECT_MAP) {
        memset(&b->items[0], 0, sizeof(b->items[0]));
        b->n = 1;
        (void)decode_event(&b->items[0], &top);
    } else if (top.type == MSGPACK_OBJECT_ARRAY) {
        if (top.via.array.size == 0) {
            text_fmt(msg, msglen, "empty batch");
            return ERR_MALFORMED;
        }
        if (top.via.array.size > SFPROTO_MAX_BATCH) {
            text_fmt(msg, msglen, "more than %d events in a batch",
                SFPROTO_MAX_BATCH);
            return ERR_TOOBIG;
        }
        b->is_array = true;
        b->n = top.via.array.size;
        memset(b->items, 0, b->n * sizeof(*b->items));
        for (i = 0; i < b->n; i++)
            (void)decode_event(&b->items[i], &top.via.array.ptr[i]);
    } else {
        text_fmt(msg, msglen, "frame must be a map or an array of maps");
        return ERR_MALFORMED;
    }

    /* A rejected event's raw identifiers are not kept a moment longer. */
    for (i = 0; i < b->n; i++)
        if (b->items[i].rc != 0)
            sodium_memzero(&b->items[i].pii, sizeof(b->items[i].pii));
    return 0;
}

/* ======================================================= client side */

/* Pack the string literal `k` as a key: its length is known here. */
#define PUT_KEY(e, k) wire_put_strn((e), "" k "", sizeof(k) - 1)

/* Pack key `k` (a literal) and string array `v` when v is not empty. */
#define KV_ARR(e, k, v)                                                        \
    do {                                                                       \
        if ((v)[0] != '\0') {                                                  \
            PUT_KEY((e), k);                                                   \
            WIRE_PUT_ARR((e), (v));                                            \
        }                                                                      \
    } while (0)

static unsigned
nonempty(const char *s)
{
    return s[0] != '\0';
}

static unsigned
address_parts(const struct event_address_pii *a, const char *country)
{
    return nonempty(a->name) + nonempty(a->street) + nonempty(a->city) +
        nonempty(a->postal) + nonempty(country);
}

static void
pack_address(struct wire_enc *e, const struct wire_key *key,
    const struct event_address_pii *a, const char *country)
{
    wire_put_strn(e, key->name, key->len);
    wire_put_map(e, address_parts(a, country));
    KV_ARR(e, "name", a->name);
    KV_ARR(e, "street", a->street);
    KV_ARR(e, "city", a->city);
    KV_ARR(e, "postal", a->postal);
    if (country[0] != '\0') {
        PUT_KEY(e, "country");
        wire_put_strn(e, country, strnlen(country, 2));
    }
}

/* Which of the fields of field_names[] the event carries. */
static void
client_fields(
    const struct event *ev, const struct event_pii *pii, bool has[F_COUNT])
{
    bool order = ev->type == EVENT_ORDER_PLACED;
    bool card = order &&
        (pii->card_number[0] != '\0' || pii->card_fingerprint[0] != '\0' ||
            (ev->has & EVENT_HAS_CARD_BIN));

    has[F_V] = has[F_TYPE] = has[F_ID] = has[F_TS] = true;
    has[F_ACCOUNT] = (ev->has & EVENT_HAS_ACCOUNT) != 0;
    has[F_SESSION] = (ev->has & EVENT_HAS_SESSION) != 0;
    has[F_DEVICE] = pii->device[0] != '\0';
    has[F_IP] = pii->ip[0] != '\0';
    has[F_IP_COUNTRY] = (ev->has & EVENT_HAS_IP_COUNTRY) != 0;
    has[F_UA] = pii->ua[0] != '\0';
    has[F_TZ] = ev->tz[0] != '\0';
    has[F_LANG] = ev->lang[0] != '\0';
    has[F_CARRIER] = ev->carrier[0] != '\0';
    has[F_EMAIL] = pii->email[0] != '\0';
    has[F_PHONE] = pii->phone[0] != '\0';
    has[F_NAME] = pii->name[0] != '\0';
    has[F_SOURCE] = ev->source[0] != '\0';
    has[F_AGE] = (ev->has & EVENT_HAS_AGE) != 0;
    has[F_REFERRER] = ev->referrer[0] != '\0';
    has[F_OKAY] =
        ev->type == EVENT_ACCOUNT_LOGIN || ev->type == EVENT_PAYMENT_RESULT;
    has[F_FRAUD] = ev->type == EVENT_LABEL;
    has[F_METHOD] = ev->type == EVENT_ACCOUNT_LOGIN && ev->method[0] != '\0';
    has[F_REASON] = ev->type == EVENT_PAYMENT_RESULT && ev->method[0] != '\0';
    has[F_FIELD] = ev->type == EVENT_ACCOUNT_UPDATE;
    has[F_VALUE] =
        ev->type == EVENT_ACCOUNT_UPDATE && (ev->has & EVENT_HAS_VALUE) != 0;
    has[F_ORDER] = (ev->has & EVENT_HAS_ORDER) != 0;
    has[F_AMOUNT] = has[F_CURRENCY] = order;
    has[F_ITEMS] = order && (ev->has & EVENT_HAS_ITEMS) != 0;
    has[F_CARD] = card;
    has[F_BILLING] =
        order && address_parts(&pii->billing, ev->billing_country) > 0;
    has[F_SHIPPING] =
        order && address_parts(&pii->shipping, ev->shipping_country) > 0;
}

void
sfproto_event_pack(
    struct wire_enc *e, const struct event *ev, const struct event_pii *pii)
{
    bool has[F_COUNT] = { false };
    unsigned n = 0;
    int f;

    client_fields(ev, pii, has);
    for (f = 0; f < F_COUNT; f++)
        n += has[f];
    wire_put_map(e, n);
    for (f = 0; f < F_COUNT; f++) {
        if (!has[f])
            continue;
        if (f != F_CARD && f != F_BILLING && f != F_SHIPPING)
            wire_put_strn(e, field_names[f].name, field_names[f].len);
        switch (f) {
        case F_V:
            wire_put_uint(e, SFPROTO_VERSION);
            break;
        case F_TYPE:
            wire_put_str(e, event_type_name(ev->type));
            break;
        case F_ID:
            WIRE_PUT_ARR(e, pii->id);
            break;
        case F_TS:
            wire_put_uint(e, ev->ts);
            break;
        case F_ACCOUNT:
            WIRE_PUT_ARR(e, pii->account);
            break;
        case F_SESSION:
            WIRE_PUT_ARR(e, pii->session);
            break;
        case F_DEVICE:
            WIRE_PUT_ARR(e, pii->device);
            break;
        case F_IP:
            WIRE_PUT_ARR(e, pii->ip);
            break;
        case F_IP_COUNTRY:
            WIRE_PUT_ARR(e, ev->ip_country);
            break;
        case F_UA:
            WIRE_PUT_ARR(e, pii->ua);
            break;
        case F_TZ:
            WIRE_PUT_ARR(e, ev->tz);
            break;
        case F_LANG:
            WIRE_PUT_ARR(e, ev->lang);
            break;
        case F_CARRIER:
            WIRE_PUT_ARR(e, ev->carrier);
            break;
        case F_EMAIL:
            WIRE_PUT_ARR(e, pii->email);
            break;
        case F_PHONE:
            WIRE_PUT_ARR(e, pii->phone);
            break;
        case F_NAME:
            WIRE_PUT_ARR(e, pii->name);
            break;
        case F_SOURCE:
            WIRE_PUT_ARR(e, ev->source);
            break;
        case F_AGE:
            wire_put_uint(e, ev->age);
            break;
        case F_REFERRER:
            WIRE_PUT_ARR(e, ev->referrer);
            break;
        case F_OKAY:
        case F_FRAUD:
            wire_put_bool(e, ev->ok);
            break;
        case F_METHOD:
        case F_REASON:
            WIRE_PUT_ARR(e, ev->method);
            break;
        case F_FIELD:
            wire_put_str(e, event_update_name(ev->field));
            break;
        case F_VALUE:
            WIRE_PUT_ARR(e, pii->value);
            break;
        case F_ORDER:
            WIRE_PUT_ARR(e, pii->order);
            break;
        case F_AMOUNT:
            wire_put_uint(e, ev->amount);
            break;
        case F_CURRENCY:
            WIRE_PUT_ARR(e, ev->currency);
            break;
        case F_ITEMS:
            wire_put_uint(e, ev->items);
            break;
        case F_CARD: {
            bool num = pii->card_number[0] != '\0';
            bool bin = !num && (ev->has & EVENT_HAS_CARD_BIN);
            bool fp = pii->card_fingerprint[0] != '\0';

            PUT_KEY(e, "card");
            wire_put_map(e, (unsigned)num + (unsigned)bin + fp);
            KV_ARR(e, "number", pii->card_number);
            if (bin)
                KV_ARR(e, "bin", ev->card_bin);
            KV_ARR(e, "fingerprint", pii->card_fingerprint);
            break;
        }
        case F_BILLING:
            pack_address(
                e, &field_names[F_BILLING], &pii->billing, ev->billing_country);
            break;
        case F_SHIPPING:
            pack_address(e, &field_names[F_SHIPPING], &pii->shipping,
                ev->shipping_country);
            break;
        default:
            fatalx("%s: invariant: field %d has no encoder", __func__, f);
        }
    }
}

int
sfproto_replies_decode(struct wire_dec *d, const void *data, size_t len,
    struct reply *replies, uint32_t max, uint32_t *n)
{
    msgpack_object top;
    const char *why;
    uint32_t i;

    *n = 0;
    if (len > SFPROTO_MAX_REPLY_BYTES ||
        wire_decode(d, data, len, 4, &top, &why) != 0)
        return ERR_MALFORMED;
    if (top.type == MSGPACK_OBJECT_MAP) {
        if (max < 1 || reply_read(&top, &replies[0]) != 0)
            return ERR_MALFORMED;
        *n = 1;
        return 0;
    }
    if (top.type != MSGPACK_OBJECT_ARRAY || top.via.array.size > max)
        return ERR_MALFORMED;
    for (i = 0; i < top.via.array.size; i++)
        if (reply_read(&top.via.array.ptr[i], &replies[i]) != 0)
            return ERR_MALFORMED;
    *n = top.via.array.size;
    return 0;
}
