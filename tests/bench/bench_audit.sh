#!/bin/bash
# bench_audit.sh - the audit log at scale (issue 8 targets): verify speed,
# and proofs read from the tiles, on a log of N records (default 10M).
#
#   bash tests/bench/bench_audit.sh BUILD_DIR [N] [WORK_DIR]
#
# Writes N deterministic records through the real writer (gen_audit_log,
# a checkpoint every 100,000), then times:
#   - sha256sum of the segment bytes (the hashing floor on this machine)
#   - vigilctl audit verify --key            (target >= 1M records/s)
#   - vigilctl audit prove inclusion, 5 indexes spread over the log, each
#     built from the tiles (O(log n) hashes) and checked against the
#     signed root                            (target < 1 s each)
#   - vigilctl audit prove consistency between two signed sizes
#                                            (target < 1 s)
#   - a subject lookup's worth of proofs: 20 records of one subject proven
#     in one tree (prove inclusion x 20)     (target < 1 s in all)
#   - one subject-report page as the scorer reads it (scorer/prove.c,
#     64 records with their proofs, tests/unit/test_prove.c bench): from
#     the tiles (target < 1 s), then by the whole-log pass it replaced
# Prints one line per figure; the work directory (about 200 bytes per
# record on disk) is removed at the end unless WORK_DIR was given.
# Not part of any default run (2-core shared machine: run it alone).
#
# SPDX-License-Identifier: MIT
set -euo pipefail

build=${1:?usage: bench_audit.sh BUILD_DIR [N] [WORK_DIR]}
n=${2:-10000000}
work=${3:-}
keep=1
if [ -z "$work" ]; then
    work=$(mktemp -d /tmp/vigil-bench-audit-XXXXXX)
    keep=0
fi
ctl=$build/bin/vigilctl
gen=$build/tests/gen_audit_log
log=$work/log
trap '[ $keep = 1 ] || rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

t0=$(now)
key=$("$gen" gen "$log" "$n" 100000)
t1=$(now)
printf 'gen        %d records in %.1f s (%s)\n' "$n" "$(secs "$t0" "$t1")" \
    "$(du -sh "$log" | cut -f1)"

t0=$(now)
cat "$log"/records-*.log | sha256sum >/dev/null
t1=$(now)
s=$(secs "$t0" "$t1")
printf 'sha256sum  %.2f s = %.0f records/s (the hashing floor)\n' "$s" \
    "$(echo "$n / $s" | bc -l)"

t0=$(now)
"$ctl" audit verify "$log" --key "$key" >"$work/verify.out"
t1=$(now)
s=$(secs "$t0" "$t1")
printf 'verify     %.2f s = %.0f records/s (target >= 1,000,000)\n' "$s" \
    "$(echo "$n / $s" | bc -l)"

worst=0
for i in 0 $((n / 4)) $((n / 2)) $((n - 100001)) $((n - 1)); do
    t0=$(now)
    "$ctl" audit prove inclusion "$log" "$i" --key "$key" >"$work/p.json"
    t1=$(now)
    "$ctl" audit check-proof "$work/p.json" --key "$key" >/dev/null
    s=$(secs "$t0" "$t1")
    printf 'inclusion  record %d: %.3f s (target < 1 s)\n' "$i" "$s"
done

old=$(( (n / 200000) * 100000 ))
[ "$old" -gt 0 ] || old=$n
t0=$(now)
"$ctl" audit prove consistency "$log" "$old" "$n" --key "$key" >"$work/c.json"
t1=$(now)
"$ctl" audit check-proof "$work/c.json" --key "$key" >/dev/null
printf 'consistency %d -> %d: %.3f s (target < 1 s)\n' "$old" "$n" \
    "$(secs "$t0" "$t1")"

t0=$(now)
for k in $(seq 0 19); do
    "$ctl" audit prove inclusion "$log" $(( (k * 7919 * 1000) % n )) \
        --key "$key" >/dev/null
done
t1=$(now)
printf 'subject    20 proofs (one subject'"'"'s records): %.3f s (target < 1 s)\n' \
    "$(secs "$t0" "$t1")"

"$build/tests/test_prove" bench "$log" "$key" 64 2>/dev/null |
    sed 's/^/report     /; s/$/ (target < 1 s: tiles)/'
