#!/usr/bin/env python3
"""smtp_say.py - send SMTP commands one by one and print the last line of each reply.

Usage: smtp_say.py PORT COMMAND... ; a COMMAND of "DATA:<text>" sends text
(with \\n turned into CRLF) followed by CRLF.CRLF after a DATA command."""
import socket
import sys


def read_reply(f):
    while True:
        line = f.readline()
        if not line:
            return "(connection closed)"
        if line[3:4] != b"-":
            return line.decode(errors="replace").rstrip("\r\n")


def main():
    port = int(sys.argv[1])
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    print(read_reply(f))
    for cmd in sys.argv[2:]:
        if cmd.startswith("DATA:"):
            s.sendall(b"DATA\r\n")
            print(read_reply(f))
            s.sendall(cmd[5:].replace("\n", "\r\n").encode() + b"\r\n.\r\n")
        else:
            s.sendall(cmd.encode() + b"\r\n")
        print(read_reply(f))


if __name__ == "__main__":
    main()
