#!/usr/bin/python3
"""integ.replay - vigil-replay through the real daemons on a synthetic file.

Generates a small file in the train.csv.gz format (303 users, gzipped,
nothing from any real data set) and an IP range file with known, unknown
and exponent-form rows, then replays them:

 1. default label delay (30 days), --holdout, 2 connections, --trace:
    exit 0; the --out CSV has one line per input row, in input order,
    each with a score and a decision; the summary prints events/s and the
    metrics for all, holdout and train users; the trace shows every event
    once, the events in event-time order, the labels too among
    themselves, each label exactly 30 days after its purchase, never
    more than 15 UTC days ahead of an event still to send nor after an
    event of a later day, ip_country as
    the range file says, and the holdout users of the documented keyed
    hash in the labels' source.
 2. the delay seen by the scorer: user A (fraud) orders on a device at
    day 0; B orders on that device at day 10, C at day 40. The scorer's
    features log (features_log) shows the link feature dev_fraud_lab
    (fraud labels on the order's device, counted from the UTC day after
    the label) each order was scored with: with the 30-day delay C's is
    1 and B's 0; with --label-delay 5 B's is 1 too (the label arrived
    first); with --label-delay 50 neither. A replay that sent labels
    early, late or not at all fails. (The flat +80 link rule this check
    used before issue 7 is gone.)
 3. identities: events go to the collector as the storefront (CURVE,
    its certificate), labels to the scorer's query endpoint as the
    analyst; the wrong server key completes no handshake (exit 2, "no
    reply"); a file that is not a certificate is refused (exit 2); a
    storefront's certificate given as --analyst-cert gets every label
    refused ("denied", exit 1) and the scores still come back.
 4. refused input: a bad class (exit 1, the line named), the label
    window above 4096 (exit 2; 4096 taken), no collector
    (exit 2), labels without --analyst-cert (exit 2), a missing
    certificate (exit 2).

SPDX-License-Identifier: MIT
"""

import csv
import gzip
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Service, check, check_eq, free_port, main,  # noqa
                       run, say)

HEADER = ("user_id,signup_time,purchase_time,purchase_value,device_id,"
          "source,browser,sex,age,ip_address,class")
T0 = datetime(2015, 3, 1, tzinfo=timezone.utc)
DAY = 86400 * 1000
SHARED_DEVICE = "SHAREDDEVICE1"
A, B, C = 1, 2, 3

# Synthetic ranges: (lower text, upper, name, expected ip_country).
RANGES = [("1000000000", 1099999999, "United States", "US"),
          ("1.2E+09", 1299999999, "Germany", "DE"),
          ("2000000000", 2099999999, "Korea Republic of", "KR"),
          ("3000000000", 3099999999, "Atlantis", "")]


def tstr(t):
    return t.strftime("%Y-%m-%d %H:%M:%S")


def ms(t):
    return int(t.timestamp() * 1000)


def country_of(ip):
    """What vigil-replay must send for ip: the range with the greatest
    lower bound <= ip, if ip <= its upper bound."""
    best = None
    for lo, hi, _, code in RANGES:
        lo = int(float(lo))
        if lo <= ip and (best is None or lo > best[0]):
            best = (lo, hi, code)
    if best is None or ip > best[1]:
        return ""
    return best[2]


def make_rows(seed=11):
    rnd = random.Random(seed)
    rows = []
    # The three users of the delay check, on one device, with their own
    # addresses; B and C signed up long before.
    special = [
        (A, T0, T0, 12, 1, 1010000000.5),
        (B, T0 - timedelta(days=50), T0 + timedelta(days=10), 15, 0,
         1010000001.0),
        (C, T0 - timedelta(days=50), T0 + timedelta(days=40), 18, 0,
         1010000002.25),
    ]
    for uid, su, pu, amt, cls, ip in special:
        rows.append(dict(user_id=uid, signup=su, purchase=pu, value=amt,
                         device=SHARED_DEVICE, source="Ads",
                         browser="Chrome", sex="F", age=33, ip=ip,
                         cls=cls))
    for i in range(300):
        su = T0 + timedelta(minutes=rnd.randint(-30 * 1440, 60 * 1440))
        instant = rnd.random() < 0.06
        pu = su + (timedelta(0) if instant else
                   timedelta(minutes=rnd.randint(60, 40 * 1440)))
        ip = rnd.choice([rnd.randint(1000000000, 1099999999),
                         rnd.randint(1200000000, 1299999999),
                         rnd.randint(2000000000, 2099999999),
                         rnd.randint(3000000000, 3099999999),
                         rnd.randint(4000000000, 4200000000)])
        rows.append(dict(user_id=100000 + i * 7, signup=su, purchase=pu,
                         value=rnd.randint(9, 150),
                         device="DEV%06d" % i,
                         source=rnd.choice(["SEO", "Ads", "Direct"]),
                         browser=rnd.choice(["Chrome", "FireFox", "Safari",
                                             "IE", "Opera"]),
                         sex=rnd.choice(["M", "F"]),
                         age=rnd.randint(18, 70),
                         ip=ip + (0.5 if i % 4 == 0 else 0),
                         cls=1 if instant or rnd.random() < 0.04 else 0))
    rnd.shuffle(rows)
    return rows


def write_rows(path, rows, bad_line=None):
    with gzip.open(path, "wt") as f:
        f.write(HEADER + "\n")
        for k, r in enumerate(rows):
            ip = r["ip"]
            ip_text = ("%d" % ip) if ip == int(ip) else repr(ip)
            cls = "2" if bad_line is not None and k + 2 == bad_line \
                else str(r["cls"])
            f.write(",".join([str(r["user_id"]), tstr(r["signup"]),
                              tstr(r["purchase"]), str(r["value"]),
                              r["device"], r["source"], r["browser"],
                              r["sex"], str(r["age"]), ip_text, cls])
                    + "\n")


def write_ranges(path):
    with gzip.open(path, "wt") as f:
        f.write("lower_bound_ip_address,upper_bound_ip_address,country\n")
        for lo, hi, name, _ in RANGES:
            f.write("%s,%d,%s\n" % (lo, hi, name))


def is_holdout(uid, seed, frac):
    """tools/vigil-replay.1 "HOLDOUT": keyed BLAKE2b of the user id."""
    key = hashlib.blake2b(b"vigil-replay-split:%d" % seed,
                          digest_size=32).digest()
    h = hashlib.blake2b(b"%d" % uid, digest_size=8, key=key).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64 < frac


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def conn_args(svc):
    """vigil-replay's connection options: events as the storefront,
    labels as the analyst, to the Service's endpoints (CURVE)."""
    return ["--endpoint", svc.events_endpoint,
            "--query-endpoint", svc.query_endpoint,
            "--cert", svc.cert_path("storefront"),
            "--analyst-cert", svc.cert_path("analyst"),
            "--keys-dir", svc.keys_dir]


def replay(args, svc, tmp, data, ranges, *extra, timeout=120):
    out = os.path.join(tmp, "out.csv")
    argv = [os.path.join(args.bin, "vigil-replay"), "--fraud-data", data,
            "--ip-country", ranges, "--out", out] + conn_args(svc) + \
        list(extra)
    say("  run vigil-replay " + " ".join(argv[3:7] + list(extra)))
    rc, stdout, stderr = run(argv, timeout=timeout)
    if rc != 0:
        say("  vigil-replay stderr:\n" + stderr[-2000:])
    return rc, stdout, stderr, out


def decisions(out):
    return {int(r["user_id"]): r for r in read_csv(out)}


def fraud_lab(svc, log, uid):
    """dev_fraud_lab of user uid's order as the scorer logged it."""
    tok = svc.token(svc.scoped("order", "o%d" % uid))
    names = None
    with open(log) as f:
        for line in f:
            p = line.rstrip("\n").split(",")
            if line.startswith("# o,"):
                names = line[2:].rstrip("\n").split(",")
            elif p[0] == "o" and p[2] == tok:
                return float(p[names.index("dev_fraud_lab")])
    raise AssertionError("no features line for user %d's order" % uid)


def body(args):
    exe = os.path.join(args.bin, "vigil-replay")
    check(os.access(exe, os.X_OK), "%s exists" % exe)
    tmp = tempfile.mkdtemp(prefix="vigil-integ-replay-")
    try:
        rows = make_rows()
        data = os.path.join(tmp, "data.csv.gz")
        ranges = os.path.join(tmp, "ranges.csv.gz")
        trace = os.path.join(tmp, "trace.csv")
        write_rows(data, rows)
        write_ranges(ranges)
        by_uid = {r["user_id"]: r for r in rows}

        say("1. default delay, holdout, two connections")
        flog = os.path.join(tmp, "features.log")
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",
                                  "features_log=" + flog)) as svc:
            rc, stdout, stderr, out = replay(
                args, svc, tmp, data, ranges, "--holdout", "0.3",
                "--split-seed", "5", "--connections", "2", "--batch", "20",
                "--trace", trace)
            check_eq(rc, 0, "vigil-replay exits 0")
            got = read_csv(out)
            check_eq([int(r["user_id"]) for r in got],
                     [r["user_id"] for r in rows],
                     "--out: one line per input row, in input order")
            check(all(r["score"].isdigit() and 0 <= int(r["score"]) <= 100
                      and r["decision"] in ("allow", "review", "block")
                      for r in got), "--out: every order scored")
            for what in ("events/s", "all users:", "holdout users:",
                         "train users:", "ROC AUC", "PR AUC",
                         "block           : precision",
                         "review or block : precision"):
                check(what in stdout, "summary prints %r" % what, stdout)
            check("events (303 users)" in stdout and "1212 events" in stdout,
                  "1212 events of 303 users", stdout)
            check("sent 1212/1212" in stderr, "a progress line on stderr",
                  stderr)
            s, c = svc.stop()
            check_eq((s, c), (0, 0), "both daemons exit 0")
            check_eq(fraud_lab(svc, flog, B), 0,
                     "B, 10 days after A's fraud: no fraud label seen")
            check_eq(fraud_lab(svc, flog, C), 1, "C, 40 days after A's "
                     "fraud (label at day 30): the label seen")

        tr = read_csv(trace)
        check_eq(len(tr), 4 * len(rows), "the trace has every event once")
        check_eq(len({t["id"] for t in tr}), len(tr), "event ids are unique")
        ev_ts = [int(t["ts_ms"]) for t in tr if t["type"] != "label"]
        check(all(a <= b for a, b in zip(ev_ts, ev_ts[1:])),
              "events go out in event-time order")
        lab_ts = [int(t["ts_ms"]) for t in tr if t["type"] == "label"]
        check(all(a <= b for a, b in zip(lab_ts, lab_ts[1:])),
              "labels go out in event-time order among themselves")
        # A label may go up to 15 UTC days ahead of the events not yet
        # sent (vigil-replay.1): never before an event 16 or more days
        # older than itself, and never after an event of a later day.
        early, late = [], []
        for k, t in enumerate(tr):
            if t["type"] != "label":
                continue
            lday = int(t["ts_ms"]) // DAY
            after = [int(x["ts_ms"]) // DAY for x in tr[k + 1:]
                     if x["type"] != "label"]
            before = [int(x["ts_ms"]) // DAY for x in tr[:k]
                      if x["type"] != "label"]
            if after and min(after) < lday - 15:
                early.append(t["id"])
            if before and max(before) > lday:
                late.append(t["id"])
        check_eq(early, [], "no label goes more than 15 days ahead of an "
                 "event still to send")
        check_eq(late, [], "no label goes after an event of a later day")
        bad_delay = [t["id"] for t in tr if t["type"] == "label" and
                     int(t["ts_ms"]) != ms(by_uid[int(t["id"][1:])]
                                           ["purchase"]) + 30 * DAY]
        check_eq(bad_delay, [], "every label is 30 days after its purchase")
        order = {}
        for k, t in enumerate(tr):
            order[t["id"]] = k
        check(all(order["s%d" % u] < order["v%d" % u] < order["o%d" % u]
                  < order["l%d" % u] for u in by_uid
                  if by_uid[u]["signup"] == by_uid[u]["purchase"]),
              "a user's signup, visit and order keep their order in a minute")
        bad_cty = [t["id"] for t in tr if t["type"] != "label" and
                   t["ip_country"] != country_of(
                       int(by_uid[int(t["id"][1:])]["ip"]))]
        check_eq(bad_cty, [], "ip_country as the range file says (unknown "
                 "names and no range: none; 1.2E+09 read as a number)")
        srcs = {int(t["id"][1:]): t["source"] for t in tr
                if t["type"] == "label"}
        want = {u: "replay-holdout" if is_holdout(u, 5, 0.3)
                else "replay-train" for u in by_uid}
        check_eq(srcs, want, "label sources follow the keyed holdout hash")
        nh = sum(1 for v in want.values() if v == "replay-holdout")
        check(nh > 0 and "holdout users: %d users" % nh in stdout,
              "holdout metrics over %d users" % nh)

        say("2. the delay the scorer sees")
        for delay, who, want in (("5", B, 1), ("50", C, 0)):
            flog = os.path.join(tmp, "features-%s.log" % delay)
            with Service(args.bin, keep=args.keep,
                         scorer_opts=("quota_queries_per_s=0",
                                      "features_log=" + flog)) as svc:
                rc, stdout, _, out = replay(args, svc, tmp, data, ranges,
                                            "--label-delay", delay)
                check_eq(rc, 0, "vigil-replay --label-delay %s exits 0"
                         % delay)
                check_eq(svc.stop(), (0, 0), "both daemons exit 0")
                check_eq(fraud_lab(svc, flog, who), want,
                         "with a %s-day delay, %s's order sees %d fraud "
                         "label" % (delay, "B" if who == B else "C", want))

        say("3. identities")
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",)) as svc:
            base = [exe, "--fraud-data", data, "--out",
                    os.path.join(tmp, "id.csv")]
            rc, _, err = run(base + conn_args(svc) + [
                "--server-key", svc.cert_path("analyst")], timeout=30)
            check(rc == 2 and "no reply" in err,
                  "the wrong server key: no handshake, exit 2", (rc, err))
            rc, _, err = run(base + conn_args(svc) + ["--cert", data],
                             timeout=30)
            check(rc == 2 and "certificate" in err,
                  "a file that is not a certificate: exit 2", (rc, err))
            rc, stdout, err = run(base + conn_args(svc) + [
                "--analyst-cert", svc.cert_path("storefront")], timeout=60)
            check(rc == 1 and "denied" in stdout,
                  "a storefront's certificate cannot label: exit 1, "
                  "'denied'", (rc, stdout[-600:]))
            check(len(read_csv(os.path.join(tmp, "id.csv"))) == len(rows)
                  and all(r["score"] != "" for r in
                          read_csv(os.path.join(tmp, "id.csv"))),
                  "the orders were still scored")

        say("4. refused input")
        bad = os.path.join(tmp, "bad.csv.gz")
        write_rows(bad, rows, bad_line=7)
        rc, _, err = run([exe, "--fraud-data", bad, "--out",
                          os.path.join(tmp, "x.csv"), "--dry-run"])
        check(rc == 1 and "line 7" in err and "class" in err,
              "a bad class: exit 1, line 7 named", (rc, err))
        # The label window: up to 4096 (default 1024), no more.
        rc, _, err = run([exe, "--fraud-data", data, "--out",
                          os.path.join(tmp, "x.csv"), "--dry-run",
                          "--label-inflight", "4096", "--quiet"])
        check(rc == 0, "--label-inflight 4096 is taken", (rc, err))
        rc, _, err = run([exe, "--fraud-data", data, "--out",
                          os.path.join(tmp, "x.csv"), "--dry-run",
                          "--label-inflight", "4097"])
        check(rc == 2 and "1..4096" in err,
              "--label-inflight 4097: exit 2, the range named", (rc, err))
        t0 = time.monotonic()
        rc, _, err = run([exe, "--fraud-data", data, "--out",
                          os.path.join(tmp, "x.csv"), "--endpoint",
                          "tcp://127.0.0.1:%d" % free_port(),
                          "--query-endpoint",
                          "tcp://127.0.0.1:%d" % free_port(),
                          "--insecure-dev"], timeout=30)
        check(rc == 2 and "no reply" in err,
              "no collector: exit 2 (%.1f s)" % (time.monotonic() - t0),
              (rc, err))
        rc, _, err = run([exe, "--fraud-data", data, "--out",
                          os.path.join(tmp, "x.csv"), "--cert",
                          os.path.join(tmp, "c.key_secret")])
        check(rc == 2 and "--analyst-cert" in err,
              "labels without --analyst-cert: exit 2", (rc, err))
        # A server key of its own: without --server-key the tool reads
        # /etc/vigil/server.key, which only a machine that ran the demo
        # has, and would fail on that first.
        skey = zmq.curve_keypair()[0].decode()
        rc, _, err = run([exe, "--fraud-data", data, "--out",
                          os.path.join(tmp, "x.csv"), "--cert",
                          os.path.join(tmp, "c.key_secret"),
                          "--analyst-cert", os.path.join(tmp, "a.key_secret"),
                          "--server-key", skey,
                          "--storefront", "shop"], timeout=30)
        check(rc == 2 and "c.key_secret" in err,
              "a missing certificate: exit 2, the file named", (rc, err))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main("vigil-replay through the daemons: CSV, metrics, label delay",
         body)
