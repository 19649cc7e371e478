/*
 * compiler.h - attribute macros shared by every module
 *
 * Public prototypes mark error-returning functions WARN_UNUSED and
 * pointer parameters that must not be NULL with NONNULL(...), so the
 * compiler catches an ignored rc or a NULL argument at the call site.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_COMPILER_H
#define COMMON_COMPILER_H

#define WARN_UNUSED       __attribute__((warn_unused_result))
#define NONNULL(...)      __attribute__((nonnull(__VA_ARGS__)))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN          __attribute__((noreturn))
#define UNUSED            __attribute__((unused))

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
