/*
 * pseudo.h - keyed pseudonyms of direct identifiers
 *
 * The collector replaces every direct identifier of an event (email,
 * phone, name, address, card, device id, IP address) with a keyed
 * pseudonym before the event leaves the process; the auditor's tools
 * compute the same pseudonym for a person's identifier to find their
 * records. Both must normalize the same way, so the rules are specified
 * here and nowhere else.
 *
 * Pseudonym = BLAKE2b (libsodium crypto_generichash), keyed with the
 * 32-byte pseudonym key, output PSEUDO_BYTES (16) bytes, over
 *     domain || 0x00 || normalized value
 * where domain is one of the ASCII strings "email", "phone", "name",
 * "address", "card", "device", "ip", "ip24", "ip16", "value", "event",
 * "account", "session", "order". The domain
 * separates kinds: the same string as an email and as a name gives
 * different pseudonyms. In Python:
 *     hashlib.blake2b(domain.encode() + b"\0" + value, key=key,
 *                     digest_size=16).hexdigest()
 *
 * Normalization (input is UTF-8; only ASCII is case-folded):
 *   email    leading/trailing whitespace trimmed, ASCII lower-cased.
 *   phone    only '+' and the digits 0-9 are kept ("+44 (20) 7946-0000"
 *            -> "+442079460000").
 *   name     trimmed, ASCII lower-cased, each run of whitespace (space,
 *            tab, CR, LF, VT, FF) becomes one space.
 *   address  name, street, city, postal and country each normalized as
 *            a name, joined with '\n' in that order (absent parts are
 *            empty strings): "alice smith\n1 high st\nlondon\nsw1a 1aa\ngb".
 *            Domain "address". An account.update of the address (one
 *            free-text value) is normalized as one name, domain
 *            "address".
 *   card     the digits of the card number; or, when there is no number,
 *            the fingerprint string exactly as given. Domain "card".
 *   device   exactly as given. Domain "device".
 *   ip24/ip16  the IPv4 /24 and /16 (IPv6 /48 and /32) of the address,
 *            as the decoder writes them ("203.0.113.0/24",
 *            "2001:db8::/32"). Domains "ip24" and "ip16".
 *   event, account, session, order, request, case   ids a client chose: the
 *            storefront's authenticated name, '\n', the id exactly as
 *            given (pseudo_scoped()). Domain: the kind.
 *   ip       the canonical inet_ntop() text of the parsed address
 *            ("2001:DB8::0001" -> "2001:db8::1"). Domain "ip".
 *   value    account.update's new value uses the domain of its field
 *            (email, phone, name, address) with that field's rule, so a
 *            new email matches the same email given at signup.
 *
 * Key file "<data_dir>/pseudonym.key": exactly 32 random bytes, mode
 * 0600, a regular file. Losing it makes old pseudonyms unmatchable;
 * leaking it lets anyone test guesses of identifiers.
 *
 * Invariants:
 *  - the key lives only in sodium_malloc'd, read-only memory and is
 *    wiped by pseudo_key_close().
 *  - pseudo_apply() leaves no raw identifier in struct event_pii.
 *
 * See also: event.h (struct event, struct event_pii), DESIGN.md promise 3
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_PSEUDO_H
#define COMMON_PSEUDO_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "common/compiler.h"

/* A keyed pseudonym: BLAKE2b-128 of a normalized identifier. */
#define PSEUDO_BYTES 16
struct pseudo {
    uint8_t b[PSEUDO_BYTES];
};

struct event;
struct event_pii;

#define PSEUDO_KEY_BYTES 32
#define PSEUDO_KEY_FILE  "pseudonym.key" /* inside keys_dir */

/* An opaque loaded key. */
struct pseudo_key;

/*
 * Load the key file at `path`. If it does not exist and `create` is
 * true, create it (O_CREAT|O_EXCL, mode 0600) with PSEUDO_KEY_BYTES
 * random bytes and fsync the file and its directory. Caller frees *out
 * with pseudo_key_close().
 *
 * Returns 0, ERR_NOTFOUND (missing and !create), ERR_DENIED (not a
 * regular file, not exactly 32 bytes, or readable/writable by group or
 * others; logged with the reason) or ERR_IO (logged).
 */
int pseudo_key_open(const char *path, bool create,
    struct pseudo_key **out) WARN_UNUSED NONNULL(1, 3);

/* Wipe and free the key. NULL is a no-op. */
void pseudo_key_close(struct pseudo_key *k);

/*
 * Compute the pseudonym of an already normalized value of `len` bytes
 * under `domain` (a NUL-terminated ASCII string) into `out`.
 */
void pseudo_compute(const struct pseudo_key *k, const char *domain,
    const char *normalized, size_t len, struct pseudo *out) NONNULL(1, 2, 5);

/*
 * Normalize one raw identifier of `kind` ("email", "phone", "name",
 * "address", "card", "device", "ip") by the rules above and
 * compute its pseudonym. For "address" `raw` is the already '\n'-joined
 * parts (each part normalized as a name). For "card", `raw` with at
 * least one digit and only digits, spaces and dashes is a number;
 * anything else is a fingerprint. Used for subject reports (the same
 * bytes as the collector's). Ids a storefront chooses (account, order,
 * ...) go through pseudo_scoped(). Temporary copies are wiped.
 *
 * Returns 0, ERR_INVAL (unknown kind, unparsable IP address, empty
 * result) or ERR_TOOBIG (raw longer than 1024 bytes).
 */
int pseudo_identifier(const struct pseudo_key *k, const char *kind,
    const char *raw, struct pseudo *out) WARN_UNUSED NONNULL(1, 2, 3, 4);

/*
 * Compute the pseudonym of an id that storefront (or client)
 * `storefront` chose: `kind` is "event", "account", "session", "order"
 * "request" (a query's id, for its audit record's ref) or "case" (a
 * query's case reference, keyed to its storefront or "-"); the value
 * hashed is "<storefront>\n<id>" under domain `kind`, so two shops'
 * "acct-1" are two people. Returns 0, ERR_INVAL (unknown kind, empty storefront
 * or id) or ERR_TOOBIG (either over 128 bytes).
 */
int pseudo_scoped(const struct pseudo_key *k, const char *kind,
    const char *storefront, const char *id, struct pseudo *out) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 5);

/*
 * Replace the raw identifiers of one decoded event from storefront
 * `storefront` by their pseudonyms: the event id pii->id (always) and, for
 * each of EVENT_HAS_ACCOUNT, SESSION, ORDER (scoped, pseudo_scoped()),
 * DEVICE, IP (the address, and its prefixes under domains "ip24" and
 * "ip16"), EMAIL, PHONE, NAME, CARD (the fingerprint, else the number),
 * BILLING, SHIPPING and VALUE set in ev->has, compute the pseudonym from
 * `pii` into the matching field of `ev`; then wipe the whole of `pii`
 * (sodium_memzero), also when no bit is set. An IP that does not parse
 * is hashed as given (the decoder already checked it). `storefront` and
 * the ids must be 1..128 bytes (the decoder's bounds).
 */
void pseudo_apply(const struct pseudo_key *k, const char *storefront,
    struct event *ev, struct event_pii *pii) NONNULL(1, 2, 3, 4);

/*
 * The key's id: pseudo_compute(k, "key-id", "") in hex. It names the key
 * (a keyed hash of a constant) without revealing anything of it: the
 * scorer commits it to the audit log and to history, so that data
 * pseudonymized under one key is never read or reported with another.
 */
#define PSEUDO_KEY_ID_HEX (2 * PSEUDO_BYTES)
void pseudo_key_id(const struct pseudo_key *k, char out[PSEUDO_KEY_ID_HEX + 1])
    NONNULL(1, 2);

/* Write the lower-case hex of `p` and a NUL into `out`. */
void pseudo_hex(const struct pseudo *p, char out[2 * PSEUDO_BYTES + 1])
    NONNULL(1, 2);

#endif
