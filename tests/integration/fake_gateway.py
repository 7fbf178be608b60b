#!/usr/bin/env python3
"""fake_gateway.py - stands in for spoolgate-gateway's directory service in smtpd tests.

Speaks the spoolgate IPC framing (common/ipc.h): answers the hello, then
DIR_LOOKUP with DIR_RESULT from a fixed mailbox list, and GW_DELIVER as a gateway whose
postoffice share cannot be reached (every recipient deferred, 4.4.1), or with --hold SECONDS
as one that takes that long over each delivery and then reports it delivered, printing
"outstanding N" for each request taken (how many were unanswered then, itself included).  Usage:
  fake_gateway.py SOCKET MAILBOX[,MAILBOX...] [--major N] [--unavailable] [--hold SECONDS]
"""
import os
import socket
import struct
import sys
import threading
import time

from ipc_frames import f_str, frame, read_frame

HELLO, ERROR, DIR_LOOKUP, DIR_RESULT, END, GW_DELIVER, GW_RESULT = 1, 2, 70, 71, 25, 72, 73
DEFERRED, DELIVERED = 2, 3
outstanding = [0]
outstanding_lock = threading.Lock()


def first_string(body):
    assert body[0:1] == b"S"
    (n,) = struct.unpack(">I", body[1:5])
    return body[5:5 + n].decode()


def answer(conn, req, body, state, status, reply):
    """GW_DELIVER (qid, indexes): each recipient answered with state, status and reply."""
    qid = first_string(body)
    (n,) = struct.unpack(">I", body[1:5])
    indexes = first_string(body[5 + n:])
    out = b""
    for i in indexes.split(","):
        out += frame(GW_RESULT, req, f_str(qid) + b"I" + struct.pack(">I", int(i)) + b"I"
                     + struct.pack(">I", state) + f_str(status) + f_str(reply))
    out += frame(END, req, b"Q" + struct.pack(">Q", len(indexes.split(","))))
    with outstanding_lock:
        conn.sendall(out)


def share_down(conn, req, body):
    answer(conn, req, body, DEFERRED, "4.4.1", "4.4.1 postoffice share unreachable (fake gateway)")


def held(conn, req, body, hold):
    """Answered delivered after hold seconds, on a thread of its own."""
    with outstanding_lock:
        outstanding[0] += 1
        print("outstanding", outstanding[0], flush=True)

    def later():
        time.sleep(hold)
        with outstanding_lock:
            outstanding[0] -= 1
        try:
            answer(conn, req, body, DELIVERED, "2.0.0", "250 2.0.0 written (fake gateway)")
        except OSError:
            pass
    threading.Thread(target=later, daemon=True).start()


def serve(conn, mailboxes, major, unavailable, hold):
    f = conn.makefile("rb")
    hello = (f_str("fake-gateway") + f_str("gateway") + b"I" + struct.pack(">I", major)
             + b"I" + struct.pack(">I", 1) + f_str("") + f_str("directory,deliver")
             + b"Q" + struct.pack(">Q", 0))
    conn.sendall(frame(HELLO, 0, hello))
    if read_frame(f) is None:
        return
    while True:
        fr = read_frame(f)
        if fr is None:
            return
        msg_type, req, body = fr
        if msg_type == GW_DELIVER:
            if hold is None:
                share_down(conn, req, body)
            else:
                held(conn, req, body, hold)
            continue
        if msg_type != DIR_LOOKUP:
            return
        addr = first_string(body)
        local = addr.split("@")[0].lower()
        if unavailable:
            status, box = 2, ""
        elif local in mailboxes:
            status, box = 1, "MS:NET/PO/" + local.upper()
        else:
            status, box = 0, ""
        conn.sendall(frame(DIR_RESULT, req, b"I" + struct.pack(">I", status) + f_str(box)))


def main():
    path, boxes = sys.argv[1], sys.argv[2].lower().split(",")
    major = int(sys.argv[sys.argv.index("--major") + 1]) if "--major" in sys.argv else 1
    unavailable = "--unavailable" in sys.argv
    hold = float(sys.argv[sys.argv.index("--hold") + 1]) if "--hold" in sys.argv else None
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, boxes, major, unavailable, hold), daemon=True).start()


if __name__ == "__main__":
    main()
