/* store_ops.c - spoolgate-store requests other than submit: read, list, update, due, admin, stats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_work.h"

#define STREAM_BATCH_BYTES (256u * 1024u)
#define LIST_BATCH_MESSAGES 500u

/* What the work of every request here starts with: the request and its reply. */
struct op_req {
    struct store_work base;
    uint16_t type;
    uint32_t request_id;
    int ret;
    struct sg_buf out;
};

/* One request answered by one piece of work: run() builds the whole reply
 * (frames or an ERROR) in out; done() sends it. */
struct op_work {
    struct op_req req;
    uint64_t qid; /* 0: every message (admin) */
    uint64_t count;
    struct ipc_rcpt_update update;
    struct ipc_due_req due;
};

/* A reply streamed in batches (type IPC_READ_BODY or IPC_LIST): body chunks or list entries. */
struct stream_work {
    struct op_req req;
    uint64_t qid;             /* body: the message */
    uint64_t pos, next_pos;   /* body: chunk number; list: next qid to visit */
    uint64_t sent, next_sent; /* body: bytes; list: messages listed */
    int finished, next_finished;
    struct rec_envelope env;
    struct ipc_list_req filter;
    uint8_t *chunk;
};

static void op_reply_error(struct sg_buf *out, uint32_t request_id, int ret, const char *what)
{
    struct ipc_error e = {.code = store_db_ipc_code(ret)};

    if (ret == STORE_ENOTFOUND)
        snprintf(e.text, sizeof(e.text), "%s: no such message or recipient", what);
    else
        snprintf(e.text, sizeof(e.text), "%s: %s", what, store_db_strerror(ret));
    sg_buf_reset(out);
    ipc_encode_error(out, request_id, &e);
}

static void op_done(struct store_work *w)
{
    struct op_work *op = (struct op_work *)w;
    struct store_conn *c = w->conn;

    store_conn_send(c, &op->req.out, NULL, NULL);
    sg_buf_free(&op->req.out);
    free(op);
    store_conn_idle(c);
}

/* Work of size bytes (an op_work or a stream_work) for request r; NULL,
 * with the request answered, when out of memory. */
static void *op_req_new(struct store_conn *c, struct ipc_reader *r, size_t size)
{
    struct op_req *q = calloc(1, size);

    if (!q) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return NULL;
    }
    q->type = r->type;
    q->request_id = r->request_id;
    sg_buf_init(&q->out);
    return q;
}

static struct store_db *op_db(struct store_work *w)
{
    return &store_conn_store(w->conn)->db;
}

/* A qid field: "" is allowed only where it means every message. */
static int op_parse_qid(struct store_conn *c, struct ipc_reader *r, uint64_t *qid, int allow_all)
{
    struct ipc_qid_msg m;

    if (ipc_decode_qid_msg(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad %s: %s", ipc_type_name(r->type), r->error);
        return -1;
    }
    *qid = 0;
    if (m.qid[0] == '\0' && allow_all)
        return 0;
    if (qid_parse(m.qid, qid) < 0) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM, "bad queue id \"%s\"", m.qid);
        return -1;
    }
    return 0;
}

/* ---- message encoding shared by READ_ENVELOPE and LIST ------------------ */

/* A record's string into a field of the same size, only up to its NUL (a LIST copies millions). */
static void op_copy(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void op_encode_envelope(struct sg_buf *out, uint32_t request_id,
                               const struct rec_envelope *e)
{
    struct ipc_envelope m; /* every field set below; not zeroed first: see op_copy */

    m.generation = e->generation;
    m.arrival_us = e->arrival_us;
    m.size = e->size;
    m.flags = e->flags;
    m.ret = e->ret;
    m.nrcpt = e->nrcpt;
    qid_format(e->qid, m.qid);
    op_copy(m.sender, e->sender, sizeof(m.sender));
    op_copy(m.envid, e->envid, sizeof(m.envid));
    op_copy(m.origin, e->origin, sizeof(m.origin));
    ipc_encode_envelope(out, request_id, &m);
}

static void op_encode_rcpt(struct sg_buf *out, uint32_t request_id, uint64_t qid, uint32_t i,
                           const struct rec_rcpt *r)
{
    struct ipc_rcpt m; /* every field set below; not zeroed first: see op_copy */

    m.index = i;
    m.notify = r->notify;
    m.state = r->state;
    m.attempts = r->attempts;
    m.next_attempt_us = r->next_attempt_us;
    m.last_attempt_us = r->last_attempt_us;
    qid_format(qid, m.qid);
    op_copy(m.addr, r->addr, sizeof(m.addr));
    op_copy(m.orcpt, r->orcpt, sizeof(m.orcpt));
    op_copy(m.route, r->route, sizeof(m.route));
    op_copy(m.last_reply, r->last_reply, sizeof(m.last_reply));
    ipc_encode_rcpt(out, request_id, &m);
}

static int op_list_match(const struct ipc_list_req *f, const struct rec_envelope *e,
                         const struct rec_rcpt *rc)
{
    char q[QID_TEXT_LEN + 1];
    int state_ok = f->state_mask == 0, text_ok = f->match[0] == '\0';

    qid_format(e->qid, q);
    if (!text_ok && (strstr(q, f->match) || strstr(e->sender, f->match)))
        text_ok = 1;
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        if (f->state_mask & (1u << rc[i].state))
            state_ok = 1;
        if (!text_ok && strstr(rc[i].addr, f->match))
            text_ok = 1;
    }
    return state_ok && text_ok;
}

static void op_encode_list_message(struct sg_buf *out, uint32_t request_id,
                                   const struct rec_envelope *e, const struct rec_rcpt *rc)
{
    op_encode_envelope(out, request_id, e);
    for (uint32_t i = 0; i < e->nrcpt; i++)
        op_encode_rcpt(out, request_id, e->qid, i, &rc[i]);
}

/* Read the recipients of e and encode the message. */
static int op_encode_message(struct store_txn *t, struct sg_buf *out, uint32_t request_id,
                             const struct rec_envelope *e)
{
    struct rec_rcpt *rc = calloc(e->nrcpt ? e->nrcpt : 1, sizeof(*rc));
    int ret = 0;

    if (!rc)
        return ENOMEM;
    for (uint32_t i = 0; i < e->nrcpt && ret == 0; i++)
        ret = store_db_get_rcpt(t, e->qid, i, &rc[i], 0);
    if (ret == 0)
        op_encode_list_message(out, request_id, e, rc);
    free(rc);
    return ret;
}

/* ---- READ_ENVELOPE ------------------------------------------------------ */

static int read_envelope_txn(struct store_txn *t, void *arg)
{
    struct op_work *op = arg;
    struct rec_envelope e;
    struct ipc_end end;
    int ret;

    sg_buf_reset(&op->req.out);
    if ((ret = store_db_get_envelope(t, op->qid, &e, 0)) != 0)
        return ret;
    if ((ret = op_encode_message(t, &op->req.out, op->req.request_id, &e)) != 0)
        return ret;
    end.count = e.nrcpt;
    return ipc_encode_end(&op->req.out, op->req.request_id, &end) < 0 ? ENOMEM : 0;
}

/* A request that only reads: fn's transaction builds the reply, or an ERROR about what. */
static void op_run_read(struct store_work *w, store_txn_fn fn, const char *what)
{
    struct op_work *op = (struct op_work *)w;
    int ret = store_db_txn(op_db(w), fn, op, STORE_TXN_READ_COMMITTED);

    if (ret != 0)
        op_reply_error(&op->req.out, op->req.request_id, ret, what);
}

static void read_envelope_run(struct store_work *w)
{
    op_run_read(w, read_envelope_txn, "read envelope");
}

void store_op_read_envelope(struct store_conn *c, struct ipc_reader *r)
{
    struct op_work *op;
    uint64_t qid;

    if (op_parse_qid(c, r, &qid, 0) < 0 || !(op = op_req_new(c, r, sizeof(*op))))
        return;
    op->qid = qid;
    store_work_queue(c, &op->req.base, read_envelope_run, op_done);
}

/* ---- streams: READ_BODY and LIST ----------------------------------------- */

static int body_batch_txn(struct store_txn *t, void *arg)
{
    struct stream_work *sw = arg;
    int ret;

    sg_buf_reset(&sw->req.out);
    sw->next_pos = sw->pos;
    sw->next_sent = sw->sent;
    if (sw->pos == 0 && (ret = store_db_get_envelope(t, sw->qid, &sw->env, 0)) != 0)
        return ret;
    while (sw->next_pos < sw->env.nchunks && sw->req.out.len < STREAM_BATCH_BYTES) {
        struct ipc_chunk m;
        size_t len;

        if ((ret = store_db_get_chunk(t, sw->qid, (uint32_t)sw->next_pos, sw->chunk, IPC_CHUNK_MAX,
                                      &len)) != 0)
            return ret == STORE_ENOTFOUND ? STORE_ECORRUPT : ret;
        m.data = sw->chunk;
        m.len = len;
        if (m.len == 0 || ipc_encode_chunk(&sw->req.out, sw->req.request_id, &m) < 0)
            return STORE_ECORRUPT;
        sw->next_pos++;
        sw->next_sent += len;
    }
    sw->next_finished = sw->next_pos >= sw->env.nchunks;
    if (sw->next_finished) {
        struct ipc_end end = {.count = sw->next_sent};
        if (sw->next_sent != sw->env.size)
            return STORE_ECORRUPT;
        ipc_encode_end(&sw->req.out, sw->req.request_id, &end);
    }
    return 0;
}

/* One message of a LIST batch: encoded when the filter takes it; 1 ends the walk (the limit). */
static int list_one(const struct rec_envelope *e, const struct rec_rcpt *rc, void *arg)
{
    struct stream_work *sw = arg;

    if (!op_list_match(&sw->filter, e, rc))
        return 0;
    op_encode_list_message(&sw->req.out, sw->req.request_id, e, rc);
    if (++sw->next_sent == sw->filter.limit)
        return 1;
    return sw->req.out.len < STREAM_BATCH_BYTES ? 0 : 2; /* 2: the batch is full */
}

static int list_batch_txn(struct store_txn *t, void *arg)
{
    struct stream_work *sw = arg;
    struct store_walk w = {.pos = sw->pos, .max = LIST_BATCH_MESSAGES, .fn = list_one, .arg = sw};
    int ret;

    sg_buf_reset(&sw->req.out);
    sw->next_sent = sw->sent;
    sw->next_finished = 0;
    ret = store_db_walk_messages(t, &w);
    free(w.rc);
    sw->next_pos = w.pos;
    if (ret == STORE_ENOTFOUND || ret == 1) {
        struct ipc_end end = {.count = sw->next_sent};
        sw->next_finished = 1;
        ipc_encode_end(&sw->req.out, sw->req.request_id, &end);
        return 0;
    }
    return ret == 2 ? 0 : ret;
}

static void stream_run(struct store_work *w)
{
    struct stream_work *sw = (struct stream_work *)w;
    store_txn_fn fn = sw->req.type == IPC_READ_BODY ? body_batch_txn : list_batch_txn;

    sw->req.ret = store_db_txn(op_db(w), fn, sw, STORE_TXN_READ_COMMITTED);
    if (sw->req.ret != 0) {
        op_reply_error(&sw->req.out, sw->req.request_id, sw->req.ret,
                       sw->req.type == IPC_READ_BODY ? "read body" : "list");
        sw->finished = 1;
        return;
    }
    sw->pos = sw->next_pos;
    sw->sent = sw->next_sent;
    sw->finished = sw->next_finished;
}

static void stream_free(struct stream_work *sw)
{
    sg_buf_free(&sw->req.out);
    free(sw->chunk);
    free(sw);
}

static void stream_done(struct store_work *w);

/* The batch is out: queue the next, or end the request. */
static void stream_written(struct store_conn *c, void *arg)
{
    struct stream_work *sw = arg;

    if (!store_conn_alive(c) || sw->finished) {
        stream_free(sw);
        store_conn_idle(c);
        return;
    }
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

static void stream_done(struct store_work *w)
{
    struct stream_work *sw = (struct stream_work *)w;

    store_conn_send(w->conn, &sw->req.out, stream_written, sw);
}

void store_op_read_body(struct store_conn *c, struct ipc_reader *r)
{
    struct stream_work *sw;
    uint64_t qid;

    if (op_parse_qid(c, r, &qid, 0) < 0 || !(sw = op_req_new(c, r, sizeof(*sw))))
        return;
    if (!(sw->chunk = malloc(IPC_CHUNK_MAX))) {
        free(sw);
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return;
    }
    sw->qid = qid;
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

void store_op_list(struct store_conn *c, struct ipc_reader *r)
{
    struct stream_work *sw;
    struct ipc_list_req f;

    if (ipc_decode_list_req(r, &f) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad LIST: %s", r->error);
        return;
    }
    if (!(sw = op_req_new(c, r, sizeof(*sw))))
        return;
    sw->filter = f;
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

void store_op_list_from(struct store_conn *c, struct ipc_reader *r)
{
    struct stream_work *sw;
    struct ipc_list_from f;
    uint64_t after = 0;

    if (ipc_decode_list_from(r, &f) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad LIST_FROM: %s", r->error);
        return;
    }
    if (f.after_qid[0] && qid_parse(f.after_qid, &after) < 0) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM, "bad queue id \"%s\"", f.after_qid);
        return;
    }
    if (f.after_qid[0] && after == UINT64_MAX) { /* nothing is after the largest qid */
        struct ipc_end end = {.count = 0};
        ipc_encode_end(ipc_server_conn_out(c->sc), r->request_id, &end);
        ipc_server_conn_flush(c->sc);
        return;
    }
    if (!(sw = op_req_new(c, r, sizeof(*sw))))
        return;
    sw->req.type = IPC_LIST;
    sw->filter.state_mask = f.state_mask;
    sw->filter.limit = f.limit;
    sw->pos = f.after_qid[0] ? after + 1 : 0;
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

/* ---- UPDATE_RCPT -------------------------------------------------------- */

static int all_final(struct store_txn *t, const struct rec_envelope *e, int *yes)
{
    *yes = 1;
    for (uint32_t i = 0; i < e->nrcpt && *yes; i++) {
        struct rec_rcpt rc;
        int ret = store_db_get_rcpt(t, e->qid, i, &rc, 0);
        if (ret != 0)
            return ret;
        *yes = rcpt_state_final(rc.state);
    }
    return 0;
}

/* Apply one update: 0 (and *removed when the message is now complete and gone),
 * EALREADY for a recipient already final, or a store error. */
static int update_apply(struct store_txn *t, uint64_t qid, const struct ipc_rcpt_update *u,
                        int *removed)
{
    struct rec_envelope e;
    struct rec_rcpt rc;
    int ret, done;

    *removed = 0;
    if ((ret = store_db_get_envelope(t, qid, &e, STORE_DB_FOR_UPDATE)) != 0 ||
        (ret = store_db_get_rcpt(t, qid, u->index, &rc, STORE_DB_FOR_UPDATE)) != 0)
        return ret;
    if (rcpt_state_final(rc.state))
        return EALREADY;
    rc.state = u->state;
    rc.attempts = u->attempts;
    rc.next_attempt_us = u->next_attempt_us;
    rc.last_attempt_us = u->last_attempt_us;
    memcpy(rc.route, u->route, sizeof(rc.route));
    memcpy(rc.last_reply, u->last_reply, sizeof(rc.last_reply));
    if ((ret = store_db_put_rcpt(t, qid, u->index, &rc)) != 0 ||
        (ret = all_final(t, &e, &done)) != 0)
        return ret;
    *removed = done;
    return done ? store_db_delete_message(t, &e) : 0;
}

static void update_log(const struct ipc_rcpt_update *u, int removed)
{
    log_msg(LOG_LVL_INFO, u->qid, "rcpt %u: state=%s attempts=%u route=%s reply=%s%s", u->index,
            rcpt_state_name(u->state), u->attempts, u->route[0] ? u->route : "-",
            u->last_reply[0] ? u->last_reply : "-",
            removed ? "; all recipients final, message removed" : "");
}

static int update_txn(struct store_txn *t, void *arg)
{
    struct op_work *op = arg;
    int removed = 0, ret = update_apply(t, op->qid, &op->update, &removed);

    op->count = ret == 0 ? 1u + (unsigned)removed : 0; /* 2: the message is complete and removed */
    return ret;
}

static void update_run(struct store_work *w)
{
    struct op_work *op = (struct op_work *)w;
    int ret = store_db_txn(op_db(w), update_txn, op, 0);

    if (ret == EALREADY) {
        struct ipc_error e = {.code = IPC_ERR_PERM};
        snprintf(e.text, sizeof(e.text), "recipient %u of %s is already final", op->update.index,
                 op->update.qid);
        ipc_encode_error(&op->req.out, op->req.request_id, &e);
    } else if (ret != 0) {
        op_reply_error(&op->req.out, op->req.request_id, ret, "update recipient");
    } else {
        struct ipc_ok ok = {.count = 1};

        update_log(&op->update, op->count == 2);
        ipc_encode_ok(&op->req.out, op->req.request_id, &ok);
    }
}

void store_op_update_rcpt(struct store_conn *c, struct ipc_reader *r)
{
    struct op_work *op;
    struct ipc_rcpt_update u;
    uint64_t qid;

    if (ipc_decode_rcpt_update(r, &u) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad UPDATE_RCPT: %s", r->error);
        return;
    }
    if (qid_parse(u.qid, &qid) < 0) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM, "bad queue id \"%s\"", u.qid);
        return;
    }
    if (!(op = op_req_new(c, r, sizeof(*op))))
        return;
    op->qid = qid;
    op->update = u;
    store_work_queue(c, &op->req.base, update_run, op_done);
}

/* ---- UPDATE_BATCH: many updates, one transaction -------------------------- */

enum { BATCH_SKIPPED, BATCH_APPLIED, BATCH_REMOVED };

struct batch_work {
    struct op_req req;
    uint8_t *frames; /* a copy: the request's frame is gone once it is dispatched */
    size_t len;
    uint32_t count;
    uint8_t *result; /* per update: BATCH_* */
    uint64_t applied;
};

/* Each frame's update, in order: fn gets its number and the decoded update. */
static int batch_each(struct batch_work *bw,
                      int (*fn)(struct batch_work *, uint32_t, const struct ipc_rcpt_update *,
                                void *),
                      void *arg)
{
    size_t off = 0;
    int ret = 0;

    for (uint32_t i = 0; i < bw->count && ret == 0; i++) {
        struct ipc_reader in;
        struct ipc_rcpt_update u;
        const char *error = NULL;

        if (ipc_frame_next(bw->frames, bw->len, &off, &in, &error) != 1 ||
            ipc_decode_rcpt_update(&in, &u) < 0)
            return STORE_ECORRUPT; /* checked when the request was decoded */
        ret = fn(bw, i, &u, arg);
    }
    return ret;
}

static int batch_apply_one(struct batch_work *bw, uint32_t i, const struct ipc_rcpt_update *u,
                           void *arg)
{
    struct store_txn *t = arg;
    uint64_t qid;
    int removed = 0, ret;

    bw->result[i] = BATCH_SKIPPED;
    if (qid_parse(u->qid, &qid) < 0)
        return 0;
    ret = update_apply(t, qid, u, &removed);
    if (ret == EALREADY || ret == STORE_ENOTFOUND)
        return 0; /* final already, or the message is gone: nothing to record */
    if (ret == 0) {
        bw->result[i] = removed ? BATCH_REMOVED : BATCH_APPLIED;
        bw->applied++;
    }
    return ret;
}

static int batch_txn(struct store_txn *t, void *arg)
{
    struct batch_work *bw = arg;

    bw->applied = 0;
    return batch_each(bw, batch_apply_one, t);
}

static int batch_log_one(struct batch_work *bw, uint32_t i, const struct ipc_rcpt_update *u,
                         void *arg)
{
    if (bw->result[i] != BATCH_SKIPPED)
        update_log(u, bw->result[i] == BATCH_REMOVED);
    return 0;
}

static void batch_run(struct store_work *w)
{
    struct batch_work *bw = (struct batch_work *)w;
    int ret = store_db_txn(op_db(w), batch_txn, bw, 0);

    if (ret != 0) {
        op_reply_error(&bw->req.out, bw->req.request_id, ret, "update batch");
    } else {
        struct ipc_ok ok = {.count = bw->applied};

        batch_each(bw, batch_log_one, NULL);
        ipc_encode_ok(&bw->req.out, bw->req.request_id, &ok);
    }
}

static void batch_done(struct store_work *w)
{
    struct batch_work *bw = (struct batch_work *)w;
    struct store_conn *c = w->conn;

    store_conn_send(c, &bw->req.out, NULL, NULL);
    sg_buf_free(&bw->req.out);
    free(bw->frames);
    free(bw->result);
    free(bw);
    store_conn_idle(c);
}

void store_op_update_batch(struct store_conn *c, struct ipc_reader *r)
{
    struct batch_work *bw;
    struct ipc_update_batch b;

    if (ipc_decode_update_batch(r, &b) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad UPDATE_BATCH: %s", r->error);
        return;
    }
    if (!(bw = op_req_new(c, r, sizeof(*bw))))
        return;
    bw->frames = malloc(b.len);
    bw->result = calloc(b.count, 1);
    if (!bw->frames || !bw->result) {
        free(bw->frames);
        free(bw->result);
        free(bw);
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return;
    }
    memcpy(bw->frames, b.frames, b.len);
    bw->len = b.len;
    bw->count = b.count;
    store_work_queue(c, &bw->req.base, batch_run, batch_done);
}

/* ---- DUE ------------------------------------------------------------------ */

static void due_item(const struct rec_due *d, void *arg)
{
    struct op_work *op = arg;
    struct ipc_due_item it = {
        .index = d->index, .state = d->state, .next_attempt_us = d->next_attempt_us};

    qid_format(d->qid, it.qid);
    ipc_encode_due_item(&op->req.out, op->req.request_id, &it);
    op->count++;
}

static int due_txn(struct store_txn *t, void *arg)
{
    struct op_work *op = arg;
    struct ipc_end end;
    int ret;

    sg_buf_reset(&op->req.out);
    op->count = 0;
    ret = store_db_scan_due(t, op->due.before_us, op->due.limit, due_item, op);
    end.count = op->count;
    if (ret == 0)
        ipc_encode_end(&op->req.out, op->req.request_id, &end);
    return ret;
}

static void due_run(struct store_work *w)
{
    op_run_read(w, due_txn, "due work");
}

void store_op_due(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct op_work *op;
    struct ipc_due_req d;

    if (ipc_decode_due_req(r, &d) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad DUE: %s", r->error);
        return;
    }
    if (!(op = op_req_new(c, r, sizeof(*op))))
        return;
    if (d.before_us == 0)
        d.before_us = now_us();
    if (d.limit == 0 || d.limit > st->cfg->store.due_batch)
        d.limit = (uint32_t)st->cfg->store.due_batch;
    op->due = d;
    store_work_queue(c, &op->req.base, due_run, op_done);
}
