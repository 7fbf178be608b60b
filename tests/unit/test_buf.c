/* test_buf.c - unit tests of the one growable byte buffer, the array helper, the one libuv write helper and the outcome reason setter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "array.h"
#include "buf.h"
#include "reason.h"
#include "uv_write.h"

static void test_append_grows_and_keeps_content(void **state)
{
    struct sg_buf b;
    char big[5000];

    (void)state;
    sg_buf_init(&b);
    memset(big, 'x', sizeof(big));
    for (int i = 0; i < 100; i++)
        assert_int_equal(sg_buf_append(&b, big, sizeof(big)), 0);
    assert_int_equal(b.len, 100 * sizeof(big));
    assert_true(b.cap >= b.len);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] != 'x')
            fail_msg("octet %zu changed", i);
    assert_int_equal(sg_buf_append(&b, NULL, 0), 0);
    sg_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    sg_buf_free(NULL);
}

static void test_printf_puts_keep_a_terminated_string(void **state)
{
    struct sg_buf b = {0};
    char long_text[2000];

    (void)state;
    assert_int_equal(sg_buf_puts(&b, "MAIL FROM:<"), 0);
    assert_int_equal(sg_buf_printf(&b, "%s@%s>", "a", "b.test"), 0);
    assert_string_equal((char *)b.data, "MAIL FROM:<a@b.test>");
    assert_int_equal(b.len, strlen("MAIL FROM:<a@b.test>"));
    memset(long_text, 'y', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = 0;
    assert_int_equal(sg_buf_printf(&b, " %s", long_text), 0);
    assert_int_equal(b.len, strlen("MAIL FROM:<a@b.test>") + 1 + strlen(long_text));
    assert_int_equal(strlen((char *)b.data), b.len);
    sg_buf_free(&b);
}

static void test_consume_reset_detach(void **state)
{
    struct sg_buf b = {0};
    uint8_t *p;
    size_t len = 99;

    (void)state;
    assert_int_equal(sg_buf_append(&b, "abcdef", 6), 0);
    sg_buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "cdef", 4);
    sg_buf_consume(&b, 10);
    assert_int_equal(b.len, 0);
    b.mark = 3;
    sg_buf_reset(&b);
    assert_int_equal(b.mark, 0);
    assert_int_equal(sg_buf_append(&b, "xy", 2), 0);
    p = sg_buf_detach(&b, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(p, "xy", 2);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    free(p);
    assert_null(sg_buf_detach(&b, &len));
    assert_int_equal(len, 0);
}

static void test_overflow_fails_and_stays_failed(void **state)
{
    struct sg_buf b = {0};

    (void)state;
    assert_int_equal(sg_buf_append(&b, "ab", 2), 0);
    assert_int_equal(sg_buf_reserve(&b, SIZE_MAX), -1);
    assert_true(b.failed);
    assert_int_equal(b.len, 2);
    assert_int_equal(sg_buf_append(&b, "c", 1), -1);
    assert_int_equal(sg_buf_puts(&b, "c"), -1);
    assert_int_equal(b.len, 2);
    sg_buf_reset(&b);
    assert_false(b.failed);
    assert_int_equal(sg_buf_append(&b, "c", 1), 0);
    sg_buf_free(&b);
}

/* ---- the write helper, over a socketpair on a real loop ---------------- */

struct written {
    size_t len;
    int status;
    int calls;
};

static void on_written(void *arg, size_t len, int status)
{
    struct written *w = arg;

    w->len += len;
    w->status = status;
    w->calls++;
}

static void test_write_helper_delivers_and_reports(void **state)
{
    uv_loop_t loop;
    uv_pipe_t pipe;
    int sv[2];
    struct sg_buf b = {0};
    struct written w = {0};
    char got[64];

    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(uv_pipe_init(&loop, &pipe, 0), 0);
    assert_int_equal(uv_pipe_open(&pipe, sv[0]), 0);
    assert_int_equal(sg_buf_puts(&b, "hello "), 0);
    assert_int_equal(sg_uv_write_buf((uv_stream_t *)&pipe, &b, on_written, &w), 0);
    assert_null(b.data); /* the write owns the memory now */
    assert_int_equal(sg_uv_write_copy((uv_stream_t *)&pipe, "world", 5, on_written, &w), 0);
    assert_int_equal(sg_uv_write_buf((uv_stream_t *)&pipe, &b, on_written, &w),
                     0); /* empty: no call */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.len, 11);
    assert_int_equal(w.status, 0);
    assert_int_equal(read(sv[1], got, sizeof(got)), 11);
    assert_memory_equal(got, "hello world", 11);
    /* A failed buffer is refused and released; a closing stream is refused. */
    b.failed = 1;
    assert_int_equal(sg_uv_write_buf((uv_stream_t *)&pipe, &b, on_written, &w), UV_ENOMEM);
    uv_close((uv_handle_t *)&pipe, NULL);
    assert_int_equal(sg_uv_write_copy((uv_stream_t *)&pipe, "x", 1, on_written, &w), UV_EPIPE);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(w.calls, 2);
    close(sv[1]);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_read_stream_takes_everything(void **state)
{
    struct sg_buf b = {0};
    FILE *f = tmpfile();
    size_t n = 200000;

    (void)state;
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    rewind(f);
    assert_int_equal(sg_buf_read_stream(&b, f), 0);
    assert_int_equal(b.len, n);
    assert_int_equal(b.data[n], '\0');
    assert_int_equal(b.data[n - 1], 'a' + (int)((n - 1) % 26));
    fclose(f);
    sg_buf_free(&b);
    f = tmpfile(); /* an empty file: an empty string */
    assert_int_equal(sg_buf_read_stream(&b, f), 0);
    assert_int_equal(b.len, 0);
    assert_string_equal((char *)b.data, "");
    fclose(f);
    sg_buf_free(&b);
}

struct pair {
    int a;
    double b;
};

static void test_array_reserve_grows_and_keeps(void **state)
{
    struct pair *v = NULL;
    size_t cap = 0, n = 0;
    char **names = NULL;
    size_t ncap = 0;

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sg_array_reserve(&v, &cap, n + 1, sizeof(*v)), 0);
        assert_true(cap >= n + 1);
        v[n++] = (struct pair){i, i / 2.0};
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v[i].a, i);
    assert_int_equal(sg_array_reserve(&v, &cap, 10, sizeof(*v)), 0); /* room already: unchanged */
    assert_int_equal(sg_array_reserve(&v, &cap, SIZE_MAX / 2, sizeof(*v)),
                     -1); /* too big: left as it was */
    assert_int_equal(v[999].a, 999);
    free(v);
    assert_int_equal(sg_array_reserve(&names, &ncap, 1, sizeof(*names)), 0);
    assert_int_equal(ncap, 8);
    free(names);
}

/* ---- an outcome's status and reason into fixed fields ------------------- */

static void test_reason_set_cuts_to_fit(void **state)
{
    struct {
        char status[6];
        char reply[12];
    } r;

    (void)state;
    SG_REASON_SET(r.status, r.reply, "4.4.1", "%s %d", "unreachable", 7);
    assert_string_equal(r.status, "4.4.1");
    assert_string_equal(r.reply, "unreachable");
    SG_REASON_SET(r.status, r.reply, "5.1.10", "no");
    assert_string_equal(r.status, "5.1.1");
    assert_string_equal(r.reply, "no");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_grows_and_keeps_content),
        cmocka_unit_test(test_printf_puts_keep_a_terminated_string),
        cmocka_unit_test(test_consume_reset_detach),
        cmocka_unit_test(test_overflow_fails_and_stays_failed),
        cmocka_unit_test(test_write_helper_delivers_and_reports),
        cmocka_unit_test(test_reason_set_cuts_to_fit),
        cmocka_unit_test(test_read_stream_takes_everything),
        cmocka_unit_test(test_array_reserve_grows_and_keeps),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
