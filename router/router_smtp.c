/* router_smtp.c - the outbound SMTP client: one connection's state machine, from DNS to QUIT, several messages per connection. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uv_write.h"
#include "router.h"
#include "smtp_body.h"
#include "smtp_reply.h"

#define SMTP_WRITE_BACKLOG (256 * 1024)

enum cstate {
    C_RESOLVE, C_CONNECT, C_GREETING, C_EHLO, C_HELO, C_STARTTLS, C_TLS,
    C_MAIL, C_RCPT, C_DATA, C_BODY, C_DOT, C_RSET, C_QUIT, C_CLOSED,
};

static const char *const cstate_names[] = {
    "resolve", "connect", "greeting", "ehlo", "helo", "starttls", "tls",
    "mail", "rcpt", "data", "body", "dot", "rset", "quit", "closed",
};

struct smtp_conn {
    struct router *r;
    struct dest *d;
    uv_tcp_t *tcp;                  /* one per connection attempt */
    uv_timer_t timer;
    int handles_open;
    int refs;
    enum cstate state;
    struct dns_result dns;
    unsigned target;
    char last_error[1400];
    char remote[320];               /* "name[addr]:port" */
    struct ehlo_caps caps;
    struct tls_bio *tls;
    int tls_active;
    char *in;
    size_t in_len, in_cap;
    struct smtp_reply reply;
    char ehlo_raw[4096];
    size_t ehlo_len;
    size_t write_pending;
    /* the transaction */
    struct job *job;
    unsigned rcpt_pos;              /* next RCPT reply expected */
    unsigned accepted;
    uint8_t *rcpt_ok;               /* per job recipient: accepted by RCPT */
    int pipelined;
    int dot_only;                   /* 354 without recipients: send "." and ignore */
    int need_rset;
    struct ipc_uv *body;
    int body_bol;
    uint8_t body_tail[2];
    int body_ended;
};

static void conn_next_job(struct smtp_conn *c);
static void conn_send_mail(struct smtp_conn *c);
static void conn_try_target(struct smtp_conn *c);

/* ---- lifetime ------------------------------------------------------------------------ */

static void conn_free(struct smtp_conn *c)
{
    struct dest *d = c->d;

    tls_bio_free(c->tls);
    free(c->in);
    free(c->rcpt_ok);
    free(c);
    router_dest_conn_closed(d);
}

static void conn_unref(struct smtp_conn *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
    conn_unref(h->data);
}

static void conn_socket_closed(uv_handle_t *h)
{
    struct smtp_conn *c = h->data;

    free(h);
    conn_unref(c);
}

static int conn_socket_new(struct smtp_conn *c)
{
    c->tcp = malloc(sizeof(*c->tcp));
    if (!c->tcp)
        return -1;
    uv_tcp_init(c->r->loop, c->tcp);
    c->tcp->data = c;
    c->refs++;
    return 0;
}

static void conn_socket_drop(struct smtp_conn *c)
{
    if (c->tcp)
        uv_close((uv_handle_t *)c->tcp, conn_socket_closed);
    c->tcp = NULL;
}

static void conn_set_timer(struct smtp_conn *c, long long seconds);

/* Give outcomes to the recipients of j that have none yet. */
static void job_outcome(struct job *j, enum outcome o, const char *status, const char *remote,
                        const char *text, int only_accepted, const uint8_t *accepted)
{
    for (unsigned i = 0; i < j->n; i++) {
        struct rcpt_work *w = &j->m->rcpts[j->idx[i]];

        if (w->outcome != OUT_NONE || (only_accepted && !accepted[i]))
            continue;
        w->outcome = o;
        snprintf(w->status, sizeof(w->status), "%s", status);
        snprintf(w->reply, sizeof(w->reply), "%s", text);
        snprintf(w->remote, sizeof(w->remote), "%s", remote ? remote : "");
        w->remote_reply = remote && remote[0];
    }
}

static void conn_job_finished(struct smtp_conn *c)
{
    struct job *j = c->job;

    c->job = NULL;
    if (c->body) {
        ipc_uv_close(c->body);
        c->body = NULL;
    }
    if (j)
        router_queue_job_done(j);
}

static void conn_close(struct smtp_conn *c)
{
    if (c->state == C_CLOSED)
        return;
    c->state = C_CLOSED;
    conn_job_finished(c);
    if (c->handles_open) {
        uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
        c->handles_open = 0;
    }
    conn_socket_drop(c);
}

/* The destination cannot be reached: this job and every job waiting for the
 * same next hop get the outcome (the next connection would fail the same). */
static void conn_fail_dest(struct smtp_conn *c, enum outcome o, const char *status, const char *remote,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void conn_fail_dest(struct smtp_conn *c, enum outcome o, const char *status, const char *remote,
                           const char *fmt, ...)
{
    char text[IPC_REPLY_MAX + 1];
    struct job *j;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_info("%s: %s", c->d->route.desc, text);
    if (c->job)
        job_outcome(c->job, o, status, remote, text, 0, NULL);
    while ((j = router_dest_next_job(c->d)) != NULL) {
        job_outcome(j, o, status, remote, text, 0, NULL);
        router_queue_job_done(j);
    }
    conn_close(c);
}

/* ---- output ---------------------------------------------------------------------------- */

static void body_resume_if_room(struct smtp_conn *c);

static void conn_written(void *arg, size_t len, int status)
{
    struct smtp_conn *c = arg;

    c->write_pending -= len;
    if (status < 0 && c->state != C_CLOSED) {
        if (c->job)
            job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, "", 0, NULL);
        snprintf(c->last_error, sizeof(c->last_error), "write to %s failed: %s", c->remote,
                 uv_strerror(status));
        if (c->job)
            job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, c->last_error, 0, NULL);
        conn_close(c);
    } else if (c->state == C_BODY) {
        conn_set_timer(c, c->r->cfg->router.block_timeout);
        body_resume_if_room(c);
    }
    conn_unref(c);
}

static int conn_write_wire(struct smtp_conn *c, const void *data, size_t len)
{
    if (len == 0 || c->state == C_CLOSED || !c->tcp)
        return 0;
    if (sg_uv_write_copy((uv_stream_t *)c->tcp, data, len, conn_written, c) < 0)
        return -1;
    c->write_pending += len;
    c->refs++;
    return 0;
}

static int conn_tls_flush(struct smtp_conn *c)
{
    uint8_t buf[16384];
    size_t n;

    while (c->tls && (n = tls_bio_take(c->tls, buf, sizeof(buf))) > 0)
        if (conn_write_wire(c, buf, n) < 0)
            return -1;
    return 0;
}

static int conn_write(struct smtp_conn *c, const void *data, size_t len)
{
    if (!c->tls_active)
        return conn_write_wire(c, data, len);
    if (tls_bio_write(c->tls, data, len) < 0)
        return -1;
    return conn_tls_flush(c);
}

static void conn_cmd(struct smtp_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_cmd(struct smtp_conn *c, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    log_debug("%s: >>> %.*s", c->remote, n, line);
    memcpy(line + n, "\r\n", 2);
    if (conn_write(c, line, (size_t)n + 2) < 0) {
        snprintf(c->last_error, sizeof(c->last_error), "cannot write to %s", c->remote);
        if (c->job)
            job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, c->last_error, 0, NULL);
        conn_close(c);
    }
}

/* ---- timers ------------------------------------------------------------------------------ */

static void conn_timeout_cb(uv_timer_t *t)
{
    struct smtp_conn *c = t->data;
    char text[400];

    snprintf(text, sizeof(text), "4.4.2 timeout in state %s talking to %s", cstate_names[c->state],
             c->remote[0] ? c->remote : c->d->route.desc);
    if (c->state == C_CONNECT) {
        snprintf(c->last_error, sizeof(c->last_error), "connect to %s timed out", c->remote);
        conn_socket_drop(c); /* this attempt only: its connect callback sees ECANCELED */
        c->target++;
        conn_try_target(c);
        return;
    }
    if (c->job)
        job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, text, 0, NULL);
    conn_close(c);
}

static void conn_set_timer(struct smtp_conn *c, long long seconds)
{
    if (c->state != C_CLOSED)
        uv_timer_start(&c->timer, conn_timeout_cb, (uint64_t)seconds * 1000u, 0);
}

static void conn_enter(struct smtp_conn *c, enum cstate s, long long timeout)
{
    log_debug("%s: %s -> %s", c->d->route.desc, cstate_names[c->state], cstate_names[s]);
    c->state = s;
    conn_set_timer(c, timeout);
}

/* ---- the body from the store ------------------------------------------------------------ */

static void body_resume_if_room(struct smtp_conn *c)
{
    if (c->body && c->write_pending < SMTP_WRITE_BACKLOG / 2)
        ipc_uv_pause(c->body, 0);
}

static void body_send_end(struct smtp_conn *c)
{
    static const char crlf_dot[] = "\r\n.\r\n";
    int ends_crlf = c->body_tail[0] == '\r' && c->body_tail[1] == '\n';

    /* The message must end with CRLF before the dot line. */
    if (conn_write(c, ends_crlf ? crlf_dot + 2 : crlf_dot, ends_crlf ? 3 : 5) < 0) {
        conn_close(c);
        return;
    }
    conn_enter(c, C_DOT, c->r->cfg->router.dot_timeout);
}

static void body_chunk(struct smtp_conn *c, const uint8_t *p, size_t len)
{
    uint8_t *stuffed = malloc(len * 2);
    size_t n;

    if (!stuffed) {
        conn_close(c);
        return;
    }
    n = smtp_dot_stuff(p, len, stuffed, &c->body_bol);
    if (len >= 2) {
        c->body_tail[0] = p[len - 2];
        c->body_tail[1] = p[len - 1];
    } else if (len == 1) {
        c->body_tail[0] = c->body_tail[1];
        c->body_tail[1] = p[0];
    }
    if (conn_write(c, stuffed, n) < 0)
        conn_close(c);
    free(stuffed);
    if (c->state != C_CLOSED && c->write_pending > SMTP_WRITE_BACKLOG && c->body)
        ipc_uv_pause(c->body, 1);
}

static void body_frame(struct ipc_uv *u, struct ipc_reader *rd, void *arg)
{
    struct smtp_conn *c = arg;
    struct ipc_chunk ch;
    struct ipc_error e;

    if (rd->type == IPC_CHUNK && ipc_decode_chunk(rd, &ch) == 0) {
        body_chunk(c, ch.data, ch.len);
        return;
    }
    if (rd->type == IPC_END) {
        ipc_uv_close(u);
        c->body = NULL;
        c->body_ended = 1;
        if (c->state == C_BODY)
            body_send_end(c);
        return;
    }
    snprintf(c->last_error, sizeof(c->last_error), "4.3.0 cannot read message %s from the store: %s",
             c->job->m->env.qid, rd->type == IPC_ERROR && ipc_decode_error(rd, &e) == 0 ? e.text : "bad frame");
    ipc_uv_close(u);
    c->body = NULL;
    /* Without the dot the server discards the partial message. */
    job_outcome(c->job, OUT_DEFERRED, "4.3.0", NULL, c->last_error, 0, NULL);
    conn_close(c);
}

static void body_ready(struct ipc_uv *u, void *arg)
{
    struct smtp_conn *c = arg;
    struct ipc_qid_msg q;

    snprintf(q.qid, sizeof(q.qid), "%s", c->job->m->env.qid);
    ipc_encode_qid_msg(ipc_uv_out(u), IPC_READ_BODY, ipc_uv_request_id(u), &q);
    ipc_uv_flush(u);
}

static void body_closed(struct ipc_uv *u, const char *why, void *arg)
{
    struct smtp_conn *c = arg;

    c->body = NULL;
    if (c->body_ended || !c->job)
        return;
    snprintf(c->last_error, sizeof(c->last_error), "4.3.0 mail store unavailable while sending: %s", why);
    job_outcome(c->job, OUT_DEFERRED, "4.3.0", NULL, c->last_error, 0, NULL);
    conn_close(c);
}

static const struct ipc_uv_ops body_ops = {.ready = body_ready, .frame = body_frame, .closed = body_closed};

static void body_open(struct smtp_conn *c)
{
    c->body_bol = 1;
    c->body_tail[0] = c->body_tail[1] = 0;
    c->body_ended = 0;
    c->body = ipc_uv_connect(c->r->loop, c->r->store_socket, ROUTER_PROGRAM, "router", "read", &body_ops, c);
    if (c->body)
        ipc_uv_pause(c->body, 1); /* until the 354 */
}

/* ---- transactions ------------------------------------------------------------------------ */

static const char *notify_text(unsigned notify, char *buf, size_t bufsz)
{
    if (notify & IPC_NOTIFY_NEVER)
        return "NEVER";
    snprintf(buf, bufsz, "%s%s%s%s%s", notify & IPC_NOTIFY_SUCCESS ? "SUCCESS" : "",
             (notify & IPC_NOTIFY_SUCCESS) && (notify & (IPC_NOTIFY_FAILURE | IPC_NOTIFY_DELAY)) ? "," : "",
             notify & IPC_NOTIFY_FAILURE ? "FAILURE" : "",
             (notify & IPC_NOTIFY_FAILURE) && (notify & IPC_NOTIFY_DELAY) ? "," : "",
             notify & IPC_NOTIFY_DELAY ? "DELAY" : "");
    return buf;
}

static void conn_send_rcpt(struct smtp_conn *c, unsigned i)
{
    const struct rcpt_work *w = &c->job->m->rcpts[c->job->idx[i]];
    char notify[40] = "", orcpt[IPC_ADDR_MAX + 16] = "";

    if (c->caps.flags & EHLO_DSN) {
        if (w->r.notify) {
            char t[32];
            snprintf(notify, sizeof(notify), " NOTIFY=%s", notify_text(w->r.notify, t, sizeof(t)));
        }
        if (w->r.orcpt[0])
            snprintf(orcpt, sizeof(orcpt), " ORCPT=%s", w->r.orcpt);
    }
    conn_cmd(c, "RCPT TO:<%s>%s%s", w->r.addr, notify, orcpt);
}

/* Refuse here what the server said it cannot take. */
static int conn_precheck(struct smtp_conn *c)
{
    const struct ipc_envelope *e = &c->job->m->env;
    char text[800];

    if (c->caps.size_limit && e->size > c->caps.size_limit) {
        snprintf(text, sizeof(text), "5.3.4 message size %llu exceeds the limit %llu of %s",
                 (unsigned long long)e->size, (unsigned long long)c->caps.size_limit, c->remote);
        job_outcome(c->job, OUT_FAILED, "5.3.4", NULL, text, 0, NULL);
        return -1;
    }
    if ((e->flags & IPC_FLAG_8BITMIME) && !(c->caps.flags & EHLO_8BITMIME)) {
        snprintf(text, sizeof(text), "5.6.3 %s does not accept 8-bit messages (no 8BITMIME) and "
                 "conversion to 7 bit is not done", c->remote);
        job_outcome(c->job, OUT_FAILED, "5.6.3", NULL, text, 0, NULL);
        return -1;
    }
    if ((e->flags & IPC_FLAG_SMTPUTF8) && !(c->caps.flags & EHLO_SMTPUTF8)) {
        snprintf(text, sizeof(text), "5.6.7 %s does not support SMTPUTF8 addresses", c->remote);
        job_outcome(c->job, OUT_FAILED, "5.6.7", NULL, text, 0, NULL);
        return -1;
    }
    return 0;
}

static void conn_send_mail(struct smtp_conn *c)
{
    const struct ipc_envelope *e = &c->job->m->env;
    char params[400] = "";
    size_t n = 0;

    free(c->rcpt_ok);
    c->rcpt_ok = calloc(c->job->n ? c->job->n : 1, 1);
    c->accepted = 0;
    c->rcpt_pos = 0;
    c->dot_only = 0;
    if (!c->rcpt_ok || conn_precheck(c) < 0) {
        conn_job_finished(c);
        conn_next_job(c);
        return;
    }
    if ((e->flags & IPC_FLAG_8BITMIME) && (c->caps.flags & EHLO_8BITMIME))
        n += (size_t)snprintf(params + n, sizeof(params) - n, " BODY=8BITMIME");
    if (e->flags & IPC_FLAG_SMTPUTF8)
        n += (size_t)snprintf(params + n, sizeof(params) - n, " SMTPUTF8");
    if (c->caps.flags & EHLO_SIZE)
        n += (size_t)snprintf(params + n, sizeof(params) - n, " SIZE=%llu", (unsigned long long)e->size);
    if (c->caps.flags & EHLO_DSN) {
        if (e->ret)
            n += (size_t)snprintf(params + n, sizeof(params) - n, " RET=%s",
                                  e->ret == IPC_RET_FULL ? "FULL" : "HDRS");
        if (e->envid[0])
            snprintf(params + n, sizeof(params) - n, " ENVID=%s", e->envid);
    }
    body_open(c);
    c->pipelined = (c->caps.flags & EHLO_PIPELINING) != 0;
    conn_enter(c, C_MAIL, c->r->cfg->router.command_timeout);
    conn_cmd(c, "MAIL FROM:<%s>%s", e->sender, params);
    if (c->pipelined) {
        for (unsigned i = 0; i < c->job->n; i++)
            conn_send_rcpt(c, i);
        conn_cmd(c, "DATA");
    }
}

/* Take the next job of the destination, or say goodbye. */
static void conn_next_job(struct smtp_conn *c)
{
    if (c->state == C_CLOSED)
        return;
    c->job = c->r->stopping ? NULL : router_dest_next_job(c->d);
    if (!c->job) {
        conn_enter(c, C_QUIT, 10);
        conn_cmd(c, "QUIT");
        return;
    }
    if (c->need_rset) {
        conn_enter(c, C_RSET, c->r->cfg->router.command_timeout);
        conn_cmd(c, "RSET");
        return;
    }
    conn_send_mail(c);
}

/* The transaction is over for the server (or must be reset). */
static void conn_txn_end(struct smtp_conn *c, int need_rset)
{
    c->need_rset = need_rset;
    conn_job_finished(c);
    conn_next_job(c);
}

static enum outcome outcome_of(int code)
{
    return code >= 200 && code < 300 ? OUT_DELIVERED : code >= 500 ? OUT_FAILED : OUT_DEFERRED;
}

static const char *status_of(const struct smtp_reply *rp, char *buf, size_t bufsz)
{
    if (rp->enhanced[0])
        return rp->enhanced;
    snprintf(buf, bufsz, "%c.0.0", rp->code >= 500 ? '5' : rp->code >= 400 ? '4' : '2');
    return buf;
}

/* Replies while a transaction runs. */
static void conn_txn_reply(struct smtp_conn *c)
{
    struct smtp_reply *rp = &c->reply;
    char st[16];
    enum outcome o = outcome_of(rp->code);

    switch (c->state) {
    case C_MAIL:
        if (o != OUT_DELIVERED) {
            job_outcome(c->job, o, status_of(rp, st, sizeof(st)), c->remote, rp->text, 0, NULL);
            if (c->pipelined) {
                /* the RCPT and DATA replies still come; they are swallowed */
                c->rcpt_pos = 0;
                c->accepted = 0;
                conn_enter(c, C_RCPT, c->r->cfg->router.command_timeout);
                c->dot_only = -1; /* mark: MAIL failed */
                return;
            }
            conn_txn_end(c, 1);
            return;
        }
        conn_enter(c, C_RCPT, c->r->cfg->router.command_timeout);
        if (!c->pipelined)
            conn_send_rcpt(c, 0);
        return;
    case C_RCPT:
        if (c->dot_only != -1) {
            struct job *j = c->job;
            unsigned i = c->rcpt_pos;

            if (o == OUT_DELIVERED) {
                c->rcpt_ok[i] = 1;
                c->accepted++;
            } else {
                struct rcpt_work *w = &j->m->rcpts[j->idx[i]];

                w->outcome = o;
                snprintf(w->status, sizeof(w->status), "%s", status_of(rp, st, sizeof(st)));
                snprintf(w->reply, sizeof(w->reply), "%s", rp->text);
                snprintf(w->remote, sizeof(w->remote), "%s", c->remote);
                w->remote_reply = 1;
            }
        }
        if (++c->rcpt_pos < c->job->n) {
            if (!c->pipelined)
                conn_send_rcpt(c, c->rcpt_pos);
            return;
        }
        if (c->dot_only == -1) {
            conn_enter(c, C_DATA, c->r->cfg->router.data_timeout);
            return;
        }
        if (!c->pipelined) {
            if (c->accepted == 0) {
                conn_txn_end(c, 1);
                return;
            }
            conn_cmd(c, "DATA");
        }
        conn_enter(c, C_DATA, c->r->cfg->router.data_timeout);
        return;
    case C_DATA:
        if (rp->code != 354) {
            if (c->dot_only != -1)
                job_outcome(c->job, o == OUT_DELIVERED ? OUT_DEFERRED : o, status_of(rp, st, sizeof(st)),
                            c->remote, rp->text, 1, c->rcpt_ok);
            conn_txn_end(c, 1);
            return;
        }
        if (c->accepted == 0 || c->dot_only == -1) {
            /* Pipelined DATA got 354 though nobody is left to send to. */
            c->dot_only = 1;
            conn_write(c, ".\r\n", 3);
            conn_enter(c, C_DOT, c->r->cfg->router.dot_timeout);
            return;
        }
        conn_enter(c, C_BODY, c->r->cfg->router.block_timeout);
        if (c->body_ended)
            body_send_end(c);
        else if (c->body)
            ipc_uv_pause(c->body, 0);
        return;
    case C_DOT:
        if (c->dot_only != 1) {
            job_outcome(c->job, o, status_of(rp, st, sizeof(st)), c->remote, rp->text, 1, c->rcpt_ok);
            if (o == OUT_DELIVERED)
                log_info("%s: delivered to %s: %s", c->job->m->env.qid, c->remote, rp->text);
        }
        conn_txn_end(c, c->dot_only == 1 || o != OUT_DELIVERED);
        return;
    case C_RSET:
        c->need_rset = 0;
        if (o != OUT_DELIVERED) {
            conn_close(c); /* the job goes back to the dest via conn_close -> job done without outcome */
            return;
        }
        conn_send_mail(c);
        return;
    default:
        return;
    }
}

/* ---- session set-up ------------------------------------------------------------------------ */

static void conn_ehlo(struct smtp_conn *c)
{
    c->ehlo_len = 0;
    conn_enter(c, C_EHLO, c->r->cfg->router.command_timeout);
    conn_cmd(c, "EHLO %s", c->r->hostname);
}

static enum tm_tls conn_tls_policy(struct smtp_conn *c)
{
    return c->d->route.tls;
}

static void conn_start_tls(struct smtp_conn *c)
{
    const char *name = c->dns.t[c->target].name;
    int verify = conn_tls_policy(c) == TM_TLS_VERIFY;

    c->tls = tls_bio_new(c->r->tls_client, 0, name, verify ? name : NULL);
    if (!c->tls) {
        conn_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL, "4.7.5 cannot start TLS with %s: out of memory",
                       c->remote);
        return;
    }
    conn_enter(c, C_TLS, c->r->cfg->router.command_timeout);
    tls_bio_handshake(c->tls, c->last_error, sizeof(c->last_error));
    conn_tls_flush(c);
}

static void conn_after_ehlo(struct smtp_conn *c)
{
    enum tm_tls policy = conn_tls_policy(c);

    if (!c->tls_active && policy != TM_TLS_NONE && (c->caps.flags & EHLO_STARTTLS)) {
        conn_enter(c, C_STARTTLS, c->r->cfg->router.command_timeout);
        conn_cmd(c, "STARTTLS");
        return;
    }
    if (!c->tls_active && policy == TM_TLS_VERIFY) {
        conn_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL,
                       "4.7.5 TLS is required for %s but %s does not offer STARTTLS",
                       c->d->route.desc, c->remote);
        return;
    }
    conn_send_mail(c);
}

/* Replies before the transaction. */
static void conn_setup_reply(struct smtp_conn *c)
{
    struct smtp_reply *rp = &c->reply;

    switch (c->state) {
    case C_GREETING:
        if (rp->code != 220) {
            snprintf(c->last_error, sizeof(c->last_error), "%s greeted with: %s", c->remote, rp->text);
            conn_fail_dest(c, OUT_DEFERRED, rp->enhanced[0] ? rp->enhanced : "4.4.2", c->remote,
                           "%s", rp->text);
            return;
        }
        conn_ehlo(c);
        return;
    case C_EHLO:
        if (rp->code == 250) {
            smtp_ehlo_parse(c->ehlo_raw, c->ehlo_len, &c->caps);
            conn_after_ehlo(c);
            return;
        }
        memset(&c->caps, 0, sizeof(c->caps));
        conn_enter(c, C_HELO, c->r->cfg->router.command_timeout);
        conn_cmd(c, "HELO %s", c->r->hostname);
        return;
    case C_HELO:
        if (rp->code != 250) {
            conn_fail_dest(c, outcome_of(rp->code) == OUT_FAILED ? OUT_FAILED : OUT_DEFERRED,
                           rp->enhanced[0] ? rp->enhanced : rp->code >= 500 ? "5.5.0" : "4.4.2", c->remote,
                           "%s (to HELO)", rp->text);
            return;
        }
        conn_after_ehlo(c);
        return;
    case C_STARTTLS:
        if (rp->code != 220) {
            if (conn_tls_policy(c) == TM_TLS_VERIFY) {
                conn_fail_dest(c, OUT_DEFERRED, "4.7.5", c->remote, "4.7.5 STARTTLS refused by %s: %s",
                               c->remote, rp->text);
                return;
            }
            conn_send_mail(c); /* may: go on in plain text */
            return;
        }
        conn_start_tls(c);
        return;
    case C_QUIT:
        conn_close(c);
        return;
    default:
        conn_txn_reply(c);
        return;
    }
}

/* ---- input --------------------------------------------------------------------------------- */

static int conn_append_input(struct smtp_conn *c, const uint8_t *p, size_t n)
{
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 4096;
        char *q;

        while (cap < c->in_len + n)
            cap *= 2;
        if (cap > 1024 * 1024 || !(q = realloc(c->in, cap)))
            return -1;
        c->in = q;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

static void conn_replies(struct smtp_conn *c)
{
    size_t off = 0;

    while (c->state != C_CLOSED && off < c->in_len) {
        long used = smtp_reply_feed(&c->reply, c->in + off, c->in_len - off);

        if (used < 0) {
            conn_fail_dest(c, OUT_DEFERRED, "4.5.0", c->remote, "4.5.0 malformed reply from %s: %.100s",
                           c->remote, c->in + off);
            return;
        }
        if (c->state == C_EHLO && c->ehlo_len + (size_t)used < sizeof(c->ehlo_raw)) {
            memcpy(c->ehlo_raw + c->ehlo_len, c->in + off, (size_t)used);
            c->ehlo_len += (size_t)used;
        }
        off += (size_t)used;
        if (!c->reply.complete)
            break;
        log_debug("%s: <<< %s", c->remote, c->reply.text);
        if (c->state == C_BODY) {
            conn_fail_dest(c, OUT_DEFERRED, "4.5.0", c->remote,
                           "4.5.0 %s replied during the message: %s", c->remote, c->reply.text);
            return;
        }
        conn_setup_reply(c);
        smtp_reply_reset(&c->reply);
        if (c->state == C_TLS) {
            /* Anything after the 220 belongs to the TLS layer. */
            if (off < c->in_len && tls_bio_feed(c->tls, (uint8_t *)c->in + off, c->in_len - off) < 0)
                conn_close(c);
            off = c->in_len;
        }
    }
    if (c->state != C_CLOSED) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void conn_tls_input(struct smtp_conn *c, const uint8_t *p, size_t n)
{
    uint8_t buf[16384];
    int rc;

    if (tls_bio_feed(c->tls, p, n) < 0) {
        conn_close(c);
        return;
    }
    if (!c->tls_active) {
        rc = tls_bio_handshake(c->tls, c->last_error, sizeof(c->last_error));
        conn_tls_flush(c);
        if (rc < 0) {
            conn_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL, "4.7.5 TLS with %s failed: %s", c->remote,
                           c->last_error);
            return;
        }
        if (rc == 0)
            return;
        c->tls_active = 1;
        char desc[200];

        tls_bio_describe(c->tls, desc, sizeof(desc));
        log_info("%s: TLS established with %s: %s", c->d->route.desc, c->remote, desc);
        conn_ehlo(c);
    }
    while ((rc = tls_bio_read(c->tls, buf, sizeof(buf), c->last_error, sizeof(c->last_error))) > 0)
        if (conn_append_input(c, buf, (size_t)rc) < 0) {
            conn_close(c);
            return;
        }
    if (rc < 0) {
        if (c->job)
            job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, c->last_error, 0, NULL);
        conn_close(c);
        return;
    }
    conn_replies(c);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char rbuf[65536];

    *buf = uv_buf_init(rbuf, sizeof(rbuf));
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct smtp_conn *c = s->data;

    if (c->state == C_CLOSED || nread == 0)
        return;
    if (nread < 0) {
        if (c->state == C_QUIT) {
            conn_close(c);
            return;
        }
        snprintf(c->last_error, sizeof(c->last_error), "4.4.2 %s closed the connection in state %s%s",
                 c->remote, cstate_names[c->state], nread == UV_EOF ? "" : uv_strerror((int)nread));
        if (c->job)
            job_outcome(c->job, OUT_DEFERRED, "4.4.2", c->remote, c->last_error, 0, NULL);
        conn_close(c);
        return;
    }
    if (c->tls)
        conn_tls_input(c, (const uint8_t *)buf->base, (size_t)nread);
    else if (conn_append_input(c, (const uint8_t *)buf->base, (size_t)nread) < 0)
        conn_close(c);
    else
        conn_replies(c);
}

/* ---- connecting ---------------------------------------------------------------------------- */

struct conn_attempt {
    uv_connect_t req;
    struct smtp_conn *c;
    uv_tcp_t *tcp;
};

static void conn_connect_cb(uv_connect_t *req, int status)
{
    struct conn_attempt *a = req->data;
    struct smtp_conn *c = a->c;
    int stale = a->tcp != c->tcp;

    free(a);
    c->refs--;
    if (c->state == C_CLOSED) {
        if (c->refs == 0)
            conn_free(c);
        return;
    }
    if (stale || status == UV_ECANCELED)
        return; /* timed out: conn_timeout_cb went on already */
    if (status < 0) {
        snprintf(c->last_error, sizeof(c->last_error), "connect to %s: %s", c->remote, uv_strerror(status));
        log_info("%s: %s", c->d->route.desc, c->last_error);
        conn_socket_drop(c);
        c->target++;
        conn_try_target(c);
        return;
    }
    uv_tcp_nodelay(c->tcp, 1); /* commands are written whole; do not wait for delayed ACKs */
    uv_read_start((uv_stream_t *)c->tcp, conn_alloc_cb, conn_read_cb);
    conn_enter(c, C_GREETING, c->r->cfg->router.greeting_timeout);
}

static void conn_try_target(struct smtp_conn *c)
{
    struct sockaddr_storage ss;
    const struct dns_target *t;
    struct conn_attempt *a;
    unsigned port = c->d->route.port;

    if (c->target >= c->dns.n) {
        conn_fail_dest(c, OUT_DEFERRED, "4.4.1", NULL, "4.4.1 %s%s", c->last_error,
                       c->dns.n > 1 ? " (and every other host of the destination)" : "");
        return;
    }
    t = &c->dns.t[c->target];
    if (strcmp(t->name, t->addr) == 0)
        snprintf(c->remote, sizeof(c->remote), "[%s]:%u", t->addr, port);
    else
        snprintf(c->remote, sizeof(c->remote), "%s[%s]:%u", t->name, t->addr, port);
    if ((t->family == AF_INET6 ? uv_ip6_addr(t->addr, (int)port, (struct sockaddr_in6 *)&ss)
                               : uv_ip4_addr(t->addr, (int)port, (struct sockaddr_in *)&ss)) != 0) {
        snprintf(c->last_error, sizeof(c->last_error), "bad address %s", t->addr);
        c->target++;
        conn_try_target(c);
        return;
    }
    if (conn_socket_new(c) < 0) {
        conn_fail_dest(c, OUT_DEFERRED, "4.3.0", NULL, "4.3.0 out of memory in the router");
        return;
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        conn_fail_dest(c, OUT_DEFERRED, "4.3.0", NULL, "4.3.0 out of memory in the router");
        return;
    }
    a->req.data = a;
    a->c = c;
    a->tcp = c->tcp;
    c->refs++;
    conn_enter(c, C_CONNECT, c->r->cfg->router.connect_timeout);
    if (uv_tcp_connect(&a->req, c->tcp, (struct sockaddr *)&ss, conn_connect_cb) < 0) {
        free(a);
        c->refs--;
        conn_socket_drop(c);
        snprintf(c->last_error, sizeof(c->last_error), "cannot connect to %s", c->remote);
        c->target++;
        conn_try_target(c);
    }
}

static void conn_resolved(struct dns_result *res, void *arg)
{
    struct smtp_conn *c = arg;

    c->refs--;
    if (c->state == C_CLOSED) {
        if (c->refs == 0)
            conn_free(c);
        return;
    }
    c->dns = *res;
    if (res->status) {
        conn_fail_dest(c, res->status, res->enhanced, NULL, "%s", res->why);
        return;
    }
    snprintf(c->last_error, sizeof(c->last_error), "no host to connect to");
    conn_try_target(c);
}

void router_smtp_start(struct dest *d, struct job *first)
{
    struct router *r = d->r;
    struct smtp_conn *c = calloc(1, sizeof(*c));

    if (!c) {
        router_queue_job_done(first);
        d->conns--;
        r->nconns--;
        return;
    }
    c->r = r;
    c->d = d;
    c->job = first;
    c->refs = 1; /* the timer; each socket holds one more */
    uv_timer_init(r->loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 1;
    smtp_reply_reset(&c->reply);
    c->state = C_RESOLVE;
    c->refs++;
    if (router_dns_resolve(r, d->route.host, d->route.mx, conn_resolved, c) < 0) {
        c->refs--;
        conn_fail_dest(c, OUT_DEFERRED, "4.4.3", NULL, "4.4.3 cannot start a DNS lookup of %s",
                       d->route.host);
    }
}
