/* store_records.c - pure encoders and decoders of the store's record formats. */
#include "store_records.h"

#include <string.h>

void store_rec_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

void store_rec_put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

uint64_t store_rec_get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

uint32_t store_rec_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void store_rec_msg_key(uint8_t key[REC_MSG_KEY_LEN], uint64_t qid)
{
    store_rec_put_be64(key, qid);
}

void store_rec_sub_key(uint8_t key[REC_SUB_KEY_LEN], uint64_t qid, uint32_t n)
{
    store_rec_put_be64(key, qid);
    store_rec_put_be32(key + REC_SUB_KEY_N_OFF, n);
}

/* ---- a tiny cursor for writing and reading fields ---------------------- */

struct rec_out {
    uint8_t *p;
    size_t len;
};

static void out_u32(struct rec_out *o, uint32_t v)
{
    store_rec_put_be32(o->p + o->len, v);
    o->len += 4;
}

static void out_u64(struct rec_out *o, uint64_t v)
{
    store_rec_put_be64(o->p + o->len, v);
    o->len += 8;
}

static void out_str(struct rec_out *o, const char *s, size_t max)
{
    size_t n = strnlen(s, max);

    o->p[o->len] = (uint8_t)(n >> 8);
    o->p[o->len + 1] = (uint8_t)n;
    memcpy(o->p + o->len + 2, s, n);
    o->len += 2 + n;
}

struct rec_in {
    const uint8_t *p;
    size_t left;
    const char *why;
};

static int in_need(struct rec_in *in, size_t n)
{
    if (in->why)
        return -1;
    if (in->left < n) {
        in->why = "record truncated";
        return -1;
    }
    return 0;
}

static uint32_t in_u32(struct rec_in *in)
{
    uint32_t v;

    if (in_need(in, 4) < 0)
        return 0;
    v = store_rec_get_be32(in->p);
    in->p += 4;
    in->left -= 4;
    return v;
}

static uint64_t in_u64(struct rec_in *in)
{
    uint64_t v;

    if (in_need(in, 8) < 0)
        return 0;
    v = store_rec_get_be64(in->p);
    in->p += 8;
    in->left -= 8;
    return v;
}

static void in_str(struct rec_in *in, char *dst, size_t dstsz)
{
    size_t n;

    dst[0] = '\0';
    if (in_need(in, 2) < 0)
        return;
    n = (size_t)in->p[0] << 8 | in->p[1];
    in->p += 2;
    in->left -= 2;
    if (n >= dstsz) {
        in->why = "string field too long";
        return;
    }
    if (in_need(in, n) < 0)
        return;
    if (memchr(in->p, '\0', n)) {
        in->why = "NUL inside string field";
        return;
    }
    memcpy(dst, in->p, n);
    dst[n] = '\0';
    in->p += n;
    in->left -= n;
}

static int in_begin(struct rec_in *in, const uint8_t *p, size_t len)
{
    in->p = p;
    in->left = len;
    in->why = NULL;
    if (in_need(in, 1) < 0)
        return -1;
    if (p[0] != REC_VERSION) {
        in->why = "unknown record version";
        return -1;
    }
    in->p++;
    in->left--;
    return 0;
}

static int in_end(struct rec_in *in, const char **why)
{
    if (!in->why && in->left != 0)
        in->why = "bytes left over after record";
    *why = in->why;
    return in->why ? -1 : 0;
}

/* ---- envelope ---------------------------------------------------------- */

size_t store_rec_envelope_encode(const struct rec_envelope *e, uint8_t *buf)
{
    struct rec_out o = {buf, 0};

    buf[o.len++] = REC_VERSION;
    out_u64(&o, e->qid);
    out_u64(&o, e->generation);
    out_u64(&o, e->arrival_us);
    out_u64(&o, e->size);
    out_u32(&o, e->flags);
    out_u32(&o, e->ret);
    out_u32(&o, e->nrcpt);
    out_u32(&o, e->nchunks);
    out_str(&o, e->sender, IPC_ADDR_MAX);
    out_str(&o, e->envid, IPC_ENVID_MAX);
    out_str(&o, e->origin, IPC_ORIGIN_MAX);
    if (e->body_bucket)
        out_u32(&o, e->body_bucket);
    return o.len;
}

int store_rec_envelope_decode(const uint8_t *p, size_t len, struct rec_envelope *e,
                              const char **why)
{
    struct rec_in in;

    memset(e, 0, sizeof(*e));
    if (in_begin(&in, p, len) < 0) {
        *why = in.why;
        return -1;
    }
    e->qid = in_u64(&in);
    e->generation = in_u64(&in);
    e->arrival_us = in_u64(&in);
    e->size = in_u64(&in);
    e->flags = in_u32(&in);
    e->ret = in_u32(&in);
    e->nrcpt = in_u32(&in);
    e->nchunks = in_u32(&in);
    in_str(&in, e->sender, sizeof(e->sender));
    in_str(&in, e->envid, sizeof(e->envid));
    in_str(&in, e->origin, sizeof(e->origin));
    if (!in.why && in.left > 0) /* absent in records older than body buckets, and for body.db */
        e->body_bucket = in_u32(&in);
    return in_end(&in, why);
}

/* ---- recipient --------------------------------------------------------- */

size_t store_rec_rcpt_encode(const struct rec_rcpt *r, uint8_t *buf)
{
    struct rec_out o = {buf, 0};

    buf[o.len++] = REC_VERSION;
    out_u32(&o, r->state);
    out_u32(&o, r->notify);
    out_u32(&o, r->attempts);
    out_u64(&o, r->next_attempt_us);
    out_u64(&o, r->last_attempt_us);
    out_str(&o, r->addr, IPC_ADDR_MAX);
    out_str(&o, r->orcpt, IPC_ADDR_MAX);
    out_str(&o, r->route, IPC_ROUTE_MAX);
    out_str(&o, r->last_reply, IPC_REPLY_MAX);
    return o.len;
}

int store_rec_rcpt_decode(const uint8_t *p, size_t len, struct rec_rcpt *r, const char **why)
{
    struct rec_in in;

    memset(r, 0, sizeof(*r));
    if (in_begin(&in, p, len) < 0) {
        *why = in.why;
        return -1;
    }
    r->state = in_u32(&in);
    r->notify = in_u32(&in);
    r->attempts = in_u32(&in);
    r->next_attempt_us = in_u64(&in);
    r->last_attempt_us = in_u64(&in);
    in_str(&in, r->addr, sizeof(r->addr));
    in_str(&in, r->orcpt, sizeof(r->orcpt));
    in_str(&in, r->route, sizeof(r->route));
    in_str(&in, r->last_reply, sizeof(r->last_reply));
    if (!in.why && r->state >= RCPT_STATE_COUNT)
        in.why = "recipient state out of range";
    return in_end(&in, why);
}

int store_rec_rcpt_is_due_state(uint32_t state)
{
    /* ACTIVE too: its next_attempt is the lease after which an attempt
     * that never reported back is due again, so nothing can stay stuck. */
    return state == RCPT_QUEUED || state == RCPT_DEFERRED || state == RCPT_ACTIVE;
}

int store_rec_rcpt_is_due(uint32_t state, uint64_t next_attempt_us)
{
    return store_rec_rcpt_is_due_state(state) || (state == RCPT_HELD && next_attempt_us != 0);
}
