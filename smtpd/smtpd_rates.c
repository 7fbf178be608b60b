/* smtpd_rates.c - per-client-address event counts over a time unit, in a hash table with expiry and a hard cap. */
#include "smtpd_rates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct rate_entry {
    struct rate_entry *hnext;         /* hash chain */
    struct rate_entry *older, *newer; /* the list in window start order */
    uint64_t start_ms;                /* the window began here */
    unsigned count[SMTPD_RATE_KINDS];
    unsigned logged; /* bit per kind: going past its limit was logged in this window */
    char ip[48];
};

struct smtpd_rates {
    struct rate_entry **bucket;
    size_t nbuckets; /* a power of two */
    size_t size, max;
    uint64_t interval_ms;
    uint64_t evicted;
    uint32_t seed;             /* so that nobody can choose addresses that share a chain */
    struct rate_entry *oldest; /* head of the list: the first to expire */
    struct rate_entry *newest;
};

static uint32_t rates_seed(const void *salt)
{
    uint32_t seed;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    return (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)salt;
}

struct smtpd_rates *smtpd_rates_new(size_t max_entries, uint64_t interval_ms)
{
    struct smtpd_rates *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->max = max_entries ? max_entries : 1;
    t->interval_ms = interval_ms ? interval_ms : 1;
    for (t->nbuckets = 16; t->nbuckets < t->max && t->nbuckets < ((size_t)1 << 24);)
        t->nbuckets <<= 1;
    if (!(t->bucket = calloc(t->nbuckets, sizeof(*t->bucket)))) {
        free(t);
        return NULL;
    }
    t->seed = rates_seed(t);
    return t;
}

void smtpd_rates_free(struct smtpd_rates *t)
{
    if (!t)
        return;
    while (t->oldest) {
        struct rate_entry *e = t->oldest;

        t->oldest = e->newer;
        free(e);
    }
    free(t->bucket);
    free(t);
}

static size_t rates_hash(const struct smtpd_rates *t, const char *ip)
{
    uint32_t h = 2166136261u ^ t->seed; /* FNV-1a from a random start, then mixed */

    for (; *ip; ip++)
        h = (h ^ (unsigned char)*ip) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h & (t->nbuckets - 1);
}

static struct rate_entry *rates_find(const struct smtpd_rates *t, const char *ip)
{
    struct rate_entry *e = t->bucket[rates_hash(t, ip)];

    while (e && strcmp(e->ip, ip) != 0)
        e = e->hnext;
    return e;
}

/* Take e (the oldest) off the list and out of its chain, and free it. */
static void rates_drop_oldest(struct smtpd_rates *t)
{
    struct rate_entry *e = t->oldest;
    struct rate_entry **p = &t->bucket[rates_hash(t, e->ip)];

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
    t->oldest = e->newer;
    if (t->oldest)
        t->oldest->older = NULL;
    else
        t->newest = NULL;
    t->size--;
    free(e);
}

/* Windows that are over: their entries go, oldest first (the list is in start order). */
static void rates_expire(struct smtpd_rates *t, uint64_t now_ms)
{
    while (t->oldest && now_ms - t->oldest->start_ms >= t->interval_ms)
        rates_drop_oldest(t);
}

static struct rate_entry *rates_insert(struct smtpd_rates *t, const char *ip, uint64_t now_ms)
{
    struct rate_entry *e;
    size_t h;

    if (t->size >= t->max) {
        rates_drop_oldest(t);
        t->evicted++;
    }
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    e->start_ms = now_ms;
    h = rates_hash(t, ip);
    e->hnext = t->bucket[h];
    t->bucket[h] = e;
    e->older = t->newest;
    if (t->newest)
        t->newest->newer = e;
    else
        t->oldest = e;
    t->newest = e;
    t->size++;
    return e;
}

unsigned smtpd_rates_add(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                         uint64_t now_ms)
{
    struct rate_entry *e;

    rates_expire(t, now_ms);
    if (!(e = rates_find(t, ip)) && !(e = rates_insert(t, ip, now_ms)))
        return 0;
    if (e->count[kind] < ~0u)
        e->count[kind]++;
    return e->count[kind];
}

unsigned smtpd_rates_get(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                         uint64_t now_ms)
{
    const struct rate_entry *e;

    rates_expire(t, now_ms);
    e = rates_find(t, ip);
    return e ? e->count[kind] : 0;
}

int smtpd_rates_log_due(struct smtpd_rates *t, const char *ip, enum smtpd_rate_kind kind,
                        uint64_t now_ms)
{
    struct rate_entry *e;

    rates_expire(t, now_ms);
    if (!(e = rates_find(t, ip)) || (e->logged & (1u << kind)))
        return 0;
    e->logged |= 1u << kind;
    return 1;
}

size_t smtpd_rates_size(const struct smtpd_rates *t)
{
    return t->size;
}

uint64_t smtpd_rates_evicted(const struct smtpd_rates *t)
{
    return t->evicted;
}
