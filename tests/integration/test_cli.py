#!/usr/bin/python3
"""integ.cli - the daemons' command line and configuration checks.

For vigil-scorer and vigil-collector each:
 - -V prints a version and exits 0; -h prints usage; an unknown option
   exits non-zero with usage;
 - -n with a good config file exits 0; with an unknown key or an
   out-of-range value exits 1 naming file:line; block_threshold below
   review_threshold and a bad -o override exit 1; a missing file exits 1;
 - a non-loopback endpoint is accepted with CURVE (the default) and
   refused with insecure_dev (plain text) or --insecure-dev, both by -n
   and by a real start (which must exit, not serve).

SPDX-License-Identifier: MIT
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (TestFailure, check, check_eq, free_port,  # noqa
                       main, run, say)

DAEMONS = {"vigil-scorer": "query_endpoint",
           "vigil-collector": "events_endpoint"}


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def one(binpath, endpoint_key, tmp):
    name = os.path.basename(binpath)
    say("-- %s" % name)
    data = os.path.join(tmp, "data-" + name)
    os.makedirs(data, exist_ok=True)
    port = free_port()

    rc, out, err = run([binpath, "-V"])
    check_eq(rc, 0, name + " -V exits 0")
    check(re.search(r"\d+\.\d+\.\d+", out + err) is not None,
          name + " -V prints a version (%r)" % (out + err).strip())

    rc, out, err = run([binpath, "-h"])
    check(rc in (0, 1), name + " -h exits 0 or 1 (got %d)" % rc)
    check(re.search(r"usage", out + err, re.I) is not None,
          name + " -h prints usage", out + err)

    rc, out, err = run([binpath, "-Z"])
    check(rc != 0, name + " -Z (unknown option) exits non-zero (%d)" % rc)
    check(re.search(r"usage", out + err, re.I) is not None,
          name + " -Z prints usage", out + err)

    good = write(os.path.join(tmp, name + "-good.conf"),
                 "# a good config\n"
                 "data_dir = %s\n"
                 "%s = tcp://127.0.0.1:%d   # loopback only\n"
                 "\n"
                 "review_threshold = 40\n"
                 "block_threshold = 85\n"
                 "commit_interval_ms = 50\n" % (data, endpoint_key, port))
    rc, out, err = run([binpath, "-n", "-f", good])
    check_eq(rc, 0, name + " -n -f good.conf exits 0 (stderr: %s)"
             % err.strip()[:200])

    badkey = write(os.path.join(tmp, name + "-badkey.conf"),
                   "data_dir = %s\n"
                   "review_threshold = 40\n"
                   "no_such_key = 1\n" % data)
    rc, out, err = run([binpath, "-n", "-f", badkey])
    check_eq(rc, 1, name + " -n with an unknown key exits 1")
    check("%s:3" % badkey in out + err,
          name + " names %s:3" % os.path.basename(badkey), out + err)

    badval = write(os.path.join(tmp, name + "-badval.conf"),
                   "data_dir = %s\n"
                   "review_threshold = 500\n" % data)
    rc, out, err = run([binpath, "-n", "-f", badval])
    check_eq(rc, 1, name + " -n with review_threshold = 500 exits 1")
    check("%s:2" % badval in out + err,
          name + " names %s:2" % os.path.basename(badval), out + err)

    badnum = write(os.path.join(tmp, name + "-badnum.conf"),
                   "data_dir = %s\n"
                   "# comment\n"
                   "batch_max = 12abc\n" % data)
    rc, out, err = run([binpath, "-n", "-f", badnum])
    check_eq(rc, 1, name + " -n with batch_max = 12abc exits 1")
    check("%s:3" % badnum in out + err,
          name + " names %s:3" % os.path.basename(badnum), out + err)

    rc, out, err = run([binpath, "-n", "-o", "data_dir=" + data,
                        "-o", "review_threshold=90",
                        "-o", "block_threshold=60"])
    check_eq(rc, 1, name + " -n with block_threshold < review_threshold "
             "exits 1")
    rc, out, err = run([binpath, "-n", "-o", "data_dir=" + data,
                        "-o", "commit_interval_ms=-5"])
    check_eq(rc, 1, name + " -n -o commit_interval_ms=-5 exits 1")
    rc, out, err = run([binpath, "-n", "-o", "bogus=1"])
    check_eq(rc, 1, name + " -n -o bogus=1 exits 1")
    rc, out, err = run([binpath, "-n", "-f", os.path.join(tmp, "nope.conf")])
    check_eq(rc, 1, name + " -n -f missing-file exits 1")

    wide = "%s=tcp://0.0.0.0:%d" % (endpoint_key, port)
    rc, out, err = run([binpath, "-n", "-o", "data_dir=" + data,
                        "-o", wide])
    check_eq(rc, 0, name + " -n -o %s (non-loopback, CURVE) exits 0" % wide)
    rc, out, err = run([binpath, "-n", "-o", "data_dir=" + data,
                        "-o", wide, "-o", "insecure_dev=1"])
    check_eq(rc, 1, name + " -n with insecure_dev=1 refuses %s" % wide)
    check(re.search(r"insecure_dev|loopback|local", out + err) is not None,
          name + " says why (insecure_dev / loopback)", out + err)
    rc, out, err = run([binpath, "-n", "--insecure-dev", "-o",
                        "data_dir=" + data, "-o", wide])
    check_eq(rc, 1, name + " -n --insecure-dev refuses %s too" % wide)

    say("  start %s -d --insecure-dev with %s: must refuse, not serve"
        % (name, wide))
    p = subprocess.Popen([binpath, "-d", "--insecure-dev",
                          "-o", "data_dir=" + data,
                          "-o", "keys_dir=" + os.path.join(tmp, "keys"),
                          "-o", "user=", "-o", wide],
                         stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)
        raise TestFailure("%s -d with %s is still running after 5 s"
                          % (name, wide))
    check(rc != 0, name + " -d --insecure-dev with a non-loopback endpoint "
          "exits non-zero (%d)" % rc)


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-cli-")
    ok = False
    try:
        for b, key in DAEMONS.items():
            one(os.path.join(args.bin, b), key, tmp)
        ok = True
    finally:
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say("  kept %s" % tmp)


if __name__ == "__main__":
    main("command line, config checks, plain text only on loopback", body)
