#!/usr/bin/env python3
"""ipc_caps_probe.py - what a client gets on an IPC socket when it asks for capabilities and sends one request.

  ipc_caps_probe.py SOCKET CAPS [TYPE]

Prints one line: "HELLO-REFUSED <code> <text>" when the server refuses the hello, "HELLO-OK" when it
accepts it and no TYPE is given (a STATS request tells), else for the request of message type TYPE
(sent without fields):
"REFUSED <code> <text>" for an error frame, "ANSWERED <type>" for anything else, "CLOSED" if none came.
"""
import socket
import sys

from ipc_frames import f_str, f_u32, f_u64, fields, frame, read_frame

HELLO, ERROR = 1, 2


def main():
    path, caps = sys.argv[1], sys.argv[2]
    kind = int(sys.argv[3]) if len(sys.argv) > 3 else None
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    conn.connect(path)
    f = conn.makefile("rb")
    conn.sendall(frame(HELLO, 0, f_str("ipc_caps_probe.py") + f_str("probe") + f_u32(1) + f_u32(2)
                       + f_str(caps) + f_str("") + f_u64(0)))
    got = read_frame(f)
    if got and got[0] == ERROR:
        code, text = fields(got[2])[:2]
        print(f"HELLO-REFUSED {code} {text}")
        return 0
    if not got or got[0] != HELLO:
        print("CLOSED")
        return 0
    # The server's hello comes first; its verdict on ours (an error frame for request 0) only
    # once it has read it, so a request follows: STATS when none is given.
    try:
        conn.sendall(frame(kind if kind is not None else 54, 7, b""))
    except OSError:
        pass  # the server may have refused and closed already: its error frame is still there to read
    try:
        got = read_frame(f)
    except OSError:
        got = None
    if got and got[0] == ERROR and got[1] == 0:
        code, text = fields(got[2])[:2]
        print(f"HELLO-REFUSED {code} {text}")
        return 0
    if kind is None:
        print("HELLO-OK")
        return 0
    if not got:
        print("CLOSED")
    elif got[0] == ERROR:
        code, text = fields(got[2])[:2]
        print(f"REFUSED {code} {text}")
    else:
        print(f"ANSWERED {got[0]}")
    return 0


sys.exit(main())
