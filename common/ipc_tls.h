/* ipc_tls.h - mutual TLS for IPC over TCP between hosts: the process's context from [global] ipc_tls_*, and one connection's octets through tls_bio. */
#ifndef SPOOLGATE_IPC_TLS_H
#define SPOOLGATE_IPC_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tls_bio.h"

struct sg_config;

/* Load [global] ipc_tls_cert, _key and _ca as this process's IPC context (nothing when unset);
 * called again (a reload) it replaces it, connections keep the one they began with.  0, or -1
 * with why (the old context stays). */
int ipc_tls_setup(const struct sg_config *c, char *why, size_t whysz);
/* The context, or NULL when ipc_tls_cert is not set (then no tcp: connection is made). */
tls_ctx_t *ipc_tls_ctx(void);
void ipc_tls_cleanup(void);

/* One connection's TLS state. */
struct ipc_tls {
    struct tls_bio *bio;
    int established;
};

/* A connection's engine: a client one checks that the server's certificate names host (an IP
 * address is matched against its IP addresses).  0, or -1 with why. */
int ipc_tls_begin(struct ipc_tls *t, int server, const char *host, char *why, size_t whysz);
void ipc_tls_end(struct ipc_tls *t);
/* Ciphertext from the peer: the handshake goes on until it is done, then plaintext is appended
 * to plain; records the engine has for the peer (the handshake's) are appended to out.  1 when
 * the handshake was completed by this call, 0 otherwise, -1 with why (a failed handshake or
 * certificate, a closed session, out of memory). */
int ipc_tls_in(struct ipc_tls *t, const uint8_t *data, size_t len, struct sg_buf *plain,
               struct sg_buf *out, char *why, size_t whysz);
/* Plaintext to send, sealed: its records appended to out.  0 or -1. */
int ipc_tls_seal(struct ipc_tls *t, const void *data, size_t len, struct sg_buf *out);

#endif
