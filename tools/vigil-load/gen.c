/*
 * gen.c - vigil-load's event stream (see gen.h)
 *
 * Most events come from the returning population (20,000 shoppers of
 * skewed popularity, plus the most recent of those who signed up during
 * the run); a --fraud-share of them from one running fraud campaign at a
 * time. Orders queue their payment result in a ring that later events
 * drain, so results follow orders as they do in a shop. (Labels are
 * the fraud team's, sent to the scorer's query endpoint, never by a
 * storefront: this stream has none.) Runs once per event sent, on the client's
 * one thread: the cost per event is what bounds the generator's ceiling
 * (--dry-run), so strings are built with sb.h, not printf.
 *
 * Invariants:
 *  - every event fills ev and pii from zero: no field of a previous
 *    event survives into the next.
 *  - the draws from the random stream happen in a fixed order for a
 *    given seed: reordering them changes the stream of every seed.
 *
 * See also: gen.h, world.h, common/sfproto.h (section 1: the fields)
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "tools/vigil-load/gen.h"
#include "tools/vigil-load/rng.h"
#include "tools/vigil-load/sb.h"
#include "tools/vigil-load/world.h"

#define POOL_SHOPPERS 20000
#define RECENT_WINDOW 2000 /* new accounts that keep coming back */
#define PEND_RING     1024

static const char *const pattern_names[GEN_PAT_COUNT] = {
    "normal",
    "card-testing",
    "account-farm",
    "country-mismatch",
    "new-account-big",
};

/* Who sends an event: the network and device side of it. */
struct actor {
    const char *account; /* NULL: none */
    char session[40];    /* "": none */
    const char *device;  /* NULL: none */
    char ip[48];         /* "": none */
    const char *ip_country;
    const char *ua;
    const char *tz;
    const char *lang;
    const char *carrier; /* NULL on a desktop */
};

/* A delayed event: a payment result after an order. */
struct pending {
    char account[48];
    char order[48];
    bool ok; /* payment ok, or label fraud */
    const char *reason;
};

/* One running fraud campaign. */
struct campaign {
    enum gen_pattern kind;
    int left; /* steps still to play */
    unsigned step;
    struct world_person p;              /* the account played */
    char device[32];                    /* the fraudster's device */
    const struct world_country *origin; /* where the traffic comes from */
    const struct world_country *ship;   /* where the goods go */
    char ip[48];
    const struct world_ua *ua;
};

struct gen {
    struct rng r;
    struct world w;
    uint64_t pop_key; /* the population: from --seed only */
    uint64_t run_key; /* this run: seed, clocks and pid */
    char prefix[20];  /* the run tag: event ids are prefix-seq */
    uint64_t seq;     /* events made, probes included */
    uint64_t norders;
    uint64_t nnew; /* accounts signed up in this run */
    uint64_t nfarm;
    double fraud_share;
    bool orders_only;
    struct pending pend[PEND_RING];
    unsigned pend_head, pend_len;
    struct campaign camp;
    uint64_t pat_events[GEN_PAT_COUNT];
};

/* An order's parameters, from the normal stream or a campaign. */
struct order_spec {
    const struct world_person *p;
    const struct actor *a;
    double eur;
    unsigned items;
    const struct world_addr *billing;
    const struct world_addr *shipping;
    const struct world_card *card;
    enum gen_pattern pat;
    double pay_ok; /* chance the payment succeeds */
    const char *email;
};

/* ----------------------------------------------------------- people */

/* A returning shopper of the stable population (index < POOL_SHOPPERS). */
static void
person_pool(const struct gen *g, struct world_person *p, uint32_t idx)
{
    struct sb b = sb_at(p->account, sizeof(p->account));

    world_person_make(&g->w, p, rng_mix64(g->pop_key, idx), NULL, false);
    sb_mem(&b, "u", 1);
    sb_hex(&b, g->pop_key, 4);
    sb_mem(&b, "-", 1);
    sb_u64(&b, idx);
}

/* A shopper who signed up in this run. */
static void
person_new(const struct gen *g, struct world_person *p, uint64_t k)
{
    struct sb b = sb_at(p->account, sizeof(p->account));

    world_person_make(&g->w, p, rng_mix64(g->run_key, k), NULL, false);
    sb_str(&b, g->prefix);
    sb_mem(&b, "-n", 2);
    sb_u64(&b, k);
}

/* Name a campaign's account "<tag>-f<n>". */
static void
farm_account(struct gen *g, struct world_person *p)
{
    struct sb b = sb_at(p->account, sizeof(p->account));

    sb_str(&b, g->prefix);
    sb_mem(&b, "-f", 2);
    sb_u64(&b, g->nfarm++);
}

/* The network side of an event by person `p` on device `dev`. */
static void
actor_of(
    struct gen *g, const struct world_person *p, unsigned dev, struct actor *a)
{
    const struct world_ua *ua = p->ua[dev % p->ndev];
    uint64_t r = rng_next(&g->r);
    struct sb b = sb_at(a->session, sizeof(a->session));

    sb_mem(&b, "s-", 2);
    sb_hex(&b, rng_mix64(p->h, g->seq >> 12), 12);
    a->account = p->account;
    a->device = p->device[dev % p->ndev];
    a->ip_country = p->c->cc;
    if (ua->mobile && r % 100 < 25) {
        /* On the mobile network: another address, same country. */
        world_ipv4(a->ip, sizeof(a->ip), p->c, rng_mix64(p->h, 50 + r % 4));
    } else if (r % 1000 < 15) {
        /* Travelling: another country now and then, honestly. */
        const struct world_country *o =
            world_country_other(p->c, r >> 10, false);

        world_ipv4(a->ip, sizeof(a->ip), o, r >> 20);
        a->ip_country = o->cc;
    } else {
        memcpy(a->ip, p->ip, sizeof(a->ip));
    }
    a->ua = ua->s;
    a->tz = world_country_tz(p->c, p->h);
    a->lang = p->c->lang;
    a->carrier = ua->mobile ? p->c->carriers[(p->h >> 3) % 2] : NULL;
}

/* ----------------------------------------------------------- events */

/*
 * Start event `ev` of `type` from zero: the common fields (sfproto.h
 * section 1) from the actor, the id from the sequence number.
 */
static void
fill_common(struct gen *g, struct event *ev, struct event_pii *pii,
    enum event_type type, uint64_t ts, const struct actor *a)
{
    struct sb b;

    memset(ev, 0, sizeof(*ev));
    memset(pii, 0, sizeof(*pii));
    b = sb_at(pii->id, sizeof(pii->id));
    ev->type = type;
    ev->ts = ts;
    sb_str(&b, g->prefix);
    sb_mem(&b, "-", 1);
    sb_u64(&b, g->seq);
    if (a->account != NULL) {
        TEXT_COPY(pii->account, a->account);
        ev->has |= EVENT_HAS_ACCOUNT;
    }
    if (a->session[0] != '\0') {
        TEXT_COPY(pii->session, a->session);
        ev->has |= EVENT_HAS_SESSION;
    }
    if (a->device != NULL)
        TEXT_COPY(pii->device, a->device);
    if (a->ip[0] != '\0')
        TEXT_COPY(pii->ip, a->ip);
    if (a->ip_country != NULL) {
        TEXT_COPY(ev->ip_country, a->ip_country);
        ev->has |= EVENT_HAS_IP_COUNTRY;
    }
    if (a->ua != NULL)
        TEXT_COPY(pii->ua, a->ua);
    if (a->tz != NULL)
        TEXT_COPY(ev->tz, a->tz);
    if (a->lang != NULL)
        TEXT_COPY(ev->lang, a->lang);
    if (a->carrier != NULL)
        TEXT_COPY(ev->carrier, a->carrier);
}

static void
fill_addr(
    struct event_address_pii *dst, char country[3], const struct world_addr *ad)
{
    TEXT_COPY(dst->name, ad->name);
    TEXT_COPY(dst->street, ad->street);
    TEXT_COPY(dst->city, ad->city);
    TEXT_COPY(dst->postal, ad->postal);
    text_copy(country, 3, ad->country);
}

/* The card as a full number, or as bin, last four and fingerprint. */
static void
fill_card(struct event *ev, struct event_pii *pii, const struct world_card *cd)
{
    if (cd->full) {
        TEXT_COPY(pii->card_number, cd->number);
        return;
    }
    /* A provider's fingerprint with the BIN; never the last 4. */
    TEXT_COPY(ev->card_bin, cd->bin);
    ev->has |= EVENT_HAS_CARD_BIN;
    TEXT_COPY(pii->card_fingerprint, cd->fp);
}

static void
pend_push(struct gen *g, const struct pending *p)
{
    unsigned at;

    if (g->orders_only)
        return;
    if (g->pend_len == PEND_RING) {
        g->pend_head = (g->pend_head + 1) % PEND_RING;
        g->pend_len--;
    }
    at = (g->pend_head + g->pend_len) % PEND_RING;
    g->pend[at] = *p;
    g->pend_len++;
}

/* Local-currency amount in minor units from a euro amount. */
static uint64_t
amount_minor(const struct world_country *c, double eur)
{
    double v = eur * c->fx * c->minor;

    if (v < 1.0)
        v = 1.0;
    if (v > 1e11)
        v = 1e11;
    return (uint64_t)llround(v);
}

static void
ev_order(struct gen *g, struct event *ev, struct event_pii *pii, uint64_t ts,
    const struct order_spec *os, struct gen_info *info)
{
    struct pending pd;
    struct sb b = sb_at(info->order, sizeof(info->order));

    info->is_order = true;
    info->pat = os->pat;
    info->currency = os->p->c->currency;
    info->minor = os->p->c->minor;
    info->amount = amount_minor(os->p->c, os->eur);
    sb_str(&b, g->prefix);
    sb_mem(&b, "-o", 2);
    sb_u64(&b, g->norders++);
    fill_common(g, ev, pii, EVENT_ORDER_PLACED, ts, os->a);
    TEXT_COPY(pii->order, info->order);
    ev->has |= EVENT_HAS_ORDER;
    ev->amount = info->amount;
    TEXT_COPY(ev->currency, os->p->c->currency);
    ev->items = os->items;
    ev->has |= EVENT_HAS_ITEMS;
    fill_card(ev, pii, os->card);
    fill_addr(&pii->billing, ev->billing_country, os->billing);
    fill_addr(&pii->shipping, ev->shipping_country, os->shipping);
    TEXT_COPY(pii->email, os->email);

    memset(&pd, 0, sizeof(pd));
    TEXT_COPY(pd.account, os->p->account);
    memcpy(pd.order, info->order, sizeof(pd.order));
    pd.ok = rng_chance(&g->r, os->pay_ok);
    pd.reason = pd.ok ? "" : world_word(WORLD_DECLINE_REASON, rng_next(&g->r));
    pend_push(g, &pd);
}

static unsigned
normal_items(struct gen *g)
{
    unsigned x = rng_below(&g->r, 100);

    return x < 45 ? 1 : x < 70 ? 2 : x < 85 ? 3 : x < 95 ? 4 : 5;
}

/* Log-normal basket value in euros: median 45, long right tail. */
static double
normal_eur(struct gen *g)
{
    return exp(log(45.0) + 0.9 * rng_normal(&g->r));
}

static void
ev_device_seen(struct gen *g, struct event *ev, struct event_pii *pii,
    uint64_t ts, const struct actor *a)
{
    fill_common(g, ev, pii, EVENT_DEVICE_SEEN, ts, a);
}

static void
ev_signup(struct gen *g, struct event *ev, struct event_pii *pii, uint64_t ts,
    const struct actor *a, const struct world_person *p, const char *source)
{
    fill_common(g, ev, pii, EVENT_ACCOUNT_SIGNUP, ts, a);
    TEXT_COPY(pii->email, p->email);
    TEXT_COPY(pii->phone, p->phone);
    TEXT_COPY(pii->name, p->name);
    TEXT_COPY(ev->source, source);
    ev->age = p->age;
    ev->has |= EVENT_HAS_AGE;
    /* "" (no referrer) leaves the field out. */
    TEXT_COPY(ev->referrer, world_word(WORLD_REFERRER, p->h >> 5));
}

static void
ev_login(struct gen *g, struct event *ev, struct event_pii *pii, uint64_t ts,
    const struct actor *a, bool ok, const char *method)
{
    fill_common(g, ev, pii, EVENT_ACCOUNT_LOGIN, ts, a);
    ev->ok = ok;
    TEXT_COPY(ev->method, method);
}

/* The oldest pending payment result. */
static void
ev_pending(struct gen *g, struct event *ev, struct event_pii *pii, uint64_t ts)
{
    struct pending *pd = &g->pend[g->pend_head];
    struct actor a;

    g->pend_head = (g->pend_head + 1) % PEND_RING;
    g->pend_len--;
    memset(&a, 0, sizeof(a));
    {
        a.account = pd->account;
        fill_common(g, ev, pii, EVENT_PAYMENT_RESULT, ts, &a);
        TEXT_COPY(pii->order, pd->order);
        ev->has |= EVENT_HAS_ORDER;
        ev->ok = pd->ok;
        if (!pd->ok)
            TEXT_COPY(ev->method, pd->reason);
    }
}

/* Pick a returning shopper: mostly the skewed stable pool, some new. */
static void
pick_shopper(struct gen *g, struct world_person *p)
{
    if (g->nnew > 0 && rng_chance(&g->r, 0.2)) {
        uint64_t span = g->nnew < RECENT_WINDOW ? g->nnew : RECENT_WINDOW;

        person_new(g, p, g->nnew - 1 - rng_below(&g->r, (uint32_t)span));
    } else {
        double u = rng_unit(&g->r);

        person_pool(g, p, (uint32_t)(u * u * POOL_SHOPPERS));
    }
}

static void
gen_normal(struct gen *g, uint64_t ts, struct event *ev, struct event_pii *pii,
    struct gen_info *info)
{
    struct world_person p;
    struct actor a;
    unsigned x;

    if (!g->orders_only && g->pend_len > 0 && rng_chance(&g->r, 0.45)) {
        ev_pending(g, ev, pii, ts);
        return;
    }
    x = g->orders_only ? 99 : rng_below(&g->r, 100);
    if (x < 6) {
        person_new(g, &p, g->nnew);
        world_person_details(&p);
        g->nnew++;
        actor_of(g, &p, 0, &a);
        ev_signup(
            g, ev, pii, ts, &a, &p, world_word(WORLD_SIGNUP_SOURCE, p.h >> 7));
        return;
    }
    pick_shopper(g, &p);
    actor_of(g, &p, (unsigned)rng_below(&g->r, 2), &a);
    if (x < 60) {
        ev_device_seen(g, ev, pii, ts, &a);
    } else if (x < 83) {
        ev_login(g, ev, pii, ts, &a, rng_chance(&g->r, 0.95),
            world_word(WORLD_LOGIN_METHOD, p.h >> 9));
    } else {
        struct order_spec os;
        struct world_addr gift;

        world_person_details(&p);
        os = (struct order_spec){
            .p = &p,
            .a = &a,
            .eur = normal_eur(g),
            .items = normal_items(g),
            .billing = &p.home,
            .shipping = &p.home,
            .card = &p.card,
            .pat = GEN_PAT_NORMAL,
            .pay_ok = 0.94,
            .email = p.email,
        };
        if (rng_chance(&g->r, 0.08)) {
            /* A gift: shipped to someone else in the same country. */
            world_addr_make(&gift, p.c,
                world_word(WORLD_FIRST_NAME, rng_next(&g->r)), rng_next(&g->r));
            os.shipping = &gift;
        }
        ev_order(g, ev, pii, ts, &os, info);
    }
}

/* --------------------------------------------------------- campaigns */

static void
camp_start(struct gen *g)
{
    struct campaign *c = &g->camp;
    uint64_t h = rng_next(&g->r);
    unsigned k = rng_below(&g->r, 100);
    struct sb b;

    memset(c, 0, sizeof(*c));
    if (k < 35)
        c->kind = GEN_PAT_CARD_TESTING;
    else if (k < 55)
        c->kind = g->orders_only ? GEN_PAT_CARD_TESTING : GEN_PAT_ACCOUNT_FARM;
    else if (k < 80)
        c->kind = GEN_PAT_COUNTRY_MISMATCH;
    else
        c->kind = GEN_PAT_NEW_BIG;

    world_person_make(
        &g->w, &c->p, rng_mix64(g->run_key ^ 0xf00dULL, h), NULL, true);
    world_person_details(&c->p);
    switch (c->kind) {
    case GEN_PAT_CARD_TESTING:
        c->left = 20 + (int)rng_below(&g->r, 40);
        farm_account(g, &c->p);
        break;
    case GEN_PAT_ACCOUNT_FARM:
        c->left = 10 + (int)rng_below(&g->r, 20);
        break;
    case GEN_PAT_COUNTRY_MISMATCH:
        /* A taken-over account of the stable population. */
        person_pool(g, &c->p, rng_below(&g->r, POOL_SHOPPERS));
        world_person_details(&c->p);
        c->left = 2 + (int)rng_below(&g->r, 5);
        break;
    default:
        c->left = g->orders_only ? 1 : 2;
        farm_account(g, &c->p);
        break;
    }
    /* Abroad, often from a usual fraud origin; a new big spender may
     * also be at home. */
    if (c->kind == GEN_PAT_NEW_BIG && rng_chance(&g->r, 0.5))
        c->origin = c->p.c;
    else
        c->origin = world_country_other(c->p.c, h >> 8, rng_chance(&g->r, 0.6));
    c->ship = world_country_other(c->p.c, h >> 16, false);
    c->ua = world_fraud_ua(h >> 24);
    world_ipv4(c->ip, sizeof(c->ip), c->origin, rng_mix64(h, 99));
    b = sb_at(c->device, sizeof(c->device));
    sb_mem(&b, "dv-", 3);
    sb_hex(&b, rng_mix64(h, 98), 16);
    sb_hex(&b, h & 0xffff, 4);
}

/* The fraudster's network side: one device, one IP abroad. */
static void
camp_actor(struct gen *g, struct campaign *c, struct actor *a)
{
    struct sb b = sb_at(a->session, sizeof(a->session));

    a->account = c->p.account;
    sb_mem(&b, "s-", 2);
    sb_hex(&b, rng_mix64(c->p.h, c->step), 12);
    a->device = c->device;
    memcpy(a->ip, c->ip, sizeof(a->ip));
    a->ip_country = c->origin->cc;
    a->ua = c->ua->s;
    a->tz = world_country_tz(c->origin, c->p.h);
    a->lang = rng_chance(&g->r, 0.5) ? c->origin->lang : "en-US";
    a->carrier = NULL;
}

static void
gen_fraud(struct gen *g, uint64_t ts, struct event *ev, struct event_pii *pii,
    struct gen_info *info)
{
    struct campaign *c = &g->camp;
    struct actor a;

    if (c->left <= 0)
        camp_start(g);
    camp_actor(g, c, &a);
    info->pat = c->kind;
    c->left--;
    c->step++;
    switch (c->kind) {
    case GEN_PAT_CARD_TESTING: {
        struct order_spec os = {
            .p = &c->p,
            .a = &a,
            .eur = 1.0 + rng_unit(&g->r) * 4.0,
            .items = 1,
            .billing = &c->p.home,
            .shipping = &c->p.home,
            .card = &c->p.card,
            .pat = GEN_PAT_CARD_TESTING,
            .pay_ok = 0.15,
            .email = c->p.email,
        };

        ev_order(g, ev, pii, ts, &os, info);
        break;
    }
    case GEN_PAT_ACCOUNT_FARM: {
        /* A fresh identity per signup, all on one device and IP. */
        struct world_person fp;

        world_person_make(&g->w, &fp, rng_mix64(c->p.h, c->step), c->p.c, true);
        world_person_details(&fp);
        farm_account(g, &fp);
        a.account = fp.account;
        if (c->step % 6 == 0)
            ev_login(g, ev, pii, ts, &a, true, "password");
        else
            ev_signup(g, ev, pii, ts, &a, &fp, "direct");
        break;
    }
    case GEN_PAT_COUNTRY_MISMATCH:
        if (!g->orders_only && c->step == 1) {
            ev_login(g, ev, pii, ts, &a, true, "password");
        } else {
            struct world_addr ship;
            struct order_spec os = {
                .p = &c->p,
                .a = &a,
                .eur = exp(log(250.0) + 0.6 * rng_normal(&g->r)),
                .items = 1 + rng_below(&g->r, 4),
                .billing = &c->p.home,
                .shipping = &ship,
                .card = &c->p.card,
                .pat = GEN_PAT_COUNTRY_MISMATCH,
                .pay_ok = 0.7,
                .email = c->p.email,
            };

            world_addr_make(&ship, c->ship, c->p.name, rng_next(&g->r));
            ev_order(g, ev, pii, ts, &os, info);
        }
        break;
    default:
        if (!g->orders_only && c->step == 1) {
            ev_signup(g, ev, pii, ts, &a, &c->p, "direct");
        } else {
            struct world_addr ship;
            struct order_spec os = {
                .p = &c->p,
                .a = &a,
                .eur = 800.0 + rng_unit(&g->r) * 4200.0,
                .items = 3 + rng_below(&g->r, 8),
                .billing = &c->p.home,
                .shipping = &ship,
                .card = &c->p.card,
                .pat = GEN_PAT_NEW_BIG,
                .pay_ok = 0.8,
                .email = c->p.email,
            };

            world_addr_make(&ship, rng_chance(&g->r, 0.5) ? c->p.c : c->ship,
                world_word(WORLD_FIRST_NAME, rng_next(&g->r)), rng_next(&g->r));
            ev_order(g, ev, pii, ts, &os, info);
        }
        break;
    }
}

/* -------------------------------------------------------------- API */

void
gen_event(struct gen *g, uint64_t ts, struct event *ev, struct event_pii *pii,
    struct gen_info *info)
{
    memset(info, 0, sizeof(*info));
    info->seq = g->seq;
    if (g->fraud_share > 0 && rng_chance(&g->r, g->fraud_share))
        gen_fraud(g, ts, ev, pii, info);
    else
        gen_normal(g, ts, ev, pii, info);
    g->seq++;
    g->pat_events[info->pat]++;
}

void
gen_probe(struct gen *g, uint64_t ts, struct event *ev, struct event_pii *pii)
{
    struct world_person p;
    struct actor a;

    person_pool(g, &p, 0);
    actor_of(g, &p, 0, &a);
    ev_device_seen(g, ev, pii, ts, &a);
    g->seq++;
}

struct gen *
gen_new(uint64_t seed, double fraud_share, bool orders_only)
{
    struct gen *g = xcalloc(1, sizeof(*g));
    /* Wall time alone could repeat across hosts or clock steps; the
     * monotonic clock and the pid make a repeated tag implausible. */
    uint64_t t = rng_mix64(clock_wall_ms(), clock_mono_ns());
    struct sb b = sb_at(g->prefix, sizeof(g->prefix));

    world_init(&g->w);
    g->pop_key = rng_mix64(seed, 0x5eed);
    g->run_key = rng_mix64(g->pop_key, t ^ ((uint64_t)getpid() << 40));
    rng_seed(&g->r, rng_mix64(seed, 0xabc));
    sb_mem(&b, "L", 1);
    sb_hex(&b, g->run_key, 10);
    g->fraud_share = fraud_share;
    g->orders_only = orders_only;
    return g;
}

void
gen_free(struct gen *g)
{
    if (g == NULL)
        return;
    /* Synthetic identities, but personal-data shaped: wipe them. */
    sodium_memzero(g, sizeof(*g));
    free(g);
}

const char *
gen_tag(const struct gen *g)
{
    return g->prefix;
}

uint64_t
gen_pattern_events(const struct gen *g, enum gen_pattern p)
{
    return p < GEN_PAT_COUNT ? g->pat_events[p] : 0;
}

const char *
gen_pattern_name(enum gen_pattern p)
{
    return p < GEN_PAT_COUNT ? pattern_names[p] : "unknown";
}
