/* router_smtp_envelope.c - what a transaction sends before its data: MAIL FROM with its parameters and RCPT TO per recipient, after refusing what the server said it cannot take; UTF-8 domains go as A-labels to a server without SMTPUTF8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qid.h"
#include "router.h"
#include "router_idna.h"
#include "router_smtp.h"

/* The address as this transaction sends it: as received, or with A-labels (ascii_envelope). */
static const char *envelope_addr(const struct smtp_conn *c, const char *addr, char *buf,
                                 size_t bufsz)
{
    char why[200];

    if (!c->ascii_envelope || router_idna_addr(addr, buf, bufsz, why, sizeof(why)) != 0)
        return addr; /* checked convertible by router_smtp_envelope_check */
    return buf;
}

/* Without SMTPUTF8 at the server, an envelope with UTF-8 only in its domains goes with them as
 * A-labels (RFC 6531 3.2: the same addresses, in ASCII); a UTF-8 local part has no ASCII form and
 * is refused, naming it.  0, or -1 with text. */
static int envelope_to_ascii(struct smtp_conn *c, char *text, size_t textsz)
{
    const struct msg *m = c->job->m;
    char out[IPC_ADDR_MAX + 1], why[200];
    int rc = router_idna_addr(m->env.sender, out, sizeof(out), why, sizeof(why));
    const char *addr = m->env.sender;

    for (unsigned i = 0; rc == 0 && i < c->job->n; i++) {
        addr = m->rcpts[c->job->idx[i]].r.addr;
        rc = router_idna_addr(addr, out, sizeof(out), why, sizeof(why));
    }
    if (rc == ROUTER_IDNA_UTF8_LOCAL)
        snprintf(text, textsz,
                 "5.6.7 %s does not support SMTPUTF8 and <%s> has a UTF-8 local part, which no "
                 "ASCII form can carry (RFC 6531)",
                 c->remote, addr);
    else if (rc < 0)
        snprintf(text, textsz,
                 "5.6.7 %s does not support SMTPUTF8 and the domain of <%s> has no valid A-label "
                 "form (IDNA: %s)",
                 c->remote, addr, why);
    c->ascii_envelope = rc == 0;
    return rc == 0 ? 0 : -1;
}

int router_smtp_envelope_check(struct smtp_conn *c, char *status, size_t statussz, char *text,
                               size_t textsz)
{
    const struct ipc_envelope *e = &c->job->m->env;
    const char *st = NULL;

    int seven_bit_only = (e->flags & IPC_FLAG_8BITMIME) && !(c->caps.flags & EHLO_8BITMIME);

    c->ascii_envelope = 0;
    /* re-encoded quoted-printable on the way (mime7.c), or refused */
    c->body.convert = seven_bit_only && c->r->cfg->router.convert_8bit;
    if (c->caps.size_limit && e->size > c->caps.size_limit) {
        snprintf(text, textsz, "5.3.4 message size %llu exceeds the limit %llu of %s",
                 (unsigned long long)e->size, (unsigned long long)c->caps.size_limit, c->remote);
        st = "5.3.4";
    } else if (seven_bit_only && !c->body.convert) {
        snprintf(text, textsz,
                 "5.6.3 %s does not accept 8-bit messages (no 8BITMIME) and "
                 "conversion to 7 bit is off (router.convert_8bit)",
                 c->remote);
        st = "5.6.3";
    } else if ((e->flags & IPC_FLAG_SMTPUTF8) && !(c->caps.flags & EHLO_SMTPUTF8) &&
               envelope_to_ascii(c, text, textsz) < 0) {
        st = "5.6.7";
    }
    if (!st)
        return 0;
    snprintf(status, statussz, "%s", st);
    return -1;
}

static const char *notify_text(unsigned notify, char *buf, size_t bufsz)
{
    if (notify & IPC_NOTIFY_NEVER)
        return "NEVER";
    snprintf(buf, bufsz, "%s%s%s%s%s", notify & IPC_NOTIFY_SUCCESS ? "SUCCESS" : "",
             (notify & IPC_NOTIFY_SUCCESS) && (notify & (IPC_NOTIFY_FAILURE | IPC_NOTIFY_DELAY))
                 ? ","
                 : "",
             notify & IPC_NOTIFY_FAILURE ? "FAILURE" : "",
             (notify & IPC_NOTIFY_FAILURE) && (notify & IPC_NOTIFY_DELAY) ? "," : "",
             notify & IPC_NOTIFY_DELAY ? "DELAY" : "");
    return buf;
}

void router_smtp_send_rcpt(struct smtp_conn *c, unsigned i)
{
    const struct rcpt_work *w = &c->job->m->rcpts[c->job->idx[i]];
    char notify[40] = "", orcpt[IPC_ADDR_MAX + 16] = "", addr[IPC_ADDR_MAX + 1];

    if (c->caps.flags & EHLO_DSN) {
        if (w->r.notify) {
            char t[32];
            snprintf(notify, sizeof(notify), " NOTIFY=%s", notify_text(w->r.notify, t, sizeof(t)));
        }
        if (w->r.orcpt[0])
            snprintf(orcpt, sizeof(orcpt), " ORCPT=%s", w->r.orcpt);
    }
    /* ORCPT keeps the address as the sender gave it (its xtext or utf-8-addr form). */
    router_smtp_io_cmd(c, "RCPT TO:<%s>%s%s", envelope_addr(c, w->r.addr, addr, sizeof(addr)),
                       notify, orcpt);
}

static void smtp_mail_params(const struct smtp_conn *c, char *params, size_t size)
{
    const struct ipc_envelope *e = &c->job->m->env;
    size_t n = 0;

    params[0] = 0;
    if ((e->flags & IPC_FLAG_8BITMIME) && (c->caps.flags & EHLO_8BITMIME))
        n += (size_t)snprintf(params + n, size - n, " BODY=8BITMIME");
    if ((e->flags & IPC_FLAG_SMTPUTF8) && !c->ascii_envelope)
        n += (size_t)snprintf(params + n, size - n, " SMTPUTF8");
    if (c->caps.flags & EHLO_SIZE)
        n += (size_t)snprintf(params + n, size - n, " SIZE=%llu", (unsigned long long)e->size);
    if (c->caps.flags & EHLO_DSN) {
        if (e->ret)
            n += (size_t)snprintf(params + n, size - n, " RET=%s",
                                  e->ret == IPC_RET_FULL ? "FULL" : "HDRS");
        if (e->envid[0])
            snprintf(params + n, size - n, " ENVID=%s", e->envid);
    }
}

/* The sender as it goes out: rewritten by router.sender_canonical_map (legacy addresses to the
 * public domain), else as received. */
static const char *outbound_sender(const struct smtp_conn *c, char *buf, size_t bufsz)
{
    const char *sender = c->job->m->env.sender;

    if (router_am_rewrite(&c->r->canonical, sender, buf, bufsz) == 1) {
        log_msg(LOG_LVL_DEBUG, c->job->m->env.qid,
                "sender <%s> sent as <%s> (sender_canonical_map)", sender, buf);
        return buf;
    }
    return sender;
}

void router_smtp_send_mail(struct smtp_conn *c)
{
    char params[400], sender[IPC_ADDR_MAX + 1], canon[IPC_ADDR_MAX + 1];

    free(c->rcpt_ok);
    c->rcpt_ok = calloc(c->job->n ? c->job->n : 1, 1);
    c->accepted = 0;
    c->rcpt_pos = 0;
    if (!c->rcpt_ok || router_smtp_body_open(c) < 0) {
        router_smtp_fail(c, OUT_DEFERRED, "4.3.0", NULL, "4.3.0 out of memory in the router");
        return;
    }
    smtp_mail_params(c, params, sizeof(params));
    c->pipelined = (c->caps.flags & EHLO_PIPELINING) != 0;
    router_log_mark(c->job, ROUTER_MARK_SEND, now_us());
    router_smtp_io_cmd(
        c, "MAIL FROM:<%s>%s",
        envelope_addr(c, outbound_sender(c, canon, sizeof(canon)), sender, sizeof(sender)), params);
    if (c->pipelined) {
        for (unsigned i = 0; i < c->job->n && c->state == SMTP_MAIL; i++)
            router_smtp_send_rcpt(c, i);
        router_smtp_io_cmd(c, "DATA");
    }
}
