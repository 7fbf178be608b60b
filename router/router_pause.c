/* router_pause.c - the destinations an administrator paused, as the store keeps them: fetched at each link-up and when the store says they changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "router.h"

/* One fetch: the list being read, and whether the queue starts once it is in. */
struct pause_fetch {
    int start_queue;
    int all;
    char (*domains)[IPC_ADDR_MAX + 1];
    size_t n, cap;
};

static int pause_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    (void)arg;
    return ipc_encode_empty(b, IPC_PAUSE_LIST, id);
}

static void pause_take(struct router *r, struct pause_fetch *q)
{
    int changed = q->all != r->paused_all || q->n != r->npaused;

    for (size_t i = 0; !changed && i < q->n; i++)
        changed = strcmp(q->domains[i], r->paused[i]) != 0;
    free(r->paused);
    r->paused = q->domains;
    r->npaused = q->n;
    r->paused_all = q->all;
    q->domains = NULL;
    if (changed)
        log_notice("deliveries paused by the administrator: %s%s%zu domain(s)",
                   r->paused_all ? "every destination" : "", r->paused_all ? ", and " : "",
                   r->npaused);
}

static int pause_add(struct pause_fetch *q, const char *domain)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        void *p = realloc(q->domains, cap * sizeof(*q->domains));
        if (!p)
            return -1;
        q->domains = p;
        q->cap = cap;
    }
    snprintf(q->domains[q->n++], sizeof(q->domains[0]), "%s", domain);
    return 0;
}

static int pause_answer(struct router *r, struct ipc_reader *rd, void *arg)
{
    struct pause_fetch *q = arg;
    struct ipc_pause p;

    if (rd->type == IPC_PAUSE_ITEM && ipc_decode_pause(rd, &p) == 0) {
        if (p.flags & IPC_ADMIN_ALL)
            q->all = 1;
        else if (pause_add(q, p.domain) < 0)
            log_error("out of memory reading the paused destinations");
        return 0;
    }
    if (rd->type == IPC_END)
        pause_take(r, q);
    else
        log_error("paused destinations: unexpected answer %s; the old list stays",
                  ipc_type_name(rd->type));
    if (q->start_queue)
        router_queue_start(r);
    free(q->domains);
    free(q);
    return 1;
}

static void pause_fail(struct router *r, const char *why, void *arg)
{
    struct pause_fetch *q = arg;

    (void)r;
    (void)why;
    free(q->domains);
    free(q);
}

void router_pause_fetch(struct router *r, int start_queue)
{
    struct pause_fetch *q = calloc(1, sizeof(*q));

    if (q) {
        q->start_queue = start_queue;
        if (router_store_request(r, pause_encode, pause_answer, pause_fail, q) == 0)
            return;
        free(q);
    }
    if (start_queue)
        router_queue_start(r);
}

int router_pause_is(const struct router *r, const char *addr)
{
    const char *at = strrchr(addr, '@'), *domain = at ? at + 1 : "";

    if (r->paused_all)
        return 1;
    for (size_t i = 0; i < r->npaused; i++)
        if (strcasecmp(r->paused[i], domain) == 0)
            return 1;
    return 0;
}

void router_pause_free(struct router *r)
{
    free(r->paused);
    r->paused = NULL;
    r->npaused = 0;
}
