/* router_smtp_auth.c - AUTH PLAIN or LOGIN to a smarthost (RFC 4954, 4616), only inside a verified TLS session; the credentials never reach a log. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "router_smtp.h"

#define AUTH_LINE_MAX 512 /* an AUTH command line with its CRLF (RFC 5321 4.5.3.1.4) */
/* base64 of "\0user\0password" at their longest, with room for the command and the CRLF */
#define AUTH_BUF (4 * ((2 * ROUTER_SECRET_MAX + 2 + 2) / 3) + 32)

int router_smtp_auth_needed(const struct smtp_conn *c)
{
    return c->d->route.auth[0] && c->auth_step != AUTH_DONE;
}

static const struct router_secret *auth_secret(const struct smtp_conn *c)
{
    return router_secrets_find(&c->r->secrets, c->d->route.auth);
}

/* Write "<prefix><base64 of data>\r\n", logged as "<prefix>(credentials not logged)". */
static void auth_send(struct smtp_conn *c, const char *prefix, const void *data, size_t n)
{
    char line[AUTH_BUF], shown[64];
    size_t p = strlen(prefix);
    int b;

    memcpy(line, prefix, p);
    b = EVP_EncodeBlock((unsigned char *)line + p, data, (int)n);
    memcpy(line + p + (size_t)b, "\r\n", 2);
    snprintf(shown, sizeof(shown), "%s(credentials not logged)", prefix);
    router_smtp_io_secret(c, shown, line, p + (size_t)b + 2);
    OPENSSL_cleanse(line, sizeof(line));
}

/* RFC 4616: authzid (empty), NUL, authcid, NUL, password. */
static void auth_send_plain(struct smtp_conn *c, const char *prefix)
{
    const struct router_secret *s = auth_secret(c); /* callers have checked it is there */
    char msg[2 * ROUTER_SECRET_MAX + 2];
    size_t u = strlen(s->user), w = strlen(s->pass);

    msg[0] = '\0';
    memcpy(msg + 1, s->user, u);
    msg[1 + u] = '\0';
    memcpy(msg + 2 + u, s->pass, w);
    auth_send(c, prefix, msg, 2 + u + w);
    OPENSSL_cleanse(msg, sizeof(msg));
}

static size_t base64_len(size_t n)
{
    return 4 * ((n + 2) / 3);
}

/* Entering SMTP_AUTH: PLAIN if the server has it (with the initial response when the line
 * allows, RFC 4954 4), else LOGIN; -1 with why when neither can be used. */
static int auth_begin(struct smtp_conn *c, char *text, size_t textsz)
{
    const struct router_secret *s = auth_secret(c);

    if (!s) { /* the map and the secrets are checked together at start and reload: not expected */
        snprintf(text, textsz, "4.7.0 no credentials named %s in router.smarthost_secrets for %s",
                 c->d->route.auth, c->d->route.desc);
        return -1;
    }
    if (c->caps.flags & EHLO_AUTH_PLAIN) {
        size_t resp = 2 + strlen(s->user) + strlen(s->pass);

        if (strlen("AUTH PLAIN ") + base64_len(resp) + 2 <= AUTH_LINE_MAX) {
            c->auth_step = AUTH_PLAIN_SENT;
            auth_send_plain(c, "AUTH PLAIN ");
        } else {
            c->auth_step = AUTH_PLAIN_ASK;
            router_smtp_io_cmd(c, "AUTH PLAIN");
        }
        return 0;
    }
    if (c->caps.flags & EHLO_AUTH_LOGIN) {
        c->auth_step = AUTH_LOGIN_SENT;
        router_smtp_io_cmd(c, "AUTH LOGIN");
        return 0;
    }
    snprintf(text, textsz,
             "4.7.0 smarthost %s (%s) offers no AUTH mechanism the router has (PLAIN, LOGIN) "
             "for credentials %s; nothing was sent without them",
             c->d->route.desc, c->remote, c->d->route.auth);
    return -1;
}

void router_smtp_auth_start(struct smtp_conn *c)
{
    char text[IPC_REPLY_MAX + 1];

    if (auth_begin(c, text, sizeof(text)) < 0)
        router_smtp_fail_dest(c, OUT_DEFERRED, "4.7.0", NULL, text, 0);
}

/* A 334 challenge: the next line of the exchange, or -1 when none was expected now. */
static int auth_challenge(struct smtp_conn *c)
{
    const struct router_secret *s = auth_secret(c);

    if (!s) /* a reload took the credentials away during the exchange */
        return -1;
    switch (c->auth_step) {
    case AUTH_PLAIN_ASK:
        c->auth_step = AUTH_PLAIN_RESP;
        auth_send_plain(c, "");
        return 0;
    case AUTH_LOGIN_SENT:
        c->auth_step = AUTH_LOGIN_USER;
        auth_send(c, "", s->user, strlen(s->user));
        return 0;
    case AUTH_LOGIN_USER:
        c->auth_step = AUTH_LOGIN_PASS;
        auth_send(c, "", s->pass, strlen(s->pass));
        return 0;
    default:
        return -1;
    }
}

/* A refusal (or a 334 out of turn): a 5xx fails every recipient of the destination, anything
 * else defers them; the text names the smarthost, the credentials and its reply. */
static void auth_refused(struct smtp_conn *c, const struct smtp_reply *rp)
{
    const struct route *rt = &c->d->route;
    enum outcome o = rp->code >= 500 ? OUT_FAILED : OUT_DEFERRED;
    char status[16], text[IPC_REPLY_MAX + 1];

    snprintf(status, sizeof(status), "%s",
             rp->enhanced[0]   ? rp->enhanced
             : o == OUT_FAILED ? "5.7.8"
                               : "4.7.0");
    if (rp->code == 334)
        snprintf(text, sizeof(text),
                 "4.7.0 smarthost %s (%s) asked for more than AUTH %s takes: %.300s", rt->desc,
                 c->remote, c->auth_step <= AUTH_PLAIN_RESP ? "PLAIN" : "LOGIN", rp->text);
    else
        snprintf(text, sizeof(text), "%s smarthost %s (%s) %s the credentials %s: %.300s", status,
                 rt->desc, c->remote, o == OUT_FAILED ? "refused" : "could not check", rt->auth,
                 rp->text);
    if (o == OUT_FAILED)
        log_warn("%s: %s", rt->desc, text);
    router_smtp_fail_dest(c, o, status, c->remote, text, 0);
}

void router_smtp_auth_reply(struct smtp_conn *c, const struct smtp_reply *rp)
{
    const struct route *rt = &c->d->route;

    if (rp->code == 235) {
        c->auth_step = AUTH_DONE;
        log_info("%s: authenticated to %s with credentials %s", rt->desc, c->remote, rt->auth);
        router_smtp_next_txn(c, 1);
    } else if (rp->code != 334 || auth_challenge(c) < 0) {
        auth_refused(c, rp);
    }
}
