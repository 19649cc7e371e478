#!/usr/bin/python3
"""integ.fastlane - orders are answered ahead of bulk batches when both
are queued, and a saturated service answers busy at once (issue 11 item
3, issue 12's overload target), by order and by count, not by time.

Through the real daemons (CURVE on):
 - order behind batches: with one event in flight to the scorer at a
   time (collector_window_events=1, no wait bound), one storefront sends
   BATCHES batches of BATCH_EVENTS events and then one order, all at
   once on one connection. The order goes on the collector's fast lane
   and is sent ahead of the queued batches: its reply comes before the
   last batches' replies (on main before the fast lane it came last,
   behind every batch of its own queue). The same with the order from
   another storefront (which the round robin already put ahead). Every
   event is answered ok.
 - order behind batches in flight at the scorer: the same with a window
   larger than every batch together (collector_window_events=100000),
   groups of at most 1,000 events (batch_max), the scorer stopped
   (SIGSTOP) until the collector has sent all
   SCORER_BATCHES batches and then the order (its in-flight gauge says
   so), so all of them wait at the scorer when it continues. The order
   came on the collector's fast-lane pipe, which the scorer reads ahead
   of the batches (fair-queued) and ends its group commit at: its reply
   comes before the last batches' replies (on main before the scorer's
   fast lane it came last: one FIFO pipe, and replies in the order
   taken).
 - overload with the default configuration: once the collector knows
   the scorer's pace, one storefront puts far more events in flight than
   the scorer answers in the default queue_wait_max_ms; the excess is
   answered busy with retry_after_ms (the issue: at twice the maximum
   the excess timed out in the client's queue instead), nothing times
   out or gets another code, and an order of the same storefront sent
   in the middle of it (the fast lane, under its quota) is answered ok.

SPDX-License-Identifier: MIT
"""

import os
import re
import signal
import sys
import time
import urllib.request

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, check, check_eq, event,  # noqa
                       main, pack, say)

BATCHES = 12
BATCH_EVENTS = 200
SCORER_BATCHES = 30
OVERLOAD_REQUESTS = 300
OVERLOAD_EVENTS = 100


def dealer(svc, client):
    sock = svc.ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    svc.curve(sock, client)
    sock.connect(svc.events_endpoint)
    return sock


def recv_reply(sock, what):
    if not sock.poll(30000, zmq.POLLIN):
        check(False, "%s: a reply comes within 30 s" % what)
    r = msgpack.unpackb(sock.recv_multipart()[-1], raw=False)
    return r if isinstance(r, list) else [r]


def inflight(svc):
    """The collector's vigil_collector_inflight_events gauge."""
    with urllib.request.urlopen("http://%s/metrics" % svc.collector_metrics,
                                timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^vigil_collector_inflight_events (\S+)$", text, re.M)
    return float(m.group(1)) if m else -1


def order_behind_batches(svc, tag, order_client, batches=BATCHES,
                         stop_scorer=False):
    """Send `batches` bulk batches as `storefront`, then one order as
    `order_client`; return the order's position among the replies. With
    `stop_scorer`, the scorer is stopped until the collector has sent
    them all."""
    bulk = dealer(svc, "storefront")
    other = bulk if order_client == "storefront" else dealer(svc, order_client)
    if stop_scorer:
        # Connected first (the CURVE handshakes are the collector's).
        svc.send_ok(event("device.seen", "%s-probe" % tag))
        os.kill(svc.scorer.proc.pid, signal.SIGSTOP)
    try:
        for b in range(batches):
            batch = [event("device.seen", "%s-b%d-%d" % (tag, b, i))
                     for i in range(BATCH_EVENTS)]
            bulk.send_multipart([b"", pack(batch)])
        p = Persona(1, tag=tag)
        other.send_multipart([b"", pack(p.order("%s-order" % tag))])
        if stop_scorer:
            want = batches * BATCH_EVENTS + 1
            t_end = time.monotonic() + 20
            while inflight(svc) < want and time.monotonic() < t_end:
                time.sleep(0.05)
            check_eq(inflight(svc), want, "%s: every batch and the order "
                     "are in flight to the stopped scorer" % tag)
    finally:
        if stop_scorer:
            os.kill(svc.scorer.proc.pid, signal.SIGCONT)
    seen, pos, bad = 0, None, []
    poller = zmq.Poller()
    poller.register(bulk, zmq.POLLIN)
    if other is not bulk:
        poller.register(other, zmq.POLLIN)
    while seen < batches + 1:
        ready = dict(poller.poll(30000))
        if not ready:
            check(False, "%s: replies keep coming (%d of %d)"
                  % (tag, seen, batches + 1))
        for sock in (other, bulk) if other is not bulk else (bulk,):
            while sock in ready and sock.poll(0, zmq.POLLIN):
                reps = recv_reply(sock, tag)
                if any(r.get("id", "").endswith("-order") for r in reps):
                    pos = seen
                bad += [r for r in reps if r.get("ok") is not True]
                seen += 1
    bulk.close(0)
    if other is not bulk:
        other.close(0)
    check(not bad, "%s: every event is answered ok" % tag, bad[:2])
    check(pos is not None, "%s: the order is answered" % tag)
    return pos


def lane_part(args):
    svc = Service(args.bin, collector_opts=["collector_window_events=1",
                                            "queue_wait_max_ms=0"])
    svc.add_client("shop2", "storefront")
    with svc:
        for tag, who in (("fl-same", "storefront"), ("fl-other", "shop2")):
            pos = order_behind_batches(svc, tag, who)
            say("  %s: the order was reply %d of %d (%d batches of %d "
                "queued ahead of it, window 1)"
                % (tag, pos + 1, BATCHES + 1, BATCHES, BATCH_EVENTS))
            # In flight when it came: the batch being answered and the few
            # sent while the collector read the rest (2nd here); at least
            # half the batches must come after it.
            check(pos <= BATCHES // 2, "%s: the order is answered ahead of "
                  "the queued "
                  "batches (reply %d of %d; it came last without the fast "
                  "lane)" % (tag, pos + 1, BATCHES + 1), pos)


def scorer_lane_part(args):
    # batch_max 1000: a group holds at most 6 of the batches, so an
    # order the scorer's I/O thread hands over only after the first
    # group started (seen once at load 12: reply 22 of 31 with the
    # default 4096) is still in the second or third group.
    svc = Service(args.bin, scorer_opts=["batch_max=1000"],
                  collector_opts=["collector_window_events=100000",
                                  "queue_wait_max_ms=0"])
    svc.add_client("shop2", "storefront")
    with svc:
        for tag, who in (("sl-same", "storefront"), ("sl-other", "shop2")):
            pos = order_behind_batches(svc, tag, who, SCORER_BATCHES,
                                       stop_scorer=True)
            say("  %s: the order was reply %d of %d (%d batches of %d "
                "in flight at the scorer ahead of it)"
                % (tag, pos + 1, SCORER_BATCHES + 1, SCORER_BATCHES,
                   BATCH_EVENTS))
            # The scorer reads the order after at most a batch or two
            # (the socket's fair queue) of the group it comes in; at
            # least half the batches must be answered after it.
            check(pos <= SCORER_BATCHES // 2, "%s: the order is answered "
                  "ahead of the batches in flight at the scorer (reply %d "
                  "of %d; it came last without the scorer's fast lane)"
                  % (tag, pos + 1, SCORER_BATCHES + 1), pos)


def overload_part(args):
    svc = Service(args.bin)
    with svc:
        # The collector learns the scorer's pace from answered events.
        t_end = time.monotonic() + 1.0
        n = 0
        warm_bad = []
        while time.monotonic() < t_end:
            rep = svc.send(event("device.seen", "ov-warm-%d" % n))
            if rep.get("ok") is not True:
                warm_bad.append(rep)
            n += 1
        check(not warm_bad, "%d warm-up events accepted" % n, warm_bad[:2])
        sock = dealer(svc, "storefront")
        for i in range(OVERLOAD_REQUESTS):
            batch = [event("device.seen", "ov-%d-%d" % (i, j))
                     for j in range(OVERLOAD_EVENTS)]
            sock.send_multipart([b"", pack(batch)])
            if i == OVERLOAD_REQUESTS // 2:
                sock.send_multipart([b"", pack(
                    Persona(2, tag="ov").order("ov-order"))])
        ok = busy = 0
        other, hints, order = [], [], None
        for i in range(OVERLOAD_REQUESTS + 1):
            for r in recv_reply(sock, "overload"):
                if r.get("id") == "ov-order":
                    order = r
                if r.get("ok") is True:
                    ok += 1
                elif r.get("code") == "busy":
                    busy += 1
                    hints.append(r.get("retry_after_ms", 0))
                else:
                    other.append(r)
        sock.close(0)
        say("  default configuration, %d requests of %d events at once: "
            "%d ok, %d busy, %d other" % (OVERLOAD_REQUESTS, OVERLOAD_EVENTS,
                                          ok, busy, len(other)))
        check(not other, "only ok and busy: nothing times out", other[:2])
        check(busy > 0 and ok > 0, "the excess is answered busy at once, "
              "the rest ok", (ok, busy))
        check(all(1 <= h <= 60000 for h in hints),
              "every busy reply carries retry_after_ms", hints[:5])
        check_eq(order is not None and order.get("ok"), True,
                 "the storefront's order in the middle of it is accepted "
                 "(fast lane)")


def body(args):
    lane_part(args)
    scorer_lane_part(args)
    overload_part(args)


if __name__ == "__main__":
    main(__doc__, body)
