/*
 * err.c - names and descriptions of the ERR_* codes
 *
 * Pure tables; no state.
 *
 * SPDX-License-Identifier: MIT
 */
#include "common/err.h"

static const struct {
    const char *name;
    const char *str;
} err_table[] = {
    { "ok", "ok" },
    { "invalid", "invalid value" },
    { "malformed", "malformed input" },
    { "too_big", "input too big" },
    { "not_found", "not found" },
    { "exists", "already exists" },
    { "full", "storage full" },
    { "again", "try again" },
    { "io", "input/output error" },
    { "corrupt", "stored data is corrupt" },
    { "denied", "permission denied" },
    { "shutdown", "shutting down" },
    { "audit", "audit record could not be written" },
    { "unavailable", "service unavailable" },
    { "conflict", "id already used for a different request" },
    { "busy", "over quota or overloaded: retry later" },
};

_Static_assert(sizeof(err_table) / sizeof(err_table[0]) == ERR_COUNT,
    "one name per ERR_* code");

static int
err_index(int rc)
{
    if (rc > 0 || rc < ERR_MIN)
        return -1;
    return -rc;
}

const char *
err_str(int rc)
{
    int i = err_index(rc);

    return i < 0 ? "unknown error" : err_table[i].str;
}

const char *
err_name(int rc)
{
    int i = err_index(rc);

    return i < 0 ? "unknown" : err_table[i].name;
}
