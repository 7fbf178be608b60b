/* test_smtp_reply.c - unit tests of SMTP reply accumulation, enhanced codes, EHLO keywords, dot-stuffing, xtext. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "smtp_body.h"
#include "smtp_reply.h"
#include "smtp_xtext.h"

/* ---- helpers --------------------------------------------------------------- */

static void check_reply_shape(const struct smtp_reply *r)
{
    assert_non_null(memchr(r->text, '\0', sizeof(r->text)));
    assert_int_equal(strlen(r->text), r->text_len);
    assert_true(r->text_len < SMTP_REPLY_TEXT_MAX);
    assert_non_null(memchr(r->enhanced, '\0', sizeof(r->enhanced)));
    assert_true(r->lines <= 100);
    if (r->complete) {
        assert_true(r->code >= 200 && r->code <= 599);
        assert_true(r->lines >= 1);
        assert_true(r->text_len >= 3);
        assert_true(r->text[0] == '0' + r->code / 100);
    } else {
        assert_int_equal(r->code, 0);
    }
    if (r->enhanced[0] != '\0')
        assert_true(r->lines >= 1 && r->enhanced[0] == r->text[0]);
}

/* Feed the whole of in (as one exact heap buffer) to a fresh reply. */
static long feed_all(struct smtp_reply *r, const char *in, size_t n)
{
    char *c = exact(in, n);
    long got;

    smtp_reply_reset(r);
    got = smtp_reply_feed(r, c, n);
    free(c);
    assert_true(got >= -1 && got <= (long)n);
    check_reply_shape(r);
    return got;
}

static void expect_reply(const char *in, long consumed, int code, const char *enh, const char *text,
                         unsigned lines)
{
    struct smtp_reply r;
    long got = feed_all(&r, in, strlen(in));

    if (got != consumed)
        fail_msg("\"%s\": consumed %ld, expected %ld", in, got, consumed);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.code, code);
    assert_string_equal(r.enhanced, enh);
    assert_string_equal(r.text, text);
    assert_int_equal(r.lines, lines);
}

static void expect_malformed(const char *in, size_t n)
{
    struct smtp_reply r;
    long got = feed_all(&r, in, n);

    if (got != -1)
        fail_msg("\"%.*s\": expected -1, got %ld", (int)(n > 80 ? 80 : n), in, got);
}

/* Feed in the way a client does: pieces arrive and are appended to a buffer,
 * smtp_reply_feed sees the whole unconsumed buffer and the consumed octets
 * are dropped.  piece 0 = random sizes 1..max from seed, else fixed size. */
static long feed_split(struct smtp_reply *r, const char *in, size_t n, size_t piece, uint64_t seed,
                       size_t max)
{
    char *pending = malloc(n + 1);
    size_t plen = 0, off = 0, total = 0;
    long result = 0;

    assert_non_null(pending);
    smtp_reply_reset(r);
    while (off < n && !r->complete) {
        size_t k = piece ? piece : 1 + (size_t)(rng_next(&seed) % max);
        char *c;
        long got;

        if (k > n - off)
            k = n - off;
        memcpy(pending + plen, in + off, k);
        plen += k;
        off += k;
        c = exact(pending, plen);
        got = smtp_reply_feed(r, c, plen);
        free(c);
        check_reply_shape(r);
        if (got < 0) {
            result = -1;
            break;
        }
        assert_true((size_t)got <= plen);
        memmove(pending, pending + got, plen - (size_t)got);
        plen -= (size_t)got;
        total += (size_t)got;
        result = (long)total;
    }
    free(pending);
    return result;
}

/* One-shot, byte by byte and random pieces agree on everything. */
static void check_split_same(const char *in, size_t n, uint64_t seed)
{
    struct smtp_reply one, two;
    long a = feed_all(&one, in, n), b;

    b = feed_split(&two, in, n, 1, 0, 0);
    assert_int_equal(a, b);
    if (a >= 0)
        assert_memory_equal(&one, &two, sizeof(one));
    for (int k = 0; k < 3; k++) {
        b = feed_split(&two, in, n, 0, seed + (uint64_t)k, k == 0 ? 3 : k == 1 ? 17 : 700);
        assert_int_equal(a, b);
        if (a >= 0)
            assert_memory_equal(&one, &two, sizeof(one));
    }
}

/* ---- smtp_reply_feed ------------------------------------------------------- */

static void test_reply_single_line(void **state)
{
    expect_reply("250 OK\r\n", 8, 250, "", "250 OK", 1);
    expect_reply("250 OK\n", 7, 250, "", "250 OK", 1);
    expect_reply("550 5.1.1 <x>: user unknown\r\n", 29, 550, "5.1.1", "550 5.1.1 <x>: user unknown",
                 1);
    expect_reply("250\r\n", 5, 250, "", "250", 1);
    expect_reply("250\n", 4, 250, "", "250", 1);
    expect_reply("250 \r\n", 6, 250, "", "250", 1);
    expect_reply("220 mx.test ESMTP\r\n", 19, 220, "", "220 mx.test ESMTP", 1);
    expect_reply("354 go ahead\r\n", 14, 354, "", "354 go ahead", 1);
    expect_reply("599 x\r\n", 7, 599, "", "599 x", 1);
    expect_reply("200 x\r\n", 7, 200, "", "200 x", 1);
    expect_reply("421 4.3.2 shutting down\r\n", 25, 421, "4.3.2", "421 4.3.2 shutting down", 1);
}

static void test_reply_multi_line(void **state)
{
    expect_reply("250-mx.test Hello\r\n250-PIPELINING\r\n250 SIZE 100\r\n", 49, 250, "",
                 "250 mx.test Hello / PIPELINING / SIZE 100", 3);
    expect_reply("550-5.1.1 first\r\n550 5.1.1 second\r\n", 35, 550, "5.1.1",
                 "550 5.1.1 first / 5.1.1 second", 2);
    expect_reply("451-4.7.1 greylisted\n451-please\r\n451 retry\n", 43, 451, "4.7.1",
                 "451 4.7.1 greylisted / please / retry", 3);
    /* lines without text add nothing */
    expect_reply("250-\r\n250 ok\r\n", 14, 250, "", "250 / ok", 2);
    expect_reply("250-first\r\n250\r\n", 16, 250, "", "250 first", 2);
    expect_reply("250-first\r\n250-\r\n250 \r\n", 23, 250, "", "250 first", 3);
    /* the enhanced code comes from the first line only */
    expect_reply("250-hello\r\n250 2.0.0 ok\r\n", 25, 250, "", "250 hello / 2.0.0 ok", 2);
}

static void test_reply_enhanced(void **state)
{
    expect_reply("250 2.0.0\r\n", 11, 250, "2.0.0", "250 2.0.0", 1);
    expect_reply("550 5.999.999 x\r\n", 17, 550, "5.999.999", "550 5.999.999 x", 1);
    expect_reply("451 4.7.1\tgreylisted\r\n", 22, 451, "4.7.1", "451 4.7.1 greylisted", 1);
    expect_reply("250-2.1.5 ok\r\n250 2.1.5 ok\r\n", 28, 250, "2.1.5", "250 2.1.5 ok / 2.1.5 ok",
                 2);
    /* not an enhanced code */
    expect_reply("550 4.1.1 class differs\r\n", 25, 550, "", "550 4.1.1 class differs", 1);
    expect_reply("354 3.0.0 class 3\r\n", 19, 354, "", "354 3.0.0 class 3", 1);
    expect_reply("250 2.0.0x\r\n", 12, 250, "", "250 2.0.0x", 1);
    expect_reply("250 2.0.0.1 x\r\n", 15, 250, "", "250 2.0.0.1 x", 1);
    expect_reply("250 2.1000.0 x\r\n", 16, 250, "", "250 2.1000.0 x", 1);
    expect_reply("250 2.0.1000 x\r\n", 16, 250, "", "250 2.0.1000 x", 1);
    expect_reply("250 2.0\r\n", 9, 250, "", "250 2.0", 1);
    expect_reply("250 2.0.\r\n", 10, 250, "", "250 2.0.", 1);
    expect_reply("250 2..0 x\r\n", 12, 250, "", "250 2..0 x", 1);
    expect_reply("250 2,0,0 x\r\n", 13, 250, "", "250 2,0,0 x", 1);
    expect_reply("250 X.0.0 x\r\n", 13, 250, "", "250 X.0.0 x", 1);
    expect_reply("250  2.0.0 x\r\n", 14, 250, "", "250  2.0.0 x", 1);
    expect_reply("250 20.0.0 x\r\n", 14, 250, "", "250 20.0.0 x", 1);
}

static void test_reply_partial_and_pipelined(void **state)
{
    struct smtp_reply r;
    const char *two = "250 a\r\n251 b\r\n";

    /* partial line: nothing consumed */
    assert_int_equal(feed_all(&r, "250 OK", 6), 0);
    assert_int_equal(r.complete, 0);
    assert_int_equal(r.lines, 0);
    assert_int_equal(feed_all(&r, "250 OK\r", 7), 0);
    assert_int_equal(feed_all(&r, "", 0), 0);
    /* whole lines of an incomplete reply are consumed */
    assert_int_equal(feed_all(&r, "250-a\r\n250 b", 12), 7);
    assert_int_equal(r.complete, 0);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.lines, 1);
    assert_int_equal(smtp_reply_feed(&r, "250 b\r\n", 7), 7);
    assert_int_equal(r.complete, 1);
    assert_string_equal(r.text, "250 a / b");
    /* complete: further input is left alone until reset */
    assert_int_equal(smtp_reply_feed(&r, "250 c\r\n", 7), 0);
    assert_string_equal(r.text, "250 a / b");
    /* pipelined replies: one at a time */
    assert_int_equal(feed_all(&r, two, strlen(two)), 7);
    assert_int_equal(r.code, 250);
    smtp_reply_reset(&r);
    assert_int_equal(r.complete, 0);
    assert_int_equal(r.text_len, 0);
    assert_int_equal(smtp_reply_feed(&r, two + 7, 7), 7);
    assert_int_equal(r.code, 251);
    assert_string_equal(r.text, "251 b");
}

static void test_reply_malformed(void **state)
{
    expect_malformed("\r\n", 2);
    expect_malformed("\n", 1);
    expect_malformed("25\r\n", 4);
    expect_malformed("2a0 x\r\n", 7);
    expect_malformed("25a x\r\n", 7);
    expect_malformed("abc x\r\n", 7);
    expect_malformed("250x\r\n", 6);
    expect_malformed("250_x\r\n", 7);
    expect_malformed("250\tx\r\n", 7);
    expect_malformed("2500 x\r\n", 8);
    expect_malformed(" 250 x\r\n", 8);
    expect_malformed("150 x\r\n", 7);
    expect_malformed("650 x\r\n", 7);
    expect_malformed("050 x\r\n", 7);
    expect_malformed("250\r\r\n", 6);
    expect_malformed("250-a\r\n251 b\r\n", 14);
    expect_malformed("250-a\r\n350 b\r\n", 14);
    expect_malformed("250-a\r\nxyz\r\n", 12);
    expect_malformed("250-a\r\n\r\n", 9);
    expect_malformed("250-a\n2\n", 8);
    expect_malformed("250-a\r\n250x\r\n", 13);
}

static void test_reply_line_limit(void **state)
{
    char *buf = malloc(2100);
    struct smtp_reply r;

    assert_non_null(buf);
    /* 2048 octets of line (without the line end): fine, with CRLF or LF */
    memcpy(buf, "250 ", 4);
    memset(buf + 4, 'x', 2044);
    memcpy(buf + 2048, "\r\n", 2);
    assert_int_equal(feed_all(&r, buf, 2050), 2050);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.text_len, SMTP_REPLY_TEXT_MAX - 1);
    buf[2048] = '\n';
    assert_int_equal(feed_all(&r, buf, 2049), 2049);
    assert_int_equal(r.complete, 1);
    /* 2049: too long */
    buf[2048] = 'x';
    memcpy(buf + 2049, "\r\n", 2);
    expect_malformed(buf, 2051);
    buf[2049] = '\n';
    expect_malformed(buf, 2050);
    /* a partial line is refused as soon as it cannot end within the limit */
    assert_int_equal(feed_all(&r, buf, 2048), 0);
    expect_malformed(buf, 2049); /* 2049 octets, the last not CR */
    buf[2048] = '\r';
    assert_int_equal(feed_all(&r, buf, 2049), 0); /* could still be 2048 + CRLF */
    buf[2049] = 'y';
    expect_malformed(buf, 2050); /* 2050 octets without a line end */
    free(buf);
}

static void test_reply_line_count(void **state)
{
    char *buf = malloc(101 * 8 + 1);
    size_t n = 0;
    struct smtp_reply r;

    assert_non_null(buf);
    for (int i = 0; i < 99; i++)
        n += (size_t)sprintf(buf + n, "250-%02d\r\n", i);
    n += (size_t)sprintf(buf + n, "250 99\r\n");
    assert_int_equal(feed_all(&r, buf, n), (long)n);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.lines, 100);
    check_split_same(buf, n, 7);

    n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(buf + n, "250-%02d\r\n", i % 100);
    n += (size_t)sprintf(buf + n, "250 ZZ\r\n");
    expect_malformed(buf, n);
    /* 100 continuation lines are not yet an error */
    assert_int_equal(feed_all(&r, buf, n - 8), (long)(n - 8));
    assert_int_equal(r.lines, 100);
    assert_int_equal(r.complete, 0);
    check_split_same(buf, n, 8);
    free(buf);
}

static void test_reply_text_truncation(void **state)
{
    char *buf = malloc(4096);
    size_t n = 0;
    struct smtp_reply r;
    char want[SMTP_REPLY_TEXT_MAX];
    size_t w = 0;

    assert_non_null(buf);
    for (int i = 0; i < 99; i++)
        n += (size_t)sprintf(buf + n, "550-line %010d\r\n", i);
    n += (size_t)sprintf(buf + n, "550 end\r\n");
    assert_int_equal(feed_all(&r, buf, n), (long)n);
    assert_int_equal(r.complete, 1);
    assert_int_equal(r.code, 550);
    assert_int_equal(r.text_len, SMTP_REPLY_TEXT_MAX - 1);
    assert_int_equal(strlen(r.text), SMTP_REPLY_TEXT_MAX - 1);
    w = (size_t)snprintf(want, sizeof(want), "550 line 0000000000");
    for (int i = 1; i < 99 && w < sizeof(want) - 1; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, " / line %010d", i);
    assert_string_equal(r.text, want);

    /* exactly full: 1023 octets of text */
    memcpy(buf, "250 ", 4);
    memset(buf + 4, 'y', 1019);
    memcpy(buf + 1023, "\r\n", 2);
    assert_int_equal(feed_all(&r, buf, 1025), 1025);
    assert_int_equal(r.text_len, 1023);
    memcpy(buf + 1023, "y\r\n", 3);
    assert_int_equal(feed_all(&r, buf, 1026), 1026);
    assert_int_equal(r.text_len, 1023);
    free(buf);
}

static void test_reply_control_chars(void **state)
{
    static const char in[] = "250 a\tb\x01"
                             "c\0d\re\x7f\xc3\xa9\r\n";
    struct smtp_reply r;

    assert_int_equal(feed_all(&r, in, sizeof(in) - 1), (long)sizeof(in) - 1);
    assert_int_equal(r.complete, 1);
    assert_string_equal(r.text, "250 a b?c?d?e?\xc3\xa9");
}

static void test_reply_split_same(void **state)
{
    static const char *const cases[] = {
        "250 OK\r\n",
        "250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 100\r\n250 CHUNKING\r\n",
        "550-5.1.1 first\n550-second\r\n550 5.1.1 third\r\n250 next\r\n",
        "250-a\r\n251 b\r\n",
        "250-a\r\n250 b",
        "250",
        "garbage\r\n",
        "250\r\n",
        "",
    };
    char *big = malloc(3000);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_split_same(cases[i], strlen(cases[i]), 100 + i);
    assert_non_null(big);
    memcpy(big, "250-", 4);
    memset(big + 4, 'q', 2044);
    memcpy(big + 2048, "\r\n250 ", 6);
    memset(big + 2054, 'r', 40);
    memcpy(big + 2094, "\r\n", 2);
    check_split_same(big, 2096, 5); /* 2048 + CRLF, then a short line */
    big[2048] = 'q';
    check_split_same(big, 2096, 6); /* first line 2049 + LF: too long */
    big[2049] = 'q';
    check_split_same(big, 2096, 7); /* first line runs into the second */
    memset(big + 2096, 'q', 3000 - 2096);
    check_split_same(big + 2050, 3000 - 2050, 8); /* partial line too long */
    free(big);
}

/* ---- smtp_ehlo_parse ------------------------------------------------------------ */

static void ehlo(const char *raw, struct ehlo_caps *caps)
{
    size_t n = strlen(raw);
    char *c = exact(raw, n);

    caps->flags = 0xdeadu;
    caps->size_limit = 77;
    smtp_ehlo_parse(c, n, caps);
    free(c);
}

static void test_ehlo(void **state)
{
    struct ehlo_caps c;

    ehlo("250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE "
         "10240000\r\n250-8BITMIME\r\n250-STARTTLS\r\n"
         "250-DSN\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n250 "
         "CHUNKING\r\n",
         &c);
    assert_int_equal(c.flags, EHLO_PIPELINING | EHLO_SIZE | EHLO_8BITMIME | EHLO_STARTTLS |
                                  EHLO_DSN | EHLO_SMTPUTF8 | EHLO_ENHANCED | EHLO_CHUNKING |
                                  EHLO_AUTH_PLAIN | EHLO_AUTH_LOGIN);
    assert_true(c.size_limit == 10240000);

    /* AUTH mechanisms (RFC 4954), the old "AUTH=" form too; only PLAIN and LOGIN are ours */
    ehlo("250-x\r\n250 AUTH CRAM-MD5 login\r\n", &c);
    assert_int_equal(c.flags, EHLO_AUTH_LOGIN);
    ehlo("250-x\r\n250-AUTH=PLAIN\r\n250 AUTH SCRAM-SHA-256 XOAUTH2\r\n", &c);
    assert_int_equal(c.flags, EHLO_AUTH_PLAIN);
    ehlo("250-x\r\n250-AUTH\r\n250-AUTHX PLAIN\r\n250 SIZE=5\r\n", &c);
    assert_int_equal(c.flags, 0);
    ehlo("250-x\r\n250 AUTH PLAINX LOGINS\tPLAIN\r\n", &c);
    assert_int_equal(c.flags, EHLO_AUTH_PLAIN);

    ehlo("250-mx\n250-pipelining\n250-Size\n250 starttls", &c);
    assert_int_equal(c.flags, EHLO_PIPELINING | EHLO_SIZE | EHLO_STARTTLS);
    assert_true(c.size_limit == 0);

    /* the first line is the server's name */
    ehlo("250 PIPELINING\r\n", &c);
    assert_int_equal(c.flags, 0);
    assert_true(c.size_limit == 0);
    ehlo("250-SIZE 5\r\n250 DSN\r\n", &c);
    assert_int_equal(c.flags, EHLO_DSN);
    assert_true(c.size_limit == 0);

    /* SIZE parameter forms */
    ehlo("250-x\r\n250 SIZE abc\r\n", &c);
    assert_int_equal(c.flags, EHLO_SIZE);
    assert_true(c.size_limit == 0);
    ehlo("250-x\r\n250 SIZE 12x\r\n", &c);
    assert_int_equal(c.flags, EHLO_SIZE);
    assert_true(c.size_limit == 0);
    ehlo("250-x\r\n250 SIZE\t5 extra\r\n", &c);
    assert_true(c.size_limit == 5);
    ehlo("250-x\r\n250 SIZE 18446744073709551615\r\n", &c);
    assert_true(c.size_limit == UINT64_MAX);
    ehlo("250-x\r\n250 SIZE 18446744073709551616\r\n", &c);
    assert_true(c.size_limit == UINT64_MAX);
    ehlo("250-x\r\n250 SIZE 99999999999999999999999999\r\n", &c);
    assert_true(c.size_limit == UINT64_MAX);
    ehlo("250-x\r\n250-SIZE 1\r\n250 SIZE 2\r\n", &c);
    assert_true(c.size_limit == 2);
    ehlo("250-x\r\n250 SIZE 0\r\n", &c);
    assert_int_equal(c.flags, EHLO_SIZE);
    assert_true(c.size_limit == 0);

    /* whole keywords only; other lines ignored (AUTH=LOGIN is AUTH's old form) */
    ehlo("250-x\r\n250-SIZEX "
         "5\r\n250-DSNX\r\n250-X-PIPELINING\r\n250-AUTH=LOGIN\r\n250-STARTTLSx\r\n"
         "250-8BITMIM\r\n250\r\nPIPELINING\r\n25-DSN\r\n250_DSN\r\n\r\n250 AUTH DSN\r\n",
         &c);
    assert_int_equal(c.flags, EHLO_AUTH_LOGIN);
    assert_true(c.size_limit == 0);
    ehlo("250-x\r\n250-  DSN\r\n250 CHUNKING   \r\n", &c);
    assert_int_equal(c.flags, EHLO_DSN | EHLO_CHUNKING);

    /* nothing */
    ehlo("", &c);
    assert_int_equal(c.flags, 0);
    assert_true(c.size_limit == 0);
    c.flags = 5;
    smtp_ehlo_parse(NULL, 0, &c);
    assert_int_equal(c.flags, 0);
}

/* ---- smtp_dot_stuff -------------------------------------------------------- */

static void stuff(const char *in, int bol_in, const char *want, int bol_want)
{
    size_t n = strlen(in);
    char *c = exact(in, n);
    uint8_t *out = malloc(2 * n + 3);
    struct smtp_stuff st = {.col = bol_in ? 0 : 1};
    size_t o;

    assert_non_null(out);
    o = smtp_dot_stuff((const uint8_t *)c, n, out, &st);
    assert_int_equal(o, strlen(want));
    assert_memory_equal(out, want, o);
    assert_int_equal(st.col == 0, bol_want);
    free(c);
    free(out);
}

/* The longest line in out[0..n), not counting its CR LF. */
static size_t longest_line(const uint8_t *out, size_t n)
{
    size_t best = 0, cur = 0;

    for (size_t i = 0; i < n; i++) {
        if (out[i] == '\n') {
            cur = 0;
        } else if (out[i] != '\r' || i + 1 >= n || out[i + 1] != '\n') {
            if (++cur > best)
                best = cur;
        }
    }
    return best;
}

/* in stuffed in one go into one, and in random pieces of at most maxk octets into two: the
 * same octets and the same state.  Returns the length. */
static size_t stuff_split(const uint8_t *in, size_t n, uint64_t *seed, size_t maxk, uint8_t *one,
                          uint8_t *two)
{
    struct smtp_stuff b1 = {0}, b2 = {0};
    size_t o1 = smtp_dot_stuff(in, n, one, &b1), o2 = 0, off = 0;

    assert_true(o1 <= 2 * n + 3);
    while (off < n) {
        size_t k = 1 + rng_next(seed) % maxk;

        if (k > n - off)
            k = n - off;
        o2 += smtp_dot_stuff(in + off, k, two + o2, &b2);
        off += k;
    }
    assert_int_equal(o1, o2);
    assert_memory_equal(one, two, o1);
    assert_int_equal(b1.col, b2.col);
    assert_int_equal(b1.folds, b2.folds);
    return o1;
}

static void test_dot_stuff_folds(void **state)
{
    uint8_t in[3200], out[7000], two[7000];
    struct smtp_stuff st = {0};
    size_t o;

    (void)state;
    memset(in, 'a', sizeof(in));
    /* 998 octets and CR LF: as they are */
    memcpy(in + 998, "\r\n", 2);
    o = smtp_dot_stuff(in, 1000, out, &st);
    assert_int_equal(o, 1000);
    assert_int_equal(st.folds, 0);
    assert_int_equal(st.col, 0);
    /* 999: broken after 998 by CR LF SPACE */
    memset(in, 'a', sizeof(in));
    memcpy(in + 999, "\r\n", 2);
    o = smtp_dot_stuff(in, 1001, out, &st);
    assert_int_equal(o, 1004);
    assert_memory_equal(out + 998, "\r\n a\r\n", 6);
    assert_int_equal(st.folds, 1);
    /* 2 500 octets: 998 + 997 + 505, two breaks; no line over 998 */
    memset(in, 'a', sizeof(in));
    memcpy(in + 2500, "\r\n", 2);
    st = (struct smtp_stuff){0};
    o = smtp_dot_stuff(in, 2502, out, &st);
    assert_int_equal(st.folds, 2);
    assert_int_equal(o, 2502 + 6);
    assert_int_equal(longest_line(out, o), 998);
    /* a leading dot is doubled and not counted; the CR at 998 is not parted from its LF */
    memset(in, 'a', sizeof(in));
    in[0] = '.';
    memcpy(in + 998, "\r\n", 2);
    st = (struct smtp_stuff){0};
    o = smtp_dot_stuff(in, 999, out, &st); /* ends on the CR */
    o += smtp_dot_stuff(in + 999, 1, out + o, &st);
    assert_int_equal(o, 1001);
    assert_int_equal(st.folds, 0);
    /* split anywhere = in one go, long lines and all */
    {
        uint64_t seed = 7;

        for (int round = 0; round < 100; round++) {
            size_t n = rng_next(&seed) % sizeof(in);

            for (size_t i = 0; i < n; i++) {
                uint64_t r = rng_next(&seed) % 1000;
                in[i] = r == 0 ? '\n' : r == 1 ? '\r' : r < 4 ? '.' : 'x';
            }
            o = stuff_split(in, n, &seed, 700, out, two);
            assert_true(longest_line(out, o) <= SMTP_TEXT_LINE_MAX + 1); /* a doubled dot */
        }
    }
}

static void test_dot_stuff(void **state)
{
    stuff(".a\r\n.b\r\nc.d\r\n..\r\n", 1, "..a\r\n..b\r\nc.d\r\n...\r\n", 1);
    stuff(".a", 0, ".a", 0);
    stuff("...", 1, "....", 0);
    stuff("\n\n..", 1, "\n\n...", 0);
    stuff("a\n.b", 1, "a\n..b", 0); /* bare LF starts a line */
    stuff("a\r.b", 1, "a\r.b", 0);  /* bare CR does not */
    stuff("a\r\n", 0, "a\r\n", 1);
    stuff("\n", 0, "\n", 1);
    stuff(".", 1, "..", 0);
    stuff("", 1, "", 1);
    stuff("", 0, "", 0);
    stuff("\r\n.\r\n", 1, "\r\n..\r\n", 1);

    /* the state carries across calls */
    {
        uint8_t out[16];
        struct smtp_stuff st = {0};
        size_t o = smtp_dot_stuff((const uint8_t *)"a\r", 2, out, &st);

        assert_int_equal(o, 2);
        assert_int_equal(st.col, 2);
        o = smtp_dot_stuff((const uint8_t *)"\n", 1, out, &st);
        assert_int_equal(st.col, 0);
        o = smtp_dot_stuff((const uint8_t *)".x", 2, out, &st);
        assert_int_equal(o, 3);
        assert_memory_equal(out, "..x", 3);
        o = smtp_dot_stuff((const uint8_t *)".", 1, out, &st);
        assert_int_equal(o, 1);
        assert_memory_equal(out, ".", 1);
    }

    /* split anywhere = in one go; worst case fills exactly 2*len */
    {
        uint64_t seed = 42;
        uint8_t in[600], one[1200], two[1200];

        for (int round = 0; round < 200; round++) {
            size_t n = rng_next(&seed) % sizeof(in);

            for (size_t i = 0; i < n; i++)
                in[i] = "..\n\r.a"[rng_next(&seed) % 6];
            assert_true(stuff_split(in, n, &seed, 9, one, two) <= 2 * n);
        }
    }
}

/* ---- smtp_xtext_encode ----------------------------------------------------- */

static void test_xtext(void **state)
{
    char out[64];

    assert_int_equal(smtp_xtext_encode("abc", out, sizeof(out)), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(smtp_xtext_encode("a+b=c", out, sizeof(out)), 0);
    assert_string_equal(out, "a+2Bb+3Dc");
    assert_int_equal(smtp_xtext_encode("rfc822;user+tag@example.com", out, sizeof(out)), 0);
    assert_string_equal(out, "rfc822;user+2Btag@example.com");
    assert_int_equal(smtp_xtext_encode(" !~\x7f\x01\xff\xc3\xa9", out, sizeof(out)), 0);
    assert_string_equal(out, "+20!~+7F+01+FF+C3+A9");
    assert_int_equal(smtp_xtext_encode("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(smtp_xtext_encode(NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    /* boundaries: the NUL must fit too; on failure out is "" */
    assert_int_equal(smtp_xtext_encode("abc", out, 4), 0);
    assert_string_equal(out, "abc");
    memcpy(out, "zzzz", 5);
    assert_int_equal(smtp_xtext_encode("abc", out, 3), -1);
    assert_string_equal(out, "");
    assert_int_equal(smtp_xtext_encode("+", out, 4), 0);
    assert_string_equal(out, "+2B");
    assert_int_equal(smtp_xtext_encode("+", out, 3), -1);
    assert_string_equal(out, "");
    assert_int_equal(smtp_xtext_encode("a+", out, 4), -1);
    assert_int_equal(smtp_xtext_encode("a+", out, 5), 0);
    assert_string_equal(out, "a+2B");
    assert_int_equal(smtp_xtext_encode("", out, 1), 0);
    assert_string_equal(out, "");
    out[0] = 'Q';
    assert_int_equal(smtp_xtext_encode("", out, 0), -1);
    assert_int_equal(out[0], 'Q');
    assert_int_equal(smtp_xtext_encode("a", NULL, 10), -1);

    /* every octet */
    {
        char in[256], big[256 * 3 + 1];

        for (int i = 1; i < 256; i++)
            in[i - 1] = (char)i;
        in[255] = '\0';
        assert_int_equal(smtp_xtext_encode(in, big, sizeof(big)), 0);
        for (size_t i = 0, j = 0; i < 255; i++) {
            unsigned char c = (unsigned char)in[i];

            if (c >= 33 && c <= 126 && c != '+' && c != '=') {
                assert_int_equal(big[j], (char)c);
                j++;
            } else {
                char hx[4];

                snprintf(hx, sizeof(hx), "+%02X", c);
                assert_memory_equal(big + j, hx, 3);
                j += 3;
            }
        }
    }
}

/* ---- fuzz ------------------------------------------------------------------ */

static size_t xtext_decode(const char *s, char *out)
{
    size_t o = 0;

    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '+') {
            unsigned v;

            assert_int_equal(sscanf(s + i + 1, "%2X", &v), 1);
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

static void test_fuzz(void **state)
{
    static const char *const atoms[] = {"250",     "250-",       "250 ",  "550 5.1.1 ", "\r\n",
                                        "\n",      "\r",         "4.7.1", ".",          "x",
                                        "SIZE 99", "PIPELINING", " ",     "-",          "\0"};
    uint64_t seed = 0xfeedbeef42ull;
    char buf[512];

    for (int it = 0; it < 100000; it++) {
        size_t n = 0, want = rng_next(&seed) % sizeof(buf);
        int mode = (int)(rng_next(&seed) % 2);
        struct smtp_reply r;
        long got;

        while (n < want) {
            if (mode == 0) {
                buf[n++] = (char)(rng_next(&seed) & 0xff);
            } else {
                size_t a = rng_next(&seed) % (sizeof(atoms) / sizeof(atoms[0]));
                size_t al = a == sizeof(atoms) / sizeof(atoms[0]) - 1 ? 1 : strlen(atoms[a]);

                if (al > want - n)
                    break;
                memcpy(buf + n, atoms[a], al);
                n += al;
            }
        }
        got = feed_all(&r, buf, n);
        if (got > 0)
            assert_true(buf[got - 1] == '\n'); /* whole lines only */
        if (it % 64 == 0)
            check_split_same(buf, n, (uint64_t)it);

        {
            struct ehlo_caps caps;
            char *c = exact(buf, n);

            smtp_ehlo_parse(c, n, &caps);
            assert_true((caps.flags & ~0xffu) == 0);
            if (!(caps.flags & EHLO_SIZE))
                assert_true(caps.size_limit == 0);
            free(c);
        }
        {
            uint8_t *out = malloc(2 * n + 3);
            char *c = exact(buf, n);
            struct smtp_stuff st = {.col = it & 1 ? 0 : 1};
            size_t o;

            assert_non_null(out);
            o = smtp_dot_stuff((const uint8_t *)c, n, out, &st);
            assert_true(o >= n && o <= 2 * n + 3);
            assert_true(st.col <= n + 1);
            free(out);
            free(c);
        }
        {
            size_t sl = n < 100 ? n : 100, outsz = rng_next(&seed) % 320;
            char s[101], *out = malloc(outsz ? outsz : 1), dec[101];
            int xr;

            assert_non_null(out);
            memcpy(s, buf, sl);
            s[sl] = '\0';
            xr = smtp_xtext_encode(s, outsz ? out : NULL, outsz);
            if (outsz == 0) {
                assert_int_equal(xr, -1);
            } else {
                assert_non_null(memchr(out, '\0', outsz));
                if (xr == 0) {
                    size_t dl = xtext_decode(out, dec);

                    assert_int_equal(dl, strlen(s));
                    assert_memory_equal(dec, s, dl);
                } else {
                    assert_int_equal(xr, -1);
                    assert_string_equal(out, "");
                }
            }
            free(out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_single_line),
        cmocka_unit_test(test_reply_multi_line),
        cmocka_unit_test(test_reply_enhanced),
        cmocka_unit_test(test_reply_partial_and_pipelined),
        cmocka_unit_test(test_reply_malformed),
        cmocka_unit_test(test_reply_line_limit),
        cmocka_unit_test(test_reply_line_count),
        cmocka_unit_test(test_reply_text_truncation),
        cmocka_unit_test(test_reply_control_chars),
        cmocka_unit_test(test_reply_split_same),
        cmocka_unit_test(test_ehlo),
        cmocka_unit_test(test_dot_stuff),
        cmocka_unit_test(test_dot_stuff_folds),
        cmocka_unit_test(test_xtext),
        cmocka_unit_test(test_fuzz),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
