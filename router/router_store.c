/* router_store.c - the router's links to the store (common/store_client.h): a work connection whose requests are answered by id, read connections for envelopes, and an events subscription. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router.h"

#define STORE_RETRY_MS 500
#define STORE_CAPS IPC_CAPS_STORE_ROUTER
#define LINK_WORK 1u
#define LINK_EVENTS 2u
#define LINK_READ(i) (4u << (i))
#define LINKS_ALL (LINK_WORK | LINK_EVENTS | ((LINK_READ(ROUTER_READ_LINKS) - 1) & ~3u))

static void links_connect(struct router *r);

static void links_retry_cb(uv_timer_t *t)
{
    links_connect(t->data);
}

/* ---- requests on the work connection --------------------------------------------- */

/* The router's callbacks take the router; the client's take one argument. */
struct store_req {
    struct router *r;
    store_encode_fn encode;
    store_answer_fn answer;
    store_fail_fn fail;
    void *arg;
};

static int req_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct store_req *q = arg;

    return q->encode(b, id, q->arg);
}

static int req_answer(struct ipc_reader *rd, void *arg)
{
    struct store_req *q = arg;

    if (!q->answer(q->r, rd, q->arg))
        return 0;
    free(q);
    return 1;
}

static void req_fail(const char *why, void *arg)
{
    struct store_req *q = arg;

    if (q->fail)
        q->fail(q->r, why, q->arg);
    free(q);
}

static int request_on(struct router *r, struct sc_conn *c, store_encode_fn encode,
                      store_answer_fn answer, store_fail_fn fail, void *arg)
{
    struct store_req *q;

    if (!r->store_up || !c || !(q = calloc(1, sizeof(*q))))
        return -1;
    *q = (struct store_req){.r = r, .encode = encode, .answer = answer, .fail = fail, .arg = arg};
    if (sc_request(c, req_encode, req_answer, req_fail, q) < 0) {
        free(q);
        return -1;
    }
    return 0;
}

int router_store_request(struct router *r, store_encode_fn encode, store_answer_fn answer,
                         store_fail_fn fail, void *arg)
{
    return request_on(r, r->work, encode, answer, fail, arg);
}

int router_store_read_request(struct router *r, store_encode_fn encode, store_answer_fn answer,
                              store_fail_fn fail, void *arg)
{
    r->next_read = (r->next_read + 1) % ROUTER_READ_LINKS;
    return request_on(r, r->reads[r->next_read], encode, answer, fail, arg);
}

/* ---- the links ------------------------------------------------------------------- */

/* Every connection goes; what was asked on them fails with why. */
static void links_close(struct router *r, const char *why)
{
    struct sc_conn *work = r->work, *events = r->events, *reads[ROUTER_READ_LINKS];

    memcpy(reads, r->reads, sizeof(reads));
    memset(r->reads, 0, sizeof(r->reads));
    r->work = r->events = NULL;
    r->store_up = 0;
    r->links_ready = 0;
    sc_fail(work, why);
    for (int i = 0; i < ROUTER_READ_LINKS; i++)
        sc_fail(reads[i], why);
    sc_fail(events, why);
}

/* why: the store at where (the address a connection went to) was lost or refused us. */
static void links_down(struct router *r, const char *where, const char *why)
{
    int was_up = r->store_up;
    char text[sizeof(r->store_why)];

    snprintf(text, sizeof(text), "%s", why); /* why may belong to a connection closed here */
    r->store_up = 0;
    if (ipc_link_down_news(was_up, r->store_why[0] != '\0', r->store_why, text)) {
        log_error("mail store unavailable (%s): %s; deliveries wait until it is back", where, text);
        snprintf(r->store_why, sizeof(r->store_why), "%s", text); /* what was logged */
    }
    links_close(r, text);
    if (was_up)
        router_queue_store_lost(r);
    if (!r->stopping)
        uv_timer_start(&r->store_retry, links_retry_cb, STORE_RETRY_MS, 0);
}

static void work_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct router *r = arg;

    r->work = NULL;
    links_down(r, sc_conn_where(c), why);
}

static void reads_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct router *r = arg;

    for (int i = 0; i < ROUTER_READ_LINKS; i++)
        if (r->reads[i] == c)
            r->reads[i] = NULL;
    links_down(r, sc_conn_where(c), why);
}

static void events_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct router *r = arg;

    r->events = NULL;
    router_queue_committed_lost(r);
    links_down(r, sc_conn_where(c), why);
}

static void events_event(struct sc_conn *c, const struct ipc_event *ev, void *arg)
{
    struct router *r = arg;

    if (r->stopping)
        return; /* nothing new is taken up: the next start does */
    if (ev->kind == IPC_EV_COMMITTED && ev->qid[0]) {
        if (r->events_messages)
            router_queue_committed(r, ev->qid);
        else
            router_queue_message(r, ev->qid);
        return;
    }
    if (ev->kind == IPC_EV_PAUSED) {
        router_pause_fetch(r, 0);
        return;
    }
    if (ev->kind == IPC_EV_REQUEUED)
        router_dest_revive_all(r);
    router_queue_due_scan(r);
}

static void events_message(struct sc_conn *c, struct ipc_reader *rd, void *arg)
{
    struct router *r = arg;
    char why[96];

    if (router_queue_committed_frame(r, rd) == 0 || r->stopping)
        return; /* stopping: the COMMITTED before it was let go */
    snprintf(why, sizeof(why), "%s with no COMMITTED before it", ipc_type_name(rd->type));
    log_error("mail store events link: %s", why);
    sc_fail(c, why); /* no closed callback after it: the link is let go here */
    events_closed(c, why, r);
}

static void links_all_ready(struct router *r)
{
    const struct ipc_hello *h;

    if (r->store_up || r->links_ready != LINKS_ALL)
        return;
    h = sc_peer(r->work);
    r->store_up = 1;
    log_notice("mail store ready: %s protocol %u.%u, generation %llu (%s)%s", h->program, h->major,
               h->minor, (unsigned long long)h->generation, sc_conn_where(r->work),
               r->generation && r->generation != h->generation
                   ? " (a new generation: reloading all work)"
                   : "");
    r->generation = h->generation;
    r->store_why[0] = '\0';
    router_update_replay(r);  /* outcomes kept while the store was away: recorded first */
    router_pause_fetch(r, 1); /* then the queue starts, with the pauses known */
    router_report_send(r);
}

static void work_ready(struct sc_conn *c, void *arg)
{
    struct router *r = arg;

    r->links_ready |= LINK_WORK;
    links_all_ready(r);
}

static void reads_ready(struct sc_conn *c, void *arg)
{
    struct router *r = arg;

    for (int i = 0; i < ROUTER_READ_LINKS; i++)
        if (r->reads[i] == c)
            r->links_ready |= LINK_READ(i);
    links_all_ready(r);
}

static void events_ready(struct sc_conn *c, void *arg)
{
    struct router *r = arg;

    /* A store of protocol 1.4 or later sends each new message with its COMMITTED. */
    r->events_messages = sc_peer(c)->minor >= 4;
    if ((r->events_messages ? sc_subscribe_messages(c, NULL, NULL) : sc_subscribe(c, NULL, NULL)) <
        0)
        return;
    r->links_ready |= LINK_EVENTS;
    links_all_ready(r);
}

static const struct sc_conn_ops work_ops = {.ready = work_ready, .closed = work_closed};
static const struct sc_conn_ops reads_ops = {.ready = reads_ready, .closed = reads_closed};
static const struct sc_conn_ops events_ops = {
    .ready = events_ready,
    .event = events_event,
    .event_message = events_message,
    .closed = events_closed,
};

static void links_connect(struct router *r)
{
    int missing = 0;

    if (r->stopping || r->work || r->events)
        return;
    r->work = sc_connect(&r->sc, STORE_CAPS, &work_ops, r);
    for (int i = 0; i < ROUTER_READ_LINKS; i++)
        missing |= !(r->reads[i] = sc_connect(&r->sc, STORE_CAPS, &reads_ops, r));
    r->events = sc_connect(&r->sc, STORE_CAPS, &events_ops, r);
    if (!r->work || !r->events || missing)
        links_down(r, sc_where(&r->sc), "out of memory");
}

void router_store_links_start(struct router *r)
{
    uv_timer_init(r->loop, &r->store_retry);
    r->store_retry.data = r;
    r->store_why[0] = '\0'; /* nothing logged yet: the first failure is */
    links_connect(r);
}

void router_store_links_stop(struct router *r)
{
    sc_drop_idle(&r->sc);
    uv_close((uv_handle_t *)&r->store_retry, NULL);
    links_close(r, "router stopping");
}
