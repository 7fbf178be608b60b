/* transport_map.h - pure parser and lookup of the router's transport map (domain -> next hop). */
#ifndef SPOOLGATE_TRANSPORT_MAP_H
#define SPOOLGATE_TRANSPORT_MAP_H

#include <stddef.h>

enum tm_kind {
    TM_SMTP_HOST, /* smtp:[host]:port - connect to host, no MX lookup */
    TM_SMTP_MX,   /* smtp:host[:port] - MX lookup of host */
    TM_ERROR,     /* error:X.Y.Z text */
    TM_LMTP_HOST, /* lmtp:[host]:port, lmtp:host:port, lmtp:inet:host:port - LMTP over TCP, no MX */
    TM_LMTP_UNIX, /* lmtp:unix:/path - LMTP over a Unix socket (path in host) */
};

#define TM_LMTP_PORT 24      /* LMTP's port when the entry names none */
#define TM_UNIX_PATH_MAX 107 /* octets of a Unix socket path (sun_path less its NUL) */

/* TM_TLS_IMPLICIT: TLS from the connect on (RFC 8314, port 465), verified as TM_TLS_VERIFY. */
enum tm_tls { TM_TLS_DEFAULT = 0, TM_TLS_NONE, TM_TLS_MAY, TM_TLS_VERIFY, TM_TLS_IMPLICIT };

#define TM_SUBMISSIONS_PORT 465 /* implicit TLS unless the entry says otherwise (RFC 8314 3.3) */
#define TM_AUTH_NAME_MAX 63     /* octets of a credentials name (auth=NAME) */

/* The next blank-separated (space, tab) word of line[*pos..n): its length (0 at the end), *tok
 * its start, *pos past it.  Pure. */
size_t tm_next_token(const char *line, size_t n, size_t *pos, const char **tok);
/* Is s (n octets) a credentials name: 1-63 of letters, digits, '.', '_', '-'?  Pure. */
int tm_auth_name_valid(const char *s, size_t n);

struct tm_entry {
    char domain[256]; /* lower case; leading '.' = subdomains */
    enum tm_kind kind;
    char host[256];  /* TM_SMTP_*, TM_LMTP_HOST: host name or address (no brackets); the path */
    unsigned port;   /* 0 = the default port */
    char status[16]; /* TM_ERROR: "5.1.2" */
    char text[256];  /* TM_ERROR: the reason */
    enum tm_tls tls; /* an smtp: entry with auth= or port 465 never keeps TM_TLS_DEFAULT */
    char
        auth[TM_AUTH_NAME_MAX + 1]; /* smtp:: credentials to AUTH with (router.smarthost_secrets) */
};

struct transport_map {
    struct tm_entry *v;
    size_t n;
};

/* Parse map text (name used in errors).  Returns 0, or -1 with every bad
 * line reported as "name:line: reason" (one per line) in err.  On success
 * *map owns the entries (tm_free). */
int tm_parse(const char *text, size_t len, const char *name, struct transport_map *map, char *err,
             size_t errsz);
void tm_free(struct transport_map *map);
/* The entry for a domain: exact match first, then the longest ".suffix"
 * match; NULL if none.  Case-insensitive. */
const struct tm_entry *tm_lookup(const struct transport_map *map, const char *domain);

/* Does domain equal one of the words of list (separated by spaces, tabs,
 * commas or line ends; case-insensitive)?  A word starting with '.' matches
 * every subdomain but not the domain itself.  Pure. */
int tm_domain_listed(const char *domain, const char *list);

/* Read and parse a map file (the one function here that does I/O); an
 * empty path gives an empty map.  0, or -1 with the reasons in err. */
int tm_load_file(const char *path, struct transport_map *map, char *err, size_t errsz);

/* Parse "[host]:port", "host:port", "[host]", "host" (relayhost syntax).
 * *mx is 1 when the host is not bracketed (look up its MX).  Returns 0 or -1. */
int tm_parse_nexthop(const char *s, char *host, size_t hostsz, unsigned *port, int *mx);
/* Why s is not a next hop tm_parse_nexthop takes, or NULL when it is one. */
const char *tm_nexthop_problem(const char *s);

#endif
