/* store_work.h - run blocking Berkeley DB work on the libuv worker pool on behalf of a connection. */
#ifndef SPOOLGATE_STORE_WORK_H
#define SPOOLGATE_STORE_WORK_H

#include <stdint.h>
#include <uv.h>

struct store_conn;
struct store_work;

typedef void (*store_work_fn)(struct store_work *w);

struct store_work {
    uv_work_t req;
    struct store_conn *conn; /* referenced until done has run */
    store_work_fn run;       /* worker thread: blocking calls go here */
    store_work_fn done;      /* loop thread: reply; must free w */
    int bulk;                /* queued with store_work_queue_bulk */
    uint64_t bulk_octets;    /* the body octets it moves */
    struct store_work *next; /* waiting for a bulk slot */
};

/* Bulk work (submissions' commits and spills) in the worker pool at most `max` at a time and
 * `max_octets` of body at once (but always one); the rest wait here in arrival order.  The pool's own queue is first come, first served, so with
 * every SMTP session's commit in it the router's body reads and delivery updates waited behind
 * all of them and the queue hardly drained while mail came in (measured at 256 sessions x
 * 256 KiB: ~30 of 3 000 messages delivered per second of the load, ~800 after it). */
struct store_work_bulk {
    unsigned max, running;
    uint64_t max_octets, octets;
    struct store_work *head, *tail;
};

/* Queue w (embedded at the start of the caller's own struct).  The
 * connection is marked busy until done() calls store_conn_idle(). */
void store_work_queue(struct store_conn *c, struct store_work *w, store_work_fn run,
                      store_work_fn done);
/* The same for bulk work: into the pool when one of its slots is free, else after the bulk work
 * queued before it.  max from the number of worker threads. */
void store_work_queue_bulk(struct store_conn *c, struct store_work *w, uint64_t octets,
                           store_work_fn run, store_work_fn done);
void store_work_bulk_init(struct store_work_bulk *b, long long worker_threads);

#endif
