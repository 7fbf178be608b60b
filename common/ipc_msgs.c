/* ipc_msgs.c - one encoder and one checking decoder per IPC message type. */
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "qid.h"

#define PUT_STR(f) ipc_put_str(b, m->f)
#define PUT_U32(f) ipc_put_u32(b, m->f)
#define PUT_U64(f) ipc_put_u64(b, m->f)
#define GET_STR(f) ipc_get_str(r, m->f, sizeof(m->f))
#define GET_U32(f) ipc_get_u32(r, &m->f)
#define GET_U64(f) ipc_get_u64(r, &m->f)

static _Thread_local char msgs_error[160];

/* The frame is of the type this decoder reads? */
static int expect_type(struct ipc_reader *r, uint16_t type)
{
    if (r->error)
        return -1;
    if (r->type != type) {
        snprintf(msgs_error, sizeof(msgs_error), "%s frame given to the %s decoder",
                 ipc_type_name(r->type), ipc_type_name(type));
        r->error = msgs_error;
        return -1;
    }
    return 0;
}

static int check(struct ipc_reader *r, int ok, const char *what)
{
    if (!r->error && !ok)
        r->error = what;
    return r->error ? -1 : 0;
}

/* A queue id field: exactly 13 base32hex characters, or "" where allowed. */
static int qid_ok(const char *q, int empty_ok)
{
    uint64_t v;

    return (empty_ok && q[0] == '\0') || qid_parse(q, &v) == 0;
}

static int finish(struct ipc_reader *r)
{
    return ipc_reader_end(r);
}

/* ---- hello, error, ok --------------------------------------------------- */

int ipc_encode_hello(struct ipc_buf *b, uint32_t request_id, const struct ipc_hello *m)
{
    ipc_msg_begin(b, IPC_HELLO, request_id);
    PUT_STR(program);
    PUT_STR(role);
    PUT_U32(major);
    PUT_U32(minor);
    PUT_STR(caps_needed);
    PUT_STR(caps_offered);
    PUT_U64(generation);
    return ipc_msg_end(b);
}

int ipc_decode_hello(struct ipc_reader *r, struct ipc_hello *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_HELLO);
    GET_STR(program);
    GET_STR(role);
    GET_U32(major);
    GET_U32(minor);
    GET_STR(caps_needed);
    GET_STR(caps_offered);
    GET_U64(generation);
    check(r, m->program[0] != '\0', "hello without a program name");
    return finish(r);
}

int ipc_encode_error(struct ipc_buf *b, uint32_t request_id, const struct ipc_error *m)
{
    ipc_msg_begin(b, IPC_ERROR, request_id);
    PUT_U32(code);
    PUT_STR(text);
    return ipc_msg_end(b);
}

int ipc_decode_error(struct ipc_reader *r, struct ipc_error *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_ERROR);
    GET_U32(code);
    GET_STR(text);
    check(r, m->code >= IPC_ERR_TEMP && m->code <= IPC_ERR_CAPS, "error code out of range");
    return finish(r);
}

int ipc_encode_ok(struct ipc_buf *b, uint32_t request_id, const struct ipc_ok *m)
{
    ipc_msg_begin(b, IPC_OK, request_id);
    PUT_U64(count);
    return ipc_msg_end(b);
}

int ipc_decode_ok(struct ipc_reader *r, struct ipc_ok *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_OK);
    GET_U64(count);
    return finish(r);
}

/* ---- submission ----------------------------------------------------------- */

int ipc_encode_submit_begin(struct ipc_buf *b, uint32_t request_id,
                            const struct ipc_submit_begin *m)
{
    ipc_msg_begin(b, IPC_SUBMIT_BEGIN, request_id);
    PUT_STR(sender);
    PUT_STR(envid);
    PUT_U32(ret);
    PUT_U32(flags);
    PUT_STR(origin);
    return ipc_msg_end(b);
}

int ipc_decode_submit_begin(struct ipc_reader *r, struct ipc_submit_begin *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_SUBMIT_BEGIN);
    GET_STR(sender);
    GET_STR(envid);
    GET_U32(ret);
    GET_U32(flags);
    GET_STR(origin);
    check(r, m->ret <= IPC_RET_HDRS, "DSN RET out of range");
    check(r, (m->flags & ~(IPC_FLAG_8BITMIME | IPC_FLAG_SMTPUTF8 | IPC_FLAG_DSN_MSG)) == 0,
          "unknown envelope flags");
    return finish(r);
}

int ipc_encode_submit_rcpt(struct ipc_buf *b, uint32_t request_id,
                           const struct ipc_submit_rcpt *m)
{
    ipc_msg_begin(b, IPC_SUBMIT_RCPT, request_id);
    PUT_STR(addr);
    PUT_STR(orcpt);
    PUT_U32(notify);
    return ipc_msg_end(b);
}

int ipc_decode_submit_rcpt(struct ipc_reader *r, struct ipc_submit_rcpt *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_SUBMIT_RCPT);
    GET_STR(addr);
    GET_STR(orcpt);
    GET_U32(notify);
    check(r, m->notify <= 0xf, "DSN NOTIFY out of range");
    return finish(r);
}

/* CHUNK travels as SUBMIT_CHUNK (client -> store) or CHUNK (store -> client). */
static int encode_chunk_as(struct ipc_buf *b, uint16_t type, uint32_t request_id,
                           const struct ipc_chunk *m)
{
    ipc_msg_begin(b, type, request_id);
    ipc_put_bytes(b, m->data, m->len);
    if (m->len == 0 || m->len > IPC_CHUNK_MAX)
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_encode_chunk(struct ipc_buf *b, uint32_t request_id, const struct ipc_chunk *m)
{
    return encode_chunk_as(b, IPC_CHUNK, request_id, m);
}

int ipc_encode_submit_chunk(struct ipc_buf *b, uint32_t request_id, const struct ipc_chunk *m)
{
    return encode_chunk_as(b, IPC_SUBMIT_CHUNK, request_id, m);
}

int ipc_decode_chunk(struct ipc_reader *r, struct ipc_chunk *m)
{
    memset(m, 0, sizeof(*m));
    if (r->type != IPC_SUBMIT_CHUNK)
        expect_type(r, IPC_CHUNK);
    ipc_get_bytes(r, &m->data, &m->len, IPC_CHUNK_MAX);
    check(r, m->len > 0, "empty chunk");
    return finish(r);
}

int ipc_encode_submit_commit(struct ipc_buf *b, uint32_t request_id,
                             const struct ipc_submit_commit *m)
{
    ipc_msg_begin(b, IPC_SUBMIT_COMMIT, request_id);
    PUT_U64(size);
    return ipc_msg_end(b);
}

int ipc_decode_submit_commit(struct ipc_reader *r, struct ipc_submit_commit *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_SUBMIT_COMMIT);
    GET_U64(size);
    return finish(r);
}

int ipc_encode_submitted(struct ipc_buf *b, uint32_t request_id, const struct ipc_submitted *m)
{
    ipc_msg_begin(b, IPC_SUBMITTED, request_id);
    PUT_STR(qid);
    PUT_U64(generation);
    PUT_U32(duplicate);
    return ipc_msg_end(b);
}

int ipc_decode_submitted(struct ipc_reader *r, struct ipc_submitted *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_SUBMITTED);
    GET_STR(qid);
    GET_U64(generation);
    GET_U32(duplicate);
    check(r, qid_ok(m->qid, 0), "bad queue id");
    check(r, m->duplicate <= 1, "duplicate flag out of range");
    return finish(r);
}

/* ---- reading messages ------------------------------------------------------ */

int ipc_encode_envelope(struct ipc_buf *b, uint32_t request_id, const struct ipc_envelope *m)
{
    ipc_msg_begin(b, IPC_ENVELOPE, request_id);
    PUT_STR(qid);
    PUT_U64(generation);
    PUT_STR(sender);
    PUT_U64(arrival_us);
    PUT_U64(size);
    PUT_U32(flags);
    PUT_U32(ret);
    PUT_STR(envid);
    PUT_STR(origin);
    PUT_U32(nrcpt);
    return ipc_msg_end(b);
}

int ipc_decode_envelope(struct ipc_reader *r, struct ipc_envelope *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_ENVELOPE);
    GET_STR(qid);
    GET_U64(generation);
    GET_STR(sender);
    GET_U64(arrival_us);
    GET_U64(size);
    GET_U32(flags);
    GET_U32(ret);
    GET_STR(envid);
    GET_STR(origin);
    GET_U32(nrcpt);
    check(r, qid_ok(m->qid, 0), "bad queue id");
    check(r, m->ret <= IPC_RET_HDRS, "DSN RET out of range");
    return finish(r);
}

int ipc_encode_rcpt(struct ipc_buf *b, uint32_t request_id, const struct ipc_rcpt *m)
{
    ipc_msg_begin(b, IPC_RCPT, request_id);
    PUT_STR(qid);
    PUT_U32(index);
    PUT_STR(addr);
    PUT_STR(orcpt);
    PUT_U32(notify);
    PUT_U32(state);
    PUT_STR(route);
    PUT_U32(attempts);
    PUT_U64(next_attempt_us);
    PUT_U64(last_attempt_us);
    PUT_STR(last_reply);
    return ipc_msg_end(b);
}

int ipc_decode_rcpt(struct ipc_reader *r, struct ipc_rcpt *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_RCPT);
    GET_STR(qid);
    GET_U32(index);
    GET_STR(addr);
    GET_STR(orcpt);
    GET_U32(notify);
    GET_U32(state);
    GET_STR(route);
    GET_U32(attempts);
    GET_U64(next_attempt_us);
    GET_U64(last_attempt_us);
    GET_STR(last_reply);
    check(r, qid_ok(m->qid, 0), "bad queue id");
    check(r, m->state < RCPT_STATE_COUNT, "recipient state out of range");
    return finish(r);
}

int ipc_encode_end(struct ipc_buf *b, uint32_t request_id, const struct ipc_end *m)
{
    ipc_msg_begin(b, IPC_END, request_id);
    PUT_U64(count);
    return ipc_msg_end(b);
}

int ipc_decode_end(struct ipc_reader *r, struct ipc_end *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_END);
    GET_U64(count);
    return finish(r);
}

/* ---- updates, lists, due work --------------------------------------------- */

int ipc_encode_rcpt_update(struct ipc_buf *b, uint32_t request_id,
                           const struct ipc_rcpt_update *m)
{
    ipc_msg_begin(b, IPC_UPDATE_RCPT, request_id);
    PUT_STR(qid);
    PUT_U32(index);
    PUT_U32(state);
    PUT_STR(route);
    PUT_U32(attempts);
    PUT_U64(next_attempt_us);
    PUT_U64(last_attempt_us);
    PUT_STR(last_reply);
    return ipc_msg_end(b);
}

int ipc_decode_rcpt_update(struct ipc_reader *r, struct ipc_rcpt_update *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_UPDATE_RCPT);
    GET_STR(qid);
    GET_U32(index);
    GET_U32(state);
    GET_STR(route);
    GET_U32(attempts);
    GET_U64(next_attempt_us);
    GET_U64(last_attempt_us);
    GET_STR(last_reply);
    check(r, qid_ok(m->qid, 0), "bad queue id");
    check(r, m->state < RCPT_STATE_COUNT, "recipient state out of range");
    return finish(r);
}

int ipc_encode_list_req(struct ipc_buf *b, uint32_t request_id, const struct ipc_list_req *m)
{
    ipc_msg_begin(b, IPC_LIST, request_id);
    PUT_U32(state_mask);
    PUT_STR(match);
    PUT_U32(limit);
    return ipc_msg_end(b);
}

int ipc_decode_list_req(struct ipc_reader *r, struct ipc_list_req *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_LIST);
    GET_U32(state_mask);
    GET_STR(match);
    GET_U32(limit);
    check(r, m->state_mask < (1u << RCPT_STATE_COUNT), "state mask out of range");
    return finish(r);
}

int ipc_encode_due_req(struct ipc_buf *b, uint32_t request_id, const struct ipc_due_req *m)
{
    ipc_msg_begin(b, IPC_DUE, request_id);
    PUT_U64(before_us);
    PUT_U32(limit);
    return ipc_msg_end(b);
}

int ipc_decode_due_req(struct ipc_reader *r, struct ipc_due_req *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_DUE);
    GET_U64(before_us);
    GET_U32(limit);
    return finish(r);
}

int ipc_encode_due_item(struct ipc_buf *b, uint32_t request_id, const struct ipc_due_item *m)
{
    ipc_msg_begin(b, IPC_DUE_ITEM, request_id);
    PUT_STR(qid);
    PUT_U32(index);
    PUT_U32(state);
    PUT_U64(next_attempt_us);
    return ipc_msg_end(b);
}

int ipc_decode_due_item(struct ipc_reader *r, struct ipc_due_item *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_DUE_ITEM);
    GET_STR(qid);
    GET_U32(index);
    GET_U32(state);
    GET_U64(next_attempt_us);
    check(r, qid_ok(m->qid, 0), "bad queue id");
    check(r, m->state < RCPT_STATE_COUNT, "recipient state out of range");
    return finish(r);
}

/* ---- stats, events, plain requests ------------------------------------------ */

int ipc_encode_stats(struct ipc_buf *b, uint32_t request_id, const struct ipc_stats *m)
{
    ipc_msg_begin(b, IPC_STATS_REPLY, request_id);
    PUT_U64(generation);
    PUT_U64(messages);
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        PUT_U64(by_state[i]);
    PUT_U64(adopted);
    PUT_U64(started_us);
    return ipc_msg_end(b);
}

int ipc_decode_stats(struct ipc_reader *r, struct ipc_stats *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_STATS_REPLY);
    GET_U64(generation);
    GET_U64(messages);
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        GET_U64(by_state[i]);
    GET_U64(adopted);
    GET_U64(started_us);
    return finish(r);
}

int ipc_encode_event(struct ipc_buf *b, uint32_t request_id, const struct ipc_event *m)
{
    ipc_msg_begin(b, IPC_EVENT, request_id);
    PUT_U32(kind);
    PUT_STR(qid);
    return ipc_msg_end(b);
}

int ipc_decode_event(struct ipc_reader *r, struct ipc_event *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_EVENT);
    GET_U32(kind);
    GET_STR(qid);
    check(r, m->kind == IPC_EV_COMMITTED || m->kind == IPC_EV_REQUEUED, "unknown event kind");
    check(r, qid_ok(m->qid, 1), "bad queue id");
    return finish(r);
}

static int qid_msg_type(uint16_t type, int *empty_ok)
{
    *empty_ok = type == IPC_REQUEUE || type == IPC_HOLD || type == IPC_RELEASE;
    return *empty_ok || type == IPC_READ_ENVELOPE || type == IPC_READ_BODY ||
           type == IPC_SUBMIT_STARTED || type == IPC_DELETE;
}

int ipc_encode_qid_msg(struct ipc_buf *b, uint16_t type, uint32_t request_id,
                       const struct ipc_qid_msg *m)
{
    int empty_ok;

    ipc_msg_begin(b, type, request_id);
    PUT_STR(qid);
    if (!qid_msg_type(type, &empty_ok))
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_decode_qid_msg(struct ipc_reader *r, struct ipc_qid_msg *m)
{
    int empty_ok = 0;

    memset(m, 0, sizeof(*m));
    if (!r->error && !qid_msg_type(r->type, &empty_ok)) {
        snprintf(msgs_error, sizeof(msgs_error), "%s frame given to the queue-id decoder",
                 ipc_type_name(r->type));
        r->error = msgs_error;
    }
    GET_STR(qid);
    check(r, qid_ok(m->qid, empty_ok), "bad queue id");
    return finish(r);
}

static int empty_type(uint16_t type)
{
    return type == IPC_SUBMIT_ABORT || type == IPC_STATS || type == IPC_SUBSCRIBE;
}

int ipc_encode_empty(struct ipc_buf *b, uint16_t type, uint32_t request_id)
{
    ipc_msg_begin(b, type, request_id);
    if (!empty_type(type))
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_decode_empty(struct ipc_reader *r)
{
    if (!r->error && !empty_type(r->type)) {
        snprintf(msgs_error, sizeof(msgs_error), "%s frame given to the empty decoder",
                 ipc_type_name(r->type));
        r->error = msgs_error;
    }
    return finish(r);
}

/* ---- hello negotiation ------------------------------------------------------ */

static int caps_has(const char *list, const char *cap, size_t n)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, cap, n) == 0)
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

int ipc_hello_check(const struct ipc_hello *peer, const char *needed, uint32_t *code, char *why,
                    size_t whysz)
{
    if (peer->major != IPC_PROTO_MAJOR) {
        *code = IPC_ERR_VERSION;
        snprintf(why, whysz, "peer %s speaks protocol %u.%u, we speak %u.%u", peer->program,
                 peer->major, peer->minor, IPC_PROTO_MAJOR, IPC_PROTO_MINOR);
        return -1;
    }
    for (const char *p = needed; *p;) {
        size_t len = strcspn(p, ",");
        if (len && !caps_has(peer->caps_offered, p, len)) {
            *code = IPC_ERR_CAPS;
            snprintf(why, whysz, "peer %s does not offer capability '%.*s'", peer->program,
                     (int)len, p);
            return -1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}
