#!/usr/bin/python3
"""integ.audit_tamper - the insider attacks of issue 8 on a real log.

The real scorer and collector write an audit log (events, queries, a
clean stop, then a kill -9), and the test tampers with copies of the data
directory the ways issue 8 found that someone with access to the server
could, then starts the real scorer on each copy:

 1. cut the last records and the newest checkpoints (and the head file
    `checkpoint`) after a clean stop, and after a kill -9 once they were
    synced (an LMDB commit syncs the segments first): the scorer refuses
    to start, naming the size it signed and the size it found (records
    cut that were only written, not yet synced, are what a power cut
    loses: the scorer restores them from its journal, integ.audit_heal);
 2. edit a record, fix its CRC, delete checkpoints.log and the head: the
    scorer refuses (the root it signed disagrees with the log);
 3. flip a CRC near the end: the scorer refuses instead of cutting the
    records after it as a "torn tail", and no byte of the log is cut;
and the two things that must still work:
 4. an untouched log after a clean stop starts (and service.start and
    service.stop are recorded);
 5. a real torn tail (a frame half-written past the last sync) is cut
    and recorded as log.repair;
 6. on a log long enough for the fast open (an anchor of 256 records or
    more: the anchored prefix is trusted at start-up, issue 12), a record
    edited inside that prefix: the scorer starts, its background
    verification finds the edit and it exits "refusing to continue";
    `vigilctl audit verify` exits 1.
With a checkpoint the auditor saved before the tampering, `vigilctl
audit verify --checkpoint` exits 1 on attacks 1 and 2 too.

SPDX-License-Identifier: MIT
"""

import os
import re
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, check,  # noqa: E402
                       check_eq, main, run, say)
from test_audit_verify import (crc32c, frames, notes, read,  # noqa: E402
                               write)

START_TIMEOUT_S = 20


class Lab:
    """The data directory snapshots and how to start the scorer on one."""

    def __init__(self, svc):
        self.svc = svc
        self.audit = os.path.join(svc.data_dir, "audit")
        self.ctl = os.path.join(svc.bindir, "vigilctl")
        self.snaps = os.path.join(svc.dir, "snaps")
        os.makedirs(self.snaps)

    def snapshot(self, name):
        shutil.copytree(self.svc.data_dir, os.path.join(self.snaps, name),
                        symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipc"))

    def restore(self, name):
        shutil.rmtree(self.svc.data_dir)
        shutil.copytree(os.path.join(self.snaps, name), self.svc.data_dir,
                        symlinks=True)

    def start_fails(self, what, want):
        """Start the scorer alone; it must exit non-zero within the
        timeout and its stderr match every regex of `want`."""
        d = self.svc.scorer
        before = len(d.stderr_text())
        d.start()
        t0 = time.monotonic()
        while d.alive() and time.monotonic() - t0 < START_TIMEOUT_S:
            time.sleep(0.05)
        if d.alive():
            d.stop()
            raise TestFailure(what + ": the scorer started on a tampered "
                              "log")
        rc = d.proc.returncode
        d.proc = None
        text = d.stderr_text()[before:]
        check(rc != 0, what + ": the scorer refuses to start (exit %d)" % rc)
        for w in want:
            check(re.search(w, text) is not None,
                  what + ": its error says %r" % w, text.strip()[-600:])

    def verify(self, *args):
        return run([self.ctl, "audit", "verify", self.audit] + list(args),
                   timeout=60)


def traffic(svc, tag, n):
    """n small personas' sign-ups and orders: a few records each."""
    for i in range(n):
        p = Persona(300 + i, tag=tag)
        svc.send_ok(p.signup("%s-s%d" % (tag, i)))
        svc.send_ok(p.order("%s-o%d" % (tag, i), order="o-%s-%d" % (tag, i),
                            amount=1000 + i))


def cut_records(lab, keep):
    """Cut the log to its first `keep` records, and drop every
    checkpoint past them and the head, as an insider would."""
    fr = frames(lab.audit)
    _, path, off, _ = fr[keep]
    data = read(path)
    write(path, data[:off])
    for _, p2, _, _ in fr[keep:]:
        if p2 != path and os.path.exists(p2):
            os.unlink(p2)
    kept = b""
    for _, note in notes(lab.audit):
        size = int(note.split(b"\n")[1])
        if size <= keep:
            kept += struct.pack("<I", len(note)) + note
    write(os.path.join(lab.audit, "checkpoints.log"), kept)
    head = os.path.join(lab.audit, "checkpoint")
    if os.path.exists(head):
        os.unlink(head)
    return len(fr)


def edit_record(frame):
    """Change one byte of a record's purpose and fix its CRC (a valid
    record with other content, as an insider would leave it)."""
    _, path, off, ln = frame
    data = bytearray(read(path))
    payload = bytearray(data[off + 8:off + ln])
    i = payload.find(b"fraud-prevention")
    if i < 0:
        i = payload.find(b"security")
    check(i >= 0, "the record has a purpose to forge")
    payload[i] = ord("g")  # "graud-prevention": still a valid record
    data[off + 4:off + 8] = struct.pack("<I", crc32c(bytes(payload)))
    data[off + 8:off + ln] = payload
    write(path, bytes(data))


def saved_checkpoint(lab, name):
    """The auditor's copy of the newest checkpoint (the head)."""
    path = os.path.join(lab.svc.dir, name)
    shutil.copyfile(os.path.join(lab.audit, "checkpoint"), path)
    return path


def body(args):
    with Service(args.bin, keep=args.keep) as svc:
        lab = Lab(svc)
        traffic(svc, "a", 15)
        check_eq(svc.stop(), (0, 0), "clean stop of both daemons")
        lab.snapshot("clean")
        n = len(frames(lab.audit))
        saved = saved_checkpoint(lab, "auditor-clean.ckpt")
        say("-- %d records after a clean stop" % n)

        say("-- 4. an untouched log after a clean stop starts")
        svc.start()
        text = svc.scorer.stderr_text()
        check("refusing" not in text, "no refusal", text[-400:])
        traffic(svc, "b", 3)
        # Let an LMDB commit (commit_interval_ms 200) sync the segments:
        # records written but not yet synced would be restored from the
        # journal instead (integ.audit_heal).
        time.sleep(0.8)
        svc.kill9("scorer")
        svc.collector.stop()
        lab.snapshot("killed")
        n_killed = len(frames(lab.audit))
        rc, out, err = lab.verify("--checkpoint", saved)
        check_eq(rc, 0, "verify --checkpoint: the grown log is consistent "
                 "with the saved checkpoint (%s)" % (out + err).strip())
        rc, out, err = run([lab.ctl, "audit", "replay", lab.audit], timeout=60)
        check("service.start" in out and "service.stop" in out,
              "service.start and service.stop are audit records")
        check("key.signing" in out,
              "the signing key's creation is an audit record (key.signing)")

        say("-- 1a. cut records and checkpoints after a clean stop")
        lab.restore("clean")
        cut_records(lab, n - 5)
        lab.start_fails("cut after clean stop",
                        [str(n - 5), str(n), "refusing to start"])
        rc, out, err = lab.verify("--checkpoint", saved)
        check_eq(rc, 1, "verify --checkpoint SAVED exits 1 on the cut log")
        check(str(n) in out + err, "and names the saved size %d" % n,
              out + err)

        say("-- 1b. cut records and checkpoints after a kill -9")
        lab.restore("killed")
        cut_records(lab, n_killed - 4)
        lab.start_fails("cut after kill -9",
                        [str(n_killed - 4), "refusing to start"])

        say("-- 2. edit a record, fix its CRC, delete the checkpoints")
        lab.restore("clean")
        fr = frames(lab.audit)
        edit_record(fr[n // 2])
        os.unlink(os.path.join(lab.audit, "checkpoints.log"))
        os.unlink(os.path.join(lab.audit, "checkpoint"))
        lab.start_fails("edited record", [str(n), "disagrees",
                                          "refusing to start"])
        rc, out, err = lab.verify("--checkpoint", saved)
        check_eq(rc, 1, "verify --checkpoint SAVED exits 1 on the edit")

        say("-- 3. flip a CRC near the end")
        lab.restore("clean")
        fr = frames(lab.audit)
        _, path, off, ln = fr[n - 3]
        size_before = sum(os.path.getsize(p) for p in set(
            f[1] for f in fr))
        data = bytearray(read(path))
        data[off + 4] ^= 0x01
        write(path, bytes(data))
        lab.start_fails("flipped CRC", ["not a torn write",
                                        "refusing to start"])
        size_after = sum(os.path.getsize(p) for p in set(f[1] for f in fr))
        check_eq(size_after, size_before, "no byte of the log was cut")

        say("-- 6. a long log (fast open: the anchored prefix is trusted): "
            "a record edited inside the prefix")
        lab.restore("clean")
        svc.start()
        traffic(svc, "c", 150)
        check_eq(svc.stop(), (0, 0), "clean stop after 300 more events")
        fr = frames(lab.audit)
        check(len(fr) >= 300, "the log holds %d >= 300 records (the open "
              "trusts the first 256)" % len(fr))
        edit_record(fr[10])
        lab.start_fails("edited record in the trusted prefix",
                        ["records trusted up to the anchor",
                         "BACKGROUND VERIFICATION FAILED",
                         "disagrees with what the scorer signed",
                         "refusing to continue"])
        rc, out, err = lab.verify()
        check_eq(rc, 1, "vigilctl audit verify exits 1 on the edit inside "
                 "the trusted prefix (%s)" % (out + err).strip()[-200:])

        say("-- 5. a real torn tail past the last sync is cut")
        lab.restore("killed")
        fr = frames(lab.audit)
        last = fr[-1][1]
        with open(last, "ab") as f:
            f.write(struct.pack("<I", 200) + b"\x00\x01\x02")
        svc.start()
        check(svc.grep("cutting a torn tail", "scorer") != [],
              "the scorer cuts the torn tail")
        check_eq(svc.stop(), (0, 0), "and stops cleanly")
        rc, out, err = run([lab.ctl, "audit", "replay", lab.audit], timeout=60)
        check("log.repair" in out, "a log.repair record says so")


if __name__ == "__main__":
    main("insider attacks on a real audit log: the scorer refuses to "
         "start, verify --checkpoint exits 1", body)
