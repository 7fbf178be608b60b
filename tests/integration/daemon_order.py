#!/usr/bin/env python3
"""daemon_order.py - a trickle of mail for daemon-order.sh, and the check that none of it was lost or doubled.

  daemon_order.py send PORT DIR STOPFILE SMTP_RCPT PO_RCPT
      every 0.1 s one message over SMTP to 127.0.0.1:PORT with a unique token
      (tok-N-) in its Subject and body, to SMTP_RCPT and PO_RCPT by turns, a
      new session each time, until STOPFILE exists.  Writes DIR/accepted (one
      "token rcpt" a line: 250 to the final dot), DIR/unknown (the session
      broke after the dot was sent: stored or not), DIR/dot-refused ("token
      sent reply code": the dot got 4xx/5xx, unix times of the dot and the
      reply) and DIR/refused counts.
  daemon_order.py verify DIR SINKDIR MAILBOXDIR...
      every accepted token arrives exactly once in SINKDIR/*.eml or a
      mailbox file (*.MSG, *.P1); an unknown one at most once; nothing else
      arrives.  A second copy is accepted only where DIR/kills ("NAME unixtime"
      lines) shows the delivering daemon killed between the two; a message
      whose dot got 4xx/5xx arrives only where the store was killed between
      the dot and that reply (it committed and died before it could say so:
      a client would send it again, as with any MTA).  Each such case is said
      in a comment.  TAP lines on stdout.
"""
import glob
import os
import re
import smtplib
import sys
import time


def send(port, out, stopfile, smtp_rcpt, po_rcpt):
    n = 0
    refused = 0
    with open(os.path.join(out, "accepted"), "a") as acc, open(os.path.join(out, "unknown"), "a") as unk, \
            open(os.path.join(out, "dot-refused"), "a") as dref:
        while not os.path.exists(stopfile):
            n += 1
            tok = "tok-%d-" % n
            rcpt = smtp_rcpt if n % 2 else po_rcpt
            body = ("Subject: %s\r\n\r\ntoken %s\r\n" % (tok, tok)).encode()
            sent_dot = False
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
                    s.ehlo("trickle.test")
                    code, _ = s.mail("alice@sender.test")
                    if code == 250:
                        code, _ = s.rcpt(rcpt)
                    if code == 250:
                        code, _ = s.docmd("DATA")
                    if code == 354:
                        sent_dot = True
                        dot_at = time.time()
                        s.send(body + b".\r\n")
                        code, _ = s.getreply()
                        sent_dot = code // 100 != 4 and code // 100 != 5
                        if not sent_dot:
                            dref.write("%s %f %f %d\n" % (tok, dot_at, time.time(), code))
                            dref.flush()
                        if code == 250:
                            acc.write("%s %s\n" % (tok, rcpt))
                            acc.flush()
                            sent_dot = False
                    if code != 250:
                        refused += 1
            except (OSError, smtplib.SMTPException):
                refused += 1
            if sent_dot:
                unk.write("%s %s\n" % (tok, rcpt))
                unk.flush()
            time.sleep(0.1)
    with open(os.path.join(out, "refused"), "w") as f:
        f.write("%d %d\n" % (refused, n))


def arrived(sinkdir, boxes):
    seen = {}
    files = glob.glob(os.path.join(sinkdir, "*.eml"))
    for b in boxes:
        files += glob.glob(os.path.join(b, "*.MSG")) + glob.glob(os.path.join(b, "*.P1"))
    for f in files:
        data = open(f, "rb").read().decode("latin-1")
        for tok in set(re.findall(r"token (tok-\d+-)", data)):
            seen.setdefault(tok, []).append(f)
    return seen


def crash_explains(out, files):
    """A second copy is explained by a SIGKILL of the daemon delivering it, between the copies:
    the delivery was made and the kill came before it was recorded (at least once, by design)."""
    try:
        kills = [line.split() for line in open(os.path.join(out, "kills"))]
    except FileNotFoundError:
        return None
    times = sorted(os.stat(f).st_mtime for f in files)
    if len(times) != 2:
        return None
    who = "ROUTER" if files[0].endswith(".eml") else "GATEWAY"
    for name, t in kills:
        if name in (who, "ROUTER") and times[0] <= float(t) + 1.0 and float(t) <= times[1]:
            return "first copy before the %s was killed at %s, again after it" % (name.lower(), t)
    return None


def store_kill_explains(out, tok):
    """A message stored although its dot got 4xx/5xx: the store was killed after it committed and
    before its answer reached smtpd, between the dot and the reply."""
    try:
        kills = [line.split() for line in open(os.path.join(out, "kills"))]
        refused = {f[0]: f for f in (line.split() for line in open(os.path.join(out, "dot-refused")))}
    except FileNotFoundError:
        return None
    if tok not in refused:
        return None
    _, dot_at, reply_at, code = refused[tok]
    for name, t in kills:
        if name == "STORE" and float(dot_at) - 0.5 <= float(t) <= float(reply_at) + 0.5:
            return "its dot got %s, the store was killed at %s between the dot and the reply" % (code, t)
    return None


def verify(out, sinkdir, boxes):
    def tokens(name):
        try:
            return [line.split()[0] for line in open(os.path.join(out, name)) if line.strip()]
        except FileNotFoundError:
            return []

    acc, unk = tokens("accepted"), set(tokens("unknown"))
    seen = arrived(sinkdir, boxes)
    lost = [t for t in acc if t not in seen]
    doubled = {t: f for t, f in seen.items() if len(f) > 1}
    explained = {t: why for t, f in doubled.items() if (why := crash_explains(out, f))}
    for t, why in explained.items():
        print("# %s arrived twice: %s" % (t, why))
    doubled = {t: f for t, f in doubled.items() if t not in explained}
    stray = [t for t in seen if t not in acc and t not in unk]
    for t in list(stray):
        why = store_kill_explains(out, t)
        if why:
            print("# %s arrived though refused: %s" % (t, why))
            stray.remove(t)
    for t in stray:  # what is known of each one left, for whoever reads a failure
        lines = [line.strip() for line in open(os.path.join(out, "dot-refused")) if line.startswith(t + " ")]
        print("# %s arrived, not accepted: dot %s; kills %s" % (t, lines or "not refused", open(
            os.path.join(out, "kills")).read().split("\n") if os.path.exists(os.path.join(out, "kills")) else []))
    checks = [
        (len(acc) >= 20, "a trickle of mail was accepted (%d messages, %d with an unknown end)" % (len(acc), len(unk))),
        (not lost, "every accepted message arrived (%d lost: %s)" % (len(lost), " ".join(lost[:10]))),
        (not doubled, "none arrived twice (%s)" % "; ".join("%s: %s" % (t, " ".join(f)) for t, f in list(doubled.items())[:5])),
        (not stray, "nothing arrived that was not sent (%s)" % " ".join(stray[:10])),
    ]
    bad = 0
    for i, (good, text) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if good else "not ok", i, text))
        bad += not good
    return 1 if bad else 0


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "send":
        send(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "verify":
        return verify(sys.argv[2], sys.argv[3], sys.argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
