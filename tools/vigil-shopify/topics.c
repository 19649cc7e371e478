/*
 * topics.c - Shopify webhook topics to Vigil events
 *
 * One function per topic family reads the REST-shaped payload Shopify
 * documents for it (shopify.dev/docs/api/webhooks, "orders/create",
 * "customers/create", "disputes/create", ...) with the strict readers
 * below, and fills struct event + struct event_pii the way sfproto's
 * decoder would. The field table of tools/vigil-shopify.8 is written
 * from these functions: change both together.
 *
 * Invariants:
 *  - a field is read only through get_*(), which refuse a wrong JSON
 *    type and treat null as absent.
 *  - a value is stored only through the put_*() checks, which apply
 *    sfproto.h's rules and count what they leave out.
 *
 * See also: topics.h, common/sfproto.c (the rules mirrored here)
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "common/sfproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/money.h"
#include "tools/vigil-shopify/rfc3339.h"
#include "tools/vigil-shopify/topics.h"

/* ------------------------------------------------------------ topics */

static const struct {
    const char *name;
    enum topics_kind kind;
} topics_names[] = {
    { "customers/create", TOPICS_CUSTOMERS_CREATE },
    { "customers/update", TOPICS_CUSTOMERS_UPDATE },
    { "orders/create", TOPICS_ORDERS_CREATE },
    { "orders/paid", TOPICS_ORDERS_PAID },
    { "orders/cancelled", TOPICS_ORDERS_CANCELLED },
    { "refunds/create", TOPICS_REFUNDS_CREATE },
    { "disputes/create", TOPICS_DISPUTES_CREATE },
    { "disputes/update", TOPICS_DISPUTES_UPDATE },
    { "customers/data_request", TOPICS_CUSTOMERS_DATA_REQUEST },
    { "customers/redact", TOPICS_CUSTOMERS_REDACT },
    { "shop/redact", TOPICS_SHOP_REDACT },
};

enum topics_kind
topics_kind_parse(const char *topic)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(topics_names); i++)
        if (strcmp(topics_names[i].name, topic) == 0)
            return topics_names[i].kind;
    return TOPICS_UNKNOWN;
}

bool
topics_is_privacy(enum topics_kind k)
{
    return k == TOPICS_CUSTOMERS_DATA_REQUEST || k == TOPICS_CUSTOMERS_REDACT ||
        k == TOPICS_SHOP_REDACT;
}

bool
topics_token_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (n >= max)
            return false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
                c == '/' || c == '-'))
            return false;
    }
    return n > 0;
}

/* ------------------------------------------------------ strict reads */

/* Refuse the delivery: `rc` with a message naming field `name`. */
static int
fail(struct topics_out *out, int rc, const char *name, const char *rule)
{
    (void)snprintf(out->why, sizeof(out->why), "field '%s': %s", name, rule);
    return rc;
}

/* o[key], or NULL when absent or null. */
static const json_t *
member(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return v == NULL || json_is_null(v) ? NULL : v;
}

/* An object member: *res is NULL when absent. */
static int
get_obj(struct topics_out *out, const json_t *o, const char *key,
    const char *name, const json_t **res)
{
    const json_t *v = member(o, key);

    *res = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_object(v))
        return fail(out, ERR_MALFORMED, name, "must be an object");
    *res = v;
    return 0;
}

/* A string member: *res is NULL when absent; borrowed from `o`. */
static int
get_str(struct topics_out *out, const json_t *o, const char *key,
    const char *name, const char **res)
{
    const json_t *v = member(o, key);

    *res = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return fail(out, ERR_MALFORMED, name, "must be a string");
    *res = json_string_value(v);
    return 0;
}

/*
 * A Shopify id (a JSON integer, 1..2^63-1) as decimal text in dst
 * (room for 21 bytes); dst is "" when absent.
 */
static int
get_id(struct topics_out *out, const json_t *o, const char *key,
    const char *name, char dst[21])
{
    const json_t *v = member(o, key);

    dst[0] = '\0';
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return fail(out, ERR_MALFORMED, name, "must be a positive integer");
    (void)snprintf(dst, 21, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return 0;
}

/* A required id. */
static int
need_id(struct topics_out *out, const json_t *o, const char *key,
    const char *name, char dst[21])
{
    int rc = get_id(out, o, key, name, dst);

    if (rc == 0 && dst[0] == '\0')
        rc = fail(out, ERR_MALFORMED, name, "is required");
    return rc;
}

/* -------------------------------------------- values by Vigil's rules */

/*
 * Copy `s` into dst (capacity `cap` with the NUL) when it is min..cap-1
 * bytes of clean text (text.h: what sfproto accepts); else count it as
 * dropped. Returns whether it was stored.
 */
static bool
put_text(
    struct topics_out *out, char *dst, size_t cap, const char *s, size_t min)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n < min || n >= cap || !text_is_clean((const uint8_t *)s, n, 0)) {
        out->dropped++;
        return false;
    }
    memcpy(dst, s, n + 1);
    return true;
}

/* sfproto's email rule: local@domain, no space before the '@'. */
static bool
put_email(struct topics_out *out, char dst[EVENT_EMAIL_MAX + 1], const char *s)
{
    if (s == NULL)
        return false;
    if (!sfproto_email_ok(s)) {
        out->dropped++;
        return false;
    }
    return put_text(out, dst, EVENT_EMAIL_MAX + 1, s, 3);
}

/* sfproto's phone rule: 6..32 of digits, spaces, '+', '-', '(' and ')'. */
static bool
put_phone(struct topics_out *out, char dst[EVENT_PHONE_MAX + 1], const char *s)
{
    if (s == NULL)
        return false;
    if (!sfproto_phone_ok(s)) {
        out->dropped++;
        return false;
    }
    return put_text(out, dst, EVENT_PHONE_MAX + 1, s, 6);
}

/* An IPv4 or IPv6 address in text. */
static bool
put_ip(struct topics_out *out, char dst[EVENT_IP_MAX + 1], const char *s)
{
    unsigned char a[sizeof(struct in6_addr)];

    if (s == NULL)
        return false;
    if (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) {
        out->dropped++;
        return false;
    }
    return put_text(out, dst, EVENT_IP_MAX + 1, s, 1);
}

/* A user agent: cut at EVENT_UA_MAX bytes on a character boundary (only
 * the browser family is kept, which the head of the string decides). */
static void
put_ua(struct topics_out *out, char dst[EVENT_UA_MAX + 1], const char *s)
{
    size_t n;

    if (s == NULL)
        return;
    n = strlen(s);
    if (n > EVENT_UA_MAX) {
        n = EVENT_UA_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (!text_is_clean((const uint8_t *)s, n, 0)) {
        out->dropped++;
        return;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The first language tag of an Accept-Language value ("en-US,en;q=0.9"
 * gives "en-US"): [A-Za-z0-9-], 1..EVENT_LANG_MAX. */
static void
put_lang(struct topics_out *out, char dst[EVENT_LANG_MAX + 1], const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return;
    while (*s == ' ')
        s++;
    while (s[n] != '\0' && s[n] != ',' && s[n] != ';' && s[n] != ' ') {
        char c = s[n];

        if (n >= EVENT_LANG_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '-')) {
            out->dropped++;
            return;
        }
        n++;
    }
    if (n == 0) {
        out->dropped++;
        return;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* An ISO 3166 alpha-2 country code, upper-cased ("us" is "US"). */
static void
put_country(struct topics_out *out, char dst[3], const char *s)
{
    int i;

    if (s == NULL)
        return;
    for (i = 0; i < 2; i++) {
        char c = s[i];

        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z') {
            out->dropped++;
            return;
        }
        dst[i] = c;
    }
    if (s[2] != '\0') {
        out->dropped++;
        dst[0] = '\0';
        return;
    }
    dst[2] = '\0';
}

/* "first last", "first" or "last" into dst when it fits the rules. */
static void
put_person_name(struct topics_out *out, char *dst, size_t cap,
    const char *first, const char *last)
{
    char tmp[2 * EVENT_TEXT_MAX + 2];

    if (first == NULL && last == NULL)
        return;
    (void)snprintf(tmp, sizeof(tmp), "%s%s%s", first != NULL ? first : "",
        first != NULL && last != NULL ? " " : "", last != NULL ? last : "");
    (void)put_text(out, dst, cap, tmp, 1);
    sodium_memzero(tmp, sizeof(tmp));
}

/* ---------------------------------------------------------- events */

/* Open event n+1 of type `t` at `ts` with id "<webhook id>:<n+1>". */
static struct topics_ev *
new_event(struct topics_out *out, const struct topics_in *in, enum event_type t,
    uint64_t ts)
{
    struct topics_ev *e;

    if (out->n >= TOPICS_MAX_EVENTS)
        fatalx(
            "%s: invariant: more than %d events", __func__, TOPICS_MAX_EVENTS);
    e = &out->ev[out->n++];
    memset(e, 0, sizeof(*e));
    e->ev.type = t;
    e->ev.ts = ts;
    (void)snprintf(
        e->pii.id, sizeof(e->pii.id), "%s:%u", in->webhook_id, out->n);
    return e;
}

static void
set_account(struct topics_ev *e, const char *id)
{
    if (id[0] == '\0')
        return;
    TEXT_COPY(e->pii.account, id);
    e->ev.has |= EVENT_HAS_ACCOUNT;
}

static void
set_order(struct topics_ev *e, const char *id)
{
    TEXT_COPY(e->pii.order, id);
    e->ev.has |= EVENT_HAS_ORDER;
}

/*
 * The event time: the RFC 3339 string o[key], or X-Shopify-Triggered-At
 * when it is absent; with `header_first` the header wins when present
 * (status changes: when it happened, not when the resource was made).
 */
static int
event_time(struct topics_out *out, const json_t *o, const char *key,
    const struct topics_in *in, bool header_first, uint64_t *ts)
{
    const char *s;
    int rc;

    rc = get_str(out, o, key, key, &s);
    if (rc != 0)
        return rc;
    if (header_first && in->triggered_ms != 0) {
        *ts = in->triggered_ms;
    } else if (s != NULL) {
        if (rfc3339_parse(s, ts) != 0)
            return fail(
                out, ERR_MALFORMED, key, "must be an RFC 3339 date-time");
    } else if (in->triggered_ms != 0) {
        *ts = in->triggered_ms;
    } else {
        return fail(out, ERR_MALFORMED, key,
            "is required when X-Shopify-Triggered-At is absent");
    }
    if (*ts < EVENT_MIN_TS || *ts >= EVENT_MAX_TS)
        return fail(out, ERR_INVAL, key, "must be in 2000..2100");
    return 0;
}

/* The customer id of an order-shaped payload ("customer": {"id"}). */
static int
order_customer(struct topics_out *out, const json_t *root, char id[21])
{
    const json_t *cust;
    int rc;

    id[0] = '\0';
    rc = get_obj(out, root, "customer", "customer", &cust);
    if (rc == 0 && cust != NULL)
        rc = get_id(out, cust, "id", "customer.id", id);
    return rc;
}

/* An order address ("billing_address", "shipping_address"). */
static int
order_address(struct topics_out *out, const json_t *root, const char *key,
    struct event_address_pii *pa, char country[3])
{
    enum { NAME, FIRST, LAST, A1, A2, CITY, ZIP, CC, NKEYS };
    static const char *const keys[NKEYS] = { "name", "first_name", "last_name",
        "address1", "address2", "city", "zip", "country_code" };
    char street[2 * EVENT_TEXT_MAX + 3];
    const char *v[NKEYS];
    const json_t *a;
    char full[48];
    int i, rc;

    rc = get_obj(out, root, key, key, &a);
    if (rc != 0 || a == NULL)
        return rc;
    for (i = 0; i < NKEYS; i++) {
        (void)snprintf(full, sizeof(full), "%s.%s", key, keys[i]);
        rc = get_str(out, a, keys[i], full, &v[i]);
        if (rc != 0)
            return rc;
    }
    if (v[NAME] != NULL)
        (void)put_text(out, pa->name, sizeof(pa->name), v[NAME], 1);
    else
        put_person_name(out, pa->name, sizeof(pa->name), v[FIRST], v[LAST]);
    if (v[A1] != NULL) {
        (void)snprintf(street, sizeof(street), "%s%s%s", v[A1],
            v[A2] != NULL && v[A2][0] != '\0' ? ", " : "",
            v[A2] != NULL ? v[A2] : "");
        (void)put_text(out, pa->street, sizeof(pa->street), street, 1);
        sodium_memzero(street, sizeof(street));
    }
    (void)put_text(out, pa->city, sizeof(pa->city), v[CITY], 1);
    (void)put_text(out, pa->postal, sizeof(pa->postal), v[ZIP], 1);
    put_country(out, country, v[CC]);
    return 0;
}

/* ------------------------------------------------------- customers */

/* customers/create: account.signup; customers/update: account.update
 * once per identifier present (email, phone, name), each carrying the
 * current value: Shopify does not say what changed, and the scorer,
 * which holds the history, can tell a new value from the same one. */
static int
map_customer(enum topics_kind k, const json_t *root, const struct topics_in *in,
    struct topics_out *out)
{
    const char *email, *phone, *first, *last;
    char id[21], name[EVENT_TEXT_MAX + 1] = "";
    struct topics_ev *e;
    uint64_t ts;
    int rc;

    rc = need_id(out, root, "id", "id", id);
    if (rc == 0)
        rc = get_str(out, root, "email", "email", &email);
    if (rc == 0)
        rc = get_str(out, root, "phone", "phone", &phone);
    if (rc == 0)
        rc = get_str(out, root, "first_name", "first_name", &first);
    if (rc == 0)
        rc = get_str(out, root, "last_name", "last_name", &last);
    if (rc == 0)
        rc = event_time(out, root,
            k == TOPICS_CUSTOMERS_CREATE ? "created_at" : "updated_at", in,
            false, &ts);
    if (rc != 0)
        return rc;
    if (k == TOPICS_CUSTOMERS_CREATE) {
        e = new_event(out, in, EVENT_ACCOUNT_SIGNUP, ts);
        set_account(e, id);
        (void)put_email(out, e->pii.email, email);
        (void)put_phone(out, e->pii.phone, phone);
        put_person_name(out, e->pii.name, sizeof(e->pii.name), first, last);
        return 0;
    }
    put_person_name(out, name, sizeof(name), first, last);
    {
        const struct {
            enum event_update field;
            const char *value;
        } upd[] = {
            { EVENT_UPDATE_EMAIL, email },
            { EVENT_UPDATE_PHONE, phone },
            { EVENT_UPDATE_NAME, name[0] != '\0' ? name : NULL },
        };
        size_t i;

        for (i = 0; i < ARRAY_LEN(upd); i++) {
            char value[EVENT_TEXT_MAX + 1];

            if (upd[i].value == NULL ||
                !put_text(out, value, sizeof(value), upd[i].value, 1))
                continue;
            e = new_event(out, in, EVENT_ACCOUNT_UPDATE, ts);
            set_account(e, id);
            e->ev.field = upd[i].field;
            memcpy(e->pii.value, value, sizeof(value));
            e->ev.has |= EVENT_HAS_VALUE;
            sodium_memzero(value, sizeof(value));
        }
    }
    sodium_memzero(name, sizeof(name));
    if (out->n == 0)
        (void)snprintf(
            out->why, sizeof(out->why), "no email, phone or name to report");
    return 0;
}

/* ---------------------------------------------------------- orders */

/* The visit's network fields, copied into every event of an order. */
struct order_net {
    char ip[EVENT_IP_MAX + 1];
    char ua[EVENT_UA_MAX + 1];
    char lang[EVENT_LANG_MAX + 1];
    char session[EVENT_ID_MAX + 1];
};

static int
order_net_read(
    struct topics_out *out, const json_t *root, struct order_net *net)
{
    const char *ip, *cip, *ua, *lang, *cart, *checkout;
    const json_t *cd;
    int rc;

    rc = get_str(out, root, "browser_ip", "browser_ip", &ip);
    if (rc == 0)
        rc = get_obj(out, root, "client_details", "client_details", &cd);
    if (rc == 0)
        rc = get_str(out, root, "cart_token", "cart_token", &cart);
    if (rc == 0)
        rc = get_str(out, root, "checkout_token", "checkout_token", &checkout);
    if (rc != 0)
        return rc;
    cip = ua = lang = NULL;
    if (cd != NULL) {
        rc = get_str(out, cd, "browser_ip", "client_details.browser_ip", &cip);
        if (rc == 0)
            rc = get_str(
                out, cd, "user_agent", "client_details.user_agent", &ua);
        if (rc == 0)
            rc = get_str(out, cd, "accept_language",
                "client_details.accept_language", &lang);
        if (rc != 0)
            return rc;
    }
    (void)put_ip(out, net->ip, ip != NULL ? ip : cip);
    put_ua(out, net->ua, ua);
    put_lang(out, net->lang, lang);
    (void)put_text(out, net->session, sizeof(net->session),
        cart != NULL ? cart : checkout, 1);
    return 0;
}

static void
order_net_apply(struct topics_ev *e, const struct order_net *net)
{
    TEXT_COPY(e->pii.ip, net->ip);
    TEXT_COPY(e->pii.ua, net->ua);
    TEXT_COPY(e->ev.lang, net->lang);
    if (net->session[0] != '\0') {
        TEXT_COPY(e->pii.session, net->session);
        e->ev.has |= EVENT_HAS_SESSION;
    }
}

/* The number of items: the sum of line_items[].quantity, when 1..10000. */
static int
order_items(struct topics_out *out, const json_t *root, uint32_t *items)
{
    const json_t *li = member(root, "line_items"), *q;
    uint64_t sum = 0;
    size_t i;

    *items = 0;
    if (li == NULL)
        return 0;
    if (!json_is_array(li))
        return fail(out, ERR_MALFORMED, "line_items", "must be an array");
    for (i = 0; i < json_array_size(li); i++) {
        const json_t *it = json_array_get(li, i);

        if (!json_is_object(it))
            return fail(out, ERR_MALFORMED, "line_items", "must hold objects");
        q = member(it, "quantity");
        if (q == NULL)
            continue;
        if (!json_is_integer(q) || json_integer_value(q) < 0)
            return fail(out, ERR_MALFORMED, "line_items.quantity",
                "must be a non-negative integer");
        sum += (uint64_t)json_integer_value(q);
        if (sum > EVENT_MAX_ITEMS)
            break;
    }
    if (sum >= 1 && sum <= EVENT_MAX_ITEMS)
        *items = (uint32_t)sum;
    else if (sum > EVENT_MAX_ITEMS)
        out->dropped++;
    return 0;
}

/* The BIN the gateway reported (payment_details.credit_card_bin): kept
 * when 6..8 digits (the test gateway's "1" is not a BIN). */
static int
order_bin(struct topics_out *out, const json_t *root, struct topics_ev *e)
{
    const json_t *pd;
    const char *bin;
    size_t n, i;
    int rc;

    rc = get_obj(out, root, "payment_details", "payment_details", &pd);
    if (rc != 0 || pd == NULL)
        return rc;
    rc = get_str(
        out, pd, "credit_card_bin", "payment_details.credit_card_bin", &bin);
    if (rc != 0 || bin == NULL)
        return rc;
    n = strlen(bin);
    for (i = 0; i < n; i++)
        if (bin[i] < '0' || bin[i] > '9')
            break;
    if (n < 6 || n > 8 || i != n) {
        out->dropped++;
        return 0;
    }
    memcpy(e->ev.card_bin, bin, n + 1);
    e->ev.has |= EVENT_HAS_CARD_BIN;
    return 0;
}

/* orders/create: device.seen (the visit that ended in the checkout),
 * then order.placed, which Vigil scores. */
static int
map_order_create(
    const json_t *root, const struct topics_in *in, struct topics_out *out)
{
    const char *total, *currency, *email, *contact, *gid;
    char id[21], customer[21];
    struct order_net net;
    struct topics_ev *e;
    uint64_t ts, amount;
    uint32_t items;
    int rc;

    memset(&net, 0, sizeof(net));
    rc = need_id(out, root, "id", "id", id);
    if (rc == 0)
        rc = order_customer(out, root, customer);
    if (rc == 0)
        rc = get_str(out, root, "total_price", "total_price", &total);
    if (rc == 0)
        rc = get_str(out, root, "currency", "currency", &currency);
    if (rc == 0)
        rc = get_str(out, root, "email", "email", &email);
    if (rc == 0)
        rc = get_str(out, root, "contact_email", "contact_email", &contact);
    if (rc == 0)
        rc = get_str(
            out, root, "admin_graphql_api_id", "admin_graphql_api_id", &gid);
    if (rc == 0)
        rc = event_time(out, root, "created_at", in, false, &ts);
    if (rc == 0)
        rc = order_net_read(out, root, &net);
    if (rc == 0)
        rc = order_items(out, root, &items);
    if (rc != 0)
        goto done;
    if (total == NULL || currency == NULL) {
        rc = fail(out, ERR_MALFORMED,
            total == NULL ? "total_price" : "currency", "is required");
        goto done;
    }
    if (!money_currency_ok(currency)) {
        rc = fail(out, ERR_INVAL, "currency",
            "must be 3 upper-case letters (ISO 4217)");
        goto done;
    }
    if (money_parse(total, currency, EVENT_MAX_AMOUNT, &amount) != 0) {
        rc = fail(out, ERR_INVAL, "total_price",
            "must be a decimal amount exact in the currency's minor unit, "
            "at most 10^12 of them");
        goto done;
    }

    e = new_event(out, in, EVENT_DEVICE_SEEN, ts);
    set_account(e, customer);
    order_net_apply(e, &net);

    e = new_event(out, in, EVENT_ORDER_PLACED, ts);
    set_account(e, customer);
    order_net_apply(e, &net);
    set_order(e, id);
    e->ev.amount = amount;
    memcpy(e->ev.currency, currency, 4);
    if (items > 0) {
        e->ev.items = items;
        e->ev.has |= EVENT_HAS_ITEMS;
    }
    (void)put_email(out, e->pii.email, email != NULL ? email : contact);
    rc = order_bin(out, root, e);
    if (rc == 0)
        rc = order_address(out, root, "billing_address", &e->pii.billing,
            e->ev.billing_country);
    if (rc == 0)
        rc = order_address(out, root, "shipping_address", &e->pii.shipping,
            e->ev.shipping_country);
    if (rc != 0)
        goto done;
    out->is_order = true;
    if (gid != NULL && strncmp(gid, "gid://shopify/Order/", 20) == 0 &&
        strlen(gid) <= TOPICS_GID_MAX && topics_token_ok(gid, TOPICS_GID_MAX))
        TEXT_COPY(out->order_gid, gid);
    else
        (void)snprintf(out->order_gid, sizeof(out->order_gid),
            "gid://shopify/Order/%s", id);
done:
    sodium_memzero(&net, sizeof(net));
    return rc;
}

/* orders/paid: payment.result ok; orders/cancelled: a label (fraud) or
 * a failed payment (declined), nothing for the other reasons. */
static int
map_order_status(enum topics_kind k, const json_t *root,
    const struct topics_in *in, struct topics_out *out)
{
    const char *reason = NULL;
    char id[21], customer[21];
    struct topics_ev *e;
    uint64_t ts;
    int rc;

    rc = need_id(out, root, "id", "id", id);
    if (rc == 0)
        rc = order_customer(out, root, customer);
    if (rc == 0 && k == TOPICS_ORDERS_CANCELLED)
        rc = get_str(out, root, "cancel_reason", "cancel_reason", &reason);
    if (rc == 0)
        rc = event_time(out, root,
            k == TOPICS_ORDERS_PAID ? "processed_at" : "cancelled_at", in, true,
            &ts);
    if (rc != 0)
        return rc;
    if (k == TOPICS_ORDERS_PAID) {
        e = new_event(out, in, EVENT_PAYMENT_RESULT, ts);
        set_account(e, customer);
        set_order(e, id);
        e->ev.ok = true;
        e->ev.has |= EVENT_HAS_OK;
        return 0;
    }
    if (reason != NULL && strcmp(reason, "fraud") == 0) {
        e = new_event(out, in, EVENT_LABEL, ts);
        set_account(e, customer);
        set_order(e, id);
        e->ev.ok = true; /* fraud */
        e->ev.has |= EVENT_HAS_OK;
        TEXT_COPY(e->ev.source, "shopify.cancel");
    } else if (reason != NULL && strcmp(reason, "declined") == 0) {
        e = new_event(out, in, EVENT_PAYMENT_RESULT, ts);
        set_account(e, customer);
        set_order(e, id);
        e->ev.ok = false;
        e->ev.has |= EVENT_HAS_OK;
        TEXT_COPY(e->ev.method, "declined");
    } else {
        (void)snprintf(out->why, sizeof(out->why),
            "a cancellation for another reason than fraud or declined");
    }
    return 0;
}

/* disputes/create and disputes/update: a chargeback for fraud labels the
 * order fraudulent; the same chargeback won labels it not fraudulent.
 * Inquiries and chargebacks for other reasons (not received, duplicate,
 * ...) say nothing about fraud. */
static int
map_dispute(
    const json_t *root, const struct topics_in *in, struct topics_out *out)
{
    const char *type, *reason, *status;
    char order[21];
    struct topics_ev *e;
    bool fraud_reason, won;
    uint64_t ts;
    int rc;

    rc = get_id(out, root, "order_id", "order_id", order);
    if (rc == 0)
        rc = get_str(out, root, "type", "type", &type);
    if (rc == 0)
        rc = get_str(out, root, "reason", "reason", &reason);
    if (rc == 0)
        rc = get_str(out, root, "status", "status", &status);
    if (rc == 0)
        rc = event_time(out, root, "initiated_at", in, true, &ts);
    if (rc != 0)
        return rc;
    if (order[0] == '\0') {
        (void)snprintf(out->why, sizeof(out->why), "a dispute without order");
        return 0;
    }
    if (type == NULL || strcmp(type, "chargeback") != 0) {
        (void)snprintf(out->why, sizeof(out->why), "not a chargeback");
        return 0;
    }
    fraud_reason = reason != NULL &&
        (strcmp(reason, "fraudulent") == 0 ||
            strcmp(reason, "unrecognized") == 0);
    if (!fraud_reason) {
        (void)snprintf(
            out->why, sizeof(out->why), "a chargeback for another reason");
        return 0;
    }
    won = status != NULL && strcmp(status, "won") == 0;
    e = new_event(out, in, EVENT_LABEL, ts);
    set_order(e, order);
    e->ev.ok = !won; /* fraud */
    e->ev.has |= EVENT_HAS_OK;
    TEXT_COPY(e->ev.source, won ? "shopify.chargeback.won" : "chargeback");
    return 0;
}

static int
map_kind(enum topics_kind k, const json_t *root, const struct topics_in *in,
    struct topics_out *out)
{
    switch (k) {
    case TOPICS_CUSTOMERS_CREATE:
    case TOPICS_CUSTOMERS_UPDATE:
        return map_customer(k, root, in, out);
    case TOPICS_ORDERS_CREATE:
        return map_order_create(root, in, out);
    case TOPICS_ORDERS_PAID:
    case TOPICS_ORDERS_CANCELLED:
        return map_order_status(k, root, in, out);
    case TOPICS_DISPUTES_CREATE:
    case TOPICS_DISPUTES_UPDATE:
        return map_dispute(root, in, out);
    case TOPICS_REFUNDS_CREATE:
        /* Vigil's events have no refund: a refund is not a failed
         * payment, and calling it one would feed the failed-payment
         * features of innocent accounts. */
        (void)snprintf(out->why, sizeof(out->why), "Vigil has no refund event");
        return 0;
    case TOPICS_UNKNOWN:
    case TOPICS_CUSTOMERS_DATA_REQUEST:
    case TOPICS_CUSTOMERS_REDACT:
    case TOPICS_SHOP_REDACT:
        break;
    }
    (void)snprintf(out->why, sizeof(out->why), "topic not mapped to events");
    return 0;
}

int
topics_map(enum topics_kind k, const json_t *root, const struct topics_in *in,
    struct topics_out *out)
{
    char why[TOPICS_WHY_MAX + 1];
    int rc;

    memset(out, 0, sizeof(*out));
    if (json_typeof(root) != JSON_OBJECT)
        return fail(out, ERR_MALFORMED, "(body)", "must be a JSON object");
    rc = map_kind(k, root, in, out);
    if (rc != 0) {
        /* A refusal returns no half-made events. */
        memcpy(why, out->why, sizeof(why));
        topics_wipe(out);
        memcpy(out->why, why, sizeof(why));
    }
    return rc;
}

/* ------------------------------------------------------------ output */

int
topics_pack(const struct topics_out *out, struct buf *frame)
{
    struct wire_enc e;
    unsigned i;

    if (out->n == 0)
        return ERR_INVAL;
    wire_enc_begin(&e, frame);
    wire_put_array(&e, out->n);
    for (i = 0; i < out->n; i++)
        sfproto_event_pack(&e, &out->ev[i].ev, &out->ev[i].pii);
    return wire_enc_end(&e);
}

void
topics_wipe(struct topics_out *out)
{
    sodium_memzero(out, sizeof(*out));
}

/* ------------------------------------------------- jansson's memory */

/* Each block carries its size in front, so that free can wipe it. */
#define TOPICS_JSON_HDR 16

static void *
topics_json_malloc(size_t n)
{
    unsigned char *p;

    if (n > SIZE_MAX - TOPICS_JSON_HDR)
        return NULL;
    p = xmalloc(n + TOPICS_JSON_HDR);
    memcpy(p, &n, sizeof(n));
    return p + TOPICS_JSON_HDR;
}

static void
topics_json_free(void *q)
{
    unsigned char *p;
    size_t n;

    if (q == NULL)
        return;
    p = (unsigned char *)q - TOPICS_JSON_HDR;
    memcpy(&n, p, sizeof(n));
    sodium_memzero(q, n);
    free(p);
}

void
topics_json_init(void)
{
    json_set_alloc_funcs(topics_json_malloc, topics_json_free);
}
