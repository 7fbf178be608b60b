/* test_qid.c - unit tests of queue id allocation and text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qid.h"

static void test_format_parse_round_trip(void **state)
{
    const uint64_t values[] = {0, 1, 31, 32, 1700000000000000ull, UINT64_MAX - 1, UINT64_MAX};
    char text[QID_TEXT_LEN + 1];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint64_t back = 0;
        qid_format(values[i], text);
        assert_int_equal(strlen(text), QID_TEXT_LEN);
        assert_int_equal(qid_parse(text, &back), 0);
        assert_true(back == values[i]);
    }
}

static void test_text_sorts_like_number(void **state)
{
    uint64_t a = 1700000000000000ull;
    char ta[QID_TEXT_LEN + 1], tb[QID_TEXT_LEN + 1];

    for (uint64_t step = 1; step < (1ull << 40); step *= 7) {
        qid_format(a, ta);
        qid_format(a + step, tb);
        assert_true(strcmp(ta, tb) < 0);
    }
}

static void test_parse_rejects_bad_text(void **state)
{
    const char *bad[] = {"",
                         "0",
                         "000000000000",
                         "00000000000000",
                         "0000000000W00",
                         "000000000000a",
                         "G000000000000",
                         "00000000000 0",
                         "-000000000000"};
    uint64_t v;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(qid_parse(bad[i], &v), -1);
}

static void test_allocation_strictly_increases(void **state)
{
    struct qid_alloc a;
    uint64_t prev;

    qid_alloc_init(&a, 5000);
    prev = qid_next(&a, 1000); /* clock behind the floor */
    assert_true(prev == 5001);
    for (int i = 0; i < 10000; i++) {
        uint64_t n = qid_next(&a, 4000 + (uint64_t)(i % 3)); /* clock stuck or stepping back */
        assert_true(n > prev);
        prev = n;
    }
    assert_true(qid_next(&a, 1000000) == 1000000); /* clock ahead: follows it */
}

static void test_now_is_plausible(void **state)
{
    uint64_t t = now_us();

    assert_true(t > 1600000000000000ull); /* after 2020 */
    assert_true(now_us() >= t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_text_sorts_like_number),
        cmocka_unit_test(test_parse_rejects_bad_text),
        cmocka_unit_test(test_allocation_strictly_increases),
        cmocka_unit_test(test_now_is_plausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
