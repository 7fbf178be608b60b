/* store_client_stream.c - the store client's streams: a submission (begin, recipients, chunks with back-pressure, commit or abort) and a message read (envelope, recipients, body chunks, pause/resume). */
#include "store_client_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- the stream's end ------------------------------------------------------------------- */

void sc_stream_fail(struct sc_conn *c, const struct sc_status *st)
{
    enum sc_stream was = c->stream;

    c->stream = SC_IDLE;
    if (was == SC_SUBMITTING || was == SC_COMMITTING) {
        if (c->sops->done)
            c->sops->done(c->sarg, st, NULL);
    } else if (was != SC_IDLE && c->rops->failed) {
        c->rops->failed(c->sarg, st);
    }
}

/* The store refused the stream; the connection stays. */
static void stream_refused(struct sc_conn *c, struct ipc_reader *rd)
{
    struct ipc_error e;
    struct sc_status st;

    if (ipc_decode_error(rd, &e) < 0) {
        sc_protocol_error(c, rd->error);
        return;
    }
    st = (struct sc_status){.code = e.code, .text = e.text};
    sc_stream_fail(c, &st);
}

static void stream_unexpected(struct sc_conn *c, struct ipc_reader *rd)
{
    char why[128];

    snprintf(why, sizeof(why), "unexpected %s (request %u)%s%s", ipc_type_name(rd->type),
             rd->request_id, rd->error ? ": " : "", rd->error ? rd->error : "");
    sc_protocol_error(c, why);
}

/* ---- submitting ------------------------------------------------------------------------- */

int sc_submit_begin(struct sc_conn *c, const struct ipc_submit_begin *b,
                    const struct sc_submit_ops *ops, void *arg)
{
    uint32_t id;

    if (!c || !c->ready || c->dead || c->stream != SC_IDLE)
        return -1;
    id = ipc_uv_request_id(c->uv);
    if (ipc_encode_submit_begin(ipc_uv_out(c->uv), id, b) < 0)
        return -1;
    c->stream = SC_SUBMITTING;
    c->stream_id = id;
    c->commit_id = 0;
    c->size = 0;
    c->sops = ops;
    c->sarg = arg;
    /* Not sent yet: the recipients that follow at once send it with them, so a loss
     * can only end the submission (through done) in a call that reports it. */
    return 0;
}

static int submit_send(struct sc_conn *c, int built)
{
    if (built < 0) {
        sc_fail(c, "cannot build a frame for the store");
        return -1;
    }
    return sc_send(c);
}

int sc_submit_rcpt(struct sc_conn *c, const struct ipc_submit_rcpt *r)
{
    if (c->dead || c->stream != SC_SUBMITTING)
        return -1;
    return submit_send(c, ipc_encode_submit_rcpt(ipc_uv_out(c->uv), 0, r));
}

int sc_submit_chunk(struct sc_conn *c, const void *data, size_t len)
{
    if (c->dead || c->stream != SC_SUBMITTING)
        return -1;
    if (len == 0)
        return 0;
    c->size += len;
    return submit_send(c, sc_frames_chunks(ipc_uv_out(c->uv), data, len));
}

int sc_submit_full(const struct sc_conn *c)
{
    return sc_pending(c) > SC_BACKLOG_MAX;
}

uint64_t sc_submit_size(const struct sc_conn *c)
{
    return c->size;
}

int sc_submit_commit(struct sc_conn *c)
{
    struct ipc_submit_commit cm = {.size = c->size};

    if (c->dead || c->stream != SC_SUBMITTING)
        return -1;
    c->commit_id = ipc_uv_request_id(c->uv);
    c->stream = SC_COMMITTING;
    return submit_send(c, ipc_encode_submit_commit(ipc_uv_out(c->uv), c->commit_id, &cm));
}

static int abort_encode(struct sg_buf *b, uint32_t id, void *arg)
{
    (void)arg;
    return ipc_encode_empty(b, IPC_SUBMIT_ABORT, id);
}

void sc_submit_abort(struct sc_conn *c)
{
    if (c->dead || c->stream != SC_SUBMITTING)
        return;
    c->stream = SC_IDLE;
    c->forgotten_id = c->stream_id;
    /* Its IPC_OK is taken by the request and told to nobody. */
    if (sc_request(c, abort_encode, NULL, NULL, NULL) < 0)
        sc_fail(c, "cannot abort the submission");
}

static void submit_frame(struct sc_conn *c, struct ipc_reader *rd)
{
    char qid[IPC_QID_MAX + 1];
    struct ipc_submitted done;
    struct ipc_error e;
    struct sc_status ok = {.code = 0, .text = ""};
    int got = sc_frames_submit_answer(rd, qid, &done, &e);

    if (got == 0 && rd->request_id == c->stream_id) {
        if (c->sops->started)
            c->sops->started(c->sarg, qid);
    } else if (got == 1 && c->stream == SC_COMMITTING && rd->request_id == c->commit_id) {
        c->stream = SC_IDLE;
        if (c->sops->done)
            c->sops->done(c->sarg, &ok, &done);
    } else {
        stream_unexpected(c, rd);
    }
}

/* ---- reading ------------------------------------------------------------------------------ */

static int read_start(struct sc_conn *c, uint16_t type, enum sc_stream stream, const char *qid,
                      const struct sc_read_ops *ops, void *arg)
{
    struct ipc_qid_msg q;
    uint32_t id;

    if (!c || !c->ready || c->dead || c->stream != SC_IDLE)
        return -1;
    snprintf(q.qid, sizeof(q.qid), "%s", qid);
    id = ipc_uv_request_id(c->uv);
    if (ipc_encode_qid_msg(ipc_uv_out(c->uv), type, id, &q) < 0)
        return -1;
    c->stream = stream;
    c->stream_id = id;
    c->saw_envelope = 0;
    c->nrcpt = c->rcpts_seen = 0;
    c->rops = ops;
    c->sarg = arg;
    sc_send(c); /* a loss ends the read through failed */
    return 0;
}

int sc_read_envelope(struct sc_conn *c, const char *qid, const struct sc_read_ops *ops, void *arg)
{
    return read_start(c, IPC_READ_ENVELOPE, SC_READ_ENVELOPE, qid, ops, arg);
}

int sc_read_body(struct sc_conn *c, const char *qid, const struct sc_read_ops *ops, void *arg)
{
    return read_start(c, IPC_READ_BODY, SC_READ_BODY, qid, ops, arg);
}

void sc_read_pause(struct sc_conn *c, int paused)
{
    if (!c->dead && c->uv)
        ipc_uv_pause(c->uv, paused);
}

/* ---- a connection for one read --------------------------------------------------------- */

static void open_ready(struct sc_conn *c, void *arg)
{
    struct sc_status st = {.code = IPC_ERR_TEMP, .text = "cannot start the read"};

    c->open_started = 1;
    if (sc_read_body(c, c->open_qid, c->rops, arg) < 0 && c->rops->failed)
        c->rops->failed(arg, &st);
}

/* Lost before the read began (once it has, the read itself is told). */
static void open_closed(struct sc_conn *c, const char *why, void *arg)
{
    struct sc_status st = {.lost = 1, .code = IPC_ERR_TEMP, .text = why};

    if (!c->open_started && c->rops->failed)
        c->rops->failed(arg, &st);
}

static const struct sc_conn_ops open_ops = {.ready = open_ready, .closed = open_closed};

/* ---- kept connections ------------------------------------------------------------------ */

static void idle_remove(struct store_client *sc, struct sc_conn *c)
{
    for (unsigned i = 0; i < sc->nidle_readers; i++)
        if (sc->idle_readers[i] == c) {
            sc->idle_readers[i] = sc->idle_readers[--sc->nidle_readers];
            return;
        }
}

/* A kept connection the store closed: it is forgotten (and freed by the client). */
static void idle_closed(struct sc_conn *c, const char *why, void *arg)
{
    idle_remove(c->sc, c);
}

static const struct sc_conn_ops idle_ops = {.closed = idle_closed};

/* While a kept connection's read starts, a failure (the write refused at once) must not reach
 * the new owner before sc_open_body has returned: it only marks the attempt. */
static void reuse_failed(void *arg, const struct sc_status *st)
{
    *(int *)arg = 1;
}

static const struct sc_read_ops reuse_ops = {.failed = reuse_failed};

/* The read started on a kept connection, or NULL (it is closed) when that cannot be done. */
static struct sc_conn *body_reuse(struct store_client *sc, const char *qid,
                                  const struct sc_read_ops *ops, void *arg)
{
    while (sc->nidle_readers > 0) {
        struct sc_conn *c = sc->idle_readers[--sc->nidle_readers];
        int failed = 0;

        c->ops = &open_ops;
        c->arg = arg;
        c->open_started = 1;
        sc_enter(c);
        if (read_start(c, IPC_READ_BODY, SC_READ_BODY, qid, &reuse_ops, &failed) == 0 && !failed &&
            !c->dead) {
            c->rops = ops;
            c->sarg = arg;
            sc_leave(c);
            return c;
        }
        c->quiet = 1;
        if (!sc_leave(c))
            sc_close(c);
    }
    return NULL;
}

void sc_release_body(struct sc_conn *c)
{
    struct store_client *sc;

    if (!c)
        return;
    sc = c->sc;
    if (!c->reader || c->dead || !c->ready || c->stream != SC_IDLE || c->head || !sc->loop ||
        sc->nidle_readers >= SC_IDLE_READERS) {
        sc_close(c);
        return;
    }
    c->ops = &idle_ops;
    c->arg = NULL;
    c->rops = NULL;
    c->sarg = NULL;
    sc_read_pause(c, 0); /* an idle one still hears the store close it */
    sc->idle_readers[sc->nidle_readers++] = c;
}

void sc_drop_idle(struct store_client *sc)
{
    while (sc->nidle_readers > 0)
        sc_close(sc->idle_readers[--sc->nidle_readers]);
}

struct sc_conn *sc_open_body(struct store_client *sc, const char *qid,
                             const struct sc_read_ops *ops, void *arg)
{
    struct sc_conn *c = body_reuse(sc, qid, ops, arg);

    if (c)
        return c;
    if ((c = sc_connect(sc, "read", &open_ops, arg)) != NULL) {
        snprintf(c->open_qid, sizeof(c->open_qid), "%s", qid);
        c->rops = ops;
        c->reader = 1;
    }
    return c;
}

static void read_end(struct sc_conn *c)
{
    c->stream = SC_IDLE; /* before the call: end may start the next stream */
    if (c->rops->end)
        c->rops->end(c->sarg);
}

static void envelope_frame(struct sc_conn *c, struct ipc_reader *rd)
{
    struct ipc_envelope env;
    struct ipc_rcpt r;

    if (rd->type == IPC_ENVELOPE && !c->saw_envelope && ipc_decode_envelope(rd, &env) == 0) {
        c->saw_envelope = 1;
        c->nrcpt = env.nrcpt;
        if (c->rops->envelope)
            c->rops->envelope(c->sarg, &env);
    } else if (rd->type == IPC_RCPT && c->saw_envelope && c->rcpts_seen < c->nrcpt &&
               ipc_decode_rcpt(rd, &r) == 0) {
        c->rcpts_seen++;
        if (c->rops->rcpt)
            c->rops->rcpt(c->sarg, &r);
    } else if (rd->type == IPC_END && c->saw_envelope) {
        read_end(c);
    } else {
        stream_unexpected(c, rd);
    }
}

static void body_frame(struct sc_conn *c, struct ipc_reader *rd)
{
    struct ipc_chunk ch;

    if (rd->type == IPC_CHUNK && ipc_decode_chunk(rd, &ch) == 0) {
        if (c->rops->chunk)
            c->rops->chunk(c->sarg, ch.data, ch.len);
    } else if (rd->type == IPC_END) {
        read_end(c);
    } else {
        stream_unexpected(c, rd);
    }
}

void sc_stream_frame(struct sc_conn *c, struct ipc_reader *rd)
{
    int submitting = c->stream == SC_SUBMITTING || c->stream == SC_COMMITTING;

    /* A refusal answers the stream's request, the commit, or (0) the connection. */
    if (rd->type == IPC_ERROR && (rd->request_id == c->stream_id || rd->request_id == 0 ||
                                  (c->stream == SC_COMMITTING && rd->request_id == c->commit_id))) {
        stream_refused(c, rd);
        return;
    }
    if (submitting)
        submit_frame(c, rd);
    else if (rd->request_id != c->stream_id)
        stream_unexpected(c, rd);
    else if (c->stream == SC_READ_ENVELOPE)
        envelope_frame(c, rd);
    else
        body_frame(c, rd);
}
