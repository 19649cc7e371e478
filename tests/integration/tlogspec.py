"""tlogspec - an independent implementation of the C2SP formats Vigil's
witness speaks, written from the specifications (not from Vigil's C code),
for the interoperability tests:

 - c2sp.org/signed-note: Ed25519 (type 0x01) note signing and key IDs;
 - c2sp.org/tlog-checkpoint: checkpoint bodies;
 - RFC 6962 / RFC 9162 section 2.1: Merkle tree hashes and consistency
   proofs (PROOF / SUBPROOF, computed from the leaves);
 - c2sp.org/tlog-witness: the add-checkpoint request body;
 - c2sp.org/tlog-cosignature: cosignature/v1 (Ed25519, type 0x04) checks;
 - c2sp.org/tlog-proof: reading a tlog-proof@v1 and its verification steps
   (RFC 9162 2.1.3.2 inclusion check, the log's signature, cosignatures).

Ed25519 comes from Debian's python3-cryptography; nothing else beyond
the standard library. `WitnessDaemon` runs build/bin/vigil-witness in a
temp dir on a free 127.0.0.1 port and stops it when closed.

SPDX-License-Identifier: MIT
"""

import base64
import hashlib
import http.client
import os
import struct
import subprocess
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.exceptions import InvalidSignature

import vigiltest as vt

EM = "\u2014"


def key_id(name, alg, pk):
    """SHA-256(name || 0x0A || alg || pk)[:4] (signed-note)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pk).digest()[:4]


def raw_pk(sk):
    return sk.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)


class LogKey:
    """A log's signed-note (type 0x01) Ed25519 key."""

    def __init__(self, name, seed=None):
        self.name = name
        self.sk = (Ed25519PrivateKey.from_private_bytes(seed) if seed
                   else Ed25519PrivateKey.generate())
        self.pk = raw_pk(self.sk)
        self.id = key_id(name, 0x01, self.pk)

    def vkey(self):
        return "%s+%s+%s" % (self.name, self.id.hex(),
                             base64.b64encode(b"\x01" + self.pk).decode())

    def sign_line(self, text):
        sig = self.sk.sign(text.encode())
        return "%s %s %s\n" % (EM, self.name,
                               base64.b64encode(self.id + sig).decode())


def checkpoint_body(origin, size, root):
    return "%s\n%d\n%s\n" % (origin, size, base64.b64encode(root).decode())


# --------------------------------------------------------- RFC 6962 tree

def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def largest_pow2_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """MTH(D[n]) over leaf HASHES."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = largest_pow2_below(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def subproof(m, leaves, b):
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = largest_pow2_below(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency_proof(m, leaves):
    """PROOF(m, D[n]) of RFC 6962 2.1.2 (0 < m <= n)."""
    return subproof(m, leaves, True)


# --------------------------------------------------------- tlog-witness

def add_checkpoint_body(old, proof, note):
    """old size line, proof lines, empty line, checkpoint (tlog-witness)."""
    out = "old %d\n" % old
    for h in proof:
        out += base64.b64encode(h).decode() + "\n"
    return out + "\n" + note


def post(port, body, path="/add-checkpoint", method="POST", timeout=5):
    """Return (status, content type, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body.encode() if isinstance(body, str) else body
        c.request(method, path, body=data if method == "POST" else None)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        c.close()


# --------------------------------------------------------- tlog-cosignature

class CosignerKey:
    """A witness's public key from its vkey (type 0x04)."""

    def __init__(self, vkey):
        name, kid, b64 = vkey.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        if raw[0] != 0x04 or len(raw) != 33:
            raise ValueError("not a cosignature/v1 Ed25519 vkey")
        self.name = name
        self.pk = raw[1:]
        self.id = key_id(name, 0x04, self.pk)
        if self.id.hex() != kid:
            raise ValueError("key ID does not match the key")
        self.key = Ed25519PublicKey.from_public_bytes(self.pk)


def split_note(note):
    """(text, [(name, sig bytes)]) at the last blank line (signed-note)."""
    i = note.rindex("\n\n")
    text, sigs = note[:i + 1], note[i + 2:]
    out = []
    for line in sigs.splitlines():
        if not line.startswith(EM + " "):
            raise ValueError("not a signature line: %r" % line)
        name, b64 = line[2:].split(" ")
        out.append((name, base64.b64decode(b64, validate=True)))
    return text, out


def verify_cosignatures(note, cosigner, now=None):
    """Timestamps of every valid cosignature by `cosigner` on the note;
    raises ValueError on a matching line that does not verify."""
    text, sigs = split_note(note)
    got = []
    for name, raw in sigs:
        if name != cosigner.name or raw[:4] != cosigner.id:
            continue
        if len(raw) != 4 + 8 + 64:
            raise ValueError("cosignature of %d bytes" % len(raw))
        ts = struct.unpack(">Q", raw[4:12])[0]
        if ts == 0 or ts > 2**63 - 1 or (now and ts > now + 60):
            raise ValueError("bad timestamp %d" % ts)
        msg = ("cosignature/v1\ntime %d\n" % ts).encode() + text.encode()
        try:
            cosigner.key.verify(raw[12:], msg)
        except InvalidSignature:
            raise ValueError("cosignature does not verify")
        got.append(ts)
    return got


# --------------------------------------------------------- tlog-proof

def verify_note_signature(note, vkey):
    """The checkpoint text of `note` if a line of log key `vkey` (type
    0x01, signed-note) signs it; raises ValueError otherwise."""
    name, kid, b64 = vkey.strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if raw[0] != 0x01 or len(raw) != 33:
        raise ValueError("not an Ed25519 signed-note vkey")
    pk = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, 0x01, raw[1:]).hex() != kid:
        raise ValueError("key ID does not match the key")
    text, sigs = split_note(note)
    for n, sig in sigs:
        if n == name and sig[:4].hex() == kid and len(sig) == 68:
            try:
                pk.verify(sig[4:], text.encode())
                return text
            except InvalidSignature:
                raise ValueError("the log's signature does not verify")
    raise ValueError("no signature by the log's key")


def root_from_inclusion(index, size, leaf, proof):
    """RFC 9162 2.1.3.2: the root the inclusion proof leads to."""
    if index >= size:
        raise ValueError("index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def parse_tlog_proof(text):
    """(extra bytes or None, index, [hashes], checkpoint note)."""
    lines = text.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1":
        raise ValueError("not a tlog-proof@v1")
    i, extra = 1, None
    if lines[i].startswith("extra "):
        extra = base64.b64decode(lines[i][6:], validate=True)
        i += 1
    if not lines[i].startswith("index "):
        raise ValueError("no index line")
    idx = lines[i][6:]
    if not idx.isdigit() or (len(idx) > 1 and idx[0] == "0"):
        raise ValueError("bad index")
    i += 1
    hashes = []
    while lines[i] != "":
        h = base64.b64decode(lines[i], validate=True)
        if len(h) != 32:
            raise ValueError("a proof line is not a SHA-256 hash")
        hashes.append(h)
        i += 1
    return extra, int(idx), hashes, "\n".join(lines[i + 1:])


def verify_tlog_proof(text, log_vkey, cosigners=()):
    """The spec's four steps with the extra data as the leaf's data:
    returns (index, size, {cosigner name: timestamp}); raises ValueError."""
    extra, index, hashes, note = parse_tlog_proof(text)
    if extra is None:
        raise ValueError("no extra data: the leaf cannot be computed")
    body = verify_note_signature(note, log_vkey)
    origin, size, root = body.split("\n")[:3]
    if origin != log_vkey.split("+")[0]:
        raise ValueError("origin is not the log key's name")
    size = int(size)
    if root_from_inclusion(index, size, leaf_hash(extra), hashes) != \
            base64.b64decode(root, validate=True):
        raise ValueError("the inclusion proof does not lead to the root")
    seen = {}
    for c in cosigners:
        ts = verify_cosignatures(note, c)
        if ts:
            seen[c.name] = ts[0]
    return index, size, seen


# --------------------------------------------------------- the daemon

class WitnessDaemon:
    """build/bin/vigil-witness in `tmp`, on a free port, witnessing `logs`
    (a list of vkey strings or (vkey, origin) pairs)."""

    def __init__(self, bindir, tmp, logs, name="witness.test/w1", extra=""):
        self.bin = os.path.join(bindir, "vigil-witness")
        self.dir = os.path.join(tmp, "witness-" + name.replace("/", "_"))
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.port = vt.free_port()
        self.conf = os.path.join(self.dir, "witness.conf")
        with open(self.conf, "w") as f:
            f.write("name %s\nlisten 127.0.0.1:%d\nstate %s/state\n%s"
                    % (name, self.port, self.dir, extra))
            for lg in logs:
                if isinstance(lg, tuple):
                    f.write("log %s %s\n" % lg)
                else:
                    f.write("log %s\n" % lg)
        self.daemon = vt.Daemon("witness", [self.bin, "-d", "-v", "-f",
                                            self.conf], self.dir)

    def vkey(self):
        rc, out, err = vt.run([self.bin, "-k", "-f", self.conf])
        vt.check(rc == 0, "vigil-witness -k prints the witness key", err)
        return out.strip()

    def start(self):
        self.daemon.start()
        deadline = time.monotonic() + vt.READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.daemon.alive():
                raise vt.TestFailure("vigil-witness exited:\n%s"
                                     % self.daemon.tail())
            try:
                post(self.port, "", path="/", method="GET", timeout=1)
                return self
            except OSError:
                time.sleep(0.05)
        raise vt.TestFailure("vigil-witness not answering on port %d"
                             % self.port)

    def stop(self):
        return self.daemon.stop()

    def url(self):
        return "http://127.0.0.1:%d" % self.port
