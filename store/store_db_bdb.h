/* store_db_bdb.h - the Berkeley DB handles behind store_db.h, shared by store_db*.c and by nothing else. */
#ifndef SPOOLGATE_STORE_DB_BDB_H
#define SPOOLGATE_STORE_DB_BDB_H

#include <db.h>
#include <pthread.h>

#include "store_db.h"

/* A body database (store_db_body.c): a bucket of new bodies, or body.db (id 0). */
struct store_body {
    uint32_t id;
    DB *db;
    uint64_t created_us, closed_us; /* closed: takes no new bodies any more */
    uint64_t bytes;                 /* body octets given to it */
    int refs;                       /* writers and readers using it now */
    int removing;
};

struct store_buckets {
    pthread_mutex_t mu; /* over the list, current, refs and removing */
    struct store_body **v;
    size_t n, cap;
    struct store_body *current; /* takes new bodies; NULL: the next write begins one */
    struct store_body legacy;   /* body.db */
    uint32_t next_id;
};

struct store_db_handles {
    DB_ENV *env;
    DB *meta;    /* name -> value: generation, format */
    DB *msg;     /* qid -> envelope */
    DB *rcpt;    /* qid,index -> recipient */
    DB *due;     /* next_attempt -> rcpt key (secondary of rcpt) */
    DB *body;    /* qid,chunk -> bytes: bodies moved out of buckets, and older ones */
    DB *bodyidx; /* bucket,qid -> nothing: the envelopes naming each bucket */
    struct store_buckets buckets;
    int buckets_open;
    int associated; /* due is rcpt's secondary */
    DB *origin;     /* submitter's key -> qid, first seen */
};

/* A change of the recipients not final of one arrival minute and state (store_db_age.c). */
#define STORE_AGE_TXN 256
struct store_age_delta {
    uint64_t minute;
    uint32_t state;
    int32_t delta;
};

/* What a store_txn_fn works in: lives on store_db_txn's stack. */
struct store_txn {
    struct store_db *db;
    DB_TXN *txn;
    struct {
        int64_t messages;
        int64_t by_state[RCPT_STATE_COUNT];
    } delta;                                   /* what this transaction changed of the counts */
    uint32_t entered[RCPT_STATE_COUNT];        /* recipients put into each state (metrics) */
    struct store_age_delta age[STORE_AGE_TXN]; /* what it changed of the queue by age */
    unsigned nage;
    int age_overflow; /* more minutes than age[] holds: the age counts are lost */
    int counted;      /* delta has been touched */
};

/* Read one key's value into buf (cap bytes; its length in *len; flags:
 * STORE_DB_FOR_UPDATE), or write one (flags: STORE_DB_NEW). */
int store_db_get_value(DB *db, DB_TXN *txn, const void *k, size_t klen, void *buf, size_t cap,
                       size_t *len, uint32_t flags);
int store_db_put_value(DB *db, DB_TXN *txn, const void *k, size_t klen, const void *v, size_t vlen,
                       uint32_t flags);

/* store_db_counts.c: note a change of the counts in t (a recipient's state: one more or
 * fewer, states out of range not counted); add t's changes to the record (store_db_txn,
 * last thing before the commit: the record's lock is held only for the commit); create the
 * record at open when it is missing. */
void store_db_count_rcpt(struct store_txn *t, uint32_t state, int delta);
void store_db_count_message(struct store_txn *t, int delta);
int store_db_counts_apply(struct store_txn *t);
int store_db_counts_init(struct store_db *s);

/* store_db_age.c: note a recipient of message qid in state (one more or fewer) in t; add t's
 * changes to the counts by age once it committed. */
void store_db_count_age(struct store_txn *t, uint64_t qid, uint32_t state, int delta);
void store_db_age_commit(struct store_db *s, const struct store_txn *t);

/* store_db_body.c: the buckets listed and opened (after body.db), closed; an envelope of
 * bucket (not 0) added to its index (add 1) or removed from it (add 0), in t. */
int store_db_body_open(struct store_db_handles *h, const char *dir, char *err, size_t errsz);
void store_db_body_close(struct store_db_handles *h);
int store_db_body_index(struct store_txn *t, uint32_t bucket, uint64_t qid, int add);

/* store_db_repl.c: before the environment opens; and its events, from store_db_event. */
struct store_repl_conf;
int store_db_repl_config(DB_ENV *env, const struct sg_config *c, const struct store_repl_conf *rc,
                         char *err, size_t errsz);
void store_db_rep_event(u_int32_t event, void *info);
/* Set on the committing thread by DB_EVENT_REP_PERM_FAILED. */
extern _Thread_local int store_db_perm_failed;

/* Log a record that does not decode; returns STORE_ECORRUPT. */
int store_db_corrupt(uint64_t qid, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
