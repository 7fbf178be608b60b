/* dsn.c - pure composer of RFC 3464 delivery status notifications (multipart/report): the parts and the message around them. */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsn_text.h"
#include "smtp_char.h"

#define DSN_DIAG_MAX 900       /* a Diagnostic-Code value is cut to this many octets */
#define DSN_INDENT "    "      /* continuation of a wrapped line of the human text */
#define DSN_QID_IN_BOUNDARY 16 /* keeps the boundary within 70 characters (RFC 2046) */
#define DSN_BOUNDARY_TRIES 64

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

/* Facts about the original: where its header section ends and how it looks. */
struct orig_scan {
    size_t hdr_end; /* octets of the header section incl. the blank line; orig_len if none */
    int hdr_8bit, body_8bit;
    int long_line; /* some line over DSN_LINE_MAX octets */
};

static void scan_orig(const uint8_t *o, size_t n, struct orig_scan *sc)
{
    size_t pos = 0;
    int in_hdr = 1;

    memset(sc, 0, sizeof *sc);
    sc->hdr_end = n;
    while (pos < n) {
        size_t eol, l = dsn_text_line_at(o + pos, n - pos, &eol);
        if (l > DSN_LINE_MAX)
            sc->long_line = 1;
        if (smtp_has_8bit((const char *)o + pos, l)) {
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

/* The recipient's diagnostic cleaned and cut for one field, or NULL: there is
 * none (or out of memory: b has failed). */
static char *diagnostic(struct sg_buf *b, const struct dsn_rcpt *r)
{
    char *d;

    if (dsn_text_blank(r->diagnostic))
        return NULL;
    if (!(d = dsn_text_clean(r->diagnostic)))
        b->failed = 1;
    else
        dsn_text_cut(d, DSN_DIAG_MAX);
    return d;
}

/* Human text (part 1). */
static void put_text(struct sg_buf *b, const struct dsn_msg *m, const char *host,
                     const struct dsn_rcpt *r, size_t nr, int delayed, int returned, int full)
{
    char date[64];

    dsn_text_line(b, "", "", "This is the mail system at host ", host, ".", (char *)NULL);
    sg_buf_puts(b, "\r\n");
    if (delayed)
        dsn_text_line(
            b, "", "", "Your message has not yet been delivered to the recipients listed below. ",
            "The mail system will keep trying to deliver it; you do not need to send it again. ",
            "This is a warning only.", (char *)NULL);
    else
        dsn_text_line(b, "", "",
                      "Your message could not be delivered to the recipients listed below, ",
                      "for the reasons given for each of them. ",
                      "It will not be delivered to them.", (char *)NULL);
    sg_buf_puts(b, "\r\n");
    if (returned)
        dsn_text_line(b, "", "",
                      full ? "A copy of your message is attached."
                           : "The header section of your message is attached.",
                      (char *)NULL);
    dsn_text_line(b, "", "", "Queue ID of your message: ", m->qid, (char *)NULL);
    for (size_t i = 0; i < nr && !b->failed; i++) {
        char *d;

        sg_buf_puts(b, "\r\n");
        dsn_text_line(b, "", DSN_INDENT, r[i].addr, ": ", r[i].reason, (char *)NULL);
        if ((d = diagnostic(b, &r[i])) != NULL) {
            if (!dsn_text_blank(r[i].remote_mta))
                dsn_text_line(b, DSN_INDENT, DSN_INDENT, "The remote server ", r[i].remote_mta,
                              " said: ", d, (char *)NULL);
            else
                dsn_text_line(b, DSN_INDENT, DSN_INDENT, "The remote server said: ", d,
                              (char *)NULL);
            free(d);
        }
        if (delayed) {
            if (r[i].will_retry_until_us) {
                dsn_date(r[i].will_retry_until_us, date, sizeof date);
                dsn_text_line(b, DSN_INDENT, DSN_INDENT, "Delivery is still being retried until ",
                              date, ".", (char *)NULL);
            } else {
                dsn_text_line(b, DSN_INDENT, DSN_INDENT, "Delivery is still being retried.",
                              (char *)NULL);
            }
        }
    }
}

/* "type;xtext" as received -> "type; xtext" (no type: rfc822). */
static void put_orcpt(struct sg_buf *b, const char *orcpt)
{
    char *v = dsn_text_clean(orcpt), *semi;
    char *prefix;

    if (!v) {
        b->failed = 1;
        return;
    }
    semi = strchr(v, ';');
    if (!semi || semi == v) {
        dsn_text_field(b, "Original-Recipient", "rfc822; ", semi ? semi + 1 : v, "");
        free(v);
        return;
    }
    *semi = '\0';
    prefix = malloc(strlen(v) + 3);
    if (!prefix) {
        free(v);
        b->failed = 1;
        return;
    }
    snprintf(prefix, strlen(v) + 3, "%s; ", v);
    dsn_text_field(b, "Original-Recipient", prefix, semi + 1, "");
    free(prefix);
    free(v);
}

/* Machine-readable report (part 2). */
static void put_status(struct sg_buf *b, const struct dsn_msg *m, const struct dsn_rcpt *r,
                       size_t nr, int delayed)
{
    char date[64];

    /* RFC 3464 2.2 order: Original-Envelope-Id, Reporting-MTA, Arrival-Date, then extensions */
    if (!dsn_text_blank(m->envid))
        dsn_text_field(b, "Original-Envelope-Id", "", m->envid, "");
    dsn_text_field(b, "Reporting-MTA", "dns; ", m->reporting_mta, "");
    if (m->arrival_us) {
        dsn_date(m->arrival_us, date, sizeof date);
        dsn_text_field(b, "Arrival-Date", "", date, "");
    }
    dsn_text_field(b, "X-Spoolgate-Queue-ID", "", m->qid, "");
    for (size_t i = 0; i < nr; i++) {
        char *d;

        sg_buf_puts(b, "\r\n");
        /* RFC 3464 2.3 order; the extension field last */
        if (!dsn_text_blank(r[i].orcpt))
            put_orcpt(b, r[i].orcpt);
        /* RFC 6533 3: an address with non-ASCII octets is of type utf-8 */
        dsn_text_field(b, "Final-Recipient",
                       smtp_has_8bit(r[i].addr, strlen(r[i].addr)) ? "utf-8; " : "rfc822; ",
                       r[i].addr, "");
        dsn_text_field(b, "Action", "", delayed ? "delayed" : "failed", "");
        dsn_text_field(b, "Status", "", r[i].status, "");
        if (!dsn_text_blank(r[i].remote_mta))
            dsn_text_field(b, "Remote-MTA", "dns; ", r[i].remote_mta, "");
        if ((d = diagnostic(b, &r[i])) != NULL)
            dsn_text_field(b, "Diagnostic-Code", "smtp; ", d, "");
        free(d);
        if (r[i].last_attempt_us) {
            dsn_date(r[i].last_attempt_us, date, sizeof date);
            dsn_text_field(b, "Last-Attempt-Date", "", date, "");
        }
        if (delayed && r[i].will_retry_until_us) {
            dsn_date(r[i].will_retry_until_us, date, sizeof date);
            dsn_text_field(b, "Will-Retry-Until", "", date, "");
        }
        dsn_text_field(b, "X-Spoolgate-Reason", "", r[i].reason, "");
    }
}

static int fail(char *why, size_t whysz, const char *msg)
{
    if (why && whysz)
        snprintf(why, whysz, "%s", msg);
    return -1;
}

static int check_args(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr,
                      struct sg_buf *out, char *why, size_t whysz)
{
    if (!m || !out || (!r && nr))
        return fail(why, whysz, "dsn: missing argument");
    if (nr == 0)
        return fail(why, whysz, "dsn: no recipients");
    if (dsn_text_blank(m->reporting_mta))
        return fail(why, whysz, "dsn: no reporting MTA host name");
    if (dsn_text_blank(m->sender))
        return fail(why, whysz, "dsn: no sender (null-sender messages get no DSN)");
    if (dsn_text_blank(m->qid))
        return fail(why, whysz, "dsn: no queue id");
    if (m->ret != DSN_RETURN_HEADERS && m->ret != DSN_RETURN_FULL)
        return fail(why, whysz, "dsn: bad return mode");
    for (size_t i = 0; i < nr; i++) {
        if (r[i].action != DSN_ACTION_FAILED && r[i].action != DSN_ACTION_DELAYED)
            return fail(why, whysz, "dsn: bad action");
        if (r[i].action != r[0].action)
            return fail(why, whysz, "dsn: failed and delayed recipients mixed in one DSN");
        if (dsn_text_blank(r[i].addr))
            return fail(why, whysz, "dsn: recipient without address");
        if (dsn_text_blank(r[i].reason))
            return fail(why, whysz, "dsn: recipient without reason");
        if (dsn_text_blank(r[i].status))
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
        buf[o++] = ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == '-' || c == '.')
                       ? (char)c
                       : '_';
    }
    buf[o] = '\0';
}

/* What dsn_compose works out before it writes the message. */
struct compose {
    const struct dsn_msg *m;
    const uint8_t *orig;
    struct orig_scan sc;
    int delayed, returned, full;
    size_t ret_len;              /* octets of the original that go back */
    int text8, status8, part3_8; /* the parts need 8bit */
    char *host, *sender_c;       /* cleaned copies (owned) */
    const char *sender;          /* in sender_c, without angle brackets */
    struct sg_buf text, status;  /* parts 1 and 2 */
    char boundary[128];
};

static void compose_free(struct compose *c)
{
    sg_buf_free(&c->text);
    sg_buf_free(&c->status);
    free(c->host);
    free(c->sender_c);
}

/* What of the original goes back: all of it, or its header section. */
static void choose_return(struct compose *c, size_t orig_len)
{
    memset(&c->sc, 0, sizeof c->sc);
    c->returned = c->orig && orig_len > 0;
    if (!c->returned)
        return;
    scan_orig(c->orig, orig_len, &c->sc);
    c->full = c->m->ret == DSN_RETURN_FULL && orig_len <= c->m->return_limit && !c->sc.long_line;
    c->ret_len = c->full ? orig_len : c->sc.hdr_end;
    c->part3_8 = c->sc.hdr_8bit || (c->full && c->sc.body_8bit);
}

/* Our host name, and the envelope sender with or without its angle brackets.  NULL, or why not. */
static const char *clean_names(struct compose *c)
{
    size_t sl;

    c->host = dsn_text_clean(c->m->reporting_mta);
    c->sender_c = dsn_text_clean(c->m->sender);
    if (!c->host || !c->sender_c)
        return "dsn: out of memory";
    c->sender = c->sender_c;
    sl = strlen(c->sender);
    if (sl >= 2 && c->sender[0] == '<' && c->sender[sl - 1] == '>') {
        c->sender_c[sl - 1] = '\0';
        c->sender = c->sender_c + 1;
    }
    return dsn_text_blank(c->sender) ? "dsn: no sender (null-sender messages get no DSN)" : NULL;
}

/* Does the boundary occur in any part? */
static int boundary_taken(const struct compose *c)
{
    return occurs(c->boundary, c->text.data, c->text.len) ||
           occurs(c->boundary, c->status.data, c->status.len) ||
           (c->returned && occurs(c->boundary, c->orig, c->ret_len));
}

/* A boundary found in none of the parts: 0, or -1 when every try is taken. */
static int choose_boundary(struct compose *c)
{
    char qb[DSN_QID_IN_BOUNDARY + 1];
    unsigned long long now = (unsigned long long)c->m->now_us;
    uint64_t h = 0xcbf29ce484222325ull;

    qid_for_boundary(c->m->qid, qb, sizeof qb);
    h = fnv1a(h, c->text.data, c->text.len);
    h = fnv1a(h, c->status.data, c->status.len);
    if (c->returned)
        h = fnv1a(h, c->orig, c->ret_len);
    for (int k = 0; k < DSN_BOUNDARY_TRIES; k++) {
        if (k == 0)
            snprintf(c->boundary, sizeof c->boundary, "=_spoolgate_%s_%llu", qb, now);
        else
            snprintf(c->boundary, sizeof c->boundary, "=_spoolgate_%s_%llu.%016llx", qb, now,
                     (unsigned long long)(h + (uint64_t)k * 0x9e3779b97f4a7c15ull));
        if (!boundary_taken(c))
            return 0;
    }
    return -1;
}

/* Parts 1 and 2 and their boundary.  NULL, or why not. */
static const char *compose_parts(struct compose *c, const struct dsn_rcpt *r, size_t nr)
{
    const char *err = clean_names(c);

    if (err)
        return err;
    put_text(&c->text, c->m, c->host, r, nr, c->delayed, c->returned, c->full);
    put_status(&c->status, c->m, r, nr, c->delayed);
    if (c->text.failed || c->status.failed)
        return "dsn: out of memory";
    c->text8 = smtp_has_8bit((const char *)c->text.data, c->text.len);
    c->status8 = smtp_has_8bit((const char *)c->status.data, c->status.len);
    return choose_boundary(c) < 0 ? "dsn: no MIME boundary free of the content" : NULL;
}

/* The DSN's own header section and the preamble. */
static void put_header(struct sg_buf *b, const struct compose *c)
{
    const struct dsn_msg *m = c->m;
    size_t n = strlen(m->qid) + strlen(c->host) + 48;
    char date[64], *id;

    dsn_text_field(b, "From", "Mail Delivery System <MAILER-DAEMON@", c->host, ">");
    dsn_text_field(b, "To", "<", c->sender, ">");
    sg_buf_puts(b, c->delayed ? "Subject: Delayed Mail (still being retried)\r\n"
                              : "Subject: Undelivered Mail Returned to Sender\r\n");
    dsn_date(m->now_us, date, sizeof date);
    sg_buf_printf(b, "Date: %s\r\n", date);
    if (!(id = malloc(n))) {
        b->failed = 1;
        return;
    }
    snprintf(id, n, "%s.dsn.%llu@%s", m->qid, (unsigned long long)m->now_us, c->host);
    dsn_text_field(b, "Message-ID", "<", id, ">");
    free(id);
    sg_buf_puts(b, "Auto-Submitted: auto-replied\r\n");
    sg_buf_puts(b, "MIME-Version: 1.0\r\n");
    sg_buf_puts(b, "Content-Type: multipart/report; report-type=delivery-status;\r\n");
    sg_buf_printf(b, "\tboundary=\"%s\"\r\n", c->boundary);
    if (c->text8 || c->status8 || c->part3_8)
        sg_buf_puts(b, "Content-Transfer-Encoding: 8bit\r\n");
    sg_buf_puts(b, "\r\n");
    sg_buf_puts(b, "This is a MIME-encapsulated message.\r\n");
}

/* Part 3: the original, or its header section. */
static void put_returned(struct sg_buf *b, const struct compose *c)
{
    sg_buf_printf(b, "\r\n--%s\r\n", c->boundary);
    if (c->full) {
        sg_buf_puts(b, c->delayed ? "Content-Description: Delayed message\r\n"
                                  : "Content-Description: Undelivered message\r\n");
        /* RFC 6532 3.7: a message with UTF-8 header fields is message/global */
        sg_buf_puts(b, c->sc.hdr_8bit ? "Content-Type: message/global\r\n"
                                      : "Content-Type: message/rfc822\r\n");
    } else {
        sg_buf_puts(b, c->delayed ? "Content-Description: Delayed message headers\r\n"
                                  : "Content-Description: Undelivered message headers\r\n");
        sg_buf_puts(b, c->sc.hdr_8bit ? "Content-Type: message/global-headers\r\n"
                                      : "Content-Type: text/rfc822-headers\r\n");
    }
    if (c->part3_8)
        sg_buf_puts(b, "Content-Transfer-Encoding: 8bit\r\n");
    sg_buf_puts(b, "\r\n");
    dsn_text_put_orig(b, c->orig, c->ret_len);
}

/* The body: part 1 for people, part 2 for programs, part 3 if the original goes back. */
static void put_body(struct sg_buf *b, const struct compose *c)
{
    sg_buf_printf(b, "\r\n--%s\r\n", c->boundary);
    sg_buf_puts(b, "Content-Description: Notification\r\n");
    sg_buf_printf(b, "Content-Type: text/plain; charset=%s\r\n", c->text8 ? "utf-8" : "us-ascii");
    if (c->text8)
        sg_buf_puts(b, "Content-Transfer-Encoding: 8bit\r\n");
    sg_buf_puts(b, "\r\n");
    sg_buf_append(b, c->text.data, c->text.len);

    sg_buf_printf(b, "\r\n--%s\r\n", c->boundary);
    sg_buf_puts(b, "Content-Description: Delivery report\r\n");
    if (c->status8) /* RFC 6533 */
        sg_buf_puts(b, "Content-Type: message/global-delivery-status\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n");
    else
        sg_buf_puts(b, "Content-Type: message/delivery-status\r\n");
    sg_buf_puts(b, "\r\n");
    sg_buf_append(b, c->status.data, c->status.len);

    if (c->returned)
        put_returned(b, c);
    sg_buf_printf(b, "\r\n--%s--\r\n", c->boundary);
}

int dsn_compose(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr, const uint8_t *orig,
                size_t orig_len, struct sg_buf *out, char *why, size_t whysz)
{
    struct compose c = {.m = m, .orig = orig};
    const char *err;

    if (out)
        out->len = 0;
    if (check_args(m, r, nr, out, why, whysz))
        return -1;
    c.delayed = r[0].action == DSN_ACTION_DELAYED;
    choose_return(&c, orig_len);
    if (!(err = compose_parts(&c, r, nr))) {
        sg_buf_reserve(out, c.text.len + c.status.len +
                                (c.returned ? c.ret_len + c.ret_len / 32 : 0) + 2048);
        put_header(out, &c);
        put_body(out, &c);
        if (out->failed)
            err = "dsn: out of memory";
    }
    compose_free(&c);
    if (err) {
        out->len = 0;
        return fail(why, whysz, err);
    }
    return 0;
}
