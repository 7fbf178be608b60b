#!/usr/bin/env python3
"""latency_probe.py - one SMTP session sending one message at a time; records the time from the final dot to its 250.

  latency_probe.py --port P --size BYTES --ready FILE --stop FILE --out FILE [--interval SECONDS]

Connects, EHLOs, then writes FILE --ready; from then on it sends messages of about BYTES octets of body
(as smtp-source -l does: headers, then lines of X) one after another, pausing --interval between them,
until FILE --stop exists (then it finishes the message in flight) or SIGTERM comes (then it does not).  Each latency is taken from the moment the final "." line is
written until the 250 for it has been read (the body before it is written with sendall, so the clock
starts when the server has been handed all of the message but the dot).  A message answered otherwise,
or a broken session, counts as failed and the session is opened again.  At the end one line goes to --out:
"samples S failed F p50 MS p99 MS": S messages answered 250 (each one latency sample, and each one
a message the sink gets on top of the load), F failed; p50/p99 nearest rank, in ms ("-" without samples).
"""
import argparse
import math
import os
import signal
import socket
import time

class Stopped(Exception):
    pass


def on_term(signum, frame):
    raise Stopped()  # even from a blocking read: the message in flight is given up, the rest reported


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        # Without it the lone dot waits for the ACK of the body (Nagle) and the server's delayed ACK adds 40 ms.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.reply()  # greeting
        self.command(b"EHLO probe.bench.test")

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        while True:
            line = self.line()
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3])

    def command(self, text, want=250):
        self.sock.sendall(text + b"\r\n")
        code = self.reply()
        if code != want:
            raise OSError(f"{text.split()[0].decode()} answered {code}")

    def message(self, body):
        """Send one message; returns the seconds from the final dot to the 250."""
        self.command(b"MAIL FROM:<probe@bench.test>")
        self.command(b"RCPT TO:<probe@relay.test>")
        self.command(b"DATA", 354)
        self.sock.sendall(body)
        start = time.monotonic()
        self.sock.sendall(b".\r\n")
        code = self.reply()
        took = time.monotonic() - start
        if code != 250:
            raise OSError(f"end of DATA answered {code}")
        return took

    def close(self):
        try:
            self.sock.sendall(b"QUIT\r\n")
            self.reply()
        except OSError:
            pass
        self.sock.close()


def body_for(size, i):
    head = (f"From: <probe@bench.test>\r\nTo: <probe@relay.test>\r\n"
            f"Message-Id: <probe.{os.getpid()}.{i}@bench.test>\r\nSubject: latency probe {i}\r\n\r\n")
    line = b"X" * 78 + b"\r\n"
    lines, rest = divmod(size, len(line))
    return head.encode() + line * lines + (b"X" * max(rest - 2, 0) + b"\r\n" if rest else b"")


def percentile(sorted_values, p):
    return sorted_values[max(math.ceil(p * len(sorted_values)) - 1, 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.05)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    session = Session(a.port)
    open(a.ready, "w").close()
    took, failed, i = [], 0, 0
    try:
        while not os.path.exists(a.stop):
            i += 1
            try:
                if session is None:
                    session = Session(a.port)
                took.append(session.message(body_for(a.size, i)))
            except OSError:
                failed += 1
                if session is not None:
                    session.sock.close()
                session = None
                time.sleep(0.5)
            time.sleep(a.interval)
        if session is not None:
            session.close()
    except Stopped:
        pass
    took.sort()
    p50 = f"{percentile(took, 0.50) * 1000:.1f}" if took else "-"
    p99 = f"{percentile(took, 0.99) * 1000:.1f}" if took else "-"
    with open(a.out, "w") as out:
        out.write(f"samples {len(took)} failed {failed} p50 {p50} p99 {p99}\n")


if __name__ == "__main__":
    main()
