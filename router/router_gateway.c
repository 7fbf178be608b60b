/* router_gateway.c - handing postoffice recipients to spoolgate-gateway over its link, at most gateway.max_deliveries at once, and taking back one outcome per recipient. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "router.h"

struct gw_pending {
    uint32_t request;
    struct job *job;
    uint64_t sent_us;
    struct gw_pending *next;
};

static struct gw_pending *pending; /* sent, not answered: at most gateway.max_deliveries */
static unsigned pending_n;
static struct job *waiting_head, *waiting_tail; /* not sent yet, in arrival order */

static void gw_deliver_one(struct router *r, struct job *j);

static void job_defer_all(struct job *j, const char *why)
{
    char reply[IPC_REPLY_MAX + 1];

    snprintf(reply, sizeof(reply), "4.4.1 postoffice gateway: %s", why);
    router_job_defer(j, "4.4.1", reply);
}

static struct gw_pending *pending_take(uint32_t request)
{
    for (struct gw_pending **p = &pending; *p; p = &(*p)->next) {
        if ((*p)->request == request) {
            struct gw_pending *q = *p;

            *p = q->next;
            pending_n--;
            return q;
        }
    }
    return NULL;
}

static struct gw_pending *pending_find(uint32_t request)
{
    for (struct gw_pending *q = pending; q; q = q->next)
        if (q->request == request)
            return q;
    return NULL;
}

unsigned router_gw_in_flight(void)
{
    return pending_n;
}

/* A place is free: the next waiting job goes out (none at a stop: they stay active). */
static void gw_send_waiting(struct router *r)
{
    while (waiting_head && !r->stopping && pending_n < (unsigned)r->cfg->gateway.max_deliveries) {
        struct job *j = waiting_head;

        if (!(waiting_head = j->next))
            waiting_tail = NULL;
        j->next = NULL;
        gw_deliver_one(r, j);
    }
}

/* Empties the waiting list, deferring each job's recipients for why first (NULL: at a stop, no
 * outcome, they stay active). */
static void waiting_drop(const char *why)
{
    while (waiting_head) {
        struct job *j = waiting_head;

        waiting_head = j->next;
        if (why)
            job_defer_all(j, why);
        router_queue_job_done(j);
    }
    waiting_tail = NULL;
}

/* At a stop: the jobs not sent are dropped without outcomes, like the SMTP queues' (their
 * recipients stay active and the next start takes them up). */
void router_gw_stop(void)
{
    waiting_drop(NULL);
}

/* j's recipient indexes, comma separated, into out[outsz] while 12 octets are left; how many. */
static unsigned job_indexes(const struct job *j, char *out, size_t outsz)
{
    unsigned i = 0;
    size_t n = 0;

    out[0] = '\0';
    for (; i < j->n && n + 12 < outsz; i++)
        n += (size_t)snprintf(out + n, outsz - n, "%s%u", i ? "," : "",
                              j->m->rcpts[j->idx[i]].r.index);
    return i;
}

/* A delivery whose every recipient ended delivered or failed: the gateway keeps its transfer
 * file in its journal until it hears that the outcomes are recorded (router_gw_recorded). */
static void job_note_final(const struct job *j)
{
    char indexes[IPC_MATCH_MAX + 1];

    for (unsigned i = 0; i < j->n; i++) {
        enum outcome o = j->m->rcpts[j->idx[i]].outcome;

        if (o != OUT_DELIVERED && o != OUT_FAILED)
            return;
    }
    job_indexes(j, indexes, sizeof(indexes));
    /* Out of memory: no GW_RECORDED, the journal's entry waits for its expiry. */
    sg_buf_append(&j->m->gw_final, indexes, strlen(indexes) + 1);
}

void router_gw_recorded(struct router *r, struct msg *m)
{
    struct ipc_uv *c = r->gateway ? ipc_link_conn(r->gateway) : NULL;
    struct ipc_gw_deliver d = {0};

    if (!c || !m->gw_final.len || ipc_uv_peer(c)->minor < IPC_MINOR_GW_RECORDED)
        return; /* no link now: the journal keeps them until they expire, harmless */
    snprintf(d.qid, sizeof(d.qid), "%s", m->env.qid);
    for (size_t at = 0; at < m->gw_final.len; at += strlen(d.indexes) + 1) {
        snprintf(d.indexes, sizeof(d.indexes), "%s", (const char *)m->gw_final.data + at);
        if (ipc_encode_gw_recorded(ipc_uv_out(c), ipc_uv_request_id(c), &d) < 0)
            return;
    }
    ipc_uv_flush(c);
}

void router_gw_link_frame(struct ipc_link *l, struct ipc_reader *rd, void *arg)
{
    struct gw_pending *q = pending_find(rd->request_id);
    struct ipc_gw_result res;
    struct ipc_event ev;

    if (rd->request_id == 0 && rd->type == IPC_EVENT && ipc_decode_event(rd, &ev) == 0) {
        if (ev.kind == IPC_EV_SHARE_BACK) {
            log_notice(
                "the gateway reports the postoffice share back: retrying its recipients now");
            router_queue_gateway_back(arg);
        }
        return;
    }
    if (!q) {
        ipc_link_reset(l, "answer to a request we did not make");
        return;
    }
    if (rd->type == IPC_GW_RESULT && ipc_decode_gw_result(rd, &res) == 0) {
        for (unsigned i = 0; i < q->job->n; i++) {
            struct rcpt_work *w = &q->job->m->rcpts[q->job->idx[i]];

            if (w->r.index != res.index)
                continue;
            w->outcome = res.state == RCPT_DELIVERED ? OUT_DELIVERED
                         : res.state == RCPT_FAILED  ? OUT_FAILED
                                                     : OUT_DEFERRED;
            w->share_attempt = res.state == RCPT_DEFERRED;
            snprintf(w->status, sizeof(w->status), "%s", res.status);
            snprintf(w->reply, sizeof(w->reply), "%s", res.reply);
        }
        return;
    }
    q = pending_take(rd->request_id);
    if (rd->type != IPC_END)
        job_defer_all(q->job, "bad answer from the gateway");
    job_defer_all(q->job, "no outcome reported for this recipient");
    if (rd->type == IPC_END)
        job_note_final(q->job);
    router_queue_job_done(q->job);
    free(q);
    if (rd->type != IPC_END)
        ipc_link_reset(l, "bad answer from the gateway");
    else
        gw_send_waiting(arg);
}

void router_gw_link_up(struct ipc_link *l, void *arg)
{
    router_queue_gateway_back(arg);
}

void router_gw_link_down(struct ipc_link *l, const char *why, void *arg)
{
    while (pending) {
        struct gw_pending *q = pending;

        pending = q->next;
        job_defer_all(q->job, why);
        router_queue_job_done(q->job);
        free(q);
    }
    pending_n = 0;
    waiting_drop(why);
}

/* A delivery the gateway has not answered within gateway.deliver_timeout: it is wedged (a hung
 * share it answers itself, after share_timeout).  The link is reset: every delivery in flight is
 * deferred with why, and a transfer file the gateway still finishes is in its journal, so the
 * next attempt finds it written (no second copy).  Called by the router's due timer. */
void router_gw_check_answers(struct router *r)
{
    uint64_t limit = (uint64_t)r->cfg->gateway.deliver_timeout * 1000000u, now = now_us();

    if (!r->gateway)
        return; /* stopping: the stop's own deadline holds */
    for (struct gw_pending *q = pending; q; q = q->next) {
        char why[160];

        if (now - q->sent_us < limit)
            continue;
        snprintf(why, sizeof(why), "no answer to the delivery of %s within %llds",
                 q->job->m->env.qid, (long long)r->cfg->gateway.deliver_timeout);
        log_warn("postoffice gateway: %s: the link is reset and its %u deliveries deferred", why,
                 pending_n);
        ipc_link_reset(r->gateway, why);
        return;
    }
}

/* The recipients of j whose indexes fit one GW_DELIVER's list stay in j; the rest move to a job
 * of their own (one more transfer file), returned.  NULL when all fit, or when there is no
 * memory for the rest: those then get "no outcome reported" and are deferred. */
static struct job *job_split(struct job *j)
{
    struct ipc_gw_deliver d;
    struct job *rest;
    unsigned fit = job_indexes(j, d.indexes, sizeof(d.indexes));

    if (fit == j->n || fit == 0 || !(rest = calloc(1, sizeof(*rest))))
        return NULL;
    if (!(rest->idx = calloc(j->n - fit, sizeof(*rest->idx)))) {
        free(rest);
        return NULL;
    }
    memcpy(rest->idx, j->idx + fit, (j->n - fit) * sizeof(*rest->idx));
    rest->n = j->n - fit;
    rest->m = j->m;
    j->n = fit;
    j->m->jobs_out++;
    return rest;
}

static void gw_deliver_one(struct router *r, struct job *j)
{
    struct ipc_uv *c = ipc_link_conn(r->gateway);
    struct ipc_gw_deliver d = {0};
    struct gw_pending *q;

    if (!c || !(q = calloc(1, sizeof(*q)))) {
        job_defer_all(j, ipc_link_why(r->gateway));
        router_queue_job_done(j);
        return;
    }
    snprintf(d.qid, sizeof(d.qid), "%s", j->m->env.qid);
    job_indexes(j, d.indexes, sizeof(d.indexes));
    router_log_mark(j, ROUTER_MARK_START, now_us());
    router_log_mark(j, ROUTER_MARK_SEND, now_us());
    q->request = ipc_uv_request_id(c);
    q->job = j;
    q->sent_us = now_us();
    q->next = pending;
    pending = q;
    pending_n++;
    if (ipc_encode_gw_deliver(ipc_uv_out(c), q->request, &d) < 0 || ipc_uv_flush(c) < 0)
        return; /* the link goes down and router_gw_link_down answers the job */
}

/* j now, or in its turn once fewer than gateway.max_deliveries are in flight: beyond that the
 * gateway would only hold it in its own line (and in its memory). */
static void gw_deliver_or_wait(struct router *r, struct job *j)
{
    if (pending_n < (unsigned)r->cfg->gateway.max_deliveries && !waiting_head) {
        gw_deliver_one(r, j);
        return;
    }
    j->next = NULL;
    if (waiting_tail)
        waiting_tail->next = j;
    else
        waiting_head = j;
    waiting_tail = j;
}

/* A message's postoffice recipients, as many requests as their index lists need. */
void router_gw_deliver(struct router *r, struct job *j)
{
    while (j) {
        struct job *rest = job_split(j);

        gw_deliver_or_wait(r, j);
        j = rest;
    }
}
