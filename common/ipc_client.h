/* ipc_client.h - blocking IPC client for tools and tests (never on a libuv loop). */
#ifndef SPOOLGATE_IPC_CLIENT_H
#define SPOOLGATE_IPC_CLIENT_H

#include "ipc.h"
#include "ipc_tls.h"

struct ipc_client {
    int fd;
    uint32_t next_request;
    struct sg_buf in;      /* input: read from in_off on */
    struct sg_buf out;     /* frame being sent */
    size_t in_off;         /* where the frame being read starts in `in` */
    size_t frame_len;      /* length of the frame at in_off being read */
    struct ipc_hello peer; /* the store's hello */
    struct ipc_tls tls;    /* a tcp: address: mutual TLS (tls.bio NULL on a Unix socket) */
    struct sg_buf raw;     /* TLS records for the peer, not yet sent */
    struct ipc_role role;  /* the store's, when has_role (its hello offered IPC_CAP_ROLE) */
    int has_role;
    char follow[IPC_STORE_ADDR_MAX + 1]; /* a failed connect: the master the store named, or "" */
    char error[IPC_REPLY_MAX + 64];
};

/* Connect to a Unix socket path, or to "tcp:ADDRESS:PORT" with mutual TLS (ipc_tls_setup
 * first), and exchange hellos.  program/role/needed go into
 * our hello.  Returns 0, or -1 with c->error set (and c->fd closed). */
int ipc_client_connect(struct ipc_client *c, const char *socket_path, const char *program,
                       const char *role, const char *caps_needed);
/* Closes the socket; error and follow stay for the caller. */
void ipc_client_close(struct ipc_client *c);

/* Send the frame built in c->out (then reset it).  0 or -1. */
int ipc_client_send(struct ipc_client *c);
/* Wait for the next whole frame; init reader r on it.  The frame stays
 * valid until the next call.  Returns 0, or -1 with c->error set (EOF,
 * socket error, malformed frame).  timeout_ms < 0 waits forever. */
int ipc_client_recv(struct ipc_client *c, struct ipc_reader *r, int timeout_ms);
/* New request id. */
uint32_t ipc_client_request_id(struct ipc_client *c);
/* If r holds an IPC_ERROR, decode it into c->error and return its code;
 * otherwise return 0. */
uint32_t ipc_client_take_error(struct ipc_client *c, struct ipc_reader *r);

#endif
