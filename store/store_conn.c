/* store_conn.c - spoolgate-store's side of its socket: the request table, the connection state, replies. */
#include "store_conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "ipc_tls.h"
#include "log.h"

/* Every request type a client may send once the hellos are exchanged, and the capability it needs:
 * a client is served only what it asked for in its hello (the server closes the connection on a
 * request without its capability). */
static const struct store_command {
    struct ipc_server_cmd cmd;
    store_handler_fn handle;
} store_commands[] = {
    {{IPC_SUBMIT_BEGIN, "submit"}, store_submit_begin},
    {{IPC_SUBMIT_RCPT, "submit"}, store_submit_rcpt},
    {{IPC_SUBMIT_CHUNK, "submit"}, store_submit_chunk},
    {{IPC_SUBMIT_COMMIT, "submit"}, store_submit_commit},
    {{IPC_SUBMIT_ABORT, "submit"}, store_submit_abort},
    {{IPC_READ_ENVELOPE, "read"}, store_op_read_envelope},
    {{IPC_READ_BODY, "read"}, store_op_read_body},
    {{IPC_LIST, "list"}, store_op_list},
    {{IPC_LIST_FROM, "list"}, store_op_list_from},
    {{IPC_UPDATE_RCPT, "update"}, store_op_update_rcpt},
    {{IPC_UPDATE_BATCH, "update"}, store_op_update_batch},
    {{IPC_DUE, "due"}, store_op_due},
    {{IPC_REQUEUE, "admin"}, store_op_admin},
    {{IPC_HOLD, "admin"}, store_op_admin},
    {{IPC_RELEASE, "admin"}, store_op_admin},
    {{IPC_DELETE, "admin"}, store_op_admin},
    {{IPC_STATS, "admin"}, store_op_stats},
    {{IPC_SUBSCRIBE, "events"}, store_op_subscribe},
    {{IPC_SUBSCRIBE_MESSAGES, "events"}, store_op_subscribe},
    {{IPC_ADMIN, "admin"}, store_op_admin_req},
    {{IPC_LIST_FILTER, "list"}, store_op_list_filter},
    {{IPC_PAUSE, "admin"}, store_op_pause},
    {{IPC_RESUME, "admin"}, store_op_pause},
    {{IPC_PAUSE_LIST, "read"}, store_op_pause_list},
    {{IPC_CLIENTS, "admin"}, store_op_clients},
    {{IPC_METRICS, "admin"}, store_op_metrics},
    {{IPC_SHAPE, "list"}, store_op_shape},
    {{IPC_REPORT, "update"}, store_op_report},
    {{IPC_REPL_STATUS, "admin"}, store_op_repl_status},
    {{IPC_REPL_REMOVE, "admin"}, store_op_repl_remove},
};

uv_loop_t *store_conn_loop(struct store_conn *c)
{
    return c->st->loop;
}

struct store *store_conn_store(struct store_conn *c)
{
    return c->st;
}

int store_conn_alive(const struct store_conn *c)
{
    return ipc_server_conn_alive(c->sc);
}

void store_conn_ref(struct store_conn *c)
{
    ipc_server_conn_ref(c->sc);
}

void store_conn_unref(struct store_conn *c)
{
    ipc_server_conn_unref(c->sc);
}

void store_conn_busy(struct store_conn *c)
{
    ipc_server_conn_pause(c->sc, 1);
}

void store_conn_idle(struct store_conn *c)
{
    ipc_server_conn_pause(c->sc, 0);
}

/* ---- replies ------------------------------------------------------------ */

struct store_written {
    store_written_fn cb;
    void *arg;
};

static void store_conn_written(struct ipc_server_conn *sc, void *arg)
{
    struct store_written w = *(struct store_written *)arg;

    free(arg);
    w.cb(ipc_server_conn_data(sc), w.arg);
}

void store_conn_send(struct store_conn *c, struct sg_buf *b, store_written_fn cb, void *arg)
{
    struct store_written *w;

    if (!cb) {
        ipc_server_conn_send(c->sc, b, NULL, NULL);
        return;
    }
    if (!(w = malloc(sizeof(*w)))) {
        sg_buf_free(b);
        store_conn_fail(c, IPC_ERR_TEMP, "out of memory sending a reply");
        cb(c, arg);
        return;
    }
    w->cb = cb;
    w->arg = arg;
    ipc_server_conn_send(c->sc, b, store_conn_written, w);
}

void store_conn_reply_ok(struct store_conn *c, uint32_t request_id, uint64_t count)
{
    struct ipc_ok ok = {.count = count};

    ipc_encode_ok(ipc_server_conn_out(c->sc), request_id, &ok);
    ipc_server_conn_flush(c->sc);
}

void store_conn_reply_error(struct store_conn *c, uint32_t request_id, uint32_t code,
                            const char *fmt, ...)
{
    struct ipc_error e = {.code = code};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e.text, sizeof(e.text), fmt, ap);
    va_end(ap);
    ipc_encode_error(ipc_server_conn_out(c->sc), request_id, &e);
    ipc_server_conn_flush(c->sc);
}

void store_conn_fail(struct store_conn *c, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    char text[IPC_REPLY_MAX + 1];

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ipc_server_conn_fail(c->sc, 0, code, "%s", text);
}

/* ---- the server's callbacks --------------------------------------------- */

static void store_accepted(struct ipc_server_conn *sc, void *arg)
{
    struct store *st = arg;
    struct store_conn *c = calloc(1, sizeof(*c));

    if (!c)
        log_fatal("out of memory accepting a connection");
    c->st = st;
    c->sc = sc;
    st->accepted++;
    c->name = ipc_server_conn_name(sc);
    ipc_server_conn_set_data(sc, c);
    if ((long long)ipc_server_count(st->server) + (long long)ipc_server_count(st->submit_server) >
        st->cfg->store.max_clients)
        store_conn_fail(c, IPC_ERR_TEMP, "too many clients (max_clients = %lld)",
                        st->cfg->store.max_clients);
}

/* A client that may only submit (smtpd's sessions, the gateway's and the tools' submissions) is
 * a submitter.  Submitters together get at most max_clients - reserved_clients connections: the
 * rest stays for the router, spoolctl and the gateway's reads, however many sessions park. */
static int store_conn_is_submitter(const struct ipc_hello *peer)
{
    static const char *const others[] = {"read", "update", "list", "due", "admin", "events"};

    if (!ipc_caps_granted(peer, "submit"))
        return 0;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (ipc_caps_granted(peer, others[i]))
            return 0;
    return 1;
}

static void store_ready(struct ipc_server_conn *sc, void *arg)
{
    struct store *st = arg;
    struct store_conn *c = ipc_server_conn_data(sc);
    long long room = st->cfg->store.max_clients - st->cfg->store.reserved_clients;

    /* Not master: only spoolctl repl's connection (role "repl") is served, and only REPL_STATUS;
     * every other client is refused at once and goes on to the next store address. */
    if (st->role != STORE_ROLE_MASTER &&
        strcmp(ipc_server_conn_peer(sc)->role, IPC_ROLE_REPL_CLIENT) != 0) {
        char why[IPC_REPLY_MAX];

        store_repl_refusal(st, why, sizeof(why));
        store_conn_fail(c, IPC_ERR_TEMP, "%s", why);
        return;
    }
    if (!store_conn_is_submitter(ipc_server_conn_peer(sc)))
        return;
    if ((long long)st->nsubmitters >= room) {
        store_conn_fail(c, IPC_ERR_TEMP,
                        "too many submission clients (%zu; max_clients %lld less reserved_clients "
                        "%lld kept for the router and administration)",
                        st->nsubmitters, st->cfg->store.max_clients,
                        st->cfg->store.reserved_clients);
        return;
    }
    st->nsubmitters++;
    c->submitter = 1;
}

static void store_accepted_submit(struct ipc_server_conn *sc, void *arg)
{
    store_accepted(sc, arg);
    ((struct store_conn *)ipc_server_conn_data(sc))->submit_only = 1;
}

static void store_dispatch(struct ipc_server_conn *sc, const struct ipc_server_cmd *row,
                           struct ipc_reader *r, void *arg)
{
    const struct store_command *cmd = (const struct store_command *)(const void *)row;
    struct store_conn *c = ipc_server_conn_data(sc);

    (void)arg;
    if (c->st->role != STORE_ROLE_MASTER && row->type != IPC_REPL_STATUS) {
        char why[IPC_REPLY_MAX];

        store_repl_refusal(c->st, why, sizeof(why));
        store_conn_reply_error(c, r->request_id, IPC_ERR_TEMP, "%s", why);
        return;
    }
    cmd->handle(c, r);
}

static void store_closing(struct ipc_server_conn *sc, int eof, void *arg)
{
    struct store_conn *c = ipc_server_conn_data(sc);

    (void)arg;
    if (eof && c && c->sub)
        log_notice("%s: disconnected during a submission; nothing was stored", c->name);
}

static void store_release(struct ipc_server_conn *sc, void *arg)
{
    struct store_conn *c = ipc_server_conn_data(sc);

    (void)arg;
    if (c->sub)
        store_submission_free(c->sub);
    if (c->submitter)
        c->st->nsubmitters--;
    free(c);
}

static const struct ipc_server_ops store_server_ops = {
    .accepted = store_accepted,
    .ready = store_ready,
    .dispatch = store_dispatch,
    .closing = store_closing,
    .release = store_release,
};

static const struct ipc_server_ops store_submit_server_ops = {
    .accepted = store_accepted_submit,
    .ready = store_ready,
    .dispatch = store_dispatch,
    .closing = store_closing,
    .release = store_release,
};

/* store.sock by SO_PEERCRED: each daemon's user gets its role's capabilities, root
 * and the store's own user everything, any other uid nothing. */
static const char *store_peer_caps(uid_t uid, void *arg)
{
    struct store *st = arg;

    switch (priv_role_of(&st->opts.ids, uid)) {
    case PRIV_ROLE_TRUSTED:
    case PRIV_ROLE_STORE:
        return IPC_CAPS_STORE;
    case PRIV_ROLE_SMTPD:
        return IPC_CAPS_STORE_SMTPD;
    case PRIV_ROLE_ROUTER:
        return IPC_CAPS_STORE_ROUTER;
    case PRIV_ROLE_GATEWAY:
        return IPC_CAPS_STORE_GATEWAY;
    default:
        return NULL;
    }
}

/* A client on ipc_listen: the roles of every ipc_tls_peers name its certificate carries. */
static int store_peer_caps_tls(struct tls_bio *t, char *caps, size_t capssz, void *arg)
{
    static const struct {
        unsigned role;
        const char *caps;
    } role_caps[] = {
        {IPC_TLS_ROLE_SMTPD, IPC_CAPS_STORE_SMTPD},
        {IPC_TLS_ROLE_ROUTER, IPC_CAPS_STORE_ROUTER},
        {IPC_TLS_ROLE_GATEWAY, IPC_CAPS_STORE_GATEWAY},
        {IPC_TLS_ROLE_ADMIN, IPC_CAPS_STORE},
    };
    const struct ipc_tls_peers *p = &((struct store *)arg)->tls_peers;
    unsigned roles = 0;
    size_t used = 0;

    for (size_t i = 0; i < p->n; i++)
        if (tls_bio_peer_has_name(t, p->peer[i].name))
            roles |= p->peer[i].roles;
    caps[0] = '\0';
    for (size_t i = 0; i < sizeof(role_caps) / sizeof(role_caps[0]); i++) {
        const char *need = role_caps[i].caps, *cap;
        size_t len;

        /* each capability of the role that the list does not have yet */
        while ((roles & role_caps[i].role) && (cap = ipc_caps_missing(need, caps, &len)) &&
               used + len + 1 < capssz) {
            used += (size_t)snprintf(caps + used, capssz - used, "%s%.*s", used ? "," : "",
                                     (int)len, cap);
        }
    }
    return roles ? 0 : -1;
}

/* [store] ipc_listen: every address on the one server, so that broadcasts reach all clients. */
static void store_listen_tcp(struct store *st)
{
    const char *p = st->cfg->store.ipc_listen, *w;
    char addr[128], why[512];
    size_t len;

    if (ipc_tls_peers_parse(st->cfg->store.ipc_tls_peers, &st->tls_peers, why, sizeof(why)) < 0)
        log_fatal("store.ipc_tls_peers: %s", why);
    for (size_t i = 0; i < st->tls_peers.n && st->cfg->store.ipc_listen[0]; i++) {
        char roles[64];

        ipc_tls_roles_text(st->tls_peers.peer[i].roles, roles, sizeof(roles));
        log_info("ipc_listen: a certificate named %s may connect as %s", st->tls_peers.peer[i].name,
                 roles);
    }
    while ((w = cfg_list_word(&p, &len)) != NULL) {
        snprintf(addr, sizeof(addr), "%.*s", (int)len, w);
        if (ipc_server_listen_tcp(st->server, addr, why, sizeof(why)) < 0)
            log_fatal("store.ipc_listen: %s", why);
        log_notice("listening on %s (IPC over TCP, mutual TLS)", addr);
    }
}

void store_server_start(struct store *st)
{
    struct ipc_server_config cfg = {
        .service = "store",
        .program = "spoolgate-store",
        .role = "store",
        .caps_offered = IPC_CAPS_STORE,
        .generation = st->db.generation,
        IPC_SERVER_TABLE(store_commands),
        .backlog = 256,
        .mode = 0660,
        .peer_caps = store_peer_caps,
        .peer_caps_tls = store_peer_caps_tls,
    };
    struct ipc_server_config submit;

    daemon_socket_owner(&st->opts, &cfg.owner, &cfg.group);
    cfg.own = st->opts.drop;
    submit = cfg;
    submit.peer_caps = NULL; /* anyone may submit there, and only submit */

    st->server = ipc_server_start(st->loop, &cfg, &store_server_ops, st, st->socket_path);
    store_listen_tcp(st);
    /* The same table, but only "submit" is ever offered here: a client asking for more is
     * refused at the hello, and a request of any other row is refused as not granted. */
    submit.service = "store submission";
    submit.caps_offered = IPC_CAP_SUBMIT;
    submit.mode = 0666;
    submit.backlog = 64;
    st->submit_server =
        ipc_server_start(st->loop, &submit, &store_submit_server_ops, st, st->submit_socket_path);
    if (st->role != STORE_ROLE_MASTER)
        store_conn_offer(st, 0);
    store_conn_announce(st);
}

int store_conn_server_gone(struct store *st, struct ipc_server *s)
{
    if (s == st->server)
        st->server = NULL;
    else
        st->submit_server = NULL;
    return !st->server && !st->submit_server;
}

void store_conn_offer(struct store *st, int master)
{
    const char *role = master ? "store" : IPC_ROLE_REPLICA;

    ipc_server_set_offer(st->server, role, master ? IPC_CAPS_STORE : IPC_CAP_ADMIN);
    ipc_server_set_offer(st->submit_server, role, master ? IPC_CAP_SUBMIT : "");
    ipc_server_set_generation(st->server, master ? st->db.generation : 0);
    ipc_server_set_generation(st->submit_server, master ? st->db.generation : 0);
}

void store_conn_announce(struct store *st)
{
    struct ipc_role ro;
    int master = st->role == STORE_ROLE_MASTER;

    memset(&ro, 0, sizeof(ro));
    snprintf(ro.role, sizeof(ro.role), "%s", store_role_name(st->role));
    ro.generation = master ? st->db.generation : 0;
    if (st->repl)
        store_repl_role(st, &ro);
    ipc_server_set_role(st->server, &ro);
    ipc_server_set_role(st->submit_server, &ro);
}

/* ev to every subscriber; those subscribed with messages also get msg's bytes (may be NULL). */
static void broadcast(struct store *st, const struct ipc_event *ev, const struct sg_buf *msg)
{
    for (struct ipc_server_conn *sc = ipc_server_first(st->server), *next; sc; sc = next) {
        struct store_conn *c = ipc_server_conn_data(sc);
        struct sg_buf *out = ipc_server_conn_out(sc);

        next = ipc_server_next(sc);
        if (!c->subscribed)
            continue;
        ipc_encode_event(out, 0, ev);
        if (msg && c->subscribed == STORE_SUBSCRIBED_MESSAGES)
            sg_buf_append(out, msg->data, msg->len);
        ipc_server_conn_flush(sc);
    }
}

void store_broadcast_event(struct store *st, uint32_t kind, const char *qid)
{
    struct ipc_event ev = {.kind = kind};

    snprintf(ev.qid, sizeof(ev.qid), "%s", qid ? qid : "");
    broadcast(st, &ev, NULL);
}

void store_broadcast_committed(struct store *st, const char *qid, const struct sg_buf *msg)
{
    struct ipc_event ev = {.kind = IPC_EV_COMMITTED};

    snprintf(ev.qid, sizeof(ev.qid), "%s", qid);
    broadcast(st, &ev, msg->failed ? NULL : msg);
}
