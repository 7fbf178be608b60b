/* router_secrets.h - smarthost credentials: the secrets file parsed by a pure function, loaded with its owner and mode checked, wiped when freed, never logged. */
#ifndef SPOOLGATE_ROUTER_SECRETS_H
#define SPOOLGATE_ROUTER_SECRETS_H

#include <stddef.h>
#include <sys/types.h>

#include "transport_map.h"

#define ROUTER_SECRET_MAX 255 /* octets of a user name or a password */

struct router_secret {
    char name[TM_AUTH_NAME_MAX + 1]; /* what auth=NAME and router.relayhost_auth say */
    char user[ROUTER_SECRET_MAX + 1];
    char pass[ROUTER_SECRET_MAX + 1];
};

struct router_secrets {
    struct router_secret *v;
    size_t n;
};

/* Parse the file's text: "NAME USER PASSWORD" a line (the password is the rest of the line, blanks
 * inside it kept, blanks around it not), '#' lines and blank lines skipped.  0, or -1 with every
 * bad line as "name:line: reason" in err; a reason never quotes a user or a password.  Pure. */
int router_secrets_parse(const char *text, size_t len, const char *name, struct router_secrets *out,
                         char *err, size_t errsz);
/* Read path (empty: no credentials) after checking it is a regular file owned by root or by uid
 * (the router's user), with no access for others and no write for the group.  0 or -1 (why). */
int router_secrets_load(const char *path, uid_t uid, struct router_secrets *out, char *err,
                        size_t errsz);
const struct router_secret *router_secrets_find(const struct router_secrets *s, const char *name);
/* Every credentials name the map and router.relayhost_auth use is there: 0, or -1 naming the
 * first that is not. */
int router_secrets_cover(const struct router_secrets *s, const struct transport_map *map,
                         const char *relayhost_auth, char *err, size_t errsz);
/* Wiped, then freed. */
void router_secrets_free(struct router_secrets *s);

#endif
