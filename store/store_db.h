/* store_db.h - the Berkeley DB environment behind spoolgate-store: open, recover, records, transactions. */
#ifndef SPOOLGATE_STORE_DB_H
#define SPOOLGATE_STORE_DB_H

#include <db.h>
#include <stdint.h>

#include "config.h"
#include "store_records.h"

/* Returned for a record whose bytes do not decode (never guessed at). */
#define STORE_ECORRUPT (-30000)

struct store_db {
    DB_ENV *env;
    DB *meta;   /* name -> value: generation, format */
    DB *msg;    /* qid -> envelope */
    DB *rcpt;   /* qid,index -> recipient */
    DB *due;    /* next_attempt -> rcpt key (secondary of rcpt) */
    DB *body;   /* qid,chunk -> bytes */
    DB *origin; /* submitter's key -> qid, first seen */
    uint64_t generation;  /* created once, at open */
    uint64_t last_qid;    /* largest qid in msg at open */
    int deadlock_retries;
    int lock_fd;          /* exclusive flock on <db_dir>/store.lock */
};

/* Create directories, open the environment with recovery, open every
 * database, create this start's generation.  0, or -1 with err set. */
int store_db_open(struct store_db *s, const struct sg_config *c, char *err, size_t errsz);
void store_db_close(struct store_db *s);
/* Checkpoint; log files no longer needed are removed by BDB (auto-remove). */
int store_db_checkpoint(struct store_db *s);

/* Run fn inside a transaction: commit (durably) on 0, abort otherwise;
 * deadlocks are retried up to deadlock_retries times, so fn must be safe
 * to run again from the start.  Returns fn's or BDB's error, or 0. */
typedef int (*store_txn_fn)(struct store_db *s, DB_TXN *txn, void *arg);
int store_db_txn(struct store_db *s, store_txn_fn fn, void *arg, uint32_t begin_flags);

/* Text for a BDB or store error, and the IPC error class it maps to. */
const char *store_db_strerror(int ret);
uint32_t store_db_ipc_code(int ret);

int store_db_get_envelope(struct store_db *s, DB_TXN *txn, uint64_t qid, struct rec_envelope *e,
                          uint32_t flags);
int store_db_put_envelope(struct store_db *s, DB_TXN *txn, const struct rec_envelope *e,
                          uint32_t flags);
int store_db_get_rcpt(struct store_db *s, DB_TXN *txn, uint64_t qid, uint32_t index,
                      struct rec_rcpt *r, uint32_t flags);
int store_db_put_rcpt(struct store_db *s, DB_TXN *txn, uint64_t qid, uint32_t index,
                      const struct rec_rcpt *r);
/* Remove envelope, recipients and body chunks of a message. */
int store_db_delete_message(struct store_db *s, DB_TXN *txn, const struct rec_envelope *e);
/* The envelope with the smallest qid >= from; DB_NOTFOUND at the end. */
int store_db_next_envelope(struct store_db *s, DB_TXN *txn, uint64_t from, struct rec_envelope *e);

#endif
