/* gateway_in.c - mail into the postoffice: read the message from the store, write one transfer file into P1/ (on a worker), report per recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway.h"
#include "log.h"

struct in_rcpt {
    uint32_t index;
    char addr[IPC_ADDR_MAX + 1];
    uint32_t state;
    char status[16];
    char reply[IPC_REPLY_MAX + 1];
};

struct in_job {
    uv_work_t req;
    struct gateway *g;
    struct gw_conn *c;
    uint32_t request_id;
    struct ipc_gw_deliver q;
    struct ipc_uv *store;
    int reading_body;
    struct ipc_envelope env;
    struct in_rcpt *rc;
    size_t nrc;
    uint8_t *body;
    size_t body_len, body_cap;
    /* worker input/output */
    struct share *sh;
    struct po_buf p1;
    char name[16];
    uint32_t seq;
    int ok;
    char why[GW_WHY_MAX];
};

static int index_wanted(const char *list, uint32_t index)
{
    char buf[IPC_MATCH_MAX + 1], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if ((uint32_t)strtoul(t, NULL, 10) == index)
            return 1;
    return 0;
}

static void rcpt_set(struct in_rcpt *r, uint32_t state, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void rcpt_set(struct in_rcpt *r, uint32_t state, const char *status, const char *fmt, ...)
{
    va_list ap;

    r->state = state;
    snprintf(r->status, sizeof(r->status), "%s", status);
    va_start(ap, fmt);
    vsnprintf(r->reply, sizeof(r->reply), fmt, ap);
    va_end(ap);
}

/* Answer the router and forget the job. */
static void job_finish(struct in_job *j)
{
    if (j->store)
        ipc_uv_close(j->store);
    if (conn_alive(j->c)) {
        struct ipc_end end = {.count = j->nrc};

        for (size_t i = 0; i < j->nrc; i++) {
            struct ipc_gw_result res = {.index = j->rc[i].index, .state = j->rc[i].state};

            snprintf(res.qid, sizeof(res.qid), "%s", j->q.qid);
            snprintf(res.status, sizeof(res.status), "%s", j->rc[i].status);
            snprintf(res.reply, sizeof(res.reply), "%s", j->rc[i].reply);
            ipc_encode_gw_result(conn_out(j->c), j->request_id, &res);
        }
        ipc_encode_end(conn_out(j->c), j->request_id, &end);
        conn_flush(j->c);
    }
    conn_unref(j->c);
    po_buf_free(&j->p1);
    free(j->rc);
    free(j->body);
    free(j);
}

static void job_fail_all(struct in_job *j, uint32_t state, const char *status, const char *why)
{
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            rcpt_set(&j->rc[i], state, status, "%s %s", status, why);
    job_finish(j);
}

/* ---- the transfer file ------------------------------------------------------------- */

/* The first line of a header field of the message, unfolded no further. */
static void header_value(const uint8_t *msg, size_t len, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name), pos = 0;

    out[0] = '\0';
    while (pos < len) {
        const uint8_t *eol = memchr(msg + pos, '\n', len - pos);
        size_t llen = eol ? (size_t)(eol - (msg + pos)) : len - pos;

        if (llen == 0 || (llen == 1 && msg[pos] == '\r'))
            return; /* end of the header section */
        if (llen > nlen && msg[pos + nlen] == ':' && strncasecmp((const char *)msg + pos, name, nlen) == 0) {
            size_t v = pos + nlen + 1, end = pos + llen, k = 0;

            while (v < end && (msg[v] == ' ' || msg[v] == '\t'))
                v++;
            while (end > v && (msg[end - 1] == '\r' || msg[end - 1] == ' '))
                end--;
            /* Control lines are US-ASCII: anything else becomes '?'. */
            for (; v < end && k + 1 < outsz; v++)
                out[k++] = msg[v] >= 128 ? '?' : (msg[v] < 32 || msg[v] == 127) ? ' ' : (char)msg[v];
            out[k] = '\0';
            return;
        }
        pos += llen + 1;
    }
}

static int job_make_p1(struct in_job *j, struct po_err *err)
{
    struct gateway *g = j->g;
    struct po_p1 p1 = {0};
    size_t n = 0;
    int rc;

    p1.to = calloc(j->nrc, sizeof(*p1.to));
    if (!p1.to)
        return -1;
    for (size_t i = 0; i < j->nrc; i++) {
        struct po_addr a;

        if (j->rc[i].state)
            continue;
        if (po_smtp_to_legacy(j->rc[i].addr, g->cfg->gateway.domain, &g->net, &a, NULL) < 0)
            continue;
        p1.to[n].kind = PO_P1_MS;
        po_legacy_format(&a, p1.to[n].text, sizeof(p1.to[n].text));
        n++;
    }
    p1.nto = n;
    p1.from.kind = PO_P1_SMTP;
    snprintf(p1.from.text, sizeof(p1.from.text), "%s",
             j->env.sender[0] ? j->env.sender : "MAILER-DAEMON");
    if (!j->env.sender[0])
        snprintf(p1.from.text, sizeof(p1.from.text), "MAILER-DAEMON@%s", g->hostname);
    header_value(j->body, j->body_len, "Message-ID", p1.message_id, sizeof(p1.message_id));
    if (p1.message_id[0] != '<' || !strchr(p1.message_id, '@') ||
        p1.message_id[strlen(p1.message_id) - 1] != '>' || strpbrk(p1.message_id + 1, " <\t") ||
        strchr(p1.message_id, '>') != p1.message_id + strlen(p1.message_id) - 1)
        snprintf(p1.message_id, sizeof(p1.message_id), "<%.15s@%.200s>", j->env.qid, g->hostname);
    header_value(j->body, j->body_len, "Date", p1.date, sizeof(p1.date));
    if (!strpbrk(p1.date, "0123456789")) {
        time_t now = time(NULL);
        struct tm tm;

        gmtime_r(&now, &tm);
        strftime(p1.date, sizeof(p1.date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    }
    header_value(j->body, j->body_len, "Subject", p1.subject, sizeof(p1.subject));
    rc = po_p1_format(&p1, j->body, j->body_len, &j->p1, err);
    free(p1.to);
    return rc;
}

static void write_run(uv_work_t *req)
{
    struct in_job *j = req->data;

    /* A name no file on the share has yet. */
    for (int tries = 0; tries < 1000; tries++, j->seq++) {
        char rel[32];

        po_p1_name_make(j->seq, j->name);
        snprintf(rel, sizeof(rel), "P1/%.8s.TMP", j->name);
        if (!share_exists(j->sh, rel) && (snprintf(rel, sizeof(rel), "P1/%s", j->name), !share_exists(j->sh, rel)))
            break;
    }
    {
        char rel[32];

        snprintf(rel, sizeof(rel), "P1/%s", j->name);
        j->ok = share_write_atomic(j->sh, rel, j->p1.data, j->p1.len, j->why, sizeof(j->why)) == 0;
    }
}

static void write_done(uv_work_t *req, int status)
{
    struct in_job *j = req->data;
    struct gateway *g = j->g;

    g->name_seq = j->seq + 1;
    if (!j->ok) {
        gateway_share_state(g, j->why);
        job_fail_all(j, RCPT_DEFERRED, "4.4.1", j->why);
        return;
    }
    gateway_share_state(g, NULL);
    log_info("%s: written to the postoffice as P1/%s (%zu octets)", j->q.qid, j->name, j->p1.len);
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            rcpt_set(&j->rc[i], RCPT_DELIVERED, "2.0.0", "250 2.0.0 written to the postoffice share %s as P1/%s",
                     share_name(g->share), j->name);
    job_finish(j);
}

static void job_write(struct in_job *j)
{
    struct gateway *g = j->g;
    struct po_err err = {""};
    size_t pending = 0;

    for (size_t i = 0; i < j->nrc; i++) {
        struct po_addr a;

        if (!g->dir_loaded) {
            rcpt_set(&j->rc[i], RCPT_DEFERRED, "4.4.1", "4.4.1 postoffice directory unavailable: %s",
                     g->dir_why[0] ? g->dir_why : "not read yet");
        } else if (po_smtp_to_legacy(j->rc[i].addr, g->cfg->gateway.domain, &g->net, &a, &err) < 0) {
            rcpt_set(&j->rc[i], RCPT_FAILED, "5.1.3", "5.1.3 %s", err.text);
        } else if (!po_dir_find(&g->dir, a.mailbox)) {
            rcpt_set(&j->rc[i], RCPT_FAILED, "5.1.1", "5.1.1 mailbox %s is not in the postoffice directory",
                     a.mailbox);
        } else {
            pending++;
        }
    }
    if (pending == 0) {
        job_finish(j);
        return;
    }
    if (job_make_p1(j, &err) < 0) {
        job_fail_all(j, RCPT_FAILED, "5.6.0", err.text[0] ? err.text : "cannot write a transfer file");
        return;
    }
    j->req.data = j;
    j->seq = g->name_seq;
    j->sh = g->share;
    if (uv_queue_work(g->loop, &j->req, write_run, write_done) < 0)
        job_fail_all(j, RCPT_DEFERRED, "4.3.0", "cannot queue the share write");
}

/* ---- reading the message from the store ------------------------------------------------ */

static void store_frame(struct ipc_uv *u, struct ipc_reader *rd, void *arg)
{
    struct in_job *j = arg;
    struct ipc_rcpt r;
    struct ipc_chunk ch;

    if (!j->reading_body) {
        if (rd->type == IPC_ENVELOPE && ipc_decode_envelope(rd, &j->env) == 0) {
            j->rc = calloc(j->env.nrcpt ? j->env.nrcpt : 1, sizeof(*j->rc));
            if (!j->rc)
                goto bad;
            return;
        }
        if (rd->type == IPC_RCPT && ipc_decode_rcpt(rd, &r) == 0 && j->rc && j->nrc < j->env.nrcpt) {
            if (index_wanted(j->q.indexes, r.index)) {
                j->rc[j->nrc].index = r.index;
                snprintf(j->rc[j->nrc].addr, sizeof(j->rc[0].addr), "%s", r.addr);
                j->nrc++;
            }
            return;
        }
        if (rd->type == IPC_END && j->rc) {
            struct ipc_qid_msg q;

            snprintf(q.qid, sizeof(q.qid), "%s", j->q.qid);
            j->reading_body = 1;
            ipc_encode_qid_msg(ipc_uv_out(u), IPC_READ_BODY, ipc_uv_request_id(u), &q);
            ipc_uv_flush(u);
            return;
        }
        goto bad;
    }
    if (rd->type == IPC_CHUNK && ipc_decode_chunk(rd, &ch) == 0) {
        if (j->body_len + ch.len > j->body_cap) {
            size_t cap = j->body_cap ? j->body_cap : 65536;
            uint8_t *p;

            while (cap < j->body_len + ch.len)
                cap *= 2;
            if (!(p = realloc(j->body, cap)))
                goto bad;
            j->body = p;
            j->body_cap = cap;
        }
        memcpy(j->body + j->body_len, ch.data, ch.len);
        j->body_len += ch.len;
        return;
    }
    if (rd->type == IPC_END) {
        ipc_uv_close(u);
        j->store = NULL;
        job_write(j);
        return;
    }
bad:
    ipc_uv_close(u);
    j->store = NULL;
    job_fail_all(j, RCPT_DEFERRED, "4.3.0", "cannot read the message from the store");
}

static void store_ready(struct ipc_uv *u, void *arg)
{
    struct in_job *j = arg;
    struct ipc_qid_msg q;

    snprintf(q.qid, sizeof(q.qid), "%s", j->q.qid);
    ipc_encode_qid_msg(ipc_uv_out(u), IPC_READ_ENVELOPE, ipc_uv_request_id(u), &q);
    ipc_uv_flush(u);
}

static void store_closed(struct ipc_uv *u, const char *why, void *arg)
{
    struct in_job *j = arg;
    char text[IPC_REPLY_MAX + 1];

    j->store = NULL;
    snprintf(text, sizeof(text), "mail store unavailable: %s", why);
    job_fail_all(j, RCPT_DEFERRED, "4.3.0", text);
}

static const struct ipc_uv_ops store_ops = {.ready = store_ready, .frame = store_frame, .closed = store_closed};

void in_deliver(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_gw_deliver *q)
{
    struct in_job *j = calloc(1, sizeof(*j));

    if (!j)
        return;
    j->g = g;
    j->c = c;
    j->request_id = request_id;
    j->q = *q;
    conn_ref(c);
    j->store = ipc_uv_connect(g->loop, g->store_socket, GATEWAY_PROGRAM, "gateway", "read", &store_ops, j);
    if (!j->store)
        job_fail_all(j, RCPT_DEFERRED, "4.3.0", "out of memory");
}
