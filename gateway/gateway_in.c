/* gateway_in.c - mail into the postoffice: a bounded number of deliveries at once, each streams its message from the store into one transfer file in P1/ (share steps on workers) and reports per recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"
#include "reason.h"

#define IN_HEADERS_MAX (64 * 1024) /* header section looked at for Date, Subject, Message-ID */
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
    int busy;                 /* a step runs on a worker */
    struct gw_watch_op watch; /* ... watched for an answer */
    int orphaned; /* its step hung: the router has its answer, the job waits for the worker */
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

/* Tell the router each recipient's outcome.  done: the journal's entry can go once the router
 * has recorded the outcomes (GW_RECORDED; a router that never says so: now).  Until then a
 * retry, after the router lost the outcome, finds the file written and does not write it again. */
static void job_answer(struct in_job *j, int done)
{
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
        if (done && !gw_conn_sends_recorded(j->c))
            gw_journal_answered(j->g->journal, j->key);
    }
    gw_conn_unref(j->c);
    j->c = NULL;
}

void gw_in_recorded(struct gateway *g, const struct ipc_gw_deliver *q)
{
    char key[IPC_QID_MAX + IPC_MATCH_MAX + 2];

    snprintf(key, sizeof(key), "%s/%s", q->qid, q->indexes);
    gw_journal_answered(g->journal, key);
}

/* The job no longer counts as running: the next waiting delivery may start. */
static void job_leave(struct in_job *j)
{
    sc_close(j->store);
    j->store = NULL;
    j->g->in_running--;
    in_next(j->g);
}

static void job_free(struct in_job *j)
{
    sg_buf_free(&j->head);
    sg_buf_free(&j->pend);
    sg_buf_free(&j->inflight);
    free(j->rc);
    free(j);
}

/* Answer the router and forget the job. */
static void job_finish(struct in_job *j)
{
    job_answer(j, j->ok);
    job_leave(j);
    job_free(j);
}

static void job_fail_all(struct in_job *j, uint32_t state, const char *status, const char *why)
{
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            IN_RCPT_SET(&j->rc[i], state, status, "%s %s", status, why);
    job_finish(j);
}

/* The control lines (gateway_in_head.c) of the recipients not answered yet.  0, or -1 with r. */
static int job_make_head(struct in_job *j, struct gw_in_refusal *r)
{
    const char **to = calloc(j->nrc ? j->nrc : 1, sizeof(*to));
    size_t n = 0;
    int rc;

    if (!to) {
        r->state = RCPT_DEFERRED;
        snprintf(r->status, sizeof(r->status), "4.3.0");
        snprintf(r->why, sizeof(r->why), "out of memory in the gateway");
        return -1;
    }
    for (size_t i = 0; i < j->nrc; i++)
        if (!j->rc[i].state)
            to[n++] = j->rc[i].addr;
    rc = gw_in_head(j->g, &j->env, to, n, j->pend.data, j->pend.len, &j->head, r);
    free(to);
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

/* What the step does, for the watchdog's log line and the deferral reason. */
static void step_watch(struct in_job *j);
static void step_expired(struct gw_watch_op *op, const char *why);

static void step_start(struct in_job *j, enum job_step step)
{
    const char *hung = gw_watch_hung(j->g);

    /* A step hangs: the share would block another worker, and a delivery that finishes the hung
     * one's transfer file (the journal's entry) must not run beside it. */
    if (hung && step != STEP_ABORT) {
        j->busy = 0;
        job_fail(j, RCPT_DEFERRED, "4.4.1", hung);
        return;
    }
    j->step = step;
    j->busy = 1;
    j->req.data = j;
    step_watch(j);
    if (uv_queue_work(j->g->loop, &j->req, step_run, step_done) < 0) {
        gw_watch_end(j->g, &j->watch);
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
            "%s: already written to the postoffice as %s by an earlier attempt (before a restart, "
            "or one given up on as hung): not written again",
            j->q.qid, where);
    else if (j->state == J_RESUME)
        log_info("%s: written to the postoffice as %s (the transfer file an earlier attempt wrote, "
                 "renamed now)",
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

/* ---- a step that hangs ------------------------------------------------------------------ */

static void step_watch(struct in_job *j)
{
    static const char *const doing[] = {[STEP_OPEN] = "creating",
                                        [STEP_APPEND] = "writing",
                                        [STEP_COMMIT] = "flushing and renaming",
                                        [STEP_RESUME] = "finishing",
                                        [STEP_ABORT] = "removing"};
    const char *tmp = j->step == STEP_RESUME ? j->earlier.tmp : j->pf.tmp;

    if (j->step == STEP_OPEN)
        gw_watch_begin(j->g, &j->watch, 1, step_expired, j,
                       "writing a new transfer file in P1/ (the delivery of %s)", j->q.qid);
    else
        gw_watch_begin(j->g, &j->watch, 1, step_expired, j, "%s P1/%s (the delivery of %s)",
                       doing[j->step], tmp, j->q.qid);
}

/* No answer from the share: the router is told now (deferred, a failed share attempt), the job
 * waits for its worker without counting as running. */
static void step_expired(struct gw_watch_op *op, const char *why)
{
    struct in_job *j = op->arg;

    if (j->orphaned)
        return; /* its clean-up hangs too: the router had its answer */
    j->orphaned = 1;
    uv_cancel((uv_req_t *)&j->req); /* a step not started yet never starts */
    for (size_t i = 0; i < j->nrc; i++) {
        if (j->rc[i].state)
            continue;
        if (j->failing)
            IN_RCPT_SET(&j->rc[i], j->fail_state, j->fail_status, "%s %s", j->fail_status,
                        j->fail_why);
        else
            IN_RCPT_SET(&j->rc[i], RCPT_DEFERRED, "4.4.1", "4.4.1 %s", why);
    }
    job_answer(j, 0);
    job_leave(j);
}

/* The hung step returned (or, cancelled, never ran).  A transfer file it left open is removed;
 * one it renamed into P1/ is in the journal, and the router's next attempt finds it done. */
static void step_orphan_done(struct in_job *j, int status)
{
    struct gateway *g = j->g;

    if (status == 0 && !j->ok && !j->refused)
        gw_share_state(g, j->why);
    else if (status == 0 && j->ok && !gw_watch_hung(g))
        gw_share_state(g, NULL); /* the routers retry now */
    if (status == 0 && j->ok && j->step == STEP_COMMIT)
        log_notice("%s: written to the postoffice as P1/%s after it was given up on as hung; "
                   "the next attempt finds it done and does not write it again",
                   j->q.qid, j->res.name);
    if (j->pf.f) {
        j->step = STEP_ABORT;
        j->busy = 1;
        step_watch(j);
        if (uv_queue_work(g->loop, &j->req, step_run, step_done) == 0)
            return;
        gw_watch_end(g, &j->watch); /* not queued (only a bad argument fails): the next start
                                       removes the file */
        j->busy = 0;
    }
    job_free(j);
}

static void step_done(uv_work_t *req, int status)
{
    struct in_job *j = req->data;

    j->busy = 0;
    j->inflight.len = 0;
    gw_watch_end(j->g, &j->watch);
    if (j->orphaned) {
        step_orphan_done(j, status);
        return;
    }
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
    struct gw_in_refusal r;

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
        if (job_make_head(j, &r) < 0) {
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
