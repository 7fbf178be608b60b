/* store_repl_conf.h - the replication group of [store]: this site and the group's sites, checked (a pure function). */
#ifndef SPOOLGATE_STORE_REPL_CONF_H
#define SPOOLGATE_STORE_REPL_CONF_H

#include <stddef.h>

#define STORE_REPL_SITES_MIN 3 /* two sites either wait for no ack or split: never fewer */
#define STORE_REPL_SITES_MAX 16
#define STORE_REPL_NAME_MAX 32

struct store_repl_site {
    char name[STORE_REPL_NAME_MAX + 1];
    char host[64]; /* numeric, as given */
    unsigned port;
    char ipc[108]; /* the store address its clients use (repl_ipc), "" when not given */
};

struct store_repl_conf {
    struct store_repl_site site[STORE_REPL_SITES_MAX];
    size_t nsites;
    size_t local; /* this site, in site[] */
};

/* site: this site's name; group: "NAME=ADDR:PORT ..." (space or comma separated, IPv6 as
 * [ADDR]:PORT), every site of the group and this one among them.  0, or -1 with why: fewer
 * than STORE_REPL_SITES_MIN sites or more than the maximum, a bad name or address, a name or
 * address given twice, or site not in the group. */
int store_repl_conf_parse(const char *site, const char *group, struct store_repl_conf *rc,
                          char *why, size_t whysz);
/* repl_ipc: "NAME=ADDRESS ..." (ADDRESS a store address as [global] store has them), each NAME
 * a site of rc, given once, into the sites' ipc.  0, or -1 with why. */
int store_repl_conf_ipc(const char *text, struct store_repl_conf *rc, char *why, size_t whysz);
/* "NAME (ADDR:PORT)" of site i, for logs. */
void store_repl_site_text(const struct store_repl_conf *rc, size_t i, char *buf, size_t bufsz);
/* "ADDR:PORT", IPv6 as "[ADDR]:PORT". */
void store_repl_addr_text(const char *host, unsigned port, char *buf, size_t bufsz);
/* The site of the group at host:port, or -1. */
int store_repl_conf_find(const struct store_repl_conf *rc, const char *host, unsigned port);

#endif
