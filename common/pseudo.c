/*
 * pseudo.c - keyed pseudonyms of direct identifiers
 *
 * Loads (or creates) the 32-byte pseudonym key and turns the raw
 * identifiers of a decoded event into keyed BLAKE2b-128 pseudonyms.
 * Runs in the collector, once per event on the hot path (a few hashes of
 * short strings, about 0.5 us each), and in the auditor's tools for one
 * identifier at a time. No allocation after pseudo_key_open().
 *
 * Invariants:
 *  - normalization follows the rules in pseudo.h exactly; any change
 *    there changes every pseudonym and breaks matching with old history.
 *  - every stack buffer that held a raw identifier is wiped before the
 *    function returns.
 *
 * See also: pseudo.h, event.h (struct event_pii)
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/event.h"
#include "common/pseudo.h"
#include "common/xmalloc.h"

/* Longest raw identifier pseudo_identifier() accepts. */
#define PSEUDO_RAW_MAX 1024
/* Room for a normalized address: 5 parts joined with '\n'. */
#define PSEUDO_NORM_MAX (PSEUDO_RAW_MAX + 1)

struct pseudo_key {
    unsigned char *key; /* sodium_malloc'd, read-only, PSEUDO_KEY_BYTES */
};

/* ------------------------------------------------------------ key file */

/*
 * Create the key file atomically: write a private temporary file with
 * O_CREAT|O_EXCL, fsync it, then link() it to `path` (which fails if the
 * key appeared meanwhile) and fsync the directory. A crash leaves either
 * no key or a whole key, never a short one. Returns 0, ERR_EXISTS (lost
 * a race: load the other key) or ERR_IO.
 */
static int
pseudo_key_create(const char *path)
{
    unsigned char key[PSEUDO_KEY_BYTES];
    char tmp[PATH_MAX];
    int fd, n, rc;

    n = snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_warn("%s: cannot create '%s'", __func__, tmp);
        return ERR_IO;
    }
    /* The umask may only narrow the mode; make it exactly 0600. */
    if (fchmod(fd, 0600) != 0) {
        log_warn("%s: cannot chmod '%s'", __func__, tmp);
        rc = ERR_IO;
        goto fail_fd;
    }
    randombytes_buf(key, sizeof(key));
    rc = fileio_pwrite_all(fd, key, sizeof(key), 0);
    sodium_memzero(key, sizeof(key));
    if (rc != 0) {
        log_warn("%s: cannot write '%s'", __func__, tmp);
        goto fail_fd;
    }
    if (fsync(fd) != 0) {
        log_warn("%s: cannot fsync '%s'", __func__, tmp);
        rc = ERR_IO;
        goto fail_fd;
    }
    close(fd);
    if (link(tmp, path) != 0) {
        rc = errno == EEXIST ? ERR_EXISTS : ERR_IO;
        if (rc == ERR_IO)
            log_warn("%s: cannot link '%s'", __func__, path);
        unlink(tmp);
        return rc;
    }
    unlink(tmp);
    rc = fileio_sync_parent(path);
    if (rc != 0)
        log_warn("%s: cannot fsync the directory of '%s'", __func__, path);
    if (rc == 0)
        log_info("created pseudonym key '%s'", path);
    return rc;
fail_fd:
    close(fd);
    unlink(tmp);
    return rc;
}

int
pseudo_key_open(const char *path, bool create, struct pseudo_key **out)
{
    struct pseudo_key *k = NULL;
    struct stat st;
    size_t got = 0;
    int fd, rc;

    *out = NULL;
    if (sodium_init() < 0) {
        log_warnx("%s: sodium_init failed", __func__);
        return ERR_IO;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT && create) {
        rc = pseudo_key_create(path);
        if (rc != 0 && rc != ERR_EXISTS)
            return rc;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    }
    if (fd < 0) {
        if (errno == ENOENT) {
            log_warnx("%s: pseudonym key '%s' does not exist", __func__, path);
            return ERR_NOTFOUND;
        }
        if (errno == ELOOP) {
            log_warnx("%s: pseudonym key '%s' is a symbolic link; refusing",
                __func__, path);
            return ERR_DENIED;
        }
        log_warn("%s: cannot open pseudonym key '%s'", __func__, path);
        return ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        log_warn("%s: cannot stat '%s'", __func__, path);
        rc = ERR_IO;
        goto fail_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        log_warnx("%s: pseudonym key '%s' is not a regular file; refusing",
            __func__, path);
        rc = ERR_DENIED;
        goto fail_fd;
    }
    if ((st.st_mode & 077) != 0) {
        log_warnx("%s: pseudonym key '%s' has mode %04o: group or others "
                  "may access it; refusing (chmod 600 it)",
            __func__, path, (unsigned)(st.st_mode & 07777));
        rc = ERR_DENIED;
        goto fail_fd;
    }
    if (st.st_size != PSEUDO_KEY_BYTES) {
        log_warnx("%s: pseudonym key '%s' is %lld bytes, not %d; refusing",
            __func__, path, (long long)st.st_size, PSEUDO_KEY_BYTES);
        rc = ERR_DENIED;
        goto fail_fd;
    }

    k = xcalloc(1, sizeof(*k));
    k->key = sodium_malloc(PSEUDO_KEY_BYTES);
    if (k->key == NULL)
        fatalx("%s: sodium_malloc: out of memory", __func__);
    while (got < PSEUDO_KEY_BYTES) {
        ssize_t n = read(fd, k->key + got, PSEUDO_KEY_BYTES - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_warnx("%s: cannot read pseudonym key '%s'", __func__, path);
            rc = ERR_IO;
            goto fail_key;
        }
        got += (size_t)n;
    }
    if (sodium_mprotect_readonly(k->key) != 0) {
        log_warn("%s: cannot protect the key in memory", __func__);
        rc = ERR_IO;
        goto fail_key;
    }
    close(fd);
    *out = k;
    return 0;
fail_key:
    pseudo_key_close(k);
fail_fd:
    close(fd);
    return rc;
}

void
pseudo_key_close(struct pseudo_key *k)
{
    if (k == NULL)
        return;
    /* sodium_free() wipes the memory (it makes it writable first). */
    sodium_free(k->key);
    free(k);
}

/* -------------------------------------------------------------- hashing */

void
pseudo_compute(const struct pseudo_key *k, const char *domain,
    const char *normalized, size_t len, struct pseudo *out)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, k->key, PSEUDO_KEY_BYTES, PSEUDO_BYTES);
    /* The domain with its NUL terminator: domain || 0x00. */
    crypto_generichash_update(
        &st, (const unsigned char *)domain, strlen(domain) + 1);
    if (len > 0)
        crypto_generichash_update(&st, (const unsigned char *)normalized, len);
    crypto_generichash_final(&st, out->b, PSEUDO_BYTES);
    sodium_memzero(&st, sizeof(st));
}

void
pseudo_key_id(const struct pseudo_key *k, char out[PSEUDO_KEY_ID_HEX + 1])
{
    struct pseudo id;

    pseudo_compute(k, "key-id", "", 0, &id);
    pseudo_hex(&id, out);
}

void
pseudo_hex(const struct pseudo *p, char out[2 * PSEUDO_BYTES + 1])
{
    sodium_bin2hex(out, 2 * PSEUDO_BYTES + 1, p->b, PSEUDO_BYTES);
}

/* -------------------------------------------------------- normalization */

static bool
pseudo_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
        c == '\f';
}

static char
pseudo_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * Each normalizer appends to out[*len] (capacity `cap`, including room
 * for nothing else: outputs are not NUL-terminated) and stops silently
 * at the cap; inputs come from fixed-size fields, so the caps used below
 * are never reached.
 */
static void
pseudo_put(char *out, size_t cap, size_t *len, char c)
{
    if (*len < cap)
        out[(*len)++] = c;
}

/* Email: trimmed, ASCII lower-cased. */
static void
pseudo_norm_email(const char *in, char *out, size_t cap, size_t *len)
{
    const char *end;

    while (pseudo_is_space(*in))
        in++;
    end = in + strlen(in);
    while (end > in && pseudo_is_space(end[-1]))
        end--;
    for (; in < end; in++)
        pseudo_put(out, cap, len, pseudo_lower(*in));
}

/* Phone: '+' and digits only. */
static void
pseudo_norm_phone(const char *in, char *out, size_t cap, size_t *len)
{
    for (; *in != '\0'; in++)
        if (*in == '+' || (*in >= '0' && *in <= '9'))
            pseudo_put(out, cap, len, *in);
}

/* Name: trimmed, ASCII lower-cased, whitespace runs -> one space. */
static void
pseudo_norm_name(const char *in, char *out, size_t cap, size_t *len)
{
    bool pending_space = false;
    bool any = false;

    for (; *in != '\0'; in++) {
        if (pseudo_is_space(*in)) {
            pending_space = any;
            continue;
        }
        if (pending_space)
            pseudo_put(out, cap, len, ' ');
        pending_space = false;
        any = true;
        pseudo_put(out, cap, len, pseudo_lower(*in));
    }
}

/* Card number: its digits. */
static void
pseudo_norm_digits(const char *in, char *out, size_t cap, size_t *len)
{
    for (; *in != '\0'; in++)
        if (*in >= '0' && *in <= '9')
            pseudo_put(out, cap, len, *in);
}

/* As given. */
static void
pseudo_norm_raw(const char *in, char *out, size_t cap, size_t *len)
{
    for (; *in != '\0'; in++)
        pseudo_put(out, cap, len, *in);
}

/* Dotted-quad text of IPv4 address `a`, exactly as inet_ntop() writes
 * it (decimal, no leading zeros); `text` holds at least 16 bytes. */
static void
pseudo_ipv4_text(const unsigned char a[4], char *text)
{
    size_t n = 0;
    unsigned i, v;

    for (i = 0; i < 4; i++) {
        v = a[i];
        if (i > 0)
            text[n++] = '.';
        if (v >= 100)
            text[n++] = (char)('0' + v / 100);
        if (v >= 10)
            text[n++] = (char)('0' + v / 10 % 10);
        text[n++] = (char)('0' + v % 10);
    }
    text[n] = '\0';
}

/* IP: canonical inet_ntop text. Returns 0 or ERR_INVAL (not an address). */
static int
pseudo_norm_ip(const char *in, char *out, size_t cap, size_t *len)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char text[INET6_ADDRSTRLEN];
    int af;

    if (inet_pton(AF_INET, in, addr) == 1)
        af = AF_INET;
    else if (inet_pton(AF_INET6, in, addr) == 1)
        af = AF_INET6;
    else
        return ERR_INVAL;
    if (af == AF_INET) {
        /* inet_ntop()'s "%u.%u.%u.%u", without its snprintf. */
        pseudo_ipv4_text(addr, text);
    } else if (inet_ntop(af, addr, text, sizeof(text)) == NULL) {
        return ERR_INVAL;
    }
    pseudo_norm_raw(text, out, cap, len);
    sodium_memzero(addr, sizeof(addr));
    sodium_memzero(text, sizeof(text));
    return 0;
}

/* Address: name, street, city, postal, country, each as a name, '\n'. */
static void
pseudo_norm_address(const struct event_address_pii *a, const char *country,
    char *out, size_t cap, size_t *len)
{
    pseudo_norm_name(a->name, out, cap, len);
    pseudo_put(out, cap, len, '\n');
    pseudo_norm_name(a->street, out, cap, len);
    pseudo_put(out, cap, len, '\n');
    pseudo_norm_name(a->city, out, cap, len);
    pseudo_put(out, cap, len, '\n');
    pseudo_norm_name(a->postal, out, cap, len);
    pseudo_put(out, cap, len, '\n');
    pseudo_norm_name(country, out, cap, len);
}

/* Is `s` a card number: digits with optional spaces and dashes? */
static bool
pseudo_is_card_number(const char *s)
{
    bool digit = false;

    for (; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9')
            digit = true;
        else if (*s != ' ' && *s != '-')
            return false;
    }
    return digit;
}

int
pseudo_identifier(const struct pseudo_key *k, const char *kind, const char *raw,
    struct pseudo *out)
{
    char norm[PSEUDO_NORM_MAX];
    const char *domain = kind;
    size_t len = 0;
    int rc = 0;

    if (strlen(raw) > PSEUDO_RAW_MAX)
        return ERR_TOOBIG;
    if (strcmp(kind, "email") == 0) {
        pseudo_norm_email(raw, norm, sizeof(norm), &len);
    } else if (strcmp(kind, "phone") == 0) {
        pseudo_norm_phone(raw, norm, sizeof(norm), &len);
    } else if (strcmp(kind, "name") == 0) {
        pseudo_norm_name(raw, norm, sizeof(norm), &len);
    } else if (strcmp(kind, "address") == 0) {
        /* Already joined: normalize each '\n'-separated part as a name. */
        const char *p = raw;

        for (;;) {
            const char *nl = strchr(p, '\n');
            char part[PSEUDO_NORM_MAX];
            size_t plen = nl != NULL ? (size_t)(nl - p) : strlen(p);

            memcpy(part, p, plen);
            part[plen] = '\0';
            pseudo_norm_name(part, norm, sizeof(norm), &len);
            sodium_memzero(part, sizeof(part));
            if (nl == NULL)
                break;
            pseudo_put(norm, sizeof(norm), &len, '\n');
            p = nl + 1;
        }
    } else if (strcmp(kind, "card") == 0) {
        if (pseudo_is_card_number(raw))
            pseudo_norm_digits(raw, norm, sizeof(norm), &len);
        else
            pseudo_norm_raw(raw, norm, sizeof(norm), &len);
    } else if (strcmp(kind, "device") == 0) {
        pseudo_norm_raw(raw, norm, sizeof(norm), &len);
    } else if (strcmp(kind, "ip") == 0) {
        rc = pseudo_norm_ip(raw, norm, sizeof(norm), &len);
    } else {
        return ERR_INVAL;
    }
    if (rc == 0 && len == 0)
        rc = ERR_INVAL;
    if (rc == 0)
        pseudo_compute(k, domain, norm, len, out);
    sodium_memzero(norm, sizeof(norm));
    return rc;
}

int
pseudo_scoped(const struct pseudo_key *k, const char *kind,
    const char *storefront, const char *id, struct pseudo *out)
{
    char norm[PSEUDO_NORM_MAX];
    size_t len = 0;

    if (strcmp(kind, "event") != 0 && strcmp(kind, "account") != 0 &&
        strcmp(kind, "session") != 0 && strcmp(kind, "order") != 0 &&
        strcmp(kind, "request") != 0 && strcmp(kind, "case") != 0)
        return ERR_INVAL;
    if (storefront[0] == '\0' || id[0] == '\0')
        return ERR_INVAL;
    if (strlen(storefront) > EVENT_ID_MAX || strlen(id) > EVENT_ID_MAX)
        return ERR_TOOBIG;
    pseudo_norm_raw(storefront, norm, sizeof(norm), &len);
    pseudo_put(norm, sizeof(norm), &len, '\n');
    pseudo_norm_raw(id, norm, sizeof(norm), &len);
    pseudo_compute(k, kind, norm, len, out);
    sodium_memzero(norm, len);
    return 0;
}

/*
 * The steps of pseudo_apply() share one scratch buffer, `norm`
 * (PSEUDO_NORM_MAX bytes): each writes the normalized text at its start
 * and grows *used to the longest prefix written so far, which
 * pseudo_apply() wipes at the end.
 */
typedef void pseudo_norm_fn(const char *in, char *out, size_t cap, size_t *len);

/* The pseudonym of `raw`, normalized by `nf`, under `domain`. */
static void
pseudo_apply_norm(const struct pseudo_key *k, const char *domain,
    pseudo_norm_fn *nf, const char *raw, char *norm, size_t *used,
    struct pseudo *out)
{
    size_t len = 0;

    nf(raw, norm, PSEUDO_NORM_MAX, &len);
    pseudo_compute(k, domain, norm, len, out);
    if (len > *used)
        *used = len;
}

/* An IP address by pseudo_norm_ip(); text that is none, as given. */
static void
pseudo_norm_ip_or_raw(const char *in, char *out, size_t cap, size_t *len)
{
    if (pseudo_norm_ip(in, out, cap, len) != 0) {
        *len = 0;
        pseudo_norm_raw(in, out, cap, len);
    }
}

/* Pseudonym of account.update's new value, by the rule of its field. */
static void
pseudo_apply_value(const struct pseudo_key *k, struct event *ev,
    const char *value, char *norm, size_t *used)
{
    const char *domain;
    pseudo_norm_fn *nf;

    switch (ev->field) {
    case EVENT_UPDATE_EMAIL:
        domain = "email";
        nf = pseudo_norm_email;
        break;
    case EVENT_UPDATE_PHONE:
        domain = "phone";
        nf = pseudo_norm_phone;
        break;
    case EVENT_UPDATE_NAME:
        domain = "name";
        nf = pseudo_norm_name;
        break;
    case EVENT_UPDATE_ADDRESS:
        domain = "address";
        nf = pseudo_norm_name;
        break;
    case EVENT_UPDATE_NONE:
    case EVENT_UPDATE_PASSWORD:
    default:
        /* The decoder never lets these carry a value; hash as given. */
        domain = "value";
        nf = pseudo_norm_raw;
        break;
    }
    pseudo_apply_norm(k, domain, nf, value, norm, used, &ev->value);
}

/* The pseudonym of address `a` in `country` (domain "address"). */
static void
pseudo_apply_address(const struct pseudo_key *k,
    const struct event_address_pii *a, const char *country, char *norm,
    size_t *used, struct pseudo *out)
{
    size_t len = 0;

    pseudo_norm_address(a, country, norm, PSEUDO_NORM_MAX, &len);
    pseudo_compute(k, "address", norm, len, out);
    if (len > *used)
        *used = len;
}

void
pseudo_apply(const struct pseudo_key *k, const char *storefront,
    struct event *ev, struct event_pii *pii)
{
    char norm[PSEUDO_NORM_MAX];
    size_t used = 0; /* norm[0..used) may hold personal data */

    /* Ids the storefront chose: scoped to it (pseudo_scoped()). The
     * decoder bounds them, so these cannot fail. */
    if (pseudo_scoped(k, "event", storefront, pii->id, &ev->id) != 0)
        fatalx("%s: invariant: event id out of bounds", __func__);
    if ((ev->has & EVENT_HAS_ACCOUNT) &&
        pseudo_scoped(k, "account", storefront, pii->account, &ev->account) !=
            0)
        fatalx("%s: invariant: account id out of bounds", __func__);
    if ((ev->has & EVENT_HAS_SESSION) &&
        pseudo_scoped(k, "session", storefront, pii->session, &ev->session) !=
            0)
        fatalx("%s: invariant: session id out of bounds", __func__);
    if ((ev->has & EVENT_HAS_ORDER) &&
        pseudo_scoped(k, "order", storefront, pii->order, &ev->order) != 0)
        fatalx("%s: invariant: order id out of bounds", __func__);
    if (ev->has & EVENT_HAS_DEVICE)
        pseudo_apply_norm(k, "device", pseudo_norm_raw, pii->device, norm,
            &used, &ev->device);
    if (ev->has & EVENT_HAS_IP) {
        pseudo_apply_norm(
            k, "ip", pseudo_norm_ip_or_raw, pii->ip, norm, &used, &ev->ip);
        pseudo_apply_norm(
            k, "ip24", pseudo_norm_raw, pii->ip24, norm, &used, &ev->ip24);
        pseudo_apply_norm(
            k, "ip16", pseudo_norm_raw, pii->ip16, norm, &used, &ev->ip16);
    }
    if (ev->has & EVENT_HAS_EMAIL)
        pseudo_apply_norm(
            k, "email", pseudo_norm_email, pii->email, norm, &used, &ev->email);
    if (ev->has & EVENT_HAS_PHONE)
        pseudo_apply_norm(
            k, "phone", pseudo_norm_phone, pii->phone, norm, &used, &ev->phone);
    if (ev->has & EVENT_HAS_NAME)
        pseudo_apply_norm(
            k, "name", pseudo_norm_name, pii->name, norm, &used, &ev->name);
    if (ev->has & EVENT_HAS_CARD) {
        if (pii->card_fingerprint[0] != '\0')
            pseudo_apply_norm(k, "card", pseudo_norm_raw, pii->card_fingerprint,
                norm, &used, &ev->card);
        else
            pseudo_apply_norm(k, "card", pseudo_norm_digits, pii->card_number,
                norm, &used, &ev->card);
    }
    if (ev->has & EVENT_HAS_BILLING)
        pseudo_apply_address(
            k, &pii->billing, ev->billing_country, norm, &used, &ev->billing);
    if (ev->has & EVENT_HAS_SHIPPING)
        pseudo_apply_address(k, &pii->shipping, ev->shipping_country, norm,
            &used, &ev->shipping);
    if (ev->has & EVENT_HAS_VALUE)
        pseudo_apply_value(k, ev, pii->value, norm, &used);
    /* pseudo_put() never writes past *len: only the used prefix of norm
     * was written. */
    sodium_memzero(norm, used);
    sodium_memzero(pii, sizeof(*pii));
}
