/* sendmail_message.c - a local submission's message and envelope: read as CRLF lines, recipients from the command line and -t, the headers a local submission adds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sendmail.h"
#include "smtp_envelope.h"

int sm_read_message(FILE *f, int dot_ends, long long max, struct sg_buf *out)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, f)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] == '\n')
            len -= (len >= 2 && line[len - 2] == '\r') ? 2 : 1;
        if (dot_ends && len == 1 && line[0] == '.')
            break;
        sg_buf_append(out, line, len);
        sg_buf_append(out, "\r\n", 2);
        if ((long long)out->len > max)
            break;
    }
    free(line);
    if (out->failed || ferror(f))
        return -1;
    return (long long)out->len > max ? -2 : 0;
}

/* An address for a message, control characters shown as '?', cut at 200 octets. */
static const char *shown(const char *addr, char *buf, size_t bufsz)
{
    size_t i;

    for (i = 0; i < bufsz - 4 && i < 200 && addr[i]; i++)
        buf[i] = (unsigned char)addr[i] < 0x20 || addr[i] == 0x7f ? '?' : addr[i];
    snprintf(buf + i, bufsz - i, "%s", addr[i] ? "..." : "");
    return buf;
}

static int has_rcpt(const struct sm_msg *m, const char *addr)
{
    for (size_t i = 0; i < m->nrcpt; i++)
        if (strcmp(m->rcpts[i].addr, addr) == 0)
            return 1;
    return 0;
}

/* One recipient, qualified and checked as the store would, once only. */
static int add_one(const struct sm_ctx *x, struct sm_msg *m, const char *addr, char *why,
                   size_t whysz)
{
    char q[IPC_ADDR_MAX + 2], sh[220];
    const char *err;

    if (smh_qualify(addr, x->origin, q, sizeof(q)) < 0 || strlen(q) > IPC_ADDR_MAX) {
        snprintf(why, whysz, "recipient <%s> refused: longer than %d octets",
                 shown(addr, sh, sizeof(sh)), IPC_ADDR_MAX);
        return -1;
    }
    if (smtp_envelope_rcpt_check(q, &err) < 0) {
        snprintf(why, whysz, "recipient <%s> refused: %s", shown(q, sh, sizeof(sh)), err);
        return -1;
    }
    if (has_rcpt(m, q))
        return 0;
    if (m->nrcpt % 32 == 0) {
        void *n = realloc(m->rcpts, (m->nrcpt + 32) * sizeof(*m->rcpts));
        if (!n)
            return snprintf(why, whysz, "out of memory"), -1;
        m->rcpts = n;
    }
    memset(&m->rcpts[m->nrcpt], 0, sizeof(*m->rcpts));
    snprintf(m->rcpts[m->nrcpt].addr, sizeof(m->rcpts->addr), "%s", q);
    m->rcpts[m->nrcpt++].notify = m->notify;
    return 0;
}

static int add_addrs(const struct sm_ctx *x, struct sm_msg *m, struct smh_addrs *a, char *why,
                     size_t whysz)
{
    int rc = 0;

    for (size_t i = 0; i < a->n && rc == 0; i++)
        rc = add_one(x, m, a->v[i], why, whysz);
    smh_addrs_free(a);
    return rc;
}

int sm_add_rcpts(const struct sm_ctx *x, struct sm_msg *m, const char *list, char *why,
                 size_t whysz)
{
    struct smh_addrs a = {0};

    if (smh_parse_list(list, strlen(list), &a) < 0) {
        smh_addrs_free(&a);
        return snprintf(why, whysz, "out of memory"), -1;
    }
    return add_addrs(x, m, &a, why, whysz);
}

int sm_sender(const struct sm_ctx *x, const char *arg, struct sm_msg *m, char *why, size_t whysz)
{
    char bare[IPC_ADDR_MAX + 2], sh[220];
    const char *err;
    size_t n;

    if (!arg)
        arg = x->user;
    n = strlen(arg);
    if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
        arg++;
        n -= 2;
    }
    if (n > IPC_ADDR_MAX)
        return snprintf(why, whysz, "sender <%s> refused: longer than %d octets",
                        shown(arg, sh, sizeof(sh)), IPC_ADDR_MAX),
               -1;
    memcpy(bare, arg, n);
    bare[n] = '\0';
    if (n == 0) { /* -f '<>' or -f '': the null sender */
        m->begin.sender[0] = '\0';
        return 0;
    }
    if (smh_qualify(bare, x->origin, m->begin.sender, sizeof(m->begin.sender)) < 0)
        return snprintf(why, whysz, "sender: longer than %d octets", IPC_ADDR_MAX), -1;
    if (smtp_envelope_sender_check(m->begin.sender, &err) < 0)
        return snprintf(why, whysz, "sender <%s> refused: %s",
                        shown(m->begin.sender, sh, sizeof(sh)), err),
               -1;
    return 0;
}

/* RFC 5322 date-time, in local time. */
static void rfc5322_date(char *buf, size_t bufsz)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(buf, bufsz, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

void sm_received(struct sg_buf *b, const char *host, long long uid, const char *qid)
{
    char date[64];

    rfc5322_date(date, sizeof(date));
    sg_buf_printf(b, "Received: by %s (spoolgate, from userid %lld)\r\n\tid %s; %s\r\n", host, uid,
                  qid, date);
}

/* The display name as a quoted string (RFC 5322 3.2.4), controls dropped. */
static void quoted_name(struct sg_buf *b, const char *name)
{
    sg_buf_puts(b, "\"");
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            continue;
        if (*p == '"' || *p == '\\')
            sg_buf_puts(b, "\\");
        sg_buf_append(b, p, 1);
    }
    sg_buf_puts(b, "\" ");
}

/* Date, Message-ID and From for a header block hdr[0..len) that lacks them. */
static void missing_fields(const struct sm_ctx *x, const char *hdr, size_t len, struct sg_buf *b)
{
    char date[64], from[IPC_ADDR_MAX + 2];
    uint32_t r[2] = {0, 0};

    if (!smh_has_field(hdr, len, "Date")) {
        rfc5322_date(date, sizeof(date));
        sg_buf_printf(b, "Date: %s\r\n", date);
    }
    if (!smh_has_field(hdr, len, "Message-ID")) {
        if (getrandom(r, sizeof(r), 0) < 0)
            r[0] = (uint32_t)getpid(), r[1] = (uint32_t)clock();
        sg_buf_printf(b, "Message-ID: <%lld.%08x%08x@%s>\r\n", (long long)time(NULL), r[0], r[1],
                      x->hostname);
    }
    if (!smh_has_field(hdr, len, "From")) {
        smh_qualify(x->user, x->origin, from, sizeof(from));
        sg_buf_puts(b, "From: ");
        if (x->full_name && x->full_name[0])
            quoted_name(b, x->full_name);
        sg_buf_printf(b, x->full_name && x->full_name[0] ? "<%s>\r\n" : "%s\r\n", from);
    }
}

/* -t: the recipients of To, Cc and Bcc (added to those of the command line). */
static int extract(const struct sm_ctx *x, struct sm_msg *m, const char *hdr, size_t len, char *why,
                   size_t whysz)
{
    static const char *const fields[] = {"To", "Cc", "Bcc"};
    struct smh_addrs a = {0};

    for (size_t i = 0; i < 3; i++)
        if (smh_field_addrs(hdr, len, fields[i], &a) < 0) {
            smh_addrs_free(&a);
            return snprintf(why, whysz, "out of memory"), -1;
        }
    return add_addrs(x, m, &a, why, whysz);
}

int sm_prepare(const struct sm_ctx *x, struct sm_msg *m, char *why, size_t whysz)
{
    const char *d = m->data.data ? (const char *)m->data.data : "";
    size_t body, hlen = smh_header_end(d, m->data.len, &body);
    struct sg_buf out = {0};
    char *hdr = malloc(hlen + 1);

    if (!hdr)
        return snprintf(why, whysz, "out of memory"), -1;
    memcpy(hdr, d, hlen);
    if (x->extract && extract(x, m, hdr, hlen, why, whysz) < 0)
        return free(hdr), -1;
    if (m->nrcpt == 0) {
        free(hdr);
        return snprintf(why, whysz,
                        x->extract ? "no recipient addresses found in the message "
                                     "header"
                                   : "no recipients given"),
               -1;
    }
    hlen = smh_remove_field(hdr, hlen, "Bcc"); /* Bcc: never in what is sent */
    sg_buf_append(&out, hdr, hlen);
    missing_fields(x, hdr, hlen, &out);
    sg_buf_append(&out, "\r\n", 2);
    sg_buf_append(&out, d + body, m->data.len - body);
    free(hdr);
    if (out.failed)
        return sg_buf_free(&out), snprintf(why, whysz, "out of memory"), -1;
    sg_buf_free(&m->data);
    m->data = out;
    return 0;
}

void sm_msg_free(struct sm_msg *m)
{
    free(m->rcpts);
    sg_buf_free(&m->data);
    memset(m, 0, sizeof(*m));
}
