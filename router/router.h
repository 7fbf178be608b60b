/* router.h - spoolgate-router: the daemon, its messages, jobs, destinations, and the interfaces between its files. */
#ifndef SPOOLGATE_ROUTER_H
#define SPOOLGATE_ROUTER_H

#include <stdint.h>
#include <uv.h>

#include "alias_map.h"
#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "ipc_link.h"
#include "ipc_uv.h"
#include "store_client.h"
#include "tls_bio.h"
#include "transport_map.h"
#include "router_secrets.h"

#define ROUTER_PROGRAM "spoolgate-router"
#define ROUTER_LEASE_US (10ull * 60 * 1000000) /* an attempt's claim on a recipient */
#define ROUTER_MAX_HOSTS 16
#define ROUTER_READ_LINKS 4 /* store connections for envelope reads */

struct router;
struct dest;

/* Where a recipient goes, computed afresh at every attempt. */
enum route_kind { ROUTE_SMTP, ROUTE_GATEWAY, ROUTE_ERROR, ROUTE_ALIAS };

struct route {
    enum route_kind kind;
    char key[320]; /* destination key: recipients with equal keys share connections */
    char desc[IPC_ROUTE_MAX +
              1];   /* shown in spoolctl: smtp:[h]:p, mx:domain, relay:..., gateway, error, alias */
    char host[256]; /* SMTP: host name/address, or the domain for MX */
    unsigned port;
    int mx;        /* look up MX of host */
    int lmtp;      /* RFC 2033: LHLO, and one reply per accepted recipient after the dot */
    int unix_sock; /* LMTP over the Unix socket whose path is host */
    enum tm_tls tls;
    char auth[TM_AUTH_NAME_MAX + 1]; /* SMTP: AUTH with these credentials (router_secrets.h) */
    char status[16];                 /* ERROR */
    char text[256];                  /* ERROR */
};

/* The outcome of one attempt for one recipient. */
/* OUT_PAUSED: not tried, its destination paused by an administrator (no attempt counted). */
enum outcome { OUT_NONE, OUT_DELIVERED, OUT_DEFERRED, OUT_FAILED, OUT_PAUSED };

struct rcpt_work {
    struct ipc_rcpt r; /* as read from the store */
    int due;           /* part of this round */
    struct route route;
    enum outcome outcome;
    char status[16];               /* enhanced status of the outcome */
    char reply[IPC_REPLY_MAX + 1]; /* remote reply or our reason */
    char remote[320];              /* host that answered, "" if none */
    int remote_reply;              /* reply came from a remote server */
    int in_job;                    /* taken into a job this round */
    int share_attempt;             /* deferred by the gateway: a failed share access */
    int bounce_expired;            /* a held undeliverable DSN whose time is up */
    /* for the log's delays: taken off its next hop's queue, MAIL sent (0: not so far) */
    uint64_t t_start_us, t_send_us;
};

/* A message being worked on: envelope, recipients, and the jobs out. */
struct msg {
    struct router *r;
    struct ipc_envelope env;
    struct rcpt_work *rcpts;
    uint32_t nrcpt;
    unsigned jobs_out;    /* jobs not finished */
    unsigned updates_out; /* store updates not answered */
    int again;            /* new work arrived while busy: look again when done */
    int again_force;      /* ... forced so (enum router_force) */
    int dsn_busy;
    int unrecorded; /* an update of this round did not reach the store */
    /* the gateway's deliveries of this round that ended final: their index lists, each ending
     * in NUL; once all updates are recorded the gateway hears GW_RECORDED for each */
    struct sg_buf gw_final;
    uint32_t nalloc;    /* recipients allocated: what counts against active_limit */
    uint64_t t_read_us; /* categorized in this round (wall clock, for the log's delays) */
    struct msg *hnext;  /* in the router's hash table */
};

/* How hard a look at a message forces its recipients: ALL at the router's
 * start (everything is re-categorized), ACTIVE when the store came back
 * (attempts cut off by the outage), NONE: only what is due. */
enum router_force { ROUTER_FORCE_NONE, ROUTER_FORCE_ACTIVE, ROUTER_FORCE_ALL };

/* A walk over the store's messages in pages, as room in the active set allows. */
enum sweep_kind { SWEEP_ALL, SWEEP_GATEWAY, SWEEP_COUNT };
struct sweep {
    enum sweep_kind kind;
    int active, busy; /* walking; a page is out */
    int force;
    int restart, restart_force; /* asked for again while a page was out */
    char after[IPC_QID_MAX + 1];
    uint64_t messages; /* taken so far */
};

/* Recipients of one message for one destination. */
struct job {
    struct msg *m;
    uint32_t *idx; /* indexes into m->rcpts */
    unsigned n;
    struct job *next;
};

/* A next hop: its queue of jobs, its connections and how far it is trusted. */
struct dest {
    struct router *r;
    struct route route; /* as computed for the first job */
    struct job *head, *tail;
    unsigned queued;
    unsigned conns;
    unsigned window; /* connections it may have now: grows with deliveries, 1 after a failure */
    /* down: a connection or greeting failed; until then everything for it is deferred */
    uint64_t down_until_us;
    char down_status[16];
    char down_why[IPC_REPLY_MAX + 1];
    uint64_t down_deferred; /* recipients deferred while down, for the log */
    struct dest *next;      /* in the router's hash table */
    struct dest *wnext;     /* in the line for a connection slot */
    int waiting;
};

struct router {
    uv_loop_t *loop;
    struct sg_config *cfg;
    struct daemon_opts opts;
    char hostname[256];
    struct store_client sc; /* where the store is */
    char gateway_socket[108];
    struct transport_map tmap;
    struct router_secrets secrets; /* router.smarthost_secrets, for auth=NAME */
    struct alias_map aliases;      /* router.alias_map: recipients expanded before routing */
    struct alias_map canonical;    /* router.sender_canonical_map: senders rewritten going out */
    struct job *alias_head, *alias_tail; /* alias jobs waiting for one of ALIAS_JOBS_MAX */
    unsigned alias_running;
    int alias_starting; /* in alias_start_waiting (a job that ends at once does not recurse) */
    tls_ctx_t *tls_client;
    /* store links */
    struct sc_conn *work; /* requests and their answers (updates, pages, due scans: in order) */
    /* READ_ENVELOPE only, round robin: the store answers a connection's requests one at a
     * time, so envelopes read on one connection are bound by its round trips */
    struct sc_conn *reads[ROUTER_READ_LINKS];
    unsigned next_read;
    struct sc_conn *events; /* commit and requeue notifications */
    unsigned links_ready;   /* connections that said hello (router_store.c) */
    int store_up;
    uint64_t generation;
    char store_why[IPC_REPLY_MAX + 64];
    uv_timer_t store_retry;
    uv_timer_t due_timer;
    int due_running;
    /* work: the messages in memory, found by queue id */
    struct msg **msg_tab;
    size_t msg_tab_size, nmsgs;
    uint64_t active_rcpts; /* their recipients, against router.active_limit */
    struct sweep sweeps[SWEEP_COUNT];
    int due_more;        /* work waits in the store for room: another due scan then */
    unsigned reads_out;  /* READ_ENVELOPEs not answered yet (and a message after COMMITTED) */
    int events_messages; /* the events link brings each new message with its COMMITTED */
    int event_open;      /* a COMMITTED came: its ENVELOPE, RCPT*, END are coming */
    void *event_read;    /* and are read into this message (NULL: skipped) */
    uv_idle_t pump_idle;
    struct dest **dest_tab; /* next hops by key */
    size_t ndests;
    struct dest *waiting; /* next hops with work and no connection, waiting for a slot */
    unsigned nconns;
    struct smtp_conn *conns; /* every outbound connection */
    uv_timer_t stop_timer;   /* a stop's steps (router_main.c) */
    enum { ROUTER_STOP_DELIVERING = 1, ROUTER_STOP_RECORDING } stop_phase;
    uint64_t stop_since; /* uv_now when the step began */
    /* the link to spoolgate-gateway (postoffice routes); NULL without a postoffice */
    struct ipc_link *gateway;
    /* recipient updates gathered for the next batch (router_update.c) */
    struct update_batch *upd;
    uv_idle_t upd_idle;
    unsigned upd_in_flight; /* UPDATE_BATCHes sent and not answered (router_update.c) */
    uint64_t updates_lost;  /* not recorded: store down or stopping */
    struct sg_buf kept;     /* final outcomes among them, sent again when the store is back */
    uint32_t kept_count;
    int started; /* the first store link of this process came up */
    /* destinations paused by an administrator, as the store keeps them (router_pause.c) */
    int paused_all;
    char (*paused)[IPC_ADDR_MAX + 1];
    size_t npaused;
    /* own counters, reported to the store (router_report.c) */
    uint64_t share_failures; /* postoffice recipients the share failed for */
    uint64_t report_sent;
    int report_busy;
    int stopping;
};

/* ---- router_store.c: the store links ---------------------------------------- */
/* A request on the work connection.  encode appends its frame(s) with the
 * given request id; answer gets every frame of the answer and returns 1
 * when that frame ends it.  fail is called instead when the link drops. */
typedef int (*store_encode_fn)(struct sg_buf *b, uint32_t request_id, void *arg);
typedef int (*store_answer_fn)(struct router *r, struct ipc_reader *rd, void *arg);
typedef void (*store_fail_fn)(struct router *r, const char *why, void *arg);
int router_store_request(struct router *r, store_encode_fn encode, store_answer_fn answer,
                         store_fail_fn fail, void *arg);
/* The same on one of the read connections: for a request no update sent before it must
 * precede (a message's envelope). */
int router_store_read_request(struct router *r, store_encode_fn encode, store_answer_fn answer,
                              store_fail_fn fail, void *arg);
void router_store_links_start(struct router *r);
void router_store_links_stop(struct router *r);

/* ---- router_pause.c: destinations paused by an administrator ------------------- */
/* Ask the store for the paused destinations; start_queue: then start the queue (link-up). */
void router_pause_fetch(struct router *r, int start_queue);
int router_pause_is(const struct router *r, const char *addr); /* addr's domain is paused */
void router_pause_free(struct router *r);

/* ---- router_report.c: the router's counters, for spoolctl metrics -------------- */
void router_report_send(struct router *r); /* the totals now (link-up) */
void router_report_share_failure(struct router *r);

/* ---- router_update.c: recipient updates, batched ------------------------------- */
typedef void (*router_update_done_fn)(struct router *r, int ok, void *arg);
void router_update_init(struct router *r);
/* Record one recipient's new state.  It goes out with the others of this
 * loop turn in one UPDATE_BATCH (one store transaction); done (may be NULL)
 * hears whether the batch was recorded.  A failed batch is logged once and
 * the leases bring its recipients back. */
void router_update_rcpt(struct router *r, const struct ipc_rcpt_update *u,
                        router_update_done_fn done, void *arg);
void router_update_flush(struct router *r); /* send what is gathered now */
/* The store is back: the final outcomes it missed go first (the work link answers in
 * order: what is sent after them is answered after them); 1 when they went. */
int router_update_replay(struct router *r);
void router_update_close(struct router *r);

/* ---- router_msgtab.c: the messages in memory ------------------------------------ */
int router_msgtab_init(struct router *r);
void router_msgtab_free(struct router *r);
struct msg *router_msg_find(struct router *r, const char *qid);
struct msg *router_msg_new(struct router *r, const char *qid);
/* Room for m's n recipients, counted against active_limit; 0 or -1. */
int router_msg_rcpts(struct msg *m, uint32_t n);
void router_msg_free(struct msg *m);          /* and the pump runs: room freed */
uint64_t router_room(const struct router *r); /* recipients that may still come in */

/* ---- router_queue.c: categorizer and queue manager ------------------------ */
/* Look at one message now (1), or mark it to be looked at again or leave it
 * to the due scan when there is no room (0). */
int router_queue_message(struct router *r, const char *qid);
/* A COMMITTED event of a link subscribed with messages: its frames follow. */
void router_queue_committed(struct router *r, const char *qid);
/* One of those frames (ENVELOPE, RCPT*, END); -1: not in order (a protocol error). */
int router_queue_committed_frame(struct router *r, struct ipc_reader *rd);
/* The events link is gone: a message half received is dropped (the due scan brings it). */
void router_queue_committed_lost(struct router *r);
/* m was read whole: route what is due (as forced) and send it out. */
void router_queue_categorize(struct msg *m, int force);
void router_queue_job_done(struct job *j); /* every recipient of j has an outcome */
/* Every recipient of j without an outcome is deferred with status and reply. */
void router_job_defer(struct job *j, const char *status, const char *reply);

/* ---- router_sweep.c: filling the active set ---------------------------------- */
void router_queue_init(struct router *r);
void router_queue_start(struct router *r); /* store link up: re-categorize everything */
void router_queue_due_scan(struct router *r);
/* The postoffice is reachable (again): its deferred recipients are tried now. */
void router_queue_gateway_back(struct router *r);
void router_sweep_start(struct router *r, enum sweep_kind kind, int force);
void router_pump_soon(struct router *r); /* room may have freed: fill it on the next turn */
void router_queue_store_lost(struct router *r);
void router_queue_stop(struct router *r);

/* ---- router_alias.c: recipients the alias map expands ------------------------------ */
/* addr of m goes through the alias map (a message the map made is not expanded again). */
int router_alias_applies(const struct router *r, const struct msg *m, const char *addr);
void router_alias_route(struct route *out);
/* Queue the message again for what j's recipients expand to; each then has its outcome. */
void router_alias_deliver(struct router *r, struct job *j);
/* Stopping: the jobs waiting are dropped, their recipients stay active for the next start. */
void router_alias_stop(struct router *r);
/* router.alias_map and router.sender_canonical_map of c: 0, or -1 with why. */
int router_alias_load(const struct sg_config *c, struct alias_map *aliases,
                      struct alias_map *canonical, char *why, size_t whysz);

/* ---- router_route.c ----------------------------------------------------------- */
void router_route_for(struct router *r, const char *addr, struct route *out);
int router_route_load_map(struct router *r, const struct sg_config *c, struct transport_map *out,
                          char *why, size_t whysz);

/* ---- router_dest.c: destinations and connection limits -------------------- */
void router_dest_enqueue(struct router *r, struct job *j, const struct route *route);
/* A connection finished its job and asks for the next one of its dest (NULL: none). */
struct job *router_dest_next_job(struct dest *d);
void router_dest_conn_closed(struct dest *d);
/* A connection or greeting failed: d is down, its queue and what comes for it
 * deferred with why until retry_first has passed; then one connection probes. */
void router_dest_down(struct dest *d, const char *status, const char *why);
void router_dest_up(struct dest *d);        /* a greeting came: the next hop is back */
void router_dest_delivered(struct dest *d); /* a message went: one more connection allowed */
/* An administrator's requeue or a reload: no next hop is taken as down any more. */
void router_dest_revive_all(struct router *r);
void router_dest_stop(struct router *r);
void router_dest_free_all(struct router *r);

/* ---- router_smtp.c: the outbound SMTP client -------------------------------- */
/* Start a connection for d with its first job; it takes further jobs of d
 * as long as there are any. */
void router_smtp_start(struct dest *d, struct job *first);
/* Stopping: close every connection not sending a message (deadline: every one). */
void router_smtp_stop_all(struct router *r, int deadline);

/* ---- router_dns.c: lookups on worker threads ------------------------------- */
struct dns_target {
    char name[256];
    char addr[64]; /* numeric address */
    int family;
    unsigned pref;
};

struct dns_result {
    int status; /* 0 ok, else an outcome: OUT_DEFERRED or OUT_FAILED */
    char enhanced[16];
    char why[256];
    struct dns_target t[ROUTER_MAX_HOSTS];
    unsigned n;
};

/* Resolve a route's host (MX when mx, else A/AAAA) on a worker thread; done runs on the loop. */
int router_dns_resolve(struct router *r, const char *host, int mx,
                       void (*done)(struct dns_result *res, void *arg), void *arg);

/* ---- router_gateway.c: postoffice recipients to spoolgate-gateway ----------- */
void router_gw_deliver(struct router *r, struct job *j);
void router_gw_link_frame(struct ipc_link *l, struct ipc_reader *rd, void *arg);
void router_gw_link_down(struct ipc_link *l, const char *why, void *arg);
void router_gw_link_up(struct ipc_link *l, void *arg);
unsigned router_gw_in_flight(void); /* GW_DELIVERs not answered yet */
void router_gw_stop(void);          /* a stop: the jobs waiting for their turn are dropped */
void router_gw_check_answers(struct router *r); /* a delivery unanswered too long: link reset */
void router_gw_recorded(struct router *r, struct msg *m); /* m->gw_final recorded: say so */

/* router_kept.c: final outcomes the store has not recorded, across a stop. */
void router_kept_take_dir(struct router *r); /* <state_dir>/router, before the drop */
void router_kept_load(struct router *r);     /* the last stop's, into r->kept */
void router_kept_save(struct router *r);     /* at the exit: r->kept into the file (freed) */
void router_kept_done(
    void); /* the store answered them (recorded, or refused and logged): the file goes */

/* ---- router_dsn.c: DSNs ---------------------------------------------------------- */
/* How router_dsn_send_failures ended: the DSN is stored, could not be stored now (store
 * down: try again), or was refused for good (no DSN can ever be sent for it). */
enum router_dsn_result { ROUTER_DSN_SENT, ROUTER_DSN_RETRY, ROUTER_DSN_REFUSED };
/* Send the failure DSN for the recipients of m whose outcome is FAILED (and
 * whose NOTIFY asks for one); then done(m, enum router_dsn_result, why or NULL). */
void router_dsn_send_failures(struct msg *m,
                              void (*done)(struct msg *m, int result, const char *why));
/* A delay warning for recipient i (once: the store dedups by origin). */
void router_dsn_send_delay(struct msg *m, uint32_t i);

/* ---- router_log.c: the maillog line per recipient outcome --------------------------- */
enum router_mark { ROUTER_MARK_START, ROUTER_MARK_SEND };
/* Every recipient of j: taken off its queue (START) or its MAIL command sent (SEND) now. */
void router_log_mark(struct job *j, enum router_mark mark, uint64_t now);
/* "QID: to=<a>, relay=h[ip]:port, delay=S, delays=a/b/c/d, dsn=X.Y.Z, status=sent (reply)";
 * nothing for an outcome that is no attempt (paused). */
void router_log_outcome(const struct msg *m, const struct rcpt_work *w, uint64_t now);

/* ---- router_reason.c, router_bounce.c: reasons; undeliverable DSNs ------------------- */
int router_sender_null(const char *sender); /* "" (or "<>"): no DSN can go to it */
/* rc is held with a time (an undeliverable DSN) and that time has come. */
int router_bounce_expired(const struct ipc_rcpt *rc, uint64_t now);
/* A DSN's recipient failed for good: u holds it until bounce_queue_lifetime with the
 * reason, and the postmaster is told once. */
void router_bounce_hold(struct msg *m, const struct rcpt_work *w, struct ipc_rcpt_update *u);
/* w's hold has run out: it fails (final), and so the message is removed. */
void router_bounce_expire(struct msg *m, struct rcpt_work *w);
void router_bounce_expired_log(const struct msg *m, const struct rcpt_work *w);
/* The reply an attempt's claim leaves in the store (spoolctl list shows it while the
 * recipient is active): until when its lease runs, and the last reply before it. */
void router_claim_reply(const char *last, uint64_t lease_end_us, char *out, size_t outsz);
const char *router_iso_utc(uint64_t us, char *buf, size_t bufsz); /* 2026-12-02T21:09:31Z */
/* "5d 0h", "2h 3m", "0m 9s" */
const char *router_duration_text(uint64_t us, char *buf, size_t bufsz);

#endif
