/* smtpd_session.c - an SMTP session's life: accept, greeting, input loop, replies, timeouts, close. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "uv_write.h"
#include "smtpd.h"

static const char *const session_state_names[SS_COUNT] = {
    "greeting", "init", "ready",  "mail", "rcpt",       "rcpt-lookup", "data-open",
    "data",     "bdat", "commit", "auth", "auth-check", "tls",         "closing",
};

static void session_process(struct session *s);
static void session_flush(struct session *s);

/* A single read buffer for every session: the loop is one thread and each
 * read is consumed before the next buffer is handed out. */
static uint8_t session_read_buf[64 * 1024];

/* ---- lifetime ----------------------------------------------------------------- */

int smtpd_session_alive(const struct session *s)
{
    return s->state != SS_CLOSING;
}

void smtpd_session_ref(struct session *s)
{
    s->refs++;
}

static void session_free(struct session *s)
{
    struct smtpd *d = s->d;

    smtpd_transaction_free(s);
    if (s->tls)
        smtpd_tls_conn_free(s->tls);
    sg_buf_free(&s->in);
    sg_buf_free(&s->out);
    if (s->counted)
        smtpd_clients_remove(d->clients, s->peer_ip);
    free(s);
    d->nsessions--;
}

void smtpd_session_unref(struct session *s)
{
    if (--s->refs == 0 && s->handles_open == 0)
        session_free(s);
}

static void session_handle_closed(uv_handle_t *h)
{
    struct session *s = h->data;

    if (--s->handles_open == 0 && s->refs == 0)
        session_free(s);
}

/* The session ends (why logged, if given): its directory lookup and any message being received
 * are given up. */
static void session_wind_down(struct session *s, const char *why)
{
    if (why)
        log_info("session %llu: disconnect from [%s]: %s (%u commands)", (unsigned long long)s->id,
                 s->peer_ip, why, s->commands);
    smtpd_session_enter(s, SS_CLOSING);
    smtpd_dir_cancel(s);
    smtpd_data_abandon(s);
}

void smtpd_session_close(struct session *s, const char *why)
{
    if (s->handles_open == 0 || uv_is_closing((uv_handle_t *)&s->tcp))
        return;
    session_wind_down(s, why);
    uv_close((uv_handle_t *)&s->timer, session_handle_closed);
    uv_close((uv_handle_t *)&s->tcp, session_handle_closed);
}

void smtpd_session_enter(struct session *s, enum session_state next)
{
    if (s->state == next)
        return;
    log_debug("session %llu: %s -> %s", (unsigned long long)s->id, session_state_names[s->state],
              session_state_names[next]);
    s->state = next;
}

/* ---- timeouts ----------------------------------------------------------------- */

static void session_timeout_cb(uv_timer_t *t)
{
    struct session *s = t->data;

    if (!smtpd_session_alive(s))
        return;
    smtpd_session_reply(s, 421, "4.4.2 %s Timeout, closing connection", s->d->hostname);
    smtpd_session_enter(s, SS_CLOSING);
    session_flush(s);
    log_info("session %llu: timeout in state %s", (unsigned long long)s->id,
             session_state_names[s->state]);
}

void smtpd_session_set_timer(struct session *s, long long seconds)
{
    if (smtpd_session_alive(s))
        uv_timer_start(&s->timer, session_timeout_cb, (uint64_t)seconds * 1000u, 0);
}

/* The timer runs to the state's deadline, which input does not push back: a
 * client sending a byte now and then (slowloris) is cut at the deadline all
 * the same.  A whole command line restarts the command deadline; in DATA and
 * BDAT each octet received adds 1/data_min_rate s to data_timeout. */
static void session_arm_deadline(struct session *s)
{
    const struct cfg_smtpd *c = &s->d->cfg->smtpd;
    uint64_t now = uv_now(s->d->loop), deadline;

    if (s->state == SS_DATA || s->state == SS_BDAT) {
        if (!s->data_started_ms) {
            s->data_started_ms = now;
            s->data_octets = 0;
        }
        deadline = s->data_started_ms + (uint64_t)c->data_timeout * 1000u +
                   s->data_octets * 1000u / (uint64_t)c->data_min_rate;
    } else {
        s->data_started_ms = 0;
        if (!s->wait_started_ms)
            s->wait_started_ms = now;
        deadline = s->wait_started_ms + (uint64_t)c->command_timeout * 1000u;
    }
    if (smtpd_session_alive(s))
        uv_timer_start(&s->timer, session_timeout_cb, deadline > now ? deadline - now : 1, 0);
}

/* ---- output ------------------------------------------------------------------- */

static void session_written(void *arg, size_t len, int status)
{
    struct session *s = arg;

    s->write_pending -= len;
    if (status < 0) {
        smtpd_session_close(s, uv_strerror(status));
    } else if (s->state == SS_CLOSING && s->write_pending == 0) {
        smtpd_session_close(s, NULL);
    } else if (s->in_write_backlog && s->write_pending < SMTPD_OUT_BACKLOG / 2) {
        s->in_write_backlog = 0;
        smtpd_session_resume(s);
    }
    smtpd_session_unref(s);
}

/* Octets onto the socket as they are (ciphertext under TLS). */
int smtpd_session_write_wire(struct session *s, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (sg_uv_write_copy((uv_stream_t *)&s->tcp, data, len, session_written, s) < 0)
        return -1;
    s->write_pending += len;
    smtpd_session_ref(s);
    return 0;
}

static void session_flush(struct session *s)
{
    int rc = 0;

    if (s->out.len) {
        const char *out = (const char *)s->out.data;

        rc = s->tls && !(s->state == SS_TLS) ? smtpd_tls_conn_write(s, out, s->out.len)
                                             : smtpd_session_write_wire(s, out, s->out.len);
        sg_buf_reset(&s->out);
    }
    if (rc < 0) {
        smtpd_session_close(s, "cannot write the reply");
        return;
    }
    if (s->state == SS_CLOSING && s->write_pending == 0)
        smtpd_session_close(s, NULL);
}

void smtpd_session_reply_raw(struct session *s, const char *text, size_t len)
{
    if (sg_buf_append(&s->out, text, len) < 0)
        smtpd_session_close(s, "out of memory");
}

static void session_vreply(struct session *s, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void session_vreply(struct session *s, int code, const char *fmt, va_list ap)
{
    char line[600];
    int n = snprintf(line, sizeof(line), "%03d ", code);

    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    if (n > (int)sizeof(line) - 3)
        n = (int)sizeof(line) - 3;
    memcpy(line + n, "\r\n", 2);
    smtpd_session_reply_raw(s, line, (size_t)n + 2);
}

void smtpd_session_reply(struct session *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    session_vreply(s, code, fmt, ap);
    va_end(ap);
}

void smtpd_session_error(struct session *s, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    session_vreply(s, code, fmt, ap);
    va_end(ap);
    if (++s->errors >= (unsigned)s->d->cfg->smtpd.max_errors && smtpd_session_alive(s)) {
        smtpd_session_reply(s, 421, "4.7.0 %s Too many errors, closing connection", s->d->hostname);
        log_notice("session %llu: [%s] too many errors", (unsigned long long)s->id, s->peer_ip);
        smtpd_transaction_free(s);
        smtpd_session_enter(s, SS_CLOSING);
        return;
    }
    smtpd_session_rate_over(s, SMTPD_RATE_ERROR, 1);
}

/* ---- input -------------------------------------------------------------------- */

int smtpd_session_append_input(struct session *s, const uint8_t *data, size_t len)
{
    if (s->in_off && (s->in_off == s->in.len || s->in.len + len > s->in.cap)) {
        sg_buf_consume(&s->in, s->in_off); /* make room before growing */
        s->in_off = 0;
    }
    return sg_buf_append(&s->in, data, len);
}

void smtpd_session_discard_input(struct session *s)
{
    s->in_off = 0;
    sg_buf_reset(&s->in);
}

/* Give back the input buffer when it is empty, so idle sessions stay small. */
static void session_trim_input(struct session *s)
{
    if (s->in_off == s->in.len) {
        sg_buf_free(&s->in);
        s->in_off = 0;
    }
}

static void session_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    *buf = uv_buf_init((char *)session_read_buf, sizeof(session_read_buf));
}

static void session_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct session *s = stream->data;
    char why[256];

    if (nread == 0 || !smtpd_session_alive(s))
        return;
    if (nread < 0) {
        smtpd_session_close(s, nread == UV_EOF ? "client closed the connection"
                                               : uv_strerror((int)nread));
        return;
    }
    if (s->tls) {
        int rc =
            smtpd_tls_conn_input(s, (const uint8_t *)buf->base, (size_t)nread, why, sizeof(why));

        if (rc < 0) {
            smtpd_session_close(s, why);
            return;
        }
        if (rc == 1)
            smtpd_session_tls_started(s);
        if (smtpd_tls_conn_flush(s) < 0) {
            smtpd_session_close(s, "cannot write TLS data");
            return;
        }
    } else if (smtpd_session_append_input(s, (const uint8_t *)buf->base, (size_t)nread) < 0) {
        smtpd_session_close(s, "out of memory");
        return;
    }
    session_process(s);
}

static void session_reading(struct session *s, int on)
{
    if (!smtpd_session_alive(s) || on == s->reading)
        return;
    if (on)
        uv_read_start((uv_stream_t *)&s->tcp, session_alloc_cb, session_read_cb);
    else
        uv_read_stop((uv_stream_t *)&s->tcp);
    s->reading = on;
}

/* Is the session waiting for something other than client input? */
static int session_waiting(const struct session *s)
{
    switch (s->state) {
    case SS_RCPT_LOOKUP:
    case SS_DATA_OPEN:
    case SS_COMMIT:
    case SS_AUTH_CHECK:
    case SS_TLS:
    case SS_CLOSING:
        return 1;
    case SS_DATA:
    case SS_BDAT:
        return s->tx && s->tx->store && sc_pending(s->tx->store) > SMTPD_STORE_BACKLOG;
    default:
        return 0;
    }
}

/* One command line (or AUTH line) from the input, if a whole one is there. */
static int session_take_line(struct session *s)
{
    const uint8_t *p = s->in.data + s->in_off;
    size_t avail = s->in.len - s->in_off;
    size_t scan = avail < SMTPD_CMD_LINE_MAX ? avail : SMTPD_CMD_LINE_MAX;
    const uint8_t *lf = memchr(p, '\n', scan);
    size_t len;

    if (s->skipping_line) {
        lf = memchr(p, '\n', avail);
        s->in_off += lf ? (size_t)(lf - p) + 1 : avail;
        s->skipping_line = !lf;
        return 1;
    }
    if (!lf) {
        if (avail < SMTPD_CMD_LINE_MAX)
            return 0;
        /* Too long: drop through its end (which may come later). */
        lf = memchr(p, '\n', avail);
        s->in_off += lf ? (size_t)(lf - p) + 1 : avail;
        s->skipping_line = !lf;
        s->commands++;
        smtpd_session_error(s, 500, "5.5.2 Line too long");
        return 1;
    }
    len = (size_t)(lf - p);
    s->in_off += len + 1;
    s->commands++;
    if (len == 0 || p[len - 1] != '\r') {
        smtpd_session_error(s, 500, "5.5.2 Command line must end with CRLF");
        return 1;
    }
    if (s->state == SS_AUTH)
        smtpd_cmd_auth_line(s, (const char *)p, len - 1);
    else
        smtpd_cmd_dispatch(s, (const char *)p, len - 1);
    return 1;
}

/* Is there something to do without more input? */
static int session_has_work(const struct session *s)
{
    return s->in_off < s->in.len || (s->state == SS_BDAT && s->tx && s->tx->bdat_left == 0);
}

static void session_process(struct session *s)
{
    if (s->processing)
        return; /* the loop further up the stack goes on */
    s->processing = 1;
    while (smtpd_session_alive(s) && !session_waiting(s) && session_has_work(s)) {
        /* Replies not yet written count too, so pipelined commands from a client
         * that never reads cannot grow them without bound. */
        if (s->write_pending + s->out.len > SMTPD_OUT_BACKLOG) {
            s->in_write_backlog = 1;
            break;
        }
        if (s->state == SS_DATA || s->state == SS_BDAT) {
            size_t used =
                smtpd_data_feed(s, s->in.data ? s->in.data + s->in_off : (const uint8_t *)"",
                                s->in.len - s->in_off);

            s->in_off += used;
            s->data_octets += used;
            continue;
        }
        if (!session_take_line(s))
            break;
        s->wait_started_ms = 0; /* a whole command: the next one's deadline starts afresh */
    }
    s->processing = 0;
    if (s->handles_open == 0 || uv_is_closing((uv_handle_t *)&s->tcp))
        return;
    session_trim_input(s);
    session_flush(s);
    if (!smtpd_session_alive(s))
        return;
    /* Read while we can use input; hold back when busy or backed up. */
    session_reading(s, s->state == SS_TLS || (!session_waiting(s) && !s->in_write_backlog &&
                                              s->in.len - s->in_off < SMTPD_STORE_BACKLOG));
    if (!session_waiting(s))
        session_arm_deadline(s);
}

void smtpd_session_resume(struct session *s)
{
    if (s->d->stopping)
        smtpd_session_stop(s); /* a commit answered after the stop began: its reply, then 421 */
    else if (s->handles_open && !uv_is_closing((uv_handle_t *)&s->tcp))
        session_process(s);
}

/* The server stops (RFC 5321 3.8): a session waiting for its commit keeps going until the
 * store has answered and the client has that answer, so it is never told nothing about a
 * message that was stored; every other one gets 421 and is closed once that is written. */
void smtpd_session_stop(struct session *s)
{
    if (!smtpd_session_alive(s) || s->state == SS_COMMIT)
        return;
    if (s->state == SS_TLS) { /* no plain text in the middle of a handshake */
        smtpd_session_close(s, "server stopping");
        return;
    }
    smtpd_session_reply(s, 421, "4.3.2 %s Service shutting down, closing connection",
                        s->d->hostname);
    session_wind_down(s, "server stopping");
    smtpd_transaction_free(s);
    session_flush(s);
}

/* ---- TLS ---------------------------------------------------------------------- */

void smtpd_session_tls_started(struct session *s)
{
    smtpd_tls_conn_describe(s->tls, s->tls_info, sizeof(s->tls_info));
    log_info("session %llu: TLS established: %s", (unsigned long long)s->id, s->tls_info);
    /* RFC 3207 4.2: forget everything learned before TLS. */
    s->helo[0] = '\0';
    s->esmtp = 0;
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_INIT);
}

/* ---- rates per client address ---------------------------------------------------- */

static const struct {
    const char *events; /* in the log */
    const char *reason; /* in the 421 */
} session_rate_text[SMTPD_RATE_KINDS] = {
    [SMTPD_RATE_CONNECT] = {"connections", "Too many connections from your address"},
    [SMTPD_RATE_MAIL] = {"messages (MAIL)", "Too many messages from your address"},
    [SMTPD_RATE_RCPT] = {"recipients (RCPT)", "Too many recipients from your address"},
    [SMTPD_RATE_AUTH_FAIL] = {"failed authentications",
                              "Too many failed authentications from your address"},
    [SMTPD_RATE_ERROR] = {"errors", "Too many errors from your address"},
};

static long long session_rate_limit(const struct cfg_smtpd *c, enum smtpd_rate_kind kind)
{
    switch (kind) {
    case SMTPD_RATE_CONNECT:
        return c->client_connection_rate_limit;
    case SMTPD_RATE_MAIL:
        return c->client_message_rate_limit;
    case SMTPD_RATE_RCPT:
        return c->client_recipient_rate_limit;
    case SMTPD_RATE_AUTH_FAIL:
        return c->client_auth_failure_rate_limit;
    default:
        return c->client_error_rate_limit;
    }
}

int smtpd_session_rate_over(struct session *s, enum smtpd_rate_kind kind, int add)
{
    struct smtpd *d = s->d;
    const struct cfg_smtpd *c = &d->cfg->smtpd;
    long long limit = session_rate_limit(c, kind);
    uint64_t now = uv_now(d->loop);
    unsigned n;

    if (s->relay_ok || !s->peer_ip[0] || !smtpd_session_alive(s) || limit == 0)
        return 0;
    n = add ? smtpd_rates_add(d->rates, s->peer_ip, kind, now)
            : smtpd_rates_get(d->rates, s->peer_ip, kind, now) + 1;
    if (n <= (unsigned long long)limit)
        return 0;
    if (smtpd_rates_log_due(d->rates, s->peer_ip, kind, now))
        log_warn("session %llu: [%s] refused: %u %s from this address within %llds (limit %lld; "
                 "logged once per interval)",
                 (unsigned long long)s->id, s->peer_ip, add ? n : n - 1,
                 session_rate_text[kind].events, c->client_rate_interval, limit);
    smtpd_session_reply(s, 421, "4.7.0 %s %s, try again later", d->hostname,
                        session_rate_text[kind].reason);
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_CLOSING);
    return 1;
}

void smtpd_session_rate_count(struct session *s, enum smtpd_rate_kind kind)
{
    if (!s->relay_ok && s->peer_ip[0])
        smtpd_rates_add(s->d->rates, s->peer_ip, kind, uv_now(s->d->loop));
}

/* ---- accept ------------------------------------------------------------------- */

/* Count the session against its client's address (mynetworks is not limited): 1 when that
 * address has more than max_sessions_per_client. */
static int session_client_over(struct session *s)
{
    struct smtpd *d = s->d;
    unsigned n;

    if (s->relay_ok || !s->peer_ip[0])
        return 0;
    n = smtpd_clients_add(d->clients, s->peer_ip);
    s->counted = n > 0;
    if (n <= (unsigned)d->cfg->smtpd.max_sessions_per_client && n > 0)
        return 0;
    if (smtpd_clients_log_due(d->clients, s->peer_ip, uv_now(d->loop)))
        log_warn("session %llu: [%s] refused: %u sessions from this address (limit %lld; logged "
                 "once a minute)",
                 (unsigned long long)s->id, s->peer_ip, n ? n - 1 : 0,
                 d->cfg->smtpd.max_sessions_per_client);
    return 1;
}

static void session_greet(struct session *s)
{
    struct smtpd *d = s->d;

    if (smtpd_session_rate_over(s, SMTPD_RATE_CONNECT, 1)) {
        /* refused with 421 */
    } else if (session_client_over(s)) {
        smtpd_session_reply(s, 421, "4.7.0 %s Too many sessions from your address, try again later",
                            d->hostname);
        smtpd_session_enter(s, SS_CLOSING);
    } else if (d->nsessions > (unsigned)d->cfg->smtpd.max_sessions) {
        smtpd_session_reply(s, 421, "4.7.0 %s Too many sessions, try again later", d->hostname);
        log_warn("session %llu: [%s] refused: %u sessions", (unsigned long long)s->id, s->peer_ip,
                 d->nsessions - 1);
        smtpd_session_enter(s, SS_CLOSING);
    } else if (!ipc_link_up(d->store.monitor)) {
        smtpd_session_reply(s, 421, "4.3.0 %s Mail store unavailable, try again later",
                            d->hostname);
        log_warn("session %llu: [%s] refused: mail store unavailable: %s",
                 (unsigned long long)s->id, s->peer_ip, ipc_link_why(d->store.monitor));
        smtpd_session_enter(s, SS_CLOSING);
    } else {
        smtpd_session_reply(s, 220, "%s ESMTP spoolgate", d->hostname);
        smtpd_session_enter(s, SS_INIT);
    }
    session_process(s);
}

static void session_peer_name(struct session *s)
{
    int len = sizeof(s->peer);
    const struct sockaddr *sa = (const struct sockaddr *)&s->peer;

    s->peer_ip[0] = '\0';
    if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&s->peer, &len) < 0)
        return;
    if (sa->sa_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)sa, s->peer_ip, sizeof(s->peer_ip));
    else
        uv_ip4_name((const struct sockaddr_in *)sa, s->peer_ip, sizeof(s->peer_ip));
    s->relay_ok = smtp_cidr_match(s->d->networks, (size_t)s->d->nnetworks, sa);
}

void smtpd_session_accept(struct smtpd *d, uv_stream_t *server, int submission)
{
    struct session *s = calloc(1, sizeof(*s));

    if (!s) {
        log_error("out of memory accepting a connection");
        return;
    }
    s->d = d;
    s->id = ++d->next_session_id;
    s->submission = submission;
    uv_tcp_init(d->loop, &s->tcp);
    uv_timer_init(d->loop, &s->timer);
    s->tcp.data = s->timer.data = s;
    s->handles_open = 2;
    d->nsessions++;
    if (uv_accept(server, (uv_stream_t *)&s->tcp) < 0) {
        smtpd_session_close(s, NULL);
        return;
    }
    /* Replies are written whole; Nagle would only hold them back for the client's delayed ACK. */
    uv_tcp_nodelay(&s->tcp, 1);
    session_peer_name(s);
    log_debug("session %llu: connect from [%s]%s", (unsigned long long)s->id, s->peer_ip,
              submission ? " (submission)" : "");
    session_greet(s);
}
