#!/usr/bin/env bash
# bench_main.sh - Vigil's main benchmark: each figure beside its floor
#
# Starts vigil-scorer and vigil-collector from BUILD_DIR/bin on a fresh
# temporary data directory and free loopback ports, drives them with
# vigil-load, and prints a table: scenario | vigil | floor | ratio |
# target, where every floor (bare libzmq echo, bare LMDB puts, bare
# append+fdatasync) is measured in the same run on the same machine and
# file system. Builds nothing.
#
# Usage: tests/bench/bench_main.sh [BUILD_DIR]       (default ./build)
#
# Environment (all optional):
#   BENCH_RUNS=3          runs per scenario; the table shows the median
#   BENCH_DURATION=4      seconds per timed run
#   BENCH_RSS_EVENTS="200000 500000"
#                         scorer RSS checkpoints, in events sent in total
#   BENCH_LONG=1          RSS checkpoints at 1M and 5M events instead,
#                         and BENCH_SUSTAINED=1000000
#   BENCH_SUSTAINED=0     events per sustained run: batches of 100 until
#                         that many are acknowledged, twice in a row on
#                         the growing database (0: no sustained row)
#   BENCH_RSS_MAX_S=300   time cap for reaching each RSS checkpoint
#   BENCH_LMDB_KEYS=1000000  keys of the LMDB put floor
#   BENCH_DIR=$TMPDIR     where the temporary directory goes (data dir,
#                         floor files: put it on the disk you measure)
#   BENCH_KEEP=1          keep the temporary directory (logs, JSON)
#   BENCH_PLAIN=0         skip the CURVE-against-plain rows (a second
#                         service in insecure_dev, and the echo floor
#                         with CURVE)
#
# Throughput counts acknowledged events only (ok replies), never
# rejected or timed-out ones. A row whose runs got any error reply
# (rejected, timed out, malformed) is marked FAILED: its figures are not
# a measurement of the service doing its job.
#
# Exit status: 0 the bench ran and every run's replies were all ok
# (missed targets are reported, not failed), 1 a row FAILED (some
# vigil-load run saw error or malformed replies), 2 usage or environment
# error (missing binary, service did not start).
#
# ctest runs it as bench.main (label bench, excluded from the default
# runs: scripts/test.sh and the test presets use -LE bench); run it with
# `ctest --preset bench` (release build) or `ctest --test-dir build -L
# bench`.
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
if [[ ${BENCH_LONG:-0} == 1 ]]; then
    SUSTAINED=${BENCH_SUSTAINED:-1000000}
else
    SUSTAINED=${BENCH_SUSTAINED:-0}
fi
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
for b in vigil-scorer vigil-collector vigil-load vigilctl bench-floor-zmq \
    bench-floor-lmdb; do
    [[ -x $BIN/$b ]] || die "'$BIN/$b' is missing: build first (cmake --build $BUILD)"
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $DUR =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be whole seconds"
[[ $SUSTAINED =~ ^[0-9]+$ ]] || die "BENCH_SUSTAINED must be a number of events"

WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vigil-bench.XXXXXX")
DATA=$WORK/data
RES=$WORK/results
mkdir -p "$RES" "$WORK/floor"  # the daemons make DATA (0700)
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
KEYS=$WORK/keys
# The storefront identity vigil-load connects with (CURVE, as in
# production).
"$BIN/vigilctl" client add bench-shop --role storefront --keys-dir "$KEYS" --user= \
    >/dev/null || die "cannot make the bench client's certificate"
CONN=(--cert "$KEYS/secrets/bench-shop.key_secret" --keys-dir "$KEYS")
say "start vigil-scorer and vigil-collector (events $EP, CURVE)"
"$BIN/vigil-scorer" -d -o "data_dir=$DATA" -o "keys_dir=$KEYS" -o user= \
    -o "query_endpoint=tcp://127.0.0.1:$QPORT" >"$WORK/scorer.log" 2>&1 &
SCORER_PID=$!
# queue_wait_max_ms=0: the flat-out rows keep every connection's window
# full on purpose; the collector's wait bound would answer that excess
# busy (correctly, and every busy reply fails a row here), so it is off
# as for a bulk replay (integ.replay_shared). integ.quota tests the bound.
"$BIN/vigil-collector" -d -o "data_dir=$DATA" -o "keys_dir=$KEYS" -o user= \
    -o queue_wait_max_ms=0 \
    -o "events_endpoint=$EP" >"$WORK/collector.log" 2>&1 &
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
    if "$BIN/vigil-load" --endpoint "$EP" "${CONN[@]}" --rate 10 --duration 0.1 \
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
# ok FILE: the events a vigil-load --json summary counts as acknowledged.
# Its "events" are every answered event, rejected ones included, so ok is
# events - rejected (or "ok" itself, once vigil-load reports it).
ok() {
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["ok"] if "ok" in r else r["events"] - r["rejected"])' "$1"
}

# load NAME ARGS...: one vigil-load run into $RES/NAME.json.
load() {
    local name=$1 rc=0
    shift
    "$BIN/vigil-load" --endpoint "$EP" "${CONN[@]}" --quiet --json "$@" \
        >"$RES/$name.json" 2>"$RES/$name.err" || rc=$?
    if [[ $rc == 2 || ! -s $RES/$name.json ]]; then
        cat "$RES/$name.err" >&2
        die "vigil-load failed in '$name' (status $rc)"
    fi
    [[ $rc == 0 ]] || STATUS=1
    TOTAL_EVENTS=$((TOTAL_EVENTS + $(ok "$RES/$name.json")))
}

say "vigil: orders only at 2,000/s, 4 connections, fresh service"
for i in $(seq "$RUNS"); do
    load "vigil_ofresh.$i" --orders-only --rate 2000 --connections 4 \
        --batch 1 --duration "$DUR"
done
say "vigil: batches of 100, 4 connections, flat out"
for i in $(seq "$RUNS"); do
    load "vigil_batch.$i" --connections 4 --batch 100 --duration "$DUR"
done
say "vigil: single events, 16 connections, flat out"
for i in $(seq "$RUNS"); do
    load "vigil_single.$i" --connections 16 --batch 1 --duration "$DUR"
done
say "vigil: orders only at 2,000/s, 4 connections, right after flat out"
for i in $(seq "$RUNS"); do
    load "vigil_orders.$i" --orders-only --rate 2000 --connections 4 \
        --batch 1 --duration "$DUR"
done

# Sustained: the same batches until SUSTAINED events are acknowledged,
# twice, on the database the runs above grew.
if ((SUSTAINED > 0)); then
    for i in 1 2; do
        say "vigil: sustained run $i: $SUSTAINED events in batches of 100"
        load "sustained.$i" --connections 4 --batch 100 --events "$SUSTAINED" \
            --duration "$RSS_MAX_S"
    done
fi

# Scorer memory after N acknowledged events in total (the scenarios above
# count).
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
    awk -v ev="$TOTAL_EVENTS" -v target="$target" -v n="$n" '
        /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 }
        END { printf "{\"target\":%d,\"events\":%d,\"vmrss_kb\":%d,\"rssanon_kb\":%d,\"load\":\"rss_load.%d.json\"}\n",
              target, ev, rss, anon, n }' "/proc/$SCORER_PID/status" \
        >"$RES/rss.$n.json"
done

# ------------------------------------------------ CURVE against plain

# The same two throughput scenarios on a second service in insecure_dev
# (plain text, loopback): what CURVE costs end to end (issue 9: at most
# 25%), beside what it costs bare libzmq (the echo floor with --curve).
if [[ ${BENCH_PLAIN:-1} == 1 ]]; then
    say "CURVE cost: echo floor with CURVE"
    for i in $(seq "$RUNS"); do
        "$BIN/bench-floor-zmq" --connections 4 --batch 100 \
            --size "$SIZE_MIXED" --duration "$DUR" --curve --json \
            >"$RES/floor_curve_batch.$i.json"
        "$BIN/bench-floor-zmq" --connections 16 --batch 1 \
            --size "$SIZE_MIXED" --duration "$DUR" --curve --json \
            >"$RES/floor_curve_single.$i.json"
    done
    say "CURVE cost: restart the service with --insecure-dev"
    for pid in $COLLECTOR_PID $SCORER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    COLLECTOR_PID=
    SCORER_PID=
    EPORT=$(free_port)
    QPORT=$(free_port)
    EP=tcp://127.0.0.1:$EPORT

    "$BIN/vigil-scorer" -d --insecure-dev -o "data_dir=$WORK/data-plain" \
        -o "keys_dir=$KEYS" -o user= -o "query_endpoint=tcp://127.0.0.1:$QPORT" \
        >"$WORK/scorer-plain.log" 2>&1 &
    SCORER_PID=$!
    "$BIN/vigil-collector" -d --insecure-dev -o "data_dir=$WORK/data-plain" \
        -o queue_wait_max_ms=0 \
        -o "keys_dir=$KEYS" -o user= -o "events_endpoint=$EP" \
        >"$WORK/collector-plain.log" 2>&1 &
    COLLECTOR_PID=$!
    CONN=(--insecure-dev)
    ready=0
    for _ in $(seq 20); do
        if "$BIN/vigil-load" --endpoint "$EP" "${CONN[@]}" --rate 10 \
            --duration 0.1 --quiet --json >/dev/null 2>&1; then
            ready=1
            break
        fi
        sleep 0.5
    done
    [[ $ready == 1 ]] || die "the plain service did not answer at $EP"
    for i in $(seq "$RUNS"); do
        load "plain_batch.$i" --connections 4 --batch 100 --duration "$DUR"
        load "plain_single.$i" --connections 16 --batch 1 --duration "$DUR"
    done
fi

# ---------------------------------------------------------------- table

"$PY" - "$RES" "$RUNS" <<'EOF' || STATUS=1
import glob, json, os, statistics, sys

res, runs = sys.argv[1], int(sys.argv[2])

def load(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(res, pattern)))]

def one(name):
    return json.load(open(os.path.join(res, name)))

def ok(r):
    """Acknowledged events: vigil-load's "events" counts every answered
    event, rejected ones included."""
    return r["ok"] if "ok" in r else r["events"] - r["rejected"]

def ok_per_s(r):
    if "ok_per_s" in r:
        return r["ok_per_s"]
    return ok(r) / r["duration_s"] if r["duration_s"] > 0 else 0.0

def bad(r):
    """Error replies of one run: rejected + timed out + answered by a
    malformed frame ("errors"), plus malformed reply frames."""
    return r["errors"] + r["malformed"]

def med(vals):
    return statistics.median(vals) if vals else float("nan")

vb, vs, vo = load("vigil_batch.*.json"), load("vigil_single.*.json"), load("vigil_orders.*.json")
vf, vsus = load("vigil_ofresh.*.json"), load("sustained.*.json")
fb, fs, fo = load("floor_batch.*.json"), load("floor_single.*.json"), load("floor_orders.*.json")
lsync, lnosync, app = one("floor_lmdb_sync.json"), one("floor_lmdb_nosync.json"), one("floor_append.json")
topups = {os.path.basename(p): json.load(open(p))
          for p in glob.glob(os.path.join(res, "rss_load.*.json"))}

def rate(v):
    return "%.0f/s" % v

def ms(v):
    return "%.3f ms" % (v / 1000.0)

rows, failed = [], []
def row(scen, vig, flo, fmt, target, met, floor_name, vruns=()):
    """One table row. vruns are the vigil-load runs behind `vig`: if any
    got an error reply, the row is FAILED whatever its figure says."""
    errs = sum(bad(r) for r in vruns)
    if vig is None or not flo:
        ratio = ""
    elif fmt is rate:
        ratio = "%.1f%%" % (100.0 * vig / flo)
    else:
        ratio = "x%.1f" % (vig / flo)
    if errs:
        mark = "FAILED (%d errors)" % errs
        failed.append(scen)
    else:
        mark = "" if met is None else ("yes" if met else "NO")
    rows.append((scen, "" if vig is None else fmt(vig),
                 floor_name + " " + fmt(flo) if flo else "", ratio, target,
                 mark))

b = med([ok_per_s(r) for r in vb])
row("batch 100 x 4 conn: ok events/s", b, med([r["events_per_s"] for r in fb]), rate, ">= 100000/s", b >= 100000, "zmq echo", vb)
row("", None, lsync["puts_per_s"], rate, "", None, "lmdb put sync/100")
row("", None, lnosync["puts_per_s"], rate, "", None, "lmdb put nosync/100")
row("", None, app["records_per_s"], rate, "", None, "append+fdatasync/100")
bo = med([r["order_p99_us"] for r in vb])
row("batch 100 x 4 conn: its orders' p99", bo, med([r["p99_us"] for r in fb]), ms, "<= 3 ms", bo <= 3000, "zmq echo batch p99", vb)
s = med([ok_per_s(r) for r in vs])
row("single x 16 conn: ok events/s", s, med([r["events_per_s"] for r in fs]), rate, ">= 20000/s", s >= 20000, "zmq echo", vs)
for name, oruns in (("fresh", vf), ("after flat out", vo)):
    p50, p99 = med([r["order_p50_us"] for r in oruns]), med([r["order_p99_us"] for r in oruns])
    row("orders 2000/s %s: p50" % name, p50, med([r["p50_us"] for r in fo]), ms, "<= 0.8 ms", p50 <= 800, "zmq echo", oruns)
    row("orders 2000/s %s: p99" % name, p99, med([r["p99_us"] for r in fo]), ms, "<= 3 ms", p99 <= 3000, "zmq echo", oruns)
row("", None, lsync["commit_p50_us"], ms, "", None, "lmdb commit p50")
row("", None, app["sync_p50_us"], ms, "", None, "fdatasync p50")
for i, r in enumerate(vsus):
    v = ok_per_s(r)
    first = ok_per_s(vsus[0])
    row("sustained %d: %d ok events, batch 100 x 4" % (i + 1, ok(r)), v,
        app["records_per_s"], rate, ">= 80000/s, no decline",
        v >= 80000 and v >= 0.9 * first, "append+fdatasync/100", [r])
pb, ps = load("plain_batch.*.json"), load("plain_single.*.json")
fcb, fcs = load("floor_curve_batch.*.json"), load("floor_curve_single.*.json")
if pb and fcb:
    row("CURVE/plain, batch 100 x 4: ok events/s", b, med([ok_per_s(r) for r in pb]), rate, ">= 75%", b >= 0.75 * med([ok_per_s(r) for r in pb]), "plain vigil", pb)
    row("", None, med([r["events_per_s"] for r in fcb]), rate, "", None, "zmq echo CURVE")
if ps and fcs:
    row("CURVE/plain, single x 16: ok events/s", s, med([ok_per_s(r) for r in ps]), rate, ">= 75%", s >= 0.75 * med([ok_per_s(r) for r in ps]), "plain vigil", ps)
    row("", None, med([r["events_per_s"] for r in fcs]), rate, "", None, "zmq echo CURVE")
for r in load("rss.*.json"):
    scen = "scorer RSS, >= %d ok events (%d)" % (r["target"], r["events"])
    errs = sum(bad(t) for n, t in topups.items() if n == r.get("load"))
    if errs:
        failed.append(scen)
    rows.append((scen, "%.1f MiB" % (r["vmrss_kb"] / 1024.0),
                 "RssAnon %.1f MiB" % (r["rssanon_kb"] / 1024.0), "", "",
                 "FAILED (%d errors)" % errs if errs else ""))

hdr = ("scenario", "vigil", "floor", "ratio", "target", "met")
w = [max(len(str(x[i])) for x in rows + [hdr]) for i in range(len(hdr))]
line = "  ".join("%-*s" % (w[i], hdr[i]) for i in range(len(hdr)))
print(line.rstrip())
print("-" * len(line))
for r in rows:
    print("  ".join("%-*s" % (w[i], r[i]) for i in range(len(hdr))).rstrip())
print()
print("median of %d runs; vigil throughput counts acknowledged (ok) events "
      "only; ratio: throughput as the share of the floor reached, latency "
      "as a multiple of the floor's" % runs)
allruns = vf + vb + vs + vo + vsus + pb + ps + list(topups.values())
print("vigil error replies: rejected %d, timed out %d, answered by malformed "
      "frames %d; malformed frames %d; orders sent per run at 2000/s: %s"
      % (sum(r["rejected"] for r in allruns),
         sum(r["timeouts"] for r in allruns),
         sum(r.get("malformed_events", 0) for r in allruns),
         sum(r["malformed"] for r in allruns), [r["sent"] for r in vo]))
if failed:
    print("FAILED: %d row(s) had error replies; their figures do not count: "
          "%s" % (len(failed), "; ".join(failed)))
    sys.exit(1)
EOF
exit "$STATUS"
