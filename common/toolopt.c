/*
 * toolopt.c - the command-line refusals every Vigil tool shares (see
 *             toolopt.h)
 *
 * See also: toolopt.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/text.h"
#include "common/toolopt.h"

void
tool_usage(const char *usage)
{
    fputs(usage, stderr);
    exit(TOOL_EXIT_USAGE);
}

void
tool_bad_opt(
    const char *prog, const char *name, const char *val, const char *rule)
{
    fprintf(stderr, "%s: --%s '%s': %s\n", prog, name, val, rule);
    exit(TOOL_EXIT_USAGE);
}

uint64_t
tool_opt_u64(const char *prog, const char *name, const char *val, uint64_t min,
    uint64_t max)
{
    uint64_t u;
    char rule[64];

    if (!text_parse_u64(val, min, max, &u)) {
        if (min == 0 && max == UINT64_MAX)
            tool_bad_opt(prog, name, val, "must be an unsigned integer");
        snprintf(rule, sizeof(rule), "must be %llu..%llu",
            (unsigned long long)min, (unsigned long long)max);
        tool_bad_opt(prog, name, val, rule);
    }
    return u;
}

double
tool_opt_double(const char *prog, const char *name, const char *val, double min,
    double max, const char *rule)
{
    double d;

    if (!text_parse_double(val, min, max, &d))
        tool_bad_opt(prog, name, val, rule);
    return d;
}
