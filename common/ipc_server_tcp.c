/* ipc_server_tcp.c - the IPC server over TCP with mutual TLS: listeners, the handshake, the certificate's capabilities, records in and out. */
#include "ipc_server_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config_check.h"
#include "ipc_tcp.h"
#include "log.h"

int ipc_server_listen_tcp(struct ipc_server *s, const char *addr, char *err, size_t errsz)
{
    struct sockaddr_storage ss;
    uv_tcp_t *t;
    char why[200];
    int rc;

    if (!ipc_tls_ctx()) {
        snprintf(err, errsz,
                 "%s: IPC over TCP needs global.ipc_tls_cert, ipc_tls_key and ipc_tls_ca", addr);
        return -1;
    }
    if (s->ntcp == IPC_SERVER_TCP_MAX) {
        snprintf(err, errsz, "%s: more than %d TCP listeners", addr, IPC_SERVER_TCP_MAX);
        return -1;
    }
    if (cfg_listen_addr_parse(addr, &ss, why, sizeof(why)) < 0) {
        snprintf(err, errsz, "%s", why);
        return -1;
    }
    t = &s->tcp[s->ntcp++];
    uv_tcp_init(s->loop, t);
    t->data = s;
    s->listener_open++;
    if ((rc = uv_tcp_bind(t, (const struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)t, s->cfg.backlog, ipc_server_accept_cb)) != 0) {
        snprintf(err, errsz, "%s: cannot listen: %s", addr, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* TLS: sealed into records, which are written instead.  Before the handshake is done only our
 * hello is ever sent: it waits in c->out. */
void ipc_server_tls_write(struct ipc_server_conn *c, struct sg_buf *b, ipc_server_written_fn cb,
                          void *arg)
{
    struct sg_buf sealed = {0};

    if (!c->tls.bio || !ipc_server_conn_alive(c) || b->failed || !b->len) {
        ipc_server_conn_write_raw(c, b, cb, arg);
        return;
    }
    if (!c->tls.established) {
        if (b != &c->out) {
            sg_buf_append(&c->out, b->data, b->len);
            sg_buf_free(b);
        }
        if (cb)
            cb(c, arg);
        return;
    }
    if (ipc_tls_seal(&c->tls, b->data, b->len, &sealed) < 0)
        sealed.failed = 1;
    sg_buf_free(b);
    ipc_server_conn_write_raw(c, &sealed, cb, arg);
}

/* The handshake is done: what the certificate may do, its name in the logs, then our hello
 * (waiting in c->out since the accept).  A certificate no name of which is known is refused
 * before the hello. */
static void tls_ready(struct ipc_server_conn *c)
{
    struct ipc_server *s = c->srv;
    char cn[128];
    size_t n = strlen(c->name);

    tls_bio_peer_cn(c->tls.bio, cn, sizeof(cn));
    snprintf(c->name + n, sizeof(c->name) - n, " cert %s", cn[0] ? cn : "(no CN)");
    if (!s->cfg.peer_caps_tls)
        snprintf(c->tls_caps, sizeof(c->tls_caps), "%s", s->hello.caps_offered);
    else if (s->cfg.peer_caps_tls(c->tls.bio, c->tls_caps, sizeof(c->tls_caps), s->arg) < 0) {
        sg_buf_reset(&c->out);
        ipc_server_conn_fail(c, 0, IPC_ERR_CAPS,
                             "no name of this client's certificate may use this %s (see "
                             "ipc_tls_peers)",
                             s->cfg.service);
        return;
    }
    ipc_server_conn_flush(c);
}

/* TLS: the ciphertext read goes through the engine; its records for the client are sent. */
int ipc_server_tls_in(struct ipc_server_conn *c, size_t nread)
{
    struct sg_buf records = {0};
    char why[300];
    int done;

    c->rin.len += nread;
    done = ipc_tls_in(&c->tls, c->rin.data, c->rin.len, &c->in, &records, why, sizeof(why));
    sg_buf_reset(&c->rin);
    ipc_server_conn_write_raw(c, &records, NULL, NULL);
    if (done < 0) {
        log_warn("%s: %s; closing this connection", c->name, why);
        ipc_server_conn_close_after_writes(c);
        return -1;
    }
    if (done)
        tls_ready(c);
    return ipc_server_conn_alive(c) ? 0 : -1;
}

/* A TCP client: "client 10.0.0.5:41234" (its certificate's CN is added after the
 * handshake), and the server side of mutual TLS. */
int ipc_server_tls_begin(struct ipc_server_conn *c)
{
    struct sockaddr_storage ss = {0}; /* no address known: "client ?:0" */
    int len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?", why[300];

    c->uid = (uid_t)-1;
    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0)
        uv_ip_name((struct sockaddr *)&ss, host, sizeof(host));
    snprintf(c->name, sizeof(c->name), "client %s%s%s:%u", ss.ss_family == AF_INET6 ? "[" : "",
             host, ss.ss_family == AF_INET6 ? "]" : "",
             ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&ss)->sin_port));
    ipc_tcp_tune(&c->h.tcp);
    if (ipc_tls_begin(&c->tls, 1, NULL, why, sizeof(why)) < 0) {
        log_error("%s: %s", c->name, why);
        return -1;
    }
    return 0;
}
