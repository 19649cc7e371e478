/*
 * event.c - event type names and the internal event codec (see event.h)
 *
 * The internal form is described by one table, `ikeys`: each key's wire
 * name, the EVENT_HAS_* bit gating it (or when it is written), its kind
 * and where it lives in struct event. Encoding and decoding both walk
 * that table, so they cannot disagree. This codec runs twice per event
 * on the hot path (collector encode, scorer decode; about 0.3-0.5 us
 * each for an order).
 *
 * Invariants:
 *  - nothing from struct event_pii is ever encoded;
 *  - decode(encode(ev)) == ev for every valid ev (tests/unit/test_event.c).
 *
 * See also: event.h, wire.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <string.h>

#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "common/wire.h"

/* ------------------------------------------------------------- names */

static const char *const type_names[EVENT_TYPE_COUNT] = {
    [EVENT_NONE] = "unknown",
    [EVENT_DEVICE_SEEN] = "device.seen",
    [EVENT_ACCOUNT_SIGNUP] = "account.signup",
    [EVENT_ACCOUNT_LOGIN] = "account.login",
    [EVENT_ACCOUNT_UPDATE] = "account.update",
    [EVENT_ORDER_PLACED] = "order.placed",
    [EVENT_PAYMENT_RESULT] = "payment.result",
    [EVENT_LABEL] = "label",
};

static const char *const update_names[] = {
    [EVENT_UPDATE_NONE] = "",
    [EVENT_UPDATE_EMAIL] = "email",
    [EVENT_UPDATE_PHONE] = "phone",
    [EVENT_UPDATE_NAME] = "name",
    [EVENT_UPDATE_ADDRESS] = "address",
    [EVENT_UPDATE_PASSWORD] = "password",
};

const char *
event_type_name(enum event_type t)
{
    if ((int)t <= (int)EVENT_NONE || (int)t >= (int)EVENT_TYPE_COUNT)
        return "unknown";
    return type_names[t];
}

enum event_type
event_type_parse(const char *name)
{
    int t;

    for (t = EVENT_NONE + 1; t < EVENT_TYPE_COUNT; t++)
        if (strcmp(name, type_names[t]) == 0)
            return (enum event_type)t;
    return EVENT_NONE;
}

const char *
event_update_name(enum event_update f)
{
    if ((unsigned)f > EVENT_UPDATE_PASSWORD)
        return "";
    return update_names[f];
}

/* ------------------------------------------------ the internal form */

enum ikind {
    IK_CONST, /* a constant unsigned integer (min), kept in no field */
    IK_UINT,  /* an unsigned integer of `width` bytes in the struct */
    IK_STR,   /* a char array of `size` bytes */
    IK_BIN,   /* a struct pseudo */
    IK_BOOL,  /* a bool */
};

/* When a key is written. */
enum iwhen {
    IW_GATED,    /* exactly when its EVENT_HAS_* bit is set */
    IW_ALWAYS,   /* v, t, s, i, h */
    IW_NONEMPTY, /* the string is not empty / the integer is not 0 */
};

/* One internal key; its wire name is ikey_names[] at the same index
 * (the macros below take the name as their first argument so that the
 * table reads with its names, and drop it). */
struct ikey {
    uint32_t bit; /* the EVENT_HAS_* bit gating it (IW_GATED), else 0 */
    uint8_t when; /* enum iwhen */
    uint8_t kind; /* enum ikind */
    uint8_t width;
    size_t off;  /* offsetof(struct event, field) */
    size_t size; /* IK_STR: the array's size */
    uint64_t min, max;
};

#define F(field)                                                               \
    offsetof(struct event, field), sizeof(((struct event *)0)->field)
#define STR(n, bit, when, field)                                               \
    {                                                                          \
        bit, when, IK_STR, 0, F(field), 0, 0                                   \
    }
#define PSEUDO(n, bit, field)                                                  \
    {                                                                          \
        bit, (bit) != 0 ? IW_GATED : IW_ALWAYS, IK_BIN, 0, F(field), 0, 0      \
    }
#define UINT(n, bit, when, field, lo, hi)                                      \
    {                                                                          \
        bit, when, IK_UINT, sizeof(((struct event *)0)->field),                \
            offsetof(struct event, field), 0, lo, hi                           \
    }

static const struct ikey ikeys[] = {
    /* "v" */ { 0, IW_ALWAYS, IK_CONST, 0, 0, 0, EVENT_FORM_VERSION,
        EVENT_FORM_VERSION },
    UINT("t", 0, IW_ALWAYS, type, EVENT_NONE + 1, EVENT_TYPE_COUNT - 1),
    UINT("s", 0, IW_ALWAYS, ts, EVENT_MIN_TS, EVENT_MAX_TS - 1),
    PSEUDO("i", 0, id),
    UINT("h", 0, IW_ALWAYS, has, 0, EVENT_HAS_ALL),
    PSEUDO("a", EVENT_HAS_ACCOUNT, account),
    PSEUDO("se", EVENT_HAS_SESSION, session),
    PSEUDO("o", EVENT_HAS_ORDER, order),
    PSEUDO("d", EVENT_HAS_DEVICE, device),
    PSEUDO("ip", EVENT_HAS_IP, ip),
    PSEUDO("p24", EVENT_HAS_IP, ip24),
    PSEUDO("p16", EVENT_HAS_IP, ip16),
    STR("cc", EVENT_HAS_IP_COUNTRY, IW_GATED, ip_country),
    STR("b", 0, IW_NONEMPTY, browser),
    STR("tz", 0, IW_NONEMPTY, tz),
    STR("la", 0, IW_NONEMPTY, lang),
    STR("ca", 0, IW_NONEMPTY, carrier),
    PSEUDO("e", EVENT_HAS_EMAIL, email),
    PSEUDO("p", EVENT_HAS_PHONE, phone),
    PSEUDO("n", EVENT_HAS_NAME, name),
    STR("so", 0, IW_NONEMPTY, source),
    UINT("ag", EVENT_HAS_AGE, IW_GATED, age, 0, 150),
    STR("r", 0, IW_NONEMPTY, referrer),
    /* "ok" */
    { EVENT_HAS_OK, IW_GATED, IK_BOOL, 0, offsetof(struct event, ok), 0, 0, 0 },
    STR("m", 0, IW_NONEMPTY, method),
    UINT("f", 0, IW_NONEMPTY, field, EVENT_UPDATE_EMAIL, EVENT_UPDATE_PASSWORD),
    PSEUDO("va", EVENT_HAS_VALUE, value),
    UINT("am", 0, IW_NONEMPTY, amount, 0, EVENT_MAX_AMOUNT),
    STR("cu", 0, IW_NONEMPTY, currency),
    UINT("it", EVENT_HAS_ITEMS, IW_GATED, items, 1, EVENT_MAX_ITEMS),
    STR("cb", EVENT_HAS_CARD_BIN, IW_GATED, card_bin),
    PSEUDO("c", EVENT_HAS_CARD, card),
    PSEUDO("bi", EVENT_HAS_BILLING, billing),
    STR("bc", 0, IW_NONEMPTY, billing_country),
    PSEUDO("sh", EVENT_HAS_SHIPPING, shipping),
    STR("sc", 0, IW_NONEMPTY, shipping_country),
};
#define NKEYS ARRAY_LEN(ikeys)

/* The wire names of ikeys[], in the same order (wire_collect()). */
static const struct wire_key ikey_names[NKEYS] = { WIRE_KEY("v"), WIRE_KEY("t"),
    WIRE_KEY("s"), WIRE_KEY("i"), WIRE_KEY("h"), WIRE_KEY("a"), WIRE_KEY("se"),
    WIRE_KEY("o"), WIRE_KEY("d"), WIRE_KEY("ip"), WIRE_KEY("p24"),
    WIRE_KEY("p16"), WIRE_KEY("cc"), WIRE_KEY("b"), WIRE_KEY("tz"),
    WIRE_KEY("la"), WIRE_KEY("ca"), WIRE_KEY("e"), WIRE_KEY("p"), WIRE_KEY("n"),
    WIRE_KEY("so"), WIRE_KEY("ag"), WIRE_KEY("r"), WIRE_KEY("ok"),
    WIRE_KEY("m"), WIRE_KEY("f"), WIRE_KEY("va"), WIRE_KEY("am"),
    WIRE_KEY("cu"), WIRE_KEY("it"), WIRE_KEY("cb"), WIRE_KEY("c"),
    WIRE_KEY("bi"), WIRE_KEY("bc"), WIRE_KEY("sh"), WIRE_KEY("sc") };
_Static_assert(ARRAY_LEN(ikey_names) == NKEYS, "one name per key");

static uint64_t
get_uint(const void *p, unsigned width)
{
    uint64_t v64;
    uint32_t v32;

    if (width == 8) {
        memcpy(&v64, p, 8);
        return v64;
    }
    memcpy(&v32, p, 4);
    return v32;
}

static void
set_uint(void *p, unsigned width, uint64_t v)
{
    uint32_t v32 = (uint32_t)v;

    if (width == 8)
        memcpy(p, &v, 8);
    else
        memcpy(p, &v32, 4);
}

/* Whether key `k` is written for `ev`. */
static bool
ikey_present(const struct event *ev, const struct ikey *k)
{
    const char *p = (const char *)ev + k->off;

    if (k->when == IW_GATED)
        return (ev->has & k->bit) != 0;
    if (k->when == IW_ALWAYS)
        return true;
    if (k->kind == IK_STR)
        return p[0] != '\0';
    return get_uint(p, k->width) != 0;
}

int
event_encode(struct buf *out, const struct event *ev)
{
    struct wire_enc e;
    uint32_t n = 0;
    size_t i;

    for (i = 0; i < NKEYS; i++)
        if (ikey_present(ev, &ikeys[i]))
            n++;
    wire_enc_begin(&e, out);
    wire_put_map(&e, n);
    for (i = 0; i < NKEYS; i++) {
        const struct ikey *k = &ikeys[i];
        const char *p = (const char *)ev + k->off;

        if (!ikey_present(ev, k))
            continue;
        wire_put_strn(&e, ikey_names[i].name, ikey_names[i].len);
        switch (k->kind) {
        case IK_CONST:
            wire_put_uint(&e, k->min);
            break;
        case IK_UINT:
            wire_put_uint(&e, get_uint(p, k->width));
            break;
        case IK_STR:
            wire_put_strn(&e, p, strnlen(p, k->size - 1));
            break;
        case IK_BIN:
            wire_put_bin(&e, p, PSEUDO_BYTES);
            break;
        case IK_BOOL:
            wire_put_bool(&e, *(const bool *)(const void *)p);
            break;
        default:
            fatalx("%s: invariant: key kind %u", __func__, k->kind);
        }
    }
    return wire_enc_end(&e);
}

/* Read one value of key `k` into ev. Returns 0 or ERR_MALFORMED. */
static int
read_value(const msgpack_object *o, const struct ikey *k, struct event *ev)
{
    char *p = (char *)ev + k->off;
    uint64_t u = 0;
    int rc;

    switch (k->kind) {
    case IK_CONST:
        rc = wire_get_uint(o, k->min, k->max, &u);
        break;
    case IK_UINT:
        rc = wire_get_uint(o, k->min, k->max, &u);
        if (rc == 0)
            set_uint(p, k->width, u);
        break;
    case IK_STR:
        rc = wire_get_str(
            o, WIRE_TEXT, k->when == IW_ALWAYS ? 1 : 0, k->size - 1, p);
        break;
    case IK_BIN:
        rc = wire_get_bin(o, p, PSEUDO_BYTES);
        break;
    case IK_BOOL:
        rc = wire_get_bool(o, (bool *)(void *)p);
        break;
    default:
        rc = ERR_MALFORMED;
        break;
    }
    return rc == 0 ? 0 : ERR_MALFORMED;
}

static int
decode_map(const msgpack_object *o, struct event *ev)
{
    const msgpack_object *vals[NKEYS] = { NULL };
    size_t i;
    int rc;

    rc = wire_collect(o, ikey_names, NKEYS, "", vals, NULL, 0);
    if (rc != 0)
        return ERR_MALFORMED;
    for (i = 0; i < NKEYS; i++) {
        if (vals[i] == NULL) {
            if (ikeys[i].when == IW_ALWAYS)
                return ERR_MALFORMED;
            continue;
        }
        rc = read_value(vals[i], &ikeys[i], ev);
        if (rc != 0)
            return rc;
    }
    /* Every gated key matches its bit ("h" was read above). */
    for (i = 0; i < NKEYS; i++)
        if (ikeys[i].when == IW_GATED &&
            (vals[i] != NULL) != ((ev->has & ikeys[i].bit) != 0))
            return ERR_INVAL;
    return 0;
}

int
event_decode(struct wire_dec *d, struct event *ev, const void *data, size_t len)
{
    msgpack_object o;
    const char *why;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (len > EVENT_MAX_ENCODED)
        return ERR_MALFORMED;
    /* One flat map: depth 1. */
    rc = wire_decode(d, data, len, 1, &o, &why);
    if (rc == 0)
        rc = decode_map(&o, ev);
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));
    return rc;
}
