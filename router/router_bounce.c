/* router_bounce.c - undeliverable DSNs: held with their reason until bounce_queue_lifetime, the postmaster told once, then removed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"
#include "log.h"
#include "qid.h"
#include "router.h"

#define NOTICE_REASON_MAX 900 /* a line of the notice stays under 998 octets */

int router_bounce_expired(const struct ipc_rcpt *rc, uint64_t now)
{
    return rc->state == RCPT_HELD && rc->next_attempt_us != 0 && rc->next_attempt_us <= now;
}

/* When a DSN queued at arrival_us is given up: bounce_queue_lifetime after it came. */
static uint64_t bounce_end_us(const struct router *r, const struct msg *m)
{
    return m->env.arrival_us + (uint64_t)r->cfg->router.bounce_queue_lifetime * 1000000u;
}

/* ---- the postmaster's notice ---------------------------------------------------------- */

struct notice {
    struct router *r;
    struct sc_conn *conn;
    char qid[IPC_QID_MAX + 1];
    char to[IPC_ADDR_MAX + 1];
    char origin[IPC_ORIGIN_MAX + 1];
    struct sg_buf text;
};

static void notice_end(struct notice *n, const char *queued, const char *why)
{
    if (queued)
        log_info("%s: postmaster <%s> told of the undeliverable DSN: notice queued as %s", n->qid,
                 n->to, queued);
    else
        log_error("%s: notice to the postmaster <%s> not sent: %s", n->qid, n->to, why);
    sc_close(n->conn);
    sg_buf_free(&n->text);
    free(n);
}

static void notice_submitted(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    notice_end(arg, m ? m->qid : NULL, st->text);
}

static const struct sc_submit_ops notice_submit_ops = {.done = notice_submitted};

static void notice_ready(struct sc_conn *c, void *arg)
{
    struct notice *n = arg;
    /* From <>, not itself a DSN, NOTIFY=NEVER: its own failure is recorded, never reported. */
    struct ipc_submit_begin sb = {.flags = 0};
    struct ipc_submit_rcpt sr = {.notify = IPC_NOTIFY_NEVER};

    snprintf(sb.origin, sizeof(sb.origin), "%s", n->origin);
    snprintf(sr.addr, sizeof(sr.addr), "%s", n->to);
    if (sc_submit_begin(c, &sb, &notice_submit_ops, n) < 0) {
        notice_end(n, NULL, "cannot begin the submission");
        return;
    }
    if (sc_submit_rcpt(c, &sr) == 0 && sc_submit_chunk(c, n->text.data, n->text.len) == 0)
        sc_submit_commit(c);
}

static void notice_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct notice *n = arg;

    n->conn = NULL;
    notice_end(n, NULL, why);
}

static const struct sc_conn_ops notice_ops = {.ready = notice_ready, .closed = notice_closed};

/* The original message's queue id from the DSN's origin key "dsn-failed:QID:..." */
static void origin_qid(const char *origin, char *out, size_t outsz)
{
    const char *a = strchr(origin, ':'), *b = a ? strchr(a + 1, ':') : NULL;

    if (a && b && b > a + 1)
        snprintf(out, outsz, "%.*s", (int)(b - a - 1), a + 1);
    else
        snprintf(out, outsz, "unknown");
}

/* Printable ASCII only, cut to fit one line. */
static void notice_clean(const char *in, char *out, size_t outsz)
{
    size_t i = 0;

    for (; in[i] && i + 1 < outsz && i < NOTICE_REASON_MAX; i++)
        out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
    out[i] = '\0';
}

static int notice_text(struct notice *n, const struct msg *m, const struct rcpt_work *w,
                       uint64_t end)
{
    struct router *r = n->r;
    char date[64], until[32], orig[IPC_QID_MAX + 16], reason[NOTICE_REASON_MAX + 1];

    dsn_date(now_us(), date, sizeof(date));
    origin_qid(m->env.origin, orig, sizeof(orig));
    notice_clean(w->reply[0] ? w->reply : "delivery failed", reason, sizeof(reason));
    return sg_buf_printf(
        &n->text,
        "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
        "Subject: Undeliverable bounce held: %s\r\nDate: %s\r\n"
        "Message-ID: <%s.%u.held@%s>\r\nAuto-Submitted: auto-generated\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "A delivery status notification could not be delivered.\r\n\r\n"
        "Notification:     %s\r\nTo (the sender):  <%s>\r\nOriginal message: %s\r\n"
        "Reason:           %s\r\n\r\n"
        "It is held in the queue until %s, then removed. Try it again with\r\n"
        "`spoolctl release %s`, or remove it now with `spoolctl delete %s`.\r\n",
        r->hostname, n->to, m->env.qid, date, m->env.qid, w->r.index, r->hostname, m->env.qid,
        w->r.addr, orig, reason, router_iso_utc(end, until, sizeof(until)), m->env.qid, m->env.qid);
}

/* Tell the postmaster, once (the store drops a second submission of the same origin). */
static void notice_send(struct msg *m, const struct rcpt_work *w, uint64_t end)
{
    struct router *r = m->r;
    struct notice *n = calloc(1, sizeof(*n));

    if (!n) {
        log_error("%s: notice to the postmaster not sent: out of memory", m->env.qid);
        return;
    }
    n->r = r;
    snprintf(n->qid, sizeof(n->qid), "%s", m->env.qid);
    if (r->cfg->router.postmaster && r->cfg->router.postmaster[0])
        snprintf(n->to, sizeof(n->to), "%s", r->cfg->router.postmaster);
    else
        snprintf(n->to, sizeof(n->to), "postmaster@%s", r->hostname);
    snprintf(n->origin, sizeof(n->origin), "held-dsn:%s:%u", m->env.qid, w->r.index);
    if (notice_text(n, m, w, end) < 0 || !(n->conn = sc_connect(&r->sc, "submit", &notice_ops, n)))
        notice_end(n, NULL, "out of memory");
}

/* ---- holding and expiring ---------------------------------------------------------------- */

void router_bounce_hold(struct msg *m, const struct rcpt_work *w, struct ipc_rcpt_update *u)
{
    uint64_t now = now_us(), end = bounce_end_us(m->r, m);
    char until[32];

    if (end < now)
        end = now; /* given up already: removed at the next due scan */
    u->state = RCPT_HELD;
    u->next_attempt_us = end;
    snprintf(u->last_reply, sizeof(u->last_reply),
             "undeliverable DSN, held until %s, then removed: %.*s",
             router_iso_utc(end, until, sizeof(until)), (int)sizeof(u->last_reply) - 80, w->reply);
    log_warn("%s: undeliverable DSN to <%s> held for the administrator: %s", m->env.qid, w->r.addr,
             w->reply);
    notice_send(m, w, end);
}

void router_bounce_expire(struct msg *m, struct rcpt_work *w)
{
    char age[32], last[IPC_REPLY_MAX + 1];

    snprintf(last, sizeof(last), "%s", w->r.last_reply);
    w->outcome = OUT_FAILED;
    w->bounce_expired = 1;
    snprintf(w->status, sizeof(w->status), "5.4.7");
    snprintf(w->reply, sizeof(w->reply), "undeliverable bounce expired after %s; was: %.*s",
             router_duration_text((uint64_t)m->r->cfg->router.bounce_queue_lifetime * 1000000u, age,
                                  sizeof(age)),
             (int)sizeof(w->reply) - 80, last);
}

void router_bounce_expired_log(const struct msg *m, const struct rcpt_work *w)
{
    char age[32];
    uint32_t open = 0;

    for (uint32_t i = 0; i < m->nrcpt; i++)
        open += !rcpt_state_final(m->rcpts[i].r.state) && &m->rcpts[i] != w &&
                !(m->rcpts[i].due &&
                  (m->rcpts[i].outcome == OUT_DELIVERED || m->rcpts[i].outcome == OUT_FAILED));
    router_duration_text((uint64_t)m->r->cfg->router.bounce_queue_lifetime * 1000000u, age,
                         sizeof(age));
    if (open == 0)
        log_notice("%s: removed (undeliverable bounce expired after %s)", m->env.qid, age);
    else
        log_notice("%s: rcpt %u: undeliverable bounce to <%s> expired after %s", m->env.qid,
                   w->r.index, w->r.addr, age);
}
