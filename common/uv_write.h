/* uv_write.h - the one libuv write helper: bytes handed to the kernel with their memory owned by the write until it completes. */
#ifndef SPOOLGATE_UV_WRITE_H
#define SPOOLGATE_UV_WRITE_H

#include <uv.h>

#include "buf.h"

/* Called once the write finished: status 0 or a libuv error (UV_ECANCELED
 * when the stream was closed first); len is what this write carried, for the
 * caller's count of bytes in flight.  The memory is already released. */
typedef void (*sg_write_done_fn)(void *arg, size_t len, int status);

/* Write b's bytes; the write takes b's memory and b is empty afterwards.
 * 0: done() will be called.  A negative libuv error (UV_EPIPE: the stream
 * is closing; UV_ENOMEM: out of memory or b had failed; what uv_write
 * said): done() is not called and b is emptied.  An empty buffer returns 0
 * without calling done(). */
int sg_uv_write_buf(uv_stream_t *stream, struct sg_buf *b, sg_write_done_fn done, void *arg);
/* Same with a copy of data[0..len). */
int sg_uv_write_copy(uv_stream_t *stream, const void *data, size_t len, sg_write_done_fn done,
                     void *arg);

#endif
