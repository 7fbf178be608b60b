/* sendmail_submit.c - a local submission into the store (with its Received line), or kept durably in the pickup directory while the store cannot take it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd_write.h"
#include "pickup_file.h"
#include "sendmail.h"
#include "store_client.h"

#define COMMIT_TIMEOUT_MS 120000
#define STARTED_TIMEOUT_MS 30000

/* Begin, and wait for the queue id the Received line names. 0, or -1 (c->error). */
static int begin_started(struct ipc_client *c, struct sc_sync_submit *s, const struct sm_msg *m,
                         char *qid)
{
    struct ipc_reader r;
    struct ipc_submitted done;
    struct ipc_error e;

    if (sc_sync_begin(s, c, &m->begin, m->rcpts, m->nrcpt) < 0 || ipc_client_send(c) < 0 ||
        ipc_client_recv(c, &r, STARTED_TIMEOUT_MS) < 0)
        return -1;
    switch (sc_frames_submit_answer(&r, qid, &done, &e)) {
    case 0:
        s->started = 1;
        return 0;
    case -1:
        snprintf(c->error, sizeof(c->error), "%s (%s)", e.text, ipc_error_name(e.code));
        return (int)e.code;
    default:
        snprintf(c->error, sizeof(c->error), "%s", e.text);
        return IPC_ERR_PROTO;
    }
}

/* 0 queued, -1 the store is not there (or lost), > 0 the store's error code. */
static int to_store(const struct sm_ctx *x, struct sm_msg *m, char *qid, char *why, size_t whysz)
{
    struct ipc_client c;
    struct sc_sync_submit s;
    struct ipc_submitted done;
    struct sg_buf rec = {0};
    int rc;

    if (sc_sync_connect(&c, x->socket, SM_PROGRAM, "submit", "submit") < 0) {
        snprintf(why, whysz, "%s", c.error);
        return -1;
    }
    rc = begin_started(&c, &s, m, qid);
    if (rc == 0) {
        sm_received(&rec, x->hostname, (long long)x->uid, qid);
        if (rec.failed || sc_sync_chunk(&s, rec.data, rec.len) < 0 ||
            sc_sync_chunk(&s, m->data.data, m->data.len) < 0)
            rc = -1;
        else
            rc = sc_sync_commit(&s, &done, COMMIT_TIMEOUT_MS);
    }
    if (rc == 0)
        snprintf(qid, IPC_QID_MAX + 1, "%s", done.qid);
    snprintf(why, whysz, "%s", c.error);
    sg_buf_free(&rec);
    ipc_client_close(&c);
    return rc == IPC_ERR_TEMP || rc == IPC_ERR_NOSPACE ? -1 : rc;
}

/* Written to t.NAME, fsync'd, renamed to NAME, the directory fsync'd: 0, or -1 with why. */
static int to_pickup(const struct sm_ctx *x, const struct sm_msg *m, char *name, size_t namesz,
                     char *why, size_t whysz)
{
    char dir[4096], tmp[4200], final[4200];
    struct pickup_msg pm = {
        .uid = (long long)x->uid, .begin = m->begin, .rcpts = m->rcpts, .nrcpt = m->nrcpt};
    struct sg_buf head = {0};
    uint32_t r = 0;
    int fd, rc;

    if (pickup_dir_path(x->cfg, dir, sizeof(dir)) < 0)
        return snprintf(why, whysz, "pickup directory path too long"), -1;
    if (getrandom(&r, sizeof(r), 0) < 0)
        r = (uint32_t)clock();
    snprintf(name, namesz, "%lld.%d.%08x", (long long)time(NULL), (int)getpid(), r);
    snprintf(tmp, sizeof(tmp), "%s/%s%s", dir, PICKUP_TEMP_PREFIX, name);
    snprintf(final, sizeof(final), "%s/%s", dir, name);
    /* Root may make it before smtpd ever ran (smtpd gives it to its user at start). */
    if (x->uid == 0 && mkdir(dir, 01733) == 0)
        chmod(dir, 01733);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
        return snprintf(why, whysz, "%.300s: %s", tmp, strerror(errno)), -1;
    fchmod(fd, 0644); /* whatever the umask: smtpd's user reads it */
    rc = pickup_format_head(&head, &pm);
    if (rc == 0)
        rc = sg_write_all(fd, head.data, head.len);
    if (rc == 0)
        rc = sg_write_all(fd, m->data.data, m->data.len);
    if (rc == 0)
        rc = fsync(fd);
    sg_buf_free(&head);
    if (close(fd) < 0 || rc < 0 || rename(tmp, final) < 0) {
        snprintf(why, whysz, "%.300s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    sg_fsync_dir(dir); /* a write-only directory (1733) cannot be opened: the rename is then it */
    return 0;
}

enum sm_result sm_submit(const struct sm_ctx *x, struct sm_msg *m, char *qid, size_t qidsz,
                         char *why, size_t whysz)
{
    char store_why[1200], pick_why[1200];
    int rc = to_store(x, m, qid, store_why, sizeof(store_why));

    if (rc == 0)
        return SM_QUEUED;
    if (rc > 0) {
        snprintf(why, whysz, "%.1000s", store_why);
        return SM_REFUSED;
    }
    if (to_pickup(x, m, qid, qidsz, pick_why, sizeof(pick_why)) == 0) {
        snprintf(why, whysz, "%.1000s", store_why);
        return SM_PICKUP;
    }
    snprintf(why, whysz, "store: %.500s; pickup directory: %.500s", store_why, pick_why);
    return SM_FAILED;
}
