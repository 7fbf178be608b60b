/* tls_bio.c - TLS over memory BIOs for the daemons' libuv connections (server and client side). */
#include "tls_bio.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tls_bio {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer, read by OpenSSL */
    BIO *wbio; /* ciphertext for the peer, written by OpenSSL */
    int established;
    char verify_host[256]; /* the name the peer's certificate must carry ("" none) */
};

static void tls_error_text(char *why, size_t whysz, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[200];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(why, whysz, "%s: %s", what, buf);
    } else {
        snprintf(why, whysz, "%s", what);
    }
    ERR_clear_error();
}

/* A context of method with our certificate chain and key. */
static SSL_CTX *tls_ctx_with_cert(const SSL_METHOD *method, const char *cert_file,
                                  const char *key_file, char *why, size_t whysz)
{
    SSL_CTX *ctx;

    if (access(cert_file, R_OK) < 0 || access(key_file, R_OK) < 0) {
        snprintf(why, whysz, "%s: %s", access(cert_file, R_OK) < 0 ? cert_file : key_file,
                 strerror(errno));
        return NULL;
    }
    ctx = SSL_CTX_new(method);
    if (!ctx) {
        tls_error_text(why, whysz, "cannot create a TLS context");
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_error_text(why, whysz, cert_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_error_text(why, whysz, key_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

tls_ctx_t *tls_ctx_server(const char *cert_file, const char *key_file, char *why, size_t whysz)
{
    SSL_CTX *ctx = tls_ctx_with_cert(TLS_server_method(), cert_file, key_file, why, whysz);

    if (ctx) {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    return ctx;
}

tls_ctx_t *tls_ctx_client(const char *ca_file, char *why, size_t whysz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx) {
        tls_error_text(why, whysz, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if ((ca_file && ca_file[0]) ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                                : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        tls_error_text(why, whysz, ca_file && ca_file[0] ? ca_file : "system CA store");
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

tls_ctx_t *tls_ctx_mutual(const char *cert_file, const char *key_file, const char *ca_file,
                          char *why, size_t whysz)
{
    /* One method for both sides: SSL_set_accept_state or connect_state picks one per
     * connection (tls_bio_new). */
    SSL_CTX *ctx = tls_ctx_with_cert(TLS_method(), cert_file, key_file, why, whysz);

    if (!ctx)
        return NULL;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
        tls_error_text(why, whysz, "cannot set up mutual TLS");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (access(ca_file, R_OK) < 0) {
        snprintf(why, whysz, "%s: %s", ca_file, strerror(errno));
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        tls_error_text(why, whysz, ca_file);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_num_tickets(ctx, 0); /* long-lived connections: no resumption wanted */
    return ctx;
}

void tls_ctx_free(tls_ctx_t *ctx)
{
    SSL_CTX_free(ctx);
}

struct tls_bio *tls_bio_new(tls_ctx_t *ctx, int server, const char *sni, const char *verify_host)
{
    struct tls_bio *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both now */
    if (server) {
        SSL_set_accept_state(t->ssl);
        return t;
    }
    SSL_set_connect_state(t->ssl);
    if (sni && sni[0])
        SSL_set_tlsext_host_name(t->ssl, sni);
    if (verify_host) {
        /* RFC 6125: the reference identity is the host name we connect to (an IP literal is
         * matched against IP addresses); a wildcard only as the whole leftmost label
         * ("*.example.com", never "m*.example.com"), for that one label.  Without the name set,
         * no connection: never a chain check alone. */
        snprintf(t->verify_host, sizeof(t->verify_host), "%s", verify_host);
        SSL_set_verify(t->ssl, SSL_VERIFY_PEER, NULL);
        SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (strlen(verify_host) >= sizeof(t->verify_host) ||
            SSL_set1_host(t->ssl, verify_host) != 1) {
            tls_bio_free(t);
            ERR_clear_error();
            return NULL;
        }
    } else {
        SSL_set_verify(t->ssl, SSL_VERIFY_NONE, NULL);
    }
    return t;
}

void tls_bio_free(struct tls_bio *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

int tls_bio_feed(struct tls_bio *t, const uint8_t *data, size_t len)
{
    return len == 0 || BIO_write(t->rbio, data, (int)len) == (int)len ? 0 : -1;
}

int tls_bio_handshake(struct tls_bio *t, char *why, size_t whysz)
{
    int rc, err;
    long vr;

    if (t->established)
        return 1;
    rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->established = 1;
        return 1;
    }
    err = SSL_get_error(t->ssl, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return 0;
    vr = SSL_get_verify_result(t->ssl);
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        snprintf(why, whysz,
                 "TLS certificate verification failed: %s (the certificate is not for %s)",
                 X509_verify_cert_error_string(vr), t->verify_host);
        ERR_clear_error();
        return -1;
    }
    if (vr != X509_V_OK) {
        snprintf(why, whysz, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
        return -1;
    }
    tls_error_text(why, whysz, "TLS handshake failed");
    return -1;
}

int tls_bio_read(struct tls_bio *t, uint8_t *buf, size_t bufsz, char *why, size_t whysz)
{
    int n = SSL_read(t->ssl, buf, (int)bufsz);
    int err;

    if (n > 0)
        return n;
    err = SSL_get_error(t->ssl, n);
    if (err == SSL_ERROR_WANT_READ)
        return 0;
    if (err == SSL_ERROR_ZERO_RETURN) {
        snprintf(why, whysz, "the peer closed the TLS session");
        return -1;
    }
    tls_error_text(why, whysz, "TLS read failed");
    return -1;
}

int tls_bio_write(struct tls_bio *t, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (SSL_write(t->ssl, data, (int)len) != (int)len) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

size_t tls_bio_take(struct tls_bio *t, uint8_t *buf, size_t bufsz)
{
    int n;

    if (BIO_ctrl_pending(t->wbio) == 0)
        return 0;
    n = BIO_read(t->wbio, buf, (int)bufsz);
    return n > 0 ? (size_t)n : 0;
}

int tls_bio_peer_has_name(struct tls_bio *t, const char *name)
{
    X509 *peer = SSL_get0_peer_certificate(t->ssl);

    if (!peer || SSL_get_verify_result(t->ssl) != X509_V_OK)
        return 0;
    return X509_check_host(peer, name, strlen(name), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) ==
           1;
}

void tls_bio_peer_cn(struct tls_bio *t, char *buf, size_t bufsz)
{
    X509 *peer = SSL_get0_peer_certificate(t->ssl);

    buf[0] = '\0';
    if (!peer ||
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, (int)bufsz) < 0)
        buf[0] = '\0';
}

void tls_bio_describe(struct tls_bio *t, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s with cipher %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
}
