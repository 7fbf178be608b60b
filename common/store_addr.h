/* store_addr.h - where the mail store is: the [global] store address list, parsed (a pure function). */
#ifndef SPOOLGATE_STORE_ADDR_H
#define SPOOLGATE_STORE_ADDR_H

#include <stddef.h>

#define SC_ADDR_MAX 8   /* store addresses in one list (the sites of a replicated store) */
#define SC_ADDR_LEN 108 /* a Unix socket path, as sockaddr_un holds it */

struct sockaddr_storage;

/* Each entry a Unix socket path ("/run/spoolgate/store.sock") or a TCP address with its
 * scheme ("tcp:10.0.0.1:2790", "tcp:[fd00::1]:2790"). */
struct sc_addr_list {
    char path[SC_ADDR_MAX][SC_ADDR_LEN];
    size_t n;
};

/* "unix:/run/a/store.sock tcp:10.0.0.2:2790" (space or comma separated; "unix:" may be left
 * out) into l.  0, or -1 with why: an empty list, a relative path, one too long for a Unix
 * socket, a tcp: address that is not a numeric ADDRESS:PORT, one given twice, more than
 * SC_ADDR_MAX, or another scheme. */
int sc_addr_parse(const char *list, struct sc_addr_list *l, char *why, size_t whysz);
/* One entry of a list: 1 for a tcp: address (ss and host, the address as text without brackets,
 * filled), 0 for a Unix socket path, -1 for a bad tcp: address. */
int sc_addr_tcp(const char *addr, struct sockaddr_storage *ss, char *host, size_t hostsz);
/* Which entry of l is the store address addr (as a master's is named in IPC_ROLE): the same
 * path, or the same TCP address and port however written; -1 when none is, or addr is bad. */
int sc_addr_find(const struct sc_addr_list *l, const char *addr);

#endif
