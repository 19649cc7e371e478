#!/usr/bin/env bash
# bench_main.sh - Vigil's main benchmark: each figure beside its floor
#
# Starts vigil-scorer and vigil-collector from BUILD_DIR/bin on a fresh
# temporary data directory and free loopback ports, drives them with
# vigil-load, and prints a table: scenario | vigil | floor | ratio |
# target, where every floor (bare libzmq echo, bare LMDB puts, bare
# append+fdatasync) is measured in the same run on the same machine and
# file system. Builds nothing; not part of ctest (timings, not checks).
#
# Usage: tests/bench/bench_main.sh [BUILD_DIR]       (default ./build)
#
# Environment (all optional):
#   BENCH_RUNS=3          runs per scenario; the table shows the median
#   BENCH_DURATION=4      seconds per timed run
#   BENCH_RSS_EVENTS="200000 500000"
#                         scorer RSS checkpoints, in events sent in total
#   BENCH_LONG=1          RSS checkpoints at 1M and 5M events instead
#   BENCH_RSS_MAX_S=300   time cap for reaching each RSS checkpoint
#   BENCH_LMDB_KEYS=1000000  keys of the LMDB put floor
#   BENCH_DIR=$TMPDIR     where the temporary directory goes (data dir,
#                         floor files: put it on the disk you measure)
#   BENCH_KEEP=1          keep the temporary directory (logs, JSON)
#
# Exit status: 0 the bench ran (missed targets are reported, not
# failed), 1 vigil-load saw malformed replies, 2 usage or environment
# error (missing binary, service did not start).
#
# See also: tests/bench/README.md, tools/vigil-load.1
#
# SPDX-License-Identifier: MIT

set -euo pipefail

BUILD=${1:-./build}
BIN=$BUILD/bin
RUNS=${BENCH_RUNS:-3}
DUR=${BENCH_DURATION:-4}
if [[ -n ${BENCH_RSS_EVENTS:-} ]]; then
    RSS_EVENTS=$BENCH_RSS_EVENTS
elif [[ ${BENCH_LONG:-0} == 1 ]]; then
    RSS_EVENTS="1000000 5000000"
else
    RSS_EVENTS="200000 500000"
fi
RSS_MAX_S=${BENCH_RSS_MAX_S:-300}
LMDB_KEYS=${BENCH_LMDB_KEYS:-1000000}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

die() {
    echo "bench_main: $*" >&2
    exit 2
}

if [[ $# -gt 1 || ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,/^# SPDX/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
for b in vigil-scorer vigil-collector vigil-load bench-floor-zmq \
    bench-floor-lmdb; do
    [[ -x $BIN/$b ]] || die "'$BIN/$b' is missing: build first (cmake --build $BUILD)"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $DUR =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be whole seconds"

WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vigil-bench.XXXXXX")
DATA=$WORK/data
RES=$WORK/results
mkdir -p "$DATA" "$RES" "$WORK/floor"
SCORER_PID=
COLLECTOR_PID=
STATUS=0

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    # Stop only what this script started, by pid: collector first.
    for pid in $COLLECTOR_PID $SCORER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $COLLECTOR_PID $SCORER_PID; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        echo "bench_main: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# json FILE KEY: one field of a one-object JSON file.
json() {
    "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

say() {
    echo "== $*" >&2
}

# ---------------------------------------------------------------- setup

say "machine: $(nproc) CPUs, $(uname -sr), $(df -T "$WORK" | awk 'NR==2 {print $2 " on " $7}')"
say "work dir $WORK; $RUNS runs x ${DUR}s per scenario"

# Event sizes of the generated stream, so the echo floor moves the same
# bytes: mixed traffic for the throughput floors, orders for latency.
"$BIN/vigil-load" --dry-run --duration 1 --batch 100 --quiet --json \
    >"$RES/size_mixed.json"
"$BIN/vigil-load" --dry-run --duration 1 --batch 1 --orders-only --quiet \
    --json >"$RES/size_orders.json"
SIZE_MIXED=$("$PY" -c 'import json, sys; print(max(8, round(json.load(open(sys.argv[1]))["bytes_per_event"])))' "$RES/size_mixed.json")
SIZE_ORDER=$("$PY" -c 'import json, sys; print(max(8, round(json.load(open(sys.argv[1]))["bytes_per_event"])))' "$RES/size_orders.json")
say "event sizes: mixed $SIZE_MIXED B, order $SIZE_ORDER B"

# --------------------------------------------------------------- floors

say "floors: zmq echo"
for i in $(seq "$RUNS"); do
    "$BIN/bench-floor-zmq" --connections 4 --batch 100 --size "$SIZE_MIXED" \
        --duration "$DUR" --json >"$RES/floor_batch.$i.json"
    "$BIN/bench-floor-zmq" --connections 16 --batch 1 --size "$SIZE_MIXED" \
        --duration "$DUR" --json >"$RES/floor_single.$i.json"
    "$BIN/bench-floor-zmq" --connections 4 --batch 1 --size "$SIZE_ORDER" \
        --rate 2000 --duration "$DUR" --json >"$RES/floor_orders.$i.json"
done
say "floors: lmdb put (synced, unsynced), append+fdatasync"
"$BIN/bench-floor-lmdb" --dir "$WORK/floor" --mode put --keys "$LMDB_KEYS" \
    --batch 100 --size 300 --runs "$RUNS" --duration 3 --json \
    >"$RES/floor_lmdb_sync.json"
"$BIN/bench-floor-lmdb" --dir "$WORK/floor" --mode put --nosync \
    --keys "$LMDB_KEYS" --batch 100 --size 300 --runs "$RUNS" --duration 3 \
    --json >"$RES/floor_lmdb_nosync.json"
"$BIN/bench-floor-lmdb" --dir "$WORK/floor" --mode append --batch 100 \
    --size 300 --runs "$RUNS" --duration 2 --json >"$RES/floor_append.json"

# -------------------------------------------------------------- service

EPORT=$(free_port)
QPORT=$(free_port)
EP=tcp://127.0.0.1:$EPORT
say "start vigil-scorer and vigil-collector (events $EP)"
"$BIN/vigil-scorer" -d -o "data_dir=$DATA" \
    -o "query_endpoint=tcp://127.0.0.1:$QPORT" >"$WORK/scorer.log" 2>&1 &
SCORER_PID=$!
"$BIN/vigil-collector" -d -o "data_dir=$DATA" -o "events_endpoint=$EP" \
    >"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!

ready=0
for _ in $(seq 20); do
    for pid in $SCORER_PID $COLLECTOR_PID; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$WORK/scorer.log" "$WORK/collector.log" >&2
            die "a daemon exited during start-up"
        fi
    done
    # vigil-load's own probe waits up to 5 s for the first answer.
    if "$BIN/vigil-load" --endpoint "$EP" --rate 10 --duration 0.1 \
        --quiet --json >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.5
done
if [[ $ready != 1 ]]; then
    tail -n 20 "$WORK/scorer.log" "$WORK/collector.log" >&2
    die "the service did not answer at $EP"
fi

TOTAL_EVENTS=0
# load NAME ARGS...: one vigil-load run into $RES/NAME.json.
load() {
    local name=$1 rc=0
    shift
    "$BIN/vigil-load" --endpoint "$EP" --quiet --json "$@" \
        >"$RES/$name.json" 2>"$RES/$name.err" || rc=$?
    if [[ $rc == 2 || ! -s $RES/$name.json ]]; then
        cat "$RES/$name.err" >&2
        die "vigil-load failed in '$name' (status $rc)"
    fi
    [[ $rc == 0 ]] || STATUS=1
    TOTAL_EVENTS=$((TOTAL_EVENTS + $(json "$RES/$name.json" sent)))
}

say "vigil: batches of 100, 4 connections, flat out"
for i in $(seq "$RUNS"); do
    load "vigil_batch.$i" --connections 4 --batch 100 --duration "$DUR"
done
say "vigil: single events, 16 connections, flat out"
for i in $(seq "$RUNS"); do
    load "vigil_single.$i" --connections 16 --batch 1 --duration "$DUR"
done
say "vigil: orders only at 2,000/s, 4 connections"
for i in $(seq "$RUNS"); do
    load "vigil_orders.$i" --orders-only --rate 2000 --connections 4 \
        --batch 1 --duration "$DUR"
done

# Scorer memory after N events in total (the scenarios above count).
n=0
for target in $RSS_EVENTS; do
    n=$((n + 1))
    if ((TOTAL_EVENTS < target)); then
        say "vigil: topping up to $target events for the RSS reading"
        load "rss_load.$n" --connections 4 --batch 100 \
            --events $((target - TOTAL_EVENTS)) --duration "$RSS_MAX_S"
    fi
    if ! kill -0 "$SCORER_PID" 2>/dev/null; then
        die "the scorer exited during the run (see $WORK/scorer.log)"
    fi
    awk -v ev="$TOTAL_EVENTS" -v target="$target" '
        /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 }
        END { printf "{\"target\":%d,\"events\":%d,\"vmrss_kb\":%d,\"rssanon_kb\":%d}\n",
              target, ev, rss, anon }' "/proc/$SCORER_PID/status" \
        >"$RES/rss.$n.json"
done

# ---------------------------------------------------------------- table

"$PY" - "$RES" "$RUNS" <<'EOF'
import glob, json, os, statistics, sys

res, runs = sys.argv[1], int(sys.argv[2])

def load(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(res, pattern)))]

def med(rows, key):
    vals = [r[key] for r in rows]
    return statistics.median(vals) if vals else float("nan")

def one(name):
    return json.load(open(os.path.join(res, name)))

vb, vs, vo = load("vigil_batch.*.json"), load("vigil_single.*.json"), load("vigil_orders.*.json")
fb, fs, fo = load("floor_batch.*.json"), load("floor_single.*.json"), load("floor_orders.*.json")
lsync, lnosync, app = one("floor_lmdb_sync.json"), one("floor_lmdb_nosync.json"), one("floor_append.json")

def rate(v):
    return "%.0f/s" % v

def ms(v):
    return "%.3f ms" % (v / 1000.0)

rows = []
def row(scen, vig, flo, fmt, target, met, floor_name):
    if vig is None or not flo:
        ratio = ""
    elif fmt is rate:
        ratio = "%.1f%%" % (100.0 * vig / flo)
    else:
        ratio = "x%.1f" % (vig / flo)
    rows.append((scen, "" if vig is None else fmt(vig), floor_name + " " + fmt(flo) if flo else "",
                 ratio, target, "" if met is None else ("yes" if met else "NO")))

b = med(vb, "events_per_s")
row("batch 100 x 4 conn: events/s", b, med(fb, "events_per_s"), rate, ">= 100000/s", b >= 100000, "zmq echo")
row("", None, lsync["puts_per_s"], rate, "", None, "lmdb put sync/100")
row("", None, lnosync["puts_per_s"], rate, "", None, "lmdb put nosync/100")
row("", None, app["records_per_s"], rate, "", None, "append+fdatasync/100")
s = med(vs, "events_per_s")
row("single x 16 conn: events/s", s, med(fs, "events_per_s"), rate, ">= 20000/s", s >= 20000, "zmq echo")
p50, p99 = med(vo, "order_p50_us"), med(vo, "order_p99_us")
row("orders 2000/s: order p50", p50, med(fo, "p50_us"), ms, "<= 0.8 ms", p50 <= 800, "zmq echo")
row("orders 2000/s: order p99", p99, med(fo, "p99_us"), ms, "<= 3 ms", p99 <= 3000, "zmq echo")
row("", None, lsync["commit_p50_us"], ms, "", None, "lmdb commit p50")
row("", None, app["sync_p50_us"], ms, "", None, "fdatasync p50")
for r in load("rss.*.json"):
    rows.append(("scorer RSS, >= %d events (%d)" % (r["target"], r["events"]),
                 "%.1f MiB" % (r["vmrss_kb"] / 1024.0),
                 "RssAnon %.1f MiB" % (r["rssanon_kb"] / 1024.0), "", "", ""))

hdr = ("scenario", "vigil", "floor", "ratio", "target", "met")
w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
line = "  ".join("%-*s" % (w[i], hdr[i]) for i in range(len(hdr)))
print(line)
print("-" * len(line))
for r in rows:
    print("  ".join("%-*s" % (w[i], r[i]) for i in range(len(hdr))).rstrip())
print()
print("median of %d runs; ratio: throughput as the share of the floor "
      "reached, latency as a multiple of the floor's" % runs)
errs = sum(r["errors"] for r in vb + vs + vo)
bad = sum(r["malformed"] for r in vb + vs + vo)
orders_sent = [r["sent"] for r in vo]
print("vigil errors (rejected + timed out): %d; malformed replies: %d; "
      "orders sent per run at 2000/s: %s" % (errs, bad, orders_sent))
EOF
exit "$STATUS"
