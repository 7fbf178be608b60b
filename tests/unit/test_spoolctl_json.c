/* test_spoolctl_json.c - unit tests of spoolctl's JSON string escaping and of the filter helpers it relies on (address match, age buckets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc.h"
#include "spoolctl.h"

/* What spoolctl_json_str writes for s. */
static char *json_of(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    spoolctl_json_str(f, s);
    fclose(f);
    return buf;
}

static void expect_json(const char *in, const char *want)
{
    char *got = json_of(in);

    assert_string_equal(got, want);
    free(got);
}

static void test_escapes(void **state)
{
    expect_json("plain@example.org", "\"plain@example.org\"");
    expect_json("\"a\\b\"@x", "\"\\\"a\\\\b\\\"@x\"");
    expect_json("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"");
    expect_json("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
}

static void test_utf8(void **state)
{
    expect_json("j\xc3\xbcrg@b\xc3\xbc\x63her.example", "\"j\xc3\xbcrg@b\xc3\xbc\x63her.example\"");
    expect_json("\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\"");  /* a 4-byte sequence */
    expect_json("a\xff", "\"a\\u00ff\"");                     /* not UTF-8 */
    expect_json("\xc0\x80", "\"\\u00c0\\u0080\"");            /* overlong NUL */
    expect_json("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""); /* a surrogate */
    expect_json("\xe2\x82", "\"\\u00e2\\u0082\"");            /* cut short */
}

static void test_addr_match(void **state)
{
    assert_true(ipc_filter_addr_match("", "any@x.test"));
    assert_true(ipc_filter_addr_match("<>", ""));
    assert_false(ipc_filter_addr_match("<>", "a@x.test"));
    assert_true(ipc_filter_addr_match("@X.test", "a@x.TEST"));
    assert_false(ipc_filter_addr_match("@x.test", "a@sub.x.test"));
    assert_false(ipc_filter_addr_match("@x.test", ""));
    assert_true(ipc_filter_addr_match("A@x.test", "a@X.test"));
    assert_false(ipc_filter_addr_match("a@x.test", "ba@x.test"));
    assert_string_equal(ipc_addr_domain("\"q@q\"@d.test"), "d.test");
    assert_string_equal(ipc_addr_domain("postmaster"), "");
}

static void test_age_buckets(void **state)
{
    const uint64_t min = 60000000u;

    assert_int_equal(ipc_shape_bucket(0), 0);
    assert_int_equal(ipc_shape_bucket(5 * min - 1), 0);
    assert_int_equal(ipc_shape_bucket(5 * min), 1);
    assert_int_equal(ipc_shape_bucket(1279 * min), IPC_SHAPE_BUCKETS - 2);
    assert_int_equal(ipc_shape_bucket(1280 * min), IPC_SHAPE_BUCKETS - 1);
    assert_int_equal(ipc_shape_bucket(UINT64_MAX), IPC_SHAPE_BUCKETS - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_addr_match),
        cmocka_unit_test(test_age_buckets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
