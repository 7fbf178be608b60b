#!/usr/bin/env python3
"""ipc_submit.py - one submission to the store over raw IPC frames, bypassing every client-side check.

  ipc_submit.py SOCKET --sender S --rcpt R [--rcpt R ...] [--orcpt O] [--envid E]

Prints one line: "SUBMITTED <qid>" or "ERROR <code> <text>" (control characters in the text shown as '?').
For the tests that prove the store itself refuses what no client should send.
"""
import argparse
import socket
import struct
import sys

HELLO, ERROR, SUBMIT_BEGIN, STARTED, SUBMIT_RCPT, SUBMIT_CHUNK, SUBMIT_COMMIT, SUBMITTED = 1, 2, 10, 11, 12, 13, 14, 16


def s_(text):
    b = text.encode("utf-8", "surrogateescape")
    return b"S" + struct.pack(">I", len(b)) + b


def u32(v):
    return b"I" + struct.pack(">I", v)


def u64(v):
    return b"Q" + struct.pack(">Q", v)


def frame(kind, req, body):
    payload = struct.pack(">HI", kind, req) + body
    return struct.pack(">I", len(payload)) + payload


def read_frame(f):
    head = f.read(4)
    if len(head) < 4:
        return None, b""
    (n,) = struct.unpack(">I", head)
    payload = f.read(n)
    kind, _req = struct.unpack(">HI", payload[:6])
    return kind, payload[6:]


def fields(body):
    out, i = [], 0
    while i < len(body):
        tag = body[i:i + 1]
        if tag == b"I":
            out.append(struct.unpack(">I", body[i + 1:i + 5])[0]); i += 5
        elif tag == b"Q":
            out.append(struct.unpack(">Q", body[i + 1:i + 9])[0]); i += 9
        else:
            (n,) = struct.unpack(">I", body[i + 1:i + 5])
            out.append(body[i + 5:i + 5 + n].decode(errors="replace")); i += 5 + n
    return out


def shown(text):
    return "".join("?" if ord(ch) < 0x20 or ord(ch) == 0x7f else ch for ch in text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--sender", required=True)
    ap.add_argument("--rcpt", action="append", required=True)
    ap.add_argument("--orcpt", default="")
    ap.add_argument("--envid", default="")
    a = ap.parse_args()
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(a.socket)
    f = conn.makefile("rb")
    conn.sendall(frame(HELLO, 0, s_("ipc_submit.py") + s_("submit") + u32(1) + u32(2) + s_("submit") + s_("") + u64(0)))
    kind, _ = read_frame(f)
    if kind != HELLO:
        print("ERROR 0 no hello from the store")
        return 1
    body = b"Subject: raw\r\n\r\nraw submission\r\n"
    out = frame(SUBMIT_BEGIN, 1, s_(a.sender) + s_(a.envid) + u32(0) + u32(0) + s_(""))
    for r in a.rcpt:
        out += frame(SUBMIT_RCPT, 0, s_(r) + s_(a.orcpt) + u32(0))
    out += frame(SUBMIT_CHUNK, 0, b"B" + struct.pack(">I", len(body)) + body)
    out += frame(SUBMIT_COMMIT, 2, u64(len(body)))
    conn.sendall(out)
    while True:
        kind, payload = read_frame(f)
        if kind is None:
            print("ERROR 0 the store closed the connection")
            return 1
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
