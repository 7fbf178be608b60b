/* ipc_server.h - the one IPC server: a Unix socket, hellos, the frame loop, dispatch by table with capability checks, replies with back-pressure. */
#ifndef SPOOLGATE_IPC_SERVER_H
#define SPOOLGATE_IPC_SERVER_H

#include <sys/types.h>
#include <uv.h>

#include "ipc.h"

struct ipc_server;
struct ipc_server_conn;
struct tls_bio;

/* The start of every dispatch-table row: a daemon's row struct begins with
 * this and adds its own handler after it.  A request whose capability the
 * client did not ask for in its hello (and so was not granted) is refused
 * with IPC_ERROR capability and the connection closed; a type no row names
 * is refused with IPC_ERROR protocol. */
struct ipc_server_cmd {
    uint16_t type;
    const char *cap;
};

struct ipc_server_ops {
    /* A connection was accepted (before our hello goes out): attach the
     * daemon's state with ipc_server_conn_set_data.  It may refuse the
     * client with ipc_server_conn_fail. */
    void (*accepted)(struct ipc_server_conn *c, void *arg);
    /* The client's hello was taken (ipc_server_conn_peer is valid): the daemon may still
     * refuse it with ipc_server_conn_fail, by what it asked for.  Optional. */
    void (*ready)(struct ipc_server_conn *c, void *arg);
    /* A request found in the table and granted; row points into the table. */
    void (*dispatch)(struct ipc_server_conn *c, const struct ipc_server_cmd *row,
                     struct ipc_reader *r, void *arg);
    /* The connection is closing (lost, refused or closed): eof says the
     * peer hung up cleanly.  Optional. */
    void (*closing)(struct ipc_server_conn *c, int eof, void *arg);
    /* The last reference went: free the daemon's state.  Optional. */
    void (*release)(struct ipc_server_conn *c, void *arg);
};

struct ipc_server_config {
    const char *service; /* "store": "a store is already answering on this socket" */
    const char *program, *role, *caps_offered; /* our hello */
    uint64_t generation;
    const void *table;     /* rows, each row_size bytes, each starting with ipc_server_cmd */
    size_t rows, row_size; /* IPC_SERVER_TABLE(rows) fills these three */
    int backlog;
    mode_t mode; /* of the socket file */
    int own;     /* give the socket file to owner:group (a daemon dropping root) */
    uid_t owner;
    gid_t group;
    /* Authorization by SO_PEERCRED: the capabilities a client with this uid
     * may ask for in its hello, or NULL when it may not use this socket at
     * all.  NULL hook: whatever the server offers. */
    const char *(*peer_caps)(uid_t uid, void *arg);
    /* Authorization of a client on a TCP listener by its certificate (verified against
     * global.ipc_tls_ca at the handshake): the capabilities it may ask for into caps, 0; or -1
     * when it may not use this server at all.  NULL hook: whatever the server offers. */
    int (*peer_caps_tls)(struct tls_bio *t, char *caps, size_t capssz, void *arg);
    size_t write_high; /* bytes in flight that stop reading (0: IPC_SERVER_WRITE_HIGH) */
};

#define IPC_SERVER_WRITE_HIGH (4u * 1024 * 1024)
#define IPC_SERVER_TABLE(r) \
    .table = (r), .rows = sizeof(r) / sizeof((r)[0]), .row_size = sizeof((r)[0])

/* A server on loop; nothing listens yet.  NULL when out of memory. */
struct ipc_server *ipc_server_new(uv_loop_t *loop, const struct ipc_server_config *cfg,
                                  const struct ipc_server_ops *ops, void *arg);
/* Listen on path: a socket file a live server answers on is refused, one
 * left by a dead server is removed.  0, or -1 with err saying why. */
int ipc_server_listen(struct ipc_server *s, const char *path, char *err, size_t errsz);
/* Listen on "ADDRESS:PORT" ([v6]:port) too: IPC over TCP with mutual TLS (ipc_tls_setup
 * first); clients are authorized by peer_caps_tls.  0, or -1 with err saying why. */
int ipc_server_listen_tcp(struct ipc_server *s, const char *addr, char *err, size_t errsz);
/* ipc_server_new and ipc_server_listen for a daemon: exits (log_fatal) if either fails. */
struct ipc_server *ipc_server_start(uv_loop_t *loop, const struct ipc_server_config *cfg,
                                    const struct ipc_server_ops *ops, void *arg, const char *path);
/* Stop listening, close every connection, remove the socket file; the
 * server is freed once its last connection is. */
void ipc_server_close(struct ipc_server *s);
typedef void (*ipc_server_drained_fn)(struct ipc_server *s, void *arg);
#define IPC_SERVER_STOP_GRACE_MS 10000 /* a daemon's stop waits this long for what it took */
/* A stop that answers what it took: stop listening (the socket file is removed) and reading;
 * each connection is closed as soon as no request of it is in flight (the daemon holds no
 * reference to it) and its replies are written.  After grace_ms the rest are closed (logged).
 * Then the server is closed as by ipc_server_close, which runs done(s, arg): s is freed once
 * its last connection is, and must not be used after done.  ipc_server_close before that
 * cuts the drain short. */
void ipc_server_drain(struct ipc_server *s, unsigned grace_ms, ipc_server_drained_fn done,
                      void *arg);
/* Open connections; s may be NULL (a server closed), which has none. */
size_t ipc_server_count(const struct ipc_server *s);
/* The generation our hello carries from now on (a replicated store learns its own only once it
 * is elected master, after the server started). */
void ipc_server_set_generation(struct ipc_server *s, uint64_t generation);
/* The role and capabilities our hello offers from now on (a replica offers only "admin": a
 * client that needs more refuses it at the hello and goes on to its next address). */
void ipc_server_set_offer(struct ipc_server *s, const char *role, const char *caps_offered);
/* From now on our hello offers IPC_CAP_ROLE and every client of minor IPC_MINOR_ROLE or later
 * is sent role after its hello; every connected one is sent it now if it changed (the store:
 * its role in a replicated group, and where the master is). */
void ipc_server_set_role(struct ipc_server *s, const struct ipc_role *role);
/* Connections with a request in flight (referenced by the daemon). */
size_t ipc_server_busy(const struct ipc_server *s);
/* The open connections (not closing), for broadcasts. */
struct ipc_server_conn *ipc_server_first(struct ipc_server *s);
struct ipc_server_conn *ipc_server_next(struct ipc_server_conn *c);

void ipc_server_conn_set_data(struct ipc_server_conn *c, void *data);
void *ipc_server_conn_data(const struct ipc_server_conn *c);
/* "client pid 42 uid 0 spoolgate-smtpd/smtpd", for logs. */
const char *ipc_server_conn_name(const struct ipc_server_conn *c);
/* The client's SO_PEERCRED pid (0 unknown) and uid ((uid_t)-1 unknown). */
void ipc_server_conn_cred(const struct ipc_server_conn *c, pid_t *pid, uid_t *uid);
/* The client's hello (valid once ready). */
const struct ipc_hello *ipc_server_conn_peer(const struct ipc_server_conn *c);
int ipc_server_conn_ready(const struct ipc_server_conn *c); /* hellos done, not closing */
int ipc_server_conn_alive(const struct ipc_server_conn *c); /* not closing */
void ipc_server_conn_ref(struct ipc_server_conn *c);
void ipc_server_conn_unref(struct ipc_server_conn *c);
/* Stop (1) or restart (0) handling frames: a request being served makes
 * the next wait.  Frames already read wait for the resume. */
void ipc_server_conn_pause(struct ipc_server_conn *c, int paused);
/* Bytes handed to libuv and not yet written. */
size_t ipc_server_conn_pending(const struct ipc_server_conn *c);

/* Frames are built here, then flushed. */
struct sg_buf *ipc_server_conn_out(struct ipc_server_conn *c);
void ipc_server_conn_flush(struct ipc_server_conn *c);
typedef void (*ipc_server_written_fn)(struct ipc_server_conn *c, void *arg);
/* Flush, then write b (its memory is taken; b is left empty).  cb, if any,
 * runs once these bytes are written or the connection closed (check
 * ipc_server_conn_alive); at once if they could not be sent. */
void ipc_server_conn_send(struct ipc_server_conn *c, struct sg_buf *b, ipc_server_written_fn cb,
                          void *arg);
/* A protocol violation: log, send IPC_ERROR, close after the writes. */
void ipc_server_conn_fail(struct ipc_server_conn *c, uint32_t request_id, uint32_t code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Close now. */
void ipc_server_conn_close(struct ipc_server_conn *c);

#endif
