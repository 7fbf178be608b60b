/* ipc_codec.c - IPC frames: the writer's buffer and the pure frame splitter and typed field reader. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

static void put_be(struct sg_buf *b, uint64_t v, int bytes)
{
    uint8_t tmp[8];

    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        tmp[i] = (uint8_t)v;
    sg_buf_append(b, tmp, (size_t)bytes);
}

void ipc_msg_begin(struct sg_buf *b, uint16_t type, uint32_t request_id)
{
    b->mark = b->len;
    put_be(b, 0, 4); /* length, filled in by ipc_msg_end */
    put_be(b, type, 2);
    put_be(b, request_id, 4);
}

void ipc_put_u32(struct sg_buf *b, uint32_t v)
{
    uint8_t tag = IPC_TAG_U32;

    sg_buf_append(b, &tag, 1);
    put_be(b, v, 4);
}

void ipc_put_u64(struct sg_buf *b, uint64_t v)
{
    uint8_t tag = IPC_TAG_U64;

    sg_buf_append(b, &tag, 1);
    put_be(b, v, 8);
}

static void put_blob(struct sg_buf *b, uint8_t tag, const void *p, size_t n)
{
    if (n > IPC_FRAME_MAX) {
        b->failed = 1;
        return;
    }
    sg_buf_append(b, &tag, 1);
    put_be(b, n, 4);
    sg_buf_append(b, p, n);
}

void ipc_put_str(struct sg_buf *b, const char *s)
{
    put_blob(b, IPC_TAG_STR, s, strlen(s));
}

void ipc_put_bytes(struct sg_buf *b, const void *p, size_t n)
{
    put_blob(b, IPC_TAG_BYTES, p, n);
}

uint8_t *ipc_put_bytes_open(struct sg_buf *b, size_t max)
{
    uint8_t tag = IPC_TAG_BYTES;

    if (max > IPC_FRAME_MAX)
        b->failed = 1;
    sg_buf_append(b, &tag, 1);
    put_be(b, 0, 4); /* the length, set by ipc_put_bytes_close */
    if (b->failed || sg_buf_reserve(b, max) < 0)
        return NULL;
    return b->data + b->len;
}

void ipc_put_bytes_close(struct sg_buf *b, const uint8_t *at, size_t n)
{
    size_t off = (size_t)(at - b->data), v = n;

    for (int i = 1; i <= 4; i++, v >>= 8)
        b->data[off - (size_t)i] = (uint8_t)v;
    b->len = off + n;
}

int ipc_msg_end(struct sg_buf *b)
{
    size_t payload;

    if (!b->failed && b->len - b->mark - IPC_HEADER_LEN > IPC_FRAME_MAX)
        b->failed = 1;
    if (b->failed) {
        if (b->mark <= b->len)
            b->len = b->mark; /* drop the unfinished frame */
        return -1;
    }
    payload = b->len - b->mark - IPC_HEADER_LEN;
    for (int i = 3; i >= 0; i--, payload >>= 8)
        b->data[b->mark + (size_t)i] = (uint8_t)payload;
    return 0;
}

/* ---- reading ------------------------------------------------------------- */

static _Thread_local char ipc_error_text[160];

static const char *ipc_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *ipc_errorf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ipc_error_text, sizeof(ipc_error_text), fmt, ap);
    va_end(ap);
    return ipc_error_text;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

int ipc_frame_split(const uint8_t *in, size_t len, size_t *frame_len, const char **error)
{
    uint64_t payload;

    if (len < IPC_HEADER_LEN)
        return 0;
    payload = get_be(in, 4);
    if (payload < IPC_PAYLOAD_MIN) {
        *error = ipc_errorf("frame length %llu below minimum %d", (unsigned long long)payload,
                            IPC_PAYLOAD_MIN);
        return -1;
    }
    if (payload > IPC_FRAME_MAX) {
        *error = ipc_errorf("frame length %llu above maximum %u", (unsigned long long)payload,
                            IPC_FRAME_MAX);
        return -1;
    }
    if (len < IPC_HEADER_LEN + payload)
        return 0;
    *frame_len = IPC_HEADER_LEN + (size_t)payload;
    return 1;
}

int ipc_reader_init(struct ipc_reader *r, const uint8_t *frame, size_t frame_len)
{
    memset(r, 0, sizeof(*r));
    if (frame_len < IPC_HEADER_LEN + IPC_PAYLOAD_MIN ||
        get_be(frame, 4) != frame_len - IPC_HEADER_LEN) {
        r->error = "frame header does not match its length";
        return -1;
    }
    r->type = (uint16_t)get_be(frame + 4, 2);
    r->request_id = (uint32_t)get_be(frame + 6, 4);
    r->p = frame + IPC_HEADER_LEN + IPC_PAYLOAD_MIN;
    r->left = frame_len - IPC_HEADER_LEN - IPC_PAYLOAD_MIN;
    r->field = 0;
    if (!ipc_type_known(r->type)) {
        r->error = ipc_errorf("unknown message type %u", r->type);
        return -1;
    }
    return 0;
}

static const char *tag_name(uint8_t tag)
{
    switch (tag) {
    case IPC_TAG_U32:
        return "u32";
    case IPC_TAG_U64:
        return "u64";
    case IPC_TAG_STR:
        return "string";
    case IPC_TAG_BYTES:
        return "bytes";
    default:
        return "unknown";
    }
}

/* Check the tag and that `fixed` bytes follow it; advance past the tag. */
static int get_tag(struct ipc_reader *r, uint8_t want, size_t fixed)
{
    if (r->error)
        return -1;
    r->field++;
    if (r->left >= 1 && r->p[0] != want) {
        r->error =
            ipc_errorf("field %u: expected %s, got tag 0x%02x", r->field, tag_name(want), r->p[0]);
        return -1;
    }
    if (r->left < 1 + fixed) {
        r->error = ipc_errorf("field %u: truncated", r->field);
        return -1;
    }
    r->p++;
    r->left--;
    return 0;
}

static uint64_t take_be(struct ipc_reader *r, int bytes)
{
    uint64_t v = get_be(r->p, bytes);

    r->p += bytes;
    r->left -= (size_t)bytes;
    return v;
}

int ipc_get_u32(struct ipc_reader *r, uint32_t *v)
{
    if (get_tag(r, IPC_TAG_U32, 4) < 0)
        return -1;
    *v = (uint32_t)take_be(r, 4);
    return 0;
}

int ipc_get_u64(struct ipc_reader *r, uint64_t *v)
{
    if (get_tag(r, IPC_TAG_U64, 8) < 0)
        return -1;
    *v = take_be(r, 8);
    return 0;
}

static int get_blob(struct ipc_reader *r, uint8_t tag, const uint8_t **p, size_t *n, size_t max)
{
    uint64_t len;

    if (get_tag(r, tag, 4) < 0)
        return -1;
    len = take_be(r, 4);
    if (len > r->left) {
        r->error = ipc_errorf("field %u: truncated", r->field);
        return -1;
    }
    if (len > max) {
        r->error = ipc_errorf("field %u: %s of %llu bytes exceeds %zu", r->field, tag_name(tag),
                              (unsigned long long)len, max);
        return -1;
    }
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    r->left -= (size_t)len;
    return 0;
}

int ipc_get_str(struct ipc_reader *r, char *dst, size_t dstsz)
{
    const uint8_t *p;
    size_t n;

    dst[0] = '\0';
    if (get_blob(r, IPC_TAG_STR, &p, &n, dstsz - 1) < 0)
        return -1;
    if (memchr(p, '\0', n)) {
        r->error = ipc_errorf("field %u: NUL byte inside a string", r->field);
        return -1;
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

int ipc_get_bytes(struct ipc_reader *r, const uint8_t **p, size_t *n, size_t max)
{
    return get_blob(r, IPC_TAG_BYTES, p, n, max);
}

int ipc_reader_end(struct ipc_reader *r)
{
    if (r->error)
        return -1;
    if (r->left) {
        r->error = ipc_errorf("%zu bytes left over after last field", r->left);
        return -1;
    }
    return 0;
}

/* ---- names --------------------------------------------------------------- */

static const struct {
    uint16_t type;
    const char *name;
} ipc_type_names[] = {
    {IPC_HELLO, "HELLO"},
    {IPC_ERROR, "ERROR"},
    {IPC_OK, "OK"},
    {IPC_SUBMIT_BEGIN, "SUBMIT_BEGIN"},
    {IPC_SUBMIT_STARTED, "SUBMIT_STARTED"},
    {IPC_SUBMIT_RCPT, "SUBMIT_RCPT"},
    {IPC_SUBMIT_CHUNK, "SUBMIT_CHUNK"},
    {IPC_SUBMIT_COMMIT, "SUBMIT_COMMIT"},
    {IPC_SUBMIT_ABORT, "SUBMIT_ABORT"},
    {IPC_SUBMITTED, "SUBMITTED"},
    {IPC_READ_ENVELOPE, "READ_ENVELOPE"},
    {IPC_ENVELOPE, "ENVELOPE"},
    {IPC_RCPT, "RCPT"},
    {IPC_READ_BODY, "READ_BODY"},
    {IPC_CHUNK, "CHUNK"},
    {IPC_END, "END"},
    {IPC_UPDATE_RCPT, "UPDATE_RCPT"},
    {IPC_UPDATE_BATCH, "UPDATE_BATCH"},
    {IPC_LIST, "LIST"},
    {IPC_LIST_FROM, "LIST_FROM"},
    {IPC_DUE, "DUE"},
    {IPC_DUE_ITEM, "DUE_ITEM"},
    {IPC_REQUEUE, "REQUEUE"},
    {IPC_HOLD, "HOLD"},
    {IPC_RELEASE, "RELEASE"},
    {IPC_DELETE, "DELETE"},
    {IPC_STATS, "STATS"},
    {IPC_STATS_REPLY, "STATS_REPLY"},
    {IPC_SUBSCRIBE, "SUBSCRIBE"},
    {IPC_EVENT, "EVENT"},
    {IPC_SUBSCRIBE_MESSAGES, "SUBSCRIBE_MESSAGES"},
    {IPC_DIR_LOOKUP, "DIR_LOOKUP"},
    {IPC_DIR_RESULT, "DIR_RESULT"},
    {IPC_GW_DELIVER, "GW_DELIVER"},
    {IPC_GW_RESULT, "GW_RESULT"},
    {IPC_GW_RECORDED, "GW_RECORDED"},
    {IPC_ADMIN, "ADMIN"},
    {IPC_LIST_FILTER, "LIST_FILTER"},
    {IPC_PAUSE, "PAUSE"},
    {IPC_RESUME, "RESUME"},
    {IPC_PAUSE_LIST, "PAUSE_LIST"},
    {IPC_PAUSE_ITEM, "PAUSE_ITEM"},
    {IPC_CLIENTS, "CLIENTS"},
    {IPC_CLIENT_ITEM, "CLIENT_ITEM"},
    {IPC_METRICS, "METRICS"},
    {IPC_METRIC_ITEM, "METRIC_ITEM"},
    {IPC_SHAPE, "SHAPE"},
    {IPC_SHAPE_ROW, "SHAPE_ROW"},
    {IPC_REPORT, "REPORT"},
    {IPC_REPL_STATUS, "REPL_STATUS"},
    {IPC_REPL_SITE, "REPL_SITE"},
    {IPC_REPL_REMOVE, "REPL_REMOVE"},
    {IPC_REPL_REMOVED, "REPL_REMOVED"},
    {IPC_ROLE, "ROLE"},
};

const char *ipc_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof(ipc_type_names) / sizeof(ipc_type_names[0]); i++)
        if (ipc_type_names[i].type == type)
            return ipc_type_names[i].name;
    return "?";
}

int ipc_type_known(uint16_t type)
{
    return ipc_type_name(type)[0] != '?';
}

static const char *const rcpt_state_names[RCPT_STATE_COUNT] = {
    "queued", "active", "deferred", "delivered", "failed", "held",
};

const char *rcpt_state_name(uint32_t state)
{
    return state < RCPT_STATE_COUNT ? rcpt_state_names[state] : "?";
}

int rcpt_state_parse(const char *name)
{
    for (int i = 0; i < RCPT_STATE_COUNT; i++)
        if (strcmp(name, rcpt_state_names[i]) == 0)
            return i;
    return -1;
}

int rcpt_state_final(uint32_t state)
{
    return state == RCPT_DELIVERED || state == RCPT_FAILED;
}

const char *ipc_error_name(uint32_t code)
{
    static const char *const names[] = {"?",         "temporary", "no space", "permanent",
                                        "not found", "protocol",  "version",  "capability"};

    return code < sizeof(names) / sizeof(names[0]) ? names[code] : "?";
}

int ipc_frame_next(const uint8_t *buf, size_t len, size_t *off, struct ipc_reader *r,
                   const char **error)
{
    size_t frame_len;
    int got = ipc_frame_split(buf + *off, len - *off, &frame_len, error);

    if (got <= 0)
        return got;
    if (ipc_reader_init(r, buf + *off, frame_len) < 0) {
        *error = r->error;
        return -1;
    }
    *off += frame_len;
    return 1;
}
