/* ipc_tls_conf.h - the IPC-over-TCP keys checked together, and [store] ipc_tls_peers parsed (pure functions). */
#ifndef SPOOLGATE_IPC_TLS_CONF_H
#define SPOOLGATE_IPC_TLS_CONF_H

#include <stddef.h>

struct sg_config;

/* What a client certificate's name may do at a store's ipc_listen. */
enum ipc_tls_role {
    IPC_TLS_ROLE_SMTPD = 1u << 0,
    IPC_TLS_ROLE_ROUTER = 1u << 1,
    IPC_TLS_ROLE_GATEWAY = 1u << 2,
    IPC_TLS_ROLE_ADMIN = 1u << 3,
};

#define IPC_TLS_PEERS_MAX 64
#define IPC_TLS_NAME_MAX 254 /* a DNS name */

struct ipc_tls_peers {
    struct {
        char name[IPC_TLS_NAME_MAX + 1];
        unsigned roles; /* enum ipc_tls_role bits */
    } peer[IPC_TLS_PEERS_MAX];
    size_t n;
};

/* "mx1.example.net=smtpd mx1.example.net=router ops=admin" into p: a name given twice has the
 * roles of both.  0, or -1 with why (no '=', an empty name, an unknown role, too many). */
int ipc_tls_peers_parse(const char *text, struct ipc_tls_peers *p, char *why, size_t whysz);
/* The roles names of roles as text into buf: "smtpd,router". */
void ipc_tls_roles_text(unsigned roles, char *buf, size_t bufsz);
/* The keys together: a tcp: store address or ipc_listen needs ipc_tls_cert, _key and _ca;
 * ipc_listen needs ipc_tls_peers, which must parse.  0, or -1 with why. */
int ipc_tls_conf_check(const struct sg_config *c, char *why, size_t whysz);

#endif
