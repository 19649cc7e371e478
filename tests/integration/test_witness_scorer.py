#!/usr/bin/env python3
"""test_witness_scorer - the real scorer and collector push their audit
checkpoints to two real vigil-witness daemons (and to a third witness that
is down, which must not hold anything up): events flow, cosignatures are
collected in DATA_DIR/audit/cosignatures.log, checked here by independent
code (tlogspec.py), and `vigilctl audit verify --witness ... --quorum N`
passes with the right keys and fails (exit 1) with a wrong key or a quorum
too high. A scorer restart meets a 409 (it forgot the witnesses' sizes)
and goes on from the size each witness reports; a witness that was down
catches up when it returns.

SPDX-License-Identifier: MIT
"""

import base64
import json
import os
import shutil
import struct
import tempfile
import time

import vigiltest as vt
from vigiltest import check, check_eq, say
import tlogspec as ts


def frames(path):
    """Whole frames of cosignatures.log (u32 LE len, note)."""
    out = []
    try:
        with open(path, "rb") as f:
            b = f.read()
    except FileNotFoundError:
        return out
    off = 0
    while len(b) - off >= 4:
        n = struct.unpack("<I", b[off:off + 4])[0]
        if n == 0 or len(b) - off - 4 < n:
            break
        out.append(b[off + 4:off + 4 + n].decode())
        off += 4 + n
    return out


def latest_checkpoint(audit_dir):
    """The last note of checkpoints.log (u32 LE len frames)."""
    with open(os.path.join(audit_dir, "checkpoints.log"), "rb") as f:
        b = f.read()
    off, last = 0, None
    while len(b) - off >= 4:
        n = struct.unpack("<I", b[off:off + 4])[0]
        if len(b) - off - 4 < n:
            break
        last = b[off + 4:off + 4 + n].decode()
        off += 4 + n
    return last


def wait_archived(audit_dir, n, timeout=10.0):
    """Wait (bounded) until checkpoints.log's last note covers `n`
    records; return it. While events flow the scorer archives a due
    checkpoint with its next LMDB commit (the flusher thread), so the
    archive may lag the head (DIR/checkpoint) by up to another
    checkpoint_interval_ms."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = latest_checkpoint(audit_dir)
        if last is not None and int(last.split("\n")[1]) >= n:
            return last
        time.sleep(0.05)
    raise vt.TestFailure("checkpoints.log does not cover %d records within "
                         "%.0f s (last: %r)" % (n, timeout, last))


def wait_cosigned(path, text, keys, timeout=15.0):
    """Wait (bounded) until every key in `keys` has a valid cosignature on
    the checkpoint whose text is `text`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = set()
        for note in frames(path):
            if not note.startswith(text + "\n"):
                continue
            for k in keys:
                if ts.verify_cosignatures(note, k):
                    got.add(k.name)
        if got == {k.name for k in keys}:
            return
        time.sleep(0.1)
    raise vt.TestFailure("no cosignatures by %s on %r within %.0f s"
                         % ([k.name for k in keys], text, timeout))


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-wscorer-")
    ws = []
    try:
        with vt.Service(args.bin,
                        scorer_opts=["checkpoint_interval_ms=50"]) as svc:
            audit = os.path.join(svc.data_dir, "audit")
            with open(os.path.join(audit, "verifier.key")) as f:
                log_vkey = f.read().strip()
            w1 = ts.WitnessDaemon(args.bin, tmp, [log_vkey], "w1.test/w")
            w2 = ts.WitnessDaemon(args.bin, tmp, [log_vkey], "w2.test/w")
            w3 = ts.WitnessDaemon(args.bin, tmp, [log_vkey], "w3.test/w")
            ws = [w1, w2, w3]
            k1, k2, k3 = (ts.CosignerKey(w.vkey()) for w in ws)
            v1, v2, v3 = (w.vkey() for w in ws)
            w1.start()
            w2.start()
            # w3 is configured but down (nothing listens on its port).
            for w, v in ((w1, v1), (w2, v2), (w3, v3)):
                svc.scorer.argv += ["-o", "witness=%s %s" % (w.url(), v)]
            svc.add_client("ops", "admin")
            svc.restart_scorer()
            cos = os.path.join(audit, "cosignatures.log")

            # Events flow; each answered at once although w3 is down.
            p = vt.Persona(1)
            t0 = time.monotonic()
            svc.send_all_ok([p.order("o-%d" % i) for i in range(40)], chunk=1)
            per = (time.monotonic() - t0) / 40
            check(per < 0.25, "40 orders answered one by one with a witness "
                  "down (%.1f ms each)" % (per * 1000))
            n = vt.wait_checkpoint(args.bin, svc.data_dir)
            text, _ = ts.split_note(wait_archived(audit, n))
            wait_cosigned(cos, text.rstrip("\n"), [k1, k2])
            say("  ok w1 and w2 cosigned the newest checkpoint")

            n_before = len(frames(cos))

            # Verify on a copy taken now: the newest checkpoint cosigned.
            copy = os.path.join(tmp, "copy")
            shutil.copytree(audit, copy, ignore=shutil.ignore_patterns("LOCK"))
            # vigilctl status shows the witness state (issue 12); asked after
            # the copy: the query is audited, its checkpoint not cosigned yet.
            rc, out, err = vt.vigilctl(args.bin, "status", "--json",
                                       *svc.ctl_conn("ops"))
            check_eq(rc, 0, "vigilctl status exits 0")
            wst = json.loads(out)["result"]["witness"]
            check_eq(wst["configured"], 3, "status: 3 witnesses configured")
            check_eq(wst["min_cosigned_size"], 0,
                     "status: w3 (down) has cosigned nothing")
            check(wst["max_cosigned_size"] >= 40 and wst["pushes"] >= 2 and
                  wst["failures"] >= 1,
                  "status: cosigned sizes and push counters", wst)
            rc, out, err = vt.vigilctl(args.bin, "audit", "verify", copy,
                                       "--key", log_vkey, "--witness", v1,
                                       "--witness", v2, "--quorum", "2")
            check_eq(rc, 0, "verify --witness w1 --witness w2 --quorum 2")
            check("OK: 2 of 2 witnesses" in out, "it says 2 of 2", out)
            rc, out, _ = vt.vigilctl(args.bin, "audit", "verify", copy,
                                     "--witness", v1, "--witness", v2,
                                     "--witness", v3, "--quorum", "3")
            check_eq(rc, 1, "quorum 3 with w3 (down, never cosigned): exit 1")
            rc, out, _ = vt.vigilctl(args.bin, "audit", "verify", copy,
                                     "--witness", v1, "--witness", v2,
                                     "--quorum", "3")
            check_eq(rc, 1, "a quorum above the witnesses given: exit 1")
            other = ts.WitnessDaemon(args.bin, tmp, [log_vkey], "x.test/w")
            rc, out, _ = vt.vigilctl(args.bin, "audit", "verify", copy,
                                     "--witness", other.vkey())
            check_eq(rc, 1, "a wrong witness key: exit 1")
            rc, _, err = vt.vigilctl(args.bin, "audit", "verify", copy,
                                     "--witness", log_vkey)
            check_eq(rc, 2, "a signed-note (0x01) key as --witness: exit 2")
            rc, out, _ = vt.vigilctl(args.bin, "audit", "verify", copy,
                                     "--witness", v1, "--quorum", "1")
            check_eq(rc, 0, "quorum 1 of w1: exit 0")

            # A C2SP tlog-proof (issue 8 item 5) of a record under the newest
            # cosigned checkpoint: it carries the witnesses' cosignatures;
            # vigilctl checks it with a witness quorum, and independent code
            # (tlogspec, from the spec) verifies the same file.
            csize = int(text.split("\n")[1])
            rc, tp, err = vt.vigilctl(args.bin, "audit", "prove", "inclusion",
                                      copy, "3", "--size", str(csize),
                                      "--key", log_vkey, "--format",
                                      "tlog-proof")
            check_eq(rc, 0, "prove inclusion --format tlog-proof: %s" % err)
            idx, size, seen = ts.verify_tlog_proof(tp, log_vkey, [k1, k2, k3])
            check_eq((idx, size), (3, csize), "the tlog-proof's index, size")
            check_eq(sorted(seen), [k1.name, k2.name],
                     "independent code: w1 and w2 cosigned its checkpoint")
            pf = os.path.join(tmp, "r3.tlog-proof")
            with open(pf, "w") as f:
                f.write(tp)
            rc, out, _ = vt.vigilctl(args.bin, "audit", "check-proof", pf,
                                     "--key", log_vkey, "--witness", v1,
                                     "--witness", v2, "--quorum", "2")
            check_eq(rc, 0, "check-proof of the tlog-proof, quorum 2: exit 0")
            check("OK: record 3 is included" in out, "it says so", out)
            rc, out, _ = vt.vigilctl(args.bin, "audit", "check-proof", pf,
                                     "--key", log_vkey, "--witness", v1,
                                     "--witness", v2, "--witness", v3,
                                     "--quorum", "3")
            check_eq(rc, 1, "tlog-proof, quorum 3 with w3 (never cosigned)")
            lines = tp.split("\n")
            lines[3] = base64.b64encode(bytes(32)).decode()
            with open(pf, "w") as f:
                f.write("\n".join(lines))
            rc, out, _ = vt.vigilctl(args.bin, "audit", "check-proof", pf,
                                     "--key", log_vkey)
            check_eq(rc, 1, "a tlog-proof with a proof hash replaced: exit 1")
            check("does not verify" in out, "says the proof fails", out)

            # Every stored frame: its checkpoint text was signed by the log
            # (it is in checkpoints.log) and its cosignature verifies.
            for note in frames(cos):
                t, sigs = ts.split_note(note)
                good = ts.verify_cosignatures(note, k1) + \
                    ts.verify_cosignatures(note, k2)
                check(len(good) == 1, "one valid cosignature per frame", note)

            # Scorer restart: it forgot the witnesses' sizes -> 409 -> goes
            # on from the reported size (a proof read from the log).
            svc.restart_scorer()
            svc.send_all_ok([p.order("r-%d" % i) for i in range(10)])
            n = vt.wait_checkpoint(args.bin, svc.data_dir)
            text, _ = ts.split_note(wait_archived(audit, n))
            wait_cosigned(cos, text.rstrip("\n"), [k1, k2])
            check(svc.grep(r"has size \d+ \(I sent 0\): retrying"),
                  "the restarted scorer met a 409 and retried")
            say("  ok after a scorer restart both witnesses cosign again")

            # w2 goes down; events go on; w2 comes back and catches up.
            check_eq(w2.stop(), 0, "w2 stopped")
            svc.send_all_ok([p.order("d-%d" % i) for i in range(10)])
            vt.wait_checkpoint(args.bin, svc.data_dir)
            w2.start()
            svc.send_all_ok([p.order("u-%d" % i) for i in range(5)])
            n = vt.wait_checkpoint(args.bin, svc.data_dir)
            text, _ = ts.split_note(wait_archived(audit, n))
            wait_cosigned(cos, text.rstrip("\n"), [k1, k2], timeout=90)
            say("  ok w2 caught up after being down")
            check(len(frames(cos)) > n_before, "more cosignatures stored")

            # A clean stop flushes the final checkpoint to the witnesses.
            svc.stop()
            rc, out, _ = vt.vigilctl(args.bin, "audit", "verify", audit,
                                     "--witness", v1, "--witness", v2)
            check_eq(rc, 0, "after a clean stop the newest checkpoint has "
                     "both cosignatures (default quorum: all given)")
    finally:
        for w in ws:
            w.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    vt.main("the scorer's checkpoints cosigned by real witnesses", body)
