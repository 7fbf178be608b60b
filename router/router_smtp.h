/* router_smtp.h - private to the outbound SMTP client: one connection, its states, and what its state machine, I/O and body files offer each other. */
#ifndef SPOOLGATE_ROUTER_SMTP_H
#define SPOOLGATE_ROUTER_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "router.h"
#include "mime7.h"
#include "smtp_body.h"
#include "smtp_reply.h"

/* A connection is in exactly one state; router_smtp_enter() is the only way
 * from one to the next, and entering a state does what the state is about. */
enum smtp_state {
    SMTP_INIT,     /* allocated, nothing started */
    SMTP_RESOLVE,  /* DNS lookup of the next hop (MX or A/AAAA) */
    SMTP_CONNECT,  /* TCP connect to dns.t[target]; a failure tries the next target */
    SMTP_GREETING, /* waiting for the 220 */
    SMTP_EHLO,     /* EHLO sent */
    SMTP_HELO,     /* EHLO refused: HELO sent */
    SMTP_STARTTLS, /* STARTTLS sent */
    SMTP_TLS,      /* TLS handshake running (after STARTTLS, or at the connect: tls=implicit) */
    SMTP_AUTH,     /* AUTH sent to a smarthost: its steps in auth_step (router_smtp_auth.c) */
    SMTP_MAIL,     /* MAIL sent (with PIPELINING: every RCPT and DATA too) */
    SMTP_RCPT,     /* waiting for the reply to RCPT number rcpt_pos */
    SMTP_DATA,     /* DATA sent, waiting for the 354 */
    SMTP_BODY,     /* the message streams from the store to the server */
    SMTP_DOT,      /* the end of data sent, waiting for the verdict */
    SMTP_MAIL_REFUSED, /* pipelined MAIL refused: the RCPT and DATA replies still come and are ignored */
    SMTP_LONE_DOT, /* 354 though no recipient was accepted: "." sent, its reply ignored */
    SMTP_RSET,     /* RSET sent before the next transaction */
    SMTP_QUIT,     /* QUIT sent */
    SMTP_CLOSED,   /* handles closing; the struct goes with its last reference */
};

struct sc_conn;

/* Where an AUTH exchange is (RFC 4954): what the next reply answers. */
enum smtp_auth_step {
    AUTH_NONE,       /* not started */
    AUTH_PLAIN_SENT, /* AUTH PLAIN with the initial response */
    AUTH_PLAIN_ASK,  /* AUTH PLAIN alone (the response would make the line too long): 334 next */
    AUTH_PLAIN_RESP, /* the response to that 334 */
    AUTH_LOGIN_SENT, /* AUTH LOGIN: 334 for the user next */
    AUTH_LOGIN_USER, /* the user sent: 334 for the password next */
    AUTH_LOGIN_PASS, /* the password sent: 235 or a refusal next */
    AUTH_DONE,       /* 235: authenticated for the rest of the connection */
};

/* The message being streamed: dot-stuffing state and the store stream. */
struct smtp_body {
    struct sc_conn *src;     /* the store-client connection reading it; NULL once closed */
    struct smtp_stuff stuff; /* dot-stuffing and long lines broken (common/smtp_body.h) */
    uint8_t tail[2];         /* the last two octets sent: does the message end with CRLF */
    int ended;               /* the store sent all of it */
    struct sg_buf stuffed;   /* a chunk after dot-stuffing (reused) */
    int convert;             /* 8-bit to a server without 8BITMIME: re-encoded first */
    struct mime7 mime;       /* ... by this (mime7.h) */
    struct sg_buf converted; /* a chunk after that (reused) */
};

struct smtp_conn {
    struct router *r;
    struct dest *d;
    struct smtp_conn *cnext, *cprev; /* every connection of the router, for the stop */
    enum smtp_state state;
    int refs; /* router_smtp_ref/unref only: timer, socket, writes, connect, DNS */
    uv_timer_t timer;
    uv_stream_t
        *sock; /* the socket of this attempt: a uv_tcp_t, or a uv_pipe_t for LMTP's Unix socket */
    struct dns_result dns;
    unsigned target;       /* dns.t[target] is being tried */
    char remote[320];      /* "name[addr]:port" */
    char last_error[1400]; /* why the last target failed: the reason when none is left */
    struct tls_bio *tls;
    int tls_active;       /* handshake done: everything goes through tls */
    struct sg_buf in;     /* plaintext from the server not yet parsed */
    size_t write_pending; /* octets handed to libuv and not yet written */
    struct smtp_reply reply;
    struct ehlo_caps caps;
    char ehlo_raw[4096];
    size_t ehlo_len;
    /* the transaction */
    struct job *job;
    int pipelined;
    unsigned rcpt_pos; /* the recipient whose RCPT reply comes next */
    unsigned dot_pos;  /* LMTP: the recipient whose reply after the dot comes next */
    unsigned dot_bad;  /* LMTP: replies after the dot that were not 2xx */
    unsigned accepted;
    uint8_t *rcpt_ok;   /* per job recipient: accepted by RCPT */
    int ascii_envelope; /* no SMTPUTF8 at the server: the envelope's domains go as A-labels */
    enum smtp_auth_step auth_step;
    struct smtp_body body;
};

/* ---- router_smtp.c: the state machine ------------------------------------------------ */
/* The one transition: logs it, sets the state's timer, does the state's action. */
void router_smtp_enter(struct smtp_conn *c, enum smtp_state s);
const char *router_smtp_state_name(enum smtp_state s);
/* The job's recipients without an outcome get this one, then the connection closes. */
void router_smtp_fail(struct smtp_conn *c, enum outcome o, const char *status, const char *remote,
                      const char *text);
/* ---- router_smtp_envelope.c: MAIL FROM and RCPT TO ------------------------------------------
 * What the server said it cannot take (size, 8-bit, SMTPUTF8): -1 with the status and the text
 * for every recipient of the job; 0 (an SMTPUTF8 envelope then perhaps sent as A-labels). */
int router_smtp_envelope_check(struct smtp_conn *c, char *status, size_t statussz, char *text,
                               size_t textsz);
/* Entering SMTP_MAIL: the transaction's state, the body stream, MAIL FROM (and, pipelined, every
 * RCPT TO and DATA). */
void router_smtp_send_mail(struct smtp_conn *c);
void router_smtp_send_rcpt(struct smtp_conn *c, unsigned i);

/* The next hop cannot be reached: this job and every job waiting for it get the outcome; down:
 * the next hop is marked down (what comes for it meanwhile is deferred at once). */
void router_smtp_fail_dest(struct smtp_conn *c, enum outcome o, const char *status,
                           const char *remote, const char *text, int down);
/* Start a transaction for the job in hand or, if it fails the checks, the next that passes;
 * clean: the server holds nothing of an earlier one (else RSET first). */
void router_smtp_next_txn(struct smtp_conn *c, int clean);
/* ---- router_smtp_auth.c: AUTH to a smarthost, only inside a verified TLS session ---------- */
/* Does the route want AUTH that this connection has not done yet? */
int router_smtp_auth_needed(const struct smtp_conn *c);
/* Entering SMTP_AUTH: the first line sent, or the destination deferred (no credentials, no
 * mechanism we have). */
void router_smtp_auth_start(struct smtp_conn *c);
/* A reply in SMTP_AUTH: the next line sent, the mail started once authenticated, or the
 * destination's recipients failed (5xx) or deferred (anything else) naming the smarthost. */
void router_smtp_auth_reply(struct smtp_conn *c, const struct smtp_reply *rp);

/* Events from the I/O side. */
void router_smtp_connected(struct smtp_conn *c, int status);
void router_smtp_input(struct smtp_conn *c); /* new plaintext in c->in */
void router_smtp_tls_ready(struct smtp_conn *c);
void router_smtp_tls_failed(struct smtp_conn *c, const char *why);
void router_smtp_timeout(struct smtp_conn *c);

/* ---- router_smtp_io.c: connection lifetime, socket, reads, writes, TLS ----------------- */
struct smtp_conn *router_smtp_io_new(struct dest *d, struct job *first);
void router_smtp_ref(struct smtp_conn *c);
void router_smtp_unref(struct smtp_conn *c);
/* Close the timer and the socket (entering SMTP_CLOSED). */
void router_smtp_io_close(struct smtp_conn *c);
/* (Re)start the timer; 0 stops it. */
void router_smtp_io_timer(struct smtp_conn *c, long long seconds);
/* Connect to dns.t[target]; router_smtp_connected() follows.  -1 (last_error says why): try the next. */
int router_smtp_io_connect(struct smtp_conn *c);
/* Give up this attempt's socket (its connect callback sees it is stale). */
void router_smtp_io_drop_socket(struct smtp_conn *c);
void router_smtp_io_reading(struct smtp_conn *c, int on);
/* Write through TLS when active.  -1: the write failed and the connection is closed with that reason. */
int router_smtp_io_write(struct smtp_conn *c, const void *data, size_t len);
void router_smtp_io_cmd(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A line holding credentials (len octets, its CRLF included): written, logged only as shown. */
void router_smtp_io_secret(struct smtp_conn *c, const char *shown, const char *line, size_t len);
/* Start the client handshake.  -1: out of memory. */
int router_smtp_io_tls_start(struct smtp_conn *c);
/* Ciphertext that came with the 220 to STARTTLS. */
void router_smtp_io_tls_feed(struct smtp_conn *c, const uint8_t *p, size_t n);

/* ---- router_smtp_body.c: the message from the store, dot-stuffed, with back-pressure ---- */
/* Open the stream for the job's message, paused until router_smtp_body_start().  -1: out of memory. */
int router_smtp_body_open(struct smtp_conn *c);
/* Entering SMTP_BODY: stream it; at its end the connection enters SMTP_DOT. */
void router_smtp_body_start(struct smtp_conn *c);
/* A write finished while in SMTP_BODY: the block timer restarts, the stream resumes if there is room. */
void router_smtp_body_progress(struct smtp_conn *c);
/* Entering SMTP_DOT: the end-of-data line (after a CRLF if the message lacks its last one). */
void router_smtp_body_write_end(struct smtp_conn *c);
void router_smtp_body_close(struct smtp_conn *c);

#endif
