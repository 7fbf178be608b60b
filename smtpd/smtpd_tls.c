/* smtpd_tls.c - STARTTLS with OpenSSL over memory BIOs: the loop does the I/O, OpenSSL only transforms. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

struct tls_conn {
    SSL *ssl;
    BIO *rbio;   /* ciphertext from the client, read by OpenSSL */
    BIO *wbio;   /* ciphertext for the client, written by OpenSSL */
    int established;
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

int tls_init(struct smtpd *d, char *why, size_t whysz)
{
    const struct cfg_smtpd *c = &d->cfg->smtpd;
    SSL_CTX *ctx;

    if (!c->tls_cert_file[0])
        return 0;
    if (!c->tls_key_file[0]) {
        snprintf(why, whysz, "smtpd.tls_cert_file is set but smtpd.tls_key_file is not");
        return -1;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_error_text(why, whysz, "cannot create a TLS context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (access(c->tls_cert_file, R_OK) < 0 || access(c->tls_key_file, R_OK) < 0) {
        snprintf(why, whysz, "%s: %s (set smtpd.tls_cert_file and tls_key_file, or make a "
                 "self-signed pair as scripts/quickstart does)",
                 access(c->tls_cert_file, R_OK) < 0 ? c->tls_cert_file : c->tls_key_file,
                 strerror(errno));
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert_file) != 1) {
        tls_error_text(why, whysz, c->tls_cert_file);
        SSL_CTX_free(ctx);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_error_text(why, whysz, c->tls_key_file);
        SSL_CTX_free(ctx);
        return -1;
    }
    d->tls_ctx = ctx;
    return 0;
}

void tls_free_ctx(struct smtpd *d)
{
    SSL_CTX_free(d->tls_ctx);
    d->tls_ctx = NULL;
}

struct tls_conn *tls_conn_new(struct smtpd *d)
{
    struct tls_conn *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ssl = SSL_new(d->tls_ctx);
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
    SSL_set_accept_state(t->ssl);
    return t;
}

void tls_conn_free(struct tls_conn *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

void tls_conn_describe(struct tls_conn *t, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s with cipher %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl));
}

int tls_conn_flush(struct session *s)
{
    char buf[16384];
    int n;

    while (s->tls && BIO_ctrl_pending(s->tls->wbio) > 0) {
        n = BIO_read(s->tls->wbio, buf, sizeof(buf));
        if (n <= 0)
            break;
        if (session_write_wire(s, buf, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

/* Decrypted application data goes to the session's input. */
static int tls_conn_read_plain(struct session *s, char *why, size_t whysz)
{
    uint8_t buf[16384];
    int n, err;

    for (;;) {
        n = SSL_read(s->tls->ssl, buf, sizeof(buf));
        if (n > 0) {
            if (session_append_input(s, buf, (size_t)n) < 0) {
                snprintf(why, whysz, "out of memory");
                return -1;
            }
            continue;
        }
        err = SSL_get_error(s->tls->ssl, n);
        if (err == SSL_ERROR_WANT_READ)
            return 0;
        if (err == SSL_ERROR_ZERO_RETURN) {
            snprintf(why, whysz, "client closed the TLS session");
            return -1;
        }
        tls_error_text(why, whysz, "TLS read failed");
        return -1;
    }
}

int tls_conn_input(struct session *s, const uint8_t *data, size_t len, char *why, size_t whysz)
{
    struct tls_conn *t = s->tls;
    int done = 0;

    if (BIO_write(t->rbio, data, (int)len) != (int)len) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    if (!t->established) {
        int rc = SSL_do_handshake(t->ssl);

        if (rc != 1) {
            int err = SSL_get_error(t->ssl, rc);

            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                return 0;
            tls_error_text(why, whysz, "TLS handshake failed");
            tls_conn_flush(s); /* the alert, if any */
            return -1;
        }
        t->established = 1;
        done = 1;
    }
    if (tls_conn_read_plain(s, why, whysz) < 0)
        return -1;
    return done;
}

int tls_conn_write(struct session *s, const char *data, size_t len)
{
    if (SSL_write(s->tls->ssl, data, (int)len) != (int)len) {
        ERR_clear_error();
        return -1;
    }
    return tls_conn_flush(s);
}
