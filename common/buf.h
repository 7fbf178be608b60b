/* buf.h - the one growable byte buffer: append, reserve, consume, detach; a failed flag instead of checks at every step. */
#ifndef SPOOLGATE_BUF_H
#define SPOOLGATE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Zero-initialised (or sg_buf_init) it is empty and owns nothing.  Once an
 * append fails (out of memory, or a size that would overflow) failed is set
 * and every later append is refused, so a builder may check once at the end. */
struct sg_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t mark; /* an offset the user keeps (the IPC codec: start of the frame being built) */
    int failed;
};

void sg_buf_init(struct sg_buf *b);
/* Release the memory; the buffer is empty again.  NULL-safe. */
void sg_buf_free(struct sg_buf *b);
/* Empty it but keep the memory; clears failed and mark. */
void sg_buf_reset(struct sg_buf *b);
/* Room for at least n more bytes after len.  0, or -1 (and failed set). */
int sg_buf_reserve(struct sg_buf *b, size_t n);
/* Append n bytes.  0, or -1 (and failed set). */
int sg_buf_append(struct sg_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string (the NUL is not counted in len but is kept
 * after it, so data may be read as a string).  0 or -1. */
int sg_buf_puts(struct sg_buf *b, const char *s);
/* Append formatted text (kept NUL-terminated like sg_buf_puts).  0 or -1. */
int sg_buf_printf(struct sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Remove the first n bytes (after they were used). */
void sg_buf_consume(struct sg_buf *b, size_t n);
/* Append everything f has left to read (kept NUL-terminated like
 * sg_buf_puts).  0, or -1 on a read error (ferror(f)) or out of memory
 * (failed set). */
int sg_buf_read_stream(struct sg_buf *b, FILE *f);
/* Hand the memory to the caller (who frees it); the buffer is empty again.
 * *len gets the length.  NULL when empty. */
uint8_t *sg_buf_detach(struct sg_buf *b, size_t *len);

#endif
