/* spoolctl_json.c - spoolctl's JSON writer: correctly escaped strings and the separators between members. */
#include <stdio.h>

#include "spoolctl.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one. */
static int utf8_len(const unsigned char *p)
{
    int n;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0)
        n = 2, cp = p[0] & 0x1fu;
    else if ((p[0] & 0xf0) == 0xe0)
        n = 3, cp = p[0] & 0x0fu;
    else if ((p[0] & 0xf8) == 0xf0)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void spoolctl_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        int n = utf8_len(p);

        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f || n == 0)
            fprintf(f, "\\u%04x", *p); /* a control character, or a byte that is not UTF-8 */
        else {
            fwrite(p, 1, (size_t)n, f);
            p += n;
            continue;
        }
        p++;
    }
    fputc('"', f);
}

void spoolctl_json_key(FILE *f, int *first, const char *key)
{
    if (!*first)
        fputc(',', f);
    *first = 0;
    spoolctl_json_str(f, key);
    fputc(':', f);
}

void spoolctl_json_kv_str(FILE *f, int *first, const char *key, const char *value)
{
    spoolctl_json_key(f, first, key);
    spoolctl_json_str(f, value);
}

void spoolctl_json_kv_u64(FILE *f, int *first, const char *key, uint64_t value)
{
    spoolctl_json_key(f, first, key);
    fprintf(f, "%llu", (unsigned long long)value);
}
