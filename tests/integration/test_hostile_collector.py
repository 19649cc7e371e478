#!/usr/bin/python3
"""integ.hostile_collector - the scorer against a collector that sends
wrong frames.

The collector socket (ipc://DATA_DIR/scorer.ipc) is a local attack
surface: the scorer decodes every frame strictly (common/ipcproto.h).
Beside the real collector, a second "collector" (a CURVE DEALER with the
collector's certificate, as a compromised or buggy collector would
have) sends:
 - three frames: dropped, logged ("expected [identity, body]");
 - bytes that are not an IPC frame: dropped, logged ("envelope does not
   decode");
 - a refusals frame whose list is not a list: dropped, logged
   ("refusals do not decode");
 - an events frame whose event bytes are not an event: answered with
   one error reply ("event does not decode") under the frame's tag,
   nothing stored;
and then a storefront's event through the real collector is still
acknowledged, and the scorer's statistics line at stop counts the four
as rejected. A peer with a storefront's certificate is not admitted
to that socket at all: its frame gets no answer, and the refusal is in
the audit log (auth.refused).

SPDX-License-Identifier: MIT
"""

import os
import sys
import time

import msgpack
import zmq
import zmq.auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, pack, say)

IPC_EVENTS, IPC_REPLIES, IPC_REFUSALS = 1, 2, 3


def fake_collector(svc, cert):
    pub, sec = zmq.auth.load_certificate(cert)
    s = svc.ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_publickey = pub
    s.curve_secretkey = sec
    s.curve_serverkey = svc.server_public()
    s.connect("ipc://%s/scorer.ipc" % os.path.realpath(svc.data_dir))
    return s


def wait_log(svc, text, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if svc.grep(text, "scorer"):
            break
        time.sleep(0.05)
    check(svc.grep(text, "scorer"), "%s: the scorer logs %r" % (what, text))


def body(args):
    with Service(args.bin) as svc:
        p = Persona(3)
        svc.send_ok(p.visit("hc-0"), "a first event through the collector")
        fc = fake_collector(svc, os.path.join(svc.keys_dir,
                                              "collector.key_secret"))
        try:
            fc.send_multipart([b"a", b"b"])
            wait_log(svc, r"dropping a collector message: expected "
                     r"\[identity, body\]", "three frames")
            fc.send(b"\xc1 not msgpack")
            wait_log(svc, "dropping a collector message: envelope does not "
                     "decode", "garbage")
            fc.send(pack([1, IPC_REFUSALS, 0, "not a list"]))
            wait_log(svc, "dropping a collector message: refusals do not "
                     "decode", "bad refusals")
            fc.send(pack([1, IPC_EVENTS, 77, "storefront", [b"\xc1"]]))
            check(fc.poll(5000, zmq.POLLIN), "bad event: a reply comes")
            rep = msgpack.unpackb(fc.recv_multipart()[-1], raw=False)
            check(rep[:3] == [1, IPC_REPLIES, 77],
                  "bad event: replies under the frame's tag", rep[:3])
            check_eq(len(rep[3]), 1, "bad event: one reply")
            r = rep[3][0]
            check(r.get("ok") is False and
                  r.get("msg") == "event does not decode",
                  "bad event: an error reply 'event does not decode'", r)
            check(not fc.poll(300, zmq.POLLIN),
                  "nothing answers the dropped frames")
        finally:
            fc.close(0)

        svc.send_ok(p.visit("hc-1"), "the next storefront event is stored")

        # A storefront's key is no collector's.
        sf = fake_collector(svc, svc.cert_path("storefront"))
        try:
            sf.send(pack([1, IPC_EVENTS, 78, "storefront", [b"\xc1"]]))
            check(not sf.poll(1500, zmq.POLLIN),
                  "storefront key on the collector socket: no answer")
        finally:
            sf.close(0)
        svc.stop()
        check(svc.grep(r"events \d+ .* rejected 4 ", "scorer"),
              "the stop statistics: 4 rejected",
              svc.grep("rejected", "scorer"))
        recs = audit_records(args.bin, svc.data_dir)
        refused = [r for r in recs if r.get("op") == "auth.refused"]
        check(len(refused) >= 1,
              "the refused storefront key is in the audit log",
              [r.get("op") for r in recs][-8:])


if __name__ == "__main__":
    main("the scorer against a collector that sends wrong frames", body)
