/* store_db_origin.c - de-duplication keys (origin.db) expire: a walk of a few a sweep deletes those older than store.origin_lifetime. */
#include <string.h>

#include "qid.h"
#include "store_db_bdb.h"

struct origin_expire {
    struct store_origin_sweep *sw;
    uint64_t older_than_us;
    unsigned max;
};

static int origin_expire_txn(struct store_txn *t, void *arg)
{
    struct origin_expire *x = arg;
    struct store_origin_sweep *sw = x->sw;
    DB *db = t->db->h->origin;
    uint8_t vbuf[REC_ORIGIN_LEN];
    char kbuf[4096]; /* keys are at most IPC_ORIGIN_MAX; room for a bad one */
    DBT key = {.data = kbuf, .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_USERMEM};
    DBC *cur;
    u_int32_t flag = sw->resume_len ? DB_SET_RANGE : DB_FIRST;
    unsigned seen = 0;
    int ret;

    sw->expired = 0;
    memcpy(kbuf, sw->resume, sw->resume_len);
    key.size = (u_int32_t)sw->resume_len;
    if ((ret = db->cursor(db, t->txn, &cur, 0)) != 0)
        return ret;
    while (seen < x->max && (ret = cur->get(cur, &key, &val, flag)) == 0) {
        flag = DB_NEXT;
        seen++;
        if (val.size >= REC_ORIGIN_LEN &&
            store_rec_get_be64(vbuf + REC_ORIGIN_SEEN_OFF) >= x->older_than_us)
            continue;
        /* older than the lifetime, or a record that does not decode: it names nothing now */
        if ((ret = cur->del(cur, 0)) != 0)
            break;
        sw->expired++;
    }
    if (ret == 0 && seen == x->max && cur->get(cur, &key, &val, DB_NEXT) == 0 &&
        key.size <= sizeof(sw->resume)) {
        memcpy(sw->resume, kbuf, key.size); /* the next walk starts here */
        sw->resume_len = key.size;
    } else if (ret == 0 || ret == DB_NOTFOUND) {
        sw->resume_len = 0; /* the end: the next walk starts over */
        sw->wrapped = 1;
        ret = 0;
    }
    cur->close(cur);
    return ret;
}

int store_db_origin_sweep(struct store_db *s, uint64_t lifetime_us, unsigned max,
                          struct store_origin_sweep *sw)
{
    uint64_t now = now_us();
    struct origin_expire x = {
        .sw = sw, .older_than_us = now > lifetime_us ? now - lifetime_us : 0, .max = max};

    sw->wrapped = 0;
    return store_db_txn(s, origin_expire_txn, &x, 0);
}
