#!/usr/bin/env bash
# test.sh - install what is missing, build, run every test but the benchmark
#
# Runs scripts/setup.sh (idempotent), then ctest over build/: the unit
# tests (unit.*), the integration scenarios (integ.*), which start the
# real daemons on 127.0.0.1 and ipc:// in temp directories, and the source
# checks (lint.*: format, banned functions, tests/README.md, cppcheck,
# clang-tidy). The benchmark (bench.main, label bench) is left out: run it
# with `ctest --test-dir build -L bench` (or `ctest --preset bench` on a
# release build). A test that cannot run here is reported as skipped.
# Exits with ctest's status and repeats its summary line last.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

log=build/ctest.log
set +e
ctest --test-dir build --output-on-failure -j2 -LE bench 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
    echo "test: ctest ran no test (see $log)" >&2
    [ "$status" -ne 0 ] || status=1
else
    echo
    echo "$summary"
fi
exit "$status"
