/* smtpd_store.c - smtpd's side of the store: a monitor connection that says whether mail can be taken, and a pool of submission connections. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"

#define STORE_RETRY_MS 500
#define STORE_IDLE_MAX 16
#define STORE_CAPS "submit"

static void monitor_connect(struct smtpd *d);

/* ---- monitor ---------------------------------------------------------------------------- */

static void monitor_ready(struct ipc_uv *c, void *arg)
{
    struct smtpd *d = arg;
    const struct ipc_hello *h = ipc_uv_peer(c);

    d->store.up = 1;
    if (d->store.generation != h->generation)
        log_notice("mail store ready: %s protocol %u.%u, generation %llu; accepting mail",
                   h->program, h->major, h->minor, (unsigned long long)h->generation);
    d->store.generation = h->generation;
    d->store.why[0] = '\0';
}

static void monitor_frame(struct ipc_uv *c, struct ipc_reader *r, void *arg)
{
    ipc_uv_close(c);
    monitor_connect(arg);
}

static void monitor_retry_cb(uv_timer_t *t)
{
    monitor_connect(t->data);
}

static void monitor_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct smtpd *d = arg;

    d->store.monitor = NULL;
    /* Loudly, but once per change: not for every retry. */
    if (d->store.up || strcmp(d->store.why, why) != 0)
        log_error("mail store unavailable (%s): %s; new mail gets 421/451 until it is back",
                  d->store_socket, why);
    d->store.up = 0;
    d->store.generation = 0;
    snprintf(d->store.why, sizeof(d->store.why), "%s", why);
    if (!d->stopping)
        uv_timer_start(&d->store.retry, monitor_retry_cb, STORE_RETRY_MS, 0);
}

static const struct ipc_uv_ops monitor_ops = {
    .ready = monitor_ready, .frame = monitor_frame, .closed = monitor_closed,
};

static void monitor_connect(struct smtpd *d)
{
    if (d->stopping)
        return;
    d->store.monitor = ipc_uv_connect(d->loop, d->store_socket, SMTPD_PROGRAM, "smtpd", STORE_CAPS,
                                      &monitor_ops, d);
    if (!d->store.monitor)
        monitor_closed(NULL, "out of memory", d);
}

void store_start(struct smtpd *d)
{
    d->store.d = d;
    uv_timer_init(d->loop, &d->store.retry);
    d->store.retry.data = d;
    snprintf(d->store.why, sizeof(d->store.why), "not connected yet");
    monitor_connect(d);
}

void store_stop(struct smtpd *d)
{
    uv_close((uv_handle_t *)&d->store.retry, NULL);
    if (d->store.monitor)
        ipc_uv_close(d->store.monitor);
    d->store.monitor = NULL;
    for (unsigned i = 0; i < d->store.nidle; i++)
        ipc_uv_close(d->store.idle[i]);
    d->store.nidle = 0;
    free(d->store.idle);
    d->store.idle = NULL;
}

/* ---- submission connections ------------------------------------------------------------ */

/* A pooled connection's owner is a session, or NULL while it idles. */
static void pool_remove_idle(struct smtpd *d, struct ipc_uv *c)
{
    for (unsigned i = 0; i < d->store.nidle; i++) {
        if (d->store.idle[i] == c) {
            d->store.idle[i] = d->store.idle[--d->store.nidle];
            return;
        }
    }
}

static void pool_ready(struct ipc_uv *c, void *arg)
{
    struct session *s = arg;

    data_store_ready(s, c);
}

static void pool_frame(struct ipc_uv *c, struct ipc_reader *r, void *arg)
{
    struct session *s = arg;
    struct ipc_qid_msg started;
    struct ipc_submitted done;
    struct ipc_error e;

    if (!s) {
        ipc_uv_close(c); /* nothing is expected on an idle connection */
        return;
    }
    switch (r->type) {
    case IPC_SUBMIT_STARTED:
        if (ipc_decode_qid_msg(r, &started) == 0) {
            data_store_started(s, started.qid);
            return;
        }
        break;
    case IPC_SUBMITTED:
        if (ipc_decode_submitted(r, &done) == 0) {
            data_store_committed(s, &done);
            return;
        }
        break;
    case IPC_ERROR:
        if (ipc_decode_error(r, &e) == 0) {
            ipc_uv_close(c);
            data_store_failed(s, e.code, e.text);
            return;
        }
        break;
    default:
        r->error = "unexpected reply";
        break;
    }
    ipc_uv_close(c);
    data_store_failed(s, IPC_ERR_PROTO, r->error ? r->error : "bad reply");
}

static void pool_drained(struct ipc_uv *c, void *arg)
{
    if (arg)
        data_store_drained(arg);
}

static void pool_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct session *s = arg;

    if (s)
        data_store_failed(s, IPC_ERR_TEMP, why);
}

static const struct ipc_uv_ops pool_ops = {
    .ready = pool_ready, .frame = pool_frame, .drained = pool_drained, .closed = pool_closed,
};

/* Idle connections that died are noticed when their close callback runs:
 * their arg is the pool marker, handled by idle_closed. */
static void idle_closed(struct ipc_uv *c, const char *why, void *arg)
{
    pool_remove_idle(arg, c);
}

static void idle_frame(struct ipc_uv *c, struct ipc_reader *r, void *arg)
{
    pool_remove_idle(arg, c);
    ipc_uv_close(c);
}

static const struct ipc_uv_ops idle_ops = {.frame = idle_frame, .closed = idle_closed};

void store_acquire(struct session *s)
{
    struct smtpd *d = s->d;
    struct ipc_uv *c;

    if (d->store.nidle > 0) {
        c = d->store.idle[--d->store.nidle];
        ipc_uv_set_ops(c, &pool_ops, s);
        s->tx->store = c;
        data_store_ready(s, c);
        return;
    }
    c = ipc_uv_connect(d->loop, d->store_socket, SMTPD_PROGRAM, "smtpd", STORE_CAPS, &pool_ops, s);
    s->tx->store = c;
    if (!c)
        data_store_failed(s, IPC_ERR_TEMP, "out of memory");
}

void store_release(struct smtpd *d, struct ipc_uv *c, int clean)
{
    if (clean && !d->stopping && d->store.nidle < STORE_IDLE_MAX) {
        if (d->store.nidle == d->store.idle_cap) {
            unsigned cap = d->store.idle_cap ? d->store.idle_cap * 2 : 4;
            struct ipc_uv **p = realloc(d->store.idle, cap * sizeof(*p));

            if (!p) {
                ipc_uv_close(c);
                return;
            }
            d->store.idle = p;
            d->store.idle_cap = cap;
        }
        ipc_uv_set_ops(c, &idle_ops, d);
        d->store.idle[d->store.nidle++] = c;
        return;
    }
    /* Closing mid-submission makes the store forget it. */
    ipc_uv_close(c);
}
