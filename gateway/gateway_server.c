/* gateway_server.c - the gateway's side of its socket: directory lookups from smtpd, deliveries from the router (the server is common/ipc_server.c). */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "ipc_server.h"
#include "log.h"

/* The gateway's state of one connection; it lives as long as the server's (one reference count). */
struct gw_conn {
    struct gateway *g;
    struct ipc_server_conn *sc;
};

typedef void (*gw_handler_fn)(struct gw_conn *c, struct ipc_reader *r);

static void gw_server_lookup(struct gw_conn *c, struct ipc_reader *r)
{
    struct ipc_dir_lookup q;

    if (ipc_decode_dir_lookup(r, &q) < 0) {
        ipc_server_conn_fail(c->sc, r->request_id, IPC_ERR_PROTO, "%s", r->error);
        return;
    }
    gw_dir_answer(c->g, c, r->request_id, &q);
}

static void gw_server_deliver(struct gw_conn *c, struct ipc_reader *r)
{
    struct ipc_gw_deliver d;

    if (ipc_decode_gw_deliver(r, &d) < 0) {
        ipc_server_conn_fail(c->sc, r->request_id, IPC_ERR_PROTO, "%s", r->error);
        return;
    }
    gw_in_deliver(c->g, c, r->request_id, &d);
}

static void gw_server_recorded(struct gw_conn *c, struct ipc_reader *r)
{
    struct ipc_gw_deliver d;

    if (ipc_decode_gw_recorded(r, &d) < 0) {
        ipc_server_conn_fail(c->sc, r->request_id, IPC_ERR_PROTO, "%s", r->error);
        return;
    }
    gw_in_recorded(c->g, &d);
}

/* Every request a client may send after the hellos, and the capability it needs. */
static const struct gw_command {
    struct ipc_server_cmd cmd;
    gw_handler_fn handle;
} gw_commands[] = {
    {{IPC_DIR_LOOKUP, IPC_CAP_DIRECTORY}, gw_server_lookup},
    {{IPC_GW_DELIVER, IPC_CAP_DELIVER}, gw_server_deliver},
    {{IPC_GW_RECORDED, IPC_CAP_DELIVER}, gw_server_recorded},
};

void gw_conn_ref(struct gw_conn *c)
{
    ipc_server_conn_ref(c->sc);
}

void gw_conn_unref(struct gw_conn *c)
{
    ipc_server_conn_unref(c->sc);
}

int gw_conn_alive(const struct gw_conn *c)
{
    return c && ipc_server_conn_alive(c->sc);
}

int gw_conn_sends_recorded(const struct gw_conn *c)
{
    return ipc_server_conn_peer(c->sc)->minor >= IPC_MINOR_GW_RECORDED;
}

struct sg_buf *gw_conn_out(struct gw_conn *c)
{
    return ipc_server_conn_out(c->sc);
}

void gw_conn_flush(struct gw_conn *c)
{
    ipc_server_conn_flush(c->sc);
}

/* ---- the server's callbacks ------------------------------------------------- */

static void gw_server_accepted(struct ipc_server_conn *sc, void *arg)
{
    struct gw_conn *c = calloc(1, sizeof(*c));

    if (!c) {
        ipc_server_conn_fail(sc, 0, IPC_ERR_TEMP, "out of memory");
        return;
    }
    c->g = arg;
    c->sc = sc;
    ipc_server_conn_set_data(sc, c);
}

static void gw_server_dispatch(struct ipc_server_conn *sc, const struct ipc_server_cmd *row,
                               struct ipc_reader *r, void *arg)
{
    const struct gw_command *cmd = (const struct gw_command *)(const void *)row;

    (void)arg;
    cmd->handle(ipc_server_conn_data(sc), r);
}

static void gw_server_release(struct ipc_server_conn *sc, void *arg)
{
    (void)arg;
    free(ipc_server_conn_data(sc));
}

static const struct ipc_server_ops gw_server_ops = {
    .accepted = gw_server_accepted,
    .dispatch = gw_server_dispatch,
    .release = gw_server_release,
};

/* gateway.sock by SO_PEERCRED: smtpd's user may look mailboxes up, the router's may
 * deliver, root and our own user may do both, nobody else anything. */
static const char *gw_peer_caps(uid_t uid, void *arg)
{
    struct gateway *g = arg;

    switch (priv_role_of(&g->opts.ids, uid)) {
    case PRIV_ROLE_TRUSTED:
    case PRIV_ROLE_GATEWAY:
        return IPC_CAP_DIRECTORY "," IPC_CAP_DELIVER;
    case PRIV_ROLE_SMTPD:
        return IPC_CAP_DIRECTORY;
    case PRIV_ROLE_ROUTER:
        return IPC_CAP_DELIVER;
    default:
        return NULL;
    }
}

void gw_server_start(struct gateway *g)
{
    struct ipc_server_config cfg = {
        .service = "gateway",
        .program = GATEWAY_PROGRAM,
        .role = "gateway",
        .caps_offered = IPC_CAP_DIRECTORY "," IPC_CAP_DELIVER,
        IPC_SERVER_TABLE(gw_commands),
        .backlog = 64,
        .mode = 0660,
        .own = g->opts.drop,
        .peer_caps = gw_peer_caps,
    };

    daemon_socket_owner(&g->opts, &cfg.owner, &cfg.group);
    g->server = ipc_server_start(g->loop, &cfg, &gw_server_ops, g, g->socket_path);
}

static void gw_server_drained(struct ipc_server *s, void *arg)
{
    struct gateway *g = arg;

    (void)s;
    g->server = NULL;
}

/* The deliveries under way are finished and answered (their transfer files are in P1/ by
 * then: a router told nothing would send them again); nothing new is taken. */
void gw_server_stop(struct gateway *g)
{
    if (g->in_running)
        log_notice("stopping: answering the %u deliveries under way first", g->in_running);
    ipc_server_drain(g->server, IPC_SERVER_STOP_GRACE_MS, gw_server_drained, g);
}

void gw_server_share_back(struct gateway *g)
{
    struct ipc_event ev = {.kind = IPC_EV_SHARE_BACK};

    for (struct ipc_server_conn *sc = ipc_server_first(g->server), *next; sc; sc = next) {
        next = ipc_server_next(sc);
        if (!ipc_server_conn_ready(sc) || strcmp(ipc_server_conn_peer(sc)->role, "router") != 0)
            continue;
        ipc_encode_event(ipc_server_conn_out(sc), 0, &ev);
        ipc_server_conn_flush(sc);
    }
}
