/* router_update.c - recipient updates to the store, batched: one UPDATE_BATCH (one transaction) at a time, holding what came while the last was committed, or per UPDATE_BATCH_MAX updates; final outcomes the store missed are sent again when it is back. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "router.h"

#define UPDATES_PER_BATCH 500u
#define BATCH_TRIES \
    5u /* a batch the store could not commit (a deadlock it gave up on) goes again */
#define BATCH_BYTES_HIGH (IPC_UPDATE_BATCH_MAX - 2 * 1024) /* room for one more update */

struct update_cb {
    router_update_done_fn done;
    void *arg;
};

/* One batch on its way: its frames and whom to tell. */
struct update_batch {
    struct router *r;
    struct sg_buf frames;
    struct sg_buf finals; /* the final outcomes among them: kept if the batch is lost */
    uint32_t nfinals;
    uint32_t count;
    struct update_cb *cbs;
    size_t cap;     /* of cbs */
    unsigned tries; /* sent again after a temporary failure */
};

/* Everyone waiting on a batch (or on updates never sent) hears ok once. */
static void cbs_call(struct router *r, struct update_cb *cbs, uint32_t n, int ok)
{
    for (uint32_t i = 0; i < n; i++)
        if (cbs[i].done)
            cbs[i].done(r, ok, cbs[i].arg);
}

static void batch_free(struct update_batch *b)
{
    sg_buf_free(&b->frames);
    sg_buf_free(&b->finals);
    free(b->cbs);
    free(b);
}

static int batch_encode(struct sg_buf *out, uint32_t id, void *arg)
{
    struct update_batch *b = arg;
    struct ipc_update_batch m = {.count = b->count, .frames = b->frames.data, .len = b->frames.len};

    return ipc_encode_update_batch(out, id, &m);
}

static void upd_idle_cb(uv_idle_t *h);

/* A batch was answered (or lost): what gathered meanwhile goes now, as one. */
static void batch_settled(struct router *r)
{
    if (r->upd_in_flight > 0)
        r->upd_in_flight--;
    if (r->upd && r->upd_in_flight == 0 && !uv_is_active((uv_handle_t *)&r->upd_idle) &&
        !uv_is_closing((uv_handle_t *)&r->upd_idle))
        uv_idle_start(&r->upd_idle, upd_idle_cb);
}

static void batch_fail(struct router *r, const char *why, void *arg);
static int batch_answer(struct router *r, struct ipc_reader *rd, void *arg);

/* A temporary failure: the same batch goes again (nothing gathered since was sent, so the
 * updates keep their order); 1 when it went. */
static int batch_again(struct router *r, struct update_batch *b, const struct ipc_error *e)
{
    if (e->code != IPC_ERR_TEMP || b->tries >= BATCH_TRIES || r->stopping)
        return 0;
    b->tries++;
    log_warn("recording %u recipient update(s) failed: %s; trying again (%u of %u)", b->count,
             e->text, b->tries, BATCH_TRIES);
    if (router_store_request(r, batch_encode, batch_answer, batch_fail, b) < 0)
        batch_fail(r, "store unavailable", b);
    return 1;
}

static int batch_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct update_batch *b = arg;
    struct ipc_error e = {0};
    int ok = rd->type == IPC_OK;

    if (!ok) {
        if (rd->type != IPC_ERROR || ipc_decode_error(rd, &e) < 0)
            snprintf(e.text, sizeof(e.text), "unexpected answer %s", ipc_type_name(rd->type));
        if (batch_again(r, b, &e))
            return 1;
        log_error("recording %u recipient update(s) failed: %s; their leases bring them back",
                  b->count, e.text);
    }
    cbs_call(r, b->cbs, b->count, ok);
    batch_free(b);
    batch_settled(r);
    return 1;
}

/* An outcome that must not be lost with the store: delivered, failed, held.  Sent again
 * once the store is back, before anything is re-read (or it would be delivered twice). */
static int update_is_final(const struct ipc_rcpt_update *u)
{
    return rcpt_state_final(u->state) || u->state == RCPT_HELD;
}

static void keep_frames(struct router *r, const struct sg_buf *frames, uint32_t n)
{
    if (n == 0)
        return;
    if (r->kept.len + frames->len > BATCH_BYTES_HIGH ||
        sg_buf_append(&r->kept, frames->data, frames->len) < 0) {
        log_error("%u recipient outcome(s) cannot be kept for the store: their leases bring "
                  "them back",
                  n);
        return;
    }
    r->kept_count += n;
}

static void batch_fail(struct router *r, const char *why, void *arg)
{
    struct update_batch *b = arg;

    r->updates_lost += b->count;
    keep_frames(r, &b->finals, b->nfinals);
    if (!r->stopping)
        log_warn("%u recipient update(s) not recorded (%s); their leases bring them back", b->count,
                 why);
    cbs_call(r, b->cbs, b->count, 0);
    batch_free(b);
    batch_settled(r);
}

void router_update_flush(struct router *r)
{
    struct update_batch *b = r->upd;

    if (uv_is_active((uv_handle_t *)&r->upd_idle))
        uv_idle_stop(&r->upd_idle);
    if (!b)
        return;
    r->upd = NULL;
    r->upd_in_flight++;
    if (router_store_request(r, batch_encode, batch_answer, batch_fail, b) < 0)
        batch_fail(r, "store unavailable", b);
}

/* The end of a loop turn: the updates go unless a batch is being committed (the store answers
 * the work connection's requests in turn, and a commit waits for the disk: thousands of small
 * batches would each wait for their own flush, and everything behind them too). */
static void upd_idle_cb(uv_idle_t *h)
{
    struct router *r = h->data;

    if (r->upd_in_flight == 0)
        router_update_flush(r);
    else
        uv_idle_stop(&r->upd_idle);
}

void router_update_init(struct router *r)
{
    uv_idle_init(r->loop, &r->upd_idle);
    r->upd_idle.data = r;
}

void router_update_close(struct router *r)
{
    router_update_flush(r); /* what it cannot record is kept, and saved at the exit */
    uv_close((uv_handle_t *)&r->upd_idle, NULL);
}

void router_update_rcpt(struct router *r, const struct ipc_rcpt_update *u,
                        router_update_done_fn done, void *arg)
{
    struct update_batch *b = r->upd;

    if (!r->store_up) {
        struct sg_buf one = {0};

        r->updates_lost++;
        if (update_is_final(u) && ipc_encode_rcpt_update(&one, 0, u) == 0)
            keep_frames(r, &one, 1);
        sg_buf_free(&one);
        if (done)
            done(r, 0, arg);
        return;
    }
    if (!b && (b = r->upd = calloc(1, sizeof(*b))) != NULL) {
        b->r = r;
        sg_buf_init(&b->frames);
    }
    if (!b || sg_array_reserve(&b->cbs, &b->cap, b->count + 1, sizeof(*b->cbs)) < 0 ||
        ipc_encode_rcpt_update(&b->frames, 0, u) < 0 ||
        (update_is_final(u) && ipc_encode_rcpt_update(&b->finals, 0, u) < 0)) {
        log_error("%s: out of memory recording recipient %u; its lease brings it back", u->qid,
                  u->index);
        if (done)
            done(r, 0, arg);
        return;
    }
    b->nfinals += update_is_final(u);
    b->cbs[b->count++] = (struct update_cb){done, arg};
    /* After router_update_close (the stop) there is no next loop turn to wait for. */
    if (b->count >= UPDATES_PER_BATCH || b->frames.len >= BATCH_BYTES_HIGH ||
        uv_is_closing((uv_handle_t *)&r->upd_idle))
        router_update_flush(r);
    else if (!uv_is_active((uv_handle_t *)&r->upd_idle))
        uv_idle_start(&r->upd_idle, upd_idle_cb);
}

/* ---- outcomes kept while the store was away ---------------------------------------- */

static int kept_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct update_batch *b = arg;
    struct ipc_ok ok = {0};

    if (rd->type == IPC_OK && ipc_decode_ok(rd, &ok) == 0) {
        log_notice("%u recipient outcome(s) kept while the store was away are recorded now "
                   "(%llu applied)",
                   b->count, (unsigned long long)ok.count);
    } else {
        log_error("%u recipient outcome(s) kept while the store was away not recorded: %s",
                  b->count, ipc_type_name(rd->type));
    }
    router_kept_done(); /* those saved at the last stop were among them: answered */
    batch_free(b);
    return 1;
}

static void kept_fail(struct router *r, const char *why, void *arg)
{
    struct update_batch *b = arg;

    keep_frames(r, &b->frames, b->count); /* the store went again: next time */
    batch_free(b);
}

int router_update_replay(struct router *r)
{
    struct update_batch *b;

    if (r->kept_count == 0 || !(b = calloc(1, sizeof(*b))))
        return 0;
    b->r = r;
    b->frames = r->kept;
    b->count = r->kept_count;
    sg_buf_init(&r->kept);
    r->kept_count = 0;
    if (router_store_request(r, batch_encode, kept_answer, kept_fail, b) < 0) {
        kept_fail(r, "store unavailable", b);
        return 0;
    }
    return 1;
}
