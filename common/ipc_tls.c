/* ipc_tls.c - mutual TLS for IPC over TCP between hosts: the process's context from [global] ipc_tls_*, and one connection's octets through tls_bio. */
#include "ipc_tls.h"

#include <stdio.h>

#include "config.h"

#define IPC_TLS_CHUNK (16u * 1024u)

static tls_ctx_t *ipc_tls_context;

int ipc_tls_setup(const struct sg_config *c, char *why, size_t whysz)
{
    const struct cfg_global *g = &c->global;
    tls_ctx_t *ctx;

    if (!g->ipc_tls_cert[0]) {
        ipc_tls_cleanup();
        return 0;
    }
    if (!(ctx = tls_ctx_mutual(g->ipc_tls_cert, g->ipc_tls_key, g->ipc_tls_ca, why, whysz)))
        return -1;
    ipc_tls_cleanup();
    ipc_tls_context = ctx;
    return 0;
}

tls_ctx_t *ipc_tls_ctx(void)
{
    return ipc_tls_context;
}

void ipc_tls_cleanup(void)
{
    if (ipc_tls_context)
        tls_ctx_free(ipc_tls_context); /* each connection's SSL holds its own reference */
    ipc_tls_context = NULL;
}

int ipc_tls_begin(struct ipc_tls *t, int server, const char *host, char *why, size_t whysz)
{
    t->established = 0;
    t->bio = NULL;
    if (!ipc_tls_context) {
        snprintf(why, whysz, "IPC over TCP needs global.ipc_tls_cert, ipc_tls_key and ipc_tls_ca");
        return -1;
    }
    if (!(t->bio = tls_bio_new(ipc_tls_context, server, NULL, server ? NULL : host))) {
        snprintf(why, whysz, "cannot begin TLS (out of memory, or a bad name \"%s\")",
                 host ? host : "");
        return -1;
    }
    return 0;
}

void ipc_tls_end(struct ipc_tls *t)
{
    tls_bio_free(t->bio);
    t->bio = NULL;
    t->established = 0;
}

/* Every record the engine has for the peer onto out. */
static int ipc_tls_take(struct ipc_tls *t, struct sg_buf *out)
{
    size_t n;

    do {
        if (sg_buf_reserve(out, IPC_TLS_CHUNK) < 0)
            return -1;
        n = tls_bio_take(t->bio, out->data + out->len, IPC_TLS_CHUNK);
        out->len += n;
    } while (n > 0);
    return 0;
}

static int ipc_tls_read_all(struct ipc_tls *t, struct sg_buf *plain, char *why, size_t whysz)
{
    int n;

    do {
        if (sg_buf_reserve(plain, IPC_TLS_CHUNK) < 0) {
            snprintf(why, whysz, "out of memory");
            return -1;
        }
        n = tls_bio_read(t->bio, plain->data + plain->len, IPC_TLS_CHUNK, why, whysz);
        if (n > 0)
            plain->len += (size_t)n;
    } while (n > 0);
    return n;
}

int ipc_tls_in(struct ipc_tls *t, const uint8_t *data, size_t len, struct sg_buf *plain,
               struct sg_buf *out, char *why, size_t whysz)
{
    int done = 0;

    if (tls_bio_feed(t->bio, data, len) < 0) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    if (!t->established) {
        int hs = tls_bio_handshake(t->bio, why, whysz);

        if (hs < 0) {
            ipc_tls_take(t, out); /* the alert tells the peer why */
            return -1;
        }
        t->established = done = hs;
    }
    if (t->established && ipc_tls_read_all(t, plain, why, whysz) < 0)
        return -1;
    if (ipc_tls_take(t, out) < 0) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    return done;
}

int ipc_tls_seal(struct ipc_tls *t, const void *data, size_t len, struct sg_buf *out)
{
    if (tls_bio_write(t->bio, data, len) < 0)
        return -1;
    return ipc_tls_take(t, out);
}
