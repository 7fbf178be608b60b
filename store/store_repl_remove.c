/* store_repl_remove.c - spoolctl repl remove: whether a site may be taken out of the group, decided from the master's view (a pure function). */
#include "store_repl_remove.h"

#include <stdio.h>
#include <string.h>

void store_repl_peer_text(const struct store_repl_conf *rc, const struct store_repl_status *rs,
                          size_t i, char *buf, size_t bufsz)
{
    const struct store_repl_peer *p = &rs->remote[i];
    int j = store_repl_conf_find(rc, p->host, p->port);
    char addr[80];

    if (j >= 0) {
        store_repl_site_text(rc, (size_t)j, buf, bufsz);
        return;
    }
    store_repl_addr_text(p->host, p->port, addr, sizeof(addr));
    snprintf(buf, bufsz, "- (%s)", addr);
}

static void master_text(const struct store_repl_conf *rc, const struct store_repl_status *rs,
                        char *buf, size_t bufsz)
{
    for (size_t i = 0; i < rs->nremote; i++)
        if (rs->remote[i].is_master) {
            store_repl_peer_text(rc, rs, i, buf, bufsz);
            return;
        }
    snprintf(buf, bufsz, "not known yet (an election may be under way)");
}

/* The members' names (or addresses), this site first, for a refusal. */
static void members_text(const struct store_repl_conf *rc, const struct store_repl_status *rs,
                         char *buf, size_t bufsz)
{
    size_t n = (size_t)snprintf(buf, bufsz, "%s", rc->site[rc->local].name);

    for (size_t i = 0; i < rs->nremote && n < bufsz; i++) {
        const struct store_repl_peer *p = &rs->remote[i];
        int j = store_repl_conf_find(rc, p->host, p->port);
        char addr[80];

        store_repl_addr_text(p->host, p->port, addr, sizeof(addr));
        n += (size_t)snprintf(buf + n, bufsz - n, " %s", j >= 0 ? rc->site[j].name : addr);
    }
}

/* Does site (a name or ADDRESS:PORT) name member p?  conf: the site of rc it names, or -1. */
static int names_peer(const char *site, int conf, const struct store_repl_conf *rc,
                      const struct store_repl_peer *p)
{
    char addr[80];

    if (conf >= 0)
        return rc->site[conf].port == p->port && strcmp(rc->site[conf].host, p->host) == 0;
    store_repl_addr_text(p->host, p->port, addr, sizeof(addr));
    return strcmp(addr, site) == 0;
}

/* The site of rc named (or addressed) by site, or -1. */
static int conf_site(const struct store_repl_conf *rc, const char *site)
{
    for (size_t i = 0; i < rc->nsites; i++) {
        char addr[80];

        store_repl_addr_text(rc->site[i].host, rc->site[i].port, addr, sizeof(addr));
        if (strcmp(rc->site[i].name, site) == 0 || strcmp(addr, site) == 0)
            return (int)i;
    }
    return -1;
}

enum store_repl_remove_verdict store_repl_remove_check(const struct store_repl_conf *rc,
                                                       const struct store_repl_status *rs,
                                                       int serving, const char *site, size_t *peer,
                                                       char *why, size_t whysz)
{
    int conf = conf_site(rc, site);
    char self[128], them[128], list[512];

    store_repl_site_text(rc, rc->local, self, sizeof(self));
    if (!serving || !rs->is_master) {
        master_text(rc, rs, them, sizeof(them));
        snprintf(why, whysz, "not master: site %s does not serve as master; the master is %s", self,
                 them);
        return STORE_REPL_REMOVE_NOT_MASTER;
    }
    if (conf == (int)rc->local) {
        snprintf(why, whysz,
                 "site %s is the master, which cannot remove itself (Berkeley DB refuses it): "
                 "stop it first, and once the group has elected another master remove it there",
                 self);
        return STORE_REPL_REMOVE_REFUSED;
    }
    for (*peer = 0; *peer < rs->nremote; (*peer)++)
        if (names_peer(site, conf, rc, &rs->remote[*peer]))
            break;
    if (*peer == rs->nremote) {
        members_text(rc, rs, list, sizeof(list));
        if (conf >= 0) {
            store_repl_site_text(rc, (size_t)conf, them, sizeof(them));
            snprintf(why, whysz,
                     "site %s is in store.repl_group but not a member of the group (removed "
                     "already, or it never joined); the members: %s",
                     them, list);
        } else {
            snprintf(why, whysz,
                     "\"%s\" is not a site of the group: give a site's name in the master's "
                     "store.repl_group, or its ADDRESS:PORT as spoolctl repl shows it; the "
                     "members: %s",
                     site, list);
        }
        return STORE_REPL_REMOVE_REFUSED;
    }
    store_repl_peer_text(rc, rs, *peer, them, sizeof(them));
    if (rs->nsites < STORE_REPL_SITES_MIN + 1) {
        snprintf(why, whysz,
                 "removing site %s would leave the group %u site%s; a replicated store needs at "
                 "least %d (a group of 2 commits without another site's acknowledgement, and "
                 "none of its sites would take up mastership after a failover): add a site first",
                 them, rs->nsites ? rs->nsites - 1 : 0, rs->nsites == 2 ? "" : "s",
                 STORE_REPL_SITES_MIN);
        return STORE_REPL_REMOVE_REFUSED;
    }
    if (rs->remote[*peer].connected) {
        snprintf(why, whysz,
                 "site %s is still connected to the master: stop it first, then remove it (a "
                 "site removed while it runs has its replication stopped under it by Berkeley "
                 "DB)",
                 them);
        return STORE_REPL_REMOVE_REFUSED;
    }
    return STORE_REPL_REMOVE_OK;
}
