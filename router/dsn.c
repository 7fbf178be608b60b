/* dsn.c - pure composer of RFC 3464 delivery status notifications (multipart/report). */
#include "dsn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DSN_LINE_MAX 998   /* octets of a line, CRLF excluded (RFC 5322 2.1.1) */
#define DSN_FOLD_AT 78     /* preferred line length (RFC 5322 2.1.1) */
#define DSN_DIAG_MAX 900   /* a Diagnostic-Code value is cut to this many octets */
#define DSN_INDENT "    "  /* continuation of a wrapped line of the human text */
#define DSN_QID_IN_BOUNDARY 16 /* keeps the boundary within 70 characters (RFC 2046) */
#define DSN_BOUNDARY_TRIES 64

/* Output with a sticky failure flag (out of memory), so writers need not check each call. */
struct sink {
    struct sg_buf *b;
    int fail;
};

static void sink_reserve(struct sink *s, size_t more)
{
    if (!s->fail && sg_buf_reserve(s->b, more) < 0)
        s->fail = 1;
}

static void put(struct sink *s, const void *p, size_t n)
{
    if (!s->fail && n && sg_buf_append(s->b, p, n) < 0)
        s->fail = 1;
}

static void puts_(struct sink *s, const char *str)
{
    put(s, str, strlen(str));
}

static void crlf(struct sink *s)
{
    put(s, "\r\n", 2);
}

__attribute__((format(printf, 2, 3))) static void putf(struct sink *s, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;
    int n;

    if (s->fail)
        return;
    va_start(ap, fmt);
    n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->fail = 1;
        return;
    }
    put(s, text, (size_t)n);
    free(text);
}

static int has_8bit(const void *p, size_t n)
{
    const uint8_t *u = p;

    for (size_t i = 0; i < n; i++)
        if (u[i] & 0x80)
            return 1;
    return 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* A copy of v fit for one field: control octets become spaces, runs of
 * white space collapse to one space, none leading or trailing.  NULL when
 * out of memory. */
static char *clean(const char *v)
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

/* Cut a cleaned value to at most max octets (not inside a UTF-8 sequence), marking the cut. */
static void cut(char *v, size_t max)
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

/*
 * Write the value v (cleaned: single spaces, none at the ends) after col
 * octets already on the line, then CRLF.  Lines break at a space so as to
 * stay within DSN_FOLD_AT when possible and always within DSN_LINE_MAX.
 * indent NULL: header folding (the space stays, starting the continuation
 * line); else the space is dropped and the continuation starts with indent.
 * A word too long for one line is broken (continued after " " or indent).
 */
static void wrap(struct sink *s, size_t col, const char *v, const char *indent)
{
    size_t len = strlen(v), pos = 0;
    size_t ind = indent ? strlen(indent) : 0;

    while (pos < len) {
        size_t rest = len - pos, room, j, brk = 0;

        if (col + rest <= DSN_FOLD_AT) {
            put(s, v + pos, rest);
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
            put(s, v + pos, brk - pos);
            crlf(s);
            if (indent) {
                puts_(s, indent);
                col = ind;
                pos = brk + 1;
            } else {
                col = 0;
                pos = brk; /* the space begins the continuation line */
            }
        } else {
            size_t n = hard_take(v + pos, rest, DSN_LINE_MAX - col);
            put(s, v + pos, n);
            pos += n;
            if (pos < len) {
                crlf(s);
                if (indent) {
                    puts_(s, indent);
                    col = ind;
                } else {
                    put(s, " ", 1);
                    col = 1;
                }
                if (v[pos] == ' ')
                    pos++; /* a space right at the break: the line already starts with one */
            }
        }
    }
    crlf(s);
}

/* "Name: prefix value suffix" CRLF, folded as a header field; value is cleaned here. */
static void field(struct sink *s, const char *name, const char *prefix, const char *value, const char *suffix)
{
    char *c = clean(value), *v;
    size_t col, n;

    if (!c) {
        s->fail = 1;
        return;
    }
    n = strlen(c) + strlen(suffix) + 1;
    v = malloc(n);
    if (!v) {
        free(c);
        s->fail = 1;
        return;
    }
    snprintf(v, n, "%s%s", c, suffix);
    free(c);
    col = strlen(name) + 2 + strlen(prefix);
    puts_(s, name);
    puts_(s, ": ");
    puts_(s, prefix);
    wrap(s, col, v, NULL);
    free(v);
}

/* One line of human text: the pieces (up to a NULL) joined and cleaned, after first,
 * wrapped, continued after indent. */
static void text_line(struct sink *s, const char *first, const char *indent, ...)
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
        s->fail = 1;
        return;
    }
    va_start(ap, indent);
    for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *)) {
        memcpy(joined + o, p, strlen(p));
        o += strlen(p);
    }
    va_end(ap);
    joined[o] = '\0';
    v = clean(joined);
    free(joined);
    if (!v) {
        s->fail = 1;
        return;
    }
    puts_(s, first);
    wrap(s, strlen(first), v, indent);
    free(v);
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

/* RFC 3463: class "." subject "." detail, class 2, 4 or 5, the others 1 to 3 digits. */
static int status_ok(const char *st)
{
    const char *p = st;

    if (!p || (*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
        return 0;
    p += 2;
    for (int part = 0; part < 2; part++) {
        int d = 0;
        while (*p >= '0' && *p <= '9' && d < 4) {
            p++;
            d++;
        }
        if (d < 1 || d > 3)
            return 0;
        if (part == 0 && *p++ != '.')
            return 0;
    }
    return *p == '\0';
}

static int blank(const char *v)
{
    for (v = nz(v); *v; v++)
        if ((unsigned char)*v > ' ' && *v != 0x7f)
            return 0;
    return 1;
}

/* Facts about the original: where its header section ends and how it looks. */
struct orig_scan {
    size_t hdr_end;   /* octets of the header section incl. the blank line; orig_len if none */
    int hdr_8bit, body_8bit;
    int long_line;    /* some line over DSN_LINE_MAX octets */
};

/* Length of the line at p (up to, not incl., its end) and, in *eol, of its end (CRLF, LF, CR or 0). */
static size_t line_at(const uint8_t *p, size_t n, size_t *eol)
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

static void scan_orig(const uint8_t *o, size_t n, struct orig_scan *sc)
{
    size_t pos = 0;
    int in_hdr = 1;

    memset(sc, 0, sizeof *sc);
    sc->hdr_end = n;
    while (pos < n) {
        size_t eol, l = line_at(o + pos, n - pos, &eol);
        if (l > DSN_LINE_MAX)
            sc->long_line = 1;
        if (has_8bit(o + pos, l)) {
            if (in_hdr)
                sc->hdr_8bit = 1;
            else
                sc->body_8bit = 1;
        }
        if (in_hdr && l == 0 && eol) {
            in_hdr = 0;
            sc->hdr_end = pos + eol;
        }
        pos += l + eol;
    }
}

/* The original's first n octets, lines ended by CRLF whatever they had, lines over the limit folded. */
static void put_orig(struct sink *s, const uint8_t *o, size_t n)
{
    size_t pos = 0;

    while (pos < n && !s->fail) {
        size_t eol, l = line_at(o + pos, n - pos, &eol), done = 0, col = 0;
        while (l - done > DSN_LINE_MAX - col) {
            size_t take = hard_take((const char *)o + pos + done, l - done, DSN_LINE_MAX - col);
            put(s, o + pos + done, take);
            put(s, "\r\n ", 3);
            done += take;
            col = 1;
        }
        put(s, o + pos + done, l - done);
        crlf(s);
        pos += l + eol;
    }
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *u = p;

    for (size_t i = 0; i < n; i++) {
        h ^= u[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int occurs(const char *needle, const void *hay, size_t n)
{
    size_t k = strlen(needle);
    const uint8_t *p = hay, *end;

    if (!hay || k == 0 || n < k)
        return 0;
    end = p + (n - k) + 1;
    while (p < end && (p = memchr(p, (unsigned char)needle[0], (size_t)(end - p))) != NULL) {
        if (memcmp(p, needle, k) == 0)
            return 1;
        p++;
    }
    return 0;
}

/* Human text (part 1). */
static void put_text(struct sink *s, const struct dsn_msg *m, const char *host, const struct dsn_rcpt *r,
                     size_t nr, int delayed, int returned, int full)
{
    char date[64];

    text_line(s, "", "", "This is the mail system at host ", host, ".", (char *)NULL);
    crlf(s);
    if (delayed)
        text_line(s, "", "", "Your message has not yet been delivered to the recipients listed below. ",
                  "The mail system will keep trying to deliver it; you do not need to send it again. ",
                  "This is a warning only.", (char *)NULL);
    else
        text_line(s, "", "", "Your message could not be delivered to the recipients listed below, ",
                  "for the reasons given for each of them. ", "It will not be delivered to them.", (char *)NULL);
    crlf(s);
    if (returned)
        text_line(s, "", "",
                  full ? "A copy of your message is attached." : "The header section of your message is attached.",
                  (char *)NULL);
    text_line(s, "", "", "Queue ID of your message: ", m->qid, (char *)NULL);
    for (size_t i = 0; i < nr && !s->fail; i++) {
        crlf(s);
        text_line(s, "", DSN_INDENT, r[i].addr, ": ", r[i].reason, (char *)NULL);
        if (!blank(r[i].diagnostic)) {
            char *d = clean(r[i].diagnostic);
            if (!d) {
                s->fail = 1;
                return;
            }
            cut(d, DSN_DIAG_MAX);
            if (!blank(r[i].remote_mta))
                text_line(s, DSN_INDENT, DSN_INDENT, "The remote server ", r[i].remote_mta, " said: ", d,
                          (char *)NULL);
            else
                text_line(s, DSN_INDENT, DSN_INDENT, "The remote server said: ", d, (char *)NULL);
            free(d);
        }
        if (delayed) {
            if (r[i].will_retry_until_us) {
                dsn_date(r[i].will_retry_until_us, date, sizeof date);
                text_line(s, DSN_INDENT, DSN_INDENT, "Delivery is still being retried until ", date, ".",
                          (char *)NULL);
            } else {
                text_line(s, DSN_INDENT, DSN_INDENT, "Delivery is still being retried.", (char *)NULL);
            }
        }
    }
}

/* "type;xtext" as received -> "type; xtext" (no type: rfc822). */
static void put_orcpt(struct sink *s, const char *orcpt)
{
    char *v = clean(orcpt), *semi;
    char *prefix;

    if (!v) {
        s->fail = 1;
        return;
    }
    semi = strchr(v, ';');
    if (!semi || semi == v) {
        field(s, "Original-Recipient", "rfc822; ", semi ? semi + 1 : v, "");
        free(v);
        return;
    }
    *semi = '\0';
    prefix = malloc(strlen(v) + 3);
    if (!prefix) {
        free(v);
        s->fail = 1;
        return;
    }
    snprintf(prefix, strlen(v) + 3, "%s; ", v);
    field(s, "Original-Recipient", prefix, semi + 1, "");
    free(prefix);
    free(v);
}

/* Machine-readable report (part 2). */
static void put_status(struct sink *s, const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr, int delayed)
{
    char date[64];

    /* RFC 3464 2.2 order: Original-Envelope-Id, Reporting-MTA, Arrival-Date, then extensions */
    if (!blank(m->envid))
        field(s, "Original-Envelope-Id", "", m->envid, "");
    field(s, "Reporting-MTA", "dns; ", m->reporting_mta, "");
    if (m->arrival_us) {
        dsn_date(m->arrival_us, date, sizeof date);
        field(s, "Arrival-Date", "", date, "");
    }
    field(s, "X-Spoolgate-Queue-ID", "", m->qid, "");
    for (size_t i = 0; i < nr; i++) {
        const char *diag = nz(r[i].diagnostic);

        crlf(s);
        /* RFC 3464 2.3 order; the extension field last */
        if (!blank(r[i].orcpt))
            put_orcpt(s, r[i].orcpt);
        /* RFC 6533 3: an address with non-ASCII octets is of type utf-8 */
        field(s, "Final-Recipient", has_8bit(r[i].addr, strlen(r[i].addr)) ? "utf-8; " : "rfc822; ", r[i].addr, "");
        field(s, "Action", "", delayed ? "delayed" : "failed", "");
        field(s, "Status", "", r[i].status, "");
        if (!blank(r[i].remote_mta))
            field(s, "Remote-MTA", "dns; ", r[i].remote_mta, "");
        if (!blank(diag)) {
            char *d = clean(diag);
            if (!d) {
                s->fail = 1;
                return;
            }
            cut(d, DSN_DIAG_MAX);
            field(s, "Diagnostic-Code", "smtp; ", d, "");
            free(d);
        }
        if (r[i].last_attempt_us) {
            dsn_date(r[i].last_attempt_us, date, sizeof date);
            field(s, "Last-Attempt-Date", "", date, "");
        }
        if (delayed && r[i].will_retry_until_us) {
            dsn_date(r[i].will_retry_until_us, date, sizeof date);
            field(s, "Will-Retry-Until", "", date, "");
        }
        field(s, "X-Spoolgate-Reason", "", r[i].reason, "");
    }
}

static int fail(char *why, size_t whysz, const char *msg)
{
    if (why && whysz)
        snprintf(why, whysz, "%s", msg);
    return -1;
}

static int check_args(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr, struct sg_buf *out,
                      char *why, size_t whysz)
{
    if (!m || !out || (!r && nr))
        return fail(why, whysz, "dsn: missing argument");
    if (nr == 0)
        return fail(why, whysz, "dsn: no recipients");
    if (blank(m->reporting_mta))
        return fail(why, whysz, "dsn: no reporting MTA host name");
    if (blank(m->sender))
        return fail(why, whysz, "dsn: no sender (null-sender messages get no DSN)");
    if (blank(m->qid))
        return fail(why, whysz, "dsn: no queue id");
    if (m->ret != DSN_RETURN_HEADERS && m->ret != DSN_RETURN_FULL)
        return fail(why, whysz, "dsn: bad return mode");
    for (size_t i = 0; i < nr; i++) {
        if (r[i].action != DSN_ACTION_FAILED && r[i].action != DSN_ACTION_DELAYED)
            return fail(why, whysz, "dsn: bad action");
        if (r[i].action != r[0].action)
            return fail(why, whysz, "dsn: failed and delayed recipients mixed in one DSN");
        if (blank(r[i].addr))
            return fail(why, whysz, "dsn: recipient without address");
        if (blank(r[i].reason))
            return fail(why, whysz, "dsn: recipient without reason");
        if (blank(r[i].status))
            return fail(why, whysz, "dsn: recipient without status");
        if (!status_ok(r[i].status))
            return fail(why, whysz, "dsn: bad enhanced status code");
    }
    return 0;
}

/* Boundary characters (RFC 2046 bchars, less space) of the queue id for the boundary. */
static void qid_for_boundary(const char *qid, char *buf, size_t bufsz)
{
    size_t o = 0;

    for (const char *p = qid; *p && o + 1 < bufsz; p++) {
        unsigned char c = (unsigned char)*p;
        buf[o++] = ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
                    c == '.')
                       ? (char)c
                       : '_';
    }
    buf[o] = '\0';
}

int dsn_compose(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr, const uint8_t *orig,
                size_t orig_len, struct sg_buf *out, char *why, size_t whysz)
{
    struct sg_buf text = {0}, status = {0};
    struct sink st = {&text, 0}, ss = {&status, 0}, so = {out, 0};
    struct orig_scan sc;
    int delayed, returned, full = 0, text8, status8, part3_8 = 0, any8;
    size_t ret_len = 0;
    char qb[DSN_QID_IN_BOUNDARY + 1], boundary[128], date[64];
    const char *host = "", *sender;
    char *host_c = NULL, *sender_c = NULL;
    size_t sl;

    if (out)
        out->len = 0;
    if (check_args(m, r, nr, out, why, whysz))
        return -1;
    memset(&sc, 0, sizeof sc);
    delayed = r[0].action == DSN_ACTION_DELAYED;

    /* what of the original goes back */
    returned = orig && orig_len > 0;
    if (returned) {
        scan_orig(orig, orig_len, &sc);
        full = m->ret == DSN_RETURN_FULL && orig_len <= m->return_limit && !sc.long_line;
        ret_len = full ? orig_len : sc.hdr_end;
        part3_8 = sc.hdr_8bit || (full && sc.body_8bit);
    }

    host_c = clean(m->reporting_mta);
    sender_c = clean(m->sender);
    if (!host_c || !sender_c)
        goto oom;
    host = host_c;
    /* the envelope sender, with or without its angle brackets */
    sender = sender_c;
    sl = strlen(sender);
    if (sl >= 2 && sender[0] == '<' && sender[sl - 1] == '>') {
        sender_c[sl - 1] = '\0';
        sender = sender_c + 1;
    }
    if (blank(sender)) {
        free(host_c);
        free(sender_c);
        return fail(why, whysz, "dsn: no sender (null-sender messages get no DSN)");
    }

    put_text(&st, m, host, r, nr, delayed, returned, full);
    put_status(&ss, m, r, nr, delayed);
    if (st.fail || ss.fail)
        goto oom;
    text8 = has_8bit(text.data, text.len);
    status8 = has_8bit(status.data, status.len);
    any8 = text8 || status8 || part3_8;

    /* a boundary found in none of the parts */
    qid_for_boundary(m->qid, qb, sizeof qb);
    {
        uint64_t h = 0xcbf29ce484222325ull;
        int found = 0;
        h = fnv1a(h, text.data, text.len);
        h = fnv1a(h, status.data, status.len);
        if (returned)
            h = fnv1a(h, orig, ret_len);
        for (int k = 0; k < DSN_BOUNDARY_TRIES && !found; k++) {
            if (k == 0)
                snprintf(boundary, sizeof boundary, "=_spoolgate_%s_%llu", qb, (unsigned long long)m->now_us);
            else
                snprintf(boundary, sizeof boundary, "=_spoolgate_%s_%llu.%016llx", qb,
                         (unsigned long long)m->now_us,
                         (unsigned long long)(h + (uint64_t)k * 0x9e3779b97f4a7c15ull));
            found = !occurs(boundary, text.data, text.len) && !occurs(boundary, status.data, status.len) &&
                    !(returned && occurs(boundary, orig, ret_len));
        }
        if (!found) {
            free(text.data);
            free(status.data);
            free(host_c);
            free(sender_c);
            return fail(why, whysz, "dsn: no MIME boundary free of the content");
        }
    }

    sink_reserve(&so, text.len + status.len + (returned ? ret_len + ret_len / 32 : 0) + 2048);

    /* header section */
    field(&so, "From", "Mail Delivery System <MAILER-DAEMON@", host, ">");
    field(&so, "To", "<", sender, ">");
    puts_(&so, delayed ? "Subject: Delayed Mail (still being retried)\r\n"
                       : "Subject: Undelivered Mail Returned to Sender\r\n");
    dsn_date(m->now_us, date, sizeof date);
    putf(&so, "Date: %s\r\n", date);
    {
        size_t n = strlen(m->qid) + strlen(host) + 48;
        char *v = malloc(n);
        if (!v)
            goto oom;
        snprintf(v, n, "%s.dsn.%llu@%s", m->qid, (unsigned long long)m->now_us, host);
        field(&so, "Message-ID", "<", v, ">");
        free(v);
    }
    puts_(&so, "Auto-Submitted: auto-replied\r\n");
    puts_(&so, "MIME-Version: 1.0\r\n");
    puts_(&so, "Content-Type: multipart/report; report-type=delivery-status;\r\n");
    putf(&so, "\tboundary=\"%s\"\r\n", boundary);
    if (any8)
        puts_(&so, "Content-Transfer-Encoding: 8bit\r\n");
    crlf(&so);
    puts_(&so, "This is a MIME-encapsulated message.\r\n");

    /* part 1: for people */
    putf(&so, "\r\n--%s\r\n", boundary);
    puts_(&so, "Content-Description: Notification\r\n");
    putf(&so, "Content-Type: text/plain; charset=%s\r\n", text8 ? "utf-8" : "us-ascii");
    if (text8)
        puts_(&so, "Content-Transfer-Encoding: 8bit\r\n");
    crlf(&so);
    put(&so, text.data, text.len);

    /* part 2: for programs */
    putf(&so, "\r\n--%s\r\n", boundary);
    puts_(&so, "Content-Description: Delivery report\r\n");
    if (status8) /* RFC 6533 */
        puts_(&so, "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n");
    else
        puts_(&so, "Content-Type: message/delivery-status\r\n");
    crlf(&so);
    put(&so, status.data, status.len);

    /* part 3: the original, or its header section */
    if (returned) {
        putf(&so, "\r\n--%s\r\n", boundary);
        if (full) {
            puts_(&so, delayed ? "Content-Description: Delayed message\r\n"
                               : "Content-Description: Undelivered message\r\n");
            /* RFC 6532 3.7: a message with UTF-8 header fields is message/global */
            puts_(&so, sc.hdr_8bit ? "Content-Type: message/global\r\n" : "Content-Type: message/rfc822\r\n");
        } else {
            puts_(&so, delayed ? "Content-Description: Delayed message headers\r\n"
                               : "Content-Description: Undelivered message headers\r\n");
            puts_(&so, sc.hdr_8bit ? "Content-Type: message/global-headers\r\n"
                                   : "Content-Type: text/rfc822-headers\r\n");
        }
        if (part3_8)
            puts_(&so, "Content-Transfer-Encoding: 8bit\r\n");
        crlf(&so);
        put_orig(&so, orig, ret_len);
    }
    putf(&so, "\r\n--%s--\r\n", boundary);

    free(text.data);
    free(status.data);
    free(host_c);
    free(sender_c);
    if (so.fail) {
        out->len = 0;
        return fail(why, whysz, "dsn: out of memory");
    }
    return 0;

oom:
    free(text.data);
    free(status.data);
    free(host_c);
    free(sender_c);
    out->len = 0;
    return fail(why, whysz, "dsn: out of memory");
}
