#!/usr/bin/env python3
"""store_bulk_order.py - a read is not kept waiting behind every session's commit: many large commits at once, then one READ_BODY.

  store_bulk_order.py SOCKET SESSIONS OCTETS

Stores one small message, opens SESSIONS connections that each stage a body of OCTETS (none
committed yet), sends all their SUBMIT_COMMITs at once and, 0.01 s later, on another connection a
READ_BODY of the small message.  Prints one line:
  "ORDER before=N committed=M read=ok"
N: commits answered before the read's END arrived, M: commits answered SUBMITTED in all.  With the
worker pool first come, first served, the read waits for every commit queued ahead of it.
"""
import select
import sys
import time

from ipc_frames import connect_store, f_bytes, f_str, f_u32, f_u64, fields, frame, read_frame

ERROR, SUBMIT_BEGIN, STARTED, SUBMIT_RCPT, SUBMIT_CHUNK, SUBMIT_COMMIT, SUBMITTED = 2, 10, 11, 12, 13, 14, 16
READ_BODY, CHUNK, END = 23, 24, 25
SMALL = b"Subject: small\r\n\r\nthe message the reader wants\r\n"


def connect(path, caps):
    return connect_store(path, "store_bulk_order.py", "admin", caps, 3, 60)


def stage(conn, body, sender):
    """SUBMIT_BEGIN, one recipient, the body in 64 KiB chunks; the commit frame to send later."""
    out = frame(SUBMIT_BEGIN, 1, f_str(sender) + f_str("") + f_u32(0) + f_u32(0) + f_str(""))
    out += frame(SUBMIT_RCPT, 0, f_str("rcpt@bulk.test") + f_str("") + f_u32(0))
    for i in range(0, len(body), 65536):
        out += frame(SUBMIT_CHUNK, 0, f_bytes(body[i:i + 65536]))
    conn.sendall(out)
    return frame(SUBMIT_COMMIT, 2, f_u64(len(body)))


def answer(f):
    """The next frame that is not SUBMIT_STARTED."""
    while True:
        got = read_frame(f)
        if not got:
            sys.exit("the store closed a connection")
        if got[0] != STARTED:
            return got


def main():
    path, sessions, octets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conn, f = connect(path, "submit,read")
    commit = stage(conn, SMALL, "small@bulk.test")
    conn.sendall(commit)
    got = answer(f)
    if got[0] != SUBMITTED:
        sys.exit(f"the small message was not stored: {fields(got[2])}")
    small_qid = fields(got[2])[0]
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: bulk\r\n\r\n" + line * (octets // len(line))
    writers, commits = [], []
    for i in range(sessions):
        c, cf = connect(path, "submit")
        commits.append(stage(c, body, f"bulk{i}@bulk.test"))
        writers.append((c, cf))
    # Every session's SUBMIT_STARTED, then a moment for the store to take in the chunks after it.
    for c, cf in writers:
        got = read_frame(cf)
        if not got or got[0] != STARTED:
            sys.exit("no SUBMIT_STARTED")
    time.sleep(0.5)
    for (c, cf), commit in zip(writers, commits):
        c.sendall(commit)
    time.sleep(0.01)
    conn.sendall(frame(READ_BODY, 3, f_str(small_qid)))
    pending = {c.fileno(): (c, cf) for c, cf in writers}
    before = committed = 0
    read_ok = None
    got_body = b""
    while pending or read_ok is None:
        socks = [c for c, _ in pending.values()] + ([conn] if read_ok is None else [])
        ready, _, _ = select.select(socks, [], [], 60)
        if not ready:
            sys.exit("no answer in 60 s")
        for s in ready:
            if s is conn:  # CHUNK frames then END, read to the END at once (they come together)
                while read_ok is None:
                    got = read_frame(f)
                    if not got:
                        sys.exit("the reader's connection closed")
                    if got[0] == CHUNK:
                        got_body += got[2][5:]
                    elif got[0] == END:
                        read_ok = got_body == SMALL
                        before = committed
                    elif got[0] == ERROR:
                        sys.exit(f"READ_BODY refused: {fields(got[2])}")
                continue
            c, cf = pending.pop(s.fileno())
            got = answer(cf)
            if got[0] == SUBMITTED:
                committed += 1
            else:
                print(f"# commit refused: {fields(got[2])}")
    print(f"ORDER before={before} committed={committed} read={'ok' if read_ok else 'wrong'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
