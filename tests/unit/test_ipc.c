/* test_ipc.c - unit tests of IPC framing, every message codec, every malformed-frame class, the client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc.h"
#include "ipc_client.h"
#include "store_addr.h"

#define QID "001J11E1BRQJG"

/* Encode with `enc`, split, init a reader on the frame. */
static void frame_of(struct sg_buf *b, struct ipc_reader *r)
{
    size_t len = 0;
    const char *err = NULL;

    assert_false(b->failed);
    assert_int_equal(ipc_frame_split(b->data, b->len, &len, &err), 1);
    assert_int_equal(len, b->len);
    assert_int_equal(ipc_reader_init(r, b->data, len), 0);
}

static void fill(char *s, size_t max, char c)
{
    memset(s, c, max);
    s[max] = '\0';
}

#define ROUND_TRIP(name, type, init)                         \
    do {                                                     \
        type in, out;                                        \
        struct sg_buf b;                                     \
        struct ipc_reader r;                                 \
        memset(&in, 0, sizeof(in));                          \
        init;                                                \
        sg_buf_init(&b);                                     \
        assert_int_equal(ipc_encode_##name(&b, 77, &in), 0); \
        frame_of(&b, &r);                                    \
        assert_int_equal(r.request_id, 77);                  \
        if (ipc_decode_##name(&r, &out) != 0)                \
            fail_msg("decode " #name ": %s", r.error);       \
        assert_memory_equal(&in, &out, sizeof(in));          \
        sg_buf_free(&b);                                     \
    } while (0)

static void test_round_trip_every_message(void **state)
{
    ROUND_TRIP(hello, struct ipc_hello, {
        fill(in.program, IPC_NAME_MAX, 'p');
        strcpy(in.role, "smtpd");
        in.major = IPC_PROTO_MAJOR;
        in.minor = 9;
        fill(in.caps_needed, IPC_CAPS_MAX, 'c');
        strcpy(in.caps_offered, "a,b");
        in.generation = UINT64_MAX;
    });
    ROUND_TRIP(error, struct ipc_error, {
        in.code = IPC_ERR_CAPS;
        fill(in.text, IPC_REPLY_MAX, 'e');
    });
    ROUND_TRIP(ok, struct ipc_ok, { in.count = UINT64_MAX; });
    ROUND_TRIP(submit_begin, struct ipc_submit_begin, {
        strcpy(in.sender, "j\xc3\xbcrgen@b\xc3\xbc"
                          "cher.example");
        fill(in.envid, IPC_ENVID_MAX, 'v');
        in.ret = IPC_RET_HDRS;
        in.flags = IPC_FLAG_8BITMIME | IPC_FLAG_SMTPUTF8;
        fill(in.origin, IPC_ORIGIN_MAX, 'o');
    });
    ROUND_TRIP(submit_rcpt, struct ipc_submit_rcpt, {
        fill(in.addr, IPC_ADDR_MAX, 'a');
        strcpy(in.orcpt, "rfc822;x@y");
        in.notify = 0xf;
    });
    ROUND_TRIP(submit_commit, struct ipc_submit_commit, { in.size = UINT64_MAX; });
    ROUND_TRIP(submitted, struct ipc_submitted, {
        strcpy(in.qid, QID);
        in.generation = 5;
        in.duplicate = 1;
    });
    ROUND_TRIP(envelope, struct ipc_envelope, {
        strcpy(in.qid, QID);
        in.generation = 1;
        fill(in.sender, IPC_ADDR_MAX, 's');
        in.arrival_us = 3;
        in.size = 4;
        in.flags = 1;
        in.ret = 1;
        strcpy(in.envid, "e");
        strcpy(in.origin, "o");
        in.nrcpt = 1000;
    });
    ROUND_TRIP(rcpt, struct ipc_rcpt, {
        strcpy(in.qid, QID);
        in.index = 999;
        strcpy(in.addr, "a@b");
        strcpy(in.orcpt, "c");
        in.notify = 2;
        in.state = RCPT_HELD;
        fill(in.route, IPC_ROUTE_MAX, 'r');
        in.attempts = 144;
        in.next_attempt_us = 7;
        in.last_attempt_us = 8;
        fill(in.last_reply, IPC_REPLY_MAX, 'x');
    });
    ROUND_TRIP(end, struct ipc_end, { in.count = 12345; });
    ROUND_TRIP(rcpt_update, struct ipc_rcpt_update, {
        strcpy(in.qid, QID);
        in.index = 1;
        in.state = RCPT_DEFERRED;
        strcpy(in.route, "smtp:[h]:25");
        in.attempts = 2;
        in.next_attempt_us = 9;
        in.last_attempt_us = 10;
        strcpy(in.last_reply, "451 4.7.1 greylisted");
    });
    ROUND_TRIP(list_req, struct ipc_list_req, {
        in.state_mask = 0x3f;
        strcpy(in.match, "example");
        in.limit = 10;
    });
    ROUND_TRIP(due_req, struct ipc_due_req, {
        in.before_us = 99;
        in.limit = 1000;
    });
    ROUND_TRIP(due_item, struct ipc_due_item, {
        strcpy(in.qid, QID);
        in.index = 3;
        in.state = RCPT_QUEUED;
        in.next_attempt_us = 1;
    });
    ROUND_TRIP(stats, struct ipc_stats, {
        in.generation = 1;
        in.messages = 2;
        for (int i = 0; i < RCPT_STATE_COUNT; i++)
            in.by_state[i] = (uint64_t)i * 7;
        in.adopted = 3;
        in.started_us = 4;
    });
    ROUND_TRIP(event, struct ipc_event, {
        in.kind = IPC_EV_REQUEUED;
        strcpy(in.qid, "");
    });
    ROUND_TRIP(repl_site, struct ipc_repl_site, {
        fill(in.name, IPC_NAME_MAX, 'n');
        strcpy(in.addr, "[::1]:7003");
        strcpy(in.role, "replica");
        in.flags = IPC_REPL_LOCAL | IPC_REPL_MASTER | IPC_REPL_CONNECTED;
        in.lsn_file = 7;
        in.lsn_offset = UINT32_MAX;
    });
    ROUND_TRIP(repl_remove, struct ipc_repl_remove, { fill(in.site, IPC_NAME_MAX, 's'); });
    ROUND_TRIP(repl_removed, struct ipc_repl_removed, {
        in.nsites = 3;
        fill(in.text, IPC_REPLY_MAX, 't');
    });
}

static void test_chunk_qid_and_empty_messages(void **state)
{
    static uint8_t data[IPC_CHUNK_MAX];
    struct ipc_chunk in = {data, sizeof(data)}, out;
    struct ipc_qid_msg q = {QID}, qo;
    struct sg_buf b;
    struct ipc_reader r;

    memset(data, 0xa5, sizeof(data));
    sg_buf_init(&b);
    assert_int_equal(ipc_encode_submit_chunk(&b, 1, &in), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_chunk(&r, &out), 0);
    assert_int_equal(out.len, sizeof(data));
    assert_memory_equal(out.data, data, sizeof(data));
    sg_buf_reset(&b);
    assert_int_equal(ipc_encode_qid_msg(&b, IPC_READ_BODY, 2, &q), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_qid_msg(&r, &qo), 0);
    assert_string_equal(qo.qid, QID);
    sg_buf_reset(&b);
    strcpy(q.qid, ""); /* never "every message": that is IPC_ADMIN's explicit ALL flag */
    assert_int_equal(ipc_encode_qid_msg(&b, IPC_REQUEUE, 3, &q), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_qid_msg(&r, &qo), -1);
    sg_buf_reset(&b);
    assert_int_equal(ipc_encode_qid_msg(&b, IPC_DELETE, 3, &q), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_qid_msg(&r, &qo), -1);
    assert_string_equal(r.error, "bad queue id");
    sg_buf_reset(&b);
    assert_int_equal(ipc_encode_empty(&b, IPC_STATS, 4), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_empty(&r), 0);
    sg_buf_reset(&b);
    assert_int_equal(ipc_encode_empty(&b, IPC_SUBSCRIBE_MESSAGES, 5), 0);
    frame_of(&b, &r);
    assert_int_equal(r.type, IPC_SUBSCRIBE_MESSAGES);
    assert_int_equal(ipc_decode_empty(&r), 0);
    assert_string_equal(ipc_type_name(IPC_SUBSCRIBE_MESSAGES), "SUBSCRIBE_MESSAGES");
    sg_buf_reset(&b);
    assert_int_equal(ipc_encode_empty(&b, IPC_HELLO, 4), -1); /* HELLO has fields */
    assert_int_equal(b.len, 0);
    sg_buf_free(&b);
}

/* A chunk written in place (the store reads a body chunk into its frame): the same frame as
 * one encoded from a copy, whatever part of the room was used. */
static void test_chunk_filled_in_place(void **state)
{
    static uint8_t data[1000];
    struct ipc_chunk in = {data, sizeof(data)}, out;
    struct sg_buf a, b;
    struct ipc_reader r;
    uint8_t *at;

    (void)state;
    memset(data, 0x5a, sizeof(data));
    sg_buf_init(&a);
    sg_buf_init(&b);
    assert_int_equal(ipc_encode_chunk(&a, 7, &in), 0);
    assert_non_null(at = ipc_encode_chunk_open(&b, 7));
    memcpy(at, data, sizeof(data));
    assert_int_equal(ipc_encode_chunk_close(&b, at, sizeof(data)), 0);
    assert_int_equal(b.len, a.len);
    assert_memory_equal(b.data, a.data, a.len);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_chunk(&r, &out), 0);
    assert_int_equal(out.len, sizeof(data));
    sg_buf_reset(&b); /* more room than a frame may have: refused, nothing kept */
    ipc_msg_begin(&b, IPC_CHUNK, 8);
    assert_null(ipc_put_bytes_open(&b, IPC_FRAME_MAX + 1));
    assert_int_equal(ipc_msg_end(&b), -1);
    assert_int_equal(b.len, 0);
    sg_buf_reset(&b); /* an empty chunk: no frame, as ipc_encode_chunk refuses one */
    assert_non_null(at = ipc_encode_chunk_open(&b, 9));
    assert_int_equal(ipc_encode_chunk_close(&b, at, 0), -1);
    assert_int_equal(b.len, 0);
    sg_buf_free(&a);
    sg_buf_free(&b);
}

/* ADMIN: every message only with the ALL flag and no qid; a typed qid (even all zeros) is one. */
static void test_admin_all_is_explicit(void **state)
{
    struct ipc_admin_req a = {.op = IPC_OP_HOLD, .flags = IPC_ADMIN_ALL}, o;
    struct sg_buf b;
    struct ipc_reader r;

    sg_buf_init(&b);
    assert_int_equal(ipc_encode_admin_req(&b, 1, &a), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_admin_req(&r, &o), 0);
    assert_int_equal(o.flags, IPC_ADMIN_ALL);
    sg_buf_reset(&b);
    a.flags = 0; /* no flag, no qid: refused */
    assert_int_equal(ipc_encode_admin_req(&b, 2, &a), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_admin_req(&r, &o), -1);
    sg_buf_reset(&b);
    strcpy(a.qid, "0000000000000"); /* qid 0: one message */
    assert_int_equal(ipc_encode_admin_req(&b, 3, &a), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_admin_req(&r, &o), 0);
    assert_int_equal(o.flags, 0);
    assert_string_equal(o.qid, "0000000000000");
    sg_buf_reset(&b);
    a.flags = IPC_ADMIN_ALL; /* the flag and a qid: refused */
    assert_int_equal(ipc_encode_admin_req(&b, 4, &a), 0);
    frame_of(&b, &r);
    assert_int_equal(ipc_decode_admin_req(&r, &o), -1);
    sg_buf_free(&b);
}

static void test_split_needs_whole_frame(void **state)
{
    struct sg_buf b;
    struct ipc_ok ok = {1};
    size_t len;
    const char *err;

    sg_buf_init(&b);
    ipc_encode_ok(&b, 1, &ok);
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(ipc_frame_split(b.data, n, &len, &err), 0);
    assert_int_equal(ipc_frame_split(b.data, b.len, &len, &err), 1);
    sg_buf_free(&b);
}

static void test_bad_lengths(void **state)
{
    const uint8_t zero[] = {0, 0, 0, 0}, three[] = {0, 0, 0, 3}, huge[] = {0, 0x10, 0, 1};
    size_t len;
    const char *err = NULL;

    assert_int_equal(ipc_frame_split(zero, 4, &len, &err), -1);
    assert_string_equal(err, "frame length 0 below minimum 6");
    assert_int_equal(ipc_frame_split(three, 4, &len, &err), -1);
    assert_int_equal(ipc_frame_split(huge, 4, &len, &err), -1);
    assert_non_null(strstr(err, "above maximum"));
}

/* A frame built by hand: header then raw field bytes. */
static void raw_frame(struct sg_buf *b, uint16_t type, const void *fields, size_t n)
{
    sg_buf_reset(b);
    ipc_msg_begin(b, type, 1);
    sg_buf_append(b, fields, n);
    assert_int_equal(ipc_msg_end(b), 0);
}

static void expect_decode_error(struct sg_buf *b, int (*dec)(struct ipc_reader *, void *),
                                const char *expect)
{
    struct ipc_reader r;
    union {
        struct ipc_hello h;
        struct ipc_rcpt rc;
        struct ipc_stats s;
        struct ipc_role ro;
    } out;

    if (ipc_reader_init(&r, b->data, b->len) == 0 && dec(&r, &out) == 0)
        fail_msg("decoded, expected error [%s]", expect);
    if (!strstr(r.error, expect))
        fail_msg("error [%s], expected [%s]", r.error, expect);
}

static int dec_commit(struct ipc_reader *r, void *m)
{
    return ipc_decode_submit_commit(r, m);
}
static int dec_qid(struct ipc_reader *r, void *m)
{
    return ipc_decode_qid_msg(r, m);
}
static int dec_stats_req(struct ipc_reader *r, void *m)
{
    (void)m;
    return ipc_decode_empty(r);
}
static int dec_chunk(struct ipc_reader *r, void *m)
{
    return ipc_decode_chunk(r, m);
}
static int dec_rcpt(struct ipc_reader *r, void *m)
{
    return ipc_decode_rcpt(r, m);
}
static int dec_hello(struct ipc_reader *r, void *m)
{
    return ipc_decode_hello(r, m);
}
static int dec_update(struct ipc_reader *r, void *m)
{
    return ipc_decode_rcpt_update(r, m);
}

static void test_every_malformed_class(void **state)
{
    struct sg_buf b;
    static uint8_t big[IPC_CHUNK_MAX + 10];

    sg_buf_init(&b);
    raw_frame(&b, 999, "", 0);
    /* raw_frame reuses b; every case below must fail to decode */
    expect_decode_error(&b, dec_commit, "unknown message type 999");
    raw_frame(&b, IPC_SUBMIT_COMMIT, "S\0\0\0\1x", 6);
    expect_decode_error(&b, dec_commit, "field 1: expected u64, got tag 0x53");
    raw_frame(&b, IPC_SUBMIT_COMMIT, "Q\0\0\0", 4);
    expect_decode_error(&b, dec_commit, "field 1: truncated");
    raw_frame(&b, IPC_SUBMIT_COMMIT, "", 0);
    expect_decode_error(&b, dec_commit, "field 1: truncated");
    raw_frame(&b, IPC_READ_BODY, "S\0\0", 3);
    expect_decode_error(&b, dec_qid, "field 1: truncated");
    raw_frame(&b, IPC_READ_BODY,
              "S\0\0\0\x0d"
              "001",
              8);
    expect_decode_error(&b, dec_qid, "field 1: truncated");
    raw_frame(&b, IPC_READ_BODY,
              "S\0\0\0\x0d"
              "001J1\0E1BRQJG",
              18);
    expect_decode_error(&b, dec_qid, "NUL byte inside a string");
    raw_frame(&b, IPC_READ_BODY,
              "S\0\0\0\x11"
              "001J11E1BRQJGXXXX",
              22);
    expect_decode_error(&b, dec_qid, "exceeds 15");
    raw_frame(&b, IPC_READ_BODY,
              "S\0\0\0\x0d"
              "001J11E1BRQJW",
              18);
    expect_decode_error(&b, dec_qid, "bad queue id");
    raw_frame(&b, IPC_STATS, "I\0\0\0\7", 5);
    expect_decode_error(&b, dec_stats_req, "5 bytes left over after last field");
    raw_frame(&b, IPC_SUBMIT_CHUNK, "B\0\0\0\0", 5);
    expect_decode_error(&b, dec_chunk, "empty chunk");
    big[0] = 'B';
    big[1] = 0, big[2] = 0x04, big[3] = 0, big[4] = 1; /* 256 KiB + 1 */
    raw_frame(&b, IPC_SUBMIT_CHUNK, big, 5 + IPC_CHUNK_MAX + 1);
    expect_decode_error(&b, dec_chunk, "exceeds");
    raw_frame(&b, IPC_SUBMIT_COMMIT, "Q\0\0\0\0\0\0\0\1", 9);
    expect_decode_error(&b, dec_hello, "SUBMIT_COMMIT frame given to the HELLO decoder");
    {
        struct ipc_rcpt rc = {.qid = QID, .state = RCPT_STATE_COUNT};
        sg_buf_reset(&b);
        ipc_encode_rcpt(&b, 1, &rc);
        expect_decode_error(&b, dec_rcpt, "recipient state out of range");
    }
    {
        struct ipc_rcpt_update u = {.qid = "nope"};
        sg_buf_reset(&b);
        ipc_encode_rcpt_update(&b, 1, &u);
        expect_decode_error(&b, dec_update, "bad queue id");
    }
    sg_buf_free(&b);
}

static void test_oversize_frame_is_not_built(void **state)
{
    static uint8_t data[IPC_CHUNK_MAX];
    struct sg_buf b;

    sg_buf_init(&b);
    ipc_msg_begin(&b, IPC_CHUNK, 1);
    for (int i = 0; i < 5; i++) /* 1.25 MiB > IPC_FRAME_MAX */
        ipc_put_bytes(&b, data, sizeof(data));
    assert_int_equal(ipc_msg_end(&b), -1);
    assert_int_equal(b.len, 0);
    sg_buf_free(&b);
}

static void test_hello_check(void **state)
{
    struct ipc_hello peer = {
        .program = "spoolgate-store", .major = IPC_PROTO_MAJOR, .caps_offered = IPC_CAPS_STORE};
    uint32_t code = 0;
    char why[256];

    assert_int_equal(ipc_hello_check(&peer, "submit,read", &code, why, sizeof(why)), 0);
    assert_int_equal(ipc_hello_check(&peer, "", &code, why, sizeof(why)), 0);
    assert_int_equal(ipc_hello_check(&peer, "submit,teleport", &code, why, sizeof(why)), -1);
    assert_int_equal(code, IPC_ERR_CAPS);
    assert_string_equal(why, "peer spoolgate-store does not offer capability 'teleport'");
    assert_int_equal(ipc_hello_check(&peer, "sub", &code, why, sizeof(why)),
                     -1); /* no prefix match */
    /* A replica offers only admin: a client that needs more is told it is not the master. */
    strcpy(peer.role, IPC_ROLE_REPLICA);
    strcpy(peer.caps_offered, IPC_CAP_ADMIN);
    assert_int_equal(ipc_hello_check(&peer, IPC_CAP_ADMIN, &code, why, sizeof(why)), 0);
    assert_int_equal(ipc_hello_check(&peer, "submit", &code, why, sizeof(why)), -1);
    assert_string_equal(why, "peer spoolgate-store is a replica of a replicated store, not its "
                             "master");
    peer.major = IPC_PROTO_MAJOR + 1;
    assert_int_equal(ipc_hello_check(&peer, "", &code, why, sizeof(why)), -1);
    assert_int_equal(code, IPC_ERR_VERSION);
    assert_non_null(strstr(why, "speaks protocol 2.0, we speak 1."));
}

/* Random mutations of valid frames must be rejected or decoded, never crash. */
static void test_mutation_fuzz(void **state)
{
    uint64_t s = 12345;
    struct sg_buf seed;
    struct ipc_rcpt rc = {.qid = QID, .addr = "a@b", .route = "smtp", .last_reply = "250 ok"};
    struct ipc_hello h = {.program = "x", .major = 1, .caps_needed = "submit"};

    sg_buf_init(&seed);
    ipc_encode_rcpt(&seed, 1, &rc);
    ipc_encode_hello(&seed, 2, &h);
    for (int i = 0; i < 20000; i++) {
        uint8_t *m = malloc(seed.len);
        size_t len = seed.len, off = 0, flen;
        const char *err;

        memcpy(m, seed.data, seed.len);
        for (int k = 0; k < 1 + i % 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            m[(s >> 33) % len] ^= (uint8_t)(s >> 20);
        }
        while (off < len && ipc_frame_split(m + off, len - off, &flen, &err) == 1) {
            struct ipc_reader r;
            union {
                struct ipc_rcpt rc;
                struct ipc_hello h;
            } out;
            if (ipc_reader_init(&r, m + off, flen) == 0)
                (void)(r.type == IPC_RCPT ? ipc_decode_rcpt(&r, &out.rc)
                                          : ipc_decode_hello(&r, &out.h));
            off += flen;
        }
        free(m);
    }
    sg_buf_free(&seed);
}

/* ---- LIST_FROM and UPDATE_BATCH ------------------------------------------------ */

static void test_list_from(void **state)
{
    struct sg_buf fb;
    struct ipc_reader fr;
    struct ipc_list_from fo;

    ROUND_TRIP(list_from, struct ipc_list_from, {
        in.state_mask = (1u << RCPT_QUEUED) | (1u << RCPT_DEFERRED);
        strcpy(in.after_qid, QID);
        in.limit = 500;
    });
    ROUND_TRIP(list_from, struct ipc_list_from, { in.limit = 0; }); /* "" = from the first */
    sg_buf_init(&fb);
    {
        struct ipc_list_from m = {.state_mask = 1u << RCPT_STATE_COUNT};
        ipc_encode_list_from(&fb, 1, &m);
        frame_of(&fb, &fr);
        assert_int_equal(ipc_decode_list_from(&fr, &fo), -1);
        assert_string_equal(fr.error, "state mask out of range");
    }
    {
        struct ipc_list_from m = {.after_qid = "001J11E1BRQJW"};
        sg_buf_reset(&fb);
        ipc_encode_list_from(&fb, 1, &m);
        frame_of(&fb, &fr);
        assert_int_equal(ipc_decode_list_from(&fr, &fo), -1);
        assert_string_equal(fr.error, "bad queue id");
    }
    sg_buf_free(&fb);
}

/* n UPDATE_RCPT frames (request id 0) back to back into inner. */
static void batch_frames(struct sg_buf *inner, unsigned n)
{
    sg_buf_reset(inner);
    for (unsigned i = 0; i < n; i++) {
        struct ipc_rcpt_update u = {.qid = QID, .index = i, .state = RCPT_DEFERRED, .attempts = i};

        snprintf(u.last_reply, sizeof(u.last_reply), "451 4.4.1 try %u", i);
        assert_int_equal(ipc_encode_rcpt_update(inner, 0, &u), 0);
    }
}

/* An UPDATE_BATCH frame of count over the bytes p, n (encoded by hand: the encoder
 * would refuse some of these). */
static void batch_raw(struct sg_buf *b, uint32_t count, const void *p, size_t n)
{
    sg_buf_reset(b);
    ipc_msg_begin(b, IPC_UPDATE_BATCH, 5);
    ipc_put_u32(b, count);
    ipc_put_bytes(b, p, n);
    assert_int_equal(ipc_msg_end(b), 0);
}

static void expect_batch_refused(struct sg_buf *b, const char *expect)
{
    struct ipc_reader r;
    struct ipc_update_batch out;

    assert_int_equal(ipc_reader_init(&r, b->data, b->len), 0);
    if (ipc_decode_update_batch(&r, &out) == 0)
        fail_msg("batch decoded, expected [%s]", expect);
    if (!strstr(r.error, expect))
        fail_msg("error [%s], expected [%s]", r.error, expect);
}

static void test_update_batch_round_trip(void **state)
{
    struct sg_buf inner, b;
    struct ipc_reader r, in;
    struct ipc_update_batch m = {.count = 3}, out;
    size_t off = 0;
    const char *err = NULL;

    sg_buf_init(&inner);
    sg_buf_init(&b);
    batch_frames(&inner, 3);
    m.frames = inner.data;
    m.len = inner.len;
    assert_int_equal(ipc_encode_update_batch(&b, 9, &m), 0);
    frame_of(&b, &r);
    assert_int_equal(r.type, IPC_UPDATE_BATCH);
    assert_int_equal(r.request_id, 9);
    if (ipc_decode_update_batch(&r, &out) != 0)
        fail_msg("decode update_batch: %s", r.error);
    assert_int_equal(out.count, 3);
    assert_int_equal(out.len, inner.len);
    assert_memory_equal(out.frames, inner.data, inner.len);
    /* the frames point into the batch frame and read back as the updates sent */
    assert_true(out.frames > b.data && out.frames + out.len == b.data + b.len);
    for (unsigned i = 0; i < 3; i++) {
        struct ipc_rcpt_update u;
        char want[64];

        assert_int_equal(ipc_frame_next(out.frames, out.len, &off, &in, &err), 1);
        assert_int_equal(ipc_decode_rcpt_update(&in, &u), 0);
        assert_int_equal(u.index, i);
        assert_int_equal(u.attempts, i);
        snprintf(want, sizeof(want), "451 4.4.1 try %u", i);
        assert_string_equal(u.last_reply, want);
    }
    assert_int_equal(off, out.len);
    sg_buf_free(&inner);
    sg_buf_free(&b);
}

static void test_update_batch_refused(void **state)
{
    struct sg_buf inner, b;
    static uint8_t big[IPC_UPDATE_BATCH_MAX + 1];
    uint8_t garbage[300];
    uint64_t s = 99;

    sg_buf_init(&inner);
    sg_buf_init(&b);
    batch_frames(&inner, 3);
    batch_raw(&b, 2, inner.data, inner.len); /* more frames than count */
    expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    batch_raw(&b, 4, inner.data, inner.len); /* fewer */
    expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    batch_raw(&b, 3, inner.data, inner.len - 1); /* the last frame cut short */
    expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    batch_raw(&b, 3, inner.data, inner.len); /* whole and counted right: decodes */
    {
        struct ipc_reader r;
        struct ipc_update_batch out;
        assert_int_equal(ipc_reader_init(&r, b.data, b.len), 0);
        assert_int_equal(ipc_decode_update_batch(&r, &out), 0);
    }
    batch_raw(&b, 0, "", 0); /* empty */
    expect_batch_refused(&b, "empty update batch");
    batch_raw(&b, 1, "", 0);
    expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    {
        struct ipc_ok ok = {.count = 1}; /* an inner frame of another type */
        struct ipc_rcpt_update bad = {.qid = "nope", .state = RCPT_DEFERRED};

        batch_frames(&inner, 1);
        ipc_encode_ok(&inner, 0, &ok);
        batch_raw(&b, 2, inner.data, inner.len);
        expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
        batch_frames(&inner, 1); /* an UPDATE_RCPT with a request id of its own */
        {
            struct ipc_rcpt_update own = {.qid = "001J1LCL7GO6F", .state = RCPT_DEFERRED};
            ipc_encode_rcpt_update(&inner, 7, &own);
        }
        batch_raw(&b, 2, inner.data, inner.len);
        expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
        batch_frames(&inner, 1); /* an UPDATE_RCPT whose fields do not decode */
        ipc_encode_rcpt_update(&inner, 0, &bad);
        batch_raw(&b, 2, inner.data, inner.len);
        expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
        batch_frames(&inner, 1); /* a batch inside a batch */
        {
            struct ipc_update_batch nested = {.count = 1, .frames = inner.data, .len = inner.len};
            struct sg_buf outer;

            sg_buf_init(&outer);
            ipc_encode_update_batch(&outer, 0, &nested);
            batch_raw(&b, 1, outer.data, outer.len);
            sg_buf_free(&outer);
        }
        expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    }
    for (size_t i = 0; i < sizeof(garbage); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        garbage[i] = (uint8_t)(s >> 33);
    }
    garbage[0] = 0, garbage[1] = 0, garbage[2] = 0, garbage[3] = 40; /* a plausible length */
    batch_raw(&b, 1, garbage, sizeof(garbage));
    expect_batch_refused(&b, "not count whole UPDATE_RCPT frames");
    /* over IPC_UPDATE_BATCH_MAX: the decoder refuses it, the encoder does not build it */
    big[0] = 'x';
    batch_raw(&b, 1, big, sizeof(big));
    expect_batch_refused(&b, "exceeds");
    {
        struct ipc_update_batch m = {.count = 1, .frames = big, .len = sizeof(big)};
        sg_buf_reset(&b);
        assert_int_equal(ipc_encode_update_batch(&b, 1, &m), -1);
        assert_int_equal(b.len, 0);
    }
    sg_buf_reset(&b); /* a field missing: no frames at all */
    ipc_msg_begin(&b, IPC_UPDATE_BATCH, 5);
    ipc_put_u32(&b, 1);
    assert_int_equal(ipc_msg_end(&b), 0);
    expect_batch_refused(&b, "truncated");
    sg_buf_free(&inner);
    sg_buf_free(&b);
}

/* Random mutations of a valid batch are refused or decoded, never crash, and
 * whatever decodes holds exactly count frames that decode. */
static void test_update_batch_fuzz(void **state)
{
    struct sg_buf inner, seed;
    struct ipc_update_batch m = {.count = 4};
    uint64_t s = 777;

    sg_buf_init(&inner);
    sg_buf_init(&seed);
    batch_frames(&inner, 4);
    m.frames = inner.data;
    m.len = inner.len;
    assert_int_equal(ipc_encode_update_batch(&seed, 1, &m), 0);
    for (int i = 0; i < 20000; i++) {
        uint8_t *p = malloc(seed.len);
        struct ipc_reader r, in;
        struct ipc_update_batch out;

        memcpy(p, seed.data, seed.len);
        for (int k = 0; k < 1 + i % 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            p[(s >> 33) % seed.len] ^= (uint8_t)(s >> 20);
        }
        if (ipc_reader_init(&r, p, seed.len) == 0 && r.type == IPC_UPDATE_BATCH &&
            ipc_decode_update_batch(&r, &out) == 0) {
            size_t off = 0;
            const char *err = NULL;
            for (uint32_t n = 0; n < out.count; n++) {
                struct ipc_rcpt_update u;
                assert_int_equal(ipc_frame_next(out.frames, out.len, &off, &in, &err), 1);
                assert_int_equal(ipc_decode_rcpt_update(&in, &u), 0);
            }
            assert_int_equal(off, out.len);
        }
        free(p);
    }
    sg_buf_free(&inner);
    sg_buf_free(&seed);
}

/* ---- IPC_ROLE, who is master, and which of a client's addresses the master is -------- */

static int dec_role(struct ipc_reader *r, void *m)
{
    return ipc_decode_role(r, m);
}

/* role's fields as the encoder writes them (past the 10-octet header), into f. */
static void role_fields(const struct ipc_role *role, struct sg_buf *f)
{
    struct sg_buf b;

    sg_buf_init(&b);
    assert_int_equal(ipc_encode_role(&b, 0, role), 0);
    sg_buf_reset(f);
    sg_buf_append(f, b.data + 10, b.len - 10);
    sg_buf_free(&b);
}

static void test_role_message(void **state)
{
    struct ipc_role m = {.role = "master", .site = "a", .master = "a", .generation = 0};
    struct sg_buf fb, ff;

    ROUND_TRIP(role, struct ipc_role, {
        strcpy(in.role, IPC_ROLE_MASTER);
        fill(in.site, IPC_NAME_MAX, 's');
        fill(in.master, IPC_NAME_MAX, 'm');
        fill(in.master_addr, IPC_STORE_ADDR_MAX, 'a');
        in.generation = UINT64_MAX;
    });
    ROUND_TRIP(role, struct ipc_role, { strcpy(in.role, "starting"); }); /* no master known */
    assert_string_equal(ipc_type_name(IPC_ROLE), "ROLE");
    sg_buf_init(&fb);
    sg_buf_init(&ff);
    ipc_encode_role(&fb, 0, &m); /* a master without a generation */
    expect_decode_error(&fb, dec_role, "a master without a generation");
    m.role[0] = '\0';
    m.generation = 3;
    sg_buf_reset(&fb);
    ipc_encode_role(&fb, 0, &m);
    expect_decode_error(&fb, dec_role, "role message without a role");
    strcpy(m.role, "replica");
    m.generation = 0; /* only a master has one */
    role_fields(&m, &ff);
    raw_frame(&fb, IPC_ROLE, ff.data, ff.len - 1); /* the generation cut short */
    expect_decode_error(&fb, dec_role, "field 5: truncated");
    raw_frame(&fb, IPC_ROLE, ff.data, 12); /* the role alone ("replica" is 7 octets) */
    expect_decode_error(&fb, dec_role, "field 2: truncated");
    raw_frame(&fb, IPC_ROLE, ff.data, ff.len); /* whole: decodes */
    {
        struct ipc_reader r;
        struct ipc_role out;

        assert_int_equal(ipc_reader_init(&r, fb.data, fb.len), 0);
        assert_int_equal(ipc_decode_role(&r, &out), 0);
        assert_string_equal(out.role, "replica");
    }
    sg_buf_append(&ff, "I\0\0\0\7", 5);
    raw_frame(&fb, IPC_ROLE, ff.data, ff.len);
    expect_decode_error(&fb, dec_role, "5 bytes left over after last field");
    sg_buf_free(&fb);
    sg_buf_free(&ff);
}

static void test_role_check(void **state)
{
    struct ipc_hello peer = {.program = "spoolgate-store",
                             .role = IPC_ROLE_REPLICA,
                             .major = IPC_PROTO_MAJOR,
                             .caps_offered = "admin,role"};
    struct ipc_role role = {.role = "replica", .site = "b", .master = "c"};
    uint32_t code = 0;
    char why[512] = "";

    strcpy(role.master_addr, "tcp:10.0.0.3:2790");
    /* spoolctl repl needs only what a replica offers: served */
    assert_int_equal(
        ipc_role_check(&role, &peer, IPC_ROLE_REPL_CLIENT, "admin", &code, why, sizeof(why)), 0);
    /* everyone else goes no further with a site that is not master */
    assert_int_equal(ipc_role_check(&role, &peer, "admin", "admin", &code, why, sizeof(why)), -1);
    assert_int_equal(
        ipc_role_check(&role, &peer, IPC_ROLE_REPL_CLIENT, "submit", &code, why, sizeof(why)), -1);
    assert_int_equal(code, IPC_ERR_TEMP);
    assert_string_equal(why, "not master: the role of spoolgate-store (site b) is replica; the "
                             "master is c at tcp:10.0.0.3:2790");
    code = 0;
    assert_int_equal(ipc_role_check(&role, &peer, "smtpd", "submit", &code, why, sizeof(why)), -1);
    assert_int_equal(code, IPC_ERR_TEMP);
    assert_true(strncmp(why, "not master", 10) == 0);
    assert_non_null(strstr(why, "the master is c at tcp:10.0.0.3:2790"));
    role.master[0] = role.master_addr[0] = '\0';
    assert_int_equal(ipc_role_check(&role, &peer, "smtpd", "submit", &code, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "the master is not known yet"));
    strcpy(role.master, "c");
    assert_int_equal(ipc_role_check(&role, &peer, "smtpd", "submit", &code, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "the master is c (no store address for it in store.repl_ipc)"));
    /* a master serves whoever it is asked by (its hello decides the capabilities) */
    strcpy(role.role, IPC_ROLE_MASTER);
    role.generation = 9;
    strcpy(peer.caps_offered, IPC_CAPS_STORE ",role");
    assert_int_equal(ipc_role_check(&role, &peer, "smtpd", "submit", &code, why, sizeof(why)), 0);
    assert_int_equal(ipc_role_check(&role, &peer, "router", "", &code, why, sizeof(why)), 0);
}

static void test_addr_find(void **state)
{
    struct sc_addr_list l;
    char why[160];

    assert_int_equal(sc_addr_parse("/run/a/store.sock tcp:10.0.0.2:2790 tcp:[fd00::1]:2790 "
                                   "tcp:[::1]:7 tcp:[::]:9",
                                   &l, why, sizeof(why)),
                     0);
    assert_int_equal(sc_addr_find(&l, "/run/a/store.sock"), 0);
    assert_int_equal(sc_addr_find(&l, "unix:/run/a/store.sock"), 0);
    assert_int_equal(sc_addr_find(&l, "tcp:10.0.0.2:2790"), 1);
    assert_int_equal(sc_addr_find(&l, "tcp:[fd00:0::1]:2790"), 2);
    assert_int_equal(sc_addr_find(&l, "tcp:[fd00:0000:0:0:0:0:0:0001]:2790"), 2);
    assert_int_equal(sc_addr_find(&l, "tcp:[0:0::1]:7"), 3);
    assert_int_equal(sc_addr_find(&l, "tcp:[::1]:7"), 3);
    /* not one of them: another path, port, address or family */
    assert_int_equal(sc_addr_find(&l, "/run/b/store.sock"), -1);
    assert_int_equal(sc_addr_find(&l, "/run/a/store.sock/"), -1);
    assert_int_equal(sc_addr_find(&l, "tcp:10.0.0.2:2791"), -1);
    assert_int_equal(sc_addr_find(&l, "tcp:10.0.0.3:2790"), -1);
    assert_int_equal(sc_addr_find(&l, "tcp:[::ffff:10.0.0.2]:2790"), -1);
    assert_int_equal(sc_addr_find(&l, "tcp:[::1]:2790"), -1);
    assert_int_equal(sc_addr_find(&l, "tcp:[0::0]:9"), 4);
    assert_int_equal(sc_addr_find(&l, "tcp:0.0.0.0:9"), -1);
    /* not an address */
    assert_int_equal(sc_addr_find(&l, "tcp:mail.example:2790"), -1);
    assert_int_equal(sc_addr_find(&l, "relative/store.sock"), -1);
    assert_int_equal(sc_addr_find(&l, "/run/a/store.sock tcp:10.0.0.2:2790"), -1); /* two */
    assert_int_equal(sc_addr_find(&l, ""), -1);
    assert_int_equal(sc_addr_find(&l, NULL), -1);
}

/* ---- the client against a forked fake store ---------------------------------- */

#define BURST_FRAMES 20000u

/* After the hello, BURST_FRAMES OK frames (count = their number) in writes of an odd size, so
 * frames straddle the client's reads and many lie in each. */
static void fake_burst(int fd)
{
    struct sg_buf b;

    sg_buf_init(&b);
    for (uint32_t i = 0; i < BURST_FRAMES; i++) {
        struct ipc_ok ok = {.count = i};
        ipc_encode_ok(&b, i + 1, &ok);
    }
    for (size_t off = 0; off < b.len; off += 7777)
        if (write(fd, b.data + off, b.len - off < 7777 ? b.len - off : 7777) < 0)
            _exit(1);
    sg_buf_free(&b);
}

/* How many of the burst the client read whole and in order. */
static uint32_t read_burst(struct ipc_client *c)
{
    uint32_t n = 0;
    struct ipc_reader r;
    struct ipc_ok ok;

    while (n < BURST_FRAMES && ipc_client_recv(c, &r, 5000) == 0 && r.request_id == n + 1 &&
           ipc_decode_ok(&r, &ok) == 0 && ok.count == n)
        n++;
    return n;
}

static uint32_t burst_read;

/* mode 0: our hello; 1: an error instead; 2: the hello, then fake_burst. */
static void fake_store(int fd, uint32_t major, int mode)
{
    struct sg_buf b;
    struct ipc_hello h = {.program = "spoolgate-store",
                          .role = "store",
                          .major = major,
                          .caps_offered = IPC_CAPS_STORE,
                          .generation = 4242};
    struct ipc_error e = {.code = IPC_ERR_TEMP, .text = "store is busy"};
    uint8_t buf[4096];

    sg_buf_init(&b);
    if (mode == 1)
        ipc_encode_error(&b, 0, &e);
    else
        ipc_encode_hello(&b, 0, &h);
    if (write(fd, b.data, b.len) < 0)
        _exit(1);
    if (mode == 2)
        fake_burst(fd);
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    sg_buf_free(&b);
    _exit(0);
}

/* A fake store on a real Unix socket, so ipc_client_connect runs as in use. */
static int connect_fake(struct ipc_client *c, uint32_t major, int mode)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char dir[] = "/tmp/test-ipc.XXXXXX";
    int ret = -1, lfd;
    pid_t pid;

    assert_non_null(mkdtemp(dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    if ((pid = fork()) == 0) {
        int fd = accept(lfd, NULL, NULL);
        fake_store(fd, major, mode);
    }
    close(lfd);
    ret = ipc_client_connect(c, sa.sun_path, "test", "test", "submit");
    if (ret == 0 && mode == 2)
        burst_read = read_burst(c);
    if (ret == 0)
        ipc_client_close(c);
    waitpid(pid, NULL, 0);
    unlink(sa.sun_path);
    rmdir(dir);
    return ret;
}

static void test_client_hello_exchange(void **state)
{
    struct ipc_client c;

    assert_int_equal(connect_fake(&c, IPC_PROTO_MAJOR, 0), 0);
    assert_true(c.peer.generation == 4242);
    assert_int_equal(connect_fake(&c, 2, 0), -1);
    assert_non_null(strstr(c.error, "speaks protocol 2.0"));
    assert_int_equal(connect_fake(&c, IPC_PROTO_MAJOR, 1), -1);
    assert_non_null(strstr(c.error, "store is busy"));
}

/* Frames that arrive many to a read, or split across reads, are each read whole, in order. */
static void test_client_reads_a_burst(void **state)
{
    struct ipc_client c;

    assert_int_equal(connect_fake(&c, IPC_PROTO_MAJOR, 2), 0);
    assert_int_equal(burst_read, BURST_FRAMES);
}

static void test_client_connect_refused(void **state)
{
    struct ipc_client c;

    assert_int_equal(ipc_client_connect(&c, "/nonexistent/store.sock", "t", "t", ""), -1);
    assert_non_null(strstr(c.error, "/nonexistent/store.sock: cannot connect"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_message),
        cmocka_unit_test(test_chunk_qid_and_empty_messages),
        cmocka_unit_test(test_chunk_filled_in_place),
        cmocka_unit_test(test_split_needs_whole_frame),
        cmocka_unit_test(test_admin_all_is_explicit),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_every_malformed_class),
        cmocka_unit_test(test_oversize_frame_is_not_built),
        cmocka_unit_test(test_hello_check),
        cmocka_unit_test(test_mutation_fuzz),
        cmocka_unit_test(test_list_from),
        cmocka_unit_test(test_update_batch_round_trip),
        cmocka_unit_test(test_update_batch_refused),
        cmocka_unit_test(test_update_batch_fuzz),
        cmocka_unit_test(test_role_message),
        cmocka_unit_test(test_role_check),
        cmocka_unit_test(test_addr_find),
        cmocka_unit_test(test_client_hello_exchange),
        cmocka_unit_test(test_client_reads_a_burst),
        cmocka_unit_test(test_client_connect_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
