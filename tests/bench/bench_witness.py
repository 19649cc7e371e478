#!/usr/bin/env python3
"""bench_witness - does a witness change order latency? (issue 8, item 3)

Runs the real service four times on this machine with the same vigil-load
run (orders only, batch 1, a fixed rate) and prints vigil-load's order
latency percentiles for: no witness; a real vigil-witness; a witness that
is slow (a local HTTP server that holds every request 2 s, then answers
503); a witness that is down (nothing listens on its port). Checkpoints
every 50 ms (checkpoint_interval_ms=50) so the witness client pushes all
the time. The figures are only printed (this is a measurement, not a
pass/fail test); it exits 1 only when a run got error replies.

    /usr/bin/python3 tests/bench/bench_witness.py --bin build/bin \
        [--rate 500] [--duration 10]

SPDX-License-Identifier: MIT
"""

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import vigiltest as vt  # noqa: E402
import tlogspec as ts  # noqa: E402


class SlowWitness:
    """Accepts on 127.0.0.1, holds each request `delay` s, answers 503."""

    def __init__(self, delay=2.0):
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.hits = 0
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        with c:
            c.settimeout(5)
            try:
                while not self.stop:
                    data = c.recv(65536)
                    if not data:
                        return
                    self.hits += 1
                    time.sleep(self.delay)
                    c.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n"
                              b"Connection: close\r\n\r\n")
                    return
            except OSError:
                return

    def close(self):
        self.stop = True
        self.sock.close()


def one_run(args, label, setup):
    tmp = tempfile.mkdtemp(prefix="vigil-bw-")
    extra = []
    try:
        with vt.Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"]) as svc:
            cleanup = setup(svc, tmp)
            if svc.scorer.argv[-1].startswith("witness="):
                svc.restart_scorer()
            argv = [os.path.join(args.bin, "vigil-load"), "--endpoint",
                    svc.events_endpoint, "--cert", svc.cert_path("storefront"),
                    "--keys-dir", svc.keys_dir, "--connections", "1",
                    "--batch", "1", "--orders-only", "--rate", str(args.rate),
                    "--duration", str(args.duration), "--json", "--quiet"]
            rc, out, err = vt.run(argv, timeout=args.duration + 60)
            res = json.loads(out.strip().splitlines()[-1])
            # Evidence the witness was being contacted during the run.
            extra = len(svc.grep(r"witness client: '|retry in|has size",
                                 "scorer"))
            if cleanup:
                cleanup()
            return label, res, rc, extra
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(vt.REPO, "build", "bin"))
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--duration", type=float, default=10)
    args = ap.parse_args()

    def none(svc, tmp):
        return None

    def log_vkey(svc):
        with open(os.path.join(svc.data_dir, "audit", "verifier.key")) as f:
            return f.read().strip()

    def real(svc, tmp):
        w = ts.WitnessDaemon(args.bin, tmp, [log_vkey(svc)], "bench.test/w")
        v = w.vkey()
        w.start()
        svc.scorer.argv += ["-o", "witness=%s %s" % (w.url(), v)]
        return w.stop

    def slow(svc, tmp):
        s = SlowWitness(2.0)
        w = ts.WitnessDaemon(args.bin, tmp, [log_vkey(svc)], "slow.test/w")
        svc.scorer.argv += ["-o", "witness=http://127.0.0.1:%d %s"
                            % (s.port, w.vkey())]
        return s.close

    def down(svc, tmp):
        w = ts.WitnessDaemon(args.bin, tmp, [log_vkey(svc)], "down.test/w")
        svc.scorer.argv += ["-o", "witness=http://127.0.0.1:%d %s"
                            % (vt.free_port(), w.vkey())]
        return None

    rows = []
    bad = 0
    for label, fn in (("no witness", none), ("vigil-witness", real),
                      ("slow witness (2 s)", slow), ("witness down", down)):
        label, res, rc, wlines = one_run(args, label, fn)
        bad += res.get("errors", 0) + (rc != 0)
        rows.append((label, res, wlines))
    print("orders at %d/s for %.0f s, batch 1, one connection, checkpoints "
          "every 50 ms" % (args.rate, args.duration))
    print("%-20s %8s %8s %8s %8s %8s %6s %6s" % (
        "witness", "orders", "p50 us", "p99 us", "p99.9 us", "max us",
        "errors", "wlog"))
    for label, r, wl in rows:
        print("%-20s %8d %8d %8d %8d %8d %6d %6d" % (
            label, r.get("orders", 0), r.get("order_p50_us", 0),
            r.get("order_p99_us", 0), r.get("order_p999_us", 0),
            r.get("max_us", 0), r.get("errors", 0), wl))
    print("wlog: scorer log lines of failed pushes / 409 retries (the "
          "witness was contacted; 0 for a healthy witness)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
