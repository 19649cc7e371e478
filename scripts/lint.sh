#!/usr/bin/env bash
# lint.sh - the source checks CI runs: formatting and banned functions
#
#   bash scripts/lint.sh format   # clang-format --dry-run -Werror on *.c, *.h
#   bash scripts/lint.sh banned   # no sprintf/strcpy/strcat/gets/atoi/atol/
#                                 # strtok, and no raw malloc/calloc/realloc/
#                                 # strdup outside xmalloc.c and buf.c, in
#                                 # common/, collector/ and scorer/
#
# Registered with ctest as lint.format and lint.banned (label lint).
# Exit status: 0 clean, 1 findings (printed), 2 usage or missing tool.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
format)
    if ! command -v clang-format >/dev/null 2>&1; then
        echo "lint: clang-format is not installed (scripts/setup.sh installs it)" >&2
        exit 2
    fi
    mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null ||
        find common collector scorer tools tests -name '*.[ch]')
    if ! clang-format --dry-run -Werror "${files[@]}"; then
        echo "lint: run clang-format -i on the files above" >&2
        exit 1
    fi
    echo "lint: ${#files[@]} files formatted"
    ;;
banned)
    status=0
    if grep -nE '\b(sprintf|strcpy|strcat|gets|atoi|atol|strtok)[[:space:]]*\(' \
        common/*.c collector/*.c scorer/*.c | grep -vE '\b(snprintf|vsnprintf)\('; then
        echo "lint: banned string functions above" >&2
        status=1
    fi
    if grep -nE '(^|[^_a-z])(malloc|calloc|realloc|strdup)[[:space:]]*\(' \
        common/*.c collector/*.c scorer/*.c |
        grep -vE '^common/(xmalloc|buf)\.c:'; then
        echo "lint: raw allocation above: use xmalloc.h" >&2
        status=1
    fi
    [ "$status" -ne 0 ] || echo "lint: no banned functions"
    exit "$status"
    ;;
*)
    echo "usage: lint.sh format|banned" >&2
    exit 2
    ;;
esac
