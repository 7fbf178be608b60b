/* store_db_age.c - the queue by age without a scan: recipients not final counted per arrival minute and state, built by the start-up re-enumeration and kept by every commit. */
#include "store_db_bdb.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MINUTE_US 60000000u

/* One arrival minute (qids are the arrival time in microseconds) and its recipients by state. */
struct age_slot {
    uint64_t minute; /* + 1; 0: empty */
    int64_t n[RCPT_STATE_COUNT];
};

struct store_db_age {
    pthread_mutex_t mu;
    struct age_slot *slots;
    size_t cap, used; /* cap a power of two */
    int valid;        /* built, and every change since counted */
};

static int age_tracked(uint32_t state)
{
    return state < RCPT_STATE_COUNT && !rcpt_state_final(state);
}

int store_db_age_init(struct store_db *s)
{
    if (!(s->age = calloc(1, sizeof(*s->age))))
        return -1;
    pthread_mutex_init(&s->age->mu, NULL);
    return 0;
}

void store_db_age_free(struct store_db *s)
{
    if (!s->age)
        return;
    pthread_mutex_destroy(&s->age->mu);
    free(s->age->slots);
    free(s->age);
    s->age = NULL;
}

static struct age_slot *age_find(struct age_slot *slots, size_t cap, uint64_t minute)
{
    size_t k = (size_t)(minute * 0x9e3779b97f4a7c15ull) & (cap - 1);

    while (slots[k].minute && slots[k].minute != minute + 1)
        k = (k + 1) & (cap - 1);
    return &slots[k];
}

/* Room for one more minute: the table is rebuilt without the minutes that are empty now, at
 * a size that leaves it at most a quarter full. */
static int age_room(struct store_db_age *a)
{
    size_t cap = 256, live = 0;
    struct age_slot *slots;

    if (a->cap && (a->used + 1) * 2 <= a->cap)
        return 0;
    for (size_t i = 0; i < a->cap; i++)
        for (int s = 0; s < RCPT_STATE_COUNT; s++)
            if (a->slots[i].minute && a->slots[i].n[s] != 0) {
                live++;
                break;
            }
    while ((live + 1) * 4 > cap)
        cap *= 2;
    if (!(slots = calloc(cap, sizeof(*slots))))
        return -1;
    a->used = 0;
    for (size_t i = 0; i < a->cap; i++) {
        int any = 0;
        for (int s = 0; s < RCPT_STATE_COUNT; s++)
            any |= a->slots[i].n[s] != 0;
        if (a->slots[i].minute && any) {
            *age_find(slots, cap, a->slots[i].minute - 1) = a->slots[i];
            a->used++;
        }
    }
    free(a->slots);
    a->slots = slots;
    a->cap = cap;
    return 0;
}

/* Under the lock. */
static void age_add(struct store_db_age *a, uint64_t minute, uint32_t state, int64_t delta)
{
    struct age_slot *slot;

    if (!a->valid)
        return;
    slot = a->cap ? age_find(a->slots, a->cap, minute) : NULL;
    if (!slot || !slot->minute) {
        if (age_room(a) < 0) {
            a->valid = 0; /* out of memory: metrics walk the queue instead */
            return;
        }
        slot = age_find(a->slots, a->cap, minute);
        slot->minute = minute + 1;
        a->used++;
    }
    slot->n[state] += delta;
}

void store_db_age_start(struct store_db *s)
{
    pthread_mutex_lock(&s->age->mu);
    free(s->age->slots);
    s->age->slots = NULL;
    s->age->cap = s->age->used = 0;
    s->age->valid = 1;
    pthread_mutex_unlock(&s->age->mu);
}

void store_db_age_count_now(struct store_db *s, uint64_t qid, uint32_t state)
{
    if (!age_tracked(state))
        return;
    pthread_mutex_lock(&s->age->mu);
    age_add(s->age, qid / MINUTE_US, state, 1);
    pthread_mutex_unlock(&s->age->mu);
}

void store_db_count_age(struct store_txn *t, uint64_t qid, uint32_t state, int delta)
{
    uint64_t minute = qid / MINUTE_US;

    if (!age_tracked(state))
        return;
    for (unsigned i = 0; i < t->nage; i++)
        if (t->age[i].minute == minute && t->age[i].state == state) {
            t->age[i].delta += delta;
            return;
        }
    if (t->nage == STORE_AGE_TXN) {
        t->age_overflow = 1; /* too many minutes in one transaction: counted as lost */
        return;
    }
    t->age[t->nage++] = (struct store_age_delta){.minute = minute, .state = state, .delta = delta};
}

void store_db_age_commit(struct store_db *s, const struct store_txn *t)
{
    if (!t->nage && !t->age_overflow)
        return;
    pthread_mutex_lock(&s->age->mu);
    if (t->age_overflow && s->age->valid) {
        s->age->valid = 0;
        log_notice("a transaction changed recipients of more than %d arrival minutes: the queue "
                   "by age is no longer kept; spoolctl metrics walks the queue for it until the "
                   "next start",
                   STORE_AGE_TXN);
    }
    for (unsigned i = 0; i < t->nage; i++)
        if (t->age[i].delta)
            age_add(s->age, t->age[i].minute, t->age[i].state, t->age[i].delta);
    pthread_mutex_unlock(&s->age->mu);
}

int store_db_age_buckets(struct store_db *s, uint64_t now,
                         uint64_t out[RCPT_STATE_COUNT][IPC_SHAPE_BUCKETS])
{
    struct store_db_age *a = s->age;
    int valid;

    memset(out, 0, sizeof(uint64_t) * RCPT_STATE_COUNT * IPC_SHAPE_BUCKETS);
    pthread_mutex_lock(&a->mu);
    valid = a->valid;
    for (size_t i = 0; valid && i < a->cap; i++) {
        uint64_t start = (a->slots[i].minute - 1) * MINUTE_US;
        int b;

        if (!a->slots[i].minute)
            continue;
        b = ipc_shape_bucket(now > start ? now - start : 0);
        for (int st = 0; st < RCPT_STATE_COUNT; st++)
            out[st][b] += a->slots[i].n[st] > 0 ? (uint64_t)a->slots[i].n[st] : 0;
    }
    pthread_mutex_unlock(&a->mu);
    return valid ? 0 : -1;
}
