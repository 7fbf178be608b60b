/* test_transport_map.c - unit tests of the transport map parser, lookup and next-hop syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "transport_map.h"

/* ---- helpers --------------------------------------------------------------- */

static int parse(const char *text, struct transport_map *m, char *err, size_t errsz)
{
    size_t n = strlen(text);
    char *copy = exact(text, n);
    int r = tm_parse(copy, n, "tmap", m, err, errsz);

    free(copy);
    return r;
}

static void parse_ok(const char *text, struct transport_map *m)
{
    char err[1024];

    if (parse(text, m, err, sizeof(err)) != 0)
        fail_msg("parse of \"%s\" failed: %s", text, err);
    assert_string_equal(err, "");
}

/* One bad line: the parse fails with exactly "tmap:<line>: <reason>". */
static void expect_bad(const char *text, size_t line, const char *reason)
{
    struct transport_map m = {NULL, 0};
    char err[1024], want[512];

    snprintf(want, sizeof(want), "tmap:%zu: %s", line, reason);
    if (parse(text, &m, err, sizeof(err)) != -1)
        fail_msg("parse of \"%s\" succeeded, expected %s", text, want);
    if (strcmp(err, want) != 0)
        fail_msg("parse of \"%s\": expected \"%s\", got \"%s\"", text, want, err);
    assert_null(m.v);
    assert_int_equal(m.n, 0);
}

/* ---- tm_parse: good input -------------------------------------------------- */

static void test_parse_doc_example(void **state)
{
    const char *text = "# domain            transport                     options\n"
                       "example.com         smtp:[mx1.example.com]:2525   tls=verify\n"
                       ".example.com        smtp:relay.example.net\n"
                       "partner.test        smtp:[127.0.0.1]:10025        tls=none\n"
                       "old.example         error:5.1.2 This domain no longer accepts mail\n";
    struct transport_map m;

    parse_ok(text, &m);
    assert_int_equal(m.n, 4);

    assert_string_equal(m.v[0].domain, "example.com");
    assert_int_equal(m.v[0].kind, TM_SMTP_HOST);
    assert_string_equal(m.v[0].host, "mx1.example.com");
    assert_int_equal(m.v[0].port, 2525);
    assert_int_equal(m.v[0].tls, TM_TLS_VERIFY);

    assert_string_equal(m.v[1].domain, ".example.com");
    assert_int_equal(m.v[1].kind, TM_SMTP_MX);
    assert_string_equal(m.v[1].host, "relay.example.net");
    assert_int_equal(m.v[1].port, 0);
    assert_int_equal(m.v[1].tls, TM_TLS_DEFAULT);

    assert_int_equal(m.v[2].kind, TM_SMTP_HOST);
    assert_string_equal(m.v[2].host, "127.0.0.1");
    assert_int_equal(m.v[2].port, 10025);
    assert_int_equal(m.v[2].tls, TM_TLS_NONE);

    assert_int_equal(m.v[3].kind, TM_ERROR);
    assert_string_equal(m.v[3].status, "5.1.2");
    assert_string_equal(m.v[3].text, "This domain no longer accepts mail");
    assert_string_equal(m.v[3].host, "");
    tm_free(&m);
    assert_null(m.v);
    assert_int_equal(m.n, 0);
    tm_free(&m); /* twice is harmless */
    tm_free(NULL);
}

static void test_parse_transport_forms(void **state)
{
    struct transport_map m;

    parse_ok("a.test smtp:[h.test]:25\n"
             "b.test smtp:[h.test]\n"
             "c.test smtp:h.test\n"
             "d.test smtp:h.test:587\n"
             "e.test smtp:[::1]:2525\n"
             "f.test smtp:[2001:db8::1]\n"
             "g.test smtp:[::ffff:192.0.2.1]:1\n"
             "h.test smtp:[h.test]:65535 tls=may\n"
             "i.test error:4.4.7 try later\n",
             &m);
    assert_int_equal(m.n, 9);
    assert_int_equal(m.v[0].kind, TM_SMTP_HOST);
    assert_int_equal(m.v[0].port, 25);
    assert_int_equal(m.v[1].kind, TM_SMTP_HOST);
    assert_int_equal(m.v[1].port, 0);
    assert_int_equal(m.v[2].kind, TM_SMTP_MX);
    assert_string_equal(m.v[2].host, "h.test");
    assert_int_equal(m.v[2].port, 0);
    assert_int_equal(m.v[3].kind, TM_SMTP_MX);
    assert_int_equal(m.v[3].port, 587);
    assert_string_equal(m.v[4].host, "::1");
    assert_int_equal(m.v[4].port, 2525);
    assert_int_equal(m.v[4].kind, TM_SMTP_HOST);
    assert_string_equal(m.v[5].host, "2001:db8::1");
    assert_int_equal(m.v[5].port, 0);
    assert_string_equal(m.v[6].host, "::ffff:192.0.2.1");
    assert_int_equal(m.v[6].port, 1);
    assert_int_equal(m.v[7].port, 65535);
    assert_int_equal(m.v[7].tls, TM_TLS_MAY);
    assert_int_equal(m.v[8].kind, TM_ERROR);
    assert_string_equal(m.v[8].status, "4.4.7");
    assert_string_equal(m.v[8].text, "try later");
    tm_free(&m);
}

/* auth=NAME and TLS from the connect on: credentials imply tls=verify, port 465 implicit TLS. */
static void test_parse_auth_and_implicit(void **state)
{
    struct transport_map m;

    parse_ok("a.test smtp:[smtp.provider.test]:587 auth=provider\n"
             "b.test smtp:[smtp.provider.test]:465 auth=prov-2.x_y\n"
             "c.test smtp:[h.test]:465\n"
             "d.test smtp:[h.test]:465 tls=none\n"
             "e.test smtp:[h.test]:2465 tls=implicit auth=p\n"
             "f.test smtp:relay.test auth=p tls=verify\n"
             "g.test lmtp:[h.test]:24 tls=implicit\n"
             "h.test smtp:[h.test]:587 tls=implicit\n",
             &m);
    assert_int_equal(m.n, 8);
    assert_string_equal(m.v[0].auth, "provider");
    assert_int_equal(m.v[0].tls, TM_TLS_VERIFY);
    assert_string_equal(m.v[1].auth, "prov-2.x_y");
    assert_int_equal(m.v[1].tls, TM_TLS_IMPLICIT);
    assert_string_equal(m.v[2].auth, "");
    assert_int_equal(m.v[2].tls, TM_TLS_IMPLICIT);
    assert_int_equal(m.v[3].tls, TM_TLS_NONE); /* said: kept */
    assert_int_equal(m.v[4].tls, TM_TLS_IMPLICIT);
    assert_string_equal(m.v[4].auth, "p");
    assert_int_equal(m.v[5].kind, TM_SMTP_MX);
    assert_int_equal(m.v[5].tls, TM_TLS_VERIFY);
    assert_int_equal(m.v[6].tls, TM_TLS_IMPLICIT);
    assert_int_equal(m.v[7].tls, TM_TLS_IMPLICIT);
    tm_free(&m);
    assert_true(tm_auth_name_valid("a", 1));
    assert_false(tm_auth_name_valid("", 0));
    assert_false(tm_auth_name_valid("a b", 3));
    assert_false(tm_auth_name_valid("a=b", 3));
    assert_true(
        tm_auth_name_valid("0123456789012345678901234567890123456789012345678901234567890ab", 63));
    assert_false(
        tm_auth_name_valid("0123456789012345678901234567890123456789012345678901234567890abc", 64));
}

static void test_parse_auth_errors(void **state)
{
    const char *needs = "auth= needs tls=verify or tls=implicit: credentials go only over a "
                        "verified TLS session";
    const char *bad = "bad auth name (1-63 letters, digits, '.', '_' or '-': a name in "
                      "router.smarthost_secrets)";

    expect_bad("a.test smtp:[h]:587 auth=p tls=may\n", 1, needs);
    expect_bad("a.test smtp:[h]:587 tls=none auth=p\n", 1, needs);
    expect_bad("a.test smtp:[h]:465 auth=p tls=none\n", 1, needs);
    expect_bad("a.test smtp:[h]:587 auth=\n", 1, bad);
    expect_bad("a.test smtp:[h]:587 auth=a:b\n", 1, bad);
    expect_bad("a.test smtp:[h]:587 auth=p auth=q\n", 1, "auth option given twice");
    expect_bad("a.test lmtp:[h]:24 auth=p\n", 1, "auth= is for smtp: entries only");
    expect_bad("a.test lmtp:unix:/run/lmtp auth=p\n", 1, "auth= is for smtp: entries only");
    expect_bad("a.test smtp:[h]:587 tls=implicit tls=verify\n", 1, "tls option given twice");
    expect_bad("a.test smtp:[h]:587 tls=Implicit\n", 1,
               "bad tls value (none, may, verify or implicit)");
}

/* lmtp: over a Unix socket or TCP; a host is looked up by its addresses, never by MX. */
static void test_parse_lmtp_forms(void **state)
{
    struct transport_map m;

    (void)state;
    parse_ok(
        "a.test lmtp:unix:/run/dovecot/lmtp\n"
        "b.test lmtp:[127.0.0.1]:2424\n"
        "c.test lmtp:mail.b.test\n"
        "d.test lmtp:inet:mail.b.test:24 tls=verify\n"
        "e.test lmtp:unix:/"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaa\n",
        &m);
    assert_int_equal(m.n, 5);
    assert_int_equal(m.v[0].kind, TM_LMTP_UNIX);
    assert_string_equal(m.v[0].host, "/run/dovecot/lmtp");
    assert_int_equal(m.v[0].tls, TM_TLS_DEFAULT);
    assert_int_equal(m.v[1].kind, TM_LMTP_HOST);
    assert_string_equal(m.v[1].host, "127.0.0.1");
    assert_int_equal(m.v[1].port, 2424);
    assert_int_equal(m.v[2].kind, TM_LMTP_HOST);
    assert_string_equal(m.v[2].host, "mail.b.test");
    assert_int_equal(m.v[2].port, 0);
    assert_int_equal(m.v[3].kind, TM_LMTP_HOST);
    assert_int_equal(m.v[3].port, 24);
    assert_int_equal(m.v[3].tls, TM_TLS_VERIFY);
    assert_int_equal(strlen(m.v[4].host), TM_UNIX_PATH_MAX);
    tm_free(&m);
}

static void test_parse_layout(void **state)
{
    struct transport_map m;

    /* CRLF, tabs, comments after blanks, blank lines, no final line end */
    parse_ok("\r\n"
             "   \t  \r\n"
             "# comment\r\n"
             "   # indented comment\n"
             "\tEXAMPLE.Com\t\tsmtp:[H.example]:25\ttls=verify   # trailing comment\r\n"
             "x.test error:5.0.0 see ticket#42\n" /* '#' not after a blank is not a comment */
             "err.test error:5.7.1   go away  # why\r\n"
             "tab.test error:5.0.0 a\tb\n"
             "last.test smtp:h.test   ",
             &m);
    assert_int_equal(m.n, 5);
    assert_string_equal(m.v[0].domain, "example.com");
    assert_string_equal(m.v[0].host, "H.example"); /* the host is kept as written */
    assert_int_equal(m.v[0].tls, TM_TLS_VERIFY);
    assert_string_equal(m.v[1].domain, "x.test");
    assert_string_equal(m.v[1].text, "see ticket#42");
    assert_string_equal(m.v[2].text, "go away");
    assert_string_equal(m.v[3].text, "a\tb");
    tm_free(&m);

    parse_ok("last.test smtp:h.test", &m);
    assert_int_equal(m.n, 1);
    tm_free(&m);

    /* nothing at all, only comments: success, empty map */
    parse_ok("", &m);
    assert_null(m.v);
    assert_int_equal(m.n, 0);
    parse_ok("# only\n\n  \n", &m);
    assert_int_equal(m.n, 0);
    tm_free(&m);
    assert_int_equal(tm_parse(NULL, 0, "tmap", &m, NULL, 0), 0);
    assert_int_equal(m.n, 0);
}

static void test_parse_many_entries_grow(void **state)
{
    char *text = malloc(64 * 1000);
    size_t o = 0;
    struct transport_map m;
    char err[64];

    assert_non_null(text);
    for (int i = 0; i < 1000; i++)
        o += (size_t)sprintf(text + o, "d%d.test smtp:[h%d.test]:%d\n", i, i, i + 1);
    assert_int_equal(tm_parse(text, o, "tmap", &m, err, sizeof(err)), 0);
    assert_int_equal(m.n, 1000);
    for (int i = 0; i < 1000; i += 97) {
        char d[32], h[32];
        const struct tm_entry *e;

        snprintf(d, sizeof(d), "D%d.TEST", i);
        snprintf(h, sizeof(h), "h%d.test", i);
        e = tm_lookup(&m, d);
        assert_non_null(e);
        assert_string_equal(e->host, h);
        assert_int_equal(e->port, (unsigned)i + 1);
    }
    tm_free(&m);
    free(text);
}

static void test_parse_boundaries(void **state)
{
    struct transport_map m;
    char line[1200], label63[64], name253[254], text255[256];
    char err[512];

    memset(label63, 'a', 63);
    label63[63] = '\0';
    /* 253 octets: 3 labels of 63 + 1 of 61, joined by dots */
    snprintf(name253, sizeof(name253), "%s.%s.%s.%.*s", label63, label63, label63, 61, label63);
    assert_int_equal(strlen(name253), 253);
    memset(text255, 'x', 255);
    text255[255] = '\0';

    snprintf(line, sizeof(line), "%s smtp:[%s]:1\n.%s error:5.9.999 %s\n", name253, name253,
             name253, text255);
    assert_int_equal(tm_parse(line, strlen(line), "tmap", &m, err, sizeof(err)), 0);
    assert_int_equal(m.n, 2);
    assert_int_equal(strlen(m.v[0].domain), 253);
    assert_int_equal(strlen(m.v[0].host), 253);
    assert_int_equal(strlen(m.v[1].domain), 254);
    assert_int_equal(strlen(m.v[1].text), 255);
    assert_string_equal(m.v[1].status, "5.9.999");
    tm_free(&m);

    /* one octet more each */
    snprintf(line, sizeof(line), "a%s smtp:h.test\n", name253);
    expect_bad(line, 1, "bad domain (LDH labels separated by dots, optional leading '.')");
    snprintf(line, sizeof(line), "a.test smtp:[a%s]\n", name253);
    expect_bad(line, 1, "bad host in next hop");
    snprintf(line, sizeof(line), "a.test smtp:a%s\n", name253);
    expect_bad(line, 1, "bad host in next hop");
    snprintf(line, sizeof(line), "a.test error:5.0.0 x%s\n", text255);
    expect_bad(line, 1, "error text too long (at most 255 octets)");
    snprintf(line, sizeof(line), "a%s.test smtp:h.test\n", label63);
    expect_bad(line, 1, "bad domain (LDH labels separated by dots, optional leading '.')");
    snprintf(line, sizeof(line), "%s.test smtp:h.test\n", label63);
    parse_ok(line, &m);
    tm_free(&m);

    parse_ok("a.test smtp:h:1\nb.test smtp:h:65535\nc.test smtp:h:00025\nd.test error:4.0.0 x\n",
             &m);
    assert_int_equal(m.v[0].port, 1);
    assert_int_equal(m.v[1].port, 65535);
    assert_int_equal(m.v[2].port, 25);
    tm_free(&m);
}

/* ---- tm_parse: every error path ------------------------------------------- */

static void test_parse_errors(void **state)
{
    const char *dom = "bad domain (LDH labels separated by dots, optional leading '.')";
    const char *status = "bad status in error transport (expected error:X.Y.Z with X 4 or 5)";

    /* domain */
    expect_bad("exa_mple.com smtp:h\n", 1, dom);
    expect_bad(". smtp:h\n", 1, dom);
    expect_bad("..a smtp:h\n", 1, dom);
    expect_bad("a..b smtp:h\n", 1, dom);
    expect_bad("a.b. smtp:h\n", 1, dom);
    expect_bad("-a.b smtp:h\n", 1, dom);
    expect_bad("a-.b smtp:h\n", 1, dom);
    expect_bad("a.b- smtp:h\n", 1, dom);
    expect_bad("a.-b smtp:h\n", 1, dom);
    expect_bad("[1.2.3.4] smtp:h\n", 1, dom);
    expect_bad("\xc3\xa9.test smtp:h\n", 1, dom);
    expect_bad("a.test#x smtp:h\n", 1, dom);
    /* transport */
    expect_bad("a.test\n", 1, "missing transport");
    expect_bad("a.test   # c\n", 1, "missing transport");
    expect_bad("a.test lmtps:h\n", 1, "unknown transport (expected smtp:, lmtp: or error:)");
    expect_bad("a.test SMTP:h\n", 1, "unknown transport (expected smtp:, lmtp: or error:)");
    expect_bad("a.test smtp\n", 1, "unknown transport (expected smtp:, lmtp: or error:)");
    expect_bad("a.test error\n", 1, "unknown transport (expected smtp:, lmtp: or error:)");
    expect_bad("a.test lmtp\n", 1, "unknown transport (expected smtp:, lmtp: or error:)");
    expect_bad("a.test lmtp:\n", 1, "empty next hop");
    expect_bad("a.test lmtp:unix:\n", 1, "lmtp:unix: needs an absolute socket path");
    expect_bad("a.test lmtp:unix:run/lmtp\n", 1, "lmtp:unix: needs an absolute socket path");
    expect_bad("a.test lmtp:unix:/run/\xc3\xa9\n", 1,
               "lmtp:unix: socket path with a control, space or non-ASCII octet");
    expect_bad("a.test lmtp:unix:/run/lmtp tls=may\n", 1, "no tls option for a Unix socket");
    expect_bad("a.test lmtp:inet:\n", 1, "empty next hop");
    expect_bad("a.test lmtp:[h]:0\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test lmtp:unix:/"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaa\n",
               1, "lmtp:unix: socket path too long (at most 107 octets)");
    expect_bad("a.test smtp:\n", 1, "empty next hop");
    expect_bad("a.test smtp:[]\n", 1, "empty host in next hop");
    expect_bad("a.test smtp:[]:25\n", 1, "empty host in next hop");
    expect_bad("a.test smtp::25\n", 1, "empty host in next hop");
    expect_bad("a.test smtp:[h\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:[h:25\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:h]\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:h]:25\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:h:[25]\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:[[h]]\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:[h]:2]\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:[h]:[2\n", 1, "unbalanced brackets in next hop");
    expect_bad("a.test smtp:[h]x\n", 1, "unexpected text after ']' in next hop");
    expect_bad("a.test smtp:[h]]\n", 1, "unexpected text after ']' in next hop");
    expect_bad("a.test smtp:[h_x]\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:[::g]\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:[1:2:3]\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:[fe80::1%eth0]\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd]\n",
               1, "bad host in next hop");
    expect_bad("a.test smtp:h_x\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:h.\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:-h\n", 1, "bad host in next hop");
    expect_bad("a.test smtp:[h]:\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:[h]:0\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:65536\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:99999\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:000025\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:+25\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:-1\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:2x\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:h:25:26\n", 1, "bad port in next hop (1..65535)");
    expect_bad("a.test smtp:::1\n", 1, "empty host in next hop");
    /* error transport */
    expect_bad("a.test error:\n", 1, status);
    expect_bad("a.test error:5.1.2\n", 1, "missing text after error:X.Y.Z");
    expect_bad("a.test error:5.1.2   \n", 1, "missing text after error:X.Y.Z");
    expect_bad("a.test error:5.1.2 # comment only\n", 1, "missing text after error:X.Y.Z");
    expect_bad("a.test error:2.0.0 fine\n", 1, status);
    expect_bad("a.test error:3.0.0 x\n", 1, status);
    expect_bad("a.test error:5.1 x\n", 1, status);
    expect_bad("a.test error:5..1 x\n", 1, status);
    expect_bad("a.test error:5.1. x\n", 1, status);
    expect_bad("a.test error:5.1.2. x\n", 1, status);
    expect_bad("a.test error:5.1234.1 x\n", 1, status);
    expect_bad("a.test error:5.1.1234 x\n", 1, status);
    expect_bad("a.test error:5,1,2 x\n", 1, status);
    expect_bad("a.test error:51.1.2 x\n", 1, status);
    expect_bad("a.test error:5.1.2x x\n", 1, status);
    expect_bad("a.test error:5.1.2text\n", 1, status);
    expect_bad("a.test error:5.1.2 caf\xc3\xa9\n", 1, "error text is not ASCII");
    /* options */
    expect_bad("a.test smtp:h tls\n", 1, "unknown option 'tls'");
    expect_bad("a.test smtp:h TLS=may\n", 1, "unknown option 'TLS=may'");
    expect_bad("a.test smtp:h foo=bar\n", 1, "unknown option 'foo=bar'");
    expect_bad("a.test smtp:h tls=\n", 1, "bad tls value (none, may, verify or implicit)");
    expect_bad("a.test smtp:h tls=yes\n", 1, "bad tls value (none, may, verify or implicit)");
    expect_bad("a.test smtp:h tls=Verify\n", 1, "bad tls value (none, may, verify or implicit)");
    expect_bad("a.test smtp:h tls=mayx\n", 1, "bad tls value (none, may, verify or implicit)");
    expect_bad("a.test smtp:h tls=may tls=may\n", 1, "tls option given twice");
    expect_bad("a.test smtp:h tls=none tls=verify\n", 1, "tls option given twice");
    {
        /* a long unknown option is cut in the reason, not overflowing it */
        char line[700], want[128];

        memset(line, 0, sizeof(line));
        memcpy(line, "a.test smtp:h ", 14);
        memset(line + 14, 'o', 600);
        snprintf(want, sizeof(want), "unknown option '%.64s'", line + 14);
        expect_bad(line, 1, want);
    }
    /* control characters */
    expect_bad("a.test smtp:h\rx\n", 1, "control character in line");
    expect_bad("a.test\vsmtp:h\n", 1, "control character in line");
    expect_bad("a.test smtp:h\x7f\n", 1, "control character in line");
    expect_bad("a.test error:5.0.0 bell\a\n", 1, "control character in line");
    /* duplicates, case-insensitive, exact and suffix entries are distinct */
    expect_bad("a.test smtp:h\nA.TEST smtp:g\n", 2, "duplicate entry for a.test");
    expect_bad(".a.test smtp:h\n.a.Test error:5.0.0 x\n", 2, "duplicate entry for .a.test");
    {
        struct transport_map m;

        parse_ok("a.test smtp:h\n.a.test smtp:g\n", &m);
        assert_int_equal(m.n, 2);
        tm_free(&m);
    }
    /* line numbers count blank and comment lines */
    expect_bad("# c\n\n\r\nx.test smtp:[h\n", 4, "unbalanced brackets in next hop");
}

static void test_parse_nul_octet(void **state)
{
    static const char text[] = "a.test smtp:h\0x\nb.test smtp:g\n";
    struct transport_map m = {NULL, 0};
    char err[256];

    assert_int_equal(tm_parse(text, sizeof(text) - 1, "tmap", &m, err, sizeof(err)), -1);
    assert_string_equal(err, "tmap:1: control character in line");
    assert_null(m.v);
}

static void test_parse_reports_every_bad_line(void **state)
{
    const char *text = "ok.test smtp:h\n"
                       "bad_1 smtp:h\n"
                       "ok2.test smtp:h\n"
                       "x.test smtp:h:0\n"
                       "ok.test smtp:g\n"
                       "y.test error:5.1.2\n"
                       "# fine\n"
                       "z.test smtp:h tls=on\n";
    const char *want = "tmap:2: bad domain (LDH labels separated by dots, optional leading '.')\n"
                       "tmap:4: bad port in next hop (1..65535)\n"
                       "tmap:5: duplicate entry for ok.test\n"
                       "tmap:6: missing text after error:X.Y.Z\n"
                       "tmap:8: bad tls value (none, may, verify or implicit)";
    struct transport_map m = {NULL, 0};
    char err[1024];

    assert_int_equal(parse(text, &m, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    assert_null(m.v);

    /* a duplicate of a bad line is not a duplicate: only valid lines count */
    assert_int_equal(parse("a.test smtp:h:0\na.test smtp:h\n", &m, err, sizeof(err)), -1);
    assert_string_equal(err, "tmap:1: bad port in next hop (1..65535)");

    /* name NULL gets a default */
    assert_int_equal(tm_parse("x smtp:\n", 8, NULL, &m, err, sizeof(err)), -1);
    assert_string_equal(err, "transport_map:1: empty next hop");

    /* failure leaves *map as it was (a reload keeps the old map) */
    {
        struct transport_map live;

        parse_ok("keep.test smtp:h\n", &live);
        assert_int_equal(parse("bad smtp:\n", &live, err, sizeof(err)), -1);
        assert_int_equal(live.n, 1);
        assert_string_equal(live.v[0].domain, "keep.test");
        tm_free(&live);
    }
}

static void test_parse_err_bounded(void **state)
{
    const char *text = "a smtp:\nb smtp:\nc smtp:\n";
    const char *full = "tmap:1: empty next hop\ntmap:2: empty next hop\ntmap:3: empty next hop";
    size_t fl = strlen(full);
    struct transport_map m = {NULL, 0};

    /* every size from 0 to more than needed: a prefix of the full report, NUL-terminated,
     * nothing written past errsz (heap buffer of exactly errsz octets for ASan) */
    for (size_t sz = 0; sz <= fl + 4; sz++) {
        char *err = malloc(sz ? sz : 1);

        assert_non_null(err);
        memset(err, 'Z', sz ? sz : 1);
        assert_int_equal(parse(text, &m, sz ? err : NULL, sz), -1);
        if (sz > 0) {
            size_t el = strnlen(err, sz);

            assert_true(el < sz);
            assert_int_equal(el, sz - 1 < fl ? sz - 1 : fl);
            assert_memory_equal(err, full, el);
        }
        free(err);
    }
    /* errsz 0 with a non-NULL buffer: untouched */
    {
        char e = 'Q';

        assert_int_equal(parse(text, &m, &e, 0), -1);
        assert_int_equal(e, 'Q');
    }
    /* success clears err */
    {
        char err[8] = "junk";

        parse_ok("a smtp:h", &m);
        tm_free(&m);
        assert_int_equal(parse("a smtp:h", &m, err, sizeof(err)), 0);
        assert_string_equal(err, "");
        tm_free(&m);
    }
}

/* ---- tm_lookup ------------------------------------------------------------- */

static void test_lookup(void **state)
{
    struct transport_map m;
    const struct tm_entry *e;

    parse_ok("example.com smtp:[exact]\n"
             ".example.com smtp:[sub]\n"
             ".a.example.com smtp:[suba]\n"
             "a.example.com smtp:[exacta]\n"
             ".other.test error:5.1.2 gone\n",
             &m);
    e = tm_lookup(&m, "example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "exact");
    e = tm_lookup(&m, "EXAMPLE.COM");
    assert_non_null(e);
    assert_string_equal(e->host, "exact");
    e = tm_lookup(&m, "example.com.");
    assert_non_null(e);
    assert_string_equal(e->host, "exact");
    e = tm_lookup(&m, "b.example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "sub");
    e = tm_lookup(&m, "x.y.Example.Com");
    assert_non_null(e);
    assert_string_equal(e->host, "sub");
    e = tm_lookup(&m, "a.example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "exacta"); /* exact wins over the longer suffix */
    e = tm_lookup(&m, "b.a.example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "suba"); /* longest suffix */
    e = tm_lookup(&m, "c.B.A.EXAMPLE.COM");
    assert_non_null(e);
    assert_string_equal(e->host, "suba");
    e = tm_lookup(&m, "x.other.test");
    assert_non_null(e);
    assert_int_equal(e->kind, TM_ERROR);

    assert_null(tm_lookup(&m, "other.test"));   /* ".other.test" is subdomains only */
    assert_null(tm_lookup(&m, "xexample.com")); /* not a label boundary */
    assert_null(tm_lookup(&m, "example.co"));
    assert_null(tm_lookup(&m, "com"));
    assert_null(tm_lookup(&m, "example.com.evil"));
    assert_null(tm_lookup(&m, ".example.com")); /* nothing before the suffix */
    assert_null(tm_lookup(&m, ""));
    assert_null(tm_lookup(&m, "."));
    assert_null(tm_lookup(&m, NULL));
    assert_null(tm_lookup(NULL, "example.com"));
    tm_free(&m);
    assert_null(tm_lookup(&m, "example.com")); /* empty map */

    /* suffix order in the file does not matter */
    parse_ok(".a.example.com smtp:[suba]\n.example.com smtp:[sub]\n", &m);
    e = tm_lookup(&m, "b.a.example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "suba");
    assert_null(tm_lookup(&m, "example.com"));
    tm_free(&m);
}

/* ---- tm_parse_nexthop ------------------------------------------------------ */

static void expect_hop(const char *s, const char *host, unsigned port, int mx)
{
    char h[256];
    unsigned p = 99;
    int m = 99;

    if (tm_parse_nexthop(s, h, sizeof(h), &p, &m) != 0)
        fail_msg("nexthop \"%s\" rejected", s);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
    assert_int_equal(m, mx);
}

static void expect_hop_bad(const char *s)
{
    char h[256];
    unsigned p = 99;
    int m = 99;

    if (tm_parse_nexthop(s, h, sizeof(h), &p, &m) != -1)
        fail_msg("nexthop \"%s\" accepted", s);
    assert_string_equal(h, "");
    assert_int_equal(p, 0);
    assert_int_equal(m, 0);
}

static void test_nexthop(void **state)
{
    char h[8];
    unsigned p;
    int m;

    expect_hop("[smarthost.test]:587", "smarthost.test", 587, 0);
    expect_hop("[smarthost.test]", "smarthost.test", 0, 0);
    expect_hop("smarthost.test:2525", "smarthost.test", 2525, 1);
    expect_hop("smarthost.test", "smarthost.test", 0, 1);
    expect_hop("[192.0.2.1]:25", "192.0.2.1", 25, 0);
    expect_hop("[2001:db8::25]:25", "2001:db8::25", 25, 0);
    expect_hop("[::1]", "::1", 0, 0);
    expect_hop("h:1", "h", 1, 1);
    expect_hop("h:65535", "h", 65535, 1);

    expect_hop_bad("");
    expect_hop_bad(NULL);
    expect_hop_bad("[]");
    expect_hop_bad("[]:25");
    expect_hop_bad(":25");
    expect_hop_bad("[h");
    expect_hop_bad("h]");
    expect_hop_bad("[h]]");
    expect_hop_bad("[[h]");
    expect_hop_bad("[h]x");
    expect_hop_bad("[h]:");
    expect_hop_bad("h:");
    expect_hop_bad("h:0");
    expect_hop_bad("h:65536");
    expect_hop_bad("h:1x");
    expect_hop_bad("h:1:2");
    expect_hop_bad("::1");
    expect_hop_bad(" h");
    expect_hop_bad("h ");
    expect_hop_bad("smtp:h");
    expect_hop_bad("[h]:25 ");

    /* the host must fit hostsz with its NUL */
    assert_int_equal(tm_parse_nexthop("abcdefg:25", h, sizeof(h), &p, &m), 0);
    assert_string_equal(h, "abcdefg");
    assert_int_equal(tm_parse_nexthop("[abcdefgh]", h, sizeof(h), &p, &m), -1);
    assert_string_equal(h, "");
    assert_int_equal(tm_parse_nexthop("h", h, 0, &p, &m), -1);
    assert_int_equal(tm_parse_nexthop("h", NULL, 8, &p, &m), -1);
    /* port and mx are optional */
    assert_int_equal(tm_parse_nexthop("[h]:25", h, sizeof(h), NULL, NULL), 0);
    assert_string_equal(h, "h");
}

/* ---- fuzz ------------------------------------------------------------------ */

static void test_fuzz(void **state)
{
    static const char alpha[] = "ab.-:[]#\t \r\n0123456789smtp:error:tls=verify5.1.2\x7f\xc3\x01\0";
    uint64_t seed = 0x5eed5eed1234ull;
    char buf[160];

    for (int it = 0; it < 100000; it++) {
        size_t n = rng_next(&seed) % sizeof(buf), errsz = rng_next(&seed) % 96;
        int mode = (int)(rng_next(&seed) % 3);
        struct transport_map m = {NULL, 0};
        char *copy, *err;
        int r;

        for (size_t i = 0; i < n; i++) {
            uint64_t x = rng_next(&seed);

            buf[i] = mode == 0 ? (char)(x & 0xff) : alpha[x % (sizeof(alpha) - 1)];
        }
        if (mode == 2 && n > 14) /* mostly well-formed prefix */
            memcpy(buf, "a.test smtp:[h", 14);
        copy = exact(buf, n);
        err = malloc(errsz ? errsz : 1);
        assert_non_null(err);
        r = tm_parse(copy, n, "f", &m, errsz ? err : NULL, errsz);
        assert_true(r == 0 || r == -1);
        if (errsz > 0)
            assert_non_null(memchr(err, '\0', errsz));
        if (r == 0) {
            for (size_t i = 0; i < m.n; i++) {
                const struct tm_entry *e = &m.v[i];

                assert_non_null(memchr(e->domain, '\0', sizeof(e->domain)));
                assert_non_null(memchr(e->host, '\0', sizeof(e->host)));
                assert_non_null(memchr(e->status, '\0', sizeof(e->status)));
                assert_non_null(memchr(e->text, '\0', sizeof(e->text)));
                if (e->domain[0] != '.')
                    assert_ptr_equal(tm_lookup(&m, e->domain), e);
            }
            tm_free(&m);
        } else {
            assert_null(m.v);
            if (errsz > 1)
                assert_true(strncmp(err, "f:", 2) == 0 || errsz < 3);
        }
        {
            char *s = malloc(n + 1), h[16];
            unsigned p = 7;
            int mx = 7;

            assert_non_null(s);
            memcpy(s, buf, n);
            s[n] = '\0';
            r = tm_parse_nexthop(s, h, sizeof(h), &p, &mx);
            assert_true(r == 0 || r == -1);
            assert_non_null(memchr(h, '\0', sizeof(h)));
            if (r == 0) {
                assert_true(h[0] != '\0');
                assert_true(p <= 65535);
                assert_true(mx == 0 || mx == 1);
            }
            (void)tm_lookup(&m, s);
            free(s);
        }
        free(copy);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_doc_example),
        cmocka_unit_test(test_parse_transport_forms),
        cmocka_unit_test(test_parse_auth_and_implicit),
        cmocka_unit_test(test_parse_auth_errors),
        cmocka_unit_test(test_parse_lmtp_forms),
        cmocka_unit_test(test_parse_layout),
        cmocka_unit_test(test_parse_many_entries_grow),
        cmocka_unit_test(test_parse_boundaries),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_nul_octet),
        cmocka_unit_test(test_parse_reports_every_bad_line),
        cmocka_unit_test(test_parse_err_bounded),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_nexthop),
        cmocka_unit_test(test_fuzz),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
