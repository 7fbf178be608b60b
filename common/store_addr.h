/* store_addr.h - where the mail store is: the [global] store address list, parsed (a pure function). */
#ifndef SPOOLGATE_STORE_ADDR_H
#define SPOOLGATE_STORE_ADDR_H

#include <stddef.h>

#define SC_ADDR_MAX 8   /* store addresses in one list (the sites of a replicated store) */
#define SC_ADDR_LEN 108 /* a Unix socket path, as sockaddr_un holds it */

struct sc_addr_list {
    char path[SC_ADDR_MAX][SC_ADDR_LEN];
    size_t n;
};

/* "unix:/run/a/store.sock unix:/run/b/store.sock" (space or comma separated; "unix:" may be
 * left out) into l.  0, or -1 with why: an empty list, a relative path, one too long for a Unix
 * socket, one given twice, more than SC_ADDR_MAX, or a scheme other than unix:. */
int sc_addr_parse(const char *list, struct sc_addr_list *l, char *why, size_t whysz);

#endif
