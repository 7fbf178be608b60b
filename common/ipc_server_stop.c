/* ipc_server_stop.c - the IPC server's end: closing at once, or draining (what was taken is answered first, within a grace). */
#include <unistd.h>

#include "ipc_server_int.h"
#include "log.h"

static void server_listener_closed_cb(uv_handle_t *h)
{
    struct ipc_server *s = h->data;

    s->listener_open--;
    ipc_server_maybe_free(s);
}

static void server_close_listener(struct ipc_server *s)
{
    if (s->listener_closing)
        return;
    s->listener_closing = 1;
    if (s->unix_open) {
        uv_close((uv_handle_t *)&s->listener, server_listener_closed_cb);
        unlink(s->path);
    }
    for (size_t i = 0; i < s->ntcp; i++)
        uv_close((uv_handle_t *)&s->tcp[i], server_listener_closed_cb);
}

static void server_grace_closed_cb(uv_handle_t *h)
{
    struct ipc_server *s = h->data;

    s->grace_open = 0;
    ipc_server_maybe_free(s);
}

void ipc_server_close(struct ipc_server *s)
{
    ipc_server_drained_fn done = s->drained;
    void *arg = s->drained_arg;

    if (s->closed)
        return;
    s->closed = 1;
    s->drained = NULL;
    while (s->conns)
        ipc_server_conn_close(s->conns);
    server_close_listener(s);
    if (s->grace_open)
        uv_close((uv_handle_t *)&s->grace, server_grace_closed_cb);
    if (done)
        done(s, arg);
    ipc_server_maybe_free(s);
}

void ipc_server_conn_close_if_idle(struct ipc_server_conn *c)
{
    if (c->srv->draining && c->state != CONN_CLOSING && c->refs == 1 && c->out.len == 0)
        ipc_server_conn_close(c);
}

static void server_grace_cb(uv_timer_t *t)
{
    struct ipc_server *s = t->data;

    log_warn("stopping: %zu %s requests still not answered after %u ms; closing their "
             "connections",
             ipc_server_busy(s), s->cfg.service, s->grace_ms);
    ipc_server_close(s);
}

void ipc_server_drain(struct ipc_server *s, unsigned grace_ms, ipc_server_drained_fn done,
                      void *arg)
{
    if (s->closed || s->draining)
        return;
    s->draining = 1;
    s->drained = done;
    s->drained_arg = arg;
    s->grace_ms = grace_ms;
    server_close_listener(s);
    uv_timer_init(s->loop, &s->grace);
    s->grace.data = s;
    s->grace_open = 1;
    uv_timer_start(&s->grace, server_grace_cb, grace_ms, 0);
    for (struct ipc_server_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        ipc_server_conn_update_reading(c);
        ipc_server_conn_close_if_idle(c);
    }
    if (s->nconns == 0)
        ipc_server_close(s);
}

size_t ipc_server_busy(const struct ipc_server *s)
{
    size_t n = 0;

    for (const struct ipc_server_conn *c = s ? s->conns : NULL; c; c = c->next)
        n += c->refs > 1;
    return n;
}
