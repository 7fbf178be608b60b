/* test_dsn.c - unit tests of the RFC 3464 delivery status notification composer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "dsn.h"

#define NOW_US 1795755005123456ull /* Fri, 27 Nov 2026 04:50:05 +0000 */
#define NOW_DATE "Fri, 27 Nov 2026 04:50:05 +0000"
#define ARRIVAL_US 1795700000000000ull
#define QID "0QF5N2K7H3B1C"
#define HOST "mx.example.org"

static const char ORIG[] = "Received: from client.example.net by mx.example.org\r\n"
                           "From: Alice <alice@example.net>\r\n"
                           "To: bob@example.com\r\n"
                           "Subject: lunch\r\n"
                           "Message-ID: <m1@example.net>\r\n"
                           "\r\n"
                           "Hello Bob,\r\n"
                           "lunch at noon?\r\n";
#define ORIG_HDR_LEN 155 /* checked in test_fixture_sane */

/* ---- a small parser of what dsn_compose wrote ---- */

struct part {
    const char *hdr; /* header section (without the blank line) */
    size_t hdr_len;
    const char *body;
    size_t body_len;
};

struct view {
    char *text; /* the DSN, NUL-terminated copy */
    size_t len;
    size_t hdr_len; /* top header section */
    char boundary[128];
    struct part parts[8];
    int nparts;
    int closed; /* the close delimiter was seen */
};

/* CRLF only, no bare CR or LF, no NUL, no line over 998 octets, ends with CRLF. */
static void assert_lines_ok(const uint8_t *p, size_t n)
{
    size_t col = 0;

    assert_true(n >= 2);
    assert_memory_equal(p + n - 2, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i] != '\0');
        if (p[i] == '\r') {
            assert_true(i + 1 < n && p[i + 1] == '\n');
        } else if (p[i] == '\n') {
            assert_true(i > 0 && p[i - 1] == '\r');
            col = 0;
        } else {
            col++;
            if (col > 998)
                fail_msg("line over 998 octets at offset %zu", i);
        }
    }
}

static size_t line_len(const char *p, const char *end)
{
    const char *e = p;

    while (e + 1 < end && !(e[0] == '\r' && e[1] == '\n'))
        e++;
    return e + 1 < end ? (size_t)(e - p) : (size_t)(end - p);
}

/* Value of field `name` in a header-like section (stops at a blank line), unfolded
 * (CRLF removed) and left-trimmed; 1 if found (the first one), 0 if not. */
static int field_value(const char *sec, size_t n, const char *name, char *out, size_t outsz)
{
    const char *p = sec, *end = sec + n;
    size_t nl = strlen(name);

    while (p < end) {
        size_t l = line_len(p, end);
        if (l == 0)
            return 0;
        if (l > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t o = 0;
            const char *v = p + nl + 1;
            size_t vl = l - nl - 1;
            while (vl && (*v == ' ' || *v == '\t')) {
                v++;
                vl--;
            }
            for (;;) {
                assert_true(o + vl < outsz);
                memcpy(out + o, v, vl);
                o += vl;
                p = v + vl + 2;
                if (p >= end || (*p != ' ' && *p != '\t'))
                    break;
                v = p;
                vl = line_len(p, end);
            }
            out[o] = '\0';
            return 1;
        }
        p += l + 2;
    }
    return 0;
}

/* How many times field `name` occurs in a header-like section. */
static int field_count(const char *sec, size_t n, const char *name)
{
    const char *p = sec, *end = sec + n;
    size_t nl = strlen(name);
    int c = 0;

    while (p < end) {
        size_t l = line_len(p, end);
        if (l == 0)
            break;
        if (l > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            c++;
        p += l + 2;
    }
    return c;
}

/* The field names of a section in order, joined by ",". */
static void field_names(const char *sec, size_t n, char *out, size_t outsz)
{
    const char *p = sec, *end = sec + n;
    size_t o = 0;

    out[0] = '\0';
    while (p < end) {
        size_t l = line_len(p, end);
        if (l == 0)
            break;
        if (*p != ' ' && *p != '\t') {
            const char *colon = memchr(p, ':', l);
            size_t k;
            assert_non_null(colon);
            k = (size_t)(colon - p);
            assert_true(o + k + 2 < outsz);
            if (o)
                out[o++] = ',';
            memcpy(out + o, p, k);
            o += k;
            out[o] = '\0';
        }
        p += l + 2;
    }
}

static int contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

static size_t count_of(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), c = 0;

    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            c++;
    return c;
}

static void split_part(struct part *pt, const char *p, size_t n)
{
    const char *end = p + n, *q = p;

    while (q < end) {
        size_t l = line_len(q, end);
        if (l == 0) {
            pt->hdr = p;
            pt->hdr_len = (size_t)(q - p);
            pt->body = q + 2;
            pt->body_len = (size_t)(end - pt->body);
            return;
        }
        q += l + 2;
    }
    fail_msg("part without a blank line after its header section");
}

/* Check the whole structure and split it into parts. */
static void parse(const struct sg_buf *b, struct view *v)
{
    char ct[512];
    const char *p, *end, *bp, *part_start = NULL;
    size_t bl;

    memset(v, 0, sizeof *v);
    assert_non_null(b->data);
    assert_lines_ok(b->data, b->len);
    v->text = malloc(b->len + 1);
    assert_non_null(v->text);
    memcpy(v->text, b->data, b->len);
    v->text[b->len] = '\0';
    v->len = b->len;
    assert_int_equal(strlen(v->text), v->len);

    p = strstr(v->text, "\r\n\r\n");
    assert_non_null(p);
    v->hdr_len = (size_t)(p - v->text) + 2;
    assert_true(field_value(v->text, v->hdr_len, "Content-Type", ct, sizeof ct));
    assert_true(strncmp(ct, "multipart/report; report-type=delivery-status;", 46) == 0);
    bp = strstr(ct, "boundary=\"");
    assert_non_null(bp);
    bp += 10;
    bl = strcspn(bp, "\"");
    assert_true(bl > 0 && bl <= 70 && bp[bl] == '"');
    memcpy(v->boundary, bp, bl);
    v->boundary[bl] = '\0';

    /* walk the body line by line: "--b" opens a part, "--b--" closes */
    p = v->text + v->hdr_len + 2;
    end = v->text + v->len;
    while (p < end) {
        size_t l = line_len(p, end);
        if (l >= bl + 2 && p[0] == '-' && p[1] == '-' && memcmp(p + 2, v->boundary, bl) == 0) {
            int closing = l == bl + 4 && p[bl + 2] == '-' && p[bl + 3] == '-';
            assert_true(closing || l == bl + 2);
            assert_false(v->closed);
            if (part_start) {
                assert_true(v->nparts < 8);
                /* the CRLF before the delimiter belongs to it */
                split_part(&v->parts[v->nparts++], part_start, (size_t)(p - 2 - part_start));
            }
            if (closing)
                v->closed = 1;
            part_start = p + l + 2;
        } else {
            /* no other line may even start with the boundary */
            assert_false(contains(p, l, v->boundary));
        }
        p += l + 2;
    }
    assert_true(v->closed);
}

static void view_free(struct view *v)
{
    free(v->text);
}

static const char *part_ct(const struct part *pt, char *buf, size_t bufsz)
{
    assert_true(field_value(pt->hdr, pt->hdr_len + 2, "Content-Type", buf, bufsz));
    return buf;
}

/* The i-th block of the delivery-status part (0: per-message). */
static void ds_block(const struct part *pt, int i, const char **b, size_t *n)
{
    const char *p = pt->body, *end = pt->body + pt->body_len;

    for (int k = 0; k < i; k++) {
        const char *q = p;
        for (;;) {
            size_t l = line_len(q, end);
            assert_true(q < end);
            q += l + 2;
            if (l == 0)
                break;
        }
        p = q;
    }
    *b = p;
    *n = (size_t)(end - p);
}

static int ds_nblocks(const struct part *pt)
{
    const char *p = pt->body, *end = pt->body + pt->body_len;
    int blocks = 1;

    while (p < end) {
        size_t l = line_len(p, end);
        if (l == 0)
            blocks++;
        p += l + 2;
    }
    return blocks;
}

static void assert_field(const char *sec, size_t n, const char *name, const char *want)
{
    char got[4096];

    if (!field_value(sec, n, name, got, sizeof got))
        fail_msg("field %s missing", name);
    if (strcmp(got, want) != 0)
        fail_msg("field %s: got \"%s\", want \"%s\"", name, got, want);
}

/* ---- fixtures ---- */

static struct dsn_msg base_msg(void)
{
    struct dsn_msg m = {
        .reporting_mta = HOST,
        .sender = "alice@example.net",
        .envid = "",
        .qid = QID,
        .arrival_us = ARRIVAL_US,
        .now_us = NOW_US,
        .ret = DSN_RETURN_HEADERS,
        .return_limit = 100000,
    };
    return m;
}

static struct dsn_rcpt failed_rcpt(void)
{
    struct dsn_rcpt r = {
        .addr = "bob@example.com",
        .orcpt = "",
        .action = DSN_ACTION_FAILED,
        .status = "5.1.1",
        .remote_mta = "mx1.example.com",
        .diagnostic = "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown",
        .reason = "the remote server rejected the recipient",
        .last_attempt_us = NOW_US - 1000000,
    };
    return r;
}

static void compose_ok(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr,
                       const char *orig, size_t orig_len, struct sg_buf *out, struct view *v)
{
    char why[256] = "";
    int rc = dsn_compose(m, r, nr, (const uint8_t *)orig, orig_len, out, why, sizeof why);

    if (rc != 0)
        fail_msg("dsn_compose: %s", why);
    parse(out, v);
}

static void compose_fails(const struct dsn_msg *m, const struct dsn_rcpt *r, size_t nr,
                          const char *want_why)
{
    struct sg_buf out = {0};
    char why[256] = "";

    assert_int_equal(
        dsn_compose(m, r, nr, (const uint8_t *)ORIG, strlen(ORIG), &out, why, sizeof why), -1);
    assert_true(why[0] != '\0');
    if (want_why && !strstr(why, want_why))
        fail_msg("why \"%s\" lacks \"%s\"", why, want_why);
    assert_int_equal(out.len, 0);
    free(out.data);
}

/* ---- tests ---- */

static void test_fixture_sane(void **state)
{
    const char *blank = strstr(ORIG, "\r\n\r\n");

    assert_non_null(blank);
    assert_int_equal((size_t)(blank - ORIG) + 4, ORIG_HDR_LEN);
}

static void test_date(void **state)
{
    char buf[64];

    dsn_date(0, buf, sizeof buf);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 +0000");
    dsn_date(NOW_US, buf, sizeof buf);
    assert_string_equal(buf, NOW_DATE);
    dsn_date(951782400ull * 1000000u + 999999u, buf, sizeof buf);
    assert_string_equal(buf, "Tue, 29 Feb 2000 00:00:00 +0000");
    dsn_date(4102444799ull * 1000000u, buf, sizeof buf);
    assert_string_equal(buf, "Thu, 31 Dec 2099 23:59:59 +0000");
    dsn_date(1700000000ull * 1000000u, buf, sizeof buf);
    assert_string_equal(buf, "Tue, 14 Nov 2023 22:13:20 +0000");
    /* truncated, still terminated; nothing written for size 0 */
    memset(buf, 'x', sizeof buf);
    dsn_date(0, buf, 4);
    assert_string_equal(buf, "Thu");
    buf[0] = 'Q';
    dsn_date(0, buf, 0);
    assert_int_equal(buf[0], 'Q');
    dsn_date(0, NULL, 10);
    /* far future: still a well-formed date, no crash */
    dsn_date(UINT64_MAX, buf, sizeof buf);
    assert_non_null(strstr(buf, " +0000"));
}

static void test_failed_one_recipient(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512], want[512];
    const char *blk;
    size_t bn;

    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);

    /* header section */
    assert_field(v.text, v.hdr_len, "From", "Mail Delivery System <MAILER-DAEMON@" HOST ">");
    assert_field(v.text, v.hdr_len, "To", "<alice@example.net>");
    assert_field(v.text, v.hdr_len, "Subject", "Undelivered Mail Returned to Sender");
    assert_field(v.text, v.hdr_len, "Date", NOW_DATE);
    snprintf(want, sizeof want, "<%s.dsn.%llu@%s>", QID, (unsigned long long)NOW_US, HOST);
    assert_field(v.text, v.hdr_len, "Message-ID", want);
    assert_field(v.text, v.hdr_len, "Auto-Submitted", "auto-replied");
    assert_field(v.text, v.hdr_len, "MIME-Version", "1.0");
    assert_int_equal(field_count(v.text, v.hdr_len, "Content-Transfer-Encoding"), 0);
    snprintf(want, sizeof want, "=_spoolgate_%s_%llu", QID, (unsigned long long)NOW_US);
    assert_string_equal(v.boundary, want);
    assert_true(strncmp(v.text, "From: ", 6) == 0);

    assert_int_equal(v.nparts, 3);

    /* part 1 */
    assert_string_equal(part_ct(&v.parts[0], buf, sizeof buf), "text/plain; charset=us-ascii");
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "This is the mail system at host " HOST "."));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "\r\nbob@example.com: the remote server rejected the recipient\r\n"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "The remote server mx1.example.com said: 550 5.1.1"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len, QID));
    assert_false(contains(v.parts[0].body, v.parts[0].body_len, "retried"));

    /* part 2 */
    assert_string_equal(part_ct(&v.parts[1], buf, sizeof buf), "message/delivery-status");
    assert_int_equal(ds_nblocks(&v.parts[1]), 2);
    ds_block(&v.parts[1], 0, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(buf, "Reporting-MTA,Arrival-Date,X-Spoolgate-Queue-ID");
    assert_field(blk, bn, "Reporting-MTA", "dns; " HOST);
    assert_field(blk, bn, "X-Spoolgate-Queue-ID", QID);
    dsn_date(ARRIVAL_US, want, sizeof want);
    assert_field(blk, bn, "Arrival-Date", want);
    ds_block(&v.parts[1], 1, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(
        buf, "Final-Recipient,Action,Status,Remote-MTA,Diagnostic-Code,Last-Attempt-Date,"
             "X-Spoolgate-Reason");
    assert_field(blk, bn, "Final-Recipient", "rfc822; bob@example.com");
    assert_field(blk, bn, "Action", "failed");
    assert_field(blk, bn, "Status", "5.1.1");
    assert_field(blk, bn, "Remote-MTA", "dns; mx1.example.com");
    assert_field(blk, bn, "Diagnostic-Code",
                 "smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown");
    dsn_date(NOW_US - 1000000, want, sizeof want);
    assert_field(blk, bn, "Last-Attempt-Date", want);
    assert_field(blk, bn, "X-Spoolgate-Reason", "the remote server rejected the recipient");

    /* part 3: headers only (RET=HEADERS), up to and including the blank line */
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    assert_int_equal(
        field_count(v.parts[2].hdr, v.parts[2].hdr_len + 2, "Content-Transfer-Encoding"), 0);
    assert_int_equal(v.parts[2].body_len, ORIG_HDR_LEN);
    assert_memory_equal(v.parts[2].body, ORIG, ORIG_HDR_LEN);

    /* the output buffer is reused: a second call replaces the first */
    {
        size_t first = out.len;
        view_free(&v);
        compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
        assert_int_equal(out.len, first);
    }
    view_free(&v);
    free(out.data);
}

static void test_failed_three_recipients(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r[3];
    struct sg_buf out = {0};
    struct view v;
    char buf[512];
    const char *blk;
    size_t bn;

    r[0] = failed_rcpt();
    r[1] = failed_rcpt();
    r[1].addr = "carol@example.com";
    r[1].status = "5.4.7";
    r[1].remote_mta = "";
    r[1].diagnostic = "";
    r[1].reason = "too old: 4.4.1 connect to 192.0.2.7:25 refused, in queue for 5d";
    r[1].orcpt = "rfc822;carol+2Bx@example.com";
    r[2] = failed_rcpt();
    r[2].addr = "dave@old.example";
    r[2].status = "5.1.2";
    r[2].remote_mta = NULL;
    r[2].diagnostic = NULL;
    r[2].orcpt = NULL;
    r[2].last_attempt_us = 0;
    r[2].reason = "This domain no longer accepts mail";

    compose_ok(&m, r, 3, ORIG, strlen(ORIG), &out, &v);
    assert_int_equal(v.nparts, 3);

    /* every recipient and its reason in the text */
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "\r\nbob@example.com: the remote server rejected the recipient\r\n"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "\r\ncarol@example.com: too old: 4.4.1 connect"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "\r\ndave@old.example: This domain no longer accepts mail\r\n"));
    assert_int_equal(count_of(v.parts[0].body, v.parts[0].body_len, "The remote server"), 1);

    assert_int_equal(ds_nblocks(&v.parts[1]), 4);
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_field(blk, bn, "Final-Recipient", "rfc822; bob@example.com");
    assert_int_equal(field_count(blk, bn, "Original-Recipient"), 0);

    ds_block(&v.parts[1], 2, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(
        buf,
        "Original-Recipient,Final-Recipient,Action,Status,Last-Attempt-Date,X-Spoolgate-Reason");
    assert_field(blk, bn, "Original-Recipient", "rfc822; carol+2Bx@example.com");
    assert_field(blk, bn, "Final-Recipient", "rfc822; carol@example.com");
    assert_field(blk, bn, "Status", "5.4.7");
    assert_field(blk, bn, "X-Spoolgate-Reason",
                 "too old: 4.4.1 connect to 192.0.2.7:25 refused, in queue for 5d");

    ds_block(&v.parts[1], 3, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(buf, "Final-Recipient,Action,Status,X-Spoolgate-Reason");
    assert_field(blk, bn, "Final-Recipient", "rfc822; dave@old.example");
    assert_field(blk, bn, "Action", "failed");
    assert_field(blk, bn, "Status", "5.1.2");

    view_free(&v);
    free(out.data);
}

static void test_delayed(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r[2];
    struct sg_buf out = {0};
    struct view v;
    char buf[512], date[64], want[256];
    const char *blk;
    size_t bn;

    r[0] = failed_rcpt();
    r[0].action = DSN_ACTION_DELAYED;
    r[0].status = "4.7.1";
    r[0].diagnostic = "451 4.7.1 greylisted, try again later";
    r[0].reason = "the remote server asked us to try again later";
    r[0].will_retry_until_us = NOW_US + 4 * 86400ull * 1000000u;
    r[1] = r[0];
    r[1].addr = "erin@example.com";
    r[1].will_retry_until_us = 0;
    r[1].remote_mta = "";
    r[1].diagnostic = "";
    r[1].reason = "4.4.1 connect to 192.0.2.7:25 refused";

    compose_ok(&m, r, 2, ORIG, strlen(ORIG), &out, &v);
    assert_field(v.text, v.hdr_len, "Subject", "Delayed Mail (still being retried)");
    assert_int_equal(v.nparts, 3);

    dsn_date(r[0].will_retry_until_us, date, sizeof date);
    snprintf(want, sizeof want, "still being retried until %s.", date);
    assert_true(contains(v.parts[0].body, v.parts[0].body_len, want));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "The remote server mx1.example.com said: 451 4.7.1"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len, "erin@example.com: 4.4.1 connect"));

    ds_block(&v.parts[1], 1, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(
        buf, "Final-Recipient,Action,Status,Remote-MTA,Diagnostic-Code,Last-Attempt-Date,"
             "Will-Retry-Until,X-Spoolgate-Reason");
    assert_field(blk, bn, "Action", "delayed");
    assert_field(blk, bn, "Status", "4.7.1");
    assert_field(blk, bn, "Will-Retry-Until", date);
    ds_block(&v.parts[1], 2, &blk, &bn);
    assert_field(blk, bn, "Action", "delayed");
    assert_int_equal(field_count(blk, bn, "Will-Retry-Until"), 0);
    assert_int_equal(field_count(blk, bn, "Diagnostic-Code"), 0);

    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    view_free(&v);

    /* a failed recipient never gets Will-Retry-Until, even if the caller set it */
    r[0] = failed_rcpt();
    r[0].will_retry_until_us = NOW_US + 1000000;
    compose_ok(&m, r, 1, ORIG, strlen(ORIG), &out, &v);
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_int_equal(field_count(blk, bn, "Will-Retry-Until"), 0);
    assert_false(contains(v.text, v.len, "retried"));
    view_free(&v);
    free(out.data);
}

static void test_envid_and_orcpt(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512];
    const char *blk;
    size_t bn;

    /* present */
    m.envid = "QQ314159+2B1";
    r.orcpt = "rfc822;bob+2Bsales@example.com";
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    ds_block(&v.parts[1], 0, &blk, &bn);
    field_names(blk, bn, buf, sizeof buf);
    assert_string_equal(buf,
                        "Original-Envelope-Id,Reporting-MTA,Arrival-Date,X-Spoolgate-Queue-ID");
    assert_field(blk, bn, "Original-Envelope-Id", "QQ314159+2B1");
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_field(blk, bn, "Original-Recipient", "rfc822; bob+2Bsales@example.com");
    view_free(&v);

    /* other address types are kept; an existing space is not doubled */
    r.orcpt = "x400; /C=US/ADMD=x/";
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_field(blk, bn, "Original-Recipient", "x400; /C=US/ADMD=x/");
    view_free(&v);

    /* absent: "" or NULL */
    m.envid = NULL;
    r.orcpt = NULL;
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_false(contains(v.text, v.len, "Original-Envelope-Id"));
    assert_false(contains(v.text, v.len, "Original-Recipient"));
    view_free(&v);
    m.envid = "";
    r.orcpt = "";
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_false(contains(v.text, v.len, "Original-Envelope-Id"));
    assert_false(contains(v.text, v.len, "Original-Recipient"));
    view_free(&v);

    /* no arrival time: no Arrival-Date */
    m.arrival_us = 0;
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_false(contains(v.text, v.len, "Arrival-Date"));
    view_free(&v);
    free(out.data);
}

static void test_return_modes(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512];
    size_t n = strlen(ORIG);

    /* FULL within the limit: the whole message */
    m.ret = DSN_RETURN_FULL;
    m.return_limit = n;
    compose_ok(&m, &r, 1, ORIG, n, &out, &v);
    assert_int_equal(v.nparts, 3);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/rfc822");
    assert_int_equal(
        field_count(v.parts[2].hdr, v.parts[2].hdr_len + 2, "Content-Transfer-Encoding"), 0);
    assert_int_equal(v.parts[2].body_len, n);
    assert_memory_equal(v.parts[2].body, ORIG, n);
    assert_true(
        contains(v.parts[0].body, v.parts[0].body_len, "A copy of your message is attached."));
    view_free(&v);

    /* FULL one octet over the limit: its headers */
    m.return_limit = n - 1;
    compose_ok(&m, &r, 1, ORIG, n, &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    assert_int_equal(v.parts[2].body_len, ORIG_HDR_LEN);
    assert_memory_equal(v.parts[2].body, ORIG, ORIG_HDR_LEN);
    assert_false(contains(v.text, v.len, "lunch at noon"));
    view_free(&v);

    /* HEADERS whatever the limit */
    m.ret = DSN_RETURN_HEADERS;
    m.return_limit = SIZE_MAX;
    compose_ok(&m, &r, 1, ORIG, n, &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    assert_int_equal(v.parts[2].body_len, ORIG_HDR_LEN);
    view_free(&v);

    /* no original: two parts */
    compose_ok(&m, &r, 1, NULL, 0, &out, &v);
    assert_int_equal(v.nparts, 2);
    view_free(&v);
    compose_ok(&m, &r, 1, ORIG, 0, &out, &v);
    assert_int_equal(v.nparts, 2);
    view_free(&v);
    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, NULL, 0, &out, &v);
    assert_int_equal(v.nparts, 2);
    assert_false(contains(v.text, v.len, "rfc822-headers"));
    assert_false(contains(v.text, v.len, "message/rfc822"));
    view_free(&v);
    free(out.data);
}

static void test_original_without_blank_line(void **state)
{
    static const char only_hdr[] = "From: a@example.net\r\nTo: b@example.com\r\nSubject: no body";
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512];

    compose_ok(&m, &r, 1, only_hdr, strlen(only_hdr), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    /* everything, the unterminated last line ended with CRLF */
    assert_int_equal(v.parts[2].body_len, strlen(only_hdr) + 2);
    assert_memory_equal(v.parts[2].body, only_hdr, strlen(only_hdr));
    assert_memory_equal(v.parts[2].body + strlen(only_hdr), "\r\n", 2);
    view_free(&v);

    /* a header section that is empty: just the blank line */
    compose_ok(&m, &r, 1, "\r\nbody only\r\n", 13, &out, &v);
    assert_int_equal(v.parts[2].body_len, 2);
    assert_false(contains(v.text, v.len, "body only"));
    view_free(&v);
    free(out.data);
}

static void test_bare_lf_original_and_long_lines(void **state)
{
    static const char lf[] = "From: a@example.net\nSubject: unix\n\nline one\nline\rtwo\n";
    static const char want_full[] =
        "From: a@example.net\r\nSubject: unix\r\n\r\nline one\r\nline\r\ntwo\r\n";
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512], *big;
    size_t n;

    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, lf, strlen(lf), &out, &v); /* parse() asserts CRLF only */
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/rfc822");
    assert_int_equal(v.parts[2].body_len, strlen(want_full));
    assert_memory_equal(v.parts[2].body, want_full, strlen(want_full));
    view_free(&v);

    m.ret = DSN_RETURN_HEADERS;
    compose_ok(&m, &r, 1, lf, strlen(lf), &out, &v);
    assert_int_equal(v.parts[2].body_len, 38);
    assert_memory_equal(v.parts[2].body, want_full, 38);
    view_free(&v);

    /* a body line over 998 octets: FULL falls back to the headers (never alter message/rfc822) */
    n = 3000;
    big = malloc(n + 1);
    assert_non_null(big);
    strcpy(big, "From: a@example.net\r\nSubject: long\r\n\r\n");
    memset(big + strlen(big), 'b', n - strlen(big) - 2);
    memcpy(big + n - 2, "\r\n", 3);
    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, big, n, &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    view_free(&v);

    /* a header line over 998 octets: folded, still all there */
    memcpy(big, "X-Long: ", 8);
    memset(big + 8, 'h', n - 8);
    memcpy(big + n - 6, "\r\n\r\n", 5);
    compose_ok(&m, &r, 1, big, strlen(big), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    assert_int_equal(count_of(v.parts[2].body, v.parts[2].body_len, "h"), n - 14);
    assert_int_equal(field_count(v.parts[2].body, v.parts[2].body_len, "X-Long"), 1);
    view_free(&v);
    free(big);
    free(out.data);
}

static void test_8bit(void **state)
{
    static const char body8[] =
        "From: a@example.net\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\nGr\xc3\xbc\xc3\x9f"
        "e aus K\xc3\xb6ln\r\n";
    static const char hdr8[] = "From: J\xc3\xbcrgen <j@example.net>\r\nSubject: Gr\xc3\xbc\xc3\x9f"
                               "e\r\n\r\nhi\r\n";
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char buf[512];
    const char *blk;
    size_t bn;

    /* 8-bit body, FULL: message/rfc822 with 8bit, the multipart too; the text stays us-ascii */
    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, body8, strlen(body8), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/rfc822");
    assert_field(v.parts[2].hdr, v.parts[2].hdr_len + 2, "Content-Transfer-Encoding", "8bit");
    assert_memory_equal(v.parts[2].body, body8, strlen(body8));
    assert_field(v.text, v.hdr_len, "Content-Transfer-Encoding", "8bit");
    assert_string_equal(part_ct(&v.parts[0], buf, sizeof buf), "text/plain; charset=us-ascii");
    assert_string_equal(part_ct(&v.parts[1], buf, sizeof buf), "message/delivery-status");
    view_free(&v);

    /* the same, headers only: nothing 8-bit goes out, so no 8bit anywhere */
    m.ret = DSN_RETURN_HEADERS;
    compose_ok(&m, &r, 1, body8, strlen(body8), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "text/rfc822-headers");
    assert_false(contains(v.text, v.len, "8bit"));
    for (size_t i = 0; i < out.len; i++)
        assert_true(out.data[i] < 0x80);
    view_free(&v);

    /* 8-bit header fields (SMTPUTF8): message/global-headers, message/global (RFC 6532) */
    compose_ok(&m, &r, 1, hdr8, strlen(hdr8), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/global-headers");
    assert_field(v.parts[2].hdr, v.parts[2].hdr_len + 2, "Content-Transfer-Encoding", "8bit");
    view_free(&v);
    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, hdr8, strlen(hdr8), &out, &v);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/global");
    assert_memory_equal(v.parts[2].body, hdr8, strlen(hdr8));
    view_free(&v);

    /* 8-bit reason and address: text in utf-8; report as message/global-delivery-status (RFC 6533) */
    r.reason = "Postfach voll (\xc3\xbc"
               "berschritten)";
    r.addr = "j\xc3\xbcrgen@example.com";
    m.ret = DSN_RETURN_HEADERS;
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_string_equal(part_ct(&v.parts[0], buf, sizeof buf), "text/plain; charset=utf-8");
    assert_field(v.parts[0].hdr, v.parts[0].hdr_len + 2, "Content-Transfer-Encoding", "8bit");
    assert_true(contains(v.parts[0].body, v.parts[0].body_len,
                         "j\xc3\xbcrgen@example.com: Postfach voll (\xc3\xbc"
                         "berschritten)"));
    assert_string_equal(part_ct(&v.parts[1], buf, sizeof buf), "message/global-delivery-status");
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_field(blk, bn, "Final-Recipient", "utf-8; j\xc3\xbcrgen@example.com");
    assert_field(v.text, v.hdr_len, "Content-Transfer-Encoding", "8bit");
    view_free(&v);
    free(out.data);
}

static void test_boundary_collision(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    char base[128], orig[1024], buf[512];

    snprintf(base, sizeof base, "=_spoolgate_%s_%llu", QID, (unsigned long long)NOW_US);

    /* the original holds the natural boundary (a forwarded DSN, say) */
    snprintf(orig, sizeof orig,
             "From: a@example.net\r\nContent-Type: multipart/mixed; "
             "boundary=\"%s\"\r\n\r\n--%s\r\n\r\nx\r\n--%s--\r\n",
             base, base, base);
    m.ret = DSN_RETURN_FULL;
    compose_ok(&m, &r, 1, orig, strlen(orig), &out, &v);
    assert_string_not_equal(v.boundary, base);
    assert_false(contains(orig, strlen(orig), v.boundary));
    assert_int_equal(v.nparts, 3);
    assert_string_equal(part_ct(&v.parts[2], buf, sizeof buf), "message/rfc822");
    assert_memory_equal(v.parts[2].body, orig, strlen(orig));

    /* ...and the first alternative too: a third one, found in neither */
    {
        char orig2[2048];
        snprintf(orig2, sizeof orig2, "%sX-Also: %s\r\n", orig, v.boundary);
        view_free(&v);
        compose_ok(&m, &r, 1, orig2, strlen(orig2), &out, &v);
        assert_false(contains(orig2, strlen(orig2), v.boundary));
        assert_true(strlen(v.boundary) <= 70);
        assert_int_equal(v.nparts, 3);
        assert_memory_equal(v.parts[2].body, orig2, strlen(orig2));
        view_free(&v);
    }

    /* in a remote reply instead */
    snprintf(orig, sizeof orig, "550 no thanks %s", base);
    r.diagnostic = orig;
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_string_not_equal(v.boundary, base);
    assert_int_equal(v.nparts, 3);
    view_free(&v);
    free(out.data);
}

static void test_long_values_fold(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r[2];
    struct sg_buf out = {0};
    struct view v;
    char *diag, *reason, got[8192];
    const char *blk;
    size_t bn, o = 0;

    /* a 3000-octet reply of words, and a 2500-octet reason without a single space */
    diag = malloc(3001);
    reason = malloc(2501);
    assert_non_null(diag);
    assert_non_null(reason);
    o = (size_t)snprintf(diag, 3001, "550-5.7.1 ");
    while (o < 3000) {
        size_t k = (size_t)snprintf(diag + o, 3001 - o, "word%zu ", o);
        o += k;
    }
    diag[3000] = '\0';
    memset(reason, 'r', 2500);
    reason[2500] = '\0';

    r[0] = failed_rcpt();
    r[0].diagnostic = diag;
    r[1] = failed_rcpt();
    r[1].addr = "other@example.com";
    r[1].reason = reason;
    r[1].remote_mta = "";
    r[1].diagnostic = "";
    compose_ok(&m, r, 2, ORIG, strlen(ORIG), &out, &v); /* parse() asserts no line over 998 */

    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_true(field_value(blk, bn, "Diagnostic-Code", got, sizeof got));
    assert_true(strncmp(got, "smtp; 550-5.7.1 word10 word17 ", 30) == 0);
    assert_true(strlen(got) <= 6 + 900);
    assert_true(strlen(got) > 6 + 800);
    /* folded at spaces: unfolding gives back a prefix of the reply */
    assert_true(strncmp(got + 6, diag, strlen(got) - 6 - 3) == 0);
    assert_string_equal(got + strlen(got) - 3, "...");
    /* folded lines stay short when there are spaces */
    {
        const char *p = blk, *end = blk + bn;
        while (p < end) {
            size_t l = line_len(p, end);
            if (l == 0)
                break; /* end of this recipient's block */
            assert_true(l <= 78);
            p += l + 2;
        }
    }

    /* the reason without spaces: broken into lines, nothing lost */
    ds_block(&v.parts[1], 2, &blk, &bn);
    assert_true(field_value(blk, bn, "X-Spoolgate-Reason", got, sizeof got));
    {
        size_t rs = 0;
        for (const char *p = got; *p; p++) {
            if (*p == 'r')
                rs++;
            else
                assert_int_equal(*p, ' ');
        }
        assert_int_equal(rs, 2500);
    }
    /* and in the human text, broken with an indent */
    assert_true(
        contains(v.parts[0].body, v.parts[0].body_len, "\r\nother@example.com:\r\n    rrrr"));
    assert_true(contains(v.parts[0].body, v.parts[0].body_len, "r\r\n    rrrr"));
    view_free(&v);
    free(diag);
    free(reason);
    free(out.data);
}

static void test_text_wraps(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    const char *p, *end;
    size_t longest = 0;

    r.reason =
        "a rather long explanation of what went wrong with this recipient, long enough to need "
        "more than one line of text in the notification so that it wraps";
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    p = v.parts[0].body;
    end = p + v.parts[0].body_len;
    while (p < end) {
        size_t l = line_len(p, end);
        if (l > longest)
            longest = l;
        p += l + 2;
    }
    assert_true(longest <= 78);
    assert_true(contains(v.parts[0].body, v.parts[0].body_len, "\r\n    "));
    /* the reason is whole and unfolded in the report */
    {
        const char *blk;
        size_t bn;
        ds_block(&v.parts[1], 1, &blk, &bn);
        assert_field(blk, bn, "X-Spoolgate-Reason", r.reason);
    }
    view_free(&v);
    free(out.data);
}

static void test_no_header_injection(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r = failed_rcpt();
    struct sg_buf out = {0};
    struct view v;
    const char *blk;
    size_t bn;

    r.reason = "bad\r\nBcc: victim@example.com\r\n\r\nmore";
    r.diagnostic = "550 x\nX-Injected: 1";
    m.sender = "<alice@example.net>";
    compose_ok(&m, &r, 1, ORIG, strlen(ORIG), &out, &v);
    assert_false(contains(v.text, v.len, "\r\nBcc:"));
    assert_false(contains(v.text, v.len, "\r\nX-Injected:"));
    assert_field(v.text, v.hdr_len, "To", "<alice@example.net>");
    ds_block(&v.parts[1], 1, &blk, &bn);
    assert_field(blk, bn, "X-Spoolgate-Reason", "bad Bcc: victim@example.com more");
    assert_field(blk, bn, "Diagnostic-Code", "smtp; 550 x X-Injected: 1");
    view_free(&v);
    free(out.data);
}

static void test_missing_reason_or_status(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r[3];

    r[0] = failed_rcpt();
    r[1] = failed_rcpt();
    r[2] = failed_rcpt();
    r[1].addr = "x@example.com";

    r[2].reason = NULL;
    compose_fails(&m, r, 3, "reason");
    r[2].reason = "";
    compose_fails(&m, r, 3, "reason");
    r[2].reason = " \t ";
    compose_fails(&m, r, 3, "reason");
    r[2] = failed_rcpt();

    r[2].status = NULL;
    compose_fails(&m, r, 3, "status");
    r[2].status = "";
    compose_fails(&m, r, 3, "status");
    r[2].status = "5.1";
    compose_fails(&m, r, 3, "status");
    r[2].status = "3.1.1";
    compose_fails(&m, r, 3, "status");
    r[2].status = "5.1.1 ";
    compose_fails(&m, r, 3, "status");
    r[2].status = "5.1234.1";
    compose_fails(&m, r, 3, "status");
    r[2] = failed_rcpt();

    r[2].addr = "";
    compose_fails(&m, r, 3, "address");
    r[2].addr = NULL;
    compose_fails(&m, r, 3, "address");
}

static void test_bad_arguments(void **state)
{
    struct dsn_msg m = base_msg();
    struct dsn_rcpt r[2];
    struct sg_buf out = {0};

    r[0] = failed_rcpt();
    r[1] = failed_rcpt();
    r[1].action = DSN_ACTION_DELAYED;
    r[1].status = "4.4.1";
    compose_fails(&m, r, 2, "mixed");
    r[0].action = DSN_ACTION_DELAYED;
    r[1].action = DSN_ACTION_FAILED;
    compose_fails(&m, r, 2, "mixed");
    r[1].action = (enum dsn_action)7;
    compose_fails(&m, r, 2, "action");
    r[0] = failed_rcpt();
    r[1] = failed_rcpt();

    compose_fails(&m, r, 0, "no recipients");
    compose_fails(&m, NULL, 1, NULL);
    compose_fails(NULL, r, 1, NULL);
    m.sender = "";
    compose_fails(&m, r, 1, "sender");
    m.sender = NULL;
    compose_fails(&m, r, 1, "sender");
    m.sender = "<>";
    compose_fails(&m, r, 1, "sender");
    m = base_msg();
    m.reporting_mta = "";
    compose_fails(&m, r, 1, NULL);
    m = base_msg();
    m.qid = NULL;
    compose_fails(&m, r, 1, NULL);
    m = base_msg();
    assert_int_equal(dsn_compose(&m, r, 1, NULL, 0, NULL, NULL, 0), -1);
    /* why may be absent */
    assert_int_equal(dsn_compose(&m, r, 0, NULL, 0, &out, NULL, 0), -1);
    free(out.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_sane),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_failed_one_recipient),
        cmocka_unit_test(test_failed_three_recipients),
        cmocka_unit_test(test_delayed),
        cmocka_unit_test(test_envid_and_orcpt),
        cmocka_unit_test(test_return_modes),
        cmocka_unit_test(test_original_without_blank_line),
        cmocka_unit_test(test_bare_lf_original_and_long_lines),
        cmocka_unit_test(test_8bit),
        cmocka_unit_test(test_boundary_collision),
        cmocka_unit_test(test_long_values_fold),
        cmocka_unit_test(test_text_wraps),
        cmocka_unit_test(test_no_header_injection),
        cmocka_unit_test(test_missing_reason_or_status),
        cmocka_unit_test(test_bad_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
