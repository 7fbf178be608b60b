/* smtpd_log.c - smtpd's maillog lines: a message's client= and message-id=, and every refused recipient as NOQUEUE: reject:. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "smtpd.h"

/* proto= as Postfix logs it. */
static const char *session_proto(const struct session *s)
{
    return s->esmtp ? "ESMTP" : "SMTP";
}

/* text: "5.7.1 Relay access denied" -> status "5.7.1", rest "Relay access denied". */
static void split_status(const char *text, char *status, size_t statussz, const char **rest)
{
    size_t n = strspn(text, "0123456789.");

    if (n >= 5 && text[n] == ' ' && n < statussz) {
        memcpy(status, text, n);
        status[n] = '\0';
        *rest = text + n + 1;
        return;
    }
    status[0] = '\0';
    *rest = text;
}

void smtpd_log_reject(const struct session *s, const char *cmd, int code, const char *text,
                      const char *rcpt)
{
    char status[16];
    const char *rest;

    split_status(text, status, sizeof(status), &rest);
    log_msg(LOG_LVL_INFO, s->tx && s->tx->qid[0] ? s->tx->qid : "NOQUEUE",
            "reject: %s from unknown[%s]: %d%s%s <%s>: %s; from=<%s> to=<%s> proto=%s helo=<%s>",
            cmd, s->peer_ip, code, status[0] ? " " : "", status, rcpt, rest,
            s->tx ? s->tx->mail.sender : "", rcpt, session_proto(s), s->helo);
}

void smtpd_log_accepted(const struct session *s, const char *qid, const char *message_id)
{
    if (s->auth_user[0])
        log_msg(LOG_LVL_INFO, qid, "client=unknown[%s], sasl_username=%s", s->peer_ip,
                s->auth_user);
    else
        log_msg(LOG_LVL_INFO, qid, "client=unknown[%s]", s->peer_ip);
    if (message_id && message_id[0])
        log_msg(LOG_LVL_INFO, qid, "message-id=%s", message_id);
}
