/*
 * input.c - vigil-replay's inputs: the fraud data set and the IP ranges
 *
 * The data set has one user per line and exactly the columns of
 * train.csv.gz (SOURCE.md): user_id, signup_time, purchase_time,
 * purchase_value (USD), device_id, source, browser, sex, age,
 * ip_address (IPv4 as a decimal, sometimes with a fraction), class.
 * Every field is checked and a bad one is refused with its line; sex is
 * read past and never sent. The range file has lower and upper bounds
 * (decimals, some in exponent form such as 1.02E+09: read as doubles and
 * truncated, as the study did) and an English country name. Two such
 * rounded lower bounds lie above their upper bound; those ranges are
 * kept as they are (they match no address, but still end the range
 * before them), so lookups give exactly the study's countries.
 *
 * Invariants:
 *  - user ids are unique (stream.c checks) and every row's times are
 *    valid UTC instants.
 *
 * See also: replay.h, country.c, /work/shared/data/SOURCE.md
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/gzlines.h"
#include "common/text.h"
#include "common/utctime.h"
#include "common/xmalloc.h"
#include "tools/vigil-replay/replay.h"

#define DATA_HEADER                                                            \
    "user_id,signup_time,purchase_time,purchase_value,device_id,source,"       \
    "browser,sex,age,ip_address,class"
#define RANGE_HEADER "lower_bound_ip_address,upper_bound_ip_address,country"
#define NFIELDS      11
#define MAX_USER_ID  999999999999999ULL
#define MAX_DOLLARS  1000000000ULL /* 10^9 USD per order */
#define IP_LIMIT     4294967296.0  /* 2^32 */

enum {
    F_USER,
    F_SIGNUP,
    F_PURCHASE,
    F_VALUE,
    F_DEVICE,
    F_SOURCE,
    F_BROWSER,
    F_SEX,
    F_AGE,
    F_IP,
    F_CLASS
};

static const char *const browser_names[RB_COUNT] = {
    [RB_CHROME] = "chrome",
    [RB_FIREFOX] = "firefox",
    [RB_SAFARI] = "safari",
    [RB_IE] = "ie",
    [RB_OPERA] = "opera",
};


/* "14", "14.5" or "14.50" USD -> cents, exactly. */
static bool
parse_cents(const char *s, uint64_t *out)
{
    char whole[24];
    const char *dot = strchr(s, '.');
    size_t wl = dot != NULL ? (size_t)(dot - s) : strlen(s);
    uint64_t d, c = 0;

    if (wl == 0 || wl >= sizeof(whole))
        return false;
    memcpy(whole, s, wl);
    whole[wl] = '\0';
    if (!text_parse_u64(whole, 0, MAX_DOLLARS, &d))
        return false;
    if (dot != NULL) {
        size_t fl = strlen(dot + 1);

        if (fl == 0 || fl > 2 || strspn(dot + 1, "0123456789") != fl)
            return false;
        c = (uint64_t)(dot[1] - '0') * 10 +
            (fl == 2 ? (uint64_t)(dot[2] - '0') : 0);
    }
    *out = d * 100 + c;
    return true;
}

static bool
parse_decimal(const char *s, double *out)
{
    char *end;

    if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

static bool
token_ok(const char *s, size_t max, const char *accept)
{
    size_t n = strlen(s);

    return n >= 1 && n <= max && strspn(s, accept) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/* Parse one data line into `r`. Returns NULL or what is wrong. */
static const char *
parse_row(char **f, struct replay_row *r)
{
    uint64_t u;
    double ip;

    memset(r, 0, sizeof(*r));
    if (!text_parse_u64(f[F_USER], 0, MAX_USER_ID, &r->user_id))
        return "user_id: not an integer 0..10^15";
    if (utctime_parse(f[F_SIGNUP], &r->signup_ms) != 0)
        return "signup_time: not a UTC time YYYY-MM-DD HH:MM:SS";
    if (utctime_parse(f[F_PURCHASE], &r->purchase_ms) != 0)
        return "purchase_time: not a UTC time YYYY-MM-DD HH:MM:SS";
    if (!parse_cents(f[F_VALUE], &r->amount))
        return "purchase_value: not a USD amount with at most 2 decimals";
    if (!token_ok(f[F_DEVICE], REPLAY_DEVICE_MAX, ALNUM "._:-"))
        return "device_id: 1..64 of [A-Za-z0-9._:-]";
    snprintf(r->device, sizeof(r->device), "%s", f[F_DEVICE]);
    if (!token_ok(f[F_SOURCE], EVENT_SHORT_MAX, ALNUM "_-"))
        return "source: 1..32 of [A-Za-z0-9_-]";
    for (size_t i = 0; f[F_SOURCE][i] != '\0'; i++) {
        char ch = f[F_SOURCE][i];

        r->source[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    r->browser = RB_COUNT;
    for (unsigned b = 0; b < RB_COUNT; b++) {
        if (strcasecmp(f[F_BROWSER], browser_names[b]) == 0)
            r->browser = (uint8_t)b;
    }
    if (r->browser == RB_COUNT)
        return "browser: not Chrome, FireFox, Safari, IE or Opera";
    if (f[F_AGE][0] != '\0') {
        if (!text_parse_u64(f[F_AGE], 0, 150, &u))
            return "age: not an integer 0..150";
        r->age = (uint8_t)u;
        r->has_age = true;
    }
    if (!parse_decimal(f[F_IP], &ip) || ip < 0 || ip >= IP_LIMIT)
        return "ip_address: not a decimal 0 <= x < 2^32";
    r->ip = (uint32_t)floor(ip);
    if (strcmp(f[F_CLASS], "0") != 0 && strcmp(f[F_CLASS], "1") != 0)
        return "class: must be 0 or 1";
    r->label = (uint8_t)(f[F_CLASS][0] - '0');
    return NULL;
}

int
input_rows(const char *path, struct replay_data *d, char *err, size_t errlen)
{
    struct gzlines *l;
    char *line, *f[NFIELDS + 1];
    const char *why;
    size_t len, cap = 0;
    int rc, n;

    rc = gzlines_open(path, REPLAY_MAX_LINE, &l, err, errlen);
    if (rc != 0)
        return rc;
    rc = gzlines_next(l, &line, &len);
    if (rc == 0 && strcmp(line, DATA_HEADER) != 0) {
        snprintf(err, errlen, "%s line 1: the header must be '%s'", path,
            DATA_HEADER);
        rc = ERR_MALFORMED;
        goto out;
    }
    for (;;) {
        if (rc != 0)
            break;
        rc = gzlines_next(l, &line, &len);
        if (rc != 0)
            break;
        n = gzlines_split(line, ',', f, NFIELDS + 1);
        if (n != NFIELDS) {
            snprintf(err, errlen, "%s line %llu: %d fields, want %d", path,
                (unsigned long long)gzlines_lineno(l), n, NFIELDS);
            rc = ERR_MALFORMED;
            goto out;
        }
        if (d->nrows == REPLAY_MAX_ROWS) {
            snprintf(
                err, errlen, "%s: more than %d rows", path, REPLAY_MAX_ROWS);
            rc = ERR_TOOBIG;
            goto out;
        }
        if (d->nrows == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            d->rows = xreallocarray(d->rows, cap, sizeof(*d->rows));
        }
        why = parse_row(f, &d->rows[d->nrows]);
        if (why != NULL) {
            snprintf(err, errlen, "%s line %llu: %s", path,
                (unsigned long long)gzlines_lineno(l), why);
            rc = ERR_INVAL;
            goto out;
        }
        d->nrows++;
    }
    if (rc == ERR_NOTFOUND && gzlines_lineno(l) == 0) {
        snprintf(err, errlen, "%s: empty (no header)", path);
        rc = ERR_MALFORMED;
    } else if (rc == ERR_NOTFOUND) {
        rc = 0;
    } else if (rc != 0) {
        snprintf(err, errlen, "%s", gzlines_error(l));
    }
    if (rc == 0 && d->nrows == 0) {
        snprintf(err, errlen, "%s: no data rows", path);
        rc = ERR_MALFORMED;
    }
out:
    gzlines_close(l);
    return rc;
}

/* ------------------------------------------------------------- ranges */

struct range {
    uint64_t lo, hi;
    const char *code; /* NULL: a name the table does not know */
    uint32_t line;
};

static int
by_lower(const void *a, const void *b)
{
    const struct range *x = a, *y = b;

    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The range with the greatest lower bound <= ip, or NULL. */
static const struct range *
find_range(const struct range *r, size_t n, uint64_t ip)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (r[mid].lo <= ip)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? &r[lo - 1] : NULL;
}

int
input_countries(
    const char *path, struct replay_data *d, char *err, size_t errlen)
{
    struct gzlines *l;
    struct range *r = NULL;
    char *line, *f[4];
    size_t len, n = 0, cap = 0;
    double lo, hi;
    int rc;

    rc = gzlines_open(path, REPLAY_MAX_LINE, &l, err, errlen);
    if (rc != 0)
        return rc;
    rc = gzlines_next(l, &line, &len);
    if (rc == 0 && strcmp(line, RANGE_HEADER) != 0) {
        snprintf(err, errlen, "%s line 1: the header must be '%s'", path,
            RANGE_HEADER);
        rc = ERR_MALFORMED;
    }
    while (rc == 0) {
        rc = gzlines_next(l, &line, &len);
        if (rc != 0)
            break;
        if (gzlines_split(line, ',', f, 4) != 3 || !parse_decimal(f[0], &lo) ||
            !parse_decimal(f[1], &hi) || lo < 0 || lo >= IP_LIMIT || hi < 0 ||
            hi >= IP_LIMIT || f[2][0] == '\0') {
            snprintf(err, errlen,
                "%s line %llu: want lower,upper,country with bounds in "
                "0..2^32",
                path, (unsigned long long)gzlines_lineno(l));
            rc = ERR_INVAL;
            break;
        }
        if (n == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            r = xreallocarray(r, cap, sizeof(*r));
        }
        r[n].lo = (uint64_t)lo;
        r[n].hi = (uint64_t)hi;
        r[n].code = country_code(f[2]);
        r[n].line = (uint32_t)gzlines_lineno(l);
        n++;
    }
    if (rc == ERR_NOTFOUND) {
        rc = 0;
    } else if (rc != 0 && rc != ERR_INVAL && rc != ERR_MALFORMED) {
        snprintf(err, errlen, "%s", gzlines_error(l));
    }
    gzlines_close(l);
    if (rc != 0) {
        free(r);
        return rc;
    }
    if (n > 0)
        qsort(r, n, sizeof(*r), by_lower);
    for (size_t i = 0; i < d->nrows; i++) {
        struct replay_row *row = &d->rows[i];
        const struct range *g = find_range(r, n, row->ip);

        row->country[0] = '\0';
        if (g == NULL || row->ip > g->hi) {
            d->no_range++;
        } else if (g->code == NULL) {
            d->unknown_country++;
        } else {
            memcpy(row->country, g->code, 3);
        }
    }
    free(r);
    return 0;
}
