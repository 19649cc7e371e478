#!/usr/bin/env bash
# bench_shopify.sh - the Shopify bridge's targets, measured: 1,000
# orders/create deliveries/s with p99 under 50 ms to the 200, every one
# scored; and a flood of forged deliveries that does not slow them.
#
#   tests/bench/bench_shopify.sh [BUILD]     # default build/
#
# Starts vigil-scorer, vigil-collector and vigil-shopify in a temporary
# directory on free loopback ports (everything on this machine: service
# and sender share its cores), then runs bench-shopify-load:
#   1. valid deliveries alone, BENCH_RATE/s (1000) for BENCH_DURATION s
#      (10) over 32 keep-alive connections;
#   2. the same beside a flood of forged deliveries (a wrong signature,
#      same size), flat out on 4 connections;
#   3. the same beside forged deliveries at BENCH_BAD_RATE/s (5000).
# Each run prints its latency from the scheduled send to the 200
# (p50/p90/p99/p99.9/max) and the forged deliveries answered 401/s.
# At the end the bridge's own counters (on SIGTERM) show that every
# valid delivery's order was scored (orders_scored) and that no forged
# one reached Vigil (events_sent counts only valid ones: 2 per order).
#
# Exit status: 0 every valid delivery got 200 and every forged one 401
# (targets missed are printed, not failed); 1 otherwise; 2 environment.
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin
RATE=${BENCH_RATE:-1000}
DUR=${BENCH_DURATION:-10}
BAD_RATE=${BENCH_BAD_RATE:-5000}
for b in vigil-scorer vigil-collector vigil-shopify vigilctl bench-shopify-load; do
    [ -x "$BIN/$b" ] || { echo "bench_shopify: $BIN/$b missing" >&2; exit 2; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-shopify.XXXXXX")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "${BENCH_KEEP:-0}" = 1 ] && echo "kept $DIR" || rm -rf "$DIR"
}
trap cleanup EXIT

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
EV=$(port); QP=$(port); HP=$(port)
SECRET=shpss_bench_secret
SHOP=bench.myshopify.com
umask 077
echo "$SHOP $SECRET" > "$DIR/secrets"
# CURVE everywhere, as in production: the shop's own identity for the
# bridge, another storefront for the floor's vigil-load.
KEYS=$DIR/keys
for c in "$SHOP" bench-floor; do
    "$BIN/vigilctl" client add "$c" --role storefront --keys-dir "$KEYS" \
        --user= >/dev/null 2>&1
done

"$BIN/vigil-scorer" -d -o data_dir="$DIR/data" -o keys_dir="$KEYS" -o user= \
    -o query_endpoint=tcp://127.0.0.1:$QP 2>"$DIR/scorer.log" &
PIDS+=($!)
"$BIN/vigil-collector" -d -o data_dir="$DIR/data" -o keys_dir="$KEYS" \
    -o user= -o events_endpoint=tcp://127.0.0.1:$EV 2>"$DIR/collector.log" &
PIDS+=($!)
"$BIN/vigil-shopify" -d -o shopify_listen=127.0.0.1:$HP \
    -o collector_endpoint=tcp://127.0.0.1:$EV -o keys_dir="$KEYS" \
    -o secrets_file="$DIR/secrets" -o dedup_file="$DIR/seen" \
    2>"$DIR/shopify.log" &
BRIDGE=$!
PIDS+=($BRIDGE)

# Ready when the collector answers through the bridge: one delivery.
ok=0
for _ in $(seq 1 100); do
    if "$BIN/bench-shopify-load" --port "$HP" --rate 10 --duration 0.1 \
        --connections 1 --secret "$SECRET" --shop "$SHOP" >/dev/null 2>&1;
    then ok=1; break; fi
    sleep 0.1
done
[ "$ok" = 1 ] || { echo "bench_shopify: the service did not come up" >&2;
    tail -5 "$DIR"/*.log >&2; exit 2; }

status=0
run() {
    local what=$1; shift
    echo "== $what"
    if ! "$BIN/bench-shopify-load" --port "$HP" --rate "$RATE" \
        --duration "$DUR" --connections 32 --secret "$SECRET" \
        --shop "$SHOP" "$@"; then
        echo "   FAILED: not every valid delivery got 200 / forged 401"
        status=1
    fi
}
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
# The floor: the same events straight to the collector, as a storefront
# would send them (2 per frame: vigil-load's orders, REQ-like DEALERs).
echo "== floor: vigil-load straight to the collector, $((RATE * 2)) orders/s in frames of 2"
"$BIN/vigil-load" --endpoint tcp://127.0.0.1:$EV \
    --cert "$KEYS/secrets/bench-floor.key_secret" --keys-dir "$KEYS" --orders-only --batch 2 \
    --rate $((RATE * 2)) --duration "$DUR" --connections 32 --json --quiet |
    /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("floor: %d events acknowledged ok of %d; per frame p50 %.2f ms, p99 %.2f ms" % (d.get("acked_ok", d["events"]-d.get("rejected",0)), d["events"], d["p50_us"]/1000, d["p99_us"]/1000))'
run "valid orders/create at $RATE/s"
run "valid at $RATE/s beside a flat-out flood of forged deliveries (4 conns)" \
    --bad-rate 0 --bad-connections 4
run "valid at $RATE/s beside forged deliveries at $BAD_RATE/s" \
    --bad-rate "$BAD_RATE" --bad-connections 8

# CPU seconds each process used over the whole bench (user + system).
cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / t }' \
    "/proc/$1/stat"; }
echo "== CPU seconds used: scorer $(cpu "${PIDS[0]}"), collector" \
    "$(cpu "${PIDS[1]}"), vigil-shopify $(cpu "$BRIDGE")"
kill -TERM "$BRIDGE"
wait "$BRIDGE" || true
echo "== the bridge's counters (all runs, and the readiness probes)"
grep -o 'stats: .*' "$DIR/shopify.log" | tail -1 | tr ' ' '\n' | \
    grep -E '^(deliveries|ok|bad_signature|unavailable|timeouts|events_sent|events_acked|orders_scored)='
exit $status
