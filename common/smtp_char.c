/* smtp_char.c - case-insensitive comparisons, UTF-8 well-formedness and decimal numbers for the SMTP library. */
#include "smtp_char.h"

#include <string.h>

int smtp_ci_mem(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (smtp_to_lower((unsigned char)a[i]) != smtp_to_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

int smtp_ci_equal(const char *a, size_t alen, const char *lit)
{
    size_t n = strlen(lit);

    return alen == n && smtp_ci_mem(a, lit, n);
}

/* Continuation octets after a lead octet c: how many, and the range the
 * first of them must fall in (the rest are 0x80..0xBF).  -1 for an octet
 * that cannot lead. */
static int utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 1;
    if (c == 0xE0)
        *lo = 0xA0;
    else if (c == 0xED)
        *hi = 0x9F;
    if (c >= 0xE0 && c <= 0xEF)
        return 2;
    if (c == 0xF0)
        *lo = 0x90;
    else if (c == 0xF4)
        *hi = 0x8F;
    if (c >= 0xF0 && c <= 0xF4)
        return 3;
    return -1;
}

size_t smtp_utf8_char(const char *str, size_t len, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned lo, hi;
    uint32_t v;
    int n;

    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    n = utf8_lead(s[0], &lo, &hi);
    if (n < 0 || len - 1 < (size_t)n || s[1] < lo || s[1] > hi)
        return 0;
    v = s[0] & (0x3Fu >> n);
    for (int k = 1; k <= n; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    *cp = v;
    return (size_t)n + 1;
}

int smtp_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned lo, hi;
        int n;

        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = utf8_lead(s[i], &lo, &hi);
        if (n < 0 || len - i - 1 < (size_t)n)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (int k = 2; k <= n; k++)
            if (s[i + (size_t)k] < 0x80 || s[i + (size_t)k] > 0xBF)
                return 0;
        i += (size_t)n + 1;
    }
    return 1;
}

/* Eight words at a time (the store runs this over every body octet of mail sent without
 * 8BITMIME): any octet with its top bit set shows in the OR of the words. */
int smtp_has_8bit(const char *s, size_t len)
{
    const uint64_t top = 0x8080808080808080ull;
    size_t i = 0;

    for (; i + 64 <= len; i += 64) {
        uint64_t w[8], any = 0;

        memcpy(w, s + i, sizeof(w));
        for (int k = 0; k < 8; k++)
            any |= w[k];
        if (any & top)
            return 1;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 1;
    return 0;
}

int smtp_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

int smtp_parse_u64(const char *s, size_t len, size_t max_digits, uint64_t *v)
{
    uint64_t n = 0;

    if (len == 0 || len > max_digits)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d;

        if (!smtp_is_digit((unsigned char)s[i]))
            return -1;
        d = (unsigned)(s[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *v = n;
    return 0;
}
