/* store_admin.c - administrative requests: requeue, hold, release, delete, flush (one message or ALL, filtered), stats, subscribe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"
#include "store_work.h"

#define ADMIN_BATCH_MESSAGES 100u

struct admin_work {
    struct store_work base;
    uint16_t type;
    uint32_t request_id;
    int ret;
    uint32_t op;                /* enum ipc_admin_op */
    int all;                    /* every message the filter selects (IPC_ADMIN_ALL) */
    int paused_only;            /* FLUSH of a RESUME: only recipients deferred by a pause */
    uint64_t qid;               /* one message (when not all) */
    struct ipc_filter f;        /* which recipients of it */
    uint64_t pos;               /* every message: next qid to visit */
    uint64_t changed, messages; /* recipients changed, messages seen */
    uint64_t now;
    struct ipc_stats stats;
    char what[IPC_ADDR_MAX + 16]; /* for the log: "all", a qid, "paused example.com" */
    char who[160];
};

#define ADMIN_HELD "held by the administrator (spoolctl release ends it)"
#define ADMIN_BEFORE "; before: "

/* A hold says so in the recipient's reply (what spoolctl list shows), keeping
 * the reply it had; a release gives that back. */
static void admin_reason(int hold, struct rec_rcpt *rc)
{
    char old[sizeof(rc->last_reply)];
    size_t pre = strlen(ADMIN_HELD ADMIN_BEFORE);

    if (hold) {
        memcpy(old, rc->last_reply, sizeof(old));
        snprintf(rc->last_reply, sizeof(rc->last_reply), "%s%s%.*s", ADMIN_HELD,
                 old[0] ? ADMIN_BEFORE : "", (int)(sizeof(old) - pre - 1), old);
    } else if (strncmp(rc->last_reply, ADMIN_HELD, strlen(ADMIN_HELD)) == 0) {
        const char *b =
            strncmp(rc->last_reply, ADMIN_HELD ADMIN_BEFORE, pre) == 0 ? rc->last_reply + pre : "";

        memmove(rc->last_reply, b, strlen(b) + 1);
    }
}

/* Change one recipient as the operation says; 1 if it changed. */
static int admin_apply(const struct admin_work *aw, struct rec_rcpt *rc)
{
    switch (aw->op) {
    case IPC_OP_REQUEUE:
        if (rc->state != RCPT_QUEUED && rc->state != RCPT_DEFERRED && rc->state != RCPT_ACTIVE)
            return 0;
        break;
    case IPC_OP_HOLD:
        if (rcpt_state_final(rc->state) || rc->state == RCPT_HELD)
            return 0;
        rc->state = RCPT_HELD;
        rc->next_attempt_us = 0;
        admin_reason(1, rc);
        return 1;
    case IPC_OP_RELEASE:
        if (rc->state != RCPT_HELD)
            return 0;
        admin_reason(0, rc);
        break;
    case IPC_OP_FLUSH:
        if (rc->state != RCPT_DEFERRED || rc->next_attempt_us <= aw->now ||
            (aw->paused_only && strcmp(rc->last_reply, IPC_PAUSED_REPLY) != 0))
            return 0;
        rc->next_attempt_us = aw->now; /* attempts and reply kept: only sooner */
        return 1;
    default:
        return 0;
    }
    rc->state = RCPT_QUEUED;
    rc->next_attempt_us = aw->now;
    return 1;
}

/* DELETE: the whole message when the filter selects it. */
static int admin_delete(struct store_txn *t, struct admin_work *aw, const struct rec_envelope *e)
{
    int selected = e->nrcpt == 0, ret;

    for (uint32_t i = 0; i < e->nrcpt && !selected; i++) {
        struct rec_rcpt rc;

        if ((ret = store_db_get_rcpt(t, e->qid, i, &rc, 0)) != 0)
            return ret;
        selected = store_filter_rcpt(&aw->f, &rc);
    }
    if (!selected)
        return 0;
    if ((ret = store_db_delete_message(t, e)) != 0)
        return ret;
    aw->changed += e->nrcpt;
    return 0;
}

static int admin_message(struct store_txn *t, struct admin_work *aw, const struct rec_envelope *e)
{
    int ret;

    aw->messages++;
    if (!store_filter_envelope(&aw->f, e))
        return 0;
    if (aw->op == IPC_OP_DELETE)
        return admin_delete(t, aw, e);
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        struct rec_rcpt rc;

        if ((ret = store_db_get_rcpt(t, e->qid, i, &rc, STORE_DB_FOR_UPDATE)) != 0)
            return ret;
        if (!store_filter_rcpt(&aw->f, &rc) || !admin_apply(aw, &rc))
            continue;
        if ((ret = store_db_put_rcpt(t, e->qid, i, &rc)) != 0)
            return ret;
        aw->changed++;
    }
    return 0;
}

/* One transaction over at most ADMIN_BATCH_MESSAGES messages from pos. */
static int admin_batch_txn(struct store_txn *t, void *arg)
{
    struct admin_work *aw = arg;
    uint64_t pos = aw->pos, changed = aw->changed, messages = aw->messages;
    int ret = 0;

    for (unsigned n = 0; n < ADMIN_BATCH_MESSAGES; n++) {
        struct rec_envelope e;

        ret = !aw->all ? store_db_get_envelope(t, aw->qid, &e, STORE_DB_FOR_UPDATE)
                       : store_db_next_envelope(t, pos, &e);
        if (ret == STORE_ECORRUPT && aw->all) {
            pos = e.qid + 1;
            continue;
        }
        if (ret != 0 || (ret = admin_message(t, aw, &e)) != 0)
            break;
        if (!aw->all || e.qid == UINT64_MAX) {
            ret = STORE_ENOTFOUND; /* one message, or the last possible: done */
            break;
        }
        pos = e.qid + 1;
    }
    if (ret != 0 && ret != STORE_ENOTFOUND) {
        aw->changed = changed; /* the transaction is undone: so are its counts */
        aw->messages = messages;
        return ret;
    }
    aw->pos = ret == STORE_ENOTFOUND ? UINT64_MAX : pos;
    return 0;
}

static void admin_run(struct store_work *w)
{
    struct admin_work *aw = (struct admin_work *)w;
    struct store_db *db = &store_conn_store(w->conn)->db;

    aw->now = now_us();
    while (aw->ret == 0 && aw->pos != UINT64_MAX)
        aw->ret = store_db_txn(db, admin_batch_txn, aw, 0);
    if (aw->ret == 0 && !aw->all && aw->messages == 0)
        aw->ret = STORE_ENOTFOUND;
}

static const char *admin_op_name(uint32_t op)
{
    static const char *const names[] = {"?", "requeue", "hold", "release", "delete", "flush"};

    return op <= IPC_OP_MAX ? names[op] : "?";
}

static void admin_done(struct store_work *w)
{
    struct admin_work *aw = (struct admin_work *)w;
    struct store_conn *c = w->conn;
    const char *verb = admin_op_name(aw->op);

    if (aw->ret != 0) {
        store_conn_reply_error(
            c, aw->request_id, store_db_ipc_code(aw->ret), "%s %s: %s", verb, aw->what,
            aw->ret == STORE_ENOTFOUND ? "no such message" : store_db_strerror(aw->ret));
    } else {
        log_msg(LOG_LVL_NOTICE, aw->all ? NULL : aw->what,
                "%s%s%s by %s: %llu recipients of %llu messages", verb, aw->all ? " " : "",
                aw->all ? aw->what : "", aw->who, (unsigned long long)aw->changed,
                (unsigned long long)aw->messages);
        if (aw->op == IPC_OP_DELETE && !aw->all && aw->changed)
            log_msg(LOG_LVL_INFO, aw->what, "removed");
        store_conn_reply_ok(c, aw->request_id, aw->changed);
        if (aw->changed && aw->op != IPC_OP_HOLD)
            store_broadcast_event(store_conn_store(c), IPC_EV_REQUEUED, aw->all ? "" : aw->what);
    }
    free(aw);
    store_conn_idle(c);
}

static struct admin_work *admin_alloc(struct store_conn *c, const struct ipc_reader *r)
{
    struct admin_work *aw = calloc(1, sizeof(*aw));

    if (!aw) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return NULL;
    }
    aw->type = r->type;
    aw->request_id = r->request_id;
    snprintf(aw->who, sizeof(aw->who), "%s", c->name);
    return aw;
}

void store_admin_queue_all(struct store_conn *c, const struct ipc_reader *r, uint32_t op,
                           const struct ipc_filter *f, int paused_only, const char *what)
{
    struct admin_work *aw = admin_alloc(c, r);

    if (!aw)
        return;
    aw->op = op;
    aw->all = 1;
    aw->f = *f;
    aw->paused_only = paused_only;
    snprintf(aw->what, sizeof(aw->what), "%s", what);
    store_work_queue(c, &aw->base, admin_run, admin_done);
}

/* REQUEUE, HOLD, RELEASE, DELETE of one message (a queue id, never "every message"). */
void store_op_admin(struct store_conn *c, struct ipc_reader *r)
{
    static const uint32_t ops[] = {IPC_OP_REQUEUE, IPC_OP_HOLD, IPC_OP_RELEASE, IPC_OP_DELETE};
    struct ipc_qid_msg m;
    struct admin_work *aw;
    uint64_t qid;

    if (ipc_decode_qid_msg(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad %s: %s", ipc_type_name(r->type), r->error);
        return;
    }
    if (qid_parse(m.qid, &qid) < 0) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM, "bad queue id \"%s\"", m.qid);
        return;
    }
    if (!(aw = admin_alloc(c, r)))
        return;
    aw->op = ops[r->type - IPC_REQUEUE];
    aw->qid = qid;
    qid_format(qid, aw->what);
    store_work_queue(c, &aw->base, admin_run, admin_done);
}

/* ADMIN: an operation on one message or, with the ALL flag, every message; the filter says
 * which recipients. */
void store_op_admin_req(struct store_conn *c, struct ipc_reader *r)
{
    struct ipc_admin_req m;
    struct admin_work *aw;

    if (ipc_decode_admin_req(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad ADMIN: %s", r->error);
        return;
    }
    if (m.flags & IPC_ADMIN_ALL) {
        store_admin_queue_all(c, r, m.op, &m.f, 0, "ALL");
        return;
    }
    if (!(aw = admin_alloc(c, r)))
        return;
    aw->op = m.op;
    aw->f = m.f;
    qid_parse(m.qid, &aw->qid); /* checked by the decoder */
    qid_format(aw->qid, aw->what);
    store_work_queue(c, &aw->base, admin_run, admin_done);
}

/* ---- STATS ---------------------------------------------------------------- */

static int stats_txn(struct store_txn *t, void *arg)
{
    struct admin_work *aw = arg;
    struct store_counts c;
    int ret = store_db_get_counts(t, &c);

    aw->stats.messages = c.messages;
    memcpy(aw->stats.by_state, c.by_state, sizeof(aw->stats.by_state));
    return ret;
}

static void stats_run(struct store_work *w)
{
    struct admin_work *aw = (struct admin_work *)w;

    aw->ret = store_db_txn(&store_conn_store(w->conn)->db, stats_txn, aw, STORE_TXN_READ_COMMITTED);
}

static void stats_done(struct store_work *w)
{
    struct admin_work *aw = (struct admin_work *)w;
    struct store_conn *c = w->conn;
    struct store *st = store_conn_store(c);
    struct sg_buf b;

    if (aw->ret != 0) {
        store_conn_reply_error(c, aw->request_id, store_db_ipc_code(aw->ret), "stats: %s",
                               store_db_strerror(aw->ret));
    } else {
        aw->stats.generation = st->db.generation;
        aw->stats.adopted = st->adopted;
        aw->stats.started_us = st->started_us;
        sg_buf_init(&b);
        ipc_encode_stats(&b, aw->request_id, &aw->stats);
        store_conn_send(c, &b, NULL, NULL);
    }
    free(aw);
    store_conn_idle(c);
}

void store_op_stats(struct store_conn *c, struct ipc_reader *r)
{
    struct admin_work *aw;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad STATS: %s", r->error);
        return;
    }
    if (!(aw = calloc(1, sizeof(*aw)))) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "out of memory");
        return;
    }
    aw->request_id = r->request_id;
    store_work_queue(c, &aw->base, stats_run, stats_done);
}

void store_op_subscribe(struct store_conn *c, struct ipc_reader *r)
{
    int messages = r->type == IPC_SUBSCRIBE_MESSAGES;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad %s: %s", ipc_type_name(r->type), r->error);
        return;
    }
    c->subscribed = messages ? STORE_SUBSCRIBED_MESSAGES : STORE_SUBSCRIBED_EVENTS;
    log_info("%s: subscribed to events%s", c->name, messages ? " with new messages" : "");
    store_conn_reply_ok(c, r->request_id, 0);
}
