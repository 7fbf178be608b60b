/* ipc_uv.c - asynchronous IPC client connection on a libuv loop. */
#include "ipc_uv.h"
#include "ipc_tcp.h"
#include "ipc_tls.h"
#include "store_addr.h"
#include "uv_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPC_UV_READ_SIZE (64 * 1024)
#define IPC_UV_HELLO_MS 5000

/* IUV_ROLE: the store's hello offered IPC_CAP_ROLE, its IPC_ROLE decides. */
enum ipc_uv_state { IUV_CONNECTING, IUV_HELLO, IUV_ROLE, IUV_READY, IUV_CLOSING };

struct ipc_uv {
    union {
        uv_pipe_t pipe; /* a Unix socket path */
        uv_tcp_t tcp;   /* tcp:ADDRESS:PORT, with mutual TLS */
    } h;
    uv_timer_t hello_timer; /* the peer's hello must come within IPC_UV_HELLO_MS */
    int handles;            /* open handles: freed when the last is closed */
    uv_connect_t connect_req;
    enum ipc_uv_state state;
    const struct ipc_uv_ops *ops;
    void *arg;
    char caps_needed[IPC_CAPS_MAX + 1];
    struct ipc_hello ours;
    struct ipc_hello peer;
    struct ipc_role role; /* the store's, when has_role */
    int has_role;
    struct sg_buf in;
    struct sg_buf out;
    size_t pending;  /* bytes in uv_write requests not yet completed */
    unsigned writes; /* uv_write requests in flight */
    uint32_t next_request;
    int paused;
    struct ipc_tls tls; /* tls.bio NULL on a Unix socket */
    struct sg_buf raw;  /* TLS: records sealed, to be written */
    struct sg_buf rin;  /* TLS: ciphertext read */
    char host[64];      /* TLS: the name the store's certificate must carry */
    char early[200];    /* a failure found before connecting, told from the timer */
};

#define IUV_STREAM(c) ((uv_stream_t *)&(c)->h)

static void ipc_uv_closed_cb(uv_handle_t *h)
{
    struct ipc_uv *c = h->data;

    if (--c->handles > 0)
        return;
    /* Write callbacks (with UV_ECANCELED) run before the close callback. */
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    sg_buf_free(&c->raw);
    sg_buf_free(&c->rin);
    ipc_tls_end(&c->tls);
    free(c);
}

static void ipc_uv_shutdown(struct ipc_uv *c)
{
    if (c->state == IUV_CLOSING)
        return;
    c->state = IUV_CLOSING;
    uv_close((uv_handle_t *)&c->hello_timer, ipc_uv_closed_cb);
    uv_close((uv_handle_t *)&c->h, ipc_uv_closed_cb);
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

const struct ipc_role *ipc_uv_role(const struct ipc_uv *c)
{
    return c->has_role ? &c->role : NULL;
}

const char *ipc_uv_follow(const struct ipc_uv *c)
{
    if (!c->has_role || strcmp(c->role.role, IPC_ROLE_MASTER) == 0 || !c->role.master_addr[0])
        return NULL;
    return c->role.master_addr;
}

int ipc_uv_closed_why(const struct ipc_uv *c, const struct sc_addr_list *list, const char *why,
                      char *text, size_t textsz)
{
    const char *follow = ipc_uv_follow(c);
    int master = follow ? sc_addr_find(list, follow) : -1;
    const char *outside = follow && master < 0 ? " (not one of [global] store: trying those)" : "";

    /* refused after the hello, why names the master; a store that stepped down says so here */
    if (c->has_role && strcmp(c->role.role, IPC_ROLE_MASTER) != 0 &&
        strncmp(why, "not master", 10) != 0)
        snprintf(text, textsz, "%s; it stepped down (%s), the master is %.100s%s", why,
                 c->role.role, follow ? follow : "not known yet", outside);
    else
        snprintf(text, textsz, "%s%s", why, outside);
    return master;
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

/* b's octets to the socket (the frames, or their TLS records); the write takes b's memory. */
static int ipc_uv_write(struct ipc_uv *c, struct sg_buf *b)
{
    size_t len = b->len;
    int rc;

    if (len == 0)
        return 0;
    if ((rc = sg_uv_write_buf(IUV_STREAM(c), b, ipc_uv_written, c)) < 0) {
        ipc_uv_fail(c, "write failed: %s", uv_strerror(rc));
        return -1;
    }
    c->pending += len;
    c->writes++;
    return 0;
}

static int ipc_uv_write_raw(struct ipc_uv *c)
{
    return ipc_uv_write(c, &c->raw);
}

int ipc_uv_flush(struct ipc_uv *c)
{
    size_t len = c->out.len;

    if (c->state == IUV_CLOSING)
        return -1;
    if (c->out.failed) {
        ipc_uv_fail(c, "cannot build a frame (out of memory or too large)");
        return -1;
    }
    if (len == 0 || c->state == IUV_CONNECTING || (c->tls.bio && !c->tls.established))
        return 0;
    if (c->tls.bio) { /* sealed into records, which are written instead */
        int sealed = ipc_tls_seal(&c->tls, c->out.data, len, &c->raw);

        sg_buf_reset(&c->out);
        if (sealed < 0) {
            ipc_uv_fail(c, "cannot encrypt (out of memory)");
            return -1;
        }
        return ipc_uv_write_raw(c);
    }
    return ipc_uv_write(c, &c->out); /* out starts afresh */
}

/* ---- reading -------------------------------------------------------------- */

static void ipc_uv_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ipc_uv *c = h->data;
    struct sg_buf *b = c->tls.bio ? &c->rin : &c->in;

    if (sg_buf_reserve(b, IPC_UV_READ_SIZE) < 0) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)b->data + b->len, IPC_UV_READ_SIZE);
}

static int ipc_uv_send_hello(struct ipc_uv *c)
{
    if (ipc_encode_hello(&c->out, 0, &c->ours) < 0 || ipc_uv_flush(c) < 0) {
        ipc_uv_fail(c, "cannot send our hello");
        return -1;
    }
    return 0;
}

/* TLS: the ciphertext read goes through the engine; our hello once the handshake is done. */
static int ipc_uv_tls_in(struct ipc_uv *c, size_t nread)
{
    char why[300];
    int done = ipc_tls_in(&c->tls, c->rin.data, nread, &c->in, &c->raw, why, sizeof(why));

    sg_buf_reset(&c->rin);
    if (done < 0) {
        ipc_uv_write_raw(c); /* the alert, if any */
        ipc_uv_fail(c, "%s: %s", c->host, why);
        return -1;
    }
    if (ipc_uv_write_raw(c) < 0)
        return -1;
    return done ? ipc_uv_send_hello(c) : 0;
}

/* The peer offers what we need: ready. */
static void ipc_uv_check_ready(struct ipc_uv *c)
{
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];

    if (ipc_hello_check(&c->peer, c->caps_needed, &code, why, sizeof(why)) < 0) {
        ipc_uv_fail(c, "%s %s: %s", c->peer.role, c->peer.program, why);
        return;
    }
    c->state = IUV_READY;
    uv_timer_stop(&c->hello_timer);
    if (c->ops->ready)
        c->ops->ready(c, c->arg);
}

static void ipc_uv_hello(struct ipc_uv *c, struct ipc_reader *r)
{
    struct ipc_error e;
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];
    size_t len;

    if (r->type == IPC_ERROR && ipc_decode_error(r, &e) == 0) {
        ipc_uv_fail(c, "refused by the peer: %s", e.text);
        return;
    }
    if (r->type != IPC_HELLO || ipc_decode_hello(r, &c->peer) < 0) {
        ipc_uv_fail(c, "expected a hello, got %s%s%s", ipc_type_name(r->type), r->error ? ": " : "",
                    r->error ? r->error : "");
        return;
    }
    if (!ipc_caps_missing(IPC_CAP_ROLE, c->peer.caps_offered, &len)) {
        /* its role decides, and the capabilities are checked after it */
        if (ipc_hello_check(&c->peer, "", &code, why, sizeof(why)) < 0)
            ipc_uv_fail(c, "%s %s: %s", c->peer.role, c->peer.program, why);
        else
            c->state = IUV_ROLE;
        return;
    }
    ipc_uv_check_ready(c);
}

static void ipc_uv_first_role(struct ipc_uv *c, struct ipc_reader *r)
{
    struct ipc_error e;
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];

    if (r->type == IPC_ERROR && ipc_decode_error(r, &e) == 0) {
        ipc_uv_fail(c, "refused by the peer: %s", e.text);
        return;
    }
    if (r->type != IPC_ROLE || ipc_decode_role(r, &c->role) < 0) {
        ipc_uv_fail(c, "expected the store's role after its hello, got %s%s%s",
                    ipc_type_name(r->type), r->error ? ": " : "", r->error ? r->error : "");
        return;
    }
    c->has_role = 1;
    if (ipc_role_check(&c->role, &c->peer, c->ours.role, c->caps_needed, &code, why, sizeof(why)) <
        0) {
        ipc_uv_fail(c, "%s", why);
        return;
    }
    ipc_uv_check_ready(c);
}

/* A later IPC_ROLE (the store's role changed): kept for ipc_uv_follow; the connection stays
 * until the store closes it, so that what is in flight is answered. */
static void ipc_uv_later_role(struct ipc_uv *c, struct ipc_reader *r)
{
    struct ipc_role role;

    if (ipc_decode_role(r, &role) < 0) {
        ipc_uv_fail(c, "malformed role from the store: %s", r->error);
        return;
    }
    c->role = role;
    c->has_role = 1;
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
        else if (c->state == IUV_ROLE)
            ipc_uv_first_role(c, &r);
        else if (r.type == IPC_ROLE && r.request_id == 0 && c->has_role)
            ipc_uv_later_role(c, &r);
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
    if (c->tls.bio) {
        if (ipc_uv_tls_in(c, (size_t)nread) < 0)
            return;
    } else
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
        uv_read_stop(IUV_STREAM(c));
        return;
    }
    ipc_uv_frames(c); /* what was read before the pause */
    if (c->state != IUV_CLOSING && !c->paused)
        uv_read_start(IUV_STREAM(c), ipc_uv_alloc_cb, ipc_uv_read_cb);
}

/* A peer that takes the connection and never says hello (stopped, or hung) is given up, so
 * that a client with other addresses goes on to the next. */
static void ipc_uv_hello_timeout(uv_timer_t *t)
{
    struct ipc_uv *c = t->data;

    if (c->early[0])
        ipc_uv_fail(c, "%s", c->early);
    else
        ipc_uv_fail(c, "no hello from the peer within %u s (stopped or hung?)",
                    IPC_UV_HELLO_MS / 1000);
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
    if (c->tls.bio) { /* the ClientHello first; our hello once the handshake is done */
        char why[300];

        ipc_tcp_tune(&c->h.tcp);
        if (ipc_tls_in(&c->tls, NULL, 0, &c->in, &c->raw, why, sizeof(why)) < 0) {
            ipc_uv_fail(c, "%s: %s", c->host, why);
            return;
        }
        if (ipc_uv_write_raw(c) < 0)
            return;
    } else if (ipc_uv_send_hello(c) < 0)
        return;
    rc = c->paused ? 0 : uv_read_start(IUV_STREAM(c), ipc_uv_alloc_cb, ipc_uv_read_cb);
    if (rc < 0)
        ipc_uv_fail(c, "cannot read: %s", uv_strerror(rc));
}

/* tcp:ADDRESS:PORT: a TCP connection and a TLS engine checking the store's certificate. */
static int ipc_uv_start_tcp(struct ipc_uv *c, uv_loop_t *loop, const char *addr)
{
    struct sockaddr_storage ss;
    int tcp = sc_addr_tcp(addr, &ss, c->host, sizeof(c->host)), rc;

    uv_tcp_init(loop, &c->h.tcp);
    c->h.tcp.data = c;
    if (tcp < 0) {
        snprintf(c->early, sizeof(c->early), "%s: not a numeric tcp:ADDRESS:PORT", addr);
        return -1;
    }
    if (ipc_tls_begin(&c->tls, 0, c->host, c->early, sizeof(c->early)) < 0)
        return -1;
    if ((rc = uv_tcp_connect(&c->connect_req, &c->h.tcp, (const struct sockaddr *)&ss,
                             ipc_uv_connect_cb)) < 0) {
        snprintf(c->early, sizeof(c->early), "%s: cannot connect: %s", addr, uv_strerror(rc));
        return -1;
    }
    return 0;
}

static void ipc_uv_start(struct ipc_uv *c, uv_loop_t *loop, const char *path)
{
    if (strncmp(path, "tcp:", 4) != 0) {
        uv_pipe_init(loop, &c->h.pipe, 0);
        c->h.pipe.data = c;
        /* Connect errors (even synchronous ones) arrive in the callback. */
        uv_pipe_connect(&c->connect_req, &c->h.pipe, path, ipc_uv_connect_cb);
    } else if (ipc_uv_start_tcp(c, loop, path) < 0) {
        uv_timer_start(&c->hello_timer, ipc_uv_hello_timeout, 0, 0); /* told from the loop */
        return;
    }
    uv_timer_start(&c->hello_timer, ipc_uv_hello_timeout, IPC_UV_HELLO_MS, 0);
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
    uv_timer_init(loop, &c->hello_timer);
    c->hello_timer.data = c;
    c->handles = 2;
    c->connect_req.data = c;
    ipc_uv_start(c, loop, path);
    return c;
}
