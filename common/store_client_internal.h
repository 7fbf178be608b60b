/* store_client_internal.h - the store client's connection state, shared by its connection and stream halves (not for use outside common/store_client*.c). */
#ifndef SPOOLGATE_STORE_CLIENT_INTERNAL_H
#define SPOOLGATE_STORE_CLIENT_INTERNAL_H

#include "ipc_uv.h"
#include "store_client.h"

struct sc_req {
    uint32_t id;
    sc_answer_fn answer; /* NULL: one frame answers it, nobody is told */
    sc_fail_fn fail;
    void *arg;
    struct sc_req *next;
};

/* The one stream a connection carries at a time. */
enum sc_stream {
    SC_IDLE,
    SC_SUBMITTING,    /* begun: recipients and chunks are sent */
    SC_COMMITTING,    /* commit sent: waiting for SUBMITTED */
    SC_READ_ENVELOPE, /* ENVELOPE, RCPT*, END */
    SC_READ_BODY,     /* CHUNK*, END */
};

struct sc_conn {
    struct store_client *sc;
    struct ipc_uv *uv; /* NULL once closed */
    const struct sc_conn_ops *ops;
    void *arg;
    int ready;
    size_t addr;                /* its address in sc->addrs */
    int depth;                  /* calls into us under way: free only at 0 */
    int dead;                   /* closed: freed when depth drops to 0 */
    int quiet;                  /* closed by its owner: no closed callback */
    struct sc_req *head, *tail; /* requests waiting for answers */
    /* the stream */
    enum sc_stream stream;
    uint32_t stream_id; /* request id of the begin or read */
    uint32_t commit_id;
    uint32_t forgotten_id; /* an aborted submission: its late answers are dropped */
    uint64_t size;         /* body octets submitted */
    int saw_envelope;
    uint32_t nrcpt, rcpts_seen;
    char open_qid[IPC_QID_MAX + 1]; /* sc_open_body: the message, until the read starts */
    int open_started;
    int reader; /* made by sc_open_body: may be kept idle for the next one */
    const struct sc_submit_ops *sops;
    const struct sc_read_ops *rops;
    void *sarg;
};

/* Guard a call that may end in callbacks closing c: enter, then leave
 * returns 1 when c is gone (freed) and must not be touched. */
void sc_enter(struct sc_conn *c);
int sc_leave(struct sc_conn *c);
/* A protocol error from the store: everything fails, the connection closes. */
void sc_protocol_error(struct sc_conn *c, const char *why);
/* Frames of the stream (store_client_stream.c). */
void sc_stream_frame(struct sc_conn *c, struct ipc_reader *rd);
/* End the stream with a failure (st), telling its owner once. */
void sc_stream_fail(struct sc_conn *c, const struct sc_status *st);
/* Write what was built; 0 or -1 (the loss is reported through callbacks). */
int sc_flush(struct sc_conn *c);
/* The same, guarded: -1 also when callbacks it led to closed c (then gone). */
int sc_send(struct sc_conn *c);

#endif
