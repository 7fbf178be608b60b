/* po_format.c - pure parsers and writers for the legacy postoffice share (see doc/POSTOFFICE.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "po_format.h"

#define SMTP_LOCAL_LIMIT 64
#define SMTP_DOMAIN_LIMIT 255

#if defined(__GNUC__) || defined(__clang__)
#define PO_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PO_PRINTF(f, a)
#endif

static void seterr(struct po_err *err, const char *fmt, ...) PO_PRINTF(2, 3);

static void seterr(struct po_err *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
}

/* ---- small character helpers ------------------------------------------- */

static int is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_upper(c) || is_lower(c) || is_digit(c);
}

static int to_upper(int c)
{
    return is_lower(c) ? c - 'a' + 'A' : c;
}

static int to_lower(int c)
{
    return is_upper(c) ? c - 'A' + 'a' : c;
}

/* The last '@' in s[0..n), or NULL. */
static const char *last_at(const char *s, size_t n)
{
    while (n--)
        if (s[n] == '@')
            return s + n;
    return NULL;
}

static int ci_equal(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);

    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (to_upper((unsigned char)a[i]) != to_upper((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Copy a possibly hostile piece of text into dst for an error message:
 * printable ASCII only, others as '?', shortened with "..." when long. */
static void show(char *dst, size_t dstsz, const char *s, size_t len)
{
    size_t max = dstsz - 1, n = 0;
    int cut = 0;

    if (len > max) {
        len = max >= 3 ? max - 3 : 0;
        cut = 1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (cut)
        for (int i = 0; i < 3 && n < max; i++)
            dst[n++] = '.';
    dst[n] = '\0';
}

/* ---- names and legacy addresses ---------------------------------------- */

int po_name_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > PO_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_upper((unsigned char)s[i]) && !is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

int po_legacy_parse(const char *s, size_t len, struct po_addr *out, struct po_err *err)
{
    static const char *const part_names[3] = {"network", "postoffice", "mailbox"};
    char *dst[3];
    size_t pos = 3;
    char shown[48];

    memset(out, 0, sizeof(*out));
    dst[0] = out->network;
    dst[1] = out->postoffice;
    dst[2] = out->mailbox;
    if (!s || len < 3 || memcmp(s, "MS:", 3) != 0) {
        show(shown, sizeof(shown), s ? s : "", s ? len : 0);
        seterr(err, "legacy address \"%s\" does not start with \"MS:\"", shown);
        return -1;
    }
    show(shown, sizeof(shown), s, len);
    for (int part = 0; part < 3; part++) {
        size_t start = pos;

        while (pos < len && s[pos] != '/')
            pos++;
        if (part < 2 && pos == len) {
            seterr(err, "legacy address \"%s\" is not MS:NETWORK/POSTOFFICE/MAILBOX", shown);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (part == 2 && pos != len) {
            seterr(err, "legacy address \"%s\" has more than three parts", shown);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        if (!po_name_valid(s + start, pos - start)) {
            seterr(err, "legacy address \"%s\": bad %s name (1-10 of A-Z, 0-9)", shown,
                   part_names[part]);
            memset(out, 0, sizeof(*out));
            return -1;
        }
        memcpy(dst[part], s + start, pos - start);
        dst[part][pos - start] = '\0';
        pos++; /* past the '/' */
    }
    return 0;
}

static int name_field_valid(const char *f)
{
    size_t n = strnlen(f, PO_NAME_MAX + 1);

    return n <= PO_NAME_MAX && po_name_valid(f, n);
}

int po_legacy_format(const struct po_addr *a, char *out, size_t outsz)
{
    int n;

    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    if (!a || !name_field_valid(a->network) || !name_field_valid(a->postoffice) ||
        !name_field_valid(a->mailbox))
        return -1;
    n = snprintf(out, outsz, "MS:%s/%s/%s", a->network, a->postoffice, a->mailbox);
    if (n < 0 || (size_t)n >= outsz) {
        out[0] = '\0';
        return -1;
    }
    return n;
}

/* ---- GLB files --------------------------------------------------------- */

/* Line reader for GLB files: CRLF or LF, last line may be unterminated. */
struct glb_reader {
    const char *text;
    size_t len;
    size_t pos;
    unsigned lineno;
    const char *file;
    int allow_high;  /* octets >= 0x80 allowed (display names) */
};

/* Next line into *line and *linelen.  1: a line, 0: end of text, -1: error. */
static int glb_next(struct glb_reader *r, const char **line, size_t *linelen, struct po_err *err)
{
    size_t start, i;

    if (r->pos >= r->len)
        return 0;
    r->lineno++;
    start = i = r->pos;
    while (i < r->len && r->text[i] != '\n') {
        unsigned char c = (unsigned char)r->text[i];

        if (c == '\r') {
            if (i + 1 < r->len && r->text[i + 1] == '\n')
                break;
            seterr(err, "%s line %u: bare CR (lines end in CRLF or LF)", r->file, r->lineno);
            return -1;
        }
        if (c == 0) {
            seterr(err, "%s line %u: NUL byte", r->file, r->lineno);
            return -1;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            seterr(err, "%s line %u: control character 0x%02X", r->file, r->lineno, c);
            return -1;
        }
        if (c >= 0x80 && !r->allow_high) {
            seterr(err, "%s line %u: non-ASCII octet 0x%02X", r->file, r->lineno, c);
            return -1;
        }
        i++;
    }
    *line = r->text + start;
    *linelen = i - start;
    if (i < r->len && r->text[i] == '\r')
        i++;
    if (i < r->len) /* the LF */
        i++;
    r->pos = i;
    return 1;
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_blank((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_blank((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

int po_network_glb_parse(const char *text, size_t len, struct po_network *net, struct po_err *err)
{
    struct glb_reader r = {text, len, 0, 0, "NETWORK.GLB", 0};
    unsigned seen_net = 0, seen_po = 0;
    const char *line;
    size_t linelen;
    int rc;

    memset(net, 0, sizeof(*net));
    if (!text)
        r.len = 0;
    while ((rc = glb_next(&r, &line, &linelen, err)) == 1) {
        const char *eq, *key, *val;
        size_t keylen, vallen;
        char shown[48];
        char *dst;
        unsigned *seen;

        trim(&line, &linelen);
        if (linelen == 0)
            continue;
        eq = memchr(line, '=', linelen);
        if (!eq) {
            show(shown, sizeof(shown), line, linelen);
            seterr(err, "NETWORK.GLB line %u: \"%s\" is not KEY=VALUE", r.lineno, shown);
            goto fail;
        }
        key = line;
        keylen = (size_t)(eq - line);
        val = eq + 1;
        vallen = linelen - keylen - 1;
        trim(&key, &keylen);
        trim(&val, &vallen);
        if (ci_equal(key, keylen, "NETWORK")) {
            dst = net->network;
            seen = &seen_net;
        } else if (ci_equal(key, keylen, "POSTOFFICE")) {
            dst = net->postoffice;
            seen = &seen_po;
        } else {
            show(shown, sizeof(shown), key, keylen);
            seterr(err, "NETWORK.GLB line %u: unknown key \"%s\"", r.lineno, shown);
            goto fail;
        }
        if (*seen) {
            seterr(err, "NETWORK.GLB line %u: %s given again (first on line %u)", r.lineno,
                   seen == &seen_net ? "NETWORK" : "POSTOFFICE", *seen);
            goto fail;
        }
        if (!po_name_valid(val, vallen)) {
            show(shown, sizeof(shown), val, vallen);
            seterr(err, "NETWORK.GLB line %u: %s value \"%s\" is not a valid name (1-10 of A-Z, 0-9)",
                   r.lineno, seen == &seen_net ? "NETWORK" : "POSTOFFICE", shown);
            goto fail;
        }
        memcpy(dst, val, vallen);
        dst[vallen] = '\0';
        *seen = r.lineno;
    }
    if (rc < 0)
        goto fail;
    if (!seen_net) {
        seterr(err, "NETWORK.GLB: no NETWORK= line");
        goto fail;
    }
    if (!seen_po) {
        seterr(err, "NETWORK.GLB: no POSTOFFICE= line");
        goto fail;
    }
    return 0;
fail:
    memset(net, 0, sizeof(*net));
    return -1;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct po_dir_entry *x = a, *y = b;
    int c = strcmp(x->mailbox, y->mailbox);

    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

int po_address_glb_parse(const char *text, size_t len, struct po_dir *dir, struct po_err *err)
{
    struct glb_reader r = {text, len, 0, 0, "ADDRESS.GLB", 1};
    struct po_dir_entry *e = NULL;
    size_t n = 0, cap = 1;
    const char *line;
    size_t linelen;
    int rc;

    dir->entries = NULL;
    dir->count = 0;
    if (!text)
        r.len = 0;
    for (size_t i = 0; i < r.len; i++) /* an upper bound on the entries */
        if (text[i] == '\n')
            cap++;
    while ((rc = glb_next(&r, &line, &linelen, err)) == 1) {
        const char *tab, *disp;
        size_t boxlen, displen;
        char shown[48];

        {
            const char *t = line;
            size_t tl = linelen;
            trim(&t, &tl);
            if (tl == 0)
                continue;
        }
        tab = memchr(line, '\t', linelen);
        if (!tab) {
            show(shown, sizeof(shown), line, linelen);
            seterr(err, "ADDRESS.GLB line %u: \"%s\" has no TAB between mailbox and display name",
                   r.lineno, shown);
            goto fail;
        }
        boxlen = (size_t)(tab - line);
        if (!po_name_valid(line, boxlen)) {
            show(shown, sizeof(shown), line, boxlen);
            seterr(err, "ADDRESS.GLB line %u: mailbox \"%s\" is not a valid name (1-10 of A-Z, 0-9)",
                   r.lineno, shown);
            goto fail;
        }
        disp = tab + 1;
        displen = linelen - boxlen - 1;
        trim(&disp, &displen);
        if (displen > PO_DISPLAY_MAX) {
            seterr(err, "ADDRESS.GLB line %u: display name longer than %d octets", r.lineno,
                   PO_DISPLAY_MAX);
            goto fail;
        }
        if (!e) {
            if (cap > SIZE_MAX / sizeof(*e)) {
                seterr(err, "ADDRESS.GLB: too many lines");
                goto fail;
            }
            e = malloc(cap * sizeof(*e));
            if (!e) {
                seterr(err, "ADDRESS.GLB: out of memory");
                goto fail;
            }
        }
        memset(&e[n], 0, sizeof(e[n]));
        memcpy(e[n].mailbox, line, boxlen);
        memcpy(e[n].display, disp, displen);
        e[n].line = r.lineno;
        n++;
    }
    if (rc < 0)
        goto fail;
    if (n > 1) {
        qsort(e, n, sizeof(*e), entry_cmp);
        for (size_t i = 1; i < n; i++) {
            if (strcmp(e[i - 1].mailbox, e[i].mailbox) == 0) {
                seterr(err, "ADDRESS.GLB line %u: duplicate mailbox %s (first on line %u)",
                       e[i].line, e[i].mailbox, e[i - 1].line);
                goto fail;
            }
        }
    }
    dir->entries = e;
    dir->count = n;
    return 0;
fail:
    free(e);
    return -1;
}

void po_dir_free(struct po_dir *dir)
{
    if (!dir)
        return;
    free(dir->entries);
    dir->entries = NULL;
    dir->count = 0;
}

static int entry_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct po_dir_entry *)elem)->mailbox);
}

const struct po_dir_entry *po_dir_find(const struct po_dir *dir, const char *mailbox)
{
    char key[PO_NAME_MAX + 1];
    size_t n;

    if (!dir || !mailbox || dir->count == 0 || !dir->entries)
        return NULL;
    n = strnlen(mailbox, PO_NAME_MAX + 1);
    if (n < 1 || n > PO_NAME_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++)
        key[i] = (char)to_upper((unsigned char)mailbox[i]);
    key[n] = '\0';
    if (!po_name_valid(key, n))
        return NULL;
    return bsearch(key, dir->entries, dir->count, sizeof(dir->entries[0]), entry_key_cmp);
}

/* ---- SMTP <-> legacy address mapping ----------------------------------- */

static int network_valid(const struct po_network *net)
{
    return net && name_field_valid(net->network) && name_field_valid(net->postoffice);
}

int po_smtp_to_legacy(const char *addr, const char *po_domain, const struct po_network *net,
                      struct po_addr *out, struct po_err *err)
{
    size_t len, locallen, domlen;
    const char *at;
    char shown[64], shown2[64];

    memset(out, 0, sizeof(*out));
    if (!network_valid(net)) {
        seterr(err, "the postoffice's network/postoffice names are not set or not valid");
        return -1;
    }
    if (!po_domain || !*po_domain) {
        seterr(err, "no postoffice domain configured");
        return -1;
    }
    if (!addr) {
        seterr(err, "no address");
        return -1;
    }
    len = strnlen(addr, IPC_ADDR_MAX + 1);
    if (len > IPC_ADDR_MAX) {
        seterr(err, "address longer than %d octets", IPC_ADDR_MAX);
        return -1;
    }
    at = last_at(addr, len);
    if (!at) {
        show(shown, sizeof(shown), addr, len);
        seterr(err, "address \"%s\" has no '@'", shown);
        return -1;
    }
    locallen = (size_t)(at - addr);
    domlen = len - locallen - 1;
    if (!ci_equal(at + 1, domlen, po_domain)) {
        show(shown, sizeof(shown), at + 1, domlen);
        show(shown2, sizeof(shown2), po_domain, strlen(po_domain));
        seterr(err, "domain \"%s\" is not the postoffice domain \"%s\"", shown, shown2);
        return -1;
    }
    if (locallen == 0) {
        seterr(err, "empty local part: not a valid mailbox name");
        return -1;
    }
    show(shown, sizeof(shown), addr, locallen);
    if (locallen > PO_NAME_MAX) {
        seterr(err, "local part \"%s\" is longer than %d characters: not a valid mailbox name",
               shown, PO_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < locallen; i++) {
        if (!is_alnum((unsigned char)addr[i])) {
            seterr(err, "local part \"%s\" holds '%c': not a valid mailbox name (A-Z, 0-9 only)",
                   shown, shown[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < locallen; i++)
        out->mailbox[i] = (char)to_upper((unsigned char)addr[i]);
    out->mailbox[locallen] = '\0';
    memcpy(out->network, net->network, strlen(net->network) + 1);
    memcpy(out->postoffice, net->postoffice, strlen(net->postoffice) + 1);
    return 0;
}

int po_legacy_to_smtp(const char *legacy, const char *po_domain, const struct po_network *net,
                      char out[IPC_ADDR_MAX + 1])
{
    struct po_addr a;
    size_t boxlen, domlen;

    out[0] = '\0';
    if (!legacy || !po_domain || !network_valid(net))
        return -1;
    if (po_legacy_parse(legacy, strnlen(legacy, PO_LEGACY_MAX + 1), &a, NULL) < 0)
        return -1;
    if (strcmp(a.network, net->network) != 0 || strcmp(a.postoffice, net->postoffice) != 0)
        return -1;
    boxlen = strlen(a.mailbox);
    domlen = strnlen(po_domain, IPC_ADDR_MAX + 1);
    if (domlen == 0 || boxlen + 1 + domlen > IPC_ADDR_MAX)
        return -1;
    for (size_t i = 0; i < boxlen; i++)
        out[i] = (char)to_lower((unsigned char)a.mailbox[i]);
    out[boxlen] = '@';
    memcpy(out + boxlen + 1, po_domain, domlen);
    out[boxlen + 1 + domlen] = '\0';
    return 0;
}

/* ---- P1 field checks (shared by the parser and the writer) -------------- */

static int is_atext(int c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Is s[0..n) an SMTP mailbox local@domain we carry: a dot-atom local part
 * (no quoted strings) and a dotted domain name (no address literals), as
 * tests/postoffice_sim.py accepts?  0 or -1 with why. */
static int smtp_addr_check(const char *s, size_t n, const char **why)
{
    const char *at;
    size_t ll, dl;

    if (n == 0) {
        *why = "empty address";
        return -1;
    }
    if (n > IPC_ADDR_MAX) {
        *why = "address too long";
        return -1;
    }
    at = last_at(s, n);
    if (!at) {
        *why = "no '@' in address";
        return -1;
    }
    ll = (size_t)(at - s);
    dl = n - ll - 1;
    if (ll == 0 || ll > SMTP_LOCAL_LIMIT) {
        *why = ll ? "local part longer than 64 octets" : "empty local part";
        return -1;
    }
    for (size_t i = 0; i < ll; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (i == 0 || i == ll - 1 || s[i - 1] == '.') {
                *why = "misplaced '.' in local part";
                return -1;
            }
        } else if (!is_atext(c)) {
            *why = c == '"' ? "quoted local parts are not carried" : "bad character in local part";
            return -1;
        }
    }
    if (dl == 0 || dl > SMTP_DOMAIN_LIMIT) {
        *why = dl ? "domain longer than 255 octets" : "empty domain";
        return -1;
    }
    {
        size_t lab = 0;
        for (size_t i = 1; i <= dl; i++) {
            unsigned char c = (unsigned char)at[i];
            if (c == '.') {
                if (lab == 0) {
                    *why = "empty label in domain";
                    return -1;
                }
                lab = 0;
            } else if (is_alnum(c) || c == '-') {
                if (++lab > 63) {
                    *why = "domain label longer than 63 octets";
                    return -1;
                }
            } else {
                *why = c == '[' ? "address literals are not carried" : "bad character in domain";
                return -1;
            }
        }
        if (lab == 0) {
            *why = "empty label in domain";
            return -1;
        }
    }
    return 0;
}

/* Parse an address value "SMTP:user@domain" or "MS:NET/PO/BOX" into out.
 * 0 or -1 with a reason in why. */
static int p1_addr_parse(const char *v, size_t n, struct po_p1_addr *out, struct po_err *why)
{
    const char *r;

    memset(out, 0, sizeof(*out));
    if (n >= 5 && memcmp(v, "SMTP:", 5) == 0) {
        if (smtp_addr_check(v + 5, n - 5, &r) < 0) {
            seterr(why, "bad SMTP: address: %s", r);
            return -1;
        }
        out->kind = PO_P1_SMTP;
        memcpy(out->text, v + 5, n - 5);
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

static int msgid_check(const char *v, size_t n, const char **why)
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

static int date_check(const char *v, size_t n, const char **why)
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
        digit |= is_digit((unsigned char)v[i]);
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
    if (p1->nto == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        struct po_p1_addr *n;
        if (ncap > PO_P1_RCPT_MAX)
            ncap = PO_P1_RCPT_MAX;
        n = realloc(p1->to, ncap * sizeof(*n));
        if (!n)
            return -1;
        p1->to = n;
        *cap = ncap;
    }
    p1->to[p1->nto++] = *a;
    return 0;
}

int po_p1_parse(const uint8_t *buf, size_t len, struct po_p1 *p1, struct po_err *err)
{
    static const char *const p1_names[F_COUNT] = {"P1-Version", "Message-Id", "From",
                                                  "To",         "Date",       "Subject"};
    unsigned seen[F_COUNT] = {0};
    unsigned lineno = 0;
    size_t pos = 0, cap = 0;

    memset(p1, 0, sizeof(*p1));
    if (!buf || len == 0) {
        seterr(err, "empty file");
        return -1;
    }
    for (;;) {
        const char *line, *name, *val, *colon, *why;
        size_t start, i, linelen, namelen, vallen;
        enum p1_field f;
        char shown[48];
        struct po_err e;

        lineno++;
        if (pos >= len) {
            seterr(err, "truncated: the file ends after line %u without the empty line that ends "
                   "the header", lineno - 1);
            goto fail;
        }
        start = i = pos;
        while (i < len && buf[i] != '\r' && buf[i] != '\n') {
            unsigned char c = buf[i];
            if (i - start >= PO_LINE_MAX) {
                seterr(err, "line %u: longer than %d octets", lineno, PO_LINE_MAX);
                goto fail;
            }
            if (c == 0) {
                seterr(err, "line %u: NUL byte at column %zu", lineno, i - start + 1);
                goto fail;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                seterr(err, "line %u: control character 0x%02X at column %zu (binary data?)",
                       lineno, c, i - start + 1);
                goto fail;
            }
            if (c >= 0x80) {
                seterr(err, "line %u: non-ASCII octet 0x%02X at column %zu (control lines are "
                       "US-ASCII)", lineno, c, i - start + 1);
                goto fail;
            }
            i++;
        }
        if (i == len) {
            seterr(err, "truncated: line %u has no CRLF and the file ends", lineno);
            goto fail;
        }
        if (buf[i] == '\n') {
            seterr(err, "line %u: ends in a bare LF (control lines need CRLF)", lineno);
            goto fail;
        }
        if (i + 1 == len) {
            seterr(err, "truncated: line %u ends in CR without LF", lineno);
            goto fail;
        }
        if (buf[i + 1] != '\n') {
            seterr(err, "line %u: bare CR inside the line", lineno);
            goto fail;
        }
        line = (const char *)buf + start;
        linelen = i - start;
        pos = i + 2;

        if (linelen == 0) {
            if (lineno == 1) {
                seterr(err, "line 1: empty; the file must begin with \"P1-Version: 1\"");
                goto fail;
            }
            break;
        }
        if (is_blank((unsigned char)line[0])) {
            seterr(err, "line %u: starts with white space (continuation lines are not allowed)",
                   lineno);
            goto fail;
        }
        colon = memchr(line, ':', linelen);
        if (!colon) {
            show(shown, sizeof(shown), line, linelen);
            seterr(err, "line %u: \"%s\" is not a header line (no ':')%s", lineno, shown,
                   lineno == 1 ? "; the file must begin with \"P1-Version: 1\"" : "");
            goto fail;
        }
        name = line;
        namelen = (size_t)(colon - line);
        val = colon + 1;
        vallen = linelen - namelen - 1;
        if (vallen && val[0] == ' ') {
            val++;
            vallen--;
        }
        for (f = 0; f < F_COUNT; f++)
            if (ci_equal(name, namelen, p1_names[f]))
                break;
        if (lineno == 1 && f != F_VERSION) {
            show(shown, sizeof(shown), line, linelen);
            seterr(err, "line 1: \"%s\": the file must begin with \"P1-Version: 1\"", shown);
            goto fail;
        }
        if (f == F_COUNT) {
            show(shown, sizeof(shown), name, namelen);
            seterr(err, "line %u: unknown header \"%s\"", lineno, shown);
            goto fail;
        }
        if (seen[f] && f != F_TO) {
            if (f == F_VERSION)
                seterr(err, "line %u: P1-Version again (it must appear once, first)", lineno);
            else
                seterr(err, "line %u: duplicate %s (first on line %u)", lineno, p1_names[f],
                       seen[f]);
            goto fail;
        }
        if (!seen[f])
            seen[f] = lineno;
        switch (f) {
        case F_VERSION:
            if (vallen != 1 || val[0] != '1') {
                show(shown, sizeof(shown), val, vallen);
                seterr(err, "line 1: unsupported P1-Version \"%s\" (only 1 is known)", shown);
                goto fail;
            }
            break;
        case F_MSGID:
            if (msgid_check(val, vallen, &why) < 0) {
                seterr(err, "line %u: bad Message-Id: %s", lineno, why);
                goto fail;
            }
            memcpy(p1->message_id, val, vallen);
            p1->message_id[vallen] = '\0';
            break;
        case F_FROM:
            if (p1_addr_parse(val, vallen, &p1->from, &e) < 0) {
                seterr(err, "line %u: From: %s", lineno, e.text);
                goto fail;
            }
            break;
        case F_TO: {
            struct po_p1_addr a;
            if (p1_addr_parse(val, vallen, &a, &e) < 0) {
                seterr(err, "line %u: To: %s", lineno, e.text);
                goto fail;
            }
            if (p1->nto >= PO_P1_RCPT_MAX) {
                seterr(err, "line %u: more than %d To: lines", lineno, PO_P1_RCPT_MAX);
                goto fail;
            }
            if (p1_add_rcpt(p1, &cap, &a) < 0) {
                seterr(err, "line %u: out of memory", lineno);
                goto fail;
            }
            break;
        }
        case F_DATE:
            if (date_check(val, vallen, &why) < 0) {
                seterr(err, "line %u: Date %s", lineno, why);
                goto fail;
            }
            memcpy(p1->date, val, vallen);
            p1->date[vallen] = '\0';
            break;
        case F_SUBJECT:
            if (vallen > PO_SUBJECT_MAX) {
                seterr(err, "line %u: Subject longer than %d octets", lineno, PO_SUBJECT_MAX);
                goto fail;
            }
            memcpy(p1->subject, val, vallen);
            p1->subject[vallen] = '\0';
            break;
        case F_COUNT:
            break;
        }
    }
    for (int f = F_MSGID; f < F_COUNT; f++) {
        if (!seen[f]) {
            seterr(err, "missing %s: line in the header (ended by the empty line %u)", p1_names[f],
                   lineno);
            goto fail;
        }
    }
    if (pos >= len) {
        seterr(err, "truncated: no message after the empty line %u", lineno);
        goto fail;
    }
    p1->body_off = pos;
    p1->body_len = len - pos;
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

static int buf_reserve(struct po_buf *b, size_t n)
{
    size_t want, ncap;
    uint8_t *d;

    if (n > SIZE_MAX - b->len)
        return -1;
    want = b->len + n;
    if (want <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < want)
        ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
    d = realloc(b->data, ncap);
    if (!d)
        return -1;
    b->data = d;
    b->cap = ncap;
    return 0;
}

static void buf_put(struct po_buf *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_puts(struct po_buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_line(struct po_buf *b, const char *name, const char *prefix, const char *val)
{
    buf_puts(b, name);
    buf_puts(b, ": ");
    buf_puts(b, prefix);
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

/* Check an address for writing: 0 or -1 with err naming which. */
static int p1_addr_check_out(const struct po_p1_addr *a, const char *what, struct po_err *err)
{
    long n = field_len(a->text, sizeof(a->text));
    struct po_p1_addr tmp;
    char val[IPC_ADDR_MAX + 6];
    struct po_err e;
    const char *prefix;

    if (n < 0) {
        seterr(err, "%s: address not terminated", what);
        return -1;
    }
    if (has_crlf(a->text, (size_t)n)) {
        seterr(err, "%s: address holds CR or LF (header injection refused)", what);
        return -1;
    }
    if (a->kind == PO_P1_SMTP) {
        prefix = "SMTP:";
        if (n == 0) {
            seterr(err, "%s: empty SMTP address (a null sender must be replaced)", what);
            return -1;
        }
    } else if (a->kind == PO_P1_MS) {
        prefix = "";
    } else {
        seterr(err, "%s: unknown address kind %d", what, (int)a->kind);
        return -1;
    }
    snprintf(val, sizeof(val), "%s%s", prefix, a->text);
    if (a->kind == PO_P1_MS && strncmp(a->text, "MS:", 3) != 0) {
        seterr(err, "%s: MS address must be written \"MS:NET/PO/BOX\"", what);
        return -1;
    }
    if (p1_addr_parse(val, strlen(val), &tmp, &e) < 0) {
        seterr(err, "%s: %s", what, e.text);
        return -1;
    }
    return 0;
}

int po_p1_format_head(const struct po_p1 *in, size_t bodylen, struct po_buf *out, struct po_err *err)
{
    long idn, dn, sn;
    const char *why;
    size_t need;
    char what[32];

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
    if (msgid_check(in->message_id, (size_t)idn, &why) < 0) {
        seterr(err, "bad Message-Id: %s", why);
        return -1;
    }
    if (date_check(in->date, (size_t)dn, &why) < 0) {
        seterr(err, "Date %s", why);
        return -1;
    }
    if (text_check(in->subject, (size_t)sn, &why) < 0) {
        seterr(err, "Subject %s", why);
        return -1;
    }
    if (p1_addr_check_out(&in->from, "From", err) < 0)
        return -1;
    if (in->nto == 0 || !in->to) {
        seterr(err, "no recipients (at least one To: is required)");
        return -1;
    }
    if (in->nto > PO_P1_RCPT_MAX) {
        seterr(err, "more than %d recipients", PO_P1_RCPT_MAX);
        return -1;
    }
    for (size_t i = 0; i < in->nto; i++) {
        snprintf(what, sizeof(what), "To #%zu", i + 1);
        if (p1_addr_check_out(&in->to[i], what, err) < 0)
            return -1;
    }
    if (bodylen == 0) {
        seterr(err, "empty message");
        return -1;
    }

    need = 64 + (size_t)idn + (size_t)dn + (size_t)sn + strlen(in->from.text) + 16;
    for (size_t i = 0; i < in->nto; i++)
        need += strlen(in->to[i].text) + 16;
    if (buf_reserve(out, need) < 0) {
        seterr(err, "out of memory");
        return -1;
    }
    buf_puts(out, "P1-Version: 1\r\n");
    buf_line(out, "Message-Id", "", in->message_id);
    buf_line(out, "From", in->from.kind == PO_P1_SMTP ? "SMTP:" : "", in->from.text);
    for (size_t i = 0; i < in->nto; i++)
        buf_line(out, "To", in->to[i].kind == PO_P1_SMTP ? "SMTP:" : "", in->to[i].text);
    buf_line(out, "Date", "", in->date);
    buf_line(out, "Subject", "", in->subject);
    buf_put(out, "\r\n", 2);
    return 0;
}

int po_p1_format(const struct po_p1 *in, const uint8_t *body, size_t bodylen, struct po_buf *out,
                 struct po_err *err)
{
    size_t old_len = out ? out->len : 0;

    if (!body || bodylen == 0) {
        seterr(err, "empty message");
        return -1;
    }
    if (po_p1_format_head(in, bodylen, out, err) < 0)
        return -1;
    if (buf_reserve(out, bodylen) < 0) {
        out->len = old_len;
        seterr(err, "out of memory");
        return -1;
    }
    buf_put(out, body, bodylen);
    return 0;
}

int po_buf_append(struct po_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    buf_put(b, p, n);
    return 0;
}

void po_buf_free(struct po_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- P1 file names ------------------------------------------------------ */

int po_p1_name_valid(const char *name)
{
    if (!name || strnlen(name, PO_P1_NAME_LEN + 1) != PO_P1_NAME_LEN)
        return 0;
    for (int i = 0; i < 8; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!is_digit(c) && !(c >= 'A' && c <= 'F'))
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
