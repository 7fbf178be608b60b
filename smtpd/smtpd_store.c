/* smtpd_store.c - smtpd's side of the store: a monitor link that says whether mail can be taken, and a bounded pool of submission connections that sessions wait for in turn (common/store_client.h). */
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

static void pool_kick_cb(uv_timer_t *t);
static int pool_take(struct session *s);
static void pool_expire_cb(uv_timer_t *t);

void smtpd_store_start(struct smtpd *d)
{
    uv_timer_init(d->loop, &d->store.kick);
    d->store.kick.data = d;
    uv_timer_init(d->loop, &d->store.expire);
    d->store.expire.data = d;
    d->store.monitor = sc_link_start(&d->sc, STORE_CAPS, STORE_RETRY_MS, &monitor_ops, d);
    if (!d->store.monitor)
        log_fatal("out of memory");
}

void smtpd_store_stop(struct smtpd *d)
{
    ipc_link_stop(d->store.monitor);
    d->store.monitor = NULL;
    uv_close((uv_handle_t *)&d->store.kick, NULL);
    uv_close((uv_handle_t *)&d->store.expire, NULL);
    while (d->store.wait_head)
        smtpd_store_cancel(d->store.wait_head);
    for (unsigned i = 0; i < d->store.nidle; i++)
        sc_close(d->store.idle[i]);
    d->store.nidle = 0;
    free(d->store.idle);
    d->store.idle = NULL;
}

/* ---- submission connections ------------------------------------------------------------ */

/* At most smtpd.max_store_connections connections, idle or a session's (the monitor link
 * aside): sessions beyond them wait in a FIFO, each within its own deadline (its timer
 * runs on; smtpd_store_cancel takes it out when it closes). */

static void pool_wait_unlink(struct smtpd *d, struct session *s)
{
    if (s->store_wait_prev)
        s->store_wait_prev->store_wait_next = s->store_wait_next;
    else
        d->store.wait_head = s->store_wait_next;
    if (s->store_wait_next)
        s->store_wait_next->store_wait_prev = s->store_wait_prev;
    else
        d->store.wait_tail = s->store_wait_prev;
    s->store_wait_next = s->store_wait_prev = NULL;
    s->store_waiting = 0;
    d->store.nwaiting--;
}

/* Into the line of sessions waiting for a store connection: at its head, or at its tail. */
static void pool_wait_link(struct smtpd *d, struct session *s, int at_head)
{
    s->store_wait_prev = at_head ? NULL : d->store.wait_tail;
    s->store_wait_next = at_head ? d->store.wait_head : NULL;
    if (at_head && d->store.wait_head)
        d->store.wait_head->store_wait_prev = s;
    else if (!at_head && d->store.wait_tail)
        d->store.wait_tail->store_wait_next = s;
    if (at_head || !d->store.wait_head)
        d->store.wait_head = s;
    if (!at_head || !d->store.wait_tail)
        d->store.wait_tail = s;
    s->store_waiting = 1;
    d->store.nwaiting++;
}

void smtpd_store_cancel(struct session *s)
{
    if (s->store_waiting)
        pool_wait_unlink(s->d, s);
}

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
    struct session *s = arg;

    s->tx->store_ready = 1;
    smtpd_data_store_ready(s, c);
}

static void pool_drained(struct sc_conn *c, void *arg)
{
    smtpd_data_store_drained(arg);
}

/* Lost before or between submissions (a submission under way hears it through its own end). */
static void pool_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct session *s = arg;

    s->d->store.nbusy--;
    /* A new connection that failed before its hellos (a site down, or a replica): the store
     * client has moved on to the next address; this session tries it, once for each. */
    if (s->tx && s->tx->store == c && !s->tx->store_ready &&
        ++s->tx->store_tries < sc_addresses(&s->d->sc) && !s->d->stopping) {
        log_info("session %llu: mail store: %s; trying %s", (unsigned long long)s->id, why,
                 sc_where(&s->d->sc));
        s->tx->store = NULL;
        if (!pool_take(s))
            smtpd_store_acquire(s);
        return;
    }
    if (s->tx && s->tx->store == c)
        smtpd_data_store_failed(s, IPC_ERR_TEMP, why);
    if (s->d->store.wait_head)
        uv_timer_start(&s->d->store.kick, pool_kick_cb, 0, 0);
}

static const struct sc_conn_ops pool_ops = {
    .ready = pool_ready, .drained = pool_drained, .closed = pool_closed};

/* Idle connections that die, or hear anything, leave the pool. */
static void idle_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct smtpd *d = arg;

    pool_remove_idle(d, c);
    if (d->store.wait_head)
        uv_timer_start(&d->store.kick, pool_kick_cb, 0, 0);
}

static const struct sc_conn_ops idle_ops = {.closed = idle_closed};

/* A connection for s now, if the bound allows: 1, or 0 when s has to wait. */
static int pool_take(struct session *s)
{
    struct smtpd *d = s->d;
    struct sc_conn *c;

    if (d->store.nidle > 0) {
        c = d->store.idle[--d->store.nidle];
        sc_set_ops(c, &pool_ops, s);
        d->store.nbusy++;
        s->tx->store = c;
        s->tx->store_ready = 1;
        smtpd_data_store_ready(s, c);
        return 1;
    }
    if ((long long)d->store.nbusy >= d->cfg->smtpd.max_store_connections)
        return 0;
    c = sc_connect(&d->sc, STORE_CAPS, &pool_ops, s);
    s->tx->store = c;
    if (!c) {
        smtpd_data_store_failed(s, IPC_ERR_TEMP, "out of memory");
        return 1;
    }
    d->store.nbusy++;
    return 1;
}

/* Connections came free: the sessions first in line get them (from the loop, not from inside
 * the release, whose caller still has its own session to finish). */
static void pool_kick_cb(uv_timer_t *t)
{
    struct smtpd *d = t->data;

    while (d->store.wait_head && !d->stopping) {
        struct session *s = d->store.wait_head;

        pool_wait_unlink(d, s);
        if (!smtpd_session_alive(s) || s->state != SS_DATA_OPEN || !s->tx)
            continue;
        if (!pool_take(s)) {
            pool_wait_link(d, s, 1); /* still full: back at the head of the line */
            return;
        }
    }
}

/* Everyone waits the same time, so the first in line is the first to give up: one timer for
 * the line, set for its head. */
static void pool_expire_arm(struct smtpd *d)
{
    uint64_t now = uv_now(d->loop), due;

    if (!d->store.wait_head)
        return;
    due = d->store.wait_head->store_wait_since + (uint64_t)d->cfg->smtpd.store_wait_timeout * 1000u;
    uv_timer_start(&d->store.expire, pool_expire_cb, due > now ? due - now : 0, 0);
}

static void pool_expire_cb(uv_timer_t *t)
{
    struct smtpd *d = t->data;
    uint64_t now = uv_now(d->loop), wait = (uint64_t)d->cfg->smtpd.store_wait_timeout * 1000u;

    while (d->store.wait_head && d->store.wait_head->store_wait_since + wait <= now) {
        struct session *s = d->store.wait_head;

        pool_wait_unlink(d, s);
        if (smtpd_session_alive(s) && s->state == SS_DATA_OPEN && s->tx)
            smtpd_data_store_failed(s, SMTPD_STORE_BUSY,
                                    "no store connection came free within store_wait_timeout");
    }
    pool_expire_arm(d);
}

void smtpd_store_acquire(struct session *s)
{
    struct smtpd *d = s->d;

    if (!d->store.wait_head && pool_take(s))
        return;
    s->store_wait_since = uv_now(d->loop);
    if (!d->store.wait_head)
        log_info("all %lld store connections busy: sessions wait for one in turn",
                 d->cfg->smtpd.max_store_connections);
    pool_wait_link(d, s, 0);
    if (d->store.wait_head == s)
        pool_expire_arm(d);
}

void smtpd_store_release(struct smtpd *d, struct sc_conn *c, int clean)
{
    d->store.nbusy--;
    if (d->store.wait_head)
        uv_timer_start(&d->store.kick, pool_kick_cb, 0, 0);
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
