/* test_po_format.c - unit tests of the postoffice share formats: names, GLB files, address mapping, P1 transfer files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "po_format.h"

#define S(lit) (lit), (sizeof(lit) - 1) /* a literal and its length, NULs included */

static const struct po_network hq = {"CORPNET", "HQPO"};

/* Fail with the error text when it does not contain want. */
static void assert_err_has(const struct po_err *e, const char *want, const char *what)
{
    if (!strstr(e->text, want))
        fail_msg("%s: error \"%s\" does not contain \"%s\"", what, e->text, want);
}

/* ---- deterministic random numbers for round trips and fuzzing ---------- */

struct rng {
    uint64_t s;
};

static uint32_t rnd(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 11);
}

static uint32_t rnd_below(struct rng *r, uint32_t n)
{
    return n ? rnd(r) % n : 0;
}

/* ---- names and legacy addresses ---------------------------------------- */

static void test_name_valid(void **state)
{
    assert_true(po_name_valid(S("A")));
    assert_true(po_name_valid(S("JSMITH")));
    assert_true(po_name_valid(S("0123456789")));
    assert_true(po_name_valid(S("ABCDEFGHIJ")));
    assert_false(po_name_valid(S("ABCDEFGHIJK"))); /* 11 */
    assert_false(po_name_valid(S("")));
    assert_false(po_name_valid(S("jsmith")));
    assert_false(po_name_valid(S("J.SMITH")));
    assert_false(po_name_valid(S("J SMITH")));
    assert_false(po_name_valid(S("J-SMITH")));
    assert_false(po_name_valid(S("J\0SMITH")));
    assert_false(po_name_valid(S("\xc4MIL")));
    assert_false(po_name_valid(NULL, 3));
    assert_true(po_name_valid("JSMITHXXX", 6)); /* only len counts */
}

static void test_legacy_parse_and_format(void **state)
{
    struct po_addr a;
    struct po_err e;
    char out[PO_LEGACY_MAX + 1];

    assert_int_equal(po_legacy_parse(S("MS:CORPNET/HQPO/JSMITH"), &a, &e), 0);
    assert_string_equal(a.network, "CORPNET");
    assert_string_equal(a.postoffice, "HQPO");
    assert_string_equal(a.mailbox, "JSMITH");
    assert_int_equal(po_legacy_format(&a, out, sizeof(out)), 22);
    assert_string_equal(out, "MS:CORPNET/HQPO/JSMITH");

    assert_int_equal(po_legacy_parse(S("MS:ABCDEFGHIJ/0123456789/ZZZZZZZZZZ"), &a, &e), 0);
    assert_int_equal(po_legacy_format(&a, out, sizeof(out)), PO_LEGACY_MAX);
    assert_string_equal(out, "MS:ABCDEFGHIJ/0123456789/ZZZZZZZZZZ");
    assert_int_equal(po_legacy_format(&a, out, PO_LEGACY_MAX), -1); /* no room for NUL */
    assert_string_equal(out, "");

    static const struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"", "does not start with \"MS:\""},
        {"ms:CORPNET/HQPO/JSMITH", "does not start"},
        {"SMTP:a@b", "does not start"},
        {"MS:", "not MS:NETWORK"},
        {"MS:CORPNET/HQPO", "not MS:NETWORK"},
        {"MS:CORPNET/HQPO/JSMITH/X", "more than three"},
        {"MS:CORPNET//JSMITH", "bad postoffice name"},
        {"MS:/HQPO/JSMITH", "bad network name"},
        {"MS:CORPNET/HQPO/", "bad mailbox name"},
        {"MS:CORPNET/HQPO/jsmith", "bad mailbox name"},
        {"MS:CORPNET/HQPO/ABCDEFGHIJK", "bad mailbox name"},
        {"MS:CORPNETXXXX/HQPO/JSMITH", "bad network name"},
        {"MS: CORPNET/HQPO/JSMITH", "bad network name"},
        {"MS:CORPNET/HQPO/J SMITH", "bad mailbox name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 'x', sizeof(a));
        assert_int_equal(po_legacy_parse(bad[i].s, strlen(bad[i].s), &a, &e), -1);
        assert_err_has(&e, bad[i].why, bad[i].s);
        assert_string_equal(a.mailbox, "");
    }
    assert_int_equal(po_legacy_parse(S("MS:A/B/C\0D"), &a, &e), -1);

    struct po_addr badaddr = {"CORPNET", "hqpo", "JSMITH"};
    assert_int_equal(po_legacy_format(&badaddr, out, sizeof(out)), -1);
    struct po_addr noterm;
    memset(&noterm, 'A', sizeof(noterm));
    assert_int_equal(po_legacy_format(&noterm, out, sizeof(out)), -1);
}

/* ---- GLB files --------------------------------------------------------- */

static void test_network_glb_good(void **state)
{
    static const struct {
        const char *text;
        size_t len;
    } good[] = {
        {S("NETWORK=CORPNET\r\nPOSTOFFICE=HQPO\r\n")},
        {S("NETWORK=CORPNET\nPOSTOFFICE=HQPO\n")},
        {S("POSTOFFICE=HQPO\r\nNETWORK=CORPNET")},
        {S("\r\n\r\nNETWORK = CORPNET \r\n  \t\r\npostoffice=HQPO\n\n")},
        {S("Network=CORPNET\nPostOffice=\tHQPO\t")},
    };
    struct po_network net;
    struct po_err e;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        e.text[0] = '\0';
        if (po_network_glb_parse(good[i].text, good[i].len, &net, &e) != 0)
            fail_msg("good NETWORK.GLB #%zu refused: %s", i, e.text);
        assert_string_equal(net.network, "CORPNET");
        assert_string_equal(net.postoffice, "HQPO");
    }
    assert_int_equal(po_network_glb_parse(S("NETWORK=ABCDEFGHIJ\nPOSTOFFICE=0\n"), &net, &e), 0);
    assert_string_equal(net.network, "ABCDEFGHIJ");
    assert_string_equal(net.postoffice, "0");
}

static void test_network_glb_bad(void **state)
{
    static const struct {
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {
        {S(""), "no NETWORK= line"},
        {S("\r\n\r\n"), "no NETWORK= line"},
        {S("NETWORK=CORPNET\r\n"), "no POSTOFFICE= line"},
        {S("POSTOFFICE=HQPO\r\n"), "no NETWORK= line"},
        {S("NETWORK=CORPNET\r\nPOSTOFFICE=HQPO\r\nNETWORK=OTHER\r\n"),
         "line 3: NETWORK given again (first on line 1)"},
        {S("NETWORK=CORPNET\nPOSTOFFICE=HQPO\nPOSTOFFICE=HQPO\n"),
         "line 3: POSTOFFICE given again"},
        {S("NETWORK=CORPNET\r\nPOSTOFFICE=HQPO\r\nDOMAIN=example.org\r\n"),
         "line 3: unknown key \"DOMAIN\""},
        {S("NETWORK=CORPNET\n\nGARBAGE\nPOSTOFFICE=HQPO\n"),
         "line 3: \"GARBAGE\" is not KEY=VALUE"},
        {S("NETWORK=corpnet\nPOSTOFFICE=HQPO\n"),
         "line 1: NETWORK value \"corpnet\" is not a valid"},
        {S("NETWORK=CORPNETWORK1\nPOSTOFFICE=HQPO\n"), "line 1: NETWORK value"},
        {S("NETWORK=\nPOSTOFFICE=HQPO\n"), "line 1: NETWORK value \"\""},
        {S("NETWORK=CORPNET\nPOSTOFFICE=HQ PO\n"), "line 2: POSTOFFICE value"},
        {S("NETWORK=CORPNET\nPOSTOFFICE=HQPO\0\n"), "line 2: NUL byte"},
        {S("NETWORK=CORPNET\rPOSTOFFICE=HQPO\n"), "line 1: bare CR"},
        {S("NETWORK=CORPNET\nPOSTOFFICE=HQ\x01PO\n"), "line 2: control character 0x01"},
        {S("NETWORK=CORPNET\nPOSTOFFICE=\xc4PO\n"), "line 2: non-ASCII octet 0xC4"},
        {S("=CORPNET\nPOSTOFFICE=HQPO\n"), "line 1: unknown key \"\""},
    };
    struct po_network net;
    struct po_err e;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&net, 'x', sizeof(net));
        assert_int_equal(po_network_glb_parse(bad[i].text, bad[i].len, &net, &e), -1);
        assert_err_has(&e, bad[i].why, bad[i].text);
        assert_string_equal(net.network, "");
    }
    /* err may be NULL */
    assert_int_equal(po_network_glb_parse(S("X=Y"), &net, NULL), -1);
}

static const char address_glb[] = "JSMITH\tJohn Smith\r\n"
                                  "ADMIN\tPostoffice Administrator\r\n"
                                  "\r\n"
                                  "ABCDEFGHIJ\t  Ten Char Name  \r\n"
                                  "NONAME\t\r\n"
                                  "MUELLER\tJ\xfcrgen M\xfcller\n"
                                  "A1\tA One";

static void test_address_glb_good(void **state)
{
    struct po_dir dir;
    struct po_err e;
    const struct po_dir_entry *d;

    if (po_address_glb_parse(address_glb, sizeof(address_glb) - 1, &dir, &e) != 0)
        fail_msg("ADDRESS.GLB refused: %s", e.text);
    assert_int_equal(dir.count, 6);
    for (size_t i = 1; i < dir.count; i++)
        assert_true(strcmp(dir.entries[i - 1].mailbox, dir.entries[i].mailbox) < 0);

    d = po_dir_find(&dir, "jsmith");
    assert_non_null(d);
    assert_string_equal(d->mailbox, "JSMITH");
    assert_string_equal(d->display, "John Smith");
    assert_int_equal(d->line, 1);
    assert_ptr_equal(po_dir_find(&dir, "JSMITH"), d);
    assert_ptr_equal(po_dir_find(&dir, "JsMiTh"), d);
    d = po_dir_find(&dir, "abcdefghij");
    assert_non_null(d);
    assert_string_equal(d->display, "Ten Char Name");
    assert_int_equal(d->line, 4);
    d = po_dir_find(&dir, "NONAME");
    assert_non_null(d);
    assert_string_equal(d->display, "");
    d = po_dir_find(&dir, "Mueller");
    assert_non_null(d);
    assert_string_equal(d->display, "J\xfcrgen M\xfcller");
    assert_non_null(po_dir_find(&dir, "a1"));
    assert_non_null(po_dir_find(&dir, "admin"));

    assert_null(po_dir_find(&dir, "abcdefghijk"));
    assert_null(po_dir_find(&dir, "smith"));
    assert_null(po_dir_find(&dir, ""));
    assert_null(po_dir_find(&dir, "j.smith"));
    assert_null(po_dir_find(&dir, NULL));
    assert_null(po_dir_find(NULL, "JSMITH"));
    po_dir_free(&dir);
    assert_null(dir.entries);
    assert_int_equal(dir.count, 0);
    assert_null(po_dir_find(&dir, "JSMITH"));
    po_dir_free(&dir);
    po_dir_free(NULL);

    /* empty directory is valid */
    assert_int_equal(po_address_glb_parse(S(""), &dir, &e), 0);
    assert_int_equal(dir.count, 0);
    assert_null(po_dir_find(&dir, "JSMITH"));
    po_dir_free(&dir);
    assert_int_equal(po_address_glb_parse(S("\n\r\n  \n"), &dir, &e), 0);
    assert_int_equal(dir.count, 0);
    po_dir_free(&dir);

    /* a large directory */
    {
        size_t n = 5000, len = 0;
        char *text = malloc(n * 32);
        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(text + len, "U%zu\tUser %zu\r\n", (n - i) * 7, i);
        assert_int_equal(po_address_glb_parse(text, len, &dir, &e), 0);
        assert_int_equal(dir.count, n);
        d = po_dir_find(&dir, "u35");
        assert_non_null(d);
        assert_string_equal(d->display, "User 4995");
        assert_null(po_dir_find(&dir, "u36"));
        po_dir_free(&dir);
        free(text);
    }
}

static void test_address_glb_bad(void **state)
{
    static const struct {
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {
        {S("JSMITH John Smith\r\n"), "line 1: \"JSMITH John Smith\" has no TAB"},
        {S("JSMITH\tJohn\r\nADMIN\r\n"), "line 2: \"ADMIN\" has no TAB"},
        {S("jsmith\tJohn Smith\r\n"), "line 1: mailbox \"jsmith\" is not a valid name"},
        {S("J.SMITH\tJohn Smith\r\n"), "line 1: mailbox \"J.SMITH\""},
        {S("ABCDEFGHIJK\tEleven\r\n"), "line 1: mailbox \"ABCDEFGHIJK\""},
        {S("\tNo Mailbox\r\n"), "line 1: mailbox \"\""},
        {S(" JSMITH\tJohn\r\n"), "line 1: mailbox \" JSMITH\""},
        {S("JSMITH\tJohn\r\nADMIN\tAdmin\r\nJSMITH\tJohn Again\r\n"),
         "line 3: duplicate mailbox JSMITH (first on line 1)"},
        {S("A\tx\nB\ty\nC\tz\nB\tw\n"), "line 4: duplicate mailbox B (first on line 2)"},
        {S("JSMITH\tJohn\0Smith\r\n"), "line 1: NUL byte"},
        {S("JSMITH\tJohn\rSmith\r\n"), "line 1: bare CR"},
        {S("JSMITH\tJohn\x1bSmith\r\n"), "line 1: control character 0x1B"},
        {S("JSMITH\tJohn\x7fSmith\r\n"), "line 1: control character 0x7F"},
        {S("OK\tOk\nJSMITH\tJohn Smith Has A Display Name That Is Far Too Long For The Directory "
           "Because It Goes On And On And On And On And On And On And On And On\n"),
         "line 2: display name longer than 127"},
    };
    struct po_dir dir;
    struct po_err e;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dir.entries = (void *)&e; /* garbage the parser must overwrite */
        dir.count = 99;
        assert_int_equal(po_address_glb_parse(bad[i].text, bad[i].len, &dir, &e), -1);
        assert_err_has(&e, bad[i].why, bad[i].text);
        assert_null(dir.entries);
        assert_int_equal(dir.count, 0);
    }
}

/* ---- address mapping ---------------------------------------------------- */

static void test_smtp_to_legacy(void **state)
{
    struct po_addr a;
    struct po_err e;
    char text[PO_LEGACY_MAX + 1];

    static const struct {
        const char *addr, *box;
    } good[] = {
        {"jsmith@po.example.org", "JSMITH"},
        {"JSmith@PO.Example.ORG", "JSMITH"},
        {"a@po.example.org", "A"},
        {"abcdefghij@po.example.org", "ABCDEFGHIJ"},
        {"0123456789@po.example.org", "0123456789"},
        {"x1@po.example.org", "X1"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (po_smtp_to_legacy(good[i].addr, "po.example.org", &hq, &a, &e) != 0)
            fail_msg("%s refused: %s", good[i].addr, e.text);
        assert_string_equal(a.mailbox, good[i].box);
        assert_string_equal(a.network, "CORPNET");
        assert_string_equal(a.postoffice, "HQPO");
    }
    assert_int_equal(po_smtp_to_legacy("jsmith@po.example.org", "po.example.org", &hq, &a, &e), 0);
    assert_int_equal(po_legacy_format(&a, text, sizeof(text)), 22);
    assert_string_equal(text, "MS:CORPNET/HQPO/JSMITH");

    static const struct {
        const char *addr, *why;
    } bad[] = {
        {"abcdefghijk@po.example.org", "longer than 10 characters"},
        {"@po.example.org", "empty local part"},
        {"j.smith@po.example.org", "holds '.'"},
        {"j-smith@po.example.org", "holds '-'"},
        {"j+tag@po.example.org", "holds '+'"},
        {"\"jsmith\"@po.example.org", "holds '\"'"},
        {"j smith@po.example.org", "holds ' '"},
        {"j\xc3\xa4@po.example.org", "not a valid mailbox name"},
        {"jsmith@example.org",
         "domain \"example.org\" is not the postoffice domain \"po.example.org\""},
        {"jsmith@po.example.org.", "is not the postoffice domain"},
        {"jsmith@sub.po.example.org", "is not the postoffice domain"},
        {"jsmith@", "domain \"\" is not"},
        {"jsmith", "has no '@'"},
        {"", "has no '@'"},
        {"<jsmith@po.example.org>", "is not the postoffice domain"},
        {"a@b@po.example.org", "holds '@'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&a, 'x', sizeof(a));
        assert_int_equal(po_smtp_to_legacy(bad[i].addr, "po.example.org", &hq, &a, &e), -1);
        assert_err_has(&e, bad[i].why, bad[i].addr);
        assert_string_equal(a.mailbox, "");
    }

    /* over-long address */
    {
        char big[IPC_ADDR_MAX + 20];
        memset(big, 'a', sizeof(big));
        memcpy(big + IPC_ADDR_MAX + 1 - 15, "@po.example.org", 16);
        assert_int_equal(strlen(big), IPC_ADDR_MAX + 1);
        assert_int_equal(po_smtp_to_legacy(big, "po.example.org", &hq, &a, &e), -1);
        assert_err_has(&e, "longer than 511", "big");
    }
    /* bad configuration */
    struct po_network badnet = {"corpnet", "HQPO"};
    assert_int_equal(po_smtp_to_legacy("jsmith@po.example.org", "po.example.org", &badnet, &a, &e),
                     -1);
    assert_err_has(&e, "not valid", "badnet");
    assert_int_equal(po_smtp_to_legacy("jsmith@po.example.org", "", &hq, &a, &e), -1);
    assert_err_has(&e, "no postoffice domain", "empty domain");
    assert_int_equal(po_smtp_to_legacy("jsmith@po.example.org", "po.example.org", &hq, &a, NULL),
                     0);
}

static void test_legacy_to_smtp(void **state)
{
    char out[IPC_ADDR_MAX + 1];

    assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/JSMITH", "po.example.org", &hq, out), 0);
    assert_string_equal(out, "jsmith@po.example.org");
    assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/ABCDEFGHIJ", "PO.Example.Org", &hq, out),
                     0);
    assert_string_equal(out, "abcdefghij@PO.Example.Org");
    assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/A1B2", "po.example.org", &hq, out), 0);
    assert_string_equal(out, "a1b2@po.example.org");

    static const char *bad[] = {
        "MS:OTHERNET/HQPO/JSMITH",    "MS:CORPNET/BRANCH/JSMITH",    "MS:corpnet/hqpo/jsmith",
        "MS:CORPNET/HQPO/jsmith",     "MS:CORPNET/HQPO/ABCDEFGHIJK", "MS:CORPNET/HQPO",
        "SMTP:jsmith@po.example.org", "jsmith@po.example.org",       "",
        "MS:CORPNET/HQPO/JSMITH ",    "MS:CORPNET/HQPO/J.SMITH",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(out, "junk");
        if (po_legacy_to_smtp(bad[i], "po.example.org", &hq, out) != -1)
            fail_msg("\"%s\" was mapped to \"%s\"", bad[i], out);
        assert_string_equal(out, "");
    }
    assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/JSMITH", "", &hq, out), -1);
    /* the result must fit IPC_ADDR_MAX */
    {
        char dom[IPC_ADDR_MAX + 1];
        memset(dom, 'd', sizeof(dom));
        dom[IPC_ADDR_MAX - 7] = '\0'; /* "jsmith@" + dom = IPC_ADDR_MAX exactly */
        assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/JSMITH", dom, &hq, out), 0);
        assert_int_equal(strlen(out), IPC_ADDR_MAX);
        dom[IPC_ADDR_MAX - 7] = 'd';
        dom[IPC_ADDR_MAX - 6] = '\0';
        assert_int_equal(po_legacy_to_smtp("MS:CORPNET/HQPO/JSMITH", dom, &hq, out), -1);
    }
    /* both ways */
    {
        struct po_addr a;
        char legacy[PO_LEGACY_MAX + 1];
        assert_int_equal(po_smtp_to_legacy("Box42@po.example.org", "po.example.org", &hq, &a, NULL),
                         0);
        assert_true(po_legacy_format(&a, legacy, sizeof(legacy)) > 0);
        assert_int_equal(po_legacy_to_smtp(legacy, "po.example.org", &hq, out), 0);
        assert_string_equal(out, "box42@po.example.org");
    }
}

/* ---- P1 files ----------------------------------------------------------- */

static const char sample_p1[] = "P1-Version: 1\r\n"
                                "Message-Id: <id1@host.example>\r\n"
                                "From: SMTP:alice@example.org\r\n"
                                "To: MS:CORPNET/HQPO/JSMITH\r\n"
                                "To: MS:CORPNET/HQPO/ADMIN\r\n"
                                "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
                                "Subject: Hello there\r\n"
                                "\r\n"
                                "From: alice@example.org\r\n"
                                "Subject: Hello there\r\n"
                                "\r\n"
                                "Body.\r\n";

static void test_p1_parse_sample(void **state)
{
    struct po_p1 p1;
    struct po_err e;
    const uint8_t *buf = (const uint8_t *)sample_p1;
    const char *body = strstr(sample_p1, "\r\n\r\n") + 4;

    if (po_p1_parse(buf, sizeof(sample_p1) - 1, &p1, &e) != 0)
        fail_msg("sample refused: %s", e.text);
    assert_string_equal(p1.message_id, "<id1@host.example>");
    assert_int_equal(p1.from.kind, PO_P1_SMTP);
    assert_string_equal(p1.from.text, "alice@example.org");
    assert_int_equal(p1.nto, 2);
    assert_int_equal(p1.to[0].kind, PO_P1_MS);
    assert_string_equal(p1.to[0].text, "MS:CORPNET/HQPO/JSMITH");
    assert_string_equal(p1.to[0].ms.network, "CORPNET");
    assert_string_equal(p1.to[0].ms.postoffice, "HQPO");
    assert_string_equal(p1.to[0].ms.mailbox, "JSMITH");
    assert_string_equal(p1.to[1].ms.mailbox, "ADMIN");
    assert_string_equal(p1.date, "Mon, 1 Jan 2024 10:00:00 +0000");
    assert_string_equal(p1.subject, "Hello there");
    assert_int_equal(p1.body_off, (size_t)(body - sample_p1));
    assert_int_equal(p1.body_len, strlen(body));
    assert_memory_equal(buf + p1.body_off, body, p1.body_len);
    po_p1_free(&p1);
    assert_null(p1.to);
    po_p1_free(&p1);
    po_p1_free(NULL);

    /* variants the parser accepts */
    static const char variants[] = "p1-version:1\r\n"
                                   "MESSAGE-ID:<a@b>\r\n"
                                   "from:MS:CORPNET/HQPO/JSMITH\r\n"
                                   "to:SMTP:bob@example.com\r\n"
                                   "TO: SMTP:o'neil.x+y@sub-1.example\r\n"
                                   "date:1 Jan 2024\r\n"
                                   "subject:\r\n"
                                   "\r\n"
                                   "x";
    if (po_p1_parse((const uint8_t *)variants, sizeof(variants) - 1, &p1, &e) != 0)
        fail_msg("variants refused: %s", e.text);
    assert_int_equal(p1.from.kind, PO_P1_MS);
    assert_string_equal(p1.from.ms.mailbox, "JSMITH");
    assert_int_equal(p1.nto, 2);
    assert_string_equal(p1.to[0].text, "bob@example.com");
    assert_string_equal(p1.to[1].text, "o'neil.x+y@sub-1.example");
    assert_string_equal(p1.subject, "");
    assert_int_equal(p1.body_len, 1);
    po_p1_free(&p1);

    /* subject white space after the one optional space is kept */
    static const char spaces[] = "P1-Version: 1\r\nMessage-Id: <a@b>\r\nFrom: SMTP:a.b@c\r\n"
                                 "To: MS:CORPNET/HQPO/JSMITH\r\nDate: 1 Jan 2024\r\n"
                                 "Subject:  two  spaces\t\r\n\r\nbody";
    assert_int_equal(po_p1_parse((const uint8_t *)spaces, sizeof(spaces) - 1, &p1, &e), 0);
    assert_string_equal(p1.from.text, "a.b@c");
    assert_string_equal(p1.subject, " two  spaces\t");
    po_p1_free(&p1);
}

/* Build a header from parts for the bad-file table. */
#define HV "P1-Version: 1\r\n"
#define HID "Message-Id: <id1@host>\r\n"
#define HFROM "From: SMTP:alice@example.org\r\n"
#define HTO "To: MS:CORPNET/HQPO/JSMITH\r\n"
#define HDATE "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
#define HSUBJ "Subject: hi\r\n"
#define HREST HID HFROM HTO HDATE HSUBJ
#define BODY "\r\nSubject: hi\r\n\r\nbody\r\n"

static void test_p1_bad_files(void **state)
{
    static const struct {
        const char *name;
        const char *text;
        size_t len;
        const char *why;
    } bad[] = {
        {"empty file", S(""), "empty file"},
        {"missing version", S(HREST BODY),
         "line 1: \"Message-Id: <id1@host>\": the file must begin with \"P1-Version: 1\""},
        {"wrong version", S("P1-Version: 2\r\n" HREST BODY),
         "line 1: unsupported P1-Version \"2\""},
        {"version 1.0", S("P1-Version: 1.0\r\n" HREST BODY), "unsupported P1-Version \"1.0\""},
        {"version twice", S(HV HID "P1-Version: 1\r\n" HFROM HTO HDATE HSUBJ BODY),
         "line 3: P1-Version again"},
        {"version not first", S(HID HV HFROM HTO HDATE HSUBJ BODY), "line 1:"},
        {"missing blank line", S(HV HREST),
         "truncated: the file ends after line 6 without the empty line"},
        {"header cut mid-line", S(HV HID "From: SMTP:al"), "truncated: line 3 has no CRLF"},
        {"header cut after CR", S(HV HID "From: SMTP:alice@example.org\r"),
         "truncated: line 3 ends in CR without LF"},
        {"LF-only control lines", S("P1-Version: 1\nMessage-Id: <a@b>\n"),
         "line 1: ends in a bare LF"},
        {"one LF-only line", S(HV HID "From: SMTP:alice@example.org\n" HTO HDATE HSUBJ BODY),
         "line 3: ends in a bare LF"},
        {"LF-only blank line", S(HV HREST "\nbody"), "line 7: ends in a bare LF"},
        {"bare CR in line", S(HV HID "From: SMTP:alice@example.org\rX\r\n" HTO HDATE HSUBJ BODY),
         "line 3: bare CR inside"},
        {"duplicate Message-Id", S(HV HID HID HFROM HTO HDATE HSUBJ BODY),
         "line 3: duplicate Message-Id (first on line 2)"},
        {"duplicate From", S(HV HID HFROM HTO HFROM HDATE HSUBJ BODY),
         "line 5: duplicate From (first on line 3)"},
        {"duplicate Date", S(HV HID HFROM HTO HDATE HDATE HSUBJ BODY), "line 6: duplicate Date"},
        {"duplicate Subject", S(HV HID HFROM HTO HDATE HSUBJ HSUBJ BODY),
         "line 7: duplicate Subject"},
        {"no To", S(HV HID HFROM HDATE HSUBJ BODY), "missing To: line"},
        {"no Message-Id", S(HV HFROM HTO HDATE HSUBJ BODY), "missing Message-Id: line"},
        {"no From", S(HV HID HTO HDATE HSUBJ BODY), "missing From: line"},
        {"no Date", S(HV HID HFROM HTO HSUBJ BODY), "missing Date: line"},
        {"no Subject", S(HV HID HFROM HTO HDATE BODY), "missing Subject: line"},
        {"bad MS: address", S(HV HID HFROM "To: MS:CORPNET/HQPO/J.SMITH\r\n" HDATE HSUBJ BODY),
         "line 4: To: bad MS: address"},
        {"MS: 11-char box", S(HV HID HFROM "To: MS:CORPNET/HQPO/ABCDEFGHIJK\r\n" HDATE HSUBJ BODY),
         "bad mailbox name"},
        {"MS: two parts", S(HV HID HFROM "To: MS:CORPNET/JSMITH\r\n" HDATE HSUBJ BODY),
         "line 4: To: bad MS: address"},
        {"bad SMTP: address", S(HV HID "From: SMTP:alice\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: bad SMTP: address: no '@'"},
        {"SMTP: empty domain", S(HV HID "From: SMTP:alice@\r\n" HTO HDATE HSUBJ BODY),
         "empty domain"},
        {"SMTP: space", S(HV HID HFROM "To: SMTP:bob smith@example.com\r\n" HDATE HSUBJ BODY),
         "line 4: To: bad SMTP: address: bad character in local part"},
        {"SMTP: angle brackets",
         S(HV HID "From: SMTP:<alice@example.org>\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: bad SMTP: address"},
        {"null sender in To", S(HV HID HFROM "To: SMTP:<>\r\n" HDATE HSUBJ BODY),
         "line 4: To: bad SMTP: address"},
        {"null sender", S(HV HID "From: SMTP:<>\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: bad SMTP: address"},
        {"empty SMTP:", S(HV HID "From: SMTP:\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: bad SMTP: address: empty address"},
        {"SMTP: dot at end", S(HV HID "From: SMTP:alice.@example.org\r\n" HTO HDATE HSUBJ BODY),
         "misplaced '.'"},
        {"SMTP: quoted local part never closed",
         S(HV HID "From: SMTP:\"john doe@example.org\r\n" HTO HDATE HSUBJ BODY),
         "bad quoted local part"},
        {"SMTP: bad address literal",
         S(HV HID "From: SMTP:x@[192.0.2.300]\r\n" HTO HDATE HSUBJ BODY), "bad address literal"},
        {"SMTP: escape not in the RFC 6533 form",
         S(HV HID "From: SMTP:j\\x{f6}rg@example.org\r\n" HTO HDATE HSUBJ BODY),
         "nor the RFC 6533"},
        {"SMTP: escape of an ASCII letter",
         S(HV HID "From: SMTP:j\\x{41}rg@example.org\r\n" HTO HDATE HSUBJ BODY),
         "nor the RFC 6533"},
        {"SMTP: empty label", S(HV HID "From: SMTP:alice@example..org\r\n" HTO HDATE HSUBJ BODY),
         "empty label in domain"},
        {"no address prefix", S(HV HID "From: alice@example.org\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: address does not start with SMTP: or MS:"},
        {"lower-case prefix", S(HV HID "From: smtp:alice@example.org\r\n" HTO HDATE HSUBJ BODY),
         "does not start with SMTP: or MS:"},
        {"NUL byte in header", S(HV HID "From: SMTP:alice@exa\0mple.org\r\n" HTO HDATE HSUBJ BODY),
         "line 3: NUL byte at column 21"},
        {"NUL first byte", S("\0P1-Version: 1\r\n"), "line 1: NUL byte at column 1"},
        {"999-octet line", NULL, 0, "line 6: longer than 998 octets"},
        {"unknown header", S(HV HID HFROM HTO "X-Mailer: foo\r\n" HDATE HSUBJ BODY),
         "line 5: unknown header \"X-Mailer\""},
        {"Cc header", S(HV HID HFROM HTO "Cc: MS:CORPNET/HQPO/ADMIN\r\n" HDATE HSUBJ BODY),
         "line 5: unknown header \"Cc\""},
        {"binary junk",
         S("\x7f"
           "ELF\x02\x01\x01\0\0\0"),
         "line 1: control character 0x7F"},
        {"binary junk high", S("\x89PNG\r\n\x1a\n"), "line 1: non-ASCII octet 0x89"},
        {"UTF-8 BOM", S("\xef\xbb\xbfP1-Version: 1\r\n" HREST BODY),
         "line 1: non-ASCII octet 0xEF"},
        {"non-ASCII subject", S(HV HID HFROM HTO HDATE "Subject: caf\xc3\xa9\r\n" BODY),
         "line 6: non-ASCII octet 0xC3"},
        {"text first line", S("Hello world\r\n\r\n"),
         "line 1: \"Hello world\" is not a header line"},
        {"blank first line", S("\r\n" HV HREST BODY), "line 1: empty"},
        {"continuation line", S(HV HID HFROM HTO HDATE HSUBJ " more subject\r\n" BODY),
         "line 7: starts with white space"},
        {"no colon", S(HV HID HFROM "To SMTP-bob\r\n" HDATE HSUBJ BODY),
         "line 4: \"To SMTP-bob\" is not a header line (no ':')"},
        {"space in name", S(HV HID HFROM "To MS:CORPNET/HQPO/JSMITH\r\n" HDATE HSUBJ BODY),
         "line 4: unknown header \"To MS\""},
        {"bad Message-Id", S(HV "Message-Id: id1@host\r\n" HFROM HTO HDATE HSUBJ BODY),
         "line 2: bad Message-Id: not of the form <id@host>"},
        {"Message-Id space", S(HV "Message-Id: <id 1@host>\r\n" HFROM HTO HDATE HSUBJ BODY),
         "line 2: bad Message-Id: bad character"},
        {"empty Date", S(HV HID HFROM HTO "Date: \r\n" HSUBJ BODY), "line 5: Date is empty"},
        {"Date no digits", S(HV HID HFROM HTO "Date: yesterday\r\n" HSUBJ BODY),
         "line 5: Date holds no digits"},
        {"control char", S(HV HID HFROM HTO HDATE "Subject: a\x1b[31m\r\n" BODY),
         "line 6: control character 0x1B"},
        {"no body", S(HV HREST "\r\n"), "truncated: no message after the empty line 7"},
        {"space before colon", S(HV HID "From : SMTP:alice@example.org\r\n" HTO HDATE HSUBJ BODY),
         "line 3: unknown header \"From \""},
        {"tab after colon", S(HV HID "From:\tSMTP:alice@example.org\r\n" HTO HDATE HSUBJ BODY),
         "line 3: From: address does not start"},
    };
    char long_file[2000];
    struct po_p1 p1;
    struct po_err e;
    size_t n;

    assert_true(sizeof(bad) / sizeof(bad[0]) >= 25);
    /* 999 octets: "Subject: " + 990 x's */
    n = (size_t)sprintf(long_file, HV HID HFROM HTO HDATE "Subject: ");
    memset(long_file + n, 'x', 990);
    n += 990;
    memcpy(long_file + n, "\r\n" BODY, sizeof(BODY) + 1);
    n += sizeof(BODY) + 1;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const uint8_t *text =
            bad[i].text ? (const uint8_t *)bad[i].text : (const uint8_t *)long_file;
        size_t len = bad[i].text ? bad[i].len : n;

        memset(&p1, 'x', sizeof(p1));
        e.text[0] = '\0';
        if (po_p1_parse(text, len, &p1, &e) != -1)
            fail_msg("bad file \"%s\" accepted", bad[i].name);
        assert_err_has(&e, bad[i].why, bad[i].name);
        assert_null(p1.to);
        assert_int_equal(p1.nto, 0);
        assert_int_equal(p1.body_len, 0);
        po_p1_free(&p1);
        /* err may be NULL */
        assert_int_equal(po_p1_parse(text, len, &p1, NULL), -1);
    }

    /* 998 octets is fine ("Subject: " + 989), 990-char subject is not */
    n = (size_t)sprintf(long_file, HV HID HFROM HTO HDATE "Subject: ");
    memset(long_file + n, 'x', 989);
    n += 989;
    memcpy(long_file + n, "\r\n" BODY, sizeof(BODY) + 1);
    n += sizeof(BODY) + 1;
    assert_int_equal(po_p1_parse((const uint8_t *)long_file, n, &p1, &e), 0);
    assert_int_equal(strlen(p1.subject), 989);
    po_p1_free(&p1);
    n = (size_t)sprintf(long_file, HV HID HFROM HTO HDATE "Subject:");
    memset(long_file + n, 'x', 990);
    n += 990;
    memcpy(long_file + n, "\r\n" BODY, sizeof(BODY) + 1);
    n += sizeof(BODY) + 1;
    assert_int_equal(po_p1_parse((const uint8_t *)long_file, n, &p1, &e), -1);
    assert_err_has(&e, "line 6: Subject longer than 989", "990 subject");

    /* a 999-octet line with no line end at all (no CR to find) */
    memset(long_file, 'A', 1500);
    assert_int_equal(po_p1_parse((const uint8_t *)long_file, 1500, &p1, &e), -1);
    assert_err_has(&e, "line 1: longer than 998 octets", "no CR");

    /* too many recipients */
    {
        size_t cap = 64 * (PO_P1_RCPT_MAX + 10), len = 0;
        char *big = malloc(cap);
        assert_non_null(big);
        len += (size_t)sprintf(big, HV HID HFROM HDATE HSUBJ);
        for (int i = 0; i <= PO_P1_RCPT_MAX; i++)
            len += (size_t)sprintf(big + len, "To: MS:CORPNET/HQPO/U%d\r\n", i);
        len += (size_t)sprintf(big + len, BODY);
        assert_int_equal(po_p1_parse((const uint8_t *)big, len, &p1, &e), -1);
        assert_err_has(&e, "line 1006: more than 1000 To: lines", "too many");
        free(big);
    }
}

static void test_p1_body_identical(void **state)
{
    static const uint8_t body[] = "Subject: x\n\nbare LF\nNUL here:\0:there\r\nCR alone\rEND"
                                  "\xff\xfe\x80 high\r\n\r\n\r\n.\r\n";
    const size_t bodylen = sizeof(body) - 1;
    struct po_p1 in, out;
    struct po_p1_addr to = {PO_P1_MS, "MS:CORPNET/HQPO/JSMITH", {"", "", ""}};
    struct sg_buf buf = {0};
    struct po_err e;

    memset(&in, 0, sizeof(in));
    strcpy(in.message_id, "<body@test>");
    in.from.kind = PO_P1_SMTP;
    strcpy(in.from.text, "alice@example.org");
    in.to = &to;
    in.nto = 1;
    strcpy(in.date, "Tue, 2 Jan 2024 00:00:00 +0000");
    if (po_p1_format(&in, body, bodylen, &buf, &e) != 0)
        fail_msg("format refused: %s", e.text);
    assert_int_equal(po_p1_parse(buf.data, buf.len, &out, &e), 0);
    assert_int_equal(out.body_len, bodylen);
    assert_memory_equal(buf.data + out.body_off, body, bodylen);
    assert_int_equal(out.body_off + out.body_len, buf.len);
    po_p1_free(&out);

    /* a body that is only "\r\n" and one that looks like more control lines */
    static const uint8_t tricky[] = "\r\nP1-Version: 1\r\nTo: MS:EVIL/PO/X\r\n";
    buf.len = 0;
    assert_int_equal(po_p1_format(&in, tricky, sizeof(tricky) - 1, &buf, &e), 0);
    assert_int_equal(po_p1_parse(buf.data, buf.len, &out, &e), 0);
    assert_int_equal(out.nto, 1);
    assert_int_equal(out.body_len, sizeof(tricky) - 1);
    assert_memory_equal(buf.data + out.body_off, tricky, sizeof(tricky) - 1);
    po_p1_free(&out);
    sg_buf_free(&buf);
    assert_null(buf.data);
    sg_buf_free(NULL);
}

static void random_token(struct rng *r, char *out, size_t n, const char *alphabet)
{
    size_t a = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rnd_below(r, (uint32_t)a)];
    out[n] = '\0';
}

static void random_name(struct rng *r, char *out)
{
    random_token(r, out, 1 + rnd_below(r, PO_NAME_MAX), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
}

static void random_p1_addr(struct rng *r, struct po_p1_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (rnd_below(r, 2)) {
        struct po_addr m;
        random_name(r, m.network);
        random_name(r, m.postoffice);
        random_name(r, m.mailbox);
        a->kind = PO_P1_MS;
        assert_true(po_legacy_format(&m, a->text, sizeof(a->text)) > 0);
    } else {
        char local[65], dom[64];
        a->kind = PO_P1_SMTP;
        random_token(r, local, 1 + rnd_below(r, 64), "abcXYZ019!#$%&'*+-/=?^_`{|}~");
        random_token(r, dom, 1 + rnd_below(r, 20), "abcdefxyz0189-");
        snprintf(a->text, sizeof(a->text), "%s@%s.example", local, dom);
    }
}

static void test_p1_round_trip(void **state)
{
    struct rng r = {0x9e3779b97f4a7c15ull};
    struct po_p1_addr to[40];
    uint8_t body[600];
    struct sg_buf buf = {0};

    for (int iter = 0; iter < 3000; iter++) {
        struct po_p1 in, out;
        struct po_err e;
        size_t bodylen = 1 + rnd_below(&r, sizeof(body));
        size_t before;

        memset(&in, 0, sizeof(in));
        snprintf(in.message_id, sizeof(in.message_id), "<%u.%d@host%u.example>", rnd(&r), iter,
                 rnd_below(&r, 100));
        random_p1_addr(&r, &in.from);
        in.nto = 1 + rnd_below(&r, iter % 10 == 0 ? 40 : 3);
        for (size_t i = 0; i < in.nto; i++)
            random_p1_addr(&r, &to[i]);
        in.to = to;
        snprintf(in.date, sizeof(in.date), "%s, %u Jan 20%02u 12:%02u:00 +0100",
                 rnd_below(&r, 2) ? "Mon" : "Fri", 1 + rnd_below(&r, 28), rnd_below(&r, 100),
                 rnd_below(&r, 60));
        {
            size_t sl = rnd_below(&r, 5) == 0 ? PO_SUBJECT_MAX : rnd_below(&r, 80);
            for (size_t i = 0; i < sl; i++) {
                uint32_t c = rnd_below(&r, 96);
                in.subject[i] = c == 95 ? '\t' : (char)(0x20 + c);
            }
            in.subject[sl] = '\0';
        }
        for (size_t i = 0; i < bodylen; i++)
            body[i] = (uint8_t)rnd(&r);
        in.body_off = 12345; /* ignored */

        /* appends: keep some junk in front to check that */
        buf.len = 0;
        before = rnd_below(&r, 3);
        for (size_t i = 0; i < before; i++) {
            struct po_p1 dummy = in;
            assert_int_equal(po_p1_format(&dummy, body, 1, &buf, &e), 0);
        }
        before = buf.len;
        if (po_p1_format(&in, body, bodylen, &buf, &e) != 0)
            fail_msg("iteration %d: format refused: %s", iter, e.text);
        if (po_p1_parse(buf.data + before, buf.len - before, &out, &e) != 0)
            fail_msg("iteration %d: parse refused: %s", iter, e.text);
        assert_string_equal(out.message_id, in.message_id);
        assert_int_equal(out.from.kind, in.from.kind);
        assert_string_equal(out.from.text, in.from.text);
        assert_int_equal(out.nto, in.nto);
        for (size_t i = 0; i < in.nto; i++) {
            assert_int_equal(out.to[i].kind, to[i].kind);
            assert_string_equal(out.to[i].text, to[i].text);
            if (to[i].kind == PO_P1_MS) {
                char t[PO_LEGACY_MAX + 1];
                assert_true(po_legacy_format(&out.to[i].ms, t, sizeof(t)) > 0);
                assert_string_equal(t, to[i].text);
            }
        }
        assert_string_equal(out.date, in.date);
        assert_string_equal(out.subject, in.subject);
        assert_int_equal(out.body_len, bodylen);
        assert_memory_equal(buf.data + before + out.body_off, body, bodylen);
        po_p1_free(&out);
    }
    sg_buf_free(&buf);
}

static void test_p1_format_refuses(void **state)
{
    struct po_p1_addr to[2] = {{PO_P1_MS, "MS:CORPNET/HQPO/JSMITH", {"", "", ""}},
                               {PO_P1_SMTP, "bob@example.com", {"", "", ""}}};
    struct po_p1 good, in;
    struct sg_buf buf = {0};
    struct po_err e;
    const uint8_t body[] = "x";

    memset(&good, 0, sizeof(good));
    strcpy(good.message_id, "<a@b>");
    good.from.kind = PO_P1_SMTP;
    strcpy(good.from.text, "alice@example.org");
    good.to = to;
    good.nto = 2;
    strcpy(good.date, "1 Jan 2024");
    strcpy(good.subject, "ok");
    assert_int_equal(po_p1_format(&good, body, 1, &buf, &e), 0);
    {
        const char want[] = "P1-Version: 1\r\nMessage-Id: <a@b>\r\nFrom: SMTP:alice@example.org\r\n"
                            "To: MS:CORPNET/HQPO/JSMITH\r\nTo: SMTP:bob@example.com\r\n"
                            "Date: 1 Jan 2024\r\nSubject: ok\r\n\r\nx";
        assert_int_equal(buf.len, sizeof(want) - 1);
        assert_memory_equal(buf.data, want, sizeof(want) - 1);
        /* The head alone is the same text without the message: the gateway writes the body after it. */
        struct sg_buf head = {0};

        assert_int_equal(po_p1_format_head(&good, 1, &head, &e), 0);
        assert_int_equal(head.len, sizeof(want) - 2);
        assert_memory_equal(head.data, want, sizeof(want) - 2);
        assert_int_equal(po_p1_format_head(&good, 0, &head, &e),
                         -1); /* an empty message is refused */
        assert_int_equal(head.len, sizeof(want) - 2);
        sg_buf_free(&head);
        /* sg_buf_append grows the buffer as it goes (the gateway gathers the streamed body in one). */
        for (int i = 0; i < 70000; i++)
            assert_int_equal(sg_buf_append(&head, "ab", 2), 0);
        assert_int_equal(head.len, 140000);
        assert_memory_equal(head.data + 139998, "ab", 2);
        sg_buf_free(&head);
    }
    size_t keep = buf.len;
    struct po_p1_addr badto;

#define REFUSE(why)                                                 \
    do {                                                            \
        e.text[0] = '\0';                                           \
        assert_int_equal(po_p1_format(&in, body, 1, &buf, &e), -1); \
        assert_err_has(&e, why, why);                               \
        assert_int_equal(buf.len, keep);                            \
    } while (0)

    in = good;
    strcpy(in.subject, "hi\r\nTo: MS:EVIL/PO/X");
    REFUSE("Subject holds CR or LF (header injection refused)");
    in = good;
    strcpy(in.subject, "hi\nX");
    REFUSE("Subject holds CR or LF");
    in = good;
    strcpy(in.subject, "hi\rX");
    REFUSE("Subject holds CR or LF");
    in = good;
    strcpy(in.date, "1 Jan 2024\r\nX-Evil: 1");
    REFUSE("Date holds CR or LF");
    in = good;
    strcpy(in.message_id, "<a@b>\r\nTo: MS:A/B/C");
    REFUSE("Message-Id holds CR or LF");
    in = good;
    strcpy(in.from.text, "alice@example.org\r\nTo: MS:A/B/C");
    REFUSE("From: address holds CR or LF (header injection refused)");
    in = good;
    badto = to[1];
    strcpy(badto.text, "bob@example.com\nX");
    in.to = &badto;
    in.nto = 1;
    REFUSE("To #1: address holds CR or LF");
    in = good;
    strcpy(in.subject, "caf\xc3\xa9");
    REFUSE("Subject holds a control or non-ASCII octet");
    in = good;
    strcpy(in.message_id, "no-brackets");
    REFUSE("bad Message-Id");
    in = good;
    in.message_id[0] = '\0';
    REFUSE("bad Message-Id");
    in = good;
    in.date[0] = '\0';
    REFUSE("Date is empty");
    in = good;
    in.nto = 0;
    REFUSE("no recipients");
    in = good;
    in.to = NULL;
    REFUSE("no recipients");
    in = good;
    in.nto = PO_P1_RCPT_MAX + 1;
    REFUSE("more than 1000 recipients");
    in = good;
    badto = to[0];
    strcpy(badto.text, "MS:CORPNET/HQPO/j.smith");
    in.to = &badto;
    in.nto = 1;
    REFUSE("To #1: bad MS: address");
    in = good;
    badto = to[0];
    strcpy(badto.text, "CORPNET/HQPO/JSMITH");
    in.to = &badto;
    in.nto = 1;
    REFUSE("To #1: MS address must be written");
    in = good;
    badto = to[1];
    badto.text[0] = '\0';
    in.to = &badto;
    in.nto = 1;
    REFUSE("To #1: empty SMTP address");
    in = good;
    badto = to[1];
    badto.kind = (enum po_p1_kind)7;
    in.to = &badto;
    in.nto = 1;
    REFUSE("To #1: unknown address kind 7");
    in = good;
    strcpy(in.from.text, "SMTP:alice@example.org"); /* prefix belongs to the writer */
    REFUSE("From: bad SMTP: address");
    in = good;
    strcpy(in.from.text, "<>");
    REFUSE("From: bad SMTP: address");
    in = good;
    in.from.text[0] = '\0'; /* no null sender in the format */
    REFUSE("From: empty SMTP address");
    in = good;
    memset(in.subject, 'x', sizeof(in.subject)); /* not terminated */
    REFUSE("Subject not terminated");
    in = good;
    e.text[0] = '\0';
    assert_int_equal(po_p1_format(&in, body, 0, &buf, &e), -1);
    assert_err_has(&e, "empty message", "empty body");
    assert_int_equal(po_p1_format(&in, NULL, 5, &buf, &e), -1);
    assert_int_equal(buf.len, keep);
#undef REFUSE
    sg_buf_free(&buf);
}

static void test_p1_names(void **state)
{
    char name[13];

    assert_true(po_p1_name_valid("0A1B2C3D.P1"));
    assert_true(po_p1_name_valid("00000000.P1"));
    assert_true(po_p1_name_valid("FFFFFFFF.P1"));
    assert_false(po_p1_name_valid("0a1b2c3d.P1"));
    assert_false(po_p1_name_valid("0A1B2C3D.p1"));
    assert_false(po_p1_name_valid("0A1B2C3G.P1"));
    assert_false(po_p1_name_valid("0A1B2C3.P1"));
    assert_false(po_p1_name_valid("0A1B2C3DE.P1"));
    assert_false(po_p1_name_valid("0A1B2C3D.P12"));
    assert_false(po_p1_name_valid("0A1B2C3D.TMP"));
    assert_false(po_p1_name_valid("0A1B2C3D.GWK"));
    assert_false(po_p1_name_valid("0A1B2C3D_P1"));
    assert_false(po_p1_name_valid(""));
    assert_false(po_p1_name_valid(NULL));

    po_p1_name_make(0x0A1B2C3Du, name);
    assert_string_equal(name, "0A1B2C3D.P1");
    po_p1_name_make(0, name);
    assert_string_equal(name, "00000000.P1");
    po_p1_name_make(UINT32_MAX, name);
    assert_string_equal(name, "FFFFFFFF.P1");
    for (uint32_t n = 1; n < 0x80000000u; n = n * 3 + 1) {
        memset(name, 'z', sizeof(name));
        po_p1_name_make(n, name);
        assert_true(po_p1_name_valid(name));
        assert_int_equal(strtoul(name, NULL, 16), n);
    }
}

/* ---- fuzzing ------------------------------------------------------------ */

#define FUZZ_ITERS 100000

/* Random bytes, biased towards the characters the parsers care about. */
static size_t fuzz_fill(struct rng *r, uint8_t *buf, size_t max)
{
    static const char interesting[] = "\r\n\t :=/@<>.MS:SMTP:P1-Version1ToFromDateSubjectAZaz09\0";
    size_t n = rnd_below(r, (uint32_t)max + 1);

    for (size_t i = 0; i < n; i++) {
        uint32_t k = rnd_below(r, 4);
        buf[i] = k == 0 ? (uint8_t)rnd(r) : (uint8_t)interesting[rnd_below(r, sizeof(interesting))];
    }
    return n;
}

static void test_fuzz_p1(void **state)
{
    struct rng r = {12345};
    uint8_t *buf = malloc(2048);
    size_t samplelen = sizeof(sample_p1) - 1;
    unsigned ok = 0;

    assert_non_null(buf);
    for (int i = 0; i < FUZZ_ITERS; i++) {
        struct po_p1 p1;
        struct po_err e;
        size_t n;

        if (i % 2) {
            n = fuzz_fill(&r, buf, 300);
        } else { /* mutate the good sample */
            memcpy(buf, sample_p1, samplelen);
            n = samplelen;
            for (uint32_t k = 1 + rnd_below(&r, 4); k; k--) {
                size_t at = rnd_below(&r, (uint32_t)n);
                switch (rnd_below(&r, 3)) {
                case 0:
                    buf[at] = (uint8_t)rnd(&r);
                    break;
                case 1:
                    n = at;
                    break; /* truncate */
                default:
                    buf[at] = (uint8_t) "\r\n\0:@/ "[rnd_below(&r, 7)];
                    break;
                }
            }
        }
        /* a copy of exactly n bytes so ASan sees any over-read */
        uint8_t *exact = malloc(n ? n : 1);
        assert_non_null(exact);
        memcpy(exact, buf, n);
        e.text[0] = '\0';
        if (po_p1_parse(exact, n, &p1, &e) == 0) {
            ok++;
            assert_true(p1.nto >= 1);
            assert_true(p1.body_off + p1.body_len == n);
            assert_true(p1.body_len > 0);
            po_p1_free(&p1);
        } else {
            assert_true(e.text[0] != '\0');
            assert_null(p1.to);
        }
        free(exact);
    }
    assert_true(ok > 0); /* some mutations leave the file valid */
    free(buf);
}

static void test_fuzz_glb(void **state)
{
    struct rng r = {67890};
    uint8_t buf[400];

    for (int i = 0; i < FUZZ_ITERS; i++) {
        struct po_network net;
        struct po_dir dir;
        struct po_err e;
        size_t n = fuzz_fill(&r, buf, sizeof(buf));
        char *exact = malloc(n ? n : 1);

        assert_non_null(exact);
        memcpy(exact, buf, n);
        if (po_network_glb_parse(exact, n, &net, &e) == 0) {
            assert_true(po_name_valid(net.network, strlen(net.network)));
            assert_true(po_name_valid(net.postoffice, strlen(net.postoffice)));
        }
        if (po_address_glb_parse(exact, n, &dir, &e) == 0) {
            for (size_t k = 0; k < dir.count; k++)
                assert_ptr_equal(po_dir_find(&dir, dir.entries[k].mailbox), &dir.entries[k]);
            po_dir_free(&dir);
        } else {
            assert_true(e.text[0] != '\0');
            assert_null(dir.entries);
        }
        free(exact);
    }
}

static void test_fuzz_addresses(void **state)
{
    struct rng r = {424242};
    uint8_t buf[80];

    for (int i = 0; i < FUZZ_ITERS; i++) {
        struct po_addr a;
        struct po_err e;
        char out[IPC_ADDR_MAX + 1], text[81];
        size_t n = fuzz_fill(&r, buf, sizeof(buf) - 1);
        char *exact = malloc(n ? n : 1);

        assert_non_null(exact);
        memcpy(exact, buf, n);
        if (po_legacy_parse(exact, n, &a, &e) == 0) {
            char back[PO_LEGACY_MAX + 1];
            assert_int_equal(po_legacy_format(&a, back, sizeof(back)), (int)n);
            assert_memory_equal(back, exact, n);
        }
        assert_false(po_name_valid(exact, n) && n > PO_NAME_MAX);
        free(exact);

        memcpy(text, buf, n);
        text[n] = '\0';
        if (po_smtp_to_legacy(text, "po.example.org", &hq, &a, &e) == 0) {
            char legacy[PO_LEGACY_MAX + 1];
            assert_true(po_legacy_format(&a, legacy, sizeof(legacy)) > 0);
            assert_int_equal(po_legacy_to_smtp(legacy, "po.example.org", &hq, out), 0);
        }
        if (po_legacy_to_smtp(text, "po.example.org", &hq, out) == 0)
            assert_int_equal(po_smtp_to_legacy(out, "po.example.org", &hq, &a, &e), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_valid),        cmocka_unit_test(test_legacy_parse_and_format),
        cmocka_unit_test(test_network_glb_good),  cmocka_unit_test(test_network_glb_bad),
        cmocka_unit_test(test_address_glb_good),  cmocka_unit_test(test_address_glb_bad),
        cmocka_unit_test(test_smtp_to_legacy),    cmocka_unit_test(test_legacy_to_smtp),
        cmocka_unit_test(test_p1_parse_sample),   cmocka_unit_test(test_p1_bad_files),
        cmocka_unit_test(test_p1_body_identical), cmocka_unit_test(test_p1_round_trip),
        cmocka_unit_test(test_p1_format_refuses), cmocka_unit_test(test_p1_names),
        cmocka_unit_test(test_fuzz_p1),           cmocka_unit_test(test_fuzz_glb),
        cmocka_unit_test(test_fuzz_addresses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
