#!/usr/bin/env python3
"""smtp_fault_peer.py - an SMTP peer that fails in one way, for the router's fault tests.

Usage: smtp_fault_peer.py --port N --mode MODE

Modes:
  close-after-354  greets, accepts MAIL and RCPT, answers DATA with 354, then closes at once
  endless-reply    greets, then answers EHLO with "250-" and an endless line (1 MiB a second)
  hang-after-dot   a normal dialogue up to the final dot, which it reads and never answers
  hang-in-data     answers DATA with 354 and then reads nothing, ever

Prints "ready <port>" once listening; serves connections until killed, each in a thread, and
appends "conn <n>" to stdout for each one.
"""
import argparse
import socket
import sys
import threading
import time


def line(f):
    got = f.readline()
    return got.rstrip(b"\r\n") if got else None


def dialogue_to_data(conn, f):
    """220 ... 354; False if the client left first."""
    conn.sendall(b"220 fault.peer ESMTP\r\n")
    while True:
        cmd = line(f)
        if cmd is None:
            return False
        verb = cmd[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250-fault.peer\r\n250 PIPELINING\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 2.0.0 Ok\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            return True
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return False
        else:
            conn.sendall(b"502 5.5.1 no\r\n")


def serve(conn, mode):
    f = conn.makefile("rb")
    try:
        if mode == "endless-reply":
            conn.sendall(b"220 fault.peer ESMTP\r\n")
            line(f)
            conn.sendall(b"250-")
            while True:
                conn.sendall(b"x" * 65536)
                time.sleep(0.0625)
        if not dialogue_to_data(conn, f):
            return
        if mode == "close-after-354":
            return
        if mode == "hang-in-data":
            time.sleep(3600)
        while True:  # hang-after-dot: the body up to its dot, then nothing
            got = line(f)
            if got is None or got == b".":
                break
        time.sleep(3600)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", required=True,
                    choices=("close-after-354", "endless-reply", "hang-after-dot", "hang-in-data"))
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(16)
    print(f"ready {a.port}", flush=True)
    n = 0
    while True:
        conn, _ = s.accept()
        n += 1
        print(f"conn {n}", flush=True)
        threading.Thread(target=serve, args=(conn, a.mode), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
