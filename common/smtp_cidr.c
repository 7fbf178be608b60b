/* smtp_cidr.c - pure parser and matcher of network lists ("10.0.0.0/8 [::1]/128"), as the smtpd's mynetworks. */
#include "smtp_cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "smtp_char.h"

static int list_sep(char c)
{
    return c == ' ' || c == ',' || c == '\t' || c == '\r' || c == '\n';
}

static void set_why(char *why, size_t whysz, const char *what, const char *tok, size_t toklen)
{
    if (why != NULL && whysz > 0) {
        int n = toklen > 80 ? 80 : (int)toklen;
        snprintf(why, whysz, "%s \"%.*s\"%s", what, n, tok, toklen > 80 ? "..." : "");
    }
}

static void mask_bits(uint8_t *a, size_t alen, unsigned bits)
{
    for (size_t i = 0; i < alen; i++) {
        if (bits >= 8) {
            bits -= 8;
        } else {
            a[i] &= (uint8_t)(0xFFu << (8 - bits));
            bits = 0;
        }
    }
}

static int prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    size_t full = bits / 8;
    unsigned rem = bits % 8;

    if (memcmp(a, b, full) != 0)
        return 0;
    if (rem != 0) {
        uint8_t m = (uint8_t)(0xFFu << (8 - rem));
        if (((a[full] ^ b[full]) & m) != 0)
            return 0;
    }
    return 1;
}

static int cidr_parse_one(const char *tok, size_t len, struct smtp_cidr *out)
{
    const char *slash = memchr(tok, '/', len);
    size_t alen = slash != NULL ? (size_t)(slash - tok) : len;
    const char *a = tok;
    char buf[64];
    unsigned maxbits;
    int bracket = 0;

    memset(out, 0, sizeof(*out));
    if (alen >= 2 && a[0] == '[') {
        if (a[alen - 1] != ']')
            return -1;
        a++;
        alen -= 2;
        bracket = 1;
    }
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, a, alen);
    buf[alen] = '\0';
    if (memchr(buf, ':', alen) != NULL) {
        if (inet_pton(AF_INET6, buf, out->addr) != 1)
            return -1;
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        if (bracket || inet_pton(AF_INET, buf, out->addr) != 1)
            return -1;
        out->family = AF_INET;
        maxbits = 32;
    }
    out->prefix = maxbits;
    if (slash != NULL) {
        uint64_t v;
        if (smtp_parse_u64(slash + 1, len - (size_t)(slash - tok) - 1, 3, &v) < 0 || v > maxbits)
            return -1;
        out->prefix = (unsigned)v;
    }
    mask_bits(out->addr, maxbits / 8, out->prefix);
    return 0;
}

int smtp_cidr_parse_list(const char *s, struct smtp_cidr *out, size_t max, char *why, size_t whysz)
{
    size_t n = 0;
    const char *p = s;

    if (why != NULL && whysz > 0)
        why[0] = '\0';
    if (s == NULL)
        return 0;
    for (;;) {
        const char *tok;
        size_t toklen;

        while (*p != '\0' && list_sep(*p))
            p++;
        if (*p == '\0')
            break;
        tok = p;
        while (*p != '\0' && !list_sep(*p))
            p++;
        toklen = (size_t)(p - tok);
        if (n >= max || n >= (size_t)INT32_MAX) {
            set_why(why, whysz, "too many networks at", tok, toklen);
            return -1;
        }
        if (cidr_parse_one(tok, toklen, &out[n]) < 0) {
            set_why(why, whysz, "bad network", tok, toklen);
            return -1;
        }
        n++;
    }
    return (int)n;
}

static int v4mapped(const uint8_t *a)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

    return memcmp(a, pfx, sizeof(pfx)) == 0;
}

int smtp_cidr_match(const struct smtp_cidr *list, size_t n, const struct sockaddr *sa)
{
    uint8_t v4[4], v6[16];
    int have4 = 0, have6 = 0;

    if (list == NULL || sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        memcpy(v4, (const char *)sa + offsetof(struct sockaddr_in, sin_addr), 4);
        have4 = 1;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(v6, (const char *)sa + offsetof(struct sockaddr_in6, sin6_addr), 16);
        have6 = 1;
        if (v4mapped(v6)) {
            memcpy(v4, v6 + 12, 4);
            have4 = 1;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const struct smtp_cidr *e = &list[i];
        if (e->family == AF_INET && e->prefix <= 32) {
            if (have4 && prefix_equal(v4, e->addr, e->prefix))
                return 1;
        } else if (e->family == AF_INET6 && e->prefix <= 128) {
            if (have6 && prefix_equal(v6, e->addr, e->prefix))
                return 1;
            /* plain IPv4 client against a ::ffff:a.b.c.d/n (n >= 96) entry */
            if (!have6 && have4 && e->prefix >= 96 && v4mapped(e->addr) &&
                prefix_equal(v4, e->addr + 12, e->prefix - 96))
                return 1;
        }
    }
    return 0;
}
