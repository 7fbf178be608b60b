/* test_store_chksum.c - store_db_chksum: the lane-wise hash gives libdb's log checksum values (__ham_func4) at every length and alignment, and the self-test against libdb's own passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_db_chksum.h"

/* The hash as libdb 5.3 defines it (hash/hash_func.c, __ham_func4): h = h * 33 + octet. */
static uint32_t reference(const uint8_t *k, size_t len)
{
    uint32_t h = 0;

    for (size_t i = 0; i < len; i++)
        h = (h << 5) + h + k[i];
    return h;
}

static uint8_t *random_octets(size_t n)
{
    uint8_t *b = malloc(n);
    uint32_t x = 88172645u;

    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)(x >> 7);
    }
    return b;
}

static void test_every_length_and_alignment(void **state)
{
    uint8_t *b = random_octets(4096 + 64);

    (void)state;
    for (size_t off = 0; off < 32; off++)
        for (size_t len = 0; len <= 700; len++)
            assert_int_equal(store_db_chksum_hash(b + off, len), reference(b + off, len));
    for (size_t len = 4096 - 70; len <= 4096; len++)
        assert_int_equal(store_db_chksum_hash(b + 1, len), reference(b + 1, len));
    free(b);
}

static void test_large_and_extreme_octets(void **state)
{
    size_t n = 256 * 1024 + 13;
    uint8_t *b = random_octets(n);

    (void)state;
    assert_int_equal(store_db_chksum_hash(b, n), reference(b, n));
    memset(b, 0xff, n); /* every lane's sum wraps */
    assert_int_equal(store_db_chksum_hash(b, n), reference(b, n));
    memset(b, 0, n);
    assert_int_equal(store_db_chksum_hash(b, n), 0);
    assert_int_equal(store_db_chksum_hash(b, 0), 0);
    free(b);
}

/* Against the libdb this is linked with: its own __ham_func4 agrees, so ours is used. */
static void test_self_test_against_libdb(void **state)
{
    char why[256] = "";

    (void)state;
    int ok = store_db_chksum_init(why, sizeof(why));

    assert_string_equal(why, "");
    assert_int_equal(ok, 1);
    assert_int_equal(store_db_chksum_init(why, sizeof(why)), 1); /* once is enough */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_length_and_alignment),
        cmocka_unit_test(test_large_and_extreme_octets),
        cmocka_unit_test(test_self_test_against_libdb),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
