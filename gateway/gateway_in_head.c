/* gateway_in_head.c - the control lines of a transfer file into P1/: the sender, the recipients, and Message-Id, Date and Subject mapped from the message's header section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "smtp_char.h"

#define HEAD_FIELD_MAX 1024 /* octets of one header field looked at */

#define HEAD_REFUSE(r, state_, status_, ...)                                             \
    ((r)->state = (state_), snprintf((r)->status, sizeof((r)->status), "%s", (status_)), \
     snprintf((r)->why, sizeof((r)->why), __VA_ARGS__))

/* Message-Id, Date and Subject from the message's header section, each as a control line can
 * carry it (po_map.c): a Message-ID the format refuses gives way to one of ours, a Date that is no
 * RFC 5322 date to the arrival time, a Subject goes in US-ASCII.  The message keeps its own. */
static void head_fields(const struct gateway *g, const struct ipc_envelope *env, const uint8_t *msg,
                        size_t len, struct po_p1 *p1)
{
    const char *why;
    char raw[HEAD_FIELD_MAX];
    long n;

    n = po_map_header(msg, len, "Message-ID", raw, sizeof(raw));
    if (n < 0 || po_map_msgid(raw, (size_t)n, p1->message_id) < 0) {
        snprintf(p1->message_id, sizeof(p1->message_id), "<%.15s@%.200s>", env->qid, g->hostname);
        if (po_p1_msgid_check(p1->message_id, strlen(p1->message_id), &why) < 0)
            snprintf(p1->message_id, sizeof(p1->message_id), "<%.15s@spoolgate.invalid>", env->qid);
    }
    n = po_map_header(msg, len, "Date", raw, sizeof(raw));
    if (n < 0 || po_map_date(raw, (size_t)n, p1->date) < 0) {
        time_t when = env->arrival_us ? (time_t)(env->arrival_us / 1000000) : time(NULL);
        struct tm tm;

        gmtime_r(&when, &tm);
        strftime(p1->date, sizeof(p1->date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    }
    n = po_map_header(msg, len, "Subject", raw, sizeof(raw));
    if (n > 0)
        po_map_subject(raw, (size_t)n, p1->subject, sizeof(p1->subject));
}

/* The sender on the From: line: the envelope's, or ours for the null sender.  0, or -1 with r. */
static int head_sender(const struct gateway *g, const char *sender, struct po_p1 *p1,
                       struct gw_in_refusal *r)
{
    struct po_err err = {""};

    p1->from.kind = PO_P1_SMTP;
    if (!sender[0]) {
        snprintf(p1->from.text, sizeof(p1->from.text), "MAILER-DAEMON@%s", g->hostname);
        if (po_p1_addr_check(&p1->from, &err) < 0)
            snprintf(p1->from.text, sizeof(p1->from.text), "MAILER-DAEMON@spoolgate.invalid");
        return 0;
    }
    snprintf(p1->from.text, sizeof(p1->from.text), "%s", sender);
    if (po_p1_addr_check(&p1->from, &err) == 0)
        return 0;
    if (smtp_has_8bit(sender, strlen(sender)))
        HEAD_REFUSE(r, RCPT_FAILED, "5.6.7",
                    "the sender address cannot be written in the postoffice's US-ASCII form: %s",
                    err.text);
    else
        HEAD_REFUSE(r, RCPT_FAILED, "5.1.7",
                    "the sender address cannot be written on the postoffice's From: line: %s",
                    err.text);
    return -1;
}

int gw_in_head(const struct gateway *g, const struct ipc_envelope *env, const char *const *to,
               size_t nto, const uint8_t *msg, size_t len, struct sg_buf *head,
               struct gw_in_refusal *r)
{
    struct po_p1 p1 = {0};
    struct po_err err = {""};
    size_t n = 0;
    int rc;

    if (head_sender(g, env->sender, &p1, r) < 0)
        return -1;
    p1.to = calloc(nto ? nto : 1, sizeof(*p1.to));
    if (!p1.to) {
        HEAD_REFUSE(r, RCPT_DEFERRED, "4.3.0", "out of memory in the gateway");
        return -1;
    }
    for (size_t i = 0; i < nto; i++) {
        struct po_addr a;

        if (po_smtp_to_legacy(to[i], g->cfg->gateway.domain, &g->net, &a, NULL) < 0)
            continue;
        p1.to[n].kind = PO_P1_MS;
        po_legacy_format(&a, p1.to[n].text, sizeof(p1.to[n].text));
        n++;
    }
    p1.nto = n;
    head_fields(g, env, msg, len, &p1);
    rc = po_p1_format_head(&p1, env->size > len ? (size_t)env->size : len, head, &err);
    free(p1.to);
    if (rc < 0) /* out of memory; nothing else is left to refuse once the fields are mapped */
        HEAD_REFUSE(r, RCPT_DEFERRED, "4.3.0", "cannot write the transfer file's control lines: %s",
                    err.text);
    return rc;
}
