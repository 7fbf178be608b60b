/* router_dsn.c - sending DSNs: read the original from the store, compose (dsn.c), submit as a new message from <>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "log.h"
#include "qid.h"
#include "router.h"

#define DSN_HEADERS_MAX (256 * 1024)

struct dsn_rcpt_copy {
    char addr[IPC_ADDR_MAX + 1];
    char orcpt[IPC_ADDR_MAX + 1];
    char status[16];
    char remote[320];
    char diagnostic[IPC_REPLY_MAX + 1];
    char reason[IPC_REPLY_MAX + 1];
};

/* One DSN on its way: its own store connection reads the original, then submits. */
struct dsn_job {
    struct router *r;
    struct ipc_envelope env;
    enum dsn_action action;
    struct dsn_rcpt_copy *rc;
    unsigned n;
    char origin[IPC_ORIGIN_MAX + 1];
    struct sc_conn *conn;
    struct sg_buf orig; /* the original, as much of it as is returned */
    size_t keep;
    struct msg *m; /* failures: the message waiting for us */
    void (*done)(struct msg *m, int result, const char *why);
};

static const char *dsn_kind(const struct dsn_job *j)
{
    return j->action == DSN_ACTION_FAILED ? "failure" : "delay";
}

/* result: enum router_dsn_result */
static void dsn_job_end_as(struct dsn_job *j, int result, const char *why)
{
    if (result != ROUTER_DSN_SENT)
        log_error("%s: %s DSN to <%s> not sent%s: %s", j->env.qid, dsn_kind(j), j->env.sender,
                  result == ROUTER_DSN_REFUSED ? " (refused by the store for good)" : "", why);
    sc_close(j->conn);
    if (j->done)
        j->done(j->m, result, why);
    sg_buf_free(&j->orig);
    free(j->rc);
    free(j);
}

static void dsn_job_end(struct dsn_job *j, int ok, const char *why)
{
    dsn_job_end_as(j, ok ? ROUTER_DSN_SENT : ROUTER_DSN_RETRY, why);
}

/* ---- submitting the DSN ------------------------------------------------------------- */

static void dsn_submitted(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    struct dsn_job *j = arg;

    if (!m) {
        /* The store refused this DSN itself (its envelope): it can never be sent. */
        dsn_job_end_as(
            j, !st->lost && st->code == IPC_ERR_PERM ? ROUTER_DSN_REFUSED : ROUTER_DSN_RETRY,
            st->text);
        return;
    }
    log_info("%s: sender %s notification: %s%s", j->env.qid,
             j->action == DSN_ACTION_FAILED ? "non-delivery" : "delay", m->qid,
             m->duplicate ? " (sent before: not again)" : "");
    dsn_job_end(j, 1, NULL);
}

static const struct sc_submit_ops dsn_submit_ops = {.done = dsn_submitted};

/* The DSN as one body; 0, or -1 with why. */
static int dsn_build(struct dsn_job *j, struct sg_buf *out, char *why, size_t whysz)
{
    struct router *r = j->r;
    struct dsn_msg dm = {.reporting_mta = r->hostname,
                         .sender = j->env.sender,
                         .envid = j->env.envid,
                         .qid = j->env.qid,
                         .arrival_us = j->env.arrival_us,
                         .now_us = now_us(),
                         .ret = j->env.ret == IPC_RET_FULL ? DSN_RETURN_FULL : DSN_RETURN_HEADERS,
                         .return_limit = (size_t)r->cfg->router.dsn_return_limit};
    struct dsn_rcpt *dr = calloc(j->n, sizeof(*dr));
    uint64_t willretry = j->env.arrival_us + (uint64_t)r->cfg->router.max_queue_lifetime * 1000000u;
    int rc;

    if (!dr) {
        snprintf(why, whysz, "out of memory");
        return -1;
    }
    for (unsigned i = 0; i < j->n; i++)
        dr[i] = (struct dsn_rcpt){.addr = j->rc[i].addr,
                                  .orcpt = j->rc[i].orcpt,
                                  .action = j->action,
                                  .status = j->rc[i].status,
                                  .remote_mta = j->rc[i].remote,
                                  .diagnostic = j->rc[i].diagnostic,
                                  .reason = j->rc[i].reason,
                                  .last_attempt_us = dm.now_us,
                                  .will_retry_until_us = willretry};
    rc = dsn_compose(&dm, dr, j->n, j->orig.data, j->orig.len, out, why, whysz);
    free(dr);
    return rc;
}

static void dsn_submit(struct dsn_job *j)
{
    struct sg_buf out = {0};
    char why[256] = "";
    struct ipc_submit_begin sb = {.flags = IPC_FLAG_DSN_MSG};
    struct ipc_submit_rcpt sr = {.notify = IPC_NOTIFY_NEVER};

    if (dsn_build(j, &out, why, sizeof(why)) < 0) {
        sg_buf_free(&out);
        dsn_job_end(j, 0, why);
        return;
    }
    snprintf(sb.origin, sizeof(sb.origin), "%s", j->origin);
    snprintf(sr.addr, sizeof(sr.addr), "%s", j->env.sender);
    if (sc_submit_begin(j->conn, &sb, &dsn_submit_ops, j) < 0) {
        sg_buf_free(&out);
        dsn_job_end(j, 0, "cannot begin the submission");
        return;
    }
    /* A failure on the way has ended the job through dsn_submitted. */
    if (sc_submit_rcpt(j->conn, &sr) == 0 && sc_submit_chunk(j->conn, out.data, out.len) == 0)
        sc_submit_commit(j->conn);
    sg_buf_free(&out);
}

/* ---- reading the original ------------------------------------------------------------ */

static void dsn_orig_chunk(void *arg, const uint8_t *data, size_t len)
{
    struct dsn_job *j = arg;
    size_t take;

    if (j->orig.len >= j->keep)
        return;
    take = len < j->keep - j->orig.len ? len : j->keep - j->orig.len;
    if (sg_buf_append(&j->orig, data, take) < 0)
        dsn_job_end(j, 0, "out of memory");
}

static void dsn_orig_failed(void *arg, const struct sc_status *st)
{
    dsn_job_end(arg, 0, st->text);
}

static void dsn_orig_end(void *arg)
{
    dsn_submit(arg);
}

static const struct sc_read_ops dsn_read_ops = {
    .chunk = dsn_orig_chunk,
    .end = dsn_orig_end,
    .failed = dsn_orig_failed,
};

static void dsn_ready(struct sc_conn *c, void *arg)
{
    struct dsn_job *j = arg;

    if (sc_read_body(c, j->env.qid, &dsn_read_ops, j) < 0)
        dsn_job_end(j, 0, "cannot read the original");
}

static void dsn_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct dsn_job *j = arg;

    j->conn = NULL;
    dsn_job_end(j, 0, why);
}

static const struct sc_conn_ops dsn_ops = {.ready = dsn_ready, .closed = dsn_closed};

static int notify_wants(uint32_t notify, uint32_t bit)
{
    return notify == 0 ? 1 : (notify & IPC_NOTIFY_NEVER) ? 0 : (notify & bit) != 0;
}

static struct dsn_job *dsn_job_new(struct msg *m, enum dsn_action action)
{
    struct dsn_job *j = calloc(1, sizeof(*j));

    if (!j || !(j->rc = calloc(m->nrcpt, sizeof(*j->rc)))) {
        free(j);
        return NULL;
    }
    j->r = m->r;
    j->env = m->env;
    j->action = action;
    /* Headers are always returned; the whole message only for RET=FULL within the limit. */
    j->keep =
        m->env.ret == IPC_RET_FULL && m->env.size <= (uint64_t)m->r->cfg->router.dsn_return_limit
            ? (size_t)m->env.size + 1
            : DSN_HEADERS_MAX;
    return j;
}

static void dsn_job_add(struct dsn_job *j, const struct rcpt_work *w)
{
    struct dsn_rcpt_copy *c = &j->rc[j->n++];

    snprintf(c->addr, sizeof(c->addr), "%s", w->r.addr);
    snprintf(c->orcpt, sizeof(c->orcpt), "%s", w->r.orcpt);
    snprintf(c->status, sizeof(c->status), "%s", w->status[0] ? w->status : "5.0.0");
    snprintf(c->remote, sizeof(c->remote), "%s", w->remote_reply ? w->remote : "");
    snprintf(c->diagnostic, sizeof(c->diagnostic), "%s", w->remote_reply ? w->reply : "");
    snprintf(c->reason, sizeof(c->reason), "%s", w->reply[0] ? w->reply : "delivery failed");
}

static void dsn_job_start(struct dsn_job *j)
{
    j->conn = sc_connect(&j->r->sc, "read,submit", &dsn_ops, j);
    if (!j->conn)
        dsn_job_end(j, 0, "out of memory");
}

void router_dsn_send_failures(struct msg *m,
                              void (*done)(struct msg *m, int result, const char *why))
{
    struct dsn_job *j;
    size_t n = 0;

    if (router_sender_null(m->env.sender)) {
        log_info("%s: no failure DSN: null sender", m->env.qid);
        done(m, ROUTER_DSN_SENT, NULL);
        return;
    }
    j = dsn_job_new(m, DSN_ACTION_FAILED);
    if (!j) {
        done(m, ROUTER_DSN_RETRY, "out of memory");
        return;
    }
    n = (size_t)snprintf(j->origin, sizeof(j->origin), "dsn-failed:%s:", m->env.qid);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct rcpt_work *w = &m->rcpts[i];

        if (!w->due || w->outcome != OUT_FAILED || w->bounce_expired ||
            !notify_wants(w->r.notify, IPC_NOTIFY_FAILURE))
            continue;
        dsn_job_add(j, w);
        if (n < sizeof(j->origin) - 12)
            n += (size_t)snprintf(j->origin + n, sizeof(j->origin) - n, "%u,", w->r.index);
    }
    if (j->n == 0) {
        free(j->rc);
        free(j);
        done(m, ROUTER_DSN_SENT, NULL);
        return;
    }
    j->m = m;
    j->done = done;
    dsn_job_start(j);
}

void router_dsn_send_delay(struct msg *m, uint32_t i)
{
    struct router *r = m->r;
    const struct rcpt_work *w = &m->rcpts[i];
    struct dsn_job *j;
    uint64_t now = now_us();

    if (router_sender_null(m->env.sender) || (m->env.flags & IPC_FLAG_DSN_MSG) ||
        r->cfg->router.delay_warning == 0 ||
        now < m->env.arrival_us + (uint64_t)r->cfg->router.delay_warning * 1000000u ||
        !notify_wants(w->r.notify, IPC_NOTIFY_DELAY))
        return;
    j = dsn_job_new(m, DSN_ACTION_DELAYED);
    if (!j)
        return;
    dsn_job_add(j, w);
    snprintf(j->origin, sizeof(j->origin), "dsn-delayed:%s:%u", m->env.qid, w->r.index);
    dsn_job_start(j);
}
