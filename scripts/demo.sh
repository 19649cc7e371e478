#!/usr/bin/env bash
# demo.sh - build Vigil, run the service, put load through it, stop it
#
# Idempotent. Runs scripts/setup.sh (installs what is missing, builds into
# build/), starts vigil-scorer and vigil-collector on their built-in
# defaults (data in ./var, storefront endpoint tcp://127.0.0.1:7010,
# query endpoint tcp://127.0.0.1:7011), waits until they answer, sends a
# storefront's events (examples/storefront.py), runs vigil-load for 10 s
# with 5% fraud-looking traffic (printing a few order decisions with their
# reasons and a summary), then stops both with SIGTERM and verifies the
# audit log they wrote (vigilctl audit verify) and shows its last records.
#
# Daemon logs: var/scorer.log, var/collector.log.
# Exit status: 0 all went well, 1 a step failed (its output says which).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

BIN=build/bin
DATA=./var
ENDPOINT=tcp://127.0.0.1:7010
PY=/usr/bin/python3
mkdir -p "$DATA"
chmod 700 "$DATA"

spid=""
cpid=""
stop_daemons() {
    local rc=0 pid name st
    for name in collector scorer; do
        if [ "$name" = collector ]; then pid=$cpid; else pid=$spid; fi
        [ -n "$pid" ] || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$pid" 2>/dev/null; then
                echo "demo: $name ignored SIGTERM for 10 s, killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                rc=1
            fi
        fi
        set +e
        wait "$pid" 2>/dev/null
        st=$?
        set -e
        if [ "$st" -ne 0 ]; then
            echo "demo: $name exited with status $st" >&2
            rc=1
        fi
        if [ "$name" = collector ]; then cpid=""; else spid=""; fi
    done
    return $rc
}
trap 'stop_daemons || true' EXIT

# probe TIMEOUT_S: 0 once the collector acknowledges a probe event.
probe() {
    "$PY" - "$ENDPOINT" "$1" <<'PYEOF'
import sys, time, msgpack, zmq
endpoint, limit = sys.argv[1], float(sys.argv[2])
ctx = zmq.Context()
deadline = time.monotonic() + limit
n = 0
while True:
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    n += 1
    s.send(msgpack.packb({"v": 1, "type": "device.seen",
                          "id": "demo-probe-%d-%d" % (time.time(), n),
                          "ts": int(time.time() * 1000)}))
    ok = s.poll(300, zmq.POLLIN) and msgpack.unpackb(s.recv()).get("ok")
    s.close(0)
    if ok:
        sys.exit(0)
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.2)
PYEOF
}

if probe 0.5; then
    echo "demo: something already answers on $ENDPOINT (another Vigil?);" \
        "stop it first" >&2
    exit 1
fi

echo "demo: starting vigil-scorer and vigil-collector (data in $DATA)"
"$BIN/vigil-scorer" -d -o data_dir="$DATA" 2>>"$DATA/scorer.log" &
spid=$!
"$BIN/vigil-collector" -d -o data_dir="$DATA" 2>>"$DATA/collector.log" &
cpid=$!
if ! probe 10; then
    echo "demo: the service did not answer within 10 s" >&2
    tail -n 20 "$DATA/scorer.log" "$DATA/collector.log" >&2 || true
    exit 1
fi
echo "demo: service answering on $ENDPOINT"

echo
echo "== one storefront: signup, visit, order (examples/storefront.py)"
"$PY" examples/storefront.py --endpoint "$ENDPOINT"

echo
echo "== vigil-load: 4 connections, batches of 50, 5000 events/s, 10 s," \
    "5% fraud-looking"
"$BIN/vigil-load" --endpoint "$ENDPOINT" --connections 4 --batch 50 \
    --rate 5000 --duration 10 --fraud-share 0.05 --show 8 --strict

echo
echo "== stopping the service (the scorer signs a final audit checkpoint)"
status=0
stop_daemons || status=1
if [ "$status" -eq 0 ]; then
    echo "demo: both daemons stopped cleanly; logs in $DATA/*.log"
fi

echo
echo "== the audit log: every access to personal data, verified offline"
echo "verifier key (hand this out): $("$BIN/vigilctl" audit pubkey "$DATA/audit")"
"$BIN/vigilctl" audit verify "$DATA/audit" \
    --key "$("$BIN/vigilctl" audit pubkey "$DATA/audit")" || status=1
echo "last records:"
"$BIN/vigilctl" audit replay "$DATA/audit" | tail -n 3 | cut -c 1-160
exit "$status"
