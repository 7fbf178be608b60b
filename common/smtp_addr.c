/* smtp_addr.c - the one validator of SMTP mailboxes, domains and <paths> (RFC 5321 4.1.2 and 4.5.3.1, RFC 6531). */
#include "smtp_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "smtp_char.h"

static int fail(const char **why, const char *text)
{
    if (why != NULL)
        *why = text;
    return -1;
}

/* ---- domains ------------------------------------------------------------- */

#define ADDR_UNDERSCORE 0x80000000u /* internal: '_' in labels (HELO names only) */

static int label_octet_ok(unsigned char c, unsigned flags)
{
    return smtp_is_alnum(c) || c == '-' || ((flags & SMTP_ADDR_UTF8) && c >= 0x80) ||
           (c == '_' && (flags & ADDR_UNDERSCORE));
}

int smtp_domain_check(const char *s, size_t len, unsigned flags, const char **why)
{
    size_t i = 0;

    if (len == 0)
        return fail(why, "empty domain");
    if (len > SMTP_DOMAIN_MAX)
        return fail(why, "domain longer than 255 octets");
    while (i < len) {
        size_t start = i;

        for (; i < len && s[i] != '.'; i++)
            if (!label_octet_ok((unsigned char)s[i], flags))
                return fail(why, "bad character in domain");
        if (i == start)
            return fail(why, "empty label in domain");
        if (i - start > SMTP_LABEL_MAX)
            return fail(why, "domain label longer than 63 octets");
        if (!(flags & SMTP_ADDR_LAX_HYPHEN) && (s[start] == '-' || s[i - 1] == '-'))
            return fail(why, "domain label begins or ends with '-'");
        if (i < len && ++i == len)
            return fail(why, "empty label in domain"); /* a trailing dot */
    }
    if ((flags & SMTP_ADDR_UTF8) && !smtp_utf8_valid(s, len))
        return fail(why, "domain is not valid UTF-8");
    return 0;
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
    if (len >= 5 && smtp_ci_mem(s, "IPv6:", 5)) {
        family = AF_INET6;
        s += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = smtp_is_digit(c) || c == '.';

        if (family == AF_INET6)
            ok = ok || c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok)
            return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(family, buf, bin) == 1;
}

/* Underscores are taken: Windows and NetBIOS-derived host names ("BUILD_07.corp.example") are
 * common in the greetings of real clients, and '_' cannot end or bend the Received header the
 * name goes into. */
int smtp_helo_check(const char *s, size_t len, const char **why)
{
    if (len && s[0] == '[')
        return addr_literal_valid(s, len) ? 0 : fail(why, "bad address literal");
    if (len > 1 && s[len - 1] == '.')
        len--; /* an absolute name: "mx.example." */
    return smtp_domain_check(s, len, ADDR_UNDERSCORE, why);
}

/* ---- local parts --------------------------------------------------------- */

static const char *bad_local_octet(char c, unsigned flags)
{
    if (c == '"' && (flags & SMTP_ADDR_NO_QUOTED))
        return "quoted local parts are not carried";
    return "bad character in local part";
}

static int atom_octet_ok(unsigned char c, unsigned flags)
{
    return smtp_is_atext(c) || ((flags & SMTP_ADDR_UTF8) && c >= 0x80);
}

/* Length of the dot-atom at the start of s, or 0 with *why.  The caller
 * knows s holds an '@', which no atom holds, so every atom ends before len. */
static size_t dot_atom_scan(const char *s, size_t len, unsigned flags, const char **why)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;

        while (i < len && atom_octet_ok((unsigned char)s[i], flags))
            i++;
        if (i == start) { /* empty atom: leading, trailing or double dot, or an odd octet */
            if (i == 0 && s[0] == '@')
                *why = "empty local part";
            else if (i == len || s[i] == '.' || s[i] == '@')
                *why = "misplaced '.' in local part";
            else
                *why = bad_local_octet(s[i], flags);
            return 0;
        }
        if (i < len && s[i] == '.') {
            i++;
            continue;
        }
        return i;
    }
}

/* Length of the quoted-string local part at the start of s (quotes
 * included), or 0 when it is not one or is "" (an empty local part). */
static size_t quoted_scan(const char *s, size_t len, unsigned flags)
{
    size_t i = 1;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"')
            return i == 1 ? 0 : i + 1;
        if (c == '\\') {
            if (i + 1 >= len || (unsigned char)s[i + 1] < 32 || (unsigned char)s[i + 1] > 126)
                return 0;
            i += 2;
        } else if ((c >= 32 && c <= 126) || ((flags & SMTP_ADDR_UTF8) && c >= 0x80)) {
            i++;
        } else {
            return 0;
        }
    }
    return 0;
}

/* The local part at the start of s up to its '@': its length, or 0 with *why. */
static size_t local_part_scan(const char *s, size_t len, unsigned flags, const char **why)
{
    size_t n;

    if (s[0] == '"') {
        if (flags & SMTP_ADDR_NO_QUOTED) {
            *why = "quoted local parts are not carried";
            return 0;
        }
        n = quoted_scan(s, len, flags);
        if (n == 0) {
            *why = "bad quoted local part";
            return 0;
        }
    } else {
        n = dot_atom_scan(s, len, flags, why);
        if (n == 0)
            return 0;
    }
    if (n >= len || s[n] != '@') {
        *why = s[0] == '"' ? "junk after the quoted local part" : bad_local_octet(s[n], flags);
        return 0;
    }
    if (n > SMTP_LOCAL_MAX) {
        *why = "local part longer than 64 octets";
        return 0;
    }
    return n;
}

/* ---- mailboxes ----------------------------------------------------------- */

int smtp_addr_check(const char *s, size_t len, unsigned flags, const char **why)
{
    size_t max =
        (flags & SMTP_ADDR_LAX_LENGTH) ? SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX : SMTP_MAILBOX_MAX;
    const char *reason = NULL, *d;
    size_t n, dlen;

    if (s == NULL || len == 0)
        return (flags & SMTP_ADDR_NULL) ? 0 : fail(why, "empty address");
    if (len > max)
        return fail(why, "address too long");
    if (memchr(s, '@', len) == NULL)
        return fail(why, "no '@' in address");
    n = local_part_scan(s, len, flags, &reason);
    if (n == 0)
        return fail(why, reason);
    d = s + n + 1;
    dlen = len - n - 1;
    if (dlen > 0 && d[0] == '[') {
        if (flags & SMTP_ADDR_NO_LITERAL)
            return fail(why, "address literals are not carried");
        if (!addr_literal_valid(d, dlen))
            return fail(why, "bad address literal");
    } else if (smtp_domain_check(d, dlen, flags, why) < 0) {
        return -1;
    }
    if ((flags & SMTP_ADDR_UTF8) && !smtp_utf8_valid(s, len))
        return fail(why, "address is not valid UTF-8");
    return 0;
}

int smtp_mailbox_valid(const char *s, size_t len, int utf8_ok)
{
    return smtp_addr_check(s, len, utf8_ok ? SMTP_ADDR_UTF8 : 0, NULL) == 0;
}

const char *smtp_addr_domain(const char *addr)
{
    const char *at;

    if (addr == NULL)
        return "";
    at = strrchr(addr, '@');
    return at != NULL ? at + 1 : "";
}

/* ---- paths --------------------------------------------------------------- */

/* The A-d-l of a source route: "@dom" *("," "@dom"). */
static int route_valid(const char *s, size_t len, unsigned flags)
{
    size_t i = 0;

    for (;;) {
        size_t start;

        if (i >= len || s[i] != '@')
            return 0;
        start = ++i;
        while (i < len && s[i] != ',')
            i++;
        if (smtp_domain_check(s + start, i - start, flags, NULL) < 0)
            return 0;
        if (i == len)
            return 1;
        i++; /* the comma */
    }
}

/* Index of the '>' that closes the path opened at a[p] ('>' inside a quoted
 * local part does not count), or len when there is none. */
static size_t path_close(const char *a, size_t len, size_t p)
{
    int inq = 0;
    size_t i;

    for (i = p + 1; i < len; i++) {
        if (inq) {
            if (a[i] == '\\')
                i++; /* skip the quoted octet */
            else if (a[i] == '"')
                inq = 0;
        } else if (a[i] == '"') {
            inq = 1;
        } else if (a[i] == '>') {
            break;
        }
    }
    return i < len ? i : len;
}

int smtp_path_parse(const char *a, size_t len, size_t p, unsigned flags, size_t *mb_off,
                    size_t *mb_len, size_t *end)
{
    size_t i, off, clen;

    if (p >= len || a[p] != '<')
        return -1;
    i = path_close(a, len, p);
    if (i >= len || i - p + 1 > SMTP_PATH_MAX)
        return -1;
    *end = i + 1;
    off = p + 1;
    clen = i - off;
    if (clen == 0 && !(flags & SMTP_ADDR_NULL))
        return -1;
    if (clen > 0 &&
        !((flags & SMTP_ADDR_POSTMASTER) && smtp_ci_equal(a + off, clen, "postmaster"))) {
        if (a[off] == '@') {
            const char *colon = memchr(a + off, ':', clen);
            size_t rlen;

            if (colon == NULL)
                return -1;
            rlen = (size_t)(colon - (a + off));
            if (!route_valid(a + off, rlen, flags))
                return -1;
            off += rlen + 1;
            clen -= rlen + 1;
        }
        if (smtp_addr_check(a + off, clen, flags & ~SMTP_ADDR_NULL, NULL) < 0)
            return -1;
    }
    *mb_off = off;
    *mb_len = clen;
    return 0;
}
