/* sendmail_smtp.c - sendmail -bs: an SMTP dialogue on stdin and stdout (what some mail clients speak to a local sendmail), each message submitted as the default mode does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "sendmail.h"
#include "smtp_cmd.h"

struct smtp_mode {
    struct sm_ctx *x;
    struct sm_msg m;
    int have_mail;
    char *line;
    size_t cap;
};

static void reply(const char *fmt, const char *arg) __attribute__((format(printf, 1, 0)));
static void reply(const char *fmt, const char *arg)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    printf(fmt, arg); /* every fmt here is a literal with one %s */
#pragma GCC diagnostic pop
    printf("\r\n");
    fflush(stdout);
}

/* The next line without its line end: its length, or -1 at the end of the input. */
static ssize_t next_line(struct smtp_mode *s)
{
    ssize_t n = getline(&s->line, &s->cap, stdin);

    if (n <= 0)
        return -1;
    while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
        s->line[--n] = '\0';
    return n;
}

static void reset(struct smtp_mode *s)
{
    sm_msg_free(&s->m);
    s->have_mail = 0;
}

static void cmd_mail(struct smtp_mode *s, const struct smtp_cmd *c)
{
    struct smtp_mail_args a;
    struct smtp_error e;
    char why[600];

    if (s->have_mail)
        return reply("503 5.5.1 Error: nested MAIL command%s", "");
    if (smtp_parse_mail(c->arg, c->arg_len, &a, &e) < 0)
        return printf("%d %s\r\n", e.code, e.text), (void)fflush(stdout);
    if (sm_sender(s->x, a.sender, &s->m, why, sizeof(why)) < 0)
        return reply("553 5.1.7 %s", why);
    s->m.begin.ret = a.ret == SMTP_RET_FULL   ? IPC_RET_FULL
                     : a.ret == SMTP_RET_HDRS ? IPC_RET_HDRS
                                              : 0;
    snprintf(s->m.begin.envid, sizeof(s->m.begin.envid), "%s", a.envid);
    s->m.begin.flags = (a.body == SMTP_BODY_8BITMIME ? IPC_FLAG_8BITMIME : 0) |
                       (a.smtputf8 ? IPC_FLAG_SMTPUTF8 : 0);
    s->have_mail = 1;
    reply("250 2.1.0 Ok%s", "");
}

/* "TO:<root> ..." as "TO:<root@origin> ...": a local submission's bare names are qualified. */
static size_t qualify_arg(const struct smtp_mode *s, const struct smtp_cmd *c, char *out,
                          size_t outsz)
{
    const char *lt = memchr(c->arg, '<', c->arg_len), *gt;
    int n;

    if (!lt || !(gt = memchr(lt, '>', c->arg_len - (size_t)(lt - c->arg))) || gt == lt + 1 ||
        memchr(lt, '@', (size_t)(gt - lt)))
        return (size_t)snprintf(out, outsz, "%.*s", (int)c->arg_len, c->arg);
    n = snprintf(out, outsz, "%.*s@%s%.*s", (int)(gt - c->arg), c->arg, s->x->origin,
                 (int)(c->arg + c->arg_len - gt), gt);
    return n < 0 || (size_t)n >= outsz ? 0 : (size_t)n;
}

static void cmd_rcpt(struct smtp_mode *s, const struct smtp_cmd *c)
{
    struct smtp_rcpt_args a;
    struct smtp_error e;
    char why[600], arg[1200];
    size_t before = s->m.nrcpt, len = qualify_arg(s, c, arg, sizeof(arg));

    if (!s->have_mail)
        return reply("503 5.5.1 Error: need MAIL command%s", "");
    if (smtp_parse_rcpt(arg, len, 1, &a, &e) < 0)
        return printf("%d %s\r\n", e.code, e.text), (void)fflush(stdout);
    s->m.notify = a.notify;
    if (sm_add_rcpts(s->x, &s->m, a.rcpt, why, sizeof(why)) < 0)
        return reply("553 5.1.3 %s", why);
    if (s->m.nrcpt > before)
        snprintf(s->m.rcpts[before].orcpt, sizeof(s->m.rcpts->orcpt), "%s", a.orcpt);
    reply("250 2.1.5 Ok%s", "");
}

/* The message up to the lone dot, dots unstuffed: 0, or -1 at the end of the input. */
static int read_data(struct smtp_mode *s)
{
    ssize_t n;

    while ((n = next_line(s)) >= 0) {
        const char *p = s->line;
        if (n == 1 && p[0] == '.')
            return 0;
        if (p[0] == '.')
            p++, n--;
        sg_buf_append(&s->m.data, p, (size_t)n);
        sg_buf_append(&s->m.data, "\r\n", 2);
    }
    return -1;
}

static int cmd_data(struct smtp_mode *s)
{
    char why[1200], qid[64];

    if (!s->have_mail || s->m.nrcpt == 0)
        return reply("503 5.5.1 Error: need RCPT command%s", ""), 0;
    reply("354 End data with <CR><LF>.<CR><LF>%s", "");
    if (read_data(s) < 0)
        return -1;
    if ((long long)s->m.data.len > s->x->cfg->store.max_message_size)
        reply("552 5.3.4 Error: message file too big%s", "");
    else if (s->m.data.failed || sm_prepare(s->x, &s->m, why, sizeof(why)) < 0)
        reply("451 4.3.0 Error: %s", s->m.data.failed ? "out of memory" : why);
    else
        switch (sm_submit(s->x, &s->m, qid, sizeof(qid), why, sizeof(why))) {
        case SM_QUEUED:
            reply("250 2.0.0 Ok: queued as %s", qid);
            break;
        case SM_PICKUP:
            reply("250 2.0.0 Ok: kept in the pickup directory as %s (store unavailable)", qid);
            break;
        case SM_REFUSED:
            reply("554 5.0.0 Error: %s", why);
            break;
        case SM_FAILED:
            reply("451 4.3.0 Error: %s", why);
        }
    reset(s);
    return 0;
}

static void cmd_ehlo(struct smtp_mode *s, int esmtp)
{
    if (!esmtp)
        return reply("250 %s", s->x->hostname);
    printf("250-%s\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n",
           s->x->hostname);
    fflush(stdout);
}

/* One command: 1 when the dialogue ends. */
static int command(struct smtp_mode *s, size_t n)
{
    struct smtp_cmd c;
    struct smtp_error e;

    if (smtp_parse_command(s->line, n, &c, &e) < 0)
        return printf("%d %s\r\n", e.code, e.text), fflush(stdout), 0;
    switch (c.verb) {
    case SMTP_V_EHLO:
    case SMTP_V_HELO:
        reset(s);
        cmd_ehlo(s, c.verb == SMTP_V_EHLO);
        return 0;
    case SMTP_V_MAIL:
        return cmd_mail(s, &c), 0;
    case SMTP_V_RCPT:
        return cmd_rcpt(s, &c), 0;
    case SMTP_V_DATA:
        return cmd_data(s) < 0;
    case SMTP_V_RSET:
        reset(s);
        return reply("250 2.0.0 Ok%s", ""), 0;
    case SMTP_V_NOOP:
        return reply("250 2.0.0 Ok%s", ""), 0;
    case SMTP_V_VRFY:
        return reply("252 2.0.0 Send some mail, I'll try my best%s", ""), 0;
    case SMTP_V_QUIT:
        return reply("221 2.0.0 Bye%s", ""), 1;
    default:
        return reply("502 5.5.2 Error: command not recognized%s", ""), 0;
    }
}

int sm_smtp(struct sm_ctx *x)
{
    struct smtp_mode s = {.x = x};
    ssize_t n;

    reply("220 %s ESMTP spoolgate (sendmail -bs)", x->hostname);
    while ((n = next_line(&s)) >= 0)
        if (command(&s, (size_t)n))
            break;
    reset(&s);
    free(s.line);
    return EX_OK;
}
