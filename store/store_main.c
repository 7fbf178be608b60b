/* store_main.c - spoolgate-store: options, config, the BDB environment, the socket, signals, checkpoints, the body sweep. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "store.h"
#include "store_conn.h"

static struct store the_store;

/* ---- checkpoints ---------------------------------------------------------- */

static uv_work_t checkpoint_req;
static int checkpoint_ret;

static void checkpoint_run(uv_work_t *req)
{
    checkpoint_ret = store_db_checkpoint(&the_store.db);
}

static void checkpoint_after(uv_work_t *req, int status)
{
    the_store.checkpoint_running = 0;
    if (status == 0 && checkpoint_ret != 0)
        log_error("checkpoint failed: %s", store_db_strerror(checkpoint_ret));
}

static void checkpoint_timer_cb(uv_timer_t *t)
{
    if (the_store.checkpoint_running || the_store.stopping || the_store.role != STORE_ROLE_MASTER)
        return;
    the_store.checkpoint_running = 1;
    uv_queue_work(the_store.loop, &checkpoint_req, checkpoint_run, checkpoint_after);
}

/* ---- the body sweep: every second, buckets closed, emptied, removed ------ */

#define ORIGIN_SWEEP_KEYS 1000 /* de-duplication keys looked at a second */

static uv_work_t sweep_req;
static struct store_body_limits sweep_limits;
static struct store_body_sweep sweep_result;
static struct store_origin_sweep origin_sweep;
static uint64_t origin_lifetime_us;
static int sweep_ret, origin_ret;

static void sweep_run(uv_work_t *req)
{
    sweep_ret = store_db_body_sweep(&the_store.db, &sweep_limits, &sweep_result);
    origin_ret =
        store_db_origin_sweep(&the_store.db, origin_lifetime_us, ORIGIN_SWEEP_KEYS, &origin_sweep);
}

/* One line per walk over every key, when it expired any. */
static void origin_sweep_log(void)
{
    static unsigned long expired;

    if (origin_ret != 0) {
        log_error("de-duplication key sweep: %s", store_db_strerror(origin_ret));
        return;
    }
    expired += origin_sweep.expired;
    if (!origin_sweep.wrapped)
        return;
    if (expired)
        log_info("de-duplication keys: %lu expired (older than %llds)", expired,
                 the_store.cfg->store.origin_lifetime);
    expired = 0;
}

/* Bodies are moved over several sweeps: one line when a run of them is over, not one a second. */
static void sweep_moved_log(unsigned moved)
{
    static unsigned long run_moved;
    static uint64_t run_start_ms;

    if (moved) {
        if (run_moved == 0)
            run_start_ms = uv_now(the_store.loop);
        run_moved += moved;
        log_debug("body sweep: %u queued bodies moved into body.db", moved);
    } else if (run_moved) {
        log_info("body sweep: %lu queued bodies moved into body.db in %.1f s (their body "
                 "database was closed over %llds before)",
                 run_moved, (double)(uv_now(the_store.loop) - run_start_ms) / 1000.0,
                 the_store.cfg->store.body_bucket_keep);
        run_moved = 0;
    }
}

static void sweep_after(uv_work_t *req, int status)
{
    the_store.sweep_running = 0;
    if (status == 0 && sweep_ret != 0)
        log_error("body sweep: %s", store_db_strerror(sweep_ret));
    sweep_moved_log(sweep_result.moved);
    origin_sweep_log();
    store_db_errlog_flush();
    if (sweep_result.removed)
        log_debug("body sweep: %u of %zu body databases removed", sweep_result.removed,
                  sweep_result.buckets);
}

static void sweep_timer_cb(uv_timer_t *t)
{
    if (the_store.sweep_running || the_store.stopping || the_store.role != STORE_ROLE_MASTER)
        return;
    the_store.sweep_running = 1;
    store_db_body_limits(the_store.cfg, &sweep_limits);
    origin_lifetime_us = (uint64_t)the_store.cfg->store.origin_lifetime * 1000000u;
    uv_queue_work(the_store.loop, &sweep_req, sweep_run, sweep_after);
}

/* ---- a failed environment: exit, so that the next start runs recovery ------ */

static uv_async_t panic_async;
static _Atomic int panic_armed; /* while panic_async may be sent */

static void panic_signal(void)
{
    if (panic_armed)
        uv_async_send(&panic_async);
}

/* Berkeley DB has panicked (a log file it could not create, a write that failed in the
 * middle): every call fails from now on, and only recovery mends it. Staying up would answer
 * 451 for ever; the supervisor (systemd's Restart=on-failure) starts the store again, with
 * recovery, and smtpd and the router reconnect on their own. What was acknowledged is in the
 * log already. _exit: other threads are still inside Berkeley DB. */
static void panic_cb(uv_async_t *h)
{
    store_db_errlog_flush();
    log_error("the Berkeley DB environment has failed and needs recovery; exiting (status %d) "
              "so that the next start runs recovery",
              STORE_EXIT_PANIC);
    _exit(STORE_EXIT_PANIC);
}

static void panic_watch(uv_loop_t *loop)
{
    uv_async_init(loop, &panic_async, panic_cb);
    uv_unref((uv_handle_t *)&panic_async); /* the loop ends without it */
    panic_armed = 1;
    store_db_on_panic(panic_signal);
}

/* After uv_run: no worker is inside Berkeley DB any more. */
static void panic_unwatch(uv_loop_t *loop)
{
    panic_armed = 0;
    uv_close((uv_handle_t *)&panic_async, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

/* ---- signals -------------------------------------------------------------- */

static void store_drained(struct ipc_server *s, void *arg)
{
    struct store *st = arg;

    if (!store_conn_server_gone(st, s))
        return;
    /* Both sockets are closed: uv_run returns once the work in flight is done. */
    store_repl_close(st);
    uv_close((uv_handle_t *)&st->sig_term, NULL);
    uv_close((uv_handle_t *)&st->sig_int, NULL);
    uv_close((uv_handle_t *)&st->sig_hup, NULL);
}

/* A stop answers what it took (a commit in flight gets its SUBMITTED, an update its OK, so no
 * client repeats what was done) and takes nothing more; a second signal, or the grace running
 * out, closes what is left. */
static void store_stop(struct store *st)
{
    if (st->stopping) {
        log_notice("stopping: signalled again; closing every connection now");
        if (st->server)
            ipc_server_close(st->server);
        if (st->submit_server)
            ipc_server_close(st->submit_server);
        return;
    }
    st->stopping = 1;
    store_repl_stop(st);
    log_notice("stopping: closing the socket and %zu connections, once the %zu requests in "
               "flight are answered",
               ipc_server_count(st->server) + ipc_server_count(st->submit_server),
               ipc_server_busy(st->server) + ipc_server_busy(st->submit_server));
    uv_close((uv_handle_t *)&st->checkpoint_timer, NULL);
    uv_close((uv_handle_t *)&st->sweep_timer, NULL);
    ipc_server_drain(st->server, IPC_SERVER_STOP_GRACE_MS, store_drained, st);
    ipc_server_drain(st->submit_server, IPC_SERVER_STOP_GRACE_MS, store_drained, st);
}

/* SIGHUP: a bad new config leaves the old one in force. */
static void store_reload(struct store *st)
{
    struct sg_config *n;
    char changed[512];

    /* A worker opens the databases with the config in force: it stays until that is done. */
    if (st->role == STORE_ROLE_PREPARING || st->role == STORE_ROLE_DEMOTED) {
        log_warn("reload: not now, this site is taking up or giving up mastership; signal "
                 "again once it serves or has restarted");
        return;
    }
    if (!(n = daemon_reload(&st->opts)))
        return;
    if (strcmp(config_store_dir(n), config_store_dir(st->cfg)) != 0 ||
        strcmp(config_socket_dir(n), config_socket_dir(st->cfg)) != 0 ||
        n->store.cache_size != st->cfg->store.cache_size ||
        n->store.worker_threads != st->cfg->store.worker_threads)
        log_warn("reload: changes of db_dir, socket_dir, cache_size or worker_threads take "
                 "effect at the next start");
    if (config_changed(st->cfg, n,
                       "store.replication,store.repl_site,store.repl_group,store.repl_ipc,"
                       "store.repl_create_group,store.repl_priority,"
                       "store.repl_ack_timeout,store.repl_heartbeat,"
                       "store.repl_election_timeout",
                       NULL, changed, sizeof(changed)))
        log_warn("reload: changes of %s take effect at the next start", changed);
    log_set_level(n->global.log_level);
    config_free(st->cfg);
    st->cfg = n;
    uv_timer_set_repeat(&st->checkpoint_timer, (uint64_t)n->store.checkpoint_interval * 1000);
    log_notice("reloaded config from %s", n->source);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    if (signum == SIGHUP) {
        daemon_notify_reloading();
        store_reload(&the_store);
        daemon_notify_reloaded();
    } else {
        daemon_notify_stopping();
        store_stop(&the_store);
    }
}

/* ---- start-up ------------------------------------------------------------- */

/* Spill files are unlinked as soon as they are made; a crash between the
 * two can leave one behind, which holds nothing committed. */
static void store_sweep_staging(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];

    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "spill.", 6) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (unlink(path) == 0)
            log_notice("removed leftover staging file %s", path);
    }
    if (d)
        closedir(d);
}

static void store_prepare_dirs(struct store *st)
{
    const char *sd = config_socket_dir(st->cfg);

    snprintf(st->tmp_dir, sizeof(st->tmp_dir), "%s/staging", config_store_dir(st->cfg));
    if (mkdir(st->tmp_dir, 0700) < 0 && errno != EEXIST)
        log_fatal("%s: cannot create: %s", st->tmp_dir, strerror(errno));
    store_sweep_staging(st->tmp_dir);
    if (config_socket_path(st->cfg, "store", st->socket_path, sizeof(st->socket_path)) < 0 ||
        config_socket_path(st->cfg, IPC_SOCKET_SUBMIT, st->submit_socket_path,
                           sizeof(st->submit_socket_path)) < 0)
        log_fatal("%s: socket path too long for a Unix socket", sd);
}

/* As root, before the drop: the store directory (and what an earlier run as
 * root left in it) becomes the store user's alone, and the socket directory
 * the store user's, so it can create its sockets there. */
static void store_take_dirs(struct store *st)
{
    const struct priv_user *u = &st->opts.ids.user[PRIV_ROLE_STORE];
    char why[1024];

    if (st->opts.drop &&
        (priv_own_dir(config_store_dir(st->cfg), u->uid, u->gid, 0700, why, sizeof(why)) < 0 ||
         priv_own_entries(config_store_dir(st->cfg), u->uid, u->gid, why, sizeof(why)) < 0))
        log_fatal("store directory %s", why);
    daemon_socket_dir(&st->opts, st->cfg);
}

static void store_start_handles(struct store *st)
{
    uint64_t every = (uint64_t)st->cfg->store.checkpoint_interval * 1000;

    uv_timer_init(st->loop, &st->checkpoint_timer);
    uv_timer_start(&st->checkpoint_timer, checkpoint_timer_cb, every, every);
    uv_timer_init(st->loop, &st->sweep_timer);
    uv_timer_start(&st->sweep_timer, sweep_timer_cb, 1000, 1000);
    uv_signal_init(st->loop, &st->sig_term);
    uv_signal_start(&st->sig_term, signal_cb, SIGTERM);
    uv_signal_init(st->loop, &st->sig_int);
    uv_signal_start(&st->sig_int, signal_cb, SIGINT);
    uv_signal_init(st->loop, &st->sig_hup);
    uv_signal_start(&st->sig_hup, signal_cb, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
}

/* A single store: everything opened and adopted before the socket opens. */
static void store_open_single(struct store *st)
{
    char err[1024];

    if (store_db_open(&st->db, st->cfg, err, sizeof(err)) < 0)
        log_fatal("%s", err);
    log_notice("store %s opened (recovery done), generation %llu, config %s",
               config_store_dir(st->cfg), (unsigned long long)st->db.generation, st->cfg->source);
    qid_alloc_init(&st->qids,
                   st->db.last_qid > st->db.generation ? st->db.last_qid : st->db.generation);
    if (store_adopt_all(st) < 0)
        log_fatal("cannot start without the re-enumeration of the store");
    st->role = STORE_ROLE_MASTER;
}

static int store_run(struct store *st)
{
    char err[1024], threads[16];

    daemon_detach(&st->opts, st->cfg);
    /* The worker pool runs every blocking BDB call; size it before first use. */
    snprintf(threads, sizeof(threads), "%lld", st->cfg->store.worker_threads);
    setenv("UV_THREADPOOL_SIZE", threads, 1);
    store_work_bulk_init(&st->bulk, st->cfg->store.worker_threads);
    st->loop = uv_default_loop();
    panic_watch(st->loop);
    st->started_us = now_us();
    store_take_dirs(st);
    daemon_drop_privileges(&st->opts);
    if (!st->cfg->store.replication)
        store_open_single(st);
    else if (store_repl_open(st, err, sizeof(err)) < 0)
        log_fatal("%s", err);
    store_prepare_dirs(st);
    store_server_start(st);
    store_start_handles(st);
    /* Replicated: the socket refuses clients until this site is master and has adopted all. */
    if (st->repl && store_repl_start(st, err, sizeof(err)) < 0)
        log_fatal("%s", err);
    log_notice("ready on %s%s", st->socket_path, st->repl ? " (serving once master)" : "");
    daemon_notify_ready();
    uv_run(st->loop, UV_RUN_DEFAULT);
    panic_unwatch(st->loop);
    store_db_close(&st->db);
    log_notice("stopped");
    config_free(st->cfg);
    uv_loop_close(st->loop);
    return 0;
}

int main(int argc, char **argv)
{
    the_store.opts.program = "spoolgate-store";
    the_store.opts.role = PRIV_ROLE_STORE;
    the_store.opts.reuse_malloc = 1;
    the_store.opts.check_files = store_repl_conf_check;
    the_store.cfg = daemon_init(argc, argv, &the_store.opts);
    return store_run(&the_store);
}
