/* sendmail_addrlist.c - an RFC 5322 address list taken apart into its addr-specs: display names, angle addresses, comments, quoted strings and groups. */
#include <stdlib.h>
#include <string.h>

#include "sendmail_headers.h"

/* One mailbox being read: its bare text and its <angle address>, whichever it turns out to be. */
struct mailbox {
    char *plain, *angle;
    size_t nplain, nangle;
    int in_angle, have_angle;
};

/* The mailbox read so far into out (the angle address if there was one), then a new one. */
static int mailbox_emit(struct mailbox *m, struct smh_addrs *out)
{
    const char *a = m->have_angle ? m->angle : m->plain;
    size_t n = m->have_angle ? m->nangle : m->nplain;
    int rc = 0;

    if (m->have_angle && n > 0 && a[0] == '@') { /* an obsolete source route: @a,@b:user@c */
        const char *colon = memchr(a, ':', n);
        if (colon) {
            n -= (size_t)(colon + 1 - a);
            a = colon + 1;
        }
    }
    if (n > 0)
        rc = smh_addrs_add(out, a, n);
    m->nplain = m->nangle = 0;
    m->in_angle = m->have_angle = 0;
    return rc;
}

static void mailbox_put(struct mailbox *m, char c)
{
    if (m->in_angle)
        m->angle[m->nangle++] = c;
    else
        m->plain[m->nplain++] = c;
}

/* Past the comment that starts at i (nested, with quoted pairs): the index after it. */
static size_t skip_comment(const char *t, size_t len, size_t i)
{
    int depth = 0;

    for (; i < len; i++) {
        if (t[i] == '\\')
            i++;
        else if (t[i] == '(')
            depth++;
        else if (t[i] == ')' && --depth == 0)
            return i + 1;
    }
    return len;
}

/* The quoted string at i copied as it is (quotes and quoted pairs kept): the index after it. */
static size_t copy_quoted(struct mailbox *m, const char *t, size_t len, size_t i)
{
    mailbox_put(m, t[i++]);
    for (; i < len; i++) {
        if (t[i] == '\\' && i + 1 < len) {
            mailbox_put(m, t[i++]);
        } else if (t[i] == '"') {
            mailbox_put(m, '"');
            return i + 1;
        }
        mailbox_put(m, t[i]);
    }
    return len;
}

/* One character outside comments and quoted strings: 1 when it ends a mailbox. */
static int mailbox_char(struct mailbox *m, char c)
{
    if (m->in_angle) {
        if (c == '>')
            m->in_angle = 0;
        else if (c != ' ' && c != '\t')
            mailbox_put(m, c);
        return 0;
    }
    if (c == '<') {
        m->in_angle = m->have_angle = 1;
        m->nangle = 0;
    } else if (c == ':') {
        m->nplain = 0; /* what came before was a group's name */
    } else if (c == ',' || c == ';') {
        return 1;
    } else if (c != ' ' && c != '\t') { /* CR and LF stay: the check refuses them */
        mailbox_put(m, c);
    }
    return 0;
}

int smh_parse_list(const char *text, size_t len, struct smh_addrs *out)
{
    struct mailbox m = {.plain = malloc(len + 1), .angle = malloc(len + 1)};
    size_t i = 0;
    int rc = 0;

    if (!m.plain || !m.angle)
        rc = -1;
    while (rc == 0 && i < len) {
        if (text[i] == '(') {
            i = skip_comment(text, len, i);
        } else if (text[i] == '"') {
            i = copy_quoted(&m, text, len, i);
        } else {
            if (mailbox_char(&m, text[i]))
                rc = mailbox_emit(&m, out);
            i++;
        }
    }
    if (rc == 0)
        rc = mailbox_emit(&m, out);
    free(m.plain);
    free(m.angle);
    return rc;
}
