/* store_client.h - the one client of the mail store: where it is, connections with requests answered by id, streaming submit and message reading (libuv), and the blocking submit for tools. */
#ifndef SPOOLGATE_STORE_CLIENT_H
#define SPOOLGATE_STORE_CLIENT_H

#include <uv.h>

#include "config.h"
#include "ipc.h"
#include "ipc_client.h"
#include "ipc_link.h"
#include "store_addr.h"

#define SC_SOCKET_MAX SC_ADDR_LEN
/* The text of a store address list (the [global] store key, 1024 octets at most). */
#define SC_WHERE_MAX 1100
/* Body octets in one SUBMIT_CHUNK frame the client builds. */
#define SC_CHUNK_FRAME (IPC_CHUNK_MAX / 2)
/* Octets written but not taken by the store above which a submitter should
 * stop feeding (sc_submit_full) until the connection's drained callback. */
#define SC_BACKLOG_MAX (1024u * 1024u)

/* Where the store is, and who we are in our hellos. */
#define SC_IDLE_READERS 16 /* body-read connections kept open for the next sc_open_body */

struct sc_conn;

struct store_client {
    uv_loop_t *loop; /* NULL for blocking tools */
    struct sc_conn *idle_readers[SC_IDLE_READERS];
    unsigned nidle_readers;
    /* Every address of the store ([global] store; one unless it is replicated) and the one
     * connections go to: the next is taken when a connection fails before its hellos (a site
     * that is down, or a replica refusing as not the master). */
    struct sc_addr_list addrs;
    size_t current;
    char path[SC_SOCKET_MAX]; /* addrs.path[current] */
    char program[IPC_NAME_MAX + 1];
    char role[IPC_NAME_MAX + 1];
};

/* Where the store is, from the config: [global] store as given (a list of addresses) or
 * <socket_dir>/store.sock.  0, or -1 when it does not fit or is not a valid list. */
int sc_socket_path(const struct sg_config *cfg, char *buf, size_t bufsz);
/* The store's submission-only socket (mode 0666: any local user may submit there, and do
 * nothing else): submit.sock beside each store address.  0, or -1 as sc_socket_path. */
int sc_submit_socket_path(const struct sg_config *cfg, char *buf, size_t bufsz);
/* 0, or -1 when the config's store addresses are too long or not a valid list. */
int sc_init(struct store_client *sc, uv_loop_t *loop, const struct sg_config *cfg,
            const char *program, const char *role);
/* The store's address connections go to now, for logs. */
const char *sc_where(const struct store_client *sc);
/* The address connection c went to. */
const char *sc_conn_where(const struct sc_conn *c);
/* How many addresses the store has (more than one: a replicated store's sites). */
size_t sc_addresses(const struct store_client *sc);
/* A kept-up link to the store (common/ipc_link.h) named "mail store" in logs. */
struct ipc_link *sc_link_start(struct store_client *sc, const char *caps, unsigned retry_ms,
                               const struct ipc_link_ops *ops, void *arg);

/* How a request, a submission or a read ended. */
struct sc_status {
    int lost;         /* 1: no answer: connection lost, closed or never up */
    uint32_t code;    /* 0: done; else an enum ipc_error_code */
    const char *text; /* the store's error text, or why it was lost */
};

/* ---- connections (store_client.c) -------------------------------------------------- */

struct sc_conn;

struct sc_conn_ops {
    void (*ready)(struct sc_conn *c, void *arg); /* hellos exchanged */
    void (*event)(struct sc_conn *c, const struct ipc_event *ev,
                  void *arg); /* after sc_subscribe */
    /* After sc_subscribe_messages: each frame (ENVELOPE, RCPT*, END; request id 0) of the
     * message that follows a COMMITTED event, undecoded; the owner checks their order. */
    void (*event_message)(struct sc_conn *c, struct ipc_reader *rd, void *arg);
    void (*drained)(struct sc_conn *c, void *arg); /* all written: feed again */
    /* Lost: every request, submission and read on it has had its callback
     * (lost = 1) first.  Called once; c is freed after it returns.  Not
     * called after sc_close() or sc_fail(). */
    void (*closed)(struct sc_conn *c, const char *why, void *arg);
};

/* Start connecting; caps are the capabilities asked for.  NULL only when out of memory. */
struct sc_conn *sc_connect(struct store_client *sc, const char *caps, const struct sc_conn_ops *ops,
                           void *arg);
/* Another owner (a pooled connection handed on). */
void sc_set_ops(struct sc_conn *c, const struct sc_conn_ops *ops, void *arg);
/* Close without any callback; the store forgets an uncommitted submission. */
void sc_close(struct sc_conn *c);
/* Close; everything outstanding first gets its callback with lost = 1 and why. */
void sc_fail(struct sc_conn *c, const char *why);
const struct ipc_hello *sc_peer(const struct sc_conn *c);
/* Bytes queued to the store and not yet written. */
size_t sc_pending(const struct sc_conn *c);
/* No request, submission or read is outstanding. */
int sc_idle(const struct sc_conn *c);

/* ---- single requests, answered by request id (store_client.c) ---------------------- */

/* encode appends the request's frame(s) under request_id; answer is called
 * for each frame answering it and returns 1 when it was the last; fail is
 * called instead when no (more) answer will come.  Exactly one of the two
 * ends every request.  Returns 0, or -1 (nothing called) when the
 * connection is not ready or the frame cannot be built. */
typedef int (*sc_encode_fn)(struct sg_buf *b, uint32_t request_id, void *arg);
typedef int (*sc_answer_fn)(struct ipc_reader *rd, void *arg);
typedef void (*sc_fail_fn)(const char *why, void *arg);
int sc_request(struct sc_conn *c, sc_encode_fn encode, sc_answer_fn answer, sc_fail_fn fail,
               void *arg);

/* Typed requests answered by IPC_OK: done gets code 0 or the store's error. */
typedef void (*sc_done_fn)(void *arg, const struct sc_status *st);
int sc_update_rcpt(struct sc_conn *c, const struct ipc_rcpt_update *u, sc_done_fn done, void *arg);
/* IPC_REQUEUE, IPC_HOLD, IPC_RELEASE or IPC_DELETE of one message (IPC_ADMIN for every one). */
int sc_qid_request(struct sc_conn *c, uint16_t type, const char *qid, sc_done_fn done, void *arg);
/* Events then come to the connection's event callback. */
int sc_subscribe(struct sc_conn *c, sc_done_fn done, void *arg);
/* The same, and each COMMITTED event is followed by its message (needs the event_message op;
 * a store of protocol minor 4 or later). */
int sc_subscribe_messages(struct sc_conn *c, sc_done_fn done, void *arg);

/* ---- streaming submit (store_client_stream.c); one at a time per connection ------- */

struct sc_submit_ops {
    void (*started)(void *arg, const char *qid); /* optional: the queue id assigned */
    /* Once: m is the commit on success, NULL on failure (st says why). */
    void (*done)(void *arg, const struct sc_status *st, const struct ipc_submitted *m);
};

/* Begin on a ready connection: 0, or -1 (nothing called) when it is busy
 * or not ready.  Begin only builds its frame; the recipients that must
 * follow send it.  rcpt and chunk return -1 when the frame cannot be sent:
 * the submission then ends through done (perhaps already has). */
int sc_submit_begin(struct sc_conn *c, const struct ipc_submit_begin *b,
                    const struct sc_submit_ops *ops, void *arg);
int sc_submit_rcpt(struct sc_conn *c, const struct ipc_submit_rcpt *r);
/* Any length: split into frames of SC_CHUNK_FRAME. */
int sc_submit_chunk(struct sc_conn *c, const void *data, size_t len);
/* Back-pressure: 1 while the caller should stop feeding (resume at drained). */
int sc_submit_full(const struct sc_conn *c);
/* Body octets given so far. */
uint64_t sc_submit_size(const struct sc_conn *c);
/* The store makes it durable; done reports it. */
int sc_submit_commit(struct sc_conn *c);
/* Forget it (SUBMIT_ABORT); done is not called.  The connection stays usable. */
void sc_submit_abort(struct sc_conn *c);

/* ---- reading a message (store_client_stream.c); one stream at a time per connection - */

struct sc_read_ops {
    void (*envelope)(void *arg, const struct ipc_envelope *e); /* sc_read_envelope */
    void (*rcpt)(void *arg, const struct ipc_rcpt *r);         /* after the envelope */
    void (*chunk)(void *arg, const uint8_t *data, size_t len); /* sc_read_body */
    /* The stream is complete; another may be started from here. */
    void (*end)(void *arg);
    /* Once, instead of end: st->lost, or the store's error, or a bad frame (IPC_ERR_PROTO). */
    void (*failed)(void *arg, const struct sc_status *st);
};

/* 0, or -1 (nothing called) when the connection is busy or not ready.
 * Every callback may call sc_close(). */
int sc_read_envelope(struct sc_conn *c, const char *qid, const struct sc_read_ops *ops, void *arg);
int sc_read_body(struct sc_conn *c, const char *qid, const struct sc_read_ops *ops, void *arg);
/* Stop (1) or restart (0) the callbacks: flow control for the reader.
 * Paused before the connection is up, it connects but reads nothing yet. */
void sc_read_pause(struct sc_conn *c, int paused);
/* A connection of its own that reads the body of qid once it is up: every
 * outcome (a failure to connect too) comes through ops.  After failed with
 * lost = 1 the connection is gone; otherwise the caller closes it with
 * sc_close() (after end or failed, or to stop early).  NULL only when out
 * of memory. */
struct sc_conn *sc_open_body(struct store_client *sc, const char *qid,
                             const struct sc_read_ops *ops, void *arg);
/* Done with a connection of sc_open_body: after its end it is kept for the next one (a
 * connection and hello less each time, up to SC_IDLE_READERS of them), otherwise closed. */
void sc_release_body(struct sc_conn *c);
/* Close every kept one (at a stop: the loop can end). */
void sc_drop_idle(struct store_client *sc);

/* ---- frames shared by both sides, and the blocking submit (store_client_sync.c) ---- */

/* Append the SUBMIT_CHUNK frames of len octets.  0 or -1. */
int sc_frames_chunks(struct sg_buf *b, const void *data, size_t len);
/* An answer during a submission: 0 SUBMIT_STARTED (qid in started, when
 * not NULL), 1 SUBMITTED (in *done), -1 the store's error (in *e), -2
 * anything else (*e says what, with IPC_ERR_PROTO). */
int sc_frames_submit_answer(struct ipc_reader *rd, char *started, struct ipc_submitted *done,
                            struct ipc_error *e);

/* A blocking submission on an ipc_client (tools and test drivers). */
struct sc_sync_submit {
    struct ipc_client *c;
    uint64_t size;
    int started; /* SUBMIT_STARTED was read */
};
/* Begin with the recipients (buffered: sent with the first chunk or the commit). */
/* A tool about to connect to where (a store address list): with a tcp: address in it, this
 * host's IPC certificate is loaded from cfg.  0, or -1 with why. */
int sc_sync_tls(const struct sg_config *cfg, const char *where, char *why, size_t whysz);
/* The blocking tools' connection to the store at path (from sc_socket_path or
 * the tool's -s; a list of addresses is tried in order until one serves): the one place a
 * tool connects, so that where the store is is learnt here.  0, or -1 with c->error saying
 * why (as ipc_client_connect; for a list, every address's answer). */
int sc_sync_connect(struct ipc_client *c, const char *path, const char *program, const char *role,
                    const char *caps);
int sc_sync_begin(struct sc_sync_submit *s, struct ipc_client *c, const struct ipc_submit_begin *b,
                  const struct ipc_submit_rcpt *rcpts, size_t nrcpt);
/* Append body octets; sends once a megabyte is buffered.  0, or -1 (c->error). */
int sc_sync_chunk(struct sc_sync_submit *s, const void *data, size_t len);
/* Commit and wait: 0 with *done, -1 on a transport error, or the store's
 * error code (> 0); c->error says why. */
int sc_sync_commit(struct sc_sync_submit *s, struct ipc_submitted *done, int timeout_ms);

#endif
