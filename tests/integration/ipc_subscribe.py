#!/usr/bin/env python3
"""ipc_subscribe.py - what an events subscriber of the store gets after a new message is committed.

  ipc_subscribe.py SOCKET messages|events SENDER RCPT...

Subscribes (SUBSCRIBE_MESSAGES or SUBSCRIBE), submits one message to the same store on a second
connection, and prints what followed its COMMITTED event, one line per frame:
"EVENT <kind> <qid>", "ENVELOPE <qid> <sender> <nrcpt>", "RCPT <qid> <index> <addr> <state>",
"END <count>"; then "NEXT EVENT" when the next frame is the event of a second submission.
"""
import sys

from ipc_frames import connect_store, f_bytes, f_str, f_u32, f_u64, fields, frame, read_frame

OK, SUBMIT_BEGIN, SUBMIT_RCPT, SUBMIT_CHUNK, SUBMIT_COMMIT, SUBMITTED = 3, 10, 12, 13, 14, 16
ENVELOPE, RCPT, END, SUBSCRIBE, EVENT, SUBSCRIBE_MESSAGES = 21, 22, 25, 60, 61, 62


def connect(path, caps):
    return connect_store(path, "ipc_subscribe.py", "probe", caps, 4, 10)


def submit(path, sender, rcpts):
    conn, f = connect(path, "submit")
    body = b"Subject: events\r\n\r\nnew message\r\n"
    out = frame(SUBMIT_BEGIN, 1, f_str(sender) + f_str("") + f_u32(0) + f_u32(0) + f_str(""))
    for r in rcpts:
        out += frame(SUBMIT_RCPT, 0, f_str(r) + f_str("") + f_u32(0))
    out += frame(SUBMIT_CHUNK, 0, f_bytes(body)) + frame(SUBMIT_COMMIT, 2, f_u64(len(body)))
    conn.sendall(out)
    while True:
        got = read_frame(f)
        if not got:
            sys.exit("the store closed the submission")
        if got[0] == SUBMITTED:
            conn.close()
            return fields(got[2])[0]


def main():
    path, mode, sender, rcpts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    conn, f = connect(path, "events")
    conn.sendall(frame(SUBSCRIBE_MESSAGES if mode == "messages" else SUBSCRIBE, 7, b""))
    got = read_frame(f)
    if not got or got[0] != OK:
        print(f"SUBSCRIBE answered {got[0] if got else 'nothing'}")
        return 1
    submit(path, sender, rcpts)
    printed_event = False
    while True:
        got = read_frame(f)
        if not got:
            print("CLOSED")
            return 1
        kind, req, v = got[0], got[1], fields(got[2])
        if req != 0:
            print(f"FRAME {kind} for request {req}")
        elif kind == EVENT and printed_event:
            print("NEXT EVENT")
            return 0
        elif kind == EVENT:
            printed_event = True
            print(f"EVENT {v[0]} {v[1]}")
            submit(path, sender, rcpts)  # its event ends the listing
        elif kind == ENVELOPE:
            print(f"ENVELOPE {v[0]} {v[2]} {v[9]}")
        elif kind == RCPT:
            print(f"RCPT {v[0]} {v[1]} {v[2]} {v[5]}")
        elif kind == END:
            print(f"END {v[0]}")
        else:
            print(f"FRAME {kind}")


if __name__ == "__main__":
    sys.exit(main())
