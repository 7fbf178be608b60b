"""smtp_staging.py - large messages against the store's staging bounds (smtpd-staging.sh).

  two SIZE: message A sends SIZE octets and waits; B then sends SIZE octets and its end; then A
      ends.  Prints "A <reply>" and "B <reply>".
  one SIZE: one message of SIZE octets; prints its reply.
"""
import os
import sys
import time

from smtp_raw import RawClient

PORT = int(os.environ["SG_SMTP_PORT"])
DOMAIN = os.environ.get("SG_LOCAL_DOMAIN", "local.test")


def opened(tag):
    c = RawClient(PORT)
    for cmd in ("EHLO staging.test", f"MAIL FROM:<{tag}@sender.test>", f"RCPT TO:<{tag}@{DOMAIN}>"):
        r = c.say(cmd)
        if not r.startswith("250"):
            raise SystemExit(f"{tag}: {cmd}: {r}")
    r = c.say("DATA")
    if not r.startswith("354"):
        raise SystemExit(f"{tag}: DATA: {r}")
    return c


def body(tag, size):
    line = tag.encode() * 76 + b"\r\n"
    return f"Subject: staging {tag}\r\n\r\n".encode() + line * (size // len(line))


def main():
    mode, size = sys.argv[1], int(sys.argv[2])
    if mode == "one":
        c = opened("c")
        c.s.sendall(body("c", size))
        print(c.say("."))
        return
    a = opened("a")
    a.s.sendall(body("a", size))
    time.sleep(1)  # A's octets reach the store before B's
    b = opened("b")
    b.s.sendall(body("b", size))
    print("B", b.say("."))
    print("A", a.say("."))


main()
