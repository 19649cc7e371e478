/*
 * harden.h - what a daemon does to itself and checks of what it trusts
 *
 * Called in the daemons' start-up checklist (main): harden_process()
 * first (umask 077, no core dumps, not dumpable: a dump would hold raw
 * identifiers and keys); as root, harden_service_dir() on the keys and
 * data directories (made and given to the service user) and then
 * harden_drop() to that user, before any key, file or socket is
 * opened; then harden_dir()/harden_file() on every directory and secret
 * they use (the StrictModes rule of sshd: owned by the effective user,
 * nothing for group or others, no symbolic links). Everything the
 * service creates is therefore its user's, and a SIGHUP reload reads
 * the allow-list with the same rights as the start did. vigilctl's key
 * commands become the keys directory's owner the same way
 * (harden_become_owner). Any thread; no state.
 *
 * See also: scorer/scorer.8 and collector/collector.8 "SECURITY",
 *           examples/systemd/
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_HARDEN_H
#define COMMON_HARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/compiler.h"

/*
 * Set umask 077, forbid core dumps (RLIMIT_CORE 0) and ptrace-style
 * dumps (PR_SET_DUMPABLE 0). Returns 0 or ERR_IO (logged).
 */
int harden_process(void) WARN_UNUSED;

/*
 * Check directory `path`: a directory (not a symbolic link), owned by
 * the effective user (or, when `owner` is not (uid_t)-1, by `owner`),
 * with no permission for group or others. With `create`, a missing
 * directory is made with mode 0700 (its parent must exist). `err` (size
 * `errlen`) gets "<path>: <what is wrong and how to fix it>".
 * Returns 0, ERR_NOTFOUND (missing, !create), ERR_DENIED (wrong owner,
 * mode or type) or ERR_IO.
 */
int harden_dir(const char *path, bool create, uid_t owner, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 4);

/*
 * Check file `path` like harden_dir() (a regular file, owned by the
 * effective user, no permission for group or others).
 * Returns 0, ERR_NOTFOUND, ERR_DENIED or ERR_IO.
 */
int harden_file(const char *path, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 2);

/* Who a daemon runs as once started (harden_user_resolve()). */
struct harden_user {
    uid_t uid;
    gid_t gid;
    bool drop; /* started as root: drop to uid/gid before opening keys */
};

/*
 * Decide who the daemon runs as: when the effective user is root and
 * `name` is not empty, that user (looked up now; harden_drop() later);
 * otherwise the effective user itself. `err` says what to do when the
 * user does not exist. Returns 0, ERR_NOTFOUND or ERR_IO.
 */
int harden_user_resolve(const char *name, struct harden_user *u, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Prepare a directory of the service (keys_dir, data_dir) that will run
 * as uid/gid: create it (0700) when missing, and when this process is
 * root and made it, give it to uid/gid; then check it as harden_dir()
 * would for that owner. When another process made it between the check
 * and the mkdir (the scorer and the collector start together on the
 * same directories), wait up to 2 s for it to be given to uid first.
 * Returns as harden_dir().
 */
int harden_service_dir(const char *path, uid_t uid, gid_t gid, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 4);

/*
 * For tools run by an administrator (vigilctl client ...): when running
 * as root, become the user who owns directory `dir` (its owner when it
 * exists; else user `name` when that user exists, after making `dir`
 * for it with harden_service_dir()), so that what the tool creates
 * there belongs to the service. Root stays root when the owner is root
 * or `name` is "" or unknown. Not root: nothing to do. Returns 0,
 * ERR_DENIED or ERR_IO (`err` says why).
 */
int harden_become_owner(const char *dir, const char *name, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Look up user `name` for harden_drop(): `*uid`/`*gid` get its ids.
 * Returns 0, ERR_NOTFOUND (no such user) or ERR_IO.
 */
int harden_lookup_user(const char *name, uid_t *uid, gid_t *gid) WARN_UNUSED
    NONNULL(1, 2, 3);

/*
 * Drop from root to `uid`/`gid` for good (supplementary groups cleared,
 * real, effective and saved ids all set, PR_SET_NO_NEW_PRIVS), then
 * check that regaining root fails. Returns 0 or ERR_IO (logged: the
 * caller must exit).
 */
int harden_drop(uid_t uid, gid_t gid) WARN_UNUSED;

#endif
