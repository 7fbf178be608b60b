/* smtpd_main.c - spoolgate-smtpd: config, listeners on 25 and 587, the store and directory links, signals. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "smtpd.h"
#include "tls_bio.h"

struct smtpd_listener {
    uv_tcp_t tcp;
    struct smtpd *d;
    int submission;
    char name[80];
    struct smtpd_listener *next;
};

static struct smtpd the_smtpd;
static int smtpd_check_files(const struct sg_config *c, char *why, size_t whysz);
static struct daemon_opts opts = {.program = SMTPD_PROGRAM,
                                  .role = PRIV_ROLE_SMTPD,
                                  .check_files = smtpd_check_files,
                                  .reuse_malloc = 1};
static struct daemon_signals sigs;

static void listener_cb(uv_stream_t *server, int status)
{
    struct smtpd_listener *l = server->data;

    if (status < 0) {
        log_error("%s: accept failed: %s", l->name, uv_strerror(status));
        return;
    }
    smtpd_session_accept(l->d, server, l->submission);
}

/* "1.2.3.4:25" or "[::1]:25" into a socket address. */
static int listen_addr_parse(const char *word, struct sockaddr_storage *ss, char *why, size_t whysz)
{
    char host[64];
    const char *colon;
    char *end;
    long port;
    size_t hlen;

    if (word[0] == '[') {
        const char *close = strchr(word, ']');

        if (!close || close[1] != ':') {
            snprintf(why, whysz, "\"%s\": expected [address]:port", word);
            return -1;
        }
        hlen = (size_t)(close - word - 1);
        colon = close + 1;
        word++;
    } else {
        colon = strrchr(word, ':');
        if (!colon) {
            snprintf(why, whysz, "\"%s\": expected address:port", word);
            return -1;
        }
        hlen = (size_t)(colon - word);
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        snprintf(why, whysz, "\"%s\": bad address", word);
        return -1;
    }
    memcpy(host, word, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 1 || port > 65535) {
        snprintf(why, whysz, "\"%s\": bad port", word);
        return -1;
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    snprintf(why, whysz, "\"%s\": not an IPv4 or IPv6 address", host);
    return -1;
}

static void listen_on(struct smtpd *d, const char *word, int submission)
{
    struct smtpd_listener *l = calloc(1, sizeof(*l));
    struct sockaddr_storage ss;
    char why[200];
    int rc;

    if (!l)
        log_fatal("out of memory");
    if (listen_addr_parse(word, &ss, why, sizeof(why)) < 0)
        log_fatal("smtpd.%slisten: %s", submission ? "submission_" : "", why);
    l->d = d;
    l->submission = submission;
    snprintf(l->name, sizeof(l->name), "%s%s", word, submission ? " (submission)" : "");
    uv_tcp_init(d->loop, &l->tcp);
    l->tcp.data = l;
    rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss,
                     ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, 1024, listener_cb);
    if (rc < 0)
        log_fatal("cannot listen on %s: %s", l->name, uv_strerror(rc));
    log_notice("listening on %s", l->name);
    l->next = d->listeners;
    d->listeners = l;
}

static void listen_all(struct smtpd *d, const char *list, int submission)
{
    char buf[1100];
    char *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *w = strtok_r(buf, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
        listen_on(d, w, submission);
}

/* ---- settings that the config gives --------------------------------------------- */

static void smtpd_settings(struct smtpd *d)
{
    char why[8192] = "";
    struct sg_config *c = d->cfg;

    daemon_hostname(c, d->hostname, sizeof(d->hostname));
    d->nnetworks = smtp_cidr_parse_list(c->smtpd.mynetworks, d->networks, SMTPD_MAX_NETWORKS, why,
                                        sizeof(why));
    if (d->nnetworks < 0)
        log_fatal("smtpd.mynetworks: %s", why);
    if (sc_init(&d->sc, d->loop, c, SMTPD_PROGRAM, "smtpd") < 0 ||
        config_socket_path(c, "gateway", d->gateway_socket, sizeof(d->gateway_socket)) < 0)
        log_fatal("%s: socket path too long for a Unix socket", config_socket_dir(c));
    if (smtpd_tls_init(d, why, sizeof(why)) < 0)
        log_fatal("STARTTLS: %s", why);
    if (c->smtpd.auth_users_file[0] &&
        !(d->users = smtpd_users_load(c->smtpd.auth_users_file, why, sizeof(why))))
        log_fatal("smtpd.auth_users_file: %s", why);
    if (tm_load_file(c->router.transport_map, &d->tmap, why, sizeof(why)) < 0)
        log_fatal("router.transport_map refused:\n%s", why);
    if (!(d->clients = smtpd_clients_new()) ||
        !(d->rates = smtpd_rates_new((size_t)c->smtpd.client_rate_table_size,
                                     (uint64_t)c->smtpd.client_rate_interval * 1000u)))
        log_fatal("out of memory");
    if (d->users && !d->tls_ctx)
        log_warn("smtpd.auth_users_file is set but STARTTLS is not: AUTH is never offered");
}

/* Many sessions need many descriptors: take what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- signals ---------------------------------------------------------------------- */

#define SMTPD_STOP_GRACE_MS 10000 /* a stop's sessions get this long to be answered and closed */

/* What a stop does to each session (uv_walk over the loop's handles: a session is the TCP
 * handle whose data it is). */
struct session_walk {
    void (*each)(struct session *s);
};

static void walk_session_handle(uv_handle_t *h, void *arg)
{
    const struct session_walk *w = arg;

    if (!uv_is_closing(h) && h->type == UV_TCP && h->data)
        w->each(h->data);
}

/* A session still open when the stop's grace is over is closed as it is. */
static void close_stopping(struct session *s)
{
    smtpd_session_close(s, "server stopping");
}

static void stop_deadline_cb(uv_timer_t *t)
{
    struct smtpd *d = t->data;

    log_notice("stop deadline: %u sessions still open are closed", d->nsessions);
    uv_walk(d->loop, walk_session_handle, &(struct session_walk){close_stopping});
    uv_close((uv_handle_t *)t, NULL);
}

/* The listeners close; each session is told 421 and closed, except one waiting for the store's
 * answer to its message, which gets that answer first (smtpd_session_stop). */
static void smtpd_stop(struct smtpd *d)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    log_notice("stopping: no new sessions; %u open sessions are closed (one waiting for the "
               "store's answer to its message gets it first)",
               d->nsessions);
    for (struct smtpd_listener *l = d->listeners; l; l = l->next)
        uv_close((uv_handle_t *)&l->tcp, NULL);
    smtpd_pickup_stop(d);
    smtpd_store_stop(d);
    smtpd_dir_stop(d);
    daemon_signals_close(&sigs);
    uv_timer_init(d->loop, &d->stop_timer);
    d->stop_timer.data = d;
    uv_timer_start(&d->stop_timer, stop_deadline_cb, SMTPD_STOP_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&d->stop_timer); /* the sessions keep the loop alive, not it */
    uv_walk(d->loop, walk_session_handle, &(struct session_walk){smtpd_session_stop});
}

/* What a SIGHUP brings in, all read before any of it is applied: a config
 * with one bad part changes nothing. */
struct smtpd_reloaded {
    struct smtpd_users *users;
    struct transport_map map;
    struct smtp_cidr networks[SMTPD_MAX_NETWORKS];
    int nnetworks;
    void *tls_ctx; /* NULL: no certificate configured */
};

static int reload_read(const struct sg_config *n, struct smtpd_reloaded *r, char *why, size_t whysz)
{
    char err[400];

    if (tm_load_file(n->router.transport_map, &r->map, why, whysz) < 0)
        return -1;
    r->nnetworks = smtp_cidr_parse_list(n->smtpd.mynetworks, r->networks, SMTPD_MAX_NETWORKS, err,
                                        sizeof(err));
    if (r->nnetworks < 0) {
        snprintf(why, whysz, "smtpd.mynetworks: %s", err);
        return -1;
    }
    if (n->smtpd.auth_users_file[0] &&
        !(r->users = smtpd_users_load(n->smtpd.auth_users_file, err, sizeof(err)))) {
        snprintf(why, whysz, "smtpd.auth_users_file: %s", err);
        return -1;
    }
    if (smtpd_tls_ctx_load(&n->smtpd, &r->tls_ctx, err, sizeof(err)) < 0) {
        snprintf(why, whysz, "STARTTLS: %s", err);
        return -1;
    }
    return 0;
}

static void reloaded_free(struct smtpd_reloaded *r)
{
    tm_free(&r->map);
    smtpd_users_free(r->users);
    r->users = NULL;
}

/* --check-config: every file smtpd reads, read as a reload reads it. */
static int smtpd_check_files(const struct sg_config *c, char *why, size_t whysz)
{
    struct smtpd_reloaded r = {0};
    int ret = reload_read(c, &r, why, whysz);

    reloaded_free(&r);
    if (r.tls_ctx)
        tls_ctx_free(r.tls_ctx);
    return ret;
}

/* SIGHUP: users file, transport map, mynetworks, the TLS certificate and key, the log level;
 * listeners and limits at the next start.  Sessions already in TLS keep the context they
 * started with (OpenSSL counts its references). */
static void smtpd_reload(struct smtpd *d)
{
    static const char *const applied[] = {"smtpd.auth_users_file", "smtpd.mynetworks",
                                          "smtpd.tls_cert_file",   "smtpd.tls_key_file",
                                          "global.log_level",      NULL};
    struct sg_config *n = daemon_reload(&opts);
    struct smtpd_reloaded r = {0};
    char why[8192] = "", later[1024];

    if (!n)
        return;
    if (reload_read(n, &r, why, sizeof(why)) < 0) {
        log_error("reload refused, the old config stays in force: %s", why);
        reloaded_free(&r);
        config_free(n);
        return;
    }
    log_set_level(n->global.log_level);
    smtpd_users_free(d->users);
    d->users = r.users;
    tm_free(&d->tmap);
    d->tmap = r.map;
    memcpy(d->networks, r.networks, sizeof(d->networks));
    d->nnetworks = r.nnetworks;
    smtpd_tls_free_ctx(d);
    d->tls_ctx = r.tls_ctx;
    log_notice("reloaded %s (users file, transport map, mynetworks, TLS certificate and key, log "
               "level)",
               n->source);
    if (config_changed(d->cfg, n, "smtpd,global", applied, later, sizeof(later)))
        log_notice("changed, applied at the next start: %s", later);
    config_free(n);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    if (signum == SIGHUP) {
        daemon_notify_reloading();
        smtpd_reload(&the_smtpd);
        daemon_notify_reloaded();
        return;
    }
    daemon_notify_stopping();
    smtpd_stop(&the_smtpd);
}

int main(int argc, char **argv)
{
    struct smtpd *d = &the_smtpd;

    d->cfg = daemon_init(argc, argv, &opts);
    d->config_path = opts.config_path;
    daemon_detach(&opts, d->cfg);
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    d->loop = uv_default_loop();
    smtpd_settings(d);
    listen_all(d, d->cfg->smtpd.listen, 0);
    listen_all(d, d->cfg->smtpd.submission_listen, 1);
    if (!d->listeners)
        log_fatal("no listeners: set smtpd.listen or smtpd.submission_listen");
    smtpd_pickup_prepare(d, opts.drop ? opts.ids.user[PRIV_ROLE_SMTPD].uid : getuid(),
                         opts.drop ? opts.ids.user[PRIV_ROLE_SMTPD].gid : getgid());
    /* Ports bound, key and users file read: nothing more needs root. */
    daemon_drop_privileges(&opts);
    smtpd_store_start(d);
    smtpd_pickup_start(d);
    smtpd_dir_start(d);
    daemon_signals_start(d->loop, &sigs, signal_cb);
    log_notice("started, config %s, host name %s", d->cfg->source, d->hostname);
    daemon_notify_ready(); /* the listeners accept */
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (d->stopping && !uv_is_closing((uv_handle_t *)&d->stop_timer)) { /* sessions went first */
        uv_close((uv_handle_t *)&d->stop_timer, NULL);
        uv_run(d->loop, UV_RUN_DEFAULT);
    }
    smtpd_tls_free_ctx(d);
    smtpd_users_free(d->users);
    tm_free(&d->tmap);
    smtpd_clients_free(d->clients);
    smtpd_rates_free(d->rates);
    while (d->listeners) {
        struct smtpd_listener *l = d->listeners;

        d->listeners = l->next;
        free(l);
    }
    log_notice("stopped");
    config_free(d->cfg);
    uv_loop_close(d->loop);
    return 0;
}
