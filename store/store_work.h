/* store_work.h - run blocking Berkeley DB work on the libuv worker pool on behalf of a connection. */
#ifndef SPOOLGATE_STORE_WORK_H
#define SPOOLGATE_STORE_WORK_H

#include <uv.h>

struct store_conn;
struct store_work;

typedef void (*store_work_fn)(struct store_work *w);

struct store_work {
    uv_work_t req;
    struct store_conn *conn; /* referenced until done has run */
    store_work_fn run;       /* worker thread: blocking calls go here */
    store_work_fn done;      /* loop thread: reply; must free w */
};

/* Queue w (embedded at the start of the caller's own struct).  The
 * connection is marked busy until done() calls store_conn_idle(). */
void store_work_queue(struct store_conn *c, struct store_work *w, store_work_fn run,
                      store_work_fn done);

#endif
