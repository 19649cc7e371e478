#!/usr/bin/env bash
# lint.sh - the source checks CI runs: formatting, banned functions, static
# analysis (cppcheck, clang-tidy)
#
#   bash scripts/lint.sh format   # clang-format --dry-run -Werror on *.c, *.h
#   bash scripts/lint.sh banned   # no sprintf/strcpy/strcat/gets/atoi/atol/
#                                 # strtok, and no raw malloc/calloc/realloc/
#                                 # strdup outside xmalloc.c and buf.c, in
#                                 # common/, collector/ and scorer/
#   bash scripts/lint.sh testdocs [BUILD]   # tests/README.md lists every
#                                 # ctest test of BUILD (and the fuzz.*
#                                 # harnesses, built only by the fuzz
#                                 # preset), and no test that does not exist
#   bash scripts/lint.sh cppcheck [BUILD]   # cppcheck over the .c files of
#   bash scripts/lint.sh tidy [BUILD]       # clang-tidy  common/, collector/,
#                                 # scorer/ and tools/ (any depth), compiled
#                                 # as BUILD/compile_commands.json says
#                                 # (default build/); configuration in
#                                 # .cppcheck-suppressions and .clang-tidy
#
# Registered with ctest as lint.format, lint.banned, lint.testdocs,
# lint.cppcheck and lint.tidy (label lint). Any finding fails. VIGIL_LINT_JOBS (default 2)
# sets how many files cppcheck and clang-tidy analyse at once.
# Exit status: 0 clean, 1 findings (printed), 2 usage or environment error
# (e.g. no compile_commands.json), 77 the tool is not installed (ctest
# reports the test as skipped; scripts/setup.sh installs them all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${VIGIL_LINT_JOBS:-2}

# need TOOL: exit 77 (skip) when TOOL is not installed.
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "lint: SKIP: $1 is not installed (scripts/setup.sh installs it)" >&2
        exit 77
    fi
}

# source_db BUILD OUT: write to OUT the entries of BUILD/compile_commands.json
# for the .c files under common/, collector/, scorer/ and tools/ (at any
# depth), and print those files, one per line.
source_db() {
    local db=$1/compile_commands.json
    if [ ! -f "$db" ]; then
        echo "lint: $db not found: configure $1 first (cmake -S . -B $1)" >&2
        exit 2
    fi
    /usr/bin/python3 - "$db" "$ROOT" "$2" <<'PYEOF'
import json, os, re, sys
db, root, out = sys.argv[1:]
rx = re.compile("^" + re.escape(root) + "/(common|collector|scorer|tools)/.*[.]c$")
keep, seen = [], set()
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if rx.match(f) and f not in seen:
        seen.add(f)
        keep.append(e)
        print(f)
json.dump(keep, open(out, "w"))
PYEOF
}

case "${1:-}" in
format)
    if ! command -v clang-format >/dev/null 2>&1; then
        echo "lint: SKIP: clang-format is not installed (scripts/setup.sh installs it)" >&2
        exit 77
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
testdocs)
    build=${2:-build}
    if ! names=$(ctest --test-dir "$build" -N 2>/dev/null |
        sed -n 's/^ *Test *#[0-9]*: //p'); then
        echo "lint: ctest -N failed in $build: configure it first" >&2
        exit 2
    fi
    /usr/bin/python3 - tests/README.md "$names" tests/fuzz <<'PYEOF'
import glob, os, re, sys
readme, names, fuzzdir = sys.argv[1], sys.argv[2].split(), sys.argv[3]
have = set(names)
# The fuzz harnesses are registered only when VIGIL_FUZZ is on.
for f in glob.glob(os.path.join(fuzzdir, "fuzz_*.c")):
    have.add("fuzz." + os.path.basename(f)[len("fuzz_"):-2])
text = open(readme).read()
listed = set(re.findall(r"`((?:unit|integ|lint|fuzz|bench)\.[a-z0-9_]+)`",
                        text))
status = 0
for n in sorted(have - listed):
    print("lint: %s: no line for the test %s" % (readme, n))
    status = 1
for n in sorted(listed - have):
    print("lint: %s: names %s, which is not a test (any more?)" % (readme, n))
    status = 1
if status == 0:
    print("lint: %s lists all %d tests" % (readme, len(have)))
sys.exit(status)
PYEOF
    ;;
cppcheck)
    need cppcheck
    build=${2:-build}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mapfile -t files < <(source_db "$build" "$tmp/compile_commands.json")
    [ "${#files[@]}" -gt 0 ] || { echo "lint: no sources in $build" >&2; exit 2; }
    mkdir -p "$build/cppcheck-cache"
    status=0
    cppcheck --project="$tmp/compile_commands.json" --std=c11 \
        --library=posix \
        --enable=warning,style,performance,portability \
        --suppress=missingIncludeSystem --inline-suppr \
        --suppressions-list=.cppcheck-suppressions \
        --cppcheck-build-dir="$build/cppcheck-cache" -j "$JOBS" --quiet \
        --error-exitcode=1 \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]' ||
        status=$?
    if [ "$status" -ne 0 ]; then
        echo "lint: cppcheck findings above (fix them, or see .cppcheck-suppressions)" >&2
        exit 1
    fi
    echo "lint: cppcheck: ${#files[@]} files clean"
    ;;
tidy)
    need clang-tidy
    build=${2:-build}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mapfile -t files < <(source_db "$build" "$tmp/compile_commands.json")
    [ "${#files[@]}" -gt 0 ] || { echo "lint: no sources in $build" >&2; exit 2; }
    # One clang-tidy per file, JOBS at a time; each file's output goes to
    # its own log so parallel runs do not interleave. The analyzer's path
    # budget is cut from 225000 to 75000 nodes per function: that halves
    # its CPU time (about 28 s instead of 53 s for the tree, on one core)
    # and on today's code it misses one finding of the 20, a duplicate
    # path to the same false positive.
    printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} sh -c '
        clang-tidy -p "$2" --config-file="$4/.clang-tidy" --quiet \
            --extra-arg=-Xclang --extra-arg=-analyzer-config \
            --extra-arg=-Xclang --extra-arg=max-nodes=75000 "$1" \
            >"$3/$(echo "$1" | tr / _).log" 2>&1 || true' _ {} "$build" \
        "$tmp" "$ROOT"
    # Drop the findings .clang-tidy-suppressions lists (check:path-glob);
    # print the others, whole (warning, source line, notes); fail on any.
    status=0
    /usr/bin/python3 - "$ROOT" .clang-tidy-suppressions "$tmp"/*.log <<'PYEOF' ||
import fnmatch, os, re, sys
root, supfile, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
sups = []
for n, line in enumerate(open(supfile), 1):
    line = line.rstrip("\n")
    if not line.strip() or line.startswith("#"):
        continue
    check, sep, glob = line.partition(":")
    if not sep or not check or not glob:
        sys.exit("lint: %s:%d: want check:path-glob, got %r" % (supfile, n, line))
    sups.append([check.strip(), glob.strip(), 0])
head = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): .*?(?: \[([^\]]+)\])?$")
shown = suppressed = 0
seen = set()
for log in logs:
    block, keep = [], False
    def flush():
        global shown
        if block and keep:
            key = block[0]
            if key not in seen:  # a header's finding repeats per file
                seen.add(key)
                print("\n".join(block))
                shown += 1
    for line in open(log, errors="replace"):
        line = line.rstrip("\n")
        if re.match(r"^\d+ warnings? (and \d+ errors? )?generated\.$", line) \
                or re.match(r"^\d+ errors? generated\.$", line):
            continue
        m = head.match(line)
        if m:
            flush()
            block, keep = [line], True
            path = os.path.relpath(m.group(1), root)
            checks = [c for c in (m.group(5) or "").split(",")
                      if c and c != "-warnings-as-errors"]
            for s in sups:
                if s[0] in checks and fnmatch.fnmatch(path, s[1]):
                    s[2] += 1
                    keep = False
            if not keep:
                suppressed += 1
        elif block:
            block.append(line)
        elif line.strip():
            print(line)  # clang-tidy's own errors (e.g. a bad database)
            shown += 1
    flush()
for check, glob, hits in sups:
    if hits == 0:
        print("lint: note: suppression %s:%s matched nothing: delete it"
              % (check, glob), file=sys.stderr)
print("lint: clang-tidy: %d findings, %d suppressed (.clang-tidy-suppressions)"
      % (shown, suppressed), file=sys.stderr)
sys.exit(1 if shown else 0)
PYEOF
        status=$?
    if [ "$status" -ne 0 ]; then
        echo "lint: clang-tidy findings above in ${#files[@]} files: fix them (see .clang-tidy)" >&2
        exit 1
    fi
    echo "lint: clang-tidy: ${#files[@]} files clean"
    ;;
*)
    echo "usage: lint.sh format|banned|testdocs [BUILD]|cppcheck [BUILD]|tidy [BUILD]" >&2
    exit 2
    ;;
esac
