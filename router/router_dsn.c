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
    struct ipc_uv *conn;
    uint8_t *orig;
    size_t orig_len, orig_cap, keep;
    int reading, submitted;
    struct msg *m;                  /* failures: the message waiting for us */
    void (*done)(struct msg *m, int ok);
};

static void dsn_job_end(struct dsn_job *j, int ok, const char *why)
{
    if (!ok)
        log_error("%s: %s DSN to <%s> not sent: %s", j->env.qid,
                  j->action == DSN_ACTION_FAILED ? "failure" : "delay", j->env.sender, why);
    if (j->conn)
        ipc_uv_close(j->conn);
    if (j->done)
        j->done(j->m, ok);
    free(j->orig);
    free(j->rc);
    free(j);
}

static int dsn_keep_more(struct dsn_job *j)
{
    return j->orig_len < j->keep;
}

static void dsn_submit(struct dsn_job *j)
{
    struct router *r = j->r;
    struct dsn_msg dm = {.reporting_mta = r->hostname, .sender = j->env.sender, .envid = j->env.envid,
                         .qid = j->env.qid, .arrival_us = j->env.arrival_us, .now_us = now_us(),
                         .ret = j->env.ret == IPC_RET_FULL ? DSN_RETURN_FULL : DSN_RETURN_HEADERS,
                         .return_limit = (size_t)r->cfg->router.dsn_return_limit};
    struct dsn_rcpt *dr = calloc(j->n, sizeof(*dr));
    struct sg_buf out = {0};
    char why[256] = "";
    struct sg_buf *b = ipc_uv_out(j->conn);
    struct ipc_submit_begin sb = {.flags = IPC_FLAG_DSN_MSG};
    struct ipc_submit_rcpt sr = {.notify = IPC_NOTIFY_NEVER};
    struct ipc_submit_commit cm;
    uint64_t willretry = j->env.arrival_us + (uint64_t)r->cfg->router.max_queue_lifetime * 1000000u;

    if (!dr) {
        dsn_job_end(j, 0, "out of memory");
        return;
    }
    for (unsigned i = 0; i < j->n; i++)
        dr[i] = (struct dsn_rcpt){.addr = j->rc[i].addr, .orcpt = j->rc[i].orcpt, .action = j->action,
                                  .status = j->rc[i].status, .remote_mta = j->rc[i].remote,
                                  .diagnostic = j->rc[i].diagnostic, .reason = j->rc[i].reason,
                                  .last_attempt_us = dm.now_us, .will_retry_until_us = willretry};
    if (dsn_compose(&dm, dr, j->n, j->orig, j->orig_len, &out, why, sizeof(why)) < 0) {
        free(dr);
        free(out.data);
        dsn_job_end(j, 0, why);
        return;
    }
    free(dr);
    snprintf(sb.origin, sizeof(sb.origin), "%s", j->origin);
    snprintf(sr.addr, sizeof(sr.addr), "%s", j->env.sender);
    ipc_encode_submit_begin(b, ipc_uv_request_id(j->conn), &sb);
    ipc_encode_submit_rcpt(b, 0, &sr);
    for (size_t off = 0; off < out.len; off += IPC_CHUNK_MAX / 2) {
        struct ipc_chunk ch = {.data = out.data + off,
                               .len = out.len - off < IPC_CHUNK_MAX / 2 ? out.len - off : IPC_CHUNK_MAX / 2};
        ipc_encode_submit_chunk(b, 0, &ch);
    }
    cm.size = out.len;
    ipc_encode_submit_commit(b, ipc_uv_request_id(j->conn), &cm);
    free(out.data);
    j->reading = 0;
    ipc_uv_flush(j->conn);
}

static void dsn_frame(struct ipc_uv *u, struct ipc_reader *rd, void *arg)
{
    struct dsn_job *j = arg;
    struct ipc_chunk ch;
    struct ipc_submitted done;
    struct ipc_error e;

    if (j->reading && rd->type == IPC_CHUNK && ipc_decode_chunk(rd, &ch) == 0) {
        if (dsn_keep_more(j)) {
            size_t take = ch.len < j->keep - j->orig_len ? ch.len : j->keep - j->orig_len;

            if (j->orig_len + take > j->orig_cap) {
                size_t cap = j->orig_cap ? j->orig_cap : 16384;
                uint8_t *p;

                while (cap < j->orig_len + take)
                    cap *= 2;
                if (!(p = realloc(j->orig, cap))) {
                    dsn_job_end(j, 0, "out of memory");
                    return;
                }
                j->orig = p;
                j->orig_cap = cap;
            }
            memcpy(j->orig + j->orig_len, ch.data, take);
            j->orig_len += take;
        }
        return;
    }
    if (j->reading && rd->type == IPC_END) {
        dsn_submit(j);
        return;
    }
    if (rd->type == IPC_SUBMIT_STARTED)
        return;
    if (rd->type == IPC_SUBMITTED && ipc_decode_submitted(rd, &done) == 0) {
        log_info("%s: %s DSN to <%s> queued as %s%s", j->env.qid,
                 j->action == DSN_ACTION_FAILED ? "failure" : "delay", j->env.sender, done.qid,
                 done.duplicate ? " (sent before: not again)" : "");
        dsn_job_end(j, 1, NULL);
        return;
    }
    dsn_job_end(j, 0, rd->type == IPC_ERROR && ipc_decode_error(rd, &e) == 0 ? e.text : "unexpected answer");
}

static void dsn_ready(struct ipc_uv *u, void *arg)
{
    struct dsn_job *j = arg;
    struct ipc_qid_msg q;

    snprintf(q.qid, sizeof(q.qid), "%s", j->env.qid);
    j->reading = 1;
    ipc_encode_qid_msg(ipc_uv_out(u), IPC_READ_BODY, ipc_uv_request_id(u), &q);
    ipc_uv_flush(u);
}

static void dsn_closed(struct ipc_uv *u, const char *why, void *arg)
{
    struct dsn_job *j = arg;

    j->conn = NULL;
    dsn_job_end(j, 0, why);
}

static const struct ipc_uv_ops dsn_ops = {.ready = dsn_ready, .frame = dsn_frame, .closed = dsn_closed};

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
    j->keep = m->env.ret == IPC_RET_FULL && m->env.size <= (uint64_t)m->r->cfg->router.dsn_return_limit
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
    j->conn = ipc_uv_connect(j->r->loop, j->r->store_socket, ROUTER_PROGRAM, "router", "read,submit",
                             &dsn_ops, j);
    if (!j->conn)
        dsn_job_end(j, 0, "out of memory");
}

void router_dsn_send_failures(struct msg *m, void (*done)(struct msg *m, int ok))
{
    struct dsn_job *j;
    size_t n = 0;

    if (!m->env.sender[0]) {
        log_info("%s: no failure DSN: null sender", m->env.qid);
        done(m, 1);
        return;
    }
    j = dsn_job_new(m, DSN_ACTION_FAILED);
    if (!j) {
        done(m, 0);
        return;
    }
    n = (size_t)snprintf(j->origin, sizeof(j->origin), "dsn-failed:%s:", m->env.qid);
    for (uint32_t i = 0; i < m->nrcpt; i++) {
        const struct rcpt_work *w = &m->rcpts[i];

        if (!w->due || w->outcome != OUT_FAILED || !notify_wants(w->r.notify, IPC_NOTIFY_FAILURE))
            continue;
        dsn_job_add(j, w);
        if (n < sizeof(j->origin) - 12)
            n += (size_t)snprintf(j->origin + n, sizeof(j->origin) - n, "%u,", w->r.index);
    }
    if (j->n == 0) {
        free(j->rc);
        free(j);
        done(m, 1);
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

    if (!m->env.sender[0] || (m->env.flags & IPC_FLAG_DSN_MSG) || r->cfg->router.delay_warning == 0 ||
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
