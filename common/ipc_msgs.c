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

/*
 * Each message's fields are listed once, in wire order; the encoder and the
 * decoder are both generated from that list, so they cannot disagree.  The
 * lists are kept out of clang-format, which would reflow them differently
 * on every run.
 */
/* clang-format off */
#define FIELDS_hello(X) X(STR, program) X(STR, role) X(U32, major) X(U32, minor) \
    X(STR, caps_needed) X(STR, caps_offered) X(U64, generation)
#define FIELDS_role(X) X(STR, role) X(STR, site) X(STR, master) X(STR, master_addr) \
    X(U64, generation)
#define FIELDS_error(X) X(U32, code) X(STR, text)
#define FIELDS_ok(X) X(U64, count)
#define FIELDS_submit_begin(X) X(STR, sender) X(STR, envid) X(U32, ret) X(U32, flags) \
    X(STR, origin)
#define FIELDS_submit_rcpt(X) X(STR, addr) X(STR, orcpt) X(U32, notify)
#define FIELDS_submit_commit(X) X(U64, size)
#define FIELDS_submitted(X) X(STR, qid) X(U64, generation) X(U32, duplicate)
#define FIELDS_envelope(X) X(STR, qid) X(U64, generation) X(STR, sender) X(U64, arrival_us) \
    X(U64, size) X(U32, flags) X(U32, ret) X(STR, envid) X(STR, origin) X(U32, nrcpt)
#define FIELDS_rcpt(X) X(STR, qid) X(U32, index) X(STR, addr) X(STR, orcpt) X(U32, notify) \
    X(U32, state) X(STR, route) X(U32, attempts) X(U64, next_attempt_us)              \
    X(U64, last_attempt_us) X(STR, last_reply)
#define FIELDS_end(X) X(U64, count)
#define FIELDS_rcpt_update(X) X(STR, qid) X(U32, index) X(U32, state) X(STR, route) \
    X(U32, attempts) X(U64, next_attempt_us) X(U64, last_attempt_us) X(STR, last_reply)
#define FIELDS_list_req(X) X(U32, state_mask) X(STR, match) X(U32, limit)
#define FIELDS_due_req(X) X(U64, before_us) X(U32, limit)
#define FIELDS_list_from(X) X(U32, state_mask) X(STR, after_qid) X(U32, limit)
#define FIELDS_due_item(X) X(STR, qid) X(U32, index) X(U32, state) X(U64, next_attempt_us)
#define FIELDS_event(X) X(U32, kind) X(STR, qid)
#define FIELDS_dir_lookup(X) X(STR, addr)
#define FIELDS_dir_result(X) X(U32, status) X(STR, mailbox)
#define FIELDS_gw_deliver(X) X(STR, qid) X(STR, indexes)
#define FIELDS_gw_recorded(X) FIELDS_gw_deliver(X)
#define FIELDS_gw_result(X) X(STR, qid) X(U32, index) X(U32, state) X(STR, status) X(STR, reply)
/* clang-format on */

#define ENCODE_FIELD(kind, f) PUT_##kind(f);
#define DECODE_FIELD(kind, f) GET_##kind(f);

/* encode and decode for message `name` of wire type `type`; `valid`
 * checks the decoded values (a statement using r and m). */
#define IPC_CODEC(name, type, structname, valid)                                      \
    int ipc_encode_##name(struct sg_buf *b, uint32_t request_id, const structname *m) \
    {                                                                                 \
        ipc_msg_begin(b, type, request_id);                                           \
        FIELDS_##name(ENCODE_FIELD) return ipc_msg_end(b);                            \
    }                                                                                 \
    int ipc_decode_##name(struct ipc_reader *r, structname *m)                        \
    {                                                                                 \
        memset(m, 0, sizeof(*m));                                                     \
        expect_type(r, type);                                                         \
        FIELDS_##name(DECODE_FIELD) valid;                                            \
        return finish(r);                                                             \
    }

#define NO_CHECK ((void)0)
#define QID_CHECK check(r, qid_ok(m->qid, 0), "bad queue id")
#define STATE_CHECK check(r, m->state < RCPT_STATE_COUNT, "recipient state out of range")
#define FLAGS_KNOWN (IPC_FLAG_8BITMIME | IPC_FLAG_SMTPUTF8 | IPC_FLAG_DSN_MSG)

IPC_CODEC(hello, IPC_HELLO, struct ipc_hello,
          check(r, m->program[0] != '\0', "hello without a program name"))
IPC_CODEC(role, IPC_ROLE, struct ipc_role,
          (check(r, m->role[0] != '\0', "role message without a role"),
           check(r, strcmp(m->role, IPC_ROLE_MASTER) != 0 || m->generation != 0,
                 "a master without a generation")))
IPC_CODEC(error, IPC_ERROR, struct ipc_error,
          check(r, m->code >= IPC_ERR_TEMP && m->code <= IPC_ERR_CAPS, "error code out of range"))
IPC_CODEC(ok, IPC_OK, struct ipc_ok, NO_CHECK)
IPC_CODEC(submit_begin, IPC_SUBMIT_BEGIN, struct ipc_submit_begin,
          (check(r, m->ret <= IPC_RET_HDRS, "DSN RET out of range"),
           check(r, (m->flags & ~FLAGS_KNOWN) == 0, "unknown envelope flags")))
IPC_CODEC(submit_rcpt, IPC_SUBMIT_RCPT, struct ipc_submit_rcpt,
          check(r, m->notify <= 0xf, "DSN NOTIFY out of range"))
IPC_CODEC(submit_commit, IPC_SUBMIT_COMMIT, struct ipc_submit_commit, NO_CHECK)
IPC_CODEC(submitted, IPC_SUBMITTED, struct ipc_submitted,
          (QID_CHECK, check(r, m->duplicate <= 1, "duplicate flag out of range")))
IPC_CODEC(envelope, IPC_ENVELOPE, struct ipc_envelope,
          (QID_CHECK, check(r, m->ret <= IPC_RET_HDRS, "DSN RET out of range")))
IPC_CODEC(rcpt, IPC_RCPT, struct ipc_rcpt, (QID_CHECK, STATE_CHECK))
IPC_CODEC(end, IPC_END, struct ipc_end, NO_CHECK)
IPC_CODEC(rcpt_update, IPC_UPDATE_RCPT, struct ipc_rcpt_update, (QID_CHECK, STATE_CHECK))
IPC_CODEC(list_req, IPC_LIST, struct ipc_list_req,
          check(r, m->state_mask < (1u << RCPT_STATE_COUNT), "state mask out of range"))
IPC_CODEC(due_req, IPC_DUE, struct ipc_due_req, NO_CHECK)
IPC_CODEC(list_from, IPC_LIST_FROM, struct ipc_list_from,
          (check(r, m->state_mask < (1u << RCPT_STATE_COUNT), "state mask out of range"),
           check(r, qid_ok(m->after_qid, 1), "bad queue id")))
IPC_CODEC(due_item, IPC_DUE_ITEM, struct ipc_due_item, (QID_CHECK, STATE_CHECK))
IPC_CODEC(event, IPC_EVENT, struct ipc_event,
          (check(r, m->kind >= IPC_EV_COMMITTED && m->kind <= IPC_EV_PAUSED, "unknown event kind"),
           check(r, qid_ok(m->qid, 1), "bad queue id")))
IPC_CODEC(dir_lookup, IPC_DIR_LOOKUP, struct ipc_dir_lookup,
          check(r, m->addr[0] != '\0', "empty address"))
IPC_CODEC(dir_result, IPC_DIR_RESULT, struct ipc_dir_result,
          check(r, m->status <= IPC_DIR_UNAVAILABLE, "directory status out of range"))
IPC_CODEC(gw_deliver, IPC_GW_DELIVER, struct ipc_gw_deliver,
          (QID_CHECK, check(r, m->indexes[0] != '\0', "no recipient indexes")))
IPC_CODEC(gw_recorded, IPC_GW_RECORDED, struct ipc_gw_deliver,
          (QID_CHECK, check(r, m->indexes[0] != '\0', "no recipient indexes")))
IPC_CODEC(gw_result, IPC_GW_RESULT, struct ipc_gw_result,
          (QID_CHECK,
           check(r,
                 m->state == RCPT_DELIVERED || m->state == RCPT_DEFERRED || m->state == RCPT_FAILED,
                 "result state out of range")))

/* CHUNK travels as SUBMIT_CHUNK (client -> store) or CHUNK (store -> client). */
static int encode_chunk_as(struct sg_buf *b, uint16_t type, uint32_t request_id,
                           const struct ipc_chunk *m)
{
    ipc_msg_begin(b, type, request_id);
    ipc_put_bytes(b, m->data, m->len);
    if (m->len == 0 || m->len > IPC_CHUNK_MAX)
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_encode_chunk(struct sg_buf *b, uint32_t request_id, const struct ipc_chunk *m)
{
    return encode_chunk_as(b, IPC_CHUNK, request_id, m);
}

uint8_t *ipc_encode_chunk_open(struct sg_buf *b, uint32_t request_id)
{
    ipc_msg_begin(b, IPC_CHUNK, request_id);
    return ipc_put_bytes_open(b, IPC_CHUNK_MAX);
}

int ipc_encode_chunk_close(struct sg_buf *b, const uint8_t *at, size_t len)
{
    ipc_put_bytes_close(b, at, len);
    if (len == 0 || len > IPC_CHUNK_MAX)
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_encode_submit_chunk(struct sg_buf *b, uint32_t request_id, const struct ipc_chunk *m)
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

/* ---- a batch of recipient updates ------------------------------------------------ */

int ipc_encode_update_batch(struct sg_buf *b, uint32_t request_id, const struct ipc_update_batch *m)
{
    ipc_msg_begin(b, IPC_UPDATE_BATCH, request_id);
    ipc_put_u32(b, m->count);
    ipc_put_bytes(b, m->frames, m->len);
    if (m->len > IPC_UPDATE_BATCH_MAX)
        b->failed = 1;
    return ipc_msg_end(b);
}

/* Every frame in the batch is a whole, valid UPDATE_RCPT of request id 0 (it is answered only
 * as part of the batch), and there are count of them. */
static int batch_frames_valid(const struct ipc_update_batch *m)
{
    size_t off = 0;
    uint32_t n = 0;

    while (off < m->len) {
        struct ipc_reader in;
        struct ipc_rcpt_update u;
        const char *error = NULL;

        if (ipc_frame_next(m->frames, m->len, &off, &in, &error) != 1 || in.request_id != 0 ||
            ipc_decode_rcpt_update(&in, &u) < 0)
            return 0;
        n++;
    }
    return n == m->count;
}

int ipc_decode_update_batch(struct ipc_reader *r, struct ipc_update_batch *m)
{
    memset(m, 0, sizeof(*m));
    expect_type(r, IPC_UPDATE_BATCH);
    GET_U32(count);
    ipc_get_bytes(r, &m->frames, &m->len, IPC_UPDATE_BATCH_MAX);
    check(r, m->count > 0, "empty update batch");
    check(r, batch_frames_valid(m), "update batch: not count whole UPDATE_RCPT frames");
    return finish(r);
}

/* ---- stats, events, plain requests ------------------------------------------ */

int ipc_encode_stats(struct sg_buf *b, uint32_t request_id, const struct ipc_stats *m)
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

static int qid_msg_type(uint16_t type, int *empty_ok)
{
    *empty_ok = 0; /* "every message" is IPC_ADMIN's explicit flag, never an empty qid */
    return type == IPC_REQUEUE || type == IPC_HOLD || type == IPC_RELEASE ||
           type == IPC_READ_ENVELOPE || type == IPC_READ_BODY || type == IPC_SUBMIT_STARTED ||
           type == IPC_DELETE;
}

int ipc_encode_qid_msg(struct sg_buf *b, uint16_t type, uint32_t request_id,
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
    return type == IPC_SUBMIT_ABORT || type == IPC_STATS || type == IPC_SUBSCRIBE ||
           type == IPC_SUBSCRIBE_MESSAGES || type == IPC_PAUSE_LIST || type == IPC_CLIENTS ||
           type == IPC_METRICS || type == IPC_REPL_STATUS;
}

int ipc_encode_empty(struct sg_buf *b, uint16_t type, uint32_t request_id)
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

int ipc_caps_granted(const struct ipc_hello *peer, const char *cap)
{
    return cap && cap[0] && caps_has(peer->caps_needed, cap, strlen(cap));
}

const char *ipc_caps_missing(const char *needed, const char *allowed, size_t *len)
{
    for (const char *p = needed; *p;) {
        size_t n = strcspn(p, ",");

        if (n && !caps_has(allowed, p, n)) {
            *len = n;
            return p;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return NULL;
}

int ipc_role_check(const struct ipc_role *role, const struct ipc_hello *peer, const char *ours,
                   const char *needed, uint32_t *code, char *why, size_t whysz)
{
    size_t len;
    char self[IPC_NAME_MAX + 16] = "", master[IPC_NAME_MAX + IPC_STORE_ADDR_MAX + 16];

    if (strcmp(role->role, IPC_ROLE_MASTER) == 0 ||
        (strcmp(ours, IPC_ROLE_REPL_CLIENT) == 0 &&
         !ipc_caps_missing(needed, peer->caps_offered, &len)))
        return 0;
    if (role->site[0])
        snprintf(self, sizeof(self), " (site %s)", role->site);
    if (!role->master[0])
        snprintf(master, sizeof(master), "not known yet (an election may be under way)");
    else if (role->master_addr[0])
        snprintf(master, sizeof(master), "%s at %s", role->master, role->master_addr);
    else
        snprintf(master, sizeof(master), "%s (no store address for it in store.repl_ipc)",
                 role->master);
    *code = IPC_ERR_TEMP;
    snprintf(why, whysz, "not master: the role of %s%s is %s; the master is %s", peer->program,
             self, role->role, master);
    return -1;
}

int ipc_hello_check(const struct ipc_hello *peer, const char *needed, uint32_t *code, char *why,
                    size_t whysz)
{
    const char *missing;
    size_t len;

    if (peer->major != IPC_PROTO_MAJOR) {
        *code = IPC_ERR_VERSION;
        snprintf(why, whysz, "peer %s speaks protocol %u.%u, we speak %u.%u", peer->program,
                 peer->major, peer->minor, (unsigned)IPC_PROTO_MAJOR, (unsigned)IPC_PROTO_MINOR);
        return -1;
    }
    if ((missing = ipc_caps_missing(needed, peer->caps_offered, &len)) != NULL) {
        *code = IPC_ERR_CAPS;
        if (strcmp(peer->role, IPC_ROLE_REPLICA) == 0)
            snprintf(why, whysz, "peer %s is a replica of a replicated store, not its master",
                     peer->program);
        else
            snprintf(why, whysz, "peer %s does not offer capability '%.*s'", peer->program,
                     (int)len, missing);
        return -1;
    }
    return 0;
}
