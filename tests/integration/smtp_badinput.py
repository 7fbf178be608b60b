#!/usr/bin/env python3
"""smtp_badinput.py - bad and hostile input to spoolgate-smtpd, one TAP test per case.

Run with the SG_* environment of tests/integration/lib.sh (export_smtp_env):
    python3 smtp_badinput.py
Each case runs on a fresh connection and checks
  (a) the exact reply (code and enhanced code) doc/SMTPD.md specifies,
  (b) afterwards a fresh connection still gets a 220 greeting (the daemon is up),
  (c) the store's message count ("N messages" of spoolctl list) changed by exactly
      what the case stores (0 for every refused message).
A failing case prints every problem and the tail of its SMTP transcript as "# ...".
The connection, reply and store helpers are those of smtp_dialogue.py (same directory).
The script always exits 0: TAP is the verdict.
"""

import base64
import os
import socket
import struct
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True       # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_dialogue import (CA_FILE, HOSTNAME, LOCAL, MAX_SIZE, PASS, REMOTE, SMTP_PORT,  # noqa: E402
                           SUBMIT_PORT, USER, Conn, T, dot_stuff, qid_of, reply_matches, show,
                           split_received, spoolctl, stored)

DATA_354 = "354 End data with <CR><LF>.<CR><LF>"
BARE = "550 5.6.11 Bare CR or LF in message; use CRLF line endings"
TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
LINE_LONG = "552 5.3.4 Message line too long"
HEAD = b"From: a@b.example\r\nSubject: bad input\r\n\r\n"


def spool_count():
    """Messages in the store per "N messages" of spoolctl list, or None with the reason."""
    try:
        rc, out, err = spoolctl("list")
    except Exception as e:
        return None, f"spoolctl list: {e!r}"
    lines = out.decode("utf-8", "replace").strip().splitlines()
    if rc != 0 or not lines or not lines[-1].endswith(" messages"):
        return None, f"spoolctl list failed ({rc}): {err.decode(errors='replace').strip()} {lines[-1:]}"
    return int(lines[-1].split()[0]), ""


def daemon_up():
    """(b): a fresh connection gets 220 <host> ..."""
    try:
        c = Conn(SMTP_PORT)
    except OSError as e:
        return f"daemon check: cannot connect: {e!r}"
    g = c.greeting
    try:
        c.cmd("QUIT")
    except OSError:
        pass
    c.close()
    return None if g.code == 220 else f"daemon check: a fresh connection got {g} instead of 220"


class Case:
    """Collects the problems of one case instead of printing a TAP line per check."""

    def __init__(self):
        self.problems = []
        self.conns = []

    def fail(self, text):
        self.problems.append(text)

    def check(self, cond, text):
        if not cond:
            self.fail(text)
        return cond

    def connect(self, port=SMTP_PORT, ehlo=True):
        c = Conn(port)
        self.conns.append(c)
        self.check(c.greeting.code == 220, f"greeting: expected 220, got {c.greeting}")
        if ehlo:
            self.expect(c, "EHLO client.example", "250 <host>")
        return c

    def expect(self, c, line, want, what=None):
        """Send line (bytes/str, CRLF added to str; None: send nothing), read one reply, compare."""
        if line is not None:
            c.send(line + "\r\n" if isinstance(line, str) else line)
        r = c.reply()
        if not reply_matches(r, want):
            label = what or (show(line, 60) if line is not None else "reply")
            self.fail(f"{label}: expected {want.replace('<host>', HOSTNAME)}\n    got:      {r}")
        return r

    def transaction(self, c, rcpt=None, params=""):
        self.expect(c, f"MAIL FROM:<a@b.example>{params}", "250 2.1.0 Ok")
        self.expect(c, f"RCPT TO:<{rcpt or 'x@' + LOCAL}>", "250 2.1.5 Ok")

    def data(self, c, wire):
        """DATA, then the given wire bytes as they are (the test writes the terminator)."""
        self.expect(c, "DATA", DATA_354)
        c.send(wire)
        return c.reply()

    def no_more(self, c, seconds=1.0):
        """Nothing more may arrive (no stray replies) within seconds."""
        if c.buf:
            self.fail(f"unexpected extra reply data: {show(c.buf)}")
            return
        c.sock.settimeout(seconds)
        try:
            extra = c.sock.recv(65536)
            c.note("S", extra or "<closed>")
            self.fail(f"unexpected extra reply data: {show(extra)}" if extra else "the server closed the connection")
        except socket.timeout:
            pass
        except OSError as e:
            self.fail(f"connection error while checking for stray replies: {e!r}")
        finally:
            c.sock.settimeout(10.0)

    def alive(self, c, what="afterwards"):
        """The session goes on in sync: NOOP gets 250 2.0.0 Ok."""
        self.expect(c, "NOOP", "250 2.0.0 Ok", f"NOOP {what} (session still open and in sync)")

    def tls(self, c):
        self.expect(c, "STARTTLS", "220 2.0.0 Ready to start TLS")
        c.starttls()
        self.expect(c, "EHLO client.example", "250 <host>", "EHLO after STARTTLS")


def sender_thread(c, data):
    """Send a large payload in the background so a server answering early cannot deadlock us."""
    err = []

    def run():
        try:
            c.sock.sendall(data)
        except OSError as e:
            err.append(e)
    c.note("C", data)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, err


def body_of(size, width=78):
    """CRLF lines of printable text, size octets in all."""
    line = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 3)[:width] + b"\r\n"
    n, rest = divmod(size, len(line))
    return line * n + (b"x" * (rest - 2) + b"\r\n" if rest >= 2 else b"")


# ---- the cases ----------------------------------------------------------------
# Each: (name, function(case), messages it stores, settle seconds before counting)

CASES = []


def case(name, stores=0, settle=0.0):
    def reg(fn):
        CASES.append((name, fn, stores, settle))
        return fn
    return reg


SMUGGLED = (b"MAIL FROM:<evil@b.example>\r\nRCPT TO:<victim@" + LOCAL.encode() + b">\r\nDATA\r\n"
            b"From: evil@b.example\r\nSubject: smuggled\r\n\r\nsmuggled second message\r\n")


def smuggle(fake_end):
    def run(k):
        c = k.connect()
        k.transaction(c)
        wire = HEAD + b"first message" + fake_end + SMUGGLED + b".\r\n"
        k.expect(c, "DATA", DATA_354)
        c.send(wire)
        k.expect(c, None, BARE, "the only reply to the whole DATA")
        k.no_more(c)   # the smuggled MAIL/RCPT/DATA were not executed: no more replies
        k.alive(c)
    return run


def vis(b):
    """<CR>/<LF> notation: test names must not hold backslashes (the shell's echo expands them)."""
    return b.decode().replace("\r\n", "<CRLF>").replace("\r", "<CR>").replace("\n", "<LF>")


for fake in [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r\n.\r\r\n"]:
    case(f"DATA with fake end {vis(fake)} and a smuggled second message -> one 550 5.6.11, nothing stored")(
        smuggle(fake))


@case("DATA with a bare LF mid-body -> 550 5.6.11")
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, HEAD + b"line one\nline two\r\n.\r\n")
    k.check(reply_matches(r, BARE), f"end of data: expected {BARE}\n    got: {r}")
    k.alive(c)


@case("DATA with a bare CR mid-body -> 550 5.6.11")
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, HEAD + b"line one\rline two\r\n.\r\n")
    k.check(reply_matches(r, BARE), f"end of data: expected {BARE}\n    got: {r}")
    k.alive(c)


@case("DATA with a bare LF in the header section -> 550 5.6.11")
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, b"From: a@b.example\nSubject: lf\r\n\r\nbody\r\n.\r\n")
    k.check(reply_matches(r, BARE), f"end of data: expected {BARE}\n    got: {r}")


@case("BDAT LAST chunk with a bare LF -> 550 5.6.11")
def _(k):
    c = k.connect()
    k.transaction(c)
    chunk = HEAD + b"line one\nline two\r\n"
    k.expect(c, f"BDAT {len(chunk)} LAST\r\n".encode() + chunk, BARE)
    k.alive(c)


@case("BDAT LAST chunk with a bare CR -> 550 5.6.11")
def _(k):
    c = k.connect()
    k.transaction(c)
    chunk = HEAD + b"line one\rline two\r\n"
    k.expect(c, f"BDAT {len(chunk)} LAST\r\n".encode() + chunk, BARE)
    k.alive(c)


@case("command line of 513 octets -> 500 5.5.2 Line too long (512 is fine)")
def _(k):
    c = k.connect()
    line = "NOOP " + "x" * (513 - 7)
    k.check(len(line) + 2 == 513, "test bug: line length")
    k.expect(c, line, "500 5.5.2 Line too long", "513-octet NOOP line")
    k.alive(c)
    k.expect(c, "NOOP " + "y" * (512 - 7), "250 2.0.0 Ok", "512-octet NOOP line (the limit)")


@case("command line of 64 KiB -> exactly one 500 5.5.2 Line too long")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<" + "a" * 65536 + "@b.example>", "500 5.5.2 Line too long")
    k.alive(c, "after the long line (the whole line was discarded)")


@case("message text line of 1001 octets incl. CRLF -> 552 5.3.4 Message line too long")
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, HEAD + b"short\r\n" + b"L" * 999 + b"\r\nshort\r\n.\r\n")
    k.check(reply_matches(r, LINE_LONG), f"end of data: expected {LINE_LONG}\n    got: {r}")
    k.alive(c)


@case("message text line of 998 octets + CRLF is accepted and stored intact", stores=1)
def _(k):
    c = k.connect()
    k.transaction(c)
    msg = HEAD + b"short\r\n" + b"L" * 998 + b"\r\nshort\r\n"
    r = k.data(c, msg + b".\r\n")
    k.check(reply_matches(r, "250 2.0.0 Ok: queued as ..."), f"end of data: expected 250 2.0.0 Ok: queued as QID\n    got: {r}")
    if qid_of(r):
        data, why = stored(qid_of(r))
        k.check(data is not None and split_received(data)[1] == msg, f"stored message differs from the sent one {why}")


@case("NUL in a command -> 500 5.5.2 Invalid character in command")
def _(k):
    c = k.connect()
    k.expect(c, b"NOOP\x00\r\n", "500 5.5.2 Invalid character in command")
    k.expect(c, b"MAIL FROM:<a@b.ex\x00ample>\r\n", "500 5.5.2 Invalid character in command")
    k.alive(c)


@case("control octets (ESC, bare CR) in a command -> 500 5.5.2 Invalid character in command")
def _(k):
    c = k.connect()
    k.expect(c, b"NOOP \x1b[31m\r\n", "500 5.5.2 Invalid character in command")
    k.expect(c, b"NO\rOP\r\n", "500 5.5.2 Invalid character in command")
    k.alive(c)


@case("command ending in a bare LF -> 500 5.5.2 Command line must end with CRLF")
def _(k):
    c = k.connect()
    k.expect(c, b"NOOP\n", "500 5.5.2 Command line must end with CRLF")
    k.expect(c, b"MAIL FROM:<a@b.example>\n", "500 5.5.2 Command line must end with CRLF")
    k.expect(c, f"RCPT TO:<x@{LOCAL}>", "503 5.5.1 Need MAIL command", "RCPT after the bare-LF MAIL (it was not executed)")
    k.alive(c)


@case("1001 recipients: the first 1000 get 250 2.1.5, the 1001st 452 4.5.3; the message keeps 1000", stores=1)
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    bad = []
    for start in range(0, 1001, 100):
        batch = range(start, min(start + 100, 1001))
        c.send("".join(f"RCPT TO:<r{i:04d}@{LOCAL}>\r\n" for i in batch))
        for i in batch:
            r = c.reply()
            want = "250 2.1.5 Ok" if i < 1000 else "452 4.5.3 Too many recipients"
            if not reply_matches(r, want):
                bad.append(f"recipient #{i + 1}: expected {want}, got {r}")
            if r.code is None:
                break
    k.check(not bad, f"{len(bad)} wrong RCPT replies, the first ones:\n    " + "\n    ".join(bad[:5]))
    r = k.data(c, HEAD + b"to many\r\n.\r\n")
    k.check(reply_matches(r, "250 2.0.0 Ok: queued as ..."), f"end of data: expected 250 queued as QID\n    got: {r}")
    if qid_of(r):
        rc, out, err = spoolctl("show", qid_of(r))
        n = out.decode(errors="replace").count("    -> <")
        k.check(n == 1000, f"spoolctl show {qid_of(r)} lists {n} recipients, expected 1000")


@case(f"DATA message over max_message_size ({MAX_SIZE}) -> 552 5.3.4 at the end, nothing stored")
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "DATA", DATA_354)
    th, err = sender_thread(c, HEAD + body_of(MAX_SIZE + 64 * 1024) + b".\r\n")
    k.expect(c, None, TOO_BIG, "reply to the oversized message")
    th.join(10)
    k.check(not err, f"sending the message failed: {err}")
    k.alive(c)


@case("BDAT chunks adding up to more than max_message_size -> 552 5.3.4, nothing stored")
def _(k):
    c = k.connect()
    k.transaction(c)
    chunk = body_of(MAX_SIZE * 6 // 10)
    th, err = sender_thread(c, f"BDAT {len(chunk)}\r\n".encode() + chunk)
    k.expect(c, None, f"250 2.0.0 {len(chunk)} octets received", "first chunk (60% of the limit)")
    th.join(10)
    th, err2 = sender_thread(c, f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
    k.expect(c, None, TOO_BIG, "second chunk, LAST (120% of the limit)")
    th.join(10)
    k.check(not err and not err2, f"sending the chunks failed: {err + err2}")
    k.alive(c)


@case("MAIL SIZE= over the limit -> 552 5.3.4")
def _(k):
    c = k.connect()
    k.expect(c, f"MAIL FROM:<a@b.example> SIZE={MAX_SIZE + 1}", TOO_BIG)
    k.alive(c)


@case("pipelining flood: 5000 NOOPs in one send -> 5000 replies 250 2.0.0 Ok in order")
def _(k):
    c = k.connect()
    th, err = sender_thread(c, b"NOOP\r\n" * 5000)
    bad, got = [], 0
    for i in range(5000):
        r = c.reply()
        if r.code is None:
            bad.append(f"reply #{i + 1}: {r}")
            break
        got += 1
        if not reply_matches(r, "250 2.0.0 Ok"):
            bad.append(f"reply #{i + 1}: {r}")
    th.join(10)
    k.check(not bad, f"{got} replies read; wrong ones: {bad[:5]}")
    k.check(not err, f"sending failed: {err}")
    k.no_more(c, 0.5)
    k.alive(c)


@case("max_errors: 10 error replies, then 421 4.7.0 Too many errors and close")
def _(k):
    c = k.connect()
    for i in range(10):
        k.expect(c, f"BOGUS{i}", "500 5.5.1 Command unrecognized", f"bad command #{i + 1}")
    # the 421 comes right after the 10th error reply or as the answer to the next command
    try:
        c.send("BOGUS10\r\n")
    except OSError:
        pass
    k.expect(c, None, "421 4.7.0 <host> Too many errors, closing connection", "after 10 error replies")
    k.check(c.closed_within(5), "the connection was not closed after the 421")


@case("SMTP commands inside DATA are stored as body text, not executed", stores=1)
def _(k):
    c = k.connect()
    k.transaction(c)
    msg = HEAD + (b"RSET\r\nQUIT\r\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<v@" + LOCAL.encode() + b">\r\n"
                  b"DATA\r\nBDAT 5 LAST\r\nSTARTTLS\r\n")
    r = k.data(c, msg + b".\r\n")
    k.check(reply_matches(r, "250 2.0.0 Ok: queued as ..."), f"end of data: expected 250 queued as QID\n    got: {r}")
    k.no_more(c)
    k.alive(c, "after the message (QUIT in the body was not executed)")
    if qid_of(r):
        data, why = stored(qid_of(r))
        k.check(data is not None and split_received(data)[1] == msg, f"stored message differs from the sent one {why}")


@case("DATA with an argument -> 501 5.5.4 Syntax: DATA")
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "DATA now", "501 5.5.4 Syntax: DATA")
    k.alive(c, "after the refused DATA (not in data mode)")


@case("BDAT without MAIL -> 503 5.5.1, the chunk (holding QUIT) is consumed, not executed")
def _(k):
    c = k.connect()
    k.expect(c, b"BDAT 6\r\nQUIT\r\n", "503 5.5.1 ...")
    k.alive(c, "after the refused BDAT")


@case("BDAT LAST with no accepted recipient -> 503 5.5.1 No valid recipients, chunk consumed")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    k.expect(c, f"RCPT TO:<x@{REMOTE}>", "554 5.7.1 Relay access denied")
    k.expect(c, b"BDAT 12 LAST\r\nQUIT\r\nRSET\r\n", "503 5.5.1 No valid recipients")
    k.alive(c, "after the refused BDAT")


@case("BDAT with a non-numeric size -> 501 5.5.4 Syntax: BDAT size [LAST]")
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "BDAT abc", "501 5.5.4 Syntax: BDAT size [LAST]")
    k.expect(c, "BDAT", "501 5.5.4 Syntax: BDAT size [LAST]", "BDAT without size")
    k.alive(c)


@case("BDAT with a negative or 64-bit-overflowing size -> 501 5.5.4")
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "BDAT -5 LAST", "501 5.5.4 Syntax: BDAT size [LAST]")
    k.expect(c, "BDAT 99999999999999999999999 LAST", "501 5.5.4 Syntax: BDAT size [LAST]")
    k.alive(c)


@case("DATA after BDAT in the same transaction -> 503 5.5.1, nothing stored")
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, b"BDAT 5\r\nhello", "250 2.0.0 5 octets received")
    k.expect(c, "DATA", "503 5.5.1 ...")
    k.expect(c, "RSET", "250 2.0.0 Ok")


def received_fields(n):
    return b"".join(b"Received: from h%d.example by relay%d.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i)
                    for i in range(n))


@case("101 Received fields -> 554 5.4.6 Too many Received headers: mail loop")
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, received_fields(101) + HEAD + b"loop\r\n.\r\n")
    want = "554 5.4.6 Too many Received headers: mail loop"
    k.check(reply_matches(r, want), f"end of data: expected {want}\n    got: {r}")


@case("100 Received fields are accepted", stores=1)
def _(k):
    c = k.connect()
    k.transaction(c)
    r = k.data(c, received_fields(100) + HEAD + b"no loop yet\r\n.\r\n")
    k.check(reply_matches(r, "250 2.0.0 Ok: queued as ..."), f"end of data: expected 250 queued as QID\n    got: {r}")


@case("STARTTLS, then garbage instead of a ClientHello -> connection closed", settle=0.3)
def _(k):
    c = k.connect()
    k.expect(c, "STARTTLS", "220 2.0.0 Ready to start TLS")
    c.send(b"this is not a TLS ClientHello\r\n" * 20)
    k.check(c.closed_within(10), "the server did not close the connection within 10 s")


@case("STARTTLS twice -> 503 5.5.1 TLS already active")
def _(k):
    c = k.connect()
    k.tls(c)
    k.expect(c, "STARTTLS", "503 5.5.1 TLS already active")
    k.alive(c)


@case("input pipelined after STARTTLS is discarded (STARTTLS<CRLF>NOOP<CRLF> in one send)")
def _(k):
    c = k.connect()
    k.expect(c, b"STARTTLS\r\nNOOP\r\n", "220 2.0.0 Ready to start TLS")
    c.starttls()   # raises when a plaintext reply to the NOOP already arrived
    r = k.expect(c, "EHLO client.example", "250 <host>", "first reply inside TLS must be the EHLO one")
    k.check(len(r.lines) > 1, f"first reply inside TLS is not the multi-line EHLO reply: {r}")
    k.expect(c, "HELP", "214 2.0.0 See RFC 5321", "HELP after EHLO (a stray NOOP reply would come first)")


@case("STARTTLS with an argument -> 501 5.5.4 Syntax: STARTTLS")
def _(k):
    c = k.connect()
    k.expect(c, "STARTTLS now", "501 5.5.4 Syntax: STARTTLS")
    k.alive(c, "in plaintext afterwards")


@case("AUTH before TLS on port 25 -> 538 5.7.11")
def _(k):
    c = k.connect()
    k.expect(c, "AUTH LOGIN", "538 5.7.11 Encryption required for requested authentication mechanism")
    k.alive(c)


@case("AUTH PLAIN with invalid base64 (after TLS) -> 501 5.5.2 Invalid base64 data")
def _(k):
    c = k.connect(SUBMIT_PORT)
    k.tls(c)
    k.expect(c, "AUTH PLAIN !!!not*base64$$$", "501 5.5.2 Invalid base64 data")
    k.expect(c, "AUTH PLAIN", "334 ...", "AUTH PLAIN without initial response -> 334")
    k.expect(c, "%%%%", "501 5.5.2 Invalid base64 data", "bad base64 as the response to 334")
    k.expect(c, "MAIL FROM:<a@b.example>", "530 5.7.0 Authentication required", "MAIL after the failed AUTH")


@case("AUTH cancelled by '*' -> 501 5.7.0 Authentication cancelled")
def _(k):
    c = k.connect(SUBMIT_PORT)
    k.tls(c)
    k.expect(c, "AUTH LOGIN", "334 ...")
    k.expect(c, "*", "501 5.7.0 Authentication cancelled")
    k.alive(c)


@case("AUTH with an unknown mechanism -> 504 5.5.4 Unrecognized authentication mechanism")
def _(k):
    c = k.connect(SUBMIT_PORT)
    k.tls(c)
    k.expect(c, "AUTH CRAM-MD5", "504 5.5.4 Unrecognized authentication mechanism")
    k.alive(c)


@case("AUTH inside a transaction -> 503 5.5.1")
def _(k):
    c = k.connect()
    k.tls(c)
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    k.expect(c, "AUTH PLAIN " + base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode(), "503 5.5.1 ...")
    k.alive(c)


@case("MAIL with an unknown parameter -> 555 5.5.4 Unsupported parameter")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example> FOO=BAR", "555 5.5.4 Unsupported parameter ...")
    k.alive(c)


@case("MAIL BODY=BINARYMIME -> 504 5.5.4")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example> BODY=BINARYMIME", "504 5.5.4 ...")
    k.alive(c)


@case("MAIL with malformed or duplicate parameter values -> 501 5.5.4")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example> SIZE=abc", "501 5.5.4 ...")
    k.expect(c, "MAIL FROM:<a@b.example> BODY=8BITMIME BODY=7BIT", "501 5.5.4 ...")
    k.expect(c, "MAIL FROM:<a@b.example> ENVID=" + "e" * 101, "501 5.5.4 ...", "ENVID of 101 octets")
    k.expect(c, "MAIL FROM:<a@b.example> RET=SOME", "501 5.5.4 ...")
    k.alive(c)


@case("invalid sender address -> 501 5.1.7 Bad sender address syntax")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a..b@b.example>", "501 5.1.7 Bad sender address syntax")
    k.expect(c, "MAIL FROM:<no-at-sign>", "501 5.1.7 Bad sender address syntax")
    k.alive(c)


@case("invalid recipient address -> 501 5.1.3 Bad recipient address syntax")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    k.expect(c, f"RCPT TO:<.x@{LOCAL}>", "501 5.1.3 Bad recipient address syntax")
    k.expect(c, f"RCPT TO:<x@@{LOCAL}>", "501 5.1.3 Bad recipient address syntax")
    k.alive(c)


@case("RCPT NOTIFY=NEVER,SUCCESS -> 501 5.5.4")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    k.expect(c, f"RCPT TO:<x@{LOCAL}> NOTIFY=NEVER,SUCCESS", "501 5.5.4 ...")
    k.alive(c)


@case("8-bit octets in the MAIL address without SMTPUTF8 -> 501 5.1.7")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<jörg@b.example>", "501 5.1.7 Bad sender address syntax")
    k.alive(c)


@case("8-bit octets in the RCPT address without SMTPUTF8 -> 501 5.1.3")
def _(k):
    c = k.connect()
    k.expect(c, "MAIL FROM:<a@b.example>", "250 2.1.0 Ok")
    k.expect(c, f"RCPT TO:<jörg@{LOCAL}>", "501 5.1.3 Bad recipient address syntax")
    k.alive(c)


@case("client disconnects in the middle of DATA -> nothing stored", settle=0.5)
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "DATA", DATA_354)
    c.send(HEAD + b"half a message\r\nand no end")
    c.close()


@case("client disconnects after CRLF '.' without the final CRLF -> nothing stored", settle=0.5)
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "DATA", DATA_354)
    c.send(HEAD + b"almost done\r\n.")
    c.sock.shutdown(socket.SHUT_WR)
    c.closed_within(2)
    c.close()


@case("client resets the connection (RST) in the middle of DATA -> nothing stored", settle=0.5)
def _(k):
    c = k.connect()
    k.transaction(c)
    k.expect(c, "DATA", DATA_354)
    c.send(HEAD + body_of(200 * 1024))
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


@case("half-sent BDAT chunk, then disconnect -> nothing stored", settle=0.5)
def _(k):
    c = k.connect()
    k.transaction(c)
    c.send(b"BDAT 1000 LAST\r\n" + HEAD + b"x" * 400)
    c.close()


# ---- runner -------------------------------------------------------------------


def run(name, fn, stores, settle):
    k = Case()
    before, why = spool_count()
    if before is None:
        k.fail(f"store count before: {why}")
    try:
        fn(k)
    except Exception as e:
        k.fail(f"the case broke off with {type(e).__name__}: {e}\n    "
               + "\n    ".join(traceback.format_exc().splitlines()[-3:]))
    for c in k.conns:
        c.close()
    if settle:
        time.sleep(settle)
    down = daemon_up()
    if down:
        k.fail(down)
    after, why = spool_count()
    if after is None:
        k.fail(f"store count after: {why}")
    elif before is not None and after - before != stores:
        k.fail(f"store message count: expected {before} + {stores}, got {after}")
    diag = [f"problem: {p}" for p in k.problems]
    if k.problems and k.conns:
        diag.append(k.conns[-1].tail())
    T.ok(not k.problems, name, diag)


def main():
    T.diag(f"spoolgate-smtpd at port {SMTP_PORT}, submission {SUBMIT_PORT}; {len(CASES)} cases")
    if not CA_FILE:
        T.diag("SG_CA_FILE is not set: the TLS cases will fail certificate verification")
    for name, fn, stores, settle in CASES:
        run(name, fn, stores, settle)
    T.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
