/* router_smtp_body.c - the outbound SMTP client's message body: read from the store, dot-stuffed, written with back-pressure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router_smtp.h"
#include "smtp_body.h"

#define SMTP_WRITE_BACKLOG (256 * 1024) /* octets waiting for the server before the store stream pauses */

/* ---- the message from the store ------------------------------------------------------
 * A small interface of its own: a common store client will replace how the
 * octets are read, not what is done with them.  After end or error no more
 * callbacks come; the owner still calls source_close(). */

struct body_source_ops {
    void (*chunk)(void *arg, const uint8_t *p, size_t len);
    void (*end)(void *arg);
    void (*error)(void *arg, const char *why);
};

struct body_source {
    struct ipc_uv *u;               /* NULL once the stream is over */
    char qid[IPC_QID_MAX + 1];
    const struct body_source_ops *ops;
    void *arg;
};

static void source_ready(struct ipc_uv *u, void *arg)
{
    struct body_source *s = arg;
    struct ipc_qid_msg q;

    snprintf(q.qid, sizeof(q.qid), "%s", s->qid);
    ipc_encode_qid_msg(ipc_uv_out(u), IPC_READ_BODY, ipc_uv_request_id(u), &q);
    ipc_uv_flush(u);
}

/* Each branch ends with the owner's callback: it may close the source. */
static void source_frame(struct ipc_uv *u, struct ipc_reader *rd, void *arg)
{
    struct body_source *s = arg;
    char why[IPC_REPLY_MAX + IPC_QID_MAX + 64];
    struct ipc_chunk ch;
    struct ipc_error e;

    if (rd->type == IPC_CHUNK && ipc_decode_chunk(rd, &ch) == 0) {
        s->ops->chunk(s->arg, ch.data, ch.len);
        return;
    }
    ipc_uv_close(u);
    s->u = NULL;
    if (rd->type == IPC_END) {
        s->ops->end(s->arg);
        return;
    }
    snprintf(why, sizeof(why), "cannot read message %s from the store: %s", s->qid,
             rd->type == IPC_ERROR && ipc_decode_error(rd, &e) == 0 ? e.text : "bad frame");
    s->ops->error(s->arg, why);
}

static void source_closed(struct ipc_uv *u, const char *lost, void *arg)
{
    struct body_source *s = arg;
    char why[IPC_REPLY_MAX + IPC_QID_MAX + 64];

    (void)u;
    s->u = NULL;
    snprintf(why, sizeof(why), "mail store unavailable while sending: %s", lost);
    s->ops->error(s->arg, why);
}

static const struct ipc_uv_ops source_ipc_ops = {
    .ready = source_ready, .frame = source_frame, .closed = source_closed};

/* Opened paused: nothing comes before source_pause(s, 0). */
static struct body_source *source_open(struct router *r, const char *qid, const struct body_source_ops *ops,
                                       void *arg)
{
    struct body_source *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    snprintf(s->qid, sizeof(s->qid), "%s", qid);
    s->ops = ops;
    s->arg = arg;
    s->u = ipc_uv_connect(r->loop, r->store_socket, ROUTER_PROGRAM, "router", "read", &source_ipc_ops, s);
    if (!s->u) {
        free(s);
        return NULL;
    }
    ipc_uv_pause(s->u, 1);
    return s;
}

static void source_pause(struct body_source *s, int paused)
{
    if (s && s->u)
        ipc_uv_pause(s->u, paused);
}

static void source_close(struct body_source *s)
{
    if (!s)
        return;
    if (s->u)
        ipc_uv_close(s->u);
    free(s);
}

/* ---- to the server ----------------------------------------------------------------------- */

static void body_chunk(void *arg, const uint8_t *p, size_t len)
{
    struct smtp_conn *c = arg;
    struct smtp_body *b = &c->body;

    sg_buf_reset(&b->stuffed);
    if (sg_buf_reserve(&b->stuffed, len * 2) < 0) {
        router_smtp_fail(c, OUT_DEFERRED, "4.3.0", NULL, "4.3.0 out of memory in the router while sending");
        return;
    }
    b->stuffed.len = smtp_dot_stuff(p, len, b->stuffed.data, &b->bol);
    if (len >= 2) {
        b->tail[0] = p[len - 2];
        b->tail[1] = p[len - 1];
    } else if (len == 1) {
        b->tail[0] = b->tail[1];
        b->tail[1] = p[0];
    }
    if (router_smtp_io_write(c, b->stuffed.data, b->stuffed.len) < 0)
        return;
    if (c->write_pending > SMTP_WRITE_BACKLOG)
        source_pause(b->src, 1);
}

static void body_end(void *arg)
{
    struct smtp_conn *c = arg;

    c->body.ended = 1;
    if (c->state == SMTP_BODY)
        router_smtp_enter(c, SMTP_DOT);
}

/* Without the end-of-data line the server discards what it got. */
static void body_error(void *arg, const char *why)
{
    struct smtp_conn *c = arg;
    char text[IPC_REPLY_MAX + IPC_QID_MAX + 80];

    snprintf(text, sizeof(text), "4.3.0 %s", why);
    router_smtp_fail(c, OUT_DEFERRED, "4.3.0", NULL, text);
}

static const struct body_source_ops body_source_ops = {.chunk = body_chunk, .end = body_end, .error = body_error};

int router_smtp_body_open(struct smtp_conn *c)
{
    struct smtp_body *b = &c->body;

    router_smtp_body_close(c);
    b->bol = 1;
    b->tail[0] = b->tail[1] = 0;
    b->ended = 0;
    b->src = source_open(c->r, c->job->m->env.qid, &body_source_ops, c);
    return b->src ? 0 : -1;
}

void router_smtp_body_start(struct smtp_conn *c)
{
    if (c->body.ended)
        router_smtp_enter(c, SMTP_DOT);
    else
        source_pause(c->body.src, 0);
}

void router_smtp_body_progress(struct smtp_conn *c)
{
    router_smtp_io_timer(c, c->r->cfg->router.block_timeout);
    if (c->write_pending < SMTP_WRITE_BACKLOG / 2)
        source_pause(c->body.src, 0);
}

void router_smtp_body_write_end(struct smtp_conn *c)
{
    static const char crlf_dot[] = "\r\n.\r\n";
    int ends_crlf = c->body.tail[0] == '\r' && c->body.tail[1] == '\n';

    router_smtp_io_write(c, ends_crlf ? crlf_dot + 2 : crlf_dot, ends_crlf ? 3 : 5);
}

void router_smtp_body_close(struct smtp_conn *c)
{
    source_close(c->body.src);
    c->body.src = NULL;
    sg_buf_free(&c->body.stuffed);
}
