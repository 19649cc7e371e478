#!/usr/bin/env python3
"""test_witness - vigil-witness against an independent client written from
the specifications (tests/integration/tlogspec.py): every status code of
c2sp.org/tlog-witness add-checkpoint, cosignatures checked by independent
code (c2sp.org/tlog-cosignature), state kept across a restart, the
monitoring GET, and the key file's mode.

SPDX-License-Identifier: MIT
"""

import hashlib
import os
import shutil
import stat
import tempfile
import time

import vigiltest as vt
from vigiltest import check, check_eq, say
import tlogspec as ts

ORIGIN = "vigil.test/audit"


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-witness-")
    log = ts.LogKey(ORIGIN)
    other = ts.LogKey("other.test/log")
    stranger = ts.LogKey(ORIGIN)  # same name, another key: unknown
    leaves = [ts.leaf_hash(b"record %d" % i) for i in range(40)]
    w = ts.WitnessDaemon(args.bin, tmp, [log.vkey(), other.vkey()])
    try:
        wkey = ts.CosignerKey(w.vkey())
        kpath = os.path.join(w.dir, "state", "witness.key")
        check_eq(stat.S_IMODE(os.stat(kpath).st_mode), 0o600,
                 "the witness key is created 0600")
        w.start()

        def note(size, key=log, origin=ORIGIN, root=None):
            text = ts.checkpoint_body(origin, size, root if root is not None
                                      else ts.mth(leaves[:size]))
            return text + "\n" + key.sign_line(text)

        def add(old, size, proof=None, **kw):
            if proof is None:
                proof = (ts.consistency_proof(old, leaves[:size])
                         if old > 0 else [])
            return ts.post(w.port, ts.add_checkpoint_body(
                old, proof, note(size, **kw)))

        # 1. First checkpoint: old 0, no proof -> 200 and a cosignature
        #    that independent code verifies.
        st, ctype, txt = add(0, 3)
        check_eq(st, 200, "first checkpoint (old 0) is cosigned")
        now = int(time.time())
        tss = ts.verify_cosignatures(note(3) + txt, wkey, now)
        check_eq(len(tss), 1, "one valid cosignature/v1 by the witness key")
        check(abs(tss[0] - now) < 60, "its timestamp is now", tss)
        check(txt.startswith(ts.EM + " witness.test/w1 ") and
              txt.endswith("\n"), "the body is one signature line", txt)

        # 2. Stale old size -> 409 with the witness's size.
        st, ctype, txt = add(0, 5)
        check_eq((st, ctype, txt), (409, "text/x.tlog.size", "3\n"),
                 "old 0 after size 3: 409 text/x.tlog.size '3'")

        # 3. Retry from the size the witness reported, with a real proof.
        st, _, txt = add(3, 7)
        check_eq(st, 200, "3 -> 7 with a consistency proof is cosigned")
        check_eq(len(ts.verify_cosignatures(note(7) + txt, wkey)), 1,
                 "the 7 cosignature verifies")
        # The cosignature does not verify on another checkpoint.
        try:
            ts.verify_cosignatures(note(8) + txt, wkey)
            raise vt.TestFailure("a cosignature of size 7 verified on 8")
        except ValueError:
            say("  ok the cosignature of 7 fails on checkpoint 8")

        # 4. A fork: same size, another root.
        fork = hashlib.sha256(b"fork").digest()
        st, _, _ = add(7, 7, proof=[], root=fork)
        check_eq(st, 422, "fork at the same size (old 7, new 7): 422")
        st, ctype, txt = add(0, 7, proof=[], root=fork)
        check_eq((st, txt), (409, "7\n"), "fork sent as old 0: 409 '7'")
        # A fork at a larger size: its proof from 7 cannot verify.
        forked = leaves[:7] + [ts.leaf_hash(b"forged")] * 3
        st, _, _ = ts.post(w.port, ts.add_checkpoint_body(
            7, ts.consistency_proof(7, leaves[:10]),
            ts.checkpoint_body(ORIGIN, 10, ts.mth(forked)) + "\n" +
            log.sign_line(ts.checkpoint_body(ORIGIN, 10, ts.mth(forked)))))
        check_eq(st, 422, "a checkpoint that rewrites history: 422")

        # 5. Bad proofs.
        good = ts.consistency_proof(7, leaves[:12])
        bad = list(good)
        bad[0] = bytes(32)
        check_eq(add(7, 12, proof=bad)[0], 422, "a wrong proof hash: 422")
        check_eq(add(7, 12, proof=good[:-1])[0], 422, "a short proof: 422")
        check_eq(add(7, 12, proof=good + [bytes(32)])[0], 422,
                 "a long proof: 422")

        # 6. Origins and keys.
        st, _, _ = add(0, 3, origin="unknown.test/log")
        check_eq(st, 404, "unknown origin: 404")
        st, _, _ = add(7, 12, key=stranger)
        check_eq(st, 403, "signed only by an unknown key of that name: 403")
        text = ts.checkpoint_body(ORIGIN, 12, ts.mth(leaves[:12]))
        line = log.sign_line(text)
        tampered = line[:-10] + ("A" if line[-10] != "A" else "B") + line[-9:]
        st, _, _ = ts.post(w.port, ts.add_checkpoint_body(
            7, good, text + "\n" + tampered))
        check_eq(st, 403, "a trusted key's signature that fails: 403")
        st, _, _ = ts.post(w.port, ts.add_checkpoint_body(
            7, good, text + "\n" + stranger.sign_line(text) + line))
        check_eq(st, 200, "unknown signatures beside the trusted one are "
                 "ignored: 200")

        # 7. Malformed requests.
        check_eq(add(13, 12, proof=[])[0], 400, "old size above size: 400")
        check_eq(ts.post(w.port, "hello\n")[0], 400, "garbage: 400")
        check_eq(ts.post(w.port, ts.add_checkpoint_body(
            12, [bytes(32)] * 64, note(13)))[0], 400, "64 proof lines: 400")
        check_eq(ts.post(w.port, "old 012\n\n" + note(13))[0], 400,
                 "old size with a leading zero: 400")
        check_eq(ts.post(w.port, "", method="GET")[0], 405, "GET: 405")

        # 8. The empty tree: size 0 must have SHA-256("") as its root.
        st, _, _ = ts.post(w.port, ts.add_checkpoint_body(
            0, [], (lambda t: t + "\n" + other.sign_line(t))(
                ts.checkpoint_body("other.test/log", 0, bytes(32)))))
        check_eq(st, 422, "size 0 with a root other than SHA-256(''): 422")
        st, _, _ = ts.post(w.port, ts.add_checkpoint_body(
            0, [bytes(32)], (lambda t: t + "\n" + other.sign_line(t))(
                ts.checkpoint_body("other.test/log", 4, ts.mth(leaves[:4])))))
        check_eq(st, 422, "a proof with old size 0: 422")

        # 9. Monitoring: the latest cosigned checkpoint.
        h = hashlib.sha256(ORIGIN.encode()).hexdigest()
        st, _, txt = ts.post(w.port, "", path="/%s/checkpoint" % h,
                             method="GET")
        check_eq(st, 200, "GET /<origin hash>/checkpoint: 200")
        check(txt.startswith(ts.checkpoint_body(ORIGIN, 12,
                                                ts.mth(leaves[:12]))),
              "it is the checkpoint of size 12", txt)
        check_eq(len(ts.verify_cosignatures(txt, wkey)), 1,
                 "it carries the witness's cosignature")
        st, _, _ = ts.post(w.port, "", path="/%s/checkpoint" % ("0" * 64),
                           method="GET")
        check_eq(st, 404, "an origin never cosigned: 404")

        # 10. The state survives a restart; the key too.
        check_eq(w.stop(), 0, "vigil-witness stops cleanly on SIGTERM")
        w.start()
        check_eq(add(0, 13)[1:], ("text/x.tlog.size", "12\n"),
                 "after a restart the witness still knows size 12")
        check_eq(add(12, 13)[0], 200, "and goes on from there")
        check_eq(w.stop(), 0, "stopped")

        # 11. A key file others can read is refused.
        os.chmod(kpath, 0o644)
        rc, _, err = vt.run([w.bin, "-k", "-f", w.conf])
        check(rc != 0 and "0600" in err, "a 0644 key file is refused", err)
        os.chmod(kpath, 0o600)
    finally:
        w.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    vt.main("vigil-witness speaks tlog-witness to an independent client", body)
