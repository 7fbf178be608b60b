/* po_map.c - pure: what a message's header section gives a P1 transfer file's control lines (Message-Id, Date, Subject in US-ASCII). */
#include "po_internal.h"

/* ---- header fields ------------------------------------------------------ */

/* The end of the line that starts at pos (the index of its LF, or len). */
static size_t line_end(const uint8_t *msg, size_t len, size_t pos)
{
    const uint8_t *lf = memchr(msg + pos, '\n', len - pos);

    return lf ? (size_t)(lf - msg) : len;
}

/* The line msg[pos..eol) without its CR: does it start the field name?  *val: after the colon. */
static int field_starts(const uint8_t *msg, size_t pos, size_t eol, const char *name, size_t *val)
{
    size_t nlen = strlen(name), i = pos + nlen;

    if (eol - pos <= nlen || !smtp_ci_mem((const char *)msg + pos, name, nlen))
        return 0;
    while (i < eol && is_blank(msg[i]))
        i++; /* obsolete syntax: white space before the colon */
    if (i >= eol || msg[i] != ':')
        return 0;
    *val = i + 1;
    return 1;
}

long po_map_header(const uint8_t *msg, size_t len, const char *name, char *out, size_t outsz)
{
    size_t pos = 0, k = 0, val;
    const char *s;

    out[0] = '\0';
    while (pos < len) {
        size_t eol = line_end(msg, len, pos), end = eol;

        if (end > pos && msg[end - 1] == '\r')
            end--;
        if (end == pos)
            return -1; /* the empty line: end of the header section */
        if (!field_starts(msg, pos, end, name, &val)) {
            pos = eol + 1;
            continue;
        }
        for (;;) { /* this line's part of the value, then each continuation line's */
            for (size_t i = val; i < end && k + 1 < outsz; i++)
                out[k++] = (char)msg[i];
            pos = eol + 1;
            if (pos >= len || !is_blank(msg[pos]))
                break;
            val = pos;
            eol = line_end(msg, len, pos);
            end = eol > pos && msg[eol - 1] == '\r' ? eol - 1 : eol;
        }
        s = out;
        out[k] = '\0';
        trim(&s, &k);
        memmove(out, s, k);
        out[k] = '\0';
        return (long)k;
    }
    return -1;
}

/* ---- Message-Id --------------------------------------------------------- */

int po_map_msgid(const char *v, size_t n, char out[PO_MSGID_MAX + 1])
{
    const char *why, *lt, *gt;

    out[0] = '\0';
    if (po_p1_msgid_check(v, n, &why) < 0) {
        /* "<id@host> (a comment)": the first <...> alone */
        if (!(lt = memchr(v, '<', n)) || !(gt = memchr(lt, '>', n - (size_t)(lt - v))))
            return -1;
        n = (size_t)(gt - lt) + 1;
        v = lt;
        if (po_p1_msgid_check(v, n, &why) < 0)
            return -1;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

/* ---- Date (RFC 5322 3.3, the obsolete forms of 4.3 but comments inside) -- */

struct date_scan {
    const char *s;
    size_t n, i;
};

static void skip_blank(struct date_scan *d)
{
    while (d->i < d->n && is_blank((unsigned char)d->s[d->i]))
        d->i++;
}

/* min..max digits as a number into *v; 0, or -1. */
static int take_num(struct date_scan *d, size_t min, size_t max, unsigned *v)
{
    size_t start = d->i;

    *v = 0;
    while (d->i < d->n && d->i - start < max && smtp_is_digit((unsigned char)d->s[d->i]))
        *v = *v * 10 + (unsigned)(d->s[d->i++] - '0');
    if (d->i - start < min || (d->i < d->n && smtp_is_digit((unsigned char)d->s[d->i])))
        return -1;
    return 0;
}

/* One of the names in list (three letters each, any case); its index, or -1. */
static int take_name(struct date_scan *d, const char *const *list, int count)
{
    for (int k = 0; k < count; k++) {
        size_t len = strlen(list[k]);

        if (d->n - d->i >= len && smtp_ci_mem(d->s + d->i, list[k], len) &&
            (d->n - d->i == len || !smtp_is_alnum((unsigned char)d->s[d->i + len]))) {
            d->i += len;
            return k;
        }
    }
    return -1;
}

static int take_zone(struct date_scan *d)
{
    static const char *const zones[] = {"UT",  "GMT", "EST", "EDT", "CST",
                                        "CDT", "MST", "MDT", "PST", "PDT"};
    unsigned hhmm;
    char c;

    if (d->i >= d->n)
        return -1;
    c = d->s[d->i];
    if (c == '+' || c == '-') {
        d->i++;
        return take_num(d, 4, 4, &hhmm) < 0 || hhmm % 100 > 59 ? -1 : 0;
    }
    if (take_name(d, zones, 10) >= 0)
        return 0;
    c = (char)smtp_to_upper((unsigned char)c); /* military zones: one letter but J */
    if (smtp_is_upper((unsigned char)c) && c != 'J' &&
        (d->i + 1 == d->n || !smtp_is_alnum((unsigned char)d->s[d->i + 1]))) {
        d->i++;
        return 0;
    }
    return -1;
}

/* The length of the date-time at the start of v (its zone included), or 0. */
static size_t date_scan(const char *v, size_t n)
{
    static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct date_scan d = {v, n, 0};
    unsigned day, year, hh, mm, ss = 0;

    skip_blank(&d);
    if (take_name(&d, days, 7) >= 0) {
        skip_blank(&d);
        if (d.i >= n || v[d.i++] != ',')
            return 0;
        skip_blank(&d);
    }
    if (take_num(&d, 1, 2, &day) < 0 || day < 1 || day > 31)
        return 0;
    skip_blank(&d);
    if (take_name(&d, months, 12) < 0)
        return 0;
    skip_blank(&d);
    if (take_num(&d, 2, 4, &year) < 0)
        return 0;
    skip_blank(&d);
    if (take_num(&d, 2, 2, &hh) < 0 || hh > 23 || d.i >= n || v[d.i++] != ':' ||
        take_num(&d, 2, 2, &mm) < 0 || mm > 59)
        return 0;
    if (d.i < n && v[d.i] == ':') {
        d.i++;
        if (take_num(&d, 2, 2, &ss) < 0 || ss > 60)
            return 0;
    }
    skip_blank(&d);
    return take_zone(&d) < 0 ? 0 : d.i;
}

/* Only white space and comments after the date-time. */
static int comment_only(const char *s, size_t n)
{
    int depth = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && depth > 0 && i + 1 < n)
            i++;
        else if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && depth > 0)
            depth--;
        else if (depth == 0 && !is_blank((unsigned char)s[i]))
            return 0;
    }
    return depth == 0;
}

int po_map_date(const char *v, size_t n, char out[PO_DATE_MAX + 1])
{
    size_t end = date_scan(v, n);
    const char *why;

    out[0] = '\0';
    if (end == 0 || !comment_only(v + end, n - end) || po_p1_date_check(v, end, &why) < 0)
        return -1;
    memcpy(out, v, end);
    out[end] = '\0';
    return 0;
}

/* ---- Subject ------------------------------------------------------------ */

#define EW_OCTETS 45    /* UTF-8 octets in one encoded-word: 60 base64, 72 in all (RFC 2047: 75) */
#define EW_OVERHEAD 12  /* "=?UTF-8?B?" and "?=" */
#define CLEAN_MAX 1024u /* octets of the value looked at (a Subject line holds 989) */

/* v as well-formed UTF-8 without control octets (TAB kept): ill-formed octets become U+FFFD. */
static size_t subject_clean(const char *v, size_t n, char *clean, size_t max)
{
    size_t i = 0, k = 0;

    while (i < n && k + 4 <= max) {
        uint32_t c;
        size_t len = smtp_utf8_char(v + i, n - i, &c);

        if (len == 0) {
            memcpy(clean + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
            continue;
        }
        if ((c >= 0x20 && c != 0x7f && (c < 0x80 || c >= 0xA0)) || c == '\t') {
            memcpy(clean + k, v + i, len);
            k += len;
        } /* else a control character, C0 or C1: dropped */
        i += len;
    }
    return k;
}

/* Append one encoded-word of u[0..n) at out + *k. */
static void put_encoded_word(const char *u, size_t n, char *out, size_t *k)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    memcpy(out + *k, "=?UTF-8?B?", 10);
    *k += 10;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)(unsigned char)u[i] << 16;

        if (i + 1 < n)
            w |= (uint32_t)(unsigned char)u[i + 1] << 8;
        if (i + 2 < n)
            w |= (unsigned char)u[i + 2];
        out[(*k)++] = b64[(w >> 18) & 63];
        out[(*k)++] = b64[(w >> 12) & 63];
        out[(*k)++] = i + 1 < n ? b64[(w >> 6) & 63] : '=';
        out[(*k)++] = i + 2 < n ? b64[w & 63] : '=';
    }
    memcpy(out + *k, "?=", 2);
    *k += 2;
}

/* Encode u[0..n) as encoded-words into out + *k, keeping *k <= max.  0, or -1 when it was cut. */
static int put_encoded(const char *u, size_t n, char *out, size_t *k, size_t max)
{
    size_t i = 0;

    while (i < n) {
        size_t sep = i ? 1 : 0, room, take = n - i;

        if (max - *k < sep + EW_OVERHEAD + 4)
            return -1;
        room = max - *k - sep;
        if (take > EW_OCTETS)
            take = EW_OCTETS;
        if (take > 3 * ((room - EW_OVERHEAD) / 4))
            take = 3 * ((room - EW_OVERHEAD) / 4);
        while (take > 0 && i + take < n && ((unsigned char)u[i + take] & 0xC0) == 0x80)
            take--; /* never inside a character */
        if (take == 0)
            return -1;
        if (i)
            out[(*k)++] = ' ';
        put_encoded_word(u + i, take, out, k);
        i += take;
    }
    return 0;
}

static int word_8bit(const char *s, size_t n)
{
    return smtp_has_8bit(s, n);
}

/* The end of the word at i (the next blank or n). */
static size_t word_end(const char *s, size_t n, size_t i)
{
    while (i < n && !is_blank((unsigned char)s[i]))
        i++;
    return i;
}

size_t po_map_subject(const char *v, size_t n, char *out, size_t outsz)
{
    char clean[CLEAN_MAX] = "";
    size_t cn = subject_clean(v, n, clean, sizeof(clean)), max = outsz - 1, k = 0, i = 0;

    if (!smtp_has_8bit(clean, cn)) {
        k = cn < max ? cn : max;
        memcpy(out, clean, k);
        out[k] = '\0';
        return k;
    }
    while (i < cn) {
        size_t j = is_blank((unsigned char)clean[i]) ? i : word_end(clean, cn, i);

        if (j == i) { /* blanks between words */
            while (j < cn && is_blank((unsigned char)clean[j]))
                j++;
        } else if (word_8bit(clean + i, j - i)) { /* with the 8-bit words after it */
            for (size_t b = j, e; b < cn; b = e) {
                size_t w = b;

                while (w < cn && is_blank((unsigned char)clean[w]))
                    w++;
                e = word_end(clean, cn, w);
                if (w == cn || !word_8bit(clean + w, e - w))
                    break;
                j = e;
            }
            if (put_encoded(clean + i, j - i, out, &k, max) < 0)
                break;
            i = j;
            continue;
        }
        if (j - i > max - k) {
            if (!is_blank((unsigned char)clean[i])) { /* an ASCII word is cut at the limit */
                memcpy(out + k, clean + i, max - k);
                k = max;
            }
            break;
        }
        memcpy(out + k, clean + i, j - i);
        k += j - i;
        i = j;
    }
    while (k > 0 && is_blank((unsigned char)out[k - 1]))
        k--;
    out[k] = '\0';
    return k;
}
