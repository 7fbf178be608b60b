/* router_dest.c - destinations (next hops): job queues, a concurrency window per destination, down next hops deferred whole, connection limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "router.h"

#define DEST_BUCKETS 4096u
#define DEST_INITIAL_WINDOW 5u /* connections to a new next hop before it has proved itself */

static int dest_is_down(struct dest *d, uint64_t now);
static void dest_wait_slot(struct dest *d);

static size_t dest_hash(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h % DEST_BUCKETS;
}

static struct dest *dest_find(struct router *r, const char *key)
{
    struct dest *d = r->dest_tab ? r->dest_tab[dest_hash(key)] : NULL;

    while (d && strcmp(d->route.key, key) != 0)
        d = d->next;
    return d;
}

static unsigned dest_max(const struct dest *d)
{
    return (unsigned)d->r->cfg->router.max_per_destination;
}

static struct dest *dest_new(struct router *r, const struct route *route)
{
    struct dest *d;
    size_t h;

    if (!r->dest_tab && !(r->dest_tab = calloc(DEST_BUCKETS, sizeof(*r->dest_tab))))
        return NULL;
    if (!(d = calloc(1, sizeof(*d))))
        return NULL;
    d->r = r;
    d->route = *route;
    d->window = DEST_INITIAL_WINDOW < dest_max(d) ? DEST_INITIAL_WINDOW : dest_max(d);
    h = dest_hash(route->key);
    d->next = r->dest_tab[h];
    r->dest_tab[h] = d;
    r->ndests++;
    return d;
}

/* A destination with nothing to do and nothing to remember goes. */
static void dest_free_if_idle(struct dest *d)
{
    struct router *r = d->r;

    if (d->conns || d->head || d->waiting || dest_is_down(d, now_us()))
        return;
    for (struct dest **p = &r->dest_tab[dest_hash(d->route.key)]; *p; p = &(*p)->next) {
        if (*p == d) {
            *p = d->next;
            break;
        }
    }
    r->ndests--;
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
        router_log_mark(j, ROUTER_MARK_START, now_us());
    }
    return j;
}

/* ---- down next hops ---------------------------------------------------------------- */

static int dest_is_down(struct dest *d, uint64_t now)
{
    return d->down_until_us && now < d->down_until_us;
}

/* A job for a next hop that is down: deferred at once with its reason, no connection. */
static void dest_defer_job(struct dest *d, struct job *j)
{
    char why[IPC_REPLY_MAX + 1];
    uint64_t now = now_us(), left = d->down_until_us > now ? d->down_until_us - now : 0;
    size_t sl = strlen(d->down_status);
    const char *cause = d->down_why;

    if (strncmp(cause, d->down_status, sl) == 0 && cause[sl] == ' ')
        cause += sl + 1; /* the status once */
    d->down_deferred += j->n;
    snprintf(why, sizeof(why), "%s next hop %s is down, not tried for %llus more: %.*s",
             d->down_status, d->route.desc, (unsigned long long)left / 1000000u + 1,
             (int)(sizeof(why) - sizeof(d->route.desc) - 80), cause);
    router_job_defer(j, d->down_status, why);
    router_queue_job_done(j);
}

void router_dest_down(struct dest *d, const char *status, const char *why)
{
    uint64_t now = now_us(), wait = (uint64_t)d->r->cfg->router.retry_first;

    if (wait > (uint64_t)d->r->cfg->router.retry_max)
        wait = (uint64_t)d->r->cfg->router.retry_max;
    if (!d->down_until_us)
        d->down_deferred = 0;
    d->down_until_us = now + wait * 1000000u;
    d->window = 1;
    snprintf(d->down_status, sizeof(d->down_status), "%s", status);
    snprintf(d->down_why, sizeof(d->down_why), "%s", why);
    log_notice("%s: next hop down: %s; everything for it is deferred for %llus, then one "
               "connection tries it again",
               d->route.desc, why, (unsigned long long)wait);
}

void router_dest_up(struct dest *d)
{
    if (!d->down_until_us)
        return;
    log_notice("%s: next hop up again; %llu recipient(s) were deferred while it was down",
               d->route.desc, (unsigned long long)d->down_deferred);
    d->down_until_us = 0;
    d->down_deferred = 0;
}

void router_dest_delivered(struct dest *d)
{
    router_dest_up(d);
    if (d->window < dest_max(d))
        d->window++;
}

/* ---- connections ---------------------------------------------------------------------- */

/* Open connections while there is work and room; a down next hop gets its
 * queue deferred, and one probe once its time is up. */
static void dest_kick(struct dest *d)
{
    struct router *r = d->r;
    uint64_t now = now_us();

    if (dest_is_down(d, now)) {
        while (d->head)
            dest_defer_job(d, dest_pop(d));
        return;
    }
    while (d->head && d->conns < d->window &&
           r->nconns < (unsigned)r->cfg->router.max_connections && !r->stopping) {
        /* One connection takes several jobs: open another only if more wait than run. */
        if (d->conns > 0 && (d->queued <= d->conns || d->down_until_us))
            break; /* (and a probe goes alone) */
        d->conns++;
        r->nconns++;
        router_smtp_start(d, dest_pop(d));
    }
}

/* Some other destination may use the connection slot that was freed. */
static void dests_kick_waiting(struct router *r)
{
    while (r->nconns < (unsigned)r->cfg->router.max_connections && r->waiting) {
        struct dest *d = r->waiting;

        r->waiting = d->wnext;
        d->waiting = 0;
        dest_kick(d);
        if (d->head && d->conns == 0)
            dest_wait_slot(d); /* still no slot (max_connections): back in line */
        dest_free_if_idle(d);
    }
}

/* d has work but no connection slot: it waits its turn for one. */
static void dest_wait_slot(struct dest *d)
{
    struct dest **p = &d->r->waiting;

    if (d->waiting || !d->head || d->conns > 0)
        return;
    while (*p)
        p = &(*p)->wnext;
    *p = d;
    d->wnext = NULL;
    d->waiting = 1;
}

void router_dest_enqueue(struct router *r, struct job *j, const struct route *route)
{
    struct dest *d = dest_find(r, route->key);

    if (!d && !(d = dest_new(r, route))) {
        router_queue_job_done(j); /* recipients keep no outcome: they stay active and come back */
        return;
    }
    if (dest_is_down(d, now_us())) {
        dest_defer_job(d, j);
        return;
    }
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    d->queued++;
    dest_kick(d);
    if (d->head && d->conns == 0)
        dest_wait_slot(d);
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
    if (d->head && d->conns == 0)
        dest_wait_slot(d);
    dests_kick_waiting(r);
    dest_free_if_idle(d);
}

void router_dest_revive_all(struct router *r)
{
    if (!r->dest_tab)
        return;
    for (size_t i = 0; i < DEST_BUCKETS; i++)
        for (struct dest *d = r->dest_tab[i]; d; d = d->next)
            if (d->down_until_us) {
                log_notice("%s: next hop no longer taken as down (requeue or reload): tried "
                           "again",
                           d->route.desc);
                d->down_until_us = 0;
                d->down_deferred = 0;
            }
}

void router_dest_stop(struct router *r)
{
    /* Queued jobs are dropped without outcomes: their recipients stay active
     * in the store and the next start takes them up again. */
    if (!r->dest_tab)
        return;
    for (size_t i = 0; i < DEST_BUCKETS; i++)
        for (struct dest *d = r->dest_tab[i]; d; d = d->next)
            while (d->head)
                router_queue_job_done(dest_pop(d));
}

void router_dest_free_all(struct router *r)
{
    if (!r->dest_tab)
        return;
    for (size_t i = 0; i < DEST_BUCKETS; i++)
        while (r->dest_tab[i]) {
            struct dest *d = r->dest_tab[i];

            r->dest_tab[i] = d->next;
            free(d);
        }
    free(r->dest_tab);
    r->dest_tab = NULL;
}
