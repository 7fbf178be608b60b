/* ipc_uv.c - asynchronous IPC client connection on a libuv loop. */
#include "ipc_uv.h"
#include "uv_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPC_UV_READ_SIZE (64 * 1024)
#define IPC_UV_HELLO_MS 5000

enum ipc_uv_state { IUV_CONNECTING, IUV_HELLO, IUV_READY, IUV_CLOSING };

struct ipc_uv {
    uv_pipe_t pipe;
    uv_timer_t hello_timer; /* the peer's hello must come within IPC_UV_HELLO_MS */
    int handles;            /* open handles: freed when the last is closed */
    uv_connect_t connect_req;
    enum ipc_uv_state state;
    const struct ipc_uv_ops *ops;
    void *arg;
    char caps_needed[IPC_CAPS_MAX + 1];
    struct ipc_hello ours;
    struct ipc_hello peer;
    struct sg_buf in;
    struct sg_buf out;
    size_t pending;  /* bytes in uv_write requests not yet completed */
    unsigned writes; /* uv_write requests in flight */
    uint32_t next_request;
    int paused;
};

static void ipc_uv_closed_cb(uv_handle_t *h)
{
    struct ipc_uv *c = h->data;

    if (--c->handles > 0)
        return;
    /* Write callbacks (with UV_ECANCELED) run before the close callback. */
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    free(c);
}

static void ipc_uv_shutdown(struct ipc_uv *c)
{
    if (c->state == IUV_CLOSING)
        return;
    c->state = IUV_CLOSING;
    uv_close((uv_handle_t *)&c->hello_timer, ipc_uv_closed_cb);
    uv_close((uv_handle_t *)&c->pipe, ipc_uv_closed_cb);
}

/* Lost or refused: tell the owner once, then close. */
static void ipc_uv_fail(struct ipc_uv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void ipc_uv_fail(struct ipc_uv *c, const char *fmt, ...)
{
    char why[IPC_REPLY_MAX + 64];
    va_list ap;

    if (c->state == IUV_CLOSING)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    ipc_uv_shutdown(c);
    if (c->ops->closed)
        c->ops->closed(c, why, c->arg);
}

void ipc_uv_close(struct ipc_uv *c)
{
    ipc_uv_shutdown(c);
}

void ipc_uv_set_ops(struct ipc_uv *c, const struct ipc_uv_ops *ops, void *arg)
{
    c->ops = ops;
    c->arg = arg;
}

struct sg_buf *ipc_uv_out(struct ipc_uv *c)
{
    return &c->out;
}

size_t ipc_uv_pending(const struct ipc_uv *c)
{
    return c->pending + c->out.len;
}

uint32_t ipc_uv_request_id(struct ipc_uv *c)
{
    if (++c->next_request == 0)
        c->next_request = 1;
    return c->next_request;
}

const struct ipc_hello *ipc_uv_peer(const struct ipc_uv *c)
{
    return &c->peer;
}

/* ---- writing -------------------------------------------------------------- */

static void ipc_uv_written(void *arg, size_t len, int status)
{
    struct ipc_uv *c = arg;

    c->pending -= len;
    c->writes--;
    if (c->state == IUV_CLOSING)
        return;
    if (status < 0) {
        ipc_uv_fail(c, "write to %s failed: %s", c->peer.role[0] ? c->peer.role : "peer",
                    uv_strerror(status));
        return;
    }
    if (c->writes == 0 && c->ops->drained)
        c->ops->drained(c, c->arg);
}

int ipc_uv_flush(struct ipc_uv *c)
{
    size_t len = c->out.len;
    int rc;

    if (c->state == IUV_CLOSING)
        return -1;
    if (c->out.failed) {
        ipc_uv_fail(c, "cannot build a frame (out of memory or too large)");
        return -1;
    }
    if (len == 0 || c->state == IUV_CONNECTING)
        return 0;
    /* The write takes the buffer itself; out starts afresh. */
    if ((rc = sg_uv_write_buf((uv_stream_t *)&c->pipe, &c->out, ipc_uv_written, c)) < 0) {
        ipc_uv_fail(c, "write failed: %s", uv_strerror(rc));
        return -1;
    }
    c->pending += len;
    c->writes++;
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

static void ipc_uv_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ipc_uv *c = h->data;

    if (sg_buf_reserve(&c->in, IPC_UV_READ_SIZE) < 0) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->in.data + c->in.len, IPC_UV_READ_SIZE);
}

static void ipc_uv_hello(struct ipc_uv *c, struct ipc_reader *r)
{
    struct ipc_error e;
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];

    if (r->type == IPC_ERROR && ipc_decode_error(r, &e) == 0) {
        ipc_uv_fail(c, "refused by the peer: %s", e.text);
        return;
    }
    if (r->type != IPC_HELLO || ipc_decode_hello(r, &c->peer) < 0) {
        ipc_uv_fail(c, "expected a hello, got %s%s%s", ipc_type_name(r->type), r->error ? ": " : "",
                    r->error ? r->error : "");
        return;
    }
    if (ipc_hello_check(&c->peer, c->caps_needed, &code, why, sizeof(why)) < 0) {
        ipc_uv_fail(c, "%s %s: %s", c->peer.role, c->peer.program, why);
        return;
    }
    c->state = IUV_READY;
    uv_timer_stop(&c->hello_timer);
    if (c->ops->ready)
        c->ops->ready(c, c->arg);
}

/* Take every whole frame off the input; stop when the owner closes us. */
static void ipc_uv_frames(struct ipc_uv *c)
{
    size_t off = 0;

    while (c->state != IUV_CLOSING && !c->paused) {
        struct ipc_reader r;
        const char *error = NULL;
        int got = ipc_frame_next(c->in.data, c->in.len, &off, &r, &error);

        if (got == 0)
            break;
        if (got < 0) {
            ipc_uv_fail(c, "malformed frame from the peer: %s", error);
            return;
        }
        if (c->state == IUV_HELLO)
            ipc_uv_hello(c, &r);
        else if (c->ops->frame)
            c->ops->frame(c, &r, c->arg);
    }
    if (c->state != IUV_CLOSING)
        sg_buf_consume(&c->in, off);
}

static void ipc_uv_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct ipc_uv *c = s->data;

    if (c->state == IUV_CLOSING)
        return;
    if (nread == UV_ENOBUFS) {
        ipc_uv_fail(c, "out of memory reading from the peer");
        return;
    }
    if (nread < 0) {
        ipc_uv_fail(c, "%s",
                    nread == UV_EOF ? "connection closed by the peer" : uv_strerror((int)nread));
        return;
    }
    c->in.len += (size_t)nread;
    ipc_uv_frames(c);
}

void ipc_uv_pause(struct ipc_uv *c, int paused)
{
    if (c->state == IUV_CLOSING || c->paused == paused)
        return;
    c->paused = paused;
    if (c->state == IUV_CONNECTING)
        return;
    if (paused) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        return;
    }
    ipc_uv_frames(c); /* what was read before the pause */
    if (c->state != IUV_CLOSING && !c->paused)
        uv_read_start((uv_stream_t *)&c->pipe, ipc_uv_alloc_cb, ipc_uv_read_cb);
}

/* A peer that takes the connection and never says hello (stopped, or hung) is given up, so
 * that a client with other addresses goes on to the next. */
static void ipc_uv_hello_timeout(uv_timer_t *t)
{
    struct ipc_uv *c = t->data;

    ipc_uv_fail(c, "no hello from the peer within %u s (stopped or hung?)", IPC_UV_HELLO_MS / 1000);
}

static void ipc_uv_connect_cb(uv_connect_t *req, int status)
{
    struct ipc_uv *c = req->data;
    int rc;

    if (c->state == IUV_CLOSING)
        return;
    if (status < 0) {
        ipc_uv_fail(c, "cannot connect: %s", uv_strerror(status));
        return;
    }
    c->state = IUV_HELLO;
    if (ipc_encode_hello(&c->out, 0, &c->ours) < 0 || ipc_uv_flush(c) < 0) {
        ipc_uv_fail(c, "cannot send our hello");
        return;
    }
    rc = c->paused ? 0 : uv_read_start((uv_stream_t *)&c->pipe, ipc_uv_alloc_cb, ipc_uv_read_cb);
    if (rc < 0)
        ipc_uv_fail(c, "cannot read: %s", uv_strerror(rc));
}

struct ipc_uv *ipc_uv_connect(uv_loop_t *loop, const char *path, const char *program,
                              const char *role, const char *caps_needed,
                              const struct ipc_uv_ops *ops, void *arg)
{
    struct ipc_uv *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->ops = ops;
    c->arg = arg;
    c->state = IUV_CONNECTING;
    snprintf(c->caps_needed, sizeof(c->caps_needed), "%s", caps_needed);
    snprintf(c->ours.program, sizeof(c->ours.program), "%s", program);
    snprintf(c->ours.role, sizeof(c->ours.role), "%s", role);
    snprintf(c->ours.caps_needed, sizeof(c->ours.caps_needed), "%s", caps_needed);
    c->ours.major = IPC_PROTO_MAJOR;
    c->ours.minor = IPC_PROTO_MINOR;
    sg_buf_init(&c->in);
    sg_buf_init(&c->out);
    uv_pipe_init(loop, &c->pipe, 0);
    c->pipe.data = c;
    uv_timer_init(loop, &c->hello_timer);
    c->hello_timer.data = c;
    c->handles = 2;
    uv_timer_start(&c->hello_timer, ipc_uv_hello_timeout, IPC_UV_HELLO_MS, 0);
    c->connect_req.data = c;
    /* Connect errors (even synchronous ones) arrive in the callback. */
    uv_pipe_connect(&c->connect_req, &c->pipe, path, ipc_uv_connect_cb);
    return c;
}
