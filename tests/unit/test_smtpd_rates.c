/* test_smtpd_rates.c - unit tests of the per-client rate table: counts per window, expiry, the hard cap, one log per window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "smtpd_rates.h"

#define MINUTE 60000u

static void test_counts_per_address_and_kind(void **state)
{
    struct smtpd_rates *t = smtpd_rates_new(100, MINUTE);

    (void)state;
    assert_non_null(t);
    for (unsigned i = 1; i <= 5; i++)
        assert_int_equal(smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_CONNECT, 1000 + i), i);
    assert_int_equal(smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_RCPT, 2000), 1);
    assert_int_equal(smtpd_rates_add(t, "192.0.2.2", SMTPD_RATE_CONNECT, 2000), 1);
    assert_int_equal(smtpd_rates_get(t, "192.0.2.1", SMTPD_RATE_CONNECT, 3000), 5);
    assert_int_equal(smtpd_rates_get(t, "192.0.2.1", SMTPD_RATE_ERROR, 3000), 0);
    assert_int_equal(smtpd_rates_get(t, "2001:db8::1", SMTPD_RATE_CONNECT, 3000), 0);
    assert_int_equal(smtpd_rates_size(t), 2);
    smtpd_rates_free(t);
}

static void test_window_ends(void **state)
{
    struct smtpd_rates *t = smtpd_rates_new(100, MINUTE);

    (void)state;
    assert_int_equal(smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_MAIL, 10000), 1);
    assert_int_equal(smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_MAIL, 10000 + MINUTE - 1), 2);
    /* the window started at the first event: one interval later every count is 0 again */
    assert_int_equal(smtpd_rates_get(t, "192.0.2.1", SMTPD_RATE_MAIL, 10000 + MINUTE), 0);
    assert_int_equal(smtpd_rates_size(t), 0);
    assert_int_equal(smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_MAIL, 10000 + MINUTE), 1);
    smtpd_rates_free(t);
}

static void test_logged_once_per_window(void **state)
{
    struct smtpd_rates *t = smtpd_rates_new(100, MINUTE);

    (void)state;
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_CONNECT, 0), 0); /* unknown */
    smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_CONNECT, 0);
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_CONNECT, 1), 1);
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_CONNECT, 2), 0);
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_CONNECT, MINUTE - 1), 0);
    /* another kind has its own line; so has the next window */
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_ERROR, 3), 1);
    smtpd_rates_add(t, "192.0.2.1", SMTPD_RATE_CONNECT, MINUTE);
    assert_int_equal(smtpd_rates_log_due(t, "192.0.2.1", SMTPD_RATE_CONNECT, MINUTE + 1), 1);
    smtpd_rates_free(t);
}

/* A flood of distinct addresses within one window: the table never holds more than its cap, the
 * oldest go first, and the newest are still counted. */
static void test_flood_is_capped(void **state)
{
    struct smtpd_rates *t = smtpd_rates_new(1000, MINUTE);
    char ip[48];

    (void)state;
    for (unsigned i = 0; i < 200000; i++) {
        snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(smtpd_rates_add(t, ip, SMTPD_RATE_CONNECT, 5000 + i / 1000), 1);
        assert_true(smtpd_rates_size(t) <= 1000);
    }
    assert_int_equal(smtpd_rates_size(t), 1000);
    assert_int_equal(smtpd_rates_evicted(t), 199000);
    assert_int_equal(smtpd_rates_get(t, "10.0.0.0", SMTPD_RATE_CONNECT, 5200), 0);
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", 199999u >> 16, (199999u >> 8) & 255, 199999u & 255);
    assert_int_equal(smtpd_rates_add(t, ip, SMTPD_RATE_CONNECT, 5200), 2);
    smtpd_rates_free(t);
}

/* Addresses seen once each over many windows: expired entries go as new ones come, so the table
 * holds only the last interval's addresses and nothing is evicted early. */
static void test_entries_expire(void **state)
{
    struct smtpd_rates *t = smtpd_rates_new(100000, 1000);
    char ip[48];

    (void)state;
    for (unsigned i = 0; i < 50000; i++) {
        snprintf(ip, sizeof(ip), "2001:db8::%x", i);
        smtpd_rates_add(t, ip, SMTPD_RATE_ERROR, (uint64_t)i * 10); /* 100 per second */
        assert_true(smtpd_rates_size(t) <= 100);
    }
    assert_int_equal(smtpd_rates_evicted(t), 0);
    assert_int_equal(smtpd_rates_get(t, "2001:db8::c34f", SMTPD_RATE_ERROR, 499990), 1);
    assert_int_equal(smtpd_rates_get(t, "2001:db8::c34f", SMTPD_RATE_ERROR, 1000000), 0);
    assert_int_equal(smtpd_rates_size(t), 0);
    smtpd_rates_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_per_address_and_kind),
        cmocka_unit_test(test_window_ends),
        cmocka_unit_test(test_logged_once_per_window),
        cmocka_unit_test(test_flood_is_capped),
        cmocka_unit_test(test_entries_expire),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
