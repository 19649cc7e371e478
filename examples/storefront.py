#!/usr/bin/python3
"""storefront.py - a web shop back end talking to Vigil

Sends what a shop sends for one customer: the signup, a visit (device
and network), then the checkout (order.placed), and prints Vigil's
decision with the reasons behind it. Needs only python3-zmq and
python3-msgpack (Debian 12: apt-get install python3-zmq python3-msgpack).

    vigilctl client add my-shop --role storefront   # once, as root
    python3 examples/storefront.py --cert /etc/vigil/secrets/my-shop.key_secret \
        [--server-key /etc/vigil/server.key] [--endpoint tcp://127.0.0.1:7010]

The connection is CURVE: --cert is the shop's secret certificate (made
by `vigilctl client add`), --server-key the collector's public key (a
public certificate file, or the 40 Z85 characters `vigilctl server-key`
prints). Both default to $VIGIL_CERT and $VIGIL_SERVER_KEY.
--insecure-dev talks plain text to a collector started with
--insecure-dev (loopback only).

Exit status: 0 the order got a decision, 1 an event was refused,
2 no answer from the collector (is it running?) or a bad option.

SPDX-License-Identifier: MIT
"""

import argparse
import os
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


def curve(sock, cert, server_key):
    """Make `sock` a CURVE client with the secret certificate `cert`,
    pinned to `server_key` (Z85 text or a public certificate file)."""
    import zmq.auth
    try:
        pub, sec = zmq.auth.load_certificate(cert)
        if len(server_key) == 40 and not os.path.exists(server_key):
            server = server_key.encode()
        else:
            server, _ = zmq.auth.load_certificate(server_key)
    except (OSError, ValueError) as e:
        print("storefront: %s" % e, file=sys.stderr)
        sys.exit(2)
    if sec is None:
        print("storefront: %s holds no secret key" % cert, file=sys.stderr)
        sys.exit(2)
    sock.curve_publickey = pub
    sock.curve_secretkey = sec
    sock.curve_serverkey = server


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:7010")
    ap.add_argument("--cert", default=os.environ.get("VIGIL_CERT"),
                    help="the shop's secret certificate")
    ap.add_argument("--server-key",
                    default=os.environ.get("VIGIL_SERVER_KEY",
                                           "/etc/vigil/server.key"),
                    help="the collector's public key or certificate")
    ap.add_argument("--insecure-dev", action="store_true",
                    help="plain text (a collector in insecure_dev)")
    ap.add_argument("--timeout-ms", type=int, default=5000)
    args = ap.parse_args()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    if not args.insecure_dev:
        if not args.cert:
            ap.error("--cert is required (or VIGIL_CERT): the secret "
                     "certificate `vigilctl client add NAME --role "
                     "storefront` made")
        curve(sock, args.cert, args.server_key)
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
             card={"bin": "411111", "fingerprint": "tok-" + run},
             billing=address, shipping=address),
    ]
    for ev in events:
        rep = send(sock, ev, args.timeout_ms)
        print("%-15s %-22s %s %s" % (ev["type"], rep["id"], rep["code"],
                                     rep["msg"] if not rep["ok"] else ""))
        if not rep["ok"]:
            return 1
    print("order %s: decision %s (score %d of 100)"
          % ("order-" + run, rep["decision"], rep["score"]))
    for r in rep["reasons"]:
        print("  %-30s %8g  %s" % (r["code"], r["value"], r["text"]))
    if not rep["reasons"]:
        print("  (no risk signals)")
    sock.close()
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
