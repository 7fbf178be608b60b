/* store_db_msg.c - one message's records in Berkeley DB: envelope, recipients, body chunks, origin key. */
#include "store_db_bdb.h"

#include <string.h>

int store_db_get_value(DB *db, DB_TXN *txn, const void *k, size_t klen, void *buf, size_t cap,
                       size_t *len, uint32_t flags)
{
    DBT key = {.data = (void *)k, .size = (u_int32_t)klen};
    DBT val = {.data = buf, .ulen = (u_int32_t)cap, .flags = DB_DBT_USERMEM};
    int ret = db->get(db, txn, &key, &val, flags & STORE_DB_FOR_UPDATE ? DB_RMW : 0);

    if (ret == 0)
        *len = val.size;
    return ret;
}

int store_db_put_value(DB *db, DB_TXN *txn, const void *k, size_t klen, const void *v, size_t vlen,
                       uint32_t flags)
{
    DBT key = {.data = (void *)k, .size = (u_int32_t)klen};
    DBT val = {.data = (void *)v, .size = (u_int32_t)vlen};

    return db->put(db, txn, &key, &val, flags & STORE_DB_NEW ? DB_NOOVERWRITE : 0);
}

int store_db_get_envelope(struct store_txn *t, uint64_t qid, struct rec_envelope *e, uint32_t flags)
{
    uint8_t kbuf[REC_MSG_KEY_LEN], vbuf[REC_ENVELOPE_MAX];
    size_t len;
    const char *why;
    int ret;

    store_rec_msg_key(kbuf, qid);
    ret = store_db_get_value(t->db->h->msg, t->txn, kbuf, sizeof(kbuf), vbuf, sizeof(vbuf), &len,
                             flags);
    if (ret != 0)
        return ret;
    if (store_rec_envelope_decode(vbuf, len, e, &why) < 0)
        return store_db_corrupt(qid, "envelope record: %s", why);
    return 0;
}

int store_db_put_envelope(struct store_txn *t, const struct rec_envelope *e, uint32_t flags)
{
    uint8_t kbuf[REC_MSG_KEY_LEN], vbuf[REC_ENVELOPE_MAX];
    size_t len = store_rec_envelope_encode(e, vbuf);
    int ret;

    store_rec_msg_key(kbuf, e->qid);
    ret = store_db_put_value(t->db->h->msg, t->txn, kbuf, sizeof(kbuf), vbuf, len, flags);
    if (ret == 0 && (flags & STORE_DB_NEW)) {
        store_db_count_message(t, 1); /* only a new envelope is a new message */
        if (e->body_bucket)
            ret = store_db_body_index(t, e->body_bucket, e->qid, 1);
    }
    return ret;
}

int store_db_get_rcpt(struct store_txn *t, uint64_t qid, uint32_t index, struct rec_rcpt *r,
                      uint32_t flags)
{
    uint8_t kbuf[REC_SUB_KEY_LEN], vbuf[REC_RCPT_MAX];
    size_t len;
    const char *why;
    int ret;

    store_rec_sub_key(kbuf, qid, index);
    ret = store_db_get_value(t->db->h->rcpt, t->txn, kbuf, sizeof(kbuf), vbuf, sizeof(vbuf), &len,
                             flags);
    if (ret != 0)
        return ret;
    if (store_rec_rcpt_decode(vbuf, len, r, &why) < 0)
        return store_db_corrupt(qid, "recipient %u record: %s", index, why);
    return 0;
}

/* The state of the recipient record under key, write-locked (it is about to change or go):
 * 0 with *state, STORE_ENOTFOUND when there is none.  A record too short to hold a state
 * gives RCPT_STATE_COUNT, which is not counted. */
static int store_rcpt_state(struct store_txn *t, const uint8_t *kbuf, uint32_t *state)
{
    DB *rcpt = t->db->h->rcpt;
    uint8_t vbuf[REC_RCPT_STATE_OFF + 4];
    DBT key = {.data = (void *)kbuf, .size = REC_SUB_KEY_LEN};
    DBT val = {.data = vbuf,
               .ulen = sizeof(vbuf),
               .dlen = sizeof(vbuf),
               .flags = DB_DBT_PARTIAL | DB_DBT_USERMEM};
    int ret = rcpt->get(rcpt, t->txn, &key, &val, DB_RMW);

    if (ret == 0)
        *state = val.size == sizeof(vbuf) ? store_rec_get_be32(vbuf + REC_RCPT_STATE_OFF)
                                          : RCPT_STATE_COUNT;
    return ret;
}

int store_db_put_rcpt(struct store_txn *t, uint64_t qid, uint32_t index, const struct rec_rcpt *r)
{
    uint8_t kbuf[REC_SUB_KEY_LEN], vbuf[REC_RCPT_MAX];
    size_t len = store_rec_rcpt_encode(r, vbuf);
    uint32_t old = RCPT_STATE_COUNT;
    int ret;

    store_rec_sub_key(kbuf, qid, index);
    if ((ret = store_rcpt_state(t, kbuf, &old)) != 0 && ret != STORE_ENOTFOUND)
        return ret;
    ret = store_db_put_value(t->db->h->rcpt, t->txn, kbuf, sizeof(kbuf), vbuf, len, 0);
    if (ret == 0 && old != r->state) {
        store_db_count_rcpt(t, old, -1);
        store_db_count_rcpt(t, r->state, 1);
        store_db_count_age(t, qid, old, -1);
        store_db_count_age(t, qid, r->state, 1);
    }
    return ret;
}

int store_db_get_origin(struct store_txn *t, const char *origin, uint64_t *qid, uint32_t flags)
{
    uint8_t vbuf[REC_ORIGIN_LEN];
    size_t len;
    int ret = store_db_get_value(t->db->h->origin, t->txn, origin, strlen(origin), vbuf,
                                 sizeof(vbuf), &len, flags);

    if (ret != 0)
        return ret;
    if (len < REC_ORIGIN_QID_OFF + 8) {
        /* A key that does not decode names no message: taken as absent (and rewritten by the
         * submission), never as a duplicate of qid 0, which would drop the message. */
        store_db_corrupt(0, "origin record of %zu bytes: taken as absent", len);
        return STORE_ENOTFOUND;
    }
    *qid = store_rec_get_be64(vbuf + REC_ORIGIN_QID_OFF);
    return 0;
}

int store_db_put_origin(struct store_txn *t, const struct rec_envelope *e)
{
    uint8_t vbuf[REC_ORIGIN_LEN];

    store_rec_put_be64(vbuf + REC_ORIGIN_QID_OFF, e->qid);
    store_rec_put_be64(vbuf + REC_ORIGIN_SEEN_OFF, e->arrival_us);
    return store_db_put_value(t->db->h->origin, t->txn, e->origin, strlen(e->origin), vbuf,
                              sizeof(vbuf), 0);
}

int store_db_del_origin(struct store_txn *t, const char *origin)
{
    DBT key = {.data = (void *)origin, .size = (u_int32_t)strlen(origin)};
    int ret = t->db->h->origin->del(t->db->h->origin, t->txn, &key, 0);

    return ret == DB_NOTFOUND ? 0 : ret;
}

static int store_del_sub(DB *db, DB_TXN *txn, uint64_t qid, uint32_t n)
{
    uint8_t kbuf[REC_SUB_KEY_LEN];
    DBT key = {.data = kbuf, .size = sizeof(kbuf)};
    int ret;

    store_rec_sub_key(kbuf, qid, n);
    ret = db->del(db, txn, &key, 0);
    return ret == DB_NOTFOUND ? 0 : ret;
}

/* Remove a recipient record, counting it out by its state. */
static int store_del_rcpt(struct store_txn *t, uint64_t qid, uint32_t n)
{
    uint8_t kbuf[REC_SUB_KEY_LEN];
    uint32_t state;
    int ret;

    store_rec_sub_key(kbuf, qid, n);
    if ((ret = store_rcpt_state(t, kbuf, &state)) != 0)
        return ret == DB_NOTFOUND ? 0 : ret;
    if ((ret = store_del_sub(t->db->h->rcpt, t->txn, qid, n)) == 0) {
        store_db_count_rcpt(t, state, -1);
        store_db_count_age(t, qid, state, -1);
    }
    return ret;
}

int store_db_delete_message(struct store_txn *t, const struct rec_envelope *e)
{
    struct store_db_handles *h = t->db->h;
    uint8_t kbuf[REC_MSG_KEY_LEN];
    DBT key = {.data = kbuf, .size = sizeof(kbuf)};
    int ret;

    for (uint32_t i = 0; i < e->nrcpt; i++)
        if ((ret = store_del_rcpt(t, e->qid, i)) != 0)
            return ret;
    /* a bucket's records are not deleted: the bucket is removed whole once empty */
    for (uint32_t i = 0; e->body_bucket == 0 && i < e->nchunks; i++)
        if ((ret = store_del_sub(h->body, t->txn, e->qid, i)) != 0)
            return ret;
    if (e->body_bucket && (ret = store_db_body_index(t, e->body_bucket, e->qid, 0)) != 0)
        return ret;
    store_rec_msg_key(kbuf, e->qid);
    if ((ret = h->msg->del(h->msg, t->txn, &key, 0)) == 0)
        store_db_count_message(t, -1);
    return ret;
}
