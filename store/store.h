/* store.h - spoolgate-store's daemon-wide state shared by its modules. */
#ifndef SPOOLGATE_STORE_H
#define SPOOLGATE_STORE_H

#include <limits.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "ipc_tls_conf.h"
#include "qid.h"
#include "store_db.h"
#include "store_role.h"
#include "store_work.h"

struct store_conn;
struct ipc_server;

#define STORE_EXIT_PANIC 75   /* the environment failed (needs recovery): start again */
#define STORE_EXIT_DEMOTED 76 /* replicated: no longer master: start again as a replica */
struct store_repl;

struct store {
    uv_loop_t *loop;
    struct sg_config *cfg;
    struct daemon_opts opts; /* program, -c, -f */
    struct store_db db;
    struct qid_alloc qids;
    struct ipc_server *server;        /* the socket and its connections */
    struct ipc_server *submit_server; /* the submission-only socket any local user may use */
    struct ipc_tls_peers tls_peers;   /* [store] ipc_tls_peers: who may use ipc_listen */
    uv_timer_t checkpoint_timer;
    uv_timer_t sweep_timer; /* body databases: store_db_body_sweep */
    uv_signal_t sig_term, sig_int, sig_hup;
    int checkpoint_running;
    int sweep_running;
    uint64_t started_us;
    uint64_t adopted;  /* messages re-stamped at this start */
    uint64_t accepted; /* connections accepted since the start (metrics) */
    struct ipc_metric_item reported[IPC_REPORT_MAX]; /* the daemons' own counters (REPORT) */
    size_t nreported;
    int stopping;
    enum store_role role;        /* STORE_ROLE_MASTER when not replicated */
    struct store_repl *repl;     /* store_repl.c's; NULL when not replicated */
    size_t nsubmitters;          /* connections that may only submit (store_conn.c) */
    uint64_t staged;             /* body octets staged by every submission in progress */
    struct store_work_bulk bulk; /* store_work.c: commits and spills in the pool at once */
    char socket_path[108];
    char submit_socket_path[108];
    char tmp_dir[PATH_MAX]; /* spill files of submissions in progress */
};

/* store_adopt.c: the start-up re-enumeration (before the socket opens). */
int store_adopt_all(struct store *st);

/* store_repl.c: a replicated store ([store] replication).  conf_check for --check-config;
 * open parses the group and opens the environment; start (the loop running) joins the group;
 * close lets the loop end; stop is a signal's.  refusal: why a client is refused while this
 * site is not master (naming the master when it is known). */
int store_repl_conf_check(const struct sg_config *c, char *why, size_t whysz);
int store_repl_open(struct store *st, char *err, size_t errsz);
int store_repl_start(struct store *st, char *err, size_t errsz);
void store_repl_close(struct store *st);
void store_repl_stop(struct store *st);
void store_repl_refusal(const struct store *st, char *buf, size_t bufsz);
/* This site's name, and the master's name and store address (repl_ipc) as far as known. */
void store_repl_role(const struct store *st, struct ipc_role *ro);

/* store_conn.c: listen on socket_path (fatal if a live store answers there). */
void store_server_start(struct store *st);
/* What the hellos offer: everything and the generation as master, only "admin" (spoolctl
 * repl) otherwise, so that every other client refuses this site and tries its next address. */
void store_conn_offer(struct store *st, int master);
/* Tell every client (and each new one after its hello) this store's role and the master. */
void store_conn_announce(struct store *st);
/* A drained server s is gone (its pointer cleared): 1 when both servers are. */
int store_conn_server_gone(struct store *st, struct ipc_server *s);
/* Tell every subscribed connection about an event. */
void store_broadcast_event(struct store *st, uint32_t kind, const char *qid);
/* COMMITTED of qid; subscribers with messages also get msg: its ENVELOPE, RCPT*, END frames. */
struct sg_buf;
void store_broadcast_committed(struct store *st, const char *qid, const struct sg_buf *msg);

#endif
