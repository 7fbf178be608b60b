#!/usr/bin/env python3
"""ipc_caps_probe.py - what a client gets on an IPC socket when it asks for capabilities and sends one request.

  ipc_caps_probe.py [--as USER | --as-ids UID:GID[:GROUP,...]] SOCKET CAPS [TYPE]

--as and --as-ids (run as root) first become that user (its groups) or those ids, so the server
sees them by SO_PEERCRED.  A connection the socket's file mode refuses prints "CONNECT-REFUSED <error>".

Prints one line: "HELLO-REFUSED <code> <text>" when the server refuses the hello, "HELLO-OK" when it
accepts it and no TYPE is given (a STATS request tells), else for the request of message type TYPE
(sent without fields):
"REFUSED <code> <text>" for an error frame, "ANSWERED <type>" for anything else, "CLOSED" if none came.
"""
import grp
import os
import pwd
import socket
import sys

from ipc_frames import f_str, f_u32, f_u64, fields, frame, read_frame

HELLO, ERROR = 1, 2


def become(args):
    """Drop to the user or ids an --as / --as-ids option names; the rest of args."""
    if args and args[0] == "--as":
        pw = pwd.getpwnam(args[1])
        os.initgroups(pw.pw_name, pw.pw_gid)
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        return args[2:]
    if args and args[0] == "--as-ids":
        parts = args[1].split(":")
        groups = [grp.getgrnam(g).gr_gid for g in parts[2].split(",")] if len(parts) > 2 else []
        os.setgroups(groups)
        os.setgid(int(parts[1]))
        os.setuid(int(parts[0]))
        return args[2:]
    return args


def main():
    args = become(sys.argv[1:])
    path, caps = args[0], args[1]
    kind = int(args[2]) if len(args) > 2 else None
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    try:
        conn.connect(path)
    except OSError as e:
        print(f"CONNECT-REFUSED {e.strerror}")
        return 0
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
