/* store_db.h - the store in Berkeley DB, spoken in records: open, transactions, records, scans. */
#ifndef SPOOLGATE_STORE_DB_H
#define SPOOLGATE_STORE_DB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store_records.h"

/* Returned for a record whose bytes do not decode (never guessed at). */
#define STORE_ECORRUPT (-30000)
/* A transaction committed in memory whose log could not be written to disk (a full disk): it
 * lands if the log is written later, and is lost if the store dies first.  store_db_strerror
 * says why the write failed. */
#define STORE_EUNFLUSHED (-30001)
/* A replicated commit that a quorum of the group did not acknowledge in repl_ack_timeout
 * (DB_EVENT_REP_PERM_FAILED): it is in this site's log, and may be lost in a failover. */
#define STORE_ENOQUORUM (-30002)
/* A commit that happened here all the same, though its caller is told it failed. */
#define STORE_COMMITTED_ANYWAY(ret) ((ret) == STORE_EUNFLUSHED || (ret) == STORE_ENOQUORUM)
/* No such record, or a scan reached the end (it is Berkeley DB's DB_NOTFOUND). */
#define STORE_ENOTFOUND (-30988)

/* store_db_txn flags. */
#define STORE_TXN_READ_COMMITTED 1u /* reads release their locks at once (no updates) */
/* In a deadlock, others are the victims: for the router's recipient updates, which meet
 * new submissions on the same last pages of the recipient and due indexes (a submission
 * that loses is cheap to run again; an update batch that loses every time is a result lost). */
#define STORE_TXN_PRIORITY 2u
/* Record read and write flags. */
#define STORE_DB_FOR_UPDATE 1u /* read: write-lock the record now, it is about to change */
#define STORE_DB_NEW 2u        /* write: fail if the record exists already */

/* What STATS reports: kept in the store by every transaction that changes it. */
struct store_counts {
    uint64_t messages;
    uint64_t by_state[RCPT_STATE_COUNT]; /* recipients per state */
};

/* Counters of the store since it started, in memory (spoolctl metrics): the commit time of
 * every transaction that wrote, and the recipients that entered each state by a commit. */
#define STORE_COMMIT_BUCKETS 12 /* upper bounds in store_db_commit_le_us, then +Inf */
extern const uint64_t store_db_commit_le_us[STORE_COMMIT_BUCKETS];
struct store_db_metrics {
    _Atomic uint64_t commit_bucket[STORE_COMMIT_BUCKETS + 1];
    _Atomic uint64_t commit_sum_us, commits;
    _Atomic uint64_t entered[RCPT_STATE_COUNT];
};

struct store_db_handles; /* the environment and its databases: store_db*.c's own */
struct store_txn;        /* one transaction of store_db_txn */

struct store_db {
    struct store_db_handles *h;
    uint64_t generation; /* created once, at open (replicated: each time this site is master) */
    uint64_t last_qid;   /* largest qid in msg at open */
    int deadlock_retries;
    int lock_fd;    /* exclusive flock on <db_dir>/store.lock (replicated: lock/store.lock) */
    int replicated; /* opened with the Replication Manager: bodies all go to body.db */
    struct store_db_metrics metrics;
    struct store_db_age *age; /* the queue by age (store_db_age.c) */
};

/* store_db_errlog.c: Berkeley DB's messages into the log, repeats of one (numbers aside)
 * within a minute folded into a count, logged when they stop or a minute has passed. */
void store_db_errlog(const char *msg);
void store_db_errlog_flush(void); /* now and then from the loop: pending counts out */

/* store_db.c: the environment. */

/* fn is called, on any thread and perhaps more than once, when the environment has failed
 * (DB_EVENT_PANIC: every call returns DB_RUNRECOVERY from then on, until a start with
 * recovery). */
void store_db_on_panic(void (*fn)(void));

/* Create directories, open the environment with recovery, open every
 * database, create this start's generation.  0, or -1 with err set. */
int store_db_open(struct store_db *s, const struct sg_config *c, char *err, size_t errsz);
/* The same in two steps, for a replicated store: the environment (rc: the replication group,
 * or NULL), then, once this site is master, the databases and the generation. */
struct store_repl_conf;
int store_db_open_env(struct store_db *s, const struct sg_config *c,
                      const struct store_repl_conf *rc, char *err, size_t errsz);
int store_db_open_data(struct store_db *s, const struct sg_config *c, char *err, size_t errsz);
void store_db_close(struct store_db *s);
/* Checkpoint; log files no longer needed are removed by BDB (auto-remove). */
int store_db_checkpoint(struct store_db *s);

/* Run fn inside a transaction: commit (durably) on 0, abort otherwise;
 * deadlocks are retried up to deadlock_retries times, so fn must be safe
 * to run again from the start.  Returns fn's or BDB's error, or 0. */
typedef int (*store_txn_fn)(struct store_txn *t, void *arg);
int store_db_txn(struct store_db *s, store_txn_fn fn, void *arg, uint32_t txn_flags);

/* Text for a BDB or store error, and the IPC error class it maps to. */
const char *store_db_strerror(int ret);
uint32_t store_db_ipc_code(int ret);

/* store_db_repl.c: the Replication Manager. */
enum store_rep_event {
    STORE_REP_CLIENT,      /* this site is a replica */
    STORE_REP_MASTER,      /* this site was elected master */
    STORE_REP_NEWMASTER,   /* the group has a master (eid) */
    STORE_REP_DUPMASTER,   /* another master was found: this one steps down */
    STORE_REP_STARTUPDONE, /* a replica has caught up with the master */
    STORE_REP_REMOVED,     /* this site was removed from the group: its replication stopped */
};
/* fn is called on Berkeley DB's threads: it may not call Berkeley DB. */
void store_db_on_rep_event(void (*fn)(enum store_rep_event ev, int eid));
/* After store_db_open_env: connect to the group and hold elections.  Blocking.  0, -2 when this
 * site is not a member yet and no other site could be reached to join through (try again), or
 * -1; err says why. */
int store_db_repl_start(struct store_db *s, char *err, size_t errsz);
struct store_repl_peer {
    char host[64];
    unsigned port;
    int connected, is_master;
};
struct store_repl_status {
    int is_master;
    int master_eid;  /* -1: none known */
    uint32_t nsites; /* members of the group */
    uint32_t lsn_file, lsn_offset;
    struct store_repl_peer remote[16];
    size_t nremote;
};
/* Blocking (a worker's): the group as this site sees it. */
int store_db_repl_status(struct store_db *s, struct store_repl_status *st);
/* Blocking (a worker's), on the master: take the member at host:port out of the group's
 * membership (DB_SITE->remove).  0, STORE_ENOQUORUM when the change lacked its
 * acknowledgements, or Berkeley DB's error. */
int store_db_repl_remove(struct store_db *s, const char *host, unsigned port);

/* store_db_msg.c: one message's records, inside a transaction. */

int store_db_get_envelope(struct store_txn *t, uint64_t qid, struct rec_envelope *e,
                          uint32_t flags);
int store_db_put_envelope(struct store_txn *t, const struct rec_envelope *e, uint32_t flags);
int store_db_get_rcpt(struct store_txn *t, uint64_t qid, uint32_t index, struct rec_rcpt *r,
                      uint32_t flags);
int store_db_put_rcpt(struct store_txn *t, uint64_t qid, uint32_t index, const struct rec_rcpt *r);
/* The first copy's qid under an origin key; STORE_ENOTFOUND also for a record that does not
 * decode (logged), so the submission is stored and the key rewritten. */
int store_db_get_origin(struct store_txn *t, const char *origin, uint64_t *qid, uint32_t flags);
/* Record e's origin key: e's qid, first seen at its arrival. */
int store_db_put_origin(struct store_txn *t, const struct rec_envelope *e);
int store_db_del_origin(struct store_txn *t, const char *origin);
/* Remove envelope, recipients and body chunks of a message. */
int store_db_delete_message(struct store_txn *t, const struct rec_envelope *e);

/* store_db_body.c: the body databases.  New bodies go to the current bucket (a database of
 * its own, begun every store.body_bucket_size octets or body_bucket_age seconds), whose
 * records are never deleted one by one: once no envelope names a closed bucket, the sweep
 * removes it whole.  Bodies still queued body_bucket_keep after their bucket closed are
 * copied into body.db (id 0), where deletes remove records.  A writer or reader holds a
 * reference, so a bucket is never removed under it. */
struct store_body;
struct store_body_limits {
    uint64_t bucket_size;   /* store.body_bucket_size */
    uint64_t bucket_age_us; /* store.body_bucket_age */
    uint64_t keep_us;       /* store.body_bucket_keep */
};
void store_db_body_limits(const struct sg_config *c, struct store_body_limits *l);
struct store_body_sweep {
    size_t buckets;   /* there were, before the sweep */
    unsigned removed; /* buckets removed */
    unsigned moved;   /* bodies moved into body.db */
};
/* The largest chunk not above chunk_size that fills whole 64 KiB overflow pages. */
size_t store_db_body_chunk_fit(size_t chunk_size);
/* The bucket for a new body of size octets, referenced. */
int store_db_body_for_write(struct store_db *s, const struct store_body_limits *l, uint64_t size,
                            struct store_body **b);
/* Bucket id (an envelope's body_bucket), referenced; STORE_ENOTFOUND when it is gone. */
int store_db_body_ref(struct store_db *s, uint32_t id, struct store_body **b);
void store_db_body_unref(struct store_db *s, struct store_body *b);
uint32_t store_db_body_id(const struct store_body *b);
/* Body chunk n of qid in b into buf (cap bytes); its length in *len. */
int store_db_get_chunk(struct store_txn *t, struct store_body *b, uint64_t qid, uint32_t n,
                       uint8_t *buf, size_t cap, size_t *len);
int store_db_put_chunk(struct store_txn *t, struct store_body *b, uint64_t qid, uint32_t n,
                       const uint8_t *data, size_t len);
/* Close the current bucket when it is old, move old bucket's bodies, remove empty buckets.
 * One thread at a time (the store's sweep timer). */
int store_db_body_sweep(struct store_db *s, const struct store_body_limits *l,
                        struct store_body_sweep *out);

/* store_db_origin.c: de-duplication keys expire.  Each sweep walks up to max keys from where the
 * last stopped (resume) and deletes those seen more than lifetime_us ago; wrapped when the walk
 * reached the end (the next starts over).  One transaction. */
struct store_origin_sweep {
    char resume[IPC_ORIGIN_MAX + 1];
    size_t resume_len;
    unsigned expired; /* by this sweep */
    int wrapped;
};
int store_db_origin_sweep(struct store_db *s, uint64_t lifetime_us, unsigned max,
                          struct store_origin_sweep *sw);

/* store_db_scan.c: cursors over every message or the due index. */

/* The envelope with the smallest qid >= from; STORE_ENOTFOUND at the end.
 * On STORE_ECORRUPT (logged) e->qid is set so the caller can step past it. */
int store_db_next_envelope(struct store_txn *t, uint64_t from, struct rec_envelope *e);
/* A walk over messages in qid order with their recipients, one cursor on each database for
 * up to max messages (a batch of a stream, in one transaction): fn gets each envelope and its
 * recipients (rc[0..nrcpt-1], valid during the call) and returns 0 to go on, or anything else
 * to stop the walk with that.  pos is the qid to start at, and after the walk the qid after the
 * last one visited.  An envelope that does not decode is logged and stepped past; a recipient
 * missing or not decoding is logged and ends the walk with STORE_ECORRUPT.  Returns 0
 * after max messages, STORE_ENOTFOUND at the end, or fn's or a store error. */
typedef int (*store_msg_fn)(const struct rec_envelope *e, const struct rec_rcpt *rc, void *arg);
struct store_walk {
    uint64_t pos;
    unsigned max;
    store_msg_fn fn;
    void *arg;
    struct rec_rcpt *rc; /* the walker's buffer: NULL at first, free() it when done */
    uint32_t cap;
    uint64_t corrupt; /* envelopes stepped past and recipients quarantined, added to */
};
int store_db_walk_messages(struct store_txn *t, struct store_walk *w);
/* Call fn for the due index entries in time order whose next attempt is
 * at or before `before`, at most limit of them. */
typedef void (*store_due_fn)(const struct rec_due *d, void *arg);
int store_db_scan_due(struct store_txn *t, uint64_t before, uint32_t limit, store_due_fn fn,
                      void *arg);
/* Count every message, and every recipient by state (the counts are set, not added to). */
int store_db_count(struct store_txn *t, uint64_t *messages, uint64_t by_state[RCPT_STATE_COUNT]);

/* store_db_counts.c: the counts without a scan.  The record functions of store_db_msg.c count
 * what they add, change and remove in their transaction, and store_db_txn adds that to the
 * record in meta.db just before it commits, so the counts are exactly what is committed, also
 * after recovery.  A store made before the record existed gets it at open, by one scan. */
int store_db_get_counts(struct store_txn *t, struct store_counts *c);
/* Overwrite the record (the start-up re-enumeration, when its count disagrees). */
int store_db_set_counts(struct store_txn *t, const struct store_counts *c);

/* store_db_age.c: recipients not final by arrival minute and state, in memory.  _start empties
 * them and counts from now on (the start-up re-enumeration), _count_now adds one recipient
 * found by it; _buckets sums them by age at now into out (-1 when they are not kept: out of
 * memory, or a transaction too wide to count). */
int store_db_age_init(struct store_db *s);
void store_db_age_free(struct store_db *s);
void store_db_age_start(struct store_db *s);
void store_db_age_count_now(struct store_db *s, uint64_t qid, uint32_t state);
int store_db_age_buckets(struct store_db *s, uint64_t now,
                         uint64_t out[RCPT_STATE_COUNT][IPC_SHAPE_BUCKETS]);

/* store_db_pause.c: destinations paused by an administrator.  domain "" is every one. */
int store_db_pause_set(struct store_txn *t, const char *domain, int on, uint64_t when_us);
typedef void (*store_pause_fn)(const char *domain, void *arg);
int store_db_pause_list(struct store_txn *t, store_pause_fn fn, void *arg);

#endif
