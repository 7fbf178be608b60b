/* fuzz_mime7.c - fuzzes the 8-bit to 7-bit converter (router/mime7.c): any input, in one go and in random pieces, gives the same output; a leaf body outside every multipart comes out 7-bit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QP_END "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void convert(const uint8_t *in, size_t n, uint64_t seed, struct sg_buf *out, int *leaf)
{
    struct mime7 m;

    router_mime7_init(&m);
    for (size_t off = 0; off < n;) {
        size_t k = seed ? 1 + rng_next(&seed) % 64 : n;

        if (k > n - off)
            k = n - off;
        if (router_mime7_feed(&m, in + off, k, out) < 0)
            abort();
        off += k;
    }
    if (router_mime7_finish(&m, out) < 0)
        abort();
    *leaf = m.depth == 0 && m.state == MIME7_QP; /* the message a single re-encoded part */
    router_mime7_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_buf one, two;
    int leaf1, leaf2;
    const uint8_t *body;

    sg_buf_init(&one);
    sg_buf_init(&two);
    convert(data, size, 0, &one, &leaf1);
    convert(data, size, size + 1, &two, &leaf2);
    if (one.len != two.len || leaf1 != leaf2 || (one.len && memcmp(one.data, two.data, one.len)))
        abort();
    /* A message that is one re-encoded part: nothing 8-bit after the last header we wrote (a
     * header passed through may hold anything, the body we encoded only 7-bit). */
    body = NULL;
    for (size_t i = 0; leaf1 && i + sizeof(QP_END) - 1 <= one.len; i++)
        if (memcmp(one.data + i, QP_END, sizeof(QP_END) - 1) == 0)
            body = one.data + i + sizeof(QP_END) - 1;
    for (const uint8_t *p = body; p && p < one.data + one.len; p++)
        if (*p >= 128)
            abort();
    sg_buf_free(&one);
    sg_buf_free(&two);
    return 0;
}
