/* test_util.h - what several cmocka unit tests share: exact-size heap copies (for ASan) and a small deterministic PRNG. */
#ifndef SPOOLGATE_TEST_UTIL_H
#define SPOOLGATE_TEST_UTIL_H

/* Include after <cmocka.h>. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A heap copy of exactly n octets, no NUL after it: ASan catches any read past n. */
static inline char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* xorshift64: the same sequence for the same (non-zero) seed on every run. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

#endif
