/* router_log.c - the router's maillog line for each recipient outcome (to=, orig_to=, relay=, delay=, delays=, dsn=, status=) and the times it is built from. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "router.h"
#include "smtp_xtext.h"

void router_log_mark(struct job *j, enum router_mark mark, uint64_t now)
{
    for (unsigned i = 0; i < j->n; i++) {
        struct rcpt_work *w = &j->m->rcpts[j->idx[i]];

        if (mark == ROUTER_MARK_START)
            w->t_start_us = now;
        else
            w->t_send_us = now;
    }
}

/* The outcome's word, as Postfix's status= has it. */
static const char *status_word(const struct rcpt_work *w)
{
    switch (w->outcome) {
    case OUT_DELIVERED:
        return "sent";
    case OUT_DEFERRED:
        return "deferred";
    case OUT_FAILED:
        return w->bounce_expired || strcmp(w->status, "4.4.7") == 0 ? "expired" : "bounced";
    default:
        return NULL;
    }
}

static double seconds(uint64_t from, uint64_t to)
{
    return from && to > from ? (double)(to - from) / 1e6 : 0.0;
}

/* ", orig_to=<addr>" when the ORCPT names another address than the recipient. */
static void orig_to_text(const struct rcpt_work *w, char *out, size_t outsz)
{
    const char *semi = strchr(w->r.orcpt, ';');
    char addr[IPC_ADDR_MAX + 1];

    out[0] = '\0';
    if (!semi || smtp_xtext_decode(semi + 1, strlen(semi + 1), addr, sizeof(addr)) <= 0 ||
        strcasecmp(addr, w->r.addr) == 0)
        return;
    snprintf(out, outsz, ", orig_to=<%s>", addr);
}

static const char *relay_text(const struct rcpt_work *w)
{
    if (w->remote[0])
        return w->remote;
    return w->route.kind == ROUTE_GATEWAY ? "postoffice"
           : w->route.kind == ROUTE_ALIAS ? "alias"
                                          : "none";
}

void router_log_outcome(const struct msg *m, const struct rcpt_work *w, uint64_t now)
{
    /* delays=a/b/c/d: before the router, waiting in it, connection set-up, transmission */
    uint64_t read = m->t_read_us, start = w->t_start_us, send = w->t_send_us;
    double a = seconds(m->env.arrival_us, read), b = seconds(read, start ? start : now);
    double c = seconds(start, send ? send : now), d = seconds(send, now);
    const char *word = status_word(w);
    char orig[IPC_ADDR_MAX + 32];

    if (!word)
        return;
    orig_to_text(w, orig, sizeof(orig));
    log_msg(LOG_LVL_INFO, m->env.qid,
            "to=<%s>%s, relay=%s, delay=%.2f, delays=%.2f/%.2f/%.2f/%.2f, dsn=%s, status=%s (%s)",
            w->r.addr, orig, relay_text(w), seconds(m->env.arrival_us, now), a, b, c, d,
            w->status[0] ? w->status : "-", word, w->reply);
}
