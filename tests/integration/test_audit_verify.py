#!/usr/bin/python3
"""integ.audit_verify - `vigilctl audit` on valid and damaged audit logs.

A valid log is written through the real writer by the test helper
gen_audit_log (tests/tools, built into build/tests); copies of it are damaged the ways an attacker
or a disk could: a flipped bit, a dropped record, two records swapped, a
truncated tail, a duplicated record, a record edited with its CRC
recomputed, a forged checkpoint, a checkpoint signed by another key. For
each, `vigilctl audit verify --key` must exit 1 and name the exact
record (or checkpoint); on the valid log it exits 0. Then replay, export
(checked against an independent Merkle computation written here from
the format in tools/vigil-audit.5), prove/check-proof, and the command
line's exit codes and help.

SPDX-License-Identifier: MIT
"""

import base64
import glob
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (TestFailure, check, check_eq, parse_args,  # noqa
                       run, say)

N = 500             # records in the valid log
CKPT_EVERY = 100    # checkpoints at 100, 200, ..., 500
SEGMENT = 16384     # small segments: several files


# ------------------------------------------------------ format helpers

def crc32c(data):
    """CRC32C (Castagnoli), as in the format specification."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def segments(d):
    return sorted(glob.glob(os.path.join(d, "records-*.log")))


def frames(d):
    """[(index, path, offset, frame_len)] of every record, in order."""
    out = []
    for path in segments(d):
        with open(path, "rb") as f:
            data = f.read()
        off = 0
        while off + 8 <= len(data):
            ln = struct.unpack_from("<I", data, off)[0]
            out.append((len(out), path, off, 8 + ln))
            off += 8 + ln
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def splice(path, off, cut, ins=b""):
    data = read(path)
    write(path, data[:off] + ins + data[off + cut:])


def leaf_hash(raw):
    return hashlib.sha256(b"\x00" + raw).digest()


def node_hash(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def mth(leaves):
    """RFC 9162 Merkle tree hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def notes(d):
    """The signed notes in checkpoints.log, as bytes."""
    data = read(os.path.join(d, "checkpoints.log"))
    out, off = [], 0
    while off + 4 <= len(data):
        ln = struct.unpack_from("<I", data, off)[0]
        out.append((off, data[off + 4:off + 4 + ln]))
        off += 4 + ln
    return out


# ------------------------------------------------------------ the test

class Ctx:
    def __init__(self, bindir, tmp):
        self.ctl = os.path.join(bindir, "vigilctl")
        # The test helper is built beside the unit tests (build/tests).
        self.gen = os.path.join(os.path.dirname(os.path.abspath(bindir)),
                                "tests", "gen_audit_log")
        self.tmp = tmp
        self.good = os.path.join(tmp, "good")
        self.key = None
        self.keyfile = os.path.join(tmp, "auditor.pub")

    def vctl(self, *args, timeout=60):
        return run([self.ctl] + list(args), timeout=timeout)

    def copy(self, name):
        d = os.path.join(self.tmp, name)
        shutil.copytree(self.good, d)
        return d

    def verify_fails(self, d, what, want):
        """verify --key exits 1 and its output matches every regex."""
        rc, out, err = self.vctl("audit", "verify", d, "--key", self.key)
        check_eq(rc, 1, what + ": verify exits 1")
        for w in want:
            check(re.search(w, out + err) is not None,
                  what + ": output says %r" % w, (out + err).strip())


def test_valid(c):
    say("-- valid log")
    rc, out, err = run([c.gen, "gen", c.good, str(N), str(CKPT_EVERY),
                        str(SEGMENT)], timeout=60)
    check_eq(rc, 0, "gen_audit_log writes %d records" % N)
    c.key = out.strip()
    write(c.keyfile, (c.key + "\n").encode())
    check(len(segments(c.good)) > 2, "the log has several segments (%d)"
          % len(segments(c.good)))
    rc, out, err = c.vctl("audit", "verify", c.good, "--key", c.key)
    check_eq(rc, 0, "verify --key on the valid log exits 0")
    check("OK: %d records" % N in out, "verify says OK: %d records" % N, out)
    check("5 checkpoint(s) verified" in out, "5 checkpoints verified", out)
    check("from --key" in out, "verify says the key came from --key", out)
    rc, out, err = c.vctl("audit", "verify", c.good, "--key",
                          read(c.keyfile).decode())
    check_eq(rc, 0, "verify accepts a key with its trailing newline")
    rc, out, err = c.vctl("audit", "verify", c.good)
    check_eq(rc, 0, "verify without --key exits 0")
    check("verifier.key" in out, "and says the key came from the log's own "
          "verifier.key", out)
    rc, out, err = c.vctl("audit", "pubkey", "--signing-key",
                          c.good + ".key")
    check_eq((rc, out.strip()), (0, c.key),
             "pubkey prints the verifier key of the signing key")
    rc, out, err = c.vctl("audit", "pubkey", c.good)
    check_eq(rc, 2, "pubkey refuses to read the key from the log's "
             "directory")
    os.chmod(c.good + ".key", 0o644)
    rc, out, err = c.vctl("audit", "pubkey", "--signing-key",
                          c.good + ".key")
    check(rc == 2 and "group or others" in err,
          "pubkey refuses a signing key readable by others", err)
    os.chmod(c.good + ".key", 0o600)


def test_damage(c):
    say("-- damaged copies")
    fr = frames(c.good)
    check_eq(len(fr), N, "the frames parse as the specification says")

    # A flipped bit in record 123's payload.
    d = c.copy("flip")
    i, path, off, ln = fr[123]
    path = path.replace(c.good, d)
    data = bytearray(read(path))
    data[off + 8 + 20] ^= 0x04
    write(path, bytes(data))
    c.verify_fails(d, "flipped bit", [r"record:? 123\b", r"CRC mismatch",
                                      os.path.basename(path),
                                      r"offset %d\b" % off])

    # A dropped record (214, inside its segment).
    d = c.copy("drop")
    i, path, off, ln = fr[214]
    check(fr[213][1] == path and fr[215][1] == path,
          "records 213..215 share a segment")
    splice(path.replace(c.good, d), off, ln)
    c.verify_fails(d, "dropped record", [r"record:? 214\b",
                                         r"index field says 215"])

    # Two records swapped (301 and 302).
    d = c.copy("swap")
    _, path, o1, l1 = fr[301]
    _, path2, o2, l2 = fr[302]
    check_eq(path, path2, "records 301 and 302 share a segment")
    p = path.replace(c.good, d)
    data = read(p)
    splice(p, o1, l1 + l2, data[o2:o2 + l2] + data[o1:o1 + l1])
    c.verify_fails(d, "swapped records", [r"record:? 301\b",
                                          r"index field says 302"])

    # A duplicated record (250 written twice).
    d = c.copy("dup")
    _, path, off, ln = fr[250]
    p = path.replace(c.good, d)
    splice(p, off + ln, 0, read(p)[off:off + ln])
    c.verify_fails(d, "duplicated record", [r"record:? 251\b",
                                            r"index field says 250"])

    # A truncated tail: inside the last record, then at its start.
    d = c.copy("trunc")
    _, path, off, ln = fr[N - 1]
    p = path.replace(c.good, d)
    os.truncate(p, off + ln - 7)
    c.verify_fails(d, "tail cut inside the last record",
                   [r"record:? %d\b" % (N - 1), r"truncated record"])
    os.truncate(p, off)
    c.verify_fails(d, "tail cut at the last record",
                   [r"record:? %d\b" % (N - 1),
                    r"log truncated: checkpoint 4 covers %d records, only "
                    r"%d present" % (N, N - 1)])

    # A record edited with its CRC recomputed: only the root catches it.
    d = c.copy("recrc")
    _, path, off, ln = fr[377]
    p = path.replace(c.good, d)
    data = read(p)
    payload = bytearray(data[off + 8:off + ln])
    payload[-1] ^= 0x01        # last character of "ref"
    frame = struct.pack("<II", len(payload), crc32c(bytes(payload)))
    splice(p, off, ln, frame + bytes(payload))
    c.verify_fails(d, "record edited, CRC recomputed",
                   [r"checkpoint 3 \(size 400\)", r"300\.\.399",
                    r"first bad checkpoint: 3",
                    r"first bad record: one of 300\.\.399"])

    # A forged checkpoint: the size line of the last note changed.
    d = c.copy("forge")
    ckp = os.path.join(d, "checkpoints.log")
    off, note = notes(d)[-1]
    forged = note.replace(b"\n%d\n" % N, b"\n%d\n" % (N - 1), 1)
    check(forged != note, "the forged note differs")
    splice(ckp, off + 4, len(note), forged)
    c.verify_fails(d, "forged checkpoint",
                   [r"checkpoint 4\b", r"signature", r"checkpoints\.log"])

    # A checkpoint re-signed by another key of the same name.
    d = c.copy("otherkey")
    rc, out, err = run([c.gen, "resign", d])
    check_eq(rc, 0, "gen_audit_log resign")
    c.verify_fails(d, "checkpoint signed by another key",
                   [r"checkpoint 4\b", r"not signed by the verifier key"])
    rc, out, err = c.vctl("audit", "verify", d)
    check_eq(rc, 1, "also with the log's own verifier.key")

    # A verifier key that is not the log's: the first checkpoint fails.
    other = os.path.join(c.tmp, "other")
    rc, out, err = run([c.gen, "gen", other, "3"])
    check_eq(rc, 0, "gen_audit_log writes another log")
    c.other_key = out.strip()
    rc, out, err = c.vctl("audit", "verify", c.good, "--key", c.other_key)
    check_eq(rc, 1, "verify with another log's key exits 1")
    check(re.search(r"checkpoint 0\b.*not signed by the verifier key",
                    out) is not None, "and names checkpoint 0", out)

    # A missing segment.
    d = c.copy("noseg")
    segs = segments(d)
    os.unlink(segs[1])
    first = int(os.path.basename(segs[1])[8:28])
    c.verify_fails(d, "missing segment",
                   [r"record:? %d\b" % first, r"segment"])

    # Replay of a damaged log: records up to the damage, valid JSON, exit 1.
    rc, out, err = c.vctl("audit", "replay", os.path.join(c.tmp, "drop"),
                          "--json", "--key", c.key)
    check_eq(rc, 1, "replay of a damaged log exits 1")
    doc = json.loads(out)
    check_eq((doc["verified"], doc["count"], doc["error"]["record"]),
             (False, 214, 214), "its JSON is valid and names record 214")


def test_environment(c):
    say("-- usage and environment errors")
    rc, out, err = c.vctl("audit", "verify", os.path.join(c.tmp, "nope"),
                          "--key", c.key)
    check_eq(rc, 2, "verify of a missing directory exits 2")
    rc, out, err = c.vctl("audit", "verify", c.good, "--key", "not-a-key")
    check_eq(rc, 2, "verify with a malformed key exits 2")
    rc, out, err = c.vctl()
    check_eq(rc, 2, "no command exits 2")
    check("usage" in err, "and prints usage", err)
    for args in (["-h"], ["help"], ["help", "audit", "verify"],
                 ["audit", "verify", "-h"], ["help", "audit"]):
        rc, out, err = c.vctl(*args)
        check_eq(rc, 0, "vigilctl %s exits 0" % " ".join(args))
        check("usage" in out, "vigilctl %s prints usage" % " ".join(args))
    rc, out, err = c.vctl("audit")
    check_eq(rc, 2, "vigilctl audit (no subcommand) exits 2")
    check("audit verify" in err, "and lists the audit commands", err)
    for args in (["audit", "bogus"], ["audit", "verify"],
                 ["audit", "verify", c.good, "extra"],
                 ["audit", "verify", c.good, "--bogus"],
                 ["audit", "replay", c.good, "--from", "yesterday"],
                 ["audit", "replay", c.good, "--from", "2026-02-31"],
                 ["audit", "replay", c.good, "--to", "2025-02-29"],
                 ["audit", "replay", c.good, "--to", "2026-04-31T10:00Z"],
                 ["audit", "replay", c.good, "--from", "2026-01-01T24:00"],
                 ["audit", "replay", c.good, "--from", "2026-01-01T23:59:60"],
                 ["audit", "replay", c.good, "--subject", "abc"],
                 ["audit", "export", c.good],
                 ["audit", "prove", "inclusion", c.good, "x"],
                 ["audit", "check-proof", "-"]):
        rc, out, err = c.vctl(*args)
        check_eq(rc, 2, "vigilctl %s exits 2" % " ".join(
            a.replace(c.tmp, "T") for a in args))


def test_replay_export(c):
    say("-- replay and export")
    rc, out, err = c.vctl("audit", "replay", c.good, "--key", c.key)
    check_eq(rc, 0, "replay exits 0")
    lines = out.splitlines()
    check_eq(len(lines), N, "replay prints one line per record")
    check_eq(len(lines[0].split("\t")), 12, "of 12 tab-separated columns")

    rc, out, err = c.vctl("audit", "replay", c.good, "--json")
    check_eq(rc, 0, "replay --json exits 0")
    doc = json.loads(out)
    check_eq((doc["count"], doc["verified"], len(doc["records"])),
             (N, True, N), "replay --json: all records, verified")
    recs = doc["records"]
    check_eq([r["index"] for r in recs], list(range(N)), "in index order")

    # Filters: records are ts = base + 37 * i; analyst every 7th.
    base = recs[0]["ts"]
    t_from = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(
        (base + 37 * 100) // 1000)) + ".%03dZ" % ((base + 37 * 100) % 1000)
    rc, out, err = c.vctl("audit", "replay", c.good, "--json",
                          "--from", t_from, "--to", str(base + 37 * 110))
    got = [r["index"] for r in json.loads(out)["records"]]
    check_eq(got, list(range(100, 110)), "--from ISO --to ms")
    rc, out, err = c.vctl("audit", "replay", c.good, "--json",
                          "--actor", "analyst-anna", "--purpose", "audit")
    got = [r["index"] for r in json.loads(out)["records"]]
    want = [r["index"] for r in recs if r["actor"] == "analyst-anna"
            and r["purpose"] == "audit"]
    check(got == want and len(want) > 0, "--actor and --purpose (%d)"
          % len(want), got)
    subj = recs[42]["subj"][0]
    rc, out, err = c.vctl("audit", "replay", c.good, "--json",
                          "--subject", subj)
    got = [r["index"] for r in json.loads(out)["records"]]
    want = [r["index"] for r in recs if subj in r["subj"]]
    check(got == want and 42 in got, "--subject %s" % subj, got)

    rc, out, err = c.vctl("audit", "export", "--json", c.good, "--key",
                          c.key)
    check_eq(rc, 0, "export --json exits 0")
    doc = json.loads(out)
    check_eq(doc["verifier_key"], c.key, "export carries the verifier key")
    check_eq(doc["checkpoint"].encode(), notes(c.good)[-1][1],
             "export carries the latest signed note verbatim")
    leaves = []
    for r in doc["records"]:
        raw = bytes.fromhex(r["raw"])
        if leaf_hash(raw).hex() != r["leaf_hash"]:
            raise TestFailure("record %d: leaf_hash is not SHA-256(0x00 || "
                              "raw)" % r["index"])
        leaves.append(leaf_hash(raw))
    lines = doc["checkpoint"].split("\n")
    check_eq(lines[1], str(N), "the checkpoint covers %d records" % N)
    check_eq(base64.b64decode(lines[2]), mth(leaves),
             "an independent RFC 9162 computation gives the signed root")


def test_proofs(c):
    say("-- prove and check-proof")
    pdir = os.path.join(c.tmp, "proofs")
    os.makedirs(pdir)

    def prove(name, *args):
        rc, out, err = c.vctl("audit", "prove", *args)
        check_eq(rc, 0, "prove %s exits 0" % " ".join(
            a.replace(c.tmp, "T") for a in args))
        doc = json.loads(out)
        p = os.path.join(pdir, name)
        write(p, out.encode())
        return p, doc

    def check_proof(p, want_rc, what, *extra):
        rc, out, err = c.vctl("audit", "check-proof", p, "--key", c.key,
                              *extra)
        check_eq(rc, want_rc, what)
        return out

    p, doc = prove("inc.json", "inclusion", c.good, "123")
    check_eq((doc["index"], doc["size"]), (123, N),
             "inclusion proof against the latest checkpoint")
    out = check_proof(p, 0, "check-proof accepts it with the key alone")
    check("record 123 is included" in out, "and says so", out)

    bad = dict(doc)
    bad["proof"] = list(doc["proof"])
    bad["proof"][0] = "00" * 32
    write(p + ".bad", json.dumps(bad).encode())
    check_proof(p + ".bad", 1, "a changed proof hash fails")
    bad = dict(doc)
    raw = bytearray(bytes.fromhex(doc["record"]))
    raw[-1] ^= 1
    bad["record"] = raw.hex()
    bad.pop("leaf_hash")
    write(p + ".bad2", json.dumps(bad).encode())
    check_proof(p + ".bad2", 1, "a changed record fails")
    bad = dict(doc)
    bad["checkpoint"] = doc["checkpoint"].replace("\n%d\n" % N, "\n%d\n"
                                                  % (N + 1))
    write(p + ".bad3", json.dumps(bad).encode())
    check_proof(p + ".bad3", 1, "a forged checkpoint in the proof fails")
    # Re-encoded JSON (\\u escapes for the em dash) still checks.
    write(p + ".ascii", json.dumps(doc, ensure_ascii=True).encode())
    check_proof(p + ".ascii", 0, "the same proof re-encoded with \\u "
                "escapes checks")
    rc, out, err = c.vctl("audit", "check-proof", p, "--key", c.other_key)
    check_eq(rc, 1, "check-proof with another log's key fails")

    # A proof against a size with no checkpoint needs one from the user.
    p2, doc2 = prove("inc250.json", "inclusion", c.good, "17",
                     "--size", "250")
    check(doc2["checkpoint"] is None, "no checkpoint of size 250: null")
    out = check_proof(p2, 1, "check-proof without a signed root fails")
    check("no checkpoint signed by the key has size 250" in out,
          "and says which size is missing", out)
    p3, doc3 = prove("inc200.json", "inclusion", c.good, "17",
                     "--size", "200")
    ck200 = os.path.join(pdir, "ck200.note")
    write(ck200, notes(c.good)[1][1])
    d3 = dict(doc3)
    d3["checkpoint"] = None
    write(p3, json.dumps(d3).encode())
    check_proof(p3, 1, "a proof of size 200 without its checkpoint fails")
    check_proof(p3, 0, "and passes with --checkpoint FILE", "--checkpoint",
                ck200)

    p4, doc4 = prove("cons.json", "consistency", c.good, "100", str(N))
    check(doc4["old_checkpoint"] and doc4["checkpoint"],
          "consistency proof carries both checkpoints")
    out = check_proof(p4, 0, "check-proof accepts the consistency proof")
    check("extends" in out, "and says the log only grew", out)
    bad = dict(doc4)
    bad["proof"] = list(reversed(doc4["proof"]))
    write(p4 + ".bad", json.dumps(bad).encode())
    check_proof(p4 + ".bad", 1, "a reordered consistency proof fails")

    rc, out, err = c.vctl("audit", "prove", "inclusion", c.good, str(N))
    check_eq(rc, 2, "prove inclusion of a record not in the log exits 2")
    # Proofs come from the tiles, checked against the signed root: a
    # damaged tile fails; without tiles the whole log is verified.
    d = c.copy("tiledamage")
    t0 = os.path.join(d, "tile", "0", "000")
    data = bytearray(read(t0))
    data[3 * 32] ^= 1           # the leaf hash of record 3
    write(t0, bytes(data))
    rc, out, err = c.vctl("audit", "prove", "inclusion", d, "3", "--key",
                          c.key)
    check_eq(rc, 1, "prove from a damaged tile exits 1")
    shutil.rmtree(os.path.join(c.tmp, "drop", "tile"), ignore_errors=True)
    rc, out, err = c.vctl("audit", "prove", "inclusion",
                          os.path.join(c.tmp, "drop"), "3", "--key", c.key)
    check_eq(rc, 1, "prove on a damaged log without tiles exits 1")

    test_fork(c, pdir, check_proof)


def fork_log(c, name, edit):
    """A copy of the valid log cut back to its checkpoint of 400, with
    record `edit` changed (CRC fixed) when not None, then grown by one
    record through the real writer with the same key (gen_audit_log
    writes up to N records: the last one again), signing a head of size
    N whose root depends on the edit."""
    d = c.copy(name)
    shutil.copyfile(c.good + ".key", d + ".key")
    os.chmod(d + ".key", 0o600)
    if edit is not None:
        _, path, off, ln = frames(d)[edit]
        data = read(path)
        payload = bytearray(data[off + 8:off + ln])
        payload[-1] ^= 0x01
        frame = struct.pack("<II", len(payload), crc32c(bytes(payload)))
        splice(path, off, ln, frame + bytes(payload))
        kept = b""
        for _, note in notes(d):
            if int(note.split(b"\n")[1]) <= 400:
                kept += struct.pack("<I", len(note)) + note
        write(os.path.join(d, "checkpoints.log"), kept)
        os.unlink(os.path.join(d, "checkpoint"))
    rc, out, err = run([c.gen, "gen", d, "1", "0", str(SEGMENT)],
                       timeout=60)
    check_eq(rc, 0, "the writer grows the copy %s by one record" % name)
    head = os.path.join(c.tmp, name + ".ckpt")
    shutil.copyfile(os.path.join(d, "checkpoint"), head)
    return d, head


def test_fork(c, pdir, check_proof):
    """Issue 8 item 4: a proof from a forked log against the auditor's
    own checkpoints, and verify --checkpoint / --strict."""
    say("-- forks, saved checkpoints, --strict")
    real, real_ck = fork_log(c, "real", None)
    fork, fork_ck = fork_log(c, "fork", 450)
    size = int(read(real_ck).split(b"\n")[1])
    check_eq(size, int(read(fork_ck).split(b"\n")[1]),
             "the real and the forked head have one size")
    check(read(real_ck) != read(fork_ck),
          "two checkpoints of size %d signed by one key differ" % size)
    rc, out, err = c.vctl("audit", "prove", "inclusion", fork, "450",
                          "--key", c.key)
    check_eq(rc, 0, "the forked log proves its own record 450")
    pf = os.path.join(pdir, "fork.json")
    write(pf, out.encode())
    check_proof(pf, 0, "the forked proof alone passes check-proof (its "
                "own checkpoint)")
    out = check_proof(pf, 1, "with the auditor's checkpoint of the same "
                      "size it fails", "--checkpoint", real_ck)
    check("forked" in out and str(size) in out,
          "and says the log forked at size %d" % size, out)
    rc, out, err = c.vctl("audit", "prove", "inclusion", real, "450",
                          "--key", c.key)
    pr = os.path.join(pdir, "real.json")
    write(pr, out.encode())
    check_proof(pr, 0, "the real proof passes with the auditor's "
                "checkpoint", "--checkpoint", real_ck)
    check_proof(pr, 1, "--strict without a saved checkpoint fails",
                "--strict")
    check_proof(pr, 0, "--strict with the saved checkpoint passes",
                "--strict", "--checkpoint", real_ck)

    # verify --checkpoint: same size, larger, shorter, forked.
    ck100 = os.path.join(pdir, "ck100.note")
    write(ck100, notes(c.good)[0][1])
    rc, out, err = c.vctl("audit", "verify", real, "--key", c.key,
                          "--checkpoint", real_ck, "--checkpoint", ck100)
    check_eq(rc, 0, "verify --checkpoint: same size and an older one pass")
    rc, out, err = c.vctl("audit", "verify", fork, "--key", c.key,
                          "--checkpoint", real_ck)
    check_eq(rc, 1, "verify --checkpoint with the real head fails on the "
             "fork")
    check("saved checkpoint" in out + err, "and names the saved "
          "checkpoint", out + err)
    d = c.copy("cut")
    fr = frames(d)
    _, path, off, _ = fr[N - 10]
    write(path, read(path)[:off])
    write(os.path.join(d, "checkpoints.log"),
          struct.pack("<I", len(notes(c.good)[3][1])) + notes(c.good)[3][1])
    os.unlink(os.path.join(d, "checkpoint"))
    rc, out, err = c.vctl("audit", "verify", d, "--key", c.key)
    check_eq(rc, 0, "a cut log with its newest checkpoints removed "
             "verifies without a saved checkpoint")
    rc, out, err = c.vctl("audit", "verify", d, "--key", c.key,
                          "--checkpoint", real_ck)
    check_eq(rc, 1, "verify --checkpoint of a larger size than the log "
             "exits 1 (the log was cut)")
    check("only %d present" % (N - 10) in out + err, "and says how many "
          "are present", out + err)
    bogus = os.path.join(pdir, "bogus.note")
    write(bogus, read(real_ck).replace(b"\n%d\n" % size, b"\n7\n"))
    rc, out, err = c.vctl("audit", "verify", real, "--key", c.key,
                          "--checkpoint", bogus)
    check_eq(rc, 1, "a saved checkpoint with a bad signature exits 1")
    rc, out, err = c.vctl("audit", "verify", real, "--key", c.key,
                          "--strict")
    check_eq(rc, 0, "--strict passes when every record is covered")
    d = c.copy("uncovered")
    os.unlink(os.path.join(d, "checkpoint"))
    write(os.path.join(d, "checkpoints.log"),
          struct.pack("<I", len(notes(c.good)[3][1])) + notes(c.good)[3][1])
    rc, out, err = c.vctl("audit", "verify", d, "--key", c.key)
    check_eq(rc, 0, "records past the last checkpoint: verify exits 0")
    rc, out, err = c.vctl("audit", "verify", d, "--key", c.key, "--strict")
    check_eq(rc, 1, "but --strict exits 1")


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-audit-")
    c = Ctx(args.bin, tmp)
    for b in (c.ctl, c.gen):
        if not os.access(b, os.X_OK):
            shutil.rmtree(tmp, ignore_errors=True)
            raise TestFailure("%s is missing (build first)" % b)
    ok = False
    try:
        test_valid(c)
        test_damage(c)
        test_environment(c)
        test_replay_export(c)
        test_proofs(c)
        ok = True
    finally:
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say("  kept %s" % tmp)


if __name__ == "__main__":
    args = parse_args("vigilctl audit verify/replay/prove on valid and "
                      "damaged logs")
    name = os.path.basename(sys.argv[0])
    say("== %s" % name)
    t0 = time.monotonic()
    try:
        body(args)
    except TestFailure as e:
        say("FAIL %s: %s" % (name, e))
        sys.exit(1)
    say("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(0)
