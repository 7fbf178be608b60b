/* router_main.c - spoolgate-router: config, the transport map, store links, due timer, signals. */
#include <ares.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "router.h"

/* The smarthost secrets for config c and its map: read (owner root or uid), and holding every
 * credentials name the map and relayhost_auth use.  0, or -1 with why. */
static int router_load_secrets(const struct sg_config *c, const struct transport_map *map,
                               uid_t uid, struct router_secrets *out, char *why, size_t whysz)
{
    char err[4096];

    if (c->router.relayhost_auth[0] && !c->router.relayhost[0]) {
        snprintf(why, whysz, "router.relayhost_auth is set but router.relayhost is empty");
        return -1;
    }
    if (router_secrets_load(c->router.smarthost_secrets, uid, out, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "router.smarthost_secrets: %s", err);
        return -1;
    }
    if (router_secrets_cover(out, map, c->router.relayhost_auth, why, whysz) < 0) {
        router_secrets_free(out);
        return -1;
    }
    return 0;
}

/* Who may own the secrets file besides root: the user the router runs as. */
static uid_t router_uid(const struct daemon_opts *o)
{
    return o->drop && o->ids.user[o->role].known ? o->ids.user[o->role].uid : geteuid();
}

/* --check-config: the transport map, the secrets, the alias and canonical maps and the CA
 * file, read as at start. */
static int router_check_files(const struct sg_config *c, char *why, size_t whysz)
{
    struct transport_map map;
    struct router_secrets secrets;
    struct alias_map aliases, canonical;
    tls_ctx_t *ctx;
    char err[4096];

    if (tm_load_file(c->router.transport_map, &map, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "router.transport_map: %s", err);
        return -1;
    }
    if (router_load_secrets(c, &map, geteuid(), &secrets, why, whysz) < 0) {
        tm_free(&map);
        return -1;
    }
    router_secrets_free(&secrets);
    tm_free(&map);
    if (router_alias_load(c, &aliases, &canonical, why, whysz) < 0)
        return -1;
    router_am_free(&aliases);
    router_am_free(&canonical);
    if (!(ctx = tls_ctx_client(c->router.tls_ca_file, err, sizeof(err)))) {
        snprintf(why, whysz, "router.tls_ca_file: %s", err);
        return -1;
    }
    tls_ctx_free(ctx);
    return 0;
}

static struct router the_router = {.opts = {.program = ROUTER_PROGRAM,
                                            .role = PRIV_ROLE_ROUTER,
                                            .check_files = router_check_files,
                                            .reuse_malloc = 1}};
static struct daemon_signals sigs;

static const struct ipc_link_ops gateway_link_ops = {
    .frame = router_gw_link_frame, .up = router_gw_link_up, .down = router_gw_link_down};

static void router_settings(struct router *r)
{
    char why[8192] = "";
    struct sg_config *c = r->cfg;

    daemon_hostname(c, r->hostname, sizeof(r->hostname));
    if (sc_init(&r->sc, r->loop, c, ROUTER_PROGRAM, "router") < 0 ||
        config_socket_path(c, "gateway", r->gateway_socket, sizeof(r->gateway_socket)) < 0)
        log_fatal("%s: socket path too long for a Unix socket", config_socket_dir(c));
    if (router_route_load_map(r, c, &r->tmap, why, sizeof(why)) < 0)
        log_fatal("router.transport_map refused:\n%s", why);
    if (router_load_secrets(c, &r->tmap, router_uid(&r->opts), &r->secrets, why, sizeof(why)) < 0)
        log_fatal("%s", why);
    if (router_alias_load(c, &r->aliases, &r->canonical, why, sizeof(why)) < 0)
        log_fatal("%s", why);
    if (c->router.relayhost[0]) {
        char host[256];
        unsigned port;
        int mx;

        if (tm_parse_nexthop(c->router.relayhost, host, sizeof(host), &port, &mx) < 0)
            log_fatal("router.relayhost: \"%s\": expected [host]:port or host:port",
                      c->router.relayhost);
    }
    r->tls_client = tls_ctx_client(c->router.tls_ca_file, why, sizeof(why));
    if (!r->tls_client)
        log_fatal("router.tls_ca_file: %s", why);
}

/* SIGHUP: the transport map, the smarthost secrets, the alias and canonical maps and the retry
 * settings; a bad map or secrets file keeps the old ones. */
static void router_reload(struct router *r)
{
    static const char *const applied[] = {"global.log_level", NULL};
    struct sg_config *n = daemon_reload(&r->opts);
    struct transport_map map;
    struct router_secrets secrets;
    struct alias_map aliases, canonical;
    char why[8192] = "", later[1024];

    if (!n)
        return;
    if (router_route_load_map(r, n, &map, why, sizeof(why)) < 0 ||
        router_load_secrets(n, &map, router_uid(&r->opts), &secrets, why, sizeof(why)) < 0) {
        log_error("reload refused, the old config stays in force:\n%s", why);
        tm_free(&map);
        config_free(n);
        return;
    }
    if (router_alias_load(n, &aliases, &canonical, why, sizeof(why)) < 0) {
        log_error("reload refused, the old config stays in force:\n%s", why);
        router_secrets_free(&secrets);
        tm_free(&map);
        config_free(n);
        return;
    }
    router_am_free(&r->aliases);
    r->aliases = aliases;
    router_am_free(&r->canonical);
    r->canonical = canonical;
    tm_free(&r->tmap);
    r->tmap = map;
    router_secrets_free(&r->secrets);
    r->secrets = secrets;
    log_set_level(n->global.log_level);
    if (config_changed(r->cfg, n, "global,router.dns_servers,router.tls_ca_file", applied, later,
                       sizeof(later)))
        log_notice("changed, applied at the next start: %s", later);
    config_free(r->cfg);
    r->cfg = n;
    log_notice("reloaded %s: %zu routes in the transport map; everything queued is re-categorized",
               n->source, map.n);
    router_dest_revive_all(r);
    router_queue_due_scan(r);
}

#define ROUTER_STOP_DEADLINE_MS 3000 /* deliveries under way at a stop get this long to end */
#define ROUTER_STOP_RECORD_MS 2000   /* then their outcomes this long to be recorded */
#define ROUTER_STOP_POLL_MS 20

/* The second step of a stop: every delivery has ended (or the deadline came), so the gateway
 * link goes and the outcomes gathered go to the store. */
static void stop_record(struct router *r)
{
    if (r->nconns || router_gw_in_flight()) {
        log_notice("stop deadline: %u connection(s) still sending a message and %u postoffice "
                   "deliveries are closed; their recipients stay active (a duplicate is possible "
                   "if the peer took it)",
                   r->nconns, router_gw_in_flight());
        router_smtp_stop_all(r, 1);
    }
    ipc_link_stop(r->gateway);
    r->gateway = NULL;
    router_update_close(r);
    r->stop_phase = ROUTER_STOP_RECORDING;
    r->stop_since = uv_now(r->loop);
}

static void stop_poll_cb(uv_timer_t *t)
{
    struct router *r = t->data;
    uint64_t waited = uv_now(r->loop) - r->stop_since;

    if (r->stop_phase == ROUTER_STOP_DELIVERING) {
        if ((r->nconns || router_gw_in_flight()) && waited < ROUTER_STOP_DEADLINE_MS)
            return;
        stop_record(r);
        waited = 0;
    }
    if (r->upd_in_flight && r->store_up && waited < ROUTER_STOP_RECORD_MS)
        return;
    if (r->upd_in_flight)
        log_warn("stopping: %u recipient update batch(es) not confirmed by the store",
                 r->upd_in_flight);
    router_store_links_stop(r);
    uv_close((uv_handle_t *)t, NULL);
}

/* A stop takes no new work and lets what is under way end: a message being sent, a delivery
 * to the postoffice, and then the recording of their outcomes, so that nothing the peer or
 * the share has is sent again at the next start. */
static void router_stop(struct router *r)
{
    if (r->stopping)
        return;
    r->stopping = 1;
    log_notice("stopping: %u outbound connections are closed once the message each is sending "
               "ends; %zu messages (%llu recipients) in memory are handed back: unfinished "
               "recipients stay active and are taken up at the next start",
               r->nconns, r->nmsgs, (unsigned long long)r->active_rcpts);
    router_queue_stop(r);
    router_dest_stop(r);
    router_gw_stop();
    router_alias_stop(r);
    router_smtp_stop_all(r, 0);
    r->stop_phase = ROUTER_STOP_DELIVERING;
    r->stop_since = uv_now(r->loop);
    uv_timer_init(r->loop, &r->stop_timer);
    r->stop_timer.data = r;
    uv_timer_start(&r->stop_timer, stop_poll_cb, 0, ROUTER_STOP_POLL_MS);
    daemon_signals_close(&sigs);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    if (signum == SIGHUP) {
        daemon_notify_reloading();
        router_reload(&the_router);
        daemon_notify_reloaded();
    } else {
        daemon_notify_stopping();
        router_stop(&the_router);
    }
}

int main(int argc, char **argv)
{
    struct router *r = &the_router;

    r->cfg = daemon_init(argc, argv, &r->opts);
    daemon_detach(&r->opts, r->cfg);
    signal(SIGPIPE, SIG_IGN);
    if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
        log_fatal("cannot initialise c-ares");
    r->loop = uv_default_loop();
    router_settings(r);
    router_kept_take_dir(r);
    daemon_drop_privileges(&r->opts);
    router_kept_load(r);
    if (router_msgtab_init(r) < 0)
        log_fatal("out of memory");
    router_queue_init(r);
    router_update_init(r);
    router_store_links_start(r);
    if (r->cfg->gateway.domain[0])
        r->gateway =
            ipc_link_start(r->loop, "postoffice gateway", r->gateway_socket, ROUTER_PROGRAM,
                           "router", "deliver", 2000, &gateway_link_ops, r);
    daemon_signals_start(r->loop, &sigs, signal_cb);
    log_notice("started, config %s, host name %s, %zu routes in the transport map", r->cfg->source,
               r->hostname, r->tmap.n);
    daemon_notify_ready(); /* config and map taken; the store links come up on their own */
    uv_run(r->loop, UV_RUN_DEFAULT);
    router_kept_save(r); /* the store links are gone: what they could not record is all kept */
    if (r->updates_lost)
        log_notice("%llu recipient update(s) were not recorded at the stop; those recipients stay "
                   "active and their leases bring them back",
                   (unsigned long long)r->updates_lost);
    router_msgtab_free(r);
    router_dest_free_all(r);
    router_pause_free(r);
    tm_free(&r->tmap);
    router_secrets_free(&r->secrets);
    router_am_free(&r->aliases);
    router_am_free(&r->canonical);
    tls_ctx_free(r->tls_client);
    ares_library_cleanup();
    log_notice("stopped");
    config_free(r->cfg);
    uv_loop_close(r->loop);
    return 0;
}
