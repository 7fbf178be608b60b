#!/usr/bin/env python3
"""store_mix.py - a seeded mix of every request that changes the counts for stats, over raw IPC frames.

  store_mix.py SOCKET once N SEED   submit N messages, then hold, release, delete, requeue, single and
                                    batched updates (final ones again too); prints what it did
  store_mix.py SOCKET loop SEED     until the store goes away: page through the queue with LIST_FROM
                                    and apply a batch of random updates to each page (for kill -9)
"""
import random
import sys

from ipc_frames import f_str, f_u32, f_u64, frame
from store_batch import (ACTIVE, DEFERRED, DELIVERED, FAILED, HOLD, OK, UPDATE_BATCH, UPDATE_RCPT, Store,
                         batch, update, update_body)

RELEASE, DELETE, REQUEUE = 52, 53, 50
ADMIN, OP_REQUEUE, OP_HOLD, ADMIN_ALL = 80, 1, 2, 1
STATES = (ACTIVE, DEFERRED, DEFERRED, DELIVERED, FAILED)
LOOP_STATES = (ACTIVE, DEFERRED, DEFERRED, DEFERRED, DEFERRED, DEFERRED, DELIVERED, FAILED)


def admin(st, kind, qid):
    st.send(kind, f_str(qid))
    return st.reply()


def admin_all(st, op):
    """ADMIN of every message (the explicit ALL flag, no filter)."""
    st.send(ADMIN, f_u32(op) + f_u32(ADMIN_ALL) + f_str("") + f_u32(0) + f_str("") * 3 + f_u64(0))
    return st.reply()


def random_updates(rng, msgs, n, states=STATES, reply="mix"):
    """n updates of random recipients of msgs [(qid, nrcpt)]: (frames, count)."""
    frames = b""
    for _ in range(n):
        qid, nrcpt = rng.choice(msgs)
        frames += update(qid, rng.randrange(nrcpt), rng.choice(states), reply)
    return frames, n


def once(st, n, rng):
    msgs = []
    for i in range(n):
        nrcpt = rng.randint(1, 3)
        msgs.append((st.submit(f"m{i}@mix.test", [f"r{i}.{k}@dest.test" for k in range(nrcpt)]), nrcpt))
    done = {"submitted": n}
    for qid, _ in rng.sample(msgs, n // 8):
        admin(st, HOLD, qid)
    for qid, _ in rng.sample(msgs, n // 16):
        admin(st, RELEASE, qid)
    for qid, _ in rng.sample(msgs, n // 12):
        done["deleted"] = done.get("deleted", 0) + (admin(st, DELETE, qid)[0] == OK)
    applied = 0
    for _ in range(4):
        frames, count = random_updates(rng, msgs, 60)
        st.send(UPDATE_BATCH, batch(count, frames))
        kind, v = st.reply()
        applied += v[0] if kind == OK else 0
    for _ in range(30):
        qid, nrcpt = rng.choice(msgs)
        st.send(UPDATE_RCPT, update_body(qid, rng.randrange(nrcpt), rng.choice(STATES), "mix single"))
        st.reply()
    admin_all(st, OP_REQUEUE)
    admin_all(st, OP_HOLD)
    admin(st, RELEASE, msgs[0][0])
    done["batch updates applied"] = applied
    print(" ".join(f"{k}={v}" for k, v in sorted(done.items())))


def loop(st, rng):
    after = ""
    while True:
        got, _ = st.list_from(after, 0, 50)
        if not got:
            after = ""
            continue
        after = got[-1][0]
        msgs = [(q, len(s)) for q, s in got]
        frames, count = random_updates(rng, msgs, 40, LOOP_STATES, "mix loop")
        st.send(UPDATE_BATCH, batch(count, frames))
        st.reply()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    st = Store(path)
    try:
        if mode == "once":
            once(st, int(sys.argv[3]), random.Random(int(sys.argv[4])))
        else:
            loop(st, random.Random(int(sys.argv[3])))
    except (EOFError, OSError) as e:
        if mode == "once":
            raise
        print(f"the store went away: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
