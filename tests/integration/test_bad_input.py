#!/usr/bin/python3
"""integ.bad_input - bad input gets a clear error and changes nothing.

DESIGN.md promise 5. For each kind of bad input (frame level: truncated
msgpack, random bytes, empty frame, two body frames, over 64 KiB, too
deep, 1001 events, not a map; event level: wrong types, unknown type,
missing field, out-of-range values, unknown key, password field, a batch
with one bad event) checks:
 - the reply is an error (ok false, a msg naming the field where there
   is one, the event id when it could be read) with exactly the code
   common/sfproto.h section 1 ("Error codes") gives that input;
 - every case runs even when an earlier one has the wrong code, and the
   scenario then fails listing each wrong code beside the pinned one and
   the rule it comes from;
 - both daemons are still running and answer the next good event;
 - nothing of the bad event reached history: a good event reusing the
   bad event's id is not taken for a duplicate, and the account's next
   order scores exactly as a twin account's that never sent bad input;
 - the refused password value never appears in stderr or the data dir.

The pinned codes (common/sfproto.h section 1, "Error codes"; err.h):
 - malformed: not one msgpack item (truncated, random bytes, an empty
   frame), trailing bytes, nesting deeper than SFPROTO_MAX_DEPTH, an empty
   array, neither map nor array (an integer), an event that is not a map
   (a batch inside a batch), a non-string key; and more than one frame
   (section 1: "One frame holding ...");
 - too_big: over SFPROTO_MAX_MSG_BYTES, or over SFPROTO_MAX_BATCH events;
 - invalid: a missing required field, an unknown field, a field not
   allowed for the type, a wrong type or an out-of-range value;
 - denied: a password: a key named "password" anywhere, and a password
   sent as account.update's value (which "must be absent for password").

SPDX-License-Identifier: MIT
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, Timeout, TestFailure, at,  # noqa
                       check, check_eq, check_error_reply,
                       check_order_reply, event, main, pack, same_reply,
                       say, scan_files_for)

DAY = 86400
SECRET = "hunter2-Very-Secret"

# Where each pinned code comes from (printed when the service differs).
SPEC = "sfproto.h s.1 error codes: "
MALFORMED = SPEC + "not one msgpack item, trailing bytes, neither map " \
    "nor array -> malformed"
ONE_FRAME = "sfproto.h s.1: ONE frame holding a map or an array of maps"
KEYS_STR = SPEC + "a non-string key -> malformed"
BATCH_MAPS = SPEC + "an empty array, an event that is not a map, nesting " \
    "deeper than SFPROTO_MAX_DEPTH -> malformed"
TOO_BIG = SPEC + "over SFPROTO_MAX_MSG_BYTES -> too_big"
BATCH_CAP = SPEC + "over SFPROTO_MAX_BATCH events -> too_big"
FIELD = SPEC + "missing, unknown or not allowed field, wrong type, out " \
    "of range -> invalid"
PW_VALUE = SPEC + "a password is denied (account.update's value must be " \
    "absent for password)"
PASSWORD = SPEC + "a key named \"password\" anywhere -> denied"


class Codes:
    """Exact-code checks that do not stop the scenario: each case prints
    ok/FAIL, and finish() fails once, listing every code that differs
    from the one the spec pins."""

    def __init__(self):
        self.wrong = []

    def __call__(self, rep, want, rule, what):
        got = rep.get("code") if isinstance(rep, dict) else None
        if got == want:
            say("  ok   %s: code %r" % (what, want))
            return
        say("  FAIL %s: code %r, the spec pins %r (%s)"
            % (what, got, want, rule))
        self.wrong.append((what, got, want, rule, rep.get("msg")
                           if isinstance(rep, dict) else rep))

    def finish(self):
        if not self.wrong:
            say("  ok   every bad input got the code sfproto.h pins")
            return
        lines = ["%s: got %r (msg %r), sfproto.h pins %r: %s"
                 % (w, g, m, p, r) for w, g, p, r, m in self.wrong]
        raise TestFailure("%d bad input(s) got another code than the spec "
                          "pins (a product/spec disagreement, not a flaky "
                          "test):\n    " % len(lines)
                          + "\n    ".join(lines))


def without(ev, key):
    """A copy of event `ev` lacking `key`."""
    return {k: v for k, v in ev.items() if k != key}


class Probe:
    """Checks the service is whole after each bad input."""

    def __init__(self, svc):
        self.svc = svc
        self.n = 0
        self.p = Persona(900, tag="probe")

    def __call__(self, what):
        self.n += 1
        for d in (self.svc.scorer, self.svc.collector):
            if not d.alive():
                raise TestFailure("after %s: %s died (status %s)\n%s"
                                  % (what, d.name, d.proc.returncode,
                                     d.tail()))
        rep = self.svc.send(self.p.visit("good-after-%d" % self.n,
                                         ts=at(self.n)))
        if not (isinstance(rep, dict) and rep.get("ok") is True):
            raise TestFailure("after %s: next good event not accepted: %r"
                              % (what, rep))


def frame_level(svc, probe, codes):
    say("-- frames that are not one valid message")
    p = Persona(1, tag="frames")
    good = pack(p.order("fr-1", ts=at(0)))
    rnd = random.Random(1234)
    cases = [
        ("truncated msgpack", [good[:len(good) - 7]], "malformed",
         MALFORMED),
        # Starts 0xf7 (the integer -9) with 299 bytes after it.
        ("random bytes", [bytes(rnd.getrandbits(8) for _ in range(300))],
         "malformed", MALFORMED),
        ("an empty frame", [b""], "malformed", MALFORMED),
        ("two body frames", [good, good], "malformed", ONE_FRAME),
        ("a msgpack integer, not a map", [pack(42)], "malformed", MALFORMED),
        ("a map with a non-string key", [pack({1: "x", "v": 1})],
         "malformed", KEYS_STR),
        ("trailing bytes after the map", [good + b"\xc0"], "malformed",
         MALFORMED),
        ("one map of 70 KiB (ua too long)",
         [pack(p.visit("fr-big", ua="x" * 70000))], "too_big", TOO_BIG),
        ("a batch of 900 padded events, over 64 KiB",
         [pack([p.visit("fr-pad-%d" % i, lang="de-DE", tz="Europe/Berlin",
                        ua="Mozilla/5.0 " + "y" * 60)
                for i in range(900)])], "too_big", TOO_BIG),
        ("an array of 1001 events",
         [pack([event("device.seen", "fr-n-%d" % i) for i in range(1001)])],
         "too_big", BATCH_CAP),
        ("an empty array", [pack([])], "malformed", BATCH_MAPS),
        ("arrays nested 100 deep", [b"\x91" * 100 + pack({"v": 1})],
         "malformed", BATCH_MAPS),
        ("a batch inside a batch", [pack([[p.visit("fr-nest")]])],
         "malformed", BATCH_MAPS),
    ]
    for what, frames, want, rule in cases:
        try:
            rep = svc.send_raw(frames)
        except Timeout:
            raise TestFailure("%s: no reply within 5 s" % what)
        if isinstance(rep, list):
            # An array frame may be answered per event; every one must
            # then be an error.
            check(rep and all(r.get("ok") is False for r in rep),
                  what + ": every event refused", rep[:3])
            rep = rep[0]
        check_error_reply(rep, what, codes=None)
        codes(rep, want, rule, what)
        probe(what)


def event_level(svc, probe, codes):
    say("-- events that decode but break the schema")
    p = Persona(2, tag="fields")
    o = p.order  # shorthand
    I, D = "invalid", "denied"
    cases = [
        # (what, event, code, rule, field the msg must name)
        ("amount as a string", o("ev-1", amount="4999"), I, FIELD, "amount"),
        ("ts as a float", o("ev-2", ts=float(at(0))), I, FIELD, "ts"),
        ("items negative", o("ev-3", items=-2), I, FIELD, "items"),
        ("ok as a string", p.login("ev-4", ok="yes"), I, FIELD, "ok"),
        ("card as a string", o("ev-5", card="4111111111111111"), I, FIELD,
         "card"),
        ("unknown event type", event("order.cancelled", "ev-6",
                                     account=p.account), I, FIELD, "type"),
        ("missing amount", o("ev-7", amount=None), I, FIELD, "amount"),
        ("missing order", without(o("ev-8"), "order"), I, FIELD, "order"),
        ("empty order", dict(o("ev-8b"), order=""), I, FIELD, "order"),
        ("missing ts", without(o("ev-9"), "ts"), I, FIELD, "ts"),
        ("missing id", without(o("ev-9b"), "id"), I, FIELD, "id"),
        ("missing ok on login", p.login("ev-10", ok=None), I, FIELD, "ok"),
        ("version 2", dict(p.visit("ev-11"), v=2), I, FIELD, "v"),
        ("amount over 10^12", o("ev-12", amount=10 ** 12 + 1), I, FIELD,
         "amount"),
        ("ts in 1990", o("ev-13", ts=631152000000), I, FIELD, "ts"),
        ("ts in 2200", o("ev-14", ts=7258118400000), I, FIELD, "ts"),
        ("age 200", p.signup("ev-15", age=200), I, FIELD, "age"),
        ("currency 'usd'", o("ev-16", currency="usd"), I, FIELD, "currency"),
        ("items 0", o("ev-17", items=0), I, FIELD, "items"),
        ("ip '999.1.1.1'", p.visit("ev-18", ip="999.1.1.1"), I, FIELD, "ip"),
        ("country 'Germany'", o("ev-19", billing=dict(
            p.address, country="Germany")), I, FIELD, "country"),
        ("card number with letters", o("ev-20", card={
            "number": "4111abcd11111111"}), I, FIELD, "number"),
        ("account of 200 characters", o("ev-21", account="a" * 200), I,
         FIELD, "account"),
        ("unknown key", dict(p.visit("ev-22"), favourite_color="blue"), I,
         FIELD, "favourite_color"),
        ("update of an unknown field", p.update("ev-23", field="shoe_size"),
         I, FIELD, "field"),
        ("password update carrying a value",
         p.update("ev-24", field="password", value=SECRET), D, PW_VALUE,
         "value"),
        ("a password key", dict(p.signup("ev-25"), password=SECRET), D,
         PASSWORD, "password"),
        ("a password key inside billing", o("ev-26", billing=dict(
            p.address, password=SECRET)), D, PASSWORD, "password"),
        ("nested too deep (maps inside card)", o("ev-27", card={
            "fingerprint": {"x": {"y": 1}}}), "malformed", BATCH_MAPS,
         ("card", "fingerprint", "depth", "deep")),
        ("label without account or order", event(
            "label", "ev-28", fraud=True), I, FIELD, None),
    ]
    for what, ev, want, rule, field in cases:
        rep = svc.send(ev)
        if what.startswith("nested too deep"):
            # The depth cap may stop the decoder before the event is
            # read: a frame-level error (id "") is as good.
            check_error_reply(rep, what, codes=None)
            check(rep.get("id") in ("", ev["id"]),
                  what + ": reply id is \"\" or the event id", rep)
        else:
            check_error_reply(rep, what, codes=None, field=field,
                              eid=ev.get("id", ""))
        codes(rep, want, rule, what)
        probe(what)
    rep = svc.send(o("x" * 200, order="o-long-id"))
    check_error_reply(rep, "id of 200 characters", codes=None, field="id")
    codes(rep, "invalid", FIELD, "id of 200 characters")
    check(rep.get("id") in ("", "x" * 200),
          "id of 200 characters: reply id is \"\" or the id", rep.get("id"))
    probe("id of 200 characters")


def history_untouched(svc, probe, codes):
    say("-- bad events leave no trace in history")
    x, y = Persona(3, tag="bad"), Persona(4, tag="twin")
    z, w = Persona(5, tag="batchbad"), Persona(6, tag="batchtwin")
    for p, t in ((x, "x"), (y, "y"), (z, "z"), (w, "w")):
        svc.send_all_ok([p.visit(t + "-v", ts=at(-DAY)),
                         p.signup(t + "-s", ts=at(-DAY + 60))])
    # The bad order for X, then a good order for X reusing its id.
    bad = x.order("x-o1", order="o-x-1", amount=10 ** 13, ts=at(0))
    rep = svc.send(bad)
    check_error_reply(rep, "order with amount 10^13", codes=None,
                      field="amount", eid="x-o1")
    codes(rep, "invalid", FIELD, "order with amount 10^13")
    good = x.order("x-o1", order="o-x-1", amount=5900, ts=at(0))
    rx = svc.send_ok(good, "good order reusing the bad order's id "
                     "is accepted")
    check_order_reply(rx, "good order reusing the bad id")
    ry = svc.send_ok(y.order("y-o1", order="o-y-1", amount=5900, ts=at(0)))
    same_reply(rx, ry, "it scores as the twin's first order (the bad one "
               "was not applied, nor taken for a duplicate)", with_id=False)

    # A batch with one bad event: the good ones are applied.
    batch = [z.visit("z-v2", ts=at(-30)),
             z.order("z-o1", order="o-z-1", amount=None, ts=at(-20)),
             z.login("z-l", ts=at(-10))]
    reps = svc.send(batch)
    check(isinstance(reps, list) and len(reps) == 3,
          "batch with one bad event: 3 replies", reps)
    check(reps[0].get("ok") is True and reps[2].get("ok") is True,
          "the good events are ok", reps)
    check_eq([r.get("id") for r in reps], ["z-v2", "z-o1", "z-l"],
             "replies in order")
    check_error_reply(reps[1], "the bad one", codes=None, field="amount",
                      eid="z-o1")
    codes(reps[1], "invalid", FIELD, "the bad one of the batch")
    probe("batch with one bad event")
    svc.send_all_ok([w.visit("w-v2", ts=at(-30)), w.login("w-l",
                                                          ts=at(-10))])
    rz = svc.send_ok(z.order("z-o1", order="o-z-1", amount=7000, ts=at(0)))
    rw = svc.send_ok(w.order("w-o1", order="o-w-1", amount=7000, ts=at(0)))
    same_reply(rz, rw, "the bad event's id is free and history holds only "
               "the good ones (scores as the twin's)", with_id=False)


def body(args):
    with Service(args.bin, keep=args.keep) as svc:
        probe = Probe(svc)
        codes = Codes()
        probe("start")
        frame_level(svc, probe, codes)
        event_level(svc, probe, codes)
        history_untouched(svc, probe, codes)
        say("-- the refused password never reaches a log or the disk")
        logs = svc.scorer.stderr_text() + svc.collector.stderr_text()
        check(SECRET not in logs, "not in daemon stderr")
        s, c = svc.stop()
        check_eq((s, c), (0, 0), "both exit 0 on SIGTERM")
        check(not scan_files_for(svc.data_dir, [SECRET]),
              "not in the data directory")
        say("-- every code as the spec pins it")
        codes.finish()


if __name__ == "__main__":
    main("bad input gets a clear error and changes nothing", body)
