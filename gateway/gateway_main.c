/* gateway_main.c - spoolgate-gateway: config, the socket, the poll timer for OUT/ and the directory, signals. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>

#include "gateway.h"
#include "log.h"

static struct gateway the_gateway = {.opts = {.program = GATEWAY_PROGRAM}, .share_ok = 1};
static struct daemon_signals sigs;

void gw_share_state(struct gateway *g, const char *why)
{
    if (why) {
        if (g->share_ok || strcmp(g->share_why, why) != 0)
            log_error("postoffice share unreachable: %s", why);
        g->share_ok = 0;
        snprintf(g->share_why, sizeof(g->share_why), "%s", why);
        return;
    }
    if (g->share_ok)
        return;
    log_notice("postoffice share %s reachable again; waiting mail is retried now",
               gw_share_name(g->share));
    g->share_ok = 1;
    g->share_why[0] = '\0';
    gw_server_share_back(g);
}

int gw_refused_state(struct gw_refused *r, const char *what, const char *why, const char *effect)
{
    int started;

    if (why) {
        started = !r->on || strcmp(r->why, why) != 0;
        if (started)
            log_warn("%s refused: %s; %s until it is a real directory", what, why, effect);
        r->on = 1;
        snprintf(r->why, sizeof(r->why), "%s", why);
        return started;
    }
    if (r->on)
        log_notice("%s is a real directory again: no longer refused", what);
    r->on = 0;
    r->why[0] = '\0';
    return 0;
}

static void poll_out_after_dir(struct gateway *g)
{
    gw_out_poll(g);
}

static void poll_timer_cb(uv_timer_t *t)
{
    struct gateway *g = t->data;

    if (g->polling || g->stopping)
        return;
    g->polling = 1;
    gw_dir_poll(g, poll_out_after_dir);
}

static void gateway_stop(struct gateway *g)
{
    if (g->stopping)
        return;
    g->stopping = 1;
    log_notice("stopping");
    uv_close((uv_handle_t *)&g->poll_timer, NULL);
    gw_in_stop(g);
    gw_server_stop(g);
    daemon_signals_close(&sigs);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    if (signum == SIGHUP)
        log_notice(
            "SIGHUP: the directory is re-read when it changes; other settings need a restart");
    else
        gateway_stop(&the_gateway);
}

static void gateway_settings(struct gateway *g)
{
    const struct sg_config *c = g->cfg;

    if (!c->gateway.domain[0])
        log_fatal("gateway.domain is not set: the gateway needs the postoffice's mail domain");
    daemon_hostname(c, g->hostname, sizeof(g->hostname));
    if (sc_init(&g->sc, g->loop, c, GATEWAY_PROGRAM, "gateway") < 0 ||
        config_socket_path(c, "gateway", g->socket_path, sizeof(g->socket_path)) < 0)
        log_fatal("%s: socket path too long for a Unix socket", config_socket_dir(c));
    mkdir(config_socket_dir(c), 0750);
    snprintf(g->dir_why, sizeof(g->dir_why), "not read yet");
    {
        char why[512];

        char path[PATH_MAX];

        g->share = gw_share_new(&c->gateway, why, sizeof(why));
        if (!g->share)
            log_fatal("%s", why);
        snprintf(path, sizeof(path), "%s/gateway.journal", c->global.state_dir);
        g->journal = gw_journal_open(path, why, sizeof(why));
        if (!g->journal)
            log_fatal("%s", why);
        if (gw_journal_carried(g->journal))
            log_notice("journal %s: %zu transfer file(s) were being written when the gateway "
                       "stopped; each "
                       "is finished, not written again, when the router asks for it",
                       path, gw_journal_carried(g->journal));
        g->p1 = gw_p1_new(g->share, g->journal);
        if (!g->p1)
            log_fatal("out of memory");
    }
}

int main(int argc, char **argv)
{
    struct gateway *g = &the_gateway;

    g->cfg = daemon_init(argc, argv, &g->opts);
    daemon_detach(&g->opts, g->cfg);
    signal(SIGPIPE, SIG_IGN);
    {
        /* One worker per delivery that may run, and a few for the directory and OUT/ polls. */
        char n[24];

        snprintf(n, sizeof(n), "%d", (int)g->cfg->gateway.max_deliveries + 4);
        setenv("UV_THREADPOOL_SIZE", n, 0);
    }
    g->loop = uv_default_loop();
    gateway_settings(g);
    gw_server_start(g);
    uv_timer_init(g->loop, &g->poll_timer);
    g->poll_timer.data = g;
    uv_timer_start(&g->poll_timer, poll_timer_cb, 0,
                   (uint64_t)g->cfg->gateway.poll_interval * 1000u);
    daemon_signals_start(g->loop, &sigs, signal_cb);
    log_notice("started: postoffice domain %s, share %s, socket %s", g->cfg->gateway.domain,
               gw_share_name(g->share), g->socket_path);
    uv_run(g->loop, UV_RUN_DEFAULT);
    po_dir_free(&g->dir);
    {
        uint64_t written, syncs, skipped;

        gw_p1_stats(g->p1, &written, &syncs, &skipped);
        log_notice("%llu transfer file(s) written into P1/ with %llu directory sync(s); %llu "
                   "name(s) taken by "
                   "another writer skipped",
                   (unsigned long long)written, (unsigned long long)syncs,
                   (unsigned long long)skipped);
    }
    gw_p1_free(g->p1);
    gw_journal_close(g->journal);
    gw_share_free(g->share);
    log_notice("stopped");
    config_free(g->cfg);
    uv_loop_close(g->loop);
    return 0;
}
