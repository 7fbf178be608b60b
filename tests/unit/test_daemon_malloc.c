/* test_daemon_malloc.c - unit tests of daemon_malloc_reuse: message-sized buffers stay in the heap, larger ones are still given back. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon_malloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_MALLOC_REPLACED 1
#endif
#endif

/* A sanitizer's malloc answers neither mallopt nor mallinfo2 as glibc does. */
static int setup(void **state)
{
    (void)state;
#ifdef TEST_MALLOC_REPLACED
    return 0;
#else
    return daemon_malloc_reuse();
#endif
}

static void skip_if_replaced(void)
{
#ifdef TEST_MALLOC_REPLACED
    skip();
#endif
}

/* A 256 KiB message's staging (and twice that) is carved from the heap, not mapped: with
 * glibc's defaults the first such block is mapped (above 128 KiB) and given back when freed. */
static void test_message_sized_block_is_not_mapped(void **state)
{
    (void)state;
    skip_if_replaced();
    for (size_t size = 256 * 1024; size <= DAEMON_MALLOC_MMAP_THRESHOLD / 2; size *= 2) {
        struct mallinfo2 before = mallinfo2(), during;
        char *p = malloc(size);

        assert_non_null(p);
        memset(p, 'x', size);
        during = mallinfo2();
        assert_int_equal(during.hblks, before.hblks);
        assert_int_equal(during.hblkhd, before.hblkhd);
        free(p);
    }
}

/* Freed, it stays with the process for the next message: the heap does not shrink. */
static void test_freed_block_is_kept(void **state)
{
    enum { N = 16, SIZE = 512 * 1024 };
    char *p[N];
    struct mallinfo2 full, after;

    (void)state;
    skip_if_replaced();
    for (int i = 0; i < N; i++) {
        assert_non_null(p[i] = malloc(SIZE));
        memset(p[i], 'y', SIZE);
    }
    full = mallinfo2();
    for (int i = N - 1; i >= 0; i--)
        free(p[i]);
    after = mallinfo2();
    assert_true(after.arena >= full.arena);
    assert_true(after.fordblks >= (size_t)N * SIZE);
}

/* Past the threshold, a block bigger than the free memory kept at the heap's top (at most
 * the trim threshold) is mapped as before, and so given back whole when freed. */
static void test_large_block_is_still_mapped(void **state)
{
    struct mallinfo2 before, during, after;
    char *p;

    (void)state;
    skip_if_replaced();
    before = mallinfo2();
    assert_non_null(p = malloc(2 * (size_t)DAEMON_MALLOC_TRIM_THRESHOLD));
    during = mallinfo2();
    assert_int_equal(during.hblks, before.hblks + 1);
    free(p);
    after = mallinfo2();
    assert_int_equal(after.hblks, before.hblks);
}

int main(void)
{
#ifdef TEST_MALLOC_REPLACED
    /* A skipped cmocka test is "not ok # SKIP" in TAP, which the driver counts as failed. */
    printf("1..0 # SKIP malloc is the sanitizer's here, not glibc's\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_sized_block_is_not_mapped),
        cmocka_unit_test(test_freed_block_is_kept),
        cmocka_unit_test(test_large_block_is_still_mapped),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
