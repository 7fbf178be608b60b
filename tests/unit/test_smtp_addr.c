/* test_smtp_addr.c - unit tests of the one address validator (each flag refused and accepted, reasons, paths) and of xtext both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

#include "smtp_addr.h"
#include "smtp_envelope.h"
#include "smtp_xtext.h"

/* ---- helpers --------------------------------------------------------------- */

/* smtp_addr_check on an exact copy of the NUL-terminated s; *why is "" on success. */
static int check(const char *s, unsigned flags, const char **why)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    const char *w = "";
    int r = smtp_addr_check(p, n, flags, &w);

    free(p);
    *why = r == 0 ? "" : w;
    return r;
}

#define ACCEPTED(s, flags)                                                              \
    do {                                                                                \
        const char *w_;                                                                 \
        if (check((s), (flags), &w_) != 0)                                              \
            fail_msg("\"%s\" with flags 0x%x refused: %s", (s), (unsigned)(flags), w_); \
    } while (0)

#define REFUSED(s, flags, reason)                                                \
    do {                                                                         \
        const char *w_;                                                          \
        if (check((s), (flags), &w_) != -1)                                      \
            fail_msg("\"%s\" with flags 0x%x accepted", (s), (unsigned)(flags)); \
        assert_non_null(w_);                                                     \
        if (strstr(w_, (reason)) == NULL)                                        \
            fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", (s), w_, (reason));   \
    } while (0)

/* n copies of c followed by a NUL, into out. */
static char *fill(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
    return out;
}

/* ---- each flag: refused without it or with it, accepted the other way ------ */

#define Q SMTP_ADDR_NO_QUOTED
#define L SMTP_ADDR_NO_LITERAL
#define U SMTP_ADDR_UTF8
#define N SMTP_ADDR_NULL
#define H SMTP_ADDR_LAX_HYPHEN

/* why NULL: accepted with those flags; else refused with a reason holding why. */
static const struct flag_case {
    const char *addr;
    unsigned flags;
    const char *why;
} flag_cases[] = {
    /* SMTP_ADDR_NO_QUOTED */
    {"\"john doe\"@example.org", 0, NULL},
    {"\"a\\\"b\"@example.org", 0, NULL},
    {"\"john doe\"@example.org", Q, "quoted local parts are not carried"},
    {"a\"b\"@example.org", Q, "quoted local parts are not carried"},
    {"a\"b\"@example.org", 0, "bad character in local part"},
    {"john.doe@example.org", Q, NULL},
    {"\"\"@example.org", 0, "bad quoted local part"},
    {"\"ab\"x@example.org", 0, "junk after the quoted local part"},
    /* SMTP_ADDR_NO_LITERAL */
    {"x@[192.0.2.1]", 0, NULL},
    {"x@[IPv6:2001:db8::1]", 0, NULL},
    {"x@[ipv6:::1]", 0, NULL},
    {"x@[192.0.2.1]", L, "address literals are not carried"},
    {"x@[IPv6:2001:db8::1]", L, "address literals are not carried"},
    {"x@[300.0.2.1]", 0, "bad address literal"},
    {"x@[tag:stuff]", 0, "bad address literal"},
    {"x@[192.0.2.1", 0, "bad address literal"},
    {"x@example.org", L, NULL},
    /* SMTP_ADDR_UTF8: UTF-8, not any octet >= 0x80 */
    {"j\xc3\xb6rg@example.org", 0, "bad character in local part"},
    {"jorg@ex\xc3\xa4mple.org", 0, "bad character in domain"},
    {"\"j\xc3\xb6rg\"@example.org", 0, "bad quoted local part"},
    {"j\xc3\xb6rg@example.org", U, NULL},
    {"jorg@ex\xc3\xa4mple.org", U, NULL},
    {"\"j\xc3\xb6rg\"@example.org", U, NULL},
    {"\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b\xe3\x81\x88.jp", U, NULL},
    {"j\xc3(rg@example.org", U, "bad character in local part"},
    {"j\xc3@example.org", U, "address is not valid UTF-8"},
    {"j@ex\xff.org", U, "domain is not valid UTF-8"},
    {"j@ex\xed\xa0\x80.org", U, "domain is not valid UTF-8"}, /* a surrogate */
    {"j@ex\xc0\x80.org", U, "domain is not valid UTF-8"},     /* overlong */
    /* SMTP_ADDR_NULL: the empty address only */
    {"", 0, "empty address"},
    {"", N, NULL},
    {"@", N, "empty local part"},
    {"a@", N, "empty domain"},
    /* SMTP_ADDR_LAX_HYPHEN: hyphens only; empty labels and other octets stay refused */
    {"a@-x.example", 0, "domain label begins or ends with '-'"},
    {"a@x-.example", 0, "domain label begins or ends with '-'"},
    {"a@x.example-", 0, "domain label begins or ends with '-'"},
    {"a@-x.example", H, NULL},
    {"a@x-.example", H, NULL},
    {"a@-.example", H, NULL},
    {"a@x-y.example", 0, NULL},
    {"a@x..example", H, "empty label in domain"},
    {"a@x_y.example", H, "bad character in domain"},
};

#undef Q
#undef L
#undef U
#undef N
#undef H

static void test_flags(void **state)
{
    const char *w = "unset";

    (void)state;
    for (size_t i = 0; i < sizeof(flag_cases) / sizeof(flag_cases[0]); i++) {
        if (flag_cases[i].why == NULL)
            ACCEPTED(flag_cases[i].addr, flag_cases[i].flags);
        else
            REFUSED(flag_cases[i].addr, flag_cases[i].flags, flag_cases[i].why);
    }
    assert_int_equal(smtp_mailbox_valid("j\xc3\xb6rg@example.org", 16, 1), 1);
    assert_int_equal(smtp_mailbox_valid("j\xc3\xb6rg@example.org", 16, 0), 0);
    assert_int_equal(smtp_addr_check(NULL, 0, 0, &w), -1);
    assert_string_equal(w, "empty address");
    assert_int_equal(smtp_addr_check(NULL, 0, SMTP_ADDR_NULL, NULL), 0);
}

static void test_flag_lax_length(void **state)
{
    char local[80], label[80], dom[400], addr[800];
    const char *w;

    (void)state;
    fill(local, 'l', 64);
    fill(label, 'd', 63);
    /* 64 + 1 + 189 = 254: the most RFC 5321 allows */
    snprintf(dom, sizeof(dom), "%s.%s.%.61s", label, label, label);
    assert_int_equal(strlen(dom), 189);
    snprintf(addr, sizeof(addr), "%s@%s", local, dom);
    ACCEPTED(addr, 0);
    snprintf(addr, sizeof(addr), "%s@%sd", local, dom);
    REFUSED(addr, 0, "address too long");
    ACCEPTED(addr, SMTP_ADDR_LAX_LENGTH);
    /* 64 + 1 + 255 = 320 */
    snprintf(dom, sizeof(dom), "%s.%s.%s.%s", label, label, label, label);
    assert_int_equal(strlen(dom), 255);
    snprintf(addr, sizeof(addr), "%s@%s", local, dom);
    REFUSED(addr, 0, "address too long");
    ACCEPTED(addr, SMTP_ADDR_LAX_LENGTH);
    snprintf(addr, sizeof(addr), "%s@%sd", local, dom);
    REFUSED(addr, SMTP_ADDR_LAX_LENGTH, "address too long");
    /* the parts keep their limits */
    snprintf(addr, sizeof(addr), "a@%sd", dom);
    REFUSED(addr, SMTP_ADDR_LAX_LENGTH, "domain longer than 255 octets");
    snprintf(addr, sizeof(addr), "%sl@x.example", local);
    REFUSED(addr, SMTP_ADDR_LAX_LENGTH, "local part longer than 64 octets");
    REFUSED(addr, 0, "local part longer than 64 octets");
    snprintf(addr, sizeof(addr), "a@%sd.example", label);
    REFUSED(addr, SMTP_ADDR_LAX_LENGTH, "domain label longer than 63 octets");
    assert_int_equal(check(addr, SMTP_ADDR_LAX_LENGTH | SMTP_ADDR_LAX_HYPHEN, &w), -1);
}

/* ---- reasons for the common mistakes ---------------------------------------- */

static void test_reasons(void **state)
{
    static const struct {
        const char *addr, *why;
    } cases[] = {
        {"alice", "no '@' in address"},
        {"<>", "no '@' in address"},
        {"alice.", "no '@' in address"},
        {"@example.org", "empty local part"},
        {"alice@", "empty domain"},
        {"alice.@example.org", "misplaced '.' in local part"},
        {".alice@example.org", "misplaced '.' in local part"},
        {"al..ice@example.org", "misplaced '.' in local part"},
        {"bob smith@example.com", "bad character in local part"},
        {"<alice@example.org>", "bad character in local part"},
        {"al. ice@example.org", "bad character in local part"},
        {"alice@example..org", "empty label in domain"},
        {"alice@.example.org", "empty label in domain"},
        {"alice@example.org.", "empty label in domain"},
        {"alice@exa mple.org", "bad character in domain"},
        {"a@b@c.example", "bad character in domain"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        REFUSED(cases[i].addr, 0, cases[i].why);
        REFUSED(cases[i].addr,
                SMTP_ADDR_NO_QUOTED | SMTP_ADDR_NO_LITERAL | SMTP_ADDR_LAX_HYPHEN |
                    SMTP_ADDR_LAX_LENGTH | SMTP_ADDR_UTF8,
                cases[i].why);
    }
    /* why may be NULL; the length is honoured, NULs are octets */
    assert_int_equal(smtp_addr_check("a@b.example", 11, 0, NULL), 0);
    assert_int_equal(smtp_addr_check("a@b.example", 3, 0, NULL), 0);
    assert_int_equal(smtp_addr_check("a@b.example", 2, 0, NULL), -1);
    assert_int_equal(smtp_addr_check("a\0b@c", 5, 0, NULL), -1);
    assert_int_equal(smtp_addr_check("a@c\0", 4, 0, NULL), -1);
}

static void test_domain_check(void **state)
{
    char label[80], dom[400];
    const char *w = NULL;

    (void)state;
    assert_int_equal(smtp_domain_check("example.org", 11, 0, NULL), 0);
    assert_int_equal(smtp_domain_check("localhost", 9, 0, NULL), 0);
    assert_int_equal(smtp_domain_check("", 0, 0, &w), -1);
    assert_string_equal(w, "empty domain");
    assert_int_equal(smtp_domain_check("example.org.", 12, 0, &w), -1);
    assert_string_equal(w, "empty label in domain");
    assert_int_equal(smtp_domain_check("[1.2.3.4]", 9, 0, &w), -1);
    assert_string_equal(w, "bad character in domain");
    fill(label, 'x', 63);
    assert_int_equal(smtp_domain_check(label, 63, 0, NULL), 0);
    fill(label, 'x', 64);
    assert_int_equal(smtp_domain_check(label, 64, 0, &w), -1);
    assert_string_equal(w, "domain label longer than 63 octets");
    fill(label, 'x', 63);
    snprintf(dom, sizeof(dom), "%s.%s.%s.%s", label, label, label, label);
    assert_int_equal(smtp_domain_check(dom, 255, 0, NULL), 0);
    strcat(dom, "x");
    assert_int_equal(smtp_domain_check(dom, 256, 0, &w), -1);
    assert_string_equal(w, "domain longer than 255 octets");
    assert_int_equal(smtp_domain_check("-a.example", 10, 0, NULL), -1);
    assert_int_equal(smtp_domain_check("-a.example", 10, SMTP_ADDR_LAX_HYPHEN, NULL), 0);
    assert_int_equal(smtp_domain_check("\xc3\xa4.example", 10, 0, NULL), -1);
    assert_int_equal(smtp_domain_check("\xc3\xa4.example", 10, SMTP_ADDR_UTF8, NULL), 0);
}

/* ---- paths ------------------------------------------------------------------ */

/* smtp_path_parse on an exact copy: 0 with the mailbox in mb, or -1. */
static int path(const char *s, unsigned flags, char *mb, size_t *end)
{
    size_t n = strlen(s), off = 99, mlen = 99, e = 99;
    char *p = exact(s, n);
    int r = smtp_path_parse(p, n, 0, flags, &off, &mlen, &e);

    if (r == 0) {
        assert_true(off + mlen < e && e <= n);
        memcpy(mb, p + off, mlen);
        mb[mlen] = '\0';
        *end = e;
    }
    free(p);
    return r;
}

static void test_path_flags(void **state)
{
    char mb[300], big[1400];
    size_t end = 0;

    (void)state;
    /* SMTP_ADDR_NULL: the null path */
    assert_int_equal(path("<>", 0, mb, &end), -1);
    assert_int_equal(path("<>", SMTP_ADDR_NULL, mb, &end), 0);
    assert_string_equal(mb, "");
    assert_int_equal(end, 2);
    /* SMTP_ADDR_POSTMASTER: <postmaster> without a domain, any case */
    assert_int_equal(path("<postmaster>", 0, mb, &end), -1);
    assert_int_equal(path("<PostMaster>", SMTP_ADDR_POSTMASTER, mb, &end), 0);
    assert_string_equal(mb, "PostMaster");
    assert_int_equal(path("<postmasters>", SMTP_ADDR_POSTMASTER, mb, &end), -1);
    assert_int_equal(path("<postmaster@example.org>", 0, mb, &end), 0);
    assert_string_equal(mb, "postmaster@example.org");
    /* the mailbox flags apply inside the path, and to the route */
    assert_int_equal(path("<\"a b\"@example.org>", 0, mb, &end), 0);
    assert_string_equal(mb, "\"a b\"@example.org");
    assert_int_equal(path("<\"a b\"@example.org>", SMTP_ADDR_NO_QUOTED, mb, &end), -1);
    assert_int_equal(path("<u@[192.0.2.1]>", SMTP_ADDR_NO_LITERAL, mb, &end), -1);
    assert_int_equal(path("<u@-x.example>", 0, mb, &end), -1);
    assert_int_equal(path("<u@-x.example>", SMTP_ADDR_LAX_HYPHEN, mb, &end), 0);
    assert_int_equal(path("<@r\xc3\xa4.example:u@x.example>", 0, mb, &end), -1);
    assert_int_equal(path("<@r\xc3\xa4.example:u@x.example>", SMTP_ADDR_UTF8, mb, &end), 0);
    assert_string_equal(mb, "u@x.example");
    /* route dropped; '>' inside quotes does not close; trailing text left */
    assert_int_equal(path("<@a.example,@b.example:u@c.example> SIZE=1", 0, mb, &end), 0);
    assert_string_equal(mb, "u@c.example");
    assert_int_equal(end, 35);
    assert_int_equal(path("<\"a>b\"@c.example>", 0, mb, &end), 0);
    assert_string_equal(mb, "\"a>b\"@c.example");
    assert_int_equal(path("<@a.example:>", SMTP_ADDR_NULL, mb, &end), -1);
    assert_int_equal(path("<@a.example u@c.example>", 0, mb, &end), -1);
    assert_int_equal(path("<u@c.example", 0, mb, &end), -1);
    assert_int_equal(path("u@c.example>", 0, mb, &end), -1);
    /* at most SMTP_PATH_MAX octets with the brackets, whatever the flags */
    snprintf(big, sizeof(big), "<@%s.example:u@x.example>", fill(mb, 'r', 63));
    assert_int_equal(path(big, 0, mb, &end), 0);
    snprintf(big, sizeof(big), "<@%s.%s.%s.%s:u@x.example>", fill(mb, 'r', 63), mb, mb, mb);
    assert_int_equal(path(big, SMTP_ADDR_LAX_LENGTH, mb, &end), -1);
}

/* ---- the flags against each other on random input ---------------------------- */

static void test_flags_fuzz(void **state)
{
    static const char alphabet[] = "aZ9.@-\"\\ []:_!+=\x80\xc3\xa4\xff";
    uint64_t seed = 0x5eed5eedull;
    char buf[96];

    (void)state;
    for (int it = 0; it < 200000; it++) {
        size_t n = rng_next(&seed) % 40;
        int strict, plain, lax, utf8;
        const char *w = NULL;

        for (size_t i = 0; i < n; i++) {
            uint64_t k = rng_next(&seed);
            buf[i] = (k & 3) ? alphabet[(k >> 2) % (sizeof(alphabet) - 1)] : (char)(k >> 8);
        }
        if (it % 3 == 0 && n > 2) /* often a plausible shape */
            buf[n / 2] = '@';
        {
            char *p = exact(buf, n);

            strict = smtp_addr_check(p, n, SMTP_ADDR_NO_QUOTED | SMTP_ADDR_NO_LITERAL, NULL) == 0;
            plain = smtp_addr_check(p, n, 0, &w) == 0;
            lax = smtp_addr_check(p, n, SMTP_ADDR_LAX_HYPHEN | SMTP_ADDR_LAX_LENGTH, NULL) == 0;
            utf8 = smtp_addr_check(p, n, SMTP_ADDR_UTF8, NULL) == 0;
            assert_int_equal(plain, smtp_mailbox_valid(p, n, 0));
            assert_int_equal(utf8, smtp_mailbox_valid(p, n, 1));
            free(p);
        }
        /* a refusing flag only refuses more, an accepting flag only accepts more */
        assert_true(!strict || plain);
        assert_true(!plain || lax);
        assert_true(!plain || utf8);
        if (!plain)
            assert_true(w != NULL && w[0] != '\0');
    }
}

/* ---- xtext -------------------------------------------------------------------- */

/* smtp_xtext_decode on an exact copy of the NUL-terminated s. */
static long decode(const char *s, char *out, size_t outsz)
{
    size_t n = strlen(s);
    char *p = exact(s, n);
    long r = smtp_xtext_decode(p, n, out, outsz);

    free(p);
    return r;
}

static void test_xtext_decode(void **state)
{
    static const struct {
        const char *xtext, *octets;
        size_t len;
    } good[] = {
        {"abc", "abc", 3},
        {"a+2Bb+3Dc", "a+b=c", 5},
        {"rfc822;user+2Btag@example.com", "rfc822;user+tag@example.com", 27},
        {"+20+7F+C3+A9", " \x7f\xc3\xa9", 4},
        {"x+00y", "x\0y", 3}, /* a NUL octet inside */
        {"+41", "A", 1},      /* any octet may be encoded */
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(decode(good[i].xtext, out, sizeof(out)), (long)good[i].len);
        assert_memory_equal(out, good[i].octets, good[i].len + 1);
    }
    assert_int_equal(decode("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(smtp_xtext_decode(NULL, 0, out, sizeof(out)), 0);
    /* not xtext: the output is "" */
    static const char *const bad[] = {"a+2b", "a=b", "+2", "+", "a b", "+G0", "\x80", "a\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(out, "junk");
        assert_int_equal(decode(bad[i], out, sizeof(out)), -1);
        assert_string_equal(out, "");
        assert_int_equal(smtp_xtext_valid(bad[i], strlen(bad[i])), 0);
    }
    assert_int_equal(smtp_xtext_decode("a\0b", 3, out, sizeof(out)), -1);
    /* room: the result and a NUL */
    assert_int_equal(decode("abc", out, 4), 3);
    assert_int_equal(decode("abc", out, 3), -1);
    assert_string_equal(out, "");
    assert_int_equal(decode("+2B+2B", out, 3), 2);
    assert_int_equal(decode("+2B+2B", out, 2), -1);
    assert_int_equal(decode("", out, 1), 0);
    assert_int_equal(decode("", out, 0), -1);
    assert_int_equal(decode("a", NULL, 10), -1);
}

static void test_xtext_round_trip(void **state)
{
    uint64_t seed = 0x7e47ull;
    char s[120], enc[400], dec[130], enc2[400], dec2[130];

    (void)state;
    for (int it = 0; it < 50000; it++) {
        size_t n = rng_next(&seed) % 100;
        long dl;

        /* any octets but NUL: encode, then decode gives them back */
        for (size_t i = 0; i < n; i++) {
            uint64_t k = rng_next(&seed);
            s[i] = (k & 1) ? "+=a ~!\x7f"[(k >> 1) % 7] : (char)(1 + (k >> 8) % 255);
        }
        s[n] = '\0';
        assert_int_equal(smtp_xtext_encode(s, enc, sizeof(enc)), 0);
        assert_int_equal(smtp_xtext_valid(enc, strlen(enc)), 1);
        dl = smtp_xtext_decode(enc, strlen(enc), dec, sizeof(dec));
        assert_int_equal(dl, (long)n);
        assert_memory_equal(dec, s, n + 1);

        /* random xtext (no "+00"): decode, encode, decode again gives the same octets */
        {
            size_t m = 0;
            int want = (int)(rng_next(&seed) % 40);

            for (int k = 0; k < want; k++) {
                uint64_t r = rng_next(&seed);
                if (r & 1)
                    m += (size_t)snprintf(enc + m, sizeof(enc) - m, "+%02X",
                                          (unsigned)(1 + (r >> 1) % 255));
                else
                    enc[m++] =
                        (char)(33 + (r >> 1) % 94) == '+' || (char)(33 + (r >> 1) % 94) == '='
                            ? 'q'
                            : (char)(33 + (r >> 1) % 94);
            }
            enc[m] = '\0';
            assert_int_equal(smtp_xtext_valid(enc, m), 1);
            dl = smtp_xtext_decode(enc, m, dec, sizeof(dec));
            assert_true(dl >= 0 && (size_t)dl <= m);
            assert_int_equal(smtp_xtext_encode(dec, enc2, sizeof(enc2)), 0);
            assert_int_equal(smtp_xtext_decode(enc2, strlen(enc2), dec2, sizeof(dec2)), dl);
            assert_memory_equal(dec2, dec, (size_t)dl + 1);
        }
    }
}

/* xtext_valid and xtext_decode agree on what is xtext. */
static void test_xtext_fuzz(void **state)
{
    static const char alphabet[] = "+0123456789ABCDEFabcdef= \x7f\x80~!";
    uint64_t seed = 0xc0ffeeull;
    char buf[64], out[64];

    (void)state;
    for (int it = 0; it < 100000; it++) {
        size_t n = rng_next(&seed) % 20;
        char *p;

        for (size_t i = 0; i < n; i++)
            buf[i] = alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
        p = exact(buf, n);
        assert_int_equal(smtp_xtext_valid(p, n), smtp_xtext_decode(p, n, out, sizeof(out)) >= 0);
        free(p);
    }
}

/* ---- the envelope any submitter may store (smtp_envelope.h) ------------ */

static void test_envelope_accepts_every_submitters_form(void **state)
{
    static const char *const senders[] = {
        "",                           /* the null sender (DSNs) */
        "alice@sender.test",          /* smtpd */
        "\"john smith\"@example.com", /* quoted local part */
        "a@[192.0.2.1]",              /* address literal */
        "jörg@bücher.test",           /* SMTPUTF8 */
        "jsmith@-po-.test",           /* the postoffice's lax labels */
        "root@localhost",             /* spoolgate-sendmail's default */
    };
    const char *why = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++)
        if (smtp_envelope_sender_check(senders[i], &why) < 0)
            fail_msg("sender \"%s\" refused: %s", senders[i], why);
    for (size_t i = 1; i < sizeof(senders) / sizeof(senders[0]); i++)
        assert_int_equal(smtp_envelope_rcpt_check(senders[i], NULL), 0);
    assert_int_equal(smtp_envelope_rcpt_check("postmaster", NULL), 0);
    assert_int_equal(smtp_envelope_rcpt_check("PostMaster", NULL), 0);
    assert_int_equal(smtp_envelope_envid_check("", NULL), 0);
    assert_int_equal(smtp_envelope_envid_check("QQ+2B314", NULL), 0);
    assert_int_equal(smtp_envelope_orcpt_check("", NULL), 0);
    assert_int_equal(smtp_envelope_orcpt_check("rfc822;bob+40example.net", NULL), 0);
}

static void test_envelope_refuses_what_breaks_a_command(void **state)
{
    static const char *const bad[] = {
        "a@sender.test>\r\nRCPT TO:<injected@evil.test", /* the issue's injection */
        "a@sender.test\n",
        "a\r@b.test",
        "\"a\r\nb\"@b.test", /* a line break inside quotes */
        "a@b.test\x7f",
        "a@b.test\t",
        "<a@b.test>", /* angle brackets are the command's, not the address's */
        "a b@c.test",
        "nodomain",
    };
    const char *why = NULL;
    char envid[120], orcpt[600];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (smtp_envelope_sender_check(bad[i], &why) == 0)
            fail_msg("sender \"%s\" accepted", bad[i]);
        assert_non_null(why);
        why = NULL;
        if (smtp_envelope_rcpt_check(bad[i], &why) == 0)
            fail_msg("recipient \"%s\" accepted", bad[i]);
        assert_non_null(why);
    }
    assert_int_equal(smtp_envelope_sender_check("a\r\n@b.test", &why), -1);
    assert_string_equal(why, "control character (CR, LF or other) in the address");
    assert_int_equal(smtp_envelope_rcpt_check("", &why), -1);
    assert_string_equal(why, "empty recipient address");
    assert_int_equal(smtp_envelope_envid_check("a\r\nb", &why), -1);
    assert_int_equal(smtp_envelope_envid_check("a b", &why), -1);
    memset(envid, 'x', 101);
    envid[101] = 0;
    assert_int_equal(smtp_envelope_envid_check(envid, &why), -1);
    assert_string_equal(why, "ENVID longer than 100 octets");
    assert_int_equal(smtp_envelope_orcpt_check("rfc822;a\r\nRSET", &why), -1);
    assert_int_equal(smtp_envelope_orcpt_check("bob@example.net", &why), -1);
    assert_int_equal(smtp_envelope_orcpt_check(";x", &why), -1);
    memcpy(orcpt, "rfc822;", 7);
    memset(orcpt + 7, 'x', 500);
    orcpt[507] = 0;
    assert_int_equal(smtp_envelope_orcpt_check(orcpt, &why), -1);
}

/* ---- EHLO/HELO names ----------------------------------------------------- */

static void test_helo_check(void **state)
{
    static const char *const good[] = {
        "mx.example.org", "localhost", "a",           "mx.example.org.",    "BUILD_07.corp.example",
        "x-1.example",    "1.2.3.4",   "[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]",
    };
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"mx..example", "empty label in domain"},
        {".mx.example", "empty label in domain"},
        {"mx.example..", "empty label in domain"},
        {".", "empty label in domain"},
        {"-mx.example", "begins or ends with '-'"},
        {"mx-.example", "begins or ends with '-'"},
        {"bad(x)name", "bad character in domain"},
        {"a\tb", "bad character in domain"},
        {"a b", "bad character in domain"},
        {"caf\xc3\xa9.example", "bad character in domain"},
        {"[300.0.0.1]", "bad address literal"},
        {"[192.0.2.1", "bad address literal"},
        {"[tag:stuff]", "bad address literal"},
        {"[]", "bad address literal"},
    };
    char label[80], name[300];
    const char *why;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *p = exact(good[i], strlen(good[i]));

        why = "";
        if (smtp_helo_check(p, strlen(good[i]), &why) != 0)
            fail_msg("\"%s\" refused: %s", good[i], why);
        free(p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *p = exact(bad[i].name, strlen(bad[i].name));

        why = NULL;
        if (smtp_helo_check(p, strlen(bad[i].name), &why) != -1)
            fail_msg("\"%s\" accepted", bad[i].name);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", bad[i].name, why ? why : "", bad[i].why);
        free(p);
    }
    snprintf(name, sizeof(name), "%s.example", fill(label, 'a', 63));
    assert_int_equal(smtp_helo_check(name, strlen(name), &why), 0);
    snprintf(name, sizeof(name), "%s.example", fill(label, 'a', 64));
    assert_int_equal(smtp_helo_check(name, strlen(name), &why), -1);
    assert_string_equal(why, "domain label longer than 63 octets");
    for (size_t i = 0; i < 258; i += 2)
        memcpy(name + i, "a.", 2);
    assert_int_equal(smtp_helo_check(name, 255, &why), 0);
    assert_int_equal(smtp_helo_check(name, 257, &why), -1);
    assert_string_equal(why, "domain longer than 255 octets");
    assert_int_equal(smtp_helo_check("", 0, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_flag_lax_length),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_domain_check),
        cmocka_unit_test(test_helo_check),
        cmocka_unit_test(test_path_flags),
        cmocka_unit_test(test_flags_fuzz),
        cmocka_unit_test(test_xtext_decode),
        cmocka_unit_test(test_xtext_round_trip),
        cmocka_unit_test(test_xtext_fuzz),
        cmocka_unit_test(test_envelope_accepts_every_submitters_form),
        cmocka_unit_test(test_envelope_refuses_what_breaks_a_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
