/* smtpd_store.c - smtpd's side of the store: a monitor link that says whether mail can be taken, and a pool of submission connections (common/store_client.h). */
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "smtpd.h"

#define STORE_RETRY_MS 500
#define STORE_IDLE_MAX 16
#define STORE_CAPS IPC_CAPS_STORE_SMTPD

/* ---- monitor ---------------------------------------------------------------------------- */

/* The monitor link decides the greeting: 421 while it is down.  Nothing is
 * expected on it; ipc_link logs each change of its state once. */
static const struct ipc_link_ops monitor_ops = {0};

void smtpd_store_start(struct smtpd *d)
{
    d->store.monitor = sc_link_start(&d->sc, STORE_CAPS, STORE_RETRY_MS, &monitor_ops, d);
    if (!d->store.monitor)
        log_fatal("out of memory");
}

void smtpd_store_stop(struct smtpd *d)
{
    ipc_link_stop(d->store.monitor);
    d->store.monitor = NULL;
    for (unsigned i = 0; i < d->store.nidle; i++)
        sc_close(d->store.idle[i]);
    d->store.nidle = 0;
    free(d->store.idle);
    d->store.idle = NULL;
}

/* ---- submission connections ------------------------------------------------------------ */

/* A pooled connection's owner is a session, or the pool while it idles. */
static void pool_remove_idle(struct smtpd *d, struct sc_conn *c)
{
    for (unsigned i = 0; i < d->store.nidle; i++) {
        if (d->store.idle[i] == c) {
            d->store.idle[i] = d->store.idle[--d->store.nidle];
            return;
        }
    }
}

static void pool_ready(struct sc_conn *c, void *arg)
{
    smtpd_data_store_ready(arg, c);
}

static void pool_drained(struct sc_conn *c, void *arg)
{
    smtpd_data_store_drained(arg);
}

/* Lost before or between submissions (a submission under way hears it through its own end). */
static void pool_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct session *s = arg;

    if (s->tx && s->tx->store == c)
        smtpd_data_store_failed(s, IPC_ERR_TEMP, why);
}

static const struct sc_conn_ops pool_ops = {
    .ready = pool_ready, .drained = pool_drained, .closed = pool_closed};

/* Idle connections that die, or hear anything, leave the pool. */
static void idle_closed(struct sc_conn *c, const char *why, void *arg)
{
    pool_remove_idle(arg, c);
}

static const struct sc_conn_ops idle_ops = {.closed = idle_closed};

void smtpd_store_acquire(struct session *s)
{
    struct smtpd *d = s->d;
    struct sc_conn *c;

    if (d->store.nidle > 0) {
        c = d->store.idle[--d->store.nidle];
        sc_set_ops(c, &pool_ops, s);
        s->tx->store = c;
        smtpd_data_store_ready(s, c);
        return;
    }
    c = sc_connect(&d->sc, STORE_CAPS, &pool_ops, s);
    s->tx->store = c;
    if (!c)
        smtpd_data_store_failed(s, IPC_ERR_TEMP, "out of memory");
}

void smtpd_store_release(struct smtpd *d, struct sc_conn *c, int clean)
{
    if (clean && sc_idle(c) && !d->stopping && d->store.nidle < STORE_IDLE_MAX) {
        if (sg_array_reserve(&d->store.idle, &d->store.idle_cap, d->store.nidle + 1,
                             sizeof(*d->store.idle)) < 0) {
            sc_close(c);
            return;
        }
        sc_set_ops(c, &idle_ops, d);
        d->store.idle[d->store.nidle++] = c;
        return;
    }
    /* Closing mid-submission makes the store forget it. */
    sc_close(c);
}
