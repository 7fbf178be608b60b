#!/usr/bin/env python3
"""store_batch.py - LIST_FROM pages and UPDATE_BATCH against a real store, over raw IPC frames (TAP).

  store_batch.py SOCKET STORE_LOG

LIST_FROM: pages through every message in qid order with no gap or repeat, honours state_mask and
limit.  UPDATE_BATCH: many updates in one request, final recipients and unknown messages skipped and
not counted, a message whose recipients all became final removed, one log line per applied update,
and a malformed batch refused as a protocol error with nothing changed.
"""
import re
import socket
import sys

import tap
from ipc_frames import f_bytes, f_str, f_u32, f_u64, fields, frame, read_frame

HELLO, ERROR, OK = 1, 2, 3
SUBMIT_BEGIN, STARTED, SUBMIT_RCPT, SUBMIT_CHUNK, SUBMIT_COMMIT, SUBMITTED = 10, 11, 12, 13, 14, 16
READ_ENVELOPE, ENVELOPE, RCPT, END = 20, 21, 22, 25
UPDATE_RCPT, UPDATE_BATCH = 30, 31
LIST_FROM = 43
HOLD = 51
QUEUED, ACTIVE, DEFERRED, DELIVERED, FAILED, HELD = range(6)
ERR_NOTFOUND, ERR_PROTO = 4, 5
MESSAGES = 120


class Store:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        self.req = 0
        self.sock.sendall(frame(HELLO, 0, f_str("store_batch.py") + f_str("admin") + f_u32(1) + f_u32(3)
                                + f_str("submit,read,update,list,admin") + f_str("") + f_u64(0)))
        got = read_frame(self.f)
        if not got or got[0] != HELLO:
            raise RuntimeError("no hello from the store")

    def send(self, msg_type, body):
        self.req += 1
        self.sock.sendall(frame(msg_type, self.req, body))
        return self.req

    def recv(self):
        got = read_frame(self.f)
        if got is None:
            raise EOFError("the store closed the connection")
        return got

    def submit(self, sender, rcpts):
        body = b"Subject: batch\r\n\r\nbatch test\r\n"
        out = frame(SUBMIT_BEGIN, 1, f_str(sender) + f_str("") + f_u32(0) + f_u32(0) + f_str(""))
        for r in rcpts:
            out += frame(SUBMIT_RCPT, 0, f_str(r) + f_str("") + f_u32(0))
        out += frame(SUBMIT_CHUNK, 0, f_bytes(body)) + frame(SUBMIT_COMMIT, 2, f_u64(len(body)))
        self.sock.sendall(out)
        while True:
            kind, _, payload = self.recv()
            if kind == SUBMITTED:
                return fields(payload)[0]
            if kind != STARTED:
                raise RuntimeError(f"submit: {kind} {fields(payload)}")

    def messages(self):
        """Frames up to END as [(qid, [rcpt state...])] and END's count."""
        out = []
        while True:
            kind, _, payload = self.recv()
            v = fields(payload)
            if kind == END:
                return out, v[0]
            if kind == ENVELOPE:
                out.append((v[0], []))
            elif kind == RCPT:
                out[-1][1].append(v[5])
            else:
                raise RuntimeError(f"list: frame {kind} {v}")

    def list_from(self, after="", mask=0, limit=0):
        self.send(LIST_FROM, f_u32(mask) + f_str(after) + f_u32(limit))
        return self.messages()

    def show(self, qid):
        """The recipients' states of qid, or None when it is gone."""
        self.send(READ_ENVELOPE, f_str(qid))
        kind, _, payload = self.recv()
        if kind == ERROR:
            if fields(payload)[0] != ERR_NOTFOUND:
                raise RuntimeError(f"show {qid}: {fields(payload)}")
            return None
        states = []
        while True:
            if kind == RCPT:
                states.append(fields(payload)[5])
            if kind == END:
                return states
            kind, _, payload = self.recv()

    def reply(self):
        kind, _, payload = self.recv()
        return kind, fields(payload)


def update_body(qid, index, state, reply, attempts=1):
    """The fields of an UPDATE_RCPT."""
    return (f_str(qid) + f_u32(index) + f_u32(state) + f_str("smtp:[batch.test]:25") + f_u32(attempts)
            + f_u64(0 if state in (DELIVERED, FAILED) else 1) + f_u64(2) + f_str(reply))


def update(qid, index, state, reply, attempts=1):
    """An UPDATE_RCPT frame as a batch holds it (request id 0)."""
    return frame(UPDATE_RCPT, 0, update_body(qid, index, state, reply, attempts))


def batch(count, frames):
    return f_u32(count) + f_bytes(frames)


def page_through(st, page, mask=0):
    """Every message by LIST_FROM pages of `page`: (qids in order, page sizes, END counts agree)."""
    qids, sizes, counts_ok, after = [], [], True, ""
    while True:
        got, count = st.list_from(after, mask, page)
        counts_ok = counts_ok and count == len(got)
        if not got:
            return qids, sizes, counts_ok
        sizes.append(len(got))
        qids += [q for q, _ in got]
        after = got[-1][0]


def check_list_from(st, submitted, held):
    qids, sizes, counts_ok = page_through(st, 7)
    tap.ok(qids == sorted(submitted), f"LIST_FROM pages of 7 give all {len(submitted)} messages in qid order",
           [f"got {len(qids)}, first missing {sorted(set(submitted) - set(qids))[:3]}"])
    tap.ok(len(set(qids)) == len(qids), "no message is listed twice across pages")
    tap.ok(all(s == 7 for s in sizes[:-1]) and 0 < sizes[-1] <= 7, "every page but the last has exactly limit messages",
           [sizes])
    tap.ok(counts_ok, "each page's END counts the messages in it")
    got, count = st.list_from(sorted(submitted)[-1], 0, 0)
    tap.ok(got == [] and count == 0, "after the last queue id: an empty page")
    got, count = st.list_from("FVVVVVVVVVVVV", 0, 0)
    tap.ok(got == [] and count == 0, "after the largest queue id there can be: an empty page, not the first again",
           [len(got), count])
    mid = sorted(submitted)[50]
    got, _ = st.list_from(mid, 0, 3)
    tap.ok([q for q, _ in got] == sorted(submitted)[51:54], "after_qid starts the page at the next queue id")
    got, _ = st.list_from("", 0, 0)
    tap.ok(len(got) == len(submitted), "limit 0 lists every message in one page")
    qids, _, _ = page_through(st, 4, 1 << HELD)
    tap.ok(qids == sorted(held), f"state_mask held pages through exactly the {len(held)} held messages",
           [qids, sorted(held)])
    got, _ = st.list_from("", 1 << QUEUED, 1000)
    tap.ok(sorted(q for q, _ in got) == sorted(set(submitted) - set(held))
           and all(QUEUED in s for _, s in got), "state_mask queued lists the others, each with a queued recipient")
    got, _ = st.list_from("", 1 << DEFERRED, 0)
    tap.ok(got == [], "state_mask deferred: none yet")


def check_batch(st, log_path, qids, held):
    two = qids[:40]          # two recipients each: rcpt 0 deferred by the batch
    done = qids[40:50]       # both recipients made final in one batch: removed
    before = open(log_path, errors="replace").read().count("batch-reply-")
    frames, n = b"", 0
    for i, q in enumerate(two):
        frames += update(q, 0, DEFERRED, f"451 4.4.1 batch-reply-{i}")
        n += 1
    for q in done:
        frames += update(q, 0, DELIVERED, "250 batch-reply-done") + update(q, 1, FAILED, "550 batch-reply-done")
        n += 2
    frames += update("0000000000001", 0, DEFERRED, "451 batch-reply-unknown")  # no such message
    frames += update(done[0], 0, DEFERRED, "451 batch-reply-gone")  # removed earlier in this batch
    n += 2
    st.send(UPDATE_BATCH, batch(n, frames))
    kind, v = st.reply()
    applied = len(two) + 2 * len(done)
    tap.ok(kind == OK and v[0] == applied, f"UPDATE_BATCH of {n}: OK counts the {applied} applied", [kind, v])
    states = [st.show(q) for q in two]
    tap.ok(all(s == [DEFERRED, QUEUED] for s in states), "every message updated: rcpt 0 deferred, rcpt 1 untouched",
           [states[:3]])
    tap.ok(all(st.show(q) is None for q in done), "messages whose recipients all became final are removed")
    log = open(log_path, errors="replace").read()
    lines = [ln for ln in log.splitlines() if "batch-reply-" in ln]
    tap.ok(len(lines) - before == applied, f"one log line per applied update ({applied})", [len(lines) - before])
    removed = [ln for ln in lines if "all recipients final, message removed" in ln]
    tap.ok(len(removed) == len(done), "the removal is logged once per message", [len(removed)])
    tap.ok("batch-reply-unknown" not in log and "batch-reply-gone" not in log, "skipped updates are not logged")

    # Recipients already final are skipped: deliver rcpt 1 of the first, then a batch touching it again.
    q = two[0]
    st.send(UPDATE_BATCH, batch(1, update(q, 1, DELIVERED, "250 batch-reply-final")))
    kind, v = st.reply()
    tap.ok(kind == OK and v[0] == 1 and st.show(q) == [DEFERRED, DELIVERED], "a batch of one delivers rcpt 1")
    st.send(UPDATE_BATCH, batch(2, update(q, 1, DEFERRED, "451 batch-reply-again") + update(q, 0, DEFERRED, "451 x", 5)))
    kind, v = st.reply()
    tap.ok(kind == OK and v[0] == 1, "a final recipient in a batch is skipped, the other applied: OK 1", [kind, v])
    tap.ok(st.show(q) == [DEFERRED, DELIVERED], "the final recipient stays delivered")
    st.send(UPDATE_BATCH, batch(1, update("0000000000001", 0, DEFERRED, "451 batch-reply-none")))
    kind, v = st.reply()
    tap.ok(kind == OK and v[0] == 0, "a batch of only unknown messages: OK 0", [kind, v])
    got, _ = st.list_from("", 1 << DEFERRED, 0)
    tap.ok(sorted(q for q, _ in got) == sorted(two), "LIST_FROM state_mask deferred lists the updated messages")
    return two


def check_bad_batch(path, target):
    """A batch whose count does not match its frames: a protocol error, the connection closed, nothing applied."""
    st = Store(path)
    frames = update(target, 1, DELIVERED, "250 batch-reply-bad") + update(target, 0, DELIVERED, "250 batch-reply-bad")
    st.send(UPDATE_BATCH, batch(3, frames))
    kind, v = st.reply()
    tap.ok(kind == ERROR and v[0] == ERR_PROTO and "UPDATE_BATCH" in v[1],
           "a batch whose count does not match is refused with a protocol error", [kind, v])
    try:
        closed = read_frame(st.f) is None
    except OSError:
        closed = True
    tap.ok(closed, "and the connection is closed")
    st = Store(path)
    inner_ok = frame(3, 0, f_u64(1))  # an OK frame inside the batch
    st.send(UPDATE_BATCH, batch(2, update(target, 1, DELIVERED, "250 batch-reply-bad") + inner_ok))
    kind, v = st.reply()
    tap.ok(kind == ERROR and v[0] == ERR_PROTO, "a batch with a frame of another type is refused", [kind, v])
    st = Store(path)
    tap.ok(st.show(target) == [QUEUED, QUEUED], "the refused batches changed nothing")
    return st


def check_wide(st):
    """A message of 300 recipients (several pages of rcpt.db) lists whole, in index order, between two others."""
    before = st.submit("wide-before@batch.test", ["x@dest.test"])
    wide = st.submit("wide@batch.test", [f"w{i}@dest.test" for i in range(300)])
    after = st.submit("wide-after@batch.test", ["y@dest.test", "z@dest.test"])
    st.send(LIST_FROM, f_u32(0) + f_str(before) + f_u32(2))
    envs, rcpts = [], []
    while True:
        kind, _, payload = st.recv()
        v = fields(payload)
        if kind == END:
            break
        if kind == ENVELOPE:
            envs.append(v[0])
        elif kind == RCPT:
            rcpts.append((v[0], v[1], v[2]))
    want = [(wide, i, f"w{i}@dest.test") for i in range(300)] + [(after, 0, "y@dest.test"), (after, 1, "z@dest.test")]
    tap.ok(envs == [wide, after] and rcpts == want, "a message of 300 recipients lists whole and in order, then the next",
           [envs, len(rcpts), [r for r, w in zip(rcpts, want) if r != w][:3]])


def main():
    path, log_path = sys.argv[1], sys.argv[2]
    st = Store(path)
    qids = [st.submit(f"s{i}@batch.test", [f"a{i}@dest.test", f"b{i}@dest.test"]) for i in range(MESSAGES)]
    tap.ok(len(set(qids)) == MESSAGES, f"{MESSAGES} messages submitted")
    held = qids[100:110]
    for q in held:
        st.send(HOLD, f_str(q))
        st.reply()
    check_list_from(st, qids, held)
    check_bad_batch(path, qids[60])
    check_batch(st, log_path, qids, held)
    check_wide(st)


if __name__ == "__main__":
    sys.exit(tap.run("store_batch.py", main))
