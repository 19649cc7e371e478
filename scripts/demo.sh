#!/usr/bin/env bash
# demo.sh - build Vigil, run the service as installed, put load through
#           it, ask it about an order, stop it, verify its audit log
#
# Idempotent; run as root on Debian 12. Runs scripts/setup.sh (installs
# what is missing, builds into build/), creates the system user "vigil"
# when it is missing, and starts vigil-scorer and vigil-collector on
# their built-in defaults: keys in /etc/vigil, data in /var/lib/vigil,
# storefront endpoint tcp://127.0.0.1:7010 and query endpoint
# tcp://127.0.0.1:7011, both CURVE; started as root, each drops to
# "vigil". It admits two clients (`vigilctl client add`, once): the shop
# "demo-shop" (role storefront) and the fraud analyst "demo-analyst".
# As the shop it sends one customer's signup, visit and order
# (examples/storefront.py) and runs vigil-load for 10 s with 5%
# fraud-looking traffic; as the analyst it asks for that order's score
# and labels it. Then it stops both daemons with SIGTERM, verifies the
# audit log they wrote with the handed-out key and shows its last
# records, the analyst's among them.
#
# Daemon logs: /var/log/vigil/{scorer,collector}.log.
# Exit status: 0 all went well, 1 a step failed (its output says which).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

BIN=build/bin
KEYS=/etc/vigil
DATA=/var/lib/vigil
LOGS=/var/log/vigil
ENDPOINT=tcp://127.0.0.1:7010
QUERY=tcp://127.0.0.1:7011
PY=/usr/bin/python3
# The clients' own copies of their secret certificates (a client must
# own its file; vigilctl and vigil-load refuse one open to others).
CERTS=/root/.vigil-demo
SHOP_CERT=$CERTS/demo-shop.key_secret
ANALYST_CERT=$CERTS/demo-analyst.key_secret

if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root (it installs packages and the vigil user)" >&2
    exit 1
fi
if ! id vigil >/dev/null 2>&1; then
    echo "demo: creating the system user 'vigil'"
    useradd --system --no-create-home --home-dir "$DATA" \
        --shell /usr/sbin/nologin vigil
fi
mkdir -p "$LOGS"
chmod 700 "$LOGS"

# The clients, once. `client add` leaves each secret certificate in
# $KEYS/secrets to hand over; here the "hand-over" is a copy into root's
# own directory.
mkdir -p "$CERTS"
chmod 700 "$CERTS"
for c in demo-shop:storefront demo-analyst:analyst; do
    name=${c%%:*}
    if [ ! -e "$KEYS/secrets/$name.key_secret" ]; then
        "$BIN/vigilctl" client add "$name" --role "${c#*:}" | head -n 3
    fi
    install -m 600 -o root -g root "$KEYS/secrets/$name.key_secret" \
        "$CERTS/$name.key_secret"
done

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

# probe TIMEOUT_S: 0 once the collector acknowledges a probe event sent
# as demo-shop over CURVE.
probe() {
    "$PY" - "$ENDPOINT" "$1" "$SHOP_CERT" "$KEYS/server.key" <<'PYEOF'
import sys, time, msgpack, zmq, zmq.auth
endpoint, limit, cert, server = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
pub, sec = zmq.auth.load_certificate(cert)
spub, _ = zmq.auth.load_certificate(server)
ctx = zmq.Context()
deadline = time.monotonic() + limit
n = 0
while True:
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, spub
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

for port in 7010 7011; do
    if "$PY" -c 'import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) != 0)' "$port"; then
        echo "demo: something already listens on 127.0.0.1:$port" \
            "(another Vigil?); stop it first" >&2
        exit 1
    fi
done

echo "demo: starting vigil-scorer and vigil-collector (keys $KEYS," \
    "data $DATA, user vigil)"
"$BIN/vigil-scorer" -d 2>>"$LOGS/scorer.log" &
spid=$!
"$BIN/vigil-collector" -d 2>>"$LOGS/collector.log" &
cpid=$!
if ! probe 10; then
    echo "demo: the service did not answer within 10 s" >&2
    tail -n 20 "$LOGS/scorer.log" "$LOGS/collector.log" >&2 || true
    exit 1
fi
echo "demo: service answering on $ENDPOINT (CURVE)"

echo
echo "== one storefront: signup, visit, order (examples/storefront.py)"
out=$("$PY" examples/storefront.py --endpoint "$ENDPOINT" \
    --cert "$SHOP_CERT" --server-key "$KEYS/server.key")
echo "$out"
order=$(echo "$out" | sed -n 's/^order \([^:]*\):.*/\1/p')

echo
echo "== vigil-load: 4 connections, batches of 50, 5000 events/s, 10 s," \
    "5% fraud-looking"
"$BIN/vigil-load" --endpoint "$ENDPOINT" --cert "$SHOP_CERT" \
    --keys-dir "$KEYS" --connections 4 --batch 50 --rate 5000 \
    --duration 10 --fraud-share 0.05 --show 8 --strict

echo
echo "== the fraud analyst asks for the order's score, then labels it"
CONN=(--endpoint "$QUERY" --cert "$ANALYST_CERT" --keys-dir "$KEYS"
      --storefront demo-shop)
"$BIN/vigilctl" score "$order" --purpose fraud-prevention "${CONN[@]}"
"$BIN/vigilctl" label --order "$order" --legit --source manual-review \
    --purpose chargeback-review --case "DEMO-$(date +%Y%m%d)" "${CONN[@]}"

echo
echo "== stopping the service (the scorer signs a final audit checkpoint)"
status=0
stop_daemons || status=1
if [ "$status" -eq 0 ]; then
    echo "demo: both daemons stopped cleanly; logs in $LOGS"
fi

echo
echo "== the audit log: every access to personal data, verified offline"
key=$("$BIN/vigilctl" audit pubkey --keys-dir "$KEYS")
echo "verifier key (hand this out): $key"
"$BIN/vigilctl" audit verify "$DATA/audit" --key "$key" || status=1
echo "last records:"
"$BIN/vigilctl" audit replay "$DATA/audit" | tail -n 4 | cut -c 1-160
exit "$status"
