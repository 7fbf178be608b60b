"""smtp_parked.py - sessions parked in DATA/BDAT (smtpd-parked.sh, smtpd-staging.sh): park them, send one fresh message, count a process's Unix sockets.

park SPEC RELEASE: open the sessions SPEC names ("data0:400,small:588,big:6,bdat:6": DATA and
    nothing, DATA and a few lines, DATA and 70 KB, BDAT 200000 and 10 KB), from the loopback
    addresses in SG_SOURCES, and stall them; "# parked" once they are; when the file RELEASE
    appears, check each is still open and was not answered, and close them.
fresh RCPT [SIZE]: one message to RCPT (SIZE octets of body) in a fresh session: prints the
    reply to the end of data and how long it took ("250 2.0.0 Ok: queued as X 0.1").
unix PID: how many Unix-domain sockets process PID holds (its store connections).
"""
import os
import socket
import sys
import time

import tap
from smtp_raw import RawClient

PORT = int(os.environ.get("SG_SMTP_PORT", "25"))
SOURCES = os.environ.get("SG_SOURCES", "127.0.0.1").split()


class Parked(RawClient):
    def __init__(self, kind, source):
        super().__init__(PORT, source, timeout=15)
        self.kind = kind

    def start(self):
        """Greeting to the body's first octets; '' when parked as planned, else what went wrong."""
        if not self.greeting.startswith("220"):
            return f"greeting {self.greeting}"
        last = "BDAT 200000" if self.kind == "bdat" else "DATA"
        self.s.sendall(f"EHLO park.test\r\nMAIL FROM:<park@sender.test>\r\n"
                       f"RCPT TO:<parked@local.test>\r\n{last}\r\n".encode())
        for cmd in ("EHLO", "MAIL", "RCPT"):
            r = self.reply()
            if not r.startswith("250"):
                return f"{cmd}: {r}"
        if self.kind == "bdat":
            self.s.sendall(b"Subject: parked\r\n\r\n" + (b"b" * 76 + b"\r\n") * 130)
            return ""
        r = self.reply()
        if not r.startswith("354"):
            return f"DATA: {r}"
        if self.kind == "small":
            self.s.sendall(b"Subject: parked\r\n\r\nhello, I stall here\r\n")
        elif self.kind == "big":
            self.s.sendall(b"Subject: parked big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 900)
        return ""

    def silent(self):
        """Still open and not answered since the body began."""
        self.s.setblocking(False)
        try:
            got = self.s.recv(200)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if got:
            tap.diag(f"{self.kind} session answered: {got[:80]!r}")
        return False


def park(spec, release):
    kinds = []
    for part in spec.split(","):
        kind, n = part.split(":")
        kinds += [kind] * int(n)
    sessions, problems = [], {}
    t0 = time.time()
    for i, kind in enumerate(kinds):
        try:
            p = Parked(kind, SOURCES[i % len(SOURCES)])
            why = p.start()
        except OSError as e:
            why = f"{type(e).__name__}: {e}"
        if why:
            problems[why] = problems.get(why, 0) + 1
        else:
            sessions.append(p)
    tap.ok(not problems, f"{len(kinds)} sessions ({spec}) parked in DATA/BDAT from "
           f"{len(SOURCES)} addresses in {time.time() - t0:.1f} s",
           [f"{n} x {why}" for why, n in problems.items()])
    print("# parked", flush=True)
    for _ in range(1200):
        if os.path.exists(release):
            break
        time.sleep(0.1)
    loud = sum(1 for p in sessions if not p.silent())
    tap.ok(loud == 0, f"every parked session is still open and unanswered ({loud} are not)")
    for p in sessions:
        p.s.close()


def fresh(rcpt, size):
    t0 = time.time()
    s = RawClient(PORT, SOURCES[0])
    s.s.sendall(f"EHLO fresh.test\r\nMAIL FROM:<fresh@sender.test>\r\nRCPT TO:<{rcpt}>\r\n"
                f"DATA\r\n".encode())
    replies = [s.reply() for _ in range(4)]
    if not replies[3].startswith("354"):
        print(f"{replies[3]} {time.time() - t0:.1f}")
        return
    body = b"Subject: fresh\r\n\r\n" + (b"y" * 76 + b"\r\n") * (size // 78) + b".\r\n"
    s.s.sendall(body)
    print(f"{s.reply()} {time.time() - t0:.1f}")
    s.s.sendall(b"QUIT\r\n")
    s.s.close()


def unix_sockets(pid):
    inodes = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            inodes.add(line.split()[6])
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            n += 1
    print(n)


if __name__ == "__main__":
    if sys.argv[1] == "park":
        tap.run("park", lambda: park(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "fresh":
        fresh(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 100)
    else:
        unix_sockets(sys.argv[2])
