/* store_repl_remove.h - spoolctl repl remove: whether a site may be taken out of the group, decided from the master's view (a pure function). */
#ifndef SPOOLGATE_STORE_REPL_REMOVE_H
#define SPOOLGATE_STORE_REPL_REMOVE_H

#include <stddef.h>

#include "store_db.h"
#include "store_repl_conf.h"

/* Why a removal is refused: the caller's error code follows it. */
enum store_repl_remove_verdict {
    STORE_REPL_REMOVE_OK,
    STORE_REPL_REMOVE_NOT_MASTER, /* this site does not serve as master: ask the master */
    STORE_REPL_REMOVE_REFUSED,    /* the request can never succeed as it is */
};

/* May the site named `site` (a name of rc, or the ADDRESS:PORT of a member) be removed from
 * the group, as this site sees it?  rs: this site's status of the group; serving: this site
 * serves as master.  STORE_REPL_REMOVE_OK with *peer its index in rs->remote, or a refusal with
 * why: this site is not the serving master (naming the master), no such member, the master
 * itself, fewer than STORE_REPL_SITES_MIN sites left, or a site still connected. */
enum store_repl_remove_verdict store_repl_remove_check(const struct store_repl_conf *rc,
                                                       const struct store_repl_status *rs,
                                                       int serving, const char *site, size_t *peer,
                                                       char *why, size_t whysz);
/* "NAME (ADDRESS:PORT)" of member rs->remote[i], its name from rc ("-" when rc has none). */
void store_repl_peer_text(const struct store_repl_conf *rc, const struct store_repl_status *rs,
                          size_t i, char *buf, size_t bufsz);

#endif
