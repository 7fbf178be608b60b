/* fuzz_smtp_body.c - fuzzes the DATA/BDAT body filter smtp_body_filter_feed (common/smtp_body.c) in both modes: random input splits and output room agree with one call, out_total counts what was written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    uint8_t *out;
    size_t outlen, consumed;
    int ended, hdr_end;
    struct body_filter f;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* One feed call with in[0..avail) and cap octets of room; checks what it may do. */
static int feed_once(struct run *r, const uint8_t *in, size_t avail, size_t cap)
{
    size_t ol = (size_t)-1, used;
    enum body_event ev = (enum body_event)99;

    used = smtp_body_filter_feed(&r->f, in, avail, r->out + r->outlen, cap, &ol, &ev);
    if (used > avail || ol > cap)
        abort();
    if (r->outlen + ol > r->consumed + used)
        abort(); /* unstuffing only removes octets */
    r->outlen += ol;
    r->consumed += used;
    if (r->f.out_total != r->outlen)
        abort(); /* out_total counts the octets written */
    if (memchr(r->f.message_id, '\0', sizeof(r->f.message_id)) == NULL)
        abort();
    if (ev == BODY_EV_END) {
        if (r->f.mode != BODY_MODE_DATA)
            abort();
        r->ended = 1;
    } else if (ev == BODY_EV_HEADERS_END) {
        if (r->hdr_end || r->f.in_headers || used >= avail || in[used] != '\r')
            abort(); /* once, and just before the blank line's CR */
        r->hdr_end = 1;
    } else if (ev != BODY_EV_NONE) {
        abort();
    }
    return used || ol || ev != BODY_EV_NONE;
}

/* Feed all of in: split = 0 in one go with room for all, else random pieces and room. */
static void run_all(struct run *r, enum body_mode mode, size_t max_line, const uint8_t *in,
                    size_t n, uint64_t seed, int split)
{
    int stalls = 0;

    memset(r, 0, sizeof(*r));
    r->out = malloc(n ? n : 1);
    if (!r->out)
        abort();
    smtp_body_filter_init(&r->f, mode, max_line);
    while (r->consumed < n && !r->ended) {
        size_t avail = n - r->consumed, cap = n - r->outlen;

        if (split) {
            size_t k = 1 + (size_t)(rng_next(&seed) % 17), c = (size_t)(rng_next(&seed) % 9);
            avail = k < avail ? k : avail;
            if (stalls)
                c = 64;
            cap = c < cap ? c : cap;
        }
        if (feed_once(r, in + r->consumed, avail, cap)) {
            stalls = 0;
        } else if (++stalls > 2) {
            abort(); /* no progress with input and room */
        }
    }
    if (mode == BODY_MODE_BDAT)
        smtp_body_filter_finish(&r->f);
}

/* What the filter must do, written the plain way: lines end only at CR LF; in DATA a line "."
 * ends the message and a leading dot is dropped; BDAT passes everything.  Fills ref->out,
 * consumed, ended and the error flags. */
static void reference(struct run *ref, enum body_mode mode, size_t max_line, const uint8_t *in,
                      size_t n)
{
    size_t i = 0, line = 0;

    memset(ref, 0, sizeof(*ref));
    ref->out = malloc(n ? n : 1);
    if (!ref->out)
        abort();
    while (i < n) {
        size_t start = i;

        if (mode == BODY_MODE_DATA && in[i] == '.') {
            if (n - i >= 3 && in[i + 1] == '\r' && in[i + 2] == '\n') {
                i += 3; /* the terminator: not a line of the message, never too long */
                ref->ended = 1;
            } else if (n - i == 1 || (n - i == 2 && in[i + 1] == '\r')) {
                i = n; /* held back: it might be the terminator */
                line = n - start;
            }
            if (i != start) {
                if (max_line && line > max_line)
                    ref->f.errors |= BODY_ERR_LONG_LINE;
                break;
            }
            i++; /* a stuffing dot */
        }
        while (i < n && !(in[i] == '\n' && i > start && in[i - 1] == '\r'))
            ref->out[ref->outlen++] = in[i++];
        if (i < n)
            ref->out[ref->outlen++] = in[i++];
        if (max_line && i - start > max_line)
            ref->f.errors |= BODY_ERR_LONG_LINE;
    }
    ref->consumed = i;
    for (size_t k = 0; k < i; k++) {
        if (in[k] == '\n' && (k == 0 || in[k - 1] != '\r'))
            ref->f.errors |= BODY_ERR_BARE_LF;
        if (in[k] == '\r' && k + 1 < i && in[k + 1] != '\n')
            ref->f.errors |= BODY_ERR_BARE_CR;
    }
    if (mode == BODY_MODE_BDAT && i && in[i - 1] == '\r')
        ref->f.errors |= BODY_ERR_BARE_CR; /* finish: a CR at the very end is bare */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_lines[4] = {1000, 78, 3, 2};
    struct run one, two, ref;
    enum body_mode mode;
    uint64_t seed = 0;

    if (size < 1)
        return 0;
    mode = (data[0] & 1) ? BODY_MODE_BDAT : BODY_MODE_DATA;
    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed * 257 + data[i];
    run_all(&one, mode, max_lines[(data[0] >> 1) & 3], data + 1, size - 1, seed, 0);
    run_all(&two, mode, max_lines[(data[0] >> 1) & 3], data + 1, size - 1, seed, 1);
    if (one.outlen != two.outlen || one.consumed != two.consumed || one.ended != two.ended ||
        one.hdr_end != two.hdr_end || memcmp(one.out, two.out, one.outlen) != 0 ||
        one.f.errors != two.f.errors || one.f.received != two.f.received ||
        one.f.saw_date != two.f.saw_date || one.f.saw_message_id != two.f.saw_message_id ||
        one.f.message_id_len != two.f.message_id_len ||
        memcmp(one.f.message_id, two.f.message_id, sizeof(one.f.message_id)) != 0)
        abort(); /* how the input arrives changes nothing */
    reference(&ref, mode, max_lines[(data[0] >> 1) & 3], data + 1, size - 1);
    if (ref.outlen != one.outlen || memcmp(ref.out, one.out, ref.outlen) != 0 ||
        ref.consumed != one.consumed || ref.ended != one.ended || ref.f.errors != one.f.errors)
        abort(); /* and it does what the plain model does */
    free(ref.out);
    free(one.out);
    free(two.out);
    return 0;
}
