/* fuzz_dsn.c - fuzzes the DSN composer dsn_compose (router/dsn.c, dsn_text.c) with envelope fields, recipients and the original message taken from the fuzz bytes; the DSN has CRLF lines of at most 998 octets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsn.h"

static const char *const top_fields[] = {"From",
                                         "To",
                                         "Subject",
                                         "Date",
                                         "Message-ID",
                                         "Auto-Submitted",
                                         "MIME-Version",
                                         "Content-Type",
                                         "Content-Transfer-Encoding",
                                         NULL};

/* The line that names the boundary (a field at the start of its line: never inside a value). */
#define CT_LINE "\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\""

/* The field name of line p[0..n) ("Name:" at its start) is one of names: its index, or -1. */
static int field_of(const char *p, size_t n, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        size_t k = strlen(names[i]);

        if (n > k && memcmp(p, names[i], k) == 0 && p[k] == ':')
            return i;
    }
    return -1;
}

/* Occurrences of needle[0..k) in p[0..n). */
static size_t count(const char *p, size_t n, const char *needle, size_t k)
{
    size_t c = 0;

    for (size_t i = 0; k && i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            c++;
    return c;
}

/* The DSN's own header section holds only the fields it writes, each once (no injected field),
 * and its MIME boundary occurs nowhere but as the delimiters of its 2 or 3 parts. */
static void check_structure(const char *p, size_t n)
{
    unsigned seen[sizeof(top_fields) / sizeof(top_fields[0])] = {0};
    const char *q = p, *b, *e;
    char boundary[128];
    size_t delims, blen;

    for (;;) {
        const char *eol = memchr(q, '\r', n - (size_t)(q - p));
        int f;

        if (!eol)
            abort();
        if (eol == q)
            break; /* the empty line */
        if (*q != ' ' && *q != '\t') {
            if ((f = field_of(q, (size_t)(eol - q), top_fields)) < 0 || seen[f]++)
                abort(); /* a field the composer does not write, or one twice */
        }
        q = eol + 2;
    }
    b = memmem(p, (size_t)(q - p), CT_LINE, sizeof(CT_LINE) - 1);
    if (!b)
        abort();
    b += sizeof(CT_LINE) - 1; /* the boundary itself */
    if (!(e = memchr(b, '"', (size_t)(q - b))) || (blen = (size_t)(e - b)) + 3 > sizeof(boundary))
        abort();
    boundary[0] = boundary[1] = '-';
    memcpy(boundary + 2, b, blen);
    delims = count(q, n - (size_t)(q - p), boundary, blen + 2);
    if (delims != 3 && delims != 4)
        abort(); /* 2 or 3 parts and the closing delimiter: the boundary is in no part */
    if (count(q, n - (size_t)(q - p), b, blen) != delims)
        abort(); /* not even without the dashes */
}

/* The original message as the store holds it, from p[0..n): CRLF lines of at most 998 octets
 * (a CR becomes a space, an LF a CRLF); the caller frees it. */
static uint8_t *make_orig(const char *p, size_t n, size_t *len)
{
    uint8_t *o = malloc(n * 3 + 2);
    size_t k = 0, col = 0;

    if (!o)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' || col == 998) {
            o[k++] = '\r';
            o[k++] = '\n';
            col = 0;
            if (p[i] == '\n')
                continue;
        }
        o[k++] = p[i] == '\r' ? ' ' : (uint8_t)p[i];
        col++;
    }
    if (col) {
        o[k++] = '\r';
        o[k++] = '\n';
    }
    *len = k;
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSTR (4 + 3 * 6)

/* Cut the next NUL-terminated string off in[*off..n) (all that is left when there is no NUL). */
static const char *next_str(char *in, size_t n, size_t *off)
{
    char *s = in + *off, *nul = memchr(s, '\0', n - *off);

    *off = nul ? (size_t)(nul - in) + 1 : n;
    return s;
}

/* Every line ends in CRLF and has at most 998 octets before it. */
static void check_lines(const uint8_t *p, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
            abort(); /* bare CR */
        if (p[i] != '\n')
            continue;
        if (i == 0 || p[i - 1] != '\r')
            abort(); /* bare LF */
        if (i - 1 - start > 998)
            abort(); /* line too long */
        start = i + 1;
    }
    if (start != n)
        abort(); /* ends with CRLF */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s[NSTR];
    struct dsn_rcpt r[3];
    struct dsn_msg m;
    struct sg_buf out;
    char why[256], *in;
    size_t off = 8, nr, orig_len;
    uint8_t *orig;

    if (size < 8)
        return 0;
    in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    for (size_t i = 0; i < NSTR; i++)
        s[i] = next_str(in, size, &off);
    nr = 1 + data[0] % 3;
    memset(&m, 0, sizeof(m));
    m.reporting_mta = s[0];
    m.sender = s[1];
    m.envid = s[2];
    m.qid = s[3];
    m.arrival_us = (uint64_t)data[1] << 40;
    m.now_us = m.arrival_us + ((uint64_t)data[2] << 32);
    m.ret = (data[0] & 0x10) ? DSN_RETURN_FULL : DSN_RETURN_HEADERS;
    m.return_limit = (size_t)data[3] * 16;
    for (size_t i = 0; i < 3; i++) {
        const char *const *rs = s + 4 + 6 * i;

        r[i] =
            (struct dsn_rcpt){.addr = rs[0],
                              .orcpt = rs[1],
                              .action = (data[0] & 0x20) ? DSN_ACTION_DELAYED : DSN_ACTION_FAILED,
                              .status = rs[2],
                              .remote_mta = rs[3],
                              .diagnostic = rs[4],
                              .reason = rs[5],
                              .last_attempt_us = (data[4] & 1) ? m.now_us - 1000000 : 0,
                              .will_retry_until_us = m.now_us + ((uint64_t)data[5] << 30)};
    }
    orig = make_orig(in + off, size - off, &orig_len);
    sg_buf_init(&out);
    why[0] = '\0';
    if (dsn_compose(&m, r, nr, orig, orig_len, &out, why, sizeof(why)) == 0) {
        if (out.failed || out.len == 0)
            abort();
        check_lines(out.data, out.len);
        check_structure((const char *)out.data, out.len);
    } else if (why[0] == '\0' || memchr(why, '\0', sizeof(why)) == NULL) {
        abort(); /* a refusal says why */
    }
    sg_buf_free(&out);
    free(orig);
    free(in);
    return 0;
}
