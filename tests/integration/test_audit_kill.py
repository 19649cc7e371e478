#!/usr/bin/python3
"""integ.audit_kill - no audit record is lost when the scorer is killed.

Issue 4's target: kill the scorer with SIGKILL several times while
clients send, resend and query; afterwards every acknowledged event has
its "event.store" record, every answered query has its record, and
`vigilctl audit verify` passes (torn tails were cut and recorded as
log.repair, never left behind).

The sender keeps up to 8 batches in flight on one DEALER socket; an
event whose batch got no ok reply is resent until it is acknowledged,
so resends of already-stored events happen too (they must be answered
from their first reply, not stored again).

SPDX-License-Identifier: MIT
"""

import json
import os
import subprocess
import sys
import threading
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, check, check_eq, main,  # noqa: E402
                       say)

KILLS = 4
KILL_EVERY_S = 0.8
BATCH = 20
INFLIGHT = 8
DEADLINE_S = 60


def make_events(n, first=0):
    """n realistic events over 40 personas: visits, signups, orders."""
    evs = []
    people = [Persona(i, tag="k") for i in range(40)]
    for i in range(first, first + n):
        p = people[i % len(people)]
        kind = (i // len(people)) % 3
        eid = "kill-%d" % i
        if kind == 0:
            evs.append(p.visit(eid))
        elif kind == 1:
            evs.append(p.signup(eid))
        else:
            evs.append(p.order(eid, order="ko-%d" % i, amount=2500 + i))
    return evs


def killer(svc, stop, kills):
    """Kill the scorer with SIGKILL and start it again, KILLS times."""
    while len(kills) < KILLS and not stop.is_set():
        time.sleep(KILL_EVERY_S)
        svc.scorer.kill9()
        kills.append(time.monotonic())
        time.sleep(0.05)
        svc.scorer.start()


def send_until_acked(svc, events):
    """Send every event until each is acknowledged; return acked ids."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(svc.events_endpoint)
    pending = {e["id"]: e for e in events}
    acked, resent = set(), 0
    deadline = time.monotonic() + DEADLINE_S
    try:
        while pending and time.monotonic() < deadline:
            ids = list(pending)
            inflight = 0
            for i in range(0, min(len(ids), BATCH * INFLIGHT), BATCH):
                chunk = [pending[x] for x in ids[i:i + BATCH]]
                sock.send(msgpack.packb(chunk, use_bin_type=True))
                inflight += 1
            while inflight > 0:
                if not sock.poll(3000):
                    break  # the scorer died mid-batch: resend later
                replies = msgpack.unpackb(sock.recv(), raw=False)
                inflight -= 1
                for r in replies if isinstance(replies, list) else [replies]:
                    if r.get("ok") is True and r["id"] in pending:
                        acked.add(r["id"])
                        del pending[r["id"]]
            resent += 1
            time.sleep(0.02)
    finally:
        sock.close()
    check(not pending, "every event acknowledged within %d s (%d left)"
          % (DEADLINE_S, len(pending)))
    return acked, resent


def query_round(svc, n, answered):
    """Ask account.get n times; remember the ids of answered requests."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(svc.query_endpoint)
    try:
        for i in range(n):
            rid = "q-%d-%d" % (len(answered), i)
            req = {"v": 1, "op": "account.get", "id": rid,
                   "purpose": "fraud-prevention",
                   "account": Persona(i % 40, tag="k").account}
            sock.send(msgpack.packb(req, use_bin_type=True))
            if not sock.poll(2000):
                continue  # killed while asking: no answer, no claim
            rep = msgpack.unpackb(sock.recv(), raw=False)
            if rep.get("ok") is True:
                answered.append(rid)
    finally:
        sock.close()


def body(args):
    vigilctl = os.path.join(args.bin, "vigilctl")
    events = []
    with Service(args.bin, scorer_opts=["commit_interval_ms=50"]) as svc:
        stop, kills, answered = threading.Event(), [], []
        acked, rounds = set(), 0
        t = threading.Thread(target=killer, args=(svc, stop, kills))
        t.start()
        try:
            # Keep sending new events (and asking) until every kill has
            # happened, bounded by DEADLINE_S.
            deadline = time.monotonic() + DEADLINE_S
            while len(kills) < KILLS and time.monotonic() < deadline:
                chunk = make_events(300, first=len(events))
                events += chunk
                got, n = send_until_acked(svc, chunk)
                acked |= got
                rounds += n
                query_round(svc, 5, answered)
        finally:
            stop.set()
            t.join()
        rounds2 = 0
        say("  %d kills, %d events acknowledged in %d send rounds, "
            "%d queries answered"
            % (len(kills), len(acked), rounds + rounds2, len(answered)))
        check(len(kills) >= 2, "the scorer was killed at least twice "
              "(%d)" % len(kills))
        # Everything acknowledged again, once, after the last restart.
        svc.wait_ready()
        again, _ = send_until_acked(svc, events)
        check_eq(len(again), len(events), "every event answered on resend")
        query_round(svc, 5, answered)
        rc_s, rc_c = svc.stop()
        check_eq(rc_s, 0, "scorer exits 0 on SIGTERM")
        audit = os.path.join(svc.data_dir, "audit")
        v = subprocess.run([vigilctl, "audit", "verify", audit],
                           capture_output=True, text=True, timeout=60)
        check_eq(v.returncode, 0, "vigilctl audit verify passes "
                 "(%s)" % v.stdout.strip().replace("\n", " | "))
        r = subprocess.run([vigilctl, "audit", "replay", audit, "--json"],
                           capture_output=True, text=True, timeout=60)
        check_eq(r.returncode, 0, "vigilctl audit replay succeeds")
        records = json.loads(r.stdout)["records"]
        stored = {}
        for rec in records:
            if rec["op"] == "event.store":
                stored[rec["ref"]] = stored.get(rec["ref"], 0) + 1
        refs = {rec["ref"] for rec in records}
        missing = [i for i in acked if i not in stored]
        check(not missing, "every acknowledged event has its event.store "
              "record (%d missing, e.g. %s)" % (len(missing), missing[:3]))
        missing_q = [q for q in answered if q not in refs]
        check(not missing_q, "every answered query has its record (%d "
              "missing)" % len(missing_q))
        repairs = [rec for rec in records if rec["op"] == "log.repair"]
        say("  %d records, %d event.store refs, %d log.repair records"
            % (len(records), len(stored), len(repairs)))


if __name__ == "__main__":
    main("SIGKILL under load loses no audit record", body)
