/* store_db_scan.c - Berkeley DB cursors: messages in qid order, the due index, the full count (once, for a store without kept counts). */
#include "store_db_bdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_db_next_envelope(struct store_txn *t, uint64_t from, struct rec_envelope *e)
{
    DB *msg = t->db->h->msg;
    DBC *cur;
    uint8_t kbuf[REC_MSG_KEY_LEN], vbuf[REC_ENVELOPE_MAX];
    DBT key = {.data = kbuf, .size = sizeof(kbuf), .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    const char *why;
    int ret;

    if ((ret = msg->cursor(msg, t->txn, &cur, DB_READ_COMMITTED)) != 0)
        return ret;
    store_rec_msg_key(kbuf, from);
    ret = cur->get(cur, &key, &val, DB_SET_RANGE);
    cur->close(cur);
    if (ret != 0)
        return ret;
    if (store_rec_envelope_decode(vbuf, val.size, e, &why) < 0) {
        /* Keep the qid so callers can report the record and step past it. */
        e->qid = store_rec_get_be64(kbuf);
        return store_db_corrupt(e->qid, "envelope record: %s", why);
    }
    return 0;
}

/* The cursor's walk over the due index from its start. */
static int store_due_walk(DBC *cur, uint64_t before, uint32_t limit, store_due_fn fn, void *arg)
{
    uint8_t skbuf[REC_DUE_KEY_LEN], pkbuf[REC_SUB_KEY_LEN], vbuf[REC_RCPT_MAX];
    DBT skey = {
        .data = skbuf, .size = REC_DUE_KEY_LEN, .ulen = REC_DUE_KEY_LEN, .flags = DB_DBT_USERMEM};
    DBT pkey = {.data = pkbuf, .ulen = sizeof(pkbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    u_int32_t flag = DB_SET_RANGE;
    uint32_t count = 0;
    int ret;

    store_rec_put_be64(skbuf, 0);
    while ((ret = cur->pget(cur, &skey, &pkey, &val, flag)) == 0 || ret == DB_SECONDARY_BAD) {
        struct rec_due d = {.next_attempt_us = store_rec_get_be64(skbuf)};

        flag = DB_NEXT;
        if (ret == DB_SECONDARY_BAD)
            continue; /* an index entry whose recipient record is gone: BDB logged it */
        if (d.next_attempt_us > before || count >= limit)
            break;
        if (pkey.size != REC_SUB_KEY_LEN || val.size < REC_RCPT_STATE_OFF + 4)
            continue;
        d.qid = store_rec_get_be64(pkbuf);
        d.index = store_rec_get_be32(pkbuf + REC_SUB_KEY_N_OFF);
        d.state = store_rec_get_be32(vbuf + REC_RCPT_STATE_OFF);
        fn(&d, arg);
        count++;
    }
    return ret == DB_NOTFOUND ? 0 : ret;
}

int store_db_scan_due(struct store_txn *t, uint64_t before, uint32_t limit, store_due_fn fn,
                      void *arg)
{
    DB *due = t->db->h->due;
    DBC *cur;
    int ret;

    if ((ret = due->cursor(due, t->txn, &cur, DB_READ_COMMITTED)) != 0)
        return ret;
    ret = store_due_walk(cur, before, limit, fn, arg);
    cur->close(cur);
    return ret;
}

/* Walk every record of db reading only the head of each value: a message
 * is counted in *messages, a recipient (rcpts) by its state. */
static int store_count_db(DB *db, DB_TXN *txn, uint64_t *messages, uint64_t *by_state, int rcpts)
{
    uint8_t kbuf[16], vbuf[8];
    DBC *cur;
    DBT key = {.data = kbuf, .ulen = sizeof(kbuf), .flags = DB_DBT_PARTIAL | DB_DBT_USERMEM};
    DBT val = {.data = vbuf,
               .ulen = sizeof(vbuf),
               .dlen = REC_RCPT_STATE_OFF + 4,
               .flags = DB_DBT_PARTIAL | DB_DBT_USERMEM};
    int ret;

    if ((ret = db->cursor(db, txn, &cur, DB_READ_COMMITTED)) != 0)
        return ret;
    while ((ret = cur->get(cur, &key, &val, DB_NEXT)) == 0) {
        uint32_t state;
        if (!rcpts) {
            (*messages)++;
            continue;
        }
        state = val.size >= REC_RCPT_STATE_OFF + 4 ? store_rec_get_be32(vbuf + REC_RCPT_STATE_OFF)
                                                   : RCPT_STATE_COUNT;
        if (state < RCPT_STATE_COUNT)
            by_state[state]++;
    }
    cur->close(cur);
    return ret == DB_NOTFOUND ? 0 : ret;
}

int store_db_count(struct store_txn *t, uint64_t *messages, uint64_t by_state[RCPT_STATE_COUNT])
{
    struct store_db_handles *h = t->db->h;
    int ret;

    memset(by_state, 0, RCPT_STATE_COUNT * sizeof(by_state[0]));
    *messages = 0;
    if ((ret = store_count_db(h->msg, t->txn, messages, by_state, 0)) != 0)
        return ret;
    return store_count_db(h->rcpt, t->txn, messages, by_state, 1);
}

/* ---- messages with their recipients, one cursor each on msg.db and rcpt.db ------------- */

static int store_walk_is(const DBT *key, const uint8_t *kbuf, uint64_t qid, uint32_t i)
{
    return key->size == REC_SUB_KEY_LEN && store_rec_get_be64(kbuf) == qid &&
           store_rec_get_be32(kbuf + REC_SUB_KEY_N_OFF) == i;
}

/* A recipient record that is missing or does not decode: logged, and shown in its place held
 * with the reason (spoolctl list shows the message; the router, which reads the record again,
 * never sends it); the message is quarantined, everything else is served. */
static void rcpt_quarantined(struct store_walk *w, uint64_t qid, uint32_t i, const char *why)
{
    struct rec_rcpt *rc = &w->rc[i];

    store_db_corrupt(qid, "recipient %u record %s; the message is quarantined (held)", i, why);
    memset(rc, 0, sizeof(*rc));
    rc->state = RCPT_HELD;
    snprintf(rc->addr, sizeof(rc->addr), "?");
    snprintf(rc->last_reply, sizeof(rc->last_reply),
             "quarantined: the store's record of this recipient %s", why);
    w->corrupt++;
}

/* The recipients of e into w->rc.  The cursor walks the recipient records in key order beside
 * the envelopes; it is positioned (DB_SET_RANGE) only when it is not already on the next one, or
 * after a record that was missing or bad. */
static int store_walk_rcpts(DBC *cur, const struct rec_envelope *e, struct store_walk *w,
                            int *placed)
{
    uint8_t kbuf[REC_SUB_KEY_LEN], vbuf[REC_RCPT_MAX];
    DBT key = {.data = kbuf, .size = sizeof(kbuf), .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    const char *why;
    int seek = !*placed;

    if (e->nrcpt > w->cap) {
        struct rec_rcpt *rc = realloc(w->rc, e->nrcpt * sizeof(*rc));
        if (!rc)
            return ENOMEM;
        w->rc = rc;
        w->cap = e->nrcpt;
    }
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        int ret;

        store_rec_sub_key(kbuf, e->qid, i); /* for DB_SET_RANGE; DB_NEXT only writes the key */
        key.size = REC_SUB_KEY_LEN;
        ret = cur->get(cur, &key, &val, seek ? DB_SET_RANGE : DB_NEXT);
        if (!seek && i == 0 && (ret != 0 || !store_walk_is(&key, kbuf, e->qid, 0))) {
            store_rec_sub_key(kbuf, e->qid, 0);
            key.size = REC_SUB_KEY_LEN;
            ret = cur->get(cur, &key, &val, DB_SET_RANGE);
        }
        *placed = ret == 0;
        seek = 0;
        if (ret != 0 && ret != DB_NOTFOUND)
            return ret;
        if (ret == DB_NOTFOUND || !store_walk_is(&key, kbuf, e->qid, i)) {
            rcpt_quarantined(w, e->qid, i, "is missing");
            seek = 1;
        } else if (store_rec_rcpt_decode(vbuf, val.size, &w->rc[i], &why) < 0) {
            char text[200];

            snprintf(text, sizeof(text), "does not decode: %s", why);
            rcpt_quarantined(w, e->qid, i, text);
        }
    }
    return 0;
}

static int store_walk_cursors(struct store_walk *w, DBC *mc, DBC *rc)
{
    uint8_t kbuf[REC_MSG_KEY_LEN], vbuf[REC_ENVELOPE_MAX];
    DBT key = {.data = kbuf, .size = sizeof(kbuf), .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    u_int32_t flag = DB_SET_RANGE;
    int placed = 0, ret;

    store_rec_msg_key(kbuf, w->pos);
    for (unsigned n = 0; n < w->max; n++, flag = DB_NEXT) {
        struct rec_envelope e;
        const char *why;

        if ((ret = mc->get(mc, &key, &val, flag)) != 0)
            return ret;
        if (key.size != REC_MSG_KEY_LEN)
            return STORE_ECORRUPT;
        w->pos = store_rec_get_be64(kbuf) + 1;
        if (store_rec_envelope_decode(vbuf, val.size, &e, &why) < 0) {
            store_db_corrupt(w->pos - 1, "envelope record: %s", why); /* logged; stepped past */
            w->corrupt++;
            continue;
        }
        if ((ret = store_walk_rcpts(rc, &e, w, &placed)) != 0 ||
            (ret = w->fn(&e, w->rc, w->arg)) != 0)
            return ret;
    }
    return 0;
}

int store_db_walk_messages(struct store_txn *t, struct store_walk *w)
{
    DB *msg = t->db->h->msg, *rcpt = t->db->h->rcpt;
    DBC *mc, *rc;
    int ret;

    if ((ret = msg->cursor(msg, t->txn, &mc, DB_READ_COMMITTED)) != 0)
        return ret;
    if ((ret = rcpt->cursor(rcpt, t->txn, &rc, DB_READ_COMMITTED)) != 0) {
        mc->close(mc);
        return ret;
    }
    ret = store_walk_cursors(w, mc, rc);
    rc->close(rc);
    mc->close(mc);
    return ret;
}
