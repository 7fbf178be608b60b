/* ipc_msgs_admin.c - encoders and decoders of the administration messages: filters, ADMIN, PAUSE, CLIENTS, METRICS, SHAPE, REPL_*. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ipc.h"
#include "qid.h"

const uint32_t ipc_shape_minutes[IPC_SHAPE_BUCKETS - 1] = {5, 10, 20, 40, 80, 160, 320, 640, 1280};

int ipc_shape_bucket(uint64_t age_us)
{
    uint64_t minutes = age_us / 60000000u;
    int b = 0;

    while (b < IPC_SHAPE_BUCKETS - 1 && minutes >= ipc_shape_minutes[b])
        b++;
    return b;
}

const char *ipc_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : "";
}

int ipc_filter_addr_match(const char *pattern, const char *addr)
{
    if (pattern[0] == '\0')
        return 1;
    if (strcmp(pattern, "<>") == 0)
        return addr[0] == '\0';
    if (pattern[0] == '@')
        return addr[0] != '\0' && strcasecmp(ipc_addr_domain(addr), pattern + 1) == 0;
    return strcasecmp(addr, pattern) == 0;
}

static int adm_check(struct ipc_reader *r, int ok, const char *what)
{
    if (!r->error && !ok)
        r->error = what;
    return r->error ? -1 : 0;
}

static int adm_expect(struct ipc_reader *r, uint16_t type)
{
    return adm_check(r, r->type == type, "frame of another type given to this decoder");
}

static void filter_put(struct sg_buf *b, const struct ipc_filter *f)
{
    ipc_put_u32(b, f->state_mask);
    ipc_put_str(b, f->from);
    ipc_put_str(b, f->to);
    ipc_put_str(b, f->domain);
    ipc_put_u64(b, f->before_us);
}

static void filter_get(struct ipc_reader *r, struct ipc_filter *f)
{
    ipc_get_u32(r, &f->state_mask);
    ipc_get_str(r, f->from, sizeof(f->from));
    ipc_get_str(r, f->to, sizeof(f->to));
    ipc_get_str(r, f->domain, sizeof(f->domain));
    ipc_get_u64(r, &f->before_us);
    adm_check(r, f->state_mask < (1u << RCPT_STATE_COUNT), "state mask out of range");
}

int ipc_encode_admin_req(struct sg_buf *b, uint32_t request_id, const struct ipc_admin_req *m)
{
    ipc_msg_begin(b, IPC_ADMIN, request_id);
    ipc_put_u32(b, m->op);
    ipc_put_u32(b, m->flags);
    ipc_put_str(b, m->qid);
    filter_put(b, &m->f);
    return ipc_msg_end(b);
}

int ipc_decode_admin_req(struct ipc_reader *r, struct ipc_admin_req *m)
{
    uint64_t q;

    memset(m, 0, sizeof(*m));
    adm_expect(r, IPC_ADMIN);
    ipc_get_u32(r, &m->op);
    ipc_get_u32(r, &m->flags);
    ipc_get_str(r, m->qid, sizeof(m->qid));
    filter_get(r, &m->f);
    adm_check(r, m->op >= IPC_OP_REQUEUE && m->op <= IPC_OP_MAX, "unknown admin operation");
    adm_check(r, (m->flags & ~IPC_ADMIN_ALL) == 0, "unknown admin flags");
    /* every message only when the flag says so; a queue id only without it */
    adm_check(r, (m->flags & IPC_ADMIN_ALL) ? m->qid[0] == '\0' : qid_parse(m->qid, &q) == 0,
              "bad queue id (every message needs the ALL flag and no queue id)");
    return ipc_reader_end(r);
}

int ipc_encode_list_filter(struct sg_buf *b, uint32_t request_id, const struct ipc_list_filter *m)
{
    return ipc_encode_list_filter_as(b, IPC_LIST_FILTER, request_id, m);
}

int ipc_encode_list_filter_as(struct sg_buf *b, uint16_t type, uint32_t request_id,
                              const struct ipc_list_filter *m)
{
    ipc_msg_begin(b, type, request_id);
    if (type != IPC_LIST_FILTER && type != IPC_SHAPE)
        b->failed = 1;
    filter_put(b, &m->f);
    ipc_put_str(b, m->match);
    ipc_put_u32(b, m->limit);
    return ipc_msg_end(b);
}

/* LIST_FILTER and SHAPE both carry a list filter. */
int ipc_decode_list_filter(struct ipc_reader *r, struct ipc_list_filter *m)
{
    memset(m, 0, sizeof(*m));
    adm_check(r, r->type == IPC_LIST_FILTER || r->type == IPC_SHAPE, "not a list filter frame");
    filter_get(r, &m->f);
    ipc_get_str(r, m->match, sizeof(m->match));
    ipc_get_u32(r, &m->limit);
    return ipc_reader_end(r);
}

static int pause_type(uint16_t type)
{
    return type == IPC_PAUSE || type == IPC_RESUME || type == IPC_PAUSE_ITEM;
}

int ipc_encode_pause(struct sg_buf *b, uint16_t type, uint32_t request_id,
                     const struct ipc_pause *m)
{
    ipc_msg_begin(b, type, request_id);
    ipc_put_u32(b, m->flags);
    ipc_put_str(b, m->domain);
    if (!pause_type(type))
        b->failed = 1;
    return ipc_msg_end(b);
}

int ipc_decode_pause(struct ipc_reader *r, struct ipc_pause *m)
{
    memset(m, 0, sizeof(*m));
    adm_check(r, pause_type(r->type), "not a pause frame");
    ipc_get_u32(r, &m->flags);
    ipc_get_str(r, m->domain, sizeof(m->domain));
    adm_check(r, (m->flags & ~IPC_ADMIN_ALL) == 0, "unknown pause flags");
    adm_check(r, (m->flags & IPC_ADMIN_ALL) ? m->domain[0] == '\0' : m->domain[0] != '\0',
              "a pause names a domain, or every destination with the ALL flag");
    adm_check(r, strpbrk(m->domain, " \t\r\n@<>") == NULL, "bad domain");
    return ipc_reader_end(r);
}

int ipc_encode_client_item(struct sg_buf *b, uint32_t request_id, const struct ipc_client_item *m)
{
    ipc_msg_begin(b, IPC_CLIENT_ITEM, request_id);
    ipc_put_str(b, m->program);
    ipc_put_str(b, m->role);
    ipc_put_str(b, m->version);
    ipc_put_u32(b, m->pid);
    ipc_put_u32(b, m->uid);
    ipc_put_str(b, m->caps);
    return ipc_msg_end(b);
}

int ipc_decode_client_item(struct ipc_reader *r, struct ipc_client_item *m)
{
    memset(m, 0, sizeof(*m));
    adm_expect(r, IPC_CLIENT_ITEM);
    ipc_get_str(r, m->program, sizeof(m->program));
    ipc_get_str(r, m->role, sizeof(m->role));
    ipc_get_str(r, m->version, sizeof(m->version));
    ipc_get_u32(r, &m->pid);
    ipc_get_u32(r, &m->uid);
    ipc_get_str(r, m->caps, sizeof(m->caps));
    return ipc_reader_end(r);
}

int ipc_encode_metric_item(struct sg_buf *b, uint32_t request_id, const struct ipc_metric_item *m)
{
    return ipc_encode_metric_as(b, IPC_METRIC_ITEM, request_id, m);
}

int ipc_encode_metric_as(struct sg_buf *b, uint16_t type, uint32_t request_id,
                         const struct ipc_metric_item *m)
{
    ipc_msg_begin(b, type, request_id);
    if (type != IPC_METRIC_ITEM && type != IPC_REPORT)
        b->failed = 1;
    ipc_put_str(b, m->name);
    ipc_put_u64(b, m->value);
    return ipc_msg_end(b);
}

int ipc_decode_metric_item(struct ipc_reader *r, struct ipc_metric_item *m)
{
    memset(m, 0, sizeof(*m));
    adm_check(r, r->type == IPC_METRIC_ITEM || r->type == IPC_REPORT, "not a metric frame");
    ipc_get_str(r, m->name, sizeof(m->name));
    ipc_get_u64(r, &m->value);
    adm_check(r, m->name[0] != '\0', "metric without a name");
    return ipc_reader_end(r);
}

int ipc_encode_repl_site(struct sg_buf *b, uint32_t request_id, const struct ipc_repl_site *m)
{
    ipc_msg_begin(b, IPC_REPL_SITE, request_id);
    ipc_put_str(b, m->name);
    ipc_put_str(b, m->addr);
    ipc_put_str(b, m->role);
    ipc_put_u32(b, m->flags);
    ipc_put_u32(b, m->lsn_file);
    ipc_put_u32(b, m->lsn_offset);
    return ipc_msg_end(b);
}

int ipc_decode_repl_site(struct ipc_reader *r, struct ipc_repl_site *m)
{
    memset(m, 0, sizeof(*m));
    adm_check(r, r->type == IPC_REPL_SITE, "not a REPL_SITE frame");
    ipc_get_str(r, m->name, sizeof(m->name));
    ipc_get_str(r, m->addr, sizeof(m->addr));
    ipc_get_str(r, m->role, sizeof(m->role));
    ipc_get_u32(r, &m->flags);
    ipc_get_u32(r, &m->lsn_file);
    ipc_get_u32(r, &m->lsn_offset);
    adm_check(r, m->addr[0] != '\0', "replication site without an address");
    adm_check(r, m->flags <= (IPC_REPL_LOCAL | IPC_REPL_MASTER | IPC_REPL_CONNECTED),
              "unknown replication site flags");
    return ipc_reader_end(r);
}

int ipc_encode_repl_remove(struct sg_buf *b, uint32_t request_id, const struct ipc_repl_remove *m)
{
    ipc_msg_begin(b, IPC_REPL_REMOVE, request_id);
    ipc_put_str(b, m->site);
    return ipc_msg_end(b);
}

int ipc_decode_repl_remove(struct ipc_reader *r, struct ipc_repl_remove *m)
{
    memset(m, 0, sizeof(*m));
    adm_expect(r, IPC_REPL_REMOVE);
    ipc_get_str(r, m->site, sizeof(m->site));
    adm_check(r, m->site[0] != '\0', "REPL_REMOVE without a site");
    return ipc_reader_end(r);
}

int ipc_encode_repl_removed(struct sg_buf *b, uint32_t request_id, const struct ipc_repl_removed *m)
{
    ipc_msg_begin(b, IPC_REPL_REMOVED, request_id);
    ipc_put_u32(b, m->nsites);
    ipc_put_str(b, m->text);
    return ipc_msg_end(b);
}

int ipc_decode_repl_removed(struct ipc_reader *r, struct ipc_repl_removed *m)
{
    memset(m, 0, sizeof(*m));
    adm_expect(r, IPC_REPL_REMOVED);
    ipc_get_u32(r, &m->nsites);
    ipc_get_str(r, m->text, sizeof(m->text));
    return ipc_reader_end(r);
}

int ipc_encode_shape_row(struct sg_buf *b, uint32_t request_id, const struct ipc_shape_row *m)
{
    ipc_msg_begin(b, IPC_SHAPE_ROW, request_id);
    ipc_put_str(b, m->domain);
    ipc_put_u32(b, m->state);
    for (int i = 0; i < IPC_SHAPE_BUCKETS; i++)
        ipc_put_u64(b, m->count[i]);
    return ipc_msg_end(b);
}

int ipc_decode_shape_row(struct ipc_reader *r, struct ipc_shape_row *m)
{
    memset(m, 0, sizeof(*m));
    adm_expect(r, IPC_SHAPE_ROW);
    ipc_get_str(r, m->domain, sizeof(m->domain));
    ipc_get_u32(r, &m->state);
    for (int i = 0; i < IPC_SHAPE_BUCKETS; i++)
        ipc_get_u64(r, &m->count[i]);
    adm_check(r, m->state < RCPT_STATE_COUNT, "recipient state out of range");
    return ipc_reader_end(r);
}
