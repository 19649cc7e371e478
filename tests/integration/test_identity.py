#!/usr/bin/python3
"""integ.identity - who may connect, under which name, and what is recorded.

Issue 9's findings as regression tests, against the real daemons over
CURVE:
 - an unknown key is refused on the storefront port, the query port and
   the scorer's internal ipc:// socket; every refusal is recorded in the
   audit log ("auth.refused", actor "unknown-key:<its Z85 key>", outcome
   denied), the collector's ones forwarded to the scorer;
 - a client admitted with `vigilctl client add` and a SIGHUP works under
   its own name (its events are recorded with that actor); once revoked
   and reloaded it is refused and recorded, and the reloads are recorded
   ("auth.reload");
 - the scorer's internal socket accepts only collectors' keys: a
   storefront's key, a plain peer and an unknown key cannot inject an
   IPC frame naming another actor ("dpo:alice (approved)"): nothing is
   stored or recorded under that name, and no reply comes back;
 - a storefront reads only its own orders: another storefront asking
   for shop A's order is denied (and recorded as denied), and in its own
   namespace the id simply does not exist;
 - plain text is refused on the CURVE ports (no reply, nothing stored).

SPDX-License-Identifier: MIT
"""

import os
import sys
import time

import msgpack
import zmq
import zmq.auth as zmq_auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, at, audit_records,  # noqa: E402
                       check, check_eq, main, pack, query, say,
                       wait_checkpoint)

SILENCE_MS = 1500  # how long a refused peer waits for the reply that never comes


def no_reply(svc, endpoint, client, frame, kind=zmq.REQ):
    """Send `frame` on a fresh socket as `client` (a name, a (pub, sec)
    pair, or None for plain text); True when no reply comes in time."""
    s = svc.ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    try:
        if client is not None:
            svc.curve(s, client)
        s.connect(endpoint)
        s.send(frame)
        return not s.poll(SILENCE_MS, zmq.POLLIN)
    finally:
        s.close(0)


def refusals(recs):
    return [r for r in recs if r["op"] == "auth.refused"]


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    check(False, what + " (waited %.0f s)" % timeout)


def body(args):
    with Service(args.bin, keep=args.keep,
                 scorer_opts=["checkpoint_interval_ms=50"]) as svc:
        ipc = "ipc://" + os.path.join(os.path.realpath(svc.data_dir),
                                      "scorer.ipc")
        a = Persona(1, tag="ida")
        stranger = zmq.curve_keypair()
        spub = stranger[0].decode()

        say("-- an unknown key is refused everywhere, and recorded")
        ev = pack(a.visit("id-unknown", ts=at(-60)))
        check(no_reply(svc, svc.events_endpoint, stranger, ev),
              "storefront port: an unknown key gets no reply")
        q = pack({"v": 2, "op": "score.get", "id": "q-stranger",
                  "purpose": "fraud-prevention", "storefront": "storefront",
                  "order": "O-1"})
        check(no_reply(svc, svc.query_endpoint, stranger, q),
              "query port: an unknown key gets no reply")
        check(no_reply(svc, ipc, stranger, b"\x00", zmq.DEALER),
              "internal socket: an unknown key gets no reply")
        # Recorded by the scorer (its own two sockets) and forwarded by
        # the collector (the storefront port).
        svc.send_ok(a.visit("id-after", ts=at(-50)))  # a group to carry it

        def stranger_records():
            recs = refusals(audit_records(args.bin, svc.data_dir))
            mine = [r for r in recs if r["actor"] == "unknown-key:" + spub]
            wheres = {r["ref"].split(" ")[0] for r in mine}
            return mine if {"collector", "scorer"} <= wheres else None
        mine = wait_for(stranger_records, "the refusals of the unknown key "
                        "are in the audit log, from both daemons")
        check(all(r["outcome"] == "denied" and r["role"] == "system"
                  for r in mine), "recorded as denied, role system", mine)
        check(all("unknown or revoked key" in r["ref"] for r in mine),
              "the reason is recorded", [r["ref"] for r in mine])
        check(any(r["ref"].startswith("collector ") and " vigil:" in r["ref"]
                  for r in mine) and
              any(" vigil-internal:" in r["ref"] for r in mine),
              "with the endpoint's owner and domain", [r["ref"] for r in mine])

        say("-- admit, use, revoke: the name follows the key")
        svc.add_client("shop-b", "storefront")
        svc.reload()
        b = Persona(2, tag="idb")
        s = svc.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        svc.curve(s, "shop-b")
        s.connect(svc.events_endpoint)
        s.send(pack(b.order("idb-o1", order="B-ORD-1", ts=at(-40))))
        check(s.poll(5000, zmq.POLLIN), "shop-b is answered after the reload")
        rep = msgpack.unpackb(s.recv(), raw=False)
        s.close(0)
        check(rep.get("ok") is True, "shop-b's order is accepted", rep)
        svc.send_ok(a.order("ida-o1", order="A-ORD-1", ts=at(-30)))

        say("-- a storefront reads only its own orders")
        rep = query(svc, "score.get", "q-b-reads-a", client="shop-b",
                    storefront="storefront", order="A-ORD-1")
        check_eq(rep.get("code"), "denied",
                 "shop-b asking for storefront's order: denied")
        check("result" not in rep, "and no result", rep)
        rep = query(svc, "score.get", "q-b-own-ns", client="shop-b",
                    storefront=None, order="A-ORD-1")
        check_eq(rep.get("code"), "not_found",
                 "the same id in shop-b's own namespace does not exist")
        rep = query(svc, "score.get", "q-b-own", client="shop-b",
                    storefront=None, order="B-ORD-1")
        check(rep.get("ok") is True and rep["result"]["storefront"] ==
              "shop-b", "shop-b reads its own order", rep)
        rep = query(svc, "account.get", "q-b-acct", client="shop-b",
                    storefront=None, account=b.account)
        check_eq(rep.get("code"), "denied",
                 "account.get is the analyst's, not a storefront's")

        say("-- the internal socket takes collectors only")
        forged = pack([1, 1, 7, "dpo:alice (approved)",
                       [b"\x81\xa1v\x01"]])
        check(no_reply(svc, ipc, None, forged, zmq.DEALER),
              "a plain peer on the internal socket: no reply")
        check(no_reply(svc, ipc, "storefront", forged, zmq.DEALER),
              "a storefront's key on the internal socket: no reply")
        check(no_reply(svc, ipc, stranger, forged, zmq.DEALER),
              "an unknown key on the internal socket: no reply")

        say("-- plain text on the CURVE ports")
        check(no_reply(svc, svc.events_endpoint, None,
                       pack(a.visit("id-plain", ts=at(-20)))),
              "a plain storefront gets no reply")
        check(no_reply(svc, svc.query_endpoint, None, q),
              "a plain query client gets no reply")

        say("-- revoke shop-b")
        b_keys = zmq_auth.load_certificate(svc.cert_path("shop-b"))
        svc.revoke_client("shop-b")
        svc.reload()
        check(not os.path.exists(os.path.join(svc.keys_dir, "clients",
                                              "shop-b.key")),
              "the public certificate is gone")
        check(no_reply(svc, svc.events_endpoint, b_keys,
                       pack(b.visit("idb-after", ts=at(-10)))),
              "a revoked client gets no reply")
        svc.send_ok(a.visit("id-last", ts=at(-5)))

        say("-- the audit log")
        wait_checkpoint(args.bin, svc.data_dir)

        def revoked_refused():
            recs = audit_records(args.bin, svc.data_dir)
            return [r for r in refusals(recs) if r["actor"] ==
                    "unknown-key:" + b_keys[0].decode()] or None
        wait_for(revoked_refused, "the revoked key's refusal is recorded")
        recs = audit_records(args.bin, svc.data_dir)
        reloads = [r for r in recs if r["op"] == "auth.reload"]
        check(len(reloads) >= 2 and all(r["actor"] == "vigil-scorer"
                                        for r in reloads),
              "both reloads are recorded by the scorer", reloads)
        stores = [r for r in recs if r["op"] == "event.store"]
        check(any(r["actor"] == "shop-b" for r in stores),
              "shop-b's events are recorded under its own name")
        check(all(r["actor"] in ("storefront", "shop-b") for r in stores),
              "every stored event names an admitted storefront",
              sorted({r["actor"] for r in stores}))
        check(not any("alice" in r["actor"] or "alice" in r["ref"]
                      for r in recs), "no forged actor anywhere")
        denied = [r for r in recs if r["op"] == "score.get" and
                  r["actor"] == "shop-b" and r["outcome"] == "denied"]
        check_eq(len(denied), 1, "shop-b's attempt on storefront's order is "
                 "recorded as denied")
        check(svc.alive(), "both daemons are still up")


if __name__ == "__main__":
    main("CURVE identities: refusals, revocation, tenants, internal socket",
         body)
