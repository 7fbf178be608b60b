/* gateway_main.c - spoolgate-gateway: config, the socket, the poll timer for OUT/ and the directory, signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

static int gateway_check_files(const struct sg_config *c, char *why, size_t whysz);
static struct gateway the_gateway = {.opts = {.program = GATEWAY_PROGRAM,
                                              .role = PRIV_ROLE_GATEWAY,
                                              .check_files = gateway_check_files},
                                     .share_ok = 1};
static struct daemon_signals sigs;

#define SHARE_RELOG_MS 60000

void gw_share_state(struct gateway *g, const char *why)
{
    if (why) {
        uint64_t now = uv_now(g->loop);

        /* Down, each operation may fail its own way (GLB/, OUT/, P1/): a changed reason is
         * logged once a minute, not at every poll; every deferral carries its own. */
        if (g->share_ok ||
            (strcmp(g->share_why, why) != 0 && now - g->share_logged_ms >= SHARE_RELOG_MS)) {
            log_error("postoffice share unreachable: %s", why);
            g->share_logged_ms = now;
        }
        g->share_ok = 0;
        snprintf(g->share_why, sizeof(g->share_why), "%s", why);
        return;
    }
    if (g->share_ok || g->watch.hung)
        return; /* not while an operation on it hangs: that it read GLB/ says little */
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

/* The settings a start needs: the domain, a share (its path or SFTP server is not reached
 * here: a share that is down is a failed delivery attempt, not a bad config), the SFTP key
 * and known-hosts files readable. */
static int gateway_check_files(const struct sg_config *c, char *why, size_t whysz)
{
    const struct cfg_gateway *gc = &c->gateway;
    struct share *sh;

    if (!gc->domain[0]) {
        snprintf(why, whysz,
                 "gateway.domain is not set: the gateway needs the postoffice's mail "
                 "domain");
        return -1;
    }
    if (!(sh = gw_share_new(gc, why, whysz)))
        return -1;
    gw_share_free(sh);
    if (gc->sftp_host[0] && access(gc->sftp_key, R_OK) < 0) {
        snprintf(why, whysz, "gateway.sftp_key: %s: %s", gc->sftp_key, strerror(errno));
        return -1;
    }
    if (gc->sftp_host[0] && access(gc->sftp_known_hosts, R_OK) < 0) {
        snprintf(why, whysz, "gateway.sftp_known_hosts: %s: %s", gc->sftp_known_hosts,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* SIGHUP: the log level and the poll interval now (the directory is re-read whenever it
 * changes); the share and the limits at the next start, and the log says which changed.  A
 * config that would not start keeps the old one in force. */
static void gateway_reload(struct gateway *g)
{
    static const char *const applied[] = {
        "global.log_level", "gateway.poll_interval", "gateway.share_timeout",
        /* the router's settings: it reloads them itself */
        "gateway.open_retry_interval", "gateway.max_open_retries", NULL};
    struct sg_config *n = daemon_reload(&g->opts);
    char why[1024], later[1024];
    uint64_t poll_ms;

    if (!n)
        return;
    if (g->stopping) {
        config_free(n);
        return;
    }
    if (gateway_check_files(n, why, sizeof(why)) < 0) {
        log_error("reload refused, the old config stays in force: %s", why);
        config_free(n);
        return;
    }
    log_set_level(n->global.log_level);
    g->cfg->gateway.poll_interval = n->gateway.poll_interval;
    g->cfg->gateway.share_timeout = n->gateway.share_timeout;
    poll_ms = (uint64_t)n->gateway.poll_interval * 1000u;
    uv_timer_start(&g->poll_timer, poll_timer_cb, poll_ms, poll_ms);
    log_notice("reloaded %s (log level, poll interval %llds, share timeout %llds)", n->source,
               (long long)n->gateway.poll_interval, (long long)n->gateway.share_timeout);
    if (config_changed(g->cfg, n, "gateway,global", applied, later, sizeof(later)))
        log_notice("changed, applied at the next start: %s", later);
    config_free(n);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    if (signum == SIGHUP) {
        daemon_notify_reloading();
        gateway_reload(&the_gateway);
        daemon_notify_reloaded();
    } else {
        daemon_notify_stopping();
        gateway_stop(&the_gateway);
    }
}

/* As root, before the drop: the socket, and the gateway's own state directory
 * <state_dir>/gateway (its journal), given to the gateway user.  A journal an
 * earlier version kept in <state_dir> itself is moved in. */
static void gateway_take_dirs(struct gateway *g)
{
    const struct sg_config *c = g->cfg;
    const struct priv_user *u = &g->opts.ids.user[PRIV_ROLE_GATEWAY];
    char old[PATH_MAX], why[1024];
    struct stat st;

    if (sc_init(&g->sc, g->loop, c, GATEWAY_PROGRAM, "gateway") < 0 ||
        config_socket_path(c, "gateway", g->socket_path, sizeof(g->socket_path)) < 0)
        log_fatal("%s: socket path too long for a Unix socket", config_socket_dir(c));
    daemon_socket_dir(&g->opts, c);
    snprintf(g->state_dir, sizeof(g->state_dir), "%s/gateway", c->global.state_dir);
    if ((g->opts.drop ? priv_own_dir(g->state_dir, u->uid, u->gid, 0700, why, sizeof(why))
                      : priv_mkdirs(g->state_dir, 0700, why, sizeof(why))) < 0)
        log_fatal("gateway state directory %s", why);
    snprintf(old, sizeof(old), "%s/gateway.journal", c->global.state_dir);
    if (lstat(old, &st) == 0 && S_ISREG(st.st_mode)) {
        char now[PATH_MAX + 32];

        snprintf(now, sizeof(now), "%s/gateway.journal", g->state_dir);
        if (rename(old, now) < 0)
            log_fatal("cannot move the journal %s into %s: %s", old, g->state_dir, strerror(errno));
        log_notice("journal %s moved to %s", old, now);
    }
    if (g->opts.drop && priv_own_entries(g->state_dir, u->uid, u->gid, why, sizeof(why)) < 0)
        log_fatal("gateway state directory %s", why);
}

static void gateway_settings(struct gateway *g)
{
    const struct sg_config *c = g->cfg;
    char why[512], path[PATH_MAX + 32];

    if (!c->gateway.domain[0])
        log_fatal("gateway.domain is not set: the gateway needs the postoffice's mail domain");
    daemon_hostname(c, g->hostname, sizeof(g->hostname));
    snprintf(g->dir_why, sizeof(g->dir_why), "not read yet");
    g->share = gw_share_new(&c->gateway, why, sizeof(why));
    if (!g->share)
        log_fatal("%s", why);
    snprintf(path, sizeof(path), "%s/gateway.journal", g->state_dir);
    g->journal = gw_journal_open(path, why, sizeof(why));
    if (!g->journal)
        log_fatal("%s", why);
    if (gw_journal_carried(g->journal))
        log_notice("journal %s: %zu transfer file(s) were being written when the gateway "
                   "stopped; each is finished, not written again, when the router asks for it",
                   path, gw_journal_carried(g->journal));
    g->p1 = gw_p1_new(g->share, g->journal);
    if (!g->p1)
        log_fatal("out of memory");
}

int main(int argc, char **argv)
{
    struct gateway *g = &the_gateway;

    /* Transfer files and message bodies pass through in buffers of up to megabytes, freed by
     * whichever worker thread is done with them: with glibc's sliding threshold each of the
     * workers' arenas would keep the largest it saw.  Above this size they are mapped and given
     * back when freed. */
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
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
    gateway_take_dirs(g);
    gw_server_start(g);
    daemon_drop_privileges(&g->opts);
    gateway_settings(g);
    gw_watch_init(g);
    uv_timer_init(g->loop, &g->poll_timer);
    g->poll_timer.data = g;
    uv_timer_start(&g->poll_timer, poll_timer_cb, 0,
                   (uint64_t)g->cfg->gateway.poll_interval * 1000u);
    daemon_signals_start(g->loop, &sigs, signal_cb);
    log_notice("started: postoffice domain %s, share %s, socket %s", g->cfg->gateway.domain,
               gw_share_name(g->share), g->socket_path);
    daemon_notify_ready(); /* gateway.sock listens */
    uv_run(g->loop, UV_RUN_DEFAULT);
    gw_watch_close(g);
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
