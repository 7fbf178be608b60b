/* sendmail_headers.c - the header block of a local submission and the address lists in it and on the command line (RFC 5322 3.4). */
#include "sendmail_headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The end of the line at off (after its LF, or len). */
static size_t line_end(const char *m, size_t len, size_t off)
{
    const char *lf = memchr(m + off, '\n', len - off);

    return lf ? (size_t)(lf - m) + 1 : len;
}

/* Length of the field name when the line is "name:" (ftext, RFC 5322 3.6.8), else 0. */
static size_t field_name_len(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && (unsigned char)p[i] > 32 && (unsigned char)p[i] < 127 && p[i] != ':')
        i++;
    if (i == 0)
        return 0;
    size_t j = i;
    while (j < n && (p[j] == ' ' || p[j] == '\t'))
        j++;
    return j < n && p[j] == ':' ? i : 0;
}

size_t smh_header_end(const char *msg, size_t len, size_t *body)
{
    size_t off = 0;

    while (off < len) {
        size_t end = line_end(msg, len, off), n = end - off;
        const char *p = msg + off;

        if ((n == 2 && p[0] == '\r' && p[1] == '\n') || (n == 1 && p[0] == '\n')) {
            *body = end;
            return off;
        }
        if (!((off > 0 && (p[0] == ' ' || p[0] == '\t')) || field_name_len(p, n) > 0))
            break;
        off = end;
    }
    *body = off;
    return off;
}

/* The field at off is called name: 1, else 0. */
static int field_is(const char *p, size_t n, const char *name)
{
    size_t k = field_name_len(p, n);

    return k > 0 && k == strlen(name) && strncasecmp(p, name, k) == 0;
}

/* The end of the field at off: after its last continuation line. */
static size_t field_end(const char *hdr, size_t len, size_t off)
{
    size_t end = line_end(hdr, len, off);

    while (end < len && (hdr[end] == ' ' || hdr[end] == '\t'))
        end = line_end(hdr, len, end);
    return end;
}

int smh_has_field(const char *hdr, size_t len, const char *name)
{
    for (size_t off = 0; off < len; off = field_end(hdr, len, off))
        if (field_is(hdr + off, len - off, name))
            return 1;
    return 0;
}

size_t smh_remove_field(char *hdr, size_t len, const char *name)
{
    size_t off = 0;

    while (off < len) {
        size_t end = field_end(hdr, len, off);

        if (field_is(hdr + off, len - off, name)) {
            memmove(hdr + off, hdr + end, len - end);
            len -= end - off;
        } else {
            off = end;
        }
    }
    return len;
}

int smh_field_addrs(const char *hdr, size_t len, const char *name, struct smh_addrs *out)
{
    for (size_t off = 0; off < len;) {
        size_t end = field_end(hdr, len, off), k = 0;
        const char *colon;
        char *value;

        if (!field_is(hdr + off, len - off, name)) {
            off = end;
            continue;
        }
        colon = memchr(hdr + off, ':', end - off);
        if (!(value = malloc(end - off)))
            return -1;
        for (const char *p = colon + 1; p < hdr + end; p++)
            if (*p != '\r' && *p != '\n') /* unfolding: the CRLF goes, the space stays */
                value[k++] = *p;
        int rc = smh_parse_list(value, k, out);
        free(value);
        if (rc < 0)
            return -1;
        off = end;
    }
    return 0;
}

int smh_addrs_add(struct smh_addrs *a, const char *addr, size_t len)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        char **v = realloc(a->v, cap * sizeof(*v));

        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    if (!(a->v[a->n] = strndup(addr, len)))
        return -1;
    a->n++;
    return 0;
}

void smh_addrs_free(struct smh_addrs *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

int smh_qualify(const char *addr, const char *origin, char *out, size_t outsz)
{
    int n;

    /* The '@' that counts is outside a quoted local part: the last one. */
    if (strrchr(addr, '@') && (!strrchr(addr, '"') || strrchr(addr, '@') > strrchr(addr, '"')))
        n = snprintf(out, outsz, "%s", addr);
    else
        n = snprintf(out, outsz, "%s@%s", addr, origin);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}
