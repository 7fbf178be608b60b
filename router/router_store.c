/* router_store.c - the router's links to the store: a work connection with requests answered in order, and an events subscription. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router.h"

#define STORE_RETRY_MS 500
#define STORE_CAPS "read,update,list,due,events,submit"

struct store_req {
    uint32_t id;
    store_answer_fn answer;
    store_fail_fn fail;
    void *arg;
    struct store_req *next;
};

static void links_connect(struct router *r);

static void links_retry_cb(uv_timer_t *t)
{
    links_connect(t->data);
}

/* ---- the request queue --------------------------------------------------------- */

static void requests_fail_all(struct router *r, const char *why)
{
    while (r->req_head) {
        struct store_req *q = r->req_head;

        r->req_head = q->next;
        if (q->fail)
            q->fail(r, why, q->arg);
        free(q);
    }
    r->req_tail = NULL;
}

int router_store_request(struct router *r, store_encode_fn encode, store_answer_fn answer,
                  store_fail_fn fail, void *arg)
{
    struct store_req *q;

    if (!r->store_up || !r->work)
        return -1;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -1;
    q->id = ipc_uv_request_id(r->work);
    q->answer = answer;
    q->fail = fail;
    q->arg = arg;
    if (encode(ipc_uv_out(r->work), q->id, arg) < 0) {
        free(q);
        return -1;
    }
    if (r->req_tail)
        r->req_tail->next = q;
    else
        r->req_head = q;
    r->req_tail = q;
    ipc_uv_flush(r->work); /* a failure comes back through work_closed */
    return 0;
}

static void work_frame(struct ipc_uv *c, struct ipc_reader *rd, void *arg)
{
    struct router *r = arg;
    struct store_req *q = r->req_head;

    if (!q || rd->request_id != q->id) {
        log_error("store answered request %u, expected %u: reconnecting", rd->request_id,
                  q ? q->id : 0);
        ipc_uv_close(c);
        r->work = NULL;
        r->store_up = 0;
        requests_fail_all(r, "store answered out of order");
        router_queue_store_lost(r);
        links_connect(r);
        return;
    }
    if (q->answer(r, rd, q->arg)) {
        r->req_head = q->next;
        if (!r->req_head)
            r->req_tail = NULL;
        free(q);
    }
}

/* ---- updates ----------------------------------------------------------------------- */

struct update_req {
    struct ipc_rcpt_update u;
    void (*done)(struct router *r, int ok, void *arg);
    void *arg;
};

static int update_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    return ipc_encode_rcpt_update(b, id, &((struct update_req *)arg)->u);
}

static int update_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct update_req *q = arg;
    struct ipc_error e;
    int ok = rd->type == IPC_OK;

    if (!ok && ipc_decode_error(rd, &e) == 0)
        log_error("%s: recording recipient %u as %s failed: %s", q->u.qid, q->u.index,
                  rcpt_state_name(q->u.state), e.text);
    if (q->done)
        q->done(r, ok, q->arg);
    free(q);
    return 1;
}

static void update_fail(struct router *r, const char *why, void *arg)
{
    struct update_req *q = arg;

    log_warn("%s: recipient %u not recorded as %s: %s", q->u.qid, q->u.index,
             rcpt_state_name(q->u.state), why);
    if (q->done)
        q->done(r, 0, q->arg);
    free(q);
}

void router_store_update_rcpt(struct router *r, const struct ipc_rcpt_update *u,
                       void (*done)(struct router *r, int ok, void *arg), void *arg)
{
    struct update_req *q = calloc(1, sizeof(*q));

    if (!q) {
        if (done)
            done(r, 0, arg);
        return;
    }
    q->u = *u;
    q->done = done;
    q->arg = arg;
    if (router_store_request(r, update_encode, update_answer, update_fail, q) < 0)
        update_fail(r, "store unavailable", q);
}

/* ---- the links ------------------------------------------------------------------- */

static void links_close(struct router *r)
{
    if (r->work)
        ipc_uv_close(r->work);
    if (r->events)
        ipc_uv_close(r->events);
    r->work = r->events = NULL;
    r->store_up = 0;
}

static void links_down(struct router *r, const char *why)
{
    int was_up = r->store_up;

    links_close(r);
    if (was_up || strcmp(r->store_why, why) != 0)
        log_error("mail store unavailable (%s): %s; deliveries wait until it is back",
                  r->store_socket, why);
    snprintf(r->store_why, sizeof(r->store_why), "%s", why);
    requests_fail_all(r, why);
    if (was_up)
        router_queue_store_lost(r);
    if (!r->stopping)
        uv_timer_start(&r->store_retry, links_retry_cb, STORE_RETRY_MS, 0);
}

static void work_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct router *r = arg;

    r->work = NULL;
    links_down(r, why);
}

static void events_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct router *r = arg;

    r->events = NULL;
    links_down(r, why);
}

static void events_frame(struct ipc_uv *c, struct ipc_reader *rd, void *arg)
{
    struct router *r = arg;
    struct ipc_event ev;

    if (rd->type == IPC_OK)
        return; /* the subscription itself */
    if (ipc_decode_event(rd, &ev) < 0) {
        log_error("bad event from the store: %s", rd->error);
        return;
    }
    if (ev.kind == IPC_EV_COMMITTED && ev.qid[0])
        router_queue_message(r, ev.qid);
    else
        router_queue_due_scan(r);
}

static void both_ready(struct router *r)
{
    const struct ipc_hello *h;

    if (!r->work || !r->events || r->store_up)
        return;
    h = ipc_uv_peer(r->work);
    r->store_up = 1;
    log_notice("mail store ready: %s protocol %u.%u, generation %llu%s", h->program, h->major,
               h->minor, (unsigned long long)h->generation,
               r->generation && r->generation != h->generation ? " (a new generation: reloading all work)"
                                                               : "");
    r->generation = h->generation;
    r->store_why[0] = '\0';
    router_queue_start(r);
}

static void work_ready(struct ipc_uv *c, void *arg)
{
    both_ready(arg);
}

static void events_ready(struct ipc_uv *c, void *arg)
{
    struct router *r = arg;

    if (ipc_encode_empty(ipc_uv_out(c), IPC_SUBSCRIBE, ipc_uv_request_id(c)) < 0 ||
        ipc_uv_flush(c) < 0)
        return;
    both_ready(r);
}

static const struct ipc_uv_ops work_ops = {
    .ready = work_ready, .frame = work_frame, .closed = work_closed,
};
static const struct ipc_uv_ops events_ops = {
    .ready = events_ready, .frame = events_frame, .closed = events_closed,
};

static void links_connect(struct router *r)
{
    if (r->stopping || r->work || r->events)
        return;
    r->work = ipc_uv_connect(r->loop, r->store_socket, ROUTER_PROGRAM, "router", STORE_CAPS,
                             &work_ops, r);
    r->events = ipc_uv_connect(r->loop, r->store_socket, ROUTER_PROGRAM, "router", STORE_CAPS,
                               &events_ops, r);
    if (!r->work || !r->events)
        links_down(r, "out of memory");
}

void router_store_links_start(struct router *r)
{
    uv_timer_init(r->loop, &r->store_retry);
    r->store_retry.data = r;
    snprintf(r->store_why, sizeof(r->store_why), "not connected yet");
    links_connect(r);
}

void router_store_links_stop(struct router *r)
{
    uv_close((uv_handle_t *)&r->store_retry, NULL);
    links_close(r);
    requests_fail_all(r, "router stopping");
}
