/*
 * vigil-load.c - load generator and benchmark client for vigil-collector
 *
 * Plays a population of simulated shoppers (stable accounts, devices,
 * IPs, cards and addresses derived from --seed) against the storefront
 * endpoint: visits, signups, logins, orders and payment results, with a
 * --fraud-share of fraud campaigns (card testing, account farms, country
 * mismatch, brand-new accounts ordering big). It sends over N DEALER
 * sockets, each with a pipeline of in-flight requests, flat out or paced
 * to --rate events/s, and reports acknowledgement latency percentiles
 * from log-linear histograms, throughput and the order decisions.
 *
 * One thread drives every socket through zsock_poll; a timerfd in the same
 * poll set paces sends with nanosecond resolution, so a paced run never
 * busy-waits on a 2-core machine shared with the service.
 *
 * Invariants:
 *  - no frame exceeds SFPROTO_MAX_MSG_BYTES or SFPROTO_MAX_BATCH events; a
 *    batch that would not fit is cut short and the rest carried over.
 *  - every event id is "<run tag>-<counter>" and unique per run; replies
 *    are matched to their request by the first reply's id, so reordered
 *    or late replies are never misattributed.
 *  - memory is fixed after start-up: histograms, not samples.
 *  - events are written and replies read by small bounded msgpack
 *    writers and a reader in this file: no msgpack-c calls, no
 *    allocation. A reply the reader does not understand is malformed
 *    and makes the exit status 1.
 *
 * Sockets go through common/zsock (the only caller of zmq_*).
 *
 * See also: tools/vigil-load.1, common/sfproto.h, common/reply.h,
 *           tests/bench/README.md
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sfproto.h"
#include "common/xmalloc.h"
#include "common/zsock.h"

#define PROGNAME         "vigil-load"
#define NS_PER_S         1000000000ULL
#define MAX_CONNECTIONS  256
#define MAX_INFLIGHT     1024
#define DEFAULT_INFLIGHT 64   /* requests per connection, at most ... */
#define INFLIGHT_EVENTS  2048 /* ... and about this many events */
#define MAX_SHOW         1000
#define EV_SCRATCH       4096 /* one encoded event, far above the real size */
#define FRAME_HDR        5    /* room for an array32 header before the body */
#define POOL_SHOPPERS    20000
#define RECENT_WINDOW    2000 /* new accounts that keep coming back */
#define PEND_RING        1024

/* ------------------------------------------------------------ random */

/* xoshiro256** state; seeded through splitmix64. */
struct rng {
    uint64_t s[4];
};

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stateless hash of two words: derives stable attributes. */
static uint64_t
mix64(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);

    return splitmix64(&x);
}

static void
rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, n); n > 0. */
static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static bool
rng_chance(struct rng *r, double p)
{
    return rng_unit(r) < p;
}

/* Standard normal (Box-Muller, one value per call). */
static double
rng_normal(struct rng *r)
{
    double u1 = rng_unit(r), u2 = rng_unit(r);

    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Pick from a static list by a hash value. */
#define PICK(arr, h) ((arr)[(h) % ARRAY_LEN(arr)])

/* ------------------------------------------------------- world tables */

struct country {
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

static const struct country countries[] = {
    { "US", "USD", 100, 1.08, 300,
        { "America/New_York", "America/Chicago", "America/Los_Angeles" },
        "en-US", "1", { 24, 73, 98, 108 }, "2600:1700",
        { "Springfield", "Austin", "Portland", "Columbus" },
        { "Main Street", "Oak Avenue" }, "99999", { "Verizon", "T-Mobile" },
        "comcast.net" },
    { "GB", "GBP", 100, 0.85, 90, { "Europe/London", NULL, NULL }, "en-GB",
        "44", { 81, 86, 109, 31 }, "2a00:23c5",
        { "London", "Leeds", "Bristol", "Glasgow" },
        { "High Street", "Station Road" }, "AA9 9AA", { "EE", "Vodafone UK" },
        "btinternet.com" },
    { "DE", "EUR", 100, 1.0, 100, { "Europe/Berlin", NULL, NULL }, "de-DE",
        "49", { 84, 87, 91, 93 }, "2003:e6",
        { "Berlin", "Hamburg", "Koeln", "Leipzig" },
        { "Bahnhofstrasse", "Lindenweg" }, "99999",
        { "Telekom.de", "Vodafone.de" }, "gmx.de" },
    { "FR", "EUR", 100, 1.0, 80, { "Europe/Paris", NULL, NULL }, "fr-FR", "33",
        { 82, 88, 90, 92 }, "2a01:cb00", { "Paris", "Lyon", "Nantes", "Lille" },
        { "Rue de la Paix", "Avenue Victor Hugo" }, "99999",
        { "Orange F", "SFR" }, "orange.fr" },
    { "ES", "EUR", 100, 1.0, 50, { "Europe/Madrid", NULL, NULL }, "es-ES", "34",
        { 83, 95, 188, 213 }, "2a0c:5a80",
        { "Madrid", "Valencia", "Sevilla", "Bilbao" },
        { "Calle Mayor", "Avenida de America" }, "99999",
        { "Movistar", "Vodafone ES" }, "telefonica.net" },
    { "IT", "EUR", 100, 1.0, 50, { "Europe/Rome", NULL, NULL }, "it-IT", "39",
        { 79, 151, 37, 95 }, "2a01:e11",
        { "Roma", "Milano", "Torino", "Bologna" },
        { "Via Roma", "Corso Italia" }, "99999", { "TIM", "WINDTRE" },
        "libero.it" },
    { "NL", "EUR", 100, 1.0, 30, { "Europe/Amsterdam", NULL, NULL }, "nl-NL",
        "31", { 77, 145, 84, 62 }, "2a02:a440",
        { "Amsterdam", "Utrecht", "Rotterdam", "Eindhoven" },
        { "Kerkstraat", "Dorpsstraat" }, "9999 AA", { "KPN", "Odido" },
        "ziggo.nl" },
    { "PL", "PLN", 100, 4.3, 30, { "Europe/Warsaw", NULL, NULL }, "pl-PL", "48",
        { 83, 89, 178, 31 }, "2a02:a31a",
        { "Warszawa", "Krakow", "Gdansk", "Poznan" },
        { "ul. Polna", "ul. Lesna" }, "99-999", { "Play", "Orange PL" },
        "wp.pl" },
    { "SE", "SEK", 100, 11.5, 20, { "Europe/Stockholm", NULL, NULL }, "sv-SE",
        "46", { 90, 78, 83, 155 }, "2001:2042",
        { "Stockholm", "Goteborg", "Malmo", "Uppsala" },
        { "Storgatan", "Kyrkogatan" }, "999 99", { "Telia", "Tele2" },
        "telia.com" },
    { "CA", "CAD", 100, 1.47, 50,
        { "America/Toronto", "America/Vancouver", NULL }, "en-CA", "1",
        { 142, 70, 99, 174 }, "2607:fea8",
        { "Toronto", "Vancouver", "Calgary", "Ottawa" },
        { "King Street", "Maple Drive" }, "A9A 9A9", { "Rogers", "Bell" },
        "rogers.com" },
    { "AU", "AUD", 100, 1.65, 40,
        { "Australia/Sydney", "Australia/Melbourne", "Australia/Perth" },
        "en-AU", "61", { 101, 110, 49, 1 }, "2001:8003",
        { "Sydney", "Melbourne", "Brisbane", "Perth" },
        { "George Street", "Beach Road" }, "9999", { "Telstra", "Optus" },
        "bigpond.com" },
    { "BR", "BRL", 100, 5.4, 50, { "America/Sao_Paulo", NULL, NULL }, "pt-BR",
        "55", { 177, 189, 179, 200 }, "2804:14c",
        { "Sao Paulo", "Rio de Janeiro", "Curitiba", "Recife" },
        { "Rua Augusta", "Avenida Paulista" }, "99999-999",
        { "Vivo", "Claro BR" }, "uol.com.br" },
    { "MX", "MXN", 100, 18.5, 30, { "America/Mexico_City", NULL, NULL },
        "es-MX", "52", { 187, 189, 201, 200 }, "2806:2f0",
        { "Ciudad de Mexico", "Guadalajara", "Monterrey", "Puebla" },
        { "Avenida Juarez", "Calle Hidalgo" }, "99999", { "Telcel", "AT&T MX" },
        "prodigy.net.mx" },
    { "IN", "INR", 100, 90.0, 40, { "Asia/Kolkata", NULL, NULL }, "en-IN", "91",
        { 117, 106, 49, 59 }, "2401:4900",
        { "Mumbai", "Bengaluru", "Delhi", "Pune" },
        { "MG Road", "Station Road" }, "999999", { "Jio", "Airtel" },
        "rediffmail.com" },
    { "JP", "JPY", 1, 165.0, 40, { "Asia/Tokyo", NULL, NULL }, "ja-JP", "81",
        { 126, 153, 60, 119 }, "240b:10",
        { "Tokyo", "Osaka", "Nagoya", "Sapporo" },
        { "Chuo-dori", "Meiji-dori" }, "999-9999", { "NTT DOCOMO", "SoftBank" },
        "docomo.ne.jp" },
    /* Origins of fraud traffic only (weight 0). */
    { "NG", "NGN", 100, 1600.0, 0, { "Africa/Lagos", NULL, NULL }, "en-NG",
        "234", { 41, 102, 105, 197 }, "2c0f:f5c0",
        { "Lagos", "Abuja", "Ibadan", "Kano" },
        { "Allen Avenue", "Broad Street" }, "999999", { "MTN NG", "Airtel NG" },
        "yahoo.com" },
    { "RU", "RUB", 100, 98.0, 0, { "Europe/Moscow", NULL, NULL }, "ru-RU", "7",
        { 95, 188, 176, 5 }, "2a00:1370",
        { "Moskva", "Kazan", "Omsk", "Samara" }, { "ul. Lenina", "ul. Mira" },
        "999999", { "MTS", "Beeline" }, "mail.ru" },
    { "VN", "VND", 1, 27000.0, 0, { "Asia/Ho_Chi_Minh", NULL, NULL }, "vi-VN",
        "84", { 113, 14, 27, 42 }, "2405:4800",
        { "Hanoi", "Da Nang", "Hue", "Can Tho" }, { "Le Loi", "Tran Hung Dao" },
        "999999", { "Viettel", "Vinaphone" }, "yahoo.com.vn" },
    { "RO", "RON", 100, 5.0, 0, { "Europe/Bucharest", NULL, NULL }, "ro-RO",
        "40", { 86, 89, 79, 188 }, "2a02:2f0c",
        { "Bucuresti", "Cluj-Napoca", "Iasi", "Timisoara" },
        { "Strada Victoriei", "Bulevardul Unirii" }, "999999",
        { "Orange RO", "Digi" }, "yahoo.ro" },
    { "ID", "IDR", 100, 17000.0, 0, { "Asia/Jakarta", NULL, NULL }, "id-ID",
        "62", { 36, 114, 180, 182 }, "2001:448a",
        { "Jakarta", "Surabaya", "Bandung", "Medan" },
        { "Jalan Sudirman", "Jalan Thamrin" }, "99999",
        { "Telkomsel", "Indosat" }, "yahoo.co.id" },
};

#define N_SHOP_COUNTRIES 15 /* the first entries, with a weight */

struct ua {
    const char *s;
    bool mobile;
};

static const struct ua uas[] = {
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        false },
    { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
      "Mobile/15E148 Safari/604.1",
        true },
    { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
        true },
    { "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
      "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
      "Safari/605.1.15",
        false },
    { "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 "
      "(KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile "
      "Safari/537.36",
        true },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) "
      "Gecko/20100101 Firefox/125.0",
        false },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 "
      "Edg/124.0.2478.80",
        false },
    { "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
      "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        true },
};

static const struct ua fraud_uas[] = {
    { "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
      "Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
        false },
    { "python-requests/2.31.0", false },
    { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
        false },
};

static const char *const first_names[] = {
    "James",
    "Mary",
    "Liam",
    "Emma",
    "Noah",
    "Olivia",
    "Lukas",
    "Sophie",
    "Hugo",
    "Chloe",
    "Mateo",
    "Lucia",
    "Giulia",
    "Marco",
    "Daan",
    "Julia",
    "Oskar",
    "Aarav",
    "Yuki",
    "Ana",
    "Ethan",
    "Mia",
    "Leon",
    "Sara",
};

static const char *const last_names[] = {
    "Smith",
    "Johnson",
    "Brown",
    "Garcia",
    "Mueller",
    "Schmidt",
    "Martin",
    "Bernard",
    "Rossi",
    "Russo",
    "de Vries",
    "Jansen",
    "Kowalski",
    "Nowak",
    "Andersson",
    "Tremblay",
    "Wilson",
    "Silva",
    "Santos",
    "Hernandez",
    "Sharma",
    "Patel",
    "Sato",
    "Suzuki",
};

static const char *const mail_domains[] = {
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "icloud.com",
    "hotmail.com",
};

static const char *const disposable_domains[] = {
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "tempmail.dev",
};

static const char *const signup_sources[] = {
    "seo",
    "seo",
    "ads",
    "ads",
    "direct",
    "direct",
    "direct",
    "google",
    "facebook",
    "apple",
};

static const char *const referrers[] = {
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://www.facebook.com/",
    "https://t.co/",
    "",
};

static const char *const login_methods[] = {
    "password",
    "password",
    "password",
    "google",
    "apple",
    "magic_link",
};

static const char *const decline_reasons[] = {
    "declined",
    "insufficient_funds",
    "do_not_honor",
    "incorrect_cvc",
    "expired_card",
};

/* ------------------------------------------------------------ events */

/*
 * A bounded output buffer; `full` records an overflow. Events are
 * written with a few canonical msgpack writers (str, uint, bool, map):
 * the generator's ceiling matters on a 2-core box shared with the
 * service, and these are several times cheaper than the packer's
 * per-piece callbacks.
 */
struct obuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool full;
};

static void
obuf_put(struct obuf *o, const void *p, size_t len)
{
    if (len > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, p, len);
    o->len += len;
}

/* An encoder writing one event into an obuf. */
struct enc {
    struct obuf *o;
};

/* Reserve a map16 header; map_end writes the real header. */
static size_t
map_begin(struct enc *e)
{
    static const uint8_t reserve[3] = { 0 };
    size_t off = e->o->len;

    obuf_put(e->o, reserve, sizeof(reserve));
    return off;
}

/* Patch the header reserved at `off` for `n` pairs, canonically. */
static void
map_end(struct enc *e, size_t off, unsigned n)
{
    struct obuf *o = e->o;

    if (o->full)
        return;
    if (n <= 15) {
        o->p[off] = (uint8_t)(0x80 | n);
        memmove(o->p + off + 1, o->p + off + 3, o->len - off - 3);
        o->len -= 2;
    } else {
        o->p[off] = 0xde;
        o->p[off + 1] = (uint8_t)(n >> 8);
        o->p[off + 2] = (uint8_t)n;
    }
}

static void
pk_str(struct enc *e, const char *s)
{
    size_t n = strlen(s), hl;
    uint8_t h[5];

    if (n < 32) {
        h[0] = (uint8_t)(0xa0 | n);
        hl = 1;
    } else if (n < 256) {
        h[0] = 0xd9;
        h[1] = (uint8_t)n;
        hl = 2;
    } else {
        /* Nothing generated is longer than 64 KiB. */
        h[0] = 0xda;
        h[1] = (uint8_t)(n >> 8);
        h[2] = (uint8_t)n;
        hl = 3;
    }
    obuf_put(e->o, h, hl);
    obuf_put(e->o, s, n);
}

static void
pk_uint(struct enc *e, uint64_t v)
{
    uint8_t h[9];
    size_t hl;

    if (v < 128) {
        h[0] = (uint8_t)v;
        hl = 1;
    } else if (v < 256) {
        h[0] = 0xcc;
        h[1] = (uint8_t)v;
        hl = 2;
    } else if (v < 65536) {
        h[0] = 0xcd;
        hl = 3;
    } else if (v <= UINT32_MAX) {
        h[0] = 0xce;
        hl = 5;
    } else {
        h[0] = 0xcf;
        hl = 9;
    }
    for (size_t i = hl - 1; hl > 2 && i >= 1; i--) {
        h[i] = (uint8_t)v;
        v >>= 8;
    }
    obuf_put(e->o, h, hl);
}

static void
kv_str(struct enc *e, unsigned *n, const char *k, const char *v)
{
    pk_str(e, k);
    pk_str(e, v);
    (*n)++;
}

static void
kv_u64(struct enc *e, unsigned *n, const char *k, uint64_t v)
{
    pk_str(e, k);
    pk_uint(e, v);
    (*n)++;
}

static void
kv_bool(struct enc *e, unsigned *n, const char *k, bool v)
{
    uint8_t b = v ? 0xc3 : 0xc2;

    pk_str(e, k);
    obuf_put(e->o, &b, 1);
    (*n)++;
}

/*
 * A string builder over a fixed array: appends never overflow and the
 * result is always NUL-terminated (truncated if it had to be). Cheaper
 * than snprintf on the per-event path.
 */
struct sb {
    char *p;
    size_t len;
    size_t cap;
};

static struct sb
sb_at(char *p, size_t cap)
{
    struct sb b = { p, 0, cap };

    p[0] = '\0';
    return b;
}

static void
sb_mem(struct sb *b, const char *s, size_t n)
{
    if (n > b->cap - 1 - b->len)
        n = b->cap - 1 - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
    sb_mem(b, s, strlen(s));
}

static void
sb_u64(struct sb *b, uint64_t v)
{
    char t[20];
    size_t i = sizeof(t);

    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sb_mem(b, t + i, sizeof(t) - i);
}

/* Exactly `digits` lower-case hex digits of `v` (leading zeros kept). */
static void
sb_hex(struct sb *b, uint64_t v, unsigned digits)
{
    static const char hx[] = "0123456789abcdef";
    char t[16];

    if (digits > 16)
        digits = 16;
    for (unsigned i = digits; i > 0; i--) {
        t[i - 1] = hx[v & 15];
        v >>= 4;
    }
    sb_mem(b, t, digits);
}

struct addr {
    char name[48];
    char street[64];
    char city[40];
    char postal[16];
    const char *country;
};

struct card {
    bool full; /* send the number, else bin/last4/fingerprint */
    char number[20];
    char bin[9];
    char last4[5];
    char fp[24];
};

/* A simulated shopper or fraudster, derived from one hash. */
struct person {
    uint64_t h;
    bool fraud;
    const struct country *c;
    char account[48];
    char email[96];
    char phone[24];
    char name[48];
    char device[2][32];
    const struct ua *ua[2];
    unsigned ndev;
    char ip[48];
    bool ipv6;
    struct addr home;
    struct card card;
    unsigned age;
};

/* Who sends an event: the network and device side of it. */
struct actor {
    const char *account;
    char session[40];
    const char *device;
    char ip[48];
    const char *ip_country;
    const char *ua;
    const char *tz;
    const char *lang;
    const char *carrier; /* NULL on a desktop */
};

enum pattern {
    PAT_NORMAL = 0,
    PAT_CARD_TESTING,
    PAT_ACCOUNT_FARM,
    PAT_COUNTRY_MISMATCH,
    PAT_NEW_BIG,
    PAT_COUNT
};

static const char *const pattern_names[PAT_COUNT] = {
    "normal",
    "card-testing",
    "account-farm",
    "country-mismatch",
    "new-account-big",
};

static const char *const decision_names[] = {
    "",
    "allow",
    "review",
    "block",
};

/* A delayed event: a payment result after an order, or a label. */
struct pending {
    bool is_label;
    char account[48];
    char order[48];
    bool ok; /* payment ok, or label fraud */
    const char *reason;
};

/* One running fraud campaign. */
struct campaign {
    enum pattern kind;
    int left; /* steps still to play */
    unsigned step;
    struct person p;              /* the account played, and its identity */
    char device[32];              /* the fraudster's device */
    const struct country *origin; /* where the traffic comes from */
    const struct country *ship;   /* where the goods go */
    char ip[48];
    const struct ua *ua;
};

/* What the generator says about one event it wrote. */
struct evinfo {
    uint64_t seq;
    bool is_order;
    enum pattern pat;
    char order[48];
    uint64_t amount;
    const struct country *c;
};

/* The event stream generator. */
struct gen {
    struct rng r;
    uint64_t pop_key; /* the population: from --seed only */
    uint64_t run_key; /* this run: seed, clock and pid */
    char prefix[20];  /* "<run tag>": event ids are prefix-seq */
    uint64_t seq;     /* events generated */
    uint64_t norders;
    uint64_t nnew; /* accounts signed up in this run */
    uint64_t nfarm;
    double fraud_share;
    bool orders_only;
    unsigned cum_weight[N_SHOP_COUNTRIES];
    struct pending pend[PEND_RING];
    unsigned pend_head, pend_len;
    struct campaign camp;
    uint64_t pat_events[PAT_COUNT];
};

static const struct country *
country_by_weight(const struct gen *g, uint64_t h)
{
    unsigned total = g->cum_weight[N_SHOP_COUNTRIES - 1];
    unsigned x = (unsigned)(h % total);

    for (unsigned i = 0; i < N_SHOP_COUNTRIES; i++) {
        if (x < g->cum_weight[i])
            return &countries[i];
    }
    return &countries[0];
}

static const struct country *
country_other(const struct country *c, uint64_t h, bool fraud_origin)
{
    const struct country *o;

    do {
        if (fraud_origin)
            o = &countries[N_SHOP_COUNTRIES +
                h % (ARRAY_LEN(countries) - N_SHOP_COUNTRIES)];
        else
            o = &countries[h % N_SHOP_COUNTRIES];
        h = mix64(h, 7);
    } while (o == c);
    return o;
}

static const char *
country_tz(const struct country *c, uint64_t h)
{
    unsigned n = 0;

    while (n < 3 && c->tz[n] != NULL)
        n++;
    return c->tz[h % n];
}

static void
lower_ascii(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
        else if (*s == ' ')
            *s = '.';
    }
}

/* Fill `out` from a pattern: 9 -> digit, A -> letter. */
static void
fill_pattern(char *out, size_t outlen, const char *pat, uint64_t h)
{
    size_t i;

    for (i = 0; pat[i] != '\0' && i + 1 < outlen; i++) {
        h = mix64(h, i);
        if (pat[i] == '9')
            out[i] = (char)('0' + h % 10);
        else if (pat[i] == 'A')
            out[i] = (char)('A' + h % 26);
        else
            out[i] = pat[i];
    }
    out[i] = '\0';
}

static void
make_ipv4(char *out, size_t outlen, const struct country *c, uint64_t h)
{
    struct sb b = sb_at(out, outlen);
    uint64_t x = mix64(h, 1);

    sb_u64(&b, c->v4[h % 4]);
    sb_mem(&b, ".", 1);
    sb_u64(&b, x & 0xff);
    sb_mem(&b, ".", 1);
    sb_u64(&b, (x >> 8) & 0xff);
    sb_mem(&b, ".", 1);
    sb_u64(&b, 1 + (x >> 16) % 254);
}

static void
make_ipv6(char *out, size_t outlen, const struct country *c, uint64_t h)
{
    snprintf(out, outlen, "%s:%x:%x:%x:%x:%x:%x", c->v6,
        (unsigned)(mix64(h, 1) & 0xffff), (unsigned)(mix64(h, 2) & 0xffff),
        (unsigned)(mix64(h, 3) & 0xffff), (unsigned)(mix64(h, 4) & 0xffff),
        (unsigned)(mix64(h, 5) & 0xffff), (unsigned)(mix64(h, 6) & 0xffff));
}

/* A card number with a valid Luhn check digit. */
static void
make_card(struct card *cd, uint64_t h)
{
    unsigned brand = (unsigned)(h % 10);
    size_t len = 16, i;
    int sum = 0;
    struct sb b;

    if (brand < 5) {
        cd->number[0] = '4';
        i = 1;
    } else if (brand < 9) {
        cd->number[0] = '5';
        cd->number[1] = (char)('1' + mix64(h, 1) % 5);
        i = 2;
    } else {
        cd->number[0] = '3';
        cd->number[1] = mix64(h, 1) % 2 ? '4' : '7';
        i = 2;
        len = 15;
    }
    for (; i < len - 1; i++)
        cd->number[i] = (char)('0' + mix64(h, 10 + i) % 10);
    /* Luhn: double every second digit from the right, check digit last. */
    for (size_t k = 0; k < len - 1; k++) {
        int d = cd->number[len - 2 - k] - '0';

        if (k % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    cd->number[len - 1] = (char)('0' + (10 - sum % 10) % 10);
    cd->number[len] = '\0';
    memcpy(cd->bin, cd->number, 6);
    cd->bin[6] = '\0';
    memcpy(cd->last4, cd->number + len - 4, 5);
    b = sb_at(cd->fp, sizeof(cd->fp));
    sb_mem(&b, "fp_", 3);
    sb_hex(&b, mix64(h, 0xcafe), 16);
    cd->full = mix64(h, 2) % 10 < 4;
}

static void
make_addr(struct addr *a, const struct country *c, const char *name, uint64_t h)
{
    struct sb b = sb_at(a->name, sizeof(a->name));

    sb_str(&b, name);
    b = sb_at(a->street, sizeof(a->street));
    sb_u64(&b, 1 + h % 240);
    sb_mem(&b, " ", 1);
    sb_str(&b, PICK(c->streets, mix64(h, 1)));
    b = sb_at(a->city, sizeof(a->city));
    sb_str(&b, PICK(c->cities, mix64(h, 2)));
    fill_pattern(a->postal, sizeof(a->postal), c->postal, mix64(h, 3));
    a->country = c->cc;
}

/*
 * Derive the contact, address and card details of person `p` (made by
 * person_make): only signups and orders need them, so visits and logins
 * skip the cost.
 */
static void
person_details(struct person *p)
{
    uint64_t h = p->h;
    const char *first = PICK(first_names, mix64(h, 11));
    const char *last = PICK(last_names, mix64(h, 12));
    const char *dom;
    char local[64];
    uint64_t hd = mix64(h, 13);
    struct sb b = sb_at(p->name, sizeof(p->name));


    sb_str(&b, first);
    sb_mem(&b, " ", 1);
    sb_str(&b, last);
    if (p->fraud)
        dom = PICK(disposable_domains, hd);
    else if (hd % 5 == 0)
        dom = p->c->mail;
    else
        dom = PICK(mail_domains, hd >> 8);
    b = sb_at(local, sizeof(local));
    sb_str(&b, first);
    sb_mem(&b, ".", 1);
    sb_str(&b, last);
    sb_u64(&b, mix64(h, 14) % 1000);
    lower_ascii(local);
    b = sb_at(p->email, sizeof(p->email));
    sb_str(&b, local);
    sb_mem(&b, "@", 1);
    sb_str(&b, dom);
    b = sb_at(p->phone, sizeof(p->phone));
    sb_mem(&b, "+", 1);
    sb_str(&b, p->c->phone);
    sb_u64(&b, 100000000 + mix64(h, 15) % 900000000);
    make_addr(&p->home, p->c, p->name, mix64(h, 19));
    make_card(&p->card, mix64(h, 40));
    p->age = 18 + (unsigned)(mix64(h, 41) % 60);
}

/*
 * Derive one person's country, devices and home address from `h`; call
 * person_details for the rest. `c` forces the country when not NULL.
 */
static void
person_make(const struct gen *g, struct person *p, uint64_t h,
    const struct country *c, bool fraud)
{
    p->h = h;
    p->fraud = fraud;
    p->c = c != NULL ? c : country_by_weight(g, mix64(h, 10));
    p->ndev = mix64(h, 16) % 10 < 3 ? 2 : 1;
    for (unsigned i = 0; i < p->ndev; i++) {
        uint64_t hu = mix64(h, 20 + i);
        struct sb b = sb_at(p->device[i], sizeof(p->device[i]));


        sb_mem(&b, "dv-", 3);
        sb_hex(&b, mix64(h, 30 + i), 16);
        sb_hex(&b, hu, 4);
        p->ua[i] = fraud ? &PICK(fraud_uas, hu >> 16) : &PICK(uas, hu >> 16);
    }
    p->ipv6 = mix64(h, 17) % 10 == 0;
    if (p->ipv6)
        make_ipv6(p->ip, sizeof(p->ip), p->c, mix64(h, 18));
    else
        make_ipv4(p->ip, sizeof(p->ip), p->c, mix64(h, 18));
}

/* A returning shopper of the stable population (index < POOL_SHOPPERS). */
static void
person_pool(const struct gen *g, struct person *p, uint32_t idx)
{
    struct sb b = sb_at(p->account, sizeof(p->account));

    person_make(g, p, mix64(g->pop_key, idx), NULL, false);

    sb_mem(&b, "u", 1);
    sb_hex(&b, g->pop_key, 4);
    sb_mem(&b, "-", 1);
    sb_u64(&b, idx);
}

/* A shopper who signed up in this run. */
static void
person_new(const struct gen *g, struct person *p, uint64_t k)
{
    struct sb b = sb_at(p->account, sizeof(p->account));

    person_make(g, p, mix64(g->run_key, k), NULL, false);

    sb_str(&b, g->prefix);
    sb_mem(&b, "-n", 2);
    sb_u64(&b, k);
}

/* The network side of an event by person `p` on device `dev`. */
static void
actor_of(struct gen *g, const struct person *p, unsigned dev, struct actor *a)
{
    const struct ua *ua = p->ua[dev % p->ndev];
    uint64_t r = rng_next(&g->r);
    struct sb b = sb_at(a->session, sizeof(a->session));

    sb_mem(&b, "s-", 2);
    sb_hex(&b, mix64(p->h, g->seq >> 12), 12);
    a->account = p->account;
    a->device = p->device[dev % p->ndev];
    a->ip_country = p->c->cc;
    if (ua->mobile && r % 100 < 25) {
        /* On the mobile network: another address, same country. */
        make_ipv4(a->ip, sizeof(a->ip), p->c, mix64(p->h, 50 + r % 4));
    } else if (r % 1000 < 15) {
        /* Travelling: another country now and then, honestly. */
        const struct country *o = country_other(p->c, r >> 10, false);

        make_ipv4(a->ip, sizeof(a->ip), o, r >> 20);
        a->ip_country = o->cc;
    } else {
        memcpy(a->ip, p->ip, sizeof(a->ip));
    }
    a->ua = ua->s;
    a->tz = country_tz(p->c, p->h);
    a->lang = p->c->lang;
    a->carrier = ua->mobile ? PICK(p->c->carriers, p->h >> 3) : NULL;
}

static void
enc_common(struct gen *g, struct enc *e, unsigned *n, const char *type,
    uint64_t ts, const struct actor *a)
{
    char id[48];
    struct sb b = sb_at(id, sizeof(id));

    sb_str(&b, g->prefix);
    sb_mem(&b, "-", 1);
    sb_u64(&b, g->seq);
    kv_u64(e, n, "v", SFPROTO_VERSION);
    kv_str(e, n, "type", type);
    kv_str(e, n, "id", id);
    kv_u64(e, n, "ts", ts);
    if (a->account != NULL)
        kv_str(e, n, "account", a->account);
    if (a->session[0] != '\0')
        kv_str(e, n, "session", a->session);
    if (a->device != NULL)
        kv_str(e, n, "device", a->device);
    if (a->ip[0] != '\0')
        kv_str(e, n, "ip", a->ip);
    if (a->ip_country != NULL)
        kv_str(e, n, "ip_country", a->ip_country);
    if (a->ua != NULL)
        kv_str(e, n, "ua", a->ua);
    if (a->tz != NULL)
        kv_str(e, n, "tz", a->tz);
    if (a->lang != NULL)
        kv_str(e, n, "lang", a->lang);
    if (a->carrier != NULL)
        kv_str(e, n, "carrier", a->carrier);
}

static void
enc_addr(struct enc *e, unsigned *n, const char *key, const struct addr *ad)
{
    unsigned m = 0;
    size_t off;

    pk_str(e, key);
    off = map_begin(e);
    kv_str(e, &m, "name", ad->name);
    kv_str(e, &m, "street", ad->street);
    kv_str(e, &m, "city", ad->city);
    kv_str(e, &m, "postal", ad->postal);
    kv_str(e, &m, "country", ad->country);
    map_end(e, off, m);
    (*n)++;
}

static void
enc_card(struct enc *e, unsigned *n, const struct card *cd)
{
    unsigned m = 0;
    size_t off;

    pk_str(e, "card");
    off = map_begin(e);
    if (cd->full) {
        kv_str(e, &m, "number", cd->number);
    } else {
        kv_str(e, &m, "bin", cd->bin);
        kv_str(e, &m, "last4", cd->last4);
        kv_str(e, &m, "fingerprint", cd->fp);
    }
    map_end(e, off, m);
    (*n)++;
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
amount_minor(const struct country *c, double eur)
{
    double v = eur * c->fx * c->minor;

    if (v < 1.0)
        v = 1.0;
    if (v > 1e11)
        v = 1e11;
    return (uint64_t)llround(v);
}

struct order_spec {
    const struct person *p;
    const struct actor *a;
    double eur;
    unsigned items;
    const struct addr *billing;
    const struct addr *shipping;
    const struct card *card;
    enum pattern pat;
    double pay_ok; /* chance the payment succeeds */
    const char *email;
};

static void
ev_order(struct gen *g, struct enc *e, uint64_t ts, const struct order_spec *os,
    struct evinfo *info)
{
    unsigned n = 0;
    size_t off = map_begin(e);
    struct pending pd;
    struct sb b = sb_at(info->order, sizeof(info->order));

    info->is_order = true;
    info->pat = os->pat;
    info->c = os->p->c;
    info->amount = amount_minor(os->p->c, os->eur);
    sb_str(&b, g->prefix);
    sb_mem(&b, "-o", 2);
    sb_u64(&b, g->norders++);
    enc_common(g, e, &n, "order.placed", ts, os->a);
    kv_str(e, &n, "order", info->order);
    kv_u64(e, &n, "amount", info->amount);
    kv_str(e, &n, "currency", os->p->c->currency);
    kv_u64(e, &n, "items", os->items);
    enc_card(e, &n, os->card);
    enc_addr(e, &n, "billing", os->billing);
    enc_addr(e, &n, "shipping", os->shipping);
    kv_str(e, &n, "email", os->email);
    map_end(e, off, n);

    memset(&pd, 0, sizeof(pd));
    snprintf(pd.account, sizeof(pd.account), "%s", os->p->account);
    memcpy(pd.order, info->order, sizeof(pd.order));
    pd.ok = rng_chance(&g->r, os->pay_ok);
    pd.reason = pd.ok ? "" : PICK(decline_reasons, rng_next(&g->r));
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
ev_device_seen(struct gen *g, struct enc *e, uint64_t ts, const struct actor *a)
{
    unsigned n = 0;
    size_t off = map_begin(e);

    enc_common(g, e, &n, "device.seen", ts, a);
    map_end(e, off, n);
}

static void
ev_signup(struct gen *g, struct enc *e, uint64_t ts, const struct actor *a,
    const struct person *p, const char *source)
{
    unsigned n = 0;
    size_t off = map_begin(e);

    enc_common(g, e, &n, "account.signup", ts, a);
    kv_str(e, &n, "email", p->email);
    kv_str(e, &n, "phone", p->phone);
    kv_str(e, &n, "name", p->name);
    kv_str(e, &n, "source", source);
    kv_u64(e, &n, "age", p->age);
    kv_str(e, &n, "referrer", PICK(referrers, p->h >> 5));
    map_end(e, off, n);
}

static void
ev_login(struct gen *g, struct enc *e, uint64_t ts, const struct actor *a,
    bool ok, const char *method)
{
    unsigned n = 0;
    size_t off = map_begin(e);

    enc_common(g, e, &n, "account.login", ts, a);
    kv_bool(e, &n, "ok", ok);
    kv_str(e, &n, "method", method);
    map_end(e, off, n);
}

static void
ev_pending(struct gen *g, struct enc *e, uint64_t ts)
{
    struct pending *pd = &g->pend[g->pend_head];
    struct actor a;
    unsigned n = 0;
    size_t off;

    g->pend_head = (g->pend_head + 1) % PEND_RING;
    g->pend_len--;
    memset(&a, 0, sizeof(a));
    off = map_begin(e);
    if (pd->is_label) {
        enc_common(g, e, &n, "label", ts, &a);
        if (pd->order[0] != '\0')
            kv_str(e, &n, "order", pd->order);
        else
            kv_str(e, &n, "account", pd->account);
        kv_bool(e, &n, "fraud", pd->ok);
        kv_str(e, &n, "source", "chargeback");
    } else {
        a.account = pd->account;
        enc_common(g, e, &n, "payment.result", ts, &a);
        kv_str(e, &n, "order", pd->order);
        kv_bool(e, &n, "ok", pd->ok);
        if (!pd->ok)
            kv_str(e, &n, "reason", pd->reason);
    }
    map_end(e, off, n);
}

/* Pick a returning shopper: mostly the skewed stable pool, some new. */
static void
pick_shopper(struct gen *g, struct person *p)
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
gen_normal(struct gen *g, struct enc *e, uint64_t ts, struct evinfo *info)
{
    struct person p;
    struct actor a;
    unsigned x;

    if (!g->orders_only && g->pend_len > 0 && rng_chance(&g->r, 0.45)) {
        ev_pending(g, e, ts);
        return;
    }
    x = g->orders_only ? 99 : rng_below(&g->r, 100);
    if (x < 6) {
        person_new(g, &p, g->nnew);
        person_details(&p);
        g->nnew++;
        actor_of(g, &p, 0, &a);
        ev_signup(g, e, ts, &a, &p, PICK(signup_sources, p.h >> 7));
        return;
    }
    pick_shopper(g, &p);
    actor_of(g, &p, (unsigned)rng_below(&g->r, 2), &a);
    if (x < 60) {
        ev_device_seen(g, e, ts, &a);
    } else if (x < 83) {
        ev_login(g, e, ts, &a, rng_chance(&g->r, 0.95),
            PICK(login_methods, p.h >> 9));
    } else {
        struct order_spec os;
        struct addr gift;

        person_details(&p);
        os = (struct order_spec){
            .p = &p,
            .a = &a,
            .eur = normal_eur(g),
            .items = normal_items(g),
            .billing = &p.home,
            .shipping = &p.home,
            .card = &p.card,
            .pat = PAT_NORMAL,
            .pay_ok = 0.94,
            .email = p.email,
        };
        if (rng_chance(&g->r, 0.08)) {
            /* A gift: shipped to someone else in the same country. */
            make_addr(&gift, p.c, PICK(first_names, rng_next(&g->r)),
                rng_next(&g->r));
            os.shipping = &gift;
        }
        ev_order(g, e, ts, &os, info);
    }
}

static void
camp_start(struct gen *g)
{
    struct campaign *c = &g->camp;
    uint64_t h = rng_next(&g->r);
    unsigned k = rng_below(&g->r, 100);

    memset(c, 0, sizeof(*c));
    if (k < 35)
        c->kind = PAT_CARD_TESTING;
    else if (k < 55)
        c->kind = g->orders_only ? PAT_CARD_TESTING : PAT_ACCOUNT_FARM;
    else if (k < 80)
        c->kind = PAT_COUNTRY_MISMATCH;
    else
        c->kind = PAT_NEW_BIG;

    person_make(g, &c->p, mix64(g->run_key ^ 0xf00dULL, h), NULL, true);
    person_details(&c->p);
    switch (c->kind) {
    case PAT_CARD_TESTING:
        c->left = 20 + (int)rng_below(&g->r, 40);
        snprintf(c->p.account, sizeof(c->p.account), "%s-f%" PRIu64, g->prefix,
            g->nfarm++);
        break;
    case PAT_ACCOUNT_FARM:
        c->left = 10 + (int)rng_below(&g->r, 20);
        break;
    case PAT_COUNTRY_MISMATCH:
        /* A taken-over account of the stable population. */
        person_pool(g, &c->p, rng_below(&g->r, POOL_SHOPPERS));
        person_details(&c->p);
        c->left = 2 + (int)rng_below(&g->r, 5);
        break;
    default:
        c->left = g->orders_only ? 1 : 2;
        snprintf(c->p.account, sizeof(c->p.account), "%s-f%" PRIu64, g->prefix,
            g->nfarm++);
        break;
    }
    /* Abroad, often from a usual fraud origin; a new big spender may
     * also be at home. */
    if (c->kind == PAT_NEW_BIG && rng_chance(&g->r, 0.5))
        c->origin = c->p.c;
    else
        c->origin = country_other(c->p.c, h >> 8, rng_chance(&g->r, 0.6));
    c->ship = country_other(c->p.c, h >> 16, false);
    c->ua = &PICK(fraud_uas, h >> 24);
    make_ipv4(c->ip, sizeof(c->ip), c->origin, mix64(h, 99));
    snprintf(c->device, sizeof(c->device), "dv-%016" PRIx64 "%04x",
        mix64(h, 98), (unsigned)(h & 0xffff));
}

/* The fraudster's network side: one device, one IP abroad. */
static void
camp_actor(struct gen *g, struct campaign *c, struct actor *a)
{
    memset(a, 0, sizeof(*a));
    a->account = c->p.account;
    snprintf(a->session, sizeof(a->session), "s-%012" PRIx64,
        mix64(c->p.h, c->step) & UINT64_C(0xffffffffffff));
    a->device = c->device;
    memcpy(a->ip, c->ip, sizeof(a->ip));
    a->ip_country = c->origin->cc;
    a->ua = c->ua->s;
    a->tz = country_tz(c->origin, c->p.h);
    a->lang = rng_chance(&g->r, 0.5) ? c->origin->lang : "en-US";
}

static void
gen_fraud(struct gen *g, struct enc *e, uint64_t ts, struct evinfo *info)
{
    struct campaign *c = &g->camp;
    struct actor a;
    struct pending pd;

    if (c->left <= 0)
        camp_start(g);
    camp_actor(g, c, &a);
    info->pat = c->kind;
    c->left--;
    c->step++;
    switch (c->kind) {
    case PAT_CARD_TESTING: {
        struct order_spec os = {
            .p = &c->p,
            .a = &a,
            .eur = 1.0 + rng_unit(&g->r) * 4.0,
            .items = 1,
            .billing = &c->p.home,
            .shipping = &c->p.home,
            .card = &c->p.card,
            .pat = PAT_CARD_TESTING,
            .pay_ok = 0.15,
            .email = c->p.email,
        };

        ev_order(g, e, ts, &os, info);
        if (c->left == 0) {
            memset(&pd, 0, sizeof(pd));
            pd.is_label = true;
            pd.ok = true;
            snprintf(pd.account, sizeof(pd.account), "%s", c->p.account);
            pend_push(g, &pd);
        }
        break;
    }
    case PAT_ACCOUNT_FARM: {
        /* A fresh identity per signup, all on one device and IP. */
        struct person fp;

        person_make(g, &fp, mix64(c->p.h, c->step), c->p.c, true);
        person_details(&fp);
        snprintf(fp.account, sizeof(fp.account), "%s-f%" PRIu64, g->prefix,
            g->nfarm++);
        a.account = fp.account;
        if (c->step % 6 == 0)
            ev_login(g, e, ts, &a, true, "password");
        else
            ev_signup(g, e, ts, &a, &fp, "direct");
        break;
    }
    case PAT_COUNTRY_MISMATCH:
        if (!g->orders_only && c->step == 1) {
            ev_login(g, e, ts, &a, true, "password");
        } else {
            struct addr ship;
            struct order_spec os = {
                .p = &c->p,
                .a = &a,
                .eur = exp(log(250.0) + 0.6 * rng_normal(&g->r)),
                .items = 1 + rng_below(&g->r, 4),
                .billing = &c->p.home,
                .shipping = &ship,
                .card = &c->p.card,
                .pat = PAT_COUNTRY_MISMATCH,
                .pay_ok = 0.7,
                .email = c->p.email,
            };

            make_addr(&ship, c->ship, c->p.name, rng_next(&g->r));
            ev_order(g, e, ts, &os, info);
        }
        break;
    default:
        if (!g->orders_only && c->step == 1) {
            ev_signup(g, e, ts, &a, &c->p, "direct");
        } else {
            struct addr ship;
            struct order_spec os = {
                .p = &c->p,
                .a = &a,
                .eur = 800.0 + rng_unit(&g->r) * 4200.0,
                .items = 3 + rng_below(&g->r, 8),
                .billing = &c->p.home,
                .shipping = &ship,
                .card = &c->p.card,
                .pat = PAT_NEW_BIG,
                .pay_ok = 0.8,
                .email = c->p.email,
            };

            make_addr(&ship, rng_chance(&g->r, 0.5) ? c->p.c : c->ship,
                PICK(first_names, rng_next(&g->r)), rng_next(&g->r));
            ev_order(g, e, ts, &os, info);
        }
        break;
    }
}

/*
 * Write the next event of the stream into `o` (reset first) and describe
 * it in `info`. Returns false if it did not fit (cannot happen with
 * EV_SCRATCH bytes; checked anyway).
 */
static bool
gen_event(struct gen *g, struct obuf *o, uint64_t ts, struct evinfo *info)
{
    struct enc e;

    o->len = 0;
    o->full = false;
    e.o = o;
    memset(info, 0, sizeof(*info));
    info->seq = g->seq;
    if (g->fraud_share > 0 && rng_chance(&g->r, g->fraud_share))
        gen_fraud(g, &e, ts, info);
    else
        gen_normal(g, &e, ts, info);
    g->seq++;
    g->pat_events[info->pat]++;
    return !o->full;
}

/* A harmless visit used to check that the collector answers. */
static void
gen_probe(struct gen *g, struct obuf *o, uint64_t ts)
{
    struct enc e;
    struct person p;
    struct actor a;

    o->len = 0;
    o->full = false;
    e.o = o;
    person_pool(g, &p, 0);
    actor_of(g, &p, 0, &a);
    ev_device_seen(g, &e, ts, &a);
    g->seq++;
}

static void
gen_init(struct gen *g, uint64_t seed, double fraud_share, bool orders_only)
{
    struct timespec ts;
    unsigned cum = 0;

    memset(g, 0, sizeof(*g));
    clock_gettime(CLOCK_REALTIME, &ts);
    g->pop_key = mix64(seed, 0x5eed);
    g->run_key = mix64(g->pop_key,
        ((uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec) ^
            ((uint64_t)getpid() << 40));
    rng_seed(&g->r, mix64(seed, 0xabc));
    snprintf(g->prefix, sizeof(g->prefix), "L%010" PRIx64,
        g->run_key & UINT64_C(0xffffffffff));
    g->fraud_share = fraud_share;
    g->orders_only = orders_only;
    for (unsigned i = 0; i < N_SHOP_COUNTRIES; i++) {
        cum += countries[i].weight;
        g->cum_weight[i] = cum;
    }
}

/* -------------------------------------------------------- histogram */

/*
 * Log-linear histogram of nanosecond values: 64 linear sub-buckets per
 * power of two, so any percentile is within 1.6% of the true value.
 */
#define H_SUB_BITS 6
#define H_SUB      (1u << H_SUB_BITS)
#define H_BUCKETS  ((64 - H_SUB_BITS + 1) * H_SUB)

struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[H_BUCKETS];
};

static unsigned
hist_index(uint64_t v)
{
    unsigned e;

    if (v < H_SUB)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    return (e - H_SUB_BITS + 1) * H_SUB +
        (unsigned)((v >> (e - H_SUB_BITS)) & (H_SUB - 1));
}

static void
hist_add(struct hist *h, uint64_t v, uint64_t n)
{
    h->b[hist_index(v)] += n;
    h->count += n;
    if (v > h->max)
        h->max = v;
}

/* The value at quantile q (0..1), as a bucket midpoint, in ns. */
static uint64_t
hist_quantile(const struct hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            unsigned e, sub;
            uint64_t lo, width, mid;

            if (i < H_SUB)
                return i;
            e = i / H_SUB + H_SUB_BITS - 1;
            sub = i % H_SUB;
            lo = (uint64_t)(H_SUB + sub) << (e - H_SUB_BITS);
            width = 1ULL << (e - H_SUB_BITS);
            mid = lo + width / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

/* ----------------------------------------------------- reply reading */

/*
 * A bounded msgpack reader over one reply frame. It never allocates,
 * never reads past `end`, and limits nesting depth.
 */
struct mp {
    const uint8_t *p;
    const uint8_t *end;
};

enum mp_kind {
    MP_NIL,
    MP_BOOL,
    MP_UINT,
    MP_INT,
    MP_FLOAT,
    MP_STR,
    MP_BIN,
    MP_ARRAY,
    MP_MAP,
    MP_EXT
};

struct mp_obj {
    enum mp_kind kind;
    bool b;
    uint64_t u;
    int64_t i;
    double f;
    const uint8_t *s; /* STR, BIN, EXT bytes; borrowed from the frame */
    uint32_t len;     /* STR/BIN/EXT bytes, ARRAY elements, MAP pairs */
};

static bool
mp_be(struct mp *m, unsigned n, uint64_t *out)
{
    uint64_t v = 0;

    if ((size_t)(m->end - m->p) < n)
        return false;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | m->p[i];
    m->p += n;
    *out = v;
    return true;
}

static bool
mp_bytes(struct mp *m, struct mp_obj *o, uint64_t len)
{
    if ((uint64_t)(m->end - m->p) < len)
        return false;
    o->s = m->p;
    o->len = (uint32_t)len;
    m->p += len;
    return true;
}

/* Read one object head; strings, bins and exts are consumed whole. */
static bool
mp_next(struct mp *m, struct mp_obj *o)
{
    uint64_t v, t;
    uint8_t c;

    if (m->p >= m->end)
        return false;
    c = *m->p++;
    memset(o, 0, sizeof(*o));
    if (c <= 0x7f) {
        o->kind = MP_UINT;
        o->u = c;
        return true;
    }
    if (c >= 0xe0) {
        o->kind = MP_INT;
        o->i = (int8_t)c;
        return true;
    }
    if ((c & 0xf0) == 0x80) {
        o->kind = MP_MAP;
        o->len = c & 0x0f;
        return true;
    }
    if ((c & 0xf0) == 0x90) {
        o->kind = MP_ARRAY;
        o->len = c & 0x0f;
        return true;
    }
    if ((c & 0xe0) == 0xa0) {
        o->kind = MP_STR;
        return mp_bytes(m, o, c & 0x1f);
    }
    switch (c) {
    case 0xc0:
        o->kind = MP_NIL;
        return true;
    case 0xc2:
    case 0xc3:
        o->kind = MP_BOOL;
        o->b = c == 0xc3;
        return true;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        o->kind = MP_BIN;
        return mp_be(m, 1u << (c - 0xc4), &v) && mp_bytes(m, o, v);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        o->kind = MP_EXT;
        return mp_be(m, 1u << (c - 0xc7), &v) && mp_be(m, 1, &t) &&
            mp_bytes(m, o, v);
    case 0xca:
    case 0xcb: {
        if (!mp_be(m, c == 0xca ? 4 : 8, &v))
            return false;
        o->kind = MP_FLOAT;
        if (c == 0xca) {
            uint32_t w = (uint32_t)v;
            float fl;

            memcpy(&fl, &w, sizeof(fl));
            o->f = fl;
        } else {
            memcpy(&o->f, &v, sizeof(o->f));
        }
        return true;
    }
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        o->kind = MP_UINT;
        return mp_be(m, 1u << (c - 0xcc), &o->u);
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        unsigned n = 1u << (c - 0xd0);

        if (!mp_be(m, n, &v))
            return false;
        o->kind = MP_INT;
        if (n < 8 && (v >> (8 * n - 1)) != 0)
            v |= ~0ULL << (8 * n);
        memcpy(&o->i, &v, sizeof(o->i));
        return true;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        o->kind = MP_EXT;
        return mp_be(m, 1, &t) && mp_bytes(m, o, 1u << (c - 0xd4));
    case 0xd9:
    case 0xda:
    case 0xdb:
        o->kind = MP_STR;
        return mp_be(m, 1u << (c - 0xd9), &v) && mp_bytes(m, o, v);
    case 0xdc:
    case 0xdd:
        o->kind = MP_ARRAY;
        if (!mp_be(m, c == 0xdc ? 2 : 4, &v))
            return false;
        o->len = (uint32_t)v;
        return true;
    case 0xde:
    case 0xdf:
        o->kind = MP_MAP;
        if (!mp_be(m, c == 0xde ? 2 : 4, &v))
            return false;
        o->len = (uint32_t)v;
        return true;
    default:
        return false; /* 0xc1 is never used */
    }
}

#define MP_MAX_DEPTH 8

/* Skip the rest of an object whose head is `o`. */
static bool
mp_skip_children(struct mp *m, const struct mp_obj *o, int depth)
{
    uint64_t n;
    struct mp_obj c;

    if (o->kind != MP_ARRAY && o->kind != MP_MAP)
        return true;
    if (depth >= MP_MAX_DEPTH)
        return false;
    n = o->kind == MP_MAP ? 2ULL * o->len : o->len;
    /* Each element needs at least one byte: refuse impossible counts. */
    if (n > (uint64_t)(m->end - m->p))
        return false;
    for (uint64_t i = 0; i < n; i++) {
        if (!mp_next(m, &c) || !mp_skip_children(m, &c, depth + 1))
            return false;
    }
    return true;
}

static bool
mp_key_is(const struct mp_obj *k, const char *s)
{
    size_t n = strlen(s);

    return k->kind == MP_STR && k->len == n && memcmp(k->s, s, n) == 0;
}

static void
mp_copy_str(const struct mp_obj *o, char *out, size_t outlen)
{
    size_t n = o->len < outlen - 1 ? o->len : outlen - 1;

    memcpy(out, o->s, n);
    out[n] = '\0';
}

static bool
mp_read_reason(struct mp *m, struct reply_reason *rs)
{
    struct mp_obj o, k, v;

    if (!mp_next(m, &o) || o.kind != MP_MAP)
        return false;
    memset(rs, 0, sizeof(*rs));
    for (uint32_t i = 0; i < o.len; i++) {
        if (!mp_next(m, &k) || !mp_next(m, &v))
            return false;
        if (mp_key_is(&k, "code") && v.kind == MP_STR)
            mp_copy_str(&v, rs->code, sizeof(rs->code));
        else if (mp_key_is(&k, "text") && v.kind == MP_STR)
            mp_copy_str(&v, rs->text, sizeof(rs->text));
        else if (mp_key_is(&k, "value") && v.kind == MP_FLOAT)
            rs->value = v.f;
        else if (mp_key_is(&k, "value") && v.kind == MP_UINT)
            rs->value = (double)v.u;
        else if (mp_key_is(&k, "value") && v.kind == MP_INT)
            rs->value = (double)v.i;
        else if (!mp_skip_children(m, &v, 2))
            return false;
    }
    return true;
}

static int
code_from_name(const struct mp_obj *v)
{
    for (int rc = 0; rc >= ERR_MIN; rc--) {
        if (mp_key_is(v, err_name(rc)))
            return rc;
    }
    return ERR_INVAL;
}

/*
 * Read one reply map into `r`. `ok` is required and must agree with
 * `code` when both are present; a decision requires a score.
 */
static bool
mp_read_reply(struct mp *m, struct reply *r)
{
    struct mp_obj o, k, v;
    bool have_ok = false, ok = false, have_code = false;

    if (!mp_next(m, &o) || o.kind != MP_MAP)
        return false;
    r->id[0] = '\0';
    r->msg[0] = '\0';
    r->code = 0;
    r->has_score = false;
    r->score = 0;
    r->decision = REPLY_DECISION_NONE;
    r->nreasons = 0;
    for (uint32_t i = 0; i < o.len; i++) {
        if (!mp_next(m, &k) || !mp_next(m, &v))
            return false;
        if (mp_key_is(&k, "id") && v.kind == MP_STR) {
            mp_copy_str(&v, r->id, sizeof(r->id));
        } else if (mp_key_is(&k, "ok") && v.kind == MP_BOOL) {
            have_ok = true;
            ok = v.b;
        } else if (mp_key_is(&k, "code") && v.kind == MP_STR) {
            have_code = true;
            r->code = code_from_name(&v);
        } else if (mp_key_is(&k, "msg") && v.kind == MP_STR) {
            mp_copy_str(&v, r->msg, sizeof(r->msg));
        } else if (mp_key_is(&k, "score") && v.kind == MP_UINT) {
            if (v.u > 100)
                return false;
            r->has_score = true;
            r->score = (uint8_t)v.u;
        } else if (mp_key_is(&k, "decision") && v.kind == MP_STR) {
            if (mp_key_is(&v, "allow"))
                r->decision = REPLY_DECISION_ALLOW;
            else if (mp_key_is(&v, "review"))
                r->decision = REPLY_DECISION_REVIEW;
            else if (mp_key_is(&v, "block"))
                r->decision = REPLY_DECISION_BLOCK;
            else
                return false;
        } else if (mp_key_is(&k, "reasons") && v.kind == MP_ARRAY) {
            if (v.len > (uint32_t)(m->end - m->p))
                return false;
            for (uint32_t j = 0; j < v.len; j++) {
                struct reply_reason tmp;
                struct reply_reason *rs = r->nreasons < REPLY_MAX_REASONS ?
                    &r->reasons[r->nreasons] :
                    &tmp;

                if (!mp_read_reason(m, rs))
                    return false;
                if (rs != &tmp)
                    r->nreasons++;
            }
        } else if (!mp_skip_children(m, &v, 1)) {
            return false;
        }
    }
    if (!have_ok)
        return false;
    if (have_code && ok != (r->code == 0))
        return false;
    if (!have_code)
        r->code = ok ? 0 : ERR_INVAL;
    if (r->decision != REPLY_DECISION_NONE && !r->has_score)
        return false;
    return true;
}

/* -------------------------------------------------------- the run */

struct opts {
    const char *endpoint;
    unsigned connections;
    unsigned batch;
    double rate;         /* events/s in total; 0 = flat out */
    double duration;     /* seconds */
    uint64_t max_events; /* 0 = no limit */
    double fraud_share;
    uint64_t seed;
    bool json;
    bool orders_only;
    bool quiet;
    bool strict;
    bool dry_run;
    bool envelope; /* prefix an empty delimiter frame, like REQ */
    unsigned show;
    unsigned inflight;
    double timeout; /* seconds per request */
};

/* A request in flight. */
struct slot {
    bool used;
    uint64_t first_seq;
    uint32_t n;
    uint32_t norders;
    uint64_t t0; /* when it was (meant to be) sent, ns */
};

struct conn {
    void *sock;
    struct slot *slots;
    unsigned inflight;
    bool blocked; /* the last send hit the high-water mark */
};

/* An order remembered for --show until its reply arrives. */
struct shown {
    uint64_t seq;
    bool done;
    enum pattern pat;
    char order[48];
    uint64_t amount;
    const struct country *c;
};

struct stats {
    uint64_t sent; /* events sent */
    uint64_t requests;
    uint64_t bytes;    /* request frame bytes sent */
    uint64_t answered; /* events with a reply */
    uint64_t ok;
    uint64_t rejected;  /* replies with ok=false */
    uint64_t timeouts;  /* events whose request timed out */
    uint64_t malformed; /* reply frames we could not read */
    uint64_t lost;      /* events of requests answered by such a frame */
    uint64_t late;      /* replies to requests already timed out */
    uint64_t orders;    /* order replies (with or without score) */
    uint64_t decisions[4];
    uint64_t first_reject_code;
    struct hist all;
    struct hist order;
    struct hist tick; /* this second, for the progress line */
    uint64_t tick_answered, tick_errors;
};

struct run {
    struct opts *o;
    struct gen g;
    void *ctx;
    struct conn *conns;
    unsigned nconns;
    unsigned total_inflight;
    uint8_t *frame; /* FRAME_HDR + SFPROTO_MAX_MSG_BYTES */
    struct obuf ev; /* one encoded event */
    struct evinfo evi;
    bool carry; /* ev holds an event not yet sent */
    struct stats st;
    struct shown *show;
    unsigned nshow;
    unsigned show_printed;
    FILE *show_out;
    struct reply rep;
    int tfd;
};

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
    (void)sig;
    stop_requested = stop_requested + 1;
}

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t
wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
show_remember(struct run *r, const struct evinfo *ei)
{
    struct shown *s;

    if (r->nshow >= r->o->show)
        return;
    s = &r->show[r->nshow++];
    s->seq = ei->seq;
    s->done = false;
    s->pat = ei->pat;
    memcpy(s->order, ei->order, sizeof(s->order));
    s->amount = ei->amount;
    s->c = ei->c;
}

/*
 * Build the next request frame. Returns the frame start in `*data` and
 * its length; fills the slot's counts. A batch (B > 1) is an array even
 * when the size cap leaves a single event in it. The events of one frame
 * always have consecutive sequence numbers (a carried-over event is the
 * next one generated), which handle_reply relies on.
 */
static size_t
build_request(struct run *r, const uint8_t **data, struct slot *sl)
{
    uint8_t *body = r->frame + FRAME_HDR;
    size_t len = 0, cap = SFPROTO_MAX_MSG_BYTES - FRAME_HDR;
    uint64_t ts = wall_ms();
    uint32_t n = 0, want = r->o->batch;

    /* The last request of an --events run carries only what is left. */
    if (r->o->max_events > 0 && r->o->max_events - r->st.sent < want)
        want = (uint32_t)(r->o->max_events - r->st.sent);
    sl->norders = 0;
    while (n < want) {
        if (!r->carry) {
            if (!gen_event(&r->g, &r->ev, ts, &r->evi))
                fatalx("%s: invariant: event larger than %d bytes", __func__,
                    EV_SCRATCH);
            r->carry = true;
        }
        if (r->ev.len > cap - len)
            break;
        memcpy(body + len, r->ev.p, r->ev.len);
        len += r->ev.len;
        if (n == 0)
            sl->first_seq = r->evi.seq;
        if (r->evi.is_order) {
            sl->norders++;
            show_remember(r, &r->evi);
        }
        r->carry = false;
        n++;
    }
    sl->n = n;
    if (r->o->batch == 1) {
        *data = body;
        return len;
    }
    if (n <= 15) {
        body[-1] = (uint8_t)(0x90 | n);
        *data = body - 1;
        return len + 1;
    }
    body[-3] = 0xdc;
    body[-2] = (uint8_t)(n >> 8);
    body[-1] = (uint8_t)n;
    *data = body - 3;
    return len + 3;
}

static int
conn_send(struct run *r, struct conn *c, uint64_t t0, uint32_t *nsent)
{
    struct slot *sl = NULL;
    const uint8_t *data;
    struct iovec iov[2];
    int n = 0, rc;

    for (unsigned i = 0; i < r->o->inflight; i++) {
        if (!c->slots[i].used) {
            sl = &c->slots[i];
            break;
        }
    }
    if (sl == NULL)
        return ERR_FULL;
    if (r->o->envelope) {
        iov[n].iov_base = NULL;
        iov[n++].iov_len = 0;
    }
    iov[n].iov_len = build_request(r, &data, sl);
    iov[n++].iov_base = (void *)(uintptr_t)data;
    rc = zsock_send_parts(c->sock, iov, n, ZSOCK_DONTWAIT);
    if (rc != 0)
        goto fail;
    sl->used = true;
    sl->t0 = t0;
    c->inflight++;
    r->total_inflight++;
    r->st.sent += sl->n;
    r->st.requests++;
    r->st.bytes += iov[n - 1].iov_len;
    *nsent = sl->n;
    return 0;

fail:
    /* The events are lost to this run (ids are never reused): count them. */
    if (rc == ERR_AGAIN) {
        c->blocked = true;
        r->st.sent += sl->n;
        r->st.timeouts += sl->n;
        return ERR_AGAIN;
    }
    fprintf(stderr, PROGNAME ": send failed: %s\n", err_str(rc));
    return ERR_IO;
}

static void
print_shown(struct run *r, const struct shown *s, const struct reply *rep)
{
    FILE *f = r->show_out;
    unsigned minor = s->c->minor;

    if (minor == 1)
        fprintf(
            f, "order %s  %" PRIu64 " %s", s->order, s->amount, s->c->currency);
    else
        fprintf(f, "order %s  %" PRIu64 ".%02" PRIu64 " %s", s->order,
            s->amount / minor, s->amount % minor, s->c->currency);
    fprintf(f, "  [%s]", pattern_names[s->pat]);
    if (!rep->has_score) {
        fprintf(f, "  rejected: %s (%s)\n", err_name(rep->code), rep->msg);
        return;
    }
    fprintf(f, "  score %u  %s\n", rep->score, decision_names[rep->decision]);
    for (unsigned i = 0; i < rep->nreasons; i++)
        fprintf(f, "    - %s: %s (%g)\n", rep->reasons[i].code,
            rep->reasons[i].text, rep->reasons[i].value);
}

/* Parse "<prefix>-<seq>" of this run; false for foreign ids. */
static bool
seq_of_id(const struct run *r, const char *id, uint64_t *seq)
{
    size_t pl = strlen(r->g.prefix);
    char *end;

    if (strncmp(id, r->g.prefix, pl) != 0 || id[pl] != '-' ||
        id[pl + 1] < '0' || id[pl + 1] > '9')
        return false;
    errno = 0;
    *seq = strtoull(id + pl + 1, &end, 10);
    return errno == 0 && *end == '\0';
}

static void
note_show(struct run *r, const struct reply *rep)
{
    uint64_t seq;

    if (r->nshow == 0 || !seq_of_id(r, rep->id, &seq))
        return;
    for (unsigned i = 0; i < r->nshow; i++) {
        struct shown *s = &r->show[i];

        if (s->seq == seq && !s->done) {
            s->done = true;
            print_shown(r, s, rep);
            r->show_printed++;
            return;
        }
    }
}

static struct slot *
find_slot(struct conn *c, unsigned inflight, uint64_t seq, bool by_seq)
{
    struct slot *oldest = NULL;

    for (unsigned i = 0; i < inflight; i++) {
        struct slot *sl = &c->slots[i];

        if (!sl->used)
            continue;
        if (by_seq && sl->first_seq == seq)
            return sl;
        if (!by_seq && (oldest == NULL || sl->t0 < oldest->t0))
            oldest = sl;
    }
    return oldest;
}

static void
slot_free(struct run *r, struct conn *c, struct slot *sl)
{
    sl->used = false;
    c->inflight--;
    r->total_inflight--;
    c->blocked = false;
}

/*
 * Account one reply frame received on `c` at `t`. A frame we cannot
 * read, or whose count differs from its request, is malformed: its
 * request's events become errors.
 */
static void
handle_reply(
    struct run *r, struct conn *c, const uint8_t *p, size_t len, uint64_t t)
{
    struct mp m = { p, p + len };
    struct mp_obj head;
    struct slot *sl;
    uint32_t count = 1, good = 0, scored = 0;
    uint64_t seq = 0, lat, dec[ARRAY_LEN(r->st.decisions)] = { 0 };
    bool array, matched;
    struct reply *rep = &r->rep;

    /* Peek the first reply's id to find the request. */
    if (!mp_next(&m, &head) || (head.kind != MP_MAP && head.kind != MP_ARRAY))
        goto malformed;
    array = head.kind == MP_ARRAY;
    if (array) {
        count = head.len;
        if (count == 0 || count > SFPROTO_MAX_BATCH)
            goto malformed;
    } else {
        m.p = p;
    }
    {
        struct mp peek = m;

        if (!mp_read_reply(&peek, rep))
            goto malformed;
        matched = seq_of_id(r, rep->id, &seq);
    }
    sl = find_slot(c, r->o->inflight, seq, matched);
    if (sl == NULL || (matched && sl->first_seq != seq)) {
        /* A reply to a request that already timed out. */
        r->st.late++;
        return;
    }
    if (count != sl->n && !(count == 1 && !array && rep->id[0] == '\0'))
        goto malformed_slot;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t rseq;

        if (!mp_read_reply(&m, rep))
            goto malformed_slot;
        /* Replies come in request order: ids are consecutive here. */
        if (rep->id[0] != '\0' &&
            (!seq_of_id(r, rep->id, &rseq) || rseq != sl->first_seq + i))
            goto malformed_slot;
        if (rep->code == 0)
            good++;
        else if (r->st.first_reject_code == 0)
            r->st.first_reject_code = (uint64_t)(-rep->code);
        if (rep->has_score) {
            scored++;
            dec[rep->decision]++;
        }
        note_show(r, rep);
    }
    /* Only an order gets a score; nothing may follow the last reply. */
    if (m.p != m.end || scored > sl->norders)
        goto malformed_slot;
    for (size_t i = 0; i < ARRAY_LEN(dec); i++)
        r->st.decisions[i] += dec[i];
    /* A frame-level error reply answers every event of the request. */
    if (count == 1 && sl->n > 1) {
        count = sl->n;
        good = 0;
    }
    lat = t > sl->t0 ? t - sl->t0 : 0;
    r->st.answered += count;
    r->st.ok += good;
    r->st.rejected += count - good;
    r->st.orders += sl->norders;
    hist_add(&r->st.all, lat, count);
    hist_add(&r->st.tick, lat, count);
    if (sl->norders > 0)
        hist_add(&r->st.order, lat, sl->norders);
    r->st.tick_answered += count;
    r->st.tick_errors += count - good;
    slot_free(r, c, sl);
    return;

malformed:
    sl = find_slot(c, r->o->inflight, 0, false);
    if (sl == NULL) {
        r->st.malformed++;
        return;
    }
malformed_slot:
    r->st.malformed++;
    r->st.lost += sl->n;
    r->st.tick_errors += sl->n;
    slot_free(r, c, sl);
}

/* Receive every reply waiting on `c`. Returns 0 or ERR_IO. */
static int
conn_drain(struct run *r, struct conn *c)
{
    struct zsock_msg m;
    int rc;

    for (;;) {
        rc = zsock_recv_msg(c->sock, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return ERR_IO;
        /* The reply is the last part; empty delimiters come first. */
        handle_reply(r, c, zsock_msg_data(&m, m.nparts - 1),
            zsock_msg_size(&m, m.nparts - 1), now_ns());
        zsock_msg_close(&m);
    }
}

/* Count requests older than the timeout as errors. */
static void
expire(struct run *r, uint64_t now)
{
    uint64_t limit = (uint64_t)(r->o->timeout * (double)NS_PER_S);

    for (unsigned i = 0; i < r->nconns; i++) {
        struct conn *c = &r->conns[i];

        for (unsigned j = 0; j < r->o->inflight && c->inflight > 0; j++) {
            struct slot *sl = &c->slots[j];

            if (sl->used && now > sl->t0 && now - sl->t0 > limit) {
                r->st.timeouts += sl->n;
                r->st.tick_errors += sl->n;
                slot_free(r, c, sl);
            }
        }
    }
}

static void
progress(struct run *r, uint64_t start, uint64_t now)
{
    double t = (double)(now - start) / 1e9;

    if (!r->o->quiet)
        fprintf(stderr,
            "t=%.0fs events=%" PRIu64 " ev/s=%" PRIu64 " errors=%" PRIu64
            " p99=%.0fus inflight=%u\n",
            t, r->st.answered, r->st.tick_answered,
            r->st.rejected + r->st.timeouts + r->st.lost,
            (double)hist_quantile(&r->st.tick, 0.99) / 1e3, r->total_inflight);
    memset(&r->st.tick, 0, sizeof(r->st.tick));
    r->st.tick_answered = 0;
    r->st.tick_errors = 0;
}

/* Arm the timerfd for absolute monotonic time `at` (ns). */
static void
timer_arm(struct run *r, uint64_t at)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / NS_PER_S);
    its.it_value.tv_nsec = (long)(at % NS_PER_S);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        fatal("%s: timerfd_settime", __func__);
}

/*
 * Send one probe visit on every connection and wait for all the answers,
 * so that a missing collector is a clear environment error rather than a
 * run full of timeouts, and every pipeline is connected before timing.
 * Returns 0, 1 (a reply that is not a reply map) or 2.
 */
static int
probe(struct run *r)
{
    struct zsock_pollitem *items = xcalloc(r->nconns, sizeof(*items));
    bool *done = xcalloc(r->nconns, sizeof(*done));
    uint64_t deadline = now_ns() + 5 * NS_PER_S;
    unsigned ndone = 0;
    struct zsock_msg msg;
    int rc = 0;

    for (unsigned i = 0; i < r->nconns; i++) {
        void *s = r->conns[i].sock;
        struct iovec iov[2] = { { NULL, 0 }, { r->ev.p, 0 } };

        items[i].sock = s;
        items[i].events = ZSOCK_POLLIN;
        gen_probe(&r->g, &r->ev, wall_ms());
        iov[1].iov_len = r->ev.len;
        /* Blocking sends: a DEALER queues until it is connected. */
        if (zsock_send_parts(s, r->o->envelope ? iov : iov + 1,
                r->o->envelope ? 2 : 1, 0) != 0) {
            fprintf(stderr, PROGNAME ": cannot send to '%s'\n", r->o->endpoint);
            rc = 2;
            goto out;
        }
    }
    while (ndone < r->nconns) {
        uint64_t now = now_ns();

        if (now >= deadline || stop_requested) {
            fprintf(stderr,
                PROGNAME ": no reply from '%s' within 5 s "
                         "(%u of %u connections answered); is vigil-collector "
                         "running there?\n",
                r->o->endpoint, ndone, r->nconns);
            rc = 2;
            goto out;
        }
        rc = zsock_poll(items, (int)r->nconns,
            (long)((deadline - now) / 1000000 + 1), NULL);
        if (rc != 0 && rc != ERR_AGAIN) {
            rc = 2;
            goto out;
        }
        rc = 0;
        for (unsigned i = 0; i < r->nconns; i++) {
            void *s = r->conns[i].sock;
            struct mp m;
            bool ok;

            if (!(items[i].revents & ZSOCK_POLLIN) || done[i])
                continue;
            if (zsock_recv_msg(s, &msg, ZSOCK_DONTWAIT) != 0)
                continue;
            m.p = zsock_msg_data(&msg, msg.nparts - 1);
            m.end = m.p + zsock_msg_size(&msg, msg.nparts - 1);
            ok = mp_read_reply(&m, &r->rep) && m.p == m.end;
            zsock_msg_close(&msg);
            if (!ok) {
                fprintf(stderr,
                    PROGNAME ": the reply to the probe from "
                             "'%s' is not a reply map\n",
                    r->o->endpoint);
                rc = 1;
                goto out;
            }
            if (r->rep.code != 0 && ndone == 0)
                fprintf(stderr,
                    PROGNAME ": warning: probe event rejected:"
                             " %s: %s\n",
                    err_name(r->rep.code), r->rep.msg);
            done[i] = true;
            ndone++;
        }
    }
out:
    free(done);
    free(items);
    return rc;
}

static bool
can_send(const struct run *r)
{
    for (unsigned i = 0; i < r->nconns; i++) {
        if (!r->conns[i].blocked && r->conns[i].inflight < r->o->inflight)
            return true;
    }
    return false;
}

/*
 * Send what the pacing schedule or the pipelines allow, round robin over
 * the connections, at most a bounded number of requests so that replies
 * are read in between. Returns 0 or ERR_IO.
 */
static int
send_some(struct run *r, uint64_t now, double *next_send, unsigned *rr)
{
    struct opts *o = r->o;
    double ns_per_event = o->rate > 0 ? 1e9 / o->rate : 0;
    unsigned budget = 64, idle = 0;

    while (budget > 0 && idle < r->nconns) {
        struct conn *c = &r->conns[*rr];
        uint64_t t0 = now;
        uint32_t nsent = 0;
        int rc;

        if (o->rate > 0 && (double)now < *next_send)
            break;
        if (o->max_events > 0 && r->st.sent >= o->max_events)
            break;
        *rr = (*rr + 1) % r->nconns;
        if (c->blocked || c->inflight >= o->inflight) {
            idle++;
            continue;
        }
        if (o->rate > 0)
            t0 = (uint64_t)*next_send; /* no coordinated omission */
        rc = conn_send(r, c, t0, &nsent);
        if (rc == ERR_IO)
            return rc;
        if (o->rate > 0)
            *next_send += ns_per_event * (nsent > 0 ? nsent : o->batch);
        budget--;
        idle = 0;
    }
    return 0;
}

/*
 * The main loop: keep every connection's pipeline full (or follow the
 * pacing schedule), read replies, expire timeouts once a second, print
 * progress. Sleeps in zsock_poll on the sockets and a timerfd.
 */
static int
run_loop(struct run *r, uint64_t *elapsed)
{
    struct opts *o = r->o;
    struct zsock_pollitem *items = xcalloc(r->nconns + 1, sizeof(*items));
    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(o->duration * (double)NS_PER_S);
    uint64_t next_tick = start + NS_PER_S, armed = 0, stop_at = 0;
    uint64_t drain_limit = (uint64_t)(o->timeout * (double)NS_PER_S);
    double next_send = (double)start;
    unsigned rr = 0;
    bool stopping = false;
    int rc = 0;

    for (unsigned i = 0; i < r->nconns; i++) {
        items[i].sock = r->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
    }
    items[r->nconns].fd = r->tfd;
    items[r->nconns].events = ZSOCK_POLLIN;

    for (;;) {
        uint64_t now = now_ns(), deadline;
        bool room;
        long ms = -1;

        if (!stopping &&
            (now >= end || stop_requested ||
                (o->max_events > 0 && r->st.sent >= o->max_events))) {
            stopping = true;
            stop_at = now;
        }
        if (stopping &&
            (r->total_inflight == 0 || now - stop_at > drain_limit ||
                stop_requested > 1))
            break;
        if (!stopping) {
            rc = send_some(r, now, &next_send, &rr);
            if (rc != 0)
                goto out;
        }
        if (now >= next_tick) {
            expire(r, now);
            for (unsigned i = 0; i < r->nconns; i++)
                r->conns[i].blocked = false;
            progress(r, start, now);
            next_tick += NS_PER_S;
        }

        /* Sleep until a reply, the next paced send, the end or a tick. */
        room = !stopping && can_send(r);
        deadline = next_tick;
        if (stopping && stop_at + drain_limit < deadline)
            deadline = stop_at + drain_limit;
        if (!stopping && end < deadline)
            deadline = end;
        if (room && o->rate > 0 && (uint64_t)next_send < deadline)
            deadline = (uint64_t)next_send;
        if ((room && o->rate == 0) || deadline <= now_ns()) {
            ms = 0;
        } else if (deadline != armed) {
            timer_arm(r, deadline);
            armed = deadline;
        }
        rc = zsock_poll(items, (int)r->nconns + 1, ms, NULL);
        if (rc != 0 && rc != ERR_AGAIN) {
            fprintf(stderr, PROGNAME ": poll failed: %s\n", err_str(rc));
            rc = ERR_IO;
            goto out;
        }
        rc = 0;
        if (items[r->nconns].revents & ZSOCK_POLLIN) {
            uint64_t expirations;

            if (read(r->tfd, &expirations, sizeof(expirations)) < 0 &&
                errno != EAGAIN)
                fatal("%s: read timerfd", __func__);
            armed = 0;
        }
        for (unsigned i = 0; i < r->nconns; i++) {
            if (items[i].revents & ZSOCK_POLLIN) {
                rc = conn_drain(r, &r->conns[i]);
                if (rc != 0)
                    goto out;
            }
        }
    }
    /* Whatever is still out after the drain period timed out. */
    expire(r, UINT64_MAX);
out:
    *elapsed = now_ns() - start;
    free(items);
    return rc;
}

/* Generate and encode only, for the generator's own ceiling. */
static void
dry_run(struct run *r, uint64_t *elapsed)
{
    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(r->o->duration * (double)NS_PER_S);
    struct slot sl;
    const uint8_t *data;

    while (!stop_requested) {
        for (int i = 0; i < 64; i++) {
            if (r->o->max_events > 0 && r->st.sent >= r->o->max_events)
                break;
            r->st.bytes += build_request(r, &data, &sl);
            r->st.sent += sl.n;
            r->st.requests++;
            r->st.answered += sl.n;
            r->st.ok += sl.n;
            r->st.orders += sl.norders;
        }
        if (now_ns() >= end ||
            (r->o->max_events > 0 && r->st.sent >= r->o->max_events))
            break;
    }
    *elapsed = now_ns() - start;
}

static double
us(uint64_t ns)
{
    return (double)ns / 1e3;
}

static void
report(struct run *r, uint64_t elapsed)
{
    struct stats *st = &r->st;
    struct opts *o = r->o;
    double secs = (double)elapsed / 1e9;
    double eps = secs > 0 ? (double)st->answered / secs : 0;
    uint64_t errors = st->rejected + st->timeouts + st->lost;

    if (!o->json || !o->quiet) {
        FILE *f = o->json ? stderr : stdout;

        fprintf(f,
            "%s: %" PRIu64 " events in %.2f s over %u connection%s, "
            "batch %u, %s\n",
            o->endpoint, st->answered, secs, r->nconns,
            r->nconns == 1 ? "" : "s", o->batch,
            o->rate > 0 ? "paced" : "flat out");
        fprintf(f, "  throughput  %.0f events/s (%" PRIu64 " requests)\n", eps,
            st->requests);
        fprintf(f,
            "  errors      %" PRIu64 " (rejected %" PRIu64
            ", timed out %" PRIu64 ", answered by malformed frames %" PRIu64
            "; malformed frames %" PRIu64 ", late replies %" PRIu64 ")\n",
            errors, st->rejected, st->timeouts, st->lost, st->malformed,
            st->late);
        if (st->rejected > 0)
            fprintf(f, "  first rejection code: %s\n",
                err_name(-(int)st->first_reject_code));
        fprintf(f,
            "  ack latency p50 %.0f us  p99 %.0f us  p99.9 %.0f us  "
            "max %.0f us\n",
            us(hist_quantile(&st->all, 0.5)), us(hist_quantile(&st->all, 0.99)),
            us(hist_quantile(&st->all, 0.999)), us(st->all.max));
        fprintf(f,
            "  orders      %" PRIu64 ": p50 %.0f us  p99 %.0f us  "
            "p99.9 %.0f us\n",
            st->orders, us(hist_quantile(&st->order, 0.5)),
            us(hist_quantile(&st->order, 0.99)),
            us(hist_quantile(&st->order, 0.999)));
        fprintf(f,
            "  decisions   allow %" PRIu64 "  review %" PRIu64
            "  block %" PRIu64 "\n",
            st->decisions[REPLY_DECISION_ALLOW],
            st->decisions[REPLY_DECISION_REVIEW],
            st->decisions[REPLY_DECISION_BLOCK]);
        fprintf(f,
            "  generated   normal %" PRIu64 "; fraud: card testing %" PRIu64
            ", account farm %" PRIu64 ", country mismatch %" PRIu64
            ", new account big %" PRIu64 "\n",
            r->g.pat_events[PAT_NORMAL], r->g.pat_events[PAT_CARD_TESTING],
            r->g.pat_events[PAT_ACCOUNT_FARM],
            r->g.pat_events[PAT_COUNTRY_MISMATCH],
            r->g.pat_events[PAT_NEW_BIG]);
    }
    if (o->json) {
        printf("{\"events\":%" PRIu64 ",\"errors\":%" PRIu64
               ",\"events_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f"
               ",\"p999_us\":%.1f,\"max_us\":%.1f,\"orders\":%" PRIu64
               ",\"order_p50_us\":%.1f,\"order_p99_us\":%.1f"
               ",\"order_p999_us\":%.1f,\"decisions\":{\"allow\":%" PRIu64
               ",\"review\":%" PRIu64 ",\"block\":%" PRIu64 "}"
               ",\"connections\":%u,\"batch\":%u,\"rate\":%.0f"
               ",\"duration_s\":%.3f,\"sent\":%" PRIu64 ",\"rejected\":%" PRIu64
               ",\"timeouts\":%" PRIu64 ",\"malformed\":%" PRIu64
               ",\"malformed_events\":%" PRIu64 ",\"late\":%" PRIu64
               ",\"bytes_per_event\":%.1f"
               ",\"seed\":%" PRIu64 "}\n",
            st->answered, errors, eps, us(hist_quantile(&st->all, 0.5)),
            us(hist_quantile(&st->all, 0.99)),
            us(hist_quantile(&st->all, 0.999)), us(st->all.max), st->orders,
            us(hist_quantile(&st->order, 0.5)),
            us(hist_quantile(&st->order, 0.99)),
            us(hist_quantile(&st->order, 0.999)),
            st->decisions[REPLY_DECISION_ALLOW],
            st->decisions[REPLY_DECISION_REVIEW],
            st->decisions[REPLY_DECISION_BLOCK], r->nconns, o->batch, o->rate,
            secs, st->sent, st->rejected, st->timeouts, st->malformed, st->lost,
            st->late, st->sent > 0 ? (double)st->bytes / (double)st->sent : 0.0,
            o->seed);
    }
    fflush(stdout);
}

/* -------------------------------------------------------- options */

NORETURN static void
usage(void)
{
    fprintf(stderr,
        "usage: " PROGNAME " [--endpoint E] [--connections N] [--batch B]\n"
        "       [--rate R] [--duration S] [--events N] [--fraud-share F]\n"
        "       [--seed N] [--inflight N] [--timeout S] [--show N]\n"
        "       [--orders-only] [--json] [--quiet] [--strict] [--req]\n"
        "       [--dry-run]\n");
    exit(2);
}

static bool
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

static bool
parse_double(const char *s, double min, double max, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out) &&
        *out >= min && *out <= max;
}

static void
bad_opt(const char *name, const char *val, const char *rule)
{
    fprintf(stderr, PROGNAME ": --%s '%s': %s\n", name, val, rule);
    exit(2);
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {
        { "batch", required_argument, NULL, 'b' },
        { "connections", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 'd' },
        { "endpoint", required_argument, NULL, 'e' },
        { "fraud-share", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "inflight", required_argument, NULL, 'i' },
        { "json", no_argument, NULL, 'j' },
        { "events", required_argument, NULL, 'n' },
        { "orders-only", no_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "rate", required_argument, NULL, 'r' },
        { "req", no_argument, NULL, 'R' },
        { "seed", required_argument, NULL, 's' },
        { "show", required_argument, NULL, 'S' },
        { "strict", no_argument, NULL, 'x' },
        { "timeout", required_argument, NULL, 't' },
        { "dry-run", no_argument, NULL, 'D' },
        { NULL, 0, NULL, 0 },
    };
    uint64_t u;
    int ch;

    memset(o, 0, sizeof(*o));
    o->endpoint = "tcp://127.0.0.1:7010";
    o->connections = 1;
    o->batch = 1;
    o->duration = 10;
    o->fraud_share = 0.05;
    o->seed = 1;
    o->inflight = 0;
    o->timeout = 5;

    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            if (!parse_u64(optarg, 1, SFPROTO_MAX_BATCH, &u))
                bad_opt("batch", optarg, "must be 1..1000");
            o->batch = (unsigned)u;
            break;
        case 'c':
            if (!parse_u64(optarg, 1, MAX_CONNECTIONS, &u))
                bad_opt("connections", optarg, "must be 1..256");
            o->connections = (unsigned)u;
            break;
        case 'd':
            if (!parse_double(optarg, 0.01, 86400, &o->duration))
                bad_opt("duration", optarg, "must be 0.01..86400 seconds");
            break;
        case 'e':
            o->endpoint = optarg;
            break;
        case 'f':
            if (!parse_double(optarg, 0, 1, &o->fraud_share))
                bad_opt("fraud-share", optarg, "must be 0..1");
            break;
        case 'i':
            if (!parse_u64(optarg, 1, MAX_INFLIGHT, &u))
                bad_opt("inflight", optarg, "must be 1..1024");
            o->inflight = (unsigned)u;
            break;
        case 'j':
            o->json = true;
            break;
        case 'n':
            if (!parse_u64(optarg, 1, UINT64_MAX / 2, &o->max_events))
                bad_opt("events", optarg, "must be a positive count");
            break;
        case 'o':
            o->orders_only = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'r':
            if (!parse_double(optarg, 0, 1e8, &o->rate))
                bad_opt("rate", optarg, "must be 0 (flat out) or events/s");
            break;
        case 'R':
            o->envelope = true;
            break;
        case 's':
            if (!parse_u64(optarg, 0, UINT64_MAX, &o->seed))
                bad_opt("seed", optarg, "must be an unsigned integer");
            break;
        case 'S':
            if (!parse_u64(optarg, 0, MAX_SHOW, &u))
                bad_opt("show", optarg, "must be 0..1000");
            o->show = (unsigned)u;
            break;
        case 't':
            if (!parse_double(optarg, 0.01, 600, &o->timeout))
                bad_opt("timeout", optarg, "must be 0.01..600 seconds");
            break;
        case 'x':
            o->strict = true;
            break;
        case 'D':
            o->dry_run = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    if (o->inflight == 0) {
        /* Deep enough to keep a group-committing service busy, shallow
         * enough that big batches do not queue for seconds. */
        o->inflight = INFLIGHT_EVENTS / o->batch;
        if (o->inflight > DEFAULT_INFLIGHT)
            o->inflight = DEFAULT_INFLIGHT;
        if (o->inflight < 2)
            o->inflight = 2;
    }
}

/* ----------------------------------------------------------- main */

static int
open_conns(struct run *r)
{
    r->ctx = zsock_ctx_new();
    if (r->ctx == NULL)
        return 2;
    r->conns = xcalloc(r->o->connections, sizeof(*r->conns));
    for (unsigned i = 0; i < r->o->connections; i++) {
        struct conn *c = &r->conns[i];

        c->slots = xcalloc(r->o->inflight, sizeof(*c->slots));
        if (zsock_open(r->ctx, ZSOCK_DEALER, &c->sock) != 0)
            return 2;
        r->nconns++;
        /* zsock logs the reason, naming the endpoint. */
        if (zsock_connect(c->sock, r->o->endpoint) != 0)
            return 2;
    }
    return 0;
}

static void
close_conns(struct run *r)
{
    for (unsigned i = 0; i < r->nconns; i++)
        zsock_close(r->conns[i].sock);
    if (r->conns != NULL) {
        for (unsigned i = 0; i < r->o->connections; i++)
            free(r->conns[i].slots);
    }
    free(r->conns);
    zsock_ctx_term(r->ctx);
}

int
main(int argc, char **argv)
{
    struct opts o;
    struct run r;
    struct sigaction sa;
    uint64_t elapsed = 0;
    int rc, status = 0;

    log_init(PROGNAME, true);
    parse_args(argc, argv, &o);
    if (sodium_init() < 0) {
        fprintf(stderr, PROGNAME ": sodium_init failed\n");
        return 2;
    }
    memset(&r, 0, sizeof(r));
    r.o = &o;
    r.tfd = -1;
    gen_init(&r.g, o.seed, o.fraud_share, o.orders_only);
    r.frame = xmalloc(FRAME_HDR + SFPROTO_MAX_MSG_BYTES);
    r.ev.p = xmalloc(EV_SCRATCH);
    r.ev.cap = EV_SCRATCH;
    r.show = o.show > 0 ? xcalloc(o.show, sizeof(*r.show)) : NULL;
    r.show_out = o.json ? stderr : stdout;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (o.dry_run) {
        dry_run(&r, &elapsed);
        report(&r, elapsed);
        goto done;
    }
    r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r.tfd < 0) {
        fprintf(stderr, PROGNAME ": timerfd_create: %s\n", strerror(errno));
        status = 2;
        goto done;
    }
    status = open_conns(&r);
    if (status != 0)
        goto done;
    status = probe(&r);
    if (status != 0)
        goto done;
    rc = run_loop(&r, &elapsed);
    report(&r, elapsed);
    if (rc != 0)
        status = 2;
    else if (r.st.malformed > 0)
        status = 1;
    else if (o.strict && r.st.rejected + r.st.timeouts + r.st.lost > 0)
        status = 1;

done:
    close_conns(&r);
    if (r.tfd >= 0)
        close(r.tfd);
    /* The frames held synthetic personal data: wipe them all the same. */
    sodium_memzero(r.frame, FRAME_HDR + SFPROTO_MAX_MSG_BYTES);
    sodium_memzero(r.ev.p, EV_SCRATCH);
    free(r.frame);
    free(r.ev.p);
    free(r.show);
    return status;
}
