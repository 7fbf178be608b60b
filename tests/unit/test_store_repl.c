/* test_store_repl.c - a replicated store's group config (every bad combination refused with its reason), its role machine (every transition), and when spoolctl repl remove is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store_repl_conf.h"
#include "store_repl_remove.h"
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

/* repl_ipc: where clients reach each site's store, checked against the group. */
static void t_repl_ipc(void **state)
{
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"a=/run/a.sock d=/run/d.sock", "site d is not one of store.repl_group"},
        {"a=/run/a.sock b=/run/b.sock a=/run/a2.sock", "site a is given twice"},
        {"a=relative/a.sock", "site a: \"relative/a.sock\": a store address is an absolute"},
        {"b=tcp:mail.example:2790", "site b: tcp: store address"},
        {"c=ftp:/x", "site c: \"ftp\": a store address is unix:PATH or tcp:ADDRESS:PORT"},
        {"a=", "site a: no store address"},
        {"a=/run/a.sock c=tcp:[::1]:2790 b=tcp:10.0.0.2", "site b: tcp: store address"},
        {"/run/a.sock", "expected NAME=ADDRESS"},
        {"=/run/a.sock", "expected NAME=ADDRESS"},
        {"a=/run/x.sock b=unix:/run/x.sock", "sites a and b have one address"},
    };
    struct store_repl_conf rc;
    char why[512] = "";

    (void)state;
    assert_int_equal(store_repl_conf_parse("a", "a=127.0.0.1:7001 b=127.0.0.1:7002 c=[::1]:7003",
                                           &rc, why, sizeof(why)),
                     0);
    assert_int_equal(store_repl_conf_ipc("", &rc, why, sizeof(why)), 0);
    for (size_t i = 0; i < rc.nsites; i++)
        assert_string_equal(rc.site[i].ipc, "");
    assert_int_equal(store_repl_conf_ipc("c=tcp:[::1]:2790, a=unix:/run/a/store.sock "
                                         "b=tcp:10.0.0.2:2790",
                                         &rc, why, sizeof(why)),
                     0);
    assert_string_equal(rc.site[0].ipc, "/run/a/store.sock");
    assert_string_equal(rc.site[1].ipc, "tcp:10.0.0.2:2790");
    assert_string_equal(rc.site[2].ipc, "tcp:[::1]:2790");
    assert_int_equal(store_repl_conf_ipc("b=/run/b.sock", &rc, why, sizeof(why)), 0);
    assert_string_equal(rc.site[0].ipc, ""); /* a site left out has none (a parse starts afresh) */
    assert_string_equal(rc.site[1].ipc, "/run/b.sock");
    assert_string_equal(rc.site[2].ipc, "");
    assert_int_equal(store_repl_conf_ipc("", &rc, why, sizeof(why)), 0);
    assert_string_equal(rc.site[1].ipc, "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(store_repl_conf_ipc(bad[i].text, &rc, why, sizeof(why)), -1);
        if (!strstr(why, bad[i].reason) || strncmp(why, "store.repl_ipc: ", 16) != 0)
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].text, why, bad[i].reason);
    }
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

/* The master a of a b c d (d stopped), as its status shows the group. */
static void remove_group(struct store_repl_conf *rc, struct store_repl_status *rs)
{
    char why[512];

    assert_int_equal(store_repl_conf_parse("a",
                                           "a=127.0.0.1:7001 b=127.0.0.1:7002 c=127.0.0.1:7003 "
                                           "d=127.0.0.1:7004",
                                           rc, why, sizeof(why)),
                     0);
    memset(rs, 0, sizeof(*rs));
    rs->is_master = 1;
    rs->master_eid = 0;
    rs->nsites = 4;
    rs->nremote = 3;
    for (size_t i = 0; i < 3; i++) {
        snprintf(rs->remote[i].host, sizeof(rs->remote[i].host), "127.0.0.1");
        rs->remote[i].port = 7002 + (unsigned)i;
        rs->remote[i].connected = i < 2; /* b and c up, d stopped */
    }
}

static void t_remove_allowed(void **state)
{
    struct store_repl_conf rc;
    struct store_repl_status rs;
    char why[1024] = "", text[128];
    size_t peer = 99;

    (void)state;
    remove_group(&rc, &rs);
    assert_int_equal(store_repl_remove_check(&rc, &rs, 1, "d", &peer, why, sizeof(why)),
                     STORE_REPL_REMOVE_OK);
    assert_int_equal(peer, 2);
    store_repl_peer_text(&rc, &rs, peer, text, sizeof(text));
    assert_string_equal(text, "d (127.0.0.1:7004)");
    /* by its address, as spoolctl repl shows a member the master's repl_group does not name */
    assert_int_equal(
        store_repl_remove_check(&rc, &rs, 1, "127.0.0.1:7004", &peer, why, sizeof(why)),
        STORE_REPL_REMOVE_OK);
    assert_int_equal(peer, 2);
    snprintf(rs.remote[2].host, sizeof(rs.remote[2].host), "10.0.0.9");
    assert_int_equal(store_repl_remove_check(&rc, &rs, 1, "10.0.0.9:7004", &peer, why, sizeof(why)),
                     STORE_REPL_REMOVE_OK);
    store_repl_peer_text(&rc, &rs, peer, text, sizeof(text));
    assert_string_equal(text, "- (10.0.0.9:7004)");
}

static void t_remove_refused(void **state)
{
    static const struct {
        const char *site;
        int serving, is_master, master_at, nsites, d_connected, d_member;
        enum store_repl_remove_verdict verdict;
        const char *reason;
    } bad[] = {
        {"d", 0, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_NOT_MASTER, "does not serve as master"},
        {"d", 1, 0, 1, 4, 0, 1, STORE_REPL_REMOVE_NOT_MASTER, "the master is c (127.0.0.1:7003)"},
        {"d", 1, 0, -1, 4, 0, 1, STORE_REPL_REMOVE_NOT_MASTER, "the master is not known yet"},
        {"e", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "\"e\" is not a site of the group"},
        {"e", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "the members: a b c d"},
        {"127.0.0.1:7009", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "not a site"},
        {"a", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "the master, which cannot remove"},
        {"127.0.0.1:7001", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "is the master"},
        {"d", 1, 1, -1, 3, 0, 0, STORE_REPL_REMOVE_REFUSED, "not a member of the group"},
        {"d", 1, 1, -1, 3, 0, 1, STORE_REPL_REMOVE_REFUSED, "leave the group 2 sites"},
        {"d", 1, 1, -1, 3, 1, 1, STORE_REPL_REMOVE_REFUSED, "at least 3"},
        {"d", 1, 1, -1, 4, 1, 1, STORE_REPL_REMOVE_REFUSED, "still connected"},
        {"b", 1, 1, -1, 4, 0, 1, STORE_REPL_REMOVE_REFUSED, "stop it first"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct store_repl_conf rc;
        struct store_repl_status rs;
        char why[1024] = "";
        size_t peer;

        remove_group(&rc, &rs);
        rs.is_master = bad[i].is_master;
        if (bad[i].master_at >= 0)
            rs.remote[bad[i].master_at].is_master = 1;
        rs.nsites = (uint32_t)bad[i].nsites;
        rs.remote[2].connected = bad[i].d_connected;
        if (!bad[i].d_member)
            rs.nremote = 2;
        assert_int_equal(
            store_repl_remove_check(&rc, &rs, bad[i].serving, bad[i].site, &peer, why, sizeof(why)),
            bad[i].verdict);
        if (!strstr(why, bad[i].reason))
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].site, why, bad[i].reason);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_group_parsed),     cmocka_unit_test(t_group_refused),
        cmocka_unit_test(t_group_too_big),    cmocka_unit_test(t_repl_ipc),
        cmocka_unit_test(t_role_transitions), cmocka_unit_test(t_role_serves_only_after_preparing),
        cmocka_unit_test(t_remove_allowed),   cmocka_unit_test(t_remove_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
