/* smtp_param.c - pure parsers of the MAIL FROM and RCPT TO arguments: the <path> and the ESMTP parameters (RFC 1870, 3461, 6152, 6531). */
#include "smtp_cmd.h"
#include "smtp_envelope.h"

#include <stdio.h>
#include <string.h>

#include "smtp_char.h"
#include "smtp_xtext.h"

/* ---- ESMTP parameters ---------------------------------------------------- */

struct param {
    const char *kw;
    size_t kwlen;
    const char *val; /* NULL when there is no "=" */
    size_t vlen;
};

/* Next space-separated "keyword[=value]".  1 with *prm set, 0 at the end,
 * -1 when malformed. */
static int next_param(const char *a, size_t len, size_t *pos, struct param *prm)
{
    size_t i = *pos, start, k;

    while (i < len && a[i] == ' ')
        i++;
    if (i >= len) {
        *pos = i;
        return 0;
    }
    start = i;
    while (i < len && a[i] != ' ')
        i++;
    *pos = i;
    for (k = start; k < i && a[k] != '='; k++)
        ;
    prm->kw = a + start;
    prm->kwlen = k - start;
    prm->val = NULL;
    prm->vlen = 0;
    if (prm->kwlen == 0 || !smtp_is_alnum((unsigned char)a[start]))
        return -1;
    for (size_t j = start; j < k; j++)
        if (!smtp_is_alnum((unsigned char)a[j]) && a[j] != '-')
            return -1;
    if (k < i) {
        prm->val = a + k + 1;
        prm->vlen = i - k - 1;
        if (prm->vlen == 0)
            return -1;
        for (size_t j = 0; j < prm->vlen; j++) {
            unsigned char c = (unsigned char)prm->val[j];
            if (!((c >= 33 && c <= 126 && c != '=') || c >= 0x80))
                return -1;
        }
    }
    return 1;
}

static int unknown_param(struct smtp_error *err, const struct param *prm)
{
    if (err != NULL) {
        int n = prm->kwlen > 64 ? 64 : (int)prm->kwlen; /* keyword is [A-Za-z0-9-] only */
        err->code = 555;
        snprintf(err->text, sizeof(err->text), "5.5.4 Unsupported parameter %.*s", n, prm->kw);
    }
    return -1;
}

static int duplicate_param(struct smtp_error *err, const char *name)
{
    if (err != NULL) {
        err->code = 501;
        snprintf(err->text, sizeof(err->text), "5.5.4 Duplicate %s parameter", name);
    }
    return -1;
}

/* ---- the path ----------------------------------------------------------- */

struct path_texts {
    const char *keyword; /* "FROM:" / "TO:", any case */
    const char *syntax;  /* no keyword or no path after it */
    const char *bad;     /* the path is not valid */
};

static const struct path_texts mail_path = {"FROM:", "5.5.4 Syntax: MAIL FROM:<address>",
                                            "5.1.7 Bad sender address syntax"};
static const struct path_texts rcpt_path = {"TO:", "5.5.4 Syntax: RCPT TO:<address>",
                                            "5.1.3 Bad recipient address syntax"};

/* The keyword, one optional space, the <path> (smtp_path_parse with flags)
 * and then the end or a space.  NULL with *p at the path and the mailbox in
 * *off / *mlen / *end, or the 501 reply text. */
static const char *path_arg(const char *arg, size_t len, const struct path_texts *t, unsigned flags,
                            size_t *p, size_t *off, size_t *mlen, size_t *end)
{
    size_t kwlen = strlen(t->keyword);

    if (arg == NULL || len < kwlen || !smtp_ci_mem(arg, t->keyword, kwlen))
        return t->syntax;
    *p = kwlen;
    if (*p < len && arg[*p] == ' ')
        (*p)++;
    if (*p >= len || arg[*p] == ' ')
        return t->syntax;
    if (smtp_path_parse(arg, len, *p, flags, off, mlen, end) < 0)
        return t->bad;
    if (*end < len && arg[*end] != ' ')
        return "5.5.4 Syntax error after address";
    return NULL;
}

/* ---- MAIL ---------------------------------------------------------------- */

/* Note the parameter's bit in *seen: 0, or -1 with the reply when it was
 * given already. */
static int param_once(unsigned *seen, unsigned bit, const char *name, struct smtp_error *err)
{
    if (*seen & bit)
        return duplicate_param(err, name);
    *seen |= bit;
    return 0;
}

static int mail_fail(struct smtp_mail_args *out, struct smtp_error *err, int code, const char *text)
{
    memset(out, 0, sizeof(*out));
    return smtp_error_set(err, code, text);
}

static int mail_param(struct smtp_mail_args *out, const struct param *prm, unsigned *seen,
                      struct smtp_error *err)
{
    enum { S_SIZE = 1, S_BODY = 2, S_UTF8 = 4, S_RET = 8, S_ENVID = 16, S_AUTH = 32 };

    if (smtp_ci_equal(prm->kw, prm->kwlen, "SIZE")) {
        if (param_once(seen, S_SIZE, "SIZE", err) < 0)
            return -1;
        if (prm->val == NULL || smtp_parse_u64(prm->val, prm->vlen, 20, &out->size) < 0)
            return smtp_error_set(err, 501, "5.5.4 Bad SIZE value");
        out->has_size = 1;
    } else if (smtp_ci_equal(prm->kw, prm->kwlen, "BODY")) {
        if (param_once(seen, S_BODY, "BODY", err) < 0)
            return -1;
        if (prm->val != NULL && smtp_ci_equal(prm->val, prm->vlen, "7BIT"))
            out->body = SMTP_BODY_7BIT;
        else if (prm->val != NULL && smtp_ci_equal(prm->val, prm->vlen, "8BITMIME"))
            out->body = SMTP_BODY_8BITMIME;
        else if (prm->val != NULL && smtp_ci_equal(prm->val, prm->vlen, "BINARYMIME"))
            return smtp_error_set(err, 504, "5.5.4 BODY=BINARYMIME not supported");
        else
            return smtp_error_set(err, 501, "5.5.4 Bad BODY value");
    } else if (smtp_ci_equal(prm->kw, prm->kwlen, "SMTPUTF8")) {
        if (param_once(seen, S_UTF8, "SMTPUTF8", err) < 0)
            return -1;
        if (prm->val != NULL)
            return smtp_error_set(err, 501, "5.5.4 SMTPUTF8 takes no value");
        out->smtputf8 = 1;
    } else if (smtp_ci_equal(prm->kw, prm->kwlen, "RET")) {
        if (param_once(seen, S_RET, "RET", err) < 0)
            return -1;
        if (prm->val != NULL && smtp_ci_equal(prm->val, prm->vlen, "FULL"))
            out->ret = SMTP_RET_FULL;
        else if (prm->val != NULL && smtp_ci_equal(prm->val, prm->vlen, "HDRS"))
            out->ret = SMTP_RET_HDRS;
        else
            return smtp_error_set(err, 501, "5.5.4 Bad RET value");
    } else if (smtp_ci_equal(prm->kw, prm->kwlen, "ENVID")) {
        if (param_once(seen, S_ENVID, "ENVID", err) < 0)
            return -1;
        if (prm->val == NULL || prm->vlen > SMTP_ENVID_MAX ||
            !smtp_xtext_valid(prm->val, prm->vlen))
            return smtp_error_set(err, 501, "5.5.4 Bad ENVID value");
        memcpy(out->envid, prm->val, prm->vlen);
        out->envid[prm->vlen] = '\0';
    } else if (smtp_ci_equal(prm->kw, prm->kwlen, "AUTH")) {
        if (param_once(seen, S_AUTH, "AUTH", err) < 0)
            return -1;
        if (prm->val == NULL)
            return smtp_error_set(err, 501, "5.5.4 Bad AUTH value");
    } else {
        return unknown_param(err, prm);
    }
    return 0;
}

int smtp_parse_mail(const char *arg, size_t len, struct smtp_mail_args *out, struct smtp_error *err)
{
    size_t p = 0, off = 0, mlen = 0, end = 0, pos;
    const char *why;
    unsigned seen = 0;
    struct param prm;
    int r;

    memset(out, 0, sizeof(*out));
    /* UTF-8 is checked once the parameters are known */
    why = path_arg(arg, len, &mail_path, SMTP_ADDR_NULL | SMTP_ADDR_UTF8, &p, &off, &mlen, &end);
    if (why != NULL)
        return mail_fail(out, err, 501, why);
    pos = end;
    while ((r = next_param(arg, len, &pos, &prm)) != 0) {
        if (r < 0) {
            memset(out, 0, sizeof(*out));
            return smtp_error_set(err, 501, "5.5.4 Malformed parameter");
        }
        if (mail_param(out, &prm, &seen, err) < 0) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
    }
    if (!out->smtputf8 && smtp_has_8bit(arg + p, end - p))
        return mail_fail(out, err, 501, "5.1.7 Bad sender address syntax");
    memcpy(out->sender, arg + off, mlen); /* mlen <= 254 */
    out->sender[mlen] = '\0';
    smtp_error_clear(err);
    return 0;
}

/* ---- RCPT ---------------------------------------------------------------- */

static int rcpt_fail(struct smtp_rcpt_args *out, struct smtp_error *err, int code, const char *text)
{
    memset(out, 0, sizeof(*out));
    return smtp_error_set(err, code, text);
}

static int notify_parse(const char *v, size_t len, unsigned *bits, struct smtp_error *err)
{
    size_t i = 0;
    unsigned b = 0;

    for (;;) {
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        if (smtp_ci_equal(v + start, i - start, "NEVER"))
            b |= SMTP_NOTIFY_NEVER;
        else if (smtp_ci_equal(v + start, i - start, "SUCCESS"))
            b |= SMTP_NOTIFY_SUCCESS;
        else if (smtp_ci_equal(v + start, i - start, "FAILURE"))
            b |= SMTP_NOTIFY_FAILURE;
        else if (smtp_ci_equal(v + start, i - start, "DELAY"))
            b |= SMTP_NOTIFY_DELAY;
        else
            return smtp_error_set(err, 501, "5.5.4 Bad NOTIFY value");
        if (i == len)
            break;
        i++; /* comma; an empty element after it fails above */
    }
    if ((b & SMTP_NOTIFY_NEVER) && b != SMTP_NOTIFY_NEVER)
        return smtp_error_set(err, 501, "5.5.4 NOTIFY=NEVER cannot be combined with other values");
    *bits = b;
    return 0;
}

int smtp_parse_rcpt(const char *arg, size_t len, int utf8_ok, struct smtp_rcpt_args *out,
                    struct smtp_error *err)
{
    size_t p = 0, off = 0, mlen = 0, end = 0, pos;
    const char *why;
    int seen_notify = 0, seen_orcpt = 0, r;
    struct param prm;

    memset(out, 0, sizeof(*out));
    why = path_arg(arg, len, &rcpt_path, SMTP_ADDR_POSTMASTER | (utf8_ok ? SMTP_ADDR_UTF8 : 0u), &p,
                   &off, &mlen, &end);
    if (why != NULL)
        return rcpt_fail(out, err, 501, why);
    pos = end;
    while ((r = next_param(arg, len, &pos, &prm)) != 0) {
        if (r < 0)
            return rcpt_fail(out, err, 501, "5.5.4 Malformed parameter");
        if (smtp_ci_equal(prm.kw, prm.kwlen, "NOTIFY")) {
            if (seen_notify++) {
                memset(out, 0, sizeof(*out));
                return duplicate_param(err, "NOTIFY");
            }
            if (prm.val == NULL)
                return rcpt_fail(out, err, 501, "5.5.4 Bad NOTIFY value");
            if (notify_parse(prm.val, prm.vlen, &out->notify, err) < 0) {
                memset(out, 0, sizeof(*out));
                return -1;
            }
        } else if (smtp_ci_equal(prm.kw, prm.kwlen, "ORCPT")) {
            if (seen_orcpt++) {
                memset(out, 0, sizeof(*out));
                return duplicate_param(err, "ORCPT");
            }
            if (prm.val == NULL || !smtp_envelope_orcpt_valid(prm.val, prm.vlen))
                return rcpt_fail(out, err, 501, "5.5.4 Bad ORCPT value");
            memcpy(out->orcpt, prm.val, prm.vlen); /* vlen <= SMTP_ORCPT_MAX */
            out->orcpt[prm.vlen] = '\0';
        } else {
            memset(out, 0, sizeof(*out));
            return unknown_param(err, &prm);
        }
    }
    memcpy(out->rcpt, arg + off, mlen); /* mlen <= 254 */
    out->rcpt[mlen] = '\0';
    smtp_error_clear(err);
    return 0;
}
