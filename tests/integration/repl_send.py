#!/usr/bin/env python3
"""repl_send.py - send COUNT messages over SMTP, one session each, and print every outcome: "TOKEN CODE QUEUEID-or-reply".

  repl_send.py PORT COUNT TAG [TIMEOUT]

A message answered 250 at the end of DATA prints its queue id; one refused (4xx/5xx at any
step) prints the code and the reply; a session that broke or timed out prints "TOKEN 0 why".
The replicated-store tests keep what got 250 and compare it with what each site holds.
"""
import smtplib
import sys


def send(port, token, timeout):
    body = (f"From: repl@sender.test\r\nTo: rcpt@ok.test\r\nSubject: {token}\r\n"
            f"Message-ID: <{token}@sender.test>\r\n\r\ntoken {token}\r\n").encode()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as s:
            s.ehlo("repl.client")
            code, msg = s.mail("repl@sender.test")
            if code == 250:
                code, msg = s.rcpt("rcpt@ok.test")
            if code == 250:
                code, msg = s.data(body)
            text = msg.decode(errors="replace")
            return f"{token} {code} {text.split()[-1] if code == 250 else text}"
    except (smtplib.SMTPException, OSError) as e:
        return f"{token} 0 {type(e).__name__}: {e}"


def main():
    port, count, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30
    for i in range(count):
        print(send(port, f"{tag}-{i}", timeout), flush=True)


if __name__ == "__main__":
    main()
