#!/usr/bin/python3
"""integ.hostile_scorer - the collector against a scorer that answers
wrongly.

A fake scorer (a CURVE ROUTER with the scorer's server key, bound where
the real one would be: ipc://DATA_DIR/scorer.ipc) stands in for
vigil-scorer; the real vigil-collector forwards a storefront's events
to it. The fake then answers:
 - correctly: the storefront gets the reply as the fake wrote it (the
   plumbing the other cases rely on);
 - with fewer replies than events: the events answered get their
   replies, the rest "unavailable" ("scorer reply incomplete"), and
   the collector logs the count mismatch;
 - with bytes that are not an IPC frame, and with three frames: the
   collector counts them (vigil_collector_bad_scorer_frames_total 2),
   logs them, and the storefront gets "unavailable" ("scorer did not
   answer in time") after request_timeout_ms, not a hang; a correct
   reply arriving after that is dropped as late, not delivered to the
   next request;
 - slowly, with a window of one event in flight
   (collector_window_events=1): the requests two storefronts queued
   meanwhile are sent in turns (a1 in flight; a2, a3 and b1 queued: a2,
   b1, a3), each frame naming its storefront as the actor;
 - not at all, and the collector gets SIGTERM: once shutdown_timeout_ms
   (300 ms here, shorter than the request timeout) has passed, the
   waiting storefront is answered "shutdown" ("collector is stopping")
   and the collector exits 0.

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
import zmq.auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, check, check_eq,  # noqa
                       main, pack, say)

IPC_EVENTS, IPC_REPLIES = 1, 2
TIMEOUT_MS = 800  # the collector's request_timeout_ms here


def ok_reply(eid):
    return {"id": eid, "ok": True, "code": "ok", "msg": ""}


class FakeScorer:
    def __init__(self, svc):
        path = os.path.join(svc.keys_dir, "server.key_secret")
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        pub, sec = zmq.auth.load_certificate(path)
        self.sock = svc.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_server = True
        self.sock.curve_publickey = pub
        self.sock.curve_secretkey = sec
        self.sock.bind("ipc://%s/scorer.ipc"
                       % os.path.realpath(svc.data_dir))

    def take(self, what):
        """Receive one events frame: (identity, tag, raw events)."""
        if not self.sock.poll(5000, zmq.POLLIN):
            raise TestFailure("%s: the collector forwarded nothing" % what)
        parts = self.sock.recv_multipart()
        check_eq(len(parts), 2, "%s: [identity, body] from the collector"
                 % what)
        self.last = parts[1]
        body = msgpack.unpackb(parts[1], raw=False)
        check(body[:2] == [1, IPC_EVENTS], "%s: an events frame" % what,
              body[:2])
        return parts[0], body[2], body[4]

    def reply(self, ident, frames):
        self.sock.send_multipart([ident] + frames)

    def close(self):
        self.sock.close(0)


def metric(svc, name):
    url = "http://%s/metrics" % svc.collector_metrics
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def recv(sock, what, timeout_ms=5000):
    if not sock.poll(timeout_ms, zmq.POLLIN):
        raise TestFailure("%s: no reply to the storefront" % what)
    return msgpack.unpackb(sock.recv_multipart()[-1], raw=False)


def dealer(svc, client):
    """A DEALER storefront socket (several requests outstanding)."""
    s = svc.ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    svc.curve(s, client)
    s.connect(svc.events_endpoint)
    return s


def turns_case(args):
    svc = Service(args.bin, collector_opts=["collector_window_events=1"])
    fake = None
    socks = []
    try:
        svc.add_client("shop2", "storefront")
        svc.collector.start()
        fake = FakeScorer(svc)
        a, b = dealer(svc, "storefront"), dealer(svc, "shop2")
        socks = [a, b]
        p = Persona(2)
        a.send(pack(p.visit("a1")))
        first = fake.take("turns a1")
        for eid in ("a2", "a3"):
            a.send(pack(p.visit(eid)))
        time.sleep(0.2)  # a2 and a3 queued before b1
        b.send(pack(p.visit("b1")))
        time.sleep(0.2)
        order = []
        ident, tag, raws = first
        for _ in range(4):
            fake.reply(ident, [pack([1, IPC_REPLIES, tag,
                                     [ok_reply("x")]])])
            if len(order) == 3:
                break
            ident, tag, raws = fake.take("turns next")
            body = msgpack.unpackb(fake.last, raw=False)
            order.append(body[3])
        check_eq(order, ["storefront", "shop2", "storefront"],
                 "turns: the actors of a2, b1, a3, in that order")
        for s, n in ((a, 3), (b, 1)):
            for _ in range(n):
                rep = recv(s, "turns replies")
                check(rep.get("ok") is True, "turns: a reply ok", rep)
    finally:
        for s in socks:
            s.close(0)
        if fake is not None:
            fake.close()
        svc.close()


def body(args):
    turns_case(args)
    svc = Service(args.bin, collector_opts=[
        "request_timeout_ms=%d" % TIMEOUT_MS, "shutdown_timeout_ms=300"])
    fake = None
    try:
        svc.collector.start()
        fake = FakeScorer(svc)
        sf = svc.socket()
        p = Persona(1)

        # 1. A correct answer goes through as written.
        ev = p.visit("hs-1")
        sf.send(pack(ev))
        ident, tag, raws = fake.take("correct")
        check_eq(len(raws), 1, "correct: one event forwarded")
        fake.reply(ident, [pack([1, IPC_REPLIES, tag, [ok_reply("hs-1")]])])
        rep = recv(sf, "correct")
        check(rep.get("ok") is True and rep.get("id") == "hs-1",
              "correct: the storefront gets the fake's reply", rep)

        # 2. Fewer replies than events.
        sf.send(pack([p.visit("hs-2a"), p.visit("hs-2b")]))
        ident, tag, raws = fake.take("short")
        check_eq(len(raws), 2, "short: two events forwarded")
        fake.reply(ident, [pack([1, IPC_REPLIES, tag, [ok_reply("hs-2a")]])])
        rep = recv(sf, "short")
        check(isinstance(rep, list) and len(rep) == 2,
              "short: two replies to the storefront", rep)
        check(rep[0].get("ok") is True, "short: the answered event is ok",
              rep[0])
        check(rep[1].get("code") == "unavailable" and
              "incomplete" in rep[1].get("msg", ""),
              "short: the other is 'unavailable', reply incomplete", rep[1])

        # 3. Garbage, then three frames: counted, logged, and the
        # storefront answered at the timeout; the late correct reply
        # is dropped.
        before = metric(svc, "vigil_collector_bad_scorer_frames_total") or 0
        sf.send(pack(p.visit("hs-3")))
        ident, tag3, raws = fake.take("garbage")
        fake.reply(ident, [b"\xc1not msgpack"])
        fake.reply(ident, [b"a", b"b"])
        t0 = time.monotonic()
        rep = recv(sf, "garbage", timeout_ms=TIMEOUT_MS + 4000)
        took = time.monotonic() - t0
        check(rep.get("code") == "unavailable" and
              "did not answer in time" in rep.get("msg", ""),
              "garbage: 'unavailable', the scorer did not answer", rep)
        check(took < TIMEOUT_MS / 1000.0 + 2.0,
              "garbage: answered within the timeout (%.2f s)" % took)
        fake.reply(ident, [pack([1, IPC_REPLIES, tag3, [ok_reply("hs-3")]])])
        deadline = time.monotonic() + 5
        bad = None
        while time.monotonic() < deadline:
            bad = metric(svc, "vigil_collector_bad_scorer_frames_total")
            if bad is not None and bad - before >= 2:
                break
            time.sleep(0.1)
        check_eq(bad - before, 2, "garbage: two bad scorer frames counted")
        log = svc.collector.stderr_text()
        check("undecodable frame from the scorer" in log,
              "garbage: the undecodable frame is logged")
        check("expected one" in log, "garbage: the three frames are logged")
        check("scorer sent 1 replies for 2 events" in log,
              "short: the count mismatch is logged")
        # The next request gets its own reply, not the late one.
        sf.send(pack(p.visit("hs-4")))
        ident, tag, raws = fake.take("after late")
        check(tag != tag3, "after late: a new tag")
        fake.reply(ident, [pack([1, IPC_REPLIES, tag, [ok_reply("hs-4")]])])
        rep = recv(sf, "after late")
        check_eq(rep.get("id"), "hs-4", "after late: its own reply")

        # 4. No answer at all, then SIGTERM: "shutdown" to the waiting
        # storefront, exit 0.
        sf.send(pack(p.visit("hs-5")))
        fake.take("stop")
        t0 = time.monotonic()
        svc.collector.proc.send_signal(signal.SIGTERM)
        rep = recv(sf, "stop")
        took = time.monotonic() - t0
        check(rep.get("code") == "shutdown" and
              "stopping" in rep.get("msg", ""),
              "stop: the waiting storefront is told 'shutdown'", rep)
        check(took < TIMEOUT_MS / 1000.0,
              "stop: answered before the request timeout (%.2f s)" % took)
        check_eq(svc.collector.proc.wait(10), 0, "stop: collector exit 0")
    except TestFailure:
        svc.failed = True
        svc.dump_logs()
        raise
    finally:
        if fake is not None:
            fake.close()
        svc.close()


if __name__ == "__main__":
    main("the collector against a scorer that answers wrongly", body)
