#!/usr/bin/python3
"""ops_bench.py - the operations figures of issue 12, measured through the
real daemons (CURVE on) with vigil-load. Figures only: exit 1 only when
a run could not be made (a daemon died, vigil-load failed to start).

    tests/bench/ops_bench.py --bin build/bin flood   [--seconds 10]
    tests/bench/ops_bench.py --bin build/bin overload [--seconds 10]
    tests/bench/ops_bench.py --bin build/bin startup [--fill-s 60 --steps 3]

flood: storefront "storefront" sends orders at 200/s on one connection
  (vigil-load --rate 200 --orders-only --batch 1), first alone, then
  beside storefront "flooder" running flat out (4 connections, batches
  of 50); quota_events_per_s=QUOTA per storefront. Prints the legitimate
  orders' p50/p99/max and how many were refused, and the flooder's
  accepted and refused events. Issue target: p99 < 5 ms, none refused.
overload: after --warmup seconds flat out (not counted: a fresh service
  is slower for its first seconds, which understated M), the maximum
  (flat out, no quota) M, then a fixed schedule of
  2*M events/s for the same time: accepted events/s against M (target
  >= 90%), p50/p99 of every reply and of the busy replies alone (target:
  busy within 5 ms), and both daemons' resident memory before and after.
startup: fill history flat out for --fill-s seconds, --steps times; after
  each step SIGKILL the scorer under load and time its restart: the
  scorer's ready and first group answered (the first acknowledged event;
  its log, ms after its exec), and a probe's first acknowledgement (the
  probe, from the loaded storefront, waits behind that load's backlog in
  the collector), with the new scorer's CPU seconds by then (the figure
  to trust on a shared machine); print the data directory's size (and its
  parts) and the load average beside it. --dir DIR keeps the data set
  (keys included) in DIR, so one set can be grown across runs and
  measured with two builds (--fill-s 0: measure only). Before each
  restart (and after each step: with --kill-steps 2,9 the restart is
  timed after those steps only), a "step N memory" line gives the scorer's RssAnon and
  VmRSS, the events acknowledged so far, and its busiest threads' CPU
  microseconds per acknowledged event during that fill:
    ops_bench.py --bin build/bin startup --dir /var/tmp/vs --fill-s 300 \
        --steps 4 --fill-connections 8 --fill-batch 100
commitcap: the flood-throughput cost of commit_max_events, same run:
  --steps rounds, each a fresh service per value of --caps (default
  4000,1000000: the default against no cap), flat out for --seconds:
    ops_bench.py --bin build/bin commitcap --steps 3 --seconds 15 \
        --fill-connections 8 --fill-batch 100

SPDX-License-Identifier: MIT
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from vigiltest import Service, event  # noqa: E402

QUOTA = 1000


def load(svc, client, *extra, seconds=10, timeout=None):
    """Run vigil-load as `client`; return its JSON summary."""
    argv = [os.path.join(svc.bindir, "vigil-load"), "--endpoint",
            svc.events_endpoint, "--cert", svc.cert_path(client),
            "--keys-dir", svc.keys_dir, "--duration", str(seconds), "--json",
            "--quiet"] + [str(x) for x in extra]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout or seconds + 60)
    out = p.stdout.decode().strip().splitlines()
    if not out:
        raise SystemExit("vigil-load exit %d: %s" % (p.returncode,
                                                     p.stderr.decode()[-400:]))
    return json.loads(out[-1])


def rss_mb(proc, field="VmRSS"):
    """A process's resident memory in MiB from /proc/PID/status: VmRSS
    (all of it, LMDB's mapped file pages included) or RssAnon (its own
    heap and stacks: what must stay bounded)."""
    try:
        with open("/proc/%d/status" % proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def du_mb(path):
    tot = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                tot += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return tot / (1 << 20)


def proc_cpu_s(pid):
    """utime + stime of process `pid`, in seconds (NaN if gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def thread_cpu_s(pid):
    """{tid: (name, utime + stime in seconds)} of every thread of `pid`."""
    out = {}
    tck = os.sysconf("SC_CLK_TCK")
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[int(tid)] = (head.split("(", 1)[1],
                             (int(fields[11]) + int(fields[12])) / tck)
        except (OSError, IndexError, ValueError):
            pass
    return out


def legit_line(what, r):
    return ("%-28s orders %5d  p50 %6.2f ms  p99 %7.2f ms  max %7.2f ms  "
            "refused/errors %d" % (what, r["orders"], r["order_p50_us"] / 1e3,
                                   r["order_p99_us"] / 1e3, r["max_us"] / 1e3,
                                   r["errors"]))


def cmd_flood(a):
    svc = Service(a.bin, collector_opts=[
        "quota_events_per_s=%d" % a.quota, "quota_events_burst=%d" % a.quota,
        "collector_window_events=%d" % a.window])
    svc.add_client("flooder", "storefront")
    with svc:
        legit = ["--rate", 200, "--orders-only", "--batch", 1,
                 "--connections", 1]
        alone = load(svc, "storefront", *legit, seconds=a.seconds)
        print(legit_line("legit alone (200/s)", alone), flush=True)
        res = {}

        def flood():
            res["f"] = load(svc, "flooder", "--connections", 4, "--batch", 50,
                            "--inflight", 8, seconds=a.seconds + 2)
        t = threading.Thread(target=flood)
        t.start()
        time.sleep(1.0)
        beside = load(svc, "storefront", *legit, seconds=a.seconds)
        t.join()
        f = res["f"]
        print(legit_line("legit beside the flood", beside))
        print("flooder: %d events answered in %.1f s, %d accepted (%.0f/s), "
              "%d refused busy (quota %d/s, collector window %d events)" %
              (f["events"], f["duration_s"], f["acked_ok"],
               f["acked_ok"] / f["duration_s"], f["rejected"], a.quota,
               a.window))
        ok = beside["order_p99_us"] < 5000 and beside["errors"] == 0
        print("target (p99 < 5 ms, none refused): %s" % ("met" if ok
                                                         else "NOT met"))


def cmd_overload(a):
    with Service(a.bin, collector_opts=["request_timeout_ms=2000"]) as svc:
        # Enough requests in flight (4 x 64 x 20 events) that the service,
        # not the client's window, sets the pace; at 2x the schedule sets
        # the offered load (open loop).
        flat = ["--connections", 4, "--batch", 20, "--inflight", 64]
        if a.warmup > 0:
            load(svc, "storefront", *flat, seconds=a.warmup)
        r0 = (rss_mb(svc.scorer.proc), rss_mb(svc.collector.proc))
        m = load(svc, "storefront", *flat, seconds=a.seconds)
        mx = m["acked_ok"] / m["duration_s"]
        print("maximum: %.0f accepted events/s (p99 %.2f ms)"
              % (mx, m["p99_us"] / 1e3), flush=True)
        r1 = (rss_mb(svc.scorer.proc), rss_mb(svc.collector.proc))
        o = load(svc, "storefront", "--rate", int(2 * mx), *flat,
                 seconds=a.seconds)
        r2 = (rss_mb(svc.scorer.proc), rss_mb(svc.collector.proc))
        acc = o["acked_ok"] / o["duration_s"]
        print("at 2x (%d/s scheduled): %.0f accepted/s = %.0f%% of the "
              "maximum; %d refused (%d busy), %d timeouts; replies p50 %.2f "
              "ms p99 %.2f ms; busy replies p50 %.2f ms p99 %.2f ms"
              % (int(2 * mx), acc, 100 * acc / mx, o["rejected"], o["busy"],
                 o["timeouts"], o["p50_us"] / 1e3, o["p99_us"] / 1e3,
                 o["busy_p50_us"] / 1e3, o["busy_p99_us"] / 1e3))
        print("RSS MiB scorer/collector: start %.0f/%.0f, after max %.0f/%.0f,"
              " after 2x %.0f/%.0f" % (r0 + r1 + r2))


def cmd_startup(a):
    # A grown data set (--dir) may take longer than the tests' 10 s to
    # start the first time (a clean start reads the whole subject vault).
    Service.wait_ready.__defaults__ = (600.0,)
    # queue_wait_max_ms=0: the fill is a bulk load run flat out; with the
    # default 50 ms most of it is answered busy (vigil-load does not
    # resend) and the data set grows at a tenth of the service's pace.
    with Service(a.bin, base_dir=a.dir,
                 collector_opts=["queue_wait_max_ms=0"]) as svc:
        total = 0  # events acknowledged by this run's fills
        since = 0  # of them, since the scorer's last (re)start
        for step in range(1, a.steps + 1):
            t_fill = time.monotonic()
            cpu0 = thread_cpu_s(svc.scorer.proc.pid)
            if a.fill_s > 0:
                f = load(svc, "storefront", "--connections",
                         a.fill_connections, "--batch", a.fill_batch,
                         "--inflight", 8, "--seed",
                         int(time.time() * 1000) % (1 << 31),
                         seconds=a.fill_s)
                # Acknowledged events only: events_per_s counts busy
                # replies too.
                fill = "filled %.0f s, %s events acknowledged (%.0f/s); " % (
                    time.monotonic() - t_fill, f.get("acked_ok", "?"),
                    f.get("acked_ok", 0) / max(f.get("duration_s", 1), 1e-9))
                total += f.get("acked_ok", 0)
                since += f.get("acked_ok", 0)
            else:
                fill = ""
                f = {}
            # The running scorer's memory and its CPU per acknowledged
            # event during this fill, by thread (the busiest three).
            cpu1 = thread_cpu_s(svc.scorer.proc.pid)
            n = max(f.get("acked_ok", 0), 1)
            per = sorted(((cpu1[t][1] - cpu0.get(t, ("", 0.0))[1], t,
                           cpu1[t][0]) for t in cpu1), reverse=True)[:3]
            print("step %d memory: scorer RssAnon %.1f MiB, VmRSS %.0f MiB "
                  "after %d events acknowledged in this run (%d since the "
                  "scorer's start); CPU us/event by thread: %s; load "
                  "average %s" % (
                      step, rss_mb(svc.scorer.proc, "RssAnon"),
                      rss_mb(svc.scorer.proc), total, since,
                      ", ".join("%s/%d%s %.1f" % (
                          nm, t, " (main)" if t == svc.scorer.proc.pid
                          else "", 1e6 * c / n) for c, t, nm in per),
                      " ".join(open("/proc/loadavg").read().split()[:3])),
                  flush=True)
            if a.kill_steps and step not in a.kill_steps:
                continue
            since = 0
            size = du_mb(svc.data_dir)
            parts = {}
            for sub in ("history", "audit", "journal"):
                d = os.path.join(svc.data_dir, sub)
                parts[sub] = du_mb(d) if os.path.isdir(d) else float("nan")
            vault = os.path.join(svc.data_dir, "subjects.vault")
            parts["vault"] = os.path.getsize(vault) / (1 << 20) \
                if os.path.exists(vault) else float("nan")
            bg = {}

            def more():
                bg["r"] = load(svc, "storefront", "--connections", 2,
                               "--batch", 20, seconds=3)
            t = threading.Thread(target=more)
            t.start()
            time.sleep(1.5)
            svc.scorer.kill9()
            t0 = time.monotonic()
            svc.scorer.start()
            svc.close_socket()
            svc.wait_ready(timeout=600)
            dt = time.monotonic() - t0
            cpu = proc_cpu_s(svc.scorer.proc.pid)
            t.join()
            replayed = [l for l in svc.grep(r"records replayed", "scorer")]
            # The scorer's own figures (its log): ready, and its first
            # group answered, in ms after its exec.
            ready = [l for l in svc.grep(r"start-up took \d+ ms", "scorer")]
            first = [l for l in svc.grep(r"first group answered", "scorer")]
            ready_ms = re.search(r"took (\d+) ms", ready[-1]).group(1) \
                if ready else "?"
            first_ms = re.search(r"answered (\d+) ms", first[-1]).group(1) \
                if first else "?"
            print("step %d: %sdata dir %.0f MiB (history %.0f, audit %.0f, "
                  "journal %.0f, vault %.0f MiB): kill -9 under load -> "
                  "scorer ready %s ms and its first group answered %s ms "
                  "after its exec; a probe (500 ms timeouts, behind the "
                  "load's backlog) acknowledged %.0f ms after the restart "
                  "(scorer CPU by then %.2f s); %s; "
                  "load average %s" % (
                      step, fill, size, parts["history"], parts["audit"],
                      parts["journal"], parts["vault"], ready_ms, first_ms,
                      dt * 1e3, cpu,
                      replayed[-1].split(": ", 1)[-1] if replayed else "?",
                      " ".join(open("/proc/loadavg").read().split()[:3])),
                  flush=True)


def cmd_commitcap(a):
    """Same-run A/B of commit_max_events: for --steps rounds, a fresh
    service per value of --caps, flat out (--fill-connections x
    --fill-batch, 8 in flight) for --seconds; accepted events/s of each,
    then the medians and their ratio to the last value (the no-cap
    reference)."""
    caps = [int(c) for c in a.caps.split(",")]
    got = {c: [] for c in caps}
    for rnd in range(1, a.steps + 1):
        for cap in caps:
            with Service(a.bin, scorer_opts=[
                    "commit_max_events=%d" % cap]) as svc:
                f = load(svc, "storefront", "--connections",
                         a.fill_connections, "--batch", a.fill_batch,
                         "--inflight", 8, seconds=a.seconds)
                eps = f.get("acked_ok", 0) / max(f.get("duration_s", 1), 1e-9)
                got[cap].append(eps)
                print("round %d: commit_max_events=%d: %.0f events/s "
                      "accepted; load average %s" % (
                          rnd, cap, eps, " ".join(
                              open("/proc/loadavg").read().split()[:3])),
                      flush=True)
    ref = sorted(got[caps[-1]])[len(got[caps[-1]]) // 2]
    for cap in caps:
        med = sorted(got[cap])[len(got[cap]) // 2]
        print("commit_max_events=%d: median %.0f events/s (%.1f%% of "
              "commit_max_events=%d)" % (cap, med, 100.0 * med / ref,
                                         caps[-1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("what",
                    choices=("flood", "overload", "startup", "commitcap"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3,
                    help="overload: seconds flat out before the maximum")
    ap.add_argument("--fill-s", type=int, default=60)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--dir", default=None,
                    help="startup: grow (and keep) the data set in DIR "
                    "across runs instead of a new temp directory; "
                    "--fill-s 0 then only measures")
    ap.add_argument("--kill-steps", default="",
                    help="startup: SIGKILL and time the restart after "
                    "these steps only (comma-separated; default: every "
                    "step)")
    ap.add_argument("--fill-connections", type=int, default=4,
                    help="startup: vigil-load connections while filling")
    ap.add_argument("--fill-batch", type=int, default=50,
                    help="startup: events per batch while filling")
    ap.add_argument("--quota", type=int, default=QUOTA,
                    help="flood: quota_events_per_s of each storefront")
    ap.add_argument("--window", type=int, default=1024,
                    help="flood: collector_window_events")
    ap.add_argument("--caps", default="4000,1000000",
                    help="commitcap: commit_max_events values, the last "
                    "one the reference")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    a.kill_steps = [int(x) for x in a.kill_steps.split(",") if x]
    {"flood": cmd_flood, "overload": cmd_overload,
     "startup": cmd_startup, "commitcap": cmd_commitcap}[a.what](a)


if __name__ == "__main__":
    main()
