/* router_smtp.c - the outbound SMTP client's state machine: one connection from DNS to QUIT, several messages per connection, and the replies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "reason.h"
#include "router_smtp.h"

static const char *const state_names[] = {
    [SMTP_INIT] = "init",         [SMTP_RESOLVE] = "resolve", [SMTP_CONNECT] = "connect",
    [SMTP_GREETING] = "greeting", [SMTP_EHLO] = "ehlo",       [SMTP_HELO] = "helo",
    [SMTP_STARTTLS] = "starttls", [SMTP_TLS] = "tls",         [SMTP_AUTH] = "auth",
    [SMTP_MAIL] = "mail",         [SMTP_RCPT] = "rcpt",       [SMTP_DATA] = "data",
    [SMTP_BODY] = "body",         [SMTP_DOT] = "dot",         [SMTP_MAIL_REFUSED] = "mail-refused",
    [SMTP_LONE_DOT] = "lone-dot", [SMTP_RSET] = "rset",       [SMTP_QUIT] = "quit",
    [SMTP_CLOSED] = "closed",
};

const char *router_smtp_state_name(enum smtp_state s)
{
    return state_names[s];
}

/* ---- outcomes ------------------------------------------------------------------------------ */

static void rcpt_set_outcome(struct rcpt_work *w, enum outcome o, const char *status,
                             const char *remote, const char *text)
{
    w->outcome = o;
    SG_REASON_SET(w->status, w->reply, status, "%s", text);
    snprintf(w->remote, sizeof(w->remote), "%s", remote ? remote : "");
    w->remote_reply = remote && remote[0];
}

/* Give outcomes to the recipients of j that have none yet (only_accepted: those RCPT accepted). */
static void job_outcome(struct job *j, enum outcome o, const char *status, const char *remote,
                        const char *text, const uint8_t *only_accepted)
{
    for (unsigned i = 0; i < j->n; i++) {
        struct rcpt_work *w = &j->m->rcpts[j->idx[i]];

        if (w->outcome == OUT_NONE && (!only_accepted || only_accepted[i]))
            rcpt_set_outcome(w, o, status, remote, text);
    }
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

static void smtp_job_finished(struct smtp_conn *c)
{
    struct job *j = c->job;

    c->job = NULL;
    router_smtp_body_close(c);
    if (j)
        router_queue_job_done(j);
}

void router_smtp_fail(struct smtp_conn *c, enum outcome o, const char *status, const char *remote,
                      const char *text)
{
    if (c->state == SMTP_CLOSED)
        return;
    if (c->job) {
        log_info("%s: %s: %s", c->d->route.desc, c->job->m->env.qid, text);
        job_outcome(c->job, o, status, remote, text, NULL);
    }
    router_smtp_enter(c, SMTP_CLOSED);
}

/* The next hop cannot be reached: this job and every job waiting for it get
 * the outcome (the next connection would fail the same way); down: the next
 * hop is marked down, so what comes for it meanwhile is deferred at once. */
void router_smtp_fail_dest(struct smtp_conn *c, enum outcome o, const char *status,
                           const char *remote, const char *text, int down)
{
    struct job *j;

    log_info("%s: %s", c->d->route.desc, text);
    if (down && o == OUT_DEFERRED)
        router_dest_down(c->d, status, text);
    if (c->job)
        job_outcome(c->job, o, status, remote, text, NULL);
    while ((j = router_dest_next_job(c->d)) != NULL) {
        job_outcome(j, o, status, remote, text, NULL);
        router_queue_job_done(j);
    }
    router_smtp_enter(c, SMTP_CLOSED);
}

static void smtp_fail_dest(struct smtp_conn *c, enum outcome o, const char *status,
                           const char *remote, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void smtp_fail_dest(struct smtp_conn *c, enum outcome o, const char *status,
                           const char *remote, const char *fmt, ...)
{
    char text[IPC_REPLY_MAX + 1];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    router_smtp_fail_dest(c, o, status, remote, text, 0);
}

/* ---- transactions ---------------------------------------------------------------------------- */

/* Refuse here what the server said it cannot take (router_smtp_envelope.c). */
static int smtp_precheck(struct smtp_conn *c)
{
    char status[16], text[800];

    if (router_smtp_envelope_check(c, status, sizeof(status), text, sizeof(text)) == 0)
        return 0;
    job_outcome(c->job, OUT_FAILED, status, NULL, text, NULL);
    return -1;
}

/* Start a transaction for the job in hand or, if it fails the checks, the next
 * that passes; clean: the server holds nothing of an earlier one (else RSET first). */
void router_smtp_next_txn(struct smtp_conn *c, int clean)
{
    while (c->job && smtp_precheck(c) < 0) {
        smtp_job_finished(c);
        c->job = c->r->stopping ? NULL : router_dest_next_job(c->d);
    }
    router_smtp_enter(c, !c->job ? SMTP_QUIT : clean ? SMTP_MAIL : SMTP_RSET);
}

/* The transaction is over for the server (clean) or must be reset. */
static void smtp_txn_end(struct smtp_conn *c, int clean)
{
    smtp_job_finished(c);
    c->job = c->r->stopping ? NULL : router_dest_next_job(c->d);
    router_smtp_next_txn(c, clean);
}

/* ---- entering a state ------------------------------------------------------------------------ */

static void smtp_resolved(struct dns_result *res, void *arg)
{
    struct smtp_conn *c = arg;

    if (c->state == SMTP_RESOLVE) {
        c->dns = *res;
        if (res->status) {
            router_smtp_fail_dest(c, res->status, res->enhanced, NULL, res->why, 1);
        } else {
            snprintf(c->last_error, sizeof(c->last_error), "no host to connect to");
            c->target = 0;
            router_smtp_enter(c, SMTP_CONNECT);
        }
    }
    router_smtp_unref(c);
}

static void smtp_resolve(struct smtp_conn *c)
{
    if (c->d->route.unix_sock) { /* one target, the socket: nothing to look up */
        c->dns.n = 1;
        c->target = 0;
        router_smtp_enter(c, SMTP_CONNECT);
        return;
    }
    router_smtp_ref(c); /* the lookup's, until smtp_resolved */
    if (router_dns_resolve(c->r, c->d->route.host, c->d->route.mx, smtp_resolved, c) < 0) {
        router_smtp_unref(c);
        smtp_fail_dest(c, OUT_DEFERRED, "4.4.3", NULL, "4.4.3 cannot start a DNS lookup of %s",
                       c->d->route.host);
    }
}

/* Entering SMTP_CONNECT: the current target, or the first after it that can be tried. */
static void smtp_connect(struct smtp_conn *c)
{
    char text[IPC_REPLY_MAX + 1];

    for (; c->target < c->dns.n; c->target++)
        if (router_smtp_io_connect(c) == 0)
            return;
    snprintf(text, sizeof(text), "4.4.1 %.900s%s", c->last_error,
             c->dns.n > 1 ? " (and every other host of the destination)" : "");
    router_smtp_fail_dest(c, OUT_DEFERRED, "4.4.1", NULL, text, 1);
}

static void smtp_start_tls(struct smtp_conn *c)
{
    if (router_smtp_io_tls_start(c) < 0)
        smtp_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL,
                       "4.7.5 cannot start TLS with %s: out of memory, or (tls=verify) a peer "
                       "name the certificate check cannot take",
                       c->remote);
}

static long long state_timeout(const struct smtp_conn *c, enum smtp_state s)
{
    const struct sg_config *cfg = c->r->cfg;

    switch (s) {
    case SMTP_CONNECT:
        return cfg->router.connect_timeout;
    case SMTP_GREETING:
        return cfg->router.greeting_timeout;
    case SMTP_DATA:
        return cfg->router.data_timeout;
    case SMTP_BODY:
        return cfg->router.block_timeout;
    case SMTP_DOT:
    case SMTP_LONE_DOT:
        return cfg->router.dot_timeout;
    case SMTP_QUIT:
        return 10;
    case SMTP_INIT:
    case SMTP_RESOLVE:
    case SMTP_CLOSED:
        return 0; /* DNS has its own timeouts */
    default:
        return cfg->router.command_timeout;
    }
}

static void smtp_state_action(struct smtp_conn *c, enum smtp_state s)
{
    switch (s) {
    case SMTP_RESOLVE:
        smtp_resolve(c);
        return;
    case SMTP_CONNECT:
        smtp_connect(c);
        return;
    case SMTP_EHLO:
        c->ehlo_len = 0;
        router_smtp_io_cmd(c, "%s %s", c->d->route.lmtp ? "LHLO" : "EHLO", c->r->hostname);
        return;
    case SMTP_HELO:
        memset(&c->caps, 0, sizeof(c->caps));
        router_smtp_io_cmd(c, "HELO %s", c->r->hostname);
        return;
    case SMTP_STARTTLS:
        router_smtp_io_cmd(c, "STARTTLS");
        return;
    case SMTP_TLS:
        smtp_start_tls(c);
        return;
    case SMTP_AUTH:
        router_smtp_auth_start(c);
        return;
    case SMTP_MAIL:
        router_smtp_send_mail(c);
        return;
    case SMTP_RCPT:
        if (!c->pipelined)
            router_smtp_send_rcpt(c, c->rcpt_pos);
        return;
    case SMTP_DATA:
        if (!c->pipelined)
            router_smtp_io_cmd(c, "DATA");
        return;
    case SMTP_BODY:
        router_smtp_io_reading(c, 0);
        router_smtp_body_start(c);
        return;
    case SMTP_DOT:
        c->dot_pos = c->dot_bad = 0;
        router_smtp_body_write_end(c);
        router_smtp_io_reading(c, 1);
        return;
    case SMTP_LONE_DOT:
        router_smtp_io_write(c, ".\r\n", 3);
        return;
    case SMTP_RSET:
        router_smtp_io_cmd(c, "RSET");
        return;
    case SMTP_QUIT:
        router_smtp_io_cmd(c, "QUIT");
        return;
    case SMTP_CLOSED:
        smtp_job_finished(c);
        router_smtp_io_close(c);
        return;
    case SMTP_INIT:
    case SMTP_GREETING:
    case SMTP_MAIL_REFUSED:
        return; /* waiting only */
    }
}

void router_smtp_enter(struct smtp_conn *c, enum smtp_state s)
{
    if (c->state == SMTP_CLOSED)
        return; /* closed is final */
    log_debug("%s: %s -> %s", c->d->route.desc, state_names[c->state], state_names[s]);
    c->state = s;
    if (s != SMTP_CLOSED)
        router_smtp_io_timer(c, state_timeout(c, s));
    smtp_state_action(c, s); /* last: it may enter the next state */
}

/* ---- replies --------------------------------------------------------------------------------- */

static void on_greeting(struct smtp_conn *c, const struct smtp_reply *rp)
{
    if (rp->code != 220) {
        router_smtp_fail_dest(c, OUT_DEFERRED, rp->enhanced[0] ? rp->enhanced : "4.4.2", c->remote,
                              rp->text, 1);
        return;
    }
    router_dest_up(c->d);
    router_smtp_enter(c, SMTP_EHLO);
}

/* EHLO or HELO accepted: TLS first if the policy and the server allow, AUTH if the route has
 * credentials (never outside TLS: auth= implies tls=verify), then the mail. */
static void smtp_after_ehlo(struct smtp_conn *c)
{
    enum tm_tls policy = c->d->route.tls;

    if (!c->tls_active && policy != TM_TLS_NONE && (c->caps.flags & EHLO_STARTTLS))
        router_smtp_enter(c, SMTP_STARTTLS);
    else if (!c->tls_active && policy == TM_TLS_VERIFY)
        smtp_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL,
                       "4.7.5 TLS is required for %s but %s does not offer STARTTLS",
                       c->d->route.desc, c->remote);
    else if (router_smtp_auth_needed(c) && c->tls_active)
        router_smtp_enter(c, SMTP_AUTH);
    else if (router_smtp_auth_needed(c))
        smtp_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL,
                       "4.7.5 credentials for %s go only over TLS, and %s has none",
                       c->d->route.desc, c->remote);
    else
        router_smtp_next_txn(c, 1);
}

/* The server refused our greeting (cmd: HELO, or LMTP's LHLO): nothing can be sent to it. */
static void greeting_refused(struct smtp_conn *c, const struct smtp_reply *rp, const char *cmd)
{
    smtp_fail_dest(c, outcome_of(rp->code) == OUT_FAILED ? OUT_FAILED : OUT_DEFERRED,
                   rp->enhanced[0]   ? rp->enhanced
                   : rp->code >= 500 ? "5.5.0"
                                     : "4.4.2",
                   c->remote, "%s (to %s)", rp->text, cmd);
}

static void on_ehlo(struct smtp_conn *c, const struct smtp_reply *rp)
{
    if (rp->code == 250) {
        smtp_ehlo_parse(c->ehlo_raw, c->ehlo_len, &c->caps);
        smtp_after_ehlo(c);
    } else if (c->d->route.lmtp) {
        greeting_refused(c, rp, "LHLO"); /* LMTP has no HELO to fall back to */
    } else {
        router_smtp_enter(c, SMTP_HELO);
    }
}

static void on_helo(struct smtp_conn *c, const struct smtp_reply *rp)
{
    if (rp->code == 250)
        smtp_after_ehlo(c);
    else
        greeting_refused(c, rp, "HELO");
}

static void on_starttls(struct smtp_conn *c, const struct smtp_reply *rp)
{
    if (rp->code == 220)
        router_smtp_enter(c, SMTP_TLS);
    else if (c->d->route.tls == TM_TLS_VERIFY)
        smtp_fail_dest(c, OUT_DEFERRED, "4.7.5", c->remote, "4.7.5 STARTTLS refused by %s: %s",
                       c->remote, rp->text);
    else
        router_smtp_next_txn(c, 1); /* may: go on in plain text */
}

static void on_mail(struct smtp_conn *c, const struct smtp_reply *rp)
{
    enum outcome o = outcome_of(rp->code);
    char st[16];

    if (o == OUT_DELIVERED) {
        router_smtp_enter(c, SMTP_RCPT);
        return;
    }
    job_outcome(c->job, o, status_of(rp, st, sizeof(st)), c->remote, rp->text, NULL);
    if (c->pipelined)
        router_smtp_enter(c, SMTP_MAIL_REFUSED); /* the RCPT and DATA replies still come */
    else
        smtp_txn_end(c, 0);
}

static void on_rcpt(struct smtp_conn *c, const struct smtp_reply *rp)
{
    struct job *j = c->job;
    enum outcome o = outcome_of(rp->code);
    char st[16];

    if (o == OUT_DELIVERED) {
        c->rcpt_ok[c->rcpt_pos] = 1;
        c->accepted++;
    } else {
        rcpt_set_outcome(&j->m->rcpts[j->idx[c->rcpt_pos]], o, status_of(rp, st, sizeof(st)),
                         c->remote, rp->text);
    }
    if (++c->rcpt_pos < j->n)
        router_smtp_enter(c, SMTP_RCPT);
    else if (!c->pipelined && c->accepted == 0)
        smtp_txn_end(c, 0);
    else
        router_smtp_enter(c, SMTP_DATA);
}

static void on_data(struct smtp_conn *c, const struct smtp_reply *rp)
{
    enum outcome o = outcome_of(rp->code);
    char st[16];

    if (rp->code != 354) {
        job_outcome(c->job, o == OUT_DELIVERED ? OUT_DEFERRED : o, status_of(rp, st, sizeof(st)),
                    c->remote, rp->text, c->rcpt_ok);
        smtp_txn_end(c, 0);
    } else {
        /* Pipelined DATA may get its 354 though nobody is left to send to. */
        router_smtp_enter(c, c->accepted ? SMTP_BODY : SMTP_LONE_DOT);
    }
}

static void on_dot(struct smtp_conn *c, const struct smtp_reply *rp)
{
    enum outcome o = outcome_of(rp->code);
    char st[16];

    job_outcome(c->job, o, status_of(rp, st, sizeof(st)), c->remote, rp->text, c->rcpt_ok);
    if (o == OUT_DELIVERED)
        router_dest_delivered(c->d); /* each recipient's line: router_log_outcome() */
    smtp_txn_end(c, o == OUT_DELIVERED);
}

/* The next recipient at or after c->dot_pos that RCPT accepted (j->n: none is left). */
static unsigned lmtp_next(const struct smtp_conn *c)
{
    unsigned i = c->dot_pos;

    while (i < c->job->n && !c->rcpt_ok[i])
        i++;
    return i;
}

/* LMTP (RFC 2033 4.2): after the dot, one reply for each recipient RCPT accepted, in their
 * order, each its own outcome; the transaction ends with the last. */
static void on_dot_lmtp(struct smtp_conn *c, const struct smtp_reply *rp)
{
    struct job *j = c->job;
    enum outcome o = outcome_of(rp->code);
    char st[16];

    c->dot_pos = lmtp_next(c);
    if (c->dot_pos < j->n) {
        rcpt_set_outcome(&j->m->rcpts[j->idx[c->dot_pos]], o, status_of(rp, st, sizeof(st)),
                         c->remote, rp->text);
        c->dot_bad += o != OUT_DELIVERED;
        c->dot_pos++;
    }
    if ((c->dot_pos = lmtp_next(c)) < j->n) {
        router_smtp_io_timer(c, state_timeout(c, SMTP_DOT)); /* each reply has its own wait */
        return;
    }
    if (c->dot_bad < c->accepted)
        router_dest_delivered(c->d);
    smtp_txn_end(c, c->dot_bad == 0);
}

/* Pipelined MAIL was refused: one reply per RCPT, then DATA's. */
static void on_mail_refused(struct smtp_conn *c, const struct smtp_reply *rp)
{
    if (c->rcpt_pos < c->job->n)
        c->rcpt_pos++;
    else if (rp->code == 354)
        router_smtp_enter(c, SMTP_LONE_DOT);
    else
        smtp_txn_end(c, 0);
}

static void on_rset(struct smtp_conn *c, const struct smtp_reply *rp)
{
    char text[SMTP_REPLY_TEXT_MAX + 16];

    if (outcome_of(rp->code) == OUT_DELIVERED) {
        router_smtp_enter(c, SMTP_MAIL);
        return;
    }
    /* The job in hand was not tried: it is deferred, whatever the server thinks of RSET. */
    snprintf(text, sizeof(text), "%s (to RSET)", rp->text);
    router_smtp_fail(c, OUT_DEFERRED, "4.4.2", c->remote, text);
}

/* The one reply handler. */
static void smtp_reply_received(struct smtp_conn *c)
{
    const struct smtp_reply *rp = &c->reply;

    switch (c->state) {
    case SMTP_GREETING:
        on_greeting(c, rp);
        return;
    case SMTP_EHLO:
        on_ehlo(c, rp);
        return;
    case SMTP_HELO:
        on_helo(c, rp);
        return;
    case SMTP_STARTTLS:
        on_starttls(c, rp);
        return;
    case SMTP_AUTH:
        router_smtp_auth_reply(c, rp);
        return;
    case SMTP_MAIL:
        on_mail(c, rp);
        return;
    case SMTP_RCPT:
        on_rcpt(c, rp);
        return;
    case SMTP_DATA:
        on_data(c, rp);
        return;
    case SMTP_DOT:
        if (c->d->route.lmtp)
            on_dot_lmtp(c, rp);
        else
            on_dot(c, rp);
        return;
    case SMTP_MAIL_REFUSED:
        on_mail_refused(c, rp);
        return;
    case SMTP_LONE_DOT:
        smtp_txn_end(c, 0);
        return;
    case SMTP_RSET:
        on_rset(c, rp);
        return;
    case SMTP_QUIT:
        router_smtp_enter(c, SMTP_CLOSED);
        return;
    case SMTP_BODY:
        smtp_fail_dest(c, OUT_DEFERRED, "4.5.0", c->remote,
                       "4.5.0 %s replied during the message: %s", c->remote, rp->text);
        return;
    case SMTP_INIT:
    case SMTP_RESOLVE:
    case SMTP_CONNECT:
    case SMTP_TLS:
    case SMTP_CLOSED:
        return; /* no reply is read in these */
    }
}

/* ---- events from the I/O side --------------------------------------------------------------- */

/* What a malformed reply said, for the log and the DSN: at most 100 octets of its line, up to
 * the end of the input (which has no NUL), anything but printable ASCII as '?'. */
static void malformed_text(const char *p, size_t len, char *out, size_t outsz)
{
    size_t n = 0;

    for (; n < len && n < 100 && n + 1 < outsz && p[n] != '\r' && p[n] != '\n'; n++)
        out[n] = p[n] >= 0x20 && p[n] < 0x7f ? p[n] : '?';
    out[n] = '\0';
}

/* Whole replies out of c->in, one at a time; what follows a 220 to STARTTLS is TLS. */
void router_smtp_input(struct smtp_conn *c)
{
    size_t off = 0;

    while (c->state != SMTP_CLOSED && off < c->in.len) {
        const char *p = (const char *)c->in.data + off;
        long used = smtp_reply_feed(&c->reply, p, c->in.len - off);

        if (used < 0) {
            char said[104];

            malformed_text(p, c->in.len - off, said, sizeof(said));
            smtp_fail_dest(c, OUT_DEFERRED, "4.5.0", c->remote, "4.5.0 malformed reply from %s: %s",
                           c->remote, said);
            return;
        }
        if (c->state == SMTP_EHLO && c->ehlo_len + (size_t)used < sizeof(c->ehlo_raw)) {
            memcpy(c->ehlo_raw + c->ehlo_len, p, (size_t)used);
            c->ehlo_len += (size_t)used;
        }
        off += (size_t)used;
        if (!c->reply.complete)
            break;
        log_debug("%s: <<< %s", c->remote, c->reply.text);
        smtp_reply_received(c);
        smtp_reply_reset(&c->reply);
        if (c->state == SMTP_TLS) {
            router_smtp_io_tls_feed(c, c->in.data + off, c->in.len - off);
            off = c->in.len;
        }
    }
    if (c->state != SMTP_CLOSED)
        sg_buf_consume(&c->in, off);
}

void router_smtp_connected(struct smtp_conn *c, int status)
{
    if (status == 0) { /* tls=implicit: the handshake first, the greeting comes through it */
        router_smtp_enter(c, c->d->route.tls == TM_TLS_IMPLICIT ? SMTP_TLS : SMTP_GREETING);
        return;
    }
    snprintf(c->last_error, sizeof(c->last_error), "connect to %s: %s", c->remote,
             uv_strerror(status));
    log_info("%s: %s", c->d->route.desc, c->last_error);
    router_smtp_io_drop_socket(c);
    c->target++;
    router_smtp_enter(c, SMTP_CONNECT);
}

void router_smtp_tls_ready(struct smtp_conn *c)
{
    router_smtp_enter(c, c->d->route.tls == TM_TLS_IMPLICIT ? SMTP_GREETING : SMTP_EHLO);
}

void router_smtp_tls_failed(struct smtp_conn *c, const char *why)
{
    smtp_fail_dest(c, OUT_DEFERRED, "4.7.5", NULL, "4.7.5 TLS with %s failed: %s", c->remote, why);
}

void router_smtp_timeout(struct smtp_conn *c)
{
    char text[400];

    if (c->state == SMTP_CONNECT) {
        snprintf(c->last_error, sizeof(c->last_error), "connect to %s timed out", c->remote);
        router_smtp_io_drop_socket(c); /* this attempt only: its connect callback sees ECANCELED */
        c->target++;
        router_smtp_enter(c, SMTP_CONNECT);
        return;
    }
    snprintf(text, sizeof(text), "4.4.2 timeout in state %s talking to %s", state_names[c->state],
             c->remote[0] ? c->remote : c->d->route.desc);
    router_smtp_fail(c, OUT_DEFERRED, "4.4.2", c->remote, text);
}

void router_smtp_start(struct dest *d, struct job *first)
{
    struct smtp_conn *c = router_smtp_io_new(d, first);

    if (!c) {
        router_queue_job_done(first);
        d->conns--;
        d->r->nconns--;
        return;
    }
    router_smtp_enter(c, SMTP_RESOLVE);
}
