#!/usr/bin/env python3
"""smtp_rates.py - per-client rate limits: connections, MAIL, RCPT, failed AUTH and errors per address and interval; 421 4.7.0 at the right count, other addresses and mynetworks not limited, the limit lifts, one log line per interval, the table's cap.

Environment: SG_SMTP_PORT, SG_SMTPD_LOG, SG_USER; smtpd configured as smtpd-rates.sh does
(mynetworks = 127.0.0.1/32, the limits below, client_rate_interval = 5s, client_rate_table_size = 16).
Prints TAP.
"""
import base64
import os
import re
import smtplib
import ssl
import time

from smtp_raw import RawClient
from tap import ok, run

PORT = int(os.environ["SG_SMTP_PORT"])
LOG = os.environ["SG_SMTPD_LOG"]
LOCAL = os.environ.get("SG_LOCAL_DOMAIN", "local.test")
INTERVAL = 5.0
CONNECTIONS, MESSAGES, RECIPIENTS, AUTH_FAILURES, ERRORS, TABLE = 5, 4, 6, 2, 5, 16


def log_count(pattern):
    with open(LOG, errors="replace") as f:
        return sum(1 for line in f if re.search(pattern, line))


def closed(c):
    """Did the server close c (its next read is the end), within 2 s?"""
    c.s.settimeout(2)
    try:
        return c.reply() == "(connection closed)"
    except OSError:
        return False
    finally:
        c.s.close()


def refused(reply, reason):
    return reply.startswith("421 4.7.0") and reason in reply


def connections(src):
    """CONNECTIONS sessions greeted, the next ones refused at connect: (greetings, refusals)."""
    got = []
    for _ in range(CONNECTIONS + 2):
        c = RawClient(PORT, src)
        got.append(c.greeting)
        c.close()
    return got[:CONNECTIONS], got[CONNECTIONS:]


def check_connections():
    greeted, refusals = connections("127.0.0.2")
    ok(all(g.startswith("220") for g in greeted), f"{CONNECTIONS} connections from 127.0.0.2 in the interval are greeted",
       greeted)
    ok(all(refused(g, "Too many connections from your address") for g in refusals),
       f"connection {CONNECTIONS + 1} and on get 421 4.7.0 Too many connections from your address", refusals)
    other = RawClient(PORT, "127.0.0.7")
    ok(other.greeting.startswith("220"), f"meanwhile 127.0.0.7 is greeted ({other.greeting})")
    other.close()
    ok(log_count(r"\[127\.0\.0\.2\] refused: \d+ connections from this address") == 1,
       "two refusals of 127.0.0.2 in one interval: one log line")


def check_mynetworks():
    greets = [RawClient(PORT, "127.0.0.1") for _ in range(4 * CONNECTIONS)]
    ok(all(c.greeting.startswith("220") for c in greets), f"{4 * CONNECTIONS} connections from mynetworks are greeted")
    c = greets[0]
    c.say("EHLO inside.example")
    mails = []
    for _ in range(2 * MESSAGES):
        mails.append(c.say("MAIL FROM:<a@sender.test>"))
        c.say("RSET")
    ok(all(r.startswith("250") for r in mails), f"{2 * MESSAGES} MAIL commands from mynetworks: all 250", mails)
    c.say("MAIL FROM:<a@sender.test>")
    rcpts = [c.say(f"RCPT TO:<r{i}@{LOCAL}>") for i in range(2 * RECIPIENTS)]
    ok(all(r.startswith("250") for r in rcpts), f"{2 * RECIPIENTS} RCPT commands from mynetworks: all 250", rcpts)
    errors = [c.say("FROB") for _ in range(ERRORS + 2)]
    last = c.say("NOOP")
    ok(all(r.startswith("500") for r in errors) and last.startswith("250"),
       f"{ERRORS + 2} errors from mynetworks: the session goes on ({last})")
    for g in greets:
        g.close()


def check_messages():
    c = RawClient(PORT, "127.0.0.3")
    c.say("EHLO messages.example")
    mails = []
    for _ in range(MESSAGES):
        mails.append(c.say("MAIL FROM:<a@sender.test>"))
        c.say("RSET")
    ok(all(r.startswith("250") for r in mails), f"{MESSAGES} MAIL commands from 127.0.0.3: all 250", mails)
    r = c.say("MAIL FROM:<a@sender.test>")
    ok(refused(r, "Too many messages from your address"), f"MAIL {MESSAGES + 1} gets 421 4.7.0 ({r})")
    ok(closed(c), "and the session is closed")


def check_recipients():
    """The count goes across sessions: RECIPIENTS / 2 in each of two, then one more refused."""
    got = []
    for _ in range(2):
        c = RawClient(PORT, "127.0.0.4")
        c.say("EHLO recipients.example")
        c.say("MAIL FROM:<a@sender.test>")
        got += [c.say(f"RCPT TO:<r{i}@{LOCAL}>") for i in range(RECIPIENTS // 2)]
        c.close()
    ok(all(r.startswith("250") for r in got), f"{RECIPIENTS} RCPT from 127.0.0.4 over two sessions: all 250", got)
    c = RawClient(PORT, "127.0.0.4")
    c.say("EHLO recipients.example")
    c.say("MAIL FROM:<a@sender.test>")
    r = c.say(f"RCPT TO:<last@{LOCAL}>")
    ok(refused(r, "Too many recipients from your address"),
       f"RCPT {RECIPIENTS + 1}, in a third session, gets 421 4.7.0 ({r})")
    ok(closed(c), "and the session is closed")


def check_errors():
    c = RawClient(PORT, "127.0.0.5")
    first = [c.say("FROB") for _ in range(3)]
    c.close()
    c = RawClient(PORT, "127.0.0.5")
    more = [c.say("FROB") for _ in range(ERRORS - 3)]
    ok(all(r.startswith("500") for r in first + more), f"{ERRORS} errors from 127.0.0.5 over two sessions: each 500")
    r = c.say("FROB")
    c.s.settimeout(2)
    try:
        after = c.reply()
    except OSError as e:
        after = f"nothing ({e})"
    ok(r.startswith("500") and refused(after, "Too many errors from your address"),
       f"error {ERRORS + 1} is answered, then 421 4.7.0 ({r} / {after})")
    ok(closed(c), "and the session is closed")


def check_errors_bdat():
    """The error past the limit is the 503 after a BDAT chunk without MAIL: still 421 and closed."""
    c = RawClient(PORT, "127.0.0.8")
    c.say("EHLO bdat.example")
    for _ in range(ERRORS):
        c.say("FROB")
    c.s.sendall(b"BDAT 4 LAST\r\nabcd")  # the chunk's octets, then nothing more
    r = c.reply()
    c.s.settimeout(2)
    try:
        after = c.reply()
    except OSError as e:
        after = f"nothing ({e})"
    ok(r.startswith("503 5.5.1") and refused(after, "Too many errors from your address"),
       f"a BDAT chunk without MAIL past the error limit: 503, then 421 4.7.0 ({r} / {after})")
    ok(closed(c), "and the session is closed")


def tls_session(src):
    s = smtplib.SMTP("127.0.0.1", PORT, timeout=20, source_address=(src, 0))
    s.ehlo("auth.example")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo("auth.example")
    return s


def auth_wrong(s, i):
    return s.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0{os.environ['SG_USER']}\0wrong{i}".encode()).decode())


def check_auth():
    """Failed AUTH counts across sessions: one failure in each of two, then AUTH is refused."""
    codes = []
    for i in range(AUTH_FAILURES):
        s = tls_session("127.0.0.6")
        codes.append(auth_wrong(s, i)[0])
        s.close()
    ok(codes == [535] * AUTH_FAILURES, f"{AUTH_FAILURES} failed AUTH from 127.0.0.6 in two sessions: 535 each ({codes})")
    s = tls_session("127.0.0.6")
    code, text = auth_wrong(s, 9)
    ok(code == 421 and b"Too many failed authentications from your address" in text,
       f"AUTH in a third session gets 421 4.7.0 at once ({code} {text!r})")
    s.close()


def check_lifted(last_window):
    time.sleep(max(0.0, last_window + INTERVAL + 0.3 - time.monotonic()))
    greeted, refusals = connections("127.0.0.2")
    ok(all(g.startswith("220") for g in greeted), f"after the interval 127.0.0.2 is greeted again, {CONNECTIONS} times",
       greeted)
    ok(all(refused(g, "Too many connections") for g in refusals), "and refused past the limit again", refusals)
    ok(log_count(r"\[127\.0\.0\.2\] refused: \d+ connections from this address") == 2,
       "the second interval's refusals: one more log line")
    c = RawClient(PORT, "127.0.0.3")
    c.say("EHLO messages.example")
    r = c.say("MAIL FROM:<a@sender.test>")
    ok(r.startswith("250"), f"after the interval 127.0.0.3 may send MAIL again ({r})")
    c.close()


def check_cap():
    """client_rate_table_size = 16: 40 new addresses push 127.0.0.2 (refused just now) out of the
    table, and it is greeted again before its interval is over."""
    c = RawClient(PORT, "127.0.0.2")
    ok(refused(c.greeting, "Too many connections"), f"127.0.0.2 is still refused ({c.greeting})")
    c.s.close()
    flood = []
    for i in range(1, 41):
        c = RawClient(PORT, f"127.0.1.{i}")
        flood.append(c.greeting)
        c.s.close()
    ok(all(g.startswith("220") for g in flood), "40 distinct addresses: each greeted")
    c = RawClient(PORT, "127.0.0.2")
    ok(c.greeting.startswith("220"),
       f"past {TABLE} addresses the oldest is forgotten: 127.0.0.2 is greeted again ({c.greeting})")
    c.close()


def checks():
    started = time.monotonic()
    check_connections()
    check_mynetworks()
    check_messages()
    last_window = time.monotonic()  # every window checked after the interval began before this
    check_recipients()
    check_errors()
    check_errors_bdat()
    check_auth()
    for name, pattern in (("messages", r"\[127\.0\.0\.3\] refused: \d+ messages"),
                          ("recipients", r"\[127\.0\.0\.4\] refused: \d+ recipients"),
                          ("errors", r"\[127\.0\.0\.5\] refused: \d+ errors"),
                          ("failed authentications", r"\[127\.0\.0\.6\] refused: \d+ failed authentications")):
        ok(log_count(pattern) == 1, f"the {name} limit is logged once for its address")
    ok(log_count(r"\[127\.0\.0\.1\] refused") == 0, "nothing from mynetworks is refused")
    elapsed = time.monotonic() - started
    ok(elapsed < INTERVAL, f"the checks so far ran within one interval ({elapsed:.1f} s)")
    check_lifted(last_window)
    check_cap()


raise SystemExit(run("smtp_rates", checks))
