#!/usr/bin/python3
"""integ.label_share - label operations that arrive with collector
events share the events' group commit (scorer.c scorer_queries), and are
still answered only once durable.

Real daemons (vigiltest.Service). The scorer is stopped (SIGSTOP) while
a batch of events goes to the collector and label requests to the query
endpoint, then continued, so that one turn of its loop finds both
sockets ready (retried a few times: the two may still be seen one turn
apart). Checks:
 - every event and every label is answered ok, each label `stored`;
 - the scorer's status counts the labels' batch as committed with the
   events' group (`totals.query_commits_shared` grows), not on its own;
 - a label sent alone is committed on its own (`query_commits` grows,
   `query_commits_shared` does not);
 - after kill -9 and a restart, each label acknowledged through the
   shared commit is durable: resent with the same request id it is
   answered `stored` false (already there), and its audit record is in
   the log (op label, outcome allowed).

SPDX-License-Identifier: MIT
"""

import json
import os
import signal
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa: E402
                       check_eq, main, pack, query, say, vigilctl)

ATTEMPTS = 6
LABELS = 4
WAIT_MS = 10000


def totals(svc):
    rc, out, err = vigilctl(svc.bindir, "status", "--json",
                            *svc.ctl_conn("ops"))
    check_eq(rc, 0, "vigilctl status exits 0")
    t = json.loads(out)["result"]["totals"]
    for k in ("query_commits", "query_commits_shared"):
        check(k in t, "status totals have %s" % k, sorted(t))
    return t


def label_req(p, qid):
    return pack({"v": 2, "op": "label", "id": qid,
                 "purpose": "fraud-prevention", "storefront": "storefront",
                 "account": p.account, "fraud": True,
                 "source": "chargeback"})


def recv_map(sock, what):
    if not sock.poll(WAIT_MS, zmq.POLLIN):
        check(False, "%s: a reply within %d ms" % (what, WAIT_MS))
    parts = sock.recv_multipart()
    return msgpack.unpackb(parts[-1], raw=False, strict_map_key=True)


def one_turn(svc, p, tag, evs):
    """Stop the scorer, queue `evs` at the collector and LABELS labels at
    the query endpoint, continue it; return the label request ids after
    checking every reply."""
    ev_sock = svc.ctx.socket(zmq.REQ)
    q_sock = svc.ctx.socket(zmq.DEALER)
    qids = ["%s-l%d" % (tag, k) for k in range(LABELS)]
    try:
        for s, client, ep in ((ev_sock, "storefront", svc.events_endpoint),
                              (q_sock, "analyst", svc.query_endpoint)):
            s.setsockopt(zmq.LINGER, 0)
            svc.curve(s, client)
            s.connect(ep)
        # The query connection's CURVE handshake needs the scorer
        # running: a request of no operation first (any reply map).
        q_sock.send(pack({"v": 2, "op": "label-share.probe",
                          "id": tag + "-probe",
                          "purpose": "fraud-prevention"}))
        recv_map(q_sock, "the probe")
        pid = svc.scorer.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            ev_sock.send(pack(evs))
            for qid in qids:
                q_sock.send(label_req(p, qid))
            # Bounded: the collector forwards the batch into the
            # scorer's socket buffer meanwhile.
            time.sleep(0.4)
        finally:
            os.kill(pid, signal.SIGCONT)
        reps = recv_map(ev_sock, "the events")
        check(isinstance(reps, list) and len(reps) == len(evs) and
              all(r.get("ok") is True for r in reps),
              "every event of the batch answered ok", reps)
        got = {}
        for _ in qids:
            r = recv_map(q_sock, "a label")
            got[r.get("id")] = r
        for qid in qids:
            r = got.get(qid, {})
            check(r.get("ok") is True and
                  r.get("result", {}).get("stored") is True,
                  "label %s answered ok, stored" % qid, r)
    finally:
        ev_sock.close(0)
        q_sock.close(0)
    return qids


def body(args):
    svc = Service(args.bin, keep=args.keep)
    svc.add_client("ops", "admin")
    with svc:
        p = Persona(1, tag="ls")
        svc.send_all_ok([p.signup("ls-0"),
                         p.order("ls-1", order="LS-ORD-1")])
        svc.close_socket()

        say("-- a label alone commits on its own")
        t0 = totals(svc)
        rep = query(svc, "label", "ls-alone", account=p.account, fraud=False,
                    source="manual-review")
        check(rep.get("ok") is True, "the lone label is answered ok", rep)
        t1 = totals(svc)
        check(t1["query_commits"] > t0["query_commits"],
              "query_commits grows", (t0, t1))
        check_eq(t1["query_commits_shared"], t0["query_commits_shared"],
                 "query_commits_shared unchanged by a lone label")

        say("-- labels and events in one turn share the group commit")
        shared_ids = None
        for a in range(ATTEMPTS):
            q = Persona(100 + a, tag="ls")
            evs = [q.signup("ls-%d-s" % a)] + \
                [q.order("ls-%d-o%d" % (a, k), order="LS-%d-%d" % (a, k))
                 for k in range(20)]
            before = totals(svc)
            qids = one_turn(svc, p, "ls-%d" % a, evs)
            after = totals(svc)
            say("   attempt %d: query commits %d -> %d, shared %d -> %d"
                % (a, before["query_commits"], after["query_commits"],
                   before["query_commits_shared"],
                   after["query_commits_shared"]))
            if after["query_commits_shared"] > \
                    before["query_commits_shared"]:
                shared_ids = qids
                break
        check(shared_ids is not None,
              "labels queued with events shared their group commit in at "
              "least one of %d turns" % ATTEMPTS)

        say("-- kill -9: the labels acknowledged by the shared commit stay")
        svc.restart_scorer(kill=True)
        for qid in shared_ids:
            rep = query(svc, "label", qid, account=p.account, fraud=True,
                        source="chargeback")
            check(rep.get("ok") is True and
                  rep.get("result", {}).get("stored") is False,
                  "resent %s: answered, already stored" % qid, rep)
        refs = {svc.query_ref(qid) for qid in shared_ids}
        recs = [r for r in audit_records(svc.bindir, svc.data_dir)
                if r.get("op") == "label" and r.get("ref", "").split(" ")[0]
                in refs]
        check(len({r["ref"].split(" ")[0] for r in recs}) == len(refs) and
              all(r.get("outcome") == "allowed" for r in recs),
              "each shared label's audit record is in the log", recs)


if __name__ == "__main__":
    main("labels arriving with events share their group commit and stay "
         "durable", body)
