/*
 * toolopt.h - the command-line refusals every Vigil tool shares
 *
 * The tools (vigil-load, vigil-replay, vigil-train, ...) refuse a bad
 * command line the same way: the usage, or one line naming the option,
 * its value and the rule, on stderr, and exit status TOOL_EXIT_USAGE.
 * Each tool keeps its own usage text and option table; this is the
 * refusal they have in common, and the parsing of a bounded number
 * that refuses that way. Called from main() only, before any
 * thread starts.
 *
 * See also: tools/vigil-load.1, tools/vigil-replay.1, tools/vigil-train.1
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_TOOLOPT_H
#define COMMON_TOOLOPT_H

#include <stdint.h>

#include "common/compiler.h"

/* The exit status of a usage error, in every tool. */
#define TOOL_EXIT_USAGE 2

/* Print `usage` (whole lines) to stderr and exit TOOL_EXIT_USAGE. */
NORETURN void tool_usage(const char *usage) NONNULL(1);

/*
 * Print "<prog>: --<name> '<val>': <rule>" to stderr and exit
 * TOOL_EXIT_USAGE. The value is an argument of the caller's own command
 * line, never personal data from elsewhere.
 */
NORETURN void tool_bad_opt(const char *prog, const char *name, const char *val,
    const char *rule) NONNULL(1, 2, 3, 4);

/*
 * Parse `val`, the value of option --`name`, as a decimal integer in
 * min..max (text_parse_u64's rules) and return it; otherwise refuse it
 * through tool_bad_opt: "must be MIN..MAX", or "must be an unsigned
 * integer" when the range is the whole of uint64_t.
 */
uint64_t tool_opt_u64(const char *prog, const char *name, const char *val,
    uint64_t min, uint64_t max) NONNULL(1, 2, 3);

/*
 * Parse `val`, the value of option --`name`, as a number in min..max
 * (text_parse_double's rules) and return it; otherwise refuse it
 * through tool_bad_opt with `rule` (say, "must be 0..1").
 */
double tool_opt_double(const char *prog, const char *name, const char *val,
    double min, double max, const char *rule) NONNULL(1, 2, 3, 6);

#endif
