/* test_store_records.c - unit tests of the store's record encoders and decoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_records.h"

static void fill(char *dst, size_t max, char c)
{
    memset(dst, c, max);
    dst[max] = '\0';
}

static void test_envelope_round_trip_at_limits(void **state)
{
    struct rec_envelope e, back;
    uint8_t buf[REC_ENVELOPE_MAX];
    const char *why = NULL;
    size_t n;

    memset(&e, 0, sizeof(e));
    e.qid = UINT64_MAX;
    e.generation = 1700000000000001ull;
    e.arrival_us = 42;
    e.size = (uint64_t)1 << 40;
    e.flags = 7;
    e.ret = 2;
    e.nrcpt = 1000;
    e.nchunks = 65536;
    e.body_bucket = 0xfedcba98u;
    fill(e.sender, IPC_ADDR_MAX, 's');
    fill(e.envid, IPC_ENVID_MAX, 'e');
    fill(e.origin, IPC_ORIGIN_MAX, 'o');
    n = store_rec_envelope_encode(&e, buf);
    assert_true(n <= REC_ENVELOPE_MAX);
    assert_int_equal(store_rec_envelope_decode(buf, n, &back, &why), 0);
    assert_memory_equal(&e, &back, sizeof(e));
}

/* An envelope whose body is in body.db is written as before body buckets were there, and such
 * a record (as older stores hold) reads as body.db's; a partial bucket field does not read. */
static void test_envelope_body_bucket_field(void **state)
{
    struct rec_envelope e = {.qid = 9, .nrcpt = 1, .nchunks = 2}, back;
    uint8_t buf[REC_ENVELOPE_MAX + 4];
    const char *why;
    size_t legacy, n;

    strcpy(e.sender, "alice@example.org");
    legacy = store_rec_envelope_encode(&e, buf);
    assert_int_equal(store_rec_envelope_decode(buf, legacy, &back, &why), 0);
    assert_int_equal(back.body_bucket, 0);
    e.body_bucket = 17;
    n = store_rec_envelope_encode(&e, buf);
    assert_int_equal(n, legacy + 4);
    assert_int_equal(store_rec_envelope_decode(buf, n, &back, &why), 0);
    assert_int_equal(back.body_bucket, 17);
    for (size_t cut = 1; cut < 4; cut++) {
        why = NULL;
        assert_int_equal(store_rec_envelope_decode(buf, legacy + cut, &back, &why), -1);
        assert_non_null(why);
    }
    buf[n] = 0;
    assert_int_equal(store_rec_envelope_decode(buf, n + 1, &back, &why), -1);
}

static void test_rcpt_round_trip_at_limits(void **state)
{
    struct rec_rcpt r, back;
    uint8_t buf[REC_RCPT_MAX];
    const char *why = NULL;
    size_t n;

    memset(&r, 0, sizeof(r));
    r.state = RCPT_HELD;
    r.notify = 0xf;
    r.attempts = 144;
    r.next_attempt_us = UINT64_MAX;
    r.last_attempt_us = 1;
    fill(r.addr, IPC_ADDR_MAX, 'a');
    fill(r.orcpt, IPC_ADDR_MAX, 'b');
    fill(r.route, IPC_ROUTE_MAX, 'r');
    fill(r.last_reply, IPC_REPLY_MAX, 'x');
    n = store_rec_rcpt_encode(&r, buf);
    assert_true(n <= REC_RCPT_MAX);
    assert_int_equal(store_rec_rcpt_decode(buf, n, &back, &why), 0);
    assert_memory_equal(&r, &back, sizeof(r));
}

static void test_every_truncation_is_rejected(void **state)
{
    struct rec_envelope e = {.qid = 1, .nrcpt = 1};
    struct rec_rcpt r = {.state = RCPT_QUEUED};
    uint8_t eb[REC_ENVELOPE_MAX], rb[REC_RCPT_MAX];
    const char *why;
    size_t en, rn;

    strcpy(e.sender, "alice@example.org");
    strcpy(r.addr, "bob@example.net");
    en = store_rec_envelope_encode(&e, eb);
    rn = store_rec_rcpt_encode(&r, rb);
    for (size_t len = 0; len < en; len++) {
        why = NULL;
        assert_int_equal(store_rec_envelope_decode(eb, len, &e, &why), -1);
        assert_non_null(why);
    }
    for (size_t len = 0; len < rn; len++) {
        why = NULL;
        assert_int_equal(store_rec_rcpt_decode(rb, len, &r, &why), -1);
        assert_non_null(why);
    }
}

static void test_bad_records_are_rejected(void **state)
{
    struct rec_rcpt r = {.state = RCPT_QUEUED};
    uint8_t buf[REC_RCPT_MAX + 8];
    const char *why;
    size_t n;

    strcpy(r.addr, "bob@example.net");
    n = store_rec_rcpt_encode(&r, buf);
    buf[0] = REC_VERSION + 1; /* unknown version */
    assert_int_equal(store_rec_rcpt_decode(buf, n, &r, &why), -1);
    assert_string_equal(why, "unknown record version");
    n = store_rec_rcpt_encode(&r, buf);
    buf[n] = 0; /* trailing byte */
    assert_int_equal(store_rec_rcpt_decode(buf, n + 1, &r, &why), -1);
    assert_string_equal(why, "bytes left over after record");
    r.state = RCPT_STATE_COUNT; /* state out of range */
    strcpy(r.addr, "bob@example.net");
    n = store_rec_rcpt_encode(&r, buf);
    assert_int_equal(store_rec_rcpt_decode(buf, n, &r, &why), -1);
    assert_string_equal(why, "recipient state out of range");
    r.state = RCPT_QUEUED; /* the failed decode cleared r: fill it again */
    strcpy(r.addr, "bob@example.net");
    n = store_rec_rcpt_encode(&r, buf);
    buf[1 + 12 + 16 + 2] = '\0'; /* NUL inside the address */
    assert_int_equal(store_rec_rcpt_decode(buf, n, &r, &why), -1);
    assert_string_equal(why, "NUL inside string field");
}

static void test_keys_sort_by_qid_then_index(void **state)
{
    uint8_t a[REC_SUB_KEY_LEN], b[REC_SUB_KEY_LEN];

    store_rec_sub_key(a, 0x0100, 0xffffffffu);
    store_rec_sub_key(b, 0x0101, 0);
    assert_true(memcmp(a, b, sizeof(a)) < 0);
    store_rec_sub_key(a, 5, 1);
    store_rec_sub_key(b, 5, 2);
    assert_true(memcmp(a, b, sizeof(a)) < 0);
    assert_true(store_rec_get_be64(a) == 5 && store_rec_get_be32(a + 8) == 1);
}

/* The offsets the due index, STATS and DUE read without decoding are where the encoder puts the fields. */
static void test_named_offsets_match_the_encoder(void **state)
{
    struct rec_rcpt r = {.state = RCPT_DEFERRED,
                         .notify = 7,
                         .attempts = 3,
                         .next_attempt_us = 0x0102030405060708ULL,
                         .addr = "a@b"};
    uint8_t buf[REC_RCPT_MAX], key[REC_SUB_KEY_LEN];
    size_t len = store_rec_rcpt_encode(&r, buf);

    (void)state;
    assert_true(len >= REC_RCPT_FIXED_LEN);
    assert_int_equal(buf[0], REC_VERSION);
    assert_int_equal(store_rec_get_be32(buf + REC_RCPT_STATE_OFF), RCPT_DEFERRED);
    assert_true(store_rec_get_be64(buf + REC_RCPT_NEXT_ATTEMPT_OFF) == 0x0102030405060708ULL);
    assert_true(REC_RCPT_NEXT_ATTEMPT_OFF + 8 == REC_RCPT_FIXED_LEN);
    store_rec_sub_key(key, 42, 9);
    assert_int_equal(store_rec_get_be32(key + REC_SUB_KEY_N_OFF), 9);
    assert_true(REC_ORIGIN_SEEN_OFF + 8 == REC_ORIGIN_LEN &&
                REC_ORIGIN_QID_OFF + 8 <= REC_ORIGIN_SEEN_OFF);
}

static void test_due_states(void **state)
{
    assert_true(store_rec_rcpt_is_due_state(RCPT_QUEUED));
    assert_true(store_rec_rcpt_is_due_state(RCPT_DEFERRED));
    assert_true(store_rec_rcpt_is_due_state(RCPT_ACTIVE));
    assert_false(store_rec_rcpt_is_due_state(RCPT_DELIVERED));
    assert_false(store_rec_rcpt_is_due_state(RCPT_FAILED));
    assert_false(store_rec_rcpt_is_due_state(RCPT_HELD));
    /* a hold with an end (an undeliverable DSN) is due then; an administrator's is not */
    assert_true(store_rec_rcpt_is_due(RCPT_HELD, 1));
    assert_false(store_rec_rcpt_is_due(RCPT_HELD, 0));
    assert_true(store_rec_rcpt_is_due(RCPT_DEFERRED, 0));
    assert_false(store_rec_rcpt_is_due(RCPT_FAILED, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_round_trip_at_limits),
        cmocka_unit_test(test_envelope_body_bucket_field),
        cmocka_unit_test(test_rcpt_round_trip_at_limits),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_bad_records_are_rejected),
        cmocka_unit_test(test_keys_sort_by_qid_then_index),
        cmocka_unit_test(test_named_offsets_match_the_encoder),
        cmocka_unit_test(test_due_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
