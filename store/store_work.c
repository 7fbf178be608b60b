/* store_work.c - queue Berkeley DB work on the worker pool, keeping its connection alive meanwhile; bulk work a few at a time. */
#include "store_work.h"

#include "log.h"
#include "store.h"
#include "store_conn.h"

/* Body octets of bulk work in the pool at once: a few large commits, or many small ones ... */
#define STORE_WORK_BULK_OCTETS (1024u * 1024)
/* ... and at most this many per worker thread, so that each has the next waiting (a capped
 * count of one per thread left threads idle between a commit's end and the loop's next). */
#define STORE_WORK_BULK_PER_THREAD 2

void store_work_bulk_init(struct store_work_bulk *b, long long worker_threads)
{
    b->max = worker_threads < 1 ? STORE_WORK_BULK_PER_THREAD
                                : (unsigned)worker_threads * STORE_WORK_BULK_PER_THREAD;
    b->max_octets = STORE_WORK_BULK_OCTETS;
    b->running = 0;
    b->octets = 0;
    b->head = b->tail = NULL;
}

static void store_work_run(uv_work_t *req)
{
    struct store_work *w = req->data;

    w->run(w);
}

static void store_work_after(uv_work_t *req, int status);

static void store_work_submit(struct store_conn *c, struct store_work *w)
{
    int ret = uv_queue_work(store_conn_loop(c), &w->req, store_work_run, store_work_after);

    if (ret != 0)
        log_panic("uv_queue_work: %s", uv_strerror(ret));
}

/* Bulk work has ended or come: the longest waiting take the room there is, in order (one
 * large commit's end may make room for several small ones). */
static void store_work_bulk_next(struct store_work_bulk *b)
{
    struct store_work *w;

    while ((w = b->head) && b->running < b->max &&
           (b->running == 0 || b->octets + w->bulk_octets <= b->max_octets)) {
        b->head = w->next;
        if (!b->head)
            b->tail = NULL;
        w->next = NULL;
        b->running++;
        b->octets += w->bulk_octets;
        store_work_submit(w->conn, w);
    }
}

static void store_work_after(uv_work_t *req, int status)
{
    struct store_work *w = req->data;
    struct store_conn *c = w->conn;
    struct store_work_bulk *b = w->bulk ? &store_conn_store(c)->bulk : NULL;

    if (status != 0)
        log_panic("worker pool request failed: %s", uv_strerror(status));
    if (b) {
        b->running--;
        b->octets -= w->bulk_octets;
    }
    /* done() runs even when the connection is closing: it owns w and any
     * resources of the operation; it checks store_conn_alive() before
     * replying. */
    w->done(w);
    store_conn_unref(c);
    if (b)
        store_work_bulk_next(b);
}

static void store_work_prepare(struct store_conn *c, struct store_work *w, store_work_fn run,
                               store_work_fn done, int bulk)
{
    w->conn = c;
    w->run = run;
    w->done = done;
    w->req.data = w;
    w->bulk = bulk;
    w->bulk_octets = 0;
    w->next = NULL;
    store_conn_ref(c);
    store_conn_busy(c);
}

void store_work_queue(struct store_conn *c, struct store_work *w, store_work_fn run,
                      store_work_fn done)
{
    store_work_prepare(c, w, run, done, 0);
    store_work_submit(c, w);
}

void store_work_queue_bulk(struct store_conn *c, struct store_work *w, uint64_t octets,
                           store_work_fn run, store_work_fn done)
{
    struct store_work_bulk *b = &store_conn_store(c)->bulk;

    store_work_prepare(c, w, run, done, 1);
    w->bulk_octets = octets;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    store_work_bulk_next(b);
}
