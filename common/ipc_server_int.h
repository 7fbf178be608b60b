/* ipc_server_int.h - what the IPC server's files share (ipc_server.c, ipc_server_offer.c, ipc_server_stop.c, ipc_server_tcp.c): its state; not for daemons. */
#ifndef SPOOLGATE_IPC_SERVER_INT_H
#define SPOOLGATE_IPC_SERVER_INT_H

#include <sys/un.h>

#include "ipc_server.h"
#include "ipc_tls.h"

#define IPC_SERVER_TCP_MAX 8 /* TCP listeners of one server */

enum ipc_server_conn_state { CONN_HELLO, CONN_READY, CONN_CLOSING };

struct ipc_server {
    uv_loop_t *loop;
    struct ipc_server_config cfg;
    const struct ipc_server_ops *ops;
    void *arg;
    struct ipc_hello hello;           /* ours */
    char caps_base[IPC_CAPS_MAX + 1]; /* offered, without IPC_CAP_ROLE */
    struct ipc_role role;             /* sent after the hello when has_role */
    int has_role;
    uv_pipe_t listener;
    int unix_open;                    /* listener initialised */
    uv_tcp_t tcp[IPC_SERVER_TCP_MAX]; /* IPC over TCP with mutual TLS */
    size_t ntcp;                      /* of tcp[] initialised */
    int listener_open;                /* listener handles not yet closed back */
    int listener_closing;
    int closed;   /* ipc_server_close was called */
    int draining; /* ipc_server_drain was called */
    uv_timer_t grace;
    int grace_open; /* initialised and not yet closed back */
    unsigned grace_ms;
    ipc_server_drained_fn drained;
    void *drained_arg;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct ipc_server_conn *conns; /* open connections */
    size_t nconns;
    size_t nalloc; /* connections not yet freed */
};

struct ipc_server_conn {
    struct ipc_server *srv;
    union {
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } h;
    struct ipc_tls tls; /* a TCP client: mutual TLS (tls.bio NULL on the Unix socket) */
    struct sg_buf rin;  /* TLS: ciphertext read */
    char tls_caps[IPC_CAPS_MAX + 1]; /* TLS: what the client's certificate may ask for */
    struct ipc_server_conn *next, *prev;
    enum ipc_server_conn_state state;
    int refs; /* the handle, each write in flight, each ref of the daemon */
    int paused;
    int reading;
    int in_frames; /* conn_frames is on the stack */
    struct ipc_hello peer;
    int role_offered; /* our hello to it offered IPC_CAP_ROLE: it takes IPC_ROLE */
    uid_t uid;        /* SO_PEERCRED; (uid_t)-1 if unknown */
    pid_t pid;        /* SO_PEERCRED; 0 if unknown */
    char name[160];
    struct sg_buf in;  /* input not yet handled */
    struct sg_buf out; /* frames built, not yet flushed */
    size_t pending;    /* bytes in writes not yet completed */
    void *data;
};

/* Freed once closed, with its listener and grace timer closed back and no connection left. */
void ipc_server_maybe_free(struct ipc_server *s);
/* Read from c while frames may be handled (not paused, not draining, writes not backed up). */
void ipc_server_conn_update_reading(struct ipc_server_conn *c);
/* Draining: close c if no request of it is in flight and nothing is left to write. */
void ipc_server_conn_close_if_idle(struct ipc_server_conn *c);

/* ipc_server.c: accept on any listener; write octets as they are; close once written. */
void ipc_server_accept_cb(uv_stream_t *listener, int status);
void ipc_server_conn_write_raw(struct ipc_server_conn *c, struct sg_buf *b,
                               ipc_server_written_fn cb, void *arg);
void ipc_server_conn_close_after_writes(struct ipc_server_conn *c);
/* ipc_server_offer.c: the role message to c, if the server has one and c's hello takes it. */
void ipc_server_conn_send_role(struct ipc_server_conn *c);
/* ipc_server_tcp.c: a TCP client's name and TLS engine (-1: close it); ciphertext read
 * (-1: it was closed); frames written through TLS. */
int ipc_server_tls_begin(struct ipc_server_conn *c);
int ipc_server_tls_in(struct ipc_server_conn *c, size_t nread);
void ipc_server_tls_write(struct ipc_server_conn *c, struct sg_buf *b, ipc_server_written_fn cb,
                          void *arg);

#define CONN_STREAM(c) ((uv_stream_t *)&(c)->h)

#endif
