#!/usr/bin/env python3
"""ipc_submit.py - one submission to the store over raw IPC frames, bypassing every client-side check.

  ipc_submit.py SOCKET --sender S --rcpt R [--rcpt R ...] [--orcpt O] [--envid E] [--origin KEY]

Prints one line: "SUBMITTED <qid>" or "ERROR <code> <text>" (control characters in the text shown as '?').
For the tests that prove the store itself refuses what no client should send.
"""
import argparse
import socket
import sys

from ipc_frames import f_bytes, f_str, f_u32, f_u64, fields, frame, read_frame

HELLO, ERROR, SUBMIT_BEGIN, STARTED, SUBMIT_RCPT, SUBMIT_CHUNK, SUBMIT_COMMIT, SUBMITTED = 1, 2, 10, 11, 12, 13, 14, 16


def shown(text):
    return "".join("?" if ord(ch) < 0x20 or ord(ch) == 0x7f else ch for ch in text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("--orcpt", default="")
    ap.add_argument("--envid", default="")
    ap.add_argument("--origin", default="")
    a = ap.parse_args()
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(a.socket)
    f = conn.makefile("rb")
    conn.sendall(frame(HELLO, 0, f_str("ipc_submit.py") + f_str("submit") + f_u32(1) + f_u32(2) + f_str("submit") + f_str("") + f_u64(0)))
    got = read_frame(f)
    if not got or got[0] != HELLO:
        print("ERROR 0 no hello from the store")
        return 1
    body = b"Subject: raw\r\n\r\nraw submission\r\n"
    out = frame(SUBMIT_BEGIN, 1, f_str(a.sender) + f_str(a.envid) + f_u32(0) + f_u32(0) + f_str(a.origin))
    for r in a.rcpt:
        out += frame(SUBMIT_RCPT, 0, f_str(r) + f_str(a.orcpt) + f_u32(0))
    out += frame(SUBMIT_CHUNK, 0, f_bytes(body))
    out += frame(SUBMIT_COMMIT, 2, f_u64(len(body)))
    conn.sendall(out)
    while True:
        got = read_frame(f)
        if not got:
            print("ERROR 0 the store closed the connection")
            return 1
        kind, payload = got[0], got[2]
        if kind == STARTED:
            continue
        if kind == SUBMITTED:
            print(f"SUBMITTED {fields(payload)[0]}")
            return 0
        if kind == ERROR:
            code, text = fields(payload)[:2]
            print(f"ERROR {code} {shown(text)}")
            return 0
        print(f"ERROR 0 unexpected frame type {kind}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
