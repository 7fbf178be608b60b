/* store_conn.c - spoolgate-store connections: accept, hello, frame dispatch, replies, close. */
#include "store_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

/* Every request type a client may send once the hellos are exchanged, and the capability it needs:
 * a client is served only what it asked for in its hello (the protocol closes the connection on a
 * request without its capability). */
static const struct store_command {
    uint16_t type;
    const char *cap;
    store_handler_fn handle;
} store_commands[] = {
    {IPC_SUBMIT_BEGIN, "submit", store_submit_begin},
    {IPC_SUBMIT_RCPT, "submit", store_submit_rcpt},
    {IPC_SUBMIT_CHUNK, "submit", store_submit_chunk},
    {IPC_SUBMIT_COMMIT, "submit", store_submit_commit},
    {IPC_SUBMIT_ABORT, "submit", store_submit_abort},
    {IPC_READ_ENVELOPE, "read", store_op_read_envelope},
    {IPC_READ_BODY, "read", store_op_read_body},
    {IPC_LIST, "list", store_op_list},
    {IPC_UPDATE_RCPT, "update", store_op_update_rcpt},
    {IPC_DUE, "due", store_op_due},
    {IPC_REQUEUE, "admin", store_op_admin},
    {IPC_HOLD, "admin", store_op_admin},
    {IPC_RELEASE, "admin", store_op_admin},
    {IPC_DELETE, "admin", store_op_delete},
    {IPC_STATS, "admin", store_op_stats},
    {IPC_SUBSCRIBE, "events", store_op_subscribe},
};

static void store_conn_process(struct store_conn *c);

uv_loop_t *store_conn_loop(struct store_conn *c)
{
    return c->st->loop;
}

struct store *store_conn_store(struct store_conn *c)
{
    return c->st;
}

int store_conn_alive(const struct store_conn *c)
{
    return c->state != CONN_CLOSING;
}

void store_conn_ref(struct store_conn *c)
{
    c->refs++;
}

static void store_conn_free(struct store_conn *c)
{
    if (c->sub)
        store_submission_free(c->sub);
    sg_buf_free(&c->in);
    free(c);
}

void store_conn_unref(struct store_conn *c)
{
    if (--c->refs == 0)
        store_conn_free(c);
}

void store_conn_busy(struct store_conn *c)
{
    c->busy = 1;
}

void store_conn_idle(struct store_conn *c)
{
    c->busy = 0;
    if (store_conn_alive(c))
        store_conn_process(c);
}

/* ---- closing ----------------------------------------------------------- */

static void store_conn_closed_cb(uv_handle_t *h)
{
    store_conn_unref(h->data);
}

static void store_conn_unlink(struct store_conn *c)
{
    struct store *st = c->st;

    if (c->prev)
        c->prev->next = c->next;
    else
        st->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    st->nconns--;
}

static void store_conn_close(struct store_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    c->state = CONN_CLOSING;
    store_conn_unlink(c);
    uv_close((uv_handle_t *)&c->pipe, store_conn_closed_cb);
}

static void store_conn_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct store_conn *c = req->data;

    free(req);
    uv_close((uv_handle_t *)&c->pipe, store_conn_closed_cb);
}

/* Close after the frames already queued have been written. */
static void store_conn_close_after_writes(struct store_conn *c)
{
    uv_shutdown_t *req;

    if (c->state == CONN_CLOSING)
        return;
    c->state = CONN_CLOSING;
    store_conn_unlink(c);
    uv_read_stop((uv_stream_t *)&c->pipe);
    req = malloc(sizeof(*req));
    if (!req || uv_shutdown(req, (uv_stream_t *)&c->pipe, store_conn_shutdown_cb) != 0) {
        free(req);
        uv_close((uv_handle_t *)&c->pipe, store_conn_closed_cb);
        return;
    }
    req->data = c;
}

void store_close_all(struct store *st)
{
    while (st->conns)
        store_conn_close(st->conns);
}

/* ---- writing ----------------------------------------------------------- */

struct store_write {
    uv_write_t req;
    struct store_conn *conn;
    uint8_t *data;
    store_written_fn cb;
    void *arg;
};

static void store_conn_write_cb(uv_write_t *req, int status)
{
    struct store_write *w = req->data;
    struct store_conn *c = w->conn;

    if (status < 0 && status != UV_ECANCELED && store_conn_alive(c)) {
        log_info("%s: write failed: %s", c->name, uv_strerror(status));
        store_conn_close(c);
    }
    free(w->data);
    if (w->cb)
        w->cb(c, w->arg);
    free(w);
    store_conn_unref(c);
}

void store_conn_send(struct store_conn *c, struct sg_buf *b, store_written_fn cb, void *arg)
{
    struct store_write *w;
    uv_buf_t ub;

    if (!store_conn_alive(c) || b->failed || b->len == 0 || !(w = malloc(sizeof(*w)))) {
        if (b->failed || (b->len && store_conn_alive(c)))
            log_error("%s: cannot send reply (out of memory or frame too large)", c->name);
        sg_buf_free(b);
        if (cb)
            cb(c, arg);
        return;
    }
    w->conn = c;
    w->data = b->data;
    w->cb = cb;
    w->arg = arg;
    w->req.data = w;
    ub = uv_buf_init((char *)b->data, (unsigned int)b->len);
    sg_buf_init(b);
    store_conn_ref(c);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &ub, 1, store_conn_write_cb) != 0) {
        free(w->data);
        free(w);
        store_conn_unref(c);
        store_conn_close(c);
        if (cb)
            cb(c, arg);
    }
}

void store_conn_reply_ok(struct store_conn *c, uint32_t request_id, uint64_t count)
{
    struct sg_buf b;
    struct ipc_ok ok = {.count = count};

    sg_buf_init(&b);
    ipc_encode_ok(&b, request_id, &ok);
    store_conn_send(c, &b, NULL, NULL);
}

static void store_conn_vreply_error(struct store_conn *c, uint32_t request_id, uint32_t code,
                                    const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void store_conn_vreply_error(struct store_conn *c, uint32_t request_id, uint32_t code,
                                    const char *fmt, va_list ap)
{
    struct sg_buf b;
    struct ipc_error e = {.code = code};

    vsnprintf(e.text, sizeof(e.text), fmt, ap);
    sg_buf_init(&b);
    ipc_encode_error(&b, request_id, &e);
    store_conn_send(c, &b, NULL, NULL);
}

void store_conn_reply_error(struct store_conn *c, uint32_t request_id, uint32_t code,
                            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    store_conn_vreply_error(c, request_id, code, fmt, ap);
    va_end(ap);
}

void store_conn_fail(struct store_conn *c, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    char text[IPC_REPLY_MAX + 1];

    if (!store_conn_alive(c))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_warn("%s: refused (%s): %s; closing this connection", c->name, ipc_error_name(code),
             text);
    store_conn_reply_error(c, 0, code, "%s", text);
    store_conn_close_after_writes(c);
}

/* ---- hello ------------------------------------------------------------- */

static void store_conn_send_hello(struct store_conn *c)
{
    struct sg_buf b;
    struct ipc_hello h = {.major = IPC_PROTO_MAJOR, .minor = IPC_PROTO_MINOR};

    snprintf(h.program, sizeof(h.program), "spoolgate-store");
    snprintf(h.role, sizeof(h.role), "store");
    snprintf(h.caps_offered, sizeof(h.caps_offered), "%s", IPC_CAPS_STORE);
    h.generation = c->st->db.generation;
    sg_buf_init(&b);
    ipc_encode_hello(&b, 0, &h);
    store_conn_send(c, &b, NULL, NULL);
}

static void store_conn_hello(struct store_conn *c, struct ipc_reader *r)
{
    struct ipc_hello ours = {.major = IPC_PROTO_MAJOR, .minor = IPC_PROTO_MINOR};
    uint32_t code;
    char why[256];
    size_t n = strlen(c->name);

    if (r->type != IPC_HELLO) {
        store_conn_fail(c, IPC_ERR_PROTO, "expected hello, got %s", ipc_type_name(r->type));
        return;
    }
    if (ipc_decode_hello(r, &c->peer) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad hello: %s", r->error);
        return;
    }
    snprintf(c->name + n, sizeof(c->name) - n, " %s/%s", c->peer.program, c->peer.role);
    snprintf(ours.program, sizeof(ours.program), "spoolgate-store");
    snprintf(ours.caps_offered, sizeof(ours.caps_offered), "%s", IPC_CAPS_STORE);
    if (ipc_hello_check(&c->peer, "", &code, why, sizeof(why)) < 0 ||
        ipc_hello_check(&ours, c->peer.caps_needed, &code, why, sizeof(why)) < 0) {
        store_conn_fail(c, code, "%s", why);
        return;
    }
    c->state = CONN_READY;
    log_info("%s: connected, protocol %u.%u", c->name, c->peer.major, c->peer.minor);
}

/* ---- input ------------------------------------------------------------- */

static void store_conn_dispatch(struct store_conn *c, struct ipc_reader *r)
{
    for (size_t i = 0; i < sizeof(store_commands) / sizeof(store_commands[0]); i++) {
        if (store_commands[i].type != r->type)
            continue;
        if (!ipc_caps_granted(&c->peer, store_commands[i].cap)) {
            store_conn_fail(c, IPC_ERR_CAPS, "%s needs capability '%s', which this client did not ask for "
                            "(it asked for '%s')", ipc_type_name(r->type), store_commands[i].cap,
                            c->peer.caps_needed);
            return;
        }
        store_commands[i].handle(c, r);
        return;
    }
    store_conn_fail(c, IPC_ERR_PROTO, "%s is not a request", ipc_type_name(r->type));
}

static void store_conn_start_reading(struct store_conn *c);

/* Handle every whole frame in the input, one request at a time. */
static void store_conn_process(struct store_conn *c)
{
    while (store_conn_alive(c) && !c->busy) {
        struct ipc_reader r;
        const char *error = NULL;
        size_t frame_len = 0;
        int got = ipc_frame_next(c->in.data, c->in.len, &frame_len, &r, &error);

        if (got == 0)
            break;
        if (got < 0) {
            store_conn_fail(c, IPC_ERR_PROTO, "bad frame: %s", error);
            return;
        }
        if (c->state == CONN_HELLO)
            store_conn_hello(c, &r);
        else
            store_conn_dispatch(c, &r);
        sg_buf_consume(&c->in, frame_len);
    }
    if (store_conn_alive(c) && c->busy && c->reading) {
        /* A request is being served: leave further input in the kernel. */
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = 0;
    } else if (store_conn_alive(c)) {
        store_conn_start_reading(c);
    }
}

static void store_conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct store_conn *c = h->data;

    if (sg_buf_reserve(&c->in, 65536) < 0) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = (char *)c->in.data + c->in.len;
    buf->len = c->in.cap - c->in.len;
}

static void store_conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct store_conn *c = s->data;

    if (nread == UV_ENOBUFS) {
        store_conn_fail(c, IPC_ERR_TEMP, "out of memory for input");
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF)
            log_info("%s: read error: %s", c->name, uv_strerror((int)nread));
        else if (c->sub)
            log_notice("%s: disconnected during a submission; nothing was stored", c->name);
        store_conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    store_conn_process(c);
}

static void store_conn_start_reading(struct store_conn *c)
{
    if (c->reading || c->busy || !store_conn_alive(c))
        return;
    if (uv_read_start((uv_stream_t *)&c->pipe, store_conn_alloc_cb, store_conn_read_cb) == 0)
        c->reading = 1;
}

/* ---- accept ------------------------------------------------------------ */

static void store_conn_name(struct store_conn *c)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
        snprintf(c->name, sizeof(c->name), "client pid %d uid %u", (int)cred.pid,
                 (unsigned)cred.uid);
    else
        snprintf(c->name, sizeof(c->name), "client");
}

static void store_conn_link(struct store *st, struct store_conn *c)
{
    c->next = st->conns;
    if (st->conns)
        st->conns->prev = c;
    st->conns = c;
    st->nconns++;
}

void store_listen_cb(uv_stream_t *server, int status)
{
    struct store *st = server->data;
    struct store_conn *c;

    if (status < 0) {
        log_error("accept: %s", uv_strerror(status));
        return;
    }
    if (!(c = calloc(1, sizeof(*c))))
        log_fatal("out of memory accepting a connection");
    c->st = st;
    c->refs = 1;
    sg_buf_init(&c->in);
    uv_pipe_init(st->loop, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        uv_close((uv_handle_t *)&c->pipe, store_conn_closed_cb);
        return;
    }
    store_conn_name(c);
    store_conn_link(st, c);
    if ((long long)st->nconns > st->cfg->store.max_clients) {
        store_conn_fail(c, IPC_ERR_TEMP, "too many clients (max_clients = %lld)",
                        st->cfg->store.max_clients);
        return;
    }
    store_conn_send_hello(c);
    store_conn_start_reading(c);
}

void store_broadcast_event(struct store *st, uint32_t kind, const char *qid)
{
    struct ipc_event ev = {.kind = kind};

    snprintf(ev.qid, sizeof(ev.qid), "%s", qid ? qid : "");
    for (struct store_conn *c = st->conns; c; c = c->next) {
        struct sg_buf b;

        if (!c->subscribed)
            continue;
        sg_buf_init(&b);
        ipc_encode_event(&b, 0, &ev);
        store_conn_send(c, &b, NULL, NULL);
    }
}
