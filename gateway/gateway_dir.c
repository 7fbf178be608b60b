/* gateway_dir.c - the postoffice directory (GLB/NETWORK.GLB, GLB/ADDRESS.GLB): read on a worker when it changes, served to smtpd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

struct dir_work {
    uv_work_t req;
    struct gw_watch_op watch;
    struct gateway *g;
    struct share *sh;
    int64_t known_mtime;
    int64_t mtime;
    int changed;
    int ok;
    int parse_error; /* the share answered; a GLB file is wrong */
    char why[GW_WHY_MAX];
    struct po_network net;
    struct po_dir dir;
    void (*done)(struct gateway *g);
};

static int dir_read(struct dir_work *w)
{
    uint8_t *text = NULL;
    size_t len;
    int64_t m1, m2;
    struct po_err err;

    if (gw_share_stat_mtime(w->sh, "GLB/ADDRESS.GLB", &m1, w->why, sizeof(w->why)) < 0 ||
        gw_share_stat_mtime(w->sh, "GLB/NETWORK.GLB", &m2, w->why, sizeof(w->why)) < 0)
        return -1;
    w->mtime = m1 > m2 ? m1 : m2;
    if (w->mtime == w->known_mtime)
        return 0;
    w->changed = 1;
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? "GLB/NETWORK.GLB" : "GLB/ADDRESS.GLB";
        int rc;

        rc = gw_share_read_file(w->sh, name, &text, &len, w->why, sizeof(w->why));
        if (rc == SHARE_REFUSED) { /* like a file that does not parse: not an outage */
            char reason[200];

            snprintf(reason, sizeof(reason), "%.150s", w->why);
            snprintf(w->why, sizeof(w->why), "share %s: %s: refused: %s", gw_share_name(w->sh),
                     name, reason);
            w->parse_error = 1;
        }
        if (rc != 0)
            return -1;
        rc = i == 0 ? po_network_glb_parse((const char *)text, len, &w->net, &err)
                    : po_address_glb_parse((const char *)text, len, &w->dir, &err);
        free(text);
        if (rc < 0) {
            snprintf(w->why, sizeof(w->why), "share %s: %s: %s", gw_share_name(w->sh), name,
                     err.text);
            w->parse_error = 1;
            return -1;
        }
    }
    return 0;
}

static void dir_work_run(uv_work_t *req)
{
    struct dir_work *w = req->data;

    w->ok = dir_read(w) == 0;
}

static void dir_work_done(uv_work_t *req, int status)
{
    struct dir_work *w = req->data;
    struct gateway *g = w->g;

    gw_watch_end(g, &w->watch);
    gw_share_state(g, w->ok || w->parse_error ? NULL : w->why);
    if (w->ok && w->changed) {
        po_dir_free(&g->dir);
        g->dir = w->dir;
        g->net = w->net;
        g->glb_mtime = w->mtime;
        if (!g->dir_loaded || g->dir_why[0])
            log_notice("postoffice directory loaded: %s/%s, %zu mailboxes", g->net.network,
                       g->net.postoffice, g->dir.count);
        else
            log_notice("postoffice directory reloaded: %zu mailboxes", g->dir.count);
        g->dir_loaded = 1;
        g->dir_why[0] = '\0';
    } else if (!w->ok) {
        po_dir_free(&w->dir);
        if (strcmp(g->dir_why, w->why) != 0)
            log_error("postoffice directory: %s%s", w->why,
                      g->dir_loaded ? " (the last good copy stays in use)" : "");
        snprintf(g->dir_why, sizeof(g->dir_why), "%s", w->why);
    }
    if (w->done)
        w->done(g);
    free(w);
}

void gw_dir_poll(struct gateway *g, void (*done)(struct gateway *g))
{
    struct dir_work *w = calloc(1, sizeof(*w));

    if (!w) {
        if (done)
            done(g);
        return;
    }
    w->req.data = w;
    w->g = g;
    w->done = done;
    w->known_mtime = g->dir_loaded ? g->glb_mtime : -1;
    w->sh = g->share;
    gw_watch_begin(g, &w->watch, 0, NULL, NULL, "reading the directory (GLB/)");
    if (uv_queue_work(g->loop, &w->req, dir_work_run, dir_work_done) < 0) {
        gw_watch_end(g, &w->watch);
        free(w);
        if (done)
            done(g);
    }
}

void gw_dir_answer(struct gateway *g, struct gw_conn *c, uint32_t request_id,
                   const struct ipc_dir_lookup *q)
{
    struct ipc_dir_result res = {.status = IPC_DIR_UNAVAILABLE};
    struct po_addr a;
    struct po_err err;

    if (g->dir_loaded) {
        res.status = IPC_DIR_UNKNOWN;
        if (po_smtp_to_legacy(q->addr, g->cfg->gateway.domain, &g->net, &a, &err) == 0 &&
            po_dir_find(&g->dir, a.mailbox)) {
            res.status = IPC_DIR_FOUND;
            po_legacy_format(&a, res.mailbox, sizeof(res.mailbox));
        }
    }
    ipc_encode_dir_result(gw_conn_out(c), request_id, &res);
    gw_conn_flush(c);
}
