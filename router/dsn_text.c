/* dsn_text.c - the DSN composer's text writing: values cleaned, lines wrapped and folded, header fields, dates. */
#include "dsn_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsn.h"

static const char *nz(const char *v)
{
    return v ? v : "";
}

int dsn_text_blank(const char *v)
{
    for (v = nz(v); *v; v++)
        if ((unsigned char)*v > ' ' && *v != 0x7f)
            return 0;
    return 1;
}

char *dsn_text_clean(const char *v)
{
    size_t n = strlen(nz(v)), o = 0;
    char *c = malloc(n + 1);
    int space = 1; /* drop leading white space */

    if (!c)
        return NULL;
    for (const char *p = nz(v); *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 || ch == 0x7f || ch == ' ') {
            if (!space)
                c[o++] = ' ';
            space = 1;
        } else {
            c[o++] = (char)ch;
            space = 0;
        }
    }
    if (o > 0 && c[o - 1] == ' ')
        o--;
    c[o] = '\0';
    return c;
}

void dsn_text_cut(char *v, size_t max)
{
    size_t n = strlen(v);

    if (n <= max || max < 4)
        return;
    n = max - 3;
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    while (n > 0 && v[n - 1] == ' ')
        n--;
    memcpy(v + n, "...", 4);
}

/* How many octets of v (len octets left) fit in room without splitting a UTF-8 sequence. */
static size_t hard_take(const char *v, size_t len, size_t room)
{
    size_t n = room < len ? room : len;

    if (n < len)
        while (n > 1 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    return n ? n : 1;
}

size_t dsn_text_line_at(const uint8_t *p, size_t n, size_t *eol)
{
    size_t i = 0;

    while (i < n && p[i] != '\n' && p[i] != '\r')
        i++;
    if (i == n)
        *eol = 0;
    else if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
        *eol = 2;
    else
        *eol = 1;
    return i;
}

/*
 * Write the value v (cleaned: single spaces, none at the ends) after col
 * octets already on the line, then CRLF.  Lines break at a space so as to
 * stay within DSN_FOLD_AT when possible and always within DSN_LINE_MAX.
 * indent NULL: header folding (the space stays, starting the continuation
 * line); else the space is dropped and the continuation starts with indent.
 * A word too long for one line is broken (continued after " " or indent).
 */
static void wrap(struct sg_buf *b, size_t col, const char *v, const char *indent)
{
    size_t len = strlen(v), pos = 0;
    size_t ind = indent ? strlen(indent) : 0;

    while (pos < len) {
        size_t rest = len - pos, room, j, brk = 0;

        if (col + rest <= DSN_FOLD_AT) {
            sg_buf_append(b, v + pos, rest);
            break;
        }
        /* the last space within the preferred length, else the first one within the limit */
        room = col < DSN_FOLD_AT ? DSN_FOLD_AT - col : 0;
        for (j = pos + 1; j < len && j - pos <= room; j++)
            if (v[j] == ' ')
                brk = j;
        if (!brk) {
            room = DSN_LINE_MAX - col;
            for (j = pos + 1; j < len && j - pos <= room; j++)
                if (v[j] == ' ') {
                    brk = j;
                    break;
                }
        }
        if (brk) {
            sg_buf_append(b, v + pos, brk - pos);
            sg_buf_puts(b, "\r\n");
            if (indent) {
                sg_buf_puts(b, indent);
                col = ind;
                pos = brk + 1;
            } else {
                col = 0;
                pos = brk; /* the space begins the continuation line */
            }
        } else {
            size_t n = hard_take(v + pos, rest, DSN_LINE_MAX - col);
            sg_buf_append(b, v + pos, n);
            pos += n;
            if (pos < len) {
                sg_buf_puts(b, "\r\n");
                if (indent) {
                    sg_buf_puts(b, indent);
                    col = ind;
                } else {
                    sg_buf_append(b, " ", 1);
                    col = 1;
                }
                if (v[pos] == ' ')
                    pos++; /* a space right at the break: the line already starts with one */
            }
        }
    }
    sg_buf_puts(b, "\r\n");
}

void dsn_text_field(struct sg_buf *b, const char *name, const char *prefix, const char *value,
                    const char *suffix)
{
    char *c = dsn_text_clean(value), *v;
    size_t col, n;

    if (!c) {
        b->failed = 1;
        return;
    }
    n = strlen(c) + strlen(suffix) + 1;
    v = malloc(n);
    if (!v) {
        free(c);
        b->failed = 1;
        return;
    }
    snprintf(v, n, "%s%s", c, suffix);
    free(c);
    col = strlen(name) + 2 + strlen(prefix);
    sg_buf_puts(b, name);
    sg_buf_puts(b, ": ");
    sg_buf_puts(b, prefix);
    wrap(b, col, v, NULL);
    free(v);
}

void dsn_text_line(struct sg_buf *b, const char *first, const char *indent, ...)
{
    va_list ap;
    size_t n = 0, o = 0;
    char *joined, *v;

    va_start(ap, indent);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *))
        n += strlen(p);
    va_end(ap);
    joined = malloc(n + 1);
    if (!joined) {
        b->failed = 1;
        return;
    }
    va_start(ap, indent);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        memcpy(joined + o, p, strlen(p));
        o += strlen(p);
    }
    va_end(ap);
    joined[o] = '\0';
    v = dsn_text_clean(joined);
    free(joined);
    if (!v) {
        b->failed = 1;
        return;
    }
    sg_buf_puts(b, first);
    wrap(b, strlen(first), v, indent);
    free(v);
}

void dsn_text_put_orig(struct sg_buf *b, const uint8_t *o, size_t n)
{
    size_t pos = 0;

    while (pos < n && !b->failed) {
        size_t eol, l = dsn_text_line_at(o + pos, n - pos, &eol), done = 0, col = 0;
        while (l - done > DSN_LINE_MAX - col) {
            size_t take = hard_take((const char *)o + pos + done, l - done, DSN_LINE_MAX - col);
            sg_buf_append(b, o + pos + done, take);
            sg_buf_append(b, "\r\n ", 3);
            done += take;
            col = 1;
        }
        sg_buf_append(b, o + pos + done, l - done);
        sg_buf_puts(b, "\r\n");
        pos += l + eol;
    }
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void dsn_date(uint64_t us, char *buf, size_t bufsz)
{
    time_t t = (time_t)(us / 1000000u);
    struct tm tm;

    if (!buf || bufsz == 0)
        return;
    if ((uint64_t)t != us / 1000000u || !gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 ||
        tm.tm_mon < 0 || tm.tm_mon > 11) {
        t = 0; /* unrepresentable: the epoch rather than garbage */
        if (!gmtime_r(&t, &tm)) {
            snprintf(buf, bufsz, "Thu, 01 Jan 1970 00:00:00 +0000");
            return;
        }
    }
    snprintf(buf, bufsz, "%s, %02d %s %04ld %02d:%02d:%02d +0000", wdays[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], (long)tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
