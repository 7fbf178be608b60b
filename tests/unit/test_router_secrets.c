/* test_router_secrets.c - unit tests of the smarthost secrets file: its parser, the owner and mode check, the lookup and the cover check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "router_secrets.h"
#include "test_util.h"

static int parse(const char *text, struct router_secrets *s, char *err, size_t errsz)
{
    size_t n = strlen(text);
    char *copy = exact(text, n);
    int r = router_secrets_parse(copy, n, "sec", s, err, errsz);

    free(copy);
    return r;
}

static void expect_bad(const char *text, const char *want)
{
    struct router_secrets s;
    char err[1024];

    assert_int_equal(parse(text, &s, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    assert_null(s.v);
    assert_int_equal(s.n, 0);
}

static void test_parse_good(void **state)
{
    struct router_secrets s;
    const struct router_secret *p;
    char err[256];

    assert_int_equal(parse("# credentials for the provider\n"
                           "\n"
                           "provider  anna@example.test   pass word with  blanks  \r\n"
                           "  other\tbob\tx#y\n"
                           "last u p",
                           &s, err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
    assert_int_equal(s.n, 3);
    p = router_secrets_find(&s, "provider");
    assert_non_null(p);
    assert_string_equal(p->user, "anna@example.test");
    assert_string_equal(p->pass, "pass word with  blanks");
    p = router_secrets_find(&s, "other");
    assert_string_equal(p->user, "bob");
    assert_string_equal(p->pass, "x#y"); /* '#' inside a password is the password's */
    assert_string_equal(router_secrets_find(&s, "last")->pass, "p");
    assert_null(router_secrets_find(&s, "Provider"));
    assert_null(router_secrets_find(&s, "nobody"));
    router_secrets_free(&s);
    assert_null(s.v);
    assert_int_equal(parse("", &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);
    router_secrets_free(&s);
}

/* Each bad line is named; no reason quotes the user or the password. */
static void test_parse_bad(void **state)
{
    char longpass[300], text[400];

    expect_bad("p user\n", "sec:1: expected NAME USER PASSWORD (no password)");
    expect_bad("p\n", "sec:1: expected NAME USER PASSWORD (no user)");
    expect_bad("a:b u secret\n", "sec:1: bad credentials name (1-63 letters, digits, '.', '_' or "
                                 "'-')");
    expect_bad("p u secret\np v other\n", "sec:2: credentials p given twice");
    expect_bad("p u sec\x01ret\n", "sec:1: control character in line");
    memset(longpass, 'x', 256);
    longpass[256] = '\0';
    snprintf(text, sizeof(text), "p u %s\n", longpass);
    expect_bad(text, "sec:1: password too long (at most 255 octets)");
    snprintf(text, sizeof(text), "p %s pw\n", longpass);
    expect_bad(text, "sec:1: user name too long (at most 255 octets)");
    expect_bad("ok u pw\nbad\n# fine\nalso bad\n",
               "sec:2: expected NAME USER PASSWORD (no user)\n"
               "sec:4: expected NAME USER PASSWORD (no password)");
}

static char tmp_path[64];

static void write_file(const char *text, mode_t mode)
{
    FILE *f;

    snprintf(tmp_path, sizeof(tmp_path), "/tmp/sg-secrets-test.%ld", (long)getpid());
    f = fopen(tmp_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(tmp_path, mode), 0);
}

static void test_load_mode(void **state)
{
    struct router_secrets s;
    char err[512];

    write_file("p u hunter2\n", 0600);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
    router_secrets_free(&s);
    assert_int_equal(chmod(tmp_path, 0640), 0);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), 0);
    router_secrets_free(&s);
    assert_int_equal(chmod(tmp_path, 0644), 0);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0644: others may not have any access"));
    assert_null(strstr(err, "hunter2"));
    assert_int_equal(chmod(tmp_path, 0660), 0);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the group may not write"));
    assert_int_equal(chmod(tmp_path, 0600), 0);
    if (geteuid() == 0) /* root may give the file away: to a uid that is neither root nor ours */
        assert_int_equal(chown(tmp_path, 54321, (gid_t)-1), 0);
    /* owned by us (or 54321), neither root nor the router's user (12345) */
    assert_int_equal(router_secrets_load(tmp_path, 12345, &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the owner must be root or the router's user"));
    {
        char link[sizeof(tmp_path) + 8];

        snprintf(link, sizeof(link), "%s.link", tmp_path);
        assert_int_equal(symlink(tmp_path, link), 0);
        assert_int_equal(router_secrets_load(link, geteuid(), &s, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "Too many levels of symbolic links"));
        unlink(link);
    }
    unlink(tmp_path);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(router_secrets_load("", geteuid(), &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(router_secrets_load("/tmp", geteuid(), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    write_file("p u secret\nbroken\n", 0600);
    assert_int_equal(router_secrets_load(tmp_path, geteuid(), &s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: expected NAME USER PASSWORD"));
    unlink(tmp_path);
}

static void test_cover(void **state)
{
    struct router_secrets s, none = {NULL, 0};
    struct tm_entry e[2];
    struct transport_map map = {e, 2};
    char err[512];

    memset(e, 0, sizeof(e));
    snprintf(e[0].domain, sizeof(e[0].domain), "a.test");
    snprintf(e[1].domain, sizeof(e[1].domain), "b.test");
    snprintf(e[1].auth, sizeof(e[1].auth), "q");
    assert_int_equal(parse("p u pw\n", &s, err, sizeof(err)), 0);
    assert_int_equal(router_secrets_cover(&s, &map, "p", err, sizeof(err)), -1);
    assert_string_equal(err, "the transport map's entry for b.test names credentials q, which "
                             "router.smarthost_secrets does not have");
    assert_int_equal(router_secrets_cover(&s, &map, "x", err, sizeof(err)), -1);
    assert_string_equal(err, "router.relayhost_auth names credentials x, which "
                             "router.smarthost_secrets does not have");
    assert_int_equal(router_secrets_cover(&none, &map, "", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "which no secrets file gives"));
    snprintf(e[1].auth, sizeof(e[1].auth), "p");
    assert_int_equal(router_secrets_cover(&s, &map, "p", err, sizeof(err)), 0);
    assert_int_equal(router_secrets_cover(&s, &map, "", err, sizeof(err)), 0);
    router_secrets_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_load_mode),
        cmocka_unit_test(test_cover),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
