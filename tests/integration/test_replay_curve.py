#!/usr/bin/python3
"""integ.replay_curve - vigil-replay --cert/--server-key speak CURVE.

The service speaks plain ZeroMQ on loopback today; CURVE on the
storefront endpoint is coming from the identity work. This scenario
stands in for it with a small pyzmq ROUTER that is a CURVE server (its
own ZAP handler allows exactly the client certificate made for the test)
and answers every event like the collector: ok, and for orders a score
and a decision. Checks: with the right certificates the replay completes
(exit 0, every order in --out with the stand-in's score); with the wrong
server key no handshake completes (exit 2, "no reply"); a certificate
that is not one is refused (exit 2).

SPDX-License-Identifier: MIT
"""

import os
import shutil
import sys
import tempfile
import threading

import msgpack
import zmq
import zmq.auth
from zmq.utils import z85

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import check, check_eq, free_port, main, run, say  # noqa

ROWS = [
    "user_id,signup_time,purchase_time,purchase_value,device_id,source,"
    "browser,sex,age,ip_address,class",
    "11,2015-01-01 00:00:00,2015-01-01 00:00:00,14,DEVA,Ads,Chrome,F,38,"
    "2001426400,1",
    "12,2015-01-01 00:12:00,2015-01-03 10:00:00,63,DEVB,SEO,IE,M,31,"
    "686082863.1,0",
    "13,2015-01-02 00:00:00,2015-02-01 00:00:00,20,DEVC,Direct,Opera,M,40,"
    "3001426400,0",
]


class CurveStandIn:
    """A ROUTER CURVE server answering like the collector."""

    def __init__(self, ctx, server_secret, client_public, port):
        self.ctx = ctx
        self.stop = threading.Event()
        self.seen_users = set()
        # ZAP carries the client's key in binary; certificates hold Z85.
        self.allowed = z85.decode(client_public)
        self.auth = ctx.socket(zmq.REP)
        self.auth.linger = 0
        self.auth.bind("inproc://zeromq.zap.01")
        self.sock = ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.curve_server = True
        self.sock.curve_publickey, self.sock.curve_secretkey = server_secret
        self.sock.zap_domain = b"vigil"
        self.sock.bind("tcp://127.0.0.1:%d" % port)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def zap(self):
        msg = self.auth.recv_multipart()
        version, rid, domain, address, identity, mech = msg[:6]
        key = msg[6] if len(msg) > 6 else b""
        ok = mech == b"CURVE" and key == self.allowed
        self.auth.send_multipart([version, rid, b"200" if ok else b"400",
                                  b"OK" if ok else b"denied",
                                  b"test-client" if ok else b"", b""])

    @staticmethod
    def answer(ev):
        rep = {"id": ev["id"], "ok": True, "code": "ok", "msg": ""}
        if ev["type"] == "order.placed":
            rep.update(score=42, decision="review", reasons=[])
        return rep

    def loop(self):
        poller = zmq.Poller()
        poller.register(self.auth, zmq.POLLIN)
        poller.register(self.sock, zmq.POLLIN)
        while not self.stop.is_set():
            ready = dict(poller.poll(100))
            if self.auth in ready:
                self.zap()
            if self.sock in ready:
                parts = self.sock.recv_multipart()
                body = msgpack.unpackb(parts[-1], raw=False)
                evs = body if isinstance(body, list) else [body]
                for ev in evs:
                    if ev.get("account"):
                        self.seen_users.add(ev["account"])
                reps = [self.answer(e) for e in evs]
                out = reps if isinstance(body, list) else reps[0]
                self.sock.send_multipart(parts[:-1] + [msgpack.packb(out)])

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close(0)
        self.auth.close(0)


def body(args):
    exe = os.path.join(args.bin, "vigil-replay")
    check(os.access(exe, os.X_OK), "%s exists" % exe)
    if not zmq.has("curve"):
        say("SKIP libzmq has no CURVE")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="vigil-integ-replay-curve-")
    ctx = zmq.Context()
    server = None
    try:
        keys = os.path.join(tmp, "keys")
        os.makedirs(keys)
        spub, ssec = zmq.auth.create_certificates(keys, "collector")
        cpub, csec = zmq.auth.create_certificates(keys, "replay")
        _, osec = zmq.auth.create_certificates(keys, "other")
        for p in (ssec, csec, osec):
            os.chmod(p, 0o600)
        client_public, _ = zmq.auth.load_certificate(cpub)
        data = os.path.join(tmp, "data.csv")
        with open(data, "w") as f:
            f.write("\n".join(ROWS) + "\n")
        port = free_port()
        server = CurveStandIn(ctx, zmq.auth.load_certificate(ssec),
                              client_public, port)
        ep = "tcp://127.0.0.1:%d" % port
        out = os.path.join(tmp, "out.csv")

        rc, stdout, err = run([exe, "--fraud-data", data, "--out", out,
                               "--endpoint", ep, "--cert", csec,
                               "--server-key", spub], timeout=30)
        if rc != 0:
            say(err)
        check_eq(rc, 0, "replay over CURVE exits 0")
        lines = open(out).read().splitlines()
        check_eq(lines, ["user_id,score,decision", "11,42,review",
                         "12,42,review", "13,42,review"],
                 "every order answered through the CURVE connection")
        check_eq(server.seen_users, {"u11", "u12", "u13"},
                 "the stand-in saw the users' events")

        rc, _, err = run([exe, "--fraud-data", data, "--out", out,
                          "--endpoint", ep, "--cert", csec,
                          "--server-key", cpub], timeout=30)
        check(rc == 2 and "no reply" in err,
              "the wrong server key: no handshake, exit 2", (rc, err))
        rc, _, err = run([exe, "--fraud-data", data, "--out", out,
                          "--endpoint", ep, "--cert", data,
                          "--server-key", spub], timeout=30)
        check(rc == 2 and "--cert" in err,
              "a file that is not a certificate: exit 2", (rc, err))
    finally:
        if server is not None:
            server.close()
        ctx.destroy(0)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main("vigil-replay connects with CURVE when given certificates", body)
