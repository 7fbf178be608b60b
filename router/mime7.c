/* mime7.c - 8-bit mail made 7-bit for a server without 8BITMIME: a line-by-line MIME walk that re-encodes each leaf part quoted-printable (RFC 2045 6.7), keeping the structure. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mime7.h"
#include "smtp_char.h"

#define QP_LINE_MAX 76 /* RFC 2045 6.7 (5): encoded lines, the soft break's '=' included */

void router_mime7_init(struct mime7 *m)
{
    memset(m, 0, sizeof(*m));
    sg_buf_init(&m->line);
    sg_buf_init(&m->field);
    m->state = MIME7_HEADER;
    m->top = 1;
}

void router_mime7_free(struct mime7 *m)
{
    sg_buf_free(&m->line);
    sg_buf_free(&m->field);
}

/* ---- header fields ---------------------------------------------------------------------- */

/* The value of the field f (name: value, unfolded) if its name is name, else NULL. */
static const char *field_value(const struct sg_buf *f, const char *name, char *out, size_t outsz)
{
    size_t n = strlen(name), o = 0;
    const char *p = (const char *)f->data;

    if (f->len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
        return NULL;
    for (size_t i = n + 1; i < f->len && o + 1 < outsz; i++)
        if (p[i] != '\r' && p[i] != '\n')
            out[o++] = p[i] == '\t' ? ' ' : p[i];
    out[o] = '\0';
    return out;
}

/* The first token of a value, lower case ("8bit", "multipart/mixed"). */
static void first_token(const char *v, char *out, size_t outsz)
{
    size_t o = 0;

    v += strspn(v, " ");
    while (*v && *v != ';' && *v != ' ' && o + 1 < outsz)
        out[o++] = (char)tolower((unsigned char)*v++);
    out[o] = '\0';
}

/* The boundary parameter of a Content-Type value, quoted or not; "" if none. */
static void boundary_param(const char *v, char *out, size_t outsz)
{
    const char *p = v;
    size_t o = 0;

    out[0] = '\0';
    while ((p = strchr(p, ';'))) {
        p += 1 + strspn(p + 1, " ");
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            for (p++; *p && *p != '"' && o + 1 < outsz; p++)
                out[o++] = *p;
        } else {
            for (; *p && *p != ';' && *p != ' ' && o + 1 < outsz; p++)
                out[o++] = *p;
        }
        out[o] = '\0';
        return;
    }
}

/* A complete header field: noted, and passed on unless it is Content-Transfer-Encoding (which
 * goes out, perhaps changed, at the end of the header). */
static int field_done(struct mime7 *m, struct sg_buf *out)
{
    char v[1024], type[80];

    if (m->field.len == 0)
        return 0;
    if (field_value(&m->field, "Content-Transfer-Encoding", v, sizeof(v))) {
        first_token(v, m->cte, sizeof(m->cte));
        sg_buf_reset(&m->field);
        return 0;
    }
    if (field_value(&m->field, "Content-Type", v, sizeof(v))) {
        first_token(v, type, sizeof(type));
        m->is_multipart = strncmp(type, "multipart/", 10) == 0;
        m->is_message = strcmp(type, "message/rfc822") == 0;
        boundary_param(v, m->boundary, sizeof(m->boundary));
        if (m->is_multipart && !m->boundary[0])
            m->is_multipart = 0; /* no boundary: nothing to walk, one body */
    } else if (field_value(&m->field, "MIME-Version", v, sizeof(v))) {
        m->mime_version = 1;
    }
    if (sg_buf_append(out, m->field.data, m->field.len) < 0)
        return -1;
    sg_buf_reset(&m->field);
    return 0;
}

/* The entity's header ends: its encoding decided and said, the body's state set. */
static int header_end(struct mime7 *m, struct sg_buf *out)
{
    const char *cte = m->cte;
    int rc = 0;

    if (m->top && !m->mime_version)
        rc |= sg_buf_puts(out, "MIME-Version: 1.0\r\n");
    if (m->is_multipart || m->is_message) {
        /* a composite's encoding says what it holds: 7bit once its parts are */
        if (cte[0])
            rc |= sg_buf_puts(out, "Content-Transfer-Encoding: 7bit\r\n");
        if (m->is_multipart && m->depth < MIME7_DEPTH_MAX) {
            snprintf(m->boundaries[m->depth++], MIME7_BOUNDARY_MAX + 1, "%s", m->boundary);
            m->state = MIME7_PASS; /* the preamble */
        } else {
            m->state = m->is_message ? MIME7_HEADER : MIME7_PASS;
        }
    } else if (strcmp(cte, "base64") == 0 || strcmp(cte, "quoted-printable") == 0) {
        rc |= sg_buf_printf(out, "Content-Transfer-Encoding: %s\r\n", cte);
        m->state = MIME7_PASS;
    } else {
        rc |= sg_buf_puts(out, "Content-Transfer-Encoding: quoted-printable\r\n");
        m->state = MIME7_QP;
        m->converted++;
    }
    rc |= sg_buf_puts(out, "\r\n");
    m->top = 0; /* only the message itself may need a MIME-Version */
    m->is_multipart = m->is_message = 0;
    m->cte[0] = m->boundary[0] = '\0';
    return rc < 0 ? -1 : 0;
}

static int header_line(struct mime7 *m, const uint8_t *l, size_t n, struct sg_buf *out)
{
    int blank = n == 0 || (n == 1 && l[0] == '\r') || (n == 2 && l[0] == '\r' && l[1] == '\n') ||
                (n == 1 && l[0] == '\n');

    if (n && (l[0] == ' ' || l[0] == '\t') && m->field.len) /* a continuation */
        return sg_buf_append(&m->field, l, n);
    if (field_done(m, out) < 0)
        return -1;
    if (blank)
        return header_end(m, out);
    return sg_buf_append(&m->field, l, n);
}

/* ---- bodies ------------------------------------------------------------------------------ */

/* The level whose boundary line l is (its index), with *close set for "--b--"; -1 if none. */
static int boundary_of(const struct mime7 *m, const uint8_t *l, size_t n, int *close)
{
    while (n && (l[n - 1] == '\n' || l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--; /* RFC 2046 5.1.1: blanks may follow */
    if (n < 3 || l[0] != '-' || l[1] != '-')
        return -1;
    for (int k = m->depth - 1; k >= 0; k--) {
        size_t bl = strlen(m->boundaries[k]);

        if (n == bl + 2 && memcmp(l + 2, m->boundaries[k], bl) == 0) {
            *close = 0;
            return k;
        }
        if (n == bl + 4 && memcmp(l + 2, m->boundaries[k], bl) == 0 && l[n - 2] == '-' &&
            l[n - 1] == '-') {
            *close = 1;
            return k;
        }
    }
    return -1;
}

/* One body line as quoted-printable: 8-bit octets, '=', controls and a blank at the end
 * encoded, soft breaks keeping lines within QP_LINE_MAX. */
static int qp_line(const uint8_t *l, size_t n, struct sg_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    int eol = n && l[n - 1] == '\n';

    if (eol)
        n -= 1 + (n >= 2 && l[n - 2] == '\r');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = l[i];
        int enc = c >= 127 || c == '=' || (c < 32 && c != '\t') ||
                  ((c == ' ' || c == '\t') && i + 1 == n);
        char piece[3] = {(char)c};
        size_t len = 1;

        if (enc) {
            piece[0] = '=', piece[1] = hex[c >> 4], piece[2] = hex[c & 15];
            len = 3;
        }
        if (col + len > QP_LINE_MAX - 1) { /* room for the soft break's '=' */
            if (sg_buf_puts(out, "=\r\n") < 0)
                return -1;
            col = 0;
        }
        if (sg_buf_append(out, piece, len) < 0)
            return -1;
        col += len;
    }
    return eol ? sg_buf_puts(out, "\r\n") : 0;
}

static int body_line(struct mime7 *m, const uint8_t *l, size_t n, struct sg_buf *out)
{
    int close = 0, k = m->mid_line ? -1 : boundary_of(m, l, n, &close);

    m->mid_line = 0;
    if (k >= 0) {
        m->depth = k + (close ? 0 : 1); /* inner multiparts left open end with this one */
        m->state = close ? MIME7_PASS : MIME7_HEADER; /* the epilogue, or the next part */
        return sg_buf_append(out, l, n);
    }
    /* A preamble, epilogue or "encoded" body with 8-bit octets is malformed; still nothing
     * 8-bit goes out: such a line is encoded too. */
    if (m->state == MIME7_QP || smtp_has_8bit((const char *)l, n))
        return qp_line(l, n, out);
    return sg_buf_append(out, l, n);
}

static int line_done(struct mime7 *m, const uint8_t *l, size_t n, struct sg_buf *out)
{
    return m->state == MIME7_HEADER ? header_line(m, l, n, out) : body_line(m, l, n, out);
}

/* A body line longer than MIME7_LINE_HOLD goes out in pieces (it is no boundary): encoded, each
 * piece ended by a soft break, or as it is.  Headers are gathered whole. */
static int body_piece(struct mime7 *m, struct sg_buf *out)
{
    int rc = 0;

    if (m->state == MIME7_HEADER)
        return 0;
    if (m->state == MIME7_QP || smtp_has_8bit((const char *)m->line.data, m->line.len))
        rc = qp_line(m->line.data, m->line.len, out) < 0 || sg_buf_puts(out, "=\r\n") < 0 ? -1 : 0;
    else
        rc = sg_buf_append(out, m->line.data, m->line.len);
    sg_buf_reset(&m->line);
    m->mid_line = 1;
    return rc;
}

int router_mime7_feed(struct mime7 *m, const uint8_t *in, size_t len, struct sg_buf *out)
{
    while (len) {
        const uint8_t *nl = memchr(in, '\n', len);
        size_t n = nl ? (size_t)(nl - in) + 1 : len;

        if (!nl) {
            if (sg_buf_append(&m->line, in, n) < 0)
                return -1;
            return m->line.len > MIME7_LINE_HOLD ? body_piece(m, out) : 0;
        }
        if (m->line.len) {
            if (sg_buf_append(&m->line, in, n) < 0 ||
                line_done(m, m->line.data, m->line.len, out) < 0)
                return -1;
            sg_buf_reset(&m->line);
        } else if (line_done(m, in, n, out) < 0) {
            return -1;
        }
        in += n;
        len -= n;
    }
    return 0;
}

int router_mime7_finish(struct mime7 *m, struct sg_buf *out)
{
    if (m->line.len && line_done(m, m->line.data, m->line.len, out) < 0)
        return -1;
    sg_buf_reset(&m->line);
    if (m->state == MIME7_HEADER && m->field.len) /* a message that is all header */
        return field_done(m, out);
    return 0;
}
