#!/usr/bin/env python3
"""smtp_reset_peer.py - an SMTP peer that accepts a transaction up to the 354, then resets the connection in the body.

Usage: smtp_reset_peer.py --port N [--host 127.0.0.1] [--read BYTES] [--pause SECONDS]

Prints "ready <host> <port>" once listening, then serves connections one at a
time until killed.  Each connection: 220, 250 to EHLO/HELO (PIPELINING and
SIZE, nothing else), 250 to MAIL and RCPT, 354 to DATA; then it reads BYTES
octets of the body (default 65536), stops reading for SECONDS (default 1.0)
so that the client's writes back up, and closes with SO_LINGER 0: a TCP reset
while the client still has body to send, so the client's next write fails.
Every connection appends one line to stdout: "reset after <n> body octets".
"""

import argparse
import socket
import struct
import sys
import time


def reply(conn, text):
    conn.sendall(text.encode() + b"\r\n")


def command_loop(conn, f):
    """Answer commands until DATA got its 354; False if the client went away first."""
    while True:
        line = f.readline()
        if not line:
            return False
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            reply(conn, "250-reset.peer\r\n250-PIPELINING\r\n250 SIZE 104857600")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            reply(conn, "250 2.0.0 Ok")
        elif verb == b"DATA":
            reply(conn, "354 go ahead")
            return True
        elif verb == b"QUIT":
            reply(conn, "221 bye")
            return False
        else:
            reply(conn, "502 5.5.2 not here")


def serve_one(conn, want, pause):
    f = conn.makefile("rb")
    if not command_loop(conn, f):
        return
    got = 0
    while got < want:
        chunk = f.read1(min(65536, want - got))
        if not chunk:
            break
        got += len(chunk)
    time.sleep(pause)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    print("reset after %d body octets" % got, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--read", type=int, default=65536)
    ap.add_argument("--pause", type=float, default=1.0)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small fixed receive buffer (no autotuning, inherited by each connection), so the
    # sender cannot get a large body into the socket buffers before the reset.
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    srv.bind((args.host, args.port))
    srv.listen(8)
    print("ready %s %d" % (args.host, srv.getsockname()[1]), flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            conn.settimeout(30)
            reply(conn, "220 reset.peer ESMTP")
            serve_one(conn, args.read, args.pause)
        except OSError as e:
            print("connection: %s" % e, flush=True)
        finally:
            conn.close()


if __name__ == "__main__":
    sys.exit(main())
