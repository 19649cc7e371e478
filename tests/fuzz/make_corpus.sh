#!/usr/bin/env bash
# make_corpus.sh - regenerate the fuzz seed corpus, tests/fuzz/corpus/
#
#   bash tests/fuzz/make_corpus.sh [BUILD]     # default build/
#
# Runs BUILD/tests/make_corpus (tests/fuzz/make_corpus.c: real frames,
# records, logs, notes, certificates and configs made by the product's
# encoders and writers) and adds the proof seeds: `vigilctl audit prove
# ... --json` over the audit log it wrote, signed with the fixed key of
# tests/fuzz/fuzzutil.h. Replaces tests/fuzz/corpus/ with the result;
# review with `git status tests/fuzz/corpus` and commit.
# Exit status: 0 done, 1 a step failed, 2 usage (BUILD not built).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
gen=$build/tests/make_corpus
ctl=$build/bin/vigilctl
if [ ! -x "$gen" ] || [ ! -x "$ctl" ]; then
    echo "make_corpus.sh: build $build first (cmake --build $build)" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$gen" "$work/corpus" "$work"
mkdir -p "$work/corpus/proof"
# FUZZ_VKEY of tests/fuzz/fuzzutil.h: the log is signed with its fixed key.
vkey=fuzz.vigil.test/audit+43e8545a+Acn9jN+vtBJTKFAmbtCDfqTys47WcAscoruuDiDFsl7P
"$ctl" audit prove inclusion "$work/audit" 5 --key "$vkey" \
    > "$work/corpus/proof/inclusion.json"
"$ctl" audit prove inclusion "$work/audit" 0 --size 4 --key "$vkey" \
    > "$work/corpus/proof/inclusion-first.json"
"$ctl" audit prove consistency "$work/audit" 4 12 --key "$vkey" \
    > "$work/corpus/proof/consistency.json"
# The issue-9 regression: jansson's double free on this 64-byte file.
printf '%s' '{"a":["s1","s2","s3","s4","s5","s6","s7","s8","s9"],"b":{"c" x}}' \
    > "$work/corpus/proof/double-free.json"
rm -rf tests/fuzz/corpus
cp -r "$work/corpus" tests/fuzz/corpus
echo "make_corpus.sh: $(find tests/fuzz/corpus -type f | wc -l) seeds in" \
    "tests/fuzz/corpus/"
