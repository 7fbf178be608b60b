/* test_router_idna.c - unit tests of U-labels to A-labels for domains and addresses (router_idna.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "router_idna.h"
#include "test_util.h"

static void domain_is(const char *in, const char *want)
{
    char out[256], why[200] = "";

    if (router_idna_domain(in, out, sizeof(out), why, sizeof(why)) != 0)
        fail_msg("%s: refused: %s", in, why);
    assert_string_equal(out, want);
}

static void domain_refused(const char *in)
{
    char out[256], why[200] = "";

    assert_int_equal(router_idna_domain(in, out, sizeof(out), why, sizeof(why)), -1);
    assert_true(why[0] != '\0');
}

static void test_ascii_unchanged(void **state)
{
    (void)state;
    domain_is("example.test", "example.test");
    domain_is("Mixed.Case.Test", "Mixed.Case.Test"); /* ASCII is left as it is */
    domain_is("[192.0.2.1]", "[192.0.2.1]");
    domain_is("[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]");
    domain_is("xn--bcher-kva.test", "xn--bcher-kva.test");
}

static void test_u_labels(void **state)
{
    (void)state;
    domain_is("b\xc3\xbc"
              "cher.test",
              "xn--bcher-kva.test");
    domain_is("bu\xcc\x88"
              "cher.test",
              "xn--bcher-kva.test"); /* decomposed: NFC first */
    domain_is("B\xc3\x9c"
              "CHER.test",
              "xn--bcher-kva.test");             /* UTS #46 maps case */
    domain_is("fa\xc3\x9f.de", "xn--fa-hia.de"); /* non-transitional: ß kept */
    domain_is("\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", "xn--fsqu00a.xn--0zwm56d");
}

static void test_refused(void **state)
{
    char out[16], why[200] = "";

    (void)state;
    domain_refused("\xff\xfe.test"); /* not UTF-8 */
    domain_refused("a\xe2\x80\xa8"
                   "b.test"); /* U+2028: disallowed */
    /* Fits as UTF-8, not as A-labels. */
    assert_int_equal(router_idna_domain("b\xc3\xbc"
                                        "cher.test",
                                        out, sizeof(out), why, sizeof(why)),
                     -1);
    assert_non_null(strstr(why, "longer than 15 octets"));
}

static void addr_is(const char *in, const char *want)
{
    char out[320], why[200] = "";

    if (router_idna_addr(in, out, sizeof(out), why, sizeof(why)) != 0)
        fail_msg("%s: not converted: %s", in, why);
    assert_string_equal(out, want);
}

static void test_addresses(void **state)
{
    char out[320], why[200] = "";

    (void)state;
    addr_is("anna@b\xc3\xbc"
            "cher.test",
            "anna@xn--bcher-kva.test");
    addr_is("\"a@b\"@b\xc3\xbc"
            "cher.test",
            "\"a@b\"@xn--bcher-kva.test");
    addr_is("plain@example.test", "plain@example.test");
    addr_is("", ""); /* the null sender */
    addr_is("postmaster", "postmaster");
    assert_int_equal(router_idna_addr("j\xc3\xb6rg@b\xc3\xbc"
                                      "cher.test",
                                      out, sizeof(out), why, sizeof(why)),
                     ROUTER_IDNA_UTF8_LOCAL);
    assert_int_equal(router_idna_addr("x@a\xe2\x80\xa8"
                                      "b.test",
                                      out, sizeof(out), why, sizeof(why)),
                     -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_unchanged),
        cmocka_unit_test(test_u_labels),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
