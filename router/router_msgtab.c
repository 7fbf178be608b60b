/* router_msgtab.c - the messages in memory: a hash table by queue id, and the count of their recipients against router.active_limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router.h"

static size_t qid_hash(const char *qid, size_t size)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *qid; qid++)
        h = (h ^ (unsigned char)*qid) * 16777619u;
    return h & (size - 1);
}

int router_msgtab_init(struct router *r)
{
    size_t size = 1024;

    while (size < 2 * (size_t)r->cfg->router.active_limit)
        size *= 2;
    r->msg_tab = calloc(size, sizeof(*r->msg_tab));
    r->msg_tab_size = size;
    return r->msg_tab ? 0 : -1;
}

void router_msgtab_free(struct router *r)
{
    for (size_t i = 0; i < r->msg_tab_size; i++) {
        struct msg *m;

        while ((m = r->msg_tab[i]) != NULL) {
            r->msg_tab[i] = m->hnext; /* unlinked here: the chain never points at freed memory */
            m->hnext = NULL;
            router_msg_free(m);
        }
    }
    free(r->msg_tab);
    r->msg_tab = NULL;
}

struct msg *router_msg_find(struct router *r, const char *qid)
{
    struct msg *m = r->msg_tab[qid_hash(qid, r->msg_tab_size)];

    while (m && strcmp(m->env.qid, qid) != 0)
        m = m->hnext;
    return m;
}

struct msg *router_msg_new(struct router *r, const char *qid)
{
    struct msg *m = calloc(1, sizeof(*m));
    size_t h = qid_hash(qid, r->msg_tab_size);

    if (!m)
        return NULL;
    m->r = r;
    snprintf(m->env.qid, sizeof(m->env.qid), "%s", qid);
    m->hnext = r->msg_tab[h];
    r->msg_tab[h] = m;
    r->nmsgs++;
    return m;
}

int router_msg_rcpts(struct msg *m, uint32_t n)
{
    if (!(m->rcpts = calloc(n, sizeof(*m->rcpts))))
        return -1;
    m->nalloc = n;
    m->r->active_rcpts += n;
    return 0;
}

void router_msg_free(struct msg *m)
{
    struct router *r = m->r;

    for (struct msg **p = &r->msg_tab[qid_hash(m->env.qid, r->msg_tab_size)]; *p;
         p = &(*p)->hnext) {
        if (*p == m) {
            *p = m->hnext;
            break;
        }
    }
    r->nmsgs--;
    r->active_rcpts -= m->nalloc;
    free(m->rcpts);
    sg_buf_free(&m->gw_final);
    free(m);
    router_pump_soon(r);
}

uint64_t router_room(const struct router *r)
{
    uint64_t limit = (uint64_t)r->cfg->router.active_limit;

    return r->active_rcpts < limit ? limit - r->active_rcpts : 0;
}
