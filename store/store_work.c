/* store_work.c - queue Berkeley DB work on the worker pool, keeping its connection alive meanwhile. */
#include "store_work.h"

#include "log.h"
#include "store_conn.h"

static void store_work_run(uv_work_t *req)
{
    struct store_work *w = req->data;

    w->run(w);
}

static void store_work_after(uv_work_t *req, int status)
{
    struct store_work *w = req->data;
    struct store_conn *c = w->conn;

    if (status != 0)
        log_panic("worker pool request failed: %s", uv_strerror(status));
    /* done() runs even when the connection is closing: it owns w and any
     * resources of the operation; it checks store_conn_alive() before
     * replying. */
    w->done(w);
    store_conn_unref(c);
}

void store_work_queue(struct store_conn *c, struct store_work *w, store_work_fn run,
                      store_work_fn done)
{
    int ret;

    w->conn = c;
    w->run = run;
    w->done = done;
    w->req.data = w;
    store_conn_ref(c);
    store_conn_busy(c);
    ret = uv_queue_work(store_conn_loop(c), &w->req, store_work_run, store_work_after);
    if (ret != 0)
        log_panic("uv_queue_work: %s", uv_strerror(ret));
}
