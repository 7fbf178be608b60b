/* store_conn.h - one client connection of spoolgate-store: its state, the reply helpers and the request handlers (the server is common/ipc_server.c). */
#ifndef SPOOLGATE_STORE_CONN_H
#define SPOOLGATE_STORE_CONN_H

#include <uv.h>

#include "ipc.h"
#include "ipc_server.h"
#include "store.h"

struct submission;

#define STORE_SUBSCRIBED_EVENTS 1   /* SUBSCRIBE */
#define STORE_SUBSCRIBED_MESSAGES 2 /* SUBSCRIBE_MESSAGES: COMMITTED carries the message */

/* The store's state of one connection; it lives as long as the server's
 * connection (one reference count, the server's). */
struct store_conn {
    struct store *st;
    struct ipc_server_conn *sc;
    const char *name;       /* "client pid 42 uid 0 spoolgate-smtpd/smtpd" for logs */
    int subscribed;         /* 0, or a STORE_SUBSCRIBED_* */
    int submit_only;        /* accepted on the submission socket (any local user) */
    int submitter;          /* asked for submit and nothing else: counted in st->nsubmitters */
    struct submission *sub; /* submission in progress, or NULL */
};

uv_loop_t *store_conn_loop(struct store_conn *c);
struct store *store_conn_store(struct store_conn *c);
void store_conn_ref(struct store_conn *c);
void store_conn_unref(struct store_conn *c);
/* A request is being served: further input waits. */
void store_conn_busy(struct store_conn *c);
/* The request in flight is answered: handle further input. */
void store_conn_idle(struct store_conn *c);
int store_conn_alive(const struct store_conn *c);

typedef void (*store_written_fn)(struct store_conn *c, void *arg);
/* Send the frames in b (its memory is taken over; b is left empty).  cb,
 * if any, runs once the bytes are handed to the kernel, or the
 * connection closed (check store_conn_alive). */
void store_conn_send(struct store_conn *c, struct sg_buf *b, store_written_fn cb, void *arg);
void store_conn_reply_ok(struct store_conn *c, uint32_t request_id, uint64_t count);
void store_conn_reply_error(struct store_conn *c, uint32_t request_id, uint32_t code,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A protocol violation: log, send ERROR if possible, close this connection only. */
void store_conn_fail(struct store_conn *c, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Request handlers (store_submit.c, store_ops.c).  Each decodes its frame
 * (store_conn_fail on a bad one) and either replies at once or queues work. */
typedef void (*store_handler_fn)(struct store_conn *c, struct ipc_reader *r);
void store_submit_begin(struct store_conn *c, struct ipc_reader *r);
void store_submit_rcpt(struct store_conn *c, struct ipc_reader *r);
void store_submit_chunk(struct store_conn *c, struct ipc_reader *r);
void store_submit_commit(struct store_conn *c, struct ipc_reader *r);
void store_submit_abort(struct store_conn *c, struct ipc_reader *r);
void store_submission_free(struct submission *sub);
void store_op_read_envelope(struct store_conn *c, struct ipc_reader *r);
void store_op_read_body(struct store_conn *c, struct ipc_reader *r);
void store_op_list(struct store_conn *c, struct ipc_reader *r);
void store_op_list_from(struct store_conn *c, struct ipc_reader *r);
void store_op_update_rcpt(struct store_conn *c, struct ipc_reader *r);
void store_op_update_batch(struct store_conn *c, struct ipc_reader *r);
void store_op_due(struct store_conn *c, struct ipc_reader *r);
void store_op_admin(struct store_conn *c, struct ipc_reader *r);
void store_op_stats(struct store_conn *c, struct ipc_reader *r);
void store_op_subscribe(struct store_conn *c, struct ipc_reader *r);
/* store_admin.c, store_ops.c, store_pause.c, store_info.c: administration. */
void store_op_admin_req(struct store_conn *c, struct ipc_reader *r);
void store_op_list_filter(struct store_conn *c, struct ipc_reader *r);
void store_op_pause(struct store_conn *c, struct ipc_reader *r); /* PAUSE and RESUME */
void store_op_pause_list(struct store_conn *c, struct ipc_reader *r);
void store_op_clients(struct store_conn *c, struct ipc_reader *r);
void store_op_metrics(struct store_conn *c, struct ipc_reader *r);
void store_op_repl_status(struct store_conn *c, struct ipc_reader *r); /* store_repl.c */
void store_op_repl_remove(struct store_conn *c, struct ipc_reader *r); /* store_repl.c */
void store_op_shape(struct store_conn *c, struct ipc_reader *r);
void store_op_report(struct store_conn *c, struct ipc_reader *r);

#endif
