/* gateway_p1.c - one transfer file into P1/, each step on a worker: exclusive temporary file written as the message streams in, journal, rename that never replaces, P1/ on disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

#define P1_CREATE_TRIES 100  /* temporary names tried before giving up */
#define P1_RENAME_TRIES 1000 /* P1/ names tried before giving up */

struct gw_p1 {
    struct share *sh;
    struct gw_journal *jr;
    pthread_mutex_t lock;
    int ready;          /* the counters are seeded and stale temporary files removed */
    uint32_t next_name; /* P1/<next_name>.P1 */
    uint32_t next_tmp;  /* P1/G<next_tmp>.TMP, 7 hex digits */
    uint64_t written, skipped;
    struct gw_sync_group dir_sync;
    char dir_why[GW_WHY_MAX]; /* why the last directory sync failed */
    int dir_rc;               /* and how: -1 or SHARE_PATH_REFUSED */
};

static int dir_sync_run(void *arg)
{
    struct gw_p1 *w = arg;

    w->dir_rc = gw_share_sync_dir(w->sh, "P1", w->dir_why, sizeof(w->dir_why));
    if (w->dir_rc == 0)
        return 0;
    errno = EIO;
    return -1;
}

struct gw_p1 *gw_p1_new(struct share *sh, struct gw_journal *jr)
{
    struct gw_p1 *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->sh = sh;
    w->jr = jr;
    pthread_mutex_init(&w->lock, NULL);
    gw_sync_group_init(&w->dir_sync, dir_sync_run, w);
    return w;
}

void gw_p1_free(struct gw_p1 *w)
{
    if (!w)
        return;
    gw_sync_group_destroy(&w->dir_sync);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void gw_p1_stats(struct gw_p1 *w, uint64_t *written, uint64_t *dir_syncs, uint64_t *skipped)
{
    pthread_mutex_lock(&w->lock);
    *written = w->written;
    *skipped = w->skipped;
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_lock(&w->dir_sync.lock);
    *dir_syncs = w->dir_sync.syncs;
    pthread_mutex_unlock(&w->dir_sync.lock);
}

static int hex_value(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c >= '0' && c <= '9')
            v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'A' && c <= 'F')
            v = v << 4 | (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Once per run, the first time the share answers: one listing of P1/ seeds both counters past every
 * name there, and our temporary files that no journal entry needs (a crash before the entry) go. */
static int p1_prepare(struct gw_p1 *w, char *why, size_t whysz)
{
    char **names;
    size_t n, removed = 0;
    uint32_t top_name = 0, top_tmp = 0;
    int any_name = 0, rc = gw_share_list(w->sh, "P1", "", &names, &n, why, whysz);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[i];
        uint32_t v;

        if (po_p1_name_valid(nm) && hex_value(nm, 8, &v) == 0) {
            if (!any_name || v > top_name)
                top_name = v;
            any_name = 1;
        } else if (strlen(nm) == 12 && nm[0] == 'G' && strcmp(nm + 8, ".TMP") == 0 &&
                   hex_value(nm + 1, 7, &v) == 0) {
            char rel[32], uwhy[GW_WHY_MAX];

            if (v >= top_tmp)
                top_tmp = v + 1;
            if (gw_journal_has_tmp(w->jr, nm))
                continue;
            snprintf(rel, sizeof(rel), "P1/%s", nm);
            if (gw_share_unlink(w->sh, rel, uwhy, sizeof(uwhy)) == 0)
                removed++;
        }
    }
    gw_share_list_free(names, n);
    {
        uint32_t jt = gw_journal_tmp_top(w->jr); /* never a name an entry still stands for */

        if (jt > top_tmp)
            top_tmp = jt;
    }
    w->next_name = any_name ? top_name + 1 : 0;
    w->next_tmp = top_tmp & 0x0fffffff;
    if (removed)
        log_notice(
            "removed %zu temporary file(s) of an earlier run from P1/ (never renamed, their mail "
            "is still queued)",
            removed);
    w->ready = 1;
    return 0;
}

static int p1_take(struct gw_p1 *w, char *name, int tmp, char *why, size_t whysz)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    if (!w->ready)
        rc = p1_prepare(w, why, whysz);
    if (rc == 0) {
        if (tmp) {
            snprintf(name, GW_TMP_NAME_MAX + 1, "G%07X.TMP", w->next_tmp);
            w->next_tmp = (w->next_tmp + 1) & 0x0fffffff;
        } else {
            po_p1_name_make(w->next_name++, name);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int gw_p1_open(struct gw_p1 *w, struct gw_p1_file *pf, const struct iovec *iov, int niov, char *why,
               size_t whysz)
{
    pf->f = NULL;
    for (int tries = 0; tries < P1_CREATE_TRIES; tries++) {
        char rel[32];
        int rc;

        if ((rc = p1_take(w, pf->tmp, 1, why, whysz)) < 0)
            return rc;
        snprintf(rel, sizeof(rel), "P1/%s", pf->tmp);
        rc = gw_share_file_create(w->sh, rel, &pf->f, why, whysz);
        if (rc == SHARE_EXISTS)
            continue;
        if (rc < 0)
            return rc;
        if (gw_p1_append(w, pf, iov, niov, why, whysz) < 0)
            return -1;
        return 0;
    }
    snprintf(why, whysz, "share %s: no free temporary name in P1/ after %d tries",
             gw_share_name(w->sh), P1_CREATE_TRIES);
    return -1;
}

int gw_p1_append(struct gw_p1 *w, struct gw_p1_file *pf, const struct iovec *iov, int niov,
                 char *why, size_t whysz)
{
    char dwhy[GW_WHY_MAX];

    if (gw_share_file_write(w->sh, pf->f, iov, niov, why, whysz) == 0)
        return 0;
    gw_share_file_finish(w->sh, pf->f, 0, dwhy,
                         sizeof(dwhy)); /* removed: no journal entry names it */
    pf->f = NULL;
    return -1;
}

void gw_p1_abort(struct gw_p1 *w, struct gw_p1_file *pf)
{
    char why[GW_WHY_MAX];

    if (pf->f)
        gw_share_file_finish(w->sh, pf->f, 0, why, sizeof(why));
    pf->f = NULL;
}

static int p1_rename(struct gw_p1 *w, const char *tmp, struct gw_p1_result *res, char *why,
                     size_t whysz)
{
    char from[32];

    snprintf(from, sizeof(from), "P1/%s", tmp);
    for (int tries = 0; tries < P1_RENAME_TRIES; tries++) {
        char to[32];
        int rc;

        if ((rc = p1_take(w, res->name, 0, why, whysz)) < 0)
            return rc;
        snprintf(to, sizeof(to), "P1/%s", res->name);
        rc = gw_share_rename_noreplace(w->sh, from, to, why, whysz);
        if (rc != SHARE_EXISTS)
            return rc;
        res->skipped++;
    }
    snprintf(why, whysz,
             "share %s: no free name in P1/ after %d tries (another writer takes every one)",
             gw_share_name(w->sh), P1_RENAME_TRIES);
    return -1;
}

static void p1_count(struct gw_p1 *w, const struct gw_p1_result *res)
{
    pthread_mutex_lock(&w->lock);
    w->skipped += res->skipped;
    w->written++;
    pthread_mutex_unlock(&w->lock);
}

static int p1_dir_sync(struct gw_p1 *w, char *why, size_t whysz)
{
    int err = 0;

    if (gw_sync_group_wait(&w->dir_sync, gw_sync_group_note(&w->dir_sync), &err) == 0)
        return 0;
    snprintf(why, whysz, "%s", w->dir_why[0] ? w->dir_why : "P1/ could not be flushed to disk");
    return w->dir_rc == SHARE_PATH_REFUSED ? SHARE_PATH_REFUSED : -1;
}

/* A delivery the journal knows from before: finish it, without writing the message a second time. */
int gw_p1_resume(struct gw_p1 *w, const char *key, const struct gw_journal_entry *e,
                 struct gw_p1_result *res, char *why, size_t whysz)
{
    char rel[32];
    int there;

    memset(res, 0, sizeof(*res));
    if (e->final[0]) {
        snprintf(res->name, sizeof(res->name), "%s", e->final);
        res->recovered = 1;
        return p1_dir_sync(w, why, whysz);
    }
    snprintf(rel, sizeof(rel), "P1/%s", e->tmp);
    there = gw_share_exists(w->sh, rel, why, whysz);
    if (there < 0)
        return there;
    if (!there) {
        /* The entry is made only once the temporary file is complete, and only a rename takes it
         * away: it was renamed, under a name the crash kept from the journal. */
        res->recovered = 1;
        return p1_dir_sync(w, why, whysz);
    }
    if ((there = p1_rename(w, e->tmp, res, why, whysz)) < 0)
        return there;
    gw_journal_renamed(w->jr, key, res->name);
    p1_count(w, res);
    return p1_dir_sync(w, why, whysz);
}

int gw_p1_commit(struct gw_p1 *w, struct gw_p1_file *pf, const char *key, struct gw_p1_result *res,
                 char *why, size_t whysz)
{
    int rc = gw_share_file_finish(w->sh, pf->f, 1, why, whysz);

    memset(res, 0, sizeof(*res));
    pf->f = NULL;
    if (rc < 0)
        return -1; /* removed by the failed finish */
    if (gw_journal_intent(w->jr, key, pf->tmp, why, whysz) < 0) {
        char rel[32], uwhy[GW_WHY_MAX];

        snprintf(rel, sizeof(rel), "P1/%s", pf->tmp);
        gw_share_unlink(w->sh, rel, uwhy,
                        sizeof(uwhy)); /* no entry names it: it is simply not sent */
        return -1;
    }
    if ((rc = p1_rename(w, pf->tmp, res, why, whysz)) < 0)
        return rc; /* the entry and the temporary file stay: the next attempt renames it */
    gw_journal_renamed(w->jr, key, res->name);
    p1_count(w, res);
    return p1_dir_sync(w, why, whysz);
}
