/* smtpd_dir.c - RCPT checks against the postoffice directory, asked of the gateway over its socket. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"

#define DIR_RETRY_MS 1000
#define DIR_LOOKUP_TIMEOUT_US 10000000ull

/* Sessions waiting for an answer, by request id. */
struct dir_wait {
    struct session *s;
    uint32_t request;
    uint64_t deadline_us;
};

static struct dir_wait *waits;
static unsigned nwaits, waits_cap;

static void dir_connect(struct smtpd *d);

static uint64_t mono_us(void)
{
    return uv_hrtime() / 1000u;
}

/* Answer a waiting session and forget it. */
static void dir_answer(unsigned i, uint32_t status)
{
    struct session *s = waits[i].s;

    waits[i] = waits[--nwaits];
    s->dir_request = 0;
    commands_rcpt_looked_up(s, status);
    session_unref(s);
}

static void dir_answer_all(uint32_t status)
{
    while (nwaits)
        dir_answer(nwaits - 1, status);
}

static void dir_ready(struct ipc_uv *c, void *arg)
{
    struct smtpd *d = arg;

    d->dir.up = 1;
    log_notice("postoffice directory: connected to %s %s", ipc_uv_peer(c)->program,
               d->gateway_socket);
    d->dir.why[0] = '\0';
}

static void dir_frame(struct ipc_uv *c, struct ipc_reader *r, void *arg)
{
    struct ipc_dir_result res;

    if (ipc_decode_dir_result(r, &res) < 0) {
        log_error("postoffice directory: bad answer from the gateway: %s", r->error);
        ipc_uv_close(c);
        ((struct smtpd *)arg)->dir.conn = NULL;
        ((struct smtpd *)arg)->dir.up = 0;
        dir_answer_all(IPC_DIR_UNAVAILABLE);
        dir_connect(arg);
        return;
    }
    for (unsigned i = 0; i < nwaits; i++) {
        if (waits[i].request == r->request_id) {
            dir_answer(i, res.status);
            return;
        }
    }
}

static void dir_retry_cb(uv_timer_t *t)
{
    struct smtpd *d = t->data;
    uint64_t now = mono_us();

    for (unsigned i = 0; i < nwaits;) {
        if (waits[i].deadline_us <= now)
            dir_answer(i, IPC_DIR_UNAVAILABLE);
        else
            i++;
    }
    if (!d->dir.conn)
        dir_connect(d);
}

static void dir_closed(struct ipc_uv *c, const char *why, void *arg)
{
    struct smtpd *d = arg;

    d->dir.conn = NULL;
    if (d->dir.up || strcmp(d->dir.why, why) != 0)
        log_warn("postoffice directory unavailable (%s): %s; its recipients get 450 until it is back",
                 d->gateway_socket, why);
    d->dir.up = 0;
    snprintf(d->dir.why, sizeof(d->dir.why), "%s", why);
    dir_answer_all(IPC_DIR_UNAVAILABLE);
}

static const struct ipc_uv_ops dir_ops = {
    .ready = dir_ready, .frame = dir_frame, .closed = dir_closed,
};

static void dir_connect(struct smtpd *d)
{
    if (d->stopping || !d->cfg->gateway.domain[0])
        return;
    d->dir.conn = ipc_uv_connect(d->loop, d->gateway_socket, SMTPD_PROGRAM, "smtpd",
                                 IPC_CAP_DIRECTORY, &dir_ops, d);
}

void dir_start(struct smtpd *d)
{
    d->dir.d = d;
    snprintf(d->dir.why, sizeof(d->dir.why), "not connected yet");
    uv_timer_init(d->loop, &d->dir.retry);
    d->dir.retry.data = d;
    uv_timer_start(&d->dir.retry, dir_retry_cb, DIR_RETRY_MS, DIR_RETRY_MS);
    dir_connect(d);
}

void dir_stop(struct smtpd *d)
{
    uv_close((uv_handle_t *)&d->dir.retry, NULL);
    if (d->dir.conn)
        ipc_uv_close(d->dir.conn);
    d->dir.conn = NULL;
    dir_answer_all(IPC_DIR_UNAVAILABLE);
    free(waits);
    waits = NULL;
    waits_cap = 0;
}

void dir_lookup(struct session *s, const char *addr)
{
    struct smtpd *d = s->d;
    struct ipc_dir_lookup q;
    uint32_t id;

    if (!d->dir.up || !d->dir.conn) {
        commands_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
        return;
    }
    if (nwaits == waits_cap) {
        unsigned cap = waits_cap ? waits_cap * 2 : 16;
        struct dir_wait *p = realloc(waits, cap * sizeof(*p));

        if (!p) {
            commands_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
            return;
        }
        waits = p;
        waits_cap = cap;
    }
    snprintf(q.addr, sizeof(q.addr), "%s", addr);
    id = ipc_uv_request_id(d->dir.conn);
    if (ipc_encode_dir_lookup(ipc_uv_out(d->dir.conn), id, &q) < 0 ||
        ipc_uv_flush(d->dir.conn) < 0) {
        commands_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
        return;
    }
    waits[nwaits++] = (struct dir_wait){.s = s, .request = id,
                                        .deadline_us = mono_us() + DIR_LOOKUP_TIMEOUT_US};
    s->dir_request = id;
    session_ref(s);
}

void dir_cancel(struct session *s)
{
    if (!s->dir_request)
        return;
    for (unsigned i = 0; i < nwaits; i++) {
        if (waits[i].s == s) {
            waits[i] = waits[--nwaits];
            s->dir_request = 0;
            session_unref(s);
            return;
        }
    }
}
