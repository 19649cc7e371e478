/*
 * crashpoint.h - named points where a test may have the process killed
 *
 * The crash driver (tests/bench/crash.py) needs kills that land inside
 * the short windows that matter: an LMDB commit, a checkpoint, a journal
 * trim. With VIGIL_CRASHPOINT="name:N" in its environment a daemon sends
 * itself SIGKILL the Nth time it reaches crashpoint("name") (N defaults
 * to 1). With "name:N:MS" it pauses that thread MS milliseconds there
 * instead (a slow commit or sync on demand: a test that the thread which
 * waits for it is the one that should). Without the variable
 * crashpoint() is one load and one branch.
 * The names in use are listed in tests/bench/README.md.
 *
 * Invariants:
 *  - never set in production: a daemon that sees the variable says so
 *    in its log at start (crashpoint_init).
 *  - any thread may reach a crash point.
 *
 * See also: tests/bench/crash.py
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CRASHPOINT_H
#define COMMON_CRASHPOINT_H

#include "common/compiler.h"

#define CRASHPOINT_NAME_MAX 32

/* Read VIGIL_CRASHPOINT once, at start, before any thread exists. */
void crashpoint_init(void);

/* SIGKILL this process (or pause the calling thread) if `name` is the
 * armed point and its count is due. */
void crashpoint(const char *name) NONNULL(1);

#endif
