#!/usr/bin/env python3
"""notify_listen.py - a fake systemd NOTIFY_SOCKET: logs each notification; on READY=1 it tries the TCP port at once.

  notify_listen.py SOCKET PORT LOG     one line per datagram: "READY=1 accepts=yes|no", "RELOADING=1", ...
"""
import os
import socket
import sys


def main():
    path, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(path):
        os.unlink(path)
    s.bind(path)
    s.settimeout(60)
    with open(log, "a", buffering=1) as out:
        while True:
            try:
                data = s.recv(4096).decode(errors="replace")
            except socket.timeout:
                return 0
            states = [line for line in data.split("\n") if line and not line.startswith("MONOTONIC_USEC=")]
            for st in states:
                if st == "READY=1":
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        st += " accepts=yes"
                    except OSError:
                        st += " accepts=no"
                out.write(st + "\n")


if __name__ == "__main__":
    sys.exit(main())
