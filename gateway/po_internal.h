/* po_internal.h - what the postoffice format files (po_addr.c, po_glb.c, po_p1.c) share: error text, shown text, trimming. */
#ifndef SPOOLGATE_PO_INTERNAL_H
#define SPOOLGATE_PO_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po_format.h"
#include "smtp_char.h"

#if defined(__GNUC__) || defined(__clang__)
#define PO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PO_PRINTF(f, a)
#endif

static inline void seterr(struct po_err *err, const char *fmt, ...) PO_PRINTF(2, 3);

static inline void seterr(struct po_err *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

/* Copy a possibly hostile piece of text into dst for an error message:
 * printable ASCII only, others as '?', shortened with "..." when long. */
static inline void show(char *dst, size_t dstsz, const char *s, size_t len)
{
    size_t max = dstsz - 1, n = 0;
    int cut = 0;

    if (len > max) {
        len = max >= 3 ? max - 3 : 0;
        cut = 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (cut)
        for (int i = 0; i < 3 && n < max; i++)
            dst[n++] = '.';
    dst[n] = '\0';
}

static inline int is_blank(int c)
{
    return c == ' ' || c == '\t';
}

static inline void trim(const char **s, size_t *len)
{
    while (*len && is_blank((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_blank((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

#endif
