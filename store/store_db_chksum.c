/* store_db_chksum.c - Berkeley DB's log checksum hash (__ham_func4) computed eight lanes at a time, in place of libdb's own after a self-test shows the same values. */
#include "store_db_chksum.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

/*
 * libdb 5.3 checksums every log record, and with it every octet of every message body the store
 * writes, with __ham_func4: h = h * 33 + octet, one octet after the other (bench-relay at 256 KiB:
 * a third of the store's CPU). The same sum is
 *     h = sum over i of octet[i] * 33^(len - 1 - i)   (mod 2^32)
 * so octets 32 apart can go in one lane: lane j of four 8-lane accumulators takes the octets at
 * i = j (mod 32), each step multiplying by 33^32, and the lanes are weighted by 33^(31 - j) at the
 * end. About three times as fast on SSE2 alone.
 *
 * libdb calls __ham_func4 through its PLT and the store exports the name (Makefile.am), so the
 * definition below answers libdb's calls. It gives libdb's own answer until store_db_chksum_init
 * has checked, against libdb's own function, that ours gives the same values; a libdb whose hash
 * differed would keep its own. The name is libdb's, not ours, for that reason.
 */

typedef uint32_t v8u32 __attribute__((vector_size(32)));
typedef uint8_t v8u8 __attribute__((vector_size(8)));
typedef u_int32_t (*ham_func4_fn)(DB *, const void *, u_int32_t);

static ham_func4_fn libdb_func4; /* libdb's own; set once, before the environment opens */
static int hash_checked;         /* 1: ours gave libdb's values */
static int hash_called;          /* libdb has called __ham_func4 */

/* 33^k mod 2^32 for k = 0..32 (test_store_chksum checks every length against h = h * 33 + c). */
static const uint32_t pow33[33] = {
    0x00000001u, 0x00000021u, 0x00000441u, 0x00008c61u, 0x00121881u, 0x025528a1u, 0x4cfa3cc1u,
    0xec41d4e1u, 0x747c7101u, 0x040a9121u, 0x855cb541u, 0x30f35d61u, 0x4f5f0981u, 0x3b4039a1u,
    0xa3476dc1u, 0x0c3525e1u, 0x92d9e201u, 0xee162221u, 0xb0da6641u, 0xcc272e61u, 0x510cfa81u,
    0x72ac4aa1u, 0xc8359ec1u, 0xcee976e1u, 0xac185301u, 0x2f22b321u, 0x13791741u, 0x829bff61u,
    0xd61beb81u, 0x99995ba1u, 0xccc4cfc1u, 0x655ec7e1u, 0x1137c401u,
};

static uint32_t hash_bytewise(const uint8_t *k, size_t len)
{
    uint32_t h = 0;

    for (size_t i = 0; i < len; i++)
        h = h * 33 + k[i];
    return h;
}

/* One step of an accumulator: times 33^32, plus the next eight octets, one a lane. */
static inline void lanes_step(v8u32 *acc, const uint8_t *p, uint32_t step)
{
    v8u8 b;

    memcpy(&b, p, sizeof(b));
    *acc = *acc * step + __builtin_convertvector(b, v8u32);
}

uint32_t store_db_chksum_hash(const void *data, size_t len)
{
    const uint8_t *k = data;
    const uint32_t step = pow33[32];
    v8u32 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t i = 0, whole = len & ~(size_t)31;
    uint32_t h = 0;

    for (; i < whole; i += 32) {
        lanes_step(&a0, k + i, step);
        lanes_step(&a1, k + i + 8, step);
        lanes_step(&a2, k + i + 16, step);
        lanes_step(&a3, k + i + 24, step);
    }
    if (whole)
        for (unsigned j = 0; j < 8; j++)
            h += a0[j] * pow33[31 - j] + a1[j] * pow33[23 - j] + a2[j] * pow33[15 - j] +
                 a3[j] * pow33[7 - j];
    return h * pow33[len - whole] + hash_bytewise(k + whole, len - whole);
}

/* The name libdb calls; see the comment at the top. */
u_int32_t __ham_func4(DB *dbp, const void *key, u_int32_t len);
u_int32_t __ham_func4(DB *dbp, const void *key, u_int32_t len)
{
    if (!__atomic_load_n(&hash_called, __ATOMIC_RELAXED)) /* written once, not every call */
        __atomic_store_n(&hash_called, 1, __ATOMIC_RELAXED);
    if (hash_checked)
        return store_db_chksum_hash(key, len);
    if (libdb_func4)
        return libdb_func4(dbp, key, len);
    /* Before store_db_chksum_init: libdb's, looked up now. */
    ham_func4_fn f = (ham_func4_fn)dlsym(RTLD_NEXT, "__ham_func4");
    return f ? f(dbp, key, len) : hash_bytewise(key, len);
}

/* Ours against libdb's on one input; 0 when they differ. */
static int same_hash(const uint8_t *p, size_t len, char *why, size_t whysz)
{
    uint32_t theirs = libdb_func4(NULL, p, (u_int32_t)len), ours = store_db_chksum_hash(p, len);

    if (theirs == ours)
        return 1;
    snprintf(why, whysz, "libdb's __ham_func4 gave %08x for %zu octets, ours %08x: libdb's is used",
             (unsigned)theirs, len, (unsigned)ours);
    return 0;
}

int store_db_chksum_init(char *why, size_t whysz)
{
    enum { BIG = 1 << 20 };
    uint8_t *buf;
    uint32_t seed = 2463534242u;
    int ok = 1;

    if (hash_checked)
        return 1;
    if (!(libdb_func4 = (ham_func4_fn)dlsym(RTLD_NEXT, "__ham_func4"))) {
        snprintf(why, whysz, "libdb's __ham_func4 not found: its own checksums are used");
        return 0;
    }
    if (!(buf = malloc(BIG + 8))) {
        snprintf(why, whysz, "out of memory: libdb's checksums are used");
        return 0;
    }
    for (size_t i = 0; i < BIG + 8; i++) { /* xorshift: every octet value, no pattern */
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        buf[i] = (uint8_t)seed;
    }
    for (size_t off = 0; ok && off < 8; off++)
        for (size_t len = 0; ok && len <= 1100; len++)
            ok = same_hash(buf + off, len, why, whysz);
    ok = ok && same_hash(buf, BIG, why, whysz) && same_hash(buf + 3, BIG - 5, why, whysz);
    memset(buf, 0xff, BIG);
    ok = ok && same_hash(buf, BIG, why, whysz);
    free(buf);
    hash_checked = ok;
    return ok;
}

int store_db_chksum_called(void)
{
    return __atomic_load_n(&hash_called, __ATOMIC_RELAXED);
}
