/* store_repl.c - a replicated store on its loop: Berkeley DB's role events handed over, the role machine driven, preparing as master on a worker, refusing clients elsewhere, stepping down, answering spoolctl repl and repl remove. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_conn.h"
#include "store_ops.h"
#include "store_repl_conf.h"
#include "store_repl_remove.h"
#include "store_role.h"

#define REPL_EVENTS_MAX 64
#define REPL_PREPARE_AGAIN_MS 1000

enum prepare_result { PREPARE_DONE, PREPARE_NOT_YET, PREPARE_FAILED };

struct store_repl {
    struct store *st;
    struct store_repl_conf conf;
    uv_async_t wake;
    uv_timer_t again; /* preparing, or joining, once more */
    uv_work_t prepare_req, status_req, join_req;
    int join_ret, join_logged;
    char join_why[512];
    int preparing, status_running, status_again;
    int removing; /* a REPL_REMOVE is on a worker */
    enum prepare_result prepared;
    char prepare_why[1024];
    int prepare_logged;
    struct store_repl_status status; /* the status worker's */
    char master[128];                /* "NAME (ADDR:PORT)" of the master, "" when none known */
    int master_site;                 /* the master in conf.site[], -1 none known or not there */
    pthread_mutex_t lock;            /* the events, handed over from Berkeley DB's threads */
    enum store_rep_event events[REPL_EVENTS_MAX];
    size_t nevents;
    int closed; /* wake is closed: nothing more is handed over */
};

static struct store_repl the_repl;

/* On Berkeley DB's threads: queued for the loop. */
static void repl_event_in(enum store_rep_event ev, int eid)
{
    (void)eid;
    pthread_mutex_lock(&the_repl.lock);
    if (the_repl.nevents < REPL_EVENTS_MAX)
        the_repl.events[the_repl.nevents++] = ev;
    if (!the_repl.closed)
        uv_async_send(&the_repl.wake);
    pthread_mutex_unlock(&the_repl.lock);
}

/* ---- who is master: the group's status read on a worker --------------------------------- */

static void status_run(uv_work_t *req)
{
    struct store_repl *r = req->data;

    if (store_db_repl_status(&r->st->db, &r->status) != 0)
        r->status.master_eid = -1;
}

static void master_name(struct store_repl *r)
{
    const struct store_repl_status *s = &r->status;

    r->master[0] = '\0';
    r->master_site = -1;
    if (s->is_master) {
        store_repl_site_text(&r->conf, r->conf.local, r->master, sizeof(r->master));
        r->master_site = (int)r->conf.local;
        return;
    }
    for (size_t i = 0; i < s->nremote; i++) {
        int j = store_repl_conf_find(&r->conf, s->remote[i].host, s->remote[i].port);

        if (!s->remote[i].is_master)
            continue;
        r->master_site = j;
        if (j >= 0)
            store_repl_site_text(&r->conf, (size_t)j, r->master, sizeof(r->master));
        else
            store_repl_addr_text(s->remote[i].host, s->remote[i].port, r->master,
                                 sizeof(r->master));
        return;
    }
}

static void status_after(uv_work_t *req, int status)
{
    struct store_repl *r = req->data;
    char before[sizeof(r->master)];

    r->status_running = 0;
    memcpy(before, r->master, sizeof(before));
    master_name(r);
    if (strcmp(before, r->master) != 0 && r->master[0])
        log_notice("replication: the master is %s", r->master);
    store_conn_announce(r->st);
    if (r->status_again && !r->st->stopping) {
        r->status_again = 0;
        r->status_running = 1;
        uv_queue_work(r->st->loop, &r->status_req, status_run, status_after);
    }
}

static void status_refresh(struct store_repl *r)
{
    if (r->status_running) {
        r->status_again = 1;
        return;
    }
    r->status_running = 1;
    uv_queue_work(r->st->loop, &r->status_req, status_run, status_after);
}

/* ---- preparing as master ------------------------------------------------------------------ */

static void prepare_run(uv_work_t *req)
{
    struct store_repl *r = req->data;
    struct store *st = r->st;
    struct store_repl_status rs;
    int ret;

    r->prepared = PREPARE_FAILED;
    if ((ret = store_db_repl_status(&st->db, &rs)) != 0) {
        snprintf(r->prepare_why, sizeof(r->prepare_why), "replication status: %s",
                 store_db_strerror(ret));
        return;
    }
    if (rs.nsites < STORE_REPL_SITES_MIN) {
        snprintf(r->prepare_why, sizeof(r->prepare_why),
                 "the group has %u of its sites (at least %d before a commit can have a quorum)",
                 rs.nsites, STORE_REPL_SITES_MIN);
        r->prepared = PREPARE_NOT_YET;
        return;
    }
    ret = store_db_open_data(&st->db, st->cfg, r->prepare_why, sizeof(r->prepare_why));
    if (ret == -2)
        r->prepared = PREPARE_NOT_YET;
    if (ret != 0)
        return;
    if (store_adopt_all(st) < 0) {
        snprintf(r->prepare_why, sizeof(r->prepare_why), "the re-enumeration failed");
        return;
    }
    r->prepared = PREPARE_DONE;
}

static void repl_step(struct store_repl *r, enum store_role_event ev);

static void prepare_after(uv_work_t *req, int status)
{
    struct store_repl *r = req->data;
    struct store *st = r->st;

    r->preparing = 0;
    if (r->prepared == PREPARE_FAILED) {
        /* Half open (counts or adoption begun): only a fresh start is sure to be whole. */
        log_error("replication: cannot take up mastership: %s; exiting (status %d) to start "
                  "again as a replica",
                  r->prepare_why, STORE_EXIT_DEMOTED);
        _exit(STORE_EXIT_DEMOTED);
    }
    if (r->prepared == PREPARE_NOT_YET) {
        if (!r->prepare_logged)
            log_warn("replication: elected master, but not serving yet: %s", r->prepare_why);
        r->prepare_logged = 1;
        repl_step(r, STORE_ROLE_EV_NOT_YET);
        return;
    }
    qid_alloc_init(&st->qids,
                   st->db.last_qid > st->db.generation ? st->db.last_qid : st->db.generation);
    repl_step(r, STORE_ROLE_EV_PREPARED);
}

static void prepare_again_cb(uv_timer_t *t)
{
    struct store_repl *r = t->data;

    if (r->st->role == STORE_ROLE_PREPARING && !r->preparing) {
        r->preparing = 1;
        uv_queue_work(r->st->loop, &r->prepare_req, prepare_run, prepare_after);
    }
}

/* ---- stepping down ------------------------------------------------------------------------ */

static void demoted_drained(struct ipc_server *s, void *arg)
{
    if (store_conn_server_gone(arg, s))
        repl_step(&the_repl, STORE_ROLE_EV_DRAINED);
}

static void repl_drain(struct store_repl *r)
{
    struct store *st = r->st;
    char self[128];

    /* The master's name is refreshed after this line: the one known is this site or none. */
    store_repl_site_text(&r->conf, r->conf.local, self, sizeof(self));
    log_warn("replication: site %s is no longer master (another site is, or an election is "
             "under way); answering the %zu requests in flight, then starting again as a replica",
             self, ipc_server_busy(st->server) + ipc_server_busy(st->submit_server));
    ipc_server_drain(st->server, IPC_SERVER_STOP_GRACE_MS, demoted_drained, st);
    ipc_server_drain(st->submit_server, IPC_SERVER_STOP_GRACE_MS, demoted_drained, st);
}

/* ---- the role machine --------------------------------------------------------------------- */

static void repl_act(struct store_repl *r, enum store_role_action a)
{
    struct store *st = r->st;

    switch (a) {
    case STORE_ROLE_DO_NOTHING:
    case STORE_ROLE_DO_STOP: /* store_main's stop does it */
        return;
    case STORE_ROLE_DO_PREPARE:
        r->prepare_logged = 0;
        prepare_again_cb(&r->again);
        return;
    case STORE_ROLE_DO_PREPARE_LATER:
        uv_timer_start(&r->again, prepare_again_cb, REPL_PREPARE_AGAIN_MS, 0);
        return;
    case STORE_ROLE_DO_SERVE:
        store_conn_offer(st, 1);
        log_notice("replication: master of the group (generation %llu, %llu messages adopted); "
                   "serving on %s",
                   (unsigned long long)st->db.generation, (unsigned long long)st->adopted,
                   st->socket_path);
        status_refresh(r);
        return;
    case STORE_ROLE_DO_DRAIN:
        repl_drain(r);
        return;
    case STORE_ROLE_DO_EXIT:
        store_db_errlog_flush();
        log_notice("replication: stepped down; exiting (status %d) to start again as a replica",
                   STORE_EXIT_DEMOTED);
        _exit(STORE_EXIT_DEMOTED);
    }
}

static void repl_step(struct store_repl *r, enum store_role_event ev)
{
    struct store_role_step s = store_role_next(r->st->role, ev);

    if (s.next != r->st->role)
        log_info("replication: %s -> %s", store_role_name(r->st->role), store_role_name(s.next));
    r->st->role = s.next;
    store_conn_announce(r->st);
    repl_act(r, s.action);
}

static enum store_role_event repl_role_event(enum store_rep_event ev)
{
    switch (ev) {
    case STORE_REP_MASTER:
        return STORE_ROLE_EV_ELECTED;
    case STORE_REP_DUPMASTER:
        return STORE_ROLE_EV_DUPMASTER;
    default:
        return STORE_ROLE_EV_CLIENT;
    }
}

static void repl_wake_cb(uv_async_t *h)
{
    struct store_repl *r = h->data;
    enum store_rep_event evs[REPL_EVENTS_MAX];
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->nevents;
    memcpy(evs, r->events, n * sizeof(evs[0]));
    r->nevents = 0;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        static const char *const names[] = {"client",    "master",       "new master",
                                            "dupmaster", "startup done", "site removed"};

        log_debug("replication event: %s (as %s)", names[evs[i]], store_role_name(r->st->role));
        if (evs[i] == STORE_REP_NEWMASTER) {
            status_refresh(r);
        } else if (evs[i] == STORE_REP_STARTUPDONE) {
            log_notice("replication: this replica has caught up with the master");
        } else if (evs[i] == STORE_REP_REMOVED) {
            log_error("replication: this site has been removed from the group's membership; "
                      "Berkeley DB has stopped its replication here: stop this store, and take "
                      "it out of store.repl_group on every site");
        } else {
            repl_step(r, repl_role_event(evs[i]));
            status_refresh(r);
        }
    }
}

/* ---- what the rest of the store sees ------------------------------------------------------ */

/* The group, and where its sites' clients reach them. */
static int repl_conf(const struct sg_config *c, struct store_repl_conf *rc, char *why, size_t whysz)
{
    if (store_repl_conf_parse(c->store.repl_site, c->store.repl_group, rc, why, whysz) < 0)
        return -1;
    return store_repl_conf_ipc(c->store.repl_ipc, rc, why, whysz);
}

int store_repl_conf_check(const struct sg_config *c, char *why, size_t whysz)
{
    struct store_repl_conf rc;

    if (c->store.replication)
        return repl_conf(c, &rc, why, whysz);
    if (c->store.repl_ipc[0]) {
        snprintf(why, whysz, "store.repl_ipc is set but store.replication is not");
        return -1;
    }
    return 0;
}

void store_repl_role(const struct store *st, struct ipc_role *ro)
{
    const struct store_repl *r = st->repl;
    int m = r->master_site;

    snprintf(ro->site, sizeof(ro->site), "%s", r->conf.site[r->conf.local].name);
    /* stepping down, this site may still be the master it knows: it is not */
    if (st->role != STORE_ROLE_MASTER && m == (int)r->conf.local)
        return;
    if (m >= 0) {
        snprintf(ro->master, sizeof(ro->master), "%s", r->conf.site[m].name);
        snprintf(ro->master_addr, sizeof(ro->master_addr), "%s", r->conf.site[m].ipc);
    } else if (r->master[0]) {
        snprintf(ro->master, sizeof(ro->master), "%.63s", r->master);
    }
}

int store_repl_open(struct store *st, char *err, size_t errsz)
{
    struct store_repl *r = &the_repl;
    char why[1024];

    r->st = st;
    r->master_site = -1;
    if (repl_conf(st->cfg, &r->conf, why, sizeof(why)) < 0) {
        snprintf(err, errsz, "replication: %s", why);
        return -1;
    }
    st->repl = r;
    st->role = STORE_ROLE_STARTING;
    return store_db_open_env(&st->db, st->cfg, &r->conf, err, errsz);
}

/* ---- joining the group: repmgr_start, on a worker, again while no other site answers ------ */

static void join_run(uv_work_t *req)
{
    struct store_repl *r = req->data;

    r->join_ret = store_db_repl_start(&r->st->db, r->join_why, sizeof(r->join_why));
}

static void join_again_cb(uv_timer_t *t);

static void join_after(uv_work_t *req, int status)
{
    struct store_repl *r = req->data;
    char self[128];

    if (r->st->stopping)
        return;
    if (r->join_ret == -1) {
        log_error("replication: cannot start: %s; exiting", r->join_why);
        _exit(1);
    }
    if (r->join_ret == -2) {
        if (!r->join_logged)
            log_warn("replication: this site is new to the group and no other site answers yet "
                     "(%s); trying again every second (the group's very first start needs "
                     "store.repl_create_group = yes on one site)",
                     r->join_why);
        r->join_logged = 1;
        uv_timer_start(&r->again, join_again_cb, REPL_PREPARE_AGAIN_MS, 0);
        return;
    }
    store_repl_site_text(&r->conf, r->conf.local, self, sizeof(self));
    log_notice("replication: site %s of a group of %zu started; waiting for an election", self,
               r->conf.nsites);
}

static void join_again_cb(uv_timer_t *t)
{
    struct store_repl *r = t->data;

    if (!r->st->stopping)
        uv_queue_work(r->st->loop, &r->join_req, join_run, join_after);
}

int store_repl_start(struct store *st, char *err, size_t errsz)
{
    struct store_repl *r = st->repl;

    (void)err;
    (void)errsz;
    pthread_mutex_init(&r->lock, NULL);
    uv_async_init(st->loop, &r->wake, repl_wake_cb);
    r->wake.data = r;
    uv_timer_init(st->loop, &r->again);
    r->again.data = r;
    r->prepare_req.data = r->status_req.data = r->join_req.data = r;
    store_db_on_rep_event(repl_event_in);
    uv_queue_work(st->loop, &r->join_req, join_run, join_after);
    return 0;
}

void store_repl_close(struct store *st)
{
    struct store_repl *r = st->repl;

    if (!r)
        return;
    store_db_on_rep_event(NULL);
    pthread_mutex_lock(&r->lock);
    r->closed = 1;
    pthread_mutex_unlock(&r->lock);
    uv_close((uv_handle_t *)&r->wake, NULL);
    uv_close((uv_handle_t *)&r->again, NULL);
}

void store_repl_stop(struct store *st)
{
    if (st->repl)
        repl_step(st->repl, STORE_ROLE_EV_STOP);
}

void store_repl_refusal(const struct store *st, char *buf, size_t bufsz)
{
    const struct store_repl *r = st->repl;
    const char *ipc = r->master_site >= 0 ? r->conf.site[r->master_site].ipc : "";
    char self[128];

    store_repl_site_text(&r->conf, r->conf.local, self, sizeof(self));
    if (st->role == STORE_ROLE_REPLICA || st->role == STORE_ROLE_STARTING)
        snprintf(buf, bufsz, "not master: site %s is a replica; the master is %s%s%s", self,
                 r->master[0] ? r->master : "not known yet (an election may be under way)",
                 ipc[0] ? ", at " : "", ipc);
    else
        snprintf(buf, bufsz, "not master yet: site %s is %s", self,
                 st->role == STORE_ROLE_PREPARING ? "taking up mastership (adoption, or the "
                                                    "group has no quorum yet)"
                                                  : "stepping down");
}

/* ---- REPL_STATUS: the group as this site sees it (spoolctl repl) --------------------------- */

struct repl_status_work {
    struct store_op_req req;
    struct store_repl_status rs;
};

static void repl_status_run(struct store_work *w)
{
    struct repl_status_work *sw = (struct repl_status_work *)w;

    sw->req.ret = store_db_repl_status(store_op_db(w), &sw->rs);
}

static void repl_status_encode(struct repl_status_work *sw, const struct store *st)
{
    const struct store_repl_conf *rc = &st->repl->conf;
    const struct store_repl_site *me = &rc->site[rc->local];
    struct ipc_repl_site row = {.flags = IPC_REPL_LOCAL | (sw->rs.is_master ? IPC_REPL_MASTER : 0),
                                .lsn_file = sw->rs.lsn_file,
                                .lsn_offset = sw->rs.lsn_offset};
    struct ipc_end end = {.count = 1 + sw->rs.nremote};
    uint32_t id = sw->req.request_id;

    snprintf(row.name, sizeof(row.name), "%s", me->name);
    store_repl_addr_text(me->host, me->port, row.addr, sizeof(row.addr));
    snprintf(row.role, sizeof(row.role), "%s", store_role_name(st->role));
    ipc_encode_repl_site(&sw->req.out, id, &row);
    for (size_t i = 0; i < sw->rs.nremote; i++) {
        const struct store_repl_peer *p = &sw->rs.remote[i];
        struct ipc_repl_site other = {.flags = (p->is_master ? IPC_REPL_MASTER : 0) |
                                               (p->connected ? IPC_REPL_CONNECTED : 0)};
        int j = store_repl_conf_find(rc, p->host, p->port);

        if (j >= 0)
            snprintf(other.name, sizeof(other.name), "%s", rc->site[j].name);
        store_repl_addr_text(p->host, p->port, other.addr, sizeof(other.addr));
        ipc_encode_repl_site(&sw->req.out, id, &other);
    }
    ipc_encode_end(&sw->req.out, id, &end);
}

static void repl_status_done(struct store_work *w)
{
    struct repl_status_work *sw = (struct repl_status_work *)w;

    if (sw->req.ret != 0)
        store_op_reply_error(&sw->req.out, sw->req.request_id, sw->req.ret, "replication status");
    else
        repl_status_encode(sw, store_conn_store(w->conn));
    store_op_done(w);
}

void store_op_repl_status(struct store_conn *c, struct ipc_reader *r)
{
    struct repl_status_work *sw;

    if (ipc_decode_empty(r) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad REPL_STATUS: %s", r->error);
        return;
    }
    if (!store_conn_store(c)->repl) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM,
                               "this store is not replicated (store.replication = no)");
        return;
    }
    if ((sw = store_op_req_new(c, r, sizeof(*sw))))
        store_work_queue(c, &sw->req.base, repl_status_run, repl_status_done);
}

/* ---- REPL_REMOVE: a site taken out of the group (spoolctl repl remove) --------------------- */

struct repl_remove_work {
    struct store_op_req req;
    struct ipc_repl_remove m;
    int serving; /* the loop's role when asked */
    enum store_repl_remove_verdict verdict;
    struct store_repl_status rs;
    uint32_t nsites_after;
    char peer[128]; /* "NAME (ADDRESS:PORT)" of the site removed */
    char why[IPC_REPLY_MAX];
};

static void repl_remove_run(struct store_work *w)
{
    struct repl_remove_work *rw = (struct repl_remove_work *)w;
    const struct store_repl_conf *rc = &store_conn_store(w->conn)->repl->conf;
    struct store_db *db = store_op_db(w);
    struct store_repl_status after;
    size_t i;

    if ((rw->req.ret = store_db_repl_status(db, &rw->rs)) != 0)
        return;
    rw->verdict =
        store_repl_remove_check(rc, &rw->rs, rw->serving, rw->m.site, &i, rw->why, sizeof(rw->why));
    if (rw->verdict != STORE_REPL_REMOVE_OK)
        return;
    store_repl_peer_text(rc, &rw->rs, i, rw->peer, sizeof(rw->peer));
    rw->nsites_after = rw->rs.nsites - 1; /* unless the group's status says otherwise */
    rw->req.ret = store_db_repl_remove(db, rw->rs.remote[i].host, rw->rs.remote[i].port);
    if (rw->req.ret == 0 && store_db_repl_status(db, &after) == 0)
        rw->nsites_after = after.nsites;
}

static void repl_remove_answer(struct repl_remove_work *rw, const char *client)
{
    struct ipc_repl_removed m = {.nsites = rw->nsites_after};

    log_notice("replication: site %s removed from the group at the request of %s; the group "
               "has %u sites",
               rw->peer, client, m.nsites);
    snprintf(m.text, sizeof(m.text),
             "site %s removed from the group, which has %u sites now. Next: take it out of "
             "store.repl_group on every site (each reads it at its next start: restart them one "
             "at a time, replicas first) and out of the clients' [global] store. Never start the "
             "removed site's directory again with its old config: it would join the group "
             "again.",
             rw->peer, m.nsites);
    ipc_encode_repl_removed(&rw->req.out, rw->req.request_id, &m);
}

static void repl_remove_done(struct store_work *w)
{
    struct repl_remove_work *rw = (struct repl_remove_work *)w;
    struct store_conn *c = w->conn;

    store_conn_store(c)->repl->removing = 0;
    if (rw->req.ret != 0) {
        store_op_reply_error(&rw->req.out, rw->req.request_id, rw->req.ret,
                             rw->peer[0] ? "cannot remove the site" : "replication status");
    } else if (rw->verdict != STORE_REPL_REMOVE_OK) {
        struct ipc_error e = {.code = rw->verdict == STORE_REPL_REMOVE_NOT_MASTER ? IPC_ERR_TEMP
                                                                                  : IPC_ERR_PERM};

        log_info("%s: replication: removal of \"%s\" refused: %s", c->name, rw->m.site, rw->why);
        snprintf(e.text, sizeof(e.text), "%s", rw->why);
        ipc_encode_error(&rw->req.out, rw->req.request_id, &e);
    } else {
        repl_remove_answer(rw, c->name);
    }
    store_op_done(w);
}

void store_op_repl_remove(struct store_conn *c, struct ipc_reader *r)
{
    struct store *st = store_conn_store(c);
    struct repl_remove_work *rw;
    struct ipc_repl_remove m;

    if (ipc_decode_repl_remove(r, &m) < 0) {
        store_conn_fail(c, IPC_ERR_PROTO, "bad REPL_REMOVE: %s", r->error);
        return;
    }
    if (!st->repl) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_PERM,
                               "this store is not replicated (store.replication = no)");
        return;
    }
    /* One at a time: two removals checked side by side could leave fewer sites than either
     * allows. */
    if (st->repl->removing) {
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP,
                               "another removal is under way; try again once it is answered");
        return;
    }
    if (!(rw = store_op_req_new(c, r, sizeof(*rw))))
        return;
    rw->m = m;
    rw->serving = st->role == STORE_ROLE_MASTER;
    st->repl->removing = 1;
    store_work_queue(c, &rw->req.base, repl_remove_run, repl_remove_done);
}
