/* test_store_repl.c - a replicated store's group config (every bad combination refused with its reason) and its role machine (every transition). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_repl_conf.h"
#include "store_role.h"

static void t_group_parsed(void **state)
{
    struct store_repl_conf rc;
    char why[512] = "";

    (void)state;
    assert_int_equal(store_repl_conf_parse("b", "a=127.0.0.1:7001, b=127.0.0.1:7002 c=[::1]:7003",
                                           &rc, why, sizeof(why)),
                     0);
    assert_int_equal(rc.nsites, 3);
    assert_int_equal(rc.local, 1);
    assert_string_equal(rc.site[0].name, "a");
    assert_string_equal(rc.site[0].host, "127.0.0.1");
    assert_int_equal(rc.site[0].port, 7001);
    assert_string_equal(rc.site[2].host, "::1");
    assert_int_equal(rc.site[2].port, 7003);
    store_repl_site_text(&rc, 2, why, sizeof(why));
    assert_string_equal(why, "c ([::1]:7003)");
    store_repl_site_text(&rc, 0, why, sizeof(why));
    assert_string_equal(why, "a (127.0.0.1:7001)");
    store_repl_addr_text("::1", 7003, why, sizeof(why));
    assert_string_equal(why, "[::1]:7003");
    assert_int_equal(store_repl_conf_find(&rc, "::1", 7003), 2);
    assert_int_equal(store_repl_conf_find(&rc, "127.0.0.1", 7002), 1);
    assert_int_equal(store_repl_conf_find(&rc, "127.0.0.1", 7004), -1);
}

static void t_group_refused(void **state)
{
    static const struct {
        const char *site, *group, *reason;
    } bad[] = {
        {"a", "a=127.0.0.1:7001 b=127.0.0.1:7002", "at least 3"},
        {"a", "", "0 sites"},
        {"a", "a=127.0.0.1:7001 b=127.0.0.1:7002 a=127.0.0.1:7003", "given twice"},
        {"a", "a=127.0.0.1:7001 b=127.0.0.1:7001 c=127.0.0.1:7003", "one address"},
        {"d", "a=127.0.0.1:7001 b=127.0.0.1:7002 c=127.0.0.1:7003", "not one of the sites"},
        {"", "a=127.0.0.1:7001 b=127.0.0.1:7002 c=127.0.0.1:7003", "repl_site is not set"},
        {"a", "a=127.0.0.1:7001 b=mail.example:7002 c=127.0.0.1:7003", "numeric"},
        {"a", "a=127.0.0.1:7001 b=127.0.0.1 c=127.0.0.1:7003", "ADDRESS:PORT"},
        {"a", "a=127.0.0.1:7001 b=127.0.0.1:70000 c=127.0.0.1:7003", "ADDRESS:PORT"},
        {"a", "a=127.0.0.1:7001 127.0.0.1:7002 c=127.0.0.1:7003", "expected NAME="},
        {"a", "a=127.0.0.1:7001 b/x=127.0.0.1:7002 c=127.0.0.1:7003", "expected NAME="},
        {"a", "a=127.0.0.1:7001 =127.0.0.1:7002 c=127.0.0.1:7003", "expected NAME="},
    };
    struct store_repl_conf rc;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char why[512] = "";

        assert_int_equal(store_repl_conf_parse(bad[i].site, bad[i].group, &rc, why, sizeof(why)),
                         -1);
        if (!strstr(why, bad[i].reason))
            fail_msg("%s / %s: \"%s\" does not say \"%s\"", bad[i].site, bad[i].group, why,
                     bad[i].reason);
    }
}

static void t_group_too_big(void **state)
{
    char group[2048] = "", why[512];
    struct store_repl_conf rc;
    size_t used = 0;

    (void)state;
    for (int i = 0; i <= STORE_REPL_SITES_MAX; i++)
        used +=
            (size_t)snprintf(group + used, sizeof(group) - used, "s%d=127.0.0.1:%d ", i, 7000 + i);
    assert_int_equal(store_repl_conf_parse("s0", group, &rc, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "more than"));
}

struct role_case {
    enum store_role now;
    enum store_role_event ev;
    enum store_role next;
    enum store_role_action action;
};

static void t_role_transitions(void **state)
{
    static const struct role_case cases[] = {
        {STORE_ROLE_STARTING, STORE_ROLE_EV_CLIENT, STORE_ROLE_REPLICA, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_STARTING, STORE_ROLE_EV_ELECTED, STORE_ROLE_PREPARING, STORE_ROLE_DO_PREPARE},
        {STORE_ROLE_REPLICA, STORE_ROLE_EV_ELECTED, STORE_ROLE_PREPARING, STORE_ROLE_DO_PREPARE},
        {STORE_ROLE_REPLICA, STORE_ROLE_EV_CLIENT, STORE_ROLE_REPLICA, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_REPLICA, STORE_ROLE_EV_DRAINED, STORE_ROLE_REPLICA, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_PREPARING, STORE_ROLE_EV_PREPARED, STORE_ROLE_MASTER, STORE_ROLE_DO_SERVE},
        {STORE_ROLE_PREPARING, STORE_ROLE_EV_NOT_YET, STORE_ROLE_PREPARING,
         STORE_ROLE_DO_PREPARE_LATER},
        {STORE_ROLE_PREPARING, STORE_ROLE_EV_CLIENT, STORE_ROLE_DEMOTED, STORE_ROLE_DO_DRAIN},
        {STORE_ROLE_PREPARING, STORE_ROLE_EV_DUPMASTER, STORE_ROLE_DEMOTED, STORE_ROLE_DO_DRAIN},
        {STORE_ROLE_PREPARING, STORE_ROLE_EV_ELECTED, STORE_ROLE_PREPARING, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_MASTER, STORE_ROLE_EV_ELECTED, STORE_ROLE_MASTER, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_MASTER, STORE_ROLE_EV_CLIENT, STORE_ROLE_DEMOTED, STORE_ROLE_DO_DRAIN},
        {STORE_ROLE_MASTER, STORE_ROLE_EV_DUPMASTER, STORE_ROLE_DEMOTED, STORE_ROLE_DO_DRAIN},
        {STORE_ROLE_MASTER, STORE_ROLE_EV_PREPARED, STORE_ROLE_MASTER, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_MASTER, STORE_ROLE_EV_STOP, STORE_ROLE_STOPPING, STORE_ROLE_DO_STOP},
        {STORE_ROLE_REPLICA, STORE_ROLE_EV_STOP, STORE_ROLE_STOPPING, STORE_ROLE_DO_STOP},
        {STORE_ROLE_DEMOTED, STORE_ROLE_EV_ELECTED, STORE_ROLE_DEMOTED, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_DEMOTED, STORE_ROLE_EV_PREPARED, STORE_ROLE_DEMOTED, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_DEMOTED, STORE_ROLE_EV_DRAINED, STORE_ROLE_DEMOTED, STORE_ROLE_DO_EXIT},
        {STORE_ROLE_DEMOTED, STORE_ROLE_EV_STOP, STORE_ROLE_STOPPING, STORE_ROLE_DO_STOP},
        {STORE_ROLE_STOPPING, STORE_ROLE_EV_ELECTED, STORE_ROLE_STOPPING, STORE_ROLE_DO_NOTHING},
        {STORE_ROLE_STOPPING, STORE_ROLE_EV_STOP, STORE_ROLE_STOPPING, STORE_ROLE_DO_NOTHING},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_role_step s = store_role_next(cases[i].now, cases[i].ev);

        if (s.next != cases[i].next || s.action != cases[i].action)
            fail_msg("case %zu: %s + event %d gave %s/%d, expected %s/%d", i,
                     store_role_name(cases[i].now), cases[i].ev, store_role_name(s.next), s.action,
                     store_role_name(cases[i].next), cases[i].action);
    }
}

/* Whatever happens, only an election leads to serving, and only through preparing. */
static void t_role_serves_only_after_preparing(void **state)
{
    (void)state;
    for (int now = STORE_ROLE_STARTING; now <= STORE_ROLE_STOPPING; now++)
        for (int ev = STORE_ROLE_EV_CLIENT; ev <= STORE_ROLE_EV_STOP; ev++) {
            struct store_role_step s =
                store_role_next((enum store_role)now, (enum store_role_event)ev);

            if (s.action == STORE_ROLE_DO_SERVE)
                assert_true(now == STORE_ROLE_PREPARING && ev == STORE_ROLE_EV_PREPARED);
            if (s.next == STORE_ROLE_MASTER)
                assert_true(now == STORE_ROLE_MASTER || now == STORE_ROLE_PREPARING);
        }
    assert_string_equal(store_role_name(STORE_ROLE_DEMOTED), "demoted");
    assert_string_equal(store_role_name((enum store_role)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_group_parsed),
        cmocka_unit_test(t_group_refused),
        cmocka_unit_test(t_group_too_big),
        cmocka_unit_test(t_role_transitions),
        cmocka_unit_test(t_role_serves_only_after_preparing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
