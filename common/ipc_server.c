/* ipc_server.c - the one IPC server (see ipc_server.h): listen, accept, hello, frame loop, table dispatch, writes; its stop is ipc_server_stop.c. */
#include "ipc_server_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "uv_write.h"

#define IPC_SERVER_READ_SIZE (64 * 1024)

struct conn_write {
    struct ipc_server_conn *c;
    ipc_server_written_fn cb;
    void *arg;
};

static void conn_frames(struct ipc_server_conn *c);

/* ---- the server ----------------------------------------------------------- */

struct ipc_server *ipc_server_new(uv_loop_t *loop, const struct ipc_server_config *cfg,
                                  const struct ipc_server_ops *ops, void *arg)
{
    struct ipc_server *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->loop = loop;
    s->cfg = *cfg;
    s->hello.major = IPC_PROTO_MAJOR;
    s->hello.minor = IPC_PROTO_MINOR;
    snprintf(s->hello.program, sizeof(s->hello.program), "%s", cfg->program);
    snprintf(s->hello.role, sizeof(s->hello.role), "%s", cfg->role);
    snprintf(s->hello.caps_offered, sizeof(s->hello.caps_offered), "%s", cfg->caps_offered);
    snprintf(s->caps_base, sizeof(s->caps_base), "%s", cfg->caps_offered);
    s->hello.generation = cfg->generation;
    if (!s->cfg.write_high)
        s->cfg.write_high = IPC_SERVER_WRITE_HIGH;
    s->ops = ops;
    s->arg = arg;
    return s;
}

void ipc_server_maybe_free(struct ipc_server *s)
{
    if (s->closed && !s->listener_open && !s->grace_open && s->nalloc == 0)
        free(s);
}

/* A socket file left by a server that died is removed; a live one is not. */
static int server_clear_stale(struct ipc_server *s, const char *path, char *err, size_t errsz)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    if (live) {
        snprintf(err, errsz, "%s: a %s is already answering on this socket", path, s->cfg.service);
        return -1;
    }
    unlink(path);
    return 0;
}

int ipc_server_listen(struct ipc_server *s, const char *path, char *err, size_t errsz)
{
    int rc;

    if (strlen(path) >= sizeof(s->path)) {
        snprintf(err, errsz, "%s: socket path too long for a Unix socket", path);
        return -1;
    }
    if (server_clear_stale(s, path, err, errsz) < 0)
        return -1;
    snprintf(s->path, sizeof(s->path), "%s", path);
    uv_pipe_init(s->loop, &s->listener, 0);
    s->listener.data = s;
    s->unix_open = 1;
    s->listener_open++;
    if ((rc = uv_pipe_bind(&s->listener, path)) != 0) {
        snprintf(err, errsz, "%s: cannot bind: %s", path, uv_strerror(rc));
        return -1;
    }
    if (s->cfg.own && chown(path, s->cfg.owner, s->cfg.group) < 0) {
        snprintf(err, errsz, "%s: cannot give it to uid %u gid %u: %s", path,
                 (unsigned)s->cfg.owner, (unsigned)s->cfg.group, strerror(errno));
        return -1;
    }
    if (chmod(path, s->cfg.mode) < 0) {
        snprintf(err, errsz, "%s: chmod: %s", path, strerror(errno));
        return -1;
    }
    if ((rc = uv_listen((uv_stream_t *)&s->listener, s->cfg.backlog, ipc_server_accept_cb)) != 0) {
        snprintf(err, errsz, "%s: cannot listen: %s", path, uv_strerror(rc));
        return -1;
    }
    return 0;
}

struct ipc_server *ipc_server_start(uv_loop_t *loop, const struct ipc_server_config *cfg,
                                    const struct ipc_server_ops *ops, void *arg, const char *path)
{
    struct ipc_server *s = ipc_server_new(loop, cfg, ops, arg);
    char err[256];

    if (!s)
        log_fatal("out of memory");
    if (ipc_server_listen(s, path, err, sizeof(err)) < 0)
        log_fatal("%s", err);
    return s;
}

size_t ipc_server_count(const struct ipc_server *s)
{
    return s ? s->nconns : 0;
}

struct ipc_server_conn *ipc_server_first(struct ipc_server *s)
{
    return s ? s->conns : NULL;
}

struct ipc_server_conn *ipc_server_next(struct ipc_server_conn *c)
{
    return c->next;
}

/* ---- connection state ----------------------------------------------------- */

void ipc_server_conn_set_data(struct ipc_server_conn *c, void *data)
{
    c->data = data;
}

void *ipc_server_conn_data(const struct ipc_server_conn *c)
{
    return c->data;
}

const char *ipc_server_conn_name(const struct ipc_server_conn *c)
{
    return c->name;
}

void ipc_server_conn_cred(const struct ipc_server_conn *c, pid_t *pid, uid_t *uid)
{
    *pid = c->pid;
    *uid = c->uid;
}

const struct ipc_hello *ipc_server_conn_peer(const struct ipc_server_conn *c)
{
    return &c->peer;
}

int ipc_server_conn_ready(const struct ipc_server_conn *c)
{
    return c->state == CONN_READY;
}

int ipc_server_conn_alive(const struct ipc_server_conn *c)
{
    return c->state != CONN_CLOSING;
}

size_t ipc_server_conn_pending(const struct ipc_server_conn *c)
{
    return c->pending;
}

void ipc_server_conn_ref(struct ipc_server_conn *c)
{
    c->refs++;
}

void ipc_server_conn_unref(struct ipc_server_conn *c)
{
    struct ipc_server *s = c->srv;

    if (--c->refs > 0) {
        ipc_server_conn_close_if_idle(c);
        return;
    }
    if (c->data && s->ops->release)
        s->ops->release(c, s->arg);
    sg_buf_free(&c->in);
    sg_buf_free(&c->out);
    sg_buf_free(&c->rin);
    ipc_tls_end(&c->tls);
    free(c);
    s->nalloc--;
    ipc_server_maybe_free(s);
}

/* ---- closing -------------------------------------------------------------- */

static void conn_closed_cb(uv_handle_t *h)
{
    ipc_server_conn_unref(h->data);
}

/* Take c off the open list and tell the daemon; 0 if it was closing already. */
static int conn_begin_close(struct ipc_server_conn *c, int eof)
{
    struct ipc_server *s = c->srv;

    if (c->state == CONN_CLOSING)
        return 0;
    c->state = CONN_CLOSING;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    /* c->next is left as it was: a broadcast walking the list goes on. */
    if (s->ops->closing)
        s->ops->closing(c, eof, s->arg);
    if (s->draining && !s->closed && s->nconns == 0)
        ipc_server_close(s); /* the last one in flight is answered */
    return 1;
}

static void conn_close_eof(struct ipc_server_conn *c, int eof)
{
    if (conn_begin_close(c, eof))
        uv_close((uv_handle_t *)&c->h, conn_closed_cb);
}

void ipc_server_conn_close(struct ipc_server_conn *c)
{
    conn_close_eof(c, 0);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
    struct ipc_server_conn *c = req->data;

    (void)status;
    free(req);
    uv_close((uv_handle_t *)&c->h, conn_closed_cb);
}

/* Close after the frames already queued have been written. */
void ipc_server_conn_close_after_writes(struct ipc_server_conn *c)
{
    uv_shutdown_t *req;

    if (!conn_begin_close(c, 0))
        return;
    uv_read_stop(CONN_STREAM(c));
    req = malloc(sizeof(*req));
    if (!req || uv_shutdown(req, CONN_STREAM(c), conn_shutdown_cb) != 0) {
        free(req);
        uv_close((uv_handle_t *)&c->h, conn_closed_cb);
        return;
    }
    req->data = c;
}

/* ---- writing -------------------------------------------------------------- */

static int conn_can_read(const struct ipc_server_conn *c)
{
    return c->state != CONN_CLOSING && !c->paused && !c->srv->draining &&
           c->pending < c->srv->cfg.write_high;
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);

/* Read while frames may be handled; leave input in the kernel otherwise. */
void ipc_server_conn_update_reading(struct ipc_server_conn *c)
{
    int want = conn_can_read(c);

    if (want && !c->reading) {
        if (uv_read_start(CONN_STREAM(c), conn_alloc_cb, conn_read_cb) == 0)
            c->reading = 1;
    } else if (!want && c->reading && c->state != CONN_CLOSING) {
        uv_read_stop(CONN_STREAM(c));
        c->reading = 0;
    }
}

static void conn_written(void *arg, size_t len, int status)
{
    struct conn_write *w = arg;
    struct ipc_server_conn *c = w->c;

    c->pending -= len;
    if (status < 0 && status != UV_ECANCELED && ipc_server_conn_alive(c)) {
        log_info("%s: write failed: %s", c->name, uv_strerror(status));
        ipc_server_conn_close(c);
    }
    if (w->cb)
        w->cb(c, w->arg);
    free(w);
    conn_frames(c); /* input held back while the writes were too many */
    ipc_server_conn_unref(c);
}

void ipc_server_conn_write_raw(struct ipc_server_conn *c, struct sg_buf *b,
                               ipc_server_written_fn cb, void *arg)
{
    size_t len = b->len;
    struct conn_write *w = NULL;
    int rc = UV_EPIPE, no_memory = 1;

    if (ipc_server_conn_alive(c) && !b->failed && len && (w = malloc(sizeof(*w)))) {
        no_memory = 0;
        w->c = c;
        w->cb = cb;
        w->arg = arg;
        if ((rc = sg_uv_write_buf(CONN_STREAM(c), b, conn_written, w)) == 0) {
            ipc_server_conn_ref(c); /* conn_written's: libuv never calls it before this returns */
            c->pending += len;
            ipc_server_conn_update_reading(c);
            return;
        }
        free(w);
    }
    if (ipc_server_conn_alive(c) && (b->failed || len)) {
        log_error("%s: cannot send (%s); closing this connection", c->name,
                  b->failed || no_memory ? "out of memory or frame too large" : uv_strerror(rc));
        ipc_server_conn_close(c);
    }
    sg_buf_free(b);
    if (cb)
        cb(c, arg);
}

static void conn_write(struct ipc_server_conn *c, struct sg_buf *b, ipc_server_written_fn cb,
                       void *arg)
{
    if (c->tls.bio)
        ipc_server_tls_write(c, b, cb, arg);
    else
        ipc_server_conn_write_raw(c, b, cb, arg);
}

struct sg_buf *ipc_server_conn_out(struct ipc_server_conn *c)
{
    return &c->out;
}

void ipc_server_conn_flush(struct ipc_server_conn *c)
{
    if (c->out.len || c->out.failed)
        conn_write(c, &c->out, NULL, NULL);
}

void ipc_server_conn_send(struct ipc_server_conn *c, struct sg_buf *b, ipc_server_written_fn cb,
                          void *arg)
{
    ipc_server_conn_flush(c);
    conn_write(c, b, cb, arg);
}

static void conn_refuse(struct ipc_server_conn *c, int level, uint32_t request_id, uint32_t code,
                        const char *text)
{
    struct ipc_error e = {.code = code};

    if (!ipc_server_conn_alive(c))
        return;
    snprintf(e.text, sizeof(e.text), "%s", text);
    log_msg(level, NULL, "%s: refused (%s): %s; closing this connection", c->name,
            ipc_error_name(code), e.text);
    ipc_encode_error(&c->out, request_id, &e);
    ipc_server_conn_flush(c);
    ipc_server_conn_close_after_writes(c);
}

void ipc_server_conn_fail(struct ipc_server_conn *c, uint32_t request_id, uint32_t code,
                          const char *fmt, ...)
{
    char text[IPC_REPLY_MAX + 1];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    conn_refuse(c, LOG_LVL_WARNING, request_id, code, text);
}

/* ---- hello and requests --------------------------------------------------- */

/* The capabilities asked for must be ones this client's uid may have. */
static int conn_authorize(struct ipc_server_conn *c, uint32_t *code, char *why, size_t whysz)
{
    const char *allowed, *missing;
    size_t len;

    *code = IPC_ERR_CAPS;
    if (c->tls.bio) { /* the certificate's names decided it at the handshake */
        if ((missing = ipc_caps_missing(c->peer.caps_needed, c->tls_caps, &len)) != NULL) {
            snprintf(why, whysz,
                     "this client's certificate may not have capability '%.*s' (it may have "
                     "'%s')",
                     (int)len, missing, c->tls_caps);
            return -1;
        }
        return 0;
    }
    if (!c->srv->cfg.peer_caps)
        return 0;
    allowed = c->uid == (uid_t)-1 ? NULL : c->srv->cfg.peer_caps(c->uid, c->srv->arg);
    if (!allowed) {
        snprintf(why, whysz, "uid %d may not use this socket", (int)c->uid);
        return -1;
    }
    if ((missing = ipc_caps_missing(c->peer.caps_needed, allowed, &len)) != NULL) {
        snprintf(why, whysz, "uid %u may not have capability '%.*s' (it may have '%s')",
                 (unsigned)c->uid, (int)len, missing, allowed);
        return -1;
    }
    return 0;
}

/* A tool's connection for one command (spoolctl, sendmail, mailq): logged at debug, not as
 * a daemon's link is (issue 18: every spoolctl call logged a "connected" line). */
static int conn_short_lived(const struct ipc_hello *h)
{
    return strcmp(h->role, "admin") == 0 || strcmp(h->role, "mailq") == 0 ||
           strcmp(h->role, "repl") == 0 || strcmp(h->program, "spoolgate-sendmail") == 0;
}

static void conn_hello(struct ipc_server_conn *c, struct ipc_reader *r)
{
    const struct ipc_hello *ours = &c->srv->hello;
    uint32_t code;
    char why[IPC_REPLY_MAX + 1];
    size_t n = strlen(c->name);

    if (r->type != IPC_HELLO) {
        ipc_server_conn_fail(c, 0, IPC_ERR_PROTO, "expected hello, got %s", ipc_type_name(r->type));
        return;
    }
    if (ipc_decode_hello(r, &c->peer) < 0) {
        ipc_server_conn_fail(c, 0, IPC_ERR_PROTO, "bad hello: %s", r->error);
        return;
    }
    snprintf(c->name + n, sizeof(c->name) - n, " %s/%s", c->peer.program, c->peer.role);
    if (ipc_hello_check(&c->peer, "", &code, why, sizeof(why)) < 0) {
        ipc_server_conn_fail(c, 0, code, "%s", why);
        return;
    }
    ipc_server_conn_send_role(c); /* before a refusal too: a replica's names the master */
    if (ipc_hello_check(ours, c->peer.caps_needed, &code, why, sizeof(why)) < 0 ||
        conn_authorize(c, &code, why, sizeof(why)) < 0) {
        /* A replica turning away the clients of the master is routine, not a warning. */
        if (code == IPC_ERR_CAPS && strcmp(ours->role, IPC_ROLE_REPLICA) == 0)
            conn_refuse(c, LOG_LVL_DEBUG, 0, code,
                        "this site is a replica of a replicated store, not its master");
        else
            ipc_server_conn_fail(c, 0, code, "%s", why);
        return;
    }
    c->state = CONN_READY;
    log_msg(conn_short_lived(&c->peer) ? LOG_LVL_DEBUG : LOG_LVL_INFO, NULL,
            "%s: connected, protocol %u.%u", c->name, c->peer.major, c->peer.minor);
    if (c->srv->ops->ready)
        c->srv->ops->ready(c, c->srv->arg);
}

static const struct ipc_server_cmd *server_row(const struct ipc_server *s, uint16_t type)
{
    const char *p = s->cfg.table;

    for (size_t i = 0; i < s->cfg.rows; i++, p += s->cfg.row_size) {
        const struct ipc_server_cmd *row = (const struct ipc_server_cmd *)(const void *)p;

        if (row->type == type)
            return row;
    }
    return NULL;
}

static void conn_request(struct ipc_server_conn *c, struct ipc_reader *r)
{
    struct ipc_server *s = c->srv;
    const struct ipc_server_cmd *row = server_row(s, r->type);

    if (!row) {
        ipc_server_conn_fail(c, r->request_id, IPC_ERR_PROTO, "%s is not a request",
                             ipc_type_name(r->type));
        return;
    }
    if (!ipc_caps_granted(&c->peer, row->cap)) {
        ipc_server_conn_fail(c, r->request_id, IPC_ERR_CAPS,
                             "%s needs capability '%s', which this client did not ask for "
                             "(it asked for '%s')",
                             ipc_type_name(r->type), row->cap, c->peer.caps_needed);
        return;
    }
    s->ops->dispatch(c, row, r, s->arg);
}

/* ---- reading -------------------------------------------------------------- */

/* Handle every whole frame in the input while the daemon and the writes let us. */
static void conn_frames(struct ipc_server_conn *c)
{
    size_t off = 0;

    if (c->in_frames)
        return;
    c->in_frames = 1;
    ipc_server_conn_ref(c);
    /* Frames are taken from off onwards and the buffer is consumed once at the end: one
     * memmove per read, not one per frame. */
    while (conn_can_read(c) && off < c->in.len) {
        struct ipc_reader r;
        const char *error = NULL;
        int got = ipc_frame_next(c->in.data, c->in.len, &off, &r, &error);

        if (got == 0)
            break;
        if (got < 0) {
            ipc_server_conn_fail(c, 0, IPC_ERR_PROTO, "bad frame: %s", error);
            break;
        }
        if (c->state == CONN_HELLO)
            conn_hello(c, &r);
        else
            conn_request(c, &r);
    }
    sg_buf_consume(&c->in, off);
    c->in_frames = 0;
    ipc_server_conn_update_reading(c);
    ipc_server_conn_unref(c);
}

void ipc_server_conn_pause(struct ipc_server_conn *c, int paused)
{
    c->paused = paused;
    if (paused)
        ipc_server_conn_update_reading(c);
    else
        conn_frames(c); /* what was read before the pause */
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ipc_server_conn *c = h->data;
    struct sg_buf *b = c->tls.bio ? &c->rin : &c->in;

    (void)suggested;
    if (sg_buf_reserve(b, IPC_SERVER_READ_SIZE) < 0) {
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)b->data + b->len, (unsigned)(b->cap - b->len));
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct ipc_server_conn *c = stream->data;

    (void)buf;
    if (c->state == CONN_CLOSING)
        return;
    if (nread == UV_ENOBUFS) {
        ipc_server_conn_fail(c, 0, IPC_ERR_TEMP, "out of memory for input");
        return;
    }
    if (nread < 0) {
        if (nread != UV_EOF)
            log_info("%s: read error: %s", c->name, uv_strerror((int)nread));
        conn_close_eof(c, nread == UV_EOF);
        return;
    }
    if (!c->tls.bio)
        c->in.len += (size_t)nread;
    else if (ipc_server_tls_in(c, (size_t)nread) < 0)
        return;
    conn_frames(c);
}

/* ---- accepting ------------------------------------------------------------ */

/* "client pid 42 uid 0": the peer's credentials, for every log line about it. */
static void conn_name(struct ipc_server_conn *c)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    uv_os_fd_t fd;

    c->uid = (uid_t)-1;
    if (uv_fileno((uv_handle_t *)&c->h, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        c->uid = cred.uid;
        c->pid = cred.pid;
        snprintf(c->name, sizeof(c->name), "client pid %d uid %u", (int)cred.pid,
                 (unsigned)cred.uid);
    } else
        snprintf(c->name, sizeof(c->name), "client");
}

static void conn_link(struct ipc_server *s, struct ipc_server_conn *c)
{
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
}

void ipc_server_accept_cb(uv_stream_t *listener, int status)
{
    struct ipc_server *s = listener->data;
    struct ipc_server_conn *c;

    if (status < 0) {
        log_error("accept: %s", uv_strerror(status));
        return;
    }
    if (!(c = calloc(1, sizeof(*c))))
        log_fatal("out of memory accepting a connection");
    c->srv = s;
    c->refs = 1;
    s->nalloc++;
    if (listener->type == UV_TCP)
        uv_tcp_init(s->loop, &c->h.tcp);
    else
        uv_pipe_init(s->loop, &c->h.pipe, 0);
    c->h.pipe.data = c;
    if (uv_accept(listener, CONN_STREAM(c)) != 0 ||
        (listener->type == UV_TCP && ipc_server_tls_begin(c) < 0)) {
        c->state = CONN_CLOSING;
        uv_close((uv_handle_t *)&c->h, conn_closed_cb);
        return;
    }
    if (listener->type != UV_TCP)
        conn_name(c);
    conn_link(s, c);
    if (s->ops->accepted)
        s->ops->accepted(c, s->arg);
    if (!ipc_server_conn_alive(c))
        return;
    ipc_encode_hello(&c->out, 0, &s->hello);
    c->role_offered = s->has_role;
    ipc_server_conn_flush(c);
    ipc_server_conn_update_reading(c);
}
