/* tls_bio.h - TLS over memory BIOs: OpenSSL transforms octets, the caller's event loop moves them. */
#ifndef SPOOLGATE_TLS_BIO_H
#define SPOOLGATE_TLS_BIO_H

#include <stddef.h>
#include <stdint.h>

struct tls_bio;
typedef struct ssl_ctx_st tls_ctx_t;

/* Contexts: a server one from certificate and key files; a client one that
 * verifies peers against ca_file (NULL/"" = the system's store).  NULL with
 * why on failure. */
tls_ctx_t *tls_ctx_server(const char *cert_file, const char *key_file, char *why, size_t whysz);
tls_ctx_t *tls_ctx_client(const char *ca_file, char *why, size_t whysz);
/* Mutual TLS between our own hosts (IPC over TCP): this host's certificate and key, and the CA
 * every peer's certificate must chain to, for either side of a connection.  TLS 1.3 only; a
 * server side demands the client's certificate.  NULL with why on failure. */
tls_ctx_t *tls_ctx_mutual(const char *cert_file, const char *key_file, const char *ca_file,
                          char *why, size_t whysz);
void tls_ctx_free(tls_ctx_t *ctx);

/* One connection.  Client side: verify_host non-NULL checks the peer's
 * certificate chain and name (the handshake fails otherwise); sni is sent. */
struct tls_bio *tls_bio_new(tls_ctx_t *ctx, int server, const char *sni, const char *verify_host);
void tls_bio_free(struct tls_bio *t);

/* Ciphertext from the peer in.  0 or -1 (out of memory). */
int tls_bio_feed(struct tls_bio *t, const uint8_t *data, size_t len);
/* Go on with the handshake: 1 done (now or before), 0 needs more input,
 * -1 failed (why says how, including certificate verification errors). */
int tls_bio_handshake(struct tls_bio *t, char *why, size_t whysz);
/* Plaintext out of the engine: >0 octets, 0 needs more input, -1 closed
 * or failed (why). */
int tls_bio_read(struct tls_bio *t, uint8_t *buf, size_t bufsz, char *why, size_t whysz);
/* Plaintext in to be encrypted.  0 or -1. */
int tls_bio_write(struct tls_bio *t, const void *data, size_t len);
/* Ciphertext waiting to be sent: copies up to bufsz octets, returns how many (0: none). */
size_t tls_bio_take(struct tls_bio *t, uint8_t *buf, size_t bufsz);
/* 1 when the peer's verified certificate carries name (a DNS name in its subjectAltName, or
 * its subject CN when it has none), 0 otherwise or without one. */
int tls_bio_peer_has_name(struct tls_bio *t, const char *name);
/* The peer certificate's subject CN for logs ("" without one). */
void tls_bio_peer_cn(struct tls_bio *t, char *buf, size_t bufsz);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" */
void tls_bio_describe(struct tls_bio *t, char *buf, size_t bufsz);

#endif
