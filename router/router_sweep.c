/* router_sweep.c - filling the active set: start-up re-categorization in pages, due scans, the postoffice sweep, as room frees up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router.h"

#define SWEEP_PAGE 500u /* messages asked for in one LIST_FROM */
#define DUE_PAGE 1000u  /* recipients asked for in one DUE */

/* ---- a page of a sweep: envelopes and their recipients, message after message -- */

struct page_req {
    struct router *r;
    struct sweep *s;
    uint32_t limit;
    struct msg *m; /* the message being read from the stream, NULL when skipped */
    uint32_t got;  /* its recipients read so far */
    uint64_t taken;
};

static int sweep_wants(const struct sweep *s, const struct msg *m)
{
    if (s->kind != SWEEP_GATEWAY)
        return 1;
    for (uint32_t i = 0; i < m->nrcpt; i++)
        if (m->rcpts[i].r.state == RCPT_DEFERRED && strcmp(m->rcpts[i].r.route, "gateway") == 0)
            return 1;
    return 0;
}

/* The message read from the page is complete: work on it, or drop it. */
static void page_take(struct page_req *q)
{
    struct msg *m = q->m;

    q->m = NULL;
    if (!m)
        return;
    if (q->got != m->env.nrcpt) {
        log_error("%s: %u of %u recipients in the store's list; the due scan brings it back",
                  m->env.qid, q->got, m->env.nrcpt);
        router_msg_free(m);
        return;
    }
    m->nrcpt = q->got;
    if (!sweep_wants(q->s, m)) {
        router_msg_free(m);
        return;
    }
    q->taken++;
    router_queue_categorize(m, q->s->force);
}

static void page_envelope(struct page_req *q, const struct ipc_envelope *e)
{
    struct router *r = q->r;
    struct msg *m = router_msg_find(r, e->qid);

    page_take(q);
    q->got = 0;
    snprintf(q->s->after, sizeof(q->s->after), "%s", e->qid);
    if (m) { /* being worked on: looked at again, as forced, when it is done */
        m->again = 1;
        if (q->s->force > m->again_force)
            m->again_force = q->s->force;
        return;
    }
    if (e->nrcpt == 0 || !(m = router_msg_new(r, e->qid)))
        return;
    m->env = *e;
    if (router_msg_rcpts(m, e->nrcpt) < 0) {
        router_msg_free(m);
        return;
    }
    q->m = m;
}

static int page_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct page_req *q = arg;
    struct ipc_list_from l = {.limit = q->limit};

    l.state_mask = q->s->kind == SWEEP_GATEWAY
                       ? (1u << RCPT_DEFERRED)
                       : (1u << RCPT_QUEUED) | (1u << RCPT_ACTIVE) | (1u << RCPT_DEFERRED);
    snprintf(l.after_qid, sizeof(l.after_qid), "%s", q->s->after);
    return ipc_encode_list_from(b, id, &l);
}

static void sweep_page_done(struct page_req *q, uint64_t listed)
{
    struct sweep *s = q->s;
    struct router *r = q->r;

    s->busy = 0;
    s->messages += q->taken;
    if (listed >= q->limit) { /* a full page: there may be more */
        router_pump_soon(r);
        free(q);
        return;
    }
    s->active = 0;
    if (s->kind == SWEEP_ALL)
        log_notice("%s: %llu messages with recipients to route, all re-categorized now",
                   s->force == ROUTER_FORCE_ALL ? "start-up" : "store back",
                   (unsigned long long)s->messages);
    if (s->restart) /* asked for again while it ran: once more from the start */
        router_sweep_start(r, s->kind, s->restart_force);
    free(q);
}

static int page_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct page_req *q = arg;
    struct ipc_envelope e;
    struct ipc_end end;

    if (rd->type == IPC_ENVELOPE && ipc_decode_envelope(rd, &e) == 0) {
        page_envelope(q, &e);
        return 0;
    }
    if (rd->type == IPC_RCPT) {
        if (q->m && (q->got >= q->m->env.nrcpt || ipc_decode_rcpt(rd, &q->m->rcpts[q->got].r) < 0))
            q->got = UINT32_MAX; /* counted as broken when the message is taken */
        else if (q->m)
            q->got++;
        return 0;
    }
    page_take(q);
    if (rd->type == IPC_END && ipc_decode_end(rd, &end) == 0) {
        sweep_page_done(q, end.count);
        return 1;
    }
    log_error("re-categorization: unexpected answer %s; tried again from the start",
              ipc_type_name(rd->type));
    q->s->busy = 0;
    snprintf(q->s->after, sizeof(q->s->after), "%s", "");
    router_pump_soon(r);
    free(q);
    return 1;
}

static void page_fail(struct router *r, const char *why, void *arg)
{
    struct page_req *q = arg;

    if (q->m)
        router_msg_free(q->m);
    q->s->busy = 0; /* resumed from its cursor once the store is back */
    free(q);
}

static void sweep_next_page(struct router *r, struct sweep *s, uint64_t room)
{
    struct page_req *q = calloc(1, sizeof(*q));

    if (!q)
        return;
    q->r = r;
    q->s = s;
    q->limit = room < SWEEP_PAGE ? (uint32_t)room : SWEEP_PAGE;
    s->busy = 1;
    if (router_store_request(r, page_encode, page_answer, page_fail, q) < 0)
        page_fail(r, "store unavailable", q);
}

void router_sweep_start(struct router *r, enum sweep_kind kind, int force)
{
    struct sweep *s = &r->sweeps[kind];

    if (r->stopping)
        return;                           /* nothing new is taken up: the next start does */
    if (s->active && kind == SWEEP_ALL) { /* resumed from its cursor, forced at least as hard */
        if (force > s->force)
            s->force = force;
        router_pump_soon(r);
        return;
    }
    if (s->active && s->busy) { /* a page is out: start over once this sweep ends */
        s->restart = 1;
        if (force > s->restart_force)
            s->restart_force = force;
        return;
    }
    s->kind = kind;
    s->force = force;
    s->active = 1;
    s->restart = 0;
    s->restart_force = 0;
    s->messages = 0;
    s->after[0] = '\0';
    router_pump_soon(r);
}

/* ---- due scans -------------------------------------------------------------------- */

struct due_req {
    uint32_t limit, fresh;
    char last_qid[IPC_QID_MAX + 1];
};

static int due_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct ipc_due_req d = {.limit = ((struct due_req *)arg)->limit};

    return ipc_encode_due_req(b, id, &d);
}

static int due_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct due_req *q = arg;
    struct ipc_due_item it;
    struct ipc_end end;

    if (rd->type == IPC_DUE_ITEM && ipc_decode_due_item(rd, &it) == 0) {
        if (strcmp(it.qid, q->last_qid) != 0) {
            snprintf(q->last_qid, sizeof(q->last_qid), "%s", it.qid);
            q->fresh += router_queue_message(r, it.qid);
        }
        return 0;
    }
    r->due_running = 0;
    if (rd->type == IPC_END && ipc_decode_end(rd, &end) == 0) {
        /* A full page that brought new work: more may be due behind it. */
        if (end.count >= q->limit && q->fresh)
            r->due_more = 1;
        router_pump_soon(r);
    } else {
        log_error("due scan: unexpected answer %s", ipc_type_name(rd->type));
    }
    free(q);
    return 1;
}

static void due_fail(struct router *r, const char *why, void *arg)
{
    r->due_running = 0;
    free(arg);
}

void router_queue_due_scan(struct router *r)
{
    uint64_t room = router_room(r);
    struct due_req *q;

    if (!r->store_up || r->due_running || r->stopping)
        return;
    if (room == 0) {
        r->due_more = 1; /* when room frees up */
        return;
    }
    if (!(q = calloc(1, sizeof(*q))))
        return;
    q->limit = room < DUE_PAGE ? (uint32_t)room : DUE_PAGE;
    r->due_running = 1;
    r->due_more = 0;
    if (router_store_request(r, due_encode, due_answer, due_fail, q) < 0)
        due_fail(r, "store unavailable", q);
}

/* ---- the pump: room freed, work waiting ------------------------------------------ */

static void router_pump(struct router *r)
{
    if (!r->store_up || r->stopping)
        return;
    for (int k = 0; k < SWEEP_COUNT; k++) {
        struct sweep *s = &r->sweeps[k];
        uint64_t room = router_room(r);

        if (s->active && !s->busy && room > 0)
            sweep_next_page(r, s, room);
    }
    if (r->due_more && r->reads_out == 0) {
        router_update_flush(r); /* the claims of the last page before the next page is asked */
        router_queue_due_scan(r);
    }
}

static void pump_idle_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    router_pump(h->data);
}

void router_pump_soon(struct router *r)
{
    if (!r->stopping && !uv_is_active((uv_handle_t *)&r->pump_idle))
        uv_idle_start(&r->pump_idle, pump_idle_cb);
}

static void due_timer_cb(uv_timer_t *t)
{
    router_queue_due_scan(t->data);
    router_gw_check_answers(t->data);
}

void router_queue_init(struct router *r)
{
    uv_idle_init(r->loop, &r->pump_idle);
    r->pump_idle.data = r;
    uv_timer_init(r->loop, &r->due_timer);
    r->due_timer.data = r;
}

void router_queue_start(struct router *r)
{
    router_sweep_start(r, SWEEP_ALL, r->started ? ROUTER_FORCE_ACTIVE : ROUTER_FORCE_ALL);
    r->started = 1;
    if (!uv_is_active((uv_handle_t *)&r->due_timer)) {
        uint64_t every = (uint64_t)r->cfg->router.due_interval * 1000u;

        uv_timer_start(&r->due_timer, due_timer_cb, every, every);
    }
}

void router_queue_gateway_back(struct router *r)
{
    router_sweep_start(r, SWEEP_GATEWAY, ROUTER_FORCE_ALL);
}

void router_queue_store_lost(struct router *r)
{
    r->due_running = 0;
}

void router_queue_stop(struct router *r)
{
    uv_timer_stop(&r->due_timer);
    uv_close((uv_handle_t *)&r->due_timer, NULL);
    uv_idle_stop(&r->pump_idle);
    uv_close((uv_handle_t *)&r->pump_idle, NULL);
}
