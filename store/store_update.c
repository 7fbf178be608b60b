/* store_update.c - recipient updates: UPDATE_RCPT (one), UPDATE_BATCH (many in one transaction); a message whose recipients are all final is removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"

/* ---- UPDATE_RCPT -------------------------------------------------------- */

/* A recipient whose record is missing or does not decode (quarantined, logged when the store
 * walks it) is not final: the message stays for an administrator. */
static int all_final(struct store_txn *t, const struct rec_envelope *e, int *yes)
{
    *yes = 1;
    for (uint32_t i = 0; i < e->nrcpt && *yes; i++) {
        struct rec_rcpt rc;
        int ret = store_db_get_rcpt(t, e->qid, i, &rc, 0);

        if (ret == STORE_ECORRUPT || ret == STORE_ENOTFOUND) {
            *yes = 0;
            return 0;
        }
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

/* The router logs each outcome for operators (to=..., status=...); the store's record of it
 * is for debugging, and a message's removal is the store's own event. */
static void update_log(const struct ipc_rcpt_update *u, int removed)
{
    log_msg(LOG_LVL_DEBUG, u->qid, "rcpt %u: state=%s attempts=%u route=%s reply=%s%s", u->index,
            rcpt_state_name(u->state), u->attempts, u->route[0] ? u->route : "-",
            u->last_reply[0] ? u->last_reply : "-",
            removed ? "; all recipients final, message removed" : "");
    if (removed)
        log_msg(LOG_LVL_INFO, u->qid, "removed");
}

static int update_txn(struct store_txn *t, void *arg)
{
    struct store_op_work *op = arg;
    int removed = 0, ret = update_apply(t, op->qid, &op->update, &removed);

    op->count = ret == 0 ? 1u + (unsigned)removed : 0; /* 2: the message is complete and removed */
    return ret;
}

static void update_run(struct store_work *w)
{
    struct store_op_work *op = (struct store_op_work *)w;
    int ret = store_db_txn(store_op_db(w), update_txn, op, STORE_TXN_PRIORITY);

    if (ret == EALREADY) {
        struct ipc_error e = {.code = IPC_ERR_PERM};
        snprintf(e.text, sizeof(e.text), "recipient %u of %s is already final", op->update.index,
                 op->update.qid);
        ipc_encode_error(&op->req.out, op->req.request_id, &e);
    } else if (ret != 0) {
        store_op_reply_error(&op->req.out, op->req.request_id, ret, "update recipient");
    } else {
        struct ipc_ok ok = {.count = 1};

        update_log(&op->update, op->count == 2);
        ipc_encode_ok(&op->req.out, op->req.request_id, &ok);
    }
}

void store_op_update_rcpt(struct store_conn *c, struct ipc_reader *r)
{
    struct store_op_work *op;
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
    if (!(op = store_op_req_new(c, r, sizeof(*op))))
        return;
    op->qid = qid;
    op->update = u;
    store_work_queue(c, &op->req.base, update_run, store_op_done);
}

/* ---- UPDATE_BATCH: many updates, one transaction -------------------------- */

enum { BATCH_SKIPPED, BATCH_APPLIED, BATCH_REMOVED };

struct batch_work {
    struct store_op_req req;
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
    int ret = store_db_txn(store_op_db(w), batch_txn, bw, STORE_TXN_PRIORITY);

    if (ret != 0) {
        store_op_reply_error(&bw->req.out, bw->req.request_id, ret, "update batch");
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
    if (!(bw = store_op_req_new(c, r, sizeof(*bw))))
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
