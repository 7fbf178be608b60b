/* fuzz_ipc.c - fuzzes the IPC frame decoder (common/ipc_codec.c, ipc_msgs.c, ipc_msgs_admin.c): ipc_frame_next, then the decoder of each frame's type; what decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode the frame of r into a struct; on success encode it again into b.  0 or -1. */
typedef int (*rt_fn)(struct ipc_reader *r, struct sg_buf *b);

#define RT(name, T)                                                  \
    static int rt_##name(struct ipc_reader *r, struct sg_buf *b)     \
    {                                                                \
        T m;                                                         \
        if (ipc_decode_##name(r, &m) != 0)                           \
            return -1;                                               \
        return ipc_encode_##name(b, r->request_id, &m) == 0 ? 0 : 1; \
    }
#define RT_AS(name, T, enc)                                      \
    static int rt_##name(struct ipc_reader *r, struct sg_buf *b) \
    {                                                            \
        T m;                                                     \
        if (ipc_decode_##name(r, &m) != 0)                       \
            return -1;                                           \
        return enc(b, r->type, r->request_id, &m) == 0 ? 0 : 1;  \
    }

RT(hello, struct ipc_hello)
RT(error, struct ipc_error)
RT(ok, struct ipc_ok)
RT(submit_begin, struct ipc_submit_begin)
RT(submit_rcpt, struct ipc_submit_rcpt)
RT(submit_commit, struct ipc_submit_commit)
RT(submitted, struct ipc_submitted)
RT(envelope, struct ipc_envelope)
RT(rcpt, struct ipc_rcpt)
RT(end, struct ipc_end)
RT(rcpt_update, struct ipc_rcpt_update)
RT(list_req, struct ipc_list_req)
RT(due_req, struct ipc_due_req)
RT(list_from, struct ipc_list_from)
RT(update_batch, struct ipc_update_batch)
RT(due_item, struct ipc_due_item)
RT(stats, struct ipc_stats)
RT(event, struct ipc_event)
RT(dir_lookup, struct ipc_dir_lookup)
RT(dir_result, struct ipc_dir_result)
RT(gw_deliver, struct ipc_gw_deliver)
RT(gw_result, struct ipc_gw_result)
RT(gw_recorded, struct ipc_gw_deliver)
RT(admin_req, struct ipc_admin_req)
RT(client_item, struct ipc_client_item)
RT(shape_row, struct ipc_shape_row)
RT(repl_site, struct ipc_repl_site)
RT(repl_remove, struct ipc_repl_remove)
RT(repl_removed, struct ipc_repl_removed)
RT(role, struct ipc_role)
RT_AS(qid_msg, struct ipc_qid_msg, ipc_encode_qid_msg)
RT_AS(pause, struct ipc_pause, ipc_encode_pause)
RT_AS(list_filter, struct ipc_list_filter, ipc_encode_list_filter_as)
RT_AS(metric_item, struct ipc_metric_item, ipc_encode_metric_as)

static int rt_chunk(struct ipc_reader *r, struct sg_buf *b)
{
    struct ipc_chunk m;

    if (ipc_decode_chunk(r, &m) != 0)
        return -1;
    if (m.len == 0 || m.len > IPC_CHUNK_MAX)
        abort();
    if (r->type == IPC_SUBMIT_CHUNK)
        return ipc_encode_submit_chunk(b, r->request_id, &m) == 0 ? 0 : 1;
    return ipc_encode_chunk(b, r->request_id, &m) == 0 ? 0 : 1;
}

static int rt_empty(struct ipc_reader *r, struct sg_buf *b)
{
    if (ipc_decode_empty(r) != 0)
        return -1;
    return ipc_encode_empty(b, r->type, r->request_id) == 0 ? 0 : 1;
}

static const struct {
    uint16_t type;
    rt_fn fn;
} codecs[] = {
    {IPC_HELLO, rt_hello},
    {IPC_ERROR, rt_error},
    {IPC_OK, rt_ok},
    {IPC_SUBMIT_BEGIN, rt_submit_begin},
    {IPC_SUBMIT_STARTED, rt_qid_msg},
    {IPC_SUBMIT_RCPT, rt_submit_rcpt},
    {IPC_SUBMIT_CHUNK, rt_chunk},
    {IPC_SUBMIT_COMMIT, rt_submit_commit},
    {IPC_SUBMIT_ABORT, rt_empty},
    {IPC_SUBMITTED, rt_submitted},
    {IPC_READ_ENVELOPE, rt_qid_msg},
    {IPC_ENVELOPE, rt_envelope},
    {IPC_RCPT, rt_rcpt},
    {IPC_READ_BODY, rt_qid_msg},
    {IPC_CHUNK, rt_chunk},
    {IPC_END, rt_end},
    {IPC_UPDATE_RCPT, rt_rcpt_update},
    {IPC_UPDATE_BATCH, rt_update_batch},
    {IPC_LIST, rt_list_req},
    {IPC_DUE, rt_due_req},
    {IPC_DUE_ITEM, rt_due_item},
    {IPC_LIST_FROM, rt_list_from},
    {IPC_REQUEUE, rt_qid_msg},
    {IPC_HOLD, rt_qid_msg},
    {IPC_RELEASE, rt_qid_msg},
    {IPC_DELETE, rt_qid_msg},
    {IPC_STATS, rt_empty},
    {IPC_STATS_REPLY, rt_stats},
    {IPC_SUBSCRIBE, rt_empty},
    {IPC_EVENT, rt_event},
    {IPC_SUBSCRIBE_MESSAGES, rt_empty},
    {IPC_DIR_LOOKUP, rt_dir_lookup},
    {IPC_DIR_RESULT, rt_dir_result},
    {IPC_GW_DELIVER, rt_gw_deliver},
    {IPC_GW_RESULT, rt_gw_result},
    {IPC_GW_RECORDED, rt_gw_recorded},
    {IPC_ADMIN, rt_admin_req},
    {IPC_LIST_FILTER, rt_list_filter},
    {IPC_PAUSE, rt_pause},
    {IPC_RESUME, rt_pause},
    {IPC_PAUSE_LIST, rt_empty},
    {IPC_PAUSE_ITEM, rt_pause},
    {IPC_CLIENTS, rt_empty},
    {IPC_CLIENT_ITEM, rt_client_item},
    {IPC_METRICS, rt_empty},
    {IPC_METRIC_ITEM, rt_metric_item},
    {IPC_SHAPE, rt_list_filter},
    {IPC_SHAPE_ROW, rt_shape_row},
    {IPC_REPORT, rt_metric_item},
    {IPC_REPL_STATUS, rt_empty},
    {IPC_REPL_SITE, rt_repl_site},
    {IPC_REPL_REMOVE, rt_repl_remove},
    {IPC_REPL_REMOVED, rt_repl_removed},
    {IPC_ROLE, rt_role},
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* The frame at frame[0..len) with reader r: its own decoder, and every other one. */
static void check_frame(const uint8_t *frame, size_t len, const struct ipc_reader *r0)
{
    struct sg_buf b;
    int found = 0;

    for (size_t i = 0; i < NCODECS; i++) {
        struct ipc_reader r = *r0;
        int got;

        sg_buf_init(&b);
        got = codecs[i].fn(&r, &b);
        if (codecs[i].type == r0->type) {
            found = 1;
            if (got == 1)
                abort(); /* what decoded must encode */
            if (got == 0 && (b.len != len || memcmp(b.data, frame, len) != 0))
                abort(); /* and to the very same bytes */
        } else if (got == 0 && codecs[i].fn != rt_qid_msg && codecs[i].fn != rt_empty &&
                   codecs[i].fn != rt_pause && codecs[i].fn != rt_chunk &&
                   codecs[i].fn != rt_list_filter && codecs[i].fn != rt_metric_item) {
            abort(); /* a typed decoder takes only its type */
        }
        sg_buf_free(&b);
    }
    if (!found)
        abort(); /* ipc_reader_init let an unknown type through */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;

    for (;;) {
        struct ipc_reader r;
        const char *error = NULL;
        size_t start = off;
        int got = ipc_frame_next(data, size, &off, &r, &error);

        if (got < 0 && error == NULL)
            abort(); /* a malformed frame says why */
        if (got != 1)
            break;
        if (off <= start || off > size || !ipc_type_known(r.type))
            abort();
        check_frame(data + start, off - start, &r);
    }
    return 0;
}
