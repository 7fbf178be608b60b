/* router_smtp_io.c - the outbound SMTP client's I/O: connection lifetime and references, timer, connect, reads, writes and TLS. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uv_write.h"
#include "router_smtp.h"
#include "smtp_char.h"

#define SMTP_INPUT_MAX (1024 * 1024) /* plaintext from the server not yet parsed */

/* ---- lifetime ------------------------------------------------------------------------ */

static void io_timer_closed(uv_handle_t *h)
{
    router_smtp_unref(h->data);
}

struct smtp_conn *router_smtp_io_new(struct dest *d, struct job *first)
{
    struct smtp_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->r = d->r;
    c->d = d;
    c->job = first;
    uv_timer_init(c->r->loop, &c->timer);
    c->timer.data = c;
    router_smtp_ref(c); /* the timer's, until io_timer_closed */
    smtp_reply_reset(&c->reply);
    c->cnext = c->r->conns;
    if (c->cnext)
        c->cnext->cprev = c;
    c->r->conns = c;
    return c;
}

void router_smtp_ref(struct smtp_conn *c)
{
    c->refs++;
}

void router_smtp_unref(struct smtp_conn *c)
{
    struct dest *d = c->d;

    if (--c->refs > 0)
        return;
    if (c->cprev)
        c->cprev->cnext = c->cnext;
    else
        c->r->conns = c->cnext;
    if (c->cnext)
        c->cnext->cprev = c->cprev;
    tls_bio_free(c->tls);
    sg_buf_free(&c->in);
    free(c->rcpt_ok);
    free(c);
    router_dest_conn_closed(d);
}

static void io_socket_closed(uv_handle_t *h)
{
    struct smtp_conn *c = h->data;

    free(h);
    router_smtp_unref(c);
}

void router_smtp_io_drop_socket(struct smtp_conn *c)
{
    if (c->sock)
        uv_close((uv_handle_t *)c->sock, io_socket_closed);
    c->sock = NULL;
}

void router_smtp_io_close(struct smtp_conn *c)
{
    uv_close((uv_handle_t *)&c->timer, io_timer_closed);
    router_smtp_io_drop_socket(c);
}

/* ---- timer ----------------------------------------------------------------------------- */

static void io_timeout_cb(uv_timer_t *t)
{
    router_smtp_timeout(t->data);
}

void router_smtp_io_timer(struct smtp_conn *c, long long seconds)
{
    if (seconds > 0)
        uv_timer_start(&c->timer, io_timeout_cb, (uint64_t)seconds * 1000u, 0);
    else
        uv_timer_stop(&c->timer);
}

/* ---- writes ---------------------------------------------------------------------------- */

static void io_write_failed(struct smtp_conn *c, const char *why)
{
    char text[IPC_REPLY_MAX + 1];

    if (c->state == SMTP_CLOSED)
        return; /* UV_ECANCELED: we closed first */
    snprintf(text, sizeof(text), "4.4.2 write to %s failed: %s", c->remote, why);
    router_smtp_fail(c, OUT_DEFERRED, "4.4.2", c->remote, text);
}

static void io_written(void *arg, size_t len, int status)
{
    struct smtp_conn *c = arg;

    c->write_pending -= len;
    if (status < 0)
        io_write_failed(c, uv_strerror(status));
    else if (c->state == SMTP_BODY)
        router_smtp_body_progress(c);
    router_smtp_unref(c);
}

static int io_write_wire(struct smtp_conn *c, const void *data, size_t len)
{
    int rc;

    if (len == 0 || c->state == SMTP_CLOSED || !c->sock)
        return 0;
    rc = sg_uv_write_copy(c->sock, data, len, io_written, c);
    if (rc < 0) {
        io_write_failed(c, uv_strerror(rc));
        return -1;
    }
    c->write_pending += len;
    router_smtp_ref(c);
    return 0;
}

static int io_tls_flush(struct smtp_conn *c)
{
    uint8_t buf[16384];
    size_t n;

    while (c->tls && (n = tls_bio_take(c->tls, buf, sizeof(buf))) > 0)
        if (io_write_wire(c, buf, n) < 0)
            return -1;
    return 0;
}

int router_smtp_io_write(struct smtp_conn *c, const void *data, size_t len)
{
    if (c->state == SMTP_CLOSED)
        return 0;
    if (!c->tls_active)
        return io_write_wire(c, data, len);
    if (tls_bio_write(c->tls, data, len) < 0) {
        io_write_failed(c, "TLS engine out of memory");
        return -1;
    }
    return io_tls_flush(c);
}

void router_smtp_io_cmd(struct smtp_conn *c, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    /* Never a byte that was not checked: a command that would not fit or would hold a line
     * break or other control is not sent (the store refuses such envelopes; this holds even
     * for one written before it did). */
    if (n < 0 || n > (int)sizeof(line) - 3 || smtp_has_control(line, (size_t)n)) {
        router_smtp_fail(c, OUT_FAILED, "5.3.0", NULL,
                         "5.3.0 not sent: the envelope would put a line break, a control character "
                         "or an over-long line into an SMTP command");
        return;
    }
    log_debug("%s: >>> %.*s", c->remote, n, line);
    memcpy(line + n, "\r\n", 2);
    router_smtp_io_write(c, line, (size_t)n + 2);
}

void router_smtp_io_secret(struct smtp_conn *c, const char *shown, const char *line, size_t len)
{
    log_debug("%s: >>> %s", c->remote, shown);
    router_smtp_io_write(c, line, len);
}

/* ---- reads ----------------------------------------------------------------------------- */

static void io_read_failed(struct smtp_conn *c, ssize_t nread)
{
    char text[IPC_REPLY_MAX + 1];

    if (c->state == SMTP_QUIT) {
        router_smtp_enter(c, SMTP_CLOSED);
        return;
    }
    snprintf(text, sizeof(text), "4.4.2 %s closed the connection in state %s%s%s", c->remote,
             router_smtp_state_name(c->state), nread == UV_EOF ? "" : ": ",
             nread == UV_EOF ? "" : uv_strerror((int)nread));
    router_smtp_fail(c, OUT_DEFERRED, "4.4.2", c->remote, text);
}

static int io_take_input(struct smtp_conn *c, const uint8_t *p, size_t n)
{
    char text[IPC_REPLY_MAX + 1];

    if (c->in.len + n <= SMTP_INPUT_MAX && sg_buf_append(&c->in, p, n) == 0)
        return 0;
    snprintf(text, sizeof(text), "4.5.0 %s sent over %d octets without a complete reply", c->remote,
             SMTP_INPUT_MAX);
    router_smtp_fail(c, OUT_DEFERRED, "4.5.0", c->remote, text);
    return -1;
}

/* The handshake went on; 0 while it runs, 1 once it is done (the state machine was told). */
static int io_tls_handshake(struct smtp_conn *c)
{
    int rc = tls_bio_handshake(c->tls, c->last_error, sizeof(c->last_error));
    char desc[200];

    if (io_tls_flush(c) < 0)
        return 0;
    if (rc < 0) {
        router_smtp_tls_failed(c, c->last_error);
        return 0;
    }
    if (rc == 0)
        return 0;
    c->tls_active = 1;
    tls_bio_describe(c->tls, desc, sizeof(desc));
    log_info("%s: TLS established with %s: %s", c->d->route.desc, c->remote, desc);
    router_smtp_tls_ready(c);
    return 1;
}

static void io_tls_input(struct smtp_conn *c, const uint8_t *p, size_t n)
{
    uint8_t buf[16384];
    int rc;

    if (tls_bio_feed(c->tls, p, n) < 0) {
        router_smtp_tls_failed(c, "out of memory");
        return;
    }
    if (!c->tls_active && !io_tls_handshake(c))
        return;
    while (c->state != SMTP_CLOSED &&
           (rc = tls_bio_read(c->tls, buf, sizeof(buf), c->last_error, sizeof(c->last_error))) > 0)
        if (io_take_input(c, buf, (size_t)rc) < 0)
            return;
    if (c->state == SMTP_CLOSED)
        return;
    if (rc < 0) {
        if (c->state == SMTP_QUIT)
            router_smtp_enter(c, SMTP_CLOSED);
        else
            router_smtp_fail(c, OUT_DEFERRED, "4.4.2", c->remote, c->last_error);
        return;
    }
    router_smtp_input(c);
}

void router_smtp_io_tls_feed(struct smtp_conn *c, const uint8_t *p, size_t n)
{
    if (n && tls_bio_feed(c->tls, p, n) < 0)
        router_smtp_tls_failed(c, "out of memory");
}

static void io_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char rbuf[65536];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void io_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct smtp_conn *c = s->data;

    if (c->state == SMTP_CLOSED || nread == 0)
        return;
    if (nread < 0)
        io_read_failed(c, nread);
    else if (c->tls)
        io_tls_input(c, (const uint8_t *)buf->base, (size_t)nread);
    else if (io_take_input(c, (const uint8_t *)buf->base, (size_t)nread) == 0)
        router_smtp_input(c);
}

/* Replies are read except while the body is written: the server says nothing
 * before the end of data, and a reset then shows as the write that failed. */
void router_smtp_io_reading(struct smtp_conn *c, int on)
{
    if (!c->sock || c->state == SMTP_CLOSED)
        return;
    if (on)
        uv_read_start(c->sock, io_alloc_cb, io_read_cb);
    else
        uv_read_stop(c->sock);
}

/* ---- TLS ------------------------------------------------------------------------------- */

int router_smtp_io_tls_start(struct smtp_conn *c)
{
    const char *name = c->dns.t[c->target].name;
    int verify = c->d->route.tls == TM_TLS_VERIFY || c->d->route.tls == TM_TLS_IMPLICIT;

    c->tls = tls_bio_new(c->r->tls_client, 0, name, verify ? name : NULL);
    if (!c->tls)
        return -1;
    tls_bio_handshake(c->tls, c->last_error, sizeof(c->last_error));
    io_tls_flush(c);
    return 0;
}

/* ---- connecting ------------------------------------------------------------------------ */

struct connect_attempt {
    uv_connect_t req;
    struct smtp_conn *c;
    uv_stream_t *sock; /* the socket it was for: another one means it is stale */
};

static void io_connect_cb(uv_connect_t *req, int status)
{
    struct connect_attempt *a = req->data;
    struct smtp_conn *c = a->c;
    int current = a->sock == c->sock && c->state == SMTP_CONNECT && status != UV_ECANCELED;

    free(a);
    if (current) {
        if (status == 0) {
            if (c->sock->type == UV_TCP) /* commands are written whole: no delayed ACKs */
                uv_tcp_nodelay((uv_tcp_t *)c->sock, 1);
            router_smtp_io_reading(c, 1);
        }
        router_smtp_connected(c, status);
    }
    router_smtp_unref(c);
}

static int io_target_address(struct smtp_conn *c, struct sockaddr_storage *ss)
{
    const struct dns_target *t = &c->dns.t[c->target];
    unsigned port = c->d->route.port;

    if (strcmp(t->name, t->addr) == 0)
        snprintf(c->remote, sizeof(c->remote), "[%s]:%u", t->addr, port);
    else
        snprintf(c->remote, sizeof(c->remote), "%s[%s]:%u", t->name, t->addr, port);
    if ((t->family == AF_INET6 ? uv_ip6_addr(t->addr, (int)port, (struct sockaddr_in6 *)ss)
                               : uv_ip4_addr(t->addr, (int)port, (struct sockaddr_in *)ss)) != 0) {
        snprintf(c->last_error, sizeof(c->last_error), "bad address %s", t->addr);
        return -1;
    }
    return 0;
}

/* The socket of this attempt made and a's connect request on it started: 0, or -1 (no socket, or
 * the request refused at once; the caller says why). */
static int io_start_connect(struct smtp_conn *c, struct connect_attempt *a,
                            const struct sockaddr_storage *ss)
{
    if (c->d->route.unix_sock) {
        uv_pipe_t *p = malloc(sizeof(*p));

        if (!p || uv_pipe_init(c->r->loop, p, 0) < 0) {
            free(p);
            return -1;
        }
        c->sock = (uv_stream_t *)p;
    } else {
        uv_tcp_t *t = malloc(sizeof(*t));

        if (!t || uv_tcp_init(c->r->loop, t) < 0) {
            free(t);
            return -1;
        }
        c->sock = (uv_stream_t *)t;
    }
    c->sock->data = c;
    router_smtp_ref(c); /* the socket's, until io_socket_closed */
    a->req.data = a;
    a->c = c;
    a->sock = c->sock;
    if (c->d->route.unix_sock) { /* uv_pipe_connect reports every failure to its callback */
        uv_pipe_connect(&a->req, (uv_pipe_t *)c->sock, c->d->route.host, io_connect_cb);
        return 0;
    }
    return uv_tcp_connect(&a->req, (uv_tcp_t *)c->sock, (const struct sockaddr *)ss,
                          io_connect_cb) < 0
               ? -1
               : 0;
}

int router_smtp_io_connect(struct smtp_conn *c)
{
    struct sockaddr_storage ss = {0};
    struct connect_attempt *a;

    if (c->d->route.unix_sock)
        snprintf(c->remote, sizeof(c->remote), "unix:%s", c->d->route.host);
    else if (io_target_address(c, &ss) < 0)
        return -1;
    if (!(a = calloc(1, sizeof(*a)))) {
        snprintf(c->last_error, sizeof(c->last_error), "out of memory in the router");
        return -1;
    }
    if (io_start_connect(c, a, &ss) < 0) {
        free(a);
        if (c->sock)
            router_smtp_io_drop_socket(c);
        snprintf(c->last_error, sizeof(c->last_error), "cannot connect to %s", c->remote);
        return -1;
    }
    router_smtp_ref(c); /* the attempt's, until io_connect_cb */
    return 0;
}

/* The stop: every connection not in the middle of a message closes now, its
 * recipients without an outcome (they stay active; the lease or the next
 * start brings them back); one sending a message (body or final dot) is given
 * until the stop deadline, so no message is cut off after the peer has it all. */
void router_smtp_stop_all(struct router *r, int deadline)
{
    for (struct smtp_conn *c = r->conns, *next; c; c = next) {
        next = c->cnext;
        if (c->state == SMTP_CLOSED ||
            (!deadline && (c->state == SMTP_BODY || c->state == SMTP_DOT)))
            continue;
        router_smtp_enter(c, SMTP_CLOSED); /* the job goes back without outcomes */
    }
}
