/* store_filter.c - which messages and recipients an administrator's filter (struct ipc_filter) selects. */
#include <strings.h>

#include "store_ops.h"

int store_filter_rcpt(const struct ipc_filter *f, const struct rec_rcpt *rc)
{
    if (f->state_mask && !(f->state_mask & (1u << rc->state)))
        return 0;
    if (f->to[0] && !ipc_filter_addr_match(f->to, rc->addr))
        return 0;
    if (f->domain[0] && strcasecmp(ipc_addr_domain(rc->addr), f->domain) != 0)
        return 0;
    return 1;
}

int store_filter_envelope(const struct ipc_filter *f, const struct rec_envelope *e)
{
    if (f->from[0] && !ipc_filter_addr_match(f->from, e->sender))
        return 0;
    return f->before_us == 0 || e->arrival_us < f->before_us;
}

int store_filter_message(const struct ipc_filter *f, const struct rec_envelope *e,
                         const struct rec_rcpt *rc)
{
    if (!store_filter_envelope(f, e))
        return 0;
    for (uint32_t i = 0; i < e->nrcpt; i++)
        if (store_filter_rcpt(f, &rc[i]))
            return 1;
    return 0;
}
