/* store_db_counts.c - the counts STATS reports, kept in meta.db by the transactions that change them. */
#include "store_db_bdb.h"

#include <string.h>

#include "log.h"

/* meta.db "counts": messages(8), then recipients per state (8 each), big-endian. */
#define COUNTS_KEY "counts"
#define COUNTS_LEN (8u * (1u + RCPT_STATE_COUNT))

static void counts_encode(const struct store_counts *c, uint8_t buf[COUNTS_LEN])
{
    store_rec_put_be64(buf, c->messages);
    for (int s = 0; s < RCPT_STATE_COUNT; s++)
        store_rec_put_be64(buf + 8 * (1 + s), c->by_state[s]);
}

/* STORE_ENOTFOUND when there is no record, STORE_ECORRUPT when it is not COUNTS_LEN bytes. */
static int counts_read(struct store_txn *t, struct store_counts *c, uint32_t flags)
{
    uint8_t buf[COUNTS_LEN + 8];
    size_t len;
    int ret = store_db_get_value(t->db->h->meta, t->txn, COUNTS_KEY, strlen(COUNTS_KEY), buf,
                                 sizeof(buf), &len, flags);

    if (ret == DB_BUFFER_SMALL)
        return STORE_ECORRUPT;
    if (ret != 0)
        return ret;
    if (len != COUNTS_LEN)
        return STORE_ECORRUPT;
    c->messages = store_rec_get_be64(buf);
    for (int s = 0; s < RCPT_STATE_COUNT; s++)
        c->by_state[s] = store_rec_get_be64(buf + 8 * (1 + s));
    return 0;
}

static int counts_write(struct store_txn *t, const struct store_counts *c)
{
    uint8_t buf[COUNTS_LEN];

    counts_encode(c, buf);
    return store_db_put_value(t->db->h->meta, t->txn, COUNTS_KEY, strlen(COUNTS_KEY), buf,
                              sizeof(buf), 0);
}

int store_db_get_counts(struct store_txn *t, struct store_counts *c)
{
    return counts_read(t, c, 0);
}

int store_db_set_counts(struct store_txn *t, const struct store_counts *c)
{
    return counts_write(t, c);
}

void store_db_count_rcpt(struct store_txn *t, uint32_t state, int delta)
{
    if (state < RCPT_STATE_COUNT) {
        t->delta.by_state[state] += delta;
        if (delta > 0)
            t->entered[state] += (uint32_t)delta;
        t->counted = 1;
    }
}

void store_db_count_message(struct store_txn *t, int delta)
{
    t->delta.messages += delta;
    t->counted = 1;
}

static uint64_t counts_add(uint64_t v, int64_t d)
{
    if (d < 0 && (uint64_t)-d > v)
        return 0; /* never below zero; cannot happen while every change is counted */
    return v + (uint64_t)d;
}

int store_db_counts_apply(struct store_txn *t)
{
    struct store_counts c;
    int changed = t->delta.messages != 0, ret;

    for (int s = 0; s < RCPT_STATE_COUNT; s++)
        changed |= t->delta.by_state[s] != 0;
    if (!changed)
        return 0; /* e.g. a state changed to itself: no lock on the record */
    if ((ret = counts_read(t, &c, STORE_DB_FOR_UPDATE)) != 0)
        return ret;
    c.messages = counts_add(c.messages, t->delta.messages);
    for (int s = 0; s < RCPT_STATE_COUNT; s++)
        c.by_state[s] = counts_add(c.by_state[s], t->delta.by_state[s]);
    return counts_write(t, &c);
}

/* At open: a store without the record (made before it existed) gets it, by one scan. */
struct counts_init {
    struct store_counts c;
    int scanned;
};

static int counts_init_txn(struct store_txn *t, void *arg)
{
    struct counts_init *ci = arg;
    int ret = counts_read(t, &ci->c, STORE_DB_FOR_UPDATE);

    ci->scanned = 0;
    if (ret != STORE_ENOTFOUND && ret != STORE_ECORRUPT)
        return ret;
    if ((ret = store_db_count(t, &ci->c.messages, ci->c.by_state)) != 0)
        return ret;
    ci->scanned = 1;
    return counts_write(t, &ci->c);
}

int store_db_counts_init(struct store_db *s)
{
    struct counts_init ci;
    int ret = store_db_txn(s, counts_init_txn, &ci, 0);

    if (ret == 0 && ci.scanned && ci.c.messages)
        log_notice("the counts for stats were not in the store (an older store): computed once "
                   "by a scan, %llu messages, and kept from now on",
                   (unsigned long long)ci.c.messages);
    return ret;
}
