/* router_queue.c - the queue manager: which recipients are due, their routes, jobs out, outcomes recorded, nothing stuck. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reason.h"
#include "smtp_envelope.h"
#include "qid.h"
#include "router.h"

static void msg_read(struct msg *m, int force);
static void msg_finish(struct msg *m);

int router_queue_message(struct router *r, const char *qid)
{
    struct msg *m = router_msg_find(r, qid);

    if (m) {
        m->again = 1; /* looked at again once the current round is done */
        return 0;
    }
    if (router_room(r) == 0) {
        r->due_more = 1; /* it waits in the store; a due scan brings it once there is room */
        return 0;
    }
    m = router_msg_new(r, qid);
    if (!m) {
        log_error("%s: out of memory; the due scan brings it back", qid);
        return 0;
    }
    msg_read(m, ROUTER_FORCE_NONE);
    return 1;
}

/* ---- reading a message ------------------------------------------------------------- */

struct read_req {
    struct msg *m;
    int force;
    uint32_t got;
};

/* A read is answered or gone; with none left out the pump may go on (a due scan
 * waits for the reads of the last one, so that their claims are recorded first). */
static void read_done(struct router *r, struct read_req *q)
{
    free(q);
    if (--r->reads_out == 0)
        router_pump_soon(r);
}

static int read_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct ipc_qid_msg q;

    snprintf(q.qid, sizeof(q.qid), "%s", ((struct read_req *)arg)->m->env.qid);
    return ipc_encode_qid_msg(b, IPC_READ_ENVELOPE, id, &q);
}

static void msg_round_done(struct msg *m);

static int read_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct read_req *q = arg;
    struct msg *m = q->m;
    struct ipc_error e;

    switch (rd->type) {
    case IPC_ENVELOPE:
        if (ipc_decode_envelope(rd, &m->env) == 0 && m->env.nrcpt > 0 && !m->rcpts &&
            router_msg_rcpts(m, m->env.nrcpt) == 0)
            return 0;
        log_error("%s: bad envelope from the store: %s", m->env.qid,
                  rd->error ? rd->error : "no recipients");
        break;
    case IPC_RCPT:
        if (q->got < m->env.nrcpt && ipc_decode_rcpt(rd, &m->rcpts[q->got].r) == 0) {
            q->got++;
            return 0;
        }
        log_error("%s: bad recipient from the store", m->env.qid);
        break;
    case IPC_END:
        if (m->rcpts && q->got == m->env.nrcpt) {
            m->nrcpt = q->got;
            router_queue_categorize(m, q->force);
            read_done(r, q);
            return 1;
        }
        break;
    case IPC_ERROR:
        if (ipc_decode_error(rd, &e) == 0 && e.code == IPC_ERR_NOTFOUND)
            log_debug("%s: gone from the store", m->env.qid);
        else
            log_error("%s: cannot read the message: %s", m->env.qid, e.text);
        router_msg_free(m);
        read_done(r, q);
        return 1;
    default:
        break;
    }
    /* A broken answer: drop this round; the lease or the due scan brings it back. */
    router_msg_free(m);
    read_done(r, q);
    return 1;
}

static void read_fail(struct router *r, const char *why, void *arg)
{
    struct read_req *q = arg;

    router_msg_free(q->m);
    read_done(r, q);
}

static void msg_read(struct msg *m, int force)
{
    struct read_req *q = calloc(1, sizeof(*q));

    if (!q) {
        router_msg_free(m);
        return;
    }
    q->m = m;
    q->force = force;
    m->r->reads_out++;
    if (router_store_read_request(m->r, read_encode, read_answer, read_fail, q) < 0)
        read_fail(m->r, "store unavailable", q);
}

/* ---- a new message as the store announces it ---------------------------------------- */

void router_queue_committed(struct router *r, const char *qid)
{
    struct read_req *q;

    router_queue_committed_lost(r); /* a message left unfinished: dropped */
    r->event_open = 1;
    if (router_msg_find(r, qid)) {
        router_queue_message(r, qid); /* looked at again; these frames are skipped */
        return;
    }
    if (router_room(r) == 0) {
        r->due_more = 1;
        return;
    }
    q = calloc(1, sizeof(*q));
    if (!q || !(q->m = router_msg_new(r, qid))) {
        free(q);
        log_error("%s: out of memory; the due scan brings it back", qid);
        return;
    }
    q->force = ROUTER_FORCE_NONE;
    r->reads_out++;
    r->event_read = q;
}

int router_queue_committed_frame(struct router *r, struct ipc_reader *rd)
{
    struct read_req *q = r->event_read;

    if (!r->event_open)
        return -1;
    if (rd->type == IPC_END)
        r->event_open = 0;
    if (q && read_answer(r, rd, q))
        r->event_read = NULL;
    return 0;
}

void router_queue_committed_lost(struct router *r)
{
    struct read_req *q = r->event_read;

    r->event_open = 0;
    r->event_read = NULL;
    if (q)
        read_fail(r, "the events link is gone", q);
}

/* ---- categorizing ------------------------------------------------------------------- */

static int rcpt_due(const struct ipc_rcpt *rc, int force, uint64_t now)
{
    if (router_bounce_expired(rc, now))
        return 1; /* a held undeliverable DSN whose time is up: it goes now */
    if (rcpt_state_final(rc->state) || rc->state == RCPT_HELD)
        return 0;
    if (force == ROUTER_FORCE_ALL || rc->state == RCPT_QUEUED ||
        (force == ROUTER_FORCE_ACTIVE && rc->state == RCPT_ACTIVE))
        return 1;
    return rc->next_attempt_us <= now;
}

/* Fill in an outcome decided here, without a connection. */
#define RCPT_OUTCOME_SET(work, outcome_, status_, ...) \
    ((work)->outcome = (outcome_),                     \
     SG_REASON_SET((work)->status, (work)->reply, (status_), __VA_ARGS__))

/* An envelope the router would not write into a command line fails with
 * that reason, never reaching a peer (the store refuses such envelopes; one
 * stored before it did is caught here).  sender_why: the message's sender
 * or ENVID refused (checked once per message), else NULL.  1 when w got
 * that outcome. */
static int envelope_refused(const char *sender_why, struct rcpt_work *w)
{
    const char *why;

    if (sender_why) {
        RCPT_OUTCOME_SET(w, OUT_FAILED, "5.1.7", "5.1.7 the sender address cannot be sent: %s",
                         sender_why);
        return 1;
    }
    if (smtp_envelope_rcpt_check(w->r.addr, &why) < 0 ||
        smtp_envelope_orcpt_check(w->r.orcpt, &why) < 0) {
        RCPT_OUTCOME_SET(w, OUT_FAILED, "5.1.3", "5.1.3 the recipient address cannot be sent: %s",
                         why);
        return 1;
    }
    return 0;
}

/* Claim the recipient for this attempt: ACTIVE until the lease ends. */
static void rcpt_claim(struct msg *m, struct rcpt_work *w, uint64_t now)
{
    struct ipc_rcpt_update u = {.index = w->r.index,
                                .state = RCPT_ACTIVE,
                                .attempts = w->r.attempts,
                                .next_attempt_us = now + ROUTER_LEASE_US,
                                .last_attempt_us = w->r.last_attempt_us};

    snprintf(u.qid, sizeof(u.qid), "%s", m->env.qid);
    snprintf(u.route, sizeof(u.route), "%s", w->route.desc);
    router_claim_reply(w->r.last_reply, u.next_attempt_us, u.last_reply, sizeof(u.last_reply));
    router_update_rcpt(m->r, &u, NULL, NULL);
}

/* Group the SMTP recipients by destination into jobs. */
static void msg_make_jobs(struct msg *m)
{
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct rcpt_work *w = &m->rcpts[i];
        struct job *j;

        if (!w->due || w->outcome != OUT_NONE || w->route.kind == ROUTE_ERROR || w->in_job)
            continue;
        j = calloc(1, sizeof(*j));
        if (j)
            j->idx = calloc(m->nrcpt, sizeof(*j->idx));
        if (!j || !j->idx) {
            free(j);
            RCPT_OUTCOME_SET(w, OUT_DEFERRED, "4.3.0", "out of memory in the router");
            continue;
        }
        j->m = m;
        for (uint32_t k = i; k < m->nrcpt; k++) {
            struct rcpt_work *o = &m->rcpts[k];

            if (o->due && o->outcome == OUT_NONE && o->route.kind == w->route.kind && !o->in_job &&
                strcmp(o->route.key, w->route.key) == 0) {
                j->idx[j->n++] = k;
                o->in_job = 1;
            }
        }
        m->jobs_out++;
        if (w->route.kind == ROUTE_GATEWAY)
            router_gw_deliver(m->r, j);
        else if (w->route.kind == ROUTE_ALIAS)
            router_alias_deliver(m->r, j);
        else
            router_dest_enqueue(m->r, j, &w->route);
    }
}

void router_queue_categorize(struct msg *m, int force)
{
    struct router *r = m->r;
    uint64_t now = now_us();
    unsigned due = 0;
    const char *sender_why = NULL;

    m->t_read_us = now;

    if (smtp_envelope_sender_check(m->env.sender, &sender_why) == 0 &&
        smtp_envelope_envid_check(m->env.envid, &sender_why) == 0)
        sender_why = NULL;
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct rcpt_work *w = &m->rcpts[i];

        w->due = rcpt_due(&w->r, force, now);
        if (!w->due)
            continue;
        due++;
        if (router_bounce_expired(&w->r, now)) {
            snprintf(w->route.desc, sizeof(w->route.desc), "%s", w->r.route);
            router_bounce_expire(m, w);
            continue;
        }
        if (router_alias_applies(r, m, w->r.addr))
            router_alias_route(&w->route);
        else
            router_route_for(r, w->r.addr, &w->route);
        if (envelope_refused(sender_why, w))
            continue;
        if (w->route.kind == ROUTE_ERROR) {
            RCPT_OUTCOME_SET(w, OUT_FAILED, w->route.status, "%s %s", w->route.status,
                             w->route.text);
        } else if (router_pause_is(r, w->r.addr)) {
            RCPT_OUTCOME_SET(w, OUT_PAUSED, "4.3.2", "%s", IPC_PAUSED_REPLY);
        } else if (w->route.kind == ROUTE_GATEWAY) {
            /* Never failed for the gateway's absence: deferred with its reason. */
            if (!ipc_link_up(r->gateway))
                RCPT_OUTCOME_SET(w, OUT_DEFERRED, "4.4.1",
                                 "4.4.1 postoffice gateway unavailable: %s",
                                 ipc_link_why(r->gateway));
            else
                rcpt_claim(m, w, now);
        } else if (w->route.kind == ROUTE_SMTP || w->route.kind == ROUTE_ALIAS) {
            rcpt_claim(m, w, now);
        }
    }
    if (due == 0) {
        msg_finish(m);
        return;
    }
    /* Jobs may finish at once (no connection possible): hold the round open
     * until every job is out. */
    m->jobs_out++;
    msg_make_jobs(m);
    if (--m->jobs_out == 0)
        msg_round_done(m);
}

/* ---- recording outcomes --------------------------------------------------------------- */

/* Next retry: retry_first, doubling, at most retry_max. */
static uint64_t retry_delay_us(const struct router *r, uint32_t attempts)
{
    uint64_t d = (uint64_t)r->cfg->router.retry_first;

    for (uint32_t i = 1; i < attempts && d < (uint64_t)r->cfg->router.retry_max; i++)
        d *= 2;
    if (d > (uint64_t)r->cfg->router.retry_max)
        d = (uint64_t)r->cfg->router.retry_max;
    return d * 1000000u;
}

static void record_done(struct router *r, int ok, void *arg)
{
    struct msg *m = arg;

    m->unrecorded |= !ok;
    if (--m->updates_out == 0) {
        if (!m->unrecorded)
            router_gw_recorded(r, m);
        msg_finish(m);
    }
}

/* A held DSN's expiry is recorded: the message is gone (its one recipient final). */
static void expired_done(struct router *r, int ok, void *arg)
{
    struct msg *m = arg;

    for (uint32_t i = 0; ok && i < m->nrcpt; i++)
        if (m->rcpts[i].bounce_expired && m->rcpts[i].due) {
            router_bounce_expired_log(m, &m->rcpts[i]);
            m->rcpts[i].due = 0; /* logged once */
            break;
        }
    record_done(r, ok, m);
}

const char *router_duration_text(uint64_t us, char *buf, size_t bufsz)
{
    uint64_t s = us / 1000000u;

    if (s >= 86400)
        snprintf(buf, bufsz, "%llud %lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(buf, bufsz, "%lluh %llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else
        snprintf(buf, bufsz, "%llum %llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    return buf;
}

/* A deferral past the queue lifetime becomes a failure that says so. */
/* The share failed max_open_retries times: the recipient fails, naming it. */
static void rcpt_maybe_share_limit(struct router *r, struct rcpt_work *w)
{
    char last[IPC_REPLY_MAX + 1];
    int n;

    if (w->outcome != OUT_DEFERRED || !w->share_attempt ||
        w->r.attempts + 1 < (uint32_t)r->cfg->gateway.max_open_retries)
        return;
    snprintf(last, sizeof(last), "%s", w->reply);
    w->outcome = OUT_FAILED;
    snprintf(w->status, sizeof(w->status), "4.4.1");
    n = snprintf(
        w->reply, sizeof(w->reply),
        "4.4.1 gave up after %u failed accesses to the postoffice share: ", w->r.attempts + 1);
    if (n > 0 && (size_t)n < sizeof(w->reply))
        memcpy(w->reply + n, last, strnlen(last, sizeof(w->reply) - (size_t)n - 1) + 1);
    w->reply[sizeof(w->reply) - 1] = '\0';
}

static void rcpt_maybe_expire(struct router *r, struct msg *m, struct rcpt_work *w, uint64_t now)
{
    char age[32], last[IPC_REPLY_MAX + 1];
    int n;
    uint64_t waited = now > m->env.arrival_us ? now - m->env.arrival_us : 0;
    /* A DSN is given up sooner (Postfix's bounce_queue_lifetime). */
    long long life = (m->env.flags & IPC_FLAG_DSN_MSG) && r->cfg->router.bounce_queue_lifetime <
                                                              r->cfg->router.max_queue_lifetime
                         ? r->cfg->router.bounce_queue_lifetime
                         : r->cfg->router.max_queue_lifetime;

    if (w->outcome != OUT_DEFERRED || waited < (uint64_t)life * 1000000u)
        return;
    snprintf(last, sizeof(last), "%s", w->reply);
    w->outcome = OUT_FAILED;
    n = snprintf(w->reply, sizeof(w->reply),
                 "4.4.7 gave up after %u attempts over %s (too old); last: ", w->r.attempts + 1,
                 router_duration_text(waited, age, sizeof(age)));
    if (n > 0 && (size_t)n < sizeof(w->reply))
        memcpy(w->reply + n, last, strnlen(last, sizeof(w->reply) - (size_t)n - 1) + 1);
    w->reply[sizeof(w->reply) - 1] = '\0';
    snprintf(w->status, sizeof(w->status), "4.4.7");
}

static void msg_record(struct msg *m)
{
    struct router *r = m->r;
    uint64_t now = now_us();

    m->updates_out = 1; /* held until every update is queued */
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        struct rcpt_work *w = &m->rcpts[i];
        struct ipc_rcpt_update u = {
            .index = w->r.index, .attempts = w->r.attempts, .last_attempt_us = now};
        router_update_done_fn done = record_done;

        if (!w->due || w->outcome == OUT_NONE)
            continue;
        if (w->share_attempt && (w->outcome == OUT_DEFERRED || w->outcome == OUT_FAILED))
            router_report_share_failure(r);
        snprintf(u.qid, sizeof(u.qid), "%s", m->env.qid);
        snprintf(u.route, sizeof(u.route), "%s", w->route.desc);
        snprintf(u.last_reply, sizeof(u.last_reply), "%s", w->reply);
        switch (w->outcome) {
        case OUT_DELIVERED:
            u.state = RCPT_DELIVERED;
            u.attempts++;
            break;
        case OUT_DEFERRED:
            u.state = RCPT_DEFERRED;
            u.attempts++;
            /* Postoffice recipients retry on the gateway's own interval (open_retry_interval). */
            u.next_attempt_us =
                now + (w->route.kind == ROUTE_GATEWAY
                           ? (uint64_t)r->cfg->gateway.open_retry_interval * 1000000u
                           : retry_delay_us(r, u.attempts));
            router_dsn_send_delay(m, i);
            break;
        case OUT_PAUSED: /* no attempt: a resume makes it due again */
            u.state = RCPT_DEFERRED;
            u.last_attempt_us = w->r.last_attempt_us;
            u.next_attempt_us = now + (uint64_t)r->cfg->router.retry_max * 1000000u;
            break;
        default:
            u.state = RCPT_FAILED;
            if (w->bounce_expired) {
                u.last_attempt_us = w->r.last_attempt_us;
                done = expired_done;
                break;
            }
            u.attempts++;
            /* A DSN that cannot be delivered is kept for the administrator, for a time. */
            if (m->env.flags & IPC_FLAG_DSN_MSG)
                router_bounce_hold(m, w, &u);
            break;
        }
        router_log_outcome(m, w, now);
        m->updates_out++;
        router_update_rcpt(r, &u, done, m);
    }
    record_done(r, 1, m);
}

/* The failure DSN could not be stored now: no final failure without it, but the
 * permanent reply is recorded, the recipient deferred and tried again. */
static void failure_unreported(struct rcpt_work *w, const char *why)
{
    char last[IPC_REPLY_MAX + 1];

    if (!w->due || w->outcome != OUT_FAILED || w->bounce_expired)
        return;
    snprintf(last, sizeof(last), "%s", w->reply);
    w->outcome = OUT_DEFERRED;
    snprintf(w->reply, sizeof(w->reply), "%.*s; its failure DSN could not be stored (%.*s)",
             (int)sizeof(w->reply) / 2, last, (int)sizeof(w->reply) / 3, why ? why : "?");
}

static void msg_failures_reported(struct msg *m, int result, const char *why)
{
    m->dsn_busy = 0;
    if (result == ROUTER_DSN_RETRY) {
        log_warn("%s: the failure DSN could not be stored; the recipients are retried later",
                 m->env.qid);
        for (uint32_t i = 0; i < m->nrcpt; i++)
            failure_unreported(&m->rcpts[i], why);
    } else if (result == ROUTER_DSN_REFUSED) {
        /* It can never be sent: the failures are final all the same. */
        log_warn("%s: no failure DSN can be sent to <%s>: %s; the failures are recorded",
                 m->env.qid, m->env.sender, why ? why : "?");
    }
    msg_record(m);
}

/* Every job of the round is done (or none was needed): failures get their
 * DSN first, then every outcome is recorded. */
static void msg_round_done(struct msg *m)
{
    uint64_t now = now_us();
    int failures = 0;

    for (uint32_t i = 0; i < m->nrcpt; i++) {
        rcpt_maybe_share_limit(m->r, &m->rcpts[i]);
        rcpt_maybe_expire(m->r, m, &m->rcpts[i], now);
        failures +=
            m->rcpts[i].due && m->rcpts[i].outcome == OUT_FAILED && !m->rcpts[i].bounce_expired;
    }
    if (failures && !(m->env.flags & IPC_FLAG_DSN_MSG)) {
        m->dsn_busy = 1;
        router_dsn_send_failures(m, msg_failures_reported);
        return;
    }
    msg_record(m);
}

void router_job_defer(struct job *j, const char *status, const char *reply)
{
    for (unsigned i = 0; i < j->n; i++) {
        struct rcpt_work *w = &j->m->rcpts[j->idx[i]];

        if (w->outcome == OUT_NONE)
            RCPT_OUTCOME_SET(w, OUT_DEFERRED, status, "%s", reply);
    }
}

void router_queue_job_done(struct job *j)
{
    struct msg *m;

    if (!j)
        return;
    m = j->m;
    free(j->idx);
    free(j);
    if (--m->jobs_out == 0)
        msg_round_done(m);
}

static void msg_finish(struct msg *m)
{
    struct router *r = m->r;
    char qid[IPC_QID_MAX + 1];
    int again = m->again, force = m->again_force;

    snprintf(qid, sizeof(qid), "%s", m->env.qid);
    router_msg_free(m);
    if (again && r->store_up && !r->stopping && (m = router_msg_new(r, qid)) != NULL)
        msg_read(m, force); /* new work arrived meanwhile: room or not, it is looked at now */
}
