/* test_alias_map.c - unit tests of router/alias_map.c: the alias and canonical map parser, lookup, expansion (aliases of aliases, self, loops, limits) and rewrite. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alias_map.h"
#include "test_util.h"

static void parse_ok(const char *text, int single, struct alias_map *m)
{
    char err[1024];

    if (router_am_parse(text, strlen(text), "aliases", single, m, err, sizeof(err)) != 0)
        fail_msg("refused: %s", err);
}

static const char *parse_err(const char *text, int single, char *err, size_t errsz)
{
    struct alias_map m;

    assert_int_equal(router_am_parse(text, strlen(text), "aliases", single, &m, err, errsz), -1);
    assert_null(m.v);
    assert_int_equal(m.n, 0);
    return err;
}

static void expect_expansion(const struct alias_map *m, const char *addr, const char *want)
{
    struct am_expansion x;
    char why[256], got[2048] = "";
    size_t used = 0;

    assert_int_equal(router_am_expand(m, addr, 100, &x, why, sizeof(why)), AM_EXPANDED);
    for (size_t i = 0; i < x.n; i++)
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s", i ? " " : "", x.addr[i]);
    assert_string_equal(got, want);
    router_am_expansion_free(&x);
}

static void test_parse_and_lookup(void **state)
{
    struct alias_map m;
    char out[IPC_ADDR_MAX + 1];
    const struct am_entry *e;

    (void)state;
    parse_ok("# aliases\n"
             "Sales@Example.ORG   bob@example.org, carol@example.net\n"
             "\n"
             "anna@example.org    anna@mail.example.net   # moved\n"
             "@old.example        @example.org\n"
             "list@example.org    a@x.test,b@x.test  c@x.test\r\n",
             0, &m);
    assert_int_equal(m.n, 4);
    e = router_am_lookup(&m, "sales@example.org");
    assert_non_null(e);
    assert_int_equal(e->nval, 2);
    assert_int_equal(e->line, 2);
    assert_ptr_equal(router_am_lookup(&m, "SALES@example.org"),
                     e); /* keys without regard to case */
    assert_int_equal(router_am_value(&m, e, 1, "sales@example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "carol@example.net");
    e = router_am_lookup(&m, "zoe@old.example"); /* the domain's catch-all entry */
    assert_non_null(e);
    assert_int_equal(router_am_value(&m, e, 0, "zoe@old.example", out, sizeof(out)), 0);
    assert_string_equal(out, "zoe@example.org"); /* the local part kept */
    assert_int_equal(router_am_lookup(&m, "list@example.org")->nval, 3);
    assert_null(router_am_lookup(&m, "nobody@example.org"));
    assert_null(router_am_lookup(&m, "postmaster"));
    assert_null(router_am_lookup(&m, ""));
    router_am_free(&m);
    parse_ok("", 0, &m); /* an empty map */
    assert_null(router_am_lookup(&m, "a@b.test"));
    router_am_free(&m);
}

static void test_parse_errors(void **state)
{
    char err[1024];

    (void)state;
    assert_non_null(
        strstr(parse_err("a@x.test\n", 0, err, sizeof(err)), "aliases:1: expected KEY"));
    assert_non_null(strstr(parse_err("ok@x.test b@y.test\nnot an address\n", 0, err, sizeof(err)),
                           "aliases:2: bad key 'not'"));
    assert_non_null(
        strstr(parse_err("a@x.test b@@y\n", 0, err, sizeof(err)), "aliases:1: bad address 'b@@y'"));
    assert_non_null(strstr(parse_err("a@x.test b@y.test\nA@X.test c@y.test\n", 0, err, sizeof(err)),
                           "aliases:2: a@x.test given twice (first at line 1)"));
    assert_non_null(strstr(parse_err("a@x.test b@y.test c@y.test\n", 1, err, sizeof(err)),
                           "aliases:1: more than one address"));
    assert_non_null(
        strstr(parse_err("a@x.test b\001@y.test\n", 0, err, sizeof(err)), "control character"));
    assert_non_null(strstr(parse_err("@-bad-.test @y.test\n@ b@y.test\n", 0, err, sizeof(err)),
                           "aliases:2: bad key"));
    /* every bad line is reported, each with its number */
    parse_err("x y\ngood@x.test g@y.test\nz w\n", 0, err, sizeof(err));
    assert_non_null(strstr(err, "aliases:1:"));
    assert_non_null(strstr(err, "aliases:3:"));
    /* a key given twice is reported beside the bad lines, not only once they are fixed */
    parse_err("d@x.test a@y.test\nbad@x.test\nd@x.test b@y.test\n", 0, err, sizeof(err));
    assert_string_equal(err, "aliases:2: expected KEY ADDRESS[, ADDRESS ...] (no address)\n"
                             "aliases:3: d@x.test given twice (first at line 1)");
    /* the canonical map's addresses are ASCII; the alias map's may be UTF-8 */
    assert_non_null(strstr(parse_err("a@x.test b@b\xc3\xbc"
                                     "cher.test\n",
                                     1, err, sizeof(err)),
                           "bad address"));
}

static void test_expand(void **state)
{
    struct alias_map m;

    (void)state;
    parse_ok("team@x.test     anna@x.test, bob@x.test, ops@x.test\n"
             "ops@x.test      carol@y.test, anna@x.test\n"
             "anna@x.test     anna@x.test, anna@archive.test\n"
             "@old.test       @x.test\n",
             0, &m);
    /* aliases of aliases, each address once, an alias naming itself delivered there too */
    expect_expansion(&m, "team@x.test", "anna@x.test anna@archive.test bob@x.test carol@y.test");
    expect_expansion(&m, "ops@old.test", "carol@y.test anna@x.test anna@archive.test");
    expect_expansion(&m, "dan@old.test", "dan@x.test");
    {
        struct am_expansion x;
        char why[64];

        assert_int_equal(router_am_expand(&m, "nobody@x.test", 100, &x, why, sizeof(why)),
                         AM_NOT_ALIAS);
        assert_int_equal(x.n, 0);
    }
    router_am_free(&m);
}

static void test_expand_loops_and_limits(void **state)
{
    struct alias_map m;
    struct am_expansion x;
    char why[512], text[64 * 40] = "";
    size_t used = 0;

    (void)state;
    parse_ok("a@x.test b@x.test\nb@x.test c@x.test\nc@x.test a@x.test, d@x.test\n", 0, &m);
    assert_int_equal(router_am_expand(&m, "a@x.test", 100, &x, why, sizeof(why)), AM_LOOP);
    assert_string_equal(why, "alias loop: <a@x.test> -> <b@x.test> -> <c@x.test> -> <a@x.test>");
    assert_null(x.addr);
    router_am_free(&m);

    parse_ok("big@x.test a@y.test b@y.test c@y.test d@y.test\n", 0, &m);
    assert_int_equal(router_am_expand(&m, "big@x.test", 3, &x, why, sizeof(why)), AM_LIMIT);
    assert_string_equal(why, "the alias expansion of <big@x.test> exceeds 3 addresses");
    assert_int_equal(router_am_expand(&m, "big@x.test", 4, &x, why, sizeof(why)), AM_EXPANDED);
    assert_int_equal(x.n, 4);
    router_am_expansion_free(&x);
    router_am_free(&m);

    for (int i = 0; i < 30; i++) /* a chain deeper than AM_DEPTH_MAX */
        used +=
            (size_t)snprintf(text + used, sizeof(text) - used, "l%d@x.test l%d@x.test\n", i, i + 1);
    parse_ok(text, 0, &m);
    assert_int_equal(router_am_expand(&m, "l0@x.test", 100, &x, why, sizeof(why)), AM_LOOP);
    assert_non_null(strstr(why, "aliases nested deeper than 20"));
    assert_int_equal(router_am_expand(&m, "l15@x.test", 100, &x, why, sizeof(why)), AM_EXPANDED);
    assert_string_equal(x.addr[0], "l30@x.test");
    router_am_expansion_free(&x);
    router_am_free(&m);

    used = 0; /* each level names both of the next: 2^18 lookups for two final addresses */
    for (int i = 0; i < 18; i++)
        used += (size_t)snprintf(
            text + used, sizeof(text) - used,
            "w%d@x.test w%d@x.test, w%d@y.test\nw%d@y.test w%d@x.test w%d@y.test\n", i, i + 1,
            i + 1, i, i + 1, i + 1);
    parse_ok(text, 0, &m);
    assert_int_equal(router_am_expand(&m, "w0@x.test", 100, &x, why, sizeof(why)), AM_LIMIT);
    assert_string_equal(why, "the alias expansion of <w0@x.test> takes more than 2000 lookups");
    assert_int_equal(router_am_expand(&m, "w14@x.test", 100, &x, why, sizeof(why)), AM_EXPANDED);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.addr[0], "w18@x.test");
    assert_string_equal(x.addr[1], "w18@y.test");
    router_am_expansion_free(&x);
    router_am_free(&m);
}

static void test_rewrite_and_file(void **state)
{
    struct alias_map m;
    char out[IPC_ADDR_MAX + 1], err[512], path[] = "/tmp/test_alias_mapXXXXXX";
    int fd;

    (void)state;
    parse_ok("boss@po.legacy   chief@example.org\n@po.legacy       @example.org\n", 1, &m);
    assert_int_equal(router_am_rewrite(&m, "boss@po.legacy", out, sizeof(out)), 1);
    assert_string_equal(out, "chief@example.org");
    assert_int_equal(router_am_rewrite(&m, "Anna.Lee@PO.legacy", out, sizeof(out)), 1);
    assert_string_equal(out, "Anna.Lee@example.org"); /* the local part as it was */
    assert_int_equal(router_am_rewrite(&m, "anna@example.org", out, sizeof(out)), 0);
    assert_string_equal(out, "anna@example.org");
    assert_int_equal(router_am_rewrite(&m, "", out, sizeof(out)), 0); /* the null sender stays */
    assert_string_equal(out, "");
    router_am_free(&m);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "a@x.test b@y.test\nbroken@x.test\n", 32), 32);
    close(fd);
    assert_int_equal(router_am_load_file(path, 0, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: expected KEY"));
    assert_non_null(strstr(err, path));
    unlink(path);
    assert_int_equal(router_am_load_file(path, 0, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(router_am_load_file("", 0, &m, err, sizeof(err)), 0);
    assert_int_equal(m.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_lookup), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_expand),           cmocka_unit_test(test_expand_loops_and_limits),
        cmocka_unit_test(test_rewrite_and_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
