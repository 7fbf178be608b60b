/* router_smtp_body.c - the outbound SMTP client's message body: read from the store, dot-stuffed, written with back-pressure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router_smtp.h"
#include "smtp_body.h"
#include "store_client.h"

#define SMTP_WRITE_BACKLOG \
    (256 * 1024) /* octets waiting for the server before the store stream pauses */

/* ---- the message from the store: its own store-client connection --------------------- */

static void source_pause(struct sc_conn *src, int paused)
{
    if (src)
        sc_read_pause(src, paused);
}

/* ---- to the server ----------------------------------------------------------------------- */

static void body_out_of_memory(struct smtp_conn *c)
{
    router_smtp_fail(c, OUT_DEFERRED, "4.3.0", NULL,
                     "4.3.0 out of memory in the router while sending");
}

/* Message octets to the server, dot-stuffed.  -1 when the connection failed (it is answered). */
static int body_send(struct smtp_conn *c, const uint8_t *p, size_t len)
{
    struct smtp_body *b = &c->body;

    sg_buf_reset(&b->stuffed);
    if (sg_buf_reserve(&b->stuffed, len * 2 + 3) < 0) {
        body_out_of_memory(c);
        return -1;
    }
    b->stuffed.len = smtp_dot_stuff(p, len, b->stuffed.data, &b->stuff);
    if (len >= 2) {
        b->tail[0] = p[len - 2];
        b->tail[1] = p[len - 1];
    } else if (len == 1) {
        b->tail[0] = b->tail[1];
        b->tail[1] = p[0];
    }
    return router_smtp_io_write(c, b->stuffed.data, b->stuffed.len) < 0 ? -1 : 0;
}

/* A piece of the message from the store: converted to 7 bit first where it must be. */
static void body_chunk(void *arg, const uint8_t *p, size_t len)
{
    struct smtp_conn *c = arg;
    struct smtp_body *b = &c->body;

    if (b->convert) {
        sg_buf_reset(&b->converted);
        if (router_mime7_feed(&b->mime, p, len, &b->converted) < 0) {
            body_out_of_memory(c);
            return;
        }
        p = b->converted.data;
        len = b->converted.len;
    }
    if (body_send(c, p, len) < 0)
        return;
    if (c->write_pending > SMTP_WRITE_BACKLOG)
        source_pause(b->src, 1);
}

/* The converter's last line, and what it did in the log.  -1 when the connection failed. */
static int body_convert_end(struct smtp_conn *c)
{
    struct smtp_body *b = &c->body;

    sg_buf_reset(&b->converted);
    if (router_mime7_finish(&b->mime, &b->converted) < 0) {
        body_out_of_memory(c);
        return -1;
    }
    log_info("%s: 8-bit content re-encoded quoted-printable for %s, which lacks 8BITMIME "
             "(%u part(s))",
             c->job->m->env.qid, c->remote, b->mime.converted);
    return body_send(c, b->converted.data, b->converted.len);
}

static void body_end(void *arg)
{
    struct smtp_conn *c = arg;

    c->body.ended = 1;
    if (c->body.convert && body_convert_end(c) < 0)
        return;
    if (c->body.stuff.folds)
        log_info("%s: %lu line(s) longer than %d octets broken for %s (CR LF SPACE inserted)",
                 c->job->m->env.qid, c->body.stuff.folds, SMTP_TEXT_LINE_MAX, c->remote);
    sc_release_body(c->body.src); /* all of it came: kept for the next message's body */
    c->body.src = NULL;
    if (c->state == SMTP_BODY)
        router_smtp_enter(c, SMTP_DOT);
}

/* Without the end-of-data line the server discards what it got. */
static void body_failed(void *arg, const struct sc_status *st)
{
    struct smtp_conn *c = arg;
    char text[IPC_REPLY_MAX + IPC_QID_MAX + 80];

    if (st->lost) {
        c->body.src = NULL; /* the connection is gone already */
        snprintf(text, sizeof(text), "4.3.0 mail store unavailable while sending: %s", st->text);
    } else {
        snprintf(text, sizeof(text), "4.3.0 cannot read message %s from the store: %s",
                 c->job ? c->job->m->env.qid : "?", st->text);
    }
    router_smtp_fail(c, OUT_DEFERRED, "4.3.0", NULL, text);
}

static const struct sc_read_ops body_read_ops = {
    .chunk = body_chunk, .end = body_end, .failed = body_failed};

int router_smtp_body_open(struct smtp_conn *c)
{
    struct smtp_body *b = &c->body;

    router_smtp_body_close(c);
    b->stuff = (struct smtp_stuff){0};
    b->tail[0] = b->tail[1] = 0;
    b->ended = 0;
    if (b->convert)
        router_mime7_init(&b->mime);
    if (!(b->src = sc_open_body(&c->r->sc, c->job->m->env.qid, &body_read_ops, c)))
        return -1;
    sc_read_pause(b->src, 1); /* nothing comes before router_smtp_body_start() */
    return 0;
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
    if (c->body.src)
        sc_close(c->body.src);
    c->body.src = NULL;
    sg_buf_free(&c->body.stuffed);
    sg_buf_free(&c->body.converted);
    router_mime7_free(&c->body.mime);
}
