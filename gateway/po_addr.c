/* po_addr.c - pure: postoffice names, legacy MS: addresses and the SMTP <-> legacy mapping (doc/POSTOFFICE.md). */
#include <inttypes.h>
#include <limits.h>

#include "po_internal.h"

/* ---- names and legacy addresses ---------------------------------------- */

int po_name_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > PO_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!smtp_is_upper((unsigned char)s[i]) && !smtp_is_digit((unsigned char)s[i]))
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
    at = strrchr(addr, '@');
    if (!at) {
        show(shown, sizeof(shown), addr, len);
        seterr(err, "address \"%s\" has no '@'", shown);
        return -1;
    }
    locallen = (size_t)(at - addr);
    domlen = len - locallen - 1;
    if (!smtp_ci_equal(at + 1, domlen, po_domain)) {
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
        if (!smtp_is_alnum((unsigned char)addr[i])) {
            seterr(err, "local part \"%s\" holds '%c': not a valid mailbox name (A-Z, 0-9 only)",
                   shown, shown[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < locallen; i++)
        out->mailbox[i] = (char)smtp_to_upper((unsigned char)addr[i]);
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
        out[i] = (char)smtp_to_lower((unsigned char)a.mailbox[i]);
    out[boxlen] = '@';
    memcpy(out + boxlen + 1, po_domain, domlen);
    out[boxlen + 1 + domlen] = '\0';
    return 0;
}

/* ---- UTF-8 addresses in US-ASCII (RFC 6533 utf-8-addr-xtext) ------------ */

/* RFC 6533 QCHAR: printable US-ASCII but '+', '=' and '\'; written as itself. */
static int qchar(uint32_t c)
{
    return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\';
}

/* What an escape may stand for: the three QCHAR leaves out, the space (in a quoted local
 * part), or a code point beyond US-ASCII that is no surrogate. */
static int escapable(uint32_t c)
{
    return c == ' ' || c == '+' || c == '=' || c == '\\' ||
           (c >= 0x80 && c <= 0x10FFFF && (c < 0xD800 || c > 0xDFFF));
}

int po_utf8_addr_encode(const char *addr, char *out, size_t outsz)
{
    size_t len = addr ? strlen(addr) : 0, i = 0, n = 0;

    if (!out || outsz == 0)
        return -1;
    out[0] = '\0';
    while (i < len) {
        uint32_t c;
        size_t k = smtp_utf8_char(addr + i, len - i, &c);
        int w;

        if (k == 0 || (!qchar(c) && !escapable(c)))
            break;
        if (qchar(c))
            w = snprintf(out + n, outsz - n, "%c", (char)c);
        else
            w = snprintf(out + n, outsz - n, "\\x{%02" PRIX32 "}", c);
        if (w < 0 || (size_t)w >= outsz - n)
            break;
        n += (size_t)w;
        i += k;
    }
    if (i < len || n > INT_MAX) {
        out[0] = '\0';
        return -1;
    }
    return (int)n;
}

/* Write code point c as UTF-8 at out[*n], within outsz (one octet kept for the NUL). */
static int put_utf8(uint32_t c, char *out, size_t outsz, size_t *n)
{
    unsigned char b[4];
    size_t k;

    if (c < 0x80) {
        b[0] = (unsigned char)c;
        k = 1;
    } else if (c < 0x800) {
        b[0] = (unsigned char)(0xC0 | (c >> 6));
        b[1] = (unsigned char)(0x80 | (c & 0x3F));
        k = 2;
    } else if (c < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (c >> 12));
        b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (c & 0x3F));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (c >> 18));
        b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (c & 0x3F));
        k = 4;
    }
    if (outsz - *n <= k)
        return -1;
    memcpy(out + *n, b, k);
    *n += k;
    return 0;
}

/* The escape "\x{HEX}" at s[0..len): its length, with the code point in *c; 0 when it is not
 * one as po_utf8_addr_encode writes it (upper-case hex, no needless leading zero). */
static size_t escape_scan(const char *s, size_t len, uint32_t *c)
{
    size_t i = 3;
    char again[16];

    if (len < 6 || memcmp(s, "\\x{", 3) != 0)
        return 0;
    *c = 0;
    while (i < len && i < 9 && smtp_is_upper_hex((unsigned char)s[i])) {
        unsigned char h = (unsigned char)s[i++];
        *c = (*c << 4) | (uint32_t)(smtp_is_digit(h) ? h - '0' : h - 'A' + 10);
    }
    if (i >= len || s[i] != '}' || !escapable(*c))
        return 0;
    snprintf(again, sizeof(again), "%02" PRIX32, *c);
    if (strlen(again) != i - 3 || memcmp(again, s + 3, i - 3) != 0)
        return 0;
    return i + 1;
}

long po_utf8_addr_decode(const char *s, size_t len, char *out, size_t outsz)
{
    size_t i = 0, n = 0;

    if (!out || outsz == 0)
        return -1;
    while (i < len) {
        uint32_t c = (unsigned char)s[i];
        size_t k = 1;

        if (c == '\\' && (k = escape_scan(s + i, len - i, &c)) == 0)
            break;
        if (k == 1 && !qchar(c))
            break;
        if (put_utf8(c, out, outsz, &n) < 0)
            break;
        i += k;
    }
    if (i < len || len == 0) {
        out[0] = '\0';
        return -1;
    }
    out[n] = '\0';
    return (long)n;
}
