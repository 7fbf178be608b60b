/* test_smtp_body.c - unit tests of the DATA/BDAT body filter (smuggling, unstuffing, bare CR/LF, lines, headers, splits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp_body.h"
#include "smtp_char.h"

#define STR(s) (const uint8_t *)(s), (sizeof(s) - 1)
#define ALL_ERR (BODY_ERR_BARE_LF | BODY_ERR_BARE_CR | BODY_ERR_LONG_LINE)

/* ---- deterministic PRNG (splitmix64) ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return (size_t)(rng_next(s) % n);
}

/* ---- result of running a whole input through the filter ---- */

struct run {
    uint8_t *out; /* malloc'd */
    size_t outlen;
    size_t consumed;
    int ended;      /* BODY_EV_END seen */
    int hdr_end;    /* BODY_EV_HEADERS_END seen */
    size_t hdr_in;  /* input offset of the blank line's CR when reported */
    size_t hdr_out; /* output length when reported */
    unsigned errors;
    int in_headers;
    unsigned received;
    int saw_date;
    int saw_message_id;
    uint64_t out_total;
    size_t calls;
};

enum split_kind { SPLIT_ALL, SPLIT_BYTE, SPLIT_RANDOM, SPLIT_CUTS };
enum cap_kind { CAP_BIG, CAP_ONE, CAP_RANDOM };

/* How input arrives and how much output room each call gets. */
struct plan {
    enum split_kind split;
    enum cap_kind cap;
    uint64_t seed;
    size_t max_chunk;   /* SPLIT_RANDOM: chunks of 1..max_chunk octets */
    const size_t *cuts; /* SPLIT_CUTS: input arrives up to each cut in turn */
    size_t ncuts;
    int finish; /* call smtp_body_filter_finish() at the end */
};

static void run_free(struct run *r)
{
    free(r->out);
    r->out = NULL;
}

/* Feed in[0..len) like a server would: input "arrives" in chunks; octets not
 * consumed by a call are presented again (with any newly arrived ones) on the
 * next call.  Checks the per-call contract on the way. */
static void drive(enum body_mode mode, size_t max_line, const uint8_t *in, size_t len,
                  const struct plan *pl, struct run *r)
{
    struct body_filter f;
    uint64_t rs = pl->seed;
    size_t arrived = 0, cut = 0, bufcap = len + 16;
    int stalled = 0;

    memset(r, 0, sizeof(*r));
    r->out = malloc(bufcap);
    assert_non_null(r->out);
    smtp_body_filter_init(&f, mode, max_line);
    assert_int_equal(f.in_headers, 1);
    assert_int_equal(f.errors, 0);

    while (!r->ended && r->consumed < len) {
        size_t room, cap, used, ol, avail;
        enum body_event ev;
        uint8_t *o;

        if (r->consumed == arrived) {
            switch (pl->split) {
            case SPLIT_ALL:
                arrived = len;
                break;
            case SPLIT_BYTE:
                arrived++;
                break;
            case SPLIT_RANDOM:
                arrived += 1 + rng_below(&rs, pl->max_chunk ? pl->max_chunk : 7);
                break;
            case SPLIT_CUTS:
                while (cut < pl->ncuts && pl->cuts[cut] <= arrived)
                    cut++;
                arrived = cut < pl->ncuts ? pl->cuts[cut] : len;
                break;
            }
            if (arrived > len)
                arrived = len;
        }
        room = bufcap - r->outlen;
        switch (pl->cap) {
        case CAP_BIG:
            cap = room;
            break;
        case CAP_ONE:
            cap = 1;
            break;
        case CAP_RANDOM:
        default:
            cap = rng_below(&rs, 9);
            break;
        }
        if (stalled && cap == 0)
            cap = 1;
        if (cap > room)
            cap = room;
        o = r->out + r->outlen;
        if (cap <= 16)
            memset(o, 0xA5, cap);
        avail = arrived - r->consumed;
        ol = (size_t)-1;
        ev = (enum body_event)99;
        used = smtp_body_filter_feed(&f, in + r->consumed, avail, o, cap, &ol, &ev);
        r->calls++;
        assert_true(used <= avail);
        assert_true(ol <= cap);
        if (cap <= 16)
            for (size_t k = ol; k < cap; k++)
                assert_int_equal(o[k], 0xA5); /* nothing written past *outlen */
        /* unstuffing only removes octets: output never runs ahead of input */
        assert_true(r->outlen + ol <= r->consumed + used);
        r->outlen += ol;
        r->consumed += used;
        assert_true(f.out_total == r->outlen);
        switch (ev) {
        case BODY_EV_END:
            assert_int_equal(mode, BODY_MODE_DATA);
            r->ended = 1;
            break;
        case BODY_EV_HEADERS_END:
            assert_false(r->hdr_end); /* at most once */
            assert_int_equal(f.in_headers, 0);
            assert_true(r->consumed < arrived); /* the CR is there, unconsumed */
            assert_int_equal(in[r->consumed], '\r');
            r->hdr_end = 1;
            r->hdr_in = r->consumed;
            r->hdr_out = r->outlen;
            break;
        case BODY_EV_NONE:
            /* stopped early only because out was full */
            assert_true(r->consumed == arrived || ol == cap);
            break;
        default:
            fail_msg("bad event %d", (int)ev);
        }
        stalled = used == 0 && ol == 0 && ev == BODY_EV_NONE;
        assert_true(r->calls < 4 * len + 64); /* always makes progress */
    }
    if (r->ended && r->consumed < len) {
        /* after the end, the filter takes nothing more */
        size_t ol = 1;
        enum body_event ev = BODY_EV_NONE;
        uint8_t tmp[4];
        assert_int_equal(smtp_body_filter_feed(&f, in + r->consumed, len - r->consumed, tmp,
                                               sizeof(tmp), &ol, &ev),
                         0);
        assert_int_equal(ol, 0);
        assert_int_equal(ev, BODY_EV_END);
    }
    {
        /* an empty feed is harmless */
        size_t ol = 1;
        enum body_event ev = BODY_EV_HEADERS_END;
        uint8_t tmp[1];
        assert_int_equal(smtp_body_filter_feed(&f, in, 0, tmp, sizeof(tmp), &ol, &ev), 0);
        assert_int_equal(ol, 0);
        assert_int_equal(ev, r->ended ? BODY_EV_END : BODY_EV_NONE);
    }
    if (pl->finish)
        smtp_body_filter_finish(&f);
    r->errors = f.errors;
    r->in_headers = f.in_headers;
    r->received = f.received;
    r->saw_date = f.saw_date;
    r->saw_message_id = f.saw_message_id;
    r->out_total = f.out_total;
    assert_true(r->out_total == r->outlen);
    assert_int_equal(r->errors & ~ALL_ERR, 0);
}

/* ---- an independent, whole-buffer, line-oriented reference model ---- */

static int name_is(const uint8_t *p, size_t n, const char *name)
{
    if (strlen(name) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        if (c != (uint8_t)name[i])
            return 0;
    }
    return 1;
}

static void reference(enum body_mode mode, size_t max_line, const uint8_t *in, size_t len,
                      int finish, struct run *r)
{
    size_t p = 0;

    memset(r, 0, sizeof(*r));
    r->out = malloc(len + 16);
    assert_non_null(r->out);
    r->in_headers = 1;
    while (p < len) {
        size_t q = p, e, s, ce;
        int complete;

        /* a line runs up to and including the first CR LF */
        while (q + 1 < len && !(in[q] == '\r' && in[q + 1] == '\n'))
            q++;
        complete = q + 1 < len;
        e = complete ? q + 2 : len;
        if (r->in_headers && in[p] == '\r') {
            r->in_headers = 0;
            r->hdr_end = 1;
            r->hdr_in = p;
            r->hdr_out = r->outlen;
        }
        if (mode == BODY_MODE_DATA && complete && e - p == 3 && in[p] == '.') {
            r->ended = 1;
            p = e;
            break;
        }
        if (max_line && e - p > max_line)
            r->errors |= BODY_ERR_LONG_LINE;
        s = p;
        if (mode == BODY_MODE_DATA && in[p] == '.') {
            if (!complete && (e - p == 1 || (e - p == 2 && in[p + 1] == '\r'))) {
                p = e; /* "." or ".\r" still undecided: held back */
                break;
            }
            s = p + 1; /* stuffing dot */
        }
        ce = complete ? e - 2 : e;
        if (r->in_headers) {
            const uint8_t *colon = s < ce ? memchr(in + s, ':', ce - s) : NULL;
            if (colon) {
                size_t n = (size_t)(colon - (in + s));
                if (name_is(in + s, n, "received"))
                    r->received++;
                else if (name_is(in + s, n, "date"))
                    r->saw_date = 1;
                else if (name_is(in + s, n, "message-id"))
                    r->saw_message_id = 1;
            }
        }
        memcpy(r->out + r->outlen, in + s, e - s);
        r->outlen += e - s;
        p = e;
    }
    r->consumed = p;
    for (size_t i = 0; i < p; i++) {
        if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
            r->errors |= BODY_ERR_BARE_LF;
        if (in[i] == '\r' &&
            ((i + 1 < p && in[i + 1] != '\n') || (i + 1 == p && finish && !r->ended)))
            r->errors |= BODY_ERR_BARE_CR;
    }
    r->out_total = r->outlen;
}

static void assert_same(const struct run *a, const struct run *b)
{
    assert_int_equal(a->outlen, b->outlen);
    if (a->outlen)
        assert_memory_equal(a->out, b->out, a->outlen);
    assert_int_equal(a->consumed, b->consumed);
    assert_int_equal(a->ended, b->ended);
    assert_int_equal(a->hdr_end, b->hdr_end);
    if (a->hdr_end) {
        assert_int_equal(a->hdr_in, b->hdr_in);
        assert_int_equal(a->hdr_out, b->hdr_out);
    }
    assert_int_equal(a->errors, b->errors);
    assert_int_equal(a->in_headers, b->in_headers);
    assert_int_equal(a->received, b->received);
    assert_int_equal(a->saw_date, b->saw_date);
    assert_int_equal(a->saw_message_id, b->saw_message_id);
    assert_true(a->out_total == b->out_total);
}

/* Run in[] all at once with a big buffer into *canon, then byte by byte,
 * with an output buffer of one octet, with random splits and random (also
 * zero) output room, and against the reference model: all must agree. */
static void run_everywhere(enum body_mode mode, size_t max_line, const uint8_t *in, size_t len,
                           int finish, uint64_t seed, struct run *canon)
{
    struct run other;
    struct plan pl;

    memset(&pl, 0, sizeof(pl));
    pl.finish = finish;
    pl.split = SPLIT_ALL;
    pl.cap = CAP_BIG;
    drive(mode, max_line, in, len, &pl, canon);

    reference(mode, max_line, in, len, finish, &other);
    assert_same(canon, &other);
    run_free(&other);

    pl.split = SPLIT_BYTE;
    drive(mode, max_line, in, len, &pl, &other);
    assert_same(canon, &other);
    run_free(&other);

    pl.cap = CAP_ONE;
    drive(mode, max_line, in, len, &pl, &other);
    assert_same(canon, &other);
    run_free(&other);

    pl.split = SPLIT_ALL;
    drive(mode, max_line, in, len, &pl, &other);
    assert_same(canon, &other);
    run_free(&other);

    for (int k = 0; k < 4; k++) {
        pl.split = SPLIT_RANDOM;
        pl.max_chunk = k == 0 ? 3 : 17;
        pl.cap = k & 1 ? CAP_RANDOM : CAP_BIG;
        pl.seed = seed * 131 + (uint64_t)k;
        drive(mode, max_line, in, len, &pl, &other);
        assert_same(canon, &other);
        run_free(&other);
    }
}

static void expect_out(const struct run *r, const uint8_t *want, size_t wlen)
{
    assert_int_equal(r->outlen, wlen);
    if (wlen)
        assert_memory_equal(r->out, want, wlen);
}

/* ---- tests ---- */

static void test_normal_message(void **state)
{
    static const char msg[] = "Received: from a by b\r\n"
                              "Subject: hi\r\n"
                              "\r\n"
                              "Hello\r\n"
                              "World.\r\n"
                              ".\r\n"
                              "QUIT\r\n";
    static const char want[] = "Received: from a by b\r\nSubject: hi\r\n\r\nHello\r\nWorld.\r\n";
    struct body_filter f;
    uint8_t out[256];
    size_t ol, used, len = sizeof(msg) - 1;
    enum body_event ev;
    struct run r;

    /* by hand: the header end, then the end */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    used = smtp_body_filter_feed(&f, (const uint8_t *)msg, len, out, sizeof(out), &ol, &ev);
    assert_int_equal(ev, BODY_EV_HEADERS_END);
    assert_int_equal(used, strlen("Received: from a by b\r\nSubject: hi\r\n"));
    assert_int_equal(ol, used);
    assert_memory_equal(out, msg, ol);
    assert_int_equal(f.in_headers, 0);
    assert_int_equal(f.received, 1);
    size_t used2, ol2;
    used2 = smtp_body_filter_feed(&f, (const uint8_t *)msg + used, len - used, out + ol,
                                  sizeof(out) - ol, &ol2, &ev);
    assert_int_equal(ev, BODY_EV_END);
    assert_int_equal(used + used2, len - strlen("QUIT\r\n"));
    assert_int_equal(ol + ol2, sizeof(want) - 1);
    assert_memory_equal(out, want, sizeof(want) - 1);
    assert_int_equal(f.errors, 0);
    assert_true(f.out_total == sizeof(want) - 1);
    assert_int_equal(f.saw_date, 0);
    assert_int_equal(f.saw_message_id, 0);

    run_everywhere(BODY_MODE_DATA, 1000, STR(msg), 1, 0, &r);
    expect_out(&r, STR(want));
    assert_int_equal(r.consumed, len - 6);
    assert_true(r.ended);
    assert_int_equal(r.errors, 0);
    run_free(&r);
}

static void test_dot_unstuffing(void **state)
{
    static const char msg[] = "\r\n"
                              "..x\r\n"
                              "..\r\n"
                              "...\r\n"
                              ". \r\n"
                              ".a.b\r\n"
                              "x.\r\n"
                              "a..\r\n"
                              ".\r\n";
    static const char want[] = "\r\n"
                               ".x\r\n"
                               ".\r\n"
                               "..\r\n"
                               " \r\n"
                               "a.b\r\n"
                               "x.\r\n"
                               "a..\r\n";
    struct run r;

    run_everywhere(BODY_MODE_DATA, 1000, STR(msg), 0, 2, &r);
    expect_out(&r, STR(want));
    assert_true(r.ended);
    assert_int_equal(r.consumed, sizeof(msg) - 1);
    assert_int_equal(r.errors, 0);
    assert_true(r.hdr_end);
    assert_int_equal(r.hdr_in, 0);
    assert_int_equal(r.hdr_out, 0);
    run_free(&r);

    /* a held dot at the end of the input is not written */
    run_everywhere(BODY_MODE_DATA, 1000, STR("a\r\n."), 0, 3, &r);
    expect_out(&r, STR("a\r\n"));
    assert_int_equal(r.consumed, 4);
    assert_false(r.ended);
    run_free(&r);
    run_everywhere(BODY_MODE_DATA, 1000, STR("a\r\n.\r"), 0, 4, &r);
    expect_out(&r, STR("a\r\n"));
    assert_int_equal(r.consumed, 5);
    assert_int_equal(r.errors, 0);
    run_free(&r);
}

static void test_empty_message(void **state)
{
    struct body_filter f;
    uint8_t out[8];
    size_t ol;
    enum body_event ev;
    struct run r;

    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR(".\r\nQUIT\r\n"), out, sizeof(out), &ol, &ev),
                     3);
    assert_int_equal(ev, BODY_EV_END);
    assert_int_equal(ol, 0);
    assert_int_equal(f.in_headers, 1); /* the end came in the headers */
    assert_true(f.out_total == 0);
    assert_int_equal(f.errors, 0);

    /* even with no output room at all */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR(".\r\n"), out, 0, &ol, &ev), 3);
    assert_int_equal(ev, BODY_EV_END);

    run_everywhere(BODY_MODE_DATA, 1000, STR(".\r\nQUIT\r\n"), 0, 5, &r);
    assert_true(r.ended);
    assert_int_equal(r.consumed, 3);
    assert_int_equal(r.outlen, 0);
    assert_false(r.hdr_end);
    assert_int_equal(r.in_headers, 1);
    run_free(&r);

    /* only a blank line: header end at 0, the CRLF belongs to the message */
    run_everywhere(BODY_MODE_DATA, 1000, STR("\r\n.\r\n"), 0, 6, &r);
    assert_true(r.ended);
    expect_out(&r, STR("\r\n"));
    assert_true(r.hdr_end);
    assert_int_equal(r.hdr_in, 0);
    assert_int_equal(r.in_headers, 0);
    run_free(&r);

    /* header fields, end without a blank line */
    run_everywhere(BODY_MODE_DATA, 1000, STR("Date: x\r\n.\r\n"), 0, 7, &r);
    assert_true(r.ended);
    expect_out(&r, STR("Date: x\r\n"));
    assert_false(r.hdr_end);
    assert_int_equal(r.in_headers, 1);
    assert_int_equal(r.saw_date, 1);
    run_free(&r);
}

struct smuggle_case {
    const char
        *middle;      /* put between "Subject: s\r\n\r\nA" and "MAIL FROM:<x@y>\r\n.\r\nQUIT\r\n" */
    const char *want; /* expected output of the middle part */
    unsigned errors;
};

static void test_smuggling_variants(void **state)
{
    static const struct smuggle_case cases[] = {
        {"\n.\n", "\n.\n", BODY_ERR_BARE_LF},
        {"\r.\r", "\r.\r", BODY_ERR_BARE_CR},
        {"\n.\r\n", "\n.\r\n", BODY_ERR_BARE_LF},
        {"\r.\r\n", "\r.\r\n", BODY_ERR_BARE_CR},
        {"\r\n.\n", "\r\n\n", BODY_ERR_BARE_LF},
        {"\r\n.\r\r\n", "\r\n\r\r\n", BODY_ERR_BARE_CR},
        {"\r\n.\rX", "\r\n\rX", BODY_ERR_BARE_CR},
        {"\r\n.\r", "\r\n\r", BODY_ERR_BARE_CR}, /* followed by "MAIL ..." */
        {"\n\n.\n\n", "\n\n.\n\n", BODY_ERR_BARE_LF},
        {"\r\r.\r\r", "\r\r.\r\r", BODY_ERR_BARE_CR},
        {"\n.\n\r\n", "\n.\n\r\n", BODY_ERR_BARE_LF},
        {"\r\n.\n\r\n", "\r\n\n\r\n", BODY_ERR_BARE_LF},
        {"\r\n. \r\n", "\r\n \r\n", 0},
        {"\r\n..\r\n", "\r\n.\r\n", 0},
        {"\r\n.\r.\r\n", "\r\n\r.\r\n", BODY_ERR_BARE_CR},
        {"\r\n\n.\n\r\n", "\r\n\n.\n\r\n", BODY_ERR_BARE_LF},
        {"\r\n.\n.\r\n", "\r\n\n.\r\n", BODY_ERR_BARE_LF},
    };
    static const char head[] = "Subject: s\r\n\r\nA";
    static const char tail[] = "MAIL FROM:<x@y>\r\n.\r\nQUIT\r\n";
    static const char tailout[] = "MAIL FROM:<x@y>\r\n";
    uint8_t msg[256], want[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *wmid = cases[i].want;
        size_t n = 0, wn = 0;
        struct run r;

        memcpy(msg + n, head, strlen(head)), n += strlen(head);
        memcpy(msg + n, cases[i].middle, strlen(cases[i].middle)), n += strlen(cases[i].middle);
        memcpy(msg + n, tail, strlen(tail)), n += strlen(tail);
        memcpy(want + wn, head, strlen(head)), wn += strlen(head);
        memcpy(want + wn, wmid, strlen(wmid)), wn += strlen(wmid);
        memcpy(want + wn, tailout, strlen(tailout)), wn += strlen(tailout);

        run_everywhere(BODY_MODE_DATA, 1000, msg, n, 0, 100 + i, &r);
        assert_true(r.ended); /* only at the real terminator */
        assert_int_equal(r.consumed, n - strlen("QUIT\r\n"));
        expect_out(&r, want, wn); /* the smuggled command stays message text */
        assert_int_equal(r.errors, cases[i].errors);
        run_free(&r);

        /* without the real terminator the message never ends */
        run_everywhere(BODY_MODE_DATA, 1000, msg, n - strlen(".\r\nQUIT\r\n"), 0, 200 + i, &r);
        assert_false(r.ended);
        assert_int_equal(r.consumed, n - strlen(".\r\nQUIT\r\n"));
        run_free(&r);
    }

    /* A real CRLF.CRLF ends the message even after a bare CR or LF (the
     * flag makes the caller refuse it, at the right moment). */
    {
        struct run r;
        run_everywhere(BODY_MODE_DATA, 1000, STR("a\r\r\n.\r\nQUIT\r\n"), 0, 9, &r);
        assert_true(r.ended);
        assert_int_equal(r.consumed, 7);
        expect_out(&r, STR("a\r\r\n"));
        assert_int_equal(r.errors, BODY_ERR_BARE_CR);
        run_free(&r);
        run_everywhere(BODY_MODE_DATA, 1000, STR("a\n\r\n.\r\nQUIT\r\n"), 0, 10, &r);
        assert_true(r.ended);
        assert_int_equal(r.consumed, 7);
        assert_int_equal(r.errors, BODY_ERR_BARE_LF);
        run_free(&r);
    }

    /* Variants at the very start of the message (no line before). */
    {
        static const char *starts[] = {".\n",     ".\r\r\n", ".\rX\r\n", "\n.\n",
                                       "\r.\r\n", "\n.\r\n", ". \r\n"};
        for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
            uint8_t m[64];
            size_t n = strlen(starts[i]);
            struct run r;
            memcpy(m, starts[i], n);
            memcpy(m + n, "X\r\n.\r\n", 6);
            run_everywhere(BODY_MODE_DATA, 1000, m, n + 6, 0, 300 + i, &r);
            assert_true(r.ended);
            assert_int_equal(r.consumed, n + 6);
            run_free(&r);
        }
    }
}

static void test_terminator_split_everywhere(void **state)
{
    static const char msg[] = "Subject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n";
    static const char want[] = "Subject: s\r\n\r\nbody\r\n";
    const size_t len = sizeof(msg) - 1;
    const size_t end = len - strlen("QUIT\r\n");

    /* one cut anywhere, two cuts anywhere */
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            struct plan pl = {SPLIT_CUTS, CAP_BIG, 0, 0, cuts, 2, 0};
            struct run r;

            for (int capk = 0; capk < 3; capk++) {
                pl.cap = (enum cap_kind)capk;
                pl.seed = a * 1000 + b;
                drive(BODY_MODE_DATA, 1000, STR(msg), &pl, &r);
                assert_true(r.ended);
                assert_int_equal(r.consumed, end);
                expect_out(&r, STR(want));
                assert_int_equal(r.errors, 0);
                assert_true(r.hdr_end);
                assert_int_equal(r.hdr_in, 12);
                assert_int_equal(r.hdr_out, 12);
                run_free(&r);
            }
        }
    }

    /* the same with a smuggling attempt "\r\n.\r" + "\r\n" split everywhere */
    {
        static const char bad[] = "\r\nA\r\n.\r\r\nB\r\n.\r\n";
        static const char badwant[] = "\r\nA\r\n\r\r\nB\r\n";
        for (size_t a = 0; a <= sizeof(bad) - 1; a++) {
            size_t cuts[1] = {a};
            struct plan pl = {SPLIT_CUTS, CAP_ONE, 0, 0, cuts, 1, 0};
            struct run r;
            drive(BODY_MODE_DATA, 1000, STR(bad), &pl, &r);
            assert_true(r.ended);
            assert_int_equal(r.consumed, sizeof(bad) - 1);
            expect_out(&r, STR(badwant));
            assert_int_equal(r.errors, BODY_ERR_BARE_CR);
            run_free(&r);
        }
    }
}

struct flag_case {
    const char *in;
    unsigned errors;
    int ended;
};

static void test_bare_cr_lf_flags(void **state)
{
    static const struct flag_case cases[] = {
        {"a\r\nb\r\n.\r\n", 0, 1},
        {"a\nb\r\n.\r\n", BODY_ERR_BARE_LF, 1},
        {"\nb\r\n.\r\n", BODY_ERR_BARE_LF, 1},
        {"a\rb\r\n.\r\n", BODY_ERR_BARE_CR, 1},
        {"\rb\r\n.\r\n", BODY_ERR_BARE_CR, 1},
        {"a\r\r\n.\r\n", BODY_ERR_BARE_CR, 1},
        {"a\n\r\n.\r\n", BODY_ERR_BARE_LF, 1},
        {"a\r\nb\n\rc\r\n.\r\n", BODY_ERR_BARE_LF | BODY_ERR_BARE_CR, 1},
        {"a\r\n\n\r\n.\r\n", BODY_ERR_BARE_LF, 1},
        {"\r\n\r\n\r\n.\r\n", 0, 1},
        {"a\r\n.\n", BODY_ERR_BARE_LF, 0},
        {"a\r\n.\rb", BODY_ERR_BARE_CR, 0},
        {"a\r", 0, 0}, /* pending CR: not decided yet */
        {"a\r\n.\r", 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_everywhere(BODY_MODE_DATA, 1000, (const uint8_t *)cases[i].in, strlen(cases[i].in), 0,
                       i, &r);
        assert_int_equal(r.errors, cases[i].errors);
        assert_int_equal(r.ended, cases[i].ended);
        run_free(&r);
    }

    /* bare CR and LF are passed through unchanged */
    {
        struct run r;
        run_everywhere(BODY_MODE_DATA, 1000, STR("x: y\n\rz\r\n\r\na\rb\nc\r\n.\r\n"), 0, 77, &r);
        expect_out(&r, STR("x: y\n\rz\r\n\r\na\rb\nc\r\n"));
        assert_int_equal(r.errors, BODY_ERR_BARE_CR | BODY_ERR_BARE_LF);
        run_free(&r);
    }
}

static void make_line(uint8_t *buf, size_t text, int dot)
{
    size_t n = 0;

    if (dot)
        buf[n++] = '.';
    for (; n < text; n++)
        buf[n] = (uint8_t)('a' + n % 26);
    buf[n++] = '\r';
    buf[n++] = '\n';
}

static void test_line_length(void **state)
{
    static uint8_t msg[8192];
    struct run r;

    for (size_t wire = 990; wire <= 1010; wire++) {
        for (int dot = 0; dot <= 1; dot++) {
            size_t n;
            make_line(msg, wire - 2, dot); /* a line of 'wire' octets incl. CRLF */
            n = wire;
            memcpy(msg + n, ".\r\n", 3);
            n += 3;
            run_everywhere(BODY_MODE_DATA, 1000, msg, n, 0, wire * 2 + (uint64_t)dot, &r);
            assert_true(r.ended);
            assert_int_equal(r.outlen,
                             wire - (size_t)dot); /* unstuffed, but measured on the wire */
            assert_int_equal(r.errors, wire > 1000 ? BODY_ERR_LONG_LINE : 0);
            run_free(&r);

            run_everywhere(BODY_MODE_BDAT, 1000, msg, wire, 1, wire, &r);
            assert_int_equal(r.outlen, wire);
            assert_int_equal(r.errors, wire > 1000 ? BODY_ERR_LONG_LINE : 0);
            run_free(&r);
        }
    }

    /* two adjacent lines of 1000 are fine; the limit is per line */
    make_line(msg, 998, 0);
    make_line(msg + 1000, 998, 0);
    make_line(msg + 2000, 998, 1);
    memcpy(msg + 3000, ".\r\n", 3);
    run_everywhere(BODY_MODE_DATA, 1000, msg, 3003, 0, 1, &r);
    assert_true(r.ended);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.outlen, 2999);
    run_free(&r);

    /* exactly 1000 / 1001 in the header section too */
    memcpy(msg, "Subject: ", 9);
    memset(msg + 9, 's', 989);
    memcpy(msg + 998, "\r\n\r\n.\r\n", 7);
    run_everywhere(BODY_MODE_DATA, 1000, msg, 1005, 0, 2, &r);
    assert_int_equal(r.errors, 0);
    run_free(&r);
    memcpy(msg, "Subject: ", 9);
    memset(msg + 9, 's', 990);
    memcpy(msg + 999, "\r\n\r\n.\r\n", 7);
    run_everywhere(BODY_MODE_DATA, 1000, msg, 1006, 0, 3, &r);
    assert_int_equal(r.errors, BODY_ERR_LONG_LINE);
    run_free(&r);

    /* a bare LF does not end a line */
    memset(msg, 'x', 600);
    msg[600] = '\n';
    memset(msg + 601, 'y', 600);
    memcpy(msg + 1201, "\r\n.\r\n", 5);
    run_everywhere(BODY_MODE_DATA, 1000, msg, 1206, 0, 4, &r);
    assert_true(r.ended);
    assert_int_equal(r.errors, BODY_ERR_BARE_LF | BODY_ERR_LONG_LINE);
    run_free(&r);

    /* max_line 0: no limit */
    memset(msg, 'x', 5000);
    memcpy(msg + 5000, "\r\n.\r\n", 5);
    run_everywhere(BODY_MODE_DATA, 0, msg, 5005, 0, 5, &r);
    assert_true(r.ended);
    assert_int_equal(r.errors, 0);
    run_free(&r);
    run_everywhere(BODY_MODE_DATA, 1000, msg, 5005, 0, 6, &r);
    assert_int_equal(r.errors, BODY_ERR_LONG_LINE);
    run_free(&r);

    /* a small limit */
    run_everywhere(BODY_MODE_DATA, 5, STR("abc\r\nabcd\r\n.\r\n"), 0, 7, &r);
    assert_int_equal(r.errors, BODY_ERR_LONG_LINE);
    run_free(&r);
    run_everywhere(BODY_MODE_DATA, 5, STR("abc\r\n.abc\r\n.\r\n"), 0, 8, &r);
    assert_int_equal(r.errors, BODY_ERR_LONG_LINE); /* 6 wire octets, though 5 unstuffed */
    run_free(&r);
    run_everywhere(BODY_MODE_DATA, 5, STR("abc\r\n.ab\r\n.\r\n"), 0, 9, &r);
    assert_int_equal(r.errors, 0);
    run_free(&r);
}

struct header_case {
    const char *headers; /* the header section, blank line included */
    unsigned received;
    int date;
    int mid;
};

static void test_header_detection(void **state)
{
    static const struct header_case cases[] = {
        {"Received: a\r\nRECEIVED: b\r\nreceived:c\r\nReCeIvEd:\r\n\r\n", 4, 0, 0},
        {"Subject: x\r\n Received: y\r\n\tReceived: z\r\n\r\n", 0, 0, 0},
        {"X-Received: a\r\nReceived : b\r\nReceivedx: c\r\nReceived\r\nReceive: d\r\n\r\n", 0, 0,
         0},
        {"Date: Mon, 1 Jan 2024\r\n\r\n", 0, 1, 0},
        {"DATE:x\r\n\r\n", 0, 1, 0},
        {"Dates: x\r\n Date: y\r\n\r\n", 0, 0, 0},
        {"Message-ID: <a@b>\r\n\r\n", 0, 0, 1},
        {"message-id:<a@b>\r\n\r\n", 0, 0, 1},
        {"MESSAGE-Id: <a@b>\r\n\r\n", 0, 0, 1},
        {"Message-IDs: <a@b>\r\nResent-Message-ID: x\r\nMessage_ID: y\r\n\r\n", 0, 0, 0},
        {"Subject: Date: Received: Message-ID:\r\n\r\n", 0, 0, 0},
        {"X:Date:Received:Message-ID:\r\n\r\n", 0, 0, 0}, /* only the first colon ends the name */
        {"Received: a\r\n\r\nReceived: b\r\nDate: c\r\nMessage-ID: d\r\n", 1, 0,
         0},                                /* body fields do not count */
        {".Date: x\r\n\r\n", 0, 1, 0},      /* unstuffed to "Date: x" */
        {"..Date: x\r\n\r\n", 0, 0, 0},     /* unstuffed to ".Date: x" */
        {".\rDate: x\r\n\r\n", 0, 0, 0},    /* unstuffed to "\rDate: x" (bare CR) */
        {"X: y\nDate: x\r\n\r\n", 0, 0, 0}, /* after a bare LF: not a line start */
        {"Received: a\r\n"
         "Date: b\r\n"
         "Message-ID: c\r\n"
         "Received: d\r\n"
         "\r\n",
         2, 1, 1},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t msg[512];
        size_t n = strlen(cases[i].headers);
        struct run r;

        memcpy(msg, cases[i].headers, n);
        memcpy(msg + n, "body\r\n.\r\n", 9);
        run_everywhere(BODY_MODE_DATA, 1000, msg, n + 9, 0, 40 + i, &r);
        assert_true(r.ended);
        assert_int_equal(r.received, cases[i].received);
        assert_int_equal(r.saw_date, cases[i].date);
        assert_int_equal(r.saw_message_id, cases[i].mid);
        run_free(&r);

        if (msg[0] == '.')
            continue; /* no unstuffing in BDAT */
        run_everywhere(BODY_MODE_BDAT, 1000, msg, n + 9, 1, 60 + i, &r);
        assert_int_equal(r.received, cases[i].received);
        assert_int_equal(r.saw_date, cases[i].date);
        assert_int_equal(r.saw_message_id, cases[i].mid);
        run_free(&r);
    }
}

static void test_received_counted_101_times(void **state)
{
    static uint8_t msg[8192];
    size_t n = 0;
    struct run r;

    for (int i = 0; i < 101; i++) {
        static const char *forms[] = {"Received: from x by y; %d\r\n", "received:%d\r\n",
                                      "RECEIVED: %d\r\n"};
        const char *form = forms[i % 3];
        const char *pct = strstr(form, "%d");
        memcpy(msg + n, form, (size_t)(pct - form));
        n += (size_t)(pct - form);
        msg[n++] = (uint8_t)('0' + i % 10);
        memcpy(msg + n, pct + 2, strlen(pct + 2));
        n += strlen(pct + 2);
        if (i % 10 == 0) {
            memcpy(msg + n, "\tReceived: continuation\r\n", 25);
            n += 25;
        }
    }
    memcpy(msg + n, "Date: now\r\nMessage-ID: <1@x>\r\n\r\nReceived: body\r\n.\r\n", 52);
    n += 52;
    run_everywhere(BODY_MODE_DATA, 1000, msg, n, 0, 101, &r);
    assert_true(r.ended);
    assert_int_equal(r.received, 101);
    assert_int_equal(r.saw_date, 1);
    assert_int_equal(r.saw_message_id, 1);
    assert_int_equal(r.in_headers, 0);
    assert_int_equal(r.errors, 0);
    run_free(&r);
}

static void test_headers_end_position(void **state)
{
    static const char msg[] = "From: a\r\nTo: b\r\n\r\nbody\r\n\r\nmore\r\n.\r\n";
    const size_t hlen = strlen("From: a\r\nTo: b\r\n");
    struct body_filter f;
    uint8_t out[128];
    size_t ol, used, total;
    enum body_event ev;
    struct run r;

    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    used = smtp_body_filter_feed(&f, STR(msg), out, sizeof(out), &ol, &ev);
    assert_int_equal(ev, BODY_EV_HEADERS_END);
    assert_int_equal(used, hlen);
    assert_int_equal(ol, hlen);
    assert_memory_equal(out, "From: a\r\nTo: b\r\n",
                        hlen); /* ends just before the blank line's CR */
    assert_int_equal(msg[used], '\r');
    assert_int_equal(f.in_headers, 0);
    /* the caller may add fields here, then goes on: CRLF comes next */
    total = ol;
    used += smtp_body_filter_feed(&f, (const uint8_t *)msg + used, sizeof(msg) - 1 - used,
                                  out + total, sizeof(out) - total, &ol, &ev);
    assert_int_equal(ev, BODY_EV_END); /* no second HEADERS_END at the second blank line */
    assert_memory_equal(out + total, "\r\nbody\r\n\r\nmore\r\n", ol);
    assert_int_equal(ol, strlen("\r\nbody\r\n\r\nmore\r\n"));
    assert_int_equal(used, sizeof(msg) - 1);

    /* byte by byte: the CR is presented, refused once, then taken */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    total = 0;
    for (size_t i = 0; i < sizeof(msg) - 1;) {
        used = smtp_body_filter_feed(&f, (const uint8_t *)msg + i, 1, out + total, 1, &ol, &ev);
        if (i == hlen && f.in_headers == 0 && ev == BODY_EV_HEADERS_END) {
            assert_int_equal(used, 0);
            assert_int_equal(ol, 0);
            assert_int_equal(total, hlen);
        } else {
            assert_int_not_equal(ev, BODY_EV_HEADERS_END);
        }
        i += used;
        total += ol;
        if (ev == BODY_EV_END)
            break;
    }
    assert_int_equal(total, sizeof(msg) - 1 - 3);

    /* reported with no output room, and with the CR as the last input octet */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    used = smtp_body_filter_feed(&f, STR("A: b\r\n"), out, sizeof(out), &ol, &ev);
    assert_int_equal(used, 6);
    assert_int_equal(ev, BODY_EV_NONE);
    used = smtp_body_filter_feed(&f, STR("\r"), out, 0, &ol, &ev);
    assert_int_equal(used, 0);
    assert_int_equal(ev, BODY_EV_HEADERS_END);
    used = smtp_body_filter_feed(&f, STR("\r"), out, 0, &ol, &ev);
    assert_int_equal(used, 0);
    assert_int_equal(ev, BODY_EV_NONE); /* needs room for the CR now */
    used = smtp_body_filter_feed(&f, STR("\r"), out, 1, &ol, &ev);
    assert_int_equal(used, 1);
    assert_int_equal(ol, 1);
    assert_int_equal(ev, BODY_EV_NONE);

    /* message starting with the blank line (no header fields) */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    used = smtp_body_filter_feed(&f, STR("\r\nx\r\n.\r\n"), out, sizeof(out), &ol, &ev);
    assert_int_equal(used, 0);
    assert_int_equal(ol, 0);
    assert_int_equal(ev, BODY_EV_HEADERS_END);

    run_everywhere(BODY_MODE_DATA, 1000, STR(msg), 0, 11, &r);
    assert_true(r.hdr_end);
    assert_int_equal(r.hdr_in, hlen);
    assert_int_equal(r.hdr_out, hlen);
    run_free(&r);

    /* a dot-stuffed header line before the blank line */
    run_everywhere(BODY_MODE_DATA, 1000, STR("..A: b\r\n\r\nc\r\n.\r\n"), 0, 12, &r);
    assert_true(r.hdr_end);
    assert_int_equal(r.hdr_in, 8);
    assert_int_equal(r.hdr_out, 7);
    expect_out(&r, STR(".A: b\r\n\r\nc\r\n"));
    run_free(&r);
}

static void test_small_output_buffer(void **state)
{
    static const char msg[] = "Received: x\r\n\r\n..dot\r\n.\rbare\r\nline\r\n.\r\nNEXT";
    static const char want[] = "Received: x\r\n\r\n.dot\r\n\rbare\r\nline\r\n";
    struct body_filter f;
    uint8_t out[128];
    size_t ol, used, pos = 0, total = 0, calls = 0;
    enum body_event ev = BODY_EV_NONE;

    /* out of size 1: at most one octet per call, all input eventually */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    while (ev != BODY_EV_END) {
        used = smtp_body_filter_feed(&f, (const uint8_t *)msg + pos, sizeof(msg) - 1 - pos,
                                     out + total, 1, &ol, &ev);
        assert_true(ol <= 1);
        assert_true(used <= 4); /* one written, then at most ".\r\n" of the end */
        pos += used;
        total += ol;
        assert_true(++calls < 200);
    }
    assert_int_equal(total, sizeof(want) - 1);
    assert_memory_equal(out, want, total);
    assert_int_equal(pos, sizeof(msg) - 1 - 4);
    assert_true(f.out_total == total);
    assert_int_equal(f.errors, BODY_ERR_BARE_CR);

    /* no room at all: nothing that needs writing is consumed */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR("abc"), out, 0, &ol, &ev), 0);
    assert_int_equal(ol, 0);
    assert_int_equal(ev, BODY_EV_NONE);

    /* a held dot is consumed without room; the octet after it then waits */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR("..abc"), out, 0, &ol, &ev), 1);
    assert_int_equal(ol, 0);
    assert_int_equal(smtp_body_filter_feed(&f, STR(".abc"), out, 2, &ol, &ev), 2);
    assert_int_equal(ol, 2);
    assert_memory_equal(out, ".a", 2);
    assert_int_equal(smtp_body_filter_feed(&f, STR("bc"), out, 8, &ol, &ev), 2);
    assert_int_equal(ol, 2);
    assert_memory_equal(out, "bc", 2);
    assert_true(f.out_total == 4);

    /* a held dot+CR: when it turns out bare, the CR needs room first */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR(".\rX"), out, 0, &ol, &ev), 2);
    assert_int_equal(ol, 0);
    assert_int_equal(ev, BODY_EV_NONE);
    assert_int_equal(smtp_body_filter_feed(&f, STR("X"), out, 1, &ol, &ev), 0);
    assert_int_equal(ol, 1);
    assert_int_equal(out[0], '\r');
    assert_int_equal(smtp_body_filter_feed(&f, STR("X"), out, 1, &ol, &ev), 1);
    assert_int_equal(ol, 1);
    assert_int_equal(out[0], 'X');
    assert_int_equal(f.errors, BODY_ERR_BARE_CR);
    assert_true(f.out_total == 2);

    /* a written CR pending across calls with no room in between */
    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    assert_int_equal(smtp_body_filter_feed(&f, STR("a\r"), out, 2, &ol, &ev), 2);
    assert_int_equal(smtp_body_filter_feed(&f, STR("\n"), out, 0, &ol, &ev), 0);
    assert_int_equal(smtp_body_filter_feed(&f, STR("\n.\r\n"), out, 1, &ol, &ev), 4);
    assert_int_equal(ev, BODY_EV_END);
    assert_int_equal(ol, 1);
    assert_int_equal(f.errors, 0);
    assert_true(f.out_total == 3);
}

static void test_bdat_mode(void **state)
{
    static const char msg[] = "Received: a\r\nDate: b\r\n\r\n.\r\n..x\r\n.\r\nbody\r\n";
    struct run r;

    run_everywhere(BODY_MODE_BDAT, 1000, STR(msg), 1, 21, &r);
    expect_out(&r, STR(msg)); /* no dot handling, no terminator */
    assert_false(r.ended);
    assert_int_equal(r.consumed, sizeof(msg) - 1);
    assert_int_equal(r.errors, 0);
    assert_true(r.hdr_end);
    assert_int_equal(r.hdr_in, strlen("Received: a\r\nDate: b\r\n"));
    assert_int_equal(r.received, 1);
    assert_int_equal(r.saw_date, 1);
    run_free(&r);

    run_everywhere(BODY_MODE_BDAT, 1000, STR("a\nb\r\n"), 1, 22, &r);
    assert_int_equal(r.errors, BODY_ERR_BARE_LF);
    run_free(&r);
    run_everywhere(BODY_MODE_BDAT, 1000, STR("a\rb\r\n"), 1, 23, &r);
    assert_int_equal(r.errors, BODY_ERR_BARE_CR);
    run_free(&r);
    run_everywhere(BODY_MODE_BDAT, 1000, STR("\r\n.\n.\r\r\n"), 1, 24, &r);
    assert_int_equal(r.errors, BODY_ERR_BARE_LF | BODY_ERR_BARE_CR);
    expect_out(&r, STR("\r\n.\n.\r\r\n"));
    run_free(&r);

    /* pending CR at LAST is bare; a CR whose LF comes in the next chunk is not */
    {
        struct body_filter f;
        uint8_t out[16];
        size_t ol;
        enum body_event ev;

        smtp_body_filter_init(&f, BODY_MODE_BDAT, 1000);
        assert_int_equal(smtp_body_filter_feed(&f, STR("abc\r"), out, sizeof(out), &ol, &ev), 4);
        assert_int_equal(ol, 4);
        assert_int_equal(f.errors, 0);
        smtp_body_filter_finish(&f);
        assert_int_equal(f.errors, BODY_ERR_BARE_CR);

        smtp_body_filter_init(&f, BODY_MODE_BDAT, 1000);
        assert_int_equal(smtp_body_filter_feed(&f, STR("abc\r"), out, sizeof(out), &ol, &ev), 4);
        assert_int_equal(smtp_body_filter_feed(&f, STR("\n"), out, sizeof(out), &ol, &ev), 1);
        smtp_body_filter_finish(&f);
        assert_int_equal(f.errors, 0);

        smtp_body_filter_init(&f, BODY_MODE_BDAT, 1000);
        smtp_body_filter_finish(&f); /* empty message */
        assert_int_equal(f.errors, 0);
    }
    run_everywhere(BODY_MODE_BDAT, 1000, STR("x\r\ny\r"), 1, 25, &r);
    assert_int_equal(r.errors, BODY_ERR_BARE_CR);
    run_free(&r);
    run_everywhere(BODY_MODE_BDAT, 1000, STR("x\r\ny\r"), 0, 26, &r);
    assert_int_equal(r.errors, 0);
    run_free(&r);
}

/* ---- generated messages ---- */

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap)
        n = b->cap - b->n;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_text(struct buf *b, uint64_t *rs, size_t n, int weird)
{
    static const char plain[] = "abcXYZ 0123:.-<>@\t";
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)plain[rng_below(rs, sizeof(plain) - 1)];
        if (weird && rng_below(rs, 20) == 0)
            c = "\r\n."[rng_below(rs, 3)];
        put(b, &c, 1);
    }
}

static size_t gen_message(uint64_t *rs, uint8_t *mem, size_t cap)
{
    static const char *names[] = {
        "Received",   "received",    "RECEIVED", "ReCeived",   "Date",      "dAtE",  "Message-ID",
        "message-id", "Message-Id",  "Subject",  "X-Received", "Receivedx", "Date ", "From",
        "To",         "Message-IDx", ""};
    static const char *smuggle[] = {"\n.\n",   "\r.\r",  "\n.\r\n", ".\n", ".\r\r\n", ".\rX",
                                    "\r\n.\r", "\r\r\n", "\n",      "\r",  ".",       ".."};
    struct buf b = {mem, 0, cap};
    size_t nh = rng_below(rs, 9), nb = rng_below(rs, 12);
    int weird = rng_below(rs, 3) == 0;

    for (size_t i = 0; i < nh; i++) {
        size_t k = rng_below(rs, 10);
        if (k == 0)
            puts_(&b, rng_below(rs, 2) ? " " : "\t"); /* continuation */
        else if (k == 1)
            puts_(&b, "."); /* stuffed */
        puts_(&b, names[rng_below(rs, sizeof(names) / sizeof(names[0]))]);
        puts_(&b, ":");
        put_text(&b, rs, rng_below(rs, 30), weird);
        puts_(&b, "\r\n");
    }
    if (rng_below(rs, 5) != 0)
        puts_(&b, "\r\n");
    for (size_t i = 0; i < nb; i++) {
        switch (rng_below(rs, 10)) {
        case 0:
            puts_(&b, "..\r\n");
            break;
        case 1:
            puts_(&b, ".");
            put_text(&b, rs, rng_below(rs, 10), weird);
            puts_(&b, "\r\n");
            break;
        case 2:
            puts_(&b, "\r\n");
            break;
        case 3:
            put_text(&b, rs, 990 + rng_below(rs, 20), weird);
            puts_(&b, "\r\n");
            break;
        case 4:
            if (weird || rng_below(rs, 4) == 0)
                puts_(&b, smuggle[rng_below(rs, sizeof(smuggle) / sizeof(smuggle[0]))]);
            put_text(&b, rs, rng_below(rs, 8), weird);
            puts_(&b, "\r\n");
            break;
        case 5:
            puts_(&b, names[rng_below(rs, sizeof(names) / sizeof(names[0]))]);
            puts_(&b, ": x\r\n");
            break;
        default:
            put_text(&b, rs, rng_below(rs, 60), weird);
            puts_(&b, "\r\n");
            break;
        }
    }
    if (rng_below(rs, 8) != 0)
        puts_(&b, ".\r\n");
    if (rng_below(rs, 2))
        puts_(&b, "QUIT\r\n");
    return b.n;
}

static void test_random_split_equivalence(void **state)
{
    uint64_t rs = 0x5eed0001u;
    const size_t cap = 1 << 16;
    uint8_t *mem = malloc(cap);
    size_t ended = 0, hdr = 0, errs = 0;

    assert_non_null(mem);
    for (int iter = 0; iter < 400; iter++) {
        size_t n = gen_message(&rs, mem, cap);
        enum body_mode mode = iter % 4 == 3 ? BODY_MODE_BDAT : BODY_MODE_DATA;
        size_t max_line = iter % 5 == 0 ? 40 : 1000;
        struct run r;

        run_everywhere(mode, max_line, mem, n, iter % 2, (uint64_t)iter, &r);
        ended += (size_t)r.ended;
        hdr += (size_t)r.hdr_end;
        errs += r.errors != 0;
        run_free(&r);
    }
    /* the generator exercises all the interesting outcomes */
    assert_true(ended > 100);
    assert_true(hdr > 100);
    assert_true(errs > 50);
    free(mem);
}

static void test_fuzz_random_bytes(void **state)
{
    static const uint8_t alphabet[] = "\r\n.\r\n.:DateRcivd-MsgIx \t";
    static const size_t max_lines[] = {0, 3, 4, 7, 12, 1000};
    uint64_t rs = 0xf022f022u;
    uint8_t in[64];

    for (long iter = 0; iter < 200000; iter++) {
        size_t len = rng_below(&rs, sizeof(in) + 1);
        enum body_mode mode = rng_below(&rs, 3) == 0 ? BODY_MODE_BDAT : BODY_MODE_DATA;
        size_t max_line = max_lines[rng_below(&rs, sizeof(max_lines) / sizeof(max_lines[0]))];
        int finish = (int)rng_below(&rs, 2);
        int raw = rng_below(&rs, 4) == 0;
        struct plan pl;
        struct run a, b;

        for (size_t i = 0; i < len; i++)
            in[i] = raw ? (uint8_t)rng_next(&rs) : alphabet[rng_below(&rs, sizeof(alphabet) - 1)];
        memset(&pl, 0, sizeof(pl));
        pl.split = SPLIT_RANDOM;
        pl.max_chunk = 1 + rng_below(&rs, 9);
        pl.cap = CAP_RANDOM;
        pl.seed = rng_next(&rs);
        pl.finish = finish;
        drive(mode, max_line, in, len, &pl, &a); /* asserts out_total == sum of outlen */
        reference(mode, max_line, in, len, finish, &b);
        assert_same(&a, &b);
        run_free(&a);
        run_free(&b);
    }
}

/* The first Message-ID's value for the log: unfolded, blanks left out, whatever the split. */
static void message_id_of(const char *msg, size_t step, char *out, size_t outsz)
{
    struct body_filter f;
    uint8_t buf[4096];
    size_t len = strlen(msg), at = 0;

    smtp_body_filter_init(&f, BODY_MODE_DATA, 1000);
    while (at < len) {
        size_t n = len - at < step ? len - at : step, ol, used;
        enum body_event ev;

        used = smtp_body_filter_feed(&f, (const uint8_t *)msg + at, n, buf, sizeof(buf), &ol, &ev);
        at += used;
        if (ev == BODY_EV_END)
            break;
    }
    snprintf(out, outsz, "%s", f.message_id);
}

static void test_message_id_value(void **state)
{
    static const struct {
        const char *msg, *want;
    } cases[] = {
        {"Message-ID: <a.1@x.test>\r\n\r\nbody\r\n.\r\n", "<a.1@x.test>"},
        {"Subject: s\r\nmessage-id:\r\n  <folded@x.test>\r\nTo: t\r\n\r\n.\r\n", "<folded@x.test>"},
        {"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n.\r\n", "<first@x>"},
        {"Subject: no id\r\n\r\nMessage-ID: <in-body@x>\r\n.\r\n", ""},
        {"Message-ID: <a b\x01"
         "c@x>\r\nX: after\r\n\r\n.\r\n",
         "<abc@x>"},
        {"X-Message-ID: <not@x>\r\n\r\n.\r\n", ""},
    };
    char got[300], longmsg[700];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t step = 1; step <= 64; step *= 4) {
            message_id_of(cases[i].msg, step, got, sizeof(got));
            assert_string_equal(got, cases[i].want);
        }
    /* an over-long value is cut, never overruns */
    snprintf(longmsg, sizeof(longmsg), "Message-ID: <%0500d@x>\r\n\r\n.\r\n", 7);
    message_id_of(longmsg, 7, got, sizeof(got));
    assert_int_equal(strlen(got), sizeof(((struct body_filter *)0)->message_id) - 1);
}

/* smtp_has_8bit reads words at a time: one high octet anywhere, at any length and alignment,
 * is found, and ASCII of any length is not. */
static void test_has_8bit_every_position(void **state)
{
    char buf[300];

    (void)state;
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len + off <= sizeof(buf) && len <= 200; len++) {
            memset(buf, 'a', sizeof(buf));
            buf[off + len] = (char)0x80; /* just past the end: never looked at */
            assert_int_equal(smtp_has_8bit(buf + off, len), 0);
            for (size_t p = 0; p < len; p++) {
                buf[off + p] = (char)(p & 1 ? 0xff : 0x80);
                assert_int_equal(smtp_has_8bit(buf + off, len), 1);
                buf[off + p] = 0x7f;
                assert_int_equal(smtp_has_8bit(buf + off, len), 0);
                buf[off + p] = 'a';
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_message),
        cmocka_unit_test(test_has_8bit_every_position),
        cmocka_unit_test(test_dot_unstuffing),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_smuggling_variants),
        cmocka_unit_test(test_terminator_split_everywhere),
        cmocka_unit_test(test_bare_cr_lf_flags),
        cmocka_unit_test(test_line_length),
        cmocka_unit_test(test_header_detection),
        cmocka_unit_test(test_received_counted_101_times),
        cmocka_unit_test(test_headers_end_position),
        cmocka_unit_test(test_small_output_buffer),
        cmocka_unit_test(test_bdat_mode),
        cmocka_unit_test(test_random_split_equivalence),
        cmocka_unit_test(test_fuzz_random_bytes),
        cmocka_unit_test(test_message_id_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
