#!/usr/bin/python3
"""storefront.py - a web shop back end talking to Vigil

Sends what a shop sends for one customer: the signup, a visit (device
and network), then the checkout (order.placed), and prints Vigil's
decision with the reasons behind it. Needs only python3-zmq and
python3-msgpack (Debian 12: apt-get install python3-zmq python3-msgpack).

    build/bin/vigil-scorer -d &  build/bin/vigil-collector -d &
    python3 examples/storefront.py [--endpoint tcp://127.0.0.1:7010]

Exit status: 0 the order got a decision, 1 an event was refused,
2 no answer from the collector (is it running?).

SPDX-License-Identifier: MIT
"""

import argparse
import sys
import time
import uuid

import msgpack
import zmq


def send(sock, event, timeout_ms):
    """Send one event (or a list of events); return the decoded reply."""
    sock.send(msgpack.packb(event, use_bin_type=True))
    if not sock.poll(timeout_ms, zmq.POLLIN):
        print("storefront: no reply within %d ms: is vigil-collector "
              "running?" % timeout_ms, file=sys.stderr)
        sys.exit(2)
    return msgpack.unpackb(sock.recv(), raw=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7010")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    args = ap.parse_args()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(args.endpoint)

    run = uuid.uuid4().hex[:12]        # unique ids: resends are dropped
    now = int(time.time() * 1000)      # event time, ms since the epoch
    who = {"account": "acct-" + run, "session": "sess-" + run,
           "device": "dev-" + run, "ip": "203.0.113.57",
           "ip_country": "DE", "ua": "Mozilla/5.0 (X11; Linux x86_64) "
           "Firefox/121.0", "tz": "Europe/Berlin", "lang": "de-DE"}
    address = {"name": "Erika Mustermann", "street": "Heidestrasse 17",
               "city": "Koeln", "postal": "51147", "country": "DE"}
    events = [
        dict(who, v=1, type="account.signup", id=run + "-signup",
             ts=now - 120000, email="erika@example.org",
             phone="+4922112345", name="Erika Mustermann", source="seo"),
        dict(who, v=1, type="device.seen", id=run + "-visit",
             ts=now - 60000),
        dict(who, v=1, type="order.placed", id=run + "-order",
             ts=now, order="order-" + run, amount=12999, currency="EUR",
             items=3, email="erika@example.org",
             card={"bin": "411111", "last4": "1111",
                   "fingerprint": "tok-" + run},
             billing=address, shipping=address),
    ]
    for ev in events:
        rep = send(sock, ev, args.timeout_ms)
        print("%-15s %-22s %s %s" % (ev["type"], rep["id"], rep["code"],
                                     rep["msg"] if not rep["ok"] else ""))
        if not rep["ok"]:
            return 1
    print("decision: %s (score %d of 100)" % (rep["decision"], rep["score"]))
    for r in rep["reasons"]:
        print("  %-30s %8g  %s" % (r["code"], r["value"], r["text"]))
    if not rep["reasons"]:
        print("  (no risk signals)")
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
