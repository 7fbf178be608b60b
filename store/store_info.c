/* store_info.c - what spoolctl status, metrics and summary ask: the connected clients, the store's counters, the queue's shape. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <errno.h>

#include "build-config.h"
#include "log.h"
#include "qid.h"
#include "store_conn.h"
#include "store_ops.h"

#define SHAPE_BATCH_MESSAGES 1000u

/* ---- CLIENTS: the store itself (with its package version), then every connection ---- */

static uint64_t clients_of(struct ipc_server *srv, struct sg_buf *out, uint32_t request_id)
{
    uint64_t n = 0;

    for (struct ipc_server_conn *sc = ipc_server_first(srv); sc; sc = ipc_server_next(sc)) {
        const struct ipc_hello *h = ipc_server_conn_peer(sc);
        struct ipc_client_item it = {0};
        pid_t pid;
        uid_t uid;

        if (!ipc_server_conn_ready(sc))
            continue;
        ipc_server_conn_cred(sc, &pid, &uid);
        snprintf(it.program, sizeof(it.program), "%s", h->program);
        snprintf(it.role, sizeof(it.role), "%s", h->role);
        snprintf(it.version, sizeof(it.version), "%u.%u", h->major, h->minor);
        snprintf(it.caps, sizeof(it.caps), "%s", h->caps_needed);
        it.pid = (uint32_t)pid;
        it.uid = (uint32_t)uid;
        ipc_encode_client_item(out, request_id, &it);
        n++;
    }
    return n;
}

void store_op_clients(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct sg_buf *out = ipc_server_conn_out(c->sc);
    struct ipc_client_item self = {.program = "spoolgate-store",
                                   .role = "store",
                                   .version = PACKAGE_VERSION,
                                   .pid = (uint32_t)getpid(),
                                   .uid = (uint32_t)getuid(),
                                   .caps = IPC_CAPS_STORE};
    struct ipc_end end;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad CLIENTS: %s", r->error);
        return;
    }
    ipc_encode_client_item(out, r->request_id, &self); /* the store itself comes first */
    end.count = 1 + clients_of(st->server, out, r->request_id);
    end.count += clients_of(st->submit_server, out, r->request_id);
    ipc_encode_end(out, r->request_id, &end);
    ipc_server_conn_flush(c->sc);
}

/* ---- METRICS -------------------------------------------------------------- */

struct metrics_work {
    struct store_op_req req;
    struct store_counts counts;
};

static void metric(struct sg_buf *out, uint32_t id, uint64_t v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void metric(struct sg_buf *out, uint32_t id, uint64_t v, const char *fmt, ...)
{
    struct ipc_metric_item m = {.value = v};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m.name, sizeof(m.name), fmt, ap);
    va_end(ap);
    ipc_encode_metric_item(out, id, &m);
}

static int metrics_txn(struct store_txn *t, void *arg)
{
    struct metrics_work *mw = arg;

    return store_db_get_counts(t, &mw->counts);
}

static void metrics_run(struct store_work *w)
{
    struct metrics_work *mw = (struct metrics_work *)w;

    mw->req.ret = store_db_txn(store_op_db(w), metrics_txn, mw, STORE_TXN_READ_COMMITTED);
}

/* The connections now, by the role each gave in its hello. */
static void metrics_connections(struct store *st, struct sg_buf *out, uint32_t id)
{
    static const char *const roles[] = {"smtpd", "router", "gateway", "admin", "submit"};
    uint64_t n[sizeof(roles) / sizeof(roles[0]) + 1] = {0};
    struct ipc_server *servers[] = {st->server, st->submit_server};
    size_t nroles = sizeof(roles) / sizeof(roles[0]), i;

    for (size_t s = 0; s < 2; s++)
        for (struct ipc_server_conn *sc = ipc_server_first(servers[s]); sc;
             sc = ipc_server_next(sc)) {
            if (!ipc_server_conn_ready(sc))
                continue;
            for (i = 0; i < nroles; i++)
                if (strcmp(ipc_server_conn_peer(sc)->role, roles[i]) == 0)
                    break;
            n[i]++;
        }
    for (i = 0; i <= nroles; i++)
        metric(out, id, n[i], "store_connections{role=\"%s\"}", i < nroles ? roles[i] : "other");
}

/* The queue by state and age, as kept in memory (no walk); nothing when it is not kept. */
static void metrics_age(struct store *st, struct sg_buf *out, uint32_t id)
{
    uint64_t by[RCPT_STATE_COUNT][IPC_SHAPE_BUCKETS];

    if (store_db_age_buckets(&st->db, now_us(), by) < 0)
        return;
    metric(out, id, 1, "queue_age_kept");
    for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++)
        for (int b = 0; b < IPC_SHAPE_BUCKETS; b++)
            if (!rcpt_state_final(s))
                metric(out, id, by[s][b], "queue_age{state=\"%s\",bucket=\"%d\"}",
                       rcpt_state_name(s), b);
}

static void metrics_encode(struct metrics_work *mw, struct store *st)
{
    struct store_db_metrics *m = &st->db.metrics;
    struct sg_buf *out = &mw->req.out;
    uint32_t id = mw->req.request_id;
    uint64_t cum = 0;

    metric(out, id, mw->counts.messages, "queue_messages");
    for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++)
        metric(out, id, mw->counts.by_state[s], "queue_recipients{state=\"%s\"}",
               rcpt_state_name(s));
    for (uint32_t s = 0; s < RCPT_STATE_COUNT; s++)
        metric(out, id, atomic_load(&m->entered[s]), "recipients_entered_total{state=\"%s\"}",
               rcpt_state_name(s));
    for (int b = 0; b <= STORE_COMMIT_BUCKETS; b++) {
        cum += atomic_load(&m->commit_bucket[b]);
        if (b < STORE_COMMIT_BUCKETS)
            metric(out, id, cum, "commit_bucket_us{le=\"%llu\"}",
                   (unsigned long long)store_db_commit_le_us[b]);
        else
            metric(out, id, cum, "commit_bucket_us{le=\"+Inf\"}");
    }
    metric(out, id, atomic_load(&m->commit_sum_us), "commit_sum_us");
    metric(out, id, atomic_load(&m->commits), "commit_count");
    metric(out, id, st->accepted, "store_connections_total");
    metric(out, id, st->started_us, "store_started_us");
    metric(out, id, st->db.generation, "store_generation");
    metrics_connections(st, out, id);
    for (size_t i = 0; i < st->nreported; i++)
        ipc_encode_metric_item(out, id, &st->reported[i]);
    metrics_age(st, out, id);
}

/* REPORT: a daemon's total of one of its own counters, kept for METRICS (in memory). */
void store_op_report(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct ipc_metric_item m;
    size_t i;

    if (ipc_decode_metric_item(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad REPORT: %s", r->error);
        return;
    }
    for (i = 0; i < st->nreported; i++)
        if (strcmp(st->reported[i].name, m.name) == 0)
            break;
    if (i == IPC_REPORT_MAX) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM, "report: too many counters");
        return;
    }
    if (i == st->nreported)
        st->nreported++;
    st->reported[i] = m;
    store_conn_reply_ok(c, r->request_id, m.value);
}

static void metrics_done(struct store_work *w)
{
    struct metrics_work *mw = (struct metrics_work *)w;
    struct store_conn *c = w->conn;
    struct ipc_end end = {.count = 0};

    if (mw->req.ret != 0) {
        store_op_reply_error(&mw->req.out, mw->req.request_id, mw->req.ret, "metrics");
    } else {
        metrics_encode(mw, store_conn_store(c));
        ipc_encode_end(&mw->req.out, mw->req.request_id, &end);
    }
    store_op_done(w);
}

void store_op_metrics(struct store_conn *c, struct ipc_reader *r)
{
    struct metrics_work *mw;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad METRICS: %s", r->error);
        return;
    }
    if ((mw = store_op_req_new(c, r, sizeof(*mw))))
        store_work_queue(c, &mw->req.base, metrics_run, metrics_done);
}

/* ---- SHAPE ---------------------------------------------------------------- */

/* Recipients by (domain, state), each by age bucket: an open-addressing table of rows. */
struct shape_work {
    struct store_op_req req;
    struct ipc_list_filter f;
    uint64_t now, pos;
    struct ipc_shape_row *rows;
    size_t n, cap;
    uint32_t *slots; /* row index + 1, 0 empty; 2 * cap of them */
    int oom;
};

static uint32_t shape_hash(const char *domain, uint32_t state)
{
    uint32_t h = 2166136261u ^ state;

    for (const char *p = domain; *p; p++)
        h = (h ^ (uint8_t)(*p | 0x20)) * 16777619u;
    return h;
}

static int shape_grow(struct shape_work *sw)
{
    size_t cap = sw->cap ? sw->cap * 2 : 64;
    struct ipc_shape_row *rows = realloc(sw->rows, cap * sizeof(*rows));
    uint32_t *slots = calloc(cap * 2, sizeof(*slots));

    if (rows)
        sw->rows = rows;
    if (!rows || !slots) {
        free(slots);
        return -1;
    }
    for (size_t i = 0; i < sw->n; i++) {
        size_t k = shape_hash(sw->rows[i].domain, sw->rows[i].state) & (cap * 2 - 1);
        while (slots[k])
            k = (k + 1) & (cap * 2 - 1);
        slots[k] = (uint32_t)i + 1;
    }
    free(sw->slots);
    sw->slots = slots;
    sw->cap = cap;
    return 0;
}

static struct ipc_shape_row *shape_row(struct shape_work *sw, const char *domain, uint32_t state)
{
    size_t k;

    if (sw->n == sw->cap && shape_grow(sw) < 0)
        return NULL;
    k = shape_hash(domain, state) & (sw->cap * 2 - 1);
    for (; sw->slots[k]; k = (k + 1) & (sw->cap * 2 - 1)) {
        struct ipc_shape_row *row = &sw->rows[sw->slots[k] - 1];
        if (row->state == state && strcasecmp(row->domain, domain) == 0)
            return row;
    }
    memset(&sw->rows[sw->n], 0, sizeof(sw->rows[0]));
    snprintf(sw->rows[sw->n].domain, sizeof(sw->rows[0].domain), "%s", domain);
    for (char *p = sw->rows[sw->n].domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p | 0x20);
    sw->rows[sw->n].state = state;
    sw->slots[k] = (uint32_t)++sw->n;
    return &sw->rows[sw->n - 1];
}

/* Final recipients are not queue unless the filter asks for their state. */
static int shape_one(const struct rec_envelope *e, const struct rec_rcpt *rc, void *arg)
{
    struct shape_work *sw = arg;
    int b = ipc_shape_bucket(sw->now > e->arrival_us ? sw->now - e->arrival_us : 0);

    if (!store_filter_envelope(&sw->f.f, e))
        return 0;
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        struct ipc_shape_row *row;

        if (!store_filter_rcpt(&sw->f.f, &rc[i]) ||
            (!sw->f.f.state_mask && rcpt_state_final(rc[i].state)))
            continue;
        if (!(row = shape_row(sw, ipc_addr_domain(rc[i].addr), rc[i].state))) {
            sw->oom = 1;
            return ENOMEM;
        }
        row->count[b]++;
    }
    return 0;
}

static int shape_batch_txn(struct store_txn *t, void *arg)
{
    struct shape_work *sw = arg;
    struct store_walk w = {.pos = sw->pos, .max = SHAPE_BATCH_MESSAGES, .fn = shape_one, .arg = sw};
    int ret = store_db_walk_messages(t, &w);

    free(w.rc);
    sw->pos = w.pos;
    return ret;
}

static void shape_run(struct store_work *w)
{
    struct shape_work *sw = (struct shape_work *)w;
    struct ipc_end end;
    int ret;

    sw->now = now_us();
    while ((ret = store_db_txn(store_op_db(w), shape_batch_txn, sw, STORE_TXN_READ_COMMITTED)) == 0)
        ;
    if (ret != STORE_ENOTFOUND) {
        store_op_reply_error(&sw->req.out, sw->req.request_id, ret, "shape");
        return;
    }
    for (size_t i = 0; i < sw->n; i++)
        ipc_encode_shape_row(&sw->req.out, sw->req.request_id, &sw->rows[i]);
    end.count = sw->n;
    ipc_encode_end(&sw->req.out, sw->req.request_id, &end);
}

static void shape_done(struct store_work *w)
{
    struct shape_work *sw = (struct shape_work *)w;

    free(sw->rows);
    free(sw->slots);
    store_op_done(w);
}

void store_op_shape(struct store_conn *c, struct ipc_reader *r)
{
    struct shape_work *sw;
    struct ipc_list_filter f;

    if (ipc_decode_list_filter(r, &f) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad SHAPE: %s", r->error);
        return;
    }
    if (!(sw = store_op_req_new(c, r, sizeof(*sw))))
        return;
    sw->f = f;
    store_work_queue(c, &sw->req.base, shape_run, shape_done);
}
