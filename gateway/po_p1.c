/* po_p1.c - pure: P1 transfer files, parsed, written and named (doc/POSTOFFICE.md). */
#include "array.h"
#include "po_internal.h"

#include "smtp_addr.h"

/* ---- P1 field checks (shared by the parser and the writer) -------------- */

/* What an SMTP: address in a P1 file may be: an RFC 5321 mailbox in US-ASCII (quoted local parts
 * and address literals included) whose domain labels may begin or end with '-', limited only by
 * the 64-octet local part and the 255-octet domain; or a UTF-8 one in its RFC 6533 form. */
#define P1_SMTP_ADDR_FLAGS (SMTP_ADDR_LAX_HYPHEN | SMTP_ADDR_LAX_LENGTH)
#define P1_UTF8_ADDR_FLAGS (P1_SMTP_ADDR_FLAGS | SMTP_ADDR_UTF8)
#define P1_WIRE_MAX (PO_LINE_MAX - 6) /* an address value after "From: " or "To: " */

/* The SMTP address v[0..n) (after "SMTP:") into out.  A US-ASCII mailbox is taken as it stands;
 * anything else must be the RFC 6533 form of a UTF-8 one.  0, or -1 with *why. */
static int p1_smtp_parse(const char *v, size_t n, char out[IPC_ADDR_MAX + 1], const char **why)
{
    char d[IPC_ADDR_MAX + 1];
    const char *r;
    long dn;

    if (smtp_addr_check(v, n, P1_SMTP_ADDR_FLAGS, why) == 0) {
        memcpy(out, v, n);
        out[n] = '\0';
        return 0;
    }
    if (!memchr(v, '\\', n))
        return -1; /* no escape: the US-ASCII reason stands */
    dn = po_utf8_addr_decode(v, n, d, sizeof(d));
    if (dn < 0 || !smtp_has_8bit(d, (size_t)dn)) {
        *why = "neither a US-ASCII address nor the RFC 6533 \\x{...} form of a UTF-8 one";
        return -1;
    }
    if (smtp_addr_check(d, (size_t)dn, P1_UTF8_ADDR_FLAGS, &r) < 0) {
        *why = r;
        return -1;
    }
    memcpy(out, d, (size_t)dn + 1);
    return 0;
}

/* Parse an address value "SMTP:user@domain" or "MS:NET/PO/BOX" into out.
 * 0 or -1 with a reason in why. */
static int p1_addr_parse(const char *v, size_t n, struct po_p1_addr *out, struct po_err *why)
{
    const char *r;

    memset(out, 0, sizeof(*out));
    if (n >= 5 && memcmp(v, "SMTP:", 5) == 0) {
        if (p1_smtp_parse(v + 5, n - 5, out->text, &r) < 0) {
            seterr(why, "bad SMTP: address: %s", r);
            return -1;
        }
        out->kind = PO_P1_SMTP;
        return 0;
    }
    if (n >= 3 && memcmp(v, "MS:", 3) == 0) {
        struct po_err e;
        if (po_legacy_parse(v, n, &out->ms, &e) < 0) {
            seterr(why, "bad MS: address: %s", e.text);
            return -1;
        }
        out->kind = PO_P1_MS;
        memcpy(out->text, v, n);
        return 0;
    }
    seterr(why, "address does not start with SMTP: or MS:");
    return -1;
}

int po_p1_msgid_check(const char *v, size_t n, const char **why)
{
    const char *at;

    if (n > PO_MSGID_MAX) {
        *why = "longer than 250 octets";
        return -1;
    }
    if (n < 5 || v[0] != '<' || v[n - 1] != '>') {
        *why = "not of the form <id@host>";
        return -1;
    }
    for (size_t i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x21 || c > 0x7e || c == '<' || c == '>') {
            *why = "bad character (no spaces, controls or <> inside)";
            return -1;
        }
    }
    at = memchr(v, '@', n);
    if (!at || at == v + 1 || at == v + n - 2) {
        *why = "not of the form <id@host>";
        return -1;
    }
    return 0;
}

/* Octets allowed in a free-text value (Date, Subject): printable ASCII, SP, TAB. */
static int text_check(const char *v, size_t n, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\r' || c == '\n') {
            *why = "holds CR or LF";
            return -1;
        }
        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            *why = "holds a control or non-ASCII octet";
            return -1;
        }
    }
    return 0;
}

int po_p1_date_check(const char *v, size_t n, const char **why)
{
    int digit = 0;

    if (n == 0) {
        *why = "is empty";
        return -1;
    }
    if (n > PO_DATE_MAX) {
        *why = "is longer than 127 octets";
        return -1;
    }
    if (text_check(v, n, why) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        digit |= smtp_is_digit((unsigned char)v[i]);
    if (!digit) {
        *why = "holds no digits (not an RFC 5322 date)";
        return -1;
    }
    return 0;
}

/* ---- P1 parser ---------------------------------------------------------- */

enum p1_field { F_VERSION, F_MSGID, F_FROM, F_TO, F_DATE, F_SUBJECT, F_COUNT };

static int p1_add_rcpt(struct po_p1 *p1, size_t *cap, const struct po_p1_addr *a)
{
    if (sg_array_reserve(&p1->to, cap, p1->nto + 1, sizeof(*p1->to)) < 0)
        return -1;
    p1->to[p1->nto++] = *a;
    return 0;
}

static const char *const p1_names[F_COUNT] = {"P1-Version", "Message-Id", "From",
                                              "To",         "Date",       "Subject"};

/* The parser's place in the file. */
struct p1_scan {
    const uint8_t *buf;
    size_t len;
    size_t pos;             /* start of the next line */
    unsigned lineno;        /* of the line last taken */
    unsigned seen[F_COUNT]; /* line each field was first seen on, 0: not yet */
    size_t cap;             /* room in p1->to */
};

/* Check the octets of the line that starts at sc->pos up to its CR. */
static int p1_line_octets(const struct p1_scan *sc, size_t *end, struct po_err *err)
{
    size_t start = sc->pos, i = start;

    while (i < sc->len && sc->buf[i] != '\r' && sc->buf[i] != '\n') {
        unsigned char c = sc->buf[i];
        if (i - start >= PO_LINE_MAX) {
            seterr(err, "line %u: longer than %d octets", sc->lineno, PO_LINE_MAX);
            return -1;
        }
        if (c == 0) {
            seterr(err, "line %u: NUL byte at column %zu", sc->lineno, i - start + 1);
            return -1;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            seterr(err, "line %u: control character 0x%02X at column %zu (binary data?)",
                   sc->lineno, c, i - start + 1);
            return -1;
        }
        if (c >= 0x80) {
            seterr(err,
                   "line %u: non-ASCII octet 0x%02X at column %zu (control lines are "
                   "US-ASCII)",
                   sc->lineno, c, i - start + 1);
            return -1;
        }
        i++;
    }
    *end = i;
    return 0;
}

/* Take the next control line (without its CRLF) into line/linelen.  0, or -1 with err. */
static int p1_next_line(struct p1_scan *sc, const char **line, size_t *linelen, struct po_err *err)
{
    size_t i;

    sc->lineno++;
    if (sc->pos >= sc->len) {
        seterr(err,
               "truncated: the file ends after line %u without the empty line that ends "
               "the header",
               sc->lineno - 1);
        return -1;
    }
    if (p1_line_octets(sc, &i, err) < 0)
        return -1;
    if (i == sc->len) {
        seterr(err, "truncated: line %u has no CRLF and the file ends", sc->lineno);
        return -1;
    }
    if (sc->buf[i] == '\n') {
        seterr(err, "line %u: ends in a bare LF (control lines need CRLF)", sc->lineno);
        return -1;
    }
    if (i + 1 == sc->len) {
        seterr(err, "truncated: line %u ends in CR without LF", sc->lineno);
        return -1;
    }
    if (sc->buf[i + 1] != '\n') {
        seterr(err, "line %u: bare CR inside the line", sc->lineno);
        return -1;
    }
    *line = (const char *)sc->buf + sc->pos;
    *linelen = i - sc->pos;
    sc->pos = i + 2;
    return 0;
}

/* Split a non-empty header line into its field and value, checking its place.  0 or -1. */
static int p1_split_line(struct p1_scan *sc, const char *line, size_t linelen, enum p1_field *fp,
                         const char **val, size_t *vallen, struct po_err *err)
{
    const char *colon;
    size_t namelen;
    enum p1_field f;
    char shown[48];

    if (is_blank((unsigned char)line[0])) {
        seterr(err, "line %u: starts with white space (continuation lines are not allowed)",
               sc->lineno);
        return -1;
    }
    colon = memchr(line, ':', linelen);
    if (!colon) {
        show(shown, sizeof(shown), line, linelen);
        seterr(err, "line %u: \"%s\" is not a header line (no ':')%s", sc->lineno, shown,
               sc->lineno == 1 ? "; the file must begin with \"P1-Version: 1\"" : "");
        return -1;
    }
    namelen = (size_t)(colon - line);
    *val = colon + 1;
    *vallen = linelen - namelen - 1;
    if (*vallen && (*val)[0] == ' ') {
        (*val)++;
        (*vallen)--;
    }
    for (f = 0; f < F_COUNT; f++)
        if (smtp_ci_equal(line, namelen, p1_names[f]))
            break;
    if (sc->lineno == 1 && f != F_VERSION) {
        show(shown, sizeof(shown), line, linelen);
        seterr(err, "line 1: \"%s\": the file must begin with \"P1-Version: 1\"", shown);
        return -1;
    }
    if (f == F_COUNT) {
        show(shown, sizeof(shown), line, namelen);
        seterr(err, "line %u: unknown header \"%s\"", sc->lineno, shown);
        return -1;
    }
    if (sc->seen[f] && f != F_TO) {
        if (f == F_VERSION)
            seterr(err, "line %u: P1-Version again (it must appear once, first)", sc->lineno);
        else
            seterr(err, "line %u: duplicate %s (first on line %u)", sc->lineno, p1_names[f],
                   sc->seen[f]);
        return -1;
    }
    if (!sc->seen[f])
        sc->seen[f] = sc->lineno;
    *fp = f;
    return 0;
}

static int p1_take_to(struct p1_scan *sc, struct po_p1 *p1, const char *val, size_t vallen,
                      struct po_err *err)
{
    struct po_p1_addr a;
    struct po_err e;

    if (p1_addr_parse(val, vallen, &a, &e) < 0) {
        seterr(err, "line %u: To: %s", sc->lineno, e.text);
        return -1;
    }
    if (p1->nto >= PO_P1_RCPT_MAX) {
        seterr(err, "line %u: more than %d To: lines", sc->lineno, PO_P1_RCPT_MAX);
        return -1;
    }
    if (p1_add_rcpt(p1, &sc->cap, &a) < 0) {
        seterr(err, "line %u: out of memory", sc->lineno);
        return -1;
    }
    return 0;
}

/* Check one field's value and keep it in p1.  0 or -1. */
static int p1_take_field(struct p1_scan *sc, struct po_p1 *p1, enum p1_field f, const char *val,
                         size_t vallen, struct po_err *err)
{
    const char *why;
    char shown[48];
    struct po_err e;

    switch (f) {
    case F_VERSION:
        if (vallen != 1 || val[0] != '1') {
            show(shown, sizeof(shown), val, vallen);
            seterr(err, "line 1: unsupported P1-Version \"%s\" (only 1 is known)", shown);
            return -1;
        }
        return 0;
    case F_MSGID:
        if (po_p1_msgid_check(val, vallen, &why) < 0) {
            seterr(err, "line %u: bad Message-Id: %s", sc->lineno, why);
            return -1;
        }
        memcpy(p1->message_id, val, vallen);
        p1->message_id[vallen] = '\0';
        return 0;
    case F_FROM:
        if (p1_addr_parse(val, vallen, &p1->from, &e) < 0) {
            seterr(err, "line %u: From: %s", sc->lineno, e.text);
            return -1;
        }
        return 0;
    case F_TO:
        return p1_take_to(sc, p1, val, vallen, err);
    case F_DATE:
        if (po_p1_date_check(val, vallen, &why) < 0) {
            seterr(err, "line %u: Date %s", sc->lineno, why);
            return -1;
        }
        memcpy(p1->date, val, vallen);
        p1->date[vallen] = '\0';
        return 0;
    case F_SUBJECT:
        if (vallen > PO_SUBJECT_MAX) {
            seterr(err, "line %u: Subject longer than %d octets", sc->lineno, PO_SUBJECT_MAX);
            return -1;
        }
        memcpy(p1->subject, val, vallen);
        p1->subject[vallen] = '\0';
        return 0;
    case F_COUNT:
        break;
    }
    return 0;
}

/* The header lines up to and including the empty one.  0 or -1. */
static int p1_parse_header(struct p1_scan *sc, struct po_p1 *p1, struct po_err *err)
{
    for (;;) {
        const char *line, *val;
        size_t linelen, vallen;
        enum p1_field f;

        if (p1_next_line(sc, &line, &linelen, err) < 0)
            return -1;
        if (linelen == 0) {
            if (sc->lineno == 1) {
                seterr(err, "line 1: empty; the file must begin with \"P1-Version: 1\"");
                return -1;
            }
            return 0;
        }
        if (p1_split_line(sc, line, linelen, &f, &val, &vallen, err) < 0 ||
            p1_take_field(sc, p1, f, val, vallen, err) < 0)
            return -1;
    }
}

int po_p1_parse(const uint8_t *buf, size_t len, struct po_p1 *p1, struct po_err *err)
{
    struct p1_scan sc = {.buf = buf, .len = len};

    memset(p1, 0, sizeof(*p1));
    if (!buf || len == 0) {
        seterr(err, "empty file");
        return -1;
    }
    if (p1_parse_header(&sc, p1, err) < 0)
        goto fail;
    for (int f = F_MSGID; f < F_COUNT; f++) {
        if (!sc.seen[f]) {
            seterr(err, "missing %s: line in the header (ended by the empty line %u)", p1_names[f],
                   sc.lineno);
            goto fail;
        }
    }
    if (sc.pos >= len) {
        seterr(err, "truncated: no message after the empty line %u", sc.lineno);
        goto fail;
    }
    p1->body_off = sc.pos;
    p1->body_len = len - sc.pos;
    return 0;
fail:
    free(p1->to);
    memset(p1, 0, sizeof(*p1));
    return -1;
}

void po_p1_free(struct po_p1 *p1)
{
    if (!p1)
        return;
    free(p1->to);
    p1->to = NULL;
    p1->nto = 0;
}

/* ---- P1 writer ---------------------------------------------------------- */

/* Only called after sg_buf_reserve made room for everything written. */
static void buf_put(struct sg_buf *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_puts(struct sg_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_line(struct sg_buf *b, const char *name, const char *val)
{
    buf_puts(b, name);
    buf_puts(b, ": ");
    buf_puts(b, val);
    buf_put(b, "\r\n", 2);
}

/* Length of a NUL-terminated value in a field of size sz, or -1 when it is
 * not terminated there. */
static long field_len(const char *f, size_t sz)
{
    size_t n = strnlen(f, sz);

    return n == sz ? -1 : (long)n;
}

static int has_crlf(const char *s, size_t n)
{
    return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL;
}

/* The value of a's From: or To: line, prefix included, into wire (P1_WIRE_MAX + 1 octets): a
 * UTF-8 SMTP address in its RFC 6533 form.  0, or -1 with err. */
static int p1_addr_wire(const struct po_p1_addr *a, char *wire, struct po_err *err)
{
    long n = field_len(a->text, sizeof(a->text));
    const char *why;

    if (n < 0) {
        seterr(err, "address not terminated");
        return -1;
    }
    if (has_crlf(a->text, (size_t)n)) {
        seterr(err, "address holds CR or LF (header injection refused)");
        return -1;
    }
    if (a->kind == PO_P1_MS) {
        if (strncmp(a->text, "MS:", 3) != 0) {
            seterr(err, "MS address must be written \"MS:NET/PO/BOX\"");
            return -1;
        }
        snprintf(wire, P1_WIRE_MAX + 1, "%s", a->text);
        return 0;
    }
    if (a->kind != PO_P1_SMTP) {
        seterr(err, "unknown address kind %d", (int)a->kind);
        return -1;
    }
    if (n == 0) {
        seterr(err, "empty SMTP address (a null sender must be replaced)");
        return -1;
    }
    memcpy(wire, "SMTP:", 5);
    if (!smtp_has_8bit(a->text, (size_t)n)) {
        snprintf(wire + 5, P1_WIRE_MAX + 1 - 5, "%s", a->text);
        return 0;
    }
    if (smtp_addr_check(a->text, (size_t)n, P1_UTF8_ADDR_FLAGS, &why) < 0) {
        seterr(err, "bad SMTP: address: %s", why);
        return -1;
    }
    if (po_utf8_addr_encode(a->text, wire + 5, P1_WIRE_MAX + 1 - 5) < 0) {
        seterr(err, "UTF-8 address: its RFC 6533 US-ASCII form is longer than a control line");
        return -1;
    }
    if (smtp_addr_check(wire + 5, strlen(wire + 5), P1_SMTP_ADDR_FLAGS, NULL) == 0) {
        seterr(err, "UTF-8 address: non-ASCII characters in a quoted local part have no "
                    "US-ASCII form that cannot be read as another address");
        return -1;
    }
    return 0;
}

/* Check an address for writing: it must parse back to itself.  0 or -1 with err. */
static int p1_addr_check_out(const struct po_p1_addr *a, char *wire, struct po_err *err)
{
    struct po_p1_addr tmp;

    if (p1_addr_wire(a, wire, err) < 0 || p1_addr_parse(wire, strlen(wire), &tmp, err) < 0)
        return -1;
    if (strcmp(tmp.text, a->text) != 0) {
        seterr(err, "address does not read back as itself");
        return -1;
    }
    return 0;
}

int po_p1_addr_check(const struct po_p1_addr *a, struct po_err *err)
{
    char wire[P1_WIRE_MAX + 1];

    if (!a) {
        seterr(err, "no address");
        return -1;
    }
    return p1_addr_check_out(a, wire, err);
}

/* Check every address, naming the one refused, and add up the room their lines take. */
static int p1_addrs_check(const struct po_p1 *in, size_t *need, struct po_err *err)
{
    char wire[P1_WIRE_MAX + 1];
    struct po_err e;

    if (p1_addr_check_out(&in->from, wire, &e) < 0) {
        seterr(err, "From: %s", e.text);
        return -1;
    }
    *need += strlen(wire) + 16;
    if (in->nto == 0 || !in->to) {
        seterr(err, "no recipients (at least one To: is required)");
        return -1;
    }
    if (in->nto > PO_P1_RCPT_MAX) {
        seterr(err, "more than %d recipients", PO_P1_RCPT_MAX);
        return -1;
    }
    for (size_t i = 0; i < in->nto; i++) {
        if (p1_addr_check_out(&in->to[i], wire, &e) < 0) {
            seterr(err, "To #%zu: %s", i + 1, e.text);
            return -1;
        }
        *need += strlen(wire) + 16;
    }
    return 0;
}

int po_p1_format_head(const struct po_p1 *in, size_t bodylen, struct sg_buf *out,
                      struct po_err *err)
{
    long idn, dn, sn;
    const char *why;
    size_t need;
    char wire[P1_WIRE_MAX + 1];

    if (!in || !out) {
        seterr(err, "nothing to write");
        return -1;
    }
    idn = field_len(in->message_id, sizeof(in->message_id));
    dn = field_len(in->date, sizeof(in->date));
    sn = field_len(in->subject, sizeof(in->subject));
    if (idn < 0 || dn < 0 || sn < 0) {
        seterr(err, "%s not terminated", idn < 0 ? "Message-Id" : dn < 0 ? "Date" : "Subject");
        return -1;
    }
    if (has_crlf(in->message_id, (size_t)idn)) {
        seterr(err, "Message-Id holds CR or LF (header injection refused)");
        return -1;
    }
    if (has_crlf(in->date, (size_t)dn)) {
        seterr(err, "Date holds CR or LF (header injection refused)");
        return -1;
    }
    if (has_crlf(in->subject, (size_t)sn)) {
        seterr(err, "Subject holds CR or LF (header injection refused)");
        return -1;
    }
    if (po_p1_msgid_check(in->message_id, (size_t)idn, &why) < 0) {
        seterr(err, "bad Message-Id: %s", why);
        return -1;
    }
    if (po_p1_date_check(in->date, (size_t)dn, &why) < 0) {
        seterr(err, "Date %s", why);
        return -1;
    }
    if (text_check(in->subject, (size_t)sn, &why) < 0) {
        seterr(err, "Subject %s", why);
        return -1;
    }
    need = 64 + (size_t)idn + (size_t)dn + (size_t)sn;
    if (p1_addrs_check(in, &need, err) < 0)
        return -1;
    if (bodylen == 0) {
        seterr(err, "empty message");
        return -1;
    }
    if (sg_buf_reserve(out, need) < 0) {
        seterr(err, "out of memory");
        return -1;
    }
    buf_puts(out, "P1-Version: 1\r\n");
    buf_line(out, "Message-Id", in->message_id);
    p1_addr_wire(&in->from, wire, NULL);
    buf_line(out, "From", wire);
    for (size_t i = 0; i < in->nto; i++) {
        p1_addr_wire(&in->to[i], wire, NULL);
        buf_line(out, "To", wire);
    }
    buf_line(out, "Date", in->date);
    buf_line(out, "Subject", in->subject);
    buf_put(out, "\r\n", 2);
    return 0;
}

int po_p1_format(const struct po_p1 *in, const uint8_t *body, size_t bodylen, struct sg_buf *out,
                 struct po_err *err)
{
    size_t old_len = out ? out->len : 0;

    if (!body || bodylen == 0) {
        seterr(err, "empty message");
        return -1;
    }
    if (po_p1_format_head(in, bodylen, out, err) < 0)
        return -1;
    if (sg_buf_reserve(out, bodylen) < 0) {
        out->len = old_len;
        seterr(err, "out of memory");
        return -1;
    }
    buf_put(out, body, bodylen);
    return 0;
}

/* ---- P1 file names ------------------------------------------------------ */

int po_p1_name_valid(const char *name)
{
    if (!name || strnlen(name, PO_P1_NAME_LEN + 1) != PO_P1_NAME_LEN)
        return 0;
    for (int i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!smtp_is_upper_hex(c))
            return 0;
    }
    return memcmp(name + 8, ".P1", 3) == 0;
}

void po_p1_name_make(uint32_t n, char out[13])
{
    static const char hex[] = "0123456789ABCDEF";

    for (int i = 7; i >= 0; i--) {
        out[i] = hex[n & 0xf];
        n >>= 4;
    }
    memcpy(out + 8, ".P1", 4);
}
