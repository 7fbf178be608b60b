/* store_client.c - the store client's connections: where the store is, connect and close, frames routed to requests by id, the single requests. */
#include "store_client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- where the store is --------------------------------------------------------------- */

int sc_init(struct store_client *sc, uv_loop_t *loop, const struct sg_config *cfg,
            const char *program, const char *role)
{
    char where[SC_WHERE_MAX], why[256];

    memset(sc, 0, sizeof(*sc));
    sc->loop = loop;
    snprintf(sc->program, sizeof(sc->program), "%s", program);
    snprintf(sc->role, sizeof(sc->role), "%s", role);
    if (sc_socket_path(cfg, where, sizeof(where)) < 0 ||
        sc_addr_parse(where, &sc->addrs, why, sizeof(why)) < 0)
        return -1;
    memcpy(sc->path, sc->addrs.path[0], sizeof(sc->path));
    return 0;
}

/* New connections go to address number addr of the list. */
static void sc_use_address(struct store_client *sc, size_t addr)
{
    sc->current = addr;
    memcpy(sc->path, sc->addrs.path[addr], sizeof(sc->path));
}

/* A connection to address number addr failed before its hellos: the next connection goes to
 * the next address (unless another failure has moved on already). */
static void sc_next_address(struct store_client *sc, size_t addr)
{
    if (sc->addrs.n < 2 || addr != sc->current)
        return;
    sc_use_address(sc, (sc->current + 1) % sc->addrs.n);
}

const char *sc_where(const struct store_client *sc)
{
    return sc->path;
}

const char *sc_conn_where(const struct sc_conn *c)
{
    return c->sc->addrs.path[c->addr];
}

size_t sc_addresses(const struct store_client *sc)
{
    return sc->addrs.n;
}

struct ipc_link *sc_link_start(struct store_client *sc, const char *caps, unsigned retry_ms,
                               const struct ipc_link_ops *ops, void *arg)
{
    struct ipc_link *l = ipc_link_start(sc->loop, "mail store", sc->path, sc->program, sc->role,
                                        caps, retry_ms, ops, arg);

    for (size_t i = 1; l && i < sc->addrs.n; i++)
        ipc_link_add_path(l, sc->addrs.path[(sc->current + i) % sc->addrs.n]);
    return l;
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void requests_free(struct sc_conn *c)
{
    while (c->head) {
        struct sc_req *q = c->head;

        c->head = q->next;
        free(q);
    }
    c->tail = NULL;
}

void sc_enter(struct sc_conn *c)
{
    c->depth++;
}

int sc_leave(struct sc_conn *c)
{
    if (--c->depth > 0 || !c->dead)
        return c->dead;
    requests_free(c);
    free(c);
    return 1;
}

/* Everything outstanding is told once; the lists are taken first, so a
 * callback that closes c or starts something new does not disturb it. */
static void fail_all(struct sc_conn *c, const char *why)
{
    struct sc_status st = {.lost = 1, .code = IPC_ERR_TEMP, .text = why};
    struct sc_req *q = c->head;

    c->head = c->tail = NULL;
    if (c->stream != SC_IDLE)
        sc_stream_fail(c, &st);
    while (q) {
        struct sc_req *next = q->next;

        if (q->fail)
            q->fail(why, q->arg);
        free(q);
        q = next;
    }
}

static void close_uv(struct sc_conn *c)
{
    c->dead = 1;
    c->ready = 0;
    if (c->uv)
        ipc_uv_close(c->uv);
    c->uv = NULL;
}

void sc_close(struct sc_conn *c)
{
    if (!c)
        return;
    c->quiet = 1;
    if (c->dead)
        return;
    close_uv(c);
    c->stream = SC_IDLE;
    sc_enter(c);
    sc_leave(c);
}

void sc_fail(struct sc_conn *c, const char *why)
{
    if (!c || c->dead)
        return;
    c->quiet = 1;
    sc_enter(c);
    close_uv(c);
    fail_all(c, why);
    sc_leave(c);
}

/* Lost: everything outstanding is told, then the owner (unless it closed c meanwhile). */
static void conn_lost(struct sc_conn *c, const char *why)
{
    sc_enter(c);
    if (!c->ready)
        sc_next_address(c->sc, c->addr);
    close_uv(c);
    fail_all(c, why);
    if (!c->quiet && c->ops->closed)
        c->ops->closed(c, why, c->arg);
    sc_leave(c);
}

void sc_protocol_error(struct sc_conn *c, const char *why)
{
    char text[IPC_REPLY_MAX + 1];

    snprintf(text, sizeof(text), "bad answer from the store: %s", why);
    conn_lost(c, text);
}

/* ---- ipc_uv's callbacks ---------------------------------------------------------------- */

static void conn_ready(struct ipc_uv *u, void *arg)
{
    struct sc_conn *c = arg;

    c->ready = 1;
    if (c->ops->ready)
        c->ops->ready(c, c->arg);
}

/* A store that is not (or no longer) master named the master: new connections go there. */
static void conn_closed(struct ipc_uv *u, const char *why, void *arg)
{
    struct sc_conn *c = arg;
    char text[IPC_REPLY_MAX + 256];
    int master = ipc_uv_closed_why(u, &c->sc->addrs, why, text, sizeof(text));

    why = text;
    if (master >= 0)
        sc_use_address(c->sc, (size_t)master);
    c->uv = NULL; /* ipc_uv frees itself */
    if (!c->dead)
        conn_lost(c, why);
}

static void conn_drained(struct ipc_uv *u, void *arg)
{
    struct sc_conn *c = arg;

    if (!c->dead && c->ops->drained)
        c->ops->drained(c, c->arg);
}

static struct sc_req *request_find(struct sc_conn *c, uint32_t id)
{
    for (struct sc_req *q = c->head; q; q = q->next)
        if (q->id == id)
            return q;
    return NULL;
}

static void request_unlink(struct sc_conn *c, struct sc_req *q)
{
    struct sc_req **pp = &c->head, *prev = NULL;

    while (*pp && *pp != q) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = q->next;
    if (c->tail == q)
        c->tail = prev;
    q->next = NULL;
}

/* The request is off the list while its answer runs: a callback that fails
 * the connection (fail_all) cannot tell it a second time or free it. */
static void request_frame(struct sc_conn *c, struct sc_req *q, struct ipc_reader *rd)
{
    int last;

    request_unlink(c, q);
    last = q->answer ? q->answer(rd, q->arg) : 1;
    if (last) {
        free(q);
    } else if (c->dead) {
        if (q->fail)
            q->fail("connection to the store closed", q->arg);
        free(q);
    } else {
        q->next = c->head; /* more answers to come; found by id, so the place does not matter */
        c->head = q;
        if (!c->tail)
            c->tail = q;
    }
}

static void event_frame(struct sc_conn *c, struct ipc_reader *rd)
{
    struct ipc_event ev;

    if (ipc_decode_event(rd, &ev) < 0) {
        sc_protocol_error(c, rd->error);
        return;
    }
    if (c->ops->event)
        c->ops->event(c, &ev, c->arg);
}

/* A frame of the message that follows a COMMITTED event after sc_subscribe_messages. */
static int event_message_type(uint16_t type)
{
    return type == IPC_ENVELOPE || type == IPC_RCPT || type == IPC_END;
}

/* An IPC_ERROR for no request: the store refuses the connection and closes it. */
static void conn_refused(struct sc_conn *c, struct ipc_reader *rd)
{
    struct ipc_error e;
    char text[IPC_REPLY_MAX + 64];

    if (ipc_decode_error(rd, &e) < 0) {
        sc_protocol_error(c, rd->error);
        return;
    }
    snprintf(text, sizeof(text), "refused by the store: %s", e.text);
    conn_lost(c, text);
}

static void conn_frame(struct ipc_uv *u, struct ipc_reader *rd, void *arg)
{
    struct sc_conn *c = arg;
    struct sc_req *q;
    char why[128];

    if (c->dead)
        return;
    sc_enter(c);
    if (rd->type == IPC_EVENT && rd->request_id == 0) {
        event_frame(c, rd);
    } else if (rd->request_id == 0 && c->ops->event_message && event_message_type(rd->type)) {
        c->ops->event_message(c, rd, c->arg);
    } else if ((q = request_find(c, rd->request_id)) != NULL) {
        request_frame(c, q, rd);
    } else if (rd->request_id == c->forgotten_id && rd->request_id != 0) {
        /* the STARTED (or refusal) of a submission aborted before it came */
    } else if (c->stream != SC_IDLE) {
        sc_stream_frame(c, rd);
    } else if (rd->type == IPC_ERROR && rd->request_id == 0) {
        conn_refused(c, rd);
    } else {
        snprintf(why, sizeof(why), "%s for request %u, which is not outstanding",
                 ipc_type_name(rd->type), rd->request_id);
        sc_protocol_error(c, why);
    }
    sc_leave(c);
}

static const struct ipc_uv_ops conn_uv_ops = {
    .ready = conn_ready,
    .frame = conn_frame,
    .drained = conn_drained,
    .closed = conn_closed,
};

struct sc_conn *sc_connect(struct store_client *sc, const char *caps, const struct sc_conn_ops *ops,
                           void *arg)
{
    struct sc_conn *c = calloc(1, sizeof(*c));

    /* ipc_uv calls back from the loop only: c is complete by then. */
    if (!c || !(c->uv = ipc_uv_connect(sc->loop, sc->path, sc->program, sc->role, caps,
                                       &conn_uv_ops, c))) {
        free(c);
        return NULL;
    }
    c->sc = sc;
    c->addr = sc->current;
    sc_set_ops(c, ops, arg);
    return c;
}

void sc_set_ops(struct sc_conn *c, const struct sc_conn_ops *ops, void *arg)
{
    c->ops = ops;
    c->arg = arg;
}

const struct ipc_hello *sc_peer(const struct sc_conn *c)
{
    static const struct ipc_hello none;

    return c->uv ? ipc_uv_peer(c->uv) : &none;
}

size_t sc_pending(const struct sc_conn *c)
{
    return c->uv ? ipc_uv_pending(c->uv) : 0;
}

int sc_idle(const struct sc_conn *c)
{
    return !c->head && c->stream == SC_IDLE;
}

int sc_flush(struct sc_conn *c)
{
    return c->uv ? ipc_uv_flush(c->uv) : -1;
}

int sc_send(struct sc_conn *c)
{
    int rc;

    sc_enter(c);
    rc = sc_flush(c);
    return sc_leave(c) ? -1 : rc;
}

/* ---- requests ---------------------------------------------------------------------------- */

int sc_request(struct sc_conn *c, sc_encode_fn encode, sc_answer_fn answer, sc_fail_fn fail,
               void *arg)
{
    struct sc_req *q;

    if (!c || !c->ready || c->dead || !(q = calloc(1, sizeof(*q))))
        return -1;
    q->id = ipc_uv_request_id(c->uv);
    q->answer = answer;
    q->fail = fail;
    q->arg = arg;
    if (encode(ipc_uv_out(c->uv), q->id, arg) < 0) {
        /* The frame was dropped whole (ipc_msg_end); the connection stays usable. */
        ipc_uv_out(c->uv)->failed = 0;
        free(q);
        return -1;
    }
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    sc_send(c); /* a loss comes back through fail */
    return 0;
}

/* A request answered by IPC_OK (or IPC_ERROR). */
struct ok_req {
    uint16_t type;
    struct ipc_rcpt_update update;
    struct ipc_qid_msg qid;
    sc_done_fn done;
    void *arg;
};

static int ok_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    struct ok_req *q = arg;

    switch (q->type) {
    case IPC_UPDATE_RCPT:
        return ipc_encode_rcpt_update(b, id, &q->update);
    case IPC_SUBSCRIBE:
    case IPC_SUBSCRIBE_MESSAGES:
        return ipc_encode_empty(b, q->type, id);
    default:
        return ipc_encode_qid_msg(b, q->type, id, &q->qid);
    }
}

static int ok_answer(struct ipc_reader *rd, void *arg)
{
    struct ok_req *q = arg;
    struct sc_status st = {.code = 0, .text = ""};
    struct ipc_error e;

    if (rd->type == IPC_ERROR && ipc_decode_error(rd, &e) == 0) {
        st.code = e.code;
        st.text = e.text;
    } else if (rd->type != IPC_OK) {
        st.code = IPC_ERR_PROTO;
        st.text = "unexpected answer";
    }
    if (q->done)
        q->done(q->arg, &st);
    free(q);
    return 1;
}

static void ok_fail(const char *why, void *arg)
{
    struct ok_req *q = arg;
    struct sc_status st = {.lost = 1, .code = IPC_ERR_TEMP, .text = why};

    if (q->done)
        q->done(q->arg, &st);
    free(q);
}

static int ok_request(struct sc_conn *c, struct ok_req *q)
{
    if (sc_request(c, ok_encode, ok_answer, ok_fail, q) < 0) {
        free(q);
        return -1;
    }
    return 0;
}

static struct ok_req *ok_new(uint16_t type, sc_done_fn done, void *arg)
{
    struct ok_req *q = calloc(1, sizeof(*q));

    if (q) {
        q->type = type;
        q->done = done;
        q->arg = arg;
    }
    return q;
}

int sc_update_rcpt(struct sc_conn *c, const struct ipc_rcpt_update *u, sc_done_fn done, void *arg)
{
    struct ok_req *q = ok_new(IPC_UPDATE_RCPT, done, arg);

    if (!q)
        return -1;
    q->update = *u;
    return ok_request(c, q);
}

int sc_qid_request(struct sc_conn *c, uint16_t type, const char *qid, sc_done_fn done, void *arg)
{
    struct ok_req *q = ok_new(type, done, arg);

    if (!q)
        return -1;
    snprintf(q->qid.qid, sizeof(q->qid.qid), "%s", qid);
    return ok_request(c, q);
}

int sc_subscribe(struct sc_conn *c, sc_done_fn done, void *arg)
{
    struct ok_req *q = ok_new(IPC_SUBSCRIBE, done, arg);

    return q ? ok_request(c, q) : -1;
}

int sc_subscribe_messages(struct sc_conn *c, sc_done_fn done, void *arg)
{
    struct ok_req *q = ok_new(IPC_SUBSCRIBE_MESSAGES, done, arg);

    return q ? ok_request(c, q) : -1;
}
