/* smtpd.h - spoolgate-smtpd: the daemon, its sessions, and the interfaces between its files. */

#ifndef SPOOLGATE_SMTPD_H
#define SPOOLGATE_SMTPD_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "ipc.h"
#include "ipc_link.h"
#include "ipc_uv.h"
#include "store_client.h"
#include "smtp_body.h"
#include "smtp_cidr.h"
#include "smtp_cmd.h"
#include "smtpd_rates.h"
#include "transport_map.h"

#define SMTPD_PROGRAM "spoolgate-smtpd"
#define SMTPD_CMD_LINE_MAX 512           /* RFC 5321 4.5.3.1.4, incl. CRLF */
#define SMTPD_TEXT_LINE_MAX 1000         /* RFC 5321 4.5.3.1.6, incl. CRLF */
#define SMTPD_CHUNK 65536                /* body octets per frame to the store */
#define SMTPD_STORE_BACKLOG (256 * 1024) /* stop reading the client above this */
#define SMTPD_OUT_BACKLOG (64 * 1024)    /* stop reading when replies pile up */
#define SMTPD_MAX_NETWORKS SMTP_CIDR_LIST_MAX
/* A store_code of smtpd's own: no store connection came free within store_wait_timeout. */
#define SMTPD_STORE_BUSY 0x10000u

struct tls_conn;
struct smtpd_listener;

/* Session states; smtpd_session_enter() is the only place they change. */
enum session_state {
    SS_GREETING,    /* greeting being decided */
    SS_INIT,        /* before EHLO/HELO */
    SS_READY,       /* after EHLO/HELO, no transaction */
    SS_MAIL,        /* MAIL accepted, no recipient yet */
    SS_RCPT,        /* at least one recipient */
    SS_RCPT_LOOKUP, /* waiting for the postoffice directory */
    SS_DATA_OPEN,   /* DATA/BDAT: waiting for the store to start the submission */
    SS_DATA,        /* reading the DATA body */
    SS_BDAT,        /* reading the octets of a BDAT chunk */
    SS_COMMIT,      /* waiting for the store to commit */
    SS_AUTH,        /* waiting for an AUTH continuation line */
    SS_AUTH_CHECK,  /* password being checked on a worker thread */
    SS_TLS,         /* TLS handshake under way */
    SS_CLOSING,     /* reply flushed, then close */
    SS_COUNT
};

struct session_rcpt {
    char addr[SMTP_PATH_MAX + 1];
    char orcpt[SMTP_ORCPT_MAX + 1];
    unsigned notify;
};

/* The transaction: MAIL to the end of data. */
struct transaction {
    struct smtp_mail_args mail;
    struct session_rcpt *rcpts;
    unsigned nrcpt;
    size_t rcpt_cap;
    int used_bdat;         /* BDAT seen: DATA no longer allowed */
    uint64_t bdat_left;    /* octets of the current chunk still to read */
    uint64_t bdat_size;    /* octets of the current chunk */
    int bdat_last;         /* the current chunk is the last */
    int bdat_discard;      /* chunk refused: octets are read and dropped (2: no MAIL) */
    struct sc_conn *store; /* the submission connection, from the pool */
    int store_ready;       /* it said hello (it failed before: the next address is tried) */
    unsigned store_tries;  /* new store connections that failed before their hellos */
    int deferred;          /* DATA: 354 sent, body gathered before the submission opens */
    int end_pending;       /* deferred DATA ended: commit once the submission is open */
    char qid[IPC_QID_MAX + 1];
    struct body_filter filter;
    uint8_t *chunk; /* body octets not yet sent to the store */
    size_t chunk_len;
    uint64_t size; /* octets sent to the store */
    int too_big;
    int store_failed; /* the store connection failed mid-way */
    char store_error[256];
    uint32_t store_code; /* IPC error code when it failed */
};

struct session {
    struct smtpd *d;
    uv_tcp_t tcp;
    uv_timer_t timer;
    int handles_open; /* tcp + timer not yet closed */
    int refs;         /* asynchronous work holding the session */
    enum session_state state;
    uint64_t id;    /* for logs */
    int submission; /* accepted on a submission listener */
    char peer_ip[48];
    struct sockaddr_storage peer;
    char helo[256];
    int esmtp;
    int relay_ok;        /* client in mynetworks */
    char auth_user[128]; /* "" until authenticated */
    char auth_mech;      /* 'P' or 'L' while SS_AUTH */
    int auth_step;
    unsigned auth_failures; /* failed AUTH exchanges in this session */
    char auth_login_user[256];
    unsigned errors;
    unsigned commands;
    int reading; /* uv_read_start active */
    int in_write_backlog;
    int counted;    /* in d->clients (clients outside mynetworks) */
    int processing; /* inside session_process (no re-entry) */
    /* Total deadlines (loop ms), not idle timers: a command line must be whole
     * within command_timeout of its first wait; DATA/BDAT within data_timeout
     * plus what data_min_rate allows for the octets received. */
    uint64_t wait_started_ms; /* 0: no command being waited for */
    uint64_t data_started_ms; /* 0: not in DATA/BDAT */
    uint64_t data_octets;     /* received since data_started_ms */
    struct tls_conn *tls;     /* NULL before STARTTLS */
    char tls_info[96];        /* "TLSv1.3 with cipher ..." once active */
    /* input not yet processed (plaintext) */
    struct sg_buf in;
    size_t in_off;     /* in.data[0..in_off) is handled */
    int skipping_line; /* discarding an overlong command line */
    /* replies not yet written */
    struct sg_buf out;
    size_t write_pending;   /* octets in uv_write not yet done */
    struct transaction *tx; /* NULL outside a transaction */
    uint32_t dir_request;   /* pending directory lookup */
    struct smtp_rcpt_args pending_rcpt;
    /* in the store pool's line of sessions waiting for a connection (smtpd_store.c) */
    struct session *store_wait_next, *store_wait_prev;
    int store_waiting;
    uint64_t store_wait_since; /* loop ms it joined the line */
};

/* The store as smtpd sees it: a kept-up monitor link, and idle submission connections. */
struct smtpd_store {
    struct ipc_link *monitor; /* up: mail can be taken */
    struct sc_conn **idle;    /* pooled submission connections */
    unsigned nidle;
    size_t idle_cap;
    unsigned nbusy; /* connections a session holds (or connects for); + nidle <= the bound */
    struct session *wait_head, *wait_tail; /* sessions waiting for a connection, first first */
    unsigned nwaiting;
    uv_timer_t kick;   /* hands freed connections to waiting sessions from the loop */
    uv_timer_t expire; /* the first in line waited store_wait_timeout: 451 4.3.2 */
};

/* The gateway's postoffice directory. */
struct smtpd_dir {
    struct ipc_link *link;
};

struct smtpd {
    uv_loop_t *loop;
    struct sg_config *cfg;
    const char *config_path;
    char hostname[256];
    struct store_client sc; /* where the store is */
    char gateway_socket[108];
    struct smtp_cidr networks[SMTPD_MAX_NETWORKS];
    int nnetworks;
    struct smtpd_listener *listeners;
    unsigned nsessions;
    uint64_t next_session_id;
    struct smtpd_store store;
    struct smtpd_dir dir;
    void *tls_ctx;                 /* SSL_CTX *, NULL without a certificate */
    struct smtpd_users *users;     /* NULL without a users file */
    struct transport_map tmap;     /* the router's map: which local recipients have a route */
    struct smtpd_clients *clients; /* sessions per client address */
    struct smtpd_rates *rates;     /* events per client address and interval */
    struct smtpd_pickup *pickup;   /* the local pickup directory (smtpd_pickup.c) */
    int stopping;
    uv_timer_t stop_timer; /* a stop's grace for the sessions (smtpd_main.c) */
};

/* smtpd_clients.c: sessions per client address (a table that holds only addresses with sessions) */
struct smtpd_clients *smtpd_clients_new(void);
void smtpd_clients_free(struct smtpd_clients *t);
/* One more session from ip: how many there are now, 0 when out of memory (not counted). */
unsigned smtpd_clients_add(struct smtpd_clients *t, const char *ip);
void smtpd_clients_remove(struct smtpd_clients *t, const char *ip);
/* 1 when a refusal of ip is to be logged now: at most once a minute per address. */
int smtpd_clients_log_due(struct smtpd_clients *t, const char *ip, uint64_t now_ms);

/* smtpd_session.c */
void smtpd_session_accept(struct smtpd *d, uv_stream_t *server, int submission);
void smtpd_session_enter(struct session *s, enum session_state next);
void smtpd_session_reply(struct session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void smtpd_session_reply_raw(struct session *s, const char *text, size_t len);
/* Reply and count it as an error (closes the session past max_errors). */
void smtpd_session_error(struct session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void smtpd_session_close(struct session *s, const char *why);
/* One more event of kind from s's client (add 0: the count as if one more, not kept): past
 * its smtpd.client_*_rate_limit the client gets 421 4.7.0 naming the limit, logged once per
 * interval, and the session closes; 1 then, else 0.  mynetworks is not limited. */
int smtpd_session_rate_over(struct session *s, enum smtpd_rate_kind kind, int add);
/* One more event of kind from s's client, counted only. */
void smtpd_session_rate_count(struct session *s, enum smtpd_rate_kind kind);
/* Go on with buffered input after an asynchronous step finished. */
void smtpd_session_resume(struct session *s);
void smtpd_session_stop(struct session *s);
void smtpd_session_set_timer(struct session *s, long long seconds);
void smtpd_session_tls_started(struct session *s);
void smtpd_session_discard_input(struct session *s);
void smtpd_session_ref(struct session *s);
void smtpd_session_unref(struct session *s);
int smtpd_session_alive(const struct session *s);

/* smtpd_commands.c */
void smtpd_cmd_dispatch(struct session *s, const char *line, size_t len);
void smtpd_cmd_auth_line(struct session *s, const char *line, size_t len);
void smtpd_transaction_free(struct session *s);
void smtpd_cmd_rcpt_looked_up(struct session *s, uint32_t status);

/* ---- smtpd_log.c: maillog lines -------------------------------------------------- */
/* "NOQUEUE: reject: RCPT from unknown[ip]: 550 5.1.1 <rcpt>: text; from=<> to=<> ..." */
void smtpd_log_reject(const struct session *s, const char *cmd, int code, const char *text,
                      const char *rcpt);
/* "QID: client=unknown[ip]" and "QID: message-id=<...>" once the message is queued. */
void smtpd_log_accepted(const struct session *s, const char *qid, const char *message_id);
void smtpd_session_write_ehlo(struct session *s);

/* smtpd_data.c */
void smtpd_data_begin(struct session *s, int bdat);
/* Feed octets of the body; returns octets consumed. */
size_t smtpd_data_feed(struct session *s, const uint8_t *in, size_t len);
void smtpd_data_abandon(struct session *s);
/* the store pool's events for a session's submission */
void smtpd_data_store_failed(struct session *s, uint32_t code, const char *why);
void smtpd_data_store_drained(struct session *s);

/* smtpd_store.c */
void smtpd_store_start(struct smtpd *d);
/* smtpd_pickup.c: <state_dir>/pickup made (as root: given to uid:gid) before the drop; then
 * files there are submitted while the store is up, removed once it took them. */
void smtpd_pickup_prepare(struct smtpd *d, uid_t uid, gid_t gid);
void smtpd_pickup_start(struct smtpd *d);
void smtpd_pickup_stop(struct smtpd *d);
void smtpd_store_stop(struct smtpd *d);
/* Get a ready submission connection for s: now from the pool (returns it)
 * or later through smtpd_data_store_ready() / smtpd_data_store_failed(). */
void smtpd_store_acquire(struct session *s);
void smtpd_store_release(struct smtpd *d, struct sc_conn *c, int clean);
/* s no longer waits for a connection (closing, or its transaction ended). */
void smtpd_store_cancel(struct session *s);
void smtpd_data_store_ready(struct session *s, struct sc_conn *c);

/* smtpd_dir.c */
void smtpd_dir_start(struct smtpd *d);
void smtpd_dir_stop(struct smtpd *d);
/* Ask for addr; the answer comes to smtpd_cmd_rcpt_looked_up().  Answers at
 * once (IPC_DIR_UNAVAILABLE) when the gateway is not connected. */
void smtpd_dir_lookup(struct session *s, const char *addr);
void smtpd_dir_cancel(struct session *s);

/* smtpd_tls.c */
/* The server context for c's certificate and key into *ctx (NULL without a certificate).  0, or -1 with why. */
int smtpd_tls_ctx_load(const struct cfg_smtpd *c, void **ctx, char *why, size_t whysz);
int smtpd_tls_init(struct smtpd *d, char *why, size_t whysz);
void smtpd_tls_free_ctx(struct smtpd *d);
struct tls_conn *smtpd_tls_conn_new(struct smtpd *d);
void smtpd_tls_conn_free(struct tls_conn *t);
/* Ciphertext from the socket in; plaintext appended to the session input.
 * Returns 1 when the handshake just completed, 0 ok, -1 fatal (why set). */
int smtpd_tls_conn_input(struct session *s, const uint8_t *data, size_t len, char *why,
                         size_t whysz);
/* Plaintext out: encrypted and written.  -1 fatal. */
int smtpd_tls_conn_write(struct session *s, const char *data, size_t len);
/* Ciphertext the TLS engine wants written (handshake, alerts). */
int smtpd_tls_conn_flush(struct session *s);
void smtpd_tls_conn_describe(struct tls_conn *t, char *buf, size_t bufsz);

/* smtpd_auth.c */
struct smtpd_users *smtpd_users_load(const char *path, char *why, size_t whysz);
void smtpd_users_free(struct smtpd_users *u);
/* Decode base64 (strict); returns length or -1. */
int smtpd_auth_base64_decode(const char *in, size_t len, char *out, size_t outsz);
/* Check user/password on a worker thread; calls smtpd_cmd_auth_done(). */
void smtpd_auth_check(struct session *s, const char *user, const char *pass);
void smtpd_cmd_auth_done(struct session *s, int ok, const char *user);

/* smtpd_io.c helpers used by TLS */
int smtpd_session_write_wire(struct session *s, const void *data, size_t len);
int smtpd_session_append_input(struct session *s, const uint8_t *data, size_t len);

#endif
