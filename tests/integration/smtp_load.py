#!/usr/bin/env python3
"""smtp_load.py - send N messages over S concurrent SMTP sessions, each with a unique token; record every 250.

  smtp_load.py --port P --count N --sessions S --rcpt a@x [--rcpt b@x ...] --out FILE [--tag T] [--size BYTES]

Message i goes to rcpt[i % len(rcpt)] and carries the token "<tag>-<i>" in its Subject and its body.
Every message answered 250 at the end of DATA is one line "TOKEN QUEUEID" in --out (written as the
answers come, so a run cut short still says what was accepted).  A message refused with 4xx/5xx, or
whose session broke, is counted and not written.  Prints "sent N accepted A refused R seconds T rate X/s".
"""
import argparse
import smtplib
import sys
import threading
import time


def body_for(tag, i, rcpt, size):
    token = f"{tag}-{i}"
    lines = [f"From: load@sender.test", f"To: {rcpt}", f"Subject: load {token}",
             f"Message-ID: <{token}@sender.test>", "", f"token {token}"]
    text = "\r\n".join(lines) + "\r\n"
    filler = "x" * 70 + "\r\n"
    while len(text) < size:
        text += filler
    return token, text.encode()


def worker(args, indexes, out, lock, stats):
    s = None
    for i in indexes:
        rcpt = args.rcpt[i % len(args.rcpt)]
        token, body = body_for(args.tag, i, rcpt, args.size)
        for attempt in range(2):
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", args.port, timeout=60)
                    s.ehlo("load.client")
                s.mail(args.sender)
                code, msg = s.rcpt(rcpt)
                if code != 250:
                    s.rset()
                    with lock:
                        stats["refused"] += 1
                    break
                code, msg = s.data(body)
                with lock:
                    if code == 250:
                        out.write(f"{token} {msg.decode(errors='replace').split()[-1]}\n")
                        out.flush()
                        stats["accepted"] += 1
                    else:
                        stats["refused"] += 1
                break
            except (smtplib.SMTPException, OSError):
                # A broken session: the message was not acknowledged; one retry on a new session.
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
                s = None
                if attempt == 1:
                    with lock:
                        stats["refused"] += 1
    if s is not None:
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=16)
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("--sender", default="load@sender.test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tag", default="tok")
    ap.add_argument("--size", type=int, default=600)
    args = ap.parse_args()
    stats = {"accepted": 0, "refused": 0}
    lock = threading.Lock()
    start = time.monotonic()
    with open(args.out, "a") as out:
        threads = [threading.Thread(target=worker, args=(args, range(k, args.count, args.sessions), out, lock, stats))
                   for k in range(args.sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    took = time.monotonic() - start
    print(f"sent {args.count} accepted {stats['accepted']} refused {stats['refused']} "
          f"seconds {took:.2f} rate {args.count / took:.0f}/s")
    return 0 if stats["accepted"] + stats["refused"] == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
