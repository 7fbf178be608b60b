/* fuzz_smtp_reply.c - fuzzes the SMTP reply parser smtp_reply_feed (common/smtp_reply.c): one-shot and random splits must agree; then the EHLO keyword parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void check_shape(const struct smtp_reply *r)
{
    if (r->text_len >= sizeof(r->text) || r->text[r->text_len] != '\0' ||
        strlen(r->text) != r->text_len)
        abort();
    if (memchr(r->enhanced, '\0', sizeof(r->enhanced)) == NULL)
        abort();
    if (r->complete && (r->code < 100 || r->code > 999 || r->lines < 1 || r->text_len < 3 ||
                        r->text[0] != '0' + r->code / 100))
        abort();
    if (!r->complete && r->code != 0)
        abort();
}

/* Feed an exact heap copy of in[0..n) (no NUL after it). */
static long feed_exact(struct smtp_reply *r, const char *in, size_t n)
{
    char *c = malloc(n ? n : 1);
    long got;

    if (!c)
        abort();
    memcpy(c, in, n);
    got = smtp_reply_feed(r, c, n);
    free(c);
    check_shape(r);
    if (got < -1 || got > (long)n)
        abort();
    return got;
}

/* As a client reads: pieces appended to a pending buffer, the consumed octets dropped. */
static long feed_split(struct smtp_reply *r, const char *in, size_t n, uint64_t seed)
{
    char *pending = malloc(n ? n : 1);
    size_t plen = 0, off = 0, total = 0, max = 1 + seed % 40;
    long got;

    if (!pending)
        abort();
    smtp_reply_reset(r);
    while (off < n && !r->complete) {
        size_t k = 1 + (size_t)(rng_next(&seed) % max);

        if (k > n - off)
            k = n - off;
        memcpy(pending + plen, in + off, k);
        plen += k;
        off += k;
        got = feed_exact(r, pending, plen);
        if (got < 0) {
            free(pending);
            return -1;
        }
        memmove(pending, pending + got, plen - (size_t)got);
        plen -= (size_t)got;
        total += (size_t)got;
    }
    free(pending);
    return (long)total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct smtp_reply one, two;
    struct ehlo_caps caps;
    uint64_t seed = size;
    size_t off = 0;
    long a, b;

    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed * 131 + data[i];
    smtp_reply_reset(&one);
    a = feed_exact(&one, in, size);
    b = feed_split(&two, in, size, seed);
    if (a >= 0 && one.complete) {
        if (a != b || memcmp(&one, &two, sizeof(one)) != 0)
            abort(); /* split feeding must give the same reply */
    } else if (a < 0 && b >= 0 && two.complete) {
        abort(); /* malformed one-shot, but a complete reply split */
    }
    /* pipelined replies, one after the other */
    while (off < size) {
        smtp_reply_reset(&one);
        a = feed_exact(&one, in + off, size - off);
        if (a <= 0 || !one.complete)
            break;
        off += (size_t)a;
    }
    memset(&caps, 0, sizeof(caps));
    smtp_ehlo_parse(in, size, &caps);
    return 0;
}
