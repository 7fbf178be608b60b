#!/usr/bin/env python3
"""smtp_deadlines.py - total deadlines, not idle timers: slowloris clients are cut, patient ones are not; a client that never reads cannot grow smtpd.

Environment: SG_SMTP_PORT, SG_SMTPD_PID, SG_LOCAL_DOMAIN; smtpd configured with command_timeout = 2s,
data_timeout = 2s, data_min_rate = 1000.  Prints TAP.
"""
import os
import socket
import time

from smtp_raw import RawClient
from tap import diag, ok, run

PORT = int(os.environ["SG_SMTP_PORT"])
PID = os.environ["SG_SMTPD_PID"]
LOCAL = os.environ.get("SG_LOCAL_DOMAIN", "local.test")
DEADLINE = 2.0
# What 20 never-reading sessions may add: about 4.9 MiB measured, 15 MiB before replies counted toward the
# back-pressure.  Under ASan freed memory sits in its quarantine, so RSS says nothing there (SG_SANITIZERS).
GROWTH_MAX_KIB = 10 * 1024
SANITIZERS = bool(os.environ.get("SG_SANITIZERS"))


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client(RawClient):
    def __init__(self):
        super().__init__(PORT)

    def trickle(self, data, gap):
        """Send data one octet per gap seconds until the server cuts us; seconds until it did, or None."""
        t0 = time.monotonic()
        for b in data:
            try:
                self.s.sendall(bytes([b]))
            except OSError:
                break
            time.sleep(gap)
            self.s.setblocking(False)
            try:
                got = self.s.recv(4096)
            except BlockingIOError:
                got = None
            except OSError:
                got = b""
            self.s.setblocking(True)
            self.s.settimeout(15)
            if got is not None:
                self.last = got.decode(errors="replace")
                return time.monotonic() - t0
        return None


def slow_command():
    c = Client()
    took = c.trickle(b"EHLO slowloris.example.com" + b"x" * 60 + b"\r\n", 0.25)
    ok(took is not None and took < DEADLINE + 1.5 and "421 4.4.2" in c.last,
       f"a command line sent one octet per 0.25 s is cut at the {DEADLINE:.0f} s deadline",
       [f"took {took}", f"last: {getattr(c, 'last', '')!r}"])


def slow_data():
    c = Client()
    c.say(b"EHLO t.example")
    c.say(b"MAIL FROM:<a@sender.test>")
    got = c.say(f"RCPT TO:<bob@{LOCAL}>".encode())
    got = c.say(b"DATA")
    ok(got.startswith("354"), f"DATA accepted ({got})")
    took = c.trickle(b"Subject: slow\r\n\r\n" + b"y" * 200, 0.25)
    ok(took is not None and took < DEADLINE + 1.5 and "421 4.4.2" in c.last,
       f"DATA at 4 octets/s (minimum 1000/s) is cut at the deadline, not kept alive by each octet",
       [f"took {took}", f"last: {getattr(c, 'last', '')!r}"])


def patient_client():
    c = Client()
    replies = [c.say(b"EHLO t.example")]
    for cmd in (b"MAIL FROM:<a@sender.test>", f"RCPT TO:<bob@{LOCAL}>".encode(), b"RSET", b"NOOP"):
        time.sleep(DEADLINE * 0.7)
        replies.append(c.say(cmd))
    ok(all(r.startswith("250") for r in replies),
       "a client that waits 1.4 s before each whole command is not cut (each command has its own deadline)",
       replies)
    c.say(b"QUIT")


def fast_big_data():
    c = Client()
    c.say(b"EHLO t.example")
    c.say(b"MAIL FROM:<a@sender.test>")
    c.say(f"RCPT TO:<bob@{LOCAL}>".encode())
    c.say(b"DATA")
    body = b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 3000
    t0 = time.monotonic()
    c.s.sendall(body + b".\r\n")
    got = c.reply()
    ok(got.startswith("250"), f"a 3 MB message sent at full speed is taken ({got}, {time.monotonic() - t0:.2f} s)")
    c.say(b"QUIT")


def never_reading():
    before = rss_kib()
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", PORT), 10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        payload = b"EHLO pipelining.example.com\r\n" * 20000  # 580 KB of commands, replies never read
        sent = 0
        t_end = time.monotonic() + 1.0
        while sent < len(payload) and time.monotonic() < t_end:
            try:
                sent += s.send(payload[sent:sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)
        socks.append(s)
    time.sleep(1.0)
    grew = rss_kib() - before
    diag(f"smtpd RSS {before} KiB before, +{grew} KiB with 20 sessions that pipeline and never read")
    name = f"20 never-reading pipelining sessions grow smtpd by less than {GROWTH_MAX_KIB} KiB (+{grew} KiB)"
    if SANITIZERS:
        ok(True, f"{name} # SKIP RSS is not measurable under ASan (freed memory is quarantined)")
    else:
        ok(grew < GROWTH_MAX_KIB, name)
    for s in socks:
        s.close()


def checks():
    slow_command()
    slow_data()
    patient_client()
    fast_big_data()
    never_reading()
    c = Client()
    ok(c.say(b"NOOP").startswith("250"), "smtpd still answers")


raise SystemExit(run("smtp_deadlines", checks))
