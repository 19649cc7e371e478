/*
 * world.c - vigil-load's world: the tables, and the people made from them
 *
 * The tables are rough but plausible: currencies and exchange rates,
 * time zones, IPv4 first octets and IPv6 prefixes of real national
 * blocks, city and street names, postal code patterns, mobile carriers
 * and mail providers of 15 shopping countries and 5 fraud origins. A
 * person is a pure function of one hash (see world.h); gen.c calls
 * these for every visit, signup and order it generates.
 *
 * Invariants:
 *  - strings are composed with sb.h or copied with TEXT_COPY: always
 *    NUL-terminated, never longer than their array.
 *
 * See also: world.h, gen.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/compiler.h"
#include "common/text.h"
#include "tools/vigil-load/rng.h"
#include "tools/vigil-load/sb.h"
#include "tools/vigil-load/world.h"

/* Pick from a static list by a hash value. */
#define PICK(arr, h) ((arr)[(h) % ARRAY_LEN(arr)])

/* ------------------------------------------------------------ tables */

static const struct world_country countries[] = {
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


static const struct world_ua uas[] = {
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

static const struct world_ua fraud_uas[] = {
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

/* --------------------------------------------------------- countries */

void
world_init(struct world *w)
{
    unsigned cum = 0;

    for (unsigned i = 0; i < WORLD_SHOP_COUNTRIES; i++) {
        cum += countries[i].weight;
        w->cum_weight[i] = cum;
    }
}

const struct world_country *
world_country_by_weight(const struct world *w, uint64_t h)
{
    unsigned total = w->cum_weight[WORLD_SHOP_COUNTRIES - 1];
    unsigned x = (unsigned)(h % total);

    for (unsigned i = 0; i < WORLD_SHOP_COUNTRIES; i++) {
        if (x < w->cum_weight[i])
            return &countries[i];
    }
    return &countries[0];
}

const struct world_country *
world_country_other(
    const struct world_country *c, uint64_t h, bool fraud_origin)
{
    const struct world_country *o;

    do {
        if (fraud_origin)
            o = &countries[WORLD_SHOP_COUNTRIES +
                h % (ARRAY_LEN(countries) - WORLD_SHOP_COUNTRIES)];
        else
            o = &countries[h % WORLD_SHOP_COUNTRIES];
        h = rng_mix64(h, 7);
    } while (o == c);
    return o;
}

const char *
world_country_tz(const struct world_country *c, uint64_t h)
{
    unsigned n = 0;

    while (n < 3 && c->tz[n] != NULL)
        n++;
    if (n == 0) /* every country of the table has one: cannot happen */
        return "UTC";
    return c->tz[h % n];
}

/* ------------------------------------------------------------ pickers */

const char *
world_word(enum world_words list, uint64_t h)
{
    /* The lists world_word picks from, by enum world_words. */
    static const struct {
        const char *const *word;
        size_t n;
    } lists[] = {
        [WORLD_FIRST_NAME] = { first_names, ARRAY_LEN(first_names) },
        [WORLD_SIGNUP_SOURCE] = { signup_sources, ARRAY_LEN(signup_sources) },
        [WORLD_REFERRER] = { referrers, ARRAY_LEN(referrers) },
        [WORLD_LOGIN_METHOD] = { login_methods, ARRAY_LEN(login_methods) },
        [WORLD_DECLINE_REASON] = { decline_reasons,
            ARRAY_LEN(decline_reasons) },
    };

    return lists[list].word[h % lists[list].n];
}

const struct world_ua *
world_fraud_ua(uint64_t h)
{
    return &PICK(fraud_uas, h);
}

/* ------------------------------------------------------------ makers */

/* Lower-case ASCII letters and turn spaces into dots, in place. */
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
        h = rng_mix64(h, i);
        if (pat[i] == '9')
            out[i] = (char)('0' + h % 10);
        else if (pat[i] == 'A')
            out[i] = (char)('A' + h % 26);
        else
            out[i] = pat[i];
    }
    out[i] = '\0';
}

void
world_ipv4(char *out, size_t outlen, const struct world_country *c, uint64_t h)
{
    struct sb b = sb_at(out, outlen);
    uint64_t x = rng_mix64(h, 1);

    sb_u64(&b, c->v4[h % 4]);
    sb_mem(&b, ".", 1);
    sb_u64(&b, x & 0xff);
    sb_mem(&b, ".", 1);
    sb_u64(&b, (x >> 8) & 0xff);
    sb_mem(&b, ".", 1);
    sb_u64(&b, 1 + (x >> 16) % 254);
}

static void
make_ipv6(char *out, size_t outlen, const struct world_country *c, uint64_t h)
{
    snprintf(out, outlen, "%s:%x:%x:%x:%x:%x:%x", c->v6,
        (unsigned)(rng_mix64(h, 1) & 0xffff),
        (unsigned)(rng_mix64(h, 2) & 0xffff),
        (unsigned)(rng_mix64(h, 3) & 0xffff),
        (unsigned)(rng_mix64(h, 4) & 0xffff),
        (unsigned)(rng_mix64(h, 5) & 0xffff),
        (unsigned)(rng_mix64(h, 6) & 0xffff));
}

/* A card number with a valid Luhn check digit. */
static void
make_card(struct world_card *cd, uint64_t h)
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
        cd->number[1] = (char)('1' + rng_mix64(h, 1) % 5);
        i = 2;
    } else {
        cd->number[0] = '3';
        cd->number[1] = rng_mix64(h, 1) % 2 ? '4' : '7';
        i = 2;
        len = 15;
    }
    for (; i < len - 1; i++)
        cd->number[i] = (char)('0' + rng_mix64(h, 10 + i) % 10);
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
    sb_hex(&b, rng_mix64(h, 0xcafe), 16);
    cd->full = rng_mix64(h, 2) % 10 < 4;
}

void
world_addr_make(struct world_addr *a, const struct world_country *c,
    const char *name, uint64_t h)
{
    struct sb b;

    TEXT_COPY(a->name, name);
    b = sb_at(a->street, sizeof(a->street));
    sb_u64(&b, 1 + h % 240);
    sb_mem(&b, " ", 1);
    sb_str(&b, PICK(c->streets, rng_mix64(h, 1)));
    TEXT_COPY(a->city, PICK(c->cities, rng_mix64(h, 2)));
    fill_pattern(a->postal, sizeof(a->postal), c->postal, rng_mix64(h, 3));
    a->country = c->cc;
}

void
world_person_details(struct world_person *p)
{
    uint64_t h = p->h;
    const char *first = PICK(first_names, rng_mix64(h, 11));
    const char *last = PICK(last_names, rng_mix64(h, 12));
    const char *dom;
    char local[64];
    uint64_t hd = rng_mix64(h, 13);
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
    sb_u64(&b, rng_mix64(h, 14) % 1000);
    lower_ascii(local);
    b = sb_at(p->email, sizeof(p->email));
    sb_str(&b, local);
    sb_mem(&b, "@", 1);
    sb_str(&b, dom);
    b = sb_at(p->phone, sizeof(p->phone));
    sb_mem(&b, "+", 1);
    sb_str(&b, p->c->phone);
    sb_u64(&b, 100000000 + rng_mix64(h, 15) % 900000000);
    world_addr_make(&p->home, p->c, p->name, rng_mix64(h, 19));
    make_card(&p->card, rng_mix64(h, 40));
    p->age = 18 + (unsigned)(rng_mix64(h, 41) % 60);
}

void
world_person_make(const struct world *w, struct world_person *p, uint64_t h,
    const struct world_country *c, bool fraud)
{
    p->h = h;
    p->fraud = fraud;
    p->c = c != NULL ? c : world_country_by_weight(w, rng_mix64(h, 10));
    p->ndev = rng_mix64(h, 16) % 10 < 3 ? 2 : 1;
    for (unsigned i = 0; i < p->ndev; i++) {
        uint64_t hu = rng_mix64(h, 20 + i);
        struct sb b = sb_at(p->device[i], sizeof(p->device[i]));

        sb_mem(&b, "dv-", 3);
        sb_hex(&b, rng_mix64(h, 30 + i), 16);
        sb_hex(&b, hu, 4);
        p->ua[i] = fraud ? &PICK(fraud_uas, hu >> 16) : &PICK(uas, hu >> 16);
    }
    p->ipv6 = rng_mix64(h, 17) % 10 == 0;
    if (p->ipv6)
        make_ipv6(p->ip, sizeof(p->ip), p->c, rng_mix64(h, 18));
    else
        world_ipv4(p->ip, sizeof(p->ip), p->c, rng_mix64(h, 18));
}
