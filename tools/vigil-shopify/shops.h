/*
 * shops.h - the shops the bridge serves: client secrets and Admin API
 *           access tokens, from two files of mode 0600
 *
 * secrets_file, one shop per line ('#' comments, blank lines ignored):
 *     <shop-domain> <client-secret> [<previous-client-secret>]
 * The second secret is accepted too, for the rotation window: Shopify
 * may keep signing with the old secret for up to an hour after a
 * rotation (shopify.dev/docs/apps/build/webhooks/verify-deliveries).
 * admin_tokens_file (optional), one shop per line:
 *     <shop-domain> <admin-api-access-token>
 * A domain is 1..SHOPS_DOMAIN_MAX bytes of [a-z0-9.-] (Shopify's
 * "example.myshopify.com"); secrets and tokens are 1..256 printable
 * ASCII characters without spaces. Both files must be regular files
 * owned by the bridge's user with no permission for group or others;
 * anything else refuses start-up. Loaded once by main(); read by the
 * HTTP threads (signature checks) and the risk worker (tokens).
 *
 * Invariants:
 *  - secrets and tokens live in sodium_malloc'd memory, read-only after
 *    shops_load() returns, wiped by shops_free(); they never reach a
 *    log line.
 *  - domains are unique; shops_find() is a binary search.
 *
 * See also: hmac.h, tools/vigil-shopify.8 "FILES", examples/shopify/
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_SHOPS_H
#define VIGIL_SHOPIFY_SHOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define SHOPS_DOMAIN_MAX 255
#define SHOPS_SECRET_MAX 256
#define SHOPS_TOKEN_MAX  256
#define SHOPS_MAX        10000
#define SHOPS_FILE_MAX   (4 * 1024 * 1024)

/* One shop. Read-only once loaded. */
struct shop {
    size_t index;                      /* position in the table */
    char domain[SHOPS_DOMAIN_MAX + 1]; /* lower case */
    unsigned nsecrets;                 /* 1 or 2 */
    size_t secret_len[2];
    uint8_t secret[2][SHOPS_SECRET_MAX]; /* current, then previous */
    char token[SHOPS_TOKEN_MAX + 1];     /* "" when none */
};

struct shops;
struct stat;

/*
 * Open `path` with `oflags` (O_NOFOLLOW and O_CLOEXEC added; with
 * O_CREAT it is made 0600) and fill `*st`, refusing a symbolic link,
 * anything but a regular file, a file of another user and one open to
 * group or others: the files of secrets, tokens and delivery ids.
 * Returns the descriptor, or ERR_NOTFOUND (no such file, without
 * O_CREAT), ERR_DENIED or ERR_IO with `err` saying why.
 */
int shops_open_private(const char *path, int oflags, struct stat *st, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 3, 4);

/*
 * Load `secrets_path` and, unless `tokens_path` is "", `tokens_path`
 * (every domain in it must be in the secrets file). `err` (size
 * `errlen`) gets "path:line: reason" or "path: reason". Caller frees
 * with shops_free(). Returns 0, ERR_INVAL (the format), ERR_DENIED
 * (owner, mode, a symbolic link, not a regular file), ERR_NOTFOUND
 * or ERR_IO.
 */
int shops_load(const char *secrets_path, const char *tokens_path,
    struct shops **out, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 2, 3, 4);

/* Number of shops. */
size_t shops_count(const struct shops *s) NONNULL(1);

/* Shop `i` (0..count-1); borrowed, valid until shops_free(). */
const struct shop *shops_get(const struct shops *s, size_t i) NONNULL(1);

/* The shop of `domain` (exact, lower case), or NULL. Borrowed. */
const struct shop *shops_find(const struct shops *s, const char *domain)
    NONNULL(1, 2);

/*
 * True when `hmac_header` is Shopify's signature of body[0..len) under
 * one of the shop's secrets (hmac.h). Any thread.
 */
bool shops_verify(const struct shop *shop, const void *body, size_t len,
    const char *hmac_header) NONNULL(1, 4);

/* Wipe and free. NULL is a no-op. */
void shops_free(struct shops *s);

#endif
