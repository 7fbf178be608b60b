#!/usr/bin/env python3
"""smtp_helo.py - EHLO/HELO names: domains and address literals are taken, anything else gets 501 5.5.2 and the session goes on.

Environment: SG_SMTP_PORT.  Prints TAP.
"""
import os

from smtp_raw import RawClient
from tap import ok, run

PORT = int(os.environ["SG_SMTP_PORT"])

GOOD = ["mx.example.org", "mx.example.org.", "localhost", "[192.0.2.1]", "[IPv6:2001:db8::1]",
        "BUILD_07.corp.example", "x-1.example", "a" * 63 + ".example"]
BAD = [  # (name, what the 501 says)
    ("mx..example", "empty label in domain"),
    (".mx.example", "empty label in domain"),
    ("-mx.example", "domain label begins or ends with '-'"),
    ("mx-.example", "domain label begins or ends with '-'"),
    ("a" * 64 + ".example", "domain label longer than 63 octets"),
    (".".join(["a" * 63] * 4) + ".ab", "domain longer than 255 octets"),
    ("bad(x)name", "bad character in domain"),
    ("a\tb.example", "bad character in domain"),
    ("caf\u00e9.example", "bad character in domain"),
    ("[300.0.0.1]", "bad address literal"),
    ("[192.0.2.1", "bad address literal"),
    ("[IPv6:zz::1]", "bad address literal"),
]


def checks():
    for name in GOOD:
        c = RawClient(PORT)
        r = c.say(f"EHLO {name}")
        m = c.say("MAIL FROM:<a@sender.test>")
        ok(r.startswith("250") and m.startswith("250"), f"EHLO {name[:40]!r}: 250, and MAIL goes on ({r} / {m})")
        c.close()
    for verb in ("EHLO", "HELO"):
        for name, why in BAD:
            c = RawClient(PORT)
            r = c.say(f"{verb} {name}".encode())
            ok(r.startswith(f"501 5.5.2 Invalid {verb} name: {why}"), f"{verb} {name[:40]!r}: 501 5.5.2 {why} ({r})")
            c.close()
    c = RawClient(PORT)
    r = c.say("EHLO a b")
    ok(r.startswith("501 5.5.4 Syntax: EHLO hostname"), f"EHLO with a space inside: 501 5.5.4 syntax ({r})")
    r = c.say("EHLO mx..example")
    m = c.say("MAIL FROM:<a@sender.test>")
    ok(r.startswith("501 5.5.2") and m.startswith("503 5.5.1"),
       f"after a refused EHLO the session goes on, nothing learned: MAIL gets 503 ({m})")
    r = c.say("EHLO mx.example")
    m = c.say("MAIL FROM:<a@sender.test>")
    ok(r.startswith("250") and m.startswith("250"), f"a good EHLO next in the same session: 250, MAIL 250 ({m})")
    c.close()
    c = RawClient(PORT)
    c.say("EHLO first.example")
    r = c.say("EHLO bad_(name)")
    m = c.say("MAIL FROM:<a@sender.test>")
    ok(r.startswith("501 5.5.2") and m.startswith("250"),
       f"a refused EHLO after a good one keeps the good one ({r} / {m})")
    c.close()


raise SystemExit(run("smtp_helo", checks))
