/* test_smtp_parse.c - unit tests of the SMTP command, path, parameter and address-list parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "test_util.h"

#include "smtp_addr.h"
#include "smtp_cidr.h"
#include "smtp_cmd.h"
#include "smtp_xtext.h"
#include "transport_map.h"

/* ---- helpers --------------------------------------------------------------- */

static int nul_within(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* err->text must start with the enhanced code "x.y.z " whose class matches code. */
static void check_err_shape(const struct smtp_error *e)
{
    const char *t = e->text;

    assert_true(nul_within(t, sizeof(e->text)));
    assert_true(e->code >= 400 && e->code <= 599);
    assert_true(t[0] == '0' + e->code / 100);
    assert_true(t[1] == '.');
    assert_non_null(strchr(t + 2, '.'));
    assert_non_null(strchr(t, ' '));
}

static void expect_err(const char *what, const char *in, int r, const struct smtp_error *e,
                       int code, const char *enh)
{
    size_t n = strlen(enh);

    if (r != -1)
        fail_msg("%s \"%s\": expected failure %d %s, got success", what, in, code, enh);
    check_err_shape(e);
    if (e->code != code || strncmp(e->text, enh, n) != 0 || e->text[n] != ' ')
        fail_msg("%s \"%s\": expected %d %s, got %d \"%s\"", what, in, code, enh, e->code, e->text);
}

static int cmd_parse(const char *in, size_t len, struct smtp_cmd *cmd, struct smtp_error *e)
{
    char *buf = exact(in, len);
    int r = smtp_parse_command(buf, len, cmd, e);

    /* arg must lie inside the buffer (or be a literal ""); translate it back to `in` */
    if (r == 0 && cmd->arg_len > 0) {
        assert_true(cmd->arg >= buf && cmd->arg + cmd->arg_len <= buf + len);
        cmd->arg = in + (cmd->arg - buf);
    } else if (r == 0) {
        assert_string_equal(cmd->arg, "");
    }
    free(buf);
    return r;
}

static int mail_parse(const char *in, struct smtp_mail_args *m, struct smtp_error *e)
{
    size_t len = strlen(in);
    char *buf = exact(in, len);
    int r;

    memset(m, 0x5A, sizeof(*m));
    memset(e, 0x5A, sizeof(*e));
    r = smtp_parse_mail(buf, len, m, e);
    free(buf);
    assert_true(nul_within(m->sender, sizeof(m->sender)));
    assert_true(nul_within(m->envid, sizeof(m->envid)));
    return r;
}

static int rcpt_parse(const char *in, int utf8, struct smtp_rcpt_args *a, struct smtp_error *e)
{
    size_t len = strlen(in);
    char *buf = exact(in, len);
    int r;

    memset(a, 0x5A, sizeof(*a));
    memset(e, 0x5A, sizeof(*e));
    r = smtp_parse_rcpt(buf, len, utf8, a, e);
    free(buf);
    assert_true(nul_within(a->rcpt, sizeof(a->rcpt)));
    assert_true(nul_within(a->orcpt, sizeof(a->orcpt)));
    return r;
}

static int mbox(const char *s, int utf8)
{
    size_t len = strlen(s);
    char *buf = exact(s, len);
    int r = smtp_mailbox_valid(buf, len, utf8);

    free(buf);
    return r;
}

static int xtext(const char *s)
{
    size_t len = strlen(s);
    char *buf = exact(s, len);
    int r = smtp_xtext_valid(buf, len);

    free(buf);
    return r;
}

static int bdat(const char *s, uint64_t *size, int *last, struct smtp_error *e)
{
    size_t len = strlen(s);
    char *buf = exact(s, len);
    int r;

    memset(e, 0x5A, sizeof(*e));
    r = smtp_parse_bdat(buf, len, size, last, e);
    free(buf);
    return r;
}

static void expect_mail_err(const char *in, int code, const char *enh)
{
    struct smtp_mail_args m;
    struct smtp_error e;
    int r = mail_parse(in, &m, &e);

    expect_err("MAIL", in, r, &e, code, enh);
    assert_string_equal(m.sender, "");
}

static void expect_rcpt_err(const char *in, int utf8, int code, const char *enh)
{
    struct smtp_rcpt_args a;
    struct smtp_error e;
    int r = rcpt_parse(in, utf8, &a, &e);

    expect_err("RCPT", in, r, &e, code, enh);
    assert_string_equal(a.rcpt, "");
}

static void expect_mail_ok(const char *in, const char *sender)
{
    struct smtp_mail_args m;
    struct smtp_error e;

    if (mail_parse(in, &m, &e) != 0)
        fail_msg("MAIL \"%s\": unexpected %d \"%s\"", in, e.code, e.text);
    assert_int_equal(e.code, 0);
    assert_string_equal(m.sender, sender);
}

static void expect_rcpt_ok(const char *in, int utf8, const char *rcpt)
{
    struct smtp_rcpt_args a;
    struct smtp_error e;

    if (rcpt_parse(in, utf8, &a, &e) != 0)
        fail_msg("RCPT \"%s\": unexpected %d \"%s\"", in, e.code, e.text);
    assert_int_equal(e.code, 0);
    assert_string_equal(a.rcpt, rcpt);
}

/* A domain of exactly n octets made of labels of up to 10 octets. */
static void make_domain(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (i % 11 == 10) ? '.' : 'd';
    if (n > 0 && out[n - 1] == '.')
        out[n - 1] = 'e'; /* last label becomes 11 octets, still fine */
    out[n] = '\0';
}

static void repeat(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
}

/* ---- commands -------------------------------------------------------------- */

static void test_command_verbs(void **state)
{
    static const struct {
        const char *line;
        enum smtp_verb verb;
        const char *arg;
    } cases[] = {
        {"EHLO client.example", SMTP_V_EHLO, "client.example"},
        {"ehlo client.example", SMTP_V_EHLO, "client.example"},
        {"HeLo x", SMTP_V_HELO, "x"},
        {"MAIL FROM:<a@b.c>", SMTP_V_MAIL, "FROM:<a@b.c>"},
        {"mail    FROM:<>", SMTP_V_MAIL, "FROM:<>"},
        {"RCPT TO:<a@b.c> NOTIFY=NEVER", SMTP_V_RCPT, "TO:<a@b.c> NOTIFY=NEVER"},
        {"DATA", SMTP_V_DATA, ""},
        {"data  ", SMTP_V_DATA, ""},
        {"DATA x", SMTP_V_DATA, "x"},
        {"BDAT 100 LAST", SMTP_V_BDAT, "100 LAST"},
        {"RSET", SMTP_V_RSET, ""},
        {"NOOP anything at all", SMTP_V_NOOP, "anything at all"},
        {"QUIT", SMTP_V_QUIT, ""},
        {"help", SMTP_V_HELP, ""},
        {"VRFY user", SMTP_V_VRFY, "user"},
        {"EXPN list", SMTP_V_EXPN, "list"},
        {"STARTTLS", SMTP_V_STARTTLS, ""},
        {"starttls ", SMTP_V_STARTTLS, ""},
        {"AUTH PLAIN AGFAAGI=", SMTP_V_AUTH, "PLAIN AGFAAGI="},
        {"EHLO x  ", SMTP_V_EHLO, "x  "},
        {"EHLO \xc3\xa9.example", SMTP_V_EHLO, "\xc3\xa9.example"},
        {"EHLO a\tb", SMTP_V_EHLO, "a\tb"},
        /* unknown */
        {"MAILX FROM:<>", SMTP_V_UNKNOWN, "FROM:<>"},
        {"MAI", SMTP_V_UNKNOWN, ""},
        {"MAIL\tFROM:<>", SMTP_V_UNKNOWN, ""},
        {"MAIL:FROM:<>", SMTP_V_UNKNOWN, ""},
        {"STARTTLSX", SMTP_V_UNKNOWN, ""},
        {"XYZZY", SMTP_V_UNKNOWN, ""},
        {"", SMTP_V_UNKNOWN, ""},
        {" ", SMTP_V_UNKNOWN, ""},
        {"      ", SMTP_V_UNKNOWN, ""},
        {" NOOP", SMTP_V_UNKNOWN, ""},
        {"\tNOOP", SMTP_V_UNKNOWN, ""},
        {"UNKNOWN", SMTP_V_UNKNOWN, ""},
        {"\xc3\xa9", SMTP_V_UNKNOWN, ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct smtp_cmd cmd;
        struct smtp_error e;
        size_t len = strlen(cases[i].line);

        memset(&e, 0x5A, sizeof(e));
        if (cmd_parse(cases[i].line, len, &cmd, &e) != 0)
            fail_msg("command \"%s\" failed: %s", cases[i].line, e.text);
        if (cmd.verb != cases[i].verb)
            fail_msg("command \"%s\": verb %d, expected %d", cases[i].line, cmd.verb,
                     cases[i].verb);
        if (cases[i].verb != SMTP_V_UNKNOWN || cases[i].arg[0] != '\0') {
            assert_int_equal(cmd.arg_len, strlen(cases[i].arg));
            assert_memory_equal(cmd.arg, cases[i].arg, cmd.arg_len);
        }
        assert_int_equal(e.code, 0);
        assert_string_equal(e.text, "");
    }
}

static void test_command_verb_names(void **state)
{
    for (int v = SMTP_V_EHLO; v < SMTP_V_COUNT; v++) {
        const char *name = smtp_verb_name((enum smtp_verb)v);
        char line[32];
        struct smtp_cmd cmd;
        struct smtp_error e;

        assert_non_null(name);
        snprintf(line, sizeof(line), "%s arg", name);
        assert_int_equal(cmd_parse(line, strlen(line), &cmd, &e), 0);
        assert_int_equal(cmd.verb, v);
        /* lower case as well */
        for (char *p = line; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        assert_int_equal(cmd_parse(line, strlen(line), &cmd, &e), 0);
        assert_int_equal(cmd.verb, v);
    }
    assert_string_equal(smtp_verb_name(SMTP_V_MAIL), "MAIL");
    assert_string_equal(smtp_verb_name(SMTP_V_STARTTLS), "STARTTLS");
    assert_non_null(smtp_verb_name(SMTP_V_UNKNOWN));
    assert_non_null(smtp_verb_name(SMTP_V_COUNT));
    assert_non_null(smtp_verb_name((enum smtp_verb)999));
    assert_non_null(smtp_verb_name((enum smtp_verb) - 1));
}

static void test_command_control_chars(void **state)
{
    static const char *const bad[] = {
        "NOOP\x01", "\x7f", "MAIL FROM:<a@b.c>\r", "QUIT\n", "RS\x1bT", "EHLO a\x0b", "\x1f"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct smtp_cmd cmd;
        struct smtp_error e;
        int r = cmd_parse(bad[i], strlen(bad[i]), &cmd, &e);
        expect_err("command", bad[i], r, &e, 500, "5.5.2");
        assert_int_equal(cmd.verb, SMTP_V_UNKNOWN);
    }
    /* NUL inside the line */
    {
        static const char withnul[] = "NOOP\0abc";
        struct smtp_cmd cmd;
        struct smtp_error e;
        int r = cmd_parse(withnul, sizeof(withnul) - 1, &cmd, &e);
        expect_err("command", "NOOP\\0abc", r, &e, 500, "5.5.2");
        r = cmd_parse("\0", 1, &cmd, &e);
        expect_err("command", "\\0", r, &e, 500, "5.5.2");
        /* the NUL past len is not looked at */
        assert_int_equal(cmd_parse(withnul, 4, &cmd, &e), 0);
        assert_int_equal(cmd.verb, SMTP_V_NOOP);
    }
    /* err may be NULL */
    {
        struct smtp_cmd cmd;
        assert_int_equal(smtp_parse_command("A\r", 2, &cmd, NULL), -1);
        assert_int_equal(smtp_parse_command("QUIT", 4, &cmd, NULL), 0);
        assert_int_equal(cmd.verb, SMTP_V_QUIT);
        assert_int_equal(smtp_parse_command(NULL, 0, &cmd, NULL), 0);
        assert_int_equal(cmd.verb, SMTP_V_UNKNOWN);
    }
}

static void test_command_not_nul_terminated(void **state)
{
    char buf[64];
    struct smtp_cmd cmd;
    struct smtp_error e;

    memcpy(buf, "QUITXXXXXXXXXXXXXX\r\n\x01", 21);
    assert_int_equal(smtp_parse_command(buf, 4, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_QUIT);
    assert_int_equal(cmd.arg_len, 0);
    assert_string_equal(cmd.arg, "");

    memcpy(buf, "MAIL FROM:<>\r\nGARBAGE", 21);
    assert_int_equal(smtp_parse_command(buf, 12, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_MAIL);
    assert_int_equal(cmd.arg_len, 7);
    assert_memory_equal(cmd.arg, "FROM:<>", 7);

    memcpy(buf, "MAIL ", 5); /* len 4: verb only, no argument */
    assert_int_equal(smtp_parse_command(buf, 4, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_MAIL);
    assert_int_equal(cmd.arg_len, 0);

    memcpy(buf, "MAILX", 5); /* len 4 cuts the X off */
    assert_int_equal(smtp_parse_command(buf, 4, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_MAIL);
    assert_int_equal(smtp_parse_command(buf, 5, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_UNKNOWN);
    assert_int_equal(smtp_parse_command(buf, 0, &cmd, &e), 0);
    assert_int_equal(cmd.verb, SMTP_V_UNKNOWN);
}

/* ---- MAIL ------------------------------------------------------------------ */

static void test_mail_paths(void **state)
{
    expect_mail_ok("FROM:<>", "");
    expect_mail_ok("FROM: <>", "");
    expect_mail_ok("from:<>", "");
    expect_mail_ok("From:<user@example.com>", "user@example.com");
    expect_mail_ok("FROM: <user@example.com>", "user@example.com");
    expect_mail_ok("FROM:<user@example.com>   ", "user@example.com");
    expect_mail_ok("FROM:<first.last+tag@sub.example.com>", "first.last+tag@sub.example.com");
    expect_mail_ok("FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~@example.com");
    expect_mail_ok("FROM:<a@localhost>", "a@localhost");
    expect_mail_ok("FROM:<a@x-y.example>", "a@x-y.example");
    expect_mail_ok("FROM:<a@123.example>", "a@123.example");
    expect_mail_ok("FROM:<\"john doe\"@example.com>", "\"john doe\"@example.com");
    expect_mail_ok("FROM:<\"a>b\"@example.com>", "\"a>b\"@example.com");
    expect_mail_ok("FROM:<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com");
    expect_mail_ok("FROM:<\"a\\\\\"@example.com>", "\"a\\\\\"@example.com");
    expect_mail_ok("FROM:<\"a@b\"@example.com>", "\"a@b\"@example.com");
    expect_mail_ok("FROM:<\" \"@example.com>", "\" \"@example.com");
    expect_mail_ok("FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]");
    expect_mail_ok("FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]");
    expect_mail_ok("FROM:<a@[ipv6:::1]>", "a@[ipv6:::1]");
    expect_mail_ok("FROM:<a@[IPv6:::ffff:192.0.2.1]>", "a@[IPv6:::ffff:192.0.2.1]");
    /* source routes are dropped */
    expect_mail_ok("FROM:<@a.example:user@example.com>", "user@example.com");
    expect_mail_ok("FROM:<@a.example,@b.example:user@example.com>", "user@example.com");
    expect_mail_ok("FROM:<@a.example,@b.example:u@[IPv6:::1]>", "u@[IPv6:::1]");
}

static void test_mail_bad_paths(void **state)
{
    static const char *const bad[] = {
        "FROM:user@example.com",  /* missing brackets */
        "FROM:<user@example.com", /* missing > */
        "FROM:user@example.com>",
        "FROM:<user>",       /* no domain */
        "FROM:<postmaster>", /* only for RCPT */
        "FROM:<@example.com>",
        "FROM:<user@>",
        "FROM:<.user@example.com>",
        "FROM:<user.@example.com>",
        "FROM:<us..er@example.com>",
        "FROM:<us er@example.com>",
        "FROM:<us\ter@example.com>",
        "FROM:<us\x01r@example.com>",
        "FROM:<us\x7fr@example.com>",
        "FROM:<user@exa mple.com>",
        "FROM:<user@example.com.>",
        "FROM:<user@.example.com>",
        "FROM:<user@example..com>",
        "FROM:<user@-example.com>",
        "FROM:<user@example-.com>",
        "FROM:<user@exa_mple.com>",
        "FROM:<user@@example.com>",
        "FROM:<user@example.com@example.com>",
        "FROM:<\"\"@example.com>", /* empty local part */
        "FROM:<\"unterminated@example.com>",
        "FROM:<\"a\"b@example.com>",
        "FROM:<\"a\\\x01\"@example.com>",
        "FROM:<\"a\x01\"@example.com>",
        "FROM:<a\"b\"@example.com>",
        "FROM:<a@[192.0.2.256]>",
        "FROM:<a@[192.0.2]>",
        "FROM:<a@[192.0.2.1>",
        "FROM:<a@192.0.2.1]>",
        "FROM:<a@[]>",
        "FROM:<a@[IPv6:]>",
        "FROM:<a@[IPv6:2001:db8::g]>",
        "FROM:<a@[IPv6:1.2.3.4]>",
        "FROM:<a@[2001:db8::1]>", /* IPv6 literal needs the tag */
        "FROM:<a@[x-tag:foo]>",   /* general address literal unsupported */
        "FROM:<a@[1.2.3.4]x>",
        "FROM:<@a.example,user@example.com>", /* route without colon */
        "FROM:<@a.example:>",
        "FROM:<@:user@example.com>",
        "FROM:<@a..example:user@example.com>",
        "FROM:<@a.example,,@b.example:user@example.com>",
        "FROM:<@a.example,b.example:user@example.com>",
        "FROM:<a.example:user@example.com>",
        "FROM:<@[1.2.3.4]:user@example.com>",
        "FROM:<<user@example.com>>",
        "FROM:<user@\xc3\xa9.example>", /* UTF-8 without SMTPUTF8 */
        "FROM:<\xc3\xa9@example.com>",
        "FROM:<\"\xc3\xa9\"@example.com>",
        "FROM:<user@example.com\x80>",
        "FROM:<\xc3\xa9@example.com> BODY=8BITMIME",
        "FROM:<@\xc3\xa9.example:a@example.com>",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_mail_err(bad[i], 501, "5.1.7");
}

static void test_mail_syntax_errors(void **state)
{
    static const char *const bad[] = {
        "",
        "FROM",
        "FROM<>",
        "FROM :<>",
        "TO:<>",
        "FROM:",
        "FROM: ",
        "FROM:  <>",
        " FROM:<>",
        "FRO:<>",
        "FROMX:<>",
        "FROM:<>x",
        "FROM:<a@b.c>x",
        "FROM:<a@b.c>\tSIZE=1",
        "FROM:<>SIZE=1",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_mail_err(bad[i], 501, "5.5.4");
}

static void test_mail_params(void **state)
{
    struct smtp_mail_args m;
    struct smtp_error e;

    assert_int_equal(mail_parse("FROM:<a@b.example>", &m, &e), 0);
    assert_int_equal(m.has_size, 0);
    assert_int_equal(m.body, SMTP_BODY_UNSPEC);
    assert_int_equal(m.smtputf8, 0);
    assert_int_equal(m.ret, SMTP_RET_UNSPEC);
    assert_string_equal(m.envid, "");

    assert_int_equal(mail_parse("FROM:<a@b.example> SIZE=12345 BODY=8BITMIME SMTPUTF8 RET=HDRS "
                                "ENVID=QQ+2B314 AUTH=<>",
                                &m, &e),
                     0);
    assert_string_equal(m.sender, "a@b.example");
    assert_int_equal(m.has_size, 1);
    assert_true(m.size == 12345);
    assert_int_equal(m.body, SMTP_BODY_8BITMIME);
    assert_int_equal(m.smtputf8, 1);
    assert_int_equal(m.ret, SMTP_RET_HDRS);
    assert_string_equal(m.envid, "QQ+2B314");

    assert_int_equal(mail_parse("FROM:<>   size=0   body=7bit   ret=full  smtputf8  ", &m, &e), 0);
    assert_string_equal(m.sender, "");
    assert_int_equal(m.has_size, 1);
    assert_true(m.size == 0);
    assert_int_equal(m.body, SMTP_BODY_7BIT);
    assert_int_equal(m.ret, SMTP_RET_FULL);
    assert_int_equal(m.smtputf8, 1);

    assert_int_equal(mail_parse("FROM:<> Body=8bitMime SmtpUtf8 Ret=Hdrs", &m, &e), 0);
    assert_int_equal(m.body, SMTP_BODY_8BITMIME);
    assert_int_equal(m.ret, SMTP_RET_HDRS);

    assert_int_equal(mail_parse("FROM:<a@b.example> SIZE=18446744073709551615", &m, &e), 0);
    assert_true(m.size == UINT64_MAX);
    assert_int_equal(mail_parse("FROM:<a@b.example> SIZE=00000000000000000042", &m, &e), 0);
    assert_true(m.size == 42);

    /* AUTH: anything, ignored */
    expect_mail_ok("FROM:<a@b.example> AUTH=e+3Dmc2@example.com", "a@b.example");
    expect_mail_ok("FROM:<a@b.example> auth=<>", "a@b.example");
    expect_mail_ok("FROM:<a@b.example> AUTH=\xc3\xa9", "a@b.example");

    /* SMTPUTF8 allows UTF-8 in the address, wherever the parameter is */
    expect_mail_ok("FROM:<\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
                   "cole.example> SMTPUTF8",
                   "\xc3\xa9l\xc3\xa8ve@\xc3\xa9"
                   "cole.example");
    expect_mail_ok(
        "FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example> BODY=8BITMIME SMTPUTF8",
        "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example");
    expect_mail_ok("FROM:<\"\xc3\xa9 x\"@example.com> SMTPUTF8", "\"\xc3\xa9 x\"@example.com");
    expect_mail_ok("FROM:<@\xc3\xa9.example:a@example.com> SMTPUTF8", "a@example.com");
    /* but only well-formed UTF-8 */
    expect_mail_err("FROM:<\xc3@example.com> SMTPUTF8", 501, "5.1.7");
    expect_mail_err("FROM:<\xc0\xaf@example.com> SMTPUTF8", 501, "5.1.7");
    expect_mail_err("FROM:<\xed\xa0\x80@example.com> SMTPUTF8", 501, "5.1.7");
    expect_mail_err("FROM:<\xf4\x90\x80\x80@example.com> SMTPUTF8", 501, "5.1.7");
    expect_mail_err("FROM:<a@\xff.example> SMTPUTF8", 501, "5.1.7");
    expect_mail_err("FROM:<a@\xc3.example> SMTPUTF8", 501, "5.1.7");
}

static void test_mail_param_errors(void **state)
{
    static const struct {
        const char *in;
        int code;
        const char *enh;
    } cases[] = {
        /* malformed values */
        {"FROM:<a@b.example> SIZE", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=abc", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=-1", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=+1", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=1k", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=18446744073709551616", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=99999999999999999999", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=000000000000000000042", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=1=2", 501, "5.5.4"},
        {"FROM:<a@b.example> BODY", 501, "5.5.4"},
        {"FROM:<a@b.example> BODY=", 501, "5.5.4"},
        {"FROM:<a@b.example> BODY=8BIT", 501, "5.5.4"},
        {"FROM:<a@b.example> BODY=7BITX", 501, "5.5.4"},
        {"FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4"},
        {"FROM:<a@b.example> SMTPUTF8=", 501, "5.5.4"},
        {"FROM:<a@b.example> RET", 501, "5.5.4"},
        {"FROM:<a@b.example> RET=ALL", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=a+2b", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=a+", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=a+4", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=\xc3\xa9", 501, "5.5.4"},
        {"FROM:<a@b.example> AUTH", 501, "5.5.4"},
        {"FROM:<a@b.example> AUTH=", 501, "5.5.4"},
        {"FROM:<a@b.example> =x", 501, "5.5.4"},
        {"FROM:<a@b.example> -X=1", 501, "5.5.4"},
        {"FROM:<a@b.example> X_Y=1", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=1\t", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=\x01", 501, "5.5.4"},
        {"FROM:<a@b.example> \xc3\xa9=1", 501, "5.5.4"},
        /* duplicates */
        {"FROM:<a@b.example> SIZE=1 SIZE=1", 501, "5.5.4"},
        {"FROM:<a@b.example> SIZE=1 size=2", 501, "5.5.4"},
        {"FROM:<a@b.example> BODY=7BIT BODY=8BITMIME", 501, "5.5.4"},
        {"FROM:<a@b.example> SMTPUTF8 SMTPUTF8", 501, "5.5.4"},
        {"FROM:<a@b.example> RET=FULL RET=HDRS", 501, "5.5.4"},
        {"FROM:<a@b.example> ENVID=x ENVID=y", 501, "5.5.4"},
        {"FROM:<a@b.example> AUTH=<> AUTH=<>", 501, "5.5.4"},
        /* unknown */
        {"FROM:<a@b.example> FOO=bar", 555, "5.5.4"},
        {"FROM:<a@b.example> FOO", 555, "5.5.4"},
        {"FROM:<a@b.example> NOTIFY=NEVER", 555, "5.5.4"},
        {"FROM:<a@b.example> ORCPT=rfc822;a@b", 555, "5.5.4"},
        {"FROM:<a@b.example> SIZE=1 X-Y-Z", 555, "5.5.4"},
        {"FROM:<a@b.example> SIZEX=1", 555, "5.5.4"},
        /* BINARYMIME */
        {"FROM:<a@b.example> BODY=BINARYMIME", 504, "5.5.4"},
        {"FROM:<a@b.example> body=binarymime", 504, "5.5.4"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct smtp_mail_args m;
        struct smtp_error e;
        int r = mail_parse(cases[i].in, &m, &e);
        expect_err("MAIL", cases[i].in, r, &e, cases[i].code, cases[i].enh);
        /* the output is cleared on failure */
        assert_string_equal(m.sender, "");
        assert_string_equal(m.envid, "");
        assert_int_equal(m.has_size, 0);
    }
    /* the reply names the unknown parameter */
    {
        struct smtp_mail_args m;
        struct smtp_error e;
        assert_int_equal(mail_parse("FROM:<> X-FOO=1", &m, &e), -1);
        assert_string_equal(e.text, "5.5.4 Unsupported parameter X-FOO");
    }
    /* a very long unknown keyword keeps the reply bounded */
    {
        char in[400];
        struct smtp_mail_args m;
        struct smtp_error e;
        strcpy(in, "FROM:<> ");
        repeat(in + 8, 'K', 350);
        assert_int_equal(mail_parse(in, &m, &e), -1);
        assert_int_equal(e.code, 555);
        assert_true(strlen(e.text) < sizeof(e.text));
    }
}

static void test_mail_envid_bounds(void **state)
{
    char in[300], val[200];
    struct smtp_mail_args m;
    struct smtp_error e;

    repeat(val, 'e', SMTP_ENVID_MAX);
    snprintf(in, sizeof(in), "FROM:<> ENVID=%s", val);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    assert_string_equal(m.envid, val);

    repeat(val, 'e', SMTP_ENVID_MAX + 1);
    snprintf(in, sizeof(in), "FROM:<> ENVID=%s", val);
    expect_mail_err(in, 501, "5.5.4");

    /* xtext octets count as received */
    repeat(val, 'e', SMTP_ENVID_MAX - 3);
    strcat(val, "+2B");
    snprintf(in, sizeof(in), "FROM:<> ENVID=%s", val);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    assert_string_equal(m.envid, val);
}

static void test_mail_length_bounds(void **state)
{
    char in[600], local[100], dom[300];
    struct smtp_mail_args m;
    struct smtp_error e;

    /* local part 64 vs 65 */
    repeat(local, 'l', 64);
    snprintf(in, sizeof(in), "FROM:<%s@example.com>", local);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    assert_int_equal(strlen(m.sender), 64 + 12);
    repeat(local, 'l', 65);
    snprintf(in, sizeof(in), "FROM:<%s@example.com>", local);
    expect_mail_err(in, 501, "5.1.7");

    /* quoted local part counts its quotes: "62 octets" = 64 */
    repeat(local + 1, 'q', 62);
    local[0] = '"';
    strcat(local, "\"");
    snprintf(in, sizeof(in), "FROM:<%s@example.com>", local);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    repeat(local + 1, 'q', 63);
    local[0] = '"';
    strcat(local, "\"");
    snprintf(in, sizeof(in), "FROM:<%s@example.com>", local);
    expect_mail_err(in, 501, "5.1.7");

    /* path 256 vs 257 including brackets: "<" "a@" dom ">" */
    make_domain(dom, 256 - 4);
    snprintf(in, sizeof(in), "FROM:<a@%s>", dom);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    assert_int_equal(strlen(m.sender), 254);
    make_domain(dom, 257 - 4);
    snprintf(in, sizeof(in), "FROM:<a@%s>", dom);
    expect_mail_err(in, 501, "5.1.7");

    /* path 256 vs 257 where the source route makes the difference:
     * "<" "@" route ":" "u@b.example" ">" = route + 15 */
    make_domain(dom, 256 - 15);
    snprintf(in, sizeof(in), "FROM:<@%s:u@b.example>", dom);
    assert_int_equal(mail_parse(in, &m, &e), 0);
    assert_string_equal(m.sender, "u@b.example");
    make_domain(dom, 257 - 15);
    snprintf(in, sizeof(in), "FROM:<@%s:u@b.example>", dom);
    expect_mail_err(in, 501, "5.1.7");
}

static void test_mail_not_nul_terminated(void **state)
{
    char buf[128];
    struct smtp_mail_args m;
    struct smtp_error e;
    const char *s = "FROM:<a@b.example>XXXX";

    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_mail(buf, 18, &m, &e), 0);
    assert_string_equal(m.sender, "a@b.example");
    assert_int_equal(smtp_parse_mail(buf, 17, &m, &e), -1); /* '>' not within len */
    assert_int_equal(e.code, 501);
    assert_int_equal(smtp_parse_mail(buf, 19, &m, &e), -1); /* junk after '>' */
    assert_int_equal(e.code, 501);
    assert_int_equal(smtp_parse_mail(buf, 4, &m, &e), -1);
    assert_int_equal(smtp_parse_mail(buf, 0, &m, &e), -1);

    s = "FROM:<> SIZE=123456789";
    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_mail(buf, 16, &m, &e), 0);
    assert_true(m.size == 123);
    assert_int_equal(smtp_parse_mail(buf, 13, &m, &e), -1); /* "SIZE=" */
    assert_int_equal(smtp_parse_mail(buf, 12, &m, &e), -1); /* "SIZE": no value */

    s = "FROM:<> SMTPUTF8=x";
    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_mail(buf, 16, &m, &e), 0);
    assert_int_equal(m.smtputf8, 1);

    /* a NUL inside the buffer is just a bad octet */
    memcpy(buf, "FROM:<a\0b@c.example>", 20);
    assert_int_equal(smtp_parse_mail(buf, 20, &m, &e), -1);
    assert_int_equal(e.code, 501);
    assert_string_equal(e.text, "5.1.7 Bad sender address syntax");
    memcpy(buf, "FROM:<a@c.example> SIZE=1\0", 26);
    assert_int_equal(smtp_parse_mail(buf, 26, &m, &e), -1);
    assert_int_equal(e.code, 501);

    /* NULL err is allowed */
    assert_int_equal(smtp_parse_mail("FROM:<>", 7, &m, NULL), 0);
    assert_int_equal(smtp_parse_mail("FROM:", 5, &m, NULL), -1);
    /* NULL input */
    assert_int_equal(smtp_parse_mail(NULL, 0, &m, &e), -1);
    assert_int_equal(e.code, 501);
    {
        struct smtp_rcpt_args a;
        uint64_t size;
        int last;
        assert_int_equal(smtp_parse_rcpt(NULL, 0, 1, &a, &e), -1);
        assert_int_equal(e.code, 501);
        assert_int_equal(smtp_parse_bdat(NULL, 0, &size, &last, &e), -1);
        assert_int_equal(e.code, 501);
        assert_int_equal(smtp_parse_command("NOOP", 4, NULL, &e), -1);
    }
}

static void test_mail_error_texts(void **state)
{
    struct smtp_mail_args m;
    struct smtp_error e;

    assert_int_equal(mail_parse("FROM:<bad>", &m, &e), -1);
    assert_string_equal(e.text, "5.1.7 Bad sender address syntax");
    assert_int_equal(mail_parse("FROM:<> BODY=BINARYMIME", &m, &e), -1);
    assert_int_equal(e.code, 504);
    assert_int_equal(mail_parse("FROM:<> SIZE=1 SIZE=2", &m, &e), -1);
    assert_non_null(strstr(e.text, "Duplicate"));
}

/* ---- RCPT ------------------------------------------------------------------ */

static void test_rcpt_paths(void **state)
{
    expect_rcpt_ok("TO:<user@example.com>", 0, "user@example.com");
    expect_rcpt_ok("to: <user@example.com>", 0, "user@example.com");
    expect_rcpt_ok("To:<user@example.com>  ", 0, "user@example.com");
    expect_rcpt_ok("TO:<postmaster>", 0, "postmaster");
    expect_rcpt_ok("TO:<Postmaster>", 0, "Postmaster");
    expect_rcpt_ok("TO:<POSTMASTER>", 0, "POSTMASTER");
    expect_rcpt_ok("TO:<postmaster@example.com>", 0, "postmaster@example.com");
    expect_rcpt_ok("TO:<@relay.example:user@example.com>", 0, "user@example.com");
    expect_rcpt_ok("TO:<@r1.example,@r2.example:user@example.com>", 0, "user@example.com");
    expect_rcpt_ok("TO:<\"odd user\"@example.com>", 0, "\"odd user\"@example.com");
    expect_rcpt_ok("TO:<u@[10.0.0.1]>", 0, "u@[10.0.0.1]");
    expect_rcpt_ok("TO:<u@[IPv6:fe80::1]>", 0, "u@[IPv6:fe80::1]");
    expect_rcpt_ok("TO:<\xc3\xa9@\xc3\xa9.example>", 1, "\xc3\xa9@\xc3\xa9.example");

    static const char *const bad[] = {
        "TO:<>",
        "TO:user@example.com",
        "TO:<user@example.com",
        "TO:<user>",
        "TO:<postmaste>",
        "TO:<postmasterx>",
        "TO:<@relay.example:postmaster>",
        "TO:<\"postmaster\">",
        "TO:<user@example.com.>",
        "TO:<user.@example.com>",
        "TO:<u ser@example.com>",
        "TO:<u\x01@example.com>",
        "TO:<\xc3\xa9@example.com>",
        "TO:<a@\xc3\xa9.example>",
        "TO:<\"\"@example.com>",
        "TO:<a@[1.2.3.4.5]>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_rcpt_err(bad[i], 0, 501, "5.1.3");
    expect_rcpt_err("TO:<\xc3@example.com>", 1, 501, "5.1.3");
    expect_rcpt_err("TO:<>", 1, 501, "5.1.3");

    static const char *const syn[] = {
        "",          "TO",   "TO<a@b.c>",    "TO :<a@b.c>", "FROM:<a@b.c>",
        "TO:",       "TO: ", "TO:  <a@b.c>", "TO:<a@b.c>x", "TO:<a@b.c>\tNOTIFY=NEVER",
        "T:<a@b.c>",
    };
    for (size_t i = 0; i < sizeof(syn) / sizeof(syn[0]); i++)
        expect_rcpt_err(syn[i], 0, 501, "5.5.4");

    {
        struct smtp_rcpt_args a;
        struct smtp_error e;
        assert_int_equal(rcpt_parse("TO:<x>", 0, &a, &e), -1);
        assert_string_equal(e.text, "5.1.3 Bad recipient address syntax");
    }
}

static void test_rcpt_params(void **state)
{
    static const struct {
        const char *in;
        unsigned notify;
        const char *orcpt;
    } ok[] = {
        {"TO:<a@b.example>", 0, ""},
        {"TO:<a@b.example> NOTIFY=NEVER", SMTP_NOTIFY_NEVER, ""},
        {"TO:<a@b.example> notify=never", SMTP_NOTIFY_NEVER, ""},
        {"TO:<a@b.example> NOTIFY=SUCCESS", SMTP_NOTIFY_SUCCESS, ""},
        {"TO:<a@b.example> NOTIFY=FAILURE", SMTP_NOTIFY_FAILURE, ""},
        {"TO:<a@b.example> NOTIFY=DELAY", SMTP_NOTIFY_DELAY, ""},
        {"TO:<a@b.example> NOTIFY=FAILURE,DELAY", SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, ""},
        {"TO:<a@b.example> NOTIFY=Delay,Success,Failure",
         SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, ""},
        {"TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", SMTP_NOTIFY_SUCCESS, ""},
        {"TO:<a@b.example> ORCPT=rfc822;a@b.example", 0, "rfc822;a@b.example"},
        {"TO:<a@b.example> orcpt=RFC822;a+2Bb@b.example", 0, "RFC822;a+2Bb@b.example"},
        {"TO:<a@b.example> ORCPT=utf-8;\\x{E9}@b.example", 0, "utf-8;\\x{E9}@b.example"},
        {"TO:<a@b.example>   NOTIFY=SUCCESS,FAILURE   ORCPT=rfc822;x@y  ",
         SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, "rfc822;x@y"},
        {"TO:<postmaster> ORCPT=rfc822;postmaster NOTIFY=NEVER", SMTP_NOTIFY_NEVER,
         "rfc822;postmaster"},
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct smtp_rcpt_args a;
        struct smtp_error e;
        if (rcpt_parse(ok[i].in, 0, &a, &e) != 0)
            fail_msg("RCPT \"%s\": unexpected %d %s", ok[i].in, e.code, e.text);
        assert_int_equal(a.notify, ok[i].notify);
        assert_string_equal(a.orcpt, ok[i].orcpt);
    }

    static const struct {
        const char *in;
        int code;
    } bad[] = {
        {"TO:<a@b.example> NOTIFY", 501},
        {"TO:<a@b.example> NOTIFY=", 501},
        {"TO:<a@b.example> NOTIFY=NEVER,SUCCESS", 501},
        {"TO:<a@b.example> NOTIFY=FAILURE,NEVER", 501},
        {"TO:<a@b.example> NOTIFY=SOMETIMES", 501},
        {"TO:<a@b.example> NOTIFY=SUCCESS,", 501},
        {"TO:<a@b.example> NOTIFY=,SUCCESS", 501},
        {"TO:<a@b.example> NOTIFY=SUCCESS,,DELAY", 501},
        {"TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", 501},
        {"TO:<a@b.example> NOTIFY=SUCCESS notify=DELAY", 501},
        {"TO:<a@b.example> ORCPT", 501},
        {"TO:<a@b.example> ORCPT=", 501},
        {"TO:<a@b.example> ORCPT=rfc822", 501},
        {"TO:<a@b.example> ORCPT=rfc822;", 501},
        {"TO:<a@b.example> ORCPT=;a@b", 501},
        {"TO:<a@b.example> ORCPT=rf(c;a@b", 501},
        {"TO:<a@b.example> ORCPT=rfc822;a+2b", 501},
        {"TO:<a@b.example> ORCPT=rfc822;a+", 501},
        {"TO:<a@b.example> ORCPT=rfc822;\xc3\xa9", 501},
        {"TO:<a@b.example> ORCPT=rfc822;a ORCPT=rfc822;a", 501},
        {"TO:<a@b.example> =NEVER", 501},
        {"TO:<a@b.example> NO_TIFY=NEVER", 501},
        {"TO:<a@b.example> SIZE=10", 555},
        {"TO:<a@b.example> FOO", 555},
        {"TO:<a@b.example> NOTIFYX=NEVER", 555},
        {"TO:<a@b.example> BODY=8BITMIME", 555},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct smtp_rcpt_args a;
        struct smtp_error e;
        int r = rcpt_parse(bad[i].in, 0, &a, &e);
        expect_err("RCPT", bad[i].in, r, &e, bad[i].code, "5.5.4");
        assert_int_equal(a.notify, 0);
        assert_string_equal(a.orcpt, "");
        assert_string_equal(a.rcpt, "");
    }
    {
        struct smtp_rcpt_args a;
        struct smtp_error e;
        assert_int_equal(rcpt_parse("TO:<a@b.example> NOTIFY=NEVER,DELAY", 0, &a, &e), -1);
        assert_non_null(strstr(e.text, "NEVER"));
        assert_int_equal(rcpt_parse("TO:<a@b.example> XTRA=1", 0, &a, &e), -1);
        assert_string_equal(e.text, "5.5.4 Unsupported parameter XTRA");
    }
}

static void test_rcpt_bounds(void **state)
{
    char in[700], val[600], local[100], dom[300];
    struct smtp_rcpt_args a;
    struct smtp_error e;

    /* ORCPT value 500 vs 501 */
    strcpy(val, "rfc822;");
    repeat(val + 7, 'o', SMTP_ORCPT_MAX - 7);
    snprintf(in, sizeof(in), "TO:<a@b.example> ORCPT=%s", val);
    assert_int_equal(rcpt_parse(in, 0, &a, &e), 0);
    assert_string_equal(a.orcpt, val);
    repeat(val + 7, 'o', SMTP_ORCPT_MAX - 6);
    snprintf(in, sizeof(in), "TO:<a@b.example> ORCPT=%s", val);
    expect_rcpt_err(in, 0, 501, "5.5.4");

    /* local part 64 vs 65 */
    repeat(local, 'x', 64);
    snprintf(in, sizeof(in), "TO:<%s@example.com>", local);
    assert_int_equal(rcpt_parse(in, 0, &a, &e), 0);
    repeat(local, 'x', 65);
    snprintf(in, sizeof(in), "TO:<%s@example.com>", local);
    expect_rcpt_err(in, 0, 501, "5.1.3");

    /* path 256 vs 257 */
    make_domain(dom, 256 - 4);
    snprintf(in, sizeof(in), "TO:<a@%s>", dom);
    assert_int_equal(rcpt_parse(in, 0, &a, &e), 0);
    make_domain(dom, 257 - 4);
    snprintf(in, sizeof(in), "TO:<a@%s>", dom);
    expect_rcpt_err(in, 0, 501, "5.1.3");
    make_domain(dom, 256 - 15);
    snprintf(in, sizeof(in), "TO:<@%s:u@b.example>", dom);
    assert_int_equal(rcpt_parse(in, 0, &a, &e), 0);
    assert_string_equal(a.rcpt, "u@b.example");
    make_domain(dom, 257 - 15);
    snprintf(in, sizeof(in), "TO:<@%s:u@b.example>", dom);
    expect_rcpt_err(in, 0, 501, "5.1.3");
}

static void test_rcpt_not_nul_terminated(void **state)
{
    char buf[128];
    struct smtp_rcpt_args a;
    struct smtp_error e;
    const char *s = "TO:<postmaster>@example.com";

    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_rcpt(buf, 15, 0, &a, &e), 0);
    assert_string_equal(a.rcpt, "postmaster");
    assert_int_equal(smtp_parse_rcpt(buf, 14, 0, &a, &e), -1);
    assert_int_equal(smtp_parse_rcpt(buf, 16, 0, &a, &e), -1);

    s = "TO:<a@b.example> NOTIFY=NEVER,SUCCESS";
    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_rcpt(buf, 29, 0, &a, &e), 0);
    assert_int_equal(a.notify, SMTP_NOTIFY_NEVER);
    assert_int_equal(smtp_parse_rcpt(buf, 30, 0, &a, &e), -1);
    assert_int_equal(smtp_parse_rcpt(buf, 37, 0, &a, &e), -1);

    s = "TO:<a@b.example> ORCPT=rfc822;a+2Bb";
    memcpy(buf, s, strlen(s));
    assert_int_equal(smtp_parse_rcpt(buf, 33, 0, &a, &e), -1); /* "+2" cut short */
    assert_int_equal(smtp_parse_rcpt(buf, 34, 0, &a, &e), 0);
    assert_string_equal(a.orcpt, "rfc822;a+2B");

    memcpy(buf, "TO:<a@b\0.example>", 17);
    assert_int_equal(smtp_parse_rcpt(buf, 17, 0, &a, &e), -1);
    assert_int_equal(e.code, 501);
    assert_int_equal(smtp_parse_rcpt("TO:<x@y>", 8, 0, &a, NULL), 0);
}

/* ---- mailbox / xtext / domain helpers ------------------------------------- */

static void test_mailbox_valid(void **state)
{
    static const char *const good[] = {
        "a@b",           "a.b.c@d.e",   "A@B.EXAMPLE",
        "x@[127.0.0.1]", "x@[IPv6:::]", "x@[IPv6:2001:db8:0:0:1:0:0:1]",
        "\"a b\"@c",     "\"a\\ b\"@c", "\"\\\"\"@c",
        "1@2",           "a-b@c-d.e-f", "#@x",
        "\"a..b\"@c",    "\"a.\"@c",
    };
    static const char *const bad[] = {
        "",
        "@",
        "a",
        "a@",
        "@b",
        "a@b@c",
        ".a@b",
        "a.@b",
        "a..b@c",
        "a@b.",
        "a@.b",
        "a@b..c",
        "a@-b",
        "a@b-",
        "a@b_c",
        "a b@c",
        "a@b c",
        "\"a@b",
        "\"\"@b",
        "a\"b\"@c",
        "\"a\"\"b\"@c",
        "(a)@b",
        "a@[1.2.3.4",
        "a@[1.2.3.04]",
        "a@[IPv6:::1",
        "a@[IPv6:::1:]",
        "a@[1.2.3.4]]",
        "<a@b>",
        "a@b>",
        "a,b@c",
        "a;b@c",
        "a@[IPv6:1::2::3]",
        "a\\b@c",
        "\"a\\\"@c",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!mbox(good[i], 0) || !mbox(good[i], 1))
            fail_msg("mailbox \"%s\" should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mbox(bad[i], 0) || mbox(bad[i], 1))
            fail_msg("mailbox \"%s\" should be invalid", bad[i]);

    /* UTF-8 only when allowed */
    assert_int_equal(mbox("\xc3\xa9@example.com", 0), 0);
    assert_int_equal(mbox("\xc3\xa9@example.com", 1), 1);
    assert_int_equal(mbox("a@\xe4\xbe\x8b.example", 0), 0);
    assert_int_equal(mbox("a@\xe4\xbe\x8b.example", 1), 1);
    assert_int_equal(mbox("\xf0\x9f\x98\x80@example.com", 1), 1);
    assert_int_equal(mbox("\xe4\xbe@example.com", 1), 0); /* truncated sequence */
    assert_int_equal(mbox("\x80@example.com", 1), 0);     /* lone continuation */
    assert_int_equal(mbox("\xc1\x81@example.com", 1), 0); /* overlong */
    assert_int_equal(mbox("a@[IPv6:\xc3\xa9]", 1), 0);

    /* NUL inside */
    assert_int_equal(smtp_mailbox_valid("a\0b@c", 5, 0), 0);
    assert_int_equal(smtp_mailbox_valid("a@c\0", 4, 0), 0);
    assert_int_equal(smtp_mailbox_valid("a@[1.2.3.4\0]", 12, 0), 0);
    assert_int_equal(smtp_mailbox_valid("\"a\0\"@c", 7, 1), 0);
    /* only len octets are looked at */
    assert_int_equal(smtp_mailbox_valid("a@b.example>junk", 11, 0), 1);
    assert_int_equal(smtp_mailbox_valid("a@b.example", 10, 0), 1);
    assert_int_equal(smtp_mailbox_valid("a@b.example", 4, 0), 0);
    assert_int_equal(smtp_mailbox_valid("a@b.example", 0, 0), 0);
    assert_int_equal(smtp_mailbox_valid(NULL, 0, 0), 0);
}

static void test_mailbox_bounds(void **state)
{
    char s[400], lab[80];

    /* local part 64 vs 65 */
    repeat(s, 'l', 64);
    strcat(s, "@example.com");
    assert_int_equal(mbox(s, 0), 1);
    repeat(s, 'l', 65);
    strcat(s, "@example.com");
    assert_int_equal(mbox(s, 0), 0);

    /* label 63 vs 64 */
    repeat(lab, 'd', 63);
    snprintf(s, sizeof(s), "a@%s.example", lab);
    assert_int_equal(mbox(s, 0), 1);
    repeat(lab, 'd', 64);
    snprintf(s, sizeof(s), "a@%s.example", lab);
    assert_int_equal(mbox(s, 0), 0);

    /* total 254 vs 255 */
    strcpy(s, "a@");
    make_domain(s + 2, 252);
    assert_int_equal(strlen(s), 254);
    assert_int_equal(mbox(s, 0), 1);
    make_domain(s + 2, 253);
    assert_int_equal(mbox(s, 0), 0);
    /* with a maximal local part */
    repeat(s, 'l', 64);
    s[64] = '@';
    make_domain(s + 65, 254 - 65);
    assert_int_equal(mbox(s, 0), 1);
    make_domain(s + 65, 255 - 65);
    assert_int_equal(mbox(s, 0), 0);
}

static void test_xtext(void **state)
{
    static const char *const good[] = {"",
                                       "a",
                                       "abc",
                                       "+2B",
                                       "+3D",
                                       "a+20b",
                                       "!\"#$%&'()*,-./09:;<>?@AZ[\\]^_`az{|}~",
                                       "+00+FF",
                                       "rfc822;a@b"};
    static const char *const bad[] = {"+",    "+2",       "+2b",  "+g0", "a=b",  "a b", "\x7f",
                                      "\x01", "\xc3\xa9", "+ 2B", "a+",  "++2B", "=",   "\t"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!xtext(good[i]))
            fail_msg("xtext \"%s\" should be valid", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (xtext(bad[i]))
            fail_msg("xtext \"%s\" should be invalid", bad[i]);
    assert_int_equal(smtp_xtext_valid("a\0b", 3), 0);
    assert_int_equal(smtp_xtext_valid("ab+2B", 4), 0); /* "+2" cut by len */
    assert_int_equal(smtp_xtext_valid("ab+2B", 5), 1);
    assert_int_equal(smtp_xtext_valid("ab=", 2), 1);
}

static void test_addr_domain(void **state)
{
    assert_string_equal(smtp_addr_domain("user@example.com"), "example.com");
    assert_string_equal(smtp_addr_domain("\"a@b\"@example.com"), "example.com");
    assert_string_equal(smtp_addr_domain("u@[1.2.3.4]"), "[1.2.3.4]");
    assert_string_equal(smtp_addr_domain("postmaster"), "");
    assert_string_equal(smtp_addr_domain(""), "");
    assert_string_equal(smtp_addr_domain("a@"), "");
    assert_string_equal(smtp_addr_domain(NULL), "");
}

/* ---- BDAT ------------------------------------------------------------------ */

static void test_bdat(void **state)
{
    static const struct {
        const char *in;
        uint64_t size;
        int last;
    } ok[] = {
        {"0", 0, 0},
        {"100", 100, 0},
        {"100 LAST", 100, 1},
        {"100 last", 100, 1},
        {"0 LAST", 0, 1},
        {"100   LaSt   ", 100, 1},
        {"  7", 7, 0},
        {"7  ", 7, 0},
        {"18446744073709551615", UINT64_MAX, 0},
        {"000000000000000000000000001 LAST", 1, 1},
    };
    static const char *const bad[] = {
        "",
        " ",
        "LAST",
        "-1",
        "+1",
        "1x",
        "x1",
        "1 LASTX",
        "1 LAS",
        "1 LAST x",
        "1 2",
        "1\tLAST",
        "1,LAST",
        "18446744073709551616",
        "99999999999999999999999",
        "1 LAST LAST",
        "\x01",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t size = 99;
        int last = 99;
        struct smtp_error e;
        if (bdat(ok[i].in, &size, &last, &e) != 0)
            fail_msg("BDAT \"%s\" failed", ok[i].in);
        assert_true(size == ok[i].size);
        assert_int_equal(last, ok[i].last);
        assert_int_equal(e.code, 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t size;
        int last;
        struct smtp_error e;
        int r = bdat(bad[i], &size, &last, &e);
        expect_err("BDAT", bad[i], r, &e, 501, "5.5.4");
        assert_string_equal(e.text, "5.5.4 Syntax: BDAT size [LAST]");
    }
    {
        uint64_t size;
        int last;
        struct smtp_error e;
        assert_int_equal(smtp_parse_bdat("1\0", 2, &size, &last, &e), -1);
        assert_int_equal(smtp_parse_bdat("12 LASTING", 7, &size, &last, &e), 0);
        assert_true(size == 12);
        assert_int_equal(last, 1);
        assert_int_equal(smtp_parse_bdat("12 LASTING", 8, &size, &last, &e), -1);
        assert_int_equal(smtp_parse_bdat("12 LASTING", 2, &size, &last, &e), 0);
        assert_int_equal(last, 0);
        assert_int_equal(smtp_parse_bdat("12", 0, &size, &last, NULL), -1);
    }
}

/* ---- CIDR lists ------------------------------------------------------------ */

static struct sockaddr_storage sa4(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage sa6(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    return ss;
}

static int match4(const struct smtp_cidr *l, size_t n, const char *ip)
{
    struct sockaddr_storage ss = sa4(ip);
    return smtp_cidr_match(l, n, (const struct sockaddr *)&ss);
}

static int match6(const struct smtp_cidr *l, size_t n, const char *ip)
{
    struct sockaddr_storage ss = sa6(ip);
    return smtp_cidr_match(l, n, (const struct sockaddr *)&ss);
}

static void test_cidr_parse(void **state)
{
    struct smtp_cidr l[16];
    char why[128];
    uint8_t v6[16];
    int n = smtp_cidr_parse_list(
        "127.0.0.0/8 10.1.2.3, [::1]/128 ::1/128 [2001:db8::]/32,,\t192.168.1.7/24 "
        "[fe80::1] 0.0.0.0/0",
        l, 16, why, sizeof(why));

    assert_int_equal(n, 8);
    assert_string_equal(why, "");
    assert_int_equal(l[0].family, AF_INET);
    assert_int_equal(l[0].prefix, 8);
    assert_memory_equal(l[0].addr, "\x7f\0\0\0", 4);
    assert_int_equal(l[1].family, AF_INET);
    assert_int_equal(l[1].prefix, 32);
    assert_memory_equal(l[1].addr, "\x0a\x01\x02\x03", 4);
    assert_int_equal(l[2].family, AF_INET6);
    assert_int_equal(l[2].prefix, 128);
    inet_pton(AF_INET6, "::1", v6);
    assert_memory_equal(l[2].addr, v6, 16);
    assert_int_equal(l[3].family, AF_INET6);
    assert_int_equal(l[3].prefix, 128);
    assert_memory_equal(l[3].addr, v6, 16);
    assert_int_equal(l[4].family, AF_INET6);
    assert_int_equal(l[4].prefix, 32);
    inet_pton(AF_INET6, "2001:db8::", v6);
    assert_memory_equal(l[4].addr, v6, 16);
    /* host bits beyond the prefix are cleared */
    assert_int_equal(l[5].prefix, 24);
    assert_memory_equal(l[5].addr, "\xc0\xa8\x01\x00", 4);
    assert_int_equal(l[6].family, AF_INET6);
    assert_int_equal(l[6].prefix, 128);
    assert_int_equal(l[7].prefix, 0);

    /* empty lists */
    assert_int_equal(smtp_cidr_parse_list("", l, 16, why, sizeof(why)), 0);
    assert_int_equal(smtp_cidr_parse_list(" , ,  ", l, 16, why, sizeof(why)), 0);
    assert_int_equal(smtp_cidr_parse_list(NULL, l, 16, why, sizeof(why)), 0);
    assert_int_equal(smtp_cidr_parse_list("", NULL, 0, NULL, 0), 0);

    /* exactly max, and one too many */
    assert_int_equal(smtp_cidr_parse_list("1.1.1.1 2.2.2.2", l, 2, why, sizeof(why)), 2);
    assert_int_equal(smtp_cidr_parse_list("1.1.1.1 2.2.2.2 3.3.3.3", l, 2, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "3.3.3.3"));

    /* odd prefixes */
    assert_int_equal(smtp_cidr_parse_list("10.255.255.255/9 ::ffff:ffff/127 1.2.3.4/32 ::/0", l, 16,
                                          why, sizeof(why)),
                     4);
    assert_memory_equal(l[0].addr, "\x0a\x80\0\0", 4);
    assert_int_equal(l[1].addr[15], 0xfe);
    assert_int_equal(l[2].prefix, 32);
    assert_int_equal(l[3].prefix, 0);
    assert_int_equal(smtp_cidr_parse_list("10.0.0.0/08", l, 16, why, sizeof(why)), 1);
    assert_int_equal(l[0].prefix, 8);
}

static void test_cidr_parse_errors(void **state)
{
    static const char *const bad[] = {
        "10.0.0.0/33",
        "::/129",
        "[::]/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/8x",
        "10.0.0.0/0008",
        "/8",
        "10.0.0",
        "10.0.0.256",
        "10.0.0.1.2",
        "abc",
        "[::1",
        "::1]",
        "[10.0.0.1]",
        "[]",
        "[]/8",
        "[",
        "::1::2",
        "fe80::1%eth0",
        "10.0.0.0//8",
        "10.0.0.0/8/8",
        "1.2.3.4/32 oops",
        "01.2.3.4",
        "0x7f.0.0.1",
        "2001:db8::/",
        "[2001:db8::]x/32",
        "0000000000000000000000000000000000000000000000000000000000000000000000.0.0.0",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct smtp_cidr l[4];
        char why[128];
        if (smtp_cidr_parse_list(bad[i], l, 4, why, sizeof(why)) != -1)
            fail_msg("cidr \"%s\" should be refused", bad[i]);
        assert_true(strlen(why) > 0);
    }
    {
        struct smtp_cidr l[4];
        char why[128], tiny[8];
        assert_int_equal(smtp_cidr_parse_list("10.0.0.0/8 10.0.0.0/40", l, 4, why, sizeof(why)),
                         -1);
        assert_non_null(strstr(why, "10.0.0.0/40"));
        assert_null(strstr(why, "10.0.0.0/8 "));
        /* a small why buffer is truncated, not overrun; NULL why is fine */
        memset(tiny, 'Z', sizeof(tiny));
        assert_int_equal(smtp_cidr_parse_list("bogus-entry-name", l, 4, tiny, sizeof(tiny)), -1);
        assert_true(nul_within(tiny, sizeof(tiny)));
        assert_int_equal(smtp_cidr_parse_list("bogus", l, 4, NULL, 0), -1);
        assert_int_equal(smtp_cidr_parse_list("bogus", l, 4, tiny, 0), -1);
    }
}

static void test_cidr_match(void **state)
{
    struct smtp_cidr l[16];
    char why[128];
    int n = smtp_cidr_parse_list("127.0.0.0/8, 10.1.2.3 192.168.0.0/23 [::1]/128 2001:db8::/32", l,
                                 16, why, sizeof(why));

    assert_int_equal(n, 5);
    assert_true(match4(l, 5, "127.0.0.1"));
    assert_true(match4(l, 5, "127.255.255.255"));
    assert_false(match4(l, 5, "128.0.0.1"));
    assert_true(match4(l, 5, "10.1.2.3"));
    assert_false(match4(l, 5, "10.1.2.4"));
    assert_true(match4(l, 5, "192.168.1.200"));
    assert_false(match4(l, 5, "192.168.2.1"));
    assert_true(match6(l, 5, "::1"));
    assert_false(match6(l, 5, "::2"));
    assert_true(match6(l, 5, "2001:db8:ffff::1"));
    assert_false(match6(l, 5, "2001:db9::1"));
    /* IPv4-mapped IPv6 against the IPv4 entries */
    assert_true(match6(l, 5, "::ffff:127.0.0.1"));
    assert_true(match6(l, 5, "::ffff:10.1.2.3"));
    assert_false(match6(l, 5, "::ffff:10.1.2.4"));
    assert_false(match6(l, 5, "::127.0.0.1")); /* IPv4-compatible is not mapped */
    assert_false(match6(l, 5, "::ffff:1:127.0.0.1"));
    /* the list size is honoured */
    assert_false(match6(l, 3, "::1"));
    assert_false(match4(l, 0, "127.0.0.1"));

    /* /0 entries match their own family only */
    n = smtp_cidr_parse_list("0.0.0.0/0", l, 16, why, sizeof(why));
    assert_true(match4(l, n, "1.2.3.4"));
    assert_true(match6(l, n, "::ffff:1.2.3.4"));
    assert_false(match6(l, n, "2001:db8::1"));
    n = smtp_cidr_parse_list("::/0", l, 16, why, sizeof(why));
    assert_true(match6(l, n, "2001:db8::1"));
    assert_false(match4(l, n, "1.2.3.4"));

    /* an IPv4-mapped entry matches a plain IPv4 client */
    n = smtp_cidr_parse_list("::ffff:10.0.0.0/104", l, 16, why, sizeof(why));
    assert_int_equal(n, 1);
    assert_true(match4(l, n, "10.9.8.7"));
    assert_false(match4(l, n, "11.0.0.1"));
    assert_true(match6(l, n, "::ffff:10.9.8.7"));

    /* non byte-aligned prefixes */
    n = smtp_cidr_parse_list("10.0.0.128/25 fe80::/10", l, 16, why, sizeof(why));
    assert_true(match4(l, n, "10.0.0.200"));
    assert_false(match4(l, n, "10.0.0.127"));
    assert_true(match6(l, n, "febf::1"));
    assert_false(match6(l, n, "fec0::1"));

    /* other families and NULLs */
    {
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        assert_false(smtp_cidr_match(l, n, (const struct sockaddr *)&sun));
        assert_false(smtp_cidr_match(l, n, NULL));
        assert_false(smtp_cidr_match(NULL, 0, (const struct sockaddr *)&sun));
    }
}

static void test_domain_in_list(void **state)
{
    const char *list = "example.com, .example.net  other.example,[10.0.0.1]";

    assert_true(tm_domain_listed("example.com", list));
    assert_true(tm_domain_listed("EXAMPLE.Com", list));
    assert_false(tm_domain_listed("a.example.com", list));
    assert_false(tm_domain_listed("xexample.com", list));
    assert_false(tm_domain_listed("example.co", list));
    assert_false(tm_domain_listed("example.comm", list));
    assert_true(tm_domain_listed("a.example.net", list));
    assert_true(tm_domain_listed("b.a.EXAMPLE.NET", list));
    assert_false(tm_domain_listed("example.net", list));
    assert_false(tm_domain_listed("aexample.net", list));
    assert_false(tm_domain_listed(".example.net", list));
    assert_true(tm_domain_listed("other.example", list));
    assert_true(tm_domain_listed("[10.0.0.1]", list));
    assert_false(tm_domain_listed("", list));
    assert_false(tm_domain_listed("example.com", ""));
    assert_false(tm_domain_listed("example.com", " , ,"));
    assert_false(tm_domain_listed("example.com", "."));
    assert_false(tm_domain_listed(NULL, list));
    assert_false(tm_domain_listed("example.com", NULL));
    assert_true(tm_domain_listed("example.com", "example.com"));
    assert_true(tm_domain_listed("x.example.com", ",,.EXAMPLE.COM,,"));
    assert_true(tm_domain_listed("\xc3\xa9.example", "\xc3\xa9.example"));
}

/* ---- fuzz ------------------------------------------------------------------ */

#define FUZZ_ITER 200000
#define FUZZ_CAP 400

static const char *const fuzz_tokens[] = {
    "FROM:",
    "TO:",
    "<",
    ">",
    "<>",
    "@",
    "a",
    "user",
    "example.com",
    ".",
    "\"",
    "\\",
    " ",
    "  ",
    ",",
    ":",
    ";",
    "=",
    "+",
    "+2B",
    "SIZE=",
    "BODY=",
    "7BIT",
    "8BITMIME",
    "BINARYMIME",
    "SMTPUTF8",
    "RET=",
    "FULL",
    "HDRS",
    "ENVID=",
    "AUTH=",
    "NOTIFY=",
    "NEVER",
    "SUCCESS",
    "FAILURE",
    "DELAY",
    "ORCPT=",
    "rfc822;",
    "[",
    "]",
    "IPv6:",
    "::1",
    "1.2.3.4",
    "[1.2.3.4]",
    "postmaster",
    "@a.b,",
    "@c.d:",
    "\xc3\xa9",
    "\xe4\xbe\x8b",
    "\xff",
    "\x80",
    "LAST",
    "123",
    "18446744073709551616",
    "/",
    "/8",
    "/128",
    "::ffff:",
    "10.0.0.0",
    "MAIL",
    "RCPT",
    "BDAT",
    "\t",
    "\r",
    "\0",
    "-",
    "x-y",
    "99999999999999999999",
};

static const char *const fuzz_seeds[] = {
    "FROM:<a@b.example> SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=x+2By AUTH=<>",
    "TO:<@r.example,@s.example:\"q u\"@[IPv6:::1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@c",
    "FROM:<\xc3\xa9@\xc3\xa9.example> SMTPUTF8",
    "TO:<postmaster>",
    "u.v@[192.0.2.1]",
    "100 LAST",
    "127.0.0.0/8, [::1]/128 10.1.2.3 2001:db8::/32",
    "MAIL FROM:<>",
};

/* Fill buf with one fuzz input; returns its length (<= FUZZ_CAP). */
static size_t fuzz_input(uint64_t *rng, char *buf)
{
    uint64_t r = rng_next(rng);
    size_t len = 0, want;

    switch (r % 4) {
    case 0: /* random octets */
        want = (size_t)(rng_next(rng) % 300);
        for (len = 0; len < want; len++)
            buf[len] = (char)(rng_next(rng) & 0xFF);
        break;
    case 1: { /* interesting octets */
        static const char alpha[] = "aZ0.@<>:\"\\ ,;=+-[]/\t\x01\x7f\x80\xc3\xa9";
        want = (size_t)(rng_next(rng) % 300);
        for (len = 0; len < want; len++)
            buf[len] = alpha[rng_next(rng) % (sizeof(alpha) - 1)];
        break;
    }
    case 2: { /* token soup, often starting like a real argument */
        size_t ntok = (size_t)(rng_next(rng) % 24);
        if (rng_next(rng) & 1) {
            const char *t = (rng_next(rng) & 1) ? "FROM:<" : "TO:<";
            memcpy(buf, t, strlen(t));
            len = strlen(t);
        }
        for (size_t i = 0; i < ntok; i++) {
            const char *t =
                fuzz_tokens[rng_next(rng) % (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))];
            size_t tl = t[0] == '\0' ? 1 : strlen(t);
            if (len + tl > FUZZ_CAP)
                break;
            memcpy(buf + len, t, tl);
            len += tl;
        }
        break;
    }
    default: { /* mutated seed */
        const char *s = fuzz_seeds[rng_next(rng) % (sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]))];
        size_t nmut = 1 + (size_t)(rng_next(rng) % 4);
        len = strlen(s);
        memcpy(buf, s, len);
        for (size_t i = 0; i < nmut; i++) {
            size_t pos = len ? (size_t)(rng_next(rng) % len) : 0;
            switch (rng_next(rng) % 3) {
            case 0:
                if (len)
                    buf[pos] = (char)(rng_next(rng) & 0xFF);
                break;
            case 1:
                if (len) {
                    memmove(buf + pos, buf + pos + 1, len - pos - 1);
                    len--;
                }
                break;
            default:
                if (len < FUZZ_CAP) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = fuzz_tokens[rng_next(rng) % 8][0];
                    len++;
                }
                break;
            }
        }
        break;
    }
    }
    return len;
}

static void check_fuzz_err(int r, const struct smtp_error *e)
{
    assert_true(nul_within(e->text, sizeof(e->text)));
    if (r != 0)
        check_err_shape(e);
}

static void test_fuzz_command_bdat(void **state)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char *heap = malloc(FUZZ_CAP);
    char buf[FUZZ_CAP];
    int oks = 0;

    assert_non_null(heap);
    for (int it = 0; it < FUZZ_ITER; it++) {
        size_t len = fuzz_input(&rng, buf);
        char *in = heap + FUZZ_CAP - len; /* input ends where the allocation ends */
        struct smtp_cmd cmd;
        struct smtp_error e;
        uint64_t size;
        int last, r;

        memcpy(in, buf, len);
        memset(&e, 0x5A, sizeof(e));
        r = smtp_parse_command(in, len, &cmd, &e);
        assert_true(r == 0 || r == -1);
        check_fuzz_err(r, &e);
        if (r == 0) {
            assert_true(cmd.verb >= SMTP_V_UNKNOWN && cmd.verb < SMTP_V_COUNT);
            if (cmd.arg_len > 0)
                assert_true(cmd.arg > in && cmd.arg + cmd.arg_len == in + len);
            assert_non_null(smtp_verb_name(cmd.verb));
        } else {
            assert_int_equal(e.code, 500);
        }
        memset(&e, 0x5A, sizeof(e));
        r = smtp_parse_bdat(in, len, &size, &last, &e);
        check_fuzz_err(r, &e);
        if (r == 0) {
            assert_true(last == 0 || last == 1);
            oks++;
        } else {
            assert_int_equal(e.code, 501);
        }
    }
    free(heap);
    assert_true(oks > 0);
}

static void test_fuzz_mail_rcpt(void **state)
{
    uint64_t rng = 0x0123456789ABCDEFull;
    char *heap = malloc(FUZZ_CAP);
    char buf[FUZZ_CAP];
    int mail_ok = 0, rcpt_ok = 0;

    assert_non_null(heap);
    for (int it = 0; it < FUZZ_ITER; it++) {
        size_t len = fuzz_input(&rng, buf);
        char *in = heap + FUZZ_CAP - len;
        struct smtp_mail_args m;
        struct smtp_rcpt_args a;
        struct smtp_error e;
        int r;

        memcpy(in, buf, len);
        memset(&m, 0x5A, sizeof(m));
        memset(&e, 0x5A, sizeof(e));
        r = smtp_parse_mail(in, len, &m, &e);
        assert_true(r == 0 || r == -1);
        assert_true(nul_within(m.sender, sizeof(m.sender)));
        assert_true(nul_within(m.envid, sizeof(m.envid)));
        check_fuzz_err(r, &e);
        if (r == 0) {
            mail_ok++;
            assert_true(m.sender[0] == '\0' ||
                        smtp_mailbox_valid(m.sender, strlen(m.sender), m.smtputf8));
            assert_true(strlen(m.envid) <= SMTP_ENVID_MAX &&
                        smtp_xtext_valid(m.envid, strlen(m.envid)));
        } else {
            assert_true(e.code == 501 || e.code == 504 || e.code == 555);
        }

        memset(&a, 0x5A, sizeof(a));
        memset(&e, 0x5A, sizeof(e));
        r = smtp_parse_rcpt(in, len, (int)(it & 1), &a, &e);
        assert_true(r == 0 || r == -1);
        assert_true(nul_within(a.rcpt, sizeof(a.rcpt)));
        assert_true(nul_within(a.orcpt, sizeof(a.orcpt)));
        check_fuzz_err(r, &e);
        if (r == 0) {
            rcpt_ok++;
            assert_true(strcasecmp(a.rcpt, "postmaster") == 0 ||
                        smtp_mailbox_valid(a.rcpt, strlen(a.rcpt), (int)(it & 1)));
            assert_true((a.notify & ~0xFu) == 0);
            assert_true(!(a.notify & SMTP_NOTIFY_NEVER) || a.notify == SMTP_NOTIFY_NEVER);
            assert_true(strlen(a.orcpt) <= SMTP_ORCPT_MAX);
        } else {
            assert_true(e.code == 501 || e.code == 555);
        }
    }
    free(heap);
    /* the generator reaches the success paths too */
    assert_true(mail_ok > 0);
    assert_true(rcpt_ok > 0);
}

static void test_fuzz_mailbox_xtext(void **state)
{
    uint64_t rng = 0xDEADBEEFCAFEF00Dull;
    char *heap = malloc(FUZZ_CAP);
    char buf[FUZZ_CAP];
    int valid = 0;

    assert_non_null(heap);
    for (int it = 0; it < FUZZ_ITER; it++) {
        size_t len = fuzz_input(&rng, buf);
        char *in = heap + FUZZ_CAP - len;
        int v0, v1;

        memcpy(in, buf, len);
        v0 = smtp_mailbox_valid(in, len, 0);
        v1 = smtp_mailbox_valid(in, len, 1);
        assert_true(v0 == 0 || v0 == 1);
        assert_true(v1 == 0 || v1 == 1);
        assert_true(!v0 || v1); /* allowing UTF-8 never refuses more */
        if (v0) {
            valid++;
            assert_true(len <= 254);
            assert_null(memchr(in, '\0', len));
        }
        v0 = smtp_xtext_valid(in, len);
        assert_true(v0 == 0 || v0 == 1);
        if (v0)
            assert_null(memchr(in, '=', len));
    }
    free(heap);
    (void)valid;
}

static void test_fuzz_lists(void **state)
{
    uint64_t rng = 0x1234ABCD5678EF01ull;
    char buf[FUZZ_CAP + 1];

    for (int it = 0; it < FUZZ_ITER; it++) {
        size_t len = fuzz_input(&rng, buf);
        struct smtp_cidr l[8];
        char why[64];
        struct sockaddr_storage ss;
        int n;
        char *copy;

        buf[len] = '\0';
        copy = malloc(len + 1); /* exact-size NUL-terminated copy */
        assert_non_null(copy);
        memcpy(copy, buf, len + 1);
        memset(why, 'Z', sizeof(why));
        n = smtp_cidr_parse_list(copy, l, 8, why, sizeof(why));
        assert_true(n >= -1 && n <= 8);
        assert_true(nul_within(why, sizeof(why)));
        if (n > 0) {
            for (int i = 0; i < n; i++) {
                assert_true(l[i].family == AF_INET || l[i].family == AF_INET6);
                assert_true(l[i].prefix <= (l[i].family == AF_INET ? 32u : 128u));
            }
            memset(&ss, 0, sizeof(ss));
            if (it & 1) {
                struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
                uint32_t ip = (uint32_t)rng_next(&rng);
                sin->sin_family = AF_INET;
                memcpy(&sin->sin_addr, &ip, 4);
            } else {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
                uint64_t hi = rng_next(&rng), lo = rng_next(&rng);
                sin6->sin6_family = AF_INET6;
                memcpy(&sin6->sin6_addr, &hi, 8);
                memcpy((char *)&sin6->sin6_addr + 8, &lo, 8);
                if (it & 2) /* IPv4-mapped now and then */
                    memcpy(&sin6->sin6_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
            }
            n = smtp_cidr_match(l, (size_t)n, (const struct sockaddr *)&ss);
            assert_true(n == 0 || n == 1);
        }
        n = tm_domain_listed("a.example.com", copy);
        assert_true(n == 0 || n == 1);
        n = tm_domain_listed(copy, "example.com .example.com");
        assert_true(n == 0 || n == 1);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_verbs),
        cmocka_unit_test(test_command_verb_names),
        cmocka_unit_test(test_command_control_chars),
        cmocka_unit_test(test_command_not_nul_terminated),
        cmocka_unit_test(test_mail_paths),
        cmocka_unit_test(test_mail_bad_paths),
        cmocka_unit_test(test_mail_syntax_errors),
        cmocka_unit_test(test_mail_params),
        cmocka_unit_test(test_mail_param_errors),
        cmocka_unit_test(test_mail_envid_bounds),
        cmocka_unit_test(test_mail_length_bounds),
        cmocka_unit_test(test_mail_not_nul_terminated),
        cmocka_unit_test(test_mail_error_texts),
        cmocka_unit_test(test_rcpt_paths),
        cmocka_unit_test(test_rcpt_params),
        cmocka_unit_test(test_rcpt_bounds),
        cmocka_unit_test(test_rcpt_not_nul_terminated),
        cmocka_unit_test(test_mailbox_valid),
        cmocka_unit_test(test_mailbox_bounds),
        cmocka_unit_test(test_xtext),
        cmocka_unit_test(test_addr_domain),
        cmocka_unit_test(test_bdat),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_parse_errors),
        cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_domain_in_list),
        cmocka_unit_test(test_fuzz_command_bdat),
        cmocka_unit_test(test_fuzz_mail_rcpt),
        cmocka_unit_test(test_fuzz_mailbox_xtext),
        cmocka_unit_test(test_fuzz_lists),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
