/* test_sendmail_headers.c - unit tests of spoolgate-sendmail's pure pieces: the header block, -t's To/Cc/Bcc with continuation lines and groups, comma lists, qualification, the pickup file parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pickup_file.h"
#include "sendmail_headers.h"

/* The addresses of list, joined with '|'. */
static char *joined(struct smh_addrs *a)
{
    static char buf[1024];
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < a->n; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "|" : "", a->v[i]);
    smh_addrs_free(a);
    return buf;
}

static char *list(const char *text)
{
    struct smh_addrs a = {0};

    assert_int_equal(smh_parse_list(text, strlen(text), &a), 0);
    return joined(&a);
}

static void test_address_lists(void **state)
{
    (void)state;
    assert_string_equal(list("root"), "root");
    assert_string_equal(list("a@x.test, b@y.test,c@z.test"), "a@x.test|b@y.test|c@z.test");
    assert_string_equal(list("John Smith <js@x.test>, \"Doe, Jane\" <jd@x.test>"),
                        "js@x.test|jd@x.test");
    assert_string_equal(list("js@x.test (John, the boss), b@y.test"), "js@x.test|b@y.test");
    assert_string_equal(list("team: a@x.test, B <b@x.test>; c@x.test"),
                        "a@x.test|b@x.test|c@x.test");
    assert_string_equal(list("undisclosed-recipients:;"), "");
    assert_string_equal(list("<@relay.test:user@x.test>"), "user@x.test");
    assert_string_equal(list("\"odd, local\"@x.test"), "\"odd, local\"@x.test");
    assert_string_equal(list(" , ,, "), "");
    assert_string_equal(list("a (nested (comment) here) @ x.test"), "a@x.test");
}

static const char MSG[] = "From: a@x.test\r\n"
                          "To: one@x.test,\r\n"
                          "  Two <two@x.test>\r\n"
                          "Subject: hi\r\n"
                          "Bcc: hidden@x.test,\r\n"
                          "\tgroup: g1@x.test, g2@x.test;\r\n"
                          "cc: three@x.test\r\n"
                          "\r\n"
                          "To: not-a-header@x.test\r\n";

static void test_header_block(void **state)
{
    size_t body, end = smh_header_end(MSG, strlen(MSG), &body);

    (void)state;
    assert_int_equal(end, strstr(MSG, "\r\n\r\n") - MSG + 2);
    assert_int_equal(body, end + 2);
    assert_true(smh_has_field(MSG, end, "from"));
    assert_true(smh_has_field(MSG, end, "CC"));
    assert_false(smh_has_field(MSG, end, "Date"));
    assert_false(smh_has_field(MSG, end, "Message-ID"));
    /* a body line is not a header */
    end = smh_header_end("Subject: x\r\nnot a header line\r\nTo: a\r\n", 40, &body);
    assert_int_equal(end, 12);
    assert_int_equal(body, 12);
    end = smh_header_end("\r\nbody\r\n", 8, &body);
    assert_int_equal(end, 0);
    assert_int_equal(body, 2);
}

static void test_recipients_from_headers(void **state)
{
    size_t body, end = smh_header_end(MSG, strlen(MSG), &body);
    struct smh_addrs a = {0};

    (void)state;
    assert_int_equal(smh_field_addrs(MSG, end, "To", &a), 0);
    assert_int_equal(smh_field_addrs(MSG, end, "Cc", &a), 0);
    assert_int_equal(smh_field_addrs(MSG, end, "Bcc", &a), 0);
    assert_string_equal(joined(&a),
                        "one@x.test|two@x.test|three@x.test|hidden@x.test|g1@x.test|g2@x.test");
}

static void test_bcc_removed(void **state)
{
    char buf[sizeof(MSG)];
    size_t body, end;

    (void)state;
    memcpy(buf, MSG, sizeof(MSG));
    end = smh_header_end(buf, strlen(buf), &body);
    end = smh_remove_field(buf, end, "Bcc");
    buf[end] = '\0';
    assert_string_equal(buf, "From: a@x.test\r\nTo: one@x.test,\r\n  Two <two@x.test>\r\n"
                             "Subject: hi\r\ncc: three@x.test\r\n");
    assert_false(smh_has_field(buf, end, "bcc"));
}

static void test_qualify(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(smh_qualify("root", "example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "root@example.org");
    assert_int_equal(smh_qualify("a@b.test", "example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "a@b.test");
    assert_int_equal(smh_qualify("\"x@y\"", "example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "\"x@y\"@example.org");
    assert_int_equal(smh_qualify("root", "a-very-long-domain.example.org", out, 10), -1);
}

static int parses(const char *text, char *why)
{
    struct pickup_msg m;
    int rc = pickup_parse(text, strlen(text), &m, why, 200);

    pickup_msg_free(&m);
    return rc;
}

static void test_pickup_file(void **state)
{
    const char *good = "SPOOLGATE-PICKUP 1\nuid 1000\nsender \nret 2\nflags 1\nenvid ab+2Bc\n"
                       "rcpt 6 a@x.test\nrcpt 0 b@x.test\ndata\nSubject: x\r\n\r\nhi\r\n";
    struct pickup_msg m;
    struct sg_buf b = {0};
    char why[200];

    (void)state;
    assert_int_equal(pickup_parse(good, strlen(good), &m, why, sizeof(why)), 0);
    assert_string_equal(m.begin.sender, "");
    assert_int_equal(m.begin.ret, 2);
    assert_int_equal(m.nrcpt, 2);
    assert_int_equal(m.rcpts[0].notify, 6);
    assert_string_equal(m.rcpts[1].addr, "b@x.test");
    assert_int_equal(m.body_len, strlen("Subject: x\r\n\r\nhi\r\n"));
    /* what the writer writes, the parser reads back */
    assert_int_equal(pickup_format_head(&b, &m), 0);
    assert_memory_equal(b.data, good, b.len);
    pickup_msg_free(&m);
    sg_buf_free(&b);
    assert_int_equal(parses("garbage\n", why), -1);
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nsender a@x.test\ndata\n", why), -1);
    assert_non_null(strstr(why, "no recipient"));
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nsender a@x.test\nrcpt 0 b@x.test\n", why), -1);
    assert_int_equal(
        parses("SPOOLGATE-PICKUP 1\nsender a@x\r\nRCPT TO:<e@v>\nrcpt 0 b@x\ndata\n", why), -1);
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nrcpt 99 b@x.test\ndata\n", why), -1);
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nret 7\nrcpt 0 b@x.test\ndata\n", why), -1);
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nwhat ever\nrcpt 0 b@x.test\ndata\n", why), -1);
    assert_int_equal(parses("SPOOLGATE-PICKUP 1\nrcpt 0 b@x.test\ndata\n", why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_lists),
        cmocka_unit_test(test_header_block),
        cmocka_unit_test(test_recipients_from_headers),
        cmocka_unit_test(test_bcc_removed),
        cmocka_unit_test(test_qualify),
        cmocka_unit_test(test_pickup_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
