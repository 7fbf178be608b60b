/* smtpd_dir.c - RCPT checks against the postoffice directory, asked of the gateway over its socket. */
#include <stdlib.h>
#include <string.h>

#include "array.h"
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
static unsigned nwaits;
static size_t waits_cap;

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
    smtpd_cmd_rcpt_looked_up(s, status);
    smtpd_session_unref(s);
}

static void dir_answer_all(uint32_t status)
{
    while (nwaits)
        dir_answer(nwaits - 1, status);
}

static void dir_frame(struct ipc_link *l, struct ipc_reader *r, void *arg)
{
    struct ipc_dir_result res;

    if (ipc_decode_dir_result(r, &res) < 0) {
        log_error("postoffice directory: bad answer from the gateway: %s", r->error);
        ipc_link_reset(l, "bad answer from the gateway"); /* answers everyone through dir_down */
        return;
    }
    for (unsigned i = 0; i < nwaits; i++) {
        if (waits[i].request == r->request_id) {
            dir_answer(i, res.status);
            return;
        }
    }
}

static void dir_down(struct ipc_link *l, const char *why, void *arg)
{
    dir_answer_all(IPC_DIR_UNAVAILABLE);
}

static const struct ipc_link_ops dir_ops = {.frame = dir_frame, .down = dir_down};

/* Lookups that got no answer in time are answered "unavailable". */
static void dir_timeout_cb(uv_timer_t *t)
{
    uint64_t now = mono_us();

    for (unsigned i = 0; i < nwaits;) {
        if (waits[i].deadline_us <= now)
            dir_answer(i, IPC_DIR_UNAVAILABLE);
        else
            i++;
    }
}

static uv_timer_t dir_timer;

void smtpd_dir_start(struct smtpd *d)
{
    if (!d->cfg->gateway.domain[0])
        return;
    d->dir.link = ipc_link_start(d->loop, "postoffice directory", d->gateway_socket, SMTPD_PROGRAM,
                                 "smtpd", IPC_CAP_DIRECTORY, DIR_RETRY_MS, &dir_ops, d);
    if (!d->dir.link)
        log_fatal("out of memory");
    uv_timer_init(d->loop, &dir_timer);
    uv_timer_start(&dir_timer, dir_timeout_cb, DIR_RETRY_MS, DIR_RETRY_MS);
}

void smtpd_dir_stop(struct smtpd *d)
{
    if (!d->dir.link)
        return;
    uv_close((uv_handle_t *)&dir_timer, NULL);
    ipc_link_stop(d->dir.link);
    d->dir.link = NULL;
    dir_answer_all(IPC_DIR_UNAVAILABLE);
    free(waits);
    waits = NULL;
    waits_cap = 0;
}

void smtpd_dir_lookup(struct session *s, const char *addr)
{
    struct ipc_uv *conn = ipc_link_conn(s->d->dir.link);
    struct ipc_dir_lookup q;
    uint32_t id;

    if (!conn) {
        smtpd_cmd_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
        return;
    }
    if (sg_array_reserve(&waits, &waits_cap, (size_t)nwaits + 1, sizeof(*waits)) < 0) {
        smtpd_cmd_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
        return;
    }
    snprintf(q.addr, sizeof(q.addr), "%s", addr);
    id = ipc_uv_request_id(conn);
    if (ipc_encode_dir_lookup(ipc_uv_out(conn), id, &q) < 0 || ipc_uv_flush(conn) < 0) {
        smtpd_cmd_rcpt_looked_up(s, IPC_DIR_UNAVAILABLE);
        return;
    }
    waits[nwaits++] =
        (struct dir_wait){.s = s, .request = id, .deadline_us = mono_us() + DIR_LOOKUP_TIMEOUT_US};
    s->dir_request = id;
    smtpd_session_ref(s);
}

void smtpd_dir_cancel(struct session *s)
{
    if (!s->dir_request)
        return;
    for (unsigned i = 0; i < nwaits; i++) {
        if (waits[i].s == s) {
            waits[i] = waits[--nwaits];
            s->dir_request = 0;
            smtpd_session_unref(s);
            return;
        }
    }
}
