/* gateway_in.c - mail into the postoffice: a bounded number of deliveries at once, each reads its message from the store, writes one transfer file into P1/ (on a worker) and reports per recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway.h"
#include "log.h"

/* A body bigger than the store's limit is not reserved up front (it cannot be one the store holds). */
static long long g_max_body(const struct gateway *g)
{
    return g->cfg->store.max_message_size > 0 ? g->cfg->store.max_message_size + 65536 : 64LL << 20;
}

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
    char key[IPC_QID_MAX + IPC_MATCH_MAX + 2]; /* "<qid>/<indexes>": the journal's key */
    struct po_buf head;                         /* the control lines; the body follows from j->body */
    struct gw_p1_result res;
    int ok;
    char why[GW_WHY_MAX];
};

/* A delivery waiting for its turn. */
struct in_wait {
    struct gw_conn *c;
    uint32_t request_id;
    struct ipc_gw_deliver q;
    struct in_wait *next;
};

static void in_start(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_gw_deliver *q);

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

/* The next waiting delivery whose router is still there gets the freed place. */
static void in_next(struct gateway *g)
{
    while (g->in_wait_head && g->in_running < (unsigned)g->cfg->gateway.max_deliveries && !g->stopping) {
        struct in_wait *w = g->in_wait_head;

        if (!(g->in_wait_head = w->next))
            g->in_wait_tail = NULL;
        g->in_waiting--;
        if (conn_alive(w->c))
            in_start(g, w->c, w->request_id, &w->q);
        conn_unref(w->c);
        free(w);
    }
}

/* Answer the router and forget the job. */
static void job_finish(struct in_job *j)
{
    struct gateway *g = j->g;

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
        if (j->ok)
            gw_journal_answered(g->journal, j->key); /* else a retry finds the entry and finishes it */
    }
    conn_unref(j->c);
    po_buf_free(&j->head);
    free(j->rc);
    free(j->body);
    free(j);
    g->in_running--;
    in_next(g);
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
    rc = po_p1_format_head(&p1, j->body_len, &j->head, err);
    free(p1.to);
    return rc;
}

static void write_run(uv_work_t *req)
{
    struct in_job *j = req->data;
    struct iovec iov[2] = {{j->head.data, j->head.len}, {j->body, j->body_len}};

    j->ok = gw_p1_write(j->g->p1, j->key, iov, 2, &j->res, j->why, sizeof(j->why)) == 0;
}

static void write_done(uv_work_t *req, int status)
{
    struct in_job *j = req->data;
    struct gateway *g = j->g;
    char where[64];

    (void)status;
    if (!j->ok) {
        gateway_share_state(g, j->why);
        job_fail_all(j, RCPT_DEFERRED, "4.4.1", j->why);
        return;
    }
    gateway_share_state(g, NULL);
    if (j->res.name[0])
        snprintf(where, sizeof(where), "P1/%s", j->res.name);
    else
        snprintf(where, sizeof(where), "P1/ (its name was lost in a crash)");
    if (j->res.recovered)
        log_notice("%s: already written to the postoffice as %s before a restart: not written again", j->q.qid,
                   where);
    else
        log_info("%s: written to the postoffice as %s (%zu octets%s)", j->q.qid, where,
                 j->head.len + j->body_len, j->res.skipped ? ", names taken by another writer skipped" : "");
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            rcpt_set(&j->rc[i], RCPT_DELIVERED, "2.0.0", "250 2.0.0 written to the postoffice share %s as %s",
                     share_name(g->share), where);
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
    snprintf(j->key, sizeof(j->key), "%s/%s", j->q.qid, j->q.indexes);
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
            /* The body is held once, at its size: the transfer file is written from it as it is. */
            if (j->env.size > 0 && j->env.size <= (uint64_t)g_max_body(j->g)) {
                if (!(j->body = malloc((size_t)j->env.size)))
                    goto bad;
                j->body_cap = (size_t)j->env.size;
            }
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

static void in_start(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_gw_deliver *q)
{
    struct in_job *j = calloc(1, sizeof(*j));

    if (!j)
        return; /* the router's request stays unanswered until its link resets */
    g->in_running++;
    j->g = g;
    j->c = c;
    j->request_id = request_id;
    j->q = *q;
    conn_ref(c);
    j->store = ipc_uv_connect(g->loop, g->store_socket, GATEWAY_PROGRAM, "gateway", "read", &store_ops, j);
    if (!j->store)
        job_fail_all(j, RCPT_DEFERRED, "4.3.0", "out of memory");
}

void in_deliver(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_gw_deliver *q)
{
    struct in_wait *w;

    if (g->in_running < (unsigned)g->cfg->gateway.max_deliveries && !g->in_wait_head) {
        in_start(g, c, request_id, q);
        return;
    }
    if (!(w = calloc(1, sizeof(*w))))
        return;
    w->c = c;
    w->request_id = request_id;
    w->q = *q;
    conn_ref(c);
    if (g->in_wait_tail)
        g->in_wait_tail->next = w;
    else
        g->in_wait_head = w;
    g->in_wait_tail = w;
    g->in_waiting++;
}

void in_stop(struct gateway *g)
{
    while (g->in_wait_head) {
        struct in_wait *w = g->in_wait_head;

        g->in_wait_head = w->next;
        conn_unref(w->c);
        free(w);
    }
    g->in_wait_tail = NULL;
    g->in_waiting = 0;
}
