/* router_route.c - the categorizer: postoffice, transport map, local domains, relayhost, MX - in that order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "router.h"
#include "smtp_addr.h"

static enum tm_tls default_tls(const struct router *r)
{
    const char *p = r->cfg->router.tls_policy;

    return strcmp(p, "none") == 0     ? TM_TLS_NONE
           : strcmp(p, "verify") == 0 ? TM_TLS_VERIFY
                                      : TM_TLS_MAY;
}

/* The relayhost as a transport entry would be: port 465 is implicit TLS, credentials need a
 * verified session. */
static enum tm_tls relayhost_tls(const struct router *r, unsigned port)
{
    if (port == TM_SUBMISSIONS_PORT)
        return TM_TLS_IMPLICIT;
    return r->cfg->router.relayhost_auth[0] ? TM_TLS_VERIFY : default_tls(r);
}

static void route_smtp(struct route *out, const char *kind, const char *host, unsigned port, int mx,
                       enum tm_tls tls, const char *auth)
{
    out->kind = ROUTE_SMTP;
    snprintf(out->host, sizeof(out->host), "%s", host);
    out->port = port;
    out->mx = mx;
    out->tls = tls;
    snprintf(out->auth, sizeof(out->auth), "%s", auth);
    if (mx)
        snprintf(out->desc, sizeof(out->desc), "%s%s%s:%u", kind, kind[0] ? ":" : "", host, port);
    else
        snprintf(out->desc, sizeof(out->desc), "%s%s[%s]:%u", kind, kind[0] ? ":" : "", host, port);
    snprintf(out->key, sizeof(out->key), "%s/%s/%u/%d/%d/%s", mx ? "mx" : "host", host, port, mx,
             tls, auth);
}

/* LMTP to a mailbox server: over its Unix socket (no TLS), or TCP (TLS only as the entry says,
 * as Postfix's lmtp_tls_security_level = none); the server's names are never looked up by MX. */
static void route_lmtp(struct route *out, const struct tm_entry *e)
{
    enum tm_tls tls = e->tls != TM_TLS_DEFAULT ? e->tls : TM_TLS_NONE;

    if (e->kind == TM_LMTP_UNIX) {
        out->kind = ROUTE_SMTP;
        out->lmtp = out->unix_sock = 1;
        out->tls = TM_TLS_NONE;
        snprintf(out->host, sizeof(out->host), "%s", e->host);
        snprintf(out->desc, sizeof(out->desc), "lmtp:unix:%.*s", TM_UNIX_PATH_MAX, e->host);
        snprintf(out->key, sizeof(out->key), "lmtp/unix/%s", e->host);
        return;
    }
    route_smtp(out, "lmtp", e->host, e->port ? e->port : TM_LMTP_PORT, 0, tls, "");
    out->lmtp = 1;
    snprintf(out->key, sizeof(out->key), "lmtp/%s/%u/%d", e->host, out->port, tls);
}

void router_route_for(struct router *r, const char *addr, struct route *out)
{
    const struct sg_config *c = r->cfg;
    const char *domain = smtp_addr_domain(addr);
    const struct tm_entry *e;
    unsigned smtp_port = (unsigned)c->router.smtp_port;

    memset(out, 0, sizeof(*out));
    if (!domain[0]) {
        out->kind = ROUTE_ERROR;
        snprintf(out->status, sizeof(out->status), "5.1.3");
        snprintf(out->text, sizeof(out->text), "recipient address <%s> has no domain", addr);
        snprintf(out->desc, sizeof(out->desc), "error");
        return;
    }
    if (c->gateway.domain[0] && strcasecmp(domain, c->gateway.domain) == 0) {
        out->kind = ROUTE_GATEWAY;
        snprintf(out->desc, sizeof(out->desc), "gateway");
        snprintf(out->key, sizeof(out->key), "gateway");
        return;
    }
    e = tm_lookup(&r->tmap, domain);
    if (e && e->kind == TM_ERROR) {
        out->kind = ROUTE_ERROR;
        snprintf(out->status, sizeof(out->status), "%s", e->status);
        snprintf(out->text, sizeof(out->text), "%s", e->text);
        snprintf(out->desc, sizeof(out->desc), "error");
        return;
    }
    if (e && (e->kind == TM_LMTP_UNIX || e->kind == TM_LMTP_HOST)) {
        route_lmtp(out, e);
        return;
    }
    if (e) {
        route_smtp(out, "smtp", e->host, e->port ? e->port : smtp_port, e->kind == TM_SMTP_MX,
                   e->tls != TM_TLS_DEFAULT ? e->tls : default_tls(r), e->auth);
        return;
    }
    if (tm_domain_listed(domain, c->smtpd.local_domains)) {
        out->kind = ROUTE_ERROR;
        snprintf(out->status, sizeof(out->status), "5.1.1");
        snprintf(out->text, sizeof(out->text),
                 "no mailbox route for local domain %s (add it to the transport map)", domain);
        snprintf(out->desc, sizeof(out->desc), "error");
        return;
    }
    if (c->router.relayhost[0]) {
        char host[256];
        unsigned port = 0;
        int mx = 0;

        if (tm_parse_nexthop(c->router.relayhost, host, sizeof(host), &port, &mx) == 0) {
            route_smtp(out, "relay", host, port ? port : smtp_port, mx, relayhost_tls(r, port),
                       c->router.relayhost_auth);
            return;
        }
    }
    route_smtp(out, "mx", domain, smtp_port, 1, default_tls(r), "");
}

int router_route_load_map(struct router *r, const struct sg_config *c, struct transport_map *out,
                          char *why, size_t whysz)
{
    return tm_load_file(c->router.transport_map, out, why, whysz);
}
