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
