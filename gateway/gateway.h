/* gateway.h - spoolgate-gateway: the daemon, the share, the directory, and the interfaces between its files. */
#ifndef SPOOLGATE_GATEWAY_H
#define SPOOLGATE_GATEWAY_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <uv.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "ipc_uv.h"
#include "po_format.h"
#include "store_client.h"

#define GATEWAY_PROGRAM "spoolgate-gateway"
#define GW_WHY_MAX 1400 /* share root + operation + path + error */

struct gw_conn;
struct ipc_server;
struct gateway;

/* An operation on the share running on a worker, watched for an answer (gateway_watch.c). */
struct gw_watch_op {
    struct gw_watch_op *prev, *next;
    uint64_t since; /* uv_now when it was handed to the worker */
    char what[160]; /* "writing P1/G0000001.TMP" */
    int hung;       /* no answer within gateway.share_timeout */
    int blocks;     /* a delivery's step: while it hangs, further deliveries are deferred at once */
    /* Called once when it is found hung, why naming the share, the operation and the wait. */
    void (*expired)(struct gw_watch_op *op, const char *why);
    void *arg;
};

struct gw_watch {
    uv_timer_t timer;
    struct gw_watch_op *head;
    unsigned hung;          /* operations found hung that have not returned */
    unsigned hung_blocking; /* ... of them, deliveries' steps */
    char why[GW_WHY_MAX];   /* the first hung delivery step */
};

/* A part of the share found refused (P1/ or OUT/BAD/ a link): logged when it starts and ends. */
struct gw_refused {
    int on;
    char why[GW_WHY_MAX];
};

struct gateway {
    uv_loop_t *loop;
    struct sg_config *cfg;
    struct daemon_opts opts;
    char state_dir[PATH_MAX]; /* <state_dir>/gateway: the journal */
    char hostname[256];
    struct store_client sc; /* where the store is */
    char socket_path[108];
    struct ipc_server *server; /* the socket and its connections (gateway_server.c) */
    /* the directory (GLB/), reloaded when it changes */
    struct po_network net;
    struct po_dir dir;
    int dir_loaded;
    int64_t glb_mtime;
    char dir_why[GW_WHY_MAX];
    /* the share's state as the last access found it */
    int share_ok;
    char share_why[GW_WHY_MAX];
    uint64_t share_logged_ms; /* when "unreachable" was last logged (uv_now) */
    struct share *share;
    struct gw_refused p1_refused;  /* deliveries into P1/ deferred */
    struct gw_refused bad_refused; /* OUT/BAD/ unusable: bad files stay claimed */
    uv_timer_t poll_timer;
    int polling;
    int out_store_down; /* OUT/ found the store down: logged once until a submission works */
    struct gw_journal *journal;
    struct gw_p1 *p1;
    /* deliveries: at most cfg gateway.max_deliveries run, the rest wait in arrival order */
    unsigned in_running;
    struct in_wait *in_wait_head, *in_wait_tail;
    struct gw_watch watch; /* every share operation on a worker, for a hung share */
    int stopping;
};

/* ---- gateway_watch.c: share operations that get no answer (a hung mount, a stalled SFTP server)
 * Each operation handed to a worker is watched from begin to end.  One with no answer within
 * gateway.share_timeout is hung: logged, the share marked unreachable, its expired callback
 * called (a delivery answers the router then, deferred); the worker stays blocked, and its end
 * comes whenever the share answers.  A stopping gateway whose remaining work is only hung
 * operations exits without them (what they leave is cleaned up by the next start). */
void gw_watch_init(struct gateway *g);
void gw_watch_begin(struct gateway *g, struct gw_watch_op *op, int blocks,
                    void (*expired)(struct gw_watch_op *op, const char *why), void *arg,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The worker returned: 1 if the operation had been found hung. */
int gw_watch_end(struct gateway *g, struct gw_watch_op *op);
/* NULL, or why deliveries are deferred at once: a delivery's step hangs. */
const char *gw_watch_hung(const struct gateway *g);
void gw_watch_close(struct gateway *g);

/* ---- gateway_share.c: the share, a local path or SFTP ---------------------------------------
 * Every operation blocks: callers run them on worker threads.  A share is
 * safe to use from several workers (local operations run in parallel, the
 * one SFTP session is taken in turns).  Paths are
 * relative to the share's root.  Each returns 0, or -1 with why naming the
 * share, the operation, the path and the error. */
struct share;
struct share *gw_share_new(const struct cfg_gateway *c, char *why, size_t whysz);
void gw_share_free(struct share *sh);
const char *gw_share_name(const struct share *sh);
/* read_file: rel is no regular file, or (local share) a hard link; why holds only the reason.
 * Over SFTP the attributes (version 3, libssh2) carry no link count: not checked there. */
#define SHARE_REFUSED 2
int gw_share_read_file(struct share *sh, const char *rel, uint8_t **data, size_t *len, char *why,
                       size_t whysz);
int gw_share_stat_mtime(struct share *sh, const char *rel, int64_t *mtime, char *why, size_t whysz);
/* Write rel with .TMP in place of its extension, flush, rename to rel. */
int gw_share_write_atomic(struct share *sh, const char *rel, const uint8_t *data, size_t len,
                          char *why, size_t whysz);
int gw_share_rename(struct share *sh, const char *from, const char *to, char *why, size_t whysz);
int gw_share_unlink(struct share *sh, const char *rel, char *why, size_t whysz);
/* 1 if rel is there, 0 if not, -1 with why when the share cannot tell. */
int gw_share_exists(struct share *sh, const char *rel, char *why, size_t whysz);
#define SHARE_EXISTS 1 /* create_excl / rename_noreplace: the name is taken, nothing was changed */
/* Any operation: a name, or a directory on the way, was refused (an odd name, a symbolic link or no
 * directory where a directory must be).  The share answered: not an outage.  Negative, so a caller
 * that only checks < 0 still sees a failure; why explains it (the decision never reads why). */
#define SHARE_PATH_REFUSED (-2)
/* A new file rel, created exclusively (SHARE_EXISTS if the name is taken), then written piece by
 * piece; finish with keep=1 flushes it (fdatasync; over SFTP fsync@openssh.com where offered) and
 * closes it, with keep=0 (or on any failure) closes and removes it.  finish frees f. */
struct share_file;
int gw_share_file_create(struct share *sh, const char *rel, struct share_file **f, char *why,
                         size_t whysz);
int gw_share_file_write(struct share *sh, struct share_file *f, const struct iovec *iov, int niov,
                        char *why, size_t whysz);
int gw_share_file_finish(struct share *sh, struct share_file *f, int keep, char *why, size_t whysz);
/* Rename from to to, never replacing an existing to. */
int gw_share_rename_noreplace(struct share *sh, const char *from, const char *to, char *why,
                              size_t whysz);
/* The directory rel on disk (local: fsync; SFTP: nothing the protocol can ask, see POSTOFFICE.md). */
int gw_share_sync_dir(struct share *sh, const char *rel, char *why, size_t whysz);
/* Names in dir ending in suffix (".P1", ".GWK"), sorted; free with gw_share_list_free. */
int gw_share_list(struct share *sh, const char *dir, const char *suffix, char ***names, size_t *n,
                  char *why, size_t whysz);
void gw_share_list_free(char **names, size_t n);
int gw_share_name_cmp(const void *a, const void *b); /* for qsort of names */
/* Append a copy of name to a growing list (used by both backends' gw_share_list). */
int gw_share_names_add(char ***v, size_t *n, size_t *cap, const char *name);
int gw_share_mkdir(struct share *sh, const char *rel, char *why, size_t whysz);

/* gateway_safe.c: names checked (relative, no "." or "..", no empty component, no control
 * character), and the local share's directories opened beneath its root, no component a symbolic
 * link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; O_NOFOLLOW per component before Linux 5.6).
 * Each returns SHARE_PATH_REFUSED when a name or directory is refused, -1 when the file system
 * failed, with why naming the share, op, the path and the reason. */
int gw_safe_refuse(const char *share, const char *op, const char *rel, const char *reason,
                   char *why, size_t whysz);
int gw_safe_name_check(const char *share, const char *op, const char *rel, char *why, size_t whysz);
const char *gw_safe_kind(mode_t mode); /* "symbolic link", "not a regular file (FIFO)", ... */
/* A descriptor of the directory dir ("" the root itself) beneath root. */
int gw_safe_dir(const char *root, const char *dir, const char *op, char *why, size_t whysz);
/* A descriptor of rel's directory, *base the last component of rel. */
int gw_safe_parent(const char *root, const char *rel, const char *op, const char **base, char *why,
                   size_t whysz);
/* One component in dirfd, never through a symbolic link (flags as for openat). */
int gw_safe_openat(int dirfd, const char *name, int flags, mode_t mode);
/* From now on as on a kernel without openat2 (the unit test of the fallback). */
void gw_safe_without_openat2(void);

/* gateway_sftp.c: the SFTP side of a share (libssh2), used by gateway_share.c. */
struct sftp_share;
struct sftp_share *gw_sftp_share_new(const struct cfg_gateway *c);
void gw_sftp_share_free(struct sftp_share *s);
int gw_sftp_read_file(struct sftp_share *s, const char *rel, uint8_t **data, size_t *len, char *why,
                      size_t whysz);
int gw_sftp_stat_mtime(struct sftp_share *s, const char *rel, int64_t *mtime, char *why,
                       size_t whysz);
int gw_sftp_rename(struct sftp_share *s, const char *from, const char *to, char *why, size_t whysz);
int gw_sftp_unlink(struct sftp_share *s, const char *rel, char *why, size_t whysz);
int gw_sftp_exists(struct sftp_share *s, const char *rel, char *why, size_t whysz);
struct sftp_file;
int gw_sftp_file_create(struct sftp_share *s, const char *rel, struct sftp_file **f, char *why,
                        size_t whysz);
int gw_sftp_file_write(struct sftp_share *s, struct sftp_file *f, const struct iovec *iov, int niov,
                       char *why, size_t whysz);
int gw_sftp_file_finish(struct sftp_share *s, struct sftp_file *f, int keep, char *why,
                        size_t whysz);
int gw_sftp_rename_noreplace(struct sftp_share *s, const char *from, const char *to, char *why,
                             size_t whysz);
int gw_sftp_sync_dir(struct sftp_share *s, const char *rel, char *why, size_t whysz);
int gw_sftp_list(struct sftp_share *s, const char *dir, const char *suffix, char ***names,
                 size_t *n, char *why, size_t whysz);
int gw_sftp_mkdir(struct sftp_share *s, const char *rel, char *why, size_t whysz);

/* ---- gateway_sync.c: group commit -- one fsync for every change noted before it started -------- */
struct gw_sync_group {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int (*sync)(void *arg); /* 0, or -1 with errno */
    void *arg;
    uint64_t noted, synced, failed_upto;
    int failed_errno;
    int running;
    uint64_t syncs; /* how many syncs ran (for the log and the benchmark) */
};
void gw_sync_group_init(struct gw_sync_group *sg, int (*sync)(void *arg), void *arg);
void gw_sync_group_destroy(struct gw_sync_group *sg);
/* A change was made: the ticket to wait for. */
uint64_t gw_sync_group_note(struct gw_sync_group *sg);
/* Until the change with this ticket is on disk: 0, or -1 with *err when its sync failed. */
int gw_sync_group_wait(struct gw_sync_group *sg, uint64_t ticket, int *err);

/* ---- gateway_journal.c: which transfer file each delivery in progress is writing -------------
 * An entry is made durable (group-committed fdatasync) after the temporary
 * file is complete and before it is renamed into P1/, and forgotten once
 * the router has the answer.  After a crash an entry whose temporary file
 * is gone was renamed: that delivery is done and is not written again.
 * Safe to use from several threads. */
#define GW_TMP_NAME_MAX 15
struct gw_journal;
struct gw_journal_entry {
    char tmp[GW_TMP_NAME_MAX + 1];   /* "G0000001.TMP" */
    char final[GW_TMP_NAME_MAX + 1]; /* "0000ABCD.P1" once renamed, else "" */
};
struct gw_journal *gw_journal_open(const char *path, char *why, size_t whysz);
void gw_journal_close(struct gw_journal *j);
size_t gw_journal_carried(const struct gw_journal *j); /* entries an earlier run left */
int gw_journal_find(struct gw_journal *j, const char *key, struct gw_journal_entry *out);
int gw_journal_has_tmp(struct gw_journal *j, const char *tmp);
uint32_t
gw_journal_tmp_top(struct gw_journal *j); /* 1 + the highest G<hex>.TMP an entry names, or 0 */
int gw_journal_intent(struct gw_journal *j, const char *key, const char *tmp, char *why,
                      size_t whysz);
void gw_journal_renamed(struct gw_journal *j, const char *key, const char *final);
void gw_journal_answered(struct gw_journal *j, const char *key);

/* ---- gateway_p1.c: one transfer file into P1/, each step on a worker ---------------------------
 * gw_p1_open creates the temporary file exclusively (the next name when one
 * is taken) and writes the first data; gw_p1_append writes more; gw_p1_commit
 * flushes it, makes the journal entry durable, renames it without ever
 * replacing a file (the next name when one is taken) and has P1/ on disk
 * (group commit) before it returns; gw_p1_abort removes it.  A delivery the
 * journal knows from before is finished with gw_p1_resume instead, without
 * reading the message again.  Names come from one counter seeded once from
 * what P1/ holds.  Each returns 0, or with why -1 (the share failed) or
 * SHARE_PATH_REFUSED (P1/ is a link or no directory). */
struct gw_p1;
struct gw_p1 *gw_p1_new(struct share *sh, struct gw_journal *jr);
void gw_p1_free(struct gw_p1 *w);
struct gw_p1_result {
    char name[GW_TMP_NAME_MAX + 1]; /* the P1/ name ("" if a crash hid it) */
    int recovered;                  /* 1: written before a restart, not written again */
    unsigned skipped;               /* names found taken by another writer */
};
struct gw_p1_file {
    char tmp[GW_TMP_NAME_MAX + 1];
    struct share_file *f;
};
int gw_p1_open(struct gw_p1 *w, struct gw_p1_file *pf, const struct iovec *iov, int niov, char *why,
               size_t whysz);
int gw_p1_append(struct gw_p1 *w, struct gw_p1_file *pf, const struct iovec *iov, int niov,
                 char *why, size_t whysz);
int gw_p1_commit(struct gw_p1 *w, struct gw_p1_file *pf, const char *key, struct gw_p1_result *res,
                 char *why, size_t whysz);
void gw_p1_abort(struct gw_p1 *w, struct gw_p1_file *pf);
int gw_p1_resume(struct gw_p1 *w, const char *key, const struct gw_journal_entry *e,
                 struct gw_p1_result *res, char *why, size_t whysz);
/* Counters for the log and the benchmark. */
void gw_p1_stats(struct gw_p1 *w, uint64_t *written, uint64_t *dir_syncs, uint64_t *skipped);

/* ---- gateway_server.c: the socket smtpd and the router talk to ------------------------- */
void gw_server_start(struct gateway *g);
void gw_server_stop(struct gateway *g);
/* Reply helpers for a connection (NULL-safe once the connection is gone). */
struct sg_buf *gw_conn_out(struct gw_conn *c);
void gw_conn_flush(struct gw_conn *c);
void gw_conn_ref(struct gw_conn *c);
void gw_conn_unref(struct gw_conn *c);
int gw_conn_alive(const struct gw_conn *c);
/* The connection's router sends GW_RECORDED (protocol 1.5): its answers are not the end. */
int gw_conn_sends_recorded(const struct gw_conn *c);
/* Tell every connected router that the share is reachable again. */
void gw_server_share_back(struct gateway *g);

/* gateway_main.c: the share worked (why NULL) or failed; changes are logged once. */
void gw_share_state(struct gateway *g, const char *why);
/* what ("P1/") refused for why, with effect ("deliveries ... are deferred"), or fine again (why
 * NULL): logged when that changes, not at every use; 1 when this call logged its start. */
int gw_refused_state(struct gw_refused *r, const char *what, const char *why, const char *effect);

/* ---- gateway_dir.c ---------------------------------------------------------------------- */
void gw_dir_poll(struct gateway *g, void (*done)(struct gateway *g));
void gw_dir_answer(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                   const struct ipc_dir_lookup *q);

/* ---- gateway_in.c: mail into the postoffice (P1/) ---------------------------------------- */
struct in_wait;
void gw_in_deliver(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                   const struct ipc_gw_deliver *q);
void gw_in_stop(struct gateway *g); /* drop the deliveries that wait (the router defers them) */
/* The router recorded q's final outcomes: the journal forgets its transfer file. */
void gw_in_recorded(struct gateway *g, const struct ipc_gw_deliver *q);

/* gateway_in_head.c: a transfer file's control lines into head, for the recipients to (SMTP
 * addresses in the postoffice's domain), Message-Id, Date and Subject taken from the message's
 * header section msg.  0, or -1 with the recipients' outcome in r. */
struct gw_in_refusal {
    uint32_t state;
    char status[16];
    char why[GW_WHY_MAX];
};
int gw_in_head(const struct gateway *g, const struct ipc_envelope *env, const char *const *to,
               size_t nto, const uint8_t *msg, size_t len, struct sg_buf *head,
               struct gw_in_refusal *r);

/* ---- gateway_out.c: mail out of the postoffice (OUT/) ------------------------------------ */
void gw_out_poll(struct gateway *g);

#endif
