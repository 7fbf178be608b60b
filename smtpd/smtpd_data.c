/* smtpd_data.c - message content: DATA and BDAT through the body filter into a store submission, Received header, commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "smtpd.h"

/* Room kept in the chunk for header fields we add. */
#define ADDED_HEADER_ROOM 600
/* Room kept at the front of the chunk while DATA waits to open its submission: the Received
 * field, which names the queue id, goes in front of the body read so far. */
#define RECEIVED_ROOM 1200

/* Octets of the chunk the body may fill. */
static size_t data_chunk_cap(const struct transaction *tx)
{
    return tx->deferred ? SMTPD_CHUNK - RECEIVED_ROOM : SMTPD_CHUNK;
}

static void rfc5322_date(char *buf, size_t bufsz)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(buf, bufsz, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* ---- sending to the store --------------------------------------------------------- */

static void data_send_chunk(struct session *s)
{
    struct transaction *tx = s->tx;

    if (tx->chunk_len == 0)
        return;
    if (tx->store && !tx->store_failed && !tx->too_big)
        sc_submit_chunk(tx->store, tx->chunk,
                        tx->chunk_len); /* a loss ends the submission: data_submit_done */
    tx->size += tx->chunk_len;
    tx->chunk_len = 0;
}

static void data_append(struct session *s, const char *text, size_t len)
{
    struct transaction *tx = s->tx;

    if (tx->chunk_len + len > SMTPD_CHUNK)
        data_send_chunk(s);
    memcpy(tx->chunk + tx->chunk_len, text, len);
    tx->chunk_len += len;
}

/* The client's EHLO name as it may stand in a header comment's neighbour: printable
 * ASCII without the comment's own (, ) and \; anything else (controls, 8-bit, spaces
 * cannot occur) becomes '?'.  The name is logged as sent. */
static void helo_for_header(const char *helo, char *out, size_t outsz)
{
    size_t i;

    for (i = 0; helo[i] && i + 1 < outsz; i++) {
        unsigned char c = (unsigned char)helo[i];

        out[i] = c < 0x21 || c > 0x7e || c == '(' || c == ')' || c == '\\' ? '?' : (char)c;
    }
    out[i] = '\0';
}

/* The Received field into hdr (RECEIVED_ROOM octets); its length. */
static size_t data_received_text(struct session *s, char *hdr)
{
    const size_t hdrsz = RECEIVED_ROOM;
    struct transaction *tx = s->tx;
    char date[64], helo[sizeof(s->helo)];
    const char *proto = !s->esmtp ? "SMTP"
                        : s->tls  ? (s->auth_user[0] ? "ESMTPSA" : "ESMTPS")
                                  : (s->auth_user[0] ? "ESMTPA" : "ESMTP");
    int n;

    rfc5322_date(date, sizeof(date));
    helo_for_header(s->helo[0] ? s->helo : "unknown", helo, sizeof(helo));
    n = snprintf(hdr, hdrsz, "Received: from %s ([%s])\r\n\tby %s (spoolgate) with %s id %s", helo,
                 s->peer_ip, s->d->hostname, proto, tx->qid);
    if (s->tls)
        n += snprintf(hdr + n, hdrsz - (size_t)n, "\r\n\t(using %s)", s->tls_info);
    if (s->auth_user[0])
        n += snprintf(hdr + n, hdrsz - (size_t)n, "\r\n\t(authenticated as %s)", s->auth_user);
    if (tx->nrcpt == 1)
        n += snprintf(hdr + n, hdrsz - (size_t)n, "\r\n\tfor <%s>", tx->rcpts[0].addr);
    n += snprintf(hdr + n, hdrsz - (size_t)n, ";\r\n\t%s\r\n", date);
    return (size_t)n < hdrsz ? (size_t)n : hdrsz - 1;
}

static void data_add_received(struct session *s)
{
    struct transaction *tx = s->tx;
    char hdr[RECEIVED_ROOM];
    size_t n = data_received_text(s, hdr);

    if (!tx->deferred) {
        data_append(s, hdr, n);
        return;
    }
    /* The body read so far moves up behind it (once per message). */
    memmove(tx->chunk + n, tx->chunk, tx->chunk_len);
    memcpy(tx->chunk, hdr, n);
    tx->chunk_len += n;
    tx->deferred = 0;
}

/* Submission port: Date and Message-ID where the client left them out. */
static void data_add_submission_headers(struct session *s)
{
    struct transaction *tx = s->tx;
    char hdr[400], date[64];
    int n = 0;

    if (!s->submission)
        return;
    if (!tx->filter.saw_date) {
        rfc5322_date(date, sizeof(date));
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Date: %s\r\n", date);
    }
    if (!tx->filter.saw_message_id)
        n += snprintf(hdr + n, sizeof(hdr) - (size_t)n, "Message-ID: <%s@%s>\r\n", tx->qid,
                      s->d->hostname);
    if (n > 0)
        data_append(s, hdr, (size_t)n < sizeof(hdr) ? (size_t)n : sizeof(hdr) - 1);
}

/* ---- opening the submission -------------------------------------------------------- */

/* DATA on a relay/MX listener takes its store connection only once the body fills a chunk
 * or ends, so that sessions parked in DATA hold none.  BDAT and the submission listener
 * (whose Message-ID names the queue id at the header end) take it before the body. */
void smtpd_data_begin(struct session *s, int bdat)
{
    struct transaction *tx = s->tx;

    tx->chunk = malloc(SMTPD_CHUNK);
    if (!tx->chunk) {
        smtpd_session_reply(s, 451, "4.3.0 Out of memory, try again later");
        return;
    }
    tx->chunk_len = 0;
    if (!bdat && !s->submission) {
        tx->deferred = 1;
        smtp_body_filter_init(&tx->filter, BODY_MODE_DATA, SMTPD_TEXT_LINE_MAX);
        smtpd_session_reply(s, 354, "End data with <CR><LF>.<CR><LF>");
        smtpd_session_enter(s, SS_DATA);
        return;
    }
    smtpd_session_enter(s, SS_DATA_OPEN);
    smtpd_store_acquire(s);
}

/* A deferred DATA needs its submission now: input waits until it is open. */
static void data_open_deferred(struct session *s)
{
    smtpd_session_enter(s, SS_DATA_OPEN);
    smtpd_store_acquire(s);
}

static void data_submit_started(void *arg, const char *qid);
static void data_end(struct session *s);
static void data_submit_done(void *arg, const struct sc_status *st, const struct ipc_submitted *m);

static const struct sc_submit_ops data_submit_ops = {.started = data_submit_started,
                                                     .done = data_submit_done};

void smtpd_data_store_ready(struct session *s, struct sc_conn *c)
{
    struct transaction *tx = s->tx;
    struct ipc_submit_begin b = {.ret = tx->mail.ret == SMTP_RET_FULL   ? IPC_RET_FULL
                                        : tx->mail.ret == SMTP_RET_HDRS ? IPC_RET_HDRS
                                                                        : IPC_RET_NONE};

    tx->store = c;
    snprintf(b.sender, sizeof(b.sender), "%s", tx->mail.sender);
    snprintf(b.envid, sizeof(b.envid), "%s", tx->mail.envid);
    b.flags = (tx->mail.body == SMTP_BODY_8BITMIME ? IPC_FLAG_8BITMIME : 0) |
              (tx->mail.smtputf8 ? IPC_FLAG_SMTPUTF8 : 0);
    if (sc_submit_begin(c, &b, &data_submit_ops, s) < 0) {
        smtpd_store_release(s->d, c, 0);
        smtpd_data_store_failed(s, IPC_ERR_TEMP, "cannot begin the submission");
        return;
    }
    for (unsigned i = 0; i < tx->nrcpt && s->tx == tx && tx->store == c; i++) {
        struct ipc_submit_rcpt r = {.notify = tx->rcpts[i].notify};

        snprintf(r.addr, sizeof(r.addr), "%s", tx->rcpts[i].addr);
        snprintf(r.orcpt, sizeof(r.orcpt), "%s", tx->rcpts[i].orcpt);
        sc_submit_rcpt(c, &r);
    }
}

static void data_submit_started(void *arg, const char *qid)
{
    struct session *s = arg;
    struct transaction *tx = s->tx;

    if (s->state != SS_DATA_OPEN)
        return;
    snprintf(tx->qid, sizeof(tx->qid), "%s", qid);
    if (tx->deferred) {
        data_add_received(s);
        smtpd_session_enter(s, SS_DATA);
        if (tx->end_pending)
            data_end(s);
        smtpd_session_resume(s);
        return;
    }
    smtp_body_filter_init(&tx->filter, tx->used_bdat ? BODY_MODE_BDAT : BODY_MODE_DATA,
                          SMTPD_TEXT_LINE_MAX);
    data_add_received(s);
    if (tx->used_bdat) {
        smtpd_session_enter(s, SS_BDAT);
    } else {
        smtpd_session_reply(s, 354, "End data with <CR><LF>.<CR><LF>");
        smtpd_session_enter(s, SS_DATA);
    }
    smtpd_session_resume(s);
}

/* The reply to a message the store failed (store_code): 452 4.3.1 when it is out of space
 * (store.max_staging, store.min_free_space, a full disk), 451 4.3.2 when no connection came
 * free in time, else 451 4.3.0. */
static int data_store_reply(uint32_t code, const char **text)
{
    if (code == IPC_ERR_NOSPACE)
        return *text = "4.3.1 Mail store out of space, try again later", 452;
    if (code == SMTPD_STORE_BUSY)
        return *text = "4.3.2 Mail store busy, try again later", 451;
    return *text = "4.3.0 Mail store failed, try again later", 451;
}

/* The store could not be reached or failed: the message is refused with 4xx. */
void smtpd_data_store_failed(struct session *s, uint32_t code, const char *why)
{
    struct transaction *tx = s->tx;
    const char *text;
    int reply;

    if (!tx)
        return;
    tx->store = NULL;
    if (!tx->store_failed) {
        tx->store_failed = 1;
        tx->store_code = code;
        snprintf(tx->store_error, sizeof(tx->store_error), "%s", why);
        log_warn("session %llu: %s%smail store failed: %s", (unsigned long long)s->id, tx->qid,
                 tx->qid[0] ? ": " : "", why);
    }
    switch (s->state) {
    case SS_DATA_OPEN:
        if (tx->deferred) {
            /* 354 was sent: the body is read to its end and refused there. */
            smtpd_session_enter(s, SS_DATA);
            if (tx->end_pending)
                data_end(s);
        } else if (tx->used_bdat) {
            /* The chunk's octets still have to be read before the reply. */
            tx->bdat_discard = 1;
            smtpd_session_enter(s, SS_BDAT);
        } else {
            reply = data_store_reply(tx->store_code, &text);
            smtpd_session_reply(s, reply, "%s", text);
            smtpd_transaction_free(s);
            smtpd_session_enter(s, SS_READY);
        }
        smtpd_session_resume(s);
        break;
    case SS_COMMIT:
        reply = data_store_reply(tx->store_code, &text);
        smtpd_session_reply(s, reply, "%s", text);
        smtpd_transaction_free(s);
        smtpd_session_enter(s, SS_READY);
        smtpd_session_resume(s);
        break;
    default:
        /* DATA/BDAT goes on to the end and is refused there. */
        break;
    }
}

void smtpd_data_store_drained(struct session *s)
{
    if (s->state == SS_DATA || s->state == SS_BDAT)
        smtpd_session_resume(s);
}

/* ---- the end of the message --------------------------------------------------------- */

/* Why the message is refused, or 0. */
static int data_refusal(struct session *s, const char **text)
{
    struct transaction *tx = s->tx;

    if (tx->filter.errors & (BODY_ERR_BARE_LF | BODY_ERR_BARE_CR))
        return *text = "5.6.11 Bare CR or LF in message; use CRLF line endings", 550;
    if (tx->filter.errors & BODY_ERR_LONG_LINE)
        return *text = "5.3.4 Message line too long", 552;
    if (tx->too_big)
        return *text = "5.3.4 Message size exceeds fixed limit", 552;
    if (tx->filter.received > (unsigned)s->d->cfg->smtpd.max_received)
        return *text = "5.4.6 Too many Received headers: mail loop", 554;
    if (tx->store_failed)
        return data_store_reply(tx->store_code, text);
    return 0;
}

static void data_end(struct session *s)
{
    struct transaction *tx = s->tx;
    const char *text;
    int code;

    if (tx->filter.in_headers && !tx->too_big)
        data_add_submission_headers(s);
    code = data_refusal(s, &text);
    if (!code && tx->deferred) {
        tx->end_pending = 1;
        data_open_deferred(s);
        return;
    }
    data_send_chunk(s);
    if (code) {
        log_info("session %llu: %s: message from <%s> refused: %d %s", (unsigned long long)s->id,
                 tx->qid[0] ? tx->qid : "-", tx->mail.sender, code, text);
        smtpd_transaction_free(s);
        smtpd_session_enter(s, SS_READY);
        if (code >= 500)
            smtpd_session_error(s, code, "%s", text);
        else
            smtpd_session_reply(s, code, "%s", text);
        return;
    }
    smtpd_session_enter(s, SS_COMMIT);
    if (sc_submit_commit(tx->store) < 0)
        return; /* the loss comes back through data_submit_done() */
    smtpd_session_set_timer(s, s->d->cfg->smtpd.dot_timeout / 2);
}

static void data_submit_done(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    struct session *s = arg;
    struct transaction *tx = s->tx;
    char mid[sizeof(tx->filter.message_id) + 300] = "";

    if (!m) {
        /* Refused or lost: the connection is not used again. */
        if (tx && tx->store)
            smtpd_store_release(s->d, tx->store, 0);
        smtpd_data_store_failed(s, st->code, st->text);
        return;
    }
    if (s->state != SS_COMMIT)
        return;
    if (tx->filter.saw_message_id)
        snprintf(mid, sizeof(mid), "%s", tx->filter.message_id);
    else if (s->submission) /* the one data_add_submission_headers() added */
        snprintf(mid, sizeof(mid), "<%s@%s>", tx->qid, s->d->hostname);
    smtpd_log_accepted(s, m->qid, mid);
    smtpd_store_release(s->d, tx->store, 1);
    tx->store = NULL;
    smtpd_session_reply(s, 250, "2.0.0 Ok: queued as %s", m->qid);
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_READY);
    smtpd_session_resume(s);
}

/* Session or transaction ends before the commit: the store forgets it. */
void smtpd_data_abandon(struct session *s)
{
    struct transaction *tx = s->tx;

    smtpd_store_cancel(s);
    if (tx && tx->store) {
        smtpd_store_release(s->d, tx->store, 0);
        tx->store = NULL;
    }
}

/* ---- the octets ------------------------------------------------------------------------ */

/* Run input through the filter into the chunk; handles the header end. */
static size_t data_filter(struct session *s, const uint8_t *in, size_t len, enum body_event *ev)
{
    struct transaction *tx = s->tx;
    size_t used = 0;

    *ev = BODY_EV_NONE;
    while (used < len || tx->chunk_len >= data_chunk_cap(tx)) {
        size_t outlen = 0;
        size_t room = data_chunk_cap(tx) - tx->chunk_len;

        if (room < ADDED_HEADER_ROOM) {
            if (tx->deferred && !tx->store_failed) {
                data_open_deferred(s);
                break;
            }
            data_send_chunk(s);
            continue;
        }
        used += smtp_body_filter_feed(&tx->filter, in + used, len - used, tx->chunk + tx->chunk_len,
                                      room, &outlen, ev);
        if (!tx->too_big && tx->size + tx->chunk_len + outlen >
                                (uint64_t)s->d->cfg->smtpd.max_message_size + ADDED_HEADER_ROOM)
            tx->too_big = 1;
        tx->chunk_len = tx->too_big ? 0 : tx->chunk_len + outlen;
        if (*ev == BODY_EV_HEADERS_END) {
            data_add_submission_headers(s);
            *ev = BODY_EV_NONE;
            continue;
        }
        if (*ev == BODY_EV_END)
            break;
        if (outlen == 0 && used < len && room >= ADDED_HEADER_ROOM)
            break; /* cannot happen with room left; guard against a stall */
    }
    return used;
}

static size_t data_feed_bdat(struct session *s, const uint8_t *in, size_t len)
{
    struct transaction *tx = s->tx;
    size_t take = len < tx->bdat_left ? len : (size_t)tx->bdat_left;
    enum body_event ev;

    if (!tx->bdat_discard)
        take = data_filter(s, in, take, &ev);
    tx->bdat_left -= take;
    if (tx->bdat_left > 0)
        return take;
    if (tx->bdat_discard) {
        /* The state first: the error reply may close the session (max_errors, the client's
         * error rate), and that frees the transaction. */
        int failed = tx->store_failed, no_mail = tx->bdat_discard == 2;
        const char *text = "";
        int reply = failed ? data_store_reply(tx->store_code, &text) : 0;

        if (tx->bdat_last || tx->store_failed || tx->nrcpt == 0) {
            smtpd_transaction_free(s);
            smtpd_session_enter(s, s->helo[0] ? SS_READY : SS_INIT);
        } else {
            smtpd_session_enter(s, SS_RCPT);
        }
        if (failed)
            smtpd_session_reply(s, reply, "%s", text);
        else
            smtpd_session_error(s, 503, "5.5.1 %s",
                                no_mail ? "Need MAIL command" : "No valid recipients");
        return take;
    }
    if (tx->bdat_last) {
        smtp_body_filter_finish(&tx->filter);
        data_end(s);
        return take;
    }
    smtpd_session_enter(s, SS_RCPT);
    smtpd_session_reply(s, 250, "2.0.0 %llu octets received", (unsigned long long)tx->bdat_size);
    return take;
}

size_t smtpd_data_feed(struct session *s, const uint8_t *in, size_t len)
{
    enum body_event ev;
    size_t used;

    if (s->state == SS_BDAT)
        return data_feed_bdat(s, in, len);
    used = data_filter(s, in, len, &ev);
    if (ev == BODY_EV_END)
        data_end(s);
    return used;
}
