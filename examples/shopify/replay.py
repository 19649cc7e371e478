#!/usr/bin/python3
"""replay.py - replay recorded Shopify webhook deliveries at vigil-shopify

A recorded delivery is two files with the same name in one folder: the
raw body exactly as Shopify sent it (<name>.body, the bytes its
X-Shopify-Hmac-SHA256 signs) and its headers (<name>.headers, one
"Name: value" per line: X-Shopify-Topic, X-Shopify-Hmac-SHA256,
X-Shopify-Shop-Domain, X-Shopify-Webhook-Id, ...). `send` posts every
delivery of a folder, in name order, to the bridge and prints each
answer; `record` makes such a pair from a JSON payload, signed as
Shopify signs it, for tests and demonstrations. Python 3 from Debian,
standard library only.

    python3 examples/shopify/replay.py send examples/shopify/deliveries
    python3 examples/shopify/replay.py send DIR --url http://127.0.0.1:7012/webhooks --rate 50
    python3 examples/shopify/replay.py send DIR --new-ids   # apply again
    python3 examples/shopify/replay.py record --secrets shopify.secrets \\
        --shop example-shop.myshopify.com --topic orders/create \\
        order.json DIR

A recorded delivery replayed as it is carries its original webhook id,
so the bridge answers it 200 from its dedup file without applying it
twice; --new-ids gives each a fresh X-Shopify-Webhook-Id (headers are
not signed, so the signature still holds) to apply it again.

Exit status: 0 every delivery got a 2xx; 1 some did not; 2 usage error,
unreadable recording, or no answer from the bridge.

SPDX-License-Identifier: MIT
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import sys
import time
import urllib.parse
import uuid

TIMEOUT_S = 10.0


def read_headers(path):
    """The "Name: value" lines of a .headers file, in order."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError("%s:%d: want 'Name: value'" % (path, n))
            out.append((name.strip(), value.strip()))
    return out


def deliveries(folder):
    """(name, headers, body) of every recorded delivery, by name."""
    names = sorted(f[:-len(".body")] for f in os.listdir(folder)
                   if f.endswith(".body"))
    for name in names:
        base = os.path.join(folder, name)
        with open(base + ".body", "rb") as f:
            body = f.read()
        yield name, read_headers(base + ".headers"), body


def post(url, headers, body):
    """POST once; return (status, text, seconds)."""
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                           timeout=TIMEOUT_S)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                          timeout=TIMEOUT_S)
    t0 = time.monotonic()
    try:
        conn.request("POST", u.path or "/", body=body, headers=dict(headers))
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace").strip(), \
            time.monotonic() - t0
    finally:
        conn.close()


def cmd_send(args):
    try:
        items = list(deliveries(args.dir))
    except (OSError, ValueError) as e:
        print("replay: %s" % e, file=sys.stderr)
        return 2
    if not items:
        print("replay: no <name>.body in %s" % args.dir, file=sys.stderr)
        return 2
    gap = 1.0 / args.rate if args.rate > 0 else 0.0
    bad = 0
    for name, headers, body in items:
        hdrs = [(k, v) for k, v in headers
                if not (args.new_ids and k.lower() in
                        ("x-shopify-webhook-id", "x-shopify-event-id"))]
        if args.new_ids:
            hdrs += [("X-Shopify-Webhook-Id", str(uuid.uuid4())),
                     ("X-Shopify-Event-Id", str(uuid.uuid4()))]
        topic = next((v for k, v in hdrs if k.lower() == "x-shopify-topic"),
                     "?")
        try:
            status, text, dt = post(args.url, hdrs, body)
        except OSError as e:
            print("replay: %s: no answer from %s: %s" % (name, args.url, e),
                  file=sys.stderr)
            return 2
        print("%-32s %-24s %d %7.1f ms  %s" % (name, topic, status,
                                               dt * 1000, text))
        if not 200 <= status < 300:
            bad += 1
        if gap:
            time.sleep(gap)
    print("replay: %d deliveries, %d not 2xx" % (len(items), bad))
    return 1 if bad else 0


def secret_of(path, shop):
    """The current client secret of `shop` in a secrets file."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if len(fields) >= 2 and fields[0] == shop:
                return fields[1]
    raise ValueError("%s: no line for shop %s" % (path, shop))


def cmd_record(args):
    try:
        secret = secret_of(args.secrets, args.shop)
        with open(args.payload, "rb") as f:
            payload = json.load(f)
    except (OSError, ValueError) as e:
        print("replay: %s" % e, file=sys.stderr)
        return 2
    # Shopify sends compact JSON; the signature covers these exact bytes.
    body = json.dumps(payload, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")
    sig = base64.b64encode(hmac.new(secret.encode(), body,
                                    hashlib.sha256).digest()).decode()
    os.makedirs(args.dir, exist_ok=True)
    n = len([f for f in os.listdir(args.dir) if f.endswith(".body")]) + 1
    name = "%02d-%s" % (n, args.topic.replace("/", "-"))
    base = os.path.join(args.dir, name)
    with open(base + ".body", "wb") as f:
        f.write(body)
    with open(base + ".headers", "w", encoding="utf-8") as f:
        f.write("Content-Type: application/json\n"
                "X-Shopify-Topic: %s\n"
                "X-Shopify-Hmac-SHA256: %s\n"
                "X-Shopify-Shop-Domain: %s\n"
                "X-Shopify-API-Version: %s\n"
                "X-Shopify-Webhook-Id: %s\n"
                "X-Shopify-Event-Id: %s\n"
                "X-Shopify-Triggered-At: %s\n"
                % (args.topic, sig, args.shop, args.api_version,
                   uuid.uuid4(), uuid.uuid4(),
                   time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())))
    print(base)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send", help="post a folder of recorded deliveries")
    s.add_argument("dir")
    s.add_argument("--url", default="http://127.0.0.1:7012/webhooks")
    s.add_argument("--rate", type=float, default=0,
                   help="deliveries per second (default: one after another)")
    s.add_argument("--new-ids", action="store_true",
                   help="give each a fresh webhook and event id")
    r = sub.add_parser("record", help="sign a JSON payload as Shopify does")
    r.add_argument("--secrets", required=True,
                   help="a vigil-shopify secrets file")
    r.add_argument("--shop", required=True)
    r.add_argument("--topic", required=True)
    r.add_argument("--api-version", default="2026-10")
    r.add_argument("payload")
    r.add_argument("dir")
    args = ap.parse_args()
    return cmd_send(args) if args.cmd == "send" else cmd_record(args)


if __name__ == "__main__":
    sys.exit(main())
