/* store_ops.c - requests of the router, gateway and tools: READ_ENVELOPE, READ_BODY, LIST, LIST_FROM, DUE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"
#include "store_work.h"

#define STREAM_BATCH_BYTES (256u * 1024u)
#define LIST_BATCH_MESSAGES 500u

/* A reply streamed in batches (type IPC_READ_BODY or IPC_LIST): body chunks or list entries. */
struct stream_work {
    struct store_op_req req;
    uint64_t qid;             /* body: the message */
    uint64_t pos, next_pos;   /* body: chunk number; list: next qid to visit */
    uint64_t sent, next_sent; /* body: bytes; list: messages listed */
    int finished, next_finished;
    struct rec_envelope env;
    struct ipc_list_filter filter;
    struct store_db *db;
    struct store_body *body; /* body: its database, referenced from the first batch on */
};

void store_op_reply_error(struct sg_buf *out, uint32_t request_id, int ret, const char *what)
{
    struct ipc_error e = {.code = store_db_ipc_code(ret)};

    if (ret == STORE_ENOTFOUND)
        snprintf(e.text, sizeof(e.text), "%s: no such message or recipient", what);
    else
        snprintf(e.text, sizeof(e.text), "%s: %s", what, store_db_strerror(ret));
    sg_buf_reset(out);
    ipc_encode_error(out, request_id, &e);
}

void store_op_done(struct store_work *w)
{
    struct store_op_work *op = (struct store_op_work *)w;
    struct store_conn *c = w->conn;

    store_conn_send(c, &op->req.out, NULL, NULL);
    sg_buf_free(&op->req.out);
    free(op);
    store_conn_idle(c);
}

/* Work of size bytes (an op_work or a stream_work) for request r; NULL,
 * with the request answered, when out of memory. */
void *store_op_req_new(struct store_conn *c, struct ipc_reader *r, size_t size)
{
    struct store_op_req *q = calloc(1, size);

    if (!q) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return NULL;
    }
    q->type = r->type;
    q->request_id = r->request_id;
    sg_buf_init(&q->out);
    return q;
}

struct store_db *store_op_db(struct store_work *w)
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

static int op_list_match(const struct ipc_list_filter *f, const struct rec_envelope *e,
                         const struct rec_rcpt *rc)
{
    char q[QID_TEXT_LEN + 1];
    int text_ok = f->match[0] == '\0';

    if (!store_filter_message(&f->f, e, rc))
        return 0;
    if (text_ok)
        return 1;
    qid_format(e->qid, q);
    if (strstr(q, f->match) || strstr(e->sender, f->match))
        return 1;
    for (uint32_t i = 0; i < e->nrcpt; i++)
        if (strstr(rc[i].addr, f->match))
            return 1;
    return 0;
}

static void op_encode_list_message(struct sg_buf *out, uint32_t request_id,
                                   const struct rec_envelope *e, const struct rec_rcpt *rc)
{
    op_encode_envelope(out, request_id, e);
    for (uint32_t i = 0; i < e->nrcpt; i++)
        op_encode_rcpt(out, request_id, e->qid, i, &rc[i]);
}

void store_op_encode_message_frames(struct sg_buf *out, uint32_t request_id,
                                    const struct rec_envelope *e, const struct rec_rcpt *rc)
{
    struct ipc_end end = {.count = e->nrcpt};

    op_encode_list_message(out, request_id, e, rc);
    ipc_encode_end(out, request_id, &end);
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
    struct store_op_work *op = arg;
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
    struct store_op_work *op = (struct store_op_work *)w;
    int ret = store_db_txn(store_op_db(w), fn, op, STORE_TXN_READ_COMMITTED);

    if (ret != 0)
        store_op_reply_error(&op->req.out, op->req.request_id, ret, what);
}

static void read_envelope_run(struct store_work *w)
{
    op_run_read(w, read_envelope_txn, "read envelope");
}

void store_op_read_envelope(struct store_conn *c, struct ipc_reader *r)
{
    struct store_op_work *op;
    uint64_t qid;

    if (op_parse_qid(c, r, &qid, 0) < 0 || !(op = store_op_req_new(c, r, sizeof(*op))))
        return;
    op->qid = qid;
    store_work_queue(c, &op->req.base, read_envelope_run, store_op_done);
}

/* ---- streams: READ_BODY and LIST ----------------------------------------- */

/* The envelope, and a reference on the body's database: a bucket whose last body has just
 * moved to body.db can be gone by the time the reference is asked for, so the envelope is
 * read again then.  Once referenced, the bucket stays, with the chunks, until the stream ends,
 * also when this runs again after a deadlock. */
static int body_open(struct store_txn *t, struct stream_work *sw)
{
    int ret;

    for (int tries = 0; tries < 3; tries++) {
        if ((ret = store_db_get_envelope(t, sw->qid, &sw->env, 0)) != 0)
            return ret;
        if (sw->body || (ret = store_db_body_ref(sw->db, sw->env.body_bucket, &sw->body)) == 0)
            return 0;
    }
    return ret == STORE_ENOTFOUND ? STORE_ECORRUPT : ret;
}

static int body_batch_txn(struct store_txn *t, void *arg)
{
    struct stream_work *sw = arg;
    int ret;

    sg_buf_reset(&sw->req.out);
    sw->next_pos = sw->pos;
    sw->next_sent = sw->sent;
    if (sw->pos == 0 && (ret = body_open(t, sw)) != 0)
        return ret;
    while (sw->next_pos < sw->env.nchunks && sw->req.out.len < STREAM_BATCH_BYTES) {
        struct sg_buf *out = &sw->req.out;
        uint8_t *at;
        size_t len;

        if (!(at = ipc_encode_chunk_open(out, sw->req.request_id))) /* read into its frame */
            return ENOMEM;
        if ((ret = store_db_get_chunk(t, sw->body, sw->qid, (uint32_t)sw->next_pos, at,
                                      IPC_CHUNK_MAX, &len)) != 0)
            return ret == STORE_ENOTFOUND ? STORE_ECORRUPT : ret;
        if (ipc_encode_chunk_close(out, at, len) < 0)
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

    sw->req.ret = store_db_txn(store_op_db(w), fn, sw, STORE_TXN_READ_COMMITTED);
    if (sw->req.ret != 0) {
        store_op_reply_error(&sw->req.out, sw->req.request_id, sw->req.ret,
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
    store_db_body_unref(sw->db, sw->body);
    sg_buf_free(&sw->req.out);
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

    if (op_parse_qid(c, r, &qid, 0) < 0 || !(sw = store_op_req_new(c, r, sizeof(*sw))))
        return;
    sw->qid = qid;
    sw->db = &store_conn_store(c)->db;
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
    if (!(sw = store_op_req_new(c, r, sizeof(*sw))))
        return;
    sw->filter.f.state_mask = f.state_mask;
    memcpy(sw->filter.match, f.match, sizeof(f.match));
    sw->filter.limit = f.limit;
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

void store_op_list_filter(struct store_conn *c, struct ipc_reader *r)
{
    struct stream_work *sw;
    struct ipc_list_filter f;

    if (ipc_decode_list_filter(r, &f) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad LIST_FILTER: %s", r->error);
        return;
    }
    if (!(sw = store_op_req_new(c, r, sizeof(*sw))))
        return;
    sw->req.type = IPC_LIST;
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
    if (!(sw = store_op_req_new(c, r, sizeof(*sw))))
        return;
    sw->req.type = IPC_LIST;
    sw->filter.f.state_mask = f.state_mask;
    sw->filter.limit = f.limit;
    sw->pos = f.after_qid[0] ? after + 1 : 0;
    store_work_queue(c, &sw->req.base, stream_run, stream_done);
}

/* ---- DUE ------------------------------------------------------------------ */

static void due_item(const struct rec_due *d, void *arg)
{
    struct store_op_work *op = arg;
    struct ipc_due_item it = {
        .index = d->index, .state = d->state, .next_attempt_us = d->next_attempt_us};

    qid_format(d->qid, it.qid);
    ipc_encode_due_item(&op->req.out, op->req.request_id, &it);
    op->count++;
}

static int due_txn(struct store_txn *t, void *arg)
{
    struct store_op_work *op = arg;
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
    struct store_op_work *op;
    struct ipc_due_req d;

    if (ipc_decode_due_req(r, &d) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad DUE: %s", r->error);
        return;
    }
    if (!(op = store_op_req_new(c, r, sizeof(*op))))
        return;
    if (d.before_us == 0)
        d.before_us = now_us();
    if (d.limit == 0 || d.limit > st->cfg->store.due_batch)
        d.limit = (uint32_t)st->cfg->store.due_batch;
    op->due = d;
    store_work_queue(c, &op->req.base, due_run, store_op_done);
}
