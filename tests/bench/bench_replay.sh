#!/usr/bin/env bash
# bench_replay.sh - vigil-replay of the shared data set through the real
#                   daemons: events/s per connection count
#
#   tests/bench/bench_replay.sh [BUILD_DIR]     # default build/
#
# Each run starts a fresh scorer and collector in a temp data directory
# (-o overrides, free 127.0.0.1 ports, as tests/integration/vigiltest.py
# does), replays train.csv.gz with IpAddress_to_Country.csv.gz, prints
# the summary line, and stops both daemons by pid. A timing, not a test:
# the 30,000 events/s target of issue 7 is shown, not enforced.
#
# Environment: VIGIL_SHARED_DATA (default ../shared/data beside the
# repository, else /work/shared/data), BENCH_RUNS (3), BENCH_CONNECTIONS
# ("1 2 4"), BENCH_DIR (where the temp directory goes).
#
# Exit status: 0 ran; 2 usage or environment error (no data, no build,
# a daemon did not start).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
BUILD=${1:-build}
BIN=$BUILD/bin
PY=/usr/bin/python3
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNECTIONS:-1 2 4}

die() {
    echo "bench_replay: $*" >&2
    exit 2
}

DATA_DIR=${VIGIL_SHARED_DATA:-}
if [[ -z $DATA_DIR ]]; then
    for d in "$(dirname "$REPO")/shared/data" /work/shared/data; do
        [[ -f $d/train.csv.gz ]] && DATA_DIR=$d && break
    done
fi
[[ -n $DATA_DIR && -f $DATA_DIR/train.csv.gz ]] ||
    die "no shared data (set VIGIL_SHARED_DATA)"
for b in vigil-scorer vigil-collector vigil-replay; do
    [[ -x $BIN/$b ]] || die "'$BIN/$b' is missing: build first"
done

WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/vigil-bench-replay.XXXXXX")
SCORER_PID=
COLLECTOR_PID=

stop() {
    # Only what this script started, by pid: collector first.
    for pid in $COLLECTOR_PID $SCORER_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $COLLECTOR_PID $SCORER_PID; do
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    SCORER_PID=
    COLLECTOR_PID=
}
# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    rm -rf "$WORK/data"
    mkdir -p "$WORK/data"
    EP=tcp://127.0.0.1:$(free_port)
    "$BIN/vigil-scorer" -d -o "data_dir=$WORK/data" \
        -o "query_endpoint=tcp://127.0.0.1:$(free_port)" \
        >"$WORK/scorer.log" 2>&1 &
    SCORER_PID=$!
    "$BIN/vigil-collector" -d -o "data_dir=$WORK/data" \
        -o "events_endpoint=$EP" >"$WORK/collector.log" 2>&1 &
    COLLECTOR_PID=$!
    sleep 0.5
    for pid in $SCORER_PID $COLLECTOR_PID; do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$WORK/scorer.log" "$WORK/collector.log" >&2
            die "a daemon exited during start-up"
        }
    done
}

echo "== $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs per connection count; data $DATA_DIR" >&2
for c in $CONNS; do
    for i in $(seq "$RUNS"); do
        start
        # vigil-replay's probe waits up to 5 s for the service.
        "$BIN/vigil-replay" --fraud-data "$DATA_DIR/train.csv.gz" \
            --ip-country "$DATA_DIR/IpAddress_to_Country.csv.gz" \
            --out "$WORK/out.csv" --endpoint "$EP" --connections "$c" \
            --quiet | head -n 1
        stop
    done
done
