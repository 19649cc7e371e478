#!/bin/sh
# campaign.sh - a long libFuzzer campaign, one target at a time, at the
# lowest CPU priority: SECONDS per target (default 600) for each target
# named (default: all), from a copy of tests/fuzz/corpus/<target>/.
#
# Usage: tests/fuzz/campaign.sh BUILD-FUZZ-DIR OUT-DIR [SECONDS] [TARGET...]
# The harnesses are copied to OUT-DIR/bin first, so rebuilding the build
# directory during a campaign does not change what runs. Each target
# leaves OUT-DIR/<target>.log (libFuzzer's final stats: executions,
# exec/s, coverage), OUT-DIR/corpus-<target>/ (what it found) and any
# crash-*, leak-*, timeout-* or oom-* file in OUT-DIR/<target>/.
# A summary line per target goes to OUT-DIR/summary.txt.
#
# See also: tests/README.md (Fuzzing), tests/fuzz/CMakeLists.txt
#
# SPDX-License-Identifier: MIT
set -u
build=${1:?usage: campaign.sh BUILD-FUZZ-DIR OUT-DIR [SECONDS] [TARGET...]}
out=${2:?usage: campaign.sh BUILD-FUZZ-DIR OUT-DIR [SECONDS] [TARGET...]}
secs=${3:-600}
[ $# -ge 3 ] && shift 3 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"sfproto qproto ipcproto audit_record audit_log note cert cfg proof event wire"}
mkdir -p "$out/bin"
for t in $targets; do
    cp "$build/tests/fuzz_$t" "$out/bin/" || exit 1
done
for t in $targets; do
    mkdir -p "$out/corpus-$t" "$out/$t"
    cp -n "$here/corpus/$t/"* "$out/corpus-$t/" 2>/dev/null
    start=$(date -u +%H:%M:%S)
    (cd "$out/$t" && nice -n 19 "$out/bin/fuzz_$t" -max_total_time="$secs" \
        -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "$out/corpus-$t") >"$out/$t.log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
    found=$(ls "$out/$t" | wc -l)
    echo "$t start=$start secs=$secs rc=$rc runs=$runs exec/s=$eps $cov" \
        "artifacts=$found corpus=$(ls "$out/corpus-$t" | wc -l)" \
        >>"$out/summary.txt"
done
