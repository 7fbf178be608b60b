/* smtpd_pickup.c - the local pickup directory (common/pickup_file.h): files spoolgate-sendmail kept while the store was down, read off the loop, submitted, removed after SUBMITTED; malformed ones moved to pickup/bad. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pickup_file.h"
#include "privilege.h"
#include "smtpd.h"

#define PICKUP_SCAN_MS 1000
#define PICKUP_TEMP_AGE 3600 /* a t.NAME this old was left by a writer that died */

struct smtpd_pickup {
    struct smtpd *d;
    uv_timer_t timer;
    uv_work_t work;
    int busy; /* a scan, a submission or a removal is under way */
    char dir[4096];
    long long max;
    /* what the scan found (work thread), then the submission (loop) */
    char name[200], bad_why[300];
    char *buf;
    size_t len;
    uid_t owner;
    struct pickup_msg msg;
    struct sc_conn *conn;
    int remove; /* after the work: 1 unlink name, 2 move it aside */
    int closed; /* stopped: freed once nothing is under way */
};

static void scan_cb(uv_timer_t *t);

/* The next scan in ms, then every PICKUP_SCAN_MS. */
static void scan_later(struct smtpd_pickup *p, uint64_t ms)
{
    p->busy = 0;
    if (p->closed) /* stopped while the work ran */
        free(p);
    else if (!p->d->stopping)
        uv_timer_start(&p->timer, scan_cb, ms, PICKUP_SCAN_MS);
}

/* Move name into bad/ (work thread). */
static void move_aside(struct smtpd_pickup *p, const char *name)
{
    char from[4400], to[4400];

    snprintf(from, sizeof(from), "%s/%s", p->dir, name);
    snprintf(to, sizeof(to), "%s/%s/%s", p->dir, PICKUP_BAD_DIR, name);
    rename(from, to);
}

/* Read and parse name (work thread): 0 a message, -1 malformed (bad_why). */
static int read_one(struct smtpd_pickup *p, int dfd, const char *name)
{
    struct stat st;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    ssize_t n = 0;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_size > p->max) {
        snprintf(p->bad_why, sizeof(p->bad_why), "%s",
                 fd < 0 ? strerror(errno)
                        : "not a plain file of one link within "
                          "the size limit");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    p->owner = st.st_uid; /* who wrote it, whatever it says */
    p->buf = malloc((size_t)st.st_size + 1);
    while (p->buf && got < (size_t)st.st_size &&
           (n = read(fd, p->buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    close(fd);
    if (!p->buf || n < 0 || got != (size_t)st.st_size)
        return snprintf(p->bad_why, sizeof(p->bad_why), "read failed"), -1;
    p->len = got;
    return pickup_parse(p->buf, p->len, &p->msg, p->bad_why, sizeof(p->bad_why));
}

/* The first file of the directory, read (work thread). */
static void scan_work(uv_work_t *w)
{
    struct smtpd_pickup *p = w->data;
    DIR *dir;
    struct dirent *e;

    if (p->remove) { /* the end of a submission: remove, or move aside */
        char path[4400];

        snprintf(path, sizeof(path), "%s/%s", p->dir, p->name);
        if (p->remove == 1)
            unlink(path);
        else
            move_aside(p, p->name);
        return;
    }
    p->name[0] = p->bad_why[0] = '\0';
    if (!(dir = opendir(p->dir)))
        return;
    while ((e = readdir(dir))) {
        struct stat st;

        if (e->d_name[0] == '.' || strcmp(e->d_name, PICKUP_BAD_DIR) == 0 ||
            strlen(e->d_name) >= sizeof(p->name))
            continue;
        if (strncmp(e->d_name, PICKUP_TEMP_PREFIX, 2) == 0) {
            if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                st.st_mtime + PICKUP_TEMP_AGE < time(NULL))
                move_aside(p, e->d_name);
            continue;
        }
        snprintf(p->name, sizeof(p->name), "%s", e->d_name);
        if (read_one(p, dirfd(dir), e->d_name) < 0)
            move_aside(p, e->d_name);
        break;
    }
    closedir(dir);
}

static void submit_done(void *arg, const struct sc_status *st, const struct ipc_submitted *m);
static void submit_started(void *arg, const char *qid);
static const struct sc_submit_ops submit_ops = {.started = submit_started, .done = submit_done};

static void conn_ready(struct sc_conn *c, void *arg)
{
    struct smtpd_pickup *p = arg;

    if (sc_submit_begin(c, &p->msg.begin, &submit_ops, p) < 0) {
        struct sc_status st = {.lost = 1, .text = "the store connection is busy"};
        submit_done(p, &st, NULL);
        return;
    }
    for (size_t i = 0; i < p->msg.nrcpt; i++)
        if (sc_submit_rcpt(c, &p->msg.rcpts[i]) < 0)
            return;
}

/* The queue id is known: the Received line, the message, the commit. */
static void submit_started(void *arg, const char *qid)
{
    struct smtpd_pickup *p = arg;
    char rec[600], date[64];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    localtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
    n = snprintf(rec, sizeof(rec),
                 "Received: by %s (spoolgate pickup, from userid %u)\r\n\tid %s; %s\r\n",
                 p->d->hostname, (unsigned)p->owner, qid, date);
    if (sc_submit_chunk(p->conn, rec, (size_t)n) < 0 ||
        sc_submit_chunk(p->conn, p->msg.body, p->msg.body_len) < 0)
        return;
    sc_submit_commit(p->conn);
}

static void remove_after(uv_work_t *w, int status)
{
    struct smtpd_pickup *p = w->data;

    (void)status;
    p->remove = 0;
    scan_later(p, 0); /* the next file at once */
}

static void finish(struct smtpd_pickup *p, int remove)
{
    pickup_msg_free(&p->msg);
    free(p->buf);
    p->buf = NULL;
    if (!remove) {
        scan_later(p, PICKUP_SCAN_MS);
        return;
    }
    p->remove = remove;
    if (uv_queue_work(p->d->loop, &p->work, scan_work, remove_after) < 0)
        scan_later(p, PICKUP_SCAN_MS);
}

static void submit_done(void *arg, const struct sc_status *st, const struct ipc_submitted *m)
{
    struct smtpd_pickup *p = arg;
    struct sc_conn *c = p->conn;

    p->conn = NULL;
    if (c && !st->lost)
        sc_close(c);
    if (m) {
        log_msg(LOG_LVL_INFO, m->qid, "from pickup file %s (uid %u)%s", p->name, (unsigned)p->owner,
                m->duplicate ? ": already queued" : "");
        finish(p, 1);
    } else if (!st->lost && st->code == IPC_ERR_PERM) {
        log_warn("pickup file %s refused by the store (%s): moved to %s/%s", p->name, st->text,
                 PICKUP_DIR, PICKUP_BAD_DIR);
        finish(p, 2);
    } else {
        log_info("pickup file %s not submitted yet: %s", p->name, st->text ? st->text : "");
        finish(p, 0);
    }
}

static void conn_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct smtpd_pickup *p = arg;

    if (p->conn == c) { /* lost before the submission began */
        struct sc_status st = {.lost = 1, .text = why};
        p->conn = NULL;
        submit_done(p, &st, NULL);
    }
}

static const struct sc_conn_ops conn_ops = {.ready = conn_ready, .closed = conn_closed};

static void scan_after(uv_work_t *w, int status)
{
    struct smtpd_pickup *p = w->data;

    if (status < 0 || p->d->stopping || !p->name[0])
        return (void)(pickup_msg_free(&p->msg), free(p->buf), p->buf = NULL,
                      scan_later(p, PICKUP_SCAN_MS));
    if (p->bad_why[0]) {
        log_warn("pickup file %s malformed (%s): moved to %s/%s", p->name, p->bad_why, PICKUP_DIR,
                 PICKUP_BAD_DIR);
        pickup_msg_free(&p->msg);
        free(p->buf);
        p->buf = NULL;
        return scan_later(p, 0);
    }
    snprintf(p->msg.begin.origin, sizeof(p->msg.begin.origin), "pickup:%s", p->name);
    if (!(p->conn = sc_connect(&p->d->sc, IPC_CAPS_STORE_SMTPD, &conn_ops, p)))
        finish(p, 0);
}

static void scan_cb(uv_timer_t *t)
{
    struct smtpd_pickup *p = t->data;

    if (p->busy || p->d->stopping || !ipc_link_up(p->d->store.monitor))
        return;
    p->busy = 1;
    if (uv_queue_work(p->d->loop, &p->work, scan_work, scan_after) < 0)
        p->busy = 0;
}

void smtpd_pickup_prepare(struct smtpd *d, uid_t uid, gid_t gid)
{
    char dir[4096], bad[4200], why[300];

    if (pickup_dir_path(d->cfg, dir, sizeof(dir)) < 0)
        log_fatal("%s: path too long", d->cfg->global.state_dir);
    snprintf(bad, sizeof(bad), "%s/%s", dir, PICKUP_BAD_DIR);
    /* 1733: anyone may drop a file; only its owner, smtpd's user and root list or remove */
    if (priv_own_dir(dir, uid, gid, 01733, why, sizeof(why)) < 0 ||
        priv_own_dir(bad, uid, gid, 0700, why, sizeof(why)) < 0)
        log_fatal("pickup directory: %s", why);
    chmod(dir, 01733);
}

void smtpd_pickup_start(struct smtpd *d)
{
    struct smtpd_pickup *p = calloc(1, sizeof(*p));

    if (!p)
        log_fatal("out of memory");
    p->d = d;
    p->work.data = p;
    p->timer.data = p;
    /* the message and the envelope lines, at most */
    p->max = d->cfg->store.max_message_size + PICKUP_HEAD_MAX;
    pickup_dir_path(d->cfg, p->dir, sizeof(p->dir));
    uv_timer_init(d->loop, &p->timer);
    d->pickup = p;
    scan_later(p, 0);
}

static void timer_closed(uv_handle_t *h)
{
    struct smtpd_pickup *p = h->data;

    p->closed = 1;
    if (!p->busy)
        free(p);
}

void smtpd_pickup_stop(struct smtpd *d)
{
    struct smtpd_pickup *p = d->pickup;

    if (!p)
        return;
    if (p->conn)
        sc_close(p->conn);
    p->conn = NULL;
    d->pickup = NULL;
    uv_close((uv_handle_t *)&p->timer, timer_closed);
}
