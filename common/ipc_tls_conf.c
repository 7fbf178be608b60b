/* ipc_tls_conf.c - the IPC-over-TCP keys checked together, and [store] ipc_tls_peers parsed (pure functions). */
#include "ipc_tls_conf.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_check.h"

static const struct {
    const char *name;
    unsigned bit;
} ipc_tls_role_names[] = {
    {"smtpd", IPC_TLS_ROLE_SMTPD},
    {"router", IPC_TLS_ROLE_ROUTER},
    {"gateway", IPC_TLS_ROLE_GATEWAY},
    {"admin", IPC_TLS_ROLE_ADMIN},
};

#define IPC_TLS_NROLES (sizeof(ipc_tls_role_names) / sizeof(ipc_tls_role_names[0]))

static unsigned ipc_tls_role_bit(const char *w, size_t len)
{
    for (size_t i = 0; i < IPC_TLS_NROLES; i++)
        if (strlen(ipc_tls_role_names[i].name) == len &&
            memcmp(ipc_tls_role_names[i].name, w, len) == 0)
            return ipc_tls_role_names[i].bit;
    return 0;
}

void ipc_tls_roles_text(unsigned roles, char *buf, size_t bufsz)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < IPC_TLS_NROLES && used < bufsz; i++)
        if (roles & ipc_tls_role_names[i].bit) {
            int n = snprintf(buf + used, bufsz - used, "%s%s", used ? "," : "",
                             ipc_tls_role_names[i].name);

            used += n > 0 ? (size_t)n : 0;
        }
}

static int ipc_tls_peer_one(const char *w, size_t len, struct ipc_tls_peers *p, char *why,
                            size_t whysz)
{
    const char *eq = memchr(w, '=', len);
    size_t nlen = eq ? (size_t)(eq - w) : 0, i;
    unsigned bit = eq ? ipc_tls_role_bit(eq + 1, len - nlen - 1) : 0;

    if (!eq || nlen == 0 || nlen > IPC_TLS_NAME_MAX) {
        snprintf(why, whysz, "\"%.*s\": expected NAME=ROLE (NAME a certificate's DNS name)",
                 (int)len, w);
        return -1;
    }
    if (!bit) {
        snprintf(why, whysz, "\"%.*s\": unknown role (smtpd, router, gateway or admin)", (int)len,
                 w);
        return -1;
    }
    for (i = 0; i < p->n; i++)
        if (strlen(p->peer[i].name) == nlen && memcmp(p->peer[i].name, w, nlen) == 0)
            break;
    if (i == IPC_TLS_PEERS_MAX) {
        snprintf(why, whysz, "more than %d names", IPC_TLS_PEERS_MAX);
        return -1;
    }
    if (i == p->n) {
        memcpy(p->peer[i].name, w, nlen);
        p->peer[i].name[nlen] = '\0';
        p->peer[i].roles = 0;
        p->n++;
    }
    p->peer[i].roles |= bit;
    return 0;
}

int ipc_tls_peers_parse(const char *text, struct ipc_tls_peers *p, char *why, size_t whysz)
{
    const char *w;
    size_t len;

    p->n = 0;
    while ((w = cfg_list_word(&text, &len)) != NULL)
        if (ipc_tls_peer_one(w, len, p, why, whysz) < 0)
            return -1;
    return 0;
}

int ipc_tls_conf_check(const struct sg_config *c, char *why, size_t whysz)
{
    const struct cfg_global *g = &c->global;
    const char *user = c->store.ipc_listen[0] ? "store.ipc_listen" : "a tcp: store address";
    struct ipc_tls_peers peers;

    if (!c->store.ipc_listen[0] && !strstr(g->store, "tcp:"))
        return 0;
    if (!g->ipc_tls_cert[0] || !g->ipc_tls_key[0] || !g->ipc_tls_ca[0]) {
        snprintf(why, whysz,
                 "%s needs global.ipc_tls_cert, ipc_tls_key and ipc_tls_ca (IPC over TCP is "
                 "mutual TLS only)",
                 user);
        return -1;
    }
    if (!c->store.ipc_listen[0])
        return 0;
    if (ipc_tls_peers_parse(c->store.ipc_tls_peers, &peers, why, whysz) < 0)
        return -1;
    if (peers.n == 0) {
        snprintf(why, whysz,
                 "store.ipc_listen needs store.ipc_tls_peers: which certificate "
                 "names may connect, as which role");
        return -1;
    }
    return 0;
}
