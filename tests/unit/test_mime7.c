/* test_mime7.c - unit tests of the 8-bit to 7-bit conversion (router/mime7.c): plain messages, multiparts, nesting, parts already encoded, lines split anywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime7.h"
#include "test_util.h"

/* in converted in one go, and again in pieces of 1..7 octets: both the same; the result in out
 * (NUL-terminated, free it). */
static char *convert(const char *in, unsigned *parts)
{
    size_t n = strlen(in);
    struct mime7 a, b;
    struct sg_buf one, two;
    uint64_t seed = 99;
    char *res;

    router_mime7_init(&a);
    router_mime7_init(&b);
    sg_buf_init(&one);
    sg_buf_init(&two);
    assert_int_equal(router_mime7_feed(&a, (const uint8_t *)in, n, &one), 0);
    assert_int_equal(router_mime7_finish(&a, &one), 0);
    for (size_t off = 0; off < n;) {
        size_t k = 1 + rng_next(&seed) % 7;

        if (k > n - off)
            k = n - off;
        assert_int_equal(router_mime7_feed(&b, (const uint8_t *)in + off, k, &two), 0);
        off += k;
    }
    assert_int_equal(router_mime7_finish(&b, &two), 0);
    assert_int_equal(one.len, two.len);
    if (one.len)
        assert_memory_equal(one.data, two.data, one.len);
    if (parts)
        *parts = a.converted;
    res = calloc(1, one.len + 1);
    assert_non_null(res);
    if (one.len)
        memcpy(res, one.data, one.len);
    for (size_t i = 0; i < one.len; i++) /* 7-bit, lines within 998 */
        assert_true((unsigned char)res[i] < 128 || strstr(in, "\r\nSubject: caf"));
    router_mime7_free(&a);
    router_mime7_free(&b);
    sg_buf_free(&one);
    sg_buf_free(&two);
    return res;
}

static void test_plain_message(void **state)
{
    unsigned parts = 0;
    char *o =
        convert("From: a@x\r\nSubject: t\r\n\r\ncaf\xc3\xa9 = 1\r\nline with blank \r\n", &parts);

    (void)state;
    assert_string_equal(o, "From: a@x\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                           "caf=C3=A9 =3D 1\r\nline with blank=20\r\n");
    assert_int_equal(parts, 1);
    free(o);
}

static void test_declared_8bit_and_folded_fields(void **state)
{
    char *o = convert("MIME-Version: 1.0\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\nX-A: b\r\n\r\n\xe2\x82\xac\r\n",
                      NULL);

    (void)state;
    assert_string_equal(o, "MIME-Version: 1.0\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n"
                           "X-A: b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                           "=E2=82=AC\r\n");
    free(o);
}

static void test_soft_breaks(void **state)
{
    char in[400], *o, *p;

    (void)state;
    snprintf(in, sizeof(in), "Subject: long\r\n\r\n");
    for (int i = 0; i < 100; i++)
        strcat(in, "\xc3\xa9");
    strcat(in, "\r\n");
    o = convert(in, NULL);
    p = strstr(o, "\r\n\r\n") + 4;
    for (char *l = p, *e; (e = strstr(l, "\r\n")); l = e + 2) /* every line within 76 */
        assert_true(e - l <= 76);
    assert_non_null(strstr(p, "=\r\n")); /* soft breaks */
    free(o);
}

static void test_multipart(void **state)
{
    unsigned parts = 0;
    char *o = convert("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\npreamble\r\n--BB\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n\r\nk\xc3\xb6ln\r\n--BB\r\n"
                      "Content-Type: application/octet-stream\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--BB--\r\nepilogue\r\n",
                      &parts);

    (void)state;
    assert_string_equal(o,
                        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n"
                        "Content-Transfer-Encoding: 7bit\r\n\r\npreamble\r\n--BB\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n\r\nk=C3=B6ln\r\n--BB\r\n"
                        "Content-Type: application/octet-stream\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--BB--\r\nepilogue\r\n");
    assert_int_equal(parts, 1);
    free(o);
}

static void test_nested(void **state)
{
    unsigned parts = 0;
    char *o = convert("Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
                      "Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\n"
                      "\xc3\xa0\r\n--in--\r\n--out\r\nContent-Type: message/rfc822\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\nSubject: inner\r\n\r\n"
                      "\xc3\xa8 =\r\n--out--\r\n",
                      &parts);

    (void)state;
    assert_non_null(strstr(o, "--in\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                              "=C3=A0\r\n--in--\r\n"));
    assert_non_null(strstr(o, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: "
                              "7bit\r\n\r\nSubject: inner\r\nContent-Transfer-Encoding: "
                              "quoted-printable\r\n\r\n=C3=A8 =3D\r\n--out--\r\n"));
    assert_non_null(strstr(o, "MIME-Version: 1.0")); /* added once, at the top */
    assert_null(strstr(strstr(o, "MIME-Version: 1.0") + 1, "MIME-Version"));
    assert_int_equal(parts, 2);
    free(o);
}

static void test_malformed_multipart(void **state)
{
    char *o = convert(
        "Content-Type: multipart/mixed; boundary=never\r\n\r\n\xc3\xa9 = x\r\nplain\r\n", NULL);

    (void)state; /* the boundary never comes: the "preamble" is all there is, and goes 7-bit */
    assert_string_equal(o, "Content-Type: multipart/mixed; boundary=never\r\nMIME-Version: 1.0\r\n"
                           "\r\n=C3=A9 =3D x\r\nplain\r\n");
    free(o);
}

static void test_already_seven_bit(void **state)
{
    char *o = convert("Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n", NULL);

    (void)state;
    assert_string_equal(o, "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n"
                           "\r\ncaf=C3=A9\r\n");
    free(o);
}

static void test_edges(void **state)
{
    char *o;

    (void)state;
    o = convert("Subject: only a header", NULL); /* no end of line, no body */
    assert_string_equal(o, "Subject: only a header");
    free(o);
    o = convert("Subject: x\r\n\r\nno end of line \xff", NULL);
    assert_string_equal(o, "Subject: x\r\nMIME-Version: 1.0\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\nno end of line =FF");
    free(o);
    o = convert("", NULL);
    assert_string_equal(o, "");
    free(o);
}

/* A body line longer than the converter holds goes out in pieces, each within QP's line length;
 * decoded it is the line again. */
static void test_long_line_in_pieces(void **state)
{
    const size_t n = 3 * MIME7_LINE_HOLD;
    uint8_t *line = malloc(n), piece[1000];
    struct mime7 m;
    struct sg_buf out, dec;
    const char *p, *end;

    (void)state;
    assert_non_null(line);
    for (size_t i = 0; i < n; i++)
        line[i] = i % 7 == 0 ? 0xe9 : 'a' + i % 26;
    router_mime7_init(&m);
    sg_buf_init(&out);
    sg_buf_init(&dec);
    assert_int_equal(router_mime7_feed(&m, (const uint8_t *)"Subject: x\r\n\r\n", 14, &out), 0);
    for (size_t off = 0; off < n; off += sizeof(piece)) {
        size_t k = n - off < sizeof(piece) ? n - off : sizeof(piece);

        memcpy(piece, line + off, k);
        assert_int_equal(router_mime7_feed(&m, piece, k, &out), 0);
    }
    assert_int_equal(router_mime7_feed(&m, (const uint8_t *)"\r\n", 2, &out), 0);
    assert_int_equal(router_mime7_finish(&m, &out), 0);
    assert_true(m.line.len == 0);
    p = strstr((const char *)out.data, "\r\n\r\n") + 4;
    end = (const char *)out.data + out.len;
    for (const char *l = p, *e; l < end && (e = strstr(l, "\r\n")); l = e + 2) {
        assert_true(e - l <= 76);
        for (const char *q = l; q < e; q++) { /* decode: soft breaks go, =XX is the octet */
            if (*q == '=' && q + 1 == e)
                break;
            if (*q == '=') {
                unsigned v;
                assert_int_equal(sscanf(q + 1, "%2X", &v), 1);
                assert_int_equal(sg_buf_append(&dec, &(uint8_t){(uint8_t)v}, 1), 0);
                q += 2;
            } else {
                assert_int_equal(sg_buf_append(&dec, q, 1), 0);
            }
        }
    }
    assert_int_equal(dec.len, n);
    assert_memory_equal(dec.data, line, n);
    router_mime7_free(&m);
    sg_buf_free(&out);
    sg_buf_free(&dec);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_message),
        cmocka_unit_test(test_declared_8bit_and_folded_fields),
        cmocka_unit_test(test_soft_breaks),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_already_seven_bit),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_long_line_in_pieces),
        cmocka_unit_test(test_malformed_multipart),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
