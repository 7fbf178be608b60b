/* store_repl_conf.c - the replication group of [store]: this site and the group's sites, checked (a pure function). */
#include "store_repl_conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config_check.h"
#include "store_addr.h"

static int repl_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > STORE_REPL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", s[i]))
            return 0;
    return 1;
}

/* "ADDR:PORT" into host and port (numeric: the address is bound as it is given). */
static int repl_address(const char *word, struct store_repl_site *s, char *why, size_t whysz)
{
    struct sockaddr_storage ss;

    if (cfg_listen_addr_parse(word, &ss, why, whysz) < 0)
        return -1;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &a->sin6_addr, s->host, sizeof(s->host));
        s->port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &a->sin_addr, s->host, sizeof(s->host));
        s->port = ntohs(a->sin_port);
    }
    return 0;
}

static int repl_site_parse(const char *w, size_t len, struct store_repl_conf *rc, char *why,
                           size_t whysz)
{
    struct store_repl_site *s = &rc->site[rc->nsites];
    const char *eq = memchr(w, '=', len);
    char addr[80];

    if (rc->nsites == STORE_REPL_SITES_MAX) {
        snprintf(why, whysz, "more than %d sites", STORE_REPL_SITES_MAX);
        return -1;
    }
    if (!eq || !repl_name_ok(w, (size_t)(eq - w))) {
        snprintf(why, whysz,
                 "\"%.*s\": expected NAME=ADDRESS:PORT (a name of letters, digits, - _ . up to "
                 "%d)",
                 (int)len, w, STORE_REPL_NAME_MAX);
        return -1;
    }
    snprintf(s->name, sizeof(s->name), "%.*s", (int)(eq - w), w);
    if ((size_t)snprintf(addr, sizeof(addr), "%.*s", (int)(len - (size_t)(eq - w) - 1), eq + 1) >=
            sizeof(addr) ||
        repl_address(addr, s, why, whysz) < 0) {
        snprintf(why, whysz,
                 "site %s: \"%.*s\" is not ADDRESS:PORT (numeric, IPv6 as [ADDRESS]:PORT)", s->name,
                 (int)(len - (size_t)(eq - w) - 1), eq + 1);
        return -1;
    }
    for (size_t i = 0; i < rc->nsites; i++) {
        if (strcmp(rc->site[i].name, s->name) == 0) {
            snprintf(why, whysz, "site %s is given twice", s->name);
            return -1;
        }
        if (strcmp(rc->site[i].host, s->host) == 0 && rc->site[i].port == s->port) {
            snprintf(why, whysz, "sites %s and %s have one address", rc->site[i].name, s->name);
            return -1;
        }
    }
    rc->nsites++;
    return 0;
}

static int repl_find_local(const char *site, struct store_repl_conf *rc, char *why, size_t whysz)
{
    if (!site[0]) {
        snprintf(why, whysz, "store.repl_site is not set (this site's name in store.repl_group)");
        return -1;
    }
    for (size_t i = 0; i < rc->nsites; i++)
        if (strcmp(rc->site[i].name, site) == 0) {
            rc->local = i;
            return 0;
        }
    snprintf(why, whysz, "store.repl_site \"%s\" is not one of the sites of store.repl_group",
             site);
    return -1;
}

int store_repl_conf_parse(const char *site, const char *group, struct store_repl_conf *rc,
                          char *why, size_t whysz)
{
    const char *p = group, *w;
    size_t len;

    memset(rc, 0, sizeof(*rc));
    while ((w = cfg_list_word(&p, &len)) != NULL)
        if (repl_site_parse(w, len, rc, why, whysz) < 0)
            return -1;
    if (rc->nsites < STORE_REPL_SITES_MIN) {
        snprintf(why, whysz,
                 "store.repl_group has %zu site%s; a replicated store needs at least %d (with two, "
                 "a commit either waits for no other site or the group splits in two)",
                 rc->nsites, rc->nsites == 1 ? "" : "s", STORE_REPL_SITES_MIN);
        return -1;
    }
    return repl_find_local(site, rc, why, whysz);
}

static int repl_ipc_one(const char *w, size_t len, struct store_repl_conf *rc, char *why,
                        size_t whysz)
{
    const char *eq = memchr(w, '=', len);
    char name[STORE_REPL_NAME_MAX + 1], addr[SC_ADDR_LEN + 8], err[200];
    struct sc_addr_list one;
    int i;

    if (!eq || eq == w || (size_t)(eq - w) > STORE_REPL_NAME_MAX) {
        snprintf(why, whysz, "store.repl_ipc: \"%.*s\": expected NAME=ADDRESS", (int)len, w);
        return -1;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(eq - w), w);
    for (i = 0; i < (int)rc->nsites && strcmp(rc->site[i].name, name) != 0; i++)
        ;
    if (i == (int)rc->nsites) {
        snprintf(why, whysz, "store.repl_ipc: site %s is not one of store.repl_group", name);
        return -1;
    }
    if (rc->site[i].ipc[0]) {
        snprintf(why, whysz, "store.repl_ipc: site %s is given twice", name);
        return -1;
    }
    if ((size_t)snprintf(addr, sizeof(addr), "%.*s", (int)(len - (size_t)(eq - w) - 1), eq + 1) >=
            sizeof(addr) ||
        sc_addr_parse(addr, &one, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "store.repl_ipc: site %s: %s", name,
                 strlen(addr) >= SC_ADDR_LEN ? "address too long" : err);
        return -1;
    }
    for (size_t j = 0; j < rc->nsites; j++)
        if (strcmp(rc->site[j].ipc, one.path[0]) == 0) {
            snprintf(why, whysz, "store.repl_ipc: sites %s and %s have one address",
                     rc->site[j].name, name);
            return -1;
        }
    snprintf(rc->site[i].ipc, sizeof(rc->site[i].ipc), "%s", one.path[0]);
    return 0;
}

int store_repl_conf_ipc(const char *text, struct store_repl_conf *rc, char *why, size_t whysz)
{
    const char *p = text, *w;
    size_t len;

    for (size_t i = 0; i < rc->nsites; i++)
        rc->site[i].ipc[0] = '\0';
    while ((w = cfg_list_word(&p, &len)) != NULL)
        if (repl_ipc_one(w, len, rc, why, whysz) < 0)
            return -1;
    return 0;
}

void store_repl_addr_text(const char *host, unsigned port, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

void store_repl_site_text(const struct store_repl_conf *rc, size_t i, char *buf, size_t bufsz)
{
    char addr[80];

    store_repl_addr_text(rc->site[i].host, rc->site[i].port, addr, sizeof(addr));
    snprintf(buf, bufsz, "%s (%s)", rc->site[i].name, addr);
}

int store_repl_conf_find(const struct store_repl_conf *rc, const char *host, unsigned port)
{
    for (size_t i = 0; i < rc->nsites; i++)
        if (rc->site[i].port == port && strcmp(rc->site[i].host, host) == 0)
            return (int)i;
    return -1;
}
