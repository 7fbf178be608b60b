/* smtpd_tls.c - STARTTLS for smtpd sessions: the server context and the session's TLS plumbing over tls_bio. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "smtpd.h"
#include "tls_bio.h"

int smtpd_tls_ctx_load(const struct cfg_smtpd *c, void **ctx, char *why, size_t whysz)
{
    char err[400];

    *ctx = NULL;
    if (!c->tls_cert_file[0])
        return 0;
    if (!c->tls_key_file[0]) {
        snprintf(why, whysz, "smtpd.tls_cert_file is set but smtpd.tls_key_file is not");
        return -1;
    }
    *ctx = tls_ctx_server(c->tls_cert_file, c->tls_key_file, err, sizeof(err));
    if (!*ctx) {
        snprintf(why, whysz,
                 "%s (set smtpd.tls_cert_file and tls_key_file, or make a "
                 "self-signed pair as scripts/quickstart does)",
                 err);
        return -1;
    }
    return 0;
}

int smtpd_tls_init(struct smtpd *d, char *why, size_t whysz)
{
    return smtpd_tls_ctx_load(&d->cfg->smtpd, &d->tls_ctx, why, whysz);
}

void smtpd_tls_free_ctx(struct smtpd *d)
{
    tls_ctx_free(d->tls_ctx);
    d->tls_ctx = NULL;
}

struct tls_conn *smtpd_tls_conn_new(struct smtpd *d)
{
    return (struct tls_conn *)tls_bio_new(d->tls_ctx, 1, NULL, NULL);
}

void smtpd_tls_conn_free(struct tls_conn *t)
{
    tls_bio_free((struct tls_bio *)t);
}

void smtpd_tls_conn_describe(struct tls_conn *t, char *buf, size_t bufsz)
{
    tls_bio_describe((struct tls_bio *)t, buf, bufsz);
}

int smtpd_tls_conn_flush(struct session *s)
{
    uint8_t buf[16384];
    size_t n;

    while (s->tls && (n = tls_bio_take((struct tls_bio *)s->tls, buf, sizeof(buf))) > 0)
        if (smtpd_session_write_wire(s, buf, n) < 0)
            return -1;
    return 0;
}

int smtpd_tls_conn_input(struct session *s, const uint8_t *data, size_t len, char *why,
                         size_t whysz)
{
    struct tls_bio *t = (struct tls_bio *)s->tls;
    uint8_t buf[16384];
    int hs, n;

    if (tls_bio_feed(t, data, len) < 0) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    hs = tls_bio_handshake(t, why, whysz);
    if (hs < 0)
        smtpd_tls_conn_flush(s); /* the alert, if any */
    if (hs <= 0)
        return hs;
    while ((n = tls_bio_read(t, buf, sizeof(buf), why, whysz)) > 0)
        if (smtpd_session_append_input(s, buf, (size_t)n) < 0) {
            snprintf(why, whysz, "out of memory");
            return -1;
        }
    if (n < 0)
        return -1;
    return s->state == SS_TLS ? 1 : 0;
}

int smtpd_tls_conn_write(struct session *s, const char *data, size_t len)
{
    if (tls_bio_write((struct tls_bio *)s->tls, data, len) < 0)
        return -1;
    return smtpd_tls_conn_flush(s);
}
