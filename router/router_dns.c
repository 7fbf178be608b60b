/* router_dns.c - MX and address lookups with c-ares, run to completion on a worker thread (never on the loop). */
#include <ares.h>
#include <arpa/nameser.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "reason.h"
#include "router.h"
#include "router_idna.h"

struct dns_work {
    uv_work_t req;
    char servers[1025];
    char host[256];
    int mx;
    struct dns_result res;
    void (*done)(struct dns_result *res, void *arg);
    void *arg;
};

/* ---- running c-ares synchronously -------------------------------------------------- */

static void ares_run(ares_channel ch)
{
    for (;;) {
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        struct pollfd pfd[ARES_GETSOCK_MAXNUM];
        /* The ARES_GETSOCK_* macros shift a signed 1 into the sign bit: test the bits unsigned. */
        unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
        nfds_t n = 0;
        struct timeval tv, *tvp;
        int rc;

        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = (short)(((bits & (1u << i)) ? POLLIN : 0) |
                               ((bits & (1u << (i + ARES_GETSOCK_MAXNUM))) ? POLLOUT : 0));
            if (ev)
                pfd[n++] = (struct pollfd){.fd = socks[i], .events = ev};
        }
        if (n == 0)
            return;
        tvp = ares_timeout(ch, NULL, &tv);
        rc = poll(pfd, n, tvp ? (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000);
        if (rc <= 0) {
            ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
            continue;
        }
        for (nfds_t i = 0; i < n; i++)
            ares_process_fd(
                ch, (pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd : ARES_SOCKET_BAD,
                (pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
    }
}

/* ---- answers ------------------------------------------------------------------------- */

struct mx_answer {
    int status;
    struct ares_mx_reply *mx;
};

static void mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct mx_answer *a = arg;

    a->status = status;
    if (status == ARES_SUCCESS && ares_parse_mx_reply(abuf, alen, &a->mx) != ARES_SUCCESS) {
        a->status = ARES_EBADRESP;
        a->mx = NULL;
    }
}

struct addr_answer {
    int status;
    struct dns_result *res;
    const char *name;
    unsigned pref;
};

static void addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct addr_answer *a = arg;

    a->status = status;
    for (struct ares_addrinfo_node *n = ai ? ai->nodes : NULL; n; n = n->ai_next) {
        struct dns_target *t;

        if (a->res->n >= ROUTER_MAX_HOSTS)
            break;
        t = &a->res->t[a->res->n];
        if (n->ai_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)n->ai_addr)->sin_addr, t->addr,
                      sizeof(t->addr));
        else if (n->ai_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)n->ai_addr)->sin6_addr, t->addr,
                      sizeof(t->addr));
        else
            continue;
        t->family = n->ai_family;
        t->pref = a->pref;
        snprintf(t->name, sizeof(t->name), "%s", a->name);
        a->res->n++;
    }
    if (ai)
        ares_freeaddrinfo(ai);
}

static int resolve_addresses(ares_channel ch, const char *name, unsigned pref,
                             struct dns_result *res)
{
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC};
    struct addr_answer a = {.status = ARES_ENODATA, .res = res, .name = name, .pref = pref};

    ares_getaddrinfo(ch, name, NULL, &hints, addr_cb, &a);
    ares_run(ch);
    return a.status;
}

#define DNS_RESULT_SET(result, outcome_, enhanced_, ...) \
    ((result)->status = (outcome_),                      \
     SG_REASON_SET((result)->enhanced, (result)->why, (enhanced_), __VA_ARGS__))

static int mx_cmp(const void *a, const void *b)
{
    const struct ares_mx_reply *x = *(struct ares_mx_reply *const *)a;
    const struct ares_mx_reply *y = *(struct ares_mx_reply *const *)b;

    return (int)x->priority - (int)y->priority;
}

static void resolve_mx(ares_channel ch, const char *domain, struct dns_result *res)
{
    struct mx_answer a = {.status = ARES_ENODATA};
    struct ares_mx_reply *list[64];
    unsigned n = 0, seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)res;
    int last = ARES_SUCCESS;

    ares_query(ch, domain, ns_c_in, ns_t_mx, mx_cb, &a);
    ares_run(ch);
    if (a.status == ARES_ENOTFOUND) {
        DNS_RESULT_SET(res, OUT_FAILED, "5.1.2", "5.1.2 domain %s does not exist (DNS: NXDOMAIN)",
                       domain);
        return;
    }
    if (a.status == ARES_ENODATA) {
        /* No MX: the domain itself is the implicit MX (RFC 5321 5.1). */
        last = resolve_addresses(ch, domain, 0, res);
        if (res->n == 0)
            DNS_RESULT_SET(
                res, last == ARES_ENOTFOUND || last == ARES_ENODATA ? OUT_FAILED : OUT_DEFERRED,
                last == ARES_ENOTFOUND || last == ARES_ENODATA ? "5.1.2" : "4.4.3",
                "%s domain %s has no MX and no address (DNS: %s)",
                last == ARES_ENOTFOUND || last == ARES_ENODATA ? "5.1.2" : "4.4.3", domain,
                ares_strerror(last));
        return;
    }
    if (a.status != ARES_SUCCESS) {
        DNS_RESULT_SET(res, OUT_DEFERRED, "4.4.3", "4.4.3 MX lookup of %s failed: %s", domain,
                       ares_strerror(a.status));
        return;
    }
    for (struct ares_mx_reply *m = a.mx; m && n < 64; m = m->next)
        list[n++] = m;
    if (n == 1 && (list[0]->host[0] == '\0' || strcmp(list[0]->host, ".") == 0)) {
        DNS_RESULT_SET(res, OUT_FAILED, "5.1.10",
                       "5.1.10 domain %s accepts no mail (null MX, RFC 7505)", domain);
        ares_free_data(a.mx);
        return;
    }
    /* Lowest preference first; equal preferences in random order. */
    for (unsigned i = n; i > 1; i--) {
        unsigned k = (unsigned)rand_r(&seed) % i;
        struct ares_mx_reply *t = list[i - 1];

        list[i - 1] = list[k];
        list[k] = t;
    }
    qsort(list, n, sizeof(list[0]), mx_cmp);
    for (unsigned i = 0; i < n && res->n < ROUTER_MAX_HOSTS; i++) {
        if (list[i]->host[0] == '\0')
            continue;
        last = resolve_addresses(ch, list[i]->host, list[i]->priority, res);
    }
    if (res->n == 0)
        DNS_RESULT_SET(res, OUT_DEFERRED, "4.4.3",
                       "4.4.3 no address for any MX host of %s (DNS: %s)", domain,
                       ares_strerror(last));
    ares_free_data(a.mx);
}

static void dns_work_run(uv_work_t *req)
{
    struct dns_work *w = req->data;
    struct in6_addr a6;
    struct in_addr a4;
    ares_channel ch;
    char ascii[sizeof(w->host)], why[200];
    int rc;

    /* A UTF-8 domain is looked up by its A-labels: the DNS knows no other form. */
    if (router_idna_domain(w->host, ascii, sizeof(ascii), why, sizeof(why)) < 0) {
        DNS_RESULT_SET(&w->res, OUT_FAILED, "5.1.2",
                       "5.1.2 domain %s has no valid A-label form (IDNA: %s)", w->host, why);
        return;
    }
    memcpy(w->host, ascii, sizeof(w->host));
    if (inet_pton(AF_INET, w->host, &a4) == 1 || inet_pton(AF_INET6, w->host, &a6) == 1) {
        snprintf(w->res.t[0].addr, sizeof(w->res.t[0].addr), "%.63s", w->host);
        snprintf(w->res.t[0].name, sizeof(w->res.t[0].name), "%s", w->host);
        w->res.t[0].family = strchr(w->host, ':') ? AF_INET6 : AF_INET;
        w->res.n = 1;
        return;
    }
    if ((rc = ares_init(&ch)) != ARES_SUCCESS) {
        DNS_RESULT_SET(&w->res, OUT_DEFERRED, "4.4.3", "4.4.3 resolver: %s", ares_strerror(rc));
        return;
    }
    if (w->servers[0] && (rc = ares_set_servers_ports_csv(ch, w->servers)) != ARES_SUCCESS) {
        DNS_RESULT_SET(&w->res, OUT_DEFERRED, "4.4.3", "4.4.3 resolver servers \"%s\": %s",
                       w->servers, ares_strerror(rc));
        ares_destroy(ch);
        return;
    }
    if (w->mx) {
        resolve_mx(ch, w->host, &w->res);
    } else {
        rc = resolve_addresses(ch, w->host, 0, &w->res);
        if (w->res.n == 0)
            DNS_RESULT_SET(&w->res, OUT_DEFERRED, "4.4.3", "4.4.3 no address for host %s (DNS: %s)",
                           w->host, ares_strerror(rc));
    }
    ares_destroy(ch);
}

static void dns_work_done(uv_work_t *req, int status)
{
    struct dns_work *w = req->data;

    if (status < 0)
        DNS_RESULT_SET(&w->res, OUT_DEFERRED, "4.4.3", "4.4.3 lookup cancelled");
    w->done(&w->res, w->arg);
    free(w);
}

int router_dns_resolve(struct router *r, const char *host, int mx,
                       void (*done)(struct dns_result *res, void *arg), void *arg)
{
    struct dns_work *w = calloc(1, sizeof(*w));

    if (!w)
        return -1;
    w->req.data = w;
    snprintf(w->servers, sizeof(w->servers), "%s", r->cfg->router.dns_servers);
    snprintf(w->host, sizeof(w->host), "%s", host);
    w->mx = mx;
    w->done = done;
    w->arg = arg;
    if (uv_queue_work(r->loop, &w->req, dns_work_run, dns_work_done) < 0) {
        free(w);
        return -1;
    }
    return 0;
}
