#!/usr/bin/python3
"""integ.journal_trim - LMDB commits with a lazy meta page (issue 11 item
2): the journal is released one commit behind, so a power cut that undoes
the last commit finds every event it covered still in the journal.

The scorer's overlay flushes commit LMDB with MDB_NOMETASYNC: one data
sync, the meta page written but not synced; the NEXT commit's data sync
makes it durable. A power cut can therefore undo the last commit (LMDB
opens on the meta before it), so the journal may only be released up to
what the previous commit covered.

On the real daemons (journal segments of 1 MiB, commits every 50 ms):
the scorer is killed (VIGIL_CRASHPOINT=journal.released) right after a
commit that released journal segments; then data.mdb's newer meta page is
replaced by the older one, which is what a power cut leaves when the
unsynced meta write is lost. The restarted scorer must start (replaying
from the older commit's journal seq: a release up to the newer commit
would have removed records it needs, and the start would be refused as
"records ... are missing"), and every event acknowledged before the kill
must be in history exactly once: resent, each is answered from the dedup
and none gets a second event.store record.

SPDX-License-Identifier: MIT
"""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, Timeout,  # noqa: E402
                       audit_records, check, check_eq, main, say)

BATCH = 100
MAX_BATCHES = 400


def metas(path):
    """(page size, [(offset, txnid)] of the two meta pages) of data.mdb."""
    with open(path, "rb") as f:
        head = f.read(4096)
    # page header 16 bytes; MDB_meta: magic u32, version u32, address,
    # mapsize, dbs[2] (48 bytes each; dbs[0].md_pad = page size), last_pg,
    # txnid.
    psize = struct.unpack_from("<I", head, 16 + 24)[0]
    out = []
    with open(path, "rb") as f:
        for i in range(2):
            f.seek(i * psize)
            page = f.read(psize)
            out.append((i * psize, struct.unpack_from("<Q", page, 144)[0]))
    return psize, out


def lose_newer_meta(path):
    """Overwrite the newer meta page with the older one (keeping its page
    number): the state a power cut leaves when the newer, unsynced meta
    write never reached the disk. Returns (older txnid, newer txnid)."""
    psize, m = metas(path)
    (o_off, o_txn), (n_off, n_txn) = sorted(m, key=lambda x: x[1])
    check(n_txn == o_txn + 1, "the two meta pages are consecutive commits "
          "(%d, %d)" % (o_txn, n_txn))
    with open(path, "r+b") as f:
        f.seek(o_off)
        older = f.read(psize)
        f.seek(n_off + 8)
        f.write(older[8:])
    _, m2 = metas(path)
    check_eq(sorted(t for _, t in m2), [o_txn, o_txn],
             "data.mdb now opens on the older commit")
    return o_txn, n_txn


def body(args):
    with Service(args.bin, keep=args.keep,
                 scorer_opts=["journal_segment_mb=1",
                              "commit_interval_ms=50"]) as svc:
        svc.scorer.stop()
        os.environ["VIGIL_CRASHPOINT"] = "journal.released:1"
        try:
            svc.scorer.start()
        finally:
            del os.environ["VIGIL_CRASHPOINT"]
        svc.close_socket()
        svc.wait_ready()
        acked, sent = [], {}
        for b in range(MAX_BATCHES):
            batch = [Persona(b * BATCH + i, tag="t").signup(
                "t-%d-%d" % (b, i)) for i in range(BATCH)]
            try:
                rep = svc.send(batch, timeout_ms=3000)
            except Timeout:
                break
            if not isinstance(rep, list):
                break
            for e, r in zip(batch, rep):
                if r.get("ok") is True:
                    acked.append(e["id"])
                    sent[e["id"]] = e
            if not svc.scorer.alive():
                break
        deadline = time.monotonic() + 10
        while svc.scorer.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if svc.scorer.alive():
            raise TestFailure("no journal segment was released after %d "
                              "batches" % MAX_BATCHES)
        rc = svc.scorer.proc.returncode
        svc.scorer.proc = None
        check_eq(rc, -9, "the scorer died of SIGKILL right after a commit "
                 "that released journal segments")
        svc.close_socket()
        say("  %d events acknowledged before the kill" % len(acked))
        check(len(acked) >= BATCH, "events were acknowledged")

        old, new = lose_newer_meta(os.path.join(svc.data_dir, "history",
                                                "data.mdb"))
        say("  LMDB back at commit %d (the power cut lost %d)" % (old, new))

        svc.scorer.start()
        svc.close_socket()
        svc.wait_ready()
        check(svc.scorer.alive(), "the scorer starts on the older commit")
        check(svc.grep("records replayed", "scorer") != [],
              "it replayed the journal from there")

        stores = {}
        for r in audit_records(args.bin, svc.data_dir):
            if r.get("op") == "event.store":
                k = (r.get("ref") or "").split(" ")[0]
                stores[k] = stores.get(k, 0) + 1
        missing = [e for e in acked if stores.get(svc.event_ref(e), 0) < 1]
        check_eq(missing[:5], [], "every acknowledged event has its "
                 "event.store record")
        # Resent: answered from history (the dedup), not applied again.
        for i in range(0, len(acked), BATCH):
            batch = [sent[e] for e in acked[i:i + BATCH]]
            rep = svc.send(batch)
            bad = [r for r in rep if r.get("ok") is not True]
            check_eq(bad[:3], [], "resent batch %d answered ok" % (i // BATCH))
        again = {}
        for r in audit_records(args.bin, svc.data_dir):
            if r.get("op") == "event.store":
                k = (r.get("ref") or "").split(" ")[0]
                again[k] = again.get(k, 0) + 1
        twice = [e for e in acked if again.get(svc.event_ref(e), 0) != 1]
        check_eq(twice[:5], [], "each acknowledged event was applied once "
                 "(its resend added no event.store record)")
        check_eq(svc.stop(), (0, 0), "both daemons stop cleanly")


if __name__ == "__main__":
    main("the journal released one commit behind: a power cut that undoes "
         "the last LMDB commit loses no acknowledged event", body)
