#!/usr/bin/python3
"""integ.subject_report - `vigilctl audit subject report`: who accessed
one person's data, each access with an inclusion proof.

Two shoppers, A and B, send events; the fraud team queries both (one
query about A is denied). Once a signed checkpoint covers the log, the
report for --account A must list exactly A's accesses (A's event.store
records and the queries about A, denied included) and nothing of B's,
each with an inclusion proof that this test checks again on its own
(RFC 9162 verification written here, the root taken from the signed
checkpoint, the leaf hash recomputed from the record's raw bytes in
`vigilctl audit export`). --email of A finds A's signup; the human
output prints the identifier only on its header line; a copy of the
data directory without the LMDB index falls back to a full scan with a
warning and gives the same list.

SPDX-License-Identifier: MIT
"""

import base64
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, check,  # noqa
                       check_eq, main, query, say, vigilctl, wait_checkpoint)


# ------------------------------------------- RFC 9162 2.1.3.2, independent

def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2; True when the path leads to root."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def checkpoint_root(note):
    """(size, root bytes) of a C2SP checkpoint note's text."""
    lines = note.split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


def report(bindir, data_dir, keys_dir, *opts):
    if opts[0] == "--account":
        opts = opts + ("--storefront", "storefront")
    rc, out, err = vigilctl(bindir, "audit", "subject", "report", data_dir,
                            "--json", "--keys-dir", keys_dir, *opts)
    if rc != 0:
        raise TestFailure("subject report %s exited %d: %s"
                          % (opts[0], rc, err.strip()))
    return json.loads(out), err


def check_proofs(doc, raw_by_index, what):
    size, root = checkpoint_root(doc["checkpoint"])
    check_eq(doc["checkpoint_size"], size, what + ": checkpoint size")
    for a in doc["accesses"]:
        pr = a["proof"]
        raw = raw_by_index[a["index"]]
        leaf = hashlib.sha256(b"\x00" + raw).digest()
        check_eq(a["leaf_hash"], leaf.hex(),
                 what + ": record %d: leaf hash of its exported bytes"
                 % a["index"])
        good = (pr["verified"] is True and pr["signed"] is True and
                pr["size"] == size and
                verify_inclusion(a["index"], size, leaf,
                                 [bytes.fromhex(h) for h in pr["hashes"]],
                                 root))
        check(good, what + ": record %d: signed proof verifies here too"
              % a["index"], pr)


def body(args):
    a = Persona(11, tag="sra")
    b = Persona(12, tag="srb")
    with Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"]) as svc:
        say("events for A and B")
        a_events = [a.signup("sra-s1"), a.order("sra-o1", order="SRA-ORD"),
                    a.login("sra-l1", ok=False)]
        b_events = [b.signup("srb-s1"), b.order("srb-o1", order="SRB-ORD")]
        for e in (a_events[0], b_events[0], a_events[1], b_events[1],
                  a_events[2]):
            svc.send_ok(e)

        say("queries")
        a_queries = ["qa-score", "qa-acct", "qa-denied"]
        b_queries = ["qb-score", "qb-acct"]
        check(query(svc, "score.get", "qa-score", order="SRA-ORD")["ok"],
              "score.get of A's order")
        check(query(svc, "account.get", "qa-acct", account=a.account)["ok"],
              "account.get of A")
        check_eq(query(svc, "account.get", "qa-denied", purpose="marketing",
                       account=a.account)["code"], "denied",
                 "a denied query about A")
        check(query(svc, "score.get", "qb-score", order="SRB-ORD")["ok"],
              "score.get of B's order")
        check(query(svc, "account.get", "qb-acct", account=b.account,
                    purpose="chargeback-review", case="CB-7")["ok"],
              "account.get of B")
        wait_checkpoint(args.bin, svc.data_dir)

        rc, out, err = vigilctl(args.bin, "audit", "export", "--json",
                                os.path.join(svc.data_dir, "audit"))
        check_eq(rc, 0, "audit export exits 0")
        raw_by_index = {r["index"]: bytes.fromhex(r["raw"])
                        for r in json.loads(out)["records"]}

        say("report for --account A")
        doc, err = report(args.bin, svc.data_dir, svc.keys_dir, "--account", a.account)
        say("  note index: %s %s" % (doc["index"], err.strip()))
        # Records carry the keyed hash of an event's or query's id.
        def erefs(evs):
            return [svc.event_ref(e["id"]) for e in evs]

        def qrefs(ids):
            return [svc.query_ref(q) for q in ids]

        refs = sorted(x["ref"] for x in doc["accesses"])
        want = sorted(erefs(a_events) + qrefs(a_queries))
        check_eq(refs, want, "exactly A's accesses, B's absent")
        check_eq(doc["count"], len(want), "count")
        check(doc["proofs_ok"] is True, "every proof verified (vigilctl)")
        check_proofs(doc, raw_by_index, "A")
        denied = [x for x in doc["accesses"]
                  if x["ref"] == svc.query_ref("qa-denied")]
        check_eq((denied[0]["op"], denied[0]["outcome"], denied[0]["purpose"]),
                 ("account.get", "denied", "marketing"),
                 "the denied access is listed as denied")
        check(all(doc["subject"] in x["subj"] for x in doc["accesses"]),
              "every listed record names A's subject")

        say("report for --account B")
        docb, _ = report(args.bin, svc.data_dir, svc.keys_dir, "--account", b.account)
        check_eq(sorted(x["ref"] for x in docb["accesses"]),
                 sorted(erefs(b_events) + qrefs(b_queries)),
                 "exactly B's accesses")
        check_proofs(docb, raw_by_index, "B")

        say("report for --email of A")
        doce, _ = report(args.bin, svc.data_dir, svc.keys_dir, "--email", a.email.upper())
        refs = [x["ref"] for x in doce["accesses"]]
        check(svc.event_ref("sra-s1") in refs,
              "the signup's record is found by email", refs)
        check(not set(refs) & set(erefs(b_events) + qrefs(b_queries)),
              "none of B's", refs)
        check_proofs(doce, raw_by_index, "A by email")
        doc_dev, _ = report(args.bin, svc.data_dir, svc.keys_dir, "--device", b.device)
        check_eq(sorted(x["ref"] for x in doc_dev["accesses"]),
                 sorted(erefs(b_events)),
                 "--device of B: B's events only")

        say("human output")
        rc, out, err = vigilctl(args.bin, "audit", "subject", "report",
                                svc.data_dir, "--account", a.account,
                                "--storefront", "storefront",
                                "--keys-dir", svc.keys_dir)
        check_eq(rc, 0, "human report exits 0")
        lines = out.splitlines()
        check(a.account in lines[0], "the header names the identifier typed")
        check(not any(a.account in l for l in lines[1:]) and
              a.account not in err,
              "the identifier appears nowhere else")
        check("every proof verified" in out, "human output says proofs ok",
              out[-200:])
        rc, out, err = vigilctl(args.bin, "audit", "subject", "report",
                                svc.data_dir, "--email", a.email,
                                "--keys-dir", svc.keys_dir)
        check(a.email not in "\n".join(out.splitlines()[1:]) and
              a.email not in err, "the email appears only on the header")

        say("no index: full scan with a warning")
        copy = os.path.join(svc.dir, "copy")
        os.makedirs(copy)
        shutil.copytree(os.path.join(svc.data_dir, "audit"),
                        os.path.join(copy, "audit"))
        doc2, err2 = report(args.bin, copy, svc.keys_dir, "--account", a.account)
        check_eq(doc2["index"], "missing", "the index is reported missing")
        check("full scan" in err2, "a warning says so", err2)
        check_eq(sorted(x["ref"] for x in doc2["accesses"]), want,
                 "the scan finds the same accesses")

        say("usage errors")
        rc, _, _ = vigilctl(args.bin, "audit", "subject", "report",
                            svc.data_dir)
        check_eq(rc, 2, "no identifier option: exit 2")
        rc, _, _ = vigilctl(args.bin, "audit", "subject", "report",
                            svc.data_dir, "--account", "x", "--email", "y@z.com")
        check_eq(rc, 2, "two identifier options: exit 2")
        rc, _, err = vigilctl(args.bin, "audit", "subject", "report",
                              svc.data_dir, "--ip", "999.1.1.1",
                              "--keys-dir", svc.keys_dir)
        check_eq(rc, 2, "an identifier that does not parse: exit 2")
        check("--ip" in err and "999.1.1.1" not in err,
              "the error names the option, not the identifier", err)
        rc, _, err = vigilctl(args.bin, "audit", "subject", "report",
                              svc.data_dir, "--account", "",
                              "--storefront", "storefront",
                              "--keys-dir", svc.keys_dir)
        check_eq(rc, 2, "an empty account id: exit 2")


if __name__ == "__main__":
    main("audit subject report: one person's accesses with proofs", body)
