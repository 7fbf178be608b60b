/* store_submit.c - submissions: stage the body (memory, then an unlinked spill file), commit all in one transaction. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "array.h"
#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"
#include "store_work.h"
#include "smtp_char.h"
#include "smtp_envelope.h"

#define SUBMIT_RCPT_MAX 10000

struct submission {
    struct store *st;
    uint32_t begin_request;
    char qid_text[QID_TEXT_LEN + 1];
    struct rec_envelope env;
    struct rec_rcpt *rcpts;
    uint32_t nrcpt;
    size_t rcpt_cap;
    /* The body bytes after the spilled part, in segments of seg_size octets (the last one
     * filled to mem_len), so that each is one body chunk as it goes to the log and the
     * staging never copies what it already holds to grow. */
    uint8_t **seg;
    uint32_t nseg;
    size_t seg_cap;
    size_t seg_size;
    uint64_t mem_len;
    int fd; /* spill file, unlinked; -1 until needed */
    uint64_t file_len;
    uint64_t total;
    uint64_t staged;   /* octets of mem and the file, counted in st->staged */
    uint32_t err_code; /* first problem, answered at commit */
    char err[256];
};

struct submit_work {
    struct store_work base;
    struct submission *sub;
    uint32_t request_id;
    struct store_body_limits limits;
    struct store_body *body; /* commit: the bucket the chunks go to */
    int ret;                 /* store or errno result */
    uint64_t dup_qid;        /* origin seen before: the first copy */
    uint8_t *chunk;          /* commit: one chunk read back from staging */
    uint32_t err_code;       /* commit: the IPC error for ret, worked out on the worker */
    const char *err_text;
};

static void submission_free_segments(struct submission *sub)
{
    for (uint32_t i = 0; i < sub->nseg; i++)
        free(sub->seg[i]);
    sub->nseg = 0;
    sub->mem_len = 0;
}

/* Octets in memory segment i. */
static size_t segment_len(const struct submission *sub, uint32_t i)
{
    return i + 1 < sub->nseg ? sub->seg_size : (size_t)(sub->mem_len - (uint64_t)i * sub->seg_size);
}

/* The staged body goes (memory and spill file), and with it its part of st->staged. */
static void submission_unstage(struct submission *sub)
{
    if (sub->fd >= 0)
        close(sub->fd);
    sub->fd = -1;
    sub->file_len = 0;
    submission_free_segments(sub);
    free(sub->seg);
    sub->seg = NULL;
    sub->seg_cap = 0;
    sub->st->staged -= sub->staged;
    sub->staged = 0;
}

void store_submission_free(struct submission *sub)
{
    if (!sub)
        return;
    submission_unstage(sub);
    free(sub->rcpts);
    free(sub);
}

static void submission_set_error(struct submission *sub, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void submission_set_error(struct submission *sub, uint32_t code, const char *fmt, ...)
{
    va_list ap;

    if (sub->err_code)
        return;
    sub->err_code = code;
    va_start(ap, fmt);
    vsnprintf(sub->err, sizeof(sub->err), fmt, ap);
    va_end(ap);
}

/* ---- begin / rcpt ------------------------------------------------------ */

/* Whoever submits, the envelope is one the router can write into a command
 * line as it is (smtp_envelope.h); the address itself is not echoed, it may
 * hold the line breaks it is refused for. */
static void submission_check_begin(struct submission *sub, const struct ipc_submit_begin *m)
{
    const char *why;

    if (smtp_envelope_sender_check(m->sender, &why) < 0)
        submission_set_error(sub, IPC_ERR_PERM, "sender address refused: %s", why);
    else if (smtp_envelope_envid_check(m->envid, &why) < 0)
        submission_set_error(sub, IPC_ERR_PERM, "%s", why);
}

static int submission_check_rcpt(struct submission *sub, const struct ipc_submit_rcpt *m)
{
    const char *why;

    if (smtp_envelope_rcpt_check(m->addr, &why) < 0) {
        submission_set_error(sub, IPC_ERR_PERM, "recipient %u address refused: %s", sub->nrcpt + 1,
                             why);
        return -1;
    }
    if (smtp_envelope_orcpt_check(m->orcpt, &why) < 0) {
        submission_set_error(sub, IPC_ERR_PERM, "recipient %u: %s", sub->nrcpt + 1, why);
        return -1;
    }
    return 0;
}

void store_submit_begin(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct ipc_submit_begin m;
    struct ipc_qid_msg started;
    struct submission *sub;
    struct sg_buf b;

    if (ipc_decode_submit_begin(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SUBMIT_BEGIN: %s", r->error);
        return;
    }
    if (c->sub) {
        store_conn_fail(c, IPC_ERR_PROTO, "SUBMIT_BEGIN inside a submission");
        return;
    }
    if (!(sub = calloc(1, sizeof(*sub)))) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return;
    }
    sub->st = st;
    sub->fd = -1;
    sub->seg_size = store_db_body_chunk_fit((size_t)st->cfg->store.chunk_size);
    sub->begin_request = r->request_id;
    sub->env.qid = qid_next(&st->qids, now_us());
    sub->env.arrival_us = now_us();
    sub->env.flags = m.flags;
    sub->env.ret = m.ret;
    if (strcmp(m.sender, "<>") == 0)
        m.sender[0] = '\0'; /* the null sender written with its brackets (sendmail -f '<>') */
    memcpy(sub->env.sender, m.sender, sizeof(m.sender));
    memcpy(sub->env.envid, m.envid, sizeof(m.envid));
    memcpy(sub->env.origin, m.origin, sizeof(m.origin));
    qid_format(sub->env.qid, sub->qid_text);
    c->sub = sub;
    submission_check_begin(sub, &m);
    /* An origin key removes later submissions with the same key as duplicates: from any local
     * user it could be used to drop another submitter's mail. */
    if (c->submit_only && m.origin[0])
        submission_set_error(sub, IPC_ERR_PERM,
                             "an origin key is not taken on the submission socket");
    snprintf(started.qid, sizeof(started.qid), "%s", sub->qid_text);
    sg_buf_init(&b);
    ipc_encode_qid_msg(&b, IPC_SUBMIT_STARTED, r->request_id, &started);
    store_conn_send(c, &b, NULL, NULL);
}

void store_submit_rcpt(struct store_conn *c, struct ipc_reader *r)
{
    struct ipc_submit_rcpt m;
    struct submission *sub = c->sub;
    struct rec_rcpt *rc;

    if (ipc_decode_submit_rcpt(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SUBMIT_RCPT: %s", r->error);
        return;
    }
    if (!sub) {
        store_conn_fail(c, IPC_ERR_PROTO, "SUBMIT_RCPT outside a submission");
        return;
    }
    if (submission_check_rcpt(sub, &m) < 0)
        return;
    if (sub->nrcpt >= SUBMIT_RCPT_MAX) {
        submission_set_error(sub, IPC_ERR_PERM, "more than %d recipients", SUBMIT_RCPT_MAX);
        return;
    }
    if (sg_array_reserve(&sub->rcpts, &sub->rcpt_cap, sub->nrcpt + 1, sizeof(*sub->rcpts)) < 0) {
        submission_set_error(sub, IPC_ERR_TEMP, "out of memory");
        return;
    }
    rc = &sub->rcpts[sub->nrcpt++];
    memset(rc, 0, sizeof(*rc));
    rc->state = RCPT_QUEUED;
    rc->notify = m.notify;
    rc->next_attempt_us = sub->env.arrival_us;
    memcpy(rc->addr, m.addr, sizeof(m.addr));
    memcpy(rc->orcpt, m.orcpt, sizeof(m.orcpt));
}

/* ---- body chunks: memory first, spill file past staging_memory ---------- */

static int submission_open_spill(struct submission *sub, const char *dir)
{
    char path[PATH_MAX];

    sub->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (sub->fd >= 0)
        return 0;
    /* File systems without O_TMPFILE: a named file of our own, unlinked at once. */
    snprintf(path, sizeof(path), "%s/spill.%d.%llu", dir, (int)getpid(),
             (unsigned long long)sub->env.qid);
    if ((sub->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return -1;
    unlink(path);
    return 0;
}

static int write_all_at(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Worker thread: move the memory part to the spill file, unless that would leave less than
 * min_free_space free on its file system. */
static int submission_spill(struct submission *sub, const char *dir, long long min_free)
{
    struct statvfs vfs;

    if (min_free > 0 && statvfs(dir, &vfs) == 0 &&
        (unsigned long long)vfs.f_bavail * vfs.f_frsize <
            (unsigned long long)min_free + sub->mem_len)
        return ENOSPC;
    if (sub->fd < 0 && submission_open_spill(sub, dir) < 0)
        return errno;
    for (uint32_t i = 0; i < sub->nseg; i++) {
        size_t n = segment_len(sub, i);
        if (write_all_at(sub->fd, sub->seg[i], n, sub->file_len) < 0)
            return errno ? errno : EIO;
        sub->file_len += n;
    }
    submission_free_segments(sub);
    return 0;
}

static void spill_run(struct store_work *w)
{
    struct submit_work *sw = (struct submit_work *)w;

    struct store *st = store_conn_store(w->conn);

    sw->ret = submission_spill(sw->sub, st->tmp_dir, st->cfg->store.min_free_space);
}

static void spill_done(struct store_work *w)
{
    struct submit_work *sw = (struct submit_work *)w;
    struct store_conn *c = w->conn;

    if (sw->ret != 0) {
        submission_set_error(sw->sub, sw->ret == ENOSPC ? IPC_ERR_NOSPACE : IPC_ERR_TEMP,
                             "cannot stage message body: %s", strerror(sw->ret));
        log_msg(LOG_LVL_WARNING, sw->sub->qid_text, "%s", sw->sub->err);
        submission_unstage(sw->sub);
    }
    free(sw);
    store_conn_idle(c);
}

static int submission_append(struct submission *sub, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t room = (uint64_t)sub->nseg * sub->seg_size - sub->mem_len, take;

        if (room == 0) {
            if (sg_array_reserve(&sub->seg, &sub->seg_cap, sub->nseg + 1, sizeof(*sub->seg)) < 0 ||
                !(sub->seg[sub->nseg] = malloc(sub->seg_size)))
                return -1;
            sub->nseg++;
            room = sub->seg_size;
        }
        take = n < room ? n : room;
        memcpy(sub->seg[sub->nseg - 1] + (sub->seg_size - room), p, take);
        sub->mem_len += take;
        p += take;
        n -= take;
    }
    return 0;
}

void store_submit_chunk(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct submission *sub = c->sub;
    struct ipc_chunk m;
    struct submit_work *sw;

    if (ipc_decode_chunk(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SUBMIT_CHUNK: %s", r->error);
        return;
    }
    if (!sub) {
        store_conn_fail(c, IPC_ERR_PROTO, "SUBMIT_CHUNK outside a submission");
        return;
    }
    sub->total += m.len;
    if (sub->err_code)
        return;
    if ((long long)sub->total > st->cfg->store.max_message_size) {
        submission_set_error(sub, IPC_ERR_PERM, "message larger than max_message_size (%lld bytes)",
                             st->cfg->store.max_message_size);
        return;
    }
    if (st->staged + m.len > (uint64_t)st->cfg->store.max_staging) {
        submission_set_error(sub, IPC_ERR_NOSPACE,
                             "staging space full (store.max_staging %lld bytes), try again later",
                             st->cfg->store.max_staging);
        log_msg(LOG_LVL_WARNING, sub->qid_text, "%s", sub->err);
        submission_unstage(sub);
        return;
    }
    if (submission_append(sub, m.data, m.len) < 0) {
        submission_set_error(sub, IPC_ERR_TEMP, "out of memory staging the body");
        submission_unstage(sub);
        return;
    }
    sub->staged += m.len;
    st->staged += m.len;
    /* 8-bit content undeclared (a local submission, a client that did not say BODY=8BITMIME) is
     * 8-bit all the same: the router must declare it, or not send it where it cannot go. */
    if (!(sub->env.flags & IPC_FLAG_8BITMIME) && smtp_has_8bit((const char *)m.data, m.len))
        sub->env.flags |= IPC_FLAG_8BITMIME;
    if ((long long)sub->mem_len <= st->cfg->store.staging_memory)
        return;
    if (!(sw = calloc(1, sizeof(*sw)))) {
        submission_set_error(sub, IPC_ERR_TEMP, "out of memory");
        return;
    }
    sw->sub = sub;
    store_work_queue_bulk(c, &sw->base, sub->mem_len, spill_run, spill_done);
}

/* ---- commit ------------------------------------------------------------ */

/* Read body bytes [off, off+n) back from the spill file and memory. */
static int submission_read(const struct submission *sub, uint64_t off, uint8_t *dst, size_t n)
{
    while (n > 0 && off < sub->file_len) {
        size_t want = n;
        ssize_t got;
        if (off + want > sub->file_len)
            want = (size_t)(sub->file_len - off);
        got = pread(sub->fd, dst, want, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? errno : EIO;
        dst += got;
        off += (uint64_t)got;
        n -= (size_t)got;
    }
    for (uint64_t m = off - sub->file_len; n > 0;) {
        uint32_t i = (uint32_t)(m / sub->seg_size);
        size_t at = (size_t)(m % sub->seg_size), take = segment_len(sub, i) - at;

        if (take > n)
            take = n;
        memcpy(dst, sub->seg[i] + at, take);
        dst += take;
        m += take;
        n -= take;
    }
    return 0;
}

static int submit_put_body(struct submit_work *sw, struct store_txn *t)
{
    struct submission *sub = sw->sub;
    const size_t cs = sub->seg_size; /* a body chunk is a staging segment */

    for (uint32_t i = 0; i < sub->env.nchunks; i++) {
        uint64_t off = (uint64_t)i * cs;
        size_t n = sub->total - off < cs ? (size_t)(sub->total - off) : cs;
        const uint8_t *data = sw->chunk;
        int ret;

        /* staged in memory, a segment for a chunk: logged from there, not copied first */
        if (off >= sub->file_len && (off - sub->file_len) % cs == 0)
            data = sub->seg[(off - sub->file_len) / cs];
        else if ((ret = submission_read(sub, off, sw->chunk, n)) != 0)
            return ret;
        if ((ret = store_db_put_chunk(t, sw->body, sub->env.qid, i, data, n)) != 0)
            return ret;
    }
    return 0;
}

/* One transaction: envelope, every recipient, every body chunk, origin. */
static int submit_txn(struct store_txn *t, void *arg)
{
    struct submit_work *sw = arg;
    struct submission *sub = sw->sub;
    int ret;

    sw->dup_qid = 0;
    if (sub->env.origin[0]) {
        ret = store_db_get_origin(t, sub->env.origin, &sw->dup_qid, STORE_DB_FOR_UPDATE);
        if (ret == 0)
            return 0;
        if (ret != STORE_ENOTFOUND)
            return ret;
    }
    if ((ret = store_db_put_envelope(t, &sub->env, STORE_DB_NEW)) != 0)
        return ret;
    for (uint32_t i = 0; i < sub->nrcpt; i++)
        if ((ret = store_db_put_rcpt(t, sub->env.qid, i, &sub->rcpts[i])) != 0)
            return ret;
    if ((ret = submit_put_body(sw, t)) != 0)
        return ret;
    return sub->env.origin[0] ? store_db_put_origin(t, &sub->env) : 0;
}

static int unsubmit_txn(struct store_txn *t, void *arg)
{
    struct submit_work *sw = arg;
    struct rec_envelope e;
    int ret = store_db_get_envelope(t, sw->sub->env.qid, &e, STORE_DB_FOR_UPDATE);

    if (ret != 0)
        return ret;
    if ((ret = store_db_delete_message(t, &e)) != 0)
        return ret;
    return e.origin[0] ? store_db_del_origin(t, e.origin) : 0;
}

/* The message committed in memory but its log could not be written (a full disk), or a
 * replicated commit lacked its quorum: taken back
 * in a second transaction, which the log carries after the first, so when the log is written
 * later neither or both land, and the client, told to try again, makes no second copy.  If it
 * cannot be taken back either, it may come twice. */
static void submit_take_back(struct submit_work *sw, struct store_db *db)
{
    int ret;

    sw->err_code = store_db_ipc_code(sw->ret);
    sw->err_text = store_db_strerror(sw->ret);
    ret = store_db_txn(db, unsubmit_txn, sw, 0);
    if (ret == 0 || STORE_COMMITTED_ANYWAY(ret))
        log_msg(LOG_LVL_WARNING, sw->sub->qid_text,
                "committed but %s: taken back, the client is told to try again", sw->err_text);
    else
        log_msg(LOG_LVL_ERROR, sw->sub->qid_text,
                "committed but %s, and it cannot be taken back (%s): if the log is written later "
                "it is kept, and the client's retry may bring it twice",
                sw->err_text, store_db_strerror(ret));
}

static void commit_run(struct store_work *w)
{
    struct submit_work *sw = (struct submit_work *)w;
    struct store_db *db = &store_conn_store(w->conn)->db;

    /* A buffer for what was spilled to the file; what is in memory goes to the log from there. */
    if (sw->sub->file_len && !(sw->chunk = malloc(sw->sub->seg_size))) {
        sw->ret = ENOMEM;
        return;
    }
    if ((sw->ret = store_db_body_for_write(db, &sw->limits, sw->sub->total, &sw->body)) == 0) {
        sw->sub->env.body_bucket = store_db_body_id(sw->body);
        sw->ret = store_db_txn(db, submit_txn, sw, 0);
        if (STORE_COMMITTED_ANYWAY(sw->ret) && !sw->dup_qid)
            submit_take_back(sw, db);
        store_db_body_unref(db, sw->body);
    }
    free(sw->chunk);
    sw->chunk = NULL;
}

/* The router learns of the new message with its envelope and recipients: no READ_ENVELOPE. */
static void broadcast_committed(struct store *st, const struct submission *sub)
{
    struct sg_buf msg;

    sg_buf_init(&msg);
    store_op_encode_message_frames(&msg, 0, &sub->env, sub->rcpts);
    store_broadcast_committed(st, sub->qid_text, &msg);
    sg_buf_free(&msg);
}

static void commit_reply(struct store_conn *c, struct submit_work *sw)
{
    struct submission *sub = sw->sub;
    struct ipc_submitted m = {.generation = store_conn_store(c)->db.generation};
    struct sg_buf b;

    if (sw->dup_qid) {
        qid_format(sw->dup_qid, m.qid);
        m.duplicate = 1;
        log_msg(LOG_LVL_NOTICE, m.qid,
                "duplicate submission of origin \"%s\" by %s: kept the "
                "first copy, %s discarded",
                sub->env.origin, c->name, sub->qid_text);
    } else {
        snprintf(m.qid, sizeof(m.qid), "%s", sub->qid_text);
        log_msg(LOG_LVL_INFO, m.qid, "from=<%s>, size=%llu, nrcpt=%u (queued by %s)",
                sub->env.sender, (unsigned long long)sub->total, sub->nrcpt, c->name);
    }
    sg_buf_init(&b);
    ipc_encode_submitted(&b, sw->request_id, &m);
    store_conn_send(c, &b, NULL, NULL);
    if (!sw->dup_qid)
        broadcast_committed(store_conn_store(c), sub);
}

static void commit_done(struct store_work *w)
{
    struct submit_work *sw = (struct submit_work *)w;
    struct store_conn *c = w->conn;

    if (sw->ret != 0) {
        const char *why = sw->err_text ? sw->err_text : store_db_strerror(sw->ret);

        log_msg(LOG_LVL_ERROR, sw->sub->qid_text, "commit failed: %s", why);
        store_conn_reply_error(c, sw->request_id,
                               sw->err_text ? sw->err_code : store_db_ipc_code(sw->ret),
                               "cannot store message: %s", why);
    } else if (store_conn_alive(c)) {
        commit_reply(c, sw);
    } else {
        log_msg(LOG_LVL_NOTICE, sw->sub->qid_text, "committed, but %s went away before the reply",
                c->name);
    }
    store_submission_free(sw->sub);
    free(sw);
    store_conn_idle(c);
}

void store_submit_commit(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct ipc_submit_commit m;
    struct submission *sub = c->sub;
    struct submit_work *sw;

    if (ipc_decode_submit_commit(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SUBMIT_COMMIT: %s", r->error);
        return;
    }
    if (!sub) {
        store_conn_fail(c, IPC_ERR_PROTO, "SUBMIT_COMMIT outside a submission");
        return;
    }
    c->sub = NULL;
    if (!sub->err_code && m.size != sub->total)
        submission_set_error(sub, IPC_ERR_PERM, "size mismatch: commit says %llu, got %llu",
                             (unsigned long long)m.size, (unsigned long long)sub->total);
    if (!sub->err_code && sub->nrcpt == 0)
        submission_set_error(sub, IPC_ERR_PERM, "no recipients");
    if (sub->err_code || !(sw = calloc(1, sizeof(*sw)))) {
        log_msg(LOG_LVL_NOTICE, sub->qid_text, "submission refused: %s",
                sub->err_code ? sub->err : "out of memory");
        store_conn_reply_error(c, r->request_id, sub->err_code ? sub->err_code : IPC_ERR_TEMP, "%s",
                               sub->err_code ? sub->err : "out of memory");
        store_submission_free(sub);
        return;
    }
    sub->env.size = sub->total;
    sub->env.nrcpt = sub->nrcpt;
    sub->env.generation = st->db.generation;
    store_db_body_limits(st->cfg, &sw->limits);
    sub->env.nchunks = (uint32_t)((sub->total + sub->seg_size - 1) / sub->seg_size);
    sw->sub = sub;
    sw->request_id = r->request_id;
    store_work_queue_bulk(c, &sw->base, sub->total, commit_run, commit_done);
}

void store_submit_abort(struct store_conn *c, struct ipc_reader *r)
{
    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SUBMIT_ABORT: %s", r->error);
        return;
    }
    if (c->sub)
        log_msg(LOG_LVL_INFO, c->sub->qid_text, "submission aborted by %s", c->name);
    store_submission_free(c->sub);
    c->sub = NULL;
    store_conn_reply_ok(c, r->request_id, 0);
}
