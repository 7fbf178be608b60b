#!/usr/bin/env python3
"""smtp_relay.py - the usual open-relay tricks from a client outside mynetworks, each refused; the same from inside accepted.

Environment: SG_SMTP_PORT, SG_LOCAL_DOMAIN (a domain we accept from anyone, relayed on to its route),
SG_OUTSIDE (an address of this host outside mynetworks, e.g. 127.0.0.2), SG_INSIDE (one inside).
Prints TAP.
"""
import os
import sys

from smtp_raw import RawClient
from tap import ok, run

PORT = int(os.environ["SG_SMTP_PORT"])
LOCAL = os.environ.get("SG_LOCAL_DOMAIN", "local.test")
OUTSIDE = os.environ.get("SG_OUTSIDE", "127.0.0.2")
INSIDE = os.environ.get("SG_INSIDE", "127.0.0.1")

# (RCPT path, why a relay would take it).  None of these may get a 2xx from an untrusted client.
TRICKS = [
    ("<victim@evil.test>", "a plain foreign domain"),
    (f"<victim%evil.test@{LOCAL}>", "the %-hack"),
    (f"<victim%evil.test@{LOCAL.upper()}>", "the %-hack, local domain in capitals"),
    (f"<evil.test!victim@{LOCAL}>", "a UUCP bang path"),
    (f'<"victim@evil.test"@{LOCAL}>', "a quoted @ in the local part"),
    (f'<"victim%evil.test"@{LOCAL}>', "a quoted %-hack"),
    (f"<@{LOCAL}:victim@evil.test>", "a source route through us"),
    (f"<@{LOCAL},@other.test:victim@evil.test>", "a two-hop source route"),
    ("<victim@evil.test@" + LOCAL + ">", "two @ signs"),
    (f"<victim@{LOCAL}.>", "our domain with a trailing dot"),
    (f"<victim@evil.test.{LOCAL}.invalid>", "our domain inside a foreign one"),
    ("<victim@[192.0.2.1]>", "an address literal"),
    ("<victim>", "no domain at all"),
    ("victim@evil.test", "no angle brackets"),
]
# Trusted clients may route as they like (as Postfix lets mynetworks): these must still be taken from inside.
INSIDE_OK = [f"<victim%evil.test@{LOCAL}>", f"<evil.test!victim@{LOCAL}>", f'<"victim@evil.test"@{LOCAL}>',
             "<victim@evil.test>"]


def rcpt(source, path, sender="<a@sender.test>"):
    c = RawClient(PORT, source)
    c.say("EHLO relay-test.example")
    c.say(f"MAIL FROM:{sender}")
    got = c.say(f"RCPT TO:{path}")
    c.close()
    return got


def checks():
    for path, why in TRICKS:
        got = rcpt(OUTSIDE, path)
        ok(got[:1] == "5", f"outside: {why} {path}: refused ({got})")
    got = rcpt(OUTSIDE, "<victim@evil.test>", sender="<>")
    ok(got.startswith("554 5.7.1"), f"outside: the null sender does not open the relay ({got})")
    got = rcpt(OUTSIDE, f"<victim%evil.test@{LOCAL}>")
    ok(got == "554 5.7.1 Sender-specified routing is not allowed here", f"outside: the %-hack gets 554 5.7.1 naming it ({got})")
    got = rcpt(OUTSIDE, f"<bob@{LOCAL}>")
    ok(got.startswith("250"), f"outside: a plain local-domain address is still accepted ({got})")
    got = rcpt(OUTSIDE, "<postmaster>")
    ok(got.startswith("250"), f"outside: a bare <postmaster> is accepted, as RFC 5321 wants ({got})")
    for path in INSIDE_OK:
        got = rcpt(INSIDE, path)
        ok(got.startswith("250"), f"inside mynetworks: {path} is relayed as before ({got})")


sys.exit(run("smtp_relay", checks))
