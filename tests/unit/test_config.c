/* test_config.c - unit tests of spoolgate.ini parsing: defaults, every kind of bad line, value parsers, dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"
#include "store_client.h"
#include "config_check.h"
#include "ipc_tls_conf.h"
#include "store_addr.h"

static char err[8192];

static struct sg_config *parse(const char *text)
{
    return config_parse_text(text, "t.ini", err, sizeof(err));
}

/* The text must be refused with a message containing `expect`. */
static void refused(const char *text, const char *expect)
{
    struct sg_config *c = parse(text);

    if (c || !strstr(err, expect))
        fail_msg("text [%s]: expected error containing [%s], got [%s]", text, expect, err);
}

static void test_defaults_from_empty_text(void **state)
{
    struct sg_config *c = parse("");

    assert_non_null(c);
    assert_true(c->store.cache_size == 256LL * 1024 * 1024);
    assert_true(c->store.chunk_size == 65536);
    assert_true(c->store.checkpoint_interval == 60);
    assert_true(c->store.worker_threads == 8);
    assert_string_equal(c->global.log_level, "info");
    assert_true(c->global.state_dir[0] == '/');
    assert_non_null(strstr(c->global.state_dir, "spoolgate-state"));
    config_free(c);
}

static void test_good_file_every_type(void **state)
{
    struct sg_config *c = parse("; comment\n# comment\n[global]\n  state_dir = /var/sg\n"
                                "log_level = debug ; inline\nhostname = mx.example.org\n"
                                "[store]\ncache_size = 2G\nchunk_size=16k\n"
                                "checkpoint_interval = 2m\nmax_clients = 10\n");

    assert_non_null(c);
    assert_string_equal(c->global.state_dir, "/var/sg");
    assert_string_equal(c->global.log_level, "debug");
    assert_string_equal(c->global.hostname, "mx.example.org");
    assert_true(c->store.cache_size == 2LL * 1024 * 1024 * 1024);
    assert_true(c->store.chunk_size == 16384);
    assert_true(c->store.checkpoint_interval == 120);
    assert_true(c->store.max_clients == 10);
    assert_string_equal(config_socket_dir(c), "/var/sg/run");
    assert_string_equal(config_store_dir(c), "/var/sg/store");
    config_free(c);
}

static void test_each_bad_line(void **state)
{
    refused("[nosuch]\n", "t.ini:1: [nosuch]: unknown section");
    refused("[global]\nfoo = 1\n", "t.ini:2: global.foo: unknown key");
    refused("state_dir = /x\n", "t.ini:1: state_dir: key outside any section");
    refused("[store]\nmax_clients = ten\n", "t.ini:2: store.max_clients: not a number");
    refused("[store]\nmax_clients = 0\n",
            "t.ini:2: store.max_clients: must be between 1 and 1000000");
    refused("[store]\nchunk_size = 16x\n", "t.ini:2: store.chunk_size: unknown suffix 'x'");
    refused("[store]\nchunk_size = 1g\n", "store.chunk_size: must be between 4096 and 262144");
    refused("[store]\ncheckpoint_interval = 2w\n",
            "t.ini:2: store.checkpoint_interval: unknown suffix");
    refused("[global]\nlog_level = loud\n", "t.ini:2: global.log_level: must be one of debug|info");
    refused("[global]\njust some words\n", "t.ini:2: syntax error: expected key = value");
    refused("[global\n", "t.ini:1: syntax error: bad section header");
    refused("[store]\nmax_clients = 5\nmax_clients = 6\n",
            "t.ini:3: store.max_clients: duplicate key (first set on line 2)");
    refused("[global]\nhostname = x\n[store]\nmax_clients = -5\n", "t.ini:4: store.max_clients");
}

static void test_line_too_long(void **state)
{
    char *text = malloc(3000);

    assert_non_null(text);
    strcpy(text, "[global]\nhostname = ");
    memset(text + strlen(text), 'h', 2000);
    strcpy(text + 20 + 2000, "\n");
    refused(text, "t.ini:2: line too long (more than 1000 bytes)");
    /* Longer than inih's line buffer (198 octets of text in Debian's libinih) is not too long:
     * paths may be long, and a dump of long derived paths must load back (fuzz_config). */
    {
        char s[241], x[701], cm[401];

        memset(s, 's', 240), s[240] = '\0';
        memset(x, 'x', 700), x[700] = '\0';
        memset(cm, 'c', 400), cm[400] = '\0'; /* a long comment line */
        snprintf(text, 3000,
                 "[global]\nstate_dir = /%s  ; a comment\n[gateway]\nshare = \"/%s\"\n; %s\n", s, x,
                 cm);
    }
    {
        struct sg_config *c = parse(text);

        if (!c)
            fail_msg("long lines refused: %s", err);
        assert_int_equal(strlen(c->global.state_dir), 241);
        assert_int_equal(strspn(c->global.state_dir + 1, "s"), 240);
        assert_int_equal(strlen(c->gateway.share), 701);
        config_free(c);
    }
    free(text);
}

static void test_every_error_reported(void **state)
{
    assert_null(parse("[global]\nfoo = 1\n[store]\nchunk_size = 1\nbar = 2\n"));
    assert_non_null(strstr(err, "t.ini:2: global.foo: unknown key"));
    assert_non_null(strstr(err, "t.ini:4: store.chunk_size: must be between"));
    assert_non_null(strstr(err, "t.ini:5: store.bar: unknown key"));
}

static void test_value_parsers(void **state)
{
    char why[128];
    long long v;
    int b;

    assert_int_equal(cfg_parse_size("1k", 0, 1LL << 40, &v, why, sizeof(why)), 0);
    assert_true(v == 1024);
    assert_int_equal(cfg_parse_size("3M", 0, 1LL << 40, &v, why, sizeof(why)), 0);
    assert_true(v == 3LL << 20);
    assert_int_equal(cfg_parse_size("99999999999999999999", 0, 1LL << 40, &v, why, sizeof(why)),
                     -1);
    assert_int_equal(cfg_parse_size("9000000000000000g", 0, 1LL << 62, &v, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "too large"));
    assert_int_equal(cfg_parse_size("", 0, 10, &v, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_size("-1", 0, 10, &v, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_size("1kk", 0, 1LL << 40, &v, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_duration("5d", 0, 1LL << 40, &v, why, sizeof(why)), 0);
    assert_true(v == 5 * 86400);
    assert_int_equal(cfg_parse_duration("90", 0, 100, &v, why, sizeof(why)), 0);
    assert_true(v == 90);
    assert_int_equal(cfg_parse_int("-3", -5, 5, &v, why, sizeof(why)), 0);
    assert_true(v == -3);
    assert_int_equal(cfg_parse_int("3 ", -5, 5, &v, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_int("9223372036854775808", 0, 5, &v, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_bool("Yes", &b, why, sizeof(why)), 0);
    assert_int_equal(b, 1);
    assert_int_equal(cfg_parse_bool("off", &b, why, sizeof(why)), 0);
    assert_int_equal(b, 0);
    assert_int_equal(cfg_parse_bool("maybe", &b, why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_enum("info", "debug|info", why, sizeof(why)), 0);
    assert_int_equal(cfg_parse_enum("inf", "debug|info", why, sizeof(why)), -1);
    assert_int_equal(cfg_parse_enum("", "debug|info", why, sizeof(why)), -1);
}

static void test_embedded_default_parses(void **state)
{
    struct sg_config *c = parse(cfg_embedded_default);

    assert_non_null(c);
    config_free(c);
}

static void test_dump_round_trips(void **state)
{
    struct sg_config *c = parse("[global]\nstate_dir = /srv/sg\n[store]\ncache_size = 512m\n");
    struct sg_config *back;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(c);
    config_dump(f, c, 1);
    fclose(f);
    back = parse(text);
    if (!back)
        fail_msg("dump does not parse back: %s\n%s", err, text);
    assert_string_equal(back->global.state_dir, "/srv/sg");
    assert_true(back->store.cache_size == 512LL << 20);
    assert_true(back->store.chunk_size == c->store.chunk_size);
    free(text);
    f = open_memstream(&text, &len);
    config_dump(f, c, 0); /* only what differs from the defaults */
    fclose(f);
    assert_non_null(strstr(text, "cache_size = 536870912"));
    assert_null(strstr(text, "chunk_size"));
    free(text);
    config_free(back);
    config_free(c);
}

/* Every key of the table set in one file (its default value) parses, and setting the last one twice is a
 * duplicate: the parser's bookkeeping is sized by the key table, however many keys it grows to. */
static void test_every_key_once(void **state)
{
    char *text = NULL;
    size_t len = 0, n = 0;
    FILE *f = open_memstream(&text, &len);
    struct sg_config *c;

    (void)state;
    for (const struct cfg_key *k = cfg_keys; k->name; k++, n++)
        fprintf(f, "[%s]\n%s = %s\n", k->section, k->name, k->def);
    fclose(f);
    assert_true(n >= 64);
    c = parse(text);
    if (!c)
        fail_msg("every key once: %s", err);
    config_free(c);
    {
        const struct cfg_key *last = &cfg_keys[n - 1];
        size_t dlen = len + 600;
        char *dup = malloc(dlen), want[300];

        assert_non_null(dup);
        snprintf(dup, dlen, "%s[%s]\n%s = %s\n", text, last->section, last->name, last->def);
        snprintf(want, sizeof(want), "%s.%s: duplicate key", last->section, last->name);
        refused(dup, want);
        free(dup);
    }
    free(text);
}

static void test_load_missing_file(void **state)
{
    assert_null(config_load("/nonexistent/spoolgate.ini", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/spoolgate.ini: cannot read: No such file"));
}

static void test_socket_path(void **state)
{
    struct sg_config *c = parse("[global]\nstate_dir = /srv/sg\n");
    char buf[256];

    assert_non_null(c);
    assert_int_equal(config_socket_path(c, "store", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/srv/sg/run/store.sock");
    config_free(c);
    c = parse("[global]\nsocket_dir = /a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/"
              "and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on\n");
    assert_non_null(c);
    assert_int_equal(config_socket_path(c, "store", buf, sizeof(buf)), -1);
    config_free(c);
}

/* [global] store: where the store is, one address or a replicated store's several. */
static void test_store_addresses(void **state)
{
    static const struct {
        const char *list, *why;
    } bad[] = {
        {"", "no store address"},
        {" , ", "no store address"},
        {"run/store.sock", "absolute"},
        {"unix:", "absolute"},
        {"tcp:mx.example:7000", "tcp: store address"},
        {"tcp:10.0.0.1", "tcp: store address"},
        {"tcp:[::1]:0", "bad port"},
        {"ftp:/x", "unix:PATH or tcp:ADDRESS:PORT"},
        {"tcp:10.0.0.1:7000 tcp:10.0.0.1:7000", "given twice"},
        {"unix:/a.sock /a.sock", "given twice"},
        {"/1 /2 /3 /4 /5 /6 /7 /8 /9", "more than 8"},
        {"/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/"
         "and/on/and/on/and/on/store.sock",
         "too long"},
    };
    struct sc_addr_list l;
    struct sg_config *c;
    char why[512], buf[SC_WHERE_MAX];

    (void)state;
    assert_int_equal(sc_addr_parse("unix:/r/a/store.sock, /r/b/store.sock", &l, why, sizeof(why)),
                     0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.path[0], "/r/a/store.sock");
    assert_string_equal(l.path[1], "/r/b/store.sock");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sc_addr_parse(bad[i].list, &l, why, sizeof(why)), -1);
        if (!strstr(why, bad[i].why))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].list, why, bad[i].why);
    }
    c = parse("[global]\nstate_dir = /srv/sg\nstore = unix:/r/a/store.sock unix:/r/b/store.sock\n");
    assert_non_null(c);
    assert_int_equal(sc_socket_path(c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "unix:/r/a/store.sock unix:/r/b/store.sock");
    assert_int_equal(sc_submit_socket_path(c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/r/a/submit.sock /r/b/submit.sock");
    config_free(c);
    c = parse("[global]\nstate_dir = /srv/sg\n");
    assert_int_equal(sc_socket_path(c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/srv/sg/run/store.sock");
    config_free(c);
    /* TCP: kept with the scheme; the address apart for the certificate check */
    assert_int_equal(sc_addr_parse("tcp:10.0.0.1:2790 unix:/r/b/store.sock tcp:[fd00::2]:2790", &l,
                                   why, sizeof(why)),
                     0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.path[0], "tcp:10.0.0.1:2790");
    assert_string_equal(l.path[2], "tcp:[fd00::2]:2790");
    {
        struct sockaddr_storage ss;
        char host[64];

        assert_int_equal(sc_addr_tcp(l.path[0], &ss, host, sizeof(host)), 1);
        assert_string_equal(host, "10.0.0.1");
        assert_int_equal(ss.ss_family, AF_INET);
        assert_int_equal(sc_addr_tcp(l.path[2], &ss, host, sizeof(host)), 1);
        assert_string_equal(host, "fd00::2");
        assert_int_equal(ss.ss_family, AF_INET6);
        assert_int_equal(sc_addr_tcp(l.path[1], &ss, host, sizeof(host)), 0);
        assert_int_equal(sc_addr_tcp("tcp:nowhere", &ss, host, sizeof(host)), -1);
    }
    /* a tcp: address needs this host's IPC certificate, key and CA */
    assert_null(parse("[global]\nstore = tcp:10.0.0.1:25\n"));
    assert_null(parse("[global]\nstore = tcp:10.0.0.1:25\nipc_tls_cert = /c.pem\n"));
    c = parse("[global]\nstate_dir = /srv/sg\nstore = tcp:10.0.0.1:25 unix:/r/b/store.sock\n"
              "ipc_tls_cert = /c.pem\nipc_tls_key = /k.pem\nipc_tls_ca = /ca.pem\n");
    assert_non_null(c);
    /* submission is over a local Unix socket only */
    assert_int_equal(sc_submit_socket_path(c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/r/b/submit.sock");
    config_free(c);
    c = parse("[global]\nstate_dir = /srv/sg\nstore = tcp:10.0.0.1:25\n"
              "ipc_tls_cert = /c.pem\nipc_tls_key = /k.pem\nipc_tls_ca = /ca.pem\n");
    assert_non_null(c);
    assert_int_equal(sc_submit_socket_path(c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/srv/sg/run/submit.sock");
    config_free(c);
}

/* [store] ipc_listen and ipc_tls_peers: who may use IPC over TCP, as what. */
static void test_ipc_tls_peers(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"mx.example", "expected NAME=ROLE"},
        {"=smtpd", "expected NAME=ROLE"},
        {"mx.example=root", "unknown role"},
        {"mx.example=", "unknown role"},
    };
    struct ipc_tls_peers p;
    struct sg_config *c;
    char why[512], roles[64];

    (void)state;
    assert_int_equal(ipc_tls_peers_parse("mx1.example=smtpd, ops.example=admin mx1.example=router",
                                         &p, why, sizeof(why)),
                     0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.peer[0].name, "mx1.example");
    assert_int_equal(p.peer[0].roles, IPC_TLS_ROLE_SMTPD | IPC_TLS_ROLE_ROUTER);
    assert_int_equal(p.peer[1].roles, IPC_TLS_ROLE_ADMIN);
    ipc_tls_roles_text(p.peer[0].roles, roles, sizeof(roles));
    assert_string_equal(roles, "smtpd,router");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ipc_tls_peers_parse(bad[i].text, &p, why, sizeof(why)), -1);
        if (!strstr(why, bad[i].why))
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].text, why, bad[i].why);
    }
    /* ipc_listen: certificate, key, CA and peers, all needed */
    assert_null(parse("[store]\nipc_listen = 10.0.0.1:2790\n"));
    assert_null(parse("[global]\nipc_tls_cert = /c.pem\nipc_tls_key = /k.pem\nipc_tls_ca = "
                      "/ca.pem\n[store]\nipc_listen = 10.0.0.1:2790\n"));
    assert_null(parse("[global]\nipc_tls_cert = /c.pem\nipc_tls_key = /k.pem\nipc_tls_ca = "
                      "/ca.pem\n[store]\nipc_listen = 10.0.0.1:2790\nipc_tls_peers = a=b\n"));
    assert_null(parse("[store]\nipc_listen = mx.example:2790\n"));
    c = parse(
        "[global]\nipc_tls_cert = /c.pem\nipc_tls_key = /k.pem\nipc_tls_ca = /ca.pem\n"
        "[store]\nipc_listen = 10.0.0.1:2790 [fd00::1]:2790\nipc_tls_peers = a.example=admin\n");
    assert_non_null(c);
    config_free(c);
}

/* The checks beyond a value's type, and inline comments and quotes. */
static void test_value_checks(void **state)
{
    char why[256], out[64];

    (void)state;
    assert_int_equal(cfg_check_cidr_list("127.0.0.0/8 [::1]/128", why, sizeof(why)), 0);
    assert_int_equal(cfg_check_cidr_list("10.0.0.0/33", why, sizeof(why)), -1);
    assert_non_null(strstr(why, "10.0.0.0/33"));
    assert_int_equal(cfg_check_listen_list("127.0.0.1:25 [::1]:25", why, sizeof(why)), 0);
    assert_int_equal(cfg_check_listen_list("127.0.0.1", why, sizeof(why)), -1);
    assert_int_equal(cfg_check_listen_list("127.0.0.1:0", why, sizeof(why)), -1);
    assert_int_equal(cfg_check_listen_list("[::1]:65536", why, sizeof(why)), -1);
    assert_int_equal(cfg_check_nexthop("[smtp.example.com]:587", why, sizeof(why)), 0);
    assert_int_equal(cfg_check_nexthop("smtp.example.com", why, sizeof(why)), 0);
    assert_int_equal(cfg_check_nexthop("[smtp.example.com]:587:x", why, sizeof(why)), -1);
    assert_int_equal(cfg_check_dns_servers("127.0.0.1,[::1]:53", why, sizeof(why)), 0);
    assert_int_equal(cfg_check_dns_servers("127.0.0.1:53x", why, sizeof(why)), -1);
    assert_int_equal(cfg_check_value(cfg_check_kind("smtpd", "mynetworks"), "", why, sizeof(why)),
                     0);
    assert_int_equal(cfg_check_kind("global", "hostname"), CFG_CHECK_NONE);
    assert_int_equal(cfg_comment_start("a b # c"), 4);
    assert_int_equal(cfg_comment_start("a b\t; c"), 4);
    assert_int_equal(cfg_comment_start("a#b;c"), 5);
    assert_int_equal(cfg_unquote("\"x y\"", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "x y");
    assert_int_equal(cfg_unquote("\"\"", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "");
    assert_int_equal(cfg_unquote("plain", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "plain");
    assert_int_equal(cfg_unquote("\"open", out, sizeof(out), why, sizeof(why)), -1);
    assert_int_equal(cfg_unquote("\"", out, sizeof(out), why, sizeof(why)), -1);
}

/* What a reload names as waiting for the next start: changed keys of the sections asked for,
 * less those applied. */
static void test_changed_keys(void **state)
{
    static const char *const applied[] = {"gateway.poll_interval", NULL};
    struct sg_config *a = parse("[gateway]\ndomain = po.test\npoll_interval = 5s\n");
    struct sg_config *b = parse("[gateway]\ndomain = new.test\npoll_interval = 7s\n"
                                "max_deliveries = 3\n[smtpd]\nmax_recipients = 9\n");
    char out[256];

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(config_changed(a, b, "gateway", applied, out, sizeof(out)), 2);
    assert_string_equal(out, "gateway.domain, gateway.max_deliveries");
    assert_int_equal(config_changed(a, b, "gateway,smtpd", NULL, out, sizeof(out)), 4);
    assert_int_equal(config_changed(a, b, "smtpd.max_recipients,global", NULL, out, sizeof(out)),
                     1);
    assert_string_equal(out, "smtpd.max_recipients");
    assert_int_equal(config_changed(a, b, "smtp", NULL, out, sizeof(out)), 0); /* no prefix match */
    assert_string_equal(out, "");
    assert_int_equal(config_changed(a, a, "gateway,smtpd,global", NULL, out, sizeof(out)), 0);
    assert_int_equal(config_changed(a, b, "gateway", NULL, out, 10), 3); /* cut, still counted */
    assert_true(strlen(out) < 10);
    config_free(a);
    config_free(b);
}

/* A value the loader would read otherwise is dumped in quotes, so the dump loads back the same
 * (found by fuzz_config: "domain =#po.test" dumped as "domain = #po.test", a comment). */
static void test_dump_quotes(void **state)
{
    struct sg_config *a =
        parse("[gateway]\ndomain =#po.test\n[smtpd]\npostmaster = \" pm@x.test \"\n");
    struct sg_config *b;
    char *text = NULL, changed[256];
    size_t len = 0;
    FILE *f;

    (void)state;
    assert_non_null(a);
    assert_string_equal(a->gateway.domain, "#po.test");
    f = open_memstream(&text, &len);
    assert_non_null(f);
    config_dump(f, a, 1);
    fclose(f);
    assert_non_null(strstr(text, "domain = \"#po.test\"\n"));
    b = parse(text);
    assert_non_null(b);
    assert_int_equal(
        config_changed(a, b, "global,store,smtpd,router,gateway", NULL, changed, sizeof(changed)),
        0);
    config_free(a);
    config_free(b);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_empty_text),
        cmocka_unit_test(test_good_file_every_type),
        cmocka_unit_test(test_each_bad_line),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_every_error_reported),
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_embedded_default_parses),
        cmocka_unit_test(test_dump_round_trips),
        cmocka_unit_test(test_every_key_once),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_socket_path),
        cmocka_unit_test(test_store_addresses),
        cmocka_unit_test(test_ipc_tls_peers),
        cmocka_unit_test(test_value_checks),
        cmocka_unit_test(test_changed_keys),
        cmocka_unit_test(test_dump_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
