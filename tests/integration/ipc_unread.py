#!/usr/bin/env python3
"""ipc_unread.py - a store client that pipelines requests and never reads the answers.

Usage: ipc_unread.py SOCKET QID COUNT

Says hello asking for the "read" capability, sends COUNT READ_ENVELOPE requests for QID in one
go, and prints "sent COUNT" once they are all written (the store may stop reading: the rest then
waits in the kernel and the script waits with it, up to 10 s, printing "sent N" for what went).
It then sleeps until killed, reading nothing.
"""
import socket
import sys
import time

from ipc_frames import f_str, f_u32, f_u64, frame

HELLO, READ_ENVELOPE = 1, 20


def main():
    path, qid, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(path)
    conn.sendall(frame(HELLO, 0, f_str("ipc_unread.py") + f_str("unread") + f_u32(1) + f_u32(2)
                       + f_str("read") + f_str("") + f_u64(0)))
    conn.settimeout(10)
    sent = 0
    try:
        for i in range(count):
            conn.sendall(frame(READ_ENVELOPE, i + 1, f_str(qid)))
            sent += 1
    except OSError:
        pass
    print(f"sent {sent}", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
