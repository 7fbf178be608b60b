/* gateway_out.c - mail out of the postoffice: claim each .P1 in OUT/ as .GWK, submit to the store with an origin key, delete after the commit; bad files to OUT/BAD/; a bounded batch of files in memory at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "array.h"
#include "log.h"
#include "smtp_char.h"

/* A poll reads OUT/ in batches, submitting one before reading the next: at most this many
 * files, and no more once this many octets are held (a larger file is read alone). */
#define OUT_BATCH_FILES 64
#define OUT_BATCH_OCTETS (8u * 1024 * 1024)

struct out_item {
    char name[16]; /* "0A1B2C3D" */
    struct ipc_submit_begin begin;
    char (*rcpts)[IPC_ADDR_MAX + 1];
    size_t nrcpt;
    uint8_t *file; /* the whole transfer file */
    size_t body_off, body_len;
    int committed;
    int claimed;       /* found as .GWK */
    char refused[300]; /* the store refused it for good: goes to OUT/BAD/ */
};

struct out_cycle {
    uv_work_t req;
    struct gw_watch_op watch; /* the step on a worker */
    struct gateway *g;
    struct share *sh;
    char domain[256];
    struct po_network net;
    char **claimed, **fresh; /* the names listed at the start: .GWK first, then .P1 */
    size_t nclaimed, nfresh;
    size_t pos;             /* the next of those to read */
    struct out_item *items; /* the batch read */
    size_t nitems, items_cap;
    size_t held; /* octets of the batch's files */
    size_t next; /* submission in progress */
    int reading; /* a batch step runs on a worker: the store's loss waits for its end */
    struct sc_conn *store;
    int submitting;
    char why[GW_WHY_MAX]; /* the share failed */
    struct out_bad *bad;  /* files refused: moved to OUT/BAD/, or left claimed */
    size_t nbad;
    char bad_why[GW_WHY_MAX]; /* why OUT/BAD/ could not take a file, "" when every move worked */
};

struct out_bad {
    char line[600]; /* "NAME.P1: reason; moved to OUT/BAD/" */
    int moved;
    int again; /* found claimed and left claimed: told before while OUT/BAD/ is unusable */
};

static void out_item_free(struct out_item *it)
{
    free(it->rcpts);
    free(it->file);
}

/* Move a file that does not parse (or is no regular file) aside, with its reason next to it; a
 * file that cannot be moved safely (OUT/BAD/ not a real directory) stays claimed (claimed: it was
 * already before this poll). */
static void out_reject(struct out_cycle *c, const char *name, const char *reason, int claimed)
{
    char from[40], to[40], whyname[40], note[600];
    int moved;

    snprintf(from, sizeof(from), "OUT/%s.GWK", name);
    snprintf(to, sizeof(to), "OUT/BAD/%s.P1", name);
    snprintf(whyname, sizeof(whyname), "OUT/BAD/%s.WHY", name);
    moved = gw_share_mkdir(c->sh, "OUT/BAD", c->why, sizeof(c->why)) == 0 &&
            gw_share_rename(c->sh, from, to, c->why, sizeof(c->why)) == 0;
    if (moved) {
        snprintf(note, sizeof(note), "%s\r\n", reason);
        gw_share_write_atomic(c->sh, whyname, (const uint8_t *)note, strlen(note), c->why,
                              sizeof(c->why));
    }
    if (!moved)
        snprintf(c->bad_why, sizeof(c->bad_why), "%s", c->why);
    if (c->nbad < 64) {
        struct out_bad *b = &c->bad[c->nbad++];

        snprintf(b->line, sizeof(b->line), "%s.P1: %.250s; %s%.300s", name, reason,
                 moved ? "moved to OUT/BAD/" : "left as .GWK: ", moved ? "" : c->why);
        b->moved = moved;
        b->again = claimed && !moved;
    }
    c->why[0] = '\0';
}

/* The files set aside, each once: while OUT/BAD/ stays unusable a file left claimed is not told
 * again at every poll, nor is OUT/BAD/ itself (logged when that starts and when it ends). */
static void out_log_bad(struct out_cycle *c)
{
    struct gateway *g = c->g;
    int started = 0, moved = 0;

    for (size_t i = 0; i < c->nbad; i++)
        moved |= c->bad[i].moved;
    if (c->bad_why[0])
        started = gw_refused_state(&g->bad_refused, "OUT/BAD/", c->bad_why,
                                   "files set aside stay claimed as .GWK in OUT/");
    else if (moved)
        gw_refused_state(&g->bad_refused, "OUT/BAD/", NULL, NULL);
    for (size_t i = 0; i < c->nbad; i++)
        if (!c->bad[i].again || started)
            log_warn("OUT/%s", c->bad[i].line);
    c->nbad = 0;
    c->bad_why[0] = '\0';
}

/* Map a parsed transfer file to a submission; -1 with reason when it cannot be. */
static int out_map(struct out_cycle *c, const struct po_p1 *p1, struct out_item *it, char *reason,
                   size_t rsz)
{
    if (p1->from.kind == PO_P1_MS) {
        if (po_legacy_to_smtp(p1->from.text, c->domain, &c->net, it->begin.sender) < 0) {
            snprintf(reason, rsz, "sender %.300s is not of this postoffice", p1->from.text);
            return -1;
        }
    } else {
        snprintf(it->begin.sender, sizeof(it->begin.sender), "%s", p1->from.text);
    }
    it->rcpts = calloc(p1->nto, sizeof(*it->rcpts));
    if (!it->rcpts) {
        snprintf(reason, rsz, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p1->nto; i++) {
        if (p1->to[i].kind != PO_P1_SMTP) {
            snprintf(reason, rsz, "recipient %.300s is not an SMTP address", p1->to[i].text);
            return -1;
        }
        snprintf(it->rcpts[it->nrcpt++], IPC_ADDR_MAX + 1, "%s", p1->to[i].text);
        if (smtp_has_8bit(p1->to[i].text, strlen(p1->to[i].text)))
            it->begin.flags |= IPC_FLAG_SMTPUTF8; /* written in its RFC 6533 form in OUT/ */
    }
    if (smtp_has_8bit(it->begin.sender, strlen(it->begin.sender)))
        it->begin.flags |= IPC_FLAG_SMTPUTF8;
    snprintf(it->begin.origin, sizeof(it->begin.origin), "p1:%.8s:%.240s", it->name,
             p1->message_id);
    return 0;
}

/* A name we may take: a transfer file's (8 hex digits, .P1), or one we claimed (.GWK). */
static int out_name_ours(const char *file, int claimed)
{
    char as_p1[16];

    if (!claimed)
        return po_p1_name_valid(file);
    if (strlen(file) != 12 || strcmp(file + 8, ".GWK") != 0)
        return 0;
    snprintf(as_p1, sizeof(as_p1), "%.8s.P1", file);
    return po_p1_name_valid(as_p1);
}

/* One file could not be read (reason) while OUT/ still answers: it alone waits, claimed, and is
 * tried again at every poll; told once, when it was first claimed.  The share failing as a whole
 * stops the scan instead (c->why). */
static void out_unreadable(struct out_cycle *c, const char *name, const char *reason, int claimed)
{
    char probe[GW_WHY_MAX];

    if (gw_share_exists(c->sh, "OUT", probe, sizeof(probe)) < 0) {
        snprintf(c->why, sizeof(c->why), "%s", reason);
        return;
    }
    if (c->nbad < 64) {
        struct out_bad *b = &c->bad[c->nbad++];

        snprintf(b->line, sizeof(b->line),
                 "%s.P1: cannot be read: %.400s; left as .GWK, tried again at every poll", name,
                 reason);
        b->moved = 0;
        b->again = claimed;
    }
}

static void out_pick(struct out_cycle *c, const char *file, int claimed)
{
    char from[40], gwk[40], reason[GW_WHY_MAX];
    struct out_item it = {0};
    struct po_p1 p1;
    struct po_err err;
    size_t len;
    int rc;

    if (!out_name_ours(file, claimed))
        return; /* not a transfer file name: not ours to touch */
    snprintf(it.name, sizeof(it.name), "%.8s", file);
    snprintf(from, sizeof(from), "OUT/%s", file);
    snprintf(gwk, sizeof(gwk), "OUT/%s.GWK", it.name);
    if (!claimed && gw_share_rename(c->sh, from, gwk, c->why, sizeof(c->why)) < 0) {
        char probe[GW_WHY_MAX];

        if (gw_share_exists(c->sh, from, probe, sizeof(probe)) == 0)
            c->why[0] = '\0'; /* gone since it was listed (taken back by the postoffice) */
        return;
    }
    rc = gw_share_read_file(c->sh, gwk, &it.file, &len, reason, sizeof(reason));
    if (rc == SHARE_REFUSED) { /* nothing read through it; the reason is ours alone */
        char refused[300];

        snprintf(refused, sizeof(refused), "refused: %.200s", reason);
        out_reject(c, it.name, refused, claimed);
        return;
    }
    if (rc != 0) {
        out_unreadable(c, it.name, reason, claimed);
        return;
    }
    if (po_p1_parse(it.file, len, &p1, &err) < 0) {
        out_reject(c, it.name, err.text, claimed);
        free(it.file);
        return;
    }
    if (out_map(c, &p1, &it, reason, sizeof(reason)) < 0) {
        out_reject(c, it.name, reason, claimed);
        po_p1_free(&p1);
        out_item_free(&it);
        return;
    }
    it.claimed = claimed;
    c->held += len;
    it.body_off = p1.body_off;
    it.body_len = p1.body_len;
    po_p1_free(&p1);
    if (sg_array_reserve(&c->items, &c->items_cap, c->nitems + 1, sizeof(*c->items)) < 0) {
        out_item_free(&it);
        return;
    }
    c->items[c->nitems++] = it;
}

static int out_more(const struct out_cycle *c)
{
    return c->pos < c->nclaimed + c->nfresh;
}

/* The next batch of the listed files, read, parsed and mapped. */
static void out_read_batch(struct out_cycle *c)
{
    c->held = 0;
    while (!c->why[0] && out_more(c) && c->nitems < OUT_BATCH_FILES && c->held < OUT_BATCH_OCTETS) {
        size_t i = c->pos++;

        if (i < c->nclaimed)
            out_pick(c, c->claimed[i], 1);
        else
            out_pick(c, c->fresh[i - c->nclaimed], 0);
    }
}

static void out_scan_run(uv_work_t *req)
{
    struct out_cycle *c = req->data;

    /* Claimed files come first: left by a crash, or by a store that was down
     * (cycles never overlap, so none is in flight; the store de-duplicates). */
    if (gw_share_list(c->sh, "OUT", ".GWK", &c->claimed, &c->nclaimed, c->why, sizeof(c->why)) ==
            0 &&
        gw_share_list(c->sh, "OUT", ".P1", &c->fresh, &c->nfresh, c->why, sizeof(c->why)) == 0)
        out_read_batch(c);
}

/* The batch submitted: its files removed (committed) or set aside (refused by the store). */
static void out_settle_batch(struct out_cycle *c)
{
    for (size_t i = 0; i < c->nitems; i++) {
        char gwk[40];

        if (c->items[i].refused[0])
            out_reject(c, c->items[i].name, c->items[i].refused, c->items[i].claimed);
        if (!c->items[i].committed)
            continue;
        snprintf(gwk, sizeof(gwk), "OUT/%s.GWK", c->items[i].name);
        gw_share_unlink(c->sh, gwk, c->why, sizeof(c->why));
    }
}

static void out_items_free(struct out_cycle *c)
{
    for (size_t i = 0; i < c->nitems; i++)
        out_item_free(&c->items[i]);
    c->nitems = 0;
    c->next = 0;
}

static void out_cleanup_run(uv_work_t *req)
{
    out_settle_batch(req->data);
}

/* Between two batches: the last one settled and freed, the next one read. */
static void out_batch_run(uv_work_t *req)
{
    struct out_cycle *c = req->data;

    out_settle_batch(c);
    out_items_free(c);
    if (!c->why[0])
        out_read_batch(c);
}

static void out_cycle_free(struct out_cycle *c)
{
    out_items_free(c);
    free(c->items);
    gw_share_list_free(c->claimed, c->nclaimed);
    gw_share_list_free(c->fresh, c->nfresh);
    free(c->bad);
    free(c);
}

static void out_cleanup_done(uv_work_t *req, int status)
{
    struct out_cycle *c = req->data;

    gw_watch_end(c->g, &c->watch);
    out_log_bad(c);
    if (c->why[0])
        log_error("OUT/: %s (the claimed file is taken up again at the next poll)", c->why);
    c->g->polling = 0;
    out_cycle_free(c);
}

static void out_finish(struct out_cycle *c)
{
    sc_close(c->store);
    c->store = NULL;
    gw_watch_begin(c->g, &c->watch, 0, NULL, NULL, "moving the files taken from OUT/");
    if (uv_queue_work(c->g->loop, &c->req, out_cleanup_run, out_cleanup_done) < 0) {
        gw_watch_end(c->g, &c->watch);
        c->g->polling = 0;
        out_cycle_free(c);
    }
}

/* ---- submitting to the store, one file after the other ----------------------------------- */

static const struct sc_submit_ops out_submit_ops;

static void out_batch_done(uv_work_t *req, int status);

static void out_submit_next(struct out_cycle *c)
{
    struct out_item *it;

    if (c->next >= c->nitems && out_more(c) && !c->g->stopping) {
        gw_watch_begin(c->g, &c->watch, 0, NULL, NULL, "reading OUT/ (file %zu of %zu)", c->pos + 1,
                       c->nclaimed + c->nfresh);
        c->reading = 1;
        if (uv_queue_work(c->g->loop, &c->req, out_batch_run, out_batch_done) == 0)
            return;
        c->reading = 0;
        gw_watch_end(c->g, &c->watch);
    }
    if (c->next >= c->nitems) {
        out_finish(c);
        return;
    }
    it = &c->items[c->next];
    if (sc_submit_begin(c->store, &it->begin, &out_submit_ops, c) < 0) {
        log_error("OUT/%s.P1: cannot begin the submission (tried again at the next poll)",
                  it->name);
        out_finish(c);
        return;
    }
    /* A failure on the way ends the submission through out_submitted. */
    for (size_t i = 0; i < it->nrcpt; i++) {
        struct ipc_submit_rcpt r = {0};

        snprintf(r.addr, sizeof(r.addr), "%s", it->rcpts[i]);
        if (sc_submit_rcpt(c->store, &r) < 0)
            return;
    }
    if (sc_submit_chunk(c->store, it->file + it->body_off, it->body_len) == 0)
        sc_submit_commit(c->store);
}

static void store_lost(struct out_cycle *c, const char *why)
{
    sc_close(c->store);
    c->store = NULL;
    if (!c->g->out_store_down)
        log_warn("OUT/: mail store unavailable (%s); claimed files are submitted once it is back",
                 why);
    else
        log_debug("OUT/: mail store still unavailable (%s)", why);
    c->g->out_store_down = 1;
    if (!c->reading)
        out_finish(c); /* else out_batch_done finishes */
}

static void out_submitted(void *arg, const struct sc_status *st, const struct ipc_submitted *done)
{
    struct out_cycle *c = arg;
    struct out_item *it = &c->items[c->next];

    if (done) {
        if (c->g->out_store_down)
            log_notice("OUT/: mail store ready again: claimed files are submitted");
        c->g->out_store_down = 0;
        it->committed = 1;
        log_info("%s: from the postoffice OUT/%s.P1, from=<%s> nrcpt=%zu%s", done->qid, it->name,
                 it->begin.sender, it->nrcpt,
                 done->duplicate ? " (picked up before: no second copy)" : "");
        c->next++;
        out_submit_next(c);
        return;
    }
    if (st->lost) {
        store_lost(c, st->text);
        return;
    }
    if (st->code == IPC_ERR_PERM) {
        /* Never acceptable (too big, bad address): set aside with the store's reason. */
        snprintf(it->refused, sizeof(it->refused), "refused by the mail store: %.250s", st->text);
    } else {
        log_error("OUT/%s.P1: the store could not take it now: %s (tried again at the next poll)",
                  it->name, st->text);
    }
    out_finish(c);
}

static const struct sc_submit_ops out_submit_ops = {.done = out_submitted};

static void store_ready(struct sc_conn *u, void *arg)
{
    out_submit_next(arg);
}

static void store_closed(struct sc_conn *u, const char *why, void *arg)
{
    struct out_cycle *c = arg;

    c->store = NULL;
    store_lost(c, why);
}

static const struct sc_conn_ops store_ops = {.ready = store_ready, .closed = store_closed};

/* What a read step found of the share; when it failed the rest waits for the next poll (what was
 * read is still submitted). */
static void out_share_checked(struct out_cycle *c)
{
    gw_share_state(c->g, c->why[0] ? c->why : NULL);
    if (c->why[0])
        c->pos = c->nclaimed + c->nfresh;
    c->why[0] = '\0';
}

static void out_batch_done(uv_work_t *req, int status)
{
    struct out_cycle *c = req->data;

    c->reading = 0;
    gw_watch_end(c->g, &c->watch);
    out_log_bad(c);
    out_share_checked(c);
    if (!c->store) { /* lost meanwhile: the files read stay claimed for the next poll */
        out_finish(c);
        return;
    }
    out_submit_next(c);
}

static void out_scan_done(uv_work_t *req, int status)
{
    struct out_cycle *c = req->data;
    struct gateway *g = c->g;

    gw_watch_end(g, &c->watch);
    out_log_bad(c);
    out_share_checked(c);
    if (c->nitems == 0) {
        out_finish(c);
        return;
    }
    c->store = sc_connect(&g->sc, "submit", &store_ops, c);
    if (!c->store)
        out_finish(c);
}

void gw_out_poll(struct gateway *g)
{
    struct out_cycle *c = calloc(1, sizeof(*c));

    if (!c || !(c->bad = calloc(64, sizeof(*c->bad)))) {
        free(c);
        g->polling = 0;
        return;
    }
    c->g = g;
    c->req.data = c;
    c->net = g->net;
    c->sh = g->share;
    snprintf(c->domain, sizeof(c->domain), "%s", g->cfg->gateway.domain);
    if (!g->dir_loaded) { /* without NETWORK.GLB legacy senders cannot be mapped: wait */
        g->polling = 0;
        out_cycle_free(c);
        return;
    }
    gw_watch_begin(g, &c->watch, 0, NULL, NULL, "reading OUT/");
    if (uv_queue_work(g->loop, &c->req, out_scan_run, out_scan_done) < 0) {
        gw_watch_end(g, &c->watch);
        g->polling = 0;
        out_cycle_free(c);
    }
}
