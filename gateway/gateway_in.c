/* gateway_in.c - mail into the postoffice: a bounded number of deliveries at once, each streams its message from the store into one transfer file in P1/ (share steps on workers) and reports per recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "log.h"
#include "reason.h"
#include "smtp_char.h"

#define IN_HEADERS_MAX (64 * 1024) /* header section looked at for Date, Subject, Message-ID */
#define IN_FIELD_MAX 1024          /* octets of one of those fields looked at */
#define IN_WRITE_MIN (64 * 1024)  /* body octets gathered before a write step (unless at the end) */
#define IN_PEND_MAX (1024 * 1024) /* reading from the store pauses above this */

struct in_rcpt {
    uint32_t index;
    char addr[IPC_ADDR_MAX + 1];
    uint32_t state;
    char status[16];
    char reply[IPC_REPLY_MAX + 1];
};

/* A delivery, from the store to P1/.  The message streams: what the store sends waits in pend
 * until the worker writing the transfer file is free, and reading from the store pauses while
 * pend is full.  At most one share step (a worker) runs for a job at a time. */
enum job_state {
    J_ENVELOPE, /* reading envelope and recipients */
    J_HEADERS,  /* reading the body until its header section is complete (Date, Subject...) */
    J_STREAM,   /* the temporary file is written as the body comes */
    J_RESUME,   /* the journal knows this delivery from before a restart: finishing it */
};

enum job_step { STEP_OPEN, STEP_APPEND, STEP_COMMIT, STEP_RESUME, STEP_ABORT };

struct in_job {
    uv_work_t req;
    struct gateway *g;
    struct gw_conn *c;
    uint32_t request_id;
    struct ipc_gw_deliver q;
    struct sc_conn *store;
    enum job_state state;
    struct ipc_envelope env;
    struct in_rcpt *rc;
    size_t nrc;
    char key[IPC_QID_MAX + IPC_MATCH_MAX + 2]; /* "<qid>/<indexes>": the journal's key */
    struct sg_buf head;                        /* the control lines, written first */
    struct sg_buf pend;                        /* body octets not yet handed to the worker */
    struct sg_buf inflight;                    /* the octets the running worker writes */
    uint64_t body_seen;
    int body_end; /* the store sent the whole body */
    int paused;   /* reading from the store is paused */
    /* the share steps */
    enum job_step step;
    int busy; /* a step runs on a worker */
    struct gw_p1_file pf;
    struct gw_journal_entry earlier; /* J_RESUME: what the journal knows */
    struct gw_p1_result res;
    int ok;      /* the last step worked / the delivery is done */
    int refused; /* the last step failed with SHARE_PATH_REFUSED (P1/ a link): not an outage */
    char why[GW_WHY_MAX];
    /* a failure waiting for the running step to end */
    int failing;
    uint32_t fail_state;
    char fail_status[16];
    char fail_why[GW_WHY_MAX];
};

/* A delivery waiting for its turn. */
struct in_wait {
    struct gw_conn *c;
    uint32_t request_id;
    struct ipc_gw_deliver q;
    struct in_wait *next;
};

static void in_start(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                     const struct ipc_gw_deliver *q);

static int index_wanted(const char *list, uint32_t index)
{
    char buf[IPC_MATCH_MAX + 1], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if ((uint32_t)strtoul(t, NULL, 10) == index)
            return 1;
    return 0;
}

#define IN_RCPT_SET(rcpt, state_, status_, ...) \
    ((rcpt)->state = (state_), SG_REASON_SET((rcpt)->status, (rcpt)->reply, (status_), __VA_ARGS__))

/* The next waiting delivery whose router is still there gets the freed place. */
static void in_next(struct gateway *g)
{
    while (g->in_wait_head && g->in_running < (unsigned)g->cfg->gateway.max_deliveries &&
           !g->stopping) {
        struct in_wait *w = g->in_wait_head;

        if (!(g->in_wait_head = w->next))
            g->in_wait_tail = NULL;
        if (gw_conn_alive(w->c))
            in_start(g, w->c, w->request_id, &w->q);
        gw_conn_unref(w->c);
        free(w);
    }
}

/* Answer the router and forget the job. */
static void job_finish(struct in_job *j)
{
    struct gateway *g = j->g;

    sc_close(j->store);
    j->store = NULL;
    if (gw_conn_alive(j->c)) {
        struct ipc_end end = {.count = j->nrc};

        for (size_t i = 0; i < j->nrc; i++) {
            struct ipc_gw_result res = {.index = j->rc[i].index, .state = j->rc[i].state};

            snprintf(res.qid, sizeof(res.qid), "%s", j->q.qid);
            snprintf(res.status, sizeof(res.status), "%s", j->rc[i].status);
            snprintf(res.reply, sizeof(res.reply), "%s", j->rc[i].reply);
            ipc_encode_gw_result(gw_conn_out(j->c), j->request_id, &res);
        }
        ipc_encode_end(gw_conn_out(j->c), j->request_id, &end);
        gw_conn_flush(j->c);
        if (j->ok)
            gw_journal_answered(g->journal,
                                j->key); /* else a retry finds the entry and finishes it */
    }
    gw_conn_unref(j->c);
    sg_buf_free(&j->head);
    sg_buf_free(&j->pend);
    sg_buf_free(&j->inflight);
    free(j->rc);
    free(j);
    g->in_running--;
    in_next(g);
}

static void job_fail_all(struct in_job *j, uint32_t state, const char *status, const char *why)
{
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            IN_RCPT_SET(&j->rc[i], state, status, "%s %s", status, why);
    job_finish(j);
}

/* ---- the transfer file ------------------------------------------------------------- */

/* Why a transfer file cannot be written: the recipients' outcome. */
struct in_refusal {
    uint32_t state;
    char status[16];
    char why[GW_WHY_MAX];
};

#define IN_REFUSE(r, state_, status_, ...)                                               \
    ((r)->state = (state_), snprintf((r)->status, sizeof((r)->status), "%s", (status_)), \
     snprintf((r)->why, sizeof((r)->why), __VA_ARGS__))

/* Message-Id, Date and Subject from the message's header section, each as a control line can
 * carry it (po_map.c): a Message-ID the format refuses gives way to one of ours, a Date that is no
 * RFC 5322 date to the arrival time, a Subject goes in US-ASCII.  The message keeps its own. */
static void job_fields(const struct in_job *j, struct po_p1 *p1)
{
    const char *hostname = j->g->hostname, *why;
    const uint8_t *msg = j->pend.data;
    size_t len = j->pend.len;
    char raw[IN_FIELD_MAX];
    long n;

    n = po_map_header(msg, len, "Message-ID", raw, sizeof(raw));
    if (n < 0 || po_map_msgid(raw, (size_t)n, p1->message_id) < 0) {
        snprintf(p1->message_id, sizeof(p1->message_id), "<%.15s@%.200s>", j->env.qid, hostname);
        if (po_p1_msgid_check(p1->message_id, strlen(p1->message_id), &why) < 0)
            snprintf(p1->message_id, sizeof(p1->message_id), "<%.15s@spoolgate.invalid>",
                     j->env.qid);
    }
    n = po_map_header(msg, len, "Date", raw, sizeof(raw));
    if (n < 0 || po_map_date(raw, (size_t)n, p1->date) < 0) {
        time_t when = j->env.arrival_us ? (time_t)(j->env.arrival_us / 1000000) : time(NULL);
        struct tm tm;

        gmtime_r(&when, &tm);
        strftime(p1->date, sizeof(p1->date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    }
    n = po_map_header(msg, len, "Subject", raw, sizeof(raw));
    if (n > 0)
        po_map_subject(raw, (size_t)n, p1->subject, sizeof(p1->subject));
}

/* The sender on the From: line: the envelope's, or ours for the null sender.  0, or -1 with r. */
static int job_sender(const struct in_job *j, struct po_p1 *p1, struct in_refusal *r)
{
    const char *sender = j->env.sender;
    struct po_err err = {""};

    p1->from.kind = PO_P1_SMTP;
    if (!sender[0]) {
        snprintf(p1->from.text, sizeof(p1->from.text), "MAILER-DAEMON@%s", j->g->hostname);
        if (po_p1_addr_check(&p1->from, &err) < 0)
            snprintf(p1->from.text, sizeof(p1->from.text), "MAILER-DAEMON@spoolgate.invalid");
        return 0;
    }
    snprintf(p1->from.text, sizeof(p1->from.text), "%s", sender);
    if (po_p1_addr_check(&p1->from, &err) == 0)
        return 0;
    if (smtp_has_8bit(sender, strlen(sender)))
        IN_REFUSE(r, RCPT_FAILED, "5.6.7",
                  "the sender address cannot be written in the postoffice's US-ASCII form: %s",
                  err.text);
    else
        IN_REFUSE(r, RCPT_FAILED, "5.1.7",
                  "the sender address cannot be written on the postoffice's From: line: %s",
                  err.text);
    return -1;
}

/* The control lines into j->head.  0, or -1 with the recipients' outcome in r. */
static int job_make_p1(struct in_job *j, struct in_refusal *r)
{
    struct gateway *g = j->g;
    struct po_p1 p1 = {0};
    struct po_err err = {""};
    size_t n = 0;
    int rc;

    if (job_sender(j, &p1, r) < 0)
        return -1;
    p1.to = calloc(j->nrc, sizeof(*p1.to));
    if (!p1.to) {
        IN_REFUSE(r, RCPT_DEFERRED, "4.3.0", "out of memory in the gateway");
        return -1;
    }
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
    job_fields(j, &p1);
    rc = po_p1_format_head(&p1, j->env.size > j->pend.len ? (size_t)j->env.size : j->pend.len,
                           &j->head, &err);
    free(p1.to);
    if (rc < 0) /* out of memory; nothing else is left to refuse once the fields are mapped */
        IN_REFUSE(r, RCPT_DEFERRED, "4.3.0", "cannot write the transfer file's control lines: %s",
                  err.text);
    return rc;
}

/* Every recipient not answered yet gets this outcome, once no step runs and the file is gone. */
static void job_settle(struct in_job *j);

static void job_fail(struct in_job *j, uint32_t state, const char *status, const char *why)
{
    if (!j->failing) {
        j->failing = 1;
        j->fail_state = state;
        snprintf(j->fail_status, sizeof(j->fail_status), "%s", status);
        snprintf(j->fail_why, sizeof(j->fail_why), "%s", why);
    }
    sc_close(j->store);
    j->store = NULL;
    job_settle(j);
}

static void step_run(uv_work_t *req)
{
    struct in_job *j = req->data;
    struct gw_p1 *w = j->g->p1;
    struct iovec iov[2] = {{j->head.data, j->head.len}, {j->inflight.data, j->inflight.len}};
    int rc = 0;

    j->why[0] = '\0';
    switch (j->step) {
    case STEP_OPEN:
        rc = gw_p1_open(w, &j->pf, iov, 2, j->why, sizeof(j->why));
        break;
    case STEP_APPEND:
        rc = gw_p1_append(w, &j->pf, &iov[1], 1, j->why, sizeof(j->why));
        break;
    case STEP_COMMIT:
        rc = gw_p1_commit(w, &j->pf, j->key, &j->res, j->why, sizeof(j->why));
        break;
    case STEP_RESUME:
        rc = gw_p1_resume(w, j->key, &j->earlier, &j->res, j->why, sizeof(j->why));
        break;
    case STEP_ABORT:
        gw_p1_abort(w, &j->pf);
        break;
    }
    j->ok = rc == 0;
    j->refused = rc == SHARE_PATH_REFUSED;
}

static void step_done(uv_work_t *req, int status);

static void step_start(struct in_job *j, enum job_step step)
{
    j->step = step;
    j->busy = 1;
    j->req.data = j;
    if (uv_queue_work(j->g->loop, &j->req, step_run, step_done) < 0) {
        j->busy = 0;
        if (step == STEP_ABORT)
            j->pf.f = NULL; /* cannot be removed now: the next start's clean-up removes it */
        job_fail(j, RCPT_DEFERRED, "4.3.0", "cannot queue the share write");
    }
}

static void job_settle(struct in_job *j)
{
    if (j->busy)
        return; /* step_done comes back here */
    if (j->pf.f) {
        step_start(j, STEP_ABORT);
        return;
    }
    j->ok = 0;
    job_fail_all(j, j->fail_state, j->fail_status, j->fail_why);
}

/* Hand the worker what is ready: the first part with the control lines, more body, or the end. */
static void job_kick(struct in_job *j)
{
    if (j->busy || j->failing || j->state != J_STREAM)
        return;
    if (!j->pf.f || j->pend.len >= IN_WRITE_MIN || (j->body_end && j->pend.len > 0)) {
        struct sg_buf t = j->inflight;

        enum job_step step = j->pf.f ? STEP_APPEND : STEP_OPEN;

        j->inflight = j->pend; /* the worker takes the buffer; the store keeps filling the other */
        j->pend = t;
        j->pend.len = 0;
        /* Busy before the resume: the resume hands over the frames read before the pause at once,
         * and the job_kick they lead to must not queue this job's work a second time. */
        j->busy = 1;
        if (j->paused && j->store) {
            j->paused = 0;
            sc_read_pause(j->store, 0);
        }
        step_start(j, step); /* may end the job: nothing after it */
    } else if (j->body_end) {
        step_start(j, STEP_COMMIT);
    }
}

static void job_delivered(struct in_job *j)
{
    struct gateway *g = j->g;
    char where[64];

    gw_share_state(g, NULL);
    gw_refused_state(&g->p1_refused, "P1/", NULL, NULL);
    if (j->res.name[0])
        snprintf(where, sizeof(where), "P1/%s", j->res.name);
    else
        snprintf(where, sizeof(where), "P1/ (its name was lost in a crash)");
    if (j->res.recovered)
        log_notice(
            "%s: already written to the postoffice as %s before a restart: not written again",
            j->q.qid, where);
    else
        log_info("%s: written to the postoffice as %s (%llu octets%s)", j->q.qid, where,
                 (unsigned long long)(j->head.len + j->body_seen),
                 j->res.skipped ? ", names taken by another writer skipped" : "");
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            IN_RCPT_SET(&j->rc[i], RCPT_DELIVERED, "2.0.0",
                        "250 2.0.0 written to the postoffice share %s as %s",
                        gw_share_name(g->share), where);
    j->ok = 1;
    job_finish(j);
}

static void step_done(uv_work_t *req, int status)
{
    struct in_job *j = req->data;

    (void)status;
    j->busy = 0;
    j->inflight.len = 0;
    if (j->failing) {
        job_settle(j);
        return;
    }
    if (!j->ok) {
        if (j->refused) /* P1/ a link or not a directory: the share is there */
            gw_refused_state(&j->g->p1_refused, "P1/", j->why,
                             "deliveries into the postoffice are deferred");
        else
            gw_share_state(j->g, j->why);
        job_fail(j, RCPT_DEFERRED, "4.4.1", j->why);
        return;
    }
    if (j->step == STEP_COMMIT || j->step == STEP_RESUME) {
        job_delivered(j);
        return;
    }
    job_kick(j);
}

/* The recipients checked against the directory; 1 if any is left to write. */
static int job_check_rcpts(struct in_job *j)
{
    struct gateway *g = j->g;
    struct po_err err = {""};
    size_t pending = 0;

    for (size_t i = 0; i < j->nrc; i++) {
        struct po_addr a;

        if (!g->dir_loaded) {
            IN_RCPT_SET(&j->rc[i], RCPT_DEFERRED, "4.4.1",
                        "4.4.1 postoffice directory unavailable: %s",
                        g->dir_why[0] ? g->dir_why : "not read yet");
        } else if (po_smtp_to_legacy(j->rc[i].addr, g->cfg->gateway.domain, &g->net, &a, &err) <
                   0) {
            IN_RCPT_SET(&j->rc[i], RCPT_FAILED, "5.1.3", "5.1.3 %s", err.text);
        } else if (!po_dir_find(&g->dir, a.mailbox)) {
            IN_RCPT_SET(&j->rc[i], RCPT_FAILED, "5.1.1",
                        "5.1.1 mailbox %s is not in the postoffice directory", a.mailbox);
        } else {
            pending++;
        }
    }
    return pending > 0;
}

static const struct sc_read_ops body_ops;

/* Envelope and recipients read: nothing to write, finish an earlier attempt, or read the body. */
static void job_envelope_read(struct in_job *j)
{
    if (!job_check_rcpts(j)) {
        job_finish(j);
        return;
    }
    snprintf(j->key, sizeof(j->key), "%s/%s", j->q.qid, j->q.indexes);
    if (gw_journal_find(j->g->journal, j->key, &j->earlier)) {
        sc_close(j->store);
        j->store = NULL;
        j->state = J_RESUME;
        step_start(j, STEP_RESUME);
        return;
    }
    j->state = J_HEADERS;
    if (sc_read_body(j->store, j->q.qid, &body_ops, j) < 0)
        job_fail(j, RCPT_DEFERRED, "4.3.0", "cannot read the message from the store");
}

/* 1 once pend holds the whole header section (or as much of it as is looked at). */
static int headers_complete(const struct in_job *j)
{
    const uint8_t *d = j->pend.data;
    size_t n = j->pend.len;

    if (j->body_end || n >= IN_HEADERS_MAX)
        return 1;
    for (size_t i = 0; i + 1 < n; i++)
        if (d[i] == '\n' &&
            (d[i + 1] == '\n' || (d[i + 1] == '\r' && i + 2 < n && d[i + 2] == '\n')))
            return 1;
    return 0;
}

/* A piece of the body, or its end (data NULL). */
static void job_body(struct in_job *j, const uint8_t *data, size_t len)
{
    struct in_refusal r;

    if (data) {
        if (sg_buf_append(&j->pend, data, len) < 0) {
            job_fail(j, RCPT_DEFERRED, "4.3.0", "out of memory in the gateway");
            return;
        }
        j->body_seen += len;
    } else {
        j->body_end = 1;
        sc_close(j->store);
        j->store = NULL;
    }
    if (j->state == J_HEADERS && headers_complete(j)) {
        if (j->body_seen == 0) {
            job_fail(j, RCPT_FAILED, "5.6.0", "the message is empty");
            return;
        }
        if (job_make_p1(j, &r) < 0) {
            job_fail(j, r.state, r.status, r.why);
            return;
        }
        j->state = J_STREAM;
    }
    if (j->store && !j->paused && j->pend.len >= IN_PEND_MAX) {
        j->paused = 1; /* the share is slower than the store: wait for the worker */
        sc_read_pause(j->store, 1);
    }
    job_kick(j);
}

/* ---- reading the message from the store (common/store_client.h) ------------------------ */

static void read_envelope(void *arg, const struct ipc_envelope *e)
{
    struct in_job *j = arg;

    j->env = *e;
    if (!(j->rc = calloc(j->env.nrcpt ? j->env.nrcpt : 1, sizeof(*j->rc))))
        job_fail(j, RCPT_DEFERRED, "4.3.0", "cannot read the message from the store");
}

/* The client passes at most the envelope's count of recipients. */
static void read_rcpt(void *arg, const struct ipc_rcpt *r)
{
    struct in_job *j = arg;

    if (!index_wanted(j->q.indexes, r->index))
        return;
    j->rc[j->nrc].index = r->index;
    snprintf(j->rc[j->nrc].addr, sizeof(j->rc[0].addr), "%s", r->addr);
    j->nrc++;
}

static void read_envelope_end(void *arg)
{
    job_envelope_read(arg);
}

static void read_chunk(void *arg, const uint8_t *data, size_t len)
{
    job_body(arg, data, len);
}

static void read_body_end(void *arg)
{
    job_body(arg, NULL, 0);
}

static void read_failed(void *arg, const struct sc_status *st)
{
    char text[IPC_REPLY_MAX + 1];

    if (!st->lost) {
        job_fail(arg, RCPT_DEFERRED, "4.3.0", "cannot read the message from the store");
        return;
    }
    snprintf(text, sizeof(text), "mail store unavailable: %s", st->text);
    job_fail(arg, RCPT_DEFERRED, "4.3.0", text);
}

static const struct sc_read_ops envelope_ops = {
    .envelope = read_envelope,
    .rcpt = read_rcpt,
    .end = read_envelope_end,
    .failed = read_failed,
};
static const struct sc_read_ops body_ops = {
    .chunk = read_chunk, .end = read_body_end, .failed = read_failed};

static void store_ready(struct sc_conn *u, void *arg)
{
    struct in_job *j = arg;

    if (sc_read_envelope(u, j->q.qid, &envelope_ops, j) < 0)
        job_fail(j, RCPT_DEFERRED, "4.3.0", "cannot read the message from the store");
}

static void store_closed(struct sc_conn *u, const char *why, void *arg)
{
    struct in_job *j = arg;
    struct sc_status st = {.lost = 1, .code = IPC_ERR_TEMP, .text = why};

    j->store = NULL;
    read_failed(j, &st);
}

static const struct sc_conn_ops store_ops = {.ready = store_ready, .closed = store_closed};

static void in_start(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                     const struct ipc_gw_deliver *q)
{
    struct in_job *j = calloc(1, sizeof(*j));

    if (!j)
        return; /* the router's request stays unanswered until its link resets */
    g->in_running++;
    j->g = g;
    j->c = c;
    j->request_id = request_id;
    j->q = *q;
    gw_conn_ref(c);
    j->state = J_ENVELOPE;
    j->store = sc_connect(&g->sc, "read", &store_ops, j);
    if (!j->store)
        job_fail(j, RCPT_DEFERRED, "4.3.0", "out of memory");
}

void gw_in_deliver(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                   const struct ipc_gw_deliver *q)
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
    gw_conn_ref(c);
    if (g->in_wait_tail)
        g->in_wait_tail->next = w;
    else
        g->in_wait_head = w;
    g->in_wait_tail = w;
}

void gw_in_stop(struct gateway *g)
{
    while (g->in_wait_head) {
        struct in_wait *w = g->in_wait_head;

        g->in_wait_head = w->next;
        gw_conn_unref(w->c);
        free(w);
    }
    g->in_wait_tail = NULL;
}
