/* store_db_body.c - body databases: new bodies in short-lived buckets removed whole once empty, older ones in body.db. */
#include "store_db_bdb.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"

/* Why buckets: a deleted record's bytes go to the log again (for undo), and
 * its pages, once written, stay written.  A bucket takes every new body for
 * a few seconds; its records are never deleted one by one: when no envelope
 * names it any more it is removed whole (a file operation in the log, and
 * its dirty pages are dropped, not written).  A body still queued when its
 * bucket is old is copied once into body.db, where records are deleted as
 * before, so one deferred message cannot keep a bucket's disk space. */

#define BODY_PAGE_SIZE 65536u
#define BODY_PAGE_SPARE 64u            /* an overflow page's header, and some room */
#define BODY_EVACUATE_MAX 8192u        /* bodies moved by one sweep at most */
#define BODY_EVACUATE_BATCH 32u        /* in one transaction */
#define BODY_EVACUATE_BYTES (8u << 20) /* or fewer, when their bodies hold this many octets */
#define BODY_SWEEP_SECONDS 0.5         /* and for about this long */
#define BODY_SWEEP_BUCKETS 256         /* closed buckets looked at by one sweep */
#define BODY_INDEX_KEY_LEN 12          /* bucket(4) qid(8) */

size_t store_db_body_chunk_fit(size_t chunk_size)
{
    size_t pages = (chunk_size + BODY_PAGE_SIZE - 1) / BODY_PAGE_SIZE;
    size_t fit = pages * (BODY_PAGE_SIZE - BODY_PAGE_SPARE);

    return chunk_size < fit ? chunk_size : fit;
}

uint32_t store_db_body_id(const struct store_body *b)
{
    return b->id;
}

static void bucket_name(uint32_t id, char *buf, size_t len)
{
    snprintf(buf, len, "body-%08x.db", id);
}

static int bucket_open(struct store_db_handles *h, struct store_body *b, uint32_t flags)
{
    char name[32];
    int ret;

    bucket_name(b->id, name, sizeof(name));
    if ((ret = db_create(&b->db, h->env, 0)) != 0)
        return ret;
    b->db->set_pagesize(b->db, BODY_PAGE_SIZE);
    ret = b->db->open(b->db, NULL, name, NULL, DB_BTREE, flags | DB_AUTO_COMMIT | DB_THREAD, 0600);
    if (ret != 0) {
        b->db->close(b->db, 0);
        b->db = NULL;
    }
    return ret;
}

static int buckets_add(struct store_buckets *bs, struct store_body *b)
{
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? bs->cap * 2 : 16;
        struct store_body **v = realloc(bs->v, cap * sizeof(*v));

        if (!v)
            return ENOMEM;
        bs->v = v;
        bs->cap = cap;
    }
    bs->v[bs->n++] = b;
    if (b->id >= bs->next_id)
        bs->next_id = b->id + 1;
    return 0;
}

/* Every bucket left from the last run (they all take no new bodies now). */
int store_db_body_open(struct store_db_handles *h, const char *dir, char *err, size_t errsz)
{
    struct store_buckets *bs = &h->buckets;
    DIR *d;
    struct dirent *de;
    int ret = 0;

    pthread_mutex_init(&bs->mu, NULL);
    bs->next_id = 1;
    bs->legacy.db = h->body;
    if (!(d = opendir(dir))) {
        snprintf(err, errsz, "%s: cannot list: %s", dir, strerror(errno));
        return -1;
    }
    while (ret == 0 && (de = readdir(d)) != NULL) {
        unsigned id;
        char tail;
        struct store_body *b;

        if (sscanf(de->d_name, "body-%8x.d%c", &id, &tail) != 2 || tail != 'b' || id == 0 ||
            strlen(de->d_name) != 16)
            continue;
        if (!(b = calloc(1, sizeof(*b)))) {
            ret = ENOMEM;
            break;
        }
        b->id = id;
        b->closed_us = now_us();
        if ((ret = bucket_open(h, b, 0)) == 0 && (ret = buckets_add(bs, b)) != 0)
            b->db->close(b->db, 0);
        if (ret != 0)
            free(b);
    }
    closedir(d);
    if (ret != 0)
        snprintf(err, errsz, "body databases in %s: %s", dir, db_strerror(ret));
    return ret ? -1 : 0;
}

void store_db_body_close(struct store_db_handles *h)
{
    struct store_buckets *bs = &h->buckets;

    for (size_t i = 0; i < bs->n; i++) {
        if (bs->v[i]->db)
            bs->v[i]->db->close(bs->v[i]->db, 0);
        free(bs->v[i]);
    }
    free(bs->v);
    bs->v = NULL;
    bs->n = bs->cap = 0;
    bs->current = NULL;
    pthread_mutex_destroy(&bs->mu);
}

/* Under the lock: a new current bucket. */
static int bucket_begin(struct store_db *s, uint64_t now)
{
    struct store_buckets *bs = &s->h->buckets;
    struct store_body *b = calloc(1, sizeof(*b));
    int ret;

    if (!b)
        return ENOMEM;
    b->id = bs->next_id;
    b->created_us = now;
    if ((ret = bucket_open(s->h, b, DB_CREATE | DB_EXCL)) != 0 || (ret = buckets_add(bs, b)) != 0) {
        if (b->db)
            b->db->close(b->db, 0);
        free(b);
        return ret;
    }
    if (bs->current)
        bs->current->closed_us = now;
    bs->current = b;
    return 0;
}

void store_db_body_limits(const struct sg_config *c, struct store_body_limits *l)
{
    l->bucket_size = (uint64_t)c->store.body_bucket_size;
    l->bucket_age_us = (uint64_t)c->store.body_bucket_age * 1000000;
    l->keep_us = (uint64_t)c->store.body_bucket_keep * 1000000;
}

int store_db_body_for_write(struct store_db *s, const struct store_body_limits *l, uint64_t size,
                            struct store_body **out)
{
    struct store_buckets *bs = &s->h->buckets;
    struct store_body *cur;
    uint64_t now = now_us();
    int ret = 0;

    /* Replicated: every body goes to body.db.  Berkeley DB 5.3 refuses (EINVAL) the removal of
     * a bucket database in a replicated environment, so buckets would never go. */
    if (s->replicated) {
        *out = &bs->legacy;
        return 0;
    }
    pthread_mutex_lock(&bs->mu);
    cur = bs->current;
    if (!cur || (cur->bytes > 0 && cur->bytes + size > l->bucket_size) ||
        now - cur->created_us >= l->bucket_age_us)
        ret = bucket_begin(s, now);
    if (ret == 0) {
        *out = bs->current;
        bs->current->refs++;
        bs->current->bytes += size;
    }
    pthread_mutex_unlock(&bs->mu);
    return ret;
}

int store_db_body_ref(struct store_db *s, uint32_t id, struct store_body **out)
{
    struct store_buckets *bs = &s->h->buckets;
    int ret = STORE_ENOTFOUND;

    if (id == 0) {
        *out = &bs->legacy;
        return 0;
    }
    pthread_mutex_lock(&bs->mu);
    for (size_t i = 0; i < bs->n; i++)
        if (bs->v[i]->id == id && !bs->v[i]->removing) {
            bs->v[i]->refs++;
            *out = bs->v[i];
            ret = 0;
            break;
        }
    pthread_mutex_unlock(&bs->mu);
    return ret;
}

void store_db_body_unref(struct store_db *s, struct store_body *b)
{
    struct store_buckets *bs;

    if (!b || b->id == 0)
        return; /* s is NULL for a stream that reads no body */
    bs = &s->h->buckets;
    pthread_mutex_lock(&bs->mu);
    b->refs--;
    pthread_mutex_unlock(&bs->mu);
}

int store_db_get_chunk(struct store_txn *t, struct store_body *b, uint64_t qid, uint32_t n,
                       uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t kbuf[REC_SUB_KEY_LEN];

    store_rec_sub_key(kbuf, qid, n);
    return store_db_get_value(b->db, t->txn, kbuf, sizeof(kbuf), buf, cap, len, 0);
}

int store_db_put_chunk(struct store_txn *t, struct store_body *b, uint64_t qid, uint32_t n,
                       const uint8_t *data, size_t len)
{
    uint8_t kbuf[REC_SUB_KEY_LEN];

    store_rec_sub_key(kbuf, qid, n);
    return store_db_put_value(b->db, t->txn, kbuf, sizeof(kbuf), data, len, 0);
}

/* The index of bucket members: (bucket, qid) -> nothing, written by hand in the
 * transactions that add and remove envelopes (an associated secondary would make every
 * envelope write read it first, and two writers upgrading their read locks on one page
 * deadlock). */
int store_db_body_index(struct store_txn *t, uint32_t bucket, uint64_t qid, int add)
{
    uint8_t kbuf[BODY_INDEX_KEY_LEN];
    DB *idx = t->db->h->bodyidx;
    DBT key = {.data = kbuf, .size = sizeof(kbuf)};
    DBT val = {.data = "", .size = 0};
    int ret;

    store_rec_put_be32(kbuf, bucket);
    store_rec_put_be64(kbuf + 4, qid);
    if (add)
        return idx->put(idx, t->txn, &key, &val, 0);
    ret = idx->del(idx, t->txn, &key, 0);
    return ret == DB_NOTFOUND ? 0 : ret;
}

/* ---- the sweep: buckets closed, emptied and removed ---------------------- */

/* Up to max messages whose bodies are in bucket id, in qid order from the first: their qids in
 * out, their count in *n; 0 (also with *n = 0: none left) or an error. */
static int bucket_members(struct store_db_handles *h, uint32_t id, uint64_t *out, unsigned max,
                          unsigned *n)
{
    DBC *cur;
    uint8_t kbuf[BODY_INDEX_KEY_LEN] = {0};
    DBT key = {.data = kbuf, .size = sizeof(kbuf), .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    DBT val = {.ulen = 0, .dlen = 0, .flags = DB_DBT_PARTIAL | DB_DBT_USERMEM};
    int ret;

    *n = 0;
    store_rec_put_be32(kbuf, id);
    if ((ret = h->bodyidx->cursor(h->bodyidx, NULL, &cur, DB_READ_COMMITTED)) != 0)
        return ret;
    for (ret = cur->get(cur, &key, &val, DB_SET_RANGE); ret == 0 && *n < max;
         ret = cur->get(cur, &key, &val, DB_NEXT)) {
        if (key.size != BODY_INDEX_KEY_LEN || store_rec_get_be32(kbuf) != id)
            break;
        out[(*n)++] = store_rec_get_be64(kbuf + 4);
    }
    cur->close(cur);
    return ret == DB_NOTFOUND ? 0 : ret;
}

struct evacuation {
    struct store_body *from;
    uint64_t qid[BODY_EVACUATE_BATCH];
    unsigned n, done; /* listed; moved by the transaction */
    uint64_t bytes;   /* body octets it moved */
    uint8_t *chunk;
};

/* One message's body copied from its bucket into body.db. */
static int evacuate_one(struct store_txn *t, struct evacuation *ev, uint64_t qid)
{
    struct store_body *from = ev->from;
    uint8_t *chunk = ev->chunk;
    struct rec_envelope e;
    int ret = store_db_get_envelope(t, qid, &e, STORE_DB_FOR_UPDATE);

    if (ret == STORE_ENOTFOUND)
        return 0; /* delivered meanwhile */
    if (ret != 0 || e.body_bucket != from->id)
        return ret;
    ev->bytes += e.size;
    for (uint32_t i = 0; i < e.nchunks; i++) {
        size_t len;

        if ((ret = store_db_get_chunk(t, from, e.qid, i, chunk, IPC_CHUNK_MAX, &len)) != 0 ||
            (ret = store_db_put_chunk(t, &t->db->h->buckets.legacy, e.qid, i, chunk, len)) != 0)
            return ret == STORE_ENOTFOUND ? store_db_corrupt(e.qid, "body chunk %u missing", i)
                                          : ret;
    }
    if ((ret = store_db_body_index(t, e.body_bucket, e.qid, 0)) != 0)
        return ret;
    e.body_bucket = 0;
    return store_db_put_envelope(t, &e, 0);
}

/* A batch of messages moved in one transaction (one log flush for all of them). */
static int evacuate_txn(struct store_txn *t, void *arg)
{
    struct evacuation *ev = arg;
    int ret = 0;

    ev->bytes = 0;
    for (ev->done = 0; ev->done < ev->n && ev->bytes < BODY_EVACUATE_BYTES && ret == 0; ev->done++)
        ret = evacuate_one(t, ev, ev->qid[ev->done]);
    return ret;
}

/* Bodies out of bucket b, in batches, until none is left, max are moved or the time is up; how
 * many moved added to *moved. */
static int bucket_evacuate(struct store_db *s, struct store_body *b, unsigned max, uint64_t until,
                           unsigned *moved)
{
    struct evacuation *ev = calloc(1, sizeof(*ev));
    int ret = 0;

    if (!ev || !(ev->chunk = malloc(IPC_CHUNK_MAX))) {
        free(ev);
        return ENOMEM;
    }
    ev->from = b;
    while (*moved < max && now_us() < until &&
           (ret = bucket_members(s->h, b->id, ev->qid, BODY_EVACUATE_BATCH, &ev->n)) == 0 &&
           ev->n > 0) {
        if ((ret = store_db_txn(s, evacuate_txn, ev, 0)) != 0)
            break;
        *moved += ev->done;
    }
    free(ev->chunk);
    free(ev);
    return ret;
}

/* Is any message's body in bucket id?  1, 0, or an error. */
static int bucket_named(struct store_db_handles *h, uint32_t id)
{
    uint64_t qid;
    unsigned n;
    int ret = bucket_members(h, id, &qid, 1, &n);

    return ret != 0 ? ret : n > 0;
}

/* Bucket b, unused and named by no envelope, removed: its file and, unwritten, its pages.
 * 1 when it was removed, 0 when it is in use, or an error. */
static int bucket_remove(struct store_db *s, struct store_body *b)
{
    struct store_buckets *bs = &s->h->buckets;
    char name[32];
    int ret;

    pthread_mutex_lock(&bs->mu);
    if (b->refs == 0)
        b->removing = 1;
    pthread_mutex_unlock(&bs->mu);
    if (!b->removing)
        return 0;
    bucket_name(b->id, name, sizeof(name));
    b->db->close(b->db, DB_NOSYNC); /* its pages are not written: the file goes */
    b->db = NULL;
    ret = s->h->env->dbremove(s->h->env, NULL, name, NULL, DB_AUTO_COMMIT);
    pthread_mutex_lock(&bs->mu);
    for (size_t i = 0; i < bs->n; i++)
        if (bs->v[i] == b) {
            bs->v[i] = bs->v[--bs->n];
            break;
        }
    pthread_mutex_unlock(&bs->mu);
    free(b);
    return ret != 0 ? ret : 1;
}

/* Under the lock: the buckets that take no new bodies, into out (cap of them). */
static size_t buckets_closed(struct store_buckets *bs, uint64_t now, uint64_t age_us,
                             struct store_body **out, size_t cap)
{
    size_t n = 0;

    if (bs->current && now - bs->current->created_us >= age_us) {
        bs->current->closed_us = now;
        bs->current = NULL;
    }
    for (size_t i = 0; i < bs->n && n < cap; i++)
        if (bs->v[i] != bs->current && !bs->v[i]->removing)
            out[n++] = bs->v[i];
    return n;
}

int store_db_body_sweep(struct store_db *s, const struct store_body_limits *l,
                        struct store_body_sweep *out)
{
    struct store_buckets *bs = &s->h->buckets;
    struct store_body *v[BODY_SWEEP_BUCKETS];
    uint64_t now = now_us(), until = now + (uint64_t)(BODY_SWEEP_SECONDS * 1e6);
    size_t n;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&bs->mu);
    n = buckets_closed(bs, now, l->bucket_age_us, v, BODY_SWEEP_BUCKETS);
    out->buckets = bs->n;
    pthread_mutex_unlock(&bs->mu);
    /* only this thread removes buckets, so v stays valid */
    for (size_t i = 0; i < n && ret == 0; i++) {
        if (now - v[i]->closed_us >= l->keep_us)
            ret = bucket_evacuate(s, v[i], BODY_EVACUATE_MAX, until, &out->moved);
        if (ret == 0 && (ret = bucket_named(s->h, v[i]->id)) == 0 &&
            (ret = bucket_remove(s, v[i])) == 1)
            out->removed++;
        if (ret == 1)
            ret = 0; /* still named (a message is queued) or removed */
    }
    return ret;
}
