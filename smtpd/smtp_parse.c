/* smtp_parse.c - pure parsers for SMTP command lines, paths, ESMTP parameters and address lists. */
#include "smtp_parse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* ---- small helpers ------------------------------------------------------- */

static const char *const verb_names[SMTP_V_COUNT] = {
    [SMTP_V_UNKNOWN] = "UNKNOWN", [SMTP_V_EHLO] = "EHLO",         [SMTP_V_HELO] = "HELO",
    [SMTP_V_MAIL] = "MAIL",       [SMTP_V_RCPT] = "RCPT",         [SMTP_V_DATA] = "DATA",
    [SMTP_V_BDAT] = "BDAT",       [SMTP_V_RSET] = "RSET",         [SMTP_V_NOOP] = "NOOP",
    [SMTP_V_QUIT] = "QUIT",       [SMTP_V_HELP] = "HELP",         [SMTP_V_VRFY] = "VRFY",
    [SMTP_V_EXPN] = "EXPN",       [SMTP_V_STARTTLS] = "STARTTLS", [SMTP_V_AUTH] = "AUTH",
};

static int set_err(struct smtp_error *err, int code, const char *text)
{
    if (err != NULL) {
        err->code = code;
        snprintf(err->text, sizeof(err->text), "%s", text);
    }
    return -1;
}

static void clear_err(struct smtp_error *err)
{
    if (err != NULL) {
        err->code = 0;
        err->text[0] = '\0';
    }
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Case-insensitive (ASCII) comparison of n octets. */
static int ci_mem(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Does (a, alen) equal the NUL-terminated literal, ignoring ASCII case? */
static int ci_equal(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);

    return alen == n && ci_mem(a, lit, n);
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_upper_hex(unsigned char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* RFC 5321 atext (RFC 5322 3.2.3). */
static int is_atext(unsigned char c)
{
    if (is_alnum(c))
        return 1;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
        return 1;
    default:
        return 0;
    }
}

/* Well-formed UTF-8 (shortest form, no surrogates, <= U+10FFFF). */
static int utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        unsigned lo = 0x80, hi = 0xBF;
        size_t n;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c == 0xE0) {
            n = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            n = 2;
        } else if (c == 0xED) {
            n = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            n = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            n = 3;
        } else if (c == 0xF4) {
            n = 3;
            hi = 0x8F;
        } else {
            return 0;
        }
        if (len - i - 1 < n)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += n + 1;
    }
    return 1;
}

static int has_8bit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

/* Parse 1*max_digits DIGIT into *v; 0 on success, -1 on junk or overflow. */
static int parse_u64(const char *s, size_t len, size_t max_digits, uint64_t *v)
{
    uint64_t n = 0;

    if (len == 0 || len > max_digits)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;
        if (!is_digit((unsigned char)s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *v = n;
    return 0;
}

/* ---- command line -------------------------------------------------------- */

int smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd, struct smtp_error *err)
{
    size_t i, vlen;

    if (line == NULL) {
        line = "";
        len = 0;
    }
    if (cmd != NULL) {
        cmd->verb = SMTP_V_UNKNOWN;
        cmd->arg = "";
        cmd->arg_len = 0;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return set_err(err, 500, "5.5.2 Invalid character in command");
    }
    if (cmd == NULL)
        return set_err(err, 500, "5.5.2 Invalid command");
    clear_err(err);

    for (vlen = 0; vlen < len && line[vlen] != ' '; vlen++)
        ;
    if (vlen == 0)
        return 0; /* empty line or leading space: unknown, no argument */
    for (int v = SMTP_V_UNKNOWN + 1; v < SMTP_V_COUNT; v++) {
        if (ci_equal(line, vlen, verb_names[v])) {
            cmd->verb = (enum smtp_verb)v;
            break;
        }
    }
    for (i = vlen; i < len && line[i] == ' '; i++)
        ;
    if (i < len) {
        cmd->arg = line + i;
        cmd->arg_len = len - i;
    }
    return 0;
}

const char *smtp_verb_name(enum smtp_verb v)
{
    if ((unsigned)v >= (unsigned)SMTP_V_COUNT)
        return "UNKNOWN";
    return verb_names[v];
}

/* ---- mailboxes ----------------------------------------------------------- */

/* Domain of LDH labels (labels may also hold UTF-8 octets when utf8_ok). */
static int domain_name_valid(const char *s, size_t len, int utf8_ok)
{
    size_t i = 0;

    if (len == 0 || len > SMTP_DOMAIN_MAX)
        return 0;
    while (i < len) {
        size_t start = i;
        while (i < len && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (!(is_alnum(c) || c == '-' || (utf8_ok && c >= 0x80)))
                return 0;
            i++;
        }
        if (i == start || i - start > 63)
            return 0;
        if (s[start] == '-' || s[i - 1] == '-')
            return 0;
        if (i < len) {
            i++; /* the dot */
            if (i == len)
                return 0; /* trailing dot */
        }
    }
    return utf8_ok ? utf8_valid(s, len) : 1;
}

/* "[1.2.3.4]" or "[IPv6:...]"; other (general) literals are refused. */
static int addr_literal_valid(const char *s, size_t len)
{
    char buf[64];
    unsigned char bin[16];
    int family = AF_INET;

    if (len < 3 || s[0] != '[' || s[len - 1] != ']')
        return 0;
    s++;
    len -= 2;
    if (len >= 5 && ci_mem(s, "IPv6:", 5)) {
        family = AF_INET6;
        s += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = is_digit(c) || c == '.';
        if (family == AF_INET6)
            ok = ok || c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok)
            return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(family, buf, bin) == 1;
}

/* Length of the local part at the start of s (dot-atom or quoted-string),
 * or 0 when there is no valid one. */
static size_t local_part_scan(const char *s, size_t len, int utf8_ok)
{
    size_t i = 0;

    if (len == 0)
        return 0;
    if (s[0] == '"') {
        for (i = 1;;) {
            unsigned char c;
            if (i >= len)
                return 0;
            c = (unsigned char)s[i];
            if (c == '"') {
                i++;
                break;
            }
            if (c == '\\') {
                unsigned char d;
                if (i + 1 >= len)
                    return 0;
                d = (unsigned char)s[i + 1];
                if (d < 32 || d > 126)
                    return 0;
                i += 2;
                continue;
            }
            if ((c >= 32 && c <= 126) || (utf8_ok && c >= 0x80)) {
                i++;
                continue;
            }
            return 0;
        }
        return i == 2 ? 0 : i; /* "" is an empty local part */
    }
    for (;;) {
        size_t start = i;
        while (i < len && (is_atext((unsigned char)s[i]) || (utf8_ok && (unsigned char)s[i] >= 0x80)))
            i++;
        if (i == start)
            return 0; /* empty atom: leading, trailing or double dot */
        if (i < len && s[i] == '.') {
            i++;
            continue;
        }
        return i;
    }
}

int smtp_mailbox_valid(const char *s, size_t len, int utf8_ok)
{
    size_t n;
    const char *d;
    size_t dlen;

    if (s == NULL || len == 0 || len > 254)
        return 0;
    n = local_part_scan(s, len, utf8_ok);
    if (n == 0 || n > SMTP_LOCAL_MAX || n >= len || s[n] != '@')
        return 0;
    d = s + n + 1;
    dlen = len - n - 1;
    if (dlen == 0)
        return 0;
    if (d[0] == '[') {
        if (!addr_literal_valid(d, dlen))
            return 0;
    } else if (!domain_name_valid(d, dlen, utf8_ok)) {
        return 0;
    }
    if (utf8_ok && !utf8_valid(s, len))
        return 0;
    return 1;
}

const char *smtp_addr_domain(const char *addr)
{
    const char *at;

    if (addr == NULL)
        return "";
    at = strrchr(addr, '@');
    return at != NULL ? at + 1 : "";
}

int smtp_xtext_valid(const char *s, size_t len)
{
    size_t i = 0;

    if (s == NULL)
        return len == 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            if (len - i < 3 || !is_upper_hex((unsigned char)s[i + 1]) ||
                !is_upper_hex((unsigned char)s[i + 2]))
                return 0;
            i += 3;
        } else if (c >= 33 && c <= 126 && c != '=') {
            i++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* ---- paths --------------------------------------------------------------- */

/* Validate the A-d-l of a source route: "@dom" *("," "@dom"). */
static int route_valid(const char *s, size_t len, int utf8_ok)
{
    size_t i = 0;

    for (;;) {
        size_t start;
        if (i >= len || s[i] != '@')
            return 0;
        start = ++i;
        while (i < len && s[i] != ',')
            i++;
        if (!domain_name_valid(s + start, i - start, utf8_ok))
            return 0;
        if (i == len)
            return 1;
        i++; /* the comma */
    }
}

/* Parse the path starting at a[p] (must be '<').  On success returns 0 and
 * sets *mb_off / *mb_len to the mailbox (route dropped; length 0 for the
 * null path) and *end to the index just after '>'. */
static int path_parse(const char *a, size_t len, size_t p, int allow_null, int allow_postmaster,
                      int utf8_ok, size_t *mb_off, size_t *mb_len, size_t *end)
{
    size_t i, off, clen;
    int inq = 0;

    if (p >= len || a[p] != '<')
        return -1;
    for (i = p + 1; i < len; i++) {
        char c = a[i];
        if (inq) {
            if (c == '\\')
                i++; /* skip the quoted octet */
            else if (c == '"')
                inq = 0;
            continue;
        }
        if (c == '"')
            inq = 1;
        else if (c == '>')
            break;
    }
    if (i >= len)
        return -1; /* no closing bracket */
    if (i - p + 1 > SMTP_PATH_MAX)
        return -1;
    *end = i + 1;
    off = p + 1;
    clen = i - off;
    if (clen == 0) {
        if (!allow_null)
            return -1;
        *mb_off = off;
        *mb_len = 0;
        return 0;
    }
    if (allow_postmaster && ci_equal(a + off, clen, "postmaster")) {
        *mb_off = off;
        *mb_len = clen;
        return 0;
    }
    if (a[off] == '@') {
        const char *colon = memchr(a + off, ':', clen);
        size_t rlen;
        if (colon == NULL)
            return -1;
        rlen = (size_t)(colon - (a + off));
        if (!route_valid(a + off, rlen, utf8_ok))
            return -1;
        off += rlen + 1;
        clen -= rlen + 1;
    }
    if (!smtp_mailbox_valid(a + off, clen, utf8_ok))
        return -1;
    *mb_off = off;
    *mb_len = clen;
    return 0;
}

/* ---- ESMTP parameters ---------------------------------------------------- */

struct param {
    const char *kw;
    size_t kwlen;
    const char *val; /* NULL when there is no "=" */
    size_t vlen;
};

/* Next space-separated "keyword[=value]".  1 with *prm set, 0 at the end,
 * -1 when malformed. */
static int next_param(const char *a, size_t len, size_t *pos, struct param *prm)
{
    size_t i = *pos, start, k;

    while (i < len && a[i] == ' ')
        i++;
    if (i >= len) {
        *pos = i;
        return 0;
    }
    start = i;
    while (i < len && a[i] != ' ')
        i++;
    *pos = i;
    for (k = start; k < i && a[k] != '='; k++)
        ;
    prm->kw = a + start;
    prm->kwlen = k - start;
    prm->val = NULL;
    prm->vlen = 0;
    if (prm->kwlen == 0 || !is_alnum((unsigned char)a[start]))
        return -1;
    for (size_t j = start; j < k; j++)
        if (!is_alnum((unsigned char)a[j]) && a[j] != '-')
            return -1;
    if (k < i) {
        prm->val = a + k + 1;
        prm->vlen = i - k - 1;
        if (prm->vlen == 0)
            return -1;
        for (size_t j = 0; j < prm->vlen; j++) {
            unsigned char c = (unsigned char)prm->val[j];
            if (!((c >= 33 && c <= 126 && c != '=') || c >= 0x80))
                return -1;
        }
    }
    return 1;
}

static int unknown_param(struct smtp_error *err, const struct param *prm)
{
    if (err != NULL) {
        int n = prm->kwlen > 64 ? 64 : (int)prm->kwlen; /* keyword is [A-Za-z0-9-] only */
        err->code = 555;
        snprintf(err->text, sizeof(err->text), "5.5.4 Unsupported parameter %.*s", n, prm->kw);
    }
    return -1;
}

static int duplicate_param(struct smtp_error *err, const char *name)
{
    if (err != NULL) {
        err->code = 501;
        snprintf(err->text, sizeof(err->text), "5.5.4 Duplicate %s parameter", name);
    }
    return -1;
}

/* ---- MAIL ---------------------------------------------------------------- */

static int mail_fail(struct smtp_mail_args *out, struct smtp_error *err, int code, const char *text)
{
    memset(out, 0, sizeof(*out));
    return set_err(err, code, text);
}

static int mail_param(struct smtp_mail_args *out, const struct param *prm, unsigned *seen,
                      struct smtp_error *err)
{
    enum { S_SIZE = 1, S_BODY = 2, S_UTF8 = 4, S_RET = 8, S_ENVID = 16, S_AUTH = 32 };

    if (ci_equal(prm->kw, prm->kwlen, "SIZE")) {
        if (*seen & S_SIZE)
            return duplicate_param(err, "SIZE");
        *seen |= S_SIZE;
        if (prm->val == NULL || parse_u64(prm->val, prm->vlen, 20, &out->size) < 0)
            return set_err(err, 501, "5.5.4 Bad SIZE value");
        out->has_size = 1;
    } else if (ci_equal(prm->kw, prm->kwlen, "BODY")) {
        if (*seen & S_BODY)
            return duplicate_param(err, "BODY");
        *seen |= S_BODY;
        if (prm->val != NULL && ci_equal(prm->val, prm->vlen, "7BIT"))
            out->body = SMTP_BODY_7BIT;
        else if (prm->val != NULL && ci_equal(prm->val, prm->vlen, "8BITMIME"))
            out->body = SMTP_BODY_8BITMIME;
        else if (prm->val != NULL && ci_equal(prm->val, prm->vlen, "BINARYMIME"))
            return set_err(err, 504, "5.5.4 BODY=BINARYMIME not supported");
        else
            return set_err(err, 501, "5.5.4 Bad BODY value");
    } else if (ci_equal(prm->kw, prm->kwlen, "SMTPUTF8")) {
        if (*seen & S_UTF8)
            return duplicate_param(err, "SMTPUTF8");
        *seen |= S_UTF8;
        if (prm->val != NULL)
            return set_err(err, 501, "5.5.4 SMTPUTF8 takes no value");
        out->smtputf8 = 1;
    } else if (ci_equal(prm->kw, prm->kwlen, "RET")) {
        if (*seen & S_RET)
            return duplicate_param(err, "RET");
        *seen |= S_RET;
        if (prm->val != NULL && ci_equal(prm->val, prm->vlen, "FULL"))
            out->ret = SMTP_RET_FULL;
        else if (prm->val != NULL && ci_equal(prm->val, prm->vlen, "HDRS"))
            out->ret = SMTP_RET_HDRS;
        else
            return set_err(err, 501, "5.5.4 Bad RET value");
    } else if (ci_equal(prm->kw, prm->kwlen, "ENVID")) {
        if (*seen & S_ENVID)
            return duplicate_param(err, "ENVID");
        *seen |= S_ENVID;
        if (prm->val == NULL || prm->vlen > SMTP_ENVID_MAX || !smtp_xtext_valid(prm->val, prm->vlen))
            return set_err(err, 501, "5.5.4 Bad ENVID value");
        memcpy(out->envid, prm->val, prm->vlen);
        out->envid[prm->vlen] = '\0';
    } else if (ci_equal(prm->kw, prm->kwlen, "AUTH")) {
        if (*seen & S_AUTH)
            return duplicate_param(err, "AUTH");
        *seen |= S_AUTH;
        if (prm->val == NULL)
            return set_err(err, 501, "5.5.4 Bad AUTH value");
    } else {
        return unknown_param(err, prm);
    }
    return 0;
}

int smtp_parse_mail(const char *arg, size_t len, struct smtp_mail_args *out, struct smtp_error *err)
{
    size_t p, off = 0, mlen = 0, end = 0, pos;
    unsigned seen = 0;
    struct param prm;
    int r;

    memset(out, 0, sizeof(*out));
    if (arg == NULL) {
        arg = "";
        len = 0;
    }
    if (len < 5 || !ci_mem(arg, "FROM:", 5))
        return mail_fail(out, err, 501, "5.5.4 Syntax: MAIL FROM:<address>");
    p = 5;
    if (p < len && arg[p] == ' ')
        p++;
    if (p >= len || arg[p] == ' ')
        return mail_fail(out, err, 501, "5.5.4 Syntax: MAIL FROM:<address>");
    /* UTF-8 is checked once the parameters are known */
    if (path_parse(arg, len, p, 1, 0, 1, &off, &mlen, &end) < 0)
        return mail_fail(out, err, 501, "5.1.7 Bad sender address syntax");
    if (end < len && arg[end] != ' ')
        return mail_fail(out, err, 501, "5.5.4 Syntax error after address");
    pos = end;
    while ((r = next_param(arg, len, &pos, &prm)) != 0) {
        if (r < 0) {
            memset(out, 0, sizeof(*out));
            return set_err(err, 501, "5.5.4 Malformed parameter");
        }
        if (mail_param(out, &prm, &seen, err) < 0) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
    }
    if (!out->smtputf8 && has_8bit(arg + p, end - p))
        return mail_fail(out, err, 501, "5.1.7 Bad sender address syntax");
    memcpy(out->sender, arg + off, mlen); /* mlen <= 254 */
    out->sender[mlen] = '\0';
    clear_err(err);
    return 0;
}

/* ---- RCPT ---------------------------------------------------------------- */

static int rcpt_fail(struct smtp_rcpt_args *out, struct smtp_error *err, int code, const char *text)
{
    memset(out, 0, sizeof(*out));
    return set_err(err, code, text);
}

static int notify_parse(const char *v, size_t len, unsigned *bits, struct smtp_error *err)
{
    size_t i = 0;
    unsigned b = 0;

    for (;;) {
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        if (ci_equal(v + start, i - start, "NEVER"))
            b |= SMTP_NOTIFY_NEVER;
        else if (ci_equal(v + start, i - start, "SUCCESS"))
            b |= SMTP_NOTIFY_SUCCESS;
        else if (ci_equal(v + start, i - start, "FAILURE"))
            b |= SMTP_NOTIFY_FAILURE;
        else if (ci_equal(v + start, i - start, "DELAY"))
            b |= SMTP_NOTIFY_DELAY;
        else
            return set_err(err, 501, "5.5.4 Bad NOTIFY value");
        if (i == len)
            break;
        i++; /* comma; an empty element after it fails above */
    }
    if ((b & SMTP_NOTIFY_NEVER) && b != SMTP_NOTIFY_NEVER)
        return set_err(err, 501, "5.5.4 NOTIFY=NEVER cannot be combined with other values");
    *bits = b;
    return 0;
}

static int orcpt_valid(const char *v, size_t len)
{
    const char *semi;
    size_t tlen;

    if (len > SMTP_ORCPT_MAX)
        return 0;
    semi = memchr(v, ';', len);
    if (semi == NULL)
        return 0;
    tlen = (size_t)(semi - v);
    if (tlen == 0 || tlen + 1 == len)
        return 0;
    for (size_t i = 0; i < tlen; i++)
        if (!is_atext((unsigned char)v[i]))
            return 0;
    return smtp_xtext_valid(semi + 1, len - tlen - 1);
}

int smtp_parse_rcpt(const char *arg, size_t len, int utf8_ok, struct smtp_rcpt_args *out,
                    struct smtp_error *err)
{
    size_t p, off = 0, mlen = 0, end = 0, pos;
    int seen_notify = 0, seen_orcpt = 0, r;
    struct param prm;

    memset(out, 0, sizeof(*out));
    if (arg == NULL) {
        arg = "";
        len = 0;
    }
    if (len < 3 || !ci_mem(arg, "TO:", 3))
        return rcpt_fail(out, err, 501, "5.5.4 Syntax: RCPT TO:<address>");
    p = 3;
    if (p < len && arg[p] == ' ')
        p++;
    if (p >= len || arg[p] == ' ')
        return rcpt_fail(out, err, 501, "5.5.4 Syntax: RCPT TO:<address>");
    if (path_parse(arg, len, p, 0, 1, utf8_ok, &off, &mlen, &end) < 0)
        return rcpt_fail(out, err, 501, "5.1.3 Bad recipient address syntax");
    if (end < len && arg[end] != ' ')
        return rcpt_fail(out, err, 501, "5.5.4 Syntax error after address");
    pos = end;
    while ((r = next_param(arg, len, &pos, &prm)) != 0) {
        if (r < 0)
            return rcpt_fail(out, err, 501, "5.5.4 Malformed parameter");
        if (ci_equal(prm.kw, prm.kwlen, "NOTIFY")) {
            if (seen_notify++) {
                memset(out, 0, sizeof(*out));
                return duplicate_param(err, "NOTIFY");
            }
            if (prm.val == NULL)
                return rcpt_fail(out, err, 501, "5.5.4 Bad NOTIFY value");
            if (notify_parse(prm.val, prm.vlen, &out->notify, err) < 0) {
                memset(out, 0, sizeof(*out));
                return -1;
            }
        } else if (ci_equal(prm.kw, prm.kwlen, "ORCPT")) {
            if (seen_orcpt++) {
                memset(out, 0, sizeof(*out));
                return duplicate_param(err, "ORCPT");
            }
            if (prm.val == NULL || !orcpt_valid(prm.val, prm.vlen))
                return rcpt_fail(out, err, 501, "5.5.4 Bad ORCPT value");
            memcpy(out->orcpt, prm.val, prm.vlen); /* vlen <= SMTP_ORCPT_MAX */
            out->orcpt[prm.vlen] = '\0';
        } else {
            memset(out, 0, sizeof(*out));
            return unknown_param(err, &prm);
        }
    }
    memcpy(out->rcpt, arg + off, mlen); /* mlen <= 254 */
    out->rcpt[mlen] = '\0';
    clear_err(err);
    return 0;
}

/* ---- BDAT ---------------------------------------------------------------- */

int smtp_parse_bdat(const char *arg, size_t len, uint64_t *size, int *last, struct smtp_error *err)
{
    size_t i = 0, start;
    uint64_t n = 0;

    *size = 0;
    *last = 0;
    if (arg == NULL) {
        arg = "";
        len = 0;
    }
    while (i < len && arg[i] == ' ')
        i++;
    start = i;
    while (i < len && arg[i] != ' ')
        i++;
    if (parse_u64(arg + start, i - start, SIZE_MAX, &n) < 0)
        return set_err(err, 501, "5.5.4 Syntax: BDAT size [LAST]");
    while (i < len && arg[i] == ' ')
        i++;
    if (i < len) {
        start = i;
        while (i < len && arg[i] != ' ')
            i++;
        if (!ci_equal(arg + start, i - start, "LAST"))
            return set_err(err, 501, "5.5.4 Syntax: BDAT size [LAST]");
        while (i < len && arg[i] == ' ')
            i++;
        if (i < len)
            return set_err(err, 501, "5.5.4 Syntax: BDAT size [LAST]");
        *last = 1;
    }
    *size = n;
    clear_err(err);
    return 0;
}

/* ---- network lists ------------------------------------------------------- */

static int list_sep(char c)
{
    return c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n';
}

static void set_why(char *why, size_t whysz, const char *what, const char *tok, size_t toklen)
{
    if (why != NULL && whysz > 0) {
        int n = toklen > 80 ? 80 : (int)toklen;
        snprintf(why, whysz, "%s \"%.*s\"%s", what, n, tok, toklen > 80 ? "..." : "");
    }
}

static void mask_bits(uint8_t *a, size_t alen, unsigned bits)
{
    for (size_t i = 0; i < alen; i++) {
        if (bits >= 8) {
            bits -= 8;
        } else {
            a[i] &= (uint8_t)(0xFFu << (8 - bits));
            bits = 0;
        }
    }
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t full = bits / 8;
    unsigned rem = bits % 8;

    if (memcmp(a, b, full) != 0)
        return 0;
    if (rem != 0) {
        uint8_t m = (uint8_t)(0xFFu << (8 - rem));
        if (((a[full] ^ b[full]) & m) != 0)
            return 0;
    }
    return 1;
}

static int cidr_parse_one(const char *tok, size_t len, struct smtp_cidr *out)
{
    const char *slash = memchr(tok, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - tok) : len;
    const char *a = tok;
    char buf[64];
    unsigned maxbits;
    int bracket = 0;

    memset(out, 0, sizeof(*out));
    if (alen >= 2 && a[0] == '[') {
        if (a[alen - 1] != ']')
            return -1;
        a++;
        alen -= 2;
        bracket = 1;
    }
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, a, alen);
    buf[alen] = '\0';
    if (memchr(buf, ':', alen) != NULL) {
        if (inet_pton(AF_INET6, buf, out->addr) != 1)
            return -1;
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        if (bracket || inet_pton(AF_INET, buf, out->addr) != 1)
            return -1;
        out->family = AF_INET;
        maxbits = 32;
    }
    out->prefix = maxbits;
    if (slash != NULL) {
        uint64_t v;
        if (parse_u64(slash + 1, len - (size_t)(slash - tok) - 1, 3, &v) < 0 || v > maxbits)
            return -1;
        out->prefix = (unsigned)v;
    }
    mask_bits(out->addr, maxbits / 8, out->prefix);
    return 0;
}

int smtp_cidr_parse_list(const char *s, struct smtp_cidr *out, size_t max, char *why, size_t whysz)
{
    size_t n = 0;
    const char *p = s;

    if (why != NULL && whysz > 0)
        why[0] = '\0';
    if (s == NULL)
        return 0;
    for (;;) {
        const char *tok;
        size_t toklen;

        while (*p != '\0' && list_sep(*p))
            p++;
        if (*p == '\0')
            break;
        tok = p;
        while (*p != '\0' && !list_sep(*p))
            p++;
        toklen = (size_t)(p - tok);
        if (n >= max || n >= (size_t)INT32_MAX) {
            set_why(why, whysz, "too many networks at", tok, toklen);
            return -1;
        }
        if (cidr_parse_one(tok, toklen, &out[n]) < 0) {
            set_why(why, whysz, "bad network", tok, toklen);
            return -1;
        }
        n++;
    }
    return (int)n;
}

static int v4mapped(const uint8_t *a)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

    return memcmp(a, pfx, sizeof(pfx)) == 0;
}

int smtp_cidr_match(const struct smtp_cidr *list, size_t n, const struct sockaddr *sa)
{
    uint8_t v4[4], v6[16];
    int have4 = 0, have6 = 0;

    if (list == NULL || sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        memcpy(v4, (const char *)sa + offsetof(struct sockaddr_in, sin_addr), 4);
        have4 = 1;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(v6, (const char *)sa + offsetof(struct sockaddr_in6, sin6_addr), 16);
        have6 = 1;
        if (v4mapped(v6)) {
            memcpy(v4, v6 + 12, 4);
            have4 = 1;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct smtp_cidr *e = &list[i];
        if (e->family == AF_INET && e->prefix <= 32) {
            if (have4 && prefix_equal(v4, e->addr, e->prefix))
                return 1;
        } else if (e->family == AF_INET6 && e->prefix <= 128) {
            if (have6 && prefix_equal(v6, e->addr, e->prefix))
                return 1;
            /* plain IPv4 client against a ::ffff:a.b.c.d/n (n >= 96) entry */
            if (!have6 && have4 && e->prefix >= 96 && v4mapped(e->addr) &&
                prefix_equal(v4, e->addr + 12, e->prefix - 96))
                return 1;
        }
    }
    return 0;
}

