#!/usr/bin/env bash
# coverage.sh - line coverage of the whole test suite, per folder
#
# Idempotent. Installs what is missing (scripts/setup.sh without its
# build, then gcovr), configures and builds the `coverage` preset (gcc,
# Debug, --coverage) into build-coverage/, clears the previous counts,
# runs the suite as `ctest --preset coverage` does (everything but the
# bench label; extra arguments go to ctest, e.g. -E '^lint\.' to
# skip the linters, which run no product code: ctest 3.25
# ignores -LE beside --preset, the preset's label filter wins), and
# prints line coverage of
# common/, collector/, scorer/ and tools/ with gcovr, plus the total.
# Per-file detail: build-coverage/coverage/index.html.
#
#   bash scripts/coverage.sh
#   bash scripts/coverage.sh -E '^lint\.'
#
# Exit status: 0 the suite passed and the report was printed, 1 some test
# failed (the report is printed all the same), 2 packages could not be
# installed or the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-coverage
FOLDERS=(common collector scorer tools)

VIGIL_SETUP_NO_BUILD=1 bash scripts/setup.sh || exit 2
if ! command -v gcovr >/dev/null 2>&1; then
    echo "coverage: installing gcovr"
    SUDO=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "coverage: gcovr is missing and this is not root" >&2
            exit 2
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get update -q ||
       ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends gcovr; then
        echo "coverage: apt-get could not install gcovr" >&2
        exit 2
    fi
fi

echo "coverage: building the coverage preset into $BUILD/"
if ! cmake --preset coverage >/dev/null ||
   ! cmake --build --preset coverage -j2 >/dev/null; then
    echo "coverage: configure or build failed (cmake --build --preset coverage)" >&2
    exit 2
fi
# Counts of this run only.
find "$BUILD" -name '*.gcda' -delete
# Drop the notes (and objects) of sources that no longer exist: CMake
# keeps them when a file is removed or renamed, and gcovr would report
# them. <sub>/CMakeFiles/<target>.dir/<path>.gcno is from <sub>/<path>.
/usr/bin/python3 - "$BUILD" <<'PYEOF'
import os, sys
build = sys.argv[1]
for d, _, files in os.walk(build):
    for f in files:
        if not f.endswith(".gcno"):
            continue
        parts = os.path.relpath(os.path.join(d, f), build).split(os.sep)
        if "CMakeFiles" not in parts:
            continue
        i = parts.index("CMakeFiles")
        if i + 2 >= len(parts) or not parts[i + 1].endswith(".dir"):
            continue
        src = os.path.join(*(parts[:i] + parts[i + 2:]))[:-len(".gcno")]
        if not os.path.exists(src):
            gcno = os.path.join(d, f)
            print("coverage: %s is gone: dropping %s" % (src, gcno))
            os.remove(gcno)
            obj = gcno[:-len(".gcno")] + ".o"
            if os.path.exists(obj):
                os.remove(obj)
PYEOF

status=0
ctest --preset coverage -j2 "$@" || status=1

filters=()
for f in "${FOLDERS[@]}"; do
    filters+=(--filter "$f/")
done
mkdir -p "$BUILD/coverage"
# No -j: gcovr 5.2's worker pool hangs when a gcov file fails to parse.
gcovr --root . "${filters[@]}" \
    --json-summary "$BUILD/coverage/summary.json" \
    --html-details "$BUILD/coverage/index.html" "$BUILD" >/dev/null

/usr/bin/python3 - "$BUILD/coverage/summary.json" "${FOLDERS[@]}" <<'PYEOF'
import json, sys
summary, folders = sys.argv[1], sys.argv[2:]
files = json.load(open(summary))["files"]
print()
print("line coverage (gcovr, %s)" % summary)
print("%-12s %8s %8s %7s" % ("folder", "lines", "covered", "%"))
tot = cov = 0
for d in folders:
    fs = [f for f in files if f["filename"].startswith(d + "/")]
    n = sum(f["line_total"] for f in fs)
    c = sum(f["line_covered"] for f in fs)
    tot, cov = tot + n, cov + c
    print("%-12s %8d %8d %6.1f%%" % (d + "/", n, c, 100.0 * c / n if n else 0))
print("%-12s %8d %8d %6.1f%%" % ("total", tot, cov, 100.0 * cov / tot if tot else 0))
PYEOF
if [ "$status" -ne 0 ]; then
    echo "coverage: some tests failed (see above); the figures cover the run as it went" >&2
fi
exit "$status"
