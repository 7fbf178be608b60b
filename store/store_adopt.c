/* store_adopt.c - the start-up re-enumeration: count every message by state, adopt older generations, check the kept counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

#define ADOPT_BATCH_MESSAGES 500u

struct adopt_scan {
    uint64_t generation;
    uint64_t pos;
    uint64_t messages, adopted, corrupt;
    uint64_t by_state[RCPT_STATE_COUNT];
    struct store_db *db; /* its queue by age is counted on the way */
};

struct adopt_batch {
    struct store_txn *t;
    struct adopt_scan next;
};

/* One message: counted by its recipients' states, re-stamped when of an older generation. */
static int adopt_one(const struct rec_envelope *e, const struct rec_rcpt *rc, void *arg)
{
    struct adopt_batch *ab = arg;
    struct rec_envelope now;

    ab->next.messages++;
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        if (rc[i].state < RCPT_STATE_COUNT)
            ab->next.by_state[rc[i].state]++;
        /* at the start nothing else runs: no deadlock can make this walk run twice */
        store_db_age_count_now(ab->next.db, e->qid, rc[i].state);
    }
    if (e->generation >= ab->next.generation)
        return 0;
    now = *e;
    now.generation = ab->next.generation;
    ab->next.adopted++;
    return store_db_put_envelope(ab->t, &now, 0);
}

/* One transaction: up to ADOPT_BATCH_MESSAGES messages from pos.  Counts
 * are kept in a copy and only taken over when the transaction commits. */
static int adopt_batch_txn(struct store_txn *t, void *arg)
{
    struct adopt_scan *scan = arg;
    struct adopt_batch ab = {.t = t, .next = *scan};
    struct store_walk w = {
        .pos = scan->pos, .max = ADOPT_BATCH_MESSAGES, .fn = adopt_one, .arg = &ab};
    int ret = store_db_walk_messages(t, &w);

    free(w.rc);
    if (ret != 0 && ret != STORE_ENOTFOUND)
        return ret;
    ab.next.corrupt += w.corrupt;
    ab.next.pos = ret == STORE_ENOTFOUND ? UINT64_MAX : w.pos;
    *scan = ab.next;
    return 0;
}

static void adopt_log(const struct adopt_scan *scan)
{
    char counts[256];
    size_t off = 0;

    for (int s = 0; s < RCPT_STATE_COUNT; s++)
        off +=
            (size_t)snprintf(counts + off, sizeof(counts) - off, "%s%s=%llu", s ? " " : "",
                             rcpt_state_name((uint32_t)s), (unsigned long long)scan->by_state[s]);
    log_notice("generation %llu: %llu messages in the store, %llu adopted from older "
               "generations; recipients: %s",
               (unsigned long long)scan->generation, (unsigned long long)scan->messages,
               (unsigned long long)scan->adopted, counts);
    if (scan->corrupt)
        log_error("%llu records do not decode or are missing; they are left in place and "
                  "logged (a message with such a recipient shows held, quarantined)",
                  (unsigned long long)scan->corrupt);
}

struct adopt_check {
    struct store_counts scan, kept;
    int differ;
};

/* The counts kept in the store against the scan's, which are exact: nothing else writes
 * while the store starts.  A difference (a bug) is corrected and logged. */
static int adopt_check_txn(struct store_txn *t, void *arg)
{
    struct adopt_check *ck = arg;
    int ret = store_db_get_counts(t, &ck->kept);

    if (ret != 0)
        return ret;
    ck->differ = memcmp(&ck->kept, &ck->scan, sizeof(ck->scan)) != 0;
    return ck->differ ? store_db_set_counts(t, &ck->scan) : 0;
}

static int adopt_check_counts(struct store *st, const struct adopt_scan *scan)
{
    struct adopt_check ck = {.scan.messages = scan->messages};
    int ret;

    memcpy(ck.scan.by_state, scan->by_state, sizeof(ck.scan.by_state));
    if (scan->corrupt) /* the scan skipped records the counts hold: no comparison */
        return 0;
    if ((ret = store_db_txn(&st->db, adopt_check_txn, &ck, 0)) != 0) {
        log_error("cannot check the counts for stats: %s", store_db_strerror(ret));
        return -1;
    }
    if (ck.differ)
        log_error("the counts kept for stats disagreed with the re-enumeration "
                  "(%llu messages kept, %llu found): corrected",
                  (unsigned long long)ck.kept.messages, (unsigned long long)ck.scan.messages);
    else
        log_info("the counts kept for stats agree with the re-enumeration");
    return 0;
}

int store_adopt_all(struct store *st)
{
    struct adopt_scan scan;
    int ret = 0;

    memset(&scan, 0, sizeof(scan));
    scan.generation = st->db.generation;
    scan.db = &st->db;
    store_db_age_start(&st->db); /* the walk counts the queue by age too */
    while (scan.pos != UINT64_MAX && (ret = store_db_txn(&st->db, adopt_batch_txn, &scan, 0)) == 0)
        ;
    if (ret != 0) {
        log_error("start-up re-enumeration failed: %s", store_db_strerror(ret));
        return -1;
    }
    st->adopted = scan.adopted;
    adopt_log(&scan);
    return adopt_check_counts(st, &scan);
}
