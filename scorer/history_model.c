/*
 * history_model.c - the model's feature vector of an order, point in
 *                   time, and the per-country label counters it reads
 *
 * history_model_features() turns what history knew just before an
 * order (the entity records of the order's account, device, IP, /24 and
 * /16, the store's label counters per IP country and amounts) into the struct
 feature_vec
 * the model evaluates (features.h gives each definition). It only reads:
 * the scorer calls it after history_features() and before
 * history_apply(), so the order itself, and anything applied after it,
 * is never counted. history_model_label() is what history_apply() does
 * for a label on top of the flags: it counts the label in the day ring
 * of every entity of the labelled order and in its IP country's counter.
 *
 * Country counters live in the meta db under "cty" 0 actor 0 CC (CC the
 * two letters, "??" for none, "**" for the store's total), 12 + 8 x
 * CTY_DAYS bytes: u32 UTC day d (the newest label's), u32 labels and
 * fraud labels of the days before d - CTY_DAYS + 1, then for i = 0 ..
 * CTY_DAYS - 1 u32 labels and fraud labels of day d - i. (Still read:
 * the 76-byte value of the same layout with 8 days, written before
 * 2026-12-05, and the 20-byte value written when only day d was kept
 * apart: u32 d, labels and fraud labels of day d, of the days before.
 * The next label rewrites either as the current value.) A label of a later
 * day moves the days that leave the window into "before"; one of an
 * earlier day (out of order) goes to its day's slot, or to "before".
 * An order of day D reads "before" plus every slot of a day < D: only
 * labels of UTC days before the order's own day count, also when labels
 * of up to CTY_DAYS - 1 days after D were applied first. vigil-replay
 * sends labels up to that far ahead of the events still unanswered.
 *
 * The store's amounts live in the meta db under "amt" 0 actor, 24 bytes:
 * u64 orders, then the mean and Welford's M2 of their amounts in major
 * units (IEEE-754 bits as u64). history_model_order() adds each order as
 * it is applied (arrival order), after its own features were computed,
 * so amt_z and amt_ratio see the store's earlier orders only.

 *
 * Invariants:
 *  - features read only, in any txn; bounded: at most 5 entity records
 *    and 3 meta rows per order.
 *  - no clock, no randomness: the same history gives the same vector.
 *
 * See also: features.h (definitions), history.h, history_rec.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/store.h"
#include "scorer/features.h"
#include "scorer/history_impl.h"

#define DAY_MS_M     86400000ULL
#define CTY_DAYS     16 /* days of labels kept apart (replay.h) */
#define CTY_BYTES    (12 + 8 * CTY_DAYS)
#define CTY_DAYS_V2  8 /* the 76-byte value of 8 days: still read */
#define CTY_BYTES_V2 (12 + 8 * CTY_DAYS_V2)
#define CTY_BYTES_V1 20 /* day d apart only: still read */
#define CTY_KEY_MAX  (4 + EVENT_ID_MAX + 1 + 2)
#define CTY_SMOOTH   50.0 /* features.h cty_rate: (f + 50 p0) / (n + 50) */
#define AMT_BYTES    24
#define AMT_KEY_MAX  (4 + EVENT_ID_MAX + 1)

/* Link weights of link_score by net entity (features.h). */
static const double link_weight[] = { 1.0, 1.0, 0.3, 0.05 };

/* The per-entity families (features.h), one per net entity: for the
 * prefix F (FEAT_DEV, ...), the features F_ORD_1M .. F_GAP. */
#define FAMILY(kind, F, net)                                                   \
    {                                                                          \
        kind, F##_ORD_1M, F##_SIG_1M, F##_SIG_SAME_MIN, F##_FRAUD_LAB,         \
            F##_LEGIT_LAB, F##_FRAUD_AGE_D, F##_ACCTS, F##_GAP, net            \
    }
static const struct {
    enum entity_kind kind;
    enum feature_id ord, sig, same_min, fraud, legit, age, accts, gap;
    enum history_net net;
} fam[] = {
    FAMILY(ENT_DEVICE, FEAT_DEV, HNET_DEVICE),
    FAMILY(ENT_IP, FEAT_IP, HNET_IP),
    FAMILY(ENT_IP24, FEAT_IP24, HNET_IP24),
    FAMILY(ENT_IP16, FEAT_IP16, HNET_IP16),
};
#undef FAMILY

_Static_assert(
    ARRAY_LEN(fam) == HNET_COUNT && ARRAY_LEN(link_weight) == HNET_COUNT,
    "one family and one link weight per net entity");

_Static_assert(FEAT_DEV_ORD_ALL - FEAT_DEV_ORD_1M == HW_ALL &&
        FEAT_IP24_SIG_ALL - FEAT_IP24_SIG_1M == HW_ALL,
    "the window features follow enum history_win");

bool
history_model_computed(enum feature_id id)
{
    return (unsigned)id < FEATURE_COUNT;
}

/* ------------------------------------------------------ meta rows */

/*
 * The meta db's row `k`: `*p` and `*vl` its bytes (valid until the txn
 * changes the db), or `*p` NULL when there is none. Returns 0 or ERR_IO.
 */
static int
meta_view(struct history *h, struct store_txn *txn, const uint8_t *k, size_t kl,
    const uint8_t **p, size_t *vl)
{
    const void *v;
    int rc;

    *p = NULL;
    rc = store_get_view(txn, h->dbi_meta, k, kl, &v, vl);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc == 0)
        *p = v;
    return rc;
}

/* ------------------------------------------------- store amounts */

/* The store's orders so far: count, mean and Welford's M2 (major units). */
struct amt {
    uint64_t n;
    double mean, m2;
};

static int
amt_key(const char *actor, uint8_t *out, size_t *len)
{
    size_t al;

    if (history_actor_len(actor, &al) != 0)
        return ERR_INVAL;
    memcpy(out, "amt", 4); /* with its 0 */
    memcpy(out + 4, actor, al);
    *len = 4 + al;
    return 0;
}

static double
bits_double(uint64_t b)
{
    double d;

    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t
double_bits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof(b));
    return b;
}

static int
amt_load(
    struct history *h, struct store_txn *txn, const char *actor, struct amt *a)
{
    uint8_t k[AMT_KEY_MAX];
    const uint8_t *p;
    size_t kl, vl;
    int rc;

    memset(a, 0, sizeof(*a));
    rc = amt_key(actor, k, &kl);
    if (rc == 0)
        rc = meta_view(h, txn, k, kl, &p, &vl);
    if (rc != 0 || p == NULL)
        return rc;
    if (vl != AMT_BYTES)
        return ERR_CORRUPT;
    a->n = bytes_get_le64(p);
    a->mean = bits_double(bytes_get_le64(p + 8));
    a->m2 = bits_double(bytes_get_le64(p + 16));
    if (!isfinite(a->mean) || !isfinite(a->m2) || a->m2 < 0)
        return ERR_CORRUPT;
    return 0;
}

int
history_model_order(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev)
{
    uint8_t k[AMT_KEY_MAX], b[AMT_BYTES];
    double x = (double)ev->amount / 100.0, d;
    struct amt a;
    size_t kl;
    int rc;

    rc = amt_load(h, txn, actor, &a);
    if (rc == 0)
        rc = amt_key(actor, k, &kl);
    if (rc != 0)
        return rc;
    /* Welford: mean and M2 stay exact enough over billions of orders. */
    a.n++;
    d = x - a.mean;
    a.mean += d / (double)a.n;
    a.m2 += d * (x - a.mean);
    bytes_put_le64(b, a.n);
    bytes_put_le64(b + 8, double_bits(a.mean));
    bytes_put_le64(b + 16, double_bits(a.m2));
    return store_put(txn, h->dbi_meta, k, kl, b, sizeof(b));
}

/* amt_z and amt_ratio of amount `x` against the store's earlier orders. */
static void
amt_part(const struct amt *a, double x, struct feature_vec *v)
{
    double sd;

    if (a->n < 2)
        return; /* feature_vec_init(): amt_z 0, amt_ratio 1 */
    sd = sqrt(a->m2 / (double)(a->n - 1));
    v->v[FEAT_AMT_Z] = sd > 0 ? (x - a->mean) / sd : 0;
    v->v[FEAT_AMT_RATIO] = a->mean > 0 ? x / a->mean : 1;
}

/* ------------------------------------------------ country counters */

struct cty {
    uint32_t day, n_before, f_before;
    uint32_t n[CTY_DAYS], f[CTY_DAYS]; /* day - i */
};

static int
cty_key(const char *actor, const char cc[2], uint8_t *out, size_t *len)
{
    size_t al;

    if (history_actor_len(actor, &al) != 0)
        return ERR_INVAL;
    memcpy(out, "cty", 4); /* with its 0 */
    memcpy(out + 4, actor, al);
    out[4 + al] = 0;
    out[5 + al] = (uint8_t)cc[0];
    out[6 + al] = (uint8_t)cc[1];
    *len = 7 + al;
    return 0;
}

static int
cty_load(struct history *h, struct store_txn *txn, const char *actor,
    const char cc[2], struct cty *c)
{
    uint8_t k[CTY_KEY_MAX];
    const uint8_t *p;
    size_t kl, vl;
    int rc;

    memset(c, 0, sizeof(*c));
    rc = cty_key(actor, cc, k, &kl);
    if (rc == 0)
        rc = meta_view(h, txn, k, kl, &p, &vl);
    if (rc != 0 || p == NULL)
        return rc;
    c->day = bytes_get_le32(p);
    if (vl == CTY_BYTES_V1) {
        c->n[0] = bytes_get_le32(p + 4);
        c->f[0] = bytes_get_le32(p + 8);
        c->n_before = bytes_get_le32(p + 12);
        c->f_before = bytes_get_le32(p + 16);
        return 0;
    }
    if (vl != CTY_BYTES && vl != CTY_BYTES_V2)
        return ERR_CORRUPT;
    c->n_before = bytes_get_le32(p + 4);
    c->f_before = bytes_get_le32(p + 8);
    for (unsigned i = 0; i < (vl - 12) / 8; i++) {
        c->n[i] = bytes_get_le32(p + 12 + 8 * i);
        c->f[i] = bytes_get_le32(p + 16 + 8 * i);
    }
    return 0;
}

static int
cty_add(struct history *h, struct store_txn *txn, const char *actor,
    const char cc[2], uint32_t day, bool fraud)
{
    uint8_t k[CTY_KEY_MAX], b[CTY_BYTES];
    struct cty c;
    size_t kl;
    int rc;

    rc = cty_load(h, txn, actor, cc, &c);
    if (rc == 0)
        rc = cty_key(actor, cc, k, &kl);
    if (rc != 0)
        return rc;
    if (day > c.day) { /* the window moves on by `shift` days */
        uint32_t shift = day - c.day;

        for (unsigned i = CTY_DAYS; i-- > 0;) {
            if (i + shift >= CTY_DAYS) {
                c.n_before += c.n[i];
                c.f_before += c.f[i];
            } else {
                c.n[i + shift] = c.n[i];
                c.f[i + shift] = c.f[i];
            }
            if (i < shift)
                c.n[i] = c.f[i] = 0;
        }
        c.day = day;
    }
    if (c.day - day < CTY_DAYS) {
        c.n[c.day - day]++;
        c.f[c.day - day] += fraud;
    } else {
        c.n_before++;
        c.f_before += fraud;
    }
    bytes_put_le32(b, c.day);
    bytes_put_le32(b + 4, c.n_before);
    bytes_put_le32(b + 8, c.f_before);
    for (unsigned i = 0; i < CTY_DAYS; i++) {
        bytes_put_le32(b + 12 + 8 * i, c.n[i]);
        bytes_put_le32(b + 16 + 8 * i, c.f[i]);
    }
    return store_put(txn, h->dbi_meta, k, kl, b, sizeof(b));
}

/* Labels and fraud labels of `c` counted as of UTC day `day`. */
static void
cty_asof(const struct cty *c, uint32_t day, double *n, double *f)
{
    *n = c->n_before;
    *f = c->f_before;
    for (unsigned i = 0; i < CTY_DAYS && i <= c->day; i++) {
        if (c->day - i < day) {
            *n += c->n[i];
            *f += c->f[i];
        }
    }
}

/* The country an event's IP is counted under: its code, or "??". */
static void
event_cc(const char *country, bool has, char cc[2])
{
    if (has && country[0] >= 'A' && country[0] <= 'Z' && country[1] >= 'A' &&
        country[1] <= 'Z') {
        cc[0] = country[0];
        cc[1] = country[1];
    } else {
        cc[0] = cc[1] = '?';
    }
}

/* ---------------------------------------------------------- labels */

static int
count_label(struct history *h, struct store_txn *txn, const struct ekey *k,
    enum entity_kind kind, uint64_t ts, enum counter c)
{
    struct ent_rec r;
    bool exists;
    int rc;

    rc = history_ent_load(h, txn, k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    if (!exists)
        r.last_seen = ts; /* label-only: retention ages it by the label */
    history_rec_count(&r, ts, c);
    return history_ent_store(h, txn, k, &r);
}

int
history_model_label(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, const struct ekey okeys[], const struct ekey *acct)
{
    enum counter c =
        (ev->has & EVENT_HAS_OK) && ev->ok ? C_FRAUD_LAB : C_LEGIT_LAB;
    struct ent_rec r;
    bool exists = false;
    char cc[2];
    unsigned k;
    int rc;

    if (okeys != NULL) {
        for (k = 1; k < ENT_COUNT; k++) {
            if (!okeys[k].present)
                continue;
            rc = count_label(h, txn, &okeys[k], (enum entity_kind)k, ev->ts, c);
            if (rc != 0)
                return rc;
        }
    }
    /* The country: the account's last IP country (the order's in a
     * one-country account), else "??". Only labels of orders count. */
    if (okeys == NULL)
        return 0;
    memset(&r, 0, sizeof(r));
    if (acct != NULL && acct->present) {
        rc = history_ent_load(h, txn, acct, ENT_ACCOUNT, &r, &exists);
        if (rc != 0)
            return rc;
    }
    event_cc(r.country, exists && (r.flags & F_COUNTRY), cc);
    rc = cty_add(
        h, txn, actor, cc, (uint32_t)(ev->ts / DAY_MS_M), c == C_FRAUD_LAB);
    if (rc == 0)
        rc = cty_add(h, txn, actor, "**", (uint32_t)(ev->ts / DAY_MS_M),
            c == C_FRAUD_LAB);
    return rc;
}

/* -------------------------------------------------------- features */

static enum history_source
source_of(const char *s)
{
    if (s[0] == '\0')
        return HSRC_NONE;
    if (strcmp(s, "ads") == 0)
        return HSRC_ADS;
    if (strcmp(s, "seo") == 0)
        return HSRC_SEO;
    if (strcmp(s, "direct") == 0)
        return HSRC_DIRECT;
    return HSRC_OTHER;
}

uint8_t
history_model_source(const char *source)
{
    return (uint8_t)source_of(source);
}

static void
browser_flags(const char *b, struct feature_vec *v)
{
    static const struct {
        const char *name;
        enum feature_id id;
    } map[] = {
        { "chrome", FEAT_BROWSER_CHROME },
        { "firefox", FEAT_BROWSER_FIREFOX },
        { "safari", FEAT_BROWSER_SAFARI },
        { "ie", FEAT_BROWSER_IE },
        { "opera", FEAT_BROWSER_OPERA },
        { "edge", FEAT_BROWSER_EDGE },
    };
    unsigned i;

    for (i = 0; i < ARRAY_LEN(map); i++) {
        if (strcmp(b, map[i].name) == 0) {
            v->v[map[i].id] = 1;
            v->v[FEAT_BROWSER_OTHER] = 0;
            return;
        }
    }
}

static double
s2o_bucket(double s)
{
    if (s <= 0)
        return 0;
    if (s <= 60)
        return 1;
    if (s < 3600)
        return 2;
    if (s < 86400)
        return 3;
    if (s < 7 * 86400.0)
        return 4;
    if (s < 30 * 86400.0)
        return 5;
    return 6;
}

static unsigned
group_of(enum feature_id id)
{
    unsigned f;

    if (id == FEAT_CTY_RATE || id == FEAT_CTY_NLAB || id == FEAT_GLOB_RATE)
        return HISTORY_MG_COUNTRY;
    if (id == FEAT_LINK_SCORE)
        return HISTORY_MG_LABELS;
    if (id == FEAT_AMT_Z || id == FEAT_AMT_RATIO)
        return HISTORY_MG_AMOUNT;
    for (f = 0; f < ARRAY_LEN(fam); f++) {
        if (id >= fam[f].ord && id <= fam[f].same_min)
            return HISTORY_MG_WINDOWS;
        if (id >= fam[f].fraud && id <= fam[f].age)
            return HISTORY_MG_LABELS;
    }
    return 0;
}

unsigned
history_model_groups(const enum feature_id *cols, unsigned n)
{
    unsigned g = 0, j;

    for (j = 0; j < n; j++)
        g |= group_of(cols[j]);
    return g;
}

/* The features of one net entity's record `r` (exists) as of ts. */
static void
entity_part(const struct ent_rec *r, unsigned f, const struct ent_rec *acct,
    uint64_t own, uint64_t ekey_hash, uint64_t ts, unsigned groups,
    struct feature_vec *v, double *link)
{
    uint32_t w[HW_COUNT], fr, lg;
    bool own_sig[HW_COUNT] = { false };
    double age, decay;
    int64_t gap;
    unsigned i;
    bool signed_here = acct != NULL && (acct->flags & F_SIGNUP) &&
        (acct->sig_mask & (1u << fam[f].net)) &&
        acct->sig_hash[fam[f].net] == ekey_hash && acct->signup_ts <= ts;

    v->v[fam[f].accts] = history_rec_other_accounts(r, own, FEATURE_ACCTS_CAP);
    gap = history_rec_gap(r, ts, own);
    v->v[fam[f].gap] = gap < 0 ? FEATURE_MISSING_GAP : (double)gap / 1000.0;
    if (groups & HISTORY_MG_LABELS) {
        history_rec_labels(r, ts, &fr, &lg, &age, &decay);
        v->v[fam[f].fraud] = fr;
        v->v[fam[f].legit] = lg;
        v->v[fam[f].age] = age;
        *link += link_weight[f] * decay;
    }
    if (!(groups & HISTORY_MG_WINDOWS))
        return;
    history_rec_windows(r, ts, C_ORDERS, w);
    for (i = 0; i < HW_COUNT; i++)
        v->v[fam[f].ord + i] = w[i];
    /* Signups of OTHER accounts: the account's own signup on this
     * entity is taken out of the windows that count it. */
    if (signed_here)
        history_rec_event_windows(acct->signup_ts, ts, own_sig);
    history_rec_windows(r, ts, C_SIGNUPS, w);
    for (i = 0; i < HW_COUNT; i++)
        v->v[fam[f].sig + i] = w[i] - (own_sig[i] && w[i] > 0 ? 1 : 0);
    if (acct != NULL && (acct->flags & F_SIGNUP) && acct->signup_ts <= ts) {
        uint32_t n = history_rec_signups_in(r, acct->signup_ts / 60000);

        v->v[fam[f].same_min] = n - (signed_here && n > 0 ? 1 : 0);
    }
}

int
history_model_features(struct history *h, struct store_txn *txn,
    const char *actor, const struct event *ev, unsigned groups,
    struct feature_vec *v)
{
    struct ekey keys[ENT_COUNT];
    struct ev_cache *c = &h->cache;
    struct ent_rec recs[ENT_COUNT];
    const struct ent_rec *rec[ENT_COUNT] = { NULL };
    const struct ent_rec *acct;
    struct cty cty, glob;
    uint64_t ts = ev->ts, own = 0;
    double amt, link = 0, n, f, gn, gf, p0;
    bool hit, exists;
    char cc[2];
    unsigned k, i;
    int rc;

    feature_vec_init(v);
    if (!history_ts_ok(ts))
        return ERR_INVAL;
    rc = history_event_keys(actor, ev, keys);
    if (rc != 0)
        return rc;
    /* The records history_features() just read for this event, if any. */
    hit = store_txn_is_write(txn) && c->valid && c->txn == txn && c->ts == ts &&
        memcmp(c->id.b, ev->id.b, PSEUDO_BYTES) == 0;
    for (k = 0; hit && k < ENT_COUNT; k++)
        hit = c->keys[k].present == keys[k].present &&
            (!keys[k].present ||
                (c->keys[k].len == keys[k].len &&
                    memcmp(c->keys[k].b, keys[k].b, keys[k].len) == 0));
    for (k = 0; k < ENT_COUNT; k++) {
        /* The account and the net entities: nothing else is read. */
        if (!keys[k].present ||
            (k != ENT_ACCOUNT && history_net_of((enum entity_kind)k) < 0))
            continue;
        if (hit) {
            if (c->exists[k])
                rec[k] = &c->rec[k];
            continue;
        }
        rc = history_ent_load(
            h, txn, &keys[k], (enum entity_kind)k, &recs[k], &exists);
        if (rc != 0)
            return rc;
        if (exists)
            rec[k] = &recs[k];
    }

    acct = rec[ENT_ACCOUNT];
    if (keys[ENT_ACCOUNT].present)
        own =
            history_hash64(keys[ENT_ACCOUNT].b + 1, keys[ENT_ACCOUNT].len - 1);
    if (acct != NULL && (acct->flags & F_SIGNUP) && acct->signup_ts <= ts) {
        double s = (double)((ts - acct->signup_ts) / 1000);

        v->v[FEAT_S2O_SEC] = s;
        v->v[FEAT_S2O_LOG] = log1p(s);
        v->v[FEAT_S2O_BUCKET] = s2o_bucket(s);
    }
    if (acct != NULL) {
        v->v[FEAT_SOURCE_SEO] = acct->source == HSRC_SEO;
        v->v[FEAT_SOURCE_DIRECT] = acct->source == HSRC_DIRECT;
    }

    amt = (double)ev->amount / 100.0;
    v->v[FEAT_AMT] = amt;
    v->v[FEAT_AMT_LOG] = log(amt > 0.01 ? amt : 0.01);
    if (acct != NULL && acct->order_count > 0 && acct->amount_sum > 0)
        v->v[FEAT_AMT_ACCT_RATIO] =
            amt / ((double)acct->amount_sum / 100.0 / acct->order_count);
    else
        v->v[FEAT_AMT_ACCT_RATIO] = 1;
    v->v[FEAT_HOUR] = (double)((ts / 3600000) % 24);
    v->v[FEAT_DOW] = (double)((ts / DAY_MS_M + 3) % 7); /* 1970-01-01: Thu */
    browser_flags(ev->browser, v);

    for (i = 0; i < ARRAY_LEN(fam); i++) {
        k = fam[i].kind;
        if (rec[k] == NULL)
            continue;
        entity_part(rec[k], i, acct, own,
            history_hash64(keys[k].b, keys[k].len), ts, groups, v, &link);
    }
    if (groups & HISTORY_MG_LABELS)
        v->v[FEAT_LINK_SCORE] = link;
    if (groups & HISTORY_MG_AMOUNT) {
        struct amt a;

        rc = amt_load(h, txn, actor, &a);
        if (rc != 0)
            return rc;
        amt_part(&a, amt, v);
    }
    if (!(groups & HISTORY_MG_COUNTRY))
        return 0;

    event_cc(ev->ip_country, (ev->has & EVENT_HAS_IP_COUNTRY) != 0, cc);
    rc = cty_load(h, txn, actor, cc, &cty);
    if (rc == 0)
        rc = cty_load(h, txn, actor, "**", &glob);
    if (rc != 0)
        return rc;
    cty_asof(&cty, (uint32_t)(ts / DAY_MS_M), &n, &f);
    cty_asof(&glob, (uint32_t)(ts / DAY_MS_M), &gn, &gf);
    p0 = (gf + 1) / (gn + 20);
    v->v[FEAT_GLOB_RATE] = p0;
    v->v[FEAT_CTY_NLAB] = n;
    v->v[FEAT_CTY_RATE] = (f + CTY_SMOOTH * p0) / (n + CTY_SMOOTH);
    return 0;
}
