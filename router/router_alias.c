/* router_alias.c - recipients the alias map expands: the message queued again for the addresses they stand for (ORCPT kept, the body streamed from the original into the copy), the originals recorded as delivered by that; loops and oversize expansions fail with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "log.h"
#include "reason.h"
#include "router.h"
#include "smtp_char.h"
#include "smtp_xtext.h"

#define ALIAS_ORIGIN "alias:" /* origin of a message the alias map made: never expanded again */
#define ALIAS_SHOWN 8         /* addresses named in a recipient's reply */
/* Expansions at once (each has two store connections while its body streams); the rest wait. */
#define ALIAS_JOBS_MAX 4

struct alias_target {
    char addr[IPC_ADDR_MAX + 1];
    char orcpt[IPC_ADDR_MAX + 1];
    uint32_t notify;
};

/* One expansion on its way: the copy is submitted on a store connection of its own while the
 * original's body streams in on another, paused while the submission's frames wait. */
struct alias_job {
    struct router *r;
    struct job *j;
    struct alias_target *t;
    size_t n, cap;
    struct am_expansion *x; /* x[i]: the job's recipient i expanded (n == 0: failed) */
    char origin[IPC_ORIGIN_MAX + 1];
    struct sc_conn *conn; /* the copy's submission */
    struct sc_conn *src;  /* the original's body */
    int ended;
};

int router_alias_applies(const struct router *r, const struct msg *m, const char *addr)
{
    return strncmp(m->env.origin, ALIAS_ORIGIN, strlen(ALIAS_ORIGIN)) != 0 &&
           router_am_lookup(&r->aliases, addr) != NULL;
}

void router_alias_route(struct route *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = ROUTE_ALIAS;
    snprintf(out->desc, sizeof(out->desc), "alias");
    snprintf(out->key, sizeof(out->key), "alias");
}

/* The ORCPT the new recipients carry: the original's own, else its address (RFC 3461 4.2). */
static void alias_orcpt(const struct rcpt_work *w, char *out, size_t outsz)
{
    char x[IPC_ADDR_MAX + 1];

    out[0] = '\0';
    if (w->r.orcpt[0]) {
        snprintf(out, outsz, "%s", w->r.orcpt);
        return;
    }
    if (smtp_has_8bit(w->r.addr, strlen(w->r.addr)))
        return; /* a UTF-8 address has no rfc822 ORCPT; the log names it anyway */
    if (smtp_xtext_encode(w->r.addr, x, sizeof(x)) == 0 && strlen(x) + 7 < outsz)
        snprintf(out, outsz, "rfc822;%s", x);
}

static int alias_add(struct alias_job *a, const struct rcpt_work *w, const char *addr)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcasecmp(a->t[i].addr, addr) == 0)
            return 0; /* two aliases of the message name it: it gets one copy */
    if (sg_array_reserve(&a->t, &a->cap, a->n + 1, sizeof(*a->t)) < 0)
        return -1;
    snprintf(a->t[a->n].addr, sizeof(a->t[0].addr), "%s", addr);
    alias_orcpt(w, a->t[a->n].orcpt, sizeof(a->t[0].orcpt));
    a->t[a->n].notify = w->r.notify;
    a->n++;
    return 0;
}

/* "2.1.5 expanded by the alias map to <b>, <c> (2 addresses)" */
static void alias_reply(struct rcpt_work *w, const struct am_expansion *x, const char *qid)
{
    char list[IPC_REPLY_MAX + 1] = "";
    size_t used = 0;

    for (size_t i = 0; i < x->n && i < ALIAS_SHOWN && used < sizeof(list); i++)
        used +=
            (size_t)snprintf(list + used, sizeof(list) - used, "%s<%s>", i ? ", " : "", x->addr[i]);
    if (x->n > ALIAS_SHOWN && used < sizeof(list))
        snprintf(list + used, sizeof(list) - used, ", ...");
    sg_reason_set(w->status, sizeof(w->status), "2.1.5", w->reply, sizeof(w->reply),
                  "2.1.5 expanded by the alias map to %s (%zu address%s): queued as %s", list, x->n,
                  x->n == 1 ? "" : "es", qid);
    w->outcome = OUT_DELIVERED;
}

/* Expand every recipient of the job: targets gathered, failures recorded.  -1: out of memory. */
static int alias_expand_all(struct alias_job *a)
{
    struct job *j = a->j;
    size_t used =
        (size_t)snprintf(a->origin, sizeof(a->origin), "%s%s:", ALIAS_ORIGIN, j->m->env.qid);

    if (!(a->x = calloc(j->n ? j->n : 1, sizeof(*a->x))))
        return -1;
    for (unsigned i = 0; i < j->n; i++) {
        struct rcpt_work *w = &j->m->rcpts[j->idx[i]];
        struct am_expansion *x = &a->x[i];
        char why[IPC_REPLY_MAX - 32];
        enum am_result rc =
            router_am_expand(&a->r->aliases, w->r.addr,
                             (size_t)a->r->cfg->router.alias_expansion_limit, x, why, sizeof(why));

        if (rc == AM_LOOP || rc == AM_LIMIT) {
            const char *st = rc == AM_LOOP ? "5.4.6" : "5.3.4";

            sg_reason_set(w->status, sizeof(w->status), st, w->reply, sizeof(w->reply), "%s %s", st,
                          why);
            w->outcome = OUT_FAILED;
            continue;
        }
        if (rc != AM_EXPANDED) { /* out of memory, or the map changed since routing */
            sg_reason_set(w->status, sizeof(w->status), "4.3.0", w->reply, sizeof(w->reply),
                          "4.3.0 alias expansion not done: %s",
                          rc == AM_NOT_ALIAS ? "the alias map changed" : why);
            w->outcome = OUT_DEFERRED;
            continue;
        }
        for (size_t k = 0; k < x->n; k++)
            if (alias_add(a, w, x->addr[k]) < 0)
                return -1;
        if (used < sizeof(a->origin) - 12)
            used += (size_t)snprintf(a->origin + used, sizeof(a->origin) - used, "%u,", w->r.index);
    }
    return 0;
}

static void alias_start_waiting(struct router *r);

static void alias_job_end(struct alias_job *a)
{
    struct router *r = a->r;

    if (a->ended)
        return;
    a->ended = 1;
    sc_close(a->conn);
    sc_close(a->src);
    for (unsigned i = 0; a->x && i < a->j->n; i++)
        router_am_expansion_free(&a->x[i]);
    free(a->x);
    router_queue_job_done(a->j);
    free(a->t);
    free(a);
    r->alias_running--;
    alias_start_waiting(r);
}

static void alias_defer(struct alias_job *a, const char *why)
{
    char reply[IPC_REPLY_MAX + 1];

    snprintf(reply, sizeof(reply), "4.3.0 alias expansion not queued: %s", why);
    log_warn("%s: %s", a->j->m->env.qid, reply);
    router_job_defer(a->j, "4.3.0", reply);
    alias_job_end(a);
}

/* ---- the original's body, streamed into the copy ------------------------------------ */

static void alias_chunk(void *arg, const uint8_t *data, size_t len)
{
    struct alias_job *a = arg;

    if (sc_submit_chunk(a->conn, data, len) < 0)
        return; /* ended through alias_submitted */
    if (sc_submit_full(a->conn))
        sc_read_pause(a->src, 1); /* until the submission's frames are written */
}

static void alias_read_failed(void *arg, const struct sc_status *st)
{
    struct alias_job *a = arg;

    if (st->lost)
        a->src = NULL; /* gone already */
    alias_defer(a, st->text);
}

static void alias_read_end(void *arg)
{
    struct alias_job *a = arg;

    sc_release_body(a->src); /* kept for another reader */
    a->src = NULL;
    sc_submit_commit(a->conn);
}

static const struct sc_read_ops alias_read_ops = {
    .chunk = alias_chunk, .end = alias_read_end, .failed = alias_read_failed};

/* ---- the copy submitted ------------------------------------------------------------- */

static void alias_submitted(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    struct alias_job *a = arg;
    struct job *j = a->j;

    if (!m) {
        alias_defer(a, st->text);
        return;
    }
    log_info("%s: alias expansion to %zu address%s queued as %s%s", j->m->env.qid, a->n,
             a->n == 1 ? "" : "es", m->qid, m->duplicate ? " (queued before: not again)" : "");
    for (unsigned i = 0; i < j->n; i++) /* those expanded: the ones without an outcome */
        if (j->m->rcpts[j->idx[i]].outcome == OUT_NONE)
            alias_reply(&j->m->rcpts[j->idx[i]], &a->x[i], m->qid);
    alias_job_end(a);
}

static const struct sc_submit_ops alias_submit_ops = {.done = alias_submitted};

static void alias_submit(struct alias_job *a)
{
    const struct ipc_envelope *e = &a->j->m->env;
    struct ipc_submit_begin sb = {.ret = e->ret, .flags = e->flags};

    snprintf(sb.sender, sizeof(sb.sender), "%s", e->sender);
    snprintf(sb.envid, sizeof(sb.envid), "%s", e->envid);
    snprintf(sb.origin, sizeof(sb.origin), "%s", a->origin);
    if (sc_submit_begin(a->conn, &sb, &alias_submit_ops, a) < 0) {
        alias_defer(a, "cannot begin the submission");
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        struct ipc_submit_rcpt sr = {.notify = a->t[i].notify};

        snprintf(sr.addr, sizeof(sr.addr), "%s", a->t[i].addr);
        snprintf(sr.orcpt, sizeof(sr.orcpt), "%s", a->t[i].orcpt);
        if (sc_submit_rcpt(a->conn, &sr) < 0)
            return; /* ended through alias_submitted */
    }
    /* The body is read only now that the submission has begun: its chunks have somewhere to
     * go (the drained callback, which resumes the reader, comes before ready too). */
    if (!(a->src = sc_open_body(&a->r->sc, e->qid, &alias_read_ops, a)))
        alias_defer(a, "out of memory");
}

static void alias_ready(struct sc_conn *c, void *arg)
{
    (void)c;
    alias_submit(arg);
}

static void alias_drained(struct sc_conn *c, void *arg)
{
    struct alias_job *a = arg;

    (void)c;
    if (a->src)
        sc_read_pause(a->src, 0);
}

static void alias_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct alias_job *a = arg;

    (void)c;
    a->conn = NULL;
    alias_defer(a, why);
}

static const struct sc_conn_ops alias_conn_ops = {
    .ready = alias_ready, .drained = alias_drained, .closed = alias_closed};

static void alias_start(struct router *r, struct job *j)
{
    struct alias_job *a = calloc(1, sizeof(*a));

    if (!a) {
        router_job_defer(j, "4.3.0", "4.3.0 out of memory in the router");
        router_queue_job_done(j);
        return;
    }
    r->alias_running++;
    a->r = r;
    a->j = j;
    if (alias_expand_all(a) < 0) {
        alias_defer(a, "out of memory");
        return;
    }
    if (a->n == 0) { /* every one failed */
        alias_job_end(a);
        return;
    }
    if (!(a->conn = sc_connect(&r->sc, "submit", &alias_conn_ops, a)))
        alias_defer(a, "out of memory");
}

/* Start waiting jobs while there is room; a job that ends at once comes back here and
 * returns, so the loop below starts the next (no recursion). */
static void alias_start_waiting(struct router *r)
{
    if (r->alias_starting)
        return;
    r->alias_starting = 1;
    while (r->alias_head && r->alias_running < ALIAS_JOBS_MAX && !r->stopping) {
        struct job *j = r->alias_head;

        if (!(r->alias_head = j->next))
            r->alias_tail = NULL;
        j->next = NULL;
        alias_start(r, j);
    }
    r->alias_starting = 0;
}

void router_alias_deliver(struct router *r, struct job *j)
{
    j->next = NULL;
    if (r->alias_tail)
        r->alias_tail->next = j;
    else
        r->alias_head = j;
    r->alias_tail = j;
    if (r->alias_running >= ALIAS_JOBS_MAX)
        log_msg(LOG_LVL_DEBUG, j->m->env.qid, "alias expansion waits: %u of %u running",
                r->alias_running, ALIAS_JOBS_MAX);
    alias_start_waiting(r);
}

void router_alias_stop(struct router *r)
{
    while (r->alias_head) { /* no outcome: their recipients stay active for the next start */
        struct job *j = r->alias_head;

        r->alias_head = j->next;
        router_queue_job_done(j);
    }
    r->alias_tail = NULL;
}

int router_alias_load(const struct sg_config *c, struct alias_map *aliases,
                      struct alias_map *canonical, char *why, size_t whysz)
{
    char err[4096];

    if (router_am_load_file(c->router.alias_map, 0, aliases, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "router.alias_map refused:\n%s", err);
        return -1;
    }
    if (router_am_load_file(c->router.sender_canonical_map, 1, canonical, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "router.sender_canonical_map refused:\n%s", err);
        router_am_free(aliases);
        return -1;
    }
    return 0;
}
