/* router_dest.c - destinations (next hops): job queues, connection limits per destination and in total. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router.h"

static struct dest *dest_find(struct router *r, const char *key)
{
    for (struct dest *d = r->dests; d; d = d->next)
        if (strcmp(d->route.key, key) == 0)
            return d;
    return NULL;
}

static void dest_free_if_idle(struct dest *d)
{
    struct router *r = d->r;

    if (d->conns || d->head)
        return;
    for (struct dest **p = &r->dests; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    free(d);
}

static struct job *dest_pop(struct dest *d)
{
    struct job *j = d->head;

    if (j) {
        d->head = j->next;
        if (!d->head)
            d->tail = NULL;
        j->next = NULL;
        d->queued--;
    }
    return j;
}

/* Open connections while there is work and room. */
static void dest_kick(struct dest *d)
{
    struct router *r = d->r;

    while (d->head && d->conns < (unsigned)r->cfg->router.max_per_destination &&
           r->nconns < (unsigned)r->cfg->router.max_connections && !r->stopping) {
        /* One connection takes several jobs: open another only if more wait than run. */
        if (d->conns > 0 && d->queued <= d->conns)
            break;
        d->conns++;
        r->nconns++;
        router_smtp_start(d, dest_pop(d));
    }
}

/* Some other destination may use the connection slot that was freed. */
static void dests_kick_all(struct router *r)
{
    for (struct dest *d = r->dests; d; d = d->next)
        if (d->head && d->conns == 0)
            dest_kick(d);
}

void router_dest_enqueue(struct router *r, struct job *j, const struct route *route)
{
    struct dest *d = dest_find(r, route->key);

    if (!d) {
        d = calloc(1, sizeof(*d));
        if (!d) {
            router_queue_job_done(
                j); /* recipients keep no outcome: they stay active and come back */
            return;
        }
        d->r = r;
        d->route = *route;
        d->next = r->dests;
        r->dests = d;
    }
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    d->queued++;
    dest_kick(d);
}

struct job *router_dest_next_job(struct dest *d)
{
    return dest_pop(d);
}

void router_dest_conn_closed(struct dest *d)
{
    struct router *r = d->r;

    d->conns--;
    r->nconns--;
    dest_kick(d);
    dest_free_if_idle(d);
    dests_kick_all(r);
}

void router_dest_stop(struct router *r)
{
    /* Queued jobs are dropped without outcomes: their recipients stay active
     * in the store and the next start takes them up again. */
    for (struct dest *d = r->dests; d; d = d->next)
        while (d->head)
            router_queue_job_done(dest_pop(d));
}
