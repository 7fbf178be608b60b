/* test_gateway_journal.c - cmocka tests of the gateway's write journal (replay, crash, garbage, compaction) and of the fsync group commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sg-journal.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/gateway.journal", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct gw_journal *open_ok(void)
{
    char why[512] = "";
    struct gw_journal *j = gw_journal_open(path, why, sizeof(why));

    if (!j)
        fail_msg("gw_journal_open: %s", why);
    return j;
}

static void intent_ok(struct gw_journal *j, const char *key, const char *tmp)
{
    char why[512] = "";

    if (gw_journal_intent(j, key, tmp, why, sizeof(why)) != 0)
        fail_msg("gw_journal_intent: %s", why);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_replay_after_restart(void **state)
{
    struct gw_journal *j = open_ok();
    struct gw_journal_entry e;

    (void)state;
    assert_int_equal(gw_journal_carried(j), 0);
    intent_ok(j, "Q1/0,1", "G0000001.TMP");
    intent_ok(j, "Q2/0", "G0000002.TMP");
    intent_ok(j, "Q3/2", "G0000003.TMP");
    gw_journal_renamed(j, "Q1/0,1", "00000005.P1");
    gw_journal_answered(j, "Q2/0");
    assert_int_equal(gw_journal_find(j, "Q2/0", &e), 0);
    gw_journal_close(j);

    j = open_ok();
    assert_int_equal(gw_journal_carried(j), 2);
    assert_int_equal(gw_journal_find(j, "Q1/0,1", &e), 1);
    assert_string_equal(e.tmp, "G0000001.TMP");
    assert_string_equal(e.final, "00000005.P1");
    assert_int_equal(gw_journal_find(j, "Q3/2", &e), 1);
    assert_string_equal(e.tmp, "G0000003.TMP");
    assert_string_equal(e.final, "");
    assert_int_equal(gw_journal_find(j, "Q2/0", &e), 0);
    assert_int_equal(gw_journal_has_tmp(j, "G0000003.TMP"), 1);
    assert_int_equal(gw_journal_has_tmp(j, "G0000002.TMP"), 0);
    assert_int_equal(gw_journal_tmp_top(j), 4);
    gw_journal_close(j);
}

/* kill -9 right after an intent: the file as it was on disk then still names it. */
static void test_crash_keeps_intent(void **state)
{
    struct gw_journal *j = open_ok(), *k;
    struct gw_journal_entry e;
    char crashed[160];

    (void)state;
    intent_ok(j, "QA/0", "G00000AA.TMP");
    gw_journal_answered(j, "QB/0"); /* nothing to forget: no record */
    snprintf(crashed, sizeof(crashed), "%s.crashed", path);
    copy_file(path, crashed);
    gw_journal_close(j);
    rename(crashed, path);
    k = open_ok();
    assert_int_equal(gw_journal_carried(k), 1);
    assert_int_equal(gw_journal_find(k, "QA/0", &e), 1);
    assert_string_equal(e.tmp, "G00000AA.TMP");
    gw_journal_close(k);
}

/* An answer not yet written when the process dies only leaves an entry behind (never loses one). */
static void test_unwritten_answer_leaves_entry(void **state)
{
    struct gw_journal *j = open_ok(), *k;
    char crashed[160];

    (void)state;
    intent_ok(j, "QC/0", "G0000010.TMP");
    gw_journal_answered(j, "QC/0");
    snprintf(crashed, sizeof(crashed), "%s.crashed", path);
    copy_file(path, crashed);
    gw_journal_close(j); /* a clean stop writes the answer */
    k = open_ok();
    assert_int_equal(gw_journal_carried(k), 0);
    gw_journal_close(k);
    rename(crashed, path);
    k = open_ok();
    assert_int_equal(gw_journal_carried(k), 1);
    gw_journal_close(k);
}

static void test_garbage_lines_skipped(void **state)
{
    FILE *f = fopen(path, "w");
    struct gw_journal *j;
    struct gw_journal_entry e;

    (void)state;
    assert_non_null(f);
    fputs("nonsense\n", f);
    fputs("I nokey G0000001.TMP 1\n", f);    /* key without '/' */
    fputs("I Q9/0 ../../etc/passwd 1\n", f); /* not a name we write */
    fputs("X Q9/0\n", f);
    fputs("I Q7/1 G0000007.TMP 4102444800\n", f); /* good */
    fputs("D Q7/1 0000000A.P1\n", f);
    fputs("\n", f);
    fputs("I Q8/0 G0000008.TMP 41024448", f); /* cut by a crash: no newline */
    fclose(f);
    j = open_ok();
    assert_int_equal(gw_journal_carried(j), 1);
    assert_int_equal(gw_journal_find(j, "Q7/1", &e), 1);
    assert_string_equal(e.final, "0000000A.P1");
    assert_int_equal(gw_journal_find(j, "Q8/0", &e), 0);
    assert_int_equal(gw_journal_find(j, "Q9/0", &e), 0);
    gw_journal_close(j);
}

static void test_old_entries_forgotten(void **state)
{
    FILE *f = fopen(path, "w");
    struct gw_journal *j;

    (void)state;
    assert_non_null(f);
    fputs("I QOLD/0 G0000001.TMP 1000\n", f); /* 1970 */
    fclose(f);
    j = open_ok();
    assert_int_equal(gw_journal_carried(j), 0);
    gw_journal_close(j);
}

static void test_compaction_bounds_the_file(void **state)
{
    struct gw_journal *j = open_ok();
    struct stat st;
    char key[256], tmp[16], indexes[201];

    (void)state;
    /* Long keys (many recipients): 4 000 deliveries append about 2.6 MB, past the 1 MiB limit. */
    memset(indexes, '7', 200);
    indexes[200] = '\0';
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof(key), "Q%07d/%s", i, indexes);
        snprintf(tmp, sizeof(tmp), "G%07X.TMP", i);
        intent_ok(j, key, tmp);
        gw_journal_renamed(j, key, "00000001.P1");
        gw_journal_answered(j, key);
    }
    intent_ok(j, "QLAST/0", "G1000000.TMP");
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < 1024 * 1024 + 4096);
    gw_journal_close(j);
    j = open_ok();
    assert_int_equal(gw_journal_carried(j), 1);
    gw_journal_close(j);
}

static void test_unwritable_journal_refused(void **state)
{
    char why[512] = "";

    (void)state;
    assert_null(gw_journal_open("/nonexistent-dir/gateway.journal", why, sizeof(why)));
    assert_non_null(strstr(why, "/nonexistent-dir/gateway.journal"));
}

/* ---- group commit -------------------------------------------------------------------------- */

struct counter {
    pthread_mutex_t m;
    int syncs;
    int fail;
};

static int count_sync(void *arg)
{
    struct counter *c = arg;

    pthread_mutex_lock(&c->m);
    c->syncs++;
    pthread_mutex_unlock(&c->m);
    usleep(200);
    if (c->fail) {
        errno = ENOSPC;
        return -1;
    }
    return 0;
}

struct waiter {
    struct gw_sync_group *sg;
    int ok, failed;
};

static void *wait_many(void *arg)
{
    struct waiter *w = arg;

    for (int i = 0; i < 500; i++) {
        int err = 0;

        if (gw_sync_group_wait(w->sg, gw_sync_group_note(w->sg), &err) == 0)
            w->ok++;
        else
            w->failed++;
    }
    return NULL;
}

static void test_group_commit_shares_syncs(void **state)
{
    struct counter c = {.m = PTHREAD_MUTEX_INITIALIZER};
    struct gw_sync_group sg;
    pthread_t t[8];
    struct waiter w[8];
    int ok = 0;

    (void)state;
    gw_sync_group_init(&sg, count_sync, &c);
    for (int i = 0; i < 8; i++) {
        w[i] = (struct waiter){.sg = &sg};
        pthread_create(&t[i], NULL, wait_many, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        assert_int_equal(w[i].failed, 0);
    }
    assert_int_equal(ok, 4000);
    assert_true(c.syncs < 4000); /* shared: fewer syncs than changes */
    assert_true(c.syncs >= 500); /* and never fewer than one waiter's own sequence needs */
    gw_sync_group_destroy(&sg);
}

static void test_group_commit_failure_fails_its_changes(void **state)
{
    struct counter c = {.m = PTHREAD_MUTEX_INITIALIZER, .fail = 1};
    struct gw_sync_group sg;
    uint64_t t1, t2;
    int err = 0;

    (void)state;
    gw_sync_group_init(&sg, count_sync, &c);
    t1 = gw_sync_group_note(&sg);
    t2 = gw_sync_group_note(&sg);
    assert_int_equal(gw_sync_group_wait(&sg, t2, &err), -1);
    assert_int_equal(err, ENOSPC);
    c.fail = 0;
    err = 0;
    assert_int_equal(gw_sync_group_wait(&sg, t1, &err),
                     -1); /* covered by the failed sync: stays failed */
    assert_int_equal(gw_sync_group_wait(&sg, gw_sync_group_note(&sg), &err), 0);
    gw_sync_group_destroy(&sg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_keeps_intent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritten_answer_leaves_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_lines_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_entries_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_bounds_the_file, setup, teardown),
        cmocka_unit_test(test_unwritable_journal_refused),
        cmocka_unit_test(test_group_commit_shares_syncs),
        cmocka_unit_test(test_group_commit_failure_fails_its_changes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
