/* smtpd_store.c - smtpd's side of the store: a monitor connection that says whether mail can be taken, and a pool of submission connections. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"

#define STORE_RETRY_MS 500
#define STORE_IDLE_MAX 16
#define STORE_CAPS "submit"

/* ---- monitor ---------------------------------------------------------------------------- */

/* The monitor link decides the greeting: 421 while it is down.  Nothing is
 * expected on it; ipc_link logs each change of its state once. */
static const struct ipc_link_ops monitor_ops = {0};

void smtpd_store_start(struct smtpd *d)
{
    d->store.monitor = ipc_link_start(d->loop, "mail store", d->store_socket, SMTPD_PROGRAM, "smtpd",
                                      STORE_CAPS, STORE_RETRY_MS, &monitor_ops, d);
    if (!d->store.monitor)
        log_fatal("out of memory");
}

void smtpd_store_stop(struct smtpd *d)
{
    ipc_link_stop(d->store.monitor);
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

    smtpd_data_store_ready(s, c);
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
            smtpd_data_store_started(s, started.qid);
            return;
        }
        break;
    case IPC_SUBMITTED:
        if (ipc_decode_submitted(r, &done) == 0) {
            smtpd_data_store_committed(s, &done);
            return;
        }
        break;
    case IPC_ERROR:
        if (ipc_decode_error(r, &e) == 0) {
            ipc_uv_close(c);
            smtpd_data_store_failed(s, e.code, e.text);
            return;
        }
        break;
    default:
        r->error = "unexpected reply";
        break;
    }
    ipc_uv_close(c);
    smtpd_data_store_failed(s, IPC_ERR_PROTO, r->error ? r->error : "bad reply");
}

static void pool_drained(struct ipc_uv *c, void *arg)
{
    if (arg)
        smtpd_data_store_drained(arg);
}

static void pool_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct session *s = arg;

    if (s)
        smtpd_data_store_failed(s, IPC_ERR_TEMP, why);
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

void smtpd_store_acquire(struct session *s)
{
    struct smtpd *d = s->d;
    struct ipc_uv *c;

    if (d->store.nidle > 0) {
        c = d->store.idle[--d->store.nidle];
        ipc_uv_set_ops(c, &pool_ops, s);
        s->tx->store = c;
        smtpd_data_store_ready(s, c);
        return;
    }
    c = ipc_uv_connect(d->loop, d->store_socket, SMTPD_PROGRAM, "smtpd", STORE_CAPS, &pool_ops, s);
    s->tx->store = c;
    if (!c)
        smtpd_data_store_failed(s, IPC_ERR_TEMP, "out of memory");
}

void smtpd_store_release(struct smtpd *d, struct ipc_uv *c, int clean)
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
