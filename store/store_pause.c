/* store_pause.c - PAUSE, RESUME and PAUSE_LIST: deliveries to a destination (or all) stopped and started again by an administrator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"

struct pause_work {
    struct store_op_req req;
    struct ipc_pause p;
    uint64_t listed;
    char who[160];
};

static struct pause_work *pause_new(struct store_conn *c, struct ipc_reader *r)
{
    struct pause_work *pw = store_op_req_new(c, r, sizeof(*pw));

    if (pw)
        snprintf(pw->who, sizeof(pw->who), "%s", c->name);
    return pw;
}

static int pause_txn(struct store_txn *t, void *arg)
{
    struct pause_work *pw = arg;

    return store_db_pause_set(t, pw->p.domain, pw->req.type == IPC_PAUSE, now_us());
}

static void pause_run(struct store_work *w)
{
    struct pause_work *pw = (struct pause_work *)w;

    pw->req.ret = store_db_txn(store_op_db(w), pause_txn, pw, 0);
}

static void pause_done(struct store_work *w)
{
    struct pause_work *pw = (struct pause_work *)w;
    struct store_conn *c = w->conn;
    struct ipc_filter f = {0};
    const char *what = pw->p.domain[0] ? pw->p.domain : "every destination";
    char text[IPC_ADDR_MAX + 32];
    int resume = pw->req.type == IPC_RESUME;

    if (pw->req.ret != 0) {
        store_conn_reply_error(c, pw->req.request_id, store_db_ipc_code(pw->req.ret), "%s %s: %s",
                               resume ? "resume" : "pause", what,
                               pw->req.ret == STORE_ENOTFOUND ? "not paused"
                                                              : store_db_strerror(pw->req.ret));
        store_conn_idle(c);
    } else {
        log_notice("deliveries to %s %s by %s", what, resume ? "resumed" : "paused", pw->who);
        store_broadcast_event(store_conn_store(c), IPC_EV_PAUSED, "");
        if (!resume) {
            store_conn_reply_ok(c, pw->req.request_id, 0);
            store_conn_idle(c);
        } else {
            /* what the pause deferred is due now: the reply counts it */
            snprintf(f.domain, sizeof(f.domain), "%s", pw->p.domain);
            snprintf(text, sizeof(text), "paused for %s", what);
            store_admin_queue_all(
                c, &(struct ipc_reader){.request_id = pw->req.request_id, .type = IPC_ADMIN},
                IPC_OP_FLUSH, &f, 1, text);
        }
    }
    sg_buf_free(&pw->req.out);
    free(pw);
}

void store_op_pause(struct store_conn *c, struct ipc_reader *r)
{
    struct pause_work *pw;
    struct ipc_pause p;

    if (ipc_decode_pause(r, &p) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad %s: %s", ipc_type_name(r->type), r->error);
        return;
    }
    if (!(pw = pause_new(c, r)))
        return;
    pw->p = p;
    store_work_queue(c, &pw->req.base, pause_run, pause_done);
}

static void pause_item(const char *domain, void *arg)
{
    struct pause_work *pw = arg;
    struct ipc_pause p = {.flags = domain[0] ? 0 : IPC_ADMIN_ALL};

    snprintf(p.domain, sizeof(p.domain), "%s", domain);
    ipc_encode_pause(&pw->req.out, IPC_PAUSE_ITEM, pw->req.request_id, &p);
    pw->listed++;
}

static int pause_list_txn(struct store_txn *t, void *arg)
{
    struct pause_work *pw = arg;
    struct ipc_end end;
    int ret;

    sg_buf_reset(&pw->req.out);
    pw->listed = 0;
    if ((ret = store_db_pause_list(t, pause_item, pw)) != 0)
        return ret;
    end.count = pw->listed;
    return ipc_encode_end(&pw->req.out, pw->req.request_id, &end) < 0 ? STORE_ECORRUPT : 0;
}

static void pause_list_run(struct store_work *w)
{
    struct pause_work *pw = (struct pause_work *)w;
    int ret = store_db_txn(store_op_db(w), pause_list_txn, pw, STORE_TXN_READ_COMMITTED);

    if (ret != 0)
        store_op_reply_error(&pw->req.out, pw->req.request_id, ret, "pause list");
}

void store_op_pause_list(struct store_conn *c, struct ipc_reader *r)
{
    struct pause_work *pw;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad PAUSE_LIST: %s", r->error);
        return;
    }
    if (!(pw = pause_new(c, r)))
        return;
    store_work_queue(c, &pw->req.base, pause_list_run, store_op_done);
}
