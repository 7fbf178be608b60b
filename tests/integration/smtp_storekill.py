#!/usr/bin/env python3
"""smtp_storekill.py - SMTP load while the store is killed -9 and restarted, as TAP.

    python3 smtp_storekill.py [send]   N threads send for SG_DURATION s; acks to SG_ACKS
    python3 smtp_storekill.py verify   every acknowledged message is in the store, intact
    python3 smtp_storekill.py after    3 new sessions succeed (after the store restart)

The shell wrapper runs "send" in the background, kills the store with -9 mid-way,
restarts it, then runs "verify" and "after".

Environment (lib.sh export_smtp_env): SG_HOST, SG_SMTP_PORT, SG_LOCAL_DOMAIN, SG_SPOOLCTL,
SG_STORE_SOCKET; SG_ACKS (acks file; "QID LEN SHA256" lines, default ./smtp_storekill.acks),
SG_THREADS (default 4), SG_DURATION (seconds, default 6).  The send statistics go to
SG_ACKS.stats (JSON) for "verify".  Every message carries "X-Check: <len> <sha256>" of
its body (the octets after the blank line that ends the header section).
Replies: 250 with a queue id is an ack; 4xx (451, 452, 421 ...) and refused/reset
connections are temporary failures (expected during the outage); anything else,
or a 250 without a queue id, fails the test.  Always exits 0: TAP is the verdict.
"""

import hashlib
import json
import os
import random
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time

from tap import diag, ok, run

HOST = os.environ.get("SG_HOST", "127.0.0.1")
PORT = int(os.environ.get("SG_SMTP_PORT", "25"))
LOCAL = os.environ.get("SG_LOCAL_DOMAIN", "local.test")
SPOOLCTL = os.environ.get("SG_SPOOLCTL", "spoolctl")
STORE_SOCKET = os.environ.get("SG_STORE_SOCKET", "")
ACKS = os.environ.get("SG_ACKS", "smtp_storekill.acks")
STATS = ACKS + ".stats"
THREADS = int(os.environ.get("SG_THREADS", "4"))
DURATION = float(os.environ.get("SG_DURATION", "6"))
AFTER_GRACE = float(os.environ.get("SG_AFTER_GRACE", "5"))
TIMEOUT = 10.0
PER_CONNECTION = 5          # messages per SMTP session before QUIT

def make_message(rng, tid, k):
    """A message whose X-Check header holds the length and sha256 of its body."""
    lines = []
    size = rng.randint(200, 64 * 1024)
    total = 0
    while total < size:
        n = rng.randint(0, 200)
        text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 .,-") for _ in range(n))
        if rng.random() < 0.05:
            text = "." + text          # exercises dot-stuffing (smtplib stuffs, smtpd unstuffs)
        line = text.encode() + b"\r\n"
        lines.append(line)
        total += len(line)
    body = b"".join(lines)
    sha = hashlib.sha256(body).hexdigest()
    head = (f"From: load{tid}@client.example\r\nTo: x@{LOCAL}\r\nSubject: storekill t{tid} #{k}\r\n"
            f"X-Check: {len(body)} {sha}\r\n\r\n").encode()
    return head + body, len(body), sha


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0               # messages whose final dot was sent
        self.acked = 0
        self.temp = {}              # 4xx code -> count
        self.conn_fail = {}         # exception type -> count (refused, reset, closed)
        self.timeouts = 0
        self.failures = []          # permanent failures / protocol violations (first ones)
        self.fail_count = 0

    def temp_reply(self, code):
        with self.lock:
            self.temp[str(code)] = self.temp.get(str(code), 0) + 1

    def conn_error(self, e):
        with self.lock:
            if isinstance(e, (socket.timeout, TimeoutError)):
                self.timeouts += 1
            name = type(e).__name__
            self.conn_fail[name] = self.conn_fail.get(name, 0) + 1

    def failure(self, text):
        with self.lock:
            self.fail_count += 1
            if len(self.failures) < 20:
                self.failures.append(text)


def check_reply(stats, stage, code, resp):
    """True when the transaction may go on (2xx/3xx as expected); counts 4xx, records 5xx."""
    if code in (250, 354):
        return True
    text = resp.decode(errors="replace") if isinstance(resp, bytes) else str(resp)
    if 400 <= code < 500:
        stats.temp_reply(code)
    else:
        stats.failure(f"{stage}: {code} {text}")
    return False


def worker(tid, deadline, stats, acks, acks_lock):
    rng = random.Random(tid * 7919 + int(time.time()))
    k = 0
    while time.time() < deadline:
        s = None
        try:
            s = smtplib.SMTP(HOST, PORT, timeout=TIMEOUT)
            code, resp = s.ehlo(f"load{tid}.example")
            if not check_reply(stats, "EHLO", code, resp):
                raise smtplib.SMTPServerDisconnected("EHLO refused")
            for _ in range(PER_CONNECTION):
                if time.time() >= deadline:
                    break
                k += 1
                msg, length, sha = make_message(rng, tid, k)
                if not check_reply(stats, "MAIL", *s.mail(f"load{tid}@client.example")):
                    break
                if not check_reply(stats, f"RCPT", *s.rcpt(f"x@{LOCAL}")):
                    break
                try:
                    code, resp = s.data(msg)
                except smtplib.SMTPDataError as e:      # DATA itself refused
                    check_reply(stats, "DATA", e.smtp_code, e.smtp_error)
                    break
                with stats.lock:
                    stats.sent += 1
                if not check_reply(stats, "end of data", code, resp):
                    break
                m = re.search(rb"queued as (\S+)", resp)
                if not m:
                    stats.failure(f"end of data: 250 without a queue id: {resp!r}")
                    break
                with acks_lock:
                    acks.write(f"{m.group(1).decode()} {length} {sha}\n")
                    acks.flush()
                with stats.lock:
                    stats.acked += 1
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
        except smtplib.SMTPConnectError as e:           # greeting was not 220 (421 4.3.0 ...)
            check_reply(stats, "greeting", e.smtp_code, e.smtp_error)
        except smtplib.SMTPResponseException as e:
            check_reply(stats, "reply", e.smtp_code, e.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as e:   # refused, reset, closed, timeout
            stats.conn_error(e)
        except Exception as e:
            stats.failure(f"unexpected {type(e).__name__}: {e}")
        finally:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        time.sleep(0.02)      # do not spin while the store is down


def mode_send():
    stats = Stats()
    acks_lock = threading.Lock()
    deadline = time.time() + DURATION
    with open(ACKS, "a") as acks:
        threads = [threading.Thread(target=worker, args=(t, deadline, stats, acks, acks_lock), daemon=True)
                   for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(DURATION + 4 * TIMEOUT)
    summary = {"sent": stats.sent, "acked": stats.acked, "temp": stats.temp, "conn_fail": stats.conn_fail,
               "timeouts": stats.timeouts, "fail_count": stats.fail_count, "failures": stats.failures}
    with open(STATS, "w") as f:
        json.dump(summary, f, indent=1)
    temp = sum(stats.temp.values())
    diag(f"{THREADS} threads for {DURATION:g} s: {stats.sent} messages sent, {stats.acked} acknowledged, "
         f"{temp} 4xx replies {stats.temp}, connection failures {stats.conn_fail}")
    ok(stats.fail_count == 0,
       "every reply during the store outage was 250 with a queue id, 4xx, or a refused/reset connection",
       [f"{stats.fail_count} bad replies, the first ones:"] + stats.failures)
    ok(stats.timeouts == 0, f"no SMTP reply took longer than {TIMEOUT:g} s",
       [f"{stats.timeouts} timeouts (smtpd hangs instead of answering 4xx while the store is down?)"])


def read_acks():
    acks = []
    try:
        with open(ACKS) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    acks.append((parts[0], int(parts[1]), parts[2]))
    except OSError as e:
        diag(f"cannot read {ACKS}: {e}")
    return acks


def check_stored(qid, length, sha):
    """None when the stored message is intact, else what is wrong."""
    p = subprocess.run([SPOOLCTL, "-s", STORE_SOCKET, "cat", qid], capture_output=True, timeout=60)
    if p.returncode != 0:
        return f"{qid}: missing (spoolctl cat: {p.stderr.decode(errors='replace').strip()})"
    data = p.stdout
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return f"{qid}: no end of header section in {len(data)} stored octets"
    m = re.search(rb"(?m)^X-Check: (\d+) ([0-9a-f]{64})\r?$", head)
    got = hashlib.sha256(body).hexdigest()
    if len(body) != length or got != sha:
        return f"{qid}: body {len(body)} octets sha256 {got[:16]}..., acked {length} {sha[:16]}..."
    if not m or int(m.group(1)) != length or m.group(2).decode() != sha:
        return f"{qid}: X-Check header missing or not matching the ack"
    return None


def mode_verify():
    acks = read_acks()
    problems = [p for p in (check_stored(*a) for a in acks) if p]
    qids = [a[0] for a in acks]
    dups = len(qids) - len(set(qids))
    if dups:
        problems.append(f"{dups} queue ids were acknowledged more than once")
    ok(acks and not problems, f"{len(acks)} acknowledged messages all present and intact",
       ([] if acks else [f"no acknowledged messages in {ACKS}: the load did not get through at all"])
       + [f"{len(problems)} problems, the first ones:"] + problems[:10])
    try:
        with open(STATS) as f:
            st = json.load(f)
    except (OSError, ValueError) as e:
        ok(False, "some replies were 4xx during the outage", [f"cannot read {STATS}: {e}"])
        return
    temp = sum(st.get("temp", {}).values())
    ok(temp > 0, f"some replies were 4xx during the outage ({temp}: {st.get('temp')})",
       [f"no 4xx reply at all; connection failures {st.get('conn_fail')}, sent {st.get('sent')}, "
        f"acked {st.get('acked')}: was the store really killed while the load ran?"])


def send_one(tag):
    """One session with one message: (queue id or None, what happened, length, sha)."""
    msg, length, sha = make_message(random.Random(tag), 99, tag)
    try:
        with smtplib.SMTP(HOST, PORT, timeout=TIMEOUT) as s:
            s.ehlo("after.example")
            code, resp = s.mail("after@client.example")
            if code == 250:
                code, resp = s.rcpt(f"x@{LOCAL}")
            if code == 250:
                code, resp = s.data(msg)
            m = re.search(rb"queued as (\S+)", resp) if code == 250 else None
            return (m.group(1).decode() if m else None), f"{code} {resp.decode(errors='replace')}", length, sha
    except (smtplib.SMTPException, OSError) as e:
        return None, f"{type(e).__name__}: {e}", length, sha


def mode_after():
    results, retries = [], []
    deadline = time.time() + AFTER_GRACE
    qid, what, length, sha = send_one(1)
    while qid is None and time.time() < deadline:     # smtpd may need a moment to reconnect
        retries.append(what)
        time.sleep(0.25)
        qid, what, length, sha = send_one(1)
    results.append((qid, what, length, sha))
    for tag in (2, 3):
        results.append(send_one(tag))
    problems = [f"message {i + 1}: {what}" for i, (qid, what, _, _) in enumerate(results) if qid is None]
    problems += [p for p in (check_stored(q, n, h) for q, _, n, h in results if q) if p]
    if retries:
        diag(f"the first message needed {len(retries)} retries after the restart; last: {retries[-1]}")
    ok(not problems, "sessions succeed again after the store restart (3 messages -> 250, stored intact)",
       problems + ([f"retried {len(retries)} times for {AFTER_GRACE:g} s, last: {retries[-1]}"] if retries else []))


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "send"
    modes = {"send": mode_send, "run": mode_send, "verify": mode_verify, "after": mode_after}
    if mode not in modes:
        print(f"usage: {sys.argv[0]} [send|verify|after]", file=sys.stderr)
        return 2
    return run(f"smtp_storekill {mode}", modes[mode])


if __name__ == "__main__":
    sys.exit(main())
