#!/usr/bin/env python3
"""smtp_reload.py - a helper for smtpd-reload.sh: STARTTLS sessions that report the certificate, one held open across a reload.

  smtp_reload.py PORT fingerprint          -> prints the SHA-256 of the certificate a new STARTTLS session gets
  smtp_reload.py PORT hold FIFO_DIR        -> starts TLS, prints its fingerprint, then waits for FIFO_DIR/go to
                                              exist and prints the reply to NOOP sent in that same session
  smtp_reload.py PORT rcpt ADDRESS         -> prints the reply to RCPT TO:<ADDRESS> (plain session)
"""
import hashlib
import os
import smtplib
import sys
import time

from smtp_raw import starttls_session


def tls_session(port):
    s, der = starttls_session(port, "reload.example")
    return s, hashlib.sha256(der).hexdigest()


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "fingerprint":
        s, fp = tls_session(port)
        print(fp)
        s.quit()
    elif mode == "hold":
        s, fp = tls_session(port)
        print(fp, flush=True)
        go = os.path.join(sys.argv[3], "go")
        for _ in range(300):
            if os.path.exists(go):
                break
            time.sleep(0.1)
        code, text = s.noop()
        print(code, text.decode(errors="replace"), flush=True)
        s.quit()
    elif mode == "rcpt":
        s = smtplib.SMTP("127.0.0.1", port, timeout=10)
        s.ehlo("reload.example")
        s.mail("a@sender.test")
        code, text = s.rcpt(sys.argv[3])
        print(code, text.decode(errors="replace"))
        s.quit()
    return 0


sys.exit(main())
