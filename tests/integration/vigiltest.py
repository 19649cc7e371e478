"""vigiltest - shared helpers of Vigil's integration scenarios.

Each tests/integration/test_<scenario>.py is one ctest ("integ.<scenario>"),
run with /usr/bin/python3 and only python3-zmq and python3-msgpack. A
scenario starts the real daemons through `Service`, which owns a mkdtemp
data directory, free 127.0.0.1 ports and the two child processes, and
never hangs: every receive has a timeout and every wait is bounded.

    with Service(args.bin) as svc:
        rep = svc.send(ev.order(...))

Invariants:
 - everything binds 127.0.0.1 or ipc:// inside the temp directory;
 - every process a scenario starts is stopped (SIGTERM, then SIGKILL)
   when the Service closes, even when the check failed;
 - checks print what they check; the first failure raises TestFailure,
   and `main()` turns it into exit status 1 with the message; a scenario
   that cannot run here raises Skip, which `main()` turns into exit
   status 77 (ctest: skipped).

See also: common/sfproto.h (wire format), tests/README.md

SPDX-License-Identifier: MIT
"""

import argparse
import hashlib
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack
import zmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

RECV_TIMEOUT_MS = 5000   # one request/reply, never more
READY_TIMEOUT_S = 10.0   # daemons answering after start
STOP_TIMEOUT_S = 10.0    # SIGTERM to exit before SIGKILL

# VIGIL_WRAPPER="valgrind -q --error-exitcode=99" runs both daemons under
# that command (see tests/README.md). Valgrind cannot map LMDB's default
# 64 GiB, so the scorer then gets a smaller map, and start-up more time.
WRAPPER = shlex.split(os.environ.get("VIGIL_WRAPPER", ""))
if WRAPPER:
    READY_TIMEOUT_S = 60.0

ERROR_CODES = ("invalid", "malformed", "too_big", "denied")

# Clients every Service admits before it starts: (name, role).
DEFAULT_CLIENTS = (("storefront", "storefront"), ("analyst", "analyst"))
DECISIONS = ("allow", "review", "block")


class TestFailure(Exception):
    """A check failed; the message says what was expected and seen."""


class Timeout(TestFailure):
    """No reply came within the receive timeout."""


class Skip(Exception):
    """The scenario cannot run here (say why): `main()` exits SKIP_EXIT,
    which tests/CMakeLists.txt declares as ctest's SKIP_RETURN_CODE, so
    ctest reports the test as skipped, never as passed."""


SKIP_EXIT = 77


# ------------------------------------------------------------- checking

def say(msg):
    """Print one progress line, flushed so ctest shows it in order."""
    print(msg, flush=True)


def check(cond, what, detail=None):
    """Print `what`; raise TestFailure (with `detail`) if cond is false."""
    if cond:
        say("  ok   " + what)
        return
    say("  FAIL " + what)
    raise TestFailure(what + ("" if detail is None else ": " + str(detail)))


def check_eq(got, want, what):
    """Check got == want and show both values on failure."""
    check(got == want, what, "got %r, want %r" % (got, want))


def parse_args(description):
    """Parse the scenario's command line: --bin DIR (ctest passes it)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"),
                    help="directory holding vigil-collector, vigil-scorer, "
                         "vigil-load (default: build/bin)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp data directory for inspection")
    return ap.parse_args()


def main(description, body):
    """Run body(args) and exit 0, or print the failure and exit 1."""
    args = parse_args(description)
    name = os.path.basename(sys.argv[0])
    say("== %s: %s" % (name, description))
    for b in ("vigil-collector", "vigil-scorer"):
        p = os.path.join(args.bin, b)
        if not os.access(p, os.X_OK):
            say("FAIL %s: %s is missing (build first)" % (name, p))
            sys.exit(1)
    t0 = time.monotonic()
    try:
        body(args)
    except Skip as e:
        say("SKIP %s: %s" % (name, e))
        sys.exit(SKIP_EXIT)
    except TestFailure as e:
        say("FAIL %s: %s" % (name, e))
        sys.exit(1)
    except Exception:  # a bug in the test or an unexpected reply shape
        traceback.print_exc()
        say("FAIL %s: unexpected exception (see traceback)" % name)
        sys.exit(1)
    say("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(0)


# ---------------------------------------------------------- processes

_ports_given = set()


def _ephemeral_low():
    """The first port of the kernel's range for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Drawn at random below the kernel's ephemeral range, not from it (a
    bind to port 0): a port the kernel hands out for listening is one it
    hands out next to the outgoing connections of every other test
    running beside this one, and a daemon then failed to bind it
    ("cannot serve metrics on ...", integ.audit_kill under ctest -j4).
    Never the same port twice in one process."""
    low = max(10000, _ephemeral_low() - 12000)
    high = max(low + 1000, _ephemeral_low() - 1)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(low, high)
        if port in _ports_given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port in %d..%d" % (low, high))


def run(argv, timeout=10):
    """Run a short command; return (exit status, stdout, stderr) text."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure("%s did not exit within %d s" % (argv[0], timeout))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


SHARED_FILES = ("train.csv.gz", "IpAddress_to_Country.csv.gz")


def shared_data_dir(explicit=None):
    """The shared labelled data set's directory (issue 7): `explicit`,
    $VIGIL_SHARED_DATA, ../shared/data beside the repository or
    /work/shared/data, the first that holds both files; None when none
    does (a fresh machine has no ../shared). Nothing is copied from it."""
    for d in (explicit, os.environ.get("VIGIL_SHARED_DATA"),
              os.path.join(os.path.dirname(REPO), "shared", "data"),
              "/work/shared/data"):
        if d and all(os.path.exists(os.path.join(d, f))
                     for f in SHARED_FILES):
            return d
    return None


def replay_shared(svc, bindir, data_dir, out, connections=1, extra=(),
                  timeout=900):
    """vigil-replay of the shared data set through `svc` (its storefront
    and analyst certificates; labels on the query endpoint), writing the
    scores to `out`: (exit status, stdout, stderr). The service should
    run with quota_queries_per_s=0 and queue_wait_max_ms=0 (a bulk
    load); scripts/model-eval.py, integ.replay_shared and
    tests/bench/ab.py replay share this."""
    return run([os.path.join(bindir, "vigil-replay"),
                "--fraud-data", os.path.join(data_dir, SHARED_FILES[0]),
                "--ip-country", os.path.join(data_dir, SHARED_FILES[1]),
                "--out", out, "--endpoint", svc.events_endpoint,
                "--query-endpoint", svc.query_endpoint,
                "--cert", svc.cert_path("storefront"),
                "--analyst-cert", svc.cert_path("analyst"),
                "--keys-dir", svc.keys_dir,
                "--connections", str(connections), "--quiet"] +
               [str(x) for x in extra], timeout=timeout)


def replay_events_per_s(stdout):
    """The events/s of vigil-replay's summary line, or None."""
    m = re.search(r"in [0-9.]+ s: (\d+) events/s", stdout)
    return int(m.group(1)) if m else None


class Daemon:
    """One child daemon with its stderr captured to <dir>/<name>.N.log."""

    def __init__(self, name, argv, logdir):
        self.name = name
        self.argv = argv
        self.logdir = logdir
        self.proc = None
        self.runs = 0
        self.logs = []

    def start(self):
        self.runs += 1
        path = os.path.join(self.logdir, "%s.%d.log" % (self.name, self.runs))
        self.logs.append(path)
        with open(path, "wb") as err:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, wait bounded, then SIGKILL. Returns the exit status
        (negative: killed by that signal) or None if never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say("  note %s ignored SIGTERM for %.0f s: SIGKILL"
                    % (self.name, timeout))
                self.proc.kill()
                self.proc.wait(5)
                rc = "timeout"
                self.proc = None
                return rc
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def stderr_text(self):
        """All stderr this daemon wrote, over every run, as text."""
        out = []
        for p in self.logs:
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)

    def tail(self, n=15):
        lines = self.stderr_text().splitlines()
        return "\n".join("    | " + l for l in lines[-n:])


class Service:
    """The scorer and the collector in a temp data dir, plus a client.

    Service(bindir, scorer_opts=[...], collector_opts=[...]) where the
    opts are extra "key=value" strings passed with -o. Use as a context
    manager; close() stops everything and removes the directory (kept,
    and its path printed, when a check failed or keep=True).
    """

    def __init__(self, bindir, scorer_opts=(), collector_opts=(),
                 keep=False, data_dir=None, insecure=False, base_dir=None):
        self.bindir = bindir
        # base_dir: a directory to use (and keep) instead of a new temp
        # one, so that a bench can grow one data set across runs.
        self.keep = keep or base_dir is not None
        self.insecure = insecure
        if base_dir is not None:
            os.makedirs(base_dir, mode=0o700, exist_ok=True)
            self.dir = base_dir
        else:
            self.dir = tempfile.mkdtemp(prefix="vigil-integ-")
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        self.keys_dir = os.path.join(self.dir, "keys")
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        self.events_port = free_port()
        self.query_port = free_port()
        self.events_endpoint = "tcp://127.0.0.1:%d" % self.events_port
        self.query_endpoint = "tcp://127.0.0.1:%d" % self.query_port
        # Each daemon's /metrics on its own free port (never the
        # defaults, which scenarios running side by side would share).
        self.collector_metrics = "127.0.0.1:%d" % free_port()
        self.scorer_metrics = "127.0.0.1:%d" % free_port()
        common = ["-d", "-o", "data_dir=" + self.data_dir,
                  "-o", "keys_dir=" + self.keys_dir, "-o", "user=",
                  "-o", "collector_metrics=" + self.collector_metrics,
                  "-o", "scorer_metrics=" + self.scorer_metrics]
        if insecure:
            common.append("--insecure-dev")
        sargv = [os.path.join(bindir, "vigil-scorer")] + common + [
            "-o", "query_endpoint=" + self.query_endpoint]
        for o in scorer_opts:
            sargv += ["-o", o]
        if WRAPPER and "valgrind" in " ".join(WRAPPER):
            sargv += ["-o", "lmdb_map_mb=1024"]
        cargv = [os.path.join(bindir, "vigil-collector")] + common + [
            "-o", "events_endpoint=" + self.events_endpoint]
        for o in collector_opts:
            cargv += ["-o", o]
        self.scorer = Daemon("scorer", WRAPPER + sargv, self.dir)
        self.collector = Daemon("collector", WRAPPER + cargv, self.dir)
        self.ctx = zmq.Context()
        self.sock = None
        self.probes = 0
        self.failed = False
        # The clients every scenario has: one storefront, one analyst.
        for name, role in DEFAULT_CLIENTS:
            self.add_client(name, role)

    # -- lifecycle

    def __enter__(self):
        # A start that fails (a daemon dies during start-up) must not
        # leave the other one running: __exit__ is not called then.
        try:
            self.start()
        except BaseException:
            self.failed = True
            self.dump_logs()
            self.close()
            raise
        return self

    def __exit__(self, etype, evalue, tb):
        if etype is not None:
            self.failed = True
            self.dump_logs()
        self.close()
        return False

    def start(self):
        """Start the scorer, then the collector; wait until they answer."""
        say("  start scorer and collector (data %s, events %s)"
            % (self.data_dir, self.events_endpoint))
        self.scorer.start()
        self.collector.start()
        self.wait_ready()

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Send probe events until one is acknowledged ok (bounded)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for d in (self.scorer, self.collector):
                if not d.alive():
                    raise TestFailure("%s exited with status %s during "
                                      "start-up:\n%s"
                                      % (d.name, d.proc.returncode
                                         if d.proc else "?", d.tail()))
            self.probes += 1
            probe = event("device.seen", "probe-%d" % self.probes)
            try:
                last = self.send(probe, timeout_ms=500)
                if isinstance(last, dict) and last.get("ok") is True:
                    return
            except Timeout:
                last = "no reply"
            time.sleep(0.1)
        raise TestFailure("service not ready within %.0f s (last probe: %r)"
                          "\nscorer:\n%s\ncollector:\n%s"
                          % (timeout, last, self.scorer.tail(),
                             self.collector.tail()))

    def stop(self):
        """Stop both (collector first); return (scorer rc, collector rc)."""
        self.close_socket()
        c = self.collector.stop()
        s = self.scorer.stop()
        return s, c

    def restart_scorer(self, kill=False):
        """Stop the scorer (SIGTERM, or SIGKILL when kill) and start it
        again on the same data dir; wait until the service answers.
        Returns the stop status (None after a kill)."""
        if kill:
            self.scorer.kill9()
            rc = None
        else:
            rc = self.scorer.stop()
        self.scorer.start()
        self.close_socket()
        self.wait_ready()
        return rc

    def kill9(self, which="scorer"):
        getattr(self, which).kill9()

    def close(self):
        self.stop()
        self.ctx.term()
        if self.failed or self.keep:
            say("  kept %s for inspection" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def alive(self):
        return self.scorer.alive() and self.collector.alive()

    def dump_logs(self):
        for d in (self.scorer, self.collector):
            say("  --- %s stderr (tail) ---\n%s" % (d.name, d.tail(25)))

    def grep(self, pattern, which=("scorer", "collector")):
        """Lines of the daemons' stderr matching regex `pattern`."""
        if isinstance(which, str):
            which = (which,)
        rx = re.compile(pattern)
        out = []
        for w in which:
            out += [l for l in getattr(self, w).stderr_text().splitlines()
                    if rx.search(l)]
        return out

    # -- client

    def key(self):
        """The pseudonym key the daemons use (32 bytes)."""
        with open(os.path.join(self.keys_dir, "pseudonym.key"), "rb") as f:
            return f.read()

    def add_client(self, name, role):
        """Admit a client: `vigilctl client add NAME --role ROLE` (the
        daemons see it at start or after reload()). Returns the path of
        its secret certificate."""
        path = self.cert_path(name)
        if not os.path.exists(path):
            rc, out, err = vigilctl(self.bindir, "client", "add", name,
                                    "--role", role, "--keys-dir",
                                    self.keys_dir, "--user=")
            if rc != 0:
                raise TestFailure("client add %s: exit %d: %s"
                                  % (name, rc, err.strip()))
        return path

    def revoke_client(self, name):
        rc, out, err = vigilctl(self.bindir, "client", "revoke", name,
                                "--keys-dir", self.keys_dir, "--user=")
        if rc != 0:
            raise TestFailure("client revoke %s: exit %d: %s"
                              % (name, rc, err.strip()))

    def reload(self, settle=0.5):
        """SIGHUP both daemons (allow-list reload); wait `settle` s."""
        for d in (self.scorer, self.collector):
            if d.alive():
                d.proc.send_signal(signal.SIGHUP)
        time.sleep(settle)

    def cert_path(self, name):
        return os.path.join(self.keys_dir, "secrets", name + ".key_secret")

    def server_public(self):
        import zmq.auth
        pub, _ = zmq.auth.load_certificate(
            os.path.join(self.keys_dir, "server.key"))
        return pub

    def curve(self, sock, client):
        """Make `sock` a CURVE client as `client` (a name given to
        add_client, or a (public, secret) pair of Z85 keys), pinned to
        the server key. No-op for an insecure Service."""
        import zmq.auth
        if self.insecure:
            return sock
        if isinstance(client, tuple):
            pub, sec = client
        else:
            pub, sec = zmq.auth.load_certificate(self.cert_path(client))
        sock.curve_publickey = pub
        sock.curve_secretkey = sec
        sock.curve_serverkey = self.server_public()
        return sock

    def ctl_conn(self, client="analyst"):
        """vigilctl's connection options to the query endpoint as
        `client`."""
        if self.insecure:
            return ["--endpoint", self.query_endpoint, "--insecure-dev"]
        return ["--endpoint", self.query_endpoint, "--cert",
                self.cert_path(client), "--keys-dir", self.keys_dir]

    def scoped(self, kind, id_, storefront="storefront"):
        """The hex pseudonym of an id a client chose (pseudo.h
        pseudo_scoped: domain `kind`, value storefront + newline + id):
        what audit records carry as `ref` (kinds "event", "request") and
        as subjects (kinds "account", "order")."""
        return pseudo_hex(self.key(), kind, storefront + "\n" + id_)

    def vault(self):
        """{pseudonym hex: (kind, salt bytes, token hex)} of the scorer's
        subject vault, DATA_DIR/subjects.vault (scorer/vault.h): 64-byte
        slots after a 64-byte header; a zero slot is free. Each token is
        recomputed here as BLAKE2b-128(key = salt, pseudonym) and checked
        against the one stored."""
        out = {}
        with open(os.path.join(self.data_dir, "subjects.vault"), "rb") as f:
            data = f.read()
        if data[:8] != b"VIGILVLT":
            raise TestFailure("subjects.vault has no vault header")
        for off in range(64, len(data) - 63, 64):
            slot = data[off:off + 64]
            if not any(slot):
                continue
            p, salt, tok = slot[8:24], slot[24:40], slot[40:56]
            mine = hashlib.blake2b(p, key=salt, digest_size=16).digest()
            if mine != tok:
                raise TestFailure("vault slot at %d: token does not match "
                                  "its salt" % off)
            out[p.hex()] = (slot[5], salt, tok.hex())
        return out

    def token(self, pseudo_hex_):
        """The token (hex) audit records and history use for the subject
        whose pseudonym is `pseudo_hex_` (hex), or None when the subject
        has no salt (never seen, or erased)."""
        got = self.vault().get(pseudo_hex_)
        return None if got is None else got[2]

    def event_ref(self, id_, storefront="storefront"):
        """The `ref` of an event's audit records."""
        return self.scoped("event", id_, storefront)

    def query_ref(self, id_, client="analyst"):
        """The `ref` of a query's audit record."""
        return self.scoped("request", id_, client)

    def close_socket(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def socket(self):
        """The REQ client socket: a plain REQ as a storefront would use.
        After a timeout it is closed and a fresh one made, so a late
        reply can never be taken for the next request's."""
        if self.sock is None:
            s = self.ctx.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            self.curve(s, "storefront")
            s.connect(self.events_endpoint)
            self.sock = s
        return self.sock

    def send_raw(self, frames, timeout_ms=RECV_TIMEOUT_MS):
        """Send bytes (one frame) or a list of frames; return the decoded
        reply (a map or a list). Raises Timeout if none comes."""
        s = self.socket()
        if isinstance(frames, (bytes, bytearray)):
            frames = [bytes(frames)]
        s.send_multipart(frames)
        if not s.poll(timeout_ms, zmq.POLLIN):
            self.close_socket()
            raise Timeout("no reply within %d ms" % timeout_ms)
        parts = s.recv_multipart()
        if len(parts) != 1:
            raise TestFailure("reply has %d frames, want 1" % len(parts))
        try:
            return msgpack.unpackb(parts[0], raw=False, strict_map_key=True)
        except Exception as e:
            raise TestFailure("reply is not valid msgpack: %s (%r)"
                              % (e, parts[0][:64]))

    def send(self, ev, timeout_ms=RECV_TIMEOUT_MS):
        """Send one event (dict) or a batch (list); return the reply."""
        return self.send_raw(pack(ev), timeout_ms)

    def send_ok(self, ev, what=None):
        """Send one event and check it was accepted; return the reply."""
        rep = self.send(ev)
        good = isinstance(rep, dict) and rep.get("ok") is True \
            and rep.get("code") == "ok"
        if what is not None:
            check(good, what, rep)
        elif not good:
            raise TestFailure("event %s (%s) refused: %r"
                              % (ev.get("id"), ev.get("type"), rep))
        return rep

    def send_all_ok(self, evs, chunk=200):
        """Send events in batches; check every one is ok; return replies."""
        out = []
        for i in range(0, len(evs), chunk):
            part = evs[i:i + chunk]
            reps = self.send(part)
            if not isinstance(reps, list) or len(reps) != len(part):
                raise TestFailure("batch of %d got %r" % (len(part), reps))
            for e, r in zip(part, reps):
                if r.get("ok") is not True:
                    raise TestFailure("event %s (%s) refused: %r"
                                      % (e["id"], e["type"], r))
            out += reps
        return out


def pseudo_hex(key, domain, value):
    """A keyed pseudonym as common/pseudo.h computes it, in hex."""
    return hashlib.blake2b(domain.encode() + b"\0" + value.encode(),
                           key=key, digest_size=16).hexdigest()


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


# ------------------------------------------------------------- events

def now_ms():
    return int(time.time() * 1000)


# All scenarios share one time base so relative times are exact: "ts=at(-3600)"
# is an hour before the base. Events are ms since the epoch (sfproto.h).
T0 = now_ms() - 60 * 1000


def at(seconds):
    """Event time `seconds` after the scenario's base time (may be < 0)."""
    return T0 + int(seconds * 1000)


def event(etype, eid, ts=None, **fields):
    """A raw event map: v, type, id, ts, then `fields` (None drops one)."""
    ev = {"v": 1, "type": etype, "id": eid,
          "ts": T0 if ts is None else ts}
    for k, v in fields.items():
        if v is not None:
            ev[k] = v
    return ev


class Persona:
    """A shopper with realistic, distinct identifiers.

    `n` selects a unique account, device, IP (in its own /24), card and
    address; two personas with different n share nothing, so two of them
    given the same event times have identical features (twins).
    """

    FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Greta",
             "Hugo", "Ines", "Jonas", "Klara", "Lukas", "Mia", "Noah"]
    LAST = ["Schmidt", "Martin", "Rossi", "Novak", "Jensen", "Moreau",
            "Silva", "Kowalski", "Berg", "Weber"]
    CITY = {"DE": ("Berlin", "10115"), "FR": ("Lyon", "69001"),
            "US": ("Austin", "78701"), "NL": ("Utrecht", "3511"),
            "GB": ("Leeds", "LS1 4AP")}

    def __init__(self, n, country="DE", ip_country=None, tag="p"):
        self.n = n
        self.tag = tag
        first = self.FIRST[n % len(self.FIRST)]
        last = self.LAST[(n // len(self.FIRST)) % len(self.LAST)]
        self.name = "%s %s" % (first, last)
        self.account = "acct-%s-%05d" % (tag, n)
        self.email = "%s.%s%d@example-mail.com" % (first.lower(),
                                                   last.lower(), n)
        self.phone = "+4915%08d" % (n * 7919 % 100000000)
        self.device = "dev-%s-%05d-9f3c2a" % (tag, n)
        self.session = "sess-%s-%05d" % (tag, n)
        # Each persona its own /24 (these are only strings in events).
        self.ip = "81.%d.%d.%d" % (20 + n // 250, n % 250, 10 + n % 200)
        self.ip_country = ip_country or country
        self.country = country
        city, postal = self.CITY.get(country, ("Springfield", "12345"))
        self.address = {"name": self.name,
                        "street": "%d Lindenstrasse" % (n % 200 + 1),
                        "city": city, "postal": postal, "country": country}
        # Luhn-valid-looking 16 digits; unique per persona.
        self.card_number = "4%03d%012d" % (n % 1000, 400000000000 + n)
        # What a payment provider hands a shop: a card token and the BIN.
        self.card = {"bin": self.card_number[:6],
                     "fingerprint": "fp-%s-%05d" % (tag, n)}
        self.ua = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/120.0 Safari/537.36")
        self.tz = "Europe/Berlin"
        self.lang = "de-DE"

    def net(self):
        """The device and network fields every event of this persona has."""
        return {"account": self.account, "session": self.session,
                "device": self.device, "ip": self.ip,
                "ip_country": self.ip_country, "ua": self.ua, "tz": self.tz,
                "lang": self.lang}

    def visit(self, eid, ts=None, **kw):
        f = self.net()
        f["carrier"] = "Telekom"
        f.update(kw)
        return event("device.seen", eid, ts, **f)

    def signup(self, eid, ts=None, **kw):
        f = self.net()
        f.update(email=self.email, phone=self.phone, name=self.name,
                 source="seo", age=34, referrer="https://search.example/")
        f.update(kw)
        return event("account.signup", eid, ts, **f)

    def login(self, eid, ok=True, ts=None, **kw):
        f = self.net()
        f.update(ok=ok, method="password")
        f.update(kw)
        return event("account.login", eid, ts, **f)

    def update(self, eid, field="phone", value="+4917000000000", ts=None,
               **kw):
        f = self.net()
        f.update(field=field, value=value)
        f.update(kw)
        return event("account.update", eid, ts, **f)

    def order(self, eid, order=None, amount=4999, ts=None, **kw):
        f = self.net()
        f.update(order=order or "ord-" + eid, amount=amount,
                 currency="EUR", items=2, card=dict(self.card),
                 billing=dict(self.address), shipping=dict(self.address),
                 email=self.email)
        f.update(kw)
        return event("order.placed", eid, ts, **f)

    def payment(self, eid, order, ok=True, ts=None, **kw):
        f = self.net()
        f.update(order=order, ok=ok)
        if not ok:
            f["reason"] = "declined"
        f.update(kw)
        return event("payment.result", eid, ts, **f)

    def label(self, eid, fraud=True, ts=None, **kw):
        f = {"account": self.account, "fraud": fraud, "source": "chargeback"}
        f.update(kw)
        return event("label", eid, ts, **f)


# -------------------------------------------------------------- replies

def reasons_by_code(rep):
    """{code: value} of an order reply's reasons."""
    return {r["code"]: r["value"] for r in rep.get("reasons", [])}


def check_order_reply(rep, what):
    """Check the shape of an accepted order.placed reply (reply.h)."""
    check(isinstance(rep, dict), what + ": reply is a map", rep)
    check(rep.get("ok") is True and rep.get("code") == "ok",
          what + ": ok true, code \"ok\"", rep)
    for k in ("id", "ok", "code", "msg", "score", "decision", "reasons"):
        if k not in rep:
            raise TestFailure("%s: reply lacks %r: %r" % (what, k, rep))
    s = rep["score"]
    check(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= 100,
          what + ": score %r is an integer 0..100" % (s,))
    check(rep["decision"] in DECISIONS,
          what + ": decision %r is allow/review/block" % (rep["decision"],))
    rs = rep["reasons"]
    check(isinstance(rs, list) and len(rs) <= 8,
          what + ": reasons is a list of at most 8", rs)
    for r in rs:
        good = (isinstance(r, dict) and set(r) == {"code", "text", "value"}
                and isinstance(r["code"], str) and r["code"]
                and isinstance(r["text"], str) and r["text"]
                and isinstance(r["value"], (int, float))
                and not isinstance(r["value"], bool))
        if not good:
            raise TestFailure("%s: bad reason entry %r" % (what, r))


def check_error_reply(rep, what, codes=ERROR_CODES, field=None, eid=None):
    """Check an error reply: ok false, code in `codes` (None: any string;
    the caller checks the exact code itself), msg naming `field` (a name
    or a tuple of acceptable names) when given, id equal to `eid` when
    given."""
    check(isinstance(rep, dict), what + ": one reply map", rep)
    check(rep.get("ok") is False, what + ": ok false", rep)
    if codes is None:
        check(isinstance(rep.get("code"), str) and rep.get("code") != "ok",
              what + ": an error code (%r)" % (rep.get("code"),), rep)
    else:
        check(rep.get("code") in codes,
              what + ": code %r in %s" % (rep.get("code"), "/".join(codes)),
              rep)
    msg = rep.get("msg")
    check(isinstance(msg, str) and msg != "",
          what + ": msg explains (%r)" % (msg,))
    if field is not None:
        alts = (field,) if isinstance(field, str) else tuple(field)
        check(isinstance(msg, str) and any(f in msg for f in alts),
              what + ": msg names %s" % " or ".join(map(repr, alts)), msg)
    if eid is not None:
        check_eq(rep.get("id"), eid, what + ": reply carries the event id")
    for k in ("score", "decision"):
        if k in rep:
            raise TestFailure("%s: an error reply carries %r: %r"
                              % (what, k, rep))


REPLY_KEYS = ("id", "ok", "code", "score", "decision", "reasons")


def reply_key(rep, with_id=True):
    """What must match between two replies to one event: all but msg."""
    if not isinstance(rep, dict):
        return ("not a map", repr(rep))
    return tuple(rep.get(k) for k in REPLY_KEYS if with_id or k != "id")


def same_reply(a, b, what, with_id=True):
    """Check two replies are the same decision (all but msg equal)."""
    keys = [k for k in REPLY_KEYS if with_id or k != "id"]
    diff = [k for k in keys if not isinstance(b, dict) or a.get(k) != b.get(k)]
    check(not diff, what, "differs in %s: first %r, then %r" % (diff, a, b))


def read_reason_codes():
    """Reason codes documented in scorer/REASONS.md (`code` in the first
    column of its table), or None if the file does not exist yet."""
    path = os.path.join(REPO, "scorer", "REASONS.md")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    codes = set()
    for line in text.splitlines():
        m = re.match(r"^\s*\|\s*`?([a-z][a-z0-9_]+)`?\s*\|", line)
        if m:
            codes.add(m.group(1))
    return codes


def find_reason(rep, *patterns):
    """The first (code, value) whose code matches any of the regexes."""
    for r in rep.get("reasons", []):
        for p in patterns:
            if re.search(p, r["code"]):
                return r["code"], r["value"]
    return None


def scan_files_for(root, needles):
    """Return [(path, needle)] for raw byte strings found under root."""
    hits = []
    for d, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(d, fn)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data:
                    hits.append((p, n))
    return hits


# ------------------------------------------------ query endpoint (scorer)

def query_raw(svc, frames, timeout_ms=RECV_TIMEOUT_MS, client="analyst"):
    """Send bytes (one frame) or a list of frames to the scorer's query
    endpoint as `client` on a fresh REQ socket (closed before returning,
    so a late reply can never be taken for another request's); return
    the decoded reply map. Raises Timeout if none comes."""
    s = svc.ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        svc.curve(s, client)
        s.connect(svc.query_endpoint)
        if isinstance(frames, (bytes, bytearray)):
            frames = [bytes(frames)]
        s.send_multipart(frames)
        if not s.poll(timeout_ms, zmq.POLLIN):
            raise Timeout("no query reply within %d ms" % timeout_ms)
        parts = s.recv_multipart()
    finally:
        s.close(0)
    if len(parts) != 1:
        raise TestFailure("query reply has %d frames, want 1" % len(parts))
    try:
        return msgpack.unpackb(parts[0], raw=False, strict_map_key=True)
    except Exception as e:
        raise TestFailure("query reply is not valid msgpack: %s (%r)"
                          % (e, parts[0][:64]))


def query(svc, op, qid, purpose="fraud-prevention", timeout_ms=RECV_TIMEOUT_MS,
          client="analyst", storefront="storefront", **args):
    """Send one query request {v, op, id, purpose, storefront, **args}
    as `client` (purpose or storefront None drops it); return the reply
    map (common/qproto.h section 2)."""
    req = {"v": 2, "op": op, "id": qid}
    if purpose is not None:
        req["purpose"] = purpose
    if storefront is not None:
        req["storefront"] = storefront
    req.update(args)
    return query_raw(svc, pack(req), timeout_ms, client=client)


def vigilctl(bindir, *args, timeout=30):
    """Run build/bin/vigilctl with `args`; return (status, out, err)."""
    return run([os.path.join(bindir, "vigilctl")] + [str(a) for a in args],
               timeout=timeout)


def audit_records(bindir, data_dir):
    """Every record of DATA_DIR/audit as dicts (`vigilctl audit replay
    --json`, which verifies the log; a failure raises TestFailure)."""
    import json
    rc, out, err = vigilctl(bindir, "audit", "replay",
                            os.path.join(data_dir, "audit"), "--json")
    if rc != 0:
        raise TestFailure("audit replay exited %d: %s" % (rc, err.strip()))
    return json.loads(out)["records"]


def wait_checkpoint(bindir, data_dir, timeout=10.0):
    """Wait (bounded) until a signed checkpoint covers every record of
    the audit log; return the record count."""
    import json
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        rc, out, err = vigilctl(bindir, "audit", "replay",
                                os.path.join(data_dir, "audit"), "--json",
                                "--from", "0", "--to", "1")
        if rc == 0:
            doc = json.loads(out)
            last = (doc["records_verified"], doc["checkpoint_size"])
            if last[0] > 0 and last[0] == last[1]:
                return last[0]
        time.sleep(0.2)
    raise TestFailure("no checkpoint covers the whole audit log within "
                      "%.0f s (records, checkpoint size: %r)" % (timeout, last))
