/* gateway.h - spoolgate-gateway: the daemon, the share, the directory, and the interfaces between its files. */
#ifndef SPOOLGATE_GATEWAY_H
#define SPOOLGATE_GATEWAY_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "ipc_uv.h"
#include "po_format.h"

#define GATEWAY_PROGRAM "spoolgate-gateway"
#define GW_WHY_MAX 1400 /* share root + operation + path + error */

struct gw_conn;

struct gateway {
    uv_loop_t *loop;
    struct sg_config *cfg;
    struct daemon_opts opts;
    char hostname[256];
    char store_socket[108];
    char socket_path[108];
    uv_pipe_t listener;
    struct gw_conn *conns;
    /* the directory (GLB/), reloaded when it changes */
    struct po_network net;
    struct po_dir dir;
    int dir_loaded;
    int64_t glb_mtime;
    char dir_why[GW_WHY_MAX];
    /* the share's state as the last access found it */
    int share_ok;
    char share_why[GW_WHY_MAX];
    struct share *share;
    uv_timer_t poll_timer;
    int polling;
    uint32_t name_seq;
    int stopping;
};

/* ---- gateway_share.c: the share, a local path or SFTP ---------------------------------------
 * Every operation blocks: callers run them on worker threads.  A share is
 * safe to use from several workers (operations are serialized).  Paths are
 * relative to the share's root.  Each returns 0, or -1 with why naming the
 * share, the operation, the path and the error. */
struct share;
struct share *share_new(const struct cfg_gateway *c, char *why, size_t whysz);
void share_free(struct share *sh);
const char *share_name(const struct share *sh);
int share_read_file(struct share *sh, const char *rel, uint8_t **data, size_t *len, char *why, size_t whysz);
int share_stat_mtime(struct share *sh, const char *rel, int64_t *mtime, char *why, size_t whysz);
/* Write rel with .TMP in place of its extension, flush, rename to rel. */
int share_write_atomic(struct share *sh, const char *rel, const uint8_t *data, size_t len, char *why,
                       size_t whysz);
int share_rename(struct share *sh, const char *from, const char *to, char *why, size_t whysz);
int share_unlink(struct share *sh, const char *rel, char *why, size_t whysz);
int share_exists(struct share *sh, const char *rel);
/* Names in dir ending in suffix (".P1", ".GWK"), sorted; free with share_list_free. */
int share_list(struct share *sh, const char *dir, const char *suffix, char ***names, size_t *n,
               char *why, size_t whysz);
void share_list_free(char **names, size_t n);
int share_name_cmp(const void *a, const void *b); /* for qsort of names */
/* Append a copy of name to a growing list (used by both backends' share_list). */
int share_names_add(char ***v, size_t *n, size_t *cap, const char *name);
int share_mkdir(struct share *sh, const char *rel, char *why, size_t whysz);

/* gateway_sftp.c: the SFTP side of a share (libssh2), used by gateway_share.c. */
struct sftp_share;
struct sftp_share *sftp_share_new(const struct cfg_gateway *c);
void sftp_share_free(struct sftp_share *s);
int sftp_read_file(struct sftp_share *s, const char *rel, uint8_t **data, size_t *len, char *why, size_t whysz);
int sftp_stat_mtime(struct sftp_share *s, const char *rel, int64_t *mtime, char *why, size_t whysz);
int sftp_write_atomic(struct sftp_share *s, const char *rel, const char *tmp, const uint8_t *data,
                      size_t len, char *why, size_t whysz);
int sftp_rename(struct sftp_share *s, const char *from, const char *to, char *why, size_t whysz);
int sftp_unlink(struct sftp_share *s, const char *rel, char *why, size_t whysz);
int sftp_exists(struct sftp_share *s, const char *rel);
int sftp_list(struct sftp_share *s, const char *dir, const char *suffix, char ***names, size_t *n,
              char *why, size_t whysz);
int sftp_mkdir(struct sftp_share *s, const char *rel, char *why, size_t whysz);

/* ---- gateway_server.c: the socket smtpd and the router talk to ------------------------- */
void server_start(struct gateway *g);
void server_stop(struct gateway *g);
/* Reply helpers for a connection (NULL-safe once the connection is gone). */
struct ipc_buf *conn_out(struct gw_conn *c);
void conn_flush(struct gw_conn *c);
void conn_ref(struct gw_conn *c);
void conn_unref(struct gw_conn *c);
int conn_alive(const struct gw_conn *c);
/* Tell every connected router that the share is reachable again. */
void server_share_back(struct gateway *g);

/* gateway_main.c: the share worked (why NULL) or failed; changes are logged once. */
void gateway_share_state(struct gateway *g, const char *why);

/* ---- gateway_dir.c ---------------------------------------------------------------------- */
void dir_poll(struct gateway *g, void (*done)(struct gateway *g));
void dir_answer(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_dir_lookup *q);

/* ---- gateway_in.c: mail into the postoffice (P1/) ---------------------------------------- */
void in_deliver(struct gateway *g, struct gw_conn *c, uint32_t request_id, const struct ipc_gw_deliver *q);

/* ---- gateway_out.c: mail out of the postoffice (OUT/) ------------------------------------ */
void out_poll(struct gateway *g);

#endif
