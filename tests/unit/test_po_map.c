/* test_po_map.c - unit tests of what the postoffice's control lines carry for real senders: header fields mapped (po_map.c), quoted, literal and UTF-8 addresses (RFC 6533) in P1 files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "po_format.h"
#include "smtp_char.h"

#define S(lit) (lit), (sizeof(lit) - 1) /* a literal and its length */

/* ---- header fields ------------------------------------------------------ */

static void header_is(const char *msg, const char *name, long want_len, const char *want)
{
    char out[128];
    long n = po_map_header((const uint8_t *)msg, strlen(msg), name, out, sizeof(out));

    if (n != want_len || strcmp(out, want) != 0)
        fail_msg("%s in \"%s\": got %ld \"%s\", want %ld \"%s\"", name, msg, n, out, want_len,
                 want);
}

static void test_header(void **state)
{
    (void)state;
    header_is("Subject: hello\r\n\r\nbody", "Subject", 5, "hello");
    header_is("subject:hello  \r\n\r\n", "Subject", 5, "hello");
    header_is("Subject : obsolete\r\n\r\n", "Subject", 8, "obsolete");
    header_is("From: a\r\nSubject: one\r\n two\r\n\tthree\r\nTo: b\r\n\r\n", "Subject", 13,
              "one two\tthree");
    header_is("Subject: one\n two\n\nbody", "Subject", 7, "one two");
    header_is("Message-ID:\r\n <folded@x>\r\n\r\n", "Message-ID", 10, "<folded@x>");
    header_is("From: a\r\n\r\nSubject: in the body\r\n", "Subject", -1, "");
    header_is("Subjects: no\r\n\r\n", "Subject", -1, "");
    header_is("Subject: first\r\nSubject: second\r\n\r\n", "Subject", 5, "first");
    header_is("Subject:\r\n\r\n", "Subject", 0, "");
    header_is("Subject: caf\xc3\xa9\r\n\r\n", "Subject", 5, "caf\xc3\xa9");
    header_is("X: y\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200", "Date", 30,
              "Tue, 1 Jul 2003 10:52:37 +0200"); /* no end of the header section */
    {
        char out[8];
        long n = po_map_header((const uint8_t *)S("Subject: a long value\r\n\r\n"), "Subject", out,
                               sizeof(out));
        assert_int_equal(n, 6); /* cut, then trimmed */
        assert_string_equal(out, "a long");
    }
}

/* ---- Message-Id --------------------------------------------------------- */

static void msgid_is(const char *v, int want_rc, const char *want)
{
    char out[PO_MSGID_MAX + 1];
    int rc = po_map_msgid(v, strlen(v), out);

    if (rc != want_rc || strcmp(out, want) != 0)
        fail_msg("\"%s\": got %d \"%s\", want %d \"%s\"", v, rc, out, want_rc, want);
}

static void test_msgid(void **state)
{
    char long_id[300];

    (void)state;
    msgid_is("<a1@example.org>", 0, "<a1@example.org>");
    msgid_is("<a1@example.org> (sent by hand)", 0, "<a1@example.org>");
    msgid_is("<\"quoted\"@example.org>", 0, "<\"quoted\"@example.org>");
    msgid_is("<@x>", -1, "");
    msgid_is("<x@>", -1, "");
    msgid_is("<x>", -1, "");
    msgid_is("<a b@x>", -1, "");
    msgid_is("<caf\xc3\xa9@x>", -1, "");
    msgid_is("<a@x", -1, "");
    msgid_is("", -1, "");
    msgid_is("<a<b@x>", -1, "");
    memset(long_id, 'a', sizeof(long_id));
    long_id[0] = '<';
    memcpy(long_id + 250, "@x>", 4); /* 253 octets */
    msgid_is(long_id, -1, "");
    memcpy(long_id + 246, "@x>", 4); /* 249 octets: fits */
    msgid_is(long_id, 0, long_id);
}

/* ---- Date --------------------------------------------------------------- */

static void date_is(const char *v, int want_rc, const char *want)
{
    char out[PO_DATE_MAX + 1];
    int rc = po_map_date(v, strlen(v), out);

    if (rc != want_rc || strcmp(out, want) != 0)
        fail_msg("\"%s\": got %d \"%s\", want %d \"%s\"", v, rc, out, want_rc, want);
}

static void test_date(void **state)
{
    char long_date[200];

    (void)state;
    date_is("Tue, 1 Jul 2003 10:52:37 +0200", 0, "Tue, 1 Jul 2003 10:52:37 +0200");
    date_is("Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", 0, "Tue, 1 Jul 2003 10:52:37 +0200");
    date_is("1 Jul 2003 10:52 -0000", 0, "1 Jul 2003 10:52 -0000");
    date_is("Tue,01 jul 03 10:52:37 GMT", 0, "Tue,01 jul 03 10:52:37 GMT");
    date_is("Tue, 1 Jul 2003 10:52:37 EDT", 0, "Tue, 1 Jul 2003 10:52:37 EDT");
    date_is("Tue, 1 Jul 2003 10:52:37 Z", 0, "Tue, 1 Jul 2003 10:52:37 Z");
    date_is("Tue, 1 Jul 2003 10:52:60 +0000", 0, "Tue, 1 Jul 2003 10:52:60 +0000");
    date_is("", -1, "");
    date_is("yesterday", -1, "");
    date_is("2024-01-01 10:00:00", -1, "");                 /* digits, but no RFC 5322 date */
    date_is("Tue, 1 Jul 2003 10:52:37", -1, "");            /* no zone */
    date_is("Tue, 32 Jul 2003 10:52:37 +0200", -1, "");     /* day */
    date_is("Tue, 1 Jux 2003 10:52:37 +0200", -1, "");      /* month */
    date_is("Tue, 1 Jul 2003 24:52:37 +0200", -1, "");      /* hour */
    date_is("Tue, 1 Jul 2003 10:52:37 +02", -1, "");        /* zone */
    date_is("Tue, 1 Jul 2003 10:52:37 J", -1, "");          /* no military J */
    date_is("Tue, 1 Jul 2003 10:52:37 +0200 junk", -1, ""); /* not a comment */
    date_is("Tue, 1 Jul 2003 10:52:37 +0200 (open", -1, "");
    date_is("Tue 1 Jul 2003 10:52:37 +0200", -1, ""); /* day name without the comma */
    date_is("Tue, 1 Jul 2003 10:52:37 +0200 (M\xc3\xbcnchen)", 0,
            "Tue, 1 Jul 2003 10:52:37 +0200"); /* the comment, 8-bit, left out */
    date_is("Tue, 1 Jul 2003 10:52:37 +0200\x01", -1, "");
    snprintf(long_date, sizeof(long_date), "1 Jul %0150d 10:52 +0000", 2003);
    date_is(long_date, -1, ""); /* a year of 150 digits */
}

/* ---- Subject ------------------------------------------------------------ */

/* Decode base64 s[0..n) into out; the length. */
static size_t unbase64(const char *s, size_t n, char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t w = 0;
    size_t k = 0;
    int bits = 0;

    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(b64, s[i]);

        assert_non_null(p);
        w = (w << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)((w >> bits) & 0xFF);
        }
    }
    return k;
}

/* A mapped subject as a reader of RFC 2047 sees it: encoded-words decoded, the blanks between
 * two of them dropped.  Also checks that each encoded-word is at most 75 characters. */
static void subject_decode(const char *s, char *out, size_t outsz)
{
    size_t k = 0, i = 0, n = strlen(s), word_end = 0;
    int after_word = 0;

    while (i < n) {
        if (strncmp(s + i, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(s + i + 10, "?=");

            assert_non_null(end);
            assert_true((size_t)(end + 2 - (s + i)) <= 75);
            if (after_word)
                k = word_end; /* the blanks between two encoded-words */
            k += unbase64(s + i + 10, (size_t)(end - (s + i + 10)), out + k);
            word_end = k;
            i = (size_t)(end + 2 - s);
            after_word = 1;
            continue;
        }
        if (s[i] != ' ')
            after_word = 0;
        out[k++] = s[i++];
        assert_true(k < outsz);
    }
    out[k] = '\0';
}

static void subject_is(const char *v, size_t n, const char *want)
{
    char out[PO_SUBJECT_MAX + 1];
    size_t k = po_map_subject(v, n, out, sizeof(out));

    if (k != strlen(want) || strcmp(out, want) != 0)
        fail_msg("\"%s\": got \"%s\", want \"%s\"", v, out, want);
}

static void test_subject(void **state)
{
    char v[1200], out[PO_SUBJECT_MAX + 1], back[4 * PO_SUBJECT_MAX];
    size_t k;

    (void)state;
    subject_is(S("plain ASCII, =?utf-8?q?already?= encoded"),
               "plain ASCII, =?utf-8?q?already?= encoded");
    subject_is(S("Gr\xc3\xbc\xc3\x9f"
                 "e aus K\xc3\xb6ln"),
               "=?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=");
    subject_is(S("caf\xc3\xa9 cr\xc3\xa8me"), "=?UTF-8?B?Y2Fmw6kgY3LDqG1l?=");
    subject_is(S("a\x01"
                 "b\x1b[31m\x7f"
                 "c\td"),
               "ab[31mc\td");                                      /* controls dropped, TAB kept */
    subject_is(S("bad \xff octet"), "bad =?UTF-8?B?77+9?= octet"); /* U+FFFD */
    subject_is(S("Latin-1 Gr\xfc\xdf"
                 "e"),
               "Latin-1 =?UTF-8?B?R3Lvv73vv71l?=");
    subject_is(S("C1 \xc2\x85"
                 "control"),
               "C1 control");
    subject_is(S(""), "");
    subject_is(S("\xc3\xa9"), "=?UTF-8?B?w6k=?=");

    /* Long UTF-8: bounded, words of at most 75 characters, no character split. */
    for (size_t i = 0; i + 2 <= 1100; i += 2)
        memcpy(v + i, "\xc3\xa4", 2);
    k = po_map_subject(v, 1100, out, sizeof(out));
    assert_true(k <= PO_SUBJECT_MAX);
    assert_true(k > PO_SUBJECT_MAX - 80);
    for (size_t i = 0; i < k; i++)
        assert_true((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f);
    subject_decode(out, back, sizeof(back));
    assert_true(smtp_utf8_valid(back, strlen(back)));
    assert_int_equal(strlen(back) % 2, 0);
    assert_memory_equal(back, v, strlen(back));

    /* A small field: cut before an encoded-word that does not fit whole. */
    k = po_map_subject(S("ok \xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"), out, 20);
    assert_string_equal(out, "ok =?UTF-8?B?w6Q=?=");
    assert_int_equal(k, 19);
    k = po_map_subject(S("ok \xc3\xa4"), out, 10);
    assert_string_equal(out, "ok");

    /* Long ASCII: cut at the field's size. */
    memset(v, 'x', 1100);
    k = po_map_subject(v, 1100, out, sizeof(out));
    assert_int_equal(k, PO_SUBJECT_MAX);

    /* Mixed, long: every output word is US-ASCII and the text reads back as a prefix. */
    for (size_t i = 0; i + 9 <= 1100; i += 9)
        memcpy(v + i,
               "ab \xe2\x82\xac"
               "cd ",
               9);
    k = po_map_subject(v, 1098, out, sizeof(out));
    assert_true(k <= PO_SUBJECT_MAX && k > PO_SUBJECT_MAX - 30);
    assert_non_null(strstr(out, " ab =?UTF-8?B?4oKsY2Q=?= ab "));
    subject_decode(out, back, sizeof(back));
    assert_memory_equal(back, v, strlen(back));
    /* one run of 8-bit words, 8 octets a word: one run of encoded-words */
    for (size_t i = 0; i + 8 <= 1100; i += 8)
        memcpy(v + i,
               "ab \xe2\x82\xac"
               "cd",
               8);
    k = po_map_subject(v, 1096, out, sizeof(out));
    assert_true(k <= PO_SUBJECT_MAX);
    subject_decode(out, back, sizeof(back));
    assert_memory_equal(back, v, strlen(back));
}

/* ---- UTF-8 addresses: RFC 6533 ----------------------------------------- */

static void encodes(const char *addr, const char *want)
{
    char out[512], back[512];
    int n = po_utf8_addr_encode(addr, out, sizeof(out));

    if (n < 0 || strcmp(out, want) != 0)
        fail_msg("\"%s\": got %d \"%s\", want \"%s\"", addr, n, out, want);
    assert_int_equal(po_utf8_addr_decode(out, (size_t)n, back, sizeof(back)), (long)strlen(addr));
    assert_string_equal(back, addr);
}

static void test_utf8_addr(void **state)
{
    static const char *const not_canonical[] = {
        "j\\x{f6}rg@x", "j\\x{0F6}rg@x", "j\\x{00F6}rg@x", "\\x{41}@x",
        "\\x{D800}@x",  "\\x{110000}@x", "\\x{}@x",        "\\x{F6@x",
        "\\xF6@x",      "a+b@x",         "a=b@x",          "a b@x",
        "a\\b@x",       "\\x{0A}@x",     "\\x{7F}@x",      "",
        "\\x{1F600",    "caf\xc3\xa9@x"};
    char out[64];

    (void)state;
    encodes("j\xc3\xb6rg@example.org", "j\\x{F6}rg@example.org");
    encodes("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
            "\\x{7528}\\x{6237}@\\x{4F8B}\\x{5B50}.\\x{5E7F}\\x{544A}");
    encodes("a+b=\xc3\xb6@x", "a\\x{2B}b\\x{3D}\\x{F6}@x");
    encodes("\xf0\x9f\x98\x80@x", "\\x{1F600}@x");
    encodes("\"j \\\"\xc3\xb6\"@x", "\"j\\x{20}\\x{5C}\"\\x{F6}\"@x");
    for (size_t i = 0; i < sizeof(not_canonical) / sizeof(not_canonical[0]); i++)
        if (po_utf8_addr_decode(not_canonical[i], strlen(not_canonical[i]), out, sizeof(out)) != -1)
            fail_msg("\"%s\" decoded to \"%s\"", not_canonical[i], out);
    assert_int_equal(po_utf8_addr_encode("caf\xc3@x", out, sizeof(out)), -1); /* ill-formed */
    assert_string_equal(out, "");
    assert_int_equal(po_utf8_addr_encode("a\r\nb@x", out, sizeof(out)), -1);
    assert_int_equal(po_utf8_addr_encode("\xc3\xb6\xc3\xb6@x", out, 10), -1); /* does not fit */
}

/* ---- senders in transfer files ----------------------------------------- */

/* Write a transfer file with sender from, check its From: line, parse it back. */
static void sender_carried(const char *from, const char *want_line)
{
    struct po_p1_addr to = {PO_P1_MS, "MS:CORPNET/HQPO/JSMITH", {"", "", ""}};
    struct po_p1 in = {
        "<id@host>", {PO_P1_SMTP, "", {"", "", ""}}, &to, 1, "1 Jan 2024 00:00 +0000", "s", 0, 0};
    struct sg_buf buf;
    struct po_p1 back;
    struct po_err e = {""};
    char *line;

    snprintf(in.from.text, sizeof(in.from.text), "%s", from);
    sg_buf_init(&buf);
    assert_int_equal(po_p1_addr_check(&in.from, &e), 0);
    if (po_p1_format(&in, (const uint8_t *)"x", 1, &buf, &e) != 0)
        fail_msg("sender \"%s\": %s", from, e.text);
    assert_int_equal(sg_buf_append(&buf, "", 1), 0);
    line = strstr((char *)buf.data, "\r\nFrom: ");
    assert_non_null(line);
    if (strncmp(line + 8, want_line, strlen(want_line)) != 0 ||
        strncmp(line + 8 + strlen(want_line), "\r\n", 2) != 0)
        fail_msg("sender \"%s\": written as %.400s", from, line + 8);
    if (po_p1_parse(buf.data, buf.len - 1, &back, &e) != 0)
        fail_msg("sender \"%s\": does not parse back: %s", from, e.text);
    assert_int_equal(back.from.kind, PO_P1_SMTP);
    assert_string_equal(back.from.text, from);
    po_p1_free(&back);
    sg_buf_free(&buf);
}

static void sender_refused(const char *from, const char *why)
{
    struct po_p1_addr a = {PO_P1_SMTP, "", {"", "", ""}};
    struct po_err e = {""};

    snprintf(a.text, sizeof(a.text), "%s", from);
    if (po_p1_addr_check(&a, &e) != -1 || !strstr(e.text, why))
        fail_msg("sender \"%s\": \"%s\", want a refusal with \"%s\"", from, e.text, why);
}

static void test_senders(void **state)
{
    char longer[400], line[410];

    (void)state;
    sender_carried("alice@example.org", "SMTP:alice@example.org");
    sender_carried("\"john smith\"@example.org", "SMTP:\"john smith\"@example.org");
    sender_carried("\"a\\\"b\"@x", "SMTP:\"a\\\"b\"@x");
    sender_carried("\"a@b\"@example.org", "SMTP:\"a@b\"@example.org");
    sender_carried("user@[192.0.2.1]", "SMTP:user@[192.0.2.1]");
    sender_carried("user@[IPv6:2001:db8::1]", "SMTP:user@[IPv6:2001:db8::1]");
    sender_carried("bounce-x@-odd-.example", "SMTP:bounce-x@-odd-.example");
    sender_carried("j\xc3\xb6rg@example.org", "SMTP:j\\x{F6}rg@example.org");
    sender_carried("user+tag@b\xc3\xbc"
                   "cher.example",
                   "SMTP:user\\x{2B}tag@b\\x{FC}cher.example");
    sender_carried("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
                   "SMTP:\\x{7528}\\x{6237}@\\x{4F8B}\\x{5B50}.\\x{5E7F}\\x{544A}");
    sender_carried("\"\\x{41}\"@x", "SMTP:\"\\x{41}\"@x"); /* US-ASCII: as it stands */
    /* 64 + 1 + 255 octets, the longest SMTP address */
    memset(longer, 'a', 64);
    longer[64] = '@';
    for (size_t i = 65; i < 320; i++)
        longer[i] = (i - 65) % 50 == 49 ? '.' : 'b';
    longer[320] = '\0';
    snprintf(line, sizeof(line), "SMTP:%s", longer);
    sender_carried(longer, line);

    sender_refused("\"j\xc3\xb6rg\"@example.org", "quoted local part");
    sender_refused("a@b\r\nTo: MS:CORPNET/HQPO/BOSS", "CR or LF");
    sender_refused("\"a\x01\"@x", "bad quoted local part");
    sender_refused("caf\xc3@x", "not valid UTF-8");
    sender_refused("", "empty SMTP address");
    sender_refused("user@[300.1.1.1]", "bad address literal");
    /* A UTF-8 address of 316 octets whose RFC 6533 form is 1 096 characters: U+0101 is two
     * octets, "\x{101}" seven. */
    {
        size_t k = 0;

        for (int i = 0; i < 32; i++, k += 2)
            memcpy(longer + k, "\xc4\x81", 2);
        longer[k++] = '@';
        for (int label = 0; label < 4; label++) {
            if (label)
                longer[k++] = '.';
            for (int i = 0; i < 31; i++, k += 2)
                memcpy(longer + k, "\xc4\x81", 2);
        }
        longer[k] = '\0';
        assert_int_equal(k, 316);
        sender_refused(longer, "longer than a control line");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),    cmocka_unit_test(test_msgid),
        cmocka_unit_test(test_date),      cmocka_unit_test(test_subject),
        cmocka_unit_test(test_utf8_addr), cmocka_unit_test(test_senders),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
