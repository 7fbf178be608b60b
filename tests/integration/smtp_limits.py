#!/usr/bin/env python3
"""smtp_limits.py - concurrent sessions per client address: the limit holds per address, mynetworks is exempt, slots come back.

Environment: SG_SMTP_PORT; smtpd configured with max_sessions_per_client = 5 and mynetworks = 127.0.0.1/32.
Prints TAP.
"""
import base64
import os
import socket
import time

from smtp_raw import starttls_session
from tap import ok, run

PORT = int(os.environ["SG_SMTP_PORT"])
LIMIT = 5


def connect(source):
    s = socket.create_connection(("127.0.0.1", PORT), 10, source_address=(source, 0))
    s.settimeout(10)
    greeting = s.makefile("rb").readline().decode(errors="replace").rstrip("\r\n")
    return s, greeting


def auth_failures():
    """Wrong passwords: each 535 comes later than the one before, the third failure closes."""
    s, _ = starttls_session(PORT, "guess.example", timeout=20)
    took, codes = [], []
    for i in range(3):
        t0 = time.monotonic()
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0{os.environ['SG_USER']}\0wrong{i}".encode()).decode())
        took.append(time.monotonic() - t0)
        codes.append(code)
    ok(codes[:2] == [535, 535] and took[0] >= 0.9 and took[1] >= 1.9,
       f"a wrong password is answered 535 after 1 s, the next after 2 s ({codes}, {[round(t, 2) for t in took]})")
    ok(codes[2] == 421, f"the third failure in the session gets 421 and the session is closed ({codes[2]})")
    s.close()


def checks():
    held = [connect("127.0.0.2") for _ in range(LIMIT)]
    ok(all(g.startswith("220") for _, g in held), f"{LIMIT} sessions from 127.0.0.2 are greeted")
    refused = [connect("127.0.0.2") for _ in range(10)]
    ok(all(g.startswith("421 4.7.0") and "Too many sessions from your address" in g for _, g in refused),
       f"every further session from 127.0.0.2 gets 421 4.7.0 ({refused[0][1]})")
    other, g = connect("127.0.0.3")
    ok(g.startswith("220"), f"meanwhile another address is greeted ({g})")
    inside = [connect("127.0.0.1") for _ in range(2 * LIMIT)]
    ok(all(g.startswith("220") for _, g in inside), f"{2 * LIMIT} sessions from mynetworks are not limited")
    for s, _ in held + refused + inside:
        s.close()
    other.close()
    time.sleep(0.5)
    again = [connect("127.0.0.2") for _ in range(LIMIT)]
    ok(all(g.startswith("220") for _, g in again), "once its sessions closed, 127.0.0.2 gets its slots back")
    for s, _ in again:
        s.close()
    many = [connect(f"127.0.1.{i}") for i in range(1, 101)]
    ok(all(g.startswith("220") for _, g in many), "100 distinct addresses, one session each: all greeted")
    for s, _ in many:
        s.close()
    auth_failures()


raise SystemExit(run("smtp_limits", checks))
