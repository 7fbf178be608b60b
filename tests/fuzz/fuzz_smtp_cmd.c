/* fuzz_smtp_cmd.c - fuzzes the SMTP command line split and the MAIL/RCPT/BDAT argument parsers (common/smtp_cmd.c, common/smtp_param.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp_addr.h"
#include "smtp_cmd.h"
#include "smtp_envelope.h"
#include "smtp_xtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(int r, const struct smtp_error *e)
{
    if (r == 0)
        return;
    if (r != -1 || e->code < 400 || e->code > 599 || memchr(e->text, '\0', sizeof(e->text)) == NULL)
        abort();
}

/* The MAIL argument that says what m says, parsed again, gives m. */
static void remail(const struct smtp_mail_args *m)
{
    static const char *const body[] = {"", " BODY=7BIT", " BODY=8BITMIME"};
    static const char *const ret[] = {"", " RET=FULL", " RET=HDRS"};
    char a[SMTP_PATH_MAX + SMTP_ENVID_MAX + 128], size[32] = "";
    struct smtp_mail_args again;
    int n;

    if (m->has_size)
        snprintf(size, sizeof(size), " SIZE=%llu", (unsigned long long)m->size);
    n = snprintf(a, sizeof(a), "FROM:<%s>%s%s%s%s%s%s", m->sender, size, body[m->body],
                 m->smtputf8 ? " SMTPUTF8" : "", ret[m->ret], m->envid[0] ? " ENVID=" : "",
                 m->envid);
    if (n < 0 || (size_t)n >= sizeof(a) || smtp_parse_mail(a, (size_t)n, &again, NULL) != 0)
        abort();
    if (strcmp(again.sender, m->sender) != 0 || again.has_size != m->has_size ||
        again.size != m->size || again.body != m->body || again.smtputf8 != m->smtputf8 ||
        again.ret != m->ret || strcmp(again.envid, m->envid) != 0)
        abort();
}

static void check_mail(const char *a, size_t len)
{
    struct smtp_mail_args m;
    struct smtp_error e;
    int r;

    memset(&e, 0, sizeof(e));
    r = smtp_parse_mail(a, len, &m, &e);
    check_error(r, &e);
    if (r != 0)
        return;
    if (memchr(m.sender, '\0', sizeof(m.sender)) == NULL ||
        memchr(m.envid, '\0', sizeof(m.envid)) == NULL)
        abort();
    if (m.sender[0] && !smtp_mailbox_valid(m.sender, strlen(m.sender), m.smtputf8))
        abort(); /* a sender that parsed is a mailbox */
    if (smtp_envelope_sender_check(m.sender, NULL) != 0 ||
        smtp_envelope_envid_check(m.envid, NULL) != 0)
        abort(); /* what smtpd takes, the store takes */
    if ((unsigned)m.body > SMTP_BODY_8BITMIME || (unsigned)m.ret > SMTP_RET_HDRS)
        abort();
    remail(&m);
}

static void check_rcpt(const char *a, size_t len, int utf8)
{
    struct smtp_rcpt_args rc;
    struct smtp_error e;
    int r;

    memset(&e, 0, sizeof(e));
    r = smtp_parse_rcpt(a, len, utf8, &rc, &e);
    check_error(r, &e);
    if (r != 0)
        return;
    if (memchr(rc.rcpt, '\0', sizeof(rc.rcpt)) == NULL ||
        memchr(rc.orcpt, '\0', sizeof(rc.orcpt)) == NULL)
        abort();
    if (strcasecmp(rc.rcpt, "postmaster") != 0 &&
        !smtp_mailbox_valid(rc.rcpt, strlen(rc.rcpt), utf8))
        abort(); /* a recipient that parsed is a mailbox or postmaster */
    if ((rc.notify & SMTP_NOTIFY_NEVER) && rc.notify != SMTP_NOTIFY_NEVER)
        abort(); /* NEVER combined with others is refused */
    if (smtp_envelope_rcpt_check(rc.rcpt, NULL) != 0 ||
        smtp_envelope_orcpt_check(rc.orcpt, NULL) != 0)
        abort(); /* what smtpd takes, the store takes */
}

/* xtext that decodes, encoded again, decodes to the same octets. */
static void check_xtext(const char *s, size_t len)
{
    size_t cap = len + 1;
    char *dec = malloc(cap), *enc = malloc(3 * cap), *again = malloc(cap);
    long n = -1;

    if (!dec || !enc || !again)
        abort();
    if (smtp_xtext_valid(s, len))
        n = smtp_xtext_decode(s, len, dec, cap);
    if (n >= 0 && memchr(dec, '\0', (size_t)n) == NULL) {
        if (smtp_xtext_encode(dec, enc, 3 * cap) != 0 || !smtp_xtext_valid(enc, strlen(enc)) ||
            smtp_xtext_decode(enc, strlen(enc), again, cap) != n || memcmp(again, dec, (size_t)n))
            abort();
    } else if (smtp_xtext_valid(s, len) && n < 0) {
        abort(); /* valid xtext always decodes into len + 1 octets */
    }
    free(dec);
    free(enc);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy without NUL, so any read past len is caught */
    char *line = malloc(size ? size : 1);
    struct smtp_cmd cmd;
    struct smtp_error e;
    uint64_t bsize;
    int last, r;

    if (!line)
        return 0;
    memcpy(line, data, size);
    memset(&e, 0, sizeof(e));
    r = smtp_parse_command(line, size, &cmd, &e);
    check_error(r, &e);
    if (r == 0) {
        if (cmd.verb >= SMTP_V_COUNT || smtp_verb_name(cmd.verb) == NULL)
            abort();
        if (cmd.arg_len && (cmd.arg < line || cmd.arg + cmd.arg_len > line + size))
            abort(); /* the argument lies inside the line */
        switch (cmd.verb) {
        case SMTP_V_MAIL:
            check_mail(cmd.arg, cmd.arg_len);
            break;
        case SMTP_V_RCPT:
            check_rcpt(cmd.arg, cmd.arg_len, 0);
            check_rcpt(cmd.arg, cmd.arg_len, 1);
            break;
        case SMTP_V_BDAT:
            memset(&e, 0, sizeof(e));
            check_error(smtp_parse_bdat(cmd.arg, cmd.arg_len, &bsize, &last, &e), &e);
            break;
        default:
            break;
        }
    }
    /* the argument parsers also on the whole line, as the verb split does not filter it */
    check_mail(line, size);
    check_rcpt(line, size, size & 1);
    check_xtext(line, size);
    free(line);
    return 0;
}
