/* store_db.c - the Berkeley DB environment: open with recovery, generation, retried transactions, errors. */
#include "store_db_bdb.h"
#include "store_db_chksum.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "privilege.h"
#include "qid.h"

#define STORE_FORMAT 1u

_Static_assert(STORE_ENOTFOUND == DB_NOTFOUND, "STORE_ENOTFOUND is BDB's DB_NOTFOUND");

static void store_db_errcall(const DB_ENV *env, const char *prefix, const char *msg)
{
    store_db_errlog(msg);
}

static void (*store_db_panic_fn)(void);

void store_db_on_panic(void (*fn)(void))
{
    store_db_panic_fn = fn;
}

_Thread_local int store_db_perm_failed;

/* On whatever thread met the failure (a commit's own for PERM_FAILED); Berkeley DB may not be
 * called from here. */
static void store_db_event(DB_ENV *env, u_int32_t event, void *info)
{
    if (event == DB_EVENT_PANIC && store_db_panic_fn)
        store_db_panic_fn();
    else if (event == DB_EVENT_REP_PERM_FAILED)
        store_db_perm_failed = 1;
    else
        store_db_rep_event(event, info);
}

/* One store per environment: recovery on an environment another process
 * uses would wreck it, so hold an exclusive lock for our lifetime.  A replicated store keeps it
 * in a directory of its own: replication's internal init reads every file of the environment's
 * directory as a database. */
static int store_lock(struct store_db *s, const struct sg_config *c, int replicated, char *err,
                      size_t errsz)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/lock", config_store_dir(c));
    if (replicated && priv_mkdirs(path, 0700, err, errsz) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s", config_store_dir(c),
             replicated ? "lock/store.lock" : "store.lock");
    if ((s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, errsz, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errsz, "%s: another spoolgate-store is using this store (%s)", path,
                 strerror(errno));
        close(s->lock_fd);
        s->lock_fd = -1;
        return -1;
    }
    return 0;
}

static int store_env_open(struct store_db_handles *h, const struct sg_config *c,
                          const struct store_repl_conf *rc, char *err, size_t errsz)
{
    DB_ENV *env;
    int ret;
    u_int32_t gb = (u_int32_t)(c->store.cache_size >> 30);
    u_int32_t bytes = (u_int32_t)(c->store.cache_size & ((1 << 30) - 1));

    if ((ret = db_env_create(&env, 0)) != 0) {
        snprintf(err, errsz, "db_env_create: %s", db_strerror(ret));
        return -1;
    }
    h->env = env;
    env->set_errcall(env, store_db_errcall);
    env->set_event_notify(env, store_db_event);
    env->set_cachesize(env, gb, bytes, 1);
    env->set_lg_bsize(env, (u_int32_t)c->store.log_buffer_size);
    env->set_lg_max(env, (u_int32_t)c->store.log_file_size);
    env->set_lk_detect(env, DB_LOCK_DEFAULT);
    env->set_lk_max_locks(env, 200000);
    env->set_lk_max_lockers(env, 20000);
    env->set_lk_max_objects(env, 200000);
    env->set_tx_max(env, 1000);
    env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
    if (rc && store_db_repl_config(env, c, rc, err, errsz) < 0)
        return -1;
    ret = env->open(env, config_store_dir(c),
                    DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_INIT_TXN |
                        DB_RECOVER | DB_THREAD | DB_PRIVATE | (rc ? DB_INIT_REP : 0),
                    0600);
    if (ret != 0) {
        snprintf(err, errsz, "%s: cannot open Berkeley DB environment: %s", config_store_dir(c),
                 db_strerror(ret));
        return -1;
    }
    return 0;
}

/* Each database once: a replicated master that could not open them all (a deadlock with
 * replication's own work) tries again later with those still missing. */
static int store_open_one(struct store_db_handles *h, DB **dbp, const char *file, DBTYPE type,
                          u_int32_t db_flags, u_int32_t pagesize, char *err, size_t errsz)
{
    DB *db;
    int ret;

    if (*dbp)
        return 0;
    if ((ret = db_create(&db, h->env, 0)) != 0)
        goto fail;
    if (db_flags)
        db->set_flags(db, db_flags);
    if (pagesize)
        db->set_pagesize(db, pagesize);
    ret = db->open(db, NULL, file, NULL, type, DB_CREATE | DB_AUTO_COMMIT | DB_THREAD, 0600);
    if (ret == 0) {
        *dbp = db;
        return 0;
    }
    db->close(db, 0);
fail:
    snprintf(err, errsz, "%s: cannot open: %s", file, db_strerror(ret));
    return ret == DB_LOCK_DEADLOCK || ret == DB_REP_HANDLE_DEAD || ret == DB_REP_LOCKOUT ? -2 : -1;
}

/* Secondary key of a recipient record: its next attempt time, if due-able. */
static int store_due_key(DB *sec, const DBT *pkey, const DBT *pdata, DBT *skey)
{
    const uint8_t *p = pdata->data;
    uint8_t *k;

    if (pdata->size < REC_RCPT_FIXED_LEN || p[0] != REC_VERSION ||
        !store_rec_rcpt_is_due(store_rec_get_be32(p + REC_RCPT_STATE_OFF),
                               store_rec_get_be64(p + REC_RCPT_NEXT_ATTEMPT_OFF)))
        return DB_DONOTINDEX;
    if ((k = malloc(REC_DUE_KEY_LEN)) == NULL)
        return ENOMEM;
    memcpy(k, p + REC_RCPT_NEXT_ATTEMPT_OFF, REC_DUE_KEY_LEN);
    memset(skey, 0, sizeof(*skey));
    skey->data = k;
    skey->size = REC_DUE_KEY_LEN;
    skey->flags = DB_DBT_APPMALLOC;
    return 0;
}

/* 0, -1, or -2 for a failure worth trying again (store_open_one). */
static int store_open_dbs(struct store_db_handles *h, char *err, size_t errsz)
{
    int ret;

    if ((ret = store_open_one(h, &h->meta, "meta.db", DB_BTREE, 0, 0, err, errsz)) < 0 ||
        (ret = store_open_one(h, &h->msg, "msg.db", DB_BTREE, 0, 0, err, errsz)) < 0 ||
        (ret = store_open_one(h, &h->rcpt, "rcpt.db", DB_BTREE, 0, 0, err, errsz)) < 0 ||
        (ret = store_open_one(h, &h->due, "due.db", DB_BTREE, DB_DUP | DB_DUPSORT, 0, err, errsz)) <
            0 ||
        (ret = store_open_one(h, &h->body, "body.db", DB_BTREE, 0, 65536, err, errsz)) < 0 ||
        (ret = store_open_one(h, &h->origin, "origin.db", DB_BTREE, 0, 0, err, errsz)) < 0 ||
        (ret = store_open_one(h, &h->bodyidx, "bodyidx.db", DB_BTREE, 0, 0, err, errsz)) < 0)
        return ret;
    if (h->associated)
        return 0;
    ret = h->rcpt->associate(h->rcpt, NULL, h->due, store_due_key, DB_CREATE | DB_AUTO_COMMIT);
    if (ret == 0)
        h->associated = 1;
    if (ret != 0) {
        snprintf(err, errsz, "due index: cannot associate: %s", db_strerror(ret));
        return -1;
    }
    return 0;
}

static int meta_get_u64(struct store_txn *t, const char *name, uint64_t *v, uint32_t flags)
{
    uint8_t buf[8];
    size_t len;
    int ret = store_db_get_value(t->db->h->meta, t->txn, name, strlen(name), buf, sizeof(buf), &len,
                                 flags);

    if (ret == 0 && len != 8)
        return STORE_ECORRUPT;
    if (ret == 0)
        *v = store_rec_get_be64(buf);
    return ret;
}

static int meta_put_u64(struct store_txn *t, const char *name, uint64_t v)
{
    uint8_t buf[8];

    store_rec_put_be64(buf, v);
    return store_db_put_value(t->db->h->meta, t->txn, name, strlen(name), buf, sizeof(buf), 0);
}

/* The one place a store generation is created: strictly greater than the
 * last one, written in one transaction. */
static int store_new_generation(struct store_txn *t, void *arg)
{
    struct store_db *s = t->db;
    uint64_t old = 0, format = STORE_FORMAT, now = now_us();
    int ret;

    ret = meta_get_u64(t, "format", &format, STORE_DB_FOR_UPDATE);
    if (ret != 0 && ret != DB_NOTFOUND)
        return ret;
    if (format > STORE_FORMAT)
        return EPROTONOSUPPORT;
    ret = meta_get_u64(t, "generation", &old, STORE_DB_FOR_UPDATE);
    if (ret != 0 && ret != DB_NOTFOUND)
        return ret;
    s->generation = now > old ? now : old + 1;
    if ((ret = meta_put_u64(t, "format", STORE_FORMAT)) != 0)
        return ret;
    return meta_put_u64(t, "generation", s->generation);
}

static int store_find_last_qid(struct store_db *s)
{
    DB *msg = s->h->msg;
    DBC *cur;
    uint8_t kbuf[REC_MSG_KEY_LEN];
    DBT key = {.data = kbuf, .ulen = sizeof(kbuf), .flags = DB_DBT_USERMEM};
    uint8_t vbuf[8];
    DBT val = {.data = vbuf, .ulen = sizeof(vbuf), .flags = DB_DBT_PARTIAL | DB_DBT_USERMEM};
    int ret;

    if ((ret = msg->cursor(msg, NULL, &cur, 0)) != 0)
        return ret;
    ret = cur->get(cur, &key, &val, DB_LAST);
    if (ret == 0 && key.size == REC_MSG_KEY_LEN)
        s->last_qid = store_rec_get_be64(kbuf);
    cur->close(cur);
    return ret == DB_NOTFOUND ? 0 : ret;
}

int store_db_open_env(struct store_db *s, const struct sg_config *c,
                      const struct store_repl_conf *rc, char *err, size_t errsz)
{
    memset(s, 0, sizeof(*s));
    s->deadlock_retries = (int)c->store.deadlock_retries;
    s->lock_fd = -1;
    if (priv_mkdirs(config_store_dir(c), 0700, err, errsz) < 0 ||
        store_lock(s, c, rc != NULL, err, errsz) < 0)
        return -1;
    if (!(s->h = calloc(1, sizeof(*s->h))) || store_db_age_init(s) < 0) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    {
        char why[256];
        int ours = store_db_chksum_init(why, sizeof(why));

        if (!ours)
            log_notice("log checksums: %s", why);
        if (store_env_open(s->h, c, rc, err, errsz) < 0)
            goto fail;
        /* Opening wrote or read log records: each was checksummed, through us or not. */
        if (ours && !store_db_chksum_called())
            log_notice("log checksums: libdb does not call store_db_chksum.c (spoolgate-store "
                       "does not export __ham_func4?): libdb's own are used");
    }
    s->replicated = rc != NULL;
    return 0;
fail:
    store_db_close(s);
    return -1;
}

/* Not undone on failure: a replicated store tries again (the generation's commit may lack its
 * quorum), a single one exits. */
int store_db_open_data(struct store_db *s, const struct sg_config *c, char *err, size_t errsz)
{
    int ret;

    if (!s->h->buckets_open) {
        if ((ret = store_open_dbs(s->h, err, errsz)) < 0)
            return ret;
        if (store_db_body_open(s->h, config_store_dir(c), err, errsz) < 0)
            return -1;
    }
    s->h->buckets_open = 1;
    if ((ret = store_db_txn(s, store_new_generation, NULL, 0)) != 0) {
        snprintf(err, errsz, "cannot create store generation: %s", store_db_strerror(ret));
        return ret == STORE_ENOQUORUM ? -2 : -1;
    }
    if ((ret = store_db_counts_init(s)) != 0) {
        snprintf(err, errsz, "cannot set up the counts for stats: %s", store_db_strerror(ret));
        return -1;
    }
    if ((ret = store_find_last_qid(s)) != 0) {
        snprintf(err, errsz, "cannot read message index: %s", store_db_strerror(ret));
        return -1;
    }
    return 0;
}

int store_db_open(struct store_db *s, const struct sg_config *c, char *err, size_t errsz)
{
    if (store_db_open_env(s, c, NULL, err, errsz) < 0)
        return -1;
    if (store_db_open_data(s, c, err, errsz) == 0)
        return 0;
    store_db_close(s);
    return -1;
}

static void store_close_handles(struct store_db_handles *h)
{
    DB **dbs[] = {&h->due, &h->bodyidx, &h->rcpt, &h->msg, &h->body, &h->origin, &h->meta};

    if (h->buckets_open)
        store_db_body_close(h);
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        if (*dbs[i])
            (*dbs[i])->close(*dbs[i], 0);
        *dbs[i] = NULL;
    }
    if (h->env) {
        h->env->txn_checkpoint(h->env, 0, 0, 0);
        h->env->close(h->env, 0);
        h->env = NULL;
    }
}

void store_db_close(struct store_db *s)
{
    store_db_age_free(s);
    if (s->h) {
        store_close_handles(s->h);
        free(s->h);
        s->h = NULL;
    }
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the lock */
    s->lock_fd = -1;
}

int store_db_checkpoint(struct store_db *s)
{
    return s->h->env->txn_checkpoint(s->h->env, 0, 0, 0);
}

/* Durable commit with group commit: the commit record goes into the log
 * buffer without a flush, then the log is flushed to its end.  A thread
 * whose record was written while another thread was flushing finds it
 * already on disk and returns without a flush of its own, so concurrent
 * commits share fdatasync calls.  Either way, nothing returns 0 before its
 * commit record is on disk. */
#define STORE_DB_PRIORITY_HIGH 1000u /* BDB's default is 100 */

/* Why the last flush of this thread failed, for store_db_strerror(STORE_EUNFLUSHED). */
static _Thread_local int store_db_flush_errno;

static int store_db_commit(DB_ENV *env, DB_TXN *txn)
{
    int ret;

    store_db_perm_failed = 0;
    if ((ret = txn->commit(txn, DB_TXN_NOSYNC)) != 0)
        return ret;
    if ((ret = env->log_flush(env, NULL)) == 0)
        return store_db_perm_failed ? STORE_ENOQUORUM : 0;
    store_db_flush_errno = ret; /* committed all the same: it cannot be taken back here */
    return STORE_EUNFLUSHED;
}

const uint64_t store_db_commit_le_us[STORE_COMMIT_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

static uint64_t store_db_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A commit that wrote: its time into the histogram, its recipients into the entered counts. */
static int store_db_commit_counted(struct store_db *s, struct store_txn *t)
{
    struct store_db_metrics *m = &s->metrics;
    uint64_t start = store_db_mono_us(), us;
    int ret = store_db_commit(s->h->env, t->txn), b = 0;

    if (ret != 0 && !STORE_COMMITTED_ANYWAY(ret))
        return ret;
    us = store_db_mono_us() - start;
    while (b < STORE_COMMIT_BUCKETS && us > store_db_commit_le_us[b])
        b++;
    atomic_fetch_add(&m->commit_bucket[b], 1);
    atomic_fetch_add(&m->commit_sum_us, us);
    atomic_fetch_add(&m->commits, 1);
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        if (t->entered[i])
            atomic_fetch_add(&m->entered[i], t->entered[i]);
    store_db_age_commit(s, t);
    return ret;
}

int store_db_txn(struct store_db *s, store_txn_fn fn, void *arg, uint32_t txn_flags)
{
    DB_ENV *env = s->h->env;
    u_int32_t begin_flags = txn_flags & STORE_TXN_READ_COMMITTED ? DB_READ_COMMITTED : 0;
    int ret = 0;

    for (int attempt = 0; attempt <= s->deadlock_retries; attempt++) {
        struct store_txn t = {.db = s};

        if ((ret = env->txn_begin(env, NULL, &t.txn, begin_flags)) != 0)
            return ret;
        if (txn_flags & STORE_TXN_PRIORITY)
            t.txn->set_priority(t.txn, STORE_DB_PRIORITY_HIGH);
        ret = fn(&t, arg);
        if (ret == 0 && t.counted)
            ret = store_db_counts_apply(&t);
        if (ret == 0 && !(txn_flags & STORE_TXN_READ_COMMITTED))
            return store_db_commit_counted(s, &t);
        if (ret == 0) /* a read: nothing of its own to flush (nor to fail on a full disk) */
            return t.txn->commit(t.txn, DB_TXN_NOSYNC);
        t.txn->abort(t.txn);
        if (ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED)
            return ret;
    }
    return ret;
}

const char *store_db_strerror(int ret)
{
    if (ret == STORE_ECORRUPT)
        return "record does not decode (store corruption)";
    if (ret == STORE_ENOQUORUM)
        return "not acknowledged by a quorum of the replication group (within "
               "store.repl_ack_timeout)";
    if (ret == STORE_EUNFLUSHED)
        return store_db_flush_errno == ENOSPC ? "the log cannot be written: no space left on device"
                                              : "the log cannot be written to disk";
    return db_strerror(ret);
}

uint32_t store_db_ipc_code(int ret)
{
    if (ret == ENOSPC || ret == EDQUOT ||
        (ret == STORE_EUNFLUSHED &&
         (store_db_flush_errno == ENOSPC || store_db_flush_errno == EDQUOT)))
        return IPC_ERR_NOSPACE;
    if (ret == DB_NOTFOUND)
        return IPC_ERR_NOTFOUND;
    return IPC_ERR_TEMP;
}

int store_db_corrupt(uint64_t qid, const char *fmt, ...)
{
    char q[QID_TEXT_LEN + 1];
    va_list ap;

    qid_format(qid, q);
    va_start(ap, fmt);
    log_vmsg(LOG_LVL_ERROR, q, fmt, ap);
    va_end(ap);
    return STORE_ECORRUPT;
}
