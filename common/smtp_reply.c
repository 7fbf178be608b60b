/* smtp_reply.c - pure pieces of the SMTP client: reply accumulation, enhanced codes, EHLO keywords. */
#include "smtp_reply.h"

#include <string.h>

#include "smtp_char.h"

#define SMTP_REPLY_LINE_MAX 2048 /* octets of one reply line, without its CRLF / LF */
#define SMTP_REPLY_LINES_MAX 100

/* Append n octets to r->text, cutting at SMTP_REPLY_TEXT_MAX - 1.  Control
 * characters are made harmless: TAB becomes a space, the rest '?'. */
static void sr_append(struct smtp_reply *r, const char *s, size_t n)
{
    for (size_t i = 0; i < n && r->text_len < SMTP_REPLY_TEXT_MAX - 1; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\t')
            c = ' ';
        else if (c < 0x20 || c == 0x7f)
            c = '?';
        r->text[r->text_len++] = (char)c;
    }
    r->text[r->text_len] = '\0';
}

/* RFC 3463 "class.subject.detail" at the start of s (n octets), class equal
 * to cls, then the end, a space or a TAB.  Copies it to out (16 octets). */
static void sr_enhanced(const char *s, size_t n, char cls, char *out)
{
    size_t i = 2, d;

    out[0] = '\0';
    if (n < 5 || s[0] != cls || (cls != '2' && cls != '4' && cls != '5') || s[1] != '.')
        return;
    for (d = 0; i < n && smtp_is_digit(s[i]); i++)
        d++;
    if (d < 1 || d > 3 || i >= n || s[i] != '.')
        return;
    i++;
    for (d = 0; i < n && smtp_is_digit(s[i]); i++)
        d++;
    if (d < 1 || d > 3 || (i < n && s[i] != ' ' && s[i] != '\t'))
        return;
    memcpy(out, s, i); /* at most 9 octets */
    out[i] = '\0';
}

/* One reply line without its line end.  0 or -1 (malformed). */
static int sr_line(struct smtp_reply *r, const char *l, size_t n)
{
    const char *body = n > 4 ? l + 4 : l + n;
    size_t bn = n > 4 ? n - 4 : 0;
    int last;

    if (r->lines >= SMTP_REPLY_LINES_MAX)
        return -1;
    if (n < 3 || l[0] < '2' || l[0] > '5' || !smtp_is_digit(l[1]) || !smtp_is_digit(l[2]))
        return -1;
    if (n > 3 && l[3] != ' ' && l[3] != '-')
        return -1;
    last = n == 3 || l[3] == ' ';
    if (r->lines == 0) {
        sr_append(r, l, 3);
        if (bn > 0) {
            sr_append(r, " ", 1);
            sr_append(r, body, bn);
        }
        sr_enhanced(body, bn, l[0], r->enhanced);
    } else {
        if (memcmp(l, r->text, 3) != 0)
            return -1;
        if (bn > 0) {
            sr_append(r, " / ", 3);
            sr_append(r, body, bn);
        }
    }
    r->lines++;
    if (last) {
        r->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
        r->complete = 1;
    }
    return 0;
}

long smtp_reply_feed(struct smtp_reply *r, const char *in, size_t len)
{
    size_t pos = 0;

    if (r->complete)
        return 0;
    while (pos < len) {
        const char *nl = memchr(in + pos, '\n', len - pos);
        size_t ll;

        if (nl == NULL) {
            size_t p = len - pos;

            /* a partial line that can no longer end within the limit */
            if (p > SMTP_REPLY_LINE_MAX + 1 ||
                (p == SMTP_REPLY_LINE_MAX + 1 && in[len - 1] != '\r'))
                return -1;
            break;
        }
        ll = (size_t)(nl - (in + pos));
        if (ll > 0 && in[pos + ll - 1] == '\r')
            ll--;
        if (ll > SMTP_REPLY_LINE_MAX || sr_line(r, in + pos, ll) < 0)
            return -1;
        pos = (size_t)(nl - in) + 1;
        if (r->complete)
            break;
    }
    return (long)pos;
}

void smtp_reply_reset(struct smtp_reply *r)
{
    memset(r, 0, sizeof(*r));
}

struct sr_kw {
    const char *name;
    unsigned flag;
};

static const struct sr_kw sr_keywords[] = {
    {"PIPELINING", EHLO_PIPELINING},
    {"SIZE", EHLO_SIZE},
    {"8BITMIME", EHLO_8BITMIME},
    {"STARTTLS", EHLO_STARTTLS},
    {"DSN", EHLO_DSN},
    {"SMTPUTF8", EHLO_SMTPUTF8},
    {"ENHANCEDSTATUSCODES", EHLO_ENHANCED},
    {"CHUNKING", EHLO_CHUNKING},
};

static int sr_kw_is(const char *s, size_t n, const char *kw)
{
    size_t i;

    for (i = 0; i < n && kw[i] != '\0'; i++) {
        if (smtp_to_upper(s[i]) != kw[i])
            return 0;
    }
    return i == n && kw[i] == '\0';
}

/* "SIZE" parameter: decimal digits to the end or a blank; 0 when absent or
 * not a number; saturates at UINT64_MAX. */
static uint64_t sr_size_param(const char *s, size_t n)
{
    uint64_t v = 0;
    size_t i = 0;

    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n || !smtp_is_digit(s[i]))
        return 0;
    for (; i < n && smtp_is_digit(s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');

        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    if (i < n && s[i] != ' ' && s[i] != '\t')
        return 0;
    return v;
}

/* "AUTH mech mech..." (or "AUTH=mech ..."): the mechanisms we can use, from s[0..n) after the
 * keyword. */
static unsigned sr_auth_mechs(const char *s, size_t n)
{
    unsigned flags = 0;
    size_t i = 0;

    while (i < n) {
        size_t k;

        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '='))
            i++;
        k = i;
        while (i < n && s[i] != ' ' && s[i] != '\t')
            i++;
        if (sr_kw_is(s + k, i - k, "PLAIN"))
            flags |= EHLO_AUTH_PLAIN;
        else if (sr_kw_is(s + k, i - k, "LOGIN"))
            flags |= EHLO_AUTH_LOGIN;
    }
    return flags;
}

static void sr_ehlo_line(const char *l, size_t n, struct ehlo_caps *caps)
{
    size_t i = 4, k;

    if (n < 4 || !smtp_is_digit(l[0]) || !smtp_is_digit(l[1]) || !smtp_is_digit(l[2]) ||
        (l[3] != ' ' && l[3] != '-'))
        return;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    k = i;
    while (i < n && l[i] != ' ' && l[i] != '\t' && l[i] != '=')
        i++;
    if (sr_kw_is(l + k, i - k, "AUTH")) {
        caps->flags |= sr_auth_mechs(l + i, n - i);
        return;
    }
    if (i < n && l[i] == '=')
        return; /* KEYWORD=... is only AUTH's old form */
    for (size_t j = 0; j < sizeof(sr_keywords) / sizeof(sr_keywords[0]); j++) {
        if (sr_kw_is(l + k, i - k, sr_keywords[j].name)) {
            caps->flags |= sr_keywords[j].flag;
            if (sr_keywords[j].flag == EHLO_SIZE)
                caps->size_limit = sr_size_param(l + i, n - i);
            return;
        }
    }
}

void smtp_ehlo_parse(const char *raw, size_t len, struct ehlo_caps *caps)
{
    size_t pos = 0, lineno = 0;

    caps->flags = 0;
    caps->size_limit = 0;
    if (raw == NULL)
        return;
    while (pos < len) {
        const char *l = raw + pos, *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;

        pos += n + (nl ? 1 : 0);
        if (n > 0 && l[n - 1] == '\r')
            n--;
        if (lineno++ > 0)
            sr_ehlo_line(l, n, caps);
    }
}
