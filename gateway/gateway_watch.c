/* gateway_watch.c - the share watchdog: an operation on the share with no answer within gateway.share_timeout is hung (a hung mount), its delivery is answered, and a stop does not wait for it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define WATCH_TICK_MS 1000

static uint64_t watch_timeout_ms(const struct gateway *g)
{
    return (uint64_t)g->cfg->gateway.share_timeout * 1000u;
}

/* Stopping, the deliveries answered, the routers gone: if all that is left is hung, go now.  The
 * workers cannot be taken back from a blocked system call, and the loop would wait for them. */
static void watch_stop_check(struct gateway *g)
{
    struct gw_watch *w = &g->watch;

    if (!g->stopping || g->in_running || g->server || !w->hung)
        return;
    for (const struct gw_watch_op *op = w->head; op; op = op->next)
        if (!op->hung)
            return;
    log_warn("stopped without waiting for %u share operation(s) with no answer (first: %s); "
             "what they leave in P1/ is cleaned up or finished at the next start",
             w->hung, w->head->what);
    _exit(0);
}

static void watch_expire(struct gateway *g, struct gw_watch_op *op, uint64_t waited_ms)
{
    struct gw_watch *w = &g->watch;
    char why[GW_WHY_MAX - 64]; /* room for what follows it in w->why */

    op->hung = 1;
    w->hung++;
    snprintf(why, sizeof(why),
             "postoffice share %s: no answer to %s within %llds (the share hangs)",
             gw_share_name(g->share), op->what, (long long)(waited_ms / 1000u));
    if (op->blocks && w->hung_blocking++ == 0)
        snprintf(w->why, sizeof(w->why), "%s; deliveries are deferred until it answers", why);
    gw_share_state(g, why);
    if (op->expired)
        op->expired(op, why);
}

static void watch_tick(uv_timer_t *t)
{
    struct gateway *g = t->data;
    uint64_t now = uv_now(g->loop);

    for (struct gw_watch_op *op = g->watch.head, *next; op; op = next) {
        next = op->next; /* an expired callback adds operations at the head, never removes */
        if (!op->hung && now - op->since >= watch_timeout_ms(g))
            watch_expire(g, op, now - op->since);
    }
    watch_stop_check(g);
    if (!g->watch.head)
        uv_timer_stop(t);
}

void gw_watch_init(struct gateway *g)
{
    uv_timer_init(g->loop, &g->watch.timer);
    g->watch.timer.data = g;
    uv_unref((uv_handle_t *)&g->watch.timer); /* the watched work keeps the loop running */
}

void gw_watch_begin(struct gateway *g, struct gw_watch_op *op, int blocks,
                    void (*expired)(struct gw_watch_op *op, const char *why), void *arg,
                    const char *fmt, ...)
{
    struct gw_watch *w = &g->watch;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(op->what, sizeof(op->what), fmt, ap);
    va_end(ap);
    op->since = uv_now(g->loop);
    op->hung = 0;
    op->blocks = blocks;
    op->expired = expired;
    op->arg = arg;
    op->prev = NULL;
    if ((op->next = w->head))
        w->head->prev = op;
    w->head = op;
    if (!uv_is_active((uv_handle_t *)&w->timer))
        uv_timer_start(&w->timer, watch_tick, WATCH_TICK_MS, WATCH_TICK_MS);
}

int gw_watch_end(struct gateway *g, struct gw_watch_op *op)
{
    struct gw_watch *w = &g->watch;

    if (op->prev)
        op->prev->next = op->next;
    else
        w->head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    if (!op->hung)
        return 0;
    w->hung--;
    if (op->blocks && --w->hung_blocking == 0)
        w->why[0] = '\0';
    log_notice("postoffice share %s answered %s after %llus", gw_share_name(g->share), op->what,
               (unsigned long long)((uv_now(g->loop) - op->since) / 1000u));
    return 1;
}

const char *gw_watch_hung(const struct gateway *g)
{
    return g->watch.hung_blocking ? g->watch.why : NULL;
}

void gw_watch_close(struct gateway *g)
{
    uv_close((uv_handle_t *)&g->watch.timer, NULL);
}
