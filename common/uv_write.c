/* uv_write.c - the one libuv write helper (see uv_write.h). */
#include <stdlib.h>
#include <string.h>

#include "uv_write.h"

struct sg_write {
    uv_write_t req;
    uint8_t *data;
    size_t len;
    sg_write_done_fn done;
    void *arg;
};

static void sg_write_cb(uv_write_t *req, int status)
{
    struct sg_write *w = req->data;
    sg_write_done_fn done = w->done;
    void *arg = w->arg;
    size_t len = w->len;

    free(w->data);
    free(w);
    if (done)
        done(arg, len, status);
}

/* Takes data (malloc'd) in every case. */
static int sg_write_start(uv_stream_t *stream, uint8_t *data, size_t len, sg_write_done_fn done,
                          void *arg)
{
    struct sg_write *w;
    uv_buf_t ub;
    int rc;

    if (uv_is_closing((uv_handle_t *)stream)) {
        free(data);
        return UV_EPIPE;
    }
    if (!(w = malloc(sizeof(*w)))) {
        free(data);
        return UV_ENOMEM;
    }
    w->data = data;
    w->len = len;
    w->done = done;
    w->arg = arg;
    w->req.data = w;
    ub = uv_buf_init((char *)data, (unsigned int)len);
    if ((rc = uv_write(&w->req, stream, &ub, 1, sg_write_cb)) < 0) {
        free(data);
        free(w);
        return rc;
    }
    return 0;
}

int sg_uv_write_buf(uv_stream_t *stream, struct sg_buf *b, sg_write_done_fn done, void *arg)
{
    uint8_t *data;
    size_t len;

    if (b->failed) {
        sg_buf_free(b);
        return UV_ENOMEM;
    }
    if (b->len == 0)
        return 0;
    if (b->len > UINT32_MAX) {
        sg_buf_free(b);
        return UV_E2BIG;
    }
    data = sg_buf_detach(b, &len);
    return sg_write_start(stream, data, len, done, arg);
}

int sg_uv_write_copy(uv_stream_t *stream, const void *data, size_t len, sg_write_done_fn done,
                     void *arg)
{
    uint8_t *copy;

    if (len == 0)
        return 0;
    if (len > UINT32_MAX)
        return UV_E2BIG;
    if (!(copy = malloc(len)))
        return UV_ENOMEM;
    memcpy(copy, data, len);
    return sg_write_start(stream, copy, len, done, arg);
}
