/* store_ops.h - what the request handlers of store_ops.c, store_update.c share: the work of a request and its reply. */
#ifndef SPOOLGATE_STORE_OPS_H
#define SPOOLGATE_STORE_OPS_H

#include <stdint.h>

#include "buf.h"
#include "ipc.h"
#include "store_db.h"
#include "store_work.h"

struct store_conn;

/* What the work of every request here starts with: the request and its reply. */
struct store_op_req {
    struct store_work base;
    uint16_t type;
    uint32_t request_id;
    int ret;
    struct sg_buf out;
};

/* One request answered by one piece of work: run() builds the whole reply
 * (frames or an ERROR) in out; done() sends it. */
struct store_op_work {
    struct store_op_req req;
    uint64_t qid; /* 0: every message (admin) */
    uint64_t count;
    struct ipc_rcpt_update update;
    struct ipc_due_req due;
};

/* ERROR for ret (a store error) in out, which it replaces; what: the operation. */
void store_op_reply_error(struct sg_buf *out, uint32_t request_id, int ret, const char *what);
/* The done() of a store_op_work: send its reply, free it. */
void store_op_done(struct store_work *w);
/* Work of size bytes (a store_op_work or a larger struct beginning with a store_op_req) for
 * request r; NULL, with the request answered, when out of memory. */
void *store_op_req_new(struct store_conn *c, struct ipc_reader *r, size_t size);
struct store_db *store_op_db(struct store_work *w);
/* A message as READ_ENVELOPE answers it (ENVELOPE, RCPT*, END), from records in memory. */
void store_op_encode_message_frames(struct sg_buf *out, uint32_t request_id,
                                    const struct rec_envelope *e, const struct rec_rcpt *rc);

/* store_admin.c: op on every message the filter selects (paused_only: recipients deferred by a
 * pause), answered with OK; what names it in the log. */
void store_admin_queue_all(struct store_conn *c, const struct ipc_reader *r, uint32_t op,
                           const struct ipc_filter *f, int paused_only, const char *what);

/* store_filter.c: does the filter select this recipient, this envelope (sender, arrival), this
 * message (its envelope and at least one recipient)?  */
int store_filter_rcpt(const struct ipc_filter *f, const struct rec_rcpt *rc);
int store_filter_envelope(const struct ipc_filter *f, const struct rec_envelope *e);
int store_filter_message(const struct ipc_filter *f, const struct rec_envelope *e,
                         const struct rec_rcpt *rc);

#endif
