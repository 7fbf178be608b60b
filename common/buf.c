/* buf.c - the one growable byte buffer (see buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void sg_buf_init(struct sg_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sg_buf_free(struct sg_buf *b)
{
    if (!b)
        return;
    free(b->data);
    sg_buf_init(b);
}

void sg_buf_reset(struct sg_buf *b)
{
    b->len = 0;
    b->mark = 0;
    b->failed = 0;
}

int sg_buf_reserve(struct sg_buf *b, size_t n)
{
    size_t cap;
    uint8_t *p;

    if (b->failed)
        return -1;
    if (b->cap - b->len >= n)
        return 0;
    if (n > SIZE_MAX - b->len) {
        b->failed = 1;
        return -1;
    }
    for (cap = b->cap ? b->cap : 256; cap - b->len < n;)
        cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
    if (!(p = realloc(b->data, cap))) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int sg_buf_append(struct sg_buf *b, const void *p, size_t n)
{
    if (sg_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sg_buf_puts(struct sg_buf *b, const char *s)
{
    size_t n = strlen(s);

    if (n == SIZE_MAX || sg_buf_reserve(b, n + 1) < 0)
        return -1;
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
    return 0;
}

int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sg_buf_reserve(b, (size_t)n + 1) < 0) {
        b->failed = 1;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sg_buf_consume(struct sg_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

int sg_buf_read_stream(struct sg_buf *b, FILE *f)
{
    size_t n;

    do {
        if (sg_buf_reserve(b, 65536 + 1) < 0)
            return -1;
        n = fread(b->data + b->len, 1, 65536, f);
        b->len += n;
    } while (n > 0);
    b->data[b->len] = '\0';
    return ferror(f) ? -1 : 0;
}

uint8_t *sg_buf_detach(struct sg_buf *b, size_t *len)
{
    uint8_t *p = b->data;

    if (len)
        *len = b->len;
    sg_buf_init(b);
    return p;
}
