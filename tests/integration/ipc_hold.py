#!/usr/bin/env python3
"""ipc_hold.py - hold many connections to an IPC socket open with given capabilities (store-reserve.sh).

  ipc_hold.py SOCKET CAPS COUNT RELEASE

Opens COUNT connections asking for CAPS, each proven served by one SUBMIT_ABORT (answered OK),
prints "held H refused R" and one "# refused: <text>" line per distinct refusal, then keeps the
held ones open until the file RELEASE appears.
"""
import os
import socket
import sys
import time

from ipc_frames import f_str, f_u32, f_u64, fields, frame, read_frame

HELLO, ERROR, OK, SUBMIT_ABORT = 1, 2, 3, 15


def hold(path, caps):
    """The connection when the server served it, else the text of its refusal."""
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    try:
        conn.connect(path)
        f = conn.makefile("rb")
        conn.sendall(frame(HELLO, 0, f_str("ipc_hold.py") + f_str("hold") + f_u32(1) + f_u32(2)
                           + f_str(caps) + f_str("") + f_u64(0)) + frame(SUBMIT_ABORT, 7, b""))
        while True:
            got = read_frame(f)
            if not got:
                return "closed without an answer"
            if got[0] == ERROR:
                return str(fields(got[2])[1])
            if got[0] == OK and got[1] == 7:
                return conn
    except OSError as e:
        return f"{type(e).__name__}: {e}"


def main():
    path, caps, count, release = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    held, refused = [], {}
    for _ in range(count):
        c = hold(path, caps)
        if isinstance(c, str):
            refused[c] = refused.get(c, 0) + 1
        else:
            held.append(c)
    print(f"held {len(held)} refused {sum(refused.values())}")
    for text, n in refused.items():
        print(f"# refused {n}: {text}")
    sys.stdout.flush()
    for _ in range(600):
        if os.path.exists(release):
            break
        time.sleep(0.1)
    for c in held:
        c.close()
    return 0


sys.exit(main())
