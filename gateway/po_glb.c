/* po_glb.c - pure: the postoffice directory files GLB/NETWORK.GLB and GLB/ADDRESS.GLB (doc/POSTOFFICE.md). */
#include "po_internal.h"

/* ---- GLB files --------------------------------------------------------- */

/* Line reader for GLB files: CRLF or LF, last line may be unterminated. */
struct glb_reader {
    const char *text;
    size_t len;
    size_t pos;
    unsigned lineno;
    const char *file;
    int allow_high; /* octets >= 0x80 allowed (display names) */
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
        if (smtp_ci_equal(key, keylen, "NETWORK")) {
            dst = net->network;
            seen = &seen_net;
        } else if (smtp_ci_equal(key, keylen, "POSTOFFICE")) {
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
            seterr(err,
                   "NETWORK.GLB line %u: %s value \"%s\" is not a valid name (1-10 of A-Z, 0-9)",
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
            seterr(err,
                   "ADDRESS.GLB line %u: mailbox \"%s\" is not a valid name (1-10 of A-Z, 0-9)",
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
        key[i] = (char)smtp_to_upper((unsigned char)mailbox[i]);
    key[n] = '\0';
    if (!po_name_valid(key, n))
        return NULL;
    return bsearch(key, dir->entries, dir->count, sizeof(dir->entries[0]), entry_key_cmp);
}
