/* store_adopt.c - the start-up re-enumeration: count every message by state, adopt older generations, check the kept counts. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"

#define ADOPT_BATCH_MESSAGES 500u

struct adopt_scan {
    uint64_t generation;
    uint64_t pos;
    uint64_t messages, adopted, corrupt;
    uint64_t by_state[RCPT_STATE_COUNT];
};

static int adopt_count_rcpts(struct store_txn *t, const struct rec_envelope *e, uint64_t *by_state)
{
    for (uint32_t i = 0; i < e->nrcpt; i++) {
        struct rec_rcpt rc;
        int ret = store_db_get_rcpt(t, e->qid, i, &rc, 0);

        if (ret != 0)
            return ret;
        by_state[rc.state]++;
    }
    return 0;
}

/* One transaction: up to ADOPT_BATCH_MESSAGES messages from pos.  Counts
 * are kept in a copy and only taken over when the transaction commits. */
static int adopt_batch_txn(struct store_txn *t, void *arg)
{
    struct adopt_scan *scan = arg, next = *scan;
    int ret = 0;

    for (unsigned n = 0; n < ADOPT_BATCH_MESSAGES; n++) {
        struct rec_envelope e;

        ret = store_db_next_envelope(t, next.pos, &e);
        if (ret == STORE_ECORRUPT) {
            next.corrupt++;
            next.pos = e.qid + 1;
            continue;
        }
        if (ret != 0)
            break;
        next.pos = e.qid + 1;
        next.messages++;
        if ((ret = adopt_count_rcpts(t, &e, next.by_state)) != 0)
            return ret;
        if (e.generation < next.generation) {
            e.generation = next.generation;
            if ((ret = store_db_put_envelope(t, &e, 0)) != 0)
                return ret;
            next.adopted++;
        }
    }
    if (ret != 0 && ret != STORE_ENOTFOUND)
        return ret;
    if (ret == STORE_ENOTFOUND)
        next.pos = UINT64_MAX;
    *scan = next;
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
        log_error("%llu envelope records do not decode; they are left in place and logged",
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
