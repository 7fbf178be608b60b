/* store_db_repl.c - Berkeley DB's Replication Manager for the store: the sites, acks, elections, heartbeats, its events, who is master, and a site's removal. */
#include "store_db_bdb.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "store_repl_conf.h"

#define US 1000000u

static void (*store_db_rep_fn)(enum store_rep_event ev, int eid);

void store_db_on_rep_event(void (*fn)(enum store_rep_event ev, int eid))
{
    store_db_rep_fn = fn;
}

/* repmgr 5.3 never sets TCP_NODELAY on its connections: each commit then waits for the peer's
 * delayed ack (about 22 commits a second).  Once a connection is up, every TCP socket of the
 * process gets it (the store has no other TCP sockets).  No Berkeley DB call: this runs inside
 * its event callback. */
static void repl_nodelay_all(void)
{
    struct rlimit rl;
    int one = 1;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
        rl.rlim_cur = 65536;
    for (int fd = 3; fd < (int)rl.rlim_cur; fd++) {
        struct sockaddr_storage ss = {0}; /* the analyzer does not see getsockname fill it */
        socklen_t len = sizeof(ss);
        int type = 0;
        socklen_t tlen = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM ||
            getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
}

/* From store_db_event, on whatever thread Berkeley DB fired it: nothing but flags and the
 * owner's hand-off (which must not call Berkeley DB either). */
void store_db_rep_event(u_int32_t event, void *info)
{
    static const struct {
        u_int32_t bdb;
        enum store_rep_event ours;
    } passed[] = {
        {DB_EVENT_REP_CLIENT, STORE_REP_CLIENT},
        {DB_EVENT_REP_MASTER, STORE_REP_MASTER},
        {DB_EVENT_REP_NEWMASTER, STORE_REP_NEWMASTER},
        {DB_EVENT_REP_DUPMASTER, STORE_REP_DUPMASTER},
        {DB_EVENT_REP_STARTUPDONE, STORE_REP_STARTUPDONE},
        {DB_EVENT_REP_LOCAL_SITE_REMOVED, STORE_REP_REMOVED},
    };

    if (event == DB_EVENT_REP_CONNECT_ESTD) {
        repl_nodelay_all();
        return;
    }
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
        if (passed[i].bdb == event && store_db_rep_fn)
            /* NEWMASTER's info is the new master's eid; the others carry none we use. */
            store_db_rep_fn(passed[i].ours,
                            event == DB_EVENT_REP_NEWMASTER && info ? *(int *)info : -1);
}

static int repl_site(DB_ENV *env, const struct store_repl_site *s, int local, int creator,
                     char *err, size_t errsz)
{
    DB_SITE *site;
    int ret = env->repmgr_site(env, s->host, s->port, &site, 0);

    if (ret == 0 && local) {
        ret = site->set_config(site, DB_LOCAL_SITE, 1);
        if (ret == 0 && creator)
            ret = site->set_config(site, DB_GROUP_CREATOR, 1);
    } else if (ret == 0) {
        ret = site->set_config(site, DB_BOOTSTRAP_HELPER, 1);
    }
    if (site)
        site->close(site);
    if (ret != 0)
        snprintf(err, errsz, "replication site %s (%s:%u): %s", s->name, s->host, s->port,
                 db_strerror(ret));
    return ret;
}

/* Before the environment is opened. */
int store_db_repl_config(DB_ENV *env, const struct sg_config *c, const struct store_repl_conf *rc,
                         char *err, size_t errsz)
{
    int ret;
    const struct {
        int which;
        db_timeout_t us;
    } timeouts[] = {
        {DB_REP_ACK_TIMEOUT, (db_timeout_t)c->store.repl_ack_timeout * US},
        {DB_REP_HEARTBEAT_SEND, (db_timeout_t)c->store.repl_heartbeat * US},
        {DB_REP_HEARTBEAT_MONITOR, (db_timeout_t)c->store.repl_heartbeat * 3 * US},
        {DB_REP_ELECTION_TIMEOUT, (db_timeout_t)c->store.repl_election_timeout * US},
        {DB_REP_ELECTION_RETRY, (db_timeout_t)c->store.repl_election_timeout * US},
        {DB_REP_CONNECTION_RETRY, 1 * US},
        /* A checkpoint waits this long after a replica synchronized (30 s by default): the
         * store's checkpoints, and its stop, would wait with it. */
        {DB_REP_CHECKPOINT_DELAY, 0},
    };

    for (size_t i = 0; i < rc->nsites; i++)
        if (repl_site(env, &rc->site[i], i == rc->local,
                      i == rc->local && c->store.repl_create_group, err, errsz) != 0)
            return -1;
    if ((ret = env->repmgr_set_ack_policy(env, DB_REPMGR_ACKS_QUORUM)) != 0 ||
        (ret = env->rep_set_priority(env, (u_int32_t)c->store.repl_priority)) != 0 ||
        (ret = env->rep_set_config(env, DB_REP_CONF_BULK, 1)) != 0) {
        snprintf(err, errsz, "replication set-up: %s", db_strerror(ret));
        return -1;
    }
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
        if ((ret = env->rep_set_timeout(env, timeouts[i].which, timeouts[i].us)) != 0) {
            snprintf(err, errsz, "replication timeout %d: %s", timeouts[i].which, db_strerror(ret));
            return -1;
        }
    return 0;
}

int store_db_repl_start(struct store_db *s, char *err, size_t errsz)
{
    int ret = s->h->env->repmgr_start(s->h->env, 3, DB_REP_ELECTION);

    if (ret == 0 || ret == DB_REP_IGNORE)
        return 0;
    snprintf(err, errsz, "%s", db_strerror(ret));
    /* A new site whose helpers (the group's other sites) cannot be reached yet. */
    return ret == DB_REP_UNAVAIL ? -2 : -1;
}

int store_db_repl_remove(struct store_db *s, const char *host, unsigned port)
{
    DB_ENV *env = s->h->env;
    DB_SITE *site;
    int ret;

    if ((ret = env->repmgr_site(env, host, port, &site, 0)) != 0)
        return ret;
    /* Done here, on the master, and committed with the group's ack policy.  remove() frees the
     * handle, whatever it returns; DB_REP_UNAVAIL: the change lacked its acknowledgements (it
     * stays pending: Berkeley DB completes it after a later commit has its acknowledgements, or
     * at the next removal). */
    ret = site->remove(site);
    return ret == DB_REP_UNAVAIL ? STORE_ENOQUORUM : ret;
}

int store_db_repl_status(struct store_db *s, struct store_repl_status *st)
{
    DB_ENV *env = s->h->env;
    DB_REP_STAT *rs;
    DB_REPMGR_SITE *list = NULL;
    u_int count = 0;
    int ret;

    memset(st, 0, sizeof(*st));
    st->master_eid = -1;
    if ((ret = env->rep_stat(env, &rs, 0)) != 0)
        return ret;
    st->master_eid = rs->st_master == DB_EID_INVALID ? -1 : rs->st_master;
    st->is_master = rs->st_status == DB_REP_MASTER;
    st->lsn_file = rs->st_next_lsn.file;
    st->lsn_offset = rs->st_next_lsn.offset;
    free(rs);
    if ((ret = env->rep_get_nsites(env, &st->nsites)) != 0)
        return ret;
    if ((ret = env->repmgr_site_list(env, &count, &list)) != 0)
        return ret;
    for (u_int i = 0; i < count && st->nremote < sizeof(st->remote) / sizeof(st->remote[0]); i++) {
        struct store_repl_peer *p = &st->remote[st->nremote++];

        snprintf(p->host, sizeof(p->host), "%s", list[i].host);
        p->port = list[i].port;
        p->connected = list[i].status == DB_REPMGR_CONNECTED;
        p->is_master = list[i].eid == st->master_eid;
    }
    free(list);
    return 0;
}
