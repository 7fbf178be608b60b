/* smtpd_commands.c - the SMTP command table: each verb's order check and its action. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "log.h"
#include "smtpd.h"

typedef void (*command_fn)(struct session *s, const char *arg, size_t len);

/* ---- transaction ---------------------------------------------------------------- */

void smtpd_transaction_free(struct session *s)
{
    struct transaction *tx = s->tx;

    if (!tx)
        return;
    smtpd_data_abandon(s);
    free(tx->rcpts);
    free(tx->chunk);
    free(tx);
    s->tx = NULL;
}

/* Back to the state after the greeting or EHLO, without a transaction. */
static void session_reset(struct session *s)
{
    smtpd_transaction_free(s);
    smtpd_session_enter(s, s->helo[0] ? SS_READY : SS_INIT);
}

static int transaction_add_rcpt(struct transaction *tx, const struct smtp_rcpt_args *r)
{
    if (sg_array_reserve(&tx->rcpts, &tx->rcpt_cap, (size_t)tx->nrcpt + 1, sizeof(*tx->rcpts)) < 0)
        return -1;
    snprintf(tx->rcpts[tx->nrcpt].addr, sizeof(tx->rcpts[0].addr), "%s", r->rcpt);
    snprintf(tx->rcpts[tx->nrcpt].orcpt, sizeof(tx->rcpts[0].orcpt), "%s", r->orcpt);
    tx->rcpts[tx->nrcpt].notify = r->notify;
    tx->nrcpt++;
    return 0;
}

/* ---- greeting commands ------------------------------------------------------------ */

void smtpd_session_write_ehlo(struct session *s)
{
    struct smtpd *d = s->d;
    char line[300];
    int n;

    n = snprintf(line, sizeof(line), "250-%s\r\n", d->hostname);
    smtpd_session_reply_raw(s, line, (size_t)n);
    smtpd_session_reply_raw(s, "250-PIPELINING\r\n", 16);
    n = snprintf(line, sizeof(line), "250-SIZE %lld\r\n", d->cfg->smtpd.max_message_size);
    smtpd_session_reply_raw(s, line, (size_t)n);
    smtpd_session_reply_raw(
        s, "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n", 62);
    if (d->tls_ctx && !s->tls)
        smtpd_session_reply_raw(s, "250-STARTTLS\r\n", 14);
    if (d->users && s->tls)
        smtpd_session_reply_raw(s, "250-AUTH PLAIN LOGIN\r\n", 22);
    smtpd_session_reply_raw(s, "250 CHUNKING\r\n", 14);
}

static void greet_command(struct session *s, const char *arg, size_t len, int esmtp)
{
    const char *why;

    /* Postfix's reject_invalid_helo_hostname, at the command itself: the session goes on. */
    if (len && !memchr(arg, ' ', len) && s->d->cfg->smtpd.helo_check &&
        smtp_helo_check(arg, len, &why) < 0) {
        smtpd_session_error(s, 501, "5.5.2 Invalid %s name: %s (a domain or an address literal)",
                            esmtp ? "EHLO" : "HELO", why);
        return;
    }
    if (len == 0 || len >= sizeof(s->helo) || memchr(arg, ' ', len)) {
        smtpd_session_error(s, 501, "5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        return;
    }
    memcpy(s->helo, arg, len);
    s->helo[len] = '\0';
    s->esmtp = esmtp;
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_READY);
    if (esmtp)
        smtpd_session_write_ehlo(s);
    else
        smtpd_session_reply(s, 250, "%s", s->d->hostname);
}

static void cmd_ehlo(struct session *s, const char *arg, size_t len)
{
    greet_command(s, arg, len, 1);
}

static void cmd_helo(struct session *s, const char *arg, size_t len)
{
    greet_command(s, arg, len, 0);
}

/* ---- MAIL ------------------------------------------------------------------------------ */

static void cmd_mail(struct session *s, const char *arg, size_t len)
{
    struct smtp_error err;
    struct transaction *tx;

    if (s->state == SS_INIT) {
        smtpd_session_error(s, 503, "5.5.1 Send EHLO or HELO first");
        return;
    }
    if (s->tx) {
        smtpd_session_error(s, 503, "5.5.1 Nested MAIL command");
        return;
    }
    if (s->submission && !s->auth_user[0]) {
        smtpd_session_error(s, 530, "5.7.0 Authentication required");
        return;
    }
    if (smtpd_session_rate_over(s, SMTPD_RATE_MAIL, 1))
        return;
    tx = calloc(1, sizeof(*tx));
    if (!tx) {
        smtpd_session_reply(s, 451, "4.3.0 Out of memory, try again later");
        return;
    }
    if (smtp_parse_mail(arg, len, &tx->mail, &err) < 0) {
        free(tx);
        smtpd_session_error(s, err.code, "%s", err.text);
        return;
    }
    if (tx->mail.has_size && tx->mail.size > (uint64_t)s->d->cfg->smtpd.max_message_size) {
        free(tx);
        smtpd_session_error(s, 552, "5.3.4 Message size exceeds fixed limit");
        return;
    }
    s->tx = tx;
    smtpd_session_enter(s, SS_MAIL);
    smtpd_session_reply(s, 250, "2.1.0 Ok");
}

/* ---- RCPT ------------------------------------------------------------------------------ */

static void rcpt_accept(struct session *s, const struct smtp_rcpt_args *r)
{
    if (transaction_add_rcpt(s->tx, r) < 0) {
        smtpd_session_reply(s, 451, "4.3.0 Out of memory, try again later");
        return;
    }
    smtpd_session_enter(s, SS_RCPT);
    smtpd_session_reply(s, 250, "2.1.5 Ok");
}

/* A recipient refused by policy: replied (as an error when as_error) and logged as
 * "NOQUEUE: reject: RCPT from ...". */
static void rcpt_refuse(struct session *s, int as_error, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void rcpt_refuse(struct session *s, int as_error, int code, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    smtpd_log_reject(s, "RCPT", code, text, s->pending_rcpt.rcpt);
    if (as_error)
        smtpd_session_error(s, code, "%s", text);
    else
        smtpd_session_reply(s, code, "%s", text);
}

void smtpd_cmd_rcpt_looked_up(struct session *s, uint32_t status)
{
    if (!smtpd_session_alive(s) || s->state != SS_RCPT_LOOKUP)
        return;
    smtpd_session_enter(s, s->tx->nrcpt ? SS_RCPT : SS_MAIL);
    if (status == IPC_DIR_FOUND)
        rcpt_accept(s, &s->pending_rcpt);
    else if (status == IPC_DIR_UNKNOWN)
        rcpt_refuse(s, 1, 550, "5.1.1 Mailbox unknown in postoffice directory");
    else
        rcpt_refuse(s, 0, 450, "4.2.0 Postoffice directory unavailable, try again later");
    smtpd_session_resume(s);
}

/* The address <postmaster> is taken as: smtpd.postmaster, or postmaster@ the first local
 * domain that is not a subdomain pattern.  0, or -1 when there is none. */
static int postmaster_address(const struct cfg_smtpd *c, char *out, size_t outsz)
{
    const char *p = c->local_domains;

    if (c->postmaster[0]) {
        snprintf(out, outsz, "%s", c->postmaster);
        return 0;
    }
    while (*p) {
        size_t n;

        p += strspn(p, " ,\t");
        n = strcspn(p, " ,\t");
        if (n && p[0] != '.') {
            snprintf(out, outsz, "postmaster@%.*s", (int)n, p);
            return 0;
        }
        p += n;
    }
    return -1;
}

/* RFC 5321 4.5.1: <postmaster> without a domain is always accepted, from anyone, as the configured
 * postmaster address (the original kept as ORCPT).  0, or -1 when refused (replied). */
static int rcpt_take_postmaster(struct session *s, struct smtp_rcpt_args *r)
{
    char addr[sizeof(r->rcpt)];

    if (strcasecmp(r->rcpt, "postmaster") != 0)
        return 0;
    if (postmaster_address(&s->d->cfg->smtpd, addr, sizeof(addr)) < 0) {
        rcpt_refuse(s, 1, 550, "5.1.1 No postmaster address is configured here");
        return -1;
    }
    if (!r->orcpt[0])
        snprintf(r->orcpt, sizeof(r->orcpt), "rfc822;postmaster");
    log_info("session %llu: [%s] <postmaster> taken as <%s>", (unsigned long long)s->id, s->peer_ip,
             addr);
    snprintf(r->rcpt, sizeof(r->rcpt), "%s", addr);
    return 0;
}

/* Sender-specified routing in the local part: the %-hack ("user%other@here"), a UUCP bang path
 * ("other!user@here") or a quoted '@' ("\"user@other\"@here").  Relayed as is, the next hop may
 * route it on: Postfix refuses it from untrusted clients (allow_untrusted_routing = no). */
static int rcpt_routes_itself(const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t n = at ? (size_t)(at - addr) : strlen(addr);

    return memchr(addr, '%', n) || memchr(addr, '!', n) || memchr(addr, '@', n);
}

static void cmd_rcpt(struct session *s, const char *arg, size_t len)
{
    struct smtpd *d = s->d;
    struct smtp_error err;
    const struct tm_entry *route;
    const char *domain;

    if (!s->tx || s->tx->used_bdat) {
        smtpd_session_error(
            s, 503, s->tx ? "5.5.1 RCPT not allowed after BDAT" : "5.5.1 Need MAIL command");
        return;
    }
    if (smtpd_session_rate_over(s, SMTPD_RATE_RCPT, 1))
        return;
    if (smtp_parse_rcpt(arg, len, s->tx->mail.smtputf8, &s->pending_rcpt, &err) < 0) {
        smtpd_session_error(s, err.code, "%s", err.text);
        return;
    }
    if (s->tx->nrcpt >= (unsigned)d->cfg->smtpd.max_recipients) {
        rcpt_refuse(s, 0, 452, "4.5.3 Too many recipients");
        return;
    }
    if (rcpt_take_postmaster(s, &s->pending_rcpt) < 0)
        return;
    domain = smtp_addr_domain(s->pending_rcpt.rcpt);
    if (!s->relay_ok && !s->auth_user[0] && rcpt_routes_itself(s->pending_rcpt.rcpt)) {
        rcpt_refuse(s, 1, 554, "5.7.1 Sender-specified routing is not allowed here");
        return;
    }
    if (d->cfg->gateway.domain[0] && strcasecmp(domain, d->cfg->gateway.domain) == 0) {
        smtpd_session_enter(s, SS_RCPT_LOOKUP);
        smtpd_dir_lookup(s, s->pending_rcpt.rcpt);
        return;
    }
    route = domain[0] ? tm_lookup(&d->tmap, domain) : NULL;
    if (route && route->kind == TM_ERROR) {
        /* The router would only bounce it: say so now. */
        rcpt_refuse(s, 1, route->status[0] == '4' ? 450 : 550, "%s %s", route->status, route->text);
        return;
    }
    if (domain[0] && tm_domain_listed(domain, d->cfg->smtpd.local_domains)) {
        if (route) {
            rcpt_accept(s, &s->pending_rcpt);
        } else {
            rcpt_refuse(s, 1, 550, "5.1.1 Mailbox unavailable: no route for this local domain");
        }
        return;
    }
    if (s->relay_ok || s->auth_user[0]) {
        rcpt_accept(s, &s->pending_rcpt);
        return;
    }
    rcpt_refuse(s, 1, 554, "5.7.1 Relay access denied");
}

/* ---- DATA, BDAT ---------------------------------------------------------------------- */

static int data_allowed(struct session *s, int bdat)
{
    if (!s->tx) {
        smtpd_session_error(s, 503, "5.5.1 Need MAIL command");
        return 0;
    }
    if (!bdat && s->tx->used_bdat) {
        smtpd_session_error(s, 503, "5.5.1 DATA not allowed after BDAT");
        return 0;
    }
    if (s->tx->nrcpt == 0) {
        smtpd_session_error(s, 503, "5.5.1 No valid recipients");
        return 0;
    }
    return 1;
}

static void cmd_data(struct session *s, const char *arg, size_t len)
{
    if (len) {
        smtpd_session_error(s, 501, "5.5.4 Syntax: DATA");
        return;
    }
    if (data_allowed(s, 0))
        smtpd_data_begin(s, 0);
}

static void cmd_bdat(struct session *s, const char *arg, size_t len)
{
    struct smtp_error err;
    uint64_t size;
    int last;

    if (smtp_parse_bdat(arg, len, &size, &last, &err) < 0) {
        smtpd_session_error(s, err.code, "%s", err.text);
        return;
    }
    if (!s->tx || s->tx->nrcpt == 0) {
        /* The chunk's octets are read and dropped, then refused (RFC 3030). */
        int no_mail = !s->tx;

        if (!s->tx && !(s->tx = calloc(1, sizeof(*s->tx)))) {
            smtpd_session_close(s, "out of memory");
            return;
        }
        s->tx->bdat_discard = no_mail ? 2 : 1;
    }
    s->tx->bdat_left = s->tx->bdat_size = size;
    s->tx->bdat_last = last;
    if (s->tx->bdat_discard) {
        smtpd_session_enter(s, SS_BDAT);
        return;
    }
    if (!s->tx->used_bdat) {
        s->tx->used_bdat = 1;
        smtpd_data_begin(s, 1);
        return;
    }
    smtpd_session_enter(s, SS_BDAT);
}

/* ---- the small ones ------------------------------------------------------------------ */

static void cmd_rset(struct session *s, const char *arg, size_t len)
{
    session_reset(s);
    smtpd_session_reply(s, 250, "2.0.0 Ok");
}

static void cmd_noop(struct session *s, const char *arg, size_t len)
{
    smtpd_session_reply(s, 250, "2.0.0 Ok");
}

static void cmd_help(struct session *s, const char *arg, size_t len)
{
    smtpd_session_reply(s, 214, "2.0.0 See RFC 5321");
}

static void cmd_vrfy(struct session *s, const char *arg, size_t len)
{
    if (len == 0)
        smtpd_session_error(s, 501, "5.5.4 Syntax: VRFY address");
    else
        smtpd_session_reply(s, 252, "2.5.0 Cannot VRFY user, but will accept message");
}

static void cmd_expn(struct session *s, const char *arg, size_t len)
{
    smtpd_session_error(s, 502, "5.5.1 EXPN is not available");
}

static void cmd_quit(struct session *s, const char *arg, size_t len)
{
    smtpd_session_reply(s, 221, "2.0.0 Bye");
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_CLOSING);
}

/* ---- STARTTLS ------------------------------------------------------------------------ */

static void cmd_starttls(struct session *s, const char *arg, size_t len)
{
    if (!s->d->tls_ctx) {
        smtpd_session_error(s, 502, "5.5.1 STARTTLS not available");
        return;
    }
    if (len) {
        smtpd_session_error(s, 501, "5.5.4 Syntax: STARTTLS");
        return;
    }
    if (s->tls) {
        smtpd_session_error(s, 503, "5.5.1 TLS already active");
        return;
    }
    s->tls = smtpd_tls_conn_new(s->d);
    if (!s->tls) {
        smtpd_session_reply(s, 454, "4.7.0 TLS not available due to temporary reason");
        return;
    }
    smtpd_session_reply(s, 220, "2.0.0 Ready to start TLS");
    /* RFC 3207 4.2: anything the client pipelined after STARTTLS is dropped. */
    smtpd_session_discard_input(s);
    smtpd_transaction_free(s);
    smtpd_session_enter(s, SS_TLS);
    smtpd_session_set_timer(s, s->d->cfg->smtpd.command_timeout);
}

/* ---- AUTH ------------------------------------------------------------------------------ */

static void auth_fail(struct session *s, int code, const char *text)
{
    smtpd_session_enter(s, SS_READY);
    smtpd_session_error(s, code, "%s", text);
}

/* "authzid NUL authcid NUL passwd" */
static void auth_plain(struct session *s, const char *b64, size_t len)
{
    char buf[512], user[128];
    int n = smtpd_auth_base64_decode(b64, len, buf, sizeof(buf) - 1);
    const char *authcid, *pass;

    if (n < 0) {
        auth_fail(s, 501, "5.5.2 Invalid base64 data");
        return;
    }
    buf[n] = '\0';
    authcid = memchr(buf, '\0', (size_t)n);
    pass = authcid ? memchr(authcid + 1, '\0', (size_t)(buf + n - authcid - 1)) : NULL;
    if (!authcid || !pass || (buf[0] && strcmp(buf, authcid + 1) != 0) ||
        strlen(authcid + 1) >= sizeof(user)) {
        auth_fail(s, 535, "5.7.8 Authentication credentials invalid");
        return;
    }
    snprintf(user, sizeof(user), "%s", authcid + 1);
    smtpd_session_enter(s, SS_AUTH_CHECK);
    smtpd_auth_check(s, user, pass + 1);
}

static void auth_login_step(struct session *s, const char *b64, size_t len)
{
    char buf[256];
    int n = smtpd_auth_base64_decode(b64, len, buf, sizeof(buf) - 1);

    if (n < 0) {
        auth_fail(s, 501, "5.5.2 Invalid base64 data");
        return;
    }
    buf[n] = '\0';
    if (s->auth_step == 0) {
        snprintf(s->auth_login_user, sizeof(s->auth_login_user), "%s", buf);
        s->auth_step = 1;
        smtpd_session_enter(s, SS_AUTH);
        smtpd_session_reply_raw(s, "334 UGFzc3dvcmQ6\r\n", 18);
        return;
    }
    smtpd_session_enter(s, SS_AUTH_CHECK);
    smtpd_auth_check(s, s->auth_login_user, buf);
}

void smtpd_cmd_auth_line(struct session *s, const char *line, size_t len)
{
    if (len == 1 && line[0] == '*') {
        auth_fail(s, 501, "5.7.0 Authentication cancelled");
        return;
    }
    if (s->auth_mech == 'P')
        auth_plain(s, line, len);
    else
        auth_login_step(s, line, len);
}

/* A failed AUTH is answered only after a pause of as many seconds as the session has failed
 * (1 s, 2 s), and the AUTH_FAILURES_MAX-th closes it (after 3 s): guessing passwords costs
 * time.  The session reads nothing while it waits. */
#define AUTH_FAILURES_MAX 3

static void auth_delay_done(uv_timer_t *t)
{
    struct session *s = t->data;

    if (!smtpd_session_alive(s) || s->state != SS_AUTH_CHECK)
        return;
    smtpd_session_enter(s, SS_READY);
    if (s->auth_failures >= AUTH_FAILURES_MAX) {
        log_notice("session %llu: [%s] %u failed authentications: closing",
                   (unsigned long long)s->id, s->peer_ip, s->auth_failures);
        smtpd_session_reply(s, 421, "4.7.0 %s Too many failed authentications, closing connection",
                            s->d->hostname);
        smtpd_session_enter(s, SS_CLOSING);
    } else {
        smtpd_session_error(s, 535, "5.7.8 Authentication credentials invalid");
    }
    smtpd_session_resume(s);
}

void smtpd_cmd_auth_done(struct session *s, int ok, const char *user)
{
    memset(s->auth_login_user, 0, sizeof(s->auth_login_user));
    if (!smtpd_session_alive(s))
        return;
    if (!ok) {
        log_notice("session %llu: [%s] authentication failed for %s", (unsigned long long)s->id,
                   s->peer_ip, user);
        s->auth_failures++;
        smtpd_session_rate_count(s, SMTPD_RATE_AUTH_FAIL);
        uv_timer_start(&s->timer, auth_delay_done, 1000u * s->auth_failures,
                       0); /* still in SS_AUTH_CHECK */
        return;
    }
    smtpd_session_enter(s, SS_READY);
    snprintf(s->auth_user, sizeof(s->auth_user), "%s", user);
    log_info("session %llu: [%s] authenticated as %s", (unsigned long long)s->id, s->peer_ip, user);
    smtpd_session_reply(s, 235, "2.7.0 Authentication successful");
    smtpd_session_resume(s);
}

static void cmd_auth(struct session *s, const char *arg, size_t len)
{
    size_t mlen = 0;
    const char *initial;
    size_t ilen;

    if (!s->d->users) {
        smtpd_session_error(s, 502, "5.5.1 AUTH not available");
        return;
    }
    if (!s->tls) {
        smtpd_session_error(s, 538,
                            "5.7.11 Encryption required for requested authentication mechanism");
        return;
    }
    if (s->state == SS_INIT || s->auth_user[0] || s->tx) {
        smtpd_session_error(s, 503,
                            s->auth_user[0] ? "5.5.1 Already authenticated"
                            : s->tx         ? "5.5.1 AUTH not allowed during a transaction"
                                            : "5.5.1 Send EHLO first");
        return;
    }
    if (smtpd_session_rate_over(s, SMTPD_RATE_AUTH_FAIL, 0))
        return; /* this address failed too often lately: no more guesses */
    while (mlen < len && arg[mlen] != ' ')
        mlen++;
    initial = arg + mlen;
    ilen = len - mlen;
    while (ilen && *initial == ' ')
        initial++, ilen--;
    s->auth_step = 0;
    if (mlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
        s->auth_mech = 'P';
        if (ilen == 0) {
            smtpd_session_enter(s, SS_AUTH);
            smtpd_session_reply_raw(s, "334 \r\n", 6);
        } else {
            auth_plain(s, initial, ilen == 1 && *initial == '=' ? 0 : ilen);
        }
    } else if (mlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
        s->auth_mech = 'L';
        if (ilen == 0) {
            smtpd_session_enter(s, SS_AUTH);
            smtpd_session_reply_raw(s, "334 VXNlcm5hbWU6\r\n", 18);
        } else {
            auth_login_step(s, initial, ilen);
        }
    } else {
        smtpd_session_error(s, 504, "5.5.4 Unrecognized authentication mechanism");
    }
}

/* ---- dispatch -------------------------------------------------------------------------- */

static const command_fn command_table[SMTP_V_COUNT] = {
    [SMTP_V_EHLO] = cmd_ehlo,         [SMTP_V_HELO] = cmd_helo, [SMTP_V_MAIL] = cmd_mail,
    [SMTP_V_RCPT] = cmd_rcpt,         [SMTP_V_DATA] = cmd_data, [SMTP_V_BDAT] = cmd_bdat,
    [SMTP_V_RSET] = cmd_rset,         [SMTP_V_NOOP] = cmd_noop, [SMTP_V_QUIT] = cmd_quit,
    [SMTP_V_HELP] = cmd_help,         [SMTP_V_VRFY] = cmd_vrfy, [SMTP_V_EXPN] = cmd_expn,
    [SMTP_V_STARTTLS] = cmd_starttls, [SMTP_V_AUTH] = cmd_auth,
};

void smtpd_cmd_dispatch(struct session *s, const char *line, size_t len)
{
    struct smtp_cmd cmd;
    struct smtp_error err;

    if (smtp_parse_command(line, len, &cmd, &err) < 0) {
        smtpd_session_error(s, err.code, "%s", err.text);
        return;
    }
    if (cmd.verb == SMTP_V_UNKNOWN || !command_table[cmd.verb]) {
        smtpd_session_error(s, 500, "5.5.1 Command unrecognized");
        return;
    }
    command_table[cmd.verb](s, cmd.arg, cmd.arg_len);
}
