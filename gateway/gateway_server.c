/* gateway_server.c - the gateway's socket: hellos, directory lookups from smtpd, deliveries from the router. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

struct gw_conn {
    struct gateway *g;
    uv_pipe_t pipe;
    int refs;
    int closing;
    int hello_done;
    struct ipc_hello peer;
    struct sg_buf in;
    struct sg_buf out;
    struct gw_conn *next;
};

struct conn_write {
    uv_write_t req;
    struct gw_conn *c;
    uint8_t *data;
};

void gw_conn_ref(struct gw_conn *c)
{
    c->refs++;
}

void gw_conn_unref(struct gw_conn *c)
{
    if (--c->refs > 0)
        return;
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    free(c);
}

int gw_conn_alive(const struct gw_conn *c)
{
    return c && !c->closing;
}

static void conn_closed_cb(uv_handle_t *h)
{
    gw_conn_unref(h->data);
}

static void conn_close(struct gw_conn *c, const char *why)
{
    struct gateway *g = c->g;

    if (c->closing)
        return;
    c->closing = 1;
    if (why)
        log_info("connection from %s: %s", c->peer.program[0] ? c->peer.program : "a client", why);
    for (struct gw_conn **p = &g->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    uv_close((uv_handle_t *)&c->pipe, conn_closed_cb);
}

struct sg_buf *gw_conn_out(struct gw_conn *c)
{
    return &c->out;
}

static void conn_write_cb(uv_write_t *req, int status)
{
    struct conn_write *w = req->data;

    if (status < 0)
        conn_close(w->c, uv_strerror(status));
    free(w->data);
    gw_conn_unref(w->c);
    free(w);
}

void gw_conn_flush(struct gw_conn *c)
{
    struct conn_write *w;
    uv_buf_t buf;

    if (c->closing || c->out.len == 0)
        return;
    if (c->out.failed || !(w = calloc(1, sizeof(*w)))) {
        conn_close(c, "out of memory");
        return;
    }
    w->c = c;
    w->data = c->out.data;
    w->req.data = w;
    buf = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    sg_buf_init(&c->out);
    gw_conn_ref(c);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, conn_write_cb) < 0) {
        free(w->data);
        free(w);
        gw_conn_unref(c);
        conn_close(c, "write failed");
    }
}

static void conn_error(struct gw_conn *c, uint32_t request_id, uint32_t code, const char *text)
{
    struct ipc_error e = {.code = code};

    snprintf(e.text, sizeof(e.text), "%s", text);
    ipc_encode_error(&c->out, request_id, &e);
    gw_conn_flush(c);
    conn_close(c, text);
}

static void conn_hello(struct gw_conn *c, struct ipc_reader *r)
{
    struct ipc_hello ours = {.major = IPC_PROTO_MAJOR, .minor = IPC_PROTO_MINOR};
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];

    if (r->type != IPC_HELLO || ipc_decode_hello(r, &c->peer) < 0) {
        conn_error(c, 0, IPC_ERR_PROTO, "expected a hello");
        return;
    }
    snprintf(ours.caps_offered, sizeof(ours.caps_offered), "%s,%s", IPC_CAP_DIRECTORY, IPC_CAP_DELIVER);
    if (ipc_hello_check(&c->peer, "", &code, why, sizeof(why)) < 0 ||
        ipc_hello_check(&ours, c->peer.caps_needed, &code, why, sizeof(why)) < 0) {
        log_warn("refused %s (%s): %s", c->peer.program, c->peer.role, why);
        conn_error(c, 0, code, why);
        return;
    }
    c->hello_done = 1;
    log_debug("%s (%s) connected, protocol %u.%u", c->peer.program, c->peer.role, c->peer.major,
              c->peer.minor);
}

static void conn_frame(struct gw_conn *c, struct ipc_reader *r)
{
    struct ipc_dir_lookup q;
    struct ipc_gw_deliver d;

    if (!c->hello_done) {
        conn_hello(c, r);
        return;
    }
    if ((r->type == IPC_DIR_LOOKUP || r->type == IPC_GW_DELIVER) &&
        !ipc_caps_granted(&c->peer, r->type == IPC_DIR_LOOKUP ? IPC_CAP_DIRECTORY : IPC_CAP_DELIVER)) {
        char why[IPC_REPLY_MAX + 1];

        snprintf(why, sizeof(why), "%s needs capability '%s', which this client did not ask for",
                 ipc_type_name(r->type), r->type == IPC_DIR_LOOKUP ? IPC_CAP_DIRECTORY : IPC_CAP_DELIVER);
        log_warn("refused %s (%s): %s", c->peer.program, c->peer.role, why);
        conn_error(c, r->request_id, IPC_ERR_CAPS, why);
        return;
    }
    if (r->type == IPC_DIR_LOOKUP && ipc_decode_dir_lookup(r, &q) == 0) {
        gw_dir_answer(c->g, c, r->request_id, &q);
        return;
    }
    if (r->type == IPC_GW_DELIVER && ipc_decode_gw_deliver(r, &d) == 0) {
        gw_in_deliver(c->g, c, r->request_id, &d);
        return;
    }
    conn_error(c, r->request_id, IPC_ERR_PROTO, r->error ? r->error : "unexpected request");
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct gw_conn *c = h->data;

    if (sg_buf_reserve(&c->in, 65536) < 0) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->in.data + c->in.len, 65536);
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct gw_conn *c = s->data;
    size_t off = 0;

    if (c->closing)
        return;
    if (nread < 0) {
        conn_close(c, nread == UV_EOF ? NULL : uv_strerror((int)nread));
        return;
    }
    c->in.len += (size_t)nread;
    gw_conn_ref(c);
    while (!c->closing) {
        struct ipc_reader r;
        const char *error = NULL;
        int got = ipc_frame_next(c->in.data, c->in.len, &off, &r, &error);

        if (got == 0)
            break;
        if (got < 0) {
            conn_error(c, 0, IPC_ERR_PROTO, error);
            break;
        }
        conn_frame(c, &r);
    }
    if (!c->closing)
        sg_buf_consume(&c->in, off);
    gw_conn_unref(c);
}

static void listen_cb(uv_stream_t *server, int status)
{
    struct gateway *g = server->data;
    struct gw_conn *c;
    struct ipc_hello ours = {.major = IPC_PROTO_MAJOR, .minor = IPC_PROTO_MINOR};

    if (status < 0 || !(c = calloc(1, sizeof(*c))))
        return;
    c->g = g;
    c->refs = 1;
    sg_buf_init(&c->in);
    sg_buf_init(&c->out);
    uv_pipe_init(g->loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = g->conns;
    g->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
        conn_close(c, "accept failed");
        return;
    }
    snprintf(ours.program, sizeof(ours.program), "%s", GATEWAY_PROGRAM);
    snprintf(ours.role, sizeof(ours.role), "gateway");
    snprintf(ours.caps_offered, sizeof(ours.caps_offered), "%s,%s", IPC_CAP_DIRECTORY, IPC_CAP_DELIVER);
    ipc_encode_hello(&c->out, 0, &ours);
    gw_conn_flush(c);
    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc_cb, conn_read_cb);
}

void gw_server_start(struct gateway *g)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g->socket_path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        log_fatal("%s: a gateway is already answering on this socket", g->socket_path);
    if (fd >= 0)
        close(fd);
    unlink(g->socket_path);
    uv_pipe_init(g->loop, &g->listener, 0);
    g->listener.data = g;
    if ((rc = uv_pipe_bind(&g->listener, g->socket_path)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&g->listener, 64, listen_cb)) != 0)
        log_fatal("%s: cannot listen: %s", g->socket_path, uv_strerror(rc));
    chmod(g->socket_path, 0660);
}

void gw_server_stop(struct gateway *g)
{
    uv_close((uv_handle_t *)&g->listener, NULL);
    while (g->conns)
        conn_close(g->conns, NULL);
    unlink(g->socket_path);
}

void gw_server_share_back(struct gateway *g)
{
    struct ipc_event ev = {.kind = IPC_EV_SHARE_BACK};

    for (struct gw_conn *c = g->conns; c; c = c->next) {
        if (!c->hello_done || strcmp(c->peer.role, "router") != 0)
            continue;
        ipc_encode_event(&c->out, 0, &ev);
        gw_conn_flush(c);
    }
}
