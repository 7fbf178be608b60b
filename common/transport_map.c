/* transport_map.c - pure parser and lookup of the router's transport map (domain -> next hop). */
#include "transport_map.h"
#include "array.h"
#include "buf.h"

#include <errno.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TM_NAME_MAX 253 /* a domain or host name without any leading '.' */
#define TM_LABEL_MAX 63

struct tm_errbuf {
    char *buf;
    size_t size;
    size_t used;
    const char *name;
};

static char tm_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int tm_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int tm_is_alnum(char c)
{
    return tm_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int tm_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Append "name:line: reason" to the error buffer, one report per line, never
 * overflowing and always NUL-terminated; excess reports are cut off. */
static void tm_report(struct tm_errbuf *e, size_t line, const char *reason)
{
    int w;

    if (e->buf == NULL || e->size == 0 || e->used + 1 >= e->size)
        return;
    w = snprintf(e->buf + e->used, e->size - e->used, "%s%s:%zu: %s", e->used ? "\n" : "", e->name,
                 line, reason);
    if (w < 0) {
        e->buf[e->used] = '\0';
        return;
    }
    if ((size_t)w >= e->size - e->used)
        e->used = e->size - 1;
    else
        e->used += (size_t)w;
}

/* LDH labels joined by single dots: 1..63 octets each, no '-' at either end
 * of a label, at most 253 octets in all, no empty label, no trailing dot. */
static int tm_valid_name(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > TM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
        } else if (tm_is_alnum(c) || c == '-') {
            if (c == '-' && label == 0)
                return 0;
            if (++label > TM_LABEL_MAX)
                return 0;
        } else {
            return 0;
        }
    }
    return label != 0 && s[n - 1] != '-';
}

/* The inside of "[...]": an IPv6 address when it holds a ':', otherwise a
 * host name or IPv4 address (which is LDH-shaped). */
static int tm_valid_bracketed(const char *s, size_t n)
{
    char buf[64];
    unsigned char addr[16];

    if (memchr(s, ':', n) == NULL)
        return tm_valid_name(s, n);
    if (n >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!tm_is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f') && !(s[i] >= 'A' && s[i] <= 'F') &&
            s[i] != ':' && s[i] != '.')
            return 0;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

/* 1..65535, decimal, at most 5 digits. */
static int tm_parse_port(const char *s, size_t n, unsigned *port)
{
    unsigned v = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!tm_is_digit(s[i]))
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* Next hop of n octets: "[host]:port", "[host]", "host:port", "host".
 * Returns NULL or the reason it is bad. */
static const char *tm_hop(const char *s, size_t n, char *host, size_t hostsz, unsigned *port,
                          int *mx)
{
    const char *h, *p = NULL;
    size_t hn, pn = 0;
    int bracketed = 0;

    *port = 0;
    if (n == 0)
        return "empty next hop";
    if (s[0] == '[') {
        const char *close = memchr(s + 1, ']', n - 1);
        size_t after;

        if (close == NULL || memchr(s + 1, '[', (size_t)(close - s) - 1) != NULL)
            return "unbalanced brackets in next hop";
        h = s + 1;
        hn = (size_t)(close - h);
        after = (size_t)(close - s) + 1;
        if (after < n) {
            if (s[after] != ':')
                return "unexpected text after ']' in next hop";
            p = s + after + 1;
            pn = n - after - 1;
            if (memchr(p, '[', pn) != NULL || memchr(p, ']', pn) != NULL)
                return "unbalanced brackets in next hop";
        }
        bracketed = 1;
    } else {
        const char *colon = memchr(s, ':', n);

        if (memchr(s, '[', n) != NULL || memchr(s, ']', n) != NULL)
            return "unbalanced brackets in next hop";
        h = s;
        hn = colon ? (size_t)(colon - s) : n;
        if (colon) {
            p = colon + 1;
            pn = n - hn - 1;
        }
    }
    if (hn == 0)
        return "empty host in next hop";
    if (!(bracketed ? tm_valid_bracketed(h, hn) : tm_valid_name(h, hn)))
        return "bad host in next hop";
    if (p != NULL && tm_parse_port(p, pn, port) < 0)
        return "bad port in next hop (1..65535)";
    if (hn >= hostsz)
        return "host name too long";
    memcpy(host, h, hn);
    host[hn] = '\0';
    *mx = !bracketed;
    return NULL;
}

/* After "lmtp:": unix:/path, inet:host:port, or a next hop as for smtp: (the host is looked up
 * by its addresses, never its MX: an LMTP server is a mailbox server, not a domain's MX). */
static const char *tm_lmtp(const char *s, size_t n, struct tm_entry *e)
{
    int mx = 0;
    const char *why;

    if (n >= 5 && memcmp(s, "unix:", 5) == 0) {
        if (n == 5 || s[5] != '/')
            return "lmtp:unix: needs an absolute socket path";
        if (n - 5 > TM_UNIX_PATH_MAX)
            return "lmtp:unix: socket path too long (at most 107 octets)";
        for (size_t i = 5; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
                return "lmtp:unix: socket path with a control, space or non-ASCII octet";
        memcpy(e->host, s + 5, n - 5);
        e->host[n - 5] = '\0';
        e->kind = TM_LMTP_UNIX;
        return NULL;
    }
    if (n >= 5 && memcmp(s, "inet:", 5) == 0) {
        s += 5;
        n -= 5;
    }
    if ((why = tm_hop(s, n, e->host, sizeof(e->host), &e->port, &mx)) != NULL)
        return why;
    e->kind = TM_LMTP_HOST;
    return NULL;
}

int tm_parse_nexthop(const char *s, char *host, size_t hostsz, unsigned *port, int *mx)
{
    unsigned p = 0;
    int m = 0;

    if (host == NULL || hostsz == 0)
        return -1;
    host[0] = '\0';
    if (port)
        *port = 0;
    if (mx)
        *mx = 0;
    if (s == NULL || tm_hop(s, strlen(s), host, hostsz, &p, &m) != NULL) {
        host[0] = '\0';
        return -1;
    }
    if (port)
        *port = p;
    if (mx)
        *mx = m;
    return 0;
}

const char *tm_nexthop_problem(const char *s)
{
    char host[256];
    unsigned port;
    int mx;

    return s ? tm_hop(s, strlen(s), host, sizeof(host), &port, &mx) : "empty next hop";
}

/* "X.Y.Z" with X in 4,5 and Y, Z of 1..3 digits. */
static int tm_valid_status(const char *s, size_t n)
{
    size_t i = 2, d;

    if (n < 5 || (s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    for (d = 0; i < n && tm_is_digit(s[i]); i++)
        d++;
    if (d < 1 || d > 3 || i >= n || s[i] != '.')
        return 0;
    i++;
    for (d = 0; i < n && tm_is_digit(s[i]); i++)
        d++;
    return d >= 1 && d <= 3 && i == n;
}

size_t tm_next_token(const char *line, size_t n, size_t *pos, const char **tok)
{
    size_t i = *pos, start;

    while (i < n && tm_is_space(line[i]))
        i++;
    start = i;
    while (i < n && !tm_is_space(line[i]))
        i++;
    *tok = line + start;
    *pos = i;
    return i - start;
}

static int tm_token_is(const char *tok, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(tok, lit, n) == 0;
}

int tm_auth_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > TM_AUTH_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!tm_is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    }
    return 1;
}

static const char *tm_option_tls(const char *v, size_t vn, struct tm_entry *e)
{
    static const char *const names[] = {[TM_TLS_NONE] = "none",
                                        [TM_TLS_MAY] = "may",
                                        [TM_TLS_VERIFY] = "verify",
                                        [TM_TLS_IMPLICIT] = "implicit"};

    if (e->tls != TM_TLS_DEFAULT)
        return "tls option given twice";
    if (e->kind == TM_LMTP_UNIX)
        return "no tls option for a Unix socket";
    for (int t = TM_TLS_NONE; t <= TM_TLS_IMPLICIT; t++) {
        if (tm_token_is(v, vn, names[t])) {
            e->tls = (enum tm_tls)t;
            return NULL;
        }
    }
    return "bad tls value (none, may, verify or implicit)";
}

static const char *tm_option_auth(const char *v, size_t vn, struct tm_entry *e)
{
    if (e->auth[0])
        return "auth option given twice";
    if (e->kind != TM_SMTP_HOST && e->kind != TM_SMTP_MX)
        return "auth= is for smtp: entries only";
    if (!tm_auth_name_valid(v, vn))
        return "bad auth name (1-63 letters, digits, '.', '_' or '-': a name in "
               "router.smarthost_secrets)";
    memcpy(e->auth, v, vn);
    e->auth[vn] = '\0';
    return NULL;
}

/* One "key=value" after the next hop. */
static const char *tm_option(const char *tok, size_t tn, struct tm_entry *e, char *rbuf,
                             size_t rbufsz)
{
    if (tn >= 4 && memcmp(tok, "tls=", 4) == 0)
        return tm_option_tls(tok + 4, tn - 4, e);
    if (tn >= 5 && memcmp(tok, "auth=", 5) == 0)
        return tm_option_auth(tok + 5, tn - 5, e);
    snprintf(rbuf, rbufsz, "unknown option '%.*s'", tn > 64 ? 64 : (int)tn, tok);
    return rbuf;
}

/* What an entry's options imply: credentials only over verified TLS (tls=verify unless the
 * entry says implicit), and port 465 is TLS from the connect on. */
static const char *tm_defaults(struct tm_entry *e)
{
    int smtp = e->kind == TM_SMTP_HOST || e->kind == TM_SMTP_MX;

    if (!smtp)
        return NULL;
    if (e->tls == TM_TLS_DEFAULT && e->port == TM_SUBMISSIONS_PORT)
        e->tls = TM_TLS_IMPLICIT;
    if (e->auth[0] && e->tls == TM_TLS_DEFAULT)
        e->tls = TM_TLS_VERIFY;
    if (e->auth[0] && e->tls != TM_TLS_VERIFY && e->tls != TM_TLS_IMPLICIT)
        return "auth= needs tls=verify or tls=implicit: credentials go only over a verified TLS "
               "session";
    return NULL;
}

/* Parse one line (no line end, comment already cut, no trailing blanks) into
 * e.  Returns NULL or the reason; reason may be written to rbuf. */
static const char *tm_parse_line(const char *line, size_t n, struct tm_entry *e, char *rbuf,
                                 size_t rbufsz)
{
    const char *tok;
    size_t pos = 0, tn;

    memset(e, 0, sizeof(*e));
    tn = tm_next_token(line, n, &pos, &tok);
    {
        size_t skip = tn > 0 && tok[0] == '.' ? 1 : 0;

        if (!tm_valid_name(tok + skip, tn - skip))
            return "bad domain (LDH labels separated by dots, optional leading '.')";
        for (size_t i = 0; i < tn; i++)
            e->domain[i] = tm_lower(tok[i]);
        e->domain[tn] = '\0';
    }

    tn = tm_next_token(line, n, &pos, &tok);
    if (tn == 0)
        return "missing transport";
    if (tn >= 6 && memcmp(tok, "error:", 6) == 0) {
        size_t tstart = pos;

        if (!tm_valid_status(tok + 6, tn - 6))
            return "bad status in error transport (expected error:X.Y.Z with X 4 or 5)";
        memcpy(e->status, tok + 6, tn - 6);
        e->status[tn - 6] = '\0';
        while (tstart < n && tm_is_space(line[tstart]))
            tstart++;
        if (tstart == n)
            return "missing text after error:X.Y.Z";
        if (n - tstart >= sizeof(e->text))
            return "error text too long (at most 255 octets)";
        for (size_t i = tstart; i < n; i++) {
            if ((unsigned char)line[i] >= 0x80)
                return "error text is not ASCII";
        }
        memcpy(e->text, line + tstart, n - tstart);
        e->text[n - tstart] = '\0';
        e->kind = TM_ERROR;
        return NULL;
    }
    if (tn >= 5 && memcmp(tok, "smtp:", 5) == 0) {
        int mx = 0;
        const char *why = tm_hop(tok + 5, tn - 5, e->host, sizeof(e->host), &e->port, &mx);

        if (why != NULL)
            return why;
        e->kind = mx ? TM_SMTP_MX : TM_SMTP_HOST;
    } else if (tn >= 5 && memcmp(tok, "lmtp:", 5) == 0) {
        const char *why = tm_lmtp(tok + 5, tn - 5, e);

        if (why != NULL)
            return why;
    } else {
        return "unknown transport (expected smtp:, lmtp: or error:)";
    }

    while ((tn = tm_next_token(line, n, &pos, &tok)) > 0) {
        const char *why = tm_option(tok, tn, e, rbuf, rbufsz);

        if (why != NULL)
            return why;
    }
    return tm_defaults(e);
}

int tm_parse(const char *text, size_t len, const char *name, struct transport_map *map, char *err,
             size_t errsz)
{
    struct tm_errbuf eb = {err, errsz, 0, name ? name : "transport_map"};
    struct tm_entry *v = NULL, e;
    size_t n = 0, cap = 0, lineno = 0, pos = 0;
    int bad = 0;
    char rbuf[320];

    if (err != NULL && errsz > 0)
        err[0] = '\0';
    if (text == NULL)
        len = 0;
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos, cut;
        const char *why = NULL;

        pos += ll + (nl ? 1 : 0);
        lineno++;
        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        /* comment: '#' at the start or after a blank */
        for (cut = 0; cut < ll; cut++) {
            if (line[cut] == '#' && (cut == 0 || tm_is_space(line[cut - 1])))
                break;
        }
        ll = cut;
        while (ll > 0 && tm_is_space(line[ll - 1]))
            ll--;
        for (size_t i = 0; i < ll && why == NULL; i++) {
            unsigned char c = (unsigned char)line[i];

            if ((c < 0x20 && c != '\t') || c == 0x7f)
                why = "control character in line";
        }
        {
            size_t i = 0;

            while (i < ll && tm_is_space(line[i]))
                i++;
            if (i == ll)
                continue; /* blank or comment only */
        }
        if (why == NULL)
            why = tm_parse_line(line, ll, &e, rbuf, sizeof(rbuf));
        if (why == NULL) {
            for (size_t i = 0; i < n; i++) {
                if (strcmp(v[i].domain, e.domain) == 0) {
                    snprintf(rbuf, sizeof(rbuf), "duplicate entry for %s", e.domain);
                    why = rbuf;
                    break;
                }
            }
        }
        if (why == NULL && sg_array_reserve(&v, &cap, n + 1, sizeof(*v)) < 0) {
            tm_report(&eb, lineno, "out of memory");
            free(v);
            return -1;
        }
        if (why != NULL) {
            tm_report(&eb, lineno, why);
            bad = 1;
            continue;
        }
        v[n++] = e;
    }
    if (bad) {
        free(v);
        return -1;
    }
    map->v = v;
    map->n = n;
    return 0;
}

void tm_free(struct transport_map *map)
{
    if (map == NULL)
        return;
    free(map->v);
    map->v = NULL;
    map->n = 0;
}

static int tm_eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tm_lower(a[i]) != b[i])
            return 0;
    }
    return 1;
}

const struct tm_entry *tm_lookup(const struct transport_map *map, const char *domain)
{
    const struct tm_entry *best = NULL;
    size_t dn, best_len = 0;

    if (map == NULL || domain == NULL)
        return NULL;
    dn = strlen(domain);
    if (dn > 0 && domain[dn - 1] == '.')
        dn--; /* "example.com." is "example.com" */
    if (dn == 0)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const struct tm_entry *e = &map->v[i];
        size_t en = strlen(e->domain);

        if (e->domain[0] != '.') {
            if (en == dn && tm_eq_nocase(domain, e->domain, dn))
                return e;
        } else if (en < dn && en > best_len && tm_eq_nocase(domain + dn - en, e->domain, en)) {
            best = e;
            best_len = en;
        }
    }
    return best;
}

int tm_load_file(const char *path, struct transport_map *map, char *err, size_t errsz)
{
    FILE *f;
    struct sg_buf text = {0};
    int rc;

    memset(map, 0, sizeof(*map));
    if (!path || !path[0])
        return 0;
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = sg_buf_read_stream(&text, f);
    fclose(f);
    if (rc < 0) {
        snprintf(err, errsz, "%s: %s", path, text.failed ? "out of memory" : "read error");
        sg_buf_free(&text);
        return -1;
    }
    rc = tm_parse((const char *)text.data, text.len, path, map, err, errsz);
    sg_buf_free(&text);
    return rc;
}

static int tm_list_sep(char c)
{
    return c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n';
}

int tm_domain_listed(const char *domain, const char *list)
{
    size_t dlen = domain ? strlen(domain) : 0;
    const char *p = list;

    if (dlen == 0 || !list)
        return 0;
    for (;;) {
        const char *w;
        size_t wlen;

        while (*p && tm_list_sep(*p))
            p++;
        if (!*p)
            return 0;
        w = p;
        while (*p && !tm_list_sep(*p))
            p++;
        wlen = (size_t)(p - w);
        if (w[0] == '.'
                ? (wlen > 1 && dlen > wlen && strncasecmp(domain + dlen - wlen, w, wlen) == 0)
                : (wlen == dlen && strncasecmp(domain, w, wlen) == 0))
            return 1;
    }
}
